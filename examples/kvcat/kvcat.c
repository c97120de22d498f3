/*
 * kvcat: print the value at key `path` of the KV_RO device `files` (served
 * by kvd), or list it when it is a dictionary.  `loop` repeats the read,
 * checking each copy against the first (for reconnection tests); `out`
 * writes the value to a file instead of stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/appkit.h"

int kvcat_start(struct ak_app *app);

int
kvcat_start(struct ak_app *app)
{
	struct ak_kv *kv = ak_kv(app, "files");
	const char *path = "", *out = "";
	enum ak_kv_kind kind;
	int64_t loops = 1;
	void *first = NULL;
	size_t first_len = 0;
	int rc;

	if (kv == NULL) {
		fprintf(stderr, "kvcat: no KV device named 'files'\n");
		return 1;
	}
	ak_key_str(app, "path", &path);
	ak_key_int(app, "loop", &loops);
	ak_key_str(app, "out", &out);
	if ((rc = ak_kv_exists(kv, path, &kind)) < 0 || kind == AK_KV_NONE) {
		fprintf(stderr, "kvcat: %s: %s\n", path,
			rc < 0 ? ak_strerror(rc) : "not found");
		return 1;
	}
	if (kind == AK_KV_DICTIONARY) {
		struct ak_kv_entry *e;
		size_t n;

		if ((rc = ak_kv_list(kv, path, &e, &n)) < 0) {
			fprintf(stderr, "kvcat: list %s: %s\n", path, ak_strerror(rc));
			return 1;
		}
		for (size_t i = 0; i < n; i++)
			printf("%s%s\n", e[i].name,
			       e[i].kind == AK_KV_DICTIONARY ? "/" : "");
		ak_kv_free_list(e, n);
		return 0;
	}
	for (int64_t i = 0; i < loops; i++) {
		void *val;
		size_t len;

		if ((rc = ak_kv_get(kv, path, &val, &len)) < 0) {
			fprintf(stderr, "kvcat: get %s: %s\n", path, ak_strerror(rc));
			return 1;
		}
		if (first == NULL) {
			first = val;
			first_len = len;
			continue;
		}
		if (len != first_len || memcmp(val, first, len) != 0) {
			fprintf(stderr, "kvcat: read %lld differs\n", (long long)i);
			return 1;
		}
		free(val);
	}
	{
		FILE *f = *out ? fopen(out, "wb") : stdout;

		if (f == NULL || fwrite(first, 1, first_len, f) != first_len) {
			fprintf(stderr, "kvcat: cannot write %s\n", out);
			return 1;
		}
		if (f != stdout)
			fclose(f);
	}
	free(first);
	return 0;
}
