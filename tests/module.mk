# Unit tests: tests/unit/test_<x>.c -> $(BUILD)/tests/unit/test_<x>, linked
# with every project library.  Test helpers (programs the integration tests
# run) live in tests/lib/<name>.c -> $(BUILD)/tests/lib/<name>.
# Fuzz targets: tests/fuzz/fuzz_<x>.c, built by clang with libFuzzer.
PROJECT_LIBS = $(APPKIT_LIB) $(SERVICE_LIBS) $(LIBRING)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(PROJECT_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROJECT_LIBS) $(LIBS) $(TEST_LIBS)

HELPER_SRCS := $(wildcard tests/lib/*.c)
HELPER_BINS := $(HELPER_SRCS:%.c=$(BUILD)/%)
$(BUILD)/tests/lib/%: $(BUILD)/tests/lib/%.o $(PROJECT_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROJECT_LIBS) $(LIBS) $(TEST_LIBS)
TEST_BINS += $(UNIT_BINS) $(HELPER_BINS)

# libFuzzer: each target links the project sources it needs, rebuilt with
# clang's fuzzer instrumentation into $(BUILD)/fuzz.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS := $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS)
FUZZ_LIB_SRCS = $(LIBRING_SRCS) $(FUZZ_EXTRA_SRCS)
# The code under test is compiled once into an archive with coverage
# instrumentation but without libFuzzer's main (fuzzer-no-link); each
# target then links only against it, instead of recompiling every source
# per target.
FUZZ_LIB_OBJS = $(FUZZ_LIB_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_LIB := $(BUILD)/fuzzobj/libfuzzdeps.a
FUZZ_OBJ_FLAGS := $(CSTD) -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(CPPFLAGS)
.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -MMD -MP -c -o $@ $<
# Second expansion: modules read after this one still add FUZZ_EXTRA_SRCS.
.SECONDEXPANSION:
$(FUZZ_LIB): $$(FUZZ_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB) $(LIBS)
-include $(wildcard $(BUILD)/fuzzobj/*.d $(BUILD)/fuzzobj/*/*.d $(BUILD)/fuzzobj/*/*/*.d)

# The netif test frontend over libring's Xen transport, for the Xen lab's
# guests (tests/xen/): our frontend, and the hostile one, on real grants.
$(BUILD)/xen/tests/lib/net_responder: $(BUILD)/tests/lib/net_responder.o $(LIBRING_XEN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(XEN_LIBS)
TEST_BINS += $(BUILD)/xen/tests/lib/net_responder

# examples/ping (tests/lib/net_akping: its main by hand) with appkit's NET
# frontend over libring's Xen transport, for the lab's guests (tests/xen/
# appkit): an appkit application in a domU.
$(BUILD)/xen/tests/lib/net_akping: $(BUILD)/tests/lib/net_akping.o $(APPKIT_LIB) $(LIBRING_XEN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(XEN_LIBS)
TEST_BINS += $(BUILD)/xen/tests/lib/net_akping
