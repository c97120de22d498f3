/*
 * appkit/clock_ring.c - the "clock" device frontend: TIME over clockd's
 * command and event rings, PCLOCK/MCLOCK from clockd's time page.
 *
 * Timers live here first: a table of every pending timer {id, absolute
 * deadline, callback}.  The rings only carry them.  On every (re)connect
 * we ARM each pending timer again with the same id and deadline; a timer
 * leaves the table exactly once (its FIRED event, a cancel, or an error),
 * and its callback runs only when it leaves by firing, so a timer can
 * never fire twice whatever clockd does.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appkit_internal.h"
#include "clock_front.h"
#include "morgana/clock.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

struct ak_clock_front {
	struct ak_loop *l;
	struct ring_xenbus *xb;
	struct ring_xb_front *xf;
	unsigned devid;
	enum ak_sig sig;
	/* Valid from fe_setup to fe_teardown only. */
	struct ring_share *share;
	struct ring_evtchn *ev;
	struct ak_watch *evw;
	const void *page;
	bool up;
	bool reopen_armed;
	uint64_t reopen_id;
	struct ak_clock_proto proto;
	struct ak_time *time;
	struct ak_pclock *pclock;
	struct ak_mclock *mclock;
};

/* ---- the transport-independent part is in clock_front.c; here the
 * handshake, the event channel and the handles. ---- */

static void
front_kick(struct ak_clock_front *f)
{
	if (!f->up || f->proto.broken)
		return;
	if (ak_clock_proto_poll(&f->proto) < 0) {
		ring_log(RING_LOG_WARN,
			 "msg=\"clockd broke the TIME protocol; reconnecting\" device=clock/%u why=\"%s\"",
			 f->devid, f->proto.why ? f->proto.why : "?");
	}
	if (f->proto.notify) {
		f->proto.notify = false;
		ring_evtchn_notify(f->ev);
	}
}

static void reopen_cb(void *arg);

static const struct ring_xb_front_ops front_ops;

static void
ev_ready(void *arg, int fd, unsigned revents)
{
	struct ak_clock_front *f = arg;

	(void)fd;
	(void)revents;
	ring_evtchn_consume(f->ev);
	front_kick(f);
	if (f->proto.broken && !f->reopen_armed) {
		/* Drop this connection and shake hands again, a second
		 * later, so that a broken clockd cannot spin us. */
		f->reopen_armed = true;
		ak_loop_timer(f->l, ak_now_ns() + 1000000000u, reopen_cb, f,
			      &f->reopen_id);
	}
}

static void
reopen_cb(void *arg)
{
	struct ak_clock_front *f = arg;
	int rc;

	f->reopen_armed = false;
	ring_xb_front_close(f->xf);
	f->xf = NULL;
	rc = ring_xb_front_open(f->xb, CLOCK_DEVICE_TYPE, f->devid, &front_ops,
				f, &f->xf);
	if (rc < 0)
		ring_log(RING_LOG_ERR,
			 "msg=\"clock device reopen failed\" device=clock/%u err=%d",
			 f->devid, rc);
}

static int
fe_setup(void *arg, struct ring_xb_front *xf, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct ak_clock_front *f = arg;
	uint32_t tref, fref;
	void *tpage, *fpage;
	int rc;

	(void)xf;
	if ((rc = ring_share_grant(share, false, &tref, &tpage)) < 0 ||
	    (rc = ring_share_grant(share, false, &fref, &fpage)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	if ((rc = ak_clock_proto_attach(&f->proto, tpage, fpage,
					RING_PAGE_SIZE)) < 0)
		return rc;
	f->share = share;
	if ((rc = ak_xb_put_uint(st, tx, fe_path, CLOCK_KEY_TIMER_RING_REF,
				  tref)) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, CLOCK_KEY_FIRE_RING_REF,
				  fref)) < 0)
		return rc;
	return ak_xb_put_uint(st, tx, fe_path, CLOCK_KEY_EVENT_CHANNEL,
			      ring_evtchn_port(f->ev));
}

static void
try_page(struct ak_clock_front *f)
{
	const void *addr;
	size_t len;
	uint64_t ns;

	if (f->page || f->share == NULL)
		return;
	if (ring_share_offer(f->share, CLOCK_OFFER_TIME_PAGE, &addr, &len) == 0 &&
	    len >= CLOCK_PAGE_SIZE && clock_page_mono_ns(addr, &ns) == 0)
		f->page = addr;
}

static int
fe_connected(void *arg, struct ring_xb_front *xf)
{
	struct ak_clock_front *f = arg;
	int rc;

	if ((rc = ak_loop_watch(f->l, ring_evtchn_fd(f->ev), POLLIN, ev_ready,
				f, &f->evw)) < 0)
		return rc;
	f->up = true;
	ak_clock_proto_connected(&f->proto);
	try_page(f);
	ring_log(RING_LOG_INFO,
		 "msg=\"clock connected\" device=clock/%u generation=%u rearmed=%zu page=%s",
		 f->devid, ring_xb_front_generation(xf), f->proto.n_timers,
		 f->page ? "yes" : "not yet");
	front_kick(f);
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xf)
{
	struct ak_clock_front *f = arg;

	(void)xf;
	f->up = false;
	ak_loop_unwatch(f->evw);
	f->evw = NULL;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
	ak_clock_proto_detach(&f->proto);
	/* The share, and every mapping it gave us, closes after this. */
	f->share = NULL;
	f->page = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

/* ---- handles ---- */

/*
 * Between connections (and before the page arrives) the clocks fall back
 * to clock_gettime: clockd's page is defined on the same axes
 * (CLOCK_MONOTONIC, CLOCK_REALTIME), so readers see the same time either
 * way and never fail.
 */
static int
ring_mclock(void *dev, uint64_t *ns)
{
	struct ak_clock_front *f = dev;

	try_page(f);
	if (f->page == NULL || clock_page_mono_ns(f->page, ns) < 0)
		*ns = ak_now_ns();
	return 0;
}

static int
ring_pclock(void *dev, int64_t *sec, uint32_t *nsec)
{
	struct ak_clock_front *f = dev;
	uint64_t ns = 0;

	try_page(f);
	if (f->page == NULL || clock_page_wall_ns(f->page, &ns) < 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		*sec = ts.tv_sec;
		*nsec = (uint32_t)ts.tv_nsec;
		return 0;
	}
	*sec = (int64_t)(ns / 1000000000u);
	*nsec = (uint32_t)(ns % 1000000000u);
	return 0;
}

static int
ring_time_at(void *dev, uint64_t deadline_ns, ak_time_fn *cb, void *arg,
	     uint64_t *id)
{
	struct ak_clock_front *f = dev;
	int rc = ak_clock_proto_arm(&f->proto, deadline_ns, cb, arg, id);

	if (rc == 0)
		front_kick(f);
	return rc;
}

static int
ring_time_cancel(void *dev, uint64_t id)
{
	struct ak_clock_front *f = dev;
	int rc = ak_clock_proto_cancel(&f->proto, id);

	if (rc == 0)
		front_kick(f);
	return rc;
}

static const struct ak_mclock_ops mclock_ops = { .elapsed_ns = ring_mclock };
static const struct ak_pclock_ops pclock_ops = { .now = ring_pclock };
static const struct ak_time_ops time_ops = {
	.at = ring_time_at, .cancel = ring_time_cancel,
};

int
ak_clock_front_open(struct ak_loop *l, struct ring_xenbus *xb, unsigned devid,
		    enum ak_sig sig, struct ak_clock_front **out)
{
	struct ak_clock_front *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (f == NULL)
		return -ENOMEM;
	f->l = l;
	f->xb = xb;
	f->devid = devid;
	f->sig = sig;
	if ((rc = ak_clock_proto_init(&f->proto, l)) < 0)
		goto fail;
	if ((rc = ak_time_new(&time_ops, f, l, &f->time)) < 0 ||
	    (rc = ak_pclock_new(&pclock_ops, f, &f->pclock)) < 0 ||
	    (rc = ak_mclock_new(&mclock_ops, f, &f->mclock)) < 0)
		goto fail;
	if ((rc = ring_xb_front_open(xb, CLOCK_DEVICE_TYPE, devid, &front_ops,
				     f, &f->xf)) < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	ak_time_free(f->time);
	ak_pclock_free(f->pclock);
	ak_mclock_free(f->mclock);
	ak_clock_proto_fini(&f->proto);
	free(f);
	return rc;
}

bool
ak_clock_front_ready(struct ak_clock_front *f)
{
	if (!f->up)
		return false;
	if (f->sig == AK_SIG_TIME)
		return true;
	try_page(f);
	return f->page != NULL;
}

struct ak_time *
ak_clock_front_time(struct ak_clock_front *f)
{
	return f->time;
}

struct ak_pclock *
ak_clock_front_pclock(struct ak_clock_front *f)
{
	return f->pclock;
}

struct ak_mclock *
ak_clock_front_mclock(struct ak_clock_front *f)
{
	return f->mclock;
}

void
ak_clock_front_close(struct ak_clock_front *f)
{
	if (f == NULL)
		return;
	if (f->reopen_armed)
		ak_loop_timer_cancel(f->l, f->reopen_id);
	ring_xb_front_close(f->xf);
	ak_time_free(f->time);
	ak_pclock_free(f->pclock);
	ak_mclock_free(f->mclock);
	ak_clock_proto_fini(&f->proto);
	free(f);
}
