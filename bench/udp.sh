#!/usr/bin/env bash
# UDP echo through tcpipd (feature-x-dgram): a host client keeps W
# datagrams of N bytes in flight against the ak_main echo app
# (tests/lib/pvcalls_akudp) behind tcpipd, and, as the baseline in the
# same run, against an echo server on a plain host socket
# (udp_client --selfecho).  Runs alternate; medians of REPS.
# Prints BENCH <name> <value> <unit>.
set -u
BUILD=${BUILD:-build}
REPS=${REPS:-5}
SECS=${SECS:-2}
H=$BUILD/tests/lib/pvcalls_echo A=$BUILD/tests/lib/pvcalls_akudp C=$BUILD/tests/lib/udp_client
for b in "$H" "$A" "$C" "$BUILD/bin/tcpipd"; do
	[ -x "$b" ] || { echo "bench/udp: $b not built (make)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/bench-udp.XXXXXX)
hpid=
trap '[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))
"$H" --tcpipd "$BUILD/bin/tcpipd" --rundir "$tmp" --port "$port" \
	--allow "127.0.0.1:$port" --front "$A" > "$tmp/out" 2> "$tmp/err" &
hpid=$!
for _ in $(seq 1 200); do grep -q '^akudp: connected' "$tmp/out" && break; sleep 0.05; done
grep -q '^akudp: connected ok' "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { "$C" "$@" --bench "$SECS" | awk '/^udp_echo_per_s/ {print $2}'; }
run() { # name size window
	local ours=() base=() o b
	for _ in $(seq "$REPS"); do
		ours+=("$(rate --port "$port" --size "$2" --window "$3")")
		base+=("$(rate --selfecho --size "$2" --window "$3")")
	done
	o=$(printf '%s\n' "${ours[@]}" | median)
	b=$(printf '%s\n' "${base[@]}" | median)
	echo "BENCH udp_echo_${1}_tcpipd $o datagrams/s"
	echo "BENCH udp_echo_${1}_host $b datagrams/s"
	echo "BENCH udp_echo_${1}_ratio $(awk "BEGIN{printf \"%.2f\", $o/$b}") x"
}
run 64B_w1 64 1
run 64B_w32 64 32
run 1472B_w32 1472 32
run 64KiB_w2 65507 2
