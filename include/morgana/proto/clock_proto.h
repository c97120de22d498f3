/*
 * morgana/proto/clock_proto.h - the PCLOCK/MCLOCK time page and the TIME
 * timer rings served by clockd.  See docs/clock.md.
 *
 * 1. The time page (clockd writes, everyone else maps it read-only).
 *
 *   One 4096-byte page, a sealed memfd in dev mode.  It starts with the
 *   exact layout of Xen's struct vcpu_time_info (xen/xen.h), followed by
 *   our own fields.  One seqlock, ti.version, covers the whole page: odd
 *   while clockd is writing, bumped to the next even value when done.
 *
 *   MCLOCK (monotonic, ns, on the host's CLOCK_MONOTONIC axis):
 *     if (flags & CLOCK_FLAG_TSC_STABLE) on x86-64:
 *       d    = rdtsc - tsc_timestamp            (0 if negative)
 *       d    = tsc_shift >= 0 ? d << tsc_shift : d >> -tsc_shift
 *       mono = system_time + ((d * tsc_to_system_mul) >> 32)   (128-bit)
 *     else:
 *       mono = clock_gettime(CLOCK_MONOTONIC)
 *   PCLOCK (POSIX wall clock, ns since the epoch):
 *       wall = wc_sec * 10^9 + wc_nsec + mono
 *
 *   The formula is Xen's pvclock formula, so a Xen-aware reader of the
 *   first 32 bytes computes the same MCLOCK.  Readers should use
 *   clock_page_mono_ns()/clock_page_wall_ns() from morgana/clock.h.
 *
 * 2. TIME: two rings per connection, both granted by the front end (the
 *    application) and attached by clockd, as in Xen.
 *
 *   clock_timer ("command ring"): the front end sends ARM and CANCEL;
 *   clockd consumes each request at once and answers it at once (ARMED,
 *   CANCELLED, NOT_FOUND or an ERR_*).  Because every request is answered
 *   immediately, the ring never fills up with timers that are waiting for
 *   their deadline, and CANCEL can always be sent.
 *
 *   clock_fire ("event ring"), in the style of netif's rx ring: the front
 *   end posts credits (empty requests); clockd consumes a credit and
 *   answers it with one FIRED event when a timer expires.  Timers that
 *   expire while the front end has no credit posted wait inside clockd
 *   (bounded by the per-connection timer limit) and go out in firing order
 *   as credits arrive.
 *
 *   Exactly one of these happens to every ARMED id: a FIRED event on the
 *   event ring, or a CANCELLED answer to a CANCEL on the command ring.  A
 *   CANCEL answered NOT_FOUND means the id was unknown or its FIRED event
 *   has already been put on the event ring.
 */
/*
 * 3. The handshake (device type "clock", morgana/xenbus.h).
 *
 *   clockd (backend) writes under its backend directory at probe:
 *     feature-time-page = 1, feature-timers = 1,
 *     time-page-offer   = CLOCK_OFFER_TIME_PAGE (the link offer id),
 *     max-timers        = the per-connection timer limit.
 *   The frontend grants two writable pages and allocates one event
 *   channel, and writes under its device directory:
 *     timer-ring-ref = the command ring's ref,
 *     fire-ring-ref  = the event ring's ref,
 *     event-channel  = the port, shared by both rings (either side
 *                      notifies it after pushing on either ring).
 *   At connect clockd maps both rings, binds the channel, and offers the
 *   time page on the link (ring_peer_offer, id CLOCK_OFFER_TIME_PAGE); the
 *   frontend maps it with ring_share_offer.  A timer connection starts
 *   empty: after a reconnect the frontend re-arms its pending timers (by
 *   id, absolute deadline).
 */
#ifndef MORGANA_PROTO_CLOCK_PROTO_H
#define MORGANA_PROTO_CLOCK_PROTO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

#define CLOCK_DEVICE_TYPE "clock"
#define CLOCK_KEY_TIMER_RING_REF "timer-ring-ref"
#define CLOCK_KEY_FIRE_RING_REF "fire-ring-ref"
#define CLOCK_KEY_EVENT_CHANNEL "event-channel"
#define CLOCK_OFFER_TIME_PAGE 1u

/* ---- the time page ---------------------------------------------------- */

#define CLOCK_PAGE_SIZE 4096u
#define CLOCK_PAGE_MAGIC 0x4b4c434du	/* "MCLK" little-endian */
#define CLOCK_PAGE_ABI 1u

/* Readers may extrapolate with the TSC (Xen's XEN_PVCLOCK_TSC_STABLE_BIT). */
#define CLOCK_FLAG_TSC_STABLE (1u << 0)

/*
 * Xen's struct vcpu_time_info, field for field.  Fields are _Atomic so
 * that the racy seqlock reads are relaxed atomic loads rather than data
 * races; on every ABI we build for they have the plain types' size and
 * alignment (checked in tests/unit/test_clock_page.c against xen/xen.h).
 * Direction: clockd -> readers.
 */
struct clock_time_info {
	_Atomic uint32_t version;	/* seqlock: odd = update in progress */
	uint32_t pad0;
	_Atomic uint64_t tsc_timestamp;	/* TSC at the anchor */
	_Atomic uint64_t system_time;	/* MCLOCK ns at the anchor */
	_Atomic uint32_t tsc_to_system_mul; /* ns per (TSC << shift), 32.32 */
	_Atomic int8_t tsc_shift;
	_Atomic uint8_t flags;		/* CLOCK_FLAG_* */
	uint8_t pad1[2];
};

/* The page.  Everything after `updates` up to CLOCK_PAGE_SIZE is zero. */
struct clock_page {
	struct clock_time_info ti;	/* @0, 32 bytes */
	_Atomic uint32_t magic;		/* @32 CLOCK_PAGE_MAGIC once valid */
	_Atomic uint32_t abi;		/* @36 CLOCK_PAGE_ABI */
	_Atomic uint32_t wc_nsec;	/* @40 wall clock at MCLOCK 0, < 10^9 */
	uint32_t pad2;			/* @44 zero */
	_Atomic uint64_t wc_sec;	/* @48 ... its seconds since the epoch */
	_Atomic uint64_t updates;	/* @56 count of published updates */
};

_Static_assert(sizeof(struct clock_time_info) == 32, "vcpu_time_info size");
_Static_assert(offsetof(struct clock_time_info, tsc_timestamp) == 8, "@8");
_Static_assert(offsetof(struct clock_time_info, system_time) == 16, "@16");
_Static_assert(offsetof(struct clock_time_info, tsc_to_system_mul) == 24,
	       "@24");
_Static_assert(offsetof(struct clock_time_info, tsc_shift) == 28, "@28");
_Static_assert(offsetof(struct clock_time_info, flags) == 29, "@29");
_Static_assert(offsetof(struct clock_page, magic) == 32, "magic @32");
_Static_assert(offsetof(struct clock_page, wc_nsec) == 40, "wc_nsec @40");
_Static_assert(offsetof(struct clock_page, wc_sec) == 48, "wc_sec @48");
_Static_assert(sizeof(struct clock_page) == 64, "page header is 64 bytes");

/* ---- TIME: the command ring ------------------------------------------- */

enum clock_timer_op {
	CLOCK_OP_ARM = 1,	/* arm id for deadline_ns */
	CLOCK_OP_CANCEL = 2,	/* cancel id; deadline_ns must be 0 */
};

/* Statuses, in command answers and in fire events. */
enum clock_timer_status {
	CLOCK_ST_ARMED = 1,	/* ARM accepted; a FIRED event will follow */
	CLOCK_ST_FIRED = 2,	/* event ring: the deadline has passed */
	CLOCK_ST_CANCELLED = 3,	/* CANCEL: the timer is gone, never fires */
	CLOCK_ST_NOT_FOUND = 4,	/* CANCEL: unknown id, or already fired */
	CLOCK_ST_ERR_INVAL = 5,	/* bad op, non-zero padding, bad deadline */
	CLOCK_ST_ERR_EXIST = 6,	/* ARM: id is already armed */
	CLOCK_ST_ERR_LIMIT = 7,	/* ARM: per-connection timer limit reached */
};

/*
 * Request, front end -> clockd.  id is the front end's own name for the
 * timer (any value, unique among its armed timers).  deadline_ns is an
 * absolute MCLOCK time; a deadline already past fires at once.
 */
struct clock_timer_req {
	uint64_t id;
	uint64_t deadline_ns;
	uint8_t op;		/* enum clock_timer_op */
	uint8_t pad[7];		/* zero */
};

/* Answer, clockd -> front end, one per request, sent at once. */
struct clock_timer_rsp {
	uint64_t id;		/* copied from the request */
	uint32_t status;	/* enum clock_timer_status */
	uint32_t pad;		/* zero */
};

_Static_assert(sizeof(struct clock_timer_req) == 24, "timer req is 24");
_Static_assert(offsetof(struct clock_timer_req, op) == 16, "op @16");
_Static_assert(sizeof(struct clock_timer_rsp) == 16, "timer rsp is 16");

RING_DEFINE(clock_timer, struct clock_timer_req, struct clock_timer_rsp);

/* ---- TIME: the event ring --------------------------------------------- */

/* Credit, front end -> clockd: room for one event.  Contents ignored. */
struct clock_fire_req {
	uint64_t reserved;	/* zero */
};

/* Event, clockd -> front end, answering one credit. */
struct clock_fire_rsp {
	uint64_t id;		/* the ARMed id */
	uint64_t fired_ns;	/* MCLOCK when clockd expired it (>= deadline) */
	uint32_t status;	/* CLOCK_ST_FIRED */
	uint32_t pad;		/* zero */
};

_Static_assert(sizeof(struct clock_fire_req) == 8, "credit is 8");
_Static_assert(sizeof(struct clock_fire_rsp) == 24, "event is 24");

RING_DEFINE(clock_fire, struct clock_fire_req, struct clock_fire_rsp);

#endif /* MORGANA_PROTO_CLOCK_PROTO_H */
