/*
 * www site: path mapping and traversal refusal, template rendering, and
 * whole responses through a connection over an in-memory source
 * (pipelining, HEAD, If-Modified-Since, Range, 301, 404, errors).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "examples/www/site.h"

/* ---- an in-memory source ------------------------------------------------ */

struct ment {
	const char *key, *data;	/* data NULL: a directory */
	int64_t mtime;
};

static const struct ment files_ents[] = {
	{ "about.html", "<p>about</p>", 1000 },
	{ "css/site.css", "body{}", 2000 },
	{ "big.bin", NULL, 3000 },	/* filled in setup */
	{ "docs", NULL, 0 },
	{ "raw.html", "<b>raw</b>", 500 },
};
static const struct ment tmpl_ents[] = {
	{ "index.html", "<title>{{title}}</title>{{ path }}", 1500 },
	{ "page.html", "[{{title}}|{{body}}|{{path}}|{{nope}}]", 1200 },
};
static char big[100000];

struct msrc {
	const struct ment *e;
	size_t n;
	int shrink;	/* read returns this much less than asked once */
};

static const struct ment *
mfind(struct msrc *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return NULL;
}

static const char *
mdata(const struct ment *e, size_t *len)
{
	const char *d = strcmp(e->key, "big.bin") == 0 ? big : e->data;

	*len = d == big ? sizeof(big) : strlen(d);
	return d;
}

static int
m_size(void *dev, const char *key, uint64_t *size)
{
	const struct ment *e = mfind(dev, key);
	size_t len;

	if (!e)
		return -ENOENT;
	if (!e->data && strcmp(key, "big.bin") != 0)
		return -EISDIR;
	mdata(e, &len);
	*size = len;
	return 0;
}

static int
m_lm(void *dev, const char *key, int64_t *sec, uint32_t *nsec)
{
	const struct ment *e = mfind(dev, key);

	if (!e)
		return -ENOENT;
	*sec = e->mtime;
	*nsec = 0;
	return 0;
}

static ssize_t
m_read(void *dev, const char *key, uint64_t off, void *buf, size_t len)
{
	struct msrc *m = dev;
	const struct ment *e = mfind(m, key);
	size_t dl;
	const char *d;

	if (!e)
		return -ENOENT;
	d = mdata(e, &dl);
	if (off >= dl)
		return 0;
	if (len > dl - off)
		len = dl - off;
	if (m->shrink && len > 1) {
		m->shrink = 0;
		return 0;	/* the value vanished mid-response */
	}
	memcpy(buf, d + off, len);
	return (ssize_t)len;
}

static const struct www_source_ops mops = { m_size, m_lm, m_read };
static struct msrc mfiles = { files_ents, 5, 0 };
static struct msrc mtmpl = { tmpl_ents, 2, 0 };

/* ---- a connection whose sends land in a buffer -------------------------- */

static char sent[300000];
static size_t nsent;
static int nsends;

static ssize_t
cap_send(void *arg, const void *buf, size_t len)
{
	(void)arg;
	assert_true(nsent + len < sizeof(sent));
	memcpy(sent + nsent, buf, len);
	nsent += len;
	sent[nsent] = '\0';
	nsends++;
	return (ssize_t)len;
}

static struct www_site *site;
static struct www_conn *conn;

static int
setup(void **state)
{
	struct www_site_opts o = {
		.sz = sizeof(o), .title = "A&B <x>",
		.files = { &mops, &mfiles }, .tmpl = { &mops, &mtmpl },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	if (www_site_open(&o, &site) < 0 ||
	    www_conn_open(site, cap_send, NULL, &conn) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	www_conn_close(conn);
	www_site_close(site);
	return 0;
}

/* Feed s to a fresh connection; returns www_conn_feed's result. */
static int
exchange(const char *s)
{
	www_conn_close(conn);
	assert_int_equal(www_conn_open(site, cap_send, NULL, &conn), 0);
	nsent = 0;
	nsends = 0;
	sent[0] = '\0';
	return www_conn_feed(conn, s, strlen(s), 1700000000);
}

static const char *
body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

/* ---- tests -------------------------------------------------------------- */

struct kcase {
	const char *path;
	ssize_t ret;	/* >=0: the key is expected */
	const char *key;
};

static const struct kcase kcases[] = {
	{ "/", 10, "index.html" },
	{ "/a/b.css", 7, "a/b.css" },
	{ "/docs/", 15, "docs/index.html" },
	{ "/%41%62c", 3, "Abc" },
	{ "/a%20b", 3, "a b" },
	{ "/..", -EINVAL, NULL },
	{ "/../etc/passwd", -EINVAL, NULL },
	{ "/a/../../b", -EINVAL, NULL },
	{ "/a/..", -EINVAL, NULL },
	{ "/%2e%2e/x", -EINVAL, NULL },
	{ "/%2E./x", -EINVAL, NULL },
	{ "/./x", -EINVAL, NULL },
	{ "//etc/passwd", -EINVAL, NULL },
	{ "/a//b", -EINVAL, NULL },
	{ "/a%2fb", -EINVAL, NULL },
	{ "/a%00b", -EINVAL, NULL },
	{ "/a%0d%0ab", -EINVAL, NULL },
	{ "/a\\b", -EINVAL, NULL },
	{ "/a%5cb", -EINVAL, NULL },
	{ "/a%", -EINVAL, NULL },
	{ "/a%4", -EINVAL, NULL },
	{ "/a%zz", -EINVAL, NULL },
	{ "a", -EINVAL, NULL },
	{ "", -EINVAL, NULL },
	{ "/...", 3, "..." },
	{ "/.well-known/x", 13, ".well-known/x" },
};

static void
test_path_to_key(void **state)
{
	char key[64];
	(void)state;

	for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
		const struct kcase *c = &kcases[i];
		ssize_t r = www_path_to_key(c->path, strlen(c->path), key,
					    sizeof(key));

		print_message("path %s\n", c->path);
		assert_int_equal(r, c->ret);
		if (r >= 0)
			assert_string_equal(key, c->key);
	}
	/* Too long for the key buffer, including the index page. */
	assert_int_equal(www_path_to_key("/abcdefgh", 9, key, 8), -ENAMETOOLONG);
	assert_int_equal(www_path_to_key("/abc/", 5, key, 8), -ENAMETOOLONG);
	assert_int_equal(www_path_to_key("/abcdefg", 8, key, 8), 7);
	assert_int_equal(www_path_to_key("/abcdef", 7, key, 8), 6);
}

static void
test_render(void **state)
{
	char out[256];
	const char *t = "{{title}}-{{ path }}-{{body}}-{{x}}-{{unclosed";
	ssize_t n;
	(void)state;

	n = www_render(t, strlen(t), "<a&'\">", "/p?<", "<i>", 3, out,
		       sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "&lt;a&amp;&#39;&quot;&gt;-/p?&lt;-<i>--{{unclosed");
	for (size_t c = 0; c < (size_t)n; c++)
		assert_int_equal(www_render(t, strlen(t), "<a&'\">", "/p?<",
					    "<i>", 3, out, c), -ENOSPC);
	n = www_render("{{body}}", 8, NULL, NULL, NULL, 0, out, sizeof(out));
	assert_int_equal(n, 0);
}

static void
test_home_and_pages(void **state)
{
	(void)state;
	assert_int_equal(exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(sent, "Content-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(sent, "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"));
	assert_non_null(strstr(sent, "Last-Modified: Thu, 01 Jan 1970 00:25:00 GMT\r\n"));
	assert_string_equal(body_of(sent), "<title>A&amp;B &lt;x&gt;</title>/");
	assert_non_null(strstr(sent, "Content-Length: 33\r\n"));
	assert_int_equal(nsends, 1);

	/* A fragment wrapped in page.html; Last-Modified the newer one. */
	assert_int_equal(exchange("GET /about.html?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_string_equal(body_of(sent), "[A&amp;B &lt;x&gt;|<p>about</p>|/about.html|]");
	assert_non_null(strstr(sent, "Last-Modified: Thu, 01 Jan 1970 00:20:00 GMT\r\n"));

	/* Static file. */
	assert_int_equal(exchange("GET /css/site.css HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "Content-Type: text/css; charset=utf-8\r\n"));
	assert_string_equal(body_of(sent), "body{}");

	/* Directory: 301 to the slash form; its index is a 404 here. */
	assert_int_equal(exchange("GET /docs HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 301 Moved Permanently\r\n"));
	assert_non_null(strstr(sent, "Location: /docs/\r\n"));
	assert_int_equal(exchange("GET /docs/ HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 404 Not Found\r\n"));
}

static void
test_errors(void **state)
{
	(void)state;
	assert_int_equal(exchange("GET /nope.txt HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 404 Not Found\r\n"));
	assert_true(nsent < 400);
	assert_int_equal(exchange("GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 400 Bad Request\r\n"));
	assert_int_equal(exchange("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 400 Bad Request\r\n"));
	/* Parse errors close the connection after answering. */
	assert_int_equal(exchange("POST / HTTP/1.1\r\nHost: a\r\n\r\n"), 1);
	assert_non_null(strstr(sent, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(sent, "Connection: close\r\n"));
	assert_int_equal(exchange("GET / HTTP/1.1\r\n\r\n"), 1);
	assert_non_null(strstr(sent, "HTTP/1.1 400 Bad Request\r\n"));
	/* A HEAD refused still gets no body. */
	assert_int_equal(exchange("HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 1);
	assert_non_null(strstr(sent, "HTTP/1.1 501 Not Implemented\r\n"));
	assert_string_equal(body_of(sent), "");
	/* A value that shrinks mid-response breaks the connection. */
	mfiles.shrink = 1;
	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"), -EIO);
	mfiles.shrink = 0;
}

static void
test_conditional_range_head(void **state)
{
	const char *b;
	(void)state;

	/* Not modified since: 304, no body, no length. */
	assert_int_equal(exchange("GET /css/site.css HTTP/1.1\r\nHost: a\r\n"
		"If-Modified-Since: Thu, 01 Jan 1970 00:33:20 GMT\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 304 Not Modified\r\n"));
	assert_null(strstr(sent, "Content-Length"));
	assert_string_equal(body_of(sent), "");
	/* Modified since: 200. */
	assert_int_equal(exchange("GET /css/site.css HTTP/1.1\r\nHost: a\r\n"
		"If-Modified-Since: Thu, 01 Jan 1970 00:33:19 GMT\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 200 OK\r\n"));

	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=26-28\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 206 Partial Content\r\n"));
	assert_non_null(strstr(sent, "Content-Range: bytes 26-28/100000\r\n"));
	assert_string_equal(body_of(sent), "abc");
	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=-2\r\n\r\n"), 0);
	assert_string_equal(body_of(sent), "cd");	/* 99998 % 26 = 2 */
	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=100000-\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 416 Range Not Satisfiable\r\n"));
	assert_non_null(strstr(sent, "Content-Range: bytes */100000\r\n"));
	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1,4-5\r\n\r\n"), 0);
	assert_non_null(strstr(sent, "HTTP/1.1 200 OK\r\n"));

	/* Whole big file: streamed in several sends, bytes exact. */
	assert_int_equal(exchange("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	b = body_of(sent);
	assert_int_equal(nsent - (size_t)(b - sent), sizeof(big));
	assert_memory_equal(b, big, sizeof(big));
	assert_true(nsends > 1);

	/* HEAD: the GET's headers, no body. */
	assert_int_equal(exchange("HEAD /big.bin HTTP/1.0\r\n\r\n"), 1);
	assert_non_null(strstr(sent, "Content-Length: 100000\r\n"));
	assert_non_null(strstr(sent, "Connection: close\r\n"));
	assert_string_equal(body_of(sent), "");
}

/* Pipelined requests in one read, a body to skip, and the same stream
 * split at every byte offset: identical output. */
static void
test_pipelining_and_splits(void **state)
{
	const char *s = "\r\nGET /css/site.css HTTP/1.1\r\nHost: a\r\n\r\n"
			"GET /raw.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nGET /"
			"HEAD /css/site.css HTTP/1.1\r\nHost: a\r\n\r\n"
			"GET /css/site.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
			"GET /ignored HTTP/1.1\r\nHost: a\r\n\r\n";
	static char whole[8192];
	size_t wn, n = strlen(s);
	(void)state;

	assert_int_equal(exchange(s), 1);
	wn = nsent;
	memcpy(whole, sent, nsent);
	assert_int_equal(nsends, 4);
	assert_non_null(strstr(whole, "<b>raw</b>"));
	assert_null(strstr(whole, "ignored"));
	for (size_t cut = 0; cut <= n; cut++) {
		int r;

		exchange("");
		r = www_conn_feed(conn, s, cut, 1700000000);
		if (r == 0)
			r = www_conn_feed(conn, s + cut, n - cut, 1700000000);
		assert_int_equal(r, 1);
		assert_int_equal(nsent, wn);
		assert_memory_equal(sent, whole, wn);
	}
	/* One byte at a time. */
	exchange("");
	for (size_t i = 0; i < n; i++) {
		int r = www_conn_feed(conn, s + i, 1, 1700000000);

		if (r == 1)
			break;
		assert_int_equal(r, 0);
	}
	assert_int_equal(nsent, wn);
	assert_memory_equal(sent, whole, wn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_to_key),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_home_and_pages),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_conditional_range_head),
		cmocka_unit_test(test_pipelining_and_splits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
