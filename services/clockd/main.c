/*
 * clockd - the PCLOCK/MCLOCK time page and TIME timers, served as device
 * type "clock" over libring.  Wiring only: the environment of the wiring
 * contract (docs/internals/wiring.md) and the command line; the serving is
 * backend_ring.c, the logic clockd.c and loop.c.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/wiring.h"
#include "services/clockd/clockd.h"

static void
usage(FILE *f)
{
	fputs("usage: clockd [--max-timers N] [--help]\n"
	      "\n"
	      "Owns the PCLOCK/MCLOCK shared time page and serves TIME timers\n"
	      "(docs/clock.md) to every `clock` device whose backend is this\n"
	      "domain.  Started by compose, with this environment:\n"
	      "  XENSTORED_PATH   the store socket\n"
	      "  MORGANA_RUNDIR   run directory; the link is <rundir>/<service>.sock\n"
	      "  MORGANA_SERVICE  the service name (logs, link socket)\n"
	      "  NOTIFY_FD        optional: READY=1 / STATUS= / STOPPING=1 go here\n"
	      "\n"
	      "  --max-timers N   timers per frontend (default 65536)\n"
	      "Exits 0 on SIGTERM/SIGINT after closing every device.\n",
	      f);
}

/* After setup clockd needs no privilege at all: no new ones through
 * exec, and no capabilities left (it only uses fds it already holds,
 * memory its peers send it, and its own page). */
static int
drop_privileges(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "max-timers", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct clockd_serve_opts o = {
		.sz = sizeof(o), .notify_fd = -1,
		.after_setup = drop_privileges,
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end != '\0' || v == 0 || v > 1000000) {
				fprintf(stderr, "clockd: --max-timers must be "
					"1..1000000\n");
				return 2;
			}
			o.max_timers = (uint32_t)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	{
		struct ring_wiring w;

		if (ring_wiring_from_env("clockd", &w) < 0)
			return 2;
		o.service = w.service;
		o.rundir = w.rundir;
		o.notify_fd = w.notify_fd;
	}
	return clockd_serve(&o);
}
