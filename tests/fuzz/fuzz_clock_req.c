/*
 * libFuzzer target: clockd's request handling on arbitrary request bytes.
 * The input is a sequence of 25-byte records: one control byte, then a
 * 24-byte struct clock_timer_req exactly as it would sit in a ring slot.
 * The control byte interleaves expiry and delivery.  Checks the set's
 * invariants: the limit, answers echo ids, events come out in firing order
 * and never for a cancelled timer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/clockd/clockd.h"

#define MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clock_timers_opts o = { .sz = sizeof(o), .max_timers = MAX };
	struct clock_timers *t;
	uint64_t now = 0, last_fired = 0;

	if (clock_timers_open(&o, &t) < 0)
		abort();
	while (size >= 25) {
		uint8_t ctl = data[0];
		struct clock_timer_req q;
		struct clock_timer_rsp r;
		struct clock_fire_rsp ev;

		memcpy(&q, data + 1, sizeof(q));	/* the one copy */
		data += 25;
		size -= 25;
		/* Small deadlines so that expiry actually happens. */
		if (ctl & 1)
			q.deadline_ns &= 0xffff;
		if (clock_timers_request(t, &q, &r) < 0)
			abort();
		if (r.id != q.id || r.pad != 0 || r.status < CLOCK_ST_ARMED ||
		    r.status > CLOCK_ST_ERR_LIMIT)
			abort();
		if (r.status == CLOCK_ST_CANCELLED &&
		    clock_timers_peek_fired(t, &ev) == 1 && ev.id == q.id)
			abort();
		if (ctl & 2) {
			now += (uint64_t)(ctl >> 2) * 256;
			clock_timers_expire(t, now);
			if (clock_timers_next(t) <= now)
				abort();
		}
		if (ctl & 0x80) {
			while (clock_timers_peek_fired(t, &ev) == 1) {
				if (ev.fired_ns < last_fired ||
				    ev.status != CLOCK_ST_FIRED)
					abort();
				last_fired = ev.fired_ns;
				clock_timers_drop_fired(t);
			}
		}
		if (clock_timers_armed(t) + clock_timers_fired_queued(t) > MAX)
			abort();
	}
	clock_timers_close(t);
	return 0;
}
