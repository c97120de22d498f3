/*
 * morgana/wiring.h - what compose hands a daemon in its environment
 * (docs/internals/wiring.md): its service name, the run directory that
 * holds its link socket, and the readiness fd.
 */
#ifndef MORGANA_WIRING_H
#define MORGANA_WIRING_H

struct ring_wiring {
	const char *service;	/* MORGANA_SERVICE, or the default name */
	const char *rundir;	/* MORGANA_RUNDIR */
	int notify_fd;		/* NOTIFY_FD; -1 when unset */
};

/*
 * Read MORGANA_SERVICE (default `name`; also becomes the log name),
 * MORGANA_RUNDIR (required) and NOTIFY_FD (optional).  The strings are the
 * environment's, borrowed.  Returns 0, or -EINVAL after one log line when
 * the run directory is missing, the service name holds a '/', or NOTIFY_FD
 * is not a number.  Never blocks.
 */
int ring_wiring_from_env(const char *name, struct ring_wiring *w);

#endif
