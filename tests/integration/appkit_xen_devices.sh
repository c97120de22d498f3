#!/usr/bin/env bash
# ak_main's MORGANA_DEVICES=xen (deploy mode in a domU): the domain's own
# device/vif/<n> as xl writes it (no name or signature key) is taken in
# order.  Over a ringstore: with only device/vif/3 (no name), dev mode
# finds no device 'net0' and exits 1, xen mode takes vif 3 and starts its
# handshake there (writes device/vif/3/state); with no vif at all, xen
# mode exits 1 saying the domain has none.
set -u
. "$(dirname "$0")/_lib.sh"
A=$BUILD/tests/lib/net_akping
R=$BUILD/bin/ringstore
[ -x "$A" ] && [ -x "$R" ] || fail "build first"
tmp=$(mktemp -d)
cleanup() {
	[ -n "${apid:-}" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	[ -n "${spid:-}" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
S=$tmp/s.sock
"$R" "$S" 2>"$tmp/store.log" &
spid=$!
for _ in $(seq 50); do [ -S "$S" ] && break; sleep 0.1; done
[ -S "$S" ] || fail "ringstore did not start"
export XENSTORED_PATH=$S
MORGANA_DEVICES=xen timeout 10 "$A" >/dev/null 2>"$tmp/none.log"
[ $? -eq 1 ] || fail "xen mode without a vif: expected exit 1"
grep -q "device 'net0' is vif number 0, but the domain has 0 under device/vif" "$tmp/none.log" ||
	fail "xen mode without a vif: $(cat "$tmp/none.log")"
"$R" write "$S" /local/domain/0/device/vif/3/backend /local/domain/0/backend/vif/0/3 || fail "write"
"$R" write "$S" /local/domain/0/device/vif/3/backend-id 0 || fail "write"
timeout 10 "$A" >/dev/null 2>"$tmp/dev.log"
[ $? -eq 1 ] || fail "dev mode with an unnamed vif: expected exit 1"
grep -q "no device named 'net0'" "$tmp/dev.log" || fail "dev mode: $(cat "$tmp/dev.log")"
"$R" read "$S" /local/domain/0/device/vif/3/state >/dev/null 2>&1 && fail "state before the app ran"
MORGANA_DEVICES=xen "$A" >/dev/null 2>"$tmp/xen.log" &
apid=$!
for _ in $(seq $(scale 50 200)); do
	"$R" read "$S" /local/domain/0/device/vif/3/state >/dev/null 2>&1 && break
	sleep 0.1
done
"$R" read "$S" /local/domain/0/device/vif/3/state >/dev/null 2>&1 ||
	fail "xen mode did not take device/vif/3: $(cat "$tmp/xen.log")"
kill -0 "$apid" || fail "xen mode exited: $(cat "$tmp/xen.log")"
exit 0
