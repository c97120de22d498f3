#!/usr/bin/env bash
# The seed's memory promise for examples/www: while wrk loads it (30
# connections, as bench/http.sh), the VmRSS of every process of the system
# (the supervisor, clockd, the 3 kvd, tcpipd, www) sums to < 16 MiB.  The
# budget holds for the static daemons (STATIC=1, the default): a
# dynamically linked build (STATIC=0, SANITIZE=1) maps ~1.5 MiB of shared
# libraries per process and is skipped.
set -u
. tests/integration/_www_lib.sh
command -v wrk >/dev/null || skip "no wrk (make deps)"
command -v sqlite3 >/dev/null || skip "no sqlite3 (make deps)"
for b in compose clockd kvd tcpipd; do
	readelf -lW "$(dirname "$C")/$b" | grep -q 'program interpreter' &&
		skip "$b is dynamically linked (STATIC=0 or SANITIZE=1): no RSS budget"
done
www_up
wrk -t1 -c30 -d4s "$U/" >"$tmp/wrk.out" 2>&1 &
wp=$!
sleep 2
sup=$(sqlite3 .morgana/run/state.db "select value from meta where key='supervisor_pid'")
pids="$sup $("$C" ps | awk 'NR > 1 { print $3 }')"
total=0 n=0
for p in $pids; do
	r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	[ -n "$r" ] || fail "process $p is gone"
	echo "$(cat "/proc/$p/comm") pid=$p rss_kib=$r"
	total=$((total + r)) n=$((n + 1))
done
wait "$wp"
[ "$n" -eq 7 ] || fail "expected 7 processes, found $n: $pids"
grep -q 'requests in' "$tmp/wrk.out" || fail "wrk: $(tail -3 "$tmp/wrk.out")"
echo "rss_kib_total=$total"
[ "$total" -le 16384 ] || fail "rss_kib_total=$total KiB > 16384"
echo "all ok"
