/*
 * morgana/ring.h against Xen's own public headers: the shared header
 * offsets, the slot sizes of RING_DEFINE over Xen's wire structs, the
 * number of slots per page, and the bytes each side's init writes.
 * Most checks are _Static_assert (a mismatch does not compile); the rest
 * need ring_nr_ents() at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/xen_ring_compat.h"

RING_DEFINE(mtx, struct netif_tx_request, struct netif_tx_response);
RING_DEFINE(mrx, struct netif_rx_request, struct netif_rx_response);
RING_DEFINE(mctrl, struct xen_netif_ctrl_request,
	    struct xen_netif_ctrl_response);
RING_DEFINE(mblk, struct blkif_request, struct blkif_response);

/* Header offsets of struct ring_sring == struct <tag>_sring, per ring. */
#define HDR_SAME(tag)                                                        \
	_Static_assert(offsetof(struct ring_sring, req_prod) ==              \
			   offsetof(struct tag##_sring, req_prod),           \
		       #tag " req_prod");                                    \
	_Static_assert(offsetof(struct ring_sring, req_event) ==             \
			   offsetof(struct tag##_sring, req_event),          \
		       #tag " req_event");                                   \
	_Static_assert(offsetof(struct ring_sring, rsp_prod) ==              \
			   offsetof(struct tag##_sring, rsp_prod),           \
		       #tag " rsp_prod");                                    \
	_Static_assert(offsetof(struct ring_sring, rsp_event) ==             \
			   offsetof(struct tag##_sring, rsp_event),          \
		       #tag " rsp_event");                                   \
	_Static_assert(offsetof(struct ring_sring, pvt) ==                   \
			   offsetof(struct tag##_sring, pvt),                \
		       #tag " pvt");                                         \
	_Static_assert(offsetof(struct ring_sring, pad) ==                   \
			   offsetof(struct tag##_sring, __pad),              \
		       #tag " pad");                                         \
	_Static_assert(sizeof(((struct ring_sring *)0)->pad) ==              \
			   sizeof(((struct tag##_sring *)0)->__pad),         \
		       #tag " pad size");                                    \
	_Static_assert(offsetof(struct ring_sring, slots) ==                 \
			   offsetof(struct tag##_sring, ring),               \
		       #tag " ring");                                        \
	_Static_assert(RING_HDR_SIZE == offsetof(struct tag##_sring, ring),  \
		       #tag " header size");                                 \
	_Static_assert(sizeof(((struct ring_sring *)0)->req_prod) ==         \
			   sizeof(RING_IDX),                                 \
		       #tag " index width")

HDR_SAME(netif_tx);
HDR_SAME(netif_rx);
HDR_SAME(xen_netif_ctrl);
HDR_SAME(blkif);

/* Slot sizes and alignment of RING_DEFINE == DEFINE_RING_TYPES. */
#define SLOT_SAME(ours, tag)                                                 \
	_Static_assert(sizeof(union ours##_slot) ==                          \
			   sizeof(union tag##_sring_entry),                  \
		       #tag " slot size");                                   \
	_Static_assert(_Alignof(union ours##_slot) ==                        \
			   _Alignof(union tag##_sring_entry),                \
		       #tag " slot alignment")

SLOT_SAME(mtx, netif_tx);
SLOT_SAME(mrx, netif_rx);
SLOT_SAME(mctrl, xen_netif_ctrl);
SLOT_SAME(mblk, blkif);

/* The sizes ref/xen-rings.md §1.2 documents, from Xen's own macro. */
_Static_assert(sizeof(union netif_tx_sring_entry) == 12, "tx slot 12");
_Static_assert(sizeof(union netif_rx_sring_entry) == 8, "rx slot 8");
_Static_assert(__CONST_RING_SIZE(netif_tx, 4096) == 256, "tx 256");
_Static_assert(__CONST_RING_SIZE(netif_rx, 4096) == 256, "rx 256");
_Static_assert(__CONST_RING_SIZE(xen_netif_ctrl, 4096) == 128, "ctrl 128");
_Static_assert(__CONST_RING_SIZE(blkif, 4096) == 32, "blkif 32");

static void
test_nr_ents_page(void **state)
{
	(void)state;
	assert_int_equal(mtx_nr_ents(4096), __CONST_RING_SIZE(netif_tx, 4096));
	assert_int_equal(mrx_nr_ents(4096), __CONST_RING_SIZE(netif_rx, 4096));
	assert_int_equal(mctrl_nr_ents(4096),
			 __CONST_RING_SIZE(xen_netif_ctrl, 4096));
	assert_int_equal(mblk_nr_ents(4096), __CONST_RING_SIZE(blkif, 4096));
	/* Multi-page rings (blkif ring-page-order, netif tx at 8 KiB). */
	assert_int_equal(mblk_nr_ents(8192), __CONST_RING_SIZE(blkif, 8192));
	assert_int_equal(mblk_nr_ents(16384), __CONST_RING_SIZE(blkif, 16384));
	assert_int_equal(mtx_nr_ents(8192), __CONST_RING_SIZE(netif_tx, 8192));
}

/* ring_nr_ents == Xen's __CONST_RING_SIZE for every size up to 64 KiB. */
static void
test_nr_ents_sweep(void **state)
{
	(void)state;
	for (size_t sz = RING_HDR_SIZE; sz <= 65536; sz++) {
		assert_int_equal(mtx_nr_ents(sz),
				 __CONST_RING_SIZE(netif_tx, sz));
		assert_int_equal(mrx_nr_ents(sz),
				 __CONST_RING_SIZE(netif_rx, sz));
		assert_int_equal(mctrl_nr_ents(sz),
				 __CONST_RING_SIZE(xen_netif_ctrl, sz));
		assert_int_equal(mblk_nr_ents(sz),
				 __CONST_RING_SIZE(blkif, sz));
	}
}

/*
 * XEN_FRONT_RING_INIT and ring_front_init write the same header bytes over
 * a dirty page and leave the slots alone; both back ends start at the same
 * indices.
 */
static void
test_init_bytes(void **state)
{
	static _Alignas(4096) unsigned char xp[4096], mp[4096];
	struct netif_tx_front_ring xf;
	struct netif_tx_back_ring xb;
	struct ring_front f;
	struct ring_back b;
	(void)state;

	memset(xp, 0xa5, sizeof(xp));
	memset(mp, 0xa5, sizeof(mp));
	XEN_FRONT_RING_INIT(&xf, (struct netif_tx_sring *)xp, sizeof(xp));
	assert_int_equal(mtx_front_init(&f, mp, sizeof(mp)), 0);
	assert_memory_equal(xp, mp, sizeof(xp));
	assert_int_equal(f.nr_ents, xf.nr_ents);
	assert_int_equal(f.req_prod_pvt, xf.req_prod_pvt);
	assert_int_equal(f.rsp_cons, xf.rsp_cons);
	assert_ptr_equal(f.slots - mp, (unsigned char *)xf.sring->ring - xp);

	BACK_RING_INIT(&xb, (struct netif_tx_sring *)xp, sizeof(xp));
	assert_int_equal(mtx_back_attach(&b, mp, sizeof(mp)), 0);
	assert_int_equal(b.nr_ents, xb.nr_ents);
	assert_int_equal(b.rsp_prod_pvt, xb.rsp_prod_pvt);
	assert_int_equal(b.req_cons, xb.req_cons);

	/* Slot i of ours is Xen's ring[i] for i in [0, nr_ents). */
	for (uint32_t i = 0; i < f.nr_ents; i++)
		assert_ptr_equal(f.slots + i * f.slot_sz - mp,
				 (unsigned char *)RING_GET_REQUEST(&xf, i) - xp);
	assert_ptr_equal(f.slots + f.nr_ents * f.slot_sz - mp,
			 (unsigned char *)RING_GET_REQUEST(&xf, xf.nr_ents - 1) +
			     sizeof(union netif_tx_sring_entry) - xp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nr_ents_page),
		cmocka_unit_test(test_nr_ents_sweep),
		cmocka_unit_test(test_init_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
