/*
 * ak_main's keys: argv over env over default, configure keys baked,
 * strict parsing with errors, unset keys -ENODATA, --help, and a start
 * task's status as the exit status (in-process devices).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "morgana/appkit.h"

static const struct ak_key_desc keys[] = {
	{ .name = "n", .type = AK_KEY_INT, .doc = "count", .env = "TK_N" },
	{ .name = "who", .type = AK_KEY_STRING, .def = "world", .env = "TK_WHO" },
	{ .name = "on", .type = AK_KEY_BOOL, .def = "false" },
	{ .name = "ip", .type = AK_KEY_IPV4, .def = "10.0.0.1" },
	{ .name = "net", .type = AK_KEY_IPV4_PREFIX, .def = "192.168.1.7/24" },
	{ .name = "baked", .type = AK_KEY_STRING, .stage = AK_STAGE_CONFIGURE,
	  .baked = "b" },
};
static const struct ak_device_desc devs[] = {
	{ "time", AK_SIG_TIME }, { "wall", AK_SIG_PCLOCK }, { "mono", AK_SIG_MCLOCK },
};

static int (*check)(struct ak_app *);

static int
start(struct ak_app *app)
{
	return check(app);
}

static int
run(int (*fn)(struct ak_app *), int argc, char **argv)
{
	struct ak_app_desc d = { .sz = sizeof(d), .name = "tk", .start = start,
		.devices = devs, .n_devices = 3, .keys = keys, .n_keys = 6 };

	check = fn;
	return ak_main(&d, argc, argv);
}

static int
check_defaults(struct ak_app *app)
{
	const char *s;
	int64_t n;
	bool b = true;
	uint32_t a;
	uint8_t p;

	assert_int_equal(ak_key_int(app, "n", &n), -ENODATA);
	assert_int_equal(ak_key_int(app, "nope", &n), -ENOENT);
	assert_int_equal(ak_key_int(app, "who", &n), -EINVAL);
	assert_int_equal(ak_key_str(app, "who", &s), 0);
	assert_string_equal(s, "world");
	assert_int_equal(ak_key_bool(app, "on", &b), 0);
	assert_false(b);
	assert_int_equal(ak_key_ipv4(app, "ip", &a, &p), 0);
	assert_int_equal(a, 0x0a000001);
	assert_int_equal(p, 32);
	assert_int_equal(ak_key_ipv4(app, "net", &a, &p), 0);
	assert_int_equal(a, 0xc0a80107);
	assert_int_equal(p, 24);
	assert_int_equal(ak_key_str(app, "baked", &s), 0);
	assert_string_equal(s, "b");
	return 7;
}

static void
test_defaults_and_status(void **state)
{
	char *argv[] = { "tk", NULL };

	(void)state;
	unsetenv("TK_N");
	unsetenv("TK_WHO");
	assert_int_equal(run(check_defaults, 1, argv), 7);
}

static int
check_given(struct ak_app *app)
{
	const char *s;
	int64_t n;
	bool b;
	uint64_t t0, t1;
	int64_t sec;
	uint32_t ns;

	assert_int_equal(ak_key_int(app, "n", &n), 0);
	assert_int_equal(n, -5);
	assert_int_equal(ak_key_str(app, "who", &s), 0);
	assert_string_equal(s, "env");
	assert_int_equal(ak_key_bool(app, "on", &b), 0);
	assert_true(b);
	/* the in-process devices, by name and signature */
	assert_null(ak_time(app, "wall"));
	assert_null(ak_kv(app, "time"));
	assert_int_equal(ak_mclock_elapsed_ns(ak_mclock(app, "mono"), &t0), 0);
	assert_int_equal(ak_time_sleep_ns(ak_time(app, "time"), 10000000), 0);
	assert_int_equal(ak_mclock_elapsed_ns(ak_mclock(app, "mono"), &t1), 0);
	assert_true(t1 - t0 >= 10000000);
	assert_int_equal(ak_pclock_now(ak_pclock(app, "wall"), &sec, &ns), 0);
	assert_true(sec > 1600000000 && ns < 1000000000u);
	return 0;
}

static void
test_arg_over_env(void **state)
{
	char *argv[] = { "tk", "--n", "-5", "--on=true", NULL };

	(void)state;
	setenv("MORGANA_DEVICES", "inproc", 1);
	setenv("TK_N", "3", 1);
	setenv("TK_WHO", "env", 1);
	assert_int_equal(run(check_given, 4, argv), 0);
	unsetenv("TK_N");
	unsetenv("TK_WHO");
}

static int
never(struct ak_app *app)
{
	(void)app;
	fail_msg("start must not run");
	return 99;
}

static void
test_errors(void **state)
{
	char *bad[][3] = {
		{ "tk", "--n=012", NULL }, { "tk", "--n=1x", NULL },
		{ "tk", "--on=yes", NULL }, { "tk", "--ip=1.2.3.256", NULL },
		{ "tk", "--net=1.2.3.4", NULL }, { "tk", "--ip=1.2.3.4/8", NULL },
		{ "tk", "--baked=x", NULL }, { "tk", "--nokey=1", NULL },
		{ "tk", "plain", NULL }, { "tk", "--n", NULL },
		{ "tk", "--n=99999999999999999999", NULL },
	};
	char *help[] = { "tk", "--help", NULL };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(run(never, 2, bad[i]), 2);
	setenv("TK_N", "abc", 1);
	assert_int_equal(run(never, 1, help), 2);	/* env checked too */
	unsetenv("TK_N");
	assert_int_equal(run(never, 2, help), 0);
	setenv("MORGANA_DEVICES", "bogus", 1);
	assert_int_equal(run(never, 1, help), 2);
	setenv("MORGANA_DEVICES", "inproc", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_status),
		cmocka_unit_test(test_arg_over_env),
		cmocka_unit_test(test_errors),
	};

	setenv("MORGANA_DEVICES", "inproc", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
