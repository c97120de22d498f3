#!/usr/bin/env bash
# Restart policy: a SIGKILLed daemon is restarted with backoff, keeps its
# domid, its restarts are counted in ps; a daemon that keeps crashing hits
# the burst limit (5 starts in 10 s) and fails up; nothing is left behind.
set -u
. tests/integration/_compose_lib.sh
cd "$tmp/proj"

FIXTURE_APP=serve "$C" up -d --wait >/dev/null 2>&1 || fail "up"
pid=$("$C" ps | awk '$1 == "clock" { print $3 }')
[ -n "$pid" ] || fail "no clock pid"
kill -9 "$pid"
for _ in $(seq 50); do
	line=$("$C" ps | awk '$1 == "clock"')
	case $line in *" ready "*) [ "$(echo "$line" | awk '{print $3}')" != "$pid" ] && break ;; esac
	sleep 0.1
done
echo "$line" | grep -Eq '^clock +ready +[0-9]+ +1 +[0-9ms]+ +1 +clock/0\(dom3\) Connected' ||
	fail "clock after kill -9: $line"
grep -q 'restarting in 100 ms' "$RUN/logs/compose.log" 2>/dev/null ||
	grep -q 'clock exited (killed by signal 9' "$RUN/logs/compose.log" || fail "no restart logged"
"$C" down >/dev/null || fail "down"
assert_clean "after restart"

# Crashing 200 ms after READY, every time: restarts back off (100, 200,
# 400, 800 ms) and the 5th start within 10 s gives up.
FIXTURE_MODE_clock=crash FIXTURE_APP=serve "$C" up >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "burst: up exited $rc"
grep -q "service 'clock' exited (exit status 1): 5 starts in 10 s, giving up" "$tmp/err" ||
	fail "burst message: $(tail -5 "$tmp/err")"
[ "$(grep -c 'started clock' "$tmp/err")" -eq 5 ] || fail "expected 5 starts"
assert_clean "burst limit"
echo ok
