/*
 * Unit tests for clockd's timer set: statuses, validation, limits, and a
 * randomized comparison against a naive model (arm, cancel, expire in
 * (deadline, id) order, delivery).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "services/clockd/clockd.h"

static struct clock_timers *
open_set(uint32_t max)
{
	struct clock_timers_opts o = { .sz = sizeof(o), .max_timers = max };
	struct clock_timers *t = NULL;

	assert_int_equal(clock_timers_open(&o, &t), 0);
	return t;
}

static uint32_t
req(struct clock_timers *t, uint8_t op, uint64_t id, uint64_t deadline)
{
	struct clock_timer_req q = { .id = id, .deadline_ns = deadline,
				     .op = op };
	struct clock_timer_rsp r;

	assert_int_equal(clock_timers_request(t, &q, &r), 0);
	assert_true(r.id == id);
	assert_int_equal(r.pad, 0);
	return r.status;
}

static void
test_statuses(void **state)
{
	struct clock_timers *t = open_set(3);
	struct clock_timer_req q = { .id = 9, .deadline_ns = 5,
				     .op = CLOCK_OP_ARM };
	struct clock_timer_rsp r;
	struct clock_fire_rsp ev;
	(void)state;

	assert_int_equal(req(t, CLOCK_OP_ARM, 1, 100), CLOCK_ST_ARMED);
	assert_int_equal(req(t, CLOCK_OP_ARM, 1, 50), CLOCK_ST_ERR_EXIST);
	assert_int_equal(req(t, CLOCK_OP_ARM, 2, 100), CLOCK_ST_ARMED);
	assert_int_equal(req(t, CLOCK_OP_ARM, 3, 10), CLOCK_ST_ARMED);
	assert_int_equal(req(t, CLOCK_OP_ARM, 4, 10), CLOCK_ST_ERR_LIMIT);
	assert_int_equal(clock_timers_next(t), 10);
	assert_int_equal(req(t, CLOCK_OP_CANCEL, 77, 0), CLOCK_ST_NOT_FOUND);
	assert_int_equal(req(t, CLOCK_OP_CANCEL, 3, 1), CLOCK_ST_ERR_INVAL);
	assert_int_equal(req(t, 0, 3, 0), CLOCK_ST_ERR_INVAL);
	assert_int_equal(req(t, 3, 3, 0), CLOCK_ST_ERR_INVAL);
	assert_int_equal(req(t, 255, 3, 0), CLOCK_ST_ERR_INVAL);
	q.pad[6] = 1;
	assert_int_equal(clock_timers_request(t, &q, &r), 0);
	assert_int_equal(r.status, CLOCK_ST_ERR_INVAL);
	assert_int_equal(clock_timers_armed(t), 3);

	assert_int_equal(req(t, CLOCK_OP_CANCEL, 3, 0), CLOCK_ST_CANCELLED);
	assert_int_equal(req(t, CLOCK_OP_CANCEL, 3, 0), CLOCK_ST_NOT_FOUND);
	assert_int_equal(clock_timers_next(t), 100);
	assert_int_equal(clock_timers_expire(t, 99), 0);
	assert_int_equal(clock_timers_peek_fired(t, &ev), 0);
	assert_int_equal(clock_timers_expire(t, 100), 2);
	assert_int_equal(clock_timers_next(t), UINT64_MAX);
	assert_int_equal(clock_timers_fired_queued(t), 2);

	/* Fired but not delivered: a cancel still wins, nothing delivers. */
	assert_int_equal(req(t, CLOCK_OP_CANCEL, 2, 0), CLOCK_ST_CANCELLED);
	assert_int_equal(clock_timers_peek_fired(t, &ev), 1);
	assert_true(ev.id == 1 && ev.fired_ns == 100);
	assert_int_equal(ev.status, CLOCK_ST_FIRED);
	assert_int_equal(ev.pad, 0);
	/* Peek does not consume. */
	assert_int_equal(clock_timers_peek_fired(t, &ev), 1);
	assert_true(ev.id == 1);
	/* Still counted against the limit until delivered. */
	assert_int_equal(req(t, CLOCK_OP_ARM, 1, 5), CLOCK_ST_ERR_EXIST);
	clock_timers_drop_fired(t);
	assert_int_equal(clock_timers_peek_fired(t, &ev), 0);
	/* Delivered: cancel is too late, the id is free again. */
	assert_int_equal(req(t, CLOCK_OP_CANCEL, 1, 0), CLOCK_ST_NOT_FOUND);
	assert_int_equal(req(t, CLOCK_OP_ARM, 1, 5), CLOCK_ST_ARMED);
	/* A deadline already past fires on the next expire. */
	assert_int_equal(clock_timers_expire(t, 1000), 1);
	clock_timers_close(t);
}

static void
test_bad_opts(void **state)
{
	struct clock_timers_opts o = { .sz = 1 };
	struct clock_timers *t;
	(void)state;

	assert_int_equal(clock_timers_open(&o, &t), -EINVAL);
	o = (struct clock_timers_opts){ .sz = sizeof(o), .max_timers = ~0u };
	assert_int_equal(clock_timers_open(&o, &t), -EINVAL);
	assert_int_equal(clock_timers_open(NULL, &t), 0);
	clock_timers_close(t);
}

/* ---- randomized comparison with a model -------------------------------- */

#define IDS 600
#define MAX 400

struct model {
	int state[IDS];		/* 0 free, 1 armed, 2 fired-queued */
	uint64_t deadline[IDS];
	uint64_t fired_ns[IDS];
	int queue[IDS];		/* fired ids in delivery order */
	int qhead, qlen;
	int used;
};

static int
cmp_due(const void *a, const void *b, void *arg)
{
	const struct model *m = arg;
	int x = *(const int *)a, y = *(const int *)b;

	if (m->deadline[x] != m->deadline[y])
		return m->deadline[x] < m->deadline[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static struct model *cmp_model;
static int
cmp_due_q(const void *a, const void *b)
{
	return cmp_due(a, b, cmp_model);
}

static void
test_model(void **state)
{
	struct clock_timers *t = open_set(MAX);
	struct model *m = calloc(1, sizeof(*m));
	uint64_t now = 0;
	int due[IDS];
	(void)state;

	srand(12345);
	for (int step = 0; step < 200000; step++) {
		int r = rand() % 100, id = rand() % IDS;

		if (r < 45) {
			uint64_t dl = now + (uint64_t)(rand() % 2000);
			uint32_t want = m->state[id] ? CLOCK_ST_ERR_EXIST :
					m->used == MAX ? CLOCK_ST_ERR_LIMIT :
							 CLOCK_ST_ARMED;

			assert_int_equal(req(t, CLOCK_OP_ARM, (uint64_t)id, dl),
					 want);
			if (want == CLOCK_ST_ARMED) {
				m->state[id] = 1;
				m->deadline[id] = dl;
				m->used++;
			}
		} else if (r < 60) {
			uint32_t want = m->state[id] ? CLOCK_ST_CANCELLED
						     : CLOCK_ST_NOT_FOUND;

			assert_int_equal(req(t, CLOCK_OP_CANCEL, (uint64_t)id,
					     0), want);
			if (m->state[id] == 2) {
				int k, n = 0;

				for (k = 0; k < m->qlen; k++) {
					int q = m->queue[(m->qhead + k) % IDS];

					if (q != id)
						due[n++] = q;
				}
				for (k = 0; k < n; k++)
					m->queue[(m->qhead + k) % IDS] = due[k];
				m->qlen = n;
			}
			if (m->state[id]) {
				m->state[id] = 0;
				m->used--;
			}
		} else if (r < 80) {
			int n = 0;

			now += (uint64_t)(rand() % 300);
			for (int i = 0; i < IDS; i++)
				if (m->state[i] == 1 && m->deadline[i] <= now)
					due[n++] = i;
			cmp_model = m;
			qsort(due, (size_t)n, sizeof(due[0]), cmp_due_q);
			for (int i = 0; i < n; i++) {
				m->state[due[i]] = 2;
				m->fired_ns[due[i]] = now;
				m->queue[(m->qhead + m->qlen++) % IDS] = due[i];
			}
			assert_int_equal(clock_timers_expire(t, now), n);
		} else {
			int k = rand() % 8;
			struct clock_fire_rsp ev;

			while (k-- > 0 && m->qlen > 0) {
				int id2 = m->queue[m->qhead];

				assert_int_equal(
				    clock_timers_peek_fired(t, &ev), 1);
				assert_true(ev.id == (uint64_t)id2);
				assert_true(ev.fired_ns == m->fired_ns[id2]);
				clock_timers_drop_fired(t);
				m->qhead = (m->qhead + 1) % IDS;
				m->qlen--;
				m->state[id2] = 0;
				m->used--;
			}
			if (m->qlen == 0)
				assert_int_equal(
				    clock_timers_peek_fired(t, &ev), 0);
		}
		assert_int_equal(clock_timers_fired_queued(t), m->qlen);
		assert_int_equal(clock_timers_armed(t) + (uint32_t)m->qlen,
				 m->used);
	}
	free(m);
	clock_timers_close(t);
}

/* Many ids that collide in the low bits still work (keyed hash). */
static void
test_many(void **state)
{
	struct clock_timers *t = open_set(20000);
	struct clock_fire_rsp ev;
	uint64_t prev = 0;
	(void)state;

	for (uint64_t i = 0; i < 20000; i++)
		assert_int_equal(req(t, CLOCK_OP_ARM, i << 32,
				     (i * 7919) % 20000),
				 CLOCK_ST_ARMED);
	for (uint64_t i = 0; i < 20000; i += 2)
		assert_int_equal(req(t, CLOCK_OP_CANCEL, i << 32, 0),
				 CLOCK_ST_CANCELLED);
	assert_int_equal(clock_timers_expire(t, UINT64_MAX - 1), 10000);
	for (int n = 0; clock_timers_peek_fired(t, &ev) == 1; n++) {
		uint64_t i = ev.id >> 32;

		assert_true(i & 1);
		assert_true((i * 7919) % 20000 >= prev);
		prev = (i * 7919) % 20000;
		clock_timers_drop_fired(t);
	}
	assert_int_equal(clock_timers_armed(t), 0);
	clock_timers_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
