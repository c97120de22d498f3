/*
 * PV Calls wire format against Xen's own xen/io/pvcalls.h (every offset
 * and size is a _Static_assert), and tcpipd's pure half: command decoding
 * and validation, the bind allow list, the data-ring iovecs.
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
	q.u.socket.protocol = 17;
	assert_int_equal(tcp_cmd_decode(&q, &c), -EAFNOSUPPORT);
	q.u.socket.protocol = 0;
	q.u.socket.type = 2;
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
