/*
 * kv_handle request validation: every malformed request gets a protocol
 * error with its id echoed, the store is never reached, and nothing is
 * written to the frontend's pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "services/kvd/kvd.h"
#include "test_kv_fake.h"

static struct fake_pages fp;
static struct kv_server_ctx ctx;
static char dbpath[64];

static int
setup(void **state)
{
	struct kv_store *s;
	int fd;
	(void)state;

	snprintf(dbpath, sizeof(dbpath), "/tmp/kvhandle.XXXXXX");
	if ((fd = mkstemp(dbpath)) < 0)
		return -1;
	close(fd);
	if (kv_sqlite_open(dbpath, &s) < 0 || kv_store_set(s, "k", "v", 1) < 0)
		return -1;
	fake_init(&fp, &ctx, s);
	return 0;
}

static int
teardown(void **state)
{
	char p[80];
	(void)state;

	kv_store_close(ctx.store);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

/* Each case mutates a valid request for op. */
struct vcase {
	const char *what;
	uint8_t op;
	void (*mut)(struct kv_request *q);
	int32_t status;
};

static void m_none(struct kv_request *q) { (void)q; }
static void m_op0(struct kv_request *q) { q->op = 0; }
static void m_op_big(struct kv_request *q) { q->op = KV_OP_MAX + 1; }
static void m_op_ff(struct kv_request *q) { q->op = 0xff; }
static void m_flags(struct kv_request *q) { q->flags = 1; }
static void m_pad(struct kv_request *q) { q->pad = 7; }
static void m_keylen0(struct kv_request *q) { q->key.length = 0; }
static void m_key_past_page(struct kv_request *q)
{
	q->key.offset = KV_PAGE_SIZE - 1;
	q->key.length = 2;
}
static void m_key_too_long(struct kv_request *q)
{
	q->key.length = KV_KEY_MAX + 1;
}
static void m_key_unterminated(struct kv_request *q)
{
	(void)q;
	fp.page[FAKE_KEY][1] = 'x';	/* "k" then 'x' where the NUL was */
}
static void m_key_inner_nul(struct kv_request *q)
{
	memcpy(fp.page[FAKE_KEY], "k\0b", 4);
	q->key.length = 4;
}
static void m_key_dotdot(struct kv_request *q)
{
	memcpy(fp.page[FAKE_KEY], "../k", 5);
	q->key.length = 5;
}
static void m_key_abs(struct kv_request *q)
{
	memcpy(fp.page[FAKE_KEY], "/k", 3);
	q->key.length = 3;
}
static void m_key_ref(struct kv_request *q) { q->key.gref = 999; }
static void m_key_ref_ungranted(struct kv_request *q) { q->key.gref = 3; }
static void m_nseg_big(struct kv_request *q) { q->nr_segs = KV_MAX_SEGS + 1; }
static void m_seg_len_page(struct kv_request *q)
{
	q->seg[0].offset = 1;	/* 1 + 4096 > page */
}
static void m_seg_len0(struct kv_request *q) { q->seg[0].length = 0; }
static void m_seg_unused_set(struct kv_request *q) { q->seg[5].gref = 9; }
static void m_seg_ref(struct kv_request *q) { q->seg[0].gref = 12345; }
static void m_seg_ro(struct kv_request *q) { q->seg[0].gref = FAKE_KEY2; }
static void m_partial_len(struct kv_request *q)
{
	q->length = KV_PAGE_SIZE + 1;	/* more than the one segment */
}
static void m_offset_unused(struct kv_request *q) { q->offset = 1; }
static void m_length_unused(struct kv_request *q) { q->length = 1; }
static void m_key2_unused(struct kv_request *q) { q->key2.gref = FAKE_KEY2; }
static void m_segs_unused(struct kv_request *q) { q->nr_segs = 1; }
static void m_digest_small(struct kv_request *q) { q->seg[0].length = 31; }
static void m_set_len(struct kv_request *q) { q->length = 3; }
static void m_get_noseg(struct kv_request *q)
{
	q->nr_segs = 0;
	q->seg[0] = (struct kv_seg){ 0 };
}

static const struct vcase cases[] = {
	{ "valid get", KV_OP_GET, m_none, KV_OK },
	{ "op 0", KV_OP_GET, m_op0, KV_EINVAL },
	{ "op past max", KV_OP_GET, m_op_big, KV_EINVAL },
	{ "op 0xff", KV_OP_GET, m_op_ff, KV_EINVAL },
	{ "flags", KV_OP_GET, m_flags, KV_EINVAL },
	{ "pad", KV_OP_GET, m_pad, KV_EINVAL },
	{ "key length 0", KV_OP_GET, m_keylen0, KV_EINVAL },
	{ "key past page", KV_OP_GET, m_key_past_page, KV_EINVAL },
	{ "key too long", KV_OP_GET, m_key_too_long, KV_EINVAL },
	{ "key unterminated", KV_OP_GET, m_key_unterminated, KV_EINVAL },
	{ "key inner NUL", KV_OP_GET, m_key_inner_nul, KV_EINVAL },
	{ "key ..", KV_OP_GET, m_key_dotdot, KV_EINVAL },
	{ "key absolute", KV_OP_GET, m_key_abs, KV_EINVAL },
	{ "key unknown ref", KV_OP_GET, m_key_ref, KV_EPERM },
	{ "key ungranted ref", KV_OP_GET, m_key_ref_ungranted, KV_EPERM },
	{ "too many segs", KV_OP_GET, m_nseg_big, KV_EINVAL },
	{ "seg past page", KV_OP_GET, m_seg_len_page, KV_EINVAL },
	{ "seg length 0", KV_OP_GET, m_seg_len0, KV_EINVAL },
	{ "unused seg set", KV_OP_GET, m_seg_unused_set, KV_EINVAL },
	{ "seg unknown ref", KV_OP_GET, m_seg_ref, KV_EPERM },
	{ "seg read-only for get", KV_OP_GET, m_seg_ro, KV_EPERM },
	{ "get without segs", KV_OP_GET, m_get_noseg, KV_EINVAL },
	{ "partial length > segs", KV_OP_GET_PARTIAL, m_partial_len, KV_EINVAL },
	{ "offset on get", KV_OP_GET, m_offset_unused, KV_EINVAL },
	{ "length on size", KV_OP_SIZE, m_length_unused, KV_EINVAL },
	{ "key2 on remove", KV_OP_REMOVE, m_key2_unused, KV_EINVAL },
	{ "segs on exists", KV_OP_EXISTS, m_segs_unused, KV_EINVAL },
	{ "digest seg < 32", KV_OP_DIGEST, m_digest_small, KV_EINVAL },
	{ "set length != segs", KV_OP_SET, m_set_len, KV_EINVAL },
	{ "set from unknown ref", KV_OP_SET, m_seg_ref, KV_EPERM },
};

static void
test_validation_table(void **state)
{
	(void)state;
	/* Each case through the bounce buffer, then as kvd serves a
	 * one-segment get: mapped, read straight into the page. */
	for (size_t zi = 0; zi < 2 * sizeof(cases) / sizeof(cases[0]); zi++) {
		size_t i = zi % (sizeof(cases) / sizeof(cases[0]));
		const struct vcase *c = &cases[i];
		bool segs = c->op == KV_OP_GET || c->op == KV_OP_GET_PARTIAL ||
			    c->op == KV_OP_DIGEST || c->op == KV_OP_SET;
		struct kv_request q = fake_req(&fp, c->op, "k", segs ? 1 : 0,
					       0);
		struct kv_response r;
		int ret;

		if (c->op == KV_OP_SET) {
			q.seg[0].length = 2;
			q.seg[0].gref = 20;
			fake_grant(&fp, 20, true);
			q.length = 2;
		}
		c->mut(&q);
		ctx.map_to = zi == i ? NULL : fake_map_to;
		ctx.unmap = zi == i ? NULL : fake_unmap;
		memset(&r, 0xa5, sizeof(r));
		fp.page[FAKE_DATA][0] = 0x5a;
		ret = kv_handle(&ctx, &q, &r);
		if (r.status != c->status)
			print_message("case \"%s\": status %s\n", c->what,
				      kv_status_name(r.status));
		assert_int_equal(r.status, c->status);
		assert_int_equal(r.id, q.id);
		assert_int_equal(ret, c->status == KV_OK ? 0 : -EPROTO);
		assert_int_equal(fp.mapped, 0);
		if (c->status != KV_OK) {
			assert_int_equal(r.count, 0);
			assert_int_equal(r.val, 0);
			assert_int_equal(fp.page[FAKE_DATA][0], 0x5a);
		}
	}
	/* Nothing of the malformed requests reached the store. */
	assert_int_equal(kv_store_exists(ctx.store, "k", &(int){ 0 }), 0);
	{
		void *v;
		size_t n;

		assert_int_equal(kv_store_get(ctx.store, "k", 16, &v, &n), 0);
		assert_int_equal(n, 1);
		free(v);
	}
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(kv_status_name(KV_ENOTFOUND), "ENOTFOUND");
	assert_string_equal(kv_status_name(KV_EDICT), "EDICT");
	assert_string_equal(kv_status_name(KV_EVALUE), "EVALUE");
	assert_string_equal(kv_status_name(KV_ERDONLY), "ERDONLY");
	assert_string_equal(kv_status_name(KV_ETOOLARGE), "ETOOLARGE");
	assert_string_equal(kv_status_name(12345), "EUNKNOWN");
	assert_string_equal(kv_strerror(KV_ENOTFOUND), "key not found");
	/* Distinct: every status has its own name. */
	for (int32_t a = KV_EIO; a <= 0; a++)
		for (int32_t b = KV_EIO; b < a; b++)
			assert_string_not_equal(kv_status_name(a),
						kv_status_name(b));
	assert_int_equal(kv_status_from_errno(-ENOENT), KV_ENOTFOUND);
	assert_int_equal(kv_status_from_errno(-ENOTDIR), KV_EDICT);
	assert_int_equal(kv_status_from_errno(-EISDIR), KV_EVALUE);
	assert_int_equal(kv_status_from_errno(-EROFS), KV_ERDONLY);
	assert_int_equal(kv_status_from_errno(-EBADMSG), KV_EBADMSG);
	assert_int_equal(kv_status_from_errno(-EXDEV), KV_EDENIED);
	assert_int_equal(kv_status_from_errno(-EIO), KV_EIO);
}

static void
test_key_syntax(void **state)
{
	static const char *good[] = { "", "a", "a/b", "a.b/..c/...", "x y" };
	static const char *bad[] = { "/", "/a", "a/", "a//b", ".", "..",
				     "a/../b", "a/./b", "../a", "a/.." };
	char longk[KV_KEY_MAX + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(kv_key_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(kv_key_valid(bad[i]));
	memset(longk, 'a', KV_KEY_MAX - 1);
	longk[KV_KEY_MAX - 1] = '\0';
	assert_true(kv_key_valid(longk));
	longk[KV_KEY_MAX - 1] = 'a';
	longk[KV_KEY_MAX] = '\0';
	assert_false(kv_key_valid(longk));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_validation_table, setup,
						teardown),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_key_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
