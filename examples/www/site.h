/*
 * examples/www/site.h - the www example's request -> response logic over
 * abstract content sources, its template renderer, and a per-connection
 * driver that turns received bytes into sent responses.
 *
 * Content comes from two sources shaped like ak_kv's KV_RO calls (size,
 * last_modified, get_partial), so each maps 1:1 onto an ak_kv handle:
 *   files  the site's static files ("css/site.css", "about.html");
 *   tmpl   templates ("index.html" renders alone; "page.html" wraps a
 *          an .html fragment from files as {{body}}).
 * Template variables: {{title}} and {{path}} (HTML-escaped) and {{body}}
 * (raw).  Unknown variables render as nothing.
 *
 * Mapping: "/" -> "index.html", "/dir/" -> "dir/index.html", "/a/b" ->
 * "a/b"; a key that is a directory answers 301 to "/a/b/".  Paths are
 * percent-decoded once; "..", ".", empty segments ("//"), NUL and other
 * control bytes, "%2F" and "\" are refused with 400.
 *
 * Sending goes through the caller's send function, so the same code runs
 * over host sockets (tests/lib/www_files.c) and over ak_stack's sockets
 * (ak_sock_send).  Source calls and sends may block the calling task.
 */
#ifndef WWW_SITE_H
#define WWW_SITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http.h"

/* A content source; return values as ak_kv_size, ak_kv_last_modified and
 * ak_kv_get_partial (-ENOENT, -EISDIR, ...). */
struct www_source_ops {
	int (*size)(void *dev, const char *key, uint64_t *size);
	int (*last_modified)(void *dev, const char *key, int64_t *sec,
			     uint32_t *nsec);
	ssize_t (*read)(void *dev, const char *key, uint64_t off, void *buf,
			size_t len);
};

struct www_source {
	const struct www_source_ops *ops;	/* NULL: an empty source */
	void *dev;
};

struct www_site_opts {
	size_t sz;			/* sizeof(struct www_site_opts) */
	const char *title;		/* {{title}}; copied; NULL: "Morgana" */
	struct www_source files;
	struct www_source tmpl;
};

struct www_site;

/* Templates and fragments bigger than this are served as 500. */
#define WWW_TMPL_MAX (256 * 1024)

/*
 * Make a site.  The sources' ops and devs stay the caller's and must
 * outlive the site.  Returns 0, -EINVAL (bad opts), -ENOMEM.
 */
int www_site_open(const struct www_site_opts *o, struct www_site **out);
void www_site_close(struct www_site *s);	/* NULL is ok */

/*
 * Map a request path (www_req.path: starts with '/', no query) to a key
 * into key (the caller's, cap bytes, NUL-terminated).  Returns the key's
 * length, -EINVAL for a path we refuse (400), -ENAMETOOLONG if the key
 * does not fit (414).  Never blocks.
 */
ssize_t www_path_to_key(const char *path, size_t len, char *key, size_t cap);

/*
 * Render template t (t_len bytes) into out (the caller's, cap bytes).
 * title and path are HTML-escaped, body (body_len bytes) is copied as
 * is; any may be NULL (renders as nothing).  Returns the length written
 * or -ENOSPC.  Never blocks.
 */
ssize_t www_render(const char *t, size_t t_len, const char *title,
		   const char *path, const char *body, size_t body_len,
		   char *out, size_t cap);

/* Send all of buf: returns len or -errno.  May block the calling task. */
typedef ssize_t www_send_fn(void *arg, const void *buf, size_t len);

/*
 * Answer one request (from www_http_parse) at wall time now: status line,
 * headers and, unless HEAD, the body, through send.  scratch (the
 * caller's, cap >= 4096) is working space; a response that fits goes out
 * in one send.  Returns 0 (the connection may go on if req->keep_alive),
 * or -errno: a send failed, or the content changed under us (-EIO) after
 * its length was promised; either way close the connection.  Blocks on
 * the sources and on send.
 */
int www_site_respond(struct www_site *s, const struct www_req *req,
		     int64_t now, char *scratch, size_t cap,
		     www_send_fn *send, void *arg);

/* ---- one connection --------------------------------------------------- */

struct www_conn;

/*
 * State for one connection (a buffer of about 40 KiB).  send/arg are how
 * its responses leave.  Returns 0, -ENOMEM.
 */
int www_conn_open(struct www_site *s, www_send_fn *send, void *arg,
		  struct www_conn **out);
void www_conn_close(struct www_conn *c);	/* NULL is ok */

/*
 * Feed len bytes just received (data is the caller's, not kept).  Every
 * complete request in them (pipelined ones too) is answered before it
 * returns; partial ones are kept for the next call.  Request bodies
 * (Content-Length) are skipped.  Returns:
 *   0       wants more bytes;
 *   1       done: close the connection (Connection: close, or an error
 *           that was answered);
 *   -errno  a send failed (or -EIO, see www_site_respond): close it.
 * Blocks on the sources and on send.
 */
int www_conn_feed(struct www_conn *c, const void *data, size_t len,
		  int64_t now);

#endif /* WWW_SITE_H */
