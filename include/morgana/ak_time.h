/*
 * morgana/ak_time.h - the TIME signature: sleeping and timers.
 *
 * MirageOS's Mirage_time.sleep_ns, plus a callback form.  Deadlines are on
 * the MCLOCK axis (CLOCK_MONOTONIC).  Implementations: "clock" devices
 * served by clockd over its two TIME rings (docs/clock.md), and an
 * in-process one on the loop's own io_uring timers.
 *
 * A timer fires at most once, never before its deadline.  If clockd dies
 * and comes back, appkit re-arms every pending timer with its id and
 * absolute deadline on the new connection: the application sees nothing
 * but, at worst, a late wake-up.
 */
#ifndef MORGANA_AK_TIME_H
#define MORGANA_AK_TIME_H

#include <stdint.h>

#include "morgana/ak_error.h"

struct ak_time;
struct ak_loop;

/*
 * A timer ended.  err is 0 when the deadline was reached, or a negative
 * errno if the implementation could not keep the timer (-ENOSPC: the
 * backend's timer limit; -EPROTO: the backend refused it).  Runs from
 * the event loop, never inside a task: it must not block.
 */
typedef void ak_time_fn(void *arg, uint64_t id, int err);

/*
 * Block the calling task for ns nanoseconds (at least; from now on
 * MCLOCK).  Other tasks and callbacks run meanwhile.  Returns 0, -EINVAL
 * (NULL t), -EDEADLK if called from a callback, -ENOMEM, or the timer's
 * err (see ak_time_fn).  Outside any task (before ak_main's start), it
 * runs the event loop itself until the deadline.
 */
int ak_time_sleep_ns(struct ak_time *t, uint64_t ns);

/*
 * Call cb(arg, id, err) once ns nanoseconds from now have passed.
 * *id (may be NULL) names the timer for ak_time_cancel; ids are never
 * reused by a handle.  Does not block.  Returns 0, -EINVAL (NULL t or
 * cb), -ENOMEM.
 */
int ak_time_after(struct ak_time *t, uint64_t ns, ak_time_fn *cb, void *arg,
		  uint64_t *id);

/*
 * The same at an absolute MCLOCK deadline (a past one fires at once).
 */
int ak_time_at(struct ak_time *t, uint64_t deadline_ns, ak_time_fn *cb,
	       void *arg, uint64_t *id);

/*
 * Cancel timer id: once this returns 0 its callback will never run.
 * Returns 0, -ENOENT if it already fired (or never existed), -EINVAL.
 * Does not block.
 */
int ak_time_cancel(struct ak_time *t, uint64_t id);

/* ---- for implementations (frontends), not applications ----------------- */

struct ak_time_ops {
	/* required: arm a timer for absolute deadline_ns; store its id */
	int (*at)(void *dev, uint64_t deadline_ns, ak_time_fn *cb, void *arg,
		  uint64_t *id);
	/* required: as ak_time_cancel */
	int (*cancel)(void *dev, uint64_t id);
	/* optional: release dev */
	void (*close)(void *dev);
};

/* Wrap an implementation whose callbacks run from loop.  As
 * ak_pclock_new. */
int ak_time_new(const struct ak_time_ops *ops, void *dev, struct ak_loop *loop,
		struct ak_time **out);
void ak_time_free(struct ak_time *t);

#endif /* MORGANA_AK_TIME_H */
