/*
 * The tap backend: frames between the switch and a kernel tap device,
 * read and written in batches through io_uring (readv/writev on the tap
 * fd).  The tap is one switch port (the uplink).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "morgana/log.h"
#include "netd.h"

#define TAP_READS 32		/* reads kept in flight */
#define TAP_WRITES 256		/* writes in flight or queued at most */
#define TAP_RBUF 65536
#define TAP_WBUF 2048		/* pre-allocated per write: small frames */
#define UD_READ (1ull << 32)
#define UD_WRITE (2ull << 32)

struct tap_wr {
	uint8_t *buf;		/* TAP_WBUF bytes, or a larger frame's malloc */
	bool big;
};

struct netd_tap {
	int fd;
	struct io_uring ring;
	uint8_t *rbuf[TAP_READS];
	struct tap_wr wr[TAP_WRITES];
	unsigned wfree[TAP_WRITES], nwfree;
	unsigned queued;	/* SQEs prepared, not yet submitted */
	uint64_t wdrops;
	unsigned sqe_flags;	/* IOSQE_FIXED_FILE once the fd is registered */
	int sqe_fd;		/* 0 (the registered index) or fd */
	uint8_t *wpool;		/* TAP_WRITES * TAP_WBUF */
};

static int
tap_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	close(s);
	return rc;
}

static struct io_uring_sqe *
sqe_get(struct netd_tap *t)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&t->ring);

	if (e == NULL) {
		io_uring_submit(&t->ring);
		t->queued = 0;
		e = io_uring_get_sqe(&t->ring);
	}
	return e;
}

static int
arm_read(struct netd_tap *t, unsigned i)
{
	struct io_uring_sqe *e = sqe_get(t);

	if (e == NULL)
		return -EBUSY;
	io_uring_prep_read(e, t->sqe_fd, t->rbuf[i], TAP_RBUF, 0);
	e->flags |= (uint8_t)t->sqe_flags;
	io_uring_sqe_set_data64(e, UD_READ | i);
	t->queued++;
	return 0;
}

int
netd_tap_open(const char *name, struct netd_tap **out)
{
	struct netd_tap *t;
	struct ifreq ifr;
	int rc;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	if ((t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		rc = -errno;
		free(t);
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	/* Attaches to an existing (persistent) tap, or creates it. */
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		goto fail_fd;
	}
	if ((rc = tap_up(name)) < 0)
		goto fail_fd;
	if ((rc = io_uring_queue_init(2 * (TAP_READS + TAP_WRITES), &t->ring,
				      0)) < 0)
		goto fail_fd;
	/* A registered file saves a file lookup and reference per SQE. */
	t->sqe_fd = t->fd;
	if (io_uring_register_files(&t->ring, &t->fd, 1) == 0) {
		t->sqe_fd = 0;
		t->sqe_flags = IOSQE_FIXED_FILE;
	}
	(void)io_uring_register_ring_fd(&t->ring);
	/* Frames to the tap are copied once, into buffers that live as
	 * long as the tap: no allocation per frame. */
	if ((t->wpool = malloc((size_t)TAP_WRITES * TAP_WBUF)) == NULL) {
		rc = -ENOMEM;
		goto fail_ring;
	}
	for (unsigned i = 0; i < TAP_WRITES; i++) {
		t->wr[i].buf = t->wpool + (size_t)i * TAP_WBUF;
		t->wfree[t->nwfree++] = i;
	}
	for (unsigned i = 0; i < TAP_READS; i++) {
		if ((t->rbuf[i] = malloc(TAP_RBUF)) == NULL) {
			rc = -ENOMEM;
			goto fail_ring;
		}
		arm_read(t, i);
	}
	io_uring_submit(&t->ring);
	t->queued = 0;
	*out = t;
	return 0;
fail_ring:
	for (unsigned i = 0; i < TAP_READS; i++)
		free(t->rbuf[i]);
	free(t->wpool);
	io_uring_queue_exit(&t->ring);
fail_fd:
	close(t->fd);
	free(t);
	return rc < 0 ? rc : -EIO;
}

void
netd_tap_close(struct netd_tap *t)
{
	if (t == NULL)
		return;
	/* Closing the ring cancels the reads still in flight first. */
	io_uring_queue_exit(&t->ring);
	close(t->fd);
	for (unsigned i = 0; i < TAP_READS; i++)
		free(t->rbuf[i]);
	for (unsigned i = 0; i < TAP_WRITES; i++)
		if (t->wr[i].big)
			free(t->wr[i].buf);
	free(t->wpool);
	free(t);
}

int
netd_tap_fd(const struct netd_tap *t)
{
	return t->ring.ring_fd;
}

uint64_t
netd_tap_pending(const struct netd_tap *t)
{
	return TAP_WRITES - t->nwfree;
}

static void
tap_output(void *arg, const uint8_t *frame, uint32_t len, uint16_t rxflags)
{
	struct netd_tap *t = arg;
	struct io_uring_sqe *e;
	struct tap_wr *w;
	unsigned i;

	if (t->nwfree == 0) {
		t->wdrops++;
		return;
	}
	i = t->wfree[t->nwfree - 1];
	w = &t->wr[i];
	if (w->big) {
		free(w->buf);
		w->buf = t->wpool + (size_t)i * TAP_WBUF;
		w->big = false;
	}
	if (len > TAP_WBUF) {
		uint8_t *b = malloc(len);

		if (b == NULL) {
			t->wdrops++;
			return;
		}
		w->buf = b;
		w->big = true;
	}
	memcpy(w->buf, frame, len);
	/* A plain tap has no offload: the kernel needs a real checksum. */
	if (rxflags & NET_RXF_csum_blank)
		(void)net_csum_fill(w->buf, len);
	if ((e = sqe_get(t)) == NULL) {
		t->wdrops++;
		return;
	}
	t->nwfree--;
	io_uring_prep_write(e, t->sqe_fd, w->buf, len, 0);
	e->flags |= (uint8_t)t->sqe_flags;
	io_uring_sqe_set_data64(e, UD_WRITE | i);
	t->queued++;
}

static bool
tap_room(void *arg)
{
	const struct netd_tap *t = arg;

	return t->nwfree > 0;
}

const struct netd_port_ops netd_tap_port_ops = {
	.output = tap_output,
	.room = tap_room,
};

int
netd_tap_flush(struct netd_tap *t)
{
	int rc = 0;

	if (t->queued > 0) {
		rc = io_uring_submit(&t->ring);
		t->queued = 0;
	}
	return rc < 0 ? rc : 0;
}

int
netd_tap_run(struct netd_tap *t, struct netd_sw *sw, int port,
	     uint64_t now_ns)
{
	struct io_uring_cqe *cqe;
	int frames = 0;

	while (io_uring_peek_cqe(&t->ring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		unsigned i = (unsigned)(ud & 0xffffffffu);
		int res = cqe->res;

		io_uring_cqe_seen(&t->ring, cqe);
		if ((ud & ~0xffffffffull) == UD_READ && i < TAP_READS) {
			if (res >= (int)NET_ETH_HLEN) {
				netd_sw_input(sw, port, t->rbuf[i],
					      (uint32_t)res, 0, now_ns);
				frames++;
			} else if (res < 0 && res != -EAGAIN &&
				   res != -EINTR) {
				ring_log(RING_LOG_WARN,
					 "msg=\"tap read failed\" err=%d", res);
				return res;
			}
			arm_read(t, i);
		} else if ((ud & ~0xffffffffull) == UD_WRITE && i < TAP_WRITES) {
			t->wfree[t->nwfree++] = i;
		}
	}
	netd_tap_flush(t);
	return frames;
}

bool
netd_tap_ready(struct netd_tap *t)
{
	return io_uring_cq_ready(&t->ring) > 0;
}
