/*
 * Unit tests for the store over its socket: the client library against the
 * server library (run in a thread), watches, transactions, introduce and
 * release, identity of forked domains, and hostile clients and stores.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <xen/io/xs_wire.h>

#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/store_server.h"

static char sock[108];
static struct ring_store_server *srv;
static pthread_t thr;
static int stopfd;

static void *
server_main(void *arg)
{
	struct pollfd p[2] = { { ring_store_server_fd(srv), POLLIN, 0 },
			       { stopfd, POLLIN, 0 } };
	(void)arg;
	for (;;) {
		poll(p, 2, -1);
		if (p[1].revents)
			return NULL;
		ring_store_server_dispatch(srv);
	}
}

static int
setup(void **state)
{
	struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock,
					    .max_nodes = 50, .max_watches = 5,
					    .max_tx = 3 };
	(void)state;
	snprintf(sock, sizeof(sock), "/tmp/test_store.%d.sock", (int)getpid());
	assert_int_equal(ring_store_server_open(&o, &srv), 0);
	stopfd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(pthread_create(&thr, NULL, server_main, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	uint64_t one = 1;
	(void)state;
	assert_int_equal(write(stopfd, &one, sizeof(one)), 8);
	pthread_join(thr, NULL);
	ring_store_server_close(srv);
	close(stopfd);
	assert_int_equal(access(sock, F_OK), -1);
	return 0;
}

static struct ring_store *
conn(void)
{
	struct ring_store *st;

	assert_int_equal(ring_store_open(sock, &st), 0);
	return st;
}

/* A raw connection for speaking bad protocol. */
static int
raw(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
raw_send(int fd, uint32_t type, uint32_t req, uint32_t len, const void *p,
	 size_t plen)
{
	struct xsd_sockmsg h = { type, req, 0, len };

	assert_int_equal(send(fd, &h, sizeof(h), MSG_NOSIGNAL), sizeof(h));
	if (plen)
		assert_int_equal(send(fd, p, plen, MSG_NOSIGNAL), (ssize_t)plen);
}

/* Read one message; returns its type, or -1 on EOF. */
static int
raw_recv(int fd, char *buf, size_t cap, struct xsd_sockmsg *h)
{
	size_t got = 0;

	while (got < sizeof(*h)) {
		ssize_t n = recv(fd, (char *)h + got, sizeof(*h) - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	assert_true(h->len <= cap);
	for (got = 0; got < h->len; ) {
		ssize_t n = recv(fd, buf + got, h->len - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return (int)h->type;
}

static void
assert_event(struct ring_store *st, const char *path, const char *token)
{
	char *p, *t;

	assert_int_equal(ring_store_wait_watch(st, 2000, &p, &t), 1);
	assert_string_equal(p, path);
	assert_string_equal(t, token);
	free(p);
	free(t);
}

static void
assert_no_event(struct ring_store *st)
{
	char *p, *t;
	int rc = ring_store_wait_watch(st, 100, &p, &t);

	if (rc == 1) {
		fprintf(stderr, "unexpected event %s %s\n", p, t);
		free(p);
		free(t);
	}
	assert_int_equal(rc, -ETIMEDOUT);
}

static void
test_basic(void **state)
{
	struct ring_store *st = conn();
	struct ring_store_perm *p, set[2] = { { 0, 'n' }, { 7, 'r' } };
	char *v, **names;
	unsigned long u;
	unsigned n;
	size_t len;
	uint16_t me = 99;
	(void)state;

	assert_int_equal(ring_store_write(st, 0, "/t/a", "hello", 5), 0);
	assert_int_equal(ring_store_read(st, 0, "/t/a", &v, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(v, "hello");
	free(v);
	assert_int_equal(ring_store_printf(st, 0, "/t/n", "%d", 42), 0);
	assert_int_equal(ring_store_read_uint(st, 0, "/t/n", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(ring_store_read_uint(st, 0, "/t/a", &u), -EINVAL);
	assert_int_equal(ring_store_read_uint(st, 0, "/t/zz", &u), -ENOENT);
	assert_int_equal(ring_store_mkdir(st, 0, "/t/d"), 0);
	assert_int_equal(ring_store_directory(st, 0, "/t", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[2], "d");
	ring_store_free_names(names, n);
	assert_int_equal(ring_store_directory(st, 0, "/t/d", &names, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ring_store_set_perms(st, 0, "/t/a", set, 2), 0);
	assert_int_equal(ring_store_get_perms(st, 0, "/t/a", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[1].domid, 7);
	assert_int_equal(p[1].perm, 'r');
	free(p);
	assert_int_equal(ring_store_rm(st, 0, "/t"), 0);
	assert_int_equal(ring_store_read(st, 0, "/t/a", &v, &len), -ENOENT);
	assert_int_equal(ring_store_rm(st, 0, "/t/x/y"), -ENOENT);
	assert_int_equal(ring_store_read(st, 0, "/bad//path", &v, &len),
			 -EINVAL);
	assert_int_equal(ring_store_get_domain_path(st, 5, &v), 0);
	assert_string_equal(v, "/local/domain/5");
	free(v);
	/* Relative paths are dom0's home here. */
	assert_int_equal(ring_store_write(st, 0, "rel", "r", 1), 0);
	assert_int_equal(ring_store_read(st, 0, "/local/domain/0/rel", &v,
					 &len), 0);
	free(v);
	assert_int_equal(ring_store_self(st, &me), 0);
	assert_int_equal(me, 0);
	ring_store_close(st);
}

static void
test_directory_parts(void **state)
{
	struct ring_store *st = conn();
	char path[128], **names;
	unsigned n;
	(void)state;

	/* 300 names of ~40 bytes: ~12 KiB of list, three parts. */
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path),
			 "/big/child-with-a-fairly-long-name-%04d", i);
		assert_int_equal(ring_store_write(st, 0, path, "", 0), 0);
	}
	assert_int_equal(ring_store_directory(st, 0, "/big", &names, &n), 0);
	assert_int_equal(n, 300);
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path),
			 "child-with-a-fairly-long-name-%04u", i);
		assert_string_equal(names[i], path);
	}
	ring_store_free_names(names, n);
	assert_int_equal(ring_store_rm(st, 0, "/big"), 0);
	ring_store_close(st);
}

static void
test_watches(void **state)
{
	struct ring_store *st = conn(), *w = conn();
	struct pollfd pfd = { .fd = ring_store_fd(w), .events = POLLIN };
	char *p, *t;
	(void)state;

	assert_int_equal(ring_store_next_watch(w, &p, &t), 0);
	assert_int_equal(ring_store_watch(w, "/w/a", "tok"), 0);
	/* Fires once immediately, and the fd says so. */
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_event(w, "/w/a", "tok");
	assert_int_equal(ring_store_watch(w, "/w/a", "tok"), -EEXIST);
	assert_int_equal(ring_store_write(st, 0, "/w/a/b/c", "1", 1), 0);
	assert_event(w, "/w/a/b/c", "tok");
	assert_int_equal(ring_store_write(st, 0, "/w/a", "1", 1), 0);
	assert_event(w, "/w/a", "tok");
	assert_int_equal(ring_store_write(st, 0, "/w/ab", "1", 1), 0);
	assert_int_equal(ring_store_write(st, 0, "/w", "1", 1), 0);
	assert_no_event(w);
	/* Removing a parent fires with the watched path. */
	assert_int_equal(ring_store_rm(st, 0, "/w"), 0);
	assert_event(w, "/w/a", "tok");
	/* Events queued during a request keep the fd readable. */
	assert_int_equal(ring_store_write(st, 0, "/w/a", "2", 1), 0);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(ring_store_write(w, 0, "/other", "x", 1), 0);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_event(w, "/w/a", "tok");
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* Relative watch, relative events. */
	assert_int_equal(ring_store_watch(w, "dev", "rel"), 0);
	assert_event(w, "dev", "rel");
	assert_int_equal(ring_store_write(st, 0, "/local/domain/0/dev/x", "1",
					  1), 0);
	assert_event(w, "dev/x", "rel");
	/* Unwatch stops them. */
	assert_int_equal(ring_store_unwatch(w, "/w/a", "tok"), 0);
	assert_int_equal(ring_store_unwatch(w, "/w/a", "tok"), -ENOENT);
	assert_int_equal(ring_store_write(st, 0, "/w/a", "3", 1), 0);
	assert_no_event(w);
	/* Transactions fire at commit only. */
	uint32_t tx;

	assert_int_equal(ring_store_watch(w, "/txw", "t"), 0);
	assert_event(w, "/txw", "t");
	assert_int_equal(ring_store_tx_start(st, &tx), 0);
	assert_int_equal(ring_store_write(st, tx, "/txw/k", "1", 1), 0);
	assert_no_event(w);
	assert_int_equal(ring_store_tx_end(st, tx, true), 0);
	assert_event(w, "/txw/k", "t");
	ring_store_close(w);
	ring_store_close(st);
}

static void
test_transactions(void **state)
{
	struct ring_store *a = conn(), *b = conn();
	uint32_t tx, tx2;
	char *v;
	size_t len;
	(void)state;

	assert_int_equal(ring_store_write(a, 0, "/tx/x", "0", 1), 0);
	assert_int_equal(ring_store_tx_start(a, &tx), 0);
	assert_int_equal(ring_store_read(a, tx, "/tx/x", &v, &len), 0);
	free(v);
	assert_int_equal(ring_store_write(a, tx, "/tx/y", "1", 1), 0);
	assert_int_equal(ring_store_read(b, 0, "/tx/y", &v, &len), -ENOENT);
	assert_int_equal(ring_store_write(b, 0, "/tx/x", "b", 1), 0);
	assert_int_equal(ring_store_tx_end(a, tx, true), -EAGAIN);
	assert_int_equal(ring_store_read(b, 0, "/tx/y", &v, &len), -ENOENT);
	assert_int_equal(ring_store_tx_end(a, tx, true), -ENOENT);

	assert_int_equal(ring_store_tx_start(a, &tx), 0);
	assert_int_equal(ring_store_tx_start(b, &tx2), 0);
	assert_int_equal(ring_store_write(a, tx, "/tx/p", "a", 1), 0);
	assert_int_equal(ring_store_write(b, tx2, "/tx/q", "b", 1), 0);
	assert_int_equal(ring_store_tx_end(a, tx, true), 0);
	assert_int_equal(ring_store_tx_end(b, tx2, true), 0);
	assert_int_equal(ring_store_read(b, 0, "/tx/p", &v, &len), 0);
	free(v);
	assert_int_equal(ring_store_read(a, 0, "/tx/q", &v, &len), 0);
	free(v);
	/* Another connection's tx id is not ours. */
	assert_int_equal(ring_store_tx_start(a, &tx), 0);
	assert_int_equal(ring_store_read(b, tx, "/tx/p", &v, &len), -ENOENT);
	assert_int_equal(ring_store_tx_end(a, tx, false), 0);
	ring_store_close(a);
	ring_store_close(b);
}

static void
test_introduce_release(void **state)
{
	struct ring_store *st = conn(), *w = conn();
	struct ring_store_perm *p;
	unsigned n;
	unsigned long u;
	pid_t child = fork();
	int fd;
	char buf[64];
	struct xsd_sockmsg h;
	(void)state;

	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(ring_store_watch(w, "@introduceDomain", "i"), 0);
	assert_int_equal(ring_store_watch(w, "@releaseDomain", "r"), 0);
	assert_event(w, "@introduceDomain", "i");
	assert_event(w, "@releaseDomain", "r");
	assert_int_equal(ring_store_introduce(st, 9, child), 0);
	assert_event(w, "@introduceDomain", "i");
	assert_int_equal(ring_store_introduce(st, 9, child), 0);
	assert_int_equal(ring_store_introduce(st, 10, child), -EEXIST);
	assert_int_equal(ring_store_introduce(st, 9, child + 100000), -EEXIST);
	assert_int_equal(ring_store_introduce(st, 0, child), -EINVAL);
	assert_int_equal(ring_store_read_uint(st, 0, "/local/domain/9/pid",
					      &u), 0);
	assert_int_equal(u, (unsigned long)child);
	assert_int_equal(ring_store_read_uint(st, 0, "/local/domain/9/domid",
					      &u), 0);
	assert_int_equal(u, 9);
	assert_int_equal(ring_store_get_perms(st, 0, "/local/domain/9", &p,
					      &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].domid, 0);
	assert_int_equal(p[0].perm, 'n');
	assert_int_equal(p[1].domid, 9);
	assert_int_equal(p[1].perm, 'r');
	free(p);
	assert_int_equal(ring_store_get_perms(st, 0, "/local/domain/9/pid", &p,
					      &n), 0);
	assert_int_equal(p[0].perm, 'r');
	free(p);
	fd = raw();
	raw_send(fd, XS_IS_DOMAIN_INTRODUCED, 5, 2, "9", 2);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h),
			 XS_IS_DOMAIN_INTRODUCED);
	assert_int_equal(h.req_id, 5);
	assert_string_equal(buf, "T");
	assert_int_equal(ring_store_release(st, 9), 0);
	assert_event(w, "@releaseDomain", "r");
	assert_int_equal(ring_store_release(st, 9), -ENOENT);
	raw_send(fd, XS_IS_DOMAIN_INTRODUCED, 6, 2, "9", 2);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h),
			 XS_IS_DOMAIN_INTRODUCED);
	assert_string_equal(buf, "F");
	close(fd);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ring_store_close(w);
	ring_store_close(st);
}

/* Child body for the domain test: exit code 0 on success, else the line. */
#define CHECK(x) do { if (!(x)) _exit(__LINE__ % 250 + 1); } while (0)

static void
domain1(int go)
{
	struct ring_store *st;
	char c, *v;
	size_t len;
	uint16_t me;
	pid_t gc;
	int status;

	CHECK(read(go, &c, 1) == 1);
	CHECK(ring_store_open(sock, &st) == 0);
	CHECK(ring_store_self(st, &me) == 0 && me == 1);
	/* Its own home: readable, not writable (dom0 owns it). */
	CHECK(ring_store_read(st, 0, "domid", &v, &len) == 0);
	free(v);
	CHECK(ring_store_write(st, 0, "x", "1", 1) == -EACCES);
	/* Domain 2's paths: nothing. */
	CHECK(ring_store_write(st, 0, "/local/domain/2/x", "1", 1) ==
	      -EACCES);
	CHECK(ring_store_read(st, 0, "/local/domain/2/secret", &v, &len) ==
	      -EACCES);
	/* ...except what is readable by all. */
	CHECK(ring_store_read(st, 0, "/local/domain/2/pid", &v, &len) == 0);
	free(v);
	/* Where given rights, it writes and owns what it made. */
	CHECK(ring_store_write(st, 0, "/local/domain/2/shared/k", "v", 1) ==
	      0);
	CHECK(ring_store_write(st, 0, "device/vif/0/state", "1", 1) == 0);
	CHECK(ring_store_introduce(st, 5, getpid()) == -EACCES);
	CHECK(ring_store_release(st, 2) == -EACCES);
	/* Quota: 50 nodes per domain in this server. */
	int rc = 0;

	for (int i = 0; i < 60 && rc == 0; i++) {
		char path[64];

		snprintf(path, sizeof(path), "device/q%d", i);
		rc = ring_store_write(st, 0, path, "", 0);
	}
	CHECK(rc == -ENOSPC);
	/* Watch and transaction quotas (5 and 3 in this server). */
	uint32_t tx;
	char *p, *t;

	for (int i = 0; i < 5; i++) {
		char tok[8];

		snprintf(tok, sizeof(tok), "t%d", i);
		CHECK(ring_store_watch(st, "device", tok) == 0);
	}
	CHECK(ring_store_watch(st, "device", "t5") == -E2BIG);
	while (ring_store_next_watch(st, &p, &t) == 1) {
		free(p);
		free(t);
	}
	for (int i = 0; i < 3; i++)
		CHECK(ring_store_tx_start(st, &tx) == 0);
	CHECK(ring_store_tx_start(st, &tx) == -ENOSPC);
	ring_store_close(st);
	/* A child process of domain 1 is domain 1. */
	gc = fork();
	if (gc == 0) {
		CHECK(ring_store_open(sock, &st) == 0);
		CHECK(ring_store_self(st, &me) == 0 && me == 1);
		CHECK(ring_store_write(st, 0, "/local/domain/2/x", "1", 1) ==
		      -EACCES);
		ring_store_close(st);
		_exit(0);
	}
	CHECK(waitpid(gc, &status, 0) == gc);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	_exit(0);
}

static void
test_domains(void **state)
{
	struct ring_store *st = conn();
	struct ring_store_perm shared[2] = { { 2, 'n' }, { 1, 'b' } };
	struct ring_store_perm dev[1] = { { 1, 'n' } };
	int go[2], status;
	pid_t d1, d2;
	char *v;
	size_t len;
	(void)state;

	assert_int_equal(pipe(go), 0);
	d1 = fork();
	if (d1 == 0) {
		close(go[1]);
		domain1(go[0]);
	}
	d2 = fork();
	if (d2 == 0) {
		pause();
		_exit(0);
	}
	close(go[0]);
	assert_int_equal(ring_store_introduce(st, 1, d1), 0);
	assert_int_equal(ring_store_introduce(st, 2, d2), 0);
	assert_int_equal(ring_store_write(st, 0, "/local/domain/2/secret",
					  "s", 1), 0);
	assert_int_equal(ring_store_mkdir(st, 0, "/local/domain/2/shared"), 0);
	assert_int_equal(ring_store_set_perms(st, 0, "/local/domain/2/shared",
					      shared, 2), 0);
	assert_int_equal(ring_store_mkdir(st, 0, "/local/domain/1/device"), 0);
	assert_int_equal(ring_store_set_perms(st, 0, "/local/domain/1/device",
					      dev, 1), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(d1, &status, 0), d1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ring_store_read(st, 0, "/local/domain/2/shared/k", &v,
					 &len), 0);
	assert_string_equal(v, "v");
	free(v);
	assert_int_equal(ring_store_release(st, 1), 0);
	assert_int_equal(ring_store_release(st, 2), 0);
	kill(d2, SIGKILL);
	waitpid(d2, NULL, 0);
	close(go[1]);
	ring_store_close(st);
}

static void
test_malformed(void **state)
{
	struct ring_store *good = conn();
	struct xsd_sockmsg h;
	char buf[4096 + 64];
	int fd;
	(void)state;

	/* Unknown type: ENOSYS, the connection lives. */
	fd = raw();
	raw_send(fd, 123, 7, 2, "x", 2);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), XS_ERROR);
	assert_int_equal(h.req_id, 7);
	assert_string_equal(buf, "ENOSYS");
	raw_send(fd, XS_CONTROL, 8, 0, NULL, 0);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), XS_ERROR);
	raw_send(fd, XS_READ, 9, 3, "/x", 3);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), XS_ERROR);
	assert_string_equal(buf, "ENOENT");
	/* Too long: disconnected. */
	raw_send(fd, XS_READ, 10, 5000, NULL, 0);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), -1);
	close(fd);
	/* Missing NUL: disconnected. */
	fd = raw();
	raw_send(fd, XS_READ, 1, 2, "/x", 2);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), -1);
	close(fd);
	/* A reply type from a client: disconnected. */
	fd = raw();
	raw_send(fd, XS_WATCH_EVENT, 1, 4, "/x\0t", 4);
	assert_int_equal(raw_recv(fd, buf, sizeof(buf), &h), -1);
	close(fd);
	/* Half a message then EOF. */
	fd = raw();
	raw_send(fd, XS_READ, 1, 100, "/x", 2);
	close(fd);
	/* The others never noticed. */
	assert_int_equal(ring_store_write(good, 0, "/still", "ok", 2), 0);
	ring_store_close(good);
}

static void
test_slow_reader(void **state)
{
	struct ring_store *st = conn();
	char path[3100], buf[4096 + 64];
	struct xsd_sockmsg h;
	int fd = raw(), rc, i, nmsg = 0;
	(void)state;

	/* A watcher that never reads while 3 KB events pile up. */
	raw_send(fd, XS_WATCH, 1, 5, "/s\0t", 5);
	memset(path, 'p', sizeof(path));
	memcpy(path, "/s/", 3);
	path[3000] = '\0';
	for (i = 0; i < 400; i++) {
		path[4] = (char)('a' + i % 26);
		path[5] = (char)('a' + i / 26);
		assert_int_equal(ring_store_write(st, 0, path, "", 0), 0);
	}
	/* It is dropped: after what the kernel buffered, EOF. */
	do {
		rc = raw_recv(fd, buf, sizeof(buf), &h);
		nmsg++;
	} while (rc >= 0 && nmsg < 1000);
	assert_int_equal(rc, -1);
	assert_true(nmsg < 400);
	close(fd);
	assert_int_equal(ring_store_rm(st, 0, "/s"), 0);
	ring_store_close(st);
}

/* A hostile store: one client, answers every request with `bad`. */
struct fake {
	int lfd;
	int mode;
};

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	char buf[4200];
	struct xsd_sockmsg h;
	int fd = accept(f->lfd, NULL, NULL);

	while (raw_recv(fd, buf, sizeof(buf), &h) >= 0) {
		if (f->mode == 0) {		/* wrong req_id */
			h.req_id++;
			h.len = 3;
			send(fd, &h, sizeof(h), MSG_NOSIGNAL);
			send(fd, "OK", 3, MSG_NOSIGNAL);
		} else if (f->mode == 1) {	/* oversized */
			h.len = 100000;
			send(fd, &h, sizeof(h), MSG_NOSIGNAL);
		} else {			/* hang up */
			break;
		}
	}
	close(fd);
	return NULL;
}

static void
test_hostile_store(void **state)
{
	char path[108];
	(void)state;

	snprintf(path, sizeof(path), "/tmp/test_store_fake.%d", (int)getpid());
	for (int mode = 0; mode < 3; mode++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct fake f = { .mode = mode };
		struct ring_store *st;
		pthread_t t;
		char *v;
		size_t len;

		strcpy(sa.sun_path, path);
		unlink(path);
		f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa,
				      sizeof(sa)), 0);
		assert_int_equal(listen(f.lfd, 1), 0);
		pthread_create(&t, NULL, fake_main, &f);
		assert_int_equal(ring_store_open(path, &st), 0);
		assert_int_equal(ring_store_read(st, 0, "/x", &v, &len),
				 mode == 2 ? -EPIPE : -EPROTO);
		assert_int_equal(ring_store_write(st, 0, "/x", "", 0), -EPIPE);
		assert_int_equal(ring_store_next_watch(st, &v, &v), -EPIPE);
		ring_store_close(st);
		pthread_join(t, NULL);
		close(f.lfd);
		unlink(path);
	}
}

static void
test_socket_file(void **state)
{
	struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };
	struct ring_store_server *s2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat stb;
	char stale[108];
	int fd;
	(void)state;

	/* A live server keeps its socket; the socket is 0600. */
	assert_int_equal(ring_store_server_open(&o, &s2), -EADDRINUSE);
	assert_int_equal(stat(sock, &stb), 0);
	assert_int_equal(stb.st_mode & 0777, 0600);
	o.sz = 4;
	assert_int_equal(ring_store_server_open(&o, &s2), -EINVAL);
	/* A stale socket file (nobody listening) is replaced. */
	snprintf(stale, sizeof(stale), "/tmp/test_store.%d.stale", (int)getpid());
	strcpy(sa.sun_path, stale);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	o = (struct ring_store_server_opts){ .sz = sizeof(o), .path = stale };
	assert_int_equal(ring_store_server_open(&o, &s2), 0);
	ring_store_server_close(s2);
	assert_int_equal(access(stale, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_directory_parts),
		cmocka_unit_test(test_watches),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_introduce_release),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_hostile_store),
		cmocka_unit_test(test_socket_file),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
