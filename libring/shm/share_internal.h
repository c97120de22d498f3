/*
 * Private to libring's shm transport: the dev-mode grant table and the
 * link's wire format, shared by the granter (share.c) and the mapper
 * (peer.c), and the pure decoders that the fuzzer drives (link.c).
 *
 * The link is a unix SOCK_SEQPACKET connection from frontend to backend.
 * Every record has a fixed size, host byte order, and carries its fds by
 * SCM_RIGHTS on that one record:
 *
 *   hello (first record, 160 bytes), fds [rw memfd, ro memfd]
 *     0  u32 magic      RING_LINK_MAGIC ("MGLK")
 *     4  u16 version    RING_LINK_VERSION (1)
 *     6  u16 type       RING_LINK_HELLO (1)
 *     8  u16 self       the frontend's domid (what authorize checks)
 *    10  u16 peer       the domid the arenas are for (the backend's);
 *                       every grant entry must name it
 *    12  u32 rw_pages   pages in the rw memfd, page 0.. the grant table
 *    16  u32 ro_pages   pages in the ro memfd (refs rw_pages..)
 *    20  u32 reserved   0
 *    24  char device[136]  NUL-terminated, [A-Za-z0-9_./-], non-empty
 *
 *   channel (any later record, 16 bytes), fds [fe rx, fe tx]
 *     0  u32 magic, 4 u16 version, 6 u16 type RING_LINK_CHAN (2)
 *     8  u32 port       1..RING_LINK_MAX_PORTS, each sent once
 *    12  u32 reserved   0
 *
 * fe rx is the eventfd the frontend reads (the backend writes it to
 * notify), fe tx the one it writes.
 *
 * The one record that flows backend -> frontend:
 *
 *   offer (24 bytes), fds [memfd]: a read-only page set the backend owns
 *     0  u32 magic, 4 u16 version, 6 u16 type RING_LINK_OFFER (3)
 *     8  u32 id         the protocol's name for it
 *    12  u32 reserved   0
 *    16  u64 len        1..RING_LINK_OFFER_MAX_LEN, the memfd's exact size
 *
 * The memfd must be sealed F_SEAL_FUTURE_WRITE (or F_SEAL_WRITE),
 * F_SEAL_SHRINK and F_SEAL_GROW: the frontend can map it read-only only,
 * and the backend cannot make that mapping fault by truncating it.  A
 * frontend keeps at most RING_LINK_MAX_OFFERS offers per connection.
 * EOF on either side means the other has gone.
 *
 * SEQPACKET rather than a byte stream: a record and its fds arrive whole
 * or not at all, so a hostile peer cannot leave half a hello for us to
 * reassemble, and MSG_TRUNC tells an oversized record apart.
 */
#ifndef LIBRING_SHM_SHARE_INTERNAL_H
#define LIBRING_SHM_SHARE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

/* Grant table entry, byte-compatible with Xen's grant_entry_v1 on a
 * little-endian host: flags in bits 0..15 of the first word (offset 0),
 * domid in bits 16..31 (offset 2), frame at offset 4.  Flags and domid
 * are one 32-bit atomic so that, as in Xen, the mapper checks the domid
 * and sets GTF_reading/GTF_writing in a single compare-and-swap. */
struct ring_gntent {
	_Atomic uint32_t flags_domid;
	_Atomic uint32_t frame;
};
_Static_assert(sizeof(struct ring_gntent) == 8, "grant_entry_v1 is 8 bytes");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the dev-mode grant table assumes a little-endian host"
#endif

/* Xen's GTF_* values (xen/grant_table.h). */
#define RING_GTF_type_mask	3u
#define RING_GTF_permit_access	1u
#define RING_GTF_readonly	(1u << 2)
#define RING_GTF_reading	(1u << 3)
#define RING_GTF_writing	(1u << 4)

#define RING_GNT_PER_PAGE	(RING_PAGE_SIZE / sizeof(struct ring_gntent))
/* Refs in both arenas together: bounds the table to 128 pages and a
 * peer's arenas to 256 MiB of (sparse) memory. */
#define RING_SHARE_MAX_REFS	65536u

/* Pages at the start of the rw arena that hold the table for `nrefs`
 * refs; their refs are never granted (ref 0 is RING_GREF_INVALID). */
static inline uint32_t
ring_gnt_table_pages(uint32_t nrefs)
{
	return (uint32_t)((nrefs + RING_GNT_PER_PAGE - 1) / RING_GNT_PER_PAGE);
}

#define RING_LINK_MAGIC		0x4b4c474du	/* "MGLK" in memory */
#define RING_LINK_VERSION	1u
#define RING_LINK_HELLO		1u
#define RING_LINK_CHAN		2u
#define RING_LINK_OFFER		3u
#define RING_LINK_MAX_OFFERS	16u
#define RING_LINK_OFFER_MAX_LEN	(1u << 20)
#define RING_LINK_DEVICE_MAX	136u
#define RING_LINK_MAX_PORTS	1024u
/* Room for more fds than any record carries, so that one fd too many is
 * seen (and closed) rather than truncated away. */
#define RING_LINK_MAX_FDS	4u

struct ring_link_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint16_t self;
	uint16_t peer;
	uint32_t rw_pages;
	uint32_t ro_pages;
	uint32_t reserved;
	char device[RING_LINK_DEVICE_MAX];
};
_Static_assert(sizeof(struct ring_link_hello) == 160, "hello is 160 bytes");
_Static_assert(offsetof(struct ring_link_hello, device) == 24, "layout");

struct ring_link_chan {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t port;
	uint32_t reserved;
};
_Static_assert(sizeof(struct ring_link_chan) == 16, "channel is 16 bytes");

struct ring_link_offer {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t id;
	uint32_t reserved;
	uint64_t len;
};
_Static_assert(sizeof(struct ring_link_offer) == 24, "offer is 24 bytes");

/* A decoded, validated hello. */
struct ring_link_hello_info {
	uint16_t self;
	uint16_t peer;
	uint32_t rw_pages;
	uint32_t ro_pages;
	char device[RING_LINK_DEVICE_MAX];
};

/*
 * Decode and validate a hello record of len bytes that arrived with nfds
 * fds.  Pure: no I/O, buf may be anything.  Returns 0 with *out filled,
 * -EPROTO for anything malformed (wrong size, magic, version, type,
 * reserved bits, fd count, page counts, device string).
 */
int ring_link__decode_hello(const void *buf, size_t len, unsigned nfds,
			    struct ring_link_hello_info *out);

/* The same for a channel record: 0 with *port, or -EPROTO. */
int ring_link__decode_chan(const void *buf, size_t len, unsigned nfds,
			   uint32_t *port);

/* The same for an offer record: 0 with *id and *len (1..
 * RING_LINK_OFFER_MAX_LEN), or -EPROTO.  The fd itself is checked by the
 * caller (ring_link__offer_fd_ok). */
int ring_link__decode_offer(const void *buf, size_t len, unsigned nfds,
			    uint32_t *id, uint64_t *olen);

/* Is fd a regular file (memfd) of exactly len bytes, sealed against
 * writes through new mappings, shrinking and growing?  Returns 0,
 * -EPROTO if not, with a reason in *why. */
int ring_link__offer_fd_ok(int fd, uint64_t len, const char **why);

/* Is s (NUL-terminated) a device path we put on the wire and in logs? */
int ring_link__device_ok(const char *s);

/*
 * Receive one record without blocking: up to cap bytes into buf, fds into
 * fds[RING_LINK_MAX_FDS] with *nfds.  Every fd received is either
 * returned or closed, including those a truncated control message
 * carried.  Returns the record length (0 at EOF), -EAGAIN, -EPROTO for a
 * truncated record or control data, -EPIPE for a reset, or -errno.
 */
long ring_link__recv(int fd, void *buf, size_t cap, int *fds, unsigned *nfds);

/* Send one record with nfds fds, never raising SIGPIPE.  Returns 0,
 * -EAGAIN if the socket is full, -EPIPE if the peer has gone, -errno. */
int ring_link__send(int fd, const void *buf, size_t len, const int *fds,
		    unsigned nfds);

/* Close n fds. */
void ring_link__close_fds(const int *fds, unsigned n);

struct ring_peer;
/* The peer's received arena memfds (still owned by the peer), for tests
 * that check what a backend can do with them. */
int ring_peer__arena_fds(const struct ring_peer *p, int *rw, int *ro);

#endif
