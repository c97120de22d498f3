/*
 * clockd's io_uring loop, in-process: thousands of timers through the
 * real io_uring timeout, a simulated wall-clock step reaching the page,
 * periodic re-anchoring, and the two TIME rings (command + credit-based
 * event ring) glued to the loop under ring.h's rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "morgana/clock.h"
#include "services/clockd/clockd.h"

static bool
asan(void)
{
	const char *s = getenv("MORGANA_TEST_SCALE");

	return s && strcmp(s, "asan") == 0;
}

static struct clock_writer *
writer(uint64_t period, clock_realtime_fn *rt, void *arg)
{
	struct clock_writer_opts o = { .sz = sizeof(o), .reanchor_ns = period,
				       .realtime = rt, .realtime_arg = arg };
	struct clock_writer *w = NULL;

	assert_int_equal(clock_writer_open(&o, &w), 0);
	return w;
}

static struct clock_loop *
loop(struct clock_writer *w, int step_fd)
{
	struct clock_loop_opts o = { .sz = sizeof(o), .writer = w,
				     .step_fd = step_fd };
	struct clock_loop *l = NULL;

	assert_int_equal(clock_loop_open(&o, &l), 0);
	return l;
}

static uint64_t
now_page(struct clock_writer *w)
{
	uint64_t v = 0;

	assert_int_equal(clock_page_mono_ns(clock_writer_page(w), &v), 0);
	return v;
}

/* ---- 5000 timers ------------------------------------------------------- */

#define NT 5000

struct fired_log {
	struct clock_writer *w;
	uint64_t deadline[NT];
	int cancelled[NT];
	int fired[NT];
	uint64_t late[NT];
	int order[NT];
	int n;
	int early;
	uint64_t last_deadline;
	int out_of_order;
};

static int
record(void *arg, const struct clock_fire_rsp *ev)
{
	struct fired_log *f = arg;
	uint64_t now = now_page(f->w);
	uint64_t id = ev->id;

	if (id >= NT || ev->status != CLOCK_ST_FIRED)
		return -EINVAL;
	f->fired[id]++;
	if (now < f->deadline[id] || ev->fired_ns < f->deadline[id])
		f->early++;
	if (f->deadline[id] < f->last_deadline)
		f->out_of_order++;
	f->last_deadline = f->deadline[id];
	f->late[f->n] = now - f->deadline[id];
	f->order[f->n++] = (int)id;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
test_5000_timers(void **state)
{
	struct clock_writer *w = writer(0, NULL, NULL);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct clock_loop *l = loop(w, efd);
	struct fired_log *f = calloc(1, sizeof(*f));
	struct clock_timers_opts to = { .sz = sizeof(to), .max_timers = NT };
	struct clock_timers *t;
	struct clock_loop_stats st;
	int expect = 0, ncancel = 0;
	uint64_t end;
	(void)state;

	f->w = w;
	assert_int_equal(clock_loop_attach(l, &to, record, f, &t), 0);
	srand(7);
	/* Feed in 10 batches while the loop runs, as rings would. */
	for (int b = 0; b < 10; b++) {
		for (int i = b * (NT / 10); i < (b + 1) * (NT / 10); i++) {
			struct clock_timer_req q = { .id = (uint64_t)i,
						     .op = CLOCK_OP_ARM };
			struct clock_timer_rsp r;

			f->deadline[i] = q.deadline_ns = now_page(w) + 1000000 +
				(uint64_t)(rand() % 500) * 1000000 +
				(uint64_t)(rand() % 1000000);
			assert_int_equal(clock_loop_request(l, t, &q, &r), 0);
			assert_int_equal(r.status, CLOCK_ST_ARMED);
		}
		/* Cancel a fifth of what is armed, mostly before it fires. */
		for (int k = 0; k < NT / 50; k++) {
			int i = rand() % ((b + 1) * (NT / 10));
			struct clock_timer_req q = { .id = (uint64_t)i,
						     .op = CLOCK_OP_CANCEL };
			struct clock_timer_rsp r;

			assert_int_equal(clock_loop_request(l, t, &q, &r), 0);
			if (r.status == CLOCK_ST_CANCELLED) {
				f->cancelled[i] = 1;
				ncancel++;
			} else {
				assert_int_equal(r.status, CLOCK_ST_NOT_FOUND);
			}
		}
		for (uint64_t e = now_page(w) + 10000000; now_page(w) < e;)
			assert_true(clock_loop_run_once(l, 2000000) >= 0);
	}
	for (int i = 0; i < NT; i++)
		expect += !f->cancelled[i];
	end = now_page(w) + 3000000000ull;
	while (f->n < expect && now_page(w) < end)
		assert_true(clock_loop_run_once(l, 50000000) >= 0);
	/* Nothing more may show up: cancellations never fire. */
	for (int i = 0; i < 5; i++)
		assert_true(clock_loop_run_once(l, 2000000) >= 0);

	clock_loop_stats(l, &st);
	qsort(f->late, (size_t)f->n, sizeof(f->late[0]), cmp_u64);
	print_message("fired=%d cancelled=%d early=%d out_of_order=%d "
		      "lateness p50=%lluus p90=%lluus p99=%lluus max=%lluus "
		      "wakeups=%llu rearms=%llu reanchors=%llu\n",
		      f->n, ncancel, f->early, f->out_of_order,
		      (unsigned long long)f->late[f->n / 2] / 1000,
		      (unsigned long long)f->late[f->n * 9 / 10] / 1000,
		      (unsigned long long)f->late[f->n * 99 / 100] / 1000,
		      (unsigned long long)f->late[f->n - 1] / 1000,
		      (unsigned long long)st.wakeups,
		      (unsigned long long)st.rearms,
		      (unsigned long long)st.reanchors);
	assert_true(ncancel > 100);
	assert_int_equal(f->n, expect);
	for (int i = 0; i < NT; i++)
		assert_int_equal(f->fired[i], f->cancelled[i] ? 0 : 1);
	assert_int_equal(f->early, 0);
	assert_int_equal(f->out_of_order, 0);
	/*
	 * p50 is the loop's own precision.  p99 is set by the host: these
	 * 2-vCPU VMs stall a process for 2-13 ms now and then (a plain
	 * nanosleep shows it too), and with a timer every ~120 us one stall
	 * makes ~1% of them late.
	 */
	assert_true(f->late[f->n / 2] < (asan() ? 2000000u : 500000u));
	/* A loaded 2-core host (CI beside other jobs) stalls for tens of
	 * ms; a loop that lost timers would be late by seconds. */
	assert_true(f->late[f->n * 99 / 100] < 250000000u);
	/* One timeout serves many timers. */
	assert_true(st.wakeups < (uint64_t)expect);
	assert_int_equal(clock_timers_armed(t), 0);
	free(f);
	clock_loop_close(l);
	close(efd);
	clock_writer_close(w);
}

/* ---- a wall-clock step, simulated ------------------------------------- */

static _Atomic int64_t rt_offset;

static int
fake_realtime(void *arg, int64_t *ns)
{
	struct timespec ts;
	(void)arg;

	clock_gettime(CLOCK_REALTIME, &ts);
	*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
	      atomic_load(&rt_offset);
	return 0;
}

struct runner {
	struct clock_loop *l;
	_Atomic int stop;
};

static void *
run(void *arg)
{
	struct runner *r = arg;

	while (!atomic_load(&r->stop))
		if (clock_loop_run_once(r->l, 5000000) < 0)
			break;
	return NULL;
}

static uint64_t
step_and_wait(struct clock_writer *w, int efd, int64_t by)
{
	const void *page = clock_writer_page(w);
	uint64_t one = 1, t0, t1, v = 0;
	int64_t want;

	atomic_fetch_add(&rt_offset, by);
	t0 = clock__gettime_mono();
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	for (;;) {
		int64_t now_rt;

		fake_realtime(NULL, &now_rt);
		want = now_rt;
		assert_int_equal(clock_page_wall_ns(page, &v), 0);
		if (llabs((int64_t)v - want) < 1000000)
			break;
		t1 = clock__gettime_mono();
		assert_true(t1 - t0 < 1000000000);	/* fail, don't hang */
		/* Poll, but leave the CPU to the loop thread we measure: on
		 * two busy cores a spinning reader delays the writer. */
		sched_yield();
	}
	t1 = clock__gettime_mono();
	print_message("step %+llds visible after %lluus\n",
		      (long long)(by / 1000000000),
		      (unsigned long long)(t1 - t0) / 1000);
	return t1 - t0;
}

static void
test_wall_step(void **state)
{
	/* A long period: only the step notification can explain a fast update. */
	struct clock_writer *w = writer(10000000000ull, fake_realtime, NULL);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct runner r = { .l = loop(w, efd) };
	struct clock_loop_stats st;
	uint64_t v = 0, m;
	uint64_t took[5];
	pthread_t th;
	(void)state;

	assert_int_equal(pthread_create(&th, NULL, run, &r), 0);
	for (int i = 0; i < 5; i++) {
		usleep(20000);
		took[i] = step_and_wait(w, efd, (i & 1 ? -7200ll : 3600ll) *
						    1000000000);
	}
	/*
	 * Within 10 ms; judged on the median because the host alone stalls
	 * a thread by up to ~13 ms at times, with a hard cap on every step.
	 */
	for (int i = 0; i < 5; i++)
		assert_true(took[i] < 100000000);
	qsort(took, 5, sizeof(took[0]), cmp_u64);
	assert_true(took[2] < 10000000);
	/* MCLOCK did not move with the wall clock. */
	assert_int_equal(clock_page_mono_ns(clock_writer_page(w), &v), 0);
	m = clock__gettime_mono();
	assert_true(v <= m + 1000000 && m - v < 1000000);
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	clock_loop_stats(r.l, &st);
	assert_int_equal(st.steps, 5);
	clock_loop_close(r.l);
	close(efd);
	clock_writer_close(w);
	atomic_store(&rt_offset, 0);
}

/* The real step detector (a CANCEL_ON_SET timerfd) arms; re-anchors run. */
static void
test_default_step_fd_and_reanchor(void **state)
{
	struct clock_writer *w = writer(20000000, NULL, NULL);
	struct clock_loop *l = loop(w, -1);
	struct clock_loop_stats st;
	const struct clock_page *p = clock_writer_page(w);
	uint64_t u0 = p->updates, end = clock__gettime_mono() + 200000000;
	(void)state;

	while (clock__gettime_mono() < end)
		assert_true(clock_loop_run_once(l, 50000000) >= 0);
	clock_loop_stats(l, &st);
	print_message("reanchors=%llu wakeups=%llu\n",
		      (unsigned long long)st.reanchors,
		      (unsigned long long)st.wakeups);
	assert_true(st.reanchors >= 5 && st.reanchors <= 12);
	assert_true(p->updates - u0 == st.reanchors);
	assert_int_equal(st.steps, 0);
	clock_loop_close(l);
	clock_writer_close(w);
}

/* ---- the two TIME rings ------------------------------------------------ */

static _Alignas(4096) unsigned char cmd_page[RING_PAGE_SIZE];
static _Alignas(4096) unsigned char fire_page[RING_PAGE_SIZE];

struct backend {
	struct ring_back cmd, fire;
	int delivered;
};

/* Deliver onto the event ring, answering a credit the front end posted. */
static int
ring_deliver(void *arg, const struct clock_fire_rsp *ev)
{
	struct backend *b = arg;

	if (b->fire.rsp_prod_pvt == b->fire.req_cons) {
		struct clock_fire_req credit;
		int rc = clock_fire_back_get(&b->fire, &credit);

		if (rc <= 0)
			return rc < 0 ? rc : -EAGAIN;
	}
	assert_int_equal(clock_fire_back_put(&b->fire, ev), 0);
	ring_back_push(&b->fire);
	b->delivered++;
	return 0;
}

static void
test_rings(void **state)
{
	struct clock_writer *w = writer(0, NULL, NULL);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct clock_loop *l = loop(w, efd);
	struct ring_front fcmd, ffire;
	struct backend be = { 0 };
	struct clock_timers *t;
	enum { N = 600, CREDITS = 16 };
	uint64_t base = now_page(w) + 20000000, prev = 0, end;
	int armed = 0, got = 0, credits = 0, answers = 0;
	(void)state;

	assert_int_equal(clock_timer_nr_ents(RING_PAGE_SIZE), 128);
	assert_int_equal(clock_fire_nr_ents(RING_PAGE_SIZE), 128);
	assert_int_equal(clock_timer_front_init(&fcmd, cmd_page,
						sizeof(cmd_page)), 0);
	assert_int_equal(clock_fire_front_init(&ffire, fire_page,
					       sizeof(fire_page)), 0);
	assert_int_equal(clock_timer_back_attach(&be.cmd, cmd_page,
						 sizeof(cmd_page)), 0);
	assert_int_equal(clock_fire_back_attach(&be.fire, fire_page,
						sizeof(fire_page)), 0);
	assert_int_equal(clock_loop_attach(l, NULL, ring_deliver, &be, &t), 0);

	end = now_page(w) + 3000000000ull;
	while (got < N && now_page(w) < end) {
		struct clock_timer_req q;
		struct clock_timer_rsp r;
		struct clock_fire_rsp ev;
		struct clock_fire_req c = { 0 };

		/* Front end: keep CREDITS credits posted, arm more timers
		 * than the command ring has slots. */
		while (credits < CREDITS &&
		       clock_fire_front_put(&ffire, &c) == 0)
			credits++;
		ring_front_push(&ffire);
		while (armed < N) {
			q = (struct clock_timer_req){
				.id = (uint64_t)armed, .op = CLOCK_OP_ARM,
				.deadline_ns = base + (uint64_t)(armed * 7 % N) *
							  100000 };
			if (clock_timer_front_put(&fcmd, &q) < 0)
				break;
			armed++;
		}
		ring_front_push(&fcmd);
		/* Back end: answer every command at once. */
		while (clock_timer_back_get(&be.cmd, &q) == 1) {
			assert_int_equal(clock_loop_request(l, t, &q, &r), 0);
			assert_int_equal(clock_timer_back_put(&be.cmd, &r), 0);
		}
		ring_back_push(&be.cmd);
		assert_int_equal(clock_loop_kick(l, t), 0);
		assert_true(clock_loop_run_once(l, 1000000) >= 0);
		/* Front end: read answers and events. */
		while (clock_timer_front_get(&fcmd, &r) == 1) {
			assert_int_equal(r.status, CLOCK_ST_ARMED);
			answers++;
		}
		while (clock_fire_front_get(&ffire, &ev) == 1) {
			uint64_t dl = base + (ev.id * 7 % N) * 100000;

			assert_int_equal(ev.status, CLOCK_ST_FIRED);
			assert_true(ev.fired_ns >= dl && dl >= prev);
			prev = dl;
			credits--;
			got++;
		}
		assert_true(clock_timers_fired_queued(t) + clock_timers_armed(t)
			    <= (uint32_t)(N - got));
	}
	assert_int_equal(answers, N);
	assert_int_equal(got, N);
	assert_int_equal(be.delivered, N);
	clock_loop_close(l);
	close(efd);
	clock_writer_close(w);
}

/* Watches: one report per arm, with its cookie; an unwatched one never. */
struct seen {
	uint64_t cookie[8];
	int n;
};

static void
on_watch(void *arg, uint64_t cookie, int res)
{
	struct seen *s = arg;

	assert_true(res > 0);
	if (s->n < 8)
		s->cookie[s->n] = cookie;
	s->n++;
}

static void
test_watch(void **state)
{
	struct clock_writer *w = writer(0, NULL, NULL);
	int sfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct clock_loop *l = loop(w, sfd);
	struct seen s = { .n = 0 };
	uint64_t one = 1;

	(void)state;
	clock_loop_set_watch_fn(l, on_watch, &s);
	assert_int_equal(clock_loop_watch(l, a, 1ull << 55), 0);
	assert_int_equal(clock_loop_watch(l, b, 7), 0);
	assert_int_equal(clock_loop_watch(l, a, 1ull << 56), -EINVAL);
	assert_true(clock_loop_run_once(l, 10000000) >= 0);
	assert_int_equal(s.n, 0);		/* nothing readable yet */
	assert_int_equal(write(a, &one, 8), 8);
	for (int i = 0; i < 50 && s.n == 0; i++)
		assert_true(clock_loop_run_once(l, 10000000) >= 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.cookie[0], 1ull << 55);
	/* One-shot: still readable, but not reported until re-armed. */
	assert_true(clock_loop_run_once(l, 10000000) >= 0);
	assert_int_equal(s.n, 1);
	/* Unwatched, then made readable: never reported. */
	assert_int_equal(clock_loop_unwatch(l, 7), 0);
	assert_int_equal(write(b, &one, 8), 8);
	for (int i = 0; i < 5; i++)
		assert_true(clock_loop_run_once(l, 10000000) >= 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(clock_loop_watch(l, b, 9), 0);
	for (int i = 0; i < 50 && s.n == 1; i++)
		assert_true(clock_loop_run_once(l, 10000000) >= 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.cookie[1], 9);
	clock_loop_close(l);
	clock_writer_close(w);
	close(a);
	close(b);
	close(sfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5000_timers),
		cmocka_unit_test(test_wall_step),
		cmocka_unit_test(test_default_step_fd_and_reanchor),
		cmocka_unit_test(test_rings),
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
