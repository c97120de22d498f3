/* Sorted key index for the image stores.  Dictionaries are implicit: a key
 * is a dictionary when some entry lies under key + "/". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "services/kvd/kvd_index.h"

int
kv_idx_add(struct kv_idx *ix, char *key, int kind, uint64_t off, uint64_t len,
	   int64_t mtime_ns)
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 64;
		struct kv_idx_ent *e = realloc(ix->e, cap * sizeof(*e));

		if (e == NULL) {
			free(key);
			return -ENOMEM;
		}
		ix->e = e;
		ix->cap = cap;
	}
	ix->e[ix->n] = (struct kv_idx_ent){ .key = key, .kind = kind,
		.off = off, .len = len, .mtime_ns = mtime_ns, .ord = ix->n };
	ix->n++;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct kv_idx_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* First entry whose key is >= key. */
static size_t
lower_bound(const struct kv_idx *ix, const char *key)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->e[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
kv_idx_finish(struct kv_idx *ix)
{
	size_t i, j = 0;

	if (ix->n > 1)
		qsort(ix->e, ix->n, sizeof(*ix->e), ent_cmp);
	for (i = 0; i < ix->n; i++) {
		if (i + 1 < ix->n && strcmp(ix->e[i].key, ix->e[i + 1].key) == 0) {
			free(ix->e[i].key);
			continue;
		}
		ix->e[j++] = ix->e[i];
	}
	ix->n = j;
	for (i = 0; i < ix->n; i++) {
		char k[KV_KEY_MAX], *p;
		size_t kl = strlen(ix->e[i].key);

		if (kl >= sizeof(k))
			return -EPROTO;
		/* A copy: cutting the key in place would make it find itself. */
		memcpy(k, ix->e[i].key, kl + 1);
		for (p = strchr(k, '/'); p != NULL; p = strchr(p + 1, '/')) {
			const struct kv_idx_ent *e;

			*p = '\0';
			e = kv_idx_find(ix, k);
			*p = '/';
			if (e != NULL && e->kind == KV_KIND_VALUE)
				return -EPROTO;
		}
	}
	return 0;
}

const struct kv_idx_ent *
kv_idx_find(const struct kv_idx *ix, const char *key)
{
	size_t i = lower_bound(ix, key);

	if (i < ix->n && strcmp(ix->e[i].key, key) == 0)
		return &ix->e[i];
	return NULL;
}

/* Index of the first entry under prefix key + "/", or n. */
static size_t
first_under(const struct kv_idx *ix, const char *key, size_t klen)
{
	char buf[KV_KEY_MAX + 1];
	size_t i;

	if (klen == 0)
		return ix->n ? 0 : ix->n;
	if (klen + 2 > sizeof(buf))
		return ix->n;
	memcpy(buf, key, klen);
	buf[klen] = '/';
	buf[klen + 1] = '\0';
	i = lower_bound(ix, buf);
	if (i < ix->n && strncmp(ix->e[i].key, buf, klen + 1) == 0)
		return i;
	return ix->n;
}

static bool
is_under(const char *k, const char *key, size_t klen)
{
	return klen == 0 || (strncmp(k, key, klen) == 0 && k[klen] == '/');
}

int
kv_idx_kind(const struct kv_idx *ix, const char *key)
{
	const struct kv_idx_ent *e;
	size_t klen = strlen(key);

	if (klen == 0)
		return KV_KIND_DICT;
	if ((e = kv_idx_find(ix, key)) != NULL)
		return e->kind;
	return first_under(ix, key, klen) < ix->n ? KV_KIND_DICT
						  : KV_KIND_NONE;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct kv_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : y->kind - x->kind;	/* dictionaries first */
}

int
kv_idx_list(const struct kv_idx *ix, const char *key, struct kv_entry **ents,
	    size_t *n)
{
	size_t klen = strlen(key), skip = klen ? klen + 1 : 0, i, cnt = 0, j;
	size_t cap = 0;
	struct kv_entry *out = NULL;
	int kind = kv_idx_kind(ix, key);

	if (kind == KV_KIND_NONE)
		return -ENOENT;
	if (kind == KV_KIND_VALUE)
		return -ENOTDIR;
	for (i = first_under(ix, key, klen);
	     i < ix->n && is_under(ix->e[i].key, key, klen); i++) {
		const char *name = ix->e[i].key + skip, *slash;
		size_t nl;

		slash = strchr(name, '/');
		nl = slash ? (size_t)(slash - name) : strlen(name);
		if (cnt > 0 && strlen(out[cnt - 1].name) == nl &&
		    memcmp(out[cnt - 1].name, name, nl) == 0) {
			if (slash != NULL)
				out[cnt - 1].kind = KV_KIND_DICT;
			continue;
		}
		if (cnt == cap) {
			struct kv_entry *o;

			cap = cap ? cap * 2 : 16;
			if ((o = realloc(out, cap * sizeof(*o))) == NULL) {
				*ents = out;
				*n = cnt;
				return -ENOMEM;
			}
			out = o;
		}
		if ((out[cnt].name = strndup(name, nl)) == NULL) {
			*ents = out;
			*n = cnt;
			return -ENOMEM;
		}
		out[cnt].kind = slash ? KV_KIND_DICT : ix->e[i].kind;
		cnt++;
	}
	/* "b" and "b/c" need not be adjacent ("b-" sorts between them). */
	if (cnt > 1) {
		qsort(out, cnt, sizeof(*out), name_cmp);
		for (i = 1, j = 1; i < cnt; i++) {
			if (strcmp(out[i].name, out[j - 1].name) == 0) {
				free(out[i].name);
				continue;
			}
			out[j++] = out[i];
		}
		cnt = j;
	}
	*ents = out;
	*n = cnt;
	return 0;
}

int
kv_idx_mtime(const struct kv_idx *ix, const char *key, int64_t *ns)
{
	const struct kv_idx_ent *e = kv_idx_find(ix, key);
	size_t klen = strlen(key), i;
	bool found = e != NULL || klen == 0;
	int64_t t = e ? e->mtime_ns : 0;

	if (e == NULL || e->kind == KV_KIND_DICT) {
		for (i = first_under(ix, key, klen);
		     i < ix->n && is_under(ix->e[i].key, key, klen); i++) {
			found = true;
			if (ix->e[i].mtime_ns > t)
				t = ix->e[i].mtime_ns;
		}
	}
	if (!found)
		return -ENOENT;
	*ns = t;
	return 0;
}

void
kv_idx_free(struct kv_idx *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->e[i].key);
	free(ix->e);
	memset(ix, 0, sizeof(*ix));
}

/* ---- the read-only image store ops shared by pack and tar ---- */

int
kv_image_exists(struct kv_store *s, const char *key, int *kind)
{
	*kind = kv_idx_kind(&((struct kv_image *)s)->ix, key);
	return 0;
}

/* The value entry at key, or the error for what is there instead. */
static int
image_value(struct kv_image *im, const char *key,
	    const struct kv_idx_ent **e)
{
	int kind = kv_idx_kind(&im->ix, key);

	if (kind == KV_KIND_NONE)
		return -ENOENT;
	if (kind == KV_KIND_DICT)
		return -EISDIR;
	*e = kv_idx_find(&im->ix, key);
	return 0;
}

int
kv_image_size(struct kv_store *s, const char *key, uint64_t *size)
{
	const struct kv_idx_ent *e;
	int r = image_value((struct kv_image *)s, key, &e);

	if (r == 0)
		*size = e->len;
	return r;
}

int
kv_image_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	      size_t len, uint64_t *size)
{
	struct kv_image *im = (struct kv_image *)s;
	const struct kv_idx_ent *e;
	int r = image_value(im, key, &e);

	if (r < 0)
		return r;
	*size = e->len;
	if (off >= e->len)
		return 0;
	if (len > e->len - off)
		len = (size_t)(e->len - off);
	memcpy(buf, im->data + e->off + off, len);
	return (int)len;
}

int
kv_image_list(struct kv_store *s, const char *key, struct kv_entry **ents,
	      size_t *n)
{
	return kv_idx_list(&((struct kv_image *)s)->ix, key, ents, n);
}

int
kv_image_last_modified(struct kv_store *s, const char *key, int64_t *ns)
{
	return kv_idx_mtime(&((struct kv_image *)s)->ix, key, ns);
}

void
kv_image_close(struct kv_store *s)
{
	struct kv_image *im = (struct kv_image *)s;

	kv_idx_free(&im->ix);
	if (im->mapped)
		munmap((void *)im->img, im->len);
	free(im);
}
