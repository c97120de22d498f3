/*
 * netd: the NET backend daemon.  Serves every `vif` device whose backend
 * is this domain, joins the vifs in a learning switch, and with
 * --backend tap bridges them to a kernel tap, with --backend xdp to an
 * existing interface through AF_XDP.  See docs/netd.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"
#include "netd.h"

struct nvif {
	struct nvif *next;
	struct ring_xb_back_dev *dev;
	struct ring_peer *peer;
	uint32_t tx_ref, rx_ref;
	struct ring_evtchn *ev;
	int port;
	bool closing;		/* frontend is leaving: serve it no more */
	struct netd_vif v;	/* last: holds a 64 KiB buffer */
};

static struct nvif *vifs;
static struct netd_sw *sw;
static struct netd_tap *tap;
static int tap_port = -1;
static struct netd_xdp *xdp;
static int xdp_port = -1;
static struct ring_xenbus *xb;
static struct ring_store *g_st;
static volatile sig_atomic_t stop;
static unsigned nvifs;
static uint64_t pass_ns;	/* the clock, read once per pass of run_once */

static void notify_line(const char *line);
static void notify_status(void);

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
gcopy_from(void *arg, uint32_t gref, uint32_t off, void *dst, uint32_t len)
{
	return ring_peer_copy_from(arg, gref, off, dst, len);
}

static int
gcopy_to(void *arg, uint32_t gref, uint32_t off, const void *src,
	 uint32_t len)
{
	return ring_peer_copy_to(arg, gref, off, src, len);
}

static int
gcopy_batch(void *arg, struct ring_copy *ops, unsigned n)
{
	return ring_peer_copy_batch(arg, ops, n);
}

static void
vif_output(void *arg, const uint8_t *frame, uint32_t len, uint16_t rxflags)
{
	struct nvif *n = arg;

	(void)netd_vif_rx_queue(&n->v, frame, len, rxflags);
}

static bool
vif_room(void *arg)
{
	return netd_vif_rx_room(&((struct nvif *)arg)->v);
}

static const struct netd_port_ops vif_port_ops = {
	.output = vif_output,
	.room = vif_room,
};

static void
sink_deliver(void *arg, const uint8_t *frame, uint32_t len, uint16_t rxflags)
{
	struct nvif *n = arg;

	netd_sw_input(sw, n->port, frame, len, rxflags, pass_ns);
}

static bool
sink_room(void *arg)
{
	return netd_sw_room(sw, ((struct nvif *)arg)->port);
}

static int
read_ulong(struct ring_store *st, const char *dir, const char *key,
	   unsigned long *v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_read_uint(st, RING_XBT_NULL, p, v);
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)		/* a vif's own address is unicast */
		return -EINVAL;
	return 0;
}

static int
be_probe(void *arg, struct ring_xb_back_dev *dev, struct ring_store *st,
	 const char *be_path)
{
	static const char *const feats[][2] = {
		{ "feature-rx-copy", "1" }, { "feature-rx-flip", "0" },
		{ "feature-sg", "1" },
	};
	char p[256];
	int rc;

	(void)arg;
	(void)dev;
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", be_path, feats[i][0]);
		if ((rc = ring_store_printf(st, RING_XBT_NULL, p, "%s",
					    feats[i][1])) < 0)
			return rc;
	}
	return 0;
}

static int
be_connect(void *arg, struct ring_xb_back_dev *dev, struct ring_peer *peer,
	   struct ring_store *st, const char *fe_path)
{
	unsigned long txr, rxr, port, rxcopy = 0, rxnotify = 0, sg = 0;
	struct netd_gops g = { gcopy_from, gcopy_to, peer, gcopy_batch };
	char bp[256], *macs = NULL;
	void *txp, *rxp;
	struct nvif *n;
	size_t ml;
	int rc;

	(void)arg;
	if ((rc = read_ulong(st, fe_path, "tx-ring-ref", &txr)) < 0 ||
	    (rc = read_ulong(st, fe_path, "rx-ring-ref", &rxr)) < 0 ||
	    (rc = read_ulong(st, fe_path, "event-channel", &port)) < 0)
		return rc;
	(void)read_ulong(st, fe_path, "request-rx-copy", &rxcopy);
	(void)read_ulong(st, fe_path, "feature-rx-notify", &rxnotify);
	(void)read_ulong(st, fe_path, "feature-sg", &sg);
	/* As Linux netback: rx-copy and rx-notify are mandatory. */
	if (rxcopy != 1 || rxnotify != 1)
		return -EOPNOTSUPP;
	if (txr > UINT32_MAX || rxr > UINT32_MAX || port > UINT32_MAX)
		return -EINVAL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	snprintf(bp, sizeof(bp), "/local/domain/%u/backend/vif/%u/%u/mac",
		 ring_xenbus_domid(xb), ring_xb_back_dev_frontend_id(dev),
		 ring_xb_back_dev_devid(dev));
	if (ring_store_read(st, RING_XBT_NULL, bp, &macs, &ml) == 0) {
		char m[18] = "";

		if (ml < sizeof(m))
			memcpy(m, macs, ml);
		free(macs);
		if (parse_mac(m, n->v.mac) < 0) {
			ring_log(RING_LOG_WARN, "msg=\"bad mac key\" dev=%s", bp);
			free(n);
			return -EINVAL;
		}
		n->v.has_mac = true;
	}
	if ((rc = ring_peer_map(peer, (uint32_t)txr, true, &txp)) < 0)
		goto fail;
	if ((rc = ring_peer_map(peer, (uint32_t)rxr, true, &rxp)) < 0)
		goto fail_tx;
	{
		bool has = n->v.has_mac;
		uint8_t mac[6];

		memcpy(mac, n->v.mac, 6);
		if ((rc = netd_vif_init(&n->v, txp, rxp, &g, sg == 1)) < 0)
			goto fail_rx;
		n->v.has_mac = has;
		memcpy(n->v.mac, mac, 6);
	}
	rc = ring_peer_bind(peer, (uint32_t)port, &n->ev);
	if (rc == -EAGAIN && ring_peer_process(peer) == 0)
		rc = ring_peer_bind(peer, (uint32_t)port, &n->ev);
	if (rc < 0)
		goto fail_rx;
	if ((n->port = netd_sw_add_port(sw, &vif_port_ops, n)) < 0) {
		rc = n->port;
		ring_evtchn_close(n->ev);
		goto fail_rx;
	}
	n->dev = dev;
	n->peer = peer;
	n->tx_ref = (uint32_t)txr;
	n->rx_ref = (uint32_t)rxr;
	*ring_xb_back_dev_user(dev) = n;
	n->next = vifs;
	vifs = n;
	nvifs++;
	notify_status();
	ring_log(RING_LOG_INFO, "msg=\"vif connected\" frontend=%u devid=%u port=%d sg=%lu",
		 ring_xb_back_dev_frontend_id(dev), ring_xb_back_dev_devid(dev),
		 n->port, sg);
	return 0;
fail_rx:
	ring_peer_unmap(peer, (uint32_t)rxr);
fail_tx:
	ring_peer_unmap(peer, (uint32_t)txr);
fail:
	free(n);
	return rc;
}

static void
be_disconnect(void *arg, struct ring_xb_back_dev *dev)
{
	struct nvif *n = *ring_xb_back_dev_user(dev), **pp;

	(void)arg;
	if (n == NULL)
		return;
	for (pp = &vifs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	netd_sw_del_port(sw, n->port);
	netd_vif_fini(&n->v);
	ring_peer_unmap(n->peer, n->tx_ref);
	ring_peer_unmap(n->peer, n->rx_ref);
	ring_evtchn_close(n->ev);
	*ring_xb_back_dev_user(dev) = NULL;
	nvifs--;
	notify_status();
	ring_log(RING_LOG_INFO,
		 "msg=\"vif disconnected\" tx_frames=%llu tx_dropped=%llu rx_frames=%llu rx_dropped=%llu",
		 (unsigned long long)n->v.tx_frames,
		 (unsigned long long)n->v.tx_dropped,
		 (unsigned long long)n->v.rx_frames,
		 (unsigned long long)n->v.rx_dropped);
	free(n);
}

static const struct ring_xb_back_ops back_ops = {
	.be_probe = be_probe,
	.be_connect = be_connect,
	.be_disconnect = be_disconnect,
};

/* STATUS=<text> for `compose ps`: how many vifs are connected. */
static void
notify_status(void)
{
	char b[64];

	snprintf(b, sizeof(b), "STATUS=%u vif(s) connected\n", nvifs);
	notify_line(b);
}

static void
notify_line(const char *line)
{
	const char *e = getenv("NOTIFY_FD");
	int fd;

	if (e == NULL || (fd = atoi(e)) < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		ring_log(RING_LOG_WARN, "msg=\"NOTIFY_FD write failed\"");
}

/*
 * A violation.  A frontend on its way out revokes its pages before its
 * link closes, so a failed copy then is not an attack: if it is gone or
 * Closing, stop serving it quietly and let the handshake finish.
 */
static void
vif_fail(struct nvif *n)
{
	unsigned long state = 0;
	char p[128];

	snprintf(p, sizeof(p), "/local/domain/%u/device/vif/%u/state",
		 ring_xb_back_dev_frontend_id(n->dev),
		 ring_xb_back_dev_devid(n->dev));
	int rc = ring_store_read_uint(g_st, RING_XBT_NULL, p, &state);

	/* On Xen a destroyed guest's directory is simply removed. */
	if (ring_peer_process(n->peer) == -EPIPE || rc == -ENOENT ||
	    (rc == 0 && state >= RING_XB_CLOSING)) {
		n->closing = true;
		return;
	}
	/* One log line; be_disconnect frees n. */
	ring_xb_back_dev_fail(n->dev, n->v.fail_why);
}

/* One pass over everything.  Returns the work done. */
static int
run_once(void)
{
	int work = 0, rc;

	pass_ns = netd_now_ns();
	for (struct nvif *n = vifs, *nx; n != NULL; n = nx) {
		struct netd_vif_sink sink = { sink_deliver, sink_room, n };

		nx = n->next;
		if (n->closing)
			continue;
		rc = netd_vif_tx(&n->v, 64, &sink);
		if (rc < 0) {
			vif_fail(n);
			continue;
		}
		work += rc;
	}
	if (tap != NULL) {
		rc = netd_tap_run(tap, sw, tap_port, pass_ns);
		if (rc > 0)
			work += rc;
	}
	if (xdp != NULL) {
		rc = netd_xdp_run(xdp, sw, xdp_port, netd_now_ns());
		if (rc > 0)
			work += rc;
	}
	for (struct nvif *n = vifs, *nx; n != NULL; n = nx) {
		nx = n->next;
		if (n->closing)
			continue;
		rc = netd_vif_rx_flush(&n->v);
		if (rc < 0) {
			vif_fail(n);
			continue;
		}
		work += rc;
		if (n->v.need_notify) {
			n->v.need_notify = false;
			ring_evtchn_notify(n->ev);
		}
	}
	if (tap != NULL)
		netd_tap_flush(tap);
	if (xdp != NULL)
		netd_xdp_flush(xdp);
	return work;
}

static bool
pending(void)
{
	for (struct nvif *n = vifs; n != NULL; n = n->next)
		if (!n->closing && ring_back_has_unconsumed(&n->v.tx))
			return true;
	return false;
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: netd --backend tap|vswitch|xdp [options]\n"
"The NET backend: serves every `vif` device whose backend is this domain\n"
"(Xen netif rings), joined by a learning switch.\n"
"  --backend tap       bridge the vifs to a kernel tap (--tap required)\n"
"  --backend vswitch   switch between vifs only (--tap adds an uplink)\n"
"  --backend xdp       bridge the vifs to an existing interface through an\n"
"                      AF_XDP socket (--ifname required)\n"
"  --tap NAME          tap device to attach to, created if missing, set up\n"
"  --ifname NAME       (xdp) the interface\n"
"  --queue N           (xdp) its queue (default 0)\n"
"  --umem-frames N     (xdp) UMEM chunks, power of two (default 4096)\n"
"  --frame-size N      (xdp) chunk size, 2048 or 4096 (default 2048)\n"
"  --xdp-mode M        (xdp) auto|native|generic (default auto)\n"
"  --xsk-mode M        (xdp) auto|zerocopy|copy (default auto)\n"
"  --link PATH         link socket (default $MORGANA_RUNDIR/$MORGANA_SERVICE.sock)\n"
"  --mac-age S         seconds a learnt MAC is kept (default 300)\n"
"  --spin N            spin budget before sleeping (default 2000)\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "tap", required_argument, NULL, 't' },
		{ "link", required_argument, NULL, 'l' },
		{ "mac-age", required_argument, NULL, 'a' },
		{ "spin", required_argument, NULL, 's' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "queue", required_argument, NULL, 'q' },
		{ "umem-frames", required_argument, NULL, 'u' },
		{ "frame-size", required_argument, NULL, 'f' },
		{ "xdp-mode", required_argument, NULL, 'x' },
		{ "xsk-mode", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *backend = NULL, *tapname = NULL, *link = NULL;
	const char *xmode = "auto", *zmode = "auto";
	struct netd_xdp_opts xo = { .sz = sizeof(xo) };
	const char *svc = getenv("MORGANA_SERVICE");
	unsigned age = 300, spin = RING_SPIN_DEFAULT, iter = 0;
	uint64_t last_xb = 0;
	bool xbdue = true;
	char lbuf[PATH_MAX];
	struct ring_xb_back *be;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'b': backend = optarg; break;
		case 't': tapname = optarg; break;
		case 'l': link = optarg; break;
		case 'a': age = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': spin = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'i': xo.ifname = optarg; break;
		case 'q': xo.queue = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'u': xo.umem_frames = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': xo.frame_size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': xmode = optarg; break;
		case 'z': zmode = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	ring_log_set_name(svc ? svc : "netd");
	if (backend == NULL || (strcmp(backend, "tap") != 0 &&
				strcmp(backend, "vswitch") != 0 &&
				strcmp(backend, "xdp") != 0)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(backend, "xdp") == 0) {
		if (xo.ifname == NULL || tapname != NULL) {
			fprintf(stderr, "netd: --backend xdp needs --ifname NAME (and no --tap)\n");
			return 2;
		}
		xo.xdp_mode = strcmp(xmode, "native") == 0 ? NETD_XDP_NATIVE :
			      strcmp(xmode, "generic") == 0 ? NETD_XDP_GENERIC :
			      NETD_XDP_AUTO;
		xo.xsk_mode = strcmp(zmode, "zerocopy") == 0 ? NETD_XSK_ZEROCOPY :
			      strcmp(zmode, "copy") == 0 ? NETD_XSK_COPY :
			      NETD_XSK_AUTO;
		if ((xo.xdp_mode == NETD_XDP_AUTO && strcmp(xmode, "auto") != 0) ||
		    (xo.xsk_mode == NETD_XSK_AUTO && strcmp(zmode, "auto") != 0)) {
			usage(stderr);
			return 2;
		}
	} else if (xo.ifname != NULL) {
		fprintf(stderr, "netd: --ifname is for --backend xdp\n");
		return 2;
	}
	if (strcmp(backend, "tap") == 0 && tapname == NULL) {
		fprintf(stderr, "netd: --backend tap needs --tap NAME\n");
		return 2;
	}
	if (link == NULL) {
		const char *rd = getenv("MORGANA_RUNDIR");

		if (rd == NULL) {
			fprintf(stderr, "netd: no --link and no MORGANA_RUNDIR\n");
			return 2;
		}
		snprintf(lbuf, sizeof(lbuf), "%s/%s.sock", rd, svc ? svc : "netd");
		link = lbuf;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = netd_sw_open(age, &sw)) < 0)
		return 1;
	if (tapname != NULL) {
		if ((rc = netd_tap_open(tapname, &tap)) < 0) {
			ring_log(RING_LOG_ERR, "msg=\"cannot open tap\" tap=%s err=%d",
				 tapname, rc);
			return 1;
		}
		tap_port = netd_sw_add_port(sw, &netd_tap_port_ops, tap);
	}
	if (xo.ifname != NULL) {
		/* netd_xdp_open logs the mode it got, or why it failed. */
		if ((rc = netd_xdp_open(&xo, &xdp)) < 0)
			return 1;
		xdp_port = netd_sw_add_port(sw, &netd_xdp_port_ops, xdp);
	}
	if ((rc = ring_store_open(NULL, &g_st)) < 0 ||
	    (rc = ring_xenbus_open(g_st, &xb)) < 0 ||
	    (rc = ring_xb_back_open(xb, "vif", link, &back_ops, NULL, &be)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"backend setup failed\" err=%d", rc);
		return 1;
	}
	ring_xenbus_dispatch(xb);
	ring_log(RING_LOG_INFO, "msg=ready backend=%s link=%s tap=%s ifname=%s",
		 backend, link, tapname ? tapname : "-",
		 xo.ifname ? xo.ifname : "-");
	notify_line("READY=1\n");
	while (!stop) {
		struct pollfd fds[128];
		unsigned nfd, nx = 0;
		int work = run_once(), more = 0;

		/* Under load the store still gets served now and then. */
		if (work > 0 && (++iter & 63) != 0)
			continue;
		for (unsigned i = 0; work == 0 && i < spin; i++) {
			if (pending() ||
			    (tap != NULL && netd_tap_ready(tap)) ||
			    (xdp != NULL && netd_xdp_ready(xdp)))
				work = 1;
			ring_cpu_relax();
		}
		rc = ring_xenbus_pollfds(xb, fds, 64);
		nfd = rc > 64 ? 64 : (unsigned)rc;
		for (struct nvif *n = vifs; n != NULL; n = n->next) {
			if (n->closing)
				continue;
			if (ring_back_final_check(&n->v.tx) ||
			    netd_vif_rx_final_check(&n->v))
				more = 1;
			if (n->v.rxq_n > 0)
				more |= 2;
			if (nfd + nx < 127)
				fds[nfd + nx++] = (struct pollfd){
					.fd = ring_evtchn_fd(n->ev), .events = POLLIN };
		}
		if (tap != NULL)
			fds[nfd + nx++] = (struct pollfd){ .fd = netd_tap_fd(tap),
							   .events = POLLIN };
		if (xdp != NULL)
			fds[nfd + nx++] = (struct pollfd){ .fd = netd_xdp_fd(xdp),
							   .events = POLLIN };
		{
			int t = ring_xenbus_timeout_ms(xb), to;

			to = (work || (more & 1)) ? 0 : (more & 2) ? 50 : 1000;
			if (t >= 0 && t < to)
				to = t;
			poll(fds, nfd + nx, to);
			xbdue |= t == 0;
		}
		/* The handshake re-reads device states from the store on
		 * every dispatch: only when its fds or its timer ask, or once
		 * a second (on Xen each read is a round trip to xenstored). */
		for (unsigned i = 0; i < nfd; i++)
			xbdue |= fds[i].revents != 0;
		if (xbdue || netd_now_ns() - last_xb > 1000000000ull) {
			xbdue = false;
			last_xb = netd_now_ns();
			if (ring_xenbus_dispatch(xb) == -EPIPE) {
				ring_log(RING_LOG_ERR, "msg=\"store gone\"");
				break;
			}
		}
		for (struct nvif *n = vifs; n != NULL; n = n->next)
			ring_evtchn_consume(n->ev);
	}
	notify_line("STOPPING=1\n");
	ring_xb_back_close(be);
	ring_xenbus_close(xb);
	ring_store_close(g_st);
	netd_tap_close(tap);
	netd_xdp_close(xdp);
	netd_sw_close(sw);
	return 0;
}
