/*
 * morgana/log.h - logfmt lines on stderr, shared by every component.
 *
 *   level=warn svc=kvd msg="peer broke protocol" peer=3 err=EPROTO
 *
 * fmt is printf-style and should itself be logfmt pairs; ring_log adds
 * level= and svc= in front.  Never blocks for long (one write(2)).
 */
#ifndef MORGANA_LOG_H
#define MORGANA_LOG_H

enum ring_log_level { RING_LOG_ERR, RING_LOG_WARN, RING_LOG_INFO,
		      RING_LOG_DEBUG };

/* The svc= value; default "morgana".  The string must outlive logging. */
void ring_log_set_name(const char *name);
/* Lines above `level` are dropped; default RING_LOG_INFO (MORGANA_LOG=debug
 * in the environment raises it). */
void ring_log_set_level(enum ring_log_level level);
/* Redirect lines (without the trailing newline) to fn, e.g. in tests;
 * NULL restores stderr. */
typedef void ring_log_fn(void *arg, enum ring_log_level level,
			 const char *line);
void ring_log_set_fn(ring_log_fn *fn, void *arg);

void ring_log(enum ring_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
