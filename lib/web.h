/* web.h - applications, routes and request handlers: Tornado's web module
 * in C.
 *
 * A whirl_app is a list of routes tried in order against each request an
 * httpserver hands it (whirl_app_handle is the server's request callback).
 * A route is a PCRE2 pattern in Tornado's syntax ("/user/(\d+)",
 * "/(?P<name>[a-z]+)"), anchored at both ends and matched against the
 * request path as sent: without the query string, still percent-encoded.
 * The first route whose pattern matches and whose methods allow the
 * request's method wins (GET implies HEAD).  A path that some routes match
 * only for other methods gets 405 with Allow; a path nothing matches gets
 * 404.  Error pages are Tornado's ("<html><title>404: Not Found</title>
 * <body>404: Not Found</body></html>").
 *
 * The winning route's callback receives a whirl_handler, Tornado's
 * RequestHandler: the request (method, path, arguments, headers, body,
 * the route's captures, percent-decoded as Tornado decodes them) and a
 * response being built (status, headers, a buffered body).  The handler
 * answers at once or later, from any callback (a timer, a child process):
 * it keeps the pointer and calls whirl_handler_finish when done.  write
 * buffers; flush sends what is buffered (the first flush starts a chunked
 * response); finish sends the rest.  Every request is logged when it
 * finishes, in Tornado's access-log line (log.h's access log):
 *
 *     [I 261128 12:00:00 web:2239] 200 GET / (127.0.0.1) 0.45ms
 *
 * at I below 400, W below 500, E above; or as a combined-format or JSON
 * line (whirl_app_set_log_format).
 *
 * The route strings of whirl-serve, "[METHODS ]PATTERN=KIND[:ARG]", are
 * parsed here too (whirl_route_parse) and installed with their built-in
 * handlers (whirl_app_add_route): text, file, dir, status and redirect,
 * programs as routes (exec and cgi), and the WebSocket kinds ws-echo,
 * ws-exec and ws-broadcast.  Static files themselves are static.h's;
 * WebSocket framing is websocket.h's; child processes are process.h's.
 *
 * WebSockets: a ws-* route answers the upgrade (websocket.h's
 * whirl_ws_accept: 101, or Tornado's 400, 426 or 403) and then owns the
 * connection, which httpserver no longer counts.  The app keeps every
 * WebSocket of its routes, so a server going away can close them all with
 * 1001 (whirl_app_close_websockets) and wait until none is left.
 *
 * Ownership: the caller owns the app and frees it after the httpserver
 * that feeds it (no handler may be unfinished then), and after its
 * WebSockets were closed or dropped and the loop ran them out (a
 * WebSocket's last frame and a program's exit need the loop): once
 * whirl_app_pending and whirl_app_websockets are both 0, freeing it
 * leaves nothing behind.  The app copies patterns, methods and header
 * values.  A handler belongs to the app from the route callback until
 * whirl_handler_finish (or send_error, redirect, abort), which releases
 * it: the pointer is invalid afterwards.  Strings a handler returns live
 * until it is finished.
 */
#ifndef WHIRL_WEB_H
#define WHIRL_WEB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whirl_loop;
struct whirl_request;
struct whirl_headers;
struct whirl_args;
struct whirl_app;
struct whirl_handler;

/* A route's callback: answer h now or later; arg as registered. */
typedef void (*whirl_handler_cb)(struct whirl_handler *h, void *arg);

/* The access log's line format. */
enum whirl_access_format {
	WHIRL_ACCESS_TORNADO,   /* [I 261128 12:00:00 web:2239] 200 GET / ... */
	WHIRL_ACCESS_COMBINED,  /* 127.0.0.1 - - [28/Nov/2026:12:00:00 ... */
	WHIRL_ACCESS_JSON       /* {"time":"...","status":200,...} */
};

/*
 * The application.
 */

struct whirl_app *whirl_app_new(void);
void whirl_app_free(struct whirl_app *app);

/* Add a route: methods is NULL (any) or a comma-separated list of method
 * names ("GET,POST"; GET implies HEAD); pattern is PCRE2 in Tornado's
 * syntax, anchored at both ends.  Returns the route's index (0, 1, ...),
 * or -1 with whirl_error() ("bad pattern '(': missing closing
 * parenthesis at 1") on a bad pattern or method list. */
int whirl_app_add(struct whirl_app *app, const char *methods,
    const char *pattern, whirl_handler_cb cb, void *arg);

/* Options of the built-in route kinds (whirl_app_add_route). */
struct whirl_route_opts {
	const char *content_type;  /* text:, status: and exec: bodies,
				      and cgi: ones without a type; NULL:
				      "text/plain; charset=utf-8" */
	bool dotfiles;             /* dir: serve names starting with '.' */
	bool listing;              /* dir: list a directory without index */
	/* ws-echo, ws-exec and ws-broadcast: */
	bool ws_no_deflate;        /* decline permessage-deflate */
	const char *const *ws_origins;  /* Origins allowed besides the
					   request's own Host ("*": any);
					   NULL-ended, copied */
	size_t ws_max_message;     /* larger messages: 1009 (0: 16 MiB) */
	size_t ws_max_queue;       /* ws-broadcast: a client with more
				      unsent is closed with 1008 (0: 1 MiB) */
	/* exec: and cgi: */
	uint64_t exec_timeout_ms;  /* the program's process group is
				      killed after this (0: 60 s) */
};

/* Parse a whirl-serve route string and add it with its built-in handler
 * (opts may be NULL).  Returns the route's index, or -1 with whirl_error()
 * naming the route: "route '/x=run:ls': unknown kind 'run'". */
int whirl_app_add_route(struct whirl_app *app, const char *route,
    const struct whirl_route_opts *opts);

/* Add the routes of a routes file (whirl-serve --routes): one route a
 * line; blank lines and lines whose first non-blank is '#' are skipped,
 * leading blanks too, trailing ones kept (they may be part of a text:
 * body).  0, or -1 with whirl_error() as "FILE: why" or "FILE:LINE: route
 * ...: what"; the routes before a bad line stay added. */
int whirl_app_add_routes_file(struct whirl_app *app, const char *path,
    const struct whirl_route_opts *opts);

/* Set a header on every response of the app (-H), replacing the one the
 * route would send.  -1 (whirl_error) for a name or value that is not a
 * valid field, or a field the server manages (Content-Length,
 * Transfer-Encoding, Connection, Date). */
int whirl_app_set_header(struct whirl_app *app, const char *name,
    const char *value);
/* Cross-origin requests from origin ("*" or "https://example.com"): every
 * response gets Access-Control-Allow-Origin, and a preflight (OPTIONS with
 * Access-Control-Request-Method) gets 204 with the methods the path
 * allows. */
int whirl_app_set_cors(struct whirl_app *app, const char *origin);
/* Compress text responses of 1 KiB and more (and streamed ones) with gzip
 * when the client accepts it (Tornado's compress_response). */
void whirl_app_set_gzip(struct whirl_app *app, bool on);
void whirl_app_set_log_format(struct whirl_app *app,
    enum whirl_access_format format);

/* WebSockets open on the app's ws-* routes (a ws-exec connection counts
 * until its program has exited too). */
size_t whirl_app_websockets(const struct whirl_app *app);
/* Start the close handshake on each (code 1001 when the server is going
 * away); each is freed when its handshake ends or times out. */
void whirl_app_close_websockets(struct whirl_app *app, int code,
    const char *reason);
/* Drop them all at once, without a handshake; ws-exec programs get
 * SIGTERM (SIGKILL two seconds later) and count until they exit. */
void whirl_app_drop_websockets(struct whirl_app *app);

/* Work in flight that still needs the loop: handlers not yet finished,
 * plus programs of exec: and cgi: routes not yet over (a program whose
 * client left is still stopping); a request with its program counts
 * twice.  0 when there is none: with no WebSocket either, the app may
 * then be freed (after a reload, say) without cutting anything short. */
size_t whirl_app_pending(const struct whirl_app *app);
/* Nothing in flight: whirl_app_pending and whirl_app_websockets are 0. */
bool whirl_app_idle(const struct whirl_app *app);

/* Told on a later turn of loop each time the app's work in flight has
 * all ended (whirl_app_idle) after a handler finished, a program ended or
 * a WebSocket closed.  The app
 * may be freed inside (a server waiting to stop, an app replaced by a
 * reload).  cb NULL: no more calls. */
typedef void (*whirl_app_idle_cb)(struct whirl_app *app, void *arg);
void whirl_app_set_idle_cb(struct whirl_app *app, struct whirl_loop *loop,
    whirl_app_idle_cb cb, void *arg);

/* The httpserver's request callback; arg is the app. */
void whirl_app_handle(struct whirl_request *req, void *arg);

/* Which route answers (method, path)?  Its index, or -1 with *status 404,
 * or 405 with the allowed methods in allow ("GET, HEAD, POST"; may be NULL
 * when size is 0).  For tests and -v output. */
int whirl_app_find(struct whirl_app *app, const char *method,
    const char *path, int *status, char *allow, size_t size);

/*
 * The handler: the request side.
 */

struct whirl_request *whirl_handler_request(struct whirl_handler *h);
struct whirl_app *whirl_handler_app(struct whirl_handler *h);
const char *whirl_handler_method(const struct whirl_handler *h);
/* The path as sent (percent-encoded, no query) and the whole target. */
const char *whirl_handler_path(const struct whirl_handler *h);
const char *whirl_handler_uri(const struct whirl_handler *h);
const char *whirl_handler_remote_ip(const struct whirl_handler *h);
/* A request header's first value, or NULL. */
const char *whirl_handler_header(const struct whirl_handler *h,
    const char *name);
const struct whirl_headers *whirl_handler_headers(
    const struct whirl_handler *h);
const char *whirl_handler_body(const struct whirl_handler *h, size_t *len);
/* Query arguments, decoded (parsed on first use); the first value of
 * name, or NULL. */
const struct whirl_args *whirl_handler_query_args(struct whirl_handler *h);
const char *whirl_handler_query_arg(struct whirl_handler *h,
    const char *name);
/* Fields of an application/x-www-form-urlencoded body (none for other
 * bodies), decoded. */
const struct whirl_args *whirl_handler_form_args(struct whirl_handler *h);
const char *whirl_handler_form_arg(struct whirl_handler *h,
    const char *name);

/* The route's captures, percent-decoded (a malformed escape is kept as
 * sent, as Tornado keeps it): group i (1 = the first; 0 = the whole
 * path), or NULL when the group did not take part in the match or i is
 * out of range.  *len (may be NULL) is the decoded length: a capture may
 * hold a NUL byte ("%00"), so a caller that needs a C string compares it
 * with strlen. */
size_t whirl_handler_ncaptures(const struct whirl_handler *h);
const char *whirl_handler_capture(const struct whirl_handler *h, size_t i,
    size_t *len);
/* A named group ((?P<name>...) or (?<name>...)), or NULL. */
const char *whirl_handler_capture_named(const struct whirl_handler *h,
    const char *name, size_t *len);
/* The same capture as sent, still percent-encoded. */
const char *whirl_handler_capture_raw(const struct whirl_handler *h,
    size_t i, size_t *len);

/*
 * The handler: the response side.  The status starts at 200 and the
 * headers at Content-Type "text/html; charset=UTF-8" (Tornado's default).
 */

void whirl_handler_set_status(struct whirl_handler *h, int status);
int whirl_handler_get_status(const struct whirl_handler *h);
/* Replace / append / remove a response header.  -1 (whirl_error), and
 * nothing set, for a name that is not a token, a value with CR, LF or
 * NUL, a field the server manages (Content-Length, Transfer-Encoding,
 * Connection, Date), or after the headers were sent. */
int whirl_handler_set_header(struct whirl_handler *h, const char *name,
    const char *value);
int whirl_handler_add_header(struct whirl_handler *h, const char *name,
    const char *value);
void whirl_handler_clear_header(struct whirl_handler *h, const char *name);
/* The response header as it stands, or NULL. */
const char *whirl_handler_response_header(const struct whirl_handler *h,
    const char *name);

/* Buffer body bytes (copied). */
void whirl_handler_write(struct whirl_handler *h, const void *data,
    size_t len);
void whirl_handler_printf(struct whirl_handler *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes buffered and not yet flushed. */
size_t whirl_handler_buffered(const struct whirl_handler *h);
/* Send the head now, announcing content_length body bytes (-1: not known,
 * the body is chunked).  With gzip at work the length is not known.
 * Later writes still buffer until flush or finish.  -1 if already sent. */
int whirl_handler_start(struct whirl_handler *h, int64_t content_length);
/* Send the buffered bytes now (starting a chunked response if the head
 * was not sent). */
void whirl_handler_flush(struct whirl_handler *h);
/* Send what remains and end the response (with Content-Length when the
 * head was not sent yet); releases h. */
void whirl_handler_finish(struct whirl_handler *h);
/* Location: url, status 302 (or the status given: 301, 303, 307, 308),
 * empty body; finishes.  A url with CR or LF answers 500 instead. */
void whirl_handler_redirect(struct whirl_handler *h, const char *url,
    int status);
/* Drop the buffered body and answer status with Tornado's error page (or
 * just finish, if the head was already sent); finishes.  Headers set so
 * far stay (Allow, Retry-After, WWW-Authenticate), except that
 * Content-Type becomes the page's and Content-Encoding goes. */
void whirl_handler_send_error(struct whirl_handler *h, int status);
/* The response failed after its head was sent: what was written still
 * goes out, then the connection closes without the body's end (no last
 * chunk), so the client sees it cut short, not complete.  Before the
 * head, this is whirl_handler_send_error(h, 500).  Releases h. */
void whirl_handler_abort(struct whirl_handler *h);

/* Output queued for the client and not yet taken by the kernel, and a
 * way to wait for it to drain below low (for streaming): cb fires once,
 * on a later turn, when it has (or when the connection closed). */
size_t whirl_handler_pending(const struct whirl_handler *h);
void whirl_handler_on_drain(struct whirl_handler *h, size_t low,
    whirl_handler_cb cb, void *arg);

/* Tornado's on_connection_close: cb fires once if the client goes away
 * before the response finished.  The handler must still be finished. */
void whirl_handler_set_close_cb(struct whirl_handler *h,
    whirl_handler_cb cb, void *arg);
bool whirl_handler_connection_closed(const struct whirl_handler *h);

/*
 * Route strings: "[METHODS ]PATTERN=KIND[:ARG]".  The string is split at
 * the first '=' followed by a known kind name and then ':' or its end, so
 * a pattern may hold '='.  METHODS, when present, is upper-case method
 * names separated by commas, then one space.  Kinds:
 *
 *   text:STRING            STRING after \n, \t and \\ escapes
 *   file:PATH              that file
 *   dir:PATH               files under PATH; group 1 is the path below it
 *   status:CODE[:BODY]     that status, BODY (escaped as text) or the
 *                          error page
 *   redirect:[CODE:]URL    301 (or CODE) to URL with {0} (the path) and
 *                          {1}.. or {name} (captures) substituted
 *   exec:COMMAND           a program per request (below): the body is
 *                          its stdout, streamed, as text/plain (or
 *                          content_type); no head is parsed
 *   cgi:COMMAND            a CGI program (RFC 3875; below): its output
 *                          is a head, a blank line, then the body
 *   ws-echo[:PREFIX]       a WebSocket that sends each message back, after
 *                          PREFIX (escaped as text; valid UTF-8); a client
 *                          with more than ws_max_message + 1 MiB of
 *                          echoes unread is closed with 1008
 *   ws-exec:COMMAND        a WebSocket to a program (websocketd's model):
 *                          `sh -c COMMAND` per connection with the
 *                          captures as $1.., each text message a line on
 *                          its stdin, each line of its stdout a message
 *                          (text, or binary when not UTF-8); its exit
 *                          closes with 1000, the client leaving sends its
 *                          process group SIGTERM; binary messages: 1003;
 *                          input unread past ws_max_message + 1 MiB: 1008
 *   ws-broadcast           a WebSocket chat room: each message goes to
 *                          every client of the route, the sender too; a
 *                          client that falls ws_max_queue behind is
 *                          closed with 1008
 *
 * A ws-* route without METHODS answers GET only.
 *
 * Programs (exec:, cgi:; ws-exec's are started the same way).  Each
 * request runs `/bin/sh -c COMMAND sh CAP1 CAP2 ...` in a process group
 * of its own, with no fd of ours but its pipes.  The captures,
 * percent-decoded (cut at a NUL byte; "" for a group that took no part),
 * are $1, $2, ...; each named group is also CAPTURE_name in its
 * environment, with REQUEST_METHOD, REQUEST_URI, QUERY_STRING,
 * REMOTE_ADDR (whirl_handler_remote_ip: behind a proxy with xheaders,
 * the client the proxy names) and REMOTE_PORT.  The request body is its
 * stdin, then EOF.  Its stdout is sent as it comes, each read a chunk,
 * and read only while the client keeps up.  Each line of its stderr is a
 * warning in the log, "PATTERN: line".  HEAD runs it and sends no body.
 *
 * Exit status 0 finishes the response (an empty 200 when it printed
 * nothing).  A non-zero status or a signal before any body was sent is a
 * 502 with Tornado's page; after, the connection closes without the
 * body's end (no last chunk), so the client sees the response cut
 * short.  A program still running exec_timeout_ms after it started gets
 * SIGTERM on its process group, SIGKILL two seconds later, and the
 * answer is a 504 (or a cut-short body); a client that leaves stops it
 * the same way.  The response ends once the program has exited and
 * closed its stdout and stderr: a background child that holds them
 * holds the response until the timeout.
 *
 * cgi: adds RFC 3875's variables: GATEWAY_INTERFACE=CGI/1.1,
 * SERVER_SOFTWARE, SERVER_PROTOCOL, SERVER_NAME (Host without its port,
 * else our host name), SERVER_PORT, SCRIPT_NAME and PATH_INFO, both
 * decoded (when group 1 took part: the path before it and the group;
 * else the whole path and ""), CONTENT_LENGTH (when the request has a
 * body), CONTENT_TYPE (when it has one), HTTPS=on over TLS, and each
 * request header as HTTP_NAME (upper case, '-' as '_', repeats joined
 * with ", "), except Content-Type, Content-Length, Proxy (so that
 * HTTP_PROXY never comes from a client: httpoxy) and names with other
 * characters than letters, digits and '-'.  No HTTP_ variable of the
 * server's own environment is passed on.  The output opens with a head:
 * "Name: value" lines up to a blank line (LF or CRLF), 64 KiB at most.
 * "Status: CODE [REASON]" is the status (the reason sent is the
 * server's); Location without Status is a 302 (never followed inside the
 * server); Content-Type is the body's (without one: as exec:); other
 * fields are sent as given, except those the server frames
 * (Content-Length, Transfer-Encoding, Connection, Date, Server), which
 * are dropped.  A head too long or without its blank line, a line that
 * is not a field with a token for a name, a value holding CR or NUL, or
 * a bad Status is a 502 (nothing of the head is sent) and stops the
 * program.
 */

enum whirl_route_kind {
	WHIRL_ROUTE_TEXT,
	WHIRL_ROUTE_FILE,
	WHIRL_ROUTE_DIR,
	WHIRL_ROUTE_STATUS,
	WHIRL_ROUTE_REDIRECT,
	WHIRL_ROUTE_EXEC,
	WHIRL_ROUTE_CGI,
	WHIRL_ROUTE_WS_ECHO,
	WHIRL_ROUTE_WS_EXEC,
	WHIRL_ROUTE_WS_BROADCAST
};

struct whirl_route_spec {
	char *methods;            /* "GET,POST", or NULL for any */
	char *pattern;            /* as written */
	enum whirl_route_kind kind;
	char *arg;                /* body or prefix (escapes done), path,
				     URL or command */
	size_t arg_len;
	int status;               /* status: and redirect: */
	bool has_body;            /* status: with a BODY */
};

/* Split and check a route string (patterns are not compiled here).
 * 0, or -1 with whirl_error() naming the route.  The spec's strings are
 * the caller's: whirl_route_spec_reset frees them. */
int whirl_route_parse(const char *route, struct whirl_route_spec *spec);
void whirl_route_spec_reset(struct whirl_route_spec *spec);

/* The kind's name ("text"). */
const char *whirl_route_kind_name(enum whirl_route_kind kind);

/* Expand a redirect template: {0} is path, {N} the N-th of ncaps
 * captures (NULL: empty), {name} a named capture (looked up through
 * lookup, which returns a group number or -1), {{ and }} are braces.
 * Returns a new string (free(3)), or NULL with whirl_error() for an
 * unknown group or a lone brace. */
char *whirl_redirect_expand(const char *tmpl, const char *path,
    const char *const *caps, size_t ncaps,
    int (*lookup)(const char *name, size_t len, void *arg), void *arg);

#endif
