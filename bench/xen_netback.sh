#!/usr/bin/env bash
# BENCH xen_kernel_netback_mbps vs xen_netd_netback_mbps: one boot of the
# Xen lab (tests/xen/bench): a guest's Linux netfront sends XEN_BENCH_MB
# (default 20) MiB to dom0 with busybox nc, first through Linux's
# xen-netback, then (netback unloaded) through netd.  Software emulation:
# only the ratio of the two, from the same boot, means anything.  Takes a
# few minutes; prints a SKIP line (and succeeds) where the lab cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/xen/bin/netd" >/dev/null || exit 1
out=$(BUILD=$BUILD tests/xen/run.sh bench 2>&1)
rc=$?
grep '^BENCH ' <<<"$out"
case $rc in
0) exit 0 ;;
77) echo "SKIP xen_netback: $(grep -m1 SKIP <<<"$out")"; exit 0 ;;
*) echo "$out" | tail -20 >&2; exit 1 ;;
esac
