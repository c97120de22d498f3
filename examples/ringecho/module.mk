# ringecho: the toolstack, an echo backend and an echo frontend over
# libring, in three processes.  `make up` runs it until the apps exist.
RINGECHO_SRCS := $(wildcard examples/ringecho/*.c)
RINGECHO_OBJS := $(RINGECHO_SRCS:%.c=$(BUILD)/%.o)
$(BUILD)/bin/ringecho: $(RINGECHO_OBJS) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RINGECHO_OBJS) $(LIBRING) $(LIBS)
ALL_BINS += $(BUILD)/bin/ringecho
