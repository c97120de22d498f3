/* The store's tree: nodes, permissions (as xenstored), quotas and
 * snapshot transactions with optimistic conflict detection. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "store_internal.h"

struct st_node {
	char *name;			/* component; "" for the root */
	char *val;
	size_t vlen;
	struct ring_store_perm *perms;
	unsigned nperms;
	uint64_t gen;			/* value, perms or (re)creation */
	uint64_t cgen;			/* the children list */
	struct st_node *parent;
	struct st_node **kids;
	unsigned nkids, capkids;
};

struct st_owner {
	uint16_t domid;
	unsigned n;
};

struct st_tree {
	struct st_node *root;
	uint64_t gen;
	struct st_limits lim;
	st_event_fn *fn;
	void *arg;
	struct st_owner *owners;
	unsigned nowners, capowners;
};

enum st_op { OP_WRITE, OP_MKDIR, OP_RM, OP_PERMS };

struct st_logop {
	enum st_op op;
	char *path;
	char *val;
	size_t len;
	struct ring_store_perm *perms;
	unsigned n;
};

struct st_touch {
	char *path;
	bool existed;
	bool kids;
};

struct st_tx {
	struct st_tree *snap;
	uint16_t dom;
	uint64_t start;
	struct st_touch *touch;
	unsigned ntouch, captouch;
	struct st_logop *log;
	unsigned nlog, caplog;
	bool failed;			/* ENOMEM while recording: can't commit */
};

/* ---- permissions ---- */

int
st_perm_from_char(char c)
{
	switch (c) {
	case 'n': return 0;
	case 'r': return ST_PERM_R;
	case 'w': return ST_PERM_W;
	case 'b': return ST_PERM_R | ST_PERM_W;
	}
	return -EINVAL;
}

char
st_perm_to_char(unsigned bits)
{
	static const char c[] = "nrwb";

	return c[bits & 3];
}

static unsigned
perm_bits(const struct st_node *n, uint16_t dom)
{
	if (dom == 0 || n->perms[0].domid == dom)
		return ST_PERM_R | ST_PERM_W;
	for (unsigned i = 1; i < n->nperms; i++)
		if (n->perms[i].domid == dom)
			return (unsigned)st_perm_from_char(n->perms[i].perm);
	return (unsigned)st_perm_from_char(n->perms[0].perm);
}

/* ---- owners (quota) ---- */

static struct st_owner *
owner_slot(struct st_tree *t, uint16_t domid, bool add)
{
	for (unsigned i = 0; i < t->nowners; i++)
		if (t->owners[i].domid == domid)
			return &t->owners[i];
	if (!add)
		return NULL;
	if (t->nowners == t->capowners) {
		unsigned cap = t->capowners ? t->capowners * 2 : 8;
		struct st_owner *o = realloc(t->owners, cap * sizeof(*o));

		if (o == NULL)
			return NULL;
		t->owners = o;
		t->capowners = cap;
	}
	t->owners[t->nowners] = (struct st_owner){ .domid = domid };
	return &t->owners[t->nowners++];
}

/* Counting can't fail the operation: if the slot can't be allocated the
 * count is merely lost (quota then errs on the generous side). */
static void
owner_add(struct st_tree *t, uint16_t domid, int delta)
{
	struct st_owner *o = owner_slot(t, domid, delta > 0);

	if (o == NULL)
		return;
	if (delta < 0 && o->n < (unsigned)-delta)
		o->n = 0;
	else
		o->n = (unsigned)((int)o->n + delta);
}

unsigned
st_tree_owned(const struct st_tree *t, uint16_t domid)
{
	for (unsigned i = 0; i < t->nowners; i++)
		if (t->owners[i].domid == domid)
			return t->owners[i].n;
	return 0;
}

/* ---- nodes ---- */

static void
node_free(struct st_node *n)
{
	if (n == NULL)
		return;
	for (unsigned i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->val);
	free(n->perms);
	free(n);
}

static struct st_node *
node_new(const char *name, size_t nlen, const struct ring_store_perm *p,
	 unsigned np)
{
	struct st_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->name = strndup(name, nlen);
	n->val = calloc(1, 1);
	n->perms = malloc(np * sizeof(*p));
	if (n->name == NULL || n->val == NULL || n->perms == NULL) {
		node_free(n);
		return NULL;
	}
	memcpy(n->perms, p, np * sizeof(*p));
	n->nperms = np;
	return n;
}

static struct st_node *
node_clone(const struct st_node *s, struct st_node *parent)
{
	struct st_node *n = node_new(s->name, strlen(s->name), s->perms,
				     s->nperms);

	if (n == NULL)
		return NULL;
	free(n->val);
	n->val = malloc(s->vlen + 1);
	n->kids = s->nkids ? calloc(s->nkids, sizeof(*n->kids)) : NULL;
	if (n->val == NULL || (s->nkids && n->kids == NULL)) {
		node_free(n);
		return NULL;
	}
	memcpy(n->val, s->val, s->vlen + 1);
	n->vlen = s->vlen;
	n->gen = s->gen;
	n->cgen = s->cgen;
	n->parent = parent;
	n->capkids = s->nkids;
	for (unsigned i = 0; i < s->nkids; i++) {
		n->kids[i] = node_clone(s->kids[i], n);
		if (n->kids[i] == NULL) {
			node_free(n);
			return NULL;
		}
		n->nkids++;
	}
	return n;
}

static struct st_node *
kid_find(const struct st_node *n, const char *name, size_t len)
{
	for (unsigned i = 0; i < n->nkids; i++)
		if (strncmp(n->kids[i]->name, name, len) == 0 &&
		    n->kids[i]->name[len] == '\0')
			return n->kids[i];
	return NULL;
}

/* Walk `path`; return the node, or NULL with *anc (if given) set to the
 * deepest existing ancestor. */
static struct st_node *
lookup(struct st_tree *t, const char *path, struct st_node **anc)
{
	struct st_node *n = t->root;
	const char *p = path + 1;

	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct st_node *k = kid_find(n, p, len);

		if (k == NULL) {
			if (anc)
				*anc = n;
			return NULL;
		}
		n = k;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

/* The error for a missing node: EACCES if the caller may not even read
 * the deepest existing ancestor (so it learns nothing), else ENOENT. */
static int
missing(const struct st_node *anc, uint16_t dom)
{
	return (perm_bits(anc, dom) & ST_PERM_R) ? -ENOENT : -EACCES;
}

bool
st_path_valid(const char *path, bool special)
{
	size_t len = strnlen(path, XENSTORE_ABS_PATH_MAX + 1);

	if (len == 0 || len > XENSTORE_ABS_PATH_MAX)
		return false;
	if (path[0] == '@') {
		if (!special || len == 1)
			return false;
	} else if (path[0] != '/') {
		return false;
	}
	if (strcmp(path, "/") == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		char c = path[i];

		if (c == '/') {
			if (path[i + 1] == '/' || path[i + 1] == '\0')
				return false;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '@'))
			return false;
	}
	return true;
}

/* ---- tree ---- */

struct st_tree *
st_tree_new(const struct st_limits *lim, st_event_fn *fn, void *arg)
{
	static const struct ring_store_perm root_perm = { 0, 'n' };
	struct st_tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->root = node_new("", 0, &root_perm, 1);
	if (t->root == NULL) {
		free(t);
		return NULL;
	}
	t->lim = *lim;
	t->fn = fn;
	t->arg = arg;
	t->gen = 1;
	t->root->gen = t->root->cgen = 1;
	return t;
}

void
st_tree_free(struct st_tree *t)
{
	if (t == NULL)
		return;
	node_free(t->root);
	free(t->owners);
	free(t);
}

static struct st_tree *
tree_clone(struct st_tree *t)
{
	struct st_tree *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->root = node_clone(t->root, NULL);
	c->owners = t->nowners ? malloc(t->nowners * sizeof(*c->owners))
			       : NULL;
	if (c->root == NULL || (t->nowners && c->owners == NULL)) {
		st_tree_free(c);
		return NULL;
	}
	if (t->nowners)
		memcpy(c->owners, t->owners, t->nowners * sizeof(*c->owners));
	c->nowners = c->capowners = t->nowners;
	c->gen = t->gen;
	c->lim = t->lim;
	return c;
}

static void
fire(struct st_tree *t, const char *path, bool rm, const struct st_node *n)
{
	if (t->fn != NULL)
		t->fn(t->arg, path, rm, n->perms, n->nperms);
}

/* ---- transaction bookkeeping ---- */

static void
touch_one(struct st_tx *tx, const char *path, size_t len, bool kids)
{
	struct st_node *n;
	char *p;

	for (unsigned i = 0; i < tx->ntouch; i++)
		if (strncmp(tx->touch[i].path, path, len) == 0 &&
		    tx->touch[i].path[len] == '\0') {
			tx->touch[i].kids |= kids;
			return;
		}
	if (tx->ntouch == tx->captouch) {
		unsigned cap = tx->captouch ? tx->captouch * 2 : 16;
		struct st_touch *a = realloc(tx->touch, cap * sizeof(*a));

		if (a == NULL) {
			tx->failed = true;
			return;
		}
		tx->touch = a;
		tx->captouch = cap;
	}
	p = strndup(path, len);
	if (p == NULL) {
		tx->failed = true;
		return;
	}
	n = lookup(tx->snap, p, NULL);
	tx->touch[tx->ntouch++] = (struct st_touch){ .path = p,
		.existed = n != NULL, .kids = kids };
}

/* Record that the transaction depends on `path` and on the perms and
 * existence of every ancestor (which decide access and creation). */
static void
touch(struct st_tx *tx, const char *path, bool kids)
{
	if (tx == NULL)
		return;
	touch_one(tx, "/", 1, false);
	for (size_t i = 1; path[i] != '\0'; i++)
		if (path[i] == '/')
			touch_one(tx, path, i, false);
	if (strcmp(path, "/") != 0)
		touch_one(tx, path, strlen(path), kids);
	else if (kids)
		touch_one(tx, "/", 1, true);
}

static void
touch_subtree(struct st_tx *tx, struct st_node *n, char *buf, size_t len,
	      size_t cap)
{
	touch_one(tx, buf, len, false);
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t kl = strlen(n->kids[i]->name);
		size_t off = len == 1 ? 1 : len + 1;

		if (off + kl + 1 > cap)
			continue;	/* can't happen: paths are bounded */
		if (len != 1)
			buf[len] = '/';
		memcpy(buf + off, n->kids[i]->name, kl + 1);
		touch_subtree(tx, n->kids[i], buf, off + kl, cap);
		buf[len] = '\0';
	}
}

static int
log_op(struct st_tx *tx, enum st_op op, const char *path, const void *val,
       size_t len, const struct ring_store_perm *p, unsigned n)
{
	struct st_logop *l;

	if (tx->nlog >= tx->snap->lim.max_tx_ops)
		return -ENOSPC;
	if (tx->nlog == tx->caplog) {
		unsigned cap = tx->caplog ? tx->caplog * 2 : 8;
		struct st_logop *a = realloc(tx->log, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		tx->log = a;
		tx->caplog = cap;
	}
	l = &tx->log[tx->nlog];
	*l = (struct st_logop){ .op = op, .len = len, .n = n };
	l->path = strdup(path);
	if (val != NULL) {
		l->val = malloc(len + 1);
		if (l->val != NULL)
			memcpy(l->val, val, len);
	}
	if (p != NULL) {
		l->perms = malloc(n * sizeof(*p));
		if (l->perms != NULL)
			memcpy(l->perms, p, n * sizeof(*p));
	}
	if (l->path == NULL || (val != NULL && l->val == NULL) ||
	    (p != NULL && l->perms == NULL)) {
		free(l->path);
		free(l->val);
		free(l->perms);
		return -ENOMEM;
	}
	tx->nlog++;
	return 0;
}

/* ---- operations (on one tree; `force` skips checks, for replay) ---- */

static int
set_value(struct st_node *n, const void *val, size_t len)
{
	char *v = malloc(len + 1);

	if (v == NULL)
		return -ENOMEM;
	if (len)
		memcpy(v, val, len);
	v[len] = '\0';
	free(n->val);
	n->val = v;
	n->vlen = len;
	return 0;
}

static int
add_kid(struct st_node *parent, struct st_node *k)
{
	if (parent->nkids == parent->capkids) {
		unsigned cap = parent->capkids ? parent->capkids * 2 : 4;
		struct st_node **a = realloc(parent->kids, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		parent->kids = a;
		parent->capkids = cap;
	}
	parent->kids[parent->nkids++] = k;
	k->parent = parent;
	return 0;
}

/* Create the missing tail of `path` below anc; returns the new leaf. */
static int
create(struct st_tree *t, struct st_node *anc, const char *path,
       uint16_t dom, bool force, const struct ring_store_perm *sp,
       unsigned sn, struct st_node **out)
{
	const char *p = path + 1;
	struct st_node *n = t->root;
	unsigned todo = 0;

	/* Skip the components that exist (up to anc). */
	while (n != anc) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		n = kid_find(n, p, len);
		p += len + 1;
	}
	for (const char *q = p; *q; q++)
		todo += *q == '/';
	todo++;
	if (!force && dom != 0 &&
	    st_tree_owned(t, dom) + todo > t->lim.max_nodes)
		return -ENOSPC;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct st_node *k;

		k = sp ? node_new(p, len, sp, sn)
		       : node_new(p, len, n->perms, n->nperms);
		if (k == NULL)
			return -ENOMEM;
		/* As xenstored: a domain owns what it creates. */
		if (sp == NULL && dom != 0)
			k->perms[0].domid = dom;
		if (add_kid(n, k) < 0) {
			node_free(k);
			return -ENOMEM;
		}
		k->gen = k->cgen = ++t->gen;
		n->cgen = ++t->gen;
		owner_add(t, k->perms[0].domid, 1);
		n = k;
		p += len;
		if (*p == '/')
			p++;
	}
	*out = n;
	return 0;
}

static int
do_write(struct st_tree *t, uint16_t dom, const char *path, const void *val,
	 size_t len, bool force)
{
	struct st_node *anc = NULL, *n;
	int rc;

	if (strcmp(path, "/") == 0 && !force && dom != 0)
		return -EACCES;
	if (!force && dom != 0 && len > t->lim.max_value)
		return -E2BIG;
	n = lookup(t, path, &anc);
	if (n == NULL) {
		if (!force && !(perm_bits(anc, dom) & ST_PERM_W))
			return -EACCES;
		rc = create(t, anc, path, dom, force, NULL, 0, &n);
		if (rc < 0)
			return rc;
	} else if (!force && !(perm_bits(n, dom) & ST_PERM_W)) {
		return -EACCES;
	}
	rc = set_value(n, val, len);
	if (rc < 0)
		return rc;
	n->gen = ++t->gen;
	fire(t, path, false, n);
	return 0;
}

static int
do_mkdir(struct st_tree *t, uint16_t dom, const char *path, bool force)
{
	struct st_node *anc = NULL, *n;
	int rc;

	n = lookup(t, path, &anc);
	if (n != NULL)
		return 0;
	if (!force && !(perm_bits(anc, dom) & ST_PERM_W))
		return -EACCES;
	rc = create(t, anc, path, dom, force, NULL, 0, &n);
	if (rc < 0)
		return rc;
	fire(t, path, false, n);
	return 0;
}

static void
uncount(struct st_tree *t, struct st_node *n)
{
	owner_add(t, n->perms[0].domid, -1);
	for (unsigned i = 0; i < n->nkids; i++)
		uncount(t, n->kids[i]);
}

static int
do_rm(struct st_tree *t, uint16_t dom, const char *path, bool force)
{
	struct st_node *anc = NULL, *n, *parent;
	struct ring_store_perm *perms;
	unsigned np;

	if (strcmp(path, "/") == 0)
		return -EINVAL;
	n = lookup(t, path, &anc);
	if (n == NULL) {
		/* Not an error if the parent exists (xenstore.txt). */
		const char *slash = strrchr(path, '/');
		size_t plen = (size_t)(slash - path);
		char parent_path[XENSTORE_ABS_PATH_MAX + 1];

		if (plen == 0)
			return 0;
		memcpy(parent_path, path, plen);
		parent_path[plen] = '\0';
		if (lookup(t, parent_path, NULL) != NULL)
			return 0;
		return force ? 0 : missing(anc, dom);
	}
	if (!force && !(perm_bits(n, dom) & ST_PERM_W))
		return -EACCES;
	parent = n->parent;
	for (unsigned i = 0; i < parent->nkids; i++)
		if (parent->kids[i] == n) {
			memmove(&parent->kids[i], &parent->kids[i + 1],
				(parent->nkids - i - 1) * sizeof(n));
			parent->nkids--;
			break;
		}
	parent->cgen = ++t->gen;
	uncount(t, n);
	/* Fire with the removed node's perms, then free it. */
	perms = n->perms;
	np = n->nperms;
	if (t->fn != NULL)
		t->fn(t->arg, path, true, perms, np);
	node_free(n);
	return 0;
}

static int
perms_check(const struct ring_store_perm *p, unsigned n)
{
	if (n == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (st_perm_from_char(p[i].perm) < 0)
			return -EINVAL;
	return 0;
}

static int
do_set_perms(struct st_tree *t, uint16_t dom, const char *path,
	     const struct ring_store_perm *p, unsigned np, bool force)
{
	struct st_node *anc = NULL, *n = lookup(t, path, &anc);
	struct ring_store_perm *cp;
	int rc = perms_check(p, np);

	if (rc < 0)
		return rc;
	if (n == NULL)
		return force ? 0 : missing(anc, dom);
	if (!force && dom != 0) {
		if (n->perms[0].domid != dom)
			return -EACCES;
		if (p[0].domid != dom)
			return -EPERM;
	}
	cp = malloc(np * sizeof(*cp));
	if (cp == NULL)
		return -ENOMEM;
	memcpy(cp, p, np * sizeof(*cp));
	owner_add(t, n->perms[0].domid, -1);
	owner_add(t, cp[0].domid, 1);
	free(n->perms);
	n->perms = cp;
	n->nperms = np;
	n->gen = ++t->gen;
	fire(t, path, false, n);
	return 0;
}

/* ---- the API: pick the tree, check, record, apply ---- */

static struct st_tree *
pick(struct st_tree *t, struct st_tx *tx)
{
	return tx ? tx->snap : t;
}

int
st_read(struct st_tree *t, struct st_tx *tx, uint16_t dom, const char *path,
	const char **val, size_t *len)
{
	struct st_node *anc = NULL, *n;

	touch(tx, path, false);
	n = lookup(pick(t, tx), path, &anc);
	if (n == NULL)
		return missing(anc, dom);
	if (!(perm_bits(n, dom) & ST_PERM_R))
		return -EACCES;
	*val = n->val;
	*len = n->vlen;
	return 0;
}

int
st_write(struct st_tree *t, struct st_tx *tx, uint16_t dom, const char *path,
	 const void *val, size_t len)
{
	int rc;

	touch(tx, path, false);
	rc = do_write(pick(t, tx), dom, path, val, len, false);
	if (rc == 0 && tx != NULL)
		rc = log_op(tx, OP_WRITE, path, val ? val : "", len, NULL, 0);
	return rc;
}

int
st_mkdir(struct st_tree *t, struct st_tx *tx, uint16_t dom, const char *path)
{
	int rc;

	touch(tx, path, false);
	rc = do_mkdir(pick(t, tx), dom, path, false);
	if (rc == 0 && tx != NULL)
		rc = log_op(tx, OP_MKDIR, path, NULL, 0, NULL, 0);
	return rc;
}

int
st_rm(struct st_tree *t, struct st_tx *tx, uint16_t dom, const char *path)
{
	int rc;

	if (tx != NULL) {
		struct st_node *n;
		char buf[XENSTORE_ABS_PATH_MAX + 2];

		touch(tx, path, false);
		n = lookup(tx->snap, path, NULL);
		if (n != NULL && strlen(path) < sizeof(buf)) {
			/* Later reads of the removed nodes must not look
			 * like creations by someone else at commit. */
			strcpy(buf, path);
			touch_subtree(tx, n, buf, strlen(buf), sizeof(buf));
		}
	}
	rc = do_rm(pick(t, tx), dom, path, false);
	if (rc == 0 && tx != NULL)
		rc = log_op(tx, OP_RM, path, NULL, 0, NULL, 0);
	return rc;
}

int
st_directory(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	     const char *path, char **buf, size_t *len, uint64_t *gen)
{
	struct st_node *anc = NULL, *n;
	size_t total = 0, off = 0;
	char *b;

	touch(tx, path, true);
	n = lookup(pick(t, tx), path, &anc);
	if (n == NULL)
		return missing(anc, dom);
	if (!(perm_bits(n, dom) & ST_PERM_R))
		return -EACCES;
	for (unsigned i = 0; i < n->nkids; i++)
		total += strlen(n->kids[i]->name) + 1;
	b = malloc(total + 1);
	if (b == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name) + 1;

		memcpy(b + off, n->kids[i]->name, l);
		off += l;
	}
	*buf = b;
	*len = total;
	*gen = n->cgen;
	return 0;
}

int
st_get_perms(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	     const char *path, const struct ring_store_perm **p, unsigned *np)
{
	struct st_node *anc = NULL, *n;

	touch(tx, path, false);
	n = lookup(pick(t, tx), path, &anc);
	if (n == NULL)
		return missing(anc, dom);
	if (!(perm_bits(n, dom) & ST_PERM_R))
		return -EACCES;
	*p = n->perms;
	*np = n->nperms;
	return 0;
}

int
st_set_perms(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	     const char *path, const struct ring_store_perm *p, unsigned n)
{
	int rc;

	touch(tx, path, false);
	rc = do_set_perms(pick(t, tx), dom, path, p, n, false);
	if (rc == 0 && tx != NULL)
		rc = log_op(tx, OP_PERMS, path, NULL, 0, p, n);
	return rc;
}

int
st_mkdir_as_store(struct st_tree *t, const char *path,
		  const struct ring_store_perm *p, unsigned n)
{
	struct st_node *anc = NULL, *node = lookup(t, path, &anc);
	int rc;

	if (node != NULL)
		return 0;
	rc = create(t, anc, path, 0, true, p, n, &node);
	if (rc == 0)
		fire(t, path, false, node);
	return rc;
}

int
st_write_as_store(struct st_tree *t, const char *path, const void *val,
		  size_t len, const struct ring_store_perm *p, unsigned n)
{
	int rc = perms_check(p, n);

	if (rc == 0)
		rc = do_write(t, 0, path, val, len, true);
	if (rc == 0)
		rc = do_set_perms(t, 0, path, p, n, true);
	return rc;
}

/* ---- transactions ---- */

struct st_tx *
st_tx_start(struct st_tree *t, uint16_t dom)
{
	struct st_tx *tx = calloc(1, sizeof(*tx));

	if (tx == NULL)
		return NULL;
	tx->snap = tree_clone(t);
	if (tx->snap == NULL) {
		free(tx);
		return NULL;
	}
	tx->dom = dom;
	tx->start = t->gen;
	return tx;
}

static void
tx_free(struct st_tx *tx)
{
	for (unsigned i = 0; i < tx->ntouch; i++)
		free(tx->touch[i].path);
	for (unsigned i = 0; i < tx->nlog; i++) {
		free(tx->log[i].path);
		free(tx->log[i].val);
		free(tx->log[i].perms);
	}
	free(tx->touch);
	free(tx->log);
	st_tree_free(tx->snap);
	free(tx);
}

static bool
conflict(struct st_tree *t, struct st_tx *tx)
{
	if (tx->failed)
		return true;
	for (unsigned i = 0; i < tx->ntouch; i++) {
		const struct st_touch *c = &tx->touch[i];
		struct st_node *n = lookup(t, c->path, NULL);

		if (!c->existed) {
			if (n != NULL)
				return true;
			continue;
		}
		if (n == NULL || n->gen > tx->start ||
		    (c->kids && n->cgen > tx->start))
			return true;
	}
	return false;
}

int
st_tx_end(struct st_tree *t, struct st_tx *tx, bool commit)
{
	int rc = 0;

	if (commit && conflict(t, tx))
		rc = -EAGAIN;
	else if (commit) {
		/* Nothing the tx depended on changed, so replaying its log
		 * gives the state it saw; checks were done in the snapshot. */
		for (unsigned i = 0; i < tx->nlog; i++) {
			const struct st_logop *l = &tx->log[i];

			switch (l->op) {
			case OP_WRITE:
				(void)do_write(t, tx->dom, l->path, l->val,
					       l->len, true);
				break;
			case OP_MKDIR:
				(void)do_mkdir(t, tx->dom, l->path, true);
				break;
			case OP_RM:
				(void)do_rm(t, tx->dom, l->path, true);
				break;
			case OP_PERMS:
				(void)do_set_perms(t, tx->dom, l->path,
						   l->perms, l->n, true);
				break;
			}
		}
	}
	tx_free(tx);
	return rc;
}
