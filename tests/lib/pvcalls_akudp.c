/*
 * pvcalls_akudp: an appkit application (ak_main) that runs a UDP echo
 * server on its STACK device "stack" through tcpipd
 * (tests/integration/tcpipd_udp.sh).  At start it checks, printing one
 * line each:
 *   akudp: refused rc=N      a bind outside the allow list (port key + 1)
 *   akudp: listening         bound 127.0.0.1:<port key>
 *   akudp: connected ok      a second socket CONNECTed to the first sent
 *                            "ping" with ak_sock_send and got it back
 *                            with ak_sock_recv (default destination)
 * and then echoes every datagram to its sender, byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "morgana/appkit.h"

static char buf[65536];

static void
say(const char *fmt, int rc)
{
	printf(fmt, rc);
	fflush(stdout);
}

static int
echo(void *arg)
{
	struct ak_sock *u = arg;
	struct ak_sockaddr from;
	ssize_t n, m;

	for (;;) {
		if ((n = ak_sock_recvfrom(u, buf, sizeof(buf), &from)) < 0) {
			say("akudp: recvfrom failed rc=%d\n", (int)n);
			return 1;
		}
		if ((m = ak_sock_sendto(u, buf, (size_t)n, &from)) != n) {
			say("akudp: sendto failed rc=%d\n", (int)m);
			return 1;
		}
	}
}

static struct ak_stack *stack;
static uint16_t port;

/* A connected socket: send/recv with the default destination. */
static int
connected(void)
{
	struct ak_stack *s = stack;
	struct ak_sock *c;
	char got[8];
	ssize_t n;
	int rc;

	if ((rc = ak_stack_socket(s, AK_SOCK_UDP, &c)) < 0)
		return rc;
	if (ak_sock_send(c, "x", 1) != -EDESTADDRREQ) {
		ak_sock_close(c);
		return -EPROTO;
	}
	if ((rc = ak_sock_connect(c, &(struct ak_sockaddr){ 0x7f000001,
							    port })) < 0 ||
	    (rc = (int)ak_sock_send(c, "ping", 4)) != 4 ||
	    (n = ak_sock_recv(c, got, sizeof(got))) != 4 ||
	    memcmp(got, "ping", 4) != 0)
		rc = rc < 0 ? rc : -EPROTO;
	else
		rc = 0;
	ak_sock_close(c);
	return rc;
}

static int
connected_task(void *arg)
{
	int rc = connected();

	(void)arg;
	say(rc == 0 ? "akudp: connected ok%.0d\n" :
		      "akudp: connected failed rc=%d\n", rc);
	return 0;
}

static int
start(struct ak_app *app)
{
	struct ak_stack *s = ak_stack(app, "stack");
	struct ak_sock *u, *bad;
	int64_t p;
	int rc;

	if (s == NULL || ak_key_int(app, "port", &p) < 0 || p < 1 || p > 65534)
		return 1;
	stack = s;
	port = (uint16_t)p;
	if ((rc = ak_stack_socket(s, AK_SOCK_UDP, &bad)) < 0) {
		say("akudp: socket failed rc=%d\n", rc);
		return 1;
	}
	rc = ak_sock_bind(bad, &(struct ak_sockaddr){ 0x7f000001,
						      (uint16_t)(port + 1) });
	say("akudp: refused rc=%d\n", rc);
	ak_sock_close(bad);
	if ((rc = ak_stack_socket(s, AK_SOCK_UDP, &u)) < 0 ||
	    (rc = ak_sock_bind(u, &(struct ak_sockaddr){ 0x7f000001,
							 (uint16_t)port })) < 0) {
		say("akudp: setup failed rc=%d\n", rc);
		return 1;
	}
	say("akudp: listening%.0d\n", 0);
	if (ak_task_spawn(ak_app_loop(app), connected_task, NULL, 0, NULL) < 0)
		return 1;
	return echo(u);
}

static const struct ak_device_desc devices[] = {
	{ .name = "stack", .sig = AK_SIG_STACK },
};

static const struct ak_key_desc keys[] = {
	{ .name = "port", .type = AK_KEY_INT, .def = NULL,
	  .doc = "UDP port to echo on.", .stage = AK_STAGE_BOOT },
};

static const struct ak_app_desc desc = {
	.sz = sizeof(desc), .name = "akudp", .start = start,
	.devices = devices, .n_devices = 1,
	.keys = keys, .n_keys = 1,
};

int
main(int argc, char **argv)
{
	return ak_main(&desc, argc, argv);
}
