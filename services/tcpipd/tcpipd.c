/*
 * tcpipd socket mode: the PV Calls backend.  Each frontend socket is a host
 * kernel socket; each connected one has a data ring the frontend granted.
 *
 * One thread, one io_uring ring.  Every fd to watch (the store and its
 * links, each frontend's and each data ring's event channel, each host
 * socket) has an IORING_OP_POLL_ADD in flight while it is wanted, and one
 * io_uring_submit_and_wait_timeout per pass both arms and waits.  Polls
 * stay armed across passes, so a wake-up costs an SQE only for the fds
 * that fired (or whose mask grew), not a pollfd array rebuilt and
 * re-polled by the kernel for every socket.  Event channels are multishot
 * (their readiness is drained whenever reported); sockets are one-shot and
 * re-armed after each completion, which keeps poll(2)'s level semantics:
 * the data path stays readiness-driven (a readv into whatever room a ring
 * has, a sendmsg of whatever is queued; sizes are only known once the
 * indexes are read), one readv and one sendmsg per notification, never
 * per byte.  recv/send as io_uring ops would need buffers sized before
 * the indexes are read and a cancel per ring state change.
 *
 * Each frontend is a struct tfront; its sockets a list of struct tsock.
 * Nothing a frontend writes is trusted: requests are copied out once by
 * pvc_back_get, ring_order and the refs are copied once, and the peer's
 * data indexes are read once per pass and checked against our private
 * ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"
#include "services/tcpipd/tcpipd.h"

#define MAX_DATA_PAGES (1u << PVC_X_DGRAM_MAX_ORDER)	/* >= stream's */
#define IOV_MAX_RING (MAX_DATA_PAGES + 2)
#define DG_BATCH 32u		/* datagrams per sendmmsg */
#define DG_BUDGET 64u		/* datagrams per direction per pass */
#define DG_RCVBUF (1 << 20)	/* asked for; capped by net.core.rmem_max */

/* T_DGRAM (feature-x-dgram): a UDP socket, its host socket made at
 * SOCKET, its ring mapped at X_RING, served by dgram_pump. */
enum tkind { T_PASSIVE, T_ACTIVE, T_DGRAM };

/* One fd watched on the ring: a one-shot IORING_OP_POLL_ADD, re-armed on
 * the pass after it completed, so readiness stays level-triggered as with
 * poll(2).  user_data is slot | generation << 32: a completion for a
 * cancelled poll (or a freed watch) no longer matches and is dropped. */
struct twatch {
	uint64_t ud;		/* user_data of the poll in flight */
	uint32_t slot;		/* 1 + index in tcpd.w; 0: none yet */
	int fd;			/* what it is armed on */
	short armed;		/* its mask; 0: nothing in flight */
	bool multi;		/* multishot: stays armed while F_MORE */
	short *revents;		/* completions are ORed in here */
};

struct tsock {
	struct tsock *next;
	uint64_t id;
	enum tkind kind;
	int fd;			/* host socket; -1 once closed */
	short revents;		/* from the last poll */
	short evrevents;	/* the data ring's event channel */
	struct twatch sw, ew;	/* on fd and on ev's fd */

	/* passive: at most one ACCEPT or POLL waiting */
	bool listening;
	bool pend;
	struct tcp_cmd pcmd;

	/* active */
	bool connecting;	/* CONNECT answered when the connect ends */
	uint32_t creq_id;
	uint32_t intf_ref;
	struct pvc_data_intf *intf;
	uint32_t refs[MAX_DATA_PAGES];
	uint8_t *pages[MAX_DATA_PAGES];
	uint32_t npages, size;
	struct ring_evtchn *ev;
	uint32_t in_prod, out_cons;	/* ours; the shared copies are output */
	bool in_done, out_done, broken, want_out, in_room;
	bool again;		/* notify bits: an index moved while arming */
	bool shut_pending, shut_done;

	/* datagram */
	bool dg_connected;	/* CONNECT set a default destination */
	uint32_t dg_in_cons;	/* the frontend's in_cons seen last pass */
	uint64_t dg_sent, dg_recvd, dg_send_err, dg_trunc;
};

struct tfront {
	struct tfront *next;
	struct tcpd *d;
	struct ring_xb_back_dev *dev;
	struct ring_peer *peer;
	struct ring_back ring;
	uint32_t ring_ref;
	struct ring_evtchn *ev;
	short evrevents;
	struct twatch ew;
	struct tsock *socks;
	unsigned nsocks, npages;
	bool failed;		/* dev_fail pending until the pass ends */
	bool nbits;		/* x-notify-bits negotiated */
	uint64_t notifies, passes, suppressed;	/* data rings, for logs */
	const char *why;
};

struct tcpd {
	struct tcp_allow allow[TCP_ALLOW_MAX];
	unsigned nallow, max_socks, max_pages;
	struct tfront *fronts;
	struct io_uring ring;
	struct twatch **w;	/* slot - 1 -> watch; NULL: free */
	uint32_t *freew;	/* free slots (1-based) */
	uint32_t nw, nfree, gen;
	bool no_multi;		/* the kernel refused a multishot poll */
};

/* ---- the ring's polls ------------------------------------------------- */

static struct io_uring_sqe *
get_sqe(struct tcpd *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (sqe == NULL) {
		/* SQ full: hand it to the kernel; nothing waits here. */
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	return sqe;
}

/* Cancel the poll in flight, if any.  Its completion (-ECANCELED, or a
 * readiness that raced) carries the old user_data and is dropped; the
 * cancel itself posts user_data 0, also dropped. */
static void
w_cancel(struct tcpd *d, struct twatch *w)
{
	struct io_uring_sqe *sqe;

	if (!w->armed)
		return;
	if ((sqe = get_sqe(d)) != NULL) {
		io_uring_prep_poll_remove(sqe, w->ud);
		io_uring_sqe_set_data64(sqe, 0);
	} else {
		ring_log(RING_LOG_WARN, "msg=\"cannot cancel a poll\" fd=%d",
			 w->fd);
	}
	w->armed = 0;
	w->ud = 0;
}

/* Before the memory of w goes (or its fd is closed, or rebound). */
static void
w_free(struct tcpd *d, struct twatch *w)
{
	w_cancel(d, w);
	if (w->slot != 0) {
		d->w[w->slot - 1] = NULL;
		d->freew[d->nfree++] = w->slot;
		w->slot = 0;
	}
}

/* Want `want` on fd (fd < 0 or want 0: nothing).  A poll already in flight
 * on the same fd with a superset mask is kept: the worst it does is one
 * spurious pass.  multi: a multishot poll, for fds whose readiness the
 * owner consumes in full whenever it is reported (event channels): it
 * posts once per wake-up and is never re-armed.  Sockets are one-shot:
 * a pass may leave data unread, and only a fresh arm sees it again.
 * Returns 0, or -ENOMEM / -EBUSY when it could not arm (the caller then
 * does not sleep, and retries next pass). */
static int
w_set(struct tcpd *d, struct twatch *w, int fd, short want, bool multi,
      short *revents)
{
	struct io_uring_sqe *sqe;

	if (fd < 0)
		want = 0;
	if (w->armed && (w->fd != fd || (want & ~w->armed) != 0))
		w_cancel(d, w);
	if (w->armed || want == 0)
		return 0;
	if (w->slot == 0) {
		if (d->nfree == 0) {
			uint32_t n = d->nw ? 2 * d->nw : 64;
			struct twatch **nw = realloc(d->w, n * sizeof(*nw));
			uint32_t *nf;

			if (nw == NULL)
				return -ENOMEM;
			d->w = nw;
			if ((nf = realloc(d->freew, n * sizeof(*nf))) == NULL)
				return -ENOMEM;
			d->freew = nf;
			for (uint32_t i = n; i > d->nw; i--) {
				d->w[i - 1] = NULL;
				d->freew[d->nfree++] = i;
			}
			d->nw = n;
		}
		w->slot = d->freew[--d->nfree];
		d->w[w->slot - 1] = w;
	}
	if ((sqe = get_sqe(d)) == NULL)
		return -EBUSY;
	if (++d->gen == 0)
		d->gen = 1;
	w->ud = (uint64_t)d->gen << 32 | w->slot;
	multi = multi && !d->no_multi;
	if (multi)
		io_uring_prep_poll_multishot(sqe, fd,
					     (unsigned)(unsigned short)want);
	else
		io_uring_prep_poll_add(sqe, fd, (unsigned)(unsigned short)want);
	io_uring_sqe_set_data64(sqe, w->ud);
	w->multi = multi;
	w->fd = fd;
	w->armed = want;
	w->revents = revents;
	return 0;
}

/* Take every completion, stale ones included; returns how many. */
static unsigned
w_reap(struct tcpd *d)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&d->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		uint32_t slot = (uint32_t)ud;
		struct twatch *w;

		n++;
		if (slot == 0 || slot > d->nw ||
		    (w = d->w[slot - 1]) == NULL || !w->armed || w->ud != ud)
			continue;
		if (!w->multi || !(cqe->flags & IORING_CQE_F_MORE))
			w->armed = 0;
		if (w->multi && cqe->res == -EINVAL && !d->no_multi) {
			/* Before 5.13: one-shot from now on (re-armed next
			 * pass; the spurious POLLERR costs one look). */
			ring_log(RING_LOG_INFO,
				 "msg=\"no multishot poll, using one-shot\"");
			d->no_multi = true;
		}
		/* An error (the fd went bad) is reported like poll's
		 * POLLERR: the owner looks and finds out. */
		*w->revents = (short)(*w->revents |
				      (cqe->res > 0 ? (short)cqe->res : POLLERR));
	}
	io_uring_cq_advance(&d->ring, n);
	return n;
}

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint32_t
ld_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
st_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void
st_err(int32_t *p, int32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void
front_fail(struct tfront *f, const char *why)
{
	/* Deferred: the caller may be walking f's sockets. */
	if (!f->failed) {
		f->failed = true;
		f->why = why;
	}
}

/* ---- responses -------------------------------------------------------- */

static void
reply(struct tfront *f, uint32_t req_id, uint32_t cmd, int32_t ret,
      uint64_t id)
{
	struct pvc_rsp r = { .req_id = req_id, .cmd = cmd, .ret = ret,
			     .u.id = id };

	if (pvc_back_put(&f->ring, &r) < 0) {
		front_fail(f, "no request to answer");
		return;
	}
	if (ring_back_push(&f->ring))
		ring_evtchn_notify(f->ev);
}

/* ---- sockets ---------------------------------------------------------- */

static struct tsock *
find(struct tfront *f, uint64_t id)
{
	for (struct tsock *s = f->socks; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void
unmap_ring(struct tfront *f, struct tsock *s)
{
	for (uint32_t i = 0; i < s->npages; i++)
		if (s->pages[i] != NULL)
			ring_peer_unmap(f->peer, s->refs[i]);
	f->npages -= s->npages;
	s->npages = 0;
	if (s->intf != NULL)
		ring_peer_unmap(f->peer, s->intf_ref);
	s->intf = NULL;
	/* Unbound, not closed: the frontend may reuse its channel (and
	 * its granted pages) for its next socket. */
	w_free(f->d, &s->ew);
	ring_peer_unbind(f->peer, s->ev);
	s->ev = NULL;
}

static void
sock_free(struct tfront *f, struct tsock *s)
{
	struct tsock **pp;

	for (pp = &f->socks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	w_free(f->d, &s->sw);
	w_free(f->d, &s->ew);
	if (s->fd >= 0)
		close(s->fd);
	if (s->kind != T_PASSIVE)
		unmap_ring(f, s);
	if (s->kind == T_DGRAM)
		ring_log(RING_LOG_DEBUG,
			 "msg=\"datagram socket closed\" frontend=%u id=%" PRIu64 " sent=%" PRIu64 " received=%" PRIu64 " send_errors=%" PRIu64 " truncated=%" PRIu64,
			 ring_xb_back_dev_frontend_id(f->dev), s->id, s->dg_sent,
			 s->dg_recvd, s->dg_send_err, s->dg_trunc);
	f->nsocks--;
	free(s);
}

static struct tsock *
sock_new(struct tfront *f, uint64_t id, enum tkind kind, int fd)
{
	struct tsock *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->id = id;
	s->kind = kind;
	s->fd = fd;
	s->next = f->socks;
	f->socks = s;
	f->nsocks++;
	return s;
}

static int map_ring_order(struct tfront *f, struct tsock *s, uint32_t ref,
			  uint32_t port, uint32_t max_order);

/*
 * Map the data ring of an active socket: the indexes page, then its
 * ring_order (read once) and refs (copied once), then every data page,
 * then bind the channel.  Returns 0 or -EFAULT (all undone), -ENOBUFS
 * past the page cap.
 */
static int
map_ring(struct tfront *f, struct tsock *s, uint32_t ref, uint32_t port)
{
	return map_ring_order(f, s, ref, port, PVC_MAX_PAGE_ORDER);
}

static int
map_ring_order(struct tfront *f, struct tsock *s, uint32_t ref, uint32_t port,
	       uint32_t max_order)
{
	void *p;
	uint32_t order;
	int rc;

	if (ring_peer_map(f->peer, ref, true, &p) < 0)
		return -EFAULT;
	s->intf = p;
	s->intf_ref = ref;
	order = __atomic_load_n(&s->intf->ring_order, __ATOMIC_ACQUIRE);
	if (order < 1 || order > max_order) {
		rc = -EFAULT;
		goto fail;
	}
	if (f->npages + (1u << order) > f->d->max_pages) {
		rc = -ENOBUFS;
		goto fail;
	}
	memcpy(s->refs, s->intf->ref, sizeof(uint32_t) << order);
	f->npages += 1u << order;
	s->npages = 1u << order;
	s->size = PVC_RING_SIZE(order);
	for (uint32_t i = 0; i < s->npages; i++) {
		if (ring_peer_map(f->peer, s->refs[i], true, &p) < 0) {
			rc = -EFAULT;
			goto fail;
		}
		s->pages[i] = p;
	}
	rc = ring_peer_bind(f->peer, port, &s->ev);
	if (rc == -EAGAIN && ring_peer_process(f->peer) == 0)
		rc = ring_peer_bind(f->peer, port, &s->ev);
	if (rc < 0) {
		rc = -EFAULT;
		goto fail;
	}
	/* Our produced indexes start where the frontend set them; checked
	 * against its own on every pass. */
	s->in_prod = __atomic_load_n(&s->intf->in_prod, __ATOMIC_RELAXED);
	s->out_cons = __atomic_load_n(&s->intf->out_cons, __ATOMIC_RELAXED);
	st_err(&s->intf->in_error, 0);
	st_err(&s->intf->out_error, 0);
	s->in_room = true;
	return 0;
fail:
	unmap_ring(f, s);
	return rc;
}

/* The frontend broke a data ring: stop serving it, tell it, close the host
 * socket.  The socket stays until RELEASE. */
static void
sock_break(struct tfront *f, struct tsock *s, const char *why)
{
	ring_log(RING_LOG_WARN,
		 "msg=\"data ring broken\" frontend=%u id=%" PRIu64 " why=\"%s\"",
		 ring_xb_back_dev_frontend_id(f->dev), s->id, why);
	s->broken = true;
	st_err(&s->intf->in_error, -EPROTO);
	st_err(&s->intf->out_error, -EPROTO);
	w_cancel(f->d, &s->sw);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ring_evtchn_notify(s->ev);
}

static void dgram_pump(struct tfront *f, struct tsock *s);

/*
 * One pass over an active socket: send what `out` holds, receive into
 * what `in` has room for, one notification if anything moved.
 */
static void
pump(struct tfront *f, struct tsock *s)
{
	struct iovec iov[IOV_MAX_RING];
	uint32_t in_cons, out_prod, qin, qout;
	bool note = false, note_err = false, moved_in = false, moved_out = false;
	ssize_t n;
	int niov;

	if (s->kind == T_DGRAM) {
		dgram_pump(f, s);
		return;
	}
	s->again = false;
	if (s->broken || s->connecting || s->intf == NULL)
		return;
	in_cons = ld_acq(&s->intf->in_cons);
	out_prod = ld_acq(&s->intf->out_prod);
	qin = pvc_queued(s->in_prod, in_cons, s->size);
	qout = pvc_queued(out_prod, s->out_cons, s->size);
	if (qin == UINT32_MAX || qout == UINT32_MAX) {
		sock_break(f, s, "impossible data ring index");
		return;
	}
	s->want_out = false;
	if (!s->out_done && qout > 0) {
		struct msghdr mh = { .msg_iov = iov };

		niov = tcp_ring_iov(s->pages, s->npages, s->size, s->size,
				    s->out_cons, qout, iov, IOV_MAX_RING);
		mh.msg_iovlen = (size_t)(niov > 0 ? niov : 0);
		n = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			/* Our reads of `out` /before/ the slots are handed
			 * back to the frontend. */
			atomic_thread_fence(memory_order_seq_cst);
			s->out_cons += (uint32_t)n;
			st_rel(&s->intf->out_cons, s->out_cons);
			qout -= (uint32_t)n;
			note = moved_out = true;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			st_err(&s->intf->out_error, -errno);
			s->out_done = true;
			note = note_err = true;
		}
		s->want_out = !s->out_done && qout > 0;
	}
	if (s->shut_pending && !s->shut_done && (qout == 0 || s->out_done)) {
		shutdown(s->fd, SHUT_WR);
		s->shut_done = true;
	}
	s->in_room = false;
	if (!s->in_done && qin < s->size) {
		niov = tcp_ring_iov(s->pages, s->npages, 0, s->size,
				    s->in_prod, s->size - qin, iov,
				    IOV_MAX_RING);
		n = readv(s->fd, iov, niov > 0 ? niov : 0);
		if (n > 0) {
			/* The bytes /before/ the index that publishes them
			 * (release store). */
			s->in_prod += (uint32_t)n;
			st_rel(&s->intf->in_prod, s->in_prod);
			qin += (uint32_t)n;
			note = moved_in = true;
		} else if (n == 0) {
			st_err(&s->intf->in_error, -ENOTCONN);
			s->in_done = true;
			note = note_err = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			st_err(&s->intf->in_error, -errno);
			s->in_done = true;
			note = note_err = true;
		}
		s->in_room = !s->in_done && qin < s->size;
	}
	f->passes++;
	if (!f->nbits) {
		if (note) {
			ring_evtchn_notify(s->ev);
			f->notifies++;
		}
		return;
	}
	if (note_err ||
	    (moved_in && pvc_nb_take(pvc_in_notify(s->intf), PVC_NB_DATA)) ||
	    (moved_out && pvc_nb_take(pvc_out_notify(s->intf), PVC_NB_SPACE))) {
		ring_evtchn_notify(s->ev);
		f->notifies++;
	} else if (note) {
		f->suppressed++;
	}
	/* Ask to be woken for what we now wait for, then look again: a
	 * move that raced the arming is handled on the next pass. */
	if (!s->out_done && qout == 0) {
		pvc_nb_arm(pvc_out_notify(s->intf), PVC_NB_DATA);
		if (ld_acq(&s->intf->out_prod) != s->out_cons)
			s->again = true;
	}
	if (!s->in_done && qin == s->size) {
		pvc_nb_arm(pvc_in_notify(s->intf), PVC_NB_SPACE);
		if (ld_acq(&s->intf->in_cons) != s->in_prod - s->size)
			s->again = true;
	}
}

/* ---- datagram sockets (feature-x-dgram) -------------------------------- */

#define DG_IOV 256u

/*
 * Send what `out` holds, up to DG_BUDGET records, one sendmmsg per batch
 * of DG_BATCH.  A datagram the host refuses (EMSGSIZE, EDESTADDRREQ,
 * ECONNREFUSED after an ICMP, ...) is dropped and counted: UDP promises
 * no delivery, and one bad destination must not stop the others.
 * Returns the bytes consumed, or -EPROTO for an impossible record.
 */
static int64_t
dgram_out(struct tsock *s, uint32_t qout, bool *blocked, bool *more)
{
	static struct tcp_dgram d[DG_BATCH];
	static struct iovec iov[DG_IOV];
	static struct mmsghdr mm[DG_BATCH];
	uint32_t done = 0;
	unsigned budget = DG_BUDGET;

	while (done < qout && budget > 0) {
		int n = tcp_dgram_decode(s->pages, s->npages, s->size, s->size,
					 s->out_cons + done, qout - done, d,
					 budget < DG_BATCH ? budget : DG_BATCH,
					 iov, DG_IOV), r;

		if (n < 0)
			return -EPROTO;
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			bool dflt = d[i].to.sin_port == 0;

			mm[i].msg_hdr = (struct msghdr){
				.msg_name = dflt ? NULL : &d[i].to,
				.msg_namelen = dflt ? 0 : sizeof(d[i].to),
				.msg_iov = iov + d[i].iov_first,
				.msg_iovlen = d[i].niov,
			};
		}
		r = sendmmsg(s->fd, mm, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS) {
				*blocked = true;
				break;
			}
			/* The first one failed: drop it, go on with the rest. */
			s->dg_send_err++;
			done += d[0].rec;
			budget--;
			continue;
		}
		for (int i = 0; i < r; i++)
			done += d[i].rec;
		s->dg_sent += (uint64_t)r;
		budget -= (unsigned)r;
	}
	*more = done < qout && !*blocked;
	return done;
}

/* Write len bytes from src into ring half `base` at free-running idx. */
static void
ring_put(struct tsock *s, uint32_t base, uint32_t idx, const void *src,
	 uint32_t len)
{
	struct iovec v[4];
	const uint8_t *p = src;
	int k = tcp_ring_iov(s->pages, s->npages, base, s->size, idx, len, v, 4);

	for (int i = 0; i < k; i++) {
		memcpy(v[i].iov_base, p, v[i].iov_len);
		p += v[i].iov_len;
	}
}

/*
 * Receive into `in`, up to DG_BUDGET datagrams, each straight into the
 * ring behind its header.  When `in` has room for the largest datagram
 * there is no need to look first; otherwise MSG_PEEK|MSG_TRUNC tells the
 * next one's size, and it waits (*full) until the frontend makes room.
 * One that could never fit (larger than the ring) is taken, once `in` is
 * empty, truncated to the ring, with PVC_DGRAM_TRUNC and full_len.
 * Returns the bytes produced.
 */
static uint32_t
dgram_in(struct tsock *s, uint32_t qin, bool *full, bool *more)
{
	static struct iovec iov[IOV_MAX_RING];
	uint32_t made = 0;
	unsigned budget = DG_BUDGET;

	while (budget > 0) {
		uint32_t room = s->size - qin - made, cap, got, idx;
		struct sockaddr_in from;
		struct msghdr mh = { .msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = iov };
		struct pvc_dgram_hdr h;
		ssize_t n;
		int k;

		if (room < PVC_DGRAM_REC(0)) {
			*full = true;
			break;
		}
		if (room >= PVC_DGRAM_REC_MAX) {
			cap = PVC_DGRAM_MAX;
		} else {
			n = recv(s->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				/* A pending error (an ICMP for an earlier
				 * send): reading it cleared it. */
				budget--;
				continue;
			}
			if (PVC_DGRAM_REC((uint32_t)n) <= room) {
				cap = (uint32_t)n;
			} else if ((uint64_t)PVC_DGRAM_REC((uint32_t)n) > s->size &&
				   qin + made == 0) {
				cap = s->size - (uint32_t)sizeof(h);
			} else {
				*full = true;
				break;
			}
		}
		/* Invariant: PVC_DGRAM_REC(cap) <= room. */
		idx = s->in_prod + made;
		k = tcp_ring_iov(s->pages, s->npages, 0, s->size,
				 idx + (uint32_t)sizeof(h), cap, iov,
				 IOV_MAX_RING);
		mh.msg_iovlen = (size_t)(k > 0 ? k : 0);
		n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			budget--;
			continue;
		}
		got = (uint64_t)n > cap ? cap : (uint32_t)n;
		h = (struct pvc_dgram_hdr){
			.len = got,
			.flags = got < (uint64_t)n ? PVC_DGRAM_TRUNC : 0,
			.port = from.sin_port,
			.addr = from.sin_addr.s_addr,
			.full_len = (uint32_t)n,
		};
		if (h.flags)
			s->dg_trunc++;
		ring_put(s, 0, idx, &h, sizeof(h));
		made += PVC_DGRAM_REC(got);
		s->dg_recvd++;
		budget--;
	}
	*more = budget == 0;
	return made;
}

/* One pass over a datagram socket: pump()'s twin, record by record. */
static void
dgram_pump(struct tfront *f, struct tsock *s)
{
	uint32_t in_cons, out_prod, qin, qout, made = 0;
	bool moved_in = false, moved_out = false, blocked = false;
	bool more_out = false, more_in = false, full = false;
	int64_t sent = 0;

	s->again = false;
	s->want_out = s->in_room = false;
	if (s->broken || s->intf == NULL)
		return;
	in_cons = ld_acq(&s->intf->in_cons);
	out_prod = ld_acq(&s->intf->out_prod);
	qin = pvc_queued(s->in_prod, in_cons, s->size);
	qout = pvc_queued(out_prod, s->out_cons, s->size);
	if (qin == UINT32_MAX || qout == UINT32_MAX ||
	    (qin | qout) % PVC_DGRAM_ALIGN != 0) {
		sock_break(f, s, "impossible data ring index");
		return;
	}
	if (qout > 0) {
		sent = dgram_out(s, qout, &blocked, &more_out);
		if (sent < 0) {
			sock_break(f, s, "bad datagram record");
			return;
		}
		if (sent > 0) {
			/* Our reads of `out` (the kernel's copies) /before/
			 * the space goes back to the frontend. */
			atomic_thread_fence(memory_order_seq_cst);
			s->out_cons += (uint32_t)sent;
			st_rel(&s->intf->out_cons, s->out_cons);
			moved_out = true;
		}
		qout -= (uint32_t)sent;
	}
	s->want_out = blocked;
	made = dgram_in(s, qin, &full, &more_in);
	if (made > 0) {
		/* Payloads and headers /before/ the index that publishes
		 * them (release store). */
		s->in_prod += made;
		st_rel(&s->intf->in_prod, s->in_prod);
		moved_in = true;
	}
	s->in_room = !full;
	s->again = more_out || more_in;
	f->passes++;
	if (!f->nbits) {
		if (moved_in || moved_out) {
			ring_evtchn_notify(s->ev);
			f->notifies++;
		}
	} else {
		if ((moved_in && pvc_nb_take(pvc_in_notify(s->intf), PVC_NB_DATA)) ||
		    (moved_out && pvc_nb_take(pvc_out_notify(s->intf), PVC_NB_SPACE))) {
			ring_evtchn_notify(s->ev);
			f->notifies++;
		} else if (moved_in || moved_out) {
			f->suppressed++;
		}
		/* Ask to be woken for what we wait for, then look again. */
		if (qout == 0) {
			pvc_nb_arm(pvc_out_notify(s->intf), PVC_NB_DATA);
			if (ld_acq(&s->intf->out_prod) != s->out_cons)
				s->again = true;
		}
		if (full) {
			pvc_nb_arm(pvc_in_notify(s->intf), PVC_NB_SPACE);
			if (ld_acq(&s->intf->in_cons) != in_cons)
				s->again = true;
		}
	}
}

/* SOCKET: a stream socket is only validated (like Linux: the host socket
 * comes with CONNECT or BIND); a datagram socket exists from now on. */
static void
do_socket(struct tfront *f, const struct tcp_cmd *c)
{
	int fd;

	if (c->type != PVC_SOCK_DGRAM) {
		reply(f, c->req_id, c->cmd, 0, c->id);
		return;
	}
	if (find(f, c->id) != NULL) {
		reply(f, c->req_id, c->cmd, -EEXIST, c->id);
		return;
	}
	if (f->nsocks >= f->d->max_socks) {
		reply(f, c->req_id, c->cmd, -ENOBUFS, c->id);
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		reply(f, c->req_id, c->cmd, -errno, c->id);
		return;
	}
	/* A burst waits in the host socket while `in` is full: ask for
	 * room for several maximal datagrams (the kernel caps this at
	 * net.core.rmem_max, 208 KiB on a stock Debian). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ DG_RCVBUF }, sizeof(int));
	if (sock_new(f, c->id, T_DGRAM, fd) == NULL) {
		close(fd);
		reply(f, c->req_id, c->cmd, -ENOMEM, c->id);
		return;
	}
	reply(f, c->req_id, c->cmd, 0, c->id);
}

/* X_RING: the datagram socket's data ring (order up to
 * PVC_X_DGRAM_MAX_ORDER); indexes must start PVC_DGRAM_ALIGN-aligned. */
static void
do_x_ring(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s = find(f, c->id);
	int rc;

	if (s == NULL || s->kind != T_DGRAM) {
		reply(f, c->req_id, c->cmd, -EINVAL, c->id);
		return;
	}
	if (s->intf != NULL || s->broken) {
		reply(f, c->req_id, c->cmd, s->broken ? -EPROTO : -EISCONN,
		      c->id);
		return;
	}
	rc = map_ring_order(f, s, c->ref, c->evtchn, PVC_X_DGRAM_MAX_ORDER);
	if (rc == 0 && (s->in_prod | s->out_cons) % PVC_DGRAM_ALIGN != 0) {
		unmap_ring(f, s);
		rc = -EINVAL;
	}
	reply(f, c->req_id, c->cmd, rc, c->id);
	if (rc == 0)
		pump(f, s);
}

/* CONNECT on a datagram socket: a default destination (header port 0),
 * and the host filters what it receives to that peer.  No ring. */
static void
dgram_connect(struct tfront *f, struct tsock *s, const struct tcp_cmd *c)
{
	int rc = 0;

	if (s->broken)
		rc = -EPROTO;
	else if (connect(s->fd, (const struct sockaddr *)&c->sa,
			 sizeof(c->sa)) < 0)
		rc = -errno;
	s->dg_connected = rc == 0;
	reply(f, c->req_id, c->cmd, rc, c->id);
}

static void
dgram_bind(struct tfront *f, struct tsock *s, const struct tcp_cmd *c)
{
	int rc = 0;

	/* No SO_REUSEADDR: for UDP it would let a second socket share the
	 * port (and steal its datagrams); UDP has no TIME_WAIT to skip. */
	if (s->broken)
		rc = -EPROTO;
	else if (bind(s->fd, (const struct sockaddr *)&c->sa,
		      sizeof(c->sa)) < 0)
		rc = -errno;
	reply(f, c->req_id, c->cmd, rc, c->id);
	if (rc == 0)
		pump(f, s);
}

/* ---- commands --------------------------------------------------------- */

static int
host_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/*
 * CONNECT and BIND on an id: a UDP socket made by SOCKET takes the
 * command (dgram); an id taken otherwise, or no room for one more socket,
 * is answered here.  Otherwise a new host stream socket for the caller.
 * Returns its fd, or -1 once the command is answered.
 */
static int
stream_fd(struct tfront *f, const struct tcp_cmd *c,
	  void (*dgram)(struct tfront *, struct tsock *, const struct tcp_cmd *))
{
	struct tsock *s = find(f, c->id);
	int fd;

	if (s != NULL) {
		if (s->kind == T_DGRAM)
			dgram(f, s, c);
		else
			reply(f, c->req_id, c->cmd, -EEXIST, c->id);
		return -1;
	}
	if (f->nsocks >= f->d->max_socks) {
		reply(f, c->req_id, c->cmd, -ENOBUFS, c->id);
		return -1;
	}
	if ((fd = host_socket()) < 0) {
		reply(f, c->req_id, c->cmd, fd, c->id);
		return -1;
	}
	return fd;
}

static void
do_connect(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s;
	int fd, rc;

	if ((fd = stream_fd(f, c, dgram_connect)) < 0)
		return;
	if ((s = sock_new(f, c->id, T_ACTIVE, fd)) == NULL) {
		close(fd);
		reply(f, c->req_id, c->cmd, -ENOMEM, c->id);
		return;
	}
	if ((rc = map_ring(f, s, c->ref, c->evtchn)) < 0) {
		sock_free(f, s);
		reply(f, c->req_id, c->cmd, rc, c->id);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&c->sa, sizeof(c->sa)) == 0) {
		reply(f, c->req_id, c->cmd, 0, c->id);
		pump(f, s);
		return;
	}
	if (errno == EINPROGRESS) {
		/* Answered when the socket becomes writable: a slow
		 * connect never holds up the command ring. */
		s->connecting = true;
		s->creq_id = c->req_id;
		return;
	}
	rc = -errno;
	sock_free(f, s);
	reply(f, c->req_id, c->cmd, rc, c->id);
}

static void
connect_done(struct tfront *f, struct tsock *s)
{
	int err = 0;
	socklen_t l = sizeof(err);
	uint64_t id = s->id;
	uint32_t req_id = s->creq_id;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	s->connecting = false;
	if (err != 0)
		sock_free(f, s);
	reply(f, req_id, PVC_CMD_CONNECT, -err, id);
	if (err == 0)
		pump(f, s);
}

static void
do_bind(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s;
	int fd, one = 1;

	if (!tcp_allow_check(f->d->allow, f->d->nallow,
			     ntohl(c->sa.sin_addr.s_addr),
			     ntohs(c->sa.sin_port))) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &c->sa.sin_addr, a, sizeof(a));
		ring_log(RING_LOG_INFO,
			 "msg=\"bind refused by the allow list\" frontend=%u addr=%s port=%u",
			 ring_xb_back_dev_frontend_id(f->dev), a,
			 ntohs(c->sa.sin_port));
		reply(f, c->req_id, c->cmd, -EACCES, c->id);
		return;
	}
	if ((fd = stream_fd(f, c, dgram_bind)) < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&c->sa, sizeof(c->sa)) < 0) {
		int rc = -errno;

		close(fd);
		reply(f, c->req_id, c->cmd, rc, c->id);
		return;
	}
	if ((s = sock_new(f, c->id, T_PASSIVE, fd)) == NULL) {
		close(fd);
		reply(f, c->req_id, c->cmd, -ENOMEM, c->id);
		return;
	}
	reply(f, c->req_id, c->cmd, 0, c->id);
}

static void
do_listen(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s = find(f, c->id);

	if (s == NULL || s->kind != T_PASSIVE) {
		reply(f, c->req_id, c->cmd, -EINVAL, c->id);
		return;
	}
	if (listen(s->fd, c->backlog) < 0) {
		reply(f, c->req_id, c->cmd, -errno, c->id);
		return;
	}
	s->listening = true;
	reply(f, c->req_id, c->cmd, 0, c->id);
}

/* A waiting ACCEPT or POLL on passive socket s, tried now. */
static void
passive_try(struct tfront *f, struct tsock *s)
{
	struct tcp_cmd c = s->pcmd;
	struct tsock *n;
	int fd, rc;

	if (!s->pend)
		return;
	if (c.cmd == PVC_CMD_POLL) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			s->pend = false;
			reply(f, c.req_id, c.cmd, 0, c.id);
		}
		return;
	}
	if (find(f, c.id_new) != NULL) {
		/* id_new was taken (by a CONNECT) while we waited. */
		s->pend = false;
		reply(f, c.req_id, c.cmd, -EEXIST, c.id);
		return;
	}
	fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;	/* EAGAIN, or a connection that died: wait on */
	s->pend = false;
	if ((n = sock_new(f, c.id_new, T_ACTIVE, fd)) == NULL) {
		close(fd);
		reply(f, c.req_id, c.cmd, -ENOMEM, c.id);
		return;
	}
	if ((rc = map_ring(f, n, c.ref, c.evtchn)) < 0) {
		sock_free(f, n);
		reply(f, c.req_id, c.cmd, rc, c.id);
		return;
	}
	reply(f, c.req_id, c.cmd, 0, c.id);
	/* Bytes that came with the connection go out at once. */
	pump(f, n);
}

static void
do_accept_poll(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s = find(f, c->id);

	if (s == NULL || s->kind != T_PASSIVE || !s->listening) {
		reply(f, c->req_id, c->cmd, -EINVAL, c->id);
		return;
	}
	if (s->pend) {
		reply(f, c->req_id, c->cmd, -EINTR, c->id);
		return;
	}
	if (c->cmd == PVC_CMD_ACCEPT) {
		if (find(f, c->id_new) != NULL) {
			reply(f, c->req_id, c->cmd, -EEXIST, c->id);
			return;
		}
		if (f->nsocks >= f->d->max_socks) {
			reply(f, c->req_id, c->cmd, -ENOBUFS, c->id);
			return;
		}
	}
	s->pend = true;
	s->pcmd = *c;
	passive_try(f, s);
}

static void
do_release(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s = find(f, c->id);

	/* A waiting ACCEPT/POLL is dropped unanswered (Linux frontends
	 * free its state themselves); a connect in progress is answered
	 * first so that its slot is not lost. */
	if (s != NULL) {
		/* Best effort: what `out` still holds goes to the host
		 * socket before it closes (the kernel then delivers it). */
		if (s->kind != T_PASSIVE && !s->connecting)
			pump(f, s);
		if (s->connecting)
			reply(f, s->creq_id, PVC_CMD_CONNECT, -ECONNABORTED,
			      s->id);
		sock_free(f, s);
	}
	reply(f, c->req_id, c->cmd, 0, c->id);
}

static void
do_shutdown(struct tfront *f, const struct tcp_cmd *c)
{
	struct tsock *s = find(f, c->id);

	if (s == NULL || s->kind != T_ACTIVE || s->connecting || s->broken) {
		reply(f, c->req_id, c->cmd, -ENOTCONN, c->id);
		return;
	}
	s->shut_pending = true;
	pump(f, s);
	reply(f, c->req_id, c->cmd, 0, c->id);
}

static void
handle(struct tfront *f, const struct pvc_req *q)
{
	struct tcp_cmd c;
	int rc = tcp_cmd_decode(q, &c);

	if (rc < 0) {
		reply(f, c.req_id, c.cmd, rc, c.id);
		return;
	}
	switch (c.cmd) {
	case PVC_CMD_SOCKET: do_socket(f, &c); break;
	case PVC_CMD_CONNECT: do_connect(f, &c); break;
	case PVC_CMD_BIND: do_bind(f, &c); break;
	case PVC_CMD_LISTEN: do_listen(f, &c); break;
	case PVC_CMD_ACCEPT:
	case PVC_CMD_POLL: do_accept_poll(f, &c); break;
	case PVC_CMD_RELEASE: do_release(f, &c); break;
	case PVC_CMD_X_SHUTDOWN: do_shutdown(f, &c); break;
	case PVC_CMD_X_RING: do_x_ring(f, &c); break;
	}
}

/* Serve the command ring: a bounded batch, so that one busy frontend
 * cannot starve the others. */
static void
serve_cmds(struct tfront *f)
{
	struct pvc_req q;
	int n = 0, rc;

	for (;;) {
		while (n < 64 && !f->failed) {
			rc = pvc_back_get(&f->ring, &q);
			if (rc == 0)
				break;
			if (rc < 0) {
				front_fail(f, "impossible command ring indices");
				return;
			}
			handle(f, &q);
			n++;
		}
		if (n >= 64) {
			/* More may be queued, with req_event not re-armed:
			 * serve again on the next pass without waiting. */
			f->evrevents = POLLIN;
			break;
		}
		if (f->failed || !ring_back_final_check(&f->ring))
			break;
	}
}

static void
serve_front(struct tfront *f)
{
	if (f->evrevents)
		ring_evtchn_consume(f->ev);
	f->evrevents = 0;
	serve_cmds(f);
	for (struct tsock *s = f->socks, *nx; s != NULL && !f->failed;
	     s = nx) {
		nx = s->next;
		if (s->evrevents)
			ring_evtchn_consume(s->ev);
		if (s->kind == T_PASSIVE) {
			if (s->revents)
				passive_try(f, s);
		} else if (s->connecting) {
			if (s->revents)
				connect_done(f, s);
		} else if (s->revents || s->evrevents || s->again) {
			pump(f, s);
		}
		s->revents = s->evrevents = 0;
	}
}

/* ---- xenbus ----------------------------------------------------------- */

static int
be_probe(void *arg, struct ring_xb_back_dev *dev, struct ring_store *st,
	 const char *be_path)
{
	static const struct { const char *k, *v; } keys[] = {
		{ "versions", "1" },
		{ "max-page-order", "4" },
		{ "function-calls", "1" },
		{ "feature-x-shutdown", "1" },
		{ "feature-x-notify-bits", "1" },
		{ "feature-x-dgram", "1" },
	};
	char p[256];
	uint32_t tx;
	int rc;

	(void)arg;
	(void)dev;
	/* One transaction, as Linux: its frontend reads them all at probe. */
	if ((rc = ring_store_tx_start(st, &tx)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", be_path, keys[i].k);
		if ((rc = ring_store_printf(st, tx, p, "%s", keys[i].v)) < 0) {
			ring_store_tx_end(st, tx, false);
			return rc;
		}
	}
	return ring_store_tx_end(st, tx, true);
}

static int
read_key(struct ring_store *st, const char *dir, const char *key,
	 unsigned long *v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_read_uint(st, RING_XBT_NULL, p, v);
}

static int
be_connect(void *arg, struct ring_xb_back_dev *dev, struct ring_peer *peer,
	   struct ring_store *st, const char *fe_path)
{
	struct tcpd *d = arg;
	unsigned long ref, port, version;
	struct tfront *f;
	void *page;
	int rc;

	if ((rc = read_key(st, fe_path, "version", &version)) < 0 ||
	    (rc = read_key(st, fe_path, "ring-ref", &ref)) < 0 ||
	    (rc = read_key(st, fe_path, "port", &port)) < 0)
		return rc;
	if (version != 1 || ref > UINT32_MAX || port > UINT32_MAX)
		return -EINVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->d = d;
	f->dev = dev;
	f->peer = peer;
	if ((rc = ring_peer_map(peer, (uint32_t)ref, true, &page)) < 0)
		goto fail;
	if ((rc = pvc_back_attach(&f->ring, page, RING_PAGE_SIZE)) < 0)
		goto fail_unmap;
	rc = ring_peer_bind(peer, (uint32_t)port, &f->ev);
	if (rc == -EAGAIN && ring_peer_process(peer) == 0)
		rc = ring_peer_bind(peer, (uint32_t)port, &f->ev);
	if (rc < 0)
		goto fail_unmap;
	{
		unsigned long nb = 0;

		f->nbits = read_key(st, fe_path, "x-notify-bits", &nb) == 0 &&
			   nb == 1;
	}
	f->ring_ref = (uint32_t)ref;
	f->evrevents = POLLIN;	/* requests may already be queued */
	*ring_xb_back_dev_user(dev) = f;
	f->next = d->fronts;
	d->fronts = f;
	ring_log(RING_LOG_INFO, "msg=\"frontend connected\" frontend=%u notify_bits=%d",
		 ring_xb_back_dev_frontend_id(dev), f->nbits);
	return 0;
fail_unmap:
	ring_peer_unmap(peer, (uint32_t)ref);
fail:
	free(f);
	return rc;
}

static void
be_disconnect(void *arg, struct ring_xb_back_dev *dev)
{
	struct tcpd *d = arg;
	struct tfront *f = *ring_xb_back_dev_user(dev), **pp;
	unsigned n = 0;

	if (f == NULL)
		return;
	for (pp = &d->fronts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	while (f->socks != NULL) {
		sock_free(f, f->socks);
		n++;
	}
	ring_peer_unmap(f->peer, f->ring_ref);
	w_free(d, &f->ew);
	ring_evtchn_close(f->ev);
	*ring_xb_back_dev_user(dev) = NULL;
	ring_log(RING_LOG_INFO,
		 "msg=\"frontend released\" frontend=%u sockets_closed=%u notify_bits=%d data_passes=%" PRIu64 " data_notifies=%" PRIu64 " suppressed=%" PRIu64,
		 ring_xb_back_dev_frontend_id(dev), n, f->nbits, f->passes,
		 f->notifies, f->suppressed);
	free(f);
}

static const struct ring_xb_back_ops back_ops = {
	.be_probe = be_probe,
	.be_connect = be_connect,
	.be_disconnect = be_disconnect,
};

/* ---- the loop --------------------------------------------------------- */

static void
notify(int fd, const char *s)
{
	if (fd >= 0 && write(fd, s, strlen(s)) < 0)
		ring_log(RING_LOG_WARN, "msg=\"cannot write NOTIFY_FD\"");
}

/* Poll completions are task work; COOP_TASKRUN runs it on our next
 * syscall instead of interrupting us with an IPI, and TASKRUN_FLAG makes
 * io_uring_submit enter the kernel when some is pending (kernel >= 5.19;
 * older ones get the plain ring). */
static int
ring_init(struct io_uring *r)
{
	struct io_uring_params p = { .flags = IORING_SETUP_COOP_TASKRUN |
						IORING_SETUP_TASKRUN_FLAG |
						IORING_SETUP_CQSIZE,
				     .cq_entries = 4096 };
	int rc = io_uring_queue_init_params(512, r, &p);

	if (rc == -EINVAL) {
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE,
					      .cq_entries = 4096 };
		rc = io_uring_queue_init_params(512, r, &p);
	}
	return rc;
}

int
tcpd_serve(const struct tcpd_opts *o)
{
	struct tcpd d = { 0 };
	struct ring_store *st = NULL;
	struct ring_xenbus *xb = NULL;
	struct ring_xb_back *be = NULL;
	struct pollfd *xfds = NULL;	/* the driver's fds, as it gave them */
	struct twatch *xw = NULL;	/* their watches */
	short *xrev = NULL;
	unsigned nxb = 0, xcap = 0;
	bool xb_dirty = true, have_ring = false;
	char link[4096];
	int rc;

	if (o == NULL || o->sz < sizeof(*o) || o->nallow > TCP_ALLOW_MAX ||
	    o->rundir == NULL || o->service == NULL)
		return -EINVAL;
	memcpy(d.allow, o->allow, o->nallow * sizeof(*o->allow));
	d.nallow = o->nallow;
	d.max_socks = o->max_socks ? o->max_socks : 128;
	d.max_pages = o->max_pages ? o->max_pages : 2048;
	if ((size_t)snprintf(link, sizeof(link), "%s/%s.sock", o->rundir,
			     o->service) >= sizeof(link))
		return -ENAMETOOLONG;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if ((rc = ring_init(&d.ring)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"io_uring setup failed\" err=%d", rc);
		return rc;
	}
	have_ring = true;
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_back_open(xb, PVC_DEVICE_TYPE, link, &back_ops, &d,
				    &be)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"backend setup failed\" err=%d", rc);
		goto out;
	}
	ring_log(RING_LOG_INFO, "msg=serving mode=socket link=%s allow=%u",
		 link, d.nallow);
	notify(o->notify_fd, "READY=1\n");
	while (!stop) {
		struct __kernel_timespec ts;
		struct io_uring_cqe *cqe;
		bool carry = false;
		unsigned all;
		int t;

		/* The driver's fds (store, listeners, links) change only in
		 * dispatch or dev_fail: then all are re-armed afresh, since
		 * a closed fd's number may be back on another file. */
		if (xb_dirty) {
			unsigned need;

			for (unsigned i = 0; i < nxb; i++)
				w_free(&d, &xw[i]);
			nxb = 0;
			rc = ring_xenbus_pollfds(xb, NULL, 0);
			need = rc > 0 ? (unsigned)rc : 0;
			if (need > xcap) {
				struct pollfd *nf = realloc(xfds, need * sizeof(*nf));
				struct twatch *nw;
				short *nr;

				if (nf == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				xfds = nf;
				if ((nw = realloc(xw, need * sizeof(*nw))) == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				xw = nw;
				if ((nr = realloc(xrev, need * sizeof(*nr))) == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				xrev = nr;
				xcap = need;
			}
			rc = ring_xenbus_pollfds(xb, xfds, xcap);
			nxb = rc > 0 ? (unsigned)rc : 0;
			if (nxb > xcap)
				nxb = xcap;
			for (unsigned i = 0; i < nxb; i++) {
				xw[i] = (struct twatch){ .fd = -1 };
				xrev[i] = 0;
			}
			xb_dirty = false;
		}
		for (unsigned i = 0; i < nxb; i++)
			if (w_set(&d, &xw[i], xfds[i].fd, xfds[i].events,
				  false, &xrev[i]) < 0)
				carry = true;
		t = ring_xenbus_timeout_ms(xb);
		/* Only the polls that completed (or whose mask grew) cost an
		 * SQE; the walk itself is a few loads per socket. */
		for (struct tfront *f = d.fronts; f; f = f->next) {
			if (f->evrevents)
				carry = true;	/* work carried over */
			if (w_set(&d, &f->ew, ring_evtchn_fd(f->ev), POLLIN,
				  true, &f->evrevents) < 0)
				carry = true;
			for (struct tsock *s = f->socks; s; s = s->next) {
				short ev = 0;

				if (s->again)
					carry = true;

				if (s->kind == T_PASSIVE)
					ev = s->pend ? POLLIN : 0;
				else if (s->connecting)
					ev = POLLOUT;
				else if (!s->broken)
					ev = (short)((s->in_room ? POLLIN : 0) |
						     (s->want_out ? POLLOUT : 0));
				if (w_set(&d, &s->sw, s->fd, ev, false,
					  &s->revents) < 0 ||
				    w_set(&d, &s->ew,
					  s->ev ? ring_evtchn_fd(s->ev) : -1,
					  POLLIN, true, &s->evrevents) < 0)
					carry = true;
			}
		}
		if (t < 0 || t > 1000)
			t = 1000;
		if (carry)
			t = 0;
		if (t == 0) {
			rc = io_uring_submit(&d.ring);
		} else {
			ts = (struct __kernel_timespec){
				.tv_sec = t / 1000,
				.tv_nsec = (long long)(t % 1000) * 1000000 };
			rc = io_uring_submit_and_wait_timeout(&d.ring, &cqe, 1,
							      &ts, NULL);
		}
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY &&
		    rc != -EAGAIN) {
			ring_log(RING_LOG_ERR, "msg=\"io_uring wait failed\" err=%d",
				 rc);
			goto out;
		}
		all = w_reap(&d);
		/* Handshake first: it may connect or free frontends (the
		 * revents live inside them, so nothing dangles).  Only when
		 * one of its fds is ready (the store's fd also signals queued
		 * watch events), on timeout, or when a retry is due: each
		 * dispatch re-reads every frontend's state from the store, a
		 * round trip to another process that would otherwise be paid
		 * per data wake-up (or per cancelled poll's completion). */
		bool xb_ready = carry ? ring_xenbus_timeout_ms(xb) == 0
				      : all == 0;

		for (unsigned i = 0; i < nxb; i++) {
			if (xrev[i])
				xb_ready = true;
			xrev[i] = 0;
		}
		if (xb_ready) {
			xb_dirty = true;
			if ((rc = ring_xenbus_dispatch(xb)) < 0) {
				ring_log(RING_LOG_ERR, "msg=\"store gone\"");
				goto out;
			}
		}
		for (struct tfront *f = d.fronts, *nx; f != NULL; f = nx) {
			nx = f->next;
			serve_front(f);
			if (f->failed) {
				ring_xb_back_dev_fail(f->dev, f->why);
				xb_dirty = true;
			}
		}
	}
	rc = 0;
	notify(o->notify_fd, "STOPPING=1\n");
out:
	ring_xb_back_close(be);
	ring_xenbus_close(xb);
	ring_store_close(st);
	if (have_ring)
		io_uring_queue_exit(&d.ring);
	free(xfds);
	free(xw);
	free(xrev);
	free(d.w);
	free(d.freew);
	return rc;
}
