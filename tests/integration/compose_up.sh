#!/usr/bin/env bash
# compose up/ps/logs/down with fixture daemons: readiness-gated start order
# (daemons together, the app after them),
# domids, ring states from the store, xenstore-ls on the run's store,
# attached run ending with the app's exit status, and nothing left behind.
set -u
. tests/integration/_compose_lib.sh
cd "$tmp/proj"

# Attached: the app exits 0 after 300 ms -> up exits 0, stopped in reverse.
# A boot key reaches the app as --key=value only when its env var is set
# (otherwise the app applies its own baked default).
DEMO_PORT=9090 "$C" up >"$tmp/out" 2>"$tmp/err" || fail "attached up exited $?: $(cat "$tmp/err")"
grep -q '^demo  | fixture app: --port=9090$' "$tmp/out" || fail "app args/prefix: $(cat "$tmp/out")"
grep -q '^clock | frontend 3 connected to clock/0' "$tmp/out" || fail "clock ring"
# Independent daemons start together; the app only once both are READY.
order=$(grep -o 'started [a-z]*\|[a-z]* is ready' "$tmp/err" | tr '\n' ,)
case $order in
"started clock,started files,"*"is ready,"*"is ready,started demo,demo is ready,") ;;
*) fail "start order: $order" ;;
esac
for d in clock files; do
	case $order in *"$d is ready,"*) ;; *) fail "start order: $d never ready: $order" ;; esac
done
stop=$(grep -o '[a-z]* stopped' "$tmp/err" | tr '\n' ,)
[ "$stop" = "files stopped,clock stopped," ] || fail "stop order: $stop"
grep -q $'\033' "$tmp/out" && fail "colour on a pipe"
assert_clean attached
# The app's failure is up's.
FIXTURE_APP=fail "$C" up >/dev/null 2>&1 && fail "a failing app gave up exit 0"
assert_clean "failing app"

# Detached: ps and logs from another shell, xenstore-ls, then down.
FIXTURE_APP=serve "$C" up -d --wait >"$tmp/out" 2>&1 || fail "up --wait: $(cat "$tmp/out")"
(cd / && "$C" -p "$tmp/proj" ps) >"$tmp/ps" || fail "ps"
grep -Eq '^clock +ready +[0-9]+ +1 .*clock/0\(dom3\) Connected +serving' "$tmp/ps" || fail "ps clock: $(cat "$tmp/ps")"
grep -Eq '^demo +ready +[0-9]+ +3 .*clock/0 Connected, kv/0 Connected +running' "$tmp/ps" || fail "ps demo: $(cat "$tmp/ps")"
"$C" logs files | grep -q '^files | fixture daemon files: type=kv .*--path='"$tmp/proj/files" || fail "logs files"
if command -v xenstore-ls >/dev/null; then
	XENSTORED_PATH=$RUN/store.sock xenstore-ls /local/domain/3/device >"$tmp/xs" || fail "xenstore-ls"
	grep -q 'signature = "KV_RO"' "$tmp/xs" && grep -q 'name = "clock"' "$tmp/xs" || fail "xenstore-ls tree: $(cat "$tmp/xs")"
fi
FIXTURE_APP=serve "$C" up -d --wait >/dev/null 2>&1 && fail "a second up in the same run dir succeeded"
"$C" logs -f >"$tmp/follow" &
lf=$!
"$C" down >/dev/null || fail "down"
wait $lf || fail "logs -f did not end with the system"
grep -q '^clock | stopping' "$tmp/follow" || fail "logs -f missed the end"
assert_clean down
"$C" describe --dot | grep -q '"demo" -> "kv/0@demo" \[label="KV_RO"\]' || fail "describe --dot"
"$C" up --help | grep -q -- '--wait' || fail "up --help"
"$C" --help | grep -q '^  ps ' || fail "--help lists ps"
echo ok
