/* Manifest diagnostics: collected errors and "did you mean" suggestions. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compose/diag.h"

void
compose_diag_init(struct compose_diag *d, FILE *out, const char *file)
{
	d->out = out;
	d->file = file;
	d->n = 0;
	d->last_printed = 0;
}

void
compose_diag_err(struct compose_diag *d, unsigned line, unsigned col,
		 const char *fmt, ...)
{
	va_list ap;

	d->n++;
	d->last_printed = 0;
	if (!d->out)
		return;
	if (d->n == COMPOSE_DIAG_MAX + 1) {
		fprintf(d->out, "%s: error: too many errors, stopping after %d\n",
			d->file, COMPOSE_DIAG_MAX);
		return;
	}
	if (d->n > COMPOSE_DIAG_MAX)
		return;
	if (line)
		fprintf(d->out, "%s:%u:%u: error: ", d->file, line, col);
	else
		fprintf(d->out, "%s: error: ", d->file);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
	d->last_printed = 1;
}

void
compose_diag_hint(struct compose_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->out || !d->last_printed)
		return;
	fputs("  hint: ", d->out);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* Optimal string alignment distance; words longer than this are never
 * typos of our short field names, and the cap keeps the table small. */
#define SUGGEST_MAX_LEN 32

static size_t
osa_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t dp[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];

	for (size_t i = 0; i <= la; i++)
		dp[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		dp[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			size_t v = dp[i - 1][j] + 1;

			if (dp[i][j - 1] + 1 < v)
				v = dp[i][j - 1] + 1;
			if (dp[i - 1][j - 1] + cost < v)
				v = dp[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb &&
			    dp[i - 2][j - 2] + 1 < v)
				v = dp[i - 2][j - 2] + 1;
			dp[i][j] = v;
		}
	}
	return dp[la][lb];
}

const char *
compose_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t lw = strlen(word), best_d = (size_t)-1;
	const char *best = NULL;

	if (lw == 0 || lw > SUGGEST_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(cands[i]), d, limit;

		if (lc > SUGGEST_MAX_LEN)
			continue;
		d = osa_distance(word, cands[i]);
		/* Short names tolerate one edit, longer ones two: beyond
		 * that the "suggestion" is a different word. */
		limit = lc <= 4 ? 1 : 2;
		if (d <= limit && d < lc && d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
