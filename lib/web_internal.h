/* web_internal.h - what web.c and webexec.c share; never installed.
 *
 * webexec.c runs the programs of exec:, cgi: and ws-exec routes: an
 * exec: or cgi: route is a handler route whose callback and state are
 * webexec's (whirl__exec_*), and every program, ws-exec's too, runs as a
 * whirl__prog: a child in its own process group whose stderr goes to the
 * log line by line, stopped with SIGTERM and then SIGKILL.  web.c lends
 * webexec what only it knows of a handler: its route's pattern, named
 * groups and where a capture sat in the path.
 *
 * Ownership: a route owns its whirl__exec, which owns the runs of its
 * programs; whoever starts a whirl__prog frees it.
 */
#ifndef WHIRL_WEB_INTERNAL_H
#define WHIRL_WEB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web.h"

struct whirl_loop;
struct whirl_stream;
struct whirl_headers;

/*
 * web.c, for webexec.c.
 */

/* The pattern of the handler's route, as written. */
const char *whirl__handler_pattern(const struct whirl_handler *h);
/* The k-th named group of the handler's route (0, 1, ...): its name and
 * group number; false past the last. */
bool whirl__handler_group_name(const struct whirl_handler *h, size_t k,
    const char **name, size_t *group);
/* Where group i starts in the path as sent; -1 if it took no part. */
long whirl__handler_capture_pos(const struct whirl_handler *h, size_t i);

/*
 * webexec.c: exec: and cgi: routes.
 */

struct whirl__exec;

/* The state of an exec: (cgi false) or cgi: route running command;
 * pattern is borrowed from the route and outlives it. */
struct whirl__exec *whirl__exec_new(struct whirl_app *app, bool cgi,
    const char *command, const char *pattern,
    const struct whirl_route_opts *opts);
/* The route's callback; arg is its whirl__exec. */
void whirl__exec_serve(struct whirl_handler *h, void *arg);
/* Some of the app's work in flight is over (web.c): its idle callback
 * is due if none is left. */
void whirl__app_work_ended(struct whirl_app *app);
/* Programs started and not yet over (reaped, pipes at their end). */
size_t whirl__exec_running(const struct whirl__exec *x);
/* Free the route's state: programs still running get SIGTERM and are
 * left to be reaped.  No handler of the route may be unfinished. */
void whirl__exec_free(struct whirl__exec *x);

/* A CGI program's header block (RFC 3875 6.3): where the blank line that
 * ends it ends in data (LF or CRLF lines), or 0 if it has not come yet;
 * from is how far an earlier call looked (0 at first), so that a block
 * arriving a byte at a time is not scanned again and again. */
size_t whirl__cgi_head_end(const char *data, size_t len, size_t from);
/* Parse a whole header block (its blank line included): Status (a code
 * from 200 to 599, its reason ignored) into *status (0 if absent; 302
 * when Location comes without it), every other field into out, except
 * those the server frames itself (Content-Length, Transfer-Encoding,
 * Connection, Date, Server), which are dropped.  -1 with whirl_error()
 * for a line that is not "Name: value" with a token for a name, a value
 * holding CR or NUL, a folded line or a bad Status: nothing may be sent
 * of such a head. */
int whirl__cgi_head_parse(const char *block, size_t len, int *status,
    struct whirl_headers *out);

/*
 * webexec.c: programs, for every route kind that runs one.
 */

struct whirl__prog;

/* The program is over: its shell was reaped, and its stdout (as the
 * owner reports it) and stderr reached their ends, or its group got
 * SIGKILL after the grace; status is the shell's wait status. */
typedef void (*whirl__prog_cb)(struct whirl__prog *p, int status, void *arg);

/* Start `sh -c command sh args...` with env added to ours (process.h's
 * options), its stdin and stdout on one half-closing stream, its stderr
 * logged a line at a time as "NAME: line" (name is borrowed).  NULL
 * with whirl_error() if it cannot be started. */
struct whirl__prog *whirl__prog_new(struct whirl_loop *loop,
    const char *command, const char *name, char **args, char **env,
    whirl__prog_cb cb, void *arg);
struct whirl_stream *whirl__prog_stream(const struct whirl__prog *p);
/* The owner read stdout to its end (or gave up on it). */
void whirl__prog_out_eof(struct whirl__prog *p);
/* SIGTERM to the process group, SIGKILL after a grace of two seconds. */
void whirl__prog_stop(struct whirl__prog *p);
/* Free; a program not over yet gets SIGTERM and is reaped unseen. */
void whirl__prog_free(struct whirl__prog *p);

/* The captures as $1.. (decoded, cut at a NUL byte; "" for a group that
 * took no part), NULL-terminated; free with whirl__strv_free. */
char **whirl__prog_args(const struct whirl_handler *h);
/* The environment a program gets: for exec: and ws-exec routes
 * REQUEST_METHOD, REQUEST_URI, QUERY_STRING, REMOTE_ADDR, REMOTE_PORT;
 * for cgi: RFC 3875's variables; for all CAPTURE_name of each named
 * group. */
char **whirl__prog_env(struct whirl_handler *h, bool cgi);

#endif
