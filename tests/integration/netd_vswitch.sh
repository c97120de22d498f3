#!/usr/bin/env bash
# netd --backend vswitch, no root and no kernel networking: three test
# frontends; fronts 0 and 1 exchange N frames each way (lossless, in
# order, payload checked), every broadcast hello reaches every frontend.
set -u
. "$(dirname "$0")/_lib.sh"
[ -x "$BUILD/bin/netd" ] || fail "build first"
n=$(scale 1000000 100000)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BUILD/tests/lib/net_responder" --netd "$BUILD/bin/netd" --scenario stream \
	--fronts 3 --frames "$n" >"$out" 2>&1 || { cat "$out"; fail "stream failed"; }
grep '^front' "$out"
[ "$(grep -c "sent $n received $n frames" "$out")" -eq 2 ] || { cat "$out"; fail "counts"; }
grep -q 'rx_dropped=[1-9]' "$out" && { cat "$out"; fail "netd dropped frames"; }
echo PASS
