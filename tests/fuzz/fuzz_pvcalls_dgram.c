/*
 * libFuzzer target: the datagram framing of feature-x-dgram, as tcpipd
 * decodes a frontend's `out` half (tcp_dgram_decode) and as both sides
 * check a record header (pvc_dgram_check).  The input is a ring: its
 * order, the consumer index, the queued count, batch limits, then the
 * bytes of the half.  Checks what the sending loop relies on: a decode
 * is -EPROTO/-EINVAL or a count <= max; every record's payload iovecs
 * lie inside the half's pages, add up to its len, follow its header
 * exactly (same bytes as the ring), stay within max_iov; records are
 * consecutive, PVC_DGRAM_REC(len) each, never beyond what is queued, and
 * len <= PVC_DGRAM_MAX.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/tcpipd/tcpipd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPG 8u
static uint8_t pg[NPG][RING_PAGE_SIZE];

/* The byte at free-running index idx of the half (base, sz). */
static uint8_t *
at(uint8_t *const *pages, uint32_t base, uint32_t sz, uint32_t idx)
{
	uint32_t off = base + (idx & (sz - 1));

	return pages[off / RING_PAGE_SIZE] + off % RING_PAGE_SIZE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pages[NPG] = { pg[5], pg[2], pg[7], pg[0],
				pg[3], pg[6], pg[1], pg[4] };
	struct tcp_dgram d[16];
	struct iovec iov[64];
	uint32_t order, sz, np, base, cons, queued, max, max_iov, idx, total = 0;
	unsigned used = 0;
	int n;

	if (size < 12)
		return 0;
	order = 1u + data[0] % 2u;		/* halves of 4 or 8 KiB */
	sz = PVC_RING_SIZE(order);
	np = 1u << order;
	base = (data[1] & 1) ? sz : 0;
	memcpy(&cons, data + 2, 4);
	memcpy(&queued, data + 6, 4);
	if (data[1] & 2)
		cons &= ~(PVC_DGRAM_ALIGN - 1u);	/* mostly well placed */
	queued %= sz + 1;
	max = 1u + data[10] % 16u;
	max_iov = TCP_DGRAM_IOV_MAX + data[11] % (64u - TCP_DGRAM_IOV_MAX + 1u);
	data += 12;
	size -= 12;
	/* The ring's bytes, from the consumer index on. */
	for (uint32_t i = 0; i < sz; i++)
		*at(pages, base, sz, cons + i) = size ? data[i % size] : 0;

	n = tcp_dgram_decode(pages, np, base, sz, cons, queued, d, max, iov,
			     max_iov);
	if (n == -EPROTO || n == -EINVAL)
		return 0;
	if (n < 0 || (unsigned)n > max || (queued > 0 && n == 0))
		abort();
	idx = cons;
	for (int i = 0; i < n; i++) {
		struct pvc_dgram_hdr h;
		uint64_t sum = 0;
		uint32_t p = idx + (uint32_t)sizeof(h);

		for (unsigned b = 0; b < sizeof(h); b++)
			((uint8_t *)&h)[b] = *at(pages, base, sz, idx + b);
		if (h.len != d[i].len || h.len > PVC_DGRAM_MAX || h.flags != 0 ||
		    d[i].rec != PVC_DGRAM_REC(h.len) ||
		    d[i].to.sin_family != AF_INET ||
		    d[i].to.sin_port != h.port ||
		    d[i].to.sin_addr.s_addr != h.addr ||
		    d[i].iov_first != used ||
		    d[i].iov_first + d[i].niov > max_iov)
			abort();
		for (unsigned k = 0; k < d[i].niov; k++) {
			const struct iovec *v = &iov[d[i].iov_first + k];
			int ok = 0;

			/* Each piece is the next stretch of the payload. */
			if (v->iov_len == 0 ||
			    (uint8_t *)v->iov_base != at(pages, base, sz, p))
				abort();
			for (unsigned q = 0; q < np; q++)
				if ((uint8_t *)v->iov_base >= pages[q] &&
				    (uint8_t *)v->iov_base + v->iov_len <=
					    pages[q] + RING_PAGE_SIZE)
					ok = 1;
			if (!ok)
				abort();
			p += (uint32_t)v->iov_len;
			sum += v->iov_len;
		}
		if (sum != h.len)
			abort();
		used += d[i].niov;
		total += d[i].rec;
		idx += d[i].rec;
		if (total > queued)
			abort();
		if (pvc_dgram_check(&h, queued - (total - d[i].rec), false) !=
		    d[i].rec)
			abort();
	}
	return 0;
}
