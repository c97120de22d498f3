/*
 * appkit/net_ring.c - the "vif" device frontend: the NET signature
 * (ak_net.h) over Xen netif to netd (docs/netd.md), keyed and negotiated
 * as Linux netfront does.
 *
 * Pages are granted once per connection, never per frame:
 *   - tx: NF_TXP read-only pages cut in 1 KiB units; a frame of up to one
 *     page takes 1, 2 or 4 aligned units of one page (one slot), a larger
 *     frame whole pages (one slot each, NET_TXF_more_data).  A slot's id is
 *     its first unit, so an answer names exactly the units it frees.
 *   - rx: NF_RXP writable pages, all posted all the time; an answer sits in
 *     the slot of its request (netif.h), so the page is found by slot
 *     position and the id must echo the one posted there.  Every fragment
 *     is copied out into a private buffer before the page goes back, so
 *     netd never sees, or changes, what the listener parses.
 * netd is hostile (ref/xen-rings.md §4.3): a tx answer for units not in
 * flight, an rx answer in the wrong slot, an over-long chain, or
 * impossible indices drop the connection (one log line) and the handshake
 * starts again a second later; a bad fragment (error status, crossing its
 * page, frame over 64 KiB) only drops its frame.  The rx parse is
 * ak_net__rx_step, pure, fuzzed by tests/fuzz/fuzz_ak_net_rx.c.
 *
 * Notifications follow Xen's event indices: rx answers are asked for
 * after every drain; tx answers only while a writer waits for room (they
 * are otherwise reaped by the next write), so a sender is not woken once
 * per batch of completions.  If netd restarts, frames in flight are lost
 * (as on a NIC reset) and writes answer -ENOTCONN until it is back.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "appkit_internal.h"
#include "morgana/ak_loop.h"
#include "morgana/ak_net.h"
#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/net_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define NF_TXP 64u			/* the read-only arena's size */
#define NF_UNIT 1024u
#define NF_UPP (NET_PAGE_SIZE / NF_UNIT)	/* units per page */
#define NF_TXU (NF_TXP * NF_UPP)
#define NF_TXW (NF_TXU / 64u)
#define NF_RXP 224u			/* of 255 writable pages; 2 for rings */
#define NF_RX_BUDGET 256u		/* rx answers per turn of the loop */
#define NF_MAX_WAITERS 64u

_Static_assert(NF_TXU <= 0xffff, "tx ids are units");
_Static_assert(64u % NF_UPP == 0, "a page's units share a bitmap word");

struct ak_net_front {
	struct ak_loop *l;
	struct ring_xenbus *xb;
	struct ring_xb_front *xf;
	unsigned devid;
	/* Valid from fe_setup to fe_teardown. */
	struct ring_share *share;
	struct ring_evtchn *ev;
	struct ak_watch *evw;
	struct ring_front tx, rx;
	uint32_t txref[NF_TXP], rxref[NF_RXP];
	uint8_t *txpg[NF_TXP], *rxpg[NF_RXP];
	bool up, closed, sg, reopen_armed, drain_deferred, mac_set;
	bool freed;		/* closed with a drain deferred: it frees f */
	uint64_t reopen_id;
	uint8_t mac[6];
	unsigned mtu;
	/* tx units: busy bits, and per first unit of a chunk in flight its
	 * size in units (0: no chunk starts there) and whether it is the
	 * first slot of its frame (counts the frame's fate once). */
	uint64_t txbusy[NF_TXW];
	uint8_t txspan[NF_TXU];
	bool txhead[NF_TXU];
	/* rx: the page posted in each ring slot. */
	uint16_t rxslot[256];
	struct ak_net_rx_asm as;
	ak_net_rx_fn *cb;
	void *cbarg;
	struct ak_waiter *waiters[NF_MAX_WAITERS];	/* for tx room */
	unsigned nwaiters;
	struct ak_net_stats st;
	struct ak_net *net;
	uint8_t frame[AK_NET_FRAME_MAX + 1];
};

static const struct ring_xb_front_ops front_ops;
static void reopen_cb(void *arg);

/* ---- the rx parse (pure) ---- */

static int
rx_end(struct ak_net_rx_asm *a, struct ak_net_rx_step *st)
{
	st->end = true;
	st->deliver = !a->bad && a->len >= NET_ETH_HLEN;
	a->in_frame = false;
	return 0;
}

int
ak_net__rx_step(struct ak_net_rx_asm *a, const struct net_rx_response *r,
		uint16_t posted_id, struct ak_net_rx_step *st,
		const char **why)
{
	memset(st, 0, sizeof(*st));
	if (a->extra_next) {
		struct net_extra ex;

		/* An extra-info slot overlays the response: no id here. */
		memcpy(&ex, r, sizeof(ex));
		if (++a->nextra > NET_EXTRA_TYPE_MAX - 1) {
			*why = "too many rx extra-info slots";
			return -EPROTO;
		}
		/* A GSO aggregate we never asked for cannot be delivered. */
		if (ex.type == NET_EXTRA_TYPE_NONE ||
		    ex.type >= NET_EXTRA_TYPE_MAX ||
		    ex.type == NET_EXTRA_TYPE_GSO)
			a->bad = true;
		if (ex.flags & NET_EXTRA_FLAG_MORE)
			return 0;
		a->extra_next = false;
		if (a->more_after_extra)
			return 0;
		return rx_end(a, st);
	}
	if (r->id != posted_id) {
		*why = "rx answer in another request's slot";
		return -EPROTO;
	}
	if (!a->in_frame)
		*a = (struct ak_net_rx_asm){ .in_frame = true };
	if (++a->nslots > AK_NET_RX_SLOTS_MAX) {
		*why = "rx frame chained over too many slots";
		return -EPROTO;
	}
	if (r->status < 0 ||
	    (uint32_t)r->offset + (uint32_t)r->status > NET_PAGE_SIZE ||
	    a->len + (uint32_t)r->status > AK_NET_FRAME_MAX) {
		a->bad = true;
	} else if (!a->bad && r->status > 0) {
		st->off = r->offset;
		st->len = (uint32_t)r->status;
		st->at = a->len;
		a->len += (uint32_t)r->status;
	}
	if (r->flags & NET_RXF_extra_info) {
		a->extra_next = true;
		a->more_after_extra = (r->flags & NET_RXF_more_data) != 0;
		return 0;
	}
	if (r->flags & NET_RXF_more_data)
		return 0;
	return rx_end(a, st);
}

/* ---- tx units ---- */

/* Find n (1, 2 or 4) free units, aligned to n, in one page. */
static int
units_find(const uint64_t *busy, unsigned n)
{
	for (unsigned w = 0; w < NF_TXW; w++) {
		uint64_t f = ~busy[w], m;

		if (n == 1)
			m = f;
		else if (n == 2)
			m = f & (f >> 1) & 0x5555555555555555ull;
		else
			m = f & (f >> 1) & (f >> 2) & (f >> 3) &
			    0x1111111111111111ull;
		if (m != 0)
			return (int)(w * 64u + (unsigned)__builtin_ctzll(m));
	}
	return -1;
}

static void
units_set(uint64_t *busy, unsigned u, unsigned n, bool on)
{
	uint64_t m = ((n >= 64 ? 0 : 1ull << n) - 1) << (u % 64);

	if (on)
		busy[u / 64] |= m;
	else
		busy[u / 64] &= ~m;
}

static void
wake_writers(struct ak_net_front *f)
{
	unsigned n = f->nwaiters;

	f->nwaiters = 0;
	for (unsigned i = 0; i < n; i++)
		ak_waiter_signal(f->waiters[i], 0);
}

/* netd broke the protocol: drop the connection, shake hands again later. */
static void
broken(struct ak_net_front *f, const char *why)
{
	ring_log(RING_LOG_WARN,
		 "msg=\"netd broke the netif protocol; reconnecting\" device=vif/%u why=\"%s\"",
		 f->devid, why);
	f->up = false;
	wake_writers(f);
	if (!f->reopen_armed && !f->closed) {
		f->reopen_armed = true;
		ak_loop_timer(f->l, ak_now_ns() + 1000000000u, reopen_cb, f,
			      &f->reopen_id);
	}
}

/* Take tx answers: free their units.  Returns units freed. */
static unsigned
reap_tx(struct ak_net_front *f)
{
	struct net_tx_response r;
	unsigned freed = 0;
	int rc;

	while (f->up && (rc = net_tx_front_get(&f->tx, &r)) == 1) {
		unsigned n;

		if (r.id >= NF_TXU || (n = f->txspan[r.id]) == 0 ||
		    r.status == NET_RSP_NULL) {
			broken(f, "tx answer for no request in flight");
			return freed;
		}
		if (f->txhead[r.id] && r.status != NET_RSP_OKAY)
			f->st.tx_dropped++;
		f->txspan[r.id] = 0;
		f->txhead[r.id] = false;
		units_set(f->txbusy, r.id, n, false);
		freed += n;
	}
	if (f->up && rc < 0)
		broken(f, "impossible tx ring indices");
	return freed;
}

/* ---- rx ---- */

static void
post_rx(struct ak_net_front *f, uint16_t page)
{
	struct net_rx_request q = { .id = page, .gref = f->rxref[page] };

	f->rxslot[f->rx.req_prod_pvt & (f->rx.nr_ents - 1)] = page;
	/* NF_RXP requests at most are out, and the ring has more slots. */
	net_rx_front_put(&f->rx, &q);
}

/* Take up to budget rx answers, deliver whole frames.  Returns answers
 * taken, or -1 if the connection went away meanwhile. */
static int
drain_rx(struct ak_net_front *f, unsigned budget)
{
	struct net_rx_response r;
	unsigned n = 0;
	int rc = 0;

	while (f->up && n < budget) {
		uint32_t idx = f->rx.rsp_cons;
		struct ak_net_rx_step s;
		const char *why;
		uint16_t page;

		if ((rc = net_rx_front_get(&f->rx, &r)) != 1)
			break;
		n++;
		page = f->rxslot[idx & (f->rx.nr_ents - 1)];
		if (ak_net__rx_step(&f->as, &r, page, &s, &why) < 0) {
			broken(f, why);
			return -1;
		}
		if (s.len > 0)
			memcpy(f->frame + s.at, f->rxpg[page] + s.off, s.len);
		post_rx(f, page);
		if (!s.end)
			continue;
		if (!s.deliver || f->cb == NULL) {
			f->st.rx_dropped++;
			continue;
		}
		f->st.rx_packets++;
		f->st.rx_bytes += f->as.len;
		f->cb(f->cbarg, f->frame, f->as.len);
		if (!f->up)	/* the listener disconnected */
			return -1;
	}
	if (f->up && rc < 0) {
		broken(f, "impossible rx ring indices");
		return -1;
	}
	if (n > 0 && ring_front_push(&f->rx))
		ring_evtchn_notify(f->ev);
	return (int)n;
}

static void drain_deferred(void *arg);

/* Everything the event channel may mean: rx frames, tx room. */
static void
service(struct ak_net_front *f)
{
	for (;;) {
		int n = drain_rx(f, NF_RX_BUDGET);
		bool more;

		if (n < 0 || !f->up)
			return;
		if (reap_tx(f) > 0 && f->nwaiters > 0)
			wake_writers(f);
		if (!f->up)
			return;
		if ((unsigned)n == NF_RX_BUDGET) {
			/* Let the rest of the loop run; come back next turn. */
			if (!f->drain_deferred &&
			    ak_loop_defer(f->l, drain_deferred, f) == 0)
				f->drain_deferred = true;
			return;
		}
		more = ring_front_final_check(&f->rx);
		if (f->nwaiters > 0)
			more |= ring_front_final_check(&f->tx);
		if (!more)
			return;
	}
}

static void
drain_deferred(void *arg)
{
	struct ak_net_front *f = arg;

	f->drain_deferred = false;
	if (f->freed) {
		free(f);
		return;
	}
	if (f->up)
		service(f);
}

static void
ev_ready(void *arg, int fd, unsigned revents)
{
	struct ak_net_front *f = arg;

	(void)fd;
	(void)revents;
	ring_evtchn_consume(f->ev);
	if (f->up)
		service(f);
}

/* ---- ak_net_ops ---- */

/* Units for a frame of len bytes that fits one page: 1, 2 or 4. */
static unsigned
units_for(size_t len)
{
	unsigned n = (unsigned)((len + NF_UNIT - 1) / NF_UNIT);

	return n <= 1 ? 1 : n == 2 ? 2 : 4;
}

/* Reserve units for a frame of len bytes; fill first unit of each slot.
 * Returns the slot count, or 0 if there is no room now. */
static unsigned
tx_reserve(struct ak_net_front *f, size_t len, uint16_t *ids)
{
	unsigned nslots = len <= NET_PAGE_SIZE ? 1 :
			  (unsigned)((len + NET_PAGE_SIZE - 1) / NET_PAGE_SIZE);
	unsigned per = nslots == 1 ? units_for(len) : NF_UPP;
	unsigned k;

	if (ring_front_free(&f->tx) < nslots)
		return 0;
	for (k = 0; k < nslots; k++) {
		int u = units_find(f->txbusy, per);

		if (u < 0)
			break;
		units_set(f->txbusy, (unsigned)u, per, true);
		f->txspan[u] = (uint8_t)per;
		ids[k] = (uint16_t)u;
	}
	if (k == nslots)
		return nslots;
	while (k-- > 0) {
		units_set(f->txbusy, ids[k], per, false);
		f->txspan[ids[k]] = 0;
	}
	return 0;
}

/* Gather len bytes at offset pos of the iovec into dst. */
static void
iov_copy(uint8_t *dst, const struct iovec *iov, int iovcnt, size_t pos,
	 size_t len)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t l = iov[i].iov_len, c;

		if (pos >= l) {
			pos -= l;
			continue;
		}
		c = l - pos < len ? l - pos : len;
		memcpy(dst, (const uint8_t *)iov[i].iov_base + pos, c);
		dst += c;
		len -= c;
		pos = 0;
	}
}

static int
op_writev(void *dev, const struct iovec *iov, int iovcnt)
{
	struct ak_net_front *f = dev;
	uint16_t ids[NET_NR_SLOTS_MIN];
	size_t len = 0, pos = 0;
	unsigned nslots;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > NET_MAX_TX_SIZE ||
		    (iov[i].iov_len > 0 && iov[i].iov_base == NULL))
			return -EINVAL;
		len += iov[i].iov_len;
		if (len > NET_MAX_TX_SIZE)
			return -EMSGSIZE;
	}
	if (len < NET_ETH_HLEN)
		return -EINVAL;
	if (len > (size_t)f->mtu + NET_ETH_HLEN)
		return -EMSGSIZE;
	for (;;) {
		struct ak_waiter w;
		int rc;

		if (f->closed)
			return -ESHUTDOWN;
		if (!f->up)
			return -ENOTCONN;
		if (len > NET_PAGE_SIZE && !f->sg)
			return -EMSGSIZE;
		reap_tx(f);
		if (!f->up)
			return -ENOTCONN;
		if ((nslots = tx_reserve(f, len, ids)) > 0)
			break;
		if (f->nwaiters == NF_MAX_WAITERS)
			return -EBUSY;
		/* Adaptive wait (DESIGN.md §3): under load netd answers within
		 * microseconds, far sooner than a wake-up through the kernel. */
		for (unsigned i = 0; i < RING_SPIN_DEFAULT &&
		     !ring_front_has_unconsumed(&f->tx); i++)
			ring_cpu_relax();
		if (ring_front_has_unconsumed(&f->tx))
			continue;
		/* Ask netd for a notify on the next answer, then re-check. */
		if (ring_front_final_check(&f->tx))
			continue;
		ak_waiter_init(&w, f->l);
		f->waiters[f->nwaiters++] = &w;
		if ((rc = ak_waiter_wait(&w)) < 0) {
			for (unsigned i = 0; i < f->nwaiters; i++)
				if (f->waiters[i] == &w)
					f->waiters[i] = f->waiters[--f->nwaiters];
			return rc;
		}
	}
	for (unsigned k = 0; k < nslots; k++) {
		unsigned u = ids[k];
		size_t chunk = len - pos > NET_PAGE_SIZE ? NET_PAGE_SIZE :
			       len - pos;
		uint32_t off = (u % NF_UPP) * NF_UNIT;
		struct net_tx_request q = {
			.gref = f->txref[u / NF_UPP], .offset = (uint16_t)off,
			.flags = k + 1 < nslots ? NET_TXF_more_data : 0,
			.id = (uint16_t)u,
			.size = (uint16_t)(k == 0 ? len : chunk),
		};

		iov_copy(f->txpg[u / NF_UPP] + off, iov, iovcnt, pos, chunk);
		f->txhead[u] = k == 0;
		/* tx_reserve checked the ring has room for every slot. */
		net_tx_front_put(&f->tx, &q);
		pos += chunk;
	}
	f->st.tx_packets++;
	f->st.tx_bytes += len;
	if (ring_front_push(&f->tx))
		ring_evtchn_notify(f->ev);
	return 0;
}

static int
op_listen(void *dev, ak_net_rx_fn *cb, void *arg)
{
	struct ak_net_front *f = dev;

	if (f->closed)
		return -ESHUTDOWN;
	f->cb = cb;
	f->cbarg = arg;
	return 0;
}

static int
op_mac(void *dev, uint8_t mac[6])
{
	struct ak_net_front *f = dev;

	memcpy(mac, f->mac, 6);
	return 0;
}

static int
op_mtu(void *dev, unsigned *mtu)
{
	*mtu = ((struct ak_net_front *)dev)->mtu;
	return 0;
}

static int
op_disconnect(void *dev)
{
	struct ak_net_front *f = dev;

	f->closed = true;
	f->cb = NULL;
	if (f->reopen_armed) {
		ak_loop_timer_cancel(f->l, f->reopen_id);
		f->reopen_armed = false;
	}
	/* Closing, teardown, Closed: netd unmaps and forgets the vif. */
	ring_xb_front_close(f->xf);
	f->xf = NULL;
	wake_writers(f);
	return 0;
}

static int
op_stats(void *dev, struct ak_net_stats *out)
{
	*out = ((struct ak_net_front *)dev)->st;
	return 0;
}

static const struct ak_net_ops net_ops = {
	.writev = op_writev,
	.listen = op_listen,
	.mac = op_mac,
	.mtu = op_mtu,
	.disconnect = op_disconnect,
	.stats = op_stats,
};

/* ---- the handshake ---- */

static void
reopen_cb(void *arg)
{
	struct ak_net_front *f = arg;
	int rc;

	f->reopen_armed = false;
	if (f->closed)
		return;
	ring_xb_front_close(f->xf);
	f->xf = NULL;
	rc = ring_xb_front_open(f->xb, "vif", f->devid, &front_ops, f, &f->xf);
	if (rc < 0)
		ring_log(RING_LOG_ERR,
			 "msg=\"vif device reopen failed\" device=vif/%u err=%d",
			 f->devid, rc);
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return mac[0] & 1 ? -EINVAL : 0;	/* our own address: unicast */
}

/* The toolstack's mac and mtu keys (frontend dir), as netfront reads
 * them.  Without a mac we make up a local one once and keep it. */
static int
read_config(struct ak_net_front *f, struct ring_store *st, uint32_t tx,
	    const char *fe_path)
{
	char p[256], *v = NULL;
	unsigned long mtu = 1500;
	uint8_t m[6];

	snprintf(p, sizeof(p), "%s/mac", fe_path);
	if (ring_store_read(st, tx, p, &v, NULL) == 0) {
		int rc = parse_mac(v, m);

		free(v);
		if (rc < 0) {
			ring_log(RING_LOG_ERR, "msg=\"bad mac key\" device=vif/%u",
				 f->devid);
			return rc;
		}
		memcpy(f->mac, m, 6);
		f->mac_set = true;
	} else if (!f->mac_set) {
		if (getrandom(f->mac, 6, 0) != 6)
			return -EAGAIN;
		f->mac[0] = (uint8_t)((f->mac[0] & 0xfe) | 0x02);
		f->mac_set = true;
		ring_log(RING_LOG_INFO,
			 "msg=\"no mac key: using a random local address\" device=vif/%u mac=%02x:%02x:%02x:%02x:%02x:%02x",
			 f->devid, f->mac[0], f->mac[1], f->mac[2], f->mac[3],
			 f->mac[4], f->mac[5]);
	}
	snprintf(p, sizeof(p), "%s/mtu", fe_path);
	if (ring_store_read_uint(st, tx, p, &mtu) == 0 &&
	    (mtu < 68 || mtu > NET_MAX_TX_SIZE - NET_ETH_HLEN)) {
		ring_log(RING_LOG_ERR, "msg=\"bad mtu key\" device=vif/%u mtu=%lu",
			 f->devid, mtu);
		return -EINVAL;
	}
	f->mtu = (unsigned)mtu;
	return 0;
}

static int
fe_setup(void *arg, struct ring_xb_front *xf, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct ak_net_front *f = arg;
	uint32_t txr, rxr;
	void *txp, *rxp, *pg;
	int rc;

	(void)xf;
	if ((rc = read_config(f, st, tx, fe_path)) < 0)
		return rc;
	/* As Linux netfront: no rx-copy, no connection. */
	if (ak_xb_backend_uint(st, tx, fe_path, "feature-rx-copy") != 1)
		return -EOPNOTSUPP;
	f->sg = ak_xb_backend_uint(st, tx, fe_path, "feature-sg") == 1;
	if ((rc = ring_share_grant(share, false, &txr, &txp)) < 0 ||
	    (rc = ring_share_grant(share, false, &rxr, &rxp)) < 0)
		return rc;
	for (unsigned i = 0; i < NF_TXP; i++) {
		if ((rc = ring_share_grant(share, true, &f->txref[i], &pg)) < 0)
			return rc;
		f->txpg[i] = pg;
	}
	for (unsigned i = 0; i < NF_RXP; i++) {
		if ((rc = ring_share_grant(share, false, &f->rxref[i], &pg)) < 0)
			return rc;
		f->rxpg[i] = pg;
	}
	if ((rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	net_tx_front_init(&f->tx, txp, RING_PAGE_SIZE);
	net_rx_front_init(&f->rx, rxp, RING_PAGE_SIZE);
	f->share = share;
	if ((rc = ak_xb_put_uint(st, tx, fe_path, "tx-ring-ref", txr)) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, "rx-ring-ref", rxr)) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, "event-channel",
			  ring_evtchn_port(f->ev))) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, "request-rx-copy", 1)) < 0 ||
	    (rc = ak_xb_put_uint(st, tx, fe_path, "feature-rx-notify", 1)) < 0)
		return rc;
	return ak_xb_put_uint(st, tx, fe_path, "feature-sg", 1);
}

static int
fe_connected(void *arg, struct ring_xb_front *xf)
{
	struct ak_net_front *f = arg;
	int rc;

	if ((rc = ak_loop_watch(f->l, ring_evtchn_fd(f->ev), POLLIN, ev_ready,
				f, &f->evw)) < 0)
		return rc;
	memset(f->txbusy, 0, sizeof(f->txbusy));
	memset(f->txspan, 0, sizeof(f->txspan));
	memset(f->txhead, 0, sizeof(f->txhead));
	f->as = (struct ak_net_rx_asm){ 0 };
	for (unsigned i = 0; i < NF_RXP; i++)
		post_rx(f, (uint16_t)i);
	ring_front_push(&f->rx);
	/* netd may have gone to sleep before these were there. */
	ring_evtchn_notify(f->ev);
	f->up = true;
	ring_log(RING_LOG_INFO,
		 "msg=\"net connected\" device=vif/%u generation=%u mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u sg=%d",
		 f->devid, ring_xb_front_generation(xf), f->mac[0], f->mac[1],
		 f->mac[2], f->mac[3], f->mac[4], f->mac[5], f->mtu, f->sg);
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xf)
{
	struct ak_net_front *f = arg;

	(void)xf;
	if (f->up || f->evw != NULL)
		f->st.reconnects++;
	f->up = false;
	wake_writers(f);
	ak_loop_unwatch(f->evw);
	f->evw = NULL;
	ring_evtchn_close(f->ev);
	f->ev = NULL;
	f->share = NULL;
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

int
ak_net_front_open(struct ak_loop *l, struct ring_xenbus *xb, unsigned devid,
		  struct ak_net_front **out)
{
	struct ak_net_front *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (f == NULL)
		return -ENOMEM;
	f->l = l;
	f->xb = xb;
	f->devid = devid;
	f->mtu = 1500;
	if ((rc = ak_net_new(&net_ops, f, &f->net)) < 0 ||
	    (rc = ring_xb_front_open(xb, "vif", devid, &front_ops, f,
				     &f->xf)) < 0) {
		free(f->net);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

bool
ak_net_front_ready(const struct ak_net_front *f)
{
	return f->up;
}

struct ak_net *
ak_net_front_net(struct ak_net_front *f)
{
	return f->net;
}

void
ak_net_front_close(struct ak_net_front *f)
{
	if (f == NULL)
		return;
	f->closed = true;
	if (f->reopen_armed)
		ak_loop_timer_cancel(f->l, f->reopen_id);
	ring_xb_front_close(f->xf);
	free(f->net);	/* not ak_net_free: no close op, f goes below */
	if (f->drain_deferred)
		f->freed = true;	/* the deferred drain still points here */
	else
		free(f);
}
