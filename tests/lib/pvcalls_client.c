/*
 * pvcalls_client: the host side of the tcpipd echo tests.
 *
 *   pvcalls_client --port P [--conns K] [--bytes N]
 *       K concurrent connections to 127.0.0.1:P, each sends N bytes of
 *       its own pattern, half-closes, and must read exactly those N
 *       bytes back, then EOF.  One poll loop, non-blocking sockets, so a
 *       client never deadlocks against the echo's back-pressure.
 *       Prints "client: K conns, N bytes each, ok" and exits 0, else 1.
 *   pvcalls_client --port P --refused [--wait-ms T]
 *       Exits 0 once a connect is refused (nobody listens), retrying for
 *       up to T ms (default 5000); 1 if someone still accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

struct cl {
	int fd;
	size_t sent, got;
	bool shut, eof;
};

static uint8_t
pat(unsigned conn, size_t i)
{
	return (uint8_t)((i * 131u + (i >> 11) + conn * 29u) ^ (conn << 3));
}

static int
dial(uint16_t port, bool nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "refused", no_argument, NULL, 'r' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port = 0, k = 1, wait_ms = 5000;
	size_t bytes = 1 << 20;
	bool refused = false;
	static struct cl c[MAXC];
	static uint8_t buf[65536];
	int o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'c': k = (unsigned)atoi(optarg); break;
		case 'b': bytes = (size_t)strtoull(optarg, NULL, 10); break;
		case 'r': refused = true; break;
		case 'w': wait_ms = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (port == 0 || port > 65535 || k == 0 || k > MAXC)
		return 2;
	if (refused) {
		double end = now_ms() + wait_ms;

		do {
			int fd = dial((uint16_t)port, false);

			if (fd == -ECONNREFUSED) {
				printf("client: refused\n");
				return 0;
			}
			if (fd >= 0)
				close(fd);
			usleep(20000);
		} while (now_ms() < end);
		printf("client: port %u still accepts\n", port);
		return 1;
	}
	for (unsigned i = 0; i < k; i++) {
		c[i].fd = dial((uint16_t)port, true);
		if (c[i].fd < 0) {
			printf("client: connect: %s\n", strerror(-c[i].fd));
			return 1;
		}
	}
	double deadline = now_ms() + 50000;
	for (;;) {
		struct pollfd p[MAXC];
		unsigned live = 0;

		for (unsigned i = 0; i < k; i++) {
			short ev = 0;

			if (!c[i].eof)
				ev |= POLLIN;
			if (c[i].sent < bytes)
				ev |= POLLOUT;
			live += ev != 0;
			p[i] = (struct pollfd){ .fd = ev ? c[i].fd : -1,
						.events = ev };
		}
		if (live == 0)
			break;
		if (now_ms() > deadline) {
			printf("client: timeout\n");
			return 1;
		}
		if (poll(p, k, 1000) < 0)
			return 1;
		for (unsigned i = 0; i < k; i++) {
			ssize_t n;

			if ((p[i].revents & POLLOUT) && c[i].sent < bytes) {
				size_t m = bytes - c[i].sent;

				if (m > sizeof(buf))
					m = sizeof(buf);
				for (size_t j = 0; j < m; j++)
					buf[j] = pat(i, c[i].sent + j);
				n = send(c[i].fd, buf, m, MSG_NOSIGNAL);
				if (n > 0)
					c[i].sent += (size_t)n;
				else if (n < 0 && errno != EAGAIN) {
					printf("client: send: %s\n", strerror(errno));
					return 1;
				}
			}
			if (c[i].sent == bytes && !c[i].shut) {
				shutdown(c[i].fd, SHUT_WR);
				c[i].shut = true;
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				n = recv(c[i].fd, buf, sizeof(buf), 0);
				if (n == 0) {
					c[i].eof = true;
				} else if (n < 0 && errno != EAGAIN) {
					printf("client: recv: %s\n", strerror(errno));
					return 1;
				}
				for (ssize_t j = 0; j < n; j++)
					if (buf[j] != pat(i, c[i].got + (size_t)j)) {
						printf("client: conn %u byte %zu differs\n",
						       i, c[i].got + (size_t)j);
						return 1;
					}
				if (n > 0)
					c[i].got += (size_t)n;
				if (c[i].got > bytes) {
					printf("client: conn %u got too much\n", i);
					return 1;
				}
			}
		}
	}
	for (unsigned i = 0; i < k; i++) {
		if (c[i].got != bytes) {
			printf("client: conn %u got %zu of %zu\n", i, c[i].got,
			       bytes);
			return 1;
		}
		close(c[i].fd);
	}
	printf("client: %u conns, %zu bytes each, ok\n", k, bytes);
	return 0;
}
