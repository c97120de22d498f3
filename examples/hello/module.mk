# hello, built by hand with a stand-in for compose's generated main
# (hello_main.c) until `compose build` builds it from compose.yaml.
HELLO_OBJS := $(BUILD)/examples/hello/hello.o $(BUILD)/examples/hello/hello_main.o
$(BUILD)/bin/hello: $(HELLO_OBJS) $(APPKIT_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(HELLO_OBJS) $(APPKIT_LIB) $(LIBRING) $(LIBS)
ALL_BINS += $(BUILD)/bin/hello
