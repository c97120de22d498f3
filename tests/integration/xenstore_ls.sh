#!/usr/bin/env bash
# Xen's own client tools (Debian xenstore-utils) against build/bin/ringstore:
# keys written with our client show up exactly in xenstore-ls, and the
# tools' reads, writes, lists, removals and watches work.  Exit 77 to skip.
set -u
BUILD=${BUILD:-build}
RS=$BUILD/bin/ringstore
command -v xenstore-ls >/dev/null || { echo "SKIP: xenstore-ls missing (apt install xenstore-utils)"; exit 77; }
[ -x "$RS" ] || { echo "FAIL: $RS not built"; exit 1; }

tmp=$(mktemp -d)
sock=$tmp/store.sock
pid= wpid=
cleanup() {
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && sed 's/^/  log: /' "$tmp/log"; exit 1; }

"$RS" --help | grep -q usage || fail "--help"

# Readiness through NOTIFY_FD, sd_notify style.
exec 9>"$tmp/notify"
NOTIFY_FD=9 "$RS" "$sock" 2>"$tmp/log" &
pid=$!
exec 9>&-
for _ in $(seq 100); do grep -q READY=1 "$tmp/notify" && break; sleep 0.05; done
grep -q READY=1 "$tmp/notify" || fail "no READY=1"
grep -q 'msg="ready"' "$tmp/log" || fail "no ready log line"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")"

"$RS" write "$sock" /vm/name web || fail "ringstore write"
"$RS" write "$sock" /vm/dev/vif/0/state 4 || fail "ringstore write"
"$RS" write "$sock" /vm/dev/vif/0/mac "aa:bb:cc:dd:ee:ff" || fail "ringstore write"

export XENSTORED_PATH=$sock
T="timeout 10"
got=$($T xenstore-ls /) || fail "xenstore-ls rc=$?"
want='vm = ""
 name = "web"
 dev = ""
  vif = ""
   0 = ""
    state = "4"
    mac = "aa:bb:cc:dd:ee:ff"'
[ "$got" = "$want" ] || fail "xenstore-ls shows:
$got"
[ "$($T xenstore-read /vm/name)" = web ] || fail "xenstore-read"
$T xenstore-write /vm/x 1 /vm/y 2 || fail "xenstore-write"
[ "$("$RS" read "$sock" /vm/y)" = 2 ] || fail "our client doesn't see xenstore-write"
[ "$($T xenstore-list /vm | tr '\n' ' ')" = "name dev x y " ] || fail "xenstore-list: $($T xenstore-list /vm)"
$T xenstore-read /vm/nope 2>/dev/null && fail "reading a missing key succeeded"
$T xenstore-rm /vm/x || fail "xenstore-rm"
"$RS" read "$sock" /vm/x 2>/dev/null && fail "xenstore-rm didn't remove"
$T xenstore-ls -p /vm/dev | grep -q '(n0)' || fail "xenstore-ls -p"

# xenstore-watch: the immediate event, then ours.
$T xenstore-watch -n 2 /vm/dev >"$tmp/watch" 2>&1 &
wpid=$!
for _ in $(seq 100); do [ -s "$tmp/watch" ] && break; sleep 0.05; done
"$RS" write "$sock" /vm/dev/vif/0/state 5 || fail "write for watch"
wait "$wpid" || fail "xenstore-watch rc=$?"
wpid=
[ "$(cat "$tmp/watch" | tr '\n' ' ')" = "/vm/dev /vm/dev/vif/0/state " ] || fail "watch saw: $(cat "$tmp/watch")"

# Many children: xenstore-ls must page with XS_DIRECTORY_PART.
for i in $(seq 1 150); do echo "/many/a-rather-long-child-name-number-$i"; echo v; done |
	xargs -n 50 $T xenstore-write || fail "bulk write"
[ "$($T xenstore-list /many | wc -l)" = 150 ] || fail "xenstore-list /many"

kill "$pid"; wait "$pid"; rc=$?; pid=
[ $rc = 0 ] || fail "ringstore exit $rc"
[ -e "$sock" ] && fail "socket left behind"
grep -q 'level=error' "$tmp/log" && fail "errors logged"
echo "ok"
