/* ps, logs, down: talking to a running supervisor through its run dir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compose/state.h"
#include "compose/up.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

/* Alive and not a zombie waiting for someone else to reap it. */
static bool
alive(pid_t pid)
{
	char p[64], buf[512], *c;
	int fd;
	ssize_t n;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if ((fd = open(p, O_RDONLY)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	c = strrchr(buf, ')');
	return !(c && c[1] == ' ' && (c[2] == 'Z' || c[2] == 'X'));
}

static pid_t
supervisor(const char *rundir, struct compose_state **dbp)
{
	char path[PATH_MAX], buf[32];
	struct compose_state *db;
	pid_t pid = 0;

	snprintf(path, sizeof(path), "%s/state.db", rundir);
	if (compose_state_open(path, 0, &db) < 0)
		return 0;
	if (compose_state_get_meta(db, "supervisor_pid", buf, sizeof(buf)) == 0)
		pid = atoi(buf);
	if (dbp)
		*dbp = db;
	else
		compose_state_close(db);
	return pid;
}

static void
ring_states(struct ring_store *st, const char *rings, char *out, size_t len)
{
	char copy[512], *save = NULL, *tok;
	size_t o = 0;

	out[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", rings);
	for (tok = strtok_r(copy, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		char type[32], end[4], path[256];
		unsigned devid, fe, be;
		unsigned long v = 0;
		const char *name = "?";
		int n;

		if (sscanf(tok, "%31[^/]/%u:%u:%u:%3s", type, &devid, &fe, &be,
			   end) != 5)
			continue;
		if (!strcmp(end, "fe"))
			snprintf(path, sizeof(path),
				 "/local/domain/%u/device/%s/%u/state", fe, type,
				 devid);
		else
			snprintf(path, sizeof(path),
				 "/local/domain/%u/backend/%s/%u/%u/state", be,
				 type, fe, devid);
		if (st && ring_store_read_uint(st, RING_XBT_NULL, path, &v) == 0)
			name = ring_xb_state_name((int)v);
		if (!strcmp(end, "be"))
			n = snprintf(out + o, len - o, "%s%s/%u(dom%u) %s",
				     o ? ", " : "", type, devid, fe, name);
		else
			n = snprintf(out + o, len - o, "%s%s/%u %s",
				     o ? ", " : "", type, devid, name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

int
compose_ps(const char *rundir, FILE *out, FILE *err)
{
	struct compose_state *db;
	struct compose_state_svc *a;
	struct ring_store *st = NULL;
	char sock[PATH_MAX];
	size_t n;
	pid_t sp;

	if (!(sp = supervisor(rundir, &db)) || !alive(sp)) {
		if (sp)
			compose_state_close(db);
		fprintf(out, "NAME  STATE  PID  DOMID  UPTIME  RESTARTS  RINGS  STATUS\n");
		fprintf(err, "compose: nothing is running in %s\n", rundir);
		return 0;
	}
	if (compose_state_list(db, &a, &n) < 0) {
		compose_state_close(db);
		fprintf(err, "compose: cannot read %s/state.db\n", rundir);
		return 1;
	}
	compose_state_close(db);
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	if (ring_store_open(sock, &st) < 0)
		st = NULL;
	fprintf(out, "%-12s %-9s %-7s %-5s %-8s %-8s %-36s %s\n", "NAME",
		"STATE", "PID", "DOMID", "UPTIME", "RESTARTS", "RINGS",
		"STATUS");
	for (size_t i = 0; i < n; i++) {
		char up[32] = "-", pid[16] = "-", rings[600];
		long long secs = a[i].started_at && a[i].pid ?
			(long long)time(NULL) - a[i].started_at : -1;

		if (secs >= 0)
			snprintf(up, sizeof(up), "%lldm%02llds", secs / 60,
				 secs % 60);
		if (a[i].pid)
			snprintf(pid, sizeof(pid), "%d", (int)a[i].pid);
		ring_states(st, a[i].rings, rings, sizeof(rings));
		fprintf(out, "%-12s %-9s %-7s %-5u %-8s %-8u %-36s %s\n",
			a[i].name, a[i].state, pid, a[i].domid, up,
			a[i].restarts, rings[0] ? rings : "-", a[i].status);
	}
	ring_store_close(st);
	free(a);
	return 0;
}

static unsigned
colour_of(const char *name)
{
	static const int cols[] = { 36, 33, 32, 35, 34, 96, 93, 92, 95, 94 };
	uint32_t h = 2166136261u;

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return (unsigned)cols[h % (sizeof(cols) / sizeof(cols[0]))];
}

struct tail {
	const char *name;
	FILE *f;
	char line[4096];
	size_t len;
};

/* Print the complete lines now readable; keep a partial one. */
static void
tail_read(struct tail *t, int width, bool color, FILE *out)
{
	int c;

	if (!t->f)
		return;
	clearerr(t->f);
	while ((c = fgetc(t->f)) != EOF) {
		if (c != '\n' && t->len < sizeof(t->line) - 1) {
			t->line[t->len++] = (char)c;
			continue;
		}
		if (color)
			fprintf(out, "\033[%um%-*s |\033[0m %.*s\n",
				colour_of(t->name), width, t->name, (int)t->len,
				t->line);
		else
			fprintf(out, "%-*s | %.*s\n", width, t->name,
				(int)t->len, t->line);
		t->len = 0;
	}
	fflush(out);
}

int
compose_logs(const char *rundir, const struct compose_plan *p,
	     const char *svc, bool follow, bool color, FILE *out, FILE *err)
{
	struct tail *t = calloc(p->n_svcs, sizeof(*t));
	size_t n = 0;
	int width = 0, rc = 0;

	if (!t)
		return 1;
	for (size_t i = 0; i < p->n_svcs; i++) {
		char path[PATH_MAX];

		if (svc && strcmp(svc, p->svcs[i].name))
			continue;
		snprintf(path, sizeof(path), "%s/logs/%s.log", rundir,
			 p->svcs[i].name);
		t[n].name = p->svcs[i].name;
		t[n].f = fopen(path, "r");
		if ((int)strlen(t[n].name) > width)
			width = (int)strlen(t[n].name);
		n++;
	}
	if (svc && n == 0) {
		fprintf(err, "compose: logs: no service '%s'\n", svc);
		free(t);
		return 1;
	}
	for (;;) {
		for (size_t i = 0; i < n; i++)
			tail_read(&t[i], width, color, out);
		if (!follow)
			break;
		pid_t sp = supervisor(rundir, NULL);

		if (!sp || !alive(sp)) {
			for (size_t i = 0; i < n; i++)
				tail_read(&t[i], width, color, out);
			break;
		}
		/* Files that appear later (a service not started yet). */
		for (size_t i = 0; i < n; i++)
			if (!t[i].f) {
				char path[PATH_MAX];

				snprintf(path, sizeof(path), "%s/logs/%s.log",
					 rundir, t[i].name);
				t[i].f = fopen(path, "r");
			}
		poll(NULL, 0, 200);
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].f)
			fclose(t[i].f);
	free(t);
	return rc;
}

int
compose_down(const char *rundir, unsigned timeout_ms, FILE *out, FILE *err)
{
	pid_t sp = supervisor(rundir, NULL);
	struct timespec t0, t1;

	if (!sp || !alive(sp)) {
		fprintf(out, "compose: nothing is running in %s\n", rundir);
		return 0;
	}
	if (kill(sp, SIGTERM) < 0) {
		fprintf(err, "compose: down: cannot signal the supervisor (pid %d): %s\n",
			(int)sp, strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms;

		if (!alive(sp))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > (long)timeout_ms) {
			fprintf(err, "compose: down: the supervisor (pid %d) did not stop within %u ms\n",
				(int)sp, timeout_ms);
			return 1;
		}
		poll(NULL, 0, 50);
	}
	fprintf(out, "compose: stopped\n");
	return 0;
}
