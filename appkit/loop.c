/*
 * appkit/loop.c - one io_uring event loop per process, with timers,
 * fd watches, deferred callbacks and coroutine tasks (ucontext).
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "morgana/ak_loop.h"
#include "morgana/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define AK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AK_ASAN 1
#endif
#endif
#ifdef AK_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

enum { TAG_WATCH = 1, TAG_TIMEOUT = 2, TAG_IGNORE = 3, TAG_MASK = 7 };

struct ak_watch {
	struct ak_loop *l;
	struct ak_watch *next;
	int fd;
	unsigned events;
	ak_fd_fn *cb;
	void *arg;
	bool armed;	/* a poll is in the kernel */
	bool dead;	/* unwatched: free once the poll is back */
	bool failed;	/* the poll itself failed: do not re-arm */
};

struct timer {
	uint64_t deadline, id;
	ak_cb_fn *cb;
	void *arg;
};

struct defer {
	struct defer *next;
	ak_cb_fn *cb;
	void *arg;
};

struct ak_task {
	struct ak_loop *l;
	struct ak_task *run_next;
	struct ak_task *all_next;
	ucontext_t ctx;
	void *map;
	size_t map_sz;
	ak_task_fn *fn;
	void *arg;
	int status;
	bool started, done, queued, detached;
#ifdef AK_ASAN
	void *fake;
#endif
};

struct ak_loop {
	struct io_uring ring;
	ucontext_t main_ctx;
	struct ak_task *cur;
	struct ak_task *run_head, *run_tail;
	struct ak_task *tasks;
	struct ak_watch *watches;
	struct defer *defer_head, *defer_tail;
	struct timer *heap;
	size_t n_timers, cap_timers;
	uint64_t next_timer_id;
	uint64_t seq;		/* insertion order, to keep equal deadlines FIFO */
	/* The one io_uring timeout armed for the earliest timer. */
	bool tmo_armed;
	uint64_t tmo_deadline, tmo_gen;
	struct __kernel_timespec tmo_ts;
	int depth;		/* > 0 while dispatching (callbacks must not block) */
	bool stop;
#ifdef AK_ASAN
	void *main_fake;
	const void *main_bottom;
	size_t main_size;
#endif
};

uint64_t
ak_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
ak_loop_open(struct ak_loop **out)
{
	struct ak_loop *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL)
		return -ENOMEM;
	if ((rc = io_uring_queue_init(256, &l->ring, 0)) < 0) {
		free(l);
		return rc;
	}
	l->next_timer_id = 1;
	*out = l;
	return 0;
}

/* ---- timers: a binary min-heap on (deadline, seq) --------------------- */

/* The heap's order key packs the insertion sequence beside the deadline
 * by comparing both; id doubles as the sequence since ids only grow. */
static bool
timer_less(const struct timer *a, const struct timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->id < b->id);
}

static void
heap_up(struct timer *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct timer t;

		if (!timer_less(&h[i], &h[p]))
			break;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void
heap_down(struct timer *h, size_t n, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		struct timer t;

		if (c < n && timer_less(&h[c], &h[m]))
			m = c;
		if (c + 1 < n && timer_less(&h[c + 1], &h[m]))
			m = c + 1;
		if (m == i)
			break;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void
heap_remove_at(struct ak_loop *l, size_t i)
{
	l->heap[i] = l->heap[--l->n_timers];
	if (i < l->n_timers) {
		heap_down(l->heap, l->n_timers, i);
		heap_up(l->heap, i);
	}
}

int
ak_loop_timer(struct ak_loop *l, uint64_t deadline_ns, ak_cb_fn *cb,
	      void *arg, uint64_t *id)
{
	if (l->n_timers == l->cap_timers) {
		size_t cap = l->cap_timers ? l->cap_timers * 2 : 64;
		struct timer *h = realloc(l->heap, cap * sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		l->heap = h;
		l->cap_timers = cap;
	}
	l->heap[l->n_timers] = (struct timer){ .deadline = deadline_ns,
		.id = l->next_timer_id++, .cb = cb, .arg = arg };
	if (id)
		*id = l->heap[l->n_timers].id;
	l->n_timers++;
	heap_up(l->heap, l->n_timers - 1);
	return 0;
}

int
ak_loop_timer_cancel(struct ak_loop *l, uint64_t id)
{
	return ak_loop_timer_cancel_arg(l, id, NULL);
}

int
ak_loop_timer_cancel_arg(struct ak_loop *l, uint64_t id, void **arg)
{
	/* Linear: cancels are rare next to arms and fires, and the heap has
	 * no back-pointers to keep up to date on every swap. */
	for (size_t i = 0; i < l->n_timers; i++)
		if (l->heap[i].id == id) {
			if (arg)
				*arg = l->heap[i].arg;
			heap_remove_at(l, i);
			return 0;
		}
	return -ENOENT;
}

/* Run the timers already due; those added meanwhile wait a turn so that
 * a callback re-arming a past deadline cannot spin us here. */
static int
expire_timers(struct ak_loop *l)
{
	uint64_t now = ak_now_ns(), limit = l->next_timer_id;
	int n = 0;

	while (l->n_timers > 0 && l->heap[0].deadline <= now &&
	       l->heap[0].id < limit) {
		struct timer t = l->heap[0];

		heap_remove_at(l, 0);
		t.cb(t.arg);
		n++;
	}
	return n;
}

/* ---- submission helpers ------------------------------------------------ */

static struct io_uring_sqe *
get_sqe(struct ak_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (sqe == NULL) {
		/* SQ full: hand what we have to the kernel and retry. */
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static void
arm_watch(struct ak_loop *l, struct ak_watch *w)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (sqe == NULL)
		return;	/* try again next turn */
	io_uring_prep_poll_add(sqe, w->fd, w->events);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)w | TAG_WATCH);
	w->armed = true;
}

static void
arm_timeout(struct ak_loop *l)
{
	struct io_uring_sqe *sqe;
	uint64_t want;

	if (l->n_timers == 0)
		return;	/* a stale armed timeout only costs a spurious turn */
	want = l->heap[0].deadline;
	if (l->tmo_armed && l->tmo_deadline <= want)
		return;
	if (l->tmo_armed) {
		if ((sqe = get_sqe(l)) == NULL)
			return;
		io_uring_prep_timeout_remove(sqe, (l->tmo_gen << 3) | TAG_TIMEOUT,
					     0);
		io_uring_sqe_set_data64(sqe, TAG_IGNORE);
	}
	if ((sqe = get_sqe(l)) == NULL)
		return;
	l->tmo_gen++;
	l->tmo_ts.tv_sec = (long long)(want / 1000000000u);
	l->tmo_ts.tv_nsec = (long long)(want % 1000000000u);
	/* ABS timeouts are on CLOCK_MONOTONIC, the axis of our deadlines;
	 * the kernel copies tmo_ts at submission. */
	io_uring_prep_timeout(sqe, &l->tmo_ts, 0, IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(sqe, (l->tmo_gen << 3) | TAG_TIMEOUT);
	l->tmo_armed = true;
	l->tmo_deadline = want;
}

/* ---- watches ------------------------------------------------------------ */

int
ak_loop_watch(struct ak_loop *l, int fd, unsigned events, ak_fd_fn *cb,
	      void *arg, struct ak_watch **out)
{
	struct ak_watch *w;

	*out = NULL;
	if (fd < 0 || cb == NULL || events == 0)
		return -EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	*w = (struct ak_watch){ .l = l, .fd = fd, .events = events, .cb = cb,
				.arg = arg, .next = l->watches };
	l->watches = w;
	*out = w;
	return 0;
}

void
ak_loop_unwatch(struct ak_watch *w)
{
	struct io_uring_sqe *sqe;

	if (w == NULL || w->dead)
		return;
	w->dead = true;
	if (w->armed && (sqe = get_sqe(w->l)) != NULL) {
		io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)w | TAG_WATCH);
		io_uring_sqe_set_data64(sqe, TAG_IGNORE);
		/* The caller may close the fd right after: get the removal
		 * to the kernel now rather than at the next turn. */
		io_uring_submit(&w->l->ring);
	}
}

static void
sweep_watches(struct ak_loop *l)
{
	for (struct ak_watch **pp = &l->watches; *pp != NULL;) {
		struct ak_watch *w = *pp;

		if (w->dead && !w->armed) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

/* ---- deferred callbacks ------------------------------------------------- */

int
ak_loop_defer(struct ak_loop *l, ak_cb_fn *cb, void *arg)
{
	struct defer *d = malloc(sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	*d = (struct defer){ .cb = cb, .arg = arg };
	if (l->defer_tail)
		l->defer_tail->next = d;
	else
		l->defer_head = d;
	l->defer_tail = d;
	return 0;
}

static int
run_defers(struct ak_loop *l)
{
	struct defer *d = l->defer_head;
	int n = 0;

	/* Only those queued before this turn: a callback deferring itself
	 * runs again next turn, after I/O had its chance. */
	l->defer_head = l->defer_tail = NULL;
	while (d) {
		struct defer *nx = d->next;

		d->cb(d->arg);
		free(d);
		d = nx;
		n++;
	}
	return n;
}

/* ---- tasks -------------------------------------------------------------- */

static _Thread_local struct ak_task *starting;

static void
task_wake(struct ak_task *t)
{
	struct ak_loop *l = t->l;

	if (t->queued || t->done)
		return;
	t->queued = true;
	t->run_next = NULL;
	if (l->run_tail)
		l->run_tail->run_next = t;
	else
		l->run_head = t;
	l->run_tail = t;
}

static void
task_trampoline(void)
{
	struct ak_task *t = starting;
	struct ak_loop *l = t->l;

#ifdef AK_ASAN
	__sanitizer_finish_switch_fiber(NULL, &l->main_bottom, &l->main_size);
#endif
	t->status = t->fn(t->arg);
	t->done = true;
#ifdef AK_ASAN
	/* NULL: this fiber's stack is gone for good. */
	__sanitizer_start_switch_fiber(NULL, l->main_bottom, l->main_size);
#endif
	setcontext(&l->main_ctx);
	abort();	/* setcontext only returns on failure */
}

int
ak_task_spawn(struct ak_loop *l, ak_task_fn *fn, void *arg, size_t stack_sz,
	      struct ak_task **out)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct ak_task *t;

	if (out)
		*out = NULL;
	if (fn == NULL)
		return -EINVAL;
	if (stack_sz == 0)
		stack_sz = AK_TASK_STACK_DEFAULT;
	stack_sz = (stack_sz + (size_t)pg - 1) & ~((size_t)pg - 1);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->map_sz = stack_sz + (size_t)pg;
	t->map = mmap(NULL, t->map_sz, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		      -1, 0);
	if (t->map == MAP_FAILED) {
		free(t);
		return -ENOMEM;
	}
	/* The guard page: stacks grow down, so it is the lowest page. */
	if (mprotect(t->map, (size_t)pg, PROT_NONE) < 0) {
		munmap(t->map, t->map_sz);
		free(t);
		return -ENOMEM;
	}
	getcontext(&t->ctx);
	t->ctx.uc_stack.ss_sp = (char *)t->map + pg;
	t->ctx.uc_stack.ss_size = stack_sz;
	t->ctx.uc_link = NULL;
	makecontext(&t->ctx, task_trampoline, 0);
	t->l = l;
	t->fn = fn;
	t->arg = arg;
	t->detached = out == NULL;
	t->all_next = l->tasks;
	l->tasks = t;
	task_wake(t);
	if (out)
		*out = t;
	return 0;
}

static void
task_destroy(struct ak_task *t)
{
	struct ak_loop *l = t->l;

	for (struct ak_task **pp = &l->tasks; *pp; pp = &(*pp)->all_next)
		if (*pp == t) {
			*pp = t->all_next;
			break;
		}
	munmap(t->map, t->map_sz);
	free(t);
}

bool
ak_task_done(const struct ak_task *t, int *status)
{
	if (t->done && status)
		*status = t->status;
	return t->done;
}

int
ak_task_free(struct ak_task *t)
{
	if (t == NULL)
		return 0;
	if (!t->done)
		return -EBUSY;
	task_destroy(t);
	return 0;
}

struct ak_task *
ak_task_self(struct ak_loop *l)
{
	return l->cur;
}

static void
task_resume(struct ak_loop *l, struct ak_task *t)
{
	l->cur = t;
	if (!t->started) {
		t->started = true;
		starting = t;
	}
#ifdef AK_ASAN
	__sanitizer_start_switch_fiber(&l->main_fake, t->ctx.uc_stack.ss_sp,
				       t->ctx.uc_stack.ss_size);
#endif
	swapcontext(&l->main_ctx, &t->ctx);
#ifdef AK_ASAN
	__sanitizer_finish_switch_fiber(l->main_fake, NULL, NULL);
#endif
	l->cur = NULL;
	if (t->done && t->detached)
		task_destroy(t);
}

/* Suspend the running task until task_wake. */
static void
task_park(struct ak_loop *l)
{
	struct ak_task *t = l->cur;

#ifdef AK_ASAN
	__sanitizer_start_switch_fiber(&t->fake, l->main_bottom, l->main_size);
#endif
	swapcontext(&t->ctx, &l->main_ctx);
#ifdef AK_ASAN
	__sanitizer_finish_switch_fiber(t->fake, &l->main_bottom,
					&l->main_size);
#endif
}

static int
run_tasks(struct ak_loop *l)
{
	struct ak_task *stop_at = l->run_tail;
	int n = 0;

	/* Only the tasks ready when we started: one that yields and is
	 * woken at once runs again next turn, after I/O. */
	while (l->run_head && stop_at) {
		struct ak_task *t = l->run_head;

		l->run_head = t->run_next;
		if (l->run_head == NULL)
			l->run_tail = NULL;
		t->queued = false;
		task_resume(l, t);
		n++;
		if (t == stop_at)
			break;
	}
	return n;
}

void
ak_waiter_init(struct ak_waiter *w, struct ak_loop *l)
{
	*w = (struct ak_waiter){ .loop = l };
}

void
ak_waiter_signal(struct ak_waiter *w, int status)
{
	if (w->done)
		return;
	w->done = true;
	w->status = status;
	if (w->task)
		task_wake(w->task);
}

int
ak_waiter_wait(struct ak_waiter *w)
{
	struct ak_loop *l = w->loop;

	if (l->cur) {
		w->task = l->cur;
		while (!w->done)
			task_park(l);
		w->task = NULL;
		return w->status;
	}
	if (l->depth > 0)
		return -EDEADLK;
	while (!w->done) {
		int rc = ak_loop_run_once(l, -1);

		if (rc < 0)
			return rc;
	}
	return w->status;
}

static void
waiter_timer_cb(void *arg)
{
	ak_waiter_signal(arg, 0);
}

int
ak_task_sleep_until(struct ak_loop *l, uint64_t deadline_ns)
{
	struct ak_waiter w;
	uint64_t id;
	int rc;

	if (l->cur == NULL && l->depth > 0)
		return -EDEADLK;
	ak_waiter_init(&w, l);
	if ((rc = ak_loop_timer(l, deadline_ns, waiter_timer_cb, &w, &id)) < 0)
		return rc;
	rc = ak_waiter_wait(&w);
	if (!w.done)
		ak_loop_timer_cancel(l, id);
	return rc;
}

struct fd_wait {
	struct ak_waiter w;
};

static void
fd_wait_ready(void *arg, int fd, unsigned revents)
{
	(void)fd;
	ak_waiter_signal(arg, (int)revents);
}

static void
fd_wait_timeout(void *arg)
{
	ak_waiter_signal(arg, -ETIMEDOUT);
}

int
ak_task_wait_fd(struct ak_loop *l, int fd, unsigned events,
		uint64_t timeout_ns)
{
	struct ak_waiter w;
	struct ak_watch *watch;
	uint64_t id = 0;
	int rc;

	if (l->cur == NULL && l->depth > 0)
		return -EDEADLK;
	ak_waiter_init(&w, l);
	if ((rc = ak_loop_watch(l, fd, events, fd_wait_ready, &w, &watch)) < 0)
		return rc;
	if (timeout_ns != UINT64_MAX) {
		uint64_t now = ak_now_ns(), dl = now + timeout_ns;

		if (dl < now)
			dl = UINT64_MAX;
		if ((rc = ak_loop_timer(l, dl, fd_wait_timeout, &w, &id)) < 0) {
			ak_loop_unwatch(watch);
			return rc;
		}
	}
	rc = ak_waiter_wait(&w);
	ak_loop_unwatch(watch);
	if (id)
		ak_loop_timer_cancel(l, id);
	return rc;
}

/* ---- the turn ----------------------------------------------------------- */

static int
dispatch_cqes(struct ak_loop *l)
{
	struct io_uring_cqe *cqe;
	struct { uint64_t ud; int res; } done[64];
	unsigned head, n = 0;
	int events = 0;

	/* Copy the batch out and release the CQ before running callbacks,
	 * which may submit (unwatch) or re-enter nothing else. */
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		if (n == 64)
			break;
		done[n].ud = cqe->user_data;
		done[n].res = cqe->res;
		n++;
	}
	io_uring_cq_advance(&l->ring, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t ud = done[i].ud;

		switch (ud & TAG_MASK) {
		case TAG_WATCH: {
			struct ak_watch *w = (struct ak_watch *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);

			w->armed = false;
			if (w->dead)
				break;
			if (done[i].res < 0) {
				/* A closed fd or a bad event mask: tell the
				 * owner once rather than re-arm forever. */
				w->failed = true;
				w->cb(w->arg, w->fd, POLLNVAL);
			} else {
				w->cb(w->arg, w->fd, (unsigned)done[i].res);
			}
			events++;
			break;
		}
		case TAG_TIMEOUT:
			if ((ud >> 3) == l->tmo_gen)
				l->tmo_armed = false;
			break;
		default:
			break;
		}
	}
	return events;
}

int
ak_loop_run_once(struct ak_loop *l, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	int n = 0, rc, ran;

	l->depth++;
	ran = run_tasks(l);
	/* Deferred callbacks count as well: one may have changed what the
	 * caller waits for (the handshake dispatch connects devices). */
	ran += run_defers(l);
	n += ran;
	n += expire_timers(l);
	for (struct ak_watch *w = l->watches; w; w = w->next)
		if (!w->armed && !w->dead && !w->failed)
			arm_watch(l, w);
	arm_timeout(l);
	/* A task that ran may have finished or changed what our caller
	 * waits for: give the caller a look before blocking. */
	if (ran > 0 || l->run_head || l->defer_head || l->stop ||
	    (l->n_timers > 0 && l->heap[0].deadline <= ak_now_ns()))
		timeout_ms = 0;
	if (timeout_ms == 0) {
		rc = io_uring_submit(&l->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&l->ring, 1);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};

		rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts,
						      NULL);
		if (rc == -ETIME)
			rc = 0;
	}
	if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
		rc = 0;
	if (rc >= 0) {
		n += dispatch_cqes(l);
		n += expire_timers(l);
	}
	sweep_watches(l);
	l->depth--;
	return rc < 0 ? rc : n;
}

int
ak_loop_run(struct ak_loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int rc = ak_loop_run_once(l, -1);

		if (rc < 0)
			return rc;
	}
	l->stop = false;
	return 0;
}

void
ak_loop_stop(struct ak_loop *l)
{
	l->stop = true;
}

void
ak_loop_close(struct ak_loop *l)
{
	if (l == NULL)
		return;
	/* Exiting the ring cancels every poll and timeout still armed. */
	io_uring_queue_exit(&l->ring);
	while (l->watches) {
		struct ak_watch *w = l->watches;

		l->watches = w->next;
		free(w);
	}
	while (l->tasks) {
		struct ak_task *t = l->tasks;

		l->tasks = t->all_next;
		munmap(t->map, t->map_sz);
		free(t);
	}
	while (l->defer_head) {
		struct defer *d = l->defer_head;

		l->defer_head = d->next;
		free(d);
	}
	free(l->heap);
	free(l);
}
