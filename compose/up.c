/* compose up: the in-process store, the devices, the supervisor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compose/state.h"
#include "compose/up.h"
#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"

#define BURST_N 5		/* starts ... */
#define BURST_MS 10000		/* ... within this window fail the service */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

enum svc_state { S_CREATED, S_STARTING, S_READY, S_BACKOFF, S_STOPPING,
		 S_EXITED, S_FAILED };
static const char *const state_names[] = { "created", "starting", "ready",
	"backoff", "stopping", "exited", "failed" };

struct svc {
	const struct compose_plan_svc *ps;
	enum svc_state st;
	pid_t pid;
	int out_fd, notify_fd, log_fd;
	char obuf[4096], nbuf[1024];
	size_t olen, nlen;
	int64_t started_ms, deadline_ms;
	int64_t starts[BURST_N];	/* ring of start times */
	unsigned n_starts, restarts, backoff_ms;
	bool ready_once, killed;
	int exit_status;		/* wait status of the last exit */
	char status[256];
	char rings[512];
	int colour;
};

struct sup {
	const struct compose_plan *p;
	const struct compose_up_opts *o;
	FILE *out, *err;
	struct ring_store_server *srv;
	struct compose_state *db;
	struct svc *svcs;
	size_t n;
	int sfd, report_fd;
	bool up, stopping;
	int rc;				/* exit status once stopping */
	size_t width;
	char sock[PATH_MAX], dbpath[PATH_MAX];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
say(struct sup *s, const char *fmt, ...)
{
	va_list ap;

	fputs("compose: ", s->err);
	va_start(ap, fmt);
	vfprintf(s->err, fmt, ap);
	va_end(ap);
	fputc('\n', s->err);
	fflush(s->err);
}

static void
report(struct sup *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (s->report_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(s->report_fd, buf, (size_t)n) < 0)
		return;
}

static void
save(struct sup *s, struct svc *v)
{
	struct compose_state_svc r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", v->ps->name);
	r.idx = (int)(v - s->svcs);
	snprintf(r.state, sizeof(r.state), "%s", state_names[v->st]);
	r.pid = v->pid;
	r.domid = v->ps->domid;
	r.started_at = v->pid > 0 ? (int64_t)time(NULL) -
		(now_ms() - v->started_ms) / 1000 : 0;
	r.restarts = v->restarts;
	snprintf(r.status, sizeof(r.status), "%s", v->status);
	snprintf(r.rings, sizeof(r.rings), "%s", v->rings);
	if (s->db && compose_state_put(s->db, &r) < 0)
		say(s, "cannot write %s", s->dbpath);
}

static void
set_state(struct sup *s, struct svc *v, enum svc_state st)
{
	v->st = st;
	save(s, v);
}

/* One line of a service's output: to its log file, and prefixed to out. */
static void
emit(struct sup *s, struct svc *v, const char *line, size_t len)
{
	if (v->log_fd >= 0) {
		struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };

		if (writev(v->log_fd, iov, 2) < 0)
			v->log_fd = v->log_fd; /* a full disk loses log lines */
	}
	if (s->o->detach)
		return;
	if (s->o->color)
		fprintf(s->out, "\033[%dm%-*s |\033[0m %.*s\n", v->colour,
			(int)s->width, v->ps->name, (int)len, line);
	else
		fprintf(s->out, "%-*s | %.*s\n", (int)s->width, v->ps->name,
			(int)len, line);
	fflush(s->out);
}

static void
on_notify(struct sup *s, struct svc *v, const char *line)
{
	if (!strcmp(line, "READY=1")) {
		if (v->st == S_STARTING) {
			v->ready_once = true;
			set_state(s, v, S_READY);
			say(s, "%s is ready (pid %d, domid %u)", v->ps->name,
			    (int)v->pid, v->ps->domid);
		}
	} else if (!strncmp(line, "STATUS=", 7)) {
		snprintf(v->status, sizeof(v->status), "%s", line + 7);
		save(s, v);
	}
}

/* Read what is there; split into lines.  Returns false at EOF. */
static bool
drain_fd(struct sup *s, struct svc *v, bool notify)
{
	int fd = notify ? v->notify_fd : v->out_fd;
	char *buf = notify ? v->nbuf : v->obuf;
	size_t cap = notify ? sizeof(v->nbuf) : sizeof(v->obuf);
	size_t *len = notify ? &v->nlen : &v->olen;
	bool eof = false;

	for (;;) {
		ssize_t r = read(fd, buf + *len, cap - *len);
		size_t start = 0;

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			eof = true;
			break;
		}
		if (r < 0)
			break;
		*len += (size_t)r;
		for (size_t i = 0; i < *len; i++) {
			if (buf[i] != '\n')
				continue;
			buf[i] = '\0';
			if (notify)
				on_notify(s, v, buf + start);
			else
				emit(s, v, buf + start, i - start);
			start = i + 1;
		}
		memmove(buf, buf + start, *len - start);
		*len -= start;
		if (*len == cap) {	/* an overlong line: cut it */
			if (!notify)
				emit(s, v, buf, *len);
			*len = 0;
		}
	}
	if (eof && *len) {
		buf[*len < cap ? *len : cap - 1] = '\0';
		if (notify)
			on_notify(s, v, buf);
		else
			emit(s, v, buf, *len);
		*len = 0;
	}
	return !eof;
}

static void
close_fds(struct sup *s, struct svc *v)
{
	if (v->out_fd >= 0) {
		drain_fd(s, v, false);
		close(v->out_fd);
	}
	if (v->notify_fd >= 0) {
		drain_fd(s, v, true);
		close(v->notify_fd);
	}
	v->out_fd = v->notify_fd = -1;
}

static int
start_svc(struct sup *s, struct svc *v)
{
	int op[2], np[2], rc;
	int64_t t = now_ms();
	pid_t pid;

	if (pipe2(op, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(np, O_CLOEXEC) < 0) {
		rc = -errno;
		close(op[0]);
		close(op[1]);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(op[0]); close(op[1]); close(np[0]); close(np[1]);
		return rc;
	}
	if (pid == 0) {
		char nfd[16], rd[PATH_MAX];
		sigset_t none;
		int dn = open("/dev/null", O_RDONLY);

		/* Its own process group: a terminal's ^C reaches compose
		 * only, which then stops the services in order. */
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dn < 0 || dup2(dn, 0) < 0 || dup2(op[1], 1) < 0 ||
		    dup2(op[1], 2) < 0)
			_exit(127);
		/* The notify fd must survive exec: dup it without CLOEXEC. */
		int nf = fcntl(np[1], F_DUPFD, 3);

		if (nf < 0)
			_exit(127);
		snprintf(nfd, sizeof(nfd), "%d", nf);
		snprintf(rd, sizeof(rd), "%s", s->o->rundir);
		setenv("XENSTORED_PATH", s->sock, 1);
		setenv("MORGANA_RUNDIR", rd, 1);
		setenv("MORGANA_SERVICE", v->ps->name, 1);
		setenv("NOTIFY_FD", nfd, 1);
		execv(v->ps->argv[0], v->ps->argv);
		fprintf(stderr, "compose: cannot run %s: %s\n", v->ps->argv[0],
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	/* Before the store serves anything from the child, so its first
	 * request already carries its domid; a restart keeps the domid. */
	ring_store_server_release(s->srv, v->ps->domid);
	if ((rc = ring_store_server_introduce(s->srv, v->ps->domid, pid)) < 0)
		say(s, "cannot introduce %s as domain %u: %s", v->ps->name,
		    v->ps->domid, strerror(-rc));
	close(op[1]);
	close(np[1]);
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	fcntl(np[0], F_SETFL, O_NONBLOCK);
	v->out_fd = op[0];
	v->notify_fd = np[0];
	v->pid = pid;
	v->killed = false;
	v->started_ms = t;
	v->deadline_ms = t + s->o->ready_timeout_ms;
	v->starts[v->n_starts++ % BURST_N] = t;
	v->status[0] = '\0';
	set_state(s, v, S_STARTING);
	say(s, "started %s (pid %d, domid %u)", v->ps->name, (int)pid,
	    v->ps->domid);
	return 0;
}

static void
begin_stop(struct sup *s, int rc)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->rc = rc;
	for (size_t i = 0; i < s->n; i++)
		if (s->svcs[i].st == S_BACKOFF || s->svcs[i].st == S_CREATED)
			set_state(s, &s->svcs[i], S_EXITED);
}

static void
fail_up(struct sup *s, struct svc *v, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (v) {
		snprintf(v->status, sizeof(v->status), "%.250s", why);
		save(s, v);
	}
	if (!s->stopping) {
		say(s, "up failed: service '%s' %s", v ? v->ps->name : "?", why);
		report(s, "FAIL service '%s' %s", v ? v->ps->name : "?", why);
	}
	begin_stop(s, 1);
}

static bool
burst_exceeded(const struct svc *v, int64_t t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < BURST_N && i < v->n_starts; i++)
		if (t - v->starts[i] < BURST_MS)
			n++;
	return n >= BURST_N;
}

static void
describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", status);
}

static void
on_exit_svc(struct sup *s, struct svc *v, int status)
{
	bool was_ready = v->st == S_READY, ok;
	int64_t t = now_ms();
	char how[96];

	close_fds(s, v);
	v->pid = 0;
	v->exit_status = status;
	describe_status(status, how, sizeof(how));
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (s->stopping) {
		set_state(s, v, S_EXITED);
		say(s, "%s stopped (%s)", v->ps->name, how);
		return;
	}
	say(s, "%s exited (%s)", v->ps->name, how);
	if (v->ps->is_app && ok) {
		/* The job is done: its exit status is the result. */
		set_state(s, v, S_EXITED);
		if (!s->up) {
			s->up = true;
			report(s, "READY");
		}
		begin_stop(s, 0);
		return;
	}
	if (!s->up) {
		/* Still starting: no half-started system. */
		set_state(s, v, S_FAILED);
		fail_up(s, v, "exited before READY (%s)", how);
		return;
	}
	if (v->ps->restart.policy == COMPOSE_RESTART_NO ||
	    (v->ps->restart.policy == COMPOSE_RESTART_ON_FAILURE && ok)) {
		set_state(s, v, ok ? S_EXITED : S_FAILED);
		if (v->ps->is_app)
			begin_stop(s, WIFEXITED(status) ? WEXITSTATUS(status) : 1);
		else
			fail_up(s, v, "exited (%s) and its restart policy is no", how);
		return;
	}
	if (v->ps->restart.policy == COMPOSE_RESTART_ON_FAILURE &&
	    v->ps->restart.max_retries &&
	    v->restarts >= v->ps->restart.max_retries) {
		set_state(s, v, S_FAILED);
		fail_up(s, v, "exited (%s) after %u restarts (on-failure:%u)",
			how, v->restarts, v->ps->restart.max_retries);
		return;
	}
	if (burst_exceeded(v, t)) {
		set_state(s, v, S_FAILED);
		fail_up(s, v, "exited (%s): %d starts in %d s, giving up", how,
			BURST_N, BURST_MS / 1000);
		return;
	}
	/* A service that ran a good while starts over from the short
	 * backoff; one that keeps dying waits twice as long each time. */
	if (was_ready && t - v->started_ms >= BURST_MS)
		v->backoff_ms = BACKOFF_MIN_MS;
	else if (v->backoff_ms == 0)
		v->backoff_ms = BACKOFF_MIN_MS;
	else if ((v->backoff_ms *= 2) > BACKOFF_MAX_MS)
		v->backoff_ms = BACKOFF_MAX_MS;
	v->deadline_ms = t + v->backoff_ms;
	snprintf(v->status, sizeof(v->status), "%s; restarting in %u ms", how,
		 v->backoff_ms);
	set_state(s, v, S_BACKOFF);
}

static void
reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < s->n; i++)
			if (s->svcs[i].pid == pid) {
				on_exit_svc(s, &s->svcs[i], status);
				break;
			}
}

static void
kill_svc(struct svc *v, int sig)
{
	if (v->pid > 0) {
		kill(-v->pid, sig);
		kill(v->pid, sig);
	}
}

/* Advance the state machine; returns the poll timeout in ms. */
static int
step(struct sup *s)
{
	int64_t t = now_ms(), next = t + 1000;

	if (s->stopping) {
		/* Reverse order: the last running one first. */
		for (size_t i = s->n; i-- > 0;) {
			struct svc *v = &s->svcs[i];

			if (v->pid <= 0)
				continue;
			if (v->st != S_STOPPING) {
				v->deadline_ms = t + s->o->grace_ms;
				kill_svc(v, SIGTERM);
				set_state(s, v, S_STOPPING);
			} else if (t >= v->deadline_ms && !v->killed) {
				say(s, "%s did not stop within %u ms: SIGKILL",
				    v->ps->name, s->o->grace_ms);
				kill_svc(v, SIGKILL);
				v->killed = true;
			}
			if (!v->killed && v->deadline_ms < next)
				next = v->deadline_ms;
			return (int)(next - t > 0 ? next - t : 0);
		}
		return -2;	/* all stopped */
	}
	for (size_t i = 0; i < s->n; i++) {
		struct svc *v = &s->svcs[i];

		if (v->st == S_STARTING && t >= v->deadline_ms) {
			if (!s->up) {
				fail_up(s, v, "did not report READY within %u ms",
					s->o->ready_timeout_ms);
				return 0;
			}
			/* A restarted one that hangs: kill it; its exit
			 * goes through the restart policy. */
			snprintf(v->status, sizeof(v->status),
				 "no READY within %u ms", s->o->ready_timeout_ms);
			kill_svc(v, SIGKILL);
			v->deadline_ms = t + 1000;
		} else if (v->st == S_BACKOFF && t >= v->deadline_ms) {
			v->restarts++;
			if (start_svc(s, v) < 0) {
				fail_up(s, v, "could not be restarted");
				return 0;
			}
		}
		if ((v->st == S_STARTING || v->st == S_BACKOFF) &&
		    v->deadline_ms < next)
			next = v->deadline_ms;
	}
	if (!s->up) {
		bool all = true;

		/* Everything whose dependencies are READY starts now, in
		 * plan order: independent daemons start together, and the
		 * app (which depends on all its devices) last. */
		for (size_t i = 0; i < s->n; i++) {
			struct svc *v = &s->svcs[i];
			bool deps_ready = true;
			int rc;

			if (v->st != S_READY)
				all = false;
			if (v->st != S_CREATED)
				continue;
			for (size_t d = 0; d < v->ps->n_deps; d++)
				if (s->svcs[v->ps->deps[d]].st != S_READY)
					deps_ready = false;
			if (!deps_ready)
				continue;
			if ((rc = start_svc(s, v)) < 0) {
				fail_up(s, v, "could not start: %s",
					strerror(-rc));
				return 0;
			}
		}
		if (all) {
			s->up = true;
			say(s, "everything is up");
			report(s, "READY");
		}
	}
	return (int)(next - t > 0 ? next - t : 0);
}

/* --- devices: written by a dom0 helper child while we serve the store. */

/* As xl: the vif's MAC in both directories, its MTU for the frontend. */
static int
vif_keys(struct ring_store *st, const struct compose_plan_dev *d,
	 uint16_t fe, uint16_t be)
{
	char path[256], mac[18];
	int rc;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0],
		 d->mac[1], d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u/mac", fe,
		 d->devid);
	if ((rc = ring_store_write(st, RING_XBT_NULL, path, mac, 17)) < 0)
		return rc;
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u/%u/mac",
		 be, fe, d->devid);
	if ((rc = ring_store_write(st, RING_XBT_NULL, path, mac, 17)) < 0)
		return rc;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u/mtu", fe,
		 d->devid);
	return ring_store_printf(st, RING_XBT_NULL, path, "%u", d->mtu);
}

static int
make_devices(struct sup *s)
{
	int64_t deadline = now_ms() + 5000;
	pid_t pid;
	int status, pfd;

	if (s->p->n_devs == 0)
		return 0;
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		struct ring_store *st;
		int rc = ring_store_open(s->sock, &st);

		for (size_t i = 0; rc == 0 && i < s->p->n_devs; i++) {
			const struct compose_plan_dev *d = &s->p->devs[i];
			uint16_t fe = s->p->svcs[d->fe].domid;
			char path[256];

			/* The frontend lists its devices (appkit finds them
			 * by name): its device/ directory is its own, as
			 * libxl makes it. */
			struct ring_store_perm own = { .domid = fe, .perm = 'n' };

			snprintf(path, sizeof(path), "/local/domain/%u/device", fe);
			if ((rc = ring_store_mkdir(st, RING_XBT_NULL, path)) ||
			    (rc = ring_store_set_perms(st, RING_XBT_NULL, path,
						       &own, 1)))
				break;
			rc = ring_xenbus_create_device(st, d->type, fe,
						       s->p->svcs[d->be].domid,
						       d->devid);
			snprintf(path, sizeof(path),
				 "/local/domain/%u/device/%s/%u/name", fe,
				 d->type, d->devid);
			if (!rc)
				rc = ring_store_write(st, RING_XBT_NULL, path,
						      d->name, strlen(d->name));
			snprintf(path, sizeof(path),
				 "/local/domain/%u/device/%s/%u/signature", fe,
				 d->type, d->devid);
			if (!rc)
				rc = ring_store_write(st, RING_XBT_NULL, path,
						      d->sig, strlen(d->sig));
			if (!rc && d->mtu)
				rc = vif_keys(st, d, fe, s->p->svcs[d->be].domid);
		}
		_exit(rc == 0 ? 0 : 1);
	}
	/* The helper's exit wakes us through a pidfd: polling waitpid every
	 * 10 ms cost up to 10 ms of every compose up. */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = ring_store_server_fd(s->srv), .events = POLLIN },
			{ .fd = pfd, .events = POLLIN },
		};

		poll(pf, pfd >= 0 ? 2 : 1, 10);
		ring_store_server_dispatch(s->srv);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (pfd >= 0)
				close(pfd);
			return WIFEXITED(status) && !WEXITSTATUS(status) ?
				0 : -EIO;
		}
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (pfd >= 0)
				close(pfd);
			return -ETIMEDOUT;
		}
	}
}

static void
ring_text(struct sup *s, size_t i, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t j = 0; j < s->p->n_devs; j++) {
		const struct compose_plan_dev *d = &s->p->devs[j];
		int n;

		if (d->fe != i && d->be != i)
			continue;
		/* type/devid:fe:be:end, read back by ps. */
		n = snprintf(buf + o, len - o, "%s%s/%u:%u:%u:%s", o ? ";" : "",
			     d->type, d->devid, s->p->svcs[d->fe].domid,
			     s->p->svcs[d->be].domid, d->fe == i ? "fe" : "be");
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
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

static void
cleanup_files(struct sup *s)
{
	char p[PATH_MAX + 16];

	for (size_t i = 0; i < s->n; i++) {
		if (s->svcs[i].ps->is_app)
			continue;
		snprintf(p, sizeof(p), "%s/%s.sock", s->o->rundir,
			 s->svcs[i].ps->name);
		unlink(p);
	}
	unlink(s->sock);
	unlink(s->dbpath);
	snprintf(p, sizeof(p), "%s-journal", s->dbpath);
	unlink(p);
}

/* Is a supervisor already running here? */
static int
running_pid(const char *dbpath)
{
	struct compose_state *db;
	char buf[32];
	int pid = 0;

	if (compose_state_open(dbpath, 0, &db) < 0)
		return 0;
	if (compose_state_get_meta(db, "supervisor_pid", buf, sizeof(buf)) == 0)
		pid = atoi(buf);
	compose_state_close(db);
	if (pid > 0 && pid != getpid() && kill(pid, 0) == 0)
		return pid;
	return 0;
}

static int
mkdirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
supervise(const struct compose_plan *p, const struct compose_up_opts *o,
	  FILE *out, FILE *err, int report_fd)
{
	struct sup S = { .p = p, .o = o, .out = out, .err = err, .sfd = -1,
			 .report_fd = report_fd };
	struct sup *s = &S;
	struct pollfd *pf = NULL;
	sigset_t mask, old;
	char path[PATH_MAX], buf[32];
	int rc, pid;

	ring_log_set_name("compose");
	s->n = p->n_svcs;
	snprintf(s->sock, sizeof(s->sock), "%s/store.sock", o->rundir);
	snprintf(s->dbpath, sizeof(s->dbpath), "%s/state.db", o->rundir);
	snprintf(path, sizeof(path), "%s/logs", o->rundir);
	if ((rc = mkdirs(path)) < 0) {
		say(s, "cannot create %s: %s", path, strerror(-rc));
		report(s, "FAIL cannot create the run directory");
		return 1;
	}
	if ((pid = running_pid(s->dbpath))) {
		say(s, "already running in %s (supervisor pid %d); run 'compose down' first",
		    o->rundir, pid);
		report(s, "FAIL already running (pid %d)", pid);
		return 1;
	}
	/* Every binary first: a missing one fails before anything runs. */
	for (size_t i = 0; i < s->n; i++)
		if (access(p->svcs[i].argv[0], X_OK) < 0) {
			say(s, "up failed: service '%s': cannot run %s: %s",
			    p->svcs[i].name, p->svcs[i].argv[0], strerror(errno));
			report(s, "FAIL service '%s': cannot run %s", p->svcs[i].name,
			       p->svcs[i].argv[0]);
			return 1;
		}
	s->svcs = calloc(s->n, sizeof(*s->svcs));
	pf = calloc(2 * s->n + 2, sizeof(*pf));
	if (!s->svcs || !pf) {
		free(s->svcs);
		free(pf);
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	for (size_t i = 0; i < s->n; i++) {
		struct svc *v = &s->svcs[i];
		size_t w = strlen(p->svcs[i].name);

		v->ps = &p->svcs[i];
		v->out_fd = v->notify_fd = -1;
		v->colour = (int)colour_of(v->ps->name);
		if (w > s->width)
			s->width = w;
		snprintf(path, sizeof(path), "%s/logs/%s.log", o->rundir,
			 v->ps->name);
		v->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
				 O_CLOEXEC, 0644);
		ring_text(s, i, v->rings, sizeof(v->rings));
	}
	{
		struct ring_store_server_opts so = { .sz = sizeof(so),
						     .path = s->sock };

		if ((rc = ring_store_server_open(&so, &s->srv)) < 0) {
			say(s, "cannot serve the store at %s: %s", s->sock,
			    strerror(-rc));
			report(s, "FAIL cannot serve the store");
			s->rc = 1;
			goto out;
		}
	}
	if ((rc = compose_state_open(s->dbpath, 1, &s->db)) < 0) {
		say(s, "cannot create %s", s->dbpath);
		report(s, "FAIL cannot create the state database");
		s->rc = 1;
		goto out;
	}
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	compose_state_set_meta(s->db, "supervisor_pid", buf);
	for (size_t i = 0; i < s->n; i++)
		save(s, &s->svcs[i]);
	if ((rc = make_devices(s)) < 0) {
		say(s, "up failed: cannot create the devices in the store: %s",
		    strerror(-rc));
		report(s, "FAIL cannot create the devices");
		s->rc = 1;
		goto out;
	}
	report(s, "STARTED");
	for (;;) {
		int timeout = step(s), nf = 0;

		if (timeout == -2)
			break;
		if (!s->stopping && timeout == 0 && !s->up)
			timeout = 0;
		pf[nf++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		pf[nf++] = (struct pollfd){ .fd = ring_store_server_fd(s->srv),
					    .events = POLLIN };
		for (size_t i = 0; i < s->n; i++) {
			pf[nf++] = (struct pollfd){ .fd = s->svcs[i].out_fd,
						    .events = POLLIN };
			pf[nf++] = (struct pollfd){ .fd = s->svcs[i].notify_fd,
						    .events = POLLIN };
		}
		if (poll(pf, (nfds_t)nf, timeout) < 0 && errno != EINTR)
			break;
		ring_store_server_dispatch(s->srv);
		for (size_t i = 0; i < s->n; i++) {
			struct svc *v = &s->svcs[i];

			if (v->out_fd >= 0 && pf[2 + 2 * i].revents &&
			    !drain_fd(s, v, false)) {
				close(v->out_fd);
				v->out_fd = -1;
			}
			if (v->notify_fd >= 0 && pf[3 + 2 * i].revents &&
			    !drain_fd(s, v, true)) {
				close(v->notify_fd);
				v->notify_fd = -1;
			}
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si;

			while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (!s->stopping) {
					say(s, "%s: stopping", strsignal((int)si.ssi_signo));
					if (!s->up)
						report(s, "FAIL interrupted while starting");
				}
				begin_stop(s, s->up ? 0 : 130);
			}
		}
		reap(s);
	}
out:
	/* Whatever happened, nothing stays behind. */
	for (size_t i = 0; i < s->n; i++)
		if (s->svcs[i].pid > 0) {
			kill_svc(&s->svcs[i], SIGKILL);
			waitpid(s->svcs[i].pid, NULL, 0);
			close_fds(s, &s->svcs[i]);
		}
	for (size_t i = 0; i < s->n; i++)
		if (s->svcs[i].log_fd >= 0)
			close(s->svcs[i].log_fd);
	compose_state_close(s->db);
	ring_store_server_close(s->srv);
	cleanup_files(s);
	if (s->sfd >= 0)
		close(s->sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	rc = s->rc;
	if (rc == 0 && !s->up)
		rc = 1;
	free(s->svcs);
	free(pf);
	return rc;
}

int
compose_up(const struct compose_plan *p, const struct compose_up_opts *o,
	   FILE *out, FILE *err)
{
	int rp[2], rc;
	pid_t pid;
	char line[512];
	FILE *f;

	if (!o->detach)
		return supervise(p, o, out, err, -1);
	if ((rc = mkdirs(o->rundir)) < 0) {
		fprintf(err, "compose: cannot create %s: %s\n", o->rundir,
			strerror(-rc));
		return 1;
	}
	if (pipe2(rp, O_CLOEXEC) < 0)
		return 1;
	fflush(out);
	fflush(err);
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		char lp[PATH_MAX];
		int fd;

		close(rp[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		snprintf(lp, sizeof(lp), "%s/logs", o->rundir);
		mkdirs(lp);
		snprintf(lp, sizeof(lp), "%s/logs/compose.log", o->rundir);
		fd = open(lp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		int dn = open("/dev/null", O_RDWR);

		if (fd < 0 || dn < 0)
			_exit(1);
		dup2(dn, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		close(dn);
		if (chdir("/") < 0)
			_exit(1);
		_exit(supervise(p, o, stdout, stderr, rp[1]));
	}
	close(rp[1]);
	waitpid(pid, NULL, 0);
	if (!(f = fdopen(rp[0], "r"))) {
		close(rp[0]);
		return 1;
	}
	rc = 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "FAIL ", 5)) {
			fprintf(err, "compose: up failed: %s (see %s/logs)\n",
				line + 5, o->rundir);
			rc = 1;
			break;
		}
		if (!strcmp(line, "STARTED") && !o->wait) {
			rc = 0;
			break;
		}
		if (!strcmp(line, "READY")) {
			rc = 0;
			break;
		}
	}
	if (rc == 1 && feof(f))
		fprintf(err, "compose: up failed: the supervisor exited (see %s/logs/compose.log)\n",
			o->rundir);
	fclose(f);
	if (rc == 0)
		fprintf(out, "compose: running in the background; 'compose ps', 'compose logs -f', 'compose down'\n");
	return rc;
}
