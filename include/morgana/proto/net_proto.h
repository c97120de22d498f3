/*
 * morgana/proto/net_proto.h - the NET device's wire format: Xen's netif
 * (xen/io/netif.h), byte for byte.  Device type "vif".
 *
 * Our own declarations so that daemons need not pull in Xen's headers;
 * tests/unit/test_netd_xen_diff.c checks size and every offset against
 * Xen's own types, and drives netd with a netfront built from Xen's macros.
 *
 * Rings (one page each): tx (frontend -> backend frames) over
 * net_tx_request / net_tx_response, rx (backend -> frontend) over
 * net_rx_request (an empty page posted by the frontend) / net_rx_response.
 *
 * TX packet: slot 1 {flags, size = WHOLE frame length}; if NET_TXF_extra_info,
 * extra-info slots follow (net_extra overlaying a tx request slot) while
 * NET_EXTRA_FLAG_MORE; then slots 2..n {size = this fragment} while
 * the previous slot had NET_TXF_more_data.  The first slot's own data is
 * size - sum(later sizes).  The backend answers every slot, in order:
 * data slots {id, status}, extra slots status NET_RSP_NULL.
 * RX: each response sits in the slot of its request; status > 0 is the
 * fragment's length, NET_RXF_more_data chains fragments.
 *
 * Store keys (frontend dir): tx-ring-ref, rx-ring-ref, event-channel,
 * request-rx-copy=1, feature-sg, feature-rx-notify; (both dirs, toolstack)
 * mac, (frontend) mtu.  Backend dir: feature-rx-copy=1, feature-sg=1.
 */
#ifndef MORGANA_PROTO_NET_PROTO_H
#define MORGANA_PROTO_NET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

#define NET_PAGE_SIZE 4096u
#define NET_ETH_HLEN 14u
#define NET_MAX_TX_SIZE 0xFFFFu		/* XEN_NETIF_MAX_TX_SIZE */
#define NET_NR_SLOTS_MIN 18u		/* XEN_NETIF_NR_SLOTS_MIN */
#define NET_FATAL_SLOTS 20u		/* netback's fatal_skb_slots default */

/* TX flags (frontend -> backend). */
#define NET_TXF_csum_blank (1u << 0)	/* L4 checksum not filled in */
#define NET_TXF_data_validated (1u << 1) /* L4 checksum known good */
#define NET_TXF_more_data (1u << 2)	/* frame continues in the next slot */
#define NET_TXF_extra_info (1u << 3)	/* extra-info slot(s) follow */

/* RX flags (backend -> frontend): csum bits are swapped w.r.t. TX. */
#define NET_RXF_data_validated (1u << 0)
#define NET_RXF_csum_blank (1u << 1)
#define NET_RXF_more_data (1u << 2)
#define NET_RXF_extra_info (1u << 3)
#define NET_RXF_gso_prefix (1u << 4)

#define NET_RSP_DROPPED (-2)
#define NET_RSP_ERROR (-1)
#define NET_RSP_OKAY 0
#define NET_RSP_NULL 1

#define NET_EXTRA_TYPE_NONE 0
#define NET_EXTRA_TYPE_GSO 1
#define NET_EXTRA_TYPE_MCAST_ADD 2
#define NET_EXTRA_TYPE_MCAST_DEL 3
#define NET_EXTRA_TYPE_HASH 4
#define NET_EXTRA_TYPE_MAX 5
#define NET_EXTRA_FLAG_MORE (1u << 0)
#define NET_GSO_TYPE_NONE 0
#define NET_GSO_TYPE_TCPV4 1
#define NET_GSO_TYPE_TCPV6 2

struct net_tx_request {
	uint32_t gref;
	uint16_t offset;
	uint16_t flags;
	uint16_t id;
	uint16_t size;
};

struct net_tx_response {
	uint16_t id;
	int16_t status;
};

struct net_rx_request {
	uint16_t id;
	uint16_t pad;
	uint32_t gref;
};

struct net_rx_response {
	uint16_t id;
	uint16_t offset;
	uint16_t flags;
	int16_t status;
};

/* Extra info: overlays one tx request slot (12 B) or rx response (8 B). */
struct net_extra {
	uint8_t type;
	uint8_t flags;
	union {
		struct {
			uint16_t size;	/* MSS */
			uint8_t type;	/* NET_GSO_TYPE_* */
			uint8_t pad;
			uint16_t features;
		} gso;
		struct {
			uint8_t addr[6];
		} mcast;
		struct {
			uint8_t type;
			uint8_t algorithm;
			uint8_t value[4];
		} hash;
		uint16_t pad[3];
	} u;
};

_Static_assert(sizeof(struct net_tx_request) == 12, "netif_tx_request");
_Static_assert(offsetof(struct net_tx_request, size) == 10, "tx size @10");
_Static_assert(sizeof(struct net_tx_response) == 4, "netif_tx_response");
_Static_assert(sizeof(struct net_rx_request) == 8, "netif_rx_request");
_Static_assert(offsetof(struct net_rx_request, gref) == 4, "rx gref @4");
_Static_assert(sizeof(struct net_rx_response) == 8, "netif_rx_response");
_Static_assert(offsetof(struct net_rx_response, status) == 6, "rx status @6");
_Static_assert(sizeof(struct net_extra) == 8, "netif_extra_info");
_Static_assert(offsetof(struct net_extra, u.gso.features) == 6, "gso feat @6");

RING_DEFINE(net_tx, struct net_tx_request, struct net_tx_response);
RING_DEFINE(net_rx, struct net_rx_request, struct net_rx_response);

#endif /* MORGANA_PROTO_NET_PROTO_H */
