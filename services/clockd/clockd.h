/*
 * clockd.h - clockd's logic as a library: the time-page writer, the
 * per-connection timer set, and the io_uring loop that drives both.
 * The ring transport (grants, handshake) sits on top of these; nothing
 * here touches a shared ring.  See docs/clock.md.
 *
 * Threading: every object here is used by one thread at a time.  None of
 * the calls block unless said so.
 */
#ifndef MORGANA_CLOCKD_H
#define MORGANA_CLOCKD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/proto/clock_proto.h"

/* ---- the time-page writer -------------------------------------------- */

struct clock_writer;

/*
 * Source of CLOCK_REALTIME in ns since the epoch; returns 0 or -errno.
 * Tests inject one to simulate wall-clock steps without touching the host.
 */
typedef int clock_realtime_fn(void *arg, int64_t *ns);

struct clock_writer_opts {
	size_t sz;			/* sizeof(struct clock_writer_opts) */
	uint64_t reanchor_ns;		/* period between re-anchors the loop
					 * uses; 0 = 100 ms */
	clock_realtime_fn *realtime;	/* NULL = clock_gettime(REALTIME) */
	void *realtime_arg;
	bool no_tsc;			/* force the clock_gettime fallback */
	uint32_t perturb_ppm;		/* tests only: publish rates off by
					 * up to this many ppm, at random */
	bool unsafe_no_clamp;		/* tests only: drop the monotonicity
					 * clamp (proves the test can fail) */
};

/*
 * Create the time page (a sealed memfd: readers can only map it
 * read-only) and publish the first parameters.  Calibrating the TSC
 * sleeps about 10 ms.  opts may be NULL.  On success *out is the caller's
 * until clock_writer_close.  Returns 0, -EINVAL (bad opts), -ENOMEM, or
 * the -errno of memfd_create/ftruncate/mmap/fcntl or of the realtime
 * source.
 */
int clock_writer_open(const struct clock_writer_opts *opts,
		      struct clock_writer **out);

/* Unmaps and closes clockd's side; mappings readers hold stay valid. */
void clock_writer_close(struct clock_writer *w);

/* The page's fd (owned by the writer; dup it to hand it out). */
int clock_writer_fd(const struct clock_writer *w);

/* clockd's own read-only view of the page, valid until close. */
const void *clock_writer_page(const struct clock_writer *w);

/* The configured re-anchor period in ns. */
uint64_t clock_writer_period_ns(const struct clock_writer *w);

/* True if the page lets readers extrapolate with the TSC. */
bool clock_writer_uses_tsc(const struct clock_writer *w);

/*
 * Re-anchor now: sample CLOCK_MONOTONIC, the TSC and the realtime source,
 * and publish new parameters and wall-clock offset under the seqlock.
 * Never publishes parameters that put MCLOCK below what the previous
 * ones gave.  Returns 0 or the realtime source's -errno (the page keeps
 * its old wall-clock offset then).  Does not block.
 */
int clock_writer_update(struct clock_writer *w);

/* ---- a connection's timers ------------------------------------------- */

struct clock_timers;

struct clock_timers_opts {
	size_t sz;		/* sizeof(struct clock_timers_opts) */
	uint32_t max_timers;	/* armed + fired-not-yet-delivered; 0 = 65536 */
};

/*
 * A timer set keyed by (deadline, id).  opts may be NULL.  *out is the
 * caller's until clock_timers_close.  Returns 0, -EINVAL or -ENOMEM.
 */
int clock_timers_open(const struct clock_timers_opts *opts,
		      struct clock_timers **out);
void clock_timers_close(struct clock_timers *t);

/*
 * Handle one request.  req must be the caller's private copy (never the
 * ring slot); every field is validated here.  Fills *rsp with the answer
 * to send back at once: ARMED, CANCELLED, NOT_FOUND or an ERR_* status.
 * Returns 0, or -ENOMEM when the set could not grow (the answer is then
 * ERR_LIMIT).
 */
int clock_timers_request(struct clock_timers *t,
			 const struct clock_timer_req *req,
			 struct clock_timer_rsp *rsp);

/* Earliest armed deadline (MCLOCK ns), or UINT64_MAX if none. */
uint64_t clock_timers_next(const struct clock_timers *t);

/*
 * Move every armed timer with deadline <= now to the fired queue, in
 * (deadline, id) order, stamped fired_ns = now.  Returns how many.
 */
uint32_t clock_timers_expire(struct clock_timers *t, uint64_t now);

/*
 * The oldest fired event not yet delivered: copies it into *ev and
 * returns 1, or returns 0 if there is none.  It stays queued until
 * clock_timers_drop_fired (so a delivery that finds no room retries).
 */
int clock_timers_peek_fired(const struct clock_timers *t,
			    struct clock_fire_rsp *ev);
void clock_timers_drop_fired(struct clock_timers *t);

uint32_t clock_timers_armed(const struct clock_timers *t);
uint32_t clock_timers_fired_queued(const struct clock_timers *t);

/* ---- the io_uring loop ----------------------------------------------- */

struct clock_loop;

/*
 * Deliver one fired event to a connection (e.g. onto its event ring).
 * Returns 0 if taken, -EAGAIN if there is no room now (the loop keeps it
 * and retries on clock_loop_kick), any other -errno to drop the event.
 */
typedef int clock_deliver_fn(void *arg, const struct clock_fire_rsp *ev);

struct clock_loop_opts {
	size_t sz;			/* sizeof(struct clock_loop_opts) */
	struct clock_writer *writer;	/* required; borrowed */
	int step_fd;			/* readable on a wall-clock step; -1 =
					 * a CLOCK_REALTIME timerfd with
					 * TFD_TIMER_CANCEL_ON_SET (ours).
					 * Borrowed; tests pass an eventfd */
	unsigned queue_depth;		/* io_uring entries; 0 = 64 */
};

/*
 * Set up the io_uring loop: one IORING_OP_TIMEOUT (absolute, on
 * CLOCK_MONOTONIC) for the earlier of the next timer deadline and the
 * next re-anchor, and a poll on the step fd.  *out is the caller's until
 * clock_loop_close.  Returns 0, -EINVAL, -ENOMEM or io_uring's -errno.
 */
int clock_loop_open(const struct clock_loop_opts *opts,
		    struct clock_loop **out);

/* Closes the loop, its timer sets and its own step timerfd. */
void clock_loop_close(struct clock_loop *l);

/*
 * Add a connection: a new timer set whose fired events go to fn(arg).
 * *out is owned by the loop (valid until clock_loop_detach or close).
 * Returns 0, -EINVAL or -ENOMEM.
 */
int clock_loop_attach(struct clock_loop *l,
		      const struct clock_timers_opts *topts,
		      clock_deliver_fn *fn, void *arg,
		      struct clock_timers **out);

/* Drop a connection and all its timers; no more deliveries to it. */
void clock_loop_detach(struct clock_loop *l, struct clock_timers *t);

/*
 * Handle one request (the caller's private copy) for connection t, fill
 * the immediate answer *rsp, deliver anything now due, and re-arm the
 * io_uring timeout if the earliest deadline moved.  Returns 0 or -errno
 * from io_uring.  Does not block.
 */
int clock_loop_request(struct clock_loop *l, struct clock_timers *t,
		       const struct clock_timer_req *req,
		       struct clock_timer_rsp *rsp);

/* Room appeared for t's events (credits arrived): retry delivering. */
int clock_loop_kick(struct clock_loop *l, struct clock_timers *t);

/*
 * Wait up to max_wait_ns for the timeout, a wall-clock step or another
 * completion, then handle everything ready: expire due timers and
 * deliver their events in order, re-anchor the page when due or after a
 * step, re-arm.  Blocks for at most max_wait_ns.  Returns the number of
 * completions handled (0 on a plain timeout) or -errno.
 */
int clock_loop_run_once(struct clock_loop *l, uint64_t max_wait_ns);

/*
 * Other fds in the same io_uring: a one-shot POLLIN watch on fd, reported
 * once (fn(arg, cookie, revents or -errno)) from inside a later
 * clock_loop_run_once, after the timers.  Re-watch to hear again.  cookie
 * is the caller's (below 2^56), unique among live watches if it is to be
 * unwatched.  fd is borrowed: unwatch it before closing it (the kernel
 * holds the file while a poll is pending).  An unwatched poll is never
 * reported.  Return 0, -EINVAL, -EBUSY (queue full) or io_uring's -errno.
 */
typedef void clock_watch_fn(void *arg, uint64_t cookie, int res);
void clock_loop_set_watch_fn(struct clock_loop *l, clock_watch_fn *fn,
			     void *arg);
int clock_loop_watch(struct clock_loop *l, int fd, uint64_t cookie);
int clock_loop_unwatch(struct clock_loop *l, uint64_t cookie);

/* Counters for metrics and tests. */
struct clock_loop_stats {
	uint64_t wakeups;	/* timeout completions */
	uint64_t reanchors;	/* page updates published */
	uint64_t steps;		/* wall-clock steps seen */
	uint64_t fired;		/* events delivered */
	uint64_t rearms;	/* timeout arms and updates submitted */
};
void clock_loop_stats(const struct clock_loop *l, struct clock_loop_stats *s);

/* ---- the daemon: serving device type "clock" over libring ------------ */

struct clockd_serve_opts {
	size_t sz;		/* sizeof(struct clockd_serve_opts) */
	const char *rundir;	/* MORGANA_RUNDIR: link is <rundir>/<service>.sock */
	const char *service;	/* MORGANA_SERVICE */
	int notify_fd;		/* NOTIFY_FD (READY=1, STATUS=, STOPPING=1); -1 */
	uint32_t max_timers;	/* per frontend; 0 = 65536 */
	int (*after_setup)(void); /* e.g. drop privileges; NULL = nothing */
};

/*
 * Run clockd: open the time page, the store (XENSTORED_PATH) and the
 * xenbus backend for device type "clock", then serve every frontend
 * (docs/clock.md, "Serving") until SIGTERM or SIGINT, when every device
 * goes Closed.  Blocks (it is the daemon's main loop).  Blocks SIGTERM
 * and SIGINT in the calling thread and ignores SIGPIPE.  Returns the
 * exit status: 0 after a signal, 1 on a setup or store failure, 2 for
 * bad opts.
 */
int clockd_serve(const struct clockd_serve_opts *o);

#endif /* MORGANA_CLOCKD_H */
