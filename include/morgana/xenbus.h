/*
 * morgana/xenbus.h - the device handshake: XenbusState over the store.
 *
 * Key layout (DESIGN.md §1), written by the toolstack with
 * ring_xenbus_create_device():
 *   /local/domain/<fe>/device/<type>/<n>/       owned by fe, readable by be
 *       backend = /local/domain/<be>/backend/<type>/<fe>/<n>
 *       backend-id = <be>        state = 1
 *   /local/domain/<be>/backend/<type>/<fe>/<n>/ owned by be, readable by fe
 *       frontend = /local/domain/<fe>/device/<type>/<n>
 *       frontend-id = <fe>       state = 1       online = 1
 * and by the two ends: the protocol's own keys (ring-ref, event-channel,
 * features...), `state`, and in dev mode the backend's `link` (the unix
 * socket its listener accepts frontends on).
 *
 * States, as in xen/io/xenbus.h: 1 Initialising, 2 InitWait,
 * 3 Initialised, 4 Connected, 5 Closing, 6 Closed.
 *
 *   frontend                         backend
 *   1 Initialising                   2 InitWait (probe: features, link)
 *   fe_setup: grant rings, keys
 *   link connect, 3 Initialised  ->  be_connect: map, bind -> 4 Connected
 *   4 Connected (fe_connected)   <-
 *
 * Reconnection.  If the backend dies (the link reaches EOF) or its state
 * leaves Connected, the frontend walks 5 Closing, fe_teardown, 6 Closed,
 * 1 Initialising, and connects again as soon as a backend is in InitWait;
 * fe_connected then resubmits whatever was in flight.  A restarted backend
 * resets every device it finds to InitWait.  If the frontend dies, the
 * backend disconnects and goes Closed; a frontend that comes back in
 * Initialising moves it to InitWait again.
 *
 * One struct ring_xenbus per process drives every device of that process
 * over one store connection.  It never blocks except on store requests
 * (a local socket to the trusted store) and ring_xenbus_poll().
 */
#ifndef MORGANA_XENBUS_H
#define MORGANA_XENBUS_H

#include <poll.h>
#include <stdint.h>

enum ring_xb_state {
	RING_XB_UNKNOWN = 0,
	RING_XB_INITIALISING = 1,
	RING_XB_INITWAIT = 2,
	RING_XB_INITIALISED = 3,
	RING_XB_CONNECTED = 4,
	RING_XB_CLOSING = 5,
	RING_XB_CLOSED = 6,
};

struct ring_store;
struct ring_share;
struct ring_share_opts;
struct ring_peer;
struct ring_xenbus;
struct ring_xb_front;
struct ring_xb_back;

/* Name of a state ("Connected"...) for logs. */
const char *ring_xb_state_name(int state);

/*
 * Toolstack: create the frontend and backend directories of device
 * <type>/<devid> between domains fe and be, with their permissions, in one
 * transaction.  The caller must be privileged (dom0).  Returns 0 or -errno.
 */
int ring_xenbus_create_device(struct ring_store *st, const char *type,
			      uint16_t fe, uint16_t be, unsigned devid);
/* Toolstack: remove both directories.  Returns 0 or -errno. */
int ring_xenbus_destroy_device(struct ring_store *st, const char *type,
			       uint16_t fe, uint16_t be, unsigned devid);

/*
 * Open the handshake driver over the store connection st (borrowed; it must
 * outlive the driver).  Returns 0 or -errno.
 */
int ring_xenbus_open(struct ring_store *st, struct ring_xenbus **out);
void ring_xenbus_close(struct ring_xenbus *xb);
uint16_t ring_xenbus_domid(const struct ring_xenbus *xb);

/*
 * Frontend callbacks.  All run inside ring_xenbus_dispatch().
 * fe_setup: grant the rings and allocate channels on share (fresh for each
 *   connection), write the protocol keys under fe_path inside transaction
 *   tx.  Return 0, or -errno to retry later.
 * fe_connected: the backend is Connected; resubmit anything in flight.
 * fe_teardown: the connection is gone; forget every mapping of share (it
 *   is closed right after).  Requests in flight stay queued for the next
 *   fe_connected.
 */
struct ring_xb_front_ops {
	int (*fe_setup)(void *arg, struct ring_xb_front *fe,
			struct ring_share *share, struct ring_store *st,
			uint32_t tx, const char *fe_path);
	int (*fe_connected)(void *arg, struct ring_xb_front *fe);
	void (*fe_teardown)(void *arg, struct ring_xb_front *fe);
};

/*
 * Attach as the frontend of device/<type>/<devid> of this domain.  The
 * toolstack must have created it.  Writes Initialising and starts the
 * handshake.  Returns 0, -ENOENT if the device does not exist, or -errno.
 */
int ring_xb_front_open(struct ring_xenbus *xb, const char *type,
		       unsigned devid, const struct ring_xb_front_ops *ops,
		       void *arg, struct ring_xb_front **out);
/*
 * The same, with the size of the grant arenas each connection shares
 * (share may be NULL: ring_share_open's defaults).  A device whose
 * frontend grants many pages (a STACK frontend: one data ring per
 * socket) asks for more.  Returns as ring_xb_front_open, and -EINVAL for
 * bad share options (see ring_share_open).
 */
int ring_xb_front_open_opts(struct ring_xenbus *xb, const char *type,
			    unsigned devid, const struct ring_xb_front_ops *ops,
			    void *arg, const struct ring_share_opts *share,
			    struct ring_xb_front **out);
/* Current state of this frontend. */
int ring_xb_front_state(const struct ring_xb_front *fe);
/* The backend's domid, and how many times this device has connected. */
uint16_t ring_xb_front_backend_id(const struct ring_xb_front *fe);
unsigned ring_xb_front_generation(const struct ring_xb_front *fe);
/* Close the device: Closing, teardown, Closed.  NULL is ok. */
void ring_xb_front_close(struct ring_xb_front *fe);

/*
 * Backend callbacks.
 * be_probe: a new device appeared (or the frontend wants to reconnect):
 *   write the features under be_path.  Return 0 or -errno.
 * be_connect: the frontend is Initialised and its link has arrived: read
 *   its keys under fe_path, map through peer, bind channels.  Return 0, or
 *   -errno to refuse this frontend (it is then disconnected, Closed).
 *   The peer stays owned by the driver.
 * be_disconnect: unmap and forget the device's connection.
 * The device handle is the driver's; *user is free for the callbacks.
 */
struct ring_xb_back_dev;
struct ring_xb_back_ops {
	int (*be_probe)(void *arg, struct ring_xb_back_dev *dev,
			struct ring_store *st, const char *be_path);
	int (*be_connect)(void *arg, struct ring_xb_back_dev *dev,
			  struct ring_peer *peer, struct ring_store *st,
			  const char *fe_path);
	void (*be_disconnect)(void *arg, struct ring_xb_back_dev *dev);
};

/*
 * Serve every device of `type` whose backend is this domain, listening for
 * links at link_path (dev mode).  Devices already present (a restart) are
 * reset to InitWait.  Returns 0 or -errno.
 */
int ring_xb_back_open(struct ring_xenbus *xb, const char *type,
		      const char *link_path, const struct ring_xb_back_ops *ops,
		      void *arg, struct ring_xb_back **out);
void ring_xb_back_close(struct ring_xb_back *be);

uint16_t ring_xb_back_dev_frontend_id(const struct ring_xb_back_dev *dev);
unsigned ring_xb_back_dev_devid(const struct ring_xb_back_dev *dev);
int ring_xb_back_dev_state(const struct ring_xb_back_dev *dev);
void **ring_xb_back_dev_user(struct ring_xb_back_dev *dev);
/*
 * A protocol violation on a connected device: disconnect it and go Closed,
 * with one log line giving why.  The frontend must reconnect to be served
 * again.
 */
void ring_xb_back_dev_fail(struct ring_xb_back_dev *dev, const char *why);

/*
 * Event loop integration.  ring_xenbus_pollfds fills up to max entries
 * with the fds the driver needs watched (store, listeners, links) and
 * returns how many it needs (may exceed max).  ring_xenbus_timeout_ms says
 * when a retry is due (-1: none).  ring_xenbus_dispatch does all pending
 * work without blocking; returns 0, or -EPIPE if the store went away.
 * ring_xenbus_poll(xb, extra, n, timeout) polls the driver's fds plus the
 * caller's `extra` fds (revents filled in), then dispatches; returns the
 * number of extra fds ready, or -errno.
 */
int ring_xenbus_pollfds(struct ring_xenbus *xb, struct pollfd *fds,
			unsigned max);
int ring_xenbus_timeout_ms(const struct ring_xenbus *xb);
int ring_xenbus_dispatch(struct ring_xenbus *xb);
int ring_xenbus_poll(struct ring_xenbus *xb, struct pollfd *extra,
		     unsigned n, int timeout_ms);

#endif /* MORGANA_XENBUS_H */
