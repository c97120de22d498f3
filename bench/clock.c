/*
 * bench/clock.c - cost of reading MCLOCK from clockd's time page next to
 * the baseline, clock_gettime(CLOCK_MONOTONIC) through the vDSO, in the
 * same run.  Prints the median over RUNS runs of N reads each.
 *
 * Then TIME through the real transport: build/tests/lib/clock_client runs
 * a store, build/bin/clockd and a client process that arms 2000 timers
 * over the rings; it reports the lateness of the FIRED events as read on
 * the page (p50, p99) and clockd's VmRSS while it serves.
 */
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "morgana/clock.h"
#include "services/clockd/clockd.h"

#define RUNS 15
#define N 1000000

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* TIME sleeps through clockd and the rings, run by the test harness. */
static int
bench_rings(void)
{
	char self[PATH_MAX], cmd[3 * PATH_MAX], line[256], *build;
	double p50 = -1, p99 = -1;
	long rss = -1;
	ssize_t n;
	FILE *f;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = '\0';
	build = dirname(dirname(self));		/* <build>/bench/clock */
	snprintf(cmd, sizeof(cmd),
		 "%s/tests/lib/clock_client --clockd %s/bin/clockd --test timers "
		 "--timers 2000 --cancel 0 --latency 2>/dev/null", build, build);
	if ((f = popen(cmd, "r")) == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "LATENCY p50_us %lf p99_us %lf", &p50, &p99) == 2)
			continue;
		if (sscanf(line, "CLOCKD VmRSS: %ld kB", &rss) == 1)
			continue;
	}
	if (pclose(f) != 0 || p50 < 0 || rss < 0) {
		fprintf(stderr, "bench: clock_client failed (build tests first)\n");
		return 1;
	}
	printf("BENCH timer_latency_p50_us %.1f us\n", p50);
	printf("BENCH timer_latency_p99_us %.1f us\n", p99);
	printf("BENCH rss_kib_clockd %ld KiB\n", rss);
	return 0;
}

int
main(void)
{
	struct clock_writer *w;
	const void *page;
	double rd[RUNS], gt[RUNS];
	volatile uint64_t sink = 0;
	int rc;

	if ((rc = clock_writer_open(NULL, &w)) < 0) {
		fprintf(stderr, "clock_writer_open: %d\n", rc);
		return 1;
	}
	if ((rc = clock_page_map(clock_writer_fd(w), &page)) < 0) {
		fprintf(stderr, "clock_page_map: %d\n", rc);
		return 1;
	}
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0, v = 0;
		struct timespec ts;

		t0 = now_ns();
		for (int i = 0; i < N; i++) {
			clock_page_mono_ns(page, &v);
			sink += v;
		}
		rd[r] = (double)(now_ns() - t0) / N;
		t0 = now_ns();
		for (int i = 0; i < N; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
		gt[r] = (double)(now_ns() - t0) / N;
	}
	qsort(rd, RUNS, sizeof(rd[0]), cmp);
	qsort(gt, RUNS, sizeof(gt[0]), cmp);
	printf("BENCH clock_gettime_ns %.2f ns\n", gt[RUNS / 2]);
	printf("BENCH clock_read_ns %.2f ns\n", rd[RUNS / 2]);
	printf("BENCH clock_read_vs_gettime %.2f x\n", rd[RUNS / 2] / gt[RUNS / 2]);
	printf("# page mode: %s (checksum %llu)\n", clock_writer_uses_tsc(w) ? "tsc" : "clock_gettime",
	       (unsigned long long)(sink & 1));
	clock_page_unmap(page);
	clock_writer_close(w);
	return bench_rings();
}
