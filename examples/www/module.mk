# www: the website example.  The HTTP engine and the site logic
# (http.c, site.c) are transport-independent and go into
# $(BUILD)/libwww.a, which unit tests, the fuzz target and the test
# harness tests/lib/www_files.c link.  The www program itself is built by
# `compose build` from compose.yaml (www.c, site.c, http.c), like any
# application: `make up`.
WWW_SRCS := examples/www/http.c examples/www/site.c
WWW_OBJS := $(WWW_SRCS:%.c=$(BUILD)/%.o)
WWW_LIB  := $(BUILD)/libwww.a

$(WWW_LIB): $(WWW_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

SERVICE_LIBS    += $(WWW_LIB)
ALL_BINS        += $(WWW_LIB)
FUZZ_EXTRA_SRCS += $(WWW_SRCS)
# tests/module.mk expanded the test link rules' prerequisites before this
# file was read; name the library as a prerequisite here so it is built
# (and relinked) first.
$(UNIT_BINS) $(HELPER_BINS): $(WWW_LIB)
