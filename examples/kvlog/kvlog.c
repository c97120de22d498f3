/*
 * kvlog: set values log/FROM .. log/COUNT-1 in the KV_RW device `log`,
 * printing "acked N" once each set has returned (so it is durable), or
 * check them: each value must be there, byte for byte.  Value N is a
 * recognisable text line followed by filler, 1 to 6000 bytes long, so a
 * torn or misplaced value is caught and a test can look for the text in
 * the database.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/appkit.h"

int kvlog_start(struct ak_app *app);

static size_t
value_of(int64_t n, char *buf, size_t cap)
{
	size_t len = (size_t)((n * 2654435761u) % 6000) + 1, h;

	h = (size_t)snprintf(buf, cap, "kvlog-value-%" PRId64 ";", n);
	if (len < h)
		len = h;
	for (size_t i = h; i < len && i < cap; i++)
		buf[i] = (char)('a' + (n + (int64_t)i) % 26);
	return len < cap ? len : cap;
}

int
kvlog_start(struct ak_app *app)
{
	struct ak_kv *kv = ak_kv(app, "log");
	const char *mode = "write";
	int64_t from = 0, count = 0;
	static char want[8192];
	char key[64];
	int rc;

	if (kv == NULL) {
		fprintf(stderr, "kvlog: no KV device named 'log'\n");
		return 1;
	}
	ak_key_str(app, "mode", &mode);
	ak_key_int(app, "from", &from);
	ak_key_int(app, "count", &count);
	for (int64_t n = from; n < count; n++) {
		size_t len = value_of(n, want, sizeof(want));

		snprintf(key, sizeof(key), "log/%" PRId64, n);
		if (!strcmp(mode, "write")) {
			if ((rc = ak_kv_set(kv, key, want, len)) < 0) {
				fprintf(stderr, "kvlog: set %s: %s\n", key,
					ak_strerror(rc));
				return 1;
			}
			printf("acked %" PRId64 "\n", n);
			fflush(stdout);
		} else if (!strcmp(mode, "check")) {
			void *got;
			size_t glen;

			if ((rc = ak_kv_get(kv, key, &got, &glen)) < 0) {
				fprintf(stderr, "kvlog: get %s: %s\n", key,
					ak_strerror(rc));
				return 1;
			}
			rc = glen != len || memcmp(got, want, len);
			free(got);
			if (rc) {
				fprintf(stderr, "kvlog: %s differs\n", key);
				return 1;
			}
		} else {
			fprintf(stderr, "kvlog: mode is write or check, not '%s'\n",
				mode);
			return 1;
		}
	}
	printf("kvlog: %s %" PRId64 " values\n", mode,
	       count > from ? count - from : 0);
	return 0;
}
