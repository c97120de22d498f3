/* The run plan: services, domids, devices and command lines. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/plan.h"
#include "compose/schema.h"

void
compose_context_free(struct compose_context *c)
{
	free(c->net);
	free(c->kv_ro);
	free(c->kv_rw);
	for (size_t i = 0; i < c->n_keys; i++)
		free(c->keys[i]);
	free(c->keys);
	memset(c, 0, sizeof(*c));
}

const char *
compose_context_key(const struct compose_context *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->n_keys; i++)
		if (!strncmp(c->keys[i], name, n) && c->keys[i][n] == '=')
			return c->keys[i] + n + 1;
	return NULL;
}

int
compose_context_load(const char *file, struct compose_context *c, FILE *err)
{
	char line[4096];
	unsigned lno = 0;
	FILE *f;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (!(f = fopen(file, "r")))
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v, **nk;

		lno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!(v = strchr(line, '='))) {
			fprintf(err, "%s:%u: error: expected NAME=VALUE\n", file, lno);
			rc = -EINVAL;
			break;
		}
		*v++ = '\0';
		if (!strcmp(line, "target")) {
			if (!strcmp(v, "unix"))
				c->target = COMPOSE_TARGET_UNIX;
			else if (!strcmp(v, "xen"))
				c->target = COMPOSE_TARGET_XEN;
			else
				rc = -EINVAL;
		} else if (!strcmp(line, "net")) {
			free(c->net);
			if (!(c->net = strdup(v)))
				rc = -ENOMEM;
		} else if (!strcmp(line, "kv_ro")) {
			free(c->kv_ro);
			if (!(c->kv_ro = strdup(v)))
				rc = -ENOMEM;
		} else if (!strcmp(line, "kv_rw")) {
			free(c->kv_rw);
			if (!(c->kv_rw = strdup(v)))
				rc = -ENOMEM;
		} else if (!strncmp(line, "key.", 4)) {
			size_t n = strlen(line + 4) + strlen(v) + 2;
			char *kv = malloc(n);

			nk = realloc(c->keys, (c->n_keys + 1) * sizeof(*nk));
			if (!kv || !nk) {
				free(kv);
				if (nk)
					c->keys = nk;
				rc = -ENOMEM;
				break;
			}
			c->keys = nk;
			snprintf(kv, n, "%s=%s", line + 4, v);
			c->keys[c->n_keys++] = kv;
		} else {
			rc = -EINVAL;
		}
		if (rc == -EINVAL)
			fprintf(err, "%s:%u: error: bad entry '%s'\n", file, lno,
				line);
		if (rc)
			break;
	}
	fclose(f);
	if (rc)
		compose_context_free(c);
	return rc;
}

int
compose_context_save(const char *file, const struct compose_context *c)
{
	char tmp[PATH_MAX];
	FILE *f;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!(f = fopen(tmp, "w")))
		return -errno;
	fprintf(f, "# written by compose configure; read by build and up\n");
	fprintf(f, "target=%s\n", compose_target_name(c->target));
	if (c->net)
		fprintf(f, "net=%s\n", c->net);
	if (c->kv_ro)
		fprintf(f, "kv_ro=%s\n", c->kv_ro);
	if (c->kv_rw)
		fprintf(f, "kv_rw=%s\n", c->kv_rw);
	for (size_t i = 0; i < c->n_keys; i++)
		fprintf(f, "key.%s\n", c->keys[i]);
	if (fflush(f) || ferror(f))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && rename(tmp, file) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static int
self_dir(char *buf, size_t len, int up)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 1);

	if (n < 0)
		return -errno;
	p[n] = '\0';
	for (int i = 0; i < up; i++) {
		char *s = strrchr(p, '/');

		if (!s || s == p)
			return -ENOENT;
		*s = '\0';
	}
	if (strlen(p) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, p);
	return 0;
}

int
compose_home(char *buf, size_t len)
{
	const char *e = getenv("MORGANA_HOME");

	if (e && *e) {
		if (strlen(e) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, e);
		return 0;
	}
	/* <tree>/build/bin/compose: the binary, bin, build. */
	return self_dir(buf, len, 3);
}

int
compose_bindir(char *buf, size_t len)
{
	const char *e = getenv("MORGANA_BINDIR");

	if (e && *e) {
		if (strlen(e) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, e);
		return 0;
	}
	return self_dir(buf, len, 1);
}

const char *
compose_sig_type(enum compose_sig s)
{
	switch (s) {
	case COMPOSE_SIG_PCLOCK:
	case COMPOSE_SIG_MCLOCK:
	case COMPOSE_SIG_TIME:
		return "clock";
	case COMPOSE_SIG_KV_RO:
	case COMPOSE_SIG_KV_RW:
		return "kv";
	case COMPOSE_SIG_STACK:
		return "pvcalls";
	case COMPOSE_SIG_NET:
		return "vif";
	}
	return "?";
}

/* argv builder: every string is malloc'd; a failed push frees nothing
 * (compose_plan_free does). */
static int
push(struct compose_plan_svc *s, const char *fmt, ...)
{
	char **nv = realloc(s->argv, (s->argc + 2) * sizeof(*nv));
	va_list ap;
	char *a;

	if (!nv)
		return -ENOMEM;
	s->argv = nv;
	va_start(ap, fmt);
	if (vasprintf(&a, fmt, ap) < 0)
		a = NULL;
	va_end(ap);
	if (!a)
		return -ENOMEM;
	s->argv[s->argc++] = a;
	s->argv[s->argc] = NULL;
	return 0;
}

static const char *
ip_text(const struct compose_ipv4 *ip, bool prefix, char *buf, size_t len)
{
	if (prefix)
		snprintf(buf, len, "%u.%u.%u.%u/%u", ip->addr >> 24,
			 (ip->addr >> 16) & 255, (ip->addr >> 8) & 255,
			 ip->addr & 255, ip->prefix);
	else
		snprintf(buf, len, "%u.%u.%u.%u", ip->addr >> 24,
			 (ip->addr >> 16) & 255, (ip->addr >> 8) & 255,
			 ip->addr & 255);
	return buf;
}

/* The value a boot key has when the app starts: what app_argv passes
 * (its env variable), else what configure baked, else the default.  NULL
 * if it has none. */
static const char *
key_value(const struct compose_manifest *m, const struct compose_context *c,
	  const char *name)
{
	const struct compose_key *k = compose_manifest_key(m, name);
	const char *v;

	if (!k)
		return NULL;
	if (k->stage == COMPOSE_STAGE_BOOT && k->env && (v = getenv(k->env)))
		return v;
	if ((v = compose_context_key(c, name)))
		return v;
	return k->has_default ? k->def.text : NULL;
}

/* tcpipd's --allow list from the device's `allow` entries, keys resolved
 * now.  *out is malloc'd ("" for none).  Returns 0, -EINVAL (a key has no
 * usable value; printed), -ENOMEM. */
static int
allow_list(const struct compose_manifest *m, const struct compose_context *c,
	   const struct compose_device *d, char **out, FILE *err)
{
	size_t cap = d->u.tcpipd.n_allow * 24 + 1, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	for (size_t i = 0; i < d->u.tcpipd.n_allow; i++) {
		const struct compose_allow *a = &d->u.tcpipd.allow[i];
		uint32_t addr = a->addr;
		char port[8];
		const char *v, *why = "no value";

		if (a->addr_key) {
			struct compose_ipv4 ip;

			if (!(v = key_value(m, c, a->addr_key)) ||
			    compose_parse_ipv4(v, false, &ip, &why)) {
				fprintf(err, "compose: %s: allow: key '%s': %s\n",
					d->name, a->addr_key, why);
				free(buf);
				return -EINVAL;
			}
			addr = ip.addr;
		}
		if (a->port_key) {
			int64_t p = -1;

			if ((v = key_value(m, c, a->port_key)) &&
			    !compose_parse_int(v, &p, &why) &&
			    (p < 0 || p > 65535))
				why = "not a port (0 to 65535)";
			if (!v || p < 0 || p > 65535) {
				fprintf(err, "compose: %s: allow: key '%s': %s\n",
					d->name, a->port_key, why);
				free(buf);
				return -EINVAL;
			}
			snprintf(port, sizeof(port), "%u", (unsigned)p);
		} else if (a->any_port) {
			snprintf(port, sizeof(port), "*");
		} else {
			snprintf(port, sizeof(port), "%u", a->port);
		}
		len += (size_t)snprintf(buf + len, cap - len, "%s%u.%u.%u.%u:%s",
					i ? "," : "", addr >> 24,
					(addr >> 16) & 255, (addr >> 8) & 255,
					addr & 255, port);
	}
	*out = buf;
	return 0;
}

static uint32_t
fnv(const char *p)
{
	uint32_t h = 2166136261u;

	while (*p)
		h = (h ^ (uint8_t)*p++) * 16777619u;
	return h;
}

/* A NET device's mtu and a MAC address stable for this project. */
static void
vif_config(const char *proj, const struct compose_device *d,
	   struct compose_plan_dev *pd)
{
	uint32_t h = fnv(proj) ^ (fnv(d->name) * 31u);

	if (d->impl != COMPOSE_IMPL_NETD)
		return;
	pd->mtu = d->u.netd.mtu;
	pd->mac[0] = 0x02;	/* locally administered, unicast */
	pd->mac[1] = 0x6d;
	memcpy(pd->mac + 2, &h, 4);
}

static int
daemon_argv(const struct compose_manifest *m, const struct compose_context *c,
	    const char *proj, const char *bindir,
	    const struct compose_device *d, struct compose_plan_svc *s,
	    FILE *err)
{
	char ip[32];
	int rc;

	if ((rc = push(s, "%s/%s", bindir, compose_impl_name(d->impl))))
		return rc;
	switch (d->impl) {
	case COMPOSE_IMPL_CLOCKD:
		return 0;
	case COMPOSE_IMPL_KVD: {
		enum compose_kv_store st = d->u.kvd.store;
		const char *sn = compose_kv_store_of(d, c);
		if ((rc = push(s, "serve")) || (rc = push(s, "--store")) ||
		    (rc = push(s, "%s", sn)))
			return rc;
		/* A directory behind a KV_RW device is served read-write. */
		if (d->sig == COMPOSE_SIG_KV_RW && !strcmp(sn, "dir") &&
		    (rc = push(s, "--rw")))
			return rc;
		if (!strcmp(sn, "pack"))
			/* configure packed the directory into _build. */
			rc = push(s, "--path=%s/_build/%s.pack", proj, d->name);
		else if (!strcmp(sn, "tar") && st != COMPOSE_KV_TAR)
			/* configure archived the directory into _build. */
			rc = push(s, "--path=%s/_build/%s.tar", proj, d->name);
		else if (d->u.kvd.path)
			rc = push(s, d->u.kvd.path[0] == '/' ? "--path=%s%s" :
				  "--path=%s/%s", d->u.kvd.path[0] == '/' ? "" :
				  proj, d->u.kvd.path);
		if (rc)
			return rc;
		/* A sqlite device's key_file is for --kv_rw sealed only. */
		if (d->u.kvd.key_file && !strcmp(sn, "sealed") &&
		    (rc = push(s, d->u.kvd.key_file[0] == '/' ?
			       "--key-file=%s%s" : "--key-file=%s/%s",
			       d->u.kvd.key_file[0] == '/' ? "" : proj,
			       d->u.kvd.key_file)))
			return rc;
		if (d->over != SIZE_MAX && m->devices[d->over].u.kvd.path) {
			const char *op = m->devices[d->over].u.kvd.path;

			rc = push(s, op[0] == '/' ? "--over-path=%s%s" :
				  "--over-path=%s/%s", op[0] == '/' ? "" : proj,
				  op);
		}
		return rc;
	}
	case COMPOSE_IMPL_TCPIPD:
		if ((rc = push(s, "--net")) ||
		    (rc = push(s, "%s", c->net ? c->net :
			       compose_tcpip_net_name(d->u.tcpipd.net))))
			return rc;
		if (d->u.tcpipd.has_ipv4 &&
		    (rc = push(s, "--ipv4=%s", ip_text(&d->u.tcpipd.ipv4, true,
						       ip, sizeof(ip)))))
			return rc;
		if (d->u.tcpipd.has_gateway &&
		    (rc = push(s, "--gateway=%s",
			       ip_text(&d->u.tcpipd.gateway, false, ip,
				       sizeof(ip)))))
			return rc;
		if (d->u.tcpipd.n_allow) {
			char *list;

			if ((rc = allow_list(m, c, d, &list, err)))
				return rc;
			rc = push(s, "--allow=%s", list);
			free(list);
		}
		return rc;
	case COMPOSE_IMPL_NETD:
		if ((rc = push(s, "--backend")) ||
		    (rc = push(s, "%s",
			       compose_netd_backend_name(d->u.netd.backend))))
			return rc;
		/* The mtu is not netd's: the toolstack writes it for the
		 * frontend (make_devices), as xl does. */
		if (d->u.netd.backend == COMPOSE_NETD_TAP) {
			if (d->u.netd.ifname)
				return push(s, "--tap=%s", d->u.netd.ifname);
			/* "chosen at up": stable per project and service. */
			return push(s, "--tap=mg%06x%u",
				    (unsigned)(fnv(proj) & 0xffffff), s->domid);
		}
		if (d->u.netd.ifname)
			return push(s, "--ifname=%s", d->u.netd.ifname);
		return 0;
	}
	return -EINVAL;
}

static int
app_argv(const struct compose_manifest *m, const char *proj,
	 struct compose_plan_svc *s)
{
	int rc;

	if ((rc = push(s, "%s/_build/%s", proj, m->name)))
		return rc;
	for (size_t i = 0; i < m->n_keys; i++) {
		const struct compose_key *k = &m->keys[i];
		const char *v = k->env ? getenv(k->env) : NULL;

		if (k->stage != COMPOSE_STAGE_BOOT)
			continue;
		/* Only what the environment sets: the default is baked
		 * into the binary (the manifest's, or the one given to
		 * configure), and appkit applies it itself. */
		if (v && (rc = push(s, "--%s=%s", k->name, v)))
			return rc;
	}
	return 0;
}

int
compose_plan_make(const struct compose_manifest *m,
		  const struct compose_context *c, const char *proj,
		  const char *bindir, struct compose_plan *p, FILE *err)
{
	size_t *svc_of_dev = NULL, app = m->n_services - 1;
	int rc = -ENOMEM;

	memset(p, 0, sizeof(*p));
	if (compose_context_check(m, c, err))
		return -EINVAL;
	p->svcs = calloc(m->n_services, sizeof(*p->svcs));
	p->devs = calloc(m->n_devices, sizeof(*p->devs));
	svc_of_dev = calloc(m->n_devices + 1, sizeof(*svc_of_dev));
	if (!p->svcs || !p->devs || !svc_of_dev)
		goto fail;
	p->n_svcs = m->n_services;
	for (size_t i = 0; i < m->n_services; i++) {
		const struct compose_service *ms = &m->services[i];
		struct compose_plan_svc *s = &p->svcs[i];

		s->name = ms->name;
		s->is_app = ms->is_app;
		s->deps = ms->deps;
		s->n_deps = ms->n_deps;
		s->domid = (uint16_t)(i + 1);
		if (ms->is_app) {
			app = i;
			s->restart = m->app.restart;
			rc = app_argv(m, proj, s);
		} else {
			const struct compose_device *d = &m->devices[ms->device];

			svc_of_dev[ms->device] = i;
			s->restart = d->restart;
			s->impl = compose_impl_name(d->impl);
			rc = daemon_argv(m, c, proj, bindir, d, s, err);
		}
		if (rc)
			goto fail;
	}
	/* The app's devices in app.devices order, then the devices the
	 * daemons use; devids count per (frontend, type). */
	for (size_t i = 0; i < m->app.n_devices; i++) {
		const struct compose_device *d =
			&m->devices[m->app.devices[i].device];
		struct compose_plan_dev *pd = &p->devs[p->n_devs++];

		pd->name = d->name;
		pd->sig = compose_sig_name(m->app.devices[i].sig);
		pd->type = compose_sig_type(m->app.devices[i].sig);
		pd->fe = app;
		pd->be = svc_of_dev[m->app.devices[i].device];
		vif_config(proj, d, pd);
	}
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct compose_device *d = &m->devices[i];
		struct compose_plan_dev *pd;

		if (d->app_uses)
			continue;
		pd = &p->devs[p->n_devs++];
		pd->name = d->name;
		pd->sig = compose_sig_name(d->sig);
		pd->type = compose_sig_type(d->sig);
		pd->fe = svc_of_dev[d->consumer];
		pd->be = svc_of_dev[i];
		vif_config(proj, d, pd);
	}
	for (size_t i = 0; i < p->n_devs; i++)
		for (size_t j = 0; j < i; j++)
			if (p->devs[j].fe == p->devs[i].fe &&
			    !strcmp(p->devs[j].type, p->devs[i].type))
				p->devs[i].devid++;
	free(svc_of_dev);
	return 0;
fail:
	free(svc_of_dev);
	compose_plan_free(p);
	if (rc != -ENOMEM)
		fprintf(err, "compose: cannot plan the services: %s\n",
			strerror(-rc));
	return rc;
}

void
compose_plan_free(struct compose_plan *p)
{
	for (size_t i = 0; i < p->n_svcs; i++) {
		for (size_t j = 0; j < p->svcs[i].argc; j++)
			free(p->svcs[i].argv[j]);
		free(p->svcs[i].argv);
	}
	free(p->svcs);
	free(p->devs);
	memset(p, 0, sizeof(*p));
}

int
compose_plan_dot(const struct compose_manifest *m,
		 const struct compose_plan *p, FILE *out)
{
	fprintf(out, "digraph \"%s\" {\n\trankdir=LR;\n", m->name);
	for (size_t i = 0; i < p->n_svcs; i++) {
		const struct compose_plan_svc *s = &p->svcs[i];

		fprintf(out, "\t\"%s\" [shape=%s, label=\"%s\\n%s dom%u\"];\n",
			s->name, s->is_app ? "doubleoctagon" : "box", s->name,
			s->is_app ? "app" : s->impl, s->domid);
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct compose_plan_dev *d = &p->devs[i];
		const char *fe = p->svcs[d->fe].name, *be = p->svcs[d->be].name;

		fprintf(out, "\t\"%s/%u@%s\" [shape=ellipse, label=\"%s\\n%s/%u\"];\n",
			d->type, d->devid, fe, d->name, d->type, d->devid);
		fprintf(out, "\t\"%s\" -> \"%s/%u@%s\" [label=\"%s\"];\n", fe,
			d->type, d->devid, fe, d->sig);
		fprintf(out, "\t\"%s/%u@%s\" -> \"%s\" [label=\"%s\"];\n",
			d->type, d->devid, fe, be, d->type);
	}
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}

/* Only the app's own KV_RW devices follow --kv_rw: a sqlite device under a
 * sealed one stays what its sealed device needs. */
static bool
kv_rw_applies(const struct compose_device *d, const struct compose_context *c)
{
	return c->kv_rw && d->impl == COMPOSE_IMPL_KVD &&
	       d->sig == COMPOSE_SIG_KV_RW && d->app_uses;
}

const char *
compose_kv_store_of(const struct compose_device *d,
		    const struct compose_context *c)
{
	if (d->sig == COMPOSE_SIG_KV_RO && c->kv_ro)
		return c->kv_ro;
	if (kv_rw_applies(d, c))
		return c->kv_rw;
	return compose_kv_store_name(d->u.kvd.store);
}

int
compose_context_check(const struct compose_manifest *m,
		      const struct compose_context *c, FILE *err)
{
	int rc = 0;

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct compose_device *d = &m->devices[i];

		if (!kv_rw_applies(d, c))
			continue;
		if (d->u.kvd.store == COMPOSE_KV_DIR) {
			fprintf(err, "%s:%u:%u: error: device '%s' is store: dir; --kv_rw %s does not apply to it\n"
				"  hint: --kv_rw switches devices stored as sqlite or sealed; a directory is chosen in the manifest\n",
				m->file, d->mark.line, d->mark.col, d->name,
				c->kv_rw);
			rc = -EINVAL;
		} else if (!strcmp(c->kv_rw, "sqlite") &&
			   d->u.kvd.store == COMPOSE_KV_SEALED) {
			fprintf(err, "%s:%u:%u: error: device '%s' is store: sealed; --kv_rw sqlite would keep its values in clear\n"
				"  hint: configure with --kv_rw sealed, or change the manifest\n",
				m->file, d->mark.line, d->mark.col, d->name);
			rc = -EINVAL;
		} else if (!strcmp(c->kv_rw, "sealed") &&
			   d->u.kvd.store == COMPOSE_KV_SQLITE &&
			   !d->u.kvd.key_file) {
			fprintf(err, "%s:%u:%u: error: device '%s' has no key_file; --kv_rw sealed needs one\n"
				"  hint: add key_file: FILE (32 secret bytes, mode 0600), as in key_file: %s.key\n",
				m->file, d->mark.line, d->mark.col, d->name,
				d->name);
			rc = -EINVAL;
		}
	}
	return rc;
}
