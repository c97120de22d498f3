/*
 * compose_fixture: a TEST FIXTURE that stands in for the Morgana daemons and
 * for an application, speaking compose's side of docs/internals/wiring.md
 * for real: the store at XENSTORED_PATH, the xenbus handshake (empty
 * protocol), READY=1 / STATUS= on NOTIFY_FD, SIGTERM -> exit 0.
 *
 * Installed under a daemon's name (clockd, kvd, tcpipd, netd: a symlink in
 * a directory given to compose as MORGANA_BINDIR) it is the backend of
 * every device of that type whose backend is its domain.  Under any other
 * name it is the application: it connects every device compose created
 * for its domain, then reports READY.
 *
 * Misbehaviour on demand, per service, from FIXTURE_MODE_<service>:
 *   exit   exit 3 before READY        hang   never report READY
 *   crash  READY, then exit 1 after 200 ms
 * and for the application FIXTURE_APP: exit0 (default: exit 0 after
 * FIXTURE_APP_MS ms, default 300), serve (until SIGTERM), fail (exit 4).
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
notify(const char *line)
{
	const char *e = getenv("NOTIFY_FD");
	char buf[256];
	int n;

	if (!e)
		return;
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (write(atoi(e), buf, (size_t)n) < 0)
		perror("notify");
}

static long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
be_probe(void *a, struct ring_xb_back_dev *d, struct ring_store *st,
	 const char *p)
{
	(void)a; (void)d; (void)st; (void)p;
	return 0;
}

static int
be_connect(void *a, struct ring_xb_back_dev *d, struct ring_peer *peer,
	   struct ring_store *st, const char *p)
{
	(void)a; (void)peer; (void)st; (void)p;
	printf("frontend %u connected to %s/%u\n",
	       ring_xb_back_dev_frontend_id(d), (const char *)a,
	       ring_xb_back_dev_devid(d));
	fflush(stdout);
	return 0;
}

static void
be_disconnect(void *a, struct ring_xb_back_dev *d)
{
	(void)a; (void)d;
}

static const struct ring_xb_back_ops back_ops = { be_probe, be_connect,
						  be_disconnect };

static int
fe_setup(void *a, struct ring_xb_front *fe, struct ring_share *sh,
	 struct ring_store *st, uint32_t tx, const char *p)
{
	(void)a; (void)fe; (void)sh; (void)st; (void)tx; (void)p;
	return 0;
}

static int
fe_connected(void *a, struct ring_xb_front *fe)
{
	(void)a; (void)fe;
	return 0;
}

static void
fe_teardown(void *a, struct ring_xb_front *fe)
{
	(void)a; (void)fe;
}

static const struct ring_xb_front_ops front_ops = { fe_setup, fe_connected,
						    fe_teardown };

static const char *
type_of(const char *prog)
{
	if (!strcmp(prog, "clockd"))
		return "clock";
	if (!strcmp(prog, "kvd"))
		return "kv";
	if (!strcmp(prog, "tcpipd"))
		return "pvcalls";
	if (!strcmp(prog, "netd"))
		return "vif";
	return NULL;
}

static int
run_daemon(const char *svc, const char *type, int argc, char **argv)
{
	char var[128], link[4096];
	const char *mode, *rundir = getenv("MORGANA_RUNDIR");
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct ring_xb_back *be;
	long crash_at = 0;
	int rc;

	snprintf(var, sizeof(var), "FIXTURE_MODE_%s", svc);
	mode = getenv(var) ? getenv(var) : "ok";
	printf("fixture daemon %s: type=%s mode=%s argc=%d", svc, type, mode, argc);
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	if (!strcmp(mode, "exit"))
		return 3;
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0) {
		fprintf(stderr, "fixture: store: %s\n", strerror(-rc));
		return 1;
	}
	snprintf(link, sizeof(link), "%s/%s.sock", rundir ? rundir : "/tmp", svc);
	if ((rc = ring_xb_back_open(xb, type, link, &back_ops, (void *)type,
				    &be)) < 0) {
		fprintf(stderr, "fixture: backend: %s\n", strerror(-rc));
		return 1;
	}
	printf("serving as domain %u\n", ring_xenbus_domid(xb));
	fflush(stdout);
	if (strcmp(mode, "hang")) {
		notify("STATUS=serving");
		notify("READY=1");
	}
	if (!strcmp(mode, "crash"))
		crash_at = ms_now() + 200;
	while (!stop) {
		if (crash_at && ms_now() >= crash_at) {
			fprintf(stderr, "fixture: crashing on purpose\n");
			return 1;
		}
		if (ring_xenbus_poll(xb, NULL, 0, 50) == -EPIPE)
			break;
	}
	notify("STOPPING=1");
	printf("stopping\n");
	ring_xb_back_close(be);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return 0;
}

static int
run_app(int argc, char **argv)
{
	const char *how = getenv("FIXTURE_APP") ? getenv("FIXTURE_APP") : "exit0";
	long run_ms = getenv("FIXTURE_APP_MS") ? atol(getenv("FIXTURE_APP_MS")) : 300;
	struct ring_xb_front *fes[32];
	struct ring_store *st;
	struct ring_xenbus *xb;
	char path[128], **types = NULL;
	unsigned nt = 0, nf = 0;
	long deadline;
	int rc;

	printf("fixture app:");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0) {
		fprintf(stderr, "fixture app: store: %s\n", strerror(-rc));
		return 1;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/device",
		 ring_xenbus_domid(xb));
	if (ring_store_directory(st, RING_XBT_NULL, path, &types, &nt) < 0)
		nt = 0;
	for (unsigned i = 0; i < nt; i++) {
		char p2[256], **ids = NULL;
		unsigned ni = 0;

		snprintf(p2, sizeof(p2), "%s/%s", path, types[i]);
		if (ring_store_directory(st, RING_XBT_NULL, p2, &ids, &ni) < 0)
			continue;
		for (unsigned j = 0; j < ni && nf < 32; j++)
			if (ring_xb_front_open(xb, types[i],
					       (unsigned)atoi(ids[j]),
					       &front_ops, NULL, &fes[nf]) == 0)
				nf++;
		ring_store_free_names(ids, ni);
	}
	ring_store_free_names(types, nt);
	deadline = ms_now() + 5000;
	for (;;) {
		unsigned up = 0;

		for (unsigned i = 0; i < nf; i++)
			up += ring_xb_front_state(fes[i]) == RING_XB_CONNECTED;
		if (up == nf)
			break;
		if (ms_now() > deadline || stop) {
			fprintf(stderr, "fixture app: %u of %u devices connected\n",
				up, nf);
			return 1;
		}
		ring_xenbus_poll(xb, NULL, 0, 50);
	}
	printf("fixture app: %u devices connected\n", nf);
	fflush(stdout);
	notify("READY=1");
	notify("STATUS=running");
	if (!strcmp(how, "fail"))
		return 4;
	deadline = ms_now() + run_ms;
	while (!stop && (strcmp(how, "exit0") || ms_now() < deadline))
		ring_xenbus_poll(xb, NULL, 0, 50);
	printf("fixture app: done\n");
	for (unsigned i = 0; i < nf; i++)
		ring_xb_front_close(fes[i]);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *svc = getenv("MORGANA_SERVICE");
	const char *type = type_of(basename(argv[0]));
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ring_log_set_name(svc ? svc : "fixture");
	if (type)
		return run_daemon(svc ? svc : "fixture", type, argc, argv);
	return run_app(argc, argv);
}
