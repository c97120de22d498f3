/* tar: a POSIX ustar or pax archive served read-only.  The archive is
 * input from outside, so open walks every header once, validates every
 * field it depends on, and builds the key index; lookups then read only
 * validated extents. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/kvd/kvd.h"
#include "services/kvd/kvd_index.h"

#define BLK 512u


/* What pax 'x' or GNU 'L' headers say about the next entry. */
struct pending {
	char *path;
	bool has_size, has_mtime;
	uint64_t size;
	int64_t mtime_ns;
};

static void
pending_clear(struct pending *p)
{
	free(p->path);
	memset(p, 0, sizeof(*p));
}

/*
 * An octal header field: optional leading spaces, at least one digit, then
 * only NUL or space to the end.  allow_empty: an all-NUL field reads as 0
 * (GNU leaves device numbers empty).  GNU base-256 is refused.
 */
static int
octal(const unsigned char *f, size_t n, bool allow_empty, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	bool digits = false;

	if (allow_empty) {
		for (i = 0; i < n && f[i] == '\0'; i++)
			;
		if (i == n) {
			*out = 0;
			return 0;
		}
		i = 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return -EPROTO;
		v = v << 3 | (uint64_t)(f[i] - '0');
		digits = true;
	}
	if (!digits)
		return -EPROTO;
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -EPROTO;
	*out = v;
	return 0;
}

/* A NUL-terminated (or exactly full) text field; NULs only at the end. */
static bool
text_ok(const unsigned char *f, size_t n)
{
	const unsigned char *z = memchr(f, '\0', n);

	if (z == NULL)
		return true;
	for (; z < f + n; z++)
		if (*z != '\0')
			return false;
	return true;
}

static int
header_sum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long u = 0;
	long s = 0;

	if (octal(h + 148, 8, false, &want) < 0)
		return -EPROTO;
	for (size_t i = 0; i < BLK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];

		u += c;
		s += (signed char)c;
	}
	/* Some old writers summed signed chars; POSIX says unsigned. */
	return (want == u || (long)want == s) ? 0 : -EPROTO;
}

static bool
zero_block(const unsigned char *h)
{
	for (size_t i = 0; i < BLK; i++)
		if (h[i] != 0)
			return false;
	return true;
}

/* Decimal, no sign, no overflow. */
static int
decimal(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* pax mtime: -?digits(.digits)?, kept to nanoseconds. */
static int
pax_time(const char *s, size_t n, int64_t *ns)
{
	const char *dot = memchr(s, '.', n);
	bool neg = n > 0 && s[0] == '-';
	size_t il = (dot ? (size_t)(dot - s) : n) - neg;
	uint64_t sec, frac = 0;
	size_t i;

	if (decimal(s + neg, il, &sec) < 0 || sec > (1ull << 33))
		return -EPROTO;
	if (dot) {
		size_t fl = n - (size_t)(dot - s) - 1;

		if (fl == 0)
			return -EPROTO;
		for (i = 0; i < fl; i++) {
			char c = dot[1 + i];

			if (c < '0' || c > '9')
				return -EPROTO;
			if (i < 9)
				frac = frac * 10 + (uint64_t)(c - '0');
		}
		for (; i < 9; i++)
			frac *= 10;
	}
	*ns = (int64_t)(sec * 1000000000ull + frac);
	if (neg)
		*ns = -*ns;
	return 0;
}

/* pax records "%d %s=%s\n", exactly filling n bytes. */
static int
pax_parse(const unsigned char *d, size_t n, struct pending *p, bool global)
{
	size_t pos = 0;

	while (pos < n) {
		const char *r = (const char *)d + pos, *sp, *eq, *val;
		size_t room = n - pos, dl, kl, vl;
		uint64_t len;

		sp = memchr(r, ' ', room < 20 ? room : 20);
		if (sp == NULL)
			return -EPROTO;
		dl = (size_t)(sp - r);
		if (decimal(r, dl, &len) < 0 || len > room || len < dl + 4 ||
		    r[len - 1] != '\n')
			return -EPROTO;
		eq = memchr(sp + 1, '=', len - dl - 2);
		if (eq == NULL || eq == sp + 1)
			return -EPROTO;
		kl = (size_t)(eq - (sp + 1));
		val = eq + 1;
		vl = (size_t)(r + len - 1 - val);
		if (!global) {
			if (kl == 4 && memcmp(sp + 1, "path", 4) == 0) {
				if (memchr(val, '\0', vl) != NULL ||
				    vl >= KV_KEY_MAX + 2)
					return -EPROTO;
				free(p->path);
				if ((p->path = strndup(val, vl)) == NULL)
					return -ENOMEM;
			} else if (kl == 4 && memcmp(sp + 1, "size", 4) == 0) {
				if (decimal(val, vl, &p->size) < 0 ||
				    p->size > INT64_MAX)
					return -EPROTO;
				p->has_size = true;
			} else if (kl == 5 && memcmp(sp + 1, "mtime", 5) == 0) {
				if (pax_time(val, vl, &p->mtime_ns) < 0)
					return -EPROTO;
				p->has_mtime = true;
			}
		}
		pos += (size_t)len;
	}
	return 0;
}

/*
 * Turn an archive name into a key: drop one leading "./" and, for
 * directories, trailing '/'.  Returns a malloc'd key, NULL with *err for a
 * name that is no key, NULL with *err = 0 for the root itself.
 */
static char *
tar_key(const char *name, bool dir, int *err)
{
	size_t n;
	char *k;

	*err = -EPROTO;
	if (name[0] == '.' && name[1] == '/')
		name += 2;
	else if (strcmp(name, ".") == 0)
		name += 1;
	n = strlen(name);
	while (dir && n > 0 && name[n - 1] == '/')
		n--;
	if (n == 0) {
		if (dir)
			*err = 0;
		return NULL;
	}
	if (n >= KV_KEY_MAX || (k = strndup(name, n)) == NULL) {
		if (n < KV_KEY_MAX)
			*err = -ENOMEM;
		return NULL;
	}
	if (!kv_key_valid(k)) {
		free(k);
		return NULL;
	}
	return k;
}

static int
tar_parse(struct kv_image *t)
{
	struct pending p = { 0 };
	size_t pos = 0;
	int r = 0;

	for (;;) {
		const unsigned char *h = t->img + pos;
		uint64_t size, mtime, v, blocks;
		char name[100 + 1 + 155 + 1];
		bool posix, gnu;
		char type;

		if (pos == t->len)
			break;	/* no end marker: accepted, nothing is cut */
		if (t->len - pos < BLK) {
			r = -EPROTO;
			break;
		}
		if (zero_block(h)) {
			/* End of archive; a second zero block, if any, must
			 * be zero too. */
			if (t->len - pos >= 2 * BLK && !zero_block(h + BLK))
				r = -EPROTO;
			break;
		}
		if ((r = header_sum_ok(h)) < 0)
			break;
		posix = memcmp(h + 257, "ustar\0" "00", 8) == 0;
		gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
		type = (char)h[156];
		r = -EPROTO;
		if (!posix && !gnu)
			break;
		if (octal(h + 124, 12, false, &size) < 0 ||
		    octal(h + 136, 12, false, &mtime) < 0 ||
		    mtime > (1ull << 33) ||
		    octal(h + 100, 8, true, &v) < 0 ||
		    octal(h + 108, 8, true, &v) < 0 ||
		    octal(h + 116, 8, true, &v) < 0 ||
		    octal(h + 329, 8, true, &v) < 0 ||
		    octal(h + 337, 8, true, &v) < 0)
			break;
		if (!text_ok(h, 100) || !text_ok(h + 157, 100) ||
		    !text_ok(h + 265, 32) || !text_ok(h + 297, 32) ||
		    (posix && !text_ok(h + 345, 155)))
			break;
		if (p.has_size && type != 'x' && type != 'g' && type != 'L')
			size = p.size;
		blocks = (size + BLK - 1) / BLK;
		if (size > t->len || blocks > (t->len - pos - BLK) / BLK)
			break;
		pos += BLK;
		r = 0;
		if (type == 'x' || type == 'g') {
			if (type == 'x')
				pending_clear(&p);
			if ((r = pax_parse(t->img + pos, (size_t)size, &p,
					   type == 'g')) < 0)
				break;
		} else if (type == 'L') {
			const char *d = (const char *)t->img + pos;
			size_t nl = strnlen(d, (size_t)size);

			r = -EPROTO;
			if (nl == 0 || nl >= KV_KEY_MAX + 2 ||
			    (nl + 1 < size && d[nl + 1] != '\0'))
				break;
			free(p.path);
			if ((p.path = strndup(d, nl)) == NULL) {
				r = -ENOMEM;
				break;
			}
			r = 0;
		} else if (type == 'K') {
			;	/* long link name: links are not served */
		} else {
			bool dir = type == '5';
			bool reg = type == '0' || type == '\0' || type == '7';
			const char *nm;
			char *key;
			int e;

			if (p.path) {
				nm = p.path;
			} else {
				size_t pl = posix ? strnlen((const char *)h + 345,
							    155) : 0;
				size_t nl = strnlen((const char *)h, 100);

				if (pl)
					memcpy(name, h + 345, pl),
					name[pl++] = '/';
				memcpy(name + pl, h, nl);
				name[pl + nl] = '\0';
				nm = name;
			}
			if (reg || dir) {
				key = tar_key(nm, dir, &e);
				if (key == NULL && e < 0) {
					r = e;
					break;
				}
				if (key != NULL &&
				    (r = kv_idx_add(&t->ix, key, dir ?
					KV_KIND_DICT : KV_KIND_VALUE,
					dir ? 0 : pos, dir ? 0 : size,
					p.has_mtime ? p.mtime_ns :
					(int64_t)mtime * 1000000000)) < 0)
					break;
			}
			pending_clear(&p);
		}
		pos += (size_t)blocks * BLK;
	}
	if (r == 0 && (p.path != NULL || p.has_size || p.has_mtime))
		r = -EPROTO;	/* an extended header with no entry after it */
	pending_clear(&p);
	if (r == 0)
		r = kv_idx_finish(&t->ix);
	return r;
}

static const struct kv_store_ops tar_ops = {
	.name = "tar",
	.exists = kv_image_exists,
	.size = kv_image_size,
	.read = kv_image_read,
	.list = kv_image_list,
	.last_modified = kv_image_last_modified,
	.close = kv_image_close,
};

static int
tar_open_common(struct kv_image *t, struct kv_store **out)
{
	int r;

	t->base.ops = &tar_ops;
	t->data = t->img;	/* tar offsets count from the archive's start */
	if ((r = tar_parse(t)) < 0) {
		kv_image_close(&t->base);
		return r;
	}
	*out = &t->base;
	return 0;
}

int
kv_tar_open_mem(const void *buf, size_t len, struct kv_store **out)
{
	struct kv_image *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	t->img = buf;
	t->len = len;
	return tar_open_common(t, out);
}

int
kv_tar_open(const char *path, struct kv_store **out)
{
	struct kv_image *t;
	struct stat st;
	void *m = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > 0) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
			 0);
		if (m == MAP_FAILED) {
			int e = -errno;

			close(fd);
			return e;
		}
	}
	close(fd);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		if (m)
			munmap(m, (size_t)st.st_size);
		return -ENOMEM;
	}
	t->img = m;
	t->len = (size_t)st.st_size;
	t->mapped = m != NULL;
	return tar_open_common(t, out);
}
