/*
 * hello: print "hello <greeting>" every interval_ms, n times (forever
 * when n is unset), sleeping on the TIME device named "time".
 */
#include <errno.h>
#include <stdio.h>

#include "morgana/appkit.h"

int hello_start(struct ak_app *app);

int
hello_start(struct ak_app *app)
{
	struct ak_time *t = ak_time(app, "time");
	const char *greeting = "world";
	int64_t n = -1, interval_ms = 1000;
	int rc;

	if (t == NULL) {
		fprintf(stderr, "hello: no TIME device named 'time'\n");
		return 1;
	}
	if ((rc = ak_key_str(app, "greeting", &greeting)) < 0 && rc != -ENODATA)
		return 1;
	if ((rc = ak_key_int(app, "n", &n)) == -ENODATA)
		n = -1;	/* unset: forever */
	else if (rc < 0)
		return 1;
	if ((rc = ak_key_int(app, "interval_ms", &interval_ms)) < 0 &&
	    rc != -ENODATA)
		return 1;
	if (interval_ms < 0) {
		fprintf(stderr, "hello: interval_ms must not be negative\n");
		return 2;
	}
	for (int64_t i = 0; n < 0 || i < n; i++) {
		if ((rc = ak_time_sleep_ns(t, (uint64_t)interval_ms * 1000000u)) < 0) {
			fprintf(stderr, "hello: sleep: %s\n", ak_strerror(rc));
			return 1;
		}
		printf("hello %s\n", greeting);
		fflush(stdout);
	}
	return 0;
}
