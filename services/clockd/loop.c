/*
 * loop.c - clockd's io_uring loop: one absolute CLOCK_MONOTONIC timeout
 * for the earlier of the next timer deadline and the next page re-anchor,
 * and a poll on the wall-clock step fd.
 */
#include "services/clockd/clockd.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "morgana/clock.h"
#include "morgana/log.h"

/* user_data: low byte is the kind; timeouts carry a generation above. */
enum { TAG_TIMEOUT = 1, TAG_UPDATE = 2, TAG_STEP = 3, TAG_WATCH = 4,
       TAG_UNWATCH = 5 };

struct watch_ev {
	uint64_t cookie;
	int res;
};

struct clock_loop_fe {
	struct clock_timers *t;
	clock_deliver_fn *fn;
	void *arg;
};

struct clock_loop {
	struct io_uring ring;
	bool ring_ok;
	struct clock_writer *w;
	const void *page;
	int step_fd;
	bool own_step_fd;
	struct clock_loop_fe *fes;
	size_t nfe, capfe;
	uint64_t next_anchor;	/* CLOCK_MONOTONIC ns */
	bool armed;
	uint64_t armed_dl;	/* what the armed timeout is for: the MCLOCK */
	uint64_t armed_anchor;	/* deadline and the re-anchor time */
	uint64_t gen;
	struct __kernel_timespec ts;
	struct clock_loop_stats st;
	clock_watch_fn *watch_fn;
	void *watch_arg;
	struct watch_ev *wev;	/* completions collected per run_once */
	size_t nwev, capwev;
};

static uint64_t
page_now(const struct clock_loop *l)
{
	uint64_t ns;

	/* Our own page, written by this thread: only a bug makes this fail. */
	if (clock_page_mono_ns(l->page, &ns) < 0)
		ns = clock__gettime_mono();
	return ns;
}

static struct io_uring_sqe *
get_sqe(struct clock_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static int
arm_step_timer(struct clock_loop *l)
{
	/*
	 * An absolute CLOCK_REALTIME timer with CANCEL_ON_SET: a read fails
	 * with ECANCELED once the wall clock is stepped.  The expiry itself
	 * (a year away, re-armed on every event) never matters.
	 */
	struct itimerspec its = { 0 };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	its.it_value.tv_sec = now.tv_sec + 365 * 24 * 3600;
	if (timerfd_settime(l->step_fd,
			    TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its,
			    NULL) < 0)
		return -errno;
	return 0;
}

static int
poll_step(struct clock_loop *l)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, l->step_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_STEP);
	return 0;
}

int
clock_loop_open(const struct clock_loop_opts *opts, struct clock_loop **out)
{
	struct clock_loop *l;
	unsigned depth;
	int rc;

	if (!opts || opts->sz < offsetof(struct clock_loop_opts, queue_depth) +
				    sizeof(opts->queue_depth) ||
	    !opts->writer)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->w = opts->writer;
	l->page = clock_writer_page(l->w);
	l->step_fd = opts->step_fd;
	depth = opts->queue_depth ? opts->queue_depth : 64;
	if ((rc = io_uring_queue_init(depth, &l->ring, 0)) < 0)
		goto fail;
	l->ring_ok = true;
	if (l->step_fd < 0) {
		l->step_fd = timerfd_create(CLOCK_REALTIME,
					    TFD_NONBLOCK | TFD_CLOEXEC);
		if (l->step_fd < 0) {
			rc = -errno;
			goto fail;
		}
		l->own_step_fd = true;
		if ((rc = arm_step_timer(l)) < 0)
			goto fail;
	}
	if ((rc = poll_step(l)) < 0)
		goto fail;
	l->next_anchor = clock__gettime_mono() + clock_writer_period_ns(l->w);
	*out = l;
	return 0;
fail:
	clock_loop_close(l);
	return rc;
}

void
clock_loop_close(struct clock_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nfe; i++)
		clock_timers_close(l->fes[i].t);
	free(l->fes);
	free(l->wev);
	if (l->ring_ok)
		io_uring_queue_exit(&l->ring);
	if (l->own_step_fd)
		close(l->step_fd);
	free(l);
}

int
clock_loop_attach(struct clock_loop *l, const struct clock_timers_opts *topts,
		  clock_deliver_fn *fn, void *arg, struct clock_timers **out)
{
	struct clock_timers *t;
	int rc;

	if (!fn)
		return -EINVAL;
	if (l->nfe == l->capfe) {
		size_t ncap = l->capfe ? l->capfe * 2 : 4;
		struct clock_loop_fe *n = realloc(l->fes, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->fes = n;
		l->capfe = ncap;
	}
	if ((rc = clock_timers_open(topts, &t)) < 0)
		return rc;
	l->fes[l->nfe++] = (struct clock_loop_fe){ t, fn, arg };
	*out = t;
	return 0;
}

void
clock_loop_detach(struct clock_loop *l, struct clock_timers *t)
{
	for (size_t i = 0; i < l->nfe; i++) {
		if (l->fes[i].t == t) {
			clock_timers_close(t);
			l->fes[i] = l->fes[--l->nfe];
			return;
		}
	}
}

static struct clock_loop_fe *
find_fe(struct clock_loop *l, struct clock_timers *t)
{
	for (size_t i = 0; i < l->nfe; i++)
		if (l->fes[i].t == t)
			return &l->fes[i];
	return NULL;
}

static void
deliver(struct clock_loop *l, struct clock_loop_fe *fe)
{
	struct clock_fire_rsp ev;

	while (clock_timers_peek_fired(fe->t, &ev) == 1) {
		int rc = fe->fn(fe->arg, &ev);

		if (rc == -EAGAIN)
			return;
		clock_timers_drop_fired(fe->t);
		if (rc == 0)
			l->st.fired++;
	}
}

/* Expire what is due on the page's clock and hand it out. */
static void
expire_all(struct clock_loop *l)
{
	uint64_t now = page_now(l);

	for (size_t i = 0; i < l->nfe; i++) {
		clock_timers_expire(l->fes[i].t, now);
		deliver(l, &l->fes[i]);
	}
}

/*
 * Arm (or move) the one timeout to the earlier of the next deadline and
 * the next re-anchor.  Deadlines are MCLOCK; the kernel timer runs on
 * CLOCK_MONOTONIC, so convert with the current page-vs-kernel offset (the
 * page may run a little ahead after a monotonicity clamp).
 */
static int
rearm(struct clock_loop *l)
{
	uint64_t dl = UINT64_MAX, want, pnow, know;
	struct io_uring_sqe *sqe;
	int rc;

	for (size_t i = 0; i < l->nfe; i++) {
		uint64_t d = clock_timers_next(l->fes[i].t);

		if (d < dl)
			dl = d;
	}
	want = l->next_anchor;
	if (dl != UINT64_MAX) {
		know = clock__gettime_mono();
		pnow = page_now(l);
		if (dl <= pnow)
			want = know;
		else if (dl - pnow < want - know)
			want = know + (dl - pnow);
	}
	/* Compare what it is for, not the converted (jittery) time. */
	if (l->armed && l->armed_dl == dl && l->armed_anchor == l->next_anchor) {
		/* Still submit whatever else is queued (the step poll). */
		rc = io_uring_submit(&l->ring);

		return rc < 0 ? rc : 0;
	}
	if (!(sqe = get_sqe(l)))
		return -EBUSY;
	l->ts.tv_sec = (long long)(want / 1000000000u);
	l->ts.tv_nsec = (long long)(want % 1000000000u);
	if (l->armed) {
		io_uring_prep_timeout_update(sqe, &l->ts,
					     (l->gen << 8) | TAG_TIMEOUT,
					     IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, TAG_UPDATE);
	} else {
		l->gen++;
		io_uring_prep_timeout(sqe, &l->ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, (l->gen << 8) | TAG_TIMEOUT);
	}
	l->armed = true;
	l->armed_dl = dl;
	l->armed_anchor = l->next_anchor;
	l->st.rearms++;
	/* The timespec is read at submission: submit now, not later. */
	rc = io_uring_submit(&l->ring);
	return rc < 0 ? rc : 0;
}

int
clock_loop_request(struct clock_loop *l, struct clock_timers *t,
		   const struct clock_timer_req *req,
		   struct clock_timer_rsp *rsp)
{
	struct clock_loop_fe *fe = find_fe(l, t);
	int rc;

	if (!fe)
		return -EINVAL;
	if ((rc = clock_timers_request(t, req, rsp)) < 0)
		ring_log(RING_LOG_WARN, "msg=\"timer set cannot grow\" "
			 "err=%d", rc);
	if (rsp->status == CLOCK_ST_ARMED && req->deadline_ns <= page_now(l)) {
		clock_timers_expire(t, page_now(l));
		deliver(l, fe);
	}
	return rearm(l);
}

int
clock_loop_kick(struct clock_loop *l, struct clock_timers *t)
{
	struct clock_loop_fe *fe = find_fe(l, t);

	if (!fe)
		return -EINVAL;
	deliver(l, fe);
	return 0;
}

static void
handle_step(struct clock_loop *l)
{
	uint64_t buf;
	ssize_t n = read(l->step_fd, &buf, sizeof(buf));

	if (n < 0 && errno == EAGAIN)
		return;		/* spurious wake-up */
	/* ECANCELED from our timerfd, or an eventfd count: both a step. */
	l->st.steps++;
	if (clock_writer_update(l->w) == 0)
		l->st.reanchors++;
	l->next_anchor = clock__gettime_mono() + clock_writer_period_ns(l->w);
	if (l->own_step_fd && arm_step_timer(l) < 0)
		ring_log(RING_LOG_WARN, "msg=\"cannot re-arm step timer\"");
}

void
clock_loop_set_watch_fn(struct clock_loop *l, clock_watch_fn *fn, void *arg)
{
	l->watch_fn = fn;
	l->watch_arg = arg;
}

int
clock_loop_watch(struct clock_loop *l, int fd, uint64_t cookie)
{
	struct io_uring_sqe *sqe;

	if (fd < 0 || cookie >> 56 != 0)
		return -EINVAL;
	if (!(sqe = get_sqe(l)))
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, (cookie << 8) | TAG_WATCH);
	/* Submitted with the next rearm or run_once, which always submit. */
	return 0;
}

int
clock_loop_unwatch(struct clock_loop *l, uint64_t cookie)
{
	struct io_uring_sqe *sqe;
	int rc;

	if (cookie >> 56 != 0)
		return -EINVAL;
	if (!(sqe = get_sqe(l)))
		return -EBUSY;
	io_uring_prep_poll_remove(sqe, (cookie << 8) | TAG_WATCH);
	io_uring_sqe_set_data64(sqe, TAG_UNWATCH);
	/* Now: the poll holds a reference to the file, which the caller is
	 * about to close (a peer must see its end go away). */
	rc = io_uring_submit(&l->ring);
	return rc < 0 ? rc : 0;
}

static int
wev_push(struct clock_loop *l, uint64_t cookie, int res)
{
	if (l->nwev == l->capwev) {
		size_t ncap = l->capwev ? l->capwev * 2 : 16;
		struct watch_ev *n = realloc(l->wev, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->wev = n;
		l->capwev = ncap;
	}
	l->wev[l->nwev++] = (struct watch_ev){ cookie, res };
	return 0;
}

int
clock_loop_run_once(struct clock_loop *l, uint64_t max_wait_ns)
{
	struct __kernel_timespec wait = {
		.tv_sec = (long long)(max_wait_ns / 1000000000u),
		.tv_nsec = (long long)(max_wait_ns % 1000000000u),
	};
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	bool step = false;
	int rc;

	if ((rc = rearm(l)) < 0)
		return rc;
	rc = io_uring_wait_cqe_timeout(&l->ring, &cqe, &wait);
	if (rc < 0 && rc != -ETIME && rc != -EINTR)
		return rc;
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);

		n++;
		switch (ud & 0xff) {
		case TAG_TIMEOUT:
			/* Only the live generation's end disarms us. */
			if ((ud >> 8) == l->gen)
				l->armed = false;
			l->st.wakeups++;
			break;
		case TAG_UPDATE:
			/* -ENOENT: it had fired; its TAG_TIMEOUT says so. */
			break;
		case TAG_STEP:
			step = true;
			break;
		case TAG_WATCH:
			/* Cancelled watches were unwatched on purpose. */
			if (cqe->res != -ECANCELED && l->watch_fn &&
			    wev_push(l, ud >> 8, cqe->res) < 0)
				ring_log(RING_LOG_ERR,
					 "msg=\"watch event lost: no memory\"");
			break;
		}
	}
	io_uring_cq_advance(&l->ring, n);
	/* Handlers run after the queue is advanced: they may submit, and
	 * may unwatch or detach anything. */
	for (size_t i = 0; i < l->nwev; i++)
		l->watch_fn(l->watch_arg, l->wev[i].cookie, l->wev[i].res);
	l->nwev = 0;
	if (step) {
		handle_step(l);
		if ((rc = poll_step(l)) < 0)
			return rc;
	}
	if (clock__gettime_mono() >= l->next_anchor) {
		if (clock_writer_update(l->w) == 0)
			l->st.reanchors++;
		l->next_anchor = clock__gettime_mono() +
				 clock_writer_period_ns(l->w);
	}
	expire_all(l);
	if ((rc = rearm(l)) < 0)
		return rc;
	return (int)n;
}

void
clock_loop_stats(const struct clock_loop *l, struct clock_loop_stats *s)
{
	*s = l->st;
}
