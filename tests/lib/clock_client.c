/*
 * clock_client - TEST program for clockd over the real transport: a raw
 * `clock` frontend written on libring alone (like ringecho's frontend; it
 * is not the appkit client), and the mini toolstack that runs it against
 * build/bin/clockd.
 *
 *   clock_client --clockd PATH --test page|timers|restart|hostile [opts]
 *     toolstack (domid 0): serves the store in a temp run directory,
 *     creates the clock devices (a dom0 client child), starts clockd as
 *     domid 1 with the wiring contract's environment and waits for its
 *     READY=1, then starts the frontend(s) (domid 2, hostile 3) and
 *     supervises: `restart` SIGKILLs clockd mid-run and restarts it with
 *     the same domid.  Exit status is the good frontend's.
 *   clock_client --role front --mode page|timers|ringref|index [opts]
 *     the frontend itself (started by the toolstack).
 *
 * Timers: N ids with random deadlines in [200 ms, 1 s) on the page's
 * MCLOCK, the first C cancelled at once.  Every other one must fire
 * exactly once, never before its deadline (checked by reading the page on
 * receipt); a cancelled one must never fire.  After a reconnect the
 * client re-arms every timer that has not ended (by id, same absolute
 * deadline).  --latency prints p50/p99 lateness (for bench/clock.c).
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

#include "morgana/clock.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/clock_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"

#define DOM_CLOCKD 1
#define DOM_FRONT 2
#define DOM_HOSTILE 3

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ================= frontend ================= */

enum { T_IDLE, T_TOSEND, T_SENT, T_ARMED, T_CANCEL_TOSEND, T_CANCEL_SENT,
       T_FIRED, T_CANCELLED };

struct timer {
	uint64_t deadline;
	uint8_t st;
	bool cancel;		/* to be cancelled */
};

struct front {
	struct ring_xb_front *xb;
	struct ring_share *share;
	struct ring_front cmd, fire;
	struct ring_evtchn *ev;
	const void *page;
	bool up;
	const char *mode;
	unsigned n, ncancel;
	struct timer *t;
	uint32_t *order;	/* send order of ids */
	unsigned next;		/* next index in order to send */
	unsigned fired, cancelled, ended, early, dups, bad;
	uint64_t *late;		/* ns, per fired */
	unsigned teardowns;
	bool acted;
};

static int
put_key(struct ring_store *st, uint32_t tx, const char *dir, const char *k,
	uint32_t v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, k);
	return ring_store_printf(st, tx, p, "%u", v);
}

static int
fe_setup(void *arg, struct ring_xb_front *xfe, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct front *f = arg;
	uint32_t cref, fref;
	void *cp, *fp;
	int rc;

	(void)xfe;
	if ((rc = ring_share_grant(share, false, &cref, &cp)) < 0 ||
	    (rc = ring_share_grant(share, false, &fref, &fp)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	clock_timer_front_init(&f->cmd, cp, RING_PAGE_SIZE);
	clock_fire_front_init(&f->fire, fp, RING_PAGE_SIZE);
	f->share = share;
	if (strcmp(f->mode, "ringref") == 0)
		cref = 4000000;
	if ((rc = put_key(st, tx, fe_path, CLOCK_KEY_TIMER_RING_REF, cref)) < 0 ||
	    (rc = put_key(st, tx, fe_path, CLOCK_KEY_FIRE_RING_REF, fref)) < 0)
		return rc;
	return put_key(st, tx, fe_path, CLOCK_KEY_EVENT_CHANNEL,
		       ring_evtchn_port(f->ev));
}

static void
post_credits(struct front *f)
{
	struct clock_fire_req c = { 0 };

	while (ring_front_free(&f->fire) > 0)
		clock_fire_front_put(&f->fire, &c);
}

static int
fe_connected(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;
	size_t len;
	int rc = -EAGAIN;

	/* clockd offered the page before it went Connected. */
	for (int i = 0; i < 100 && rc == -EAGAIN; i++) {
		struct pollfd p = { .fd = ring_share_fd(f->share),
				    .events = POLLIN };

		if ((rc = ring_share_offer(f->share, CLOCK_OFFER_TIME_PAGE,
					   &f->page, &len)) != -EAGAIN)
			break;
		poll(&p, 1, 10);
		ring_share_process(f->share);
	}
	if (rc < 0 || len != CLOCK_PAGE_SIZE) {
		ring_log(RING_LOG_ERR, "msg=\"no time page\" err=%d", rc);
		return rc < 0 ? rc : -EPROTO;
	}
	/* A new clockd knows none of our timers: re-arm what has not ended. */
	for (unsigned i = 0; i < f->n; i++) {
		struct timer *t = &f->t[i];

		if (t->st == T_SENT || t->st == T_ARMED)
			t->st = T_TOSEND;
		else if (t->st == T_CANCEL_SENT || t->st == T_CANCEL_TOSEND) {
			/* Nobody holds it any more: it is cancelled. */
			t->st = T_CANCELLED;
			f->cancelled++;
			f->ended++;
		}
	}
	f->next = 0;
	post_credits(f);
	if (ring_front_push(&f->fire))
		ring_evtchn_notify(f->ev);
	f->up = true;
	ring_log(RING_LOG_INFO, "msg=connected generation=%u",
		 ring_xb_front_generation(xfe));
	return 0;
}

static int drain(struct front *f);

static void
fe_teardown(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;

	(void)xfe;
	/* What clockd pushed before it went is valid: take it. */
	if (f->up)
		drain(f);
	f->up = false;
	f->teardowns++;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
	f->share = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

static uint64_t
page_now(struct front *f)
{
	uint64_t ns;

	if (clock_page_mono_ns(f->page, &ns) < 0)
		ns = mono_ns();
	return ns;
}

/* Consume answers and events.  Returns how many, or -1 on a violation. */
static int
drain(struct front *f)
{
	struct clock_timer_rsp r;
	struct clock_fire_rsp e;
	int n = 0, rc;

	while ((rc = clock_timer_front_get(&f->cmd, &r)) == 1) {
		struct timer *t;

		n++;
		if (r.id >= f->n) {
			f->bad++;
			return -1;
		}
		t = &f->t[r.id];
		if (r.status == CLOCK_ST_ARMED && t->st == T_SENT) {
			t->st = t->cancel ? T_CANCEL_TOSEND : T_ARMED;
		} else if (r.status == CLOCK_ST_CANCELLED &&
			   t->st == T_CANCEL_SENT) {
			t->st = T_CANCELLED;
			f->cancelled++;
			f->ended++;
		} else if (r.status == CLOCK_ST_ARMED && t->st == T_FIRED) {
			/* Fired before its ARMED answer was read: fine. */
		} else {
			ring_log(RING_LOG_ERR, "msg=\"unexpected answer\" id=%"
				 PRIu64 " status=%u state=%u", r.id, r.status,
				 t->st);
			f->bad++;
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	while ((rc = clock_fire_front_get(&f->fire, &e)) == 1) {
		uint64_t now = page_now(f);
		struct timer *t;

		n++;
		if (e.id >= f->n || e.status != CLOCK_ST_FIRED) {
			f->bad++;
			return -1;
		}
		t = &f->t[e.id];
		if (t->st == T_FIRED || t->st == T_CANCELLED || t->cancel) {
			ring_log(RING_LOG_ERR, "msg=\"fired twice or after "
				 "cancel\" id=%" PRIu64, e.id);
			f->dups++;
			return -1;
		}
		if (now < t->deadline || e.fired_ns < t->deadline)
			f->early++;
		f->late[f->fired++] = now - t->deadline;
		t->st = T_FIRED;
		f->ended++;
	}
	if (rc < 0)
		return -1;
	if (n > 0)
		post_credits(f);
	return n;
}

static void
send_some(struct front *f)
{
	for (unsigned i = 0; i < f->n && ring_front_free(&f->cmd) > 0; i++) {
		unsigned id = f->order[(f->next + i) % f->n];
		struct timer *t = &f->t[id];
		struct clock_timer_req q = { .id = id };

		if (t->st == T_TOSEND) {
			q.op = CLOCK_OP_ARM;
			q.deadline_ns = t->deadline;
			t->st = T_SENT;
		} else if (t->st == T_CANCEL_TOSEND) {
			q.op = CLOCK_OP_CANCEL;
			t->st = T_CANCEL_SENT;
		} else {
			continue;
		}
		clock_timer_front_put(&f->cmd, &q);
	}
	if (ring_front_push(&f->cmd))
		ring_evtchn_notify(f->ev);
	if (ring_front_push(&f->fire))
		ring_evtchn_notify(f->ev);
}

static void
hostile_act(struct front *f)
{
	f->acted = true;
	if (strcmp(f->mode, "index") == 0) {
		atomic_store(&f->cmd.s->req_prod, f->cmd.req_prod_pvt +
			     f->cmd.nr_ents + 7);
		ring_evtchn_notify(f->ev);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
check_page(struct front *f)
{
	uint64_t a, b, p = 0, w = 0, ra, rb;

	for (int i = 0; i < 1000; i++) {
		a = mono_ns();
		ra = real_ns();
		if (clock_page_mono_ns(f->page, &p) < 0 ||
		    clock_page_wall_ns(f->page, &w) < 0)
			return -1;
		b = mono_ns();
		rb = real_ns();
		/* A few ms of slack: the page re-anchors every 100 ms. */
		if (p + 3000000 < a || p > b + 3000000 ||
		    w + 5000000 < ra || w > rb + 5000000) {
			fprintf(stderr, "page off: mono %" PRIu64 " in [%" PRIu64
				", %" PRIu64 "] wall %" PRIu64 " in [%" PRIu64
				", %" PRIu64 "]\n", p, a, b, w, ra, rb);
			return -1;
		}
	}
	printf("clock_client: page ok (mono and wall within 3/5 ms, 1000 reads)\n");
	return 0;
}

static int
run_front(const char *mode, unsigned n, unsigned ncancel, bool latency)
{
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct front *f = calloc(1, sizeof(*f));
	uint64_t t_end = 0, start_deadline = mono_ns() + 20000000000ull;
	bool hostile = strcmp(mode, "ringref") == 0 ||
		       strcmp(mode, "index") == 0;
	int rc;

	ring_log_set_name(hostile ? "clock-hostile" : "clock-client");
	if (f == NULL)
		return 1;
	f->mode = mode;
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_front_open(xb, CLOCK_DEVICE_TYPE, 0, &front_ops, f,
				     &f->xb)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"frontend setup failed\" err=%d", rc);
		return 1;
	}
	if (strcmp(mode, "timers") == 0) {
		f->n = n;
		f->ncancel = ncancel;
		f->t = calloc(n, sizeof(*f->t));
		f->order = calloc(n, sizeof(*f->order));
		f->late = calloc(n, sizeof(*f->late));
		if (!f->t || !f->order || !f->late)
			return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = f->ev ? ring_evtchn_fd(f->ev) : -1,
				    .events = POLLIN };
		bool more = false;

		if (mono_ns() > start_deadline) {
			ring_log(RING_LOG_ERR, "msg=timeout fired=%u cancelled=%u "
				 "ended=%u of=%u", f->fired, f->cancelled,
				 f->ended, f->n);
			return 1;
		}
		if (f->up && strcmp(mode, "page") == 0)
			return check_page(f) == 0 ? 0 : 1;
		if (hostile) {
			if (f->up && !f->acted)
				hostile_act(f);
			if (f->teardowns > 0 ||
			    ring_xb_front_state(f->xb) == RING_XB_CLOSED ||
			    ring_xb_front_state(f->xb) == RING_XB_CLOSING) {
				printf("clock_client: hostile frontend dropped\n");
				return 0;
			}
		}
		if (f->up && f->n > 0) {
			if (t_end == 0) {
				uint64_t now = page_now(f);

				srandom(12345);
				for (unsigned i = 0; i < f->n; i++) {
					f->t[i].deadline = now + 200000000u +
						(uint64_t)random() % 800000000u;
					f->t[i].cancel = i < f->ncancel;
					f->t[i].st = T_TOSEND;
					f->order[i] = i;
				}
				t_end = now + 1000000000u;
			}
			if (drain(f) < 0) {
				ring_log(RING_LOG_ERR, "msg=\"clockd answered "
					 "wrongly\" bad=%u dups=%u", f->bad,
					 f->dups);
				return 1;
			}
			send_some(f);
			if (f->ended == f->n)
				break;
			more = ring_front_final_check(&f->cmd) ||
			       ring_front_final_check(&f->fire);
		}
		rc = ring_xenbus_poll(xb, &p, 1, more ? 0 : 50);
		if (rc == -EPIPE) {
			ring_log(RING_LOG_ERR, "msg=\"store gone\"");
			return 1;
		}
		if (f->ev)
			ring_evtchn_consume(f->ev);
	}
	qsort(f->late, f->fired, sizeof(*f->late), cmp_u64);
	printf("clock_client: %u timers: %u fired, %u cancelled, %u early, "
	       "%u twice, %u connections\n", f->n, f->fired, f->cancelled,
	       f->early, f->dups, ring_xb_front_generation(f->xb));
	if (latency && f->fired > 0)
		printf("LATENCY p50_us %.1f p99_us %.1f\n",
		       (double)f->late[f->fired / 2] / 1e3,
		       (double)f->late[(size_t)f->fired * 99 / 100] / 1e3);
	fflush(stdout);
	ring_xb_front_close(f->xb);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return f->fired == f->n - f->ncancel && f->cancelled == f->ncancel &&
	       f->early == 0 && f->dups == 0 ? 0 : 1;
}

/* ================= toolstack ================= */

static struct ring_store_server *srv;

static void
serve_for(int ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;

	do {
		struct pollfd p = { .fd = ring_store_server_fd(srv),
				    .events = POLLIN };

		poll(&p, 1, 5);
		ring_store_server_dispatch(srv);
	} while (mono_ns() < end);
}

static pid_t
spawn(char *const argv[], uint16_t domid, int notify_wr)
{
	pid_t pid = fork();

	if (pid == 0) {
		char nfd[16];

		if (notify_wr >= 0) {
			snprintf(nfd, sizeof(nfd), "%d", notify_wr);
			setenv("NOTIFY_FD", nfd, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0) {
		/* Before the store serves the child: a restarted domain
		 * keeps its domid and gets its new pid. */
		ring_store_server_release(srv, domid);
		if (ring_store_server_introduce(srv, domid, pid) < 0)
			ring_log(RING_LOG_ERR, "msg=\"introduce failed\"");
	}
	return pid;
}

/* Start clockd and serve the store until it says READY=1. */
static pid_t
start_clockd(char *const argv[])
{
	int pfd[2];
	char buf[256];
	size_t have = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = spawn(argv, DOM_CLOCKD, pfd[1]);
	close(pfd[1]);
	for (int i = 0; i < 2000; i++) {
		struct pollfd p[2] = {
			{ .fd = ring_store_server_fd(srv), .events = POLLIN },
			{ .fd = pfd[0], .events = POLLIN },
		};

		poll(p, 2, 5);
		ring_store_server_dispatch(srv);
		if (p[1].revents) {
			ssize_t n = read(pfd[0], buf + have,
					 sizeof(buf) - 1 - have);

			if (n <= 0)
				break;
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, "READY=1\n") != NULL) {
				close(pfd[0]);
				return pid;
			}
		}
	}
	close(pfd[0]);
	ring_log(RING_LOG_ERR, "msg=\"clockd never said READY=1\"");
	return -1;
}

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
		serve_for(5);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
			       0 : -EIO;
	}
}

static int
create_devices(struct ring_store *st, void *arg)
{
	int rc = ring_xenbus_create_device(st, CLOCK_DEVICE_TYPE, DOM_FRONT,
					   DOM_CLOCKD, 0);

	if (rc == 0 && arg != NULL)
		rc = ring_xenbus_create_device(st, CLOCK_DEVICE_TYPE,
					       DOM_HOSTILE, DOM_CLOCKD, 0);
	return rc;
}

static int
run_toolstack(const char *clockd, const char *test, unsigned n,
	      unsigned ncancel, const char *hostile, bool latency)
{
	char self[PATH_MAX], rundir[64], sock[128], link[128], sn[16], sc[16];
	const char *mode = strcmp(test, "page") == 0 ? "page" : "timers";
	bool restart = strcmp(test, "restart") == 0;
	int status, rc = 1, front_status = -1;
	pid_t cpid, fpid, hpid = -1;
	ssize_t sl;

	ring_log_set_name("clock-toolstack");
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		return 1;
	self[sl] = '\0';
	snprintf(rundir, sizeof(rundir), "/tmp/clockserve.XXXXXX");
	if (mkdtemp(rundir) == NULL)
		return 1;
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	snprintf(link, sizeof(link), "%s/clock.sock", rundir);
	{
		struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };

		if (ring_store_server_open(&o, &srv) < 0)
			return 1;
	}
	setenv("XENSTORED_PATH", sock, 1);
	setenv("MORGANA_RUNDIR", rundir, 1);
	setenv("MORGANA_SERVICE", "clock", 1);
	if (as_client(create_devices, (void *)hostile) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"cannot create devices\"");
		goto out;
	}
	snprintf(sn, sizeof(sn), "%u", n);
	snprintf(sc, sizeof(sc), "%u", ncancel);
	char *cargv[] = { (char *)clockd, NULL };
	char *fargv[] = { self, "--role", "front", "--mode", (char *)mode,
			  "--timers", sn, "--cancel", sc,
			  latency ? "--latency" : NULL, NULL };
	char *hargv[] = { self, "--role", "front", "--mode",
			  (char *)hostile, NULL };

	if ((cpid = start_clockd(cargv)) < 0)
		goto out;
	if (hostile)
		hpid = spawn(hargv, DOM_HOSTILE, -1);
	fpid = spawn(fargv, DOM_FRONT, -1);
	if (latency) {
		/* For bench/clock.c: clockd's resident set while serving. */
		char p[64], line[256];
		FILE *fp;

		serve_for(400);
		snprintf(p, sizeof(p), "/proc/%d/status", (int)cpid);
		if ((fp = fopen(p, "r")) != NULL) {
			while (fgets(line, sizeof(line), fp))
				if (strncmp(line, "VmRSS:", 6) == 0)
					printf("CLOCKD %s", line);
			fclose(fp);
		}
		fflush(stdout);
	}
	if (restart) {
		/* Mid-run: ARMs sent, cancels answered, nothing fired. */
		serve_for(150);
		ring_log(RING_LOG_INFO, "msg=\"killing clockd\" pid=%d",
			 (int)cpid);
		kill(cpid, SIGKILL);
		waitpid(cpid, NULL, 0);
		if ((cpid = start_clockd(cargv)) < 0)
			goto out;
	}
	while (front_status < 0) {
		pid_t w;

		serve_for(5);
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			if (w == fpid) {
				front_status = WIFEXITED(status) ?
					       WEXITSTATUS(status) : 128;
			} else if (w == hpid) {
				int hs = WIFEXITED(status) ?
					 WEXITSTATUS(status) : 128;

				ring_log(RING_LOG_INFO, "msg=\"hostile exited\" "
					 "status=%d", hs);
				if (hs != 0)
					front_status = 10;
				hpid = -1;
			} else if (w == cpid) {
				ring_log(RING_LOG_ERR, "msg=\"clockd died\"");
				front_status = 11;
			}
		}
	}
	if (hostile && hpid > 0) {
		ring_log(RING_LOG_ERR, "msg=\"hostile frontend never dropped\"");
		front_status = front_status ? front_status : 12;
	}
	rc = front_status;
	/* clockd exits 0 on SIGTERM, after closing its devices. */
	kill(cpid, SIGTERM);
	for (int i = 0; i < 400; i++) {
		serve_for(5);
		if (waitpid(cpid, &status, WNOHANG) == cpid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				ring_log(RING_LOG_ERR, "msg=\"clockd did not "
					 "exit 0 on SIGTERM\"");
				rc = rc ? rc : 13;
			}
			cpid = -1;
			break;
		}
	}
	if (cpid > 0) {
		ring_log(RING_LOG_ERR, "msg=\"clockd ignored SIGTERM\"");
		kill(cpid, SIGKILL);
		rc = rc ? rc : 14;
	}
	if (hpid > 0)
		kill(hpid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
out:
	ring_store_server_close(srv);
	unlink(link);
	unlink(sock);
	rmdir(rundir);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "clockd", required_argument, NULL, 'c' },
		{ "test", required_argument, NULL, 't' },
		{ "role", required_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "timers", required_argument, NULL, 'n' },
		{ "cancel", required_argument, NULL, 'x' },
		{ "hostile", required_argument, NULL, 'H' },
		{ "latency", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *clockd = NULL, *test = "timers", *role = NULL;
	const char *mode = "timers", *hostile = NULL;
	unsigned n = 5000, ncancel = 500;
	bool latency = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': clockd = optarg; break;
		case 't': test = optarg; break;
		case 'R': role = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': ncancel = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': hostile = optarg; break;
		case 'l': latency = true; break;
		case 'h':
			puts("clock_client: test frontend and toolstack for "
			     "clockd; see the comment at the top of "
			     "tests/lib/clock_client.c");
			return 0;
		default:
			return 2;
		}
	}
	if (ncancel > n || n > 1000000)
		return 2;
	if (role != NULL && strcmp(role, "front") == 0)
		return run_front(mode, n, ncancel, latency);
	if (clockd == NULL) {
		fprintf(stderr, "clock_client: --clockd PATH is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	return run_toolstack(clockd, test, n, ncancel, hostile, latency);
}
