/*
 * udp_client: a host UDP client for tests/integration/tcpipd_udp.sh.
 *
 *   udp_client --port P [--sizes N,N,...] [--count C] [--window W]
 *   udp_client --port P --bench SECS [--size N] [--window W]
 *   udp_client --selfecho --bench SECS [--size N] [--window W]
 *   udp_client --port P --send N
 *
 * Check mode: for each size, C rounds of W datagrams to 127.0.0.1:P, each
 * carrying its own pattern (a sequence number in its first bytes when it
 * has room for one); every one must come back byte-identical, in any
 * order, within 2 s (a round that loses some is resent, whole, up to 3
 * times: UDP may drop when buffers fill, but not always).
 * Exits 0, or 1 with one line saying what differed.
 *
 * Bench mode: keep W datagrams of N bytes in flight for SECS seconds and
 * print "udp_echo_per_s R" (a lost one is replaced after 200 ms and
 * counted in "lost L").  --selfecho runs the same against an echo server
 * on a plain host socket in a child process: the baseline.
 *
 * Send mode: one datagram of N bytes of 0x5a to 127.0.0.1:P, no answer
 * awaited.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 256
#define MAXD 65507

static uint8_t sbuf[MAXD], rbuf[MAXD + 1];

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Datagram `seq` of `size` bytes: seq (4 bytes, if it fits), then a
 * pattern that depends on seq and position. */
static void
fill(uint8_t *b, uint32_t seq, size_t size)
{
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
	if (size >= 4)
		memcpy(b, &seq, 4);
}

/* Which of want[0..n) this reply is; -1 if none. */
static int
match(const uint8_t *b, size_t len, size_t size, const uint32_t *want,
      const bool *got, int n)
{
	static uint8_t e[MAXD];

	if (len != size)
		return -1;
	for (int i = 0; i < n; i++) {
		if (got[i])
			continue;
		if (size >= 4 && memcmp(b, &want[i], 4) != 0)
			continue;
		fill(e, want[i], size);
		if (memcmp(b, e, size) == 0)
			return i;
	}
	return -1;
}

static int
open_sock(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One round: W datagrams out, all W back.  1 ok, 0 some lost, -1 error. */
static int
round_trip(int fd, size_t size, uint32_t seq0, int w)
{
	uint32_t want[MAXW];
	bool got[MAXW] = { 0 };
	int left = w;
	uint64_t end;

	for (int i = 0; i < w; i++) {
		want[i] = seq0 + (uint32_t)i;
		fill(sbuf, want[i], size);
		if (send(fd, sbuf, size, 0) != (ssize_t)size) {
			fprintf(stderr, "udp_client: send %zu: %s\n", size,
				strerror(errno));
			return -1;
		}
	}
	end = now_ns() + 2000000000ull;
	while (left > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t ms = ((int64_t)end - (int64_t)now_ns()) / 1000000;
		ssize_t n;
		int k;

		if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
			return 0;
		n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n < 0) {
			fprintf(stderr, "udp_client: recv: %s\n", strerror(errno));
			return -1;
		}
		k = match(rbuf, (size_t)n, size, want, got, w);
		if (k < 0) {
			/* A late copy from a resent round is fine; anything
			 * else is a corrupted echo. */
			if ((size_t)n == size)
				continue;
			fprintf(stderr, "udp_client: size %zu: got %zd bytes\n",
				size, n);
			return -1;
		}
		got[k] = true;
		left--;
	}
	return 1;
}

static int
check(uint16_t port, const char *sizes, int count, int w)
{
	int fd = open_sock(port);
	uint32_t seq = 1;
	char *list = strdup(sizes), *tok, *save = NULL;
	unsigned total = 0;

	if (fd < 0 || list == NULL)
		return 1;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t size = strtoul(tok, NULL, 10);

		if (size > MAXD)
			return 1;
		for (int c = 0; c < count; c++) {
			int r = round_trip(fd, size, seq, w);

			for (int t = 0; r == 0 && t < 3; t++) {
				fprintf(stderr, "udp_client: size %zu: lost, again\n",
					size);
				r = round_trip(fd, size, seq += (uint32_t)w, w);
			}
			if (r <= 0) {
				fprintf(stderr,
					"udp_client: size %zu round %d: %s\n",
					size, c, r == 0 ? "no echo" : "bad echo");
				return 1;
			}
			seq += (uint32_t)w;
			total += (unsigned)w;
		}
	}
	printf("udp_client: %u datagrams echoed (sizes %s, window %d)\n", total,
	       sizes, w);
	free(list);
	close(fd);
	return 0;
}

static int
bench(uint16_t port, double secs, size_t size, int w)
{
	int fd = open_sock(port);
	uint64_t t0, end, last;
	unsigned long got = 0, lost = 0;
	int inflight = 0;

	if (fd < 0)
		return 1;
	fill(sbuf, 7, size);
	t0 = last = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		while (inflight < w) {
			if (send(fd, sbuf, size, 0) != (ssize_t)size)
				return 1;
			inflight++;
		}
		if (poll(&p, 1, 200) <= 0) {
			lost += (unsigned long)inflight;
			inflight = 0;
			continue;
		}
		while (recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT) >= 0) {
			got++;
			inflight--;
		}
		last = now_ns();
	}
	printf("udp_echo_per_s %.0f\nlost %lu\n", got / ((last - t0) / 1e9),
	       lost);
	close(fd);
	return 0;
}

/* The baseline's echo server: a plain host socket, recvmmsg/sendmmsg. */
static pid_t
selfecho(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;
	pid_t pid;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	*port = ntohs(a.sin_port);
	if ((pid = fork()) != 0) {
		close(fd);
		return pid;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, rbuf, sizeof(rbuf), 0,
				     (struct sockaddr *)&from, &fl);

		if (n >= 0)
			sendto(fd, rbuf, (size_t)n, 0, (struct sockaddr *)&from,
			       fl);
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "sizes", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ "bench", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 'z' },
		{ "selfecho", no_argument, NULL, 'e' },
		{ "send", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sizes = "0,1,2,3,4,5,100,1472,1473,4096,8192,32768,65507";
	unsigned long port = 0;
	int c, count = 3, w = 1, rc;
	double secs = 0;
	size_t size = 64;
	bool self = false;
	long one = -1;
	pid_t pid = -1;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': port = strtoul(optarg, NULL, 10); break;
		case 's': sizes = optarg; break;
		case 'c': count = atoi(optarg); break;
		case 'w': w = atoi(optarg); break;
		case 'b': secs = atof(optarg); break;
		case 'z': size = strtoul(optarg, NULL, 10); break;
		case 'e': self = true; break;
		case 'S': one = atol(optarg); break;
		default: return 2;
		}
	}
	if (w < 1 || w > MAXW || count < 1 || size > MAXD)
		return 2;
	if (self) {
		uint16_t p;

		if ((pid = selfecho(&p)) < 0)
			return 1;
		port = p;
	}
	if (port == 0 || port > 65535)
		return 2;
	if (one >= 0) {
		int fd = open_sock((uint16_t)port);

		if (fd < 0 || one > MAXD)
			return 1;
		memset(sbuf, 0x5a, (size_t)one);
		return send(fd, sbuf, (size_t)one, 0) == one ? 0 : 1;
	}
	rc = secs > 0 ? bench((uint16_t)port, secs, size, w) :
			check((uint16_t)port, sizes, count, w);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return rc;
}
