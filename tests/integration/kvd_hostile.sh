#!/usr/bin/env bash
# Hostile frontends: bad grant refs, a segment past its page, a length past
# the granted segments, a key without its NUL, an unknown op, impossible
# ring indices.  Each is dropped by kvd with exactly one log line, without
# an answer, while a good frontend writing through the same kvd keeps being
# served to the end.
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/kv_harness
C=$BUILD/tests/lib/kv_client
[ -x "$H" ] && [ -x "$C" ] && [ -x "$BIN/kvd" ] || skip "not built"
tmp=$(mktemp -d /tmp/kvd_hostile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/run"
n=$(scale 3000 800)
modes="gref len past nonul op index"
args=()
for m in $modes; do args+=(--frontend "0 hostile 0 $m"); done
"$H" --rundir "$tmp/run" --kvd "$BIN/kvd" --client "$C" \
	--backend "kvdb serve --store sqlite --path $tmp/kv.db" \
	--frontend "0 writer 0 $n" "${args[@]}" \
	> "$tmp/out" 2> "$tmp/err" || { tail -40 "$tmp/err"; cat "$tmp/out"; fail "harness"; }
cat "$tmp/out"
grep -q "^writer: $n acked, $n verified, 0 bad" "$tmp/out" || fail "the good frontend was not served"
dom=3	# domids: kvd 1, writer 2, hostiles from 3 in the order above
for m in $modes; do
	grep -q "^hostile: dropped mode=$m\$" "$tmp/out" || fail "hostile $m not dropped"
	c=$(grep 'svc=kvdb' "$tmp/err" | grep -c "msg=\"frontend disconnected\".* frontend=$dom ")
	[ "$c" -eq 1 ] || fail "hostile $m (domid $dom): $c disconnect lines, want 1"
	dom=$((dom + 1))
done
if grep 'svc=kvdb' "$tmp/err" | grep -q "frontend=2 .*disconnected\|disconnected.* frontend=2 "; then
	fail "the good frontend was disconnected"
fi
grep 'svc=kvdb' "$tmp/err" | grep 'frontend disconnected'
echo "ok: 6 hostile frontends dropped, the writer finished"
