#!/usr/bin/env bash
# HTTP: examples/www (compose, --net=socket --kv_ro=dir, as make up) against
# Debian's nginx (1 worker, access log off, sendfile on) serving the same
# 612-byte home page, both on loopback, measured in the same run with
# `wrk -t1 -c30 -d10s`, alternating, REPS times each (medians).
# Prints BENCH lines:
#   nginx_rps, www_socket_rps (and their ratio), nginx_p99_ms,
#   www_socket_p99_ms, up_to_first_response_ms (compose up until the first
#   200 from curl), rss_kib_total (VmRSS of every process of the system,
#   supervisor included, while wrk runs; pss_kib_total the same in PSS),
#   image_bytes_www (the stripped
#   app binary).
set -u
BUILD=${BUILD:-build}
REPS=${REPS:-3}
DUR=${DUR:-10}
CONNS=${CONNS:-30}
command -v wrk >/dev/null && command -v nginx >/dev/null && command -v curl >/dev/null ||
	{ echo "bench/http: needs wrk, nginx and curl (make deps)" >&2; exit 1; }
C=$(cd "$BUILD/bin" && pwd)/compose
tmp=$(mktemp -d /tmp/bench-http.XXXXXX)
ngx=
cleanup() {
	[ -n "$ngx" ] && kill "$ngx" 2>/dev/null && wait "$ngx" 2>/dev/null
	(cd "$tmp/www" 2>/dev/null && "$C" down >/dev/null 2>&1)
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
# wrk output -> "rps p99_ms"
wrk_parse() {
	awk '/Requests\/sec/ { rps = $2 }
	     $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
			  ms = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
	     /Socket errors/ { err = 1 }
	     END { printf "%s %s %d\n", rps, ms, err }'
}
run_wrk() { wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "$1" 2>&1 | wrk_parse; }

cp -r examples/www "$tmp/www"
cd "$tmp/www" || exit 1
rm -rf _build .morgana
"$C" configure --net=socket --kv_ro=dir >/dev/null && "$C" build >/dev/null ||
	{ echo "bench/http: cannot build www" >&2; exit 1; }
export WWW_PORT
WWW_PORT=$(free_port)
U=http://127.0.0.1:$WWW_PORT/

# compose up until the first 200: the system from nothing to serving.
ups=()
for _ in $(seq 5); do
	t0=$(now_us)
	"$C" up -d >/dev/null 2>&1 || { echo "bench/http: up failed" >&2; exit 1; }
	until curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$U" | grep -q 200; do
		[ $(( $(now_us) - t0 )) -gt 10000000 ] && { echo "bench/http: www never answered" >&2; exit 1; }
		sleep 0.001
	done
	ups+=($(( $(now_us) - t0 )))
	"$C" down >/dev/null 2>&1
done
"$C" up -d --wait >/dev/null 2>&1 || { echo "bench/http: up failed" >&2; exit 1; }
until curl -s -o /dev/null "$U"; do sleep 0.01; done

# nginx on the very bytes www serves.
mkdir -p "$tmp/ngx/html" "$tmp/ngx/tmp"
# nginx's worker runs as www-data: let it read the page.
chmod 755 "$tmp" "$tmp/ngx" "$tmp/ngx/html"
curl -s "$U" >"$tmp/ngx/html/index.html"
size=$(wc -c <"$tmp/ngx/html/index.html")
NPORT=$(free_port)
cat >"$tmp/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	default_type text/html;
	client_body_temp_path $tmp/ngx/tmp;
	proxy_temp_path $tmp/ngx/tmp;
	fastcgi_temp_path $tmp/ngx/tmp;
	uwsgi_temp_path $tmp/ngx/tmp;
	scgi_temp_path $tmp/ngx/tmp;
	server {
		listen 127.0.0.1:$NPORT;
		root $tmp/ngx/html;
		index index.html;
	}
}
EOF
nginx -c "$tmp/ngx/nginx.conf" -p "$tmp/ngx" >/dev/null 2>&1 &
ngx=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NPORT/" && break; sleep 0.05; done
[ "$(curl -s "http://127.0.0.1:$NPORT/" | wc -c)" = "$size" ] ||
	{ echo "bench/http: nginx does not serve the page" >&2; cat "$tmp/ngx/error.log" >&2; exit 1; }

# Every process of the system: the supervisor and each service.
sys_pids() {
	local sup
	sup=$(sqlite3 .morgana/run/state.db "select value from meta where key='supervisor_pid'" 2>/dev/null)
	echo "$sup $("$C" ps 2>/dev/null | awk 'NR > 1 { print $3 }')"
}
# "rss pss": RSS counts shared pages (libc's ~1.3 MiB) once per process;
# PSS shares them out, so its sum is what the system really holds.
rss_total() {
	local t=0 u=0 r
	for p in $(sys_pids); do
		r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${r:-0}))
		r=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		u=$((u + ${r:-0}))
	done
	echo "$t $u"
}

nr=() np=() wr=() wp=() rss=() pss=() errs=0
for _ in $(seq "$REPS"); do
	read -r r p e < <(run_wrk "http://127.0.0.1:$NPORT/")
	nr+=("$r"); np+=("$p")
	( sleep $((DUR / 2)); rss_total >"$tmp/rss" ) &
	rp=$!
	read -r r p e < <(run_wrk "$U")
	wait "$rp"
	wr+=("$r"); wp+=("$p")
	read -r r p <"$tmp/rss"
	rss+=("$r"); pss+=("$p")
	errs=$((errs + e))
done
[ "$errs" -eq 0 ] || echo "bench/http: warning: wrk reported socket errors against www" >&2
strip -o "$tmp/www.stripped" _build/www
n_rps=$(printf '%s\n' "${nr[@]}" | median)
w_rps=$(printf '%s\n' "${wr[@]}" | median)
echo "BENCH nginx_rps $n_rps req/s"
echo "BENCH www_socket_rps $w_rps req/s"
echo "BENCH www_socket_vs_nginx $(awk "BEGIN{printf \"%.2f\", $w_rps/$n_rps}") x"
echo "BENCH nginx_p99_ms $(printf '%s\n' "${np[@]}" | median) ms"
echo "BENCH www_socket_p99_ms $(printf '%s\n' "${wp[@]}" | median) ms"
echo "BENCH up_to_first_response_ms $(printf '%s\n' "${ups[@]}" | median | awk '{printf "%.1f", $1/1000}') ms"
echo "BENCH rss_kib_total $(printf '%s\n' "${rss[@]}" | median) KiB"
echo "BENCH pss_kib_total $(printf '%s\n' "${pss[@]}" | median) KiB"
echo "BENCH image_bytes_www $(stat -c %s "$tmp/www.stripped") bytes"
echo "BENCH page_bytes $size bytes"
