/*
 * Unit tests for morgana/share.h over the shm transport: grants mapped by
 * a real forked backend across a real listener socket, read-only
 * isolation, who may receive an arena, liveness, channels, and hostile
 * hellos and channel records.
 *
 * Processes: where a test is about another process, it forks one.  A
 * forked backend is driven by commands over a pipe (struct cmd) and never
 * uses cmocka: it answers with return codes, and the parent asserts.
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

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "shm/share_internal.h"

/* Our table entry and flags are Xen's. */
_Static_assert(sizeof(struct ring_gntent) == sizeof(struct grant_entry_v1),
	       "entry size");
_Static_assert(offsetof(struct grant_entry_v1, frame) ==
	       offsetof(struct ring_gntent, frame), "frame offset");
_Static_assert(offsetof(struct grant_entry_v1, domid) == 2, "domid offset");
_Static_assert(RING_GTF_permit_access == GTF_permit_access &&
	       RING_GTF_readonly == GTF_readonly &&
	       RING_GTF_reading == GTF_reading &&
	       RING_GTF_writing == GTF_writing &&
	       RING_GTF_type_mask == GTF_type_mask, "GTF values");

#define BE_DOMID 7
#define FE_DOMID 3
#define REFUSED_DOMID 66
#define WAIT_MS 5000

static char sock_path[108];

static void
new_path(void)
{
	static int n;

	snprintf(sock_path, sizeof(sock_path), "/tmp/morgana-test-share-%d-%d",
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
	return n - 1;	/* the directory's own fd */
}

static int
wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* Log lines at warn or worse, counted so that tests can check that each
 * refusal says so once. */
static int warn_lines;

static void
count_log(void *arg, enum ring_log_level level, const char *line)
{
	(void)arg;
	if (level <= RING_LOG_WARN)
		warn_lines++;
	fprintf(stderr, "%s\n", line);
}

/* --- the forked backend --- */

enum {
	OP_ACCEPT = 1, OP_INFO, OP_MAP, OP_UNMAP, OP_POKE, OP_PEEK,
	OP_COPY_FROM, OP_COPY_TO, OP_RO_MMAP_W, OP_RO_MPROTECT, OP_RO_PWRITE,
	OP_BIND, OP_BIND_WAIT, OP_NOTIFY, OP_WAIT, OP_EXIT,
};

struct cmd {
	int op;
	uint32_t a, b, c;
};

struct rsp {
	int rc;
	uint32_t val;
};

struct backend {
	pid_t pid;
	int cmd;	/* parent writes */
	int rsp;	/* parent reads */
};

static int
authorize_child(void *arg, uint16_t domid, pid_t pid)
{
	(void)arg;
	/* Only our parent, the test, may act as a frontend. */
	if (domid == REFUSED_DOMID || pid != getppid())
		return -EPERM;
	return 0;
}

static int
authorize_self(void *arg, uint16_t domid, pid_t pid)
{
	(void)arg;
	(void)domid;
	return pid == getpid() ? 0 : -EPERM;
}

static int
authorize_pid(void *arg, uint16_t domid, pid_t pid)
{
	(void)domid;
	return pid == *(pid_t *)arg ? 0 : -EPERM;
}

static int
accept_wait(struct ring_listener *l, ring_authorize_fn *fn, void *arg,
	    struct ring_peer **p, int ms)
{
	int rc;

	for (int t = 0; t < ms; t += 10) {
		rc = ring_listener_accept(l, fn, arg, p);
		if (rc != -EAGAIN)
			return rc;
		wait_readable(ring_listener_fd(l), 10);
	}
	return -ETIMEDOUT;
}

/* A forked child must die of its own signals, not run cmocka's
 * handlers (which would resume the test run in the child). */
static void
child_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

static void
backend_main(int cin, int cout)
{
	struct ring_listener *l;
	struct ring_peer *p = NULL;
	struct ring_evtchn *ev[8] = { 0 };
	static unsigned char *maps[1024];
	unsigned char buf[RING_PAGE_SIZE];
	struct cmd c;
	struct rsp r;
	int rw, ro;
	void *m;

	r.rc = ring_listener_open(sock_path, &l);
	r.val = 0;
	if (write(cout, &r, sizeof(r)) != sizeof(r) || r.rc < 0)
		_exit(2);
	while (read(cin, &c, sizeof(c)) == sizeof(c)) {
		r = (struct rsp){ 0, 0 };
		if (c.op != OP_ACCEPT && c.op != OP_EXIT && p == NULL) {
			r.rc = -ENOTCONN;
			goto reply;
		}
		switch (c.op) {
		case OP_ACCEPT:
			r.rc = accept_wait(l, authorize_child, NULL, &p, WAIT_MS);
			break;
		case OP_INFO:
			r.val = ring_peer_domid(p);
			r.rc = strcmp(ring_peer_device(p), "device/kv/0") ? -1
									  : 0;
			break;
		case OP_MAP:
			r.rc = ring_peer_map(p, c.a, c.b, &m);
			if (r.rc == 0 && c.a < 1024)
				maps[c.a] = m;
			break;
		case OP_UNMAP:
			r.rc = ring_peer_unmap(p, c.a);
			break;
		case OP_POKE:
			maps[c.a][c.b] = (unsigned char)c.c;
			break;
		case OP_PEEK:
			r.val = maps[c.a][c.b];
			break;
		case OP_COPY_FROM:
			memset(buf, 0, sizeof(buf));
			r.rc = ring_peer_copy_from(p, c.a, c.b, buf, c.c);
			r.val = buf[0];
			break;
		case OP_COPY_TO:
			memset(buf, 0xab, sizeof(buf));
			r.rc = ring_peer_copy_to(p, c.a, c.b, buf, c.c);
			break;
		case OP_RO_MMAP_W:
			ring_peer__arena_fds(p, &rw, &ro);
			m = mmap(NULL, RING_PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED, ro, 0);
			r.rc = m == MAP_FAILED ? -errno : 0;
			break;
		case OP_RO_MPROTECT:
			r.rc = mprotect(maps[c.a], RING_PAGE_SIZE,
					PROT_READ | PROT_WRITE) < 0 ? -errno : 0;
			break;
		case OP_RO_PWRITE:
			ring_peer__arena_fds(p, &rw, &ro);
			r.rc = pwrite(ro, "x", 1, 0) < 0 ? -errno : 0;
			break;
		case OP_BIND:
			r.rc = ring_peer_bind(p, c.a, &ev[c.a & 7]);
			break;
		case OP_BIND_WAIT:
			for (int t = 0; t < WAIT_MS; t += 10) {
				r.rc = ring_peer_process(p);
				if (r.rc < 0)
					break;
				r.rc = ring_peer_bind(p, c.a, &ev[c.a & 7]);
				if (r.rc != -EAGAIN)
					break;
				wait_readable(ring_peer_fd(p), 10);
			}
			break;
		case OP_NOTIFY:
			r.rc = ring_evtchn_notify(ev[c.a & 7]);
			break;
		case OP_WAIT:
			r.rc = ring_evtchn_wait(ev[c.a & 7], WAIT_MS);
			break;
		case OP_EXIT:
			for (int i = 0; i < 8; i++)
				ring_evtchn_close(ev[i]);
			ring_peer_close(p);
			ring_listener_close(l);
			_exit(0);
		}
reply:
		if (write(cout, &r, sizeof(r)) != sizeof(r))
			_exit(3);
	}
	_exit(4);
}

static void
backend_start(struct backend *b)
{
	int c[2], r[2];
	struct rsp rs;

	new_path();
	assert_int_equal(pipe2(c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		child_signals();
		close(c[1]);
		close(r[0]);
		backend_main(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	b->cmd = c[1];
	b->rsp = r[0];
	assert_int_equal(read(b->rsp, &rs, sizeof(rs)), sizeof(rs));
	assert_int_equal(rs.rc, 0);
}

static int
be(struct backend *b, int op, uint32_t a, uint32_t x, uint32_t y,
   uint32_t *val)
{
	struct cmd c = { op, a, x, y };
	struct rsp r;

	assert_int_equal(write(b->cmd, &c, sizeof(c)), sizeof(c));
	assert_int_equal(read(b->rsp, &r, sizeof(r)), sizeof(r));
	if (val != NULL)
		*val = r.val;
	return r.rc;
}

static void
backend_stop(struct backend *b)
{
	struct cmd c = { .op = OP_EXIT };
	int st;

	assert_int_equal(write(b->cmd, &c, sizeof(c)), sizeof(c));
	assert_int_equal(waitpid(b->pid, &st, 0), b->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(b->cmd);
	close(b->rsp);
}

/* A share connected to a fresh forked backend that accepted it. */
static struct ring_share *
connected(struct backend *b, const struct ring_share_opts *o)
{
	struct ring_share *s;

	backend_start(b);
	assert_int_equal(ring_share_open(BE_DOMID, o, &s), 0);
	assert_int_equal(ring_share_connect(s, sock_path, b->pid, FE_DOMID,
					    "device/kv/0"), 0);
	assert_int_equal(be(b, OP_ACCEPT, 0, 0, 0, NULL), 0);
	return s;
}

/* --- tests --- */

static void
test_local(void **state)
{
	struct ring_share_opts o = { .sz = sizeof(o), .rw_pages = 3,
				     .ro_pages = 1 };
	struct ring_share *s;
	uint32_t a, b, c;
	void *pa, *pb, *pc;
	(void)state;

	o.rw_pages = 1;	/* the table alone */
	assert_int_equal(ring_share_open(1, &o, &s), -EINVAL);
	o.rw_pages = RING_SHARE_MAX_REFS;
	assert_int_equal(ring_share_open(1, &o, &s), -EINVAL);
	o.rw_pages = 3;
	o.sz = 4;
	assert_int_equal(ring_share_open(1, &o, &s), -EINVAL);
	o.sz = sizeof(o);
	assert_int_equal(ring_share_open(1, &o, &s), 0);
	assert_int_equal(ring_share_fd(s), -1);
	assert_int_equal(ring_share_alive(s), -ENOTCONN);

	assert_int_equal(ring_share_grant(s, false, &a, &pa), 0);
	assert_int_equal(ring_share_grant(s, false, &b, &pb), 0);
	assert_int_equal(ring_share_grant(s, false, &c, &pc), -ENOSPC);
	assert_true(a >= 1 && a < 3 && b >= 1 && b < 3 && a != b);
	assert_int_equal(ring_share_grant(s, true, &c, &pc), 0);
	assert_int_equal(c, 3);
	assert_int_equal(ring_share_grant(s, true, &c, &pc), -ENOSPC);

	/* XSA-403: a page comes back zeroed. */
	memset(pa, 0x77, RING_PAGE_SIZE);
	memset(pc, 0x77, RING_PAGE_SIZE);
	assert_int_equal(ring_share_revoke(s, a), 0);
	assert_int_equal(ring_share_revoke(s, a), -EINVAL);
	assert_int_equal(ring_share_revoke(s, c), 0);
	assert_int_equal(ring_share_grant(s, false, &b, &pb), 0);
	assert_int_equal(b, a);
	for (int i = 0; i < (int)RING_PAGE_SIZE; i++)
		assert_int_equal(((unsigned char *)pb)[i], 0);
	assert_int_equal(ring_share_grant(s, true, &b, &pb), 0);
	for (int i = 0; i < (int)RING_PAGE_SIZE; i++)
		assert_int_equal(((unsigned char *)pb)[i], 0);

	assert_int_equal(ring_share_revoke(s, 0), -EINVAL);
	assert_int_equal(ring_share_revoke(s, 4), -EINVAL);
	assert_int_equal(ring_share_revoke(s, 1u << 31), -EINVAL);
	ring_share_close(s);
	ring_share_close(NULL);
	ring_peer_close(NULL);
	ring_listener_close(NULL);
}

static void
test_grant_map_rw(void **state)
{
	struct backend b;
	struct ring_share *s;
	uint32_t ref, ref2, val;
	unsigned char *pg;
	void *addr;
	(void)state;

	s = connected(&b, NULL);
	assert_int_equal(be(&b, OP_INFO, 0, 0, 0, &val), 0);
	assert_int_equal(val, FE_DOMID);
	assert_int_equal(ring_share_alive(s), 0);

	assert_int_equal(ring_share_grant(s, false, &ref, &addr), 0);
	pg = addr;
	assert_int_equal(be(&b, OP_MAP, ref, 1, 0, NULL), 0);
	/* Written through the backend's mapping, read by the granter. */
	assert_int_equal(be(&b, OP_POKE, ref, 100, 0x5a, NULL), 0);
	assert_int_equal(pg[100], 0x5a);
	pg[200] = 0x33;
	assert_int_equal(be(&b, OP_PEEK, ref, 200, 0, &val), 0);
	assert_int_equal(val, 0x33);

	/* In use: the grant stays. */
	assert_int_equal(ring_share_revoke(s, ref), -EBUSY);
	assert_int_equal(ring_share_revoke(s, ref), -EBUSY);
	/* Mapped twice: in use until the last unmap. */
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_UNMAP, ref, 0, 0, NULL), 0);
	assert_int_equal(ring_share_revoke(s, ref), -EBUSY);
	assert_int_equal(be(&b, OP_UNMAP, ref, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_UNMAP, ref, 0, 0, NULL), -EINVAL);
	assert_int_equal(ring_share_revoke(s, ref), 0);
	/* Revoked, and never granted. */
	assert_int_equal(be(&b, OP_MAP, ref, 1, 0, NULL), -EPERM);
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), -EPERM);
	assert_int_equal(be(&b, OP_MAP, 200, 0, 0, NULL), -EPERM);
	assert_int_equal(be(&b, OP_COPY_FROM, ref, 0, 1, NULL), -EPERM);
	assert_int_equal(be(&b, OP_COPY_TO, ref, 0, 1, NULL), -EPERM);
	/* Outside the arenas (ref 0 is the table). */
	assert_int_equal(be(&b, OP_MAP, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(be(&b, OP_MAP, 320, 0, 0, NULL), -EINVAL);
	assert_int_equal(be(&b, OP_MAP, 0xffffffffu, 0, 0, NULL), -EINVAL);
	assert_int_equal(be(&b, OP_UNMAP, 0xffffffffu, 0, 0, NULL), -EINVAL);

	/* Grant copy. */
	assert_int_equal(ring_share_grant(s, false, &ref2, &addr), 0);
	pg = addr;
	pg[4095] = 0x42;
	assert_int_equal(be(&b, OP_COPY_FROM, ref2, 4095, 1, &val), 0);
	assert_int_equal(val, 0x42);
	assert_int_equal(be(&b, OP_COPY_TO, ref2, 10, 20, NULL), 0);
	assert_int_equal(pg[9], 0);
	assert_int_equal(pg[10], 0xab);
	assert_int_equal(pg[29], 0xab);
	assert_int_equal(pg[30], 0);
	assert_int_equal(be(&b, OP_COPY_TO, ref2, 0, 4096, NULL), 0);
	assert_int_equal(be(&b, OP_COPY_FROM, ref2, 4096, 0, NULL), 0);
	assert_int_equal(be(&b, OP_COPY_FROM, ref2, 4000, 97, NULL), -EINVAL);
	assert_int_equal(be(&b, OP_COPY_TO, ref2, 4096, 1, NULL), -EINVAL);
	assert_int_equal(be(&b, OP_COPY_TO, ref2, 0xffffffffu, 2, NULL),
			 -EINVAL);
	assert_int_equal(be(&b, OP_COPY_FROM, ref2, 1, 0xffffffffu, NULL),
			 -EINVAL);
	assert_int_equal(be(&b, OP_COPY_FROM, 0, 0, 1, NULL), -EINVAL);
	/* A copy does not leave the grant in use... */
	assert_int_equal(ring_share_revoke(s, ref2), 0);
	/* ...nor does it drop the marks of a map in progress. */
	assert_int_equal(ring_share_grant(s, false, &ref2, &addr), 0);
	assert_int_equal(be(&b, OP_MAP, ref2, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_COPY_TO, ref2, 0, 8, NULL), 0);
	assert_int_equal(ring_share_revoke(s, ref2), -EBUSY);
	assert_int_equal(be(&b, OP_UNMAP, ref2, 0, 0, NULL), 0);
	assert_int_equal(ring_share_revoke(s, ref2), 0);

	backend_stop(&b);
	ring_share_close(s);
}

static void
test_ro_isolation(void **state)
{
	struct backend b;
	struct ring_share *s;
	uint32_t ref, val;
	unsigned char *pg;
	void *addr;
	(void)state;

	s = connected(&b, NULL);
	assert_int_equal(ring_share_grant(s, true, &ref, &addr), 0);
	assert_true(ref >= 256);
	pg = addr;
	memcpy(pg, "hello", 6);

	assert_int_equal(be(&b, OP_MAP, ref, 1, 0, NULL), -EPERM);
	assert_int_equal(be(&b, OP_COPY_TO, ref, 0, 1, NULL), -EPERM);
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_PEEK, ref, 0, 0, &val), 0);
	assert_int_equal(val, 'h');
	/* The granter keeps writing through its own mapping. */
	pg[0] = 'j';
	assert_int_equal(be(&b, OP_PEEK, ref, 0, 0, &val), 0);
	assert_int_equal(val, 'j');
	assert_int_equal(be(&b, OP_COPY_FROM, ref, 1, 1, &val), 0);
	assert_int_equal(val, 'e');
	/* The receiver cannot get a writable view by any route. */
	assert_int_equal(be(&b, OP_RO_MPROTECT, ref, 0, 0, NULL), -EACCES);
	assert_int_equal(be(&b, OP_RO_MMAP_W, 0, 0, 0, NULL), -EPERM);
	assert_int_equal(be(&b, OP_RO_PWRITE, 0, 0, 0, NULL), -EPERM);
	assert_int_equal(pg[0], 'j');

	assert_int_equal(ring_share_revoke(s, ref), -EBUSY);
	assert_int_equal(be(&b, OP_UNMAP, ref, 0, 0, NULL), 0);
	assert_int_equal(ring_share_revoke(s, ref), 0);
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), -EPERM);

	/* A read-only map of a rw page gets a read-only view: a write
	 * through it kills the backend. */
	assert_int_equal(ring_share_grant(s, false, &ref, &addr), 0);
	pg = addr;
	pg[7] = 'q';
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_PEEK, ref, 7, 0, &val), 0);
	assert_int_equal(val, 'q');
	{
		struct cmd c = { OP_POKE, ref, 7, 'w' };
		int st;

		assert_int_equal(write(b.cmd, &c, sizeof(c)), sizeof(c));
		assert_int_equal(waitpid(b.pid, &st, 0), b.pid);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSEGV);
	}
	assert_int_equal(pg[7], 'q');
	close(b.cmd);
	close(b.rsp);
	unlink(sock_path);
	ring_share_close(s);
}

static void
test_impostor_listener(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ring_share *s;
	char buf[256];
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	int lfd, cfd;
	(void)state;

	/* An impostor listens where the backend should: here, this very
	 * process, while the toolstack expects the backend's pid. */
	new_path();
	strcpy(sa.sun_path, sock_path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);

	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	warn_lines = 0;
	assert_int_equal(ring_share_connect(s, sock_path, getppid(), FE_DOMID,
					    "device/kv/0"), -EPERM);
	assert_int_equal(warn_lines, 1);
	assert_int_equal(ring_share_fd(s), -1);
	/* The impostor got a connection that carries nothing at all. */
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(cfd >= 0);
	assert_int_equal(recvmsg(cfd, &msg, MSG_DONTWAIT), 0);
	assert_int_equal(msg.msg_controllen, 0);
	close(cfd);
	/* A bad device path never leaves either. */
	assert_int_equal(ring_share_connect(s, sock_path, getpid(), FE_DOMID,
					    "device/kv/\"0"), -EINVAL);
	close(lfd);
	unlink(sock_path);
	assert_int_equal(ring_share_connect(s, sock_path, getpid(), FE_DOMID,
					    "device/kv/0"), -ENOENT);
	ring_share_close(s);
}

static void
test_authorize_refused(void **state)
{
	struct backend b;
	struct ring_share *s, *s2;
	uint32_t ref;
	void *addr;
	(void)state;

	backend_start(&b);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_grant(s, false, &ref, &addr), 0);
	assert_int_equal(ring_share_connect(s, sock_path, b.pid, REFUSED_DOMID,
					    "device/kv/0"), 0);
	assert_int_equal(be(&b, OP_ACCEPT, 0, 0, 0, NULL), -EPERM);
	assert_int_equal(wait_readable(ring_share_fd(s), WAIT_MS), 1);
	assert_int_equal(ring_share_alive(s), -EPIPE);
	assert_int_equal(ring_share_alive(s), -EPIPE);
	/* The backend has no peer, and the listener still serves others. */
	assert_int_equal(be(&b, OP_MAP, ref, 0, 0, NULL), -ENOTCONN);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s2), 0);
	assert_int_equal(ring_share_connect(s2, sock_path, b.pid, FE_DOMID,
					    "device/kv/0"), 0);
	assert_int_equal(be(&b, OP_ACCEPT, 0, 0, 0, NULL), 0);
	assert_int_equal(ring_share_alive(s2), 0);
	backend_stop(&b);
	ring_share_close(s);
	ring_share_close(s2);
}

static void
test_backend_killed(void **state)
{
	struct backend b;
	struct ring_share *s;
	uint32_t ref;
	void *addr;
	int st;
	(void)state;

	s = connected(&b, NULL);
	assert_int_equal(ring_share_grant(s, false, &ref, &addr), 0);
	assert_int_equal(be(&b, OP_MAP, ref, 1, 0, NULL), 0);
	assert_int_equal(ring_share_alive(s), 0);
	assert_int_equal(ring_share_revoke(s, ref), -EBUSY);
	assert_int_equal(kill(b.pid, SIGKILL), 0);
	assert_int_equal(waitpid(b.pid, &st, 0), b.pid);
	assert_int_equal(wait_readable(ring_share_fd(s), WAIT_MS), 1);
	assert_int_equal(ring_share_alive(s), -EPIPE);
	/* Its mappings died with it. */
	assert_int_equal(ring_share_revoke(s, ref), 0);
	close(b.cmd);
	close(b.rsp);
	unlink(sock_path);
	ring_share_close(s);
}

static void
test_frontend_killed(void **state)
{
	struct ring_listener *l;
	struct ring_peer *p;
	struct ring_evtchn *ev;
	int sync[2], st;
	pid_t pid;
	char c;
	(void)state;

	new_path();
	assert_int_equal(ring_listener_open(sock_path, &l), 0);
	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_share *s;
		struct ring_evtchn *e;

		child_signals();
		if (ring_share_open(BE_DOMID, NULL, &s) < 0 ||
		    ring_share_evtchn(s, &e) < 0 ||
		    ring_share_connect(s, sock_path, getppid(), FE_DOMID,
				       "device/kv/0") < 0)
			_exit(1);
		(void)!write(sync[1], "k", 1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 1);
	close(sync[0]);
	assert_int_equal(accept_wait(l, authorize_pid, &pid, &p, WAIT_MS), 0);
	assert_int_equal(ring_peer_process(p), 0);
	assert_int_equal(ring_peer_bind(p, 2, &ev), -EAGAIN);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(wait_readable(ring_peer_fd(p), WAIT_MS), 1);
	assert_int_equal(ring_peer_process(p), -EPIPE);
	assert_int_equal(ring_peer_process(p), -EPIPE);
	/* What arrived before stays bindable; nothing more will come. */
	assert_int_equal(ring_peer_bind(p, 1, &ev), 0);
	ring_evtchn_close(ev);
	assert_int_equal(ring_peer_bind(p, 2, &ev), -ENOENT);
	ring_peer_close(p);
	ring_listener_close(l);
	assert_int_equal(access(sock_path, F_OK), -1);
}

static void
test_channels(void **state)
{
	struct backend b;
	struct ring_share *s;
	struct ring_evtchn *e1, *e2;
	(void)state;

	backend_start(&b);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_evtchn(s, &e1), 0);
	assert_int_equal(ring_evtchn_port(e1), 1);
	assert_int_equal(ring_share_connect(s, sock_path, b.pid, FE_DOMID,
					    "device/kv/0"), 0);
	assert_int_equal(be(&b, OP_ACCEPT, 0, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_BIND_WAIT, 1, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_BIND, 1, 0, 0, NULL), -EBUSY);
	assert_int_equal(be(&b, OP_BIND, 5, 0, 0, NULL), -EAGAIN);
	assert_int_equal(be(&b, OP_BIND, 0, 0, 0, NULL), -ENOENT);

	/* Front to back, back to front. */
	assert_int_equal(ring_evtchn_notify(e1), 0);
	assert_int_equal(be(&b, OP_WAIT, 1, 0, 0, NULL), 0);
	assert_int_equal(ring_evtchn_consume(e1), 0);
	assert_int_equal(be(&b, OP_NOTIFY, 1, 0, 0, NULL), 0);
	assert_int_equal(ring_evtchn_wait(e1, WAIT_MS), 0);

	/* Made after connect: sent at once. */
	assert_int_equal(ring_share_evtchn(s, &e2), 0);
	assert_int_equal(ring_evtchn_port(e2), 2);
	assert_int_equal(be(&b, OP_BIND_WAIT, 2, 0, 0, NULL), 0);
	assert_int_equal(be(&b, OP_NOTIFY, 2, 0, 0, NULL), 0);
	assert_int_equal(ring_evtchn_wait(e2, WAIT_MS), 0);
	assert_int_equal(ring_evtchn_consume(e1), 0);
	assert_int_equal(ring_evtchn_notify(e2), 0);
	assert_int_equal(be(&b, OP_WAIT, 2, 0, 0, NULL), 0);

	backend_stop(&b);
	ring_evtchn_close(e1);
	ring_evtchn_close(e2);
	ring_share_close(s);
}

/* --- hostile frontends --- */

static int
make_memfd(uint32_t pages, unsigned seals)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)pages * RING_PAGE_SIZE), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

#define RW_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define RO_SEALS (RW_SEALS | F_SEAL_FUTURE_WRITE)

static struct ring_link_hello
good_hello(void)
{
	struct ring_link_hello h = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_HELLO, .self = FE_DOMID, .peer = BE_DOMID,
		.rw_pages = 4, .ro_pages = 2,
	};

	strcpy(h.device, "device/kv/0");
	return h;
}

static int
raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int
raw_send(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

enum hostile_kind {
	H_GARBAGE, H_SHORT_GARBAGE, H_MAGIC, H_VERSION, H_TYPE, H_RESERVED,
	H_TRUNCATED, H_TOO_LONG, H_HUGE_RW, H_HUGE_RO, H_OVERFLOW, H_ZERO_RO,
	H_TABLE_ONLY, H_SIZE_MISMATCH, H_UNTERMINATED, H_EMPTY_DEVICE,
	H_BAD_DEVICE, H_RO_UNSEALED, H_RO_NO_WRITE_SEAL, H_RW_UNSEALED,
	H_NOT_MEMFD, H_NO_FDS, H_ONE_FD, H_THREE_FDS, H_MANY_FDS, H_EMPTY,
	H_COUNT
};

/* Send one hostile hello to the listener and check it is refused with
 * -EPROTO and one log line, leaving no fd behind. */
static void
hostile_one(struct ring_listener *l, enum hostile_kind k)
{
	struct ring_link_hello h = good_hello();
	unsigned char buf[512];
	size_t len = sizeof(h);
	int fds[64], nfds = 2, before, fd;
	struct ring_peer *p = NULL;
	uint32_t rwp = 4, rop = 2;
	unsigned rws = RW_SEALS, ros = RO_SEALS;

	before = count_fds();
	switch (k) {
	case H_GARBAGE:
		for (size_t i = 0; i < sizeof(h); i++)
			((unsigned char *)&h)[i] = (unsigned char)(i * 37 + 11);
		break;
	case H_SHORT_GARBAGE: len = 7; nfds = 0; break;
	case H_MAGIC: h.magic ^= 1; break;
	case H_VERSION: h.version = 2; break;
	case H_TYPE: h.type = RING_LINK_CHAN; break;
	case H_RESERVED: h.reserved = 1; break;
	case H_TRUNCATED: len = 100; break;
	case H_TOO_LONG: len = 300; break;
	case H_HUGE_RW: h.rw_pages = 1u << 30; break;
	case H_HUGE_RO: h.ro_pages = 0xffffffffu; break;
	case H_OVERFLOW: h.rw_pages = 0x80000000u; h.ro_pages = 0x80000004u;
		break;
	case H_ZERO_RO: h.ro_pages = 0; rop = 0; break;
	case H_TABLE_ONLY: h.rw_pages = 1; rwp = 1; break;
	case H_SIZE_MISMATCH: h.rw_pages = 256; break;
	case H_UNTERMINATED: memset(h.device, 'a', sizeof(h.device)); break;
	case H_EMPTY_DEVICE: h.device[0] = '\0'; break;
	case H_BAD_DEVICE: strcpy(h.device, "device/kv/0\" level=error");
		break;
	case H_RO_UNSEALED: ros = 0; break;
	case H_RO_NO_WRITE_SEAL: ros = RW_SEALS; break;
	case H_RW_UNSEALED: rws = 0; break;
	case H_NOT_MEMFD: break;
	case H_NO_FDS: nfds = 0; break;
	case H_ONE_FD: nfds = 1; break;
	case H_THREE_FDS: nfds = 3; break;
	case H_MANY_FDS: nfds = 64; break;
	case H_EMPTY: len = 0; break;
	case H_COUNT: break;
	}
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (k == H_NOT_MEMFD) {
		assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	} else {
		fds[0] = make_memfd(rwp ? rwp : 1, rws);
		fds[1] = make_memfd(rop ? rop : 1, ros);
	}
	for (int i = 2; i < 64; i++)
		fds[i] = fds[i % 2];
	fd = raw_connect();
	assert_int_equal(raw_send(fd, buf, len, fds, (unsigned)nfds), 0);
	close(fds[0]);
	close(fds[1]);
	warn_lines = 0;
	assert_int_equal(accept_wait(l, authorize_self, NULL, &p, WAIT_MS), -EPROTO);
	assert_int_equal(warn_lines, 1);
	/* The listener hung up on it. */
	assert_int_equal(wait_readable(fd, WAIT_MS), 1);
	assert_int_equal(recv(fd, buf, 1, MSG_DONTWAIT), 0);
	close(fd);
	if (count_fds() != before)
		fail_msg("case %d leaked %d fds", k, count_fds() - before);
}

/* A valid hello from a raw socket, then channel records. */
static struct ring_peer *
raw_peer(struct ring_listener *l, int *fd)
{
	struct ring_link_hello h = good_hello();
	struct ring_peer *p;
	int fds[2];

	fds[0] = make_memfd(4, RW_SEALS);
	fds[1] = make_memfd(2, RO_SEALS);
	*fd = raw_connect();
	assert_int_equal(raw_send(*fd, &h, sizeof(h), fds, 2), 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(accept_wait(l, authorize_self, NULL, &p, WAIT_MS), 0);
	return p;
}

enum chan_kind {
	C_GARBAGE, C_PORT0, C_PORT_HUGE, C_NOT_EVENTFD, C_BLOCKING_EVENTFD,
	C_ONE_FD, C_DUP_PORT, C_HELLO_AGAIN, C_COUNT
};

static void
hostile_chan(struct ring_listener *l, enum chan_kind k)
{
	struct ring_link_chan c = {
		.magic = RING_LINK_MAGIC, .version = RING_LINK_VERSION,
		.type = RING_LINK_CHAN, .port = 1,
	};
	struct ring_link_hello h = good_hello();
	struct ring_peer *p;
	int fd, fds[2], before = count_fds();
	const void *rec = &c;
	size_t len = sizeof(c);
	unsigned nfds = 2;

	p = raw_peer(l, &fd);
	if (k == C_NOT_EVENTFD) {
		assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	} else {
		fds[0] = eventfd(0, EFD_CLOEXEC |
				 (k == C_BLOCKING_EVENTFD ? 0 : EFD_NONBLOCK));
		fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(fds[0] >= 0 && fds[1] >= 0);
	}
	switch (k) {
	case C_GARBAGE: c.magic = 0x12345678; break;
	case C_PORT0: c.port = 0; break;
	case C_PORT_HUGE: c.port = RING_LINK_MAX_PORTS + 1; break;
	case C_ONE_FD: nfds = 1; break;
	case C_HELLO_AGAIN: rec = &h; len = sizeof(h); break;
	default: break;
	}
	if (k == C_DUP_PORT) {
		assert_int_equal(raw_send(fd, &c, sizeof(c), fds, 2), 0);
		assert_int_equal(wait_readable(ring_peer_fd(p), WAIT_MS), 1);
		assert_int_equal(ring_peer_process(p), 0);
	}
	assert_int_equal(raw_send(fd, rec, len, fds, nfds), 0);
	close(fds[0]);
	close(fds[1]);
	warn_lines = 0;
	assert_int_equal(wait_readable(ring_peer_fd(p), WAIT_MS), 1);
	assert_int_equal(ring_peer_process(p), -EPROTO);
	assert_int_equal(warn_lines, 1);
	assert_int_equal(ring_peer_process(p), -EPROTO);
	ring_peer_close(p);
	close(fd);
	if (count_fds() != before)
		fail_msg("channel case %d leaked %d fds", k,
			 count_fds() - before);
}

static void
test_hostile_hello(void **state)
{
	struct ring_listener *l;
	struct ring_share *s;
	struct ring_peer *p;
	uint32_t ref;
	void *addr, *m;
	(void)state;

	new_path();
	assert_int_equal(ring_listener_open(sock_path, &l), 0);
	for (int k = 0; k < H_COUNT; k++)
		hostile_one(l, (enum hostile_kind)k);
	/* A connection that never says anything, then a good one: the
	 * silent one is kept pending without holding up the other. */
	int idle = raw_connect();

	warn_lines = 0;
	assert_int_equal(ring_listener_accept(l, authorize_self, NULL, &p),
			 -EAGAIN);
	assert_int_equal(ring_share_open(BE_DOMID, NULL, &s), 0);
	assert_int_equal(ring_share_grant(s, false, &ref, &addr), 0);
	assert_int_equal(ring_share_connect(s, sock_path, getpid(), FE_DOMID,
					    "device/kv/0"), 0);
	assert_int_equal(accept_wait(l, authorize_self, NULL, &p, WAIT_MS), 0);
	assert_int_equal(warn_lines, 0);
	assert_int_equal(ring_peer_map(p, ref, true, &m), 0);
	((char *)m)[1] = 'z';
	assert_int_equal(((char *)addr)[1], 'z');
	assert_int_equal(ring_peer_unmap(p, ref), 0);
	/* The idle one goes once it hangs up. */
	close(idle);
	assert_int_equal(ring_listener_accept(l, authorize_self, NULL, &p),
			 -EAGAIN);
	ring_peer_close(p);
	ring_share_close(s);
	assert_int_equal(ring_listener_accept(l, NULL, NULL, &p), -EINVAL);
	ring_listener_close(l);
}

static void
test_hostile_chan(void **state)
{
	struct ring_listener *l;
	(void)state;

	new_path();
	assert_int_equal(ring_listener_open(sock_path, &l), 0);
	for (int k = 0; k < C_COUNT; k++)
		hostile_chan(l, (enum chan_kind)k);
	ring_listener_close(l);
}

static void
test_listener_path(void **state)
{
	struct ring_listener *l, *l2;
	struct stat st;
	int fd;
	(void)state;

	new_path();
	/* Never clobbers a file that is not a socket. */
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ring_listener_open(sock_path, &l), -EEXIST);
	unlink(sock_path);
	assert_int_equal(ring_listener_open(sock_path, &l), 0);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A stale socket is replaced; the old listener, closing, leaves the
	 * new one's file alone. */
	assert_int_equal(ring_listener_open(sock_path, &l2), 0);
	ring_listener_close(l);
	assert_int_equal(access(sock_path, F_OK), 0);
	ring_listener_close(l2);
	assert_int_equal(access(sock_path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_grant_map_rw),
		cmocka_unit_test(test_ro_isolation),
		cmocka_unit_test(test_impostor_listener),
		cmocka_unit_test(test_authorize_refused),
		cmocka_unit_test(test_backend_killed),
		cmocka_unit_test(test_frontend_killed),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_hostile_hello),
		cmocka_unit_test(test_hostile_chan),
		cmocka_unit_test(test_listener_path),
	};

	signal(SIGPIPE, SIG_IGN);
	ring_log_set_fn(count_log, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
