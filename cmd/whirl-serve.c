/* whirl-serve - a routed app server from the command line.
 *
 *     whirl-serve [options] [ROUTE...]
 *
 * Each ROUTE ("[METHODS ]PATTERN=KIND[:ARG]", web.h) becomes a route of
 * one whirl_app, tried in order; with none, the Tornado demo is served
 * (its /websocket is ws-echo, Tornado's EchoWebSocket).  Options map onto
 * httpserver limits, app and WebSocket settings and the log; the rest is
 * the loop.  A first SIGTERM closes WebSockets with 1001 and lets
 * requests in flight finish.  Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot
 * listen (or open its access log), 2 for a usage or route error.
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
#define BACKLOG         1024    /* bursts of connects (nginx: 511) */
#define DRAIN_POLL_MS   10
#define DRAIN_MAX_MS    10000   /* in-flight requests get this long */

struct opts {
	const char *address;
	int port;
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

static struct opts o;
static struct whirl_loop *loop;
static struct whirl_httpserver *srv;
static struct whirl_app *app;
static struct whirl_signal *sigs[2];
static struct whirl_timer *drain;
static uint64_t drain_start;
static bool stopping;

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
	    "  ws-echo[:PREFIX]  ws-exec:COMMAND  ws-broadcast\n"
	    "With no ROUTE: the Tornado demo (GET / says Hello, world).\n"
	    "Options:\n"
	    "  -a, --address ADDR         listen on ADDR (127.0.0.1)\n"
	    "      --access-log FILE      append the access log to FILE\n"
	    "      --body-timeout SECS    a body may pause this long (60)\n"
	    "      --content-type TYPE    of text: and status: bodies\n"
	    "      --cors ORIGIN          allow cross-origin requests from "
	    "ORIGIN\n"
	    "      --dotfiles             serve names starting with '.'\n"
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
	    "  -q, --quiet                no access log\n"
	    "  -v, --verbose              debug lines\n"
	    "      --version              print the version and exit\n"
	    "      --ws-max-message SIZE  close with 1009 above (16M)\n"
	    "      --ws-max-queue SIZE    ws-broadcast: close a client this "
	    "far behind (1M)\n"
	    "      --ws-no-deflate        no permessage-deflate\n"
	    "      --ws-origin ORIGIN     also accept WebSockets from ORIGIN "
	    "('*': any)\n", f);
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
	OPT_DOTFILES, OPT_GZIP, OPT_HEAD_TIMEOUT, OPT_HELP, OPT_IDLE_TIMEOUT,
	OPT_LISTING, OPT_LOG_FORMAT, OPT_MAX_BODY, OPT_MAX_FIELDS,
	OPT_MAX_HEADER, OPT_MAX_LINE, OPT_PRINT_PORT, OPT_VERSION,
	OPT_WS_MAX_MESSAGE, OPT_WS_MAX_QUEUE, OPT_WS_NO_DEFLATE, OPT_WS_ORIGIN
};

static const struct option longopts[] = {
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "address", required_argument, NULL, 'a' },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
	{ "cors", required_argument, NULL, OPT_CORS },
	{ "dotfiles", no_argument, NULL, OPT_DOTFILES },
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
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "ws-max-message", required_argument, NULL, OPT_WS_MAX_MESSAGE },
	{ "ws-max-queue", required_argument, NULL, OPT_WS_MAX_QUEUE },
	{ "ws-no-deflate", no_argument, NULL, OPT_WS_NO_DEFLATE },
	{ "ws-origin", required_argument, NULL, OPT_WS_ORIGIN },
	{ NULL, 0, NULL, 0 }
};

static int
parse_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
		usage_error("bad port '%s' (0 to 65535)", s);
	return (int)v;
}

/* Seconds, fractions allowed ("0.5"), into milliseconds (> 0). */
static uint64_t
parse_secs(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v <= 0 || v > 86400 * 365)
		usage_error("bad %s '%s' (seconds, more than 0)", opt, s);
	return (uint64_t)(v * 1000 + 0.999);
}

/* Bytes, with an optional K, M or G (binary; "KiB" and "KB" too). */
static uint64_t
parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		usage_error("bad %s '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
	}
	if (mult > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end != '\0' || v == 0 || v > UINT64_MAX / mult)
		usage_error("bad %s '%s' (bytes, K, M or G)", opt, s);
	return v * mult;
}

static void
parse_opts(int argc, char **argv)
{
	int c;

	o.address = "127.0.0.1";
	o.port = 8888;
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
}

/*
 * The application.
 */

static void
demo_page_cb(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_write(h, demo_page, sizeof(demo_page) - 1);
	whirl_handler_finish(h);
}

/* -H 'Name: value'; Server goes to the httpserver, which sends it. */
static void
add_header(const char *spec)
{
	const char *colon = strchr(spec, ':'), *v;
	char name[256];
	size_t n;

	if (colon == NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(name))
		usage_error("bad -H '%s' (Name: value)", spec);
	n = (size_t)(colon - spec);
	memcpy(name, spec, n);
	name[n] = '\0';
	v = colon + 1 + strspn(colon + 1, " \t");
	if (strcasecmp(name, "Server") == 0 &&
	    strpbrk(v, "\r\n") == NULL) {
		o.http.server_header = v;
		return;
	}
	if (whirl_app_set_header(app, name, v) == -1)
		usage_error("bad -H '%s': %s", spec, whirl_error());
}

static void
build_app(int nroutes, char **routes)
{
	struct whirl_route_opts ro = {
		.content_type = o.content_type, .dotfiles = o.dotfiles,
		.listing = o.listing, .ws_no_deflate = o.ws_no_deflate,
		.ws_origins = o.origins, .ws_max_message = o.ws_max_message,
		.ws_max_queue = o.ws_max_queue
	};
	int i;

	app = whirl_app_new();
	for (i = 0; i < nroutes; i++)
		if (whirl_app_add_route(app, routes[i], &ro) == -1)
			errx(EXIT_USAGE, "%s", whirl_error());
	if (nroutes == 0) {
		whirl_app_add_route(app, "GET /=text:Hello, world", &ro);
		whirl_app_add(app, "GET", "/demo", demo_page_cb, NULL);
		whirl_app_add_route(app, "/websocket=ws-echo:You said: ", &ro);
	}
	for (i = 0; (size_t)i < o.nheaders; i++)
		add_header(o.headers[i]);
	if (o.cors != NULL && whirl_app_set_cors(app, o.cors) == -1)
		usage_error("bad --cors '%s': %s", o.cors, whirl_error());
	whirl_app_set_gzip(app, o.gzip);
	whirl_app_set_log_format(app, o.log_format);
}

/*
 * Listening and stopping.
 */

static void
listen_all(void)
{
	int fds[MAX_LISTENERS], n, i;
	struct whirl_addr a;
	char host[WHIRL_ADDR_STRLEN];
	bool v6;

	n = whirl_listen_host(o.address, o.port, AF_UNSPEC, BACKLOG, 0,
	    fds, MAX_LISTENERS);
	if (n == -1)
		errx(EXIT_LISTEN, "%s", whirl_error());
	for (i = 0; i < n; i++) {
		a.len = sizeof(a.ss);
		if (getsockname(fds[i], (struct sockaddr *)&a.ss, &a.len) == -1)
			err(EXIT_LISTEN, "getsockname");
		if (i == 0 && o.print_port)
			fprintf(stderr, "%d\n", whirl_fd_local_port(fds[i]));
		whirl_addr_host((struct sockaddr *)&a.ss, a.len, host,
		    sizeof(host));
		v6 = a.ss.ss_family == AF_INET6;
		fprintf(stderr, "%s: listening on http://%s%s%s:%d/\n",
		    program_invocation_short_name, v6 ? "[" : "", host,
		    v6 ? "]" : "", whirl_fd_local_port(fds[i]));
		if (whirl_httpserver_add_fd(srv, fds[i]) == -1)
			errx(EXIT_LISTEN, "%s", whirl_error());
	}
	fflush(stderr);
}

static void
on_drain_tick(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	if ((whirl_httpserver_connections(srv) == 0 &&
	    whirl_app_websockets(app) == 0) ||
	    whirl_loop_now_ms(loop) - drain_start >= DRAIN_MAX_MS) {
		whirl_timer_stop(drain);
		whirl_loop_stop(loop);
	}
}

/* The first signal stops accepting, lets requests in flight finish and
 * closes WebSockets (1001: going away); a second one stops at once. */
static void
on_signal(struct whirl_signal *s, int signo, void *arg)
{
	(void)s;
	(void)arg;
	whirl_log_debug("signal %d: %s", signo, stopping ? "stopping now" :
	    "finishing requests in flight");
	if (stopping) {
		whirl_loop_stop(loop);
		return;
	}
	stopping = true;
	whirl_httpserver_stop_accepting(srv);
	whirl_app_close_websockets(app, WHIRL_WS_GOING_AWAY,
	    "server shutting down");
	drain_start = whirl_loop_now_ms(loop);
	drain = whirl_timer_new(loop, on_drain_tick, NULL);
	whirl_timer_start(drain, DRAIN_POLL_MS, true);
	on_drain_tick(drain, NULL);
}

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

/* A closed fd 0-2 gets /dev/null, so that no socket lands on it. */

/* Everything goes, in order, so that valgrind finds nothing: handlers
 * still streaming see their connection closed and finish on the loop's
 * last turns, WebSockets still open are dropped and ws-exec programs
 * reaped there too. */
static void
cleanup(void)
{
	whirl_signal_free(sigs[0]);
	whirl_signal_free(sigs[1]);
	whirl_timer_free(drain);
	whirl_httpserver_free(srv);
	whirl_app_drop_websockets(app);
	whirl_loop_run(loop);
	whirl_app_free(app);
	whirl_loop_free(loop);
	free(o.headers);
	free(o.origins);
}

int
main(int argc, char **argv)
{
	if (whirl_std_fds_open() == -1)
		_exit(1);
	parse_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	whirl_log_set_level(o.verbose ? WHIRL_LOG_DEBUG : WHIRL_LOG_INFO);
	if (o.quiet)
		whirl_log_set_access_fd(-1);
	build_app(argc - optind, argv + optind);
	if (o.access_log != NULL && whirl_log_open_access(o.access_log) == -1)
		errx(EXIT_LISTEN, "%s", whirl_error());
	if ((loop = whirl_loop_new()) == NULL)
		errx(1, "%s", whirl_error());
	if ((srv = whirl_httpserver_new(loop, &o.http, whirl_app_handle,
	    app)) == NULL)
		errx(1, "%s", whirl_error());
	listen_all();
	sigs[0] = whirl_signal_new(loop, SIGINT, on_signal, NULL);
	sigs[1] = whirl_signal_new(loop, SIGTERM, on_signal, NULL);
	if (sigs[0] == NULL || sigs[1] == NULL)
		errx(1, "%s", whirl_error());
	if (whirl_loop_run(loop) == -1)
		errx(1, "%s", whirl_error());
	cleanup();
	return 0;
}
