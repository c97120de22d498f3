#!/usr/bin/env bash
# examples/www through compose (--net=socket --kv_ro=dir, as make up), with
# curl: the home page rendered with the `title` key, HEAD, Range, 416,
# If-Modified-Since -> 304, keep-alive (two URLs, one connection), Date
# from the clock, 404/400/301, a missing `keys` store stopping up, and the
# manifest's default (tmpl packed: configure without flags).
set -u
. tests/integration/_www_lib.sh
fails=0
check() { # what expected actual
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2' got '$3'"; fails=$((fails+1)); fi
}

WWW_TITLE="Test & Co" www_up
check "home 200"         200 "$(code "$U/")"
check "title key"        1   "$(curl -s "$U/" | grep -c '<title>Test &amp; Co</title>')"
check "about wrapped"    1   "$(curl -s "$U/about.html" | grep -c '<footer>/about.html</footer>')"
check "css type"         "text/css; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' "$U/css/site.css")"
check "css bytes"        "$(wc -c <files/css/site.css)" "$(curl -s "$U/css/site.css" | wc -c)"
check "HEAD 200"         200 "$(code -I "$U/css/site.css")"
check "HEAD length"      "Content-Length: $(wc -c <files/css/site.css)" "$(curl -sI "$U/css/site.css" | grep -i '^content-length' | tr -d '\r')"
check "HEAD no body"     0   "$(curl -s -I "$U/" -o /dev/null -w '%{size_download}')"
check "range 206"        206 "$(code -r 0-3 "$U/robots.txt")"
check "range body"       "User" "$(curl -s -r 0-3 "$U/robots.txt")"
check "range suffix"     "$(tail -c 5 files/robots.txt | od -An -c)" "$(curl -s -r -5 "$U/robots.txt" | od -An -c)"
check "content-range"    "Content-Range: bytes 0-3/$(wc -c <files/robots.txt)" "$(curl -s -D - -o /dev/null -r 0-3 "$U/robots.txt" | grep -i '^content-range' | tr -d '\r')"
check "range 416"        416 "$(code -r 9999- "$U/robots.txt")"
lm=$(curl -sI "$U/css/site.css" | sed -n 's/^Last-Modified: //p' | tr -d '\r')
check "last-modified"    "$(TZ=GMT date -r files/css/site.css '+%a, %d %b %Y %H:%M:%S GMT')" "$lm"
check "304"              304 "$(code -H "If-Modified-Since: $lm" "$U/css/site.css")"
check "304 no body"      0   "$(curl -s -o /dev/null -w '%{size_download}' -H "If-Modified-Since: $lm" "$U/css/site.css")"
check "older IMS 200"    200 "$(code -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "$U/css/site.css")"
# Two URLs on one connection: curl connects once.
check "keep-alive"       1   "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/" "$U/css/site.css" | awk '{s+=$1} END{print s}')"
check "HTTP/1.0 closes"  2   "$(curl -s -0 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/" "$U/robots.txt" | awk '{s+=$1} END{print s}')"
d=$(curl -sI "$U/" | sed -n 's/^Date: //p' | tr -d '\r')
skew=$(( $(date +%s) - $(date -d "$d" +%s 2>/dev/null || echo 0) ))
check "Date from PCLOCK" 1   "$([ "${skew#-}" -le 5 ] && echo 1 || echo "0 ($d)")"
check "404"              404 "$(code "$U/missing.txt")"
check "traversal 400"    400 "$(code --path-as-is "$U/../../etc/passwd")"
check "dir 301"          301 "$(code "$U/docs")"
check "docs index"       200 "$(code "$U/docs/")"
check "POST 405"         405 "$(code -X POST -d x "$U/")"
check "414"              414 "$(code "$U/$(head -c 9000 /dev/zero | tr '\0' a)")"
check "keys read"        1   "$(grep -c 'msg="keys read" values=1' "$RUN/logs/www.log")"
check "URL printed"      1   "$(grep -c "www: serving http://127.0.0.1:$WWW_PORT/" "$RUN/logs/www.log")"
www_down

# The keys store must exist: without it nothing is left running.
mv keys keys.away
"$C" up -d --wait >"$tmp/up2.out" 2>&1
rc=$?
check "no keys: up fails" 1 "$([ $rc -ne 0 ] && echo 1 || echo 0)"
mv keys.away keys
www_down
# The manifest's own choice (tmpl packed at configure time) serves too.
"$C" configure >/dev/null 2>&1 && "$C" build >/dev/null 2>&1 || fail "configure (pack)"
check "tmpl.pack made"   1   "$([ -s _build/tmpl.pack ] && echo 1 || echo 0)"
www_up
check "pack: home"       1   "$(curl -s "$U/" | grep -c '<title>Morgana</title>')"
check "pack: wrapped"    1   "$(curl -s "$U/about.html" | grep -c '<footer>/about.html</footer>')"
www_down
[ $fails -eq 0 ] || { tail -20 "$RUN/logs/www.log"; exit 1; }
echo "all ok"
