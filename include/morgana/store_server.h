/*
 * morgana/store_server.h - the dev-mode xenstore: a server library.
 *
 * Serves the xenstore wire protocol (xen/io/xs_wire.h) on a unix socket, so
 * our client (morgana/store.h) and Xen's own tools (xenstore-ls with
 * XENSTORED_PATH=<socket>) both work against it.  compose embeds it; the
 * `ringstore` command runs it standalone.  See docs/store.md for what is
 * supported and the identity/permission model.
 *
 * Identity: a connection's SO_PEERCRED pid, or its nearest ancestor (via
 * /proc/<pid>/status PPid), registered by introduce, gives its domid;
 * anything else is dom0 and privileged, as xenstored treats its socket (so
 * the socket is created 0600).
 *
 * Single-threaded and non-blocking: one slow or hostile client never stalls
 * the others.  A client that sends a malformed message or lets its output
 * queue overflow is disconnected with one log line.
 */
#ifndef MORGANA_STORE_SERVER_H
#define MORGANA_STORE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ring_store_server;

struct ring_store_server_opts {
	size_t sz;		/* sizeof(struct ring_store_server_opts) */
	const char *path;	/* socket path; created 0600, a stale file
				 * there is replaced */
	/* Quotas for unprivileged domains (0: the default in brackets). */
	unsigned max_nodes;	/* nodes owned per domain [1000] -> ENOSPC */
	unsigned max_value;	/* value bytes [2048] -> E2BIG */
	unsigned max_watches;	/* watches per connection [128] -> E2BIG */
	unsigned max_tx;	/* open transactions per domain [10]
				 * -> ENOSPC */
	size_t :0;
};

/*
 * Create the store (with the root "/" owned by dom0, perms "n0") and listen
 * on opts->path.  The caller keeps opts.  *out is the new server.  Does not
 * block.  Returns 0, -EINVAL (opts NULL, sz too small, path NULL or too
 * long), -EADDRINUSE (a live server is on that path), -ENOMEM, -errno.
 */
int ring_store_server_open(const struct ring_store_server_opts *opts,
			   struct ring_store_server **out);

/* An epoll fd, owned by the server: readable when dispatch has work. */
int ring_store_server_fd(const struct ring_store_server *srv);

/*
 * Do all work that is ready without blocking: accept connections, read and
 * answer requests, deliver watch events, flush output.  Call it when the
 * fd is readable (calling it otherwise is harmless).  Returns the number of
 * events handled (>= 0) or -errno on a failure of the server itself
 * (a client's failure only disconnects that client).
 */
int ring_store_server_dispatch(struct ring_store_server *srv);

/*
 * Register process `pid` as domain `domid` (1..32751), exactly as a dom0
 * client's XS_INTRODUCE does: creates /local/domain/<domid> (owner dom0,
 * readable by the domain), writes its `domid` and `pid` keys (dom0-owned,
 * readable by all), fires @introduceDomain.  Connections already open from
 * that process tree become that domain.  Returns 0, -EINVAL, -EEXIST (domid
 * or pid already registered otherwise; the same pair again is 0), -ENOMEM.
 */
int ring_store_server_introduce(struct ring_store_server *srv, uint16_t domid,
				pid_t pid);

/* Forget domain `domid`: fires @releaseDomain and disconnects its
 * connections (dropping their watches and transactions).  Its nodes stay.
 * Returns 0, -ENOENT (not introduced), -EINVAL. */
int ring_store_server_release(struct ring_store_server *srv, uint16_t domid);

/* Disconnect everyone, unlink the socket, free everything.  NULL ok. */
void ring_store_server_close(struct ring_store_server *srv);

#endif
