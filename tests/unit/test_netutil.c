/* test_netutil.c - listeners, address text, literal and name resolution. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "whirl.h"
#include "internal.h"
#include "unit.h"

static struct whirl_loop *loop;
static char dir[] = "/tmp/whirl-netutil-XXXXXX";

static struct whirl_addr
literal(const char *host, int port)
{
	struct whirl_addr a;

	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(whirl_addr_parse_literal(host, port, AF_UNSPEC, &a), 0);
	return a;
}

static const char *
fmt(const struct whirl_addr *a)
{
	static char buf[WHIRL_ADDR_STRLEN];

	return whirl_addr_format((const struct sockaddr *)&a->ss, a->len, buf,
	    sizeof(buf));
}

static int
intopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	CHECK_EQ_INT(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* Every listener is non-blocking and close-on-exec. */
static void
check_fd_flags(int fd)
{
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
}

/* Connect a plain blocking client to a, proving someone listens there. */
static int
dial(const struct whirl_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ_INT(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
}

/* Accept the connection dial made (the listener is non-blocking). */
static void
accept_one(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	CHECK_EQ_INT(poll(&p, 1, 10000), 1);
	fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	close(fd);
}

static void
check_listener(const char *host, int flags, int v6only)
{
	struct whirl_addr a = literal(host, 0);
	int fd, port, cfd;
	char want[64];

	fd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, WHIRL_BACKLOG,
	    flags);
	CHECK(fd >= 0);
	check_fd_flags(fd);
	CHECK_EQ_INT(intopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	CHECK_EQ_INT(intopt(fd, SOL_SOCKET, SO_REUSEPORT),
	    (flags & WHIRL_LISTEN_REUSEPORT) ? 1 : 0);
	if (v6only != -1)
		CHECK_EQ_INT(intopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), v6only);
	port = whirl_fd_local_port(fd);
	CHECK(port > 0 && port < 65536);
	/* The reported port is the real one: a client reaches it. */
	a = literal(host, port);
	snprintf(want, sizeof(want), a.ss.ss_family == AF_INET6 ? "[%s]:%d" :
	    "%s:%d", host, port);
	CHECK_EQ_STR(fmt(&a), want);
	cfd = dial(&a);
	accept_one(fd);
	close(cfd);
	close(fd);
}

TEST(listen_ipv4_port_0)
{
	check_listener("127.0.0.1", 0, -1);
}

TEST(listen_ipv6_port_0_is_v6only)
{
	struct whirl_addr a = literal("::ffff:127.0.0.1", 0);
	const struct sockaddr *sa = (const struct sockaddr *)&a.ss;
	int fd, cfd;

	check_listener("::1", 0, 1);
	/* Only a dual-stack socket may bind a v4-mapped address (reading
	 * the option back is no proof: gVisor sets it when binding ::1). */
	CHECK_EQ_INT(whirl_listen_tcp(sa, a.len, 8, 0), -1);
	CHECK_EQ_INT(whirl_error_errno(), EINVAL);
	fd = whirl_listen_tcp(sa, a.len, 8, WHIRL_LISTEN_DUALSTACK);
	CHECK(fd >= 0);
	a = literal("127.0.0.1", whirl_fd_local_port(fd));
	cfd = dial(&a);
	accept_one(fd);
	close(cfd);
	close(fd);
}

TEST(listen_reuseport_shares_a_port_and_plain_bind_does_not)
{
	struct whirl_addr a = literal("127.0.0.1", 0);
	int fd1, fd2, fd3, port;
	char want[128];

	fd1 = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8,
	    WHIRL_LISTEN_REUSEPORT);
	CHECK(fd1 >= 0);
	port = whirl_fd_local_port(fd1);
	a = literal("127.0.0.1", port);
	fd2 = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8,
	    WHIRL_LISTEN_REUSEPORT);
	CHECK(fd2 >= 0);
	CHECK_EQ_INT(whirl_fd_local_port(fd2), port);
	fd3 = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 8, 0);
	CHECK_EQ_INT(fd3, -1);
	CHECK_EQ_INT(whirl_error_errno(), EADDRINUSE);
	snprintf(want, sizeof(want),
	    "bind 127.0.0.1 port %d: Address already in use", port);
	CHECK_EQ_STR(whirl_error(), want);
	close(fd1);
	close(fd2);
}

TEST(listen_host_binds_each_address_of_a_name)
{
	int fds[4], n;

	n = whirl_listen_host("localhost", 0, AF_INET, 8, 0, fds, 4);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		check_fd_flags(fds[0]);
		CHECK(whirl_fd_local_port(fds[0]) > 0);
		close(fds[0]);
	}
	n = whirl_listen_host("[::1]", 0, AF_UNSPEC, 8, 0, fds, 4);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(intopt(fds[0], IPPROTO_IPV6, IPV6_V6ONLY), 1);
		close(fds[0]);
	}
	CHECK_EQ_INT(whirl_listen_host("nowhere.invalid", 0, AF_UNSPEC, 8, 0,
	    fds, 4), -1);
	CHECK_EQ_INT(whirl_error_errno(), 0);
	CHECK_EQ_STR(whirl_error(), "unknown host nowhere.invalid");
}

TEST(listen_unix_replaces_only_a_stale_socket)
{
	char path[128], file[128];
	struct whirl_addr a;
	struct stat st;
	int fd, fd2, cfd;

	snprintf(path, sizeof(path), "%s/sock", dir);
	fd = whirl_listen_unix(path, WHIRL_BACKLOG);
	CHECK(fd >= 0);
	check_fd_flags(fd);
	CHECK_EQ_INT(whirl_fd_local_port(fd), -1);
	CHECK_EQ_INT(whirl_addr_unix(path, &a), 0);
	CHECK_EQ_STR(fmt(&a), path);
	cfd = dial(&a);
	accept_one(fd);
	close(cfd);

	/* Someone listens: the file stays and the bind fails. */
	CHECK_EQ_INT(whirl_listen_unix(path, WHIRL_BACKLOG), -1);
	CHECK_EQ_INT(whirl_error_errno(), EADDRINUSE);
	close(fd);

	/* Nobody does any more: the stale file is replaced. */
	CHECK_EQ_INT(stat(path, &st), 0);
	fd2 = whirl_listen_unix(path, WHIRL_BACKLOG);
	CHECK(fd2 >= 0);
	cfd = dial(&a);
	accept_one(fd2);
	close(cfd);
	close(fd2);
	unlink(path);

	/* A file that is not a socket is never removed. */
	snprintf(file, sizeof(file), "%s/file", dir);
	close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CHECK_EQ_INT(whirl_listen_unix(file, WHIRL_BACKLOG), -1);
	CHECK_EQ_INT(whirl_error_errno(), EADDRINUSE);
	CHECK_EQ_INT(stat(file, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	unlink(file);

	memset(file, 'x', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	CHECK_EQ_INT(whirl_listen_unix(file, WHIRL_BACKLOG), -1);
	CHECK_EQ_INT(whirl_error_errno(), ENAMETOOLONG);
}

TEST(format_addresses)
{
	struct whirl_addr a;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&a.ss;
	char buf[WHIRL_ADDR_STRLEN], want[64];
	unsigned lo;

	a = literal("127.0.0.1", 8080);
	CHECK_EQ_STR(fmt(&a), "127.0.0.1:8080");
	CHECK_EQ_INT(whirl_addr_port((struct sockaddr *)&a.ss), 8080);
	CHECK_EQ_STR(whirl_addr_host((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof(buf)), "127.0.0.1");
	/* Truncated to the buffer, still terminated. */
	CHECK_EQ_STR(whirl_addr_format((struct sockaddr *)&a.ss, a.len, buf,
	    5), "127.");

	a = literal("::1", 8080);
	CHECK_EQ_STR(fmt(&a), "[::1]:8080");
	CHECK_EQ_STR(whirl_addr_host((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof(buf)), "::1");
	a = literal("[2001:db8::1]", 0);
	CHECK_EQ_STR(fmt(&a), "[2001:db8::1]:0");
	a = literal("127.1", 1);
	CHECK_EQ_STR(fmt(&a), "127.0.0.1:1");

	/* A link-local address carries its interface. */
	lo = if_nametoindex("lo");
	if (lo != 0) {
		a = literal("fe80::1", 22);
		sin6->sin6_scope_id = lo;
		CHECK_EQ_STR(fmt(&a), "[fe80::1%lo]:22");
	}
	a = literal("fe80::1", 22);
	sin6->sin6_scope_id = 999999;
	CHECK_EQ_STR(fmt(&a), "[fe80::1%999999]:22");

	CHECK_EQ_INT(whirl_addr_unix("/run/x.sock", &a), 0);
	CHECK_EQ_STR(fmt(&a), "/run/x.sock");
	CHECK_EQ_INT(whirl_addr_port((struct sockaddr *)&a.ss), -1);
	memset(&a, 0, sizeof(a));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, "\0abstract", 9);
	a.len = offsetof(struct sockaddr_un, sun_path) + 9;
	CHECK_EQ_STR(fmt(&a), "@abstract");
	a.len = sizeof(sa_family_t);
	CHECK_EQ_STR(fmt(&a), "(unnamed)");

	memset(&a, 0, sizeof(a));
	a.ss.ss_family = AF_PACKET;
	snprintf(want, sizeof(want), "(family %d)", AF_PACKET);
	CHECK_EQ_STR(fmt(&a), want);
}

TEST(parse_literal_never_looks_up)
{
	struct whirl_addr a;

	CHECK_EQ_INT(whirl_addr_parse_literal("::1", 1, AF_INET6, &a), 0);
	CHECK_EQ_STR(fmt(&a), "[::1]:1");
	CHECK_EQ_INT(whirl_addr_parse_literal("127.0.0.1", 65535, AF_INET, &a),
	    0);
	CHECK_EQ_STR(fmt(&a), "127.0.0.1:65535");

	CHECK_EQ_INT(whirl_addr_parse_literal("localhost", 80, AF_UNSPEC, &a),
	    -1);
	CHECK_EQ_INT(whirl_error_errno(), EINVAL);
	CHECK_EQ_STR(whirl_error(), "localhost: not a numeric address");
	CHECK_EQ_INT(whirl_addr_parse_literal("::1", 80, AF_INET, &a), -1);
	CHECK_EQ_STR(whirl_error(), "::1: not a numeric address of that family");
	CHECK_EQ_INT(whirl_addr_parse_literal("127.0.0.1", 65536, AF_UNSPEC,
	    &a), -1);
	CHECK_EQ_STR(whirl_error(), "bad port 65536");
}

/*
 * Asynchronous resolution.
 */

struct answer {
	int calls;
	int naddrs;
	int errnum;
	char err[256];
	char addrs[4][WHIRL_ADDR_STRLEN];
	bool cancel_inside;
	bool joined;		/* the helper thread, before the answer */
};

static int
count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether this process is down to one thread within a second. */
static bool
threads_back_to_one(void)
{
	int i;

	for (i = 0; i < 1000 && count_threads() != 1; i++)
		usleep(1000);
	return count_threads() == 1;
}

static void
on_resolved(struct whirl_resolve *r, const struct whirl_addr *addrs,
    size_t naddrs, int errnum, const char *err, void *arg)
{
	struct answer *ans = arg;
	size_t i;

	ans->calls++;
	ans->joined = whirl__resolve_joined(r);
	ans->naddrs = (int)naddrs;
	ans->errnum = errnum;
	snprintf(ans->err, sizeof(ans->err), "%s", err ? err : "");
	for (i = 0; i < naddrs && i < 4; i++)
		whirl_addr_format((const struct sockaddr *)&addrs[i].ss,
		    addrs[i].len, ans->addrs[i], WHIRL_ADDR_STRLEN);
	if (ans->cancel_inside)
		whirl_resolve_cancel(r);	/* does nothing, frees nothing */
	whirl_loop_stop(loop);
}

/* A failure guard: a lookup that hangs stops the loop and the test. */
static void
too_long(struct whirl_timer *t, void *arg)
{
	(void)t;
	*(bool *)arg = true;
	whirl_loop_stop(loop);
}

/* Resolve on the loop and run until the answer (or 20 s). */
static void
resolve(const char *host, int port, int family, struct answer *ans)
{
	struct whirl_timer *guard;
	bool hung = false;

	guard = whirl_timer_new(loop, too_long, &hung);
	memset(ans, 0, sizeof(*ans));
	whirl_resolve(loop, host, port, family, on_resolved, ans);
	CHECK_EQ_INT(ans->calls, 0);	/* never from inside the call */
	whirl_timer_start(guard, 20000, false);
	while (ans->calls == 0 && !hung)
		whirl_loop_run(loop);
	whirl_timer_free(guard);
	CHECK(!hung);
	CHECK_EQ_INT(ans->calls, 1);
}

TEST(resolve_literals_on_the_next_turn)
{
	struct answer ans;

	loop = whirl_loop_new();
	resolve("127.0.0.1", 80, AF_UNSPEC, &ans);
	CHECK_EQ_INT(ans.naddrs, 1);
	CHECK_EQ_STR(ans.addrs[0], "127.0.0.1:80");
	CHECK_EQ_STR(ans.err, "");
	CHECK(!ans.joined);	/* no thread for a literal */
	resolve("[::1]", 443, AF_INET6, &ans);
	CHECK_EQ_INT(ans.naddrs, 1);
	CHECK_EQ_STR(ans.addrs[0], "[::1]:443");
	resolve(NULL, 8080, AF_INET, &ans);
	CHECK_EQ_INT(ans.naddrs, 1);
	CHECK_EQ_STR(ans.addrs[0], "0.0.0.0:8080");
	resolve("::1", 80, AF_INET, &ans);
	CHECK_EQ_INT(ans.naddrs, 0);
	CHECK_EQ_INT(ans.errnum, 0);
	CHECK_EQ_STR(ans.err, "::1: Address family for hostname not supported");
	resolve("127.0.0.1", 99999, AF_UNSPEC, &ans);
	CHECK_EQ_INT(ans.errnum, EINVAL);
	CHECK_EQ_STR(ans.err, "bad port 99999");
	whirl_loop_free(loop);
}

TEST(resolve_hosts_file_name_on_a_thread)
{
	struct answer ans;
	int i, found = 0;

	loop = whirl_loop_new();
	resolve("localhost", 8080, AF_INET, &ans);
	CHECK_EQ_INT(ans.naddrs, 1);
	CHECK_EQ_STR(ans.addrs[0], "127.0.0.1:8080");
	CHECK_EQ_INT(ans.errnum, 0);
	/* The helper was joined before the answer, so glibc's per-thread
	 * resolver state is freed and a tool may exit in its callback.  The
	 * kernel wakes a joiner before it drops the task from /proc, so the
	 * count is only asked to come back to one, not to be one at once. */
	for (i = 0; i < 20; i++) {
		resolve("localhost", 80, AF_INET, &ans);
		CHECK(ans.joined);
		CHECK(threads_back_to_one());
	}
	resolve("localhost", 8080, AF_UNSPEC, &ans);
	CHECK(ans.naddrs >= 1);
	for (i = 0; i < ans.naddrs && i < 4; i++)
		found += strcmp(ans.addrs[i], "127.0.0.1:8080") == 0;
	CHECK_EQ_INT(found, 1);
	whirl_loop_free(loop);
}

TEST(resolve_unknown_host_fails_without_hanging)
{
	struct answer ans;

	loop = whirl_loop_new();
	resolve("no-such-host.invalid", 80, AF_UNSPEC, &ans);
	CHECK_EQ_INT(ans.naddrs, 0);
	CHECK_EQ_INT(ans.errnum, 0);
	CHECK_EQ_STR(ans.err, "unknown host no-such-host.invalid");
	whirl_loop_free(loop);
}

TEST(resolve_cancel_before_and_inside_the_callback)
{
	struct answer a1, a2, a3;
	struct whirl_resolve *r;

	loop = whirl_loop_new();
	memset(&a1, 0, sizeof(a1));
	memset(&a2, 0, sizeof(a2));
	r = whirl_resolve(loop, "127.0.0.1", 1, AF_UNSPEC, on_resolved, &a1);
	whirl_resolve_cancel(r);
	r = whirl_resolve(loop, "localhost", 1, AF_UNSPEC, on_resolved, &a2);
	whirl_resolve_cancel(r);
	/* Cancelling inside the callback is harmless (ASan/valgrind check
	 * the rest), and the name cancelled above never calls back. */
	memset(&a3, 0, sizeof(a3));
	a3.cancel_inside = true;
	whirl_resolve(loop, "localhost", 2, AF_INET, on_resolved, &a3);
	while (a3.calls == 0)
		whirl_loop_run(loop);
	CHECK_EQ_INT(a1.calls, 0);
	CHECK_EQ_INT(a2.calls, 0);
	CHECK_EQ_INT(a3.calls, 1);
	CHECK_EQ_STR(a3.addrs[0], "127.0.0.1:2");
	whirl_loop_free(loop);
}

TEST(resolve_sync)
{
	struct whirl_addr *addrs = NULL;

	CHECK_EQ_INT(whirl_resolve_sync("localhost", 443, AF_INET, &addrs), 1);
	if (addrs != NULL)
		CHECK_EQ_STR(fmt(&addrs[0]), "127.0.0.1:443");
	free(addrs);
	CHECK_EQ_INT(whirl_resolve_sync("::1", 22, AF_UNSPEC, &addrs), 1);
	if (addrs != NULL)
		CHECK_EQ_STR(fmt(&addrs[0]), "[::1]:22");
	free(addrs);

	CHECK_EQ_INT(whirl_resolve_sync("nope.invalid", 80, AF_UNSPEC,
	    &addrs), -1);
	CHECK(addrs == NULL);
	CHECK_EQ_INT(whirl_error_errno(), 0);
	CHECK_EQ_STR(whirl_error(), "unknown host nope.invalid");
	CHECK_EQ_INT(whirl_resolve_sync("localhost", 80, AF_UNIX, &addrs), -1);
	CHECK_EQ_INT(whirl_error_errno(), EAFNOSUPPORT);
	CHECK_EQ_STR(whirl_error(), "bad address family 1");
}

TEST(nodelay_on_tcp_nothing_elsewhere)
{
	struct whirl_addr a;
	int fds[2], l, c, v = 7;
	socklen_t len = sizeof(v);

	CHECK(whirl_listen_host("127.0.0.1", 0, AF_INET, 8, 0, &l, 1) == 1);
	whirl_addr_parse_literal("127.0.0.1", whirl_fd_local_port(l), AF_INET,
	    &a);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(c, (struct sockaddr *)&a.ss, a.len), 0);
	CHECK_EQ_INT(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(whirl_fd_nodelay(c), 0);
	CHECK_EQ_INT(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	CHECK(v != 0);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	CHECK_EQ_INT(whirl_fd_nodelay(fds[0]), 0);     /* nothing to do */
	close(fds[0]);
	close(fds[1]);
	CHECK_EQ_INT(pipe(fds), 0);
	CHECK_EQ_INT(whirl_fd_nodelay(fds[0]), 0);
	close(fds[0]);
	close(fds[1]);
	close(c);
	close(l);
	CHECK_EQ_INT(whirl_fd_nodelay(l), -1);           /* EBADF */
	CHECK_EQ_STR(whirl_error(), "setsockopt TCP_NODELAY: Bad file descriptor");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(listen_ipv4_port_0);
	RUN(listen_ipv6_port_0_is_v6only);
	RUN(listen_reuseport_shares_a_port_and_plain_bind_does_not);
	RUN(listen_host_binds_each_address_of_a_name);
	RUN(listen_unix_replaces_only_a_stale_socket);
	RUN(format_addresses);
	RUN(parse_literal_never_looks_up);
	RUN(resolve_literals_on_the_next_turn);
	RUN(resolve_hosts_file_name_on_a_thread);
	RUN(resolve_unknown_host_fails_without_hanging);
	RUN(resolve_cancel_before_and_inside_the_callback);
	RUN(resolve_sync);
	RUN(nodelay_on_tcp_nothing_elsewhere);
	rmdir(dir);
	return unit_done();
}
