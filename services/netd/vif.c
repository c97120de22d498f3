/*
 * One connected vif: its tx ring (frames from the frontend) and rx ring
 * (frames to it), independent of how the pages were mapped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "morgana/share.h"
#include "netd.h"

#define BATCH_OPS (NETD_BATCH * NETD_TX_SLOTS_MAX)

/* One tx packet of a batch, parsed; its copies are ops[op0..op0+nops). */
struct tx_pend {
	struct net_tx_request slots[NETD_TX_SLOTS_MAX];
	struct netd_tx_pkt pkt;
	uint8_t *data;
	unsigned op0, nops;
	int verdict;
};

struct netd_batch {
	struct ring_copy ops[BATCH_OPS];
	unsigned nops;
	struct net_rx_response rsp[BATCH_OPS];
	struct tx_pend tx[NETD_BATCH];
	unsigned np, next;	/* tx[next..np): copied, not yet delivered */
	uint8_t stage[NETD_TX_STAGE];
};

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
	v->g = *g;
	v->sg = sg;
	if (g->copy_batch != NULL &&
	    (v->batch = malloc(sizeof(*v->batch))) == NULL)
		return -ENOMEM;
	return 0;
}

void
netd_vif_fini(struct netd_vif *v)
{
	while (v->rxq_n > 0) {
		free(v->rxq[v->rxq_head]);
		v->rxq_head = (v->rxq_head + 1) % NETD_RXQ_MAX;
		v->rxq_n--;
	}
	free(v->batch);
	v->batch = NULL;
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

/* Parsing a batch: record each copy instead of making it. */
static int
rec_from(void *arg, uint32_t gref, uint32_t off, void *dst, uint32_t len)
{
	struct netd_batch *b = arg;

	/* Sized for NETD_BATCH packets of the most slots: cannot fill. */
	if (b->nops == BATCH_OPS)
		return -ENOSPC;
	b->ops[b->nops++] = (struct ring_copy){ .buf = dst, .ref = gref,
		.off = (uint16_t)off, .len = (uint16_t)len, .to_peer = false };
	return 0;
}

static void
tx_finish(struct netd_vif *v, struct tx_pend *t,
	  const struct netd_vif_sink *sink)
{
	struct netd_tx_pkt *pkt = &t->pkt;
	uint16_t rf = 0;

	if (t->verdict == NETD_TX_DROP) {
		if (v->tx_dropped++ < 8)
			ring_log(RING_LOG_INFO, "msg=\"tx packet dropped\" why=\"%s\"",
				 pkt->why);
		answer(v, t->slots, pkt->nslots, pkt->extra_mask, NET_RSP_ERROR);
		return;
	}
	/* Anti-spoofing: a vif only sends from its own MAC. */
	if (v->has_mac && memcmp(t->data + 6, v->mac, 6) != 0) {
		v->tx_dropped++;
		answer(v, t->slots, pkt->nslots, pkt->extra_mask,
		       NET_RSP_DROPPED);
		return;
	}
	answer(v, t->slots, pkt->nslots, pkt->extra_mask, NET_RSP_OKAY);
	v->tx_frames++;
	if (pkt->flags & NET_TXF_csum_blank)
		rf = NET_RXF_csum_blank | NET_RXF_data_validated;
	else if (pkt->flags & NET_TXF_data_validated)
		rf = NET_RXF_data_validated;
	sink->deliver(sink->arg, t->data, pkt->len, rf);
}

/* Answer and deliver what the last batch copied, while the sink has
 * room.  Returns false if some are left for the next call. */
static bool
tx_drain(struct netd_vif *v, const struct netd_vif_sink *sink)
{
	struct netd_batch *b = v->batch;

	while (b->next < b->np) {
		struct tx_pend *t = &b->tx[b->next];

		if (t->verdict == NETD_TX_OK && sink->room != NULL &&
		    !sink->room(sink->arg))
			return false;
		tx_finish(v, t, sink);
		b->next++;
	}
	b->np = b->next = 0;
	return true;
}

/*
 * netd_vif_tx with copy_batch: parse up to NETD_BATCH packets (structure
 * only, their copies recorded), copy them all in one batch, then answer
 * and deliver each while the sink has room; the rest waits in the batch
 * (its slots unanswered) and goes first on the next call, so that
 * backpressure loses nothing.
 */
static int
tx_batched(struct netd_vif *v, unsigned budget,
	   const struct netd_vif_sink *sink)
{
	struct netd_batch *b = v->batch;
	struct netd_gops rec = { rec_from, NULL, b, NULL };
	unsigned done = 0;
	bool empty = false;
	int rc;

	if (!tx_drain(v, sink))
		goto out;
	while (done < budget && !empty) {
		unsigned np = 0;
		size_t used = 0;

		b->nops = 0;
		while (np < NETD_BATCH && done < budget &&
		       NETD_TX_STAGE - used >= NETD_FRAME_MAX) {
			struct tx_pend *t = &b->tx[np];
			unsigned n = 0;
			int vd = NETD_TX_MORE;

			if (sink->room != NULL && !sink->room(sink->arg)) {
				empty = true;
				break;
			}
			t->op0 = b->nops;
			for (;;) {
				rc = net_tx_back_get(&v->tx, &t->slots[n]);
				if (rc < 0)
					return fail(v, "impossible tx ring indices");
				if (rc == 0) {
					if (n == 0)
						break;
					return fail(v, "packet continues past the published requests");
				}
				n++;
				b->nops = t->op0;
				vd = netd_tx_parse(t->slots, n, &rec,
						   b->stage + used,
						   NETD_TX_STAGE - used, &t->pkt);
				if (vd != NETD_TX_MORE)
					break;
				if (n == NETD_TX_SLOTS_MAX)
					return fail(v, "packet too long");
			}
			if (n == 0) {
				empty = true;
				break;
			}
			if (vd == NETD_TX_FATAL)
				return fail(v, t->pkt.why);
			if (vd != NETD_TX_OK)
				b->nops = t->op0;
			t->verdict = vd;
			t->nops = b->nops - t->op0;
			t->data = b->stage + used;
			if (vd == NETD_TX_OK)
				used += (t->pkt.len + 63u) & ~(size_t)63;
			np++;
			done++;
		}
		if (np == 0)
			break;
		for (unsigned i = 0; i < b->nops; i++)
			b->ops[i].status = -EIO;
		if (b->nops > 0)
			(void)v->g.copy_batch(v->g.arg, b->ops, b->nops);
		for (unsigned i = 0; i < np; i++) {
			struct tx_pend *t = &b->tx[i];

			for (unsigned k = 0; k < t->nops; k++)
				if (t->verdict == NETD_TX_OK &&
				    b->ops[t->op0 + k].status < 0) {
					t->verdict = NETD_TX_DROP;
					t->pkt.why = "grant copy failed";
				}
		}
		b->np = np;
		b->next = 0;
		if (!tx_drain(v, sink))
			break;
	}
out:
	if (ring_back_push(&v->tx))
		v->need_notify = true;
	return (int)done;
}

int
netd_vif_tx(struct netd_vif *v, unsigned budget,
	    const struct netd_vif_sink *sink)
{
	struct net_tx_request slots[NETD_TX_SLOTS_MAX];
	struct netd_tx_pkt pkt;
	unsigned done = 0;
	int rc, vd = NETD_TX_MORE;

	if (v->batch != NULL)
		return tx_batched(v, budget, sink);
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
	if ((f = malloc(sizeof(*f) + len)) == NULL) {
		v->rx_dropped++;
		return -ENOBUFS;
	}
	f->len = len;
	f->rxflags = rxflags;
	memcpy(f->data, frame, len);
	v->rxq[(v->rxq_head + v->rxq_n) % NETD_RXQ_MAX] = f;
	if (++v->rxq_n == NETD_RXQ_MAX && v->full_since_ns == 0)
		v->full_since_ns = netd_now_ns();
	return 0;
}

/* netd_vif_rx_flush with copy_batch: the copies of up to NETD_BATCH
 * frames in one call, then their responses. */
static int
rx_batched(struct netd_vif *v)
{
	struct netd_batch *b = v->batch;
	int delivered = 0;

	for (;;) {
		unsigned nf = 0, nops = 0;

		while (nf < NETD_BATCH && nf < v->rxq_n) {
			struct netd_frame *f =
				v->rxq[(v->rxq_head + nf) % NETD_RXQ_MAX];
			uint32_t need = f->len == 0 ? 1 :
				(f->len + NET_PAGE_SIZE - 1) / NET_PAGE_SIZE;
			uint32_t prod, off = 0;

			if (nops + need > BATCH_OPS)
				break;
			/* req_prod /before/ the request slots it covers. */
			prod = atomic_load_explicit(&v->rx.s->req_prod,
						    memory_order_acquire);
			if ((uint32_t)(prod - v->rx.rsp_prod_pvt) > v->rx.nr_ents)
				return fail(v, "impossible rx ring indices");
			if (prod - v->rx.req_cons < need)
				break;
			for (uint32_t k = 0; k < need; k++) {
				struct net_rx_request q;
				uint32_t chunk = f->len - off;
				int rc = net_rx_back_get(&v->rx, &q);

				if (rc < 0)
					return fail(v, "impossible rx ring indices");
				if (rc == 0)
					return fail(v, "rx requests vanished");
				if (chunk > NET_PAGE_SIZE)
					chunk = NET_PAGE_SIZE;
				b->ops[nops] = (struct ring_copy){
					.buf = f->data + off, .ref = q.gref,
					.len = (uint16_t)chunk, .to_peer = true,
					.status = -EIO };
				b->rsp[nops] = (struct net_rx_response){
					.id = q.id, .offset = 0,
					.flags = (uint16_t)((k == 0 ? f->rxflags : 0) |
						 (k + 1 < need ? NET_RXF_more_data : 0)),
					.status = (int16_t)chunk,
				};
				nops++;
				off += chunk;
			}
			nf++;
		}
		if (nf == 0)
			break;
		if (v->g.copy_batch(v->g.arg, b->ops, nops) < 0)
			return fail(v, "rx request names a page we may not write");
		for (unsigned i = 0; i < nops; i++)
			net_rx_back_put(&v->rx, &b->rsp[i]);
		for (unsigned i = 0; i < nf; i++) {
			free(v->rxq[v->rxq_head]);
			v->rxq_head = (v->rxq_head + 1) % NETD_RXQ_MAX;
		}
		v->rxq_n -= nf;
		v->full_since_ns = 0;
		v->rx_frames += nf;
		delivered += (int)nf;
	}
	if (delivered > 0 && ring_back_push(&v->rx))
		v->need_notify = true;
	return delivered;
}

int
netd_vif_rx_flush(struct netd_vif *v)
{
	int delivered = 0;

	if (v->batch != NULL)
		return rx_batched(v);

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
		free(f);
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
