/*
 * morgana/share.h - grants and event channels between two domains.
 *
 * The frontend (client) shares: it grants pages and allocates event
 * channels for one peer domain, its backend.  The backend (server) maps:
 * it maps the frontend's grant refs and binds its event channels.  This is
 * Xen's xengntshr / xengnttab / xenevtchn split, with one object per peer.
 *
 *   frontend                                backend
 *   ring_share_open(peer=be)                ring_listener_open()
 *   ring_share_grant() -> ref               (event loop: ring_listener_fd)
 *   ring_share_evtchn() -> port             ring_listener_accept() -> peer
 *   ring_share_connect(path, pid, dev)  ->  authorize(domid, pid) callback
 *   write ring-ref, event-channel keys      ring_peer_map(ref)
 *                                           ring_peer_bind(port)
 *   ring_share_offer(id) -> ro mapping  <-  ring_peer_offer(id, memfd)
 *
 * The one thing that flows the other way is an offer: a backend may hand
 * its frontend a read-only mapping of a sealed memfd of its own (clockd's
 * time page), in dev mode only (Xen would use a grant from the backend).
 *
 * Dev mode (libring/shm):
 *   - A grant arena is a memfd made for one peer.  A grant ref is a page
 *     index.  Page 0 of the read-write arena is the grant table: one
 *     Xen v1-style entry {flags, domid, frame} per ref, written by the
 *     granter; the mapper sets GTF_reading/GTF_writing while it maps, and a
 *     revoke fails with -EBUSY while they are set.
 *   - Read-only grants come from a second arena, sealed with
 *     F_SEAL_FUTURE_WRITE before it is sent: the peer cannot map it
 *     writable, nor mprotect it writable.
 *   - Arenas and event channel fds travel over one unix SOCK_SEQPACKET
 *     connection per device (the "link"), by SCM_RIGHTS, in fixed-size
 *     records (libring/shm/share_internal.h, docs/transport.md).  Each
 *     side checks the other with SO_PEERCRED against the pid the toolstack
 *     recorded for that domid.  The link is also the liveness signal: EOF
 *     means the peer died.
 *   - The backend maps each arena whole, once, when it accepts the link;
 *     ring_peer_map checks and marks the grant entry and returns a pointer
 *     into that mapping.  The arenas themselves are the isolation: the
 *     grant table is honoured by a well-behaved backend, not enforced.
 * Deploy mode (libring/xen): gntalloc, gntdev and evtchn; no link.
 *
 * A peer's arena only ever holds pages granted to that peer, so a hostile
 * mapper that ignores the grant table reaches nothing of anyone else.
 *
 * All calls are non-blocking unless stated; handles are single-threaded.
 */
#ifndef MORGANA_SHARE_H
#define MORGANA_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ring_evtchn;
struct ring_share;
struct ring_listener;
struct ring_peer;

#define RING_GREF_INVALID 0u	/* ref 0 is never a page: it is the table */

struct ring_share_opts {
	size_t sz;		/* sizeof(struct ring_share_opts) */
	uint32_t rw_pages;	/* read-write arena size; 0: default 256 */
	uint32_t ro_pages;	/* read-only arena size; 0: default 64 */
	size_t :0;
};

/*
 * Frontend: make the arenas for sharing with domain `peer`.
 * opts may be NULL.  rw_pages + ro_pages is at most 65536; the first
 * ceil((rw_pages + ro_pages) / 512) pages of the rw arena hold the grant
 * table, so rw_pages must exceed that.  Returns 0, -EINVAL for bad opts
 * (or opts->sz too small), -ENOMEM, or -errno from memfd_create/mmap.
 */
int ring_share_open(uint16_t peer, const struct ring_share_opts *opts,
		    struct ring_share **out);

/*
 * Grant one zeroed page to the peer (XSA-403).  *ref is what goes in the store;
 * *addr is the granter's own writable mapping (valid until revoke or
 * close).  readonly: the peer may only map it read-only.
 * Returns 0, -ENOSPC when the arena is full, or -errno.
 */
int ring_share_grant(struct ring_share *s, bool readonly, uint32_t *ref,
		     void **addr);

/*
 * End the peer's access to ref; the page returns to the free pool.
 * Returns 0, -EBUSY while the peer still has it mapped (the grant stays),
 * -EINVAL for a ref that is not granted.
 */
int ring_share_revoke(struct ring_share *s, uint32_t ref);

/*
 * Allocate an unbound event channel for the peer (xenevtchn
 * bind_unbound_port).  Ports count 1, 2, ... per share.  The returned end
 * is owned by the caller; close it with ring_evtchn_close (the share
 * keeps its own copies of the fds to send on a later (re)connect).  Its
 * port goes in the store.  If the link is up the channel is sent at once
 * (never blocks).  Returns 0, -ENOSPC after 1024 channels, -EAGAIN if the
 * link's send buffer is full (no channel is made), or -errno.
 */
int ring_share_evtchn(struct ring_share *s, struct ring_evtchn **out);

/*
 * Dev mode: connect to the backend's link socket at `path`, check with
 * SO_PEERCRED that the listener is `peer_pid`, and send the arenas and the
 * channels made so far, tagged with `device` (the frontend's device path,
 * e.g. "device/kv/0": 1..135 chars of [A-Za-z0-9_./-]), and our own domid
 * `self`.  Channels allocated later are sent as they are made.  Nothing
 * at all is sent to a listener that is not peer_pid.  Calling it again
 * drops the old link and reconnects (e.g. to a restarted backend); the
 * old backend's in-use marks are cleared, as Xen does for a dead domain.
 * Blocks only on the local connect.
 * Returns 0, -EPERM if the listener is not peer_pid, -EINVAL for a bad
 * device, -ENAMETOOLONG, -ENOENT/-ECONNREFUSED if nobody listens, -errno.
 * path NULL (no backend link key in the store) gives -ENOENT.
 * Deploy mode: returns 0 and does nothing (path may be NULL).
 */
int ring_share_connect(struct ring_share *s, const char *path, pid_t peer_pid,
		       uint16_t self, const char *device);

/*
 * Dev mode: the link's fd, readable (EOF) when the backend went away;
 * -1 if not connected.  ring_share_alive() never blocks; it first
 * receives pending offers (ring_share_process; a malformed one is dropped
 * and logged, the link stays), then returns 0 while the backend is there,
 * -EPIPE once it has gone (from then on; the gone backend's
 * GTF_reading/GTF_writing marks are cleared so that its pages can be
 * revoked), -ENOTCONN if never connected.
 */
int ring_share_fd(const struct ring_share *s);
int ring_share_alive(struct ring_share *s);

/*
 * Frontend, dev mode: receive what the backend sent on the link (offers,
 * see ring_peer_offer).  Never blocks; handles up to 64 records per call
 * (call again while ring_share_fd stays readable).  Every offer is
 * checked: a memfd (fstat), of exactly the announced size, sealed
 * F_SEAL_FUTURE_WRITE (or F_SEAL_WRITE), F_SEAL_SHRINK and F_SEAL_GROW.
 * A good one is mapped read-only and its fd closed; a bad one is closed,
 * logged once, and its id remembered as bad.  At most 16 offers per
 * connection; an id offered twice keeps the first.  No fd is ever kept.
 * Returns 0, -EPIPE when the backend is gone, -ENOTCONN if never
 * connected, -EPROTO if a record was malformed, a duplicate, beyond the
 * bound or a bad fd (that record is dropped; the link stays, others
 * were handled), or -errno.
 */
int ring_share_process(struct ring_share *s);

/*
 * Frontend: the backend's offer `id`, mapped read-only (PROT_READ,
 * MAP_SHARED): *addr and *len (its exact size).  The mapping belongs to
 * the share and lives until ring_share_close, even across a reconnect
 * (which forgets the old backend's ids: the new backend offers again).
 * Returns 0, -EAGAIN if it has not arrived (call ring_share_process, or
 * wait for ring_share_fd), -EPROTO if the backend sent an unsealed or
 * wrong-sized fd under that id.  Never blocks.
 */
int ring_share_offer(struct ring_share *s, uint32_t id, const void **addr,
		     size_t *len);

/* Revoke everything (best effort: pages still mapped stay alive in the
 * backend's mapping, never reused), unmap, close the link.  NULL is ok. */
void ring_share_close(struct ring_share *s);

/*
 * Backend: listen for links at `path` (a unix socket, created 0600;
 * a stale socket file is replaced, any other file is not: -EEXIST).
 * Returns 0, -EEXIST, -ENAMETOOLONG, or -errno.
 */
int ring_listener_open(const char *path, struct ring_listener **out);
/*
 * An fd (an epoll set, owned by the listener) that is readable while a
 * connection waits to be accepted or an accepted one has data: call
 * ring_listener_accept until it returns -EAGAIN.
 */
int ring_listener_fd(const struct ring_listener *l);

/*
 * Decides whether a connecting process may act as domain `domid`.
 * Return 0 to accept, -EPERM to refuse.
 */
typedef int ring_authorize_fn(void *arg, uint16_t domid, pid_t pid);

/*
 * Accept one pending link and receive its hello (domid, device, fds).
 * Never blocks: connections whose hello has not arrived are kept (up to
 * 16; the oldest is dropped beyond) and tried again on the next call.
 * The sender's SO_PEERCRED pid and claimed domid go to authorize (must
 * not be NULL); a refused or malformed hello is closed with one log line,
 * and every fd it carried is closed.  The arenas must be memfds of the
 * announced size, sealed against shrinking and growing, the read-only one
 * also with F_SEAL_FUTURE_WRITE (or F_SEAL_WRITE).
 * Returns 0 with *out set (owned by the caller: ring_peer_close),
 * -EAGAIN if no complete link is pending, -EPERM if refused, -EPROTO if
 * malformed, -EINVAL if authorize is NULL, or -errno.  After -EPERM or
 * -EPROTO other links may be pending: call again.
 */
int ring_listener_accept(struct ring_listener *l, ring_authorize_fn *authorize,
			 void *arg, struct ring_peer **out);
void ring_listener_close(struct ring_listener *l);

/*
 * Backend: the peer for frontend device `device` (its store path) of
 * domain `domid`, when the transport needs no link.  Deploy mode: a fresh
 * peer on the grant and event-channel devices, owned by the caller
 * (ring_peer_close); Xen itself checks every map and copy against the
 * frontend's grant table.  Dev mode: -EAGAIN always (the peer arrives on
 * its link through ring_listener_accept).  Returns 0, -EAGAIN, -EINVAL
 * (device over 135 chars), -ENOMEM, or -errno from opening gntdev.
 * Never blocks.
 */
int ring_listener_peer(struct ring_listener *l, uint16_t domid,
		       const char *device, struct ring_peer **out);

uint16_t ring_peer_domid(const struct ring_peer *p);
const char *ring_peer_device(const struct ring_peer *p);

/*
 * The link fd: readable when the frontend sent more channels or went away.
 * Then call ring_peer_process (never blocks; handles up to 64 records per
 * call, so call again while the fd stays readable): 0 if still alive,
 * -EPIPE once the frontend has gone, -EPROTO for a malformed record, a
 * port sent twice, or fds that are not non-blocking eventfds (logged
 * once; drop the peer).  Both results are sticky.
 */
int ring_peer_fd(const struct ring_peer *p);
int ring_peer_process(struct ring_peer *p);

/*
 * Map the page `ref` the peer granted us: check its grant entry (permit,
 * our domid, writable if asked) and set GTF_reading (and GTF_writing) in
 * one compare-and-swap.  writable=false gives a read-only view.
 * A ref may be mapped several times; each map needs an unmap, and the
 * entry stays marked in use (writing too, if any map was writable) until
 * the last one.  Returns 0 with *addr (RING_PAGE_SIZE bytes, valid until
 * unmap or close), -EPERM if ref is not granted to us, is read-only and
 * writable was asked, or its entry is inconsistent, -EINVAL for a ref
 * outside the arenas (the table's own pages included), -EOVERFLOW.
 */
int ring_peer_map(struct ring_peer *p, uint32_t ref, bool writable,
		  void **addr);
/* Undo one ring_peer_map.  Returns 0, or -EINVAL if ref is not mapped. */
int ring_peer_unmap(struct ring_peer *p, uint32_t ref);

/*
 * Grant copy (GNTTABOP_copy): copy len bytes between our buffer and the
 * peer's page ref at offset off, checking the grant each time.
 * Returns 0, -EINVAL if off + len > RING_PAGE_SIZE or ref is bad,
 * -EPERM if not granted (or read-only for copy_to).
 */
int ring_peer_copy_from(struct ring_peer *p, uint32_t ref, uint32_t off,
			void *dst, uint32_t len);
int ring_peer_copy_to(struct ring_peer *p, uint32_t ref, uint32_t off,
		      const void *src, uint32_t len);

/*
 * Several grant copies in one go (one GNTTABOP_copy hypercall batch on
 * Xen, where each call is a system call and a hypercall).  Each op copies
 * len bytes between buf (ours, borrowed for the call) and the peer's page
 * ref at off: towards the peer if to_peer, from it otherwise.  Every op
 * is tried; its status is set to what ring_peer_copy_from/copy_to would
 * return for it.  Returns 0 if all succeeded, else the first failing op's
 * status (-EINVAL, -EPERM, -ESRCH: the peer domain is gone), or -errno
 * if the batch could not be issued at all (statuses then undefined).
 * n = 0 is fine.  Never blocks.
 */
struct ring_copy {
	void *buf;
	uint32_t ref;
	uint16_t off;
	uint16_t len;
	bool to_peer;
	int status;
};
int ring_peer_copy_batch(struct ring_peer *p, struct ring_copy *ops,
			 unsigned n);

/*
 * Bind the peer's event channel `port` (xenevtchn bind_interdomain).
 * Returns 0, -EAGAIN if that port has not arrived on the link yet (call
 * ring_peer_process first), -ENOENT if the peer has no such port (port 0,
 * beyond 1024, or the link is gone and it never came), -EBUSY if already
 * bound, -errno.  The returned end is the caller's; close it with
 * ring_evtchn_close.
 */
int ring_peer_bind(struct ring_peer *p, uint32_t port,
		   struct ring_evtchn **out);

/*
 * Unbind an end ring_peer_bind returned (xenevtchn_unbind): ev is freed,
 * and the port can be bound again, e.g. when the frontend reuses its
 * channel for a new ring.  Anything other than an end bound through p is
 * simply closed (ring_evtchn_close).  NULL ev is ok.  Never blocks.
 */
void ring_peer_unbind(struct ring_peer *p, struct ring_evtchn *ev);

/*
 * Backend, dev mode: offer the frontend a read-only mapping of memfd (len
 * bytes, 1 byte .. 1 MiB), under an id the protocol chooses (e.g. clockd's
 * time page).  memfd stays the caller's: the link carries a copy.  It must
 * be a memfd of exactly len bytes sealed F_SEAL_FUTURE_WRITE (or
 * F_SEAL_WRITE), F_SEAL_SHRINK and F_SEAL_GROW, so that the frontend can
 * neither write it nor see it shrink.  The frontend keeps at most 16
 * offers and the first one of each id.  Never blocks.
 * Returns 0, -EINVAL (not such a memfd, bad len), -EAGAIN if the link's
 * send buffer is full, -EPIPE if the frontend has gone, -EPROTO if the
 * link is broken, or -errno.
 */
int ring_peer_offer(struct ring_peer *p, uint32_t id, int memfd, size_t len);

/* Clear our in-use marks, unmap everything, close the link and unbound
 * channels.  NULL is ok. */
void ring_peer_close(struct ring_peer *p);

#endif /* MORGANA_SHARE_H */
