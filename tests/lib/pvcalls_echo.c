/*
 * pvcalls_echo: a test toolstack plus a raw-libring PV Calls frontend that
 * runs a TCP echo server through tcpipd (tests/integration/tcpipd_*.sh).
 *
 *   pvcalls_echo --tcpipd BIN --rundir DIR --port P [--allow LIST]
 *                [--hostile] [--hostile-udp] [--front APP]
 *
 * The toolstack (dom0) serves the store, creates device pvcalls/0 for
 * domain 2 (and domain 3 with --hostile), starts tcpipd as domain 1 with
 * the wiring environment and waits for its READY=1, then starts the echo
 * frontend (domain 2).  It prints to stdout, one line each:
 *   front-ready pid=N       the frontend listens on 127.0.0.1:P
 *   front-exit status=S     the frontend exited
 *   hostile: ...            the hostile frontend's findings
 * With --front, the frontend is APP --port=P instead (an appkit
 * application; its READY=1 means its devices are Connected).
 * SIGUSR2 starts a new echo frontend (same domain, after the old one
 * died); SIGUSR1 starts the hostile frontend (domain 3).  SIGTERM: stop
 * tcpipd (it must exit 0) and exit with its status.
 *
 * The echo frontend binds 127.0.0.1:P, listens, keeps one ACCEPT posted,
 * echoes every byte of every connection back (order-2 data rings) and
 * releases a connection once the peer closed and everything was echoed.
 * The hostile frontend sends commands tcpipd must refuse, checks each
 * answer, then corrupts its command ring's producer index and waits to be
 * disconnected.  With --hostile-udp (implies --hostile) it exercises the
 * datagram extension instead: refused SOCKET/X_RING/BIND, a bind to
 * 127.0.0.1:P+2 (the allow list must name it), one datagram to
 * 127.0.0.1:P and its echo checked record by record; then it prints
 * "hostile: udp waiting" and expects a datagram of 20000 bytes of 0x5a
 * from the host, which its order-2 ring can only get truncated; then a
 * record header claiming more than the ring holds, which must break that
 * socket alone (both error fields -EPROTO).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include "morgana/evtchn.h"
#include "morgana/log.h"
#include "morgana/proto/pvcalls_proto.h"
#include "morgana/share.h"
#include "morgana/store.h"
#include "morgana/store_server.h"
#include "morgana/xenbus.h"
#include "services/tcpipd/tcpipd.h"

#define DOM_BACK 1
#define DOM_FRONT 2
#define DOM_HOSTILE 3
#define ORDER 2u
#define NPAGES (1u << ORDER)
#define MAXCONN 40

/* ================= frontends ================= */

struct conn {
	bool used, active, releasing, eof_seen;
	uint64_t id;
	uint32_t intf_ref, refs[NPAGES];
	struct pvc_data_intf *intf;
	uint8_t *pages[NPAGES];
	struct ring_evtchn *ev;
};

struct pend {
	bool used;
	uint32_t req_id, cmd;
	struct conn *c;
	int32_t want;		/* hostile: the expected answer */
};

struct front {
	struct ring_share *share;
	struct ring_front ring;
	struct ring_evtchn *ev;
	bool up, hostile, dropped, udp;
	uint16_t port;
	int notify_fd;
	uint32_t next_req;
	uint64_t next_id;
	struct pend pend[64];
	struct conn conns[MAXCONN];
	unsigned hostile_step, hostile_bad;
	struct conn *hc;	/* hostile: its one connection */
	unsigned hc_phase;
};

static int
fe_setup(void *arg, struct ring_xb_front *xfe, struct ring_share *share,
	 struct ring_store *st, uint32_t tx, const char *fe_path)
{
	struct front *f = arg;
	uint32_t ref;
	void *page;
	char p[256];
	int rc;

	(void)xfe;
	f->share = share;
	if ((rc = ring_share_grant(share, false, &ref, &page)) < 0 ||
	    (rc = ring_share_evtchn(share, &f->ev)) < 0)
		return rc;
	pvc_front_init(&f->ring, page, RING_PAGE_SIZE);
	snprintf(p, sizeof(p), "%s/version", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "1")) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/ring-ref", fe_path);
	if ((rc = ring_store_printf(st, tx, p, "%u", ref)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/port", fe_path);
	return ring_store_printf(st, tx, p, "%u", ring_evtchn_port(f->ev));
}

static int
fe_connected(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;

	(void)xfe;
	f->up = true;
	return 0;
}

static void
fe_teardown(void *arg, struct ring_xb_front *xfe)
{
	struct front *f = arg;

	(void)xfe;
	if (f->hostile && f->up) {
		f->dropped = true;
		f->up = false;
		return;
	}
	ring_log(RING_LOG_ERR, "msg=\"lost tcpipd\"");
	_exit(1);
}

static const struct ring_xb_front_ops front_ops = {
	.fe_setup = fe_setup,
	.fe_connected = fe_connected,
	.fe_teardown = fe_teardown,
};

static void
send_req(struct front *f, struct pvc_req *q, struct conn *c, int32_t want)
{
	struct pend *p = NULL;

	for (unsigned i = 0; i < 64 && p == NULL; i++)
		if (!f->pend[i].used)
			p = &f->pend[i];
	if (p == NULL || ring_front_free(&f->ring) == 0) {
		ring_log(RING_LOG_ERR, "msg=\"command ring full\"");
		_exit(1);
	}
	q->req_id = f->next_req++;
	*p = (struct pend){ .used = true, .req_id = q->req_id, .cmd = q->cmd,
			    .c = c, .want = want };
	pvc_front_put(&f->ring, q);
	if (ring_front_push(&f->ring))
		ring_evtchn_notify(f->ev);
}

static void
put_addr(uint8_t *a, uint16_t port)
{
	uint16_t fam = PVC_AF_INET, np = htons(port);
	uint32_t ip = htonl(0x7f000001);

	memcpy(a, &fam, 2);
	memcpy(a + 2, &np, 2);
	memcpy(a + 4, &ip, 4);
}

/* Grant a data ring for a socket to be accepted. */
static struct conn *
conn_new(struct front *f)
{
	struct conn *c = NULL;
	void *p;

	for (unsigned i = 0; i < MAXCONN && c == NULL; i++)
		if (!f->conns[i].used)
			c = &f->conns[i];
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	if (ring_share_grant(f->share, false, &c->intf_ref, &p) < 0)
		return NULL;
	c->intf = p;
	for (unsigned i = 0; i < NPAGES; i++) {
		if (ring_share_grant(f->share, false, &c->refs[i], &p) < 0)
			return NULL;
		c->pages[i] = p;
		c->intf->ref[i] = c->refs[i];
	}
	c->intf->ring_order = ORDER;
	if (ring_share_evtchn(f->share, &c->ev) < 0)
		return NULL;
	c->used = true;
	c->id = ++f->next_id + 100;
	return c;
}

static void
conn_free(struct front *f, struct conn *c)
{
	ring_share_revoke(f->share, c->intf_ref);
	for (unsigned i = 0; i < NPAGES; i++)
		ring_share_revoke(f->share, c->refs[i]);
	ring_evtchn_close(c->ev);
	c->used = false;
}

static void
post_accept(struct front *f)
{
	struct pvc_req q = { .cmd = PVC_CMD_ACCEPT };
	struct conn *c = conn_new(f);

	if (c == NULL) {
		ring_log(RING_LOG_ERR, "msg=\"no room for a connection\"");
		_exit(1);
	}
	q.u.accept.id = 1;
	q.u.accept.id_new = c->id;
	q.u.accept.ref = c->intf_ref;
	q.u.accept.evtchn = ring_evtchn_port(c->ev);
	send_req(f, &q, c, 0);
}

/* Echo what `in` holds into `out`, as much as fits.  Consumer and
 * producer barriers as in the spec. */
static void
echo(struct front *f, struct conn *c)
{
	uint32_t size = PVC_RING_SIZE(ORDER), in_prod, in_cons, out_prod,
		 out_cons, n;
	struct iovec a[8], b[8];
	static uint8_t buf[PVC_RING_SIZE(ORDER)];
	int na, nb;
	size_t off = 0;

	if (!c->active || c->releasing)
		return;
	in_prod = __atomic_load_n(&c->intf->in_prod, __ATOMIC_ACQUIRE);
	in_cons = c->intf->in_cons;
	out_prod = c->intf->out_prod;
	out_cons = __atomic_load_n(&c->intf->out_cons, __ATOMIC_ACQUIRE);
	n = in_prod - in_cons;
	if (size - (out_prod - out_cons) < n)
		n = size - (out_prod - out_cons);
	if (n > 0) {
		na = tcp_ring_iov(c->pages, NPAGES, 0, size, in_cons, n, a, 8);
		for (int i = 0; i < na; i++) {
			memcpy(buf + off, a[i].iov_base, a[i].iov_len);
			off += a[i].iov_len;
		}
		nb = tcp_ring_iov(c->pages, NPAGES, size, size, out_prod, n,
				  b, 8);
		off = 0;
		for (int i = 0; i < nb; i++) {
			memcpy(b[i].iov_base, buf + off, b[i].iov_len);
			off += b[i].iov_len;
		}
		/* Our copy out of `in` /before/ we hand its space back. */
		atomic_thread_fence(memory_order_seq_cst);
		__atomic_store_n(&c->intf->in_cons, in_cons + n, __ATOMIC_RELEASE);
		/* The bytes in `out` /before/ the index that publishes them. */
		__atomic_store_n(&c->intf->out_prod, out_prod + n,
				 __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
	}
	/* EOF only once `in` is drained, and release once `out` is too.
	 * in_error first: tcpipd publishes the last in_prod before it, so
	 * the in_prod read after it is final (the snapshot above may be
	 * older than data that came just before the EOF). */
	if (__atomic_load_n(&c->intf->in_error, __ATOMIC_ACQUIRE) != 0 &&
	    __atomic_load_n(&c->intf->in_prod, __ATOMIC_ACQUIRE) ==
		    in_cons + n &&
	    (__atomic_load_n(&c->intf->out_cons, __ATOMIC_ACQUIRE) ==
		 out_prod + n ||
	     __atomic_load_n(&c->intf->out_error, __ATOMIC_ACQUIRE) != 0)) {
		struct pvc_req q = { .cmd = PVC_CMD_RELEASE };

		q.u.release.id = c->id;
		c->releasing = true;
		send_req(f, &q, c, 0);
	}
}

static void hostile_udp_next(struct front *f);
static void hostile_udp_data(struct front *f);

static void
hostile_next(struct front *f)
{
	struct pvc_req q;

	if (f->udp) {
		hostile_udp_next(f);
		return;
	}
	memset(&q, 0, sizeof(q));
	switch (f->hostile_step++) {
	case 0:	/* an unknown command: ENOTSUPP (524) */
		q.cmd = 99;
		q.u.socket.id = 5;
		send_req(f, &q, NULL, -PVC_ENOTSUPP);
		break;
	case 1:	/* a data ring on a ref that was never granted */
		q.cmd = PVC_CMD_CONNECT;
		q.u.connect.id = 6;
		put_addr(q.u.connect.addr, f->port);
		q.u.connect.len = 16;
		q.u.connect.ref = 60000;
		q.u.connect.evtchn = 1;
		send_req(f, &q, NULL, -EFAULT);
		break;
	case 2:	/* a port the allow list does not name */
		q.cmd = PVC_CMD_BIND;
		q.u.bind.id = 7;
		put_addr(q.u.bind.addr, 1);
		q.u.bind.len = 16;
		send_req(f, &q, NULL, -EACCES);
		break;
	case 3:	/* an address of the wrong length */
		q.cmd = PVC_CMD_BIND;
		q.u.bind.id = 7;
		put_addr(q.u.bind.addr, f->port);
		q.u.bind.len = 200;
		send_req(f, &q, NULL, -EINVAL);
		break;
	case 4:	/* listen and accept on an unknown id */
		q.cmd = PVC_CMD_LISTEN;
		q.u.listen.id = 8;
		send_req(f, &q, NULL, -EINVAL);
		break;
	case 5:
		q.cmd = PVC_CMD_ACCEPT;
		q.u.accept.id = 8;
		q.u.accept.id_new = 9;
		send_req(f, &q, NULL, -EINVAL);
		break;
	case 6:	/* an unknown id: RELEASE still answers 0, like Linux */
		q.cmd = PVC_CMD_RELEASE;
		q.u.release.id = 12345;
		send_req(f, &q, NULL, 0);
		break;
	case 7:	/* a real connection, to the echo frontend's port */
		f->hc = conn_new(f);
		if (f->hc == NULL)
			_exit(1);
		q.cmd = PVC_CMD_CONNECT;
		q.u.connect.id = f->hc->id;
		put_addr(q.u.connect.addr, f->port);
		q.u.connect.len = 16;
		q.u.connect.flags = 0xdead;	/* reserved: ignored */
		q.u.connect.ref = f->hc->intf_ref;
		q.u.connect.evtchn = ring_evtchn_port(f->hc->ev);
		send_req(f, &q, f->hc, 0);
		break;
	case 8:	/* hostile_data() broke the data ring; release it */
		q.cmd = PVC_CMD_RELEASE;
		q.u.release.id = f->hc->id;
		send_req(f, &q, f->hc, 0);
		break;
	default:
		printf("hostile: %u answers wrong\n", f->hostile_bad);
		fflush(stdout);
		/* More requests than the ring has slots. */
		atomic_store(&f->ring.s->req_prod,
			     f->ring.req_prod_pvt + f->ring.nr_ents + 5);
		ring_evtchn_notify(f->ev);
		break;
	}
}

/*
 * The hostile frontend's connection: send "hello", wait for the echo, then
 * push out_prod a long way past anything real and wait for tcpipd to
 * report the broken ring (-EPROTO in both error fields).
 */
static void
hostile_data(struct front *f)
{
	struct conn *c = f->hc;
	uint32_t size = PVC_RING_SIZE(ORDER), in_prod;

	if (f->udp) {
		hostile_udp_data(f);
		return;
	}
	if (c == NULL || !c->active)
		return;
	if (c->intf == NULL)
		return;
	switch (f->hc_phase) {
	case 0:
		memcpy(c->pages[size / RING_PAGE_SIZE], "hello", 5);
		__atomic_store_n(&c->intf->out_prod, 5, __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		f->hc_phase = 1;
		break;
	case 1:
		in_prod = __atomic_load_n(&c->intf->in_prod, __ATOMIC_ACQUIRE);
		if (in_prod < 5)
			break;
		if (memcmp(c->pages[0], "hello", 5) != 0) {
			printf("hostile: echo differs\n");
			f->hostile_bad++;
		}
		__atomic_store_n(&c->intf->in_cons, 5, __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		{	/* half-close: the echo side sees EOF and closes */
			struct pvc_req q = { .cmd = PVC_CMD_X_SHUTDOWN };

			q.u.x_shutdown.id = c->id;
			q.u.x_shutdown.how = 1;
			send_req(f, &q, c, 0);
		}
		f->hc_phase = 2;
		break;
	case 2:	/* the echo frontend's close comes back as EOF */
		if (__atomic_load_n(&c->intf->in_error, __ATOMIC_ACQUIRE) !=
		    -ENOTCONN)
			break;
		printf("hostile: eof after shutdown\n");
		__atomic_store_n(&c->intf->out_prod, 5 + 3 * size,
				 __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		f->hc_phase = 3;
		break;
	case 3:
		if (__atomic_load_n(&c->intf->out_error, __ATOMIC_ACQUIRE) ==
			    -EPROTO &&
		    __atomic_load_n(&c->intf->in_error, __ATOMIC_ACQUIRE) ==
			    -EPROTO) {
			printf("hostile: data ring broken\n");
			f->hc_phase = 4;
			c->active = false;
			hostile_next(f);
		}
		break;
	}
}

#define UDP_ID 20u

static void
hostile_udp_next(struct front *f)
{
	struct pvc_req q;

	memset(&q, 0, sizeof(q));
	switch (f->hostile_step++) {
	case 0:	/* a datagram socket (feature-x-dgram) */
		q.cmd = PVC_CMD_SOCKET;
		q.u.socket.id = UDP_ID;
		q.u.socket.domain = PVC_AF_INET;
		q.u.socket.type = PVC_SOCK_DGRAM;
		q.u.socket.protocol = 17;
		send_req(f, &q, NULL, 0);
		break;
	case 1:	/* the same id again */
		q.cmd = PVC_CMD_SOCKET;
		q.u.socket.id = UDP_ID;
		q.u.socket.domain = PVC_AF_INET;
		q.u.socket.type = PVC_SOCK_DGRAM;
		send_req(f, &q, NULL, -EEXIST);
		break;
	case 2:	/* SOCK_RAW */
		q.cmd = PVC_CMD_SOCKET;
		q.u.socket.id = UDP_ID + 1;
		q.u.socket.domain = PVC_AF_INET;
		q.u.socket.type = 3;
		send_req(f, &q, NULL, -EAFNOSUPPORT);
		break;
	case 3:	/* a ring for a socket that does not exist */
		q.cmd = PVC_CMD_X_RING;
		q.u.x_ring.id = UDP_ID + 1;
		send_req(f, &q, NULL, -EINVAL);
		break;
	case 4:	/* a UDP port the allow list does not name */
		q.cmd = PVC_CMD_BIND;
		q.u.bind.id = UDP_ID;
		put_addr(q.u.bind.addr, 1);
		q.u.bind.len = 16;
		send_req(f, &q, NULL, -EACCES);
		break;
	case 5:	/* LISTEN on a datagram socket */
		q.cmd = PVC_CMD_LISTEN;
		q.u.listen.id = UDP_ID;
		send_req(f, &q, NULL, -EINVAL);
		break;
	case 6:	/* a port it may bind */
		q.cmd = PVC_CMD_BIND;
		q.u.bind.id = UDP_ID;
		put_addr(q.u.bind.addr, (uint16_t)(f->port + 2));
		q.u.bind.len = 16;
		send_req(f, &q, NULL, 0);
		break;
	case 7:	/* its ring */
		f->hc = conn_new(f);
		if (f->hc == NULL)
			_exit(1);
		f->hc->id = UDP_ID;
		q.cmd = PVC_CMD_X_RING;
		q.u.x_ring.id = UDP_ID;
		q.u.x_ring.ref = f->hc->intf_ref;
		q.u.x_ring.evtchn = ring_evtchn_port(f->hc->ev);
		send_req(f, &q, f->hc, 0);
		break;
	case 8:	/* hostile_udp_data() broke the ring; release it */
		q.cmd = PVC_CMD_RELEASE;
		q.u.release.id = UDP_ID;
		send_req(f, &q, f->hc, 0);
		break;
	default:
		printf("hostile: %u answers wrong\n", f->hostile_bad);
		fflush(stdout);
		atomic_store(&f->ring.s->req_prod,
			     f->ring.req_prod_pvt + f->ring.nr_ents + 5);
		ring_evtchn_notify(f->ev);
		break;
	}
}

/*
 * The hostile frontend's datagram socket: one record "hello-udp" to the
 * echo application's port, its echo checked (header and payload), then a
 * record whose header claims 60000 bytes where 16 are queued.
 */
static void
hostile_udp_data(struct front *f)
{
	struct conn *c = f->hc;
	uint32_t size = PVC_RING_SIZE(ORDER), in_prod;
	uint8_t *out = c != NULL ? c->pages[size / RING_PAGE_SIZE] : NULL;
	struct pvc_dgram_hdr h;

	if (c == NULL || !c->active || c->intf == NULL)
		return;
	switch (f->hc_phase) {
	case 0:
		h = (struct pvc_dgram_hdr){ .len = 9, .port = htons(f->port),
					    .addr = htonl(0x7f000001) };
		memcpy(out, &h, sizeof(h));
		memcpy(out + sizeof(h), "hello-udp", 9);
		/* The record /before/ the index that publishes it. */
		__atomic_store_n(&c->intf->out_prod, PVC_DGRAM_REC(9),
				 __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		f->hc_phase = 1;
		break;
	case 1:
		in_prod = __atomic_load_n(&c->intf->in_prod, __ATOMIC_ACQUIRE);
		if (in_prod == 0)
			break;
		memcpy(&h, c->pages[0], sizeof(h));
		if (in_prod != PVC_DGRAM_REC(9) || h.len != 9 || h.flags != 0 ||
		    h.full_len != 9 || h.port != htons(f->port) ||
		    h.addr != htonl(0x7f000001) ||
		    memcmp(c->pages[0] + sizeof(h), "hello-udp", 9) != 0) {
			printf("hostile: udp echo differs in_prod=%u len=%u\n",
			       in_prod, h.len);
			f->hostile_bad++;
		} else {
			printf("hostile: udp echo ok\n");
		}
		__atomic_store_n(&c->intf->in_cons, in_prod, __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		printf("hostile: udp waiting\n");
		fflush(stdout);
		f->hc_phase = 2;
		break;
	case 2:	/* 20000 bytes from the host, cut to what the ring holds */
		in_prod = __atomic_load_n(&c->intf->in_prod, __ATOMIC_ACQUIRE);
		if (in_prod == PVC_DGRAM_REC(9))
			break;
		memcpy(&h, c->pages[PVC_DGRAM_REC(9) / RING_PAGE_SIZE] +
				   PVC_DGRAM_REC(9) % RING_PAGE_SIZE,
		       sizeof(h));
		{
			uint32_t want = size - (uint32_t)sizeof(h), bad = 0;

			for (uint32_t i = 0; i < want; i++) {
				uint32_t pos = (PVC_DGRAM_REC(9) + 16 + i) % size;

				bad += c->pages[pos / RING_PAGE_SIZE]
					       [pos % RING_PAGE_SIZE] != 0x5a;
			}
			if (in_prod != PVC_DGRAM_REC(9) + size || h.len != want ||
			    h.flags != PVC_DGRAM_TRUNC || h.full_len != 20000 ||
			    h.addr != htonl(0x7f000001) || bad != 0) {
				printf("hostile: udp truncation differs in_prod=%u len=%u flags=%u full_len=%u bad=%u\n",
				       in_prod, h.len, h.flags, h.full_len, bad);
				f->hostile_bad++;
			} else {
				printf("hostile: udp truncated ok\n");
			}
			fflush(stdout);
		}
		__atomic_store_n(&c->intf->in_cons, in_prod, __ATOMIC_RELEASE);
		h = (struct pvc_dgram_hdr){ .len = 60000, .port = htons(f->port),
					    .addr = htonl(0x7f000001) };
		memcpy(out + PVC_DGRAM_REC(9), &h, sizeof(h));
		__atomic_store_n(&c->intf->out_prod,
				 PVC_DGRAM_REC(9) + (uint32_t)sizeof(h),
				 __ATOMIC_RELEASE);
		ring_evtchn_notify(c->ev);
		f->hc_phase = 3;
		break;
	case 3:
		if (__atomic_load_n(&c->intf->out_error, __ATOMIC_ACQUIRE) ==
			    -EPROTO &&
		    __atomic_load_n(&c->intf->in_error, __ATOMIC_ACQUIRE) ==
			    -EPROTO) {
			printf("hostile: udp ring broken\n");
			fflush(stdout);
			f->hc_phase = 4;
			c->active = false;
			hostile_next(f);
		}
		break;
	}
}

static void
on_rsp(struct front *f, const struct pvc_rsp *r)
{
	struct pend *p = NULL;

	for (unsigned i = 0; i < 64 && p == NULL; i++)
		if (f->pend[i].used && f->pend[i].req_id == r->req_id)
			p = &f->pend[i];
	if (p == NULL || p->cmd != r->cmd) {
		ring_log(RING_LOG_ERR, "msg=\"unexpected response\" req_id=%u",
			 r->req_id);
		_exit(1);
	}
	p->used = false;
	if (f->hostile) {
		if (r->ret != p->want) {
			printf("hostile: cmd=%u ret=%d want=%d\n", r->cmd,
			       r->ret, p->want);
			f->hostile_bad++;
		}
		if (r->cmd == PVC_CMD_X_SHUTDOWN)
			return;	/* hostile_data() goes on */
		if ((r->cmd == PVC_CMD_CONNECT || r->cmd == PVC_CMD_X_RING) &&
		    r->ret == 0 && p->c != NULL) {
			p->c->active = true;
			return;	/* hostile_data() goes on */
		}
		if (r->cmd == PVC_CMD_RELEASE && p->c != NULL)
			conn_free(f, p->c);
		hostile_next(f);
		return;
	}
	switch (r->cmd) {
	case PVC_CMD_SOCKET:
		if (r->ret != 0)
			_exit(1);
		break;
	case PVC_CMD_BIND:
		if (r->ret != 0) {
			printf("front: bind failed ret=%d\n", r->ret);
			fflush(stdout);
			_exit(3);
		}
		break;
	case PVC_CMD_LISTEN:
		if (r->ret != 0)
			_exit(1);
		post_accept(f);
		if (f->notify_fd >= 0 &&
		    write(f->notify_fd, "READY=1\n", 8) < 0)
			_exit(1);
		break;
	case PVC_CMD_ACCEPT:
		if (r->ret != 0 || r->u.id != 1) {
			ring_log(RING_LOG_ERR, "msg=\"accept failed\" ret=%d",
				 r->ret);
			_exit(1);
		}
		p->c->active = true;
		post_accept(f);
		echo(f, p->c);
		break;
	case PVC_CMD_RELEASE:
		if (r->ret != 0)
			_exit(1);
		conn_free(f, p->c);
		break;
	default:
		_exit(1);
	}
}

static int run_loop(struct front *fp, struct ring_xenbus *xb, uint16_t port,
		    bool hostile);

static int
run_front(uint16_t port, bool hostile, bool udp)
{
	struct ring_store *st;
	struct ring_xenbus *xb;
	struct ring_xb_front *xfe;
	static struct front f;
	const char *nfd = getenv("NOTIFY_FD");
	int rc;

	ring_log_set_name(hostile ? "pvc-hostile" : "pvc-echo");
	f.port = port;
	f.hostile = hostile;
	f.udp = udp;
	f.notify_fd = nfd ? atoi(nfd) : -1;
	if ((rc = ring_store_open(NULL, &st)) < 0 ||
	    (rc = ring_xenbus_open(st, &xb)) < 0 ||
	    (rc = ring_xb_front_open(xb, PVC_DEVICE_TYPE, 0, &front_ops, &f,
				     &xfe)) < 0) {
		ring_log(RING_LOG_ERR, "msg=\"frontend setup failed\" err=%d", rc);
		return 1;
	}
	rc = run_loop(&f, xb, port, hostile);
	ring_xb_front_close(xfe);
	ring_xenbus_close(xb);
	ring_store_close(st);
	return rc;
}

static int
run_loop(struct front *fp, struct ring_xenbus *xb, uint16_t port, bool hostile)
{
	bool started = false;
	int rc;

	for (;;) {
		struct pollfd fds[128];
		unsigned n, nxb;
		struct pvc_rsp r;

		if (fp->up && !started) {
			struct pvc_req q = { .cmd = PVC_CMD_SOCKET };

			started = true;
			if (hostile) {
				hostile_next(fp);
			} else {
				q.u.socket.id = 1;
				q.u.socket.domain = PVC_AF_INET;
				q.u.socket.type = PVC_SOCK_STREAM;
				send_req(fp, &q, NULL, 0);
				q = (struct pvc_req){ .cmd = PVC_CMD_BIND };
				q.u.bind.id = 1;
				put_addr(q.u.bind.addr, port);
				q.u.bind.len = 16;
				send_req(fp, &q, NULL, 0);
				q = (struct pvc_req){ .cmd = PVC_CMD_LISTEN };
				q.u.listen.id = 1;
				q.u.listen.backlog = 64;
				send_req(fp, &q, NULL, 0);
			}
		}
		if (fp->dropped) {
			printf("hostile: dropped\n");
			fflush(stdout);
			return fp->hostile_bad == 0 ? 0 : 1;
		}
		while (fp->up && (rc = pvc_front_get(&fp->ring, &r)) == 1)
			on_rsp(fp, &r);
		if (fp->up && rc < 0) {
			ring_log(RING_LOG_ERR, "msg=\"tcpipd broke the ring\"");
			return 1;
		}
		if (hostile && fp->up)
			hostile_data(fp);
		for (unsigned i = 0; !hostile && fp->up && i < MAXCONN; i++)
			if (fp->conns[i].used)
				echo(fp, &fp->conns[i]);
		rc = ring_xenbus_pollfds(xb, fds, 64);
		nxb = n = rc > 64 ? 64 : (unsigned)(rc > 0 ? rc : 0);
		if (fp->up) {
			bool more = ring_front_final_check(&fp->ring);

			fds[n++] = (struct pollfd){ .fd = ring_evtchn_fd(fp->ev),
						    .events = POLLIN };
			for (unsigned i = 0; i < MAXCONN; i++)
				if (fp->conns[i].used && fp->conns[i].active)
					fds[n++] = (struct pollfd){
						.fd = ring_evtchn_fd(fp->conns[i].ev),
						.events = POLLIN };
			if (more)
				continue;
		}
		poll(fds, n, 200);
		(void)nxb;
		if (ring_xenbus_dispatch(xb) < 0)
			return 1;
		if (fp->up) {
			ring_evtchn_consume(fp->ev);
			for (unsigned i = 0; i < MAXCONN; i++)
				if (fp->conns[i].used)
					ring_evtchn_consume(fp->conns[i].ev);
		}
	}
}

/* ================= toolstack ================= */

static struct ring_store_server *srv;
static volatile sig_atomic_t got_term, got_usr1, got_usr2;

static void
on_sig(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_usr2 = 1;
}

static void
serve_store(int ms)
{
	struct pollfd p = { .fd = ring_store_server_fd(srv), .events = POLLIN };

	poll(&p, 1, ms);
	ring_store_server_dispatch(srv);
}

static pid_t
spawn(char *const argv[], uint16_t domid, int *notify_rd)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char v[16];
		int fd = dup(pfd[1]);	/* without O_CLOEXEC */

		snprintf(v, sizeof(v), "%d", fd);
		setenv("NOTIFY_FD", v, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (pid > 0) {
		ring_store_server_release(srv, domid);
		ring_store_server_introduce(srv, domid, pid);
	}
	*notify_rd = pfd[0];
	return pid;
}

/* Serve the store until `rd` says READY=1; false on EOF or timeout. */
static bool
wait_ready(int rd, int timeout_ms)
{
	char buf[256];
	size_t have = 0;

	fcntl(rd, F_SETFL, O_NONBLOCK);
	for (int t = 0; t < timeout_ms; t += 5) {
		ssize_t n;

		serve_store(5);
		n = read(rd, buf + have, sizeof(buf) - 1 - have);
		if (n == 0)
			return false;
		if (n > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, "READY=1\n") != NULL)
				return true;
		}
	}
	return false;
}

static int
create_devices(struct ring_store *st, void *arg)
{
	int rc = ring_xenbus_create_device(st, PVC_DEVICE_TYPE, DOM_FRONT,
					   DOM_BACK, 0);

	/* What compose writes for appkit to find the device by name. */
	if (rc == 0)
		rc = ring_store_printf(st, RING_XBT_NULL,
				       "/local/domain/2/device/pvcalls/0/name",
				       "stack");
	if (rc == 0)
		rc = ring_store_printf(st, RING_XBT_NULL,
				       "/local/domain/2/device/pvcalls/0/signature",
				       "STACK");

	if (rc == 0 && arg != NULL)
		rc = ring_xenbus_create_device(st, PVC_DEVICE_TYPE,
					       DOM_HOSTILE, DOM_BACK, 0);
	return rc;
}

static int
as_client(int (*fn)(struct ring_store *, void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct ring_store *st;
		int rc = ring_store_open(NULL, &st);

		if (rc == 0)
			rc = fn(st, arg);
		_exit(rc == 0 ? 0 : 1);
	}
	for (;;) {
		serve_store(10);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
				0 : -EIO;
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tcpipd", required_argument, NULL, 't' },
		{ "rundir", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "allow", required_argument, NULL, 'a' },
		{ "hostile", no_argument, NULL, 'H' },
		{ "hostile-udp", no_argument, NULL, 'U' },
		{ "role", required_argument, NULL, 'R' },
		{ "front", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tcpipd = NULL, *rundir = NULL, *role = NULL, *allow = NULL;
	const char *front = NULL;
	char self[PATH_MAX], sock[PATH_MAX + 16], portv[16], portkey[24];
	unsigned port = 0;
	bool hostile = false, hudp = false;
	int c, status, rd, frd = -1, rc = 1;
	ssize_t sl;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': tcpipd = optarg; break;
		case 'r': rundir = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'a': allow = optarg; break;
		case 'H': hostile = true; break;
		case 'U': hostile = hudp = true; break;
		case 'R': role = optarg; break;
		case 'F': front = optarg; break;
		default: return 2;
		}
	}
	if (port == 0 || port > 65535)
		return 2;
	if (role != NULL)
		return run_front((uint16_t)port,
				 strncmp(role, "hostile", 7) == 0,
				 strcmp(role, "hostile-udp") == 0);
	if (tcpipd == NULL || rundir == NULL)
		return 2;
	ring_log_set_name("pvc-toolstack");
	if ((sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return 1;
	self[sl] = '\0';
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	snprintf(portv, sizeof(portv), "%u", port);
	snprintf(portkey, sizeof(portkey), "--port=%u", port);
	{
		struct ring_store_server_opts o = { .sz = sizeof(o), .path = sock };

		if (ring_store_server_open(&o, &srv) < 0)
			return 1;
	}
	setenv("XENSTORED_PATH", sock, 1);
	setenv("MORGANA_RUNDIR", rundir, 1);
	setenv("MORGANA_SERVICE", "tcpipd", 1);
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	signal(SIGUSR1, on_sig);
	signal(SIGUSR2, on_sig);
	if (as_client(create_devices, hostile ? (void *)1 : NULL) < 0)
		goto out;
	char allowarg[512];
	snprintf(allowarg, sizeof(allowarg), "%s", allow ? allow : "127.0.0.1:1");
	char *bargv[] = { (char *)tcpipd, "--net", "socket", "--allow",
			  allowarg, NULL };
	char *fargv[] = { self, "--role", "echo", "--port", portv, NULL };
	char *aargv[] = { (char *)front, portkey, NULL };
	char *hargv[] = { self, "--role", hudp ? "hostile-udp" : "hostile",
			  "--port", portv, NULL };
	pid_t bpid = spawn(bargv, DOM_BACK, &rd), fpid = -1, hpid = -1;

	if (bpid < 0 || !wait_ready(rd, 10000)) {
		fprintf(stderr, "pvcalls_echo: tcpipd did not get ready\n");
		goto stop;
	}
	got_usr2 = 1;	/* the first echo frontend */
	while (!got_term) {
		pid_t w;

		serve_store(5);
		if (got_usr2 && fpid < 0) {
			got_usr2 = 0;
			if (frd >= 0)
				close(frd);
			fpid = spawn(front ? aargv : fargv, DOM_FRONT, &frd);
			if (fpid > 0 && wait_ready(frd, 10000)) {
				printf("front-ready pid=%d\n", (int)fpid);
			} else {
				printf("front-failed\n");
			}
			fflush(stdout);
		}
		if (got_usr1 && hpid < 0) {
			got_usr1 = 0;
			hpid = spawn(hargv, DOM_HOSTILE, &c);
			close(c);
		}
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			int s = WIFEXITED(status) ? WEXITSTATUS(status) :
				128 + WTERMSIG(status);

			if (w == fpid) {
				printf("front-exit status=%d\n", s);
				fpid = -1;
			} else if (w == hpid) {
				printf("hostile-exit status=%d\n", s);
				hpid = -1;
			} else if (w == bpid) {
				printf("tcpipd-exit status=%d\n", s);
				bpid = -1;
				got_term = 1;
			}
			fflush(stdout);
		}
	}
stop:
	if (fpid > 0)
		kill(fpid, SIGKILL);
	if (hpid > 0)
		kill(hpid, SIGKILL);
	rc = 1;
	if (bpid > 0) {
		kill(bpid, SIGTERM);
		for (int i = 0; i < 1000; i++) {
			serve_store(5);
			if (waitpid(bpid, &status, WNOHANG) == bpid) {
				rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
				bpid = -1;
				break;
			}
		}
		if (bpid > 0) {
			kill(bpid, SIGKILL);
			fprintf(stderr, "pvcalls_echo: tcpipd ignored SIGTERM\n");
		}
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	printf("tcpipd-stopped status=%d\n", rc);
	fflush(stdout);
out:
	ring_store_server_close(srv);
	unlink(sock);
	return rc;
}
