/*
 * net_responder: a TEST netif frontend (not a product netfront) plus a
 * mini toolstack, for netd's integration tests.
 *
 * Toolstack (default role): serves the store in-process, creates one vif
 * device per frontend (with `mac` in both directories, as xl does),
 * starts netd as domain 1 (env contract: XENSTORED_PATH, MORGANA_RUNDIR,
 * MORGANA_SERVICE, NOTIFY_FD; waits for READY=1), then the frontends as
 * domains 2, 3, ...  Scenarios:
 *   --scenario ping    netd --backend tap --tap T (or --backend xdp
 *                      --ifname I with --xdp I); one responder (domid 2)
 *                      answers ARP and ICMP echo for --ip, reassembling
 *                      fragmented requests and fragmenting replies; runs
 *                      until SIGTERM; touches --ready-file once connected.
 *                      With --front PATH the responder is that program
 *                      instead (an appkit application: its device is
 *                      named net0, signature NET; it gets --ip), with
 *                      --mtu N the toolstack writes mtu = N for it, and
 *                      with --respawn a netd that dies is started again
 *                      (each netd's pid is printed as "netd-pid=N").
 *                      --scenario blast --front PATH: the sender is that
 *                      appkit program (given --frames and --size).
 *   --scenario stream  netd --backend vswitch; --fronts K (>= 2)
 *                      frontends; every one broadcasts hellos until all
 *                      others saw it; fronts 0 and 1 exchange --frames N
 *                      frames each way, checked for loss, order, content.
 *   --scenario hostile as stream with 2 good frontends and small N, plus a
 *                      hostile frontend (--hostile MODE); exit 0 iff the
 *                      good ones finish and the hostile one saw the
 *                      outcome netback would give (fatal: disconnected;
 *                      drop: ERROR response; ok: OKAY).
 *   --scenario sink    as ping, but the frontend only counts the frames
 *                      of EtherType 0x88b5 it receives; on SIGTERM it
 *                      prints "rate: sink R frames/s received" (R from
 *                      its first to its last such frame).
 * Exit status 0 iff the scenario succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/net_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"

#define DOM_NETD 1
#define DOM_FRONT0 2
#define TXN 64			/* tx buffer pages (read-only grants) */
#define SMALLN (TXN * 4)	/* blast: 1 KiB buffers over the same pages */
#define SMALL_ID 0x8000u
#define RXN 128			/* rx buffer pages */
#define ETHERTYPE_TEST 0x88b5

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ================= the frontend core ================= */

struct nfront {
	struct ring_xb_front *xb;
	struct ring_front tx, rx;
	struct ring_evtchn *ev;
	bool up;
	unsigned teardowns;
	uint8_t mac[6];
	void *txpg[TXN];
	uint32_t txref[TXN];
	bool txbusy[TXN];
	unsigned txfree;
	bool sbusy[SMALLN];	/* blast only: it never uses whole pages */
	uint16_t sfree[SMALLN];
	unsigned nsfree;
	void *rxpg[RXN];
	uint32_t rxref[RXN];
	uint8_t frame[65536];
	uint32_t flen;
	bool fbad;
	int last_tx_status;	/* last non-OKAY, non-NULL tx status seen */
	unsigned tx_ok;
	const char *hostile;
	int (*on_frame)(struct nfront *f, const uint8_t *fr, uint32_t len);
};

static int
parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

static int
put_key(struct ring_store *st, uint32_t tx, const char *dir, const char *k,
	const char *fmt, unsigned v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, k);
	return ring_store_printf(st, tx, p, fmt, v);
}

static int
fe_setup(void *arg, struct ring_xb_front *xfe, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct nfront *f = arg;
	uint32_t txr, rxr;
	void *txp, *rxp;
	char p[256], *mac = NULL;
	size_t ml;
	int rc;

	(void)xfe;
	snprintf(p, sizeof(p), "%s/mac", fe_path);
	if ((rc = ring_store_read(st, tx, p, &mac, &ml)) < 0)
		return rc;
	rc = parse_mac(mac, f->mac);
	free(mac);
	if (rc < 0)
		return rc;
	if ((rc = ring_share_grant(share, false, &txr, &txp)) < 0 ||
	    (rc = ring_share_grant(share, false, &rxr, &rxp)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	for (unsigned i = 0; i < TXN; i++) {
		if ((rc = ring_share_grant(share, true, &f->txref[i],
					   &f->txpg[i])) < 0)
			return rc;
		f->txbusy[i] = false;
	}
	f->txfree = TXN;
	f->nsfree = SMALLN;
	for (unsigned i = 0; i < SMALLN; i++) {
		f->sbusy[i] = false;
		f->sfree[i] = (uint16_t)(SMALLN - 1 - i);
	}
	for (unsigned i = 0; i < RXN; i++)
		if ((rc = ring_share_grant(share, false, &f->rxref[i],
					   &f->rxpg[i])) < 0)
			return rc;
	net_tx_front_init(&f->tx, txp, RING_PAGE_SIZE);
	net_rx_front_init(&f->rx, rxp, RING_PAGE_SIZE);
	f->flen = 0;
	f->fbad = false;
	if ((rc = put_key(st, tx, fe_path, "tx-ring-ref", "%u", txr)) < 0 ||
	    (rc = put_key(st, tx, fe_path, "rx-ring-ref", "%u", rxr)) < 0 ||
	    (rc = put_key(st, tx, fe_path, "event-channel", "%u",
			  ring_evtchn_port(f->ev))) < 0 ||
	    (rc = put_key(st, tx, fe_path, "request-rx-copy", "%u", 1)) < 0 ||
	    (rc = put_key(st, tx, fe_path, "feature-rx-notify", "%u", 1)) < 0)
		return rc;
	return put_key(st, tx, fe_path, "feature-sg", "%u", 1);
}

static int
fe_connected(void *arg, struct ring_xb_front *xfe)
{
	struct nfront *f = arg;

	(void)xfe;
	for (unsigned i = 0; i < RXN; i++) {
		struct net_rx_request q = { .id = (uint16_t)i,
					    .gref = f->rxref[i] };

		if (f->hostile && strcmp(f->hostile, "rxgref") == 0 && i == 0 &&
		    f->teardowns == 0)
			q.gref = 999999;
		net_rx_front_put(&f->rx, &q);
	}
	ring_front_push(&f->rx);
	ring_evtchn_notify(f->ev);
	f->up = true;
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xfe)
{
	struct nfront *f = arg;

	(void)xfe;
	f->up = false;
	f->teardowns++;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

/* Queue a frame (multi-slot if over a page).  Returns 0, -EAGAIN. */
static int
send_frame(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	unsigned need = len == 0 ? 1 : (len + 4095) / 4096, k = 0;
	uint32_t off = 0;

	if (!f->up || len > NET_MAX_TX_SIZE)
		return -EAGAIN;
	if (f->txfree < need || ring_front_free(&f->tx) < need)
		return -EAGAIN;
	for (unsigned i = 0; i < TXN && k < need; i++) {
		struct net_tx_request q;
		uint32_t chunk;

		if (f->txbusy[i])
			continue;
		chunk = len - off > 4096 ? 4096 : len - off;
		memcpy(f->txpg[i], fr + off, chunk);
		q = (struct net_tx_request){
			.gref = f->txref[i], .offset = 0, .id = (uint16_t)i,
			.flags = k + 1 < need ? NET_TXF_more_data : 0,
			.size = (uint16_t)(k == 0 ? len : chunk),
		};
		net_tx_front_put(&f->tx, &q);
		f->txbusy[i] = true;
		f->txfree--;
		off += chunk;
		k++;
	}
	return 0;
}

/* Blast: queue a frame of at most 1 KiB in a 1 KiB buffer (four to a
 * page, so 256 are in flight).  Returns 0, -EAGAIN. */
static int
send_small(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	struct net_tx_request q;
	unsigned b;

	if (!f->up || f->nsfree == 0 || ring_front_free(&f->tx) == 0)
		return -EAGAIN;
	b = f->sfree[--f->nsfree];
	memcpy((uint8_t *)f->txpg[b / 4] + (b % 4) * 1024, fr, len);
	q = (struct net_tx_request){ .gref = f->txref[b / 4],
				     .offset = (uint16_t)((b % 4) * 1024),
				     .id = (uint16_t)(SMALL_ID | b),
				     .size = (uint16_t)len };
	net_tx_front_put(&f->tx, &q);
	f->sbusy[b] = true;
	return 0;
}

static void
kick(struct nfront *f)
{
	if (f->up && ring_front_push(&f->tx))
		ring_evtchn_notify(f->ev);
}

/* Consume responses on both rings.  Returns work done, or -1 if the
 * backend misbehaved (or a handler failed). */
static int
drain(struct nfront *f)
{
	struct net_tx_response tr;
	struct net_rx_response rr;
	int n = 0, rc;
	bool reposted = false;

	if (!f->up)
		return 0;
	while ((rc = net_tx_front_get(&f->tx, &tr)) == 1) {
		n++;
		if (tr.status == NET_RSP_NULL)
			continue;
		if (tr.id & SMALL_ID) {
			unsigned b = tr.id & ~SMALL_ID;

			if (b >= SMALLN || !f->sbusy[b])
				return -1;
			f->sbusy[b] = false;
			f->sfree[f->nsfree++] = (uint16_t)b;
			if (tr.status != NET_RSP_OKAY)
				f->last_tx_status = tr.status;
			else
				f->tx_ok++;
			continue;
		}
		if (tr.id >= TXN || !f->txbusy[tr.id])
			return -1;
		f->txbusy[tr.id] = false;
		f->txfree++;
		if (tr.status != NET_RSP_OKAY)
			f->last_tx_status = tr.status;
		else
			f->tx_ok++;
	}
	if (rc < 0)
		return -1;
	while ((rc = net_rx_front_get(&f->rx, &rr)) == 1) {
		struct net_rx_request q;

		n++;
		if (rr.id >= RXN)
			return -1;
		if (rr.status < 0 || (uint32_t)rr.offset + (uint32_t)rr.status > 4096 ||
		    f->flen + (uint32_t)rr.status > sizeof(f->frame) ||
		    (rr.flags & NET_RXF_extra_info))
			f->fbad = true;
		else {
			memcpy(f->frame + f->flen, (uint8_t *)f->rxpg[rr.id] + rr.offset,
			       (size_t)rr.status);
			f->flen += (uint32_t)rr.status;
		}
		q = (struct net_rx_request){ .id = rr.id, .gref = f->rxref[rr.id] };
		net_rx_front_put(&f->rx, &q);
		reposted = true;
		if (!(rr.flags & NET_RXF_more_data)) {
			if (!f->fbad && f->on_frame &&
			    f->on_frame(f, f->frame, f->flen) < 0)
				return -1;
			f->flen = 0;
			f->fbad = false;
		}
	}
	if (rc < 0)
		return -1;
	if (reposted && ring_front_push(&f->rx))
		ring_evtchn_notify(f->ev);
	return n;
}

/* Wait for events up to ms (0: just poll). */
static int
wait_ev(struct ring_xenbus *xb, struct nfront *f, int ms)
{
	struct pollfd p = { .fd = f->ev ? ring_evtchn_fd(f->ev) : -1,
			    .events = POLLIN };
	bool more = false;
	int rc;

	/* Both rings are armed: no short-circuit. */
	if (f->up) {
		bool a = ring_front_final_check(&f->tx);
		bool b = ring_front_final_check(&f->rx);

		more = a || b;
	}
	rc = ring_xenbus_poll(xb, &p, 1, more ? 0 : ms);

	if (f->ev)
		ring_evtchn_consume(f->ev);
	return rc == -EPIPE ? -1 : 0;
}

/* ================= responder: ARP + ICMP echo with IPv4 fragments ===== */

static uint32_t my_ip;
static uint16_t ip_ident = 1;

struct reasm {
	bool active;
	uint32_t src;
	uint16_t id;
	uint32_t total;		/* payload length, 0 until the last frag */
	uint32_t got;
	uint8_t seen[65536 / 8 / 8 + 1];
	uint8_t data[65536];
	uint8_t hdr[60];
	uint8_t eth[14];
	double t0;
} ra;

static uint16_t
csum(const void *d, size_t len)
{
	const uint8_t *p = d;
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
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Send an IPv4 datagram (payload pl of plen bytes) to dst at dmac,
 * fragmenting at 1500. */
static void
send_ip(struct nfront *f, const uint8_t *dmac, uint32_t dst, uint8_t proto,
	const uint8_t *pl, uint32_t plen)
{
	uint8_t fr[1514];
	uint16_t id = ip_ident++;
	uint32_t off = 0;

	do {
		uint32_t chunk = plen - off > 1480 ? 1480 : plen - off;
		bool mf = off + chunk < plen;
		uint8_t *ip = fr + 14;

		memcpy(fr, dmac, 6);
		memcpy(fr + 6, f->mac, 6);
		put16(fr + 12, 0x0800);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + chunk));
		put16(ip + 4, id);
		put16(ip + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, &my_ip, 4);
		memcpy(ip + 16, &dst, 4);
		put16(ip + 10, csum(ip, 20));
		memcpy(ip + 20, pl + off, chunk);
		for (int tries = 0; send_frame(f, fr, 34 + chunk) < 0; tries++) {
			kick(f);
			if (drain(f) < 0 || tries > 1000000)
				return;
		}
		off += chunk;
	} while (off < plen);
	kick(f);
}

static void
handle_ip_datagram(struct nfront *f, const uint8_t *smac, uint32_t src,
		   uint8_t proto, uint8_t *pl, uint32_t plen)
{
	if (proto != 1 || plen < 8 || pl[0] != 8)
		return;
	if (csum(pl, plen) != 0)
		return;
	pl[0] = 0;		/* echo reply */
	put16(pl + 2, 0);
	put16(pl + 2, csum(pl, plen));
	send_ip(f, smac, src, 1, pl, plen);
}

static int
responder_frame(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	uint16_t et;

	if (len < 14)
		return 0;
	et = get16(fr + 12);
	if (et == 0x0806 && len >= 42) {
		const uint8_t *a = fr + 14;
		uint8_t out[60] = { 0 };

		if (get16(a + 6) != 1 || memcmp(a + 24, &my_ip, 4) != 0)
			return 0;
		memcpy(out, fr + 6, 6);
		memcpy(out + 6, f->mac, 6);
		put16(out + 12, 0x0806);
		memcpy(out + 14, a, 6);		/* htype, ptype, hlen, plen */
		put16(out + 20, 2);
		memcpy(out + 22, f->mac, 6);
		memcpy(out + 28, &my_ip, 4);
		memcpy(out + 32, a + 8, 10);	/* sender -> target */
		send_frame(f, out, 60);
		kick(f);
		return 0;
	}
	if (et == 0x0800 && len >= 34) {
		const uint8_t *ip = fr + 14;
		uint32_t ihl = (ip[0] & 15u) * 4u, tot = get16(ip + 2), src;
		uint16_t fo = get16(ip + 6), id = get16(ip + 4);
		uint32_t foff = (fo & 0x1fffu) * 8u, plen;
		bool mf = fo & 0x2000;

		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl ||
		    14 + tot > len || csum(ip, ihl) != 0 ||
		    memcmp(ip + 16, &my_ip, 4) != 0)
			return 0;
		memcpy(&src, ip + 12, 4);
		plen = tot - ihl;
		if (!mf && foff == 0) {
			uint8_t pl[1500];

			memcpy(pl, ip + ihl, plen);
			handle_ip_datagram(f, fr + 6, src, ip[9], pl, plen);
			return 0;
		}
		/* A fragment: one reassembly at a time, 2 s timeout. */
		if (!ra.active || ra.src != src || ra.id != id ||
		    now_s() - ra.t0 > 2.0) {
			memset(&ra.seen, 0, sizeof(ra.seen));
			ra.active = true;
			ra.src = src;
			ra.id = id;
			ra.total = 0;
			ra.got = 0;
			ra.t0 = now_s();
			memcpy(ra.eth, fr + 6, 6);
		}
		if (foff + plen > sizeof(ra.data) || (mf && plen % 8))
			return 0;
		if (foff == 0)
			ra.hdr[9] = ip[9];
		if (!mf)
			ra.total = foff + plen;
		for (uint32_t b = foff / 8; b < (foff + plen + 7) / 8; b++)
			if (!(ra.seen[b / 8] & (1u << (b % 8)))) {
				ra.seen[b / 8] |= (uint8_t)(1u << (b % 8));
				ra.got += 8;
			}
		memcpy(ra.data + foff, ip + ihl, plen);
		if (ra.total != 0 && ra.got >= ((ra.total + 7) & ~7u)) {
			ra.active = false;
			handle_ip_datagram(f, ra.eth, ra.src, ra.hdr[9], ra.data,
					   ra.total);
		}
	}
	return 0;
}

/* ================= stream peers ================= */

static unsigned s_idx, s_nfronts;
static uint64_t s_frames, s_sent, s_recv;
static uint32_t s_seen, s_acked;
static uint8_t s_peer_mac[6];
static bool s_streaming;

static void
front_mac(unsigned k, uint8_t m[6])
{
	const uint8_t base[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x00 };

	memcpy(m, base, 6);
	m[5] = (uint8_t)(k + 1);
}

static uint32_t s_size;		/* fixed frame size, 0: varied */
static double s_t0, s_t1;

static uint32_t
flen_of(uint64_t seq)
{
	if (s_size)
		return s_size;
	return 60 + (uint32_t)((seq * 2654435761u) % 1455);
}

static int
stream_frame(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	(void)f;
	if (len < 60 || get16(fr + 12) != ETHERTYPE_TEST)
		return 0;
	if (fr[14] == 1) {		/* hello {1, idx, seen mask u32} */
		uint32_t mask;

		memcpy(&mask, fr + 16, 4);
		if (fr[15] >= s_nfronts || fr[15] == s_idx)
			return 0;
		s_seen |= 1u << fr[15];
		if (mask & (1u << s_idx))
			s_acked |= 1u << fr[15];
		return 0;
	}
	if (fr[14] == 2 && s_idx < 2 && fr[15] == (s_idx ^ 1)) {
		uint64_t seq;

		memcpy(&seq, fr + 16, 8);
		if (seq != s_recv || len != flen_of(seq)) {
			ring_log(RING_LOG_ERR, "msg=\"stream broken\" want=%" PRIu64
				 " got=%" PRIu64 " len=%u", s_recv, seq, len);
			return -1;
		}
		for (uint32_t i = 24; i < len; i++)
			if (fr[i] != (uint8_t)(seq + i)) {
				ring_log(RING_LOG_ERR, "msg=\"payload corrupt\" seq=%" PRIu64, seq);
				return -1;
			}
		s_recv++;
	}
	return 0;
}

static void
send_hello(struct nfront *f)
{
	uint8_t fr[60] = { 0 };

	memset(fr, 0xff, 6);
	memcpy(fr + 6, f->mac, 6);
	put16(fr + 12, ETHERTYPE_TEST);
	fr[14] = 1;
	fr[15] = (uint8_t)s_idx;
	memcpy(fr + 16, &s_seen, 4);
	if (send_frame(f, fr, 60) == 0)
		kick(f);
}

static void
stream_fill(struct nfront *f)
{
	uint8_t fr[1514];

	while (s_sent < s_frames) {
		uint32_t len = flen_of(s_sent);

		memcpy(fr, s_peer_mac, 6);
		memcpy(fr + 6, f->mac, 6);
		put16(fr + 12, ETHERTYPE_TEST);
		fr[14] = 2;
		fr[15] = (uint8_t)s_idx;
		memcpy(fr + 16, &s_sent, 8);
		for (uint32_t i = 24; i < len; i++)
			fr[i] = (uint8_t)(s_sent + i);
		if (send_frame(f, fr, len) < 0)
			break;
		s_sent++;
	}
	kick(f);
}

/* Blast: send s_frames frames of s_size bytes to an unknown MAC (the
 * switch floods them to the tap) as fast as the ring allows. */
static int
blast_frame(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	(void)f;
	(void)fr;
	(void)len;
	return 0;
}

static void
blast_fill(struct nfront *f)
{
	uint8_t fr[1514] = { 0x02, 0, 0, 0, 0, 0x99 };
	uint32_t len = s_size ? s_size : 60;

	if (len > 1024)
		len = 1024;

	if (s_t0 == 0)
		s_t0 = now_s();
	memcpy(fr + 6, f->mac, 6);
	put16(fr + 12, ETHERTYPE_TEST);
	while (s_sent < s_frames && send_small(f, fr, len) == 0) {
		s_sent++;
		/* Publish as we go: netd starts on the first frames while we
		 * write the rest. */
		if ((s_sent & 31) == 0)
			kick(f);
	}
	kick(f);
}

/* Sink: count test frames; s_t0/s_t1 are the first and the last. */
static int
sink_frame(struct nfront *f, const uint8_t *fr, uint32_t len)
{
	(void)f;
	if (len < NET_ETH_HLEN || get16(fr + 12) != ETHERTYPE_TEST)
		return 0;
	s_t1 = now_s();
	if (s_recv++ == 0)
		s_t0 = s_t1;
	return 0;
}

/* ================= hostile ================= */

enum outcome { OUT_FATAL, OUT_DROP, OUT_OK };
static const struct {
	const char *name;
	enum outcome out;
} hostile_modes[] = {
	{ "crosspage", OUT_FATAL }, { "short", OUT_DROP },
	{ "slots19", OUT_DROP },    { "slots20", OUT_FATAL },
	{ "oversize", OUT_DROP },   { "zerofrag", OUT_OK },
	{ "extra", OUT_FATAL },     { "gso0", OUT_FATAL },
	{ "incomplete", OUT_FATAL }, { "gref", OUT_DROP },
	{ "index", OUT_FATAL },     { "rxgref", OUT_FATAL },
	{ NULL, OUT_OK },
};

static void
hostile_act(struct nfront *f, const char *m)
{
	struct net_tx_request q = { .gref = f->txref[0], .id = 0, .size = 60 };
	uint8_t *pg = f->txpg[0];

	memset(pg, 0, 4096);
	memset(pg, 0xff, 6);
	memcpy(pg + 6, f->mac, 6);
	put16(pg + 12, ETHERTYPE_TEST);
	if (strcmp(m, "crosspage") == 0) {
		q.offset = 4000;
		q.size = 200;
	} else if (strcmp(m, "short") == 0) {
		q.size = 10;
	} else if (strcmp(m, "slots19") == 0 || strcmp(m, "slots20") == 0) {
		unsigned n = m[5] == '1' ? 19 : 20;

		q.size = (uint16_t)(60 * n);
		for (unsigned i = 0; i < n; i++) {
			q.flags = i + 1 < n ? NET_TXF_more_data : 0;
			q.offset = (uint16_t)(i * 60);
			q.id = (uint16_t)i;
			if (i > 0)
				q.size = 60;
			net_tx_front_put(&f->tx, &q);
		}
		goto push;
	} else if (strcmp(m, "oversize") == 0) {
		q.size = 100;
		q.flags = NET_TXF_more_data;
		net_tx_front_put(&f->tx, &q);
		q = (struct net_tx_request){ .gref = f->txref[0], .id = 1,
					     .offset = 1000, .size = 200 };
	} else if (strcmp(m, "zerofrag") == 0) {
		q.flags = NET_TXF_more_data;
		net_tx_front_put(&f->tx, &q);
		q = (struct net_tx_request){ .gref = f->txref[0], .id = 1,
					     .flags = NET_TXF_more_data };
		net_tx_front_put(&f->tx, &q);
		q.id = 2;
		q.flags = 0;
	} else if (strcmp(m, "extra") == 0 || strcmp(m, "gso0") == 0) {
		struct net_extra ex = { .type = m[0] == 'e' ? 7 : NET_EXTRA_TYPE_GSO };
		struct net_tx_request slot;

		ex.u.gso.type = NET_GSO_TYPE_TCPV4;
		q.flags = NET_TXF_extra_info;
		net_tx_front_put(&f->tx, &q);
		memset(&slot, 0, sizeof(slot));
		memcpy(&slot, &ex, sizeof(ex));
		net_tx_front_put(&f->tx, &slot);
		goto push;
	} else if (strcmp(m, "incomplete") == 0) {
		q.flags = NET_TXF_more_data;
		q.size = 120;
	} else if (strcmp(m, "gref") == 0) {
		q.gref = 999999;
	} else if (strcmp(m, "index") == 0) {
		atomic_store(&f->tx.s->req_prod, 0xdeadbeefu);
		ring_evtchn_notify(f->ev);
		return;
	} else if (strcmp(m, "rxgref") == 0) {
		return;		/* the bad rx request is already posted */
	}
	net_tx_front_put(&f->tx, &q);
push:
	/* Crafted ids are not tracked: mark the pages busy by hand. */
	for (unsigned i = 0; i < TXN; i++)
		f->txbusy[i] = true;
	f->txfree = 0;
	ring_front_push(&f->tx);
	ring_evtchn_notify(f->ev);
}

/* ================= frontend main ================= */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int blast_frame(struct nfront *f, const uint8_t *fr, uint32_t len);

static int
run_front(const char *mode, const char *ready_file)
{
	struct ring_store *st;
	struct ring_xenbus *xb;
	static struct nfront f;
	double t_start = now_s(), t_hello = 0, t_done = 0, t_act = 0;
	enum outcome want = OUT_OK;
	bool acted = false, ready_written = false;
	unsigned iter = 0;
	int rc;

	signal(SIGTERM, on_term);
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_front_open(xb, "vif", 0, &front_ops, &f, &f.xb)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"frontend setup failed\" err=%d", rc);
		return 1;
	}
	if (strcmp(mode, "respond") == 0) {
		f.on_frame = responder_frame;
	} else if (strcmp(mode, "blast") == 0) {
		f.on_frame = blast_frame;
	} else if (strcmp(mode, "sink") == 0) {
		f.on_frame = sink_frame;
	} else if (strcmp(mode, "stream") == 0) {
		f.on_frame = stream_frame;
		front_mac(s_idx ^ 1, s_peer_mac);
	} else {
		f.hostile = mode;
		for (int i = 0; hostile_modes[i].name; i++)
			if (strcmp(hostile_modes[i].name, mode) == 0)
				want = hostile_modes[i].out;
	}
	while (!stop) {
		int n = 0;

		if (f.up) {
			if ((n = drain(&f)) < 0) {
				ring_log(RING_LOG_ERR, "msg=\"frontend failed\"");
				return 1;
			}
		}
		if (f.on_frame == responder_frame || f.on_frame == sink_frame) {
			if (f.up && !ready_written && ready_file) {
				int fd = open(ready_file, O_WRONLY | O_CREAT, 0644);

				if (fd >= 0)
					close(fd);
				ready_written = true;
			}
		} else if (f.on_frame == blast_frame) {
			if (f.up)
				blast_fill(&f);
			if (s_sent == s_frames && f.nsfree == SMALLN) {
				s_t1 = now_s();
				break;
			}
		} else if (f.on_frame == stream_frame) {
			uint32_t others = ((1u << s_nfronts) - 1) & ~(1u << s_idx);

			if (f.up && now_s() - t_hello > 0.02) {
				send_hello(&f);
				t_hello = now_s();
			}
			if (f.up && s_idx < 2 && (s_seen & (1u << (s_idx ^ 1))) &&
			    !s_streaming) {
				s_streaming = true;
				s_t0 = now_s();
			}
			if (s_streaming)
				stream_fill(&f);
			if (s_seen == others && s_acked == others &&
			    (s_idx >= 2 ||
			     (s_sent == s_frames && s_recv == s_frames))) {
				if (t_done == 0)
					s_t1 = t_done = now_s();
				else if (now_s() - t_done > 0.3)
					break;
			}
		} else if (f.hostile) {
			if (f.up && !acted && now_s() - t_start > 0.2) {
				hostile_act(&f, mode);
				acted = true;
				t_act = now_s();
			}
			if (f.teardowns > 0) {
				ring_log(RING_LOG_INFO, "msg=\"hostile frontend was disconnected\"");
				return want == OUT_FATAL ? 0 : 1;
			}
			if (acted && want == OUT_DROP && f.last_tx_status != 0 &&
			    now_s() - t_act > 0.3) {
				ring_log(RING_LOG_INFO, "msg=\"packet dropped\" status=%d",
					 f.last_tx_status);
				return f.last_tx_status == NET_RSP_ERROR ? 0 : 1;
			}
			if (acted && want == OUT_OK && f.tx_ok > 0 &&
			    now_s() - t_act > 0.3)
				return f.last_tx_status == 0 ? 0 : 1;
			if (acted && now_s() - t_act > 5) {
				ring_log(RING_LOG_ERR, "msg=\"no outcome\" status=%d ok=%u",
					 f.last_tx_status, f.tx_ok);
				return 1;
			}
		}
		/* Blast and stream: while frames are in flight answers come
		 * within microseconds; spin for them (bounded) rather than
		 * sleep, as the adaptive wait does (DESIGN.md §3). */
		if (n == 0 && f.up && ((f.on_frame == blast_frame &&
					f.nsfree < SMALLN) || s_streaming)) {
			for (unsigned i = 0; i < RING_SPIN_DEFAULT &&
			     !ring_front_has_unconsumed(&f.tx) &&
			     !ring_front_has_unconsumed(&f.rx); i++)
				ring_cpu_relax();
			if (ring_front_has_unconsumed(&f.tx) ||
			    ring_front_has_unconsumed(&f.rx))
				continue;
		}
		if (n == 0 && wait_ev(xb, &f, 10) < 0)
			return 1;
		else if (n > 0 && (++iter & 15) == 0 && wait_ev(xb, &f, 0) < 0)
			return 1;
	}
	if (f.on_frame == stream_frame)
		printf("front %u: sent %" PRIu64 " received %" PRIu64 " frames\n",
		       s_idx, s_sent, s_recv);
	if (f.on_frame == stream_frame && s_idx < 2 && s_t1 > s_t0)
		printf("rate: front %u %.0f frames/s received\n", s_idx,
		       (double)s_recv / (s_t1 - s_t0));
	if (f.on_frame == sink_frame)
		printf("rate: sink %.0f frames/s received (%" PRIu64 " frames)\n",
		       s_recv > 1 && s_t1 > s_t0 ? (double)(s_recv - 1) / (s_t1 - s_t0) : 0.0,
		       s_recv);
	if (f.on_frame == blast_frame && s_t1 > s_t0)
		printf("rate: blast %.0f frames/s sent\n",
		       (double)s_sent / (s_t1 - s_t0));
	fflush(stdout);
	ring_xb_front_close(f.xb);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return 0;
}

/* ================= toolstack ================= */

static struct ring_store_server *srv;

static void
serve(int ms)
{
	struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };

	poll(&p, 1, ms);
	ring_store_server_dispatch(srv);
}

static pid_t
spawn(char *const argv[], uint16_t domid, int notify_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (notify_fd >= 0) {
			char b[16];

			snprintf(b, sizeof(b), "%d", notify_fd);
			setenv("NOTIFY_FD", b, 1);
		} else {
			unsetenv("NOTIFY_FD");
		}
		if (domid != DOM_NETD)
			unsetenv("MORGANA_SERVICE");
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0) {
		/* Before the store reads anything from the child. */
		ring_store_server_release(srv, domid);
		ring_store_server_introduce(srv, domid, pid);
	}
	return pid;
}

struct devs {
	unsigned n;		/* frontends: domids 2 .. 2+n-1 */
	unsigned mtu;		/* 0: no mtu key */
	bool named;		/* name = net0, signature = NET (appkit) */
};

static int
create_devices(struct ring_store *st, void *arg)
{
	const struct devs *d = arg;
	int rc;

	for (unsigned k = 0; k < d->n; k++) {
		uint16_t fe = (uint16_t)(DOM_FRONT0 + k);
		uint8_t m[6];
		char mac[18], p[128];

		if ((rc = ring_xenbus_create_device(st, "vif", fe, DOM_NETD, 0)) < 0)
			return rc;
		front_mac(k, m);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		/* As xl: the frontend's MAC in both directories. */
		snprintf(p, sizeof(p), "/local/domain/%u/device/vif/0/mac", fe);
		if ((rc = ring_store_write(st, RING_XBT_NULL, p, mac, 17)) < 0)
			return rc;
		snprintf(p, sizeof(p), "/local/domain/%u/backend/vif/%u/0/mac",
			 DOM_NETD, fe);
		if ((rc = ring_store_write(st, RING_XBT_NULL, p, mac, 17)) < 0)
			return rc;
		if (d->mtu) {
			snprintf(p, sizeof(p), "/local/domain/%u/device/vif/0/mtu", fe);
			if ((rc = ring_store_printf(st, RING_XBT_NULL, p, "%u",
						    d->mtu)) < 0)
				return rc;
		}
		if (d->named) {
			snprintf(p, sizeof(p), "/local/domain/%u/device/vif/0/name", fe);
			if ((rc = ring_store_write(st, RING_XBT_NULL, p, "net0", 4)) < 0)
				return rc;
			snprintf(p, sizeof(p), "/local/domain/%u/device/vif/0/signature", fe);
			if ((rc = ring_store_write(st, RING_XBT_NULL, p, "NET", 3)) < 0)
				return rc;
		}
	}
	return 0;
}

static int
as_client(int (*fn)(struct ring_store *, void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct ring_store *st;
		int rc = ring_store_open(NULL, &st);

		if (rc == 0)
			rc = fn(st, arg);
		_exit(rc == 0 ? 0 : 1);
	}
	for (;;) {
		serve(10);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: net_responder --netd PATH --scenario ping|stream|hostile|blast|sink [options]\n"
"A TEST netif frontend and mini toolstack for netd (see the file header).\n"
"  --netd PATH        the netd binary\n"
"  --tap NAME         (ping) tap for netd --backend tap\n"
"  --xdp IFNAME       (ping, sink) netd --backend xdp --ifname IFNAME\n"
"  --netd-arg ARG     one more argument for netd (repeatable, 8 at most)\n"
"  --ip A.B.C.D       (ping) the responder's address\n"
"  --ready-file F     (ping) created once the responder is connected\n"
"  --fronts K         (stream) frontends, 2..16 (default 3)\n"
"  --frames N         (stream, hostile) frames each way (default 1000000)\n"
"  --size N           (stream, blast) fixed frame size\n"
"  --scenario blast   netd --backend tap --tap T; one frontend sends\n"
"                     --frames frames to an unknown MAC (flooded to the tap)\n"
"  --front PATH       (ping) the responder is this appkit program; (blast)\n"
"                     the sender is (it gets --frames and --size)\n"
"  --mtu N            (ping) write mtu = N into the frontend's directory\n"
"  --respawn          (ping) start netd again whenever it dies\n"
"  --hostile MODE     (hostile) crosspage short slots19 slots20 oversize\n"
"                     zerofrag extra gso0 incomplete gref index rxgref\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "netd", required_argument, NULL, 'n' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "tap", required_argument, NULL, 't' },
		{ "xdp", required_argument, NULL, 'X' },
		{ "netd-arg", required_argument, NULL, 'A' },
		{ "ip", required_argument, NULL, 'i' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "fronts", required_argument, NULL, 'k' },
		{ "frames", required_argument, NULL, 'f' },
		{ "hostile", required_argument, NULL, 'H' },
		{ "role", required_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "index", required_argument, NULL, 'x' },
		{ "size", required_argument, NULL, 'z' },
		{ "front", required_argument, NULL, 'F' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "respawn", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *netd = NULL, *scen = NULL, *tap = NULL, *ip = "10.77.0.2";
	const char *xdpif = NULL, *nextra[8];
	unsigned nnextra = 0;
	const char *ready = NULL, *hostile = NULL, *role = NULL, *mode = NULL;
	const char *front = NULL;
	unsigned mtu = 0;
	bool respawn = false;
	unsigned nfronts = 3;
	unsigned long long frames = 1000000;
	char self[PATH_MAX], rundir[] = "/tmp/netresp.XXXXXX", sock[PATH_MAX];
	char sfr[32], snf[32], sidx[16], ssz[16];
	pid_t npid, fpids[17] = { 0 };
	int c, pfd[2], rc = 1, status;
	unsigned nproc;
	ssize_t sl;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': netd = optarg; break;
		case 'S': scen = optarg; break;
		case 't': tap = optarg; break;
		case 'X': xdpif = optarg; break;
		case 'A':
			if (nnextra == 8) {
				usage(stderr);
				return 2;
			}
			nextra[nnextra++] = optarg;
			break;
		case 'i': ip = optarg; break;
		case 'r': ready = optarg; break;
		case 'k': nfronts = (unsigned)atoi(optarg); break;
		case 'f': frames = strtoull(optarg, NULL, 10); break;
		case 'H': hostile = optarg; break;
		case 'R': role = optarg; break;
		case 'm': mode = optarg; break;
		case 'x': s_idx = (unsigned)atoi(optarg); break;
		case 'z': s_size = (uint32_t)atoi(optarg); break;
		case 'F': front = optarg; break;
		case 'M': mtu = (unsigned)atoi(optarg); break;
		case 'P': respawn = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (inet_pton(AF_INET, ip, &my_ip) != 1)
		return 2;
	s_frames = frames;
	s_nfronts = nfronts;
	if (role != NULL) {
		char name[32];

		snprintf(name, sizeof(name), "front%u", s_idx);
		ring_log_set_name(name);
		return run_front(mode ? mode : "respond", ready);
	}
	ring_log_set_name("net-toolstack");
	if (netd == NULL || scen == NULL || nfronts < 2 || nfronts > 16) {
		usage(stderr);
		return 2;
	}
	if ((strcmp(scen, "ping") == 0 || strcmp(scen, "blast") == 0 ||
	     strcmp(scen, "sink") == 0) &&
	    tap == NULL && xdpif == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(scen, "hostile") == 0) {
		bool ok = false;

		for (int i = 0; hostile && hostile_modes[i].name; i++)
			ok |= strcmp(hostile, hostile_modes[i].name) == 0;
		if (!ok) {
			usage(stderr);
			return 2;
		}
		nfronts = 2;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0 || mkdtemp(rundir) == NULL)
		return 1;
	self[sl] = '\0';
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	{
		struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };

		if (ring_store_server_open(&o, &srv) < 0)
			return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setenv("XENSTORED_PATH", sock, 1);
	setenv("MORGANA_RUNDIR", rundir, 1);
	setenv("MORGANA_SERVICE", "netd", 1);
	nproc = strcmp(scen, "ping") == 0 || strcmp(scen, "blast") == 0 ||
		strcmp(scen, "sink") == 0 ? 1 :
		nfronts + (strcmp(scen, "hostile") == 0);
	{
		struct devs d = { nproc, mtu, front != NULL };

		if (as_client(create_devices, &d) < 0) {
			fprintf(stderr, "net_responder: cannot create devices\n");
			goto out;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto out;
	fcntl(pfd[1], F_SETFD, 0);	/* netd inherits the write end */
	/* Outside the block below: --respawn starts netd again with it. */
	char *nargv[16] = { (char *)netd, "--backend",
			    tap ? "tap" : xdpif ? "xdp" : "vswitch" };
	unsigned na = 3;
	{
		char buf[64] = "";
		size_t got = 0;
		double t0 = now_s();

		if (tap != NULL) {
			nargv[na++] = "--tap";
			nargv[na++] = (char *)tap;
		} else if (xdpif != NULL) {
			nargv[na++] = "--ifname";
			nargv[na++] = (char *)xdpif;
		}
		for (unsigned i = 0; i < nnextra; i++)
			nargv[na++] = (char *)nextra[i];
		nargv[na] = NULL;
		npid = spawn(nargv, DOM_NETD, pfd[1]);
		close(pfd[1]);
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		/* Serve the store until netd says READY=1. */
		while (strstr(buf, "READY=1\n") == NULL) {
			ssize_t r;

			serve(5);
			r = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
			if (r > 0) {
				got += (size_t)r;
				buf[got] = '\0';
			}
			if (r == 0 || now_s() - t0 > 10 ||
			    waitpid(npid, &status, WNOHANG) == npid) {
				fprintf(stderr, "net_responder: netd never became ready\n");
				npid = -1;
				goto stop;
			}
		}
		printf("netd-pid=%d\n", (int)npid);
		fflush(stdout);
	}
	snprintf(sfr, sizeof(sfr), "%llu", frames);
	snprintf(ssz, sizeof(ssz), "%u", s_size);
	snprintf(snf, sizeof(snf), "%u", nfronts);
	for (unsigned k = 0; k < nproc; k++) {
		const char *m = strcmp(scen, "ping") == 0 ? "respond" :
				strcmp(scen, "blast") == 0 ? "blast" :
				strcmp(scen, "sink") == 0 ? "sink" :
				k < nfronts ? "stream" : hostile;
		char *fargv[] = { self, "--role", "front", "--mode", (char *)m,
				  "--index", sidx, "--frames", sfr, "--fronts", snf,
				  "--ip", (char *)ip, "--size", ssz,
				  ready ? "--ready-file" : NULL, (char *)ready, NULL };

		snprintf(sidx, sizeof(sidx), "%u", k);
		char ipa[64], fra[48], sza[32];
		char *aargv[] = { (char *)front, ipa, NULL };
		char *bargv[] = { (char *)front, fra, sza, NULL };
		bool blast = strcmp(scen, "blast") == 0;

		snprintf(ipa, sizeof(ipa), "--ip=%s", ip);
		snprintf(fra, sizeof(fra), "--frames=%llu", frames);
		snprintf(sza, sizeof(sza), "--size=%u", s_size ? s_size : 64);
		fpids[k] = spawn(front == NULL ? fargv : blast ? bargv : aargv,
				 (uint16_t)(DOM_FRONT0 + k), -1);
	}
	{
		unsigned left = nproc;
		bool ok = true;

		rc = 0;
		while (left > 0 && !stop) {
			pid_t w;

			serve(5);
			while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
				if (w == npid && respawn) {
					fprintf(stderr, "net_responder: netd died (status %d): restarting it\n",
						status);
					npid = spawn(nargv, DOM_NETD, -1);
					printf("netd-pid=%d\n", (int)npid);
					fflush(stdout);
					continue;
				}
				if (w == npid) {
					fprintf(stderr, "net_responder: netd died (status %d)\n",
						status);
					npid = -1;
					ok = false;
					left = 0;
					break;
				}
				for (unsigned k = 0; k < nproc; k++)
					if (fpids[k] == w) {
						fpids[k] = 0;
						left--;
						if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
							fprintf(stderr, "net_responder: frontend %u failed (status %d)\n",
								k, status);
							ok = false;
						}
					}
			}
		}
		if (!ok || left > 0)
			rc = (strcmp(scen, "ping") == 0 ||
			      strcmp(scen, "sink") == 0) && ok && stop ? 0 : 1;
	}
stop:
	for (unsigned k = 0; k < nproc; k++)
		if (fpids[k] > 0)
			kill(fpids[k], SIGTERM);
	if (npid > 0) {
		kill(npid, SIGTERM);
		for (int i = 0; i < 400; i++) {
			serve(5);
			if (waitpid(npid, &status, WNOHANG) == npid) {
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
					fprintf(stderr, "net_responder: netd exit status %d\n", status);
					rc = 1;
				}
				npid = -1;
				break;
			}
		}
		if (npid > 0) {
			kill(npid, SIGKILL);
			rc = 1;
		}
	}
	for (int i = 0; i < 200; i++) {
		serve(5);
		if (waitpid(-1, NULL, WNOHANG) < 0)
			break;
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
out:
	ring_store_server_close(srv);
	unlink(sock);
	{
		char l[PATH_MAX + 16];

		snprintf(l, sizeof(l), "%s/netd.sock", rundir);
		unlink(l);
	}
	rmdir(rundir);
	return rc;
}
