# appkit: what an application links (the event loop and tasks, keys,
# ak_main, the signatures' wrappers and the device frontends) ->
# $(BUILD)/libappkit.a.  examples/hello is built here too, by hand,
# until `compose build` generates its main.
APPKIT_SRCS := $(wildcard appkit/*.c)
APPKIT_OBJS := $(APPKIT_SRCS:%.c=$(BUILD)/%.o)
APPKIT_LIB  := $(BUILD)/libappkit.a

$(APPKIT_LIB): $(APPKIT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

ALL_BINS += $(APPKIT_LIB)

# The frontends decode what daemons send: fuzz targets link appkit too.
FUZZ_EXTRA_SRCS += $(APPKIT_SRCS)
