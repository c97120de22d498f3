# Shared by www_*.sh: examples/www copied to $tmp/www, configured as
# `make up` does (--net=socket --kv_ro=dir) and built; www_up starts it
# with compose up -d --wait on a free loopback port ($U is its URL).
. tests/integration/_lib.sh
C=$(cd "$BIN" 2>/dev/null && pwd)/compose
[ -x "$C" ] || skip "compose not built"
command -v curl >/dev/null || skip "no curl (make deps)"
command -v python3 >/dev/null || skip "no python3 (make deps)"
CLIENTS=$PWD/tests/integration/www_clients.py
tmp=$(mktemp -d /tmp/www-test.XXXXXX)
www_cleanup() {
	local pids
	pids=$(cd "$tmp/www" 2>/dev/null && "$C" ps 2>/dev/null | awk 'NR > 1 { print $3 }')
	(cd "$tmp/www" 2>/dev/null && "$C" down -t 5 >/dev/null 2>&1)
	# What down could not reach (a test that failed half-way).
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "${WWW_KEEP:-}" ] || rm -rf "$tmp"
}
trap www_cleanup EXIT
trap "exit 1" INT TERM
cp -r examples/www "$tmp/www"
cd "$tmp/www" || fail "cd"
rm -rf _build .morgana
unset WWW_TITLE WWW_ADDR WWW_PORT WWW_IDLE_S WWW_CACHE_MS
"$C" configure --net=socket --kv_ro=dir >/dev/null 2>"$tmp/cfg.err" &&
	"$C" build >/dev/null 2>>"$tmp/cfg.err" ||
	fail "configure/build: $(tail -5 "$tmp/cfg.err")"
RUN=$tmp/www/.morgana/run

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Start everything (env WWW_* as given) and wait for the first answer.
www_up() {
	WWW_PORT=$(free_port)
	export WWW_PORT
	U=http://127.0.0.1:$WWW_PORT
	"$C" up -d --wait >"$tmp/up.out" 2>&1 || fail "up: $(tail -5 "$tmp/up.out")"
	for _ in $(seq 200); do
		curl -s -o /dev/null --max-time 1 "$U/" && return 0
		sleep 0.05
	done
	fail "www did not answer on $U: $(tail -5 "$RUN/logs/www.log")"
}
www_down() { "$C" down >/dev/null 2>&1; }
# pid of a service, from compose ps.
svc_pid() { "$C" ps 2>/dev/null | awk -v s="$1" '$1 == s { print $3 }'; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# curl's status code, or 000.
code() { curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@"; }
