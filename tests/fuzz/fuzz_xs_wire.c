/*
 * libFuzzer: arbitrary bytes as one client's message stream into the store
 * server (through a socketpair, as dom0 or as domain 1), and the same bytes
 * through the client's reply decoders.  Must never crash, hang or leak.
 *
 * Input: byte 0 bit 0 picks the identity (dom0 or domain 1).  With bit 1
 * clear the remaining bytes are the raw stream; with it set they are
 * records [type][tx_id][len lo][len hi][payload...] turned into messages
 * with a correct header, so the fuzzer reaches the request handlers
 * instead of spending its time guessing lengths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

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

/* Records -> well-framed messages; returns the stream's length. */
static size_t
frame(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	while (n >= 4) {
		struct xsd_sockmsg h = { in[0], (uint32_t)o, in[1],
					 (uint32_t)(in[2] | in[3] << 8) };

		in += 4;
		n -= 4;
		if (h.len > n)
			h.len = (uint32_t)n;
		if (h.len > XENSTORE_PAYLOAD_MAX)
			h.len = XENSTORE_PAYLOAD_MAX;
		if (o + sizeof(h) + h.len > cap)
			break;
		memcpy(out + o, &h, sizeof(h));
		memcpy(out + o + sizeof(h), in, h.len);
		o += sizeof(h) + h.len;
		in += h.len;
		n -= h.len;
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t framed[1 << 20];
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
	if (data[0] & 2) {
		size = 1 + frame(data + 1, size - 1, framed + 1,
				 sizeof(framed) - 1);
		data = framed;
	}
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
