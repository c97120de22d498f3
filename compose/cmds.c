/* configure, build, up, down, ps, logs, describe. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compose/cmds.h"
#include "compose/gen.h"
#include "compose/manifest.h"
#include "compose/plan.h"
#include "compose/up.h"
#include "compose/xen.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

const char compose_configure_help[] =
"Usage: compose configure [--target unix|xen] [--net socket|direct]\n"
"                         [--kv_ro dir|pack|tar] [--kv_rw sqlite|sealed]\n"
"                         [--kernel F] [--ramdisk F] [--memory MB]\n"
"                         [--vif-script S] [--KEY=VALUE...]\n"
"\n"
"Generate the wiring into _build/: main.c (the application's description\n"
"for appkit and main()), keys.h (a typed accessor per key), Makefile, and\n"
"context (these choices, reused by build and up).  A KV_RO device served\n"
"as pack is packed into _build/DEVICE.pack; a directory served as tar is\n"
"archived into _build/DEVICE.tar.  Then prints the next command.\n"
"\n"
"Options:\n"
"  -t, --target T       unix (processes on this host) or xen (the app in a\n"
"                       Xen domU, netd in dom0: NET devices only; also\n"
"                       writes _build/NAME.xl and _build/guest-run)\n"
"      --kernel F       xen: the guest kernel in dom0 (default /vmlinuz)\n"
"      --ramdisk F      xen: its initramfs, holding the app (default\n"
"                       /domu.cpio.gz)\n"
"      --memory MB      xen: the guest's memory (default 128)\n"
"      --vif-script S   xen: xl's vif hotplug script (default\n"
"                       /etc/xen/scripts/vif-null)\n"
"      --net N          every tcpipd device: socket (host sockets) or direct\n"
"      --kv_ro S        every KV_RO kvd device: dir, pack or tar\n"
"      --kv_rw S        every KV_RW kvd device of the app: sqlite, or sealed\n"
"                       (encrypted with the device's key_file, over its\n"
"                       database); refused for a device stored as dir, and\n"
"                       sqlite for one stored as sealed\n"
"      --KEY=VALUE      bake configure-stage key KEY (checked against its type)\n"
"  -h, --help           show this help\n";

const char compose_build_help[] =
"Usage: compose build\n"
"\n"
"Build the application from app.sources and _build/main.c into\n"
"_build/NAME (make -f _build/Makefile), and check that the daemons the\n"
"manifest needs exist.  Run 'compose configure' first.\n"
"\n"
"Options:\n"
"  -h, --help   show this help\n";

const char compose_up_help[] =
"Usage: compose up [-d] [--wait] [--no-color] [--ready-timeout S] [-t S]\n"
"\n"
"Serve the store, create the devices, start every service in dependency\n"
"order (each must report READY=1 before the next starts), then the\n"
"application.  Attached, each output line is prefixed with its service's\n"
"name; the run ends when the application exits (its status is up's) or on\n"
"SIGINT/SIGTERM, stopping everything in reverse order.  Services are\n"
"restarted under their restart policy with exponential backoff, at most 5\n"
"starts in 10 s.  If anything fails while starting, everything is stopped\n"
"and the run state removed.  A sqlite device without a path keeps its\n"
"database in .morgana/state/, created here and kept between runs (as is\n"
"the directory of a KV_RW device stored as dir).\n"
"\n"
"Options:\n"
"  -d, --detach          supervise in the background (logs in the run dir)\n"
"      --wait            with -d (implied): return once everything is READY\n"
"      --no-color        no colours (also when stdout is not a terminal)\n"
"      --ready-timeout S seconds each service has to report READY [10]\n"
"  -t, --timeout S       grace period between SIGTERM and SIGKILL [5]\n"
"  -h, --help            show this help\n"
"Exit status: 0 when everything came up and the application exited 0 (or\n"
"the run was interrupted after it came up); 1 naming the failed service;\n"
"130 when interrupted while starting.\n";

const char compose_down_help[] =
"Usage: compose down [-t S]\n"
"\n"
"Stop the system a 'compose up -d' runs in this project: signal its\n"
"supervisor, which stops the services in reverse order, and wait for it.\n"
"\n"
"Options:\n"
"  -t, --timeout S   how long to wait for the supervisor [60]\n"
"  -h, --help        show this help\n";

const char compose_ps_help[] =
"Usage: compose ps\n"
"\n"
"Per service: state, pid, domid, uptime, restarts, rings (device state\n"
"read from the store, e.g. 'clock/0 Connected') and the last STATUS= text.\n"
"\n"
"Options:\n"
"  -h, --help   show this help\n";

const char compose_logs_help[] =
"Usage: compose logs [-f] [--no-color] [SERVICE]\n"
"\n"
"Print the services' logs (RUNDIR/logs/SERVICE.log) prefixed with the\n"
"service name.\n"
"\n"
"Options:\n"
"  -f, --follow   keep printing new lines until the system stops\n"
"      --no-color no colours\n"
"  -h, --help     show this help\n";

const char compose_describe_help[] =
"Usage: compose describe --dot\n"
"\n"
"Print the ring graph as Graphviz: the application, each device (labelled\n"
"with its signature and device type) and the daemon serving it.\n"
"\n"
"Options:\n"
"      --dot    Graphviz output (the only format)\n"
"  -h, --help   show this help\n";

static int
usage(FILE *err, const char *cmd, const char *fmt, const char *arg)
{
	fputs("compose: ", err);
	fprintf(err, fmt, arg);
	fprintf(err, "\nRun 'compose %s --help' for usage.\n", cmd);
	return EXIT_USAGE;
}

static bool
is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

/* --opt VALUE or --opt=VALUE (also -o VALUE with a short name). */
static const char *
optval(int argc, char **argv, int *i, const char *s, const char *l,
       bool *miss)
{
	const char *a = argv[*i];
	size_t n = strlen(l);

	*miss = false;
	if ((s && !strcmp(a, s)) || !strcmp(a, l)) {
		if (*i + 1 >= argc) {
			*miss = true;
			return NULL;
		}
		return argv[++*i];
	}
	if (!strncmp(a, l, n) && a[n] == '=')
		return a + n + 1;
	return NULL;
}

static void
rundir_of(char *buf, size_t len)
{
	const char *e = getenv("MORGANA_RUNDIR");
	char cwd[PATH_MAX - 64];

	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), ".");
	snprintf(buf, len, "%s/.morgana/run", cwd);
}

/* Load manifest + context and make the plan. */
static int
load_all(const char *file, struct compose_manifest **m,
	 struct compose_context *c, struct compose_plan *p, FILE *err)
{
	char cwd[PATH_MAX], bindir[PATH_MAX];
	int rc;

	if (compose_manifest_load(file, m, err) < 0)
		return -EINVAL;
	if ((rc = compose_context_load("_build/context", c, err)) < 0) {
		compose_manifest_free(*m);
		return rc;
	}
	if (!getcwd(cwd, sizeof(cwd)) || compose_bindir(bindir, sizeof(bindir))) {
		fprintf(err, "compose: cannot find the working or binary directory\n");
		compose_context_free(c);
		compose_manifest_free(*m);
		return -EIO;
	}
	if ((rc = compose_plan_make(*m, c, cwd, bindir, p, err)) < 0) {
		compose_context_free(c);
		compose_manifest_free(*m);
	}
	return rc;
}

static void
free_all(struct compose_manifest *m, struct compose_context *c,
	 struct compose_plan *p)
{
	compose_plan_free(p);
	compose_context_free(c);
	compose_manifest_free(m);
}

static int
add_key(struct compose_context *c, const char *name, const char *val)
{
	size_t n = strlen(name) + strlen(val) + 2;
	char **nk, *kv;

	/* A later --KEY replaces an earlier one (also one from the context). */
	for (size_t i = 0; i < c->n_keys; i++)
		if (!strncmp(c->keys[i], name, strlen(name)) &&
		    c->keys[i][strlen(name)] == '=') {
			free(c->keys[i]);
			c->keys[i] = c->keys[--c->n_keys];
			break;
		}
	if (!(kv = malloc(n)))
		return -ENOMEM;
	if (!(nk = realloc(c->keys, (c->n_keys + 1) * sizeof(*nk)))) {
		free(kv);
		return -ENOMEM;
	}
	c->keys = nk;
	snprintf(kv, n, "%s=%s", name, val);
	c->keys[c->n_keys++] = kv;
	return 0;
}

int
compose_cmd_configure(const char *file, int argc, char **argv, FILE *out,
		      FILE *err)
{
	struct compose_context c = { 0 };
	struct compose_xen_opts xo = { .sz = sizeof(xo) };
	struct compose_manifest *m;
	char home[PATH_MAX], bindir[PATH_MAX];
	bool xen_opt = false;
	const char *v;
	bool miss;
	int rc = EXIT_FAIL;

	for (int i = 0; i < argc; i++)
		if (is_help(argv[i])) {
			fputs(compose_configure_help, out);
			return 0;
		}
	if (compose_manifest_load(file, &m, err) < 0)
		return EXIT_FAIL;
	c.target = m->target;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((v = optval(argc, argv, &i, "-t", "--target", &miss))) {
			if (!strcmp(v, "unix"))
				c.target = COMPOSE_TARGET_UNIX;
			else if (!strcmp(v, "xen"))
				c.target = COMPOSE_TARGET_XEN;
			else {
				rc = usage(err, "configure", "configure: unknown target '%s' (unix or xen)", v);
				goto out;
			}
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--kernel", &miss))) {
			xo.kernel = v;
			xen_opt = true;
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--ramdisk", &miss))) {
			xo.ramdisk = v;
			xen_opt = true;
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--vif-script", &miss))) {
			xo.vif_script = v;
			xen_opt = true;
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--memory", &miss))) {
			char *end;
			unsigned long mb = strtoul(v, &end, 10);

			if (*end || end == v || mb < 16 || mb > 65536) {
				rc = usage(err, "configure", "configure: --memory is MiB between 16 and 65536, not '%s'", v);
				goto out;
			}
			xo.memory_mb = (unsigned)mb;
			xen_opt = true;
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--net", &miss))) {
			if (strcmp(v, "socket") && strcmp(v, "direct")) {
				rc = usage(err, "configure", "configure: --net is socket or direct, not '%s'", v);
				goto out;
			}
			free(c.net);
			c.net = strdup(v);
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--kv_ro", &miss))) {
			if (strcmp(v, "dir") && strcmp(v, "pack") && strcmp(v, "tar")) {
				rc = usage(err, "configure", "configure: --kv_ro is dir, pack or tar, not '%s'", v);
				goto out;
			}
			free(c.kv_ro);
			c.kv_ro = strdup(v);
		} else if (!miss && (v = optval(argc, argv, &i, NULL, "--kv_rw", &miss))) {
			if (strcmp(v, "sqlite") && strcmp(v, "sealed")) {
				rc = usage(err, "configure", "configure: --kv_rw is sqlite or sealed, not '%s'", v);
				goto out;
			}
			free(c.kv_rw);
			c.kv_rw = strdup(v);
		} else if (miss) {
			rc = usage(err, "configure", "configure: option '%s' needs a value", a);
			goto out;
		} else if (!strncmp(a, "--", 2) && strchr(a, '=')) {
			char name[128], canon[256];
			const struct compose_key *k;
			const char *why = NULL, *eq = strchr(a, '=');

			snprintf(name, sizeof(name), "%.*s", (int)(eq - a - 2), a + 2);
			if (!(k = compose_manifest_key(m, name))) {
				rc = usage(err, "configure", "configure: unknown key '%s'", name);
				goto out;
			}
			/* A configure key is baked in; for a boot key the
			 * value becomes the default baked into the binary,
			 * which the environment or --key still override. */
			if (compose_key_check(k, eq + 1, canon, sizeof(canon), &why) < 0) {
				fprintf(err, "compose: configure: --%s: '%s' is not a valid %s: %s\n",
					name, eq + 1, compose_key_type_name(k->type), why);
				fprintf(err, "%s:%u:%u: note: key '%s' is declared here\n",
					m->file, k->mark.line, k->mark.col, name);
				goto out;
			}
			if (add_key(&c, name, canon) < 0)
				goto out;
		} else {
			rc = usage(err, "configure", a[0] == '-' ?
				   "configure: unknown option '%s'" :
				   "configure: unexpected argument '%s'", a);
			goto out;
		}
	}
	if (xen_opt && c.target != COMPOSE_TARGET_XEN) {
		rc = usage(err, "configure", "configure: %s are for --target xen", "--kernel, --ramdisk, --memory and --vif-script");
		goto out;
	}
	if (compose_context_check(m, &c, err) < 0)
		goto out;
	if (c.target == COMPOSE_TARGET_XEN && compose_xen_check(m, err) < 0)
		goto out;
	if (compose_home(home, sizeof(home)) ||
	    compose_bindir(bindir, sizeof(bindir))) {
		fprintf(err, "compose: cannot find the Morgana tree (set MORGANA_HOME)\n");
		goto out;
	}
	if (compose_generate(m, &c, home, bindir, err) < 0)
		goto out;
	if (c.target == COMPOSE_TARGET_XEN) {
		struct compose_plan p;
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    compose_plan_make(m, &c, cwd, bindir, &p, err) < 0)
			goto out;
		rc = compose_xen_generate(m, &p, &xo, err) < 0 ? EXIT_FAIL : 0;
		compose_plan_free(&p);
		if (rc)
			goto out;
		rc = EXIT_FAIL;
	}
	fprintf(out, "compose: configured '%s' for target %s in _build/\n"
		"Now run 'compose build', then 'compose up'.\n", m->name,
		compose_target_name(c.target));
	rc = 0;
out:
	compose_context_free(&c);
	compose_manifest_free(m);
	return rc;
}

int
compose_cmd_build(const char *file, int argc, char **argv, FILE *out,
		  FILE *err)
{
	struct compose_manifest *m;
	struct compose_context c;
	struct compose_plan p;
	int status, rc = EXIT_FAIL;
	pid_t pid;

	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(compose_build_help, out);
			return 0;
		}
		return usage(err, "build", "build: unexpected argument '%s'", argv[i]);
	}
	if (access("_build/Makefile", R_OK) < 0) {
		fprintf(err, "compose: build: no _build/Makefile; run 'compose configure' first\n");
		return EXIT_FAIL;
	}
	if (load_all(file, &m, &c, &p, err) < 0)
		return EXIT_FAIL;
	fflush(out);
	fflush(err);
	if ((pid = fork()) == 0) {
		execlp("make", "make", "--no-print-directory", "-f",
		       "_build/Makefile", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(err, "compose: build: building '%s' failed\n", m->name);
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < p.n_svcs; i++)
		if (!p.svcs[i].is_app && access(p.svcs[i].argv[0], X_OK) < 0) {
			fprintf(err, "compose: build: service '%s' needs %s, which is missing\n",
				p.svcs[i].name, p.svcs[i].argv[0]);
			rc = EXIT_FAIL;
		}
	if (!rc)
		fprintf(out, "compose: built _build/%s. Now run 'compose up'.\n",
			m->name);
out:
	free_all(m, &c, &p);
	return rc;
}

/* mkdir -p, the last directory with mode `last`. */
static int
mkdir_p(const char *path, mode_t last)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, last) < 0 && errno != EEXIST ? -errno : 0;
}

/* Where KV_RW devices keep their data: the state directory when a
 * database lives there by default, and a read-write directory store's
 * directory.  0700: what the app stores is its own business. */
static int
make_state_dir(const struct compose_manifest *m, FILE *err)
{
	static const char pre[] = COMPOSE_STATE_DIR "/";

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct compose_device *d = &m->devices[i];
		const char *dir = NULL;
		int rc;

		if (d->impl != COMPOSE_IMPL_KVD || !d->u.kvd.path)
			continue;
		if (!strncmp(d->u.kvd.path, pre, sizeof(pre) - 1))
			dir = COMPOSE_STATE_DIR;
		else if (d->sig == COMPOSE_SIG_KV_RW &&
			 d->u.kvd.store == COMPOSE_KV_DIR)
			dir = d->u.kvd.path;
		if (dir && (rc = mkdir_p(dir, 0700)) < 0) {
			fprintf(err, "compose: cannot create %s: %s\n", dir,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int
compose_cmd_up(const char *file, int argc, char **argv, FILE *out, FILE *err)
{
	struct compose_up_opts o = { .sz = sizeof(o), .ready_timeout_ms = 10000,
				     .grace_ms = 5000 };
	struct compose_manifest *m;
	struct compose_context c;
	struct compose_plan p;
	char rundir[PATH_MAX];
	bool nocolor = false, miss;
	const char *v;
	int rc;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (is_help(a)) {
			fputs(compose_up_help, out);
			return 0;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--detach")) {
			o.detach = true;
		} else if (!strcmp(a, "--wait")) {
			o.wait = o.detach = true;
		} else if (!strcmp(a, "--no-color")) {
			nocolor = true;
		} else if ((v = optval(argc, argv, &i, NULL, "--ready-timeout", &miss)) ||
			   (!miss && (v = optval(argc, argv, &i, "-t", "--timeout", &miss)))) {
			char *end;
			double s = strtod(v, &end);

			if (*end || s <= 0 || s > 3600)
				return usage(err, "up", "up: bad number of seconds '%s'", v);
			if (!strncmp(a, "--ready", 7))
				o.ready_timeout_ms = (unsigned)(s * 1000);
			else
				o.grace_ms = (unsigned)(s * 1000);
		} else if (miss) {
			return usage(err, "up", "up: option '%s' needs a value", a);
		} else {
			return usage(err, "up", a[0] == '-' ? "up: unknown option '%s'" :
				     "up: unexpected argument '%s'", a);
		}
	}
	o.color = !nocolor && isatty(fileno(out));
	if (load_all(file, &m, &c, &p, err) < 0)
		return EXIT_FAIL;
	rundir_of(rundir, sizeof(rundir));
	if (c.target == COMPOSE_TARGET_XEN) {
		/* Deploy mode: netd here in dom0, the app in a guest. */
		if (o.detach)
			rc = usage(err, "up", "up: %s are not supported with target xen yet", "-d and --wait");
		else
			rc = compose_xen_up(m, &p, rundir, o.ready_timeout_ms,
					    out, err);
		free_all(m, &c, &p);
		return rc;
	}
	if (make_state_dir(m, err) < 0) {
		free_all(m, &c, &p);
		return EXIT_FAIL;
	}
	o.rundir = rundir;
	rc = compose_up(&p, &o, out, err);
	free_all(m, &c, &p);
	return rc;
}

int
compose_cmd_down(const char *file, int argc, char **argv, FILE *out,
		 FILE *err)
{
	char rundir[PATH_MAX];
	unsigned ms = 60000;
	const char *v;
	bool miss;

	(void)file;
	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(compose_down_help, out);
			return 0;
		} else if ((v = optval(argc, argv, &i, "-t", "--timeout", &miss))) {
			ms = (unsigned)(atof(v) * 1000);
		} else {
			return usage(err, "down", miss ? "down: option '%s' needs a value" :
				     "down: unknown option '%s'", argv[i]);
		}
	}
	rundir_of(rundir, sizeof(rundir));
	return compose_down(rundir, ms, out, err);
}

int
compose_cmd_ps(const char *file, int argc, char **argv, FILE *out, FILE *err)
{
	char rundir[PATH_MAX];

	(void)file;
	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(compose_ps_help, out);
			return 0;
		}
		return usage(err, "ps", "ps: unexpected argument '%s'", argv[i]);
	}
	rundir_of(rundir, sizeof(rundir));
	return compose_ps(rundir, out, err);
}

int
compose_cmd_logs(const char *file, int argc, char **argv, FILE *out,
		 FILE *err)
{
	struct compose_manifest *m;
	struct compose_context c;
	struct compose_plan p;
	char rundir[PATH_MAX];
	const char *svc = NULL;
	bool follow = false, nocolor = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (is_help(a)) {
			fputs(compose_logs_help, out);
			return 0;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			follow = true;
		} else if (!strcmp(a, "--no-color")) {
			nocolor = true;
		} else if (a[0] == '-' || svc) {
			return usage(err, "logs", a[0] == '-' ? "logs: unknown option '%s'" :
				     "logs: unexpected argument '%s'", a);
		} else {
			svc = a;
		}
	}
	if (load_all(file, &m, &c, &p, err) < 0)
		return EXIT_FAIL;
	rundir_of(rundir, sizeof(rundir));
	rc = compose_logs(rundir, &p, svc, follow,
			  !nocolor && isatty(fileno(out)), out, err);
	free_all(m, &c, &p);
	return rc;
}

int
compose_cmd_describe(const char *file, int argc, char **argv, FILE *out,
		     FILE *err)
{
	struct compose_manifest *m;
	struct compose_context c;
	struct compose_plan p;
	bool dot = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(compose_describe_help, out);
			return 0;
		} else if (!strcmp(argv[i], "--dot")) {
			dot = true;
		} else {
			return usage(err, "describe", "describe: unknown option '%s'", argv[i]);
		}
	}
	if (!dot)
		return usage(err, "describe", "describe: %s", "give --dot (the only format)");
	if (load_all(file, &m, &c, &p, err) < 0)
		return EXIT_FAIL;
	rc = compose_plan_dot(m, &p, out) < 0 ? EXIT_FAIL : 0;
	free_all(m, &c, &p);
	return rc;
}
