/* netutil.c - listeners, name resolution off the loop, address text.
 *
 * Names are looked up with getaddrinfo(3) on a short-lived helper thread,
 * not with libevent's evdns.  evdns reads only /etc/hosts and resolv.conf,
 * so a name served through nsswitch (mdns, NIS, systemd's myhostname, a
 * container runtime's hosts) would resolve in every program but ours, and
 * with no reachable nameserver it waits out its own retry timers.
 * getaddrinfo is what curl and Tornado's default resolver use.  A tool
 * resolves a handful of names, so one thread per lookup costs nothing a
 * pool would save.
 *
 * The thread and the loop share a job with two references.  The thread
 * stores its answer, marks the job done, writes the job's eventfd (which
 * the loop watches) and drops its reference; cancelling drops the loop's.
 * Whoever lets go last frees the job, so nothing ever waits for a lookup
 * that nobody wants any more: a cancelled lookup's thread is detached.
 * An answer that arrived is joined before it is delivered.  Its thread is
 * past getaddrinfo by then, so the join waits only for the thread's exit,
 * which frees the resolver state glibc keeps per thread; a tool that
 * exited at once would otherwise leave it behind (LeakSanitizer saw it).
 * Literals never reach a thread: they are parsed at once and answered
 * from a zero-delay timer, so the callback still fires on a later turn and
 * can still be cancelled.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "ioloop.h"
#include "netutil.h"

#define ERRLEN 256
#define WORDSLEN (WHIRL_ADDR_STRLEN + 32)	/* "host port N" */

static void
close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* The numeric host of an IP address, with its IPv6 scope, no brackets. */
static void
host_text(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	char host[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
	const void *a;

	a = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&sin6->sin6_addr;
	if (inet_ntop(sa->sa_family, a, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	if (sa->sa_family != AF_INET6 || sin6->sin6_scope_id == 0)
		snprintf(buf, size, "%s", host);
	else if (if_indextoname(sin6->sin6_scope_id, ifname) != NULL)
		snprintf(buf, size, "%s%%%s", host, ifname);
	else
		snprintf(buf, size, "%s%%%u", host, sin6->sin6_scope_id);
}

static void
unix_text(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_un *sun = (const void *)sa;
	size_t n = 0;

	if (len > offsetof(struct sockaddr_un, sun_path))
		n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(sun->sun_path))
		n = sizeof(sun->sun_path);
	if (n == 0)
		snprintf(buf, size, "(unnamed)");
	else if (sun->sun_path[0] == '\0')
		snprintf(buf, size, "@%.*s", (int)n - 1, sun->sun_path + 1);
	else
		snprintf(buf, size, "%.*s", (int)strnlen(sun->sun_path, n),
		    sun->sun_path);
}

const char *
whirl_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	char host[WHIRL_ADDR_STRLEN];

	if (size == 0)
		return buf;
	switch (sa->sa_family) {
	case AF_INET:
		host_text(sa, host, sizeof(host));
		snprintf(buf, size, "%s:%d", host, whirl_addr_port(sa));
		break;
	case AF_INET6:
		host_text(sa, host, sizeof(host));
		snprintf(buf, size, "[%s]:%d", host, whirl_addr_port(sa));
		break;
	case AF_UNIX:
		unix_text(sa, len, buf, size);
		break;
	default:
		snprintf(buf, size, "(family %d)", sa->sa_family);
	}
	return buf;
}

const char *
whirl_addr_host(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	if (size == 0)
		return buf;
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		host_text(sa, buf, size);
	else
		whirl_addr_format(sa, len, buf, size);
	return buf;
}

/* "127.0.0.1 port 80", "::1 port 80" or a path: the form error messages
 * use, as nc(1) and error.h's example do. */
static const char *
addr_words(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[WHIRL_ADDR_STRLEN];

	whirl_addr_host(sa, len, host, sizeof(host));
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		snprintf(buf, size, "%s", host);
	else
		snprintf(buf, size, "%s port %d", host, whirl_addr_port(sa));
	return buf;
}

int
whirl_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

static void
set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

int
whirl_addr_unix(const char *path, struct whirl_addr *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sun->sun_path)) {
		whirl__seterr(n ? ENAMETOOLONG : EINVAL, "%s: %s", path,
		    n ? strerror(ENAMETOOLONG) : "empty unix socket path");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	out->len = offsetof(struct sockaddr_un, sun_path) + n + 1;
	return 0;
}

/*
 * Listeners.
 */

static int
setopt(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) == -1) {
		whirl__seterrno("setsockopt %s", what);
		return -1;
	}
	return 0;
}

int
whirl_listen_tcp(const struct sockaddr *sa, socklen_t len, int backlog,
    int flags)
{
	char where[WORDSLEN];
	int fd;

	addr_words(sa, len, where, sizeof(where));
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		whirl__seterr(EAFNOSUPPORT, "listen %s: not an IP address",
		    where);
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		whirl__seterrno("socket");
		return -1;
	}
	/* Always: a restarted server must not wait out TIME_WAIT. */
	if (setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR") == -1)
		goto fail;
	if ((flags & WHIRL_LISTEN_REUSEPORT) &&
	    setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT") == -1)
		goto fail;
	/* Without V6ONLY, "::" would take IPv4 too and a second listener on
	 * 0.0.0.0 with the same port would fail. */
	if (sa->sa_family == AF_INET6 && setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    !(flags & WHIRL_LISTEN_DUALSTACK), "IPV6_V6ONLY") == -1)
		goto fail;
	if (bind(fd, sa, len) == -1) {
		whirl__seterrno("bind %s", where);
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		whirl__seterrno("listen %s", where);
		goto fail;
	}
	return fd;
fail:
	close_keep_errno(fd);
	return -1;
}

/* A socket file that refuses connections was left by a server that died;
 * a live one accepts (or is busy: EAGAIN).  Only the stale one goes.
 * Returns 0 once it is removed, else -1 with errno EADDRINUSE. */
static int
remove_stale(const char *path, const struct whirl_addr *a)
{
	struct stat st;
	bool stale = false;
	int fd;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd != -1) {
			stale = connect(fd, (const struct sockaddr *)&a->ss,
			    a->len) == -1 && errno == ECONNREFUSED;
			close(fd);
		}
	}
	if (stale && unlink(path) == 0)
		return 0;
	errno = EADDRINUSE;
	return -1;
}

int
whirl_listen_unix(const char *path, int backlog)
{
	struct whirl_addr a;
	const struct sockaddr *sa = (const struct sockaddr *)&a.ss;
	int fd;

	if (whirl_addr_unix(path, &a) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		whirl__seterrno("socket");
		return -1;
	}
	if (bind(fd, sa, a.len) == -1 && (errno != EADDRINUSE ||
	    remove_stale(path, &a) == -1 || bind(fd, sa, a.len) == -1)) {
		whirl__seterrno("bind %s", path);
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		whirl__seterrno("listen %s", path);
		goto fail;
	}
	return fd;
fail:
	close_keep_errno(fd);
	return -1;
}

/* An IPv6 address on a machine without IPv6: skipped by listen_host. */
static bool
no_ipv6(const struct sockaddr *sa, int errnum)
{
	return sa->sa_family == AF_INET6 &&
	    (errnum == EAFNOSUPPORT || errnum == EADDRNOTAVAIL);
}

int
whirl_listen_host(const char *host, int port, int family, int backlog,
    int flags, int *fds, size_t maxfds)
{
	struct whirl_addr *addrs;
	struct sockaddr *sa;
	int i, n, fd, count = 0;

	if (maxfds == 0) {
		whirl__seterr(EINVAL, "listen: no room for a listener");
		return -1;
	}
	if ((n = whirl_resolve_sync(host, port, family, &addrs)) == -1)
		return -1;
	for (i = 0; i < n && (size_t)count < maxfds; i++) {
		sa = (struct sockaddr *)&addrs[i].ss;
		set_port(sa, port);
		fd = whirl_listen_tcp(sa, addrs[i].len, backlog, flags);
		if (fd == -1 && no_ipv6(sa, whirl_error_errno()))
			continue;
		if (fd == -1)
			goto fail;
		/* Port 0: every other address gets the port the first got. */
		if (port == 0 && (port = whirl_fd_local_port(fd)) == -1) {
			close(fd);
			goto fail;
		}
		fds[count++] = fd;
	}
	if (count == 0)
		goto fail;
	free(addrs);
	return count;
fail:
	while (count > 0)
		close(fds[--count]);
	free(addrs);
	return -1;
}

int
whirl_fd_local_port(int fd)
{
	struct whirl_addr a;
	int port;

	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1) {
		whirl__seterrno("getsockname");
		return -1;
	}
	port = whirl_addr_port((struct sockaddr *)&a.ss);
	if (port == -1)
		whirl__seterr(EAFNOSUPPORT, "getsockname: not an IP socket");
	return port;
}

int
whirl_fd_nodelay(int fd)
{
	int one = 1;

	/* One call, no getsockname first: a unix socket or a pipe answers
	 * EOPNOTSUPP or ENOTSOCK, which means there is nothing to do. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 ||
	    errno == EOPNOTSUPP || errno == ENOPROTOOPT || errno == ENOTSOCK)
		return 0;
	whirl__seterrno("setsockopt TCP_NODELAY");
	return -1;
}

/*
 * Resolution, shared by the literal, thread and synchronous paths.
 */

static int
lookup(const char *host, int port, int family, int flags,
    struct addrinfo **res)
{
	struct addrinfo hints;
	char serv[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags | AI_NUMERICSERV | (host ? 0 : AI_PASSIVE);
	snprintf(serv, sizeof(serv), "%d", port);
	*res = NULL;
	return getaddrinfo(host, serv, &hints, res);
}

/* The host to hand getaddrinfo: "[::1]" loses its brackets.  NULL stays
 * NULL (the wildcard).  The caller frees. */
static char *
query_host(const char *host)
{
	size_t n;
	char *h;

	if (host == NULL)
		return NULL;
	n = strlen(host);
	if (n < 2 || host[0] != '[' || host[n - 1] != ']')
		return whirl__xstrdup(host);
	h = whirl__xmemdup(host + 1, n - 1);
	h[n - 2] = '\0';
	return h;
}

/* Copy getaddrinfo's list into an array, dropping duplicates (a name
 * listed twice in /etc/hosts).  Returns the count; *out is NULL for 0. */
static size_t
collect(const struct addrinfo *res, struct whirl_addr **out)
{
	const struct addrinfo *ai;
	struct whirl_addr *a;
	size_t i, n = 0, max = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		max++;
	a = max ? whirl__xcalloc(max, sizeof(*a)) : NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(a->ss))
			continue;
		for (i = 0; i < n; i++)
			if (a[i].len == ai->ai_addrlen &&
			    memcmp(&a[i].ss, ai->ai_addr, a[i].len) == 0)
				break;
		if (i < n)
			continue;
		memcpy(&a[n].ss, ai->ai_addr, ai->ai_addrlen);
		a[n++].len = ai->ai_addrlen;
	}
	if (n == 0) {
		free(a);
		a = NULL;
	}
	*out = a;
	return n;
}

/* Reject what getaddrinfo would answer confusingly.  Returns the errno
 * (with the message in buf) or 0. */
static int
bad_args(int port, int family, char *buf, size_t size)
{
	if (port < 0 || port > 65535) {
		snprintf(buf, size, "bad port %d", port);
		return EINVAL;
	}
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
		snprintf(buf, size, "bad address family %d", family);
		return EAFNOSUPPORT;
	}
	return 0;
}

/* A getaddrinfo failure as an errno and a message.  Every way of saying
 * "this name has no address" is errno 0: error.h's unknown host. */
static int
gai_failure(int rc, int sys_errno, const char *host, char *buf, size_t size)
{
	const char *name = host ? host : "*";

	switch (rc) {
	case EAI_SYSTEM:
		snprintf(buf, size, "resolve %s: %s", name,
		    strerror(sys_errno));
		return sys_errno;
	case EAI_MEMORY:
		snprintf(buf, size, "resolve %s: %s", name, strerror(ENOMEM));
		return ENOMEM;
	case EAI_FAMILY:
	case EAI_SERVICE:
	case EAI_SOCKTYPE:
	case EAI_BADFLAGS:
		snprintf(buf, size, "resolve %s: %s", name, gai_strerror(rc));
		return EINVAL;
	case EAI_ADDRFAMILY:
		snprintf(buf, size, "%s: %s", name, gai_strerror(rc));
		return 0;
	default:
		snprintf(buf, size, "unknown host %s", name);
		return 0;
	}
}

int
whirl_addr_parse_literal(const char *host, int port, int family,
    struct whirl_addr *out)
{
	struct addrinfo *res;
	struct whirl_addr *a;
	char msg[ERRLEN], *h;
	int rc, errnum;

	if ((errnum = bad_args(port, family, msg, sizeof(msg))) != 0 ||
	    host == NULL) {
		whirl__seterr(errnum ? errnum : EINVAL, "%s",
		    errnum ? msg : "no address");
		return -1;
	}
	h = query_host(host);
	rc = lookup(h, port, family, AI_NUMERICHOST, &res);
	free(h);
	if (rc != 0) {
		/* Not a literal is not an unknown host: say what it is. */
		whirl__seterr(EINVAL, "%s: not a numeric address%s", host,
		    rc == EAI_ADDRFAMILY ? " of that family" : "");
		return -1;
	}
	if (collect(res, &a) == 0) {
		freeaddrinfo(res);
		whirl__seterr(EINVAL, "%s: no address", host);
		return -1;
	}
	freeaddrinfo(res);
	*out = a[0];
	free(a);
	return 0;
}

int
whirl_resolve_sync(const char *host, int port, int family,
    struct whirl_addr **out)
{
	struct addrinfo *res;
	char msg[ERRLEN], *h;
	int rc, errnum, saved;
	size_t n = 0;

	*out = NULL;
	if ((errnum = bad_args(port, family, msg, sizeof(msg))) != 0) {
		whirl__seterr(errnum, "%s", msg);
		return -1;
	}
	h = query_host(host);
	rc = lookup(h, port, family, 0, &res);
	saved = errno;
	free(h);
	if (rc == 0) {
		n = collect(res, out);
		freeaddrinfo(res);
	}
	if (n == 0) {
		errnum = gai_failure(rc ? rc : EAI_NONAME, saved, host, msg,
		    sizeof(msg));
		whirl__seterr(errnum, "%s", msg);
		return -1;
	}
	return (int)n;
}

/*
 * Asynchronous resolution.
 */

struct job {
	atomic_int refs;	/* the thread's and the loop's */
	atomic_bool done;	/* rc, sys_errno and res are set */
	int efd;		/* written by the thread when done */
	char *host;
	int port, family;
	int rc, sys_errno;
	struct addrinfo *res;
};

struct whirl_resolve {
	struct whirl_loop *loop;
	whirl_resolve_cb cb;
	void *arg;
	char *host;			/* as the caller wrote it */
	struct job *job;		/* a name on the helper thread */
	pthread_t tid;			/* job's thread, while joinable */
	bool joinable;
	bool joined;			/* the answer's thread has exited */
	struct whirl_watch *watch;	/* on job->efd */
	struct whirl_timer *soon;	/* answers literals and early errors */
	struct whirl_addr *addrs;
	size_t naddrs;
	int errnum;
	bool failed, in_cb;
	char err[ERRLEN];
};

static void
job_unref(struct job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	close(j->efd);
	if (j->res != NULL)
		freeaddrinfo(j->res);
	free(j->host);
	free(j);
}

static void *
job_run(void *p)
{
	struct job *j = p;
	uint64_t one = 1;
	ssize_t n;

	j->rc = lookup(j->host, j->port, j->family, 0, &j->res);
	j->sys_errno = errno;
	atomic_store(&j->done, true);
	/* Cannot fail: the counter is far from its maximum. */
	n = write(j->efd, &one, sizeof(one));
	(void)n;
	job_unref(j);
	return NULL;
}

static void
destroy(struct whirl_resolve *r)
{
	if (r->watch != NULL)
		whirl_watch_free(r->watch);
	if (r->soon != NULL)
		whirl_timer_free(r->soon);
	if (r->joinable)
		pthread_detach(r->tid);
	if (r->job != NULL)
		job_unref(r->job);
	free(r->addrs);
	free(r->host);
	free(r);
}

bool
whirl__resolve_joined(const struct whirl_resolve *r)
{
	return r->joined;
}

static void
deliver(struct whirl_resolve *r)
{
	r->in_cb = true;
	if (r->failed)
		r->cb(r, NULL, 0, r->errnum, r->err, r->arg);
	else
		r->cb(r, r->addrs, r->naddrs, 0, NULL, r->arg);
	destroy(r);
}

static void
soon_fired(struct whirl_timer *t, void *arg)
{
	(void)t;
	deliver(arg);
}

/* Answer on the next turn with what r holds now. */
static void
answer_soon(struct whirl_resolve *r)
{
	r->soon = whirl_timer_new(r->loop, soon_fired, r);
	whirl_timer_start(r->soon, 0, false);
}

static void
fail_soon(struct whirl_resolve *r, int errnum, const char *msg)
{
	r->failed = true;
	r->errnum = errnum;
	snprintf(r->err, sizeof(r->err), "%s", msg);
	answer_soon(r);
}

/* Take getaddrinfo's answer (rc, res) into r. */
static void
take_answer(struct whirl_resolve *r, int rc, int sys_errno,
    const struct addrinfo *res)
{
	if (rc == 0)
		r->naddrs = collect(res, &r->addrs);
	if (r->naddrs == 0) {
		r->failed = true;
		r->errnum = gai_failure(rc ? rc : EAI_NONAME, sys_errno,
		    r->host, r->err, sizeof(r->err));
	}
}

static void
job_finished(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct whirl_resolve *r = arg;
	uint64_t n;

	(void)w;
	(void)ready;
	if (read(fd, &n, sizeof(n)) == -1 || !atomic_load(&r->job->done))
		return;
	pthread_join(r->tid, NULL);
	r->joinable = false;
	r->joined = true;
	take_answer(r, r->job->rc, r->job->sys_errno, r->job->res);
	deliver(r);
}

static struct job *
job_new(const char *host, int port, int family)
{
	struct job *j = whirl__xcalloc(1, sizeof(*j));

	atomic_init(&j->refs, 2);
	atomic_init(&j->done, false);
	j->host = query_host(host);
	j->port = port;
	j->family = family;
	return j;
}

/* Look the name up on a helper thread.  Returns 0, or an errno. */
static int
start_job(struct whirl_resolve *r, int port, int family)
{
	struct job *j;
	sigset_t all, old;
	int efd, rc;

	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return errno;
	j = job_new(r->host, port, family);
	j->efd = efd;
	/* Signals stay with the loop's thread: the helper blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->tid, NULL, job_run, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(efd);
		free(j->host);
		free(j);
		return rc;
	}
	r->joinable = true;
	/* An answer already written keeps the eventfd readable. */
	r->job = j;
	r->watch = whirl_watch_new(r->loop, efd, WHIRL_READ, job_finished, r);
	return 0;
}

struct whirl_resolve *
whirl_resolve(struct whirl_loop *loop, const char *host, int port,
    int family, whirl_resolve_cb cb, void *arg)
{
	struct whirl_resolve *r = whirl__xcalloc(1, sizeof(*r));
	struct addrinfo *res;
	char msg[ERRLEN], *h;
	int rc, errnum, saved;

	r->loop = loop;
	r->cb = cb;
	r->arg = arg;
	r->host = host ? whirl__xstrdup(host) : NULL;
	if ((errnum = bad_args(port, family, msg, sizeof(msg))) != 0) {
		fail_soon(r, errnum, msg);
		return r;
	}
	h = query_host(host);
	rc = lookup(h, port, family, AI_NUMERICHOST, &res);
	saved = errno;
	free(h);
	if (rc == EAI_NONAME && host != NULL) {
		/* A name, not a literal. */
		if ((errnum = start_job(r, port, family)) != 0) {
			snprintf(msg, sizeof(msg), "resolve %s: %s", host,
			    strerror(errnum));
			fail_soon(r, errnum, msg);
		}
		return r;
	}
	take_answer(r, rc, saved, res);
	if (rc == 0)
		freeaddrinfo(res);
	answer_soon(r);
	return r;
}

void
whirl_resolve_cancel(struct whirl_resolve *r)
{
	if (r == NULL || r->in_cb)
		return;
	destroy(r);
}
