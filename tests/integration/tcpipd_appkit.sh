#!/usr/bin/env bash
# The appkit STACK frontend (appkit/stack_ring.c) end to end: an ak_main
# application (tests/lib/pvcalls_akecho) finds its `pvcalls` device by
# name, listens through tcpipd and echoes with one task per connection;
# host clients send 1 MiB each (1, then several at once) and must get it
# back byte-identical, with event suppression negotiated.  kill -9 of the
# application frees its port.
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/pvcalls_echo
A=$BUILD/tests/lib/pvcalls_akecho
C=$BUILD/tests/lib/pvcalls_client
[ -x "$H" ] && [ -x "$A" ] && [ -x "$C" ] && [ -x "$BIN/tcpipd" ] || skip "not built"
tmp=$(mktemp -d /tmp/tcpipd_appkit.XXXXXX)
hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null) ||
	port=$((20000 + RANDOM % 20000))
mb=$((1 << 20))
conns=$(scale 5 3)

"$H" --tcpipd "$BIN/tcpipd" --rundir "$tmp" --port "$port" \
	--allow "127.0.0.1:$port" --front "$A" > "$tmp/out" 2> "$tmp/err" &
hpid=$!
for _ in $(seq 1 200); do
	grep -q '^akecho: \|front-failed\|front-exit' "$tmp/out" && break
	sleep 0.05
done
grep -q '^akecho: listening$' "$tmp/out" || { cat "$tmp/out"; tail -20 "$tmp/err"; fail "the app does not listen"; }
fpid=$(grep '^front-ready' "$tmp/out" | tail -1 | sed 's/.*pid=//')
[ -n "$fpid" ] || fail "no frontend pid"

"$C" --port "$port" --conns 1 --bytes "$mb" || fail "1 client, 1 MiB"
"$C" --port "$port" --conns "$conns" --bytes "$mb" || fail "$conns clients"

kill -9 "$fpid"
"$C" --port "$port" --refused || fail "port still open after the app died"
# appkit negotiated event suppression (feature-x-notify-bits), so the
# echoes above ran with it: a lost wake-up would have hung them.
grep -q 'svc=tcpipd msg="frontend connected" frontend=2 notify_bits=1' "$tmp/err" ||
	fail "notify bits were not negotiated"
grep -m1 'svc=tcpipd msg="frontend released" frontend=2 ' "$tmp/err"

kill -TERM "$hpid"
wait "$hpid"
rc=$?
hpid=
[ "$rc" -eq 0 ] || { cat "$tmp/out"; fail "harness exit $rc"; }
echo "ok: appkit echo 1 MiB x (1, $conns) clients; kill -9 frees the port"
