/*
 * appkit/clock_inproc.c - PCLOCK and MCLOCK on clock_gettime, TIME on the
 * loop's own io_uring timers: no daemon, for unit tests and single-image
 * builds (MORGANA_DEVICES=inproc).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "appkit_internal.h"

static int
pclock_now(void *dev, int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	(void)dev;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	*sec = (int64_t)ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
	return 0;
}

static const struct ak_pclock_ops pclock_ops = { .now = pclock_now };

static int
mclock_elapsed(void *dev, uint64_t *ns)
{
	(void)dev;
	*ns = ak_now_ns();
	return 0;
}

static const struct ak_mclock_ops mclock_ops = { .elapsed_ns = mclock_elapsed };

int
ak_inproc_pclock_open(struct ak_pclock **out)
{
	return ak_pclock_new(&pclock_ops, NULL, out);
}

int
ak_inproc_mclock_open(struct ak_mclock **out)
{
	return ak_mclock_new(&mclock_ops, NULL, out);
}

/* TIME: each timer is one loop timer; the loop's id is the timer's id. */
struct itimer {
	struct itimer *prev, *next;	/* pending, so close can free them */
	ak_time_fn *cb;
	void *arg;
	uint64_t id;
	struct itime *it;
};

struct itime {
	struct ak_loop *l;
	struct itimer *pending;
};

static void
itimer_unlink(struct itimer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		t->it->pending = t->next;
	if (t->next)
		t->next->prev = t->prev;
}

static void
itimer_fire(void *arg)
{
	struct itimer *t = arg;
	ak_time_fn *cb = t->cb;
	void *cbarg = t->arg;
	uint64_t id = t->id;

	itimer_unlink(t);
	free(t);
	cb(cbarg, id, 0);
}

static int
itime_at(void *dev, uint64_t deadline_ns, ak_time_fn *cb, void *arg,
	 uint64_t *id)
{
	struct itime *it = dev;
	struct itimer *t = malloc(sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	*t = (struct itimer){ .cb = cb, .arg = arg, .it = it };
	if ((rc = ak_loop_timer(it->l, deadline_ns, itimer_fire, t, &t->id)) < 0) {
		free(t);
		return rc;
	}
	t->next = it->pending;
	if (it->pending)
		it->pending->prev = t;
	it->pending = t;
	*id = t->id;
	return 0;
}

static int
itime_cancel(void *dev, uint64_t id)
{
	struct itime *it = dev;
	void *arg;
	int rc = ak_loop_timer_cancel_arg(it->l, id, &arg);

	if (rc == 0) {
		itimer_unlink(arg);
		free(arg);
	}
	return rc;
}

static void
itime_close(void *dev)
{
	struct itime *it = dev;

	while (it->pending) {
		struct itimer *t = it->pending;

		ak_loop_timer_cancel(it->l, t->id);
		itimer_unlink(t);
		free(t);
	}
	free(it);
}

static const struct ak_time_ops itime_ops = {
	.at = itime_at, .cancel = itime_cancel, .close = itime_close,
};

int
ak_inproc_time_open(struct ak_loop *l, struct ak_time **out)
{
	struct itime *it = malloc(sizeof(*it));
	int rc;

	if (it == NULL)
		return -ENOMEM;
	it->l = l;
	it->pending = NULL;
	if ((rc = ak_time_new(&itime_ops, it, l, out)) < 0)
		free(it);
	return rc;
}
