# clockd: the time page writer, the timer set and the io_uring loop go into
# $(BUILD)/libclockd.a (linked by tests and benches); main.c is the daemon.
CLOCKD_SRCS := $(filter-out services/clockd/main.c,$(wildcard services/clockd/*.c))
CLOCKD_OBJS := $(CLOCKD_SRCS:%.c=$(BUILD)/%.o)
CLOCKD_LIB  := $(BUILD)/libclockd.a

$(CLOCKD_LIB): $(CLOCKD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/clockd: $(BUILD)/services/clockd/main.o $(CLOCKD_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DAEMON_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

SERVICE_LIBS += $(CLOCKD_LIB)
ALL_BINS += $(CLOCKD_LIB) $(BUILD)/bin/clockd
FUZZ_EXTRA_SRCS += services/clockd/clockd.c
