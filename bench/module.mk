# Benchmarks: bench/<name>.c -> $(BUILD)/bench/<name>.  `make bench` runs
# them all; each prints BENCH <name> <value> <unit> lines, baseline included.
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS += $(BENCH_SRCS:%.c=$(BUILD)/%)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(PROJECT_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROJECT_LIBS) $(LIBS)
