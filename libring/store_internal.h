/*
 * store_internal.h - the store's tree, permissions and transactions (no
 * I/O), shared by store_server.c, the unit tests and the fuzzer.
 *
 * Every path given to st_* is absolute and already valid
 * (st_path_valid()); the server resolves relative paths first.  Domain 0
 * is privileged.  Errors are -errno with the xenstore meanings.
 */
#ifndef RING_STORE_INTERNAL_H
#define RING_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/store.h"

#define ST_PERM_R 1u
#define ST_PERM_W 2u

struct st_tree;
struct st_tx;

/* Called for every committed change: `path` changed (rm: it and its
 * subtree were removed); perms are the node's (for the watcher's read
 * check).  Pointers are valid during the call only. */
typedef void st_event_fn(void *arg, const char *path, bool rm,
			 const struct ring_store_perm *perms, unsigned nperms);

struct st_limits {
	unsigned max_nodes;	/* per unprivileged owner */
	unsigned max_value;	/* bytes, unprivileged writers */
	unsigned max_tx_ops;	/* logged changes per transaction */
};

/* A new tree holding "/" (perms n0).  NULL on ENOMEM. */
struct st_tree *st_tree_new(const struct st_limits *lim, st_event_fn *fn,
			    void *arg);
void st_tree_free(struct st_tree *t);
/* Nodes owned by domid (for tests and quota). */
unsigned st_tree_owned(const struct st_tree *t, uint16_t domid);

/*
 * Path syntax as xenstored: "/" or "/a/b" with [A-Za-z0-9_@-] components,
 * no empty component, at most XENSTORE_ABS_PATH_MAX bytes.  Special watch
 * paths start with '@' and are accepted only when `special`.
 */
bool st_path_valid(const char *path, bool special);

/* Each op below runs on the tree, or inside tx when tx is not NULL. */
int st_read(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	    const char *path, const char **val, size_t *len);
int st_write(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	     const char *path, const void *val, size_t len);
int st_mkdir(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	     const char *path);
int st_rm(struct st_tree *t, struct st_tx *tx, uint16_t dom,
	  const char *path);
/* *buf: malloc'd children names, each NUL-terminated, *len bytes in all;
 * *gen changes whenever the list does. */
int st_directory(struct st_tree *t, struct st_tx *tx, uint16_t dom,
		 const char *path, char **buf, size_t *len, uint64_t *gen);
/* *p points into the tree: valid until the next change. */
int st_get_perms(struct st_tree *t, struct st_tx *tx, uint16_t dom,
		 const char *path, const struct ring_store_perm **p,
		 unsigned *n);
int st_set_perms(struct st_tree *t, struct st_tx *tx, uint16_t dom,
		 const char *path, const struct ring_store_perm *p,
		 unsigned n);
/* Same as st_write/st_set_perms but with no permission or quota check
 * (the store's own bookkeeping, e.g. introduce). */
int st_write_as_store(struct st_tree *t, const char *path, const void *val,
		      size_t len, const struct ring_store_perm *p, unsigned n);
int st_mkdir_as_store(struct st_tree *t, const char *path,
		      const struct ring_store_perm *p, unsigned n);

/* Start a transaction for domain dom: a snapshot of the tree. NULL on
 * ENOMEM. */
struct st_tx *st_tx_start(struct st_tree *t, uint16_t dom);
/* Commit (replaying its changes on the tree, firing events) or discard;
 * frees tx either way.  Returns 0 or -EAGAIN on conflict. */
int st_tx_end(struct st_tree *t, struct st_tx *tx, bool commit);

/* For the fuzzer: serve an already connected socket as domain domid (the
 * server owns fd from now on).  Returns 0 or -ENOMEM. */
struct ring_store_server;
int st_server_adopt(struct ring_store_server *srv, int fd, uint16_t domid);

/* Permission letter <-> bits. */
int st_perm_from_char(char c);
char st_perm_to_char(unsigned bits);

#endif
