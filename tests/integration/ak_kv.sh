#!/usr/bin/env bash
# appkit's KV frontend through compose and kvd: examples/kvcat reads a
# small value, a 100 KB value (larger than one request's pages: read in
# parts) byte for byte, lists dictionaries, does the same from a pack store
# and a tar archive (configure --kv_ro pack|tar), and keeps reading
# correctly while kvd is
# SIGKILLed twice and restarted (it reconnects and resubmits).
set -u
. "$(dirname "$0")/_lib.sh"
C=$(cd "$BIN" && pwd)/compose
KVD=$(cd "$BIN" && pwd)/kvd
[ -x "$C" ] && [ -x "$KVD" ] || skip "compose or kvd not built"
tmp=$(mktemp -d /tmp/ak-kv-test.XXXXXX)
cleanup() {
	(cd "$tmp/kvcat" 2>/dev/null && "$C" down >/dev/null 2>&1)
	pkill -9 -f "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r examples/kvcat "$tmp/kvcat"
cd "$tmp/kvcat"
rm -rf _build .morgana
head -c 100000 /dev/urandom >files/big.bin
unset KVCAT_PATH KVCAT_OUT KVCAT_LOOP

for store in dir pack tar; do
	"$C" configure --kv_ro "$store" >/dev/null && "$C" build >/dev/null || fail "$store: configure/build"
	KVCAT_PATH=hello.txt "$C" up --no-color >out 2>err || fail "$store: up: $(tail -3 err)"
	grep -qx 'kvcat | Morgana reads this through kvd.' out || fail "$store: small value: $(cat out)"
	rm -f got.bin
	KVCAT_PATH=big.bin KVCAT_OUT=$PWD/got.bin "$C" up --no-color >/dev/null 2>&1 || fail "$store: big value"
	cmp -s files/big.bin got.bin || fail "$store: the 100 KB value differs"
	KVCAT_PATH= "$C" up --no-color >out 2>/dev/null || fail "$store: list"
	[ "$(grep -c '^kvcat | \(big.bin\|docs/\|hello.txt\)$' out)" -eq 3 ] || fail "$store: listing: $(cat out)"
	KVCAT_PATH=docs "$C" up --no-color >out 2>/dev/null || fail "$store: list docs"
	grep -qx 'kvcat | readme.txt' out || fail "$store: sub-listing: $(cat out)"
	# A key kvd would refuse fails at once, not by reconnecting forever.
	KVCAT_PATH=../etc timeout 10 "$C" up --no-color >out 2>&1
	grep -q 'kvcat exited (exit status 1)' out || fail "$store: bad key: $(tail -3 out)"
	echo "ok: $store"
done

# kvd killed twice while kvcat reads the big value in a loop.
"$C" configure >/dev/null && "$C" build >/dev/null || fail "reconfigure"
rm -f got.bin
KVCAT_PATH=big.bin KVCAT_LOOP=$(scale 100000 20000) KVCAT_OUT=$PWD/got.bin "$C" up --no-color >out 2>err &
up=$!
for kill in 1 2; do
	for i in $(seq 100); do grep -q "generation=$kill" out && break; sleep 0.05; done
	sleep 0.2
	pkill -9 -f "$KVD serve" || fail "no kvd to kill"
done
wait $up || fail "up exited $? after the kills: $(tail -5 err)"
cmp -s files/big.bin got.bin || fail "value differs after the kills"
grep -q 'generation=3' out || fail "kvcat did not reconnect twice: $(grep kv out)"
echo "ok: two kvd kills, $(grep -c 'kv connected' out) connections, every read identical"
