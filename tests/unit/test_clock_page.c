/*
 * Unit tests for the time page: layout against Xen's struct
 * vcpu_time_info, the reader's formula and its handling of hostile pages,
 * the writer's accuracy, sealing and the clock_gettime fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>

#include "morgana/clock.h"
#include "services/clockd/clockd.h"

#define SAME(f)                                                              \
	_Static_assert(offsetof(struct clock_time_info, f) ==                \
			   offsetof(struct vcpu_time_info, f),               \
		       #f " offset differs from Xen");                       \
	_Static_assert(sizeof(((struct clock_time_info *)0)->f) ==           \
			   sizeof(((struct vcpu_time_info *)0)->f),          \
		       #f " size differs from Xen")
SAME(version);
SAME(pad0);
SAME(tsc_timestamp);
SAME(system_time);
SAME(tsc_to_system_mul);
SAME(tsc_shift);
SAME(flags);
SAME(pad1);
_Static_assert(sizeof(struct clock_time_info) == sizeof(struct vcpu_time_info),
	       "vcpu_time_info size differs");
_Static_assert(CLOCK_FLAG_TSC_STABLE == XEN_PVCLOCK_TSC_STABLE_BIT,
	       "TSC-stable flag differs from Xen's");

static _Alignas(4096) struct clock_page pg[CLOCK_PAGE_SIZE /
					   sizeof(struct clock_page)];

static uint64_t
mono(void)
{
	return clock__gettime_mono();
}

static void
test_layout_runtime(void **state)
{
	(void)state;
	/* The _Static_asserts above are the test; this keeps cmocka honest. */
	assert_int_equal(sizeof(struct vcpu_time_info), 32);
	assert_int_equal(offsetof(struct clock_page, wc_sec), 48);
}

#if defined(__x86_64__)
static void
set_page(uint64_t ts, uint64_t sys, uint32_t mul, int8_t shift)
{
	memset(pg, 0, sizeof(pg));
	pg->ti.tsc_timestamp = ts;
	pg->ti.system_time = sys;
	pg->ti.tsc_to_system_mul = mul;
	pg->ti.tsc_shift = shift;
	pg->ti.flags = CLOCK_FLAG_TSC_STABLE;
	pg->magic = CLOCK_PAGE_MAGIC;
	pg->abi = CLOCK_PAGE_ABI;
	pg->ti.version = 2;
}

/* Xen's formula: ((d << shift) * mul) >> 32, shift signed. */
static void
test_formula(void **state)
{
	uint64_t t0, t1, v;
	(void)state;

	/* mul 2^31 with shift 1: one ns per tick. */
	t0 = __rdtsc();
	set_page(t0 - 1000000, 5000, 1u << 31, 1);
	assert_int_equal(clock_page_mono_ns(pg, &v), 0);
	t1 = __rdtsc();
	assert_true(v >= 5000 + 1000000 && v <= 5000 + (t1 - t0) + 1000000);

	/* shift -1: a quarter ns per tick. */
	t0 = __rdtsc();
	set_page(t0 - 4000000, 0, 1u << 31, -1);
	assert_int_equal(clock_page_mono_ns(pg, &v), 0);
	t1 = __rdtsc();
	assert_true(v >= 1000000 - 1 && v <= 1000000 + (t1 - t0) / 4 + 1);

	/* A huge delta needs the 128-bit product: 2^40 ticks * (2^32-1). */
	t0 = __rdtsc();
	set_page(t0 - (1ull << 40), 0, UINT32_MAX, 0);
	assert_int_equal(clock_page_mono_ns(pg, &v), 0);
	assert_true(v >= (uint64_t)(((unsigned __int128)(1ull << 40) *
				     UINT32_MAX) >> 32));

	/* A timestamp in the future reads as the anchor, never wraps. */
	set_page(__rdtsc() + (1ull << 40), 777, 1u << 31, 0);
	assert_int_equal(clock_page_mono_ns(pg, &v), 0);
	assert_int_equal(v, 777);

	/* Wall = wc + mono. */
	set_page(__rdtsc(), 0, 0, 0);
	pg->wc_sec = 1700000000;
	pg->wc_nsec = 123;
	assert_int_equal(clock_page_wall_ns(pg, &v), 0);
	assert_true(v == 1700000000ull * 1000000000u + 123);
}
#endif

static void
test_hostile_pages(void **state)
{
	uint64_t v = 42, t0;
	(void)state;

	memset(pg, 0, sizeof(pg));
	assert_int_equal(clock_page_mono_ns(pg, &v), -EAGAIN);
	assert_int_equal(clock_page_wall_ns(pg, &v), -EAGAIN);
	assert_int_equal(v, 42);

	pg->magic = CLOCK_PAGE_MAGIC;
	pg->abi = 99;
	assert_int_equal(clock_page_mono_ns(pg, &v), -EAGAIN);

	/* A writer stuck at odd cannot hang a reader. */
	pg->abi = CLOCK_PAGE_ABI;
	pg->ti.version = 7;
	t0 = mono();
	assert_int_equal(clock_page_mono_ns(pg, &v), -EAGAIN);
	assert_int_equal(clock_page_wall_ns(pg, &v), -EAGAIN);
	assert_true(mono() - t0 < 50000000);

	/* Impossible shifts are refused, not shifted (UBSan watches). */
	pg->ti.version = 8;
	pg->ti.flags = CLOCK_FLAG_TSC_STABLE;
	pg->ti.tsc_shift = 64;
#if defined(__x86_64__)
	assert_int_equal(clock_page_mono_ns(pg, &v), -EAGAIN);
	pg->ti.tsc_shift = -64;
	assert_int_equal(clock_page_mono_ns(pg, &v), -EAGAIN);
#endif

	/* Random bytes: any result, no crash, no UB. */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		unsigned char *b = (unsigned char *)pg;

		for (size_t j = 0; j < sizeof(struct clock_page); j++)
			b[j] = (unsigned char)rand();
		pg->ti.version &= ~1u;
		if (i & 1) {
			pg->magic = CLOCK_PAGE_MAGIC;
			pg->abi = CLOCK_PAGE_ABI;
		}
		(void)clock_page_mono_ns(pg, &v);
		(void)clock_page_wall_ns(pg, &v);
	}
}

static struct clock_writer *
open_writer(bool no_tsc)
{
	struct clock_writer_opts o = { .sz = sizeof(o), .no_tsc = no_tsc };
	struct clock_writer *w = NULL;

	assert_int_equal(clock_writer_open(&o, &w), 0);
	return w;
}

/* The page agrees with CLOCK_MONOTONIC and CLOCK_REALTIME. */
static void
check_accuracy(struct clock_writer *w, uint64_t tol_ns)
{
	const void *page = NULL;
	uint64_t worst = 0;

	assert_int_equal(clock_page_map(clock_writer_fd(w), &page), 0);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 1000; i++) {
			uint64_t a = mono(), v = 0, b;

			assert_int_equal(clock_page_mono_ns(page, &v), 0);
			b = mono();
			if (v < a && a - v > worst)
				worst = a - v;
			if (v > b && v - b > worst)
				worst = v - b;
		}
		usleep(5000);
		if (round % 4 == 3)
			assert_int_equal(clock_writer_update(w), 0);
	}
	print_message("worst MCLOCK vs CLOCK_MONOTONIC: %llu ns (%s)\n",
		      (unsigned long long)worst,
		      clock_writer_uses_tsc(w) ? "tsc" : "gettime");
	assert_true(worst < tol_ns);

	for (int i = 0; i < 100; i++) {
		struct timespec ts;
		uint64_t v = 0, rt;

		assert_int_equal(clock_page_wall_ns(page, &v), 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		rt = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		int64_t d = (int64_t)(rt - v);

		if (i == 0)
			print_message("CLOCK_REALTIME - PCLOCK: %lld ns\n",
				      (long long)d);
		/* Read in that order: rt is later, by less than a tick. */
		assert_true(d > -(int64_t)tol_ns && d < (int64_t)tol_ns);
	}
	clock_page_unmap(page);
}

static void
test_writer_tsc(void **state)
{
	struct clock_writer *w = open_writer(false);
	(void)state;

	/* Generous: a descheduled bracket on a loaded 2-core box. */
	check_accuracy(w, 200000);
	clock_writer_close(w);
}

static void
test_writer_fallback(void **state)
{
	struct clock_writer *w = open_writer(true);
	struct clock_page *p;
	(void)state;

	assert_false(clock_writer_uses_tsc(w));
	p = (struct clock_page *)clock_writer_page(w);
	assert_int_equal(p->ti.flags & CLOCK_FLAG_TSC_STABLE, 0);
	check_accuracy(w, 200000);
	clock_writer_close(w);
}

/* Readers get a sealed fd: no writable mapping, no write, no resize. */
static void
test_sealed(void **state)
{
	struct clock_writer *w = open_writer(false);
	int fd = clock_writer_fd(w);
	char c = 0;
	(void)state;

	assert_ptr_equal(mmap(NULL, CLOCK_PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0), MAP_FAILED);
	assert_int_equal(errno, EPERM);
	assert_int_equal(pwrite(fd, &c, 1, 0), -1);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(((const struct clock_page *)clock_writer_page(w))->magic,
			 CLOCK_PAGE_MAGIC);
	clock_writer_close(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_runtime),
#if defined(__x86_64__)
		cmocka_unit_test(test_formula),
#endif
		cmocka_unit_test(test_hostile_pages),
		cmocka_unit_test(test_writer_tsc),
		cmocka_unit_test(test_writer_fallback),
		cmocka_unit_test(test_sealed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
