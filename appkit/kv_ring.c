/*
 * appkit/kv_ring.c - the KV frontend: KV_RO and KV_RW devices served by
 * kvd over a kvif ring (include/morgana/proto/kv_proto.h, docs/kv.md).
 *
 * Pages are granted once per connection: the ring, one read-only key page
 * and KV_MAX_SEGS data pages per slot.  Up to KVF_W requests are in flight;
 * each belongs to a task that blocks until its answer.  A request id is
 * (seq << 3) | slot, so an answer names its slot and the submission it
 * answers.  kvd is hostile: every answer must name a request in flight and
 * stay within the bytes granted for it, else the connection is dropped
 * (one log line) and shaken hands again a second later.  On reconnect the
 * requests in flight are put on the new ring in submission order, so a
 * later set of a key lands after an earlier one; a replayed set writes the
 * same bytes again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkit_internal.h"
#include "morgana/ak_kv.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/kv_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define KVF_W 8u			/* requests in flight */
#define KVF_SLOT_BITS 3u
#define KVF_DATA (KV_MAX_SEGS * KV_PAGE_SIZE)
#define KVF_KEY2_OFF 2048u		/* rename's destination in the key page */
#define KVF_MAX_WAITERS 64u

_Static_assert((1u << KVF_SLOT_BITS) == KVF_W, "slot bits");
_Static_assert(KV_KEY_MAX <= KVF_KEY2_OFF, "two keys fit one page");

struct kvf_slot {
	bool busy;			/* owned by a caller */
	bool sent;			/* on the current ring */
	uint8_t op;
	uint64_t seq;
	uint64_t offset, length;
	char key[KV_KEY_MAX], key2[KV_KEY_MAX];
	const unsigned char *val;	/* SET: the caller's, stable meanwhile */
	uint32_t dlen;			/* data bytes granted with it */
	struct kv_response rsp;
	unsigned char *data;		/* answer's bytes, malloc'd */
	struct ak_waiter *w;
};

struct ak_kv_front {
	struct ak_loop *l;
	struct ring_xenbus *xb;
	struct ring_xb_front *xf;
	unsigned devid;
	enum ak_sig sig;
	/* Valid from fe_setup to fe_teardown. */
	struct ring_share *share;
	struct ring_evtchn *ev;
	struct ak_watch *evw;
	struct ring_front ring;
	uint32_t key_ref[KVF_W];
	void *key_page[KVF_W];
	uint32_t data_ref[KVF_W][KV_MAX_SEGS];
	void *data_page[KVF_W][KV_MAX_SEGS];
	bool up, reopen_armed;
	uint64_t reopen_id, seq;
	struct kvf_slot slot[KVF_W];
	struct ak_waiter *waiters[KVF_MAX_WAITERS];	/* for a free slot */
	unsigned nwaiters;
	struct ak_kv *kv;
};

static const struct ring_xb_front_ops front_ops;
static void reopen_cb(void *arg);

static bool
returns_data(uint8_t op)
{
	return op == KV_OP_GET || op == KV_OP_GET_PARTIAL ||
	       op == KV_OP_LIST || op == KV_OP_DIGEST;
}

static void
put_slot(struct ak_kv_front *f, unsigned i)
{
	struct kvf_slot *s = &f->slot[i];
	struct kv_request q = { .id = (s->seq << KVF_SLOT_BITS) | i,
				.op = s->op, .offset = s->offset,
				.length = s->length };
	size_t kl = strlen(s->key) + 1;
	uint32_t rem = s->dlen;

	memcpy(f->key_page[i], s->key, kl);
	q.key = (struct kv_seg){ f->key_ref[i], 0, (uint16_t)kl };
	if (s->op == KV_OP_RENAME) {
		size_t k2 = strlen(s->key2) + 1;

		memcpy((char *)f->key_page[i] + KVF_KEY2_OFF, s->key2, k2);
		q.key2 = (struct kv_seg){ f->key_ref[i], KVF_KEY2_OFF,
					  (uint16_t)k2 };
	}
	for (unsigned k = 0; rem > 0; k++) {
		uint32_t n = rem > KV_PAGE_SIZE ? KV_PAGE_SIZE : rem;

		q.seg[k] = (struct kv_seg){ f->data_ref[i][k], 0, (uint16_t)n };
		if (s->op == KV_OP_SET)
			memcpy(f->data_page[i][k], s->val + k * KV_PAGE_SIZE, n);
		q.nr_segs++;
		rem -= n;
	}
	/* At most KVF_W requests exist and the ring has more slots. */
	kvif_front_put(&f->ring, &q);
	s->sent = true;
}

static void
push(struct ak_kv_front *f)
{
	if (f->up && ring_front_push(&f->ring))
		ring_evtchn_notify(f->ev);
}

/* kvd broke the protocol: drop the connection, shake hands again later. */
static void
broken(struct ak_kv_front *f, const char *why)
{
	ring_log(RING_LOG_WARN,
		 "msg=\"kvd broke the KV protocol; reconnecting\" device=kv/%u why=\"%s\"",
		 f->devid, why);
	f->up = false;
	if (!f->reopen_armed) {
		f->reopen_armed = true;
		ak_loop_timer(f->l, ak_now_ns() + 1000000000u, reopen_cb, f,
			      &f->reopen_id);
	}
}

/*
 * Check an answer (a private copy) against the requests in flight.
 * Returns the slot it answers, with *n the data bytes it carries, or
 * -EPROTO with *why.  Pure: fuzzed by tests/fuzz/fuzz_ak_kv.c.
 */
int
ak_kv__check_answer(const struct kv_response *r,
		    const struct ak_kv_inflight inflight[], unsigned nslots,
		    uint64_t *n, const char **why)
{
	unsigned i = (unsigned)(r->id & (KVF_W - 1));
	const struct ak_kv_inflight *s;

	*n = 0;
	if (i >= nslots || !(s = &inflight[i])->sent ||
	    (r->id >> KVF_SLOT_BITS) != s->seq) {
		*why = "answer to no request in flight";
		return -EPROTO;
	}
	if (r->status == KV_OK && returns_data(s->op)) {
		*n = s->op == KV_OP_DIGEST ? KV_DIGEST_SIZE : r->val;
		if (*n > s->dlen) {
			*why = "answer longer than its pages";
			return -EPROTO;
		}
	}
	return (int)i;
}

/* Take the answers off the ring; wake their tasks. */
static void
drain(struct ak_kv_front *f)
{
	struct ak_kv_inflight in[KVF_W];
	struct kv_response r;
	int rc;

	while (f->up && (rc = kvif_front_get(&f->ring, &r)) == 1) {
		const char *why;
		struct kvf_slot *s;
		uint64_t n;
		int i;

		for (unsigned k = 0; k < KVF_W; k++)
			in[k] = (struct ak_kv_inflight){
				.sent = f->slot[k].busy && f->slot[k].sent,
				.seq = f->slot[k].seq, .op = f->slot[k].op,
				.dlen = f->slot[k].dlen };
		if ((i = ak_kv__check_answer(&r, in, KVF_W, &n, &why)) < 0) {
			broken(f, why);
			return;
		}
		s = &f->slot[i];
		if (n > 0 || (r.status == KV_OK && returns_data(s->op))) {
			if ((s->data = malloc(n + 1)) == NULL) {
				r.status = KV_EIO;
				n = 0;
			}
			for (uint64_t k = 0; k * KV_PAGE_SIZE < n; k++) {
				uint64_t m = n - k * KV_PAGE_SIZE;

				memcpy(s->data + k * KV_PAGE_SIZE,
				       f->data_page[i][k],
				       m > KV_PAGE_SIZE ? KV_PAGE_SIZE : m);
			}
			if (s->data != NULL)
				s->data[n] = '\0';
		}
		s->rsp = r;
		s->sent = false;
		if (s->w != NULL)
			ak_waiter_signal(s->w, 0);
	}
	if (f->up && rc < 0)
		broken(f, "impossible ring indices");
}

static void
ev_ready(void *arg, int fd, unsigned revents)
{
	struct ak_kv_front *f = arg;

	(void)fd;
	(void)revents;
	ring_evtchn_consume(f->ev);
	/* Until the final check finds nothing: an answer drained after it
	 * leaves rsp_event behind, and kvd would not notify again. */
	do
		drain(f);
	while (f->up && ring_front_final_check(&f->ring));
}

static void
reopen_cb(void *arg)
{
	struct ak_kv_front *f = arg;
	int rc;

	f->reopen_armed = false;
	ring_xb_front_close(f->xf);
	f->xf = NULL;
	rc = ring_xb_front_open(f->xb, "kv", f->devid, &front_ops, f, &f->xf);
	if (rc < 0)
		ring_log(RING_LOG_ERR,
			 "msg=\"kv device reopen failed\" device=kv/%u err=%d",
			 f->devid, rc);
}

static int
fe_setup(void *arg, struct ring_xb_front *xf, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct ak_kv_front *f = arg;
	uint32_t ring_ref;
	void *page;
	char p[256];
	int rc;

	(void)xf;
	if ((rc = ring_share_grant(share, false, &ring_ref, &page)) < 0)
		return rc;
	for (unsigned i = 0; i < KVF_W; i++) {
		if ((rc = ring_share_grant(share, true, &f->key_ref[i],
					   &f->key_page[i])) < 0)
			return rc;
		for (unsigned k = 0; k < KV_MAX_SEGS; k++)
			if ((rc = ring_share_grant(share, false,
						   &f->data_ref[i][k],
						   &f->data_page[i][k])) < 0)
				return rc;
	}
	if ((rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	kvif_front_init(&f->ring, page, RING_PAGE_SIZE);
	f->share = share;
	snprintf(p, sizeof(p), "%s/ring-ref", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "%u", ring_ref)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/event-channel", fe_path);
	return ring_store_printf(st, tx, p, "%u", ring_evtchn_port(f->ev));
}

static int
fe_connected(void *arg, struct ring_xb_front *xf)
{
	struct ak_kv_front *f = arg;
	unsigned order[KVF_W], n = 0;
	int rc;

	if ((rc = ak_loop_watch(f->l, ring_evtchn_fd(f->ev), POLLIN, ev_ready,
				f, &f->evw)) < 0)
		return rc;
	for (unsigned i = 0; i < KVF_W; i++)
		if (f->slot[i].busy && f->slot[i].w != NULL &&
		    !f->slot[i].sent && f->slot[i].rsp.id == 0)
			order[n++] = i;
	/* In submission order: a later set of a key lands after an earlier. */
	for (unsigned a = 1; a < n; a++)
		for (unsigned b = a; b > 0 &&
		     f->slot[order[b]].seq < f->slot[order[b - 1]].seq; b--) {
			unsigned t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	f->up = true;
	for (unsigned i = 0; i < n; i++)
		put_slot(f, order[i]);
	push(f);
	ring_log(RING_LOG_INFO,
		 "msg=\"kv connected\" device=kv/%u generation=%u resubmitted=%u",
		 f->devid, ring_xb_front_generation(xf), n);
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xf)
{
	struct ak_kv_front *f = arg;

	(void)xf;
	f->up = false;
	for (unsigned i = 0; i < KVF_W; i++)
		f->slot[i].sent = false;	/* resubmitted on reconnect */
	ak_loop_unwatch(f->evw);
	f->evw = NULL;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
	f->share = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

static int
status_errno(int32_t st)
{
	switch (st) {
	case KV_OK: return 0;
	case KV_ENOTFOUND: return -ENOENT;
	case KV_EDICT: return -ENOTDIR;
	case KV_EVALUE: return -EISDIR;
	case KV_ERDONLY: return -EROFS;
	case KV_ETOOLARGE: return -EFBIG;
	case KV_EINVAL: return -EINVAL;
	case KV_EPERM: return -EPERM;
	case KV_EDENIED: return -EACCES;
	case KV_EBADMSG: return -EBADMSG;
	case KV_ENOSPC: return -ENOSPC;
	default: return -EIO;
	}
}

/*
 * One request, blocking the calling task until its answer.  On success
 * *rsp is the answer and *data (if not NULL) the answer's bytes, malloc'd
 * and NUL-terminated, the caller's to free.  Returns 0 or -errno.
 */
/*
 * kvd's key rules (Mirage_kv keys): "" is the root; otherwise segments
 * joined by '/', none empty, "." or "..".  kvd drops a connection that
 * sends anything else, so a bad key must never reach the ring: it would be
 * resubmitted after every reconnect, forever.
 */
static bool
key_valid(const char *key)
{
	const char *p = key, *seg;
	size_t n;

	if (*p == '\0')
		return true;
	if (strlen(key) >= KV_KEY_MAX)
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
		p++;
	}
}

static int
call(struct ak_kv_front *f, uint8_t op, const char *key, const char *key2,
     uint64_t offset, uint64_t length, const void *val, uint32_t dlen,
     struct kv_response *rsp, unsigned char **data)
{
	struct ak_waiter w;
	struct kvf_slot *s = NULL;
	unsigned i;
	int rc;

	if (!key_valid(key) || (key2 != NULL && !key_valid(key2)))
		return -EINVAL;
	for (;;) {
		for (i = 0; i < KVF_W && f->slot[i].busy; i++)
			;
		if (i < KVF_W)
			break;
		if (f->nwaiters == KVF_MAX_WAITERS)
			return -EAGAIN;
		ak_waiter_init(&w, f->l);
		f->waiters[f->nwaiters++] = &w;
		if ((rc = ak_waiter_wait(&w)) < 0)
			return rc;
	}
	s = &f->slot[i];
	memset(s, 0, sizeof(*s));
	s->busy = true;
	s->op = op;
	s->seq = ++f->seq;
	s->offset = offset;
	s->length = length;
	s->val = val;
	s->dlen = dlen;
	strcpy(s->key, key);
	if (key2 != NULL)
		strcpy(s->key2, key2);
	ak_waiter_init(&w, f->l);
	s->w = &w;
	if (f->up) {
		put_slot(f, i);
		push(f);
	}
	rc = ak_waiter_wait(&w);
	s->w = NULL;
	if (rc == 0) {
		*rsp = s->rsp;
		rc = status_errno(s->rsp.status);
		if (data != NULL) {
			*data = s->data;
			s->data = NULL;
		}
	}
	free(s->data);
	s->busy = false;
	if (f->nwaiters > 0) {
		struct ak_waiter *next = f->waiters[0];

		memmove(f->waiters, f->waiters + 1,
			--f->nwaiters * sizeof(f->waiters[0]));
		ak_waiter_signal(next, 0);
	}
	return rc;
}

static int
kvf_exists(void *dev, const char *key, enum ak_kv_kind *kind)
{
	struct kv_response r;
	int rc = call(dev, KV_OP_EXISTS, key, NULL, 0, 0, NULL, 0, &r, NULL);

	if (rc < 0)
		return rc;
	if (r.count > KV_KIND_DICT)
		return -EPROTO;
	*kind = (enum ak_kv_kind)r.count;
	return 0;
}

static ssize_t
kvf_get_partial(void *dev, const char *key, uint64_t off, void *buf,
		size_t len)
{
	size_t got = 0;

	while (got < len) {
		uint32_t want = len - got > KVF_DATA ? KVF_DATA
						     : (uint32_t)(len - got);
		struct kv_response r;
		unsigned char *d = NULL;
		int rc = call(dev, KV_OP_GET_PARTIAL, key, NULL, off + got,
			      want, NULL, want, &r, &d);

		if (rc < 0)
			return got > 0 ? (ssize_t)got : rc;
		memcpy((char *)buf + got, d, r.val);
		free(d);
		got += r.val;
		if (r.val < want)
			break;		/* the end of the value */
	}
	return (ssize_t)got;
}

static int
kvf_get(void *dev, const char *key, void **val, size_t *len)
{
	struct kv_response r;
	unsigned char *d = NULL, *big;
	int rc = call(dev, KV_OP_GET, key, NULL, 0, 0, NULL, KVF_DATA, &r, &d);
	ssize_t n;

	if (rc == 0) {
		*val = d;
		*len = r.val;
		return 0;
	}
	if (rc != -EFBIG)
		return rc;
	/* Larger than one request's pages: read it in parts. */
	if (r.aux > (1u << 30))
		return -EFBIG;
	if ((big = malloc(r.aux + 1)) == NULL)
		return -ENOMEM;
	if ((n = kvf_get_partial(dev, key, 0, big, r.aux)) < 0) {
		free(big);
		return (int)n;
	}
	big[n] = '\0';
	*val = big;
	*len = (size_t)n;
	return 0;
}

static int
kvf_size(void *dev, const char *key, uint64_t *size)
{
	struct kv_response r;
	int rc = call(dev, KV_OP_SIZE, key, NULL, 0, 0, NULL, 0, &r, NULL);

	if (rc == 0)
		*size = r.val;
	return rc;
}

/*
 * Append the entries of one LIST answer (count entries in len bytes of d:
 * a kind byte, the name, a NUL) to *e (*cnt of *cap).  Returns 0 or
 * -EPROTO (malformed) / -ENOMEM.  Pure: fuzzed by tests/fuzz/fuzz_ak_kv.c.
 */
int
ak_kv__parse_list(const unsigned char *d, uint64_t len, uint32_t count,
		  struct ak_kv_entry **e, size_t *cnt, size_t *cap)
{
	uint64_t pos = 0;

	for (uint32_t k = 0; k < count; k++) {
		size_t l;

		if (pos >= len || d[pos] > KV_KIND_DICT ||
		    (l = strnlen((const char *)d + pos + 1, len - pos - 1)) ==
			len - pos - 1)
			return -EPROTO;
		if (*cnt == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct ak_kv_entry *ne = realloc(*e, nc * sizeof(**e));

			if (ne == NULL)
				return -ENOMEM;
			*e = ne;
			*cap = nc;
		}
		(*e)[*cnt].kind = (enum ak_kv_kind)d[pos];
		if (((*e)[*cnt].name = strdup((const char *)d + pos + 1)) == NULL)
			return -ENOMEM;
		(*cnt)++;
		pos += l + 2;
	}
	return 0;
}

static int
kvf_list(void *dev, const char *key, struct ak_kv_entry **ents, size_t *n)
{
	struct ak_kv_entry *e = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t cursor = 0;

	do {
		struct kv_response r;
		unsigned char *d = NULL;
		int rc = call(dev, KV_OP_LIST, key, NULL, cursor, 0, NULL,
			      KVF_DATA, &r, &d);

		if (rc == 0)
			rc = ak_kv__parse_list(d, r.val, r.count, &e, &cnt,
					       &cap);
		free(d);
		/* The next cursor must move on, or a hostile kvd loops us. */
		if (rc == 0 && r.aux != 0 && r.aux <= cursor)
			rc = -EPROTO;
		if (rc < 0) {
			ak_kv_free_list(e, cnt);
			return rc;
		}
		cursor = r.aux;
	} while (cursor != 0);
	*ents = e;
	*n = cnt;
	return 0;
}

static int
kvf_last_modified(void *dev, const char *key, int64_t *sec, uint32_t *nsec)
{
	struct kv_response r;
	int rc = call(dev, KV_OP_LAST_MODIFIED, key, NULL, 0, 0, NULL, 0, &r,
		      NULL);

	if (rc == 0) {
		*sec = (int64_t)(r.val / 1000000000u);
		*nsec = (uint32_t)(r.val % 1000000000u);
	}
	return rc;
}

static int
kvf_digest(void *dev, const char *key, uint8_t digest[32])
{
	struct kv_response r;
	unsigned char *d = NULL;
	int rc = call(dev, KV_OP_DIGEST, key, NULL, 0, 0, NULL, KV_DIGEST_SIZE,
		      &r, &d);

	if (rc == 0)
		memcpy(digest, d, KV_DIGEST_SIZE);
	free(d);
	return rc;
}

static int
kvf_set(void *dev, const char *key, const void *val, size_t len)
{
	struct kv_response r;

	/* The protocol carries a value in one request's pages. */
	if (len > KVF_DATA)
		return -EFBIG;
	return call(dev, KV_OP_SET, key, NULL, 0, len, val, (uint32_t)len, &r,
		    NULL);
}

static int
kvf_set_partial(void *dev, const char *key, uint64_t off, const void *val,
		size_t len)
{
	(void)dev;
	(void)key;
	(void)off;
	(void)val;
	(void)len;
	return -ENOTSUP;	/* kvif has no partial set */
}

static int
kvf_remove(void *dev, const char *key)
{
	struct kv_response r;

	return call(dev, KV_OP_REMOVE, key, NULL, 0, 0, NULL, 0, &r, NULL);
}

static int
kvf_rename(void *dev, const char *from, const char *to)
{
	struct kv_response r;

	return call(dev, KV_OP_RENAME, from, to, 0, 0, NULL, 0, &r, NULL);
}

static const struct ak_kv_ops ro_ops = {
	.exists = kvf_exists,
	.get = kvf_get,
	.get_partial = kvf_get_partial,
	.size = kvf_size,
	.list = kvf_list,
	.last_modified = kvf_last_modified,
	.digest = kvf_digest,
};

static const struct ak_kv_ops rw_ops = {
	.exists = kvf_exists,
	.get = kvf_get,
	.get_partial = kvf_get_partial,
	.size = kvf_size,
	.list = kvf_list,
	.last_modified = kvf_last_modified,
	.digest = kvf_digest,
	.set = kvf_set,
	.set_partial = kvf_set_partial,
	.remove = kvf_remove,
	.rename = kvf_rename,
};

int
ak_kv_front_open(struct ak_loop *l, struct ring_xenbus *xb, unsigned devid,
		 enum ak_sig sig, struct ak_kv_front **out)
{
	struct ak_kv_front *f = calloc(1, sizeof(*f));
	int rc;

	if (f == NULL)
		return -ENOMEM;
	f->l = l;
	f->xb = xb;
	f->devid = devid;
	f->sig = sig;
	if ((rc = ak_kv_new(sig == AK_SIG_KV_RW ? &rw_ops : &ro_ops, f,
			    &f->kv)) < 0 ||
	    (rc = ring_xb_front_open(xb, "kv", devid, &front_ops, f,
				     &f->xf)) < 0) {
		ak_kv_free(f->kv);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

bool
ak_kv_front_ready(struct ak_kv_front *f)
{
	return f->up;
}

struct ak_kv *
ak_kv_front_kv(struct ak_kv_front *f)
{
	return f->kv;
}

void
ak_kv_front_close(struct ak_kv_front *f)
{
	if (f == NULL)
		return;
	if (f->reopen_armed)
		ak_loop_timer_cancel(f->l, f->reopen_id);
	ring_xb_front_close(f->xf);	/* tears down: unwatches, closes */
	ak_loop_unwatch(f->evw);
	ak_kv_free(f->kv);
	free(f);
}
