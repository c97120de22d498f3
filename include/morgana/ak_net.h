/*
 * morgana/ak_net.h - the NET signature: Ethernet frames over a netif
 * (Xen netfront) connection to netd.  MirageOS Mirage_net: write, writev,
 * listen, mac, mtu, disconnect.
 *
 * ak_net(app, name) gives the device named `name` of signature NET: the
 * netif frontend of appkit/net_ring.c (docs/netd.md), connected to netd.
 *
 * Errors: -EMSGSIZE (frame over mtu + header), -ENOTCONN (netd is
 * reconnecting, or broke the protocol and is being reconnected; the frame
 * was not sent), -ESHUTDOWN after disconnect, -EINVAL, -ENOMEM.
 */
#ifndef MORGANA_AK_NET_H
#define MORGANA_AK_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "morgana/ak_error.h"

struct ak_net;

/*
 * Send one frame (destination MAC first, 14 bytes at least, at most
 * mtu + 14).  The frame is copied into a pre-granted page before this
 * returns; the caller keeps buf.  Blocks the calling task while the tx
 * ring is full; from a callback (which must not block) a full ring gives
 * -EDEADLK and the frame is not sent.  Returns 0, -EINVAL, -EMSGSIZE,
 * -ENOTCONN, -ESHUTDOWN, -EDEADLK.
 */
int ak_net_write(struct ak_net *n, const void *buf, size_t len);
/* The same for one frame in iovcnt pieces. */
int ak_net_writev(struct ak_net *n, const struct iovec *iov, int iovcnt);

/* A received frame: valid only during the call (copy what you keep).
 * Runs from the loop; must not block. */
typedef void ak_net_rx_fn(void *arg, const void *frame, size_t len);
/* Deliver every received frame to cb until disconnect (replaces any
 * earlier listener).  Returns 0 or -errno. */
int ak_net_listen(struct ak_net *n, ak_net_rx_fn *cb, void *arg);
/* The interface's MAC address. */
int ak_net_mac(struct ak_net *n, uint8_t mac[6]);
/* The MTU (payload bytes, without the Ethernet header). */
int ak_net_mtu(struct ak_net *n, unsigned *mtu);
/* Stop listening and close the connection; later calls get -ESHUTDOWN. */
int ak_net_disconnect(struct ak_net *n);

/* Counters since the device was opened (they survive reconnections). */
struct ak_net_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;	/* bad fragments, runts, no listener */
	uint64_t tx_packets, tx_bytes;	/* frames put on the ring */
	uint64_t tx_dropped;	/* frames netd answered with an error */
	uint64_t reconnects;	/* connections lost (netd restarted...) */
};
/* Copy the counters into *out.  Returns 0, -EINVAL, -ENOTSUP if the
 * implementation keeps none.  Never blocks. */
int ak_net_stats(struct ak_net *n, struct ak_net_stats *out);

/* ---- for implementations (frontends), not applications ----------------- */

struct ak_net_ops {
	int (*writev)(void *dev, const struct iovec *iov, int iovcnt);	/* required */
	int (*listen)(void *dev, ak_net_rx_fn *cb, void *arg);		/* required */
	int (*mac)(void *dev, uint8_t mac[6]);				/* required */
	int (*mtu)(void *dev, unsigned *mtu);				/* required */
	int (*disconnect)(void *dev);					/* required */
	void (*close)(void *dev);					/* optional */
	int (*stats)(void *dev, struct ak_net_stats *out);		/* optional */
};

int ak_net_new(const struct ak_net_ops *ops, void *dev, struct ak_net **out);
void ak_net_free(struct ak_net *n);

#endif /* MORGANA_AK_NET_H */
