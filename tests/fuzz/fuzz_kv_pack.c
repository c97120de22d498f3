/* libFuzzer: pack image validation on arbitrary bytes, then every lookup the index
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

	if (kv_pack_open_mem(data, size, &s) == 0) {
		walk(s, "", 0);
		kv_store_close(s);
	}
	return 0;
}

/*
 * Random bytes almost never pass the checksum, so re-sum every input: the
 * fuzzer then reaches the index validation behind it.
 */
#include <sodium.h>
#include <string.h>

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			unsigned int seed)
{
	static const unsigned char zero[32];
	crypto_generichash_state st;

	(void)seed;
	size = LLVMFuzzerMutate(data, size, max);
	if (size >= 96) {
		/* Keep the regions consistent too, so mutations land on the
		 * index records rather than on the header's bounds checks. */
		uint32_t n = (uint32_t)data[12] % 16;
		uint64_t ilen = size - 96, doff, dlen;

		if (ilen > n * 32u + data[24])
			ilen = n * 32u + data[24];
		doff = 96 + ilen;
		dlen = size - doff;
		memcpy(data, "MGKVPACK\1\0\0\0", 12);
		memcpy(data + 12, &n, 4);
		memcpy(data + 16, &(uint64_t){ 96 }, 8);
		memcpy(data + 24, &ilen, 8);
		memcpy(data + 32, &doff, 8);
		memcpy(data + 40, &dlen, 8);
		memset(data + 48, 0, 16);
		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, data, 64);
		crypto_generichash_update(&st, zero, 32);
		crypto_generichash_update(&st, data + 96, size - 96);
		crypto_generichash_final(&st, data + 64, 32);
	}
	return size;
}
