/*
 * The pure half of tcpipd: decoding and validation of PV Calls commands,
 * the bind allow list, iovecs over the data rings, and the datagram
 * record decoder.  No I/O: this file is what fuzz_pvcalls_cmd and
 * fuzz_pvcalls_dgram drive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "services/tcpipd/tcpipd.h"

static int
parse_u(const char *s, size_t n, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

int
tcp_allow_parse(const char *s, struct tcp_allow *out, unsigned max)
{
	unsigned n = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (;;) {
		const char *end = strchr(s, ','), *colon;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char host[16];
		struct in_addr a;
		unsigned long port = 0;

		colon = memchr(s, ':', len);
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host) ||
		    colon == s)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		if (inet_pton(AF_INET, host, &a) != 1)
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		out[n] = (struct tcp_allow){ .addr = ntohl(a.s_addr) };
		len -= (size_t)(colon + 1 - s);
		if (len == 1 && colon[1] == '*')
			out[n].any_port = true;
		else if (parse_u(colon + 1, len, 65535, &port) < 0)
			return -EINVAL;
		out[n].port = (uint16_t)port;
		n++;
		if (end == NULL)
			break;
		s = end + 1;
	}
	return (int)n;
}

bool
tcp_allow_check(const struct tcp_allow *list, unsigned n, uint32_t addr,
		uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i].addr == addr &&
		    (list[i].any_port || list[i].port == port))
			return true;
	return false;
}

/* A sockaddr_in in guest layout: family is a native u16, port and address
 * are network order.  Only the copy's first 16 bytes are looked at. */
static int
decode_addr(const uint8_t addr[PVC_ADDR_LEN], uint32_t len,
	    struct sockaddr_in *sa)
{
	uint16_t fam;

	if (len < sizeof(struct sockaddr_in) || len > PVC_ADDR_LEN)
		return -EINVAL;
	memcpy(&fam, addr, 2);
	if (fam != PVC_AF_INET)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	memcpy(&sa->sin_port, addr + 2, 2);
	memcpy(&sa->sin_addr.s_addr, addr + 4, 4);
	return 0;
}

int
tcp_cmd_decode(const struct pvc_req *q, struct tcp_cmd *out)
{
	memset(out, 0, sizeof(*out));
	out->req_id = q->req_id;
	out->cmd = q->cmd;
	/* Every command's id is the union's first member. */
	out->id = q->u.socket.id;
	switch (q->cmd) {
	case PVC_CMD_SOCKET:
		out->type = q->u.socket.type;
		if (q->u.socket.domain != PVC_AF_INET)
			return -EAFNOSUPPORT;
		if (q->u.socket.type == PVC_SOCK_STREAM &&
		    (q->u.socket.protocol == 0 ||
		     q->u.socket.protocol == IPPROTO_TCP))
			return 0;
		/* feature-x-dgram: Linux's pvcalls-back refuses this. */
		if (q->u.socket.type == PVC_SOCK_DGRAM &&
		    (q->u.socket.protocol == 0 ||
		     q->u.socket.protocol == IPPROTO_UDP))
			return 0;
		return -EAFNOSUPPORT;
	case PVC_CMD_CONNECT:
		out->ref = q->u.connect.ref;
		out->evtchn = q->u.connect.evtchn;
		return decode_addr(q->u.connect.addr, q->u.connect.len,
				   &out->sa);
	case PVC_CMD_RELEASE:
		return 0;
	case PVC_CMD_BIND:
		return decode_addr(q->u.bind.addr, q->u.bind.len, &out->sa);
	case PVC_CMD_LISTEN:
		/* Guests send any u32; the kernel would clamp too, but an
		 * int conversion of a huge value would go negative. */
		out->backlog = q->u.listen.backlog > SOMAXCONN ?
			SOMAXCONN : (int)q->u.listen.backlog;
		return 0;
	case PVC_CMD_ACCEPT:
		out->id_new = q->u.accept.id_new;
		out->ref = q->u.accept.ref;
		out->evtchn = q->u.accept.evtchn;
		return 0;
	case PVC_CMD_POLL:
		return 0;
	case PVC_CMD_X_SHUTDOWN:
		out->how = q->u.x_shutdown.how;
		return out->how == SHUT_WR ? 0 : -EINVAL;
	case PVC_CMD_X_RING:
		out->ref = q->u.x_ring.ref;
		out->evtchn = q->u.x_ring.evtchn;
		return 0;
	default:
		return -PVC_ENOTSUPP;
	}
}

int
tcp_ring_iov(uint8_t *const *pages, uint32_t npages, uint32_t base,
	     uint32_t size, uint32_t idx, uint32_t len, struct iovec *iov,
	     unsigned max)
{
	uint64_t total = (uint64_t)npages * RING_PAGE_SIZE;
	uint32_t pos = idx & (size - 1);
	unsigned n = 0;

	if (size == 0 || (size & (size - 1)) != 0 || len > size ||
	    (uint64_t)base + size > total)
		return -EINVAL;
	while (len > 0 && n < max) {
		/* Stop at the wrap of the half and at the page's end. */
		uint32_t off = base + pos;
		uint32_t chunk = size - pos;
		uint32_t in_page = RING_PAGE_SIZE - (off % RING_PAGE_SIZE);

		if (chunk > in_page)
			chunk = in_page;
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = pages[off / RING_PAGE_SIZE] +
				  off % RING_PAGE_SIZE;
		iov[n].iov_len = chunk;
		n++;
		len -= chunk;
		pos = (pos + chunk) & (size - 1);
	}
	return (int)n;
}

int
tcp_dgram_decode(uint8_t *const *pages, uint32_t npages, uint32_t base,
		 uint32_t size, uint32_t cons, uint32_t queued,
		 struct tcp_dgram *d, unsigned max, struct iovec *iov,
		 unsigned max_iov)
{
	unsigned n = 0, used = 0;

	if (queued > size || max_iov < TCP_DGRAM_IOV_MAX)
		return -EINVAL;
	while (queued > 0 && n < max) {
		struct pvc_dgram_hdr h;
		struct iovec hv[2];
		uint8_t *hp = (uint8_t *)&h;
		uint64_t have = 0;
		uint32_t rec;
		int k;

		if (queued < sizeof(h))
			return -EPROTO;
		/* The header, copied out once (robust to any alignment, even
		 * though a well-behaved producer keeps it in one piece). */
		k = tcp_ring_iov(pages, npages, base, size, cons, sizeof(h), hv,
				 2);
		if (k < 0)
			return -EINVAL;
		for (int i = 0; i < k; i++) {
			memcpy(hp, hv[i].iov_base, hv[i].iov_len);
			hp += hv[i].iov_len;
			have += hv[i].iov_len;
		}
		if (have != sizeof(h))
			return -EPROTO;
		if ((rec = pvc_dgram_check(&h, queued, false)) == 0)
			return -EPROTO;
		k = tcp_ring_iov(pages, npages, base, size,
				 cons + (uint32_t)sizeof(h), h.len, iov + used,
				 max_iov - used);
		if (k < 0)
			return -EINVAL;
		have = 0;
		for (int i = 0; i < k; i++)
			have += iov[used + (unsigned)i].iov_len;
		if (have != h.len)
			break;	/* out of iovecs: the rest next time */
		d[n] = (struct tcp_dgram){ .rec = rec, .len = h.len,
					   .iov_first = used,
					   .niov = (unsigned)k };
		d[n].to.sin_family = AF_INET;
		d[n].to.sin_port = h.port;
		d[n].to.sin_addr.s_addr = h.addr;
		used += (unsigned)k;
		cons += rec;
		queued -= rec;
		n++;
	}
	return (int)n;
}
