/*
 * examples/www/http.c - HTTP/1.1 request parsing and response heads
 * (RFC 9110/9112, the Date format of RFC 7231, ranges of RFC 7233).
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void
www_http_parser_reset(struct www_http_parser *p)
{
	memset(p, 0, sizeof(*p));
}

/* tchar of RFC 9110 5.6.2. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool
eq_nocase(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int
refuse(struct www_http_parser *p, struct www_req *req, int status)
{
	req->status = status;
	req->keep_alive = false;
	www_http_parser_reset(p);
	return -EPROTO;
}

/* Does the comma-separated list [v, v+n) hold token tok? */
static bool
list_has(const char *v, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && eq_nocase(v + s, e - s, tok))
			return true;
	}
	return false;
}

static enum www_method
classify_method(const char *m, size_t n)
{
	static const char *const other[] = {
		"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	};

	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return WWW_METHOD_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return WWW_METHOD_HEAD;
	/* Methods are case-sensitive (RFC 9110 9.1): "get" is unknown. */
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (strlen(other[i]) == n && memcmp(m, other[i], n) == 0)
			return WWW_METHOD_OTHER;
	return WWW_METHOD_NONE;
}

/* Line [s, e) with any CR before the LF already cut off. */
static int
parse_request_line(const char *s, const char *e, struct www_req *req)
{
	const char *sp1, *sp2, *t, *v;
	size_t tn;

	sp1 = memchr(s, ' ', (size_t)(e - s));
	if (!sp1 || !is_token(s, (size_t)(sp1 - s)))
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1));
	if (!sp2)
		return 400;	/* no HTTP/0.9 */
	t = sp1 + 1;
	tn = (size_t)(sp2 - t);
	if (tn == 0)
		return 400;
	for (size_t i = 0; i < tn; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 400;
	v = sp2 + 1;
	if (e - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	req->minor = v[7] == '0' ? 0 : 1;
	req->method = classify_method(s, (size_t)(sp1 - s));
	req->target = t;
	req->target_len = tn;

	if (t[0] == '/') {
		req->path = t;
	} else if ((tn > 7 && strncasecmp(t, "http://", 7) == 0) ||
		   (tn > 8 && strncasecmp(t, "https://", 8) == 0)) {
		/* absolute-form: the authority is not ours to check here;
		 * the path after it is what we serve. */
		const char *a = memchr(t, ':', tn) + 3;
		const char *slash = memchr(a, '/', (size_t)(t + tn - a));

		if (!slash) {
			req->path = "/";
			req->path_len = 1;
			return 0;
		}
		req->path = slash;
	} else {
		return 400;	/* "*" or garbage: nothing we serve */
	}
	req->path_len = (size_t)(t + tn - req->path);
	for (size_t i = 0; i < req->path_len; i++)
		if (req->path[i] == '?' || req->path[i] == '#') {
			req->path_len = i;
			break;
		}
	return 0;
}

static int
parse_u64_strict(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 15)	/* 10^15 bytes is past anything we take */
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Header lines in [s, end), each ending in LF (CR before it optional). */
static int
parse_headers(const char *s, const char *end, struct www_req *req)
{
	bool close = false, ka = false, te = false, have_cl = false;

	while (s < end) {
		const char *lf = memchr(s, '\n', (size_t)(end - s));
		const char *e = lf, *colon, *vs, *ve;
		struct www_http_hdr *h;

		if (e > s && e[-1] == '\r')
			e--;
		if (e == s)
			break;	/* the empty line */
		if (*s == ' ' || *s == '\t')
			return 400;	/* obs-fold (RFC 9112 5.2) */
		colon = memchr(s, ':', (size_t)(e - s));
		if (!colon || !is_token(s, (size_t)(colon - s)))
			return 400;
		vs = colon + 1;
		ve = e;
		while (vs < ve && (*vs == ' ' || *vs == '\t'))
			vs++;
		while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = vs; c < ve; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return 400;	/* CR, NUL, ... */
			else if (*c == 0x7f)
				return 400;
		h = &req->hdrs[req->nhdrs++];
		h->name = s;
		h->name_len = (size_t)(colon - s);
		h->value = vs;
		h->value_len = (size_t)(ve - vs);

		if (eq_nocase(h->name, h->name_len, "host")) {
			if (req->host)
				return 400;	/* RFC 9112 3.2 */
			req->host = h->value;
			req->host_len = h->value_len;
		} else if (eq_nocase(h->name, h->name_len, "connection")) {
			close |= list_has(h->value, h->value_len, "close");
			ka |= list_has(h->value, h->value_len, "keep-alive");
		} else if (eq_nocase(h->name, h->name_len, "content-length")) {
			uint64_t n;

			/* Differing lengths are how requests get smuggled. */
			if (parse_u64_strict(h->value, h->value_len, &n) < 0 ||
			    (have_cl && n != req->body_len))
				return 400;
			have_cl = true;
			req->body_len = n;
		} else if (eq_nocase(h->name, h->name_len, "transfer-encoding")) {
			te = true;
		} else if (eq_nocase(h->name, h->name_len, "if-modified-since")) {
			int64_t t;

			/* An invalid date is ignored (RFC 9110 13.1.3). */
			if (www_http_parse_date(h->value, h->value_len, &t) == 0)
				req->if_modified_since = t;
		} else if (eq_nocase(h->name, h->name_len, "range")) {
			req->range = h->value;
			req->range_len = h->value_len;
		}
		s = lf + 1;
	}
	if (req->minor == 1 && !req->host)
		return 400;
	if (te)
		return req->minor == 0 ? 400 : 501;	/* no chunked bodies */
	req->keep_alive = req->minor == 1 ? !close : ka && !close;
	return 0;
}

int
www_http_parse(struct www_http_parser *p, const char *buf, size_t len,
	       struct www_req *req)
{
	size_t i = p->pos;

	if (p->pos == 0) {
		memset(req, 0, offsetof(struct www_req, hdrs));
		req->if_modified_since = WWW_HTTP_NO_TIME;
	}
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t lf, end;

		if (!nl) {
			i = len;
			break;
		}
		lf = (size_t)(nl - buf);
		end = lf;
		if (end > p->line_start && buf[end - 1] == '\r')
			end--;
		if (!p->line_end) {
			int st;

			if (end - p->line_start > WWW_HTTP_LINE_MAX)
				return refuse(p, req, 414);
			if (end == p->line_start)
				return refuse(p, req, 400);
			/* Judged as soon as it is complete: garbage gets its
			 * 400 now, not after a head that may never end. */
			if ((st = parse_request_line(buf, buf + end, req)) != 0)
				return refuse(p, req, st);
			p->line_end = lf + 1;
		} else if (end == p->line_start) {
			size_t head = lf + 1;
			int st;

			st = parse_headers(buf + p->line_end, buf + head, req);
			if (st == 0 && req->method == WWW_METHOD_OTHER)
				st = 405;
			else if (st == 0 && req->method == WWW_METHOD_NONE)
				st = 501;
			if (st != 0)
				return refuse(p, req, st);
			req->status = 0;
			www_http_parser_reset(p);
			return (int)head;
		} else {
			if (++p->nhdrs > WWW_HTTP_HDRS_MAX ||
			    lf + 1 - p->line_end > WWW_HTTP_HEAD_MAX)
				return refuse(p, req, 431);
		}
		i = lf + 1;
		p->line_start = i;
	}
	p->pos = i;
	/* Refuse an over-long line as soon as it is one, not at its end. */
	if (!p->line_end && len - p->line_start > WWW_HTTP_LINE_MAX + 1)
		return refuse(p, req, 414);
	if (p->line_end && len - p->line_end > WWW_HTTP_HEAD_MAX + 2)
		return refuse(p, req, 431);
	return 0;
}

const char *
www_req_header(const struct www_req *req, const char *name, size_t *len)
{
	for (unsigned i = 0; i < req->nhdrs; i++)
		if (eq_nocase(req->hdrs[i].name, req->hdrs[i].name_len, name)) {
			if (len)
				*len = req->hdrs[i].value_len;
			return req->hdrs[i].value;
		}
	return NULL;
}

/* ---- dates ------------------------------------------------------------- */

static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a proleptic Gregorian date: shift the year to
 * start in March so the leap day is last, then count 400-year eras. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void
put2(char *o, int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

int
www_http_date(int64_t t, char out[30])
{
	const int64_t lo = days_from_civil(0, 1, 1) * 86400;
	const int64_t hi = days_from_civil(9999, 12, 31) * 86400 + 86399;
	int64_t days, secs, y;
	int m, d;

	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	memcpy(out, wdays[((days % 7) + 11) % 7], 3);	/* day 0 was a Thursday */
	memcpy(out + 3, ", ", 2);
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months[m - 1], 3);
	out[11] = ' ';
	put2(out + 12, (int)(y / 100));
	put2(out + 14, (int)(y % 100));
	out[16] = ' ';
	put2(out + 17, (int)(secs / 3600));
	out[19] = ':';
	put2(out + 20, (int)(secs / 60 % 60));
	out[22] = ':';
	put2(out + 23, (int)(secs % 60));
	memcpy(out + 25, " GMT", 5);	/* with the NUL */
	return 29;
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
www_http_parse_date(const char *s, size_t len, int64_t *t)
{
	int d, m = -1, y, hh, mm, ss, w = -1;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -EINVAL;
	for (int i = 0; i < 7; i++)
		if (memcmp(s, wdays[i], 3) == 0)
			w = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			m = i + 1;
	d = digits(s + 5, 2);
	y = digits(s + 12, 4);
	hh = digits(s + 17, 2);
	mm = digits(s + 20, 2);
	ss = digits(s + 23, 2);
	if (w < 0 || m < 0 || d < 1 || d > 31 || y < 0 || hh < 0 || hh > 23 ||
	    mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -EINVAL;
	*t = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/* ---- ranges ------------------------------------------------------------ */

/* Digits at *s (advanced past them); saturates at UINT64_MAX.  Returns the
 * count of digits read. */
static size_t
scan_u64(const char **s, const char *e, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	while (*s < e && **s >= '0' && **s <= '9') {
		unsigned dg = (unsigned)(**s - '0');

		v = v > (UINT64_MAX - dg) / 10 ? UINT64_MAX : v * 10 + dg;
		(*s)++;
		n++;
	}
	*out = v;
	return n;
}

int
www_http_range(const char *v, size_t len, uint64_t size, uint64_t *start,
	       uint64_t *count)
{
	const char *s, *e;
	uint64_t a, b;

	if (!v || len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return 200;	/* other units are ignored (RFC 9110 14.2) */
	s = v + 6;
	e = v + len;
	if (memchr(s, ',', (size_t)(e - s)))
		return 200;	/* several ranges: the whole body instead */
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s < e && *s == '-') {
		s++;
		if (scan_u64(&s, e, &b) == 0 || s != e || b == 0 || size == 0)
			return 416;
		if (b > size)
			b = size;
		*start = size - b;
		*count = b;
		return 206;
	}
	if (scan_u64(&s, e, &a) == 0 || s == e || *s != '-')
		return 416;
	s++;
	if (s == e) {
		b = UINT64_MAX;
	} else if (scan_u64(&s, e, &b) == 0 || s != e || b < a) {
		return 416;
	}
	if (a >= size)
		return 416;
	if (b > size - 1)
		b = size - 1;
	*start = a;
	*count = b - a + 1;
	return 206;
}

/* ---- content types and reasons ------------------------------------------ */

const char *
www_http_mime(const char *key)
{
	static const struct { const char *ext, *type; } map[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "md", "text/markdown; charset=utf-8" },
		{ "xml", "application/xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "svg", "image/svg+xml" },
		{ "ico", "image/x-icon" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
	};
	const char *slash = strrchr(key, '/');
	const char *dot = strrchr(slash ? slash : key, '.');

	if (dot)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcasecmp(dot + 1, map[i].ext) == 0)
				return map[i].type;
	return "application/octet-stream";
}

const char *
www_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

/* ---- response heads ---------------------------------------------------- */

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->cap - o->n < n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
putu(struct out *o, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, b + i, sizeof(b) - i);
}

static void
putdate(struct out *o, int64_t t)
{
	char d[30];

	put(o, d, (size_t)www_http_date(t, d));
}

static bool
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

ssize_t
www_http_head(char *buf, size_t cap, const struct www_resp *r)
{
	struct out o = { .p = buf, .cap = cap };

	/* A header value with CR/LF in it would split the response. */
	if ((r->location && has_ctl(r->location)) ||
	    (r->content_type && has_ctl(r->content_type)) ||
	    (r->allow && has_ctl(r->allow)) || r->status < 100 ||
	    r->status > 999)
		return -EINVAL;
	puts_(&o, "HTTP/1.1 ");
	putu(&o, (uint64_t)r->status);
	puts_(&o, " ");
	puts_(&o, www_http_reason(r->status));
	puts_(&o, "\r\nServer: morgana\r\nDate: ");
	putdate(&o, r->date);
	puts_(&o, "\r\n");
	if (r->content_type) {
		puts_(&o, "Content-Type: ");
		puts_(&o, r->content_type);
		puts_(&o, "\r\n");
	}
	if (r->has_length) {
		puts_(&o, "Content-Length: ");
		putu(&o, r->length);
		puts_(&o, "\r\n");
	}
	if (r->last_modified != WWW_HTTP_NO_TIME) {
		puts_(&o, "Last-Modified: ");
		putdate(&o, r->last_modified);
		puts_(&o, "\r\n");
	}
	if (r->status == 206) {
		puts_(&o, "Content-Range: bytes ");
		putu(&o, r->range_start);
		puts_(&o, "-");
		putu(&o, r->range_start + r->length - (r->length > 0));
		puts_(&o, "/");
		putu(&o, r->total);
		puts_(&o, "\r\n");
	} else if (r->status == 416) {
		puts_(&o, "Content-Range: bytes */");
		putu(&o, r->total);
		puts_(&o, "\r\n");
	}
	if (r->status == 200 || r->status == 206)
		puts_(&o, "Accept-Ranges: bytes\r\n");
	if (r->location) {
		puts_(&o, "Location: ");
		puts_(&o, r->location);
		puts_(&o, "\r\n");
	}
	if (r->allow) {
		puts_(&o, "Allow: ");
		puts_(&o, r->allow);
		puts_(&o, "\r\n");
	}
	if (!r->keep_alive)
		puts_(&o, "Connection: close\r\n");
	else if (r->minor == 0)
		puts_(&o, "Connection: keep-alive\r\n");
	puts_(&o, "\r\n");
	return o.full ? -ENOSPC : (ssize_t)o.n;
}

ssize_t
www_http_error(char *buf, size_t cap, int status, int minor, bool keep_alive,
	       int64_t date, bool head_only)
{
	struct www_resp r = {
		.status = status, .minor = minor, .keep_alive = keep_alive,
		.date = date, .content_type = "text/html; charset=utf-8",
		.has_length = true, .last_modified = WWW_HTTP_NO_TIME,
		.allow = status == 405 ? "GET, HEAD" : NULL,
	};
	char body[160];
	int bn;
	ssize_t hn;

	bn = snprintf(body, sizeof(body),
		      "<html><head><title>%d %s</title></head><body><h1>%d %s"
		      "</h1></body></html>\n", status, www_http_reason(status),
		      status, www_http_reason(status));
	if (bn < 0 || (size_t)bn >= sizeof(body))
		return -EINVAL;
	r.length = (uint64_t)bn;
	hn = www_http_head(buf, cap, &r);
	if (hn < 0 || head_only)
		return hn;
	if (cap - (size_t)hn < (size_t)bn)
		return -ENOSPC;
	memcpy(buf + hn, body, (size_t)bn);
	return hn + bn;
}
