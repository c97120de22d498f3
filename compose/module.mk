# compose: the manifest tool.  compose/*.c except main.c form
# $(BUILD)/libcompose.a (linked by the unit tests and the fuzz target);
# main.c wires it into $(BUILD)/bin/compose.
COMPOSE_SRCS := $(filter-out compose/main.c,$(wildcard compose/*.c))
COMPOSE_OBJS := $(COMPOSE_SRCS:%.c=$(BUILD)/%.o)
COMPOSE_LIB  := $(BUILD)/libcompose.a

$(COMPOSE_LIB): $(COMPOSE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/compose: $(BUILD)/compose/main.o $(COMPOSE_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DAEMON_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

SERVICE_LIBS    += $(COMPOSE_LIB)
ALL_BINS        += $(COMPOSE_LIB) $(BUILD)/bin/compose
FUZZ_EXTRA_SRCS += $(COMPOSE_SRCS)
