/*
 * services/kvd/kvd.h - kvd's stores and its transport-independent request
 * logic.
 *
 * A store is one implementation of MirageOS's KV signature behind
 * struct kv_store_ops.  Callers use the kv_store_* wrappers, which check
 * the key syntax (see kv_proto.h), refuse writes to read-only stores and
 * sort listings; backends may assume keys are canonical.
 *
 * Conventions: every call returns 0 or a count on success and -errno on
 * failure.  The errno values used across stores:
 *   -ENOENT   nothing bound at the key
 *   -ENOTDIR  a dictionary was expected (a value is on the path)
 *   -EISDIR   a value was expected (the key is a dictionary)
 *   -EROFS    the store is read-only
 *   -EFBIG    too large
 *   -EINVAL   bad key or argument
 *   -EACCES   the store refused the key (outside its root)
 *   -EBADMSG  stored data failed an integrity check (sealed, pack)
 *   -EPROTO   a pack or tar image is malformed (at open)
 *   -ENOSPC, -EIO, -ENOMEM, other -errno from the system
 * kv_status_from_errno() maps them onto the wire's enum kv_status.
 *
 * Every call blocks on the store's file I/O (sqlite may also fsync).  A
 * store handle is used by one thread at a time.
 */
#ifndef KVD_KVD_H
#define KVD_KVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/proto/kv_proto.h"

struct kv_store;

/* One listing entry; name is the child's last key segment (malloc'd). */
struct kv_entry {
	char *name;
	int kind;		/* KV_KIND_VALUE or KV_KIND_DICT */
};

/*
 * The backend interface.  Keys are canonical and NUL-terminated.
 * exists: *kind = KV_KIND_*; 0 also when nothing is bound (KV_KIND_NONE).
 * read: copy up to len bytes at off into buf; returns the count (0 at or
 *   past the end), -EISDIR for a dictionary.  *size gets the value size.
 * list: append the children of a dictionary to *ents (any order; *n
 *   entries, the array and names malloc'd and owned by the caller).
 * digest: optional (NULL: the wrapper streams read into BLAKE2b).
 * set/remove/rename: NULL for read-only stores.
 */
struct kv_store_ops {
	const char *name;
	int (*exists)(struct kv_store *s, const char *key, int *kind);
	int (*size)(struct kv_store *s, const char *key, uint64_t *size);
	int (*read)(struct kv_store *s, const char *key, uint64_t off,
		    void *buf, size_t len, uint64_t *size);
	int (*list)(struct kv_store *s, const char *key,
		    struct kv_entry **ents, size_t *n);
	int (*last_modified)(struct kv_store *s, const char *key,
			     int64_t *ns);
	int (*digest)(struct kv_store *s, const char *key,
		      uint8_t out[KV_DIGEST_SIZE]);
	int (*set)(struct kv_store *s, const char *key, const void *val,
		   size_t len);
	int (*remove)(struct kv_store *s, const char *key);
	int (*rename)(struct kv_store *s, const char *src, const char *dst);
	/* Optional group commit: see kv_store_batch_begin. */
	int (*batch_begin)(struct kv_store *s);
	int (*batch_end)(struct kv_store *s, bool commit);
	void (*close)(struct kv_store *s);
};

/* Backends embed this first. */
struct kv_store {
	const struct kv_store_ops *ops;
	bool rw;
};

/* --- keys (kvd_key.c) --- */

/* True if key (NUL-terminated) is canonical (kv_proto.h); "" is the root. */
bool kv_key_valid(const char *key);

/* Map a -errno from a store onto the wire's enum kv_status. */
int32_t kv_status_from_errno(int err);

/* --- the store wrappers (kvd_store.c); same returns as the ops --- */

int kv_store_exists(struct kv_store *s, const char *key, int *kind);
int kv_store_size(struct kv_store *s, const char *key, uint64_t *size);
/* *size may be NULL. */
int kv_store_read(struct kv_store *s, const char *key, uint64_t off,
		  void *buf, size_t len, uint64_t *size);
/*
 * Read a whole value into a malloc'd buffer (*out, owned by the caller;
 * *len bytes).  -EFBIG if it is larger than max.
 */
int kv_store_get(struct kv_store *s, const char *key, size_t max,
		 void **out, size_t *len);
/* Sorted by name (bytewise).  Free with kv_entries_free. */
int kv_store_list(struct kv_store *s, const char *key, struct kv_entry **ents,
		  size_t *n);
void kv_entries_free(struct kv_entry *ents, size_t n);
int kv_store_last_modified(struct kv_store *s, const char *key, int64_t *ns);
/* BLAKE2b-256 of the value; -EISDIR for a dictionary. */
int kv_store_digest(struct kv_store *s, const char *key,
		    uint8_t out[KV_DIGEST_SIZE]);
/* -EROFS on read-only stores; -EINVAL for the root key. */
int kv_store_set(struct kv_store *s, const char *key, const void *val,
		 size_t len);
int kv_store_remove(struct kv_store *s, const char *key);
/* Replaces dst; -EINVAL if dst is src or inside it. */
int kv_store_rename(struct kv_store *s, const char *src, const char *dst);
/*
 * Group commit.  kv_store_batch_begin opens one transaction that the
 * following set/remove/rename calls join (each still all-or-nothing on its
 * own: a failed one is undone alone), and kv_store_batch_end commits it
 * (commit=true) or rolls everything back.  Until batch_end(true) returns 0
 * none of the batch's changes is durable, so whoever acknowledges them
 * must wait for it.  Returns 0; -EOPNOTSUPP if the store has no batches
 * (then every change commits on its own), -EBUSY if a batch is already
 * open (begin) or -EINVAL if none is (end), or the store's -errno (the
 * whole batch is then rolled back).  Blocks (batch_end fsyncs).
 */
int kv_store_batch_begin(struct kv_store *s);
int kv_store_batch_end(struct kv_store *s, bool commit);
/* NULL is ok. */
void kv_store_close(struct kv_store *s);
bool kv_store_rw(const struct kv_store *s);

/* --- dir (backend_dir.c) --- */

/*
 * Serve the host directory root, read-only.  Every lookup is resolved
 * beneath root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a
 * symlink that leads out gives -EACCES; symlinks that stay inside are
 * followed.  Files that are neither regular nor directories are not listed
 * and read as -ENOENT.  Returns 0, -ENOTDIR, -ENOENT, -ENOSYS (no openat2).
 */
int kv_dir_open(const char *root, struct kv_store **out);
/*
 * The same, read-write.  set writes a temporary file in the value's
 * directory (named ".kvd-tmp-*": keys with a segment starting so are
 * refused with -EACCES, and listings leave them out), fsyncs it, renames
 * it over the value and fsyncs the directory: it returns once the value is
 * durable, and a crash leaves the old value or the new one.  Directories
 * are made as needed and removed once a remove or rename empties them.
 * Writes never leave the root: they act only inside directories opened
 * beneath it, on names, without following a final symlink.
 */
int kv_dir_open_rw(const char *root, struct kv_store **out);

/* --- pack (backend_pack.c): the crunch image, format in docs/kv.md --- */

/*
 * Write the regular files and directories under dir into a pack image at
 * out_file (written to a temporary file, fsynced, renamed into place).
 * Symlinks and special files are skipped; names that are not valid key
 * segments give -EINVAL.  Returns the number of values packed or -errno.
 */
int kv_pack_dir(const char *dir, const char *out_file);

/*
 * mmap a pack image read-only and validate it fully (header, checksum over
 * the whole image, every index record, key syntax, order, value extents)
 * before serving.  Returns 0, -EPROTO for a malformed image, -EBADMSG for a bad
 * checksum, -errno.
 */
int kv_pack_open(const char *path, struct kv_store **out);
/* The same over a caller-owned buffer that must outlive the store. */
int kv_pack_open_mem(const void *buf, size_t len, struct kv_store **out);

/* --- tar (backend_tar.c) --- */

/*
 * Serve a POSIX ustar or pax archive (GNU 'L' long names too) read-only.
 * The file is mmapped and every header is validated at open: checksum,
 * magic, octal fields, names (as keys, after an optional "./"), pax
 * records (path, size, mtime).  Later entries replace earlier ones; links
 * and special files are skipped.  Returns 0, -EPROTO if malformed, -errno.
 */
int kv_tar_open(const char *path, struct kv_store **out);
/* The same over a caller-owned buffer that must outlive the store. */
int kv_tar_open_mem(const void *buf, size_t len, struct kv_store **out);

/* --- sqlite (backend_sqlite.c) --- */

/*
 * Open (creating if needed) a read-write store in the sqlite database at
 * path: WAL journal, synchronous=FULL, so a set/remove/rename returns only
 * once its commit is fsynced to the WAL.  Returns 0 or -errno (-EIO for
 * sqlite errors).
 */
int kv_sqlite_open(const char *path, struct kv_store **out);

/* --- sealed (backend_sealed.c) --- */

#define KV_SEALED_KEY_SIZE 32u

/*
 * Encrypt values with XChaCha20-Poly1305-IETF over the read-write store
 * inner, which the sealed store owns from now on (also on failure).
 * keyfile: exactly 32 bytes, a regular file not accessible by group or
 * others.  Each value is stored as version(1) || nonce(24) || ciphertext
 * || tag(16), with the key name as additional data.  Opening fails with
 * -EBADMSG (tampered, moved to another key, or a wrong key file).
 * Returns 0, -EINVAL (key file size or inner not rw), -EACCES (mode),
 * -errno.
 */
int kv_sealed_open(struct kv_store *inner, const char *keyfile,
		   struct kv_store **out);

/* --- request handling (kvd.c) --- */

/*
 * Grant copies, as ring_peer_copy_from/_to: copy len bytes between our
 * buffer and the frontend's page ref at off.  Return 0 or -errno (-EPERM
 * for a ref not granted, or read-only for copy_to; -EINVAL).
 */
typedef int kv_copy_from_fn(void *arg, uint32_t ref, uint32_t off, void *dst,
			    uint32_t len);
typedef int kv_copy_to_fn(void *arg, uint32_t ref, uint32_t off,
			  const void *src, uint32_t len);

/*
 * Optional zero-copy: map_to writes into *addr a pointer to bytes
 * off..off+len of the frontend's page ref, mapped writable, until the
 * matching unmap(arg, ref).  Returns 0 or -errno as copy_to.  The peer may
 * change those bytes at any time: we only ever write through the pointer,
 * never read it back.
 */
typedef int kv_map_to_fn(void *arg, uint32_t ref, uint32_t off, uint32_t len,
			 void **addr);
typedef void kv_unmap_fn(void *arg, uint32_t ref);

struct kv_server_ctx {
	struct kv_store *store;
	kv_copy_from_fn *copy_from;
	kv_copy_to_fn *copy_to;
	/* Both or neither: a one-segment get then reads from the store
	 * straight into the granted page, not through a bounce buffer. */
	kv_map_to_fn *map_to;
	kv_unmap_fn *unmap;
	void *arg;		/* passed to the callbacks, e.g. a ring_peer */
};

/*
 * Handle one request that the caller has already copied out of the ring
 * (req_copy is private memory).  Every field is validated; the response is
 * always filled in, with req_copy->id echoed.
 * Returns 0 if the request was well formed (whatever the store answered),
 * -EPROTO if it was malformed or named a grant that could not be copied
 * (rsp->status is then KV_EINVAL or KV_EPERM; the transport may drop the
 * peer).  Blocks on the store.
 */
int kv_handle(struct kv_server_ctx *ctx, const struct kv_request *req_copy,
	      struct kv_response *rsp);

/* --- serving over libring (serve.c) --- */

/*
 * Serve device type "kv" (docs/internals/wiring.md) from store until
 * SIGTERM or SIGINT.  Every frontend gets its own kvif ring; requests are
 * taken round-robin, at most `budget` per frontend per round, so one busy
 * frontend cannot starve another.  A malformed request, a failed grant copy
 * or impossible ring indices disconnect that frontend only (one log line).
 *
 * Writes on a store with batches (sqlite, sealed over sqlite) are group
 * committed: all the writes taken from one frontend in one round share one
 * commit, and none of that round's responses is pushed before the commit
 * has returned (so an acknowledged set is durable).
 *
 * Store keys: the backend writes `feature-write` (1 for a read-write store,
 * 0 otherwise) and `max-segments` (KV_MAX_SEGS) in its directory; the
 * frontend writes `ring-ref` (its ring page, granted writable) and
 * `event-channel` (the port) in its own.
 *
 * notify_fd >= 0: "READY=1\n" is written there once the backend is open,
 * "STOPPING=1\n" on the way out (sd_notify lines, one write each).
 * SIGTERM and SIGINT are blocked and read from a signalfd; SIGPIPE is
 * ignored.  Blocks until told to stop.  Returns 0 after a clean stop
 * (every device Closed), or -errno: -EINVAL (bad opts), -EPIPE (the store
 * went away), or an error opening the store connection or the backend.
 */
struct kv_serve_opts {
	size_t sz;		/* sizeof(struct kv_serve_opts) */
	struct kv_store *store;	/* borrowed */
	const char *link_path;	/* the link listener, <rundir>/<svc>.sock */
	const char *store_path;	/* NULL: $XENSTORED_PATH */
	int notify_fd;		/* -1: none */
	unsigned spin;		/* 0: RING_SPIN_DEFAULT */
	unsigned budget;	/* requests per frontend per round; 0: 32 */
	size_t :0;
};
int kv_serve(const struct kv_serve_opts *opts);

#endif /* KVD_KVD_H */
