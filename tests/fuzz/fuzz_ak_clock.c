/*
 * libFuzzer: appkit's clock frontend against a hostile clockd.
 *
 * The input is a script.  The frontend arms and cancels timers while a
 * "clockd" writes arbitrary bytes into the response slots and producer
 * indices of the command ring and the fire ring, and the frontend polls.
 * Whatever clockd writes, the frontend must not crash or read out of
 * bounds, must fire each timer at most once, and must keep its counts
 * consistent.  Also: the inline time-page reader on arbitrary pages.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appkit/clock_front.h"
#include "morgana/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXID 256

static struct ak_loop *loop;
static unsigned fires[MAXID];

static void
on_fire(void *arg, uint64_t id, int err)
{
	(void)arg;
	(void)err;
	if (id < MAXID && ++fires[id] > 1)
		abort();	/* a timer fired twice */
}

struct input {
	const uint8_t *p;
	size_t n;
};

static bool
take(struct input *in, void *out, size_t len)
{
	if (in->n < len)
		return false;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return true;
}

static void
fuzz_page(const uint8_t *data, size_t size)
{
	static _Alignas(4096) unsigned char page[4096];
	uint64_t mono;
	uint64_t wall;

	memset(page, 0, sizeof(page));
	memcpy(page, data, size < sizeof(page) ? size : sizeof(page));
	(void)clock_page_mono_ns(page, &mono);
	(void)clock_page_wall_ns(page, &wall);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static _Alignas(4096) unsigned char tpage[4096], fpage[4096];
	struct input in = { data + 1, size ? size - 1 : 0 };
	struct ak_clock_proto p;
	uint64_t ids[MAXID];
	unsigned nids = 0;
	uint8_t op;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fuzz_page(data + 1, size - 1);
		return 0;
	}
	if (loop == NULL && ak_loop_open(&loop) < 0)
		abort();
	memset(fires, 0, sizeof(fires));
	memset(tpage, 0, sizeof(tpage));
	memset(fpage, 0, sizeof(fpage));
	if (ak_clock_proto_init(&p, loop) < 0)
		return 0;
	if (ak_clock_proto_attach(&p, tpage, fpage, sizeof(tpage)) < 0)
		goto out;
	ak_clock_proto_connected(&p);
	for (int steps = 0; steps < 256 && take(&in, &op, 1); steps++) {
		uint16_t off;
		uint8_t len, bytes[32];
		uint32_t idx;
		uint64_t id;

		switch (op % 6) {
		case 0:		/* arm, in the past or soon */
			if (nids < MAXID &&
			    ak_clock_proto_arm(&p, ak_now_ns() + (op >> 3) * 1000u,
					       on_fire, NULL, &id) == 0 &&
			    id < MAXID)
				ids[nids++] = id;
			break;
		case 1:		/* cancel one we armed, or anything */
			if (take(&in, &len, 1))
				(void)ak_clock_proto_cancel(&p, nids && (len & 1) ?
					ids[len % nids] : len);
			break;
		case 2:		/* clockd scribbles over a slot region */
		case 3:
			if (!take(&in, &off, 2) || !take(&in, &len, 1))
				break;
			len %= sizeof(bytes);
			if (!take(&in, bytes, len))
				break;
			off %= 4096 - 64 - sizeof(bytes);
			memcpy((op % 6 == 2 ? tpage : fpage) + 64 + off, bytes,
			       len);
			break;
		case 4:		/* clockd moves a response producer index */
			if (!take(&in, &idx, 4))
				break;
			atomic_store_explicit(op & 8 ?
				&((struct ring_sring *)fpage)->rsp_prod :
				&((struct ring_sring *)tpage)->rsp_prod,
				idx, memory_order_release);
			break;
		case 5:		/* the frontend runs */
			(void)ak_clock_proto_poll(&p);
			(void)ak_loop_run_once(loop, 0);
			break;
		}
	}
	(void)ak_clock_proto_poll(&p);
	ak_clock_proto_detach(&p);
out:
	ak_clock_proto_fini(&p);
	/* Nothing the frontend scheduled may outlive it. */
	(void)ak_loop_run_once(loop, 0);
	return 0;
}
