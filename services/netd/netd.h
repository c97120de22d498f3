/*
 * netd internals: the netif backend core, the learning switch, the tap and
 * the AF_XDP backend.
 * Everything here but main.c goes into libnetd.a so the unit tests, the
 * fuzzer and the bench drive the same code in-process.
 *
 * Nothing here blocks, and nothing here trusts a frontend: every slot is
 * copied out of the shared ring once (ring_back_get) and only the copy is
 * validated; payloads move by grant copy through struct netd_gops.
 */
#ifndef NETD_H
#define NETD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/proto/net_proto.h"

/* Largest frame netd carries: the tx size field's limit. */
#define NETD_FRAME_MAX NET_MAX_TX_SIZE
/* Most slots (data + extra) one tx packet may take before it is fatal. */
#define NETD_TX_SLOTS_MAX (NET_FATAL_SLOTS + NET_EXTRA_TYPE_MAX)

/*
 * Grant copy, as GNTTABOP_copy: copy len bytes between our buffer and the
 * peer's page gref at off.  Return 0 or -errno (bad ref, off+len > page).
 * In the daemon these are ring_peer_copy_from/copy_to; tests supply their
 * own over local pages.
 */
struct ring_copy;
struct netd_gops {
	int (*copy_from)(void *arg, uint32_t gref, uint32_t off, void *dst,
			 uint32_t len);
	int (*copy_to)(void *arg, uint32_t gref, uint32_t off,
		       const void *src, uint32_t len);
	void *arg;
	/*
	 * Optional: many copies at once (ring_peer_copy_batch's contract).
	 * When set, netd_vif_tx and netd_vif_rx_flush gather the copies of
	 * up to NETD_BATCH packets into one call: on Xen each call is a
	 * system call plus a hypercall.
	 */
	int (*copy_batch)(void *arg, struct ring_copy *ops, unsigned n);
};

/* Packets whose grant copies go in one batch (copy_batch set). */
#define NETD_BATCH 32u
/* Staging for a tx batch: room for a largest frame after the others. */
#define NETD_TX_STAGE (NETD_FRAME_MAX + NETD_BATCH * 2048u)

enum netd_tx_verdict {
	NETD_TX_OK = 0,		/* frame copied into buf */
	NETD_TX_DROP = 1,	/* bad packet: answer its slots with ERROR */
	NETD_TX_FATAL = 2,	/* malicious frontend: disconnect it */
	NETD_TX_MORE = 3,	/* the packet needs more slots than given */
};

struct netd_tx_pkt {
	unsigned nslots;	/* slots the packet takes (data + extra) */
	uint32_t extra_mask;	/* bit i set: slot i is an extra-info slot */
	uint32_t len;		/* frame length (OK only) */
	uint16_t flags;		/* first slot's NET_TXF_csum_blank|data_validated */
	bool has_gso;
	struct net_extra gso;	/* valid if has_gso */
	const char *why;	/* DROP/FATAL: a static reason for the log */
};

/*
 * Parse the tx packet that starts at slots[0], given the n slots copied so
 * far (private copies: the caller validated nothing).  Validation as Linux
 * netback: a data slot with offset + size > 4096 is fatal; a first slot
 * under 14 bytes drops the packet; more than 18 data slots drop it and 20
 * or more are fatal (the first slot counts); a later slot larger than what
 * remains of the total drops it; zero-size slots are fine; an extra-info
 * slot whose type is not 1..4, or a GSO extra with size 0 or an unknown GSO
 * type, is fatal; more than 4 extra slots are fatal.  Structure is checked
 * before any copy: NETD_TX_MORE (nothing copied, pkt->nslots unset) asks
 * for more slots.  On OK the payload is assembled into buf (bufsz bytes,
 * caller-owned, at least NETD_FRAME_MAX) through g->copy_from; a copy
 * failure drops the packet.  Returns the verdict; pkt is filled.
 */
int netd_tx_parse(const struct net_tx_request *slots, unsigned n,
		  const struct netd_gops *g, uint8_t *buf, size_t bufsz,
		  struct netd_tx_pkt *pkt);

/*
 * Fill in the L4 checksum of an IPv4 or IPv6 TCP/UDP/ICMP frame whose
 * checksum was left blank (NET_TXF_csum_blank), for a sink without offload
 * (a plain tap).  frame: len bytes, caller-owned, modified in place.
 * Returns 0, or -EINVAL if the frame is not one we can complete.
 */
int net_csum_fill(uint8_t *frame, uint32_t len);

/* The Internet checksum of len bytes, folded, starting from sum. */
uint16_t net_csum(const void *data, size_t len, uint32_t sum);

/* ---------------- a connected vif ---------------- */

#define NETD_RXQ_MAX 512	/* frames queued for one frontend */

struct netd_frame {
	uint32_t len;
	uint16_t rxflags;	/* NET_RXF_* to report */
	uint8_t data[];
};

struct netd_vif {
	struct ring_back tx, rx;
	struct netd_gops g;
	bool sg;		/* frontend feature-sg: multi-slot rx */
	bool has_mac;
	uint8_t mac[6];		/* from the store: tx frames must come from it */
	bool need_notify;	/* a push asked for a notify: caller sends it */
	struct netd_frame *rxq[NETD_RXQ_MAX];
	unsigned rxq_head, rxq_n;
	uint64_t full_since_ns;	/* rx queue full since (0: not full) */
	uint64_t tx_frames, tx_dropped, rx_frames, rx_dropped;
	const char *fail_why;	/* set when a call returns -EPROTO */
	struct netd_batch *batch;	/* copy_batch set: staging, else NULL */
	uint8_t buf[NETD_FRAME_MAX];
};

/*
 * Where netd_vif_tx sends each good frame: deliver(arg, frame, len,
 * rxflags) with rxflags already translated to NET_RXF_* for receivers; the
 * frame is borrowed for the call.  room(arg) says whether a frame may be
 * taken now (backpressure: when false the rest stays on the ring).
 */
struct netd_vif_sink {
	void (*deliver)(void *arg, const uint8_t *frame, uint32_t len,
			uint16_t rxflags);
	bool (*room)(void *arg);
	void *arg;
};

/*
 * Attach to the frontend's two ring pages (mapped by the caller, writable).
 * v is caller-allocated.  With g->copy_batch, also allocates the batch
 * staging (freed by netd_vif_fini).  Returns 0, -ENOMEM, or
 * -EPROTO/-EINVAL from ring attach.
 */
int netd_vif_init(struct netd_vif *v, void *tx_page, void *rx_page,
		  const struct netd_gops *g, bool sg);
/* Free the queued frames and the batch staging.  The ring pages stay
 * the caller's. */
void netd_vif_fini(struct netd_vif *v);

/*
 * Take up to budget tx packets, answer every slot, hand good frames to
 * sink.  With g->copy_batch, packets already copied when the sink ran out
 * of room wait in v (their slots unanswered) and go first on the next
 * call.  Returns the number of packets taken off the ring (>= 0), or
 * -EPROTO for a fatal violation (v->fail_why says which; disconnect the
 * frontend).
 * Sets v->need_notify when the frontend wants a notify.
 */
int netd_vif_tx(struct netd_vif *v, unsigned budget,
		const struct netd_vif_sink *sink);

/*
 * Queue a copy of a frame for this frontend.  Returns 0, -ENOBUFS if the
 * queue is full (the frame is dropped and counted), -EMSGSIZE if it can
 * never fit (no feature-sg and over one page).
 */
int netd_vif_rx_queue(struct netd_vif *v, const uint8_t *frame, uint32_t len,
		      uint16_t rxflags);
/* True if another frame may be queued. */
bool netd_vif_rx_room(const struct netd_vif *v);
/*
 * Move queued frames into the rx requests the frontend posted (grant copy
 * into its pages, one response per request in the request's slot).
 * Returns frames delivered, or -EPROTO (v->fail_why) for impossible
 * indices or an rx request naming a page we may not write.
 */
int netd_vif_rx_flush(struct netd_vif *v);

/*
 * Before sleeping: if frames wait, arm the rx ring's event for as many
 * requests as the head frame needs and re-check.  Returns true if they
 * are already there (do not sleep).
 */
bool netd_vif_rx_final_check(struct netd_vif *v);

/* ---------------- the learning switch ---------------- */

struct netd_sw;
struct netd_port_ops {
	/* Take a copy of the frame (borrowed); drop it if it cannot. */
	void (*output)(void *arg, const uint8_t *frame, uint32_t len,
		       uint16_t rxflags);
	/* May a frame be output now without loss? */
	bool (*room)(void *arg);
};

#define NETD_SW_PORTS 64

/* age_s: seconds a learnt MAC stays.  Returns 0 or -ENOMEM. */
int netd_sw_open(unsigned age_s, struct netd_sw **out);
void netd_sw_close(struct netd_sw *sw);
/* Add a port; returns its number (>= 0) or -ENOSPC. */
int netd_sw_add_port(struct netd_sw *sw, const struct netd_port_ops *ops,
		     void *arg);
/* Remove a port and forget the MACs learnt on it. */
void netd_sw_del_port(struct netd_sw *sw, int port);
/*
 * A frame entered on in_port: learn its source, forward it to the port
 * that owns its destination, or flood it (broadcast, multicast, unknown)
 * to every other port.  now_ns: CLOCK_MONOTONIC.
 */
void netd_sw_input(struct netd_sw *sw, int in_port, const uint8_t *frame,
		   uint32_t len, uint16_t rxflags, uint64_t now_ns);
/* True if every other port has room (flow control for in_port). */
bool netd_sw_room(struct netd_sw *sw, int in_port);
/* Learnt entries (for tests). */
unsigned netd_sw_mac_count(const struct netd_sw *sw, uint64_t now_ns);

/* ---------------- the tap ---------------- */

struct netd_tap;
/*
 * Open tap `name` (/dev/net/tun, IFF_TAP|IFF_NO_PI): attach to it, or
 * create it if it does not exist; bring it up.  Reads and writes go
 * through an io_uring.  Returns 0, or -errno (-ENOENT/-EPERM when tun is
 * not available).
 */
int netd_tap_open(const char *name, struct netd_tap **out);
void netd_tap_close(struct netd_tap *t);
/* The fd to poll (POLLIN) for completions. */
int netd_tap_fd(const struct netd_tap *t);
/* Port ops for netd_sw_add_port (arg: the tap). */
extern const struct netd_port_ops netd_tap_port_ops;
/*
 * Reap completions: frames read go into sw at port; reads are re-armed;
 * queued writes are submitted.  Returns frames read, or -errno.
 */
int netd_tap_run(struct netd_tap *t, struct netd_sw *sw, int port,
		 uint64_t now_ns);
/* Submit queued writes (batched: one io_uring_submit). */
int netd_tap_flush(struct netd_tap *t);
uint64_t netd_tap_pending(const struct netd_tap *t);
/* True if completions are waiting (no syscall). */
bool netd_tap_ready(struct netd_tap *t);

/* ---------------- the AF_XDP backend ---------------- */

#define NETD_XDP_FRAMES_DEFAULT 4096
#define NETD_XDP_FRAME_SIZE_DEFAULT 2048

enum netd_xdp_mode {
	NETD_XDP_AUTO = 0,	/* native, else generic */
	NETD_XDP_NATIVE,	/* driver mode only */
	NETD_XDP_GENERIC,	/* skb mode only */
};

enum netd_xsk_mode {
	NETD_XSK_AUTO = 0,	/* zero-copy (native XDP only), else copy */
	NETD_XSK_ZEROCOPY,
	NETD_XSK_COPY,
};

struct netd_xdp_opts {
	size_t sz;		/* sizeof(struct netd_xdp_opts) */
	const char *ifname;	/* an existing interface */
	unsigned queue;		/* its rx/tx queue, < 64 */
	unsigned umem_frames;	/* UMEM chunks, a power of two in 64..65536
				 * (0: NETD_XDP_FRAMES_DEFAULT); half receive,
				 * half transmit; each ring is half as long */
	unsigned frame_size;	/* chunk size, 2048 or 4096 (0: default); a
				 * frame is at most frame_size - 256 bytes in,
				 * frame_size out */
	enum netd_xdp_mode xdp_mode;
	enum netd_xsk_mode xsk_mode;
};

struct netd_xdp;
/*
 * Load the embedded XDP redirect program (libbpf), attach it to o->ifname
 * (native, else generic, as o->xdp_mode allows; a bpf_link when the kernel
 * has them, so the program goes away with the process), open an AF_XDP
 * socket on o->queue with its UMEM and rings (zero-copy, else copy, as
 * o->xsk_mode allows) and enter it in the program's XSKMAP.  Logs one line
 * `msg="xdp attached" ... xdp_mode=native|generic xsk_mode=zerocopy|copy`,
 * or one `msg="xdp backend failed" why="..."` line.  Needs CAP_NET_ADMIN
 * and CAP_BPF (root).  Returns 0, -EINVAL (bad options), -ENODEV/-ENXIO
 * (no such interface), -EPERM, -EOPNOTSUPP, -EAFNOSUPPORT (the kernel
 * refuses XDP or AF_XDP), -EBUSY (another program holds the interface),
 * -ENOMEM, or another -errno from the kernel.  Does not block.
 */
int netd_xdp_open(const struct netd_xdp_opts *o, struct netd_xdp **out);
/* Detach the program, close the socket, free everything; logs counters.
 * NULL is fine. */
void netd_xdp_close(struct netd_xdp *x);
/* The AF_XDP socket: poll it (POLLIN) for received frames. */
int netd_xdp_fd(const struct netd_xdp *x);
/* Which modes open got. */
void netd_xdp_info(const struct netd_xdp *x, bool *native, bool *zerocopy);
/* Port ops for netd_sw_add_port (arg: the xdp backend).  Frames are
 * copied into the UMEM; blank checksums are completed. */
extern const struct netd_port_ops netd_xdp_port_ops;
/*
 * Reap tx completions, hand received frames (at most 256, and only while
 * netd_sw_room(sw, port)) to sw at port, refill the fill ring, transmit
 * what output queued.  Returns frames received (>= 0).  Does not block.
 */
int netd_xdp_run(struct netd_xdp *x, struct netd_sw *sw, int port,
		 uint64_t now_ns);
/* Publish the queued tx descriptors and kick the kernel.  Returns 0. */
int netd_xdp_flush(struct netd_xdp *x);
/* True if frames wait in the rx ring or the tx ring is not drained (no
 * syscall). */
bool netd_xdp_ready(const struct netd_xdp *x);

/* CLOCK_MONOTONIC in ns. */
uint64_t netd_now_ns(void);

#endif /* NETD_H */
