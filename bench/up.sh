#!/usr/bin/env bash
# compose up for examples/hello: time to every service ready, and resident
# memory of each process while it runs.  Baselines from the same run:
# starting /bin/true (the floor for starting any process), and the RSS of a
# plain `sleep` (the floor for any dynamically linked process).
# Prints BENCH <name> <value> <unit>; medians of REPS runs.
set -u
BUILD=${BUILD:-build}
REPS=${REPS:-9}
C=$(cd "$BUILD/bin" && pwd)/compose
tmp=$(mktemp -d /tmp/bench-up.XXXXXX)
trap '(cd "$tmp" && "$C" down >/dev/null 2>&1); rm -rf "$tmp"' EXIT
cp examples/hello/hello.c examples/hello/compose.yaml "$tmp/"
cd "$tmp"
"$C" configure >/dev/null && "$C" build >/dev/null || { echo "bench/up: cannot build hello" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { echo $(( ($2 - $1) / 1000 )); }	# ns -> µs
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
up=() true_us=() rc=() rh=() rs=() rsl=()
for i in $(seq "$REPS"); do
	t0=$(date +%s%N); /bin/true; t1=$(date +%s%N)
	true_us+=("$(ms "$t0" "$t1")")
	t0=$(date +%s%N)
	"$C" up -d --wait >/dev/null 2>&1 || { echo "bench/up: up failed" >&2; exit 1; }
	t1=$(date +%s%N)
	up+=("$(ms "$t0" "$t1")")
	clockd=$(pgrep -f "$(cd "$OLDPWD/$BUILD/bin" 2>/dev/null && pwd)/clockd" | head -1)
	hello=$(pgrep -f "$tmp/_build/hello" | head -1)
	sup=$(pgrep -f "$C up" | head -1)
	rc+=("$(rss "$clockd")"); rh+=("$(rss "$hello")"); rs+=("$(rss "$sup")")
	sleep 30 & s=$!; sleep 0.05; rsl+=("$(rss "$s")"); kill "$s"
	"$C" down >/dev/null 2>&1
done
u=$(printf '%s\n' "${up[@]}" | median); t=$(printf '%s\n' "${true_us[@]}" | median)
echo "BENCH up_to_ready_ms $(awk "BEGIN{printf \"%.1f\", $u/1000}") ms"
echo "BENCH spawn_true_ms $(awk "BEGIN{printf \"%.2f\", $t/1000}") ms"
echo "BENCH rss_kib_clockd $(printf '%s\n' "${rc[@]}" | median) KiB"
echo "BENCH rss_kib_hello $(printf '%s\n' "${rh[@]}" | median) KiB"
echo "BENCH rss_kib_compose $(printf '%s\n' "${rs[@]}" | median) KiB"
echo "BENCH rss_kib_sleep_baseline $(printf '%s\n' "${rsl[@]}" | median) KiB"
