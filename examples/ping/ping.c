/*
 * ping: answer ARP and ICMP echo for one IPv4 address (key `ip`) on the
 * NET device "net0", through appkit's netif frontend and netd.  IPv4
 * fragments are reassembled (one datagram at a time), and a reply is
 * fragmented as its request was: no fragment larger than the largest one
 * received, nor than the MTU.  Prints "ping: listening mac=... mtu=..."
 * once started, then a "ping: stats ..." line each second the counters
 * changed.  Runs until stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "morgana/ak_loop.h"
#include "morgana/ak_net.h"
#include "morgana/appkit.h"

struct akping {
	struct ak_net *net;
	uint8_t mac[6], ip[4];
	unsigned mtu;
	uint16_t ident;
	uint64_t reply_dropped;
	/* one reassembly at a time */
	bool active;
	uint8_t src[4], smac[6], proto;
	uint16_t id;
	uint32_t total, got, maxfrag;
	uint64_t t0;
	uint8_t seen[65536 / 64];
	uint8_t data[65536];
};

static struct akping P;

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
tx_frame(const void *fr, size_t len)
{
	/* From the rx callback: a full ring drops the reply (-EDEADLK). */
	if (ak_net_write(P.net, fr, len) < 0)
		P.reply_dropped++;
}

/* Send an IPv4 datagram to dst/dmac in fragments of at most frag bytes
 * of IP (header included). */
static void
send_ip(const uint8_t *dmac, const uint8_t *dst, uint8_t proto,
	const uint8_t *pl, uint32_t plen, uint32_t frag)
{
	static uint8_t fr[65536];
	uint32_t step = (frag - 20) & ~7u, off = 0;
	uint16_t id = P.ident++;

	do {
		uint32_t chunk = plen - off > step ? step : plen - off;
		bool mf = off + chunk < plen;
		uint8_t *ip = fr + 14;

		memcpy(fr, dmac, 6);
		memcpy(fr + 6, P.mac, 6);
		put16(fr + 12, 0x0800);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + chunk));
		put16(ip + 4, id);
		put16(ip + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, P.ip, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum(ip, 20));
		memcpy(ip + 20, pl + off, chunk);
		tx_frame(fr, 34 + chunk);
		off += chunk;
	} while (off < plen);
}

static void
datagram(const uint8_t *smac, const uint8_t *src, uint8_t proto,
	 uint8_t *pl, uint32_t plen, uint32_t frag)
{
	if (proto != 1 || plen < 8 || pl[0] != 8 || csum(pl, plen) != 0)
		return;
	pl[0] = 0;		/* echo reply */
	put16(pl + 2, 0);
	put16(pl + 2, csum(pl, plen));
	if (frag > P.mtu)
		frag = P.mtu;
	send_ip(smac, src, 1, pl, plen, frag);
}

static void
on_arp(const uint8_t *fr, size_t len)
{
	const uint8_t *a = fr + 14;
	uint8_t out[60] = { 0 };

	if (len < 42 || get16(a) != 1 || get16(a + 2) != 0x0800 ||
	    get16(a + 6) != 1 || memcmp(a + 24, P.ip, 4) != 0)
		return;
	memcpy(out, fr + 6, 6);
	memcpy(out + 6, P.mac, 6);
	put16(out + 12, 0x0806);
	memcpy(out + 14, a, 6);		/* htype, ptype, hlen, plen */
	put16(out + 20, 2);
	memcpy(out + 22, P.mac, 6);
	memcpy(out + 28, P.ip, 4);
	memcpy(out + 32, a + 8, 10);	/* their sender becomes the target */
	tx_frame(out, sizeof(out));
}

static void
on_ipv4(const uint8_t *fr, size_t len)
{
	const uint8_t *ip = fr + 14;
	uint32_t ihl, tot, foff, plen;
	uint16_t fo;
	bool mf;

	if (len < 34)
		return;
	ihl = (ip[0] & 15u) * 4u;
	tot = get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > len ||
	    csum(ip, ihl) != 0 || memcmp(ip + 16, P.ip, 4) != 0)
		return;
	fo = get16(ip + 6);
	foff = (fo & 0x1fffu) * 8u;
	mf = (fo & 0x2000) != 0;
	plen = tot - ihl;
	if (!mf && foff == 0) {
		static uint8_t pl[65536];

		memcpy(pl, ip + ihl, plen);
		datagram(fr + 6, ip + 12, ip[9], pl, plen, tot);
		return;
	}
	/* A fragment: one reassembly at a time, 2 s to complete. */
	if (!P.active || memcmp(P.src, ip + 12, 4) != 0 ||
	    P.id != get16(ip + 4) || ak_now_ns() - P.t0 > 2000000000u) {
		memset(P.seen, 0, sizeof(P.seen));
		P.active = true;
		memcpy(P.src, ip + 12, 4);
		memcpy(P.smac, fr + 6, 6);
		P.id = get16(ip + 4);
		P.total = P.got = P.maxfrag = 0;
		P.t0 = ak_now_ns();
	}
	if (foff + plen > sizeof(P.data) || (mf && plen % 8))
		return;
	if (foff == 0)
		P.proto = ip[9];
	if (!mf)
		P.total = foff + plen;
	if (tot > P.maxfrag)
		P.maxfrag = tot;
	for (uint32_t b = foff / 8; b < (foff + plen + 7) / 8; b++)
		if (!(P.seen[b / 8] & (1u << (b % 8)))) {
			P.seen[b / 8] |= (uint8_t)(1u << (b % 8));
			P.got += 8;
		}
	memcpy(P.data + foff, ip + ihl, plen);
	if (P.total != 0 && P.got >= ((P.total + 7) & ~7u)) {
		P.active = false;
		datagram(P.smac, P.src, P.proto, P.data, P.total, P.maxfrag);
	}
}

static void
on_frame(void *arg, const void *frame, size_t len)
{
	const uint8_t *fr = frame;

	(void)arg;
	if (len < 14)
		return;
	if (get16(fr + 12) == 0x0806)
		on_arp(fr, len);
	else if (get16(fr + 12) == 0x0800)
		on_ipv4(fr, len);
}

int ping_start(struct ak_app *app);

int
ping_start(struct ak_app *app)
{
	struct ak_net_stats s, last = { 0 };
	uint32_t addr;
	int rc;

	P.net = ak_net(app, "net0");
	if (P.net == NULL || ak_key_ipv4(app, "ip", &addr, NULL) < 0) {
		printf("ping: no net0 device or no ip\n");
		return 1;
	}
	for (int i = 0; i < 4; i++)
		P.ip[i] = (uint8_t)(addr >> (24 - 8 * i));
	if ((rc = ak_net_mac(P.net, P.mac)) < 0 ||
	    (rc = ak_net_mtu(P.net, &P.mtu)) < 0 ||
	    (rc = ak_net_listen(P.net, on_frame, NULL)) < 0) {
		printf("ping: setup failed: %s\n", ak_strerror(rc));
		return 1;
	}
	printf("ping: listening mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u\n",
	       P.mac[0], P.mac[1], P.mac[2], P.mac[3], P.mac[4], P.mac[5],
	       P.mtu);
	fflush(stdout);
	for (;;) {
		ak_task_sleep_until(ak_app_loop(app), ak_now_ns() + 1000000000u);
		if (ak_net_stats(P.net, &s) < 0 || memcmp(&s, &last, sizeof(s)) == 0)
			continue;
		last = s;
		printf("ping: stats rx=%" PRIu64 " rx_bytes=%" PRIu64
		       " rx_dropped=%" PRIu64 " tx=%" PRIu64 " tx_bytes=%" PRIu64
		       " tx_dropped=%" PRIu64 " reconnects=%" PRIu64
		       " reply_dropped=%" PRIu64 "\n",
		       s.rx_packets, s.rx_bytes, s.rx_dropped, s.tx_packets,
		       s.tx_bytes, s.tx_dropped, s.reconnects, P.reply_dropped);
		fflush(stdout);
	}
}
