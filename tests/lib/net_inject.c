/*
 * net_inject: send 64-byte test frames (EtherType 0x88b5, to the first
 * test frontend's MAC 02:00:5e:10:00:01) out of an interface with a packet
 * socket, for netd's receive tests.
 *   net_inject IFNAME flood SECONDS   as fast as sendmmsg goes
 *   net_inject IFNAME paced COUNT GAP_US
 *                                     COUNT frames, one every GAP_US, with
 *                                     payload byte 0 = 0x5a (the sink
 *                                     frontend counts these apart)
 * Prints "sent N".  Exit 0, or 1 if the socket cannot be had.  Needs
 * CAP_NET_RAW (run it in the test's network namespace).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	enum { BATCH = 64 };
	unsigned char fr[64] = { 0x02, 0, 0x5e, 0x10, 0, 0x01, 0x02, 0, 0, 0,
				 0, 0x77, 0x88, 0xb5 };
	struct sockaddr_ll sa = { .sll_family = AF_PACKET };
	struct iovec iov = { fr, sizeof(fr) };
	struct mmsghdr mm[BATCH];
	long n = 0;
	int s;

	if (argc < 4 || (strcmp(argv[2], "flood") != 0 &&
			 (strcmp(argv[2], "paced") != 0 || argc < 5))) {
		fprintf(stderr, "usage: net_inject IFNAME flood SECONDS | IFNAME paced COUNT GAP_US\n");
		return 2;
	}
	if ((s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "net_inject: socket: %s\n", strerror(errno));
		return 1;
	}
	sa.sll_ifindex = (int)if_nametoindex(argv[1]);
	sa.sll_protocol = htons(0x88b5);
	if (sa.sll_ifindex == 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "net_inject: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (strcmp(argv[2], "flood") == 0) {
		double t0 = now_s(), secs = atof(argv[3]);

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < BATCH; i++) {
			mm[i].msg_hdr.msg_iov = &iov;
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		do {
			int r = sendmmsg(s, mm, BATCH, 0);

			if (r > 0)
				n += r;
		} while (now_s() - t0 < secs);
	} else {
		long count = atol(argv[3]);
		useconds_t gap = (useconds_t)atol(argv[4]);

		fr[14] = 0x5a;
		for (long i = 0; i < count; i++) {
			if (send(s, fr, sizeof(fr), 0) == (ssize_t)sizeof(fr))
				n++;
			usleep(gap);
		}
	}
	printf("sent %ld\n", n);
	close(s);
	return 0;
}
