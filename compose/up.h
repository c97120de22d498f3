/*
 * compose/up.h - `compose up`: the toolstack and supervisor (dev mode),
 * and the commands that talk to a running one (compose-internal).
 * docs/internals/wiring.md is the contract; docs/compose.md the manual.
 */
#ifndef COMPOSE_UP_H
#define COMPOSE_UP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compose/plan.h"

struct compose_up_opts {
	size_t sz;			/* sizeof(struct compose_up_opts) */
	const char *rundir;		/* absolute */
	bool detach;			/* -d: daemonize and keep supervising */
	bool wait;			/* with detach: return once all READY */
	bool color;			/* colour the prefixes */
	unsigned ready_timeout_ms;	/* per service [10000] */
	unsigned grace_ms;		/* SIGTERM -> SIGKILL [5000] */
	size_t :0;
};

/*
 * Run the system of plan p (borrowed): serve the store, create the
 * devices, start the services in order gated on READY=1, supervise.
 * Attached, blocks until the app's job ends, a failure, or SIGINT/SIGTERM,
 * then stops everything in reverse order and removes the run state.
 * Returns the exit status: 0 when everything came up and the app exited 0
 * (or the run was interrupted after it came up), else 1 (130 when
 * interrupted during start), with the failing service named on err.
 */
int compose_up(const struct compose_plan *p, const struct compose_up_opts *o,
	       FILE *out, FILE *err);

/* `compose ps`, `logs`, `down` against the run directory.  Return exit
 * statuses (0, 1). */
int compose_ps(const char *rundir, FILE *out, FILE *err);
int compose_logs(const char *rundir, const struct compose_plan *p,
		 const char *svc, bool follow, bool color, FILE *out,
		 FILE *err);
int compose_down(const char *rundir, unsigned timeout_ms, FILE *out,
		 FILE *err);

#endif
