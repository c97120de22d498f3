/*
 * appkit/appkit_internal.h - between ak_main and the device frontends.
 */
#ifndef APPKIT_INTERNAL_H
#define APPKIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/appkit.h"

struct ring_xenbus;

/* In-process implementations (appkit/clock_inproc.c). */
int ak_inproc_pclock_open(struct ak_pclock **out);
int ak_inproc_mclock_open(struct ak_mclock **out);
int ak_inproc_time_open(struct ak_loop *l, struct ak_time **out);

/*
 * The clock device frontend (appkit/clock_ring.c): device clock/<devid>
 * of this domain, for signature sig (PCLOCK, MCLOCK or TIME).  Driven by
 * the xenbus glue's dispatch; its event channel is watched on loop.
 */
struct ak_clock_front;
int ak_clock_front_open(struct ak_loop *l, struct ring_xenbus *xb,
			unsigned devid, enum ak_sig sig,
			struct ak_clock_front **out);
/* Connected, and (for PCLOCK/MCLOCK) the time page has arrived. */
bool ak_clock_front_ready(struct ak_clock_front *f);
struct ak_time *ak_clock_front_time(struct ak_clock_front *f);
struct ak_pclock *ak_clock_front_pclock(struct ak_clock_front *f);
struct ak_mclock *ak_clock_front_mclock(struct ak_clock_front *f);
void ak_clock_front_close(struct ak_clock_front *f);

/*
 * The pvcalls device frontend (appkit/stack_ring.c): the STACK signature
 * over PV Calls to tcpipd, device pvcalls/<devid> of this domain.  Ready
 * once Connected; the ak_stack handle belongs to the frontend.
 */
struct ak_stack_front;
int ak_stack_front_open(struct ak_loop *l, struct ring_xenbus *xb,
			unsigned devid, struct ak_stack_front **out);
bool ak_stack_front_ready(const struct ak_stack_front *f);
struct ak_stack *ak_stack_front_stack(struct ak_stack_front *f);
void ak_stack_front_close(struct ak_stack_front *f);

/*
 * Drive a ring_xenbus from the loop (appkit/xb_glue.c): watch its fds,
 * dispatch, re-sync the watches after each dispatch, honour its retry
 * timeout.  *fatal is set if the store went away.
 */
/* KV_RO / KV_RW served by kvd over a kvif ring (kv_ring.c). */
struct ak_kv_front;
int ak_kv_front_open(struct ak_loop *l, struct ring_xenbus *xb,
		     unsigned devid, enum ak_sig sig, struct ak_kv_front **out);
bool ak_kv_front_ready(struct ak_kv_front *f);
struct ak_kv *ak_kv_front_kv(struct ak_kv_front *f);
void ak_kv_front_close(struct ak_kv_front *f);
/* The KV frontend's decoders of kvd's answers, pure for fuzzing. */
struct kv_response;
struct ak_kv_entry;
struct ak_kv_inflight {
	bool sent;		/* a request of this slot is on the ring */
	uint64_t seq;
	uint8_t op;
	uint32_t dlen;		/* data bytes granted with it */
};
int ak_kv__check_answer(const struct kv_response *r,
			const struct ak_kv_inflight inflight[],
			unsigned nslots, uint64_t *n, const char **why);
int ak_kv__parse_list(const unsigned char *d, uint64_t len, uint32_t count,
		      struct ak_kv_entry **e, size_t *cnt, size_t *cap);

/*
 * The vif device frontend (appkit/net_ring.c): the NET signature over
 * netif to netd, device vif/<devid> of this domain.  Ready once
 * Connected; the ak_net handle belongs to the frontend.
 */
struct ak_net_front;
int ak_net_front_open(struct ak_loop *l, struct ring_xenbus *xb,
		      unsigned devid, struct ak_net_front **out);
bool ak_net_front_ready(const struct ak_net_front *f);
struct ak_net *ak_net_front_net(struct ak_net_front *f);
void ak_net_front_close(struct ak_net_front *f);
/*
 * The NET frontend's parse of netd's rx answers, pure for fuzzing.  Each
 * answer (a private copy), taken from the ring slot where page posted_id
 * was posted, advances the reassembly state *a and says in *st what to
 * copy: st->len bytes at st->off of that page to st->at of the frame
 * (st->off + st->len <= 4096, st->at + st->len <= AK_NET_FRAME_MAX), and
 * whether the frame ends here and is good (then a->len is its length).
 * A bad fragment (error status, crossing its page, frame too long, an
 * extra-info slot we never asked for) drops only its frame.  Returns 0,
 * or -EPROTO with *why for what must end the connection: an answer in
 * another request's slot, a chain over AK_NET_RX_SLOTS_MAX data slots or
 * more than 4 extra-info slots.
 */
#define AK_NET_FRAME_MAX 65535u
#define AK_NET_RX_SLOTS_MAX 19u		/* XEN_NETIF_NR_SLOTS_MIN + 1 */
struct net_rx_response;
struct ak_net_rx_asm {
	uint32_t len;		/* frame bytes so far */
	unsigned nslots;	/* its data slots */
	unsigned nextra;	/* its extra-info slots */
	bool in_frame, extra_next, more_after_extra, bad;
};
struct ak_net_rx_step {
	uint32_t off, len, at;
	bool end, deliver;
};
int ak_net__rx_step(struct ak_net_rx_asm *a, const struct net_rx_response *r,
		    uint16_t posted_id, struct ak_net_rx_step *st,
		    const char **why);

struct ak_xb_glue;
int ak_xb_glue_open(struct ak_loop *l, struct ring_xenbus *xb,
		    struct ak_xb_glue **out);
bool ak_xb_glue_failed(const struct ak_xb_glue *g);
void ak_xb_glue_close(struct ak_xb_glue *g);

/*
 * Handshake keys, for the frontends' fe_setup (appkit/xb_glue.c).
 * ak_xb_put_uint writes dir/key = v in transaction tx: 0 or -errno.
 * ak_xb_backend_uint reads key from the directory fe_path/backend names:
 * its value, 0 if either is missing or not a number.  Both block on the
 * store.
 */
struct ring_store;
int ak_xb_put_uint(struct ring_store *st, uint32_t tx, const char *dir,
		   const char *key, unsigned v);
unsigned long ak_xb_backend_uint(struct ring_store *st, uint32_t tx,
				 const char *fe_path, const char *key);

#endif
