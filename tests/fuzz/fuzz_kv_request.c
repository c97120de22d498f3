/* libFuzzer: kv_handle on arbitrary request bytes, against an in-memory
 * grant table whose pages also come from the input, over a small sqlite
 * store in memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "services/kvd/kvd.h"
#include "../unit/test_kv_fake.h"

static struct kv_store *store;
static char path[] = "/tmp/fuzz_kv_request.XXXXXX";

static void
cleanup(void)
{
	char p[64];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}
static struct fake_pages fp;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_server_ctx ctx;
	struct kv_request q;
	struct kv_response r;
	size_t rest;

	if (store == NULL) {
		/* A real file: kvd's sqlite store insists on WAL. */
		int fd = mkstemp(path);

		if (fd < 0 || kv_sqlite_open(path, &store) < 0)
			abort();
		close(fd);
		atexit(cleanup);
		kv_store_set(store, "a", "value-a", 7);
		kv_store_set(store, "d/b", "value-b", 7);
	}
	if (size < sizeof(q) + 2)
		return 0;
	fake_init(&fp, &ctx, store);
	memcpy(&q, data, sizeof(q));
	/* Pages 1..: the input's tail, so keys can be well formed. */
	rest = size - sizeof(q);
	for (uint32_t i = 1; i < FAKE_PAGES && rest > 0; i++) {
		size_t n = rest < KV_PAGE_SIZE ? rest : KV_PAGE_SIZE;

		memcpy(fp.page[i], data + size - rest, n);
		rest -= n;
		fp.ro[i] = data[sizeof(q)] & (1u << (i % 8));
	}
	if (kv_handle(&ctx, &q, &r) != 0 && r.status == KV_OK)
		abort();	/* a refused request must say so */
	if (r.id != q.id)
		abort();
	return 0;
}
