# netd: the NET backend.  Everything but main.c is libnetd.a (linked by the
# unit tests, the fuzzer and the bench); main.c is the daemon.
NETD_SRCS := $(filter-out services/netd/main.c services/netd/%.bpf.c,$(wildcard services/netd/*.c))
NETD_OBJS := $(NETD_SRCS:%.c=$(BUILD)/%.o)
NETD_LIB  := $(BUILD)/libnetd.a

# The xdp backend's XDP program: compiled for BPF by clang (whatever CC
# is), then embedded as a byte array (netd_xdp_prog) that libbpf loads.
BPF_CLANG    ?= clang
BPF_MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BPF_CFLAGS   := -target bpf -O2 -g -Wall -Werror -I/usr/include/$(BPF_MULTIARCH)
NETD_BPF_OBJ := $(BUILD)/services/netd/xdp_redirect.bpf.o
NETD_BPF_GEN := $(BUILD)/services/netd/xdp_redirect_prog.c
NETD_OBJS    += $(BUILD)/services/netd/xdp_redirect_prog.o

$(NETD_BPF_OBJ): services/netd/xdp_redirect.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(NETD_BPF_GEN): $(NETD_BPF_OBJ)
	{ echo '/* Generated from $< by services/netd/module.mk. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char netd_xdp_prog[];'; \
	  echo 'extern const size_t netd_xdp_prog_len;'; \
	  echo 'const unsigned char netd_xdp_prog[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t netd_xdp_prog_len = sizeof(netd_xdp_prog);'; } >$@.tmp
	mv $@.tmp $@

$(BUILD)/services/netd/xdp_redirect_prog.o: $(NETD_BPF_GEN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(NETD_LIB): $(NETD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Only the daemon links libbpf: nothing else pulls backend_xdp.o.
$(BUILD)/bin/netd: $(BUILD)/services/netd/main.o $(NETD_LIB) $(LIBRING)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lbpf

SERVICE_LIBS    += $(NETD_LIB)
ALL_BINS        += $(NETD_LIB) $(BUILD)/bin/netd
FUZZ_EXTRA_SRCS += services/netd/netif.c

# netd for deploy mode: the same daemon over libring's Xen transport, a
# userspace netback for real domUs (docs/deploy.md).
$(BUILD)/xen/bin/netd: $(BUILD)/services/netd/main.o $(NETD_LIB) $(LIBRING_XEN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(XEN_LIBS) -lbpf
ALL_BINS += $(BUILD)/xen/bin/netd
