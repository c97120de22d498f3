/*
 * appkit/clock_front.c - TIME over clockd's two rings: the pending-timer
 * table, the command queue, credits, and validation of every answer and
 * event (clockd is a peer like any other).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock_front.h"

struct ak_clock_timer {
	struct ak_clock_timer *hnext;		/* hash chain */
	struct ak_clock_timer *prev, *next;	/* all pending */
	uint64_t id, deadline;
	ak_time_fn *cb;
	void *arg;
	uint64_t loop_id;	/* when fired early: our own loop timer */
	bool local;
	struct ak_clock_proto *p;
};

static size_t
bucket(const struct ak_clock_proto *p, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (p->nbuckets - 1);
}

static struct ak_clock_timer *
lookup(struct ak_clock_proto *p, uint64_t id)
{
	for (struct ak_clock_timer *t = p->buckets[bucket(p, id)]; t; t = t->hnext)
		if (t->id == id)
			return t;
	return NULL;
}

static int
grow(struct ak_clock_proto *p)
{
	size_t nb = p->nbuckets * 2;
	struct ak_clock_timer **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	free(p->buckets);
	p->buckets = b;
	p->nbuckets = nb;
	for (struct ak_clock_timer *t = p->all; t; t = t->next) {
		size_t i = bucket(p, t->id);

		t->hnext = b[i];
		b[i] = t;
	}
	return 0;
}

static void
unlink_timer(struct ak_clock_proto *p, struct ak_clock_timer *t)
{
	struct ak_clock_timer **pp = &p->buckets[bucket(p, t->id)];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	if (t->prev)
		t->prev->next = t->next;
	else
		p->all = t->next;
	if (t->next)
		t->next->prev = t->prev;
	p->n_timers--;
}

int
ak_clock_proto_init(struct ak_clock_proto *p, struct ak_loop *l)
{
	memset(p, 0, sizeof(*p));
	p->l = l;
	p->nbuckets = 64;
	p->next_id = 1;
	if ((p->buckets = calloc(p->nbuckets, sizeof(*p->buckets))) == NULL)
		return -ENOMEM;
	return 0;
}

void
ak_clock_proto_fini(struct ak_clock_proto *p)
{
	while (p->all) {
		struct ak_clock_timer *t = p->all;

		if (t->local)
			ak_loop_timer_cancel(p->l, t->loop_id);
		unlink_timer(p, t);
		free(t);
	}
	free(p->buckets);
	free(p->q);
	free(p->sent);
	memset(p, 0, sizeof(*p));
}

static int
enqueue(struct ak_clock_proto *p, uint8_t op, uint64_t id, uint64_t deadline)
{
	if (p->qn == p->qcap) {
		size_t cap = p->qcap ? p->qcap * 2 : 64;
		struct ak_clock_cmd *q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < p->qn; i++)
			q[i] = p->q[(p->qhead + i) % p->qcap];
		free(p->q);
		p->q = q;
		p->qcap = cap;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qn++) % p->qcap] =
	    (struct ak_clock_cmd){ .id = id, .deadline = deadline, .op = op };
	return 0;
}

int
ak_clock_proto_attach(struct ak_clock_proto *p, void *timer_page,
		      void *fire_page, size_t size)
{
	int rc;

	if ((rc = clock_timer_front_init(&p->cmd, timer_page, size)) < 0 ||
	    (rc = clock_fire_front_init(&p->fire, fire_page, size)) < 0)
		return rc;
	free(p->sent);
	if ((p->sent = calloc(p->cmd.nr_ents, sizeof(*p->sent))) == NULL)
		return -ENOMEM;
	p->attached = true;
	p->connected = p->broken = false;
	p->why = NULL;
	p->qn = p->qhead = 0;
	return 0;
}

void
ak_clock_proto_connected(struct ak_clock_proto *p)
{
	if (!p->attached)
		return;
	/* A new connection starts empty in clockd: everything pending is
	 * armed again, same ids, same absolute deadlines. */
	p->qn = p->qhead = 0;
	for (struct ak_clock_timer *t = p->all; t; t = t->next)
		if (!t->local && enqueue(p, CLOCK_OP_ARM, t->id, t->deadline) < 0)
			break;	/* retried at the next connection; see docs */
	p->connected = true;
}

void
ak_clock_proto_detach(struct ak_clock_proto *p)
{
	p->attached = p->connected = false;
	p->qn = p->qhead = 0;
}

int
ak_clock_proto_arm(struct ak_clock_proto *p, uint64_t deadline_ns,
		   ak_time_fn *cb, void *arg, uint64_t *id)
{
	struct ak_clock_timer *t;
	size_t i;

	if (p->n_timers >= p->nbuckets && grow(p) < 0)
		return -ENOMEM;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	if (p->connected && enqueue(p, CLOCK_OP_ARM, p->next_id, deadline_ns) < 0) {
		free(t);
		return -ENOMEM;
	}
	*t = (struct ak_clock_timer){ .id = p->next_id++, .deadline = deadline_ns,
				      .cb = cb, .arg = arg, .p = p };
	i = bucket(p, t->id);
	t->hnext = p->buckets[i];
	p->buckets[i] = t;
	t->next = p->all;
	if (p->all)
		p->all->prev = t;
	p->all = t;
	p->n_timers++;
	*id = t->id;
	return 0;
}

int
ak_clock_proto_cancel(struct ak_clock_proto *p, uint64_t id)
{
	struct ak_clock_timer *t = lookup(p, id);

	if (t == NULL)
		return -ENOENT;
	if (t->local)
		ak_loop_timer_cancel(p->l, t->loop_id);
	else if (p->connected)
		/* Best effort: if this cannot be queued, clockd's FIRED for
		 * the id will find no timer and be ignored. */
		enqueue(p, CLOCK_OP_CANCEL, id, 0);
	unlink_timer(p, t);
	free(t);
	return 0;
}

static void
finish(struct ak_clock_proto *p, struct ak_clock_timer *t, int err)
{
	ak_time_fn *cb = t->cb;
	void *arg = t->arg;
	uint64_t id = t->id;

	/* Out of the table before the callback, which may arm or cancel. */
	unlink_timer(p, t);
	free(t);
	cb(arg, id, err);
}

static void
local_fire(void *arg)
{
	struct ak_clock_timer *t = arg;

	finish(t->p, t, 0);
}

static int
broken(struct ak_clock_proto *p, const char *why)
{
	p->broken = true;
	p->why = why;
	return -EPROTO;
}

static int
drain_answers(struct ak_clock_proto *p, bool *progress)
{
	struct clock_timer_rsp r;
	int rc;

	for (;;) {
		uint32_t idx = p->cmd.rsp_cons;
		struct ak_clock_cmd sent;
		struct ak_clock_timer *t;

		if ((rc = clock_timer_front_get(&p->cmd, &r)) == 0)
			return 0;
		if (rc < 0)
			return broken(p, "impossible command ring indices");
		*progress = true;
		sent = p->sent[idx & (p->cmd.nr_ents - 1)];
		if (r.pad != 0)
			return broken(p, "non-zero padding in an answer");
		if (r.id != sent.id)
			return broken(p, "answer does not match its command");
		switch (r.status) {
		case CLOCK_ST_ARMED:
			if (sent.op != CLOCK_OP_ARM)
				return broken(p, "ARMED answers a CANCEL");
			break;
		case CLOCK_ST_CANCELLED:
		case CLOCK_ST_NOT_FOUND:
			if (sent.op != CLOCK_OP_CANCEL)
				return broken(p, "CANCELLED answers an ARM");
			break;
		case CLOCK_ST_ERR_LIMIT:
		case CLOCK_ST_ERR_EXIST:
		case CLOCK_ST_ERR_INVAL:
			/* The timer cannot be kept: tell its owner (it may
			 * already be cancelled: then nobody is told). */
			if (sent.op == CLOCK_OP_ARM &&
			    (t = lookup(p, r.id)) != NULL && !t->local)
				finish(p, t, r.status == CLOCK_ST_ERR_LIMIT ?
					     -ENOSPC : -EPROTO);
			break;
		default:
			return broken(p, "unknown status in an answer");
		}
	}
}

static int
drain_events(struct ak_clock_proto *p, bool *progress)
{
	struct clock_fire_rsp e;
	int rc;

	for (;;) {
		struct ak_clock_timer *t;

		if ((rc = clock_fire_front_get(&p->fire, &e)) == 0)
			return 0;
		if (rc < 0)
			return broken(p, "impossible event ring indices");
		*progress = true;
		if (e.status != CLOCK_ST_FIRED || e.pad != 0)
			return broken(p, "malformed FIRED event");
		if ((t = lookup(p, e.id)) == NULL || t->local) {
			/* Cancelled after clockd sent it, or a stray id. */
			p->unknown_fires++;
			continue;
		}
		if (ak_now_ns() < t->deadline) {
			/* Never before the deadline, whatever clockd says:
			 * wait out the rest on our own loop. */
			if (ak_loop_timer(p->l, t->deadline, local_fire, t,
					  &t->loop_id) == 0) {
				t->local = true;
				p->early++;
				continue;
			}
		}
		p->fired++;
		finish(p, t, 0);
		if (!p->connected)
			return 0;	/* a callback closed us */
	}
}

int
ak_clock_proto_poll(struct ak_clock_proto *p)
{
	bool progress = true;
	int rc = 0;

	if (!p->connected || p->broken)
		return p->broken ? -EPROTO : 0;
	if (p->in_poll)
		return 0;	/* the outer call loops until nothing is left */
	p->in_poll = true;
	while (progress && rc == 0 && p->connected) {
		progress = false;
		if ((rc = drain_answers(p, &progress)) < 0 ||
		    (rc = drain_events(p, &progress)) < 0)
			break;
		while (p->qn > 0 && ring_front_free(&p->cmd) > 0) {
			struct ak_clock_cmd c = p->q[p->qhead];
			struct clock_timer_req r = { .id = c.id, .op = c.op,
						     .deadline_ns = c.deadline };

			p->sent[p->cmd.req_prod_pvt & (p->cmd.nr_ents - 1)] = c;
			clock_timer_front_put(&p->cmd, &r);
			p->qhead = (p->qhead + 1) % p->qcap;
			p->qn--;
			progress = true;
		}
		while (ring_front_free(&p->fire) > 0) {
			struct clock_fire_req credit = { 0 };

			clock_fire_front_put(&p->fire, &credit);
			progress = true;
		}
		if (ring_front_push(&p->cmd))
			p->notify = true;
		if (ring_front_push(&p->fire))
			p->notify = true;
		if (!progress) {
			/* Both: each arms its own event index. */
			bool a = ring_front_final_check(&p->cmd);
			bool b = ring_front_final_check(&p->fire);

			progress = a || b;
		}
	}
	p->in_poll = false;
	return rc;
}
