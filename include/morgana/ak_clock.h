/*
 * morgana/ak_clock.h - the PCLOCK and MCLOCK signatures.
 *
 * PCLOCK is the POSIX wall clock (MirageOS Mirage_clock.PCLOCK: now_d_ps):
 * seconds and nanoseconds since 1970-01-01 UTC.  It follows the host's
 * clock, steps included, so it may go backwards.
 * MCLOCK is monotonic (Mirage_clock.MCLOCK: elapsed_ns): nanoseconds on
 * the host's CLOCK_MONOTONIC axis, never decreasing, the axis TIME's
 * deadlines are on.
 *
 * Implementations: "clock" devices served by clockd (a read-only time
 * page mapped once; reads cost no system call and no IPC) and in-process
 * ones over clock_gettime (MORGANA_DEVICES=inproc).  Reads never block.
 *
 * An application gets its handles from ak_pclock(app, name) and
 * ak_mclock(app, name) (morgana/appkit.h); appkit owns them.
 */
#ifndef MORGANA_AK_CLOCK_H
#define MORGANA_AK_CLOCK_H

#include <stdint.h>

#include "morgana/ak_error.h"

struct ak_pclock;
struct ak_mclock;

/*
 * Wall-clock time now: *sec since the epoch (may be negative on a badly
 * set host) and *nsec in [0, 10^9).  Never blocks.  Returns 0, -EINVAL
 * for a NULL argument, -EAGAIN if the clock is not available yet (the
 * time page is not valid), or another -errno of the implementation.
 */
int ak_pclock_now(struct ak_pclock *c, int64_t *sec, uint32_t *nsec);

/* Monotonic ns now (CLOCK_MONOTONIC axis).  Never blocks.  Returns 0,
 * -EINVAL, -EAGAIN (as ak_pclock_now), or -errno. */
int ak_mclock_elapsed_ns(struct ak_mclock *c, uint64_t *ns);

/* ---- for implementations (frontends), not applications ----------------- */

struct ak_pclock_ops {
	/* required: the wall clock, as ak_pclock_now */
	int (*now)(void *dev, int64_t *sec, uint32_t *nsec);
	/* optional: release dev */
	void (*close)(void *dev);
};

struct ak_mclock_ops {
	/* required: the monotonic clock, as ak_mclock_elapsed_ns */
	int (*elapsed_ns)(void *dev, uint64_t *ns);
	/* optional: release dev */
	void (*close)(void *dev);
};

/*
 * Wrap an implementation in a handle.  ops (static) and dev stay the
 * implementation's; ak_*_free calls ops->close(dev) if set.  Returns 0,
 * -EINVAL if a required op is missing, -ENOMEM.
 */
int ak_pclock_new(const struct ak_pclock_ops *ops, void *dev,
		  struct ak_pclock **out);
void ak_pclock_free(struct ak_pclock *c);
int ak_mclock_new(const struct ak_mclock_ops *ops, void *dev,
		  struct ak_mclock **out);
void ak_mclock_free(struct ak_mclock *c);

#endif /* MORGANA_AK_CLOCK_H */
