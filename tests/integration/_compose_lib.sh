# Shared by compose_*.sh: a project in $tmp/proj whose daemons and app are
# the compose_fixture test program (symlinked under the daemons' names).
. tests/integration/_lib.sh
C=$PWD/$BIN/compose
FIX=$PWD/$BUILD/tests/lib/compose_fixture
[ -x "$C" ] && [ -x "$FIX" ] || skip "compose or compose_fixture not built"
tmp=$(mktemp -d)
mkdir -p "$tmp/bin" "$tmp/proj/_build" "$tmp/proj/files"
for d in clockd kvd tcpipd netd; do ln -s "$FIX" "$tmp/bin/$d"; done
ln -s "$FIX" "$tmp/proj/_build/demo"
export MORGANA_BINDIR=$tmp/bin MORGANA_RUNDIR=$tmp/proj/.morgana/run
RUN=$MORGANA_RUNDIR
cat >"$tmp/proj/compose.yaml" <<'YAML'
name: demo
app:
  sources: [demo.c]
  start: demo_start
  devices: {clock: PCLOCK, files: KV_RO}
keys:
  port: {type: int, default: 8080, stage: boot, env: DEMO_PORT}
devices:
  clock: {impl: clockd, restart: always}
  files: {impl: kvd, store: dir, path: files}
YAML
cleanup() {
	(cd "$tmp/proj" && "$C" down -t 10 >/dev/null 2>&1)
	pkill -9 -f "^$tmp/" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# Nothing of ours left: no process, no socket, no state.
assert_clean() {
	sleep 0.2
	pgrep -f "^$tmp/" >/dev/null && fail "$1: processes left: $(pgrep -af "^$tmp/")"
	ls "$RUN"/*.sock "$RUN"/state.db 2>/dev/null | grep -q . &&
		fail "$1: left behind: $(ls "$RUN")"
	return 0
}
