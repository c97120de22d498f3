/*
 * services/tcpipd/tcpipd.h - tcpipd in socket mode: the PV Calls backend
 * (include/morgana/proto/pvcalls_proto.h, docs/pvcalls.md) that maps each
 * frontend socket onto a host kernel socket, as Linux's pvcalls-back does.
 *
 * tcp_proto.c holds the pure parts (no I/O, fuzzed): command decoding and
 * validation, the bind allow list, the iovecs over a data ring, and the
 * datagram record decoder (feature-x-dgram).
 * tcpipd.c holds the serving loop.
 */
#ifndef SERVICES_TCPIPD_TCPIPD_H
#define SERVICES_TCPIPD_TCPIPD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "morgana/proto/pvcalls_proto.h"

/* One allowed bind address: addr and port in host byte order.
 * any_port: every port of addr. */
struct tcp_allow {
	uint32_t addr;
	uint16_t port;
	bool any_port;
};

#define TCP_ALLOW_MAX 64

/*
 * Parse "A.B.C.D:PORT,..." (PORT may be `*`) into out[0..max).
 * Returns the number of entries (>= 1), -EINVAL for a malformed list,
 * -E2BIG for more than max entries.  Never blocks.
 */
int tcp_allow_parse(const char *s, struct tcp_allow *out, unsigned max);

/* True if binding addr:port (host order) is allowed by list[0..n). */
bool tcp_allow_check(const struct tcp_allow *list, unsigned n, uint32_t addr,
		     uint16_t port);

/* A validated command, decoded from the backend's private copy. */
struct tcp_cmd {
	uint32_t req_id;
	uint32_t cmd;
	uint64_t id;
	uint64_t id_new;		/* accept */
	struct sockaddr_in sa;		/* connect, bind: zeroed, then filled */
	int backlog;			/* listen: clamped to [0, SOMAXCONN] */
	uint32_t ref, evtchn;		/* connect, accept: the data ring */
	uint32_t how;			/* x_shutdown */
	uint32_t type;			/* socket: PVC_SOCK_STREAM or _DGRAM */
};

/*
 * Decode and validate q (the caller's private copy of a request) into
 * *out.  req_id, cmd and id are always filled so that an error can be
 * answered.  Returns 0, or the negative Linux errno to answer with:
 * -PVC_ENOTSUPP (unknown cmd), -EAFNOSUPPORT (socket triple other than
 * AF_INET with SOCK_STREAM/0 or IPPROTO_TCP, or with SOCK_DGRAM/0 or
 * IPPROTO_UDP), -EINVAL (address length outside 16..28, family not
 * AF_INET, x_shutdown how != SHUT_WR).  X_RING fills id, ref, evtchn.
 * Never blocks.
 */
int tcp_cmd_decode(const struct pvc_req *q, struct tcp_cmd *out);

/*
 * iovecs over len bytes of a data ring half starting at free-running index
 * idx.  The data pages are pages[0..npages) (each RING_PAGE_SIZE, not
 * necessarily contiguous); the half starts at byte `base` of their
 * concatenation and is `size` bytes (a power of two; base + size <=
 * npages * RING_PAGE_SIZE).  len <= size.  Fills at most max entries and
 * returns how many it filled (the bytes they cover may be fewer than len
 * if max ran out), or -EINVAL for inconsistent arguments.
 */
int tcp_ring_iov(uint8_t *const *pages, uint32_t npages, uint32_t base,
		 uint32_t size, uint32_t idx, uint32_t len, struct iovec *iov,
		 unsigned max);

/* One datagram decoded from a ring half by tcp_dgram_decode. */
struct tcp_dgram {
	uint32_t rec;			/* bytes the record takes on the ring */
	uint32_t len;			/* payload bytes */
	struct sockaddr_in to;		/* zeroed, AF_INET; sin_port 0: send to
					 * the CONNECTed destination */
	unsigned iov_first, niov;	/* its payload: iov[first..first+n) */
};

/* iovecs one PVC_DGRAM_MAX payload may need (pages crossed, plus the wrap). */
#define TCP_DGRAM_IOV_MAX (PVC_DGRAM_MAX / RING_PAGE_SIZE + 3u)

/*
 * Decode the datagram records (pvcalls_proto.h, feature-x-dgram) queued
 * on a ring half from free-running index cons: `queued` bytes (a value
 * already checked <= size), on the same geometry as tcp_ring_iov.  Each
 * header is copied out of the ring once and checked with
 * pvc_dgram_check(.., false); payloads are described by iovecs into the
 * pages (not copied).  Stops after max records, or before a record whose
 * payload would not fit the iov[0..max_iov) still free (max_iov >=
 * TCP_DGRAM_IOV_MAX guarantees at least one record).  Returns the number
 * of records filled into d[], 0 when queued is 0, -EPROTO if a record
 * is impossible (bad header, a record longer than what is queued, fewer
 * than 16 bytes left), -EINVAL for inconsistent arguments.  Never blocks.
 */
int tcp_dgram_decode(uint8_t *const *pages, uint32_t npages, uint32_t base,
		     uint32_t size, uint32_t cons, uint32_t queued,
		     struct tcp_dgram *d, unsigned max, struct iovec *iov,
		     unsigned max_iov);

/* ---- the daemon ------------------------------------------------------- */

struct tcpd_opts {
	size_t sz;			/* sizeof(struct tcpd_opts) */
	const char *service;		/* log name, link socket name */
	const char *rundir;		/* link socket directory */
	int notify_fd;			/* -1: none */
	const struct tcp_allow *allow;	/* bind allow list (copied) */
	unsigned nallow;
	unsigned max_socks;		/* per frontend; 0: 128 */
	unsigned max_pages;		/* mapped data pages per frontend; 0: 2048 */
};

/*
 * Serve every `pvcalls` device whose backend is this domain until SIGTERM
 * or SIGINT, over the store at XENSTORED_PATH.  Blocks (it is the daemon's
 * main loop).  Writes READY=1 to notify_fd once the backend is open.
 * Returns 0 after a clean stop, or -errno if setup failed or the store
 * went away.
 */
int tcpd_serve(const struct tcpd_opts *o);

#endif /* SERVICES_TCPIPD_TCPIPD_H */
