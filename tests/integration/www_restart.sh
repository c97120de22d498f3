#!/usr/bin/env bash
# kill -9 of each daemon of examples/www under load (wrk): compose restarts
# it, www reconnects (after tcpipd, it listens again on a new STACK
# connection) and the site is served again within a second (3 s under
# MORGANA_TEST_SCALE=asan), with no manual step.  The cache is off
# (WWW_CACHE_MS=0) so that every request goes through the stores: files
# serves /css/site.css, tmpl the home page; keys is read at start only.
# One kill per service: a second one within 10 s would add compose's
# restart backoff (200 ms, then 400 ...) to what is measured.
set -u
. tests/integration/_www_lib.sh
command -v wrk >/dev/null || skip "no wrk (make deps)"
limit=$(scale 1000 3000)
WWW_CACHE_MS=0 www_up
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# kill -9 service $1 while wrk loads $2; then time until $2 answers 200.
kill_and_time() {
	local svc=$1 path=$2 old new t0 dt wpid st
	old=$(svc_pid "$svc")
	[ -n "$old" ] || fail "$svc: no pid"
	wrk -t1 -c20 -d3s "$U$path" >/dev/null 2>&1 &
	wpid=$!
	sleep 0.5
	t0=$(now_ms)
	kill -9 "$old"
	while kill -0 "$old" 2>/dev/null; do sleep 0.005; done
	while :; do
		st=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$U$path")
		[ "$st" = 200 ] && break
		[ $(( $(now_ms) - t0 )) -gt 10000 ] && { wait "$wpid"; tail -5 "$RUN"/logs/*.log; fail "$svc: not served 10 s after kill -9 (last: $st)"; }
		sleep 0.01
	done
	dt=$(( $(now_ms) - t0 ))
	wait "$wpid"
	new=$(svc_pid "$svc")
	echo "$svc: killed pid $old, restarted as $new, $path served again after $dt ms"
	[ -n "$new" ] && [ "$new" != "$old" ] || fail "$svc was not restarted"
	[ "$dt" -le "$limit" ] || fail "$svc: $dt ms to serve again (limit $limit)"
	# Everything still answers, not just that path.
	a=$(code "$U/") b=$(code "$U/css/site.css")
	[ "$a" = 200 ] && [ "$b" = 200 ] ||
		fail "$svc: the site is not whole again: / $a, /css/site.css $b"
}
kill_and_time stack /
grep -q 'msg=listening addr=127.0.0.1:[0-9]* listens=2' "$RUN/logs/www.log" ||
	fail "www did not listen again: $(tail -5 "$RUN/logs/www.log")"
kill_and_time files /css/site.css
kill_and_time tmpl /
kill_and_time keys /
"$C" ps
www=$(svc_pid www)
"$C" ps | awk '$1 == "www" && $6 != 0 { bad = 1 } END { exit bad }' ||
	fail "www itself was restarted"
echo "all ok (www pid $www throughout)"
