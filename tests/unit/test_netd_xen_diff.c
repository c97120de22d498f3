/*
 * Differential test: a netfront built only from Xen's xen/io/ring.h macros
 * and netif.h types drives netd's backend core (netd_vif_tx / rx path) on
 * shared pages in-process.  Frames of 60 bytes to 64 KiB - 1 (multi-slot,
 * first slot at odd offsets), with and without extra-info slots and
 * checksum flags; every frame, response id, status and flag is checked on
 * the Xen side.  Also: our struct layouts equal Xen's, and the verdicts of
 * netd_tx_parse for each netback limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/xen_ring_compat.h"
#include "morgana/share.h"
#include "services/netd/netd.h"

#define NPAGES 256
static uint8_t (*pages)[4096];	/* "grant table": gref i -> pages[i] */

static int
t_copy_from(void *arg, uint32_t gref, uint32_t off, void *dst, uint32_t len)
{
	(void)arg;
	if (gref == 0 || gref >= NPAGES || off + len > 4096)
		return -EINVAL;
	memcpy(dst, pages[gref] + off, len);
	return 0;
}

static int
t_copy_to(void *arg, uint32_t gref, uint32_t off, const void *src,
	  uint32_t len)
{
	(void)arg;
	if (gref == 0 || gref >= NPAGES || off + len > 4096)
		return -EINVAL;
	memcpy(pages[gref] + off, src, len);
	return 0;
}

static const struct netd_gops gops = { t_copy_from, t_copy_to, NULL, NULL };

/* netd's batched paths (deploy mode's copy_batch), same expectations. */
static int
t_copy_batch(void *arg, struct ring_copy *ops, unsigned n)
{
	int first = 0;

	for (unsigned i = 0; i < n; i++) {
		ops[i].status = ops[i].to_peer ?
			t_copy_to(arg, ops[i].ref, ops[i].off, ops[i].buf, ops[i].len) :
			t_copy_from(arg, ops[i].ref, ops[i].off, ops[i].buf, ops[i].len);
		if (ops[i].status < 0 && first == 0)
			first = ops[i].status;
	}
	return first;
}

static const struct netd_gops gops_batch = { t_copy_from, t_copy_to, NULL,
					     t_copy_batch };
static const struct netd_gops *vif_gops = &gops;

static int
use_batch(void **state)
{
	(void)state;
	vif_gops = &gops_batch;
	return 0;
}

static int
use_single(void **state)
{
	(void)state;
	vif_gops = &gops;
	return 0;
}

static struct {
	uint8_t data[65536];
	uint32_t len;
	uint16_t flags;
	unsigned n;
} got;

static void
sink_deliver(void *arg, const uint8_t *f, uint32_t len, uint16_t rxflags)
{
	(void)arg;
	memcpy(got.data, f, len);
	got.len = len;
	got.flags = rxflags;
	got.n++;
}

static const struct netd_vif_sink sink = { sink_deliver, NULL, NULL };

static void
test_layout(void **state)
{
	(void)state;
#define SAME(ours, xens, field)                                              \
	assert_int_equal(offsetof(struct ours, field),                       \
			 offsetof(struct xens, field))
	assert_int_equal(sizeof(struct net_tx_request), sizeof(struct netif_tx_request));
	SAME(net_tx_request, netif_tx_request, gref);
	SAME(net_tx_request, netif_tx_request, offset);
	SAME(net_tx_request, netif_tx_request, flags);
	SAME(net_tx_request, netif_tx_request, id);
	SAME(net_tx_request, netif_tx_request, size);
	assert_int_equal(sizeof(struct net_tx_response), sizeof(struct netif_tx_response));
	SAME(net_tx_response, netif_tx_response, status);
	assert_int_equal(sizeof(struct net_rx_request), sizeof(struct netif_rx_request));
	SAME(net_rx_request, netif_rx_request, gref);
	assert_int_equal(sizeof(struct net_rx_response), sizeof(struct netif_rx_response));
	SAME(net_rx_response, netif_rx_response, offset);
	SAME(net_rx_response, netif_rx_response, flags);
	SAME(net_rx_response, netif_rx_response, status);
	assert_int_equal(sizeof(struct net_extra), sizeof(struct netif_extra_info));
	SAME(net_extra, netif_extra_info, flags);
	SAME(net_extra, netif_extra_info, u.gso.size);
	SAME(net_extra, netif_extra_info, u.gso.type);
	SAME(net_extra, netif_extra_info, u.gso.features);
	assert_int_equal(NET_TXF_more_data, NETTXF_more_data);
	assert_int_equal(NET_RXF_extra_info, NETRXF_extra_info);
	assert_int_equal(NET_RXF_gso_prefix, NETRXF_gso_prefix);
	assert_int_equal(NET_RSP_DROPPED, NETIF_RSP_DROPPED);
	assert_int_equal(NET_RSP_ERROR, NETIF_RSP_ERROR);
	assert_int_equal(NET_RSP_OKAY, NETIF_RSP_OKAY);
	assert_int_equal(NET_RSP_NULL, NETIF_RSP_NULL);
	assert_int_equal(NET_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_GSO);
	assert_int_equal(NET_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
	assert_int_equal(NET_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
	assert_int_equal(NET_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_HASH);
	assert_int_equal(NET_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MAX);
	assert_int_equal(NET_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_FLAG_MORE);
	assert_int_equal(NET_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV4);
	assert_int_equal(NET_GSO_TYPE_TCPV6, XEN_NETIF_GSO_TYPE_TCPV6);
	assert_int_equal(NET_TXF_csum_blank, NETTXF_csum_blank);
	assert_int_equal(NET_TXF_data_validated, NETTXF_data_validated);
	assert_int_equal(NET_TXF_extra_info, NETTXF_extra_info);
	assert_int_equal(NET_RXF_csum_blank, NETRXF_csum_blank);
	assert_int_equal(NET_RXF_data_validated, NETRXF_data_validated);
	assert_int_equal(NET_RXF_more_data, NETRXF_more_data);
	assert_int_equal(net_tx_nr_ents(4096), __CONST_RING_SIZE(netif_tx, 4096));
	assert_int_equal(net_rx_nr_ents(4096), __CONST_RING_SIZE(netif_rx, 4096));
}

struct env {
	void *txp, *rxp;
	netif_tx_front_ring_t txf;
	netif_rx_front_ring_t rxf;
	struct netd_vif *v;
};

static void
env_init(struct env *e)
{
	e->txp = aligned_alloc(4096, 4096);
	e->rxp = aligned_alloc(4096, 4096);
	SHARED_RING_INIT((netif_tx_sring_t *)e->txp);
	SHARED_RING_INIT((netif_rx_sring_t *)e->rxp);
	FRONT_RING_INIT(&e->txf, (netif_tx_sring_t *)e->txp, 4096);
	FRONT_RING_INIT(&e->rxf, (netif_rx_sring_t *)e->rxp, 4096);
	e->v = malloc(sizeof(*e->v));
	assert_int_equal(netd_vif_init(e->v, e->txp, e->rxp, vif_gops, true), 0);
}

static void
env_fini(struct env *e)
{
	netd_vif_fini(e->v);
	free(e->v);
	free(e->txp);
	free(e->rxp);
}

static uint8_t
pat(uint32_t seed, uint32_t i)
{
	return (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

/* Send one frame the way Linux netfront lays it out; returns slots used. */
static unsigned
xen_send(struct env *e, uint32_t seed, uint32_t len, uint16_t first_off,
	 uint16_t flags, unsigned nextra, uint16_t *ids)
{
	uint32_t off = 0;
	unsigned gref = 1, slot = 0;
	int notify;

	do {
		netif_tx_request_t *r = RING_GET_REQUEST(&e->txf, e->txf.req_prod_pvt);
		uint16_t o = slot == 0 ? first_off : 0;
		uint32_t chunk = len - off;

		if (chunk > 4096u - o)
			chunk = 4096u - o;
		for (uint32_t i = 0; i < chunk; i++)
			pages[gref][o + i] = pat(seed, off + i);
		r->gref = gref;
		r->offset = o;
		r->id = (uint16_t)(100 + slot);
		r->size = (uint16_t)(slot == 0 ? len : chunk);
		r->flags = (uint16_t)((slot == 0 ? flags : 0) |
				      (off + chunk < len ? NETTXF_more_data : 0) |
				      (slot == 0 && nextra ? NETTXF_extra_info : 0));
		ids[slot] = r->id;
		e->txf.req_prod_pvt++;
		slot++;
		if (slot == 1) {
			for (unsigned x = 0; x < nextra; x++) {
				struct netif_extra_info *ex = (struct netif_extra_info *)
					RING_GET_REQUEST(&e->txf, e->txf.req_prod_pvt);

				memset(ex, 0, sizeof(netif_tx_request_t));
				ex->type = x == 0 ? XEN_NETIF_EXTRA_TYPE_GSO :
					   XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
				ex->flags = x + 1 < nextra ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
				ex->u.gso.size = 1448;
				ex->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
				ids[slot++] = 0xffff;
				e->txf.req_prod_pvt++;
			}
		}
		off += chunk;
		gref++;
	} while (off < len);
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e->txf, notify);
	(void)notify;
	return slot;
}

static void
check_tx_responses(struct env *e, unsigned nslots, const uint16_t *ids,
		   int16_t want)
{
	unsigned n = 0;

	while (RING_HAS_UNCONSUMED_RESPONSES(&e->txf)) {
		netif_tx_response_t *r = RING_GET_RESPONSE(&e->txf, e->txf.rsp_cons);

		assert_true(n < nslots);
		if (ids[n] == 0xffff) {
			assert_int_equal(r->status, NETIF_RSP_NULL);
		} else {
			assert_int_equal(r->id, ids[n]);
			assert_int_equal(r->status, want);
		}
		e->txf.rsp_cons++;
		n++;
	}
	assert_int_equal(n, nslots);
}

static void
test_tx_sizes(void **state)
{
	static const uint32_t sizes[] = { 60, 61, 64, 100, 1514, 2048, 4095,
					  4096, 4097, 8192, 9000, 16384,
					  32768, 60000, 65535 };
	static const uint16_t offs[] = { 0, 2, 64, 1000, 4000 };
	uint16_t ids[32];
	struct env e;

	(void)state;
	env_init(&e);
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (unsigned o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
			for (unsigned nx = 0; nx < 3; nx++) {
				uint32_t len = sizes[s], seed = s * 100 + o * 10 + nx;
				uint16_t fl = nx == 1 ? NETTXF_csum_blank | NETTXF_data_validated :
					      nx == 2 ? NETTXF_data_validated : 0;
				unsigned nslots;
				int rc;

				/* 65535 from offset 4000 would need 18 data slots: fine;
				 * first slot must carry >= 14 bytes. */
				if (4096u - offs[o] < 14)
					continue;
				got.n = 0;
				nslots = xen_send(&e, seed, len, offs[o], fl, nx, ids);
				rc = netd_vif_tx(e.v, 64, &sink);
				assert_int_equal(rc, 1);
				assert_int_equal(got.n, 1);
				assert_int_equal(got.len, len);
				for (uint32_t i = 0; i < len; i++)
					if (got.data[i] != pat(seed, i))
						fail_msg("size %u off %u byte %u differs",
							 len, offs[o], i);
				assert_int_equal(got.flags,
						 nx == 1 ? (NETRXF_csum_blank | NETRXF_data_validated) :
						 nx == 2 ? NETRXF_data_validated : 0);
				assert_true(e.v->need_notify);
				e.v->need_notify = false;
				check_tx_responses(&e, nslots, ids, NETIF_RSP_OKAY);
				/* Re-arm as netfront does after consuming. */
				e.txf.sring->rsp_event = e.txf.rsp_cons + 1;
			}
	env_fini(&e);
}

static void
test_rx_sizes(void **state)
{
	static const uint32_t sizes[] = { 60, 1514, 4095, 4096, 4097, 9000,
					  40000, 65535 };
	uint8_t *fr = malloc(65536);
	uint16_t posted_id[256];
	struct env e;

	(void)state;
	env_init(&e);
	/* Post 64 buffers: gref 100 + i, id 500 + i, as netfront does. */
	for (unsigned i = 0; i < 64; i++) {
		netif_rx_request_t *q = RING_GET_REQUEST(&e.rxf, e.rxf.req_prod_pvt);

		q->id = (uint16_t)(500 + i);
		q->gref = 100 + i;
		posted_id[e.rxf.req_prod_pvt % 256] = q->id;
		e.rxf.req_prod_pvt++;
	}
	{
		int notify;

		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e.rxf, notify);
		(void)notify;
	}
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t len = sizes[s], at = 0;
		bool more = true;
		int notify;

		for (uint32_t i = 0; i < len; i++)
			fr[i] = pat(s + 7, i);
		assert_int_equal(netd_vif_rx_queue(e.v, fr, len,
						   NETRXF_data_validated), 0);
		assert_int_equal(netd_vif_rx_flush(e.v), 1);
		for (unsigned k = 0; more; k++) {
			netif_rx_response_t *r;

			assert_true(RING_HAS_UNCONSUMED_RESPONSES(&e.rxf));
			r = RING_GET_RESPONSE(&e.rxf, e.rxf.rsp_cons);
			/* The response sits in its request's slot. */
			assert_int_equal(r->id, posted_id[e.rxf.rsp_cons % 256]);
			assert_true(r->status > 0);
			assert_true(r->offset + r->status <= 4096);
			assert_int_equal(r->flags & NETRXF_data_validated,
					 k == 0 ? NETRXF_data_validated : 0);
			memcpy(fr + at, pages[100 + (r->id - 500)] + r->offset,
			       (size_t)r->status);
			at += (uint32_t)r->status;
			more = r->flags & NETRXF_more_data;
			/* Repost the same buffer. */
			{
				netif_rx_request_t *q = RING_GET_REQUEST(&e.rxf, e.rxf.req_prod_pvt);

				q->id = r->id;
				q->gref = 100 + (r->id - 500);
				posted_id[e.rxf.req_prod_pvt % 256] = q->id;
				e.rxf.req_prod_pvt++;
			}
			e.rxf.rsp_cons++;
		}
		assert_int_equal(at, len);
		for (uint32_t i = 0; i < len; i++)
			assert_int_equal(fr[i], pat(s + 7, i));
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e.rxf, notify);
		(void)notify;
	}
	env_fini(&e);
	free(fr);
}

/* Each netback limit through the same Xen-built ring. */
static void
test_tx_limits(void **state)
{
	struct {
		const char *name;
		unsigned n;
		netif_tx_request_t s[24];
		int want_rc;	/* of netd_vif_tx: 1 (answered) or -EPROTO */
		int16_t status;
	} cases[] = {
		{ "crosspage", 1, { { 1, 4000, 0, 1, 200 } }, -EPROTO, 0 },
		{ "short", 1, { { 1, 0, 0, 1, 13 } }, 1, NETIF_RSP_ERROR },
		{ "eth", 1, { { 1, 0, 0, 1, 14 } }, 1, NETIF_RSP_OKAY },
		{ "bigger", 2, { { 1, 0, NETTXF_more_data, 1, 100 },
				 { 2, 0, 0, 2, 101 } }, 1, NETIF_RSP_ERROR },
		{ "later cross", 2, { { 1, 0, NETTXF_more_data, 1, 300 },
				      { 2, 4000, 0, 2, 200 } }, -EPROTO, 0 },
		{ "zero frags", 3, { { 1, 0, NETTXF_more_data, 1, 60 },
				     { 2, 0, NETTXF_more_data, 2, 0 },
				     { 3, 0, 0, 3, 0 } }, 1, NETIF_RSP_OKAY },
		{ "bad gref", 1, { { 9999, 0, 0, 1, 60 } }, 1, NETIF_RSP_ERROR },
		{ "incomplete", 1, { { 1, 0, NETTXF_more_data, 1, 60 } }, -EPROTO, 0 },
	};
	uint16_t ids[32];

	(void)state;
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct env e;
		int rc, notify;

		env_init(&e);
		for (unsigned i = 0; i < cases[c].n; i++) {
			*RING_GET_REQUEST(&e.txf, e.txf.req_prod_pvt) = cases[c].s[i];
			ids[i] = cases[c].s[i].id;
			e.txf.req_prod_pvt++;
		}
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e.txf, notify);
		(void)notify;
		rc = netd_vif_tx(e.v, 64, &sink);
		if (rc != cases[c].want_rc)
			fail_msg("%s: rc %d", cases[c].name, rc);
		if (rc == 1)
			check_tx_responses(&e, cases[c].n, ids, cases[c].status);
		env_fini(&e);
	}
	/* 18 data slots pass, 19 drop, 20 are fatal. */
	for (unsigned n = 18; n <= 20; n++) {
		struct env e;
		int rc, notify;

		env_init(&e);
		for (unsigned i = 0; i < n; i++) {
			netif_tx_request_t *r = RING_GET_REQUEST(&e.txf, e.txf.req_prod_pvt);

			*r = (netif_tx_request_t){ .gref = 1 + i, .offset = 0,
				.flags = i + 1 < n ? NETTXF_more_data : 0,
				.id = (uint16_t)i, .size = (uint16_t)(i == 0 ? 60 * n : 60) };
			ids[i] = (uint16_t)i;
			e.txf.req_prod_pvt++;
		}
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e.txf, notify);
		(void)notify;
		rc = netd_vif_tx(e.v, 64, &sink);
		if (n == 20) {
			assert_int_equal(rc, -EPROTO);
		} else {
			assert_int_equal(rc, 1);
			check_tx_responses(&e, n, ids, n == 18 ? NETIF_RSP_OKAY :
					   NETIF_RSP_ERROR);
		}
		env_fini(&e);
	}
}

static void
test_extra_limits(void **state)
{
	static const struct { uint8_t type, gtype; uint16_t gsize; int v; } c[] = {
		{ XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV6, 1400, NETD_TX_OK },
		{ XEN_NETIF_EXTRA_TYPE_GSO, 3, 1400, NETD_TX_FATAL },
		{ XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, 0, NETD_TX_FATAL },
		{ XEN_NETIF_EXTRA_TYPE_NONE, 0, 0, NETD_TX_FATAL },
		{ XEN_NETIF_EXTRA_TYPE_HASH, 0, 0, NETD_TX_OK },
		{ XEN_NETIF_EXTRA_TYPE_MAX, 0, 0, NETD_TX_FATAL },
	};
	static uint8_t buf[65536];

	(void)state;
	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct net_tx_request s[2] = { { 1, 0, NETTXF_extra_info, 1, 60 } };
		struct net_extra ex = { .type = c[k].type };
		struct netd_tx_pkt pkt;

		ex.u.gso.type = c[k].gtype;
		ex.u.gso.size = c[k].gsize;
		memcpy(&s[1], &ex, sizeof(ex));
		assert_int_equal(netd_tx_parse(s, 1, &gops, buf, sizeof(buf), &pkt),
				 NETD_TX_MORE);
		assert_int_equal(netd_tx_parse(s, 2, &gops, buf, sizeof(buf), &pkt),
				 c[k].v);
		if (c[k].v == NETD_TX_OK) {
			assert_int_equal(pkt.nslots, 2);
			assert_int_equal(pkt.extra_mask, 2);
			assert_int_equal(pkt.len, 60);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_tx_sizes),
		cmocka_unit_test(test_rx_sizes),
		cmocka_unit_test(test_tx_limits),
		cmocka_unit_test(test_extra_limits),
		cmocka_unit_test_setup_teardown(test_tx_sizes, use_batch, use_single),
		cmocka_unit_test_setup_teardown(test_rx_sizes, use_batch, use_single),
		cmocka_unit_test_setup_teardown(test_tx_limits, use_batch, use_single),
		cmocka_unit_test_setup_teardown(test_extra_limits, use_batch, use_single),
	};

	pages = aligned_alloc(4096, (size_t)NPAGES * 4096);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
