#!/usr/bin/env bash
# The www engine under real curl: tests/lib/www_files (a test harness
# serving examples/www/files and tmpl over host sockets on 127.0.0.1)
# answers the default site: home page (612 bytes), a wrapped page, CSS,
# 304, 206, 416, 404, 400 on traversal, HEAD, 301, keep-alive reuse.
set -u
BUILD=${BUILD:-build}
bin=$BUILD/tests/lib/www_files
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
[ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$bin" --title Morgana >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q READY "$tmp/out" && break; sleep 0.05; done
port=$(sed -n 's/^READY port=//p' "$tmp/out")
[ -n "$port" ] || { echo "FAIL: harness did not start"; cat "$tmp/err"; exit 1; }
u=http://127.0.0.1:$port
fails=0
check() { # what expected actual
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2' got '$3'"; fails=$((fails+1)); fi
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check "home 200"        200 "$(code "$u/")"
check "home 612 bytes"  612 "$(curl -s "$u/" | wc -c)"
check "home title"      1   "$(curl -s "$u/" | grep -c '<title>Morgana</title>')"
check "about wrapped"   1   "$(curl -s "$u/about.html" | grep -c '<footer>/about.html</footer>')"
check "css type"        "text/css; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' "$u/css/site.css")"
check "svg type"        "image/svg+xml" "$(curl -s -o /dev/null -w '%{content_type}' "$u/img/logo.svg")"
check "css bytes"       "$(wc -c < examples/www/files/css/site.css)" "$(curl -s "$u/css/site.css" | wc -c)"
check "404"             404 "$(code "$u/missing.txt")"
check "traversal 400"   400 "$(code --path-as-is "$u/../../etc/passwd")"
check "encoded 400"     400 "$(code --path-as-is "$u/%2e%2e/%2e%2e/etc/passwd")"
check "dir 301"         301 "$(code "$u/docs")"
check "docs index"      200 "$(code "$u/docs/")"
check "range 206"       206 "$(code -r 0-3 "$u/robots.txt")"
check "range body"      "User" "$(curl -s -r 0-3 "$u/robots.txt")"
check "range 416"       416 "$(code -r 9999- "$u/robots.txt")"
lm=$(curl -sI "$u/css/site.css" | sed -n 's/^Last-Modified: //p' | tr -d '\r')
check "304"             304 "$(code -H "If-Modified-Since: $lm" "$u/css/site.css")"
check "HEAD length"     "Content-Length: 612" "$(curl -sI "$u/" | grep -i '^content-length' | tr -d '\r')"
check "HEAD no body"    0 "$(curl -s -I "$u/" -o /dev/null -w '%{size_download}')"
check "POST 405"        405 "$(code -X POST -d x "$u/")"
check "HTTP/1.0"        200 "$(code -0 "$u/")"
# Two requests on one connection: curl reuses it (one connect).
check "keep-alive"      1 "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$u/" "$u/css/site.css" | awk '{s+=$1} END{print s}')"
[ $fails -eq 0 ] || { cat "$tmp/err"; exit 1; }
echo "all ok"
