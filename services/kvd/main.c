/* kvd: the KV backend daemon.  Wiring only; the logic is libkvd. */
#include <stdio.h>
#include <string.h>

#include "morgana/log.h"
#include "services/kvd/kvd.h"

static void
usage(FILE *f)
{
	fputs("usage: kvd pack DIR OUT\n"
	      "       kvd --help\n"
	      "\n"
	      "Commands:\n"
	      "  pack DIR OUT   pack the regular files and directories under DIR\n"
	      "                 into the pack image OUT (the format is in docs/kv.md);\n"
	      "                 OUT is replaced atomically.  Symlinks and special\n"
	      "                 files are skipped.\n"
	      "\n"
	      "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n",
	      f);
}

int
main(int argc, char **argv)
{
	int r;

	ring_log_set_name("kvd");
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "pack") == 0) {
		if ((r = kv_pack_dir(argv[2], argv[3])) < 0) {
			ring_log(RING_LOG_ERR, "msg=\"pack failed\" dir=\"%s\" "
				 "out=\"%s\" err=\"%s\"", argv[2], argv[3],
				 strerror(-r));
			return 1;
		}
		ring_log(RING_LOG_INFO, "msg=\"packed\" out=\"%s\" values=%d",
			 argv[3], r);
		return 0;
	}
	usage(stderr);
	return 2;
}
