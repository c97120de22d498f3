/*
 * libFuzzer: appkit's NET frontend's parse of netd's rx answers
 * (ak_net__rx_step).  The input is a sequence of 9-byte records: one
 * control byte (bit 0: the id posted in the slot is the answer's own id,
 * else the control byte's upper bits) and an 8-byte rx answer.  Each step's
 * copy is performed from a private 4 KiB page into a private 64 KiB frame
 * (ASan sees any overrun).  Invariants: a copy never leaves its page or the
 * frame, a delivered frame is at least an Ethernet header and at most
 * AK_NET_FRAME_MAX and equals the bytes copied since its start, no frame
 * takes more than AK_NET_RX_SLOTS_MAX data slots, every -EPROTO has a
 * reason.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appkit/appkit_internal.h"
#include "morgana/proto/net_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *page, *frame;
	struct ak_net_rx_asm a = { 0 };
	uint32_t copied = 0;
	unsigned slots = 0;

	if (page == NULL) {
		page = malloc(NET_PAGE_SIZE);
		frame = malloc(AK_NET_FRAME_MAX);
		if (page == NULL || frame == NULL)
			abort();
		memset(page, 0xa5, NET_PAGE_SIZE);
	}
	for (; size >= 9; data += 9, size -= 9) {
		struct net_rx_response r;
		struct ak_net_rx_step st;
		const char *why = NULL;
		uint16_t posted;
		bool extra = a.extra_next;
		int rc;

		memcpy(&r, data + 1, sizeof(r));
		posted = (data[0] & 1) ? r.id : (uint16_t)(data[0] >> 1);
		rc = ak_net__rx_step(&a, &r, posted, &st, &why);
		if (rc < 0) {
			if (rc != -EPROTO || why == NULL)
				abort();
			return 0;	/* the connection would end here */
		}
		if (!extra) {
			if (!a.in_frame && !st.end)
				abort();
			if (a.nslots == 1 && !extra)
				copied = 0, slots = 0;
			slots++;
			if (slots > AK_NET_RX_SLOTS_MAX)
				abort();
		}
		if (st.len > 0) {
			if (st.off + st.len > NET_PAGE_SIZE ||
			    st.at + st.len > AK_NET_FRAME_MAX || st.at != copied)
				abort();
			memcpy(frame + st.at, page + st.off, st.len);
			copied += st.len;
		}
		if (st.deliver) {
			if (!st.end || a.len != copied || a.len < NET_ETH_HLEN ||
			    a.len > AK_NET_FRAME_MAX)
				abort();
		}
		if (st.end)
			copied = 0, slots = 0;
	}
	return 0;
}
