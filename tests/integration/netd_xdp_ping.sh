#!/usr/bin/env bash
# netd --backend xdp against the real kernel: a veth pair between two fresh
# network namespaces.  netd (in nsA) opens an AF_XDP socket on nxa0 and
# loads its XDP redirect program there; the kernel side (nsB) has nxb0 at
# 10.77.1.1/24, and the test responder (a netif frontend behind netd)
# answers ARP and ICMP echo for 10.77.1.2.  As netd_tap_ping.sh: ping -c
# 100 -i 0.01 and ping -s 4000 (fragmented both ways) must succeed, and
# tshark (if installed) must decode every frame on nxb0.  Then again with
# --xdp-mode generic.  After each run the interface must carry no XDP
# program (detached on exit), and also after netd is SIGKILLed (the program
# hangs on a bpf_link that dies with the process).  In between, a frontend
# sends frames through netd's AF_XDP tx path and nxb0 must count them all.
# Exit 77 only if the kernel refuses XDP or AF_XDP (netd says so).
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] || fail "build first"
command -v ip >/dev/null || skip "no iproute2"
command -v ping >/dev/null || skip "no ping (apt-get install iputils-ping)"
nsa=netdxa$$
nsb=netdxb$$
tmp=$(mktemp -d)
hpid= tpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$nsa" 2>/dev/null || skip "cannot create a network namespace"
ip netns add "$nsb" || fail "second namespace"
ip link add nxa0 netns "$nsa" type veth peer name nxb0 netns "$nsb" ||
	skip "cannot create a veth pair"
ip -n "$nsa" link set lo up
ip -n "$nsb" link set lo up
ip -n "$nsa" link set nxa0 up
ip -n "$nsb" addr add 10.77.1.1/24 dev nxb0
ip -n "$nsb" link set nxb0 up

# start_netd LABEL [netd args...]: responder + netd on nxa0, wait ready.
start_netd() {
	local label=$1; shift
	local extra=()
	for a in "$@"; do extra+=(--netd-arg "$a"); done
	rm -f "$tmp/ready"
	ip netns exec "$nsa" "$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
		--scenario ping --xdp nxa0 --ip 10.77.1.2 --ready-file "$tmp/ready" \
		"${extra[@]}" 2>"$tmp/$label.log" &
	hpid=$!
	for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
	if [ ! -e "$tmp/ready" ]; then
		cat "$tmp/$label.log" >&2
		# Only the kernel refusing XDP/AF_XDP is a reason to skip.
		if grep -q 'why="the kernel refused' "$tmp/$label.log"; then
			skip "$(grep -o 'why="[^"]*" err=-*[0-9]*' "$tmp/$label.log" | head -1)"
		fi
		fail "$label: responder never connected"
	fi
	grep 'msg="xdp attached"' "$tmp/$label.log" || fail "$label: no mode line"
}

stop_netd() { # label: SIGTERM, harness must exit 0, program detached
	kill "$hpid"; wait "$hpid"; local rc=$?; hpid=
	[ $rc -eq 0 ] || { cat "$tmp/$1.log" >&2; fail "$1: harness exit $rc"; }
	grep -q 'msg="xdp closed"' "$tmp/$1.log" || fail "$1: netd did not close the socket"
	no_prog "$1"
}

no_prog() {
	local i
	for i in $(seq 20); do
		ip -n "$nsa" link show nxa0 | grep -q 'prog/xdp' || return 0
		sleep 0.1
	done
	ip -n "$nsa" link show nxa0
	fail "$1: XDP program still attached"
}

# ping_both LABEL N: ping -c N, then -s 4000.
ping_both() {
	local label=$1 n=$2
	ip netns exec "$nsb" ping -c "$n" -i 0.01 -W 1 10.77.1.2 >"$tmp/$label.p1" ||
		{ cat "$tmp/$label.p1" "$tmp/$label.log" >&2; fail "$label: ping -c $n failed"; }
	grep -q ' 0% packet loss' "$tmp/$label.p1" || { cat "$tmp/$label.p1"; fail "$label: ping lost packets"; }
	ip netns exec "$nsb" ping -c 20 -i 0.05 -s 4000 -W 1 10.77.1.2 >"$tmp/$label.p2" ||
		{ cat "$tmp/$label.p2" "$tmp/$label.log" >&2; fail "$label: ping -s 4000 failed"; }
	grep -q '4008 bytes from 10.77.1.2' "$tmp/$label.p2" || { cat "$tmp/$label.p2"; fail "$label: no 4008-byte replies"; }
	grep -q ' 0% packet loss' "$tmp/$label.p2" || { cat "$tmp/$label.p2"; fail "$label: ping -s 4000 lost packets"; }
	tail -n 3 "$tmp/$label.p1" "$tmp/$label.p2"
}

# 1. auto: native XDP on the veth (copy mode: veth has no zero-copy).
start_netd auto
if command -v tshark >/dev/null; then
	ip netns exec "$nsb" tshark -q -i nxb0 -w "$tmp/cap.pcap" 2>"$tmp/tshark.log" &
	tpid=$!
	# tshark is slow to start: wait until it says it captures.
	for _ in $(seq 100); do
		grep -q 'Capturing on' "$tmp/tshark.log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
else
	echo "tshark not installed: skipping the capture check"
fi
ping_both auto 100
if [ -n "$tpid" ]; then
	sleep 0.5
	kill -INT "$tpid"; wait "$tpid" 2>/dev/null; tpid=
	n=$(tshark -r "$tmp/cap.pcap" 2>/dev/null | wc -l)
	bad=$(tshark -r "$tmp/cap.pcap" -Y '_ws.malformed || _ws.expert.severity >= "error"' 2>/dev/null | wc -l)
	replies=$(tshark -r "$tmp/cap.pcap" -Y 'icmp.type == 0 && ip.src == 10.77.1.2' 2>/dev/null | wc -l)
	echo "tshark: $n frames, $bad malformed, $replies echo replies"
	[ "$n" -ge 240 ] || fail "capture too short ($n frames)"
	[ "$bad" -eq 0 ] || fail "tshark flags $bad frames"
	[ "$replies" -ge 120 ] || fail "only $replies echo replies decoded"
fi
stop_netd auto

# 2. generic (skb) XDP, forced.
start_netd generic --xdp-mode generic
grep -q 'xdp_mode=generic' "$tmp/generic.log" || fail "generic: wrong mode"
ping_both generic "$(scale 50 20)"
stop_netd generic

# 3. zero-copy demanded on a veth: refused cleanly, nothing left behind.
ip netns exec "$nsa" "$BUILD/bin/netd" --backend xdp --ifname nxa0 \
	--xsk-mode zerocopy --link "$tmp/zc.sock" 2>"$tmp/zc.log" &
zpid=$!
for _ in $(seq 50); do kill -0 "$zpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$zpid" 2>/dev/null; then
	# A device with zero-copy: fine too, as long as it says so.
	kill "$zpid"; wait "$zpid"
	grep -q 'xsk_mode=zerocopy' "$tmp/zc.log" || fail "zerocopy: running without saying so"
else
	wait "$zpid"; rc=$?
	[ $rc -ne 0 ] || fail "zerocopy: netd exit 0 without zero-copy"
	grep -q 'msg="xdp backend failed"' "$tmp/zc.log" || { cat "$tmp/zc.log"; fail "zerocopy: no reason logged"; }
fi
no_prog zerocopy

# 4. transmit under load: a frontend blasts frames through netd onto nxa0;
# every one must reach nxb0 (netd's tx path applies backpressure, no drop).
nblast=$(scale 200000 20000)
rxp() { ip netns exec "$nsb" cat /sys/class/net/nxb0/statistics/rx_packets; }
b0=$(rxp)
ip netns exec "$nsa" "$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
	--scenario blast --xdp nxa0 --frames "$nblast" --size 64 \
	>"$tmp/blast.out" 2>"$tmp/blast.log" ||
	{ cat "$tmp/blast.log" >&2; fail "blast: harness failed"; }
sleep 0.3
b1=$(rxp)
echo "blast: $(cat "$tmp/blast.out"); nxb0 got $((b1 - b0)) frames"
[ $((b1 - b0)) -ge "$nblast" ] || fail "blast: only $((b1 - b0)) of $nblast frames reached nxb0"
grep -q "tx_frames=$nblast tx_dropped=0" "$tmp/blast.log" || { cat "$tmp/blast.log"; fail "blast: netd counters"; }
no_prog blast

# 5. netd SIGKILLed: the bpf_link goes with it, the veth is clean.
start_netd killed
npid=$(pgrep -P "$hpid" -x netd) || fail "killed: no netd child"
kill -KILL "$npid"
wait "$hpid"; hpid=
no_prog killed
echo "PASS"
