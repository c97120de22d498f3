#!/usr/bin/env bash
# The backend is killed with SIGKILL mid-stream, three times, and restarted.
# The frontend reconnects each time and resubmits what was in flight; at the
# end no request was lost or answered twice.
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 20000000 2000000)
out=$("$BIN/ringecho" --pairs "$n" --kill-backend 3 --kill-every-ms 150 2>&1) \
	|| { echo "$out"; fail "ringecho exited $?"; }
echo "$out"
line=$(echo "$out" | grep "^ringecho: $n pairs") || fail "no summary"
echo "$line" | grep -q " 0 lost, 0 answered twice," || fail "lost or duplicated"
conns=$(echo "$line" | sed -n 's/.* \([0-9]*\) connections$/\1/p')
kills=$(echo "$out" | grep -c 'msg="killing backend"')
[ "$kills" -ge 1 ] || fail "the backend was never killed mid-stream (run too short?)"
[ "$conns" -ge $((kills + 1)) ] || fail "$kills kills but only $conns connections"
echo "ok: $kills kills, $conns connections"
