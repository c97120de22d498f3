/*
 * Unit tests for compose/manifest.h: the valid examples load into the
 * expected model, and each bad manifest gets its exact file:line:col and
 * message (and hint where one is promised).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <cmocka.h>

#include "compose/diag.h"
#include "compose/manifest.h"
#include "compose/plan.h"
#include "compose/schema.h"

static const char www_yaml[] =
	"name: www\n"
	"app:\n"
	"  sources: [www.c]\n"
	"  start: www_start\n"
	"  devices: {stack: STACK, keys: KV_RO, files: KV_RO, tmpl: KV_RO, clock: PCLOCK}\n"
	"keys:\n"
	"  title: {type: string, default: Morgana, doc: Website title., env: WWW_TITLE}\n"
	"  port:  {type: int, default: 8080, doc: TCP port to listen on., stage: boot}\n"
	"devices:\n"
	"  stack: {impl: tcpipd, net: socket}\n"
	"  keys:  {impl: kvd, store: dir, path: keys}\n"
	"  files: {impl: kvd, store: dir, path: files}\n"
	"  tmpl:  {impl: kvd, store: pack, path: tmpl}\n"
	"  clock: {impl: clockd}\n"
	"target: unix\n";

static const char hello_yaml[] =
	"name: hello\n"
	"app:\n"
	"  sources: [hello.c]\n"
	"  start: hello_start\n"
	"  devices: {time: TIME}\n"
	"keys:\n"
	"  n: {type: int, doc: How many greetings., env: HELLO_N}\n"
	"  greeting: {type: string, default: \"world\", stage: configure}\n"
	"devices:\n"
	"  time: {impl: clockd}\n";

/* Load `yaml`; return the diagnostics text (caller frees) and the rc. */
static char *
load(const char *yaml, size_t len, struct compose_manifest **m, int *rc)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	assert_non_null(f);
	*rc = compose_manifest_load_mem("compose.yaml", yaml, len, m, f);
	fclose(f);
	return buf;
}

static void
test_www(void **state)
{
	struct compose_manifest *m;
	const struct compose_device *d;
	const struct compose_key *k;
	char *errs;
	int rc;

	(void)state;
	errs = load(www_yaml, strlen(www_yaml), &m, &rc);
	assert_string_equal(errs, "");
	assert_int_equal(rc, 0);
	assert_string_equal(m->name, "www");
	assert_int_equal(m->target, COMPOSE_TARGET_UNIX);
	assert_int_equal(m->app.n_sources, 1);
	assert_string_equal(m->app.sources[0], "www.c");
	assert_string_equal(m->app.start, "www_start");
	assert_int_equal(m->app.restart.policy, COMPOSE_RESTART_NO);
	assert_int_equal(m->app.n_devices, 5);
	assert_string_equal(m->app.devices[0].name, "stack");	/* as written */
	assert_string_equal(m->app.devices[4].name, "clock");

	assert_int_equal(m->n_keys, 2);
	assert_string_equal(m->keys[0].name, "port");		/* sorted */
	k = compose_manifest_key(m, "port");
	assert_int_equal(k->type, COMPOSE_KEY_INT);
	assert_true(k->has_default);
	assert_int_equal(k->def.i, 8080);
	assert_null(k->env);
	assert_int_equal(k->mark.line, 8);
	assert_int_equal(k->mark.col, 3);
	k = compose_manifest_key(m, "title");
	assert_int_equal(k->stage, COMPOSE_STAGE_BOOT);	/* the default */
	assert_string_equal(k->def.text, "Morgana");
	assert_string_equal(k->doc, "Website title.");
	assert_string_equal(k->env, "WWW_TITLE");

	assert_int_equal(m->n_devices, 5);
	d = compose_manifest_device(m, "tmpl");
	assert_int_equal(d->impl, COMPOSE_IMPL_KVD);
	assert_int_equal(d->sig, COMPOSE_SIG_KV_RO);
	assert_int_equal(d->u.kvd.store, COMPOSE_KV_PACK);
	assert_string_equal(d->u.kvd.path, "tmpl");
	assert_int_equal(d->restart.policy, COMPOSE_RESTART_ON_FAILURE);
	assert_true(d->app_uses);
	d = compose_manifest_device(m, "stack");
	assert_int_equal(d->u.tcpipd.net, COMPOSE_NET_SOCKET);
	assert_int_equal(d->over, SIZE_MAX);

	/* Five independent daemons by name, then the app needing all. */
	assert_int_equal(m->n_services, 6);
	assert_string_equal(m->services[0].name, "clock");
	assert_string_equal(m->services[4].name, "tmpl");
	assert_string_equal(m->services[5].name, "www");
	assert_true(m->services[5].is_app);
	assert_int_equal(m->services[5].n_deps, 5);
	compose_manifest_free(m);
	free(errs);
}

static void
test_hello(void **state)
{
	struct compose_manifest *m;
	const struct compose_key *k;
	char *errs, *out = NULL;
	size_t sz = 0;
	FILE *f;
	int rc;

	(void)state;
	errs = load(hello_yaml, strlen(hello_yaml), &m, &rc);
	assert_string_equal(errs, "");
	assert_int_equal(rc, 0);
	k = compose_manifest_key(m, "n");
	assert_false(k->has_default);
	assert_string_equal(k->env, "HELLO_N");
	k = compose_manifest_key(m, "greeting");
	assert_int_equal(k->stage, COMPOSE_STAGE_CONFIGURE);
	assert_string_equal(k->def.text, "world");
	assert_string_equal(k->doc, "");
	assert_int_equal(compose_manifest_device(m, "time")->sig,
			 COMPOSE_SIG_TIME);

	f = open_memstream(&out, &sz);
	assert_int_equal(compose_config_print_services(m, f), 0);
	fclose(f);
	assert_string_equal(out, "time\nhello\n");
	free(out);

	f = open_memstream(&out, &sz);
	assert_int_equal(compose_config_print(m, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "  greeting:\n    type: string\n    stage: configure\n    default: \"world\"\n    doc: \"\"\n"));
	assert_non_null(strstr(out, "  n:\n    type: int\n    stage: boot\n    required: true\n    env: HELLO_N\n"));
	assert_non_null(strstr(out, "  - name: hello\n    impl: app\n    depends_on: [time]\n"));
	free(out);
	compose_manifest_free(m);
	free(errs);
}

/* Devices over devices: the dependency order and every option. */
static void
test_direct(void **state)
{
	static const char y[] =
		"name: kv\n"
		"app:\n"
		"  sources: [a.c]\n"
		"  start: s\n"
		"  restart: on-failure:3\n"
		"  devices: {stack: STACK, db: KV_RW}\n"
		"devices:\n"
		"  z_net: {impl: netd, ifname: tap0, mtu: 9000, restart: always}\n"
		"  stack: {impl: tcpipd, net: direct, over: z_net, ipv4: 10.0.0.2/24, gateway: 10.0.0.1}\n"
		"  raw: {impl: kvd, store: sqlite, path: kv.db}\n"
		"  db: {impl: kvd, store: sealed, over: raw, key_file: k, restart: no}\n";
	struct compose_manifest *m;
	const struct compose_device *d;
	char *errs;
	int rc;

	(void)state;
	errs = load(y, strlen(y), &m, &rc);
	assert_string_equal(errs, "");
	assert_int_equal(rc, 0);
	assert_int_equal(m->app.restart.policy, COMPOSE_RESTART_ON_FAILURE);
	assert_int_equal(m->app.restart.max_retries, 3);
	d = compose_manifest_device(m, "z_net");
	assert_int_equal(d->sig, COMPOSE_SIG_NET);
	assert_false(d->app_uses);
	assert_string_equal(m->devices[d->consumer].name, "stack");
	assert_int_equal(d->u.netd.backend, COMPOSE_NETD_TAP);
	assert_int_equal(d->u.netd.mtu, 9000);
	assert_int_equal(d->restart.policy, COMPOSE_RESTART_ALWAYS);
	d = compose_manifest_device(m, "stack");
	assert_string_equal(m->devices[d->over].name, "z_net");
	assert_int_equal(d->u.tcpipd.ipv4.addr, 0x0a000002);
	assert_int_equal(d->u.tcpipd.ipv4.prefix, 24);
	assert_int_equal(d->u.tcpipd.gateway.addr, 0x0a000001);
	d = compose_manifest_device(m, "raw");
	assert_string_equal(d->u.kvd.path, "kv.db");
	assert_null(d->u.kvd.key_file);
	d = compose_manifest_device(m, "db");
	assert_null(d->u.kvd.path);
	assert_int_equal(d->restart.policy, COMPOSE_RESTART_NO);	/* unquoted no */
	assert_string_equal(d->u.kvd.key_file, "k");
	assert_int_equal(compose_manifest_device(m, "raw")->sig,
			 COMPOSE_SIG_KV_RW);
	/* raw before db, z_net before stack, the app last. */
	assert_int_equal(m->n_services, 5);
	assert_string_equal(m->services[0].name, "raw");
	assert_string_equal(m->services[1].name, "db");
	assert_int_equal(m->services[1].n_deps, 1);
	assert_int_equal(m->services[1].deps[0], 0);
	assert_string_equal(m->services[2].name, "z_net");
	assert_string_equal(m->services[3].name, "stack");
	assert_string_equal(m->services[4].name, "kv");
	compose_manifest_free(m);
	free(errs);
}

/* The argv kvd gets for device `name` under context c, joined by ' ';
 * or the planner's error text when it refuses.  Caller frees. */
static char *
kvd_argv(const struct compose_manifest *m, struct compose_context *c,
	 const char *name)
{
	struct compose_plan p;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	assert_non_null(f);
	if (compose_plan_make(m, c, "/p", "/b", &p, f) == 0) {
		for (size_t i = 0; i < p.n_svcs; i++) {
			if (strcmp(p.svcs[i].name, name))
				continue;
			for (size_t j = 0; j < p.svcs[i].argc; j++)
				fprintf(f, "%s%s", j ? " " : "", p.svcs[i].argv[j]);
		}
		compose_plan_free(&p);
	}
	fclose(f);
	return buf;
}

/* KV_RW: sqlite's default path in the state directory, and what
 * configure --kv_rw makes of each device. */
static void
test_kv_rw(void **state)
{
	static const char y[] =
		"name: kv\n"
		"app:\n"
		"  sources: [a.c]\n"
		"  start: s\n"
		"  devices: {a: KV_RW, b: KV_RW, c: KV_RW}\n"
		"devices:\n"
		"  a: {impl: kvd, store: sqlite, key_file: a.key}\n"
		"  b: {impl: kvd, store: sqlite, path: /data/b.db}\n"
		"  c: {impl: kvd, store: sealed, over: raw, key_file: /k}\n"
		"  raw: {impl: kvd, store: sqlite}\n";
	struct compose_context c = { 0 };
	struct compose_manifest *m;
	char *errs, *a;
	int rc;

	(void)state;
	errs = load(y, strlen(y), &m, &rc);
	assert_string_equal(errs, "");
	assert_int_equal(rc, 0);
	assert_string_equal(compose_manifest_device(m, "a")->u.kvd.path,
			    COMPOSE_STATE_DIR "/a.sqlite");
	/* As the manifest says: a sqlite device's key_file is unused. */
	a = kvd_argv(m, &c, "a");
	assert_string_equal(a, "/b/kvd serve --store sqlite --path=/p/.morgana/state/a.sqlite");
	free(a);
	a = kvd_argv(m, &c, "c");
	assert_string_equal(a, "/b/kvd serve --store sealed --key-file=/k --over-path=/p/.morgana/state/raw.sqlite");
	free(a);
	/* --kv_rw sealed: a's database sealed with its key; b has none. */
	c.kv_rw = "sealed";
	a = kvd_argv(m, &c, "a");
	assert_string_equal(a, "compose.yaml:8:3: error: device 'b' has no key_file; --kv_rw sealed needs one\n"
			    "  hint: add key_file: FILE (32 secret bytes, mode 0600), as in key_file: b.key\n");
	free(a);
	/* --kv_rw sqlite: refused for the sealed device, not for raw,
	 * which only the sealed device uses. */
	c.kv_rw = "sqlite";
	a = kvd_argv(m, &c, "raw");
	assert_non_null(strstr(a, "compose.yaml:9:3: error: device 'c' is store: sealed; --kv_rw sqlite would keep its values in clear\n"));
	free(a);
	c.kv_rw = NULL;
	compose_manifest_free(m);
	free(errs);

	/* A directory behind KV_RW is served read-write; --kv_rw leaves
	 * it alone, loudly. */
	{
		static const char y3[] =
			"name: kv\n"
			"app: {sources: [a.c], start: s, devices: {a: KV_RW, b: KV_RO}}\n"
			"devices:\n"
			"  a: {impl: kvd, store: dir, path: data}\n"
			"  b: {impl: kvd, store: dir, path: files}\n";

		errs = load(y3, strlen(y3), &m, &rc);
		assert_int_equal(rc, 0);
		a = kvd_argv(m, &c, "a");
		assert_string_equal(a, "/b/kvd serve --store dir --rw --path=/p/data");
		free(a);
		a = kvd_argv(m, &c, "b");
		assert_string_equal(a, "/b/kvd serve --store dir --path=/p/files");
		free(a);
		c.kv_rw = "sealed";
		a = kvd_argv(m, &c, "a");
		assert_non_null(strstr(a, "compose.yaml:4:3: error: device 'a' is store: dir; --kv_rw sealed does not apply to it\n"));
		free(a);
		c.kv_rw = NULL;
		compose_manifest_free(m);
		free(errs);
	}

	/* Without b and c, --kv_rw sealed applies to a. */
	{
		static const char y2[] =
			"name: kv\n"
			"app: {sources: [a.c], start: s, devices: {a: KV_RW}}\n"
			"devices:\n"
			"  a: {impl: kvd, store: sqlite, key_file: a.key}\n";

		errs = load(y2, strlen(y2), &m, &rc);
		assert_int_equal(rc, 0);
		c.kv_rw = "sealed";
		a = kvd_argv(m, &c, "a");
		assert_string_equal(a, "/b/kvd serve --store sealed --path=/p/.morgana/state/a.sqlite --key-file=/p/a.key");
		free(a);
		compose_manifest_free(m);
		free(errs);
	}
}

struct bad {
	const char *yaml;
	const char *where;	/* "LINE:COL" of the first error, or "" */
	const char *msg;	/* substring of the first error line */
	const char *hint;	/* substring of the output, or NULL */
};

#define APP "app: {sources: [a.c], start: s}\n"
#define APP_T "app: {sources: [a.c], start: s, devices: {t: TIME}}\n"

static const struct bad bads[] = {
	/* unknown key with a suggestion */
	{ "name: x\n" APP "keys:\n  k: {type: int, defualt: 3}\n",
	  "4:18", "unknown field 'defualt' in key 'k'", "did you mean 'default'?" },
	{ "name: x\n" APP "devies: {}\n",
	  "3:1", "unknown field 'devies' in the manifest", "did you mean 'devices'?" },
	{ "name: x\n" APP "zzzzzz: 1\n",
	  "3:1", "unknown field 'zzzzzz'", "valid fields: name, app, keys, devices, target" },
	/* wrong type */
	{ "name: x\napp: {sources: a.c, start: s}\n",
	  "2:16", "'sources' must be a list, found a string", "write sources: [a.c]" },
	{ "name: x\n" APP "devices:\n",
	  "3:9", "'devices' has no value", "write {} for an empty mapping" },
	{ "name: x\napp: [a]\n",
	  "2:6", "'app' must be a mapping, found a list", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: float}\n",
	  "4:13", "unknown type 'float'", "expected one of: string, int, bool" },
	/* ints: decimal only */
	{ "name: x\n" APP "keys:\n  k: {type: int, default: 010}\n",
	  "4:27", "default '010' is not a valid int: leading zeros", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: int, default: 0x1f}\n",
	  "4:27", "hexadecimal is not accepted", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: int, default: 9223372036854775808}\n",
	  "4:27", "out of range", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: int, default: +5}\n",
	  "4:27", "without '+'", NULL },
	/* YAML 1.1 booleans */
	{ "name: x\n" APP "keys:\n  k: {type: bool, default: yes}\n",
	  "4:28", "default 'yes' is not a valid bool: YAML 1.1", "write true or false" },
	{ "name: x\n" APP "keys:\n  k: {type: bool, default: off}\n",
	  "4:28", "default 'off' is not a valid bool", "write true or false" },
	/* key default not matching its type */
	{ "name: x\n" APP "keys:\n  k: {type: int, default: eighty}\n",
	  "4:27", "key 'k': default 'eighty' is not a valid int", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: ipv4, default: 10.0.0.256}\n",
	  "4:28", "is not a valid ipv4", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: ipv4_prefix, default: 10.0.0.1}\n",
	  "4:35", "add the prefix length", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: string, default: }\n",
	  "4:30", "'default' has no value", "write \"\"" },
	/* missing impl: the hint names the impl the signature needs */
	{ "name: x\n" APP_T "devices:\n  t: {restart: always}\n",
	  "4:6", "missing 'impl' in device 't'", "add impl: clockd" },
	/* unknown impl with suggestion */
	{ "name: x\n" APP_T "devices:\n  t: {impl: clock}\n",
	  "4:13", "unknown impl 'clock'", "did you mean 'clockd'?" },
	/* signature / impl mismatch */
	{ "name: x\n" APP_T "devices:\n  t: {impl: kvd, store: dir, path: p}\n",
	  "4:13", "device 't' is TIME but impl kvd serves KV_RO and KV_RW", "served by impl: clockd" },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {db: KV_RW}}\n"
	  "devices:\n  db: {impl: kvd, store: tar, path: p}\n",
	  "4:26", "KV_RW but store tar is read-only", "sqlite, sealed or dir" },
	/* key_file: sealed, and sqlite (for --kv_rw sealed) only */
	{ "name: x\napp: {sources: [a.c], start: s, devices: {db: KV_RO}}\n"
	  "devices:\n  db: {impl: kvd, store: dir, path: p, key_file: k}\n",
	  "4:40", "'key_file' applies only to stores sealed and sqlite", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {db: KV_RW}}\n"
	  "devices:\n  db: {impl: kvd, store: sealed, over: raw, key_file: k}\n"
	  "  raw: {impl: kvd, store: sqlite, key_file: k2}\n",
	  "5:35", "device 'raw' holds the values of sealed device 'db': its key_file has no use", "remove this one" },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {db: KV_RW}}\n"
	  "devices:\n  db: {impl: kvd, store: sqlite, over: raw}\n",
	  "4:34", "'over' applies only to store sealed", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {n: NETT}}\n",
	  "2:46", "unknown signature 'NETT'", "did you mean 'NET'?" },
	/* every app device implemented, every device used */
	{ "name: x\n" APP_T "devices:\n  u: {impl: clockd}\n",
	  "2:43", "device 't' has no implementation under 'devices:'", NULL },
	{ "name: x\n" APP_T "devices:\n  t: {impl: clockd}\n  u: {impl: clockd}\n",
	  "5:3", "device 'u' is not used", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, net: direct, over: nett}\n  net: {impl: netd}\n",
	  "4:40", "'over' names device 'nett'", "did you mean 'net'?" },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, net: direct}\n",
	  "4:13", "missing 'over' in device 's'", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, ipv4: 10.0.0.1/8}\n",
	  "4:21", "'ipv4' applies only to net: direct", NULL },
	{ "name: x\n" APP_T "devices:\n  t: {impl: clockd, store: dir}\n",
	  "4:21", "field 'store' does not apply to impl clockd", "option of impl kvd" },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {n: NET}}\n"
	  "devices:\n  n: {impl: netd, backend: xdp}\n",
	  "4:13", "missing 'ifname' in device 'n'", NULL },
	/* duplicate keys, anywhere */
	{ "name: x\n" APP "name: y\n",
	  "3:1", "duplicate key 'name' (first at 1:1)", NULL },
	{ "name: x\n" APP "keys:\n  k: {type: int, type: string}\n",
	  "4:18", "duplicate key 'type' (first at 4:7)", NULL },
	/* invalid YAML: libyaml's own message at its mark */
	{ "name: x\napp:\n\tsources: [a.c]\n",
	  "3:1", "found character that cannot start any token", "spaces, not tabs" },
	{ "name: x\napp: {sources: [a.c\n",
	  "3:1", "did not find expected ',' or ']'", NULL },
	{ "name: x\n  bad: indent\n",
	  "2:6", "mapping values are not allowed in this context", NULL },
	/* empty, not a mapping, several documents, YAML features we refuse */
	{ "", "1:1", "empty manifest", "needs at least 'name:'" },
	{ "# only a comment\n\n", "1:1", "empty manifest", NULL },
	{ "just a string\n", "1:1", "a manifest must be a mapping, found a string", NULL },
	{ "name: x\n---\nname: y\n", "2:1", "found a second", NULL },
	{ "name: &n x\n", "1:7", "anchors (&n) are not supported", NULL },
	{ "name: !!str x\n", "1:7", "tags (tag:yaml.org,2002:str) are not supported", NULL },
	{ "name: x\napp: {sources: [a.c], start: s}\nkeys: *k\n", "3:7", "aliases (*k) are not supported", NULL },
	{ "name: x\napp: {sources: [\"a\\0.c\"], start: s}\n", "2:17", "NUL character in a string", NULL },
	/* names */
	{ "name: My App\n" APP, "1:7", "invalid name 'My App'", NULL },
	{ "name: x\n" APP "keys:\n  2k: {type: int}\n", "4:3", "key name '2k' is not an identifier", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, restart: unless-stopped}\n",
	  "2:42", "unless-stopped is not supported", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, restart: on-failure:0}\n",
	  "2:42", "from 1 to 1000", NULL },
	{ "name: x\n" APP "keys:\n  a: {type: int, env: E}\n  b: {type: int, env: E}\n",
	  "5:3", "keys 'a' and 'b' use the same env 'E'", NULL },
	{ "name: x\n" APP "services: {}\n", "3:1", "unknown field 'services'", "derived from 'devices:'" },
	/* tcpipd's allow list */
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "keys: {port: {type: int, default: 80}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: [\"127.0.0.1:$prot\"]}\n",
	  "5:29", "allow: no key named 'prot'", "did you mean 'port'?" },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "keys: {port: {type: string, default: a}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: [\"$port:80\"]}\n",
	  "5:29", "key 'port' is string, but the address must be ipv4", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: [\"127.0.0.1:65536\"]}\n",
	  "4:29", "invalid allow port '65536': must be from 0 to 65535", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: [\"localhost:80\"]}\n",
	  "4:29", "invalid allow address 'localhost'", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: \"127.0.0.1:80\"}\n",
	  "4:28", "'allow' must be a list", NULL },
	{ "name: x\napp: {sources: [a.c], start: s, devices: {s: STACK}}\n"
	  "devices:\n  s: {impl: tcpipd, allow: [\"8080\"]}\n",
	  "4:29", "invalid allow entry '8080': expected ADDR:PORT", NULL },
	{ "name: x\n" APP_T "devices:\n  t: {impl: clockd, allow: []}\n",
	  "4:21", "field 'allow' does not apply to impl clockd", "option of impl tcpipd" },
	{ "name: x\nbad: \xc3\x28\n", "2:6", "invalid UTF-8 byte 0xc3", NULL },
	{ "name: x\n\x01", "2:1", "control character 0x01", NULL },
};

static void
test_bad_table(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct compose_manifest *m = (void *)1;
		char want[64], *errs, *first;
		int rc;

		errs = load(b->yaml, strlen(b->yaml), &m, &rc);
		snprintf(want, sizeof(want), "compose.yaml:%s: error: ", b->where);
		first = strndup(errs, strcspn(errs, "\n"));
		if (rc != -EINVAL || m || strncmp(errs, want, strlen(want)) ||
		    !strstr(first, b->msg) || (b->hint && !strstr(errs, b->hint))) {
			print_error("case %zu: rc=%d\n--- yaml\n%s--- got\n%s--- want %s... %s / %s\n",
				    i, rc, b->yaml, errs, want, b->msg,
				    b->hint ? b->hint : "");
			failed++;
		}
		free(first);
		free(errs);
	}
	assert_int_equal(failed, 0);
}

/* Errors are collected, printed up to COMPOSE_DIAG_MAX, then counted. */
static void
test_error_cap(void **state)
{
	char yaml[4096], *errs, *p;
	size_t off = 0, lines = 0;
	struct compose_manifest *m;
	int rc;

	(void)state;
	off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "name: x\n" APP "keys:\n");
	for (int i = 0; i < 30; i++)
		off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
					"  k%d: {type: int, default: 0%d}\n", i, i + 1);
	errs = load(yaml, off, &m, &rc);
	assert_int_equal(rc, -EINVAL);
	for (p = errs; (p = strstr(p, ": error: ")); p++)
		lines++;
	assert_int_equal(lines, COMPOSE_DIAG_MAX + 1);
	assert_non_null(strstr(errs, "compose.yaml:4:28: error: key 'k0'"));
	assert_non_null(strstr(errs, "compose.yaml: error: too many errors, stopping after 20\n"));
	free(errs);
}

/* Several independent mistakes in one file are all reported. */
static void
test_collects(void **state)
{
	static const char y[] =
		"name: x\n"
		"app: {sources: [a.c], start: s, devices: {t: TIME}}\n"
		"keys:\n"
		"  a: {type: int, default: 08}\n"
		"  b: {type: bool, default: on}\n"
		"devices:\n"
		"  t: {impl: clockd, restart: sometimes}\n";
	struct compose_manifest *m;
	char *errs;
	int rc;

	(void)state;
	errs = load(y, strlen(y), &m, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(errs, "compose.yaml:4:27: error: "));
	assert_non_null(strstr(errs, "compose.yaml:5:28: error: "));
	assert_non_null(strstr(errs, "compose.yaml:7:30: error: invalid restart 'sometimes'"));
	free(errs);
}

static void
test_limits(void **state)
{
	size_t big = (1u << 20) + 1;
	char *yaml = malloc(big), *errs;
	struct compose_manifest *m;
	int rc;

	(void)state;
	memset(yaml, ' ', big);
	errs = load(yaml, big, &m, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(errs, "compose.yaml: error: file too large"));
	free(errs);
	/* Deep nesting is refused before any recursion could matter. */
	memset(yaml, '[', 4096);
	errs = load(yaml, 4096, &m, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(errs, "compose.yaml:1:33: error: nesting deeper than 32 levels"));
	free(errs);
	free(yaml);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/test_compose_XXXXXX", *buf = NULL;
	struct compose_manifest *m;
	size_t sz = 0;
	FILE *errs;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hello_yaml, strlen(hello_yaml)),
			 (ssize_t)strlen(hello_yaml));
	close(fd);
	assert_int_equal(compose_manifest_load(path, &m, NULL), 0);
	assert_string_equal(m->file, path);
	compose_manifest_free(m);
	unlink(path);

	errs = open_memstream(&buf, &sz);
	assert_int_equal(compose_manifest_load(path, &m, errs), -ENOENT);
	fclose(errs);
	assert_null(m);
	assert_non_null(strstr(buf, ": error: cannot open: No such file or directory"));
	free(buf);
	assert_int_equal(compose_manifest_load("/", &m, NULL), -EISDIR);
}

static void
test_scalars(void **state)
{
	struct compose_ipv4 ip;
	struct compose_restart r;
	const char *why;
	int64_t v;
	bool b;

	(void)state;
	assert_int_equal(compose_parse_int("0", &v, &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(compose_parse_int("-9223372036854775808", &v, &why), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(compose_parse_int("9223372036854775807", &v, &why), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(compose_parse_int("-9223372036854775809", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int("", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int("-", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int("1_000", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int(" 1", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int("1.0", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_int("00", &v, &why), -EINVAL);
	assert_int_equal(compose_parse_bool("true", &b, &why), 0);
	assert_true(b);
	assert_int_equal(compose_parse_bool("false", &b, &why), 0);
	assert_false(b);
	assert_int_equal(compose_parse_bool("True", &b, &why), -EINVAL);
	assert_int_equal(compose_parse_bool("1", &b, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("255.255.255.255", false, &ip, &why), 0);
	assert_int_equal(ip.addr, 0xffffffffu);
	assert_int_equal(compose_parse_ipv4("0.0.0.0/0", true, &ip, &why), 0);
	assert_int_equal(ip.prefix, 0);
	assert_int_equal(compose_parse_ipv4("1.2.3.4/33", true, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("1.2.3.4/08", true, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("1.2.3", false, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("1.2.3.4.5", false, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("1.2.3.4/24", false, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_ipv4("1.2.3.4 ", false, &ip, &why), -EINVAL);
	assert_int_equal(compose_parse_restart("on-failure:5", &r, &why), 0);
	assert_int_equal(r.max_retries, 5);
	assert_int_equal(compose_parse_restart("on-failure:05", &r, &why), -EINVAL);
	assert_int_equal(compose_parse_restart("No", &r, &why), -EINVAL);
}

/* allow entries reach tcpipd's command line with their keys resolved:
 * env first, then the configure value, then the default. */
static void
test_allow_plan(void **state)
{
	static const char y[] =
		"name: x\n"
		"app: {sources: [a.c], start: s, devices: {s: STACK}}\n"
		"keys:\n"
		"  addr: {type: ipv4, default: 127.0.0.1}\n"
		"  port: {type: int, default: 8080, env: TEST_ALLOW_PORT}\n"
		"devices:\n"
		"  s: {impl: tcpipd, allow: [\"$addr:$port\", \"0.0.0.0:*\", \"10.0.0.1:53\"]}\n";
	struct compose_manifest *m = NULL;
	struct compose_context c = { 0 };
	struct compose_plan p;
	char *diag, *keys[] = { "addr=10.1.2.3" };
	FILE *null = fopen("/dev/null", "w");
	int rc;

	(void)state;
	assert_non_null(null);
	diag = load(y, sizeof(y) - 1, &m, &rc);
	assert_int_equal(rc, 0);
	free(diag);
	unsetenv("TEST_ALLOW_PORT");
	assert_int_equal(compose_plan_make(m, &c, "/p", "/bin", &p, null), 0);
	assert_string_equal(p.svcs[0].argv[3],
			    "--allow=127.0.0.1:8080,0.0.0.0:*,10.0.0.1:53");
	compose_plan_free(&p);
	setenv("TEST_ALLOW_PORT", "9090", 1);
	c.keys = keys;
	c.n_keys = 1;
	assert_int_equal(compose_plan_make(m, &c, "/p", "/bin", &p, null), 0);
	assert_string_equal(p.svcs[0].argv[3],
			    "--allow=10.1.2.3:9090,0.0.0.0:*,10.0.0.1:53");
	compose_plan_free(&p);
	/* What the app would refuse, tcpipd is not started with. */
	setenv("TEST_ALLOW_PORT", "99999", 1);
	assert_int_equal(compose_plan_make(m, &c, "/p", "/bin", &p, null),
			 -EINVAL);
	unsetenv("TEST_ALLOW_PORT");
	fclose(null);
	compose_manifest_free(m);
}

static void
test_suggest(void **state)
{
	static const char *const c[] = { "default", "doc", "env", "stage", "type" };

	(void)state;
	assert_string_equal(compose_suggest("defualt", c, 5), "default");
	assert_string_equal(compose_suggest("tpye", c, 5), "type");
	assert_string_equal(compose_suggest("Stage", c, 5), "stage");
	assert_null(compose_suggest("colour", c, 5));
	assert_null(compose_suggest("", c, 5));
	assert_null(compose_suggest("x", c, 5));	/* "doc" is 3 away */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_www),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_kv_rw),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_collects),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_allow_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
