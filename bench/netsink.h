/*
 * bench/netsink.h - what the netd rx benchmarks (bench/net.c,
 * bench/net_xdp.c) share: a packet-socket injector of 64-byte frames, and
 * a run of tests/lib/net_responder's counting frontend (`--scenario
 * sink`) behind netd while the injector sends.  Static functions: each
 * benchmark is its own program.
 */
#ifndef BENCH_NETSINK_H
#define BENCH_NETSINK_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send 64-byte frames of EtherType 0x88b5 with the given destination and
 * source MACs (mac: 12 bytes) out of ifname for secs with a packet
 * socket; return frames/s sent (-errno if the socket cannot be had), the
 * count in *sent. */
static double
inject(const char *ifname, const unsigned char mac[12], double secs,
       long *sent)
{
	enum { BATCH = 64 };
	unsigned char fr[64] = { [12] = 0x88, [13] = 0xb5 };
	struct sockaddr_ll sa = { .sll_family = AF_PACKET };
	struct mmsghdr mm[BATCH];
	struct iovec iov = { fr, sizeof(fr) };
	double t0, t1;
	long n = 0;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	*sent = 0;
	if (s < 0)
		return -errno;
	memcpy(fr, mac, 12);
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	sa.sll_protocol = htons(0x88b5);
	if (sa.sll_ifindex == 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -errno;
	}
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < BATCH; i++) {
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	do {
		int r = sendmmsg(s, mm, BATCH, 0);

		if (r > 0)
			n += r;
		t1 = now_s();
	} while (t1 - t0 < secs);
	close(s);
	*sent = n;
	return (double)n / (t1 - t0);
}

/*
 * Start resp (net_responder) as `resp --scenario sink --ready-file F
 * args...` (args: NULL-terminated, the netd and backend options), wait
 * for it to be ready, inject on inj_if for 2 s, then read the sink's
 * rate.  Prints one comment line, "# label: sent, received".  Returns 0
 * with *inj and *rx set, or -errno (-EIO if nothing arrived).
 */
static int
sink_run(const char *resp, const char *const args[], const char *inj_if,
	 const unsigned char mac[12], const char *label, double *inj,
	 double *rx)
{
	char ready[] = "/tmp/netsink-ready.XXXXXX", line[256];
	const char *argv[24];
	long sent = 0, got = 0;
	int p[2], st, fd;
	unsigned na = 0;
	double t0;
	pid_t pid;
	FILE *f;

	*inj = *rx = -1;
	argv[na++] = resp;
	argv[na++] = "--scenario";
	argv[na++] = "sink";
	argv[na++] = "--ready-file";
	argv[na++] = ready;
	for (unsigned i = 0; args[i] != NULL && na < 23; i++)
		argv[na++] = args[i];
	argv[na] = NULL;
	if ((fd = mkstemp(ready)) < 0)
		return -errno;
	close(fd);
	unlink(ready);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], 1);
		dup2(null, 2);
		execv(resp, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -errno;
	}
	t0 = now_s();
	while (access(ready, F_OK) != 0) {
		if (now_s() - t0 > 10 || waitpid(pid, &st, WNOHANG) == pid) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(p[0]);
			return -EIO;
		}
		usleep(20000);
	}
	unlink(ready);
	*inj = inject(inj_if, mac, 2.0, &sent);
	usleep(300000);			/* let the queues drain */
	kill(pid, SIGTERM);
	if ((f = fdopen(p[0], "r")) == NULL) {
		close(p[0]);
		waitpid(pid, &st, 0);
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		double r;

		if (sscanf(line, "rate: sink %lf frames/s received (%ld", &r,
			   &got) >= 1)
			*rx = r;
	}
	printf("# %s: %ld frames sent, %ld received (%.1f%%)\n", label, sent,
	       got, sent > 0 ? 100.0 * (double)got / (double)sent : 0.0);
	fclose(f);
	waitpid(pid, &st, 0);
	return *rx > 0 && *inj > 0 ? 0 : -EIO;
}

#endif /* BENCH_NETSINK_H */
