#!/usr/bin/env bash
# kvd serves a dir store and a pack store at once; two kv_client frontends
# each read both through their rings (list paging, get, get_partial for a
# value larger than one request's pages, digest, exists) and print sha256
# lines that must match the files byte for byte.  Both kvds must exit 0 on
# SIGTERM (checked by the harness).
set -u
. "$(dirname "$0")/_lib.sh"
H=$BUILD/tests/lib/kv_harness
C=$BUILD/tests/lib/kv_client
[ -x "$H" ] && [ -x "$C" ] && [ -x "$BIN/kvd" ] || skip "not built"
tmp=$(mktemp -d /tmp/kvd_serve.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/tree
mkdir -p "$src/css" "$src/img/icons" "$src/empty" "$src/many"
echo "hello" > "$src/index.html"
printf '' > "$src/zero"
head -c 5000 /dev/urandom > "$src/css/site.css"
head -c 4096 /dev/urandom > "$src/img/exact4k"
head -c 32768 /dev/urandom > "$src/img/exact32k"
head -c 100001 /dev/urandom > "$src/img/big.bin"      # > 8 pages
head -c 70000 /dev/urandom > "$src/img/icons/i.png"
for i in $(seq 1 40); do echo "file $i" > "$src/many/name-$i.txt"; done
"$BIN/kvd" pack "$src" "$tmp/site.pack" 2>/dev/null || fail "kvd pack"
mkdir -p "$tmp/run"
"$H" --rundir "$tmp/run" --kvd "$BIN/kvd" --client "$C" \
	--backend "kvdir serve --store dir --path $src" \
	--backend "kvpack serve --store pack --path $tmp/site.pack" \
	--frontend "0,1 dump 0" --frontend "1,0 dump 1" \
	> "$tmp/out1" 2> "$tmp/err" || { cat "$tmp/err"; fail "harness (dev 0/1)"; }
"$H" --rundir "$tmp/run" --kvd "$BIN/kvd" --client "$C" \
	--backend "kvdir serve --store dir --path $src" \
	--backend "kvpack serve --store pack --path $tmp/site.pack" \
	--frontend "0,1 dump 1" --frontend "1,0 dump 0" \
	> "$tmp/out2" 2>> "$tmp/err" || { cat "$tmp/err"; fail "harness (dev 1/0)"; }
(cd "$src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | \
	while read -r f; do sha256sum "$f"; done) > "$tmp/want"
n=$(wc -l < "$tmp/want")
# Each run: two frontends, each dumped one device; both runs together read
# every store from every frontend.
for o in out1 out2; do
	grep -v '^kv_harness' "$tmp/$o" | LC_ALL=C sort > "$tmp/$o.s"
	LC_ALL=C sort "$tmp/want" "$tmp/want" > "$tmp/want2"
	diff "$tmp/want2" "$tmp/$o.s" > "$tmp/diff" || { head -20 "$tmp/diff"; fail "$o differs from the files"; }
done
[ "$(grep -c 'dump ok' "$tmp/err")" -eq 4 ] || fail "not every dump finished"
grep -q 'big=2' "$tmp/err" || fail "big values were not read in parts"
echo "ok: $n files match through dir and pack, two frontends each"
