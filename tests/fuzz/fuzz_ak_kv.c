/*
 * libFuzzer: appkit's KV frontend's decoders of what kvd answers.
 * ak_kv__check_answer on arbitrary answers against arbitrary requests in
 * flight: an accepted answer must name a slot in flight and never carry
 * more bytes than that request granted.  ak_kv__parse_list on arbitrary
 * LIST payloads: every entry parsed must have a valid kind and a name.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appkit/appkit_internal.h"
#include "morgana/ak_kv.h"
#include "morgana/proto/kv_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ak_kv_inflight in[8];
	struct kv_response r;
	struct ak_kv_entry *e = NULL;
	size_t cnt = 0, cap = 0;
	const char *why;
	uint64_t n;
	uint32_t count;
	unsigned char *payload;
	int i;

	if (size < sizeof(r) + 8 * 14 + 4)
		return 0;
	memcpy(&r, data, sizeof(r));
	data += sizeof(r);
	size -= sizeof(r);
	for (int k = 0; k < 8; k++) {
		in[k].sent = data[0] & 1;
		memcpy(&in[k].seq, data + 1, 8);
		in[k].op = data[9];
		memcpy(&in[k].dlen, data + 10, 4);
		data += 14;
		size -= 14;
	}
	i = ak_kv__check_answer(&r, in, 8, &n, &why);
	if (i >= 0 && (i >= 8 || !in[i].sent ||
		       (r.status == KV_OK && n > in[i].dlen)))
		abort();
	if (i < 0 && why == NULL)
		abort();
	memcpy(&count, data, 4);
	data += 4;
	size -= 4;
	/* A private heap copy: ASan sees any read past its end. */
	if ((payload = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(payload, data, size);
	if (ak_kv__parse_list(payload, size, count % 4096, &e, &cnt, &cap) == 0)
		for (size_t k = 0; k < cnt; k++)
			if (e[k].kind > AK_KV_DICTIONARY || e[k].name == NULL)
				abort();
	ak_kv_free_list(e, cnt);
	free(payload);
	return 0;
}
