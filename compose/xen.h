/*
 * compose/xen.h - target xen (compose-internal): what `compose configure
 * --target xen` writes for a guest, and what `compose up` does in dom0.
 * docs/deploy.md documents the flow for users.
 */
#ifndef COMPOSE_XEN_H
#define COMPOSE_XEN_H

#include <stdio.h>

#include "compose/manifest.h"
#include "compose/plan.h"

/* What the xl configuration says beyond the manifest.  NULL / 0 fields
 * take the defaults (the Xen lab's: /vmlinuz, /domu.cpio.gz, 128 MiB,
 * /etc/xen/scripts/vif-null). */
struct compose_xen_opts {
	size_t sz;
	const char *kernel;	/* the guest kernel, a path in dom0 */
	const char *ramdisk;	/* its initramfs, holding the app */
	const char *vif_script;	/* xl's vif hotplug script */
	unsigned memory_mb;
};

/*
 * Check that manifest m can run on target xen today: every device the app
 * uses is NET served by netd with backend tap, and nothing else is
 * declared (one netd in dom0, the app in one domU).  Each problem is
 * printed to err as "FILE:LINE:COL: error: ...".  Returns 0 or -EINVAL.
 */
int compose_xen_check(const struct compose_manifest *m, FILE *err);

/*
 * Write _build/NAME.xl (the guest's xl configuration: kernel, ramdisk,
 * memory, one vif per NET device with the plan's MAC) and
 * _build/guest-run (the script the guest's init runs: it finds the store
 * at /dev/xen/xenbus and starts _build/NAME with MORGANA_DEVICES=xen)
 * into the current directory.  p is the plan for m (its vif MACs).
 * Returns 0 or -errno (a message on err).  Blocks on the files.
 */
int compose_xen_generate(const struct compose_manifest *m,
			 const struct compose_plan *p,
			 const struct compose_xen_opts *o, FILE *err);

/*
 * `compose up` for target xen, in dom0: start netd (the Xen build,
 * <bindir>/../xen/bin/netd if it exists, else <bindir>/netd) with the
 * plan's arguments, wait for its READY=1, then `xl create _build/NAME.xl`.
 * Stays attached until SIGINT/SIGTERM or netd's exit, then runs
 * `xl destroy NAME` and stops netd.  rundir holds netd's link socket.
 * Returns the exit status for compose: 0 when stopped by a signal, 1 on
 * failure (a message on err).  Blocks.
 */
int compose_xen_up(const struct compose_manifest *m,
		   const struct compose_plan *p, const char *rundir,
		   unsigned ready_timeout_ms, FILE *out, FILE *err);

#endif
