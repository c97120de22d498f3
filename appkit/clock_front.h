/*
 * appkit/clock_front.h - the TIME frontend's protocol state, separate
 * from the handshake so that unit tests and the fuzzer can drive it over
 * plain memory rings.
 */
#ifndef APPKIT_CLOCK_FRONT_H
#define APPKIT_CLOCK_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/ak_loop.h"
#include "morgana/ak_time.h"
#include "morgana/proto/clock_proto.h"

/* The handshake keys (docs/clock.md); clockserve's clock_proto.h names
 * them too. */
#ifndef CLOCK_DEVICE_TYPE
#define CLOCK_DEVICE_TYPE "clock"
#define CLOCK_KEY_TIMER_RING_REF "timer-ring-ref"
#define CLOCK_KEY_FIRE_RING_REF "fire-ring-ref"
#define CLOCK_KEY_EVENT_CHANNEL "event-channel"
#define CLOCK_OFFER_TIME_PAGE 1u
#endif

struct ak_clock_timer;

struct ak_clock_cmd {
	uint64_t id, deadline;
	uint8_t op;
};

struct ak_clock_proto {
	struct ak_loop *l;
	struct ring_front cmd, fire;
	bool attached, connected, broken, in_poll;
	bool notify;		/* out: the caller must notify the channel */
	const char *why;	/* out: why broken */
	struct ak_clock_cmd *sent;	/* per command-ring slot: what we sent */
	struct ak_clock_timer **buckets;
	size_t nbuckets, n_timers;
	struct ak_clock_timer *all;
	struct ak_clock_cmd *q;	/* commands not yet on the ring */
	size_t qhead, qn, qcap;
	uint64_t next_id;
	uint64_t unknown_fires, fired, early;
};

int ak_clock_proto_init(struct ak_clock_proto *p, struct ak_loop *l);
/* Free every pending timer without calling it. */
void ak_clock_proto_fini(struct ak_clock_proto *p);
/* New rings (both pages size bytes, the frontend's): initialise them. */
int ak_clock_proto_attach(struct ak_clock_proto *p, void *timer_page,
			  void *fire_page, size_t size);
/* The backend is Connected: re-arm every pending timer, post credits. */
void ak_clock_proto_connected(struct ak_clock_proto *p);
/* The connection is gone: forget the rings (timers stay pending). */
void ak_clock_proto_detach(struct ak_clock_proto *p);
int ak_clock_proto_arm(struct ak_clock_proto *p, uint64_t deadline_ns,
		       ak_time_fn *cb, void *arg, uint64_t *id);
int ak_clock_proto_cancel(struct ak_clock_proto *p, uint64_t id);
/*
 * Consume answers and events (running the callbacks of fired timers),
 * send queued commands and credits.  Sets p->notify when the backend
 * asked to be notified.  Returns 0, or -EPROTO if the backend broke the
 * protocol (p->broken, p->why; the connection should be dropped).
 */
int ak_clock_proto_poll(struct ak_clock_proto *p);

#endif
