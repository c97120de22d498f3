/*
 * libFuzzer: arbitrary bytes as one client's message stream into the store
 * server (through a socketpair, as dom0 or as domain 1), and the same bytes
 * through the client's reply decoders.  Must never crash, hang or leak.
 *
 * Input: byte 0 picks the identity (bit 0) and which decoder gets the rest;
 * the remaining bytes are the stream.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/store_server.h"
#include "store_client_internal.h"
#include "store_internal.h"

static void
quiet(void *arg, enum ring_log_level level, const char *line)
{
	(void)arg;
	(void)level;
	(void)line;
}

static void
decoders(const uint8_t *data, size_t size)
{
	struct ring_store_perm *p;
	char *a, *b, **names;
	unsigned n;

	(void)ring_store_decode_error((const char *)data, size);
	if (ring_store_decode_event((const char *)data, size, &a, &b) == 0) {
		free(a);
		free(b);
	}
	if (ring_store_decode_perms((const char *)data, size, &p, &n) == 0)
		free(p);
	if (ring_store_decode_names((const char *)data, size, &names, &n) == 0)
		ring_store_free_names(names, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct ring_store_server_opts o = { .sz = sizeof(o), .path = path,
					    .max_nodes = 64 };
	struct ring_store_server *srv;
	char sink[65536];
	size_t off = 1;
	int sv[2];

	if (size < 1)
		return 0;
	ring_log_set_fn(quiet, NULL);
	decoders(data + 1, size - 1);
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_xs_wire.%d",
			 (int)getpid());
	if (ring_store_server_open(&o, &srv) < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0)
		abort();
	if (st_server_adopt(srv, sv[0], data[0] & 1) < 0)
		abort();
	/* Feed the stream, draining replies so only the store's own limits
	 * decide, until it is all in and the server has answered it. */
	for (int round = 0; round < 10000; round++) {
		ssize_t n;

		if (off < size) {
			n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				break;
			if (off == size)
				shutdown(sv[1], SHUT_WR);
		} else if (size == 1 && round == 0) {
			shutdown(sv[1], SHUT_WR);
		}
		(void)ring_store_server_dispatch(srv);
		n = recv(sv[1], sink, sizeof(sink), 0);
		if (n == 0)
			break;		/* the server hung up on us */
		if (n < 0 && errno != EAGAIN)
			break;
	}
	close(sv[1]);
	(void)ring_store_server_dispatch(srv);
	ring_store_server_close(srv);
	return 0;
}
