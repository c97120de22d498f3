/*
 * dir confinement: "..", absolute paths, symlinks leading out and NUL bytes
 * in keys are refused, both through the wrappers and at the backend itself;
 * symlinks that stay inside the root are followed.  The fd cache never
 * serves a file after it changed on disk (rewritten in place, replaced by
 * rename, removed, or a directory on its path swapped).
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

#include "services/kvd/kvd.h"
#include "test_kv_fake.h"

static char tmp[64], root[128];
static struct kv_store *s;

static void
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static int
setup(void **state)
{
	char p[256];
	(void)state;

	snprintf(tmp, sizeof(tmp), "/tmp/kvdir.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/root", tmp);
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/secret", tmp);	/* outside the root */
	write_file(p, "secret");
	snprintf(p, sizeof(p), "%s/in", root);
	write_file(p, "inside");
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/out_rel", root);
	if (symlink("../../secret", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/out_abs", root);
	if (symlink(tmp, p) < 0)	/* absolute, to the parent */
		return -1;
	snprintf(p, sizeof(p), "%s/link_in", root);
	if (symlink("sub/../in", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo", root);
	if (mkfifo(p, 0600) < 0)
		return -1;
	return kv_dir_open(root, &s) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;

	kv_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd);
}

static void
test_dotdot(void **state)
{
	unsigned char buf[16];
	uint64_t sz;
	int kind;
	(void)state;

	assert_int_equal(kv_store_read(s, "../secret", 0, buf, 16, NULL),
			 -EINVAL);
	assert_int_equal(kv_store_read(s, "sub/../../secret", 0, buf, 16,
				       NULL), -EINVAL);
	assert_int_equal(kv_store_exists(s, "..", &kind), -EINVAL);
	/* The backend refuses on its own too, without the wrapper. */
	assert_int_equal(s->ops->read(s, "../secret", 0, buf, 16, &sz),
			 -EINVAL);
	assert_int_equal(s->ops->size(s, "..", &sz), -EINVAL);
}

static void
test_absolute(void **state)
{
	unsigned char buf[16];
	uint64_t sz;
	(void)state;

	assert_int_equal(kv_store_read(s, "/etc/passwd", 0, buf, 16, NULL),
			 -EINVAL);
	assert_int_equal(s->ops->read(s, "/etc/passwd", 0, buf, 16, &sz),
			 -EINVAL);
	assert_int_equal(kv_store_size(s, "/in", &sz), -EINVAL);
}

static void
test_symlink_out(void **state)
{
	unsigned char buf[16];
	uint64_t sz;
	int kind;
	(void)state;

	assert_int_equal(kv_store_read(s, "sub/out_rel", 0, buf, 16, NULL),
			 -EACCES);
	assert_int_equal(kv_store_read(s, "out_abs/secret", 0, buf, 16, NULL),
			 -EACCES);
	assert_int_equal(kv_store_exists(s, "out_abs", &kind), -EACCES);
	assert_int_equal(kv_store_size(s, "sub/out_rel", &sz), -EACCES);
	assert_int_equal(kv_status_from_errno(-EACCES), KV_EDENIED);
}

static void
test_symlink_in_and_listing(void **state)
{
	struct kv_entry *e;
	unsigned char buf[16];
	size_t n;
	int r;
	(void)state;

	r = kv_store_read(s, "link_in", 0, buf, sizeof(buf), NULL);
	assert_int_equal(r, 6);
	assert_memory_equal(buf, "inside", 6);
	/* Links out and the FIFO are not listed; the link in is. */
	assert_int_equal(kv_store_list(s, "", &e, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].name, "in");
	assert_string_equal(e[1].name, "link_in");
	assert_string_equal(e[2].name, "sub");
	kv_entries_free(e, n);
	assert_int_equal(kv_store_list(s, "sub", &e, &n), 0);
	assert_int_equal(n, 0);
	kv_entries_free(e, n);
	/* A FIFO is not a value, and reading it does not block. */
	assert_int_equal(kv_store_read(s, "fifo", 0, buf, 16, NULL), -ENOENT);
}

static void
test_nul_in_key(void **state)
{
	static struct fake_pages fp;
	struct kv_server_ctx ctx;
	struct kv_request q;
	struct kv_response r;
	(void)state;

	fake_init(&fp, &ctx, s);
	q = fake_req(&fp, KV_OP_GET, "in", 1, 0);
	assert_int_equal(kv_handle(&ctx, &q, &r), 0);
	assert_int_equal(r.status, KV_OK);
	/* "in\0/../../secret\0": a C string would stop at "in". */
	memcpy(fp.page[FAKE_KEY], "in\0/../../secret", 17);
	q.key.length = 17;
	assert_int_equal(kv_handle(&ctx, &q, &r), -EPROTO);
	assert_int_equal(r.status, KV_EINVAL);
	assert_int_equal(r.val, 0);
}

static void
read_is(const char *key, const char *want)
{
	unsigned char buf[64];
	uint64_t size = 0;
	int r = kv_store_read(s, key, 0, buf, sizeof(buf), &size);

	assert_int_equal(r, (int)strlen(want));
	assert_int_equal(size, strlen(want));
	assert_memory_equal(buf, want, strlen(want));
}

/* The cache rechecks inotify at most once per millisecond. */
static void
settle(void)
{
	usleep(3000);
}

static void
test_cache_sees_changes(void **state)
{
	char p[256], q[700];
	unsigned char buf[8];
	(void)state;

	snprintf(p, sizeof(p), "%s/sub/v", root);
	write_file(p, "one");
	read_is("sub/v", "one");
	read_is("sub/v", "one");	/* now served from the cache */
	write_file(p, "second");	/* rewritten in place, longer */
	settle();
	read_is("sub/v", "second");
	/* The same file under two keys (a symlink in the root): both
	 * cached, one watch, and a change seen through both. */
	snprintf(q, sizeof(q), "%s/alias", root);
	assert_int_equal(symlink("sub/v", q), 0);
	read_is("alias", "second");
	read_is("alias", "second");
	read_is("sub/v", "second");
	write_file(p, "2nd");		/* shorter */
	settle();
	read_is("alias", "2nd");
	read_is("sub/v", "2nd");
	assert_int_equal(truncate(p, 1), 0);
	settle();
	read_is("sub/v", "2");
	read_is("alias", "2");
	assert_int_equal(unlink(q), 0);
	write_file(p, "second");
	settle();
	read_is("sub/v", "second");
	snprintf(q, sizeof(q), "%s/sub/v.new", root);
	write_file(q, "3");
	assert_int_equal(rename(q, p), 0);	/* replaced by rename */
	settle();
	read_is("sub/v", "3");
	/* A directory on the path swapped for another one. */
	snprintf(q, sizeof(q), "%s/sub2", root);
	mkdir(q, 0755);
	snprintf(q, sizeof(q), "%s/sub2/v", root);
	write_file(q, "other dir");
	read_is("sub/v", "3");
	snprintf(p, sizeof(p), "%s/sub", root);
	snprintf(q, sizeof(q), "%s/sub.old", root);
	assert_int_equal(rename(p, q), 0);
	snprintf(q, sizeof(q), "%s/sub2", root);
	assert_int_equal(rename(q, p), 0);
	settle();
	read_is("sub/v", "other dir");
	/* Removed: not found, never the cached bytes. */
	snprintf(p, sizeof(p), "%s/sub/v", root);
	assert_int_equal(unlink(p), 0);
	settle();
	assert_int_equal(kv_store_read(s, "sub/v", 0, buf, sizeof(buf), NULL),
			 -ENOENT);
	/* Put the tree back as the other tests expect it. */
	snprintf(q, sizeof(q), "rm -rf '%s/sub' && mv '%s/sub.old' '%s/sub' && rm -f '%s/sub/v'",
		 root, root, root, root);
	assert_int_equal(system(q), 0);
}

/* Read-write: confined writes, hidden temporary names, dictionaries made
 * and pruned, like-for-like rename, and our own writes seen at once. */
static void
test_rw(void **state)
{
	char rw[160], p[300], big[5000];
	struct kv_store *w;
	struct kv_entry *e;
	struct stat st;
	size_t n;
	int kind;
	(void)state;

	snprintf(rw, sizeof(rw), "%s/rw", tmp);
	mkdir(rw, 0755);
	snprintf(p, sizeof(p), "%s/out", rw);
	assert_int_equal(symlink(tmp, p), 0);	/* leads out */
	assert_int_equal(kv_dir_open_rw(rw, &w), 0);
	assert_true(kv_store_rw(w));

	/* Writes through a link out are refused; nothing lands outside. */
	assert_int_equal(kv_store_set(w, "out/planted", "x", 1), -EACCES);
	snprintf(p, sizeof(p), "%s/planted", tmp);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(kv_store_set(w, "out", "x", 1), -EACCES);
	assert_int_equal(kv_store_rename(w, "out", "moved"), -EACCES);
	assert_int_equal(kv_store_set(w, "v", "1", 1), 0);
	assert_int_equal(kv_store_rename(w, "v", "out/v"), -EACCES);
	assert_int_equal(kv_store_set(w, "../x", "1", 1), -EINVAL);

	/* Made and pruned: a dictionary exists while something is in it. */
	assert_int_equal(kv_store_set(w, "p/q/r", "deep", 4), 0);
	assert_int_equal(kv_store_exists(w, "p/q", &kind), 0);
	assert_int_equal(kind, KV_KIND_DICT);
	assert_int_equal(kv_store_set(w, "p/q/r/s", "x", 1), -ENOTDIR);
	assert_int_equal(kv_store_set(w, "p/q", "x", 1), -EISDIR);
	assert_int_equal(kv_store_remove(w, "p/q/r"), 0);
	assert_int_equal(kv_store_exists(w, "p", &kind), 0);
	assert_int_equal(kind, KV_KIND_NONE);
	assert_int_equal(kv_store_remove(w, "p"), -ENOENT);

	/* Our own write is seen at once, cache or not. */
	{
		unsigned char buf[8];
		uint64_t size;

		assert_int_equal(kv_store_read(w, "v", 0, buf, 8, &size), 1);
		assert_int_equal(kv_store_read(w, "v", 0, buf, 8, &size), 1);
		memset(big, 'b', sizeof(big));
		assert_int_equal(kv_store_set(w, "v", big, sizeof(big)), 0);
		assert_int_equal(kv_store_read(w, "v", 0, buf, 8, &size), 8);
		assert_int_equal(size, sizeof(big));
		assert_memory_equal(buf, big, 8);
	}

	/* Dictionary over dictionary: the old one is gone, whole. */
	assert_int_equal(kv_store_set(w, "s/1", "one", 3), 0);
	assert_int_equal(kv_store_set(w, "t/2", "two", 3), 0);
	assert_int_equal(kv_store_rename(w, "s", "t"), 0);
	assert_int_equal(kv_store_exists(w, "t/1", &kind), 0);
	assert_int_equal(kind, KV_KIND_VALUE);
	assert_int_equal(kv_store_exists(w, "t/2", &kind), 0);
	assert_int_equal(kind, KV_KIND_NONE);
	assert_int_equal(kv_store_exists(w, "s", &kind), 0);
	assert_int_equal(kind, KV_KIND_NONE);
	assert_int_equal(kv_store_rename(w, "t", "v"), -ENOTDIR);
	assert_int_equal(kv_store_rename(w, "v", "t"), -EISDIR);
	/* Moving the last value out of a dictionary prunes it. */
	assert_int_equal(kv_store_rename(w, "t/1", "u/1"), 0);
	assert_int_equal(kv_store_exists(w, "t", &kind), 0);
	assert_int_equal(kind, KV_KIND_NONE);

	/* Temporary names are not keys, and listings leave them out. */
	assert_int_equal(kv_store_set(w, ".kvd-tmp-1", "x", 1), -EACCES);
	assert_int_equal(kv_store_set(w, "u/.kvd-tmp-1/a", "x", 1), -EACCES);
	snprintf(p, sizeof(p), "%s/u/.kvd-tmp-99-0", rw);	/* a crash's */
	write_file(p, "leftover");
	assert_int_equal(kv_store_list(w, "u", &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].name, "1");
	kv_entries_free(e, n);
	assert_int_equal(kv_store_exists(w, "u/.kvd-tmp-99-0", &kind),
			 -EACCES);

	/* Removing a link removes the link, not what it points at. */
	assert_int_equal(kv_store_remove(w, "out"), 0);
	snprintf(p, sizeof(p), "%s/secret", tmp);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(stat(root, &st), 0);
	kv_store_close(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_symlink_out),
		cmocka_unit_test(test_symlink_in_and_listing),
		cmocka_unit_test(test_nul_in_key),
		cmocka_unit_test(test_cache_sees_changes),
		cmocka_unit_test(test_rw),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
