#!/usr/bin/env bash
# compose configure --target xen for examples/ping: _build/ping.xl (kernel,
# ramdisk, memory, one vif with the plan's MAC and the hotplug script),
# _build/guest-run (MORGANA_DEVICES=xen, the store at /dev/xen/xenbus), a
# Makefile linking libring-xen.a; compose build links the app against
# Xen's libraries.  Refused: xen options without --target xen, a manifest
# with a non-NET device, a bad --memory; up -d with target xen.
set -u
. tests/integration/_lib.sh
C=$PWD/$BIN/compose
[ -x "$C" ] || skip "compose not built"
[ -f "$BUILD/libring-xen.a" ] || skip "libring-xen.a not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp examples/ping/compose.yaml examples/ping/ping.c "$tmp/"
cd "$tmp"
"$C" configure --target xen --ip=10.9.0.3 --kernel /boot/vmlinuz-x \
	--ramdisk /srv/ping.cpio.gz --memory 64 >out 2>err || fail "configure: $(cat err)"
grep -q "for target xen" out || fail "target not said: $(cat out)"
x=_build/ping.xl
[ -f $x ] || fail "no $x"
grep -qx 'name = "ping"' $x || fail "name: $(cat $x)"
grep -qx 'type = "pv"' $x || fail "type"
grep -qx 'kernel = "/boot/vmlinuz-x"' $x || fail "kernel"
grep -qx 'ramdisk = "/srv/ping.cpio.gz"' $x || fail "ramdisk"
grep -qx 'memory = 64' $x || fail "memory"
grep -Eqx "vif = \[ 'mac=02:6d(:[0-9a-f]{2}){4},script=/etc/xen/scripts/vif-null' \]" $x || fail "vif: $(grep vif $x)"
mac=$(sed -n "s/.*mac=\([0-9a-f:]*\),.*/\1/p" $x)
grep -qx 'target=xen' _build/context || fail "context: $(cat _build/context)"
grep -q 'libring-xen.a' _build/Makefile && grep -q -- '-lxengnttab -lxenevtchn' _build/Makefile || fail "Makefile libs"
[ -x _build/guest-run ] || fail "guest-run not executable"
grep -q 'export MORGANA_DEVICES=xen XENSTORED_PATH=\$XS' _build/guest-run || fail "guest-run env"
sh -n _build/guest-run || fail "guest-run syntax"
# Defaults (the lab's), and the MAC stable across configures.
"$C" configure --target xen >/dev/null 2>err || fail "configure defaults: $(cat err)"
grep -qx 'kernel = "/vmlinuz"' $x && grep -qx 'ramdisk = "/domu.cpio.gz"' $x &&
	grep -qx 'memory = 128' $x || fail "defaults: $(cat $x)"
grep -q "mac=$mac," $x || fail "MAC not stable"
"$C" configure --target xen --ip=10.9.0.3 >/dev/null || fail "reconfigure"
"$C" build >out 2>err || fail "build: $(cat err)"
[ -x _build/ping ] || fail "no binary"
nm _build/ping | grep -q ' T ring_share_grant' || fail "not linked with libring"
ldd _build/ping | grep -q libxengnttab || fail "not linked with libxengnttab: $(ldd _build/ping)"
ldd _build/ping | grep -q libxenevtchn || fail "not linked with libxenevtchn"
# The app on a domain's store: device/vif/0 has no name key (as xl
# writes it); dev mode (default) would not find it, MORGANA_DEVICES=xen
# takes it.  Without a store here both fail to reach one; check the help.
_build/ping --help | grep -q 'MORGANA_DEVICES=xen' || fail "help"
# Refusals.
"$C" configure --memory 64 >/dev/null 2>err; [ $? -eq 2 ] || fail "xen option without --target xen"
grep -q 'are for --target xen' err || fail "message: $(cat err)"
"$C" configure --target xen --memory 4 >/dev/null 2>err; [ $? -eq 2 ] || fail "bad memory"
cp "$OLDPWD/tests/data/manifests/hello.yaml" h.yaml
"$C" -f h.yaml configure --target xen >/dev/null 2>err && fail "TIME device accepted for xen"
grep -q "h.yaml:[0-9]*:[0-9]*: error: device 'time' is not a NET device served by netd" err || fail "refusal: $(cat err)"
"$C" configure --target xen >/dev/null || fail "configure again"
"$C" up -d >/dev/null 2>err; [ $? -eq 2 ] || fail "up -d with target xen"
exit 0
