/*
 * Shared by the image-store fuzz targets (pack, tar): after a successful
 * open, exercise every lookup the index offers, so the extents recorded
 * at open are read too.
 */
#ifndef FUZZ_KV_WALK_H
#define FUZZ_KV_WALK_H

#include <stdint.h>
#include <stdio.h>

#include "services/kvd/kvd.h"

static void
walk(struct kv_store *s, const char *key, int depth)
{
	struct kv_entry *e;
	unsigned char buf[64];
	uint8_t d[KV_DIGEST_SIZE];
	int64_t ns;
	size_t n;
	int kind;

	if (depth > 8 || kv_store_list(s, key, &e, &n) < 0)
		return;
	for (size_t i = 0; i < n && i < 64; i++) {
		char k[KV_KEY_MAX * 2];

		snprintf(k, sizeof(k), "%s%s%s", key, *key ? "/" : "",
			 e[i].name);
		kv_store_exists(s, k, &kind);
		kv_store_read(s, k, 1, buf, sizeof(buf), NULL);
		kv_store_digest(s, k, d);
		kv_store_last_modified(s, k, &ns);
		if (e[i].kind == KV_KIND_DICT)
			walk(s, k, depth + 1);
	}
	kv_entries_free(e, n);
}

#endif
