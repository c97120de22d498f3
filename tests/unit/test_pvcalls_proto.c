/*
 * PV Calls wire format against Xen's own xen/io/pvcalls.h (every offset
 * and size is a _Static_assert), and tcpipd's pure half: command decoding
 * and validation, the bind allow list, the data-ring iovecs, the datagram
 * records of feature-x-dgram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "tests/unit/xen_ring_compat.h"
#include <xen/io/pvcalls.h>

#include "services/tcpipd/tcpipd.h"

#define SAME(a, b, f)                                                        \
	_Static_assert(offsetof(a, f) == offsetof(b, f), #a "." #f);         \
	_Static_assert(sizeof(((a *)0)->f) == sizeof(((b *)0)->f), #a "." #f)

SAME(struct pvc_req, struct xen_pvcalls_request, req_id);
SAME(struct pvc_req, struct xen_pvcalls_request, cmd);
SAME(struct pvc_req, struct xen_pvcalls_request, u);
SAME(struct pvc_req, struct xen_pvcalls_request, u.socket.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.socket.domain);
SAME(struct pvc_req, struct xen_pvcalls_request, u.socket.type);
SAME(struct pvc_req, struct xen_pvcalls_request, u.socket.protocol);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.addr);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.len);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.flags);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.ref);
SAME(struct pvc_req, struct xen_pvcalls_request, u.connect.evtchn);
SAME(struct pvc_req, struct xen_pvcalls_request, u.release.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.release.reuse);
SAME(struct pvc_req, struct xen_pvcalls_request, u.bind.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.bind.addr);
SAME(struct pvc_req, struct xen_pvcalls_request, u.bind.len);
SAME(struct pvc_req, struct xen_pvcalls_request, u.listen.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.listen.backlog);
SAME(struct pvc_req, struct xen_pvcalls_request, u.accept.id);
SAME(struct pvc_req, struct xen_pvcalls_request, u.accept.id_new);
SAME(struct pvc_req, struct xen_pvcalls_request, u.accept.ref);
SAME(struct pvc_req, struct xen_pvcalls_request, u.accept.evtchn);
SAME(struct pvc_req, struct xen_pvcalls_request, u.poll.id);
SAME(struct pvc_rsp, struct xen_pvcalls_response, req_id);
SAME(struct pvc_rsp, struct xen_pvcalls_response, cmd);
SAME(struct pvc_rsp, struct xen_pvcalls_response, ret);
SAME(struct pvc_rsp, struct xen_pvcalls_response, u);
_Static_assert(offsetof(struct pvc_rsp, u.id) ==
		       offsetof(struct xen_pvcalls_response, u.accept.id), "rsp id");
_Static_assert(offsetof(struct pvc_rsp, u.id) ==
		       offsetof(struct xen_pvcalls_response, u.poll.id), "rsp id");
SAME(struct pvc_data_intf, struct pvcalls_data_intf, in_cons);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, in_prod);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, in_error);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, pad1);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, out_cons);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, out_prod);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, out_error);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, pad2);
SAME(struct pvc_data_intf, struct pvcalls_data_intf, ring_order);
_Static_assert(offsetof(struct pvc_data_intf, ref) ==
		       offsetof(struct pvcalls_data_intf, ref), "ref");
_Static_assert(sizeof(struct pvc_req) == sizeof(struct xen_pvcalls_request),
	       "request size");
_Static_assert(sizeof(struct pvc_rsp) == sizeof(struct xen_pvcalls_response),
	       "response size");
_Static_assert(sizeof(struct pvc_data_intf) == sizeof(struct pvcalls_data_intf),
	       "intf size");
_Static_assert(sizeof(union pvc_slot) == sizeof(union xen_pvcalls_sring_entry),
	       "slot size");
_Static_assert(PVC_CMD_SOCKET == PVCALLS_SOCKET && PVC_CMD_CONNECT == PVCALLS_CONNECT &&
	       PVC_CMD_RELEASE == PVCALLS_RELEASE && PVC_CMD_BIND == PVCALLS_BIND &&
	       PVC_CMD_LISTEN == PVCALLS_LISTEN && PVC_CMD_ACCEPT == PVCALLS_ACCEPT &&
	       PVC_CMD_POLL == PVCALLS_POLL, "command numbers");
_Static_assert(PVC_RING_SIZE(0) == XEN_FLEX_RING_SIZE(0) &&
	       PVC_RING_SIZE(4) == XEN_FLEX_RING_SIZE(4) &&
	       PVC_RING_SIZE(9) == XEN_FLEX_RING_SIZE(9), "flex ring size");

static void
test_ring_entries(void **state)
{
	(void)state;
	/* 32 slots of 64 bytes, as __CONST_RING_SIZE(xen_pvcalls, 4096). */
	assert_int_equal(pvc_nr_ents(4096), 32);
	assert_int_equal(pvc_nr_ents(4096), __CONST_RING_SIZE(xen_pvcalls, 4096));
}

static void
test_queued(void **state)
{
	(void)state;
	assert_int_equal(pvc_queued(10, 10, 2048), 0);
	assert_int_equal(pvc_queued(2048, 0, 2048), 2048);
	assert_int_equal(pvc_queued(5, 0xfffffffbu, 2048), 10);	/* wrap */
	assert_int_equal(pvc_queued(2049, 0, 2048), UINT32_MAX);
	assert_int_equal(pvc_queued(0, 1, 2048), UINT32_MAX);	/* backwards */
	/* Xen's masking version would call this plausible. */
	assert_int_equal(pvcalls_queued(4096 + 5, 0, 2048), 5);
}

static void
put_addr(uint8_t *a, uint16_t fam, uint16_t port, const char *ip)
{
	struct in_addr in;

	memcpy(a, &fam, 2);
	port = htons(port);
	memcpy(a + 2, &port, 2);
	inet_pton(AF_INET, ip, &in);
	memcpy(a + 4, &in.s_addr, 4);
}

static void
test_decode(void **state)
{
	struct pvc_req q;
	struct tcp_cmd c;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.req_id = 7;
	q.cmd = PVC_CMD_SOCKET;
	q.u.socket.id = 0x1122334455667788ull;
	q.u.socket.domain = 2;
	q.u.socket.type = 1;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.req_id, 7);
	assert_true(c.id == 0x1122334455667788ull);
	q.u.socket.protocol = 6;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.type, PVC_SOCK_STREAM);
	q.u.socket.protocol = 17;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EAFNOSUPPORT);
	/* feature-x-dgram: SOCK_DGRAM with 0 or IPPROTO_UDP. */
	q.u.socket.type = 2;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.type, PVC_SOCK_DGRAM);
	q.u.socket.protocol = 0;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	q.u.socket.protocol = 6;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EAFNOSUPPORT);
	q.u.socket.protocol = 0;
	q.u.socket.type = 3;	/* SOCK_RAW */
	assert_int_equal(tcp_cmd_decode(&q, &c), -EAFNOSUPPORT);
	q.u.socket.type = 1;
	q.u.socket.domain = 10;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EAFNOSUPPORT);

	memset(&q, 0xa5, sizeof(q));
	q.cmd = PVC_CMD_CONNECT;
	q.req_id = 9;
	q.u.connect.id = 3;
	put_addr(q.u.connect.addr, 2, 8080, "127.0.0.1");
	q.u.connect.len = 16;
	q.u.connect.ref = 12;
	q.u.connect.evtchn = 4;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.sa.sin_family, AF_INET);
	assert_int_equal(ntohs(c.sa.sin_port), 8080);
	assert_int_equal(ntohl(c.sa.sin_addr.s_addr), 0x7f000001);
	/* The garbage after the address never reaches the host socket. */
	assert_memory_equal(c.sa.sin_zero, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(c.ref, 12);
	assert_int_equal(c.evtchn, 4);
	q.u.connect.len = 28;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	q.u.connect.len = 15;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);
	q.u.connect.len = 29;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);
	q.u.connect.len = 0xffffffffu;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);
	q.u.connect.len = 16;
	put_addr(q.u.connect.addr, 10, 80, "1.2.3.4");
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);

	q.cmd = PVC_CMD_BIND;
	put_addr(q.u.bind.addr, 2, 9, "0.0.0.0");
	q.u.bind.len = 16;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(ntohs(c.sa.sin_port), 9);
	q.u.bind.len = 2;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);

	q.cmd = PVC_CMD_LISTEN;
	q.u.listen.backlog = 0xffffffffu;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.backlog, SOMAXCONN);
	q.u.listen.backlog = 5;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_int_equal(c.backlog, 5);

	q.cmd = PVC_CMD_ACCEPT;
	q.u.accept.id = 1;
	q.u.accept.id_new = 2;
	q.u.accept.ref = 30;
	q.u.accept.evtchn = 31;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_true(c.id == 1 && c.id_new == 2 && c.ref == 30 && c.evtchn == 31);

	q.cmd = PVC_CMD_RELEASE;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);	/* reuse ignored */
	q.cmd = PVC_CMD_POLL;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);

	q.cmd = 7;
	q.req_id = 99;
	assert_int_equal(tcp_cmd_decode(&q, &c), -524);
	assert_int_equal(c.req_id, 99);
	assert_int_equal(c.cmd, 7);
	q.cmd = 0xffffffffu;
	assert_int_equal(tcp_cmd_decode(&q, &c), -PVC_ENOTSUPP);

	q.cmd = PVC_CMD_X_SHUTDOWN;
	q.u.x_shutdown.how = SHUT_WR;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	q.u.x_shutdown.how = SHUT_RDWR;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EINVAL);

	q.cmd = PVC_CMD_X_RING;
	q.u.x_ring.id = 44;
	q.u.x_ring.ref = 5;
	q.u.x_ring.evtchn = 6;
	assert_int_equal(tcp_cmd_decode(&q, &c), 0);
	assert_true(c.id == 44 && c.ref == 5 && c.evtchn == 6);
	assert_int_equal(PVC_CMD_X_RING, 0x4d470002u);
	assert_int_equal(offsetof(struct pvc_req, u.x_ring.ref), 16);
	assert_int_equal(offsetof(struct pvc_req, u.x_ring.evtchn), 20);
}

/* ---- datagram records -------------------------------------------------- */

static uint8_t dpg[4][4096];
static uint8_t *dpages[4] = { dpg[3], dpg[1], dpg[0], dpg[2] };
#define DSIZE 8192u	/* order 2 halves; `out` at base DSIZE */

static void
ring_write(uint32_t idx, const void *src, uint32_t len)
{
	struct iovec v[4];
	const uint8_t *p = src;
	int n = tcp_ring_iov(dpages, 4, DSIZE, DSIZE, idx, len, v, 4);

	for (int i = 0; i < n; i++) {
		memcpy(v[i].iov_base, p, v[i].iov_len);
		p += v[i].iov_len;
	}
}

/* A record at idx; returns its size. */
static uint32_t
rec_write(uint32_t idx, uint32_t len, uint16_t flags, uint16_t port,
	  uint8_t fill)
{
	struct pvc_dgram_hdr h = { .len = len, .flags = flags,
				   .port = htons(port),
				   .addr = htonl(0x0a000001) };
	static uint8_t b[PVC_DGRAM_MAX];

	memset(b, fill, len);
	ring_write(idx, &h, sizeof(h));
	ring_write(idx + (uint32_t)sizeof(h), b, len);
	return PVC_DGRAM_REC(len);
}

static uint64_t
iov_sum(const struct iovec *v, unsigned n, uint8_t fill)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].iov_len; j++)
			assert_int_equal(((uint8_t *)v[i].iov_base)[j], fill);
		t += v[i].iov_len;
	}
	return t;
}

static void
test_dgram(void **state)
{
	struct tcp_dgram d[8];
	struct iovec iov[64];
	uint32_t cons = 0xfffff000u, q = 0;	/* wraps the u32 too */
	struct pvc_dgram_hdr h;
	int n;

	(void)state;
	assert_int_equal(PVC_DGRAM_REC(0), 16);
	assert_int_equal(PVC_DGRAM_REC(1), 32);
	assert_int_equal(PVC_DGRAM_REC(16), 32);
	assert_int_equal(PVC_DGRAM_REC_MAX, 65536);
	assert_true(PVC_DGRAM_REC_MAX <= PVC_RING_SIZE(5));

	q += rec_write(cons + q, 0, 0, 53, 0);
	q += rec_write(cons + q, 1, 0, 53, 0x11);
	q += rec_write(cons + q, 5000, 0, 0, 0x22);	/* crosses pages */
	n = tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, cons, q, d, 8, iov, 64);
	assert_int_equal(n, 3);
	assert_int_equal(d[0].len, 0);
	assert_int_equal(d[0].rec, 16);
	assert_int_equal(d[0].niov, 0);
	assert_int_equal(d[0].to.sin_family, AF_INET);
	assert_int_equal(ntohs(d[0].to.sin_port), 53);
	assert_int_equal(ntohl(d[0].to.sin_addr.s_addr), 0x0a000001);
	assert_int_equal(iov_sum(iov + d[1].iov_first, d[1].niov, 0x11), 1);
	assert_int_equal(iov_sum(iov + d[2].iov_first, d[2].niov, 0x22), 5000);
	assert_int_equal(d[2].to.sin_port, 0);	/* the connected peer */
	/* max stops early; nothing queued decodes to nothing. */
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, cons, q, d,
					  2, iov, 64), 2);
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, cons, 0, d,
					  8, iov, 64), 0);
	/* A record that wraps around the end of the half. */
	cons = 8192 - 32;
	q = rec_write(cons, 100, 0, 7, 0x33);
	n = tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, cons, q, d, 8, iov, 64);
	assert_int_equal(n, 1);
	assert_true(d[0].niov >= 2);
	assert_int_equal(iov_sum(iov + d[0].iov_first, d[0].niov, 0x33), 100);
	/* Out of iovecs after the first record: the rest waits. */
	cons = 0;
	q = rec_write(0, 4000, 0, 1, 0x44);
	q += rec_write(q, 4000, 0, 1, 0x44);
	n = tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, cons, q, d, 8, iov,
			     TCP_DGRAM_IOV_MAX);
	assert_true(n >= 1);
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q, d, 8,
					  iov, TCP_DGRAM_IOV_MAX - 1), -EINVAL);

	/* Hostile records. */
	q = rec_write(0, 100, 0, 1, 0);
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q - 16, d,
					  8, iov, 64), -EPROTO);	/* cut short */
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q + 8, d,
					  8, iov, 64), -EPROTO);	/* 8 left over */
	rec_write(0, 100, 1, 1, 0);	/* TRUNC is for `in` only */
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q, d, 8,
					  iov, 64), -EPROTO);
	rec_write(0, 100, 0x8000, 1, 0);
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q, d, 8,
					  iov, 64), -EPROTO);
	h = (struct pvc_dgram_hdr){ .len = 60000 };	/* more than the ring */
	ring_write(0, &h, sizeof(h));
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, DSIZE, d,
					  8, iov, 64), -EPROTO);
	h.len = 0xffffffffu;	/* PVC_DGRAM_REC would overflow */
	ring_write(0, &h, sizeof(h));
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, DSIZE, d,
					  8, iov, 64), -EPROTO);
	/* The second record is the bad one: the whole batch is refused. */
	q = rec_write(0, 10, 0, 1, 0);
	h = (struct pvc_dgram_hdr){ .len = 1000 };
	ring_write(q, &h, sizeof(h));
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, q + 32, d,
					  8, iov, 64), -EPROTO);
	assert_int_equal(tcp_dgram_decode(dpages, 4, DSIZE, DSIZE, 0, DSIZE + 16,
					  d, 8, iov, 64), -EINVAL);

	/* The frontend's check of `in` records. */
	h = (struct pvc_dgram_hdr){ .len = 10, .flags = PVC_DGRAM_TRUNC,
				    .full_len = 70000 };
	assert_int_equal(pvc_dgram_check(&h, 32, true), 32);
	assert_int_equal(pvc_dgram_check(&h, 32, false), 0);
	assert_int_equal(pvc_dgram_check(&h, 16, true), 0);
	h.flags = 2;
	assert_int_equal(pvc_dgram_check(&h, 32, true), 0);
	h = (struct pvc_dgram_hdr){ .len = PVC_DGRAM_MAX + 1 };
	assert_int_equal(pvc_dgram_check(&h, UINT32_MAX, true), 0);
}

static void
test_allow(void **state)
{
	struct tcp_allow a[4];

	(void)state;
	assert_int_equal(tcp_allow_parse("127.0.0.1:8080", a, 4), 1);
	assert_true(tcp_allow_check(a, 1, 0x7f000001, 8080));
	assert_false(tcp_allow_check(a, 1, 0x7f000001, 8081));
	assert_false(tcp_allow_check(a, 1, 0, 8080));
	assert_int_equal(tcp_allow_parse("127.0.0.1:8080,0.0.0.0:*", a, 4), 2);
	assert_true(tcp_allow_check(a, 2, 0, 1));
	assert_true(tcp_allow_check(a, 2, 0, 0));
	assert_false(tcp_allow_check(a, 2, 0x7f000001, 1));
	assert_int_equal(tcp_allow_parse("", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("127.0.0.1", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("127.0.0.1:", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("127.0.0.1:65536", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("127.0.0.1:80,", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("localhost:80", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse(":80", a, 4), -EINVAL);
	assert_int_equal(tcp_allow_parse("1.1.1.1:1,1.1.1.1:2,1.1.1.1:3", a, 2),
			 -E2BIG);
	assert_false(tcp_allow_check(a, 0, 0, 0));
}

static void
test_iov(void **state)
{
	static uint8_t pg[4][4096];
	uint8_t *pages[4] = { pg[2], pg[0], pg[3], pg[1] };	/* scattered */
	struct iovec iov[8];
	int n;

	(void)state;
	/* order 2: halves of 8192 bytes; out starts at page 2. */
	n = tcp_ring_iov(pages, 4, 8192, 8192, 0, 8192, iov, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, pg[3]);
	assert_int_equal(iov[0].iov_len, 4096);
	assert_ptr_equal(iov[1].iov_base, pg[1]);
	/* Wrapping in the `in` half: 100 bytes before the end, 300 long. */
	n = tcp_ring_iov(pages, 4, 0, 8192, 0x10000u + 8092, 300, iov, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, pg[0] + 3996);
	assert_int_equal(iov[0].iov_len, 100);
	assert_ptr_equal(iov[1].iov_base, pg[2]);
	assert_int_equal(iov[1].iov_len, 200);
	/* Crossing a page inside the half, wrapping too. */
	n = tcp_ring_iov(pages, 4, 0, 8192, 4000, 8192, iov, 8);
	assert_int_equal(n, 3);
	assert_int_equal(iov[0].iov_len + iov[1].iov_len + iov[2].iov_len, 8192);
	/* max bounds the entries. */
	assert_int_equal(tcp_ring_iov(pages, 4, 0, 8192, 4000, 8192, iov, 1), 1);
	/* order 0 style: a 2048-byte half inside one page. */
	n = tcp_ring_iov(pages, 1, 2048, 2048, 2000, 100, iov, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, pg[2] + 4048);
	assert_ptr_equal(iov[1].iov_base, pg[2] + 2048);
	assert_int_equal(tcp_ring_iov(pages, 4, 0, 8192, 0, 0, iov, 8), 0);
	assert_int_equal(tcp_ring_iov(pages, 4, 0, 8192, 0, 8193, iov, 8), -EINVAL);
	assert_int_equal(tcp_ring_iov(pages, 4, 8192, 16384, 0, 1, iov, 8), -EINVAL);
	assert_int_equal(tcp_ring_iov(pages, 4, 0, 3000, 0, 1, iov, 8), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_entries),
		cmocka_unit_test(test_queued),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_iov),
		cmocka_unit_test(test_dgram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
