/*
 * The xdp backend: frames between the switch and an existing interface
 * through an AF_XDP socket.  The XDP program (xdp_redirect.bpf.c, built by
 * clang and embedded in netd) redirects every frame of one rx queue to our
 * socket; we transmit by putting descriptors on the socket's tx ring.
 *
 * Debian 12's libbpf (1.1) no longer carries the xsk.h helpers (they moved
 * to libxdp), so the UMEM and its four rings are set up here with the raw
 * socket API; libbpf loads the program and fills the XSKMAP.
 *
 * UMEM layout: umem_frames chunks of frame_size bytes.  The first half
 * belongs to the receive side (each chunk is in the fill ring, in the
 * kernel, or in the rx ring), the second half to the transmit side (free,
 * in the tx ring, or waiting for its completion).  Every ring is half the
 * UMEM long, so a ring can never overflow with the chunks of its side.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "morgana/log.h"
#include "netd.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* The object file, embedded by services/netd/module.mk. */
extern const unsigned char netd_xdp_prog[];
extern const size_t netd_xdp_prog_len;

#define XDP_RX_BUDGET 256	/* rx descriptors taken per run */
#define XDP_KICKS 64		/* sendto calls per flush at most */
#define XDP_XSKMAP_MAX 64	/* the program's map size */

struct xring {
	uint32_t *prod, *cons, *flags;
	void *desc;
	uint32_t mask;
	uint32_t head;		/* ours: next to produce / consume */
	void *map;
	size_t maplen;
};

struct netd_xdp {
	char ifname[IFNAMSIZ];
	int ifindex;
	unsigned queue;
	struct bpf_object *obj;
	int prog_fd, map_fd;
	int link_fd;		/* bpf_link holding the program, or -1 */
	uint32_t nl_flags;	/* netlink attach flags when link_fd < 0 */
	bool attached;
	int fd;			/* the AF_XDP socket */
	uint8_t *umem;
	size_t umem_len;
	uint32_t fsz, nframes, half;
	struct xring fill, comp, rx, tx;
	uint64_t *txfree;
	uint32_t ntxfree;
	bool tx_unpublished;	/* tx descriptors written, prod not stored */
	bool need_wakeup;
	bool native, zerocopy;
	uint64_t rx_frames, rx_bad, tx_frames, tx_drops;
};

static const char *
lvl_skip(const char *s)
{
	return strncmp(s, "libbpf: ", 8) == 0 ? s + 8 : s;
}

/* libbpf's warnings as logfmt lines; its info and debug chatter dropped. */
static int
libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char b[256];
	size_t n;

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(b, sizeof(b), fmt, ap);
	n = strlen(b);
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		b[--n] = '\0';
	for (char *p = b; *p; p++)
		if (*p == '"' || *p == '\n')
			*p = '\'';
	ring_log(RING_LOG_WARN, "msg=\"libbpf\" detail=\"%s\"", lvl_skip(b));
	return 0;
}

static int
ring_map(struct netd_xdp *x, struct xring *r, const struct xdp_ring_offset *o,
	 uint32_t n, size_t dsz, off_t pgoff)
{
	uint8_t *m;

	r->maplen = o->desc + (size_t)n * dsz;
	m = mmap(NULL, r->maplen, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, x->fd, pgoff);
	if (m == MAP_FAILED) {
		r->map = NULL;
		return -errno;
	}
	r->map = m;
	r->prod = (uint32_t *)(m + o->producer);
	r->cons = (uint32_t *)(m + o->consumer);
	r->flags = (uint32_t *)(m + o->flags);
	r->desc = m + o->desc;
	r->mask = n - 1;
	r->head = 0;
	return 0;
}

static void
xsk_teardown(struct netd_xdp *x)
{
	struct xring *rs[] = { &x->fill, &x->comp, &x->rx, &x->tx };

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		if (rs[i]->map != NULL)
			munmap(rs[i]->map, rs[i]->maplen);
		memset(rs[i], 0, sizeof(*rs[i]));
	}
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/*
 * A fresh socket: register the UMEM, size and map the four rings, bind to
 * (ifindex, queue) with bind_flags.  A failed bind leaves nothing behind,
 * so the caller can retry with other flags.
 */
static int
xsk_setup(struct netd_xdp *x, uint16_t bind_flags, const char **why)
{
	struct xdp_umem_reg mr = {
		.addr = (uint64_t)(uintptr_t)x->umem,
		.len = x->umem_len,
		.chunk_size = x->fsz,
	};
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sa;
	socklen_t ol = sizeof(off);
	int n = (int)x->half, rc;

	*why = "the kernel refused the AF_XDP socket";
	if ((x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	*why = "cannot register the UMEM (RLIMIT_MEMLOCK?)";
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) < 0) {
		rc = -errno;
		goto fail;
	}
	*why = "cannot set up the AF_XDP rings";
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof(n)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n,
		       sizeof(n)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_RX_RING, &n, sizeof(n)) < 0 ||
	    setsockopt(x->fd, SOL_XDP, XDP_TX_RING, &n, sizeof(n)) < 0 ||
	    getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = ring_map(x, &x->fill, &off.fr, x->half, sizeof(uint64_t),
			   XDP_UMEM_PGOFF_FILL_RING)) < 0 ||
	    (rc = ring_map(x, &x->comp, &off.cr, x->half, sizeof(uint64_t),
			   XDP_UMEM_PGOFF_COMPLETION_RING)) < 0 ||
	    (rc = ring_map(x, &x->rx, &off.rx, x->half,
			   sizeof(struct xdp_desc), XDP_PGOFF_RX_RING)) < 0 ||
	    (rc = ring_map(x, &x->tx, &off.tx, x->half,
			   sizeof(struct xdp_desc), XDP_PGOFF_TX_RING)) < 0)
		goto fail;
	/*
	 * The receive half goes into the fill ring before bind, so the first
	 * frame finds a buffer.  The release store orders the addresses
	 * before the producer index the kernel reads.
	 */
	for (uint32_t i = 0; i < x->half; i++)
		((uint64_t *)x->fill.desc)[i] = (uint64_t)i * x->fsz;
	x->fill.head = x->half;
	__atomic_store_n(x->fill.prod, x->fill.head, __ATOMIC_RELEASE);
	memset(&sa, 0, sizeof(sa));
	sa.sxdp_family = AF_XDP;
	sa.sxdp_flags = bind_flags;
	sa.sxdp_ifindex = (uint32_t)x->ifindex;
	sa.sxdp_queue_id = x->queue;
	*why = "cannot bind the AF_XDP socket";
	/*
	 * The kernel releases a closed AF_XDP socket's hold on the queue
	 * after the close returns (deferred work): a netd restarted at once
	 * (supervisor, tests) can find the queue still busy.  EBUSY for up
	 * to 2 s is that, not a refusal.
	 */
	for (int tries = 0;; tries++) {
		if (bind(x->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		rc = -errno;
		if (rc != -EBUSY || tries == 40)
			goto fail;
		usleep(50000);
	}
	x->need_wakeup = (bind_flags & XDP_USE_NEED_WAKEUP) != 0;
	x->ntxfree = 0;
	for (uint32_t i = 0; i < x->half; i++)
		x->txfree[x->ntxfree++] = (uint64_t)(x->half + i) * x->fsz;
	return 0;
fail:
	xsk_teardown(x);
	return rc;
}

static void
prog_detach(struct netd_xdp *x)
{
	if (!x->attached)
		return;
	if (x->link_fd >= 0) {
		/* Closing the link's last fd detaches the program. */
		close(x->link_fd);
		x->link_fd = -1;
	} else {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = x->prog_fd);
		int rc;

		/* old_prog_fd: only if it is still ours on the interface. */
		if ((rc = bpf_xdp_detach(x->ifindex, x->nl_flags, &o)) < 0)
			ring_log(RING_LOG_WARN,
				 "msg=\"xdp detach failed\" ifname=%s err=%d",
				 x->ifname, rc);
	}
	x->attached = false;
}

/*
 * Attach the program in one mode.  A bpf_link first: it goes away with
 * the process, even a killed one.  Kernels without XDP links (before
 * 5.9) get the netlink attach, detached by netd_xdp_close.
 */
static int
prog_attach(struct netd_xdp *x, uint32_t mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = mode);
	int rc = bpf_link_create(x->prog_fd, x->ifindex, BPF_XDP, &lo);

	if (rc >= 0) {
		x->link_fd = rc;
		x->attached = true;
		return 0;
	}
	if (rc != -EINVAL)
		return rc;
	rc = bpf_xdp_attach(x->ifindex, x->prog_fd,
			    mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (rc < 0)
		return rc;
	x->link_fd = -1;
	x->nl_flags = mode;
	x->attached = true;
	return 0;
}

static int
prog_load(struct netd_xdp *x)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "netd_xdp");
	struct bpf_program *p;
	struct bpf_map *m;
	int rc;

	libbpf_set_print(libbpf_log);
	x->obj = bpf_object__open_mem(netd_xdp_prog, netd_xdp_prog_len, &oo);
	if (x->obj == NULL)
		return errno ? -errno : -EINVAL;
	if ((rc = bpf_object__load(x->obj)) < 0)
		return rc;
	if ((p = bpf_object__find_program_by_name(x->obj,
						  "netd_xdp_redirect")) == NULL ||
	    (m = bpf_object__find_map_by_name(x->obj, "netd_xsks")) == NULL)
		return -ENOENT;
	x->prog_fd = bpf_program__fd(p);
	x->map_fd = bpf_map__fd(m);
	return x->prog_fd < 0 || x->map_fd < 0 ? -EBADF : 0;
}

static int
if_mtu(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	rc = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(s);
	return rc;
}

/*
 * Without CAP_IPC_LOCK the UMEM counts against RLIMIT_MEMLOCK (so do BPF
 * maps on kernels before 5.11): raise it if we may.  Failure is not
 * fatal; UMEM registration then says so.
 */
static void
memlock_raise(size_t need)
{
	struct rlimit rl;

	need += 1u << 20;	/* rings and maps */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
}

static bool
pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int
netd_xdp_open(const struct netd_xdp_opts *o, struct netd_xdp **out)
{
	static const uint32_t modes[] = { XDP_FLAGS_DRV_MODE,
					  XDP_FLAGS_SKB_MODE };
	struct netd_xdp *x;
	int rc = -EINVAL, mtu;
	const char *why = "bad options";

	if (o == NULL || o->sz < sizeof(*o) || o->ifname == NULL ||
	    strlen(o->ifname) >= IFNAMSIZ || o->queue >= XDP_XSKMAP_MAX) {
		ring_log(RING_LOG_ERR,
			 "msg=\"xdp backend failed\" why=\"bad options (ifname, queue < %d)\" err=%d",
			 XDP_XSKMAP_MAX, -EINVAL);
		return -EINVAL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -ENOMEM;
	x->fd = x->link_fd = x->prog_fd = x->map_fd = -1;
	snprintf(x->ifname, sizeof(x->ifname), "%s", o->ifname);
	x->queue = o->queue;
	x->nframes = o->umem_frames ? o->umem_frames : NETD_XDP_FRAMES_DEFAULT;
	x->fsz = o->frame_size ? o->frame_size : NETD_XDP_FRAME_SIZE_DEFAULT;
	if (!pow2(x->nframes) || x->nframes < 64 || x->nframes > 65536 ||
	    (x->fsz != 2048 && x->fsz != 4096))
		goto fail;
	if (o->xsk_mode == NETD_XSK_ZEROCOPY && o->xdp_mode == NETD_XDP_GENERIC) {
		why = "zero-copy needs native XDP";
		goto fail;
	}
	x->half = x->nframes / 2;
	if ((x->ifindex = (int)if_nametoindex(x->ifname)) == 0) {
		rc = -errno;
		why = "no such interface";
		goto fail;
	}
	x->umem_len = (size_t)x->nframes * x->fsz;
	x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->umem == MAP_FAILED) {
		x->umem = NULL;
		rc = -errno;
		why = "cannot allocate the UMEM";
		goto fail;
	}
	if ((x->txfree = calloc(x->half, sizeof(*x->txfree))) == NULL) {
		rc = -ENOMEM;
		why = "out of memory";
		goto fail;
	}
	memlock_raise(x->umem_len);
	if ((rc = prog_load(x)) < 0) {
		why = "the kernel refused the XDP program";
		goto fail;
	}
	/* Native XDP, then generic; zero-copy (native only), then copy. */
	rc = -EOPNOTSUPP;
	why = "the kernel refused XDP on the interface";
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		bool native = modes[m] == XDP_FLAGS_DRV_MODE;
		int arc;

		if ((native && o->xdp_mode == NETD_XDP_GENERIC) ||
		    (!native && o->xdp_mode == NETD_XDP_NATIVE))
			continue;
		if ((arc = prog_attach(x, modes[m])) < 0) {
			rc = arc;
			ring_log(RING_LOG_INFO,
				 "msg=\"xdp attach refused\" ifname=%s xdp_mode=%s err=%d",
				 x->ifname, native ? "native" : "generic", arc);
			continue;
		}
		for (int zc = 1; zc >= 0; zc--) {
			uint16_t f = zc ? XDP_ZEROCOPY : XDP_COPY;

			if ((zc && (!native || o->xsk_mode == NETD_XSK_COPY)) ||
			    (!zc && o->xsk_mode == NETD_XSK_ZEROCOPY))
				continue;
			rc = xsk_setup(x, f | XDP_USE_NEED_WAKEUP, &why);
			if (rc == -EINVAL)	/* kernels before need_wakeup */
				rc = xsk_setup(x, f, &why);
			if (rc == 0) {
				x->zerocopy = zc;
				break;
			}
		}
		if (x->fd >= 0) {
			x->native = native;
			break;
		}
		prog_detach(x);
	}
	if (x->fd < 0)
		goto fail;
	{
		uint32_t q = x->queue;

		if ((rc = bpf_map_update_elem(x->map_fd, &q, &x->fd, 0)) < 0) {
			why = "cannot insert the socket in the XSKMAP";
			goto fail;
		}
	}
	ring_log(RING_LOG_INFO,
		 "msg=\"xdp attached\" ifname=%s ifindex=%d queue=%u xdp_mode=%s xsk_mode=%s attach=%s umem_frames=%u frame_size=%u",
		 x->ifname, x->ifindex, x->queue,
		 x->native ? "native" : "generic",
		 x->zerocopy ? "zerocopy" : "copy",
		 x->link_fd >= 0 ? "link" : "netlink", x->nframes, x->fsz);
	mtu = if_mtu(x->ifname);
	if (mtu > 0 && (uint32_t)mtu + NET_ETH_HLEN > x->fsz - XDP_PACKET_HEADROOM)
		ring_log(RING_LOG_WARN,
			 "msg=\"mtu above what a UMEM frame holds: larger frames are dropped\" ifname=%s mtu=%d frame_size=%u",
			 x->ifname, mtu, x->fsz);
	*out = x;
	return 0;
fail:
	ring_log(RING_LOG_ERR, "msg=\"xdp backend failed\" ifname=%s why=\"%s\" err=%d",
		 x->ifname, why, rc);
	netd_xdp_close(x);
	return rc < 0 ? rc : -EIO;
}

void
netd_xdp_close(struct netd_xdp *x)
{
	if (x == NULL)
		return;
	if (x->fd >= 0) {
		struct xdp_statistics st;
		socklen_t sl = sizeof(st);

		memset(&st, 0, sizeof(st));
		(void)getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &sl);
		ring_log(RING_LOG_INFO,
			 "msg=\"xdp closed\" ifname=%s rx_frames=%llu rx_bad=%llu tx_frames=%llu tx_dropped=%llu kernel_rx_dropped=%llu rx_ring_full=%llu fill_empty=%llu",
			 x->ifname, (unsigned long long)x->rx_frames,
			 (unsigned long long)x->rx_bad,
			 (unsigned long long)x->tx_frames,
			 (unsigned long long)x->tx_drops,
			 (unsigned long long)st.rx_dropped,
			 (unsigned long long)st.rx_ring_full,
			 (unsigned long long)st.rx_fill_ring_empty_descs);
	}
	prog_detach(x);
	xsk_teardown(x);
	bpf_object__close(x->obj);
	if (x->umem != NULL)
		munmap(x->umem, x->umem_len);
	free(x->txfree);
	free(x);
}

int
netd_xdp_fd(const struct netd_xdp *x)
{
	return x->fd;
}

void
netd_xdp_info(const struct netd_xdp *x, bool *native, bool *zerocopy)
{
	*native = x->native;
	*zerocopy = x->zerocopy;
}

/* Completed tx chunks back to the free list. */
static void
reap_completions(struct netd_xdp *x)
{
	/* Acquire: the addresses are read after the index that covers them. */
	uint32_t prod = __atomic_load_n(x->comp.prod, __ATOMIC_ACQUIRE);
	uint32_t n = prod - x->comp.head;

	if (n == 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = ((const uint64_t *)x->comp.desc)
			[(x->comp.head + i) & x->comp.mask];

		/* Only a chunk of the tx half we have not already got back. */
		a -= a % x->fsz;
		if (a >= (uint64_t)x->half * x->fsz && a < x->umem_len &&
		    x->ntxfree < x->half)
			x->txfree[x->ntxfree++] = a;
	}
	x->comp.head = prod;
	/* Release: our reads of those slots are done before the kernel
	 * may reuse them. */
	__atomic_store_n(x->comp.cons, prod, __ATOMIC_RELEASE);
}

static void
tx_kick(struct netd_xdp *x)
{
	/* Copy mode transmits in the sendto call, a batch at a time; it says
	 * EAGAIN while descriptors are left. */
	for (int i = 0; i < XDP_KICKS; i++) {
		if (__atomic_load_n(x->tx.cons, __ATOMIC_ACQUIRE) == x->tx.head)
			return;
		if (x->need_wakeup &&
		    !(__atomic_load_n(x->tx.flags, __ATOMIC_ACQUIRE) &
		      XDP_RING_NEED_WAKEUP))
			return;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			continue;
		if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
		    errno != EINTR)
			return;
		if (errno == EBUSY || errno == ENOBUFS)
			reap_completions(x);
	}
}

int
netd_xdp_flush(struct netd_xdp *x)
{
	if (x->tx_unpublished) {
		/* Release: the descriptors and the frame bytes before the
		 * producer index the kernel reads. */
		__atomic_store_n(x->tx.prod, x->tx.head, __ATOMIC_RELEASE);
		x->tx_unpublished = false;
	}
	tx_kick(x);
	return 0;
}

static void
xdp_output(void *arg, const uint8_t *frame, uint32_t len, uint16_t rxflags)
{
	struct netd_xdp *x = arg;
	struct xdp_desc *d;
	uint64_t a;

	if (x->ntxfree == 0)
		reap_completions(x);
	/* No multi-buffer: a frame must fit one chunk. */
	if (x->ntxfree == 0 || len > x->fsz || len < NET_ETH_HLEN) {
		x->tx_drops++;
		return;
	}
	a = x->txfree[--x->ntxfree];
	memcpy(x->umem + a, frame, len);
	/* No offload on the wire: the peer needs a real checksum. */
	if (rxflags & NET_RXF_csum_blank)
		(void)net_csum_fill(x->umem + a, len);
	/* The tx ring is as long as the tx half: there is room. */
	d = &((struct xdp_desc *)x->tx.desc)[x->tx.head & x->tx.mask];
	d->addr = a;
	d->len = len;
	d->options = 0;
	x->tx.head++;
	x->tx_unpublished = true;
	x->tx_frames++;
}

static bool
xdp_room(void *arg)
{
	struct netd_xdp *x = arg;

	if (x->ntxfree == 0)
		reap_completions(x);
	return x->ntxfree > 0;
}

const struct netd_port_ops netd_xdp_port_ops = {
	.output = xdp_output,
	.room = xdp_room,
};

int
netd_xdp_run(struct netd_xdp *x, struct netd_sw *sw, int port,
	     uint64_t now_ns)
{
	/* Acquire: descriptors and frame bytes after the index. */
	uint32_t prod = __atomic_load_n(x->rx.prod, __ATOMIC_ACQUIRE);
	uint32_t n = prod - x->rx.head, done = 0;
	int frames = 0;

	reap_completions(x);
	if (n > x->half)	/* the kernel is not a peer to fear, but */
		n = x->half;
	if (n > XDP_RX_BUDGET)
		n = XDP_RX_BUDGET;
	for (; done < n; done++) {
		const struct xdp_desc *d = &((const struct xdp_desc *)x->rx.desc)
			[(x->rx.head + done) & x->rx.mask];
		uint64_t a = d->addr, base;
		uint32_t len = d->len;

		/* Frames stay in the rx ring while the switch is full: the
		 * kernel drops (and counts) when the ring fills up. */
		if (!netd_sw_room(sw, port))
			break;
		base = a - a % x->fsz;
		if (base < (uint64_t)x->half * x->fsz && len >= NET_ETH_HLEN &&
		    a - base + len <= x->fsz) {
			netd_sw_input(sw, port, x->umem + a, len, 0, now_ns);
			x->rx_frames++;
			frames++;
		} else {
			x->rx_bad++;
			if (base >= (uint64_t)x->half * x->fsz)
				continue;	/* not ours to refill */
		}
		((uint64_t *)x->fill.desc)[x->fill.head++ & x->fill.mask] = base;
	}
	if (done > 0) {
		x->rx.head += done;
		/* Release: we read those descriptors before the kernel may
		 * reuse their slots. */
		__atomic_store_n(x->rx.cons, x->rx.head, __ATOMIC_RELEASE);
		/* Release: the addresses before the fill producer index. */
		__atomic_store_n(x->fill.prod, x->fill.head, __ATOMIC_RELEASE);
		if (x->need_wakeup &&
		    (__atomic_load_n(x->fill.flags, __ATOMIC_ACQUIRE) &
		     XDP_RING_NEED_WAKEUP))
			(void)recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	}
	netd_xdp_flush(x);
	return frames;
}

bool
netd_xdp_ready(const struct netd_xdp *x)
{
	return __atomic_load_n(x->rx.prod, __ATOMIC_ACQUIRE) != x->rx.head ||
	       __atomic_load_n(x->tx.cons, __ATOMIC_ACQUIRE) != x->tx.head;
}
