/*
 * compose/schema.h - scalar conversions used by the manifest schema
 * (compose-internal, exposed for unit tests).
 *
 * Each takes the scalar text exactly as written and either fills *out and
 * returns 0, or returns -EINVAL and sets *why to a static explanation.
 * Nothing here allocates or blocks.
 */
#ifndef COMPOSE_SCHEMA_H
#define COMPOSE_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "compose/manifest.h"

/* Decimal only: optional '-', no '+', no leading zeros, no 0x, no
 * underscores, within int64. */
int compose_parse_int(const char *s, int64_t *out, const char **why);
/* Exactly "true" or "false"; YAML 1.1 spellings (yes, off, ...) get a
 * dedicated explanation. */
int compose_parse_bool(const char *s, bool *out, const char **why);
/* Dotted quad, four decimal octets without leading zeros; with_prefix
 * requires a "/N" suffix (0..32) and forbids it otherwise. */
int compose_parse_ipv4(const char *s, bool with_prefix,
		       struct compose_ipv4 *out, const char **why);
/* "no", "always", "on-failure" or "on-failure:N" (N in 1..1000). */
int compose_parse_restart(const char *s, struct compose_restart *out,
			  const char **why);

#endif
