/* httpserver.h - an HTTP/1.1 server: connections, keep-alive, pipelining,
 * limits and deadlines, and the request/response pair handed to a handler.
 *
 * The server accepts connections (plain, or TLS with a server context),
 * reads requests with http1 and calls the handler once per request, when
 * its head and whole body (up to the body limit) have arrived.  The
 * handler answers at once or later, from any callback: a request stays
 * valid until its response is finished.  Requests on one connection are
 * answered in order: the next pipelined request is read only after the
 * current response finished.
 *
 * The server adds Date (cached per second) and Server to every response,
 * frames the body (Content-Length when known, else chunked, else close for
 * an HTTP/1.0 client), drops bodies of HEAD responses, answers
 * "Expect: 100-continue", and closes when the client or the response asks
 * for it.  Malformed requests get 400, 413, 414 or 431 (Tornado's error
 * page) and a close; they are never read as two requests.  Deadlines: a
 * connection idle between requests is closed after idle_ms; a request head
 * must arrive whole within head_ms of its first byte (slowloris); a body
 * that stops for body_ms is dropped.
 *
 * Ownership: the server owns its connections and requests.  A handler
 * must finish every request it was given (whirl_response_finish or
 * whirl_response_send), even after its connection closed (the close
 * callback says so); finishing releases the request.  Strings returned by
 * request accessors live as long as the request.
 */
#ifndef WHIRL_HTTPSERVER_H
#define WHIRL_HTTPSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

struct whirl_loop;
struct whirl_headers;
struct whirl_stream;
struct whirl_tls_ctx;
struct whirl_httpserver;
struct whirl_request;

struct whirl_httpserver_opts {
	struct whirl_http1_limits limits;  /* zeros: the defaults */
	uint64_t idle_ms;                  /* default 15 s */
	uint64_t head_ms;                  /* default 10 s */
	uint64_t body_ms;                  /* default 60 s */
	struct whirl_tls_ctx *tls;         /* serve https (borrowed) */
	const char *server_header;         /* default "whirl/VERSION" */
	bool xheaders;                     /* behind a proxy: trust
					      X-Forwarded-For, X-Real-Ip,
					      X-Forwarded-Proto, X-Scheme */
};

typedef void (*whirl_request_cb)(struct whirl_request *req, void *arg);
typedef void (*whirl_request_close_cb)(struct whirl_request *req,
    void *arg);

/* opts may be NULL.  NULL with whirl_error() on failure. */
struct whirl_httpserver *whirl_httpserver_new(struct whirl_loop *loop,
    const struct whirl_httpserver_opts *opts, whirl_request_cb cb,
    void *arg);
/* Close every connection (requests in handlers get their close callback
 * and stay valid until finished) and free the server. */
void whirl_httpserver_free(struct whirl_httpserver *srv);
/* Listen as whirl_tcpserver_listen does (host NULL: any; port 0: pick
 * one).  -1 with whirl_error() on failure. */
int whirl_httpserver_listen(struct whirl_httpserver *srv, const char *host,
    int port, int family, int flags);
/* Serve an already listening fd (taken over). */
int whirl_httpserver_add_fd(struct whirl_httpserver *srv, int fd);
/* The port of the first listener (after port 0). */
int whirl_httpserver_port(const struct whirl_httpserver *srv);
/* Stop accepting and close the listeners (new connections are refused);
 * connections finish their current request and close. */
void whirl_httpserver_stop_accepting(struct whirl_httpserver *srv);
size_t whirl_httpserver_connections(const struct whirl_httpserver *srv);
/* Told on a later turn each time the last open connection has closed
 * (after stop_accepting: the server has drained).  The server may be
 * freed inside.  cb NULL: no more calls. */
typedef void (*whirl_httpserver_drained_cb)(struct whirl_httpserver *srv,
    void *arg);
void whirl_httpserver_set_drained_cb(struct whirl_httpserver *srv,
    whirl_httpserver_drained_cb cb, void *arg);

/* The request */
const char *whirl_request_method(const struct whirl_request *req);
/* The target as sent ("/a%20b?x=1"). */
const char *whirl_request_target(const struct whirl_request *req);
/* The target's path, still percent-encoded, without the query; for an
 * absolute-form target ("http://host/p") the path part ("/p"). */
const char *whirl_request_path(const struct whirl_request *req);
/* The query string without '?', or "". */
const char *whirl_request_query(const struct whirl_request *req);
const struct whirl_headers *whirl_request_headers(
    const struct whirl_request *req);
/* The body (NUL-terminated for convenience; may hold NULs). */
const char *whirl_request_body(const struct whirl_request *req, size_t *len);
/* The peer's address ("127.0.0.1", "::1") and port; with xheaders the
 * address is the client's as the proxy reports it (the port stays the
 * proxy's). */
const char *whirl_request_remote_ip(const struct whirl_request *req);
int whirl_request_remote_port(const struct whirl_request *req);
/* "HTTP/1.1" */
const char *whirl_request_version(const struct whirl_request *req);
/* The server's port the request came to. */
int whirl_request_local_port(const struct whirl_request *req);
/* Came over TLS (with xheaders: the proxy says the client used https). */
bool whirl_request_is_tls(const struct whirl_request *req);
/* Monotonic ms when the head was complete (for access logs). */
uint64_t whirl_request_start_ms(const struct whirl_request *req);
struct whirl_loop *whirl_request_loop(const struct whirl_request *req);
/* Called once if the connection closes before the response finished. */
void whirl_request_set_close_cb(struct whirl_request *req,
    whirl_request_close_cb cb, void *arg);
bool whirl_request_connection_closed(const struct whirl_request *req);

/* The response.  start writes the status line and headers (the caller's,
 * plus Date, Server, Connection, framing); content_length -1 means not
 * known yet (chunked).  write sends body bytes; finish ends the response
 * and releases the request.  All are no-ops once the connection closed.
 * -1 on misuse (start twice, write before start). */
int whirl_response_start(struct whirl_request *req, int status,
    const struct whirl_headers *headers, int64_t content_length);
int whirl_response_write(struct whirl_request *req, const void *data,
    size_t len);
void whirl_response_finish(struct whirl_request *req);
/* End a started response as failed: what was written still goes out,
 * then the connection closes without the body's proper end (no last
 * chunk, or fewer bytes than Content-Length), so the client sees the
 * response cut short.  Releases the request, as finish does. */
void whirl_response_abort(struct whirl_request *req);
/* start + write + finish. */
void whirl_response_send(struct whirl_request *req, int status,
    const struct whirl_headers *headers, const void *body, size_t len);
bool whirl_response_started(const struct whirl_request *req);
int whirl_response_status(const struct whirl_request *req);
/* Body bytes written so far. */
uint64_t whirl_response_bytes(const struct whirl_request *req);
/* Queued output, for a streaming handler's back-pressure. */
size_t whirl_response_pending(const struct whirl_request *req);

/* Back-pressure for a streaming handler: cb(above) when the response's
 * queued output passes `high` bytes, and again (above false) when it has
 * drained to high / 2; cb NULL turns it off.  Ends with the response. */
typedef void (*whirl_response_water_cb)(struct whirl_request *req,
    bool above, void *arg);
void whirl_response_set_water(struct whirl_request *req, size_t high,
    whirl_response_water_cb cb, void *arg);

/* Tornado's error page for a status: "<html><title>404: Not Found</title>
 * <body>404: Not Found</body></html>" into buf; returns its length. */
size_t whirl_http_error_page(int status, char *buf, size_t size);

/* Take the connection's stream away from HTTP (a WebSocket upgrade): the
 * request is released, the server forgets the connection, and the caller
 * owns the stream, with any bytes the client sent after the head still
 * buffered.  NULL if the connection is closed or a response started. */
struct whirl_stream *whirl_request_detach(struct whirl_request *req);

#endif
