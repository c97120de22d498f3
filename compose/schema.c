/* Strict scalar conversions: no YAML 1.1 guessing, no C-library leniency
 * (strtol would accept "+1", " 1", "010" and "0x10"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compose/schema.h"

int
compose_parse_int(const char *s, int64_t *out, const char **why)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, limit;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9') {
		*why = *s == '+' ? "write it without '+'" : "not a decimal integer";
		return -EINVAL;
	}
	if (p[0] == '0' && p[1] != '\0') {
		*why = (p[1] == 'x' || p[1] == 'X') ?
		       "hexadecimal is not accepted; write it in decimal" :
		       "leading zeros are not allowed (it is not octal either)";
		return -EINVAL;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			*why = "not a decimal integer";
			return -EINVAL;
		}
		if (v > (limit - (uint64_t)(*p - '0')) / 10) {
			*why = "out of range for a 64-bit integer";
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
compose_parse_bool(const char *s, bool *out, const char **why)
{
	static const char *const yaml11[] = {
		"yes", "no", "on", "off", "y", "n", "True", "False", "TRUE",
		"FALSE", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF",
	};

	if (!strcmp(s, "true") || !strcmp(s, "false")) {
		*out = s[0] == 't';
		return 0;
	}
	*why = "expected true or false";
	for (size_t i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++)
		if (!strcmp(s, yaml11[i]))
			*why = "YAML 1.1 spellings such as yes, no, on and off are not accepted";
	return -EINVAL;
}

/* One decimal number in [0, max] without leading zeros; advances *pp. */
static int
small_dec(const char **pp, unsigned max, unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0;
	size_t nd = 0;

	while (*p >= '0' && *p <= '9') {
		if (nd == 1 && v == 0)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -EINVAL;
		p++;
		nd++;
	}
	if (!nd)
		return -EINVAL;
	*out = v;
	*pp = p;
	return 0;
}

int
compose_parse_ipv4(const char *s, bool with_prefix, struct compose_ipv4 *out,
		   const char **why)
{
	const char *p = s;
	uint32_t addr = 0;
	unsigned v, prefix = 32;

	for (int i = 0; i < 4; i++) {
		if (small_dec(&p, 255, &v) || (i < 3 && *p++ != '.')) {
			*why = "expected four decimal numbers 0-255 separated by dots, without leading zeros";
			return -EINVAL;
		}
		addr = addr << 8 | v;
	}
	if (*p == '/') {
		if (!with_prefix) {
			*why = "an address without '/prefix' is expected here";
			return -EINVAL;
		}
		p++;
		if (small_dec(&p, 32, &prefix) || *p) {
			*why = "the prefix length must be a number from 0 to 32";
			return -EINVAL;
		}
	} else if (*p) {
		*why = "unexpected characters after the address";
		return -EINVAL;
	} else if (with_prefix) {
		*why = "add the prefix length, as in 10.0.0.2/24";
		return -EINVAL;
	}
	out->addr = addr;
	out->prefix = prefix;
	return 0;
}

int
compose_parse_restart(const char *s, struct compose_restart *out,
		      const char **why)
{
	static const char pfx[] = "on-failure:";
	int64_t n;
	const char *w;

	out->max_retries = 0;
	if (!strcmp(s, "no")) {
		out->policy = COMPOSE_RESTART_NO;
		return 0;
	}
	if (!strcmp(s, "always")) {
		out->policy = COMPOSE_RESTART_ALWAYS;
		return 0;
	}
	if (!strcmp(s, "on-failure")) {
		out->policy = COMPOSE_RESTART_ON_FAILURE;
		return 0;
	}
	if (!strncmp(s, pfx, sizeof(pfx) - 1)) {
		if (compose_parse_int(s + sizeof(pfx) - 1, &n, &w) ||
		    n < 1 || n > 1000) {
			*why = "the retry count in on-failure:N must be from 1 to 1000";
			return -EINVAL;
		}
		out->policy = COMPOSE_RESTART_ON_FAILURE;
		out->max_retries = (unsigned)n;
		return 0;
	}
	*why = !strcmp(s, "unless-stopped") ?
	       "unless-stopped is not supported; use always" :
	       "expected no, on-failure, on-failure:N or always";
	return -EINVAL;
}
