/*
 * compose/cli.h - the compose command line (compose-internal).
 */
#ifndef COMPOSE_CLI_H
#define COMPOSE_CLI_H

#include <stdio.h>

/*
 * Run `compose ARGS...` (argv[0] is the program name): parse global
 * options and dispatch a command, writing results to `out` and
 * diagnostics to `err` (both borrowed).  May chdir(2) for -p.  Returns the
 * process exit status: 0 success, 1 invalid manifest or failed command, 2
 * usage error.  Blocks on reading the manifest and writing output.
 */
int compose_cli_main(int argc, char **argv, FILE *out, FILE *err);

#endif
