/*
 * Unit tests for morgana/ring.h: layout, indices, notification hold-off,
 * validation of impossible indices, wrap-around.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "morgana/ring.h"

struct req { uint32_t id; uint32_t val; };
struct rsp { uint32_t id; uint32_t val; uint64_t pad; };
RING_DEFINE(t, struct req, struct rsp);

static _Alignas(4096) unsigned char page[RING_PAGE_SIZE];

static void
test_nr_ents(void **state)
{
	(void)state;
	assert_int_equal(ring_nr_ents(4096, 12), 256);	/* netif tx */
	assert_int_equal(ring_nr_ents(4096, 8), 256);	/* netif rx */
	assert_int_equal(ring_nr_ents(4096, 112), 32);	/* blkif */
	assert_int_equal(ring_nr_ents(8192, 112), 64);
	assert_int_equal(ring_nr_ents(64, 8), 0);
	assert_int_equal(t_nr_ents(4096), 128);
}

static void
test_roundtrip(void **state)
{
	struct ring_front f;
	struct ring_back b;
	struct req q;
	struct rsp r;
	(void)state;

	assert_int_equal(t_front_init(&f, page, sizeof(page)), 0);
	assert_int_equal(t_back_attach(&b, page, sizeof(page)), 0);
	for (uint32_t round = 0; round < 1000; round++) {
		uint32_t n = 1 + round % 128;

		for (uint32_t i = 0; i < n; i++) {
			q = (struct req){ .id = i, .val = round * 1000 + i };
			assert_int_equal(t_front_put(&f, &q), 0);
		}
		if (n == 128)
			assert_int_equal(t_front_put(&f, &q), -EAGAIN);
		ring_front_push(&f);
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(t_back_get(&b, &q), 1);
			assert_int_equal(q.id, i);
			r = (struct rsp){ .id = q.id, .val = q.val + 1 };
			assert_int_equal(t_back_put(&b, &r), 0);
		}
		assert_int_equal(t_back_get(&b, &q), 0);
		assert_int_equal(t_back_put(&b, &r), -EINVAL);
		ring_back_push(&b);
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(t_front_get(&f, &r), 1);
			assert_int_equal(r.val, round * 1000 + i + 1);
		}
		assert_int_equal(t_front_get(&f, &r), 0);
	}
}

static void
test_notify_holdoff(void **state)
{
	struct ring_front f;
	struct ring_back b;
	struct req q = { 0 };
	(void)state;

	t_front_init(&f, page, sizeof(page));
	t_back_attach(&b, page, sizeof(page));
	/* req_event starts at 1: the first request notifies. */
	t_front_put(&f, &q);
	assert_true(ring_front_push(&f));
	/* The back end has not re-armed: no more notifications. */
	t_front_put(&f, &q);
	assert_false(ring_front_push(&f));
	assert_int_equal(t_back_get(&b, &q), 1);
	assert_int_equal(t_back_get(&b, &q), 1);
	/* Nothing left: the final check arms req_event = req_cons + 1. */
	assert_false(ring_back_final_check(&b));
	t_front_put(&f, &q);
	assert_true(ring_front_push(&f));
	/* A push with nothing new never notifies. */
	assert_false(ring_front_push(&f));
}

static void
test_notify_exhaustive(void **state)
{
	(void)state;
	/* notify iff event in (old, new] modulo 2^32, including wrap. */
	uint32_t bases[] = { 0, 100, 0xfffffff0u, 0x7ffffff8u };
	for (size_t k = 0; k < 4; k++)
		for (uint32_t o = 0; o < 16; o++)
			for (uint32_t d = 0; d < 16; d++)
				for (uint32_t e = 0; e < 40; e++) {
					uint32_t old = bases[k] + o;
					uint32_t nw = old + d;
					uint32_t ev = bases[k] + e - 4;
					bool want = false;
					for (uint32_t x = old + 1; x != nw + 1 && d; x++)
						if (x == ev)
							want = true;
					assert_int_equal(ring__need_notify(old, nw, ev), want);
				}
}

static void
test_hostile_req_prod(void **state)
{
	struct ring_front f;
	struct ring_back b;
	struct ring_sring *s = (struct ring_sring *)page;
	struct req q;
	(void)state;

	t_front_init(&f, page, sizeof(page));
	t_back_attach(&b, page, sizeof(page));
	atomic_store(&s->req_prod, 129);	/* more than 128 slots */
	assert_int_equal(t_back_get(&b, &q), -EPROTO);
	assert_true(b.broken);
	assert_int_equal(t_back_get(&b, &q), -EPROTO);

	t_front_init(&f, page, sizeof(page));
	t_back_attach(&b, page, sizeof(page));
	atomic_store(&s->req_prod, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(t_back_get(&b, &q), 1);
	atomic_store(&s->req_prod, 3);		/* went backwards */
	assert_int_equal(t_back_get(&b, &q), -EPROTO);
}

static void
test_hostile_rsp_prod(void **state)
{
	struct ring_front f;
	struct ring_sring *s = (struct ring_sring *)page;
	struct req q = { 0 };
	struct rsp r;
	(void)state;

	t_front_init(&f, page, sizeof(page));
	t_front_put(&f, &q);
	ring_front_push(&f);
	atomic_store(&s->rsp_prod, 2);		/* answered more than asked */
	assert_int_equal(t_front_get(&f, &r), -EPROTO);
	assert_null(ring_front_next(&f));
	assert_int_equal(t_front_put(&f, &q), -EPROTO);
}

/*
 * A back end can only answer requests it was shown: responses for requests
 * queued but not yet pushed are impossible, and reading them would hand the
 * front end its own half-written slot as a "response".
 */
static void
test_hostile_rsp_prod_unpublished(void **state)
{
	struct ring_front f;
	struct ring_sring *s = (struct ring_sring *)page;
	struct req q = { 0 };
	struct rsp r;
	(void)state;

	t_front_init(&f, page, sizeof(page));
	t_front_put(&f, &q);
	ring_front_push(&f);
	t_front_put(&f, &q);			/* queued, not published */
	atomic_store(&s->rsp_prod, 2);
	assert_int_equal(t_front_get(&f, &r), -EPROTO);

	/* One published request answered once is fine. */
	t_front_init(&f, page, sizeof(page));
	t_front_put(&f, &q);
	ring_front_push(&f);
	t_front_put(&f, &q);
	atomic_store(&s->rsp_prod, 1);
	assert_int_equal(t_front_get(&f, &r), 1);
	assert_int_equal(t_front_get(&f, &r), 0);
}

static void
test_wrap(void **state)
{
	struct ring_front f;
	struct ring_back b;
	struct ring_sring *s = (struct ring_sring *)page;
	struct req q;
	struct rsp r;
	(void)state;

	/* Start both sides just below 2^32, as after a long uptime. */
	t_front_init(&f, page, sizeof(page));
	f.req_prod_pvt = f.req_prod_pub = f.rsp_cons = f.rsp_prod_seen = 0xffffff00u;
	atomic_store(&s->req_prod, 0xffffff00u);
	atomic_store(&s->rsp_prod, 0xffffff00u);
	assert_int_equal(t_back_attach(&b, page, sizeof(page)), 0);
	for (uint32_t i = 0; i < 1024; i++) {
		q = (struct req){ .id = i };
		assert_int_equal(t_front_put(&f, &q), 0);
		ring_front_push(&f);
		assert_int_equal(t_back_get(&b, &q), 1);
		r = (struct rsp){ .id = q.id };
		t_back_put(&b, &r);
		ring_back_push(&b);
		assert_int_equal(t_front_get(&f, &r), 1);
		assert_int_equal(r.id, i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nr_ents),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_notify_holdoff),
		cmocka_unit_test(test_notify_exhaustive),
		cmocka_unit_test(test_hostile_req_prod),
		cmocka_unit_test(test_hostile_rsp_prod),
		cmocka_unit_test(test_hostile_rsp_prod_unpublished),
		cmocka_unit_test(test_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
