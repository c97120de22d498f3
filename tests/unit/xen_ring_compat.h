/*
 * Test-only: pulls in Xen's own public ring headers (libxen-dev) next to
 * ours, for the layout and differential tests.
 *
 * With the default __XEN_INTERFACE_VERSION__ (0), xen/io/ring.h maps
 * xen_mb/xen_rmb/xen_wmb to mb/rmb/wmb, which the includer must provide.
 * Xen's shared fields are plain (non-atomic) RING_IDX, so each barrier is
 * both a CPU fence and a compiler barrier (the asm clobber): without the
 * latter the compiler could cache a peer's index across a spin loop.
 *   mb():  full fence, orders an index store before a later event load.
 *   rmb(): load-load, a producer index before the slots it covers.
 *   wmb(): store-store, slots before the producer index that publishes them.
 */
#ifndef TESTS_XEN_RING_COMPAT_H
#define TESTS_XEN_RING_COMPAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define mb()                                                                 \
	do {                                                                 \
		__asm__ __volatile__("" ::: "memory");                       \
		atomic_thread_fence(memory_order_seq_cst);                   \
		__asm__ __volatile__("" ::: "memory");                       \
	} while (0)
#define rmb()                                                                \
	do {                                                                 \
		__asm__ __volatile__("" ::: "memory");                       \
		atomic_thread_fence(memory_order_acquire);                   \
		__asm__ __volatile__("" ::: "memory");                       \
	} while (0)
#define wmb()                                                                \
	do {                                                                 \
		__asm__ __volatile__("" ::: "memory");                       \
		atomic_thread_fence(memory_order_release);                   \
		__asm__ __volatile__("" ::: "memory");                       \
	} while (0)

#include <xen/io/blkif.h>
#include <xen/io/netif.h>
#include <xen/io/ring.h>

#include "morgana/ring.h"

#endif
