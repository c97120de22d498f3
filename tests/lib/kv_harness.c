/*
 * kv_harness: a test toolstack for kvd, modelled on ringecho's: it serves
 * the store in-process (dom0), creates the `kv` devices from a dom0 client
 * child, starts the kvd backends and the kv_client frontends with the
 * wiring environment (docs/internals/wiring.md), introducing each right
 * after fork, and supervises them.
 *
 *   kv_harness --rundir DIR --kvd BIN --client BIN
 *              --backend 'SVC ARGS...'        (repeat; domids 1, 2, ...)
 *              --frontend 'B0,B1,... ARGS...' (repeat; kv/i is served by
 *                                              backend Bi; domids follow)
 *              [--kills K] [--kill-ms MIN,MAX] [--seed S]
 *
 * With --kills, the frontends get SIGUSR1 (end your run) 0.3 s after the
 * last kill, and backend 0 is SIGKILLed K times, each after a random
 * MIN..MAX ms, and restarted with the same domid (release + introduce) as
 * soon as it is dead; the harness waits for READY=1 from every (re)start.
 * When every frontend has exited, each backend gets SIGTERM and must exit
 * 0.  Exit status: 0 iff every frontend exited 0 and every backend stopped
 * cleanly; frontends' stdout is passed through.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"

#define MAXP 8
#define MAXARGS 32

struct proc {
	char *argv[MAXARGS];
	char svc[64];
	uint16_t domid;
	pid_t pid;
	int notify_rd;		/* backends: READY pipe */
	int status;		/* frontends: exit status, -1 running */
	unsigned devs[MAXP], ndevs;
};

static struct ring_store_server *srv;
static struct proc backs[MAXP], fronts[MAXP];
static unsigned nb, nf;
static char rundir[PATH_MAX], sock[PATH_MAX + 16];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
serve(int ms)
{
	struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };

	poll(&p, 1, ms);
	ring_store_server_dispatch(srv);
}

/* Split s on spaces into argv starting at index `at`. */
static unsigned
split(char *s, char **argv, unsigned at)
{
	for (char *t = strtok(s, " "); t && at < MAXARGS - 1;
	     t = strtok(NULL, " "))
		argv[at++] = t;
	argv[at] = NULL;
	return at;
}

static pid_t
spawn(struct proc *p, bool backend)
{
	int pfd[2] = { -1, -1 };
	pid_t pid;

	if (backend && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char nfd[16];

		setenv("MORGANA_SERVICE", p->svc, 1);
		/* KV_HARNESS_PIN (benchmarks): backends on CPU 1, frontends
		 * on CPU 0, so each run measures the same placement. */
		if (getenv("KV_HARNESS_PIN") != NULL &&
		    sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(backend ? 1 : 0, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		if (backend) {
			int fd = dup(pfd[1]);	/* without O_CLOEXEC */

			snprintf(nfd, sizeof(nfd), "%d", fd);
			setenv("NOTIFY_FD", nfd, 1);
		} else {
			unsetenv("NOTIFY_FD");
		}
		execv(p->argv[0], p->argv);
		_exit(127);
	}
	if (backend)
		close(pfd[1]);
	if (pid < 0) {
		if (backend)
			close(pfd[0]);
		return -1;
	}
	/* Before the store reads anything from the child.  A restarted
	 * domain keeps its domid with its new pid. */
	ring_store_server_release(srv, p->domid);
	if (ring_store_server_introduce(srv, p->domid, pid) < 0)
		fprintf(stderr, "kv_harness: introduce %u failed\n", p->domid);
	p->pid = pid;
	if (backend) {
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		p->notify_rd = pfd[0];
	}
	return pid;
}

/* Serve the store until backend b says READY=1.  Returns 0 or -1. */
static int
wait_ready(struct proc *b)
{
	char buf[256];
	size_t have = 0;
	double t0 = now_s();

	while (now_s() - t0 < 15) {
		ssize_t n = read(b->notify_rd, buf + have, sizeof(buf) - 1 - have);
		int st;

		if (n > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, "READY=1\n") != NULL) {
				close(b->notify_rd);
				b->notify_rd = -1;
				return 0;
			}
		}
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			fprintf(stderr, "kv_harness: %s exited before READY\n",
				b->svc);
			b->pid = -1;
			return -1;
		}
		serve(5);
	}
	fprintf(stderr, "kv_harness: %s never said READY\n", b->svc);
	return -1;
}

static int
create_devices(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct ring_store *st;
		int rc = ring_store_open(sock, &st);

		for (unsigned f = 0; rc == 0 && f < nf; f++)
			for (unsigned d = 0; rc == 0 && d < fronts[f].ndevs; d++)
				rc = ring_xenbus_create_device(st, "kv",
					fronts[f].domid,
					backs[fronts[f].devs[d]].domid, d);
		_exit(rc == 0 ? 0 : 1);
	}
	for (;;) {
		serve(10);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0
				? 0 : -1;
	}
}

static void
kill_all(void)
{
	for (unsigned i = 0; i < nb; i++)
		if (backs[i].pid > 0)
			kill(backs[i].pid, SIGKILL);
	for (unsigned i = 0; i < nf; i++)
		if (fronts[i].pid > 0 && fronts[i].status < 0)
			kill(fronts[i].pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "kvd", required_argument, NULL, 'k' },
		{ "client", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, 'b' },
		{ "frontend", required_argument, NULL, 'f' },
		{ "kills", required_argument, NULL, 'K' },
		{ "kill-ms", required_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kvd = NULL, *client = NULL;
	unsigned kills = 0, kmin = 50, kmax = 300, done_kills = 0;
	unsigned seed = (unsigned)time(NULL);
	double next_kill, stop_at = 0;
	int c, rc = 0, running;

	ring_log_set_name("kv_harness");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': snprintf(rundir, sizeof(rundir), "%s", optarg); break;
		case 'k': kvd = optarg; break;
		case 'c': client = optarg; break;
		case 'b':
			if (nb == MAXP)
				return 2;
			{
				struct proc *p = &backs[nb++];
				char *sp = strchr(optarg, ' ');

				if (sp == NULL)
					return 2;
				*sp = '\0';
				snprintf(p->svc, sizeof(p->svc), "%s", optarg);
				p->argv[0] = (char *)kvd;
				split(sp + 1, p->argv, 1);
			}
			break;
		case 'f':
			if (nf == MAXP)
				return 2;
			{
				struct proc *p = &fronts[nf++];
				char *sp = strchr(optarg, ' ');

				if (sp == NULL)
					return 2;
				*sp = '\0';
				for (char *t = strtok(optarg, ","); t;
				     t = strtok(NULL, ","))
					if (p->ndevs < MAXP)
						p->devs[p->ndevs++] =
							(unsigned)atoi(t);
				p->argv[0] = (char *)client;
				split(sp + 1, p->argv, 1);
			}
			break;
		case 'K': kills = (unsigned)atoi(optarg); break;
		case 'M':
			if (sscanf(optarg, "%u,%u", &kmin, &kmax) != 2 ||
			    kmax < kmin)
				return 2;
			break;
		case 's': seed = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (kvd == NULL || client == NULL || rundir[0] == '\0' || nb == 0 ||
	    nf == 0) {
		fprintf(stderr, "usage: see tests/lib/kv_harness.c\n");
		return 2;
	}
	/* --kvd/--client may come after --backend/--frontend. */
	for (unsigned i = 0; i < nb; i++) {
		backs[i].argv[0] = (char *)kvd;
		backs[i].domid = (uint16_t)(1 + i);
		backs[i].notify_rd = -1;
	}
	for (unsigned i = 0; i < nf; i++) {
		fronts[i].argv[0] = (char *)client;
		fronts[i].domid = (uint16_t)(1 + nb + i);
		fronts[i].status = -1;
		snprintf(fronts[i].svc, sizeof(fronts[i].svc), "client%u", i);
		for (unsigned d = 0; d < fronts[i].ndevs; d++)
			if (fronts[i].devs[d] >= nb)
				return 2;
	}
	srand(seed);
	fprintf(stderr, "kv_harness: seed=%u\n", seed);
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	{
		struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };

		if ((rc = ring_store_server_open(&o, &srv)) < 0) {
			fprintf(stderr, "kv_harness: store: %s\n", strerror(-rc));
			return 1;
		}
	}
	setenv("XENSTORED_PATH", sock, 1);
	setenv("MORGANA_RUNDIR", rundir, 1);
	signal(SIGPIPE, SIG_IGN);
	if (create_devices() < 0) {
		fprintf(stderr, "kv_harness: cannot create the devices\n");
		rc = 1;
		goto out;
	}
	for (unsigned i = 0; i < nb; i++)
		if (spawn(&backs[i], true) < 0 || wait_ready(&backs[i]) < 0) {
			rc = 1;
			goto out;
		}
	for (unsigned i = 0; i < nf; i++)
		if (spawn(&fronts[i], false) < 0) {
			rc = 1;
			goto out;
		}
	next_kill = now_s() + (kmin + (unsigned)rand() % (kmax - kmin + 1)) / 1e3;
	for (running = (int)nf; running > 0;) {
		pid_t w;
		int st;

		serve(5);
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			for (unsigned i = 0; i < nf; i++)
				if (w == fronts[i].pid) {
					fronts[i].status = WIFEXITED(st) ?
						WEXITSTATUS(st) : 128 + WTERMSIG(st);
					running--;
				}
			for (unsigned i = 0; i < nb; i++)
				if (w == backs[i].pid) {
					fprintf(stderr, "kv_harness: %s died "
						"unexpectedly (status %d)\n",
						backs[i].svc, st);
					backs[i].pid = -1;
					rc = 1;
					goto out;
				}
		}
		if (done_kills < kills && now_s() >= next_kill) {
			struct proc *b = &backs[0];

			fprintf(stderr, "kv_harness: killing %s pid=%d\n",
				b->svc, (int)b->pid);
			kill(b->pid, SIGKILL);
			waitpid(b->pid, NULL, 0);
			done_kills++;
			if (spawn(b, true) < 0 || wait_ready(b) < 0) {
				rc = 1;
				goto out;
			}
			next_kill = now_s() + (kmin + (unsigned)rand() %
					       (kmax - kmin + 1)) / 1e3;
			/* After the last kill, let the frontends reconnect
			 * and run a little, then end their runs (SIGUSR1). */
			if (done_kills == kills)
				stop_at = now_s() + 0.3;
		}
		if (stop_at != 0 && now_s() >= stop_at) {
			for (unsigned i = 0; i < nf; i++)
				if (fronts[i].status < 0)
					kill(fronts[i].pid, SIGUSR1);
			stop_at = 0;
		}
	}
	printf("kv_harness: kills=%u\n", done_kills);
	for (unsigned i = 0; i < nf; i++)
		if (fronts[i].status != 0) {
			fprintf(stderr, "kv_harness: frontend %u exited %d\n", i,
				fronts[i].status);
			rc = 1;
		}
	/* A clean stop: SIGTERM, Closed, exit 0. */
	for (unsigned i = 0; i < nb; i++) {
		struct proc *b = &backs[i];
		double t0 = now_s();
		int st = -1;

		kill(b->pid, SIGTERM);
		while (now_s() - t0 < 5) {
			serve(5);
			if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
				b->pid = -1;
				break;
			}
		}
		if (b->pid > 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "kv_harness: %s did not stop cleanly "
				"on SIGTERM (status %d)\n", b->svc, st);
			rc = 1;
		}
	}
out:
	fflush(stdout);
	kill_all();
	ring_store_server_close(srv);
	for (unsigned i = 0; i < nb; i++) {
		char p[PATH_MAX + 80];

		snprintf(p, sizeof(p), "%s/%s.sock", rundir, backs[i].svc);
		unlink(p);
	}
	return rc;
}
