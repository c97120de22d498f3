/* ringstore: the dev-mode xenstore, standalone, plus a tiny client. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/store_server.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: ringstore SOCKET              serve the store on SOCKET until\n"
"                                     SIGTERM/SIGINT (removes it on exit)\n"
"       ringstore read SOCKET PATH    print a value\n"
"       ringstore write SOCKET PATH VALUE\n"
"       ringstore rm SOCKET PATH\n"
"       ringstore ls SOCKET PATH      list children\n"
"       ringstore --help\n"
"\n"
"The server speaks the xenstore wire protocol, so Xen's tools work with\n"
"XENSTORED_PATH=SOCKET.  If NOTIFY_FD is set, READY=1 is written to that\n"
"fd once the socket accepts connections.  Logs are logfmt on stderr.\n");
}

static int
serve(const char *path)
{
	struct ring_store_server_opts o = { .sz = sizeof(o), .path = path };
	struct ring_store_server *srv;
	struct pollfd pfd[2];
	sigset_t set;
	const char *nfd;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pfd[1].fd = signalfd(-1, &set, SFD_CLOEXEC);
	pfd[1].events = POLLIN;
	rc = ring_store_server_open(&o, &srv);
	if (rc < 0 || pfd[1].fd < 0) {
		ring_log(RING_LOG_ERR, "msg=\"cannot serve\" socket=\"%s\" "
			 "err=\"%s\"", path, strerror(rc < 0 ? -rc : errno));
		return 1;
	}
	pfd[0].fd = ring_store_server_fd(srv);
	pfd[0].events = POLLIN;
	ring_log(RING_LOG_INFO, "msg=\"ready\" socket=\"%s\" pid=%d", path,
		 (int)getpid());
	nfd = getenv("NOTIFY_FD");
	if (nfd != NULL && *nfd != '\0') {
		int fd = atoi(nfd);

		(void)!write(fd, "READY=1\n", 8);
		close(fd);
	}
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			break;
		rc = ring_store_server_dispatch(srv);
		if (rc < 0) {
			ring_log(RING_LOG_ERR, "msg=\"dispatch failed\" "
				 "err=\"%s\"", strerror(-rc));
			break;
		}
	}
	ring_store_server_close(srv);
	ring_log(RING_LOG_INFO, "msg=\"stopped\" socket=\"%s\"", path);
	return 0;
}

static int
client(int argc, char **argv)
{
	struct ring_store *st;
	const char *cmd = argv[1];
	int rc;

	if ((strcmp(cmd, "write") == 0 && argc != 5) ||
	    (strcmp(cmd, "write") != 0 && argc != 4)) {
		usage(stderr);
		return 2;
	}
	rc = ring_store_open(argv[2], &st);
	if (rc < 0) {
		fprintf(stderr, "ringstore: %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	if (strcmp(cmd, "read") == 0) {
		char *v;

		rc = ring_store_read(st, RING_XBT_NULL, argv[3], &v, NULL);
		if (rc == 0) {
			printf("%s\n", v);
			free(v);
		}
	} else if (strcmp(cmd, "write") == 0) {
		rc = ring_store_write(st, RING_XBT_NULL, argv[3], argv[4],
				      strlen(argv[4]));
	} else if (strcmp(cmd, "rm") == 0) {
		rc = ring_store_rm(st, RING_XBT_NULL, argv[3]);
	} else {
		char **names;
		unsigned n;

		rc = ring_store_directory(st, RING_XBT_NULL, argv[3], &names,
					  &n);
		for (unsigned i = 0; rc == 0 && i < n; i++)
			printf("%s\n", names[i]);
		if (rc == 0)
			ring_store_free_names(names, n);
	}
	ring_store_close(st);
	if (rc < 0) {
		fprintf(stderr, "ringstore: %s %s: %s\n", cmd, argv[3],
			strerror(-rc));
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	ring_log_set_name("ringstore");
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && argv[1][0] != '-')
		return serve(argv[1]);
	if (argc >= 4 && (strcmp(argv[1], "read") == 0 ||
			  strcmp(argv[1], "write") == 0 ||
			  strcmp(argv[1], "rm") == 0 ||
			  strcmp(argv[1], "ls") == 0))
		return client(argc, argv);
	usage(stderr);
	return 2;
}
