/*
 * www HTTP engine: request heads (valid, pipelined, split at every byte,
 * every limit and error), Range forms, dates, response heads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "examples/www/http.h"

static struct www_req req;

static int
parse_all(const char *s, size_t n)
{
	struct www_http_parser p;

	www_http_parser_reset(&p);
	return www_http_parse(&p, s, n, &req);
}

struct pcase {
	const char *in;
	int ret;		/* >0: complete (head length = strlen unless body) */
	int status;		/* for errors */
	enum www_method method;
	int minor;
	int keep_alive;
	const char *path;
};

static const struct pcase pcases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 1, "/" },
	{ "HEAD /x.css HTTP/1.1\r\nHost: a\r\n\r\n", 1, 0, WWW_METHOD_HEAD, 1, 1, "/x.css" },
	{ "GET /a?b=c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 0, "/a" },
	{ "GET / HTTP/1.0\r\n\r\n", 1, 0, WWW_METHOD_GET, 0, 0, "/" },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, 0, WWW_METHOD_GET, 0, 1, "/" },
	{ "GET / HTTP/1.1\nHost: a\n\n", 1, 0, WWW_METHOD_GET, 1, 1, "/" },
	{ "GET http://h:80/p/q?x HTTP/1.1\r\nHost: h\r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 1, "/p/q" },
	{ "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 1, "/" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 0, "/" },
	{ "GET / HTTP/1.1\r\nhost:a\r\nX-Y:  spaced  \r\n\r\n", 1, 0, WWW_METHOD_GET, 1, 1, "/" },
	{ "POST / HTTP/1.1\r\nHost: a\r\n\r\n", -EPROTO, 405, WWW_METHOD_OTHER, 1, 0, NULL },
	{ "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", -EPROTO, 501, WWW_METHOD_NONE, 1, 0, NULL },
	{ "get / HTTP/1.1\r\nHost: a\r\n\r\n", -EPROTO, 501, WWW_METHOD_NONE, 1, 0, NULL },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", -EPROTO, 505, 0, 0, 0, NULL },
	{ "GET / HTTP/1.1\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET /\r\n\r\n", -EPROTO, 400, 0, 0, 0, NULL },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -EPROTO, 400, 0, 0, 0, NULL },
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -EPROTO, 400, 0, 0, 0, NULL },
	{ "GET x HTTP/1.1\r\nHost: a\r\n\r\n", -EPROTO, 400, 0, 0, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost a\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EPROTO, 400, WWW_METHOD_GET, 1, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -EPROTO, 501, WWW_METHOD_GET, 1, 0, NULL },
	{ "\r\n", -EPROTO, 400, 0, 0, 0, NULL },
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		size_t n = strlen(c->in);
		int r = parse_all(c->in, n);

		print_message("case %zu: %s\n", i, c->in);
		if (c->ret > 0) {
			assert_int_equal(r, (int)n);
			assert_int_equal(req.method, c->method);
			assert_int_equal(req.minor, c->minor);
			assert_int_equal(req.keep_alive, c->keep_alive);
			assert_int_equal(req.path_len, strlen(c->path));
			assert_memory_equal(req.path, c->path, req.path_len);
		} else {
			assert_int_equal(r, c->ret);
			assert_int_equal(req.status, c->status);
			assert_false(req.keep_alive);
			if (c->method)
				assert_int_equal(req.method, c->method);
		}
	}
}

/* Every valid case, and every error case, gives the same answer when it
 * arrives in two reads split at any byte, or one byte at a time; a prefix
 * never completes early. */
static void
test_parse_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		size_t n = strlen(c->in);
		struct www_http_parser p;

		for (size_t cut = 0; cut < n; cut++) {
			int r;

			www_http_parser_reset(&p);
			r = www_http_parse(&p, c->in, cut, &req);
			if (r != 0) {
				/* Only errors may show before the end. */
				assert_true(c->ret < 0);
				assert_int_equal(r, -EPROTO);
				continue;
			}
			r = www_http_parse(&p, c->in, n, &req);
			assert_int_equal(r, c->ret > 0 ? (int)n : c->ret);
		}
		www_http_parser_reset(&p);
		for (size_t k = 1; k <= n; k++) {
			int r = www_http_parse(&p, c->in, k, &req);

			if (r == 0) {
				assert_true(k < n);
				continue;
			}
			assert_int_equal(r, c->ret > 0 ? (int)n : c->ret);
			break;
		}
	}
}

static void
test_pipelined(void **state)
{
	const char *s = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
			"HEAD /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
			"GET /c HTTP/1.0\r\n\r\n";
	size_t n = strlen(s), off = 0;
	int r;
	(void)state;

	r = parse_all(s, n);
	assert_int_equal(r, 28);
	assert_memory_equal(req.path, "/a", 2);
	off += (size_t)r;
	r = parse_all(s + off, n - off);
	assert_true(r > 0);
	assert_int_equal(req.method, WWW_METHOD_HEAD);
	assert_int_equal(req.body_len, 3);
	off += (size_t)r + req.body_len;
	r = parse_all(s + off, n - off);
	assert_int_equal(r, (int)(n - off));
	assert_memory_equal(req.path, "/c", 2);
	assert_false(req.keep_alive);
}

static void
test_limits(void **state)
{
	size_t cap = WWW_HTTP_BUF_MIN + 64 * 1024;
	char *b = malloc(cap);
	size_t n;
	int r;
	(void)state;

	/* Request line of exactly the limit: fine. */
	n = (size_t)sprintf(b, "GET /");
	memset(b + n, 'a', WWW_HTTP_LINE_MAX - n - 9);
	n = WWW_HTTP_LINE_MAX - 9;
	n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(parse_all(b, n), (int)n);
	/* One more byte: 414, also before the line ends. */
	n = (size_t)sprintf(b, "GET /");
	memset(b + n, 'a', WWW_HTTP_LINE_MAX);
	n += WWW_HTTP_LINE_MAX;
	assert_int_equal(parse_all(b, n), -EPROTO);
	assert_int_equal(req.status, 414);
	n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(parse_all(b, n), -EPROTO);
	assert_int_equal(req.status, 414);

	/* 100 headers: fine; 101: 431. */
	for (int h = 100; h <= 101; h++) {
		n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 1; i < h; i++)
			n += (size_t)sprintf(b + n, "X-%d: v\r\n", i);
		n += (size_t)sprintf(b + n, "\r\n");
		r = parse_all(b, n);
		if (h == 100) {
			assert_int_equal(r, (int)n);
			assert_int_equal(req.nhdrs, 100);
		} else {
			assert_int_equal(r, -EPROTO);
			assert_int_equal(req.status, 431);
		}
	}
	/* Headers of 16 KiB: fine; one byte more: 431. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t hs;

		n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
		hs = 16;	/* header section start */
		memset(b + n, 'v', WWW_HTTP_HEAD_MAX - (n - hs) - 2 + (size_t)extra);
		n += WWW_HTTP_HEAD_MAX - (n - hs) - 2 + (size_t)extra;
		assert_int_equal(parse_all(b, n), 0);	/* cannot tell yet */
		n += (size_t)sprintf(b + n, "\r\n\r\n");
		r = parse_all(b, n);
		assert_int_equal(r, extra ? -EPROTO : (int)n);
		if (extra)
			assert_int_equal(req.status, 431);
	}
	/* A bad request line is refused at its LF, before any header: a
	 * client that never ends its head still gets its 400 / 505. */
#define LIT(s) s, sizeof(s) - 1
	assert_int_equal(parse_all(LIT("\x01\x02 garbage\n\x03")), -EPROTO);
	assert_int_equal(req.status, 400);
	assert_int_equal(parse_all(LIT("GET / HTTP/2.0\r\nHost: a\r\n")), -EPROTO);
	assert_int_equal(req.status, 505);
	assert_int_equal(parse_all(LIT("GET / HTTP/1.1\r\nHost: a\r\n")), 0);
#undef LIT
	/* An endless header line is refused within WWW_HTTP_BUF_MIN. */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nX: ");
	memset(b + n, 'v', cap - n);
	assert_int_equal(parse_all(b, WWW_HTTP_BUF_MIN), -EPROTO);
	assert_int_equal(req.status, 431);
	free(b);
}

static void
test_headers(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: ex.org\r\nRange: bytes=1-2\r\n"
			"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
	size_t n;
	const char *v;
	(void)state;

	assert_int_equal(parse_all(s, strlen(s)), (int)strlen(s));
	assert_int_equal(req.host_len, 6);
	assert_memory_equal(req.host, "ex.org", 6);
	assert_int_equal(req.range_len, 9);
	assert_int_equal(req.if_modified_since, 784111777);
	v = www_req_header(&req, "RANGE", &n);
	assert_non_null(v);
	assert_int_equal(n, 9);
	assert_null(www_req_header(&req, "cookie", &n));
	s = "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: yesterday\r\n\r\n";
	assert_int_equal(parse_all(s, strlen(s)), (int)strlen(s));
	assert_true(req.if_modified_since == WWW_HTTP_NO_TIME);
}

struct rcase {
	const char *v;
	uint64_t size;
	int st;
	uint64_t start, count;
};

static const struct rcase rcases[] = {
	{ NULL, 100, 200, 0, 0 },
	{ "bytes=0-9", 100, 206, 0, 10 },
	{ "bytes=10-", 100, 206, 10, 90 },
	{ "bytes=-5", 100, 206, 95, 5 },
	{ "bytes=-500", 100, 206, 0, 100 },
	{ "bytes=90-200", 100, 206, 90, 10 },
	{ "bytes=99-99", 100, 206, 99, 1 },
	{ "Bytes=0-0", 100, 206, 0, 1 },
	{ "bytes=0-99999999999999999999999", 100, 206, 0, 100 },
	{ "bytes=100-", 100, 416, 0, 0 },
	{ "bytes=5-3", 100, 416, 0, 0 },
	{ "bytes=-0", 100, 416, 0, 0 },
	{ "bytes=0-0", 0, 416, 0, 0 },
	{ "bytes=-1", 0, 416, 0, 0 },
	{ "bytes=abc", 100, 416, 0, 0 },
	{ "bytes=1-2x", 100, 416, 0, 0 },
	{ "bytes=", 100, 416, 0, 0 },
	{ "bytes=-", 100, 416, 0, 0 },
	{ "bytes=0-1,5-6", 100, 200, 0, 0 },
	{ "items=0-1", 100, 200, 0, 0 },
};

static void
test_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		uint64_t s = 7, n = 7;
		int st = www_http_range(c->v, c->v ? strlen(c->v) : 0, c->size,
					&s, &n);

		print_message("range %s\n", c->v ? c->v : "(none)");
		assert_int_equal(st, c->st);
		if (st == 206) {
			assert_int_equal(s, c->start);
			assert_int_equal(n, c->count);
		}
	}
}

static void
test_date(void **state)
{
	char d[30];
	int64_t t;
	(void)state;

	assert_int_equal(www_http_date(784111777, d), 29);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	www_http_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	www_http_date(951782400, d);
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	www_http_date(-1, d);
	assert_string_equal(d, "Wed, 31 Dec 1969 23:59:59 GMT");
	www_http_date(INT64_MAX, d);
	assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 GMT");
	/* Round trip, and agreement with libc's gmtime. */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		int64_t v = (int64_t)rand() * 7 % 4102444800LL;
		char ref[64];
		time_t tt = (time_t)v;
		struct tm tm;

		www_http_date(v, d);
		gmtime_r(&tt, &tm);
		strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		assert_string_equal(d, ref);
		assert_int_equal(www_http_parse_date(d, 29, &t), 0);
		assert_int_equal(t, v);
	}
	assert_int_equal(www_http_parse_date("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t), -EINVAL);
	assert_int_equal(www_http_parse_date("Sun, 06 Nox 1994 08:49:37 GMT", 29, &t), -EINVAL);
	assert_int_equal(www_http_parse_date("Sun, 06 Nov 1994 25:49:37 GMT", 29, &t), -EINVAL);
	assert_int_equal(www_http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t), -EINVAL);
}

static void
test_head_writer(void **state)
{
	char b[1024];
	struct www_resp r = {
		.status = 206, .minor = 1, .keep_alive = true, .date = 784111777,
		.content_type = www_http_mime("a/b.CSS"), .has_length = true,
		.length = 10, .last_modified = 0, .range_start = 5, .total = 100,
	};
	ssize_t n;
	(void)state;

	n = www_http_head(b, sizeof(b), &r);
	assert_true(n > 0);
	b[n] = '\0';
	assert_non_null(strstr(b, "HTTP/1.1 206 Partial Content\r\n"));
	assert_non_null(strstr(b, "\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
	assert_non_null(strstr(b, "\r\nContent-Type: text/css; charset=utf-8\r\n"));
	assert_non_null(strstr(b, "\r\nContent-Length: 10\r\n"));
	assert_non_null(strstr(b, "\r\nContent-Range: bytes 5-14/100\r\n"));
	assert_non_null(strstr(b, "\r\nLast-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
	assert_null(strstr(b, "Connection"));
	assert_int_equal(memcmp(b + n - 4, "\r\n\r\n", 4), 0);
	/* Too small a buffer, at every size. */
	for (size_t c = 0; c < (size_t)n; c++)
		assert_int_equal(www_http_head(b, c, &r), -ENOSPC);
	r.location = "/a\r\nSet-Cookie: x";
	assert_int_equal(www_http_head(b, sizeof(b), &r), -EINVAL);

	n = www_http_error(b, sizeof(b), 404, 0, true, 0, false);
	assert_true(n > 0 && n < 512);
	b[n] = '\0';
	assert_non_null(strstr(b, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(b, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(b, "</html>\n"));
	n = www_http_error(b, sizeof(b), 405, 1, false, 0, true);
	b[n] = '\0';
	assert_non_null(strstr(b, "Allow: GET, HEAD\r\n"));
	assert_non_null(strstr(b, "Connection: close\r\n"));
	assert_int_equal(memcmp(b + n - 4, "\r\n\r\n", 4), 0);

	assert_string_equal(www_http_mime("index.html"), "text/html; charset=utf-8");
	assert_string_equal(www_http_mime("x.woff2"), "font/woff2");
	assert_string_equal(www_http_mime("a.b/noext"), "application/octet-stream");
	assert_string_equal(www_http_mime("logo.svg"), "image/svg+xml");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_split),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_head_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
