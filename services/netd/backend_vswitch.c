/*
 * The L2 learning switch: MAC table with aging, flooding of broadcast,
 * multicast and unknown unicast, and lossless flow control between ports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netd.h"

#define SW_BUCKETS 256
#define SW_WAYS 8

struct sw_entry {
	uint8_t mac[6];
	int16_t port;		/* -1: free */
	uint64_t seen_ns;
};

struct sw_port {
	const struct netd_port_ops *ops;
	void *arg;
	bool used;
};

struct netd_sw {
	uint64_t age_ns;
	int nports;		/* ports at and above this are unused */
	struct sw_port ports[NETD_SW_PORTS];
	struct sw_entry tab[SW_BUCKETS][SW_WAYS];
};

int
netd_sw_open(unsigned age_s, struct netd_sw **out)
{
	struct netd_sw *sw = calloc(1, sizeof(*sw));

	if (sw == NULL)
		return -ENOMEM;
	sw->age_ns = (uint64_t)age_s * 1000000000u;
	for (unsigned b = 0; b < SW_BUCKETS; b++)
		for (unsigned w = 0; w < SW_WAYS; w++)
			sw->tab[b][w].port = -1;
	*out = sw;
	return 0;
}

void
netd_sw_close(struct netd_sw *sw)
{
	free(sw);
}

int
netd_sw_add_port(struct netd_sw *sw, const struct netd_port_ops *ops,
		 void *arg)
{
	for (int i = 0; i < NETD_SW_PORTS; i++)
		if (!sw->ports[i].used) {
			sw->ports[i] = (struct sw_port){ ops, arg, true };
			if (i >= sw->nports)
				sw->nports = i + 1;
			return i;
		}
	return -ENOSPC;
}

void
netd_sw_del_port(struct netd_sw *sw, int port)
{
	if (port < 0 || port >= NETD_SW_PORTS)
		return;
	sw->ports[port].used = false;
	/* Per-frame loops (flood, room) stop at the last port in use. */
	while (sw->nports > 0 && !sw->ports[sw->nports - 1].used)
		sw->nports--;
	for (unsigned b = 0; b < SW_BUCKETS; b++)
		for (unsigned w = 0; w < SW_WAYS; w++)
			if (sw->tab[b][w].port == port)
				sw->tab[b][w].port = -1;
}

static unsigned
bucket(const uint8_t *mac)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h % SW_BUCKETS;
}

static bool
live(const struct netd_sw *sw, const struct sw_entry *e, uint64_t now)
{
	return e->port >= 0 && now - e->seen_ns < sw->age_ns;
}

static void
learn(struct netd_sw *sw, const uint8_t *mac, int port, uint64_t now)
{
	struct sw_entry *row = sw->tab[bucket(mac)], *victim = &row[0];

	for (unsigned w = 0; w < SW_WAYS; w++) {
		struct sw_entry *e = &row[w];

		if (e->port >= 0 && memcmp(e->mac, mac, 6) == 0) {
			e->port = (int16_t)port;	/* a move is learnt at once */
			e->seen_ns = now;
			return;
		}
		if (!live(sw, e, now))
			victim = e;
		else if (live(sw, victim, now) && e->seen_ns < victim->seen_ns)
			victim = e;
	}
	memcpy(victim->mac, mac, 6);
	victim->port = (int16_t)port;
	victim->seen_ns = now;
}

static int
lookup(const struct netd_sw *sw, const uint8_t *mac, uint64_t now)
{
	const struct sw_entry *row = sw->tab[bucket(mac)];

	for (unsigned w = 0; w < SW_WAYS; w++)
		if (live(sw, &row[w], now) && memcmp(row[w].mac, mac, 6) == 0)
			return row[w].port;
	return -1;
}

void
netd_sw_input(struct netd_sw *sw, int in_port, const uint8_t *frame,
	      uint32_t len, uint16_t rxflags, uint64_t now_ns)
{
	int out;

	if (len < NET_ETH_HLEN)
		return;
	/* A multicast source is bogus: never learn it. */
	if (!(frame[6] & 1))
		learn(sw, frame + 6, in_port, now_ns);
	if (!(frame[0] & 1) && (out = lookup(sw, frame, now_ns)) >= 0) {
		if (out != in_port && sw->ports[out].used)
			sw->ports[out].ops->output(sw->ports[out].arg, frame,
						   len, rxflags);
		return;
	}
	for (int i = 0; i < sw->nports; i++)
		if (i != in_port && sw->ports[i].used)
			sw->ports[i].ops->output(sw->ports[i].arg, frame, len,
						 rxflags);
}

bool
netd_sw_room(struct netd_sw *sw, int in_port)
{
	for (int i = 0; i < sw->nports; i++)
		if (i != in_port && sw->ports[i].used &&
		    sw->ports[i].ops->room != NULL &&
		    !sw->ports[i].ops->room(sw->ports[i].arg))
			return false;
	return true;
}

unsigned
netd_sw_mac_count(const struct netd_sw *sw, uint64_t now_ns)
{
	unsigned n = 0;

	for (unsigned b = 0; b < SW_BUCKETS; b++)
		for (unsigned w = 0; w < SW_WAYS; w++)
			n += live(sw, &sw->tab[b][w], now_ns);
	return n;
}
