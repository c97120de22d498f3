#!/usr/bin/env bash
# UDP through tcpipd (feature-x-dgram, docs/pvcalls.md): an ak_main
# application (tests/lib/pvcalls_akudp) echoes datagrams on 127.0.0.1:P
# through its STACK device; a host client (tests/lib/udp_client) sends
# datagrams of 0 B .. 65507 B (the IPv4 maximum) one at a time and in
# windows, and each must come back byte-identical.  The app's bind
# outside --allow is refused (-EACCES, one log line) and its CONNECTed
# socket talks with send/recv.  A hostile raw frontend then checks the
# refusals, one datagram echoed record by record, a datagram larger than
# its ring delivered truncated and flagged, and a record header
# claiming more than the ring holds: that socket alone breaks (one warn
# line), the echo goes on, and the frontend's broken command ring gets
# it dropped.
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/pvcalls_echo
A=$BUILD/tests/lib/pvcalls_akudp
C=$BUILD/tests/lib/udp_client
[ -x "$H" ] && [ -x "$A" ] && [ -x "$C" ] && [ -x "$BIN/tcpipd" ] || skip "not built"
tmp=$(mktemp -d /tmp/tcpipd_udp.XXXXXX)
hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null) ||
	port=$((20000 + RANDOM % 20000))
count=$(scale 3 1)

"$H" --tcpipd "$BIN/tcpipd" --rundir "$tmp" --port "$port" --hostile-udp \
	--allow "127.0.0.1:$port,127.0.0.1:$((port + 2))" --front "$A" > "$tmp/out" 2> "$tmp/err" &
hpid=$!
for _ in $(seq 1 200); do
	grep -q '^akudp: connected\|akudp: .*failed\|front-failed\|front-exit' "$tmp/out" && break
	sleep 0.05
done
grep -q '^akudp: listening$' "$tmp/out" || { cat "$tmp/out"; tail -20 "$tmp/err"; fail "the app does not listen"; }
grep -q "^akudp: refused rc=-13$" "$tmp/out" || { cat "$tmp/out"; fail "a bind outside --allow was not refused"; }
grep -q "msg=\"bind refused by the allow list\" frontend=2 addr=127.0.0.1 port=$((port + 1))" "$tmp/err" ||
	fail "no log line for the refused bind"
grep -q '^akudp: connected ok$' "$tmp/out" || { cat "$tmp/out"; fail "connected UDP socket"; }
grep -q 'svc=tcpipd msg="frontend connected" frontend=2 notify_bits=1' "$tmp/err" ||
	fail "notify bits were not negotiated"

"$C" --port "$port" --count "$count" || fail "datagrams one at a time"
# Windows stay within what the host socket buffers hold (212 KiB of
# kernel truesize by default): UDP may drop beyond that, legitimately.
"$C" --port "$port" --count "$count" --window 32 --sizes 1,64,512,1472 ||
	fail "32 datagrams in flight"
"$C" --port "$port" --count "$count" --window 8 --sizes 4000,8192 ||
	fail "8 datagrams in flight"
"$C" --port "$port" --count "$count" --window 2 --sizes 30000,65507 ||
	fail "large datagrams in flight"

kill -USR1 "$hpid"
for _ in $(seq 1 200); do
	grep -q '^hostile: udp waiting\|^hostile-exit' "$tmp/out" && break
	sleep 0.05
done
grep -q '^hostile: udp waiting$' "$tmp/out" || { cat "$tmp/out"; fail "hostile: did not get to the big datagram"; }
# Its order-2 ring (8 KiB halves) cannot hold this one: truncated, flagged.
"$C" --port $((port + 2)) --send 20000 || fail "send 20000 bytes"
for _ in $(seq 1 200); do
	grep -q '^hostile-exit' "$tmp/out" && break
	sleep 0.05
done
grep -q '^hostile: udp echo ok$' "$tmp/out" || { cat "$tmp/out"; fail "hostile: raw datagram echo"; }
grep -q '^hostile: udp truncated ok$' "$tmp/out" || { cat "$tmp/out"; fail "hostile: truncated datagram"; }
grep -q '^hostile: udp ring broken$' "$tmp/out" || { cat "$tmp/out"; fail "hostile: bad record header"; }
grep -q '^hostile: 0 answers wrong$' "$tmp/out" || { cat "$tmp/out"; fail "hostile: wrong answers"; }
grep -q '^hostile-exit status=0$' "$tmp/out" || { cat "$tmp/out"; fail "hostile frontend was not dropped"; }
[ "$(grep -c 'msg="data ring broken" frontend=3 id=20 why="bad datagram record"' "$tmp/err")" = 1 ] ||
	{ grep 'frontend=3' "$tmp/err"; fail "want exactly one log line for the bad record"; }
grep -q 'msg="frontend disconnected".*frontend=3\|frontend=3.*disconnected' "$tmp/err" ||
	{ grep 'frontend=3' "$tmp/err"; fail "no disconnect line for the hostile frontend"; }

# The echo is untouched by all that.
"$C" --port "$port" --count 1 --sizes 1,65507 || fail "echo after the hostile frontend"

kill -TERM "$hpid"
wait "$hpid"
rc=$?
hpid=
[ "$rc" -eq 0 ] || { cat "$tmp/out"; fail "harness exit $rc"; }
echo "ok: UDP echo 0..65507 B through tcpipd (window 1, 2, 8, 32); --allow; hostile framing breaks one socket"
