#!/usr/bin/env bash
# examples/www under wrk: 100 connections for 10 s (20 for 3 s under
# MORGANA_TEST_SCALE=asan) against the home page, then a 1 MiB file: no
# socket error, no non-2xx answer, and the site answers afterwards.
set -u
. tests/integration/_www_lib.sh
command -v wrk >/dev/null || skip "no wrk (make deps)"
head -c 1048576 /dev/urandom >files/big.bin
www_up
conns=$(scale 100 20) secs=$(scale 10 3)
run_wrk() { # url label
	local out
	out=$(wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s "$1" 2>&1)
	echo "$out" | sed "s/^/$2: /"
	echo "$out" | grep -q 'Socket errors' && fail "$2: socket errors"
	echo "$out" | grep -q 'Non-2xx' && fail "$2: non-2xx answers"
	local n; n=$(echo "$out" | awk '/requests in/ { print $1 }')
	[ "${n:-0}" -gt 0 ] || fail "$2: no requests completed"
}
run_wrk "$U/" home
conns=$(scale 20 5) run_wrk "$U/big.bin" big
[ "$(code "$U/")" = 200 ] || fail "no answer after the load"
cmp -s files/big.bin <(curl -s "$U/big.bin") || fail "big.bin differs"
grep -a 'level=error' "$RUN"/logs/*.log && fail "errors logged"
echo "all ok"
