/*
 * Unit tests for the store's tree (libring/store_tree.c): paths, the
 * xenstored permission model, quotas, transactions and change events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xen/io/xs_wire.h>

#include "store_internal.h"

static char events[4096];

static void
on_event(void *arg, const char *path, bool rm,
	 const struct ring_store_perm *p, unsigned n)
{
	(void)arg;
	(void)p;
	(void)n;
	snprintf(events + strlen(events), sizeof(events) - strlen(events),
		 "%s%s;", rm ? "-" : "", path);
}

static struct st_tree *
tree(void)
{
	struct st_limits lim = { .max_nodes = 8, .max_value = 16,
				 .max_tx_ops = 100 };
	struct st_tree *t = st_tree_new(&lim, on_event, NULL);

	assert_non_null(t);
	events[0] = '\0';
	return t;
}

static void
assert_val(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	   const char *path, const char *want)
{
	const char *v;
	size_t len;

	assert_int_equal(st_read(t, tx, dom, path, &v, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(v, want, len);
}

static void
test_paths(void **state)
{
	(void)state;
	assert_true(st_path_valid("/", false));
	assert_true(st_path_valid("/a/b-c/d_e/@f/9", false));
	assert_false(st_path_valid("", false));
	assert_false(st_path_valid("a", false));
	assert_false(st_path_valid("/a/", false));
	assert_false(st_path_valid("/a//b", false));
	assert_false(st_path_valid("/a b", false));
	assert_false(st_path_valid("/a.b", false));
	assert_false(st_path_valid("@releaseDomain", false));
	assert_true(st_path_valid("@releaseDomain", true));
	assert_false(st_path_valid("@", true));

	char big[XENSTORE_ABS_PATH_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_false(st_path_valid(big, false));
	big[XENSTORE_ABS_PATH_MAX] = '\0';
	assert_true(st_path_valid(big, false));
}

static void
test_basic(void **state)
{
	struct st_tree *t = tree();
	const char *v;
	size_t len;
	char *buf;
	uint64_t gen, gen2;
	(void)state;

	assert_int_equal(st_read(t, NULL, 0, "/a", &v, &len), -ENOENT);
	assert_int_equal(st_write(t, NULL, 0, "/a/b/c", "x", 1), 0);
	assert_string_equal(events, "/a/b/c;");
	assert_val(t, NULL, 0, "/a/b/c", "x");
	assert_val(t, NULL, 0, "/a/b", "");
	assert_int_equal(st_mkdir(t, NULL, 0, "/a/d"), 0);
	assert_int_equal(st_mkdir(t, NULL, 0, "/a/d"), 0);
	assert_int_equal(st_write(t, NULL, 0, "/a/b/c", "yz", 2), 0);
	assert_val(t, NULL, 0, "/a/b/c", "yz");
	assert_int_equal(st_directory(t, NULL, 0, "/a", &buf, &len, &gen), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "b\0d\0", 4);
	free(buf);
	/* rm: recursive; missing child of an existing parent is fine. */
	events[0] = '\0';
	assert_int_equal(st_rm(t, NULL, 0, "/a/b"), 0);
	assert_string_equal(events, "-/a/b;");
	assert_int_equal(st_read(t, NULL, 0, "/a/b/c", &v, &len), -ENOENT);
	assert_int_equal(st_rm(t, NULL, 0, "/a/b"), 0);
	assert_int_equal(st_rm(t, NULL, 0, "/a/b/c"), -ENOENT);
	assert_int_equal(st_rm(t, NULL, 0, "/"), -EINVAL);
	assert_int_equal(st_directory(t, NULL, 0, "/a", &buf, &len, &gen2), 0);
	assert_int_equal(len, 2);
	assert_true(gen2 != gen);
	free(buf);
	st_tree_free(t);
}

static void
test_perms(void **state)
{
	struct st_tree *t = tree();
	struct ring_store_perm home[2] = { { 0, 'n' }, { 1, 'r' } };
	struct ring_store_perm grant[2] = { { 0, 'n' }, { 1, 'b' } };
	struct ring_store_perm mine[2] = { { 1, 'n' }, { 2, 'r' } };
	struct ring_store_perm steal[1] = { { 3, 'n' } };
	const struct ring_store_perm *p;
	unsigned n;
	const char *v;
	size_t len;
	(void)state;

	assert_int_equal(st_mkdir_as_store(t, "/local/domain/1", home, 2), 0);
	assert_int_equal(st_mkdir_as_store(t, "/local/domain/2",
					   (struct ring_store_perm[]){
						{ 0, 'n' }, { 2, 'r' } }, 2), 0);
	/* Readable, not writable: the home is dom0's. */
	assert_int_equal(st_read(t, NULL, 1, "/local/domain/1", &v, &len), 0);
	assert_int_equal(st_write(t, NULL, 1, "/local/domain/1/x", "1", 1),
			 -EACCES);
	/* Another domain's home: not even whether a key exists. */
	assert_int_equal(st_read(t, NULL, 1, "/local/domain/2", &v, &len),
			 -EACCES);
	assert_int_equal(st_read(t, NULL, 1, "/local/domain/2/nope", &v,
				 &len), -EACCES);
	assert_int_equal(st_read(t, NULL, 1, "/local/domain/1/nope", &v,
				 &len), -ENOENT);
	assert_int_equal(st_write(t, NULL, 1, "/local/domain/2/x", "1", 1),
			 -EACCES);
	/* Granted: writes, and owns what it creates. */
	assert_int_equal(st_mkdir(t, NULL, 0, "/local/domain/1/device"), 0);
	assert_int_equal(st_set_perms(t, NULL, 0, "/local/domain/1/device",
				      grant, 2), 0);
	assert_int_equal(st_write(t, NULL, 1, "/local/domain/1/device/a",
				  "v", 1), 0);
	assert_int_equal(st_get_perms(t, NULL, 1, "/local/domain/1/device/a",
				      &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].domid, 1);
	assert_int_equal(p[1].domid, 1);
	assert_int_equal(p[1].perm, 'b');
	/* The owner may set perms but not give the node away. */
	assert_int_equal(st_set_perms(t, NULL, 1, "/local/domain/1/device/a",
				      mine, 2), 0);
	assert_int_equal(st_set_perms(t, NULL, 1, "/local/domain/1/device/a",
				      steal, 1), -EPERM);
	assert_int_equal(st_set_perms(t, NULL, 2, "/local/domain/1/device/a",
				      mine, 2), -EACCES);
	assert_int_equal(st_read(t, NULL, 2, "/local/domain/1/device/a", &v,
				 &len), 0);
	assert_int_equal(st_write(t, NULL, 2, "/local/domain/1/device/a",
				  "x", 1), -EACCES);
	assert_int_equal(st_rm(t, NULL, 2, "/local/domain/1/device/a"),
			 -EACCES);
	assert_int_equal(st_set_perms(t, NULL, 0, "/local/domain/1/device/a",
				      (struct ring_store_perm[]){ { 1, 'x' } },
				      1), -EINVAL);
	/* Root: only dom0 writes it. */
	assert_int_equal(st_write(t, NULL, 1, "/", "x", 1), -EACCES);
	assert_int_equal(st_write(t, NULL, 1, "/top", "x", 1), -EACCES);
	st_tree_free(t);
}

static void
test_quota(void **state)
{
	struct st_tree *t = tree();
	struct ring_store_perm open[1] = { { 0, 'b' } };
	char path[64];
	int rc = 0;
	(void)state;

	assert_int_equal(st_mkdir_as_store(t, "/pub", open, 1), 0);
	assert_int_equal(st_write(t, NULL, 1, "/pub/big", "0123456789abcdefX",
				  17), -E2BIG);
	for (int i = 0; i < 20 && rc == 0; i++) {
		snprintf(path, sizeof(path), "/pub/k%d", i);
		rc = st_write(t, NULL, 1, path, "v", 1);
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(st_tree_owned(t, 1), 8);
	assert_int_equal(st_rm(t, NULL, 1, "/pub/k0"), 0);
	assert_int_equal(st_tree_owned(t, 1), 7);
	/* dom0 has no quota. */
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/pub/z%d", i);
		assert_int_equal(st_write(t, NULL, 0, path, "v", 1), 0);
	}
	st_tree_free(t);
}

static void
test_tx_isolation(void **state)
{
	struct st_tree *t = tree();
	struct st_tx *tx;
	const char *v;
	size_t len;
	(void)state;

	assert_int_equal(st_write(t, NULL, 0, "/a", "1", 1), 0);
	tx = st_tx_start(t, 0);
	assert_non_null(tx);
	events[0] = '\0';
	assert_int_equal(st_write(t, tx, 0, "/a", "2", 1), 0);
	assert_int_equal(st_write(t, tx, 0, "/n/m", "3", 1), 0);
	assert_string_equal(events, "");	/* nothing until commit */
	assert_val(t, tx, 0, "/a", "2");
	assert_val(t, NULL, 0, "/a", "1");
	assert_int_equal(st_read(t, NULL, 0, "/n/m", &v, &len), -ENOENT);
	assert_int_equal(st_tx_end(t, tx, true), 0);
	assert_string_equal(events, "/a;/n/m;");
	assert_val(t, NULL, 0, "/a", "2");
	assert_val(t, NULL, 0, "/n/m", "3");

	/* Abort discards. */
	tx = st_tx_start(t, 0);
	assert_int_equal(st_rm(t, tx, 0, "/n"), 0);
	assert_int_equal(st_read(t, tx, 0, "/n/m", &v, &len), -ENOENT);
	assert_int_equal(st_tx_end(t, tx, false), 0);
	assert_val(t, NULL, 0, "/n/m", "3");

	/* rm then re-read inside the tx is not a conflict. */
	tx = st_tx_start(t, 0);
	assert_int_equal(st_rm(t, tx, 0, "/n"), 0);
	assert_int_equal(st_read(t, tx, 0, "/n/m", &v, &len), -ENOENT);
	assert_int_equal(st_tx_end(t, tx, true), 0);
	assert_int_equal(st_read(t, NULL, 0, "/n/m", &v, &len), -ENOENT);
	st_tree_free(t);
}

static void
test_tx_conflicts(void **state)
{
	struct st_tree *t = tree();
	struct st_tx *tx, *tx2;
	const char *v;
	size_t len;
	char *buf;
	uint64_t gen;
	(void)state;

	assert_int_equal(st_write(t, NULL, 0, "/a", "1", 1), 0);
	assert_int_equal(st_write(t, NULL, 0, "/d/x", "1", 1), 0);

	/* Read, then someone else writes it: EAGAIN, nothing applied. */
	tx = st_tx_start(t, 0);
	assert_int_equal(st_read(t, tx, 0, "/a", &v, &len), 0);
	assert_int_equal(st_write(t, tx, 0, "/b", "tx", 2), 0);
	assert_int_equal(st_write(t, NULL, 0, "/a", "other", 5), 0);
	assert_int_equal(st_tx_end(t, tx, true), -EAGAIN);
	assert_int_equal(st_read(t, NULL, 0, "/b", &v, &len), -ENOENT);

	/* Disjoint writes by two transactions both commit. */
	tx = st_tx_start(t, 0);
	tx2 = st_tx_start(t, 0);
	assert_int_equal(st_write(t, tx, 0, "/p/one", "1", 1), 0);
	assert_int_equal(st_write(t, tx2, 0, "/q/two", "2", 1), 0);
	assert_int_equal(st_write(t, NULL, 0, "/r", "3", 1), 0);
	assert_int_equal(st_tx_end(t, tx, true), 0);
	assert_int_equal(st_tx_end(t, tx2, true), 0);
	assert_val(t, NULL, 0, "/p/one", "1");
	assert_val(t, NULL, 0, "/q/two", "2");

	/* Both create the same node: the second loses. */
	tx = st_tx_start(t, 0);
	tx2 = st_tx_start(t, 0);
	assert_int_equal(st_write(t, tx, 0, "/same", "1", 1), 0);
	assert_int_equal(st_write(t, tx2, 0, "/same", "2", 1), 0);
	assert_int_equal(st_tx_end(t, tx, true), 0);
	assert_int_equal(st_tx_end(t, tx2, true), -EAGAIN);
	assert_val(t, NULL, 0, "/same", "1");

	/* A listed directory that gains a child conflicts. */
	tx = st_tx_start(t, 0);
	assert_int_equal(st_directory(t, tx, 0, "/d", &buf, &len, &gen), 0);
	free(buf);
	assert_int_equal(st_write(t, NULL, 0, "/d/y", "1", 1), 0);
	assert_int_equal(st_tx_end(t, tx, true), -EAGAIN);

	/* A removed node the tx read conflicts. */
	tx = st_tx_start(t, 0);
	assert_int_equal(st_read(t, tx, 0, "/d/x", &v, &len), 0);
	assert_int_equal(st_rm(t, NULL, 0, "/d"), 0);
	assert_int_equal(st_tx_end(t, tx, true), -EAGAIN);
	st_tree_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_perms),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_tx_isolation),
		cmocka_unit_test(test_tx_conflicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
