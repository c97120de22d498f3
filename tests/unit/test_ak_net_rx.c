/*
 * The NET frontend's parse of netd's rx answers (ak_net__rx_step,
 * appkit/net_ring.c): a frame chained over three slots is copied to the
 * right places and delivered once; a runt and a fragment with an error
 * status or crossing its page drop only their frame; an answer in another
 * request's slot, a chain of 20 data slots and 5 extra-info slots end the
 * connection; extra-info slots consume their slots, and a GSO extra (never
 * asked for) drops its frame.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "appkit/appkit_internal.h"
#include "morgana/proto/net_proto.h"

static int
step(struct ak_net_rx_asm *a, uint16_t id, uint16_t off, int16_t status,
     uint16_t flags, struct ak_net_rx_step *st)
{
	struct net_rx_response r = { .id = id, .offset = off, .flags = flags,
				     .status = status };
	const char *why = NULL;
	int rc = ak_net__rx_step(a, &r, id, st, &why);

	if (rc < 0)
		assert_non_null(why);
	return rc;
}

static int
extra(struct ak_net_rx_asm *a, uint8_t type, bool more,
      struct ak_net_rx_step *st)
{
	struct net_extra ex = { .type = type,
				.flags = more ? NET_EXTRA_FLAG_MORE : 0 };
	struct net_rx_response r;
	const char *why = NULL;

	memcpy(&r, &ex, sizeof(r));
	/* The posted id is not looked at for an extra slot. */
	return ak_net__rx_step(a, &r, 0xffff, st, &why);
}

static void
chained_frame(void **state)
{
	struct ak_net_rx_asm a = { 0 };
	struct ak_net_rx_step st;

	(void)state;
	assert_int_equal(step(&a, 3, 0, 4096, NET_RXF_more_data, &st), 0);
	assert_false(st.end);
	assert_int_equal(st.at, 0);
	assert_int_equal(st.len, 4096);
	assert_int_equal(step(&a, 7, 0, 4096, NET_RXF_more_data, &st), 0);
	assert_int_equal(st.at, 4096);
	assert_int_equal(step(&a, 1, 100, 500, 0, &st), 0);
	assert_int_equal(st.off, 100);
	assert_int_equal(st.at, 8192);
	assert_true(st.end);
	assert_true(st.deliver);
	assert_int_equal(a.len, 8692);
	/* The next answer starts a new frame. */
	assert_int_equal(step(&a, 2, 0, 60, 0, &st), 0);
	assert_true(st.deliver);
	assert_int_equal(st.at, 0);
	assert_int_equal(a.len, 60);
}

static void
bad_fragments_drop_their_frame(void **state)
{
	struct ak_net_rx_asm a = { 0 };
	struct ak_net_rx_step st;

	(void)state;
	assert_int_equal(step(&a, 0, 0, 10, 0, &st), 0);	/* runt */
	assert_true(st.end);
	assert_false(st.deliver);
	assert_int_equal(step(&a, 0, 0, NET_RSP_ERROR, NET_RXF_more_data, &st), 0);
	assert_int_equal(st.len, 0);
	assert_int_equal(step(&a, 1, 0, 100, 0, &st), 0);
	assert_true(st.end);
	assert_false(st.deliver);
	assert_int_equal(step(&a, 2, 4000, 200, 0, &st), 0);	/* crosses */
	assert_int_equal(st.len, 0);
	assert_false(st.deliver);
	/* Over 64 KiB in all: dropped, never copied past the buffer. */
	for (int i = 0; i < 16; i++) {
		assert_int_equal(step(&a, (uint16_t)i, 0, 4096, NET_RXF_more_data, &st), 0);
		assert_true(st.at + st.len <= AK_NET_FRAME_MAX);
	}
	assert_int_equal(step(&a, 16, 0, 4096, 0, &st), 0);
	assert_int_equal(st.len, 0);
	assert_false(st.deliver);
	assert_int_equal(step(&a, 3, 0, 64, 0, &st), 0);
	assert_true(st.deliver);
}

static void
violations_end_the_connection(void **state)
{
	struct ak_net_rx_asm a = { 0 };
	struct ak_net_rx_step st;
	struct net_rx_response r = { .id = 5, .status = 64 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(ak_net__rx_step(&a, &r, 4, &st, &why), -EPROTO);
	assert_non_null(why);
	a = (struct ak_net_rx_asm){ 0 };
	for (unsigned i = 0; i < AK_NET_RX_SLOTS_MAX; i++)
		assert_int_equal(step(&a, (uint16_t)i, 0, 100, NET_RXF_more_data, &st), 0);
	assert_int_equal(step(&a, 99, 0, 100, NET_RXF_more_data, &st), -EPROTO);
	a = (struct ak_net_rx_asm){ 0 };
	assert_int_equal(step(&a, 0, 0, 100, NET_RXF_extra_info, &st), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(extra(&a, NET_EXTRA_TYPE_HASH, true, &st), 0);
	assert_int_equal(extra(&a, NET_EXTRA_TYPE_HASH, false, &st), -EPROTO);
}

static void
extras(void **state)
{
	struct ak_net_rx_asm a = { 0 };
	struct ak_net_rx_step st;

	(void)state;
	/* A hash extra, then the rest of the frame. */
	assert_int_equal(step(&a, 0, 0, 100, NET_RXF_extra_info | NET_RXF_more_data, &st), 0);
	assert_int_equal(extra(&a, NET_EXTRA_TYPE_HASH, false, &st), 0);
	assert_false(st.end);
	assert_int_equal(step(&a, 1, 0, 50, 0, &st), 0);
	assert_int_equal(st.at, 100);
	assert_true(st.deliver);
	assert_int_equal(a.len, 150);
	/* A frame ending on its extras; a GSO extra drops it. */
	assert_int_equal(step(&a, 2, 0, 100, NET_RXF_extra_info, &st), 0);
	assert_int_equal(extra(&a, NET_EXTRA_TYPE_GSO, false, &st), 0);
	assert_true(st.end);
	assert_false(st.deliver);
	/* An invalid type drops too. */
	assert_int_equal(step(&a, 2, 0, 100, NET_RXF_extra_info, &st), 0);
	assert_int_equal(extra(&a, 9, false, &st), 0);
	assert_true(st.end);
	assert_false(st.deliver);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chained_frame),
		cmocka_unit_test(bad_fragments_drop_their_frame),
		cmocka_unit_test(violations_end_the_connection),
		cmocka_unit_test(extras),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
