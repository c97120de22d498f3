/* kv_handle: one kvif request against one store, transport-independent.
 * The request is the caller's private copy; grants are reached only through
 * the copy callbacks, which check them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "services/kvd/kvd.h"

#define KV_DATA_MAX (KV_MAX_SEGS * KV_PAGE_SIZE)
/* What the helpers return when a copy callback failed (whatever its errno):
 * no store returns -EFAULT, so a grant fault is never confused with one. */
#define GRANT_FAULT (-EFAULT)

static bool
seg_ok(const struct kv_seg *s)
{
	return s->length > 0 && (uint32_t)s->offset + s->length <= KV_PAGE_SIZE;
}

static bool
seg_zero(const struct kv_seg *s)
{
	return s->gref == 0 && s->offset == 0 && s->length == 0;
}

/* Copy a key segment out and check it: NUL-terminated, NUL-free, canonical.
 * Returns 0, -EINVAL, or the callback's error. */
static int
fetch_key(struct kv_server_ctx *ctx, const struct kv_seg *s,
	  char buf[KV_KEY_MAX])
{
	int r;

	if (!seg_ok(s) || s->length > KV_KEY_MAX)
		return -EINVAL;
	if ((r = ctx->copy_from(ctx->arg, s->gref, s->offset, buf,
				s->length)) < 0)
		return GRANT_FAULT;
	/* The copy is ours now: a peer rewriting its page cannot race this. */
	if (buf[s->length - 1] != '\0' ||
	    memchr(buf, '\0', s->length - 1u) != NULL)
		return -EINVAL;
	return kv_key_valid(buf) ? 0 : -EINVAL;
}

static uint32_t
seg_total(const struct kv_request *q)
{
	uint32_t t = 0;

	for (unsigned i = 0; i < q->nr_segs; i++)
		t += q->seg[i].length;
	return t;
}

/* Scatter len bytes of src over the data segments starting at byte pos of
 * their concatenation. */
static int
scatter(struct kv_server_ctx *ctx, const struct kv_request *q, uint32_t pos,
	const unsigned char *src, uint32_t len)
{
	for (unsigned i = 0; i < q->nr_segs && len > 0; i++) {
		const struct kv_seg *s = &q->seg[i];
		uint32_t n;
		int r;

		if (pos >= s->length) {
			pos -= s->length;
			continue;
		}
		n = s->length - pos;
		if (n > len)
			n = len;
		if ((r = ctx->copy_to(ctx->arg, s->gref, s->offset + pos, src,
				      n)) < 0)
			return GRANT_FAULT;
		src += n;
		len -= n;
		pos = 0;
	}
	return len == 0 ? 0 : -EINVAL;
}

static int
gather(struct kv_server_ctx *ctx, const struct kv_request *q,
       unsigned char *dst)
{
	for (unsigned i = 0; i < q->nr_segs; i++) {
		const struct kv_seg *s = &q->seg[i];
		int r;

		if ((r = ctx->copy_from(ctx->arg, s->gref, s->offset, dst,
					s->length)) < 0)
			return GRANT_FAULT;
		dst += s->length;
	}
	return 0;
}

/* Which request fields each op uses. */
#define U_SEGS	 1u
#define U_KEY2	 2u
#define U_OFFSET 4u
#define U_LENGTH 8u
static const uint8_t op_uses[KV_OP_MAX + 1] = {
	[KV_OP_EXISTS] = 0,
	[KV_OP_GET] = U_SEGS,
	[KV_OP_GET_PARTIAL] = U_SEGS | U_OFFSET | U_LENGTH,
	[KV_OP_SIZE] = 0,
	[KV_OP_LIST] = U_SEGS | U_OFFSET,
	[KV_OP_LAST_MODIFIED] = 0,
	[KV_OP_DIGEST] = U_SEGS,
	[KV_OP_SET] = U_SEGS | U_LENGTH,
	[KV_OP_REMOVE] = 0,
	[KV_OP_RENAME] = U_KEY2,
};

/* Structural checks that need no copying. */
static bool
request_ok(const struct kv_request *q)
{
	uint8_t u;

	if (q->op < KV_OP_EXISTS || q->op > KV_OP_MAX || q->flags != 0 ||
	    q->pad != 0 || q->nr_segs > KV_MAX_SEGS)
		return false;
	u = op_uses[q->op];
	if (!(u & U_KEY2) && !seg_zero(&q->key2))
		return false;
	if (!(u & U_OFFSET) && q->offset != 0)
		return false;
	if (!(u & U_LENGTH) && q->length != 0)
		return false;
	if (!(u & U_SEGS) && q->nr_segs != 0)
		return false;
	for (unsigned i = 0; i < KV_MAX_SEGS; i++) {
		if (i < q->nr_segs ? !seg_ok(&q->seg[i]) : !seg_zero(&q->seg[i]))
			return false;
	}
	switch (q->op) {
	case KV_OP_GET_PARTIAL:
		return q->length <= seg_total(q);
	case KV_OP_DIGEST:
		return seg_total(q) >= KV_DIGEST_SIZE;
	case KV_OP_SET:
		return q->length == seg_total(q);
	case KV_OP_GET:
	case KV_OP_LIST:
		return q->nr_segs > 0;
	}
	return true;
}

static int
do_list(struct kv_server_ctx *ctx, const struct kv_request *q, const char *key,
	struct kv_response *rsp)
{
	uint32_t cap = seg_total(q), pos = 0, cnt = 0;
	struct kv_entry *ents;
	unsigned char *buf;
	size_t n, i;
	int r;

	if ((r = kv_store_list(ctx->store, key, &ents, &n)) < 0)
		return r;
	if (q->offset > n) {
		kv_entries_free(ents, n);
		return -EINVAL;
	}
	if ((buf = malloc(cap)) == NULL) {
		kv_entries_free(ents, n);
		return -ENOMEM;
	}
	for (i = (size_t)q->offset; i < n; i++) {
		size_t l = strlen(ents[i].name) + 2;

		if (l > cap - pos)
			break;
		buf[pos] = (unsigned char)ents[i].kind;
		memcpy(buf + pos + 1, ents[i].name, l - 1);
		pos += (uint32_t)l;
		cnt++;
	}
	if (cnt == 0 && i < n)
		r = -EFBIG;	/* one name larger than all the segments */
	else
		r = scatter(ctx, q, 0, buf, pos);
	free(buf);
	if (r == 0) {
		rsp->count = cnt;
		rsp->val = pos;
		rsp->aux = i < n ? i : 0;
	}
	kv_entries_free(ents, n);
	return r;
}

/* Run a validated request; returns 0 or -errno (store or callback). */
static int
dispatch(struct kv_server_ctx *ctx, const struct kv_request *q,
	 const char *key, const char *key2, struct kv_response *rsp)
{
	static _Thread_local unsigned char data[KV_DATA_MAX];
	uint8_t dig[KV_DIGEST_SIZE];
	uint64_t size;
	uint32_t n;
	int64_t ns;
	int r, kind;

	switch (q->op) {
	case KV_OP_EXISTS:
		if ((r = kv_store_exists(ctx->store, key, &kind)) == 0)
			rsp->count = (uint32_t)kind;
		return r;
	case KV_OP_GET:
	case KV_OP_GET_PARTIAL: {
		uint64_t off = q->op == KV_OP_GET ? 0 : q->offset;
		uint32_t want = q->op == KV_OP_GET ? seg_total(q)
						   : (uint32_t)q->length;

		/* One segment: read straight into the frontend's page (a
		 * 4 KiB copy less per get).  What a failed get leaves in its
		 * pages is unspecified, so reading before the size check
		 * below is fine. */
		if (q->nr_segs == 1 && ctx->map_to != NULL) {
			void *dst;

			if (ctx->map_to(ctx->arg, q->seg[0].gref,
					q->seg[0].offset, want, &dst) < 0)
				return GRANT_FAULT;
			r = kv_store_read(ctx->store, key, off, dst, want,
					  &size);
			ctx->unmap(ctx->arg, q->seg[0].gref);
			if (r < 0)
				return r;
			if (q->op == KV_OP_GET && size > want) {
				rsp->aux = size;
				return -EFBIG;
			}
			rsp->val = (uint32_t)r;
			rsp->aux = size;
			return 0;
		}
		/* One read gives both the bytes and the value's size, so a
		 * store opens the key once per request (the dir store paid
		 * two confined opens per get before). */
		if ((r = kv_store_read(ctx->store, key, off, data, want,
				       &size)) < 0)
			return r;
		if (q->op == KV_OP_GET && size > want) {
			rsp->aux = size;
			return -EFBIG;
		}
		n = (uint32_t)r;
		if ((r = scatter(ctx, q, 0, data, n)) < 0)
			return r;
		rsp->val = n;
		rsp->aux = size;
		return 0;
	}
	case KV_OP_SIZE:
		if ((r = kv_store_size(ctx->store, key, &size)) == 0)
			rsp->val = size;
		return r;
	case KV_OP_LIST:
		return do_list(ctx, q, key, rsp);
	case KV_OP_LAST_MODIFIED:
		if ((r = kv_store_last_modified(ctx->store, key, &ns)) == 0)
			rsp->val = (uint64_t)ns;
		return r;
	case KV_OP_DIGEST:
		if ((r = kv_store_digest(ctx->store, key, dig)) < 0)
			return r;
		if ((r = scatter(ctx, q, 0, dig, sizeof(dig))) == 0)
			rsp->val = sizeof(dig);
		return r;
	case KV_OP_SET:
		if (!kv_store_rw(ctx->store))
			return -EROFS;	/* before touching the grants */
		if ((r = gather(ctx, q, data)) < 0)
			return r;
		return kv_store_set(ctx->store, key, data, (size_t)q->length);
	case KV_OP_REMOVE:
		return kv_store_remove(ctx->store, key);
	case KV_OP_RENAME:
		return kv_store_rename(ctx->store, key, key2);
	}
	return -EINVAL;
}

int
kv_handle(struct kv_server_ctx *ctx, const struct kv_request *req_copy,
	  struct kv_response *rsp)
{
	char key[KV_KEY_MAX], key2[KV_KEY_MAX];
	const struct kv_request *q = req_copy;
	int r;

	memset(rsp, 0, sizeof(*rsp));
	rsp->id = q->id;
	if (!request_ok(q))
		goto bad;
	if ((r = fetch_key(ctx, &q->key, key)) < 0)
		goto copy_err;
	key2[0] = '\0';
	if (q->op == KV_OP_RENAME && (r = fetch_key(ctx, &q->key2, key2)) < 0)
		goto copy_err;
	r = dispatch(ctx, q, key, key2, rsp);
	/* A grant that fails mid-request is the peer's fault, not the store's. */
	if (r == GRANT_FAULT) {
		rsp->status = KV_EPERM;
		rsp->count = 0;
		rsp->val = rsp->aux = 0;
		return -EPROTO;
	}
	rsp->status = kv_status_from_errno(r);
	if (r < 0 && rsp->status == KV_EIO)
		ring_log(RING_LOG_WARN, "msg=\"store failed\" op=%s err=%d",
			 kv_op_name(q->op), -r);
	return 0;
copy_err:
	if (r == GRANT_FAULT) {
		rsp->status = KV_EPERM;
		return -EPROTO;
	}
bad:
	rsp->status = KV_EINVAL;
	return -EPROTO;
}
