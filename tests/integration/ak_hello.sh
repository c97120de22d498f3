#!/usr/bin/env bash
# examples/hello built with appkit, in-process devices: n greetings at the
# interval, keys from argv and env, strict key errors, --help.
set -u
BUILD=${BUILD:-build}
HELLO=$BUILD/bin/hello
[ -x "$HELLO" ] || { echo "skip: $HELLO not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export MORGANA_DEVICES=inproc

t0=$(date +%s%N)
HELLO_GREETING=env timeout 10 "$HELLO" --n=3 --interval_ms 200 >"$tmp/out" 2>"$tmp/err" || fail "exit $?: $(cat "$tmp/err")"
t1=$(date +%s%N)
[ "$(cat "$tmp/out")" = $'hello env\nhello env\nhello env' ] || fail "output: $(cat "$tmp/out")"
ms=$(( (t1 - t0) / 1000000 ))
[ $ms -ge 600 ] || fail "3 x 200 ms took only $ms ms"
[ $ms -lt 5000 ] || fail "took $ms ms"

timeout 10 "$HELLO" --n=2 --interval_ms=1 --greeting=arg >"$tmp/out" 2>/dev/null || fail "second run"
[ "$(cat "$tmp/out")" = $'hello arg\nhello arg' ] || fail "argv greeting: $(cat "$tmp/out")"

# n unset: forever, until SIGTERM (exit 128+15)
"$HELLO" --interval_ms=10 >"$tmp/out" 2>/dev/null &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 143 ] || fail "SIGTERM exit $rc"
[ "$(wc -l <"$tmp/out")" -ge 10 ] || fail "forever printed only $(wc -l <"$tmp/out") lines"

"$HELLO" --n=07 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "bad --n exit $rc"
grep -q "key 'n'" "$tmp/err" || fail "error does not name the key: $(cat "$tmp/err")"
HELLO_N=x "$HELLO" >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "bad HELLO_N accepted"
"$HELLO" --bogus=1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown key accepted"
"$HELLO" --help >"$tmp/help" || fail "--help exit"
for w in --n --greeting --interval_ms HELLO_N HELLO_GREETING world; do
	grep -q -- "$w" "$tmp/help" || fail "--help lacks $w"
done
# readiness on NOTIFY_FD
exec 9>"$tmp/notify"
NOTIFY_FD=9 "$HELLO" --n=1 --interval_ms=1 >/dev/null 2>&1 || fail "notify run"
exec 9>&-
grep -qx 'READY=1' "$tmp/notify" || fail "no READY=1: $(cat "$tmp/notify")"
echo "ok: hello in-process"
