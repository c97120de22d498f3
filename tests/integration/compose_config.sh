#!/usr/bin/env bash
# `compose config` on real files: the canonical output of a valid sample,
# --services and -q, -p, and file:line:col errors with exit 1 on a broken
# one; usage errors exit 2.
set -u
BUILD=${BUILD:-build}
bin=$BUILD/bin/compose
data=tests/data/manifests
[ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Valid: exit 0, canonical output, nothing on stderr.
"$bin" -f "$data/www.yaml" config >"$tmp/out" 2>"$tmp/err" || fail "www config exited $?"
[ -s "$tmp/err" ] && fail "www config wrote to stderr: $(cat "$tmp/err")"
grep -qx 'name: www' "$tmp/out" || fail "no name line"
grep -qx '    restart: on-failure' "$tmp/out" || fail "restart default not filled in"
grep -qx '    depends_on: \[clock, files, keys, stack, tmpl\]' "$tmp/out" || fail "app deps"
# The canonical form is stable: printing twice gives the same bytes.
"$bin" -f "$data/www.yaml" config | cmp -s - "$tmp/out" || fail "output not stable"

# --services: start order, app last.
[ "$("$bin" -f "$data/direct.yaml" config --services | tr '\n' ' ')" = \
  "clock net0 raw db stack timer kv-server " ] || fail "services order"
# -q: validate only.
out=$("$bin" -f "$data/hello.yaml" config -q) || fail "-q on a valid file exited $?"
[ -z "$out" ] || fail "-q printed output"
# -p: the default compose.yaml is read from the project directory.
cp "$data/hello.yaml" "$tmp/compose.yaml"
"$bin" -p "$tmp" config --services | grep -qx hello || fail "-p"

# Broken: exit 1, every error as FILE:LINE:COL with its hint.
"$bin" -f "$data/broken.yaml" config >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "broken config exited $rc, want 1"
[ -s "$tmp/out" ] && fail "broken config printed a manifest"
grep -q "^$data/broken.yaml:8:34: error: key 'verbose': default 'yes' is not a valid bool" "$tmp/err" ||
	fail "bool error: $(cat "$tmp/err")"
grep -q "^$data/broken.yaml:10:17: error: unknown impl 'clokd'" "$tmp/err" || fail "impl error"
grep -qx "  hint: did you mean 'clockd'?" "$tmp/err" || fail "impl hint"
"$bin" -f "$data/broken.yaml" config -q 2>/dev/null && fail "-q accepted a broken file"

# Missing file and usage errors.
"$bin" -f "$tmp/nope.yaml" config 2>"$tmp/err"; [ $? -eq 1 ] || fail "missing file"
grep -q "nope.yaml: error: cannot open" "$tmp/err" || fail "missing file message"
"$bin" confg 2>"$tmp/err"; [ $? -eq 2 ] || fail "unknown command exit"
grep -q "did you mean 'config'" "$tmp/err" || fail "command suggestion"
"$bin" config --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option exit"
"$bin" --help | grep -q '^  config ' || fail "--help lists config"
"$bin" help config | grep -q -- '--services' || fail "help config"
"$bin" config --help | grep -q -- '--quiet' || fail "config --help"
echo "ok"
