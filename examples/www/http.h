/*
 * examples/www/http.h - the www example's HTTP/1.1 engine: an incremental
 * request-head parser and a response-head writer.  Transport-independent:
 * it never touches a socket, a clock or a store; the caller hands it
 * bytes, the wall time and the content's metadata.
 *
 * Nothing here allocates, blocks or logs.  Every function reads only the
 * [buf, buf+len) it is given.
 */
#ifndef WWW_HTTP_H
#define WWW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits (RFC 9112 leaves them to the server; nginx's are similar). */
#define WWW_HTTP_LINE_MAX 8192	/* request line, without CRLF -> 414 */
#define WWW_HTTP_HEAD_MAX 16384	/* header lines, with CRLFs -> 431 */
#define WWW_HTTP_HDRS_MAX 100	/* header fields -> 431 */
/* The most a complete request head can take (request line, headers, the
 * terminating empty line): a connection buffer this big never refuses a
 * head the limits accept. */
#define WWW_HTTP_BUF_MIN (WWW_HTTP_LINE_MAX + 2 + WWW_HTTP_HEAD_MAX + 2)

/* No Last-Modified / no If-Modified-Since. */
#define WWW_HTTP_NO_TIME INT64_MIN

enum www_method {
	WWW_METHOD_NONE = 0,
	WWW_METHOD_GET,
	WWW_METHOD_HEAD,
	WWW_METHOD_OTHER,	/* a standard method we do not serve: 405 */
};

/* A header field: slices of the caller's buffer, not NUL-terminated. */
struct www_http_hdr {
	const char *name;
	size_t name_len;
	const char *value;	/* OWS trimmed */
	size_t value_len;
};

/*
 * A parsed request head.  Every pointer is into the buffer given to
 * www_http_parse and lives as long as those bytes stay put.
 */
struct www_req {
	enum www_method method;
	int minor;			/* HTTP/1.<minor>: 0 or 1 */
	const char *target;		/* request-target as sent */
	size_t target_len;
	const char *path;		/* target's path: origin-form, starts '/' */
	size_t path_len;		/* (absolute-form's authority stripped, */
					/*  query and fragment cut off) */
	const char *host;		/* NULL if absent */
	size_t host_len;
	const char *range;		/* Range value, NULL if absent */
	size_t range_len;
	int64_t if_modified_since;	/* WWW_HTTP_NO_TIME if absent/invalid */
	uint64_t body_len;		/* Content-Length (0 if absent) */
	bool keep_alive;		/* Connection semantics of 1.0 / 1.1 */
	int status;			/* on error: the status to answer */
	unsigned nhdrs;
	struct www_http_hdr hdrs[WWW_HTTP_HDRS_MAX];
};

/*
 * Parser state for one request head; reset (zero it or call
 * www_http_parser_reset) before each request.  It remembers how far it
 * has scanned, so feeding a head a byte at a time costs O(head).
 */
struct www_http_parser {
	size_t pos;		/* bytes already scanned */
	size_t line_start;	/* start of the line being scanned */
	size_t line_end;	/* end of the request line (its LF), 0: none */
	unsigned nhdrs;
};

void www_http_parser_reset(struct www_http_parser *p);

/*
 * Parse the request head at buf.  buf[0..len) are the bytes received so
 * far for this request (the caller's; on each call the same prefix,
 * possibly longer; and the same *req, which it clears on the first call
 * for a head).  Bare LF is accepted as a line end, like CRLF.  Empty
 * lines before the request line are the caller's to skip (www_conn does);
 * here an empty first line is a 400.
 * Returns:
 *   > 0      the head is complete and *req filled: the count of bytes it
 *            took (the request body, body_len bytes, and any pipelined
 *            request follow it); the parser is reset for the next one;
 *   0        incomplete: call again with more bytes;
 *   -EPROTO  the request is refused: req->status is the status to answer
 *            (400 bad syntax, 405 method not served, 414 request line too
 *            long, 431 headers too big or too many, 501 unknown method or
 *            Transfer-Encoding, 505 HTTP version) and the connection must
 *            close afterwards (req->keep_alive is false); req->method and
 *            req->minor are set when they were parsed.
 * Never blocks.
 */
int www_http_parse(struct www_http_parser *p, const char *buf, size_t len,
		   struct www_req *req);

/* The value of header name (case-insensitive), or NULL; *len its length. */
const char *www_req_header(const struct www_req *req, const char *name,
			   size_t *len);

/*
 * IMF-fixdate (RFC 7231 7.1.1.1), "Sun, 06 Nov 1994 08:49:37 GMT", of t
 * (seconds since the epoch, UTC) into out (the caller's, 30 bytes: 29 and
 * a NUL).  Years outside 0..9999 are clamped.  Returns 29.
 */
int www_http_date(int64_t t, char out[30]);
/* Parse an IMF-fixdate; returns 0 and *t, or -EINVAL. */
int www_http_parse_date(const char *s, size_t len, int64_t *t);

/*
 * Evaluate a Range value (as in www_req.range; NULL for none) against a
 * representation of size bytes.  Returns:
 *   200  serve the whole thing (no Range, a unit other than bytes, or
 *        several ranges, which we answer with the whole body);
 *   206  *start and *count are the single satisfiable range (bytes=a-b,
 *        a-, -n; b past the end is cut to the end);
 *   416  unsatisfiable or malformed bytes range.
 */
int www_http_range(const char *v, size_t len, uint64_t size,
		   uint64_t *start, uint64_t *count);

/* Content-Type for a key by its extension (case-insensitive);
 * "application/octet-stream" when unknown.  Static string. */
const char *www_http_mime(const char *key);

/* Reason phrase of a status ("Not Found"), "" when unknown.  Static. */
const char *www_http_reason(int status);

/* What a response head says. */
struct www_resp {
	int status;
	int minor;			/* the request's HTTP/1.<minor> */
	bool keep_alive;		/* false: Connection: close */
	int64_t date;			/* now, seconds since the epoch */
	const char *content_type;	/* NULL: none */
	bool has_length;		/* false: no Content-Length (304) */
	uint64_t length;		/* Content-Length: body bytes */
	int64_t last_modified;		/* WWW_HTTP_NO_TIME: none */
	uint64_t range_start;		/* 206: Content-Range: bytes s-e/total */
	uint64_t total;			/* 206 and 416: the full size */
	const char *location;		/* NULL: none (3xx) */
	const char *allow;		/* NULL: none (405) */
};

/*
 * Write the status line and headers of r, and the empty line, into buf
 * (the caller's, cap bytes).  Returns the count written or -ENOSPC (buf
 * is then garbage).  Never blocks.
 */
ssize_t www_http_head(char *buf, size_t cap, const struct www_resp *r);

/*
 * A complete small error response (head and a short HTML body; no body
 * if head_only) for status into buf.  Returns the count or -ENOSPC.
 * 512 bytes are always enough.
 */
ssize_t www_http_error(char *buf, size_t cap, int status, int minor,
		       bool keep_alive, int64_t date, bool head_only);

#endif /* WWW_HTTP_H */
