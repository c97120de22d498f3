/*
 * net_akping: examples/ping as a plain program (its main written by hand,
 * as compose configure would generate it, named "akping"), so that
 * tests/lib/net_responder --front can start it without compose
 * (tests/integration/netd_ak_ping.sh).
 */
#include "examples/ping/ping.c"

static const struct ak_device_desc devices[] = {
	{ .name = "net0", .sig = AK_SIG_NET },
};

static const struct ak_key_desc keys[] = {
	{ .name = "ip", .type = AK_KEY_IPV4, .def = "10.77.0.2",
	  .doc = "The address to answer ARP and ICMP echo for.",
	  .stage = AK_STAGE_BOOT },
};

static const struct ak_app_desc desc = {
	.sz = sizeof(desc), .name = "akping", .start = ping_start,
	.devices = devices, .n_devices = 1,
	.keys = keys, .n_keys = 1,
};

int
main(int argc, char **argv)
{
	return ak_main(&desc, argc, argv);
}
