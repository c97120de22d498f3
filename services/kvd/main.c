/* kvd: the KV backend daemon.  Wiring only: argument parsing, the
 * environment of docs/internals/wiring.md, opening the store; the serving
 * logic is kv_serve (serve.c). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "services/kvd/kvd.h"

static void
usage(FILE *f)
{
	fputs("usage: kvd serve --store dir|pack|tar|sqlite|sealed --path PATH\n"
	      "                 [--rw] [--key-file F] [--over-path P]\n"
	      "       kvd serve --store sealed --key-file F --over-path P\n"
	      "       kvd pack DIR OUT\n"
	      "       kvd --help\n"
	      "\n"
	      "Commands:\n"
	      "  serve          serve the store to every `kv` device whose backend\n"
	      "                 is this domain, over libring (docs/kv.md).  Needs\n"
	      "                 XENSTORED_PATH, and MORGANA_RUNDIR + MORGANA_SERVICE\n"
	      "                 for the link socket <rundir>/<service>.sock; writes\n"
	      "                 READY=1 to $NOTIFY_FD once serving; exits 0 on SIGTERM.\n"
	      "    --store S    dir (a directory, read-only), pack (a `kvd pack`\n"
	      "                 image), tar (an archive), sqlite (read-write),\n"
	      "                 sealed (encrypted values over sqlite)\n"
	      "    --path P     the directory, image, archive or database\n"
	      "    --rw         dir: serve the directory read-write\n"
	      "    --key-file F sealed: the 32-byte key file (mode 0600 or 0400)\n"
	      "    --over-path P  sealed: the sqlite database (default: --path)\n"
	      "  pack DIR OUT   pack the regular files and directories under DIR\n"
	      "                 into the pack image OUT (the format is in docs/kv.md);\n"
	      "                 OUT is replaced atomically.  Symlinks and special\n"
	      "                 files are skipped.\n"
	      "\n"
	      "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n",
	      f);
}

static int
open_store(const char *kind, const char *path, const char *keyfile,
	   const char *over, bool rw, struct kv_store **out)
{
	struct kv_store *inner;
	int r;

	if (strcmp(kind, "dir") == 0)
		return rw ? kv_dir_open_rw(path, out) : kv_dir_open(path, out);
	if (strcmp(kind, "pack") == 0)
		return kv_pack_open(path, out);
	if (strcmp(kind, "tar") == 0)
		return kv_tar_open(path, out);
	if (strcmp(kind, "sqlite") == 0)
		return kv_sqlite_open(path, out);
	if (strcmp(kind, "sealed") == 0) {
		if (keyfile == NULL)
			return -EINVAL;
		if ((r = kv_sqlite_open(over ? over : path, &inner)) < 0)
			return r;
		return kv_sealed_open(inner, keyfile, out);
	}
	return -EINVAL;
}

static int
serve(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "store", required_argument, NULL, 's' },
		{ "path", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "over-path", required_argument, NULL, 'o' },
		{ "rw", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kind = NULL, *path = NULL, *keyfile = NULL, *over = NULL;
	const char *rundir, *svc, *nfd;
	char link[PATH_MAX];
	struct kv_store *store;
	int c, r, notify_fd = -1;
	bool rw = false;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': kind = optarg; break;
		case 'p': path = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'o': over = optarg; break;
		case 'w': rw = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* sealed may name its database by --over-path alone. */
	if (path == NULL && kind != NULL && strcmp(kind, "sealed") == 0)
		path = over;
	if (optind != argc || kind == NULL || path == NULL ||
	    (strcmp(kind, "sealed") == 0) != (keyfile != NULL) ||
	    (rw && strcmp(kind, "dir") != 0)) {
		usage(stderr);
		return 2;
	}
	if ((svc = getenv("MORGANA_SERVICE")) == NULL || *svc == '\0')
		svc = "kvd";
	ring_log_set_name(svc);
	if ((rundir = getenv("MORGANA_RUNDIR")) == NULL || *rundir == '\0') {
		ring_log(RING_LOG_ERR, "msg=\"MORGANA_RUNDIR is not set\"");
		return 2;
	}
	if ((size_t)snprintf(link, sizeof(link), "%s/%s.sock", rundir, svc) >=
	    sizeof(link)) {
		ring_log(RING_LOG_ERR, "msg=\"link path too long\"");
		return 2;
	}
	if ((nfd = getenv("NOTIFY_FD")) != NULL && *nfd != '\0') {
		char *end;
		long v = strtol(nfd, &end, 10);

		if (*end == '\0' && v >= 0 && v <= INT_MAX)
			notify_fd = (int)v;
	}
	if ((r = open_store(kind, path, keyfile, over, rw, &store)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"cannot open store\" store=%s "
			 "path=\"%s\" err=\"%s\"", kind, path, strerror(-r));
		return 1;
	}
	struct kv_serve_opts o = {
		.sz = sizeof(o),
		.store = store,
		.link_path = link,
		.notify_fd = notify_fd,
	};
	r = kv_serve(&o);
	kv_store_close(store);
	return r == 0 ? 0 : 1;
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
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
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
