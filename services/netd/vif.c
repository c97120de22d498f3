/*
 * One connected vif: its tx ring (frames from the frontend) and rx ring
 * (frames to it), independent of how the pages were mapped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "netd.h"

/* A frontend whose rx queue stays full this long stops holding back the
 * others (netback's rx stall): its frames are dropped instead. */
#define NETD_RX_STALL_NS (500u * 1000000u)

int
netd_vif_init(struct netd_vif *v, void *tx_page, void *rx_page,
	      const struct netd_gops *g, bool sg)
{
	int rc;

	memset(v, 0, offsetof(struct netd_vif, buf));
	if ((rc = net_tx_back_attach(&v->tx, tx_page, NET_PAGE_SIZE)) < 0 ||
	    (rc = net_rx_back_attach(&v->rx, rx_page, NET_PAGE_SIZE)) < 0)
		return rc;
	/* Pages are touched only as the queue grows into them. */
	if ((v->rxpool = malloc((size_t)NETD_RXQ_MAX * NETD_RXQ_SLOT)) == NULL)
		return -ENOMEM;
	v->g = *g;
	v->sg = sg;
	return 0;
}

static bool
in_pool(const struct netd_vif *v, const struct netd_frame *f)
{
	const uint8_t *p = (const uint8_t *)f;

	return p >= v->rxpool &&
	       p < v->rxpool + (size_t)NETD_RXQ_MAX * NETD_RXQ_SLOT;
}

static void
frame_free(struct netd_vif *v, struct netd_frame *f)
{
	if (!in_pool(v, f))
		free(f);
}

void
netd_vif_fini(struct netd_vif *v)
{
	while (v->rxq_n > 0) {
		frame_free(v, v->rxq[v->rxq_head]);
		v->rxq_head = (v->rxq_head + 1) % NETD_RXQ_MAX;
		v->rxq_n--;
	}
	free(v->rxpool);
	v->rxpool = NULL;
}

static int
fail(struct netd_vif *v, const char *why)
{
	v->fail_why = why;
	return -EPROTO;
}

static void
answer(struct netd_vif *v, const struct net_tx_request *slots, unsigned n,
       uint32_t extra_mask, int16_t status)
{
	for (unsigned k = 0; k < n; k++) {
		struct net_tx_response r = { .id = slots[k].id,
					     .status = status };

		if (extra_mask & (1u << k))
			r = (struct net_tx_response){ .status = NET_RSP_NULL };
		/* Every slot was consumed just before: cannot fail. */
		net_tx_back_put(&v->tx, &r);
	}
}

int
netd_vif_tx(struct netd_vif *v, unsigned budget,
	    const struct netd_vif_sink *sink)
{
	struct net_tx_request slots[NETD_TX_SLOTS_MAX];
	struct netd_tx_pkt pkt;
	unsigned done = 0;
	int rc, vd = NETD_TX_MORE;

	while (done < budget) {
		unsigned n = 0;

		if (sink->room != NULL && !sink->room(sink->arg))
			break;
		for (;;) {
			rc = net_tx_back_get(&v->tx, &slots[n]);
			if (rc < 0)
				return fail(v, "impossible tx ring indices");
			if (rc == 0) {
				if (n == 0)
					goto out;
				/* netback: "asked for slots beyond work_to_do" */
				return fail(v, "packet continues past the published requests");
			}
			n++;
			vd = netd_tx_parse(slots, n, &v->g, v->buf,
					   sizeof(v->buf), &pkt);
			if (vd != NETD_TX_MORE)
				break;
			if (n == NETD_TX_SLOTS_MAX)	/* parse caps first */
				return fail(v, "packet too long");
		}
		if (vd == NETD_TX_FATAL)
			return fail(v, pkt.why);
		done++;
		if (vd == NETD_TX_DROP) {
			if (v->tx_dropped++ < 8)
				ring_log(RING_LOG_INFO, "msg=\"tx packet dropped\" why=\"%s\"",
					 pkt.why);
			answer(v, slots, pkt.nslots, pkt.extra_mask,
			       NET_RSP_ERROR);
			continue;
		}
		/* Anti-spoofing: a vif only sends from its own MAC. */
		if (v->has_mac && memcmp(v->buf + 6, v->mac, 6) != 0) {
			v->tx_dropped++;
			answer(v, slots, pkt.nslots, pkt.extra_mask,
			       NET_RSP_DROPPED);
			continue;
		}
		answer(v, slots, pkt.nslots, pkt.extra_mask, NET_RSP_OKAY);
		v->tx_frames++;
		{
			uint16_t rf = 0;

			if (pkt.flags & NET_TXF_csum_blank)
				rf = NET_RXF_csum_blank | NET_RXF_data_validated;
			else if (pkt.flags & NET_TXF_data_validated)
				rf = NET_RXF_data_validated;
			sink->deliver(sink->arg, v->buf, pkt.len, rf);
		}
	}
out:
	if (ring_back_push(&v->tx))
		v->need_notify = true;
	return (int)done;
}

bool
netd_vif_rx_room(const struct netd_vif *v)
{
	if (v->rxq_n < NETD_RXQ_MAX)
		return true;
	return v->full_since_ns != 0 &&
	       netd_now_ns() - v->full_since_ns > NETD_RX_STALL_NS;
}

int
netd_vif_rx_queue(struct netd_vif *v, const uint8_t *frame, uint32_t len,
		  uint16_t rxflags)
{
	unsigned pos = (v->rxq_head + v->rxq_n) % NETD_RXQ_MAX;
	struct netd_frame *f;

	if (!v->sg && len > NET_PAGE_SIZE) {
		v->rx_dropped++;
		return -EMSGSIZE;
	}
	if (v->rxq_n == NETD_RXQ_MAX) {
		if (v->full_since_ns == 0)
			v->full_since_ns = netd_now_ns();
		v->rx_dropped++;
		return -ENOBUFS;
	}
	if (sizeof(*f) + len <= NETD_RXQ_SLOT)
		f = (struct netd_frame *)(v->rxpool + (size_t)pos * NETD_RXQ_SLOT);
	else if ((f = malloc(sizeof(*f) + len)) == NULL) {
		v->rx_dropped++;
		return -ENOBUFS;
	}
	f->len = len;
	f->rxflags = rxflags;
	memcpy(f->data, frame, len);
	v->rxq[pos] = f;
	if (++v->rxq_n == NETD_RXQ_MAX && v->full_since_ns == 0)
		v->full_since_ns = netd_now_ns();
	return 0;
}

int
netd_vif_rx_flush(struct netd_vif *v)
{
	int delivered = 0;

	while (v->rxq_n > 0) {
		struct netd_frame *f = v->rxq[v->rxq_head];
		uint32_t need = f->len == 0 ? 1 :
				(f->len + NET_PAGE_SIZE - 1) / NET_PAGE_SIZE;
		uint32_t prod, avail, off = 0;

		/* req_prod /before/ the request slots it covers; the bounds
		 * are re-checked by ring_back_get on every slot. */
		prod = atomic_load_explicit(&v->rx.s->req_prod,
					    memory_order_acquire);
		if ((uint32_t)(prod - v->rx.rsp_prod_pvt) > v->rx.nr_ents)
			return fail(v, "impossible rx ring indices");
		avail = prod - v->rx.req_cons;
		if (avail < need)
			break;
		for (uint32_t k = 0; k < need; k++) {
			struct net_rx_request q;
			struct net_rx_response r;
			uint32_t chunk = f->len - off;
			int rc = net_rx_back_get(&v->rx, &q);

			if (rc < 0)
				return fail(v, "impossible rx ring indices");
			if (rc == 0)	/* we counted them: cannot happen */
				return fail(v, "rx requests vanished");
			if (chunk > NET_PAGE_SIZE)
				chunk = NET_PAGE_SIZE;
			if (chunk > 0 &&
			    v->g.copy_to(v->g.arg, q.gref, 0, f->data + off,
					 chunk) < 0)
				return fail(v, "rx request names a page we may not write");
			r = (struct net_rx_response){
				.id = q.id, .offset = 0,
				.flags = (uint16_t)((k == 0 ? f->rxflags : 0) |
					 (k + 1 < need ? NET_RXF_more_data : 0)),
				.status = (int16_t)chunk,
			};
			net_rx_back_put(&v->rx, &r);
			off += chunk;
		}
		frame_free(v, f);
		v->rxq_head = (v->rxq_head + 1) % NETD_RXQ_MAX;
		v->rxq_n--;
		v->full_since_ns = 0;
		v->rx_frames++;
		delivered++;
	}
	if (delivered > 0 && ring_back_push(&v->rx))
		v->need_notify = true;
	return delivered;
}

bool
netd_vif_rx_final_check(struct netd_vif *v)
{
	const struct netd_frame *f;
	uint32_t need, prod;

	if (v->rxq_n == 0)
		return false;
	f = v->rxq[v->rxq_head];
	need = f->len == 0 ? 1 : (f->len + NET_PAGE_SIZE - 1) / NET_PAGE_SIZE;
	/* Ask to be woken once enough requests for the head frame exist. */
	atomic_store_explicit(&v->rx.s->req_event, v->rx.req_cons + need,
			      memory_order_relaxed);
	/* req_event store /before/ the re-read of req_prod (store-load). */
	atomic_thread_fence(memory_order_seq_cst);
	prod = atomic_load_explicit(&v->rx.s->req_prod, memory_order_acquire);
	return (uint32_t)(prod - v->rx.req_cons) >= need;
}
