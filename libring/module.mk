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

# The Xen transport (deploy mode), built beside the dev-mode libring.a
# whatever TRANSPORT says: the same common objects with libring/xen/*.c.
# Binaries for the Xen lab link it with XEN_LIBS (Debian's libxen-dev).
LIBRING_XEN_SRCS := $(wildcard libring/*.c) $(wildcard libring/xen/*.c)
LIBRING_XEN      := $(BUILD)/libring-xen.a
XEN_LIBS         := -lxengnttab -lxenevtchn

$(LIBRING_XEN): $(LIBRING_XEN_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
ALL_BINS += $(LIBRING_XEN)
