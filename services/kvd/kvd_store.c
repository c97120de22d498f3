/* Key syntax, errno mapping and the store wrappers every caller goes
 * through, so that backends only ever see canonical keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "services/kvd/kvd.h"

bool
kv_key_valid(const char *key)
{
	const char *p = key, *seg;
	size_t n;

	if (*p == '\0')
		return true;
	if (strlen(key) + 1 > KV_KEY_MAX)
		return false;
	for (;;) {
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (*p == '\0')
			return true;
		p++;	/* a trailing '/' makes the next segment empty */
	}
}

int32_t
kv_status_from_errno(int err)
{
	switch (err) {
	case 0:		return KV_OK;
	case -ENOENT:	return KV_ENOTFOUND;
	case -ENOTDIR:	return KV_EDICT;
	case -EISDIR:	return KV_EVALUE;
	case -EROFS:	return KV_ERDONLY;
	case -EFBIG:
	case -E2BIG:
	case -ENAMETOOLONG: return KV_ETOOLARGE;
	case -EINVAL:	return KV_EINVAL;
	case -EACCES:
	case -EXDEV:
	case -ELOOP:	return KV_EDENIED;
	case -EBADMSG:	return KV_EBADMSG;
	case -ENOSPC:
	case -EDQUOT:	return KV_ENOSPC;
	}
	return KV_EIO;
}

int
kv_store_exists(struct kv_store *s, const char *key, int *kind)
{
	*kind = KV_KIND_NONE;
	if (!kv_key_valid(key))
		return -EINVAL;
	return s->ops->exists(s, key, kind);
}

int
kv_store_size(struct kv_store *s, const char *key, uint64_t *size)
{
	if (!kv_key_valid(key))
		return -EINVAL;
	return s->ops->size(s, key, size);
}

int
kv_store_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	      size_t len, uint64_t *size)
{
	uint64_t dummy;

	if (!kv_key_valid(key))
		return -EINVAL;
	if (len > INT32_MAX)
		len = INT32_MAX;	/* the count must fit the return */
	return s->ops->read(s, key, off, buf, len, size ? size : &dummy);
}

int
kv_store_get(struct kv_store *s, const char *key, size_t max, void **out,
	     size_t *len)
{
	uint64_t size, got = 0, sz2;
	unsigned char *buf;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = kv_store_size(s, key, &size)) < 0)
		return r;
	if (size > max || size > INT32_MAX)
		return -EFBIG;
	if ((buf = malloc(size ? size : 1)) == NULL)
		return -ENOMEM;
	while (got < size) {
		r = kv_store_read(s, key, got, buf + got, size - got, &sz2);
		if (r < 0) {
			free(buf);
			return r;
		}
		if (r == 0)
			break;	/* shrank underneath us */
		got += (uint64_t)r;
	}
	*out = buf;
	*len = got;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv_entry *)a)->name,
		      ((const struct kv_entry *)b)->name);
}

int
kv_store_list(struct kv_store *s, const char *key, struct kv_entry **ents,
	      size_t *n)
{
	int r;

	*ents = NULL;
	*n = 0;
	if (!kv_key_valid(key))
		return -EINVAL;
	if ((r = s->ops->list(s, key, ents, n)) < 0) {
		kv_entries_free(*ents, *n);
		*ents = NULL;
		*n = 0;
		return r;
	}
	if (*n > 1)
		qsort(*ents, *n, sizeof(**ents), entry_cmp);
	return 0;
}

void
kv_entries_free(struct kv_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

int
kv_store_last_modified(struct kv_store *s, const char *key, int64_t *ns)
{
	if (!kv_key_valid(key))
		return -EINVAL;
	return s->ops->last_modified(s, key, ns);
}

int
kv_store_digest(struct kv_store *s, const char *key,
		uint8_t out[KV_DIGEST_SIZE])
{
	crypto_generichash_state st;
	unsigned char *buf;
	uint64_t off = 0, size;
	int r;

	if (!kv_key_valid(key))
		return -EINVAL;
	if (s->ops->digest != NULL)
		return s->ops->digest(s, key, out);
	if ((buf = malloc(65536)) == NULL)
		return -ENOMEM;
	crypto_generichash_init(&st, NULL, 0, KV_DIGEST_SIZE);
	for (;;) {
		r = s->ops->read(s, key, off, buf, 65536, &size);
		if (r <= 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)r);
		off += (uint64_t)r;
	}
	free(buf);
	if (r < 0)
		return r;
	crypto_generichash_final(&st, out, KV_DIGEST_SIZE);
	return 0;
}

int
kv_store_set(struct kv_store *s, const char *key, const void *val, size_t len)
{
	if (!kv_key_valid(key) || key[0] == '\0')
		return -EINVAL;
	if (!s->rw || s->ops->set == NULL)
		return -EROFS;
	return s->ops->set(s, key, val, len);
}

int
kv_store_remove(struct kv_store *s, const char *key)
{
	if (!kv_key_valid(key) || key[0] == '\0')
		return -EINVAL;
	if (!s->rw || s->ops->remove == NULL)
		return -EROFS;
	return s->ops->remove(s, key);
}

int
kv_store_rename(struct kv_store *s, const char *src, const char *dst)
{
	size_t n = strlen(src);

	if (!kv_key_valid(src) || !kv_key_valid(dst) || src[0] == '\0' ||
	    dst[0] == '\0')
		return -EINVAL;
	if (!s->rw || s->ops->rename == NULL)
		return -EROFS;
	if (strcmp(src, dst) == 0 ||
	    (strncmp(dst, src, n) == 0 && dst[n] == '/'))
		return -EINVAL;
	return s->ops->rename(s, src, dst);
}

void
kv_store_close(struct kv_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

bool
kv_store_rw(const struct kv_store *s)
{
	return s->rw;
}

int
kv_store_batch_begin(struct kv_store *s)
{
	if (!s->rw || s->ops->batch_begin == NULL)
		return -EOPNOTSUPP;
	return s->ops->batch_begin(s);
}

int
kv_store_batch_end(struct kv_store *s, bool commit)
{
	if (!s->rw || s->ops->batch_end == NULL)
		return -EOPNOTSUPP;
	return s->ops->batch_end(s, commit);
}
