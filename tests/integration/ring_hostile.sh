#!/usr/bin/env bash
# A hostile frontend (garbage indices, an overflowing req_prod, a ref outside
# its grants, a range past its page, a bogus ring-ref) is disconnected by the
# backend with one log line, while a well-behaved frontend served by the same
# backend process goes on being served after the drop, all answers correct.
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 200000000 50000000)
for mode in index overflow gref len ringref; do
	out=$("$BIN/ringecho" --pairs "$n" --hostile "$mode" 2>&1) \
		|| { echo "$out"; fail "$mode: ringecho exited $?"; }
	sum=$(echo "$out" | grep "^ringecho: ") || { echo "$out"; fail "$mode: no summary"; }
	echo "$sum" | grep -q " 0 lost, 0 answered twice, 1 connections, [0-9]* answered after" \
		|| { echo "$out"; fail "$mode: the good frontend was not served correctly after the drop"; }
	after=$(echo "$sum" | sed -n 's/.*, \([0-9]*\) answered after.*/\1/p')
	[ "$after" -gt 0 ] || { echo "$out"; fail "$mode: nothing answered after the drop"; }
	lines=$(echo "$out" | grep 'svc=echo-back' | grep 'frontend=3' | grep -c 'level=warn')
	[ "$lines" -eq 1 ] || { echo "$out"; fail "$mode: expected 1 warning about frontend 3, got $lines"; }
	echo "ok: $mode: $after answered after the drop; $(echo "$out" | grep 'svc=echo-back' | grep 'frontend=3' | grep 'level=warn')"
done
