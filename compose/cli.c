/* The compose command line: global options, then one command. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "compose/cli.h"
#include "compose/cmds.h"
#include "compose/diag.h"
#include "compose/manifest.h"

#define EXIT_INVALID 1
#define EXIT_USAGE 2

static const char main_help[] =
"Usage: compose [-f FILE] [-p DIR] COMMAND [ARGS...]\n"
"\n"
"Build and run a Morgana application from its manifest.\n"
"\n"
"Options:\n"
"  -f, --file FILE               the manifest (default: compose.yaml)\n"
"  -p, --project-directory DIR   work in DIR: FILE and the paths inside the\n"
"                                manifest are relative to it\n"
"  -h, --help                    show this help\n"
"\n"
"Commands:\n"
"  config     Validate the manifest and print it in canonical form\n"
"  configure  Choose implementations and keys; generate _build/\n"
"  build      Build the application into _build/NAME\n"
"  up         Start the store, the daemons and the application\n"
"  down       Stop what 'up -d' started\n"
"  ps         Show the services of a running system\n"
"  logs       Show the services' logs\n"
"  describe   Print the ring graph (--dot)\n"
"  help       Show the help of a command\n"
"\n"
"Run 'compose help COMMAND' for the options of a command.\n"
"Environment: MORGANA_RUNDIR (run directory, default .morgana/run),\n"
"MORGANA_HOME (the Morgana tree), MORGANA_BINDIR (daemon binaries).\n"
"Exit status: 0 on success, 1 if the manifest is invalid or the command\n"
"failed, 2 on a usage error.\n";

static const char config_help[] =
"Usage: compose config [-q] [--services]\n"
"\n"
"Parse and validate the manifest, then print it normalised: every default\n"
"filled in, fields in a fixed order, keys and devices sorted by name, and\n"
"the services (one daemon per device, then the app) in the order they\n"
"start, each with what it depends on.  Errors are printed as\n"
"FILE:LINE:COL: error: MESSAGE.\n"
"\n"
"Options:\n"
"  -q, --quiet     only validate: print nothing but errors\n"
"      --services  print the service names in start order, one per line\n"
"  -h, --help      show this help\n";

static const char help_help[] =
"Usage: compose help [COMMAND]\n"
"\n"
"Show the help of COMMAND, or the list of commands.\n";

struct cmd {
	const char *name;
	const char *help;
	int (*run)(const char *file, int argc, char **argv, FILE *out,
		   FILE *err);
};

static int
usage_error(FILE *err, const char *cmd, const char *fmt, const char *arg)
{
	fputs("compose: ", err);
	fprintf(err, fmt, arg);
	fprintf(err, "\nRun 'compose %s--help' for usage.\n", cmd);
	return EXIT_USAGE;
}

static int
run_config(const char *file, int argc, char **argv, FILE *out, FILE *err)
{
	struct compose_manifest *m;
	bool quiet = false, services = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--services")) {
			services = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(config_help, out);
			return 0;
		} else {
			return usage_error(err, "config ",
					   argv[i][0] == '-' ?
					   "config: unknown option '%s'" :
					   "config: unexpected argument '%s'",
					   argv[i]);
		}
	}
	if ((rc = compose_manifest_load(file, &m, err)) < 0)
		return EXIT_INVALID;
	if (quiet)
		rc = 0;
	else if (services)
		rc = compose_config_print_services(m, out);
	else
		rc = compose_config_print(m, out);
	compose_manifest_free(m);
	if (rc < 0) {
		fprintf(err, "compose: config: cannot write output: %s\n",
			strerror(-rc));
		return EXIT_INVALID;
	}
	return 0;
}

static int run_help(const char *file, int argc, char **argv, FILE *out,
		    FILE *err);

static const struct cmd cmds[] = {
	{ "config", config_help, run_config },
	{ "configure", compose_configure_help, compose_cmd_configure },
	{ "build", compose_build_help, compose_cmd_build },
	{ "up", compose_up_help, compose_cmd_up },
	{ "down", compose_down_help, compose_cmd_down },
	{ "ps", compose_ps_help, compose_cmd_ps },
	{ "logs", compose_logs_help, compose_cmd_logs },
	{ "describe", compose_describe_help, compose_cmd_describe },
	{ "help", help_help, run_help },
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *
find_cmd(const char *name, FILE *err)
{
	const char *names[N_CMDS], *s;

	for (size_t i = 0; i < N_CMDS; i++) {
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
		names[i] = cmds[i].name;
	}
	fprintf(err, "compose: unknown command '%s'\n", name);
	if ((s = compose_suggest(name, names, N_CMDS)))
		fprintf(err, "  hint: did you mean '%s'?\n", s);
	fputs("Run 'compose --help' for the list of commands.\n", err);
	return NULL;
}

static int
run_help(const char *file, int argc, char **argv, FILE *out, FILE *err)
{
	const struct cmd *c;

	(void)file;
	if (argc == 0) {
		fputs(main_help, out);
		return 0;
	}
	if (argc > 1)
		return usage_error(err, "help ", "help: unexpected argument '%s'",
				   argv[1]);
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
		fputs(help_help, out);
		return 0;
	}
	if (!(c = find_cmd(argv[0], err)))
		return EXIT_USAGE;
	fputs(c->help, out);
	return 0;
}

/* Option value from "--opt VALUE", "--opt=VALUE" or "-oVALUE"; advances
 * *i past a separate value.  NULL if this argument is not `opt`. */
static const char *
opt_value(int argc, char **argv, int *i, const char *sopt, const char *lopt,
	  bool *missing)
{
	const char *a = argv[*i];
	size_t ll = strlen(lopt);

	*missing = false;
	if (!strcmp(a, sopt) || !strcmp(a, lopt)) {
		if (*i + 1 >= argc) {
			*missing = true;
			return NULL;
		}
		return argv[++*i];
	}
	if (!strncmp(a, lopt, ll) && a[ll] == '=')
		return a + ll + 1;
	if (!strncmp(a, sopt, 2) && a[2])
		return a + 2;
	return NULL;
}

int
compose_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *file = "compose.yaml", *dir = NULL, *v;
	const struct cmd *c;
	bool miss;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(main_help, out);
			return 0;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if ((v = opt_value(argc, argv, &i, "-f", "--file", &miss))) {
			file = v;
		} else if ((v = opt_value(argc, argv, &i, "-p",
					  "--project-directory", &miss))) {
			dir = v;
		} else if (miss) {
			return usage_error(err, "", "option '%s' needs a value", a);
		} else {
			return usage_error(err, "", "unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		fputs("compose: no command given\n", err);
		fputs(main_help, err);
		return EXIT_USAGE;
	}
	if (!(c = find_cmd(argv[i], err)))
		return EXIT_USAGE;
	if (dir && chdir(dir) < 0) {
		fprintf(err, "compose: cannot enter project directory %s: %s\n",
			dir, strerror(errno));
		return EXIT_INVALID;
	}
	return c->run(file, argc - i - 1, argv + i + 1, out, err);
}
