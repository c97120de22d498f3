/* `compose config`: the normalised manifest as canonical YAML. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compose/manifest.h"

/* User text is always double-quoted so that nothing a reader's YAML 1.1
 * parser might type ("no", "010", "1.10") changes meaning.  The input is
 * valid UTF-8 without NULs, so only quotes, backslashes and controls need
 * escapes. */
static void
put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", out);
		else if (ch == '\t')
			fputs("\\t", out);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void
put_restart(FILE *out, const char *indent, const struct compose_restart *r)
{
	fprintf(out, "%srestart: ", indent);
	switch (r->policy) {
	case COMPOSE_RESTART_NO: fputs("\"no\"\n", out); break;
	case COMPOSE_RESTART_ALWAYS: fputs("always\n", out); break;
	case COMPOSE_RESTART_ON_FAILURE:
		if (r->max_retries)
			fprintf(out, "on-failure:%u\n", r->max_retries);
		else
			fputs("on-failure\n", out);
		break;
	}
}

static void
put_ipv4(FILE *out, const struct compose_ipv4 *ip, bool prefix)
{
	fprintf(out, "%u.%u.%u.%u", ip->addr >> 24, (ip->addr >> 16) & 255,
		(ip->addr >> 8) & 255, ip->addr & 255);
	if (prefix)
		fprintf(out, "/%u", ip->prefix);
	fputc('\n', out);
}

static void
put_device(FILE *out, const struct compose_manifest *m,
	   const struct compose_device *d)
{
	fprintf(out, "  %s:\n    impl: %s\n    signature: %s\n", d->name,
		compose_impl_name(d->impl), compose_sig_name(d->sig));
	switch (d->impl) {
	case COMPOSE_IMPL_NETD:
		fprintf(out, "    backend: %s\n",
			compose_netd_backend_name(d->u.netd.backend));
		if (d->u.netd.ifname) {
			fputs("    ifname: ", out);
			put_str(out, d->u.netd.ifname);
			fputc('\n', out);
		}
		fprintf(out, "    mtu: %u\n", d->u.netd.mtu);
		break;
	case COMPOSE_IMPL_TCPIPD:
		fprintf(out, "    net: %s\n",
			compose_tcpip_net_name(d->u.tcpipd.net));
		if (d->over != SIZE_MAX)
			fprintf(out, "    over: %s\n", m->devices[d->over].name);
		if (d->u.tcpipd.has_ipv4) {
			fputs("    ipv4: ", out);
			put_ipv4(out, &d->u.tcpipd.ipv4, true);
		} else if (d->u.tcpipd.net == COMPOSE_NET_DIRECT) {
			fputs("    ipv4: dhcp\n", out);
		}
		if (d->u.tcpipd.has_gateway) {
			fputs("    gateway: ", out);
			put_ipv4(out, &d->u.tcpipd.gateway, false);
		}
		if (d->u.tcpipd.n_allow) {
			fputs("    allow: [", out);
			for (size_t i = 0; i < d->u.tcpipd.n_allow; i++) {
				const struct compose_allow *a =
					&d->u.tcpipd.allow[i];
				char buf[160];
				int n;

				if (a->addr_key)
					n = snprintf(buf, sizeof(buf), "$%s:",
						     a->addr_key);
				else
					n = snprintf(buf, sizeof(buf),
						     "%u.%u.%u.%u:", a->addr >> 24,
						     (a->addr >> 16) & 255,
						     (a->addr >> 8) & 255,
						     a->addr & 255);
				if (a->port_key)
					snprintf(buf + n, sizeof(buf) - (size_t)n,
						 "$%s", a->port_key);
				else if (a->any_port)
					snprintf(buf + n, sizeof(buf) - (size_t)n, "*");
				else
					snprintf(buf + n, sizeof(buf) - (size_t)n,
						 "%u", a->port);
				fputs(i ? ", " : "", out);
				put_str(out, buf);
			}
			fputs("]\n", out);
		}
		break;
	case COMPOSE_IMPL_KVD:
		fprintf(out, "    store: %s\n",
			compose_kv_store_name(d->u.kvd.store));
		if (d->u.kvd.path) {
			fputs("    path: ", out);
			put_str(out, d->u.kvd.path);
			fputc('\n', out);
		}
		if (d->over != SIZE_MAX)
			fprintf(out, "    over: %s\n", m->devices[d->over].name);
		if (d->u.kvd.key_file) {
			fputs("    key_file: ", out);
			put_str(out, d->u.kvd.key_file);
			fputc('\n', out);
		}
		break;
	case COMPOSE_IMPL_CLOCKD:
		break;
	}
	put_restart(out, "    ", &d->restart);
}

int
compose_config_print(const struct compose_manifest *m, FILE *out)
{
	const struct compose_app *a = &m->app;

	fprintf(out, "name: %s\ntarget: %s\napp:\n  sources: [", m->name,
		compose_target_name(m->target));
	for (size_t i = 0; i < a->n_sources; i++) {
		if (i)
			fputs(", ", out);
		put_str(out, a->sources[i]);
	}
	fprintf(out, "]\n  start: %s\n", a->start);
	put_restart(out, "  ", &a->restart);
	fputs(a->n_devices ? "  devices:\n" : "  devices: {}\n", out);
	for (size_t i = 0; i < a->n_devices; i++)
		fprintf(out, "    %s: %s\n", a->devices[i].name,
			compose_sig_name(a->devices[i].sig));

	fputs(m->n_keys ? "keys:\n" : "keys: {}\n", out);
	for (size_t i = 0; i < m->n_keys; i++) {
		const struct compose_key *k = &m->keys[i];

		fprintf(out, "  %s:\n    type: %s\n    stage: %s\n", k->name,
			compose_key_type_name(k->type),
			compose_stage_name(k->stage));
		if (k->has_default) {
			fputs("    default: ", out);
			if (k->type == COMPOSE_KEY_STRING)
				put_str(out, k->def.text);
			else
				fputs(k->def.text, out);
			fputc('\n', out);
		} else {
			fputs("    required: true\n", out);
		}
		if (k->env)
			fprintf(out, "    env: %s\n", k->env);
		fputs("    doc: ", out);
		put_str(out, k->doc);
		fputc('\n', out);
	}

	fputs(m->n_devices ? "devices:\n" : "devices: {}\n", out);
	for (size_t i = 0; i < m->n_devices; i++)
		put_device(out, m, &m->devices[i]);

	fputs("services:\n", out);
	for (size_t i = 0; i < m->n_services; i++) {
		const struct compose_service *s = &m->services[i];

		fprintf(out, "  - name: %s\n    impl: %s\n    depends_on: [",
			s->name, s->is_app ? "app" :
			compose_impl_name(m->devices[s->device].impl));
		for (size_t j = 0; j < s->n_deps; j++)
			fprintf(out, "%s%s", j ? ", " : "",
				m->services[s->deps[j]].name);
		fputs("]\n", out);
	}
	return fflush(out) || ferror(out) ? -EIO : 0;
}

int
compose_config_print_services(const struct compose_manifest *m, FILE *out)
{
	for (size_t i = 0; i < m->n_services; i++)
		fprintf(out, "%s\n", m->services[i].name);
	return fflush(out) || ferror(out) ? -EIO : 0;
}
