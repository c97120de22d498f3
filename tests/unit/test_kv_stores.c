/*
 * Store-specific checks the conformance suite cannot express: sqlite
 * durability across reopen, tar header validation and pax long names, and
 * pack image validation (checksum, index records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>

#include "services/kvd/kvd.h"

static char tmp[64];

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/kvstores.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void
test_sqlite_durable_reopen(void **state)
{
	char db[128];
	struct kv_store *s;
	sqlite3 *h;
	sqlite3_stmt *st;
	void *v;
	size_t n;
	(void)state;

	snprintf(db, sizeof(db), "%s/dur.db", tmp);
	assert_int_equal(kv_sqlite_open(db, &s), 0);
	assert_int_equal(kv_store_set(s, "k/1", "one", 3), 0);
	assert_int_equal(kv_store_set(s, "k/2", "two", 3), 0);
	assert_int_equal(kv_store_remove(s, "k/2"), 0);
	/* Before any close: another connection sees the committed state
	 * and the database is in WAL mode. */
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM kv", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
	kv_store_close(s);
	assert_int_equal(kv_sqlite_open(db, &s), 0);
	assert_int_equal(kv_store_get(s, "k/1", 10, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(v, "one", 3);
	free(v);
	assert_int_equal(kv_store_size(s, "k/2", &(uint64_t){ 0 }), -ENOENT);
	kv_store_close(s);
}

static void
test_tar_pax_long_name(void **state)
{
	char dir[128], name[200], cmd[600], tarp[160], key[210];
	struct kv_store *s;
	unsigned char buf[8];
	FILE *f;
	(void)state;

	snprintf(dir, sizeof(dir), "%s/paxsrc", tmp);
	mkdir(dir, 0755);
	memset(name, 'n', 150);	/* one segment longer than ustar allows */
	name[150] = '\0';
	snprintf(cmd, sizeof(cmd), "%s/%s", dir, name);
	f = fopen(cmd, "w");
	assert_non_null(f);
	fputs("pax!", f);
	fclose(f);
	snprintf(tarp, sizeof(tarp), "%s/long.tar", tmp);
	snprintf(cmd, sizeof(cmd), "tar --format=pax -C '%s' -cf '%s' %s",
		 dir, tarp, name);
	assert_int_equal(system(cmd), 0);
	/* The archive really carries a pax path record. */
	snprintf(cmd, sizeof(cmd), "grep -q ' path=nnnn' '%s'", tarp);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kv_tar_open(tarp, &s), 0);
	snprintf(key, sizeof(key), "%s", name);
	assert_int_equal(kv_store_read(s, key, 0, buf, sizeof(buf), NULL), 4);
	assert_memory_equal(buf, "pax!", 4);
	kv_store_close(s);
	/* And ustar cannot hold it at all. */
	snprintf(cmd, sizeof(cmd), "tar --format=ustar -C '%s' -cf '%s.u' %s "
		 "2>/dev/null", dir, tarp, name);
	assert_int_not_equal(system(cmd), 0);
}

/* A one-file ustar archive in memory, and helpers to break it. */
static unsigned char *
mk_tar(size_t *len)
{
	char dir[128], cmd[400], path[160];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/small", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/v", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/small.tar", tmp);
	snprintf(cmd, sizeof(cmd), "tar --format=ustar -C '%s' -cf '%s' v",
		 dir, path);
	assert_int_equal(system(cmd), 0);
	return slurp(path, len);
}

static void
fix_sum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static int
open_tar(unsigned char *b, size_t len)
{
	struct kv_store *s;
	int r = kv_tar_open_mem(b, len, &s);

	if (r == 0)
		kv_store_close(s);
	return r;
}

static void
test_tar_validation(void **state)
{
	unsigned char *b, *c;
	size_t len;
	(void)state;

	b = mk_tar(&len);
	c = malloc(len);
	assert_int_equal(open_tar(b, len), 0);
	assert_int_equal(open_tar(b, 0), 0);	/* empty: an empty store */
#define BREAK(stmt, fix, want) do {				\
		memcpy(c, b, len);				\
		stmt;						\
		if (fix)					\
			fix_sum(c);				\
		assert_int_equal(open_tar(c, len), want);	\
	} while (0)
	BREAK(c[0] ^= 1, 0, -EPROTO);			/* checksum */
	BREAK(c[148] = 'x', 0, -EPROTO);		/* checksum field */
	BREAK(memcpy(c + 124, "0000000009x\0", 12), 1, -EPROTO); /* size */
	BREAK(memcpy(c + 124, "77777777777\0", 12), 1, -EPROTO); /* huge */
	BREAK(memcpy(c + 136, "       \0    ", 12), 1, -EPROTO); /* mtime */
	BREAK(c[101] = '9', 1, -EPROTO);		/* mode */
	BREAK(memcpy(c + 257, "ustaX", 5), 1, -EPROTO);	/* magic */
	BREAK(memcpy(c, "../etc/passwd", 14), 1, -EPROTO); /* name */
	BREAK(memcpy(c, "/abs", 5), 1, -EPROTO);
	BREAK(memcpy(c, "a//b", 5), 1, -EPROTO);
	BREAK(c[345] = 'p', 1, 0);			/* prefix "p/v" ok */
	BREAK((c[3] = 'x', c[50] = 'y'), 1, -EPROTO);	/* NUL then text */
	BREAK(c[1024] = 1, 0, -EPROTO);	/* end marker's 2nd block dirty */
	assert_int_equal(open_tar(b, 700), -EPROTO);	/* truncated */
	free(c);
	free(b);
#undef BREAK
}

static void
pack_resum(unsigned char *img, size_t len)
{
	crypto_generichash_state st;
	static const unsigned char zero[32];

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, img, 64);
	crypto_generichash_update(&st, zero, 32);
	crypto_generichash_update(&st, img + 96, len - 96);
	crypto_generichash_final(&st, img + 64, 32);
}

static int
open_pack(unsigned char *b, size_t len)
{
	struct kv_store *s;
	int r = kv_pack_open_mem(b, len, &s);

	if (r == 0)
		kv_store_close(s);
	return r;
}

static void
test_pack_validation(void **state)
{
	char dir[128], path[160], cmd[800];
	unsigned char *b, *c;
	size_t len;
	(void)state;

	snprintf(dir, sizeof(dir), "%s/packsrc", tmp);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/x && printf 1 > %s/a && "
		 "printf 22 > %s/x/b && ln -s /etc %s/link", dir, dir, dir,
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/p.pack", tmp);
	assert_int_equal(kv_pack_dir(dir, path), 2);	/* the link skipped */
	b = slurp(path, &len);
	c = malloc(len);
	assert_int_equal(open_pack(b, len), 0);
	/* Any flipped byte fails the checksum (or the header check). */
	for (size_t i = 0; i < len; i++) {
		int r;

		memcpy(c, b, len);
		c[i] ^= 0x10;
		r = open_pack(c, len);
		assert_true(r == -EBADMSG || r == -EPROTO);
	}
	assert_int_equal(open_pack(b, len - 1), -EPROTO);
	assert_int_equal(open_pack(b, 50), -EPROTO);
	/* Forged with a valid checksum: index fields are still checked.
	 * Records start at 96: key_off@0 key_len@4 kind@6 pad@7 data@8. */
#define FORGE(stmt, want) do {					\
		memcpy(c, b, len);				\
		stmt;						\
		pack_resum(c, len);				\
		assert_int_equal(open_pack(c, len), want);	\
	} while (0)
	FORGE((void)0, 0);
	FORGE(c[96 + 0] = 0xff, -EPROTO);		/* key_off */
	FORGE(c[96 + 4] = 0xff, -EPROTO);		/* key_len */
	FORGE(c[96 + 6] = 3, -EPROTO);			/* kind */
	FORGE(c[96 + 7] = 1, -EPROTO);			/* reserved */
	FORGE(c[96 + 8] = 1, -EPROTO);			/* data_off */
	FORGE(c[96 + 16] = 0x7f, -EPROTO);		/* data_len */
	FORGE(c[12] = 9, -EPROTO);			/* nr_entries */
	FORGE(c[50] = 1, -EPROTO);			/* reserved header */
	FORGE(c[8] = 2, -EPROTO);			/* version */
	free(c);
	free(b);
#undef FORGE
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlite_durable_reopen),
		cmocka_unit_test(test_tar_pax_long_name),
		cmocka_unit_test(test_tar_validation),
		cmocka_unit_test(test_pack_validation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
