/*
 * clockd - the PCLOCK/MCLOCK time page and TIME timers.  Wiring only; the
 * logic is in clockd.c and loop.c.  Serving over rings waits for the
 * transport (grants, store, handshake), so for now this only documents
 * itself.
 */
#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
	fputs("usage: clockd [--help]\n"
	      "\n"
	      "Owns the PCLOCK/MCLOCK shared time page and serves TIME timers\n"
	      "(docs/clock.md).  Started by compose; it is not yet wired to\n"
	      "the ring transport, so it does not serve anything.\n",
	      f);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	fputs("clockd: not wired to the ring transport yet\n", stderr);
	return 2;
}
