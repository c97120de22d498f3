/*
 * Event channels on Xen (deploy mode), through libxenevtchn.
 *
 * Each channel end owns its own /dev/xen/evtchn handle, so that its fd is
 * readable for that channel alone, as an eventfd is in dev mode.  The fd
 * is made non-blocking: a pending port is read (which masks it in the
 * kernel) and unmasked straight away, so the next notify wakes us again;
 * Xen's pending bit already coalesces notifies in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "morgana/evtchn.h"
#include "xen/xen_internal.h"

struct ring_evtchn {
	xenevtchn_handle *xce;
	evtchn_port_t local;
};

static int
open_handle(xenevtchn_handle **out)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	int fd, fl;

	if (xce == NULL)
		return errno ? -errno : -ENODEV;
	fd = xenevtchn_fd(xce);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int e = -errno;

		xenevtchn_close(xce);
		return e;
	}
	*out = xce;
	return 0;
}

static int
wrap(xenevtchn_handle *xce, evtchn_port_t local, struct ring_evtchn **out)
{
	struct ring_evtchn *ev = calloc(1, sizeof(*ev));

	if (ev == NULL) {
		xenevtchn_unbind(xce, local);
		xenevtchn_close(xce);
		return -ENOMEM;
	}
	ev->xce = xce;
	ev->local = local;
	*out = ev;
	return 0;
}

int
ring_evtchn__unbound(uint16_t peer, struct ring_evtchn **out)
{
	xenevtchn_handle *xce;
	xenevtchn_port_or_error_t p;
	int rc;

	if ((rc = open_handle(&xce)) < 0)
		return rc;
	p = xenevtchn_bind_unbound_port(xce, peer);
	if (p < 0) {
		rc = errno ? -errno : -EIO;
		xenevtchn_close(xce);
		return rc;
	}
	return wrap(xce, (evtchn_port_t)p, out);
}

int
ring_evtchn__interdomain(uint16_t peer, uint32_t remote,
			 struct ring_evtchn **out)
{
	xenevtchn_handle *xce;
	xenevtchn_port_or_error_t p;
	int rc;

	if ((rc = open_handle(&xce)) < 0)
		return rc;
	p = xenevtchn_bind_interdomain(xce, peer, remote);
	if (p < 0) {
		/* Xen says EINVAL for a port that is not unbound for us. */
		rc = errno == EINVAL ? -ENOENT : errno ? -errno : -EIO;
		xenevtchn_close(xce);
		return rc;
	}
	return wrap(xce, (evtchn_port_t)p, out);
}

int
ring_evtchn_pair(struct ring_evtchn **a, struct ring_evtchn **b)
{
	/* Both ends in one process would need our own domid; nothing in
	 * deploy mode asks for it. */
	(void)a;
	(void)b;
	return -EOPNOTSUPP;
}

uint32_t
ring_evtchn_port(const struct ring_evtchn *ev)
{
	return ev->local;
}

int
ring_evtchn_notify(struct ring_evtchn *ev)
{
	return xenevtchn_notify(ev->xce, ev->local) < 0 ? -errno : 0;
}

int
ring_evtchn_fd(const struct ring_evtchn *ev)
{
	return xenevtchn_fd(ev->xce);
}

int
ring_evtchn_consume(struct ring_evtchn *ev)
{
	evtchn_port_t ports[16];
	ssize_t n;

	/*
	 * What xenevtchn_pending/unmask do, a batch at a time: the device
	 * reads out pending ports (masking them) and unmasks the ports
	 * written to it.  Only our one port is bound to this handle, so one
	 * read drains it; each system call is dear in a PV dom0.
	 */
	n = read(xenevtchn_fd(ev->xce), ports, sizeof(ports));
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return 0;
	n -= n % (ssize_t)sizeof(ports[0]);
	if (write(xenevtchn_fd(ev->xce), ports, (size_t)n) < 0)
		return -errno;
	return 1;
}

int
ring_evtchn_wait(struct ring_evtchn *ev, int timeout_ms)
{
	struct pollfd pfd = { .fd = xenevtchn_fd(ev->xce), .events = POLLIN };
	int rc;

	for (;;) {
		if ((rc = ring_evtchn_consume(ev)) != 0)
			return rc < 0 ? rc : 0;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
	}
}

void
ring_evtchn_close(struct ring_evtchn *ev)
{
	if (ev == NULL)
		return;
	xenevtchn_unbind(ev->xce, ev->local);
	xenevtchn_close(ev->xce);
	free(ev);
}
