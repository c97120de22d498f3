/*
 * morgana/ak_kv.h - the KV_RO and KV_RW signatures (MirageOS Mirage_kv.RO
 * and Mirage_kv.RW), reached over kvd's kvif rings.
 *
 * STATUS: the signature is fixed here; the ring frontend comes later.
 * Until then ak_kv(app, name) returns NULL (no implementation is linked),
 * and the wrappers below work for any implementation registered with
 * ak_kv_new.
 *
 * Keys are '/'-separated paths ("css/main.css"); "" or "/" is the root.
 * Every call blocks the calling task (never the loop) until kvd answers;
 * outside a task it runs the loop itself; from a callback it returns
 * -EDEADLK.  Errors (Mirage_kv.error / write_error):
 *   -ENOENT      key not found
 *   -EISDIR      a dictionary where a value was expected
 *   -ENOTDIR     a value where a dictionary was expected
 *   -EROFS       a write to a KV_RO store
 *   -ENOSPC      no space left
 *   -ENOTCONN    the device is reconnecting and the call cannot wait
 *   -EINVAL      bad arguments; -ENOMEM; -EPROTO kvd broke the protocol
 */
#ifndef MORGANA_AK_KV_H
#define MORGANA_AK_KV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "morgana/ak_error.h"

struct ak_kv;

enum ak_kv_kind { AK_KV_NONE = 0, AK_KV_VALUE = 1, AK_KV_DICTIONARY = 2 };

/* One entry of ak_kv_list: name is the leaf, malloc'd with the array. */
struct ak_kv_entry {
	char *name;
	enum ak_kv_kind kind;
};

/* Is key a value, a dictionary, or absent (AK_KV_NONE, returns 0)? */
int ak_kv_exists(struct ak_kv *kv, const char *key, enum ak_kv_kind *kind);
/* Whole value: *val is malloc'd (the caller frees it) with a NUL after
 * *len bytes.  Returns 0 or -errno. */
int ak_kv_get(struct ak_kv *kv, const char *key, void **val, size_t *len);
/* Up to len bytes from offset off into buf (the caller's).  Returns the
 * count copied (0 at or past the end) or -errno. */
ssize_t ak_kv_get_partial(struct ak_kv *kv, const char *key, uint64_t off,
			  void *buf, size_t len);
/* Size of the value in bytes. */
int ak_kv_size(struct ak_kv *kv, const char *key, uint64_t *size);
/* Children of a dictionary: *ents is a malloc'd array of *n entries, free
 * with ak_kv_free_list. */
int ak_kv_list(struct ak_kv *kv, const char *key, struct ak_kv_entry **ents,
	       size_t *n);
void ak_kv_free_list(struct ak_kv_entry *ents, size_t n);
/* Last modification, PCLOCK seconds and ns. */
int ak_kv_last_modified(struct ak_kv *kv, const char *key, int64_t *sec,
			uint32_t *nsec);
/* Digest of the value (or of a dictionary's contents): 32 bytes, the
 * store's choice of hash, stable while the value is. */
int ak_kv_digest(struct ak_kv *kv, const char *key, uint8_t digest[32]);

/* KV_RW only (-EROFS on KV_RO).  A write returns once it is durable. */
int ak_kv_set(struct ak_kv *kv, const char *key, const void *val, size_t len);
int ak_kv_set_partial(struct ak_kv *kv, const char *key, uint64_t off,
		      const void *val, size_t len);
int ak_kv_remove(struct ak_kv *kv, const char *key);
int ak_kv_rename(struct ak_kv *kv, const char *from, const char *to);

/* ---- for implementations (frontends), not applications ----------------- */

struct ak_kv_ops {
	int (*exists)(void *dev, const char *key, enum ak_kv_kind *kind);	/* required */
	int (*get)(void *dev, const char *key, void **val, size_t *len);	/* required */
	ssize_t (*get_partial)(void *dev, const char *key, uint64_t off,
			       void *buf, size_t len);			/* required */
	int (*size)(void *dev, const char *key, uint64_t *size);		/* required */
	int (*list)(void *dev, const char *key, struct ak_kv_entry **ents,
		    size_t *n);						/* required */
	int (*last_modified)(void *dev, const char *key, int64_t *sec,
			     uint32_t *nsec);				/* required */
	int (*digest)(void *dev, const char *key, uint8_t digest[32]);	/* required */
	int (*set)(void *dev, const char *key, const void *val, size_t len);	/* optional: RW */
	int (*set_partial)(void *dev, const char *key, uint64_t off,
			   const void *val, size_t len);		/* optional: RW */
	int (*remove)(void *dev, const char *key);			/* optional: RW */
	int (*rename)(void *dev, const char *from, const char *to);	/* optional: RW */
	void (*close)(void *dev);					/* optional */
};

/* Wrap an implementation (ops static, dev the implementation's).  Missing
 * RW ops make the handle read-only (-EROFS).  Returns 0, -EINVAL if a
 * required op is missing, -ENOMEM. */
int ak_kv_new(const struct ak_kv_ops *ops, void *dev, struct ak_kv **out);
void ak_kv_free(struct ak_kv *kv);

#endif /* MORGANA_AK_KV_H */
