/*
 * bench/kv: kvd through its ring against the direct baselines, same run.
 *
 * kvd figures come from kv_client (tests/lib) run under kv_harness with a
 * real kvd, each the median of 5 repetitions inside the client:
 *   kv_get_4k_ops        4 KiB gets through the ring, 16 in flight (dir)
 *   kv_get_4k_p50_us     one get at a time, median latency (dir)
 *   kv_pack_get_4k_ops   the same gets from a pack image
 *   kv_set_durable_ops   1 KiB sets on sqlite (WAL, synchronous=FULL),
 *                        16 in flight, acked after their group commit
 * Baselines, measured here (median of 5):
 *   pread_4k_ops         pread of the same files (open once, page cache)
 *   sqlite_direct_set_ops  a plain insert loop, one transaction per
 *                        insert, same pragmas
 * Ratios: kv_get_4k_vs_pread (target >= 0.5), kv_set_vs_sqlite (>= 0.8).
 * Output: BENCH <name> <value> <unit>.  Not a test; finishes in < 60 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define NKEYS 256
#define REPS 5

static char tmp[] = "/tmp/benchkv.XXXXXX";
static char self_dir[PATH_MAX];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return v[n / 2];
}

/* Run the harness; pick "BENCHRAW name value" lines out of its stdout. */
static int
run_kv(const char *backend, const char *frontend, const char *want[],
       double *got, int nwant)
{
	char cmd[4 * PATH_MAX], line[256];
	FILE *f;
	int found = 0;

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/run && %s/../tests/lib/kv_harness --rundir %s/run "
		 "--kvd %s/../bin/kvd --client %s/../tests/lib/kv_client "
		 "--backend '%s' --frontend '%s' 2>%s/harness.log",
		 tmp, self_dir, tmp, self_dir, self_dir, backend, frontend, tmp);
	if ((f = popen(cmd, "r")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[128];
		double v;

		if (sscanf(line, "BENCHRAW %127s %lf", name, &v) != 2)
			continue;
		for (int i = 0; i < nwant; i++)
			if (strcmp(name, want[i]) == 0) {
				got[i] = v;
				found++;
			}
	}
	if (pclose(f) != 0 || found != nwant) {
		fprintf(stderr, "bench/kv: kv run failed; see below\n");
		snprintf(cmd, sizeof(cmd), "tail -20 %s/harness.log >&2", tmp);
		if (system(cmd) != 0)
			return -EIO;
		return -EIO;
	}
	return 0;
}

static __attribute__((noinline)) double
pread_ops(const char *dir)
{
	static char buf[4096];
	double rates[REPS];
	int fds[NKEYS];
	char p[PATH_MAX + 64];
	unsigned ops = 200000;

	for (int i = 0; i < NKEYS; i++) {
		snprintf(p, sizeof(p), "%s/k%d", dir, i);
		if ((fds[i] = open(p, O_RDONLY)) < 0)
			return 0;
	}
	for (int r = 0; r < REPS; r++) {
		double t0 = now_s();

		for (unsigned i = 0; i < ops; i++)
			if (pread(fds[i % NKEYS], buf, sizeof(buf), 0) != 4096)
				return 0;
		rates[r] = ops / (now_s() - t0);
	}
	for (int i = 0; i < NKEYS; i++)
		close(fds[i]);
	return median(rates, REPS);
}

static double
sqlite_direct(const char *path, unsigned n)
{
	double rates[REPS];
	unsigned char v[1024];
	sqlite3 *db;
	sqlite3_stmt *st;
	char key[64];

	memset(v, 'v', sizeof(v));
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value "
			 "BLOB NOT NULL, mtime INTEGER NOT NULL) WITHOUT ROWID",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES (?1, ?2, ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	for (int r = 0; r < REPS; r++) {
		double t0 = now_s();

		for (unsigned i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "b%d/%u", r, i);
			/* One transaction per insert: each is durable when
			 * step returns, as each acked kvd set is. */
			sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(st, 2, v, sizeof(v), SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
			if (sqlite3_step(st) != SQLITE_DONE)
				return 0;
			sqlite3_reset(st);
		}
		rates[r] = n / (now_s() - t0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return median(rates, REPS);
}

int
main(void)
{
	char p[4 * PATH_MAX], exe[PATH_MAX], be[2 * PATH_MAX], fe[256];
	static char page[4096];
	const char *gw[] = { "kv_get_4k_ops", "kv_get_4k_p50_us" };
	const char *pw[] = { "kv_pack_get_4k_ops" };
	const char *sw[] = { "kv_set_durable_ops" };
	double g[2], pk[1], s[1], pr, sq;
	ssize_t n;
	int rc = 1;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		return 1;
	exe[n] = '\0';
	/* Same placement every run: kvd on CPU 1, its client and the pread
	 * baseline on CPU 0 (without pinning, runs were bimodal). */
	setenv("KV_HARNESS_PIN", "1", 1);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	snprintf(self_dir, sizeof(self_dir), "%s", exe);
	*strrchr(self_dir, '/') = '\0';
	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(p, sizeof(p), "%s/tree", tmp);
	mkdir(p, 0700);
	for (int i = 0; i < NKEYS; i++) {
		int fd;

		for (int k = 0; k < 4096; k++)
			page[k] = (char)(i * 31 + k);
		snprintf(p, sizeof(p), "%s/tree/k%d", tmp, i);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			goto out;
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/../bin/kvd pack %s/tree %s/tree.pack "
		 "2>/dev/null", self_dir, tmp, tmp);
	if (system(p) != 0)
		goto out;

	snprintf(be, sizeof(be), "kvdir serve --store dir --path %s/tree", tmp);
	snprintf(fe, sizeof(fe), "0 bench-get 0 k %d kv_get_4k", NKEYS);
	if (run_kv(be, fe, gw, g, 2) < 0)
		goto out;
	snprintf(p, sizeof(p), "%s/tree", tmp);
	pr = pread_ops(p);
	snprintf(be, sizeof(be), "kvpack serve --store pack --path %s/tree.pack",
		 tmp);
	snprintf(fe, sizeof(fe), "0 bench-get 0 k %d kv_pack_get_4k", NKEYS);
	if (run_kv(be, fe, pw, pk, 1) < 0)
		goto out;
	snprintf(be, sizeof(be), "kvdb serve --store sqlite --path %s/kv.db", tmp);
	if (run_kv(be, "0 bench-set 0 400", sw, s, 1) < 0)
		goto out;
	snprintf(p, sizeof(p), "%s/direct.db", tmp);
	sq = sqlite_direct(p, 400);

	printf("BENCH kv_get_4k_ops %.0f ops/s\n", g[0]);
	printf("BENCH pread_4k_ops %.0f ops/s\n", pr);
	printf("BENCH kv_get_4k_vs_pread %.3f ratio\n", pr > 0 ? g[0] / pr : 0);
	printf("BENCH kv_get_4k_p50_us %.2f us\n", g[1]);
	printf("BENCH kv_pack_get_4k_ops %.0f ops/s\n", pk[0]);
	printf("BENCH kv_pack_get_4k_vs_pread %.3f ratio\n",
	       pr > 0 ? pk[0] / pr : 0);
	printf("BENCH kv_set_durable_ops %.0f ops/s\n", s[0]);
	printf("BENCH sqlite_direct_set_ops %.0f ops/s\n", sq);
	printf("BENCH kv_set_vs_sqlite %.3f ratio\n", sq > 0 ? s[0] / sq : 0);
	rc = 0;
out:
	snprintf(p, sizeof(p), "rm -rf %s", tmp);
	if (system(p) != 0)
		rc = 1;
	return rc;
}
