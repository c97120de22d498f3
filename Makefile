# Morgana: one non-recursive GNU make.  Each directory contributes a
# module.mk; objects and binaries land under $(BUILD).
#
#   make            build everything (libraries, daemons, tools, tests)
#   make test       build and run the unit and integration tests
#   make test-xen   deploy mode on real Xen: boot the lab (../shared/xen-lab)
#                   once per scenario in tests/xen/; exit 77 if it cannot
#   make bench      build and run the benchmarks (BENCH lines on stdout)
#   make fuzz       build the libFuzzer targets (clang) and run each for
#                   FUZZ_SECONDS (default 10)
#   make deps       install the Debian packages the project needs
#   make up         deps, build, and serve examples/www (Ctrl-C stops)
#   make clean
#
# Variables: CC (gcc or clang), BUILD (output dir), WERROR=1 (-Werror),
# SANITIZE=1 (-fsanitize=address,undefined), TRANSPORT=shm (libring's),
# STATIC=1|0 (link the daemons, compose and compose-built apps statically;
# default 1, 0 with SANITIZE=1: the sanitizers' runtimes need ld.so).

SHELL     := /bin/bash
BUILD     ?= build
TRANSPORT ?= shm
CC        ?= cc

CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Wshadow
OPT       ?= -O2 -g
CPPFLAGS  += -Iinclude -Ilibring -I.
CFLAGS    := $(CSTD) $(WARN) $(OPT) -fno-strict-aliasing $(EXTRA_CFLAGS)
LDFLAGS   += $(EXTRA_LDFLAGS)
ifeq ($(WERROR),1)
CFLAGS    += -Werror
endif
ifeq ($(SANITIZE),1)
SAN_CFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
CFLAGS    += $(SAN_CFLAGS)
LDFLAGS   += $(SAN_LDFLAGS)

LIBS      := -luring -lsodium -lsqlite3 -lyaml -lpthread
# Static daemons: a shared libc costs every process ~1.5 MiB of RSS (its
# touched pages, plus ld.so, libm...), a static one only what it calls;
# docs/www.md has the figures.  No NSS is used, so glibc links statically.
# -static-pie keeps ASLR; -lm after LIBS: the static libsqlite3.a needs it.
ifeq ($(SANITIZE),1)
STATIC    ?= 0
else
STATIC    ?= 1
endif
ifeq ($(STATIC),1)
DAEMON_LDFLAGS := -static-pie
DAEMON_LIBS    := $(LIBS) -lm
else
DAEMON_LDFLAGS :=
DAEMON_LIBS    := $(LIBS)
endif
TEST_LIBS := -lcmocka

# Every module appends to these.
ALL_BINS  :=
TEST_BINS :=
BENCH_BINS:=
FUZZ_BINS :=
DEPS_PKGS := build-essential gcc clang llvm libclang-rt-14-dev pkg-config make \
	     liburing-dev libbpf-dev libsodium-dev libsqlite3-dev libcmocka-dev \
	     libyaml-dev libxen-dev xenstore-utils iproute2 procps curl \
	     iputils-ping tshark sqlite3 linux-libc-dev nginx wrk netcat-openbsd \
	     python3

.PHONY: all test test-xen bench fuzz deps up clean
# Keep objects that pattern rules chain through (tests, benches).
.SECONDARY:
all:

# Order matters: prerequisites expand when read, so libraries come first.
MODULES := libring/module.mk $(wildcard appkit/module.mk) \
	   $(sort $(wildcard services/*/module.mk)) $(wildcard compose/module.mk) \
	   tests/module.mk bench/module.mk $(sort $(wildcard examples/*/module.mk))
include $(MODULES)

# How this tree was built, for applications that link its libraries
# (compose's generated Makefile includes it): same compiler, same sanitizers.
$(BUILD)/morgana.mk: Makefile
	@mkdir -p $(dir $@)
	@printf 'MORGANA_CC := %s\nMORGANA_CFLAGS := %s\nMORGANA_LDFLAGS := %s\nMORGANA_STATIC_LDFLAGS := %s\n' \
	  '$(CC)' '$(SAN_CFLAGS)' '$(SAN_LDFLAGS)' '$(DAEMON_LDFLAGS)' >$@

all: $(BUILD)/morgana.mk $(ALL_BINS) $(TEST_BINS) $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

test: all
	@BUILD=$(BUILD) tests/run.sh

# Needs root for the lab's Debian packages (mklab.sh --deps, run by the
# script) and about 5 minutes; tests/xen/run.sh says why when it skips.
test-xen: $(BUILD)/xen/bin/netd
	@BUILD=$(BUILD) tests/xen/run.sh

bench: all
	@for b in $(BENCH_BINS); do echo "# $$b"; $$b || exit 1; done
	@for s in bench/*.sh; do echo "# $$s"; BUILD=$(BUILD) bash $$s || exit 1; done

FUZZ_SECONDS ?= 10
FUZZ_CC      ?= clang
fuzz:
	@$(MAKE) --no-print-directory fuzz-build
	@for f in $(FUZZ_BINS); do echo "# $$f ($(FUZZ_SECONDS)s)"; \
	  mkdir -p $(BUILD)/fuzz-corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(BUILD)/fuzz-corpus/$$(basename $$f) 2>&1 | grep -E 'stat::|ERROR|SUMMARY|Done' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

deps:
	@missing=$$(for p in $(DEPS_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all present"; fi

# The main job: the www example (examples/www) with its daemons, in the
# foreground until Ctrl-C, as `docker compose up`.  The URL is printed
# once www listens ("www: serving http://127.0.0.1:8080/").  WWW_PORT,
# WWW_TITLE (and the other keys' variables) are passed through.
up: deps
	@$(MAKE) --no-print-directory all
	@cd examples/www && ../../$(BUILD)/bin/compose configure --net=socket --kv_ro=dir && \
	  ../../$(BUILD)/bin/compose build && \
	  echo "make up: starting www; Ctrl-C stops it" && \
	  ../../$(BUILD)/bin/compose up

clean:
	rm -rf $(BUILD) build-*
