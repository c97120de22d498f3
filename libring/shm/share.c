/*
 * Dev-mode granting (the frontend half of morgana/share.h).
 *
 * One ring_share per peer domain owns two memfd arenas made for that peer
 * alone: the rw arena, whose first page(s) hold the grant table, and the
 * ro arena, sealed against future writes before it can be sent.  Both are
 * mapped whole, read-write, in the granter; a grant is an index into them.
 * Our own bookkeeping of which refs are granted lives in private memory:
 * the table is shared with the mapper, who may scribble on it, so we only
 * ever read its GTF_reading/GTF_writing bits back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "shm/share_internal.h"
#include "shm/shm_internal.h"

struct share_chan {
	uint32_t port;
	int fe_rx;	/* our dups of the frontend end's fds, for (re)sending */
	int fe_tx;
};

struct share_arena {
	int fd;
	unsigned char *base;
	uint32_t first;		/* first ref of this arena */
	uint32_t pages;
	/* FIFO of free refs: a revoked ref is reused as late as possible,
	 * so a stale reference to it finds it ungranted for longer. */
	uint32_t *freeq;
	uint32_t head, count, cap;
};

/* An offer the backend made: mapped read-only, or remembered as bad.
 * Entries of an earlier connection stay mapped (the caller may still read
 * them) but are no longer found by id. */
struct share_offer {
	uint32_t id;
	uint8_t bad;
	uint8_t current;	/* offered on the live connection */
	const void *addr;
	size_t len;
};

/* Mappings kept across reconnects of one share: bounds what a backend
 * that keeps restarting can make us hold. */
#define SHARE_OFFERS_KEPT (4 * RING_LINK_MAX_OFFERS)

/* granted[]: a ref never handed out is still the memfd's zero page
 * (untouched, not resident); one handed out before must be cleared. */
enum { REF_FRESH = 0, REF_GRANTED = 1, REF_USED = 2 };

struct ring_share {
	uint16_t peer;
	uint32_t nrefs;
	struct share_arena rw, ro;
	struct ring_gntent *table;
	uint8_t *granted;	/* private: REF_* of each ref */
	struct share_chan *chans;
	uint32_t nchans, chans_cap;
	int link;		/* -1 until connected */
	int link_dead;
	struct share_offer offers[SHARE_OFFERS_KEPT];
	uint32_t noffers;	/* entries used in offers[] */
	uint32_t ncurrent;	/* of them, from the live connection */
	int full_logged;	/* "too many offers" said once per link */
};

static void
arena_free(struct share_arena *a)
{
	if (a->base != NULL && a->base != MAP_FAILED)
		munmap(a->base, (size_t)a->pages * RING_PAGE_SIZE);
	if (a->fd >= 0)
		close(a->fd);
	free(a->freeq);
}

static int
arena_make(struct share_arena *a, const char *name, uint32_t pages,
	   uint32_t first, uint32_t nfree, unsigned seals)
{
	size_t len = (size_t)pages * RING_PAGE_SIZE;

	a->fd = -1;
	a->base = NULL;
	a->pages = pages;
	a->first = first;
	a->freeq = calloc(nfree ? nfree : 1, sizeof(*a->freeq));
	if (a->freeq == NULL)
		return -ENOMEM;
	a->cap = nfree;
	a->count = nfree;
	a->head = 0;
	for (uint32_t i = 0; i < nfree; i++)
		a->freeq[i] = first + (pages - nfree) + i;
	a->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (a->fd < 0)
		return -errno;
	if (ftruncate(a->fd, (off_t)len) < 0)
		return -errno;
	/* Map writable before sealing: F_SEAL_FUTURE_WRITE keeps existing
	 * writable mappings (ours) and refuses every later one (the peer's). */
	a->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (a->base == MAP_FAILED)
		return -errno;
	/* Fixed size on both sides: a peer that shrank the file would make
	 * our own accesses fault. */
	if (fcntl(a->fd, F_ADD_SEALS, seals) < 0)
		return -errno;
	return 0;
}

int
ring_share_open(uint16_t peer, const struct ring_share_opts *opts,
		struct ring_share **out)
{
	uint32_t rw = 256, ro = 64, tpages;
	struct ring_share *s;
	int rc;

	if (opts != NULL) {
		if (opts->sz < offsetof(struct ring_share_opts, ro_pages) +
			       sizeof(opts->ro_pages))
			return -EINVAL;
		if (opts->rw_pages != 0)
			rw = opts->rw_pages;
		if (opts->ro_pages != 0)
			ro = opts->ro_pages;
	}
	if ((uint64_t)rw + ro > RING_SHARE_MAX_REFS)
		return -EINVAL;
	tpages = ring_gnt_table_pages(rw + ro);
	if (rw <= tpages)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->peer = peer;
	s->nrefs = rw + ro;
	s->link = -1;
	s->rw.fd = s->ro.fd = -1;
	s->granted = calloc(s->nrefs, 1);
	if (s->granted == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = arena_make(&s->rw, "morgana-grant-rw", rw, 0, rw - tpages,
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	if (rc < 0)
		goto fail;
	rc = arena_make(&s->ro, "morgana-grant-ro", ro, rw, ro,
			F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW |
			F_SEAL_SEAL);
	if (rc < 0)
		goto fail;
	s->table = (struct ring_gntent *)(void *)s->rw.base;
	*out = s;
	return 0;
fail:
	ring_share_close(s);
	return rc;
}

static struct share_arena *
arena_of(struct ring_share *s, uint32_t ref)
{
	return ref >= s->ro.first ? &s->ro : &s->rw;
}

int
ring_share_grant(struct ring_share *s, bool readonly, uint32_t *ref,
		 void **addr)
{
	struct share_arena *a = readonly ? &s->ro : &s->rw;
	uint32_t r, frame, flags;
	void *page;

	if (a->count == 0)
		return -ENOSPC;
	r = a->freeq[a->head];
	a->head = (a->head + 1) % a->cap;
	a->count--;
	frame = r - a->first;
	page = a->base + (size_t)frame * RING_PAGE_SIZE;
	/* XSA-403: nothing from an earlier use of the page reaches the peer.
	 * A fresh page is zero already: left untouched, it costs no memory
	 * until someone writes it. */
	if (s->granted[r] == REF_USED)
		memset(page, 0, RING_PAGE_SIZE);
	flags = RING_GTF_permit_access | (readonly ? RING_GTF_readonly : 0);
	atomic_store_explicit(&s->table[r].frame, frame, memory_order_relaxed);
	/* Release: the zeroed page and the frame are visible before the
	 * mapper can see the permit bit. */
	atomic_store_explicit(&s->table[r].flags_domid,
			      flags | (uint32_t)s->peer << 16,
			      memory_order_release);
	s->granted[r] = REF_GRANTED;
	*ref = r;
	*addr = page;
	return 0;
}

int
ring_share_revoke(struct ring_share *s, uint32_t ref)
{
	struct share_arena *a;
	uint32_t w;

	if (ref >= s->nrefs || s->granted[ref] != REF_GRANTED)
		return -EINVAL;
	/* gnttab_end_foreign_access_ref: only an entry the mapper is not
	 * using may be cleared, and the clearing must not race a map. */
	w = atomic_load_explicit(&s->table[ref].flags_domid,
				 memory_order_acquire);
	do {
		if (w & (RING_GTF_reading | RING_GTF_writing))
			return -EBUSY;
	} while (!atomic_compare_exchange_weak_explicit(
			&s->table[ref].flags_domid, &w, 0,
			memory_order_acq_rel, memory_order_acquire));
	s->granted[ref] = REF_USED;
	a = arena_of(s, ref);
	a->freeq[(a->head + a->count) % a->cap] = ref;
	a->count++;
	return 0;
}

/* Drop the mapper's in-use marks: it has gone, as Xen clears a dead
 * domain's mappings, so that its pages can be revoked and reused. */
static void
share_clear_use(struct ring_share *s)
{
	for (uint32_t r = 0; r < s->nrefs; r++)
		if (s->granted[r] == REF_GRANTED)
			atomic_fetch_and_explicit(
				&s->table[r].flags_domid,
				~(uint32_t)(RING_GTF_reading | RING_GTF_writing),
				memory_order_acq_rel);
}

static void
share_link_died(struct ring_share *s)
{
	s->link_dead = 1;
	share_clear_use(s);
}

static int
send_chan(int link, const struct share_chan *c)
{
	struct ring_link_chan m = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_CHAN, .port = c->port,
	};
	int fds[2] = { c->fe_rx, c->fe_tx };

	return ring_link__send(link, &m, sizeof(m), fds, 2);
}

int
ring_share_evtchn(struct ring_share *s, struct ring_evtchn **out)
{
	struct share_chan *c;
	int a, b, rc;

	if (s->nchans >= RING_LINK_MAX_PORTS)
		return -ENOSPC;
	if (s->nchans == s->chans_cap) {
		uint32_t cap = s->chans_cap ? s->chans_cap * 2 : 4;
		void *p = realloc(s->chans, cap * sizeof(*s->chans));

		if (p == NULL)
			return -ENOMEM;
		s->chans = p;
		s->chans_cap = cap;
	}
	c = &s->chans[s->nchans];
	c->port = s->nchans + 1;
	if ((rc = ring_evtchn__new_fds(&a, &b)) < 0)
		return rc;
	c->fe_rx = fcntl(a, F_DUPFD_CLOEXEC, 0);
	c->fe_tx = fcntl(b, F_DUPFD_CLOEXEC, 0);
	if (c->fe_rx < 0 || c->fe_tx < 0) {
		rc = -errno;
		goto fail;
	}
	if (s->link >= 0 && !s->link_dead) {
		rc = send_chan(s->link, c);
		/* A backend that has gone gets the channel on reconnect. */
		if (rc == -EPIPE)
			share_link_died(s);
		else if (rc < 0)
			goto fail;
	}
	if ((rc = ring_evtchn__from_fds(c->port, a, b, out)) < 0)
		goto fail;
	s->nchans++;
	return 0;
fail:
	if (c->fe_rx >= 0)
		close(c->fe_rx);
	if (c->fe_tx >= 0)
		close(c->fe_tx);
	close(a);
	close(b);
	return rc;
}

int
ring_share_connect(struct ring_share *s, const char *path, pid_t peer_pid,
		   uint16_t self, const char *device)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ring_link_hello h = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_HELLO, .self = self, .peer = s->peer,
		.rw_pages = s->rw.pages, .ro_pages = s->ro.pages,
	};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, rc, fds[2] = { s->rw.fd, s->ro.fd };

	if (path == NULL)
		return -ENOENT;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (!ring_link__device_ok(device))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	strcpy(h.device, device);
	if (s->link >= 0) {
		/* Reconnecting, e.g. to a restarted backend. */
		close(s->link);
		s->link = -1;
		share_clear_use(s);
	}
	/* A new backend offers afresh; the old mappings stay readable. */
	for (uint32_t i = 0; i < s->noffers; i++)
		s->offers[i].current = 0;
	s->ncurrent = 0;
	s->full_logged = 0;
	s->link_dead = 0;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto fail;
	}
	/* The listener's credentials were fixed when it called listen(): an
	 * impostor on the path gets nothing, not even the hello. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		rc = -errno;
		goto fail;
	}
	if (cred.pid != peer_pid) {
		ring_log(RING_LOG_WARN,
			 "msg=\"link listener is not the expected backend\" "
			 "path=%s peer=%u want_pid=%d pid=%d", path,
			 (unsigned)s->peer, (int)peer_pid, (int)cred.pid);
		rc = -EPERM;
		goto fail;
	}
	if ((rc = ring_link__send(fd, &h, sizeof(h), fds, 2)) < 0)
		goto fail;
	for (uint32_t i = 0; i < s->nchans; i++)
		if ((rc = send_chan(fd, &s->chans[i])) < 0)
			goto fail;
	s->link = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

int
ring_share_fd(const struct ring_share *s)
{
	return s->link;
}

static struct share_offer *
offer_find(struct ring_share *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->noffers; i++)
		if (s->offers[i].current && s->offers[i].id == id)
			return &s->offers[i];
	return NULL;
}

/* One offer record and its fds: map it, or remember it as bad.  Every fd
 * is closed here, whatever happens. */
static int
share_offer_record(struct ring_share *s, const void *rec, long n, int *fds,
		   unsigned nfds)
{
	struct share_offer *o;
	const char *why = NULL;
	uint64_t len = 0;
	uint32_t id = 0;
	void *addr;
	int rc = -EPROTO;

	if (ring_link__decode_offer(rec, (size_t)n, nfds, &id, &len) < 0) {
		why = "malformed record";
		goto out;
	}
	if (offer_find(s, id) != NULL) {
		why = "offer id sent twice";
		goto out;
	}
	if (s->ncurrent >= RING_LINK_MAX_OFFERS ||
	    s->noffers >= SHARE_OFFERS_KEPT) {
		why = s->full_logged ? NULL : "too many offers";
		s->full_logged = 1;
		goto out;
	}
	o = &s->offers[s->noffers];
	*o = (struct share_offer){ .id = id, .current = 1, .bad = 1 };
	if (ring_link__offer_fd_ok(fds[0], len, &why) == 0) {
		addr = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fds[0], 0);
		if (addr == MAP_FAILED) {
			rc = -errno;
			why = "offer cannot be mapped";
			goto out;
		}
		o->addr = addr;
		o->len = (size_t)len;
		o->bad = 0;
		why = NULL;
		rc = 0;
	}
	/* Remembered either way, so that ring_share_offer can tell a bad
	 * offer from one that has not arrived. */
	s->noffers++;
	s->ncurrent++;
out:
	ring_link__close_fds(fds, nfds);
	if (why != NULL)
		ring_log(RING_LOG_WARN,
			 "msg=\"link: backend offer refused: %s\" peer=%u id=%u",
			 why, (unsigned)s->peer, id);
	return rc;
}

int
ring_share_process(struct ring_share *s)
{
	int ret = 0;

	if (s->link < 0)
		return -ENOTCONN;
	if (s->link_dead)
		return -EPIPE;
	/* Bounded so that a chatty peer cannot hold us here. */
	for (int i = 0; i < 64; i++) {
		struct ring_link_offer rec[2];	/* room to see "too long" */
		int fds[RING_LINK_MAX_FDS];
		unsigned nfds;
		long n;
		int rc;

		n = ring_link__recv(s->link, rec, sizeof(rec), fds, &nfds);
		if (n == -EAGAIN)
			return ret;
		if (n == -EINTR)
			continue;
		if (n == 0 || n == -EPIPE) {
			share_link_died(s);
			return -EPIPE;
		}
		if (n < 0) {
			/* Truncated record or control data: its fds are
			 * closed already. */
			ring_log(RING_LOG_WARN,
				 "msg=\"link: bad record from backend\" peer=%u "
				 "err=%d", (unsigned)s->peer, (int)-n);
			ret = -EPROTO;
			continue;
		}
		rc = share_offer_record(s, rec, n, fds, nfds);
		if (rc < 0)
			ret = rc == -EPROTO ? -EPROTO : rc;
	}
	return ret;
}

int
ring_share_offer(struct ring_share *s, uint32_t id, const void **addr,
		 size_t *len)
{
	struct share_offer *o = offer_find(s, id);

	if (o == NULL)
		return -EAGAIN;
	if (o->bad)
		return -EPROTO;
	*addr = o->addr;
	*len = o->len;
	return 0;
}

int
ring_share_alive(struct ring_share *s)
{
	int rc = ring_share_process(s);

	/* A malformed offer is the protocol's business (ring_share_offer
	 * says -EPROTO); the backend is still there. */
	if (rc == -EPIPE || rc == -ENOTCONN)
		return rc;
	return 0;
}

void
ring_share_close(struct ring_share *s)
{
	if (s == NULL)
		return;
	if (s->link >= 0)
		close(s->link);
	/* Best effort, as gnttab_end_foreign_access: a page the peer still
	 * maps stays alive in its mapping of the memfd, and is never reused
	 * by us since the arena dies with this handle. */
	if (s->granted != NULL)
		for (uint32_t r = 0; r < s->nrefs; r++)
			if (s->granted[r] == REF_GRANTED)
				(void)ring_share_revoke(s, r);
	for (uint32_t i = 0; i < s->noffers; i++)
		if (s->offers[i].addr != NULL)
			munmap((void *)s->offers[i].addr, s->offers[i].len);
	for (uint32_t i = 0; i < s->nchans; i++) {
		close(s->chans[i].fe_rx);
		close(s->chans[i].fe_tx);
	}
	free(s->chans);
	arena_free(&s->rw);
	arena_free(&s->ro);
	free(s->granted);
	free(s);
}
