/*
 * libFuzzer: netd_tx_parse on arbitrary slots.  The input is a sequence
 * of 12-byte tx slots; grant copies read from a fake 4-page table and
 * fail for any other ref.  Invariants: a verdict other than MORE never
 * claims more slots than given or than the cap; an OK frame is exactly the
 * first slot's total size and at least an Ethernet header; every DROP and
 * FATAL carries a reason.  ASan/UBSan catch any out-of-bounds copy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/netd/netd.h"

static uint8_t fake[4][4096];

static int
cf(void *arg, uint32_t gref, uint32_t off, void *dst, uint32_t len)
{
	(void)arg;
	if (gref >= 4 || off + len > 4096)
		return -22;
	memcpy(dst, fake[gref] + off, len);
	return 0;
}

static int
ct(void *arg, uint32_t gref, uint32_t off, const void *src, uint32_t len)
{
	(void)arg;
	(void)gref;
	(void)off;
	(void)src;
	(void)len;
	return -22;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[NETD_FRAME_MAX];
	struct net_tx_request slots[64];
	struct netd_gops g = { cf, ct, NULL, NULL };
	struct netd_tx_pkt pkt;
	unsigned n = (unsigned)(size / sizeof(slots[0]));
	int v;

	if (n > 64)
		n = 64;
	memcpy(slots, data, n * sizeof(slots[0]));
	v = netd_tx_parse(slots, n, &g, buf, sizeof(buf), &pkt);
	if (v == NETD_TX_MORE)
		return 0;
	if (v != NETD_TX_FATAL && pkt.nslots > n)
		abort();
	if (v != NETD_TX_FATAL && pkt.nslots > NETD_TX_SLOTS_MAX)
		abort();
	if (v == NETD_TX_OK) {
		if (pkt.len != slots[0].size || pkt.len < NET_ETH_HLEN)
			abort();
	}
	if ((v == NETD_TX_DROP || v == NETD_TX_FATAL) && pkt.why == NULL)
		abort();
	return 0;
}
