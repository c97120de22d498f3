/*
 * net_akblast: an appkit application (ak_main) that sends `frames` frames
 * of `size` bytes to an unknown unicast MAC (netd floods them to its tap)
 * through ak_net_write as fast as the ring allows, then prints
 * "rate: blast <frames/s> frames/s sent" and exits 0.  For bench/net
 * (appkit_tap_tx_pps), started by tests/lib/net_responder --front.
 */
#include <stdio.h>
#include <string.h>

#include "morgana/ak_loop.h"
#include "morgana/ak_net.h"
#include "morgana/appkit.h"

static int
start(struct ak_app *app)
{
	struct ak_net *n = ak_net(app, "net0");
	uint8_t fr[1514] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct ak_net_stats st;
	int64_t frames, size;
	uint64_t t0, t1;
	int rc;

	if (n == NULL || ak_key_int(app, "frames", &frames) < 0 ||
	    ak_key_int(app, "size", &size) < 0 || size < 14 || size > 1514)
		return 2;
	ak_net_mac(n, fr + 6);
	fr[12] = 0x88;
	fr[13] = 0xb5;
	t0 = ak_now_ns();
	for (int64_t i = 0; i < frames; i++)
		if ((rc = ak_net_write(n, fr, (size_t)size)) < 0) {
			printf("akblast: write failed: %s\n", ak_strerror(rc));
			return 1;
		}
	t1 = ak_now_ns();
	ak_net_stats(n, &st);
	printf("akblast: tx=%llu tx_dropped=%llu\n",
	       (unsigned long long)st.tx_packets,
	       (unsigned long long)st.tx_dropped);
	printf("rate: blast %.0f frames/s sent\n",
	       (double)frames * 1e9 / (double)(t1 - t0));
	fflush(stdout);
	return 0;
}

static const struct ak_device_desc devices[] = {
	{ .name = "net0", .sig = AK_SIG_NET },
};

static const struct ak_key_desc keys[] = {
	{ .name = "frames", .type = AK_KEY_INT, .def = "1000000",
	  .doc = "Frames to send.", .stage = AK_STAGE_BOOT },
	{ .name = "size", .type = AK_KEY_INT, .def = "64",
	  .doc = "Frame size in bytes (14..1514).", .stage = AK_STAGE_BOOT },
};

static const struct ak_app_desc desc = {
	.sz = sizeof(desc), .name = "akblast", .start = start,
	.devices = devices, .n_devices = 1,
	.keys = keys, .n_keys = 2,
};

int
main(int argc, char **argv)
{
	return ak_main(&desc, argc, argv);
}
