/* pack: mirage's crunch.  A directory packed at configure time into one
 * image, mmapped and served read-only.  The image is input from outside
 * the process (it may have been swapped on disk), so open validates it
 * completely before the first lookup; the layout is in docs/kv.md.
 *
 *   header (96 bytes, little-endian)
 *     0  magic "MGKVPACK"        8  version (u32) = 1   12 nr_entries (u32)
 *     16 index_off (u64) = 96    24 index_len (u64)     32 data_off (u64)
 *     40 data_len (u64)          48 reserved (16 bytes, zero)
 *     64 BLAKE2b-256 of the image with this field zeroed
 *   index: nr_entries records of 32 bytes, then the key bytes
 *     0 key_off (u32, from the index start)  4 key_len (u16)
 *     6 kind (u8: 1 value, 2 dictionary)     7 reserved (u8, zero)
 *     8 data_off (u64, from data_off)       16 data_len (u64)
 *     24 mtime (i64, ns since the epoch)
 *   data: the values, packed (dictionary records have data_len 0)
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "services/kvd/kvd.h"
#include "services/kvd/kvd_index.h"

#define PACK_MAGIC	"MGKVPACK"
#define PACK_VERSION	1u
#define PACK_HDR	96u
#define PACK_SUM_OFF	64u
#define PACK_REC	32u


static uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint16_t
get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static void
pack_sum(const unsigned char *img, size_t len, unsigned char out[32])
{
	static const unsigned char zero[32];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, img, PACK_SUM_OFF);
	crypto_generichash_update(&st, zero, sizeof(zero));
	crypto_generichash_update(&st, img + PACK_HDR, len - PACK_HDR);
	crypto_generichash_final(&st, out, 32);
}

static int
pack_validate(struct kv_image *p)
{
	const unsigned char *h = p->img, *ix;
	uint64_t ioff, ilen, doff, dlen, recs, next = 0;
	unsigned char sum[32];
	uint32_t n, i;

	if (p->len < PACK_HDR || memcmp(h, PACK_MAGIC, 8) != 0 ||
	    get32(h + 8) != PACK_VERSION)
		return -EPROTO;
	n = get32(h + 12);
	ioff = get64(h + 16);
	ilen = get64(h + 24);
	doff = get64(h + 32);
	dlen = get64(h + 40);
	for (i = 48; i < 64; i++)
		if (h[i] != 0)
			return -EPROTO;
	/* Regions: header, index, data, end of file, in that order, exactly. */
	recs = (uint64_t)n * PACK_REC;
	if (ioff != PACK_HDR || ilen < recs || ilen > p->len - ioff ||
	    doff != ioff + ilen || dlen != p->len - doff)
		return -EPROTO;
	pack_sum(p->img, p->len, sum);
	if (sodium_memcmp(sum, h + PACK_SUM_OFF, 32) != 0)
		return -EBADMSG;
	ix = p->img + ioff;
	p->data = p->img + doff;
	for (i = 0; i < n; i++) {
		const unsigned char *r = ix + (size_t)i * PACK_REC;
		uint32_t koff = get32(r);
		uint16_t klen = get16(r + 4);
		uint8_t kind = r[6];
		uint64_t vo = get64(r + 8), vl = get64(r + 16);
		char *key;
		int e;

		if (r[7] != 0 || (kind != KV_KIND_VALUE && kind != KV_KIND_DICT))
			return -EPROTO;
		if (koff < recs || klen == 0 || klen >= KV_KEY_MAX ||
		    koff > ilen || klen > ilen - koff)
			return -EPROTO;
		/* Values lie back to back in index order, covering the data
		 * region exactly: no overlap, no gap, nothing hidden. */
		if (kind == KV_KIND_DICT ? (vo | vl) != 0 :
		    vo != next || vl > dlen - next)
			return -EPROTO;
		next += vl;
		if (memchr(ix + koff, '\0', klen) != NULL)
			return -EPROTO;
		if ((key = strndup((const char *)ix + koff, klen)) == NULL)
			return -ENOMEM;
		if (!kv_key_valid(key)) {
			free(key);
			return -EPROTO;
		}
		if ((e = kv_idx_add(&p->ix, key, kind, vo, vl,
				    (int64_t)get64(r + 24))) < 0)
			return e;
	}
	/* The packer writes keys sorted and unique; anything else is forged. */
	for (i = 1; i < n; i++)
		if (strcmp(p->ix.e[i - 1].key, p->ix.e[i].key) >= 0)
			return -EPROTO;
	if (next != dlen)
		return -EPROTO;
	return kv_idx_finish(&p->ix);
}

static const struct kv_store_ops pack_ops = {
	.name = "pack",
	.exists = kv_image_exists,
	.size = kv_image_size,
	.read = kv_image_read,
	.list = kv_image_list,
	.last_modified = kv_image_last_modified,
	.close = kv_image_close,
};

static int
pack_open_common(struct kv_image *p, struct kv_store **out)
{
	int r = sodium_init() < 0 ? -EIO : 0;

	p->base.ops = &pack_ops;
	if (r == 0)
		r = pack_validate(p);
	if (r < 0) {
		kv_image_close(&p->base);
		return r;
	}
	*out = &p->base;
	return 0;
}

int
kv_pack_open_mem(const void *buf, size_t len, struct kv_store **out)
{
	struct kv_image *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->img = buf;
	p->len = len;
	return pack_open_common(p, out);
}

int
kv_pack_open(const char *path, struct kv_store **out)
{
	struct kv_image *p;
	struct stat st;
	void *m;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < PACK_HDR) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EPROTO : -EINVAL;
	}
	/* The index is copied out while validating, so a file rewritten in
	 * place later can change value bytes but never where we read.  A
	 * truncated file would fault, which is why the packer replaces images
	 * by rename, never in place. */
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		munmap(m, (size_t)st.st_size);
		return -ENOMEM;
	}
	p->img = m;
	p->len = (size_t)st.st_size;
	p->mapped = true;
	return pack_open_common(p, out);
}

/* --- the packer --- */

struct pk_file {
	char *key;
	char *path;
	int kind;
	uint64_t len;
	int64_t mtime;
};

struct pk {
	struct pk_file *f;
	size_t n, cap;
};

static int
pk_add(struct pk *pk, char *key, char *path, int kind, uint64_t len,
       int64_t mtime)
{
	if (pk->n == pk->cap) {
		size_t cap = pk->cap ? pk->cap * 2 : 64;
		struct pk_file *f = realloc(pk->f, cap * sizeof(*f));

		if (f == NULL) {
			free(key);
			free(path);
			return -ENOMEM;
		}
		pk->f = f;
		pk->cap = cap;
	}
	pk->f[pk->n++] = (struct pk_file){ key, path, kind, len, mtime };
	return 0;
}

static int
pk_walk(struct pk *pk, const char *dirpath, const char *prefix)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir(dirpath)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *path = NULL, *key = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&path, "%s/%s", dirpath, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (asprintf(&key, "%s%s%s", prefix, *prefix ? "/" : "",
			     de->d_name) < 0) {
			free(path);
			r = -ENOMEM;
			break;
		}
		if (lstat(path, &st) < 0 ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
			free(path);	/* symlinks and specials: skipped */
			free(key);
			continue;
		}
		if (!kv_key_valid(key)) {
			free(path);
			free(key);
			r = -EINVAL;
			break;
		}
		if (S_ISDIR(st.st_mode))
			r = pk_walk(pk, path, key);
		if (r == 0)
			r = pk_add(pk, key, path, S_ISDIR(st.st_mode) ?
				   KV_KIND_DICT : KV_KIND_VALUE,
				   S_ISDIR(st.st_mode) ? 0 :
				   (uint64_t)st.st_size,
				   (int64_t)st.st_mtim.tv_sec * 1000000000 +
				   st.st_mtim.tv_nsec);
		else {
			free(path);
			free(key);
		}
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

static int
pk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pk_file *)a)->key,
		      ((const struct pk_file *)b)->key);
}

static void
put64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void
put16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

/* Build the whole image in memory: images are configure-time assets. */
static int
pk_build(struct pk *pk, unsigned char **out, size_t *outlen)
{
	uint64_t keys = 0, data = 0, ilen, pos, kpos;
	unsigned char *img;
	size_t i;

	for (i = 0; i < pk->n; i++) {
		keys += strlen(pk->f[i].key);
		data += pk->f[i].len;
	}
	if (pk->n > UINT32_MAX / PACK_REC)
		return -EFBIG;
	ilen = pk->n * PACK_REC + keys;
	if (ilen > UINT32_MAX || PACK_HDR + ilen + data > SIZE_MAX / 2)
		return -EFBIG;
	if ((img = calloc(1, PACK_HDR + ilen + data)) == NULL)
		return -ENOMEM;
	memcpy(img, PACK_MAGIC, 8);
	put32(img + 8, PACK_VERSION);
	put32(img + 12, (uint32_t)pk->n);
	put64(img + 16, PACK_HDR);
	put64(img + 24, ilen);
	put64(img + 32, PACK_HDR + ilen);
	put64(img + 40, data);
	kpos = pk->n * PACK_REC;
	pos = 0;
	for (i = 0; i < pk->n; i++) {
		unsigned char *r = img + PACK_HDR + i * PACK_REC;
		size_t kl = strlen(pk->f[i].key);

		put32(r, (uint32_t)kpos);
		put16(r + 4, (uint16_t)kl);
		r[6] = (unsigned char)pk->f[i].kind;
		put64(r + 8, pk->f[i].kind == KV_KIND_VALUE ? pos : 0);
		put64(r + 16, pk->f[i].len);
		put64(r + 24, (uint64_t)pk->f[i].mtime);
		memcpy(img + PACK_HDR + kpos, pk->f[i].key, kl);
		kpos += kl;
		if (pk->f[i].kind == KV_KIND_VALUE && pk->f[i].len > 0) {
			unsigned char *dst = img + PACK_HDR + ilen + pos;
			uint64_t got = 0;
			int fd = open(pk->f[i].path, O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				free(img);
				return -errno;
			}
			while (got < pk->f[i].len) {
				ssize_t n = read(fd, dst + got,
						 pk->f[i].len - got);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					/* changed while we packed it */
					close(fd);
					free(img);
					return n < 0 ? -errno : -EAGAIN;
				}
				got += (uint64_t)n;
			}
			close(fd);
		}
		pos += pk->f[i].len;
	}
	pack_sum(img, PACK_HDR + ilen + data, img + PACK_SUM_OFF);
	*out = img;
	*outlen = PACK_HDR + ilen + data;
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
kv_pack_dir(const char *dir, const char *out_file)
{
	struct pk pk = { 0 };
	unsigned char *img = NULL;
	char *tmp = NULL;
	size_t len = 0, i;
	int r, fd = -1;

	if (sodium_init() < 0)
		return -EIO;
	if ((r = pk_walk(&pk, dir, "")) < 0)
		goto out;
	for (i = 0; i < pk.n; i++)
		if (strlen(pk.f[i].key) >= KV_KEY_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
	if (pk.n > 1)
		qsort(pk.f, pk.n, sizeof(*pk.f), pk_cmp);
	if ((r = pk_build(&pk, &img, &len)) < 0)
		goto out;
	if (asprintf(&tmp, "%s.tmpXXXXXX", out_file) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		r = -errno;
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((r = write_all(fd, img, len)) < 0 || fchmod(fd, 0644) < 0 ||
	    fsync(fd) < 0 || rename(tmp, out_file) < 0) {
		r = r < 0 ? r : -errno;
		unlink(tmp);
		goto out;
	}
	{
		size_t vals = 0;

		for (i = 0; i < pk.n; i++)
			vals += pk.f[i].kind == KV_KIND_VALUE;
		r = (int)(vals > INT_MAX ? INT_MAX : vals);
	}
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(img);
	for (i = 0; i < pk.n; i++) {
		free(pk.f[i].key);
		free(pk.f[i].path);
	}
	free(pk.f);
	return r;
}
