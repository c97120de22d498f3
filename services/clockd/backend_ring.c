/*
 * backend_ring.c - clockd serves device type "clock" over libring: the
 * xenbus backend (probe, connect, disconnect), the two TIME rings of each
 * frontend, the time page offered on the link, all in clock_loop's one
 * io_uring (store, listener and link fds, channels, signals, timers).
 *
 * Every frontend is hostile: its keys, ring indices and requests are
 * checked (the requests by the timer set, on a private copy); a violation
 * fails that device with one log line and everyone else keeps being
 * served.  Failing happens outside the loop's callbacks, so that no
 * callback frees what the loop is walking.
 */
#include "services/clockd/clockd.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

/* Watch cookies: kind in bits 48..55, the rest per kind. */
#define KIND_SHIFT 48
enum { KIND_XB = 1, KIND_SIG = 2, KIND_FE = 3 };
#define XB_MAX 64
/* Requests served per frontend per pass: one busy frontend cannot starve
 * the others (they are served again at once, without sleeping). */
#define FE_BUDGET 256
/* The store is re-read at least this often, whatever the fds say. */
#define XB_BACKSTOP_NS 250000000ull

struct cfe {
	struct cfe *next;
	struct clockd_serve *srv;
	struct ring_xb_back_dev *dev;
	struct ring_peer *peer;
	uint32_t cmd_ref, fire_ref;
	struct ring_back cmd, fire;
	struct ring_evtchn *ev;
	struct clock_timers *t;
	uint64_t serial;	/* watch cookie */
	bool watched;
	bool fire_dirty;	/* events put on the ring, not pushed yet */
	const char *fail;	/* why to drop it, once outside callbacks */
};

struct clockd_serve {
	struct clock_writer *w;
	struct clock_loop *loop;
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct ring_xb_back *be;
	struct cfe *fes;
	unsigned nfes, status_nfes;
	uint64_t next_serial;
	uint32_t max_timers;
	int sigfd;
	int notify_fd;
	int xbfd[XB_MAX];
	bool xb_armed[XB_MAX];
	unsigned nxb;
	uint32_t xb_gen;
	bool xb_due;
	bool more;
	bool stop;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
notify(struct clockd_serve *s, const char *line)
{
	if (s->notify_fd >= 0 &&
	    write(s->notify_fd, line, strlen(line)) < 0)
		ring_log(RING_LOG_WARN, "msg=\"cannot write NOTIFY_FD\" err=%d",
			 errno);
}

static void
status_update(struct clockd_serve *s)
{
	char line[64];

	if (s->nfes == s->status_nfes)
		return;
	s->status_nfes = s->nfes;
	snprintf(line, sizeof(line), "STATUS=serving %u frontends\n", s->nfes);
	notify(s, line);
}

/* ---- xenbus backend callbacks ---------------------------------------- */

static int
put_key(struct ring_store *st, const char *dir, const char *key,
	unsigned long v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_printf(st, RING_XBT_NULL, p, "%lu", v);
}

static int
get_key(struct ring_store *st, const char *dir, const char *key,
	uint32_t *v)
{
	unsigned long x;
	char p[256];
	int rc;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	if ((rc = ring_store_read_uint(st, RING_XBT_NULL, p, &x)) < 0)
		return rc;
	if (x > UINT32_MAX)
		return -ERANGE;
	*v = (uint32_t)x;
	return 0;
}

static int
be_probe(void *arg, struct ring_xb_back_dev *dev, struct ring_store *st,
	 const char *be_path)
{
	struct clockd_serve *s = arg;
	int rc;

	(void)dev;
	if ((rc = put_key(st, be_path, "feature-time-page", 1)) < 0 ||
	    (rc = put_key(st, be_path, "feature-timers", 1)) < 0 ||
	    (rc = put_key(st, be_path, "time-page-offer",
			  CLOCK_OFFER_TIME_PAGE)) < 0)
		return rc;
	return put_key(st, be_path, "max-timers", s->max_timers);
}

static int fe_deliver(void *arg, const struct clock_fire_rsp *ev);

static void
cfe_free(struct cfe *f)
{
	struct clockd_serve *s = f->srv;

	if (f->watched)
		clock_loop_unwatch(s->loop, f->serial);
	if (f->t != NULL)
		clock_loop_detach(s->loop, f->t);
	if (f->cmd.s != NULL)
		ring_peer_unmap(f->peer, f->cmd_ref);
	if (f->fire.s != NULL)
		ring_peer_unmap(f->peer, f->fire_ref);
	ring_evtchn_close(f->ev);
	free(f);
}

static int
be_connect(void *arg, struct ring_xb_back_dev *dev, struct ring_peer *peer,
	   struct ring_store *st, const char *fe_path)
{
	struct clockd_serve *s = arg;
	struct clock_timers_opts topts = { .sz = sizeof(topts),
					   .max_timers = s->max_timers };
	uint32_t port;
	struct cfe *f;
	void *page;
	int rc;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->srv = s;
	f->dev = dev;
	f->peer = peer;
	if ((rc = get_key(st, fe_path, CLOCK_KEY_TIMER_RING_REF,
			  &f->cmd_ref)) < 0 ||
	    (rc = get_key(st, fe_path, CLOCK_KEY_FIRE_RING_REF,
			  &f->fire_ref)) < 0 ||
	    (rc = get_key(st, fe_path, CLOCK_KEY_EVENT_CHANNEL, &port)) < 0)
		goto fail;
	/* Attach checks the indices the frontend left in each page. */
	if ((rc = ring_peer_map(peer, f->cmd_ref, true, &page)) < 0)
		goto fail;
	if ((rc = clock_timer_back_attach(&f->cmd, page, RING_PAGE_SIZE)) < 0) {
		ring_peer_unmap(peer, f->cmd_ref);
		goto fail;
	}
	if ((rc = ring_peer_map(peer, f->fire_ref, true, &page)) < 0)
		goto fail;
	if ((rc = clock_fire_back_attach(&f->fire, page, RING_PAGE_SIZE)) < 0) {
		ring_peer_unmap(peer, f->fire_ref);
		goto fail;
	}
	rc = ring_peer_bind(peer, port, &f->ev);
	if (rc == -EAGAIN && ring_peer_process(peer) == 0)
		rc = ring_peer_bind(peer, port, &f->ev);
	if (rc < 0)
		goto fail;
	rc = ring_peer_offer(peer, CLOCK_OFFER_TIME_PAGE,
			     clock_writer_fd(s->w), CLOCK_PAGE_SIZE);
	if (rc < 0)
		goto fail;
	if ((rc = clock_loop_attach(s->loop, &topts, fe_deliver, f, &f->t)) < 0)
		goto fail;
	f->serial = ++s->next_serial;
	if ((rc = clock_loop_watch(s->loop, ring_evtchn_fd(f->ev),
				   (uint64_t)KIND_FE << KIND_SHIFT |
				   f->serial)) < 0)
		goto fail;
	f->watched = true;
	*ring_xb_back_dev_user(dev) = f;
	f->next = s->fes;
	s->fes = f;
	s->nfes++;
	/* Requests may be waiting already. */
	s->more = true;
	ring_log(RING_LOG_INFO, "msg=\"frontend connected\" frontend=%u "
		 "devid=%u", ring_xb_back_dev_frontend_id(dev),
		 ring_xb_back_dev_devid(dev));
	return 0;
fail:
	/* The driver logs the refusal (one line) and closes the device. */
	cfe_free(f);
	return rc;
}

static void
be_disconnect(void *arg, struct ring_xb_back_dev *dev)
{
	struct clockd_serve *s = arg;
	struct cfe *f = *ring_xb_back_dev_user(dev), **pp;

	if (f == NULL)
		return;
	for (pp = &s->fes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			s->nfes--;
			break;
		}
	*ring_xb_back_dev_user(dev) = NULL;
	cfe_free(f);
}

static const struct ring_xb_back_ops back_ops = {
	.be_probe = be_probe,
	.be_connect = be_connect,
	.be_disconnect = be_disconnect,
};

/* ---- the rings -------------------------------------------------------- */

/* From the loop: one fired event onto the frontend's event ring, if it
 * posted a credit.  Pushed later, in a batch (flush). */
static int
fe_deliver(void *arg, const struct clock_fire_rsp *ev)
{
	struct cfe *f = arg;
	struct clock_fire_req credit;
	struct clock_fire_rsp out = *ev;
	int rc;

	if (f->fail != NULL)
		return -EAGAIN;
	rc = clock_fire_back_get(&f->fire, &credit);
	if (rc < 0) {
		f->fail = "impossible event ring indices";
		return -EAGAIN;
	}
	if (rc == 0)
		return -EAGAIN;		/* no credit: it stays queued */
	out.status = CLOCK_ST_FIRED;
	out.pad = 0;
	clock_fire_back_put(&f->fire, &out);
	f->fire_dirty = true;
	return 0;
}

static void
flush(struct cfe *f)
{
	if (!f->fire_dirty)
		return;
	f->fire_dirty = false;
	if (ring_back_push(&f->fire))
		ring_evtchn_notify(f->ev);
}

/* Serve one frontend: its commands, then its credits.  Sets s->more when
 * the budget ran out or the final checks found more. */
static void
serve_fe(struct clockd_serve *s, struct cfe *f)
{
	struct clock_timer_req req;
	struct clock_timer_rsp rsp;
	int n = 0, rc;

	if (f->fail != NULL)
		return;
	ring_evtchn_consume(f->ev);
	for (;;) {
		while (n < FE_BUDGET) {
			rc = clock_timer_back_get(&f->cmd, &req);
			if (rc < 0) {
				f->fail = "impossible command ring indices";
				return;
			}
			if (rc == 0)
				break;
			/* req is our private copy; the timer set checks it. */
			if ((rc = clock_loop_request(s->loop, f->t, &req,
						     &rsp)) < 0)
				ring_log(RING_LOG_WARN, "msg=\"loop request "
					 "failed\" err=%d", rc);
			clock_timer_back_put(&f->cmd, &rsp);
			n++;
		}
		if (ring_back_push(&f->cmd))
			ring_evtchn_notify(f->ev);
		clock_loop_kick(s->loop, f->t);
		if (f->fail != NULL)
			return;
		flush(f);
		if (n >= FE_BUDGET) {
			s->more = true;
			return;
		}
		/* Arm the event indices, then look once more: what arrived
		 * in between would otherwise sleep until the next notify. */
		if (ring_back_final_check(&f->cmd))
			continue;
		if (clock_timers_fired_queued(f->t) > 0 &&
		    ring_back_final_check(&f->fire)) {
			clock_loop_kick(s->loop, f->t);
			flush(f);
			if (f->fail != NULL ||
			    clock_timers_fired_queued(f->t) == 0)
				return;
			s->more = true;
		}
		return;
	}
}

static struct cfe *
find_fe(struct clockd_serve *s, uint64_t serial)
{
	for (struct cfe *f = s->fes; f != NULL; f = f->next)
		if (f->serial == serial)
			return f;
	return NULL;
}

/* Drop the frontends that broke the protocol: one line each. */
static void
reap_failed(struct clockd_serve *s)
{
	for (struct cfe *f = s->fes, *nx; f != NULL; f = nx) {
		nx = f->next;
		if (f->fail != NULL)
			ring_xb_back_dev_fail(f->dev, f->fail);
	}
}

/* ---- the xenbus fds in the io_uring ---------------------------------- */

static uint64_t
xb_cookie(const struct clockd_serve *s, unsigned i)
{
	return (uint64_t)KIND_XB << KIND_SHIFT |
	       (uint64_t)s->xb_gen << 8 | i;
}

/* Watch what the driver needs watched now.  The same fds: re-arm those
 * that fired.  Any change: drop every old watch (so no closed file is
 * held) and watch the new set under a new generation. */
static void
xb_resync(struct clockd_serve *s)
{
	struct pollfd p[XB_MAX];
	int n = ring_xenbus_pollfds(s->xb, p, XB_MAX);
	bool same;

	if (n > XB_MAX) {
		ring_log(RING_LOG_WARN, "msg=\"too many xenbus fds\" n=%d", n);
		n = XB_MAX;
	}
	same = (unsigned)n == s->nxb;
	for (int i = 0; same && i < n; i++)
		same = p[i].fd == s->xbfd[i];
	if (!same) {
		for (unsigned i = 0; i < s->nxb; i++)
			if (s->xb_armed[i])
				clock_loop_unwatch(s->loop, xb_cookie(s, i));
		s->xb_gen = (s->xb_gen + 1) & 0xffffffu;
		s->nxb = (unsigned)n;
		for (int i = 0; i < n; i++) {
			s->xbfd[i] = p[i].fd;
			s->xb_armed[i] = false;
		}
	}
	for (unsigned i = 0; i < s->nxb; i++)
		if (!s->xb_armed[i] &&
		    clock_loop_watch(s->loop, s->xbfd[i], xb_cookie(s, i)) == 0)
			s->xb_armed[i] = true;
}

static void
on_watch(void *arg, uint64_t cookie, int res)
{
	struct clockd_serve *s = arg;
	uint64_t v = cookie & ((1ull << KIND_SHIFT) - 1);
	struct cfe *f;

	(void)res;
	switch (cookie >> KIND_SHIFT) {
	case KIND_SIG: {
		struct signalfd_siginfo si;

		if (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			ring_log(RING_LOG_INFO, "msg=\"signal, stopping\" "
				 "signal=%u", si.ssi_signo);
			s->stop = true;
		}
		if (!s->stop)
			clock_loop_watch(s->loop, s->sigfd, cookie);
		break;
	}
	case KIND_XB:
		if ((v >> 8) == s->xb_gen && (v & 0xff) < s->nxb)
			s->xb_armed[v & 0xff] = false;
		s->xb_due = true;
		break;
	case KIND_FE:
		if ((f = find_fe(s, v)) == NULL)
			break;		/* gone since */
		f->watched = false;
		serve_fe(s, f);
		if (f->fail == NULL &&
		    clock_loop_watch(s->loop, ring_evtchn_fd(f->ev),
				     cookie) == 0)
			f->watched = true;
		break;
	}
}

/* ---- the daemon ------------------------------------------------------- */

int
clockd_serve(const struct clockd_serve_opts *o)
{
	struct clockd_serve s = { .notify_fd = -1, .sigfd = -1 };
	struct clock_writer_opts wo = { .sz = sizeof(wo) };
	struct clock_loop_opts lo = { .sz = sizeof(lo), .step_fd = -1,
				      .queue_depth = 256 };
	char link[4096];
	uint64_t xb_next = 0;
	sigset_t mask;
	int rc, ret = 1;

	if (o == NULL || o->sz < sizeof(*o) || o->rundir == NULL ||
	    o->service == NULL)
		return 2;
	s.notify_fd = o->notify_fd;
	s.max_timers = o->max_timers ? o->max_timers : 65536;
	if ((size_t)snprintf(link, sizeof(link), "%s/%s.sock", o->rundir,
			     o->service) >= sizeof(link)) {
		ring_log(RING_LOG_ERR, "msg=\"link path too long\"");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sigfd < 0) {
		ring_log(RING_LOG_ERR, "msg=\"signalfd failed\" err=%d", errno);
		return 1;
	}
	if ((rc = clock_writer_open(&wo, &s.w)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"time page failed\" err=%d", rc);
		goto out;
	}
	lo.writer = s.w;
	if ((rc = clock_loop_open(&lo, &s.loop)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"io_uring loop failed\" err=%d", rc);
		goto out;
	}
	clock_loop_set_watch_fn(s.loop, on_watch, &s);
	if ((rc = ring_store_open(NULL, &s.st)) < 0 ||
	    (rc = ring_xenbus_open(s.st, &s.xb)) < 0 ||
	    (rc = ring_xb_back_open(s.xb, CLOCK_DEVICE_TYPE, link, &back_ops,
				    &s, &s.be)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"backend setup failed\" err=%d "
			 "link=%s", rc, link);
		goto out;
	}
	if ((rc = ring_xenbus_dispatch(s.xb)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"store gone\" err=%d", rc);
		goto out;
	}
	if (o->after_setup != NULL && (rc = o->after_setup()) < 0)
		ring_log(RING_LOG_WARN, "msg=\"cannot drop privileges\" "
			 "err=%d", rc);
	clock_loop_watch(s.loop, s.sigfd, (uint64_t)KIND_SIG << KIND_SHIFT);
	xb_resync(&s);
	ring_log(RING_LOG_INFO, "msg=serving link=%s tsc=%d max_timers=%u",
		 link, clock_writer_uses_tsc(s.w), s.max_timers);
	notify(&s, "READY=1\n");
	s.status_nfes = UINT32_MAX;
	status_update(&s);
	while (!s.stop) {
		uint64_t now = mono_ns(), wait = 100000000u;

		if (s.xb_due || now >= xb_next) {
			int t;

			s.xb_due = false;
			if ((rc = ring_xenbus_dispatch(s.xb)) < 0) {
				ring_log(RING_LOG_ERR, "msg=\"store gone\" "
					 "err=%d", rc);
				goto out;
			}
			xb_resync(&s);
			t = ring_xenbus_timeout_ms(s.xb);
			xb_next = mono_ns() + ((t >= 0 && (uint64_t)t * 1000000u <
					     XB_BACKSTOP_NS) ?
					     (uint64_t)t * 1000000u :
					     XB_BACKSTOP_NS);
		}
		if (s.more) {
			s.more = false;
			for (struct cfe *f = s.fes; f != NULL; f = f->next)
				serve_fe(&s, f);
		}
		reap_failed(&s);
		status_update(&s);
		now = mono_ns();
		if (s.more || s.xb_due)
			wait = 0;
		else if (xb_next > now && xb_next - now < wait)
			wait = xb_next - now;
		else if (xb_next <= now)
			wait = 0;
		if ((rc = clock_loop_run_once(s.loop, wait)) < 0) {
			ring_log(RING_LOG_ERR, "msg=\"loop failed\" err=%d", rc);
			goto out;
		}
		/* Timers that fired in the loop went onto rings: push. */
		for (struct cfe *f = s.fes; f != NULL; f = f->next)
			flush(f);
		reap_failed(&s);
	}
	notify(&s, "STOPPING=1\n");
	ret = 0;
out:
	/* Every device goes Closed; be_disconnect frees each frontend. */
	ring_xb_back_close(s.be);
	ring_xenbus_close(s.xb);
	ring_store_close(s.st);
	clock_loop_close(s.loop);
	clock_writer_close(s.w);
	if (s.sigfd >= 0)
		close(s.sigfd);
	return ret;
}
