/*
 * compose/gen.h - `compose configure` and `compose build`: the generated
 * wiring in _build/ (compose-internal).  docs/compose.md documents the
 * generated files for users.
 */
#ifndef COMPOSE_GEN_H
#define COMPOSE_GEN_H

#include <stdio.h>

#include "compose/manifest.h"
#include "compose/plan.h"

/*
 * Write _build/main.c, _build/keys.h, _build/Makefile and _build/context
 * for manifest m with the choices in c (baked keys already validated),
 * into the current directory; pack KV_RO directories whose store is pack
 * with `<bindir>/kvd pack`.  `home` is the Morgana tree.  Returns 0 or
 * -errno (a message on err).  Blocks on files and the packer.
 */
int compose_generate(const struct compose_manifest *m,
		     const struct compose_context *c, const char *home,
		     const char *bindir, FILE *err);

/* The three generated texts, each to its own stream (for tests and
 * `compose configure --dry-run`).  Return 0 or -EIO. */
int compose_gen_main_c(const struct compose_manifest *m,
		       const struct compose_context *c, FILE *out);
int compose_gen_keys_h(const struct compose_manifest *m,
		       const struct compose_context *c, FILE *out);
/* The Makefile links libring-xen.a and Xen's libraries when c's target
 * is xen (c may be NULL: unix). */
int compose_gen_makefile(const struct compose_manifest *m,
			 const struct compose_context *c, const char *home,
			 const char *build, FILE *out);

/* Check a --key=value given to configure against key k: parsed by its
 * type, written in canonical form into buf.  Returns 0 or -EINVAL with
 * *why set. */
int compose_key_check(const struct compose_key *k, const char *value,
		      char *buf, size_t len, const char **why);

#endif
