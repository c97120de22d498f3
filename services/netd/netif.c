/*
 * netif tx parsing (pure: slots in, verdict and frame out) and checksum
 * completion.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "netd.h"

uint64_t
netd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
verdict(struct netd_tx_pkt *pkt, int v, const char *why)
{
	pkt->why = why;
	return v;
}

int
netd_tx_parse(const struct net_tx_request *slots, unsigned n,
	      const struct netd_gops *g, uint8_t *buf, size_t bufsz,
	      struct netd_tx_pkt *pkt)
{
	const struct net_tx_request *first;
	unsigned i, first_data, ndata, nextra = 0;
	uint32_t remaining, off;
	int drop = 0;
	const char *drop_why = NULL;

	memset(pkt, 0, sizeof(*pkt));
	if (n == 0)
		return NETD_TX_MORE;
	first = &slots[0];
	i = 1;
	/* Extra-info slots right after the first, while FLAG_MORE. */
	if (first->flags & NET_TXF_extra_info) {
		struct net_extra ex;

		do {
			if (i >= n)
				return NETD_TX_MORE;
			if (nextra == NET_EXTRA_TYPE_MAX - 1)
				return verdict(pkt, NETD_TX_FATAL,
					       "too many extra-info slots");
			memcpy(&ex, &slots[i], sizeof(ex));
			if (ex.type == NET_EXTRA_TYPE_NONE ||
			    ex.type >= NET_EXTRA_TYPE_MAX)
				return verdict(pkt, NETD_TX_FATAL,
					       "invalid extra-info type");
			if (ex.type == NET_EXTRA_TYPE_GSO) {
				if (ex.u.gso.type != NET_GSO_TYPE_TCPV4 &&
				    ex.u.gso.type != NET_GSO_TYPE_TCPV6)
					return verdict(pkt, NETD_TX_FATAL,
						       "unknown GSO type");
				if (ex.u.gso.size == 0)
					return verdict(pkt, NETD_TX_FATAL,
						       "GSO size is zero");
				pkt->has_gso = true;
				pkt->gso = ex;
			}
			pkt->extra_mask |= 1u << i;
			nextra++;
			i++;
		} while (ex.flags & NET_EXTRA_FLAG_MORE);
	}
	/* Data slots: the first, then one more per NET_TXF_more_data. */
	first_data = i;
	ndata = 1;
	remaining = first->size;
	if (first->size < NET_ETH_HLEN) {
		drop = 1;
		drop_why = "first slot shorter than an Ethernet header";
	}
	{
		const struct net_tx_request *prev = first;

		while (prev->flags & NET_TXF_more_data) {
			const struct net_tx_request *s;

			if (i >= n)
				return NETD_TX_MORE;
			s = &slots[i];
			if (++ndata >= NET_FATAL_SLOTS)
				return verdict(pkt, NETD_TX_FATAL,
					       "malicious frontend: 20 or more slots in one packet");
			if (!drop && ndata > NET_NR_SLOTS_MIN) {
				drop = 1;
				drop_why = "more than 18 slots in one packet";
			}
			if (!drop && s->size > remaining) {
				drop = 1;
				drop_why = "slot larger than the rest of the packet";
			}
			if (!drop)
				remaining -= s->size;
			if ((uint32_t)s->offset + s->size > NET_PAGE_SIZE)
				return verdict(pkt, NETD_TX_FATAL,
					       "slot crosses its page");
			prev = s;
			i++;
		}
	}
	pkt->nslots = i;
	if (!drop && (uint32_t)first->offset + remaining > NET_PAGE_SIZE)
		return verdict(pkt, NETD_TX_FATAL, "first slot crosses its page");
	if (drop)
		return verdict(pkt, NETD_TX_DROP, drop_why);
	if (first->size > bufsz)
		return verdict(pkt, NETD_TX_DROP, "frame larger than the buffer");
	/* Structure is sound: copy the payload, the first slot's part first. */
	if (remaining > 0 &&
	    g->copy_from(g->arg, first->gref, first->offset, buf, remaining) < 0)
		return verdict(pkt, NETD_TX_DROP, "grant copy failed");
	off = remaining;
	for (unsigned k = first_data; k < i; k++) {
		const struct net_tx_request *s = &slots[k];

		if (s->size == 0)
			continue;
		if (g->copy_from(g->arg, s->gref, s->offset, buf + off,
				 s->size) < 0)
			return verdict(pkt, NETD_TX_DROP, "grant copy failed");
		off += s->size;
	}
	pkt->len = off;
	pkt->flags = first->flags & (NET_TXF_csum_blank | NET_TXF_data_validated);
	return NETD_TX_OK;
}

uint16_t
net_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t
sum_words(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

int
net_csum_fill(uint8_t *f, uint32_t len)
{
	uint32_t l3, l4, l4len, pseudo;
	uint16_t et, ck;
	uint8_t proto;
	unsigned csoff;

	if (len < NET_ETH_HLEN + 20)
		return -EINVAL;
	et = (uint16_t)(f[12] << 8 | f[13]);
	l3 = NET_ETH_HLEN;
	if (et == 0x0800) {
		uint32_t ihl = (f[l3] & 0x0fu) * 4u, tot;

		if ((f[l3] >> 4) != 4 || ihl < 20 || l3 + ihl > len)
			return -EINVAL;
		tot = (uint32_t)(f[l3 + 2] << 8 | f[l3 + 3]);
		if (tot < ihl || l3 + tot > len)
			return -EINVAL;
		/* Only whole datagrams carry a checksummable L4 header. */
		if ((f[l3 + 6] & 0x3f) != 0 || f[l3 + 7] != 0)
			return -EINVAL;
		proto = f[l3 + 9];
		l4 = l3 + ihl;
		l4len = tot - ihl;
		pseudo = sum_words(f + l3 + 12, 8) + proto + l4len;
	} else if (et == 0x86dd) {
		if (len < l3 + 40)
			return -EINVAL;
		l4len = (uint32_t)(f[l3 + 4] << 8 | f[l3 + 5]);
		proto = f[l3 + 6];
		l4 = l3 + 40;
		if (l4 + l4len > len)
			return -EINVAL;
		pseudo = sum_words(f + l3 + 8, 32) + proto + l4len;
	} else {
		return -EINVAL;
	}
	switch (proto) {
	case 6: csoff = 16; break;
	case 17: csoff = 6; break;
	case 1: csoff = 2; pseudo = 0; break;
	case 58: csoff = 2; break;
	default: return -EINVAL;
	}
	if (l4len < csoff + 2)
		return -EINVAL;
	f[l4 + csoff] = 0;
	f[l4 + csoff + 1] = 0;
	ck = net_csum(f + l4, l4len, pseudo);
	if (proto == 17 && ck == 0)
		ck = 0xffff;
	f[l4 + csoff] = (uint8_t)(ck >> 8);
	f[l4 + csoff + 1] = (uint8_t)ck;
	return 0;
}
