/*
 * compose/plan.h - what `compose up` runs, derived from the manifest and the
 * configure context (compose-internal).  docs/internals/wiring.md is the
 * contract this follows: domids, device keys, daemon command lines.
 */
#ifndef COMPOSE_PLAN_H
#define COMPOSE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compose/manifest.h"

/*
 * The choices `compose configure` recorded in _build/context (mirage's
 * context file), reused by build and up.  Strings are malloc'd, owned by
 * the struct; NULL means "as the manifest says".
 */
struct compose_context {
	enum compose_target target;
	char *net;		/* "socket" | "direct" | NULL */
	char *kv_ro;		/* "dir" | "pack" | "tar" | NULL */
	char *kv_rw;		/* "sqlite" | "sealed" | NULL */
	char **keys;		/* baked configure keys, "name=value" */
	size_t n_keys;
};

/*
 * Check that context c fits manifest m: `--kv_rw sealed` needs a key_file
 * on every KV_RW device the app uses, `--kv_rw sqlite` would store a
 * sealed device's values in clear, so it is refused, and neither applies
 * to a device stored as a directory.  Each problem is
 * printed to err as "FILE:LINE:COL: error: ..." at the device.  Returns 0
 * or -EINVAL.
 */
int compose_context_check(const struct compose_manifest *m,
			  const struct compose_context *c, FILE *err);
/* The store kvd serves device d with under context c: the manifest's,
 * unless --kv_ro or --kv_rw overrides it.  A static string. */
const char *compose_kv_store_of(const struct compose_device *d,
				const struct compose_context *c);

/* Read `file` into *c (zeroed first).  A missing file is not an error: *c
 * stays empty (target unix).  Returns 0, -EINVAL (a bad line, printed to
 * err), -ENOMEM or -errno of reading. */
int compose_context_load(const char *file, struct compose_context *c,
			 FILE *err);
/* Write *c to `file` (replaced atomically).  Returns 0 or -errno. */
int compose_context_save(const char *file, const struct compose_context *c);
void compose_context_free(struct compose_context *c);
/* The baked value of key `name`, or NULL.  Borrowed. */
const char *compose_context_key(const struct compose_context *c,
				const char *name);

/*
 * The Morgana tree: $MORGANA_HOME, else two levels above
 * /proc/self/exe (<tree>/build/bin/compose -> <tree>).  Writes into buf
 * (len bytes).  Returns 0 or -errno.
 */
int compose_home(char *buf, size_t len);
/* Where daemon binaries are: $MORGANA_BINDIR, else the directory of
 * /proc/self/exe.  Returns 0 or -errno. */
int compose_bindir(char *buf, size_t len);

/* One device between two services. */
struct compose_plan_dev {
	const char *name;	/* borrowed from the manifest */
	const char *type;	/* "clock", "kv", "pvcalls", "vif" */
	const char *sig;	/* "PCLOCK", ... */
	unsigned devid;
	size_t fe, be;		/* service indices */
	/* vif only: what the toolstack writes for netfront, as xl does. */
	unsigned mtu;
	uint8_t mac[6];		/* locally administered, stable per project */
};

struct compose_plan_svc {
	const char *name;	/* borrowed from the manifest */
	bool is_app;
	uint16_t domid;		/* start order, from 1 */
	char **argv;		/* argv[0] is the absolute binary path */
	size_t argc;
	struct compose_restart restart;
	const char *impl;	/* "clockd", ... or NULL for the app */
	const size_t *deps;	/* services started (READY) before this one; */
	size_t n_deps;		/* indices into svcs, borrowed from the manifest */
};

struct compose_plan {
	struct compose_plan_svc *svcs;	/* start order, app last */
	size_t n_svcs;
	struct compose_plan_dev *devs;
	size_t n_devs;
};

/*
 * Build the plan for manifest m (borrowed; must outlive the plan) with
 * context c, project directory `proj` (absolute) and daemon directory
 * `bindir`.  Boot keys with a value in the environment (the key's env
 * variable) or a default become the app's --key=value arguments.
 * Returns 0, -ENOMEM, or -EINVAL with a message on err.
 */
int compose_plan_make(const struct compose_manifest *m,
		      const struct compose_context *c, const char *proj,
		      const char *bindir, struct compose_plan *p, FILE *err);
void compose_plan_free(struct compose_plan *p);

/* Device type and signature spelling for a signature. */
const char *compose_sig_type(enum compose_sig s);

/* The ring graph as Graphviz: app -> device -> daemon. */
int compose_plan_dot(const struct compose_manifest *m,
		     const struct compose_plan *p, FILE *out);

#endif
