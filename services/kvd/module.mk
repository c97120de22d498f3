# kvd: the KV backend.  Everything but main.c is a library (libkvd.a) so the
# logic links in-process and into the unit tests; main.c is the daemon.
KVD_SRCS := $(filter-out services/kvd/main.c,$(wildcard services/kvd/*.c))
KVD_OBJS := $(KVD_SRCS:%.c=$(BUILD)/%.o)
KVD_LIB  := $(BUILD)/libkvd.a

$(KVD_LIB): $(KVD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/kvd: $(BUILD)/services/kvd/main.o $(KVD_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DAEMON_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

SERVICE_LIBS    += $(KVD_LIB)
ALL_BINS        += $(KVD_LIB) $(BUILD)/bin/kvd
FUZZ_EXTRA_SRCS += $(KVD_SRCS)
