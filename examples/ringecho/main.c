/*
 * ringecho: libring end to end, in three processes.
 *
 *   toolstack (this process, domid 0): serves the store, introduces the
 *       other processes as domains, creates the device, supervises;
 *   backend (domid 1): serves device type "echo";
 *   frontend (domid 2): sends N requests over the ring and checks every
 *       answer; with --hostile, a second frontend (domid 3) misbehaves.
 *
 * Each request names a byte range of a read-only data page the frontend
 * granted; the backend answers with the sum of those bytes.  The frontend
 * checks every response against its request, that none is lost and none
 * is answered twice, across backend restarts (--kill-backend).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_proto.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"

#define DOM_BACK 1
#define DOM_FRONT 2
#define DOM_HOSTILE 3

static const char *hostile_modes[] = { "index", "overflow", "gref", "len",
				       "ringref", NULL };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t
data_byte(unsigned i)
{
	return (uint8_t)(i * 7u + 3u);
}

static void
req_range(uint64_t seq, uint16_t *off, uint16_t *len)
{
	*len = (uint16_t)(1 + seq % 96);
	*off = (uint16_t)((seq * 2654435761u) % (4096 - 96));
}

static int
read_key(struct ring_store *st, const char *dir, const char *key,
	 unsigned long *v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_read_uint(st, RING_XBT_NULL, p, v);
}

/* ================= backend ================= */

struct bdev {
	struct bdev *next;
	struct ring_xb_back_dev *dev;
	struct ring_peer *peer;
	struct ring_back ring;
	uint32_t ring_ref;
	struct ring_evtchn *ev;
	uint64_t served;
};

static struct bdev *bdevs;
/* Events that cost a system call: what adaptive waiting keeps rare. */
static uint64_t be_notifies, be_sleeps;

static int
be_probe(void *arg, struct ring_xb_back_dev *dev, struct ring_store *st,
	 const char *be_path)
{
	char p[256];

	(void)arg;
	(void)dev;
	snprintf(p, sizeof(p), "%s/feature-sum", be_path);
	return ring_store_printf(st, RING_XBT_NULL, p, "1");
}

static int
be_connect(void *arg, struct ring_xb_back_dev *dev, struct ring_peer *peer,
	   struct ring_store *st, const char *fe_path)
{
	unsigned long ref, port;
	struct bdev *b;
	void *page;
	int rc;

	(void)arg;
	if ((rc = read_key(st, fe_path, "ring-ref", &ref)) < 0 ||
	    (rc = read_key(st, fe_path, "event-channel", &port)) < 0)
		return rc;
	if (ref > UINT32_MAX || port > UINT32_MAX)
		return -EINVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	if ((rc = ring_peer_map(peer, (uint32_t)ref, true, &page)) < 0)
		goto fail;
	if ((rc = echo_back_attach(&b->ring, page, RING_PAGE_SIZE)) < 0)
		goto fail_unmap;
	rc = ring_peer_bind(peer, (uint32_t)port, &b->ev);
	if (rc == -EAGAIN && ring_peer_process(peer) == 0)
		rc = ring_peer_bind(peer, (uint32_t)port, &b->ev);
	if (rc < 0)
		goto fail_unmap;
	b->dev = dev;
	b->peer = peer;
	b->ring_ref = (uint32_t)ref;
	*ring_xb_back_dev_user(dev) = b;
	b->next = bdevs;
	bdevs = b;
	ring_log(RING_LOG_INFO, "msg=\"frontend connected\" frontend=%u",
		 ring_xb_back_dev_frontend_id(dev));
	return 0;
fail_unmap:
	ring_peer_unmap(peer, (uint32_t)ref);
fail:
	free(b);
	return rc;
}

static void
be_disconnect(void *arg, struct ring_xb_back_dev *dev)
{
	struct bdev *b = *ring_xb_back_dev_user(dev), **pp;

	(void)arg;
	if (b == NULL)
		return;
	for (pp = &bdevs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	ring_peer_unmap(b->peer, b->ring_ref);
	ring_evtchn_close(b->ev);
	*ring_xb_back_dev_user(dev) = NULL;
	free(b);
}

static const struct ring_xb_back_ops back_ops = {
	.be_probe = be_probe,
	.be_connect = be_connect,
	.be_disconnect = be_disconnect,
};

/* Serve up to budget requests of one device.  Returns how many, or -1
 * if the device was failed (and freed). */
static int
serve_dev(struct bdev *b, int budget)
{
	struct echo_request q;
	struct echo_response r;
	uint8_t buf[4096];
	int n = 0, rc;

	while (n < budget) {
		rc = echo_back_get(&b->ring, &q);
		if (rc == 0)
			break;
		if (rc < 0) {
			ring_xb_back_dev_fail(b->dev, "impossible ring indices");
			return -1;
		}
		/* Validate the private copy only. */
		rc = ring_peer_copy_from(b->peer, q.gref, q.off, buf, q.len);
		if (rc < 0) {
			ring_xb_back_dev_fail(b->dev, rc == -EPERM ?
				"request names a page not granted" :
				"request names a bad ref or a range past its page");
			return -1;
		}
		r = (struct echo_response){ .seq = q.seq };
		for (unsigned i = 0; i < q.len; i++)
			r.sum += buf[i];
		echo_back_put(&b->ring, &r);
		n++;
	}
	if (n > 0) {
		b->served += (uint64_t)n;
		if (ring_back_push(&b->ring)) {
			ring_evtchn_notify(b->ev);
			be_notifies++;
		}
	}
	return n;
}

static volatile sig_atomic_t stop, mark;

static void
on_mark(int sig)
{
	(void)sig;
	mark = 1;
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
run_backend(const char *link, unsigned spin)
{
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct ring_xb_back *be;
	int rc;

	ring_log_set_name("echo-back");
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_back_open(xb, "echo", link, &back_ops, NULL, &be)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"backend setup failed\" err=%d", rc);
		return 1;
	}
	ring_log(RING_LOG_INFO, "msg=ready link=%s", link);
	while (!stop) {
		struct pollfd fds[16];
		unsigned nfd = 0, idle;
		int work = 0;

		/* Round-robin with a budget: a busy peer cannot starve
		 * another. */
		for (struct bdev *b = bdevs, *nx; b != NULL; b = nx) {
			nx = b->next;
			rc = serve_dev(b, 256);
			if (rc > 0)
				work += rc;
		}
		if (work > 0)
			continue;
		for (idle = 0; idle < spin && work == 0; idle++) {
			for (struct bdev *b = bdevs; b != NULL; b = b->next)
				if (ring_back_has_unconsumed(&b->ring))
					work = 1;
			ring_cpu_relax();
		}
		if (work)
			continue;
		for (struct bdev *b = bdevs; b != NULL; b = b->next) {
			if (ring_back_final_check(&b->ring))
				work = 1;
			if (nfd < 16)
				fds[nfd++] = (struct pollfd){
					.fd = ring_evtchn_fd(b->ev),
					.events = POLLIN };
		}
		be_sleeps++;
		rc = ring_xenbus_poll(xb, fds, nfd, work ? 0 : 1000);
		if (rc == -EPIPE) {
			ring_log(RING_LOG_ERR, "msg=\"store gone\"");
			return 1;
		}
		for (struct bdev *b = bdevs; b != NULL; b = b->next)
			ring_evtchn_consume(b->ev);
	}
	ring_log(RING_LOG_INFO, "msg=stats notifies=%" PRIu64 " sleeps=%" PRIu64,
		 be_notifies, be_sleeps);
	ring_xb_back_close(be);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return 0;
}

/* ================= frontend ================= */

struct front {
	struct ring_xb_front *xb;
	struct ring_front ring;
	bool up;
	void *data;
	uint32_t data_ref;
	struct ring_evtchn *ev;
	uint64_t pairs, next_seq, answered, dups, bad;
	uint64_t at_mark;	/* answered when the hostile peer was dropped */
	uint64_t notifies, sleeps;	/* events that cost a system call */
	uint8_t *done;		/* one bit per seq */
	uint64_t *fifo;		/* in flight, in submission order */
	unsigned fifo_head, fifo_n, fifo_cap;
	uint32_t prefix[4097];	/* prefix sums of the data page */
	const char *hostile;
	bool hostile_acted;
	unsigned teardowns;
};

static int
fe_setup(void *arg, struct ring_xb_front *xfe, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct front *f = arg;
	uint32_t ring_ref;
	void *page;
	char p[256];
	int rc;

	(void)xfe;
	if ((rc = ring_share_grant(share, false, &ring_ref, &page)) < 0 ||
	    (rc = ring_share_grant(share, true, &f->data_ref, &f->data)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	echo_front_init(&f->ring, page, RING_PAGE_SIZE);
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)f->data)[i] = data_byte(i);
	if (f->hostile && strcmp(f->hostile, "ringref") == 0)
		ring_ref = 4000000;
	snprintf(p, sizeof(p), "%s/ring-ref", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "%u", ring_ref)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/data-ref", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "%u", f->data_ref)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/event-channel", fe_path);
	return ring_store_printf(st, tx, p, "%u", ring_evtchn_port(f->ev));
}

static bool
fifo_push(struct front *f, uint64_t seq)
{
	if (f->fifo_n == f->fifo_cap)
		return false;
	f->fifo[(f->fifo_head + f->fifo_n++) % f->fifo_cap] = seq;
	return true;
}

static void
put_req(struct front *f, uint64_t seq)
{
	struct echo_request q = { .seq = seq, .gref = f->data_ref };

	req_range(seq, &q.off, &q.len);
	echo_front_put(&f->ring, &q);
}

static int
fe_connected(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;

	(void)xfe;
	/* Resubmit everything in flight on the new ring, in order. */
	for (unsigned i = 0; i < f->fifo_n; i++)
		put_req(f, f->fifo[(f->fifo_head + i) % f->fifo_cap]);
	if (ring_front_push(&f->ring))
		ring_evtchn_notify(f->ev);
	f->up = true;
	ring_log(RING_LOG_INFO,
		 "msg=connected generation=%u resubmitted=%u",
		 ring_xb_front_generation(xfe), f->fifo_n);
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;

	(void)xfe;
	f->up = false;
	f->teardowns++;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

static void
hostile_act(struct front *f)
{
	struct ring_sring *s = f->ring.s;
	struct echo_request q = { .seq = 1, .gref = f->data_ref };

	f->hostile_acted = true;
	if (strcmp(f->hostile, "index") == 0) {
		atomic_store(&s->req_prod, 0xdeadbeefu);
	} else if (strcmp(f->hostile, "overflow") == 0) {
		atomic_store(&s->req_prod, f->ring.req_prod_pvt +
				  f->ring.nr_ents + 7);
	} else if (strcmp(f->hostile, "gref") == 0) {
		q.gref = 77777;
		q.len = 8;
		echo_front_put(&f->ring, &q);
		ring_front_push(&f->ring);
	} else if (strcmp(f->hostile, "len") == 0) {
		q.off = 4000;
		q.len = 500;
		echo_front_put(&f->ring, &q);
		ring_front_push(&f->ring);
	}
	ring_evtchn_notify(f->ev);
}

/* Consume responses; returns how many, or -1 on a backend violation. */
static int
drain(struct front *f)
{
	struct echo_response r;
	int n = 0, rc;

	while ((rc = echo_front_get(&f->ring, &r)) == 1) {
		uint64_t want_seq;
		uint16_t off, len;

		if (f->fifo_n == 0)
			return -1;
		want_seq = f->fifo[f->fifo_head];
		if (r.seq >= f->pairs) {
			f->bad++;
			return -1;
		}
		if (f->done[r.seq / 8] & (1u << (r.seq % 8))) {
			f->dups++;
			return -1;
		}
		if (r.seq != want_seq || r.status != 0) {
			f->bad++;
			return -1;
		}
		req_range(r.seq, &off, &len);
		if (r.sum != f->prefix[off + len] - f->prefix[off]) {
			f->bad++;
			return -1;
		}
		f->done[r.seq / 8] |= (uint8_t)(1u << (r.seq % 8));
		f->fifo_head = (f->fifo_head + 1) % f->fifo_cap;
		f->fifo_n--;
		f->answered++;
		n++;
	}
	return rc < 0 ? -1 : n;
}

static int
run_frontend(uint64_t pairs, unsigned spin, const char *hostile)
{
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct front *f = calloc(1, sizeof(*f));
	double t0 = 0, t1;
	uint64_t last_report = 0;
	int rc;

	ring_log_set_name(hostile ? "echo-hostile" : "echo-front");
	/* SIGUSR2 marks the moment a hostile peer was dropped; SIGUSR1 ends
	 * the run early: stop sending, drain what is in flight. */
	signal(SIGUSR1, on_term);
	signal(SIGUSR2, on_mark);
	f->pairs = pairs;
	f->hostile = hostile;
	f->fifo_cap = 4096;
	f->fifo = calloc(f->fifo_cap, sizeof(*f->fifo));
	f->done = calloc(pairs / 8 + 1, 1);
	if (f->fifo == NULL || f->done == NULL)
		return 1;
	for (unsigned i = 0; i < 4096; i++)
		f->prefix[i + 1] = f->prefix[i] + data_byte(i);
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_front_open(xb, "echo", 0, &front_ops, f, &f->xb)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"frontend setup failed\" err=%d", rc);
		return 1;
	}
	while (f->answered < f->pairs) {
		int got = 0;

		if (mark && f->at_mark == 0)
			f->at_mark = f->answered ? f->answered : 1;
		if (stop && f->pairs > f->next_seq)
			f->pairs = f->next_seq;

		if (f->up) {
			if (t0 == 0)
				t0 = now_s();
			if (hostile) {
				if (!f->hostile_acted)
					hostile_act(f);
			} else {
				while (f->next_seq < f->pairs &&
				       ring_front_free(&f->ring) > 0 &&
				       fifo_push(f, f->next_seq))
					put_req(f, f->next_seq++);
				if (ring_front_push(&f->ring)) {
					ring_evtchn_notify(f->ev);
					f->notifies++;
				}
			}
			got = drain(f);
			if (got < 0) {
				ring_log(RING_LOG_ERR,
					 "msg=\"backend answered wrongly\" dups=%" PRIu64 " bad=%" PRIu64,
					 f->dups, f->bad);
				return 1;
			}
			if (got > 0) {
				if (f->answered - last_report >= 1000000) {
					last_report = f->answered;
					ring_log(RING_LOG_DEBUG, "msg=progress answered=%" PRIu64,
						 f->answered);
				}
				continue;
			}
			for (unsigned i = 0; i < spin && got == 0; i++) {
				if (ring_front_has_unconsumed(&f->ring))
					got = 1;
				ring_cpu_relax();
			}
			if (got)
				continue;
		}
		if (hostile && f->hostile_acted && !f->up) {
			ring_log(RING_LOG_INFO, "msg=\"hostile frontend was disconnected\"");
			return 0;
		}
		if (hostile && strcmp(hostile, "ringref") == 0 &&
		    f->teardowns > 0) {
			ring_log(RING_LOG_INFO, "msg=\"hostile frontend was refused\"");
			return 0;
		}
		{
			struct pollfd p = { .fd = f->ev ? ring_evtchn_fd(f->ev) : -1,
					    .events = POLLIN };
			bool more = f->up && ring_front_final_check(&f->ring);

			f->sleeps++;
			rc = ring_xenbus_poll(xb, &p, 1, more ? 0 : 1000);
			if (rc == -EPIPE) {
				ring_log(RING_LOG_ERR, "msg=\"store gone\"");
				return 1;
			}
			if (f->ev)
				ring_evtchn_consume(f->ev);
		}
	}
	t1 = now_s();
	printf("ringecho: %" PRIu64 " pairs in %.3f s (%.2f M pairs/s), "
	       "%" PRIu64 " lost, %" PRIu64 " answered twice, %u connections",
	       f->pairs, t1 - t0, (double)f->pairs / (t1 - t0) / 1e6,
	       f->pairs - f->answered, f->dups, ring_xb_front_generation(f->xb));
	if (f->at_mark != 0)
		printf(", %" PRIu64 " answered after the hostile peer was dropped",
		       f->answered - f->at_mark);
	printf("\nringecho: frontend made %" PRIu64 " notifies and %" PRIu64
	       " sleeps for %" PRIu64 " requests\n", f->notifies, f->sleeps,
	       f->pairs);
	fflush(stdout);
	ring_xb_front_close(f->xb);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return f->answered == f->pairs && f->dups == 0 ? 0 : 1;
}

/* ================= toolstack ================= */

static char rundir[PATH_MAX];
static struct ring_store_server *srv;

static pid_t
spawn(const char *self, char *const argv[], uint16_t domid)
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(self, argv);
		_exit(127);
	}
	if (pid > 0) {
		/* Before the store reads anything from the child: its
		 * first request is served after this, by our loop.  A
		 * restarted domain keeps its domid and gets its new pid. */
		int rc;

		ring_store_server_release(srv, domid);
		rc = ring_store_server_introduce(srv, domid, pid);

		if (rc < 0)
			ring_log(RING_LOG_ERR, "msg=\"introduce failed\" domid=%u err=%d",
				 domid, rc);
	}
	return pid;
}

/* Run fn as a dom0 client in a child while serving the store. */
static int
as_client(int (*fn)(struct ring_store *, void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct ring_store *st;
		int rc = ring_store_open(NULL, &st);

		if (rc == 0)
			rc = fn(st, arg);
		_exit(rc == 0 ? 0 : 1);
	}
	for (;;) {
		struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };

		poll(&p, 1, 10);
		ring_store_server_dispatch(srv);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
	}
}

static int
create_devices(struct ring_store *st, void *arg)
{
	bool hostile = arg != NULL;
	int rc = ring_xenbus_create_device(st, "echo", DOM_FRONT, DOM_BACK, 0);

	if (rc == 0 && hostile)
		rc = ring_xenbus_create_device(st, "echo", DOM_HOSTILE,
					       DOM_BACK, 0);
	return rc;
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: ringecho [options]\n"
"Runs a store, an echo backend and an echo frontend as three processes joined\n"
"by libring (store, handshake, grants, event channels, shared ring), sends\n"
"N requests and checks every answer.\n"
"\n"
"  -n, --pairs N          request/response pairs to exchange (default 1000000)\n"
"  -k, --kill-backend K   SIGKILL the backend K times mid-stream; it is\n"
"                         restarted and the frontend reconnects; the run\n"
"                         ends 0.3 s after the last kill (default 0)\n"
"      --kill-every-ms M  time between kills (default 150)\n"
"      --hostile MODE     add a hostile frontend (domid 3): index, overflow,\n"
"                         gref, len or ringref; the backend must drop it and\n"
"                         keep serving the good one, which then stops 0.3 s\n"
"                         after the drop (at most --pairs pairs)\n"
"  -s, --spin N           spin budget before sleeping (default %u)\n"
"  -h, --help             this text\n"
"Exit status 0 iff every request was answered exactly once and correctly.\n",
		RING_SPIN_DEFAULT);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pairs", required_argument, NULL, 'n' },
		{ "kill-backend", required_argument, NULL, 'k' },
		{ "kill-every-ms", required_argument, NULL, 'K' },
		{ "hostile", required_argument, NULL, 'H' },
		{ "spin", required_argument, NULL, 's' },
		{ "role", required_argument, NULL, 'R' },
		{ "link", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long pairs = 1000000;
	unsigned kills = 0, kill_ms = 150, spin = RING_SPIN_DEFAULT;
	const char *role = NULL, *link = NULL, *hostile = NULL;
	char self[PATH_MAX], sock[PATH_MAX + 16], lnk[PATH_MAX + 16];
	char npairs[32], nspin[32];
	int c, status, rc = 1;
	ssize_t sl;

	while ((c = getopt_long(argc, argv, "n:k:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': pairs = strtoull(optarg, NULL, 10); break;
		case 'k': kills = (unsigned)atoi(optarg); break;
		case 'K': kill_ms = (unsigned)atoi(optarg); break;
		case 's': spin = (unsigned)atoi(optarg); break;
		case 'H': hostile = optarg; break;
		case 'R': role = optarg; break;
		case 'L': link = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (pairs == 0 || pairs > (1ull << 34)) {
		fprintf(stderr, "ringecho: --pairs must be 1..2^34\n");
		return 2;
	}
	if (hostile != NULL) {
		bool ok = false;

		for (int i = 0; hostile_modes[i]; i++)
			ok |= strcmp(hostile, hostile_modes[i]) == 0;
		if (!ok) {
			fprintf(stderr, "ringecho: unknown --hostile mode '%s'\n",
				hostile);
			return 2;
		}
	}
	if (role != NULL && strcmp(role, "back") == 0)
		return run_backend(link, spin);
	if (role != NULL && strcmp(role, "front") == 0)
		return run_frontend(pairs, spin, hostile);
	if (role != NULL) {
		fprintf(stderr, "ringecho: unknown role '%s'\n", role);
		return 2;
	}

	ring_log_set_name("ringecho");
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		return 1;
	self[sl] = '\0';
	snprintf(rundir, sizeof(rundir), "/tmp/ringecho.XXXXXX");
	if (mkdtemp(rundir) == NULL)
		return 1;
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	snprintf(lnk, sizeof(lnk), "%s/echo-back.sock", rundir);
	{
		struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };

		if ((rc = ring_store_server_open(&o, &srv)) < 0) {
			fprintf(stderr, "ringecho: store: %s\n", strerror(-rc));
			return 1;
		}
	}
	setenv("XENSTORED_PATH", sock, 1);
	if (as_client(create_devices, (void *)hostile) < 0) {
		fprintf(stderr, "ringecho: cannot create the devices\n");
		goto out;
	}
	snprintf(npairs, sizeof(npairs), "%llu", pairs);
	snprintf(nspin, sizeof(nspin), "%u", spin);
	char *bargv[] = { self, "--role", "back", "--link", lnk, "--spin",
			  nspin, NULL };
	char *fargv[] = { self, "--role", "front", "--pairs", npairs,
			  "--spin", nspin, NULL };
	char *hargv[] = { self, "--role", "front", "--pairs", "1000000",
			  "--hostile", (char *)hostile, NULL };
	pid_t bpid = spawn(self, bargv, DOM_BACK);
	pid_t fpid = spawn(self, fargv, DOM_FRONT);
	pid_t hpid = hostile ? spawn(self, hargv, DOM_HOSTILE) : -1;
	double next_kill = now_s() + kill_ms / 1000.0, stop_at = 0;
	int front_status = -1;

	ring_log(RING_LOG_INFO, "msg=started store=%s backend=%d frontend=%d",
		 sock, (int)bpid, (int)fpid);
	while (front_status < 0) {
		struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };
		pid_t w;

		poll(&p, 1, 5);
		ring_store_server_dispatch(srv);
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			if (w == fpid) {
				front_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
			} else if (w == bpid) {
				ring_log(RING_LOG_WARN, "msg=\"backend exited, restarting\" status=%d",
					 status);
				bpid = spawn(self, bargv, DOM_BACK);
			} else if (w == hpid) {
				ring_log(RING_LOG_INFO, "msg=\"hostile frontend exited\" status=%d",
					 WIFEXITED(status) ? WEXITSTATUS(status) : 128);
				hpid = -1;
				/* The good frontend must go on being served
				 * after this: mark it, stop it a little later. */
				kill(fpid, SIGUSR2);
				stop_at = now_s() + 0.3;
			}
		}
		if (stop_at != 0 && now_s() >= stop_at) {
			kill(fpid, SIGUSR1);
			stop_at = 0;
		}
		if (kills > 0 && now_s() >= next_kill) {
			ring_log(RING_LOG_INFO, "msg=\"killing backend\" pid=%d", (int)bpid);
			kill(bpid, SIGKILL);
			waitpid(bpid, NULL, 0);
			bpid = spawn(self, bargv, DOM_BACK);
			/* After the last kill, let the frontend reconnect and
			 * run a little, then end its run. */
			if (--kills == 0)
				stop_at = now_s() + 0.3;
			next_kill = now_s() + kill_ms / 1000.0;
		}
	}
	rc = front_status;
	kill(bpid, SIGTERM);
	if (hpid > 0)
		kill(hpid, SIGKILL);
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };

		poll(&p, 1, 5);
		ring_store_server_dispatch(srv);
		if (waitpid(bpid, &status, WNOHANG) == bpid)
			break;
	}
	kill(bpid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
out:
	ring_store_server_close(srv);
	unlink(lnk);
	unlink(sock);
	rmdir(rundir);
	return rc;
}
