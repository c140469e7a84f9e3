/* test_web.c - route strings, route matching, redirect templates, static
 * path resolution, and handlers driven through a real httpserver on the
 * loopback: captures, arguments, headers, buffered, streamed and late
 * answers, error pages and the access log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "whirl.h"
#include "static.h"
#include "web.h"
#include "web_internal.h"
#include "unit.h"

/*
 * Route strings.
 */

struct parse_case {
	const char *route;
	const char *methods, *pattern;
	enum whirl_route_kind kind;
	const char *arg;
	size_t arg_len;
	int status;
	bool has_body;
};

static const struct parse_case parse_ok[] = {
	{ "/=text:Hello, world", NULL, "/", WHIRL_ROUTE_TEXT,
	    "Hello, world", 12, 0, false },
	{ "GET /=text:hi", "GET", "/", WHIRL_ROUTE_TEXT, "hi", 2, 0, false },
	{ "GET,POST /x=text", "GET,POST", "/x", WHIRL_ROUTE_TEXT, "", 0, 0,
	    false },
	{ "/e=text:a\\nb\\tc\\\\d\\x", NULL, "/e", WHIRL_ROUTE_TEXT,
	    "a\nb\tc\\d\\x", 9, 0, false },
	/* The first '=' followed by a kind and ':' or the end splits. */
	{ "/a=b=text:c=d", NULL, "/a=b", WHIRL_ROUTE_TEXT, "c=d", 3, 0,
	    false },
	{ "/q=file=text:x", NULL, "/q=file", WHIRL_ROUTE_TEXT, "x", 1, 0,
	    false },
	{ "/texts=text:ok", NULL, "/texts", WHIRL_ROUTE_TEXT, "ok", 2, 0,
	    false },
	{ "/f=file:./a.txt", NULL, "/f", WHIRL_ROUTE_FILE, "./a.txt", 7, 0,
	    false },
	{ "/s/(.*)=dir:pub", NULL, "/s/(.*)", WHIRL_ROUTE_DIR, "pub", 3, 0,
	    false },
	{ "/t=status:418", NULL, "/t", WHIRL_ROUTE_STATUS, NULL, 0, 418,
	    false },
	{ "/t=status:201:made\\n", NULL, "/t", WHIRL_ROUTE_STATUS, "made\n",
	    5, 201, true },
	{ "/t=status:204:", NULL, "/t", WHIRL_ROUTE_STATUS, "", 0, 204,
	    true },
	{ "/r=redirect:/new", NULL, "/r", WHIRL_ROUTE_REDIRECT, "/new", 4,
	    301, false },
	{ "/r=redirect:302:/new", NULL, "/r", WHIRL_ROUTE_REDIRECT, "/new",
	    4, 302, false },
	{ "/r=redirect:http://h:80/x", NULL, "/r", WHIRL_ROUTE_REDIRECT,
	    "http://h:80/x", 13, 301, false },
	{ "M-SEARCH,GET /x y=text:z", "M-SEARCH,GET", "/x y",
	    WHIRL_ROUTE_TEXT, "z", 1, 0, false },
	{ "/ws=ws-echo", NULL, "/ws", WHIRL_ROUTE_WS_ECHO, "", 0, 0, false },
	{ "/websocket=ws-echo:You said: ", NULL, "/websocket",
	    WHIRL_ROUTE_WS_ECHO, "You said: ", 10, 0, false },
	{ "/ws=ws-echo:\\t\xc3\xa9", NULL, "/ws", WHIRL_ROUTE_WS_ECHO,
	    "\t\xc3\xa9", 3, 0, false },
	{ "/run/(\\w+)=ws-exec:echo \"$1\"", NULL, "/run/(\\w+)",
	    WHIRL_ROUTE_WS_EXEC, "echo \"$1\"", 9, 0, false },
	{ "GET /room=ws-broadcast", "GET", "/room", WHIRL_ROUTE_WS_BROADCAST,
	    NULL, 0, 0, false },
	/* Commands are kept as typed: no escapes, '=' and ':' included. */
	{ "/run/(\\w+)=exec:echo \"$1\" a=b:c\\n", NULL, "/run/(\\w+)",
	    WHIRL_ROUTE_EXEC, "echo \"$1\" a=b:c\\n", 17, 0, false },
	{ "POST /cgi(/.*)?=cgi:./env.cgi", "POST", "/cgi(/.*)?",
	    WHIRL_ROUTE_CGI, "./env.cgi", 9, 0, false },
	{ "/x=exec=text:y", NULL, "/x=exec", WHIRL_ROUTE_TEXT, "y", 1, 0,
	    false },
};

TEST(route_strings_split)
{
	struct whirl_route_spec s;
	size_t i;

	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		const struct parse_case *c = &parse_ok[i];

		if (whirl_route_parse(c->route, &s) != 0) {
			printf("# %s: %s\n", c->route, whirl_error());
			CHECK(!"parse failed");
			continue;
		}
		CHECK_EQ_STR(s.methods, c->methods);
		CHECK_EQ_STR(s.pattern, c->pattern);
		CHECK_EQ_INT(s.kind, c->kind);
		CHECK_EQ_STR(s.arg, c->arg);
		CHECK_EQ_INT(s.arg_len, c->arg_len);
		if (c->status != 0)
			CHECK_EQ_INT(s.status, c->status);
		CHECK_EQ_INT(s.has_body, c->has_body);
		whirl_route_spec_reset(&s);
	}
}

#define KINDS "text, file, dir, status, redirect, exec, cgi, ws-echo, " \
	"ws-exec, ws-broadcast"

static const struct {
	const char *route, *err;
} parse_bad[] = {
	{ "/x=run:ls", "route '/x=run:ls': unknown kind 'run' (kinds: "
	    KINDS ")" },
	{ "/x=exec", "route '/x=exec': exec: needs a COMMAND" },
	{ "/x=cgi:", "route '/x=cgi:': cgi: needs a COMMAND" },
	{ "/x=ws", "route '/x=ws': unknown kind 'ws' (kinds: " KINDS ")" },
	{ "/x", "route '/x': no =KIND (" KINDS ")" },
	{ "/x=Text:a", "route '/x=Text:a': no =KIND (" KINDS ")" },
	{ "/x=ws-exec", "route '/x=ws-exec': ws-exec: needs a COMMAND" },
	{ "/x=ws-exec:", "route '/x=ws-exec:': ws-exec: needs a COMMAND" },
	{ "/x=ws-broadcast:lobby", "route '/x=ws-broadcast:lobby': "
	    "ws-broadcast: takes no argument" },
	{ "/x=ws-echo:\xff", "route '/x=ws-echo:\xff': ws-echo: PREFIX is "
	    "not UTF-8" },
	{ "=text:a", "route '=text:a': empty pattern" },
	{ "GET =text:a", "route 'GET =text:a': empty pattern" },
	{ "get /x=text:a", "route 'get /x=text:a': METHODS are upper-case "
	    "names separated by commas (GET,POST)" },
	{ "GET,,POST /x=text:a", "route 'GET,,POST /x=text:a': METHODS are "
	    "upper-case names separated by commas (GET,POST)" },
	{ "/x=file", "route '/x=file': file: needs a PATH" },
	{ "/x=dir:", "route '/x=dir:': dir: needs a PATH" },
	{ "/x=status", "route '/x=status': status: needs a CODE from 200 "
	    "to 599" },
	{ "/x=status:99", "route '/x=status:99': status: needs a CODE from "
	    "200 to 599" },
	{ "/x=status:101", "route '/x=status:101': status: needs a CODE "
	    "from 200 to 599" },
	{ "/x=status:600", "route '/x=status:600': status: needs a CODE "
	    "from 200 to 599" },
	{ "/x=status:2000", "route '/x=status:2000': status: needs a CODE "
	    "from 200 to 599" },
	{ "/x=redirect", "route '/x=redirect': redirect: needs a URL" },
	{ "/x=redirect:302:", "route '/x=redirect:302:': redirect: needs a "
	    "URL" },
	{ "/x=redirect:200:/y", "route '/x=redirect:200:/y': redirect: "
	    "CODE is 301, 302, 303, 307 or 308" },
};

TEST(route_strings_refused_with_the_route_shown)
{
	struct whirl_route_spec s;
	size_t i;

	for (i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		CHECK_EQ_INT(whirl_route_parse(parse_bad[i].route, &s), -1);
		CHECK_EQ_STR(whirl_error(), parse_bad[i].err);
		CHECK(s.pattern == NULL && s.arg == NULL && s.methods == NULL);
	}
}

TEST(add_route_checks_patterns_groups_and_dirs)
{
	struct whirl_app *app = whirl_app_new();

	CHECK_EQ_INT(whirl_app_add_route(app, "/a(=text:x", NULL), -1);
	CHECK_EQ_STR(whirl_error(), "route '/a(=text:x': bad pattern '/a(': "
	    "missing closing parenthesis at 3");
	CHECK_EQ_INT(whirl_app_add_route(app, "/s=dir:.", NULL), -1);
	CHECK_EQ_STR(whirl_error(), "route '/s=dir:.': dir: needs a group "
	    "(the path under the directory) or a pattern ending in /");
	CHECK_EQ_INT(whirl_app_add_route(app, "/s/=dir:/nonexistent-whirl",
	    NULL), -1);
	CHECK_EQ_STR(whirl_error(), "route '/s/=dir:/nonexistent-whirl': "
	    "dir:/nonexistent-whirl: No such file or directory");
	CHECK_EQ_INT(whirl_app_add_route(app, "/r/(a)=redirect:/{2}", NULL),
	    -1);
	CHECK_EQ_STR(whirl_error(), "route '/r/(a)=redirect:/{2}': bad "
	    "placeholder in '/{2}' (use {0}, {1}.. or {name} of a group, {{ "
	    "and }} for braces)");
	CHECK_EQ_INT(whirl_app_add_route(app, "/r/(a)=redirect:/{b}", NULL),
	    -1);
	CHECK_EQ_INT(whirl_app_add_route(app, "/r/(?P<b>a)=redirect:/{b}",
	    NULL), 0);
	CHECK_EQ_INT(whirl_app_add_route(app, "/s/=dir:.", NULL), 1);
	CHECK_EQ_INT(whirl_app_add_route(app, "/t/(?<p>.*)=dir:.", NULL), 2);
	CHECK_EQ_INT(whirl_app_add(app, "GET,", "/x", NULL, NULL), -1);
	CHECK_EQ_STR(whirl_error(), "bad method list 'GET,'");
	CHECK_EQ_INT(whirl_app_set_header(app, "Content-Length", "3"), -1);
	CHECK_EQ_INT(whirl_app_set_header(app, "X-A", "a\r\nb"), -1);
	CHECK_EQ_INT(whirl_app_set_header(app, "X A", "b"), -1);
	CHECK_EQ_INT(whirl_app_set_header(app, "X-A", "b"), 0);
	whirl_app_free(app);
}

static void
nop(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_finish(h);
}

TEST(routes_are_tried_in_order_anchored_on_the_raw_path)
{
	struct whirl_app *app = whirl_app_new();
	char allow[128];
	int st;

	whirl_app_add(app, "GET", "/", nop, NULL);                  /* 0 */
	whirl_app_add(app, "POST,PUT", "/item/(\\d+)", nop, NULL);  /* 1 */
	whirl_app_add(app, "DELETE", "/item/(\\d+)", nop, NULL);    /* 2 */
	whirl_app_add(app, NULL, "/item/.*", nop, NULL);            /* 3 */
	whirl_app_add(app, "GET", "/a%20b", nop, NULL);             /* 4 */
	whirl_app_add(app, "GET", "/only/(x|y)", nop, NULL);        /* 5 */
	whirl_app_add(app, "PATCH", "/only/x", nop, NULL);          /* 6 */
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/", &st, allow, 128), 0);
	CHECK_EQ_INT(st, 200);
	CHECK_EQ_INT(whirl_app_find(app, "HEAD", "/", &st, allow, 128), 0);
	CHECK_EQ_INT(whirl_app_find(app, "POST", "/item/12", &st, allow,
	    128), 1);
	CHECK_EQ_INT(whirl_app_find(app, "DELETE", "/item/12", &st, allow,
	    128), 2);
	/* A route with no methods takes any. */
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/item/12", &st, allow, 128),
	    3);
	/* Anchored at both ends. */
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/x/", &st, allow, 128), -1);
	CHECK_EQ_INT(st, 404);
	CHECK_EQ_STR(allow, "");
	CHECK_EQ_INT(whirl_app_find(app, "GET", "//", &st, allow, 128), -1);
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/only/xx", &st, allow, 128),
	    -1);
	CHECK_EQ_INT(st, 404);
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/a/only/x", &st, allow, 128),
	    -1);
	/* Matched against the path as sent, still encoded. */
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/a%20b", &st, allow, 128), 4);
	CHECK_EQ_INT(whirl_app_find(app, "GET", "/a b", &st, allow, 128), -1);
	/* Only other methods: 405 and their list, GET bringing HEAD. */
	CHECK_EQ_INT(whirl_app_find(app, "POST", "/", &st, allow, 128), -1);
	CHECK_EQ_INT(st, 405);
	CHECK_EQ_STR(allow, "GET, HEAD");
	CHECK_EQ_INT(whirl_app_find(app, "POST", "/only/x", &st, allow, 128),
	    -1);
	CHECK_EQ_INT(st, 405);
	CHECK_EQ_STR(allow, "GET, HEAD, PATCH");
	CHECK_EQ_INT(whirl_app_find(app, "HEAD", "/only/x", &st, allow, 128),
	    5);
	whirl_app_free(app);
}

static int
lookup(const char *name, size_t len, void *arg)
{
	(void)arg;
	if (len == 4 && memcmp(name, "user", 4) == 0)
		return 2;
	return -1;
}

TEST(redirect_templates)
{
	const char *caps[] = { "a%20b", "bob", NULL };
	char *s;

	s = whirl_redirect_expand("/new/{1}/{0}/{2}", "/old/x", caps, 3,
	    lookup, NULL);
	CHECK_EQ_STR(s, "/new/a%20b//old/x/bob");
	free(s);
	s = whirl_redirect_expand("/u/{user}?{{x}}={3}", "/p", caps, 3,
	    lookup, NULL);
	CHECK_EQ_STR(s, "/u/bob?{x}=");
	free(s);
	s = whirl_redirect_expand("http://example.com/", "/p", NULL, 0, NULL,
	    NULL);
	CHECK_EQ_STR(s, "http://example.com/");
	free(s);
	CHECK(whirl_redirect_expand("/{4}", "/p", caps, 3, lookup, NULL) ==
	    NULL);
	CHECK(whirl_redirect_expand("/{nobody}", "/p", caps, 3, lookup,
	    NULL) == NULL);
	CHECK(whirl_redirect_expand("/{1", "/p", caps, 3, lookup, NULL) ==
	    NULL);
	CHECK(whirl_redirect_expand("/}", "/p", caps, 3, lookup, NULL) ==
	    NULL);
	CHECK(whirl_redirect_expand("/{}", "/p", caps, 3, lookup, NULL) ==
	    NULL);
	CHECK(whirl_redirect_expand("/{1x}", "/p", caps, 3, lookup, NULL) ==
	    NULL);
}

/*
 * CGI heads.
 */

TEST(cgi_head_ends_at_the_first_blank_line)
{
	static const struct {
		const char *data;
		size_t end;
	} cases[] = {
		{ "A: b\n\nbody", 6 },
		{ "A: b\r\n\r\nbody", 8 },
		{ "A: b\nC: d\r\n\n\n", 12 },
		{ "\nbody", 1 },
		{ "\r\n", 2 },
		{ "A: b\n", 0 },
		{ "A: b\r\n\r", 0 },
		{ "A: b\rx\n", 0 },
		{ "", 0 },
	};
	const char *two = "A: b\r\n\r\nrest";
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ_INT(whirl__cgi_head_end(cases[i].data,
		    strlen(cases[i].data), 0), cases[i].end);
	/* Arriving in pieces: each call looks on from the last. */
	CHECK_EQ_INT(whirl__cgi_head_end(two, 5, 0), 0);
	CHECK_EQ_INT(whirl__cgi_head_end(two, 6, 5), 0);
	CHECK_EQ_INT(whirl__cgi_head_end(two, 7, 6), 0);
	CHECK_EQ_INT(whirl__cgi_head_end(two, 8, 7), 8);
}

/* The fields of a parsed head as "Name=value|...". */
static const char *
head_fields(const char *block, int *status)
{
	static char out[512];
	struct whirl_headers *h = whirl_headers_new();
	const char *n, *v;
	size_t i, used = 0;

	out[0] = '\0';
	if (whirl__cgi_head_parse(block, strlen(block), status, h) == -1) {
		snprintf(out, sizeof(out), "error: %s", whirl_error());
		whirl_headers_free(h);
		return out;
	}
	for (i = 0; whirl_headers_at(h, i, &n, &v) && used < sizeof(out);
	    i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used,
		    "%s%s=%s", i > 0 ? "|" : "", n, v);
	whirl_headers_free(h);
	return out;
}

TEST(cgi_heads_parsed_and_refused)
{
	struct whirl_headers *h;
	int st;

	CHECK_EQ_STR(head_fields("Status: 404 Not Found\r\nContent-Type: "
	    "application/json\r\nX-A:  1 \r\nSet-Cookie: a=1\n"
	    "Set-Cookie: b=2\nX-Empty:\n\n", &st),
	    "Content-Type=application/json|X-A=1|Set-Cookie=a=1|"
	    "Set-Cookie=b=2|X-Empty=");
	CHECK_EQ_INT(st, 404);
	/* Location alone is a 302; with a Status, that Status. */
	CHECK_EQ_STR(head_fields("Location: /else\n\n", &st),
	    "Location=/else");
	CHECK_EQ_INT(st, 302);
	CHECK_EQ_STR(head_fields("Location: /else\nStatus: 201\n\n", &st),
	    "Location=/else");
	CHECK_EQ_INT(st, 201);
	CHECK_EQ_STR(head_fields("\n", &st), "");
	CHECK_EQ_INT(st, 0);
	/* What the server frames is its own. */
	CHECK_EQ_STR(head_fields("Content-Length: 9\nTransfer-Encoding: x\n"
	    "Connection: close\nDate: x\nServer: x\nX-B: 2\n\n", &st),
	    "X-B=2");
	/* Nothing of a bad head may be sent. */
	CHECK_EQ_STR(head_fields("X-A: a\rb\n\n", &st),
	    "error: CR or NUL in the value of X-A");
	CHECK_EQ_STR(head_fields("X-A: a\r\r\n\n", &st),
	    "error: CR or NUL in the value of X-A");
	CHECK_EQ_STR(head_fields("X A: b\n\n", &st),
	    "error: not a header line: 'X A: b'");
	CHECK_EQ_STR(head_fields("X-A: b\n folded\n\n", &st),
	    "error: not a header line: ' folded'");
	CHECK_EQ_STR(head_fields("no colon\n\n", &st),
	    "error: not a header line: 'no colon'");
	CHECK_EQ_STR(head_fields(": x\n\n", &st),
	    "error: not a header line: ': x'");
	CHECK_EQ_STR(head_fields("Status: 99\n\n", &st),
	    "error: bad Status '99'");
	CHECK_EQ_STR(head_fields("Status: 600\n\n", &st),
	    "error: bad Status '600'");
	CHECK_EQ_STR(head_fields("Status: 1000\n\n", &st),
	    "error: bad Status '1000'");
	CHECK_EQ_STR(head_fields("Status: 101 Switching\n\n", &st),
	    "error: bad Status '101 Switching'");
	h = whirl_headers_new();
	CHECK_EQ_INT(whirl__cgi_head_parse("X: a\0b\n\n", 9, &st, h), -1);
	CHECK_EQ_STR(whirl_error(), "CR or NUL in the value of X");
	whirl_headers_free(h);
}

/*
 * Static paths.
 */

static char tmpdir[] = "/tmp/whirl-web-XXXXXX";

static void
put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
make_tree(void)
{
	char p[256];

	CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(p, sizeof(p), "%s/root", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/sub", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/.git", tmpdir);
	mkdir(p, 0755);
	put("secret", "outside\n");
	put("root/a.txt", "inside\n");
	put("root/sub/b.txt", "deeper\n");
	put("root/.hidden", "dot\n");
	put("root/.git/config", "[core]\n");
	put("root/a\\b", "backslash\n");
	snprintf(p, sizeof(p), "%s/root/out", tmpdir);
	CHECK_EQ_INT(symlink("../secret", p), 0);
	snprintf(p, sizeof(p), "%s/root/abs", tmpdir);
	CHECK_EQ_INT(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/root/in", tmpdir);
	CHECK_EQ_INT(symlink("sub/b.txt", p), 0);
	snprintf(p, sizeof(p), "%s/root/sub/up", tmpdir);
	CHECK_EQ_INT(symlink("../a.txt", p), 0);
	snprintf(p, sizeof(p), "%s/root/fifo", tmpdir);
	CHECK_EQ_INT(mkfifo(p, 0644), 0);
}

static void
remove_tree(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK_EQ_INT(system(cmd), 0);
}

/* The first line of what rel opens to, or the status as text. */
static const char *
open_rel(int rootfd, const char *rel, size_t len, bool dotfiles)
{
	static char buf[64];
	int status, fd = whirl_static_open(rootfd, rel, len, dotfiles,
	    &status);
	ssize_t n;

	if (fd == -1) {
		snprintf(buf, sizeof(buf), "%d", status);
		return buf;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return "dir";
	buf[n] = '\0';
	return buf;
}

/* valgrind (and kernels before 5.6) have no openat2. */
static bool
have_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOSYS;
}

#define OPEN(rel) open_rel(rootfd, rel, strlen(rel), false)

TEST(static_paths_never_leave_the_root)
{
	char p[256];
	int rootfd;

	make_tree();
	snprintf(p, sizeof(p), "%s/root", tmpdir);
	rootfd = open(p, O_PATH | O_DIRECTORY);
	CHECK(rootfd >= 0);
	CHECK_EQ_STR(OPEN("a.txt"), "inside\n");
	CHECK_EQ_STR(OPEN("sub/b.txt"), "deeper\n");
	CHECK_EQ_STR(OPEN("sub//b.txt"), "deeper\n");
	CHECK_EQ_STR(OPEN("./a.txt"), "inside\n");
	if (have_openat2()) {
		CHECK_EQ_STR(OPEN("in"), "deeper\n");     /* link inside */
		CHECK_EQ_STR(OPEN("sub/up"), "inside\n"); /* .. by a link */
	} else {
		/* The fallback follows no link at all. */
		CHECK_EQ_STR(OPEN("in"), "403");
		CHECK_EQ_STR(OPEN("sub/up"), "403");
	}
	CHECK_EQ_STR(OPEN("a\\b"), "backslash\n");    /* just a name here */
	CHECK_EQ_STR(OPEN(""), "dir");
	CHECK_EQ_STR(OPEN("sub/"), "dir");
	CHECK_EQ_STR(OPEN("../secret"), "403");
	CHECK_EQ_STR(OPEN("sub/../a.txt"), "403");
	CHECK_EQ_STR(OPEN(".."), "403");
	CHECK_EQ_STR(OPEN("/etc/passwd"), "403");
	CHECK_EQ_STR(OPEN("out"), "403");             /* link outside */
	CHECK_EQ_STR(OPEN("abs"), "403");             /* absolute link */
	CHECK_EQ_STR(OPEN("nope"), "404");
	CHECK_EQ_STR(OPEN("a.txt/x"), "404");
	CHECK_EQ_STR(OPEN("..\\secret"), "404");
	CHECK_EQ_STR(OPEN(".hidden"), "404");
	CHECK_EQ_STR(OPEN(".git/config"), "404");
	CHECK_EQ_STR(open_rel(rootfd, ".hidden", 7, true), "dot\n");
	CHECK_EQ_STR(open_rel(rootfd, ".git/config", 11, true), "[core]\n");
	CHECK_EQ_STR(open_rel(rootfd, "../secret", 9, true), "403");
	CHECK_EQ_STR(open_rel(rootfd, "a.txt\0.png", 10, false), "404");
	/* A FIFO opens without blocking (and is refused by the server). */
	CHECK_EQ_STR(OPEN("fifo"), "");
	close(rootfd);
	remove_tree();
}

TEST(content_types_by_extension)
{
	CHECK_EQ_STR(whirl_static_content_type("index.html"),
	    "text/html; charset=utf-8");
	CHECK_EQ_STR(whirl_static_content_type("a/b.CSS"),
	    "text/css; charset=utf-8");
	CHECK_EQ_STR(whirl_static_content_type("app.js"),
	    "text/javascript; charset=utf-8");
	CHECK_EQ_STR(whirl_static_content_type("x.json"), "application/json");
	CHECK_EQ_STR(whirl_static_content_type("i.png"), "image/png");
	CHECK_EQ_STR(whirl_static_content_type("i.svg"), "image/svg+xml");
	CHECK_EQ_STR(whirl_static_content_type("README"),
	    "application/octet-stream");
	CHECK_EQ_STR(whirl_static_content_type("d.x/README"),
	    "application/octet-stream");
	CHECK_EQ_STR(whirl_static_content_type("a.weird"),
	    "application/octet-stream");
}

/*
 * Handlers, through a server on the loopback.
 */

static struct whirl_loop *loop;
static struct whirl_httpserver *srv;
static char reply[65536];
static size_t reply_len;
static const char *request_text;

static void
on_reply(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)s;
	(void)arg;
	if (len > 0 && reply_len + len < sizeof(reply)) {
		memcpy(reply + reply_len, data, len);
		reply_len += len;
		reply[reply_len] = '\0';
	}
	if (data == NULL || err != NULL)
		whirl_loop_stop(loop);
}

static void
on_connect(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct whirl_stream **out = arg;

	(void)c;
	(void)errnum;
	CHECK(err == NULL);
	if (s == NULL) {
		whirl_loop_stop(loop);
		return;
	}
	*out = s;
	whirl_stream_write(s, request_text, strlen(request_text), NULL, NULL);
	whirl_stream_read_until_close(s, on_reply, NULL);
}

static void
on_guard(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	CHECK(!"timed out");
	whirl_loop_stop(loop);
}

/* Send one request (it should say Connection: close) to app; the whole
 * response, or "" on failure. */
static const char *
exchange(struct whirl_app *app, const char *request)
{
	struct whirl_stream *s = NULL;
	struct whirl_addr a;
	struct whirl_timer *guard;

	reply_len = 0;
	reply[0] = '\0';
	request_text = request;
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	whirl_addr_parse_literal("127.0.0.1", whirl_httpserver_port(srv),
	    AF_INET, &a);
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_connect, &s);
	whirl_loop_run(loop);
	whirl_stream_free(s);
	whirl_httpserver_free(srv);
	whirl_timer_free(guard);
	/* Late finishes and drains after the server went. */
	whirl_loop_run(loop);
	whirl_loop_free(loop);
	return reply;
}

/* The response without its Date line (which changes). */
static const char *
undated(const char *r)
{
	static char buf[65536];
	const char *d = strstr(r, "Date: ");
	const char *e = d != NULL ? strstr(d, "\r\n") : NULL;

	if (d == NULL || e == NULL)
		return r;
	snprintf(buf, sizeof(buf), "%.*s%s", (int)(d - r), r, e + 2);
	return buf;
}

static void
show_captures(struct whirl_handler *h, void *arg)
{
	size_t i, len;
	const char *c;

	(void)arg;
	whirl_handler_set_header(h, "Content-Type", "text/plain");
	whirl_handler_printf(h, "n=%zu", whirl_handler_ncaptures(h));
	for (i = 0; i <= whirl_handler_ncaptures(h) + 1; i++) {
		c = whirl_handler_capture(h, i, &len);
		whirl_handler_printf(h, " %zu=", i);
		if (c == NULL) {
			whirl_handler_printf(h, "(none)");
			continue;
		}
		whirl_handler_write(h, c, len);
		whirl_handler_printf(h, "/%zu", len);
		c = whirl_handler_capture_raw(h, i, &len);
		whirl_handler_printf(h, "[%.*s]", (int)len, c);
	}
	c = whirl_handler_capture_named(h, "name", &len);
	whirl_handler_printf(h, " name=%s", c != NULL ? c : "(none)");
	whirl_handler_finish(h);
}

#define CLOSE "\r\nConnection: close\r\n\r\n"

/* A routes file: comments, blank lines and leading blanks skipped,
 * trailing blanks kept; a bad line named by FILE:LINE with the route's
 * own reason, the routes before it kept; a missing file by errno. */
/* A response's body: what follows its head ("" without one). */
static const char *
body(const char *r)
{
	const char *b = strstr(r, "\r\n\r\n");

	return b != NULL ? b + 4 : "";
}

TEST(routes_file)
{
#define body_of(path) body(exchange(app, "GET " path " HTTP/1.1\r\nHost: x" \
	    CLOSE))
	char path[] = "/tmp/whirl-routes-XXXXXX", want[1024];
	struct whirl_app *app = whirl_app_new(), *scratch = whirl_app_new();
	FILE *f = fdopen(mkstemp(path), "w");

	fputs("# the site\n\n  \t# indented comment\n"
	    "  GET /a=text:A  \n/b=text:B\n", f);
	fclose(f);
	CHECK_EQ_INT(whirl_app_add_routes_file(app, path, NULL), 0);
	CHECK_EQ_STR(body_of("/a"), "A  ");
	CHECK_EQ_STR(body_of("/b"), "B");
	f = fopen(path, "w");
	fputs("/c=text:C\n/d=nope:x\n/e=text:E\n", f);
	fclose(f);
	CHECK_EQ_INT(whirl_app_add_route(scratch, "/d=nope:x", NULL), -1);
	snprintf(want, sizeof(want), "%s:2: %s", path, whirl_error());
	CHECK_EQ_INT(whirl_app_add_routes_file(app, path, NULL), -1);
	CHECK_EQ_STR(whirl_error(), want);
	CHECK_EQ_STR(body_of("/c"), "C");
	CHECK(strncmp(exchange(app, "GET /e HTTP/1.1\r\nHost: x" CLOSE),
	    "HTTP/1.1 404 ", 13) == 0);
	unlink(path);
	CHECK_EQ_INT(whirl_app_add_routes_file(app, path, NULL), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CHECK_EQ_STR(whirl_error(), want);
	CHECK_EQ_INT(whirl_error_errno(), ENOENT);
	whirl_app_free(scratch);
	whirl_app_free(app);
#undef body_of
}

/* TCP_NODELAY of this process's socket whose local (server) or remote
 * (client) port is `port` and that has a peer; -1 if there is none. */
static int
nodelay_of(int port, bool server)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, v;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (!server && whirl_addr_port((struct sockaddr *)&ss) != port)
			continue;
		if (server && whirl_fd_local_port(fd) != port)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == -1)
			return -1;
		return v != 0;
	}
	return -1;
}

static void
show_nodelay(struct whirl_handler *h, void *arg)
{
	int port = whirl_httpserver_port(srv);

	(void)arg;
	whirl_handler_printf(h, "server %d client %d",
	    nodelay_of(port, true), nodelay_of(port, false));
	whirl_handler_finish(h);
}

/* A head and a body in two sends must not wait for a delayed ACK: the
 * server's side of a connection has Nagle off (the client's, made by
 * whirl_tcp_connect here, is left as the kernel makes it). */
TEST(accepted_connections_have_nagle_off)
{
	struct whirl_app *app = whirl_app_new();
	const char *r;

	whirl_app_add(app, NULL, "/", show_nodelay, NULL);
	r = exchange(app, "GET / HTTP/1.1\r\nHost: x" CLOSE);
	CHECK(strstr(r, "\r\n\r\nserver 1 client 0") != NULL);
	whirl_app_free(app);
}

TEST(captures_are_percent_decoded_as_tornado_does)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_add(app, NULL, "/c/(?P<name>[^/]*)/([^/]*)(/x)?",
	    show_captures, NULL);
	whirl_app_add(app, NULL, "/lit", show_captures, NULL);
	CHECK_EQ_STR(undated(exchange(app,
	    "GET /c/a%20b%2Fc/%zz+%41?q=%20 HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 114\r\n\r\n"
	    "n=3 0=/c/a b/c/%zz+A/14[/c/a%20b%2Fc/%zz+%41] 1=a b/c/5"
	    "[a%20b%2Fc] 2=%zz+A/5[%zz+%41] 3=(none) 4=(none) name=a b/c");
	CHECK(strstr(exchange(app,
	    "GET /c/%00x/ HTTP/1.1\r\nHost: x" CLOSE),
	    " 1=\0x/2[%00x]") == NULL);
	CHECK(memmem(reply, reply_len, " 1=\0x/2[%00x]", 13) != NULL);
	CHECK(strstr(exchange(app, "GET /lit HTTP/1.1\r\nHost: x" CLOSE),
	    "\r\n\r\nn=0 0=/lit/4[/lit] 1=(none) name=(none)") != NULL);
	whirl_app_free(app);
}

static void
show_args(struct whirl_handler *h, void *arg)
{
	const char *n, *v;
	size_t i, len;

	(void)arg;
	for (i = 0; whirl_args_at(whirl_handler_query_args(h), i, &n, &v); i++)
		whirl_handler_printf(h, "q[%s=%s]", n, v);
	for (i = 0; whirl_args_at(whirl_handler_form_args(h), i, &n, &v); i++)
		whirl_handler_printf(h, "f[%s=%s]", n, v);
	whirl_handler_printf(h, " a=%s b=%s ip=%s %s %s %s body=%s/",
	    whirl_handler_query_arg(h, "a"), whirl_handler_form_arg(h, "b"),
	    whirl_handler_remote_ip(h), whirl_handler_method(h),
	    whirl_handler_path(h), whirl_handler_uri(h),
	    whirl_handler_body(h, &len));
	whirl_handler_printf(h, "%zu ua=%s", len,
	    whirl_handler_header(h, "user-agent"));
	whirl_handler_finish(h);
}

TEST(query_and_form_arguments)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_add(app, "POST", "/f", show_args, NULL);
	CHECK(strstr(exchange(app, "POST /f?a=1+2&a=3&c HTTP/1.1\r\nHost: x\r\n"
	    "User-Agent: t\r\n"
	    "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
	    "Content-Length: 13\r\nConnection: close\r\n\r\nb=%C3%A9&b=x&"),
	    "\r\n\r\nq[a=1 2]q[a=3]q[c=]f[b=\xc3\xa9]f[b=x] a=1 2 b=\xc3\xa9 "
	    "ip=127.0.0.1 POST /f /f?a=1+2&a=3&c body=b=%C3%A9&b=x&/13 "
	    "ua=t") != NULL);
	/* Another body type has no form fields. */
	CHECK(strstr(exchange(app, "POST /f HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 3\r\n"
	    "Connection: close\r\n\r\nb=1"),
	    "\r\n\r\n a=(null) b=(null) ip=127.0.0.1 POST /f /f body=b=1/3 "
	    "ua=(null)") != NULL);
	whirl_app_free(app);
}

static void
headers_handler(struct whirl_handler *h, void *arg)
{
	(void)arg;
	CHECK_EQ_INT(whirl_handler_set_header(h, "X-Bad", "a\r\nX-Evil: 1"),
	    -1);
	CHECK_EQ_INT(whirl_handler_set_header(h, "X-Bad", "a\nb"), -1);
	CHECK_EQ_INT(whirl_handler_set_header(h, "X Bad", "a"), -1);
	CHECK_EQ_INT(whirl_handler_set_header(h, "Content-Length", "1"), -1);
	CHECK_EQ_INT(whirl_handler_set_header(h, "Transfer-Encoding", "x"),
	    -1);
	CHECK_EQ_INT(whirl_handler_add_header(h, "X-Two", "1"), 0);
	CHECK_EQ_INT(whirl_handler_add_header(h, "X-Two", "2"), 0);
	CHECK_EQ_INT(whirl_handler_set_header(h, "X-Gone", "1"), 0);
	whirl_handler_clear_header(h, "x-gone");
	CHECK_EQ_INT(whirl_handler_set_header(h, "Content-Type",
	    "text/plain"), 0);
	CHECK_EQ_STR(whirl_handler_response_header(h, "content-type"),
	    "text/plain");
	whirl_handler_set_status(h, 202);
	CHECK_EQ_INT(whirl_handler_get_status(h), 202);
	whirl_handler_write(h, "ok", 2);
	whirl_handler_finish(h);
}

TEST(response_headers_refuse_line_breaks_and_framing)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_set_header(app, "X-App", "every");
	whirl_app_set_header(app, "Content-Type", "text/x-app");
	whirl_app_add(app, NULL, "/h", headers_handler, NULL);
	CHECK_EQ_STR(undated(exchange(app, "GET /h HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 202 Accepted\r\n"
	    "X-Two: 1\r\nX-Two: 2\r\n"
	    "X-App: every\r\n"
	    "Content-Type: text/x-app\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 2\r\n\r\nok");
	whirl_app_free(app);
}

static void
chunks(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_write(h, "abc", 3);
	whirl_handler_flush(h);
	CHECK_EQ_INT(whirl_handler_set_header(h, "X-Late", "1"), -1);
	whirl_handler_write(h, "de", 2);
	whirl_handler_flush(h);
	whirl_handler_flush(h);
	whirl_handler_write(h, "f", 1);
	whirl_handler_finish(h);
}

TEST(flush_streams_chunks)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_add(app, NULL, "/s", chunks, NULL);
	CHECK_EQ_STR(undated(exchange(app, "GET /s HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n");
	whirl_app_free(app);
}

static void
late_finish(struct whirl_timer *t, void *arg)
{
	struct whirl_handler *h = arg;

	whirl_timer_free(t);
	whirl_handler_printf(h, "later");
	whirl_handler_finish(h);
}

static void
later(struct whirl_handler *h, void *arg)
{
	struct whirl_timer *t = whirl_timer_new(
	    whirl_request_loop(whirl_handler_request(h)), late_finish, h);

	(void)arg;
	whirl_timer_start(t, 20, false);
}

static void
errors(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_write(h, "dropped", 7);
	whirl_handler_set_header(h, "Retry-After", "5");
	whirl_handler_send_error(h, 503);
}

static void
redirects(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_redirect(h, whirl_handler_query_arg(h, "to"), 0);
}

TEST(late_answers_errors_and_redirects)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_add(app, NULL, "/later", later, NULL);
	whirl_app_add(app, NULL, "/err", errors, NULL);
	whirl_app_add(app, NULL, "/go", redirects, NULL);
	CHECK(strstr(exchange(app, "GET /later HTTP/1.1\r\nHost: x" CLOSE),
	    "Content-Length: 5\r\n\r\nlater") != NULL);
	CHECK_EQ_STR(undated(exchange(app, "GET /err HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: 5\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 89\r\n\r\n"
	    "<html><title>503: Service Unavailable</title><body>503: Service "
	    "Unavailable</body></html>");
	CHECK(strstr(exchange(app, "GET /go?to=/x%3Fy HTTP/1.1\r\nHost: x" CLOSE),
	    "HTTP/1.1 302 Found\r\n") == reply);
	CHECK(strstr(reply, "\r\nLocation: /x?y\r\n") != NULL);
	/* A location with a line break never reaches the wire. */
	CHECK(strstr(exchange(app, "GET /go?to=/x%0D%0AX-Evil:%201 HTTP/1.1"
	    "\r\nHost: x" CLOSE), "HTTP/1.1 500 Internal Server Error\r\n") == reply);
	CHECK(strstr(reply, "X-Evil") == NULL);
	whirl_app_free(app);
}

TEST(error_pages_for_no_route_and_wrong_method)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_add_route(app, "GET,PUT /x=text:x", NULL);
	whirl_app_set_header(app, "X-Every", "1");
	CHECK_EQ_STR(undated(exchange(app,
	    "GET /%3Cscript%3E HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "X-Every: 1\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 69\r\n\r\n"
	    "<html><title>404: Not Found</title><body>404: Not Found</body>"
	    "</html>");
	CHECK_EQ_STR(undated(exchange(app, "DELETE /x HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Allow: GET, HEAD, PUT\r\n"
	    "X-Every: 1\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 87\r\n\r\n"
	    "<html><title>405: Method Not Allowed</title><body>405: Method "
	    "Not Allowed</body></html>");
	whirl_app_free(app);
}

static char logbuf[4096];

/* The access log's lines for one exchange, read back from a file. */
static const char *
logged(struct whirl_app *app, const char *request)
{
	FILE *f = tmpfile();
	size_t n;

	whirl_log_set_access_fd(fileno(f));
	exchange(app, request);
	whirl_log_set_access_fd(-1);
	rewind(f);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
	logbuf[n] = '\0';
	fclose(f);
	return logbuf;
}

static time_t
fixed_clock(void)
{
	return 1795867200;      /* 2026-11-28 */
}

TEST(access_log_lines)
{
	struct whirl_app *app = whirl_app_new();
	const char *l;
	char want[256];
	struct tm tm;
	time_t t = fixed_clock();

	whirl_app_add_route(app, "/x=text:hi", NULL);
	whirl_log_set_clock(fixed_clock);
	localtime_r(&t, &tm);
	l = logged(app, "GET /x?a=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"a" CLOSE);
	snprintf(want, sizeof(want), "[I %02d%02d%02d %02d:%02d:%02d "
	    "web:2239] 200 GET /x?a=1 (127.0.0.1) ", tm.tm_year % 100,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	CHECK(strncmp(l, want, strlen(want)) == 0);
	CHECK(strcmp(l + strlen(l) - 3, "ms\n") == 0);
	l = logged(app, "GET /nope HTTP/1.1\r\nHost: x" CLOSE);
	CHECK(strstr(l, "web:2239] 404 GET /nope (127.0.0.1) ") != NULL);
	CHECK(l[1] == 'W');
	whirl_app_set_log_format(app, WHIRL_ACCESS_COMBINED);
	l = logged(app, "GET /x?a=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"a" CLOSE);
	CHECK(strncmp(l, "127.0.0.1 - - [", 15) == 0);
	CHECK(strstr(l, "] \"GET /x?a=1 HTTP/1.1\" 200 2 \"-\" \"t\\x22a\"\n")
	    != NULL);
	whirl_app_set_log_format(app, WHIRL_ACCESS_JSON);
	l = logged(app, "HEAD /x HTTP/1.1\r\nHost: x\r\nReferer: r" CLOSE);
	CHECK(strncmp(l, "{\"time\":\"", 9) == 0);
	CHECK(strstr(l, "\",\"remote_ip\":\"127.0.0.1\",\"method\":\"HEAD\","
	    "\"uri\":\"/x\",\"version\":\"HTTP/1.1\",\"status\":200,"
	    "\"bytes\":0,\"duration_ms\":") != NULL);
	CHECK(strstr(l, ",\"referer\":\"r\",\"user_agent\":null}\n") != NULL);
	whirl_log_set_clock(NULL);
	whirl_app_free(app);
}

static void
big_stream(struct whirl_handler *h, void *arg)
{
	static char block[1000];

	(void)arg;
	memset(block, 'z', sizeof(block));
	whirl_handler_set_header(h, "Content-Type", "text/plain");
	whirl_handler_write(h, block, sizeof(block));
	whirl_handler_write(h, block, sizeof(block));
	whirl_handler_finish(h);
}

TEST(gzip_when_accepted_and_large_enough)
{
	struct whirl_app *app = whirl_app_new();

	whirl_app_set_gzip(app, true);
	whirl_app_add(app, NULL, "/b", big_stream, NULL);
	whirl_app_add_route(app, "/small=text:hi", NULL);
	exchange(app, "GET /b HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br, gzip" CLOSE);
	CHECK(strstr(reply, "\r\nContent-Encoding: gzip\r\n") != NULL);
	CHECK(strstr(reply, "\r\nVary: Accept-Encoding\r\n") != NULL);
	CHECK(strstr(reply, "\r\n\r\n\x1f\x8b") != NULL);
	exchange(app, "GET /b HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0" CLOSE);
	CHECK(strstr(reply, "Content-Encoding") == NULL);
	CHECK(strstr(reply, "\r\nContent-Length: 2000\r\n") != NULL);
	exchange(app, "GET /small HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip" CLOSE);
	CHECK(strstr(reply, "Content-Encoding") == NULL);
	CHECK(strstr(reply, "\r\nVary: Accept-Encoding\r\n") != NULL);
	whirl_app_free(app);
}

static int closed_seen;

static void
on_client_gone(struct whirl_handler *h, void *arg)
{
	(void)arg;
	closed_seen++;
	CHECK(whirl_handler_connection_closed(h));
	/* Finishing after the close is allowed, and required. */
	whirl_handler_printf(h, "nobody hears this");
	whirl_handler_finish(h);
	whirl_loop_stop(loop);
}

static void
wait_for_close(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_set_close_cb(h, on_client_gone, NULL);
}

static void
sent_then_close(struct whirl_stream *s, const char *err, void *arg)
{
	(void)err;
	(void)arg;
	whirl_stream_close(s);
}

static void
on_connect_close(struct whirl_connect *c, struct whirl_stream *s,
    int errnum, const char *err, void *arg)
{
	struct whirl_stream **out = arg;

	(void)c;
	(void)errnum;
	(void)err;
	*out = s;
	if (s != NULL)
		whirl_stream_write(s, request_text, strlen(request_text),
		    sent_then_close, NULL);
}

TEST(client_gone_before_the_answer)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_stream *s = NULL;
	struct whirl_addr a;
	struct whirl_timer *guard;

	whirl_app_add(app, NULL, "/wait", wait_for_close, NULL);
	request_text = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
	closed_seen = 0;
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	whirl_addr_parse_literal("127.0.0.1", whirl_httpserver_port(srv),
	    AF_INET, &a);
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_connect_close, &s);
	whirl_loop_run(loop);
	CHECK_EQ_INT(closed_seen, 1);
	whirl_stream_free(s);
	whirl_httpserver_free(srv);
	whirl_timer_free(guard);
	whirl_loop_run(loop);
	whirl_loop_free(loop);
	whirl_app_free(app);
}

/*
 * WebSocket routes, driven by our own client role.
 */

struct wsclient {
	struct whirl_ws *ws;
	char got[8192];                 /* messages, '|' between them */
	int code;                       /* close code; 0 while open */
	char reason[64];
};

static int ws_events;
static bool ws_timed_out;

static void
wsc_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	struct wsclient *c = arg;
	size_t n = strlen(c->got);

	(void)ws;
	snprintf(c->got + n, sizeof(c->got) - n, "%s%s%.*s", n > 0 ? "|" : "",
	    binary ? "b:" : "", (int)len, data);
	ws_events++;
	whirl_loop_stop(loop);
}

static void
wsc_close(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	struct wsclient *c = arg;

	c->code = code;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	whirl_ws_free(ws);
	c->ws = NULL;
	ws_events++;
	whirl_loop_stop(loop);
}

static const struct whirl_ws_handler wsc_handler = {
	.message = wsc_message, .close = wsc_close
};

static void
wsc_connected(struct whirl_ws_connecting *cn, struct whirl_ws *ws,
    int status, const char *protocol, const char *err, void *arg)
{
	struct wsclient *c = arg;

	(void)cn;
	(void)protocol;
	c->ws = ws;
	if (ws == NULL) {
		printf("# connect: %d %s\n", status, err);
		c->code = -status;
	}
	ws_events++;
	whirl_loop_stop(loop);
}

static void
ws_guard(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ws_timed_out = true;
	whirl_loop_stop(loop);
}

/* Run the loop until n more client events (or the guard). */
static void
ws_wait(int n)
{
	int want = ws_events + n;

	while (ws_events < want && !ws_timed_out)
		whirl_loop_run(loop);
	CHECK(!ws_timed_out);
}

static void
wsc_open(struct wsclient *c, const char *path, bool deflate)
{
	struct whirl_ws_connect_opts o = { .deflate = deflate,
		.timeout_ms = 10000 };
	char url[128];

	memset(c, 0, sizeof(*c));
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s",
	    whirl_httpserver_port(srv), path);
	CHECK(whirl_ws_connect(loop, url, &o, &wsc_handler, c, wsc_connected,
	    c) != NULL);
}

static int idle_calls;

/* The app's idle callback: nothing in flight, so the test goes on. */
static void
on_idle_stop(struct whirl_app *app, void *arg)
{
	(void)arg;
	idle_calls++;
	CHECK_EQ_INT(whirl_app_websockets(app), 0);
	CHECK_EQ_INT(whirl_app_pending(app), 0);
	CHECK(whirl_app_idle(app));
	whirl_loop_stop(loop);
}

/* Run until the app says it is idle (or a guard stops the loop). */
static void
until_idle(struct whirl_app *app)
{
	idle_calls = 0;
	whirl_app_set_idle_cb(app, loop, on_idle_stop, NULL);
	whirl_loop_run(loop);
	whirl_app_set_idle_cb(app, loop, NULL, NULL);
	CHECK_EQ_INT(idle_calls, 1);
}

TEST(websocket_routes_echo_exec_broadcast_and_going_away)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_timer *guard;
	struct wsclient e, x, b1, b2, bad;
	static char big[3000], want[3010];
	char allow[64];
	int st;

	whirl_app_add_route(app, "/echo=ws-echo:> ", NULL);
	whirl_app_add_route(app, "/run/(\\w+)=ws-exec:echo \"$1 $QUERY_STRING\";"
	    " read l; echo \"got $l\"", NULL);
	whirl_app_add_route(app, "/room=ws-broadcast", NULL);
	CHECK_EQ_INT(whirl_app_find(app, "POST", "/echo", &st, allow,
	    sizeof(allow)), -1);
	CHECK_EQ_INT(st, 405);
	CHECK_EQ_STR(allow, "GET, HEAD");
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	guard = whirl_timer_new(loop, ws_guard, NULL);
	whirl_timer_start(guard, 20000, false);
	ws_timed_out = false;

	/* Echo, with the prefix, plain and compressed. */
	wsc_open(&e, "/echo", true);
	ws_wait(1);
	CHECK(e.ws != NULL);
	whirl_ws_send(e.ws, false, "hi", 2);
	memset(big, 'z', sizeof(big));
	whirl_ws_send(e.ws, true, big, sizeof(big));
	ws_wait(2);
	snprintf(want, sizeof(want), "> hi|b:> %.*s", (int)sizeof(big), big);
	CHECK_EQ_STR(e.got, want);

	/* ws-exec: captures and query, a line in, a line out, exit: 1000. */
	wsc_open(&x, "/run/abc?q=1", false);
	ws_wait(2);
	CHECK_EQ_STR(x.got, "abc q=1");
	whirl_ws_send(x.ws, false, "line", 4);
	ws_wait(2);
	CHECK_EQ_STR(x.got, "abc q=1|got line");
	CHECK_EQ_INT(x.code, 1000);

	/* Broadcast: to everyone, the sender too. */
	wsc_open(&b1, "/room", false);
	wsc_open(&b2, "/room", false);
	ws_wait(2);
	CHECK(b1.ws != NULL && b2.ws != NULL);
	whirl_ws_send(b1.ws, false, "to all", 6);
	ws_wait(2);
	CHECK_EQ_STR(b1.got, "to all");
	CHECK_EQ_STR(b2.got, "to all");

	/* A refused handshake is no WebSocket. */
	wsc_open(&bad, "/nope", false);
	ws_wait(1);
	CHECK_EQ_INT(bad.code, -404);

	/* Going away: every open one gets 1001 and is gone. */
	CHECK_EQ_INT(whirl_app_websockets(app), 3);
	CHECK(!whirl_app_idle(app));
	whirl_app_close_websockets(app, WHIRL_WS_GOING_AWAY, "bye");
	ws_wait(3);
	CHECK_EQ_INT(e.code, 1001);
	CHECK_EQ_STR(e.reason, "bye");
	CHECK_EQ_INT(b1.code, 1001);
	CHECK_EQ_INT(b2.code, 1001);
	until_idle(app);
	CHECK_EQ_INT(whirl_app_websockets(app), 0);

	whirl_timer_free(guard);
	whirl_httpserver_free(srv);
	whirl_loop_run(loop);
	whirl_app_free(app);
	whirl_loop_free(loop);
}

/* The client leaving ends its program; dropping needs no handshake. */
TEST(websocket_exec_killed_when_the_client_leaves)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_timer *guard;
	struct wsclient x, e;

	whirl_app_add_route(app, "/run=ws-exec:echo ready; exec sleep 60",
	    NULL);
	whirl_app_add_route(app, "/echo=ws-echo", NULL);
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	guard = whirl_timer_new(loop, ws_guard, NULL);
	whirl_timer_start(guard, 20000, false);
	ws_timed_out = false;
	wsc_open(&x, "/run", false);
	ws_wait(2);
	CHECK_EQ_STR(x.got, "ready");
	whirl_ws_close(x.ws, 1000, "");
	ws_wait(1);
	CHECK_EQ_INT(x.code, 1000);
	until_idle(app);
	CHECK_EQ_INT(whirl_app_websockets(app), 0);

	wsc_open(&e, "/echo", false);
	ws_wait(1);
	CHECK_EQ_INT(whirl_app_websockets(app), 1);
	whirl_app_drop_websockets(app);
	CHECK_EQ_INT(whirl_app_websockets(app), 0);
	ws_wait(1);
	CHECK_EQ_INT(e.code, 1006);

	whirl_timer_free(guard);
	whirl_httpserver_free(srv);
	whirl_loop_run(loop);
	whirl_app_free(app);
	whirl_loop_free(loop);
}

/* A chunked body decoded into buf; *ended: its last chunk came. */
static const char *
dechunk(const char *r, bool *ended)
{
	static char buf[4096];
	const char *p = strstr(r, "\r\n\r\n");
	size_t used = 0;
	long n;
	char *end;

	*ended = false;
	buf[0] = '\0';
	if (p == NULL)
		return buf;
	for (p += 4; *p != '\0'; p = end + 2 + n + 2) {
		n = strtol(p, &end, 16);
		if (end == p || strncmp(end, "\r\n", 2) != 0 ||
		    used + (size_t)n >= sizeof(buf) ||
		    strlen(end + 2) < (size_t)n + 2)
			break;
		if (n == 0) {
			*ended = true;
			break;
		}
		memcpy(buf + used, end + 2, (size_t)n);
		buf[used += (size_t)n] = '\0';
	}
	return buf;
}

#define STREAMED "HTTP/1.1 200 OK\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Server: whirl/" WHIRL_VERSION "\r\n" \
	"Connection: close\r\n" \
	"Transfer-Encoding: chunked\r\n\r\n"

#define PAGE502 "HTTP/1.1 502 Bad Gateway\r\n" \
	"Content-Type: text/html; charset=UTF-8\r\n" \
	"Server: whirl/" WHIRL_VERSION "\r\n" \
	"Connection: close\r\n" \
	"Content-Length: 73\r\n\r\n" \
	"<html><title>502: Bad Gateway</title><body>502: Bad Gateway" \
	"</body></html>"

TEST(exec_and_cgi_answer_by_their_program)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_route_opts o = { .exec_timeout_ms = 300 };
	enum whirl_log_level level = whirl_log_get_level();
	bool ended;

	whirl_log_set_level(WHIRL_LOG_OFF);
	whirl_app_add_route(app, "/e/(?P<word>[^/]+)/(x)?=exec:printf "
	    "'%s %s [%s] %s|' \"$1\" \"$CAPTURE_word\" \"$2\" $#; cat", &o);
	whirl_app_add_route(app, "/part=exec:printf partial; exit 3", &o);
	whirl_app_add_route(app, "/early=exec:printf oops >&2; exit 4", &o);
	whirl_app_add_route(app, "/none=exec:true", &o);
	whirl_app_add_route(app, "/slow=exec:exec sleep 30", &o);
	whirl_app_add_route(app, "/cgi=cgi:printf 'Status: 201\\nX-A: 1\\n"
	    "\\nmade'", &o);
	whirl_app_add_route(app, "/bad=cgi:printf 'X-A: a\\rb\\n\\nbody'", &o);

	exchange(app, "POST /e/a%20b/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nin");
	CHECK(strncmp(undated(reply), STREAMED, strlen(STREAMED)) == 0);
	CHECK_EQ_STR(dechunk(reply, &ended), "a b a b [] 2|in");
	CHECK(ended);
	CHECK_EQ_INT(whirl_app_pending(app), 0);

	/* Output, then a failure: the body never ends. */
	exchange(app, "GET /part HTTP/1.1\r\nHost: x" CLOSE);
	CHECK(strncmp(undated(reply), STREAMED, strlen(STREAMED)) == 0);
	CHECK_EQ_STR(dechunk(reply, &ended), "partial");
	CHECK(!ended);

	CHECK_EQ_STR(undated(exchange(app, "GET /early HTTP/1.1\r\nHost: x" CLOSE)),
	    PAGE502);
	CHECK_EQ_STR(undated(exchange(app, "GET /none HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(strstr(exchange(app, "GET /slow HTTP/1.1\r\nHost: x" CLOSE),
	    "HTTP/1.1 504 Gateway Timeout\r\n") == reply);
	CHECK_EQ_INT(whirl_app_pending(app), 0);

	CHECK_EQ_STR(undated(exchange(app, "GET /cgi HTTP/1.1\r\nHost: x" CLOSE)),
	    "HTTP/1.1 201 Created\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "X-A: 1\r\n"
	    "Server: whirl/" WHIRL_VERSION "\r\n"
	    "Connection: close\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "4\r\nmade\r\n0\r\n\r\n");
	/* Nothing of a bad head is sent. */
	CHECK_EQ_STR(undated(exchange(app, "GET /bad HTTP/1.1\r\nHost: x" CLOSE)),
	    PAGE502);
	CHECK_EQ_INT(whirl_app_pending(app), 0);
	whirl_log_set_level(level);
	whirl_app_free(app);
}

/* Two clients at once: the first asks for a program that says
 * "started" and runs on; once it has, the second asks how much is
 * pending.  Each client's answer in its own buffer. */
struct pclient {
	const char *request;
	char got[1024];
	size_t len;
	struct whirl_stream *s;
	bool done;
};

static struct pclient pa, pb;

static void pclient_open(struct pclient *c);

static void
pclient_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct pclient *c = arg;

	(void)s;
	if (len > 0 && c->len + len < sizeof(c->got)) {
		memcpy(c->got + c->len, data, len);
		c->got[c->len += len] = '\0';
	}
	if (c == &pa && pb.request == NULL && strstr(pa.got, "started")) {
		pb.request = "GET /pending HTTP/1.1\r\nHost: x" CLOSE;
		pclient_open(&pb);
	}
	if (data == NULL || err != NULL) {
		c->done = true;
		if (pa.done && pb.done)
			whirl_loop_stop(loop);
	}
}

static void
pclient_connected(struct whirl_connect *cn, struct whirl_stream *s,
    int errnum, const char *err, void *arg)
{
	struct pclient *c = arg;

	(void)cn;
	(void)errnum;
	CHECK(err == NULL);
	if (s == NULL) {
		whirl_loop_stop(loop);
		return;
	}
	c->s = s;
	whirl_stream_write(s, c->request, strlen(c->request), NULL, NULL);
	whirl_stream_read_until_close(s, pclient_read, c);
}

static void
pclient_open(struct pclient *c)
{
	struct whirl_addr a;

	whirl_addr_parse_literal("127.0.0.1", whirl_httpserver_port(srv),
	    AF_INET, &a);
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    pclient_connected, c);
}

static void
show_pending(struct whirl_handler *h, void *arg)
{
	whirl_handler_printf(h, "pending %zu", whirl_app_pending(arg));
	whirl_handler_finish(h);
}

TEST(pending_counts_handlers_and_programs_in_flight)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_route_opts o = { .exec_timeout_ms = 500 };
	enum whirl_log_level level = whirl_log_get_level();
	struct whirl_timer *guard;

	whirl_log_set_level(WHIRL_LOG_OFF);
	whirl_app_add_route(app, "/run=exec:echo started; exec sleep 30", &o);
	whirl_app_add(app, NULL, "/pending", show_pending, app);
	CHECK_EQ_INT(whirl_app_pending(app), 0);
	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
	pa.request = "GET /run HTTP/1.1\r\nHost: x" CLOSE;
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	pclient_open(&pa);
	whirl_loop_run(loop);
	/* /run's handler and program, and /pending's own handler. */
	CHECK(strstr(pb.got, "\r\n\r\npending 3") != NULL);
	CHECK(strstr(pa.got, "started") != NULL);
	whirl_stream_free(pa.s);
	whirl_stream_free(pb.s);
	whirl_httpserver_free(srv);
	whirl_timer_free(guard);
	whirl_loop_run(loop);           /* until the program is reaped */
	CHECK_EQ_INT(whirl_app_pending(app), 0);
	whirl_loop_free(loop);
	whirl_log_set_level(level);
	whirl_app_free(app);
}

/* Idle comes once the last handler has finished and the last program
 * has ended, not before. */
static void
ignore_reply(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)s;
	(void)data;
	(void)len;
	(void)err;
	(void)arg;
}

static void
on_client(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct whirl_stream **out = arg;

	(void)c;
	(void)errnum;
	CHECK(err == NULL && s != NULL);
	*out = s;
	whirl_stream_write(s, request_text, strlen(request_text), NULL, NULL);
	whirl_stream_read_until_close(s, ignore_reply, NULL);
}

static void
hang_up(struct whirl_timer *t, void *arg)
{
	struct whirl_stream **s = arg;

	(void)t;
	whirl_stream_free(*s);
	*s = NULL;
}

/* Send request; with leave_ms, hang up that long after connecting. */
static void
ask_and_wait_until_idle(struct whirl_app *app, const char *request,
    uint64_t leave_ms)
{
	struct whirl_stream *s = NULL;
	struct whirl_timer *t = whirl_timer_new(loop, hang_up, &s);
	struct whirl_addr a;

	request_text = request;
	whirl_addr_parse_literal("127.0.0.1", whirl_httpserver_port(srv),
	    AF_INET, &a);
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_client, &s);
	if (leave_ms > 0)
		whirl_timer_start(t, leave_ms, false);
	until_idle(app);
	whirl_timer_free(t);
	whirl_stream_free(s);
}

TEST(idle_callback_once_handlers_and_programs_are_over)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_timer *guard;

	whirl_app_add(app, NULL, "/later", later, NULL);
	whirl_app_add_route(app, "/prog=exec:sleep 0.1; echo done", NULL);
	whirl_app_add_route(app, "/slow=exec:exec sleep 30", NULL);
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	ask_and_wait_until_idle(app, "GET /later HTTP/1.1\r\nHost: x" CLOSE,
	    0);
	ask_and_wait_until_idle(app, "GET /prog HTTP/1.1\r\nHost: x" CLOSE,
	    0);
	/* The client leaves: its handler is over at once, its program only
	 * once it has been stopped and reaped. */
	ask_and_wait_until_idle(app, "GET /slow HTTP/1.1\r\nHost: x" CLOSE,
	    100);
	whirl_timer_free(guard);
	whirl_httpserver_free(srv);
	whirl_loop_run(loop);
	whirl_app_free(app);
	whirl_loop_free(loop);
}

static int drained_calls;

static void
on_drained_stop(struct whirl_httpserver *s, void *arg)
{
	(void)arg;
	drained_calls++;
	CHECK_EQ_INT(whirl_httpserver_connections(s), 0);
	whirl_loop_stop(loop);
}

static void
stop_accepting_now(struct whirl_timer *t, void *arg)
{
	(void)t;
	whirl_httpserver_stop_accepting(arg);
}

/* A keep-alive request in flight when the server stops accepting: it is
 * answered, its connection closes, and then the server says it drained. */
TEST(server_tells_when_it_has_drained)
{
	struct whirl_app *app = whirl_app_new();
	struct whirl_timer *guard, *stop;
	struct whirl_stream *s = NULL;
	struct whirl_addr a;

	whirl_app_add(app, NULL, "/later", later, NULL);
	loop = whirl_loop_new();
	srv = whirl_httpserver_new(loop, NULL, whirl_app_handle, app);
	CHECK(whirl_httpserver_listen(srv, "127.0.0.1", 0, AF_INET, 0) > 0);
	whirl_httpserver_set_drained_cb(srv, on_drained_stop, NULL);
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	stop = whirl_timer_new(loop, stop_accepting_now, srv);
	whirl_timer_start(stop, 5, false);
	request_text = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n";
	whirl_addr_parse_literal("127.0.0.1", whirl_httpserver_port(srv),
	    AF_INET, &a);
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, NULL,
	    on_client, &s);
	drained_calls = 0;
	whirl_loop_run(loop);
	CHECK_EQ_INT(drained_calls, 1);
	whirl_stream_free(s);
	whirl_timer_free(stop);
	whirl_timer_free(guard);
	whirl_httpserver_free(srv);
	whirl_loop_run(loop);
	whirl_app_free(app);
	whirl_loop_free(loop);
}

int
main(void)
{
	/* Only access_log_lines reads the access log. */
	whirl_log_set_access_fd(-1);
	RUN(route_strings_split);
	RUN(route_strings_refused_with_the_route_shown);
	RUN(cgi_head_ends_at_the_first_blank_line);
	RUN(cgi_heads_parsed_and_refused);
	RUN(add_route_checks_patterns_groups_and_dirs);
	RUN(routes_are_tried_in_order_anchored_on_the_raw_path);
	RUN(redirect_templates);
	RUN(static_paths_never_leave_the_root);
	RUN(content_types_by_extension);
	RUN(captures_are_percent_decoded_as_tornado_does);
	RUN(query_and_form_arguments);
	RUN(response_headers_refuse_line_breaks_and_framing);
	RUN(flush_streams_chunks);
	RUN(late_answers_errors_and_redirects);
	RUN(error_pages_for_no_route_and_wrong_method);
	RUN(access_log_lines);
	RUN(gzip_when_accepted_and_large_enough);
	RUN(client_gone_before_the_answer);
	RUN(routes_file);
	RUN(accepted_connections_have_nagle_off);
	RUN(websocket_routes_echo_exec_broadcast_and_going_away);
	RUN(websocket_exec_killed_when_the_client_leaves);
	RUN(exec_and_cgi_answer_by_their_program);
	RUN(pending_counts_handlers_and_programs_in_flight);
	RUN(idle_callback_once_handlers_and_programs_are_over);
	RUN(server_tells_when_it_has_drained);
	return unit_done();
}
