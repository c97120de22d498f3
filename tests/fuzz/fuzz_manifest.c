/*
 * libFuzzer target: arbitrary bytes as compose.yaml.  Loading must never
 * crash, leak or hang; a manifest that loads must also print.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compose/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct compose_manifest *m;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (compose_manifest_load_mem("fuzz.yaml", data, size, &m, sink) == 0) {
		compose_config_print(m, sink);
		compose_config_print_services(m, sink);
		compose_manifest_free(m);
	}
	return 0;
}
