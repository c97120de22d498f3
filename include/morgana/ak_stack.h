/*
 * morgana/ak_stack.h - the STACK signature: TCP/UDP sockets over tcpipd,
 * with the operations of Xen PV Calls (xen/io/pvcalls.h: socket, connect,
 * bind, listen, accept, poll, release) and their data rings for send and
 * recv; UDP (sendto/recvfrom) is our documented extension command.
 *
 * appkit's frontend is appkit/stack_ring.c (docs/pvcalls.md).
 *
 * Addresses are IPv4 in host byte order with a port.  Calls that wait
 * (connect, accept, recv, send on a full ring) block the calling task,
 * never the loop; outside a task they run the loop; from a callback
 * they return -EDEADLK.  Errors: the errno PV Calls carries (-ECONNREFUSED,
 * -ECONNRESET, -EADDRINUSE, -ETIMEDOUT, ...), -ENOTCONN while tcpipd is
 * reconnecting (sockets do not survive a tcpipd restart: they fail with
 * -ECONNRESET), -EINVAL, -ENOMEM, -EPROTO if tcpipd broke the protocol.
 */
#ifndef MORGANA_AK_STACK_H
#define MORGANA_AK_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "morgana/ak_error.h"

struct ak_stack;
struct ak_sock;

enum ak_sock_type { AK_SOCK_TCP = 1, AK_SOCK_UDP = 2 };

struct ak_sockaddr {
	uint32_t addr;	/* IPv4, host byte order; 0: any */
	uint16_t port;
};

/* PVCALLS_SOCKET: a new socket, owned by the caller (ak_sock_close).
 * AK_SOCK_UDP needs tcpipd's feature-x-dgram (else -EOPNOTSUPP); a UDP
 * socket gets its data ring at once and can send before any bind (the
 * host picks a port). */
int ak_stack_socket(struct ak_stack *s, enum ak_sock_type type,
		    struct ak_sock **out);
/* PVCALLS_CONNECT; blocks until connected or refused.  UDP: sets the
 * default destination for ak_sock_send (and the host then receives only
 * from that peer); answered at once. */
int ak_sock_connect(struct ak_sock *k, const struct ak_sockaddr *to);
/* PVCALLS_BIND (TCP and UDP): tcpipd's --allow list decides, else
 * -EACCES. */
int ak_sock_bind(struct ak_sock *k, const struct ak_sockaddr *at);
/* PVCALLS_LISTEN. */
int ak_sock_listen(struct ak_sock *k, int backlog);
/* PVCALLS_ACCEPT; blocks until a connection comes; *out is the caller's,
 * *from (may be NULL) its peer. */
int ak_sock_accept(struct ak_sock *k, struct ak_sock **out,
		   struct ak_sockaddr *from);
/* Data ring reads and writes: return the count (recv: 0 at EOF) or
 * -errno.  recv blocks until at least one byte; send until all of len is
 * queued. */
ssize_t ak_sock_recv(struct ak_sock *k, void *buf, size_t len);
ssize_t ak_sock_send(struct ak_sock *k, const void *buf, size_t len);
/*
 * UDP (feature-x-dgram).  On a UDP socket ak_sock_send/ak_sock_recv are
 * sendto/recvfrom with the CONNECTed peer (send without a connect:
 * -EDESTADDRREQ).  On a TCP socket these two return -EOPNOTSUPP.
 *
 * sendto queues one datagram of len bytes (0..65507) for to (port != 0)
 * and returns len; it blocks only while the socket's ring has no room
 * for it.  -EMSGSIZE above 65507, -EINVAL for port 0.  Delivery is not
 * promised: a datagram the host refuses (no route, ICMP unreachable) is
 * dropped by tcpipd and counted, not reported.
 *
 * recvfrom blocks until a datagram is there, copies its first
 * min(len, size) bytes into buf (the caller's; the rest is dropped, as
 * recv(2) does) and returns that count; *from (may be NULL) gets the
 * sender.  A datagram larger than the ring (64 KiB) cannot happen on
 * IPv4.  -EPROTO if tcpipd wrote an impossible record.
 */
ssize_t ak_sock_sendto(struct ak_sock *k, const void *buf, size_t len,
		       const struct ak_sockaddr *to);
ssize_t ak_sock_recvfrom(struct ak_sock *k, void *buf, size_t len,
			 struct ak_sockaddr *from);
/* PVCALLS_POLL: block until POLLIN/POLLOUT (of events) is ready or
 * timeout_ns passes; returns the ready bits or -ETIMEDOUT. */
int ak_sock_poll(struct ak_sock *k, unsigned events, uint64_t timeout_ns);
/* PVCALLS_RELEASE.  NULL is ok. */
void ak_sock_close(struct ak_sock *k);

/* ---- for implementations (frontends), not applications ----------------- */

struct ak_stack_ops {
	int (*socket)(void *dev, enum ak_sock_type type, void **sock);	/* required */
	int (*connect)(void *dev, void *sock, const struct ak_sockaddr *to);	/* required */
	int (*bind)(void *dev, void *sock, const struct ak_sockaddr *at);	/* required */
	int (*listen)(void *dev, void *sock, int backlog);		/* required */
	int (*accept)(void *dev, void *sock, void **out,
		      struct ak_sockaddr *from);			/* required */
	ssize_t (*recv)(void *dev, void *sock, void *buf, size_t len);	/* required */
	ssize_t (*send)(void *dev, void *sock, const void *buf, size_t len); /* required */
	ssize_t (*sendto)(void *dev, void *sock, const void *buf, size_t len,
			  const struct ak_sockaddr *to);		/* optional: UDP */
	ssize_t (*recvfrom)(void *dev, void *sock, void *buf, size_t len,
			    struct ak_sockaddr *from);			/* optional: UDP */
	int (*poll)(void *dev, void *sock, unsigned events,
		    uint64_t timeout_ns);				/* required */
	void (*release)(void *dev, void *sock);				/* required */
	void (*close)(void *dev);					/* optional */
};

int ak_stack_new(const struct ak_stack_ops *ops, void *dev,
		 struct ak_stack **out);
void ak_stack_free(struct ak_stack *s);

#endif /* MORGANA_AK_STACK_H */
