#!/usr/bin/env bash
# No half-started system: a daemon that exits before READY, one that never
# gets READY, a missing binary, and SIGINT during start each fail up with a
# non-zero exit naming the service, and leave nothing behind.
set -u
. tests/integration/_compose_lib.sh
cd "$tmp/proj"

FIXTURE_MODE_files=exit "$C" up >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "exit before READY: up exited $rc"
grep -q "service 'files' exited before READY (exit status 3)" "$tmp/err" || fail "message: $(cat "$tmp/err")"
grep -q 'clock stopped' "$tmp/err" || fail "clock was not stopped"
assert_clean "exit before READY"

FIXTURE_MODE_clock=hang "$C" up -d --wait --ready-timeout 1 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "timeout: up exited $rc"
grep -q "service 'clock' did not report READY within 1000 ms" "$tmp/err" || fail "message: $(cat "$tmp/err")"
assert_clean "READY timeout"

rm "$tmp/bin/kvd"
"$C" up >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "missing binary: up exited $rc"
grep -q "service 'files': cannot run $tmp/bin/kvd" "$tmp/err" || fail "message: $(cat "$tmp/err")"
assert_clean "missing binary"
ln -s "$FIX" "$tmp/bin/kvd"

# SIGINT while the second service hangs before READY.
FIXTURE_MODE_files=hang "$C" up >/dev/null 2>"$tmp/err" &
up=$!
for _ in $(seq 50); do grep -q 'started files' "$tmp/err" && break; sleep 0.1; done
kill -INT $up
wait $up; rc=$?
[ $rc -eq 130 ] || fail "SIGINT during start: up exited $rc"
assert_clean "SIGINT during start"

# A bad manifest fails before anything starts.
echo 'name: [' >bad.yaml
"$C" -f bad.yaml up >/dev/null 2>"$tmp/err" && fail "bad manifest accepted"
grep -q '^bad.yaml:' "$tmp/err" || fail "bad manifest message"
assert_clean "bad manifest"
echo ok
