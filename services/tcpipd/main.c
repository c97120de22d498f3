/*
 * tcpipd - the STACK signature (PV Calls, device type "pvcalls").  Wiring
 * only: the environment of docs/internals/wiring.md and the command line;
 * the serving is tcpipd.c, the decoding tcp_proto.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "morgana/wiring.h"
#include "services/tcpipd/tcpipd.h"

static void
usage(FILE *f)
{
	fputs("usage: tcpipd --net socket [--allow ADDR:PORT,...] [--max-sockets N]\n"
	      "\n"
	      "Serves the STACK signature (Xen PV Calls, docs/pvcalls.md) to every\n"
	      "`pvcalls` device whose backend is this domain.  In socket mode each\n"
	      "frontend socket is a host kernel socket.  Started by compose, with:\n"
	      "  XENSTORED_PATH   the store socket\n"
	      "  MORGANA_RUNDIR   run directory; the link is <rundir>/<service>.sock\n"
	      "  MORGANA_SERVICE  the service name (logs, link socket)\n"
	      "  NOTIFY_FD        optional: READY=1 / STOPPING=1 go here\n"
	      "\n"
	      "  --net socket       host sockets (`direct` is not implemented)\n"
	      "  --allow LIST       addresses frontends may bind (TCP and UDP alike),\n"
	      "                     A.B.C.D:PORT or A.B.C.D:* (comma-separated);\n"
	      "                     default: none\n"
	      "  --max-sockets N    sockets per frontend (default 128)\n"
	      "Outgoing connects and datagrams are not restricted.  Exits 0 on\n"
	      "SIGTERM/SIGINT.\n",
	      f);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "net", required_argument, NULL, 'n' },
		{ "allow", required_argument, NULL, 'a' },
		{ "max-sockets", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct tcp_allow allow[TCP_ALLOW_MAX];
	struct tcpd_opts o = { .sz = sizeof(o), .notify_fd = -1,
			       .allow = allow };
	const char *net = NULL;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			net = optarg;
			break;
		case 'a':
			rc = tcp_allow_parse(optarg, allow, TCP_ALLOW_MAX);
			if (rc < 0) {
				fprintf(stderr, "tcpipd: bad --allow list\n");
				return 2;
			}
			o.nallow = (unsigned)rc;
			break;
		case 'm': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end != '\0' || v == 0 || v > 65536) {
				fprintf(stderr, "tcpipd: --max-sockets must be 1..65536\n");
				return 2;
			}
			o.max_socks = (unsigned)v;
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
	if (optind != argc || net == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(net, "socket") != 0) {
		fprintf(stderr, "tcpipd: --net %s is not implemented (only socket)\n",
			net);
		return 2;
	}
	{
		struct ring_wiring w;

		if (ring_wiring_from_env("tcpipd", &w) < 0)
			return 2;
		o.service = w.service;
		o.rundir = w.rundir;
		o.notify_fd = w.notify_fd;
	}
	rc = tcpd_serve(&o);
	return rc == 0 ? 0 : 1;
}
