/*
 * appkit/app.c - ak_main: keys, devices by name, readiness, the start
 * task.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "appkit_internal.h"
#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

struct key_val {
	const struct ak_key_desc *d;
	bool set;
	const char *str;
	int64_t i;
	bool b;
	uint32_t addr;
	uint8_t prefix;
};

struct dev {
	const struct ak_device_desc *d;
	struct ak_clock_front *clock;	/* ring mode */
	struct ak_kv_front *kvf;	/* ring mode, KV_RO/KV_RW */
	struct ak_stack_front *stack;	/* ring mode */
	struct ak_net_front *net;	/* ring mode */
	struct ak_time *time;		/* in-process mode */
	struct ak_pclock *pclock;
	struct ak_mclock *mclock;
};

struct ak_app {
	const struct ak_app_desc *desc;
	struct key_val *keys;
	struct dev *devs;
	struct ak_loop *loop;
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct ak_xb_glue *glue;
	int notify_fd;
	int signo;
	bool by_order;	/* MORGANA_DEVICES=xen: no name keys, take devices in order */
};

static const char *const sig_names[] = {
	[AK_SIG_NET] = "NET", [AK_SIG_STACK] = "STACK",
	[AK_SIG_KV_RO] = "KV_RO", [AK_SIG_KV_RW] = "KV_RW",
	[AK_SIG_PCLOCK] = "PCLOCK", [AK_SIG_MCLOCK] = "MCLOCK",
	[AK_SIG_TIME] = "TIME",
};
static const char *const sig_types[] = {
	[AK_SIG_NET] = "vif", [AK_SIG_STACK] = "pvcalls",
	[AK_SIG_KV_RO] = "kv", [AK_SIG_KV_RW] = "kv",
	[AK_SIG_PCLOCK] = "clock", [AK_SIG_MCLOCK] = "clock",
	[AK_SIG_TIME] = "clock",
};
static const char *const type_names[] = {
	[AK_KEY_STRING] = "string", [AK_KEY_INT] = "int",
	[AK_KEY_BOOL] = "bool", [AK_KEY_IPV4] = "ipv4",
	[AK_KEY_IPV4_PREFIX] = "ipv4_prefix",
};

/* ---- key parsing: the manifest's rules (compose/schema.c) ---- */

static int
parse_int(const char *s, int64_t *out, const char **why)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, limit;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9') {
		*why = *s == '+' ? "write it without '+'" : "not a decimal integer";
		return -EINVAL;
	}
	if (p[0] == '0' && p[1] != '\0') {
		*why = "leading zeros are not allowed (nor hexadecimal or octal)";
		return -EINVAL;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			*why = "not a decimal integer";
			return -EINVAL;
		}
		if (v > (limit - (uint64_t)(*p - '0')) / 10) {
			*why = "out of range for a 64-bit integer";
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int
dec_field(const char **pp, unsigned max, unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0, nd = 0;

	while (*p >= '0' && *p <= '9') {
		if (nd == 1 && v == 0)
			return -EINVAL;	/* leading zero */
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > max)
			return -EINVAL;
		nd++;
	}
	if (nd == 0)
		return -EINVAL;
	*out = v;
	*pp = p;
	return 0;
}

static int
parse_ipv4(const char *s, bool with_prefix, uint32_t *addr, uint8_t *prefix,
	   const char **why)
{
	const char *p = s;
	unsigned v, pl = 32;
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		if (dec_field(&p, 255, &v) < 0 || (i < 3 && *p++ != '.')) {
			*why = "expected four decimal numbers 0-255 separated by dots, without leading zeros";
			return -EINVAL;
		}
		a = a << 8 | v;
	}
	if (with_prefix) {
		if (*p != '/') {
			*why = "add the prefix length, as in 10.0.0.2/24";
			return -EINVAL;
		}
		p++;
		if (dec_field(&p, 32, &pl) < 0 || *p) {
			*why = "the prefix length must be a number from 0 to 32";
			return -EINVAL;
		}
	} else if (*p) {
		*why = *p == '/' ? "an address without '/prefix' is expected here"
				 : "unexpected characters after the address";
		return -EINVAL;
	}
	*addr = a;
	*prefix = (uint8_t)pl;
	return 0;
}

/* Parse s into kv; on error print "<app>: <where>: <why> (key ...)". */
static int
key_set(const struct ak_app_desc *desc, struct key_val *kv, const char *s,
	const char *where)
{
	const char *why = NULL;
	int rc = 0;

	switch (kv->d->type) {
	case AK_KEY_STRING:
		break;
	case AK_KEY_INT:
		rc = parse_int(s, &kv->i, &why);
		break;
	case AK_KEY_BOOL:
		if (!strcmp(s, "true") || !strcmp(s, "false"))
			kv->b = s[0] == 't';
		else {
			why = "expected true or false";
			rc = -EINVAL;
		}
		break;
	case AK_KEY_IPV4:
	case AK_KEY_IPV4_PREFIX:
		rc = parse_ipv4(s, kv->d->type == AK_KEY_IPV4_PREFIX, &kv->addr,
				&kv->prefix, &why);
		break;
	default:
		why = "unknown key type";
		rc = -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s: invalid value \"%s\" for key '%s' (%s): %s\n",
			desc->name, where, s, kv->d->name,
			(unsigned)kv->d->type < 5 ? type_names[kv->d->type] : "?",
			why);
		return rc;
	}
	kv->str = s;
	kv->set = true;
	return 0;
}

static void
usage(const struct ak_app_desc *desc, FILE *out)
{
	fprintf(out, "usage: %s [--KEY=VALUE | --KEY VALUE]...\n", desc->name);
	if (desc->n_keys == 0)
		fprintf(out, "\n%s has no configuration keys.\n", desc->name);
	else
		fprintf(out, "\nKeys:\n");
	for (size_t i = 0; i < desc->n_keys; i++) {
		const struct ak_key_desc *k = &desc->keys[i];
		const char *t = (unsigned)k->type < 5 ? type_names[k->type] : "?";

		fprintf(out, "  --%s=%s\n      %s\n", k->name, t,
			k->doc ? k->doc : "(undocumented)");
		if (k->stage == AK_STAGE_CONFIGURE) {
			const char *v = k->baked ? k->baked : k->def;

			if (v)
				fprintf(out, "      configure stage: baked in as \"%s\"; cannot be set at boot\n", v);
			else
				fprintf(out, "      configure stage: unset; cannot be set at boot\n");
			continue;
		}
		if (k->def)
			fprintf(out, "      default: \"%s\"", k->def);
		else
			fprintf(out, "      default: none (unset)");
		if (k->env)
			fprintf(out, "; env: %s", k->env);
		fprintf(out, "; boot stage\n");
	}
	fprintf(out,
"\nEnvironment:\n"
"  MORGANA_DEVICES=inproc  use in-process devices (PCLOCK, MCLOCK, TIME on\n"
"                          the host's clocks) instead of daemons over rings\n"
"  MORGANA_DEVICES=xen     deploy mode in a Xen domU: the domain's own\n"
"                          device/<type>/<n> as the toolstack wrote them,\n"
"                          taken in order (the first NET device is vif 0)\n"
"  XENSTORED_PATH          the store socket (set by compose up)\n"
"  NOTIFY_FD               readiness pipe (set by compose up)\n");
}

static struct key_val *
find_key(struct ak_app *app, const char *name, size_t len)
{
	for (size_t i = 0; i < app->desc->n_keys; i++)
		if (strlen(app->keys[i].d->name) == len &&
		    !strncmp(app->keys[i].d->name, name, len))
			return &app->keys[i];
	return NULL;
}

/* Returns 0, 1 for --help (printed), or 2 for a usage error (printed). */
static int
parse_keys(struct ak_app *app, int argc, char **argv)
{
	const struct ak_app_desc *desc = app->desc;
	bool *from_arg = calloc(desc->n_keys + 1, sizeof(bool));
	char where[256];
	int rc = 0;

	if (from_arg == NULL)
		return 2;
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i], *eq, *val;
		struct key_val *kv;
		size_t nlen;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(desc, stdout);
			rc = 1;
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			fprintf(stderr, "%s: unexpected argument \"%s\" (keys are given as --KEY=VALUE; see --help)\n",
				desc->name, a);
			rc = 2;
			break;
		}
		eq = strchr(a + 2, '=');
		nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if ((kv = find_key(app, a + 2, nlen)) == NULL) {
			fprintf(stderr, "%s: unknown key --%.*s (see --help)\n",
				desc->name, (int)nlen, a + 2);
			rc = 2;
			break;
		}
		if (kv->d->stage == AK_STAGE_CONFIGURE) {
			fprintf(stderr, "%s: key '%s' is set at configure time and cannot be changed at boot (run compose configure)\n",
				desc->name, kv->d->name);
			rc = 2;
			break;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "%s: --%s needs a value\n", desc->name,
				kv->d->name);
			rc = 2;
			break;
		}
		snprintf(where, sizeof(where), "--%s", kv->d->name);
		if (key_set(desc, kv, val, where) < 0)
			rc = 2;
		from_arg[kv - app->keys] = true;
	}
	for (size_t i = 0; i < desc->n_keys && rc == 0; i++) {
		struct key_val *kv = &app->keys[i];
		const struct ak_key_desc *k = kv->d;
		const char *env;

		if (from_arg[i])
			continue;
		if (k->stage == AK_STAGE_CONFIGURE) {
			const char *v = k->baked ? k->baked : k->def;

			snprintf(where, sizeof(where), "configured value of '%s'", k->name);
			if (v && key_set(desc, kv, v, where) < 0)
				rc = 2;
			continue;
		}
		if (k->env && (env = getenv(k->env)) != NULL) {
			snprintf(where, sizeof(where), "%s", k->env);
			if (key_set(desc, kv, env, where) < 0)
				rc = 2;
			continue;
		}
		snprintf(where, sizeof(where), "default of '%s'", k->name);
		if (k->def && key_set(desc, kv, k->def, where) < 0)
			rc = 2;
	}
	free(from_arg);
	return rc;
}

static struct key_val *
key_get(struct ak_app *app, const char *name, int *rc)
{
	struct key_val *kv;

	if (app == NULL || name == NULL) {
		*rc = -EINVAL;
		return NULL;
	}
	if ((kv = find_key(app, name, strlen(name))) == NULL)
		*rc = -ENOENT;
	else if (!kv->set)
		*rc = -ENODATA;
	else
		*rc = 0;
	return kv;
}

int
ak_key_str(struct ak_app *app, const char *name, const char **out)
{
	int rc;
	struct key_val *kv = key_get(app, name, &rc);

	if (kv && kv->d->type != AK_KEY_STRING)
		return -EINVAL;
	if (rc == 0)
		*out = kv->str;
	return rc;
}

int
ak_key_int(struct ak_app *app, const char *name, int64_t *out)
{
	int rc;
	struct key_val *kv = key_get(app, name, &rc);

	if (kv && kv->d->type != AK_KEY_INT)
		return -EINVAL;
	if (rc == 0)
		*out = kv->i;
	return rc;
}

int
ak_key_bool(struct ak_app *app, const char *name, bool *out)
{
	int rc;
	struct key_val *kv = key_get(app, name, &rc);

	if (kv && kv->d->type != AK_KEY_BOOL)
		return -EINVAL;
	if (rc == 0)
		*out = kv->b;
	return rc;
}

int
ak_key_ipv4(struct ak_app *app, const char *name, uint32_t *addr,
	    uint8_t *prefix)
{
	int rc;
	struct key_val *kv = key_get(app, name, &rc);

	if (kv && kv->d->type != AK_KEY_IPV4 &&
	    kv->d->type != AK_KEY_IPV4_PREFIX)
		return -EINVAL;
	if (rc == 0) {
		*addr = kv->addr;
		if (prefix)
			*prefix = kv->prefix;
	}
	return rc;
}

/* ---- devices ---- */

static struct dev *
find_dev(struct ak_app *app, const char *name, enum ak_sig sig)
{
	if (app == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < app->desc->n_devices; i++)
		if (app->devs[i].d->sig == sig &&
		    !strcmp(app->devs[i].d->name, name))
			return &app->devs[i];
	return NULL;
}

struct ak_time *
ak_time(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_TIME);

	if (d == NULL)
		return NULL;
	return d->clock ? ak_clock_front_time(d->clock) : d->time;
}

struct ak_pclock *
ak_pclock(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_PCLOCK);

	if (d == NULL)
		return NULL;
	return d->clock ? ak_clock_front_pclock(d->clock) : d->pclock;
}

struct ak_mclock *
ak_mclock(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_MCLOCK);

	if (d == NULL)
		return NULL;
	return d->clock ? ak_clock_front_mclock(d->clock) : d->mclock;
}

struct ak_kv *
ak_kv(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_KV_RO);

	if (d == NULL)
		d = find_dev(app, name, AK_SIG_KV_RW);
	return d != NULL && d->kvf != NULL ? ak_kv_front_kv(d->kvf) : NULL;
}

struct ak_stack *
ak_stack(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_STACK);

	return d && d->stack ? ak_stack_front_stack(d->stack) : NULL;
}

struct ak_net *
ak_net(struct ak_app *app, const char *name)
{
	struct dev *d = find_dev(app, name, AK_SIG_NET);

	return d && d->net ? ak_net_front_net(d->net) : NULL;
}

struct ak_loop *
ak_app_loop(struct ak_app *app)
{
	return app->loop;
}

const char *
ak_app_name(const struct ak_app *app)
{
	return app->desc->name;
}

static void
notify(struct ak_app *app, const char *line)
{
	char buf[512];
	int n;

	if (app->notify_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(buf) &&
	    write(app->notify_fd, buf, (size_t)n) < 0)
		ring_log(RING_LOG_WARN, "msg=\"notify failed\" errno=%d", errno);
}

void
ak_status(struct ak_app *app, const char *text)
{
	char buf[480];

	snprintf(buf, sizeof(buf), "STATUS=%s", text);
	notify(app, buf);
}

static int
open_inproc(struct ak_app *app, struct dev *d)
{
	switch (d->d->sig) {
	case AK_SIG_TIME:
		return ak_inproc_time_open(app->loop, &d->time);
	case AK_SIG_PCLOCK:
		return ak_inproc_pclock_open(&d->pclock);
	case AK_SIG_MCLOCK:
		return ak_inproc_mclock_open(&d->mclock);
	default:
		fprintf(stderr, "%s: device '%s': no in-process implementation of %s yet\n",
			app->desc->name, d->d->name, sig_names[d->d->sig]);
		return -ENOSYS;
	}
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * Deploy mode (MORGANA_DEVICES=xen): the toolstack (xl) writes the
 * domain's own device/<type>/<n> with no name or signature keys, so the
 * k-th device of a type in the application's description takes the k-th
 * device id of that type, in numeric order (net0 -> device/vif/0).
 */
static int
find_devid_by_order(struct ak_app *app, struct dev *d, unsigned *devid)
{
	const char *type = sig_types[d->d->sig];
	char dir[64], **names = NULL;
	unsigned n = 0, k = 0, m = 0, *ids;
	int rc;

	for (struct dev *e = app->devs; e != d; e++)
		if (strcmp(sig_types[e->d->sig], type) == 0)
			k++;
	snprintf(dir, sizeof(dir), "device/%s", type);
	rc = ring_store_directory(app->st, RING_XBT_NULL, dir, &names, &n);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		ring_store_free_names(names, n);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		char *end;
		unsigned long id = strtoul(names[i], &end, 10);

		if (*end == '\0' && end != names[i] && id <= 0xffff)
			ids[m++] = (unsigned)id;
	}
	ring_store_free_names(names, n);
	qsort(ids, m, sizeof(*ids), cmp_uint);
	rc = -ENOENT;
	if (k < m) {
		*devid = ids[k];
		rc = 0;
	} else {
		fprintf(stderr, "%s: device '%s' is %s number %u, but the domain has %u under %s (MORGANA_DEVICES=xen)\n",
			app->desc->name, d->d->name, type, k, m, dir);
	}
	free(ids);
	return rc;
}

/* Find device/<type>/<n> whose name key is d's name; check signature. */
static int
find_devid(struct ak_app *app, struct dev *d, unsigned *devid)
{
	const char *type = sig_types[d->d->sig];
	char dir[64], p[192], **names = NULL;
	unsigned n = 0;
	int rc, found = -ENOENT;

	snprintf(dir, sizeof(dir), "device/%s", type);
	rc = ring_store_directory(app->st, RING_XBT_NULL, dir, &names, &n);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	for (unsigned i = 0; i < n && found == -ENOENT; i++) {
		char *v = NULL, *end;
		unsigned long id;

		snprintf(p, sizeof(p), "%s/%s/name", dir, names[i]);
		if (ring_store_read(app->st, RING_XBT_NULL, p, &v, NULL) < 0)
			continue;
		if (strcmp(v, d->d->name) != 0) {
			free(v);
			continue;
		}
		free(v);
		id = strtoul(names[i], &end, 10);
		if (*end || id > 0xffff)
			continue;
		snprintf(p, sizeof(p), "%s/%s/signature", dir, names[i]);
		if (ring_store_read(app->st, RING_XBT_NULL, p, &v, NULL) < 0 ||
		    strcmp(v, sig_names[d->d->sig]) != 0) {
			fprintf(stderr, "%s: device '%s' (%s/%s) has signature %s, but the application expects %s\n",
				app->desc->name, d->d->name, dir, names[i],
				v ? v : "(none)", sig_names[d->d->sig]);
			found = -EINVAL;
		} else {
			*devid = (unsigned)id;
			found = 0;
		}
		free(v);
	}
	ring_store_free_names(names, n);
	if (found == -ENOENT)
		fprintf(stderr, "%s: no device named '%s' under %s (is it in compose.yaml's app.devices?)\n",
			app->desc->name, d->d->name, dir);
	return found;
}

static int
open_ring(struct ak_app *app, struct dev *d)
{
	unsigned devid;
	int rc;

	rc = app->by_order ? find_devid_by_order(app, d, &devid)
			   : find_devid(app, d, &devid);
	if (rc < 0)
		return rc;
	switch (d->d->sig) {
	case AK_SIG_TIME:
	case AK_SIG_PCLOCK:
	case AK_SIG_MCLOCK:
		rc = ak_clock_front_open(app->loop, app->xb, devid, d->d->sig,
					 &d->clock);
		if (rc < 0)
			fprintf(stderr, "%s: device '%s': %s\n", app->desc->name,
				d->d->name, ak_strerror(rc));
		return rc;
	case AK_SIG_KV_RO:
	case AK_SIG_KV_RW:
		rc = ak_kv_front_open(app->loop, app->xb, devid, d->d->sig,
				      &d->kvf);
		if (rc < 0)
			fprintf(stderr, "%s: device '%s': %s\n", app->desc->name,
				d->d->name, ak_strerror(rc));
		return rc;
	case AK_SIG_STACK:
		rc = ak_stack_front_open(app->loop, app->xb, devid, &d->stack);
		if (rc < 0)
			fprintf(stderr, "%s: device '%s': %s\n", app->desc->name,
				d->d->name, ak_strerror(rc));
		return rc;
	case AK_SIG_NET:
		rc = ak_net_front_open(app->loop, app->xb, devid, &d->net);
		if (rc < 0)
			fprintf(stderr, "%s: device '%s': %s\n", app->desc->name,
				d->d->name, ak_strerror(rc));
		return rc;
	default:
		fprintf(stderr, "%s: device '%s': unknown signature %d\n",
			app->desc->name, d->d->name, (int)d->d->sig);
		return -EINVAL;
	}
}

static bool
all_ready(struct ak_app *app)
{
	for (size_t i = 0; i < app->desc->n_devices; i++)
		if ((app->devs[i].clock &&
		     !ak_clock_front_ready(app->devs[i].clock)) ||
		    (app->devs[i].kvf && !ak_kv_front_ready(app->devs[i].kvf)) ||
		    (app->devs[i].stack &&
		     !ak_stack_front_ready(app->devs[i].stack)) ||
		    (app->devs[i].net && !ak_net_front_ready(app->devs[i].net)))
			return false;
	return true;
}

static void
on_signal(void *arg, int fd, unsigned revents)
{
	struct ak_app *app = arg;
	struct signalfd_siginfo si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		app->signo = (int)si.ssi_signo;
}

static int
start_task(void *arg)
{
	struct ak_app *app = arg;

	return app->desc->start(app);
}

static void
app_free(struct ak_app *app)
{
	for (size_t i = 0; app->devs && i < app->desc->n_devices; i++) {
		struct dev *d = &app->devs[i];

		ak_clock_front_close(d->clock);
		ak_kv_front_close(d->kvf);
		ak_stack_front_close(d->stack);
		ak_net_front_close(d->net);
		ak_time_free(d->time);
		ak_pclock_free(d->pclock);
		ak_mclock_free(d->mclock);
	}
	ak_xb_glue_close(app->glue);
	ring_xenbus_close(app->xb);
	ring_store_close(app->st);
	ak_loop_close(app->loop);
	free(app->devs);
	free(app->keys);
}

int
ak_main(const struct ak_app_desc *desc, int argc, char **argv)
{
	struct ak_app app = { .desc = desc, .notify_fd = -1 };
	struct ak_watch *sigw = NULL;
	struct ak_task *task = NULL;
	const char *mode = getenv("MORGANA_DEVICES"), *nfd;
	bool inproc;
	sigset_t set;
	int rc, sfd = -1, status = 1;

	if (desc == NULL || desc->sz < sizeof(*desc) || desc->name == NULL ||
	    desc->start == NULL) {
		fprintf(stderr, "ak_main: bad application description\n");
		return 2;
	}
	ring_log_set_name(getenv("MORGANA_SERVICE") ? getenv("MORGANA_SERVICE")
						    : desc->name);
	app.keys = calloc(desc->n_keys + 1, sizeof(*app.keys));
	app.devs = calloc(desc->n_devices + 1, sizeof(*app.devs));
	if (app.keys == NULL || app.devs == NULL) {
		app_free(&app);
		return 1;
	}
	for (size_t i = 0; i < desc->n_keys; i++)
		app.keys[i].d = &desc->keys[i];
	for (size_t i = 0; i < desc->n_devices; i++)
		app.devs[i].d = &desc->devices[i];
	if ((rc = parse_keys(&app, argc, argv)) != 0) {
		app_free(&app);
		return rc == 1 ? 0 : 2;
	}
	if ((nfd = getenv("NOTIFY_FD")) != NULL) {
		int64_t v;
		const char *why;

		if (parse_int(nfd, &v, &why) == 0 && v >= 0 && v < 65536)
			app.notify_fd = (int)v;
	}
	inproc = mode && !strcmp(mode, "inproc");
	app.by_order = mode && !strcmp(mode, "xen");
	if (mode && !inproc && !app.by_order && strcmp(mode, "store") != 0) {
		fprintf(stderr, "%s: MORGANA_DEVICES must be inproc, store or xen, not \"%s\"\n",
			desc->name, mode);
		app_free(&app);
		return 2;
	}
	if ((rc = ak_loop_open(&app.loop)) < 0) {
		fprintf(stderr, "%s: event loop: %s\n", desc->name, ak_strerror(rc));
		app_free(&app);
		return 1;
	}
	/* SIGTERM/SIGINT through the loop, so shutdown is an ordinary event. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) >= 0)
		ak_loop_watch(app.loop, sfd, POLLIN, on_signal, &app, &sigw);
	if (!inproc && desc->n_devices > 0) {
		if ((rc = ring_store_open(NULL, &app.st)) < 0 ||
		    (rc = ring_xenbus_open(app.st, &app.xb)) < 0) {
			fprintf(stderr, "%s: cannot reach the store (%s): %s; set MORGANA_DEVICES=inproc to run without daemons\n",
				desc->name, getenv("XENSTORED_PATH") ?
				getenv("XENSTORED_PATH") : "XENSTORED_PATH unset",
				ak_strerror(rc));
			goto out;
		}
	}
	for (size_t i = 0; i < desc->n_devices; i++) {
		rc = inproc ? open_inproc(&app, &app.devs[i])
			    : open_ring(&app, &app.devs[i]);
		if (rc < 0)
			goto out;
	}
	if (app.xb && (rc = ak_xb_glue_open(app.loop, app.xb, &app.glue)) < 0)
		goto out;
	while (!all_ready(&app) && app.signo == 0) {
		if (app.glue && ak_xb_glue_failed(app.glue))
			goto out;
		if ((rc = ak_loop_run_once(app.loop, -1)) < 0)
			goto out;
	}
	if (app.signo == 0) {
		notify(&app, "READY=1");
		ring_log(RING_LOG_INFO, "msg=ready devices=%zu mode=%s",
			 desc->n_devices, inproc ? "inproc" :
			 app.by_order ? "xen" : "store");
		if ((rc = ak_task_spawn(app.loop, start_task, &app, 0, &task)) < 0)
			goto out;
		while (!ak_task_done(task, &status) && app.signo == 0)
			if ((rc = ak_loop_run_once(app.loop, -1)) < 0) {
				status = 1;
				break;
			}
	}
	if (app.signo != 0) {
		notify(&app, "STOPPING=1");
		status = 128 + app.signo;
	}
out:
	ak_loop_unwatch(sigw);
	if (task && ak_task_done(task, NULL))
		ak_task_free(task);
	app_free(&app);
	if (sfd >= 0)
		close(sfd);
	return status;
}
