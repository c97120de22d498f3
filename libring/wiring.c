/* The daemon side of the wiring contract's environment (morgana/wiring.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/log.h"
#include "morgana/wiring.h"

int
ring_wiring_from_env(const char *name, struct ring_wiring *w)
{
	const char *nfd = getenv("NOTIFY_FD");

	w->service = getenv("MORGANA_SERVICE");
	w->rundir = getenv("MORGANA_RUNDIR");
	w->notify_fd = -1;
	if (w->service == NULL || w->service[0] == '\0')
		w->service = name;
	ring_log_set_name(w->service);
	if (w->rundir == NULL || w->rundir[0] == '\0') {
		ring_log(RING_LOG_ERR, "msg=\"MORGANA_RUNDIR is not set\"");
		return -EINVAL;
	}
	/* The service names the link socket in the run directory. */
	if (strchr(w->service, '/') != NULL) {
		ring_log(RING_LOG_ERR, "msg=\"bad MORGANA_SERVICE\"");
		return -EINVAL;
	}
	if (nfd != NULL && nfd[0] != '\0') {
		char *end;
		long v = strtol(nfd, &end, 10);

		if (*end != '\0' || v < 0 || v > 65535) {
			ring_log(RING_LOG_ERR, "msg=\"bad NOTIFY_FD\"");
			return -EINVAL;
		}
		w->notify_fd = (int)v;
	}
	return 0;
}
