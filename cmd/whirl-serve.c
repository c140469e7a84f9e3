/* whirl-serve - a routed app server from the command line.
 *
 *     whirl-serve [options] [ROUTE...]
 *
 * Each ROUTE ("[METHODS ]PATTERN=KIND[:ARG]", web.h) becomes a route of
 * one whirl_app, tried in order, followed by those of --routes FILE; with
 * none, the Tornado demo is served (its /websocket is ws-echo, Tornado's
 * EchoWebSocket).  Options map onto httpserver limits, TLS, app and
 * WebSocket settings and the log; the rest is the loop, in one process or
 * in --processes workers under a supervisor (prefork.h).
 *
 * Signals: TERM or INT stops accepting, closes WebSockets with 1001 and
 * lets requests in flight and their programs finish (--shutdown-timeout):
 * the server's drained callback and the apps' idle callbacks say when; a
 * second one stops at once.  HUP reads the routes file again: new requests get the new
 * routes, requests and WebSockets already running keep the old ones,
 * which are freed when the last of them ends.  USR1 reopens the access
 * log.  Exit status: 0 after a graceful stop, 1 when it cannot listen (or
 * load its certificate or open its access log) or when a second signal
 * cut the stop short, 2 for a usage or route error.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "whirl.h"
#include "web.h"

#define EXIT_LISTEN     1
#define EXIT_USAGE      2
#define MAX_LISTENERS   16
#define MAX_WORKERS     256
#define BACKLOG         1024    /* bursts of connects (nginx: 511) */

struct opts {
	const char *address;
	int port;
	const char *routes_file;
	const char *tls_cert, *tls_key;
	int processes;                  /* -1: one process, no supervisor */
	uint64_t shutdown_ms;
	uint64_t exec_timeout_ms;
	bool gzip, dotfiles, listing, quiet, verbose, print_port;
	const char *cors;
	const char *content_type;
	const char *access_log;
	enum whirl_access_format log_format;
	struct whirl_httpserver_opts http;
	char **headers;                 /* -H, as typed */
	size_t nheaders;
	const char **origins;           /* --ws-origin, NULL-ended */
	size_t norigins;
	bool ws_no_deflate;
	size_t ws_max_message, ws_max_queue;
};

/* The listening sockets of one worker. */
struct listen_set {
	int fds[MAX_LISTENERS];
	int n;
};

static struct opts o;
static int nroutes_cli;
static char **routes_cli;
static struct whirl_tls_ctx *tls;
static struct listen_set *sets;         /* one per worker */
static int nsets;
static int port;                        /* after port 0 was resolved */

/* A worker's state. */
static struct whirl_loop *loop;
static struct whirl_httpserver *srv;
static struct whirl_app *app;           /* new requests go here */
static struct whirl_app **retired;      /* replaced by HUP, still busy */
static size_t nretired;
static struct whirl_signal *sigs[4];
static struct whirl_timer *stop_deadline;   /* --shutdown-timeout */
static int stops;

static const char demo_page[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>whirl demo</title>\n"
    "</head>\n"
    "<body>\n"
    "<p>Sent: <code id=\"sent\"></code></p>\n"
    "<p>Reply: <code id=\"reply\">(waiting)</code></p>\n"
    "<script>\n"
    "var ws = new WebSocket((location.protocol === \"https:\" ? "
    "\"wss://\" : \"ws://\") +\n"
    "    location.host + \"/websocket\");\n"
    "ws.onopen = function () {\n"
    "\tws.send(\"Hello, world\");\n"
    "\tdocument.getElementById(\"sent\").textContent = \"Hello, world\";\n"
    "};\n"
    "ws.onmessage = function (ev) {\n"
    "\tdocument.getElementById(\"reply\").textContent = ev.data;\n"
    "};\n"
    "ws.onerror = function () {\n"
    "\tdocument.getElementById(\"reply\").textContent = \"(no WebSocket)\";\n"
    "};\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/*
 * Messages.
 */

static void
usage_to(FILE *f, bool full)
{
	const char *me = program_invocation_short_name;

	fprintf(f, "Usage: %s [-qv] [-a address] [-H 'Name: value'] "
	    "[-p port] [options] [ROUTE ...]\n", me);
	if (!full) {
		fprintf(f, "Try '%s --help' for more.\n", me);
		return;
	}
	fputs("A ROUTE is [METHODS ]PATTERN=KIND[:ARG], KIND one of:\n"
	    "  text:STRING  file:PATH  dir:PATH  status:CODE[:BODY]  "
	    "redirect:[CODE:]URL\n"
	    "  exec:COMMAND  cgi:COMMAND\n"
	    "  ws-echo[:PREFIX]  ws-exec:COMMAND  ws-broadcast\n"
	    "With no ROUTE: the Tornado demo (GET / says Hello, world).\n"
	    "Options:\n"
	    "  -a, --address ADDR         listen on ADDR (127.0.0.1)\n"
	    "      --access-log FILE      append the access log to FILE "
	    "(reopened on USR1)\n"
	    "      --body-timeout SECS    a body may pause this long (60)\n"
	    "      --content-type TYPE    of text: and status: bodies\n"
	    "      --cors ORIGIN          allow cross-origin requests from "
	    "ORIGIN\n"
	    "      --dotfiles             serve names starting with '.'\n"
	    "      --exec-timeout SECS    kill exec: and cgi: programs after "
	    "(60)\n"
	    "      --gzip                 compress text responses\n"
	    "  -H, --header 'NAME: VALUE' add a header to every response\n"
	    "      --head-timeout SECS    a request head must arrive within "
	    "(10)\n"
	    "      --help                 print this help and exit\n"
	    "      --idle-timeout SECS    close idle keep-alive connections "
	    "(15)\n"
	    "      --listing              list directories without "
	    "index.html\n"
	    "      --log-format FORMAT    tornado, combined or json\n"
	    "      --max-body-size SIZE   413 above (16M)\n"
	    "      --max-header-fields N  431 above (100)\n"
	    "      --max-header-size SIZE 431 above (64K)\n"
	    "      --max-request-line SIZE 414 above (8K)\n"
	    "  -p, --port PORT            listen on PORT (8888; 0 picks one)\n"
	    "      --print-port           print the port alone on stderr "
	    "first\n"
	    "      --processes N          N workers on the port (0: one per "
	    "core)\n"
	    "  -q, --quiet                no access log\n"
	    "      --routes FILE          more routes, one per line "
	    "(reread on HUP)\n"
	    "      --shutdown-timeout SECS  let requests finish this long on "
	    "TERM (10)\n"
	    "      --tls-cert FILE        serve https with this certificate "
	    "chain\n"
	    "      --tls-key FILE         and this private key\n"
	    "  -v, --verbose              debug lines\n"
	    "      --version              print the version and exit\n"
	    "      --ws-max-message SIZE  close with 1009 above (16M)\n"
	    "      --ws-max-queue SIZE    ws-broadcast: close a client this "
	    "far behind (1M)\n"
	    "      --ws-no-deflate        no permessage-deflate\n"
	    "      --ws-origin ORIGIN     also accept WebSockets from ORIGIN "
	    "('*': any)\n"
	    "      --xheaders             trust X-Forwarded-For, X-Real-Ip "
	    "and X-Forwarded-Proto\n"
	    "Signals: TERM/INT stop gracefully, HUP rereads --routes, USR1 "
	    "reopens --access-log.\n", f);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage_to(stderr, false);
	exit(EXIT_USAGE);
}

/*
 * Options.
 */

enum {
	OPT_ACCESS_LOG = 256, OPT_BODY_TIMEOUT, OPT_CONTENT_TYPE, OPT_CORS,
	OPT_DOTFILES, OPT_EXEC_TIMEOUT, OPT_GZIP, OPT_HEAD_TIMEOUT, OPT_HELP,
	OPT_IDLE_TIMEOUT, OPT_LISTING, OPT_LOG_FORMAT, OPT_MAX_BODY,
	OPT_MAX_FIELDS, OPT_MAX_HEADER, OPT_MAX_LINE, OPT_PRINT_PORT,
	OPT_PROCESSES, OPT_ROUTES, OPT_SHUTDOWN_TIMEOUT, OPT_TLS_CERT,
	OPT_TLS_KEY, OPT_VERSION, OPT_WS_MAX_MESSAGE, OPT_WS_MAX_QUEUE,
	OPT_WS_NO_DEFLATE, OPT_WS_ORIGIN, OPT_XHEADERS
};

static const struct option longopts[] = {
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "address", required_argument, NULL, 'a' },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
	{ "cors", required_argument, NULL, OPT_CORS },
	{ "dotfiles", no_argument, NULL, OPT_DOTFILES },
	{ "exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT },
	{ "gzip", no_argument, NULL, OPT_GZIP },
	{ "head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT },
	{ "header", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "listing", no_argument, NULL, OPT_LISTING },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "max-body-size", required_argument, NULL, OPT_MAX_BODY },
	{ "max-header-fields", required_argument, NULL, OPT_MAX_FIELDS },
	{ "max-header-size", required_argument, NULL, OPT_MAX_HEADER },
	{ "max-request-line", required_argument, NULL, OPT_MAX_LINE },
	{ "port", required_argument, NULL, 'p' },
	{ "print-port", no_argument, NULL, OPT_PRINT_PORT },
	{ "processes", required_argument, NULL, OPT_PROCESSES },
	{ "quiet", no_argument, NULL, 'q' },
	{ "routes", required_argument, NULL, OPT_ROUTES },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "ws-max-message", required_argument, NULL, OPT_WS_MAX_MESSAGE },
	{ "ws-max-queue", required_argument, NULL, OPT_WS_MAX_QUEUE },
	{ "ws-no-deflate", no_argument, NULL, OPT_WS_NO_DEFLATE },
	{ "ws-origin", required_argument, NULL, OPT_WS_ORIGIN },
	{ "xheaders", no_argument, NULL, OPT_XHEADERS },
	{ NULL, 0, NULL, 0 }
};

static int
parse_port(const char *s)
{
	long long v;

	if (whirl_parse_long(s, 0, 65535, &v) == -1)
		usage_error("bad port '%s' (0 to 65535)", s);
	return (int)v;
}

/* A worker count: 0 (one per core) to MAX_WORKERS. */
static int
parse_count(const char *opt, const char *s)
{
	long long v;

	if (whirl_parse_long(s, 0, MAX_WORKERS, &v) == -1)
		usage_error("bad %s '%s' (0 to %d)", opt, s, MAX_WORKERS);
	if (v == 0)
		v = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
		    sysconf(_SC_NPROCESSORS_ONLN) : 1;
	return (int)(v < MAX_WORKERS ? v : MAX_WORKERS);
}

/* Seconds, fractions allowed ("0.5"), into milliseconds (> 0). */
static uint64_t
parse_secs(const char *opt, const char *s)
{
	uint64_t ms;

	if (whirl_parse_seconds(s, 0, 86400 * 365, &ms) == -1 || ms == 0)
		usage_error("bad %s '%s' (seconds, more than 0)", opt, s);
	return ms;
}

/* Bytes, with an optional K, M or G (binary; "KiB" and "KB" too). */
static uint64_t
parse_size(const char *opt, const char *s)
{
	uint64_t v;

	if (whirl_parse_size(s, &v) == -1)
		usage_error("bad %s '%s' (bytes, K, M or G)", opt, s);
	return v;
}

static void
parse_opts(int argc, char **argv)
{
	int c;

	o.address = "127.0.0.1";
	o.port = 8888;
	o.processes = -1;
	o.shutdown_ms = 10000;
	while ((c = getopt_long(argc, argv, "a:H:p:qv", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'a':
			o.address = optarg;
			break;
		case 'H':
			o.headers = realloc(o.headers,
			    (o.nheaders + 1) * sizeof(*o.headers));
			if (o.headers == NULL)
				err(1, NULL);
			o.headers[o.nheaders++] = optarg;
			break;
		case 'p':
			o.port = parse_port(optarg);
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case OPT_ACCESS_LOG:
			o.access_log = optarg;
			break;
		case OPT_BODY_TIMEOUT:
			o.http.body_ms = parse_secs("--body-timeout", optarg);
			break;
		case OPT_CONTENT_TYPE:
			if (strpbrk(optarg, "\r\n") != NULL || *optarg == '\0')
				usage_error("bad --content-type");
			o.content_type = optarg;
			break;
		case OPT_CORS:
			o.cors = optarg;
			break;
		case OPT_DOTFILES:
			o.dotfiles = true;
			break;
		case OPT_EXEC_TIMEOUT:
			o.exec_timeout_ms = parse_secs("--exec-timeout",
			    optarg);
			break;
		case OPT_GZIP:
			o.gzip = true;
			break;
		case OPT_HEAD_TIMEOUT:
			o.http.head_ms = parse_secs("--head-timeout", optarg);
			break;
		case OPT_HELP:
			usage_to(stdout, true);
			exit(0);
		case OPT_IDLE_TIMEOUT:
			o.http.idle_ms = parse_secs("--idle-timeout", optarg);
			break;
		case OPT_LISTING:
			o.listing = true;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "tornado") == 0)
				o.log_format = WHIRL_ACCESS_TORNADO;
			else if (strcmp(optarg, "combined") == 0)
				o.log_format = WHIRL_ACCESS_COMBINED;
			else if (strcmp(optarg, "json") == 0)
				o.log_format = WHIRL_ACCESS_JSON;
			else
				usage_error("bad --log-format '%s' (tornado, "
				    "combined or json)", optarg);
			break;
		case OPT_MAX_BODY:
			o.http.limits.max_body = parse_size("--max-body-size",
			    optarg);
			break;
		case OPT_MAX_FIELDS:
			o.http.limits.max_header_fields = (size_t)parse_size(
			    "--max-header-fields", optarg);
			break;
		case OPT_MAX_HEADER:
			o.http.limits.max_header_bytes = (size_t)parse_size(
			    "--max-header-size", optarg);
			break;
		case OPT_MAX_LINE:
			o.http.limits.max_start_line = (size_t)parse_size(
			    "--max-request-line", optarg);
			break;
		case OPT_PRINT_PORT:
			o.print_port = true;
			break;
		case OPT_PROCESSES:
			o.processes = parse_count("--processes", optarg);
			break;
		case OPT_ROUTES:
			o.routes_file = optarg;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			o.shutdown_ms = parse_secs("--shutdown-timeout",
			    optarg);
			break;
		case OPT_TLS_CERT:
			o.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o.tls_key = optarg;
			break;
		case OPT_VERSION:
			printf("whirl-serve %s\n", WHIRL_VERSION);
			exit(0);
		case OPT_WS_MAX_MESSAGE:
			o.ws_max_message = (size_t)parse_size(
			    "--ws-max-message", optarg);
			break;
		case OPT_WS_MAX_QUEUE:
			o.ws_max_queue = (size_t)parse_size("--ws-max-queue",
			    optarg);
			break;
		case OPT_WS_NO_DEFLATE:
			o.ws_no_deflate = true;
			break;
		case OPT_XHEADERS:
			o.http.xheaders = true;
			break;
		case OPT_WS_ORIGIN:
			if (*optarg == '\0')
				usage_error("bad --ws-origin ''");
			o.origins = realloc(o.origins,
			    (o.norigins + 2) * sizeof(*o.origins));
			if (o.origins == NULL)
				err(1, NULL);
			o.origins[o.norigins++] = optarg;
			o.origins[o.norigins] = NULL;
			break;
		default:
			usage_to(stderr, false);
			exit(EXIT_USAGE);
		}
	}
	if (o.quiet && o.access_log != NULL)
		usage_error("cannot use -q with --access-log");
	if ((o.tls_cert == NULL) != (o.tls_key == NULL))
		usage_error("--tls-cert and --tls-key go together");
	routes_cli = argv + optind;
	nroutes_cli = argc - optind;
}


/*
 * The application: the command line's routes, then the file's.
 */

static void
demo_page_cb(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_write(h, demo_page, sizeof(demo_page) - 1);
	whirl_handler_finish(h);
}

/* Why build_app or add_header failed. */
static char why[1024];

/* -H 'Name: value'; Server goes to the httpserver, which sends it.  -1
 * with the reason in why. */
static int
add_header(struct whirl_app *a, const char *spec)
{
	char name[256];
	const char *v;

	if (whirl_http_split_header(spec, name, sizeof(name), &v) == -1 ||
	    (strcasecmp(name, "Server") != 0 &&
	    whirl_app_set_header(a, name, v) == -1)) {
		snprintf(why, sizeof(why), "bad -H '%s': %s", spec,
		    whirl_error());
		return -1;
	}
	if (strcasecmp(name, "Server") == 0)
		o.http.server_header = v;
	return 0;
}

static void
route_opts(struct whirl_route_opts *ro)
{
	*ro = (struct whirl_route_opts){
		.content_type = o.content_type, .dotfiles = o.dotfiles,
		.listing = o.listing, .ws_no_deflate = o.ws_no_deflate,
		.ws_origins = o.origins, .ws_max_message = o.ws_max_message,
		.ws_max_queue = o.ws_max_queue,
		.exec_timeout_ms = o.exec_timeout_ms
	};
}

/* A new app from the command line and the routes file, or NULL with the
 * reason in why. */
static struct whirl_app *
build_app(void)
{
	struct whirl_route_opts ro;
	struct whirl_app *a = whirl_app_new();
	int i;

	route_opts(&ro);
	for (i = 0; i < nroutes_cli; i++)
		if (whirl_app_add_route(a, routes_cli[i], &ro) == -1) {
			snprintf(why, sizeof(why), "%s", whirl_error());
			goto fail;
		}
	if (o.routes_file != NULL &&
	    whirl_app_add_routes_file(a, o.routes_file, &ro) == -1) {
		snprintf(why, sizeof(why), "%s", whirl_error());
		goto fail;
	}
	if (nroutes_cli == 0 && o.routes_file == NULL) {
		whirl_app_add_route(a, "GET /=text:Hello, world", &ro);
		whirl_app_add(a, "GET", "/demo", demo_page_cb, NULL);
		whirl_app_add_route(a, "/websocket=ws-echo:You said: ", &ro);
	}
	for (i = 0; (size_t)i < o.nheaders; i++)
		if (add_header(a, o.headers[i]) == -1)
			goto bad_option;
	if (o.cors != NULL && whirl_app_set_cors(a, o.cors) == -1) {
		snprintf(why, sizeof(why), "bad --cors '%s': %s", o.cors,
		    whirl_error());
		goto bad_option;
	}
	whirl_app_set_gzip(a, o.gzip);
	whirl_app_set_log_format(a, o.log_format);
	return a;
bad_option:
	/* The app goes first: the usage error exits. */
	whirl_app_free(a);
	usage_error("%s", why);
fail:
	whirl_app_free(a);
	return NULL;
}

/* Every request goes to the current app (HUP may replace it). */
static void
on_request(struct whirl_request *req, void *arg)
{
	(void)arg;
	whirl_app_handle(req, app);
}

/* Free the replaced apps that have nothing in flight any more. */
static void
free_idle_retired(void)
{
	size_t i = 0;

	while (i < nretired) {
		if (!whirl_app_idle(retired[i])) {
			i++;
			continue;
		}
		whirl_app_free(retired[i]);
		retired[i] = retired[--nretired];
	}
}

static void maybe_stopped(void);

/* An app's work in flight has ended: a replaced one may go, and a
 * server that is stopping may be done. */
static void
on_app_idle(struct whirl_app *a, void *arg)
{
	(void)a;
	(void)arg;
	free_idle_retired();
	maybe_stopped();
}

static void
reload_routes(void)
{
	struct whirl_app *a;

	if (o.routes_file == NULL) {
		whirl_log_info("SIGHUP: no --routes file to read");
		return;
	}
	if ((a = build_app()) == NULL) {
		whirl_log_error("SIGHUP: keeping the old routes: %s", why);
		return;
	}
	retired = realloc(retired, (nretired + 1) * sizeof(*retired));
	if (retired == NULL)
		err(1, NULL);
	retired[nretired++] = app;
	whirl_app_set_idle_cb(app, loop, on_app_idle, NULL);
	app = a;
	if (stops > 0)
		whirl_app_set_idle_cb(app, loop, on_app_idle, NULL);
	free_idle_retired();
	whirl_log_info("SIGHUP: routes reloaded from %s", o.routes_file);
}

/*
 * Listening, in the supervisor (or the only process).
 */

/* "whirl-serve: listening on http://[::1]:8080/", a line per socket. */
static void
announce(int fd)
{
	struct whirl_addr a;
	char where[WHIRL_ADDR_STRLEN];

	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1)
		err(EXIT_LISTEN, "getsockname");
	fprintf(stderr, "%s: listening on %s://%s/\n",
	    program_invocation_short_name, tls != NULL ? "https" : "http",
	    whirl_addr_format((struct sockaddr *)&a.ss, a.len, where,
	    sizeof(where)));
}

static int
open_set(struct listen_set *ls, int p)
{
	int flags = o.processes > 0 ? WHIRL_LISTEN_REUSEPORT : 0;

	ls->n = whirl_listen_host(o.address, p, AF_UNSPEC, BACKLOG, flags,
	    ls->fds, MAX_LISTENERS);
	return ls->n == -1 ? -1 : 0;
}

static void
close_set(struct listen_set *ls)
{
	while (ls->n > 0)
		close(ls->fds[--ls->n]);
}

/* The first set resolves port 0; the others (one per worker) share the
 * port through SO_REUSEPORT.  The start lines are printed once. */
static void
listen_all(void)
{
	int i;

	nsets = o.processes > 0 ? o.processes : 1;
	sets = calloc((size_t)nsets, sizeof(*sets));
	if (sets == NULL)
		err(1, NULL);
	if (open_set(&sets[0], o.port) == -1)
		errx(EXIT_LISTEN, "%s", whirl_error());
	port = whirl_fd_local_port(sets[0].fds[0]);
	for (i = 1; i < nsets; i++)
		if (open_set(&sets[i], port) == -1)
			errx(EXIT_LISTEN, "%s", whirl_error());
	if (o.print_port)
		fprintf(stderr, "%d\n", port);
	for (i = 0; i < sets[0].n; i++)
		announce(sets[0].fds[i]);
	if (o.processes > 0)
		fprintf(stderr, "%s: %d worker processes\n",
		    program_invocation_short_name, o.processes);
	fflush(stderr);
}

/*
 * Serving, in each worker (or the only process).
 */

static void
stop_now(void)
{
	whirl_timer_stop(stop_deadline);
	whirl_loop_stop(loop);
}

static void
on_stop_deadline(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	stop_now();
}

/* Stopping: done once no connection is left and no app has work in
 * flight (a handler, a program, a WebSocket). */
static void
maybe_stopped(void)
{
	size_t i;

	if (stops == 0 || whirl_httpserver_connections(srv) > 0 ||
	    !whirl_app_idle(app))
		return;
	for (i = 0; i < nretired; i++)
		if (!whirl_app_idle(retired[i]))
			return;
	stop_now();
}

static void
on_drained(struct whirl_httpserver *s, void *arg)
{
	(void)s;
	(void)arg;
	maybe_stopped();
}

static void
close_websockets(void)
{
	size_t i;

	whirl_app_close_websockets(app, WHIRL_WS_GOING_AWAY,
	    "server shutting down");
	for (i = 0; i < nretired; i++)
		whirl_app_close_websockets(retired[i], WHIRL_WS_GOING_AWAY,
		    "server shutting down");
}

/* The first TERM or INT closes the listeners (new connections are
 * refused), lets requests in flight finish and closes WebSockets with
 * 1001 (going away); a second one stops at once. */
static void
on_stop_signal(int signo)
{
	whirl_log_debug("signal %d: %s", signo, stops > 0 ? "stopping now" :
	    "finishing requests in flight");
	if (stops++ > 0) {
		stop_now();
		return;
	}
	whirl_httpserver_set_drained_cb(srv, on_drained, NULL);
	whirl_app_set_idle_cb(app, loop, on_app_idle, NULL);
	whirl_httpserver_stop_accepting(srv);
	close_websockets();
	whirl_timer_start(stop_deadline, o.shutdown_ms, false);
	maybe_stopped();
}

static void
on_signal(struct whirl_signal *s, int signo, void *arg)
{
	(void)s;
	(void)arg;
	switch (signo) {
	case SIGHUP:
		reload_routes();
		break;
	case SIGUSR1:
		if (whirl_log_reopen_access() == -1)
			whirl_log_error("SIGUSR1: %s", whirl_error());
		break;
	default:
		on_stop_signal(signo);
	}
}

/* Everything goes, in order, so that valgrind finds nothing: handlers
 * still streaming see their connection closed and finish on the loop's
 * last turns, WebSockets still open are dropped and programs reaped there
 * too. */
static void
serve_cleanup(void)
{
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		whirl_signal_free(sigs[i]);
	/* No more idle calls: the apps are freed below, not there. */
	whirl_app_set_idle_cb(app, loop, NULL, NULL);
	for (i = 0; i < nretired; i++)
		whirl_app_set_idle_cb(retired[i], loop, NULL, NULL);
	whirl_timer_free(stop_deadline);
	whirl_httpserver_free(srv);
	whirl_app_drop_websockets(app);
	for (i = 0; i < nretired; i++)
		whirl_app_drop_websockets(retired[i]);
	whirl_loop_run(loop);
	for (i = 0; i < nretired; i++)
		whirl_app_free(retired[i]);
	free(retired);
	whirl_app_free(app);
	whirl_loop_free(loop);
}

static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

/* Serve the sockets of set `index` until stopped: 0 after a graceful
 * stop, 1 after a second signal. */
static int
serve(int index, void *arg)
{
	size_t i;
	int j;

	(void)arg;
	for (j = 0; j < nsets; j++)
		if (j != index)
			close_set(&sets[j]);
	if ((loop = whirl_loop_new()) == NULL)
		errx(1, "%s", whirl_error());
	if ((srv = whirl_httpserver_new(loop, &o.http, on_request, NULL)) ==
	    NULL)
		errx(1, "%s", whirl_error());
	for (j = 0; j < sets[index].n; j++)
		if (whirl_httpserver_add_fd(srv, sets[index].fds[j]) == -1)
			errx(EXIT_LISTEN, "%s", whirl_error());
	sets[index].n = 0;              /* the server owns them now */
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if ((sigs[i] = whirl_signal_new(loop, handled[i], on_signal,
		    NULL)) == NULL)
			errx(1, "%s", whirl_error());
	stop_deadline = whirl_timer_new(loop, on_stop_deadline, NULL);
	if (whirl_loop_run(loop) == -1)
		errx(1, "%s", whirl_error());
	serve_cleanup();
	return stops > 1 ? 1 : 0;
}

/*
 * Workers (--processes): the supervisor opens a replacement's sockets
 * before the fork and closes its copies after, so that a dead worker's
 * sockets leave the SO_REUSEPORT group with it.
 */

static int
prepare_worker(int index, void *arg)
{
	(void)arg;
	if (sets[index].n > 0)
		return 0;
	if (open_set(&sets[index], port) == -1) {
		whirl_log_error("worker %d: %s", index, whirl_error());
		return -1;
	}
	return 0;
}

static void
worker_forked(int index, void *arg)
{
	(void)arg;
	close_set(&sets[index]);
}

static const struct whirl_prefork_ops worker_ops = {
	prepare_worker, serve, worker_forked
};

/* One descriptor per connection: take all the hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
load_tls(void)
{
	struct whirl_tls_server_opts to = {
		.cert_file = o.tls_cert, .key_file = o.tls_key
	};

	if (o.tls_cert == NULL)
		return;
	if ((tls = whirl_tls_server_new(&to)) == NULL)
		errx(EXIT_LISTEN, "%s", whirl_error());
	o.http.tls = tls;
}

int
main(int argc, char **argv)
{
	int rc;

	if (whirl_std_fds_open() == -1)
		_exit(1);
	parse_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	whirl_log_set_level(o.verbose ? WHIRL_LOG_DEBUG : WHIRL_LOG_INFO);
	if (o.quiet)
		whirl_log_set_access_fd(-1);
	if ((app = build_app()) == NULL)
		errx(EXIT_USAGE, "%s", why);
	if (o.access_log != NULL && whirl_log_open_access(o.access_log) == -1)
		errx(EXIT_LISTEN, "%s", whirl_error());
	load_tls();
	listen_all();
	if (o.processes > 0) {
		rc = whirl_prefork(o.processes, &worker_ops, NULL);
		if (rc == -1)
			errx(1, "%s", whirl_error());
		whirl_app_free(app);
	} else {
		rc = serve(0, NULL);
	}
	whirl_tls_ctx_free(tls);
	free(sets);
	free(o.headers);
	free(o.origins);
	return rc;
}
