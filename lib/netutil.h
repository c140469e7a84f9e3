/* netutil.h - listening sockets, name resolution and address text.
 *
 * Listeners are plain fds, bound and listening, that a whirl_tcpserver
 * (tcpserver.h) accepts from: TCP on IPv4 or IPv6 (port 0 asks the kernel
 * for a free port; whirl_fd_local_port says which) and unix-domain paths.
 * Every fd this module makes is non-blocking and close-on-exec.
 *
 * Names become addresses in two ways.  whirl_resolve answers on the loop:
 * an address literal ("127.0.0.1", "::1", "[::1]") is never looked up and
 * is answered on the next turn; a name is looked up with getaddrinfo(3) on
 * a helper thread, so /etc/hosts, nsswitch and resolv.conf apply exactly as
 * for every other program on the machine.  whirl_resolve_sync does the
 * same lookup in the caller's thread, for tools that resolve before their
 * loop runs.  Either way "unknown host" (the name has no address) is told
 * apart from other failures by an errno of 0 (error.h's convention).
 *
 * Ownership: the fds returned belong to the caller.  struct whirl_addr is
 * a plain value the caller may fill, copy and compare.  A whirl_resolve is
 * the library's: it is freed right after its callback returns, or by
 * whirl_resolve_cancel before that.  The addresses passed to the callback
 * are valid only during the callback; whirl_resolve_sync's array is the
 * caller's to free(3).
 */
#ifndef WHIRL_NETUTIL_H
#define WHIRL_NETUTIL_H

#include <stddef.h>
#include <sys/socket.h>

struct whirl_loop;
struct whirl_resolve;

/* One socket address of any family, with its length. */
struct whirl_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Room enough for whirl_addr_format of any address. */
#define WHIRL_ADDR_STRLEN 128

/* The usual listen(2) backlog. */
#define WHIRL_BACKLOG 128

/* whirl_listen_tcp flags.  SO_REUSEADDR is always set, and IPV6_V6ONLY
 * on IPv6 listeners unless WHIRL_LISTEN_DUALSTACK is given. */
#define WHIRL_LISTEN_REUSEPORT 0x1 /* SO_REUSEPORT: share the port */
#define WHIRL_LISTEN_DUALSTACK 0x2 /* an IPv6 listener takes IPv4 too */

/*
 * Listeners.  Each returns a listening fd, or -1 with whirl_error() saying
 * which step failed ("bind 127.0.0.1 port 80: Permission denied") and
 * whirl_error_errno() its errno.
 */

/* Bind and listen on a TCP address (AF_INET or AF_INET6). */
int whirl_listen_tcp(const struct sockaddr *sa, socklen_t len, int backlog,
    int flags);
/* Bind and listen on a unix-domain path.  A file already at the path is
 * removed only if it is a socket nobody listens on (a stale one); anything
 * else fails with EADDRINUSE. */
int whirl_listen_unix(const char *path, int backlog);
/* Resolve host (synchronously) and listen on each of its addresses, as
 * Tornado's bind_sockets: host NULL means every interface (0.0.0.0 and
 * ::).  With port 0 the first listener's port is reused for the others.
 * An IPv6 address the machine cannot bind (no IPv6) is skipped when another
 * address was bound.  Stores at most maxfds fds and returns how many, or -1
 * (no fd left open). */
int whirl_listen_host(const char *host, int port, int family, int backlog,
    int flags, int *fds, size_t maxfds);

/* The port an AF_INET or AF_INET6 socket is bound to, or -1. */
int whirl_fd_local_port(int fd);

/* Turn Nagle off (TCP_NODELAY) on a TCP socket, as servers and clients
 * that write whole messages want: a head and a body sent one after the
 * other must not wait 40 ms for the peer's delayed ACK.  Anything that
 * is not a TCP socket (a unix socket, a pipe) is left alone.  0, or -1
 * (whirl_error) if setsockopt failed. */
int whirl_fd_nodelay(int fd);

/*
 * Addresses.
 */

/* Write "127.0.0.1:8080", "[::1]:8080", "[fe80::1%eth0]:22", a unix path
 * ("@name" for an abstract one, "(unnamed)" for none) into buf, truncated
 * to size; returns buf. */
const char *whirl_addr_format(const struct sockaddr *sa, socklen_t len,
    char *buf, size_t size);
/* Write only the host: "127.0.0.1", "::1", "fe80::1%eth0", or for other
 * families what whirl_addr_format writes; returns buf. */
const char *whirl_addr_host(const struct sockaddr *sa, socklen_t len,
    char *buf, size_t size);
/* Fill out from an IPv4 or IPv6 literal ("127.0.0.1", "::1", "[::1]",
 * "fe80::1%eth0") and a port (0..65535), never looking anything up.
 * family is AF_UNSPEC, AF_INET or AF_INET6.  Returns 0, or -1 when host is
 * not a literal of that family (whirl_error() says why). */
int whirl_addr_parse_literal(const char *host, int port, int family,
    struct whirl_addr *out);
/* Fill out with a unix-domain path.  -1 (ENAMETOOLONG) if it is too long. */
int whirl_addr_unix(const char *path, struct whirl_addr *out);
/* The port of an AF_INET or AF_INET6 address, or -1. */
int whirl_addr_port(const struct sockaddr *sa);

/*
 * Name resolution.  host NULL means the wildcard addresses for listening;
 * port is 0..65535 and is stored in every address; family is AF_UNSPEC,
 * AF_INET or AF_INET6.  Addresses come in getaddrinfo's order (RFC 6724),
 * without duplicates.
 */

/* addrs/naddrs: the addresses (naddrs > 0) when err is NULL.  On failure
 * err says why; errnum is 0 for an unknown host (no such name, or no
 * address of that family) and the system's errno otherwise. */
typedef void (*whirl_resolve_cb)(struct whirl_resolve *r,
    const struct whirl_addr *addrs, size_t naddrs, int errnum,
    const char *err, void *arg);

/* Start resolving; cb fires exactly once, on a later turn of the loop
 * (never from inside this call), unless the resolve is cancelled first.
 * Never returns NULL: every failure arrives through cb. */
struct whirl_resolve *whirl_resolve(struct whirl_loop *loop,
    const char *host, int port, int family, whirl_resolve_cb cb, void *arg);
/* Forget a pending resolve: its callback will not fire.  A lookup already
 * running on the helper thread finishes there and is discarded.  Calling
 * it from inside the resolve's own callback does nothing. */
void whirl_resolve_cancel(struct whirl_resolve *r);

/* Resolve in the calling thread.  Returns the number of addresses (> 0)
 * and stores a malloc'd array in *out, or returns -1 with whirl_error();
 * whirl_error_errno() is then 0 exactly when the host is unknown
 * ("unknown host foo.invalid"). */
int whirl_resolve_sync(const char *host, int port, int family,
    struct whirl_addr **out);

#endif
