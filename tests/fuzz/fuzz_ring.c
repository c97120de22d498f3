/*
 * libFuzzer target for morgana/ring.h.
 *
 * Input: [slot size][page size][mode][start index x4] then page bytes,
 * then a script of operations.  The page bytes (header indices and slots)
 * are whatever the fuzzer chose; a front end and a back end are attached
 * to it and the script drives both, interleaved with "peer" writes that
 * scribble indices or slots.  The page is a heap block of exactly the ring
 * size, so ASan catches any access outside it.  Checked after every step:
 *   - a front end never has more than nr_ents requests outstanding and
 *     never consumes more responses than it published;
 *   - a back end never holds more than nr_ents consumed-but-unanswered
 *     requests and never answers one it did not consume;
 *   - broken is sticky and every call on a broken ring fails (-EPROTO);
 *   - a get copies at most the slot size (canary bytes past it survive);
 *   - return values match the documented ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/ring.h"

#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c))                                                    \
			__builtin_trap();                                    \
	} while (0)

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint8_t
u8(struct cursor *c)
{
	if (c->n == 0)
		return 0;
	c->n--;
	return *c->p++;
}

static uint32_t
u32(struct cursor *c)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | u8(c);
	return v;
}

#define CANARY 0x5a
#define BUFSZ 512

static void
check_canary(const uint8_t *buf, size_t from)
{
	for (size_t i = from; i < BUFSZ; i++)
		CHECK(buf[i] == CANARY);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct ring_front f;
	struct ring_back b;
	struct ring_sring *s;
	uint8_t buf[BUFSZ];
	size_t slot_sz, page_sz;
	uint32_t nr, start, front_got = 0, back_ok = 0;
	uint8_t mode;
	bool back_on, f_broken = false, b_broken = false;
	unsigned char *page;

	if (size < 8)
		return 0;
	slot_sz = 1 + u8(&c) % 200;
	page_sz = RING_HDR_SIZE + (size_t)u8(&c) * 8 + u8(&c) % 8;
	mode = u8(&c);
	start = u32(&c);
	nr = ring_nr_ents(page_sz, slot_sz);
	page = malloc(page_sz);
	if (page == NULL)
		return 0;
	if (nr == 0) {
		CHECK(ring_front_init(&f, page, page_sz, slot_sz) == -EINVAL);
		CHECK(ring_back_attach(&b, page, page_sz, slot_sz) == -EINVAL);
		free(page);
		return 0;
	}
	/* Power of two, and the slots fit in the page. */
	CHECK((nr & (nr - 1)) == 0);
	CHECK(RING_HDR_SIZE + (size_t)nr * slot_sz <= page_sz);
	CHECK(RING_HDR_SIZE + (size_t)nr * 2 * slot_sz > page_sz);

	CHECK(ring_front_init(&f, page, page_sz, slot_sz) == 0);
	/* The page: fuzzer bytes, header included. */
	for (size_t i = 0; i < page_sz; i++)
		page[i] = u8(&c);
	s = (struct ring_sring *)page;
	if (mode & 1) {
		/* A sane start at an arbitrary index (both ends agree). */
		atomic_store(&s->req_prod, start);
		atomic_store(&s->rsp_prod, start);
		atomic_store(&s->req_event, start + 1);
		atomic_store(&s->rsp_event, start + 1);
	}
	/* The front end as if it had run up to `start` (nothing pending). */
	f.req_prod_pvt = f.req_prod_pub = f.rsp_cons = f.rsp_prod_seen = start;

	{
		uint32_t rq = atomic_load(&s->req_prod);
		uint32_t rs = atomic_load(&s->rsp_prod);
		int rc = ring_back_attach(&b, page, page_sz, slot_sz);

		CHECK(rc == ((uint32_t)(rq - rs) > nr ? -EPROTO : 0));
		back_on = rc == 0;
	}

	while (c.n > 0) {
		uint8_t op = u8(&c), arg = u8(&c);
		size_t len = arg % (slot_sz + 16);
		int rc;

		switch (op % 12) {
		case 0: { /* front: queue a request of len bytes */
			uint32_t freeb = ring_front_free(&f);

			memset(buf, arg, sizeof(buf));
			rc = ring_front_put(&f, buf, len);
			if (len > slot_sz)
				CHECK(rc == -EINVAL);
			else if (f_broken)
				CHECK(rc == -EPROTO);
			else if (freeb == 0)
				CHECK(rc == -EAGAIN);
			else
				CHECK(rc == 0);
			break;
		}
		case 1: /* front: queue in place */ {
			unsigned char *slot = ring_front_next(&f);

			if (f_broken || ring_front_free(&f) == 0) {
				CHECK(slot == NULL);
			} else {
				CHECK(slot >= s->slots);
				CHECK(slot + slot_sz <=
				      s->slots + (size_t)nr * slot_sz);
				memset(slot, arg, slot_sz);
				ring_front_commit(&f);
			}
			break;
		}
		case 2:
			ring_front_push(&f);
			CHECK(f.req_prod_pub == f.req_prod_pvt);
			break;
		case 3: /* front: take a response */
			memset(buf, CANARY, sizeof(buf));
			rc = ring_front_get(&f, buf, len);
			CHECK(rc == 1 || rc == 0 || rc == -EPROTO);
			if (f_broken)
				CHECK(rc == -EPROTO);
			if (rc == -EPROTO)
				f_broken = true;
			if (rc == 1)
				front_got++;
			check_canary(buf, rc == 1 ? (len < slot_sz ? len
								   : slot_sz)
						  : 0);
			break;
		case 4:
			ring_front_final_check(&f);
			CHECK(atomic_load(&s->rsp_event) == f.rsp_cons + 1 ||
			      ring_front_has_unconsumed(&f));
			break;
		case 5: /* back: take a request */
			if (!back_on)
				break;
			memset(buf, CANARY, sizeof(buf));
			rc = ring_back_get(&b, buf, len);
			CHECK(rc == 1 || rc == 0 || rc == -EPROTO);
			if (b_broken)
				CHECK(rc == -EPROTO);
			if (rc == -EPROTO)
				b_broken = true;
			check_canary(buf, rc == 1 ? (len < slot_sz ? len
								   : slot_sz)
						  : 0);
			break;
		case 6: { /* back: answer */
			uint32_t pending;

			if (!back_on)
				break;
			pending = b.req_cons - b.rsp_prod_pvt;
			memset(buf, arg, sizeof(buf));
			rc = ring_back_put(&b, buf, len);
			if (b_broken)
				CHECK(rc == -EPROTO);
			else if (len > slot_sz || pending == 0)
				CHECK(rc == -EINVAL);
			else
				CHECK(rc == 0);
			if (rc == 0)
				back_ok++;
			break;
		}
		case 7:
			if (back_on) {
				ring_back_push(&b);
				CHECK(b.rsp_prod_pub == b.rsp_prod_pvt);
			}
			break;
		case 8:
			if (back_on)
				ring_back_final_check(&b);
			break;
		case 9: { /* peer: write an index, absolute or nearby */
			_Atomic uint32_t *idx[4] = { &s->req_prod, &s->req_event,
						     &s->rsp_prod, &s->rsp_event };
			uint32_t v = arg & 4 ? u32(&c)
					     : atomic_load(idx[arg & 3]) +
						   (uint32_t)(int8_t)u8(&c);

			atomic_store(idx[arg & 3], v);
			break;
		}
		case 10: { /* peer: write slot bytes */
			size_t span = (size_t)nr * slot_sz;
			size_t off = (((size_t)arg << 8) | u8(&c)) % span;

			s->slots[off] = u8(&c);
			break;
		}
		case 11: /* the non-consuming probes never fault either */
			(void)ring_front_has_unconsumed(&f);
			if (back_on)
				(void)ring_back_has_unconsumed(&b);
			(void)ring_front_outstanding(&f);
			break;
		}

		/* Invariants, whatever the peer wrote. */
		CHECK(f.broken == f_broken);
		CHECK(ring_front_outstanding(&f) <= nr);
		CHECK((uint32_t)(f.req_prod_pub - f.rsp_cons) <= nr);
		CHECK((uint32_t)(f.rsp_cons - start) == front_got);
		CHECK(front_got <= (uint32_t)(f.req_prod_pub - start));
		CHECK((uint32_t)(f.rsp_prod_seen - f.rsp_cons) <=
		      (uint32_t)(f.req_prod_pub - f.rsp_cons));
		if (f_broken)
			CHECK(ring_front_next(&f) == NULL);
		if (back_on) {
			CHECK(b.broken == b_broken);
			/* Consumed but unanswered: at most the ring. */
			CHECK((uint32_t)(b.req_cons - b.rsp_prod_pvt) <= nr);
			/* Never answered more than was consumed. */
			CHECK((uint32_t)(b.req_cons - b.rsp_prod_pvt) <=
			      (uint32_t)(b.req_prod_seen - b.rsp_prod_pvt));
			/*
			 * Not checked: rsp_prod_pvt - rsp_prod_pub <= nr.  As
			 * with Xen's RING_REQUEST_PROD_OVERFLOW (relative to
			 * rsp_prod_pvt), a hostile front end can feed a back
			 * end that does not push more than nr_ents requests;
			 * that only corrupts the front end's own responses.
			 */
		}
	}
	free(page);
	return 0;
}
