/*
 * www_files - TEST HARNESS, not the www example: serves a site from two
 * host directories (files/ and tmpl/) over plain host TCP sockets on
 * 127.0.0.1 with the www engine (examples/www/site.h), a thread per
 * connection, so the engine can be tested with real clients (curl).
 * The real www serves through the STACK and KV devices instead.
 *
 *   www_files [--files DIR] [--tmpl DIR] [--title T] [--port N]
 *
 * Defaults: examples/www/files, examples/www/tmpl, "Morgana", port 0 (an
 * ephemeral port).  Prints "READY port=N" on stdout once listening; runs
 * until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "examples/www/site.h"
#include "morgana/log.h"

struct dir {
	int fd;
};

/* Keys come from www_path_to_key (no "..", no empty segments); O_NOFOLLOW
 * on the last component is enough for a test harness. */
static int
open_key(struct dir *d, const char *key, struct stat *st)
{
	int fd = openat(d->fd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int
d_size(void *dev, const char *key, uint64_t *size)
{
	struct stat st;
	int fd = open_key(dev, key, &st);

	if (fd < 0)
		return fd == -ELOOP ? -ENOENT : fd;
	close(fd);
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
d_lm(void *dev, const char *key, int64_t *sec, uint32_t *nsec)
{
	struct stat st;
	int fd = open_key(dev, key, &st);

	if (fd < 0)
		return fd;
	close(fd);
	*sec = st.st_mtim.tv_sec;
	*nsec = (uint32_t)st.st_mtim.tv_nsec;
	return 0;
}

static ssize_t
d_read(void *dev, const char *key, uint64_t off, void *buf, size_t len)
{
	struct stat st;
	int fd = open_key(dev, key, &st);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pread(fd, buf, len, (off_t)off);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static const struct www_source_ops dir_ops = { d_size, d_lm, d_read };

static ssize_t
sock_send(void *arg, const void *buf, size_t len)
{
	int fd = *(int *)arg;
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

static struct www_site *site;

static void *
serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct www_conn *c;
	char buf[16384];

	if (www_conn_open(site, sock_send, &fd, &c) == 0) {
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			struct timespec now;

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			clock_gettime(CLOCK_REALTIME, &now);
			if (www_conn_feed(c, buf, (size_t)n, now.tv_sec) != 0)
				break;
		}
		www_conn_close(c);
	}
	close(fd);
	return NULL;
}

static int
open_dir(const char *path, struct dir *d)
{
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		fprintf(stderr, "www_files: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *files = "examples/www/files", *tmpl = "examples/www/tmpl";
	const char *title = "Morgana";
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct dir fd_files, fd_tmpl;
	int port = 0, ls, one = 1;

	ring_log_set_name("www_files");
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--files") == 0)
			files = argv[i + 1];
		else if (strcmp(argv[i], "--tmpl") == 0)
			tmpl = argv[i + 1];
		else if (strcmp(argv[i], "--title") == 0)
			title = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: www_files [--files DIR] [--tmpl DIR] "
				"[--title T] [--port N]\n");
			return 2;
		}
	}
	if (open_dir(files, &fd_files) < 0 || open_dir(tmpl, &fd_tmpl) < 0)
		return 1;
	struct www_site_opts o = {
		.sz = sizeof(o), .title = title,
		.files = { &dir_ops, &fd_files }, .tmpl = { &dir_ops, &fd_tmpl },
	};
	if (www_site_open(&o, &site) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		perror("www_files: listen");
		return 1;
	}
	printf("READY port=%u\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("www_files: accept");
			return 1;
		}
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
