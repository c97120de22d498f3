/*
 * The TIME frontend's protocol (appkit/clock_front.c) against a scripted
 * clockd on plain memory rings: arm, fire once, cancel, re-arm with the
 * same ids and deadlines after a reconnect (never firing twice), early
 * fires held to the deadline, hostile answers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "appkit/clock_front.h"

struct fake {
	_Alignas(4096) unsigned char tpage[4096];
	_Alignas(4096) unsigned char fpage[4096];
	struct ring_back cmd, fire;
};

static struct ak_loop *loop;
static int fired[64];

static void
on_fire(void *arg, uint64_t id, int err)
{
	(void)arg;
	if (id < 64)
		fired[id] += err == 0 ? 1 : 100;
}

static void
connect_fake(struct ak_clock_proto *p, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(ak_clock_proto_attach(p, f->tpage, f->fpage, 4096), 0);
	assert_int_equal(clock_timer_back_attach(&f->cmd, f->tpage, 4096), 0);
	assert_int_equal(clock_fire_back_attach(&f->fire, f->fpage, 4096), 0);
	ak_clock_proto_connected(p);
}

/* Serve the command ring; records ARMs in arms[] (id -> deadline). */
static int
serve(struct fake *f, uint64_t *arms, int *n_arms, uint32_t status_override)
{
	struct clock_timer_req q;
	int n = 0;

	while (clock_timer_back_get(&f->cmd, &q) == 1) {
		struct clock_timer_rsp r = { .id = q.id };

		r.status = q.op == CLOCK_OP_ARM ? CLOCK_ST_ARMED : CLOCK_ST_CANCELLED;
		if (status_override)
			r.status = status_override;
		if (q.op == CLOCK_OP_ARM && q.id < 64) {
			arms[q.id] = q.deadline_ns;
			(*n_arms)++;
		}
		clock_timer_back_put(&f->cmd, &r);
		n++;
	}
	ring_back_push(&f->cmd);
	return n;
}

static void
fire_id(struct fake *f, uint64_t id, uint32_t status)
{
	struct clock_fire_req c;
	struct clock_fire_rsp e = { .id = id, .fired_ns = ak_now_ns(),
				    .status = status };

	assert_int_equal(clock_fire_back_get(&f->fire, &c), 1);
	assert_int_equal(clock_fire_back_put(&f->fire, &e), 0);
	ring_back_push(&f->fire);
}

static void
test_arm_fire_cancel_reconnect(void **state)
{
	static struct fake f1, f2;
	struct ak_clock_proto p;
	uint64_t arms[64] = { 0 }, id1, id2, id3, now = ak_now_ns();
	int n_arms = 0;

	(void)state;
	memset(fired, 0, sizeof(fired));
	assert_int_equal(ak_clock_proto_init(&p, loop), 0);
	/* armed before any connection: queued, sent at connect */
	assert_int_equal(ak_clock_proto_arm(&p, now, on_fire, NULL, &id1), 0);
	connect_fake(&p, &f1);
	assert_int_equal(ak_clock_proto_arm(&p, now + 1, on_fire, NULL, &id2), 0);
	assert_int_equal(ak_clock_proto_arm(&p, now + 2, on_fire, NULL, &id3), 0);
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_true(p.notify);
	assert_int_equal(serve(&f1, arms, &n_arms, 0), 3);
	assert_int_equal(n_arms, 3);
	assert_int_equal(arms[id1], now);
	assert_int_equal(arms[id3], now + 2);
	/* credits are posted: the whole event ring */
	assert_int_equal(ring_front_outstanding(&p.fire), p.fire.nr_ents);

	fire_id(&f1, id1, CLOCK_ST_FIRED);
	fire_id(&f1, id1, CLOCK_ST_FIRED);	/* a duplicate is ignored */
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_int_equal(fired[id1], 1);
	assert_int_equal(ak_clock_proto_cancel(&p, id2), 0);
	assert_int_equal(ak_clock_proto_cancel(&p, id2), -ENOENT);
	assert_int_equal(ak_clock_proto_cancel(&p, id1), -ENOENT);
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	serve(&f1, arms, &n_arms, 0);
	fire_id(&f1, id2, CLOCK_ST_FIRED);	/* raced the cancel: ignored */
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_int_equal(fired[id2], 0);

	/* clockd restarts: only id3 is pending and is re-armed as it was */
	ak_clock_proto_detach(&p);
	memset(arms, 0, sizeof(arms));
	n_arms = 0;
	connect_fake(&p, &f2);
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	serve(&f2, arms, &n_arms, 0);
	assert_int_equal(n_arms, 1);
	assert_int_equal(arms[id3], now + 2);
	fire_id(&f2, id3, CLOCK_ST_FIRED);
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_int_equal(fired[id3], 1);
	assert_int_equal(p.n_timers, 0);
	ak_clock_proto_fini(&p);
}

static void
test_early_fire_waits_for_deadline(void **state)
{
	static struct fake f;
	struct ak_clock_proto p;
	uint64_t arms[64] = { 0 }, id, dl = ak_now_ns() + 30000000;
	int n_arms = 0;

	(void)state;
	memset(fired, 0, sizeof(fired));
	assert_int_equal(ak_clock_proto_init(&p, loop), 0);
	connect_fake(&p, &f);
	assert_int_equal(ak_clock_proto_arm(&p, dl, on_fire, NULL, &id), 0);
	ak_clock_proto_poll(&p);
	serve(&f, arms, &n_arms, 0);
	fire_id(&f, id, CLOCK_ST_FIRED);	/* 30 ms too early */
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_int_equal(fired[id], 0);
	while (fired[id] == 0)
		assert_true(ak_loop_run_once(loop, 100) >= 0);
	assert_true(ak_now_ns() >= dl);
	assert_int_equal(fired[id], 1);
	ak_clock_proto_fini(&p);
}

static void
test_limit_and_hostile(void **state)
{
	static struct fake f;
	struct ak_clock_proto p;
	uint64_t arms[64] = { 0 }, id;
	int n_arms = 0;

	(void)state;
	memset(fired, 0, sizeof(fired));
	assert_int_equal(ak_clock_proto_init(&p, loop), 0);
	connect_fake(&p, &f);
	assert_int_equal(ak_clock_proto_arm(&p, 1, on_fire, NULL, &id), 0);
	ak_clock_proto_poll(&p);
	serve(&f, arms, &n_arms, CLOCK_ST_ERR_LIMIT);
	assert_int_equal(ak_clock_proto_poll(&p), 0);
	assert_int_equal(fired[id], 100);	/* told, with an error */

	/* an event with a bad status breaks the connection */
	assert_int_equal(ak_clock_proto_arm(&p, 1, on_fire, NULL, &id), 0);
	ak_clock_proto_poll(&p);
	serve(&f, arms, &n_arms, 0);
	fire_id(&f, id, 77);
	assert_int_equal(ak_clock_proto_poll(&p), -EPROTO);
	assert_true(p.broken);
	assert_int_equal(fired[id], 0);
	assert_int_equal(p.n_timers, 1);	/* kept for the next connection */

	/* impossible indices too */
	connect_fake(&p, &f);
	ak_clock_proto_poll(&p);
	atomic_store(&((struct ring_sring *)(void *)f.fpage)->rsp_prod, 100000u);
	assert_int_equal(ak_clock_proto_poll(&p), -EPROTO);
	/* an answer to a command never sent */
	connect_fake(&p, &f);
	ak_clock_proto_poll(&p);
	{
		struct clock_timer_req q;
		struct clock_timer_rsp r = { .id = 999, .status = CLOCK_ST_ARMED };

		assert_int_equal(clock_timer_back_get(&f.cmd, &q), 1);
		clock_timer_back_put(&f.cmd, &r);
		ring_back_push(&f.cmd);
	}
	assert_int_equal(ak_clock_proto_poll(&p), -EPROTO);
	ak_clock_proto_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arm_fire_cancel_reconnect),
		cmocka_unit_test(test_early_fire_waits_for_deadline),
		cmocka_unit_test(test_limit_and_hostile),
	};
	int rc;

	assert_int_equal(ak_loop_open(&loop), 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ak_loop_close(loop);
	return rc;
}
