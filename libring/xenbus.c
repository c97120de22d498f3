/*
 * The device handshake (XenbusState) for frontends and backends, with
 * reconnection.  See morgana/xenbus.h for the protocol.
 *
 * Design: the driver is level-triggered.  Any store watch event, link
 * activity or retry timer makes it re-read the states it depends on and
 * step every device towards where those states say it should be.  It never
 * acts on the history of watch events, only on the current values, so
 * coalesced or reordered events cannot confuse it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define XB_PATH 160
#define XB_KEY 256	/* a path plus a key name */
#define XB_MAX_DEVS 256
#define XB_RETRY_MS 50

struct ring_xb_front {
	struct ring_xenbus *xb;
	struct ring_xb_front *next;
	const struct ring_xb_front_ops *ops;
	void *arg;
	char type[32];
	unsigned devid;
	char fe_path[XB_PATH];
	char be_path[XB_PATH];
	uint16_t be_domid;
	int state;
	unsigned generation;
	struct ring_share *share;
	struct ring_share_opts share_opts;	/* sz 0: the defaults */
	int64_t retry_at;	/* monotonic ms; 0: none */
};

struct ring_xb_back_dev {
	struct ring_xb_back *be;
	struct ring_xb_back_dev *next;
	uint16_t fe_domid;
	unsigned devid;
	char be_path[XB_PATH + 16];	/* dir + /<fe>/<n> */
	char fe_path[XB_PATH];
	int state;
	struct ring_peer *peer;	/* set while connected */
	bool connected;
	bool seen;		/* still listed in the store (scan mark) */
	void *user;
};

struct ring_xb_back {
	struct ring_xenbus *xb;
	struct ring_xb_back *next;
	const struct ring_xb_back_ops *ops;
	void *arg;
	char type[32];
	char dir[XB_PATH];	/* /local/domain/<be>/backend/<type> */
	char link_path[XB_PATH];
	struct ring_listener *listener;
	struct ring_xb_back_dev *devs;
	struct ring_peer *pending[16];	/* links accepted, no device yet */
	unsigned npending;
};

struct ring_xenbus {
	struct ring_store *st;
	uint16_t domid;
	struct ring_xb_front *fronts;
	struct ring_xb_back *backs;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
ring_xb_state_name(int state)
{
	static const char *names[] = { "Unknown", "Initialising", "InitWait",
		"Initialised", "Connected", "Closing", "Closed",
		"Reconfiguring", "Reconfigured" };

	if (state < 0 || state > 8)
		return "Invalid";
	return names[state];
}

static int
xb_join(char *buf, size_t n, const char *a, const char *b)
{
	int r = snprintf(buf, n, "%s/%s", a, b);

	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* The state under dir, or RING_XB_UNKNOWN if absent or not a state. */
static int
read_state(struct ring_store *st, const char *dir)
{
	char p[XB_KEY];
	unsigned long v;

	if (xb_join(p, sizeof(p), dir, "state") < 0)
		return RING_XB_UNKNOWN;
	if (ring_store_read_uint(st, RING_XBT_NULL, p, &v) < 0 || v > 8)
		return RING_XB_UNKNOWN;
	return (int)v;
}

static int
write_state(struct ring_store *st, uint32_t tx, const char *dir, int state)
{
	char p[XB_KEY];
	int rc;

	if ((rc = xb_join(p, sizeof(p), dir, "state")) < 0)
		return rc;
	return ring_store_printf(st, tx, p, "%d", state);
}

/* ---- toolstack ---------------------------------------------------- */

int
ring_xenbus_create_device(struct ring_store *st, const char *type,
			  uint16_t fe, uint16_t be, unsigned devid)
{
	char fp[XB_PATH], bp[XB_PATH], k[XB_KEY];
	struct ring_store_perm fperm[2] = { { fe, 'n' }, { be, 'r' } };
	struct ring_store_perm bperm[2] = { { be, 'n' }, { fe, 'r' } };
	uint32_t tx;
	int rc;

	snprintf(fp, sizeof(fp), "/local/domain/%u/device/%s/%u", fe, type,
		 devid);
	snprintf(bp, sizeof(bp), "/local/domain/%u/backend/%s/%u/%u", be, type,
		 fe, devid);
	for (int tries = 0; tries < 16; tries++) {
		if ((rc = ring_store_tx_start(st, &tx)) < 0)
			return rc;
#define XB_TRY(x) do { if ((rc = (x)) < 0) goto abort; } while (0)
		/* As libxl does: each domain owns its own device/<type> or
		 * backend/<type> directory, so it can list and watch it. */
		snprintf(k, sizeof(k), "/local/domain/%u/device/%s", fe, type);
		XB_TRY(ring_store_mkdir(st, tx, k));
		XB_TRY(ring_store_set_perms(st, tx, k, fperm, 1));
		snprintf(k, sizeof(k), "/local/domain/%u/backend/%s", be, type);
		XB_TRY(ring_store_mkdir(st, tx, k));
		XB_TRY(ring_store_set_perms(st, tx, k, bperm, 1));
		snprintf(k, sizeof(k), "/local/domain/%u/backend/%s/%u", be,
			 type, fe);
		XB_TRY(ring_store_mkdir(st, tx, k));
		XB_TRY(ring_store_set_perms(st, tx, k, bperm, 2));
		XB_TRY(ring_store_mkdir(st, tx, fp));
		XB_TRY(ring_store_set_perms(st, tx, fp, fperm, 2));
		snprintf(k, sizeof(k), "%s/backend", fp);
		XB_TRY(ring_store_write(st, tx, k, bp, strlen(bp)));
		snprintf(k, sizeof(k), "%s/backend-id", fp);
		XB_TRY(ring_store_printf(st, tx, k, "%u", be));
		XB_TRY(write_state(st, tx, fp, RING_XB_INITIALISING));
		XB_TRY(ring_store_mkdir(st, tx, bp));
		XB_TRY(ring_store_set_perms(st, tx, bp, bperm, 2));
		snprintf(k, sizeof(k), "%s/frontend", bp);
		XB_TRY(ring_store_write(st, tx, k, fp, strlen(fp)));
		snprintf(k, sizeof(k), "%s/frontend-id", bp);
		XB_TRY(ring_store_printf(st, tx, k, "%u", fe));
		snprintf(k, sizeof(k), "%s/online", bp);
		XB_TRY(ring_store_printf(st, tx, k, "1"));
		XB_TRY(write_state(st, tx, bp, RING_XB_INITIALISING));
#undef XB_TRY
		rc = ring_store_tx_end(st, tx, true);
		if (rc != -EAGAIN)
			return rc;
		continue;
abort:
		ring_store_tx_end(st, tx, false);
		return rc;
	}
	return -EAGAIN;
}

int
ring_xenbus_destroy_device(struct ring_store *st, const char *type,
			   uint16_t fe, uint16_t be, unsigned devid)
{
	char p[XB_PATH];
	int rc, rc2;

	snprintf(p, sizeof(p), "/local/domain/%u/device/%s/%u", fe, type,
		 devid);
	rc = ring_store_rm(st, RING_XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u/backend/%s/%u/%u", be, type,
		 fe, devid);
	rc2 = ring_store_rm(st, RING_XBT_NULL, p);
	if (rc == -ENOENT)
		rc = 0;
	if (rc2 == -ENOENT)
		rc2 = 0;
	return rc < 0 ? rc : rc2;
}

/* ---- driver ------------------------------------------------------- */

int
ring_xenbus_open(struct ring_store *st, struct ring_xenbus **out)
{
	struct ring_xenbus *xb = calloc(1, sizeof(*xb));
	int rc;

	if (xb == NULL)
		return -ENOMEM;
	xb->st = st;
	if ((rc = ring_store_self(st, &xb->domid)) < 0) {
		free(xb);
		return rc;
	}
	*out = xb;
	return 0;
}

uint16_t
ring_xenbus_domid(const struct ring_xenbus *xb)
{
	return xb->domid;
}

void
ring_xenbus_close(struct ring_xenbus *xb)
{
	if (xb == NULL)
		return;
	while (xb->fronts)
		ring_xb_front_close(xb->fronts);
	while (xb->backs)
		ring_xb_back_close(xb->backs);
	free(xb);
}

/* ---- frontend ----------------------------------------------------- */

static void
front_set_state(struct ring_xb_front *fe, int state)
{
	int rc = write_state(fe->xb->st, RING_XBT_NULL, fe->fe_path, state);

	if (rc < 0)
		ring_log(RING_LOG_WARN,
			 "msg=\"cannot write frontend state\" dev=%s err=%d",
			 fe->fe_path, rc);
	fe->state = state;
}

/* Drop the connection and walk Closing -> Closed -> Initialising. */
static void
front_reset(struct ring_xb_front *fe, const char *why)
{
	if (fe->state == RING_XB_CONNECTED || fe->state == RING_XB_INITIALISED)
		ring_log(RING_LOG_INFO,
			 "msg=\"backend lost, reconnecting\" dev=%s why=\"%s\"",
			 fe->fe_path, why);
	front_set_state(fe, RING_XB_CLOSING);
	if (fe->share != NULL) {
		fe->ops->fe_teardown(fe->arg, fe);
		ring_share_close(fe->share);
		fe->share = NULL;
	}
	front_set_state(fe, RING_XB_CLOSED);
	front_set_state(fe, RING_XB_INITIALISING);
}

static const struct ring_share_opts *
front_share_opts(const struct ring_xb_front *fe)
{
	return fe->share_opts.sz ? &fe->share_opts : NULL;
}

/* Backend is in InitWait: share, set up, link, go Initialised. */
static int
front_try_connect(struct ring_xb_front *fe)
{
	struct ring_store *st = fe->xb->st;
	char p[XB_KEY], *link = NULL, dev[XB_PATH];
	unsigned long pid;
	uint32_t tx;
	int rc;

	if ((rc = ring_share_open(fe->be_domid, front_share_opts(fe), &fe->share)) < 0)
		return rc;
	/* No link key (a Xen backend such as Linux netback): connect with
	 * none, which only a transport without links accepts. */
	snprintf(p, sizeof(p), "%s/link", fe->be_path);
	rc = ring_store_read(st, RING_XBT_NULL, p, &link, NULL);
	if (rc < 0 && rc != -ENOENT)
		goto fail;
	pid = 0;
	snprintf(p, sizeof(p), "/local/domain/%u/pid", fe->be_domid);
	/* On Xen a domU may not even read dom0's directory; the transport
	 * then has no use for a pid anyway. */
	if (link != NULL &&
	    (rc = ring_store_read_uint(st, RING_XBT_NULL, p, &pid)) < 0 &&
	    rc != -ENOENT && rc != -EACCES)
		goto fail;
	for (int tries = 0;; tries++) {
		if ((rc = ring_store_tx_start(st, &tx)) < 0)
			goto fail;
		rc = fe->ops->fe_setup(fe->arg, fe, fe->share, st, tx,
				       fe->fe_path);
		if (rc < 0) {
			ring_store_tx_end(st, tx, false);
			goto fail_setup;
		}
		rc = ring_store_tx_end(st, tx, true);
		if (rc == 0)
			break;
		/* The setup ran against a transaction that lost: undo it
		 * and set up again on fresh pages. */
		fe->ops->fe_teardown(fe->arg, fe);
		ring_share_close(fe->share);
		fe->share = NULL;
		if (rc != -EAGAIN || tries > 8)
			goto fail;
		if ((rc = ring_share_open(fe->be_domid, front_share_opts(fe), &fe->share)) < 0)
			goto fail;
	}
	snprintf(dev, sizeof(dev), "%s", fe->fe_path);
	rc = ring_share_connect(fe->share, link, (pid_t)pid, fe->xb->domid,
				dev);
	if (rc < 0)
		goto fail_setup;
	free(link);
	front_set_state(fe, RING_XB_INITIALISED);
	/* netif: Linux netback ignores Initialised and connects only when
	 * the frontend says Connected (Linux netfront skips Initialised), so
	 * say it now.  Our own state stays Initialised until the backend is
	 * Connected; our backends treat both alike. */
	if (strcmp(fe->type, "vif") == 0)
		(void)write_state(st, RING_XBT_NULL, fe->fe_path,
				  RING_XB_CONNECTED);
	return 0;
fail_setup:
	if (fe->share != NULL)
		fe->ops->fe_teardown(fe->arg, fe);
fail:
	free(link);
	ring_share_close(fe->share);
	fe->share = NULL;
	return rc;
}

static void
front_step(struct ring_xb_front *fe)
{
	struct ring_store *st = fe->xb->st;
	int bs = read_state(st, fe->be_path);
	bool alive = fe->share == NULL || ring_share_alive(fe->share) == 0;
	int rc;

	switch (fe->state) {
	case RING_XB_INITIALISING:
		if (bs != RING_XB_INITWAIT)
			return;
		if (fe->retry_at != 0 && now_ms() < fe->retry_at)
			return;
		rc = front_try_connect(fe);
		if (rc < 0) {
			/* A stale InitWait left by a dead backend, or a
			 * backend still starting: try again shortly. */
			fe->retry_at = now_ms() + XB_RETRY_MS;
			ring_log(RING_LOG_DEBUG,
				 "msg=\"connect deferred\" dev=%s err=%d",
				 fe->fe_path, rc);
			return;
		}
		fe->retry_at = 0;
		bs = read_state(st, fe->be_path);
		if (bs != RING_XB_CONNECTED)
			return;
		/* The backend was quick: go on to Connected now. */
		__attribute__((fallthrough));
	case RING_XB_INITIALISED:
		if (!alive || bs == RING_XB_CLOSING || bs == RING_XB_CLOSED ||
		    bs == RING_XB_UNKNOWN) {
			front_reset(fe, alive ? "backend closed" : "link closed");
			fe->retry_at = now_ms() + XB_RETRY_MS;
			return;
		}
		if (bs != RING_XB_CONNECTED)
			return;
		front_set_state(fe, RING_XB_CONNECTED);
		fe->generation++;
		if ((rc = fe->ops->fe_connected(fe->arg, fe)) < 0) {
			front_reset(fe, "fe_connected failed");
			fe->retry_at = now_ms() + XB_RETRY_MS;
		}
		return;
	case RING_XB_CONNECTED:
		if (alive && bs == RING_XB_CONNECTED)
			return;
		front_reset(fe, alive ? "backend left Connected"
				      : "link closed");
		fe->retry_at = now_ms() + XB_RETRY_MS;
		return;
	default:
		front_reset(fe, "unexpected state");
		return;
	}
}

int
ring_xb_front_open(struct ring_xenbus *xb, const char *type, unsigned devid,
		   const struct ring_xb_front_ops *ops, void *arg,
		   struct ring_xb_front **out)
{
	return ring_xb_front_open_opts(xb, type, devid, ops, arg, NULL, out);
}

int
ring_xb_front_open_opts(struct ring_xenbus *xb, const char *type,
			unsigned devid, const struct ring_xb_front_ops *ops,
			void *arg, const struct ring_share_opts *share,
			struct ring_xb_front **out)
{
	struct ring_xb_front *fe;
	char p[XB_KEY], *v = NULL;
	unsigned long be;
	int rc;

	if (share != NULL &&
	    (share->sz < sizeof(*share) || share->rw_pages + (uint64_t)share->ro_pages > 65536))
		return -EINVAL;
	if ((fe = calloc(1, sizeof(*fe))) == NULL)
		return -ENOMEM;
	if (share != NULL)
		fe->share_opts = *share;
	fe->xb = xb;
	fe->ops = ops;
	fe->arg = arg;
	fe->devid = devid;
	snprintf(fe->type, sizeof(fe->type), "%s", type);
	snprintf(fe->fe_path, sizeof(fe->fe_path),
		 "/local/domain/%u/device/%s/%u", xb->domid, type, devid);
	snprintf(p, sizeof(p), "%s/backend", fe->fe_path);
	if ((rc = ring_store_read(xb->st, RING_XBT_NULL, p, &v, NULL)) < 0)
		goto fail;
	if (strlen(v) >= sizeof(fe->be_path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(fe->be_path, v);
	snprintf(p, sizeof(p), "%s/backend-id", fe->fe_path);
	if ((rc = ring_store_read_uint(xb->st, RING_XBT_NULL, p, &be)) < 0)
		goto fail;
	if (be > 0xfffe) {
		rc = -EINVAL;
		goto fail;
	}
	fe->be_domid = (uint16_t)be;
	snprintf(p, sizeof(p), "%s/state", fe->be_path);
	if ((rc = ring_store_watch(xb->st, p, "xb-front")) < 0)
		goto fail;
	free(v);
	/* A previous incarnation of this process may have left Connected:
	 * announce a fresh start so the backend resets too. */
	front_set_state(fe, RING_XB_CLOSED);
	front_set_state(fe, RING_XB_INITIALISING);
	fe->next = xb->fronts;
	xb->fronts = fe;
	*out = fe;
	front_step(fe);
	return 0;
fail:
	free(v);
	free(fe);
	return rc;
}

int
ring_xb_front_state(const struct ring_xb_front *fe)
{
	return fe->state;
}

uint16_t
ring_xb_front_backend_id(const struct ring_xb_front *fe)
{
	return fe->be_domid;
}

unsigned
ring_xb_front_generation(const struct ring_xb_front *fe)
{
	return fe->generation;
}

void
ring_xb_front_close(struct ring_xb_front *fe)
{
	struct ring_xb_front **pp;
	char p[XB_KEY];

	if (fe == NULL)
		return;
	for (pp = &fe->xb->fronts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fe) {
			*pp = fe->next;
			break;
		}
	front_set_state(fe, RING_XB_CLOSING);
	if (fe->share != NULL) {
		fe->ops->fe_teardown(fe->arg, fe);
		ring_share_close(fe->share);
	}
	front_set_state(fe, RING_XB_CLOSED);
	snprintf(p, sizeof(p), "%s/state", fe->be_path);
	ring_store_unwatch(fe->xb->st, p, "xb-front");
	free(fe);
}

/* ---- backend ------------------------------------------------------ */

static void
dev_set_state(struct ring_xb_back_dev *d, int state)
{
	int rc = write_state(d->be->xb->st, RING_XBT_NULL, d->be_path, state);

	if (rc < 0)
		ring_log(RING_LOG_WARN,
			 "msg=\"cannot write backend state\" dev=%s err=%d",
			 d->be_path, rc);
	d->state = state;
}

static void
dev_disconnect(struct ring_xb_back_dev *d)
{
	if (d->connected)
		d->be->ops->be_disconnect(d->be->arg, d);
	d->connected = false;
	ring_peer_close(d->peer);
	d->peer = NULL;
}

void
ring_xb_back_dev_fail(struct ring_xb_back_dev *d, const char *why)
{
	ring_log(RING_LOG_WARN,
		 "msg=\"frontend disconnected\" dev=%s frontend=%u why=\"%s\"",
		 d->be_path, d->fe_domid, why);
	dev_disconnect(d);
	dev_set_state(d, RING_XB_CLOSED);
}

static void
dev_probe(struct ring_xb_back_dev *d)
{
	struct ring_xb_back *be = d->be;
	char p[XB_KEY];
	int rc;

	dev_disconnect(d);
	rc = be->ops->be_probe(be->arg, d, be->xb->st, d->be_path);
	if (rc == 0) {
		snprintf(p, sizeof(p), "%s/link", d->be_path);
		rc = ring_store_write(be->xb->st, RING_XBT_NULL, p,
				      be->link_path, strlen(be->link_path));
	}
	if (rc < 0) {
		ring_log(RING_LOG_WARN, "msg=\"probe failed\" dev=%s err=%d",
			 d->be_path, rc);
		dev_set_state(d, RING_XB_CLOSED);
		return;
	}
	dev_set_state(d, RING_XB_INITWAIT);
}

/* Take the pending link that belongs to device d, if it has arrived;
 * a transport without links (Xen) makes the peer on the spot. */
static struct ring_peer *
take_link(struct ring_xb_back *be, struct ring_xb_back_dev *d)
{
	struct ring_peer *p;

	for (unsigned i = 0; i < be->npending; i++) {
		p = be->pending[i];
		if (ring_peer_domid(p) == d->fe_domid &&
		    strcmp(ring_peer_device(p), d->fe_path) == 0) {
			be->pending[i] = be->pending[--be->npending];
			return p;
		}
	}
	if (ring_listener_peer(be->listener, d->fe_domid, d->fe_path, &p) == 0)
		return p;
	return NULL;
}

static void
dev_step(struct ring_xb_back_dev *d)
{
	struct ring_xb_back *be = d->be;
	int fs = read_state(be->xb->st, d->fe_path);
	int rc;

	switch (fs) {
	case RING_XB_INITIALISING:
	case RING_XB_INITWAIT:
		if (d->connected || d->state == RING_XB_CLOSED ||
		    d->state == RING_XB_CLOSING ||
		    d->state == RING_XB_INITIALISING ||
		    d->state == RING_XB_UNKNOWN)
			dev_probe(d);
		return;
	case RING_XB_INITIALISED:
	case RING_XB_CONNECTED:
		if (d->connected || d->state != RING_XB_INITWAIT)
			return;
		if ((d->peer = take_link(be, d)) == NULL)
			return;		/* its link has not arrived yet */
		rc = be->ops->be_connect(be->arg, d, d->peer, be->xb->st,
					 d->fe_path);
		if (rc < 0) {
			ring_peer_close(d->peer);
			d->peer = NULL;
			ring_log(RING_LOG_WARN,
				 "msg=\"frontend refused\" dev=%s frontend=%u err=%d",
				 d->be_path, d->fe_domid, rc);
			dev_set_state(d, RING_XB_CLOSED);
			return;
		}
		d->connected = true;
		dev_set_state(d, RING_XB_CONNECTED);
		return;
	case RING_XB_CLOSING:
		/* Only a connection needs closing; an idle InitWait stays. */
		if (d->connected) {
			dev_disconnect(d);
			dev_set_state(d, RING_XB_CLOSING);
		}
		return;
	case RING_XB_CLOSED:
	case RING_XB_UNKNOWN:
	default:
		if (d->connected || d->state == RING_XB_CLOSING) {
			dev_disconnect(d);
			dev_set_state(d, RING_XB_CLOSED);
		}
		return;
	}
}

static void
dev_free(struct ring_xb_back_dev *d)
{
	char p[XB_KEY];

	dev_disconnect(d);
	snprintf(p, sizeof(p), "%s/state", d->fe_path);
	ring_store_unwatch(d->be->xb->st, p, "xb-back-dev");
	free(d);
}

/* Find devices under backend/<type>/<fe>/<n>; add new ones, drop gone. */
static void
back_scan(struct ring_xb_back *be)
{
	struct ring_store *st = be->xb->st;
	char **fes = NULL, **ns = NULL, p[XB_KEY], *v;
	unsigned nfe = 0, nn = 0, count = 0;
	struct ring_xb_back_dev *d, **pp;

	for (d = be->devs; d != NULL; d = d->next)
		d->seen = false;
	if (ring_store_directory(st, RING_XBT_NULL, be->dir, &fes, &nfe) < 0)
		nfe = 0;
	for (unsigned i = 0; i < nfe; i++) {
		char *end;
		unsigned long fe = strtoul(fes[i], &end, 10);

		if (*end != '\0' || fe > 0xfffe)
			continue;
		snprintf(p, sizeof(p), "%s/%s", be->dir, fes[i]);
		if (ring_store_directory(st, RING_XBT_NULL, p, &ns, &nn) < 0)
			continue;
		for (unsigned j = 0; j < nn; j++) {
			unsigned long n = strtoul(ns[j], &end, 10);

			if (*end != '\0' || n > 0xffff)
				continue;
			for (d = be->devs; d != NULL; d = d->next)
				if (d->fe_domid == fe && d->devid == n)
					break;
			if (d != NULL) {
				d->seen = true;
				continue;
			}
			if (++count > XB_MAX_DEVS)
				break;
			if ((d = calloc(1, sizeof(*d))) == NULL)
				break;
			d->be = be;
			d->fe_domid = (uint16_t)fe;
			d->devid = (unsigned)n;
			d->seen = true;
			snprintf(d->be_path, sizeof(d->be_path), "%s/%lu/%lu",
				 be->dir, fe, n);
			snprintf(p, sizeof(p), "%s/frontend", d->be_path);
			v = NULL;
			if (ring_store_read(st, RING_XBT_NULL, p, &v, NULL) < 0 ||
			    strlen(v) >= sizeof(d->fe_path)) {
				free(v);
				free(d);
				continue;
			}
			strcpy(d->fe_path, v);
			free(v);
			snprintf(p, sizeof(p), "%s/state", d->fe_path);
			ring_store_watch(st, p, "xb-back-dev");
			d->next = be->devs;
			be->devs = d;
			/* New to this process, whatever the store says:
			 * start from InitWait (a restart resets here). */
			dev_probe(d);
		}
		ring_store_free_names(ns, nn);
	}
	ring_store_free_names(fes, nfe);
	for (pp = &be->devs; (d = *pp) != NULL;) {
		if (d->seen) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		dev_free(d);
	}
}

static int
back_authorize(void *arg, uint16_t domid, pid_t pid)
{
	struct ring_xb_back *be = arg;
	char p[64];
	unsigned long want;
	struct ring_xb_back_dev *d;

	for (d = be->devs; d != NULL; d = d->next)
		if (d->fe_domid == domid)
			break;
	if (d == NULL)
		return -EPERM;
	snprintf(p, sizeof(p), "/local/domain/%u/pid", domid);
	if (ring_store_read_uint(be->xb->st, RING_XBT_NULL, p, &want) < 0)
		return -EPERM;
	return (pid_t)want == pid ? 0 : -EPERM;
}

static void
back_accept(struct ring_xb_back *be)
{
	struct ring_peer *p;
	int rc;

	for (int i = 0; i < 64; i++) {
		rc = ring_listener_accept(be->listener, back_authorize, be, &p);
		if (rc == -EAGAIN)
			return;
		if (rc < 0)
			continue;	/* refused or malformed: logged */
		if (be->npending == sizeof(be->pending) / sizeof(be->pending[0])) {
			/* A frontend flooding links: drop the oldest. */
			ring_peer_close(be->pending[0]);
			be->pending[0] = be->pending[--be->npending];
		}
		be->pending[be->npending++] = p;
	}
}

int
ring_xb_back_open(struct ring_xenbus *xb, const char *type,
		  const char *link_path, const struct ring_xb_back_ops *ops,
		  void *arg, struct ring_xb_back **out)
{
	struct ring_xb_back *be = calloc(1, sizeof(*be));
	int rc;

	if (be == NULL)
		return -ENOMEM;
	be->xb = xb;
	be->ops = ops;
	be->arg = arg;
	snprintf(be->type, sizeof(be->type), "%s", type);
	snprintf(be->dir, sizeof(be->dir), "/local/domain/%u/backend/%s",
		 xb->domid, type);
	if (strlen(link_path) >= sizeof(be->link_path)) {
		free(be);
		return -ENAMETOOLONG;
	}
	strcpy(be->link_path, link_path);
	if ((rc = ring_listener_open(link_path, &be->listener)) < 0) {
		free(be);
		return rc;
	}
	if ((rc = ring_store_watch(xb->st, be->dir, "xb-back")) < 0) {
		ring_listener_close(be->listener);
		free(be);
		return rc;
	}
	be->next = xb->backs;
	xb->backs = be;
	back_scan(be);
	*out = be;
	return 0;
}

void
ring_xb_back_close(struct ring_xb_back *be)
{
	struct ring_xb_back **pp;

	if (be == NULL)
		return;
	for (pp = &be->xb->backs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == be) {
			*pp = be->next;
			break;
		}
	while (be->devs != NULL) {
		struct ring_xb_back_dev *d = be->devs;

		be->devs = d->next;
		if (d->connected)
			dev_set_state(d, RING_XB_CLOSED);
		dev_free(d);
	}
	for (unsigned i = 0; i < be->npending; i++)
		ring_peer_close(be->pending[i]);
	ring_store_unwatch(be->xb->st, be->dir, "xb-back");
	ring_listener_close(be->listener);
	free(be);
}

uint16_t
ring_xb_back_dev_frontend_id(const struct ring_xb_back_dev *dev)
{
	return dev->fe_domid;
}

unsigned
ring_xb_back_dev_devid(const struct ring_xb_back_dev *dev)
{
	return dev->devid;
}

int
ring_xb_back_dev_state(const struct ring_xb_back_dev *dev)
{
	return dev->state;
}

void **
ring_xb_back_dev_user(struct ring_xb_back_dev *dev)
{
	return &dev->user;
}

/* ---- event loop --------------------------------------------------- */

int
ring_xenbus_pollfds(struct ring_xenbus *xb, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;

#define XB_ADD(f) do { if (n < max) fds[n] = (struct pollfd){ \
	.fd = (f), .events = POLLIN }; n++; } while (0)
	XB_ADD(ring_store_fd(xb->st));
	for (struct ring_xb_back *be = xb->backs; be; be = be->next) {
		XB_ADD(ring_listener_fd(be->listener));
		for (unsigned i = 0; i < be->npending; i++)
			XB_ADD(ring_peer_fd(be->pending[i]));
		for (struct ring_xb_back_dev *d = be->devs; d; d = d->next)
			if (d->peer != NULL)
				XB_ADD(ring_peer_fd(d->peer));
	}
	for (struct ring_xb_front *fe = xb->fronts; fe; fe = fe->next)
		if (fe->share != NULL && ring_share_fd(fe->share) >= 0)
			XB_ADD(ring_share_fd(fe->share));
#undef XB_ADD
	return (int)n;
}

int
ring_xenbus_timeout_ms(const struct ring_xenbus *xb)
{
	int64_t next = 0, now = now_ms();

	for (struct ring_xb_front *fe = xb->fronts; fe; fe = fe->next)
		if (fe->retry_at != 0 && (next == 0 || fe->retry_at < next))
			next = fe->retry_at;
	if (next == 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

int
ring_xenbus_dispatch(struct ring_xenbus *xb)
{
	char *path, *token;
	bool rescan = false;
	int rc;

	/* Drain watch events; the level-triggered step below re-reads. */
	for (int i = 0; i < 1024; i++) {
		rc = ring_store_next_watch(xb->st, &path, &token);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (strcmp(token, "xb-back") == 0)
			rescan = true;
		free(path);
		free(token);
	}
	for (struct ring_xb_back *be = xb->backs; be; be = be->next) {
		if (rescan)
			back_scan(be);
		back_accept(be);
		/* Drop pending links whose frontend already went away. */
		for (unsigned i = 0; i < be->npending;) {
			if (ring_peer_process(be->pending[i]) < 0) {
				ring_peer_close(be->pending[i]);
				be->pending[i] = be->pending[--be->npending];
			} else {
				i++;
			}
		}
		for (struct ring_xb_back_dev *d = be->devs; d; d = d->next) {
			if (d->peer != NULL) {
				rc = ring_peer_process(d->peer);
				if (rc == -EPIPE) {
					ring_log(RING_LOG_INFO,
						 "msg=\"frontend gone\" dev=%s frontend=%u",
						 d->be_path, d->fe_domid);
					dev_disconnect(d);
					dev_set_state(d, RING_XB_CLOSED);
				} else if (rc < 0) {
					ring_xb_back_dev_fail(d,
						"malformed link message");
				}
			}
			dev_step(d);
		}
	}
	for (struct ring_xb_front *fe = xb->fronts; fe; fe = fe->next)
		front_step(fe);
	return 0;
}

int
ring_xenbus_poll(struct ring_xenbus *xb, struct pollfd *extra, unsigned n,
		 int timeout_ms)
{
	struct pollfd fds[64 + 16];
	unsigned cap = 64, m;
	int rc, t = ring_xenbus_timeout_ms(xb), ready = 0;

	if (n > 16)
		return -EINVAL;
	rc = ring_xenbus_pollfds(xb, fds, cap);
	m = rc > (int)cap ? cap : (unsigned)rc;
	for (unsigned i = 0; i < n; i++)
		fds[m + i] = extra[i];
	if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
		timeout_ms = t;
	rc = poll(fds, m + n, timeout_ms);
	if (rc < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		extra[i].revents = fds[m + i].revents;
		if (extra[i].revents)
			ready++;
	}
	if ((rc = ring_xenbus_dispatch(xb)) < 0)
		return rc;
	return ready;
}
