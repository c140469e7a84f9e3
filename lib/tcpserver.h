/* tcpserver.h - accept connections into streams; connect with a timeout.
 *
 * A whirl_tcpserver watches one or more listening fds (netutil.h makes
 * them) on its loop.  Each time one is readable it accepts up to a batch of
 * connections and hands each to the accept callback as a new whirl_stream.
 * When accept(2) runs out of descriptors (EMFILE, ENFILE) or memory, the
 * server stops watching its listeners and retries on a timer, 100 ms
 * doubling up to 1 s, so a full fd table never spins the loop; waiting
 * connections stay in the kernel's backlog.  The error callback hears
 * about such trouble at most once a second; the library prints nothing.
 *
 * whirl_tcp_connect opens a non-blocking connection on the loop, with an
 * optional local address to bind first and an optional timeout, and hands
 * over a whirl_stream when it is established.  whirl_tcp_connect_host
 * resolves a name first (netutil.h) and tries its addresses in order
 * until one connects, all within the one timeout.
 *
 * Ownership: the caller owns the server (whirl_tcpserver_free), and the
 * server owns the listening fds given to it and closes them.  Each accepted
 * or connected stream belongs to the callback that receives it, which must
 * keep it or free it.  A whirl_connect is the library's: it is freed right
 * after its callback returns, or by whirl_connect_cancel before that.
 * Addresses passed to callbacks are valid only during the callback.  The
 * server may be freed, paused or resumed from inside any of its callbacks.
 */
#ifndef WHIRL_TCPSERVER_H
#define WHIRL_TCPSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netutil.h"

struct whirl_loop;
struct whirl_stream;
struct whirl_tcpserver;
struct whirl_connect;

/* A new connection, as a stream made with the server's stream flags; peer
 * is the remote address (for a unix listener usually "(unnamed)"). */
typedef void (*whirl_accept_cb)(struct whirl_tcpserver *srv,
    struct whirl_stream *s, const struct sockaddr *peer, socklen_t peerlen,
    void *arg);
/* Something went wrong while accepting: errnum and a message such as
 * "accept 127.0.0.1 port 8080: Too many open files".  Descriptor and
 * memory shortages are reported at most once a second; the server
 * retries by itself.  For any other error on a listener (it is not
 * listening, say) the server stops watching that listener for good. */
typedef void (*whirl_tcpserver_error_cb)(struct whirl_tcpserver *srv,
    int errnum, const char *msg, void *arg);

/* Create a server on loop with no listeners yet; accepted streams are
 * made with stream_flags (iostream.h's WHIRL_STREAM_*).  Cannot fail. */
struct whirl_tcpserver *whirl_tcpserver_new(struct whirl_loop *loop,
    int stream_flags, whirl_accept_cb cb, void *arg);
/* Stop accepting, close the listeners and free the server.  Streams
 * already accepted are not affected.  Safe from inside its callbacks. */
void whirl_tcpserver_free(struct whirl_tcpserver *srv);

/* Accept from a listening fd (TCP or unix), which the server now owns: it
 * is closed by whirl_tcpserver_free, or at once if this fails.  The fd is
 * made non-blocking.  Returns 0, or -1 with whirl_error(). */
int whirl_tcpserver_add_fd(struct whirl_tcpserver *srv, int fd);
/* Listen on host and port (whirl_listen_host: host NULL is every
 * interface) and accept from every address.  Returns the number of
 * listeners added, or -1 with whirl_error() (none added). */
int whirl_tcpserver_listen(struct whirl_tcpserver *srv, const char *host,
    int port, int family, int backlog, int flags);
/* The address of listener i (in the order added), for "listening on"
 * messages and port 0.  Returns 0, or -1 when there is no listener i. */
int whirl_tcpserver_local_addr(const struct whirl_tcpserver *srv, size_t i,
    struct whirl_addr *out);

/* Hear about accept trouble (see whirl_tcpserver_error_cb). */
void whirl_tcpserver_set_error_cb(struct whirl_tcpserver *srv,
    whirl_tcpserver_error_cb cb, void *arg);

/* Stop accepting until resumed: new connections wait in the backlog.
 * From inside the accept callback no further connection of the current
 * batch is accepted. */
void whirl_tcpserver_pause(struct whirl_tcpserver *srv);
void whirl_tcpserver_resume(struct whirl_tcpserver *srv);
bool whirl_tcpserver_paused(const struct whirl_tcpserver *srv);
/* Close every listener for good: new connections are refused by the
 * kernel instead of waiting in a backlog nobody reads (a graceful stop).
 * Accepted streams are not touched; local_addr fails from now on. */
void whirl_tcpserver_close_listeners(struct whirl_tcpserver *srv);

/*
 * Outgoing connections.
 */

/* Options for whirl_tcp_connect; all zero means none. */
struct whirl_connect_opts {
	struct whirl_addr bind;	/* local address to bind first (len 0: none) */
	uint64_t timeout_ms;	/* whole operation, resolving included; 0: none */
	int stream_flags;	/* for the stream handed over */
};

/* Exactly one of: s is the connected stream (errnum 0, err NULL), which the
 * callback now owns; or s is NULL, err says why and errnum is the errno
 * (ECONNREFUSED, ETIMEDOUT with err == whirl_err_timeout, ...), or 0 when
 * whirl_tcp_connect_host found no address for the name ("unknown host
 * foo.invalid").  err is valid only during the callback. */
typedef void (*whirl_connect_cb)(struct whirl_connect *c,
    struct whirl_stream *s, int errnum, const char *err, void *arg);

/* Connect to sa (AF_INET, AF_INET6 or AF_UNIX); opts may be NULL.  cb
 * fires exactly once, on a later turn of the loop (never from inside this
 * call), unless the connect is cancelled first.  Never returns NULL: every
 * failure, even creating the socket, arrives through cb.  A failed connect
 * says "connect 127.0.0.1 port 9: Connection refused". */
struct whirl_connect *whirl_tcp_connect(struct whirl_loop *loop,
    const struct sockaddr *sa, socklen_t len,
    const struct whirl_connect_opts *opts, whirl_connect_cb cb, void *arg);
/* Resolve host (whirl_resolve) and connect to its addresses in order,
 * skipping those of another family than opts->bind's; the callback gets
 * the first connection made or the last address's error. */
struct whirl_connect *whirl_tcp_connect_host(struct whirl_loop *loop,
    const char *host, int port, int family,
    const struct whirl_connect_opts *opts, whirl_connect_cb cb, void *arg);
/* Abandon a connect: the socket is closed and the callback will not fire.
 * From inside the connect's own callback it does nothing. */
void whirl_connect_cancel(struct whirl_connect *c);

#endif
