#!/usr/bin/env bash
# examples/hello through compose with the real clockd over the rings:
# configure, build, up to completion (n=3); a key changed at configure time
# and at boot; kill -9 of clockd mid-run (the supervisor restarts it, hello
# reconnects and goes on); up -d / ps / the store seen by xenstore-ls /
# down, leaving no process and no socket behind.
set -u
. "$(dirname "$0")/_lib.sh"
C=$(cd "$BIN" && pwd)/compose
[ -x "$C" ] && [ -x "$BIN/clockd" ] || skip "compose or clockd not built"
tmp=$(mktemp -d /tmp/hello-test.XXXXXX)
cleanup() {
	(cd "$tmp/hello" 2>/dev/null && "$C" down >/dev/null 2>&1)
	pkill -9 -f "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/hello"
cp examples/hello/hello.c examples/hello/compose.yaml "$tmp/hello/"
cd "$tmp/hello"
export HELLO_INTERVAL_MS=100
unset HELLO_N HELLO_GREETING

"$C" configure >/dev/null || fail "configure"
"$C" build >/dev/null || fail "build"

# n=3 runs to completion; up exits with the app's status.
HELLO_N=3 "$C" up --no-color >out 2>err || fail "up exited $?: $(tail -5 err)"
[ "$(grep -c '^hello | hello world$' out)" -eq 3 ] || fail "want 3 greetings: $(cat out)"

# The greeting changed at configure time, then overridden at boot.
"$C" configure --greeting=Morgana >/dev/null && "$C" build >/dev/null || fail "reconfigure"
HELLO_N=2 "$C" up --no-color >out 2>/dev/null || fail "up after configure"
[ "$(grep -c '^hello | hello Morgana$' out)" -eq 2 ] || fail "configure-time key: $(cat out)"
HELLO_N=1 HELLO_GREETING=boot "$C" up --no-color >out 2>/dev/null || fail "up with a boot key"
grep -qx 'hello | hello boot' out || fail "boot-time key: $(cat out)"

# kill -9 clockd mid-run: restarted, hello reconnects and finishes.
HELLO_N=10 HELLO_INTERVAL_MS=150 "$C" up --no-color >out 2>err &
up=$!
for i in $(seq 100); do [ "$(grep -c 'hello | hello' out)" -ge 3 ] && break; sleep 0.05; done
pkill -9 -f "$(cd "$BIN" && pwd)/clockd" || fail "no clockd to kill"
wait $up || fail "up exited $? after the kill: $(tail -5 err)"
[ "$(grep -c '^hello | hello Morgana$' out)" -eq 10 ] || fail "want 10 greetings across the kill: $(cat out)"
grep -q 'generation=2' out || fail "hello did not reconnect: $(cat out)"
grep -q 'time exited (killed by signal 9' err || fail "supervisor did not see the kill"

# Detached: ps and the store from another shell, then down.
"$C" up -d --wait >/dev/null 2>&1 || fail "up -d --wait"
"$C" ps | grep -q 'clock/0 Connected' || fail "ps: $("$C" ps)"
XENSTORED_PATH=$PWD/.morgana/run/store.sock xenstore-ls -f /local/domain 2>/dev/null \
	| grep -q '/local/domain/2/device/clock/0/state = "4"' || fail "xenstore-ls does not show the connected device"
"$C" down >/dev/null 2>&1 || fail "down"
sleep 0.2
pgrep -f "$tmp" >/dev/null && fail "processes left behind: $(pgrep -af "$tmp")"
ls .morgana/run/*.sock .morgana/run/state.db 2>/dev/null && fail "sockets or state left behind"
echo "ok: hello through compose and clockd"
