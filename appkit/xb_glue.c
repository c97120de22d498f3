/*
 * appkit/xb_glue.c - drive libring's handshake driver from the loop.
 *
 * The driver's fd set changes as links come and go (and an fd number may
 * be reused for a new link within one dispatch), so rather than track
 * individual fds we re-make every watch after each dispatch.  Dispatches
 * are rare (store traffic and link events, not ring traffic), so this
 * costs nothing that matters.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "appkit_internal.h"
#include "morgana/log.h"
#include "morgana/store.h"
#include "morgana/xenbus.h"

#define GLUE_MAX_FDS 64

struct ak_xb_glue {
	struct ak_loop *l;
	struct ring_xenbus *xb;
	struct ak_watch *w[GLUE_MAX_FDS];
	unsigned nw;
	uint64_t timer_id;
	bool timer_armed, pending, failed;
};

static void glue_dispatch(void *arg);

static void
glue_kick(struct ak_xb_glue *g)
{
	/* Deferred, so that the driver never runs inside another fd's
	 * callback and several ready fds cost one dispatch. */
	if (!g->pending && ak_loop_defer(g->l, glue_dispatch, g) == 0)
		g->pending = true;
}

static void
glue_fd_ready(void *arg, int fd, unsigned revents)
{
	(void)fd;
	(void)revents;
	glue_kick(arg);
}

static void
glue_timer(void *arg)
{
	struct ak_xb_glue *g = arg;

	g->timer_armed = false;
	glue_kick(g);
}

static void
glue_sync(struct ak_xb_glue *g)
{
	struct pollfd fds[GLUE_MAX_FDS];
	int n, ms;

	for (unsigned i = 0; i < g->nw; i++)
		ak_loop_unwatch(g->w[i]);
	g->nw = 0;
	n = ring_xenbus_pollfds(g->xb, fds, GLUE_MAX_FDS);
	if (n > GLUE_MAX_FDS) {
		ring_log(RING_LOG_WARN, "msg=\"too many handshake fds\" n=%d", n);
		n = GLUE_MAX_FDS;
	}
	for (int i = 0; i < n; i++)
		if (fds[i].fd >= 0 &&
		    ak_loop_watch(g->l, fds[i].fd, (unsigned)fds[i].events ?
				  (unsigned)fds[i].events : POLLIN,
				  glue_fd_ready, g, &g->w[g->nw]) == 0)
			g->nw++;
	if (g->timer_armed) {
		ak_loop_timer_cancel(g->l, g->timer_id);
		g->timer_armed = false;
	}
	ms = ring_xenbus_timeout_ms(g->xb);
	if (ms >= 0 && ak_loop_timer(g->l, ak_now_ns() + (uint64_t)ms * 1000000u,
				     glue_timer, g, &g->timer_id) == 0)
		g->timer_armed = true;
}

static void
glue_dispatch(void *arg)
{
	struct ak_xb_glue *g = arg;

	g->pending = false;
	if (g->failed)
		return;
	if (ring_xenbus_dispatch(g->xb) == -EPIPE) {
		ring_log(RING_LOG_ERR, "msg=\"store connection lost\"");
		g->failed = true;
		for (unsigned i = 0; i < g->nw; i++)
			ak_loop_unwatch(g->w[i]);
		g->nw = 0;
		return;
	}
	glue_sync(g);
}

int
ak_xb_glue_open(struct ak_loop *l, struct ring_xenbus *xb,
		struct ak_xb_glue **out)
{
	struct ak_xb_glue *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return -ENOMEM;
	g->l = l;
	g->xb = xb;
	/* Opening frontends already queued work: dispatch once now. */
	glue_kick(g);
	*out = g;
	return 0;
}

bool
ak_xb_glue_failed(const struct ak_xb_glue *g)
{
	return g->failed;
}

void
ak_xb_glue_close(struct ak_xb_glue *g)
{
	if (g == NULL)
		return;
	for (unsigned i = 0; i < g->nw; i++)
		ak_loop_unwatch(g->w[i]);
	if (g->timer_armed)
		ak_loop_timer_cancel(g->l, g->timer_id);
	if (g->pending) {
		/* The deferred dispatch still points at us: run the loop's
		 * defers out by leaving a harmless stub.  Simplest is to
		 * mark failed and leak nothing: free after one turn. */
		g->failed = true;
		ak_loop_run_once(g->l, 0);
	}
	free(g);
}

int
ak_xb_put_uint(struct ring_store *st, uint32_t tx, const char *dir,
	       const char *key, unsigned v)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return ring_store_printf(st, tx, p, "%u", v);
}

unsigned long
ak_xb_backend_uint(struct ring_store *st, uint32_t tx, const char *fe_path,
		   const char *key)
{
	char p[256], *be = NULL;
	unsigned long v = 0;

	snprintf(p, sizeof(p), "%s/backend", fe_path);
	if (ring_store_read(st, tx, p, &be, NULL) < 0)
		return 0;
	snprintf(p, sizeof(p), "%s/%s", be, key);
	free(be);
	if (ring_store_read_uint(st, tx, p, &v) < 0)
		return 0;
	return v;
}
