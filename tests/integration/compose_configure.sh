#!/usr/bin/env bash
# compose configure/build: generated main.c, keys.h, Makefile and context
# for hello.yaml with a baked configure key; key values checked by type;
# --kv_ro pack packs with kvd; the generated C compiles once appkit.h exists.
set -u
. tests/integration/_lib.sh
C=$PWD/$BIN/compose
[ -x "$C" ] || skip "compose not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp tests/data/manifests/hello.yaml "$tmp/compose.yaml"
cd "$tmp"
"$C" configure --greeting=bonjour >out 2>err || fail "configure: $(cat err)"
grep -q "Now run 'compose build'" out || fail "next step"
grep -q 'ak_main(&desc, argc, argv)' _build/main.c || fail "main"
grep -q '{ "time", AK_SIG_TIME },' _build/main.c || fail "devices"
grep -q '{ "greeting", AK_KEY_STRING, "world", "", NULL, AK_STAGE_CONFIGURE, "bonjour" },' _build/main.c || fail "baked key: $(grep greeting _build/main.c)"
grep -q '{ "n", AK_KEY_INT, NULL, "How many greetings to print.", "HELLO_N", AK_STAGE_BOOT, NULL },' _build/main.c || fail "boot key"
grep -q '^hello_key_n(struct ak_app \*app, bool \*set)$' _build/keys.h || fail "int accessor"
grep -q '^#define HELLO_KEY_GREETING "bonjour"$' _build/keys.h || fail "baked constant"
grep -qx 'key.greeting=bonjour' _build/context || fail "context"
grep -q '^SRCS     := hello.c _build/main.c$' _build/Makefile || fail "Makefile"
# Type checks, boot keys' configured defaults, unknown keys.
cat >ty.yaml <<'Y'
name: ty
app: {sources: [a.c], start: s, devices: {}}
keys:
  n: {type: int, stage: configure}
  ip: {type: ipv4_prefix, stage: configure}
devices: {}
Y
"$C" -f ty.yaml configure --n=12x 2>err && fail "bad int accepted"
grep -q "ty.yaml:4:3: note: key 'n'" err || fail "bad int location: $(cat err)"
"$C" -f ty.yaml configure --ip=10.0.0.1/24 --n=16 >/dev/null || fail "good values"
grep -qx 'key.ip=10.0.0.1/24' _build/context || fail "ip canonical"
"$C" configure --n=3 >/dev/null || fail "boot key default at configure"
grep -q '{ "n", AK_KEY_INT, "3", "How many greetings to print.", "HELLO_N", AK_STAGE_BOOT, NULL },' _build/main.c \
	|| fail "boot key's configured default not baked as its default"
"$C" configure --n=3x 2>err; [ $? -eq 1 ] || fail "bad boot key value accepted"
"$C" configure --nope=1 2>/dev/null; [ $? -eq 2 ] || fail "unknown key"
"$C" configure --net=carrier-pigeon 2>/dev/null; [ $? -eq 2 ] || fail "bad --net"
# The generated C compiles against appkit.h when it exists.
if [ -f "$OLDPWD/include/morgana/appkit.h" ]; then
	"$C" configure --greeting=hi >/dev/null
	cc -std=c11 -D_GNU_SOURCE -Wall -Werror -I"$OLDPWD/include" -I_build -c _build/main.c -o main.o || fail "main.c does not compile"
	printf '#include "keys.h"\nint f(struct ak_app *a){return (int)hello_key_n(a, NULL);}\n' >k.c
	cc -std=c11 -D_GNU_SOURCE -Wall -Werror -I"$OLDPWD/include" -I_build -c k.c -o k.o || fail "keys.h does not compile"
fi
# --kv_ro pack: configure packs the directory with kvd.
if [ -x "$OLDPWD/$BIN/kvd" ]; then
	mkdir -p files && echo hi >files/a.txt
	cat >kv.yaml <<'Y'
name: kv
app: {sources: [a.c], start: s, devices: {files: KV_RO}}
devices: {files: {impl: kvd, store: dir, path: files}}
Y
	"$C" -f kv.yaml configure --kv_ro pack >/dev/null || fail "configure --kv_ro pack"
	[ -s _build/files.pack ] || fail "no pack"
	grep -qx 'kv_ro=pack' _build/context || fail "kv_ro in context"
	"$C" -f kv.yaml describe --dot | grep -q 'kvd dom1' || fail "describe"
fi
"$C" build --help | grep -q _build || fail "build --help"
echo ok
