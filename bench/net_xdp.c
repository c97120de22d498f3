/*
 * bench/net_xdp: netd's xdp backend, receive side (not a test).  In a
 * private network namespace, a veth pair nxa0/nxb0: netd --backend xdp
 * sits on nxa0 with a counting test frontend (net_responder --scenario
 * sink) behind it; a packet socket on nxb0 injects 64-byte frames as fast
 * as it can for 2 s.  BENCH lines:
 *   xdp_inject_raw_pps      baseline: the packet socket alone, nothing on
 *                           nxa0 (the kernel drops the frames there)
 * then per XDP mode (native, then generic):
 *   xdp_inject_pps          frames/s the packet socket sent meanwhile
 *                           (the offered load)
 *   xdp_rx_pps              frames/s the frontend received, native XDP
 *   xdp_generic_inject_pps  the same two with --xdp-mode generic
 *   xdp_generic_rx_pps
 *   xdp_tx_pps              the other way: a test frontend sends 1M
 *                           64-byte frames through netd's xdp backend
 *                           (native) onto nxa0, frames/s; the frames that
 *                           reached nxb0 are counted in a comment line
 *                           (baseline: xdp_inject_raw_pps, a packet
 *                           socket sending on a veth with no netd)
 * Skipped, with a comment line, without the privilege for a namespace,
 * veth or XDP.  Uses $BUILD/bin/netd and $BUILD/tests/lib/net_responder
 * next to this binary, and ip(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/netsink.h"

static char netd[PATH_MAX + 32], resp[PATH_MAX + 32];
/* Injected frames: to an unknown unicast MAC (flooded to the sink). */
static const unsigned char xdp_mac[12] = { 0x02, 0, 0, 0, 0, 0x99,
					   0x02, 0, 0, 0, 0, 1 };

/* One mode: start the sink behind netd, inject, read the sink's rate. */
static int
run_mode(const char *mode, double *inj, double *rx)
{
	const char *const args[] = { "--netd", netd, "--xdp", "nxa0",
				     "--netd-arg", "--xdp-mode",
				     "--netd-arg", mode, NULL };

	return sink_run(resp, args, "nxb0", xdp_mac, mode, inj, rx);
}

static long
rx_packets(const char *ifname)
{
	/* /proc/net is the reader's namespace (this /sys is not). */
	char line[512], *c;
	long v = -1, bytes;
	size_t n = strlen(ifname);
	FILE *f = fopen("/proc/net/dev", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		for (c = line; *c == ' '; c++)
			;
		if (strncmp(c, ifname, n) == 0 && c[n] == ':' &&
		    sscanf(c + n + 1, "%ld %ld", &bytes, &v) == 2)
			break;
		v = -1;
	}
	fclose(f);
	return v;
}

/* Frontend -> netd (xdp) -> nxa0 -> nxb0. */
static void
tx_bench(void)
{
	char cmd[3 * PATH_MAX], line[256];
	long b0 = rx_packets("nxb0"), b1;
	double r = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "%s --netd %s --scenario blast --xdp nxa0 --frames 1000000 --size 64 2>/dev/null",
		 resp, netd);
	if ((p = popen(cmd, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), p) != NULL)
		(void)sscanf(line, "rate: blast %lf frames/s", &r);
	if (pclose(p) != 0 || r <= 0) {
		printf("# xdp_tx_pps: harness failed\n");
		return;
	}
	usleep(200000);
	b1 = rx_packets("nxb0");
	printf("# tx: 1000000 frames sent, %ld arrived on nxb0 (with netd's own)\n",
	       b1 - b0);
	printf("BENCH xdp_tx_pps %.0f frames/s\n", r);
}

static void
xdp_benches(void)
{
	static const struct {
		const char *mode, *inj, *rx;
	} runs[] = {
		{ "native", "xdp_inject_pps", "xdp_rx_pps" },
		{ "generic", "xdp_generic_inject_pps", "xdp_generic_rx_pps" },
	};

	if (unshare(CLONE_NEWNET) < 0) {
		printf("# skip xdp benches: no network namespace (%s)\n",
		       strerror(errno));
		return;
	}
	if (system("ip link add nxa0 type veth peer name nxb0 && "
		   "ip link set nxa0 up && ip link set nxb0 up") != 0) {
		printf("# skip xdp benches: cannot create a veth pair\n");
		return;
	}
	{
		long n;
		double r = inject("nxb0", xdp_mac, 2.0, &n);

		if (r < 0) {
			printf("# skip xdp benches: no packet socket (%s)\n",
			       strerror((int)-r));
			return;
		}
		printf("BENCH xdp_inject_raw_pps %.0f frames/s\n", r);
		fflush(stdout);
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		double inj, rx;

		if (run_mode(runs[i].mode, &inj, &rx) < 0) {
			printf("# %s: the xdp backend did not run (mode %s)\n",
			       runs[i].rx, runs[i].mode);
			continue;
		}
		printf("BENCH %s %.0f frames/s\n", runs[i].inj, inj);
		printf("BENCH %s %.0f frames/s\n", runs[i].rx, rx);
		fflush(stdout);
	}
	tx_bench();
}

int
main(void)
{
	char self[PATH_MAX], *d;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
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
	if (access(netd, X_OK) < 0 || access(resp, X_OK) < 0) {
		printf("# skip: build netd and tests/lib/net_responder first\n");
		return 0;
	}
	fflush(stdout);
	/* The namespace (and its veth pair) is the child's alone. */
	if ((pid = fork()) == 0) {
		xdp_benches();
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}
