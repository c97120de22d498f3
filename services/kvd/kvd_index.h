/*
 * services/kvd/kvd_index.h - an in-memory sorted key index shared by the
 * read-only image stores (pack, tar).  Internal to kvd.
 */
#ifndef KVD_KVD_INDEX_H
#define KVD_KVD_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "services/kvd/kvd.h"

struct kv_idx_ent {
	char *key;		/* canonical, malloc'd */
	int kind;		/* KV_KIND_VALUE or KV_KIND_DICT */
	uint64_t off;		/* value bytes: offset into the image */
	uint64_t len;
	int64_t mtime_ns;
	size_t ord;		/* insertion order: later entries win */
};

struct kv_idx {
	struct kv_idx_ent *e;
	size_t n, cap;
};

/* Append an entry; takes ownership of key (freed on failure too). */
int kv_idx_add(struct kv_idx *ix, char *key, int kind, uint64_t off,
	       uint64_t len, int64_t mtime_ns);
/*
 * Sort, keep the last of duplicate keys, and refuse a value that sits on
 * the path of another entry ("a" and "a/b").  Returns 0 or -EPROTO.
 */
int kv_idx_finish(struct kv_idx *ix);
/* The entry bound at exactly key, or NULL. */
const struct kv_idx_ent *kv_idx_find(const struct kv_idx *ix, const char *key);
/* KV_KIND_* of key: explicit entries, implicit dictionaries, the root. */
int kv_idx_kind(const struct kv_idx *ix, const char *key);
/* Children of the dictionary key (ops->list semantics; -ENOENT/-ENOTDIR). */
int kv_idx_list(const struct kv_idx *ix, const char *key,
		struct kv_entry **ents, size_t *n);
/* Latest mtime of key or anything under it; -ENOENT. */
int kv_idx_mtime(const struct kv_idx *ix, const char *key, int64_t *ns);
void kv_idx_free(struct kv_idx *ix);

/*
 * A read-only store served from one image (pack, tar): the bytes, and the
 * index whose entries' offsets count from `data`.  A backend embeds it,
 * parses its format into `ix`, and uses the kv_image_* ops below.
 */
struct kv_image {
	struct kv_store base;
	const unsigned char *img;	/* the whole image */
	size_t len;
	bool mapped;			/* img is ours to munmap */
	const unsigned char *data;	/* entry offsets count from here */
	struct kv_idx ix;
};

/* The kv_store_ops of an image store (see kvd.h for their contracts).
 * read copies out of the image and never blocks; close frees the index and
 * unmaps the image if mapped. */
int kv_image_exists(struct kv_store *s, const char *key, int *kind);
int kv_image_size(struct kv_store *s, const char *key, uint64_t *size);
int kv_image_read(struct kv_store *s, const char *key, uint64_t off,
		  void *buf, size_t len, uint64_t *size);
int kv_image_list(struct kv_store *s, const char *key,
		  struct kv_entry **ents, size_t *n);
int kv_image_last_modified(struct kv_store *s, const char *key, int64_t *ns);
void kv_image_close(struct kv_store *s);

#endif
