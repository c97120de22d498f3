/*
 * examples/www/site.c - request -> response over content sources, the
 * template renderer, and the per-connection driver.
 */
#include "site.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"

struct www_site {
	char *title;
	struct www_source files, tmpl;
};

#define KEY_MAX 1024

int
www_site_open(const struct www_site_opts *o, struct www_site **out)
{
	struct www_site *s;

	if (!o || !out || o->sz < sizeof(*o))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->title = strdup(o->title ? o->title : "Morgana");
	if (!s->title) {
		free(s);
		return -ENOMEM;
	}
	s->files = o->files;
	s->tmpl = o->tmpl;
	*out = s;
	return 0;
}

void
www_site_close(struct www_site *s)
{
	if (!s)
		return;
	free(s->title);
	free(s);
}

/* ---- paths -------------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Is key[s, e) a segment we refuse: empty, "." or ".."? */
static bool
bad_segment(const char *key, size_t s, size_t e)
{
	size_t n = e - s;

	return n == 0 || (n == 1 && key[s] == '.') ||
	       (n == 2 && key[s] == '.' && key[s + 1] == '.');
}

ssize_t
www_path_to_key(const char *path, size_t len, char *key, size_t cap)
{
	static const char idx[] = "index.html";
	size_t i = 1, k = 0, seg = 0;

	if (len == 0 || path[0] != '/' || cap == 0)
		return -EINVAL;
	while (i < len) {
		unsigned char c = (unsigned char)path[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -EINVAL;
			hi = hexval(path[i + 1]);
			lo = hexval(path[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
			/* An encoded separator would name a different key
			 * than the segments we check. */
			if (c == '/')
				return -EINVAL;
		} else {
			i++;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return -EINVAL;
		if (c == '/') {
			if (bad_segment(key, seg, k))
				return -EINVAL;
		}
		if (k + 1 >= cap)
			return -ENAMETOOLONG;
		key[k++] = (char)c;
		if (c == '/')
			seg = k;
	}
	if (k > seg && bad_segment(key, seg, k))
		return -EINVAL;
	if (k == seg) {
		/* "/" or ".../": the directory's index page. */
		if (cap - k < sizeof(idx))
			return -ENAMETOOLONG;
		memcpy(key + k, idx, sizeof(idx));
		k += sizeof(idx) - 1;
	}
	key[k] = '\0';
	return (ssize_t)k;
}

/* ---- templates ---------------------------------------------------------- */

struct wbuf {
	char *p;
	size_t n, cap;
	bool full;
};

static void
wput(struct wbuf *w, const char *s, size_t n)
{
	if (w->full || w->cap - w->n < n) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->n, s, n);
	w->n += n;
}

static void
wput_escaped(struct wbuf *w, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': wput(w, "&amp;", 5); break;
		case '<': wput(w, "&lt;", 4); break;
		case '>': wput(w, "&gt;", 4); break;
		case '"': wput(w, "&quot;", 6); break;
		case '\'': wput(w, "&#39;", 5); break;
		default: wput(w, s, 1);
		}
	}
}

ssize_t
www_render(const char *t, size_t t_len, const char *title, const char *path,
	   const char *body, size_t body_len, char *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };
	size_t i = 0;

	while (i < t_len) {
		const char *open = memmem(t + i, t_len - i, "{{", 2);
		const char *close, *ns, *ne;

		if (!open) {
			wput(&w, t + i, t_len - i);
			break;
		}
		close = memmem(open + 2, (size_t)(t + t_len - open - 2), "}}", 2);
		if (!close) {
			wput(&w, t + i, t_len - i);
			break;
		}
		wput(&w, t + i, (size_t)(open - (t + i)));
		ns = open + 2;
		ne = close;
		while (ns < ne && *ns == ' ')
			ns++;
		while (ne > ns && ne[-1] == ' ')
			ne--;
		if (ne - ns == 5 && memcmp(ns, "title", 5) == 0)
			wput_escaped(&w, title);
		else if (ne - ns == 4 && memcmp(ns, "path", 4) == 0)
			wput_escaped(&w, path);
		else if (ne - ns == 4 && memcmp(ns, "body", 4) == 0 && body)
			wput(&w, body, body_len);
		i = (size_t)(close + 2 - t);
	}
	return w.full ? -ENOSPC : (ssize_t)w.n;
}

/* ---- responses ---------------------------------------------------------- */

static int
src_size(const struct www_source *src, const char *key, uint64_t *size)
{
	if (!src->ops)
		return -ENOENT;
	return src->ops->size(src->dev, key, size);
}

static int64_t
src_mtime(const struct www_source *src, const char *key)
{
	int64_t sec;
	uint32_t nsec;

	if (src->ops->last_modified(src->dev, key, &sec, &nsec) < 0)
		return WWW_HTTP_NO_TIME;
	return sec;
}

/* Read exactly len bytes at off into buf: a short read means the value
 * changed under us, and a response whose length is promised cannot be
 * finished. */
static int
src_read_all(const struct www_source *src, const char *key, uint64_t off,
	     char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = src->ops->read(src->dev, key, off, buf, len);

		if (n <= 0 || (size_t)n > len) {
			ring_log(RING_LOG_WARN, "msg=\"short read\" key=\"%s\" err=%zd",
				 key, n);
			return n < 0 ? (int)n : -EIO;
		}
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* A whole (small) value: *out malloc'd, the caller frees it. */
static int
src_load(const struct www_source *src, const char *key, char **out,
	 size_t *len, int64_t *lm)
{
	uint64_t size;
	char *p;
	int r;

	r = src_size(src, key, &size);
	if (r < 0)
		return r;
	if (size > WWW_TMPL_MAX)
		return -EFBIG;
	p = malloc(size ? size : 1);
	if (!p)
		return -ENOMEM;
	r = src_read_all(src, key, 0, p, (size_t)size);
	if (r < 0) {
		free(p);
		return r;
	}
	*out = p;
	*len = (size_t)size;
	*lm = src_mtime(src, key);
	return 0;
}

static int
send_error(const struct www_req *req, int status, bool keep_alive,
	   int64_t now, char *scratch, size_t cap, www_send_fn *send,
	   void *arg)
{
	ssize_t n = www_http_error(scratch, cap, status, req->minor,
				   keep_alive, now,
				   req->method == WWW_METHOD_HEAD);

	if (n < 0)
		return (int)n;
	n = send(arg, scratch, (size_t)n);
	return n < 0 ? (int)n : 0;
}

static int
send_all(www_send_fn *send, void *arg, const void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	n = send(arg, buf, len);
	return n < 0 ? (int)n : 0;
}

/* The body is either mem (rendered) or the files source's key. */
struct body {
	const char *mem;
	const struct www_source *src;
	const char *key;
	uint64_t size;
	int64_t lm;
	const char *type;
};

static int
serve(const struct www_req *req, const struct body *b, int64_t now,
      char *scratch, size_t cap, www_send_fn *send, void *arg)
{
	struct www_resp r = {
		.status = 200, .minor = req->minor,
		.keep_alive = req->keep_alive, .date = now,
		.content_type = b->type, .has_length = true,
		.last_modified = b->lm, .total = b->size,
	};
	uint64_t off = 0, cnt = b->size;
	ssize_t hn;
	int st, rc;

	/* Last-Modified has whole seconds, so compare seconds; If-Modified-
	 * Since goes before Range (RFC 9110 13.2.2). */
	if (req->if_modified_since != WWW_HTTP_NO_TIME &&
	    b->lm != WWW_HTTP_NO_TIME && b->lm <= req->if_modified_since) {
		r.status = 304;
		r.has_length = false;
		r.content_type = NULL;
		cnt = 0;
	} else {
		st = www_http_range(req->range, req->range_len, b->size, &off,
				    &cnt);
		r.status = st;
		if (st == 416) {
			r.content_type = NULL;
			off = cnt = 0;
		} else if (st == 200) {
			off = 0;
			cnt = b->size;
		}
	}
	r.range_start = off;
	r.length = cnt;
	hn = www_http_head(scratch, cap, &r);
	if (hn < 0)
		return (int)hn;
	if (req->method == WWW_METHOD_HEAD || cnt == 0)
		return send_all(send, arg, scratch, (size_t)hn);
	if (cnt <= cap - (size_t)hn) {
		/* Head and body in one send: small pages are the common case. */
		if (b->mem)
			memcpy(scratch + hn, b->mem + off, (size_t)cnt);
		else if ((rc = src_read_all(b->src, b->key, off, scratch + hn,
					    (size_t)cnt)) < 0)
			return rc;
		return send_all(send, arg, scratch, (size_t)hn + (size_t)cnt);
	}
	if ((rc = send_all(send, arg, scratch, (size_t)hn)) < 0)
		return rc;
	if (b->mem)
		return send_all(send, arg, b->mem + off, (size_t)cnt);
	while (cnt > 0) {
		size_t n = cnt < cap ? (size_t)cnt : cap;

		if ((rc = src_read_all(b->src, b->key, off, scratch, n)) < 0 ||
		    (rc = send_all(send, arg, scratch, n)) < 0)
			return rc;
		off += n;
		cnt -= n;
	}
	return 0;
}

static bool
ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* Render an .html key if the templates know how: tmpl[key] on its own,
 * or tmpl["page.html"] around files[key].  1: rendered into *out; 0: not
 * a templated page; -errno. */
static int
render_page(struct www_site *s, const char *key, const char *path,
	    char **out, size_t *len, int64_t *lm)
{
	char *t = NULL, *frag = NULL, *o = NULL;
	size_t tn = 0, fn = 0, cap;
	int64_t tlm = WWW_HTTP_NO_TIME, flm = WWW_HTTP_NO_TIME;
	uint64_t size;
	ssize_t n;
	int r;

	r = src_load(&s->tmpl, key, &t, &tn, &tlm);
	if (r == -ENOENT || r == -EISDIR) {
		if (src_size(&s->files, key, &size) < 0 ||
		    src_size(&s->tmpl, "page.html", &size) < 0)
			return 0;
		r = src_load(&s->files, key, &frag, &fn, &flm);
		if (r == 0)
			r = src_load(&s->tmpl, "page.html", &t, &tn, &tlm);
	}
	if (r < 0)
		goto out;
	cap = tn + fn + 1024;
	for (;;) {
		char *no = realloc(o, cap);

		if (!no) {
			r = -ENOMEM;
			goto out;
		}
		o = no;
		n = www_render(t, tn, s->title, path, frag, fn, o, cap);
		if (n >= 0)
			break;
		if (cap > 8 * WWW_TMPL_MAX) {
			r = -EFBIG;
			goto out;
		}
		cap *= 2;
	}
	*out = o;
	o = NULL;
	*len = (size_t)n;
	*lm = tlm > flm ? tlm : flm;
	r = 1;
out:
	free(o);
	free(t);
	free(frag);
	return r;
}

int
www_site_respond(struct www_site *s, const struct www_req *req, int64_t now,
		 char *scratch, size_t cap, www_send_fn *send, void *arg)
{
	char key[KEY_MAX], path[KEY_MAX + 2];
	struct body b = { .src = &s->files, .key = key };
	char *page = NULL;
	size_t plen;
	ssize_t kn;
	int r;

	kn = www_path_to_key(req->path, req->path_len, key, sizeof(key));
	if (kn < 0 || req->path_len >= sizeof(path) - 1)
		return send_error(req, kn == -EINVAL ? 400 : 414,
				  req->keep_alive, now, scratch, cap, send, arg);
	/* Validated: printable ASCII without CR/LF, safe in a header. */
	memcpy(path, req->path, req->path_len);
	path[req->path_len] = '\0';

	if (ends_with(key, (size_t)kn, ".html")) {
		r = render_page(s, key, path, &page, &plen, &b.lm);
		if (r < 0) {
			ring_log(RING_LOG_WARN, "msg=\"cannot render\" key=\"%s\" err=%d",
				 key, r);
			return send_error(req, 500, false, now, scratch, cap,
					  send, arg);
		}
		if (r == 1) {
			b.mem = page;
			b.size = plen;
			b.type = www_http_mime(key);
			r = serve(req, &b, now, scratch, cap, send, arg);
			free(page);
			return r;
		}
	}
	r = src_size(&s->files, key, &b.size);
	if (r == -EISDIR) {
		struct www_resp red = {
			.status = 301, .minor = req->minor,
			.keep_alive = req->keep_alive, .date = now,
			.has_length = true, .last_modified = WWW_HTTP_NO_TIME,
			.location = path,
		};
		ssize_t hn;

		path[req->path_len] = '/';
		path[req->path_len + 1] = '\0';
		hn = www_http_head(scratch, cap, &red);
		return hn < 0 ? (int)hn : send_all(send, arg, scratch, (size_t)hn);
	}
	if (r < 0) {
		int st = r == -ENOENT || r == -ENOTDIR ? 404 :
			 r == -EINVAL ? 400 : r == -ENAMETOOLONG ? 414 : 500;

		return send_error(req, st, st != 500 && req->keep_alive, now,
				  scratch, cap, send, arg);
	}
	b.lm = src_mtime(&s->files, key);
	b.type = www_http_mime(key);
	return serve(req, &b, now, scratch, cap, send, arg);
}

/* ---- connections -------------------------------------------------------- */

#define OUT_CAP 16384

struct www_conn {
	struct www_site *site;
	www_send_fn *send;
	void *arg;
	struct www_http_parser p;
	uint64_t skip;		/* request body bytes still to drop */
	size_t len;		/* bytes in buf */
	struct www_req req;
	char buf[WWW_HTTP_BUF_MIN];
	char out[OUT_CAP];
};

int
www_conn_open(struct www_site *s, www_send_fn *send, void *arg,
	      struct www_conn **out)
{
	struct www_conn *c;

	if (!s || !send || !out)
		return -EINVAL;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->site = s;
	c->send = send;
	c->arg = arg;
	c->skip = 0;
	c->len = 0;
	www_http_parser_reset(&c->p);
	*out = c;
	return 0;
}

void
www_conn_close(struct www_conn *c)
{
	free(c);
}

static void
drop_front(struct www_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

int
www_conn_feed(struct www_conn *c, const void *data, size_t len, int64_t now)
{
	const char *d = data;

	for (;;) {
		size_t n;
		int r;

		if (c->skip) {
			n = c->len < c->skip ? c->len : (size_t)c->skip;
			drop_front(c, n);
			c->skip -= n;
			n = len < c->skip ? len : (size_t)c->skip;
			d += n;
			len -= n;
			c->skip -= n;
			if (c->skip)
				return 0;
		}
		n = sizeof(c->buf) - c->len;
		if (n > len)
			n = len;
		memcpy(c->buf + c->len, d, n);
		c->len += n;
		d += n;
		len -= n;
		if (c->p.pos == 0) {
			/* Empty lines before a request line are ignored
			 * (RFC 9112 2.2). */
			size_t e = 0;

			while (e < c->len && (c->buf[e] == '\r' || c->buf[e] == '\n'))
				e++;
			drop_front(c, e);
		}
		if (c->len == 0) {
			if (len == 0)
				return 0;
			continue;
		}
		r = www_http_parse(&c->p, c->buf, c->len, &c->req);
		if (r < 0) {
			r = send_error(&c->req, c->req.status, false, now,
				       c->out, sizeof(c->out), c->send, c->arg);
			return r < 0 ? r : 1;
		}
		if (r == 0) {
			if (len == 0)
				return 0;
			if (c->len == sizeof(c->buf)) {
				/* Cannot happen within the parser's limits;
				 * refuse rather than spin. */
				r = send_error(&c->req, 431, false, now, c->out,
					       sizeof(c->out), c->send, c->arg);
				return r < 0 ? r : 1;
			}
			continue;
		}
		n = (size_t)r;
		r = www_site_respond(c->site, &c->req, now, c->out,
				     sizeof(c->out), c->send, c->arg);
		if (r < 0)
			return r;
		c->skip = c->req.body_len;
		drop_front(c, n);
		if (!c->req.keep_alive)
			return 1;
	}
}
