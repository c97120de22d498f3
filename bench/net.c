/*
 * bench/net: netd throughput (not a test).  BENCH lines:
 *   tap_raw_pps        baseline: a bare loop write(2)ing 64-byte frames
 *                      into a tap (no netd)
 *   netd_tap_tx_pps    test frontend -> netd (tap backend) -> tap, 64 B
 *   appkit_tap_tx_pps  the same from an appkit application (ak_net_write,
 *                      tests/lib/net_akblast), with the ratios to
 *                      tap_raw_pps on a comment line
 *   tap_inject_raw_pps baseline of the receive side: a packet socket
 *                      (AF_PACKET, sendmmsg) sending 64-byte frames out
 *                      of a tap that nobody reads (the tun driver drops
 *                      them), for 2 s
 *   tap_inject_pps     the same packet socket meanwhile feeding netd: the
 *                      offered load of the next figure
 *   netd_tap_rx_pps    tap -> netd (tap backend) -> a counting test
 *                      frontend (net_responder --scenario sink), frames/s
 *                      received; a comment line gives sent/received
 *   vswitch_pps        frontend <-> vswitch <-> frontend, 60 B frames,
 *                      both directions summed
 *   vswitch_gbps_1500  the same with 1514-byte frames, in Gbit/s
 * The tap benches run in a private network namespace (unshare); without
 * the privilege for it they are skipped with a comment line.  Uses
 * $BUILD/bin/netd and $BUILD/tests/lib/net_responder next to this binary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/netsink.h"

static char netd[PATH_MAX + 32], resp[PATH_MAX + 32], akblast[PATH_MAX + 32];
/* Injected frames: to the sink frontend's MAC, from a host address. */
static const unsigned char tap_mac[12] = { 0x02, 0, 0x5e, 0x10, 0, 0x01,
					   0x02, 0, 0, 0, 0, 0x77 };

/* Run the harness; return the sum of its "rate:" lines (frames/s). */
static double
harness(const char *args)
{
	char cmd[3 * PATH_MAX + 128], line[256];
	double sum = 0, r;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --netd %s %s 2>/dev/null", resp, netd,
		 args);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	/* Lines look like "rate: front 0 431284 frames/s received". */
	while (fgets(line, sizeof(line), p) != NULL) {
		char *f = strstr(line, " frames/s");

		if (strncmp(line, "rate:", 5) != 0 || f == NULL)
			continue;
		*f = '\0';
		if ((f = strrchr(line, ' ')) != NULL && (r = strtod(f, NULL)) > 0)
			sum += r;
	}
	if (pclose(p) != 0)
		return -1;
	return sum;
}

static int
tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -errno;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return fd;
}

/*
 * netd on tap `name` with a counting frontend (the sink: the frontend's
 * MAC is 02:00:5e:10:00:01, the destination of the injected frames);
 * inject for 2 s, then read the sink's rate.  Returns 0 with *inj and *rx
 * set, or -errno.
 */
static int
tap_rx(const char *name, double *inj, double *rx)
{
	const char *const args[] = { "--netd", netd, "--tap", name, NULL };

	return sink_run(resp, args, name, tap_mac, "tap rx", inj, rx);
}

static void
tap_rx_benches(void)
{
	double raw, inj, rx;
	long n;
	int fd;

	/* The baseline: the same injector, a tap held open by nobody
	 * reading (the frames die in the tun driver). */
	if ((fd = tap_open("brx0")) < 0) {
		printf("# skip tap rx benches: no tun (%s)\n", strerror(-fd));
		return;
	}
	raw = inject("brx0", tap_mac, 2.0, &n);
	close(fd);
	if (raw < 0) {
		printf("# skip tap rx benches: no packet socket (%s)\n",
		       strerror((int)-raw));
		return;
	}
	printf("BENCH tap_inject_raw_pps %.0f frames/s\n", raw);
	fflush(stdout);
	if (tap_rx("brx1", &inj, &rx) < 0) {
		printf("# netd_tap_rx_pps: harness failed\n");
		return;
	}
	printf("BENCH tap_inject_pps %.0f frames/s\n", inj);
	printf("BENCH netd_tap_rx_pps %.0f frames/s\n", rx);
	printf("# ratio: netd_tap_rx / tap_inject %.2f, / tap_inject_raw %.2f\n",
	       rx / inj, rx / raw);
	fflush(stdout);
}

static void
tap_benches(void)
{
	unsigned char fr[64] = { 0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 1,
				 0x88, 0xb5 };
	double t0, t1, r, raw, ak;
	long n = 0;
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		printf("# skip tap benches: no network namespace (%s)\n",
		       strerror(errno));
		return;
	}
	if ((fd = tap_open("braw0")) < 0) {
		printf("# skip tap benches: no tun (%s)\n", strerror(-fd));
		return;
	}
	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++)
			if (write(fd, fr, sizeof(fr)) == (ssize_t)sizeof(fr))
				n++;
		t1 = now_s();
	} while (t1 - t0 < 2.0);
	close(fd);
	raw = (double)n / (t1 - t0);
	printf("BENCH tap_raw_pps %.0f frames/s\n", raw);
	fflush(stdout);
	r = harness("--scenario blast --tap btap0 --frames 1000000 --size 64");
	if (r > 0)
		printf("BENCH netd_tap_tx_pps %.0f frames/s\n", r);
	else
		printf("# netd_tap_tx_pps: harness failed\n");
	fflush(stdout);
	{
		char a[PATH_MAX + 96];

		snprintf(a, sizeof(a), "--scenario blast --tap btap1 --frames 1000000 --size 64 --front %s",
			 akblast);
		ak = access(akblast, X_OK) == 0 ? harness(a) : -1;
	}
	if (ak > 0)
		printf("BENCH appkit_tap_tx_pps %.0f frames/s\n", ak);
	else
		printf("# appkit_tap_tx_pps: harness failed\n");
	printf("# ratio to tap_raw_pps: netd_tap_tx %.2f appkit_tap_tx %.2f\n",
	       r > 0 ? r / raw : 0, ak > 0 ? ak / raw : 0);
	fflush(stdout);
	tap_rx_benches();
}

int
main(int argc, char **argv)
{
	/* `net rx` runs only the receive benches, `net vswitch` only the
	 * switch ones (for profiling); no argument runs everything. */
	const char *only = argc > 1 ? argv[1] : NULL;
	char self[PATH_MAX], *d;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	double r;
	pid_t pid;

	if (sl < 0)
		return 1;
	self[sl] = '\0';
	if ((d = strrchr(self, '/')) != NULL)
		*d = '\0';			/* BUILD/bench */
	if ((d = strrchr(self, '/')) != NULL)
		*d = '\0';			/* BUILD */
	snprintf(netd, sizeof(netd), "%s/bin/netd", self);
	snprintf(resp, sizeof(resp), "%s/tests/lib/net_responder", self);
	snprintf(akblast, sizeof(akblast), "%s/tests/lib/net_akblast", self);
	if (access(netd, X_OK) < 0 || access(resp, X_OK) < 0) {
		printf("# skip: build netd and tests/lib/net_responder first\n");
		return 0;
	}
	fflush(stdout);
	/* The namespace is the child's alone. */
	if (only == NULL || strcmp(only, "vswitch") != 0) {
		if ((pid = fork()) == 0) {
			if (only != NULL && strcmp(only, "rx") == 0) {
				if (unshare(CLONE_NEWNET) == 0)
					tap_rx_benches();
				else
					printf("# skip: no network namespace\n");
			} else {
				tap_benches();
			}
			fflush(stdout);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	if (only != NULL && strcmp(only, "vswitch") != 0)
		return 0;
	r = harness("--scenario stream --fronts 2 --frames 3000000 --size 60");
	if (r > 0)
		printf("BENCH vswitch_pps %.0f frames/s\n", r);
	r = harness("--scenario stream --fronts 2 --frames 1000000 --size 1514");
	if (r > 0)
		printf("BENCH vswitch_gbps_1500 %.2f Gbit/s\n", r * 1514 * 8 / 1e9);
	return 0;
}
