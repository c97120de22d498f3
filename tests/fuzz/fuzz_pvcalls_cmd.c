/*
 * libFuzzer target: tcpipd's command decoding (tcp_cmd_decode) on
 * arbitrary 64-byte ring slots, the allow-list parser on arbitrary text,
 * and the data-ring iovec builder on arbitrary indexes.  Checks what the
 * serving loop relies on: the reply always echoes req_id/cmd/id, a
 * successful decode of CONNECT/BIND is an AF_INET sockaddr with zero
 * padding, the backlog is within [0, SOMAXCONN], a SOCKET gets through
 * only for TCP or (feature-x-dgram) UDP over AF_INET, and every iovec
 * lies inside the pages it was given.  The datagram framing has its own
 * target, fuzz_pvcalls_dgram.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "services/tcpipd/tcpipd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pg[4][RING_PAGE_SIZE];

static void
check_iov(const uint8_t *d)
{
	uint8_t *pages[4] = { pg[1], pg[3], pg[0], pg[2] };
	struct iovec iov[8];
	uint32_t idx, len, order = d[0] % 3, size = PVC_RING_SIZE(order);
	uint32_t np = 1u << order, base = (d[1] & 1) ? size : 0;
	uint64_t sum = 0;
	int n;

	memcpy(&idx, d + 2, 4);
	memcpy(&len, d + 6, 4);
	len %= size + 1;
	n = tcp_ring_iov(pages, np, base, size, idx, len, iov, 8);
	if (n < 0)
		abort();
	for (int i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;
		int ok = 0;

		for (unsigned p = 0; p < np; p++)
			if (b >= pages[p] &&
			    b + iov[i].iov_len <= pages[p] + RING_PAGE_SIZE)
				ok = 1;
		if (!ok || iov[i].iov_len == 0)
			abort();
		sum += iov[i].iov_len;
	}
	if (sum > len || (n < 8 && sum != len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvc_req q;
	struct tcp_cmd c;
	int rc;

	if (size >= 10)
		check_iov(data);
	if (size < sizeof(q)) {
		struct tcp_allow a[4];
		char s[64];
		size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

		memcpy(s, data, n);
		s[n] = '\0';
		rc = tcp_allow_parse(s, a, 4);
		if (rc > 4 || rc == 0)
			abort();
		return 0;
	}
	memcpy(&q, data, sizeof(q));
	rc = tcp_cmd_decode(&q, &c);
	if (c.req_id != q.req_id || c.cmd != q.cmd || c.id != q.u.socket.id)
		abort();
	if (rc > 0)
		abort();
	if (rc == 0 && (q.cmd == PVC_CMD_CONNECT || q.cmd == PVC_CMD_BIND)) {
		static const uint8_t zero[8];

		if (c.sa.sin_family != AF_INET ||
		    memcmp(c.sa.sin_zero, zero, sizeof(zero)) != 0)
			abort();
	}
	if (c.backlog < 0 || c.backlog > SOMAXCONN)
		abort();
	if (q.cmd > PVC_CMD_POLL && q.cmd != PVC_CMD_X_SHUTDOWN &&
	    q.cmd != PVC_CMD_X_RING && rc != -PVC_ENOTSUPP)
		abort();
	/* SOCKET: only AF_INET stream/TCP or datagram/UDP get through. */
	if (q.cmd == PVC_CMD_SOCKET && rc == 0 &&
	    (q.u.socket.domain != PVC_AF_INET ||
	     (c.type != PVC_SOCK_STREAM && c.type != PVC_SOCK_DGRAM) ||
	     (q.u.socket.protocol != 0 &&
	      q.u.socket.protocol != (c.type == PVC_SOCK_STREAM ? 6u : 17u))))
		abort();
	return 0;
}
