/*
 * Private to libring's xen transport: how share.c and peer.c make channel
 * ends (evtchn.c).
 */
#ifndef LIBRING_XEN_INTERNAL_H
#define LIBRING_XEN_INTERNAL_H

#include <stdint.h>

struct ring_evtchn;

/* A fresh unbound port that domain peer may bind (frontend side).
 * Returns 0 or -errno (-ENODEV without /dev/xen/evtchn). */
int ring_evtchn__unbound(uint16_t peer, struct ring_evtchn **out);
/* Bind peer's unbound port remote (backend side).  Returns 0, -ENOENT if
 * peer has no such port unbound for us, or -errno. */
int ring_evtchn__interdomain(uint16_t peer, uint32_t remote,
			     struct ring_evtchn **out);

#endif
