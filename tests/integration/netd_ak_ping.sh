#!/usr/bin/env bash
# appkit's NET frontend (appkit/net_ring.c) against the real kernel: as
# netd_tap_ping.sh, but the responder is an ak_main application
# (tests/lib/net_akping) that finds its device "net0" by name and answers
# ARP and ICMP echo through ak_net.  ping -c 100 and ping -s 4000 (IP
# fragments both ways) must succeed; then, with mtu 9000 on both sides,
# ping -s 8000 (8042-byte frames: multi-slot rx and tx).  Then netd is
# killed with SIGKILL and restarted by the toolstack: the application
# reconnects by itself and ping works again.
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] && [ -x "$BUILD/tests/lib/net_akping" ] || fail "build first"
command -v ip >/dev/null || skip "no iproute2"
command -v ping >/dev/null || skip "no ping (apt-get install iputils-ping)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ns=netdak$$
tmp=$(mktemp -d)
cleanup() {
	[ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
	--scenario ping --tap ntap0 --ip 10.77.0.2 --mtu 9000 --respawn \
	--front "$BUILD/tests/lib/net_akping" >"$tmp/out" 2>"$tmp/harness.log" &
hpid=$!
for _ in $(seq 100); do grep -q '^ping: listening' "$tmp/out" && break; sleep 0.1; done
if ! grep -q '^ping: listening' "$tmp/out"; then
	cat "$tmp/out" "$tmp/harness.log" >&2
	grep -q 'cannot open tap' "$tmp/harness.log" && skip "tun unavailable in namespace"
	fail "the application never started"
fi
grep -q 'mtu=9000' "$tmp/out" || fail "the mtu key did not reach the application"
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev ntap0 || fail "no tap in the namespace"
ip netns exec "$ns" ip link set ntap0 up

pings() {	# $1: label
	ip netns exec "$ns" ping -c 100 -i 0.01 -W 1 10.77.0.2 >"$tmp/ping1" ||
		{ cat "$tmp/ping1" "$tmp/harness.log" >&2; fail "$1: ping -c 100 failed"; }
	grep -q ' 0% packet loss' "$tmp/ping1" || { cat "$tmp/ping1"; fail "$1: ping lost packets"; }
	ip netns exec "$ns" ping -c 20 -i 0.05 -s 4000 -W 1 10.77.0.2 >"$tmp/ping2" ||
		{ cat "$tmp/ping2" "$tmp/harness.log" >&2; fail "$1: ping -s 4000 failed"; }
	grep -q '4008 bytes from 10.77.0.2' "$tmp/ping2" || { cat "$tmp/ping2"; fail "$1: no 4008-byte replies"; }
	tail -n 2 "$tmp/ping1" "$tmp/ping2"
}
pings "first netd"

# Jumbo frames: one 8042-byte frame each way, two pages, chained slots.
ip netns exec "$ns" ip link set ntap0 mtu 9000
ip netns exec "$ns" ping -c 10 -i 0.05 -s 8000 -M do -W 1 10.77.0.2 >"$tmp/ping3" ||
	{ cat "$tmp/ping3" "$tmp/harness.log" >&2; fail "ping -s 8000 (mtu 9000) failed"; }
grep -q '8008 bytes from 10.77.0.2' "$tmp/ping3" || { cat "$tmp/ping3"; fail "no 8008-byte replies"; }
tail -n 2 "$tmp/ping3"
ip netns exec "$ns" ip link set ntap0 mtu 1500

# netd dies hard; the toolstack starts it again; appkit reconnects.
old=$(grep '^netd-pid=' "$tmp/out" | tail -1 | cut -d= -f2)
[ -n "$old" ] || fail "no netd pid"
kill -9 "$old"
for _ in $(seq 100); do
	new=$(grep '^netd-pid=' "$tmp/out" | tail -1 | cut -d= -f2)
	[ "$new" != "$old" ] && break
	sleep 0.1
done
[ "$new" != "$old" ] || fail "netd was not restarted"
for _ in $(seq 100); do
	grep -q 'svc=akping.*msg="net connected".*generation=2' "$tmp/harness.log" && break
	sleep 0.1
done
grep -q 'svc=akping.*msg="net connected".*generation=2' "$tmp/harness.log" ||
	{ cat "$tmp/harness.log" >&2; fail "the application did not reconnect"; }
# The tap dies with the netd that made it: give the new one its address.
ip netns exec "$ns" ip addr show dev ntap0 | grep -q 10.77.0.1 ||
	ip netns exec "$ns" ip addr add 10.77.0.1/24 dev ntap0
ip netns exec "$ns" ip link set ntap0 up
pings "restarted netd"

sleep 1.2	# one more stats line
grep '^ping: stats' "$tmp/out" | tail -1
last=$(grep '^ping: stats' "$tmp/out" | tail -1)
echo "$last" | grep -q 'reconnects=1 ' || fail "stats do not show the reconnection: $last"
rx=$(echo "$last" | sed 's/.* rx=\([0-9]*\) .*/\1/')
[ "$rx" -ge 330 ] || fail "too few frames received: $last"
kill "$hpid"; wait "$hpid"; rc=$?; hpid=
[ $rc -eq 0 ] || { cat "$tmp/harness.log" >&2; fail "harness exit $rc"; }
echo "PASS"
