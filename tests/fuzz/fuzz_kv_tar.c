/* libFuzzer: tar parsing of arbitrary bytes, then every lookup the index
 * offers, so extents recorded at open are exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "services/kvd/kvd.h"
#include "fuzz_kv_walk.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_store *s;

	if (kv_tar_open_mem(data, size, &s) == 0) {
		walk(s, "", 0);
		kv_store_close(s);
	}
	return 0;
}

/*
 * Random bytes almost never carry a valid header checksum, so give every
 * block one (and the POSIX magic): the fuzzer then reaches the field, name
 * and pax checks behind it.
 */
#include <string.h>

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max);
	for (size_t off = 0; (seed & 1) == 0 && off + 512 <= size;
	     off += 512) {
		uint8_t *h = data + off;
		unsigned sum = 0;

		if (h[0] == 0)
			continue;	/* leave end markers and data alone */
		memcpy(h + 257, "ustar\0" "00", 8);
		memset(h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
	}
	return size;
}
