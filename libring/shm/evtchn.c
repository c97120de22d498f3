/*
 * Event channels over eventfd (dev mode).
 *
 * One channel end holds two eventfds: rx, which the peer writes to wake
 * us, and tx, which we write to wake the peer.  The peer holds the same
 * two with the roles swapped.  An eventfd counter coalesces any number of
 * writes into one readable state, which is what Xen's pending bit does.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "shm/shm_internal.h"

struct ring_evtchn {
	int rx;
	int tx;
	uint32_t port;
};

int
ring_evtchn__from_fds(uint32_t port, int rx, int tx, struct ring_evtchn **out)
{
	struct ring_evtchn *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return -ENOMEM;
	ev->rx = rx;
	ev->tx = tx;
	ev->port = port;
	*out = ev;
	return 0;
}

int
ring_evtchn__fds(const struct ring_evtchn *ev, int *rx, int *tx)
{
	*rx = ev->rx;
	*tx = ev->tx;
	return 0;
}

int
ring_evtchn__new_fds(int *a, int *b)
{
	*a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*a < 0)
		return -errno;
	*b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*b < 0) {
		int e = -errno;

		close(*a);
		return e;
	}
	return 0;
}

int
ring_evtchn_pair(struct ring_evtchn **a, struct ring_evtchn **b)
{
	int e1, e2, rc;

	if ((rc = ring_evtchn__new_fds(&e1, &e2)) < 0)
		return rc;
	if ((rc = ring_evtchn__from_fds(1, e1, e2, a)) < 0)
		goto fail;
	if ((rc = ring_evtchn__from_fds(1, e2, e1, b)) < 0) {
		free(*a);
		goto fail;
	}
	/* Each end owns closing its rx fd; tx is the peer's rx.  Dup so that
	 * both ends can be closed independently. */
	(*a)->tx = dup((*a)->tx);
	(*b)->tx = dup((*b)->tx);
	if ((*a)->tx < 0 || (*b)->tx < 0) {
		rc = -errno;
		ring_evtchn_close(*a);
		ring_evtchn_close(*b);
		return rc;
	}
	return 0;
fail:
	close(e1);
	close(e2);
	return rc;
}

uint32_t
ring_evtchn_port(const struct ring_evtchn *ev)
{
	return ev->port;
}

int
ring_evtchn_notify(struct ring_evtchn *ev)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: the peer is woken anyway. */
	if (write(ev->tx, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int
ring_evtchn_fd(const struct ring_evtchn *ev)
{
	return ev->rx;
}

int
ring_evtchn_consume(struct ring_evtchn *ev)
{
	uint64_t v;

	if (read(ev->rx, &v, sizeof(v)) < 0)
		return errno == EAGAIN ? 0 : -errno;
	return 1;
}

int
ring_evtchn_wait(struct ring_evtchn *ev, int timeout_ms)
{
	struct pollfd p = { .fd = ev->rx, .events = POLLIN };
	uint64_t v;
	int n;

	for (;;) {
		/* Try first: a pending notification costs one syscall. */
		if (read(ev->rx, &v, sizeof(v)) == sizeof(v))
			return 0;
		if (errno != EAGAIN)
			return -errno;
		n = poll(&p, 1, timeout_ms);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
	}
}

void
ring_evtchn_close(struct ring_evtchn *ev)
{
	if (ev == NULL)
		return;
	close(ev->rx);
	close(ev->tx);
	free(ev);
}
