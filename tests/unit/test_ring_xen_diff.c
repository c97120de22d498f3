/*
 * Differential tests: libring's ring (morgana/ring.h) against a peer built
 * only from Xen's own xen/io/ring.h macros and netif.h types.
 *
 * 1. Lock-step (one process): the same random script of operations runs on
 *    two pages, one driven by Xen's macros and one by libring.  After every
 *    step the two pages must be byte-identical and every notify decision
 *    (RING_PUSH_*_AND_CHECK_NOTIFY vs ring_*_push) and final check
 *    (RING_FINAL_CHECK_FOR_* vs ring_*_final_check) must agree, including
 *    across the 2^32 index wrap.
 * 2. Two processes: the Xen peer runs in a forked child sharing a
 *    MAP_SHARED page with libring in the parent, in both roles, for the
 *    netif tx and rx rings.  Every request's fields derive from its
 *    sequence number and every response from its request, so both sides
 *    check every message.  Wake-ups go through ring_evtchn_pair, driven
 *    only by the notify results: a lost wake-up hangs, and alarm() turns
 *    the hang into a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/xen_ring_compat.h"
#include "morgana/evtchn.h"

#define PAGE 4096u

static uint32_t
mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static uint32_t
rnd(uint32_t *st)
{
	*st = *st * 1664525u + 1013904223u;
	return mix(*st);
}

static uint32_t
scaled(uint32_t n)
{
	const char *s = getenv("MORGANA_TEST_SCALE");

	return s && strcmp(s, "asan") == 0 ? n / 10 : n;
}

/* ---- message generators: request from seq, response from request ---- */

static void
tx_gen(uint32_t seq, struct netif_tx_request *q)
{
	uint32_t h = mix(seq), g = mix(seq ^ 0x9e3779b9u);

	memset(q, 0, sizeof(*q));
	q->gref = h;
	q->offset = (uint16_t)(g & 0xfff);
	q->flags = (uint16_t)((g >> 12) & 0xf);
	q->id = (uint16_t)seq;
	q->size = (uint16_t)(g >> 16);
}

static int
tx_req_ok(uint32_t seq, const struct netif_tx_request *q)
{
	struct netif_tx_request w;

	tx_gen(seq, &w);
	return q->gref == w.gref && q->offset == w.offset &&
	       q->flags == w.flags && q->id == w.id && q->size == w.size;
}

static void
tx_answer(const struct netif_tx_request *q, struct netif_tx_response *p)
{
	memset(p, 0, sizeof(*p));
	p->id = q->id;
	p->status = (int16_t)((int)((q->gref ^ q->size ^ q->offset) & 0x7fff) -
			      16384 + q->flags);
}

static int
tx_rsp_ok(uint32_t seq, const struct netif_tx_response *p)
{
	struct netif_tx_request q;
	struct netif_tx_response w;

	tx_gen(seq, &q);
	tx_answer(&q, &w);
	return p->id == w.id && p->status == w.status;
}

static void
rx_gen(uint32_t seq, struct netif_rx_request *q)
{
	uint32_t h = mix(seq * 3u + 1u);

	memset(q, 0, sizeof(*q));
	q->id = (uint16_t)seq;
	q->pad = (uint16_t)(h >> 20);
	q->gref = mix(h);
}

static int
rx_req_ok(uint32_t seq, const struct netif_rx_request *q)
{
	struct netif_rx_request w;

	rx_gen(seq, &w);
	return q->id == w.id && q->pad == w.pad && q->gref == w.gref;
}

static void
rx_answer(const struct netif_rx_request *q, struct netif_rx_response *p)
{
	memset(p, 0, sizeof(*p));
	p->id = q->id;
	p->offset = (uint16_t)(q->gref & 0xfff);
	p->flags = (uint16_t)((q->gref >> 12) & 0x1f);
	p->status = (int16_t)((int)(q->gref >> 17) - 16384 + q->pad);
}

static int
rx_rsp_ok(uint32_t seq, const struct netif_rx_response *p)
{
	struct netif_rx_request q;
	struct netif_rx_response w;

	rx_gen(seq, &q);
	rx_answer(&q, &w);
	return p->id == w.id && p->offset == w.offset && p->flags == w.flags &&
	       p->status == w.status;
}

/* ---- 1. lock-step ---- */

/*
 * One template per ring type: X is Xen's front/back over xp, f/b ours over
 * mp.  ops is the number of random steps, base the starting index.
 */
#define LOCKSTEP(tag, REQ, RSP, gen, answer)                                 \
	static void lockstep_##tag(uint32_t seed, uint32_t ops, uint32_t base) \
	{                                                                    \
		static _Alignas(4096) unsigned char xp[PAGE], mp[PAGE];      \
		struct tag##_sring *xs = (struct tag##_sring *)xp;           \
		struct ring_sring *ms = (struct ring_sring *)mp;             \
		struct tag##_front_ring xf;                                  \
		struct tag##_back_ring xb;                                   \
		struct ring_front f;                                         \
		struct ring_back b;                                          \
		uint32_t st = seed, seq = 0, bseq = 0, fseq = 0;             \
		uint32_t notifies = 0, sleeps = 0;                           \
                                                                             \
		memset(xp, 0, sizeof(xp));                                   \
		memset(mp, 0, sizeof(mp));                                   \
		SHARED_RING_INIT(xs);                                        \
		xs->req_prod = xs->rsp_prod = base;                          \
		xs->req_event = xs->rsp_event = base + 1;                    \
		FRONT_RING_ATTACH(&xf, xs, base, PAGE);                      \
		BACK_RING_ATTACH(&xb, xs, base, PAGE);                       \
		assert_int_equal(ring_front_init(&f, mp, PAGE,               \
			sizeof(union tag##_sring_entry)), 0);                \
		f.req_prod_pvt = f.req_prod_pub = base;                      \
		f.rsp_cons = f.rsp_prod_seen = base;                         \
		atomic_store(&ms->req_prod, base);                           \
		atomic_store(&ms->rsp_prod, base);                           \
		atomic_store(&ms->req_event, base + 1);                      \
		atomic_store(&ms->rsp_event, base + 1);                      \
		assert_int_equal(ring_back_attach(&b, mp, PAGE,              \
			sizeof(union tag##_sring_entry)), 0);                \
		assert_int_equal(f.nr_ents, xf.nr_ents);                     \
		assert_memory_equal(xp, mp, PAGE);                           \
		for (uint32_t op = 0; op < ops; op++) {                      \
			uint32_t r = rnd(&st), k = 1 + (r >> 8) % 40;        \
			int xn, mn;                                          \
			REQ q, xq;                                           \
			RSP p, xpr;                                          \
                                                                             \
			switch (r % 8) {                                     \
			case 0: /* front queues up to k requests */          \
				while (k-- && !RING_FULL(&xf)) {             \
					gen(seq, &q);                        \
					*RING_GET_REQUEST(&xf,               \
						xf.req_prod_pvt) = q;        \
					xf.req_prod_pvt++;                   \
					assert_int_equal(ring_front_put(&f,  \
						&q, sizeof(q)), 0);          \
					seq++;                               \
				}                                            \
				if (RING_FULL(&xf))                          \
					assert_int_equal(ring_front_put(&f,  \
						&q, sizeof(q)), -EAGAIN);    \
				break;                                       \
			case 1: /* front publishes */                        \
				RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&xf, xn); \
				mn = ring_front_push(&f);                    \
				assert_int_equal(!!xn, mn);                  \
				notifies += mn;                              \
				break;                                       \
			case 2: { /* back consumes up to k requests */       \
				RING_IDX rp = xs->req_prod;                  \
				rmb();                                       \
				assert_false(RING_REQUEST_PROD_OVERFLOW(&xb, \
					rp));                                \
				while (k--) {                                \
					int got = ring_back_get(&b, &q,      \
						sizeof(q));                  \
					if (xb.req_cons == rp ||             \
					    RING_REQUEST_CONS_OVERFLOW(&xb,  \
						xb.req_cons)) {              \
						assert_int_equal(got, 0);    \
						break;                       \
					}                                    \
					RING_COPY_REQUEST(&xb, xb.req_cons,  \
							  &xq);              \
					xb.req_cons++;                       \
					assert_int_equal(got, 1);            \
					assert_memory_equal(&q, &xq,         \
						sizeof(q));                  \
				}                                            \
				break;                                       \
			}                                                    \
			case 3: /* back answers up to k consumed requests */ \
				while (k-- && xb.rsp_prod_pvt != xb.req_cons) { \
					xq = *RING_GET_REQUEST(&xb,          \
						xb.rsp_prod_pvt);            \
					gen(bseq, &q);                       \
					assert_memory_equal(&q, &xq,         \
						sizeof(q));                  \
					answer(&q, &p);                      \
					*RING_GET_RESPONSE(&xb,              \
						xb.rsp_prod_pvt) = p;        \
					xb.rsp_prod_pvt++;                   \
					assert_int_equal(ring_back_put(&b,   \
						&p, sizeof(p)), 0);          \
					bseq++;                              \
				}                                            \
				if (xb.rsp_prod_pvt == xb.req_cons)          \
					assert_int_equal(ring_back_put(&b,   \
						&p, sizeof(p)), -EINVAL);    \
				break;                                       \
			case 4: /* back publishes */                         \
				RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&xb, xn); \
				mn = ring_back_push(&b);                     \
				assert_int_equal(!!xn, mn);                  \
				notifies += mn;                              \
				break;                                       \
			case 5: { /* front consumes up to k responses */     \
				RING_IDX rp = xs->rsp_prod;                  \
				rmb();                                       \
				assert_false(RING_RESPONSE_PROD_OVERFLOW(    \
					&xf, rp));                           \
				while (k--) {                                \
					int got = ring_front_get(&f, &p,     \
						sizeof(p));                  \
					if (xf.rsp_cons == rp) {             \
						assert_int_equal(got, 0);    \
						break;                       \
					}                                    \
					RING_COPY_RESPONSE(&xf, xf.rsp_cons, \
							   &xpr);            \
					xf.rsp_cons++;                       \
					assert_int_equal(got, 1);            \
					assert_memory_equal(&p, &xpr,        \
						sizeof(p));                  \
					gen(fseq, &q);                       \
					answer(&q, &xpr);                    \
					assert_memory_equal(&p, &xpr,        \
						sizeof(p));                  \
					fseq++;                              \
				}                                            \
				break;                                       \
			}                                                    \
			case 6: /* back would sleep */                       \
				RING_FINAL_CHECK_FOR_REQUESTS(&xb, xn);      \
				mn = ring_back_final_check(&b);              \
				assert_int_equal(!!xn, mn);                  \
				sleeps += !mn;                               \
				break;                                       \
			case 7: /* front would sleep */                      \
				RING_FINAL_CHECK_FOR_RESPONSES(&xf, xn);     \
				mn = ring_front_final_check(&f);             \
				assert_int_equal(!!xn, mn);                  \
				sleeps += !mn;                               \
				break;                                       \
			}                                                    \
			assert_memory_equal(xp, mp, PAGE);                   \
			assert_int_equal(f.req_prod_pvt, xf.req_prod_pvt);   \
			assert_int_equal(f.rsp_cons, xf.rsp_cons);           \
			assert_int_equal(b.req_cons, xb.req_cons);           \
			assert_int_equal(b.rsp_prod_pvt, xb.rsp_prod_pvt);   \
		}                                                            \
		/* The script must have exercised both answers. */           \
		assert_true(notifies > 0 && sleeps > 0 && fseq > 1000);      \
	}

LOCKSTEP(netif_tx, struct netif_tx_request, struct netif_tx_response,
	 tx_gen, tx_answer)
LOCKSTEP(netif_rx, struct netif_rx_request, struct netif_rx_response,
	 rx_gen, rx_answer)

static void
test_lockstep_tx(void **state)
{
	(void)state;
	lockstep_netif_tx(1, scaled(200000), 0);
	lockstep_netif_tx(2, scaled(200000), 0xfffff000u);
}

static void
test_lockstep_rx(void **state)
{
	(void)state;
	lockstep_netif_rx(3, scaled(200000), 0);
	lockstep_netif_rx(4, scaled(200000), 0xfffff000u);
}

/* ---- 2. two processes ---- */

struct peer {
	void *page;
	struct ring_evtchn *ev;
	uint32_t total;
	unsigned spin;
	uint32_t seed;
	uint64_t notifies;	/* notifications this side sent */
	uint64_t sleeps;	/* times this side slept on the channel */
	char err[160];
};

#define FAIL(pp, ...)                                                        \
	do {                                                                 \
		snprintf((pp)->err, sizeof((pp)->err), __VA_ARGS__);         \
		return -1;                                                   \
	} while (0)

static int
notify(struct peer *pp)
{
	pp->notifies++;
	return ring_evtchn_notify(pp->ev);
}

/* Xen-macro front end (page initialised by xen_front_init before fork). */
#define XEN_FRONT(tag, REQ, RSP, gen, rsp_ok)                                \
	static void xen_front_init_##tag(struct peer *pp)                    \
	{                                                                    \
		struct tag##_front_ring r; /* rebuilt after the fork */      \
		XEN_FRONT_RING_INIT(&r, (struct tag##_sring *)pp->page, PAGE); \
	}                                                                    \
	static int xen_front_##tag(struct peer *pp)                          \
	{                                                                    \
		struct tag##_sring *s = pp->page;                            \
		struct tag##_front_ring r;                                   \
		uint32_t st = pp->seed, sent = 0, got = 0;                   \
		int more, ntf;                                               \
                                                                             \
		FRONT_RING_INIT(&r, s, PAGE);                                \
		while (got < pp->total) {                                    \
			uint32_t room = RING_FREE_REQUESTS(&r), n;           \
                                                                             \
			n = pp->total - sent < room ? pp->total - sent : room; \
			if (n > 1)                                           \
				n = 1 + rnd(&st) % n;                        \
			for (uint32_t i = 0; i < n; i++, sent++)             \
				gen(sent, RING_GET_REQUEST(&r,               \
					r.req_prod_pvt++));                  \
			RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&r, ntf);        \
			if (ntf && notify(pp) < 0)                           \
				FAIL(pp, "notify");                          \
			RING_IDX rp = s->rsp_prod;                           \
			rmb(); /* rsp_prod before the responses */           \
			if (RING_RESPONSE_PROD_OVERFLOW(&r, rp))             \
				FAIL(pp, "rsp_prod overflow %u", rp);        \
			if (rp == r.rsp_cons) {                              \
				for (unsigned i = 0; i < pp->spin &&         \
				     s->rsp_prod == r.rsp_cons; i++)         \
					rmb();                               \
				RING_FINAL_CHECK_FOR_RESPONSES(&r, more);    \
				if (!more) {                                 \
					pp->sleeps++;                        \
					if (ring_evtchn_wait(pp->ev, -1) < 0) \
						FAIL(pp, "wait");            \
				}                                            \
				continue;                                    \
			}                                                    \
			while (r.rsp_cons != rp) {                           \
				RSP p;                                       \
				RING_COPY_RESPONSE(&r, r.rsp_cons, &p);      \
				r.rsp_cons++;                                \
				if (!rsp_ok(got, &p))                        \
					FAIL(pp, "bad response %u", got);    \
				got++;                                       \
			}                                                    \
		}                                                            \
		return 0;                                                    \
	}

/* Xen-macro back end. */
#define XEN_BACK(tag, REQ, RSP, req_ok, answer)                              \
	static int xen_back_##tag(struct peer *pp)                           \
	{                                                                    \
		struct tag##_sring *s = pp->page;                            \
		struct tag##_back_ring r;                                    \
		uint32_t st = pp->seed, done = 0;                            \
		int more, ntf;                                               \
                                                                             \
		BACK_RING_INIT(&r, s, PAGE);                                 \
		while (done < pp->total) {                                   \
			uint32_t k = 0;                                      \
			RING_IDX rp = s->req_prod;                           \
                                                                             \
			rmb(); /* req_prod before the requests */            \
			if (RING_REQUEST_PROD_OVERFLOW(&r, rp))              \
				FAIL(pp, "req_prod overflow %u", rp);        \
			while (r.req_cons != rp &&                           \
			       !RING_REQUEST_CONS_OVERFLOW(&r, r.req_cons)) { \
				REQ q;                                       \
				RSP p;                                       \
				RING_COPY_REQUEST(&r, r.req_cons, &q);       \
				r.req_cons++;                                \
				if (!req_ok(done, &q))                       \
					FAIL(pp, "bad request %u", done);    \
				answer(&q, &p);                              \
				*RING_GET_RESPONSE(&r, r.rsp_prod_pvt++) = p; \
				done++;                                      \
				k++;                                         \
				if (rnd(&st) % 16 == 0) {                    \
					RING_PUSH_RESPONSES_AND_CHECK_NOTIFY( \
						&r, ntf);                    \
					if (ntf && notify(pp) < 0)           \
						FAIL(pp, "notify");          \
				}                                            \
			}                                                    \
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r, ntf);       \
			if (ntf && notify(pp) < 0)                           \
				FAIL(pp, "notify");                          \
			if (k == 0 && done < pp->total) {                    \
				for (unsigned i = 0; i < pp->spin &&         \
				     s->req_prod == r.req_cons; i++)         \
					rmb();                               \
				RING_FINAL_CHECK_FOR_REQUESTS(&r, more);     \
				if (!more) {                                 \
					pp->sleeps++;                        \
					if (ring_evtchn_wait(pp->ev, -1) < 0) \
						FAIL(pp, "wait");            \
				}                                            \
			}                                                    \
		}                                                            \
		return 0;                                                    \
	}

/* libring front end. */
#define OUR_FRONT(tag, REQ, RSP, gen, rsp_ok)                                \
	static void our_front_init_##tag(struct peer *pp, struct ring_front *f) \
	{                                                                    \
		assert_int_equal(ring_front_init(f, pp->page, PAGE,          \
			sizeof(union tag##_sring_entry)), 0);                \
	}                                                                    \
	static int our_front_##tag(struct peer *pp, struct ring_front *f)    \
	{                                                                    \
		uint32_t st = pp->seed, sent = 0, got = 0;                   \
		int rc;                                                      \
                                                                             \
		while (got < pp->total) {                                    \
			uint32_t room = ring_front_free(f), n, k = 0;        \
			REQ q;                                               \
			RSP p;                                               \
                                                                             \
			n = pp->total - sent < room ? pp->total - sent : room; \
			if (n > 1)                                           \
				n = 1 + rnd(&st) % n;                        \
			for (uint32_t i = 0; i < n; i++, sent++) {           \
				gen(sent, &q);                               \
				if (ring_front_put(f, &q, sizeof(q)) != 0)   \
					FAIL(pp, "put %u", sent);            \
			}                                                    \
			if (ring_front_push(f) && notify(pp) < 0)            \
				FAIL(pp, "notify");                          \
			while ((rc = ring_front_get(f, &p, sizeof(p))) == 1) { \
				if (!rsp_ok(got, &p))                        \
					FAIL(pp, "bad response %u", got);    \
				got++;                                       \
				k++;                                         \
			}                                                    \
			if (rc < 0)                                          \
				FAIL(pp, "front get %d", rc);                \
			if (k == 0 && got < pp->total) {                     \
				pp->sleeps++; /* at most */                  \
				if ((rc = ring_front_wait(f, pp->ev, pp->spin, \
							  -1)) < 0)          \
					FAIL(pp, "front wait %d", rc);       \
			}                                                    \
		}                                                            \
		return 0;                                                    \
	}

/* libring back end. */
#define OUR_BACK(tag, REQ, RSP, req_ok, answer)                              \
	static int our_back_##tag(struct peer *pp)                           \
	{                                                                    \
		struct ring_back b;                                          \
		uint32_t st = pp->seed, done = 0;                            \
		int rc;                                                      \
                                                                             \
		if (ring_back_attach(&b, pp->page, PAGE,                     \
				     sizeof(union tag##_sring_entry)) != 0)  \
			FAIL(pp, "attach");                                  \
		while (done < pp->total) {                                   \
			uint32_t k = 0;                                      \
			REQ q;                                               \
			RSP p;                                               \
                                                                             \
			while ((rc = ring_back_get(&b, &q, sizeof(q))) == 1) { \
				if (!req_ok(done, &q))                       \
					FAIL(pp, "bad request %u", done);    \
				answer(&q, &p);                              \
				if (ring_back_put(&b, &p, sizeof(p)) != 0)   \
					FAIL(pp, "back put");                \
				done++;                                      \
				k++;                                         \
				if (rnd(&st) % 16 == 0 && ring_back_push(&b) && \
				    notify(pp) < 0)                          \
					FAIL(pp, "notify");                  \
			}                                                    \
			if (rc < 0)                                          \
				FAIL(pp, "back get %d", rc);                 \
			if (ring_back_push(&b) && notify(pp) < 0)            \
				FAIL(pp, "notify");                          \
			if (k == 0 && done < pp->total) {                    \
				pp->sleeps++; /* at most */                  \
				if ((rc = ring_back_wait(&b, pp->ev, pp->spin, \
							 -1)) < 0)           \
					FAIL(pp, "back wait %d", rc);        \
			}                                                    \
		}                                                            \
		return 0;                                                    \
	}

#define PEERS(tag, REQ, RSP, gen, req_ok, answer, rsp_ok)                    \
	XEN_FRONT(tag, REQ, RSP, gen, rsp_ok)                                \
	XEN_BACK(tag, REQ, RSP, req_ok, answer)                              \
	OUR_FRONT(tag, REQ, RSP, gen, rsp_ok)                                \
	OUR_BACK(tag, REQ, RSP, req_ok, answer)

PEERS(netif_tx, struct netif_tx_request, struct netif_tx_response, tx_gen,
      tx_req_ok, tx_answer, tx_rsp_ok)
PEERS(netif_rx, struct netif_rx_request, struct netif_rx_response, rx_gen,
      rx_req_ok, rx_answer, rx_rsp_ok)

static void
on_alarm(int sig)
{
	static const char m[] = "FAIL: alarm: ring peers hung (lost wake-up?)\n";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

enum role { XEN_FRONT_OUR_BACK, OUR_FRONT_XEN_BACK };

/*
 * Run one pairing: the Xen peer in a forked child, libring in this
 * process.  The front end initialises the page before the fork.
 */
static void
run_pair(const char *tag, enum role role, unsigned spin, uint32_t total,
	 void (*xf_init)(struct peer *), int (*xf)(struct peer *),
	 int (*xb)(struct peer *),
	 void (*of_init)(struct peer *, struct ring_front *),
	 int (*of)(struct peer *, struct ring_front *),
	 int (*ob)(struct peer *))
{
	struct ring_evtchn *mine, *theirs;
	struct peer *shared, *me, *them;
	struct ring_front f;
	struct sigaction sa = { .sa_handler = on_alarm };
	void *page;
	pid_t pid;
	int status, rc;

	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	shared = mmap(NULL, 2 * sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shared != MAP_FAILED);
	assert_int_equal(ring_evtchn_pair(&mine, &theirs), 0);
	me = &shared[0];
	them = &shared[1];
	*me = (struct peer){ .page = page, .ev = mine, .total = total,
			     .spin = spin, .seed = 7 };
	*them = (struct peer){ .page = page, .ev = theirs, .total = total,
			       .spin = spin, .seed = 9 };
	if (role == XEN_FRONT_OUR_BACK)
		xf_init(them);
	else
		of_init(me, &f);

	sigaction(SIGALRM, &sa, NULL);
	alarm(30);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ring_evtchn_close(mine);
		rc = role == XEN_FRONT_OUR_BACK ? xf(them) : xb(them);
		_exit(rc == 0 ? 0 : 1);
	}
	ring_evtchn_close(theirs);
	rc = role == XEN_FRONT_OUR_BACK ? ob(me) : of(me, &f);
	if (rc != 0) {
		kill(pid, SIGKILL);
		fprintf(stderr, "%s libring side: %s\n", tag, me->err);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	alarm(0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "%s xen side: status %d: %s\n", tag, status,
			them->err);
	assert_int_equal(rc, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("# %s %s spin=%u: %u msgs; xen notified %llu, slept %llu; "
	       "libring notified %llu, waited %llu\n", tag,
	       role == XEN_FRONT_OUR_BACK ? "xen-front/our-back"
					  : "our-front/xen-back",
	       spin, total, (unsigned long long)them->notifies,
	       (unsigned long long)them->sleeps,
	       (unsigned long long)me->notifies,
	       (unsigned long long)me->sleeps);
	/*
	 * Every completed sleep of the Xen side consumed a wake-up that only
	 * a libring notify can have produced.
	 */
	assert_true(them->sleeps <= me->notifies);
	/* Both sides waited at times, so wake-ups were really exercised. */
	if (spin == 0) {
		assert_true(them->notifies > 0 && me->notifies > 0);
		assert_true(them->sleeps > 0 && me->sleeps > 0);
	}
	ring_evtchn_close(mine);
	munmap(shared, 2 * sizeof(*shared));
	munmap(page, PAGE);
}

#define RUN_ALL(tag)                                                         \
	static void test_procs_##tag(void **state)                           \
	{                                                                    \
		uint32_t n = scaled(200000);                                 \
		(void)state;                                                 \
		for (unsigned spin = 0; spin <= 64; spin += 64) {            \
			run_pair(#tag, XEN_FRONT_OUR_BACK, spin, n,          \
				 xen_front_init_##tag, xen_front_##tag,      \
				 xen_back_##tag, our_front_init_##tag,       \
				 our_front_##tag, our_back_##tag);           \
			run_pair(#tag, OUR_FRONT_XEN_BACK, spin, n,          \
				 xen_front_init_##tag, xen_front_##tag,      \
				 xen_back_##tag, our_front_init_##tag,       \
				 our_front_##tag, our_back_##tag);           \
		}                                                            \
	}

RUN_ALL(netif_tx)
RUN_ALL(netif_rx)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockstep_tx),
		cmocka_unit_test(test_lockstep_rx),
		cmocka_unit_test(test_procs_netif_tx),
		cmocka_unit_test(test_procs_netif_rx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
