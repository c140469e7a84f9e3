/* test_tcpserver.c - accepting into streams, pausing, running out of fds,
 * and connects that succeed, are refused, time out or are cancelled. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static struct whirl_loop *loop;
static struct whirl_timer *guard;
static bool hung;
static char dir[] = "/tmp/whirl-tcpserver-XXXXXX";

/* Every accept4 the library makes comes here first (the executable's
 * definition wins over libc's), so the EMFILE test can count them. */
static int accept4_calls;

int
accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
	accept4_calls++;
	return (int)syscall(SYS_accept4, fd, sa.__sockaddr__, len, flags);
}

static void
guard_fired(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	hung = true;
	whirl_loop_stop(loop);
}

/* A loop with a guard: a test that waits for an event that never comes
 * fails after 10 s instead of hanging. */
static void
setup(void)
{
	loop = whirl_loop_new();
	guard = whirl_timer_new(loop, guard_fired, NULL);
	whirl_timer_start(guard, 10000, false);
	hung = false;
}

static void
teardown(void)
{
	CHECK(!hung);
	whirl_timer_free(guard);
	whirl_loop_free(loop);
}

static void
stop_cb(struct whirl_loop *l, void *arg)
{
	(void)arg;
	whirl_loop_stop(l);
}

static struct whirl_addr
literal(const char *host, int port)
{
	struct whirl_addr a;

	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(whirl_addr_parse_literal(host, port, AF_UNSPEC, &a), 0);
	return a;
}

static const char *
fmt(const struct sockaddr *sa, socklen_t len, char *buf)
{
	return whirl_addr_format(sa, len, buf, WHIRL_ADDR_STRLEN);
}

/* A port that was just free: listen on port 0, note it, close. */
static int
closed_port(const char *host)
{
	struct whirl_addr a = literal(host, 0);
	int fd, port;

	fd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 1, 0);
	CHECK(fd >= 0);
	port = whirl_fd_local_port(fd);
	close(fd);
	return port;
}

/* A plain blocking client, connected before the loop runs. */
static int
dial(const struct whirl_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ_INT(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
}

/* The outcome of one connect, as its callback saw it. */
struct outcome {
	int calls;
	struct whirl_stream *s;
	int errnum;
	char err[256];
	const char *errp;
	bool stop, cancel_inside;
};

static void
on_connect(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->s = s;
	o->errnum = errnum;
	o->errp = err;
	snprintf(o->err, sizeof(o->err), "%s", err ? err : "");
	if (o->cancel_inside) {
		whirl_connect_cancel(c);	/* a no-op here */
		whirl_stream_free(s);
		o->s = NULL;
	}
	if (o->stop)
		whirl_loop_stop(loop);
}

/* Connect to a and run the loop until the callback. */
static void
connect_to(const struct whirl_addr *a, const struct whirl_connect_opts *opts,
    struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->stop = true;
	whirl_tcp_connect(loop, (const struct sockaddr *)&a->ss, a->len, opts,
	    on_connect, o);
	CHECK_EQ_INT(o->calls, 0);	/* never from inside the call */
	whirl_loop_run(loop);
	CHECK_EQ_INT(o->calls, 1);
}

/*
 * A ping-pong between an accepted and a connected stream.
 */

struct exchange {
	struct whirl_tcpserver *srv;
	struct whirl_stream *server, *client;
	char peer[WHIRL_ADDR_STRLEN];
	char server_got[16], client_got[16];
	int accepted;
};

static void
client_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct exchange *x = arg;

	(void)s;
	CHECK(err == NULL);
	snprintf(x->client_got, sizeof(x->client_got), "%.*s", (int)len,
	    data);
	whirl_loop_stop(loop);
}

static void
server_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct exchange *x = arg;

	CHECK(err == NULL);
	snprintf(x->server_got, sizeof(x->server_got), "%.*s", (int)len,
	    data);
	CHECK_EQ_INT(whirl_stream_write(s, "pong\n", 5, NULL, NULL), 0);
}

static void
exchange_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
	struct exchange *x = arg;

	CHECK(srv == x->srv);
	x->accepted++;
	x->server = s;
	fmt(peer, peerlen, x->peer);
	CHECK_EQ_INT(whirl_stream_read_until(s, "\n", 1, 100, server_read, x),
	    0);
}

static void
exchange_connect(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct exchange *x = arg;

	(void)c;
	CHECK(s != NULL);
	CHECK_EQ_INT(errnum, 0);
	CHECK(err == NULL);
	if (s == NULL) {
		whirl_loop_stop(loop);
		return;
	}
	x->client = s;
	CHECK_EQ_INT(whirl_stream_write(s, "ping\n", 5, NULL, NULL), 0);
	CHECK_EQ_INT(whirl_stream_read_until(s, "\n", 1, 100, client_read, x),
	    0);
}

/* Serve on listening fd lfd, connect to it, swap a line each way.  Returns
 * the peer address the server saw. */
static void
exchange_over(int lfd, struct exchange *x)
{
	struct whirl_addr la;

	memset(x, 0, sizeof(*x));
	setup();
	x->srv = whirl_tcpserver_new(loop, 0, exchange_accept, x);
	CHECK_EQ_INT(whirl_tcpserver_add_fd(x->srv, lfd), 0);
	CHECK_EQ_INT(whirl_tcpserver_local_addr(x->srv, 0, &la), 0);
	CHECK_EQ_INT(whirl_tcpserver_local_addr(x->srv, 1, &la), -1);
	whirl_tcp_connect(loop, (struct sockaddr *)&la.ss, la.len, NULL,
	    exchange_connect, x);
	whirl_loop_run(loop);
	CHECK_EQ_INT(x->accepted, 1);
	CHECK_EQ_STR(x->server_got, "ping\n");
	CHECK_EQ_STR(x->client_got, "pong\n");
}

static void
exchange_done(struct exchange *x)
{
	whirl_stream_free(x->server);
	whirl_stream_free(x->client);
	whirl_tcpserver_free(x->srv);
	teardown();
}

static void
check_tcp_exchange(const char *host, const char *peer_fmt)
{
	struct whirl_addr a = literal(host, 0), local;
	struct exchange x;
	char want[WHIRL_ADDR_STRLEN];
	int lfd;

	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, WHIRL_BACKLOG,
	    0);
	CHECK(lfd >= 0);
	exchange_over(lfd, &x);
	/* The peer the server saw is the client's own address. */
	local.len = sizeof(local.ss);
	CHECK(x.client != NULL);
	if (x.client != NULL) {
		CHECK_EQ_INT(getsockname(whirl_stream_fd(x.client),
		    (struct sockaddr *)&local.ss, &local.len), 0);
		snprintf(want, sizeof(want), peer_fmt,
		    whirl_addr_port((struct sockaddr *)&local.ss));
		CHECK_EQ_STR(x.peer, want);
	}
	exchange_done(&x);
}

TEST(accept_and_exchange_over_ipv4)
{
	check_tcp_exchange("127.0.0.1", "127.0.0.1:%d");
}

TEST(accept_and_exchange_over_ipv6)
{
	check_tcp_exchange("::1", "[::1]:%d");
}

TEST(accept_and_exchange_over_a_unix_path)
{
	struct exchange x;
	char path[128];
	int lfd;

	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = whirl_listen_unix(path, WHIRL_BACKLOG);
	CHECK(lfd >= 0);
	exchange_over(lfd, &x);
	CHECK_EQ_STR(x.peer, "(unnamed)");
	exchange_done(&x);
	unlink(path);
}

TEST(listen_by_name_and_connect_by_name)
{
	struct exchange x;
	struct whirl_addr la;
	struct outcome o;

	memset(&x, 0, sizeof(x));
	setup();
	x.srv = whirl_tcpserver_new(loop, 0, exchange_accept, &x);
	CHECK_EQ_INT(whirl_tcpserver_listen(x.srv, "localhost", 0, AF_INET,
	    WHIRL_BACKLOG, 0), 1);
	CHECK_EQ_INT(whirl_tcpserver_local_addr(x.srv, 0, &la), 0);
	whirl_tcp_connect_host(loop, "localhost",
	    whirl_addr_port((struct sockaddr *)&la.ss), AF_INET, NULL,
	    exchange_connect, &x);
	whirl_loop_run(loop);
	CHECK_EQ_STR(x.server_got, "ping\n");
	CHECK_EQ_STR(x.client_got, "pong\n");

	/* An unknown name: errno 0, the tool's "unknown host". */
	memset(&o, 0, sizeof(o));
	o.stop = true;
	whirl_tcp_connect_host(loop, "nothing-here.invalid", 80, AF_UNSPEC,
	    NULL, on_connect, &o);
	whirl_loop_run(loop);
	CHECK_EQ_INT(o.calls, 1);
	CHECK(o.s == NULL);
	CHECK_EQ_INT(o.errnum, 0);
	CHECK_EQ_STR(o.err, "unknown host nothing-here.invalid");
	exchange_done(&x);
}

TEST(connect_refused_by_a_closed_port)
{
	struct whirl_addr a;
	struct outcome o;
	char want[128];
	int port;

	setup();
	port = closed_port("127.0.0.1");
	a = literal("127.0.0.1", port);
	connect_to(&a, NULL, &o);
	CHECK(o.s == NULL);
	CHECK_EQ_INT(o.errnum, ECONNREFUSED);
	snprintf(want, sizeof(want),
	    "connect 127.0.0.1 port %d: Connection refused", port);
	CHECK_EQ_STR(o.err, want);

	port = closed_port("::1");
	a = literal("::1", port);
	connect_to(&a, NULL, &o);
	CHECK_EQ_INT(o.errnum, ECONNREFUSED);
	snprintf(want, sizeof(want), "connect ::1 port %d: Connection refused",
	    port);
	CHECK_EQ_STR(o.err, want);
	teardown();
}

TEST(connect_binds_the_local_address_first)
{
	struct exchange x;
	struct whirl_connect_opts opts;
	struct whirl_addr la;
	struct outcome o;
	char want[128];
	int lfd, port, srvport;

	memset(&x, 0, sizeof(x));
	memset(&opts, 0, sizeof(opts));
	setup();
	la = literal("127.0.0.1", 0);
	lfd = whirl_listen_tcp((struct sockaddr *)&la.ss, la.len, 8, 0);
	srvport = whirl_fd_local_port(lfd);
	x.srv = whirl_tcpserver_new(loop, 0, exchange_accept, &x);
	CHECK_EQ_INT(whirl_tcpserver_add_fd(x.srv, lfd), 0);
	la = literal("127.0.0.1", srvport);

	/* socket -B: the server sees the port the client bound. */
	port = closed_port("127.0.0.1");
	opts.bind = literal("127.0.0.1", port);
	whirl_tcp_connect(loop, (struct sockaddr *)&la.ss, la.len, &opts,
	    exchange_connect, &x);
	whirl_loop_run(loop);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	CHECK_EQ_STR(x.peer, want);
	CHECK_EQ_STR(x.client_got, "pong\n");

	/* A local address already taken. */
	opts.bind = literal("127.0.0.1", srvport);
	connect_to(&la, &opts, &o);
	CHECK_EQ_INT(o.errnum, EADDRINUSE);
	snprintf(want, sizeof(want),
	    "bind 127.0.0.1 port %d: Address already in use", srvport);
	CHECK_EQ_STR(o.err, want);

	/* A local address of the wrong family. */
	opts.bind = literal("::1", 0);
	connect_to(&la, &opts, &o);
	CHECK_EQ_INT(o.errnum, EAFNOSUPPORT);
	CHECK_EQ_STR(o.err, "connect: no address of the local address's "
	    "family");
	exchange_done(&x);
}

/* Fill a backlog-0 listener with connects nobody accepts until one stays
 * in progress: then any further connect waits for a SYN-ACK that never
 * comes.  Returns how many client fds it left in fds. */
static int
fill_backlog(const struct whirl_addr *a, int *fds, int max)
{
	struct pollfd p;
	int n;

	for (n = 0; n < max; n++) {
		fds[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (connect(fds[n], (const struct sockaddr *)&a->ss,
		    a->len) == 0)
			continue;
		CHECK_EQ_INT(errno, EINPROGRESS);
		p.fd = fds[n];
		p.events = POLLOUT;
		if (poll(&p, 1, 200) == 0)
			return n + 1;
	}
	CHECK(!"the backlog never filled");
	return n;
}

TEST(connect_times_out_on_a_full_backlog)
{
	struct whirl_connect_opts opts;
	struct whirl_connect *other;
	struct whirl_addr a;
	struct outcome o, o2;
	int lfd, fds[16], n;

	setup();
	a = literal("127.0.0.1", 0);
	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 0, 0);
	a = literal("127.0.0.1", whirl_fd_local_port(lfd));
	n = fill_backlog(&a, fds, 16);

	/* A second connect in progress, without a timeout, is cancelled
	 * when the first times out. */
	memset(&o2, 0, sizeof(o2));
	other = whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_connect, &o2);
	memset(&opts, 0, sizeof(opts));
	opts.timeout_ms = 200;
	connect_to(&a, &opts, &o);
	whirl_connect_cancel(other);
	CHECK(o.s == NULL);
	CHECK_EQ_INT(o.errnum, ETIMEDOUT);
	CHECK(o.errp == whirl_err_timeout);
	CHECK_EQ_INT(o2.calls, 0);
	while (n > 0)
		close(fds[--n]);
	close(lfd);
	teardown();
}

TEST(connect_cancelled_or_freed_from_its_callback)
{
	struct whirl_connect *c;
	struct whirl_addr a;
	struct outcome o;
	int lfd, cfd;

	setup();
	a = literal("127.0.0.1", 0);
	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8, 0);
	a = literal("127.0.0.1", whirl_fd_local_port(lfd));

	/* Cancelled before it ran: no callback, nothing left on the loop. */
	memset(&o, 0, sizeof(o));
	c = whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_connect, &o);
	whirl_connect_cancel(c);
	whirl_loop_add_callback(loop, stop_cb, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(o.calls, 0);

	/* The callback cancels itself (a no-op) and frees its stream. */
	memset(&o, 0, sizeof(o));
	o.stop = true;
	o.cancel_inside = true;
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_connect, &o);
	whirl_loop_run(loop);
	CHECK_EQ_INT(o.calls, 1);
	CHECK_EQ_INT(o.errnum, 0);
	cfd = accept(lfd, NULL, NULL);
	CHECK(cfd >= 0);
	close(cfd);
	close(lfd);
	teardown();
}

/*
 * Accept loop behaviour.
 */

struct counter {
	struct whirl_tcpserver *srv;
	int accepted;
	int at_next_turn;	/* accepted when the next turn began */
	bool free_inside, pause_inside;
	struct whirl_addr addr;
	struct outcome late;
	int errors, errnum;
	char msg[256];
};

static void
next_turn(struct whirl_loop *l, void *arg)
{
	struct counter *k = arg;

	k->at_next_turn = k->accepted;
	whirl_loop_stop(l);
}

static void
counting_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
	struct counter *k = arg;

	(void)peer;
	(void)peerlen;
	whirl_stream_free(s);
	if (k->accepted++ == 0)
		whirl_loop_add_callback(loop, next_turn, k);
	if (k->free_inside) {
		whirl_tcpserver_free(srv);
		k->srv = NULL;
	}
}

static struct whirl_tcpserver *
counting_server(struct counter *k, const char *host)
{
	struct whirl_addr a = literal(host, 0);
	int lfd;

	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, WHIRL_BACKLOG,
	    0);
	k->addr = literal(host, whirl_fd_local_port(lfd));
	k->srv = whirl_tcpserver_new(loop, 0, counting_accept, k);
	CHECK_EQ_INT(whirl_tcpserver_add_fd(k->srv, lfd), 0);
	return k->srv;
}

TEST(one_readiness_drains_the_backlog)
{
	struct counter k;
	int c[3], i;

	memset(&k, 0, sizeof(k));
	setup();
	counting_server(&k, "127.0.0.1");
	for (i = 0; i < 3; i++)
		c[i] = dial(&k.addr);
	whirl_loop_run(loop);
	CHECK_EQ_INT(k.at_next_turn, 3);
	for (i = 0; i < 3; i++)
		close(c[i]);
	whirl_tcpserver_free(k.srv);
	teardown();
}

TEST(server_freed_inside_the_accept_callback)
{
	struct counter k;
	struct outcome o;
	int c[3], i;

	memset(&k, 0, sizeof(k));
	setup();
	counting_server(&k, "127.0.0.1");
	k.free_inside = true;
	for (i = 0; i < 3; i++)
		c[i] = dial(&k.addr);
	whirl_loop_run(loop);
	/* socket(1) without -l: one connection, then the port is closed. */
	CHECK_EQ_INT(k.accepted, 1);
	CHECK(k.srv == NULL);
	connect_to(&k.addr, NULL, &o);
	CHECK_EQ_INT(o.errnum, ECONNREFUSED);
	for (i = 0; i < 3; i++)
		close(c[i]);
	teardown();
}

static void
pause_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t peerlen, void *arg);

static void
check_still_paused(struct whirl_timer *t, void *arg)
{
	struct counter *k = arg;

	whirl_timer_free(t);
	CHECK_EQ_INT(k->accepted, 1);
	CHECK(whirl_tcpserver_paused(k->srv));
	whirl_tcpserver_resume(k->srv);
	CHECK(!whirl_tcpserver_paused(k->srv));
}

/* The second client is in the backlog: give the server time to (wrongly)
 * accept it before resuming. */
static void
second_connected(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct counter *k = arg;
	struct whirl_timer *t;

	(void)c;
	(void)err;
	CHECK_EQ_INT(errnum, 0);
	k->late.s = s;
	t = whirl_timer_new(loop, check_still_paused, k);
	whirl_timer_start(t, 150, false);
}

static void
pause_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
	struct counter *k = arg;

	(void)peer;
	(void)peerlen;
	whirl_stream_free(s);
	if (++k->accepted == 2) {
		whirl_loop_stop(loop);
		return;
	}
	whirl_tcpserver_pause(srv);
	whirl_tcp_connect(loop, (struct sockaddr *)&k->addr.ss, k->addr.len,
	    NULL, second_connected, k);
}

TEST(pause_and_resume_accepting)
{
	struct counter k;
	struct whirl_addr a;
	int lfd, c1;

	memset(&k, 0, sizeof(k));
	setup();
	a = literal("127.0.0.1", 0);
	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8, 0);
	k.addr = literal("127.0.0.1", whirl_fd_local_port(lfd));
	k.srv = whirl_tcpserver_new(loop, 0, pause_accept, &k);
	CHECK_EQ_INT(whirl_tcpserver_add_fd(k.srv, lfd), 0);
	c1 = dial(&k.addr);
	whirl_loop_run(loop);
	CHECK_EQ_INT(k.accepted, 2);
	close(c1);
	whirl_stream_free(k.late.s);
	whirl_tcpserver_free(k.srv);
	teardown();
}

static void
close_on_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
	struct counter *k = arg;

	(void)peer;
	(void)peerlen;
	k->accepted++;
	k->late.s = s;
	/* From inside the accept round, as a graceful stop may. */
	whirl_tcpserver_close_listeners(srv);
	whirl_tcpserver_close_listeners(srv);   /* twice is harmless */
	whirl_loop_stop(loop);
}

/* After close_listeners a connect is refused at once, instead of
 * waiting in a backlog nobody reads; the accepted stream lives on. */
TEST(closed_listeners_refuse_new_connections)
{
	struct counter k;
	struct whirl_addr a, local;
	int lfd, c1, c2;

	memset(&k, 0, sizeof(k));
	setup();
	a = literal("127.0.0.1", 0);
	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8, 0);
	k.addr = literal("127.0.0.1", whirl_fd_local_port(lfd));
	k.srv = whirl_tcpserver_new(loop, 0, close_on_accept, &k);
	CHECK_EQ_INT(whirl_tcpserver_add_fd(k.srv, lfd), 0);
	c1 = dial(&k.addr);
	whirl_loop_run(loop);
	CHECK_EQ_INT(k.accepted, 1);
	CHECK_EQ_INT(whirl_tcpserver_local_addr(k.srv, 0, &local), -1);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(c2, (struct sockaddr *)&k.addr.ss, k.addr.len),
	    -1);
	CHECK_EQ_INT(errno, ECONNREFUSED);
	CHECK_EQ_INT(whirl_stream_write(k.late.s, "x", 1, NULL, NULL), 0);
	close(c1);
	close(c2);
	whirl_stream_free(k.late.s);
	whirl_tcpserver_free(k.srv);
	teardown();
}

/*
 * Out of file descriptors.
 */

#define MAXFILL 1024

struct emfile {
	struct counter k;
	int fillers[MAXFILL], nfill;
	int calls_while_short;
	struct whirl_timer *release;
};

/* The highest open fd (inherited ones included), from /proc; those at or
 * above the limit are valgrind's own. */
static int
highest_fd(rlim_t limit)
{
	struct dirent *d;
	DIR *dp = opendir("/proc/self/fd");
	int fd, max = 2;

	CHECK(dp != NULL);
	while (dp != NULL && (d = readdir(dp)) != NULL)
		if ((fd = atoi(d->d_name)) > max && (rlim_t)fd < limit)
			max = fd;
	if (dp != NULL)
		closedir(dp);
	return max;
}

/* The soft fd limit the kernel enforces, from /proc/self/limits. */
static long long
kernel_nofile(void)
{
	char line[256];
	long long soft = -1;
	FILE *f = fopen("/proc/self/limits", "re");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Max open files %lld", &soft) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return soft;
}

static void
emfile_error(struct whirl_tcpserver *srv, int errnum, const char *msg,
    void *arg)
{
	struct emfile *e = arg;

	(void)srv;
	if (e->k.errors++ == 0) {
		/* Let it retry a while (100 ms, then 200 ms), then free fds
		 * before the third retry (400 ms later). */
		whirl_timer_start(e->release, 450, false);
	}
	e->k.errnum = errnum;
	snprintf(e->k.msg, sizeof(e->k.msg), "%s", msg);
}

static void
release_fds(struct whirl_timer *t, void *arg)
{
	struct emfile *e = arg;

	(void)t;
	e->calls_while_short = accept4_calls;
	while (e->nfill > 0)
		close(e->fillers[--e->nfill]);
}

TEST(out_of_fds_pauses_accepting_without_spinning)
{
	struct emfile e;
	struct rlimit saved, low;
	char want[128];
	int c, fd;

	memset(&e, 0, sizeof(e));
	setup();
	counting_server(&e.k, "127.0.0.1");
	whirl_tcpserver_set_error_cb(e.k.srv, emfile_error, &e);
	e.release = whirl_timer_new(loop, release_fds, &e);
	c = dial(&e.k.addr);

	/* Use up every descriptor under a lowered limit. */
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = highest_fd(saved.rlim_cur) + 16;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	if (kernel_nofile() != (long long)low.rlim_cur) {
		/* valgrind keeps the kernel's limit and fakes EMFILE after
		 * accepting, which drops the connection: nothing to test. */
		printf("# skipped: RLIMIT_NOFILE is emulated (valgrind?)\n");
		setrlimit(RLIMIT_NOFILE, &saved);
		close(c);
		whirl_timer_free(e.release);
		whirl_tcpserver_free(e.k.srv);
		teardown();
		return;
	}
	while (e.nfill < MAXFILL && (fd = dup(c)) != -1)
		e.fillers[e.nfill++] = fd;
	CHECK_EQ_INT(errno, EMFILE);
	CHECK(e.nfill < MAXFILL);

	accept4_calls = 0;
	whirl_loop_run(loop);
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &saved), 0);

	/* Tried at 0, 100 and 300 ms: three calls, not thousands. */
	CHECK(e.calls_while_short >= 2 && e.calls_while_short <= 4);
	CHECK_EQ_INT(e.k.accepted, 1);
	CHECK_EQ_INT(e.k.errors, 1);	/* at most once a second */
	CHECK_EQ_INT(e.k.errnum, EMFILE);
	snprintf(want, sizeof(want),
	    "accept 127.0.0.1 port %d: Too many open files",
	    whirl_addr_port((struct sockaddr *)&e.k.addr.ss));
	CHECK_EQ_STR(e.k.msg, want);
	close(c);
	while (e.nfill > 0)
		close(e.fillers[--e.nfill]);
	whirl_timer_free(e.release);
	whirl_tcpserver_free(e.k.srv);
	teardown();
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(accept_and_exchange_over_ipv4);
	RUN(accept_and_exchange_over_ipv6);
	RUN(accept_and_exchange_over_a_unix_path);
	RUN(listen_by_name_and_connect_by_name);
	RUN(connect_refused_by_a_closed_port);
	RUN(connect_binds_the_local_address_first);
	RUN(connect_times_out_on_a_full_backlog);
	RUN(connect_cancelled_or_freed_from_its_callback);
	RUN(one_readiness_drains_the_backlog);
	RUN(server_freed_inside_the_accept_callback);
	RUN(pause_and_resume_accepting);
	RUN(closed_listeners_refuse_new_connections);
	RUN(out_of_fds_pauses_accepting_without_spinning);
	rmdir(dir);
	return unit_done();
}
