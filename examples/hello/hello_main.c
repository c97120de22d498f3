/*
 * A hand-written stand-in for the main.c that `compose configure`
 * generates from compose.yaml (same description, same call), so that
 * hello builds and is tested before compose can build it.
 */
#include "morgana/appkit.h"

int hello_start(struct ak_app *app);

static const struct ak_device_desc devices[] = {
	{ .name = "time", .sig = AK_SIG_TIME },
};

static const struct ak_key_desc keys[] = {
	{ .name = "n", .type = AK_KEY_INT, .def = NULL,
	  .doc = "How many greetings to print (unset: forever).",
	  .env = "HELLO_N", .stage = AK_STAGE_BOOT },
	{ .name = "greeting", .type = AK_KEY_STRING, .def = "world",
	  .doc = "Who to greet.", .env = "HELLO_GREETING",
	  .stage = AK_STAGE_BOOT },
	{ .name = "interval_ms", .type = AK_KEY_INT, .def = "1000",
	  .doc = "Milliseconds between greetings.",
	  .env = "HELLO_INTERVAL_MS", .stage = AK_STAGE_BOOT },
};

static const struct ak_app_desc desc = {
	.sz = sizeof(desc), .name = "hello", .start = hello_start,
	.devices = devices, .n_devices = sizeof(devices) / sizeof(devices[0]),
	.keys = keys, .n_keys = sizeof(keys) / sizeof(keys[0]),
};

int
main(int argc, char **argv)
{
	return ak_main(&desc, argc, argv);
}
