/*
 * bench/ring: libring's shared ring against the Linux IPC baselines, all
 * in the same run.  Every figure is the median of REPS repetitions (after
 * one discarded warm-up); the two sides are separate processes (fork)
 * pinned to CPUs 0 and 1 when sched_setaffinity allows.
 *
 * Output, one per figure: BENCH <name> <value> <unit>
 *   pipe_rtt_ns, unix_rtt_ns, eventfd_rtt_ns   16-byte ping-pong, blocking
 *   eventfd_gap_rtt_ns    eventfd ping-pong after the same idle gap as
 *                         ring_rtt_block_ns (the like-for-like baseline)
 *   raw_shm_rtt_ns        one shared cache line bounced with atomics: the
 *                         physical floor of any shared-memory round trip
 *   ring_rtt_spin_ns      one 16-byte request/response through libring,
 *                         both sides busy-polling
 *   ring_rtt_block_ns     the same after a ~200 us idle gap: the server
 *                         has gone to sleep in ring_back_wait and is woken
 *                         through the event channel; the client waits in
 *                         ring_front_wait
 *   ring_oneway_{16,64}b_mps  million messages/s producer -> consumer
 *   ring_reqrsp_pipelined_mps, unix_reqrsp_pipelined_mps  pipelined
 *                         request/response pairs per second, same window
 *   ratios: ring_rtt_spin_vs_raw, ring_reqrsp_vs_unix,
 *           ring_rtt_block_vs_eventfd
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/ring.h"

#define REPS 5
#define PAGE 4096u

struct m16 {
	uint64_t a, b;
};
RING_DEFINE(r16, struct m16, struct m16);

static void
die(const char *what)
{
	fprintf(stderr, "bench/ring: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set); /* best effort */
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void *
shared_map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0, n);
	return p;
}

/* Fork the server side, pinned to CPU 1; it runs fn(arg) and exits. */
static pid_t
spawn(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pin(1);
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench/ring: server failed (status %d)\n", st);
		exit(1);
	}
}

static void
full_read(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			die("read");
		p += r;
		n -= (size_t)r;
	}
}

static void
full_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t r = write(fd, p, n);

		if (r <= 0)
			die("write");
		p += r;
		n -= (size_t)r;
	}
}

static void
emit(const char *name, double v, const char *unit)
{
	printf("BENCH %s %.2f %s\n", name, v, unit);
	fflush(stdout);
}

/* ---- fd ping-pong: pipes, unix sockets, eventfds ---- */

struct fdpp {
	int in, out;		/* server reads in, writes out */
	size_t msg;		/* bytes per message (8 for eventfd) */
	long n;			/* total round trips */
};

static void
fd_server(void *arg)
{
	struct fdpp *p = arg;
	char buf[64];

	for (long i = 0; i < p->n; i++) {
		full_read(p->in, buf, p->msg);
		full_write(p->out, buf, p->msg);
	}
}

/* in/out are the client's ends; gap_ns sleeps before each round trip. */
static double
fd_pingpong(int cin, int cout, struct fdpp *srv, long iters, long gap_ns)
{
	double v[REPS];
	char buf[64];
	pid_t pid;

	srv->n = (REPS + 1) * iters;
	pid = spawn(fd_server, srv);
	memset(buf, 1, sizeof(buf));
	for (int r = -1; r < REPS; r++) {
		uint64_t sum = 0;

		for (long i = 0; i < iters; i++) {
			uint64_t t0;

			if (gap_ns)
				nanosleep(&(struct timespec){ 0, gap_ns }, NULL);
			t0 = now_ns();
			full_write(cout, buf, srv->msg);
			full_read(cin, buf, srv->msg);
			sum += now_ns() - t0;
		}
		if (r >= 0)
			v[r] = (double)sum / (double)iters;
	}
	reap(pid);
	return median(v, REPS);
}

static double
bench_pipe(void)
{
	int a[2], b[2];
	struct fdpp s;
	double m;

	if (pipe(a) < 0 || pipe(b) < 0)
		die("pipe");
	s = (struct fdpp){ .in = a[0], .out = b[1], .msg = 16 };
	m = fd_pingpong(b[0], a[1], &s, 3000, 0);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
	return m;
}

static double
bench_unix(void)
{
	int sv[2];
	struct fdpp s;
	double m;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	s = (struct fdpp){ .in = sv[1], .out = sv[1], .msg = 16 };
	m = fd_pingpong(sv[0], sv[0], &s, 3000, 0);
	close(sv[0]), close(sv[1]);
	return m;
}

static double
bench_eventfd(long iters, long gap_ns)
{
	int e1 = eventfd(0, 0), e2 = eventfd(0, 0);
	struct fdpp s;
	double m;

	if (e1 < 0 || e2 < 0)
		die("eventfd");
	s = (struct fdpp){ .in = e1, .out = e2, .msg = 8 };
	m = fd_pingpong(e2, e1, &s, iters, gap_ns);
	close(e1), close(e2);
	return m;
}

/* ---- raw shared cache line ---- */

struct rawpp {
	_Alignas(64) _Atomic uint64_t line;
	long n;
};

static void
raw_server(void *arg)
{
	struct rawpp *p = arg;

	/* Client writes 2i+1, we answer 2i+2. */
	for (long i = 0; i < p->n; i++) {
		uint64_t want = 2 * (uint64_t)i + 1;

		while (atomic_load_explicit(&p->line, memory_order_acquire) !=
		       want)
			ring_cpu_relax();
		atomic_store_explicit(&p->line, want + 1, memory_order_release);
	}
}

static double
bench_raw(void)
{
	const long iters = 100000;
	struct rawpp *p = shared_map(sizeof(*p));
	double v[REPS];
	uint64_t k = 0;
	pid_t pid;

	p->n = (REPS + 1) * iters;
	pid = spawn(raw_server, p);
	for (int r = -1; r < REPS; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < iters; i++, k++) {
			atomic_store_explicit(&p->line, 2 * k + 1,
					      memory_order_release);
			while (atomic_load_explicit(&p->line,
						    memory_order_acquire) !=
			       2 * k + 2)
				ring_cpu_relax();
		}
		if (r >= 0)
			v[r] = (double)(now_ns() - t0) / (double)iters;
	}
	reap(pid);
	munmap(p, sizeof(*p));
	return median(v, REPS);
}

/* ---- libring ---- */

struct ringpp {
	void *page;
	struct ring_evtchn *ev;	/* the server's end */
	long n;			/* messages the server handles */
	unsigned spin;		/* 0: busy-poll without ever sleeping */
	uint64_t check;		/* server's checksum, for the client */
};

/* Answer every request with {a, b + 1}; busy-poll or adaptive wait. */
static void
ring_echo_server(void *arg)
{
	struct ringpp *p = arg;
	struct ring_back b;
	struct m16 m;

	if (r16_back_attach(&b, p->page, PAGE) != 0)
		_exit(2);
	for (long done = 0; done < p->n;) {
		int k = 0;

		while (r16_back_get(&b, &m) == 1) {
			m.b++;
			r16_back_put(&b, &m);
			k++;
		}
		done += k;
		if (ring_back_push(&b) && p->ev)
			ring_evtchn_notify(p->ev);
		if (k == 0) {
			if (p->ev)
				ring_back_wait(&b, p->ev, p->spin, -1);
			else
				ring_cpu_relax();
		}
	}
}

static double
bench_ring_rtt_spin(void)
{
	const long iters = 100000;
	struct ringpp *p = shared_map(sizeof(*p));
	struct ring_front f;
	double v[REPS];
	struct m16 m = { 0, 0 };
	pid_t pid;

	p->page = shared_map(PAGE);
	p->n = (REPS + 1) * iters;
	r16_front_init(&f, p->page, PAGE);
	pid = spawn(ring_echo_server, p);
	for (int r = -1; r < REPS; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < iters; i++) {
			m.a = (uint64_t)i;
			r16_front_put(&f, &m);
			ring_front_push(&f);
			while (r16_front_get(&f, &m) != 1)
				ring_cpu_relax();
		}
		if (r >= 0)
			v[r] = (double)(now_ns() - t0) / (double)iters;
	}
	reap(pid);
	if (m.b != (uint64_t)p->n)
		fprintf(stderr, "bench/ring: rtt checksum mismatch\n"), exit(1);
	munmap(p->page, PAGE);
	munmap(p, sizeof(*p));
	return median(v, REPS);
}

static double
bench_ring_rtt_block(long iters, long gap_ns)
{
	struct ringpp *p = shared_map(sizeof(*p));
	struct ring_evtchn *mine, *theirs;
	struct ring_front f;
	double v[REPS];
	struct m16 m = { 0, 0 };
	pid_t pid;

	if (ring_evtchn_pair(&mine, &theirs) < 0)
		die("evtchn");
	p->page = shared_map(PAGE);
	p->n = (REPS + 1) * iters;
	p->ev = theirs;
	p->spin = RING_SPIN_DEFAULT;
	r16_front_init(&f, p->page, PAGE);
	pid = spawn(ring_echo_server, p);
	ring_evtchn_close(theirs);
	for (int r = -1; r < REPS; r++) {
		uint64_t sum = 0;

		for (long i = 0; i < iters; i++) {
			uint64_t t0;

			nanosleep(&(struct timespec){ 0, gap_ns }, NULL);
			t0 = now_ns();
			r16_front_put(&f, &m);
			if (ring_front_push(&f))
				ring_evtchn_notify(mine);
			while (r16_front_get(&f, &m) != 1)
				ring_front_wait(&f, mine, RING_SPIN_DEFAULT, -1);
			sum += now_ns() - t0;
		}
		if (r >= 0)
			v[r] = (double)sum / (double)iters;
	}
	reap(pid);
	ring_evtchn_close(mine);
	munmap(p->page, PAGE);
	munmap(p, sizeof(*p));
	return median(v, REPS);
}

/*
 * One-way throughput.  The ring is request/response by design: a request
 * slot comes back only through a response.  The consumer therefore
 * acknowledges each message with an empty response (ring_back_put with
 * length 0: no payload bytes are written, only rsp_prod moves), in the
 * same batch in which it consumed it, and publishes once per batch.  The
 * producer reaps acknowledgements (also length 0), fills every free slot
 * with a full-size message and publishes once.  Both busy-poll.  Payload
 * flows one way; the only reverse traffic is the response index.
 */
struct owpp {
	void *page;
	long n;
	uint64_t sum;
};

/* Typed (RING_DEFINE) producer and consumer, so copies are fixed-size. */
#define ONEWAY(tag, T)                                                       \
	static void oneway_consumer_##tag(void *arg)                         \
	{                                                                    \
		struct owpp *p = arg;                                        \
		struct ring_back b;                                          \
		uint64_t sum = 0;                                            \
		T msg;                                                       \
		char ack;                                                    \
                                                                             \
		if (tag##_back_attach(&b, p->page, PAGE) != 0)               \
			_exit(2);                                            \
		for (long got = 0; got < p->n;) {                            \
			int k = 0;                                           \
                                                                             \
			while (tag##_back_get(&b, &msg) == 1) {              \
				sum += msg.a;                                \
				ring_back_put(&b, &ack, 0);                  \
				k++;                                         \
			}                                                    \
			got += k;                                            \
			if (k)                                               \
				ring_back_push(&b);                          \
			else                                                 \
				ring_cpu_relax();                            \
		}                                                            \
		p->sum = sum;                                                \
	}                                                                    \
	static double bench_oneway_##tag(long total)                         \
	{                                                                    \
		struct owpp *p = shared_map(sizeof(*p));                     \
		struct ring_front f;                                         \
		double v[REPS];                                              \
		uint64_t want = 0;                                           \
		T msg;                                                       \
		char ack;                                                    \
		pid_t pid;                                                   \
                                                                             \
		memset(&msg, 0, sizeof(msg));                                \
		p->page = shared_map(PAGE);                                  \
		p->n = (REPS + 1) * total;                                   \
		tag##_front_init(&f, p->page, PAGE);                         \
		pid = spawn(oneway_consumer_##tag, p);                       \
		for (int r = -1; r < REPS; r++) {                            \
			uint64_t t0 = now_ns();                              \
			long sent = 0, acked = 0;                            \
                                                                             \
			while (acked < total) {                              \
				while (ring_front_get(&f, &ack, 0) == 1)     \
					acked++;                             \
				while (sent < total &&                       \
				       tag##_front_put(&f, &msg) == 0) {     \
					want += msg.a;                       \
					msg.a++;                             \
					sent++;                              \
				}                                            \
				ring_front_push(&f);                         \
			}                                                    \
			if (r >= 0)                                          \
				v[r] = (double)total /                       \
				       (double)(now_ns() - t0) * 1e3;        \
		}                                                            \
		reap(pid);                                                   \
		if (p->sum != want)                                          \
			fprintf(stderr, "bench/ring: oneway checksum\n"),    \
				exit(1);                                     \
		munmap(p->page, PAGE);                                       \
		munmap(p, sizeof(*p));                                       \
		return median(v, REPS);                                      \
	}

struct m64a {
	uint64_t a, w[7];
};
RING_DEFINE(o64, struct m64a, struct m64a);
ONEWAY(r16, struct m16)
ONEWAY(o64, struct m64a)

/*
 * Pipelined request/response with adaptive waiting: the client keeps every
 * slot (the window, 128 x 16 bytes) busy and the server answers; each side
 * waits with ring_*_wait (default spin) when it has nothing to do.
 */
static double
bench_ring_reqrsp(long total)
{
	struct ringpp *p = shared_map(sizeof(*p));
	struct ring_evtchn *mine, *theirs;
	struct ring_front f;
	double v[REPS];
	struct m16 m = { 0, 0 };
	pid_t pid;

	if (ring_evtchn_pair(&mine, &theirs) < 0)
		die("evtchn");
	p->page = shared_map(PAGE);
	p->n = (REPS + 1) * total;
	p->ev = theirs;
	p->spin = RING_SPIN_DEFAULT;
	r16_front_init(&f, p->page, PAGE);
	pid = spawn(ring_echo_server, p);
	ring_evtchn_close(theirs);
	for (int r = -1; r < REPS; r++) {
		uint64_t t0 = now_ns();
		long sent = 0, got = 0;

		while (got < total) {
			int k = 0;

			while (sent < total && r16_front_put(&f, &m) == 0)
				sent++;
			if (ring_front_push(&f))
				ring_evtchn_notify(mine);
			while (r16_front_get(&f, &m) == 1)
				k++;
			got += k;
			if (k == 0)
				ring_front_wait(&f, mine, RING_SPIN_DEFAULT, -1);
		}
		if (r >= 0)
			v[r] = (double)total / (double)(now_ns() - t0) * 1e3;
	}
	reap(pid);
	ring_evtchn_close(mine);
	munmap(p->page, PAGE);
	munmap(p, sizeof(*p));
	return median(v, REPS);
}

/* The same pattern over a unix stream socketpair, same size and window. */
#define WINDOW 128
#define MSZ 16

struct unixpp {
	int fd;
	long n;
};

static void
unix_reqrsp_server(void *arg)
{
	struct unixpp *p = arg;
	static char buf[WINDOW * MSZ];
	size_t carry = 0;

	for (long done = 0; done < p->n;) {
		ssize_t r = read(p->fd, buf + carry, sizeof(buf) - carry);
		size_t have, whole;

		if (r <= 0)
			die("server read");
		have = carry + (size_t)r;
		whole = have / MSZ * MSZ;
		full_write(p->fd, buf, whole);	/* the answers */
		carry = have - whole;
		memmove(buf, buf + whole, carry);
		done += (long)(whole / MSZ);
	}
}

static double
bench_unix_reqrsp(long total)
{
	static char buf[WINDOW * MSZ];
	struct unixpp s;
	double v[REPS];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	s = (struct unixpp){ .fd = sv[1], .n = (REPS + 1) * total };
	pid = spawn(unix_reqrsp_server, &s);
	memset(buf, 3, sizeof(buf));
	for (int r = -1; r < REPS; r++) {
		uint64_t t0 = now_ns();
		long sent = 0;
		size_t got_bytes = 0;

		while (got_bytes < (size_t)total * MSZ) {
			long outstanding = sent - (long)(got_bytes / MSZ);
			long n = WINDOW - outstanding;
			ssize_t rd;

			if (n > total - sent)
				n = total - sent;
			if (n > 0) {
				full_write(sv[0], buf, (size_t)n * MSZ);
				sent += n;
			}
			rd = read(sv[0], buf, sizeof(buf));
			if (rd <= 0)
				die("client read");
			got_bytes += (size_t)rd;
		}
		if (r >= 0)
			v[r] = (double)total / (double)(now_ns() - t0) * 1e3;
	}
	reap(pid);
	close(sv[0]), close(sv[1]);
	return median(v, REPS);
}

int
main(void)
{
	double pipe_ns, unix_ns, efd_ns, efd_gap_ns, raw_ns, spin_ns, block_ns;
	double ow16, ow64, ring_rr, unix_rr;
	const long gap = 200000;

	signal(SIGPIPE, SIG_IGN);
	pin(0);
	printf("# 2 processes pinned to CPUs 0/1, median of %d runs; "
	       "other load on the machine makes these noisy\n", REPS);
	emit("pipe_rtt_ns", pipe_ns = bench_pipe(), "ns");
	emit("unix_rtt_ns", unix_ns = bench_unix(), "ns");
	emit("eventfd_rtt_ns", efd_ns = bench_eventfd(3000, 0), "ns");
	emit("eventfd_gap_rtt_ns", efd_gap_ns = bench_eventfd(400, gap), "ns");
	emit("raw_shm_rtt_ns", raw_ns = bench_raw(), "ns");
	emit("ring_rtt_spin_ns", spin_ns = bench_ring_rtt_spin(), "ns");
	emit("ring_rtt_block_ns", block_ns = bench_ring_rtt_block(400, gap),
	     "ns");
	emit("ring_oneway_16b_mps", ow16 = bench_oneway_r16(5000000), "Mmsg/s");
	emit("ring_oneway_64b_mps", ow64 = bench_oneway_o64(2000000), "Mmsg/s");
	emit("ring_reqrsp_pipelined_mps", ring_rr = bench_ring_reqrsp(2000000),
	     "Mmsg/s");
	emit("unix_reqrsp_pipelined_mps", unix_rr = bench_unix_reqrsp(500000),
	     "Mmsg/s");
	emit("ring_rtt_spin_vs_raw", spin_ns / raw_ns, "x");
	emit("ring_reqrsp_vs_unix", ring_rr / unix_rr, "x");
	emit("ring_rtt_block_vs_eventfd", block_ns / efd_ns, "x");
	emit("ring_rtt_block_vs_eventfd_gap", block_ns / efd_gap_ns, "x");
	(void)pipe_ns, (void)unix_ns, (void)ow16, (void)ow64;
	return 0;
}
