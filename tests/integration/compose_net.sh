#!/usr/bin/env bash
# A NET device end to end through compose: examples/ping (devices: net0:
# NET, {impl: netd, backend: tap, ifname: mping0}) configured, built and
# brought up with `compose up -d --wait` inside a network namespace; the
# toolstack's mac and mtu keys reach the application; the kernel pings it
# through the tap; `compose down` leaves nothing behind.
set -u
. "$(dirname "$0")/_lib.sh"
C=$(cd "$BIN" && pwd)/compose
[ -x "$C" ] && [ -x "$BIN/netd" ] || skip "compose or netd not built"
command -v ip >/dev/null || skip "no iproute2"
command -v ping >/dev/null || skip "no ping"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ns=composenet$$
tmp=$(mktemp -d /tmp/compose-net.XXXXXX)
cleanup() {
	(cd "$tmp/ping" 2>/dev/null && ip netns exec "$ns" "$C" down >/dev/null 2>&1)
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
ip netns exec "$ns" ip link set lo up
cp -r examples/ping "$tmp/ping"
cd "$tmp/ping"
rm -rf _build .morgana
"$C" configure >/dev/null && "$C" build >/dev/null || fail "configure/build"
unset PING_IP
ip netns exec "$ns" "$C" up -d --wait >"$tmp/up" 2>&1 || fail "up: $(cat "$tmp/up")"
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev mping0 || fail "no tap mping0"
ip netns exec "$ns" ping -c 20 -i 0.02 -W 1 10.77.0.2 >"$tmp/ping1" ||
	{ cat "$tmp/ping1"; "$C" logs; fail "ping through compose failed"; }
grep -q ' 0% packet loss' "$tmp/ping1" || fail "lost packets: $(cat "$tmp/ping1")"
tail -n 2 "$tmp/ping1"
"$C" ps | grep -E '^ping +ready' || fail "ps: $("$C" ps)"
"$C" logs ping | grep -q 'msg="net connected" device=vif/0 .*mac=02:6d:.* mtu=1500' ||
	fail "the toolstack's mac/mtu did not reach the app: $("$C" logs ping)"
ip netns exec "$ns" "$C" down >/dev/null || fail "down"
[ -z "$(ls .morgana/run 2>/dev/null | grep sock)" ] || fail "sockets left behind"
for _ in $(seq 50); do ip netns exec "$ns" ip link show mping0 >/dev/null 2>&1 || break; sleep 0.1; done
ip netns exec "$ns" ip link show mping0 >/dev/null 2>&1 && fail "the tap outlived netd"
echo "ok: compose up a NET device, ping through it, down"
