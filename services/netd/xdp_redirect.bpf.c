/*
 * netd's XDP program: every frame that arrives on the interface's queue is
 * redirected to the AF_XDP socket netd bound to that queue (the XSKMAP
 * entry keyed by rx queue index).  A queue with no socket passes its
 * frames to the kernel stack as if no program were attached.
 *
 * Built with `clang -target bpf -O2 -g` (services/netd/module.mk), embedded
 * in netd and loaded through libbpf by backend_xdp.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} netd_xsks SEC(".maps");

SEC("xdp")
int
netd_xdp_redirect(struct xdp_md *ctx)
{
	/* The low bits of flags are the action when the entry is empty. */
	return bpf_redirect_map(&netd_xsks, ctx->rx_queue_index, XDP_PASS);
}

/* No GPL-only helper is used; the kernel wants a license string. */
char _license[] SEC("license") = "Dual BSD/GPL";
