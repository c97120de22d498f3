/*
 * One KV conformance suite, the same assertions run against every store:
 * dir, pack, tar (ustar and pax), sqlite and sealed-over-sqlite, all built
 * from one fixture tree.  Everything goes through kv_handle and a fake grant
 * table, as a frontend would see it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "services/kvd/kvd.h"
#include "test_kv_fake.h"

#define FIXTURE_SEC 1600000000ll
#define BIG_LEN 20000u
#define NLIST 30

static char tmp[64];
static char tree[128];
static unsigned char big[BIG_LEN];
static char long_key[200];

enum which { W_DIR, W_DIR_RW, W_PACK, W_USTAR, W_PAX, W_SQLITE, W_SEALED };

struct sut {
	enum which w;
	struct kv_store *s;
	int64_t t_lo, t_hi;	/* the window last_modified must fall in */
};

static void
put_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int
run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int
group_setup(void **state)
{
	char name[16], path[256];
	(void)state;

	if (sodium_init() < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/kvconf.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(tree, sizeof(tree), "%s/tree", tmp);
	mkdir(tree, 0755);
	for (unsigned i = 0; i < BIG_LEN; i++)
		big[i] = (unsigned char)(i * 7 % 251);
	put_file("a", "hello world", 11);
	put_file("empty", "", 0);
	put_file("big", big, BIG_LEN);
	mk("d");
	mk("d/sub");
	put_file("d/x", "x-value", 7);
	put_file("d/y", "y", 1);
	put_file("d/sub/z", "zzz", 3);
	mk("list");
	for (int i = 0; i < NLIST; i++) {
		snprintf(name, sizeof(name), "list/f%02d", i);
		put_file(name, name, strlen(name));
	}
	/* Longer than ustar's 100-byte name field, split at a '/'. */
	strcpy(long_key, "long");
	mk("long");
	for (int i = 0; i < 10; i++) {
		strcat(long_key, "/dddddddddd");
		snprintf(path, sizeof(path), "%s/%s", tree, long_key);
		mkdir(path, 0755);
	}
	strcat(long_key, "/file");
	put_file(long_key, "L", 1);
	/* Whole seconds, so every format keeps them exactly. */
	return run("find '%s' -exec touch -h -d @%lld {} +", tree,
		   (long long)FIXTURE_SEC);
}

static int
group_teardown(void **state)
{
	(void)state;
	return run("rm -rf '%s'", tmp);
}

/* Copy every value of src into dst (dst's times become "now"). */
static void
copy_tree(struct kv_store *src, struct kv_store *dst, const char *key)
{
	struct kv_entry *e;
	size_t n;

	assert_int_equal(kv_store_list(src, key, &e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		char k[KV_KEY_MAX];
		void *v;
		size_t len;

		snprintf(k, sizeof(k), "%s%s%s", key, *key ? "/" : "",
			 e[i].name);
		if (e[i].kind == KV_KIND_DICT) {
			copy_tree(src, dst, k);
			continue;
		}
		assert_int_equal(kv_store_get(src, k, 1 << 20, &v, &len), 0);
		assert_int_equal(kv_store_set(dst, k, v, len), 0);
		free(v);
	}
	kv_entries_free(e, n);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
sut_setup(void **state)
{
	struct sut *u = *state;
	char path[256], kf[256];
	struct kv_store *d, *inner;
	unsigned char key[32];
	int fd;

	u->t_lo = u->t_hi = FIXTURE_SEC * 1000000000;
	switch (u->w) {
	case W_DIR:
		assert_int_equal(kv_dir_open(tree, &u->s), 0);
		break;
	case W_DIR_RW:
		/* A copy, times kept: the writes must not touch the
		 * fixture the other stores are made from. */
		snprintf(path, sizeof(path), "%s/tree-rw", tmp);
		assert_int_equal(run("rm -rf '%s' && cp -a '%s' '%s'", path,
				     tree, path), 0);
		assert_int_equal(kv_dir_open_rw(path, &u->s), 0);
		break;
	case W_PACK:
		snprintf(path, sizeof(path), "%s/img.pack", tmp);
		assert_true(kv_pack_dir(tree, path) > 0);
		assert_int_equal(kv_pack_open(path, &u->s), 0);
		break;
	case W_USTAR:
	case W_PAX:
		snprintf(path, sizeof(path), "%s/img-%d.tar", tmp, u->w);
		assert_int_equal(run("tar --format=%s -C '%s' -cf '%s' .",
				     u->w == W_USTAR ? "ustar" : "pax", tree,
				     path), 0);
		assert_int_equal(kv_tar_open(path, &u->s), 0);
		break;
	case W_SQLITE:
	case W_SEALED:
		snprintf(path, sizeof(path), "%s/db-%d.sqlite", tmp, u->w);
		assert_int_equal(kv_sqlite_open(path, &inner), 0);
		u->s = inner;
		if (u->w == W_SEALED) {
			snprintf(kf, sizeof(kf), "%s/seal.key", tmp);
			fd = open(kf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			assert_true(fd >= 0);
			randombytes_buf(key, sizeof(key));
			assert_int_equal(write(fd, key, sizeof(key)), 32);
			close(fd);
			assert_int_equal(kv_sealed_open(inner, kf, &u->s), 0);
		}
		assert_int_equal(kv_dir_open(tree, &d), 0);
		u->t_lo = now_ns();
		copy_tree(d, u->s, "");
		u->t_hi = now_ns();
		kv_store_close(d);
		break;
	}
	return 0;
}

static int
sut_teardown(void **state)
{
	struct sut *u = *state;

	kv_store_close(u->s);
	u->s = NULL;
	return 0;
}

static struct fake_pages fp;

/* Issue one request; returns the response (kv_handle must not fail). */
static struct kv_response
call(struct kv_store *s, struct kv_request *q)
{
	struct kv_server_ctx ctx = { .store = s, .copy_from = fake_copy_from,
				     .copy_to = fake_copy_to, .arg = &fp };
	static unsigned char got[KV_PAGE_SIZE];
	struct kv_response r, r2;

	assert_int_equal(kv_handle(&ctx, q, &r), 0);
	assert_int_equal(r.id, q->id);
	/* A one-segment read again, as kvd serves it (straight into the
	 * granted page): the same answer, the same bytes. */
	if ((q->op == KV_OP_GET || q->op == KV_OP_GET_PARTIAL) &&
	    q->nr_segs == 1) {
		unsigned char *pg = fp.page[q->seg[0].gref] + q->seg[0].offset;

		memcpy(got, pg, q->seg[0].length);
		memset(pg, 0xa5, q->seg[0].length);
		ctx.map_to = fake_map_to;
		ctx.unmap = fake_unmap;
		assert_int_equal(kv_handle(&ctx, q, &r2), 0);
		assert_int_equal(fp.mapped, 0);
		assert_memory_equal(&r, &r2, sizeof(r));
		if (r.status == KV_OK)
			assert_memory_equal(pg, got, (size_t)r.val);
		memcpy(pg, got, q->seg[0].length);
	}
	return r;
}

static struct kv_response
simple(struct kv_store *s, uint8_t op, const char *key)
{
	struct kv_request q = fake_req(&fp, op, key, 0, 0);

	return call(s, &q);
}

static void
check_exists(struct kv_store *s)
{
	static const struct { const char *k; int kind; } t[] = {
		{ "a", KV_KIND_VALUE }, { "empty", KV_KIND_VALUE },
		{ "d", KV_KIND_DICT }, { "d/sub", KV_KIND_DICT },
		{ "d/sub/z", KV_KIND_VALUE }, { "", KV_KIND_DICT },
		{ "nope", KV_KIND_NONE }, { "a/b", KV_KIND_NONE },
		{ "d/nope", KV_KIND_NONE },
	};
	struct kv_response r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = simple(s, KV_OP_EXISTS, t[i].k);
		if (r.status != KV_OK || r.count != (uint32_t)t[i].kind)
			print_message("exists %s: %d %u\n", t[i].k, r.status, r.count);
		assert_int_equal(r.status, KV_OK);
		assert_int_equal(r.count, t[i].kind);
	}
	r = simple(s, KV_OP_EXISTS, long_key);
	assert_int_equal(r.count, KV_KIND_VALUE);
}

static void
check_get(struct kv_store *s)
{
	static unsigned char out[8 * KV_PAGE_SIZE];
	struct kv_request q;
	struct kv_response r;

	q = fake_req(&fp, KV_OP_GET, "a", 1, 0);
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 11);
	assert_int_equal(r.aux, 11);
	fake_gather(&fp, &q, out, 11);
	assert_memory_equal(out, "hello world", 11);

	q = fake_req(&fp, KV_OP_GET, "empty", 1, 0);
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 0);

	q = fake_req(&fp, KV_OP_GET, long_key, 1, 0);
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 1);

	/* Too large for one page: the size comes back for get_partial. */
	q = fake_req(&fp, KV_OP_GET, "big", 1, 0);
	r = call(s, &q);
	assert_int_equal(r.status, KV_ETOOLARGE);
	assert_int_equal(r.aux, BIG_LEN);

	/* Five pages, the second one starting mid-page. */
	q = fake_req(&fp, KV_OP_GET, "big", 5, 0);
	q.seg[1].offset = 100;
	q.seg[1].length = KV_PAGE_SIZE - 100;
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, BIG_LEN);
	fake_gather(&fp, &q, out, BIG_LEN);
	assert_memory_equal(out, big, BIG_LEN);

}

static struct kv_response
partial(struct kv_store *s, const char *key, uint64_t off, uint64_t len,
	unsigned char *out)
{
	struct kv_request q = fake_req(&fp, KV_OP_GET_PARTIAL, key, 2, 0);
	struct kv_response r;

	q.offset = off;
	q.length = len;
	memset(fp.page[FAKE_DATA], 0xee, 2 * KV_PAGE_SIZE);
	r = call(s, &q);
	if (r.status == KV_OK)
		fake_gather(&fp, &q, out, r.val);
	return r;
}

static void
check_get_partial(struct kv_store *s)
{
	static unsigned char out[BIG_LEN];
	unsigned char buf[2 * KV_PAGE_SIZE];
	struct kv_response r;
	uint64_t off;

	r = partial(s, "big", 100, 1000, buf);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 1000);
	assert_int_equal(r.aux, BIG_LEN);
	assert_memory_equal(buf, big + 100, 1000);
	/* Across the end: clipped. */
	r = partial(s, "big", BIG_LEN - 10, 100, buf);
	assert_int_equal(r.val, 10);
	assert_memory_equal(buf, big + BIG_LEN - 10, 10);
	/* Exactly at the end, past the end, and length 0: nothing. */
	r = partial(s, "big", BIG_LEN, 100, buf);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 0);
	r = partial(s, "big", BIG_LEN + 12345, 100, buf);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 0);
	r = partial(s, "big", 5, 0, buf);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 0);
	assert_int_equal(fp.page[FAKE_DATA][0], 0xee);	/* untouched */
	/* The whole value in parts, as a frontend reads large values. */
	for (off = 0; off < BIG_LEN; off += r.val) {
		r = partial(s, "big", off, 2 * KV_PAGE_SIZE, out + off);
		assert_int_equal(r.status, KV_OK);
		assert_true(r.val > 0);
	}
	assert_memory_equal(out, big, BIG_LEN);
	r = partial(s, "d", 0, 10, buf);
	assert_int_equal(r.status, KV_EVALUE);
	r = partial(s, "nope", 0, 10, buf);
	assert_int_equal(r.status, KV_ENOTFOUND);
}

static void
check_size(struct kv_store *s)
{
	struct kv_response r;

	r = simple(s, KV_OP_SIZE, "big");
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, BIG_LEN);
	r = simple(s, KV_OP_SIZE, "empty");
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 0);
	assert_int_equal(simple(s, KV_OP_SIZE, "d").status, KV_EVALUE);
	assert_int_equal(simple(s, KV_OP_SIZE, "nope").status, KV_ENOTFOUND);
	assert_int_equal(simple(s, KV_OP_SIZE, "a/b").status, KV_ENOTFOUND);
}

/* List key completely with segments of seg_len bytes; "kind name," each. */
static int
list_all(struct kv_store *s, const char *key, uint16_t seg_len, char *out,
	 size_t outsz, int *pages)
{
	uint64_t cursor = 0;

	out[0] = '\0';
	*pages = 0;
	do {
		struct kv_request q = fake_req(&fp, KV_OP_LIST, key, 1,
					       seg_len);
		unsigned char buf[KV_PAGE_SIZE];
		struct kv_response r;
		size_t pos = 0;

		q.offset = cursor;
		r = call(s, &q);
		if (r.status != KV_OK)
			return r.status;
		(*pages)++;
		fake_gather(&fp, &q, buf, r.val);
		for (uint32_t i = 0; i < r.count; i++) {
			size_t l = strlen((char *)buf + pos + 1);

			assert_true(pos + l + 2 <= r.val);
			snprintf(out + strlen(out), outsz - strlen(out),
				 "%c%s,", buf[pos] == KV_KIND_DICT ? 'D' : 'V',
				 (char *)buf + pos + 1);
			pos += l + 2;
		}
		assert_int_equal(pos, r.val);
		cursor = r.aux;
		assert_true(*pages < 100);
	} while (cursor != 0);
	return 0;
}

static void
check_list(struct kv_store *s)
{
	char out[4096], want[4096] = "";
	int pages;

	assert_int_equal(list_all(s, "", 0, out, sizeof(out), &pages), 0);
	assert_string_equal(out, "Va,Vbig,Dd,Vempty,Dlist,Dlong,");
	assert_int_equal(pages, 1);
	assert_int_equal(list_all(s, "d", 0, out, sizeof(out), &pages), 0);
	assert_string_equal(out, "Dsub,Vx,Vy,");
	/* 64-byte pages hold 12 "f00" entries: pagination by cursor. */
	assert_int_equal(list_all(s, "list", 64, out, sizeof(out), &pages), 0);
	for (int i = 0; i < NLIST; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "Vf%02d,", i);
	assert_string_equal(out, want);
	assert_int_equal(pages, 3);
	assert_int_equal(list_all(s, "a", 0, out, sizeof(out), &pages),
			 KV_EDICT);
	assert_int_equal(list_all(s, "nope", 0, out, sizeof(out), &pages),
			 KV_ENOTFOUND);
	/* A cursor past the end is malformed. */
	{
		struct kv_request q = fake_req(&fp, KV_OP_LIST, "d", 1, 0);

		q.offset = 99;
		assert_int_equal(call(s, &q).status, KV_EINVAL);
	}
}

static void
check_last_modified(struct sut *u)
{
	struct kv_response r;

	r = simple(u->s, KV_OP_LAST_MODIFIED, "d/x");
	assert_int_equal(r.status, KV_OK);
	assert_true((int64_t)r.val >= u->t_lo && (int64_t)r.val <= u->t_hi);
	r = simple(u->s, KV_OP_LAST_MODIFIED, "d");
	assert_int_equal(r.status, KV_OK);
	assert_true((int64_t)r.val >= u->t_lo && (int64_t)r.val <= u->t_hi);
	assert_int_equal(simple(u->s, KV_OP_LAST_MODIFIED, "nope").status,
			 KV_ENOTFOUND);
}

static void
check_digest(struct kv_store *s)
{
	unsigned char want[32], got[32];
	struct kv_request q;
	struct kv_response r;

	crypto_generichash(want, 32, big, BIG_LEN, NULL, 0);
	q = fake_req(&fp, KV_OP_DIGEST, "big", 1, 32);
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, 32);
	fake_gather(&fp, &q, got, 32);
	assert_memory_equal(got, want, 32);
	crypto_generichash(want, 32, (const unsigned char *)"", 0, NULL, 0);
	q = fake_req(&fp, KV_OP_DIGEST, "empty", 1, 32);
	r = call(s, &q);
	assert_int_equal(r.status, KV_OK);
	fake_gather(&fp, &q, got, 32);
	assert_memory_equal(got, want, 32);
	q = fake_req(&fp, KV_OP_DIGEST, "d", 1, 32);
	assert_int_equal(call(s, &q).status, KV_EVALUE);
	q = fake_req(&fp, KV_OP_DIGEST, "nope", 1, 32);
	assert_int_equal(call(s, &q).status, KV_ENOTFOUND);
}

static struct kv_response
set(struct kv_store *s, const char *key, const void *v, size_t len)
{
	unsigned nseg = (unsigned)((len + KV_PAGE_SIZE - 1) / KV_PAGE_SIZE);
	struct kv_request q = fake_req(&fp, KV_OP_SET, key, nseg, 0);

	for (unsigned i = 0; i < nseg; i++) {
		size_t n = len - i * KV_PAGE_SIZE;

		if (n > KV_PAGE_SIZE)
			n = KV_PAGE_SIZE;
		q.seg[i].gref = 20 + i;	/* read-only grants */
		q.seg[i].length = (uint16_t)n;
		fake_grant(&fp, 20 + i, true);
		memcpy(fp.page[20 + i], (const char *)v + i * KV_PAGE_SIZE, n);
	}
	q.length = len;
	return call(s, &q);
}

static struct kv_response
ren(struct kv_store *s, const char *a, const char *b)
{
	struct kv_request q = fake_req(&fp, KV_OP_RENAME, a, 0, 0);

	memcpy(fp.page[FAKE_KEY2], b, strlen(b) + 1);
	q.key2 = (struct kv_seg){ FAKE_KEY2, 0, (uint16_t)(strlen(b) + 1) };
	return call(s, &q);
}

static void
check_get_str(struct kv_store *s, const char *key, const char *want)
{
	struct kv_request q = fake_req(&fp, KV_OP_GET, key, 1, 0);
	struct kv_response r = call(s, &q);

	assert_int_equal(r.status, KV_OK);
	assert_int_equal(r.val, strlen(want));
	assert_memory_equal(fp.page[FAKE_DATA], want, strlen(want));
}

static void
check_rw(struct kv_store *s)
{
	assert_int_equal(set(s, "new/k", "v1", 2).status, KV_OK);
	check_get_str(s, "new/k", "v1");
	assert_int_equal(set(s, "new/k", "v2!", 3).status, KV_OK);
	check_get_str(s, "new/k", "v2!");
	assert_int_equal(set(s, "new/e", "", 0).status, KV_OK);
	check_get_str(s, "new/e", "");
	assert_int_equal(set(s, "big2", big, BIG_LEN).status, KV_OK);
	assert_int_equal(simple(s, KV_OP_SIZE, "big2").val, BIG_LEN);
	assert_int_equal(set(s, "a/b", "x", 1).status, KV_EDICT);
	assert_int_equal(set(s, "d", "x", 1).status, KV_EVALUE);
	/* Rename a value, then a dictionary. */
	assert_int_equal(ren(s, "new/k", "new/k2").status, KV_OK);
	check_get_str(s, "new/k2", "v2!");
	assert_int_equal(simple(s, KV_OP_EXISTS, "new/k").count,
			 KV_KIND_NONE);
	assert_int_equal(ren(s, "d", "e").status, KV_OK);
	check_get_str(s, "e/sub/z", "zzz");
	assert_int_equal(simple(s, KV_OP_EXISTS, "d").count, KV_KIND_NONE);
	assert_int_equal(ren(s, "nope", "x").status, KV_ENOTFOUND);
	assert_int_equal(ren(s, "e", "e/inside").status, KV_EINVAL);
	assert_int_equal(ren(s, "a", "e").status, KV_EVALUE);
	/* Remove, recursively for a dictionary. */
	assert_int_equal(simple(s, KV_OP_REMOVE, "e").status, KV_OK);
	assert_int_equal(simple(s, KV_OP_EXISTS, "e").count, KV_KIND_NONE);
	assert_int_equal(simple(s, KV_OP_EXISTS, "e/sub/z").count,
			 KV_KIND_NONE);
	assert_int_equal(simple(s, KV_OP_REMOVE, "nope").status,
			 KV_ENOTFOUND);
	assert_int_equal(simple(s, KV_OP_REMOVE, "a").status, KV_OK);
	assert_int_equal(simple(s, KV_OP_SIZE, "a").status, KV_ENOTFOUND);
}

static void
check_ro(struct kv_store *s)
{
	assert_int_equal(set(s, "new/k", "v1", 2).status, KV_ERDONLY);
	assert_int_equal(set(s, "a", "v1", 2).status, KV_ERDONLY);
	assert_int_equal(simple(s, KV_OP_REMOVE, "a").status, KV_ERDONLY);
	assert_int_equal(ren(s, "a", "b").status, KV_ERDONLY);
	check_get_str(s, "a", "hello world");
}

static void
test_conformance(void **state)
{
	struct sut *u = *state;

	memset(&fp, 0, sizeof(fp));
	{
		struct kv_server_ctx ctx;

		fake_init(&fp, &ctx, u->s);
	}
	check_exists(u->s);
	check_get(u->s);
	check_get_partial(u->s);
	check_size(u->s);
	check_list(u->s);
	check_last_modified(u);
	check_digest(u->s);
	if (kv_store_rw(u->s))
		check_rw(u->s);
	else
		check_ro(u->s);
}

static struct sut s_dir = { .w = W_DIR }, s_dir_rw = { .w = W_DIR_RW },
	s_pack = { .w = W_PACK },
	s_ustar = { .w = W_USTAR }, s_pax = { .w = W_PAX },
	s_sqlite = { .w = W_SQLITE }, s_sealed = { .w = W_SEALED };

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_dir),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_dir_rw),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_pack),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_ustar),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_pax),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_sqlite),
		cmocka_unit_test_prestate_setup_teardown(test_conformance,
			sut_setup, sut_teardown, &s_sealed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
