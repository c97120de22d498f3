/* The dev-mode xenstore server: xs_wire over a unix socket, one epoll
 * loop, every client treated as hostile. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "morgana/log.h"
#include "morgana/store_server.h"
#include "store_internal.h"

#define HDR_LEN		16u
#define OUT_MAX		(256u * 1024)	/* queued bytes before disconnect */
#define OUT_PAUSE	(64u * 1024)	/* stop reading requests above this */
#define MSGS_PER_TURN	32		/* fairness between clients */
#define MAX_CONNS	1024
#define PROC_DEPTH	64
#define DOMID_MAX	0x7FEFu		/* below DOMID_FIRST_RESERVED */

struct watch {
	char *path;		/* absolute, or "@..." */
	char *token;
	size_t rel;		/* length of the home prefix to strip, or 0 */
};

struct conn_tx {
	uint32_t id;
	struct st_tx *tx;
};

struct conn {
	struct conn *next;
	int fd;
	pid_t pid;
	uint16_t domid;
	bool dead;
	uint32_t mask;
	unsigned char in[HDR_LEN + XENSTORE_PAYLOAD_MAX];
	size_t have;
	unsigned char *out;
	size_t olen, ooff, ocap;
	struct watch *w;
	unsigned nw, capw;
	struct conn_tx *tx;
	unsigned ntx, captx;
};

struct domain {
	uint16_t domid;
	pid_t pid;
};

struct ring_store_server {
	int epfd;
	int lfd;
	char *path;
	struct st_tree *tree;
	struct conn *conns;
	unsigned nconns;
	struct domain *doms;
	unsigned ndoms, capdoms;
	uint32_t next_tx;
	unsigned max_watches, max_tx;
};

/* ---- output ---- */

static void
conn_kill(struct ring_store_server *srv, struct conn *c, const char *why)
{
	if (c->dead)
		return;
	if (why != NULL)
		ring_log(RING_LOG_WARN,
			 "msg=\"store client disconnected\" reason=\"%s\" "
			 "pid=%d domid=%u", why, (int)c->pid, c->domid);
	c->dead = true;
	(void)epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void
queue(struct ring_store_server *srv, struct conn *c, uint32_t type,
      uint32_t req_id, uint32_t tx_id, const void *a, size_t alen,
      const void *b, size_t blen)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)(alen + blen) };
	size_t need = HDR_LEN + alen + blen;

	if (c->dead)
		return;
	if (c->olen - c->ooff + need > OUT_MAX) {
		conn_kill(srv, c, "output queue overflow");
		return;
	}
	if (c->ooff > 0 && c->olen + need > c->ocap) {
		memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
		c->olen -= c->ooff;
		c->ooff = 0;
	}
	if (c->olen + need > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 8192;
		unsigned char *o;

		while (cap < c->olen + need)
			cap *= 2;
		o = realloc(c->out, cap);
		if (o == NULL) {
			conn_kill(srv, c, "out of memory");
			return;
		}
		c->out = o;
		c->ocap = cap;
	}
	memcpy(c->out + c->olen, &h, HDR_LEN);
	if (alen)
		memcpy(c->out + c->olen + HDR_LEN, a, alen);
	if (blen)
		memcpy(c->out + c->olen + HDR_LEN + alen, b, blen);
	c->olen += need;
}

static void
reply(struct ring_store_server *srv, struct conn *c,
      const struct xsd_sockmsg *h, const void *data, size_t len)
{
	queue(srv, c, h->type, h->req_id, h->tx_id, data, len, NULL, 0);
}

static void
reply_ok(struct ring_store_server *srv, struct conn *c,
	 const struct xsd_sockmsg *h)
{
	reply(srv, c, h, "OK", 3);
}

static void
reply_err(struct ring_store_server *srv, struct conn *c,
	  const struct xsd_sockmsg *h, int err)
{
	const char *name = "EIO";

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]);
	     i++)
		if (xsd_errors[i].errnum == err)
			name = xsd_errors[i].errstring;
	queue(srv, c, XS_ERROR, h->req_id, h->tx_id, name, strlen(name) + 1,
	      NULL, 0);
}

static void
flush(struct ring_store_server *srv, struct conn *c)
{
	while (!c->dead && c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->out + c->ooff, c->olen - c->ooff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_kill(srv, c, errno == EPIPE ||
				  errno == ECONNRESET ? NULL : "send failed");
			return;
		}
		c->ooff += (size_t)n;
	}
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
}

static void
update_mask(struct ring_store_server *srv, struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (c->dead)
		return;
	if (c->olen - c->ooff < OUT_PAUSE)
		want |= EPOLLIN;
	if (c->olen > c->ooff)
		want |= EPOLLOUT;
	if (want == c->mask)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_kill(srv, c, "epoll_ctl failed");
	else
		c->mask = want;
}

/* ---- watches ---- */

static bool
is_child(const char *child, const char *parent)
{
	size_t pl = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/';
	return strncmp(child, parent, pl) == 0 &&
	       (child[pl] == '\0' || child[pl] == '/');
}

static unsigned
perm_bits(const struct ring_store_perm *p, unsigned n, uint16_t dom)
{
	if (dom == 0 || p[0].domid == dom)
		return ST_PERM_R | ST_PERM_W;
	for (unsigned i = 1; i < n; i++)
		if (p[i].domid == dom)
			return (unsigned)st_perm_from_char(p[i].perm);
	return (unsigned)st_perm_from_char(p[0].perm);
}

static void
send_event(struct ring_store_server *srv, struct conn *c,
	   const struct watch *w, const char *path)
{
	size_t pl, tl = strlen(w->token) + 1;

	if (w->rel && strlen(path) > w->rel)
		path += w->rel;
	pl = strlen(path) + 1;
	if (pl + tl > XENSTORE_PAYLOAD_MAX) {
		ring_log(RING_LOG_DEBUG, "msg=\"watch event too long, "
			 "dropped\" domid=%u", c->domid);
		return;
	}
	queue(srv, c, XS_WATCH_EVENT, 0, 0, path, pl, w->token, tl);
}

static void
on_change(void *arg, const char *path, bool rm,
	  const struct ring_store_perm *perms, unsigned np)
{
	struct ring_store_server *srv = arg;

	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->dead ||
		    !(perm_bits(perms, np, c->domid) & ST_PERM_R))
			continue;
		for (unsigned i = 0; i < c->nw && !c->dead; i++) {
			const struct watch *w = &c->w[i];

			if (w->path[0] == '@')
				continue;
			if (is_child(path, w->path))
				send_event(srv, c, w, path);
			else if (rm && is_child(w->path, path))
				send_event(srv, c, w, w->path);
		}
	}
}

/* Special events go to every watcher: dev mode has no secrets in domids. */
static void
special(struct ring_store_server *srv, const char *name)
{
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		for (unsigned i = 0; i < c->nw && !c->dead; i++)
			if (strcmp(c->w[i].path, name) == 0)
				send_event(srv, c, &c->w[i], name);
}

static void
drop_watches_tx(struct conn *c)
{
	for (unsigned i = 0; i < c->nw; i++) {
		free(c->w[i].path);
		free(c->w[i].token);
	}
	c->nw = 0;
	for (unsigned i = 0; i < c->ntx; i++)
		(void)st_tx_end(NULL, c->tx[i].tx, false);
	c->ntx = 0;
}

static void
conn_free(struct conn *c)
{
	drop_watches_tx(c);
	free(c->w);
	free(c->tx);
	free(c->out);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void
reap(struct ring_store_server *srv)
{
	struct conn **pp = &srv->conns;

	while (*pp != NULL) {
		struct conn *c = *pp;

		if (c->dead) {
			*pp = c->next;
			srv->nconns--;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* ---- identity ---- */

static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nPPid:");
	if (p == NULL)
		return 0;
	return (pid_t)strtol(p + 6, NULL, 10);
}

static uint16_t
resolve(struct ring_store_server *srv, pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < PROC_DEPTH; depth++) {
		for (unsigned i = 0; i < srv->ndoms; i++)
			if (srv->doms[i].pid == pid)
				return srv->doms[i].domid;
		pid = parent_of(pid);
	}
	return 0;
}

/* ---- requests ---- */

/* Split a payload of NUL-terminated strings; returns how many (up to max)
 * or -1 if the payload does not end in NUL. */
static int
split(const char *p, size_t len, const char **v, int max)
{
	int n = 0;
	size_t off = 0;

	if (len == 0 || p[len - 1] != '\0')
		return -1;
	while (off < len) {
		if (n < max)
			v[n] = p + off;
		n++;
		off += strlen(p + off) + 1;
	}
	return n < max ? n : max;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int
abs_path(const struct conn *c, const char *in, char *out, bool special)
{
	if (in[0] == '/' || (special && in[0] == '@')) {
		if (!st_path_valid(in, special))
			return -EINVAL;
		strcpy(out, in);
		return 0;
	}
	if (strlen(in) > XENSTORE_REL_PATH_MAX)
		return -EINVAL;
	snprintf(out, XENSTORE_ABS_PATH_MAX + 1, "/local/domain/%u/%s",
		 c->domid, in);
	return st_path_valid(out, false) ? 0 : -EINVAL;
}

static int
find_tx(struct conn *c, uint32_t id, struct st_tx **tx)
{
	*tx = NULL;
	if (id == 0)
		return 0;
	for (unsigned i = 0; i < c->ntx; i++)
		if (c->tx[i].id == id) {
			*tx = c->tx[i].tx;
			return 0;
		}
	return -ENOENT;
}

static int
do_introduce(struct ring_store_server *srv, uint16_t domid, pid_t pid)
{
	char path[64], val[16];
	struct ring_store_perm home[2] = { { 0, 'n' }, { domid, 'r' } };
	struct ring_store_perm pub = { 0, 'r' };
	int rc;

	if (domid == 0 || domid > DOMID_MAX || pid <= 1)
		return -EINVAL;
	for (unsigned i = 0; i < srv->ndoms; i++) {
		if (srv->doms[i].domid == domid && srv->doms[i].pid == pid)
			return 0;
		if (srv->doms[i].domid == domid || srv->doms[i].pid == pid)
			return -EEXIST;
	}
	if (srv->ndoms == srv->capdoms) {
		unsigned cap = srv->capdoms ? srv->capdoms * 2 : 8;
		struct domain *d = realloc(srv->doms, cap * sizeof(*d));

		if (d == NULL)
			return -ENOMEM;
		srv->doms = d;
		srv->capdoms = cap;
	}
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	rc = st_mkdir_as_store(srv->tree, path, home, 2);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	snprintf(val, sizeof(val), "%u", domid);
	if (rc == 0)
		rc = st_write_as_store(srv->tree, path, val, strlen(val),
				       &pub, 1);
	snprintf(path, sizeof(path), "/local/domain/%u/pid", domid);
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (rc == 0)
		rc = st_write_as_store(srv->tree, path, val, strlen(val),
				       &pub, 1);
	if (rc < 0)
		return rc;
	srv->doms[srv->ndoms++] = (struct domain){ domid, pid };
	/* Connections made before the introduce become the domain now. */
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		if (!c->dead && c->domid == 0)
			c->domid = resolve(srv, c->pid);
	special(srv, "@introduceDomain");
	ring_log(RING_LOG_INFO, "msg=\"domain introduced\" domid=%u pid=%d",
		 domid, (int)pid);
	return 0;
}

static int
do_release(struct ring_store_server *srv, uint16_t domid)
{
	unsigned i;

	if (domid == 0)
		return -EINVAL;
	for (i = 0; i < srv->ndoms; i++)
		if (srv->doms[i].domid == domid)
			break;
	if (i == srv->ndoms)
		return -ENOENT;
	srv->doms[i] = srv->doms[--srv->ndoms];
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		if (c->domid == domid)
			conn_kill(srv, c, "domain released");
	special(srv, "@releaseDomain");
	ring_log(RING_LOG_INFO, "msg=\"domain released\" domid=%u", domid);
	return 0;
}

static int
op_directory_part(struct ring_store_server *srv, struct conn *c,
		  const struct xsd_sockmsg *h, struct st_tx *tx,
		  const char *path, const char *offs)
{
	char out[XENSTORE_PAYLOAD_MAX];
	unsigned long off;
	uint64_t gen;
	size_t len, glen, used = 0, max;
	char *buf;
	int rc = parse_uint(offs, UINT32_MAX, &off);

	if (rc < 0)
		return rc;
	rc = st_directory(srv->tree, tx, c->domid, path, &buf, &len, &gen);
	if (rc < 0)
		return rc;
	glen = (size_t)snprintf(out, sizeof(out), "%llu",
				(unsigned long long)gen) + 1;
	max = sizeof(out) - glen - 1;
	if (off < len) {
		const char *p = buf + off;

		while (off + used < len) {
			size_t l = strlen(p + used) + 1;

			if (used + l > max)
				break;
			used += l;
		}
		if (used == 0) {	/* a name too long for the rest */
			free(buf);
			return -E2BIG;
		}
		memcpy(out + glen, p, used);
	}
	/* An empty string after the last name marks the end of the list. */
	if (off + used >= len)
		out[glen + used++] = '\0';
	free(buf);
	reply(srv, c, h, out, glen + used);
	return 0;
}

static int
parse_perms(const char **v, int n, struct ring_store_perm *p)
{
	for (int i = 0; i < n; i++) {
		unsigned long d;

		if (st_perm_from_char(v[i][0]) < 0 ||
		    parse_uint(v[i] + 1, 65535, &d) < 0)
			return -EINVAL;
		p[i].perm = v[i][0];
		p[i].domid = (uint16_t)d;
	}
	return 0;
}

static int
op_watch(struct ring_store_server *srv, struct conn *c,
	 const struct xsd_sockmsg *h, const char *wpath, const char *token,
	 bool add)
{
	char abs[XENSTORE_ABS_PATH_MAX + 1];
	struct watch *w;
	int rc = abs_path(c, wpath, abs, true);

	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < c->nw; i++) {
		if (strcmp(c->w[i].path, abs) != 0 ||
		    strcmp(c->w[i].token, token) != 0)
			continue;
		if (add)
			return -EEXIST;
		free(c->w[i].path);
		free(c->w[i].token);
		c->w[i] = c->w[--c->nw];
		reply_ok(srv, c, h);
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (c->domid != 0 && c->nw >= srv->max_watches)
		return -E2BIG;
	if (c->nw == c->capw) {
		unsigned cap = c->capw ? c->capw * 2 : 4;

		w = realloc(c->w, cap * sizeof(*w));
		if (w == NULL)
			return -ENOMEM;
		c->w = w;
		c->capw = cap;
	}
	w = &c->w[c->nw];
	w->path = strdup(abs);
	w->token = strdup(token);
	if (w->path == NULL || w->token == NULL) {
		free(w->path);
		free(w->token);
		return -ENOMEM;
	}
	w->rel = (wpath[0] != '/' && wpath[0] != '@')
		 ? strlen(abs) - strlen(wpath) : 0;
	c->nw++;
	reply_ok(srv, c, h);
	/* As xenstored: fire once straight away, after the ack. */
	send_event(srv, c, w, w->path);
	return 0;
}

static int
op_tx_start(struct ring_store_server *srv, struct conn *c,
	    const struct xsd_sockmsg *h)
{
	char id[16];
	struct st_tx *tx;
	bool used;

	if (h->tx_id != 0)
		return -EBUSY;
	if (c->domid != 0) {
		/* Per domain, not per connection: each open transaction is a
		 * snapshot of the whole tree. */
		unsigned open = 0;

		for (struct conn *o = srv->conns; o != NULL; o = o->next)
			if (!o->dead && o->domid == c->domid)
				open += o->ntx;
		if (open >= srv->max_tx)
			return -ENOSPC;
	}
	if (c->ntx == c->captx) {
		unsigned cap = c->captx ? c->captx * 2 : 4;
		struct conn_tx *a = realloc(c->tx, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		c->tx = a;
		c->captx = cap;
	}
	tx = st_tx_start(srv->tree, c->domid);
	if (tx == NULL)
		return -ENOMEM;
	do {
		if (++srv->next_tx == 0)
			srv->next_tx = 1;
		used = false;
		for (unsigned i = 0; i < c->ntx; i++)
			used |= c->tx[i].id == srv->next_tx;
	} while (used);
	c->tx[c->ntx++] = (struct conn_tx){ srv->next_tx, tx };
	snprintf(id, sizeof(id), "%u", srv->next_tx);
	reply(srv, c, h, id, strlen(id) + 1);
	return 0;
}

static int
op_tx_end(struct ring_store_server *srv, struct conn *c,
	  const struct xsd_sockmsg *h, const char *arg)
{
	struct st_tx *tx = NULL;
	int rc;

	if (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0)
		return -EINVAL;
	for (unsigned i = 0; i < c->ntx; i++)
		if (c->tx[i].id == h->tx_id && h->tx_id != 0) {
			tx = c->tx[i].tx;
			c->tx[i] = c->tx[--c->ntx];
			break;
		}
	if (tx == NULL)
		return -ENOENT;
	rc = st_tx_end(srv->tree, tx, arg[0] == 'T');
	if (rc == 0)
		reply_ok(srv, c, h);
	return rc;
}

/* Returns 0 if answered (or to be answered with an error by the caller:
 * negative), or 1 if the client broke the protocol. */
static int
handle(struct ring_store_server *srv, struct conn *c,
       const struct xsd_sockmsg *h, char *pl)
{
	const char *v[8];
	char path[XENSTORE_ABS_PATH_MAX + 1];
	struct ring_store_perm perms[XENSTORE_PAYLOAD_MAX / 2];
	struct st_tx *tx = NULL;
	unsigned long num = 0;
	const char *val;
	size_t len;
	int n = 0, rc;

	switch (h->type) {
	case XS_WATCH_EVENT:
	case XS_ERROR:
		return 1;
	case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM:
	case XS_DIRECTORY: case XS_DIRECTORY_PART: case XS_GET_PERMS:
	case XS_SET_PERMS: case XS_WATCH: case XS_UNWATCH:
	case XS_TRANSACTION_START: case XS_TRANSACTION_END:
	case XS_INTRODUCE: case XS_RELEASE: case XS_GET_DOMAIN_PATH:
	case XS_IS_DOMAIN_INTRODUCED: case XS_RESET_WATCHES:
		if (h->len == 0 && (h->type == XS_TRANSACTION_START ||
				    h->type == XS_RESET_WATCHES)) {
			n = 0;
		} else if (h->type == XS_WRITE) {
			if (memchr(pl, '\0', h->len) == NULL)
				return 1;
			v[0] = pl;
			n = 1;
		} else {
			n = split(pl, h->len, v, 8);
			if (n < 0)
				return 1;
		}
		break;
	default:
		reply_err(srv, c, h, ENOSYS);
		return 0;
	}
	switch (h->type) {
	case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM:
	case XS_DIRECTORY: case XS_DIRECTORY_PART: case XS_GET_PERMS:
	case XS_SET_PERMS:
		rc = find_tx(c, h->tx_id, &tx);
		if (rc == 0)
			rc = abs_path(c, v[0], path, false);
		if (rc < 0)
			goto err;
		break;
	default:
		break;
	}
	switch (h->type) {
	case XS_READ:
		rc = st_read(srv->tree, tx, c->domid, path, &val, &len);
		if (rc == 0)
			reply(srv, c, h, val, len);
		break;
	case XS_WRITE:
		len = strlen(pl) + 1;
		rc = st_write(srv->tree, tx, c->domid, path, pl + len,
			      h->len - len);
		if (rc == 0)
			reply_ok(srv, c, h);
		break;
	case XS_MKDIR:
		rc = st_mkdir(srv->tree, tx, c->domid, path);
		if (rc == 0)
			reply_ok(srv, c, h);
		break;
	case XS_RM:
		rc = st_rm(srv->tree, tx, c->domid, path);
		if (rc == 0)
			reply_ok(srv, c, h);
		break;
	case XS_DIRECTORY: {
		char *buf;
		uint64_t gen;

		rc = st_directory(srv->tree, tx, c->domid, path, &buf, &len,
				  &gen);
		if (rc == 0 && len > XENSTORE_PAYLOAD_MAX)
			rc = -E2BIG;
		if (rc == 0)
			reply(srv, c, h, buf, len);
		if (rc == 0 || rc == -E2BIG)
			free(buf);
		break;
	}
	case XS_DIRECTORY_PART:
		rc = n < 2 ? -EINVAL
			   : op_directory_part(srv, c, h, tx, path, v[1]);
		break;
	case XS_GET_PERMS: {
		const struct ring_store_perm *p;
		char out[XENSTORE_PAYLOAD_MAX];
		unsigned np;
		size_t off = 0;

		rc = st_get_perms(srv->tree, tx, c->domid, path, &p, &np);
		for (unsigned i = 0; rc == 0 && i < np; i++) {
			if (off + 8 > sizeof(out)) {
				rc = -E2BIG;
				break;
			}
			off += (size_t)snprintf(out + off, sizeof(out) - off,
						"%c%u", p[i].perm,
						p[i].domid) + 1;
		}
		if (rc == 0)
			reply(srv, c, h, out, off);
		break;
	}
	case XS_SET_PERMS: {
		/* v[] holds only 8: re-split into the perms themselves. */
		const char *s = v[0] + strlen(v[0]) + 1, *end = pl + h->len;
		unsigned np = 0;

		rc = 0;
		while (s < end && rc == 0) {
			const char *one[1] = { s };

			if (*s == '\0' && s + 1 == end)
				break;	/* the reserved trailing "" */
			rc = parse_perms(one, 1, &perms[np]);
			np++;
			s += strlen(s) + 1;
		}
		if (rc == 0)
			rc = st_set_perms(srv->tree, tx, c->domid, path,
					  perms, np);
		if (rc == 0)
			reply_ok(srv, c, h);
		break;
	}
	case XS_WATCH:
	case XS_UNWATCH:
		rc = n < 2 ? -EINVAL
			   : op_watch(srv, c, h, v[0], v[1],
				      h->type == XS_WATCH);
		break;
	case XS_TRANSACTION_START:
		rc = op_tx_start(srv, c, h);
		break;
	case XS_TRANSACTION_END:
		rc = op_tx_end(srv, c, h, v[0]);
		break;
	case XS_INTRODUCE:
	case XS_RELEASE:
		if (c->domid != 0) {
			rc = -EACCES;
			break;
		}
		rc = parse_uint(v[0], 65535, &num);
		if (rc < 0)
			break;
		if (h->type == XS_INTRODUCE) {
			unsigned long pid;

			rc = n < 2 ? -EINVAL : parse_uint(v[1], INT32_MAX,
							  &pid);
			if (rc == 0)
				rc = do_introduce(srv, (uint16_t)num,
						  (pid_t)pid);
		} else {
			rc = do_release(srv, (uint16_t)num);
		}
		if (rc == 0)
			reply_ok(srv, c, h);
		break;
	case XS_GET_DOMAIN_PATH:
		rc = parse_uint(v[0], 65535, &num);
		if (rc == 0) {
			len = (size_t)snprintf(path, sizeof(path),
					       "/local/domain/%lu", num);
			reply(srv, c, h, path, len + 1);
		}
		break;
	case XS_IS_DOMAIN_INTRODUCED: {
		bool in = false;

		rc = parse_uint(v[0], 65535, &num);
		for (unsigned i = 0; i < srv->ndoms; i++)
			in |= srv->doms[i].domid == num;
		if (rc == 0)
			reply(srv, c, h, in || num == 0 ? "T" : "F", 2);
		break;
	}
	case XS_RESET_WATCHES:
		drop_watches_tx(c);
		reply_ok(srv, c, h);
		rc = 0;
		break;
	default:
		rc = -ENOSYS;
		break;
	}
err:
	if (rc < 0)
		reply_err(srv, c, h, -rc);
	return 0;
}

/* Read and answer up to MSGS_PER_TURN requests. */
static void
serve(struct ring_store_server *srv, struct conn *c)
{
	for (int i = 0; i < MSGS_PER_TURN && !c->dead; ) {
		struct xsd_sockmsg h;
		size_t need;
		ssize_t n;

		if (c->olen - c->ooff >= OUT_PAUSE)
			return;
		if (c->have >= HDR_LEN) {
			memcpy(&h, c->in, HDR_LEN);
			/* Check before reading the payload into c->in. */
			if (h.len > XENSTORE_PAYLOAD_MAX) {
				conn_kill(srv, c, "payload too long");
				return;
			}
			need = HDR_LEN + h.len - c->have;
		} else {
			need = HDR_LEN - c->have;
		}
		if (need > 0) {
			n = recv(c->fd, c->in + c->have, need, MSG_DONTWAIT);
			if (n == 0) {
				conn_kill(srv, c, c->have ? "eof inside a "
					  "message" : NULL);
				return;
			}
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					conn_kill(srv, c, errno == ECONNRESET
						  ? NULL : "recv failed");
				return;
			}
			c->have += (size_t)n;
			continue;
		}
		c->have = 0;
		i++;
		if (handle(srv, c, &h, (char *)c->in + HDR_LEN) != 0) {
			conn_kill(srv, c, "malformed message");
			return;
		}
	}
}

static struct conn *conn_add(struct ring_store_server *srv, int fd,
			     pid_t pid, uint16_t domid);

static void
accept_all(struct ring_store_server *srv)
{
	for (int i = 0; i < 16; i++) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		struct conn *c;
		int fd = accept4(srv->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ring_log(RING_LOG_WARN, "msg=\"accept failed\""
					 " err=%d", errno);
			return;
		}
		if (srv->nconns >= MAX_CONNS ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    (c = conn_add(srv, fd, cr.pid, resolve(srv, cr.pid)))
		    == NULL) {
			ring_log(RING_LOG_WARN, "msg=\"store client refused\""
				 " conns=%u", srv->nconns);
			close(fd);
			continue;
		}
		ring_log(RING_LOG_DEBUG, "msg=\"store client\" pid=%d "
			 "domid=%u", (int)c->pid, c->domid);
	}
}

static struct conn *
conn_add(struct ring_store_server *srv, int fd, pid_t pid, uint16_t domid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->pid = pid;
	c->domid = domid;
	c->mask = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	return c;
}

int
st_server_adopt(struct ring_store_server *srv, int fd, uint16_t domid)
{
	return conn_add(srv, fd, 0, domid) ? 0 : -ENOMEM;
}

int
ring_store_server_dispatch(struct ring_store_server *srv)
{
	struct epoll_event ev[64];
	int n = epoll_wait(srv->epfd, ev, 64, 0);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;

		if (c == NULL) {
			accept_all(srv);
			continue;
		}
		if (c->dead)
			continue;
		if (ev[i].events & EPOLLOUT)
			flush(srv, c);
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			serve(srv, c);
	}
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		flush(srv, c);
		update_mask(srv, c);
	}
	reap(srv);
	return n;
}

int
ring_store_server_introduce(struct ring_store_server *srv, uint16_t domid,
			    pid_t pid)
{
	int rc = do_introduce(srv, domid, pid);

	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		update_mask(srv, c);
	return rc;
}

int
ring_store_server_release(struct ring_store_server *srv, uint16_t domid)
{
	int rc = do_release(srv, domid);

	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		update_mask(srv, c);
	reap(srv);
	return rc;
}

int
ring_store_server_fd(const struct ring_store_server *srv)
{
	return srv->epfd;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket file is replaced; a live server is not. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int
ring_store_server_open(const struct ring_store_server_opts *opts,
		       struct ring_store_server **out)
{
	struct ring_store_server *srv;
	struct st_limits lim = { 1000, 2048, 4096 };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	size_t have;
	int rc;

	if (opts == NULL || out == NULL ||
	    opts->sz < offsetof(struct ring_store_server_opts, path) +
		       sizeof(opts->path) ||
	    opts->path == NULL ||
	    strlen(opts->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -EINVAL;
	have = opts->sz;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->max_watches = 128;
	srv->max_tx = 10;
#define OPT(f) (have >= offsetof(struct ring_store_server_opts, f) + \
		sizeof(opts->f) && opts->f != 0)
	if (OPT(max_nodes))
		lim.max_nodes = opts->max_nodes;
	if (OPT(max_value))
		lim.max_value = opts->max_value;
	if (OPT(max_watches))
		srv->max_watches = opts->max_watches;
	if (OPT(max_tx))
		srv->max_tx = opts->max_tx;
#undef OPT
	srv->lfd = srv->epfd = -1;
	srv->path = strdup(opts->path);
	srv->tree = st_tree_new(&lim, on_change, srv);
	if (srv->path == NULL || srv->tree == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = listen_on(opts->path);
	if (rc < 0)
		goto fail;
	srv->lfd = rc;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	if (srv->lfd >= 0) {
		close(srv->lfd);
		unlink(srv->path);
	}
	if (srv->epfd >= 0)
		close(srv->epfd);
	st_tree_free(srv->tree);
	free(srv->path);
	free(srv);
	return rc;
}

void
ring_store_server_close(struct ring_store_server *srv)
{
	if (srv == NULL)
		return;
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		conn_kill(srv, c, NULL);
	reap(srv);
	close(srv->lfd);
	close(srv->epfd);
	unlink(srv->path);
	st_tree_free(srv->tree);
	free(srv->doms);
	free(srv->path);
	free(srv);
}
