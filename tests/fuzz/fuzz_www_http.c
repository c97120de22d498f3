/*
 * libFuzzer target: arbitrary bytes as an HTTP request stream.  The first
 * bytes choose read sizes; the rest is fed to the parser directly (each
 * accepted head checked against the bytes it claims) and to a connection
 * over a tiny in-memory site.  Nothing may crash, leak, read outside the
 * input, or answer with anything but a well-formed status line.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "examples/www/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
f_size(void *dev, const char *key, uint64_t *size)
{
	(void)dev;
	if (strcmp(key, "dir") == 0)
		return -EISDIR;
	if (strcmp(key, "index.html") != 0 && strcmp(key, "a.txt") != 0)
		return -ENOENT;
	*size = 40000;
	return 0;
}

static int
f_lm(void *dev, const char *key, int64_t *sec, uint32_t *nsec)
{
	(void)dev;
	(void)key;
	*sec = 1000;
	*nsec = 0;
	return 0;
}

static ssize_t
f_read(void *dev, const char *key, uint64_t off, void *buf, size_t len)
{
	(void)dev;
	(void)key;
	if (off >= 40000)
		return 0;
	if (len > 40000 - off)
		len = 40000 - off;
	memset(buf, '{', len);	/* lots of template openers */
	return (ssize_t)len;
}

static const struct www_source_ops fops = { f_size, f_lm, f_read };

static ssize_t
f_send(void *arg, const void *buf, size_t len)
{
	size_t *first = arg;

	/* Every response starts with a status line. */
	if (*first && len >= 9 && memcmp(buf, "HTTP/1.1 ", 9) != 0)
		abort();
	*first = 0;
	return (ssize_t)len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct www_site *site;
	struct www_site_opts o = {
		.sz = sizeof(o), .title = "<t>",
		.files = { &fops, NULL }, .tmpl = { &fops, NULL },
	};
	struct www_http_parser p;
	struct www_req *req;
	struct www_conn *c;
	size_t first = 1, off = 0, seed;
	char *copy;

	if (size < 1)
		return 0;
	if (!site && www_site_open(&o, &site) < 0)
		abort();
	seed = data[0];
	data++;
	size--;

	/* The parser alone, on an exact-size heap copy (ASan sees any
	 * read past the end), fed in growing prefixes. */
	copy = malloc(size ? size : 1);
	req = malloc(sizeof(*req));
	memcpy(copy, data, size);
	www_http_parser_reset(&p);
	for (size_t end = 0; off < size;) {
		int r;

		end += 1 + (seed * 7 + end) % 97;
		if (end > size)
			end = size;
		r = www_http_parse(&p, copy + off, end - off, req);
		if (r < 0) {
			if (req->status < 400 || req->status > 505 || req->keep_alive)
				abort();
			break;
		}
		if (r > 0) {
			if ((size_t)r > end - off || req->path_len == 0 ||
			    req->path[0] != '/')
				abort();
			off += (size_t)r;
			off += req->body_len < size - off ? req->body_len : size - off;
			if (end < off)
				end = off;
		} else if (end == size) {
			break;
		}
	}
	free(req);

	/* The whole engine through a connection. */
	if (www_conn_open(site, f_send, &first, &c) < 0)
		abort();
	off = 0;
	while (off < size) {
		size_t n = 1 + (seed * 13 + off) % 509;
		int r;

		if (n > size - off)
			n = size - off;
		first = 1;
		r = www_conn_feed(c, copy + off, n, 1700000000);
		off += n;
		if (r != 0)
			break;
	}
	www_conn_close(c);
	free(copy);
	return 0;
}
