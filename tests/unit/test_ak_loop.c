/*
 * appkit's event loop and tasks: many tasks sleeping, timers in order,
 * cancel, fd readiness waking a task, task status, blocking from a
 * callback refused.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "morgana/ak_loop.h"

static unsigned
scale(unsigned n)
{
	const char *s = getenv("MORGANA_TEST_SCALE");

	return s && *s ? (n / 4 ? n / 4 : 1) : n;
}

struct sleeper {
	struct ak_loop *l;
	uint64_t delay, woke_at, started;
	int idx;
};

static int
sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	int rc;

	s->started = ak_now_ns();
	rc = ak_task_sleep_until(s->l, s->started + s->delay);
	s->woke_at = ak_now_ns();
	return rc == 0 ? s->idx : -1;
}

static void
test_many_tasks_sleep(void **state)
{
	unsigned n = scale(500);
	struct ak_loop *l;
	struct sleeper *s = calloc(n, sizeof(*s));
	struct ak_task **t = calloc(n, sizeof(*t));
	uint64_t t0;
	unsigned done = 0;

	(void)state;
	assert_int_equal(ak_loop_open(&l), 0);
	srand(7);
	for (unsigned i = 0; i < n; i++) {
		s[i] = (struct sleeper){ .l = l, .idx = (int)i,
			.delay = (uint64_t)(1 + rand() % 100) * 1000000u };
		assert_int_equal(ak_task_spawn(l, sleeper_fn, &s[i], 64 * 1024,
					       &t[i]), 0);
	}
	t0 = ak_now_ns();
	while (done < n) {
		assert_true(ak_loop_run_once(l, 1000) >= 0);
		assert_true(ak_now_ns() - t0 < 5000000000ull);
		done = 0;
		for (unsigned i = 0; i < n; i++)
			done += ak_task_done(t[i], NULL);
	}
	for (unsigned i = 0; i < n; i++) {
		int st = -2;

		assert_true(ak_task_done(t[i], &st));
		assert_int_equal(st, (int)i);	/* each its own status */
		/* never early */
		assert_true(s[i].woke_at >= s[i].started + s[i].delay);
		assert_int_equal(ak_task_free(t[i]), 0);
	}
	/* all slept concurrently: ~100 ms, not the sum */
	assert_true(ak_now_ns() - t0 < 2000000000ull);
	ak_loop_close(l);
	free(s);
	free(t);
}

struct order {
	int seen[8];
	int n;
};

static struct order ord;
static int tags[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

static void
order_cb(void *arg)
{
	ord.seen[ord.n++] = *(int *)arg;
}

static void
test_timers_in_order_and_cancel(void **state)
{
	struct ak_loop *l;
	uint64_t now = ak_now_ns(), id_cancel;

	(void)state;
	ord.n = 0;
	assert_int_equal(ak_loop_open(&l), 0);
	/* deadlines out of order; two equal ones keep insertion order */
	assert_int_equal(ak_loop_timer(l, now + 30000000, order_cb, &tags[3], NULL), 0);
	assert_int_equal(ak_loop_timer(l, now + 10000000, order_cb, &tags[1], NULL), 0);
	assert_int_equal(ak_loop_timer(l, now + 20000000, order_cb, &tags[2], &id_cancel), 0);
	assert_int_equal(ak_loop_timer(l, now + 10000000, order_cb, &tags[4], NULL), 0);
	assert_int_equal(ak_loop_timer(l, now - 1, order_cb, &tags[0], NULL), 0);
	assert_int_equal(ak_loop_timer_cancel(l, id_cancel), 0);
	assert_int_equal(ak_loop_timer_cancel(l, id_cancel), -ENOENT);
	while (ord.n < 4 && ak_now_ns() - now < 2000000000ull)
		assert_true(ak_loop_run_once(l, 100) >= 0);
	assert_int_equal(ord.n, 4);
	assert_int_equal(ord.seen[0], 0);
	assert_int_equal(ord.seen[1], 1);
	assert_int_equal(ord.seen[2], 4);
	assert_int_equal(ord.seen[3], 3);
	assert_true(ak_now_ns() >= now + 30000000);
	ak_loop_close(l);
}

struct fdwait {
	struct ak_loop *l;
	int efd;
	int revents;
	uint64_t woke;
};

static int
fd_task(void *arg)
{
	struct fdwait *w = arg;

	w->revents = ak_task_wait_fd(w->l, w->efd, POLLIN, 2000000000ull);
	w->woke = ak_now_ns();
	return 42;
}

static void
poke(void *arg)
{
	uint64_t one = 1;

	assert_int_equal(write(*(int *)arg, &one, 8), 8);
}

static int
timeout_task(void *arg)
{
	struct fdwait *w = arg;

	return ak_task_wait_fd(w->l, w->efd, POLLIN, 20000000ull);
}

static void
test_fd_wakes_task(void **state)
{
	struct ak_loop *l;
	struct ak_task *t, *t2;
	struct fdwait w = { 0 }, w2 = { 0 };
	uint64_t t0 = ak_now_ns();
	int st = 0;

	(void)state;
	assert_int_equal(ak_loop_open(&l), 0);
	w.l = l;
	w.efd = eventfd(0, EFD_NONBLOCK);
	assert_true(w.efd >= 0);
	assert_int_equal(ak_task_spawn(l, fd_task, &w, 0, &t), 0);
	assert_int_equal(ak_loop_timer(l, t0 + 50000000, poke, &w.efd, NULL), 0);
	while (!ak_task_done(t, &st))
		assert_true(ak_loop_run_once(l, 1000) >= 0);
	assert_int_equal(st, 42);
	assert_true(w.revents > 0 && (w.revents & POLLIN));
	assert_true(w.woke >= t0 + 50000000);
	assert_true(w.woke < t0 + 1500000000ull);	/* not the timeout */
	ak_task_free(t);

	/* and a timeout when nobody writes */
	w2.l = l;
	w2.efd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(ak_task_spawn(l, timeout_task, &w2, 0, &t2), 0);
	while (!ak_task_done(t2, &st))
		assert_true(ak_loop_run_once(l, 1000) >= 0);
	assert_int_equal(st, -ETIMEDOUT);
	ak_task_free(t2);
	ak_loop_close(l);
	close(w.efd);
	close(w2.efd);
}

static int cb_rc;

static void
blocking_cb(void *arg)
{
	cb_rc = ak_task_sleep_until(arg, ak_now_ns() + 1000);
}

static int
spawner_child(void *arg)
{
	return *(int *)arg * 2;
}

static int
spawner(void *arg)
{
	struct ak_loop *l = arg;
	struct ak_task *c;
	int st, x = 21;

	/* a task waits for another one it spawned */
	if (ak_task_spawn(l, spawner_child, &x, 0, &c) < 0)
		return -1;
	while (!ak_task_done(c, &st))
		ak_task_sleep_until(l, ak_now_ns() + 1000000);
	ak_task_free(c);
	return st;
}

static void
test_callback_cannot_block_and_nesting(void **state)
{
	struct ak_loop *l;
	struct ak_task *t;
	int st = 0;

	(void)state;
	assert_int_equal(ak_loop_open(&l), 0);
	cb_rc = 1;
	assert_int_equal(ak_loop_defer(l, blocking_cb, l), 0);
	assert_true(ak_loop_run_once(l, 0) >= 0);
	assert_int_equal(cb_rc, -EDEADLK);
	/* outside the loop, a blocking call runs the loop itself */
	assert_int_equal(ak_task_sleep_until(l, ak_now_ns() + 5000000), 0);
	assert_int_equal(ak_task_spawn(l, spawner, l, 0, &t), 0);
	while (!ak_task_done(t, &st))
		assert_true(ak_loop_run_once(l, 100) >= 0);
	assert_int_equal(st, 42);
	assert_int_equal(ak_task_free(t), 0);
	ak_loop_close(l);
}

static int
forever(void *arg)
{
	struct ak_loop *l = arg;

	for (;;)
		ak_task_sleep_until(l, ak_now_ns() + 1000000000ull);
	return 0;
}

static void
test_close_with_suspended_task(void **state)
{
	struct ak_loop *l;
	struct ak_task *t;

	(void)state;
	assert_int_equal(ak_loop_open(&l), 0);
	assert_int_equal(ak_task_spawn(l, forever, l, 0, &t), 0);
	assert_true(ak_loop_run_once(l, 0) >= 0);
	assert_false(ak_task_done(t, NULL));
	assert_int_equal(ak_task_free(t), -EBUSY);
	ak_loop_close(l);	/* frees it; ASan checks nothing leaks */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_tasks_sleep),
		cmocka_unit_test(test_timers_in_order_and_cancel),
		cmocka_unit_test(test_fd_wakes_task),
		cmocka_unit_test(test_callback_cannot_block_and_nesting),
		cmocka_unit_test(test_close_with_suspended_task),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
