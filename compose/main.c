/* compose: the manifest tool (wiring only; the logic is in cli.c). */
#include <stdio.h>

#include "compose/cli.h"

int
main(int argc, char **argv)
{
	return compose_cli_main(argc, argv, stdout, stderr);
}
