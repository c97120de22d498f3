/*
 * Dev-mode mapping (the backend half of morgana/share.h): the listener
 * that receives links, and the per-frontend peer that maps its grants and
 * binds its channels.
 *
 * A peer's arenas are mapped whole, once, at accept: the rw arena twice
 * (read-write, and a read-only view handed out for read-only maps of its
 * pages) and the ro arena PROT_READ.  ring_peer_map is then bookkeeping
 * in the grant table, as Xen's hypervisor does it: check the entry and
 * mark it in use in one compare-and-swap.  The memory itself was
 * reachable all along; what keeps a backend from seeing other pages is
 * that the arenas only ever hold pages made for it.
 *
 * The frontend is hostile: its records are copied and validated
 * (link.c), every received fd is checked for what it claims to be, and
 * the grant table is read once per check, its copy validated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "shm/share_internal.h"
#include "shm/shm_internal.h"

/* Connections accepted whose hello has not arrived yet.  A full table
 * drops the oldest, so idle connectors cannot lock out a real frontend
 * for longer than it takes to connect again. */
#define LISTENER_PENDING 16
/* Records handled per ring_peer_process call: a flood of channel
 * records cannot hold the caller's loop. */
#define PEER_BUDGET 64
/* Compare-and-swap attempts on an entry the granter keeps changing. */
#define GNT_RETRIES 16

struct pending {
	int fd;
	pid_t pid;
};

struct ring_listener {
	int fd;
	int ep;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct pending pend[LISTENER_PENDING];
	unsigned npend;
};

enum { CHAN_NONE, CHAN_ARRIVED, CHAN_BOUND };

struct peer_chan {
	int rx;		/* the frontend's tx: it writes, we read */
	int tx;		/* the frontend's rx */
	uint8_t state;
};

struct ring_peer {
	int link;
	pid_t pid;
	int dead;
	int broken;
	uint16_t domid;		/* the frontend's */
	uint16_t target;	/* the domid its grants must name */
	uint32_t rw_pages, ro_pages, nrefs, tpages;
	int rw_fd, ro_fd;
	unsigned char *rw, *rw_view, *ro;
	struct ring_gntent *table;
	uint32_t *nmap;		/* our maps of each ref */
	uint8_t *wmap;		/* 1 while any of them is writable */
	struct peer_chan *chans; /* [RING_LINK_MAX_PORTS + 1], lazily */
	char device[RING_LINK_DEVICE_MAX];
};

/* Listener */

int
ring_listener_open(const char *path, struct ring_listener **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ring_listener *l;
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		/* Replace a socket left by a dead backend; never a file that
		 * is something else. */
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->ep = -1;
	strcpy(l->path, path);
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (l->fd < 0) {
		rc = -errno;
		free(l);
		return rc;
	}
	/* The socket inode's mode becomes the file's at bind: 0600 from the
	 * first instant, not after a window. */
	if (fchmod(l->fd, 0600) < 0 ||
	    bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail_errno;
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0)
		goto fail_unlink;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (listen(l->fd, 64) < 0)
		goto fail_unlink;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		goto fail_unlink;
	ev.data.fd = l->fd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->fd, &ev) < 0)
		goto fail_unlink;
	*out = l;
	return 0;
fail_unlink:
	rc = -errno;
	unlink(path);
	goto fail;
fail_errno:
	rc = -errno;
fail:
	if (l->ep >= 0)
		close(l->ep);
	close(l->fd);
	free(l);
	return rc;
}

int
ring_listener_fd(const struct ring_listener *l)
{
	return l->ep;
}

static void
pending_drop(struct ring_listener *l, unsigned i)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, l->pend[i].fd, NULL);
	close(l->pend[i].fd);
	l->pend[i] = l->pend[--l->npend];
}

static void
listener_take_new(struct ring_listener *l)
{
	for (int budget = LISTENER_PENDING; budget > 0; budget--) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int fd;

		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			close(fd);
			continue;
		}
		if (l->npend == LISTENER_PENDING) {
			ring_log(RING_LOG_WARN,
				 "msg=\"link dropped: no hello before newer "
				 "connections\" pid=%d", (int)l->pend[0].pid);
			pending_drop(l, 0);
		}
		ev.data.fd = fd;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		l->pend[l->npend++] = (struct pending){ .fd = fd,
							.pid = cred.pid };
	}
}

static int
is_eventfd(int fd)
{
	char lnk[64], buf[32];
	ssize_t n;
	int fl;

	snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", fd);
	n = readlink(lnk, buf, sizeof(buf) - 1);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	if (strcmp(buf, "anon_inode:[eventfd]") != 0)
		return 0;
	/* A blocking eventfd could stall our notify or consume. */
	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* Is fd a memfd of exactly pages pages, sealed against resizing (so our
 * mapping never faults) and, for ro, against writes through new maps? */
static const char *
arena_check(int fd, uint32_t pages, int ro)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return "arena is not a memfd";
	if ((uint64_t)st.st_size != (uint64_t)pages * RING_PAGE_SIZE)
		return "arena size does not match its page count";
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return "arena is not a memfd";
	if (!(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW))
		return "arena is not sealed against resizing";
	if (ro && !(seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE)))
		return "read-only arena is not sealed against writes";
	return NULL;
}

static void
peer_free(struct ring_peer *p)
{
	if (p->rw != NULL && p->rw != MAP_FAILED)
		munmap(p->rw, (size_t)p->rw_pages * RING_PAGE_SIZE);
	if (p->rw_view != NULL && p->rw_view != MAP_FAILED)
		munmap(p->rw_view, (size_t)p->rw_pages * RING_PAGE_SIZE);
	if (p->ro != NULL && p->ro != MAP_FAILED)
		munmap(p->ro, (size_t)p->ro_pages * RING_PAGE_SIZE);
	if (p->rw_fd >= 0)
		close(p->rw_fd);
	if (p->ro_fd >= 0)
		close(p->ro_fd);
	if (p->chans != NULL)
		for (uint32_t i = 0; i <= RING_LINK_MAX_PORTS; i++)
			if (p->chans[i].state == CHAN_ARRIVED) {
				close(p->chans[i].rx);
				close(p->chans[i].tx);
			}
	if (p->link >= 0)
		close(p->link);
	free(p->chans);
	free(p->nmap);
	free(p->wmap);
	free(p);
}

/*
 * Turn a received hello into a peer.  Takes fds (closing them on error)
 * but not the link.  *why says what was wrong, for the one log line.
 */
static int
peer_from_hello(const void *buf, long n, int *fds, unsigned nfds,
		pid_t pid, ring_authorize_fn *authorize, void *arg,
		struct ring_peer **out, const char **why, uint16_t *domid)
{
	struct ring_link_hello_info h;
	struct ring_peer *p;
	size_t rwlen, rolen;

	if (ring_link__decode_hello(buf, (size_t)n, nfds, &h) < 0) {
		*why = "malformed hello";
		ring_link__close_fds(fds, nfds);
		return -EPROTO;
	}
	*domid = h.self;
	if (authorize(arg, h.self, pid) != 0) {
		*why = "not authorized for this domid";
		ring_link__close_fds(fds, nfds);
		return -EPERM;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		ring_link__close_fds(fds, nfds);
		*why = "out of memory";
		return -ENOMEM;
	}
	p->link = -1;
	p->rw_fd = fds[0];
	p->ro_fd = fds[1];
	p->pid = pid;
	p->domid = h.self;
	p->target = h.peer;
	p->rw_pages = h.rw_pages;
	p->ro_pages = h.ro_pages;
	p->nrefs = h.rw_pages + h.ro_pages;
	p->tpages = ring_gnt_table_pages(p->nrefs);
	memcpy(p->device, h.device, sizeof(p->device));
	if ((*why = arena_check(p->rw_fd, p->rw_pages, 0)) != NULL ||
	    (*why = arena_check(p->ro_fd, p->ro_pages, 1)) != NULL) {
		peer_free(p);
		return -EPROTO;
	}
	rwlen = (size_t)p->rw_pages * RING_PAGE_SIZE;
	rolen = (size_t)p->ro_pages * RING_PAGE_SIZE;
	p->rw = mmap(NULL, rwlen, PROT_READ | PROT_WRITE, MAP_SHARED,
		     p->rw_fd, 0);
	p->rw_view = mmap(NULL, rwlen, PROT_READ, MAP_SHARED, p->rw_fd, 0);
	p->ro = mmap(NULL, rolen, PROT_READ, MAP_SHARED, p->ro_fd, 0);
	if (p->rw == MAP_FAILED || p->rw_view == MAP_FAILED ||
	    p->ro == MAP_FAILED) {
		*why = "arena cannot be mapped";
		peer_free(p);
		return -EPROTO;
	}
	p->table = (struct ring_gntent *)(void *)p->rw;
	p->nmap = calloc(p->nrefs, sizeof(*p->nmap));
	p->wmap = calloc(p->nrefs, sizeof(*p->wmap));
	if (p->nmap == NULL || p->wmap == NULL) {
		*why = "out of memory";
		peer_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

int
ring_listener_accept(struct ring_listener *l, ring_authorize_fn *authorize,
		     void *arg, struct ring_peer **out)
{
	if (authorize == NULL)
		return -EINVAL;
	listener_take_new(l);
	for (unsigned i = 0; i < l->npend;) {
		int fds[RING_LINK_MAX_FDS];
		unsigned nfds;
		const char *why = NULL;
		uint16_t domid = 0;
		struct pending c = l->pend[i];
		long n;
		int rc;

		/* One byte more than a hello, so that a longer record shows
		 * as the wrong size even where MSG_TRUNC would not. */
		char rec[sizeof(struct ring_link_hello) + 1];

		n = ring_link__recv(c.fd, rec, sizeof(rec), fds, &nfds);
		if (n == -EAGAIN) {
			i++;
			continue;
		}
		if (n == 0 || n == -EPIPE) {
			ring_log(RING_LOG_INFO,
				 "msg=\"link closed before its hello\" pid=%d",
				 (int)c.pid);
			pending_drop(l, i);
			continue;
		}
		if (n < 0) {
			ring_log(RING_LOG_WARN,
				 "msg=\"link dropped: bad hello record\" "
				 "pid=%d err=%d", (int)c.pid, (int)-n);
			pending_drop(l, i);
			return n == -EPROTO ? -EPROTO : (int)n;
		}
		rc = peer_from_hello(rec, n, fds, nfds, c.pid, authorize, arg,
				     out, &why, &domid);
		if (rc < 0) {
			ring_log(RING_LOG_WARN,
				 "msg=\"link refused: %s\" pid=%d domid=%u",
				 why, (int)c.pid, (unsigned)domid);
			pending_drop(l, i);
			return rc;
		}
		/* The connection now belongs to the peer. */
		epoll_ctl(l->ep, EPOLL_CTL_DEL, c.fd, NULL);
		(*out)->link = c.fd;
		l->pend[i] = l->pend[--l->npend];
		ring_log(RING_LOG_DEBUG,
			 "msg=\"link accepted\" pid=%d domid=%u device=%s",
			 (int)c.pid, (unsigned)(*out)->domid, (*out)->device);
		return 0;
	}
	return -EAGAIN;
}

int
ring_peer_copy_batch(struct ring_peer *p, struct ring_copy *ops, unsigned n)
{
	int first = 0;

	/* Dev mode: a copy is a memcpy, there is nothing to batch. */
	for (unsigned i = 0; i < n; i++) {
		struct ring_copy *o = &ops[i];

		o->status = o->to_peer ?
			ring_peer_copy_to(p, o->ref, o->off, o->buf, o->len) :
			ring_peer_copy_from(p, o->ref, o->off, o->buf, o->len);
		if (o->status < 0 && first == 0)
			first = o->status;
	}
	return first;
}

int
ring_listener_peer(struct ring_listener *l, uint16_t domid,
		   const char *device, struct ring_peer **out)
{
	/* Dev mode: a peer only ever comes with its link. */
	(void)l;
	(void)domid;
	(void)device;
	(void)out;
	return -EAGAIN;
}

void
ring_listener_close(struct ring_listener *l)
{
	struct stat st;

	if (l == NULL)
		return;
	while (l->npend > 0)
		pending_drop(l, 0);
	close(l->ep);
	close(l->fd);
	/* Only our own socket file: a newer listener may have replaced it. */
	if (stat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	free(l);
}

/* Peer */

uint16_t
ring_peer_domid(const struct ring_peer *p)
{
	return p->domid;
}

const char *
ring_peer_device(const struct ring_peer *p)
{
	return p->device;
}

int
ring_peer_fd(const struct ring_peer *p)
{
	return p->link;
}

static int
peer_chan_record(struct ring_peer *p, const void *rec, long n, int *fds,
		 unsigned nfds)
{
	uint32_t port;
	const char *why;

	if (ring_link__decode_chan(rec, (size_t)n, nfds, &port) < 0) {
		why = "malformed channel record";
		goto bad;
	}
	if (p->chans == NULL) {
		p->chans = calloc(RING_LINK_MAX_PORTS + 1, sizeof(*p->chans));
		if (p->chans == NULL) {
			ring_link__close_fds(fds, nfds);
			return -ENOMEM;
		}
	}
	if (p->chans[port].state != CHAN_NONE) {
		why = "channel port sent twice";
		goto bad;
	}
	if (!is_eventfd(fds[0]) || !is_eventfd(fds[1])) {
		why = "channel fds are not non-blocking eventfds";
		goto bad;
	}
	p->chans[port] = (struct peer_chan){ .rx = fds[1], .tx = fds[0],
					     .state = CHAN_ARRIVED };
	return 0;
bad:
	ring_link__close_fds(fds, nfds);
	ring_log(RING_LOG_WARN, "msg=\"link broken: %s\" domid=%u device=%s",
		 why, (unsigned)p->domid, p->device);
	p->broken = 1;
	return -EPROTO;
}

int
ring_peer_process(struct ring_peer *p)
{
	if (p->broken)
		return -EPROTO;
	if (p->dead)
		return -EPIPE;
	for (int budget = PEER_BUDGET; budget > 0; budget--) {
		struct ring_link_chan rec[2];	/* room to see "too long" */
		int fds[RING_LINK_MAX_FDS];
		unsigned nfds;
		long n;
		int rc;

		n = ring_link__recv(p->link, rec, sizeof(rec), fds, &nfds);
		if (n == -EAGAIN)
			return 0;
		if (n == 0 || n == -EPIPE) {
			p->dead = 1;
			return -EPIPE;
		}
		if (n < 0) {
			ring_log(RING_LOG_WARN,
				 "msg=\"link broken: bad record\" domid=%u "
				 "device=%s err=%d", (unsigned)p->domid,
				 p->device, (int)-n);
			p->broken = 1;
			return n == -EPROTO ? -EPROTO : (int)n;
		}
		if ((rc = peer_chan_record(p, rec, n, fds, nfds)) < 0)
			return rc;
	}
	return 0;
}

/* Is ref a page of the arenas (not the table, not beyond)? */
static int
ref_ok(const struct ring_peer *p, uint32_t ref)
{
	return ref >= p->tpages && ref < p->nrefs;
}

/*
 * Check that ref is granted to us (writable if need_write) and set `bits`
 * in its entry, in one compare-and-swap on a private copy of the entry,
 * as Xen's _set_status does.  bits may be 0: then it only checks.
 */
static int
gnt_acquire(struct ring_peer *p, uint32_t ref, int need_write, uint32_t bits)
{
	struct ring_gntent *e = &p->table[ref];
	int ro_arena = ref >= p->rw_pages;
	uint32_t frame = ro_arena ? ref - p->rw_pages : ref;
	uint32_t w;

	if (need_write && ro_arena)
		return -EPERM;
	/* Acquire: pairs with the granter's release of the flags, so the
	 * frame and the zeroed page are seen once the permit bit is. */
	w = atomic_load_explicit(&e->flags_domid, memory_order_acquire);
	for (int tries = 0;; tries++) {
		uint32_t f = w & 0xffffu;

		if ((f & RING_GTF_type_mask) != RING_GTF_permit_access ||
		    (w >> 16) != p->target)
			return -EPERM;
		if (need_write && (f & RING_GTF_readonly))
			return -EPERM;
		if (atomic_load_explicit(&e->frame, memory_order_relaxed) !=
		    frame)
			return -EPERM;
		if ((w | bits) == w)
			return 0;
		if (atomic_compare_exchange_weak_explicit(
			    &e->flags_domid, &w, w | bits,
			    memory_order_acq_rel, memory_order_acquire))
			return 0;
		if (tries == GNT_RETRIES) {
			ring_log(RING_LOG_WARN,
				 "msg=\"grant entry unstable\" domid=%u ref=%u",
				 (unsigned)p->domid, ref);
			return -EPERM;
		}
	}
}

/* Release: our accesses to the page happen before the granter can see
 * the bits clear and revoke. */
static void
gnt_release(struct ring_peer *p, uint32_t ref, uint32_t bits)
{
	if (bits != 0)
		atomic_fetch_and_explicit(&p->table[ref].flags_domid, ~bits,
					  memory_order_release);
}

static uint32_t
held_bits(const struct ring_peer *p, uint32_t ref)
{
	return (p->nmap[ref] ? RING_GTF_reading : 0) |
	       (p->wmap[ref] ? RING_GTF_writing : 0);
}

static unsigned char *
page_of(const struct ring_peer *p, uint32_t ref, int writable)
{
	if (ref >= p->rw_pages)
		return p->ro + (size_t)(ref - p->rw_pages) * RING_PAGE_SIZE;
	return (writable ? p->rw : p->rw_view) + (size_t)ref * RING_PAGE_SIZE;
}

int
ring_peer_map(struct ring_peer *p, uint32_t ref, bool writable, void **addr)
{
	uint32_t bits = RING_GTF_reading | (writable ? RING_GTF_writing : 0);
	int rc;

	if (!ref_ok(p, ref))
		return -EINVAL;
	if (p->nmap[ref] == UINT32_MAX)
		return -EOVERFLOW;
	if ((rc = gnt_acquire(p, ref, writable, bits & ~held_bits(p, ref))) < 0)
		return rc;
	p->nmap[ref]++;
	if (writable)
		p->wmap[ref] = 1;
	*addr = page_of(p, ref, writable);
	return 0;
}

int
ring_peer_unmap(struct ring_peer *p, uint32_t ref)
{
	if (!ref_ok(p, ref) || p->nmap[ref] == 0)
		return -EINVAL;
	if (--p->nmap[ref] == 0) {
		gnt_release(p, ref, held_bits(p, ref) | RING_GTF_reading);
		p->wmap[ref] = 0;
	}
	return 0;
}

static int
copy_check(const struct ring_peer *p, uint32_t ref, uint32_t off,
	   uint32_t len)
{
	if (!ref_ok(p, ref) || off > RING_PAGE_SIZE ||
	    len > RING_PAGE_SIZE - off)
		return -EINVAL;
	return 0;
}

int
ring_peer_copy_from(struct ring_peer *p, uint32_t ref, uint32_t off,
		    void *dst, uint32_t len)
{
	uint32_t bits;
	int rc;

	if ((rc = copy_check(p, ref, off, len)) < 0)
		return rc;
	bits = RING_GTF_reading & ~held_bits(p, ref);
	if ((rc = gnt_acquire(p, ref, 0, bits)) < 0)
		return rc;
	memcpy(dst, page_of(p, ref, 0) + off, len);
	gnt_release(p, ref, bits);
	return 0;
}

int
ring_peer_copy_to(struct ring_peer *p, uint32_t ref, uint32_t off,
		  const void *src, uint32_t len)
{
	uint32_t bits;
	int rc;

	if ((rc = copy_check(p, ref, off, len)) < 0)
		return rc;
	bits = (RING_GTF_reading | RING_GTF_writing) & ~held_bits(p, ref);
	if ((rc = gnt_acquire(p, ref, 1, bits)) < 0)
		return rc;
	memcpy(page_of(p, ref, 1) + off, src, len);
	gnt_release(p, ref, bits);
	return 0;
}

int
ring_peer_bind(struct ring_peer *p, uint32_t port, struct ring_evtchn **out)
{
	struct peer_chan *c;
	int rc;

	if (port == 0 || port > RING_LINK_MAX_PORTS)
		return -ENOENT;
	if (p->chans == NULL || p->chans[port].state == CHAN_NONE)
		return p->dead || p->broken ? -ENOENT : -EAGAIN;
	c = &p->chans[port];
	if (c->state == CHAN_BOUND)
		return -EBUSY;
	if ((rc = ring_evtchn__from_fds(port, c->rx, c->tx, out)) < 0)
		return rc;
	c->state = CHAN_BOUND;
	return 0;
}

void
ring_peer_unbind(struct ring_peer *p, struct ring_evtchn *ev)
{
	uint32_t port;
	int rx, tx;

	if (ev == NULL)
		return;
	port = ring_evtchn_port(ev);
	ring_evtchn__fds(ev, &rx, &tx);
	/* Only the end this peer bound goes back; anything else is closed
	 * as ring_evtchn_close would. */
	if (p != NULL && p->chans != NULL && port >= 1 &&
	    port <= RING_LINK_MAX_PORTS && p->chans[port].state == CHAN_BOUND &&
	    p->chans[port].rx == rx && p->chans[port].tx == tx) {
		p->chans[port].state = CHAN_ARRIVED;
		ring_evtchn__forget(ev);
		return;
	}
	ring_evtchn_close(ev);
}

int
ring_peer__arena_fds(const struct ring_peer *p, int *rw, int *ro)
{
	*rw = p->rw_fd;
	*ro = p->ro_fd;
	return 0;
}

int
ring_peer_offer(struct ring_peer *p, uint32_t id, int memfd, size_t len)
{
	struct ring_link_offer o = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_OFFER, .id = id, .len = len,
	};
	const char *why;
	int rc;

	if (len == 0 || len > RING_LINK_OFFER_MAX_LEN || memfd < 0 ||
	    ring_link__offer_fd_ok(memfd, len, &why) < 0)
		return -EINVAL;
	if (p->broken)
		return -EPROTO;
	if (p->dead)
		return -EPIPE;
	rc = ring_link__send(p->link, &o, sizeof(o), &memfd, 1);
	if (rc == -EPIPE)
		p->dead = 1;
	return rc;
}

void
ring_peer_close(struct ring_peer *p)
{
	if (p == NULL)
		return;
	/* Our mappings die with us: tell the granter, so that it can revoke
	 * (Xen does this for a domain that unmaps or dies). */
	if (p->table != NULL && p->nmap != NULL)
		for (uint32_t r = p->tpages; r < p->nrefs; r++)
			if (p->nmap[r])
				gnt_release(p, r, held_bits(p, r));
	peer_free(p);
}
