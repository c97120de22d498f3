/*
 * tests/unit/test_kv_fake.h - an in-memory grant table for driving
 * kv_handle in tests: pages, each granted read-only or writable or not at
 * all, and the copy callbacks a transport would supply.
 */
#ifndef TEST_KV_FAKE_H
#define TEST_KV_FAKE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "services/kvd/kvd.h"

#define FAKE_PAGES 32u

struct fake_pages {
	unsigned char page[FAKE_PAGES][KV_PAGE_SIZE];
	bool granted[FAKE_PAGES];
	bool ro[FAKE_PAGES];
	unsigned copies;	/* successful copies, for "never touched" checks */
	int mapped;		/* maps not yet unmapped: must end at 0 */
};

static inline int
fake_copy_from(void *arg, uint32_t ref, uint32_t off, void *dst, uint32_t len)
{
	struct fake_pages *f = arg;

	if (ref >= FAKE_PAGES || !f->granted[ref])
		return -EPERM;
	if (off > KV_PAGE_SIZE || len > KV_PAGE_SIZE - off)
		return -EINVAL;
	memcpy(dst, f->page[ref] + off, len);
	f->copies++;
	return 0;
}

static inline int
fake_copy_to(void *arg, uint32_t ref, uint32_t off, const void *src,
	     uint32_t len)
{
	struct fake_pages *f = arg;

	if (ref >= FAKE_PAGES || !f->granted[ref] || f->ro[ref])
		return -EPERM;
	if (off > KV_PAGE_SIZE || len > KV_PAGE_SIZE - off)
		return -EINVAL;
	memcpy(f->page[ref] + off, src, len);
	f->copies++;
	return 0;
}

/* Zero-copy: the same checks as copy_to; counts as a copy. */
static inline int
fake_map_to(void *arg, uint32_t ref, uint32_t off, uint32_t len, void **addr)
{
	struct fake_pages *f = arg;

	if (ref >= FAKE_PAGES || !f->granted[ref] || f->ro[ref])
		return -EPERM;
	if (off > KV_PAGE_SIZE || len > KV_PAGE_SIZE - off)
		return -EINVAL;
	*addr = f->page[ref] + off;
	f->copies++;
	f->mapped++;
	return 0;
}

static inline void
fake_unmap(void *arg, uint32_t ref)
{
	struct fake_pages *f = arg;

	(void)ref;
	f->mapped--;
}

static inline void
fake_grant(struct fake_pages *f, uint32_t ref, bool ro)
{
	f->granted[ref] = true;
	f->ro[ref] = ro;
}

/* Page layout the helpers use: 1 key, 2 key2 (read-only), 4.. data. */
#define FAKE_KEY   1u
#define FAKE_KEY2  2u
#define FAKE_DATA  4u

static inline void
fake_init(struct fake_pages *f, struct kv_server_ctx *ctx,
	  struct kv_store *s)
{
	memset(f, 0, sizeof(*f));
	fake_grant(f, FAKE_KEY, true);
	fake_grant(f, FAKE_KEY2, true);
	for (uint32_t i = FAKE_DATA; i < FAKE_PAGES; i++)
		fake_grant(f, i, false);
	*ctx = (struct kv_server_ctx){ .store = s, .copy_from = fake_copy_from,
				       .copy_to = fake_copy_to, .arg = f };
}

/* As fake_init, with zero-copy gets (map_to) as kvd serves them. */
static inline void
fake_init_zc(struct fake_pages *f, struct kv_server_ctx *ctx,
	     struct kv_store *s)
{
	fake_init(f, ctx, s);
	ctx->map_to = fake_map_to;
	ctx->unmap = fake_unmap;
}

/* A request for op on key with nseg whole data pages (seg_len bytes each,
 * 0 meaning a page). */
static inline struct kv_request
fake_req(struct fake_pages *f, uint8_t op, const char *key, unsigned nseg,
	 uint16_t seg_len)
{
	struct kv_request q;
	size_t n = strlen(key) + 1;

	memset(&q, 0, sizeof(q));
	q.id = 0x1234abcd00ull + op;
	q.op = op;
	memcpy(f->page[FAKE_KEY], key, n);
	q.key = (struct kv_seg){ FAKE_KEY, 0, (uint16_t)n };
	q.nr_segs = (uint8_t)nseg;
	for (unsigned i = 0; i < nseg; i++)
		q.seg[i] = (struct kv_seg){ FAKE_DATA + i, 0,
			seg_len ? seg_len : (uint16_t)KV_PAGE_SIZE };
	return q;
}

/* Gather what the backend wrote into the request's segments. */
static inline void
fake_gather(struct fake_pages *f, const struct kv_request *q,
	    unsigned char *out, size_t len)
{
	for (unsigned i = 0; i < q->nr_segs && len > 0; i++) {
		size_t n = q->seg[i].length < len ? q->seg[i].length : len;

		memcpy(out, f->page[q->seg[i].gref] + q->seg[i].offset, n);
		out += n;
		len -= n;
	}
}

#endif
