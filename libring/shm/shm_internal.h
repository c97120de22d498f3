/*
 * Private to libring's shm transport: how channel ends are built from and
 * taken apart into fds, so that they can travel by SCM_RIGHTS.
 */
#ifndef LIBRING_SHM_INTERNAL_H
#define LIBRING_SHM_INTERNAL_H

#include <stdint.h>

struct ring_evtchn;

/* Wrap two eventfds as a channel end; takes ownership of both fds. */
int ring_evtchn__from_fds(uint32_t port, int rx, int tx,
			  struct ring_evtchn **out);
/* The end's fds (still owned by the end). */
int ring_evtchn__fds(const struct ring_evtchn *ev, int *rx, int *tx);
/* Free the handle but not its fds (they belong to someone else again). */
void ring_evtchn__forget(struct ring_evtchn *ev);
/* Two fresh non-blocking, close-on-exec eventfds. */
int ring_evtchn__new_fds(int *a, int *b);

#endif
