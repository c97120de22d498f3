/* sealed: XChaCha20-Poly1305-IETF over any read-write store.  A stored value
 * is version(1) || nonce(24) || ciphertext || tag(16); the key name is the
 * additional data, so a ciphertext copied or moved to another key fails to
 * open instead of being served under the wrong name.  Names, sizes and
 * times are not hidden. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "services/kvd/kvd.h"

#define SEAL_VERSION	1u
#define SEAL_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_OVERHEAD	(1 + SEAL_NONCE + SEAL_TAG)
#define SEAL_MAX	(64u << 20)	/* values are decrypted whole */

struct kv_sealed {
	struct kv_store base;
	struct kv_store *inner;
	unsigned char *key;	/* sodium_malloc'd, locked */
};

/* Decrypt the value at key into a malloc'd buffer. */
static int
unseal(struct kv_sealed *z, const char *key, unsigned char **out,
       size_t *outlen)
{
	unsigned char *ct, *pt;
	unsigned long long ptlen;
	size_t len;
	void *raw;
	int r;

	*out = NULL;
	if ((r = kv_store_get(z->inner, key, SEAL_MAX + SEAL_OVERHEAD, &raw,
			      &len)) < 0)
		return r;
	ct = raw;
	if (len < SEAL_OVERHEAD || ct[0] != SEAL_VERSION) {
		free(raw);
		return -EBADMSG;
	}
	if ((pt = malloc(len - SEAL_OVERHEAD + 1)) == NULL) {
		free(raw);
		return -ENOMEM;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
	    ct + 1 + SEAL_NONCE, len - 1 - SEAL_NONCE,
	    (const unsigned char *)key, strlen(key), ct + 1, z->key) != 0) {
		free(raw);
		free(pt);
		return -EBADMSG;
	}
	free(raw);
	*out = pt;
	*outlen = (size_t)ptlen;
	return 0;
}

static int
seal_put(struct kv_sealed *z, const char *key, const void *val, size_t len)
{
	unsigned char *ct;
	unsigned long long cl;
	int r;

	if (len > SEAL_MAX)
		return -EFBIG;
	if ((ct = malloc(len + SEAL_OVERHEAD)) == NULL)
		return -ENOMEM;
	ct[0] = SEAL_VERSION;
	/* 192-bit random nonces: collisions are negligible for any store. */
	randombytes_buf(ct + 1, SEAL_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct + 1 + SEAL_NONCE, &cl,
	    val, len, (const unsigned char *)key, strlen(key), NULL, ct + 1,
	    z->key);
	r = kv_store_set(z->inner, key, ct, 1 + SEAL_NONCE + (size_t)cl);
	free(ct);
	return r;
}

static int
sl_exists(struct kv_store *s, const char *key, int *kind)
{
	return kv_store_exists(((struct kv_sealed *)s)->inner, key, kind);
}

static int
sl_size(struct kv_store *s, const char *key, uint64_t *size)
{
	uint64_t n;
	int r = kv_store_size(((struct kv_sealed *)s)->inner, key, &n);

	if (r < 0)
		return r;
	if (n < SEAL_OVERHEAD)
		return -EBADMSG;
	*size = n - SEAL_OVERHEAD;
	return 0;
}

static int
sl_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	size_t len, uint64_t *size)
{
	unsigned char *pt;
	size_t n;
	int r;

	/* An AEAD opens whole or not at all: never serve unchecked bytes. */
	if ((r = unseal((struct kv_sealed *)s, key, &pt, &n)) < 0)
		return r;
	*size = n;
	if (off >= n) {
		r = 0;
	} else {
		if (len > n - off)
			len = (size_t)(n - off);
		memcpy(buf, pt + off, len);
		r = (int)len;
	}
	sodium_memzero(pt, n);
	free(pt);
	return r;
}

static int
sl_digest(struct kv_store *s, const char *key, uint8_t out[KV_DIGEST_SIZE])
{
	unsigned char *pt;
	size_t n;
	int r;

	if ((r = unseal((struct kv_sealed *)s, key, &pt, &n)) < 0)
		return r;
	crypto_generichash(out, KV_DIGEST_SIZE, pt, n, NULL, 0);
	sodium_memzero(pt, n);
	free(pt);
	return 0;
}

static int
sl_list(struct kv_store *s, const char *key, struct kv_entry **ents,
	size_t *n)
{
	return ((struct kv_sealed *)s)->inner->ops->list(
	    ((struct kv_sealed *)s)->inner, key, ents, n);
}

static int
sl_last_modified(struct kv_store *s, const char *key, int64_t *ns)
{
	return kv_store_last_modified(((struct kv_sealed *)s)->inner, key, ns);
}

static int
sl_set(struct kv_store *s, const char *key, const void *val, size_t len)
{
	return seal_put((struct kv_sealed *)s, key, val, len);
}

static int
sl_remove(struct kv_store *s, const char *key)
{
	return kv_store_remove(((struct kv_sealed *)s)->inner, key);
}

/*
 * The name is bound into every ciphertext, so a rename re-encrypts under
 * the new name (value by value for a dictionary).  Not atomic across
 * values: a crash midway leaves some values renamed, none lost or garbled.
 */
static int
sl_rename(struct kv_store *s, const char *src, const char *dst)
{
	struct kv_sealed *z = (struct kv_sealed *)s;
	int kind, dk, r;

	if ((r = kv_store_exists(z->inner, src, &kind)) < 0)
		return r;
	if (kind == KV_KIND_NONE)
		return -ENOENT;
	if ((r = kv_store_exists(z->inner, dst, &dk)) < 0)
		return r;
	if (dk != KV_KIND_NONE && dk != kind)
		return dk == KV_KIND_DICT ? -EISDIR : -ENOTDIR;
	if (kind == KV_KIND_VALUE) {
		unsigned char *pt;
		size_t n;

		if ((r = unseal(z, src, &pt, &n)) < 0)
			return r;
		r = seal_put(z, dst, pt, n);
		sodium_memzero(pt, n);
		free(pt);
		return r < 0 ? r : kv_store_remove(z->inner, src);
	}
	if (dk == KV_KIND_DICT && (r = kv_store_remove(z->inner, dst)) < 0)
		return r;
	for (;;) {
		struct kv_entry *e;
		size_t ne;
		char *a, *b;

		if ((r = kv_store_list(z->inner, src, &e, &ne)) < 0)
			return r == -ENOENT ? 0 : r;	/* all moved */
		if (ne == 0) {
			kv_entries_free(e, ne);
			r = kv_store_remove(z->inner, src);
			return r == -ENOENT ? 0 : r;
		}
		if (asprintf(&a, "%s/%s", src, e[0].name) < 0) {
			kv_entries_free(e, ne);
			return -ENOMEM;
		}
		if (asprintf(&b, "%s/%s", dst, e[0].name) < 0) {
			free(a);
			kv_entries_free(e, ne);
			return -ENOMEM;
		}
		kv_entries_free(e, ne);
		r = strlen(a) + 1 > KV_KEY_MAX || strlen(b) + 1 > KV_KEY_MAX
			? -ENAMETOOLONG : sl_rename(s, a, b);
		free(a);
		free(b);
		if (r < 0)
			return r;
	}
}

/* Batches are the inner store's: sealing changes nothing about commits. */
static int
sl_batch_begin(struct kv_store *s)
{
	return kv_store_batch_begin(((struct kv_sealed *)s)->inner);
}

static int
sl_batch_end(struct kv_store *s, bool commit)
{
	return kv_store_batch_end(((struct kv_sealed *)s)->inner, commit);
}

static void
sl_close(struct kv_store *s)
{
	struct kv_sealed *z = (struct kv_sealed *)s;

	kv_store_close(z->inner);
	sodium_free(z->key);
	free(z);
}

static const struct kv_store_ops sealed_ops = {
	.name = "sealed",
	.exists = sl_exists,
	.size = sl_size,
	.read = sl_read,
	.list = sl_list,
	.last_modified = sl_last_modified,
	.digest = sl_digest,
	.set = sl_set,
	.remove = sl_remove,
	.rename = sl_rename,
	.batch_begin = sl_batch_begin,
	.batch_end = sl_batch_end,
	.close = sl_close,
};

static int
read_keyfile(const char *path, unsigned char *key)
{
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode) ||
		   st.st_size != (off_t)KV_SEALED_KEY_SIZE) {
		r = -EINVAL;
	} else if (st.st_mode & 077) {
		r = -EACCES;	/* a secret others can read is no secret */
	} else {
		n = pread(fd, key, KV_SEALED_KEY_SIZE, 0);
		if (n != (ssize_t)KV_SEALED_KEY_SIZE)
			r = n < 0 ? -errno : -EINVAL;
	}
	close(fd);
	return r;
}

int
kv_sealed_open(struct kv_store *inner, const char *keyfile,
	       struct kv_store **out)
{
	struct kv_sealed *z;
	int r;

	if (sodium_init() < 0) {
		kv_store_close(inner);
		return -EIO;
	}
	if (!kv_store_rw(inner)) {
		kv_store_close(inner);
		return -EINVAL;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL ||
	    (z->key = sodium_malloc(KV_SEALED_KEY_SIZE)) == NULL) {
		free(z);
		kv_store_close(inner);
		return -ENOMEM;
	}
	z->base.ops = &sealed_ops;
	z->base.rw = true;
	z->inner = inner;
	if ((r = read_keyfile(keyfile, z->key)) < 0) {
		sl_close(&z->base);
		return r;
	}
	sodium_mprotect_readonly(z->key);
	*out = &z->base;
	return 0;
}
