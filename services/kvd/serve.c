/* kv_serve: kvd's backend over libring (dev mode).  One thread, one loop:
 * serve every connected ring round-robin, spin a little when idle, then arm
 * the rings' event indices and sleep in poll(2) on the store, the links,
 * the event channels and a signalfd.
 *
 * Why poll(2) and not io_uring: the fd set changes whenever libring's
 * handshake takes or drops a link (ring_xenbus_pollfds is rebuilt every
 * sleep), and we only sleep after a spin found nothing to do, so a sleep
 * costs one system call either way; a multishot io_uring poll set would
 * have to be diffed against that list every time for no saving. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"
#include "services/kvd/kvd.h"

#define KV_BUDGET_MAX 64u
/* Under constant load we never sleep; still look at the store, the links
 * and the signalfd every this many busy rounds. */
#define KV_BUSY_POLL_ROUNDS 64u
#define KV_PUSH_EVERY 4u

struct kv_conn {
	struct kv_conn *next;
	struct kv_srv *srv;
	struct ring_xb_back_dev *dev;
	struct ring_peer *peer;
	struct ring_back ring;
	uint32_t ring_ref;
	struct ring_evtchn *ev;
};

struct kv_srv {
	struct kv_store *store;
	struct kv_conn *conns;
	unsigned nconns;
	unsigned budget;
};

static int
peer_copy_from(void *arg, uint32_t ref, uint32_t off, void *dst, uint32_t len)
{
	return ring_peer_copy_from(arg, ref, off, dst, len);
}

static int
peer_copy_to(void *arg, uint32_t ref, uint32_t off, const void *src,
	     uint32_t len)
{
	return ring_peer_copy_to(arg, ref, off, src, len);
}

static int
peer_map_to(void *arg, uint32_t ref, uint32_t off, uint32_t len, void **addr)
{
	void *page;
	int rc;

	if (off > RING_PAGE_SIZE || len > RING_PAGE_SIZE - off)
		return -EINVAL;
	if ((rc = ring_peer_map(arg, ref, true, &page)) < 0)
		return rc;
	*addr = (unsigned char *)page + off;
	return 0;
}

static void
peer_unmap(void *arg, uint32_t ref)
{
	ring_peer_unmap(arg, ref);
}

static int
read_key(struct ring_store *st, const char *dir, const char *key,
	 unsigned long *v)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_read_uint(st, RING_XBT_NULL, p, v);
}

static int
be_probe(void *arg, struct ring_xb_back_dev *dev, struct ring_store *st,
	 const char *be_path)
{
	struct kv_srv *srv = arg;
	char p[512];
	int rc;

	(void)dev;
	snprintf(p, sizeof(p), "%s/feature-write", be_path);
	if ((rc = ring_store_printf(st, RING_XBT_NULL, p, "%d",
				    kv_store_rw(srv->store) ? 1 : 0)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/max-segments", be_path);
	return ring_store_printf(st, RING_XBT_NULL, p, "%u", KV_MAX_SEGS);
}

static int
be_connect(void *arg, struct ring_xb_back_dev *dev, struct ring_peer *peer,
	   struct ring_store *st, const char *fe_path)
{
	struct kv_srv *srv = arg;
	unsigned long ref, port;
	struct kv_conn *c;
	void *page;
	int rc;

	if ((rc = read_key(st, fe_path, "ring-ref", &ref)) < 0 ||
	    (rc = read_key(st, fe_path, "event-channel", &port)) < 0)
		return rc;
	if (ref > UINT32_MAX || port > UINT32_MAX)
		return -EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if ((rc = ring_peer_map(peer, (uint32_t)ref, true, &page)) < 0)
		goto fail;
	/* Attach checks the indices the frontend left in the page. */
	if ((rc = kvif_back_attach(&c->ring, page, RING_PAGE_SIZE)) < 0)
		goto fail_unmap;
	rc = ring_peer_bind(peer, (uint32_t)port, &c->ev);
	if (rc == -EAGAIN && ring_peer_process(peer) == 0)
		rc = ring_peer_bind(peer, (uint32_t)port, &c->ev);
	if (rc < 0)
		goto fail_unmap;
	c->srv = srv;
	c->dev = dev;
	c->peer = peer;
	c->ring_ref = (uint32_t)ref;
	*ring_xb_back_dev_user(dev) = c;
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	ring_log(RING_LOG_INFO, "msg=\"frontend connected\" frontend=%u devid=%u",
		 ring_xb_back_dev_frontend_id(dev), ring_xb_back_dev_devid(dev));
	return 0;
fail_unmap:
	ring_peer_unmap(peer, (uint32_t)ref);
fail:
	free(c);
	return rc;
}

static void
be_disconnect(void *arg, struct ring_xb_back_dev *dev)
{
	struct kv_srv *srv = arg;
	struct kv_conn *c = *ring_xb_back_dev_user(dev), **pp;

	if (c == NULL)
		return;
	for (pp = &srv->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			srv->nconns--;
			break;
		}
	ring_peer_unmap(c->peer, c->ring_ref);
	ring_evtchn_close(c->ev);
	*ring_xb_back_dev_user(dev) = NULL;
	free(c);
}

static const struct ring_xb_back_ops kv_back_ops = {
	.be_probe = be_probe,
	.be_connect = be_connect,
	.be_disconnect = be_disconnect,
};

static bool
op_writes(uint8_t op)
{
	return op == KV_OP_SET || op == KV_OP_REMOVE || op == KV_OP_RENAME;
}

/*
 * Serve up to budget requests of one frontend.  Returns how many, or -1 if
 * the frontend broke the protocol and was dropped (c is freed then).
 */
static int
serve_conn(struct kv_conn *c)
{
	struct kv_srv *srv = c->srv;
	struct kv_server_ctx ctx = {
		.store = srv->store,
		.copy_from = peer_copy_from,
		.copy_to = peer_copy_to,
		.map_to = peer_map_to,
		.unmap = peer_unmap,
		.arg = c->peer,
	};
	struct kv_response rsp[KV_BUDGET_MAX];
	struct kv_request q;
	bool batch = false, wrote[KV_BUDGET_MAX];
	unsigned n = 0, sent = 0;
	int rc;

	while (n < srv->budget) {
		rc = kvif_back_get(&c->ring, &q);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (batch)
				kv_store_batch_end(srv->store, false);
			ring_xb_back_dev_fail(c->dev, "impossible ring indices");
			return -1;
		}
		wrote[n] = op_writes(q.op);
		if (wrote[n] && !batch && kv_store_rw(srv->store))
			batch = kv_store_batch_begin(srv->store) == 0;
		if (kv_handle(&ctx, &q, &rsp[n]) == -EPROTO) {
			char why[96];

			/* Nothing of this round was acknowledged: undo it;
			 * the frontend resubmits after reconnecting. */
			if (batch)
				kv_store_batch_end(srv->store, false);
			snprintf(why, sizeof(why), "%s request op=%s",
				 rsp[n].status == KV_EPERM ?
				 "grant copy failed in" : "malformed",
				 kv_op_name(q.op));
			ring_xb_back_dev_fail(c->dev, why);
			return -1;
		}
		n++;
		/* Until a write opens a batch, answer as we go, publishing
		 * every KV_PUSH_EVERY answers: a pipelining frontend then
		 * refills the ring while we work, instead of both sides
		 * taking turns with whole batches.  (Not every answer: each
		 * push's fence waits for the frontend's cache line.)  Once
		 * a batch is open, every later answer waits for its commit
		 * (a read may have seen an uncommitted write). */
		if (!batch) {
			kvif_back_put(&c->ring, &rsp[sent++]);
			if (sent % KV_PUSH_EVERY == 0 &&
			    ring_back_push(&c->ring))
				ring_evtchn_notify(c->ev);
		}
	}
	if (n == sent) {
		if (ring_back_push(&c->ring))
			ring_evtchn_notify(c->ev);
		return (int)n;
	}
	/* The commit returns after the WAL fsync; only then may the
	 * responses of the writes become visible. */
	if (batch && (rc = kv_store_batch_end(srv->store, true)) < 0) {
		for (unsigned i = sent; i < n; i++)
			if (wrote[i] && rsp[i].status == KV_OK)
				rsp[i].status = kv_status_from_errno(rc);
	}
	for (unsigned i = sent; i < n; i++)
		kvif_back_put(&c->ring, &rsp[i]);
	if (ring_back_push(&c->ring))
		ring_evtchn_notify(c->ev);
	return (int)n;
}

static void
notify(int fd, const char *line)
{
	/* EPIPE: nobody listens any more (a supervisor that went first). */
	if (fd >= 0 && write(fd, line, strlen(line)) < 0 && errno != EPIPE)
		ring_log(RING_LOG_WARN, "msg=\"cannot notify\" err=%d", errno);
}

/* Wait for work: arm every ring, then poll everything with timeout_ms
 * (0 if a final check found work).  Returns 1 if a stop signal came,
 * 0, or -EPIPE if the store went away. */
static int
sleep_once(struct kv_srv *srv, struct ring_xenbus *xb, int sfd,
	   int timeout_ms)
{
	struct pollfd stackfds[64], *fds = stackfds;
	unsigned cap = 64, n, i, nxb;
	int want, rc, t, stop = 0;
	bool xb_ready;

	for (struct kv_conn *c = srv->conns; c != NULL; c = c->next)
		if (ring_back_final_check(&c->ring))
			timeout_ms = 0;
	want = ring_xenbus_pollfds(xb, NULL, 0) + (int)srv->nconns + 1;
	if ((unsigned)want > cap) {
		cap = (unsigned)want;
		if ((fds = calloc(cap, sizeof(*fds))) == NULL) {
			fds = stackfds;
			cap = 64;
		}
	}
	rc = ring_xenbus_pollfds(xb, fds, cap - 1);
	n = rc > (int)cap - 1 ? cap - 1 : (unsigned)rc;
	nxb = n;
	fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (struct kv_conn *c = srv->conns; c != NULL && n < cap; c = c->next)
		fds[n++] = (struct pollfd){ .fd = ring_evtchn_fd(c->ev),
					    .events = POLLIN };
	t = ring_xenbus_timeout_ms(xb);
	if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
		timeout_ms = t;
	rc = poll(fds, n, timeout_ms);
	/* The handshake driver reads the store for every device when it
	 * dispatches: only do that when one of its fds has something, or
	 * on a timeout (its retries). */
	xb_ready = rc == 0 && timeout_ms != 0;
	for (i = 0; rc > 0 && i < n; i++) {
		if (i < nxb && fds[i].revents)
			xb_ready = true;
		if (fds[i].fd == sfd && fds[i].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				stop = 1;
		}
	}
	if (fds != stackfds)
		free(fds);
	for (struct kv_conn *c = srv->conns; c != NULL; c = c->next)
		ring_evtchn_consume(c->ev);
	if (xb_ready && (rc = ring_xenbus_dispatch(xb)) < 0)
		return rc;
	return stop;
}

int
kv_serve(const struct kv_serve_opts *o)
{
	struct kv_srv srv = { 0 };
	struct ring_store *st = NULL;
	struct ring_xenbus *xb = NULL;
	struct ring_xb_back *be = NULL;
	unsigned spin, busy = 0;
	sigset_t mask;
	int sfd, rc;

	if (o == NULL || o->sz < sizeof(*o) || o->store == NULL ||
	    o->link_path == NULL)
		return -EINVAL;
	srv.store = o->store;
	srv.budget = o->budget == 0 ? 32 : o->budget;
	if (srv.budget > KV_BUDGET_MAX)
		srv.budget = KV_BUDGET_MAX;
	spin = o->spin == 0 ? RING_SPIN_DEFAULT : o->spin;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return -errno;
	if ((rc = ring_store_open(o->store_path, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_back_open(xb, "kv", o->link_path, &kv_back_ops, &srv,
				    &be)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"backend setup failed\" err=\"%s\"",
			 strerror(-rc));
		goto out;
	}
	ring_log(RING_LOG_INFO, "msg=ready store=%s rw=%d link=\"%s\"",
		 o->store->ops->name, kv_store_rw(o->store), o->link_path);
	notify(o->notify_fd, "READY=1\n");
	for (;;) {
		int work = 0;

		/* Round-robin, a budget each: nobody starves. */
		for (struct kv_conn *c = srv.conns, *nx; c != NULL; c = nx) {
			nx = c->next;
			if ((rc = serve_conn(c)) > 0)
				work += rc;
		}
		if (work == 0) {
			for (unsigned i = 0; work == 0 && i < spin; i++) {
				for (struct kv_conn *c = srv.conns; c; c = c->next)
					if (ring_back_has_unconsumed(&c->ring))
						work = 1;
				if (work == 0)
					ring_cpu_relax();
			}
		}
		if (work > 0 && ++busy % KV_BUSY_POLL_ROUNDS != 0)
			continue;
		rc = sleep_once(&srv, xb, sfd, work ? 0 : 1000);
		if (rc < 0) {
			ring_log(RING_LOG_ERR, "msg=\"store gone\"");
			goto out;
		}
		if (rc == 1)
			break;
	}
	ring_log(RING_LOG_INFO, "msg=stopping");
	notify(o->notify_fd, "STOPPING=1\n");
	rc = 0;
out:
	/* Closing the backend writes Closed for every connected device. */
	ring_xb_back_close(be);
	ring_xenbus_close(xb);
	ring_store_close(st);
	close(sfd);
	return rc;
}
