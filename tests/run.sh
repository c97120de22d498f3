#!/usr/bin/env bash
# Runs every unit test ($BUILD/tests/unit/test_*) and integration script
# (tests/integration/*.sh), each under a timeout.  Exit 77 means skipped.
# Prints one line per test and ends with "N passed, N failed, N skipped".
# Usage: tests/run.sh [filter-substring]
set -u
BUILD=${BUILD:-build}
export BUILD
TIMEOUT=${TEST_TIMEOUT:-300}
filter=${1:-}
logdir=$BUILD/test-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()
run_one() { # name cmd...
	local name=$1; shift
	case $name in *"$filter"*) ;; *) return ;; esac
	local log=$logdir/${name//\//_}.log t0 t1 rc
	t0=$(date +%s.%N)
	timeout --kill-after=10 "$TIMEOUT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	t1=$(date +%s.%N)
	local dt; dt=$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")
	case $rc in
	0)  pass=$((pass+1)); printf 'PASS  %-40s %6ss\n' "$name" "$dt" ;;
	77) skip=$((skip+1)); printf 'SKIP  %-40s %6ss  %s\n' "$name" "$dt" "$(grep -m1 -i 'skip' "$log" | cut -c1-100)" ;;
	*)  fail=$((fail+1)); failed+=("$name")
	    [ $rc -eq 124 ] && echo "(timed out after ${TIMEOUT}s)" >>"$log"
	    printf 'FAIL  %-40s %6ss  (exit %d, log %s)\n' "$name" "$dt" "$rc" "$log"
	    tail -n 30 "$log" | sed 's/^/    | /' ;;
	esac
}
for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case $t in *.o|*.d) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/[!_]*.sh; do
	[ -f "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
