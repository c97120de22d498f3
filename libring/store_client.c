/* xenstore client over a unix socket.  The store is a peer like any
 * other: every reply is checked before it is believed. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "morgana/log.h"
#include "morgana/store.h"
#include "store_client_internal.h"

#define HDR_LEN		16u
#define EVQ_MAX		65536u	/* queued watch events before we give up */

struct event {
	struct event *next;
	char *path;
	char *token;
};

struct ring_store {
	int fd;
	bool chr;	/* a xenbus character device, not a socket */
	int epfd;
	int evfd;
	bool dead;
	uint32_t req_id;
	unsigned char rx[HDR_LEN + XENSTORE_PAYLOAD_MAX];
	size_t have;
	struct event *head, **tail;
	unsigned nev;
};

/* ---- decoding (shared with the fuzzer) ---- */

int
ring_store_decode_error(const char *p, size_t len)
{
	static const struct { const char *name; int err; } extra[] = {
		{ "EQUOTA", EDQUOT },
	};
	size_t n = strnlen(p, len);

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]);
	     i++)
		if (strlen(xsd_errors[i].errstring) == n &&
		    memcmp(xsd_errors[i].errstring, p, n) == 0)
			return -xsd_errors[i].errnum;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strlen(extra[i].name) == n &&
		    memcmp(extra[i].name, p, n) == 0)
			return -extra[i].err;
	return -EIO;
}

int
ring_store_decode_event(const char *p, size_t len, char **path, char **token)
{
	size_t pl, tl;

	/* "path\0token\0": anything after the token is reserved. */
	pl = strnlen(p, len);
	if (pl == 0 || pl == len)
		return -EPROTO;
	tl = strnlen(p + pl + 1, len - pl - 1);
	if (pl + 1 + tl == len)
		return -EPROTO;
	*path = strndup(p, pl);
	*token = strndup(p + pl + 1, tl);
	if (*path == NULL || *token == NULL) {
		free(*path);
		free(*token);
		return -ENOMEM;
	}
	return 0;
}

static int
parse_ulong(const char *s, size_t len, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (x > (max - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int
ring_store_decode_perms(const char *p, size_t len,
			struct ring_store_perm **out, unsigned *n)
{
	struct ring_store_perm *a;
	unsigned cnt = 0, i = 0;
	size_t off;

	if (len == 0 || p[len - 1] != '\0')
		return -EPROTO;
	for (off = 0; off < len; off += strlen(p + off) + 1)
		cnt++;
	a = malloc(cnt * sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	for (off = 0; off < len; off += strlen(p + off) + 1) {
		size_t l = strlen(p + off);
		unsigned long d;

		if (l < 2 || strchr("nrwb", p[off]) == NULL ||
		    parse_ulong(p + off + 1, l - 1, 65535, &d) < 0) {
			free(a);
			return -EPROTO;
		}
		a[i].perm = p[off];
		a[i].domid = (uint16_t)d;
		i++;
	}
	*out = a;
	*n = cnt;
	return 0;
}

/* Append the names of one DIRECTORY(_PART) list to names[]. */
static int
add_names(const char *p, size_t len, char ***names, unsigned *n)
{
	size_t off = 0;

	while (off < len) {
		size_t l = strnlen(p + off, len - off);
		char **a;

		if (off + l == len)
			return -EPROTO;
		a = realloc(*names, (*n + 1) * sizeof(*a));
		if (a == NULL)
			return -ENOMEM;
		*names = a;
		a[*n] = strndup(p + off, l);
		if (a[*n] == NULL)
			return -ENOMEM;
		(*n)++;
		off += l + 1;
	}
	return 0;
}

int
ring_store_decode_names(const char *p, size_t len, char ***names,
			unsigned *n)
{
	int rc;

	*names = NULL;
	*n = 0;
	rc = add_names(p, len, names, n);
	if (rc < 0) {
		ring_store_free_names(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

void
ring_store_free_names(char **names, unsigned n)
{
	if (names == NULL)
		return;
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- connection ---- */

static void
die(struct ring_store *st, const char *why)
{
	uint64_t one = 1;

	if (st->dead)
		return;
	if (why != NULL)
		ring_log(RING_LOG_WARN, "msg=\"store connection dropped\" "
			 "reason=\"%s\"", why);
	st->dead = true;
	/* Keep ring_store_fd readable so a poller learns of it. */
	(void)!write(st->evfd, &one, sizeof(one));
	if (!st->chr)
		shutdown(st->fd, SHUT_RDWR);
}

static int
enqueue(struct ring_store *st, const char *p, size_t len)
{
	struct event *e;
	uint64_t one = 1;
	int rc;

	if (st->nev >= EVQ_MAX) {
		die(st, "watch event queue overflow");
		return -EPROTO;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	rc = ring_store_decode_event(p, len, &e->path, &e->token);
	if (rc < 0) {
		free(e);
		if (rc == -EPROTO)
			die(st, "malformed watch event");
		return rc;
	}
	*st->tail = e;
	st->tail = &e->next;
	if (st->nev++ == 0)
		(void)!write(st->evfd, &one, sizeof(one));
	return 0;
}

/*
 * Read until one whole message is in st->rx.  Returns 1 when it is (the
 * caller then resets st->have), 0 if !block and nothing more is ready,
 * -EPIPE or -EPROTO.
 */
static int
read_msg(struct ring_store *st, bool block)
{
	for (;;) {
		struct xsd_sockmsg h;
		size_t need;
		ssize_t n;

		if (st->dead)
			return -EPIPE;
		if (st->have >= HDR_LEN) {
			memcpy(&h, st->rx, HDR_LEN);
			if (h.len > XENSTORE_PAYLOAD_MAX) {
				die(st, "reply too long");
				return -EPROTO;
			}
			need = HDR_LEN + h.len - st->have;
			if (need == 0)
				return 1;
		} else {
			need = HDR_LEN - st->have;
		}
		if (st->chr && !block) {
			/* The device has no per-call non-blocking flag. */
			struct pollfd pfd = { .fd = st->fd, .events = POLLIN };

			if (poll(&pfd, 1, 0) == 0)
				return 0;
		}
		n = st->chr ? read(st->fd, st->rx + st->have, need) :
			      recv(st->fd, st->rx + st->have, need,
				   block ? 0 : MSG_DONTWAIT);
		if (n == 0) {
			die(st, NULL);
			return -EPIPE;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!block && errno == EAGAIN)
				return 0;
			die(st, NULL);
			return -EPIPE;
		}
		st->have += (size_t)n;
	}
}

/* Take events off the socket without blocking; any reply now is a lie. */
static int
pump(struct ring_store *st)
{
	for (;;) {
		struct xsd_sockmsg h;
		int rc = read_msg(st, false);

		if (rc <= 0)
			return rc;
		memcpy(&h, st->rx, HDR_LEN);
		st->have = 0;
		if (h.type != XS_WATCH_EVENT) {
			die(st, "unsolicited reply");
			return -EPROTO;
		}
		rc = enqueue(st, (char *)st->rx + HDR_LEN, h.len);
		if (rc < 0)
			return rc;
	}
}

/*
 * Send one request made of iov[0..niov-1] and wait for its reply.  On
 * success *out is the malloc'd payload (NUL appended) and *olen its
 * length.  Returns 0, -errno from XS_ERROR, -E2BIG (request too long),
 * -EPIPE, -EPROTO, -ENOMEM.
 */
static int
request(struct ring_store *st, uint32_t type, uint32_t tx,
	const struct iovec *iov, int niov, char **out, size_t *olen)
{
	struct iovec v[8];
	struct xsd_sockmsg h = { type, 0, tx, 0 };
	struct msghdr mh = { .msg_iov = v };
	size_t total = 0, sent = 0;

	if (st->dead)
		return -EPIPE;
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	if (total > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	h.req_id = ++st->req_id;
	h.len = (uint32_t)total;
	v[0] = (struct iovec){ &h, HDR_LEN };
	memcpy(v + 1, iov, (size_t)niov * sizeof(*iov));
	total += HDR_LEN;
	while (sent < total) {
		size_t skip = sent;
		int first = 0;
		ssize_t n;

		while (skip >= v[first].iov_len) {
			skip -= v[first].iov_len;
			first++;
		}
		v[first].iov_base = (char *)v[first].iov_base + skip;
		v[first].iov_len -= skip;
		mh.msg_iov = v + first;
		mh.msg_iovlen = (size_t)(niov + 1 - first);
		n = st->chr ? writev(st->fd, mh.msg_iov, (int)mh.msg_iovlen) :
			      sendmsg(st->fd, &mh, MSG_NOSIGNAL);
		v[first].iov_base = (char *)v[first].iov_base - skip;
		v[first].iov_len += skip;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(st, NULL);
			return -EPIPE;
		}
		sent += (size_t)n;
	}
	for (;;) {
		struct xsd_sockmsg r;
		int rc = read_msg(st, true);
		char *p;

		if (rc < 0)
			return rc;
		memcpy(&r, st->rx, HDR_LEN);
		st->have = 0;
		if (r.type == XS_WATCH_EVENT) {
			rc = enqueue(st, (char *)st->rx + HDR_LEN, r.len);
			if (rc < 0)
				return rc;
			continue;
		}
		if (r.req_id != h.req_id ||
		    (r.type != type && r.type != XS_ERROR)) {
			die(st, "reply does not match the request");
			return -EPROTO;
		}
		if (r.type == XS_ERROR)
			return ring_store_decode_error(
				(char *)st->rx + HDR_LEN, r.len);
		p = malloc(r.len + 1);
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, st->rx + HDR_LEN, r.len);
		p[r.len] = '\0';
		*out = p;
		*olen = r.len;
		return 0;
	}
}

/* A request whose reply must be "OK". */
static int
request_ok(struct ring_store *st, uint32_t type, uint32_t tx,
	   const struct iovec *iov, int niov)
{
	char *p;
	size_t len;
	int rc = request(st, type, tx, iov, niov, &p, &len);

	if (rc < 0)
		return rc;
	if (len < 2 || memcmp(p, "OK", 2) != 0) {
		free(p);
		die(st, "expected OK");
		return -EPROTO;
	}
	free(p);
	return 0;
}

#define STR(s) ((struct iovec){ (void *)(s), strlen(s) + 1 })

int
ring_store_open(const char *path, struct ring_store **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ring_store *st;
	struct stat sb;
	int rc;

	if (path == NULL)
		path = getenv("XENSTORED_PATH");
	if (path == NULL)
		path = "/run/xenstored/socket";
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->tail = &st->head;
	st->evfd = st->epfd = -1;
	if (stat(path, &sb) == 0 && S_ISCHR(sb.st_mode)) {
		/* A Xen domain's own store connection: /dev/xen/xenbus
		 * carries the same xs_wire messages. */
		st->chr = true;
		st->fd = open(path, O_RDWR | O_CLOEXEC);
		if (st->fd < 0) {
			rc = -errno;
			goto fail;
		}
	} else {
		st->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (st->fd < 0) {
			rc = -errno;
			goto fail;
		}
		while (connect(st->fd, (struct sockaddr *)&sa,
			       sizeof(sa)) < 0) {
			if (errno != EINTR) {
				rc = -errno;
				goto fail;
			}
		}
	}
	st->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->evfd < 0 || st->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.fd = st->fd;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.fd = st->evfd;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->evfd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = st;
	return 0;
fail:
	if (st->fd >= 0)
		close(st->fd);
	if (st->evfd >= 0)
		close(st->evfd);
	if (st->epfd >= 0)
		close(st->epfd);
	free(st);
	return rc;
}

void
ring_store_close(struct ring_store *st)
{
	if (st == NULL)
		return;
	while (st->head != NULL) {
		struct event *e = st->head;

		st->head = e->next;
		free(e->path);
		free(e->token);
		free(e);
	}
	close(st->fd);
	close(st->evfd);
	close(st->epfd);
	free(st);
}

int
ring_store_fd(const struct ring_store *st)
{
	return st->epfd;
}

int
ring_store_read(struct ring_store *st, uint32_t tx, const char *path,
		char **val, size_t *len)
{
	struct iovec iov[1] = { STR(path) };
	size_t l = 0;
	int rc = request(st, XS_READ, tx, iov, 1, val, &l);

	if (rc == 0 && len != NULL)
		*len = l;
	return rc;
}

int
ring_store_write(struct ring_store *st, uint32_t tx, const char *path,
		 const void *val, size_t len)
{
	struct iovec iov[2] = { STR(path), { (void *)val, len } };

	return request_ok(st, XS_WRITE, tx, iov, 2);
}

int
ring_store_printf(struct ring_store *st, uint32_t tx, const char *path,
		  const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	rc = ring_store_write(st, tx, path, s, (size_t)n);
	free(s);
	return rc;
}

int
ring_store_read_uint(struct ring_store *st, uint32_t tx, const char *path,
		     unsigned long *v)
{
	char *s;
	size_t len = 0;
	int rc = ring_store_read(st, tx, path, &s, &len);

	if (rc < 0)
		return rc;
	rc = parse_ulong(s, len, ULONG_MAX, v);
	free(s);
	return rc;
}

int
ring_store_mkdir(struct ring_store *st, uint32_t tx, const char *path)
{
	struct iovec iov[1] = { STR(path) };

	return request_ok(st, XS_MKDIR, tx, iov, 1);
}

int
ring_store_rm(struct ring_store *st, uint32_t tx, const char *path)
{
	struct iovec iov[1] = { STR(path) };

	return request_ok(st, XS_RM, tx, iov, 1);
}

/* The list in parts; restart if it changes between parts. */
static int
directory_part(struct ring_store *st, uint32_t tx, const char *path,
	       char ***names, unsigned *n)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		char gen0[32] = "";
		unsigned long off = 0;
		int rc = 0;

		*names = NULL;
		*n = 0;
		for (;;) {
			char offs[24], *p;
			size_t len, gl, body;
			struct iovec iov[2] = { STR(path), { offs, 0 } };
			bool end;

			snprintf(offs, sizeof(offs), "%lu", off);
			iov[1].iov_len = strlen(offs) + 1;
			rc = request(st, XS_DIRECTORY_PART, tx, iov, 2, &p,
				     &len);
			if (rc < 0)
				break;
			gl = strnlen(p, len);
			if (gl == len || gl == 0 || gl >= sizeof(gen0)) {
				free(p);
				die(st, "bad directory part");
				rc = -EPROTO;
				break;
			}
			if (gen0[0] == '\0')
				memcpy(gen0, p, gl + 1);
			else if (strcmp(gen0, p) != 0) {
				free(p);
				rc = -EAGAIN;
				break;
			}
			/* Names, then an empty string iff this is the end. */
			body = len - gl - 1;
			end = body > 0 && p[len - 1] == '\0' &&
			      (body == 1 || p[len - 2] == '\0');
			if (end)
				body--;
			if (!end && body == 0) {
				free(p);
				die(st, "empty directory part");
				rc = -EPROTO;
				break;
			}
			rc = add_names(p + gl + 1, body, names, n);
			free(p);
			if (rc < 0)
				break;
			off += body;
			if (end)
				return 0;
		}
		ring_store_free_names(*names, *n);
		*names = NULL;
		*n = 0;
		if (rc == -EPROTO)
			die(st, "bad directory part");
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int
ring_store_directory(struct ring_store *st, uint32_t tx, const char *path,
		     char ***names, unsigned *n)
{
	struct iovec iov[1] = { STR(path) };
	char *p;
	size_t len;
	int rc = request(st, XS_DIRECTORY, tx, iov, 1, &p, &len);

	if (rc == -E2BIG)
		return directory_part(st, tx, path, names, n);
	if (rc < 0)
		return rc;
	rc = ring_store_decode_names(p, len, names, n);
	free(p);
	if (rc == -EPROTO)
		die(st, "bad directory reply");
	return rc;
}

int
ring_store_set_perms(struct ring_store *st, uint32_t tx, const char *path,
		     const struct ring_store_perm *p, unsigned n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	struct iovec iov[2] = { STR(path), { buf, 0 } };
	size_t off = 0;

	if (n == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (strchr("nrwb", p[i].perm) == NULL || p[i].perm == '\0')
			return -EINVAL;
		if (off + 8 > sizeof(buf))
			return -E2BIG;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%c%u",
					p[i].perm, p[i].domid) + 1;
	}
	iov[1].iov_len = off;
	return request_ok(st, XS_SET_PERMS, tx, iov, 2);
}

int
ring_store_get_perms(struct ring_store *st, uint32_t tx, const char *path,
		     struct ring_store_perm **p, unsigned *n)
{
	struct iovec iov[1] = { STR(path) };
	char *r;
	size_t len;
	int rc = request(st, XS_GET_PERMS, tx, iov, 1, &r, &len);

	if (rc < 0)
		return rc;
	rc = ring_store_decode_perms(r, len, p, n);
	free(r);
	if (rc == -EPROTO)
		die(st, "bad perms reply");
	return rc;
}

int
ring_store_watch(struct ring_store *st, const char *path, const char *token)
{
	struct iovec iov[2] = { STR(path), STR(token) };

	return request_ok(st, XS_WATCH, 0, iov, 2);
}

int
ring_store_unwatch(struct ring_store *st, const char *path,
		   const char *token)
{
	struct iovec iov[2] = { STR(path), STR(token) };

	return request_ok(st, XS_UNWATCH, 0, iov, 2);
}

int
ring_store_next_watch(struct ring_store *st, char **path, char **token)
{
	struct event *e;
	uint64_t v;
	int rc;

	if (st->head == NULL) {
		rc = pump(st);
		if (rc < 0)
			return rc;
		if (st->head == NULL)
			return st->dead ? -EPIPE : 0;
	}
	e = st->head;
	st->head = e->next;
	if (st->head == NULL)
		st->tail = &st->head;
	if (--st->nev == 0 && !st->dead)
		(void)!read(st->evfd, &v, sizeof(v));
	*path = e->path;
	*token = e->token;
	free(e);
	return 1;
}

int
ring_store_wait_watch(struct ring_store *st, int timeout_ms, char **path,
		      char **token)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = st->fd, .events = POLLIN };
		int left = -1, rc = ring_store_next_watch(st, path, token);

		if (rc != 0)
			return rc;
		if (timeout_ms >= 0) {
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms >= timeout_ms)
				return -ETIMEDOUT;
			left = timeout_ms - (int)ms;
		}
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

int
ring_store_tx_start(struct ring_store *st, uint32_t *tx)
{
	struct iovec iov[1] = { STR("") };
	unsigned long id;
	char *p;
	size_t len;
	int rc = request(st, XS_TRANSACTION_START, 0, iov, 1, &p, &len);

	if (rc < 0)
		return rc;
	if (len > 0 && p[len - 1] == '\0')
		len--;
	rc = parse_ulong(p, len, UINT32_MAX, &id);
	free(p);
	if (rc < 0 || id == 0) {
		die(st, "bad transaction id");
		return -EPROTO;
	}
	*tx = (uint32_t)id;
	return 0;
}

int
ring_store_tx_end(struct ring_store *st, uint32_t tx, bool commit)
{
	struct iovec iov[1] = { STR(commit ? "T" : "F") };

	return request_ok(st, XS_TRANSACTION_END, tx, iov, 1);
}

int
ring_store_introduce(struct ring_store *st, uint16_t domid, pid_t pid)
{
	char d[8], p[16];
	struct iovec iov[3] = { { d, 0 }, { p, 0 }, STR("0") };

	iov[0].iov_len = (size_t)snprintf(d, sizeof(d), "%u", domid) + 1;
	iov[1].iov_len = (size_t)snprintf(p, sizeof(p), "%d", (int)pid) + 1;
	return request_ok(st, XS_INTRODUCE, 0, iov, 3);
}

int
ring_store_release(struct ring_store *st, uint16_t domid)
{
	char d[8];
	struct iovec iov[1] = { { d, 0 } };

	iov[0].iov_len = (size_t)snprintf(d, sizeof(d), "%u", domid) + 1;
	return request_ok(st, XS_RELEASE, 0, iov, 1);
}

int
ring_store_get_domain_path(struct ring_store *st, uint16_t domid,
			   char **path)
{
	char d[8], *p;
	struct iovec iov[1] = { { d, 0 } };
	size_t len;
	int rc;

	iov[0].iov_len = (size_t)snprintf(d, sizeof(d), "%u", domid) + 1;
	rc = request(st, XS_GET_DOMAIN_PATH, 0, iov, 1, &p, &len);
	if (rc < 0)
		return rc;
	if (len == 0 || p[0] != '/' || strnlen(p, len) < len - 1) {
		free(p);
		die(st, "bad domain path");
		return -EPROTO;
	}
	*path = p;
	return 0;
}

int
ring_store_self(struct ring_store *st, uint16_t *domid)
{
	unsigned long v;
	int rc = ring_store_read_uint(st, RING_XBT_NULL, "domid", &v);

	if (rc == -ENOENT) {
		*domid = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (v > 65535)
		return -EINVAL;
	*domid = (uint16_t)v;
	return 0;
}
