#!/usr/bin/env bash
# Two processes joined through the store and the handshake exchange 10
# million request/response pairs; each response is checked against its
# request by the frontend (ringecho exits non-zero otherwise).  Under load
# adaptive waiting keeps system calls rare: notifies and sleeps, on each
# side, must stay under one per ten requests (typically one per hundreds).
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 10000000 1000000)
out=$("$BIN/ringecho" --pairs "$n" 2>&1) || { echo "$out"; fail "ringecho exited $?"; }
echo "$out"
echo "$out" | grep -q "^ringecho: $n pairs in .* 0 lost, 0 answered twice, 1 connections" \
	|| fail "unexpected summary"
fe=$(echo "$out" | sed -n 's/^ringecho: frontend made \([0-9]*\) notifies and \([0-9]*\) sleeps.*/\1 \2/p')
be=$(echo "$out" | sed -n 's/.*svc=echo-back msg=stats notifies=\([0-9]*\) sleeps=\([0-9]*\).*/\1 \2/p')
[ -n "$fe" ] && [ -n "$be" ] || fail "no syscall counts"
for side in "frontend $fe" "backend $be"; do
	set -- $side
	[ $(( ($2 + $3) * 10 )) -lt "$n" ] || fail "$1: $2 notifies + $3 sleeps for $n requests"
	echo "ok: $1: $2 notifies + $3 sleeps for $n requests"
done
