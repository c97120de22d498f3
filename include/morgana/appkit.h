/*
 * morgana/appkit.h - what an application links: its description, its
 * configuration keys and its devices by name.  See docs/appkit.md.
 *
 * An application is a start function over named devices (DESIGN.md §6).
 * `compose configure` generates a main.c that fills a struct ak_app_desc
 * from the manifest and calls ak_main; ak_main parses the keys, connects
 * the devices, reports READY=1, and runs start as a task on the event
 * loop (morgana/ak_loop.h).  start reaches its devices with ak_time(app,
 * "time"), ... and its keys with ak_key_*(app, "name", ...).
 *
 * Devices: in dev mode (the default) each device is a ring connection to
 * the daemon compose started for it, found in the store by its manifest
 * name.  With MORGANA_DEVICES=inproc in the environment, appkit uses
 * in-process implementations instead (PCLOCK, MCLOCK and TIME on the
 * host's clocks), for unit tests and single-image builds.  With
 * MORGANA_DEVICES=xen (deploy mode in a Xen domU, linked with
 * libring-xen.a) the k-th device of a type is the domain's own k-th
 * device/<type>/<n> as the toolstack wrote it (no name keys): net0 is
 * device/vif/0.
 *
 * Everything runs on the thread that called ak_main.
 */
#ifndef MORGANA_APPKIT_H
#define MORGANA_APPKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "morgana/ak_clock.h"
#include "morgana/ak_error.h"
#include "morgana/ak_kv.h"
#include "morgana/ak_loop.h"
#include "morgana/ak_net.h"
#include "morgana/ak_stack.h"
#include "morgana/ak_time.h"

enum ak_sig { AK_SIG_NET, AK_SIG_STACK, AK_SIG_KV_RO, AK_SIG_KV_RW,
	      AK_SIG_PCLOCK, AK_SIG_MCLOCK, AK_SIG_TIME };
enum ak_key_type { AK_KEY_STRING, AK_KEY_INT, AK_KEY_BOOL, AK_KEY_IPV4,
		   AK_KEY_IPV4_PREFIX };
enum ak_key_stage { AK_STAGE_BOOT, AK_STAGE_CONFIGURE };

/* A device the application uses: its manifest name and signature. */
struct ak_device_desc {
	const char *name;
	enum ak_sig sig;
};

/* A configuration key (MirageOS Key_gen). */
struct ak_key_desc {
	const char *name;
	enum ak_key_type type;
	const char *def;	/* NULL: no default (unset unless given) */
	const char *doc;
	const char *env;	/* NULL: none */
	enum ak_key_stage stage;
	const char *baked;	/* configure value or NULL */
};

struct ak_app;
/* The application's body: runs as a task; returns the job's exit status. */
typedef int ak_start_fn(struct ak_app *app);

struct ak_app_desc {
	size_t sz;		/* sizeof(struct ak_app_desc) */
	const char *name;
	ak_start_fn *start;
	const struct ak_device_desc *devices;
	size_t n_devices;
	const struct ak_key_desc *keys;
	size_t n_keys;
	size_t :0;
};

/*
 * Run the application.  In order:
 *  1. keys: `--help`/`-h` prints every key (doc, type, default, env,
 *     stage) and returns 0.  Boot keys come from `--name=value` or
 *     `--name value`, else their env variable, else their default;
 *     configure keys take their baked value (else default) and cannot be
 *     set at boot.  Values are parsed strictly per type (decimal ints,
 *     true/false, dotted quads, a.b.c.d/n).  A bad or unknown argument is
 *     reported naming the key and returns 2.  A key left unset is not an
 *     error: its accessor returns -ENODATA.
 *  2. devices: connects each one (see the top of this file) and waits in
 *     the loop until all are Connected; a device that cannot be found or
 *     has the wrong signature returns 1.
 *  3. writes READY=1 to $NOTIFY_FD, if set.
 *  4. runs start in a task and returns its status once it returns.
 *     SIGTERM or SIGINT instead write STOPPING=1 and return 128 + signo.
 * Blocks for the life of the application.  desc and argv stay the
 * caller's.
 */
int ak_main(const struct ak_app_desc *desc, int argc, char **argv);

/*
 * Key accessors.  name must be a key of the description.  Return 0 with
 * the value in *out, -ENOENT if there is no such key, -EINVAL if it has
 * another type, -ENODATA if it is unset.  Strings stay owned by the app
 * (valid until ak_main returns).  Never block.
 */
int ak_key_str(struct ak_app *app, const char *name, const char **out);
int ak_key_int(struct ak_app *app, const char *name, int64_t *out);
int ak_key_bool(struct ak_app *app, const char *name, bool *out);
/* For ipv4 and ipv4_prefix keys; prefix_or_null gets 32 for ipv4. */
int ak_key_ipv4(struct ak_app *app, const char *name,
		uint32_t *addr_host_order, uint8_t *prefix_or_null);

/*
 * Devices by manifest name.  NULL if the application has no device of
 * that name with that signature (or, for KV, STACK and NET, until their
 * frontends exist).  ak_kv accepts KV_RO and KV_RW devices.  Handles are
 * owned by the app; valid until ak_main returns.
 */
struct ak_time   *ak_time(struct ak_app *app, const char *name);
struct ak_pclock *ak_pclock(struct ak_app *app, const char *name);
struct ak_mclock *ak_mclock(struct ak_app *app, const char *name);
struct ak_kv     *ak_kv(struct ak_app *app, const char *name);
struct ak_stack  *ak_stack(struct ak_app *app, const char *name);
struct ak_net    *ak_net(struct ak_app *app, const char *name);

/* The application's event loop, for callbacks and more tasks. */
struct ak_loop *ak_app_loop(struct ak_app *app);
/* The application's name (desc->name). */
const char *ak_app_name(const struct ak_app *app);

/*
 * sd_notify-style status line ("STATUS=<text>") to $NOTIFY_FD, shown by
 * `compose ps`.  No-op without NOTIFY_FD.  Never blocks for long.
 */
void ak_status(struct ak_app *app, const char *text);

#endif /* MORGANA_APPKIT_H */
