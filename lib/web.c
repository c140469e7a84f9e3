/* web.c - routes, dispatch, handlers and the access log (web.h).
 *
 * Invariants:
 *   - one pcre2 match data per app, sized for the route with the most
 *     groups: matching is synchronous, so the captures it holds are
 *     copied into the handler before anything else can match;
 *   - text, status and redirect routes and the error pages answer without
 *     a handler: their heads are built once (app_prepare) and sent with
 *     whirl_response_send, so "Hello, world" costs no allocation here;
 *   - a handler lives from dispatch to finish; finished handlers wait on
 *     a short free list, their header list and buffer kept for reuse;
 *   - the access line is written before the response is finished: the
 *     request (method, target, address) is released by the finish;
 *   - a WebSocket of a ws-* route is a wsconn in its route's list from
 *     the upgrade until its close callback (ws-exec: until its program
 *     is over too); app->nws counts them for a server going away;
 *   - exec: and cgi: routes are handler routes whose state and callback
 *     are webexec.c's (r->exec); app->nhandlers counts the unfinished
 *     handlers of every route, for whirl_app_pending.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include <event2/buffer.h>

#include "error.h"
#include "escape.h"
#include "httpserver.h"
#include "httputil.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "log.h"
#include "process.h"
#include "static.h"
#include "web.h"
#include "web_internal.h"
#include "websocket.h"

/* Tornado 6.1's web.py logs from this line; its users grep for it. */
#define TORNADO_LOG_FILE  "web.c"
#define TORNADO_LOG_LINE  2239
#define GZIP_MIN          1024          /* Tornado's MIN_LENGTH */
#define FREE_HANDLERS     64
#define MAX_ALLOW         32
#define DRAIN_POLL_MS     1
#define DEFAULT_TYPE      "text/html; charset=UTF-8"
#define TEXT_TYPE         "text/plain; charset=utf-8"
#define KINDS             "text, file, dir, status, redirect, exec, cgi, " \
			  "ws-echo, ws-exec, ws-broadcast"
#define WS_MAX_MESSAGE    (16u * 1024 * 1024)   /* websocket.h's default */
#define WS_MAX_QUEUE      (1024u * 1024)

enum rkind {
	R_HANDLER,                      /* whirl_app_add's callback */
	R_TEXT,                         /* a fixed body (text:, status:) */
	R_REDIRECT,
	R_WS                            /* ws-echo, ws-exec, ws-broadcast */
};

struct wsconn;

struct route {
	char *pattern;
	char **methods;                 /* NULL: any method */
	size_t nmethods;
	pcre2_code *code;               /* NULL for a literal pattern */
	bool jit;
	uint32_t ngroups;
	enum rkind kind;
	whirl_handler_cb cb;
	void *arg;
	/* R_TEXT */
	int status;
	char *body, *gz;
	size_t blen, gzlen;
	char *ctype;
	struct whirl_headers *head, *gzhead;
	/* R_REDIRECT */
	char *location;
	/* dir: and file: */
	struct whirl_static *st;
	/* exec: and cgi: */
	struct whirl__exec *exec;
	/* R_WS: the prefix or command is body/blen */
	struct whirl_app *app;
	enum whirl_route_kind ws_kind;
	struct whirl_ws_accept_opts wsa;
	char **origins;                 /* wsa.origins */
	size_t ws_max;                  /* ws-exec's longest line */
	struct wsconn *conns;
};

struct whirl_app {
	struct route **routes;
	size_t n, cap;
	pcre2_match_data *md;
	struct whirl_headers *extra;    /* -H: set on every response */
	struct whirl_headers *scratch;  /* error pages, redirects */
	char *cors;
	bool gzip, ready;
	enum whirl_access_format fmt;
	struct whirl_handler *free_list;
	size_t nfree;
	size_t nws;                     /* open wsconns, all routes */
	size_t nhandlers;               /* unfinished */
	whirl_app_idle_cb idle_cb;
	void *idle_arg;
	struct whirl_timer *idle_timer; /* tells idle_cb on the next turn */
};

struct cap {
	size_t off, len;                /* decoded, in cbuf */
	size_t roff, rlen;              /* as sent, in cbuf */
	size_t pos;                     /* where it was in the path */
	bool set;
};

struct whirl_handler {
	struct whirl_app *app;
	struct whirl_request *req;
	struct route *route;
	int status;
	struct whirl_headers *headers;
	struct evbuffer *out;
	char *cbuf;
	size_t cbuf_cap;
	struct cap *caps;
	size_t ncaps, caps_cap;
	struct whirl_args *query, *form;
	bool have_query, have_form;
	z_stream *z;
	bool started, gzipping, head_only;
	struct timespec t0;
	whirl_handler_cb close_cb, drain_cb;
	void *close_arg, *drain_arg;
	struct whirl_timer *drain_timer;
	size_t drain_low;
	struct whirl_handler *next;
};

static const char *const kind_names[] = {
	"text", "file", "dir", "status", "redirect", "exec", "cgi", "ws-echo",
	"ws-exec", "ws-broadcast"
};

/* Fields the server frames or adds itself. */
static const char *const managed[] = {
	"Content-Length", "Transfer-Encoding", "Connection", "Date", "Server"
};

static bool
is_managed(const char *name)
{
	size_t i;

	for (i = 0; i < WHIRL__ARRAY_LEN(managed); i++)
		if (strcasecmp(name, managed[i]) == 0)
			return true;
	return false;
}

/*
 * Small helpers.
 */

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Does Accept-Encoding take gzip (listed, and not with q=0)? */
static bool
accepts_gzip(const struct whirl_headers *rh)
{
	const char *v = whirl_headers_get(rh, "Accept-Encoding"), *p, *e;
	size_t n;

	if (v == NULL)
		return false;
	for (p = v; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t;,");
		e = p + strcspn(p, ",");
		if (n == 4 && strncasecmp(p, "gzip", 4) == 0) {
			const char *q = strstr(p, "q=");

			if (q != NULL && q < e) {
				q += 2;
				return strtod(q, NULL) > 0;
			}
			return true;
		}
	}
	return false;
}

/* Tornado's GZipContentEncoding.CONTENT_TYPES, and text/ anything. */
static bool
compressible(const char *ctype)
{
	static const char *const types[] = {
		"application/javascript", "application/x-javascript",
		"application/xml", "application/atom+xml", "application/json",
		"application/xhtml+xml", "image/svg+xml"
	};
	size_t i;

	if (ctype == NULL)
		return false;
	if (strncasecmp(ctype, "text/", 5) == 0)
		return true;
	for (i = 0; i < WHIRL__ARRAY_LEN(types); i++)
		if (whirl_media_type_is(ctype, types[i]))
			return true;
	return false;
}

/* The whole of len bytes gzipped, into a new buffer. */
static char *
gzip_all(const char *data, size_t len, size_t *outlen)
{
	z_stream z;
	char *out;
	uLong bound;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	bound = deflateBound(&z, (uLong)len);
	out = whirl__xmalloc(bound);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*outlen = bound - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void
vary_accept_encoding(struct whirl_headers *h)
{
	const char *v = whirl_headers_get(h, "Vary");
	char buf[512];

	if (v == NULL) {
		whirl_headers_add(h, "Vary", "Accept-Encoding");
	} else if (strcasestr(v, "Accept-Encoding") == NULL &&
	    strlen(v) < sizeof(buf) - 20) {
		snprintf(buf, sizeof(buf), "%s, Accept-Encoding", v);
		whirl_headers_set(h, "Vary", buf);
	}
}

static void
apply_extra(const struct whirl_app *app, struct whirl_headers *h)
{
	const char *n, *v;
	size_t i;

	for (i = 0; whirl_headers_at(app->extra, i, &n, &v); i++)
		whirl_headers_set(h, n, v);
}

/*
 * The access log.
 */

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* Combined-format quoting, as nginx does it: '"', '\' and anything not
 * printable become \xHH. */
static void
quote_combined(struct evbuffer *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		evbuffer_add(b, "-", 1);
		return;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || *p < 0x20 || *p >= 0x7f)
			evbuffer_add_printf(b, "\\x%02X", *p);
		else
			evbuffer_add(b, p, 1);
	}
}

static void
json_field(struct evbuffer *b, const char *name, const char *s)
{
	evbuffer_add_printf(b, ",\"%s\":", name);
	if (s == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add(b, "\"", 1);
	whirl_json_escape_buf(b, s, strlen(s));
	evbuffer_add(b, "\"", 1);
}

static void
log_other(const struct whirl_app *app, struct whirl_request *req,
    int status, uint64_t bytes, double ms)
{
	const struct whirl_headers *rh = whirl_request_headers(req);
	struct evbuffer *b = evbuffer_new();
	time_t now = time(NULL);
	struct tm tm;
	long off;
	char *line;
	size_t len;

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	if (app->fmt == WHIRL_ACCESS_COMBINED) {
		evbuffer_add_printf(b, "%s - - [%02d/%.3s/%04d:%02d:%02d:%02d "
		    "%c%02ld%02ld] \"", whirl_request_remote_ip(req),
		    tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		    labs(off) / 60, labs(off) % 60);
		quote_combined(b, whirl_request_method(req));
		evbuffer_add(b, " ", 1);
		quote_combined(b, whirl_request_target(req));
		evbuffer_add_printf(b, " %s\" %d ", whirl_request_version(req),
		    status);
		if (bytes == 0)
			evbuffer_add(b, "-", 1);
		else
			evbuffer_add_printf(b, "%llu",
			    (unsigned long long)bytes);
		evbuffer_add(b, " \"", 2);
		quote_combined(b, whirl_headers_get(rh, "Referer"));
		evbuffer_add(b, "\" \"", 3);
		quote_combined(b, whirl_headers_get(rh, "User-Agent"));
		evbuffer_add(b, "\"\n", 2);
	} else {
		evbuffer_add_printf(b, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:"
		    "%02d%c%02ld:%02ld\"", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
		json_field(b, "remote_ip", whirl_request_remote_ip(req));
		json_field(b, "method", whirl_request_method(req));
		json_field(b, "uri", whirl_request_target(req));
		json_field(b, "version", whirl_request_version(req));
		evbuffer_add_printf(b, ",\"status\":%d,\"bytes\":%llu,"
		    "\"duration_ms\":%.2f", status, (unsigned long long)bytes,
		    ms);
		json_field(b, "referer", whirl_headers_get(rh, "Referer"));
		json_field(b, "user_agent",
		    whirl_headers_get(rh, "User-Agent"));
		evbuffer_add(b, "}\n", 2);
	}
	len = evbuffer_get_length(b);
	line = (char *)evbuffer_pullup(b, -1);
	whirl_log_access_write(line, len);
	evbuffer_free(b);
}

static void
log_access(const struct whirl_app *app, struct whirl_request *req,
    int status, uint64_t bytes, const struct timespec *t0)
{
	enum whirl_log_level level = status < 400 ? WHIRL_LOG_INFO :
	    status < 500 ? WHIRL_LOG_WARNING : WHIRL_LOG_ERROR;
	double ms;

	if (!whirl_log_access_enabled(level))
		return;
	ms = ms_since(t0);
	if (strcmp(whirl_request_method(req), "HEAD") == 0)
		bytes = 0;
	if (app->fmt != WHIRL_ACCESS_TORNADO) {
		log_other(app, req, status, bytes, ms);
		return;
	}
	whirl_log_access_at(level, TORNADO_LOG_FILE, TORNADO_LOG_LINE,
	    "%d %s %s (%s) %.2fms", status, whirl_request_method(req),
	    whirl_request_target(req), whirl_request_remote_ip(req), ms);
}

/*
 * Routes.
 */

static void ws_route_close(struct route *r);

static void
route_free(struct route *r)
{
	size_t i;

	ws_route_close(r);
	free(r->pattern);
	for (i = 0; i < r->nmethods; i++)
		free(r->methods[i]);
	free(r->methods);
	pcre2_code_free(r->code);
	free(r->body);
	free(r->gz);
	free(r->ctype);
	whirl_headers_free(r->head);
	whirl_headers_free(r->gzhead);
	free(r->location);
	whirl_static_free(r->st);
	whirl__exec_free(r->exec);
	if (r->origins != NULL)
		for (i = 0; r->origins[i] != NULL; i++)
			free(r->origins[i]);
	free(r->origins);
	free(r);
}

/* "GET,POST" into r->methods; -1 on an empty or bad name. */
static int
parse_methods(struct route *r, const char *methods)
{
	const char *p = methods, *e;
	size_t len;

	for (;;) {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (!whirl_http_is_token(p, len)) {
			whirl__seterr(EINVAL, "bad method list '%s'", methods);
			return -1;
		}
		r->methods = whirl__xrealloc(r->methods,
		    (r->nmethods + 1) * sizeof(*r->methods));
		r->methods[r->nmethods] = whirl__xmalloc(len + 1);
		memcpy(r->methods[r->nmethods], p, len);
		r->methods[r->nmethods++][len] = '\0';
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static bool
is_literal(const char *pattern)
{
	return strpbrk(pattern, "\\^$.|?*+()[]{}") == NULL;
}

static int
compile(struct route *r)
{
	int errcode;
	PCRE2_SIZE erroff;
	PCRE2_UCHAR msg[256];

	if (is_literal(r->pattern))
		return 0;
	r->code = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED, &errcode, &erroff, NULL);
	if (r->code == NULL) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		whirl__seterr(EINVAL, "bad pattern '%s': %s at %zu",
		    r->pattern, (char *)msg, (size_t)erroff);
		return -1;
	}
	pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &r->ngroups);
	/* Without JIT (no executable memory) pcre2_match interprets. */
	r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

static struct route *
route_new(const char *methods, const char *pattern)
{
	struct route *r = whirl__xcalloc(1, sizeof(*r));

	r->pattern = whirl__xstrdup(pattern);
	if ((methods != NULL && parse_methods(r, methods) == -1) ||
	    compile(r) == -1) {
		route_free(r);
		return NULL;
	}
	return r;
}

static int
app_push(struct whirl_app *app, struct route *r)
{
	if (app->n == app->cap) {
		app->cap = app->cap == 0 ? 8 : app->cap * 2;
		app->routes = whirl__xrealloc(app->routes,
		    app->cap * sizeof(*app->routes));
	}
	app->routes[app->n] = r;
	app->ready = false;
	return (int)app->n++;
}

static bool
method_ok(const struct route *r, const char *method)
{
	size_t i;

	if (r->methods == NULL)
		return true;
	for (i = 0; i < r->nmethods; i++)
		if (strcmp(r->methods[i], method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(r->methods[i], "GET") == 0))
			return true;
	return false;
}

static bool
path_matches(struct whirl_app *app, const struct route *r, const char *path,
    size_t plen)
{
	int rc;

	if (r->code == NULL)
		return strcmp(r->pattern, path) == 0;
	if (r->jit)
		rc = pcre2_jit_match(r->code, (PCRE2_SPTR)path, plen, 0, 0,
		    app->md, NULL);
	else
		rc = pcre2_match(r->code, (PCRE2_SPTR)path, plen, 0, 0,
		    app->md, NULL);
	return rc >= 0;
}

/* Collect a route's methods into an Allow list without repeats. */
struct allow {
	const char *m[MAX_ALLOW];
	size_t n;
	bool any;
};

static void
allow_add(struct allow *a, const char *m)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->m[i], m) == 0)
			return;
	if (a->n < MAX_ALLOW)
		a->m[a->n++] = m;
}

static void
allow_route(struct allow *a, const struct route *r)
{
	size_t i;

	if (r->methods == NULL) {
		a->any = true;
		return;
	}
	for (i = 0; i < r->nmethods; i++) {
		allow_add(a, r->methods[i]);
		if (strcmp(r->methods[i], "GET") == 0)
			allow_add(a, "HEAD");
	}
}

static void
allow_format(const struct allow *a, char *buf, size_t size)
{
	static const char *const common[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"
	};
	struct allow all = *a;
	size_t i, used = 0;

	if (a->any)
		for (i = 0; i < WHIRL__ARRAY_LEN(common); i++)
			allow_add(&all, common[i]);
	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < all.n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    i > 0 ? ", " : "", all.m[i]);
}

static void app_prepare(struct whirl_app *app);

/* The first route for (method, path), its captures in app->md; else NULL
 * and the Allow list of the routes the path matched. */
static struct route *
find(struct whirl_app *app, const char *method, const char *path,
    struct allow *allow)
{
	size_t i, plen = strlen(path);
	struct route *r;

	if (!app->ready)
		app_prepare(app);
	allow->n = 0;
	allow->any = false;
	for (i = 0; i < app->n; i++) {
		r = app->routes[i];
		if (!path_matches(app, r, path, plen))
			continue;
		if (method_ok(r, method))
			return r;
		allow_route(allow, r);
	}
	return NULL;
}

int
whirl_app_find(struct whirl_app *app, const char *method, const char *path,
    int *status, char *allow, size_t size)
{
	struct allow a;
	struct route *r = find(app, method, path, &a);
	size_t i;

	if (size > 0)
		allow[0] = '\0';
	if (r != NULL) {
		*status = 200;
		for (i = 0; i < app->n; i++)
			if (app->routes[i] == r)
				return (int)i;
	}
	*status = a.n > 0 ? 405 : 404;
	if (a.n > 0)
		allow_format(&a, allow, size);
	return -1;
}

/*
 * The application.
 */

struct whirl_app *
whirl_app_new(void)
{
	struct whirl_app *app = whirl__xcalloc(1, sizeof(*app));

	app->extra = whirl_headers_new();
	app->scratch = whirl_headers_new();
	return app;
}

static void handler_destroy(struct whirl_handler *h);

void
whirl_app_free(struct whirl_app *app)
{
	struct whirl_handler *h;
	size_t i;

	if (app == NULL)
		return;
	whirl_timer_free(app->idle_timer);
	app->idle_timer = NULL;	/* routes' programs end below */
	for (i = 0; i < app->n; i++)
		route_free(app->routes[i]);
	free(app->routes);
	pcre2_match_data_free(app->md);
	whirl_headers_free(app->extra);
	whirl_headers_free(app->scratch);
	free(app->cors);
	while ((h = app->free_list) != NULL) {
		app->free_list = h->next;
		handler_destroy(h);
	}
	free(app);
}

int
whirl_app_add(struct whirl_app *app, const char *methods,
    const char *pattern, whirl_handler_cb cb, void *arg)
{
	struct route *r = route_new(methods, pattern);

	if (r == NULL)
		return -1;
	r->kind = R_HANDLER;
	r->cb = cb;
	r->arg = arg;
	return app_push(app, r);
}

int
whirl_app_set_header(struct whirl_app *app, const char *name,
    const char *value)
{
	if (is_managed(name)) {
		whirl__seterr(EINVAL, "%s is the server's to send", name);
		return -1;
	}
	app->ready = false;
	return whirl_headers_set(app->extra, name, value);
}

int
whirl_app_set_cors(struct whirl_app *app, const char *origin)
{
	if (whirl_app_set_header(app, "Access-Control-Allow-Origin",
	    origin) == -1)
		return -1;
	free(app->cors);
	app->cors = whirl__xstrdup(origin);
	return 0;
}

void
whirl_app_set_gzip(struct whirl_app *app, bool on)
{
	app->gzip = on;
	app->ready = false;
}

void
whirl_app_set_log_format(struct whirl_app *app,
    enum whirl_access_format format)
{
	app->fmt = format;
}

/* The heads of fixed bodies, with the app's headers, and the match data;
 * redone after any change to routes or app headers. */
static void
prepare_text(const struct whirl_app *app, struct route *r)
{
	bool gz = app->gzip && compressible(r->ctype);

	whirl_headers_free(r->head);
	whirl_headers_free(r->gzhead);
	free(r->gz);
	r->gzhead = NULL;
	r->gz = NULL;
	r->head = whirl_headers_new();
	whirl_headers_add(r->head, "Content-Type", r->ctype);
	if (gz)
		vary_accept_encoding(r->head);
	apply_extra(app, r->head);
	if (gz && r->blen >= GZIP_MIN) {
		r->gz = gzip_all(r->body, r->blen, &r->gzlen);
		r->gzhead = whirl_headers_new();
		whirl_headers_add(r->gzhead, "Content-Type", r->ctype);
		whirl_headers_add(r->gzhead, "Content-Encoding", "gzip");
		vary_accept_encoding(r->gzhead);
		apply_extra(app, r->gzhead);
	}
}

static void
app_prepare(struct whirl_app *app)
{
	uint32_t most = 0;
	size_t i;

	for (i = 0; i < app->n; i++) {
		if (app->routes[i]->ngroups > most)
			most = app->routes[i]->ngroups;
		if (app->routes[i]->kind == R_TEXT)
			prepare_text(app, app->routes[i]);
	}
	pcre2_match_data_free(app->md);
	app->md = pcre2_match_data_create(most + 1, NULL);
	if (app->md == NULL)
		abort();
	app->ready = true;
}

/*
 * Answers without a handler.
 */

static void
quick_send(struct whirl_app *app, struct whirl_request *req, int status,
    const struct whirl_headers *head, const char *body, size_t len,
    const struct timespec *t0)
{
	log_access(app, req, status, len, t0);
	whirl_response_send(req, status, head, body, len);
}

/* Tornado's error page, with the app's headers. */
static void
send_page(struct whirl_app *app, struct whirl_request *req, int status,
    const char *allow, const struct timespec *t0)
{
	char page[256];
	size_t n = whirl_http_error_page(status, page, sizeof(page));

	whirl_headers_clear(app->scratch);
	whirl_headers_add(app->scratch, "Content-Type", DEFAULT_TYPE);
	if (allow != NULL)
		whirl_headers_add(app->scratch, "Allow", allow);
	apply_extra(app, app->scratch);
	quick_send(app, req, status, app->scratch, page, n, t0);
}

static void
send_text(struct whirl_app *app, struct whirl_request *req, struct route *r,
    const struct timespec *t0)
{
	if (r->gz != NULL && accepts_gzip(whirl_request_headers(req)))
		quick_send(app, req, r->status, r->gzhead, r->gz, r->gzlen, t0);
	else
		quick_send(app, req, r->status, r->head, r->body, r->blen, t0);
}

/* A group as sent, from the match data; NULL if it took no part. */
static const char *
raw_group(struct whirl_app *app, const char *path, uint32_t i, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(app->md);

	if (ov[2 * i] == PCRE2_UNSET)
		return NULL;
	*len = ov[2 * i + 1] - ov[2 * i];
	return path + ov[2 * i];
}

struct lookup_ctx {
	const pcre2_code *code;
};

static int
lookup_name(const char *name, size_t len, void *arg)
{
	struct lookup_ctx *lc = arg;
	char buf[128];

	if (lc->code == NULL || len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return pcre2_substring_number_from_name(lc->code, (PCRE2_SPTR)buf);
}

static void
send_redirect(struct whirl_app *app, struct whirl_request *req,
    struct route *r, const struct timespec *t0)
{
	const char *path = whirl_request_path(req);
	const char *query = whirl_request_query(req);
	char *caps[64] = { NULL }, *url, *full;
	size_t i, n = r->ngroups < 63 ? r->ngroups : 63, len;
	struct lookup_ctx lc = { r->code };
	const char *g;

	for (i = 1; i <= n; i++) {
		if ((g = raw_group(app, path, (uint32_t)i, &len)) == NULL)
			continue;
		caps[i - 1] = whirl__xmalloc(len + 1);
		memcpy(caps[i - 1], g, len);
		caps[i - 1][len] = '\0';
	}
	url = whirl_redirect_expand(r->location, path,
	    (const char *const *)caps, n, lookup_name, &lc);
	for (i = 0; i < n; i++)
		free(caps[i]);
	if (url == NULL) {
		send_page(app, req, 500, NULL, t0);
		return;
	}
	/* RedirectHandler keeps the query (Tornado 6). */
	if (*query != '\0') {
		full = whirl__xmalloc(strlen(url) + strlen(query) + 2);
		sprintf(full, "%s%c%s", url, strchr(url, '?') ? '&' : '?',
		    query);
		free(url);
		url = full;
	}
	whirl_headers_clear(app->scratch);
	whirl_headers_add(app->scratch, "Content-Type", DEFAULT_TYPE);
	if (whirl_headers_add(app->scratch, "Location", url) == -1) {
		free(url);
		send_page(app, req, 500, NULL, t0);
		return;
	}
	free(url);
	apply_extra(app, app->scratch);
	quick_send(app, req, r->status, app->scratch, "", 0, t0);
}

/* A CORS preflight: 204 with what the path allows. */
static void
send_preflight(struct whirl_app *app, struct whirl_request *req,
    const struct timespec *t0)
{
	const struct whirl_headers *rh = whirl_request_headers(req);
	const char *path = whirl_request_path(req), *hdrs;
	size_t i, plen = strlen(path);
	struct allow a = { .n = 0 };
	char list[512];

	for (i = 0; i < app->n; i++)
		if (path_matches(app, app->routes[i], path, plen))
			allow_route(&a, app->routes[i]);
	if (a.n == 0 && !a.any) {
		send_page(app, req, 404, NULL, t0);
		return;
	}
	allow_format(&a, list, sizeof(list));
	whirl_headers_clear(app->scratch);
	whirl_headers_add(app->scratch, "Access-Control-Allow-Methods", list);
	hdrs = whirl_headers_get(rh, "Access-Control-Request-Headers");
	if (hdrs != NULL)
		whirl_headers_add(app->scratch,
		    "Access-Control-Allow-Headers", hdrs);
	whirl_headers_add(app->scratch, "Access-Control-Max-Age", "86400");
	apply_extra(app, app->scratch);
	quick_send(app, req, 204, app->scratch, "", 0, t0);
}

/*
 * Handlers.
 */

static void
handler_destroy(struct whirl_handler *h)
{
	whirl_headers_free(h->headers);
	if (h->out != NULL)
		evbuffer_free(h->out);
	whirl_args_free(h->query);
	whirl_args_free(h->form);
	free(h->cbuf);
	free(h->caps);
	free(h);
}

/* Python's unquote_to_bytes, which Tornado applies to captures: each
 * valid %XX is decoded, a malformed one is kept as sent, '+' stays. */
static size_t
unquote(const char *in, size_t len, char *out)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (in[i] == '%' && i + 2 < len &&
		    (hi = whirl__hex_digit((unsigned char)in[i + 1])) >= 0 &&
		    (lo = whirl__hex_digit((unsigned char)in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return o;
}

/* Copy group i of the match (decoded and as sent) into the handler. */
static void
take_captures(struct whirl_handler *h, const char *path, struct route *r)
{
	size_t i, n = (size_t)r->ngroups + 1, need = 0, used = 0, len;
	const char *g;

	if (n > h->caps_cap) {
		h->caps_cap = n;
		h->caps = whirl__xrealloc(h->caps, n * sizeof(*h->caps));
	}
	h->ncaps = n;
	for (i = 0; i < n; i++) {
		if (r->code == NULL)
			need += 2 * (strlen(path) + 1);
		else if (raw_group(h->app, path, (uint32_t)i, &len) != NULL)
			need += 2 * (len + 1);
	}
	if (need > h->cbuf_cap) {
		h->cbuf_cap = need;
		h->cbuf = whirl__xrealloc(h->cbuf, need);
	}
	for (i = 0; i < n; i++) {
		struct cap *c = &h->caps[i];

		if (r->code == NULL) {
			g = path;
			len = strlen(path);
		} else {
			g = raw_group(h->app, path, (uint32_t)i, &len);
		}
		c->set = g != NULL;
		if (!c->set)
			continue;
		c->pos = (size_t)(g - path);
		c->roff = used;
		c->rlen = len;
		memcpy(h->cbuf + used, g, len);
		h->cbuf[used + len] = '\0';
		used += len + 1;
		c->off = used;
		c->len = unquote(g, len, h->cbuf + used);
		used += c->len + 1;
	}
}

static void
on_request_close(struct whirl_request *req, void *arg)
{
	struct whirl_handler *h = arg;

	(void)req;
	if (h->close_cb != NULL)
		h->close_cb(h, h->close_arg);
}

static struct whirl_handler *
handler_get(struct whirl_app *app, struct whirl_request *req,
    struct route *r, const struct timespec *t0)
{
	struct whirl_handler *h = app->free_list;

	if (h != NULL) {
		app->free_list = h->next;
		app->nfree--;
		whirl_headers_clear(h->headers);
	} else {
		h = whirl__xcalloc(1, sizeof(*h));
		h->app = app;
		h->headers = whirl_headers_new();
		h->out = evbuffer_new();
	}
	app->nhandlers++;
	h->req = req;
	h->route = r;
	h->status = 200;
	h->t0 = *t0;
	h->started = h->gzipping = false;
	h->head_only = strcmp(whirl_request_method(req), "HEAD") == 0;
	h->have_query = h->have_form = false;
	h->close_cb = h->drain_cb = NULL;
	h->next = NULL;
	whirl_headers_add(h->headers, "Content-Type", DEFAULT_TYPE);
	take_captures(h, whirl_request_path(req), r);
	whirl_request_set_close_cb(req, on_request_close, h);
	return h;
}

static void
handler_release(struct whirl_handler *h)
{
	struct whirl_app *app = h->app;

	app->nhandlers--;
	whirl__app_work_ended(app);
	if (h->z != NULL) {
		deflateEnd(h->z);
		free(h->z);
		h->z = NULL;
	}
	whirl_timer_free(h->drain_timer);
	h->drain_timer = NULL;
	h->req = NULL;
	evbuffer_drain(h->out, evbuffer_get_length(h->out));
	if (h->query != NULL)
		whirl_args_clear(h->query);
	if (h->form != NULL)
		whirl_args_clear(h->form);
	if (app->nfree >= FREE_HANDLERS) {
		handler_destroy(h);
		return;
	}
	h->next = app->free_list;
	app->free_list = h;
	app->nfree++;
}

static void ws_open(struct whirl_app *app, struct whirl_request *req,
    struct route *r, const struct timespec *t0);

/*
 * Dispatch.
 */

void
whirl_app_handle(struct whirl_request *req, void *arg)
{
	struct whirl_app *app = arg;
	const char *method = whirl_request_method(req);
	const char *path = whirl_request_path(req);
	struct timespec t0 = { 0, 0 };
	struct allow allow;
	struct route *r;
	char list[512];

	if (whirl_log_access_enabled(WHIRL_LOG_INFO) ||
	    whirl_log_access_enabled(WHIRL_LOG_ERROR))
		clock_gettime(CLOCK_MONOTONIC, &t0);
	if (app->cors != NULL && strcmp(method, "OPTIONS") == 0 &&
	    whirl_headers_get(whirl_request_headers(req),
	    "Access-Control-Request-Method") != NULL) {
		if (!app->ready)
			app_prepare(app);
		send_preflight(app, req, &t0);
		return;
	}
	r = find(app, method, path, &allow);
	if (r == NULL) {
		whirl_log_debug("no route for %s %s", method, path);
		if (allow.n == 0 && !allow.any) {
			send_page(app, req, 404, NULL, &t0);
			return;
		}
		allow_format(&allow, list, sizeof(list));
		send_page(app, req, 405, list, &t0);
		return;
	}
	whirl_log_debug("%s %s: route '%s'", method, path, r->pattern);
	switch (r->kind) {
	case R_TEXT:
		send_text(app, req, r, &t0);
		break;
	case R_REDIRECT:
		send_redirect(app, req, r, &t0);
		break;
	case R_HANDLER:
		r->cb(handler_get(app, req, r, &t0), r->arg);
		break;
	case R_WS:
		ws_open(app, req, r, &t0);
		break;
	}
}

/*
 * The handler: the request side.
 */

struct whirl_request *
whirl_handler_request(struct whirl_handler *h)
{
	return h->req;
}

struct whirl_app *
whirl_handler_app(struct whirl_handler *h)
{
	return h->app;
}

const char *
whirl_handler_method(const struct whirl_handler *h)
{
	return whirl_request_method(h->req);
}

const char *
whirl_handler_path(const struct whirl_handler *h)
{
	return whirl_request_path(h->req);
}

const char *
whirl_handler_uri(const struct whirl_handler *h)
{
	return whirl_request_target(h->req);
}

const char *
whirl_handler_remote_ip(const struct whirl_handler *h)
{
	return whirl_request_remote_ip(h->req);
}

const char *
whirl_handler_header(const struct whirl_handler *h, const char *name)
{
	return whirl_headers_get(whirl_request_headers(h->req), name);
}

const struct whirl_headers *
whirl_handler_headers(const struct whirl_handler *h)
{
	return whirl_request_headers(h->req);
}

const char *
whirl_handler_body(const struct whirl_handler *h, size_t *len)
{
	return whirl_request_body(h->req, len);
}

const struct whirl_args *
whirl_handler_query_args(struct whirl_handler *h)
{
	const char *q;

	if (!h->have_query) {
		if (h->query == NULL)
			h->query = whirl_args_new();
		q = whirl_request_query(h->req);
		whirl_args_parse(h->query, q, strlen(q));
		h->have_query = true;
	}
	return h->query;
}

const char *
whirl_handler_query_arg(struct whirl_handler *h, const char *name)
{
	return whirl_args_get(whirl_handler_query_args(h), name);
}

const struct whirl_args *
whirl_handler_form_args(struct whirl_handler *h)
{
	const char *ct, *body;
	size_t len;

	if (!h->have_form) {
		if (h->form == NULL)
			h->form = whirl_args_new();
		ct = whirl_handler_header(h, "Content-Type");
		if (ct != NULL && whirl_media_type_is(ct,
		    "application/x-www-form-urlencoded")) {
			body = whirl_request_body(h->req, &len);
			whirl_args_parse(h->form, body, len);
		}
		h->have_form = true;
	}
	return h->form;
}

const char *
whirl_handler_form_arg(struct whirl_handler *h, const char *name)
{
	return whirl_args_get(whirl_handler_form_args(h), name);
}

size_t
whirl_handler_ncaptures(const struct whirl_handler *h)
{
	return h->ncaps - 1;
}

const char *
whirl_handler_capture(const struct whirl_handler *h, size_t i, size_t *len)
{
	if (i >= h->ncaps || !h->caps[i].set)
		return NULL;
	if (len != NULL)
		*len = h->caps[i].len;
	return h->cbuf + h->caps[i].off;
}

const char *
whirl_handler_capture_raw(const struct whirl_handler *h, size_t i,
    size_t *len)
{
	if (i >= h->ncaps || !h->caps[i].set)
		return NULL;
	if (len != NULL)
		*len = h->caps[i].rlen;
	return h->cbuf + h->caps[i].roff;
}

const char *
whirl_handler_capture_named(const struct whirl_handler *h, const char *name,
    size_t *len)
{
	int i;

	if (h->route->code == NULL)
		return NULL;
	i = pcre2_substring_number_from_name(h->route->code,
	    (PCRE2_SPTR)name);
	return i < 0 ? NULL : whirl_handler_capture(h, (size_t)i, len);
}

const char *
whirl__handler_pattern(const struct whirl_handler *h)
{
	return h->route->pattern;
}

bool
whirl__handler_group_name(const struct whirl_handler *h, size_t k,
    const char **name, size_t *group)
{
	const pcre2_code *code = h->route->code;
	uint32_t count, size;
	PCRE2_SPTR table;

	if (code == NULL ||
	    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count) != 0 ||
	    k >= count)
		return false;
	pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
	table += k * size;
	*group = (size_t)table[0] << 8 | table[1];
	*name = (const char *)table + 2;
	return true;
}

long
whirl__handler_capture_pos(const struct whirl_handler *h, size_t i)
{
	if (i >= h->ncaps || !h->caps[i].set)
		return -1;
	return (long)h->caps[i].pos;
}

/*
 * The handler: the response side.
 */

void
whirl_handler_set_status(struct whirl_handler *h, int status)
{
	h->status = status;
}

int
whirl_handler_get_status(const struct whirl_handler *h)
{
	return h->status;
}

static int
header_check(const struct whirl_handler *h, const char *name)
{
	if (h->started) {
		whirl__seterr(EINVAL, "headers already sent");
		return -1;
	}
	if (is_managed(name)) {
		whirl__seterr(EINVAL, "%s is the server's to send", name);
		return -1;
	}
	return 0;
}

int
whirl_handler_set_header(struct whirl_handler *h, const char *name,
    const char *value)
{
	if (header_check(h, name) == -1)
		return -1;
	return whirl_headers_set(h->headers, name, value);
}

int
whirl_handler_add_header(struct whirl_handler *h, const char *name,
    const char *value)
{
	if (header_check(h, name) == -1)
		return -1;
	return whirl_headers_add(h->headers, name, value);
}

void
whirl_handler_clear_header(struct whirl_handler *h, const char *name)
{
	if (!h->started)
		whirl_headers_remove(h->headers, name);
}

const char *
whirl_handler_response_header(const struct whirl_handler *h,
    const char *name)
{
	return whirl_headers_get(h->headers, name);
}

void
whirl_handler_write(struct whirl_handler *h, const void *data, size_t len)
{
	evbuffer_add(h->out, data, len);
}

void
whirl_handler_printf(struct whirl_handler *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(h->out, fmt, ap);
	va_end(ap);
}

size_t
whirl_handler_buffered(const struct whirl_handler *h)
{
	return evbuffer_get_length(h->out);
}

/* Would this response be gzipped?  len is the whole body when known
 * (finishing), else -1. */
static bool
want_gzip(const struct whirl_handler *h, int64_t len)
{
	const char *ctype = whirl_headers_get(h->headers, "Content-Type");

	if (!h->app->gzip || !(h->status == 200 || h->status >= 400))
		return false;
	if (len >= 0 && len < GZIP_MIN)
		return false;
	if (whirl_headers_get(h->headers, "Content-Encoding") != NULL)
		return false;
	return compressible(ctype) &&
	    accepts_gzip(whirl_request_headers(h->req));
}

/* The head's last touches: the app's headers, Vary, a weak ETag under
 * gzip (the bytes differ), no representation fields on a 304. */
static void
finish_headers(struct whirl_handler *h)
{
	struct whirl_headers *hd = h->headers;
	const char *etag;
	char weak[256];

	if (h->app->gzip &&
	    compressible(whirl_headers_get(hd, "Content-Type")))
		vary_accept_encoding(hd);
	if (h->gzipping) {
		whirl_headers_set(hd, "Content-Encoding", "gzip");
		etag = whirl_headers_get(hd, "ETag");
		if (etag != NULL && strncmp(etag, "W/", 2) != 0 &&
		    strlen(etag) < sizeof(weak) - 3) {
			snprintf(weak, sizeof(weak), "W/%s", etag);
			whirl_headers_set(hd, "ETag", weak);
		}
	}
	if (h->status == 304) {
		whirl_headers_remove(hd, "Content-Type");
		whirl_headers_remove(hd, "Content-Encoding");
		whirl_headers_remove(hd, "Content-Language");
	}
	apply_extra(h->app, hd);
}

int
whirl_handler_start(struct whirl_handler *h, int64_t content_length)
{
	if (h->started) {
		whirl__seterr(EINVAL, "response already started");
		return -1;
	}
	h->gzipping = want_gzip(h, content_length);
	if (h->gzipping) {
		h->z = whirl__xcalloc(1, sizeof(*h->z));
		if (deflateInit2(h->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
		    15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		content_length = -1;
	}
	finish_headers(h);
	h->started = true;
	return whirl_response_start(h->req, h->status, h->headers,
	    content_length);
}

/* Send len bytes of body, through gzip when it is on. */
static void
emit(struct whirl_handler *h, const char *data, size_t len, int zflush)
{
	char buf[16384];

	if (!h->gzipping) {
		if (len > 0)
			whirl_response_write(h->req, data, len);
		return;
	}
	h->z->next_in = (Bytef *)(uintptr_t)data;
	h->z->avail_in = (uInt)len;
	do {
		h->z->next_out = (Bytef *)buf;
		h->z->avail_out = sizeof(buf);
		deflate(h->z, zflush);
		if (sizeof(buf) - h->z->avail_out > 0)
			whirl_response_write(h->req, buf,
			    sizeof(buf) - h->z->avail_out);
	} while (h->z->avail_out == 0);
}

/* Hand everything buffered to emit, piece by piece. */
static void
emit_buffered(struct whirl_handler *h, int zflush)
{
	struct evbuffer_iovec v[8];
	int i, n;

	for (;;) {
		n = evbuffer_peek(h->out, -1, NULL, v, 8);
		if (n <= 0)
			break;
		if (n > 8)
			n = 8;
		for (i = 0; i < n; i++) {
			emit(h, v[i].iov_base, v[i].iov_len, Z_NO_FLUSH);
			evbuffer_drain(h->out, v[i].iov_len);
		}
	}
	if (h->gzipping && zflush != Z_NO_FLUSH)
		emit(h, "", 0, zflush);
}

void
whirl_handler_flush(struct whirl_handler *h)
{
	if (!h->started)
		whirl_handler_start(h, -1);
	emit_buffered(h, Z_SYNC_FLUSH);
}

void
whirl_handler_finish(struct whirl_handler *h)
{
	struct whirl_request *req = h->req;
	size_t len = evbuffer_get_length(h->out);
	uint64_t bytes;
	char *gz;
	size_t gzlen;

	if (!h->started) {
		h->started = true;
		h->gzipping = want_gzip(h, (int64_t)len);
		finish_headers(h);
		if (h->gzipping) {
			/* Whole: compress at once, and keep Content-Length. */
			gz = gzip_all((char *)evbuffer_pullup(h->out, -1), len,
			    &gzlen);
			log_access(h->app, req, h->status, gzlen, &h->t0);
			whirl_response_send(req, h->status, h->headers, gz,
			    gzlen);
			free(gz);
			handler_release(h);
			return;
		}
		bytes = h->status == 304 ? 0 : len;
		log_access(h->app, req, h->status, bytes, &h->t0);
		whirl_response_send(req, h->status, h->headers,
		    evbuffer_pullup(h->out, -1), bytes);
		handler_release(h);
		return;
	}
	emit_buffered(h, Z_FINISH);
	log_access(h->app, req, h->status, whirl_response_bytes(req),
	    &h->t0);
	whirl_response_finish(req);
	handler_release(h);
}

void
whirl_handler_redirect(struct whirl_handler *h, const char *url, int status)
{
	if (h->started) {
		whirl_handler_finish(h);
		return;
	}
	evbuffer_drain(h->out, evbuffer_get_length(h->out));
	if (whirl_headers_set(h->headers, "Location", url) == -1) {
		whirl_handler_send_error(h, 500);
		return;
	}
	h->status = status != 0 ? status : 302;
	whirl_handler_finish(h);
}

void
whirl_handler_send_error(struct whirl_handler *h, int status)
{
	char page[256];
	size_t n;

	if (h->started) {
		whirl_handler_finish(h);
		return;
	}
	evbuffer_drain(h->out, evbuffer_get_length(h->out));
	whirl_headers_remove(h->headers, "Content-Encoding");
	whirl_headers_set(h->headers, "Content-Type", DEFAULT_TYPE);
	h->status = status;
	n = whirl_http_error_page(status, page, sizeof(page));
	evbuffer_add(h->out, page, n);
	whirl_handler_finish(h);
}

void
whirl_handler_abort(struct whirl_handler *h)
{
	struct whirl_request *req = h->req;

	if (!h->started) {
		whirl_handler_send_error(h, 500);
		return;
	}
	emit_buffered(h, Z_SYNC_FLUSH);
	log_access(h->app, req, h->status, whirl_response_bytes(req),
	    &h->t0);
	whirl_response_abort(req);
	handler_release(h);
}

size_t
whirl_handler_pending(const struct whirl_handler *h)
{
	return whirl_response_pending(h->req);
}

/* httpserver has no drain event yet: poll the queue each millisecond
 * while a streaming handler waits. */
static void
on_drain_poll(struct whirl_timer *t, void *arg)
{
	struct whirl_handler *h = arg;
	whirl_handler_cb cb = h->drain_cb;

	if (!whirl_request_connection_closed(h->req) &&
	    whirl_response_pending(h->req) > h->drain_low) {
		whirl_timer_start(t, DRAIN_POLL_MS, false);
		return;
	}
	h->drain_cb = NULL;
	cb(h, h->drain_arg);
}

void
whirl_handler_on_drain(struct whirl_handler *h, size_t low,
    whirl_handler_cb cb, void *arg)
{
	if (h->drain_timer == NULL)
		h->drain_timer = whirl_timer_new(whirl_request_loop(h->req),
		    on_drain_poll, h);
	h->drain_low = low;
	h->drain_cb = cb;
	h->drain_arg = arg;
	whirl_timer_start(h->drain_timer,
	    whirl_response_pending(h->req) > low ? DRAIN_POLL_MS : 0, false);
}

void
whirl_handler_set_close_cb(struct whirl_handler *h, whirl_handler_cb cb,
    void *arg)
{
	h->close_cb = cb;
	h->close_arg = arg;
}

bool
whirl_handler_connection_closed(const struct whirl_handler *h)
{
	return whirl_request_connection_closed(h->req);
}

/*
 * Route strings.
 */

const char *
whirl_route_kind_name(enum whirl_route_kind kind)
{
	return kind_names[kind];
}

static int
kind_lookup(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < WHIRL__ARRAY_LEN(kind_names); i++)
		if (strlen(kind_names[i]) == len &&
		    memcmp(kind_names[i], s, len) == 0)
			return (int)i;
	return -1;
}

/* \n, \t and \\; any other backslash stays as typed. */
static char *
unescape_text(const char *s, size_t *len)
{
	char *out = whirl__xmalloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == 't' ||
		    s[1] == '\\')) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

static bool
upper_methods(const char *s, size_t len)
{
	size_t i;
	bool start = true;

	for (i = 0; i < len; i++) {
		if (s[i] == ',') {
			if (start)
				return false;
			start = true;
		} else if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (!start && ((s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))) {
			start = false;
		} else {
			return false;
		}
	}
	return !start;
}

static int
parse_code(const char *s, int *code)
{
	if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9')
		return -1;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 0;
}

static bool
utf8_valid(const char *s, size_t len)
{
	struct whirl_utf8 u = { 0, 0, 0 };

	return whirl_utf8_feed(&u, s, len) && whirl_utf8_complete(&u);
}

static int
route_err(struct whirl_route_spec *spec, const char *route, const char *msg)
{
	whirl_route_spec_reset(spec);
	whirl__seterr(EINVAL, "route '%s': %s", route, msg);
	return -1;
}

static int
parse_arg(struct whirl_route_spec *spec, const char *route, const char *arg)
{
	char msg[128];

	switch (spec->kind) {
	case WHIRL_ROUTE_TEXT:
		spec->arg = unescape_text(arg != NULL ? arg : "",
		    &spec->arg_len);
		return 0;
	case WHIRL_ROUTE_FILE:
	case WHIRL_ROUTE_DIR:
		if (arg == NULL || *arg == '\0') {
			snprintf(msg, sizeof(msg), "%s: needs a PATH",
			    kind_names[spec->kind]);
			return route_err(spec, route, msg);
		}
		break;
	case WHIRL_ROUTE_STATUS:
		if (arg == NULL || parse_code(arg, &spec->status) == -1 ||
		    (arg[3] != '\0' && arg[3] != ':') || spec->status < 200)
			return route_err(spec, route,
			    "status: needs a CODE from 200 to 599");
		if (arg[3] == ':') {
			spec->has_body = true;
			spec->arg = unescape_text(arg + 4, &spec->arg_len);
		}
		return 0;
	case WHIRL_ROUTE_REDIRECT:
		spec->status = 301;
		if (arg != NULL && parse_code(arg, &spec->status) == 0 &&
		    arg[3] == ':') {
			if (spec->status != 301 && spec->status != 302 &&
			    spec->status != 303 && spec->status != 307 &&
			    spec->status != 308)
				return route_err(spec, route, "redirect: CODE "
				    "is 301, 302, 303, 307 or 308");
			arg += 4;
		} else {
			spec->status = 301;
		}
		if (arg == NULL || *arg == '\0')
			return route_err(spec, route, "redirect: needs a URL");
		if (strpbrk(arg, "\r\n") != NULL)
			return route_err(spec, route,
			    "redirect: URL holds a line break");
		break;
	case WHIRL_ROUTE_WS_ECHO:
		spec->arg = unescape_text(arg != NULL ? arg : "",
		    &spec->arg_len);
		if (!utf8_valid(spec->arg, spec->arg_len))
			return route_err(spec, route,
			    "ws-echo: PREFIX is not UTF-8");
		return 0;
	case WHIRL_ROUTE_EXEC:
	case WHIRL_ROUTE_CGI:
	case WHIRL_ROUTE_WS_EXEC:
		if (arg == NULL || *arg == '\0') {
			snprintf(msg, sizeof(msg), "%s: needs a COMMAND",
			    kind_names[spec->kind]);
			return route_err(spec, route, msg);
		}
		break;
	case WHIRL_ROUTE_WS_BROADCAST:
		if (arg != NULL)
			return route_err(spec, route,
			    "ws-broadcast: takes no argument");
		return 0;
	}
	spec->arg = whirl__xstrdup(arg);
	spec->arg_len = strlen(arg);
	return 0;
}

int
whirl_route_parse(const char *route, struct whirl_route_spec *spec)
{
	const char *eq, *unknown = NULL, *k, *pat = route, *sp;
	size_t klen;
	int kind = -1;
	char msg[200];

	memset(spec, 0, sizeof(*spec));
	for (eq = strchr(route, '='); eq != NULL; eq = strchr(eq + 1, '=')) {
		k = eq + 1;
		klen = strspn(k, "abcdefghijklmnopqrstuvwxyz-");
		if (klen == 0 || (k[klen] != ':' && k[klen] != '\0'))
			continue;
		if ((kind = kind_lookup(k, klen)) >= 0)
			break;
		if (unknown == NULL)
			unknown = eq;
	}
	if (eq == NULL && unknown != NULL) {
		k = unknown + 1;
		klen = strspn(k, "abcdefghijklmnopqrstuvwxyz-");
		snprintf(msg, sizeof(msg), "unknown kind '%.*s' (kinds: "
		    KINDS ")", (int)klen, k);
		return route_err(spec, route, msg);
	}
	if (eq == NULL)
		return route_err(spec, route, "no =KIND (" KINDS ")");
	spec->kind = (enum whirl_route_kind)kind;
	sp = memchr(route, ' ', (size_t)(eq - route));
	if (sp != NULL) {
		if (!upper_methods(route, (size_t)(sp - route)))
			return route_err(spec, route, "METHODS are upper-case "
			    "names separated by commas (GET,POST)");
		spec->methods = whirl__xmemdup(route, (size_t)(sp - route) + 1);
		spec->methods[sp - route] = '\0';
		pat = sp + 1;
	}
	if (pat == eq)
		return route_err(spec, route, "empty pattern");
	spec->pattern = whirl__xmemdup(pat, (size_t)(eq - pat) + 1);
	spec->pattern[eq - pat] = '\0';
	k = eq + 1 + strlen(kind_names[kind]);
	return parse_arg(spec, route, *k == ':' ? k + 1 : NULL);
}

void
whirl_route_spec_reset(struct whirl_route_spec *spec)
{
	free(spec->methods);
	free(spec->pattern);
	free(spec->arg);
	memset(spec, 0, sizeof(*spec));
}

char *
whirl_redirect_expand(const char *tmpl, const char *path,
    const char *const *caps, size_t ncaps,
    int (*lookup)(const char *name, size_t len, void *arg), void *arg)
{
	struct evbuffer *b = evbuffer_new();
	const char *p, *close, *v;
	char *end, *out;
	long n;
	size_t len;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '}' && p[1] == '}') {
			evbuffer_add(b, "}", 1);
			p++;
			continue;
		}
		if (*p == '{' && p[1] == '{') {
			evbuffer_add(b, "{", 1);
			p++;
			continue;
		}
		if (*p == '}')
			goto bad;
		if (*p != '{') {
			evbuffer_add(b, p, 1);
			continue;
		}
		close = strchr(p + 1, '}');
		if (close == NULL || close == p + 1)
			goto bad;
		len = (size_t)(close - p - 1);
		if (p[1] >= '0' && p[1] <= '9') {
			n = strtol(p + 1, &end, 10);
			if (end != close)
				goto bad;
		} else {
			n = lookup != NULL ? lookup(p + 1, len, arg) : -1;
			if (n <= 0)
				goto bad;
		}
		if (n == 0)
			v = path;
		else if ((size_t)n <= ncaps)
			v = caps[n - 1] != NULL ? caps[n - 1] : "";
		else
			goto bad;
		evbuffer_add(b, v, strlen(v));
		p = close;
	}
	len = evbuffer_get_length(b);
	out = whirl__xmalloc(len + 1);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	return out;
bad:
	evbuffer_free(b);
	whirl__seterr(EINVAL, "bad placeholder in '%s' (use {0}, {1}.. or "
	    "{name} of a group, {{ and }} for braces)", tmpl);
	return NULL;
}

/*
 * Built-in kinds.
 */

static int
add_fixed(struct whirl_app *app, struct whirl_route_spec *spec,
    const struct whirl_route_opts *opts, struct route *r)
{
	char page[256];
	size_t n;

	r->kind = R_TEXT;
	r->status = spec->kind == WHIRL_ROUTE_TEXT ? 200 : spec->status;
	if (spec->kind == WHIRL_ROUTE_STATUS && !spec->has_body) {
		n = whirl_http_error_page(r->status, page, sizeof(page));
		r->body = whirl__xmemdup(page, n + 1);
		r->blen = n;
		r->ctype = whirl__xstrdup(DEFAULT_TYPE);
	} else {
		r->body = spec->arg;
		r->blen = spec->arg_len;
		spec->arg = NULL;
		r->ctype = whirl__xstrdup(opts != NULL &&
		    opts->content_type != NULL ? opts->content_type :
		    TEXT_TYPE);
	}
	return app_push(app, r);
}

/* Check a redirect's placeholders against the pattern's groups now,
 * not at the first request. */
static int
add_redirect(struct whirl_app *app, struct whirl_route_spec *spec,
    struct route *r)
{
	const char *caps[64] = { NULL };
	struct lookup_ctx lc = { r->code };
	char *test;

	test = whirl_redirect_expand(spec->arg, "/", caps,
	    r->ngroups < 64 ? r->ngroups : 64, lookup_name, &lc);
	if (test == NULL)
		return -1;
	free(test);
	r->kind = R_REDIRECT;
	r->status = spec->status;
	r->location = spec->arg;
	spec->arg = NULL;
	return app_push(app, r);
}

static int
add_static(struct whirl_app *app, struct whirl_route_spec *spec,
    const struct whirl_route_opts *opts, struct route *r)
{
	struct whirl_static_opts so = { false, false };

	if (opts != NULL) {
		so.dotfiles = opts->dotfiles;
		so.listing = opts->listing;
	}
	if (spec->kind == WHIRL_ROUTE_FILE)
		r->st = whirl_static_new_file(spec->arg);
	else
		r->st = whirl_static_new_dir(spec->arg, &so);
	if (r->st == NULL)
		return -1;
	r->kind = R_HANDLER;
	r->cb = whirl_static_serve;
	r->arg = r->st;
	return app_push(app, r);
}

/* A dir: pattern needs group 1; one ending in '/' gets (.*). */
static struct route *
dir_route(struct whirl_route_spec *spec)
{
	struct route *r = route_new(spec->methods, spec->pattern);
	size_t len = strlen(spec->pattern);
	char *p;

	if (r == NULL || r->ngroups > 0)
		return r;
	route_free(r);
	if (len == 0 || spec->pattern[len - 1] != '/') {
		whirl__seterr(EINVAL, "dir: needs a group (the path under "
		    "the directory) or a pattern ending in /");
		return NULL;
	}
	p = whirl__xmalloc(len + 5);
	memcpy(p, spec->pattern, len);
	memcpy(p + len, "(.*)", 5);
	r = route_new(spec->methods, p);
	free(p);
	return r;
}

/*
 * WebSocket routes.
 */

/* Kept small: an idle WebSocket of ws-echo or ws-broadcast costs this
 * besides its whirl_ws. */
struct wsconn {
	struct route *route;
	struct whirl_ws *ws;            /* NULL once closed */
	struct wsconn *prev, *next;     /* the route's connections */
	bool closing;                   /* our close frame is out */
};

/* A ws-exec connection: a wsconn first, and its program. */
struct wsexec {
	struct wsconn c;
	struct whirl__prog *p;
	bool exited, eof, paused, reading;
};

static struct wsexec *
exec_of(struct wsconn *c)
{
	return c->route->ws_kind == WHIRL_ROUTE_WS_EXEC ?
	    (struct wsexec *)c : NULL;
}

static struct wsconn *
conn_new(struct route *r)
{
	struct wsconn *c = whirl__xcalloc(1,
	    r->ws_kind == WHIRL_ROUTE_WS_EXEC ? sizeof(struct wsexec) :
	    sizeof(*c));

	c->route = r;
	c->next = r->conns;
	if (c->next != NULL)
		c->next->prev = c;
	r->conns = c;
	r->app->nws++;
	return c;
}

static void
conn_free(struct wsconn *c)
{
	struct route *r = c->route;
	struct wsexec *x;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	r->app->nws--;
	whirl__app_work_ended(r->app);
	if ((x = exec_of(c)) != NULL)
		whirl__prog_free(x->p);     /* SIGTERM unless over */
	whirl_ws_free(c->ws);
	free(c);
}

static void
conn_close(struct wsconn *c, int code, const char *reason)
{
	if (c->ws == NULL || c->closing)
		return;
	whirl_log_debug("websocket on '%s': closing with %d %s",
	    c->route->pattern, code, reason);
	c->closing = true;
	whirl_ws_close(c->ws, code, reason);
}

/* ws-exec: the program's side. */

static void exec_line(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg);

static void
exec_read(struct wsconn *c)
{
	struct wsexec *x = exec_of(c);

	if (x->reading || x->paused || x->eof)
		return;
	x->reading = true;
	whirl_stream_read_until(whirl__prog_stream(x->p), "\n", 1,
	    c->route->ws_max, exec_line, c);
}

/* A line of output, without its "\n" or "\r\n": text when it is UTF-8,
 * since a text message must be.  Dropped once the client is gone. */
static void
exec_send(struct wsconn *c, const char *data, size_t len)
{
	if (c->ws == NULL || c->closing)
		return;
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	whirl_ws_send(c->ws, !utf8_valid(data, len), data, len);
}

static void
exec_line(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct wsconn *c = arg;
	struct wsexec *x = exec_of(c);

	(void)s;
	x->reading = false;
	if (err == NULL) {
		exec_send(c, data, len);
		exec_read(c);
		return;
	}
	if (err == whirl_err_too_long) {
		whirl_log_warning("ws-exec: a line of more than %zu bytes",
		    c->route->ws_max);
		conn_close(c, 1011, "line too long");
	} else if (len > 0) {
		exec_send(c, data, len);    /* the last line, unterminated */
	}
	x->eof = true;
	whirl__prog_out_eof(x->p);      /* may end it: exec_over */
}

/* The program is over: the socket closes with 1000; without a client
 * any more, the connection is over too. */
static void
exec_over(struct whirl__prog *p, int status, void *arg)
{
	struct wsconn *c = arg;

	(void)p;
	(void)status;
	exec_of(c)->exited = true;
	if (c->ws == NULL)
		conn_free(c);
	else
		conn_close(c, WHIRL_WS_NORMAL, "");
}

/* The client left: the program's stdin closes, its group gets SIGTERM
 * (SIGKILL after a grace); its output is read on, and dropped, until it
 * is over. */
static void
exec_stop(struct wsconn *c)
{
	struct wsexec *x = exec_of(c);

	whirl_stream_shutdown(whirl__prog_stream(x->p));
	whirl__prog_stop(x->p);
	x->paused = false;
	exec_read(c);
}

static void
exec_start(struct wsconn *c, struct whirl_loop *loop, char **args,
    char **env)
{
	struct wsexec *x = exec_of(c);

	x->p = whirl__prog_new(loop, c->route->body, c->route->pattern, args,
	    env, exec_over, c);
	if (x->p == NULL) {
		whirl_log_error("ws-exec: %s", whirl_error());
		x->exited = x->eof = true;
		conn_close(c, 1011, "cannot run the program");
		return;
	}
	exec_read(c);
}

/* The WebSocket's side, for every kind. */

static void
ws_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	struct wsconn *c = arg, *o, *next;
	struct route *r = c->route;
	struct whirl_stream *ps;
	struct wsexec *x;
	char small[4096], *buf;

	switch (r->ws_kind) {
	case WHIRL_ROUTE_WS_ECHO:
		if (r->blen == 0) {
			whirl_ws_send(ws, binary, data, len);
		} else {
			buf = r->blen + len <= sizeof(small) ? small :
			    whirl__xmalloc(r->blen + len);
			memcpy(buf, r->body, r->blen);
			memcpy(buf + r->blen, data, len);
			whirl_ws_send(ws, binary, buf, r->blen + len);
			if (buf != small)
				free(buf);
		}
		/* websocket.h cannot stop reading a client that sends
		 * without reading: its echoes are bounded here. */
		if (whirl_ws_pending(ws) > r->ws_max + WS_MAX_QUEUE)
			conn_close(c, WHIRL_WS_POLICY, "not reading");
		break;
	case WHIRL_ROUTE_WS_BROADCAST:
		/* A send may close a slow client (ws_water), never free. */
		for (o = r->conns; o != NULL; o = next) {
			next = o->next;
			if (o->ws != NULL && !o->closing)
				whirl_ws_send(o->ws, binary, data, len);
		}
		break;
	default:
		if (binary) {
			conn_close(c, 1003, "text messages only");
			break;
		}
		x = exec_of(c);
		if (x->p == NULL || x->exited)
			break;
		ps = whirl__prog_stream(x->p);
		whirl_stream_write(ps, data, len, NULL, NULL);
		whirl_stream_write(ps, "\n", 1, NULL, NULL);
		/* Nor can it wait for a program slow to read its input. */
		if (whirl_stream_write_pending(ps) > r->ws_max + WS_MAX_QUEUE)
			conn_close(c, WHIRL_WS_POLICY, "program not reading");
		break;
	}
}

static void
ws_closed(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	struct wsconn *c = arg;
	struct wsexec *x;

	whirl_log_debug("websocket on '%s' closed: %d %s", c->route->pattern,
	    code, reason);
	whirl_ws_free(ws);
	c->ws = NULL;
	if ((x = exec_of(c)) != NULL && !x->exited) {
		exec_stop(c);
		return;
	}
	conn_free(c);
}

/* Queued output crossed the route's limit: a broadcast client that far
 * behind is dropped (1008), never waited for; ws-exec stops reading its
 * program until the client catches up. */
static void
ws_water(struct whirl_ws *ws, bool above, void *arg)
{
	struct wsconn *c = arg;
	struct wsexec *x;

	(void)ws;
	if (c->route->ws_kind == WHIRL_ROUTE_WS_BROADCAST) {
		if (above) {
			whirl_log_debug("websocket on '%s': %zu bytes behind, "
			    "closing", c->route->pattern, whirl_ws_pending(ws));
			conn_close(c, WHIRL_WS_POLICY, "too slow");
		}
		return;
	}
	if ((x = exec_of(c)) != NULL) {
		x->paused = above;
		if (!above && x->p != NULL)
			exec_read(c);
	}
}

static const struct whirl_ws_handler ws_handler = {
	.message = ws_message, .close = ws_closed, .water = ws_water
};

/* The status whirl_ws_accept is about to answer, in its order, for the
 * access line (the request is gone once it answered). */
static int
ws_status(const struct whirl_request *req, const struct route *r)
{
	const struct whirl_headers *h = whirl_request_headers(req);
	const char *v = whirl_headers_get(h, "Sec-WebSocket-Version");
	const char *key = whirl_headers_get(h, "Sec-WebSocket-Key");
	const char *origin = whirl_headers_get(h, "Origin");
	const char *host = whirl_headers_get(h, "Host"), *oh;
	size_t i;

	if (strcmp(whirl_request_method(req), "GET") != 0 ||
	    !whirl_headers_has_token(h, "Upgrade", "websocket") ||
	    !whirl_headers_has_token(h, "Connection", "upgrade"))
		return 400;
	if (v == NULL || strcmp(v, "13") != 0)
		return 426;
	if (key == NULL || !whirl_ws_key_valid(key))
		return 400;
	if (origin == NULL || r->wsa.any_origin)
		return 101;
	for (i = 0; r->origins != NULL && r->origins[i] != NULL; i++)
		if (strcasecmp(r->origins[i], origin) == 0)
			return 101;
	oh = strstr(origin, "://");
	oh = oh != NULL ? oh + 3 : origin;
	return host != NULL && strcasecmp(oh, host) == 0 ? 101 : 403;
}

static void
ws_open(struct whirl_app *app, struct whirl_request *req, struct route *r,
    const struct timespec *t0)
{
	struct whirl_loop *loop = whirl_request_loop(req);
	char **args = NULL, **env = NULL;
	struct whirl_handler *h;
	struct wsconn *c;
	struct whirl_ws *ws;

	log_access(app, req, ws_status(req, r), 0, t0);
	if (r->ws_kind == WHIRL_ROUTE_WS_EXEC) {
		/* $1.. and variables as exec: makes them, from a handler. */
		h = handler_get(app, req, r, t0);
		args = whirl__prog_args(h);
		env = whirl__prog_env(h, false);
		whirl_request_set_close_cb(req, NULL, NULL);
		handler_release(h);
	}
	c = conn_new(r);
	ws = whirl_ws_accept(req, &r->wsa, &ws_handler, c);
	if (ws == NULL) {
		conn_free(c);
	} else {
		c->ws = ws;
		if (args != NULL)
			exec_start(c, loop, args, env);
	}
	whirl__strv_free(args);
	whirl__strv_free(env);
}

static int
add_ws(struct whirl_app *app, struct whirl_route_spec *spec,
    const struct whirl_route_opts *opts, struct route *r)
{
	const char *const *o = opts != NULL ? opts->ws_origins : NULL;
	size_t i, n = 0;

	r->kind = R_WS;
	r->app = app;
	r->ws_kind = spec->kind;
	r->body = spec->arg;
	r->blen = spec->arg_len;
	spec->arg = NULL;
	while (o != NULL && o[n] != NULL)
		n++;
	r->origins = whirl__xcalloc(n + 1, sizeof(*r->origins));
	for (i = 0; i < n; i++) {
		r->origins[i] = whirl__xstrdup(o[i]);
		if (strcmp(o[i], "*") == 0)
			r->wsa.any_origin = true;
	}
	r->wsa.origins = (const char *const *)r->origins;
	r->wsa.deflate = opts == NULL || !opts->ws_no_deflate;
	r->ws_max = opts != NULL && opts->ws_max_message > 0 ?
	    opts->ws_max_message : WS_MAX_MESSAGE;
	r->wsa.ws.max_message = r->ws_max;
	if (r->ws_kind == WHIRL_ROUTE_WS_BROADCAST)
		r->wsa.ws.high_water = opts != NULL && opts->ws_max_queue > 0 ?
		    opts->ws_max_queue : WS_MAX_QUEUE;
	return app_push(app, r);
}

/* Each WebSocket of the route dropped, programs told to go (the app is
 * going away: nothing is left to finish them). */
static void
ws_route_close(struct route *r)
{
	while (r->conns != NULL)
		conn_free(r->conns);
}

size_t
whirl_app_websockets(const struct whirl_app *app)
{
	return app->nws;
}

static void
idle_due(struct whirl_timer *t, void *arg)
{
	struct whirl_app *app = arg;

	(void)t;
	if (app->idle_cb != NULL && whirl_app_idle(app))
		app->idle_cb(app, app->idle_arg);
}

void
whirl__app_work_ended(struct whirl_app *app)
{
	if (app->idle_timer != NULL && app->nhandlers == 0 && app->nws == 0)
		whirl_timer_start(app->idle_timer, 0, false);
}

void
whirl_app_set_idle_cb(struct whirl_app *app, struct whirl_loop *loop,
    whirl_app_idle_cb cb, void *arg)
{
	app->idle_cb = cb;
	app->idle_arg = arg;
	if (cb == NULL) {
		whirl_timer_free(app->idle_timer);
		app->idle_timer = NULL;
	} else if (app->idle_timer == NULL) {
		app->idle_timer = whirl_timer_new(loop, idle_due, app);
	}
}

bool
whirl_app_idle(const struct whirl_app *app)
{
	return app->nws == 0 && whirl_app_pending(app) == 0;
}

size_t
whirl_app_pending(const struct whirl_app *app)
{
	size_t i, n = app->nhandlers;

	for (i = 0; i < app->n; i++)
		if (app->routes[i]->exec != NULL)
			n += whirl__exec_running(app->routes[i]->exec);
	return n;
}

void
whirl_app_close_websockets(struct whirl_app *app, int code,
    const char *reason)
{
	struct wsconn *c, *next;
	size_t i;

	for (i = 0; i < app->n; i++)
		for (c = app->routes[i]->conns; c != NULL; c = next) {
			next = c->next;
			conn_close(c, code, reason);
		}
}

void
whirl_app_drop_websockets(struct whirl_app *app)
{
	struct wsconn *c, *next;
	struct wsexec *x;
	size_t i;

	for (i = 0; i < app->n; i++)
		for (c = app->routes[i]->conns; c != NULL; c = next) {
			next = c->next;
			whirl_ws_free(c->ws);
			c->ws = NULL;
			if ((x = exec_of(c)) != NULL && !x->exited)
				exec_stop(c);
			else
				conn_free(c);
		}
}

int
whirl_app_add_routes_file(struct whirl_app *app, const char *path,
    const struct whirl_route_opts *opts)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *r, why[1024];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		whirl__seterrno("%s", path);
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		r = line + strspn(line, " \t");
		if (*r == '\0' || *r == '#')
			continue;
		if (whirl_app_add_route(app, r, opts) == -1) {
			/* whirl_error()'s buffer is the one written. */
			snprintf(why, sizeof(why), "%s", whirl_error());
			whirl__seterr(whirl_error_errno(), "%s:%d: %s", path,
			    lineno, why);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		whirl__seterrno("%s", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int
whirl_app_add_route(struct whirl_app *app, const char *route,
    const struct whirl_route_opts *opts)
{
	struct whirl_route_spec spec;
	struct route *r;
	int ret = -1;
	char why[512];

	if (whirl_route_parse(route, &spec) == -1)
		return -1;
	/* A WebSocket handshake is a GET (Tornado's handler has only get). */
	if (spec.kind >= WHIRL_ROUTE_WS_ECHO && spec.methods == NULL)
		spec.methods = whirl__xstrdup("GET");
	if (spec.kind == WHIRL_ROUTE_DIR)
		r = dir_route(&spec);
	else
		r = route_new(spec.methods, spec.pattern);
	if (r == NULL)
		goto fail;
	switch (spec.kind) {
	case WHIRL_ROUTE_TEXT:
	case WHIRL_ROUTE_STATUS:
		ret = add_fixed(app, &spec, opts, r);
		break;
	case WHIRL_ROUTE_REDIRECT:
		ret = add_redirect(app, &spec, r);
		break;
	case WHIRL_ROUTE_FILE:
	case WHIRL_ROUTE_DIR:
		ret = add_static(app, &spec, opts, r);
		break;
	case WHIRL_ROUTE_EXEC:
	case WHIRL_ROUTE_CGI:
		r->exec = whirl__exec_new(app, spec.kind == WHIRL_ROUTE_CGI,
		    spec.arg, r->pattern, opts);
		r->kind = R_HANDLER;
		r->cb = whirl__exec_serve;
		r->arg = r->exec;
		ret = app_push(app, r);
		break;
	case WHIRL_ROUTE_WS_ECHO:
	case WHIRL_ROUTE_WS_EXEC:
	case WHIRL_ROUTE_WS_BROADCAST:
		ret = add_ws(app, &spec, opts, r);
		break;
	}
	if (ret == -1)
		route_free(r);
fail:
	whirl_route_spec_reset(&spec);
	if (ret == -1) {
		snprintf(why, sizeof(why), "%s", whirl_error());
		whirl__seterr(EINVAL, "route '%s': %s", route, why);
	}
	return ret;
}
