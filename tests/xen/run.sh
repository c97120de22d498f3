#!/usr/bin/env bash
# make test-xen: run deploy-mode scenarios on real Xen in ../shared/xen-lab
# (Xen 4.17 under QEMU).  Each scenario is one boot of the lab, built from
# tests/xen/<scenario>/{dom0-test,domu-run,domu-bins,no-kernel-netback,
# prepare} and the
# project's binaries built against libring's Xen transport.
#
# usage: tests/xen/run.sh [scenario...]      (default: every test scenario)
# env:   BUILD (default build), XENLAB (the lab scripts; default
#        ../shared/xen-lab next to the repository), XEN_BULK_MB (50),
#        XEN_BENCH_MB (20: MiB each way in the bench scenario),
#        XEN_BOOT_TIMEOUT (seconds per boot, default 900)
# Exit 0 if every scenario passed, 1 if one failed, 77 if the lab cannot
# be built on this machine (the reason is printed).
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
XENLAB=${XENLAB:-$(cd .. && pwd)/shared/xen-lab}
[ -d "$XENLAB" ] || XENLAB=/work/shared/xen-lab
MB=${XEN_BULK_MB:-50}
BMB=${XEN_BENCH_MB:-20}
T=${XEN_BOOT_TIMEOUT:-900}
skip() { echo "test-xen: SKIP: $*" >&2; echo "0 passed, 0 failed, 1 skipped"; exit 77; }

[ -x "$XENLAB/mklab.sh" ] && [ -x "$XENLAB/boot.sh" ] || skip "no Xen lab scripts at $XENLAB (set XENLAB)"
# The lab's Debian packages (QEMU, Xen 4.17, a kernel, busybox): installs
# what is missing, as root; a no-op when all are there.
if [ "$(id -u)" = 0 ]; then
  "$XENLAB/mklab.sh" --deps >"${TMPDIR:-/tmp}/test-xen-deps.log" 2>&1 ||
    skip "mklab.sh --deps failed (see ${TMPDIR:-/tmp}/test-xen-deps.log)"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (run $XENLAB/mklab.sh --deps as root)"
ls /boot/xen-4.17*.gz >/dev/null 2>&1 || skip "no Xen 4.17 hypervisor in /boot (run $XENLAB/mklab.sh --deps as root)"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (run $XENLAB/mklab.sh --deps as root)"
[ -x "$BUILD/xen/bin/netd" ] || { echo "test-xen: $BUILD/xen/bin/netd is not built (make)" >&2; exit 1; }

scenarios=("$@")
# Default: every scenario but the benchmarks (marked not-a-test; run them
# by name, or with bench/xen_netback.sh).
[ ${#scenarios[@]} -gt 0 ] || scenarios=($(cd tests/xen && for d in */; do
  [ -x "$d/dom0-test" ] && [ ! -e "$d/not-a-test" ] && echo "${d%/}"; done))
pass=0 failed=0
for sc in "${scenarios[@]}"; do
  src=tests/xen/$sc
  out=$BUILD/xenlab/$sc
  rm -rf "$out"; mkdir -p "$out/dom0/lab/bin" "$out/domu/lab/bin"
  cp tests/xen/lib.sh "$out/dom0/lab/lib.sh"
  cp "$src/dom0-test" "$out/dom0/lab/dom0-test"
  [ -f "$src/domu-run" ] && cp "$src/domu-run" "$out/domu/lab/domu-run"
  [ -n "${XEN_LAB_EXTRA:-}" ] && for f in $XEN_LAB_EXTRA; do touch "$out/dom0/lab/$f"; done
  [ -f "$src/no-kernel-netback" ] && touch "$out/dom0/lab/no-kernel-netback"
  for r in dom0 domu; do echo "$MB" >"$out/$r/lab/bulk-mb"; echo "$BMB" >"$out/$r/lab/bench-mb"; done
  cp "$BUILD/xen/bin/netd" "$out/dom0/lab/bin/"
  [ -f "$src/domu-bins" ] && for b in $(cat "$src/domu-bins"); do cp "$BUILD/$b" "$out/domu/lab/bin/"; done
  # A scenario may prepare more files for the roots (compose-up: a project
  # configured with compose for target xen).
  if [ -x "$src/prepare" ] && ! BUILD=$BUILD "$src/prepare" "$out" >"$out/prepare.log" 2>&1; then
    tail -5 "$out/prepare.log" | sed 's/^/  /'
    echo "test-xen: FAIL $sc: prepare failed (see $out/prepare.log)"; failed=$((failed + 1)); continue
  fi
  t0=$(date +%s)
  if ! "$XENLAB/mklab.sh" "$out/lab" --dom0 "$out/dom0" --domu "$out/domu" >"$out/mklab.log" 2>&1; then
    tail -5 "$out/mklab.log" >&2
    skip "mklab.sh failed for $sc (see $out/mklab.log)"
  fi
  "$XENLAB/boot.sh" "$out/lab" "$out/serial.log" "$T"
  rc=$?
  t1=$(date +%s)
  grep -a '^LAB: \|^BENCH ' "$out/serial.log" | grep -av '^LAB: ----\|netd: ' | sed "s/^/  [$sc] /"
  grep -a '^BENCH ' "$out/serial.log" | tr -d '\r'
  if [ $rc -eq 0 ]; then
    echo "test-xen: PASS $sc ($((t1 - t0))s)"; pass=$((pass + 1))
  else
    echo "test-xen: FAIL $sc rc=$rc ($((t1 - t0))s); serial log: $out/serial.log"
    grep -a 'FAIL-REASON\|netd: .*level=\(warn\|error\)' "$out/serial.log" | head -20 | sed 's/^/  /'
    failed=$((failed + 1))
  fi
done
echo "$pass passed, $failed failed, 0 skipped"
[ $failed -eq 0 ]
