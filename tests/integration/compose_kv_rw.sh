#!/usr/bin/env bash
# compose's read-write KV devices end to end: examples/kvlog sets values
# through appkit's KV frontend on a KV_RW device served by kvd, configured
# with --kv_rw sqlite and --kv_rw sealed, and as a read-write directory
# (store: dir in the manifest).  For each: kvd is SIGKILLed three
# times while the app writes (compose restarts it, the app resubmits) and
# every value is there afterwards; then kvd and the app are SIGKILLed
# together and every set the app saw acknowledged is there, byte for byte,
# in a fresh run.  Also: sealed values are not in the database in clear
# (sqlite's are), a sealed manifest device over a sqlite one, and the
# configure errors for bad combinations.
set -u
. "$(dirname "$0")/_lib.sh"
C=$(cd "$BIN" && pwd)/compose
KVD=$(cd "$BIN" && pwd)/kvd
[ -x "$C" ] && [ -x "$KVD" ] || skip "compose or kvd not built"
tmp=$(mktemp -d /tmp/kv-rw-test.XXXXXX)
cleanup() {
	(cd "$tmp/kvlog" 2>/dev/null && "$C" down >/dev/null 2>&1)
	pkill -9 -f "$tmp/" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r examples/kvlog "$tmp/kvlog"
cd "$tmp/kvlog"
rm -rf _build .morgana
unset KVLOG_MODE KVLOG_FROM KVLOG_COUNT
(umask 077; head -c 32 /dev/urandom >log.key)
N=$(scale 4000 2000)
B=1000000 # phase 2 keys, apart from phase 1's

kvd_pid() { pgrep -f "$KVD serve --store .*--path=$tmp/"; }
acked() { sed -n 's/^kvlog | acked //p' "$1" | tail -1; }
# Wait until the writer's output shows more than $2 acks.
wait_acks() {
	for _ in $(seq 400); do
		a=$(acked "$1"); [ -n "$a" ] && [ "$a" -ge "$2" ] && return 0
		sleep 0.025
	done
	return 1
}

# A read-write directory is chosen in the manifest.
sed -e 's/^  log: .*/  log: {impl: kvd, store: dir, path: data}/' compose.yaml >rwdir.yaml
for rw in sqlite sealed dir; do
	rm -rf .morgana data
	if [ $rw = dir ]; then
		"$C" -f rwdir.yaml configure >/dev/null && "$C" -f rwdir.yaml build >/dev/null || fail "dir: configure/build"
	else
		"$C" configure --kv_rw "$rw" >/dev/null && "$C" build >/dev/null || fail "$rw: configure/build"
		grep -qx "kv_rw=$rw" _build/context || fail "$rw: context: $(cat _build/context)"
	fi
	F=$([ $rw = dir ] && echo rwdir.yaml || echo compose.yaml)

	# 1. kvd killed three times under the writer; compose restarts it.
	KVLOG_COUNT=$N "$C" -f "$F" up --no-color >out 2>err &
	up=$!
	for k in 1 2 3; do
		# Each kill waits for the app to be connected to this kvd.  The
		# kills come early (k/8 of the sets): the acks reach us through
		# compose's log pipe, behind the writer, and the third kill must
		# still find the writer writing.
		for _ in $(seq 200); do grep -q "generation=$k " out && break; sleep 0.05; done
		wait_acks out $((k * N / 8)) || fail "$rw: writer stalled before kill $k: $(tail -3 err)"
		sleep "0.0$((RANDOM % 10))"
		pid=$(kvd_pid) || fail "$rw: no kvd to kill"
		kill -9 $pid
	done
	wait $up || fail "$rw: up exited $? after the kills: $(tail -5 err)"
	grep -qx "kvlog | kvlog: write $N values" out || fail "$rw: writer did not finish: $(tail -3 out)"
	grep -q 'msg="kv connected" device=kv/0 generation=4' out ||
		fail "$rw: the app did not reconnect three times: $(grep generation out)"
	KVLOG_MODE=check KVLOG_COUNT=$N "$C" -f "$F" up --no-color >out 2>err ||
		fail "$rw: check after the kvd kills: $(grep 'kvlog |' out err | tail -3)"
	echo "ok: $rw: $N sets through three kvd kills, all present"

	# 2. kvd and the writer killed together: every acknowledged set stays.
	KVLOG_FROM=$B KVLOG_COUNT=$((B * 2)) "$C" -f "$F" up --no-color >out 2>err &
	up=$!
	wait_acks out $((B + N / 10 + RANDOM % (N / 10))) || fail "$rw: writer stalled: $(tail -3 err)"
	kill -9 $(kvd_pid) $(pgrep -f "^$tmp/kvlog/_build/kvlog") || fail "$rw: nothing to kill"
	wait $up && fail "$rw: up succeeded although its app was killed"
	last=$(acked out)
	KVLOG_MODE=check KVLOG_FROM=$B KVLOG_COUNT=$((last + 1)) "$C" -f "$F" up --no-color >out 2>err ||
		fail "$rw: an acknowledged set is missing or torn: $(grep 'kvlog |' out err | tail -3)"
	echo "ok: $rw: killed with kvd at set $last, sets $B..$last present"

	# 3. Only sealed keeps the values out of the database file.
	if [ "$rw" = dir ]; then
		held=$(find data/log -type f ! -name '.kvd-tmp-*' | wc -l)
		[ "$held" -ge $((N + last + 1 - B)) ] || fail "dir: $held values in data/log, want at least $((N + last + 1 - B))"
		continue
	fi
	hits=$(cat .morgana/state/log.sqlite* | grep -ac 'kvlog-value-')
	if [ "$rw" = sqlite ]; then
		[ "$hits" -gt 0 ] || fail "sqlite: values not found in the database (the sealed check below would prove nothing)"
		# Sealed over values stored in clear refuses them.
		"$C" configure --kv_rw sealed >/dev/null || fail "reconfigure sealed"
		KVLOG_MODE=check KVLOG_COUNT=1 "$C" -f "$F" up --no-color >out 2>&1 &&
			fail "sealed read values stored in clear"
		grep -q 'kvlog | kvlog: get log/0: Bad message' out || fail "sealed over clear values: $(grep 'kvlog |' out | tail -2)"
	else
		[ "$hits" -eq 0 ] || fail "sealed: $hits values in clear in the database"
	fi
done

# A manifest's own sealed device over a sqlite device.
sed -e 's/^  log: .*/  log: {impl: kvd, store: sealed, over: db, key_file: log.key}\n  db: {impl: kvd, store: sqlite}/' compose.yaml >sealed.yaml
rm -rf .morgana
"$C" -f sealed.yaml configure >/dev/null && "$C" -f sealed.yaml build >/dev/null || fail "sealed.yaml: configure/build"
KVLOG_COUNT=20 "$C" -f sealed.yaml up --no-color >out 2>err || fail "sealed.yaml: write: $(tail -3 err)"
KVLOG_MODE=check KVLOG_COUNT=20 "$C" -f sealed.yaml up --no-color >out 2>err || fail "sealed.yaml: check: $(tail -3 err)"
[ "$(cat .morgana/state/db.sqlite* | grep -ac 'kvlog-value-')" -eq 0 ] || fail "sealed.yaml: values in clear"
echo "ok: sealed device over a sqlite device"

# Bad combinations, each named at its place in the manifest.
"$C" configure --kv_rw dir >/dev/null 2>err; [ $? -eq 2 ] || fail "--kv_rw dir was not a usage error"
grep -q "kv_rw is sqlite or sealed, not 'dir'" err || fail "--kv_rw dir: $(cat err)"
"$C" -f sealed.yaml configure --kv_rw sqlite >/dev/null 2>err && fail "--kv_rw sqlite over a sealed device accepted"
grep -q "^sealed.yaml:[0-9]*:3: error: device 'log' is store: sealed; --kv_rw sqlite would keep its values in clear" err ||
	fail "sqlite over sealed: $(cat err)"
sed -e 's/, key_file: log.key//' compose.yaml >nokey.yaml
line=$(grep -n '^  log:' nokey.yaml | cut -d: -f1)
"$C" -f nokey.yaml configure --kv_rw sealed >/dev/null 2>err && fail "--kv_rw sealed without a key_file accepted"
grep -q "^nokey.yaml:$line:3: error: device 'log' has no key_file; --kv_rw sealed needs one" err ||
	fail "sealed without key_file: $(cat err)"
"$C" -f nokey.yaml configure --kv_rw sqlite >/dev/null || fail "nokey.yaml with sqlite refused"
# ...and up refuses a context that no longer fits the manifest.
"$C" configure --kv_rw sealed >/dev/null || fail "configure sealed"
"$C" -f nokey.yaml up --no-color >/dev/null 2>err && fail "up accepted sealed without a key_file"
grep -q "nokey.yaml:$line:3: error: device 'log' has no key_file" err || fail "up, sealed without key_file: $(cat err)"
sed -e 's/store: sqlite}/store: sqlite, key_file: x.key}/' sealed.yaml >bad.yaml
"$C" -f bad.yaml config -q 2>err && fail "key_file under a sealed device accepted"
grep -q "^bad.yaml:[0-9]*:[0-9]*: error: device 'db' holds the values of sealed device 'log': its key_file has no use" err ||
	fail "key_file under sealed: $(cat err)"
sed -e 's/store: sqlite, key_file: log.key/store: dir, path: files, key_file: log.key/' compose.yaml >dirkey.yaml
"$C" -f dirkey.yaml config -q 2>err && fail "key_file on a dir store accepted"
grep -q "error: 'key_file' applies only to stores sealed and sqlite" err || fail "key_file on dir: $(cat err)"
line=$(grep -n '^  log:' rwdir.yaml | cut -d: -f1)
"$C" -f rwdir.yaml configure --kv_rw sqlite >/dev/null 2>err && fail "--kv_rw sqlite over a dir device accepted"
grep -q "^rwdir.yaml:$line:3: error: device 'log' is store: dir; --kv_rw sqlite does not apply to it" err ||
	fail "--kv_rw over dir: $(cat err)"
echo "ok: configure errors"
