#!/usr/bin/env bash
# clockd serving `clock` devices over the real transport, driven by the test
# frontend and toolstack build/tests/lib/clock_client:
#  - page: the offered time page reads within a few ms of clock_gettime;
#  - timers: 5000 timers through the real rings, 500 cancelled: every other
#    one fires exactly once, none early;
#  - restart: clockd is SIGKILLed with every timer pending and restarted
#    with the same domid; the client reconnects, re-arms, all fire once;
#  - hostile: a frontend with a bad ring-ref, and one with an overflowing
#    req_prod, are each dropped with one log line while a good one works;
#  - clockd exits 0 on SIGTERM (the harness checks it every time).
set -u
. "$(dirname "$0")/_lib.sh"
CC=$BUILD/tests/lib/clock_client
[ -x "$CC" ] && [ -x "$BIN/clockd" ] || skip "build first"
"$BIN/clockd" --help >/dev/null || fail "clockd --help"
n=$(scale 5000 1000)
c=$(scale 500 100)

out=$("$CC" --clockd "$BIN/clockd" --test page 2>&1) || { echo "$out"; fail "page"; }
echo "$out" | grep -q "page ok" || { echo "$out"; fail "page: no check"; }
echo "$out" | grep -q 'svc=clock msg=serving' || { echo "$out"; fail "page: clockd not serving"; }
echo "ok: page"

for t in timers restart; do
	out=$("$CC" --clockd "$BIN/clockd" --test $t --timers "$n" --cancel "$c" 2>&1) \
		|| { echo "$out"; fail "$t: exit $?"; }
	echo "$out" | grep -q "^clock_client: $n timers: $((n - c)) fired, $c cancelled, 0 early, 0 twice" \
		|| { echo "$out"; fail "$t: wrong counts"; }
	echo "ok: $t: $(echo "$out" | grep '^clock_client:')"
done
echo "$out" | grep -q "killing clockd" || fail "restart: clockd was not killed"
echo "$out" | grep -q " 2 connections" || { echo "$out"; fail "restart: no reconnect"; }

for mode in ringref index; do
	out=$("$CC" --clockd "$BIN/clockd" --test timers --timers "$n" --cancel "$c" \
		--hostile $mode 2>&1) || { echo "$out"; fail "hostile $mode: exit $?"; }
	echo "$out" | grep -q "^clock_client: $n timers: $((n - c)) fired, $c cancelled, 0 early, 0 twice" \
		|| { echo "$out"; fail "hostile $mode: the good frontend did not complete"; }
	echo "$out" | grep -q "hostile frontend dropped" || { echo "$out"; fail "hostile $mode: not dropped"; }
	lines=$(echo "$out" | grep 'svc=clock ' | grep 'frontend=3' | grep -c 'level=warn')
	[ "$lines" -eq 1 ] || { echo "$out"; fail "hostile $mode: expected 1 warning, got $lines"; }
	bad=$(echo "$out" | grep 'svc=clock ' | grep 'frontend=2' | grep -c 'level=warn')
	[ "$bad" -eq 0 ] || { echo "$out"; fail "hostile $mode: the good frontend was warned about"; }
	echo "ok: hostile $mode: $(echo "$out" | grep 'svc=clock ' | grep 'frontend=3' | grep 'level=warn')"
done
