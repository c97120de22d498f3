/*
 * morgana/proto/kv_proto.h - kvif, the KV wire protocol (blkif style).
 *
 * One ring per KV device, RING_DEFINE(kvif, struct kv_request,
 * struct kv_response): 112-byte slots, 32 per 4 KiB ring page.  The
 * frontend (the application) produces requests; the backend (kvd) answers
 * each with exactly one response carrying the request's id.  Responses may
 * come back in any order.
 *
 * Keys and values never travel in the ring: they sit in pages the frontend
 * grants, named by {gref, offset, length} segments in the request.
 *   - kvd only reads the key segments and, for set, the data segments:
 *     grant them read-only.
 *   - kvd writes the data segments of get, get_partial, list and digest:
 *     grant them writable.
 *
 * Keys (MirageOS Mirage_kv.Key, canonical form):
 *   - segments separated by single '/', no leading or trailing '/', no
 *     empty, "." or ".." segment, no NUL; the root dictionary is "";
 *   - on the wire a key segment holds the key bytes followed by one NUL:
 *     key.length = strlen(key) + 1, 1 <= key.length <= KV_KEY_MAX, the last
 *     byte is NUL and no other byte is.
 *
 * Per-op fields (unused fields, pad and flags must be zero, nr_segs 0 for
 * ops without data; anything else is KV_EINVAL):
 *
 *  op              key  key2 offset  length   segs  response
 *  EXISTS          yes  -    -       -        -     count = enum kv_kind
 *                                                   (KV_KIND_NONE if absent)
 *  GET             yes  -    -       -        wr    val = bytes written =
 *                                                   aux = size; KV_ETOOLARGE
 *                                                   (aux = size) if the value
 *                                                   does not fit the segments
 *  GET_PARTIAL     yes  -    offset  length   wr    val = bytes written =
 *                                                   min(length, size-offset),
 *                                                   0 if offset >= size;
 *                                                   aux = size.
 *                                                   length <= sum of segments
 *  SIZE            yes  -    -       -        -     val = size in bytes
 *  LIST            yes  -    cursor  -        wr    count = entries written,
 *                                                   val = bytes written,
 *                                                   aux = next cursor (0: end)
 *  LAST_MODIFIED   yes  -    -       -        -     val = ns since the epoch
 *  DIGEST          yes  -    -       -        wr    32-byte BLAKE2b
 *                                                   (crypto_generichash) of
 *                                                   the value; val = 32
 *  SET             yes  -    -       length   ro    value = the segments in
 *                                                   order; length = their sum
 *  REMOVE          yes  -    -       -        -     (dictionaries recursively)
 *  RENAME          yes  yes  -       -        -     key -> key2 (replaces)
 *
 * A listing is a byte stream over the data segments, in order, of records
 *     uint8_t kind (enum kv_kind); name bytes; one NUL
 * where name is the child's last key segment.  Entries are sorted by name
 * (bytewise); the cursor is the index of the next entry to send, so start
 * with 0 and stop when aux comes back 0.  A concurrent set or remove may
 * shift entries between pages.
 *
 * Values larger than one request's segments (KV_MAX_SEGS pages) are read
 * with GET_PARTIAL in parts; SET is limited to one request's segments.
 *
 * Every field is naturally aligned, so the layout is the same on i386 and
 * x86_64 (blkif needed a "protocol" key for that; kvif does not).
 */
#ifndef MORGANA_PROTO_KV_PROTO_H
#define MORGANA_PROTO_KV_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

#define KV_PAGE_SIZE	4096u
#define KV_MAX_SEGS	8u	/* data segments per request */
#define KV_KEY_MAX	1024u	/* key bytes including the NUL */
#define KV_DIGEST_SIZE	32u	/* BLAKE2b-256 */

enum kv_op {
	KV_OP_EXISTS = 1,
	KV_OP_GET = 2,
	KV_OP_GET_PARTIAL = 3,
	KV_OP_SIZE = 4,
	KV_OP_LIST = 5,
	KV_OP_LAST_MODIFIED = 6,
	KV_OP_DIGEST = 7,
	/* read-write stores only; a read-only store answers KV_ERDONLY */
	KV_OP_SET = 8,
	KV_OP_REMOVE = 9,
	KV_OP_RENAME = 10,
};
#define KV_OP_MAX KV_OP_RENAME

enum kv_kind {
	KV_KIND_NONE = 0,	/* exists: nothing bound */
	KV_KIND_VALUE = 1,
	KV_KIND_DICT = 2,
};

/* Response status: 0 or one of these (negative, as blkif's). */
enum kv_status {
	KV_OK = 0,
	KV_ENOTFOUND = -1,	/* no value or dictionary at the key */
	KV_EDICT = -2,		/* dictionary expected (a value is in the way) */
	KV_EVALUE = -3,		/* value expected (the key is a dictionary) */
	KV_ERDONLY = -4,	/* the store is read-only */
	KV_ETOOLARGE = -5,	/* does not fit the segments / the store */
	KV_EINVAL = -6,		/* malformed request or key */
	KV_EPERM = -7,		/* a grant could not be copied */
	KV_EDENIED = -8,	/* the store refused the key (outside its root) */
	KV_EBADMSG = -9,	/* stored data failed its integrity check */
	KV_ENOSPC = -10,	/* the store is full */
	KV_EIO = -11,		/* any other store failure */
};

/* One piece of a granted page: bytes [offset, offset + length). */
struct kv_seg {
	uint32_t gref;
	uint16_t offset;	/* < KV_PAGE_SIZE */
	uint16_t length;	/* offset + length <= KV_PAGE_SIZE */
};

/* Frontend -> backend. */
struct kv_request {
	uint64_t id;		/* echoed in the response */
	uint8_t op;		/* enum kv_op */
	uint8_t nr_segs;	/* data segments used, <= KV_MAX_SEGS */
	uint16_t flags;		/* 0 */
	uint32_t pad;		/* 0 */
	struct kv_seg key;	/* read-only grant */
	struct kv_seg key2;	/* RENAME's destination, read-only grant */
	uint64_t offset;	/* GET_PARTIAL offset, LIST cursor */
	uint64_t length;	/* GET_PARTIAL length, SET value length */
	struct kv_seg seg[KV_MAX_SEGS];
};

/* Backend -> frontend. */
struct kv_response {
	uint64_t id;		/* the request's */
	int32_t status;		/* enum kv_status */
	uint32_t count;		/* EXISTS: kind; LIST: entries */
	uint64_t val;		/* see the table above */
	uint64_t aux;
};

_Static_assert(sizeof(struct kv_seg) == 8, "kv_seg is 8 bytes");
_Static_assert(offsetof(struct kv_seg, offset) == 4, "seg.offset @4");
_Static_assert(offsetof(struct kv_seg, length) == 6, "seg.length @6");
_Static_assert(offsetof(struct kv_request, id) == 0, "req.id @0");
_Static_assert(offsetof(struct kv_request, op) == 8, "req.op @8");
_Static_assert(offsetof(struct kv_request, nr_segs) == 9, "req.nr_segs @9");
_Static_assert(offsetof(struct kv_request, flags) == 10, "req.flags @10");
_Static_assert(offsetof(struct kv_request, pad) == 12, "req.pad @12");
_Static_assert(offsetof(struct kv_request, key) == 16, "req.key @16");
_Static_assert(offsetof(struct kv_request, key2) == 24, "req.key2 @24");
_Static_assert(offsetof(struct kv_request, offset) == 32, "req.offset @32");
_Static_assert(offsetof(struct kv_request, length) == 40, "req.length @40");
_Static_assert(offsetof(struct kv_request, seg) == 48, "req.seg @48");
_Static_assert(sizeof(struct kv_request) == 112, "kv_request is 112 bytes");
_Static_assert(offsetof(struct kv_response, id) == 0, "rsp.id @0");
_Static_assert(offsetof(struct kv_response, status) == 8, "rsp.status @8");
_Static_assert(offsetof(struct kv_response, count) == 12, "rsp.count @12");
_Static_assert(offsetof(struct kv_response, val) == 16, "rsp.val @16");
_Static_assert(offsetof(struct kv_response, aux) == 24, "rsp.aux @24");
_Static_assert(sizeof(struct kv_response) == 32, "kv_response is 32 bytes");
_Static_assert(KV_KEY_MAX <= KV_PAGE_SIZE, "a key fits one page");

RING_DEFINE(kvif, struct kv_request, struct kv_response);

_Static_assert(sizeof(union kvif_slot) == 112, "kvif slot is 112 bytes");

/*
 * The name of a status ("ENOTFOUND", ...) or "EUNKNOWN"; kv_status_str is
 * a short English description.  Both return static strings.
 */
static inline const char *
kv_status_name(int32_t status)
{
	switch (status) {
	case KV_OK:		return "OK";
	case KV_ENOTFOUND:	return "ENOTFOUND";
	case KV_EDICT:		return "EDICT";
	case KV_EVALUE:		return "EVALUE";
	case KV_ERDONLY:	return "ERDONLY";
	case KV_ETOOLARGE:	return "ETOOLARGE";
	case KV_EINVAL:		return "EINVAL";
	case KV_EPERM:		return "EPERM";
	case KV_EDENIED:	return "EDENIED";
	case KV_EBADMSG:	return "EBADMSG";
	case KV_ENOSPC:		return "ENOSPC";
	case KV_EIO:		return "EIO";
	}
	return "EUNKNOWN";
}

static inline const char *
kv_strerror(int32_t status)
{
	switch (status) {
	case KV_OK:		return "success";
	case KV_ENOTFOUND:	return "key not found";
	case KV_EDICT:		return "dictionary expected";
	case KV_EVALUE:		return "value expected";
	case KV_ERDONLY:	return "read-only store";
	case KV_ETOOLARGE:	return "too large";
	case KV_EINVAL:		return "malformed request or key";
	case KV_EPERM:		return "grant not accessible";
	case KV_EDENIED:	return "key refused by the store";
	case KV_EBADMSG:	return "stored data failed its integrity check";
	case KV_ENOSPC:		return "store full";
	case KV_EIO:		return "store I/O error";
	}
	return "unknown error";
}

static inline const char *
kv_op_name(uint8_t op)
{
	switch (op) {
	case KV_OP_EXISTS:		return "exists";
	case KV_OP_GET:			return "get";
	case KV_OP_GET_PARTIAL:		return "get_partial";
	case KV_OP_SIZE:		return "size";
	case KV_OP_LIST:		return "list";
	case KV_OP_LAST_MODIFIED:	return "last_modified";
	case KV_OP_DIGEST:		return "digest";
	case KV_OP_SET:			return "set";
	case KV_OP_REMOVE:		return "remove";
	case KV_OP_RENAME:		return "rename";
	}
	return "unknown";
}

#endif /* MORGANA_PROTO_KV_PROTO_H */
