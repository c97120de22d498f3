/*
 * compose/diag.h - manifest diagnostics (compose-internal).
 *
 * Every error is one line `FILE:LINE:COL: error: MESSAGE`, optionally
 * followed by `  hint: ...`.  Errors are collected: the first
 * COMPOSE_DIAG_MAX are printed, then one "too many errors" line, and the
 * rest are only counted.  Nothing here blocks beyond a stdio write.
 */
#ifndef COMPOSE_DIAG_H
#define COMPOSE_DIAG_H

#include <stddef.h>
#include <stdio.h>

#define COMPOSE_DIAG_MAX 20

struct compose_diag {
	FILE *out;		/* may be NULL: count only */
	const char *file;	/* borrowed; printed as given */
	unsigned n;		/* errors seen */
	int last_printed;	/* whether a hint may follow */
};

/* Start collecting for `file` into `out` (either may be borrowed; out may
 * be NULL). */
void compose_diag_init(struct compose_diag *d, FILE *out, const char *file);

/* Report an error at 1-based line/col; line 0 means "whole file" and prints
 * `FILE: error: ...`. */
void compose_diag_err(struct compose_diag *d, unsigned line, unsigned col,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Attach a hint to the error just reported (dropped if that error was not
 * printed). */
void compose_diag_hint(struct compose_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The candidate nearest to `word` by edit distance (adjacent swaps count
 * as one edit, letters compared case-insensitively), or NULL when none is
 * close enough to be a plausible typo.  Returns a pointer into `cands`. */
const char *compose_suggest(const char *word, const char *const *cands,
			    size_t n);

#endif
