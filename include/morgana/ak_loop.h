/*
 * morgana/ak_loop.h - the application's event loop and its tasks.
 *
 * One loop per process, on one io_uring (liburing).  It multiplexes:
 *   - fd watches: a poll on an fd (ring event channels, the store, the
 *     handshake's links), re-armed after each callback while the watch
 *     lives;
 *   - timers on CLOCK_MONOTONIC (absolute ns), kept in a heap, with one
 *     io_uring absolute timeout armed for the earliest;
 *   - deferred callbacks (run on the next turn, never re-entrantly);
 *   - tasks: coroutines with their own small stacks, so that application
 *     code can be written sequentially ("sleep one second, print") and
 *     block the task, never the loop.  See docs/appkit.md for why.
 *
 * Everything is single-threaded: a loop and all it owns are used by the
 * thread that runs it.  Callbacks run on the loop's stack, never inside a
 * task; tasks run one at a time from the loop and switch only when they
 * block (cooperative), so no locking is ever needed.
 *
 * Blocking calls (ak_task_sleep_until, ak_task_wait_fd, ak_waiter_wait)
 * block the calling task.  Called outside any task and outside the loop
 * (e.g. from main before ak_loop_run), they run the loop themselves until
 * they are satisfied.  Called from a callback they return -EDEADLK: a
 * callback must never block the loop.
 */
#ifndef MORGANA_AK_LOOP_H
#define MORGANA_AK_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ak_loop;
struct ak_task;
struct ak_watch;

/* A callback: arg is the caller's. */
typedef void ak_cb_fn(void *arg);
/* An fd became ready: revents are poll(2) bits (POLLIN, POLLERR...). */
typedef void ak_fd_fn(void *arg, int fd, unsigned revents);
/* A task's body; its return value is the task's status. */
typedef int ak_task_fn(void *arg);

/* Now on CLOCK_MONOTONIC in ns (the MCLOCK axis).  Never fails. */
uint64_t ak_now_ns(void);

/*
 * Make a loop (an io_uring of 256 entries).  Returns 0 with *out set
 * (free with ak_loop_close), -ENOMEM, or -errno from io_uring_queue_init.
 */
int ak_loop_open(struct ak_loop **out);

/*
 * Free the loop: unwatch everything, drop timers without running them,
 * free finished tasks.  Tasks still suspended are abandoned (their stacks
 * freed, their bodies never resumed).  NULL is ok.  Must not be called
 * from inside the loop.
 */
void ak_loop_close(struct ak_loop *l);

/*
 * Run one turn: run ready tasks and deferred callbacks, submit, wait up to
 * timeout_ms (< 0: until something happens; 0: do not wait) for fd events
 * or timers, and dispatch them.  Returns the number of events dispatched
 * (>= 0), or -errno from io_uring (-EINTR is reported as 0).
 */
int ak_loop_run_once(struct ak_loop *l, int timeout_ms);

/*
 * Turn until ak_loop_stop is called.  Blocks.  Returns 0, or -errno if
 * the ring failed.
 */
int ak_loop_run(struct ak_loop *l);
/* Make ak_loop_run return after the current turn.  Callable from anywhere
 * on the loop's thread (callbacks, tasks). */
void ak_loop_stop(struct ak_loop *l);

/*
 * Watch fd for `events` (POLLIN, POLLOUT, ...).  cb runs from the loop
 * each time the fd is ready (level-triggered: if the callback does not
 * consume the readiness it runs again next turn) until ak_loop_unwatch.
 * The fd stays the caller's; unwatch before closing it.
 * Returns 0 with *out set, -EINVAL, -ENOMEM.
 */
int ak_loop_watch(struct ak_loop *l, int fd, unsigned events, ak_fd_fn *cb,
		  void *arg, struct ak_watch **out);
/* Stop watching: cb is never called again (even if already ready in this
 * turn).  Callable from the watch's own callback.  NULL is ok. */
void ak_loop_unwatch(struct ak_watch *w);

/*
 * Run cb(arg) when CLOCK_MONOTONIC reaches deadline_ns (absolute; a past
 * deadline runs on the next turn).  Timers with equal deadlines run in
 * the order they were added.  *id (may be NULL) names it for cancel; ids
 * are never reused by a loop.  Returns 0, -ENOMEM.
 */
int ak_loop_timer(struct ak_loop *l, uint64_t deadline_ns, ak_cb_fn *cb,
		  void *arg, uint64_t *id);
/* Cancel a timer: 0 (cb will not run), -ENOENT if it already ran or was
 * never there. */
int ak_loop_timer_cancel(struct ak_loop *l, uint64_t id);
/* The same, also giving back the timer's arg (for its owner to free). */
int ak_loop_timer_cancel_arg(struct ak_loop *l, uint64_t id, void **arg);

/* Run cb(arg) on the next turn, from the loop.  Returns 0, -ENOMEM. */
int ak_loop_defer(struct ak_loop *l, ak_cb_fn *cb, void *arg);

/* ---- tasks ------------------------------------------------------------ */

/* Default task stack: mmap'd (so untouched pages cost nothing) with a
 * PROT_NONE guard page below it, so an overflow faults instead of
 * corrupting the heap. */
#define AK_TASK_STACK_DEFAULT (256u * 1024u)

/*
 * Make a task that will run fn(arg) on its own stack of stack_sz bytes
 * (0: AK_TASK_STACK_DEFAULT; rounded up to pages).  It starts on the next
 * turn of the loop.  The task belongs to the caller until ak_task_free
 * (which may be called only once it is done, or on loop close).
 * *out may be NULL for a detached task: the loop frees it when it ends.
 * Returns 0, -ENOMEM.
 */
int ak_task_spawn(struct ak_loop *l, ak_task_fn *fn, void *arg,
		  size_t stack_sz, struct ak_task **out);
/* True once fn returned; its return value is then in *status (may be
 * NULL). */
bool ak_task_done(const struct ak_task *t, int *status);
/* Free a task that is done.  Returns 0, -EBUSY if it still runs.  NULL ok. */
int ak_task_free(struct ak_task *t);
/* The running task, or NULL on the loop's own stack. */
struct ak_task *ak_task_self(struct ak_loop *l);

/*
 * Block the calling task until deadline_ns (CLOCK_MONOTONIC).  Returns 0,
 * -EDEADLK from a callback.  Blocks the task (see the top of this file).
 */
int ak_task_sleep_until(struct ak_loop *l, uint64_t deadline_ns);

/*
 * Block the calling task until fd is ready for `events` or timeout_ns
 * passes (UINT64_MAX: never).  Returns the poll revents (> 0), -ETIMEDOUT,
 * -EDEADLK from a callback, -ENOMEM.  Blocks the task.
 */
int ak_task_wait_fd(struct ak_loop *l, int fd, unsigned events,
		    uint64_t timeout_ns);

/*
 * A one-shot completion, the building block of blocking calls over
 * callbacks: init it, hand ak_waiter_signal to a callback, then
 * ak_waiter_wait.  The waiter lives on the waiting task's stack.
 */
struct ak_waiter {
	struct ak_loop *loop;
	struct ak_task *task;	/* who waits; NULL if not (yet) waiting */
	bool done;
	int status;		/* what signal passed */
};
void ak_waiter_init(struct ak_waiter *w, struct ak_loop *l);
/* Mark done with status and wake the waiter.  From anywhere on the loop's
 * thread; a second signal is ignored. */
void ak_waiter_signal(struct ak_waiter *w, int status);
/* Block until signalled; returns the status passed to signal, or -EDEADLK
 * from a callback. */
int ak_waiter_wait(struct ak_waiter *w);

#endif /* MORGANA_AK_LOOP_H */
