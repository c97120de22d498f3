/* logfmt logging: one write(2) per line so lines from processes sharing a
 * pipe never interleave mid-line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "morgana/log.h"

static const char *log_name = "morgana";
static int log_level = -1;
static ring_log_fn *log_fn;
static void *log_arg;

void
ring_log_set_name(const char *name)
{
	log_name = name;
}

void
ring_log_set_level(enum ring_log_level level)
{
	log_level = (int)level;
}

void
ring_log_set_fn(ring_log_fn *fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

void
ring_log(enum ring_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char line[1024];
	va_list ap;
	int n, m;

	if (log_level < 0) {
		const char *e = getenv("MORGANA_LOG");

		log_level = e && strcmp(e, "debug") == 0 ? RING_LOG_DEBUG
							  : RING_LOG_INFO;
	}
	if ((int)level > log_level)
		return;
	n = snprintf(line, sizeof(line), "level=%s svc=%s ", names[level],
		     log_name);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (log_fn != NULL) {
		line[n] = '\0';
		log_fn(log_arg, level, line);
		return;
	}
	line[n++] = '\n';
	(void)!write(2, line, (size_t)n);
}
