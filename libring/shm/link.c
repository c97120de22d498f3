/*
 * The link's records (format in share_internal.h): pure decoders, which
 * the fuzzer drives, and record I/O with SCM_RIGHTS.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/share_internal.h"

int
ring_link__device_ok(const char *s)
{
	size_t n = 0;

	/* The device path goes into logfmt lines and store paths: keep it
	 * to characters that need no quoting. */
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '/' || c == '-'))
			return 0;
		if (n + 1 >= RING_LINK_DEVICE_MAX)
			return 0;
	}
	return n > 0;
}

int
ring_link__decode_hello(const void *buf, size_t len, unsigned nfds,
			struct ring_link_hello_info *out)
{
	struct ring_link_hello h;
	uint64_t total;

	if (len != sizeof(h) || nfds != 2)
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != RING_LINK_MAGIC || h.version != RING_LINK_VERSION ||
	    h.type != RING_LINK_HELLO || h.reserved != 0)
		return -EPROTO;
	total = (uint64_t)h.rw_pages + h.ro_pages;
	if (h.ro_pages == 0 || total > RING_SHARE_MAX_REFS ||
	    h.rw_pages <= ring_gnt_table_pages((uint32_t)total))
		return -EPROTO;
	if (memchr(h.device, '\0', sizeof(h.device)) == NULL ||
	    !ring_link__device_ok(h.device))
		return -EPROTO;
	out->self = h.self;
	out->peer = h.peer;
	out->rw_pages = h.rw_pages;
	out->ro_pages = h.ro_pages;
	memcpy(out->device, h.device, sizeof(out->device));
	return 0;
}

int
ring_link__decode_chan(const void *buf, size_t len, unsigned nfds,
		       uint32_t *port)
{
	struct ring_link_chan c;

	if (len != sizeof(c) || nfds != 2)
		return -EPROTO;
	memcpy(&c, buf, sizeof(c));
	if (c.magic != RING_LINK_MAGIC || c.version != RING_LINK_VERSION ||
	    c.type != RING_LINK_CHAN || c.reserved != 0 || c.port == 0 ||
	    c.port > RING_LINK_MAX_PORTS)
		return -EPROTO;
	*port = c.port;
	return 0;
}

int
ring_link__decode_offer(const void *buf, size_t len, unsigned nfds,
			uint32_t *id, uint64_t *olen)
{
	struct ring_link_offer o;

	if (len != sizeof(o) || nfds != 1)
		return -EPROTO;
	memcpy(&o, buf, sizeof(o));
	if (o.magic != RING_LINK_MAGIC || o.version != RING_LINK_VERSION ||
	    o.type != RING_LINK_OFFER || o.reserved != 0 || o.len == 0 ||
	    o.len > RING_LINK_OFFER_MAX_LEN)
		return -EPROTO;
	*id = o.id;
	*olen = o.len;
	return 0;
}

int
ring_link__offer_fd_ok(int fd, uint64_t len, const char **why)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "offer is not a memfd";
		return -EPROTO;
	}
	if ((uint64_t)st.st_size != len) {
		*why = "offer size does not match its length";
		return -EPROTO;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		*why = "offer is not a memfd";
		return -EPROTO;
	}
	/* Without these the holder of the fd could write through a new
	 * mapping, or truncate it under the reader's mapping (SIGBUS). */
	if (!(seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE)) ||
	    !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW)) {
		*why = "offer is not sealed read-only and fixed-size";
		return -EPROTO;
	}
	return 0;
}

void
ring_link__close_fds(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

long
ring_link__recv(int fd, void *buf, size_t cap, int *fds, unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RING_LINK_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int bad = 0;

	*nfds = 0;
	n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		return errno == ECONNRESET ? -EPIPE : -errno;
	}
	/* Collect every fd that was installed, whatever else is wrong, so
	 * that none leaks; the kernel closed the ones that did not fit. */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (*nfds < RING_LINK_MAX_FDS)
				fds[(*nfds)++] = f;
			else
				close(f);
		}
	}
	/* An empty record reads like EOF; one that carried fds is not. */
	if (bad || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    (n == 0 && *nfds > 0)) {
		ring_link__close_fds(fds, *nfds);
		*nfds = 0;
		return -EPROTO;
	}
	return (long)n;
}

int
ring_link__send(int fd, const void *buf, size_t len, const int *fds,
		unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RING_LINK_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > RING_LINK_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EWOULDBLOCK)
			return -EAGAIN;
		return errno == ECONNRESET ? -EPIPE : -errno;
	}
	/* SEQPACKET sends a record whole or not at all. */
	return (size_t)n == len ? 0 : -EIO;
}
