/*
 * Event channels over eventfd (dev mode).
 *
 * One channel end holds two eventfds: rx, which the peer writes to wake
 * us, and tx, which we write to wake the peer.  The peer holds the same
 * two with the roles swapped.  An eventfd counter coalesces any number of
 * writes into one readable state, which is what Xen's pending bit does.
 *
 * The peer holds the same open file descriptions, so it can clear
 * O_NONBLOCK on them (F_SETFL acts on the description, not the fd).  Reads
 * therefore use preadv2(RWF_NOWAIT), a per-call flag the peer cannot
 * change.  eventfd writes do not support RWF_NOWAIT, so notify re-asserts
 * O_NONBLOCK before writing; a peer racing that with F_SETFL while also
 * saturating its own counter could still block one write (known limit).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
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

void
ring_evtchn__forget(struct ring_evtchn *ev)
{
	free(ev);
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

/* Read the counter without ever blocking, whatever the peer did to the
 * file status flags.  Returns 1 (consumed), 0 (nothing), or -errno. */
static int
evtchn_read_nowait(int fd)
{
	uint64_t v;
	struct iovec io = { .iov_base = &v, .iov_len = sizeof(v) };

	if (preadv2(fd, &io, 1, -1, RWF_NOWAIT) == sizeof(v))
		return 1;
	if (errno == EAGAIN)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* A kernel without RWF_NOWAIT on eventfd (before 5.10). */
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		return 1;
	return errno == EAGAIN ? 0 : -errno;
}

int
ring_evtchn_notify(struct ring_evtchn *ev)
{
	uint64_t one = 1;
	int fl = fcntl(ev->tx, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		/* Only the peer clears it: restore before we write. */
		fcntl(ev->tx, F_SETFL, fl | O_NONBLOCK);
	}

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
	return evtchn_read_nowait(ev->rx);
}

int
ring_evtchn_wait(struct ring_evtchn *ev, int timeout_ms)
{
	struct pollfd p = { .fd = ev->rx, .events = POLLIN };
	int n;

	for (;;) {
		/* Try first: a pending notification costs one syscall. */
		if ((n = evtchn_read_nowait(ev->rx)) != 0)
			return n < 0 ? n : 0;
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
