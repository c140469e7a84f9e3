/* tcpserver.c - the accept loop, and connects with a timeout.
 *
 * A listener's watch is on exactly when the server is not paused by its
 * caller, not backing off after a descriptor shortage, and the listener
 * has not failed for good.  Backing off turns every watch off and arms one
 * timer; a successful accept resets the delay.  Not retrying by accepting
 * and closing with a spare fd (libuv's trick) is deliberate: a waiting
 * client keeps its place in the backlog instead of being reset.
 *
 * The server may be freed from its callbacks: `depth` counts the accept
 * rounds on the stack, free only marks the server while it is nonzero, and
 * the round that ends last frees it.  A connect is one-shot: it frees
 * itself after its callback, so cancelling from the callback is a no-op.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "netutil.h"
#include "tcpserver.h"

#define ACCEPT_BATCH	64	/* connections per readiness, then yield */
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	1000
#define NOTE_EVERY_MS	1000
#define MAX_LISTEN	16	/* addresses whirl_tcpserver_listen binds */
#define ERRLEN		256
#define WORDSLEN	(WHIRL_ADDR_STRLEN + 32)	/* "host port N" */

struct listener {
	struct whirl_tcpserver *srv;
	int fd;
	struct whirl_watch *watch;
	bool broken;		/* failed for good: never watched again */
};

struct whirl_tcpserver {
	struct whirl_loop *loop;
	int stream_flags;
	whirl_accept_cb cb;
	void *arg;
	whirl_tcpserver_error_cb error_cb;
	void *error_arg;
	struct listener **ls;
	size_t nls;
	struct whirl_timer *retry;
	uint64_t delay_ms;	/* the next back-off */
	uint64_t noted_ms;	/* when a shortage was last reported */
	bool noted, paused, backing_off, freed;
	int depth;
};

/* "127.0.0.1 port 8080" or a path, for messages. */
static void
fd_words(int fd, char *buf, size_t size)
{
	struct whirl_addr a;
	char host[WHIRL_ADDR_STRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&a.ss;

	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1) {
		snprintf(buf, size, "fd %d", fd);
		return;
	}
	whirl_addr_host(sa, a.len, host, sizeof(host));
	if (whirl_addr_port(sa) == -1)
		snprintf(buf, size, "%s", host);
	else
		snprintf(buf, size, "%s port %d", host, whirl_addr_port(sa));
}

static bool
accepting(const struct whirl_tcpserver *srv)
{
	return !srv->paused && !srv->backing_off && !srv->freed;
}

static void
update_watches(struct whirl_tcpserver *srv)
{
	size_t i;
	int on = accepting(srv) ? WHIRL_READ : 0;

	for (i = 0; i < srv->nls; i++)
		if (!srv->ls[i]->broken)
			whirl_watch_set(srv->ls[i]->watch, on);
}

static void
destroy(struct whirl_tcpserver *srv)
{
	size_t i;

	for (i = 0; i < srv->nls; i++) {
		whirl_watch_free(srv->ls[i]->watch);
		if (srv->ls[i]->fd != -1)
			close(srv->ls[i]->fd);
		free(srv->ls[i]);
	}
	free(srv->ls);
	whirl_timer_free(srv->retry);
	free(srv);
}

/* Tell the error callback; shortages (limited) at most once a second. */
static void
note(struct listener *l, int errnum, bool limited)
{
	struct whirl_tcpserver *srv = l->srv;
	uint64_t now = whirl_loop_now_ms(srv->loop);
	char where[WORDSLEN], msg[ERRLEN + WORDSLEN];

	if (limited && srv->noted && now - srv->noted_ms < NOTE_EVERY_MS)
		return;
	if (limited) {
		srv->noted = true;
		srv->noted_ms = now;
	}
	if (srv->error_cb == NULL)
		return;
	fd_words(l->fd, where, sizeof(where));
	snprintf(msg, sizeof(msg), "accept %s: %s", where, strerror(errnum));
	srv->error_cb(srv, errnum, msg, srv->error_arg);
}

static void
retry_fired(struct whirl_timer *t, void *arg)
{
	struct whirl_tcpserver *srv = arg;

	(void)t;
	srv->backing_off = false;
	update_watches(srv);
}

/* Out of fds or memory: accepting again now would fail again at once. */
static void
back_off(struct whirl_tcpserver *srv)
{
	srv->backing_off = true;
	update_watches(srv);
	whirl_timer_start(srv->retry, srv->delay_ms, false);
	srv->delay_ms *= 2;
	if (srv->delay_ms > BACKOFF_MAX_MS)
		srv->delay_ms = BACKOFF_MAX_MS;
}

/* Returns true to go on accepting from l in this round. */
static bool
accept_failed(struct listener *l, int errnum)
{
	switch (errnum) {
	case EAGAIN:
		return false;
	case EINTR:
	case ECONNABORTED:
	/* Linux hands pending network errors of the new connection to
	 * accept(2); the listener is fine (see accept(2)). */
	case EPROTO:
	case ENOPROTOOPT:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENONET:
	case EOPNOTSUPP:
		return true;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		back_off(l->srv);
		note(l, errnum, true);
		return false;
	default:
		l->broken = true;
		whirl_watch_set(l->watch, 0);
		note(l, errnum, false);
		return false;
	}
}

/* Accept one connection.  Returns true to go on with the round. */
static bool
accept_one(struct listener *l)
{
	struct whirl_tcpserver *srv = l->srv;
	struct whirl_stream *s;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return accept_failed(l, errno);
	srv->delay_ms = BACKOFF_MIN_MS;
	if ((s = whirl_stream_new(srv->loop, fd,
	    srv->stream_flags | WHIRL_STREAM_SOCKET)) == NULL) {
		close(fd);
		note(l, whirl_error_errno(), true);
		return true;
	}
	srv->cb(srv, s, (struct sockaddr *)&ss, len, srv->arg);
	return true;
}

static void
readable(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct listener *l = arg;
	struct whirl_tcpserver *srv = l->srv;
	int i;

	(void)w;
	(void)fd;
	(void)ready;
	srv->depth++;
	for (i = 0; i < ACCEPT_BATCH; i++)
		if (!accepting(srv) || l->broken || !accept_one(l))
			break;
	if (--srv->depth == 0 && srv->freed)
		destroy(srv);
}

struct whirl_tcpserver *
whirl_tcpserver_new(struct whirl_loop *loop, int stream_flags,
    whirl_accept_cb cb, void *arg)
{
	struct whirl_tcpserver *srv = whirl__xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->stream_flags = stream_flags;
	srv->cb = cb;
	srv->arg = arg;
	srv->retry = whirl_timer_new(loop, retry_fired, srv);
	srv->delay_ms = BACKOFF_MIN_MS;
	return srv;
}

void
whirl_tcpserver_free(struct whirl_tcpserver *srv)
{
	if (srv == NULL)
		return;
	if (srv->depth > 0) {
		srv->freed = true;
		update_watches(srv);
		whirl_timer_stop(srv->retry);
		return;
	}
	destroy(srv);
}

int
whirl_tcpserver_add_fd(struct whirl_tcpserver *srv, int fd)
{
	struct listener *l;

	if (whirl__set_nonblock(fd) == -1 || whirl__set_cloexec(fd) == -1) {
		close(fd);
		return -1;
	}
	l = whirl__xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->fd = fd;
	l->watch = whirl_watch_new(srv->loop, fd, WHIRL_READ, readable, l);
	if (l->watch == NULL) {
		close(fd);
		free(l);
		return -1;
	}
	if (!accepting(srv))
		whirl_watch_set(l->watch, 0);
	srv->ls = whirl__xrealloc(srv->ls, (srv->nls + 1) * sizeof(*srv->ls));
	srv->ls[srv->nls++] = l;
	return 0;
}

/* Undo the last n whirl_tcpserver_add_fd calls. */
static void
drop_last(struct whirl_tcpserver *srv, int n)
{
	struct listener *l;

	while (n-- > 0) {
		l = srv->ls[--srv->nls];
		whirl_watch_free(l->watch);
		close(l->fd);
		free(l);
	}
}

int
whirl_tcpserver_listen(struct whirl_tcpserver *srv, const char *host,
    int port, int family, int backlog, int flags)
{
	int fds[MAX_LISTEN];
	int i, n;

	n = whirl_listen_host(host, port, family, backlog, flags, fds,
	    MAX_LISTEN);
	for (i = 0; i < n; i++) {
		if (whirl_tcpserver_add_fd(srv, fds[i]) == -1) {
			drop_last(srv, i);
			while (++i < n)
				close(fds[i]);
			return -1;
		}
	}
	return n;
}

int
whirl_tcpserver_local_addr(const struct whirl_tcpserver *srv, size_t i,
    struct whirl_addr *out)
{
	if (i >= srv->nls) {
		whirl__seterr(EINVAL, "no listener %zu", i);
		return -1;
	}
	out->len = sizeof(out->ss);
	if (getsockname(srv->ls[i]->fd, (struct sockaddr *)&out->ss,
	    &out->len) == -1) {
		whirl__seterrno("getsockname");
		return -1;
	}
	return 0;
}

void
whirl_tcpserver_set_error_cb(struct whirl_tcpserver *srv,
    whirl_tcpserver_error_cb cb, void *arg)
{
	srv->error_cb = cb;
	srv->error_arg = arg;
}

void
whirl_tcpserver_pause(struct whirl_tcpserver *srv)
{
	srv->paused = true;
	update_watches(srv);
}

void
whirl_tcpserver_resume(struct whirl_tcpserver *srv)
{
	srv->paused = false;
	update_watches(srv);
}

bool
whirl_tcpserver_paused(const struct whirl_tcpserver *srv)
{
	return srv->paused;
}

/* The listener structs stay (an accept round may be looking at one);
 * marked broken, they are never watched again. */
void
whirl_tcpserver_close_listeners(struct whirl_tcpserver *srv)
{
	struct listener *l;
	size_t i;

	for (i = 0; i < srv->nls; i++) {
		l = srv->ls[i];
		if (l->fd == -1)
			continue;
		whirl_watch_free(l->watch);
		l->watch = NULL;
		close(l->fd);
		l->fd = -1;
		l->broken = true;
	}
}

/*
 * Outgoing connections.
 */

struct whirl_connect {
	struct whirl_loop *loop;
	whirl_connect_cb cb;
	void *arg;
	struct whirl_connect_opts opts;
	struct whirl_resolve *resolve;	/* pending name lookup */
	struct whirl_addr *addrs;	/* to try, in order */
	size_t naddrs, next;
	const struct whirl_addr *current;
	int fd;				/* the attempt in progress */
	struct whirl_watch *watch;	/* on fd, for writability */
	struct whirl_timer *timeout;
	struct whirl_timer *soon;	/* starts the first attempt */
	int errnum;			/* the last attempt's failure */
	bool tried, in_cb;
	char err[ERRLEN];
};

static void
connect_destroy(struct whirl_connect *c)
{
	if (c->resolve != NULL)
		whirl_resolve_cancel(c->resolve);
	if (c->watch != NULL)
		whirl_watch_free(c->watch);
	if (c->fd != -1)
		close(c->fd);
	whirl_timer_free(c->timeout);
	whirl_timer_free(c->soon);
	free(c->addrs);
	free(c);
}

/* Hand the outcome over, then free: the callback fires once. */
static void
finish(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err)
{
	if (c->resolve != NULL) {
		whirl_resolve_cancel(c->resolve);
		c->resolve = NULL;
	}
	if (c->watch != NULL) {
		whirl_watch_free(c->watch);
		c->watch = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	c->in_cb = true;
	c->cb(c, s, errnum, err, c->arg);
	connect_destroy(c);
}

/* Record why an attempt failed ("connect 127.0.0.1 port 9: ...") and
 * close its socket.  Returns -1. */
static int
attempt_failed(struct whirl_connect *c, const char *what,
    const struct whirl_addr *a, int errnum)
{
	char host[WHIRL_ADDR_STRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (c->watch != NULL) {
		whirl_watch_free(c->watch);
		c->watch = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	whirl_addr_host(sa, a->len, host, sizeof(host));
	c->errnum = errnum;
	if (whirl_addr_port(sa) == -1)
		snprintf(c->err, sizeof(c->err), "%s %s: %s", what, host,
		    strerror(errnum));
	else
		snprintf(c->err, sizeof(c->err), "%s %s port %d: %s", what,
		    host, whirl_addr_port(sa), strerror(errnum));
	return -1;
}

static void try_next(struct whirl_connect *);

static void
writable(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct whirl_connect *c = arg;
	struct whirl_stream *s;
	socklen_t len;
	int e = 0;

	(void)w;
	(void)ready;
	len = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		attempt_failed(c, "connect", c->current, e);
		try_next(c);
		return;
	}
	whirl_watch_free(c->watch);
	c->watch = NULL;
	c->fd = -1;
	if ((s = whirl_stream_new(c->loop, fd, c->opts.stream_flags)) == NULL) {
		close(fd);
		snprintf(c->err, sizeof(c->err), "%s", whirl_error());
		finish(c, NULL, whirl_error_errno(), c->err);
		return;
	}
	finish(c, s, 0, NULL);
}

/* Start connecting to a.  Returns 0 when the attempt is in progress (even
 * if already connected: the watch tells), -1 when it failed at once. */
static int
attempt(struct whirl_connect *c, const struct whirl_addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const struct whirl_addr *b = &c->opts.bind;

	c->tried = true;
	c->current = a;
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return attempt_failed(c, "socket", a, errno);
	if (b->len != 0 &&
	    bind(c->fd, (const struct sockaddr *)&b->ss, b->len) == -1)
		return attempt_failed(c, "bind", b, errno);
	if (connect(c->fd, sa, a->len) == -1 && errno != EINPROGRESS)
		return attempt_failed(c, "connect", a, errno);
	c->watch = whirl_watch_new(c->loop, c->fd, WHIRL_WRITE, writable, c);
	return 0;
}

static void
try_next(struct whirl_connect *c)
{
	const struct whirl_addr *a;

	while (c->next < c->naddrs) {
		a = &c->addrs[c->next++];
		/* A local address binds only sockets of its own family. */
		if (c->opts.bind.len != 0 &&
		    a->ss.ss_family != c->opts.bind.ss.ss_family)
			continue;
		if (attempt(c, a) == 0)
			return;
	}
	if (!c->tried && c->err[0] == '\0') {
		c->errnum = EAFNOSUPPORT;
		snprintf(c->err, sizeof(c->err), "connect: no address of the "
		    "local address's family");
	}
	finish(c, NULL, c->errnum, c->err);
}

static void
soon_fired(struct whirl_timer *t, void *arg)
{
	(void)t;
	try_next(arg);
}

static void
timed_out(struct whirl_timer *t, void *arg)
{
	(void)t;
	finish(arg, NULL, ETIMEDOUT, whirl_err_timeout);
}

static struct whirl_connect *
connect_new(struct whirl_loop *loop, const struct whirl_connect_opts *opts,
    whirl_connect_cb cb, void *arg)
{
	struct whirl_connect *c = whirl__xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	if (opts != NULL)
		c->opts = *opts;
	c->timeout = whirl_timer_new(loop, timed_out, c);
	c->soon = whirl_timer_new(loop, soon_fired, c);
	if (c->opts.timeout_ms != 0)
		whirl_timer_start(c->timeout, c->opts.timeout_ms, false);
	return c;
}

struct whirl_connect *
whirl_tcp_connect(struct whirl_loop *loop, const struct sockaddr *sa,
    socklen_t len, const struct whirl_connect_opts *opts,
    whirl_connect_cb cb, void *arg)
{
	struct whirl_connect *c = connect_new(loop, opts, cb, arg);

	if (len == 0 || len > sizeof(c->addrs->ss)) {
		c->errnum = EINVAL;
		snprintf(c->err, sizeof(c->err), "connect: bad address length "
		    "%u", (unsigned)len);
	} else {
		c->addrs = whirl__xcalloc(1, sizeof(*c->addrs));
		memcpy(&c->addrs->ss, sa, len);
		c->addrs->len = len;
		c->naddrs = 1;
	}
	whirl_timer_start(c->soon, 0, false);
	return c;
}

static void
resolved(struct whirl_resolve *r, const struct whirl_addr *addrs,
    size_t naddrs, int errnum, const char *err, void *arg)
{
	struct whirl_connect *c = arg;

	(void)r;
	c->resolve = NULL;
	if (err != NULL) {
		snprintf(c->err, sizeof(c->err), "%s", err);
		finish(c, NULL, errnum, c->err);
		return;
	}
	c->addrs = whirl__xmemdup(addrs, naddrs * sizeof(*addrs));
	c->naddrs = naddrs;
	try_next(c);
}

struct whirl_connect *
whirl_tcp_connect_host(struct whirl_loop *loop, const char *host, int port,
    int family, const struct whirl_connect_opts *opts, whirl_connect_cb cb,
    void *arg)
{
	struct whirl_connect *c = connect_new(loop, opts, cb, arg);

	c->resolve = whirl_resolve(loop, host, port, family, resolved, c);
	return c;
}

void
whirl_connect_cancel(struct whirl_connect *c)
{
	if (c == NULL || c->in_cb)
		return;
	connect_destroy(c);
}
