/*
 * Unit tests for the backend -> frontend offer on the link
 * (ring_peer_offer, ring_share_process, ring_share_offer): a real forked
 * backend over a real listener socket offers a sealed memfd; the sender
 * refuses unsealed or wrong-sized ones; a hostile raw backend sends bad
 * offers, which the frontend refuses without leaking a single fd.
 *
 * Forked children never use cmocka: they report through their exit
 * status, and the parent asserts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "morgana/log.h"
#include "morgana/share.h"
#include "shm/share_internal.h"

#define BE_DOMID 7
#define FE_DOMID 3
#define SEALS_RO (F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

static char sock_path[108];

static void
new_path(void)
{
	static int n;

	snprintf(sock_path, sizeof(sock_path), "/tmp/morgana-test-offer-%d-%d",
		 (int)getpid(), n++);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static int warn_lines;

static void
count_log(void *arg, enum ring_log_level level, const char *line)
{
	(void)arg;
	if (level <= RING_LOG_WARN)
		warn_lines++;
	fprintf(stderr, "%s\n", line);
}

/* A memfd of len bytes whose first bytes are text, sealed with seals. */
static int
make_memfd(size_t len, const char *text, unsigned seals)
{
	int fd = memfd_create("offer-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return -1;
	if (text != NULL && pwrite(fd, text, strlen(text), 0) < 0)
		return -1;
	if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) < 0)
		return -1;
	return fd;
}

static int
accept_all(void *arg, uint16_t domid, pid_t pid)
{
	(void)arg;
	(void)pid;
	return domid == FE_DOMID ? 0 : -EPERM;
}

/* Wait for the child's "listening" byte on the pipe. */
static void
wait_ready(int rd)
{
	char c;

	assert_int_equal(read(rd, &c, 1), 1);
	close(rd);
}

static int
child_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Poll the share until offer id is there (or refused), or 5 s. */
static int
wait_offer(struct ring_share *s, uint32_t id, const void **a, size_t *len)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = ring_share_fd(s), .events = POLLIN };
		int rc = ring_share_offer(s, id, a, len);

		if (rc != -EAGAIN)
			return rc;
		poll(&p, 1, 10);
		rc = ring_share_process(s);
		if (rc == -EPIPE)
			return ring_share_offer(s, id, a, len);
	}
	return -ETIMEDOUT;
}

/* --- a well-behaved backend, through the real API --- */

static int
good_backend(int ready_wr)
{
	struct ring_listener *l;
	struct ring_peer *p = NULL;
	int fd, bad, rc;

	if (ring_listener_open(sock_path, &l) < 0)
		return 10;
	(void)!write(ready_wr, "r", 1);
	close(ready_wr);
	for (int i = 0; i < 500 && p == NULL; i++) {
		struct pollfd q = { .fd = ring_listener_fd(l), .events = POLLIN };

		poll(&q, 1, 10);
		if (ring_listener_accept(l, accept_all, NULL, &p) < 0)
			p = NULL;
	}
	if (p == NULL)
		return 11;
	/* The sender refuses what the receiver would refuse. */
	bad = make_memfd(4096, "x", 0);
	if (ring_peer_offer(p, 2, bad, 4096) != -EINVAL)
		return 12;
	close(bad);
	bad = make_memfd(4096, "x", F_SEAL_SHRINK | F_SEAL_GROW);
	if (ring_peer_offer(p, 2, bad, 4096) != -EINVAL)
		return 13;
	close(bad);
	fd = make_memfd(4096, "time page v1", 0);
	{
		/* Writable mapping first: the seal keeps it and refuses any
		 * new one, as clockd's writer does. */
		char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);

		if (w == MAP_FAILED || fcntl(fd, F_ADD_SEALS, SEALS_RO) < 0)
			return 14;
		if (ring_peer_offer(p, 1, fd, 8192) != -EINVAL)
			return 15;
		if (ring_peer_offer(p, 1, fd, 4096) != 0)
			return 16;
		close(fd);
		/* Our writes show in the frontend's mapping. */
		for (int i = 0; i < 500; i++) {
			rc = ring_peer_process(p);
			if (rc < 0)
				break;
			memcpy(w, "time page v2", 12);
			usleep(2000);
		}
		munmap(w, 4096);
	}
	if (rc != -EPIPE)
		return 17;
	/* Offering to a frontend that has gone says so. */
	fd = make_memfd(4096, "late", SEALS_RO);
	rc = ring_peer_offer(p, 3, fd, 4096);
	if (rc != -EPIPE)
		return 18;
	close(fd);
	ring_peer_close(p);
	ring_listener_close(l);
	return 0;
}

static void
test_offer_good(void **state)
{
	struct ring_share *s;
	const void *a;
	size_t len;
	int pfd[2], before;
	pid_t pid;

	(void)state;
	new_path();
	before = count_fds();
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		_exit(good_backend(pfd[1]));
	}
	close(pfd[1]);
	wait_ready(pfd[0]);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_offer(s, 1, &a, &len), -EAGAIN);
	assert_int_equal(ring_share_connect(s, sock_path, pid, FE_DOMID,
					    "device/clock/0"), 0);
	assert_int_equal(wait_offer(s, 1, &a, &len), 0);
	assert_int_equal(len, 4096);
	/* Shared with the backend's writable mapping: its update shows. */
	for (int i = 0; i < 500 && memcmp(a, "time page v2", 12) != 0; i++)
		usleep(2000);
	assert_memory_equal(a, "time page v2", 12);
	/* Read-only for good: neither mprotect nor a new mapping. */
	assert_int_equal(mprotect((void *)a, 4096, PROT_READ | PROT_WRITE), -1);
	assert_int_equal(ring_share_offer(s, 2, &a, &len), -EAGAIN);
	assert_int_equal(ring_share_alive(s), 0);
	ring_share_close(s);
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(count_fds(), before);
	unlink(sock_path);
}

/* --- a hostile backend: a raw listener writing records itself --- */

static int
raw_send_offer(int c, uint32_t magic, uint32_t id, uint64_t len, int *fds,
	       unsigned nfds)
{
	struct ring_link_offer o = {
		.magic = magic, .version = RING_LINK_VERSION,
		.type = RING_LINK_OFFER, .id = id, .len = len,
	};

	return ring_link__send(c, &o, sizeof(o), fds, nfds);
}

static int
hostile_backend(int ready_wr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l, c, fds[RING_LINK_MAX_FDS], f, g, ev;
	unsigned nfds;
	char buf[512];
	long n;

	strcpy(sa.sun_path, sock_path);
	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 4) < 0)
		return 10;
	(void)!write(ready_wr, "r", 1);
	close(ready_wr);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 11;
	/* The hello, its arenas dropped. */
	for (int i = 0; i < 500; i++) {
		n = ring_link__recv(c, buf, sizeof(buf), fds, &nfds);
		if (n != -EAGAIN)
			break;
		usleep(2000);
	}
	ring_link__close_fds(fds, nfds);
	/* 10: unsealed. */
	f = make_memfd(4096, "u", 0);
	raw_send_offer(c, RING_LINK_MAGIC, 10, 4096, &f, 1);
	close(f);
	/* 11: sealed, but not the announced size. */
	f = make_memfd(4096, "s", SEALS_RO);
	raw_send_offer(c, RING_LINK_MAGIC, 11, 8192, &f, 1);
	close(f);
	/* 12: not a memfd at all. */
	ev = eventfd(0, EFD_CLOEXEC);
	raw_send_offer(c, RING_LINK_MAGIC, 12, 8, &ev, 1);
	close(ev);
	/* Malformed: bad magic, two fds, no fd, zero and huge lengths. */
	f = make_memfd(4096, "m", SEALS_RO);
	g = make_memfd(4096, "m", SEALS_RO);
	raw_send_offer(c, 0xdeadbeef, 20, 4096, &f, 1);
	{
		int two[2] = { f, g };

		raw_send_offer(c, RING_LINK_MAGIC, 21, 4096, two, 2);
	}
	raw_send_offer(c, RING_LINK_MAGIC, 22, 4096, NULL, 0);
	raw_send_offer(c, RING_LINK_MAGIC, 23, 0, &f, 1);
	raw_send_offer(c, RING_LINK_MAGIC, 24, 1ull << 40, &f, 1);
	/* A record too long, with an fd. */
	memset(buf, 0, sizeof(buf));
	ring_link__send(c, buf, 100, &f, 1);
	/* 13: good, then a second 13 (refused; the first stays). */
	raw_send_offer(c, RING_LINK_MAGIC, 13, 4096, &f, 1);
	raw_send_offer(c, RING_LINK_MAGIC, 13, 4096, &g, 1);
	close(f);
	close(g);
	/* A flood: only RING_LINK_MAX_OFFERS are kept in all. */
	for (uint32_t id = 100; id < 140; id++) {
		f = make_memfd(4096, "flood", SEALS_RO);
		raw_send_offer(c, RING_LINK_MAGIC, id, 4096, &f, 1);
		close(f);
	}
	shutdown(c, SHUT_WR);
	/* Hold on until the frontend closes. */
	(void)!read(c, buf, sizeof(buf));
	close(c);
	close(l);
	return 0;
}

static void
test_offer_hostile(void **state)
{
	struct ring_share *s;
	const void *a;
	size_t len;
	int pfd[2], before, rc, kept = 0;
	pid_t pid;

	(void)state;
	new_path();
	ring_log_set_fn(count_log, NULL);
	warn_lines = 0;
	before = count_fds();
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		_exit(hostile_backend(pfd[1]));
	}
	close(pfd[1]);
	wait_ready(pfd[0]);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_connect(s, sock_path, pid, FE_DOMID,
					    "device/clock/0"), 0);
	/* Drain until EOF: everything bad is refused, the link survives
	 * until the backend closes it. */
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = ring_share_fd(s), .events = POLLIN };

		poll(&p, 1, 10);
		rc = ring_share_process(s);
		if (rc == -EPIPE)
			break;
		assert_true(rc == 0 || rc == -EPROTO);
	}
	assert_int_equal(ring_share_alive(s), -EPIPE);
	assert_int_equal(ring_share_offer(s, 10, &a, &len), -EPROTO);
	assert_int_equal(ring_share_offer(s, 11, &a, &len), -EPROTO);
	assert_int_equal(ring_share_offer(s, 12, &a, &len), -EPROTO);
	for (uint32_t id = 20; id <= 24; id++)
		assert_int_equal(ring_share_offer(s, id, &a, &len), -EAGAIN);
	assert_int_equal(ring_share_offer(s, 13, &a, &len), 0);
	assert_int_equal(len, 4096);
	assert_int_equal(((const char *)a)[0], 'm');
	for (uint32_t id = 100; id < 140; id++)
		if (ring_share_offer(s, id, &a, &len) == 0)
			kept++;
	/* 10, 11, 12, 13 took four of the sixteen places. */
	assert_int_equal(kept, RING_LINK_MAX_OFFERS - 4);
	/* Every refusal said so, the flood once. */
	assert_int_equal(warn_lines, 3 + 5 + 1 + 1 + 1);
	/* Offers are mapped, never kept as fds. */
	/* The link and the two arenas. */
	assert_int_equal(count_fds(), before + 3);
	ring_share_close(s);
	ring_log_set_fn(NULL, NULL);
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(count_fds(), before);
	unlink(sock_path);
}

/* A backend that has gone: offers it made stay readable until close. */
static void
test_offer_outlives_backend(void **state)
{
	struct ring_share *s;
	const void *a;
	size_t len;
	int pfd[2];
	pid_t pid;

	(void)state;
	new_path();
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_listener *l;
		struct ring_peer *p = NULL;
		int fd;

		close(pfd[0]);
		if (ring_listener_open(sock_path, &l) < 0)
			_exit(10);
		(void)!write(pfd[1], "r", 1);
		for (int i = 0; i < 500 && p == NULL; i++) {
			usleep(10000);
			if (ring_listener_accept(l, accept_all, NULL, &p) < 0)
				p = NULL;
		}
		fd = make_memfd(8192, "kept", SEALS_RO);
		if (p == NULL || ring_peer_offer(p, 7, fd, 8192) != 0)
			_exit(11);
		_exit(0);	/* dies without closing anything */
	}
	close(pfd[1]);
	wait_ready(pfd[0]);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_connect(s, sock_path, pid, FE_DOMID,
					    "device/clock/0"), 0);
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(wait_offer(s, 7, &a, &len), 0);
	assert_int_equal(len, 8192);
	assert_int_equal(ring_share_alive(s), -EPIPE);
	assert_memory_equal(a, "kept", 4);
	ring_share_close(s);
	unlink(sock_path);
}

/* The pure decoder: every field checked. */
static void
test_decode_offer(void **state)
{
	struct ring_link_offer o = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_OFFER, .id = 5, .len = 4096,
	}, b;
	uint32_t id;
	uint64_t len;

	(void)state;
	assert_int_equal(ring_link__decode_offer(&o, sizeof(o), 1, &id, &len), 0);
	assert_int_equal(id, 5);
	assert_int_equal(len, 4096);
	assert_int_equal(ring_link__decode_offer(&o, sizeof(o), 0, &id, &len),
			 -EPROTO);
	assert_int_equal(ring_link__decode_offer(&o, sizeof(o) - 1, 1, &id,
						 &len), -EPROTO);
	b = o;
	b.version = 2;
	assert_int_equal(ring_link__decode_offer(&b, sizeof(b), 1, &id, &len),
			 -EPROTO);
	b = o;
	b.type = RING_LINK_CHAN;
	assert_int_equal(ring_link__decode_offer(&b, sizeof(b), 1, &id, &len),
			 -EPROTO);
	b = o;
	b.reserved = 1;
	assert_int_equal(ring_link__decode_offer(&b, sizeof(b), 1, &id, &len),
			 -EPROTO);
	b = o;
	b.len = RING_LINK_OFFER_MAX_LEN + 1;
	assert_int_equal(ring_link__decode_offer(&b, sizeof(b), 1, &id, &len),
			 -EPROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_offer),
		cmocka_unit_test(test_offer_good),
		cmocka_unit_test(test_offer_hostile),
		cmocka_unit_test(test_offer_outlives_backend),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
