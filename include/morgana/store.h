/*
 * morgana/store.h - a xenstore client over the xenstore wire protocol.
 *
 * Talks to anything that speaks xen/io/xs_wire.h on a unix socket: our own
 * store (morgana/store_server.h, `ringstore`, compose) or a real xenstored
 * socket.  One connection per handle; a handle is not thread-safe.
 *
 * Request calls send one request and block until its reply arrives (the
 * store is a local socket, so this is short).  Watch events that arrive
 * meanwhile are queued, in order, and handed out by ring_store_next_watch()
 * or ring_store_wait_watch().
 *
 * Paths are absolute ("/local/domain/3/x") or relative to the caller's
 * domain home, /local/domain/<domid> ("device/vif/0/state").
 *
 * Errors are -errno: the store's XS_ERROR string ("ENOENT", "EACCES",
 * "EINVAL", "EEXIST", "EAGAIN", "E2BIG", "ENOSPC", "ENOSYS", "EPERM",
 * "EQUOTA" -> -EDQUOT; unknown names -> -EIO).  A store connection that
 * closes gives -EPIPE, and every later call on the handle gives -EPIPE too.
 * A reply that breaks the protocol (wrong length, type or req_id, a value
 * that is not what the request asks for) gives -EPROTO once, after which
 * the handle is dead (-EPIPE): the store is a peer like any other.
 */
#ifndef MORGANA_STORE_H
#define MORGANA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ring_store;

/* The transaction id meaning "no transaction". */
#define RING_XBT_NULL 0u

/* One entry of a node's permission list.  perm: 'n' none, 'r' read,
 * 'w' write, 'b' both.  The first entry names the owner and is the default
 * for every domain not listed after it. */
struct ring_store_perm {
	uint16_t domid;
	char perm;
};

/*
 * Connect to the store at `path`: a unix socket, or a character device
 * speaking the same messages (a Xen domain's /dev/xen/xenbus).  path NULL
 * means $XENSTORED_PATH, or /run/xenstored/socket if that is unset.  Blocks in
 * connect(2).  On success *out is a new handle (close it with
 * ring_store_close).  Returns 0, -ENOENT/-ECONNREFUSED if nobody listens,
 * -ENAMETOOLONG, -ENOMEM, or another -errno.
 */
int ring_store_open(const char *path, struct ring_store **out);

/* Close the connection and free the handle and its queued events.  The
 * store drops this connection's watches and open transactions.  NULL ok. */
void ring_store_close(struct ring_store *st);

/*
 * An fd for poll/epoll/io_uring, owned by the handle: readable while a watch
 * event is queued in the handle or the socket has bytes to read (or is
 * closed).  After it polls readable, call ring_store_next_watch() until it
 * returns 0.  (It is an epoll fd over the socket and an internal eventfd, so
 * events queued during a request call keep it readable.)
 */
int ring_store_fd(const struct ring_store *st);

/*
 * Read the value at `path`, in transaction `tx` (or RING_XBT_NULL).  On
 * success *val is a malloc'd copy (the caller frees it) with a NUL appended
 * after the value's bytes, and *len (if len is not NULL) is the value length
 * without that NUL.  Blocks for the reply.  Returns 0, -ENOENT, -EACCES,
 * -EINVAL (bad path), -EPIPE, -EPROTO, -ENOMEM.
 */
int ring_store_read(struct ring_store *st, uint32_t tx, const char *path,
		    char **val, size_t *len);

/*
 * Write `len` bytes at `val` to `path`, creating the node and any missing
 * parents.  The caller keeps `val`.  Blocks for the reply.  Returns 0,
 * -EACCES, -EINVAL, -E2BIG (value or path too big for one message or over
 * the store's value quota), -ENOSPC (node quota), -ENOENT (unknown tx),
 * -EPIPE, -EPROTO.
 */
int ring_store_write(struct ring_store *st, uint32_t tx, const char *path,
		     const void *val, size_t len);

/* ring_store_write of a printf-formatted string (without its NUL).  Same
 * returns, plus -ENOMEM. */
int ring_store_printf(struct ring_store *st, uint32_t tx, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Read `path` and parse it as an unsigned decimal number (no sign, no
 * spaces, no trailing bytes, fits in unsigned long) into *v.  Blocks.
 * Returns 0, -ENOENT, -EINVAL if the value is not such a number, or any
 * error of ring_store_read.
 */
int ring_store_read_uint(struct ring_store *st, uint32_t tx, const char *path,
			 unsigned long *v);

/* Make sure `path` exists (creating parents, empty values); an existing
 * node is left as it is.  Blocks.  Returns 0 or as ring_store_write. */
int ring_store_mkdir(struct ring_store *st, uint32_t tx, const char *path);

/* Remove `path` and everything below it.  Removing a missing node whose
 * parent exists is not an error.  Blocks.  Returns 0, -ENOENT (parent
 * missing too), -EACCES, -EINVAL, -EPIPE, -EPROTO. */
int ring_store_rm(struct ring_store *st, uint32_t tx, const char *path);

/*
 * List the children of `path` (leaf names only, in creation order).  On
 * success *names is a malloc'd array of *n malloc'd strings (free with
 * ring_store_free_names); *names is NULL when *n is 0.  Lists longer than
 * one message are fetched with XS_DIRECTORY_PART.  Blocks.  Returns 0,
 * -ENOENT, -EACCES, -EINVAL, -EAGAIN (the list kept changing while it was
 * fetched in parts), -EPIPE, -EPROTO, -ENOMEM.
 */
int ring_store_directory(struct ring_store *st, uint32_t tx, const char *path,
			 char ***names, unsigned *n);

/* Free what ring_store_directory returned.  NULL ok. */
void ring_store_free_names(char **names, unsigned n);

/*
 * Replace the permission list of `path` with p[0..n-1] (n >= 1; p[0] is
 * the owner and the default).  The caller keeps p.  Only the owner or dom0
 * may do this, and only dom0 may change the owner.  Blocks.  Returns 0,
 * -ENOENT, -EACCES, -EPERM (owner change by a domain), -EINVAL (n == 0, a
 * bad perm letter), -E2BIG (list too long for one message), -EPIPE, -EPROTO.
 */
int ring_store_set_perms(struct ring_store *st, uint32_t tx, const char *path,
			 const struct ring_store_perm *p, unsigned n);

/*
 * Get the permission list of `path`.  On success *p is a malloc'd array of
 * *n (>= 1) entries; the caller frees it.  Blocks.  Returns 0, -ENOENT,
 * -EACCES, -EINVAL, -EPIPE, -EPROTO, -ENOMEM.
 */
int ring_store_get_perms(struct ring_store *st, uint32_t tx, const char *path,
			 struct ring_store_perm **p, unsigned *n);

/*
 * Watch `path` (and everything below it), or a special path
 * "@introduceDomain" / "@releaseDomain".  Events carry the changed path
 * (relative if `path` was relative) and `token`.  The store fires every new
 * watch once straight away with path == `path`.  Blocks for the ack.
 * Returns 0, -EEXIST (same path and token already watched), -E2BIG (watch
 * quota), -EINVAL, -EPIPE, -EPROTO.
 */
int ring_store_watch(struct ring_store *st, const char *path,
		     const char *token);

/* Remove the watch set with the same path and token.  Events of it already
 * queued in the handle stay queued.  Blocks.  Returns 0, -ENOENT, -EINVAL,
 * -EPIPE, -EPROTO. */
int ring_store_unwatch(struct ring_store *st, const char *path,
		       const char *token);

/*
 * Take the oldest watch event without blocking: from the handle's queue,
 * else from whatever the socket has ready.  Returns 1 with *path and *token
 * malloc'd (the caller frees both), 0 if there is none, -EPIPE if the store
 * connection is gone, -EPROTO if the store sent garbage, -ENOMEM.
 */
int ring_store_next_watch(struct ring_store *st, char **path, char **token);

/*
 * As ring_store_next_watch, but block up to timeout_ms (< 0: forever) for
 * an event.  Returns 1 (*path, *token as above), -ETIMEDOUT, -EPIPE,
 * -EPROTO, -ENOMEM.
 */
int ring_store_wait_watch(struct ring_store *st, int timeout_ms, char **path,
			  char **token);

/* Start a transaction: *tx is its id for the calls above.  Blocks.
 * Returns 0, -ENOSPC (too many open for this domain), -EPIPE, -EPROTO. */
int ring_store_tx_start(struct ring_store *st, uint32_t *tx);

/*
 * End transaction tx: commit (true) or discard (false).  The id is invalid
 * afterwards whatever the result.  Watch events of a committed transaction
 * fire at commit.  Blocks.  Returns 0, -EAGAIN if a node the transaction
 * read or wrote was changed by someone else since it started (nothing was
 * applied: redo the whole transaction), -ENOENT (unknown tx), -EPIPE,
 * -EPROTO.
 */
int ring_store_tx_end(struct ring_store *st, uint32_t tx, bool commit);

/*
 * Tell the store that process `pid` (and its descendants) is domain
 * `domid` (1..32751).  Privileged (dom0) only.  Creates /local/domain/<domid>
 * (owner dom0, readable by the domain) with the keys `domid` and `pid`
 * (readable by all) and fires @introduceDomain.  Sends the dev-mode payload
 * "<domid>\0<pid>\0<port>\0" (port 0).  Blocks.  Returns 0, -EACCES (not
 * dom0), -EEXIST (domid or pid already introduced differently), -EINVAL,
 * -EPIPE, -EPROTO.
 */
int ring_store_introduce(struct ring_store *st, uint16_t domid, pid_t pid);

/* Forget domain `domid`: fires @releaseDomain, disconnects its connections
 * (dropping their watches and transactions).  Its nodes stay.  Privileged
 * only.  Blocks.  Returns 0, -ENOENT (not introduced), -EACCES, -EINVAL,
 * -EPIPE, -EPROTO. */
int ring_store_release(struct ring_store *st, uint16_t domid);

/* The home path of `domid` ("/local/domain/<domid>") as the store says it;
 * *path is malloc'd, the caller frees it.  Blocks.  Returns 0, -EINVAL,
 * -EPIPE, -EPROTO, -ENOMEM. */
int ring_store_get_domain_path(struct ring_store *st, uint16_t domid,
			       char **path);

/*
 * Which domain the store thinks this connection is: reads the relative key
 * "domid" (written by introduce); 0 (dom0) if it is absent.  Blocks.
 * Returns 0, -EINVAL (a non-numeric or out-of-range value), -EACCES,
 * -EPIPE, -EPROTO.
 */
int ring_store_self(struct ring_store *st, uint16_t *domid);

#endif
