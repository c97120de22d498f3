#!/usr/bin/env bash
# netd --backend tap against the real kernel: in a fresh network namespace
# netd creates a tap, the kernel side gets 10.77.0.1/24, and the test
# responder (a netif frontend behind netd) answers ARP and ICMP echo for
# 10.77.0.2.  ping -c 100 -i 0.01 must succeed, and ping -s 4000 (the
# kernel fragments the request; the responder reassembles and fragments
# its reply) too.  If tshark is available the tap is captured and every
# frame must decode without a malformed-packet flag.
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] || fail "build first"
command -v ip >/dev/null || skip "no iproute2"
command -v ping >/dev/null || skip "no ping (apt-get install iputils-ping)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ns=netdtest$$
tmp=$(mktemp -d)
cleanup() {
	[ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	[ -n "${tpid:-}" ] && kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
	--scenario ping --tap ntap0 --ip 10.77.0.2 --ready-file "$tmp/ready" \
	2>"$tmp/harness.log" &
hpid=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
if [ ! -e "$tmp/ready" ]; then
	cat "$tmp/harness.log" >&2
	grep -q 'cannot open tap' "$tmp/harness.log" && skip "tun unavailable in namespace"
	fail "responder never connected"
fi
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev ntap0 || fail "no tap in the namespace"
ip netns exec "$ns" ip link set ntap0 up
if command -v tshark >/dev/null; then
	ip netns exec "$ns" tshark -q -i ntap0 -w "$tmp/cap.pcap" 2>"$tmp/tshark.log" &
	tpid=$!
	# Under load tshark can take seconds to start: wait until it says
	# it captures, or the count of replies below comes up short.
	for _ in $(seq 100); do grep -q 'Capturing on' "$tmp/tshark.log" && break; sleep 0.1; done
	sleep 0.5
else
	echo "tshark not installed: skipping the capture check"
fi
ip netns exec "$ns" ping -c 100 -i 0.01 -W 1 10.77.0.2 >"$tmp/ping1" ||
	{ cat "$tmp/ping1" "$tmp/harness.log" >&2; fail "ping -c 100 failed"; }
grep -q ' 0% packet loss' "$tmp/ping1" || { cat "$tmp/ping1"; fail "ping lost packets"; }
ip netns exec "$ns" ping -c 20 -i 0.05 -s 4000 -W 1 10.77.0.2 >"$tmp/ping2" ||
	{ cat "$tmp/ping2" "$tmp/harness.log" >&2; fail "ping -s 4000 failed"; }
grep -q '4008 bytes from 10.77.0.2' "$tmp/ping2" || { cat "$tmp/ping2"; fail "no 4008-byte replies"; }
tail -n 3 "$tmp/ping1" "$tmp/ping2"
if [ -n "${tpid:-}" ]; then
	sleep 0.5
	kill -INT "$tpid"; wait "$tpid" 2>/dev/null; tpid=
	n=$(tshark -r "$tmp/cap.pcap" 2>/dev/null | wc -l)
	bad=$(tshark -r "$tmp/cap.pcap" -Y '_ws.malformed || _ws.expert.severity >= "error"' 2>/dev/null | wc -l)
	replies=$(tshark -r "$tmp/cap.pcap" -Y 'icmp.type == 0 && ip.src == 10.77.0.2' 2>/dev/null | wc -l)
	echo "tshark: $n frames, $bad malformed, $replies echo replies"
	[ "$n" -ge 240 ] || fail "capture too short ($n frames)"
	[ "$bad" -eq 0 ] || fail "tshark flags $bad frames"
	[ "$replies" -ge 120 ] || fail "only $replies echo replies decoded"
fi
kill "$hpid"; wait "$hpid"; rc=$?; hpid=
[ $rc -eq 0 ] || { cat "$tmp/harness.log" >&2; fail "harness exit $rc"; }
echo "PASS"
