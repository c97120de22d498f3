#!/usr/bin/env bash
# tcpipd socket mode end to end: a raw-libring PV Calls frontend
# (tests/lib/pvcalls_echo) runs a TCP echo server through tcpipd; host
# clients on 127.0.0.1 send 1 MiB each (1, then several at once) and get it
# back byte-identical.  kill -9 of the frontend closes its host sockets
# (the port refuses connections, and a new frontend binds it again).  A
# hostile frontend gets the right errors, is dropped with one log line,
# and the echo frontend keeps working afterwards.
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/pvcalls_echo
C=$BUILD/tests/lib/pvcalls_client
[ -x "$H" ] && [ -x "$C" ] && [ -x "$BIN/tcpipd" ] || skip "not built"
tmp=$(mktemp -d /tmp/tcpipd_echo.XXXXXX)
hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# A free port: let the kernel pick one, then hand it to the test.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null) ||
	port=$((20000 + RANDOM % 20000))
mb=$((1 << 20))
conns=$(scale 6 3)

"$H" --tcpipd "$BIN/tcpipd" --rundir "$tmp" --port "$port" \
	--allow "127.0.0.1:$port" --hostile > "$tmp/out" 2> "$tmp/err" &
hpid=$!
wait_line() { # pattern count
	for _ in $(seq 1 200); do
		[ "$(grep -c "$1" "$tmp/out")" -ge "$2" ] && return 0
		sleep 0.05
	done
	cat "$tmp/out"; tail -30 "$tmp/err"; fail "no '$1' (#$2)"
}
wait_line '^front-ready' 1
fpid=$(grep '^front-ready' "$tmp/out" | tail -1 | sed 's/.*pid=//')

"$C" --port "$port" --conns 1 --bytes "$mb" || fail "1 client, 1 MiB"
"$C" --port "$port" --conns "$conns" --bytes "$mb" || fail "$conns clients"

# The hostile frontend (domain 3): refused commands; a connection (through
# tcpipd, to the echo frontend) that it half-closes (X_SHUTDOWN: the echo
# side sees EOF and closes) and whose data ring it then corrupts; finally a
# broken command ring.
kill -USR1 "$hpid"
wait_line '^hostile-exit' 1
grep '^hostile' "$tmp/out"
grep -q '^hostile: 0 answers wrong$' "$tmp/out" || fail "hostile got wrong answers"
grep -q '^hostile: dropped$' "$tmp/out" || fail "hostile was not dropped"
grep -q '^hostile: eof after shutdown$' "$tmp/out" || fail "X_SHUTDOWN did not half-close"
grep -q '^hostile: data ring broken$' "$tmp/out" || fail "a bad data index went unnoticed"
n=$(grep 'svc=tcpipd' "$tmp/err" | grep -c 'msg="data ring broken" frontend=3 ')
[ "$n" -eq 1 ] || fail "data ring: $n log lines, want 1"
grep -q '^hostile-exit status=0$' "$tmp/out" || fail "hostile frontend failed"
n=$(grep 'svc=tcpipd' "$tmp/err" | grep -c 'msg="frontend disconnected".* frontend=3 ')
[ "$n" -eq 1 ] || fail "hostile: $n disconnect lines, want 1"
grep 'svc=tcpipd' "$tmp/err" | grep -q 'frontend=2 .*disconnected\|disconnected.* frontend=2 ' &&
	fail "the echo frontend was disconnected"
"$C" --port "$port" --conns 2 --bytes "$mb" || fail "echo after the hostile one"

# kill -9 of the frontend: tcpipd closes its listening socket.
kill -9 "$fpid"
wait_line '^front-exit' 1
"$C" --port "$port" --refused || fail "port still open after the frontend died"
grep -q 'msg="frontend released" frontend=2 sockets_closed=' "$tmp/err" ||
	fail "no release line"
# This raw frontend, like Linux's, does not ask for notify bits.
grep -q 'msg="frontend connected" frontend=2 notify_bits=0' "$tmp/err" ||
	fail "notify bits used without being asked for"
# ...and the port is free: a new frontend binds it and serves.
kill -USR2 "$hpid"
wait_line '^front-ready' 2
"$C" --port "$port" --conns 2 --bytes "$mb" || fail "echo from the new frontend"

kill -TERM "$hpid"
wait "$hpid"
rc=$?
hpid=
grep -q '^tcpipd-stopped status=0$' "$tmp/out" || { cat "$tmp/out"; fail "tcpipd did not stop cleanly"; }
[ "$rc" -eq 0 ] || fail "harness exit $rc"
echo "ok: echo 1 MiB x (1, $conns, 2, 2) clients; hostile dropped; kill -9 frees the port"
