#!/usr/bin/env bash
# Crash safety: a writer pipelines many sets through kvd (sqlite, then a
# read-write dir); kvd is
# SIGKILLed at random moments, 5 times, and restarted with the same domid.
# The writer reconnects through libring's handshake and resubmits what was
# in flight (a replayed set writes the same value again).  At the end every
# acknowledged set must be there with its exact value (the writer reads
# every key back), and the database must hold exactly the keys written.
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/kv_harness
C=$BUILD/tests/lib/kv_client
[ -x "$H" ] && [ -x "$C" ] && [ -x "$BIN/kvd" ] || skip "not built"
tmp=$(mktemp -d /tmp/kvd_crash.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=$(scale 10000000 10000000)	# an upper bound: the run ends after the kills
kills=5
for store in sqlite dir; do
	rm -rf "$tmp/run" && mkdir -p "$tmp/run" "$tmp/kvdir"
	if [ $store = sqlite ]; then
		be="kvdb serve --store sqlite --path $tmp/kv.db"
	else
		be="kvdb serve --store dir --rw --path $tmp/kvdir"
	fi
	"$H" --rundir "$tmp/run" --kvd "$BIN/kvd" --client "$C" \
		--backend "$be" \
		--frontend "0 writer 0 $n" --kills $kills --kill-ms 100,300 \
		> "$tmp/out" 2> "$tmp/err" || { tail -40 "$tmp/err"; cat "$tmp/out"; fail "$store: harness"; }
	cat "$tmp/out"
	grep -q "^kv_harness: kills=$kills\$" "$tmp/out" || fail "$store: kvd was not killed $kills times (writer too fast?)"
	got=$(sed -n 's/^writer: \([0-9]*\) acked, \1 verified, 0 bad, .*/\1/p' "$tmp/out")
	[ -n "$got" ] && [ "$got" -gt 0 ] || fail "$store: writer summary: not every acknowledged set verified"

	conns=$(sed -n 's/^writer: .* \([0-9]*\) connections$/\1/p' "$tmp/out")
	# A kill can land while the writer is still reconnecting (a busy
	# machine slows the reconnect), so not every kill costs a connection;
	# but the writer must have come back at least once.
	[ "$conns" -ge 2 ] || fail "$store: $kills kills but the writer never reconnected ($conns connections)"
	if [ $store = dir ]; then
		held=$(find "$tmp/kvdir/w" -type f ! -name '.kvd-tmp-*' | wc -l)
		[ "$held" = "$got" ] || fail "dir: directory holds $held values, want $got"
	elif command -v sqlite3 >/dev/null; then
		held=$(sqlite3 "$tmp/kv.db" "SELECT count(*) FROM kv WHERE key LIKE 'w/%'")
		[ "$held" = "$got" ] || fail "sqlite: database holds $held keys, want $got"
	fi
	echo "ok: $store: $got sets, $kills kills, $conns connections, all values exact"
done
