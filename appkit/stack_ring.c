/*
 * appkit/stack_ring.c - the "pvcalls" device frontend: the STACK
 * signature (ak_stack.h) over Xen PV Calls to tcpipd (docs/pvcalls.md).
 *
 * TCP and UDP on IPv4.  UDP is feature-x-dgram: SOCKET(SOCK_DGRAM), then
 * X_RING gives the socket its data ring (order AK_PVC_DGRAM_ORDER, so
 * that the largest datagram fits), and each datagram is one record
 * (struct pvc_dgram_hdr + payload) on `out` or `in`.
 *
 * Every call blocks the calling task (ak_waiter): a command waits for its
 * response, matched by req_id (ACCEPT answers come late and out of
 * order); recv/send wait on the socket's data-ring event channel.
 * Sockets do not survive a tcpipd restart: on teardown every waiter is
 * woken with -ECONNRESET and every socket of the old connection answers
 * -ECONNRESET from then on (its grants died with the share).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkit_internal.h"
#include "morgana/ak_loop.h"
#include "morgana/ak_stack.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/pvcalls_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define AK_PVC_ORDER 2u			/* 8 KiB each way per socket */
#define AK_PVC_DGRAM_ORDER 5u		/* 64 KiB each way: one PVC_DGRAM_MAX */
#define AK_PVC_NPAGES (1u << AK_PVC_DGRAM_ORDER)	/* the larger of the two */
#define AK_PVC_SLOTS 32u
#define AK_PVC_LINGER_NS 10000000000ull	/* close() waits this long for `out` */
/* Grant arena: each socket's data ring takes 1 + AK_PVC_NPAGES pages;
 * tcpipd allows 2048 data pages per frontend.  Pages are touched only
 * when first granted. */
#define AK_PVC_SHARE_PAGES 4096u

/*
 * A data ring kept granted (its pages and its channel) after its socket
 * was released, for the next socket of the same connection: a new
 * connection then costs no grant, no page clearing and no new channel
 * (the transport never frees channels: a share has 1024).  tcpipd has
 * unmapped and unbound it before it answered the RELEASE.
 */
struct pvc_spare {
	struct pvc_spare *next;
	uint32_t intf_ref, refs[AK_PVC_NPAGES];
	struct pvc_data_intf *intf;
	uint8_t *pages[AK_PVC_NPAGES];
	struct ring_evtchn *ev;
};

struct pvc_wait {
	bool used;
	uint32_t req_id;
	struct ak_waiter *w;
	struct pvc_rsp *rsp;
};

struct ak_stack_front {
	struct ak_loop *l;
	struct ring_xenbus *xb;
	struct ring_xb_front *xf;
	unsigned devid;
	/* Valid from fe_setup to fe_teardown only. */
	struct ring_share *share;
	struct ring_evtchn *ev;
	struct ak_watch *evw;
	struct ring_front ring;
	bool up;
	bool nbits;		/* feature-x-notify-bits in use */
	bool dgram;		/* feature-x-dgram offered */
	unsigned gen;		/* connections so far; sockets carry theirs */
	uint32_t next_req;
	uint64_t next_id;
	struct pvc_wait waits[AK_PVC_SLOTS];
	struct ak_stack *stack;
	struct aksk *socks;	/* to wake their waiters on teardown */
	struct pvc_spare *spares;	/* of this connection (gen) */
};

struct aksk {
	struct aksk *next, **pprev;
	struct ak_stack_front *f;
	uint64_t id;
	unsigned gen;
	bool ring, passive;
	bool dgram, dg_connected;	/* UDP; CONNECTed (default destination) */
	uint32_t npages, size;	/* of the ring granted */
	uint32_t intf_ref, refs[AK_PVC_NPAGES];
	struct pvc_data_intf *intf;
	uint8_t *pages[AK_PVC_NPAGES];
	struct ring_evtchn *ev;
	struct ak_watch *evw;
	struct ak_waiter *w;	/* a task waiting for data or room */
};

static struct aksk *
sk_new(struct ak_stack_front *f)
{
	struct aksk *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->f = f;
	k->gen = f->gen;
	k->id = ++f->next_id;
	k->next = f->socks;
	if (f->socks != NULL)
		f->socks->pprev = &k->next;
	k->pprev = &f->socks;
	f->socks = k;
	return k;
}

static void
sk_free(struct aksk *k)
{
	*k->pprev = k->next;
	if (k->next != NULL)
		k->next->pprev = k->pprev;
	free(k);
}

/* ---- the command ring ---- */

static void
drain(struct ak_stack_front *f)
{
	struct pvc_rsp r;
	int rc;

	do {
		while ((rc = pvc_front_get(&f->ring, &r)) == 1) {
			for (unsigned i = 0; i < AK_PVC_SLOTS; i++) {
				struct pvc_wait *p = &f->waits[i];

				if (p->used && p->req_id == r.req_id) {
					p->used = false;
					*p->rsp = r;
					ak_waiter_signal(p->w, 0);
					break;
				}
			}
		}
		if (rc < 0) {
			ring_log(RING_LOG_WARN,
				 "msg=\"tcpipd broke the command ring\" device=pvcalls/%u",
				 f->devid);
			/* Nothing will ever answer: fail every waiter, and
			 * every later command (cmd checks broken). */
			for (unsigned i = 0; i < AK_PVC_SLOTS; i++)
				if (f->waits[i].used) {
					f->waits[i].used = false;
					f->waits[i].rsp->ret = -EPROTO;
					ak_waiter_signal(f->waits[i].w, 0);
				}
			return;
		}
	} while (ring_front_final_check(&f->ring));
}

static void
ev_ready(void *arg, int fd, unsigned revents)
{
	struct ak_stack_front *f = arg;

	(void)fd;
	(void)revents;
	ring_evtchn_consume(f->ev);
	if (f->up)
		drain(f);
}

/* Send q and block until its answer.  Returns the answer's ret, or
 * -ENOTCONN while disconnected, -ECONNRESET if the connection went away,
 * -EDEADLK from a callback. */
static int
cmd(struct ak_stack_front *f, struct pvc_req *q, struct pvc_rsp *r)
{
	struct ak_waiter w;
	struct pvc_wait *p = NULL;
	int rc;

	while (f->up && !f->ring.broken && ring_front_free(&f->ring) == 0)
		ak_task_sleep_until(f->l, ak_now_ns() + 1000000u);
	if (!f->up)
		return -ENOTCONN;
	if (f->ring.broken)
		return -EPROTO;
	for (unsigned i = 0; i < AK_PVC_SLOTS && p == NULL; i++)
		if (!f->waits[i].used)
			p = &f->waits[i];
	if (p == NULL)
		return -EBUSY;
	ak_waiter_init(&w, f->l);
	q->req_id = f->next_req++;
	*p = (struct pvc_wait){ .used = true, .req_id = q->req_id, .w = &w,
				.rsp = r };
	pvc_front_put(&f->ring, q);
	if (ring_front_push(&f->ring))
		ring_evtchn_notify(f->ev);
	rc = ak_waiter_wait(&w);
	if (rc < 0) {
		p->used = false;
		return rc;
	}
	return r->ret;
}

/* ---- data rings ---- */

static void
sk_ev(void *arg, int fd, unsigned revents)
{
	struct aksk *k = arg;

	(void)fd;
	(void)revents;
	ring_evtchn_consume(k->ev);
	if (k->w != NULL) {
		struct ak_waiter *w = k->w;

		k->w = NULL;
		ak_waiter_signal(w, 0);
	}
}

/* Drop a socket's data ring; keep: tcpipd let go of it (RELEASE was
 * answered), so it can serve the next socket (struct pvc_spare). */
static void
ring_unshare(struct aksk *k, bool keep)
{
	struct ak_stack_front *f = k->f;
	struct pvc_spare *sp;

	if (!k->ring)
		return;
	ak_loop_unwatch(k->evw);
	k->evw = NULL;
	if (keep && f->share != NULL && k->gen == f->gen && !k->dgram &&
	    k->npages == (1u << AK_PVC_ORDER) &&
	    (sp = malloc(sizeof(*sp))) != NULL) {
		sp->intf_ref = k->intf_ref;
		memcpy(sp->refs, k->refs, sizeof(sp->refs));
		memcpy(sp->pages, k->pages, sizeof(sp->pages));
		sp->intf = k->intf;
		sp->ev = k->ev;
		sp->next = f->spares;
		f->spares = sp;
		k->ev = NULL;
		k->intf = NULL;
		k->ring = false;
		return;
	}
	ring_evtchn_close(k->ev);
	k->ev = NULL;
	if (f->share != NULL && k->gen == f->gen) {
		ring_share_revoke(f->share, k->intf_ref);
		for (unsigned i = 0; i < k->npages; i++)
			ring_share_revoke(f->share, k->refs[i]);
	}
	k->intf = NULL;
	k->ring = false;
}

static int
ring_grant(struct aksk *k)
{
	struct ak_stack_front *f = k->f;
	uint32_t order = k->dgram ? AK_PVC_DGRAM_ORDER : AK_PVC_ORDER;
	/* Spares are stream rings (order AK_PVC_ORDER) only. */
	struct pvc_spare *sp = order == AK_PVC_ORDER ? f->spares : NULL;
	void *p;
	int rc;

	if (sp != NULL) {
		f->spares = sp->next;
		k->intf_ref = sp->intf_ref;
		memcpy(k->refs, sp->refs, sizeof(k->refs));
		memcpy(k->pages, sp->pages, sizeof(k->pages));
		k->intf = sp->intf;
		k->ev = sp->ev;
		k->ring = true;
		k->npages = 1u << order;
		k->size = PVC_RING_SIZE(order);
		free(sp);
		/* As fresh as a new grant: indexes, errors, notify bits. */
		memset(k->intf, 0, RING_PAGE_SIZE);
		for (unsigned i = 0; i < k->npages; i++)
			k->intf->ref[i] = k->refs[i];
		k->intf->ring_order = order;
		/* A wake-up meant for the socket before. */
		ring_evtchn_consume(k->ev);
		if ((rc = ak_loop_watch(f->l, ring_evtchn_fd(k->ev), POLLIN,
					sk_ev, k, &k->evw)) < 0)
			goto fail;
		return 0;
	}
	if ((rc = ring_share_grant(f->share, false, &k->intf_ref, &p)) < 0)
		return rc;
	k->intf = p;
	k->ring = true;
	k->npages = 0;
	k->size = PVC_RING_SIZE(order);
	for (unsigned i = 0; i < (1u << order); i++) {
		if ((rc = ring_share_grant(f->share, false, &k->refs[i], &p)) < 0)
			goto fail;
		k->npages++;
		k->pages[i] = p;
		k->intf->ref[i] = k->refs[i];
	}
	k->intf->ring_order = order;
	if ((rc = ring_share_evtchn(f->share, &k->ev)) < 0 ||
	    (rc = ak_loop_watch(f->l, ring_evtchn_fd(k->ev), POLLIN, sk_ev, k,
				&k->evw)) < 0)
		goto fail;
	return 0;
fail:
	ring_unshare(k, false);
	return rc;
}

/* Copy between buf and the ring half at base (true: into the ring). */
static void
ring_copy(struct aksk *k, uint32_t base, uint32_t idx, uint8_t *buf,
	  uint32_t len, bool into)
{
	uint32_t size = k->size;

	while (len > 0) {
		uint32_t pos = idx & (size - 1), off = base + pos;
		uint32_t chunk = size - pos, in_page = RING_PAGE_SIZE -
						      off % RING_PAGE_SIZE;
		uint8_t *r;

		if (chunk > in_page)
			chunk = in_page;
		if (chunk > len)
			chunk = len;
		r = k->pages[off / RING_PAGE_SIZE] + off % RING_PAGE_SIZE;
		if (into)
			memcpy(r, buf, chunk);
		else
			memcpy(buf, r, chunk);
		buf += chunk;
		len -= chunk;
		idx += chunk;
	}
}

static bool
sk_live(struct aksk *k)
{
	return k->f->up && k->gen == k->f->gen;
}

/* Block until the socket's channel fires (or the connection dies). */
static int
sk_wait(struct aksk *k)
{
	struct ak_waiter w;

	ak_waiter_init(&w, k->f->l);
	k->w = &w;
	return ak_waiter_wait(&w);
}

static void
wait_timeout(void *arg)
{
	ak_waiter_signal(arg, -ETIMEDOUT);
}

/* sk_wait, but only until deadline_ns.  Returns 0, -ETIMEDOUT, -EDEADLK,
 * -ENOMEM. */
static int
sk_wait_until(struct aksk *k, uint64_t deadline_ns)
{
	struct ak_waiter w;
	uint64_t tid;
	int rc;

	ak_waiter_init(&w, k->f->l);
	k->w = &w;
	if (ak_loop_timer(k->f->l, deadline_ns, wait_timeout, &w, &tid) < 0) {
		k->w = NULL;
		return -ENOMEM;
	}
	rc = ak_waiter_wait(&w);
	ak_loop_timer_cancel(k->f->l, tid);
	k->w = NULL;
	return rc;
}

/* ---- datagrams (feature-x-dgram) ---- */

/* A new UDP socket's data ring: grant it, hand it over with X_RING.  On
 * failure the socket is released and freed. */
static int
dgram_ring(struct ak_stack_front *f, struct aksk *k)
{
	struct pvc_req q = { .cmd = PVC_CMD_X_RING };
	struct pvc_rsp r;
	int rc;

	k->dgram = true;
	if ((rc = ring_grant(k)) == 0) {
		q.u.x_ring.id = k->id;
		q.u.x_ring.ref = k->intf_ref;
		q.u.x_ring.evtchn = ring_evtchn_port(k->ev);
		if ((rc = cmd(f, &q, &r)) == 0)
			return 0;
	}
	if (sk_live(k)) {
		q = (struct pvc_req){ .cmd = PVC_CMD_RELEASE };
		q.u.release.id = k->id;
		cmd(f, &q, &r);
	}
	ring_unshare(k, false);
	sk_free(k);
	return rc;
}

/* Publish `out` up to prod (the bytes or records were copied in before:
 * the release store orders them before the index) and wake tcpipd unless
 * it suppressed data notifications. */
static void
out_publish(struct aksk *k, uint32_t prod)
{
	__atomic_store_n(&k->intf->out_prod, prod, __ATOMIC_RELEASE);
	if (!k->f->nbits || pvc_nb_take(pvc_out_notify(k->intf), PVC_NB_DATA))
		ring_evtchn_notify(k->ev);
}

/* Give `in` back up to cons once our copy is done, and wake tcpipd
 * unless it suppressed space notifications. */
static void
in_release(struct aksk *k, uint32_t cons)
{
	/* Our copy /before/ the space goes back to tcpipd. */
	atomic_thread_fence(memory_order_seq_cst);
	__atomic_store_n(&k->intf->in_cons, cons, __ATOMIC_RELEASE);
	if (!k->f->nbits || pvc_nb_take(pvc_in_notify(k->intf), PVC_NB_SPACE))
		ring_evtchn_notify(k->ev);
}

/* One datagram into `out`: waits for room for the whole record.  to NULL:
 * the CONNECTed destination (header port 0). */
static ssize_t
dgram_send(struct aksk *k, const void *buf, size_t len,
	   const struct ak_sockaddr *to)
{
	struct pvc_dgram_hdr h = { .len = (uint32_t)len };
	uint32_t rec;

	if (len > PVC_DGRAM_MAX)
		return -EMSGSIZE;
	rec = PVC_DGRAM_REC(len);
	if (to == NULL && !k->dg_connected)
		return -EDESTADDRREQ;
	if (to != NULL) {
		if (to->port == 0)
			return -EINVAL;	/* port 0 on the wire: "connected" */
		h.port = htons(to->port);
		h.addr = htonl(to->addr);
	}
	for (;;) {
		uint32_t prod, cons;
		int32_t err;

		if (!sk_live(k))
			return -ECONNRESET;
		if (!k->ring)
			return -ENOTCONN;
		err = __atomic_load_n(&k->intf->out_error, __ATOMIC_ACQUIRE);
		if (err != 0)
			return err;
		cons = __atomic_load_n(&k->intf->out_cons, __ATOMIC_ACQUIRE);
		prod = k->intf->out_prod;
		if (prod - cons > k->size)
			return -EPROTO;
		if (k->size - (prod - cons) >= rec) {
			ring_copy(k, k->size, prod + (uint32_t)sizeof(h),
				  (uint8_t *)(uintptr_t)buf, (uint32_t)len, true);
			ring_copy(k, k->size, prod, (uint8_t *)&h, sizeof(h),
				  true);
			out_publish(k, prod + rec);
			return (ssize_t)len;
		}
		if (k->f->nbits) {
			pvc_nb_arm(pvc_out_notify(k->intf), PVC_NB_SPACE);
			if (__atomic_load_n(&k->intf->out_cons, __ATOMIC_ACQUIRE) !=
			    cons)
				continue;
		}
		if (sk_wait(k) < 0)
			return -EDEADLK;
	}
}

/* The next datagram from `in`: its first min(len, size) bytes into buf
 * (the rest is dropped, as recv(2) without MSG_TRUNC does). */
static ssize_t
dgram_recv(struct aksk *k, void *buf, size_t len, struct ak_sockaddr *from)
{
	for (;;) {
		uint32_t prod, cons, q, rec, n;
		struct pvc_dgram_hdr h;
		int32_t err;

		if (!sk_live(k))
			return -ECONNRESET;
		if (!k->ring)
			return -ENOTCONN;
		prod = __atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE);
		cons = k->intf->in_cons;
		q = prod - cons;
		if (q > k->size || q % PVC_DGRAM_ALIGN != 0)
			return -EPROTO;
		if (q > 0) {
			/* tcpipd is a peer too: the header is copied once
			 * and checked before it is believed. */
			ring_copy(k, 0, cons, (uint8_t *)&h, sizeof(h), false);
			if ((rec = pvc_dgram_check(&h, q, true)) == 0)
				return -EPROTO;
			n = len < h.len ? (uint32_t)len : h.len;
			ring_copy(k, 0, cons + (uint32_t)sizeof(h), buf, n, false);
			if (from != NULL)
				*from = (struct ak_sockaddr){
					.addr = ntohl(h.addr),
					.port = ntohs(h.port) };
			in_release(k, cons + rec);
			return n;
		}
		/* Only a broken ring sets an error on a datagram socket
		 * (records published before it are still read). */
		err = __atomic_load_n(&k->intf->in_error, __ATOMIC_ACQUIRE);
		if (err != 0) {
			if (__atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE) !=
			    prod)
				continue;
			return err;
		}
		if (k->f->nbits)
			pvc_nb_arm(pvc_in_notify(k->intf), PVC_NB_DATA);
		if (__atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE) != prod ||
		    __atomic_load_n(&k->intf->in_error, __ATOMIC_ACQUIRE) != 0)
			continue;
		if (sk_wait(k) < 0)
			return -EDEADLK;
	}
}

static ssize_t
op_sendto(void *dev, void *sock, const void *buf, size_t len,
	  const struct ak_sockaddr *to)
{
	struct aksk *k = sock;

	(void)dev;
	return k->dgram ? dgram_send(k, buf, len, to) : -EOPNOTSUPP;
}

static ssize_t
op_recvfrom(void *dev, void *sock, void *buf, size_t len,
	    struct ak_sockaddr *from)
{
	struct aksk *k = sock;

	(void)dev;
	return k->dgram ? dgram_recv(k, buf, len, from) : -EOPNOTSUPP;
}

/* ---- ak_stack_ops ---- */

static int
op_socket(void *dev, enum ak_sock_type type, void **out)
{
	struct ak_stack_front *f = dev;
	struct pvc_req q = { .cmd = PVC_CMD_SOCKET };
	struct pvc_rsp r;
	struct aksk *k;
	int rc;

	if (type != AK_SOCK_TCP && (type != AK_SOCK_UDP || !f->dgram))
		return -EOPNOTSUPP;
	if ((k = sk_new(f)) == NULL)
		return -ENOMEM;
	q.u.socket.id = k->id;
	q.u.socket.domain = PVC_AF_INET;
	q.u.socket.type = type == AK_SOCK_UDP ? PVC_SOCK_DGRAM : PVC_SOCK_STREAM;
	if ((rc = cmd(f, &q, &r)) < 0) {
		sk_free(k);
		return rc;
	}
	if (type == AK_SOCK_UDP && (rc = dgram_ring(f, k)) < 0)
		return rc;
	*out = k;
	return 0;
}

static void
put_addr(uint8_t *a, const struct ak_sockaddr *sa)
{
	uint16_t fam = PVC_AF_INET, port = htons(sa->port);
	uint32_t ip = htonl(sa->addr);

	memcpy(a, &fam, 2);
	memcpy(a + 2, &port, 2);
	memcpy(a + 4, &ip, 4);
}

static int
op_connect(void *dev, void *sock, const struct ak_sockaddr *to)
{
	struct ak_stack_front *f = dev;
	struct aksk *k = sock;
	struct pvc_req q = { .cmd = PVC_CMD_CONNECT };
	struct pvc_rsp r;
	int rc;

	if (!sk_live(k))
		return -ECONNRESET;
	if (k->dgram) {
		/* A default destination: the ring is already there. */
		q.u.connect.id = k->id;
		put_addr(q.u.connect.addr, to);
		q.u.connect.len = 16;
		if ((rc = cmd(f, &q, &r)) == 0)
			k->dg_connected = true;
		return rc;
	}
	if (k->ring || k->passive)
		return -EISCONN;
	if ((rc = ring_grant(k)) < 0)
		return rc;
	q.u.connect.id = k->id;
	put_addr(q.u.connect.addr, to);
	q.u.connect.len = 16;
	q.u.connect.ref = k->intf_ref;
	q.u.connect.evtchn = ring_evtchn_port(k->ev);
	if ((rc = cmd(f, &q, &r)) < 0)
		ring_unshare(k, false);
	return rc;
}

static int
op_bind(void *dev, void *sock, const struct ak_sockaddr *at)
{
	struct aksk *k = sock;
	struct pvc_req q = { .cmd = PVC_CMD_BIND };
	struct pvc_rsp r;
	int rc;

	if (!sk_live(k))
		return -ECONNRESET;
	q.u.bind.id = k->id;
	put_addr(q.u.bind.addr, at);
	q.u.bind.len = 16;
	if ((rc = cmd(dev, &q, &r)) == 0 && !k->dgram)
		k->passive = true;
	return rc;
}

static int
op_listen(void *dev, void *sock, int backlog)
{
	struct aksk *k = sock;
	struct pvc_req q = { .cmd = PVC_CMD_LISTEN };
	struct pvc_rsp r;

	if (!sk_live(k))
		return -ECONNRESET;
	if (k->dgram)
		return -EOPNOTSUPP;
	q.u.listen.id = k->id;
	q.u.listen.backlog = (uint32_t)backlog;
	return cmd(dev, &q, &r);
}

static int
op_accept(void *dev, void *sock, void **out, struct ak_sockaddr *from)
{
	struct ak_stack_front *f = dev;
	struct aksk *k = sock, *n;
	struct pvc_req q = { .cmd = PVC_CMD_ACCEPT };
	struct pvc_rsp r;
	int rc;

	if (!sk_live(k))
		return -ECONNRESET;
	if (k->dgram)
		return -EOPNOTSUPP;
	if ((n = sk_new(f)) == NULL)
		return -ENOMEM;
	if ((rc = ring_grant(n)) < 0) {
		sk_free(n);
		return rc;
	}
	q.u.accept.id = k->id;
	q.u.accept.id_new = n->id;
	q.u.accept.ref = n->intf_ref;
	q.u.accept.evtchn = ring_evtchn_port(n->ev);
	if ((rc = cmd(f, &q, &r)) < 0) {
		ring_unshare(n, false);
		sk_free(n);
		return rc;
	}
	/* PV Calls does not say who connected. */
	*from = (struct ak_sockaddr){ 0 };
	*out = n;
	return 0;
}

static ssize_t
op_recv(void *dev, void *sock, void *buf, size_t len)
{
	struct aksk *k = sock;
	uint32_t size = PVC_RING_SIZE(AK_PVC_ORDER);

	(void)dev;
	if (k->dgram)
		return dgram_recv(k, buf, len, NULL);
	if (len == 0)
		return 0;
	for (;;) {
		uint32_t prod, cons, n;
		int32_t err;

		if (!sk_live(k))
			return -ECONNRESET;
		if (!k->ring)
			return -ENOTCONN;
		prod = __atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE);
		cons = k->intf->in_cons;
		if (prod - cons > size)
			return -EPROTO;
		n = prod - cons;
		if (n > 0) {
			if (n > len)
				n = (uint32_t)len;
			ring_copy(k, 0, cons, buf, n, false);
			in_release(k, cons + n);
			return n;
		}
		/* Errors only once `in` is drained; -ENOTCONN is EOF.
		 * tcpipd publishes its last in_prod before the error, so
		 * in_prod read after the error is final: bytes that came
		 * just before the EOF are read first. */
		err = __atomic_load_n(&k->intf->in_error, __ATOMIC_ACQUIRE);
		if (err != 0) {
			if (__atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE) !=
			    prod)
				continue;
			return err == -ENOTCONN ? 0 : err;
		}
		if (k->f->nbits)
			pvc_nb_arm(pvc_in_notify(k->intf), PVC_NB_DATA);
		if (__atomic_load_n(&k->intf->in_prod, __ATOMIC_ACQUIRE) != prod ||
		    __atomic_load_n(&k->intf->in_error, __ATOMIC_ACQUIRE) != 0)
			continue;
		if (sk_wait(k) < 0)
			return -EDEADLK;
	}
}

static ssize_t
op_send(void *dev, void *sock, const void *buf, size_t len)
{
	struct aksk *k = sock;
	uint32_t size = PVC_RING_SIZE(AK_PVC_ORDER);
	size_t done = 0;

	(void)dev;
	if (k->dgram)
		return dgram_send(k, buf, len, NULL);
	while (done < len) {
		uint32_t prod, cons, room;
		int32_t err;

		if (!sk_live(k))
			return -ECONNRESET;
		if (!k->ring)
			return -ENOTCONN;
		err = __atomic_load_n(&k->intf->out_error, __ATOMIC_ACQUIRE);
		if (err != 0)
			return err;
		cons = __atomic_load_n(&k->intf->out_cons, __ATOMIC_ACQUIRE);
		prod = k->intf->out_prod;
		if (prod - cons > size)
			return -EPROTO;
		room = size - (prod - cons);
		if (room > 0) {
			if (room > len - done)
				room = (uint32_t)(len - done);
			ring_copy(k, size, prod, (uint8_t *)buf + done, room,
				  true);
			out_publish(k, prod + room);
			done += room;
			continue;
		}
		if (k->f->nbits) {
			pvc_nb_arm(pvc_out_notify(k->intf), PVC_NB_SPACE);
			if (__atomic_load_n(&k->intf->out_cons, __ATOMIC_ACQUIRE) !=
			    cons)
				continue;
		}
		if (sk_wait(k) < 0)
			return -EDEADLK;
	}
	return (ssize_t)done;
}

static int
op_poll(void *dev, void *sock, unsigned events, uint64_t timeout_ns)
{
	struct aksk *k = sock;
	uint32_t size = k->size;

	(void)dev;
	if (k->passive)
		return -EOPNOTSUPP;
	uint64_t end = timeout_ns > UINT64_MAX - ak_now_ns() ? UINT64_MAX :
		       ak_now_ns() + timeout_ns;

	for (;;) {
		unsigned ready = 0;
		int rc;

		if (!sk_live(k) || !k->ring)
			return POLLERR;
		if (k->intf->in_prod != k->intf->in_cons ||
		    k->intf->in_error != 0)
			ready |= POLLIN;
		if (k->intf->out_prod - k->intf->out_cons < size ||
		    k->intf->out_error != 0)
			ready |= POLLOUT;
		if (ready & events)
			return (int)(ready & events);
		if (k->f->nbits) {
			if (events & POLLIN)
				pvc_nb_arm(pvc_in_notify(k->intf), PVC_NB_DATA);
			if (events & POLLOUT)
				pvc_nb_arm(pvc_out_notify(k->intf), PVC_NB_SPACE);
			/* Only what was asked for: room in `out` is the
			 * normal state and must not turn a POLLIN wait into
			 * a spin that starves every other task. */
			if (((events & POLLIN) &&
			     (k->intf->in_prod != k->intf->in_cons ||
			      k->intf->in_error != 0)) ||
			    ((events & POLLOUT) &&
			     (k->intf->out_prod - k->intf->out_cons < size ||
			      k->intf->out_error != 0)))
				continue;
		}
		if ((rc = sk_wait_until(k, end)) < 0)
			return rc;
	}
}

static void
op_release(void *dev, void *sock)
{
	struct ak_stack_front *f = dev;
	struct aksk *k = sock;
	struct pvc_req q = { .cmd = PVC_CMD_RELEASE };
	struct pvc_rsp r;
	bool released = false;

	/* Linger: what send() queued must still reach the peer, and tcpipd
	 * drops the ring at RELEASE.  Bounded, so a peer that never reads
	 * cannot hold close() forever. */
	if (sk_live(k) && k->ring) {
		uint64_t end = ak_now_ns() + AK_PVC_LINGER_NS;

		while (sk_live(k) && ak_now_ns() < end &&
		       __atomic_load_n(&k->intf->out_error, __ATOMIC_ACQUIRE) == 0 &&
		       __atomic_load_n(&k->intf->out_cons, __ATOMIC_ACQUIRE) !=
			       k->intf->out_prod) {
			if (k->f->nbits) {
				pvc_nb_arm(pvc_out_notify(k->intf), PVC_NB_SPACE);
				if (__atomic_load_n(&k->intf->out_cons,
						    __ATOMIC_ACQUIRE) ==
				    k->intf->out_prod)
					break;
			}
			if (sk_wait_until(k, end) == -EDEADLK)
				break;
		}
	}
	if (sk_live(k)) {
		q.u.release.id = k->id;
		/* tcpipd unmaps before it answers, so the grants can go
		 * (or serve the next socket). */
		released = cmd(f, &q, &r) == 0;
	}
	ring_unshare(k, released);
	sk_free(k);
}

static const struct ak_stack_ops stack_ops = {
	.socket = op_socket,
	.connect = op_connect,
	.bind = op_bind,
	.listen = op_listen,
	.accept = op_accept,
	.recv = op_recv,
	.send = op_send,
	.sendto = op_sendto,
	.recvfrom = op_recvfrom,
	.poll = op_poll,
	.release = op_release,
};

/* ---- the handshake ---- */

static int
fe_setup(void *arg, struct ring_xb_front *xf, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct ak_stack_front *f = arg;
	uint32_t ref;
	void *page;
	int rc;

	(void)xf;
	if ((rc = ring_share_grant(share, false, &ref, &page)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	pvc_front_init(&f->ring, page, RING_PAGE_SIZE);
	f->share = share;
	/* The backend's features are there before it goes to InitWait,
	 * so before we set up. */
	f->nbits = ak_xb_backend_uint(st, RING_XBT_NULL, fe_path,
				      "feature-x-notify-bits") == 1;
	f->dgram = ak_xb_backend_uint(st, RING_XBT_NULL, fe_path,
				      "feature-x-dgram") == 1;
	if (f->nbits &&
	    (rc = ak_xb_put_uint(st, tx, fe_path, "x-notify-bits", 1)) < 0)
		return rc;
	if ((rc = ak_xb_put_uint(st, tx, fe_path, "version", 1)) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, "ring-ref", ref)) < 0)
		return rc;
	return ak_xb_put_uint(st, tx, fe_path, "port", ring_evtchn_port(f->ev));
}

static int
fe_connected(void *arg, struct ring_xb_front *xf)
{
	struct ak_stack_front *f = arg;
	int rc;

	(void)xf;
	if ((rc = ak_loop_watch(f->l, ring_evtchn_fd(f->ev), POLLIN, ev_ready,
				f, &f->evw)) < 0)
		return rc;
	f->up = true;
	ring_log(RING_LOG_INFO, "msg=\"stack connected\" device=pvcalls/%u",
		 f->devid);
	return 0;
}

/* The spare rings die with their connection's share. */
static void
spares_free(struct ak_stack_front *f)
{
	while (f->spares != NULL) {
		struct pvc_spare *sp = f->spares;

		f->spares = sp->next;
		ring_evtchn_close(sp->ev);
		free(sp);
	}
}

static void
fe_teardown(void *arg, struct ring_xb_front *xf)
{
	struct ak_stack_front *f = arg;

	(void)xf;
	f->up = false;
	f->gen++;	/* every socket of this connection is dead */
	for (unsigned i = 0; i < AK_PVC_SLOTS; i++)
		if (f->waits[i].used) {
			f->waits[i].used = false;
			f->waits[i].rsp->ret = -ECONNRESET;
			ak_waiter_signal(f->waits[i].w, 0);
		}
	for (struct aksk *k = f->socks; k != NULL; k = k->next)
		if (k->w != NULL) {
			struct ak_waiter *w = k->w;

			k->w = NULL;
			ak_waiter_signal(w, 0);
		}
	ak_loop_unwatch(f->evw);
	f->evw = NULL;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
	f->share = NULL;
	spares_free(f);
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

int
ak_stack_front_open(struct ak_loop *l, struct ring_xenbus *xb, unsigned devid,
		    struct ak_stack_front **out)
{
	struct ak_stack_front *f = calloc(1, sizeof(*f));
	const struct ring_share_opts share = {
		.sz = sizeof(share), .rw_pages = AK_PVC_SHARE_PAGES,
	};
	int rc;

	*out = NULL;
	if (f == NULL)
		return -ENOMEM;
	f->l = l;
	f->xb = xb;
	f->devid = devid;
	if ((rc = ak_stack_new(&stack_ops, f, &f->stack)) < 0 ||
	    (rc = ring_xb_front_open_opts(xb, PVC_DEVICE_TYPE, devid,
					  &front_ops, f, &share, &f->xf)) < 0) {
		free(f->stack);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

bool
ak_stack_front_ready(const struct ak_stack_front *f)
{
	return f->up;
}

struct ak_stack *
ak_stack_front_stack(struct ak_stack_front *f)
{
	return f->stack;
}

void
ak_stack_front_close(struct ak_stack_front *f)
{
	if (f == NULL)
		return;
	ring_xb_front_close(f->xf);
	spares_free(f);
	free(f->stack);	/* not ak_stack_free: no close op, f goes below */
	free(f);
}
