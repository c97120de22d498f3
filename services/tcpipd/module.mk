# tcpipd: the STACK (PV Calls) backend.  Command decoding, the allow list
# and the data-ring helpers (tcp_proto.c) and the serving core go into
# $(BUILD)/libtcpipd.a (linked by tests); main.c is the daemon.
TCPIPD_SRCS := $(filter-out services/tcpipd/main.c,$(wildcard services/tcpipd/*.c))
TCPIPD_OBJS := $(TCPIPD_SRCS:%.c=$(BUILD)/%.o)
TCPIPD_LIB  := $(BUILD)/libtcpipd.a

$(TCPIPD_LIB): $(TCPIPD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/tcpipd: $(BUILD)/services/tcpipd/main.o $(TCPIPD_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DAEMON_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

SERVICE_LIBS += $(TCPIPD_LIB)
ALL_BINS += $(TCPIPD_LIB) $(BUILD)/bin/tcpipd
FUZZ_EXTRA_SRCS += services/tcpipd/tcp_proto.c
