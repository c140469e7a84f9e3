/* fuzz_server.c - the HTTP server fed arbitrary client bytes, through the
 * real tcpserver, http1, httpserver, web, static and websocket code.
 *
 * One loop and three apps live for the whole run (their routes are
 * compiled once); each input gets a fresh httpserver on a dup of one
 * listening unix socket, and a client that connects, writes the input
 * (whole, or in pieces on successive turns of the loop), shuts its write
 * side down and reads until the server closes.  Then the loop is run
 * until nothing is left in it: every connection, request, handler,
 * program, WebSocket, lingering close and timer of the input must be
 * gone, which is checked, so a leak or a stuck connection shows up in the
 * input that caused it.
 *
 * Input: one option byte, then the client's bytes.
 *   bits 0-1  the app: 0 plain (Tornado log), 1 gzip and extra headers
 *             (combined log), 2 CORS (JSON log); 3 as 0
 *   bit 2     small limits (start line 256, headers 1 KiB / 16 fields,
 *             body 2 KiB), so 413, 414 and 431 are within reach
 *   bit 3     xheaders
 *   bits 4-7  0-3: write the input whole and shut down at once;
 *             4-7: whole, and if it holds a complete request (llhttp
 *             says), shut down only once the first response came whole:
 *             a client that waits, as most do (programs of exec: and
 *             cgi: routes are stopped when the client leaves); 8-15:
 *             pieces of (bits - 7) * 5 - 4 bytes (1, 6, 11, ... 41)
 *
 * Besides ASan and UBSan, the bytes the server sent are parsed as HTTP
 * responses by llhttp (strict): a response the server frames wrongly, or
 * a header split by a CR or LF from the request, fails the input.  The
 * check stops at a 101 (WebSocket frames follow) and is skipped when the
 * input holds HEAD or CONNECT (their responses cannot be framed without
 * knowing the request).  A client that waits checks as well that its
 * first complete request is answered (else the input times out).  With
 * FUZZ_DUMP set in the environment, the server's bytes are copied to
 * stderr (to look at a seed's answers).
 *
 * Routes (the same in each app, some options differ):
 *   /                    text
 *   /h/(\d*)/(?P<name>[^/]*)  a handler that reflects the request and
 *                        obeys its query: s=STATUS, h=NAME:VALUE,
 *                        ct=TYPE, m=flush|redirect|error|later|big, u=URL
 *   /s/(.*)              dir: on a temporary tree (files, a big file,
 *                        dotfiles, links in and out, a directory)
 *   /file                file:
 *   /ws, /wsp            ws-echo (with deflate; prefix, no deflate)
 *   /wsb                 ws-broadcast
 *   /go/(?P<x>[^/]*)/(.*)  redirect with placeholders
 *   /gone, /teapot       status:
 *   POST,PUT /up         text, methods restricted
 *   /cgi(/.*)?, /exec/(?P<x>.*)  cgi: and exec: routes running cat, so
 *                        that the request body is the program's output
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <llhttp.h>

#include "fuzz.h"
#include "peer.h"
#include "whirl.h"

#define NAPPS 3

static struct whirl_loop *loop;
static struct whirl_app *apps[NAPPS];
static int listen_fd = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;
static char root[64];
static bool dump;               /* FUZZ_DUMP set: show what the server sent */

/*
 * The reflecting handler.
 */

struct later {
	struct whirl_handler *h;
	struct whirl_timer *t;
};

static void
finish_later(struct whirl_timer *t, void *arg)
{
	struct later *l = arg;

	whirl_handler_write(l->h, "late\n", 5);
	whirl_handler_finish(l->h);
	whirl_timer_free(t);
	free(l);
}

static void
reflect_args(struct whirl_handler *h, const char *what,
    const struct whirl_args *a)
{
	const char *n, *v;
	size_t i;

	for (i = 0; whirl_args_at(a, i, &n, &v); i++)
		whirl_handler_printf(h, "%s %s=%s\n", what, n, v);
}

static void
reflect(struct whirl_handler *h, void *arg)
{
	const char *m, *s, *hv, *u, *n, *v;
	const struct whirl_headers *rh = whirl_handler_headers(h);
	char name[64];
	size_t i, len, blen;
	struct later *l;
	int status;

	(void)arg;
	whirl_handler_printf(h, "%s %s %s\n", whirl_handler_method(h),
	    whirl_handler_uri(h), whirl_handler_remote_ip(h));
	for (i = 0; i <= whirl_handler_ncaptures(h); i++) {
		const char *c = whirl_handler_capture(h, i, &len);

		if (c != NULL)
			whirl_handler_write(h, c, len);
		c = whirl_handler_capture_raw(h, i, &len);
		if (c != NULL)
			whirl_handler_write(h, c, len);
	}
	if (whirl_handler_capture_named(h, "name", &len) != NULL)
		whirl_handler_write(h, "named\n", 6);
	whirl_handler_capture_named(h, "nope", NULL);
	for (i = 0; whirl_headers_at(rh, i, &n, &v); i++)
		whirl_handler_printf(h, "%s: %s\n", n, v);
	reflect_args(h, "query", whirl_handler_query_args(h));
	reflect_args(h, "form", whirl_handler_form_args(h));
	s = whirl_handler_body(h, &blen);
	whirl_handler_write(h, s, blen);

	if ((s = whirl_handler_query_arg(h, "s")) != NULL) {
		status = atoi(s);
		if (status >= 200 && status <= 599)
			whirl_handler_set_status(h, status);
	}
	if ((hv = whirl_handler_query_arg(h, "h")) != NULL &&
	    (s = strchr(hv, ':')) != NULL &&
	    (size_t)(s - hv) < sizeof(name)) {
		memcpy(name, hv, (size_t)(s - hv));
		name[s - hv] = '\0';
		if (whirl_handler_set_header(h, name, s + 1) == 0)
			whirl_handler_add_header(h, name, s + 1);
		whirl_handler_response_header(h, name);
	}
	if ((s = whirl_handler_query_arg(h, "ct")) != NULL)
		whirl_handler_set_header(h, "Content-Type", s);
	if ((s = whirl_handler_query_arg(h, "clear")) != NULL)
		whirl_handler_clear_header(h, s);
	m = whirl_handler_query_arg(h, "m");
	u = whirl_handler_query_arg(h, "u");
	if (m == NULL) {
		whirl_handler_finish(h);
	} else if (strcmp(m, "flush") == 0) {
		whirl_handler_flush(h);
		whirl_handler_write(h, "after flush\n", 12);
		whirl_handler_flush(h);
		whirl_handler_set_header(h, "X-Too-Late", "1");
		whirl_handler_finish(h);
	} else if (strcmp(m, "start") == 0) {
		whirl_handler_start(h, (int64_t)whirl_handler_buffered(h));
		whirl_handler_finish(h);
	} else if (strcmp(m, "redirect") == 0) {
		status = whirl_handler_get_status(h);
		whirl_handler_redirect(h, u != NULL ? u : "/",
		    status >= 300 && status < 400 ? status : 0);
	} else if (strcmp(m, "error") == 0) {
		whirl_handler_send_error(h, whirl_handler_get_status(h) >= 400 ?
		    whirl_handler_get_status(h) : 500);
	} else if (strcmp(m, "big") == 0) {
		for (i = 0; i < 64; i++)
			whirl_handler_printf(h, "%0127zu\n", i);
		whirl_handler_flush(h);
		whirl_handler_pending(h);
		whirl_handler_finish(h);
	} else if (strcmp(m, "later") == 0) {
		l = malloc(sizeof(*l));
		FUZZ_CHECK(l != NULL);
		l->h = h;
		l->t = whirl_timer_new(loop, finish_later, l);
		whirl_timer_start(l->t, 0, false);
	} else {
		whirl_handler_finish(h);
	}
}

/*
 * The tree served by dir:, made once.
 */

static void
put_file(const char *rel, const char *text, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
}

static void
put_link(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FUZZ_CHECK(symlink(target, path) == 0);
}

static void
put_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FUZZ_CHECK(mkdir(path, 0755) == 0);
}

static void
make_tree(void)
{
	static char big[96 * 1024];
	size_t i;

	snprintf(root, sizeof(root), "/tmp/whirl-fuzz-XXXXXX");
	FUZZ_CHECK(mkdtemp(root) != NULL);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	put_file("index.html", "<h1>index</h1>\n", 15);
	put_file("a.txt", "hello a\n", 8);
	put_file("big.bin", big, sizeof(big));
	put_file("sp ace.txt", "space\n", 6);
	put_file("\xc3\xbc.json", "{}\n", 3);
	put_file(".hidden", "secret\n", 7);
	put_dir("sub");
	put_file("sub/c.css", "p{}\n", 4);
	put_dir("list");
	put_file("list/<b>&.txt", "x\n", 2);
	put_dir(".dotdir");
	put_file(".dotdir/x", "x\n", 2);
	put_dir("empty");
	put_link("a.txt", "link-in");
	put_link("/etc/passwd", "link-out");
	put_link("/", "link-root");
	put_link("../..", "sub/up");
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < NAPPS; i++)
		whirl_app_free(apps[i]);
	whirl_loop_free(loop);
	close(listen_fd);
	if (root[0] != '\0')
		fuzz_rm_tree(root);
}

static struct whirl_app *
make_app(int variant)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_route_opts o, on;
	const char *origins[] = { "https://ok.example", NULL };
	char route[256];

	memset(&o, 0, sizeof(o));
	o.listing = variant != 1;
	o.dotfiles = variant == 2;
	o.ws_origins = variant == 2 ? origins : NULL;
	o.ws_max_message = variant == 1 ? 64 : 0;
	on = o;
	on.ws_no_deflate = true;
	on.content_type = "text/html; charset=utf-8";
	FUZZ_CHECK(whirl_app_add_route(app, "/=text:Hello, world\\n", &o) >= 0);
	FUZZ_CHECK(whirl_app_add(app, NULL, "/h/(\\d*)/(?P<name>[^/]*)",
	    reflect, NULL) >= 0);
	snprintf(route, sizeof(route), "/s/(.*)=dir:%s", root);
	FUZZ_CHECK(whirl_app_add_route(app, route, &o) >= 0);
	snprintf(route, sizeof(route), "/file=file:%s/a.txt", root);
	FUZZ_CHECK(whirl_app_add_route(app, route, &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "/ws=ws-echo", &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "/wsp=ws-echo:> ", &on) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "/wsb=ws-broadcast", &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app,
	    "/go/(?P<x>[^/]*)/(.*)=redirect:302:/to/{x}/{2}?from={0}", &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "/gone=status:410", &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app,
	    "/teapot=status:418:short\\tand stout\\n", &on) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "POST,PUT /up=text:ok", &o) >= 0);
	/* Programs: cat echoes the request body, so the input writes the
	 * program's output too (a CGI head for cgi:). */
	FUZZ_CHECK(whirl_app_add_route(app, "/cgi(/.*)?=cgi:cat", &o) >= 0);
	FUZZ_CHECK(whirl_app_add_route(app, "/exec/(?P<x>.*)=exec:cat", &o) >=
	    0);
	if (variant == 1) {
		whirl_app_set_gzip(app, true);
		FUZZ_CHECK(whirl_app_set_header(app, "X-Frame-Options",
		    "DENY") == 0);
		whirl_app_set_log_format(app, WHIRL_ACCESS_COMBINED);
	} else if (variant == 2) {
		FUZZ_CHECK(whirl_app_set_cors(app, "*") == 0);
		whirl_app_set_log_format(app, WHIRL_ACCESS_JSON);
	}
	return app;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i, devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	dump = getenv("FUZZ_DUMP") != NULL;
	/* Every log line is formatted (hostile paths and headers go
	 * through the escaping) and thrown away. */
	whirl_log_set_fd(devnull);
	whirl_log_set_level(WHIRL_LOG_DEBUG);
	loop = whirl_loop_new();
	FUZZ_CHECK(loop != NULL);
	make_tree();
	for (i = 0; i < NAPPS; i++)
		apps[i] = make_app(i);

	/* An abstract unix socket: no file, no port, no TIME_WAIT. */
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(listen_fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
	    "whirl-fuzz-server-%d", (int)getpid());
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(addr.sun_path + 1));
	FUZZ_CHECK(bind(listen_fd, (struct sockaddr *)&addr, addr_len) == 0);
	FUZZ_CHECK(listen(listen_fd, 16) == 0);
	atexit(teardown);
	return 0;
}

/*
 * The client.
 */

struct client {
	struct fuzz_peer peer;
	struct whirl_httpserver *srv;
	bool checking;
	bool waiting;                   /* shut down after a response */
	bool answered;
	llhttp_t parser;
	llhttp_settings_t settings;
};

static int
on_headers_complete(llhttp_t *p)
{
	/* A WebSocket's frames follow: stop here. */
	return p->status_code == 101 ? 2 : 0;
}

static int
on_response_complete(llhttp_t *p)
{
	struct client *c = p->data;

	c->answered = true;
	return 0;
}

static int
on_request_complete(llhttp_t *p)
{
	*(bool *)p->data = true;
	return HPE_PAUSED;
}

/* Does the input hold a request whole, as the server's llhttp reads
 * it? */
static bool
complete_request(const uint8_t *p, size_t n)
{
	llhttp_settings_t st;
	llhttp_t parser;
	bool done = false;

	llhttp_settings_init(&st);
	st.on_message_complete = on_request_complete;
	llhttp_init(&parser, HTTP_REQUEST, &st);
	parser.data = &done;
	llhttp_execute(&parser, (const char *)p, n);
	return done;
}

static void
check_response(struct fuzz_peer *pr, const char *data, size_t len)
{
	struct client *c = pr->arg;
	llhttp_errno_t e;

	if (dump)
		fwrite(data, 1, len, stderr);
	if (!c->checking)
		return;
	e = llhttp_execute(&c->parser, data, len);
	if (e == HPE_PAUSED_UPGRADE) {
		c->checking = false;
		c->answered = true;
	}
	if (c->waiting && c->answered) {
		c->waiting = false;
		shutdown(c->peer.fd, SHUT_WR);
	}
	if (e == HPE_PAUSED_UPGRADE)
		return;
	if (e != HPE_OK) {
		fprintf(stderr, "bad response: %s (%s)\n",
		    llhttp_errno_name(e), llhttp_get_error_reason(&c->parser));
		FUZZ_CHECK(e == HPE_OK);
	}
}

static void
client_gone(struct fuzz_peer *pr)
{
	struct client *c = pr->arg;

	whirl_httpserver_stop_accepting(c->srv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t opt = fuzz_byte(&in);
	struct whirl_httpserver_opts so;
	struct whirl_app *app = apps[(opt & 3) % NAPPS];
	struct client c;
	int fd;

	memset(&so, 0, sizeof(so));
	if (opt & 4) {
		so.limits.max_start_line = 256;
		so.limits.max_header_bytes = 1024;
		so.limits.max_header_fields = 16;
		so.limits.max_body = 2048;
	}
	so.xheaders = (opt & 8) != 0;

	memset(&c, 0, sizeof(c));
	c.checking = memmem(in.p, in.n, "HEAD", 4) == NULL &&
	    memmem(in.p, in.n, "CONNECT", 7) == NULL;
	llhttp_settings_init(&c.settings);
	c.settings.on_headers_complete = on_headers_complete;
	c.settings.on_message_complete = on_response_complete;
	llhttp_init(&c.parser, HTTP_RESPONSE, &c.settings);
	c.parser.data = &c;
	c.waiting = (opt >> 4) >= 4 && (opt >> 4) < 8 && c.checking &&
	    complete_request(in.p, in.n);

	c.srv = whirl_httpserver_new(loop, &so, whirl_app_handle, app);
	FUZZ_CHECK(c.srv != NULL);
	fd = dup(listen_fd);
	FUZZ_CHECK(fd >= 0 && whirl_httpserver_add_fd(c.srv, fd) == 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(connect(fd, (struct sockaddr *)&addr, addr_len) == 0);
	c.peer.on_data = check_response;
	c.peer.on_gone = client_gone;
	c.peer.arg = &c;
	c.peer.keep_open = c.waiting;
	fuzz_peer_start(&c.peer, loop, fd, in.p, in.n,
	    fuzz_piece_size(opt >> 4));

	/* Until nothing is left: the client gone, the server's connection
	 * closed, every WebSocket and lingering stream finished. */
	FUZZ_CHECK(whirl_loop_run(loop) == 0);
	FUZZ_CHECK(c.peer.gone);
	FUZZ_CHECK(whirl_httpserver_connections(c.srv) == 0);
	FUZZ_CHECK(whirl_app_websockets(app) == 0);
	FUZZ_CHECK(whirl_app_pending(app) == 0);
	whirl_httpserver_free(c.srv);
	return 0;
}
