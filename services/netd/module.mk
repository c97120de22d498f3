# netd: the NET backend.  Everything but main.c is libnetd.a (linked by the
# unit tests, the fuzzer and the bench); main.c is the daemon.
NETD_SRCS := $(filter-out services/netd/main.c,$(wildcard services/netd/*.c))
NETD_OBJS := $(NETD_SRCS:%.c=$(BUILD)/%.o)
NETD_LIB  := $(BUILD)/libnetd.a

$(NETD_LIB): $(NETD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/netd: $(BUILD)/services/netd/main.o $(NETD_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

SERVICE_LIBS    += $(NETD_LIB)
ALL_BINS        += $(NETD_LIB) $(BUILD)/bin/netd
FUZZ_EXTRA_SRCS += services/netd/netif.c

# netd for deploy mode: the same daemon over libring's Xen transport, a
# userspace netback for real domUs (docs/deploy.md).
$(BUILD)/xen/bin/netd: $(BUILD)/services/netd/main.o $(NETD_LIB) $(LIBRING_XEN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(XEN_LIBS)
ALL_BINS += $(BUILD)/xen/bin/netd
