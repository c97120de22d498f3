/*
 * netd's learning switch: flooding of broadcast and unknown unicast,
 * learning, no hair-pinning, MAC aging, port removal, flow control; and
 * the checksum completion for a plain tap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "services/netd/netd.h"

struct port {
	unsigned got;
	bool full;
};

static void
out(void *arg, const uint8_t *f, uint32_t len, uint16_t rxflags)
{
	(void)f;
	(void)len;
	(void)rxflags;
	((struct port *)arg)->got++;
}

static bool
room(void *arg)
{
	return !((struct port *)arg)->full;
}

static const struct netd_port_ops ops = { out, room };

static void
frame(uint8_t *f, uint8_t dst, uint8_t src)
{
	memset(f, 0, 60);
	f[0] = 2;
	f[5] = dst;
	f[6] = 2;
	f[11] = src;
	if (dst == 0xff)
		memset(f, 0xff, 6);
}

static void
test_switch(void **state)
{
	struct netd_sw *sw;
	struct port p[3] = { 0 };
	int id[3];
	uint8_t f[60];
	const uint64_t s = 1000000000u;

	(void)state;
	assert_int_equal(netd_sw_open(10, &sw), 0);
	for (int i = 0; i < 3; i++)
		assert_true((id[i] = netd_sw_add_port(sw, &ops, &p[i])) >= 0);
	frame(f, 0xff, 1);		/* broadcast from port 0: floods */
	netd_sw_input(sw, id[0], f, 60, 0, 1 * s);
	assert_int_equal(p[0].got, 0);
	assert_int_equal(p[1].got, 1);
	assert_int_equal(p[2].got, 1);
	frame(f, 1, 2);			/* to the learnt MAC 1: port 0 only */
	netd_sw_input(sw, id[1], f, 60, 0, 2 * s);
	assert_int_equal(p[0].got, 1);
	assert_int_equal(p[2].got, 1);
	frame(f, 9, 2);			/* unknown unicast floods */
	netd_sw_input(sw, id[1], f, 60, 0, 2 * s);
	assert_int_equal(p[0].got, 2);
	assert_int_equal(p[2].got, 2);
	frame(f, 2, 1);			/* hair-pin: never back out */
	netd_sw_input(sw, id[1], f, 60, 0, 3 * s);
	assert_int_equal(p[1].got, 1);
	assert_int_equal(netd_sw_mac_count(sw, 3 * s), 2);
	/* Aging: after 10 s MAC 1 is unknown again and floods. */
	frame(f, 1, 3);
	netd_sw_input(sw, id[2], f, 60, 0, 20 * s);
	assert_int_equal(p[1].got, 2);
	/* Removing a port forgets its MACs. */
	netd_sw_del_port(sw, id[2]);
	assert_int_equal(netd_sw_mac_count(sw, 20 * s), 0);
	/* Flow control. */
	assert_true(netd_sw_room(sw, id[0]));
	p[1].full = true;
	assert_false(netd_sw_room(sw, id[0]));
	assert_true(netd_sw_room(sw, id[1]));
	netd_sw_close(sw);
}

static void
test_csum(void **state)
{
	/* An IPv4 UDP datagram with a blank checksum, completed, verifies. */
	uint8_t f[14 + 20 + 8 + 5] = { 0 };
	uint32_t sum = 0;

	(void)state;
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 20 + 8 + 5;
	f[22] = 64;
	f[23] = 17;
	f[26] = 10; f[29] = 1;
	f[30] = 10; f[33] = 2;
	f[35] = 7; f[37] = 9;
	f[39] = 13;
	memcpy(f + 42, "hello", 5);
	assert_int_equal(net_csum_fill(f, sizeof(f)), 0);
	/* pseudo header + UDP must fold to 0xffff, i.e. net_csum == 0 */
	for (int i = 26; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	sum += 17 + 13;
	assert_int_equal(net_csum(f + 34, 13, sum), 0);
	f[20] = 0x20;			/* a fragment: refused */
	assert_int_equal(net_csum_fill(f, sizeof(f)), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_csum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
