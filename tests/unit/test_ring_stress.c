/*
 * Lost-wake-up stress: two processes on a 4-slot ring (so it is often
 * full and often empty), both sides sleeping through the adaptive wait
 * (ring_front_wait / ring_back_wait) with spin 0 (every wait arms the
 * event and sleeps) and with a small spin (races between the spin, the
 * final check and the peer's push).  Windows and push points vary.  A
 * lost wake-up hangs one side; alarm() turns that into a failure.
 * Every response carries its request's sequence number, so reordering,
 * loss or duplication fail as well.
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/ring.h"

struct msg {
	uint64_t seq;
	uint64_t val;
};
RING_DEFINE(st, struct msg, struct msg);

/* 64-byte header + 4 slots of 16 bytes. */
#define RING_BYTES (RING_HDR_SIZE + 4 * sizeof(union st_slot))

struct shared {
	long server_nvcsw;	/* the server's sleeps (voluntary switches) */
	char err[128];
};

static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static uint32_t
scaled(uint32_t n)
{
	const char *e = getenv("MORGANA_TEST_SCALE");

	return e && strcmp(e, "asan") == 0 ? n / 10 : n;
}

static void
on_alarm(int sig)
{
	static const char m[] = "FAIL: alarm: stress peers hung (lost wake-up)\n";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

static int
server(void *page, struct ring_evtchn *ev, unsigned spin, uint32_t total,
       struct shared *sh)
{
	struct ring_back b;
	struct rusage ru;
	uint32_t done = 0, r = 99;
	struct msg m;
	int rc;

	if (ring_back_attach(&b, page, RING_BYTES, sizeof(union st_slot)) != 0)
		return 1;
	while (done < total) {
		uint32_t k = 0;

		while ((rc = st_back_get(&b, &m)) == 1) {
			if (m.seq != done || m.val != m.seq * 7) {
				snprintf(sh->err, sizeof(sh->err),
					 "server: got seq %llu want %u",
					 (unsigned long long)m.seq, done);
				return 1;
			}
			m.val = m.seq * 13;
			if (st_back_put(&b, &m) != 0)
				return 1;
			done++;
			k++;
			/* Sometimes publish mid-batch. */
			if (rnd(&r) % 4 == 0 && ring_back_push(&b))
				ring_evtchn_notify(ev);
		}
		if (rc < 0)
			return 1;
		if (ring_back_push(&b))
			ring_evtchn_notify(ev);
		if (k == 0 && done < total &&
		    (rc = ring_back_wait(&b, ev, spin, -1)) < 0) {
			snprintf(sh->err, sizeof(sh->err), "server wait %d", rc);
			return 1;
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	sh->server_nvcsw = ru.ru_nvcsw;
	return 0;
}

static void
client(struct ring_front *f, struct ring_evtchn *ev, unsigned spin,
       uint32_t total)
{
	uint32_t sent = 0, got = 0, r = 7;
	struct msg m;
	int rc;

	while (got < total) {
		/* Window 1..4: from ping-pong to a full ring. */
		uint32_t w = 1 + rnd(&r) % 4, k = 0;

		while (sent < total && ring_front_outstanding(f) < w) {
			m = (struct msg){ .seq = sent, .val = (uint64_t)sent * 7 };
			assert_int_equal(st_front_put(f, &m), 0);
			sent++;
		}
		if (ring_front_push(f))
			assert_int_equal(ring_evtchn_notify(ev), 0);
		while ((rc = st_front_get(f, &m)) == 1) {
			assert_int_equal(m.seq, got);
			assert_int_equal(m.val, (uint64_t)got * 13);
			got++;
			k++;
		}
		assert_int_equal(rc, 0);
		if (k == 0 && got < total)
			assert_int_equal(ring_front_wait(f, ev, spin, -1), 0);
	}
}

static void
stress(unsigned spin, uint32_t total)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct ring_evtchn *mine, *theirs;
	struct ring_front f;
	struct shared *sh;
	struct rusage ru0, ru1;
	void *page;
	pid_t pid;
	int status;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED && sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	assert_int_equal(ring_front_init(&f, page, RING_BYTES,
					 sizeof(union st_slot)), 0);
	assert_int_equal(f.nr_ents, 4);
	assert_int_equal(ring_evtchn_pair(&mine, &theirs), 0);

	sigaction(SIGALRM, &sa, NULL);
	alarm(50);
	getrusage(RUSAGE_SELF, &ru0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ring_evtchn_close(mine);
		_exit(server(page, theirs, spin, total, sh));
	}
	ring_evtchn_close(theirs);
	client(&f, mine, spin, total);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	alarm(0);
	getrusage(RUSAGE_SELF, &ru1);
	if (sh->err[0])
		fprintf(stderr, "%s\n", sh->err);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("# spin=%u: %u round trips; client slept %ld times, server %ld\n",
	       spin, total, ru1.ru_nvcsw - ru0.ru_nvcsw, sh->server_nvcsw);
	/* With spin 0 the wake-up path must really have been taken. */
	if (spin == 0)
		assert_true(ru1.ru_nvcsw - ru0.ru_nvcsw + sh->server_nvcsw >
			    (long)(total / 1000));
	ring_evtchn_close(mine);
	munmap(sh, sizeof(*sh));
	munmap(page, 4096);
}

static void
test_stress_spin0(void **state)
{
	(void)state;
	stress(0, scaled(2000000));
}

static void
test_stress_spin_small(void **state)
{
	(void)state;
	stress(20, scaled(2000000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress_spin0),
		cmocka_unit_test(test_stress_spin_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
