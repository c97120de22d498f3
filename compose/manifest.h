/*
 * compose/manifest.h - the compose.yaml model (compose-internal; no other
 * component links it).  docs/manifest.md is the user's reference.
 *
 * A loaded manifest is a plain, read-only struct tree owned by one
 * struct compose_manifest: every pointer inside it stays valid until
 * compose_manifest_free.  Loading validates everything: once load returns
 * 0, every cross reference below is resolved and consistent.
 */
#ifndef COMPOSE_MANIFEST_H
#define COMPOSE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The project's state directory, relative to the project directory:
 * where a sqlite device without a `path` keeps its database.  `compose up`
 * creates it; it outlives runs (the run directory does not). */
#define COMPOSE_STATE_DIR ".morgana/state"

/* Where a value was written (1-based, columns count characters). */
struct compose_mark {
	unsigned line, col;
};

enum compose_sig {
	COMPOSE_SIG_NET, COMPOSE_SIG_STACK, COMPOSE_SIG_KV_RO,
	COMPOSE_SIG_KV_RW, COMPOSE_SIG_PCLOCK, COMPOSE_SIG_MCLOCK,
	COMPOSE_SIG_TIME,
};
enum compose_impl {
	COMPOSE_IMPL_NETD, COMPOSE_IMPL_TCPIPD, COMPOSE_IMPL_KVD,
	COMPOSE_IMPL_CLOCKD,
};
enum compose_netd_backend {
	COMPOSE_NETD_TAP, COMPOSE_NETD_VSWITCH, COMPOSE_NETD_XDP,
};
enum compose_tcpip_net { COMPOSE_NET_SOCKET, COMPOSE_NET_DIRECT };
enum compose_kv_store {
	COMPOSE_KV_DIR, COMPOSE_KV_PACK, COMPOSE_KV_TAR, COMPOSE_KV_SQLITE,
	COMPOSE_KV_SEALED,
};
enum compose_key_type {
	COMPOSE_KEY_STRING, COMPOSE_KEY_INT, COMPOSE_KEY_BOOL,
	COMPOSE_KEY_IPV4, COMPOSE_KEY_IPV4_PREFIX,
};
enum compose_stage { COMPOSE_STAGE_BOOT, COMPOSE_STAGE_CONFIGURE };
enum compose_target { COMPOSE_TARGET_UNIX, COMPOSE_TARGET_XEN };
enum compose_restart_policy {
	COMPOSE_RESTART_NO, COMPOSE_RESTART_ON_FAILURE, COMPOSE_RESTART_ALWAYS,
};

/* The spelling of each enum value in the manifest ("KV_RO", "kvd",
 * "on-failure", ...); static strings, "?" for out-of-range values. */
const char *compose_sig_name(enum compose_sig s);
const char *compose_impl_name(enum compose_impl i);
const char *compose_netd_backend_name(enum compose_netd_backend b);
const char *compose_tcpip_net_name(enum compose_tcpip_net n);
const char *compose_kv_store_name(enum compose_kv_store s);
const char *compose_key_type_name(enum compose_key_type t);
const char *compose_stage_name(enum compose_stage s);
const char *compose_target_name(enum compose_target t);

struct compose_restart {
	enum compose_restart_policy policy;
	unsigned max_retries;	/* on-failure:N; 0 = no limit */
};

/* An IPv4 address, and a prefix length for ipv4_prefix (32 otherwise). */
struct compose_ipv4 {
	uint32_t addr;		/* host byte order */
	unsigned prefix;
};

/* A typed value; `text` is its canonical spelling (e.g. "8080", "true",
 * "10.0.0.2/24") and is always set. */
struct compose_value {
	enum compose_key_type type;
	char *text;
	int64_t i;			/* COMPOSE_KEY_INT */
	bool b;				/* COMPOSE_KEY_BOOL */
	struct compose_ipv4 ip;		/* COMPOSE_KEY_IPV4[_PREFIX] */
};

struct compose_key {
	char *name;			/* C identifier; --name=value at boot */
	enum compose_key_type type;
	enum compose_stage stage;	/* default boot */
	bool has_default;		/* false: must be given */
	struct compose_value def;	/* valid iff has_default */
	char *doc;			/* "" when not given */
	char *env;			/* NULL when not given */
	struct compose_mark mark;	/* of the key's name */
};

/* One entry of a tcpipd device's `allow`: an address and a port the app
 * may bind, each written literally or as `$key`, an app key read when
 * `compose up` starts tcpipd (its env variable, else the value given to
 * configure, else its default). */
struct compose_allow {
	char *addr_key;			/* ipv4 key, or NULL: addr */
	uint32_t addr;			/* host byte order */
	char *port_key;			/* int key, or NULL: port/any_port */
	uint16_t port;
	bool any_port;			/* written `*` */
	struct compose_mark mark;
};

struct compose_device {
	char *name;			/* C identifier, also the service name */
	struct compose_mark mark;	/* of the name under devices: */
	enum compose_sig sig;		/* as the consumer sees it */
	bool app_uses;			/* listed in app.devices (else used
					 * by device `consumer`) */
	size_t consumer;		/* device index when !app_uses */
	enum compose_impl impl;
	struct compose_restart restart;	/* default on-failure */
	size_t over;			/* device index this one runs over,
					 * or SIZE_MAX */
	union {
		struct {
			enum compose_netd_backend backend; /* default tap */
			char *ifname;	/* tap (optional) / xdp; else NULL */
			unsigned mtu;	/* default 1500 */
		} netd;
		struct {
			enum compose_tcpip_net net; /* default socket */
			bool has_ipv4;	/* direct: static address, else DHCP */
			struct compose_ipv4 ipv4;
			bool has_gateway;
			struct compose_ipv4 gateway;
			struct compose_allow *allow; /* binds allowed */
			size_t n_allow;
		} tcpipd;
		struct {
			enum compose_kv_store store;
			char *path;	/* all stores but sealed; sqlite
					 * defaults to COMPOSE_STATE_DIR
					 * "/<device>.sqlite" */
			char *key_file;	/* sealed; sqlite: the key for
					 * configure --kv_rw sealed */
		} kvd;
	} u;
};

/* One entry of app.devices, in the order written. */
struct compose_app_device {
	char *name;
	enum compose_sig sig;
	size_t device;			/* index into manifest devices */
	struct compose_mark mark;
};

struct compose_app {
	char **sources;
	size_t n_sources;
	char *start;			/* C identifier */
	struct compose_restart restart;	/* default "no" */
	struct compose_app_device *devices;
	size_t n_devices;
};

/* A process `compose up` would start: one per device, then the app. */
struct compose_service {
	const char *name;		/* borrowed from the device / manifest */
	bool is_app;
	size_t device;			/* device index; SIZE_MAX for the app */
	size_t *deps;			/* indices into services, sorted */
	size_t n_deps;
};

struct compose_manifest {
	char *file;			/* as given to load */
	char *name;
	enum compose_target target;	/* default unix */
	struct compose_app app;
	struct compose_key *keys;	/* sorted by name */
	size_t n_keys;
	struct compose_device *devices;	/* sorted by name */
	size_t n_devices;
	/* Start order: every service comes after what it depends on; ties
	 * are broken by name, the app is last.  Stop in reverse. */
	struct compose_service *services;
	size_t n_services;
};

/*
 * Read, parse and validate the manifest at path `file`.  Errors go to
 * `errs` (may be NULL) as `FILE:LINE:COL: error: MESSAGE` lines, each maybe
 * followed by `  hint: ...`; at most COMPOSE_DIAG_MAX (20) are printed.
 * On success *out is a new manifest the caller frees with
 * compose_manifest_free.  Returns 0; -EINVAL when the manifest is invalid
 * (errors printed); -ENOMEM; or the -errno of open/read (also printed).
 * Blocks only on reading the file.
 */
int compose_manifest_load(const char *file, struct compose_manifest **out,
			  FILE *errs);

/* The same on `len` bytes at `buf` (borrowed); `file` is only the name
 * printed in errors.  Never blocks. */
int compose_manifest_load_mem(const char *file, const void *buf, size_t len,
			      struct compose_manifest **out, FILE *errs);

/* Free a manifest; NULL is allowed. */
void compose_manifest_free(struct compose_manifest *m);

/* Look a device or key up by name; NULL if absent.  Borrowed pointers. */
const struct compose_device *
compose_manifest_device(const struct compose_manifest *m, const char *name);
const struct compose_key *
compose_manifest_key(const struct compose_manifest *m, const char *name);

/*
 * Print the normalised manifest as canonical YAML to `out`: fields in a
 * fixed order, every default filled in, keys and devices sorted by name,
 * then the `services:` start order with each service's dependencies.
 * Returns 0 or -EIO if writing failed.  Blocks on `out`.
 */
int compose_config_print(const struct compose_manifest *m, FILE *out);

/* Print the service names in start order, one per line.  Returns 0 or
 * -EIO. */
int compose_config_print_services(const struct compose_manifest *m,
				  FILE *out);

#endif
