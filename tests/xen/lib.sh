# Helpers for the dom0 side of the lab scenarios (busybox sh).  Sourced by
# each scenario's dom0-test from /lab/lib.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
say() { echo "LAB: $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
# waitlog FILE PATTERN SECONDS: wait until FILE has a line matching PATTERN.
waitlog() {
  i=0
  while [ "$i" -lt $(($3 * 5)) ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}
# xsread PATH: xenstore-read, empty if absent.
xsread() { xenstore-read "$1" 2>/dev/null; }
# waitstate PATH STATE SECONDS
waitstate() {
  i=0
  while [ "$i" -lt $(($3 * 5)) ]; do
    [ "$(xsread "$1")" = "$2" ] && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}
# guestcfg NAME MAC MEM: an xl config for the lab guest with one vif.
guestcfg() {
  cat >/tmp/$1.cfg <<CFG
name = "$1"
type = "pv"
kernel = "/vmlinuz"
ramdisk = "/domu.cpio.gz"
extra = "console=hvc0 quiet"
memory = $3
vif = [ 'mac=$2,script=/etc/xen/scripts/vif-null' ]
on_poweroff = "destroy"
CFG
  echo /tmp/$1.cfg
}
domid_of() { xl domid "$1" 2>/dev/null; }
# mibps BYTES SECONDS
mibps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.2f", b / 1048576 / s }'; }
