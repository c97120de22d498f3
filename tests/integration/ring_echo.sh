#!/usr/bin/env bash
# Two processes joined through the store and the handshake exchange 10
# million request/response pairs; each response is checked against its
# request by the frontend (ringecho exits non-zero otherwise).
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 10000000 1000000)
out=$("$BIN/ringecho" --pairs "$n" 2>&1) || { echo "$out"; fail "ringecho exited $?"; }
echo "$out"
echo "$out" | grep -q "^ringecho: $n pairs in .* 0 lost, 0 answered twice, 1 connections" \
	|| fail "unexpected summary"
