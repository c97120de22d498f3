/*
 * The echo protocol: libring's demonstration and test protocol.
 *
 * Device type "echo".  The frontend grants one ring page (ring-ref), one
 * read-only data page (data-ref) and an event channel (event-channel).
 * Each request names a byte range of the data page; the backend answers
 * with the sum of those bytes, read by grant copy.
 */
#ifndef ECHO_PROTO_H
#define ECHO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "morgana/ring.h"

struct echo_request {		/* frontend -> backend */
	uint64_t seq;		/* echoed back */
	uint32_t gref;		/* data page */
	uint16_t off;		/* off + len <= 4096 */
	uint16_t len;
};

struct echo_response {		/* backend -> frontend */
	uint64_t seq;
	uint32_t sum;		/* sum of the bytes */
	int32_t status;		/* 0 or -errno */
};

_Static_assert(sizeof(struct echo_request) == 16, "echo request size");
_Static_assert(sizeof(struct echo_response) == 16, "echo response size");
_Static_assert(offsetof(struct echo_request, off) == 12, "echo off");

RING_DEFINE(echo, struct echo_request, struct echo_response);

#endif
