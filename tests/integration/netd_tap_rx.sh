#!/usr/bin/env bash
# netd --backend tap, receive side under overload: in a fresh network
# namespace a packet socket floods the tap with 64-byte frames for 1 s
# (more than netd and the counting frontend behind it can take), then
# sends 500 marked frames slowly.  netd must stop reading while its
# frontend's queue is full (the excess waits and is dropped in the tun
# queue, not read and dropped by netd: its own rx_dropped stays under a
# tenth of what it delivered) and read again afterwards (all 500 marked
# frames arrive).
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] || fail "build first"
command -v ip >/dev/null || skip "no iproute2"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ns=netdrx$$
tmp=$(mktemp -d)
cleanup() {
	[ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
ip netns exec "$ns" "$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
	--scenario sink --tap nrx0 --ready-file "$tmp/ready" \
	>"$tmp/out" 2>"$tmp/harness.log" &
hpid=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
if [ ! -e "$tmp/ready" ]; then
	cat "$tmp/harness.log" >&2
	grep -q 'cannot open tap' "$tmp/harness.log" && skip "tun unavailable in namespace"
	fail "frontend never connected"
fi
inj="ip netns exec $ns $BUILD/tests/lib/net_inject nrx0"
$inj flood 1 >"$tmp/flood" || fail "flood injection failed"
sleep 0.3
$inj paced 500 1000 >"$tmp/paced" || fail "paced injection failed"
sleep "$(scale 0.5 2)"
drops=$(ip netns exec "$ns" ip -s link show nrx0 | awk '/TX:/ { getline; print $4 }')
kill "$hpid"
wait "$hpid" || { cat "$tmp/harness.log" >&2; fail "harness failed"; }
hpid=
cat "$tmp/flood" "$tmp/paced" "$tmp/out"
got=$(sed -n 's/^rate: sink .* (\([0-9]*\) frames)$/\1/p' "$tmp/out")
marked=$(sed -n 's/^marked: \([0-9]*\)$/\1/p' "$tmp/out")
nd=$(grep -o 'rx_dropped=[0-9]*' "$tmp/harness.log" | cut -d= -f2)
echo "received=$got marked=$marked netd_rx_dropped=$nd tun_dropped=$drops"
[ -n "$got" ] && [ -n "$marked" ] && [ -n "$nd" ] || fail "no counters"
[ "$(grep -c '^sent 500$' "$tmp/paced")" -eq 1 ] || fail "paced frames not all sent"
[ "$marked" -eq 500 ] || fail "netd did not resume reading: $marked of 500 marked frames arrived"
[ "$nd" -le $((got / 10)) ] || fail "netd read and dropped $nd frames (delivered $got)"
[ "${drops:-0}" -gt 0 ] || echo "note: the flood never filled the tun queue"
echo PASS
