/*
 * kv_client: a raw kvif TEST frontend over libring, modelled on ringecho's
 * frontend.  It is not appkit's KV client: it exists to drive kvd from the
 * integration tests and bench/kv, and it can also misbehave on purpose.
 * Run it as a domain under kv_harness (which introduces it and creates its
 * devices).
 *
 *   kv_client dump DEV            list (paged) and read every value of
 *                                 device kv/DEV; print "sha256  key" lines
 *   kv_client writer DEV N        N pipelined sets of distinct keys, then
 *                                 read every one back and compare
 *   kv_client hostile DEV MODE    one good request, then one bad one
 *                                 (gref, len, past, nonul, op, index);
 *                                 exit 0 once kvd has dropped us
 *   kv_client bench-get DEV PREFIX NKEYS NAME   4 KiB gets, BENCHRAW lines
 *   kv_client bench-set DEV N     durable sets, BENCHRAW lines
 *
 * Requests are pipelined: up to KVC_W in flight, each with its own key page
 * (granted read-only) and KV_MAX_SEGS data pages (granted writable; kvd
 * only reads them for set).  Every request id names its slot and its
 * submission number, so a response to nothing, or twice, is caught.  When
 * kvd dies, libring's handshake walks Closing/Closed/Initialising and
 * reconnects; fe_connected resubmits everything still in flight, in order
 * (a replayed set writes the same value to the same key: harmless).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/kv_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define KVC_W 16u		/* requests in flight */
#define KVC_DATA (KV_MAX_SEGS * KV_PAGE_SIZE)
#define KEY2_OFF 2048u

struct kvc;
struct kvc_slot;
typedef void kvc_done_fn(struct kvc *c, struct kvc_slot *s,
			 const struct kv_response *rsp,
			 const unsigned char *data);

struct kvc_slot {
	bool busy;
	uint64_t seq;
	uint8_t op;
	char key[KV_KEY_MAX], key2[KV_KEY_MAX];
	uint64_t offset, length;
	uint32_t dlen;		/* data bytes granted to the request */
	unsigned char *val;	/* set: private copy */
	kvc_done_fn *done;
	void *arg;
	uint64_t user;
};

struct kvc {
	struct ring_xb_front *xb;
	struct ring_front ring;
	struct ring_evtchn *ev;
	bool up;
	uint32_t key_ref[KVC_W];
	void *key_page[KVC_W];
	uint32_t data_ref[KVC_W][KV_MAX_SEGS];
	void *data_page[KVC_W][KV_MAX_SEGS];
	struct kvc_slot slot[KVC_W];
	uint64_t next_seq;
	unsigned busy, teardowns;
	bool need_push;
	unsigned char out[KVC_DATA];
	/* hostile: a bad request is out */
	bool hostile_sent;
};

static struct ring_xenbus *g_xb;
static struct ring_store *g_st;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "kv_client: FAIL: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put_slot(struct kvc *c, unsigned i)
{
	struct kvc_slot *s = &c->slot[i];
	struct kv_request q = { .id = (s->seq << 5) | i, .op = s->op,
				.offset = s->offset, .length = s->length };
	size_t kl = strlen(s->key) + 1;
	uint32_t rem = s->dlen;

	memcpy(c->key_page[i], s->key, kl);
	q.key = (struct kv_seg){ c->key_ref[i], 0, (uint16_t)kl };
	if (s->op == KV_OP_RENAME) {
		size_t k2 = strlen(s->key2) + 1;

		memcpy((char *)c->key_page[i] + KEY2_OFF, s->key2, k2);
		q.key2 = (struct kv_seg){ c->key_ref[i], KEY2_OFF,
					  (uint16_t)k2 };
	}
	for (unsigned k = 0; rem > 0; k++) {
		uint32_t n = rem > KV_PAGE_SIZE ? KV_PAGE_SIZE : rem;

		q.seg[k] = (struct kv_seg){ c->data_ref[i][k], 0, (uint16_t)n };
		if (s->op == KV_OP_SET)
			memcpy(c->data_page[i][k], s->val + k * KV_PAGE_SIZE, n);
		q.nr_segs++;
		rem -= n;
	}
	if (kvif_front_put(&c->ring, &q) < 0)
		die("%s", "ring full with a free slot");
	c->need_push = true;
}

static int
fe_setup(void *arg, struct ring_xb_front *xfe, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct kvc *c = arg;
	uint32_t ring_ref;
	void *page;
	char p[256];
	int rc;

	(void)xfe;
	if ((rc = ring_share_grant(share, false, &ring_ref, &page)) < 0)
		return rc;
	for (unsigned i = 0; i < KVC_W; i++) {
		if ((rc = ring_share_grant(share, true, &c->key_ref[i],
					   &c->key_page[i])) < 0)
			return rc;
		for (unsigned k = 0; k < KV_MAX_SEGS; k++)
			if ((rc = ring_share_grant(share, false,
						   &c->data_ref[i][k],
						   &c->data_page[i][k])) < 0)
				return rc;
	}
	if ((rc = ring_share_evtchn(share, &c->ev)) < 0)
		return rc;
	kvif_front_init(&c->ring, page, RING_PAGE_SIZE);
	snprintf(p, sizeof(p), "%s/ring-ref", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "%u", ring_ref)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/event-channel", fe_path);
	return ring_store_printf(st, tx, p, "%u", ring_evtchn_port(c->ev));
}

static int
fe_connected(void *arg, struct ring_xb_front *xfe)
{
	struct kvc *c = arg;
	unsigned order[KVC_W], n = 0;

	/* Resubmit in submission order: a later set of a key must land
	 * after an earlier one. */
	for (unsigned i = 0; i < KVC_W; i++)
		if (c->slot[i].busy)
			order[n++] = i;
	for (unsigned a = 1; a < n; a++)
		for (unsigned b = a; b > 0 &&
		     c->slot[order[b]].seq < c->slot[order[b - 1]].seq; b--) {
			unsigned t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	for (unsigned i = 0; i < n; i++)
		put_slot(c, order[i]);
	if (ring_front_push(&c->ring))
		ring_evtchn_notify(c->ev);
	c->need_push = false;
	c->up = true;
	ring_log(RING_LOG_INFO, "msg=connected generation=%u resubmitted=%u",
		 ring_xb_front_generation(xfe), n);
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xfe)
{
	struct kvc *c = arg;

	(void)xfe;
	c->up = false;
	c->teardowns++;
	ring_evtchn_close(c->ev);
	c->ev = NULL;
}

static const struct ring_xb_front_ops kvc_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

static bool
op_returns_data(uint8_t op)
{
	return op == KV_OP_GET || op == KV_OP_GET_PARTIAL ||
	       op == KV_OP_LIST || op == KV_OP_DIGEST;
}

/* Consume every ready response.  Returns how many. */
static int
drain(struct kvc *c)
{
	struct kv_response r;
	int n = 0, rc;

	while ((rc = kvif_front_get(&c->ring, &r)) == 1) {
		unsigned i = (unsigned)(r.id & 31u);
		struct kvc_slot *s = &c->slot[i % KVC_W];
		uint32_t got = 0;

		if (i >= KVC_W || !s->busy || s->seq != r.id >> 5)
			die("%s", "response to no request (lost or doubled)");
		if (r.status == KV_OK && op_returns_data(s->op)) {
			if (r.val > s->dlen)
				die("%s", "response claims more data than granted");
			got = (uint32_t)r.val;
			for (uint32_t k = 0; k * KV_PAGE_SIZE < got; k++) {
				uint32_t m = got - k * KV_PAGE_SIZE;

				memcpy(c->out + k * KV_PAGE_SIZE,
				       c->data_page[i][k],
				       m > KV_PAGE_SIZE ? KV_PAGE_SIZE : m);
			}
		}
		s->busy = false;
		c->busy--;
		free(s->val);
		s->val = NULL;
		if (s->done)
			s->done(c, s, &r, c->out);
		n++;
	}
	if (rc < 0)
		die("%s", "kvd broke the ring");
	return n;
}

/* Drive the handshake and the ring once: push, drain, spin, sleep up to
 * timeout_ms.  Returns the responses consumed. */
static int
kvc_poll(struct kvc *c, int timeout_ms)
{
	struct pollfd fds[16];
	int got = 0, rc, nx, t;
	bool xb;

	if (c->up) {
		if (c->need_push && ring_front_push(&c->ring))
			ring_evtchn_notify(c->ev);
		c->need_push = false;
		if ((got = drain(c)) > 0)
			return got;
		for (unsigned i = 0; i < RING_SPIN_DEFAULT; i++) {
			if (ring_front_has_unconsumed(&c->ring))
				return drain(c);
			ring_cpu_relax();
		}
	}
	/* Our own poll: ring_xenbus_dispatch reads the store for every
	 * device, so it runs only when the store or a link has news. */
	nx = ring_xenbus_pollfds(g_xb, fds, 15);
	if (nx > 15)
		nx = 15;
	fds[nx] = (struct pollfd){ .fd = c->ev ? ring_evtchn_fd(c->ev) : -1,
				   .events = POLLIN };
	t = ring_xenbus_timeout_ms(g_xb);
	if (c->up && ring_front_final_check(&c->ring))
		timeout_ms = 0;
	if (t >= 0 && t < timeout_ms)
		timeout_ms = t;
	rc = poll(fds, (nfds_t)nx + 1, timeout_ms);
	xb = rc == 0 && timeout_ms != 0;
	for (int i = 0; rc > 0 && i < nx; i++)
		if (fds[i].revents)
			xb = true;
	if (xb && ring_xenbus_dispatch(g_xb) == -EPIPE)
		die("%s", "store gone");
	if (c->ev)
		ring_evtchn_consume(c->ev);
	if (c->up)
		got = drain(c);
	return got;
}

/* Queue one request.  Returns the slot, or NULL if all are busy. */
static struct kvc_slot *
kvc_submit(struct kvc *c, uint8_t op, const char *key, uint64_t offset,
	   uint64_t length, const void *val, uint32_t dlen, kvc_done_fn *done,
	   void *arg)
{
	struct kvc_slot *s = NULL;
	unsigned i;

	for (i = 0; i < KVC_W; i++)
		if (!c->slot[i].busy) {
			s = &c->slot[i];
			break;
		}
	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->busy = true;
	s->seq = c->next_seq++ & ((1ull << 58) - 1);
	s->op = op;
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->offset = offset;
	s->length = length;
	s->dlen = dlen;
	if (op == KV_OP_SET) {
		if ((s->val = malloc(dlen ? dlen : 1)) == NULL)
			die("%s", "out of memory");
		memcpy(s->val, val, dlen);
	}
	s->done = done;
	s->arg = arg;
	c->busy++;
	if (c->up)
		put_slot(c, i);
	return s;
}

/* A blocking call: submit and wait (reconnecting as needed). */
struct call_res {
	bool done;
	struct kv_response rsp;
	unsigned char *data;
};

static void
call_done(struct kvc *c, struct kvc_slot *s, const struct kv_response *rsp,
	  const unsigned char *data)
{
	struct call_res *r = s->arg;

	(void)c;
	r->done = true;
	r->rsp = *rsp;
	if (r->data && rsp->status == KV_OK && op_returns_data(s->op))
		memcpy(r->data, data, (size_t)rsp->val);
}

static struct kv_response
kvc_call(struct kvc *c, uint8_t op, const char *key, uint64_t offset,
	 uint64_t length, const void *val, uint32_t dlen, unsigned char *out)
{
	struct call_res r = { .data = out };

	while (kvc_submit(c, op, key, offset, length, val, dlen, call_done,
			  &r) == NULL)
		kvc_poll(c, 100);
	while (!r.done)
		kvc_poll(c, 100);
	return r.rsp;
}

static struct kvc *
kvc_open(unsigned devid)
{
	struct kvc *c = calloc(1, sizeof(*c));
	double t0 = now_s();
	int rc;

	if (c == NULL)
		die("%s", "out of memory");
	if ((rc = ring_store_open(NULL, &g_st)) < 0 ||
	    (rc = ring_xenbus_open(g_st, &g_xb)) < 0 ||
	    (rc = ring_xb_front_open(g_xb, "kv", devid, &kvc_ops, c,
				     &c->xb)) < 0)
		die("frontend setup failed: %s", strerror(-rc));
	while (!c->up) {
		kvc_poll(c, 100);
		if (now_s() - t0 > 20)
			die("%s", "never connected");
	}
	return c;
}

/* ---------------- dump ---------------- */

struct val {
	char *key;
	uint64_t size;
	unsigned char *buf;
	uint64_t pending;
};

static struct val *vals;
static size_t nvals, capvals;

static void
walk(struct kvc *c, const char *dir)
{
	/* A small window: listings come back in several pages. */
	const uint32_t win = 96;
	unsigned char buf[KVC_DATA];
	uint64_t cursor = 0;
	char **subs = NULL;
	size_t nsubs = 0;

	do {
		struct kv_response r = kvc_call(c, KV_OP_LIST, dir, cursor, 0,
						NULL, win, buf);
		uint32_t pos = 0;

		if (r.status != KV_OK)
			die("list failed: %s", kv_status_name(r.status));
		for (uint32_t e = 0; e < r.count; e++) {
			uint8_t kind;
			char *name, *full;

			if (pos >= r.val)
				die("%s", "listing shorter than its count");
			kind = buf[pos];
			name = (char *)buf + pos + 1;
			if (memchr(name, '\0', r.val - pos - 1) == NULL)
				die("%s", "listing entry not terminated");
			pos += (uint32_t)strlen(name) + 2;
			if (asprintf(&full, "%s%s%s", dir, *dir ? "/" : "",
				     name) < 0)
				die("%s", "out of memory");
			if (kind == KV_KIND_DICT) {
				subs = realloc(subs, (nsubs + 1) * sizeof(*subs));
				subs[nsubs++] = full;
			} else if (kind == KV_KIND_VALUE) {
				if (nvals == capvals) {
					capvals = capvals ? capvals * 2 : 64;
					vals = realloc(vals, capvals * sizeof(*vals));
				}
				vals[nvals++] = (struct val){ .key = full };
			} else {
				die("%s", "bad kind in listing");
			}
		}
		if (pos != r.val)
			die("%s", "listing longer than its count");
		if (r.aux != 0 && r.aux <= cursor)
			die("%s", "list cursor went backwards");
		cursor = r.aux;
	} while (cursor != 0);
	for (size_t i = 0; i < nsubs; i++) {
		walk(c, subs[i]);
		free(subs[i]);
	}
	free(subs);
}

static void
part_done(struct kvc *c, struct kvc_slot *s, const struct kv_response *rsp,
	  const unsigned char *data)
{
	struct val *v = s->arg;
	uint64_t want = v->size - s->user;

	(void)c;
	if (want > KVC_DATA)
		want = KVC_DATA;
	if (rsp->status != KV_OK || rsp->val != want || rsp->aux != v->size)
		die("read of %s came back wrong", v->key);
	memcpy(v->buf + s->user, data, want);
	v->pending--;
}

static int
cmp_val(const void *a, const void *b)
{
	return strcmp(((const struct val *)a)->key,
		      ((const struct val *)b)->key);
}

static int
do_dump(struct kvc *c)
{
	struct kv_response r;
	size_t i;
	unsigned big = 0;

	walk(c, "");
	qsort(vals, nvals, sizeof(*vals), cmp_val);
	for (i = 0; i < nvals; i++) {
		r = kvc_call(c, KV_OP_SIZE, vals[i].key, 0, 0, NULL, 0, NULL);
		if (r.status != KV_OK)
			die("size of %s failed", vals[i].key);
		vals[i].size = r.val;
		if ((vals[i].buf = malloc(r.val + 1)) == NULL)
			die("%s", "out of memory");
	}
	/* Pipelined: whole gets for what fits, get_partial in 32 KiB parts
	 * for the rest. */
	for (i = 0; i < nvals; i++) {
		struct val *v = &vals[i];
		uint64_t off = 0;

		if (v->size > KVC_DATA) {
			big++;
			r = kvc_call(c, KV_OP_GET, v->key, 0, 0, NULL, KVC_DATA,
				     NULL);
			if (r.status != KV_ETOOLARGE || r.aux != v->size)
				die("get of big %s not ETOOLARGE", v->key);
		}
		do {
			uint64_t n = v->size - off;
			struct kvc_slot *s;
			bool whole = v->size <= KVC_DATA;

			if (n > KVC_DATA)
				n = KVC_DATA;
			while ((s = kvc_submit(c, whole ? KV_OP_GET :
					       KV_OP_GET_PARTIAL, v->key,
					       whole ? 0 : off, whole ? 0 : n,
					       NULL, whole ? (n ? (uint32_t)n : 1)
					       : (uint32_t)(n ? n : 1),
					       part_done, v)) == NULL)
				kvc_poll(c, 100);
			s->user = off;
			v->pending++;
			off += n;
		} while (off < v->size);
	}
	while (c->busy > 0)
		kvc_poll(c, 100);
	for (i = 0; i < nvals; i++) {
		struct val *v = &vals[i];
		unsigned char h[crypto_hash_sha256_BYTES], d[KV_DIGEST_SIZE];
		unsigned char kd[KV_DIGEST_SIZE];

		if (v->pending != 0)
			die("%s incomplete", v->key);
		r = kvc_call(c, KV_OP_DIGEST, v->key, 0, 0, NULL, KV_DIGEST_SIZE,
			     kd);
		crypto_generichash(d, sizeof(d), v->buf, v->size, NULL, 0);
		if (r.status != KV_OK || memcmp(d, kd, sizeof(d)) != 0)
			die("digest of %s differs", v->key);
		r = kvc_call(c, KV_OP_EXISTS, v->key, 0, 0, NULL, 0, NULL);
		if (r.status != KV_OK || r.count != KV_KIND_VALUE)
			die("exists %s is not a value", v->key);
		crypto_hash_sha256(h, v->buf, v->size);
		for (unsigned k = 0; k < sizeof(h); k++)
			printf("%02x", h[k]);
		printf("  %s\n", v->key);
	}
	r = kvc_call(c, KV_OP_EXISTS, "no/such/key", 0, 0, NULL, 0, NULL);
	if (r.status != KV_OK || r.count != KV_KIND_NONE)
		die("%s", "a missing key exists");
	r = kvc_call(c, KV_OP_GET, "no-such-key", 0, 0, NULL, 4096, NULL);
	if (r.status != KV_ENOTFOUND)
		die("%s", "get of a missing key did not say ENOTFOUND");
	fprintf(stderr, "kv_client: dump ok values=%zu big=%u\n", nvals, big);
	return 0;
}

/* ---------------- writer ---------------- */

static uint32_t
wlen(uint64_t i)
{
	return 1 + (uint32_t)((i * 7919u) % 20000u);
}

static void
wfill(unsigned char *b, uint64_t i, uint32_t n)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;

	for (uint32_t k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[k] = (unsigned char)x;
	}
}

static uint64_t acked;

static void
set_done(struct kvc *c, struct kvc_slot *s, const struct kv_response *rsp,
	 const unsigned char *data)
{
	(void)c;
	(void)data;
	if (rsp->status != KV_OK)
		die("set %s failed", s->key);
	acked++;
}

static volatile sig_atomic_t writer_stop;

static void
on_writer_stop(int sig)
{
	(void)sig;
	writer_stop = 1;
}

/* Sets up to n keys; SIGUSR1 ends the run early (the harness sends it
 * once it has killed kvd as often as asked).  Then reads every key back. */
static int
do_writer(struct kvc *c, uint64_t n)
{
	unsigned char *v = malloc(KVC_DATA), *got = malloc(KVC_DATA);
	uint64_t i, bad = 0;
	char key[64];

	signal(SIGUSR1, on_writer_stop);
	for (i = 0; i < n && !writer_stop; i++) {
		uint32_t l = wlen(i);

		wfill(v, i, l);
		snprintf(key, sizeof(key), "w/%08" PRIu64, i);
		while (kvc_submit(c, KV_OP_SET, key, 0, l, v, l, set_done,
				  NULL) == NULL)
			kvc_poll(c, 100);
	}
	n = i;
	while (c->busy > 0)
		kvc_poll(c, 100);
	/* Every acknowledged set, whole and exact. */
	for (i = 0; i < n; i++) {
		uint32_t l = wlen(i);
		struct kv_response r;

		snprintf(key, sizeof(key), "w/%08" PRIu64, i);
		r = kvc_call(c, KV_OP_GET, key, 0, 0, NULL, KVC_DATA, got);
		wfill(v, i, l);
		if (r.status != KV_OK || r.val != l || memcmp(v, got, l) != 0) {
			fprintf(stderr, "kv_client: %s: status=%s len=%" PRIu64
				" want %u\n", key, kv_status_name(r.status),
				r.val, l);
			bad++;
		}
	}
	printf("writer: %" PRIu64 " acked, %" PRIu64 " verified, %" PRIu64
	       " bad, %u connections\n", acked, n - bad, bad,
	       ring_xb_front_generation(c->xb));
	free(v);
	free(got);
	return acked == n && bad == 0 ? 0 : 1;
}

/* ---------------- hostile ---------------- */

static int
do_hostile(struct kvc *c, const char *mode)
{
	struct kv_request q = { .id = 999, .op = KV_OP_EXISTS };
	struct kv_response r;
	double t0;

	r = kvc_call(c, KV_OP_EXISTS, "a", 0, 0, NULL, 0, NULL);
	if (r.status != KV_OK)
		die("%s", "good request failed");
	memcpy(c->key_page[0], "a", 2);
	q.key = (struct kv_seg){ c->key_ref[0], 0, 2 };
	if (strcmp(mode, "gref") == 0) {
		q.key.gref = 60000;
	} else if (strcmp(mode, "len") == 0) {
		q.op = KV_OP_GET;
		q.nr_segs = 1;
		q.seg[0] = (struct kv_seg){ c->data_ref[0][0], 4000, 500 };
	} else if (strcmp(mode, "past") == 0) {
		q.op = KV_OP_GET_PARTIAL;
		q.nr_segs = 1;
		q.length = 8192;
		q.seg[0] = (struct kv_seg){ c->data_ref[0][0], 0, 4096 };
	} else if (strcmp(mode, "nonul") == 0) {
		memcpy(c->key_page[0], "abc", 3);
		q.key.length = 3;
	} else if (strcmp(mode, "op") == 0) {
		q.op = 99;
	} else if (strcmp(mode, "index") != 0) {
		die("unknown hostile mode %s", mode);
	}
	if (strcmp(mode, "index") == 0)
		atomic_store(&c->ring.s->req_prod, c->ring.req_prod_pvt +
			     c->ring.nr_ents + 7);
	else
		ring_front_put(&c->ring, &q, sizeof(q));
	ring_front_push(&c->ring);
	ring_evtchn_notify(c->ev);
	t0 = now_s();
	while (c->teardowns == 0) {
		struct pollfd p = { .fd = ring_evtchn_fd(c->ev), .events = POLLIN };

		/* Not kvc_poll: a response to the bad request is a failure
		 * of kvd, not ours to die on. */
		if (ring_xenbus_poll(g_xb, &p, 1, 100) == -EPIPE)
			die("%s", "store gone");
		if (c->ev)
			ring_evtchn_consume(c->ev);
		if (c->up && ring_front_has_unconsumed(&c->ring))
			die("kvd answered the bad request (%s)", mode);
		if (now_s() - t0 > 10)
			die("kvd kept a hostile frontend (%s)", mode);
	}
	printf("hostile: dropped mode=%s\n", mode);
	return 0;
}

/* ---------------- bench ---------------- */

#define REPS 5

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t ndone;

static void
count_done(struct kvc *c, struct kvc_slot *s, const struct kv_response *rsp,
	   const unsigned char *data)
{
	(void)c;
	(void)data;
	if (rsp->status != KV_OK ||
	    (s->op == KV_OP_GET && rsp->val != s->dlen))
		die("bench request %s failed", s->key);
	ndone++;
}

static int
do_bench_get(struct kvc *c, const char *prefix, unsigned nkeys,
	     const char *name)
{
	unsigned ops = 20000, lat_ops = 2000;
	double rates[REPS], lat[2000];
	char key[256];

	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_s();

		ndone = 0;
		for (unsigned i = 0; i < ops; i++) {
			snprintf(key, sizeof(key), "%s%u", prefix, i % nkeys);
			while (kvc_submit(c, KV_OP_GET, key, 0, 0, NULL, 4096,
					  count_done, NULL) == NULL)
				kvc_poll(c, 100);
		}
		while (c->busy > 0)
			kvc_poll(c, 100);
		rates[rep] = ops / (now_s() - t0);
	}
	qsort(rates, REPS, sizeof(double), cmp_d);
	for (unsigned i = 0; i < lat_ops; i++) {
		double t0 = now_s();
		struct kv_response r;

		snprintf(key, sizeof(key), "%s%u", prefix, i % nkeys);
		r = kvc_call(c, KV_OP_GET, key, 0, 0, NULL, 4096, NULL);
		if (r.status != KV_OK)
			die("%s", "get failed");
		lat[i] = (now_s() - t0) * 1e6;
	}
	qsort(lat, lat_ops, sizeof(double), cmp_d);
	printf("BENCHRAW %s_ops %.0f\n", name, rates[REPS / 2]);
	printf("BENCHRAW %s_p50_us %.2f\n", name, lat[lat_ops / 2]);
	return 0;
}

static int
do_bench_set(struct kvc *c, unsigned n)
{
	unsigned char v[1024];
	double rates[REPS];
	char key[64];

	memset(v, 'v', sizeof(v));
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_s();

		ndone = 0;
		for (unsigned i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "b%d/%u", rep, i);
			while (kvc_submit(c, KV_OP_SET, key, 0, sizeof(v), v,
					  sizeof(v), count_done, NULL) == NULL)
				kvc_poll(c, 100);
		}
		while (c->busy > 0)
			kvc_poll(c, 100);
		rates[rep] = n / (now_s() - t0);
	}
	qsort(rates, REPS, sizeof(double), cmp_d);
	printf("BENCHRAW kv_set_durable_ops %.0f\n", rates[REPS / 2]);
	return 0;
}

int
main(int argc, char **argv)
{
	struct kvc *c;
	int rc = 2;

	ring_log_set_name("kv_client");
	if (argc < 3) {
		fprintf(stderr, "usage: see the header of tests/lib/kv_client.c\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	c = kvc_open((unsigned)atoi(argv[2]));
	if (strcmp(argv[1], "dump") == 0 && argc == 3)
		rc = do_dump(c);
	else if (strcmp(argv[1], "writer") == 0 && argc == 4)
		rc = do_writer(c, strtoull(argv[3], NULL, 10));
	else if (strcmp(argv[1], "hostile") == 0 && argc == 4)
		rc = do_hostile(c, argv[3]);
	else if (strcmp(argv[1], "bench-get") == 0 && argc == 6)
		rc = do_bench_get(c, argv[3], (unsigned)atoi(argv[4]), argv[5]);
	else if (strcmp(argv[1], "bench-set") == 0 && argc == 4)
		rc = do_bench_set(c, (unsigned)atoi(argv[3]));
	else
		fprintf(stderr, "kv_client: bad command line\n");
	fflush(stdout);
	ring_xb_front_close(c->xb);
	ring_xenbus_close(g_xb);
	ring_store_close(g_st);
	for (size_t i = 0; i < nvals; i++) {
		free(vals[i].key);
		free(vals[i].buf);
	}
	free(vals);
	for (unsigned i = 0; i < KVC_W; i++)
		free(c->slot[i].val);
	free(c);
	return rc;
}
