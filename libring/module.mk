# libring: the shared ring, grants, event channels, the store and the
# device handshake.  Transport-specific code lives in libring/$(TRANSPORT)/.
LIBRING_SRCS := $(wildcard libring/*.c) $(wildcard libring/$(TRANSPORT)/*.c)
LIBRING_OBJS := $(LIBRING_SRCS:%.c=$(BUILD)/%.o)
LIBRING      := $(BUILD)/libring.a

$(LIBRING): $(LIBRING_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Commands: libring/cmd/<name>.c -> $(BUILD)/bin/<name>
LIBRING_CMDS := $(patsubst libring/cmd/%.c,$(BUILD)/bin/%,$(wildcard libring/cmd/*.c))
$(BUILD)/bin/%: $(BUILD)/libring/cmd/%.o $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
ALL_BINS += $(LIBRING) $(LIBRING_CMDS)
