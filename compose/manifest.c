/*
 * compose.yaml: the schema walk over the YAML tree, then the cross checks
 * (every app device implemented, every device used once, signatures
 * served by their implementation) and the service start order.
 *
 * Errors are collected rather than fatal; a part that failed to parse is
 * marked bad so the cross checks skip it instead of piling follow-on
 * errors onto one typo.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/diag.h"
#include "compose/manifest.h"
#include "compose/schema.h"
#include "compose/ytree.h"

#define NAME_MAX_LEN 63
#define MAP_MAX_ENTRIES 256
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sig_names[] = {
	"NET", "STACK", "KV_RO", "KV_RW", "PCLOCK", "MCLOCK", "TIME",
};
static const char *const impl_names[] = { "netd", "tcpipd", "kvd", "clockd" };
static const char *const backend_names[] = { "tap", "vswitch", "xdp" };
static const char *const net_names[] = { "socket", "direct" };
static const char *const store_names[] = {
	"dir", "pack", "tar", "sqlite", "sealed",
};
static const char *const type_names[] = {
	"string", "int", "bool", "ipv4", "ipv4_prefix",
};
static const char *const stage_names[] = { "boot", "configure" };
static const char *const target_names[] = { "unix", "xen" };

#define ENUM_NAME(tab, v) \
	((size_t)(v) < ARRAY_LEN(tab) ? tab[(size_t)(v)] : "?")
const char *compose_sig_name(enum compose_sig s) { return ENUM_NAME(sig_names, s); }
const char *compose_impl_name(enum compose_impl i) { return ENUM_NAME(impl_names, i); }
const char *compose_netd_backend_name(enum compose_netd_backend b) { return ENUM_NAME(backend_names, b); }
const char *compose_tcpip_net_name(enum compose_tcpip_net n) { return ENUM_NAME(net_names, n); }
const char *compose_kv_store_name(enum compose_kv_store s) { return ENUM_NAME(store_names, s); }
const char *compose_key_type_name(enum compose_key_type t) { return ENUM_NAME(type_names, t); }
const char *compose_stage_name(enum compose_stage s) { return ENUM_NAME(stage_names, s); }
const char *compose_target_name(enum compose_target t) { return ENUM_NAME(target_names, t); }

/* Device fields; which apply to which impl is in impl_fields. */
enum dfield {
	DF_IMPL, DF_RESTART, DF_BACKEND, DF_IFNAME, DF_MTU, DF_NET, DF_OVER,
	DF_IPV4, DF_GATEWAY, DF_STORE, DF_PATH, DF_KEY_FILE, DF_ALLOW, DF_N,
};
static const char *const dfield_names[DF_N] = {
	"impl", "restart", "backend", "ifname", "mtu", "net", "over", "ipv4",
	"gateway", "store", "path", "key_file", "allow",
};
static const unsigned impl_fields[] = {
	[COMPOSE_IMPL_NETD] = 1u << DF_BACKEND | 1u << DF_IFNAME | 1u << DF_MTU,
	[COMPOSE_IMPL_TCPIPD] = 1u << DF_NET | 1u << DF_OVER | 1u << DF_IPV4 |
				1u << DF_GATEWAY | 1u << DF_ALLOW,
	[COMPOSE_IMPL_KVD] = 1u << DF_STORE | 1u << DF_PATH | 1u << DF_OVER |
			     1u << DF_KEY_FILE,
	[COMPOSE_IMPL_CLOCKD] = 0,
};
#define DF_COMMON (1u << DF_IMPL | 1u << DF_RESTART)

/* A device while parsing: the public struct plus what the cross checks
 * need (the `over` name and the marks of the fields they blame). */
struct pdev {
	struct compose_device d;
	char *over_name;
	struct compose_ynode *f[DF_N];	/* values, borrowed from the tree */
	struct compose_ynode *k[DF_N];	/* their keys */
	bool ok;			/* impl known, options valid */
};

struct ctx {
	struct compose_diag *d;
	struct compose_manifest *m;
	struct pdev *pdevs;
	size_t n_pdevs;
	bool app_ok;
	bool devs_complete;	/* every devices: entry made it to pdevs */
	bool over_unresolved;	/* some `over` named no device */
	int nomem;
};

static void
err_at(struct ctx *c, const struct compose_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
err_at(struct ctx *c, const struct compose_ynode *n, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	compose_diag_err(c->d, n ? n->line : 0, n ? n->col : 0, "%s", buf);
}

#define hint(c, ...) compose_diag_hint((c)->d, __VA_ARGS__)

static char *
dup_str(struct ctx *c, const char *s)
{
	char *r = strdup(s);

	if (!r)
		c->nomem = 1;
	return r;
}

static void
hint_choices(struct ctx *c, const char *word, const char *const *names,
	     size_t n, const char *what)
{
	const char *s = compose_suggest(word, names, n);
	char list[256];
	size_t off = 0;

	if (s) {
		hint(c, "did you mean '%s'?", s);
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; i < n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "", names[i]);
	hint(c, "%s: %s", what, list);
}

/* YAML 1.1 would read these plain scalars as null; here they are simply
 * "no value", which no field accepts. */
static bool
is_null(const struct compose_ynode *n)
{
	return n->kind == COMPOSE_Y_SCALAR && n->plain &&
	       (!n->str[0] || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
		!strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

/* The string value of a scalar field, or NULL after an error. */
static const char *
scalar(struct ctx *c, const struct compose_ynode *n, const char *field)
{
	if (n->kind != COMPOSE_Y_SCALAR) {
		err_at(c, n, "'%s' must be a string, found %s", field,
		       compose_ytree_kind_name(n));
		return NULL;
	}
	if (is_null(n)) {
		err_at(c, n, "'%s' has no value", field);
		hint(c, "write \"\" for an empty string");
		return NULL;
	}
	return n->str;
}

static int
enum_field(struct ctx *c, const struct compose_ynode *n, const char *field,
	   const char *const *names, size_t count, int *out)
{
	const char *s = scalar(c, n, field);

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	err_at(c, n, "unknown %s '%s'", field, s);
	hint_choices(c, s, names, count, "expected one of");
	return -EINVAL;
}

static bool
is_ident(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/*
 * Check that n is a mapping of distinct string keys.  Duplicates are
 * reported at the later occurrence, whose entry dup[] marks (dup may be
 * NULL when the caller only walks fixed fields).  Returns false if n is not
 * a usable mapping at all.
 */
static bool
check_map(struct ctx *c, const struct compose_ynode *n, const char *what,
	  bool *dup)
{
	if (is_null(n)) {
		err_at(c, n, "%s has no value", what);
		hint(c, "write {} for an empty mapping");
		return false;
	}
	if (n->kind != COMPOSE_Y_MAP) {
		err_at(c, n, "%s must be a mapping, found %s", what,
		       compose_ytree_kind_name(n));
		return false;
	}
	if (n->n / 2 > MAP_MAX_ENTRIES) {
		err_at(c, n, "%s has more than %d entries", what,
		       MAP_MAX_ENTRIES);
		return false;
	}
	for (size_t i = 0; i < n->n; i += 2) {
		const struct compose_ynode *k = n->kids[i];

		if (dup)
			dup[i / 2] = false;
		if (k->kind != COMPOSE_Y_SCALAR) {
			err_at(c, k, "keys in %s must be strings, found %s",
			       what, compose_ytree_kind_name(k));
			return false;
		}
		for (size_t j = 0; j < i; j += 2) {
			if (!strcmp(n->kids[j]->str, k->str)) {
				err_at(c, k, "duplicate key '%s' (first at %u:%u)",
				       k->str, n->kids[j]->line,
				       n->kids[j]->col);
				if (dup)
					dup[i / 2] = true;
				break;
			}
		}
	}
	return true;
}

/*
 * Walk a mapping with fixed fields: out[i] gets the value node of
 * names[i] (NULL if absent).  Unknown fields are reported with the nearest
 * name, or the list of valid names.  keys (may be NULL) gets the key
 * nodes the same way, for errors about a field rather than its value.
 * Returns false if
 * n is not a mapping.
 */
static bool
fields2(struct ctx *c, const struct compose_ynode *n, const char *what,
	const char *const *names, size_t count, struct compose_ynode **out,
	struct compose_ynode **keys)
{
	bool dup[MAP_MAX_ENTRIES];

	for (size_t i = 0; i < count; i++) {
		out[i] = NULL;
		if (keys)
			keys[i] = NULL;
	}
	if (!check_map(c, n, what, dup))
		return false;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct compose_ynode *k = n->kids[i];
		size_t f;

		if (dup[i / 2])
			continue;
		for (f = 0; f < count && strcmp(k->str, names[f]); f++)
			;
		if (f < count) {
			out[f] = n->kids[i + 1];
			if (keys)
				keys[f] = n->kids[i];
			continue;
		}
		err_at(c, k, "unknown field '%s' in %s", k->str, what);
		hint_choices(c, k->str, names, count, "valid fields");
	}
	return true;
}

static bool
fields(struct ctx *c, const struct compose_ynode *n, const char *what,
       const char *const *names, size_t count, struct compose_ynode **out)
{
	return fields2(c, n, what, names, count, out, NULL);
}

static void
missing(struct ctx *c, const struct compose_ynode *map, const char *field,
	const char *what)
{
	err_at(c, map, "missing '%s' in %s", field, what);
}

/* --- keys ------------------------------------------------------------ */

static int
convert_value(struct ctx *c, const struct compose_ynode *n, const char *key,
	      enum compose_key_type type, struct compose_value *v)
{
	const char *s = scalar(c, n, "default"), *why = NULL;
	char buf[32];
	int rc = 0;

	if (!s)
		return -EINVAL;
	v->type = type;
	switch (type) {
	case COMPOSE_KEY_STRING:
		v->text = dup_str(c, s);
		return 0;
	case COMPOSE_KEY_INT:
		if (!(rc = compose_parse_int(s, &v->i, &why)))
			snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		break;
	case COMPOSE_KEY_BOOL:
		if (!(rc = compose_parse_bool(s, &v->b, &why)))
			snprintf(buf, sizeof(buf), "%s", v->b ? "true" : "false");
		break;
	case COMPOSE_KEY_IPV4:
	case COMPOSE_KEY_IPV4_PREFIX:
		rc = compose_parse_ipv4(s, type == COMPOSE_KEY_IPV4_PREFIX,
					&v->ip, &why);
		if (!rc && type == COMPOSE_KEY_IPV4)
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u",
				 v->ip.addr >> 24, (v->ip.addr >> 16) & 255,
				 (v->ip.addr >> 8) & 255, v->ip.addr & 255);
		else if (!rc)
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u",
				 v->ip.addr >> 24, (v->ip.addr >> 16) & 255,
				 (v->ip.addr >> 8) & 255, v->ip.addr & 255,
				 v->ip.prefix);
		break;
	}
	if (rc) {
		err_at(c, n, "key '%s': default '%s' is not a valid %s: %s", key,
		       s, compose_key_type_name(type), why);
		if (type == COMPOSE_KEY_BOOL)
			hint(c, "write true or false");
		return rc;
	}
	v->text = dup_str(c, buf);
	return 0;
}

static bool
is_env_name(const char *s)
{
	return is_ident(s);
}

static void
parse_key(struct ctx *c, const struct compose_ynode *kn,
	  const struct compose_ynode *vn)
{
	static const char *const names[] = {
		"type", "default", "doc", "env", "stage",
	};
	struct compose_ynode *f[ARRAY_LEN(names)];
	struct compose_manifest *m = c->m;
	struct compose_key *k = &m->keys[m->n_keys];
	char what[NAME_MAX_LEN + 16];
	const char *s;
	int e;

	snprintf(what, sizeof(what), "key '%.*s'", NAME_MAX_LEN, kn->str);
	if (!is_ident(kn->str)) {
		err_at(c, kn, "key name '%s' is not an identifier", kn->str);
		hint(c, "use letters, digits and '_', not starting with a digit, at most %d characters", NAME_MAX_LEN);
		return;
	}
	if (!fields(c, vn, what, names, ARRAY_LEN(names), f))
		return;
	memset(k, 0, sizeof(*k));
	k->mark = (struct compose_mark){ kn->line, kn->col };
	if (!(k->name = dup_str(c, kn->str)))
		return;
	m->n_keys++;	/* owned by m from here on, even if invalid */
	if (!f[0]) {
		missing(c, vn, "type", what);
		hint(c, "one of string, int, bool, ipv4, ipv4_prefix");
	} else if (!enum_field(c, f[0], "type", type_names,
			       ARRAY_LEN(type_names), &e)) {
		k->type = (enum compose_key_type)e;
		if (f[1] && !convert_value(c, f[1], k->name, k->type, &k->def))
			k->has_default = true;
	}
	if (f[2] && (s = scalar(c, f[2], "doc")))
		k->doc = dup_str(c, s);
	else if (!f[2])
		k->doc = dup_str(c, "");
	if (f[3] && (s = scalar(c, f[3], "env"))) {
		if (!is_env_name(s)) {
			err_at(c, f[3], "env '%s' is not a valid environment variable name", s);
			hint(c, "use letters, digits and '_', as in %s_%s", "APP", "PORT");
		} else {
			k->env = dup_str(c, s);
		}
	}
	if (f[4] && !enum_field(c, f[4], "stage", stage_names,
				ARRAY_LEN(stage_names), &e))
		k->stage = (enum compose_stage)e;
}

static void
parse_keys(struct ctx *c, const struct compose_ynode *n)
{
	bool dup[MAP_MAX_ENTRIES];

	if (!check_map(c, n, "'keys'", dup))
		return;
	c->m->keys = calloc(n->n / 2 + 1, sizeof(*c->m->keys));
	if (!c->m->keys) {
		c->nomem = 1;
		return;
	}
	for (size_t i = 0; i < n->n; i += 2) {
		if (dup[i / 2])
			continue;
		parse_key(c, n->kids[i], n->kids[i + 1]);
	}
	/* Two keys must not share one environment variable. */
	for (size_t i = 0; i < c->m->n_keys; i++)
		for (size_t j = 0; j < i; j++)
			if (c->m->keys[i].env && c->m->keys[j].env &&
			    !strcmp(c->m->keys[i].env, c->m->keys[j].env))
				compose_diag_err(c->d, c->m->keys[i].mark.line,
						 c->m->keys[i].mark.col,
						 "keys '%s' and '%s' use the same env '%s'",
						 c->m->keys[j].name,
						 c->m->keys[i].name,
						 c->m->keys[i].env);
}

/* --- app ------------------------------------------------------------- */

static void
parse_app_devices(struct ctx *c, const struct compose_ynode *n)
{
	struct compose_app *a = &c->m->app;
	bool dup[MAP_MAX_ENTRIES];
	int e;

	if (!check_map(c, n, "'app.devices'", dup)) {
		c->app_ok = false;
		return;
	}
	if (!(a->devices = calloc(n->n / 2 + 1, sizeof(*a->devices)))) {
		c->nomem = 1;
		return;
	}
	for (size_t i = 0; i < n->n; i += 2) {
		const struct compose_ynode *k = n->kids[i], *v = n->kids[i + 1];
		struct compose_app_device *ad = &a->devices[a->n_devices];

		if (dup[i / 2]) {
			c->app_ok = false;
			continue;
		}
		if (!is_ident(k->str)) {
			err_at(c, k, "device name '%s' is not an identifier", k->str);
			hint(c, "use letters, digits and '_', not starting with a digit");
			c->app_ok = false;
			continue;
		}
		if (enum_field(c, v, "signature", sig_names,
			       ARRAY_LEN(sig_names), &e)) {
			c->app_ok = false;
			continue;
		}
		ad->sig = (enum compose_sig)e;
		ad->mark = (struct compose_mark){ k->line, k->col };
		ad->device = SIZE_MAX;
		if (!(ad->name = dup_str(c, k->str)))
			return;
		a->n_devices++;
	}
}

static void
parse_app(struct ctx *c, const struct compose_ynode *n)
{
	static const char *const names[] = {
		"sources", "start", "devices", "restart",
	};
	struct compose_ynode *f[ARRAY_LEN(names)];
	struct compose_app *a = &c->m->app;
	const char *s, *why;

	a->restart.policy = COMPOSE_RESTART_NO;
	c->app_ok = true;
	if (!fields(c, n, "'app'", names, ARRAY_LEN(names), f)) {
		c->app_ok = false;
		return;
	}
	if (!f[0]) {
		missing(c, n, "sources", "'app'");
		hint(c, "list the C files, as in sources: [hello.c]");
	} else if (f[0]->kind != COMPOSE_Y_SEQ) {
		err_at(c, f[0], "'sources' must be a list, found %s",
		       compose_ytree_kind_name(f[0]));
		hint(c, "write sources: [%s]",
		     f[0]->kind == COMPOSE_Y_SCALAR ? f[0]->str : "main.c");
	} else if (!f[0]->n) {
		err_at(c, f[0], "'sources' is empty");
	} else if ((a->sources = calloc(f[0]->n, sizeof(char *)))) {
		for (size_t i = 0; i < f[0]->n; i++)
			if ((s = scalar(c, f[0]->kids[i], "sources")) &&
			    (a->sources[a->n_sources] = dup_str(c, s)))
				a->n_sources++;
	} else {
		c->nomem = 1;
	}
	if (!f[1]) {
		missing(c, n, "start", "'app'");
		hint(c, "name the C function that receives the devices, as in start: main_start");
	} else if ((s = scalar(c, f[1], "start"))) {
		if (!is_ident(s))
			err_at(c, f[1], "start '%s' is not a C identifier", s);
		else
			a->start = dup_str(c, s);
	}
	if (f[2])
		parse_app_devices(c, f[2]);
	if (f[3] && (s = scalar(c, f[3], "restart")) &&
	    compose_parse_restart(s, &a->restart, &why)) {
		err_at(c, f[3], "invalid restart '%s': %s", s, why);
	}
}

/* --- devices ----------------------------------------------------------- */

static bool
ifname_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t')
			return false;
	return true;
}

static int
ipv4_field(struct ctx *c, struct compose_ynode *n, const char *field,
	   bool prefix, struct compose_ipv4 *out)
{
	const char *s = scalar(c, n, field), *why;

	if (!s)
		return -EINVAL;
	if (compose_parse_ipv4(s, prefix, out, &why)) {
		err_at(c, n, "invalid %s '%s': %s", field, s, why);
		return -EINVAL;
	}
	return 0;
}

/* A `$name` reference in an allow entry: the key must exist with type t.
 * Returns the name (malloc'd), or NULL after an error. */
static char *
allow_key(struct ctx *c, const struct compose_ynode *n, const char *ref,
	  size_t len, enum compose_key_type t, const char *what)
{
	const char *cands[MAP_MAX_ENTRIES], *s;
	char name[NAME_MAX_LEN + 1];
	size_t nc = 0;

	if (len == 0 || len > NAME_MAX_LEN) {
		err_at(c, n, "invalid allow entry: '$' must be followed by a key name");
		return NULL;
	}
	memcpy(name, ref, len);
	name[len] = '\0';
	for (size_t i = 0; i < c->m->n_keys; i++) {
		const struct compose_key *k = &c->m->keys[i];

		if (strcmp(k->name, name)) {
			if (nc < MAP_MAX_ENTRIES)
				cands[nc++] = k->name;
			continue;
		}
		if (k->type != t) {
			err_at(c, n, "allow: key '%s' is %s, but the %s must be %s",
			       name, compose_key_type_name(k->type), what,
			       compose_key_type_name(t));
			return NULL;
		}
		return dup_str(c, name);
	}
	err_at(c, n, "allow: no key named '%s'", name);
	if ((s = compose_suggest(name, cands, nc)))
		hint(c, "did you mean '%s'?", s);
	else
		hint(c, "declare it under 'keys:' (type %s)",
		     compose_key_type_name(t));
	return NULL;
}

/* One allow entry, "ADDR:PORT": ADDR a dotted quad or $ipv4_key, PORT a
 * number, `*` or $int_key. */
static bool
allow_entry(struct ctx *c, const struct compose_ynode *n,
	    struct compose_allow *a)
{
	const char *s = scalar(c, n, "allow"), *colon, *why;
	struct compose_ipv4 ip;
	char host[NAME_MAX_LEN + 2];
	int64_t v;

	memset(a, 0, sizeof(*a));
	a->mark = (struct compose_mark){ n->line, n->col };
	if (!s)
		return false;
	if (!(colon = strrchr(s, ':')) || colon == s ||
	    (size_t)(colon - s) >= sizeof(host)) {
		err_at(c, n, "invalid allow entry '%s': expected ADDR:PORT", s);
		hint(c, "as in 127.0.0.1:8080, 0.0.0.0:*, or $addr:$port naming keys");
		return false;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '$') {
		if (!(a->addr_key = allow_key(c, n, host + 1, strlen(host + 1),
					      COMPOSE_KEY_IPV4, "address")))
			return false;
	} else if (compose_parse_ipv4(host, false, &ip, &why)) {
		err_at(c, n, "invalid allow address '%s': %s", host, why);
		return false;
	} else {
		a->addr = ip.addr;
	}
	if (colon[1] == '$') {
		if (!(a->port_key = allow_key(c, n, colon + 2, strlen(colon + 2),
					      COMPOSE_KEY_INT, "port")))
			return false;
	} else if (!strcmp(colon + 1, "*")) {
		a->any_port = true;
	} else if (compose_parse_int(colon + 1, &v, &why)) {
		err_at(c, n, "invalid allow port '%s': %s", colon + 1, why);
		return false;
	} else if (v < 0 || v > 65535) {
		err_at(c, n, "invalid allow port '%s': must be from 0 to 65535",
		       colon + 1);
		return false;
	} else {
		a->port = (uint16_t)v;
	}
	return true;
}

static bool
parse_allow(struct ctx *c, const struct compose_ynode *n,
	    struct compose_device *d)
{
	bool ok = true;

	if (n->kind != COMPOSE_Y_SEQ) {
		err_at(c, n, "'allow' must be a list, found %s",
		       compose_ytree_kind_name(n));
		hint(c, "write allow: [\"127.0.0.1:8080\"]");
		return false;
	}
	if (!(d->u.tcpipd.allow = calloc(n->n + 1, sizeof(*d->u.tcpipd.allow)))) {
		c->nomem = 1;
		return false;
	}
	for (size_t i = 0; i < n->n; i++) {
		struct compose_allow *a = &d->u.tcpipd.allow[d->u.tcpipd.n_allow];

		if (allow_entry(c, n->kids[i], a)) {
			d->u.tcpipd.n_allow++;
		} else {
			free(a->addr_key);
			free(a->port_key);
			ok = false;
		}
	}
	if (n->n > 64) {
		err_at(c, n, "'allow' has %zu entries; tcpipd takes at most 64",
		       n->n);
		ok = false;
	}
	return ok;
}

/* Validate the impl-specific options of one device whose impl is known. */
static bool
parse_device_options(struct ctx *c, struct pdev *p, const char *what)
{
	struct compose_device *d = &p->d;
	struct compose_ynode **f = p->f;
	const char *s;
	int e;
	int64_t v;
	bool ok = true;

	switch (d->impl) {
	case COMPOSE_IMPL_NETD:
		d->u.netd.backend = COMPOSE_NETD_TAP;
		d->u.netd.mtu = 1500;
		if (f[DF_BACKEND]) {
			if (enum_field(c, f[DF_BACKEND], "backend", backend_names,
				       ARRAY_LEN(backend_names), &e))
				return false;
			d->u.netd.backend = (enum compose_netd_backend)e;
		}
		if (f[DF_IFNAME] && (s = scalar(c, f[DF_IFNAME], "ifname"))) {
			if (d->u.netd.backend == COMPOSE_NETD_VSWITCH) {
				err_at(c, p->k[DF_IFNAME], "'ifname' does not apply to backend vswitch");
				ok = false;
			} else if (!ifname_ok(s)) {
				err_at(c, f[DF_IFNAME], "invalid ifname '%s': 1 to 15 characters, no '/', ':' or spaces", s);
				ok = false;
			} else {
				d->u.netd.ifname = dup_str(c, s);
			}
		} else if (f[DF_IFNAME]) {
			ok = false;
		} else if (d->u.netd.backend == COMPOSE_NETD_XDP) {
			missing(c, f[DF_IMPL], "ifname", what);
			hint(c, "backend xdp attaches to an existing interface, as in ifname: veth0");
			ok = false;
		}
		if (f[DF_MTU] && (s = scalar(c, f[DF_MTU], "mtu"))) {
			const char *why = "must be from 68 to 65535";

			if (compose_parse_int(s, &v, &why) || v < 68 || v > 65535) {
				err_at(c, f[DF_MTU], "invalid mtu '%s': %s", s, why);
				ok = false;
			} else {
				d->u.netd.mtu = (unsigned)v;
			}
		} else if (f[DF_MTU]) {
			ok = false;
		}
		break;
	case COMPOSE_IMPL_TCPIPD:
		d->u.tcpipd.net = COMPOSE_NET_SOCKET;
		if (f[DF_NET]) {
			if (enum_field(c, f[DF_NET], "net", net_names,
				       ARRAY_LEN(net_names), &e))
				return false;
			d->u.tcpipd.net = (enum compose_tcpip_net)e;
		}
		if (f[DF_ALLOW] && !parse_allow(c, f[DF_ALLOW], d))
			ok = false;
		if (d->u.tcpipd.net == COMPOSE_NET_SOCKET) {
			static const int direct_only[] = {
				DF_OVER, DF_IPV4, DF_GATEWAY,
			};

			for (size_t i = 0; i < ARRAY_LEN(direct_only); i++) {
				if (!f[direct_only[i]])
					continue;
				err_at(c, p->k[direct_only[i]],
				       "'%s' applies only to net: direct",
				       dfield_names[direct_only[i]]);
				hint(c, "net: socket uses the host's own network stack");
				ok = false;
			}
			break;
		}
		if (!f[DF_OVER]) {
			missing(c, f[DF_IMPL], "over", what);
			hint(c, "net: direct runs over a NET device; name a netd device, as in over: net0");
			ok = false;
		} else if ((s = scalar(c, f[DF_OVER], "over"))) {
			p->over_name = dup_str(c, s);
		} else {
			ok = false;
		}
		if (f[DF_IPV4]) {
			if (ipv4_field(c, f[DF_IPV4], "ipv4", true,
				       &d->u.tcpipd.ipv4))
				ok = false;
			else
				d->u.tcpipd.has_ipv4 = true;
		}
		if (f[DF_GATEWAY]) {
			if (ipv4_field(c, f[DF_GATEWAY], "gateway", false,
				       &d->u.tcpipd.gateway)) {
				ok = false;
			} else if (!d->u.tcpipd.has_ipv4) {
				err_at(c, f[DF_GATEWAY], "'gateway' needs a static 'ipv4' address");
				ok = false;
			} else {
				uint32_t mask = d->u.tcpipd.ipv4.prefix ?
					0xffffffffu << (32 - d->u.tcpipd.ipv4.prefix) : 0;

				d->u.tcpipd.has_gateway = true;
				if ((d->u.tcpipd.gateway.addr & mask) !=
				    (d->u.tcpipd.ipv4.addr & mask)) {
					err_at(c, f[DF_GATEWAY], "gateway is outside the network of ipv4");
					ok = false;
				}
			}
		}
		break;
	case COMPOSE_IMPL_KVD:
		if (!f[DF_STORE]) {
			missing(c, f[DF_IMPL], "store", what);
			hint(c, "one of dir, pack, tar, sqlite, sealed");
			return false;
		}
		if (enum_field(c, f[DF_STORE], "store", store_names,
			       ARRAY_LEN(store_names), &e))
			return false;
		d->u.kvd.store = (enum compose_kv_store)e;
		if (d->u.kvd.store == COMPOSE_KV_SEALED) {
			if (f[DF_PATH]) {
				err_at(c, p->k[DF_PATH], "'path' does not apply to store sealed");
				hint(c, "a sealed store keeps its data in the store named by 'over'");
				ok = false;
			}
			if (!f[DF_OVER]) {
				missing(c, f[DF_STORE], "over", what);
				hint(c, "name the kvd device with store: sqlite that holds the sealed values");
				ok = false;
			} else if ((s = scalar(c, f[DF_OVER], "over"))) {
				p->over_name = dup_str(c, s);
			} else {
				ok = false;
			}
			if (!f[DF_KEY_FILE]) {
				missing(c, f[DF_STORE], "key_file", what);
				hint(c, "a file holding the 32-byte secret key");
				ok = false;
			} else if ((s = scalar(c, f[DF_KEY_FILE], "key_file"))) {
				d->u.kvd.key_file = dup_str(c, s);
			} else {
				ok = false;
			}
			break;
		}
		if (f[DF_OVER]) {
			err_at(c, p->k[DF_OVER], "'over' applies only to store sealed");
			ok = false;
		}
		if (f[DF_KEY_FILE] && d->u.kvd.store != COMPOSE_KV_SQLITE) {
			err_at(c, p->k[DF_KEY_FILE], "'key_file' applies only to stores sealed and sqlite");
			ok = false;
		} else if (f[DF_KEY_FILE]) {
			/* sqlite: the key `configure --kv_rw sealed` uses. */
			if ((s = scalar(c, f[DF_KEY_FILE], "key_file")))
				d->u.kvd.key_file = dup_str(c, s);
			else
				ok = false;
		}
		if (!f[DF_PATH] && d->u.kvd.store == COMPOSE_KV_SQLITE) {
			/* A database nobody needs to look at: the project's
			 * state directory, which `up` creates. */
			char def[NAME_MAX_LEN + 32];

			snprintf(def, sizeof(def), COMPOSE_STATE_DIR "/%s.sqlite",
				 d->name);
			d->u.kvd.path = dup_str(c, def);
		} else if (!f[DF_PATH]) {
			missing(c, f[DF_STORE], "path", what);
			hint(c, "store %s reads from a path relative to the project directory",
			     compose_kv_store_name(d->u.kvd.store));
			ok = false;
		} else if ((s = scalar(c, f[DF_PATH], "path"))) {
			if (!*s) {
				err_at(c, f[DF_PATH], "'path' is empty");
				ok = false;
			} else {
				d->u.kvd.path = dup_str(c, s);
			}
		} else {
			ok = false;
		}
		break;
	case COMPOSE_IMPL_CLOCKD:
		break;
	}
	return ok;
}

static void
parse_device(struct ctx *c, const struct compose_ynode *kn,
	     const struct compose_ynode *vn)
{
	struct pdev *p = &c->pdevs[c->n_pdevs];
	struct compose_device *d = &p->d;
	char what[NAME_MAX_LEN + 16];
	const char *s, *why;
	int e;

	snprintf(what, sizeof(what), "device '%.*s'", NAME_MAX_LEN, kn->str);
	if (!is_ident(kn->str)) {
		err_at(c, kn, "device name '%s' is not an identifier", kn->str);
		hint(c, "use letters, digits and '_', not starting with a digit");
		c->devs_complete = false;
		return;
	}
	if (!fields2(c, vn, what, dfield_names, DF_N, p->f, p->k)) {
		c->devs_complete = false;
		return;
	}
	memset(d, 0, sizeof(*d));
	d->mark = (struct compose_mark){ kn->line, kn->col };
	d->over = SIZE_MAX;
	d->consumer = SIZE_MAX;
	d->restart.policy = COMPOSE_RESTART_ON_FAILURE;
	if (!(d->name = dup_str(c, kn->str)))
		return;
	c->n_pdevs++;
	if (p->f[DF_RESTART] && (s = scalar(c, p->f[DF_RESTART], "restart")) &&
	    compose_parse_restart(s, &d->restart, &why))
		err_at(c, p->f[DF_RESTART], "invalid restart '%s': %s", s, why);
	if (!p->f[DF_IMPL]) {
		const struct compose_app *a = &c->m->app;

		missing(c, vn, "impl", what);
		for (size_t i = 0; i < a->n_devices; i++) {
			if (strcmp(a->devices[i].name, d->name))
				continue;
			switch (a->devices[i].sig) {
			case COMPOSE_SIG_NET: hint(c, "%s is NET: add impl: netd", d->name); break;
			case COMPOSE_SIG_STACK: hint(c, "%s is STACK: add impl: tcpipd", d->name); break;
			case COMPOSE_SIG_KV_RO:
			case COMPOSE_SIG_KV_RW: hint(c, "%s is %s: add impl: kvd", d->name, compose_sig_name(a->devices[i].sig)); break;
			default: hint(c, "%s is %s: add impl: clockd", d->name, compose_sig_name(a->devices[i].sig)); break;
			}
			return;
		}
		hint(c, "one of netd, tcpipd, kvd, clockd");
		return;
	}
	if (enum_field(c, p->f[DF_IMPL], "impl", impl_names,
		       ARRAY_LEN(impl_names), &e))
		return;
	d->impl = (enum compose_impl)e;
	p->ok = true;
	/* Fields that exist but belong to another implementation. */
	for (int i = 0; i < DF_N; i++) {
		if (!p->f[i] || ((DF_COMMON | impl_fields[d->impl]) & (1u << i)))
			continue;
		compose_diag_err(c->d, p->k[i]->line, p->k[i]->col,
				 "field '%s' does not apply to impl %s",
				 dfield_names[i], impl_names[d->impl]);
		for (size_t j = 0; j < ARRAY_LEN(impl_names); j++)
			if (impl_fields[j] & (1u << i)) {
				hint(c, "'%s' is an option of impl %s",
				     dfield_names[i], impl_names[j]);
				break;
			}
		p->ok = false;
		p->f[i] = NULL;
	}
	if (!parse_device_options(c, p, what))
		p->ok = false;
}

static void
parse_devices(struct ctx *c, const struct compose_ynode *n)
{
	bool dup[MAP_MAX_ENTRIES];

	if (!check_map(c, n, "'devices'", dup)) {
		c->devs_complete = false;
		return;
	}
	if (!(c->pdevs = calloc(n->n / 2 + 1, sizeof(*c->pdevs)))) {
		c->nomem = 1;
		return;
	}
	for (size_t i = 0; i < n->n; i += 2) {
		if (dup[i / 2])
			c->devs_complete = false;
		else
			parse_device(c, n->kids[i], n->kids[i + 1]);
	}
}

/* --- cross checks -------------------------------------------------------- */

static bool
serves(enum compose_impl impl, enum compose_sig sig)
{
	switch (impl) {
	case COMPOSE_IMPL_NETD: return sig == COMPOSE_SIG_NET;
	case COMPOSE_IMPL_TCPIPD: return sig == COMPOSE_SIG_STACK;
	case COMPOSE_IMPL_KVD: return sig == COMPOSE_SIG_KV_RO || sig == COMPOSE_SIG_KV_RW;
	case COMPOSE_IMPL_CLOCKD:
		return sig == COMPOSE_SIG_PCLOCK || sig == COMPOSE_SIG_MCLOCK ||
		       sig == COMPOSE_SIG_TIME;
	}
	return false;
}

static const char *
impl_for(enum compose_sig sig)
{
	switch (sig) {
	case COMPOSE_SIG_NET: return "netd";
	case COMPOSE_SIG_STACK: return "tcpipd";
	case COMPOSE_SIG_KV_RO:
	case COMPOSE_SIG_KV_RW: return "kvd";
	default: return "clockd";
	}
}

static const char *
impl_serves(enum compose_impl impl)
{
	switch (impl) {
	case COMPOSE_IMPL_NETD: return "NET";
	case COMPOSE_IMPL_TCPIPD: return "STACK";
	case COMPOSE_IMPL_KVD: return "KV_RO and KV_RW";
	case COMPOSE_IMPL_CLOCKD: return "PCLOCK, MCLOCK and TIME";
	}
	return "?";
}

static struct pdev *
find_pdev(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_pdevs; i++)
		if (!strcmp(c->pdevs[i].d.name, name))
			return &c->pdevs[i];
	return NULL;
}

static void
hint_device_name(struct ctx *c, const char *name)
{
	const char *cands[MAP_MAX_ENTRIES];
	const char *s;
	size_t n = 0;

	for (size_t i = 0; i < c->n_pdevs && n < MAP_MAX_ENTRIES; i++)
		cands[n++] = c->pdevs[i].d.name;
	if ((s = compose_suggest(name, cands, n)))
		hint(c, "did you mean '%s'?", s);
}

/* Check that device p, consumed as `sig`, is served by its impl. */
static void
check_served(struct ctx *c, struct pdev *p, enum compose_sig sig)
{
	struct compose_device *d = &p->d;

	d->sig = sig;
	if (!p->ok)
		return;
	if (!serves(d->impl, sig)) {
		err_at(c, p->f[DF_IMPL], "device '%s' is %s but impl %s serves %s",
		       d->name, compose_sig_name(sig), impl_names[d->impl],
		       impl_serves(d->impl));
		hint(c, "%s is served by impl: %s", compose_sig_name(sig),
		     impl_for(sig));
		p->ok = false;
	} else if (sig == COMPOSE_SIG_KV_RW &&
		   d->u.kvd.store != COMPOSE_KV_SQLITE &&
		   d->u.kvd.store != COMPOSE_KV_SEALED &&
		   d->u.kvd.store != COMPOSE_KV_DIR) {
		err_at(c, p->f[DF_STORE], "device '%s' is KV_RW but store %s is read-only",
		       d->name, store_names[d->u.kvd.store]);
		hint(c, "KV_RW needs store: sqlite, sealed or dir");
		p->ok = false;
	}
}

static void
cross_check(struct ctx *c)
{
	struct compose_app *a = &c->m->app;

	/* Consumers: the app first, then devices that run over another. */
	for (size_t i = 0; i < a->n_devices; i++) {
		struct pdev *p = find_pdev(c, a->devices[i].name);

		if (!p && c->devs_complete) {
			compose_diag_err(c->d, a->devices[i].mark.line,
					 a->devices[i].mark.col,
					 "device '%s' has no implementation under 'devices:'",
					 a->devices[i].name);
			hint_device_name(c, a->devices[i].name);
			hint(c, "add it, as in devices: {%s: {impl: %s}}",
			     a->devices[i].name, impl_for(a->devices[i].sig));
			continue;
		}
		if (!p)
			continue;
		p->d.app_uses = true;
		check_served(c, p, a->devices[i].sig);
	}
	for (size_t i = 0; i < c->n_pdevs; i++) {
		struct pdev *p = &c->pdevs[i], *o;
		struct compose_ynode *on = p->f[DF_OVER];
		bool want_net;

		if (!p->over_name)
			continue;
		want_net = p->d.impl == COMPOSE_IMPL_TCPIPD;
		if (!(o = find_pdev(c, p->over_name))) {
			p->ok = false;
			c->over_unresolved = true;
			if (!c->devs_complete)
				continue;
			err_at(c, on, "'over' names device '%s', which is not under 'devices:'",
			       p->over_name);
			hint_device_name(c, p->over_name);
			continue;
		}
		if (o == p) {
			err_at(c, on, "device '%s' cannot run over itself",
			       p->d.name);
			p->ok = false;
			continue;
		}
		if (o->d.app_uses || o->d.consumer != SIZE_MAX) {
			err_at(c, on, "device '%s' is already used by %s%s%s",
			       o->d.name, o->d.app_uses ? "the app" : "device '",
			       o->d.app_uses ? "" : c->pdevs[o->d.consumer].d.name,
			       o->d.app_uses ? "" : "'");
			hint(c, "each device has one user; declare another device for %s",
			     p->d.name);
			p->ok = false;
			continue;
		}
		o->d.consumer = i;
		if (!o->ok)
			continue;
		if (want_net && o->d.impl != COMPOSE_IMPL_NETD) {
			err_at(c, on, "'over' of a tcpipd device must name a netd device; '%s' is %s",
			       o->d.name, impl_names[o->d.impl]);
			p->ok = false;
		} else if (!want_net && (o->d.impl != COMPOSE_IMPL_KVD ||
					 o->d.u.kvd.store != COMPOSE_KV_SQLITE)) {
			err_at(c, on, "'over' of a sealed store must name a kvd device with store: sqlite; '%s' is not",
			       o->d.name);
			p->ok = false;
		} else if (!want_net && o->f[DF_KEY_FILE]) {
			err_at(c, o->k[DF_KEY_FILE], "device '%s' holds the values of sealed device '%s': its key_file has no use",
			       o->d.name, p->d.name);
			hint(c, "the key of a sealed store is the sealed device's key_file; remove this one");
			o->ok = false;
		} else {
			o->d.sig = want_net ? COMPOSE_SIG_NET : COMPOSE_SIG_KV_RW;
		}
	}
	/* A typo in app.devices or in an `over` would also make its target
	 * look unused: one error is enough. */
	for (size_t i = 0; i < c->n_pdevs && c->app_ok && !c->over_unresolved; i++) {
		struct pdev *p = &c->pdevs[i];

		if (p->d.app_uses || p->d.consumer != SIZE_MAX)
			continue;
		compose_diag_err(c->d, p->d.mark.line, p->d.mark.col,
				 "device '%s' is not used: it is not in app.devices and no device runs over it",
				 p->d.name);
		hint(c, "add '%s: SIGNATURE' to app.devices, or remove it",
		     p->d.name);
	}
	if (c->m->name) {
		struct pdev *p = find_pdev(c, c->m->name);

		if (p)
			compose_diag_err(c->d, p->d.mark.line, p->d.mark.col,
					 "device '%s' has the same name as the app; services are named after both",
					 p->d.name);
	}
}

/* --- the model ------------------------------------------------------------- */

static int
cmp_pdev(const void *a, const void *b)
{
	return strcmp(((const struct pdev *)a)->d.name,
		      ((const struct pdev *)b)->d.name);
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct compose_key *)a)->name,
		      ((const struct compose_key *)b)->name);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sort devices by name, resolve every name to an index, and order the
 * services: Kahn's algorithm taking the smallest ready name each time, so
 * the order is a stable function of the manifest, then the app.
 */
static int
finish(struct ctx *c)
{
	struct compose_manifest *m = c->m;
	size_t n = c->n_pdevs, *pos, done = 0;
	bool *placed;

	/* qsort's pointer must not be NULL even for zero elements. */
	if (m->n_keys)
		qsort(m->keys, m->n_keys, sizeof(*m->keys), cmp_key);
	if (n)
		qsort(c->pdevs, n, sizeof(*c->pdevs), cmp_pdev);
	if (!(m->devices = calloc(n + 1, sizeof(*m->devices))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m->devices[i] = c->pdevs[i].d;
		c->pdevs[i].d.name = NULL;	/* moved */
		memset(&c->pdevs[i].d.u, 0, sizeof(c->pdevs[i].d.u));
	}
	m->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		struct compose_device *d = &m->devices[i];

		d->consumer = SIZE_MAX;
		if (c->pdevs[i].over_name)
			d->over = (size_t)(compose_manifest_device(m, c->pdevs[i].over_name) - m->devices);
	}
	for (size_t i = 0; i < n; i++)
		if (m->devices[i].over != SIZE_MAX)
			m->devices[m->devices[i].over].consumer = i;
	for (size_t i = 0; i < m->app.n_devices; i++)
		m->app.devices[i].device = (size_t)(compose_manifest_device(m, m->app.devices[i].name) - m->devices);

	m->services = calloc(n + 1, sizeof(*m->services));
	pos = calloc(n + 1, sizeof(*pos));
	placed = calloc(n + 1, sizeof(*placed));
	if (!m->services || !pos || !placed) {
		free(pos);
		free(placed);
		return -ENOMEM;
	}
	/* Devices are sorted by name, so the first ready one is the
	 * smallest; `over` chains are acyclic after cross_check. */
	while (done < n) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!placed[i] && (m->devices[i].over == SIZE_MAX ||
					   placed[m->devices[i].over]))
				break;
		if (i == n)
			break;	/* unreachable: cycles are rejected */
		placed[i] = true;
		pos[i] = done;
		m->services[done].name = m->devices[i].name;
		m->services[done].device = i;
		if (m->devices[i].over != SIZE_MAX) {
			if (!(m->services[done].deps = malloc(sizeof(size_t))))
				goto nomem;
			m->services[done].deps[0] = pos[m->devices[i].over];
			m->services[done].n_deps = 1;
		}
		done++;
	}
	m->services[done].name = m->name;
	m->services[done].is_app = true;
	m->services[done].device = SIZE_MAX;
	if (!(m->services[done].deps = calloc(m->app.n_devices + 1, sizeof(size_t))))
		goto nomem;
	for (size_t i = 0; i < m->app.n_devices; i++)
		m->services[done].deps[i] = pos[m->app.devices[i].device];
	m->services[done].n_deps = m->app.n_devices;
	if (m->app.n_devices)
		qsort(m->services[done].deps, m->app.n_devices, sizeof(size_t),
		      cmp_size);
	m->n_services = done + 1;
	free(pos);
	free(placed);
	return 0;
nomem:
	m->n_services = done + 1;
	free(pos);
	free(placed);
	return -ENOMEM;
}

static void
free_device(struct compose_device *d)
{
	free(d->name);
	switch (d->impl) {
	case COMPOSE_IMPL_NETD: free(d->u.netd.ifname); break;
	case COMPOSE_IMPL_TCPIPD:
		for (size_t i = 0; i < d->u.tcpipd.n_allow; i++) {
			free(d->u.tcpipd.allow[i].addr_key);
			free(d->u.tcpipd.allow[i].port_key);
		}
		free(d->u.tcpipd.allow);
		break;
	case COMPOSE_IMPL_KVD:
		free(d->u.kvd.path);
		free(d->u.kvd.key_file);
		break;
	default: break;
	}
}

void
compose_manifest_free(struct compose_manifest *m)
{
	if (!m)
		return;
	free(m->file);
	free(m->name);
	for (size_t i = 0; i < m->app.n_sources; i++)
		free(m->app.sources[i]);
	free(m->app.sources);
	free(m->app.start);
	for (size_t i = 0; i < m->app.n_devices; i++)
		free(m->app.devices[i].name);
	free(m->app.devices);
	for (size_t i = 0; i < m->n_keys; i++) {
		free(m->keys[i].name);
		free(m->keys[i].def.text);
		free(m->keys[i].doc);
		free(m->keys[i].env);
	}
	free(m->keys);
	for (size_t i = 0; i < m->n_devices; i++)
		free_device(&m->devices[i]);
	free(m->devices);
	for (size_t i = 0; i < m->n_services; i++)
		free(m->services[i].deps);
	free(m->services);
	free(m);
}

const struct compose_device *
compose_manifest_device(const struct compose_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_devices; i++)
		if (!strcmp(m->devices[i].name, name))
			return &m->devices[i];
	return NULL;
}

const struct compose_key *
compose_manifest_key(const struct compose_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_keys; i++)
		if (!strcmp(m->keys[i].name, name))
			return &m->keys[i];
	return NULL;
}

static bool
project_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      (i && (ch == '_' || ch == '-'))))
			return false;
	}
	return true;
}

static void
parse_top(struct ctx *c, const struct compose_ynode *root)
{
	static const char *const names[] = {
		"name", "app", "keys", "devices", "target",
	};
	struct compose_ynode *f[ARRAY_LEN(names)];
	bool dup[MAP_MAX_ENTRIES];
	const char *s;
	int e;

	if (root->kind != COMPOSE_Y_MAP) {
		err_at(c, root, "a manifest must be a mapping, found %s",
		       compose_ytree_kind_name(root));
		hint(c, "start with 'name:' and 'app:' at column 1");
		return;
	}
	if (!check_map(c, root, "the manifest", dup))
		return;
	/* Docker habits get a pointed message rather than a generic one. */
	{
		for (size_t i = 0; i < root->n; i += 2) {
			const struct compose_ynode *k = root->kids[i];

			if (!strcmp(k->str, "services")) {
				err_at(c, k, "unknown field 'services' in the manifest");
				hint(c, "services are derived from 'devices:': one daemon per device, each naming its impl");
			} else if (!strcmp(k->str, "version")) {
				err_at(c, k, "unknown field 'version' in the manifest");
				hint(c, "there is no format version; remove it");
			}
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		f[i] = NULL;
	{
		for (size_t i = 0; i < root->n; i += 2) {
			const struct compose_ynode *k = root->kids[i];
			size_t j;

			if (k->kind != COMPOSE_Y_SCALAR || dup[i / 2] ||
			    !strcmp(k->str, "services") ||
			    !strcmp(k->str, "version"))
				continue;
			for (j = 0; j < ARRAY_LEN(names) && strcmp(k->str, names[j]); j++)
				;
			if (j < ARRAY_LEN(names)) {
				f[j] = root->kids[i + 1];
				continue;
			}
			err_at(c, k, "unknown field '%s' in the manifest", k->str);
			hint_choices(c, k->str, names, ARRAY_LEN(names), "valid fields");
		}
	}
	if (!f[0]) {
		missing(c, root, "name", "the manifest");
	} else if ((s = scalar(c, f[0], "name"))) {
		if (!project_name_ok(s)) {
			err_at(c, f[0], "invalid name '%s'", s);
			hint(c, "use lowercase letters, digits, '-' and '_', starting with a letter or digit");
		} else {
			c->m->name = dup_str(c, s);
		}
	}
	if (f[4] && !enum_field(c, f[4], "target", target_names,
				ARRAY_LEN(target_names), &e))
		c->m->target = (enum compose_target)e;
	/* app before devices: a device missing its impl is told which one
	 * its signature needs. */
	if (!f[1]) {
		missing(c, root, "app", "the manifest");
		c->app_ok = false;
	} else {
		parse_app(c, f[1]);
	}
	if (f[2])
		parse_keys(c, f[2]);
	if (f[3])
		parse_devices(c, f[3]);
	if (!c->nomem)
		cross_check(c);
}

int
compose_manifest_load_mem(const char *file, const void *buf, size_t len,
			  struct compose_manifest **out, FILE *errs)
{
	struct compose_diag d;
	struct compose_ynode *root;
	struct ctx c = { .d = &d, .devs_complete = true };
	int rc;

	*out = NULL;
	compose_diag_init(&d, errs, file);
	if ((rc = compose_ytree_parse(buf, len, &d, &root)))
		return rc;
	if (!(c.m = calloc(1, sizeof(*c.m))) || !(c.m->file = strdup(file))) {
		rc = -ENOMEM;
		goto out;
	}
	parse_top(&c, root);
	if (c.nomem)
		rc = -ENOMEM;
	else if (d.n)
		rc = -EINVAL;
	else
		rc = finish(&c);
out:
	for (size_t i = 0; i < c.n_pdevs; i++) {
		free(c.pdevs[i].over_name);
		free_device(&c.pdevs[i].d);
	}
	free(c.pdevs);
	compose_ytree_free(root);
	if (rc) {
		compose_manifest_free(c.m);
		return rc;
	}
	*out = c.m;
	return 0;
}

int
compose_manifest_load(const char *file, struct compose_manifest **out,
		      FILE *errs)
{
	size_t cap = COMPOSE_YAML_MAX_BYTES + 1, len = 0;
	char *buf;
	int fd, rc;

	*out = NULL;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		if (errs)
			fprintf(errs, "%s: error: cannot open: %s\n", file,
				strerror(-rc));
		return rc;
	}
	if (!(buf = malloc(cap))) {
		close(fd);
		return -ENOMEM;
	}
	/* Read one byte past the limit so "too large" is detected without
	 * trusting st_size (pipes, /proc files). */
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			if (errs)
				fprintf(errs, "%s: error: cannot read: %s\n",
					file, strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap)
			break;
	}
	if (len > COMPOSE_YAML_MAX_BYTES) {
		if (errs)
			fprintf(errs, "%s: error: file too large (limit %u bytes)\n",
				file, COMPOSE_YAML_MAX_BYTES);
		rc = -EFBIG;
		goto out;
	}
	rc = compose_manifest_load_mem(file, buf, len, out, errs);
out:
	free(buf);
	close(fd);
	return rc;
}
