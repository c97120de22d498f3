/*
 * sealed: a ciphertext moved to another key fails to open, a flipped byte
 * is an error (never garbage), a wrong key file fails, and key files of the
 * wrong size or mode are refused.
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
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "services/kvd/kvd.h"

static char tmp[64], db[128], key1[128], key2[128];

static void
write_key(const char *path, size_t len, mode_t mode)
{
	unsigned char k[64];
	int fd;

	randombytes_buf(k, sizeof(k));
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, k, len), (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/kvseal.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/db", tmp);
	snprintf(key1, sizeof(key1), "%s/k1", tmp);
	snprintf(key2, sizeof(key2), "%s/k2", tmp);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd);
}

static struct kv_store *
open_sealed(const char *keyfile, int want)
{
	struct kv_store *inner, *s = NULL;

	assert_int_equal(kv_sqlite_open(db, &inner), 0);
	assert_int_equal(kv_sealed_open(inner, keyfile, &s), want);
	return s;
}

static void
test_roundtrip_and_ciphertext(void **state)
{
	struct kv_store *s, *raw;
	void *v;
	size_t n;
	(void)state;

	write_key(key1, 32, 0600);
	s = open_sealed(key1, 0);
	assert_int_equal(kv_store_set(s, "x", "plaintext!", 10), 0);
	assert_int_equal(kv_store_get(s, "x", 100, &v, &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(v, "plaintext!", 10);
	free(v);
	/* What the inner store holds is not the plaintext, and is fresh
	 * per set (random nonce). */
	assert_int_equal(kv_sqlite_open(db, &raw), 0);
	assert_int_equal(kv_store_get(raw, "x", 100, &v, &n), 0);
	assert_int_equal(n, 10 + 41);
	assert_null(memmem(v, n, "plaintext", 9));
	{
		void *v2;
		size_t n2;

		assert_int_equal(kv_store_set(s, "x", "plaintext!", 10), 0);
		assert_int_equal(kv_store_get(raw, "x", 100, &v2, &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_not_equal(v, v2, n);
		free(v2);
	}
	free(v);
	kv_store_close(raw);
	kv_store_close(s);
}

static void
test_moved_ciphertext(void **state)
{
	struct kv_store *s, *raw;
	unsigned char buf[64];
	void *v;
	size_t n;
	(void)state;

	write_key(key1, 32, 0600);
	s = open_sealed(key1, 0);
	assert_int_equal(kv_store_set(s, "a", "value-a", 7), 0);
	assert_int_equal(kv_sqlite_open(db, &raw), 0);
	assert_int_equal(kv_store_get(raw, "a", 100, &v, &n), 0);
	assert_int_equal(kv_store_set(raw, "b", v, n), 0);
	free(v);
	assert_int_equal(kv_store_read(s, "b", 0, buf, sizeof(buf), NULL),
			 -EBADMSG);
	assert_int_equal(kv_store_read(s, "a", 0, buf, sizeof(buf), NULL), 7);
	/* Renaming through the sealed store re-encrypts under the new name. */
	assert_int_equal(kv_store_rename(s, "a", "c"), 0);
	assert_int_equal(kv_store_read(s, "c", 0, buf, sizeof(buf), NULL), 7);
	assert_memory_equal(buf, "value-a", 7);
	kv_store_close(raw);
	kv_store_close(s);
}

static void
test_flipped_byte(void **state)
{
	struct kv_store *s, *raw;
	unsigned char buf[64], d[KV_DIGEST_SIZE];
	unsigned char *c;
	void *v;
	size_t n;
	(void)state;

	write_key(key1, 32, 0600);
	s = open_sealed(key1, 0);
	assert_int_equal(kv_store_set(s, "f", "flip me", 7), 0);
	assert_int_equal(kv_sqlite_open(db, &raw), 0);
	assert_int_equal(kv_store_get(raw, "f", 100, &v, &n), 0);
	/* Every position: version, nonce, ciphertext and tag. */
	for (size_t i = 0; i < n; i++) {
		c = v;
		c[i] ^= 0x01;
		assert_int_equal(kv_store_set(raw, "f", v, n), 0);
		assert_int_equal(kv_store_read(s, "f", 0, buf, sizeof(buf),
					       NULL), -EBADMSG);
		c[i] ^= 0x01;
	}
	c = v;
	c[n - 1] ^= 0x80;
	assert_int_equal(kv_store_set(raw, "f", v, n), 0);
	assert_int_equal(kv_store_digest(s, "f", d), -EBADMSG);
	/* Truncated below the overhead. */
	assert_int_equal(kv_store_set(raw, "f", v, 10), 0);
	assert_int_equal(kv_store_read(s, "f", 0, buf, sizeof(buf), NULL),
			 -EBADMSG);
	free(v);
	kv_store_close(raw);
	kv_store_close(s);
}

static void
test_wrong_key_file(void **state)
{
	struct kv_store *s;
	unsigned char buf[64];
	(void)state;

	write_key(key1, 32, 0600);
	write_key(key2, 32, 0600);
	s = open_sealed(key1, 0);
	assert_int_equal(kv_store_set(s, "w", "secret", 6), 0);
	kv_store_close(s);
	s = open_sealed(key2, 0);
	assert_int_equal(kv_store_read(s, "w", 0, buf, sizeof(buf), NULL),
			 -EBADMSG);
	kv_store_close(s);
	s = open_sealed(key1, 0);
	assert_int_equal(kv_store_read(s, "w", 0, buf, sizeof(buf), NULL), 6);
	kv_store_close(s);
}

static void
test_key_file_checks(void **state)
{
	(void)state;
	write_key(key2, 31, 0600);
	open_sealed(key2, -EINVAL);
	write_key(key2, 33, 0600);
	open_sealed(key2, -EINVAL);
	write_key(key2, 32, 0644);
	open_sealed(key2, -EACCES);
	write_key(key2, 32, 0640);
	open_sealed(key2, -EACCES);
	unlink(key2);
	open_sealed(key2, -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_ciphertext),
		cmocka_unit_test(test_moved_ciphertext),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_wrong_key_file),
		cmocka_unit_test(test_key_file_checks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
