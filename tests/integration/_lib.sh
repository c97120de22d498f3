# Shared by the integration scripts: paths and small helpers.
BUILD=${BUILD:-build}
BIN=$BUILD/bin
scale() { # full asan: print the first unless MORGANA_TEST_SCALE=asan
	if [ "${MORGANA_TEST_SCALE:-}" = asan ]; then echo "$2"; else echo "$1"; fi
}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
