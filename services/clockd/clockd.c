/*
 * clockd.c - the time-page writer and the per-connection timer set.
 */
#include "services/clockd/clockd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "morgana/clock.h"
#include "morgana/log.h"

/* ==== the writer ======================================================= */

#define CLOCK_DEFAULT_PERIOD_NS 100000000ull
/* Intervals shorter than this give a noisy rate; keep the old one. */
#define CLOCK_MIN_RATE_INTERVAL_NS 10000000ull

struct clock_writer {
	struct clock_page *page;
	int fd;
	bool tsc;
	uint64_t period;
	clock_realtime_fn *realtime;
	void *realtime_arg;
	uint32_t perturb_ppm;
	bool no_clamp;
	uint64_t rng;
	/* The last (TSC, CLOCK_MONOTONIC) pair the rate is measured from. */
	uint64_t base_tsc, base_mono;
	double rate;		/* measured ns per TSC tick */
	/* Our private copy of what is published. */
	uint64_t p_tsc, p_sys;
	uint32_t p_mul;
	int p_shift;
	uint32_t version;
	uint64_t updates;
	uint64_t wc_ns;
};

static uint64_t
mono_now(void)
{
	return clock__gettime_mono();
}

static int
realtime_default(void *arg, int64_t *ns)
{
	struct timespec ts;
	(void)arg;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

#if defined(__x86_64__)
static uint64_t
tsc_ordered(void)
{
	/* Everything before (the seqlock fence) completes before the read. */
	_mm_lfence();
	return __rdtsc();
}

/*
 * The TSC is usable by unsynchronised readers on any CPU only if it is
 * invariant (CPUID 0x80000007 EDX bit 8) and the kernel itself trusts it
 * as its clocksource (it checked cross-CPU sync and watchdogs it).
 */
static bool
tsc_trusted(void)
{
	unsigned a, b, c, d;
	char buf[32] = "";
	int fd;
	ssize_t n;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return false;
	fd = open("/sys/devices/system/clocksource/clocksource0/"
		  "current_clocksource", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 3 && strncmp(buf, "tsc", 3) == 0 &&
	       (buf[3] == '\n' || buf[3] == '\0');
}
#else
static uint64_t
tsc_ordered(void)
{
	return 0;
}

static bool
tsc_trusted(void)
{
	return false;
}
#endif

/* A (TSC, CLOCK_MONOTONIC) pair: the tightest bracket of a few tries. */
static void
sample_pair(uint64_t *tsc, uint64_t *mono)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		uint64_t m1 = mono_now(), t = tsc_ordered(), m2 = mono_now();

		if (m2 - m1 < best) {
			best = m2 - m1;
			*tsc = t;
			*mono = m1 + (m2 - m1) / 2;
		}
	}
}

/* The page's formula, as readers compute it, for our own parameters. */
static uint64_t
scaled(uint64_t sys, uint64_t ts, uint32_t mul, int shift, uint64_t tsc)
{
	uint64_t d = (int64_t)(tsc - ts) > 0 ? tsc - ts : 0;

	d = shift >= 0 ? d << shift : d >> -shift;
	return sys + (uint64_t)(((unsigned __int128)d * mul) >> 32);
}

/* ns-per-tick as Xen's (mul, shift): ns = ((d << shift) * mul) >> 32. */
static void
rate_to_scale(double rate, uint32_t *mul, int *shift)
{
	int s = 0;
	double m;

	while (rate >= 1.0 && s < 31) {
		rate /= 2;
		s++;
	}
	m = rate * 4294967296.0;
	*mul = m >= 4294967295.0 ? UINT32_MAX : (uint32_t)m;
	*shift = s;
}

static double
rng_unit(struct clock_writer *w)
{
	/* xorshift64*: test perturbation only, not security. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (double)((w->rng * 2685821657736338717ull) >> 11) /
		   9007199254740992.0 * 2.0 - 1.0;
}

static void
publish(struct clock_writer *w, uint64_t t_s, uint64_t m_s, double rate_pub,
	bool first)
{
	struct clock_page *p = w->page;
	uint32_t mul = 0;
	int shift = 0;
	uint64_t t_a = 0, s_a;

	if (w->tsc)
		rate_to_scale(rate_pub, &mul, &shift);

	atomic_store_explicit(&p->ti.version, ++w->version,
			      memory_order_relaxed);
	/*
	 * The odd version /before/ every field store below (release half),
	 * and /before/ our TSC read (mfence + lfence): once it is globally
	 * visible, any reader that still completes with the old parameters
	 * read its TSC before t_a, so its result is <= f_old(t_a) <= s_a.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (w->tsc) {
		uint64_t old;

		t_a = tsc_ordered();
		s_a = m_s + (uint64_t)((double)(t_a - t_s) * w->rate);
		old = first ? 0 : scaled(w->p_sys, w->p_tsc, w->p_mul,
					 w->p_shift, t_a);
		if (old > s_a && !w->no_clamp)
			s_a = old;	/* the monotonicity clamp */
	} else {
		s_a = m_s;
	}
	atomic_store_explicit(&p->ti.tsc_timestamp, t_a, memory_order_relaxed);
	atomic_store_explicit(&p->ti.system_time, s_a, memory_order_relaxed);
	atomic_store_explicit(&p->ti.tsc_to_system_mul, mul,
			      memory_order_relaxed);
	atomic_store_explicit(&p->ti.tsc_shift, (int8_t)shift,
			      memory_order_relaxed);
	atomic_store_explicit(&p->ti.flags,
			      w->tsc ? CLOCK_FLAG_TSC_STABLE : 0,
			      memory_order_relaxed);
	atomic_store_explicit(&p->wc_sec, w->wc_ns / 1000000000u,
			      memory_order_relaxed);
	atomic_store_explicit(&p->wc_nsec,
			      (uint32_t)(w->wc_ns % 1000000000u),
			      memory_order_relaxed);
	atomic_store_explicit(&p->updates, ++w->updates, memory_order_relaxed);
	if (first) {
		atomic_store_explicit(&p->abi, CLOCK_PAGE_ABI,
				      memory_order_relaxed);
		atomic_store_explicit(&p->magic, CLOCK_PAGE_MAGIC,
				      memory_order_relaxed);
	}
	/* Every field store above /before/ the even version. */
	atomic_store_explicit(&p->ti.version, ++w->version,
			      memory_order_release);
	w->p_tsc = t_a;
	w->p_sys = s_a;
	w->p_mul = mul;
	w->p_shift = shift;
}

/* wall - MCLOCK, from a realtime sample bracketed by two monotonic ones. */
static int
sample_wc(struct clock_writer *w)
{
	int64_t rt;
	uint64_t m1, m2, m;
	int rc;

	m1 = mono_now();
	rc = w->realtime(w->realtime_arg, &rt);
	m2 = mono_now();
	if (rc < 0)
		return rc;
	m = m1 + (m2 - m1) / 2;
	w->wc_ns = rt > 0 && (uint64_t)rt > m ? (uint64_t)rt - m : 0;
	return 0;
}

static void
do_update(struct clock_writer *w, bool first)
{
	uint64_t t_s = 0, m_s;
	double rate_pub = 0;

	if (!w->tsc) {
		publish(w, 0, mono_now(), 0, first);
		return;
	}
	sample_pair(&t_s, &m_s);
	if (m_s - w->base_mono >= CLOCK_MIN_RATE_INTERVAL_NS &&
	    t_s > w->base_tsc) {
		w->rate = (double)(m_s - w->base_mono) /
			  (double)(t_s - w->base_tsc);
		w->base_tsc = t_s;
		w->base_mono = m_s;
	}
	rate_pub = w->rate;
	if (!first) {
		/*
		 * Where the page stands against CLOCK_MONOTONIC.  Ahead (we
		 * clamped, or the last rate was fast): run slow for one
		 * period to converge, never slower than half speed, and
		 * never backwards.  Behind: the new anchor jumps forward.
		 */
		uint64_t page = scaled(w->p_sys, w->p_tsc, w->p_mul,
				       w->p_shift, t_s);

		if (page > m_s) {
			double f = 1.0 - (double)(page - m_s) /
					     (double)w->period;

			rate_pub *= f < 0.5 ? 0.5 : f;
		}
	}
	if (w->perturb_ppm)
		rate_pub *= 1.0 + rng_unit(w) * w->perturb_ppm * 1e-6;
	publish(w, t_s, m_s, rate_pub, first);
}

int
clock_writer_update(struct clock_writer *w)
{
	int rc = sample_wc(w);

	do_update(w, false);
	return rc;
}

int
clock_writer_open(const struct clock_writer_opts *opts,
		  struct clock_writer **out)
{
	struct clock_writer *w;
	int rc;

	if (opts && opts->sz < offsetof(struct clock_writer_opts, sz) +
				   sizeof(opts->sz))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->period = CLOCK_DEFAULT_PERIOD_NS;
	w->realtime = realtime_default;
#define OPT(f) (opts && opts->sz >= offsetof(struct clock_writer_opts, f) + \
				    sizeof(opts->f))
	if (OPT(reanchor_ns) && opts->reanchor_ns)
		w->period = opts->reanchor_ns;
	if (OPT(realtime) && opts->realtime) {
		w->realtime = opts->realtime;
		w->realtime_arg = OPT(realtime_arg) ? opts->realtime_arg : NULL;
	}
	w->tsc = !(OPT(no_tsc) && opts->no_tsc) && tsc_trusted();
	w->perturb_ppm = OPT(perturb_ppm) ? opts->perturb_ppm : 0;
	w->no_clamp = OPT(unsafe_no_clamp) && opts->unsafe_no_clamp;
#undef OPT
	w->rng = 0x9e3779b97f4a7c15ull ^ mono_now();

	w->fd = memfd_create("morgana-clock", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (w->fd < 0 || ftruncate(w->fd, CLOCK_PAGE_SIZE) < 0) {
		rc = -errno;
		goto fail;
	}
	w->page = mmap(NULL, CLOCK_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, w->fd, 0);
	if (w->page == MAP_FAILED) {
		w->page = NULL;
		rc = -errno;
		goto fail;
	}
	/* Our writable mapping stays; nobody can make another one. */
	if (fcntl(w->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
				      F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = sample_wc(w)) < 0)
		goto fail;
	if (w->tsc) {
		struct timespec ten_ms = { 0, 10000000 };
		uint64_t t1, m1;

		sample_pair(&w->base_tsc, &w->base_mono);
		nanosleep(&ten_ms, NULL);
		sample_pair(&t1, &m1);
		if (t1 <= w->base_tsc) {
			ring_log(RING_LOG_WARN, "msg=\"TSC did not advance; "
				 "using clock_gettime\"");
			w->tsc = false;
		} else {
			w->rate = (double)(m1 - w->base_mono) /
				  (double)(t1 - w->base_tsc);
		}
	}
	do_update(w, true);
	*out = w;
	return 0;
fail:
	clock_writer_close(w);
	return rc;
}

void
clock_writer_close(struct clock_writer *w)
{
	if (!w)
		return;
	if (w->page)
		munmap(w->page, CLOCK_PAGE_SIZE);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int
clock_writer_fd(const struct clock_writer *w)
{
	return w->fd;
}

const void *
clock_writer_page(const struct clock_writer *w)
{
	return w->page;
}

uint64_t
clock_writer_period_ns(const struct clock_writer *w)
{
	return w->period;
}

bool
clock_writer_uses_tsc(const struct clock_writer *w)
{
	return w->tsc;
}

/* ==== the timer set ==================================================== */

#define CLOCK_DEFAULT_MAX_TIMERS 65536u
#define NIL UINT32_MAX

enum { ENT_FREE, ENT_ARMED, ENT_FIRED };

struct clock_tent {
	uint64_t id;
	uint64_t deadline;
	uint64_t fired_ns;
	uint32_t pos;	/* ARMED: heap index; FREE: next free */
	uint32_t next;	/* FIRED: queue links */
	uint32_t prev;
	uint8_t state;
};

struct clock_timers {
	struct clock_tent *ents;
	uint32_t cap, max, used;
	uint32_t free_head;
	uint32_t *heap;		/* entry indices, min-heap on (deadline, id) */
	uint32_t nheap;
	uint32_t *hash;		/* entry indices by id, linear probing */
	uint32_t hmask;
	uint32_t fhead, ftail, nfired;
	uint64_t seed;		/* ids are peer-chosen: keyed hashing */
};

static uint32_t
hslot(const struct clock_timers *t, uint64_t id)
{
	uint64_t x = id ^ t->seed;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uint32_t)x & t->hmask;
}

static uint32_t
hfind(const struct clock_timers *t, uint64_t id)
{
	for (uint32_t i = hslot(t, id);; i = (i + 1) & t->hmask) {
		uint32_t e = t->hash[i];

		if (e == NIL || t->ents[e].id == id)
			return e;
	}
}

static void
hinsert(struct clock_timers *t, uint32_t e)
{
	uint32_t i = hslot(t, t->ents[e].id);

	while (t->hash[i] != NIL)
		i = (i + 1) & t->hmask;
	t->hash[i] = e;
}

static void
hremove(struct clock_timers *t, uint32_t e)
{
	uint32_t i = hslot(t, t->ents[e].id), j;

	while (t->hash[i] != e)
		i = (i + 1) & t->hmask;
	t->hash[i] = NIL;
	/* Backward-shift deletion keeps probe chains intact, no tombstones. */
	for (j = (i + 1) & t->hmask; t->hash[j] != NIL;
	     j = (j + 1) & t->hmask) {
		uint32_t k = hslot(t, t->ents[t->hash[j]].id);

		if ((uint32_t)((j - k) & t->hmask) >=
		    (uint32_t)((j - i) & t->hmask)) {
			t->hash[i] = t->hash[j];
			t->hash[j] = NIL;
			i = j;
		}
	}
}

static bool
before(const struct clock_timers *t, uint32_t a, uint32_t b)
{
	const struct clock_tent *x = &t->ents[a], *y = &t->ents[b];

	return x->deadline < y->deadline ||
	       (x->deadline == y->deadline && x->id < y->id);
}

static void
hset(struct clock_timers *t, uint32_t i, uint32_t e)
{
	t->heap[i] = e;
	t->ents[e].pos = i;
}

static void
sift_up(struct clock_timers *t, uint32_t i)
{
	uint32_t e = t->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!before(t, e, t->heap[parent]))
			break;
		hset(t, i, t->heap[parent]);
		i = parent;
	}
	hset(t, i, e);
}

static void
sift_down(struct clock_timers *t, uint32_t i)
{
	uint32_t e = t->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= t->nheap)
			break;
		if (c + 1 < t->nheap && before(t, t->heap[c + 1], t->heap[c]))
			c++;
		if (!before(t, t->heap[c], e))
			break;
		hset(t, i, t->heap[c]);
		i = c;
	}
	hset(t, i, e);
}

static void
heap_remove(struct clock_timers *t, uint32_t i)
{
	uint32_t last = t->heap[--t->nheap];

	if (i == t->nheap)
		return;
	hset(t, i, last);
	sift_down(t, i);
	sift_up(t, t->ents[last].pos);
}

static void
ent_free(struct clock_timers *t, uint32_t e)
{
	hremove(t, e);
	t->ents[e].state = ENT_FREE;
	t->ents[e].pos = t->free_head;
	t->free_head = e;
	t->used--;
}

static void
fired_unlink(struct clock_timers *t, uint32_t e)
{
	struct clock_tent *x = &t->ents[e];

	if (x->prev != NIL)
		t->ents[x->prev].next = x->next;
	else
		t->fhead = x->next;
	if (x->next != NIL)
		t->ents[x->next].prev = x->prev;
	else
		t->ftail = x->prev;
	t->nfired--;
}

static int
grow(struct clock_timers *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 64, hsz;
	struct clock_tent *ents;
	uint32_t *heap, *hash;

	if (ncap > t->max)
		ncap = t->max;
	if (ncap <= t->cap)
		return -ENOSPC;
	for (hsz = 1; hsz < 2 * ncap; hsz <<= 1)
		;
	ents = realloc(t->ents, (size_t)ncap * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	t->ents = ents;
	heap = realloc(t->heap, (size_t)ncap * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	t->heap = heap;
	hash = malloc((size_t)hsz * sizeof(*hash));
	if (!hash)
		return -ENOMEM;
	memset(hash, 0xff, (size_t)hsz * sizeof(*hash));
	free(t->hash);
	t->hash = hash;
	t->hmask = hsz - 1;
	for (uint32_t e = 0; e < t->cap; e++)
		if (t->ents[e].state != ENT_FREE)
			hinsert(t, e);
	/* New entries join the free list in index order. */
	for (uint32_t e = ncap; e-- > t->cap;) {
		t->ents[e].state = ENT_FREE;
		t->ents[e].pos = t->free_head;
		t->free_head = e;
	}
	t->cap = ncap;
	return 0;
}

int
clock_timers_open(const struct clock_timers_opts *opts,
		  struct clock_timers **out)
{
	struct clock_timers *t;

	if (opts && opts->sz < offsetof(struct clock_timers_opts, max_timers) +
				   sizeof(opts->max_timers))
		return -EINVAL;
	if (opts && opts->max_timers > (1u << 30))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->max = opts && opts->max_timers ? opts->max_timers
					  : CLOCK_DEFAULT_MAX_TIMERS;
	t->free_head = t->fhead = t->ftail = NIL;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed))
		t->seed = mono_now() * 0x9e3779b97f4a7c15ull;
	if (grow(t) < 0) {
		clock_timers_close(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void
clock_timers_close(struct clock_timers *t)
{
	if (!t)
		return;
	free(t->ents);
	free(t->heap);
	free(t->hash);
	free(t);
}

static uint32_t
arm(struct clock_timers *t, uint64_t id, uint64_t deadline, int *err)
{
	uint32_t e;

	*err = 0;
	if (hfind(t, id) != NIL)
		return CLOCK_ST_ERR_EXIST;
	if (t->used == t->max)
		return CLOCK_ST_ERR_LIMIT;
	if (t->free_head == NIL && (*err = grow(t)) < 0)
		return CLOCK_ST_ERR_LIMIT;
	e = t->free_head;
	t->free_head = t->ents[e].pos;
	t->ents[e] = (struct clock_tent){ .id = id, .deadline = deadline,
					  .state = ENT_ARMED,
					  .next = NIL, .prev = NIL };
	t->used++;
	hinsert(t, e);
	hset(t, t->nheap++, e);
	sift_up(t, t->nheap - 1);
	return CLOCK_ST_ARMED;
}

static uint32_t
cancel(struct clock_timers *t, uint64_t id)
{
	uint32_t e = hfind(t, id);

	if (e == NIL)
		return CLOCK_ST_NOT_FOUND;
	if (t->ents[e].state == ENT_ARMED)
		heap_remove(t, t->ents[e].pos);
	else
		fired_unlink(t, e);	/* expired, not yet delivered */
	ent_free(t, e);
	return CLOCK_ST_CANCELLED;
}

int
clock_timers_request(struct clock_timers *t,
		     const struct clock_timer_req *req,
		     struct clock_timer_rsp *rsp)
{
	static const uint8_t zero[sizeof(req->pad)];
	int err = 0;

	memset(rsp, 0, sizeof(*rsp));
	rsp->id = req->id;
	if (memcmp(req->pad, zero, sizeof(zero)) != 0)
		rsp->status = CLOCK_ST_ERR_INVAL;
	else if (req->op == CLOCK_OP_ARM)
		rsp->status = arm(t, req->id, req->deadline_ns, &err);
	else if (req->op == CLOCK_OP_CANCEL && req->deadline_ns == 0)
		rsp->status = cancel(t, req->id);
	else
		rsp->status = CLOCK_ST_ERR_INVAL;
	return err == -ENOMEM ? -ENOMEM : 0;
}

uint64_t
clock_timers_next(const struct clock_timers *t)
{
	return t->nheap ? t->ents[t->heap[0]].deadline : UINT64_MAX;
}

uint32_t
clock_timers_expire(struct clock_timers *t, uint64_t now)
{
	uint32_t n = 0;

	while (t->nheap && t->ents[t->heap[0]].deadline <= now) {
		uint32_t e = t->heap[0];
		struct clock_tent *x = &t->ents[e];

		heap_remove(t, 0);
		x->state = ENT_FIRED;
		x->fired_ns = now;
		x->next = NIL;
		x->prev = t->ftail;
		if (t->ftail != NIL)
			t->ents[t->ftail].next = e;
		else
			t->fhead = e;
		t->ftail = e;
		t->nfired++;
		n++;
	}
	return n;
}

int
clock_timers_peek_fired(const struct clock_timers *t,
			struct clock_fire_rsp *ev)
{
	const struct clock_tent *x;

	if (t->fhead == NIL)
		return 0;
	x = &t->ents[t->fhead];
	*ev = (struct clock_fire_rsp){ .id = x->id, .fired_ns = x->fired_ns,
				       .status = CLOCK_ST_FIRED };
	return 1;
}

void
clock_timers_drop_fired(struct clock_timers *t)
{
	uint32_t e = t->fhead;

	if (e == NIL)
		return;
	fired_unlink(t, e);
	ent_free(t, e);
}

uint32_t
clock_timers_armed(const struct clock_timers *t)
{
	return t->nheap;
}

uint32_t
clock_timers_fired_queued(const struct clock_timers *t)
{
	return t->nfired;
}
