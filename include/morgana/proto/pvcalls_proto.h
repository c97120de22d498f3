/*
 * morgana/proto/pvcalls_proto.h - the STACK device: Xen PV Calls, protocol
 * version 1, byte-compatible with xen/io/pvcalls.h (a unit test asserts
 * every offset and size against Xen's header).  See docs/pvcalls.md.
 *
 * Device type "pvcalls".  tcpipd (backend) writes at probe:
 *   versions = "1", max-page-order = 4, function-calls = "1"
 *   (and our extension features, below).
 * The frontend grants one command-ring page, allocates one event channel,
 * and writes version = "1", ring-ref, port.
 *
 * Command ring: RING_DEFINE(pvc, struct pvc_req, struct pvc_rsp): 64-byte
 * slots, 32 per page, Xen's layout.  The frontend chooses 64-bit socket
 * ids and a req_id per request; the backend echoes req_id, cmd and the id.
 * ACCEPT and POLL are answered late (when a connection is there), so
 * responses may come out of order: match them by req_id.
 *
 * Data ring (one per connected socket, given with CONNECT or ACCEPT): an
 * indexes page (struct pvc_data_intf) plus 1 << ring_order data pages,
 * all granted by the frontend.  The data pages form one byte array; its
 * first half is `in` (backend -> frontend, what the host socket
 * received), its second half `out` (frontend -> backend, to send).  Each
 * half is PVC_RING_SIZE(order) = 1 << (order + 11) bytes.  Indexes are
 * free-running uint32; position = idx & (size - 1).  Producer: copy,
 * release barrier, advance prod, notify.  Consumer: acquire prod, copy,
 * full barrier, advance cons, notify.  in_error/out_error are set only by
 * the backend, as negative Linux errnos; in_error = -ENOTCONN is EOF and
 * is reported only after `in` is drained.
 *
 * Extensions (outside Xen's command numbers, docs/pvcalls.md), offered by
 * the backend with feature keys and used only if offered:
 *   feature-x-shutdown = 1: PVC_CMD_X_SHUTDOWN (half-close, SHUT_WR after
 *     `out` is drained).
 *   feature-x-dgram = 1: UDP on IPv4.  SOCKET with type SOCK_DGRAM
 *     creates the host socket at once; PVC_CMD_X_RING gives it a data
 *     ring (order 1..PVC_X_DGRAM_MAX_ORDER); BIND (allow list) and
 *     CONNECT (default destination, no ring) are optional; each datagram
 *     on either half is one record: struct pvc_dgram_hdr, then len bytes,
 *     then padding to PVC_DGRAM_ALIGN.
 *   feature-x-notify-bits = 1: event suppression on data rings,
 *     vchan-style (docs/pvcalls.md), used when the frontend also writes
 *     x-notify-bits = 1.  Two flag words live in the padding:
 *       in_notify  @12 (pad1): PVC_NB_DATA set by the frontend while it
 *         waits for data in `in`; PVC_NB_SPACE set by the backend while
 *         it waits for room in `in`;
 *       out_notify @76 (pad2): PVC_NB_DATA set by the backend while it
 *         waits for data in `out`; PVC_NB_SPACE set by the frontend while
 *         it waits for room in `out`.
 *     A waiter sets its bit, full barrier, re-reads the index, and sleeps
 *     only if it did not move.  A side that moved an index: full barrier,
 *     atomically clears the matching bit, notifies only if it was set.
 *     Errors are always notified.
 */
#ifndef MORGANA_PROTO_PVCALLS_PROTO_H
#define MORGANA_PROTO_PVCALLS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

#define PVC_DEVICE_TYPE "pvcalls"

/* Commands, Xen's numbers (the spec's per-command table is off by one). */
#define PVC_CMD_SOCKET 0u
#define PVC_CMD_CONNECT 1u
#define PVC_CMD_RELEASE 2u
#define PVC_CMD_BIND 3u
#define PVC_CMD_LISTEN 4u
#define PVC_CMD_ACCEPT 5u
#define PVC_CMD_POLL 6u
/* Our extensions live far above Xen's range. */
#define PVC_CMD_X_BASE 0x4d470000u	/* "MG" */
#define PVC_CMD_X_SHUTDOWN (PVC_CMD_X_BASE + 1u)
#define PVC_CMD_X_RING (PVC_CMD_X_BASE + 2u)	/* feature-x-dgram */

/* Wire errno values (Linux numbering).  ENOTSUP is the kernel's ENOTSUPP
 * (524), not userspace's ENOTSUP (95). */
#define PVC_ENOTSUPP 524

#define PVC_AF_INET 2u
#define PVC_SOCK_STREAM 1u
#define PVC_SOCK_DGRAM 2u	/* extension, feature-x-dgram */

#define PVC_ADDR_LEN 28u
#define PVC_MAX_PAGE_ORDER 4u	/* what tcpipd advertises (Linux needs >= 4) */

struct pvc_req {
	uint32_t req_id;	/* frontend's cookie, echoed */
	uint32_t cmd;		/* PVC_CMD_* */
	union {
		struct pvc_socket {
			uint64_t id;
			uint32_t domain;
			uint32_t type;
			uint32_t protocol;
			uint8_t pad[4];
		} socket;
		struct pvc_connect {
			uint64_t id;
			uint8_t addr[PVC_ADDR_LEN];	/* sockaddr_in, guest layout */
			uint32_t len;
			uint32_t flags;		/* reserved: ignored */
			uint32_t ref;		/* indexes page */
			uint32_t evtchn;
			uint8_t pad[4];
		} connect;
		struct pvc_release {
			uint64_t id;
			uint8_t reuse;		/* hint: ignored */
			uint8_t pad[7];
		} release;
		struct pvc_bind {
			uint64_t id;
			uint8_t addr[PVC_ADDR_LEN];
			uint32_t len;
		} bind;
		struct pvc_listen {
			uint64_t id;
			uint32_t backlog;
			uint8_t pad[4];
		} listen;
		struct pvc_accept {
			uint64_t id;		/* listening socket */
			uint64_t id_new;	/* the new active socket */
			uint32_t ref;
			uint32_t evtchn;
		} accept;
		struct pvc_poll {
			uint64_t id;
		} poll;
		struct pvc_x_shutdown {	/* extension */
			uint64_t id;
			uint32_t how;		/* 1 = SHUT_WR; nothing else yet */
			uint8_t pad[4];
		} x_shutdown;
		struct pvc_x_ring {	/* extension: a datagram socket's ring */
			uint64_t id;
			uint32_t ref;		/* indexes page, as CONNECT's */
			uint32_t evtchn;
		} x_ring;
		uint8_t dummy[56];
	} u;
};

struct pvc_rsp {
	uint32_t req_id;
	uint32_t cmd;
	int32_t ret;		/* 0 or -errno (Linux numbers) */
	uint32_t pad;
	union {
		uint64_t id;	/* the request's id (accept: the listening id) */
		uint8_t dummy[8];
	} u;
};

_Static_assert(sizeof(struct pvc_req) == 64, "pvcalls request is 64 bytes");
_Static_assert(sizeof(struct pvc_rsp) == 24, "pvcalls response is 24 bytes");

RING_DEFINE(pvc, struct pvc_req, struct pvc_rsp);

/* The indexes page of a data ring (struct pvcalls_data_intf). */
struct pvc_data_intf {
	uint32_t in_cons;	/* frontend */
	uint32_t in_prod;	/* backend */
	int32_t in_error;	/* backend */
	uint8_t pad1[52];
	uint32_t out_cons;	/* backend */
	uint32_t out_prod;	/* frontend */
	int32_t out_error;	/* backend */
	uint8_t pad2[52];
	uint32_t ring_order;	/* frontend */
	uint32_t ref[];		/* frontend: 1 << ring_order data pages */
};

_Static_assert(offsetof(struct pvc_data_intf, out_cons) == 64, "out_cons @64");
_Static_assert(offsetof(struct pvc_data_intf, ring_order) == 128,
	       "ring_order @128");
_Static_assert(offsetof(struct pvc_data_intf, ref) == 132, "ref @132");

/* feature-x-notify-bits: the flag words and their bits. */
#define PVC_NB_DATA 1u
#define PVC_NB_SPACE 2u

static inline uint32_t *
pvc_in_notify(struct pvc_data_intf *i)
{
	return (uint32_t *)(void *)i->pad1;
}

static inline uint32_t *
pvc_out_notify(struct pvc_data_intf *i)
{
	return (uint32_t *)(void *)i->pad2;
}

/* Waiter: announce that we wait for `bit` on word w (full barrier after,
 * so that the caller's re-read of the index cannot pass the store). */
static inline void
pvc_nb_arm(uint32_t *w, uint32_t bit)
{
	__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
}

/* Mover: after publishing an index, take `bit` off w; true if the peer
 * was waiting for it (notify then).  The fence orders the index store
 * before the read of the bit (store-load). */
static inline bool
pvc_nb_take(uint32_t *w, uint32_t bit)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (__atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

/* Bytes in each half (in, out) of a data ring of 1 << order pages. */
#define PVC_RING_SIZE(order) (1u << ((order) + 11u))

/*
 * Bytes queued between prod and cons in a ring of `size` bytes, or
 * UINT32_MAX if the distance is impossible (more than size): unlike Xen's
 * pvcalls_queued, which masks and so hides a bogus index.
 */
static inline uint32_t
pvc_queued(uint32_t prod, uint32_t cons, uint32_t size)
{
	uint32_t d = prod - cons;

	return d > size ? UINT32_MAX : d;
}

/*
 * Datagram framing (feature-x-dgram).  On a datagram socket's data ring
 * each datagram is one record, on `out` (to send) as on `in` (received):
 *   struct pvc_dgram_hdr (16 bytes), then len payload bytes, then zero to
 *   15 bytes of padding, so that every record starts PVC_DGRAM_ALIGN-
 *   aligned (a header then never wraps nor crosses a page).
 * A producer publishes prod only after whole records (so prod - cons is
 * always a multiple of PVC_DGRAM_ALIGN) and never splits a datagram over
 * two records.  A record may wrap around the end of the half like any
 * bytes.  Fields: len, flags, full_len native (little-endian) like the
 * rest of PV Calls; addr, port network order like a sockaddr_in.
 */
struct pvc_dgram_hdr {
	uint32_t len;		/* payload bytes in this record */
	uint16_t flags;		/* out: 0; in: PVC_DGRAM_TRUNC or 0 */
	uint16_t port;		/* out: destination, 0 = the CONNECTed one;
				 * in: the sender's */
	uint32_t addr;		/* IPv4, as port */
	uint32_t full_len;	/* in: the datagram's size on the wire
				 * (> len iff TRUNC); out: 0 */
};

_Static_assert(sizeof(struct pvc_dgram_hdr) == 16, "datagram header");

#define PVC_DGRAM_ALIGN 16u
#define PVC_DGRAM_TRUNC 1u	/* in: the datagram did not fit the ring */
#define PVC_DGRAM_MAX 65507u	/* the largest IPv4 UDP payload */
/* Bytes a record of len payload bytes takes on the ring. */
#define PVC_DGRAM_REC(len)                                                   \
	((uint32_t)sizeof(struct pvc_dgram_hdr) +                            \
	 (((uint32_t)(len) + PVC_DGRAM_ALIGN - 1u) & ~(PVC_DGRAM_ALIGN - 1u)))
#define PVC_DGRAM_REC_MAX PVC_DGRAM_REC(PVC_DGRAM_MAX)	/* 65536 */
/* Datagram rings may be larger than max-page-order: order 5 holds one
 * PVC_DGRAM_MAX datagram per half. */
#define PVC_X_DGRAM_MAX_ORDER 6u

/*
 * Check the header h (already copied out of the ring) of the record at
 * the consumer's index, with `queued` bytes between cons and prod.
 * `in` says which half (the flags allowed differ).  Returns the record's
 * size in bytes (> 0), or 0 if the record is impossible: len above
 * PVC_DGRAM_MAX, unknown flags, a record longer than what is queued.
 */
static inline uint32_t
pvc_dgram_check(const struct pvc_dgram_hdr *h, uint32_t queued, bool in)
{
	uint32_t rec;

	if (h->len > PVC_DGRAM_MAX ||
	    (h->flags & ~(in ? PVC_DGRAM_TRUNC : 0u)) != 0)
		return 0;
	rec = PVC_DGRAM_REC(h->len);
	return rec <= queued ? rec : 0;
}

#endif /* MORGANA_PROTO_PVCALLS_PROTO_H */
