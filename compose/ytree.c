/* libyaml events -> a tree of string scalars with marks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "compose/ytree.h"

void
compose_ytree_free(struct compose_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		compose_ytree_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

const char *
compose_ytree_kind_name(const struct compose_ynode *n)
{
	switch (n->kind) {
	case COMPOSE_Y_SCALAR: return "a string";
	case COMPOSE_Y_SEQ: return "a list";
	case COMPOSE_Y_MAP: return "a mapping";
	}
	return "?";
}

/*
 * libyaml reports reader errors (bad UTF-8, control characters) with a
 * byte offset but no line/column, so check the bytes first ourselves and
 * point at the offending character.  Columns count characters, as
 * libyaml's marks do.
 */
static int
check_bytes(const unsigned char *p, size_t len, struct compose_diag *d)
{
	unsigned line = 1, col = 1;
	size_t i = 0;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;		/* UTF-8 byte order mark */
	while (i < len) {
		unsigned char c = p[i];
		size_t need;
		uint32_t cp;

		if (c == 0) {
			compose_diag_err(d, line, col,
					 "NUL byte: this is binary data, not a YAML manifest");
			return -EINVAL;
		}
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f) {
				compose_diag_err(d, line, col,
						 "control character 0x%02x is not allowed", c);
				return -EINVAL;
			}
			i++;
			if (c == '\n' || (c == '\r' && (i == len || p[i] != '\n'))) {
				line++;
				col = 1;
			} else if (c != '\r') {
				col++;
			}
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
		else goto bad;
		if (len - i <= need)
			goto bad;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		/* C1 controls and non-characters libyaml would refuse. */
		if ((cp >= 0x80 && cp <= 0x9f && cp != 0x85) || cp == 0xfffe ||
		    cp == 0xffff) {
			compose_diag_err(d, line, col,
					 "character U+%04X is not allowed", (unsigned)cp);
			return -EINVAL;
		}
		i += need + 1;
		col++;
	}
	return 0;
bad:
	compose_diag_err(d, line, col, "invalid UTF-8 byte 0x%02x", p[i]);
	return -EINVAL;
}

struct builder {
	struct compose_diag *d;
	struct compose_ynode *root;
	struct compose_ynode *stack[COMPOSE_YAML_MAX_DEPTH];
	size_t depth;
	size_t nodes;
};

static struct compose_ynode *
node_new(struct builder *b, enum compose_ykind kind, const yaml_mark_t *m)
{
	struct compose_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	b->nodes++;
	return n;
}

/* Attach n to the open container (or make it the root); takes n. */
static int
attach(struct builder *b, struct compose_ynode *n)
{
	struct compose_ynode *p;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	p = b->stack[b->depth - 1];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct compose_ynode **k = realloc(p->kids, cap * sizeof(*k));

		if (!k) {
			compose_ytree_free(n);
			return -ENOMEM;
		}
		p->kids = k;
		p->cap = cap;
	}
	p->kids[p->n++] = n;
	return 0;
}

/* Anchors and tags are refused: aliases would make one node appear in
 * several places (and "billion laughs" inputs), and tags would reintroduce
 * the YAML typing this parser avoids on purpose. */
static int
check_props(struct builder *b, const yaml_event_t *ev, const char *anchor,
	    const char *tag)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	unsigned col = (unsigned)ev->start_mark.column + 1;

	if (anchor) {
		compose_diag_err(b->d, line, col,
				 "anchors (&%s) are not supported", anchor);
		compose_diag_hint(b->d, "write the value out in full");
		return -EINVAL;
	}
	if (tag) {
		compose_diag_err(b->d, line, col,
				 "tags (%s) are not supported", tag);
		compose_diag_hint(b->d, "remove the tag; every value is read as a string and converted by its field");
		return -EINVAL;
	}
	return 0;
}

static int
on_event(struct builder *b, yaml_event_t *ev)
{
	struct compose_ynode *n;
	unsigned line = (unsigned)ev->start_mark.line + 1;
	unsigned col = (unsigned)ev->start_mark.column + 1;
	int rc;

	if (b->nodes >= COMPOSE_YAML_MAX_NODES &&
	    (ev->type == YAML_SCALAR_EVENT ||
	     ev->type == YAML_SEQUENCE_START_EVENT ||
	     ev->type == YAML_MAPPING_START_EVENT)) {
		compose_diag_err(b->d, line, col,
				 "too many values (more than %u)",
				 COMPOSE_YAML_MAX_NODES);
		return -EINVAL;
	}
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->root) {
			compose_diag_err(b->d, line, col,
					 "a manifest holds one YAML document, found a second");
			return -EINVAL;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		compose_diag_err(b->d, line, col,
				 "aliases (*%s) are not supported",
				 (const char *)ev->data.alias.anchor);
		compose_diag_hint(b->d, "write the value out in full");
		return -EINVAL;
	case YAML_SCALAR_EVENT:
		if ((rc = check_props(b, ev, (const char *)ev->data.scalar.anchor,
				      (const char *)ev->data.scalar.tag)))
			return rc;
		if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
			compose_diag_err(b->d, line, col,
					 "NUL character in a string");
			return -EINVAL;
		}
		if (!(n = node_new(b, COMPOSE_Y_SCALAR, &ev->start_mark)))
			return -ENOMEM;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->str = strndup((const char *)ev->data.scalar.value,
				 ev->data.scalar.length);
		if (!n->str) {
			free(n);
			return -ENOMEM;
		}
		return attach(b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			rc = check_props(b, ev,
					 (const char *)ev->data.sequence_start.anchor,
					 (const char *)ev->data.sequence_start.tag);
		else
			rc = check_props(b, ev,
					 (const char *)ev->data.mapping_start.anchor,
					 (const char *)ev->data.mapping_start.tag);
		if (rc)
			return rc;
		if (b->depth == COMPOSE_YAML_MAX_DEPTH) {
			compose_diag_err(b->d, line, col,
					 "nesting deeper than %d levels",
					 COMPOSE_YAML_MAX_DEPTH);
			return -EINVAL;
		}
		n = node_new(b, ev->type == YAML_SEQUENCE_START_EVENT ?
				COMPOSE_Y_SEQ : COMPOSE_Y_MAP, &ev->start_mark);
		if (!n)
			return -ENOMEM;
		if ((rc = attach(b, n)))
			return rc;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

static void
report_yaml_error(const yaml_parser_t *p, struct compose_diag *d)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		compose_diag_err(d, 0, 0, "out of memory while parsing");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		compose_diag_err(d, 0, 0, "%s at byte %zu", problem,
				 p->problem_offset);
		return;
	}
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column))
		compose_diag_err(d, (unsigned)p->problem_mark.line + 1,
				 (unsigned)p->problem_mark.column + 1,
				 "%s (%s at %u:%u)", problem, p->context,
				 (unsigned)p->context_mark.line + 1,
				 (unsigned)p->context_mark.column + 1);
	else if (p->context)
		compose_diag_err(d, (unsigned)p->problem_mark.line + 1,
				 (unsigned)p->problem_mark.column + 1,
				 "%s (%s)", problem, p->context);
	else
		compose_diag_err(d, (unsigned)p->problem_mark.line + 1,
				 (unsigned)p->problem_mark.column + 1, "%s",
				 problem);
	if (strstr(problem, "cannot start any token"))
		compose_diag_hint(d, "YAML indentation must use spaces, not tabs");
}

int
compose_ytree_parse(const void *buf, size_t len, struct compose_diag *d,
		    struct compose_ynode **out)
{
	struct builder b = { .d = d };
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0, done = 0;

	*out = NULL;
	if (len > COMPOSE_YAML_MAX_BYTES) {
		compose_diag_err(d, 0, 0, "file too large (%zu bytes, limit %u)",
				 len, COMPOSE_YAML_MAX_BYTES);
		return -EINVAL;
	}
	if ((rc = check_bytes(buf, len, d)))
		return rc;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			report_yaml_error(&p, d);
			rc = p.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (rc)
			break;
	}
	yaml_parser_delete(&p);
	if (!rc && !b.root) {
		compose_diag_err(d, 1, 1, "empty manifest");
		compose_diag_hint(d, "a manifest needs at least 'name:' and 'app:'");
		rc = -EINVAL;
	}
	if (rc) {
		compose_ytree_free(b.root);
		return rc;
	}
	*out = b.root;
	return 0;
}
