/*
 * appkit/sig.c - the signatures' handles and thin wrappers: check the
 * arguments, then call the implementation's ops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "morgana/ak_clock.h"
#include "morgana/ak_kv.h"
#include "morgana/ak_loop.h"
#include "morgana/ak_net.h"
#include "morgana/ak_stack.h"
#include "morgana/ak_time.h"

const char *
ak_strerror(int err)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case -ENODATA: return "key is unset";
	case -ENOENT: return "not found";
	case -ENOTCONN: return "device is not connected";
	case -EPROTO: return "the device's backend broke the protocol";
	case -EDEADLK: return "blocking call from a callback";
	case -EROFS: return "store is read-only";
	case -ESHUTDOWN: return "device was disconnected";
	case -ENOSPC: return "no space left (backend limit reached)";
	case -EISDIR: return "is a dictionary, not a value";
	case -ENOTDIR: return "is a value, not a dictionary";
	default: return strerror(-err);
	}
}

/* ---- clocks ---- */

struct ak_pclock { const struct ak_pclock_ops *ops; void *dev; };
struct ak_mclock { const struct ak_mclock_ops *ops; void *dev; };

int
ak_pclock_new(const struct ak_pclock_ops *ops, void *dev,
	      struct ak_pclock **out)
{
	*out = NULL;
	if (ops == NULL || ops->now == NULL)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_pclock){ ops, dev };
	return 0;
}

void
ak_pclock_free(struct ak_pclock *c)
{
	if (c && c->ops->close)
		c->ops->close(c->dev);
	free(c);
}

int
ak_pclock_now(struct ak_pclock *c, int64_t *sec, uint32_t *nsec)
{
	if (c == NULL || sec == NULL || nsec == NULL)
		return -EINVAL;
	return c->ops->now(c->dev, sec, nsec);
}

int
ak_mclock_new(const struct ak_mclock_ops *ops, void *dev,
	      struct ak_mclock **out)
{
	*out = NULL;
	if (ops == NULL || ops->elapsed_ns == NULL)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_mclock){ ops, dev };
	return 0;
}

void
ak_mclock_free(struct ak_mclock *c)
{
	if (c && c->ops->close)
		c->ops->close(c->dev);
	free(c);
}

int
ak_mclock_elapsed_ns(struct ak_mclock *c, uint64_t *ns)
{
	if (c == NULL || ns == NULL)
		return -EINVAL;
	return c->ops->elapsed_ns(c->dev, ns);
}

/* ---- time ---- */

struct ak_time {
	const struct ak_time_ops *ops;
	void *dev;
	struct ak_loop *loop;
};

int
ak_time_new(const struct ak_time_ops *ops, void *dev, struct ak_loop *loop,
	    struct ak_time **out)
{
	*out = NULL;
	if (ops == NULL || ops->at == NULL || ops->cancel == NULL ||
	    loop == NULL)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_time){ ops, dev, loop };
	return 0;
}

void
ak_time_free(struct ak_time *t)
{
	if (t && t->ops->close)
		t->ops->close(t->dev);
	free(t);
}

static uint64_t
deadline_after(uint64_t ns)
{
	uint64_t now = ak_now_ns();

	return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

int
ak_time_at(struct ak_time *t, uint64_t deadline_ns, ak_time_fn *cb,
	   void *arg, uint64_t *id)
{
	uint64_t dummy;

	if (t == NULL || cb == NULL)
		return -EINVAL;
	return t->ops->at(t->dev, deadline_ns, cb, arg, id ? id : &dummy);
}

int
ak_time_after(struct ak_time *t, uint64_t ns, ak_time_fn *cb, void *arg,
	      uint64_t *id)
{
	return ak_time_at(t, deadline_after(ns), cb, arg, id);
}

int
ak_time_cancel(struct ak_time *t, uint64_t id)
{
	if (t == NULL)
		return -EINVAL;
	return t->ops->cancel(t->dev, id);
}

static void
sleep_done(void *arg, uint64_t id, int err)
{
	(void)id;
	ak_waiter_signal(arg, err);
}

int
ak_time_sleep_ns(struct ak_time *t, uint64_t ns)
{
	struct ak_waiter w;
	uint64_t id;
	int rc;

	if (t == NULL)
		return -EINVAL;
	ak_waiter_init(&w, t->loop);
	if ((rc = t->ops->at(t->dev, deadline_after(ns), sleep_done, &w,
			     &id)) < 0)
		return rc;
	rc = ak_waiter_wait(&w);
	if (rc == -EDEADLK && !w.done)
		t->ops->cancel(t->dev, id);	/* w dies with this frame */
	return rc;
}

/* ---- KV ---- */

struct ak_kv { const struct ak_kv_ops *ops; void *dev; };

int
ak_kv_new(const struct ak_kv_ops *ops, void *dev, struct ak_kv **out)
{
	*out = NULL;
	if (ops == NULL || !ops->exists || !ops->get || !ops->get_partial ||
	    !ops->size || !ops->list || !ops->last_modified || !ops->digest)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_kv){ ops, dev };
	return 0;
}

void
ak_kv_free(struct ak_kv *kv)
{
	if (kv && kv->ops->close)
		kv->ops->close(kv->dev);
	free(kv);
}

#define KV_CHECK(kv, key) \
	if ((kv) == NULL || (key) == NULL) return -EINVAL

int
ak_kv_exists(struct ak_kv *kv, const char *key, enum ak_kv_kind *kind)
{
	KV_CHECK(kv, key);
	if (kind == NULL)
		return -EINVAL;
	return kv->ops->exists(kv->dev, key, kind);
}

int
ak_kv_get(struct ak_kv *kv, const char *key, void **val, size_t *len)
{
	KV_CHECK(kv, key);
	if (val == NULL || len == NULL)
		return -EINVAL;
	return kv->ops->get(kv->dev, key, val, len);
}

ssize_t
ak_kv_get_partial(struct ak_kv *kv, const char *key, uint64_t off, void *buf,
		  size_t len)
{
	KV_CHECK(kv, key);
	if (buf == NULL && len > 0)
		return -EINVAL;
	return kv->ops->get_partial(kv->dev, key, off, buf, len);
}

int
ak_kv_size(struct ak_kv *kv, const char *key, uint64_t *size)
{
	KV_CHECK(kv, key);
	if (size == NULL)
		return -EINVAL;
	return kv->ops->size(kv->dev, key, size);
}

int
ak_kv_list(struct ak_kv *kv, const char *key, struct ak_kv_entry **ents,
	   size_t *n)
{
	KV_CHECK(kv, key);
	if (ents == NULL || n == NULL)
		return -EINVAL;
	return kv->ops->list(kv->dev, key, ents, n);
}

void
ak_kv_free_list(struct ak_kv_entry *ents, size_t n)
{
	for (size_t i = 0; ents && i < n; i++)
		free(ents[i].name);
	free(ents);
}

int
ak_kv_last_modified(struct ak_kv *kv, const char *key, int64_t *sec,
		    uint32_t *nsec)
{
	KV_CHECK(kv, key);
	if (sec == NULL || nsec == NULL)
		return -EINVAL;
	return kv->ops->last_modified(kv->dev, key, sec, nsec);
}

int
ak_kv_digest(struct ak_kv *kv, const char *key, uint8_t digest[32])
{
	KV_CHECK(kv, key);
	if (digest == NULL)
		return -EINVAL;
	return kv->ops->digest(kv->dev, key, digest);
}

int
ak_kv_set(struct ak_kv *kv, const char *key, const void *val, size_t len)
{
	KV_CHECK(kv, key);
	if (val == NULL && len > 0)
		return -EINVAL;
	return kv->ops->set ? kv->ops->set(kv->dev, key, val, len) : -EROFS;
}

int
ak_kv_set_partial(struct ak_kv *kv, const char *key, uint64_t off,
		  const void *val, size_t len)
{
	KV_CHECK(kv, key);
	if (val == NULL && len > 0)
		return -EINVAL;
	return kv->ops->set_partial ?
	       kv->ops->set_partial(kv->dev, key, off, val, len) : -EROFS;
}

int
ak_kv_remove(struct ak_kv *kv, const char *key)
{
	KV_CHECK(kv, key);
	return kv->ops->remove ? kv->ops->remove(kv->dev, key) : -EROFS;
}

int
ak_kv_rename(struct ak_kv *kv, const char *from, const char *to)
{
	KV_CHECK(kv, from);
	if (to == NULL)
		return -EINVAL;
	return kv->ops->rename ? kv->ops->rename(kv->dev, from, to) : -EROFS;
}

/* ---- STACK ---- */

struct ak_stack { const struct ak_stack_ops *ops; void *dev; };
struct ak_sock { struct ak_stack *s; void *sock; };

int
ak_stack_new(const struct ak_stack_ops *ops, void *dev, struct ak_stack **out)
{
	*out = NULL;
	if (ops == NULL || !ops->socket || !ops->connect || !ops->bind ||
	    !ops->listen || !ops->accept || !ops->recv || !ops->send ||
	    !ops->poll || !ops->release)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_stack){ ops, dev };
	return 0;
}

void
ak_stack_free(struct ak_stack *s)
{
	if (s && s->ops->close)
		s->ops->close(s->dev);
	free(s);
}

static int
sock_wrap(struct ak_stack *s, void *sock, struct ak_sock **out)
{
	if ((*out = malloc(sizeof(**out))) == NULL) {
		s->ops->release(s->dev, sock);
		return -ENOMEM;
	}
	**out = (struct ak_sock){ s, sock };
	return 0;
}

int
ak_stack_socket(struct ak_stack *s, enum ak_sock_type type,
		struct ak_sock **out)
{
	void *sock;
	int rc;

	if (s == NULL || out == NULL ||
	    (type != AK_SOCK_TCP && type != AK_SOCK_UDP))
		return -EINVAL;
	*out = NULL;
	if ((rc = s->ops->socket(s->dev, type, &sock)) < 0)
		return rc;
	return sock_wrap(s, sock, out);
}

int
ak_sock_connect(struct ak_sock *k, const struct ak_sockaddr *to)
{
	if (k == NULL || to == NULL)
		return -EINVAL;
	return k->s->ops->connect(k->s->dev, k->sock, to);
}

int
ak_sock_bind(struct ak_sock *k, const struct ak_sockaddr *at)
{
	if (k == NULL || at == NULL)
		return -EINVAL;
	return k->s->ops->bind(k->s->dev, k->sock, at);
}

int
ak_sock_listen(struct ak_sock *k, int backlog)
{
	if (k == NULL || backlog < 0)
		return -EINVAL;
	return k->s->ops->listen(k->s->dev, k->sock, backlog);
}

int
ak_sock_accept(struct ak_sock *k, struct ak_sock **out,
	       struct ak_sockaddr *from)
{
	struct ak_sockaddr dummy;
	void *sock;
	int rc;

	if (k == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	if ((rc = k->s->ops->accept(k->s->dev, k->sock, &sock,
				    from ? from : &dummy)) < 0)
		return rc;
	return sock_wrap(k->s, sock, out);
}

ssize_t
ak_sock_recv(struct ak_sock *k, void *buf, size_t len)
{
	if (k == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	return k->s->ops->recv(k->s->dev, k->sock, buf, len);
}

ssize_t
ak_sock_send(struct ak_sock *k, const void *buf, size_t len)
{
	if (k == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	return k->s->ops->send(k->s->dev, k->sock, buf, len);
}

ssize_t
ak_sock_sendto(struct ak_sock *k, const void *buf, size_t len,
	       const struct ak_sockaddr *to)
{
	if (k == NULL || to == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	if (k->s->ops->sendto == NULL)
		return -EOPNOTSUPP;
	return k->s->ops->sendto(k->s->dev, k->sock, buf, len, to);
}

ssize_t
ak_sock_recvfrom(struct ak_sock *k, void *buf, size_t len,
		 struct ak_sockaddr *from)
{
	struct ak_sockaddr dummy;

	if (k == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	if (k->s->ops->recvfrom == NULL)
		return -EOPNOTSUPP;
	return k->s->ops->recvfrom(k->s->dev, k->sock, buf, len,
				   from ? from : &dummy);
}

int
ak_sock_poll(struct ak_sock *k, unsigned events, uint64_t timeout_ns)
{
	if (k == NULL || events == 0)
		return -EINVAL;
	return k->s->ops->poll(k->s->dev, k->sock, events, timeout_ns);
}

void
ak_sock_close(struct ak_sock *k)
{
	if (k == NULL)
		return;
	k->s->ops->release(k->s->dev, k->sock);
	free(k);
}

/* ---- NET ---- */

struct ak_net { const struct ak_net_ops *ops; void *dev; bool down; };

int
ak_net_new(const struct ak_net_ops *ops, void *dev, struct ak_net **out)
{
	*out = NULL;
	if (ops == NULL || !ops->writev || !ops->listen || !ops->mac ||
	    !ops->mtu || !ops->disconnect)
		return -EINVAL;
	if ((*out = malloc(sizeof(**out))) == NULL)
		return -ENOMEM;
	**out = (struct ak_net){ ops, dev, false };
	return 0;
}

void
ak_net_free(struct ak_net *n)
{
	if (n && n->ops->close)
		n->ops->close(n->dev);
	free(n);
}

int
ak_net_writev(struct ak_net *n, const struct iovec *iov, int iovcnt)
{
	if (n == NULL || iov == NULL || iovcnt <= 0)
		return -EINVAL;
	if (n->down)
		return -ESHUTDOWN;
	return n->ops->writev(n->dev, iov, iovcnt);
}

int
ak_net_write(struct ak_net *n, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
			     .iov_len = len };

	if (buf == NULL || len == 0)
		return -EINVAL;
	return ak_net_writev(n, &iov, 1);
}

int
ak_net_listen(struct ak_net *n, ak_net_rx_fn *cb, void *arg)
{
	if (n == NULL || cb == NULL)
		return -EINVAL;
	if (n->down)
		return -ESHUTDOWN;
	return n->ops->listen(n->dev, cb, arg);
}

int
ak_net_mac(struct ak_net *n, uint8_t mac[6])
{
	if (n == NULL || mac == NULL)
		return -EINVAL;
	return n->ops->mac(n->dev, mac);
}

int
ak_net_mtu(struct ak_net *n, unsigned *mtu)
{
	if (n == NULL || mtu == NULL)
		return -EINVAL;
	return n->ops->mtu(n->dev, mtu);
}

int
ak_net_disconnect(struct ak_net *n)
{
	if (n == NULL)
		return -EINVAL;
	if (n->down)
		return -ESHUTDOWN;
	n->down = true;
	return n->ops->disconnect(n->dev);
}

int
ak_net_stats(struct ak_net *n, struct ak_net_stats *out)
{
	if (n == NULL || out == NULL)
		return -EINVAL;
	if (n->ops->stats == NULL)
		return -ENOTSUP;
	return n->ops->stats(n->dev, out);
}
