/*
 * morgana/clock.h - read MCLOCK and PCLOCK from clockd's time page.
 *
 * Header-only: an application maps the page once (clock_page_map) and then
 * reads the clock with no system call and no IPC on x86-64 with a stable
 * TSC (a few ns more than the vDSO's clock_gettime), and with one vDSO
 * clock_gettime(CLOCK_MONOTONIC) otherwise.  The page layout is in
 * morgana/proto/clock_proto.h.
 *
 * The page is peer data: every read is bounded (CLOCK_READ_TRIES seqlock
 * attempts) and tolerates any contents without undefined behaviour.
 * Reads never block and keep no state, so they are safe from any thread
 * and from signal handlers.
 */
#ifndef MORGANA_CLOCK_H
#define MORGANA_CLOCK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "morgana/proto/clock_proto.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* Seqlock attempts before a read gives up with -EAGAIN. */
#define CLOCK_READ_TRIES 1000u

static inline uint64_t
clock__gettime_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
clock__relax(void)
{
#if defined(__x86_64__)
	_mm_pause();
#endif
}

/*
 * One bounded seqlock read of the page: MCLOCK into *mono and, if wc is
 * not NULL, the wall-clock offset of the same update into *wc.
 */
static inline int
clock__read(const struct clock_page *p, uint64_t *mono, uint64_t *wc)
{
	for (unsigned i = 0; i < CLOCK_READ_TRIES; i++) {
		/* version /before/ the fields of the update it ends. */
		uint32_t v = atomic_load_explicit(&p->ti.version,
						  memory_order_acquire);
		uint64_t val, off = 0;

		if (v & 1) {
			clock__relax();
			continue;
		}
		if (atomic_load_explicit(&p->magic, memory_order_relaxed) !=
			CLOCK_PAGE_MAGIC ||
		    atomic_load_explicit(&p->abi, memory_order_relaxed) !=
			CLOCK_PAGE_ABI)
			return -EAGAIN;
		if (wc)
			off = atomic_load_explicit(&p->wc_sec,
						   memory_order_relaxed) *
				  1000000000u +
			      atomic_load_explicit(&p->wc_nsec,
						   memory_order_relaxed);
#if defined(__x86_64__)
		if (atomic_load_explicit(&p->ti.flags, memory_order_relaxed) &
		    CLOCK_FLAG_TSC_STABLE) {
			uint64_t ts = atomic_load_explicit(
			    &p->ti.tsc_timestamp, memory_order_relaxed);
			uint64_t sys = atomic_load_explicit(
			    &p->ti.system_time, memory_order_relaxed);
			uint32_t mul = atomic_load_explicit(
			    &p->ti.tsc_to_system_mul, memory_order_relaxed);
			int shift = atomic_load_explicit(&p->ti.tsc_shift,
							 memory_order_relaxed);
			uint64_t d;

			if (shift > 31 || shift < -63)
				return -EAGAIN;
			/*
			 * lfence: the TSC is read only after the version
			 * load completed (so a reader of new parameters
			 * reads a TSC >= the writer's anchor), and the
			 * version re-load happens only after the TSC read
			 * (so a reader of old parameters read a TSC below
			 * the anchor).  clockd's monotonicity clamp relies
			 * on both.
			 */
			_mm_lfence();
			d = __rdtsc();
			_mm_lfence();
			d = (int64_t)(d - ts) > 0 ? d - ts : 0;
			d = shift >= 0 ? d << shift : d >> -shift;
			val = sys + (uint64_t)(((unsigned __int128)d * mul) >>
					       32);
		} else
#endif
		{
			val = clock__gettime_mono();
		}
		/* the field loads above /before/ the version re-load. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->ti.version,
					 memory_order_relaxed) == v) {
			*mono = val;
			if (wc)
				*wc = off;
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * Read MCLOCK: nanoseconds on the CLOCK_MONOTONIC axis, never decreasing
 * across calls by any thread or process reading the same page.
 * page: a mapping of the time page (at least CLOCK_PAGE_SIZE bytes),
 * owned by the caller.  On success stores the time in *ns and returns 0.
 * Returns -EAGAIN if the page is not (yet) valid (bad magic or ABI,
 * impossible scale) or the writer stayed mid-update for CLOCK_READ_TRIES
 * attempts; *ns is then untouched.  Never blocks.
 */
static inline int
clock_page_mono_ns(const void *page, uint64_t *ns)
{
	return clock__read(page, ns, NULL);
}

/*
 * Read PCLOCK: POSIX wall-clock time in ns since 1970-01-01 UTC
 * (wc + MCLOCK from one consistent update).  It follows the host's
 * CLOCK_REALTIME, steps included, so unlike MCLOCK it may go backwards.
 * Arguments and returns as clock_page_mono_ns.
 */
static inline int
clock_page_wall_ns(const void *page, uint64_t *ns)
{
	uint64_t mono, wc;
	int rc = clock__read(page, &mono, &wc);

	if (rc == 0)
		*ns = wc + mono;
	return rc;
}

/*
 * Map a time page fd (as handed out by clockd) read-only.  The fd stays
 * the caller's; the mapping is the caller's until clock_page_unmap.
 * Returns 0 and stores the mapping in *page, or -errno (-EINVAL if the
 * file is smaller than a page) with *page set to NULL.  Does not block.
 */
static inline int
clock_page_map(int fd, const void **page)
{
	struct stat st;
	void *m;

	*page = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)CLOCK_PAGE_SIZE)
		return -EINVAL;
	m = mmap(NULL, CLOCK_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*page = m;
	return 0;
}

static inline void
clock_page_unmap(const void *page)
{
	if (page)
		munmap((void *)(uintptr_t)page, CLOCK_PAGE_SIZE);
}

#endif /* MORGANA_CLOCK_H */
