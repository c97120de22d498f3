/*
 * libFuzzer target for the link's record decoders (share_internal.h):
 * arbitrary bytes as a hello, a channel or an offer record, with an
 * arbitrary fd count.  The first byte picks the decoder (low two bits) and
 * the fd count; the rest is the record.  A record that decodes must satisfy what the backend then
 * relies on without re-checking.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/share_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring_link_hello_info h;
	unsigned nfds;
	uint32_t port, id;
	uint64_t olen;
	uint8_t *rec;

	if (size < 1)
		return 0;
	nfds = (data[0] >> 2) % (RING_LINK_MAX_FDS + 1);
	/* A private heap copy, so that ASan sees any read past the end. */
	rec = malloc(size - 1 ? size - 1 : 1);
	if (rec == NULL)
		return 0;
	memcpy(rec, data + 1, size - 1);
	if ((data[0] & 3) == 2) {
		/* Offers travel backend -> frontend: one fd, a bounded length. */
		if (ring_link__decode_offer(rec, size - 1, nfds, &id, &olen) == 0 &&
		    (nfds != 1 || olen == 0 || olen > RING_LINK_OFFER_MAX_LEN))
			abort();
	} else if (data[0] & 1) {
		if (ring_link__decode_chan(rec, size - 1, nfds, &port) == 0 &&
		    (port == 0 || port > RING_LINK_MAX_PORTS || nfds != 2))
			abort();
	} else if (ring_link__decode_hello(rec, size - 1, nfds, &h) == 0) {
		uint64_t total = (uint64_t)h.rw_pages + h.ro_pages;

		if (nfds != 2 || h.ro_pages == 0 ||
		    total > RING_SHARE_MAX_REFS ||
		    h.rw_pages <= ring_gnt_table_pages((uint32_t)total) ||
		    strnlen(h.device, sizeof(h.device)) == sizeof(h.device) ||
		    !ring_link__device_ok(h.device))
			abort();
	}
	free(rec);
	return 0;
}
