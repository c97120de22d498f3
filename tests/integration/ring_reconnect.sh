#!/usr/bin/env bash
# The backend is killed with SIGKILL mid-stream, three times, and restarted.
# The frontend reconnects each time and resubmits what was in flight; at the
# end no request was lost or answered twice.
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 400000000 100000000)
out=$("$BIN/ringecho" --pairs "$n" --kill-backend 3 --kill-every-ms 150 2>&1) \
	|| { echo "$out"; fail "ringecho exited $?"; }
echo "$out" | grep -v progress
line=$(echo "$out" | grep "^ringecho: ") || fail "no summary"
echo "$line" | grep -q " 0 lost, 0 answered twice, 4 connections" \
	|| fail "expected no loss, no duplicate and 4 connections (3 kills)"
[ "$(echo "$out" | grep -c 'msg="killing backend"')" -eq 3 ] || fail "expected 3 kills"
[ "$(echo "$out" | grep -c 'resubmitted=')" -eq 4 ] || fail "expected 4 connects"
