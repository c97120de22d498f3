#!/usr/bin/env bash
# examples/www against hostile clients (tests/integration/www_clients.py):
# a corpus of malformed and over-limit requests, each answered with its
# error (400/405/414/431/501/505...) or a close and never a hang, the site
# answering in between; pipelining; no descriptor leak in www or tcpipd
# over two rounds; slowloris clients that do not slow good GETs and that
# the server closes after idle_s.
set -u
. tests/integration/_www_lib.sh
WWW_IDLE_S=2 www_up
python3 "$CLIENTS" corpus "$WWW_PORT" || fail "corpus, round 1"
www_pid=$(svc_pid www) st_pid=$(svc_pid stack)
sleep 0.5
f1=$(nfds "$www_pid") g1=$(nfds "$st_pid")
python3 "$CLIENTS" corpus "$WWW_PORT" >/dev/null || fail "corpus, round 2"
sleep 0.5
f2=$(nfds "$www_pid") g2=$(nfds "$st_pid")
echo "fds after round 1: www $f1 tcpipd $g1; after round 2: www $f2 tcpipd $g2"
# www keeps released data rings (each with its channel's fds) for reuse,
# as many as were ever open at once, so a slower round (ASan, a loaded
# machine) may keep a few more; a leak grows with the ~45 requests.
[ "$f2" -le "$((f1 + 12))" ] && [ "$g2" -le "$((g1 + 4))" ] ||
	fail "descriptors leak: www $f1 -> $f2, tcpipd $g1 -> $g2"
python3 "$CLIENTS" slowloris "$WWW_PORT" "$(scale 50 10)" 2 || fail "slowloris"
[ "$(code "$U/")" = 200 ] || fail "no answer at the end"
[ "$(svc_pid www)" = "$www_pid" ] || fail "www restarted"
grep -a 'level=error' "$RUN"/logs/*.log && fail "errors logged"
echo "all ok"
