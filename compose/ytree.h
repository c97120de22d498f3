/*
 * compose/ytree.h - a YAML document as a small tree of strings with marks
 * (compose-internal).
 *
 * Built from libyaml's event API.  Every scalar stays a string (no YAML 1.1
 * typing); the schema layer converts per field.  Anchors, aliases, tags,
 * several documents, embedded NULs, invalid UTF-8, control characters,
 * inputs over COMPOSE_YAML_MAX_BYTES and nesting deeper than
 * COMPOSE_YAML_MAX_DEPTH are rejected with an error at their mark.
 */
#ifndef COMPOSE_YTREE_H
#define COMPOSE_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "compose/diag.h"

#define COMPOSE_YAML_MAX_BYTES (1u << 20)
#define COMPOSE_YAML_MAX_DEPTH 32
#define COMPOSE_YAML_MAX_NODES 65536

enum compose_ykind { COMPOSE_Y_SCALAR, COMPOSE_Y_SEQ, COMPOSE_Y_MAP };

struct compose_ynode {
	enum compose_ykind kind;
	unsigned line, col;		/* 1-based start mark */
	char *str;			/* scalar: NUL-terminated, no inner NUL */
	bool plain;			/* scalar: written without quotes */
	struct compose_ynode **kids;	/* seq: items; map: key, value, ... */
	size_t n;			/* number of entries in kids */
	size_t cap;
};

/* Parse `len` bytes at `buf` (borrowed) as one YAML document.  On success
 * *out is the root (a scalar, sequence or mapping) owned by the caller and
 * freed with compose_ytree_free.  Returns 0; -EINVAL after reporting every
 * problem to `d` (*out is NULL); -ENOMEM.  An empty document (only
 * comments or blanks) is an error. */
int compose_ytree_parse(const void *buf, size_t len, struct compose_diag *d,
			struct compose_ynode **out);

/* Free a tree from compose_ytree_parse; NULL is allowed. */
void compose_ytree_free(struct compose_ynode *n);

/* A short name for a node's kind: "a string", "a list", "a mapping". */
const char *compose_ytree_kind_name(const struct compose_ynode *n);

#endif
