/*
 * compose/cmds.h - the commands beyond `config` (compose-internal): each
 * takes the manifest path, its own arguments, and the output streams, and
 * returns the process exit status (0, 1 failure, 2 usage).
 */
#ifndef COMPOSE_CMDS_H
#define COMPOSE_CMDS_H

#include <stdio.h>

#define COMPOSE_CMD(n) \
	extern const char compose_##n##_help[]; \
	int compose_cmd_##n(const char *file, int argc, char **argv, \
			    FILE *out, FILE *err)
COMPOSE_CMD(configure);
COMPOSE_CMD(build);
COMPOSE_CMD(up);
COMPOSE_CMD(down);
COMPOSE_CMD(ps);
COMPOSE_CMD(logs);
COMPOSE_CMD(describe);
#undef COMPOSE_CMD

#endif
