/*
 * www: the website example (DESIGN.md §7), written only against its
 * devices: STACK (stack), three KV_RO stores (files, tmpl, keys) and
 * PCLOCK (clock).  The HTTP engine and the site logic are http.c and
 * site.c; this file is the start function that plugs them into appkit:
 *
 *   - keys: listed and read once at start (the HTTPS step will need
 *     them); a store that cannot be read stops the app;
 *   - stack: listen on addr:port (keys), one task per connection;
 *     when tcpipd goes away (a restart) the listener dies with
 *     -ECONNRESET / -ENOTCONN, and the loop here listens again once
 *     the STACK device has reconnected;
 *   - files, tmpl: the site's content sources, onto ak_kv's size,
 *     last_modified and get/get_partial, behind a small cache;
 *   - clock: the Date header.
 *
 * A connection must finish a request every WWW_IDLE_S seconds (the
 * `idle_s` key), so slow or silent clients (slowloris) cannot hold
 * sockets forever; they never stall the others, which run in their own
 * tasks.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/appkit.h"
#include "morgana/log.h"
#include "site.h"

int www_start(struct ak_app *app);

/* Task stacks are mmap'd: only the pages a connection touches count. */
#define CONN_STACK (64u * 1024u)
#define RECV_BUF 8192u
#define RETRY_NS 10000000ull	/* 10 ms between attempts to listen */
#define LISTEN_INUSE_NS 2000000000ull

struct www {
	struct ak_app *app;
	struct ak_loop *l;
	struct ak_stack *stack;
	struct ak_pclock *clock;
	struct www_site *site;
	struct ak_sockaddr at;
	uint64_t idle_ns;
	unsigned conns;		/* open connections, for the logs */
	uint64_t served;	/* connections so far */
};

struct conn {
	struct www *w;
	struct ak_sock *k;
	uint64_t sent;		/* responses' sends: progress */
};

/* ---- KV_RO as a content source ---------------------------------------- */

/*
 * Each source is an ak_kv handle behind a small cache: a direct-mapped
 * table of keys with what size and last_modified answered and, for
 * values up to CACHE_VALUE_MAX, the value itself (one ak_kv_get).  An
 * entry is trusted for ttl (the `cache_ms` key; 0: no cache, every call
 * goes to kvd), so a change in the store shows within that time.
 *
 * Tasks switch only when they block: an entry is filled in a local copy
 * and installed at once, and readers copy out of it without blocking, so
 * nobody sees a half-made entry or a freed value.
 */
#define CACHE_SLOTS 256u
#define CACHE_VALUE_MAX (256u * 1024u)
#define KV_BUSY_NS 1000000ull	/* kvd's queue is full: retry after 1 ms */

struct centry {
	char *key;		/* NULL: empty slot */
	int err;		/* size's answer when < 0 (-ENOENT, -EISDIR) */
	uint64_t size;
	int lm_err;
	int64_t sec;
	uint32_t nsec;
	char *data;		/* the value, or NULL: read through */
	uint64_t at;		/* ak_now_ns when fetched */
};

struct csrc {
	struct ak_kv *kv;
	struct ak_loop *l;
	uint64_t ttl_ns;
	struct centry *tab;	/* CACHE_SLOTS, or NULL without a cache */
};

/* More tasks than the KV frontend queues get -EAGAIN: wait our turn. */
static void
kv_busy(struct csrc *c)
{
	ak_task_sleep_until(c->l, ak_now_ns() + KV_BUSY_NS);
}

static int
r_size(struct csrc *c, const char *key, uint64_t *size)
{
	int r;

	while ((r = ak_kv_size(c->kv, key, size)) == -EAGAIN)
		kv_busy(c);
	return r;
}

static int
r_lm(struct csrc *c, const char *key, int64_t *sec, uint32_t *nsec)
{
	int r;

	while ((r = ak_kv_last_modified(c->kv, key, sec, nsec)) == -EAGAIN)
		kv_busy(c);
	return r;
}

static int
r_get(struct csrc *c, const char *key, void **v, size_t *len)
{
	int r;

	while ((r = ak_kv_get(c->kv, key, v, len)) == -EAGAIN)
		kv_busy(c);
	return r;
}

static ssize_t
r_read(struct csrc *c, const char *key, uint64_t off, void *buf, size_t len)
{
	ssize_t r;

	while ((r = ak_kv_get_partial(c->kv, key, off, buf, len)) == -EAGAIN)
		kv_busy(c);
	return r;
}

static uint32_t
key_hash(const char *k)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static void
centry_clear(struct centry *e)
{
	free(e->key);
	free(e->data);
	memset(e, 0, sizeof(*e));
}

/* The entry for key, fetched again if missing or older than ttl.  NULL
 * only when out of memory (the caller then reads through). */
static struct centry *
lookup(struct csrc *c, const char *key)
{
	struct centry *slot = &c->tab[key_hash(key) % CACHE_SLOTS], e = { 0 };
	uint64_t now = ak_now_ns();
	void *v = NULL;
	size_t len;
	int rc;

	if (slot->key && !strcmp(slot->key, key) && now - slot->at < c->ttl_ns)
		return slot;
	if (!(e.key = strdup(key)))
		return NULL;
	e.at = now;
	e.err = r_size(c, key, &e.size);
	if (e.err == 0) {
		e.lm_err = r_lm(c, key, &e.sec, &e.nsec);
		if (e.size <= CACHE_VALUE_MAX) {
			rc = r_get(c, key, &v, &len);
			if (rc == 0) {
				/* What get saw wins over size's answer. */
				e.data = v;
				e.size = len;
			} else if (rc == -ENOENT || rc == -EISDIR) {
				e.err = rc;
			}
		}
	}
	if (e.err == -ENOTCONN || e.err == -EPROTO || e.err == -ENOMEM) {
		/* Not an answer about the key: do not remember it. */
		centry_clear(&e);
		return NULL;
	}
	/* Installed at once (no blocking from here on). */
	centry_clear(slot);
	*slot = e;
	return slot;
}

static int
kv_size(void *dev, const char *key, uint64_t *size)
{
	struct csrc *c = dev;
	struct centry *e;

	if (!c->tab || !(e = lookup(c, key)))
		return r_size(c, key, size);
	if (e->err == 0)
		*size = e->size;
	return e->err;
}

static int
kv_lm(void *dev, const char *key, int64_t *sec, uint32_t *nsec)
{
	struct csrc *c = dev;
	struct centry *e;

	if (!c->tab || !(e = lookup(c, key)))
		return r_lm(c, key, sec, nsec);
	if (e->err < 0)
		return e->err;
	*sec = e->sec;
	*nsec = e->nsec;
	return e->lm_err;
}

static ssize_t
kv_read(void *dev, const char *key, uint64_t off, void *buf, size_t len)
{
	struct csrc *c = dev;
	struct centry *e;

	if (!c->tab || !(e = lookup(c, key)) || (e->err == 0 && !e->data))
		return r_read(c, key, off, buf, len);
	if (e->err < 0)
		return e->err;
	if (off >= e->size)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	memcpy(buf, e->data + off, len);
	return (ssize_t)len;
}

static const struct www_source_ops kv_source = {
	.size = kv_size, .last_modified = kv_lm, .read = kv_read,
};

static int
csrc_init(struct csrc *c, struct ak_kv *kv, struct ak_loop *l,
	  uint64_t ttl_ns)
{
	*c = (struct csrc){ .kv = kv, .l = l, .ttl_ns = ttl_ns };
	if (ttl_ns && !(c->tab = calloc(CACHE_SLOTS, sizeof(*c->tab))))
		return -ENOMEM;
	return 0;
}

static void
csrc_fini(struct csrc *c)
{
	if (c->tab)
		for (unsigned i = 0; i < CACHE_SLOTS; i++)
			centry_clear(&c->tab[i]);
	free(c->tab);
}

/* ---- connections ------------------------------------------------------ */

static ssize_t
conn_send(void *arg, const void *buf, size_t len)
{
	struct conn *c = arg;

	c->sent++;
	return ak_sock_send(c->k, buf, len);
}

static int64_t
now_s(struct www *w)
{
	int64_t s = 0;
	uint32_t ns;

	/* A clock not yet valid dates responses 1970; never fatal. */
	if (ak_pclock_now(w->clock, &s, &ns) < 0)
		s = 0;
	return s;
}

static int
conn_task(void *arg)
{
	struct conn *c = arg;
	struct www *w = c->w;
	struct www_conn *hc = NULL;
	char buf[RECV_BUF];
	uint64_t deadline = ak_now_ns() + w->idle_ns;

	if (www_conn_open(w->site, conn_send, c, &hc) < 0)
		goto out;
	for (;;) {
		uint64_t t = ak_now_ns(), before;
		ssize_t n;
		int rc;

		if (t >= deadline)
			break;
		/* The poll is answered from the ring when bytes are
		 * there: it costs nothing on a busy connection. */
		rc = ak_sock_poll(c->k, POLLIN, deadline - t);
		if (rc < 0 || !(rc & POLLIN))
			break;
		if ((n = ak_sock_recv(c->k, buf, sizeof(buf))) <= 0)
			break;
		before = c->sent;
		rc = www_conn_feed(hc, buf, (size_t)n, now_s(w));
		if (rc != 0)
			break;
		if (c->sent != before)
			deadline = ak_now_ns() + w->idle_ns;
	}
out:
	www_conn_close(hc);
	ak_sock_close(c->k);
	w->conns--;
	free(c);
	return 0;
}

/* ---- listening -------------------------------------------------------- */

static int
listen_once(struct www *w, struct ak_sock **out)
{
	struct ak_sock *l;
	int rc;

	if ((rc = ak_stack_socket(w->stack, AK_SOCK_TCP, &l)) < 0)
		return rc;
	if ((rc = ak_sock_bind(l, &w->at)) < 0 ||
	    (rc = ak_sock_listen(l, 511)) < 0) {
		ak_sock_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* Errors that mean "tcpipd went away or is coming back": wait, retry. */
static bool
transient(int rc)
{
	return rc == -ENOTCONN || rc == -ECONNRESET || rc == -EPROTO ||
	       rc == -EBUSY || rc == -ENOBUFS || rc == -ENOMEM || rc == -EINTR;
}

static void
addr_text(const struct ak_sockaddr *a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u:%u", a->addr >> 24,
		 (a->addr >> 16) & 255, (a->addr >> 8) & 255, a->addr & 255,
		 a->port);
}

/* Listen, accept, and listen again after tcpipd restarts.  Returns only
 * on a permanent error (the exit status). */
static int
serve(struct www *w)
{
	char at[32], st[96];
	unsigned listens = 0;

	addr_text(&w->at, at, sizeof(at));
	for (;;) {
		struct ak_sock *l = NULL;
		uint64_t since = ak_now_ns();
		int rc;

		while ((rc = listen_once(w, &l)) < 0) {
			/* In use: by someone else, unless it goes within
			 * LISTEN_INUSE_NS (a listener of ours dying). */
			if (!transient(rc) &&
			    (rc != -EADDRINUSE ||
			     ak_now_ns() - since > LISTEN_INUSE_NS)) {
				ring_log(RING_LOG_ERR,
					 "msg=\"cannot listen\" addr=%s err=\"%s\"",
					 at, ak_strerror(rc));
				fprintf(stderr, "www: cannot listen on %s: %s%s\n",
					at, ak_strerror(rc), rc == -EACCES ?
					" (not in the stack device's allow list)" : "");
				return 1;
			}
			ak_task_sleep_until(w->l, ak_now_ns() + RETRY_NS);
		}
		listens++;
		ring_log(RING_LOG_INFO,
			 "msg=listening addr=%s listens=%u waited_ms=%" PRIu64,
			 at, listens, (ak_now_ns() - since) / 1000000);
		snprintf(st, sizeof(st), "serving http://%s/", at);
		ak_status(w->app, st);
		if (listens == 1) {
			/* For people and scripts: the URL, once it answers. */
			printf("www: serving http://%s/\n", at);
			fflush(stdout);
		}
		for (;;) {
			struct ak_sock *k;
			struct conn *c;

			rc = ak_sock_accept(l, &k, NULL);
			if (rc == -ENOBUFS || rc == -ENOMEM || rc == -EBUSY) {
				/* Out of sockets for now: connections that
				 * end make room; the kernel queues the rest. */
				ak_task_sleep_until(w->l, ak_now_ns() + RETRY_NS);
				continue;
			}
			if (rc < 0)
				break;
			if ((c = calloc(1, sizeof(*c))) == NULL) {
				ak_sock_close(k);
				continue;
			}
			c->w = w;
			c->k = k;
			w->conns++;
			w->served++;
			if (ak_task_spawn(w->l, conn_task, c, CONN_STACK, NULL) < 0) {
				ak_sock_close(k);
				w->conns--;
				free(c);
			}
		}
		ak_sock_close(l);
		if (!transient(rc)) {
			ring_log(RING_LOG_ERR, "msg=\"accept failed\" err=\"%s\"",
				 ak_strerror(rc));
			return 1;
		}
		ring_log(RING_LOG_WARN,
			 "msg=\"listener lost; listening again\" err=\"%s\" open=%u served=%" PRIu64,
			 ak_strerror(rc), w->conns, w->served);
		ak_status(w->app, "stack reconnecting");
	}
}

/* ---- start ------------------------------------------------------------ */

/* Read every value of the keys store once: it must be there and
 * readable.  Returns 0 or -errno. */
static int
read_keys(struct ak_kv *kv, size_t *count, size_t *bytes)
{
	struct ak_kv_entry *e;
	size_t n;
	int rc;

	*count = *bytes = 0;
	if ((rc = ak_kv_list(kv, "", &e, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		void *v;
		size_t len;

		if (e[i].kind != AK_KV_VALUE)
			continue;
		if ((rc = ak_kv_get(kv, e[i].name, &v, &len)) < 0)
			break;
		(*count)++;
		*bytes += len;
		free(v);
	}
	ak_kv_free_list(e, n);
	return rc;
}

int
www_start(struct ak_app *app)
{
	struct www w = { .app = app, .l = ak_app_loop(app) };
	struct ak_kv *files = ak_kv(app, "files"), *tmpl = ak_kv(app, "tmpl"),
		     *keys = ak_kv(app, "keys");
	const char *title = "Morgana";
	int64_t port = 8080, idle_s = 10, cache_ms = 1000;
	struct csrc cfiles, ctmpl;
	uint32_t addr = 0x7f000001;
	size_t nkeys, kbytes;
	int rc;

	w.stack = ak_stack(app, "stack");
	w.clock = ak_pclock(app, "clock");
	if (!w.stack || !w.clock || !files || !tmpl || !keys) {
		fprintf(stderr, "www: missing a device (stack, clock, files, tmpl, keys)\n");
		return 1;
	}
	ak_key_str(app, "title", &title);
	ak_key_int(app, "port", &port);
	ak_key_ipv4(app, "addr", &addr, NULL);
	ak_key_int(app, "idle_s", &idle_s);
	ak_key_int(app, "cache_ms", &cache_ms);
	if (port < 1 || port > 65535 || idle_s < 1 || idle_s > 3600 ||
	    cache_ms < 0 || cache_ms > 3600000) {
		fprintf(stderr, "www: port must be 1..65535, idle_s 1..3600, cache_ms 0..3600000\n");
		return 2;
	}
	w.at = (struct ak_sockaddr){ .addr = addr, .port = (uint16_t)port };
	w.idle_ns = (uint64_t)idle_s * 1000000000ull;
	if ((rc = read_keys(keys, &nkeys, &kbytes)) < 0) {
		fprintf(stderr, "www: cannot read the keys store: %s\n",
			ak_strerror(rc));
		return 1;
	}
	ring_log(RING_LOG_INFO, "msg=\"keys read\" values=%zu bytes=%zu",
		 nkeys, kbytes);
	if ((rc = csrc_init(&cfiles, files, w.l, (uint64_t)cache_ms * 1000000u)) < 0 ||
	    (rc = csrc_init(&ctmpl, tmpl, w.l, (uint64_t)cache_ms * 1000000u)) < 0) {
		fprintf(stderr, "www: %s\n", ak_strerror(rc));
		return 1;
	}
	{
		struct www_site_opts o = {
			.sz = sizeof(o), .title = title,
			.files = { &kv_source, &cfiles },
			.tmpl = { &kv_source, &ctmpl },
		};

		if ((rc = www_site_open(&o, &w.site)) < 0) {
			fprintf(stderr, "www: %s\n", ak_strerror(rc));
			return 1;
		}
	}
	rc = serve(&w);
	www_site_close(w.site);
	csrc_fini(&cfiles);
	csrc_fini(&ctmpl);
	return rc;
}
