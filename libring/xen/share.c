/*
 * Grants on Xen (deploy mode): the frontend shares pages with gntalloc
 * (libxengnttab's xengntshr), the backend maps them with gntdev
 * (xengnttab) and copies payloads with GNTTABOP_copy.  There is no link:
 * a peer is just a domid, and its liveness is the store's business (the
 * toolstack removes the frontend's directory when the domain dies).
 *
 * Grant refs are Xen's own: the frontend publishes what gntalloc gave it,
 * the backend maps exactly that, and Xen checks every map and copy
 * against the granter's table, so nothing here has to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/grant_table.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/ring.h"
#include "morgana/share.h"
#include "xen/xen_internal.h"

#define SHARE_MAX_GRANTS 4096u	/* as the dev-mode arenas' limit, roughly */
#define SHARE_MAX_CHANNELS 1024u
#define PEER_MAX_MAPS 1024u

/* ---- frontend ----------------------------------------------------- */

struct grant {
	uint32_t ref;
	void *addr;
};

struct ring_share {
	xengntshr_handle *xgs;
	uint16_t peer;
	struct grant *g;
	uint32_t ng, cap;
	unsigned nchan;
};

int
ring_share_open(uint16_t peer, const struct ring_share_opts *opts,
		struct ring_share **out)
{
	struct ring_share *s;

	if (opts != NULL && opts->sz < sizeof(*opts))
		return -EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->peer = peer;
	s->xgs = xengntshr_open(NULL, 0);
	if (s->xgs == NULL) {
		int e = errno ? -errno : -ENODEV;

		free(s);
		return e;
	}
	*out = s;
	return 0;
}

int
ring_share_grant(struct ring_share *s, bool readonly, uint32_t *ref,
		 void **addr)
{
	void *p;
	uint32_t r;

	if (s->ng == SHARE_MAX_GRANTS)
		return -ENOSPC;
	if (s->ng == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct grant *g = realloc(s->g, cap * sizeof(*g));

		if (g == NULL)
			return -ENOMEM;
		s->g = g;
		s->cap = cap;
	}
	p = xengntshr_share_pages(s->xgs, s->peer, 1, &r, !readonly);
	if (p == NULL)
		return errno ? -errno : -ENOMEM;
	/* gntalloc hands out fresh zeroed pages; say so anyway (XSA-403). */
	memset(p, 0, RING_PAGE_SIZE);
	s->g[s->ng++] = (struct grant){ r, p };
	*ref = r;
	*addr = p;
	return 0;
}

int
ring_share_revoke(struct ring_share *s, uint32_t ref)
{
	for (uint32_t i = 0; i < s->ng; i++) {
		if (s->g[i].ref != ref)
			continue;
		/* gntalloc ends the grant now and frees the page only once
		 * the peer has unmapped it, so the page is never reused
		 * under a mapping (XSA-396); there is no -EBUSY to give. */
		xengntshr_unshare(s->xgs, s->g[i].addr, 1);
		s->g[i] = s->g[--s->ng];
		return 0;
	}
	return -EINVAL;
}

int
ring_share_evtchn(struct ring_share *s, struct ring_evtchn **out)
{
	int rc;

	if (s->nchan >= SHARE_MAX_CHANNELS)
		return -ENOSPC;
	if ((rc = ring_evtchn__unbound(s->peer, out)) < 0)
		return rc;
	s->nchan++;
	return 0;
}

int
ring_share_connect(struct ring_share *s, const char *path, pid_t peer_pid,
		   uint16_t self, const char *device)
{
	(void)s;
	(void)path;
	(void)peer_pid;
	(void)self;
	(void)device;
	return 0;
}

int
ring_share_fd(const struct ring_share *s)
{
	(void)s;
	return -1;
}

int
ring_share_alive(struct ring_share *s)
{
	/* The backend's death shows in the store (its state), not here. */
	(void)s;
	return 0;
}

int
ring_share_process(struct ring_share *s)
{
	(void)s;
	return 0;
}

int
ring_share_offer(struct ring_share *s, uint32_t id, const void **addr,
		 size_t *len)
{
	(void)s;
	(void)id;
	(void)addr;
	(void)len;
	return -EOPNOTSUPP;
}

void
ring_share_close(struct ring_share *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->ng; i++)
		xengntshr_unshare(s->xgs, s->g[i].addr, 1);
	free(s->g);
	xengntshr_close(s->xgs);
	free(s);
}

/* ---- backend ------------------------------------------------------ */

/* No link to listen on: an fd that never becomes readable keeps the
 * event loop's shape the same as in dev mode. */
struct ring_listener {
	int fd;
};

int
ring_listener_open(const char *path, struct ring_listener **out)
{
	struct ring_listener *l = calloc(1, sizeof(*l));

	(void)path;
	if (l == NULL)
		return -ENOMEM;
	l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->fd < 0) {
		int e = -errno;

		free(l);
		return e;
	}
	*out = l;
	return 0;
}

int
ring_listener_fd(const struct ring_listener *l)
{
	return l->fd;
}

int
ring_listener_accept(struct ring_listener *l, ring_authorize_fn *authorize,
		     void *arg, struct ring_peer **out)
{
	(void)l;
	(void)arg;
	(void)out;
	return authorize == NULL ? -EINVAL : -EAGAIN;
}

void
ring_listener_close(struct ring_listener *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}

struct map {
	uint32_t ref;
	void *addr;
};

struct ring_peer {
	xengnttab_handle *xgt;
	uint16_t domid;
	char device[136];
	struct map *m;
	uint32_t nm, cap;
};

int
ring_listener_peer(struct ring_listener *l, uint16_t domid,
		   const char *device, struct ring_peer **out)
{
	struct ring_peer *p;

	(void)l;
	if (strlen(device) >= sizeof(p->device))
		return -EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->xgt = xengnttab_open(NULL, 0);
	if (p->xgt == NULL) {
		int e = errno ? -errno : -ENODEV;

		free(p);
		return e;
	}
	p->domid = domid;
	strcpy(p->device, device);
	*out = p;
	return 0;
}

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
	(void)p;
	return -1;
}

int
ring_peer_process(struct ring_peer *p)
{
	(void)p;
	return 0;
}

int
ring_peer_map(struct ring_peer *p, uint32_t ref, bool writable, void **addr)
{
	void *a;

	if (p->nm == PEER_MAX_MAPS)
		return -EOVERFLOW;
	if (p->nm == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 8;
		struct map *m = realloc(p->m, cap * sizeof(*m));

		if (m == NULL)
			return -ENOMEM;
		p->m = m;
		p->cap = cap;
	}
	a = xengnttab_map_grant_ref(p->xgt, p->domid, ref,
				    PROT_READ | (writable ? PROT_WRITE : 0));
	if (a == NULL) {
		/* gntdev reports a refused map as EINVAL or EFAULT alike:
		 * to the caller it is a ref it may not map. */
		ring_log(RING_LOG_DEBUG, "msg=\"grant map failed\" domid=%u ref=%u errno=%d",
			 p->domid, ref, errno);
		return -EPERM;
	}
	p->m[p->nm++] = (struct map){ ref, a };
	*addr = a;
	return 0;
}

int
ring_peer_unmap(struct ring_peer *p, uint32_t ref)
{
	for (uint32_t i = p->nm; i-- > 0;) {
		if (p->m[i].ref != ref)
			continue;
		xengnttab_unmap(p->xgt, p->m[i].addr, 1);
		p->m[i] = p->m[--p->nm];
		return 0;
	}
	return -EINVAL;
}

static int
copy_status(int16_t st)
{
	switch (st) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_gntref:
	case GNTST_bad_copy_arg:
		return -EINVAL;
	case GNTST_permission_denied:
	case GNTST_general_error:
		return -EPERM;
	case GNTST_bad_domain:
		return -ESRCH;
	default:
		return -EIO;
	}
}

int
ring_peer_copy_from(struct ring_peer *p, uint32_t ref, uint32_t off,
		    void *dst, uint32_t len)
{
	xengnttab_grant_copy_segment_t seg;

	if (off > RING_PAGE_SIZE || len > RING_PAGE_SIZE - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	memset(&seg, 0, sizeof(seg));
	seg.source.foreign.ref = ref;
	seg.source.foreign.offset = (uint16_t)off;
	seg.source.foreign.domid = p->domid;
	seg.dest.virt = dst;
	seg.len = (uint16_t)len;
	seg.flags = GNTCOPY_source_gref;
	if (xengnttab_grant_copy(p->xgt, 1, &seg) < 0)
		return -errno;
	return copy_status(seg.status);
}

int
ring_peer_copy_to(struct ring_peer *p, uint32_t ref, uint32_t off,
		  const void *src, uint32_t len)
{
	xengnttab_grant_copy_segment_t seg;

	if (off > RING_PAGE_SIZE || len > RING_PAGE_SIZE - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	memset(&seg, 0, sizeof(seg));
	seg.source.virt = (void *)src;
	seg.dest.foreign.ref = ref;
	seg.dest.foreign.offset = (uint16_t)off;
	seg.dest.foreign.domid = p->domid;
	seg.len = (uint16_t)len;
	seg.flags = GNTCOPY_dest_gref;
	if (xengnttab_grant_copy(p->xgt, 1, &seg) < 0)
		return -errno;
	return copy_status(seg.status);
}

#define COPY_BATCH 64u

int
ring_peer_copy_batch(struct ring_peer *p, struct ring_copy *ops, unsigned n)
{
	xengnttab_grant_copy_segment_t seg[COPY_BATCH];
	int first = 0;

	for (unsigned base = 0; base < n; base += COPY_BATCH) {
		unsigned m = n - base < COPY_BATCH ? n - base : COPY_BATCH;
		unsigned k = 0, idx[COPY_BATCH];

		for (unsigned i = 0; i < m; i++) {
			struct ring_copy *o = &ops[base + i];
			xengnttab_grant_copy_segment_t *g = &seg[k];

			if (o->off > RING_PAGE_SIZE ||
			    o->len > RING_PAGE_SIZE - o->off) {
				o->status = -EINVAL;
				continue;
			}
			o->status = 0;
			if (o->len == 0)
				continue;
			memset(g, 0, sizeof(*g));
			if (o->to_peer) {
				g->source.virt = o->buf;
				g->dest.foreign.ref = o->ref;
				g->dest.foreign.offset = o->off;
				g->dest.foreign.domid = p->domid;
				g->flags = GNTCOPY_dest_gref;
			} else {
				g->source.foreign.ref = o->ref;
				g->source.foreign.offset = o->off;
				g->source.foreign.domid = p->domid;
				g->dest.virt = o->buf;
				g->flags = GNTCOPY_source_gref;
			}
			g->len = o->len;
			idx[k++] = base + i;
		}
		if (k > 0 && xengnttab_grant_copy(p->xgt, k, seg) < 0)
			return -errno;
		for (unsigned j = 0; j < k; j++)
			ops[idx[j]].status = copy_status(seg[j].status);
		for (unsigned i = 0; i < m; i++)
			if (ops[base + i].status < 0 && first == 0)
				first = ops[base + i].status;
	}
	return first;
}

int
ring_peer_bind(struct ring_peer *p, uint32_t port, struct ring_evtchn **out)
{
	if (port == 0)
		return -ENOENT;
	return ring_evtchn__interdomain(p->domid, port, out);
}

void
ring_peer_unbind(struct ring_peer *p, struct ring_evtchn *ev)
{
	(void)p;
	/* Closing our end of an interdomain channel returns the frontend's
	 * port to unbound (Xen's evtchn_close): it can offer it again. */
	ring_evtchn_close(ev);
}

int
ring_peer_offer(struct ring_peer *p, uint32_t id, int memfd, size_t len)
{
	(void)p;
	(void)id;
	(void)memfd;
	(void)len;
	return -EOPNOTSUPP;
}

void
ring_peer_close(struct ring_peer *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < p->nm; i++)
		xengnttab_unmap(p->xgt, p->m[i].addr, 1);
	free(p->m);
	xengnttab_close(p->xgt);
	free(p);
}
