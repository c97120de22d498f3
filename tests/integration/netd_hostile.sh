#!/usr/bin/env bash
# Hostile frontends against netd (vswitch): each crafted violation gets
# netback's outcome (fatal: one log line naming the frontend and it is
# disconnected; drop: an ERROR response and it stays connected; ok: OKAY),
# while two good frontends keep streaming through the same netd.
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] || fail "build first"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
n=$(scale 20000 5000)
for mode in crosspage short slots19 slots20 oversize zerofrag extra gso0 \
	    incomplete gref index rxgref; do
	"$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" \
		--scenario hostile --hostile "$mode" --frames "$n" >"$out" 2>&1 ||
		{ cat "$out"; fail "mode $mode"; }
	lines=$(grep -c 'msg="frontend disconnected".*frontend=4 ' "$out")
	case $mode in
	crosspage|slots20|extra|gso0|incomplete|index|rxgref) want=1 ;;
	*) want=0 ;;
	esac
	[ "$lines" -eq "$want" ] || { cat "$out"; fail "mode $mode: $lines disconnect lines, want $want"; }
	grep -q 'msg="frontend disconnected".*frontend=[23] ' "$out" &&
		{ cat "$out"; fail "mode $mode: a good frontend was disconnected"; }
	[ "$(grep -c "sent $n received $n frames" "$out")" -eq 2 ] ||
		{ cat "$out"; fail "mode $mode: good frontends did not finish"; }
	echo "$mode: ok ($(grep -o 'why="[^"]*"' "$out" | head -1))"
done
echo PASS
