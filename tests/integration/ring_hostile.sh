#!/usr/bin/env bash
# A hostile frontend (garbage indices, an overflowing req_prod, a ref outside
# its grants, a range past its page, a bogus ring-ref) is disconnected by the
# backend with one log line, while a well-behaved frontend served by the same
# backend process completes all its requests.
set -u
. "$(dirname "$0")/_lib.sh"
n=$(scale 2000000 200000)
for mode in index overflow gref len ringref; do
	out=$("$BIN/ringecho" --pairs "$n" --hostile "$mode" 2>&1) \
		|| { echo "$out"; fail "$mode: ringecho exited $?"; }
	echo "$out" | grep -q "^ringecho: $n pairs in .* 0 lost, 0 answered twice" \
		|| { echo "$out"; fail "$mode: the good frontend did not complete"; }
	lines=$(echo "$out" | grep 'svc=echo-back' | grep -E 'frontend=3' | grep -cE 'level=warn')
	[ "$lines" -eq 1 ] || { echo "$out"; fail "$mode: expected 1 warning about frontend 3, got $lines"; }
	echo "ok: $mode: $(echo "$out" | grep 'svc=echo-back' | grep 'frontend=3' | grep 'level=warn')"
done
