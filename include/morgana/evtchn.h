/*
 * morgana/evtchn.h - event channels, the doorbell beside every ring.
 *
 * A channel has two ends, one per domain.  Notifying one end makes the
 * other end's fd readable.  Notifications coalesce, like Xen's pending bit:
 * any number of notifies before the peer consumes them wake it once.
 *
 * Dev mode (libring/shm): each channel is two eventfds, one per direction.
 * Deploy mode (libring/xen): /dev/xen/evtchn through libxenevtchn.
 *
 * Channels between two domains are made by the frontend with
 * ring_share_evtchn() and bound by the backend with ring_peer_bind()
 * (morgana/share.h).  ring_evtchn_pair() makes both ends locally, for tests
 * and benchmarks that fork.
 *
 * Also here: the adaptive wait for rings (DESIGN.md §3): spin on the ring,
 * arm the event index, re-check, then sleep on the channel.
 */
#ifndef MORGANA_EVTCHN_H
#define MORGANA_EVTCHN_H

#include <stdint.h>

#include "morgana/ring.h"

struct ring_evtchn;

/*
 * Make both ends of a channel in this process.  Both survive fork(), so a
 * parent can keep *a and a child *b.  Returns 0 or -errno (-EMFILE...).
 */
int ring_evtchn_pair(struct ring_evtchn **a, struct ring_evtchn **b);

/* Port number of this end (what goes in the `event-channel` key). */
uint32_t ring_evtchn_port(const struct ring_evtchn *ev);

/* Wake the other end.  Never blocks.  Returns 0 or -errno. */
int ring_evtchn_notify(struct ring_evtchn *ev);

/* An fd that is readable while a notification is pending (for poll or
 * io_uring).  Owned by the channel; do not close it. */
int ring_evtchn_fd(const struct ring_evtchn *ev);

/*
 * Consume a pending notification without blocking.  Returns 1 if one was
 * pending, 0 if none, -errno on error.
 */
int ring_evtchn_consume(struct ring_evtchn *ev);

/*
 * Block until a notification arrives, then consume it.  timeout_ms < 0
 * waits forever (one read(2) syscall per wake-up).  Returns 0, -ETIMEDOUT,
 * -EINTR, or -errno.
 */
int ring_evtchn_wait(struct ring_evtchn *ev, int timeout_ms);

/* Close this end.  The other end simply stops being woken.  NULL is ok. */
void ring_evtchn_close(struct ring_evtchn *ev);

/* Default spin budget (iterations of a pause loop, about 20 ns each). */
#define RING_SPIN_DEFAULT 2000u

/*
 * Adaptive wait, front end: returns once responses are ready to consume.
 * 1. spin up to `spin` iterations re-reading rsp_prod;
 * 2. arm rsp_event and re-check (ring_front_final_check);
 * 3. sleep on ev, and go back to 2.
 * Under load the response arrives while spinning and no syscall is made.
 * Returns 0 when there is something to consume, -ETIMEDOUT when
 * timeout_ms (< 0: forever) passed while asleep, -EINTR, or -errno.
 * A broken ring returns 0 so that the caller's ring_front_get reports it.
 */
int ring_front_wait(struct ring_front *f, struct ring_evtchn *ev,
		    unsigned spin, int timeout_ms);

/* Adaptive wait, back end: the same for requests. */
int ring_back_wait(struct ring_back *b, struct ring_evtchn *ev,
		   unsigned spin, int timeout_ms);

/* One pause instruction: what a spin loop executes between checks. */
static inline void
ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* MORGANA_EVTCHN_H */
