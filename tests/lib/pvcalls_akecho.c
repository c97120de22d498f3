/*
 * pvcalls_akecho: an appkit application (ak_main) that runs a TCP echo
 * server on its STACK device "stack" through tcpipd: bind
 * 127.0.0.1:<port key>, listen, one task per accepted connection echoing
 * until EOF.  Prints "akecho: listening" once listen succeeded.  Started
 * by tests/lib/pvcalls_echo --front (tests/integration/tcpipd_appkit.sh).
 */
#include <stdio.h>

#include "morgana/appkit.h"

static int
echo_conn(void *arg)
{
	struct ak_sock *c = arg;
	char buf[16384];
	ssize_t n;

	while ((n = ak_sock_recv(c, buf, sizeof(buf))) > 0)
		if (ak_sock_send(c, buf, (size_t)n) != n)
			break;
	ak_sock_close(c);
	return 0;
}

static int
start(struct ak_app *app)
{
	struct ak_stack *s = ak_stack(app, "stack");
	struct ak_sock *l, *c;
	int64_t port;
	int rc;

	if (s == NULL || ak_key_int(app, "port", &port) < 0)
		return 1;
	if ((rc = ak_stack_socket(s, AK_SOCK_TCP, &l)) < 0 ||
	    (rc = ak_sock_bind(l, &(struct ak_sockaddr){ 0x7f000001,
							 (uint16_t)port })) < 0 ||
	    (rc = ak_sock_listen(l, 16)) < 0) {
		printf("akecho: setup failed rc=%d\n", rc);
		fflush(stdout);
		return 1;
	}
	printf("akecho: listening\n");
	fflush(stdout);
	for (;;) {
		if ((rc = ak_sock_accept(l, &c, NULL)) < 0) {
			printf("akecho: accept failed rc=%d\n", rc);
			fflush(stdout);
			ak_sock_close(l);
			return 1;
		}
		if (ak_task_spawn(ak_app_loop(app), echo_conn, c, 0, NULL) < 0)
			ak_sock_close(c);
	}
}

static const struct ak_device_desc devices[] = {
	{ .name = "stack", .sig = AK_SIG_STACK },
};

static const struct ak_key_desc keys[] = {
	{ .name = "port", .type = AK_KEY_INT, .def = NULL,
	  .doc = "Port to listen on.", .stage = AK_STAGE_BOOT },
};

static const struct ak_app_desc desc = {
	.sz = sizeof(desc), .name = "akecho", .start = start,
	.devices = devices, .n_devices = 1,
	.keys = keys, .n_keys = 1,
};

int
main(int argc, char **argv)
{
	return ak_main(&desc, argc, argv);
}
