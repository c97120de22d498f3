/*
 * compose/state.h - the run state in <rundir>/state.db (sqlite), written
 * by the supervisor and read by `ps`, `logs` and `down` from other shells
 * (compose-internal).
 *
 * Tables: meta(key, value) holds supervisor_pid and project; services
 * (name, idx, state, pid, domid, started_at, restarts, status, rings).
 * Every call blocks on sqlite (a local file; busy waits up to 2 s).
 */
#ifndef COMPOSE_STATE_H
#define COMPOSE_STATE_H

#include <stdint.h>
#include <sys/types.h>

struct compose_state;

/* Open (create = make the file and the tables, replacing an old file).
 * Returns 0, -ENOENT (not created and absent), -EIO. */
int compose_state_open(const char *path, int create,
		       struct compose_state **out);
void compose_state_close(struct compose_state *st);

int compose_state_set_meta(struct compose_state *st, const char *key,
			   const char *value);
/* The value of `key` into buf; -ENOENT if absent. */
int compose_state_get_meta(struct compose_state *st, const char *key,
			   char *buf, size_t len);

struct compose_state_svc {
	char name[64];
	int idx;
	char state[16];		/* created starting ready backoff stopping
				 * exited failed */
	pid_t pid;		/* 0 when not running */
	uint16_t domid;
	int64_t started_at;	/* unix seconds, 0 never */
	unsigned restarts;
	char status[256];	/* last STATUS= text or why it failed */
	char rings[512];	/* "clock/0 time" entries, ';'-separated */
};

/* Insert or replace a service row. Returns 0 or -EIO. */
int compose_state_put(struct compose_state *st,
		      const struct compose_state_svc *s);
/* All rows in idx order: *out malloc'd array of *n.  Returns 0, -EIO,
 * -ENOMEM. */
int compose_state_list(struct compose_state *st,
		       struct compose_state_svc **out, size_t *n);

#endif
