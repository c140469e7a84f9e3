/* test_httpclient.c - the HTTP client: responses fed whole, byte by byte
 * and in random splits; relative Locations; cookie jars; and fetches
 * against an in-process whirl_httpserver (pooling, limits, bodies,
 * redirects across hosts, cookies, timeouts, cancelling, TLS, proxies). */
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "whirl.h"
#include "httpclient.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct whirl_loop *loop;
static struct whirl_timer *guard;
static bool hung;
static char certdir[] = "/tmp/whirl-httpclient-XXXXXX";

static void
guard_fired(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	hung = true;
	whirl_loop_stop(loop);
}

static void
setup(void)
{
	loop = whirl_loop_new();
	guard = whirl_timer_new(loop, guard_fired, NULL);
	whirl_timer_start(guard, 10000, false);
	hung = false;
}

static void
teardown(void)
{
	CHECK(!hung);
	whirl_timer_free(guard);
	whirl_loop_free(loop);
}

/*
 * What a fetch saw, as text.
 */

struct story {
	char text[16384];
	size_t len;
	int head_rc;            /* what head returns */
	int heads, dones;
	bool cancel_in_body;
	struct whirl_http_response r;   /* done's, strings not kept */
	char url[256], redirect[256];
	int *pending;           /* the loop stops when it reaches 0 */
};

static void __attribute__((format(printf, 2, 3)))
say(struct story *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st->len += (size_t)vsnprintf(st->text + st->len,
	    sizeof(st->text) - st->len, fmt, ap);
	va_end(ap);
	if (st->len >= sizeof(st->text))
		st->len = sizeof(st->text) - 1;
}

static int
s_head(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	struct story *st = arg;
	const char *n, *v;
	size_t i, shown = 0;

	(void)f;
	st->heads++;
	say(st, "H%d %s%s [", r->code, r->reason,
	    r->redirecting ? " (redirect)" : "");
	for (i = 0; whirl_headers_at(r->headers, i, &n, &v); i++)
		if (strcasecmp(n, "Date") != 0 && strcasecmp(n, "Server") != 0)
			say(st, "%s%s=%s", shown++ ? "|" : "", n, v);
	say(st, "]\n");
	return st->head_rc;
}

static int
s_body(struct whirl_fetch *f, const char *data, size_t len, void *arg)
{
	struct story *st = arg;

	if (st->cancel_in_body) {
		whirl_fetch_cancel(f);
		if (--*st->pending == 0)
			whirl_loop_stop(loop);
		return 0;
	}
	say(st, "%.*s", (int)len, data);
	return 0;
}

static const char *
errname(enum whirl_fetch_error e)
{
	static const char *const names[] = {
		"OK", "UNSUPPORTED", "BAD_URL", "PROXY_RESOLVE", "RESOLVE",
		"CONNECT", "WEIRD_REPLY", "PARTIAL", "READ", "TIMEOUT", "TLS",
		"TOO_MANY_REDIRECTS", "EMPTY_REPLY", "SEND", "RECV", "CERT",
		"DECODE", "TOO_LARGE", "REWIND", "ABORTED"
	};

	return (size_t)e < ARRAY_LEN(names) ? names[e] : "?";
}

static void
s_done(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	struct story *st = arg;

	(void)f;
	st->dones++;
	st->r = *r;
	snprintf(st->url, sizeof(st->url), "%s", r->url);
	snprintf(st->redirect, sizeof(st->redirect), "%s",
	    r->redirect_url != NULL ? r->redirect_url : "");
	say(st, "%sD %s", st->len > 0 && st->text[st->len - 1] != '\n' ?
	    "\n" : "", errname(r->error));
	if (r->error != WHIRL_FETCH_OK)
		say(st, " %s", r->error_msg);
	say(st, "\n");
	if (r->body != NULL)
		say(st, "body:%.*s\n", (int)r->body_len, r->body);
	if (st->pending != NULL && --*st->pending == 0)
		whirl_loop_stop(loop);
}

/* Fetch req and run the loop until done. */
static void
fetch_run(struct whirl_httpclient *c, struct whirl_http_request *req,
    struct story *st)
{
	int pending = 1;

	st->pending = &pending;
	if (req->head_cb == NULL)
		req->head_cb = s_head;
	if (req->body_cb == NULL)
		req->body_cb = s_body;
	whirl_httpclient_fetch(c, req, s_done, st);
	whirl_loop_run(loop);
	st->pending = NULL;
}

/*
 * A scripted server: for each request on a connection, the next canned
 * answer, written whole, a byte per loop turn, or in random pieces.
 */

struct canned {
	const char *text;
	size_t len;             /* 0: strlen */
	bool close;             /* close the connection after it */
};

enum split { WHOLE, BYTES, RANDOM };

struct script {
	struct whirl_tcpserver *srv;
	int port;
	const struct canned *answers;
	size_t nanswers, next;
	enum split split;
	unsigned seed;
	int conns, live;
	char seen[4096];        /* request heads received */
	size_t seen_len;
	bool stopping;
};

struct rconn {
	struct script *sc;
	struct whirl_stream *s;
	struct whirl_timer *t;
	const struct canned *a;
	size_t off;
};

static void rconn_read(struct rconn *rc);

static void
rconn_free(struct rconn *rc)
{
	if (--rc->sc->live == 0 && rc->sc->stopping)
		whirl_loop_stop(loop);
	whirl_timer_free(rc->t);
	whirl_stream_free(rc->s);
	free(rc);
}

static void
rconn_written(struct whirl_stream *s, const char *err, void *arg)
{
	struct rconn *rc = arg;

	(void)s;
	if (err != NULL || rc->a->close)
		rconn_free(rc);
	else
		rconn_read(rc);
}

/* The next piece of the answer, or the end of it. */
static void
rconn_piece(struct whirl_timer *t, void *arg)
{
	struct rconn *rc = arg;
	size_t len = rc->a->len ? rc->a->len : strlen(rc->a->text), n;

	(void)t;
	n = len - rc->off;
	if (rc->sc->split == BYTES && n > 1)
		n = 1;
	else if (rc->sc->split == RANDOM && n > 1)
		n = 1 + (size_t)rand_r(&rc->sc->seed) % (n < 17 ? n : 17);
	if (n > 0 && whirl_stream_write(rc->s, rc->a->text + rc->off, n,
	    NULL, NULL) == -1) {
		rconn_free(rc);         /* the client left early */
		return;
	}
	rc->off += n;
	if (rc->off < len) {
		whirl_timer_start(rc->t, 0, false);
		return;
	}
	if (whirl_stream_write(rc->s, NULL, 0, rconn_written, rc) == -1)
		rconn_free(rc);
}

static void
rconn_request(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct rconn *rc = arg;
	struct script *sc = rc->sc;

	(void)s;
	if (err != NULL) {
		rconn_free(rc);
		return;
	}
	if (sc->seen_len + len < sizeof(sc->seen)) {
		memcpy(sc->seen + sc->seen_len, data, len);
		sc->seen_len += len;
		sc->seen[sc->seen_len] = '\0';
	}
	if (sc->next >= sc->nanswers) {
		rconn_free(rc);
		return;
	}
	rc->a = &sc->answers[sc->next++];
	rc->off = 0;
	rconn_piece(rc->t, rc);
}

static void
rconn_read(struct rconn *rc)
{
	whirl_stream_read_until(rc->s, "\r\n\r\n", 4, 65536, rconn_request,
	    rc);
}

static void
script_accept(struct whirl_tcpserver *srv, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t len, void *arg)
{
	struct rconn *rc = calloc(1, sizeof(*rc));

	(void)srv;
	(void)peer;
	(void)len;
	rc->sc = arg;
	rc->s = s;
	rc->t = whirl_timer_new(loop, rconn_piece, rc);
	rc->sc->conns++;
	rc->sc->live++;
	rconn_read(rc);
}

static void
script_start(struct script *sc, const struct canned *answers, size_t n,
    enum split split)
{
	struct whirl_addr a;

	memset(sc, 0, sizeof(*sc));
	sc->answers = answers;
	sc->nanswers = n;
	sc->split = split;
	sc->seed = 7;
	sc->srv = whirl_tcpserver_new(loop, 0, script_accept, sc);
	CHECK(whirl_tcpserver_listen(sc->srv, "127.0.0.1", 0, AF_INET,
	    16, 0) == 1);
	whirl_tcpserver_local_addr(sc->srv, 0, &a);
	sc->port = whirl_addr_port((struct sockaddr *)&a.ss);
}

/* Stop listening and wait until every connection has seen its client
 * go. */
static void
script_stop(struct script *sc)
{
	whirl_tcpserver_free(sc->srv);
	sc->stopping = true;
	if (sc->live > 0)
		whirl_loop_run(loop);
}

/*
 * Responses: each case fed whole, byte by byte and in random splits must
 * tell the same story.
 */

static char gz[128];
static size_t gz_len;

static void
make_gzip(void)
{
	static const char text[] = "hello, gzip world\n";
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)text;
	z.avail_in = sizeof(text) - 1;
	z.next_out = (unsigned char *)gz;
	z.avail_out = sizeof(gz);
	deflate(&z, Z_FINISH);
	gz_len = sizeof(gz) - z.avail_out;
	deflateEnd(&z);
}

struct pcase {
	const char *name;
	const char *method;
	const char *path;
	bool follow;
	struct canned answers[3];
	const char *want;
	const char *want_seen;          /* request lines, or NULL */
	int want_connects;
};

static char gz_answer[512], gz_want[256];

static struct pcase pcases[] = {
	{ "length", "GET", "/", false,
	  { { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" } },
	  "H200 OK [Content-Length=5]\nhello\nD OK\n", NULL, 1 },
	{ "chunked", "GET", "/", false,
	  { { "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n" } },
	  "H201 Created [Transfer-Encoding=chunked]\nhello, world\nD OK\n",
	  NULL, 1 },
	{ "close delimited", "GET", "/", false,
	  { { "HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil the close", 0,
	      true } },
	  "H200 OK [X-A=b]\nuntil the close\nD OK\n", NULL, 1 },
	{ "100 continue skipped", "GET", "/", false,
	  { { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
	      "Content-Length: 2\r\n\r\nok" } },
	  "H100 Continue []\nH200 OK [Content-Length=2]\nok\nD OK\n", NULL,
	  1 },
	{ "204 without a body", "GET", "/", true,
	  { { "HTTP/1.1 204 No Content\r\n\r\n" } },
	  "H204 No Content []\nD OK\n", NULL, 1 },
	{ "304 announcing a length", "GET", "/", false,
	  { { "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n" } },
	  "H304 Not Modified [Content-Length=9]\nD OK\n", NULL, 1 },
	{ "HEAD with a length", "HEAD", "/", false,
	  { { "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" } },
	  "H200 OK [Content-Length=1000]\nD OK\n", NULL, 1 },
	{ "relative redirect on the same connection", "GET", "/a/b/c", true,
	  { { "HTTP/1.1 302 Found\r\nLocation: ../x?y=1\r\n"
	      "Content-Length: 4\r\n\r\nmove" },
	    { "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhere" } },
	  "H302 Found (redirect) [Location=../x?y=1|Content-Length=4]\n"
	  "H200 OK [Content-Length=4]\nhere\nD OK\n",
	  "GET /a/b/c HTTP/1.1|GET /a/x?y=1 HTTP/1.1|", 1 },
	{ "redirect on a closed connection", "GET", "/", true,
	  { { "HTTP/1.1 301 Moved\r\nLocation: /new\r\nConnection: close"
	      "\r\n\r\n", 0, true },
	    { "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew" } },
	  "H301 Moved (redirect) [Location=/new|Connection=close]\n"
	  "H200 OK [Content-Length=3]\nnew\nD OK\n",
	  "GET / HTTP/1.1|GET /new HTTP/1.1|", 2 },
	{ "empty reply", "GET", "/", false,
	  { { "", 0, true } },
	  "D EMPTY_REPLY Empty reply from server\n", NULL, 1 },
	{ "cut short", "GET", "/", false,
	  { { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0,
	      true } },
	  "H200 OK [Content-Length=10]\nabc\n"
	  "D PARTIAL transfer closed with 7 bytes remaining to read\n", NULL, 1 },
	{ "not HTTP", "GET", "/", false,
	  { { "SSH-2.0-OpenSSH\r\n\r\n", 0, true } },
	  "D UNSUPPORTED Received HTTP/0.9 when not allowed\n", NULL, 1 },
	{ "gzip", "GET", "/", false,
	  { { gz_answer } },
	  gz_want, NULL, 1 },
};

static void
run_pcase(const struct pcase *pc, enum split split)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct script sc;
	struct story st;
	char url[128], seen[512];
	size_t i, n = 0, j;

	setup();
	for (i = 0; i < 3 && pc->answers[i].text != NULL; i++)
		n++;
	script_start(&sc, pc->answers, n, split);
	c = whirl_httpclient_new(loop, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sc.port,
	    pc->path);
	whirl_http_request_init(&rq, url);
	rq.method = pc->method;
	rq.follow_redirects = pc->follow;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	if (strcmp(st.text, pc->want) != 0 || hung)
		printf("# %s (split %d): got\n# %s", pc->name, (int)split,
		    st.text);
	CHECK_EQ_STR(st.text, pc->want);
	CHECK_EQ_INT(st.dones, 1);
	CHECK_EQ_INT(st.r.num_connects, pc->want_connects);
	if (pc->want_seen != NULL) {
		/* The request lines only. */
		for (i = j = 0; sc.seen[i] != '\0' && j < sizeof(seen) - 2;
		    i++) {
			if (strncmp(sc.seen + i, "GET ", 4) != 0 ||
			    (i > 0 && sc.seen[i - 1] != '\n'))
				continue;
			while (sc.seen[i] != '\r' && j < sizeof(seen) - 2)
				seen[j++] = sc.seen[i++];
			seen[j++] = '|';
		}
		seen[j] = '\0';
		CHECK_EQ_STR(seen, pc->want_seen);
	}
	whirl_httpclient_free(c);
	script_stop(&sc);
	if (hung)
		printf("# %s (split %d): the server's side never ended\n",
		    pc->name, (int)split);
	teardown();
}

TEST(responses_whole_bytewise_and_split)
{
	struct pcase *gzc = &pcases[ARRAY_LEN(pcases) - 1];
	size_t i, hl;
	int s;

	make_gzip();
	hl = (size_t)snprintf(gz_answer, sizeof(gz_answer), "HTTP/1.1 200 OK"
	    "\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
	    gz_len);
	memcpy(gz_answer + hl, gz, gz_len);
	gzc->answers[0].len = hl + gz_len;
	snprintf(gz_want, sizeof(gz_want), "H200 OK [Content-Encoding=gzip|"
	    "Content-Length=%zu]\nhello, gzip world\nD OK\n", gz_len);
	for (i = 0; i < ARRAY_LEN(pcases); i++)
		for (s = WHOLE; s <= RANDOM; s++)
			run_pcase(&pcases[i], (enum split)s);
}

/*
 * Relative Locations: RFC 3986 section 5.4, fragments dropped.
 */

TEST(url_join_rfc3986_examples)
{
	static const char base[] = "http://a/b/c/d;p?q";
	static const char *const t[][2] = {
		{ "g:h", "g:h" }, { "g", "http://a/b/c/g" },
		{ "./g", "http://a/b/c/g" }, { "g/", "http://a/b/c/g/" },
		{ "/g", "http://a/g" }, { "//g", "http://g" },
		{ "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" },
		{ "#s", "http://a/b/c/d;p?q" }, { "g#s", "http://a/b/c/g" },
		{ "g?y#s", "http://a/b/c/g?y" }, { ";x", "http://a/b/c/;x" },
		{ "g;x", "http://a/b/c/g;x" }, { "", "http://a/b/c/d;p?q" },
		{ ".", "http://a/b/c/" }, { "./", "http://a/b/c/" },
		{ "..", "http://a/b/" }, { "../", "http://a/b/" },
		{ "../g", "http://a/b/g" }, { "../..", "http://a/" },
		{ "../../", "http://a/" }, { "../../g", "http://a/g" },
		/* 5.4.2, abnormal */
		{ "../../../g", "http://a/g" }, { "../../../../g", "http://a/g" },
		{ "/./g", "http://a/g" }, { "/../g", "http://a/g" },
		{ "g.", "http://a/b/c/g." }, { ".g", "http://a/b/c/.g" },
		{ "g..", "http://a/b/c/g.." }, { "..g", "http://a/b/c/..g" },
		{ "./../g", "http://a/b/g" }, { "./g/.", "http://a/b/c/g/" },
		{ "g/./h", "http://a/b/c/g/h" }, { "g/../h", "http://a/b/c/h" },
		{ "g;x=1/./y", "http://a/b/c/g;x=1/y" },
		{ "g;x=1/../y", "http://a/b/c/y" },
		{ "g?y/./x", "http://a/b/c/g?y/./x" },
		{ "g?y/../x", "http://a/b/c/g?y/../x" },
		{ "g#s/./x", "http://a/b/c/g" }, { "http:g", "http:g" },
		/* what servers send */
		{ "https://other:8443/x/../y?z", "https://other:8443/y?z" },
		{ "//cdn.example/a", "http://cdn.example/a" },
	};
	char *got;
	size_t i;

	for (i = 0; i < ARRAY_LEN(t); i++) {
		got = whirl_url_join(base, t[i][0]);
		CHECK_EQ_STR(got, t[i][1]);
		free(got);
	}
	got = whirl_url_join("http://h:8080", "x");
	CHECK_EQ_STR(got, "http://h:8080/x");
	free(got);
	CHECK(whirl_url_join("/relative/base", "x") == NULL);
	CHECK_EQ_STR(whirl_error(), "not an absolute URL: /relative/base");
}

/*
 * Cookie jars.
 */

TEST(cookie_jar_reads_netscape_files)
{
	static const char file[] =
	    "# Netscape HTTP Cookie File\n"
	    "# a comment\n"
	    "\n"
	    ".example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\r\n"
	    "#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t4102444800\t"
	    "tok\tx y\n"
	    "old.example.com\tFALSE\t/\tFALSE\t1000\texpired\t1\n"
	    "bad line without tabs\n"
	    "example.com\tFALSE\tnot-a-path\tFALSE\t0\tn\tv\n"
	    "example.com\tFALSE\t/\tFALSE\tsoon\tn\tv\n"
	    "last.example.com\tFALSE\t/\tFALSE\t0\tempty\t";
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new();
	char *h, *text;

	/* Seven lines look like cookies; the expired one is dropped at
	 * once. */
	CHECK_EQ_INT(whirl_cookie_jar_parse(jar, file, sizeof(file) - 1), 4);
	CHECK_EQ_INT(whirl_cookie_jar_count(jar), 3);
	h = whirl_cookie_jar_header(jar, "http://a.example.com/x");
	CHECK_EQ_STR(h, "sid=abc");
	free(h);
	/* Secure: https only; path /app and below; host-only. */
	h = whirl_cookie_jar_header(jar, "http://www.example.com/app/1");
	CHECK_EQ_STR(h, "sid=abc");
	free(h);
	h = whirl_cookie_jar_header(jar, "https://www.example.com/app/1");
	CHECK_EQ_STR(h, "tok=x y; sid=abc");
	free(h);
	h = whirl_cookie_jar_header(jar, "https://www.example.com/apple");
	CHECK_EQ_STR(h, "sid=abc");
	free(h);
	h = whirl_cookie_jar_header(jar, "https://sub.www.example.com/app");
	CHECK_EQ_STR(h, "sid=abc");
	free(h);
	h = whirl_cookie_jar_header(jar, "http://last.example.com/");
	CHECK_EQ_STR(h, "sid=abc; empty=");
	free(h);
	CHECK(whirl_cookie_jar_header(jar, "http://example.org/") == NULL);
	text = whirl_cookie_jar_format(jar);
	CHECK_EQ_STR(text, "# Netscape HTTP Cookie File\n"
	    "# This file was generated by whirl. Edit at your own risk.\n\n"
	    ".example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n"
	    "#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t4102444800\ttok\t"
	    "x y\n"
	    "last.example.com\tFALSE\t/\tFALSE\t0\tempty\t\n");
	free(text);
	whirl_cookie_jar_free(jar);
}

TEST(cookie_jar_takes_set_cookie)
{
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new();
	const char *u = "http://www.example.com/a/b/c";
	char *h, *text;

	CHECK(whirl_cookie_jar_set(jar, u, "a=1") == 0);
	CHECK(whirl_cookie_jar_set(jar, u, " b = 2 ; Path=/; HttpOnly") == 0);
	CHECK(whirl_cookie_jar_set(jar, u, "c=3; Domain=.EXAMPLE.com; "
	    "Path=/; Expires=Wed, 09 Jun 2031 10:18:14 GMT") == 0);
	CHECK(whirl_cookie_jar_set(jar, u, "d=4; Domain=other.org") == -1);
	CHECK(whirl_cookie_jar_set(jar, u, "novalue") == -1);
	CHECK(whirl_cookie_jar_set(jar, u, "=x") == -1);
	CHECK(whirl_cookie_jar_set(jar, u, "e=5; Secure; Max-Age=60") == 0);
	/* The default path is /a/b: not sent to /a. */
	h = whirl_cookie_jar_header(jar, "http://www.example.com/a");
	CHECK_EQ_STR(h, "b=2; c=3");
	free(h);
	h = whirl_cookie_jar_header(jar, "http://www.example.com/a/b/x");
	CHECK_EQ_STR(h, "a=1; b=2; c=3");
	free(h);
	h = whirl_cookie_jar_header(jar, "https://www.example.com/a/b");
	CHECK_EQ_STR(h, "a=1; e=5; b=2; c=3");
	free(h);
	h = whirl_cookie_jar_header(jar, "http://api.example.com/");
	CHECK_EQ_STR(h, "c=3");
	free(h);
	/* Replaced in place; removed by Max-Age=0 and by a past date, in
	 * each of the date forms RFC 6265 reads. */
	CHECK(whirl_cookie_jar_set(jar, u, "a=one") == 0);
	CHECK(whirl_cookie_jar_set(jar, u, "e=gone; Max-Age=0") == 0);
	CHECK(whirl_cookie_jar_set(jar, "http://www.example.com/", "b=x; "
	    "expires=Wednesday, 09-Jun-21 10:18:14 GMT") == 0);
	h = whirl_cookie_jar_header(jar, "https://www.example.com/a/b/");
	CHECK_EQ_STR(h, "a=one; c=3");
	free(h);
	CHECK(whirl_cookie_jar_set(jar, u, "c=again; Domain=example.com; "
	    "expires=Mon Jun  9 10:18:14 2031") == 0);
	text = whirl_cookie_jar_format(jar);
	CHECK(strstr(text, ".example.com\tTRUE\t/a/b\tFALSE\t1938766694\t"
	    "c\tagain\n") != NULL);
	CHECK(strstr(text, "www.example.com\tFALSE\t/a/b\tFALSE\t0\ta\tone\n")
	    != NULL);
	free(text);
	/* A cookie for an IP address stays with that address. */
	CHECK(whirl_cookie_jar_set(jar, "http://127.0.0.1:8080/", "ip=1") ==
	    0);
	h = whirl_cookie_jar_header(jar, "http://127.0.0.1:9999/x");
	CHECK_EQ_STR(h, "ip=1");
	free(h);
	whirl_cookie_jar_free(jar);
}

/*
 * Fetches against whirl_httpserver.
 */

struct hs {
	struct whirl_httpserver *srv;
	int port;
	size_t max_conns;
	struct whirl_request *held[16];
	size_t nheld;
	struct whirl_timer *later[16];
	size_t nlater;
};

static struct hs hs;

static void
answer_later(struct whirl_timer *t, void *arg)
{
	struct whirl_request *req = arg;

	(void)t;
	whirl_response_send(req, 200, NULL, "slow\n", 5);
}

/* /echo says what it got: method, the fields that matter, the body's
 * length and sum.  /slow answers after 20 ms, /hang never, /stall
 * stops inside its body, /redir?code=&to= redirects, /setcookie sets
 * k=v, /big sends 1 MiB. */
static void
hs_handle(struct whirl_request *req, void *arg)
{
	static const char *const shown[] = {
		"Authorization", "Cookie", "Content-Type", "Content-Length",
		"Transfer-Encoding", "X-Test"
	};
	const char *path = whirl_request_path(req), *v;
	struct whirl_headers *h = whirl_headers_new();
	struct whirl_args *a = whirl_args_new();
	const char *body, *q = whirl_request_query(req);
	size_t len, i, n;
	unsigned long sum = 0;
	char out[2048];
	static char big[1 << 20];

	(void)arg;
	whirl_args_parse(a, q, strlen(q));
	if (whirl_httpserver_connections(hs.srv) > hs.max_conns)
		hs.max_conns = whirl_httpserver_connections(hs.srv);
	if (strcmp(path, "/echo") == 0) {
		body = whirl_request_body(req, &len);
		for (i = 0; i < len; i++)
			sum += (unsigned char)body[i];
		n = (size_t)snprintf(out, sizeof(out), "%s %zu %lu\n",
		    whirl_request_method(req), len, sum);
		for (i = 0; i < ARRAY_LEN(shown); i++)
			if ((v = whirl_headers_get(whirl_request_headers(req),
			    shown[i])) != NULL)
				n += (size_t)snprintf(out + n, sizeof(out) - n,
				    "%s: %s\n", shown[i], v);
		whirl_response_send(req, 200, NULL, out, n);
	} else if (strcmp(path, "/slow") == 0) {
		hs.later[hs.nlater] = whirl_timer_new(loop, answer_later, req);
		whirl_timer_start(hs.later[hs.nlater++], 20, false);
	} else if (strcmp(path, "/hang") == 0) {
		hs.held[hs.nheld++] = req;
	} else if (strcmp(path, "/stall") == 0) {
		whirl_response_start(req, 200, NULL, 10);
		whirl_response_write(req, "abc", 3);
		hs.held[hs.nheld++] = req;
	} else if (strcmp(path, "/redir") == 0) {
		whirl_headers_add(h, "Location", whirl_args_get(a, "to"));
		whirl_response_send(req, atoi(whirl_args_get(a, "code")), h,
		    "go\n", 3);
	} else if (strcmp(path, "/setcookie") == 0) {
		whirl_headers_add(h, "Set-Cookie", "k=v; Path=/");
		whirl_response_send(req, 200, h, "set\n", 4);
	} else if (strcmp(path, "/big") == 0) {
		memset(big, 'b', sizeof(big));
		whirl_response_send(req, 200, NULL, big, sizeof(big));
	} else {
		whirl_response_send(req, 404, NULL, "no\n", 3);
	}
	whirl_headers_free(h);
	whirl_args_free(a);
}

static void
hs_start(struct whirl_tls_ctx *tls)
{
	struct whirl_httpserver_opts o;

	memset(&hs, 0, sizeof(hs));
	memset(&o, 0, sizeof(o));
	o.tls = tls;
	hs.srv = whirl_httpserver_new(loop, &o, hs_handle, NULL);
	CHECK(whirl_httpserver_listen(hs.srv, "127.0.0.1", 0, AF_INET, 0) >=
	    1);
	hs.port = whirl_httpserver_port(hs.srv);
}

static void
hs_stop(void)
{
	size_t i;

	for (i = 0; i < hs.nheld; i++)
		whirl_response_finish(hs.held[i]);
	for (i = 0; i < hs.nlater; i++)
		whirl_timer_free(hs.later[i]);
	whirl_httpserver_free(hs.srv);
}

static char *
url_of(const char *path)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 256, "http://127.0.0.1:%d%s", hs.port, path);
	return p;
}

/* Fetch url with defaults changed by nothing; the story in st. */
static void
get(struct whirl_httpclient *c, const char *url, struct story *st)
{
	struct whirl_http_request rq;

	whirl_http_request_init(&rq, url);
	memset(st, 0, sizeof(*st));
	fetch_run(c, &rq, st);
}

TEST(keep_alive_connections_are_reused)
{
	struct whirl_httpclient *c;
	struct story st;
	int i;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);
	for (i = 0; i < 3; i++) {
		get(c, url_of("/echo"), &st);
		CHECK_EQ_STR(st.text, "H200 OK [Content-Length=8]\n"
		    "GET 0 0\nD OK\n");
		CHECK_EQ_INT(st.r.num_connects, i == 0 ? 1 : 0);
		CHECK_EQ_INT(whirl_httpclient_idle(c), 1);
	}
	CHECK_EQ_INT(whirl_httpserver_connections(hs.srv), 1);
	CHECK_EQ_INT(st.r.num_redirects, 0);
	CHECK_EQ_INT(st.r.remote_port, hs.port);
	CHECK(st.r.time_total >= st.r.time_starttransfer);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

TEST(many_in_flight_within_the_per_host_limit)
{
	struct whirl_httpclient_opts co = { .max_per_host = 2 };
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct story st[6];
	int pending = 6, i, conns = 0;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, &co);
	for (i = 0; i < 6; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].pending = &pending;
		whirl_http_request_init(&rq, url_of("/slow"));
		rq.head_cb = s_head;
		rq.body_cb = s_body;
		whirl_httpclient_fetch(c, &rq, s_done, &st[i]);
	}
	whirl_loop_run(loop);
	for (i = 0; i < 6; i++) {
		CHECK_EQ_STR(st[i].text, "H200 OK [Content-Length=5]\n"
		    "slow\nD OK\n");
		conns += st[i].r.num_connects;
	}
	CHECK_EQ_INT(conns, 2);
	CHECK_EQ_INT(hs.max_conns, 2);
	CHECK_EQ_INT(whirl_httpclient_idle(c), 2);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

static void
stream_fed(struct whirl_stream *s, const char *err, void *arg)
{
	(void)arg;
	CHECK(err == NULL);
	whirl_stream_shutdown(s);
}

TEST(request_bodies_from_memory_file_and_stream)
{
	static char data[300000];
	char path[] = "/tmp/whirl-httpclient-body-XXXXXX", want[128];
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct whirl_stream *w, *r;
	struct story st;
	unsigned long sum = 0;
	size_t i;
	int fd, sv[2];

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (char)(i * 7 + i / 1000);
		sum += (unsigned char)data[i];
	}
	fd = mkstemp(path);
	CHECK(write(fd, data, sizeof(data)) == (ssize_t)sizeof(data));
	close(fd);
	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);

	whirl_http_request_init(&rq, url_of("/echo"));
	rq.body = data;
	rq.body_len = sizeof(data);
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	snprintf(want, sizeof(want), "POST %zu %lu\nContent-Length: %zu\n",
	    sizeof(data), sum, sizeof(data));
	CHECK(strstr(st.text, want) != NULL);
	CHECK_EQ_INT(st.r.size_upload, sizeof(data));

	whirl_http_request_init(&rq, url_of("/echo"));
	rq.method = "PUT";
	rq.body_file = path;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	snprintf(want, sizeof(want), "PUT %zu %lu\n", sizeof(data), sum);
	CHECK(strstr(st.text, want) != NULL);
	CHECK_EQ_INT(st.r.num_connects, 0);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	w = whirl_stream_new(loop, sv[0], 0);
	r = whirl_stream_new(loop, sv[1], WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_write(w, data, sizeof(data), stream_fed, NULL);
	whirl_http_request_init(&rq, url_of("/echo"));
	rq.body_stream = r;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	snprintf(want, sizeof(want), "POST %zu %lu\nTransfer-Encoding: "
	    "chunked\n", sizeof(data), sum);
	CHECK(strstr(st.text, want) != NULL);
	whirl_stream_free(w);
	whirl_stream_free(r);

	whirl_http_request_init(&rq, url_of("/echo"));
	rq.body_file = "/nonexistent/file";
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "D READ Failed to open/read local data from "
	    "file /nonexistent/file: No such file or directory\n");
	unlink(path);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

TEST(redirects_change_methods_and_drop_credentials)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct whirl_headers *h = whirl_headers_new();
	struct story st;
	char loc[256], pin[64];
	const char *pins[1] = { pin };

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);
	whirl_headers_add(h, "Authorization", "Bearer secret");
	whirl_headers_add(h, "Cookie", "c=1");
	whirl_headers_add(h, "Content-Type", "text/plain");

	/* 301 and 302 turn a POST into a GET without a body. */
	whirl_http_request_init(&rq, url_of("/redir?code=301&to=/echo"));
	rq.body = "abc";
	rq.body_len = 3;
	rq.headers = h;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nAuthorization: Bearer secret\n"
	    "Cookie: c=1\nD OK") != NULL);
	CHECK_EQ_INT(st.r.num_redirects, 1);
	CHECK_EQ_STR(st.url, url_of("/echo"));

	/* 307 keeps both. */
	whirl_http_request_init(&rq, url_of("/redir?code=307&to=/echo"));
	rq.body = "abc";
	rq.body_len = 3;
	rq.headers = h;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "POST 3 294\nAuthorization: Bearer secret\n"
	    "Cookie: c=1\nContent-Type: text/plain\nContent-Length: 3\n") !=
	    NULL);

	/* 303 turns a PUT into a GET too. */
	whirl_http_request_init(&rq, url_of("/redir?code=303&to=/echo"));
	rq.method = "PUT";
	rq.body = "abc";
	rq.body_len = 3;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\n") != NULL);

	/* To another host (pinned to the same server): no credentials,
	 * neither ours nor auth_username's. */
	snprintf(pin, sizeof(pin), "other.test:%d:127.0.0.1", hs.port);
	snprintf(loc, sizeof(loc), "/redir?code=302&to=http://other.test:%d"
	    "/echo", hs.port);
	whirl_http_request_init(&rq, url_of(loc));
	rq.headers = h;
	rq.resolve = pins;
	rq.nresolve = 1;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nContent-Type: text/plain\nD OK") !=
	    NULL);
	whirl_http_request_init(&rq, url_of(loc));
	rq.auth_username = "al";
	rq.auth_password = "pw";
	rq.resolve = pins;
	rq.nresolve = 1;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nD OK") != NULL);
	snprintf(loc, sizeof(loc), "http://other.test:%d/echo", hs.port);
	CHECK_EQ_STR(st.url, loc);
	/* ... unless trusted. */
	snprintf(loc, sizeof(loc), "/redir?code=302&to=http://other.test:%d"
	    "/echo", hs.port);
	whirl_http_request_init(&rq, url_of(loc));
	rq.auth_username = "al";
	rq.auth_password = "pw";
	rq.trusted_redirects = true;
	rq.resolve = pins;
	rq.nresolve = 1;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nAuthorization: Basic YWw6cHc=\n") !=
	    NULL);

	/* A loop ends after max_redirects. */
	whirl_http_request_init(&rq, url_of("/redir?code=302&to=/redir%3F"
	    "code%3D302%26to%3D%2Fecho"));
	rq.max_redirects = 1;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "D TOO_MANY_REDIRECTS Maximum (1) redirects "
	    "followed\n") != NULL);
	CHECK_EQ_INT(st.r.num_redirects, 1);
	CHECK_EQ_INT(st.r.code, 302);

	/* Not following: the 3xx is the answer. */
	whirl_http_request_init(&rq, url_of("/redir?code=308&to=/echo"));
	rq.follow_redirects = false;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "H308 Permanent Redirect [Location=/echo|"
	    "Content-Length=3]\ngo\nD OK\n");
	CHECK_EQ_STR(st.redirect, url_of("/echo"));
	whirl_headers_free(h);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

TEST(cookies_go_back_to_the_server)
{
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new();
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct story st;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);
	whirl_http_request_init(&rq, url_of("/setcookie"));
	rq.cookies = jar;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_INT(whirl_cookie_jar_count(jar), 1);
	whirl_http_request_init(&rq, url_of("/echo"));
	rq.cookies = jar;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "Cookie: k=v\n") != NULL);
	whirl_cookie_jar_free(jar);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

/* Fill a backlog-0 listener until a connect stays in progress (as
 * test_tcpserver does): further connects then wait for nothing. */
static int
fill_backlog(int port, int *fds, int max)
{
	struct whirl_addr a;
	struct pollfd p;
	int n;

	whirl_addr_parse_literal("127.0.0.1", port, AF_INET, &a);
	for (n = 0; n < max; n++) {
		fds[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&a.ss, a.len) == 0)
			continue;
		p.fd = fds[n];
		p.events = POLLOUT;
		if (poll(&p, 1, 200) == 0)
			return n + 1;
	}
	return n;
}

TEST(connect_total_and_idle_timeouts)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct whirl_addr a;
	struct story st;
	char url[64];
	int lfd, fds[16], n;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);

	whirl_http_request_init(&rq, url_of("/hang"));
	rq.request_timeout_ms = 100;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strncmp(st.text, "D TIMEOUT Operation timed out after ", 36) ==
	    0);
	CHECK(strstr(st.text, " milliseconds with 0 bytes received\n") !=
	    NULL);

	whirl_http_request_init(&rq, url_of("/stall"));
	rq.idle_timeout_ms = 100;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	if (strncmp(st.text, "H200 OK [Content-Length=10]\nabc\n"
	    "D TIMEOUT No data received for ", 62) != 0)
		printf("# got %s", st.text);
	CHECK(strncmp(st.text, "H200 OK [Content-Length=10]\nabc\n"
	    "D TIMEOUT No data received for ", 62) == 0);
	CHECK_EQ_INT(st.r.size_download, 3);

	whirl_addr_parse_literal("127.0.0.1", 0, AF_INET, &a);
	lfd = whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, 0, 0);
	n = fill_backlog(whirl_fd_local_port(lfd), fds, 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
	    whirl_fd_local_port(lfd));
	whirl_http_request_init(&rq, url);
	rq.connect_timeout_ms = 100;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strncmp(st.text, "D TIMEOUT Connection timed out after ", 37) ==
	    0);
	while (n > 0)
		close(fds[--n]);
	close(lfd);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

static int
abort_head(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	(void)f;
	(void)r;
	(void)arg;
	return -1;
}

TEST(cancel_and_abort_from_callbacks)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct whirl_fetch *f;
	struct story st;
	int pending = 1;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);

	/* Cancelled inside body: no done, the connection closed. */
	whirl_http_request_init(&rq, url_of("/big"));
	rq.body_cb = s_body;
	memset(&st, 0, sizeof(st));
	st.cancel_in_body = true;
	st.pending = &pending;
	whirl_httpclient_fetch(c, &rq, s_done, &st);
	whirl_loop_run(loop);
	CHECK_EQ_INT(st.dones, 0);
	CHECK_EQ_INT(whirl_httpclient_idle(c), 0);

	/* A head callback that says stop. */
	whirl_http_request_init(&rq, url_of("/echo"));
	rq.head_cb = abort_head;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "D ABORTED aborted by the head callback\n");

	/* Cancelled at once, and left in flight for the client's free. */
	whirl_http_request_init(&rq, url_of("/echo"));
	f = whirl_httpclient_fetch(c, &rq, s_done, &st);
	whirl_fetch_cancel(f);
	whirl_http_request_init(&rq, url_of("/hang"));
	whirl_httpclient_fetch(c, &rq, s_done, &st);
	whirl_httpclient_free(c);
	CHECK_EQ_INT(st.dones, 1);

	/* A collected body over max_body. */
	c = whirl_httpclient_new(loop, NULL);
	whirl_http_request_init(&rq, url_of("/big"));
	rq.max_body = 1000;
	rq.body_cb = NULL;
	memset(&st, 0, sizeof(st));
	st.pending = &pending;
	pending = 1;
	rq.head_cb = s_head;
	whirl_httpclient_fetch(c, &rq, s_done, &st);
	whirl_loop_run(loop);
	CHECK(strstr(st.text, "D TOO_LARGE Exceeded the maximum allowed file "
	    "size (1000)") != NULL);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

/* Pause at every piece and resume 1 ms later: the body still arrives
 * whole and in order. */
struct pacer {
	struct whirl_fetch *f;
	struct whirl_timer *t;
	size_t got, pauses;
	bool bad;
};

static void
pacer_resume(struct whirl_timer *t, void *arg)
{
	struct pacer *p = arg;

	(void)t;
	whirl_fetch_resume(p->f);
}

static struct pacer pacer;

static int
pacer_body(struct whirl_fetch *f, const char *data, size_t len, void *arg)
{
	struct pacer *p = &pacer;
	size_t i;

	(void)arg;
	for (i = 0; i < len; i++)
		if (data[i] != 'b')
			p->bad = true;
	p->got += len;
	p->f = f;
	p->pauses++;
	whirl_fetch_pause(f);
	whirl_timer_start(p->t, 1, false);
	return 0;
}

TEST(pause_and_resume_a_download)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct story st;
	struct pacer *p = &pacer;
	int pending = 1;

	setup();
	hs_start(NULL);
	c = whirl_httpclient_new(loop, NULL);
	memset(&st, 0, sizeof(st));
	memset(p, 0, sizeof(*p));
	p->t = whirl_timer_new(loop, pacer_resume, p);
	st.pending = &pending;
	whirl_http_request_init(&rq, url_of("/big"));
	rq.body_cb = pacer_body;
	whirl_httpclient_fetch(c, &rq, s_done, &st);
	whirl_loop_run(loop);
	CHECK_EQ_INT(st.dones, 1);
	CHECK_EQ_INT(st.r.error, WHIRL_FETCH_OK);
	CHECK_EQ_INT(p->got, 1 << 20);
	CHECK(p->pauses > 1);
	CHECK(!p->bad);
	whirl_timer_free(p->t);
	whirl_httpclient_free(c);
	hs_stop();
	teardown();
}

TEST(errors_before_any_answer)
{
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct story st;
	char url[64];
	int port;

	setup();
	c = whirl_httpclient_new(loop, NULL);
	hs_start(NULL);
	port = hs.port;
	hs_stop();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	get(c, url, &st);
	snprintf(url, sizeof(url), "D CONNECT Failed to connect to 127.0.0.1 "
	    "port %d after ", port);
	CHECK(strncmp(st.text, url, strlen(url)) == 0);
	CHECK(strstr(st.text, " ms: Connection refused\n") != NULL);
	get(c, "http://no-such-host.invalid/", &st);
	CHECK_EQ_STR(st.text, "D RESOLVE Could not resolve host: "
	    "no-such-host.invalid\n");
	get(c, "ftp://example.com/", &st);
	CHECK_EQ_STR(st.text, "D UNSUPPORTED Protocol \"ftp\" not supported\n");
	get(c, "http://exa mple/", &st);
	CHECK_EQ_STR(st.text, "D BAD_URL URL using bad/illegal format or "
	    "missing URL\n");
	get(c, "http://:80/", &st);
	CHECK_EQ_STR(st.text, "D BAD_URL URL using bad/illegal format or "
	    "missing URL\n");
	get(c, "http://h:0/", &st);
	CHECK(strncmp(st.text, "D BAD_URL", 9) == 0);
	whirl_http_request_init(&rq, "http://127.0.0.1:1/");
	rq.body = "a";
	rq.body_len = 1;
	rq.body_file = "/etc/hostname";
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "D BAD_URL more than one request body\n");
	whirl_httpclient_free(c);
	teardown();
}

static const char *
cert(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 256, "%s/%s", certdir, name);
	return p;
}

TEST(https_verifies_by_default)
{
	struct whirl_tls_server_opts so = { 0 };
	struct whirl_tls_client_opts co = { 0 };
	struct whirl_tls_ctx *sctx, *cctx, *insecure;
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct story st;
	char url[64];

	setup();
	so.cert_file = cert("server.pem");
	so.key_file = cert("server.key");
	sctx = whirl_tls_server_new(&so);
	co.cafile = cert("ca.pem");
	cctx = whirl_tls_client_new(&co);
	memset(&co, 0, sizeof(co));
	co.insecure = true;
	insecure = whirl_tls_client_new(&co);
	hs_start(sctx);
	c = whirl_httpclient_new(loop, NULL);
	snprintf(url, sizeof(url), "https://localhost:%d/echo", hs.port);

	get(c, url, &st);
	CHECK_EQ_STR(st.text, "D CERT SSL certificate problem: unable to get "
	    "local issuer certificate\n");
	whirl_http_request_init(&rq, url);
	rq.tls = cctx;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nD OK\n") != NULL);
	CHECK(st.r.time_appconnect >= st.r.time_connect);
	whirl_http_request_init(&rq, url);
	rq.tls = insecure;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strstr(st.text, "GET 0 0\nD OK\n") != NULL);
	CHECK_EQ_INT(st.r.num_connects, 1);   /* another context's pool */

	whirl_httpclient_free(c);
	hs_stop();
	whirl_tls_ctx_free(sctx);
	whirl_tls_ctx_free(cctx);
	whirl_tls_ctx_free(insecure);
	teardown();
}

TEST(proxies_absolute_form_and_connect)
{
	static const struct canned answers[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nvia" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nenv" },
		{ "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 0,
		  true },
	};
	struct whirl_httpclient *c;
	struct whirl_http_request rq;
	struct script sc;
	struct story st;
	char proxy[64];

	setup();
	script_start(&sc, answers, 3, WHOLE);
	c = whirl_httpclient_new(loop, NULL);
	snprintf(proxy, sizeof(proxy), "http://u:p@127.0.0.1:%d", sc.port);
	whirl_http_request_init(&rq, "http://origin.test:8080/x?y");
	rq.proxy = proxy;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "H200 OK [Content-Length=3]\nvia\nD OK\n");
	CHECK(strncmp(sc.seen, "GET http://origin.test:8080/x?y HTTP/1.1\r\n"
	    "Host: origin.test:8080\r\n", 65) == 0);
	CHECK(strstr(sc.seen, "Proxy-Authorization: Basic dTpw\r\n") != NULL);

	/* From the environment, unless no_proxy names the host. */
	snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", sc.port);
	setenv("http_proxy", proxy, 1);
	setenv("no_proxy", "example.com, .skip.test", 1);
	whirl_http_request_init(&rq, "http://a.skip.test:1/");
	rq.connect_timeout_ms = 2000;
	rq.resolve = (const char *const []){ "a.skip.test:1:127.0.0.1" };
	rq.nresolve = 1;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK(strncmp(st.text, "D CONNECT", 9) == 0);
	whirl_http_request_init(&rq, "http://env.test/");
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "H200 OK [Content-Length=3]\nenv\nD OK\n");
	CHECK_EQ_INT(st.r.num_connects, 0);   /* the proxy's pool */
	unsetenv("http_proxy");
	unsetenv("no_proxy");

	/* https through a proxy that refuses the tunnel. */
	snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", sc.port);
	whirl_http_request_init(&rq, "https://secret.test/");
	rq.proxy = proxy;
	memset(&st, 0, sizeof(st));
	fetch_run(c, &rq, &st);
	CHECK_EQ_STR(st.text, "D RECV CONNECT tunnel failed, response 403\n");
	CHECK(strstr(sc.seen, "CONNECT secret.test:443 HTTP/1.1\r\n"
	    "Host: secret.test:443\r\n\r\n") != NULL);
	whirl_httpclient_free(c);
	script_stop(&sc);
	teardown();
}

TEST(a_dead_keep_alive_connection_is_retried_once)
{
	static const struct canned answers[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none" },
		{ "", 0, true },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo" },
	};
	struct whirl_httpclient *c;
	struct script sc;
	struct story st;
	char url[64];

	setup();
	script_start(&sc, answers, 3, WHOLE);
	c = whirl_httpclient_new(loop, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", sc.port);
	get(c, url, &st);
	CHECK_EQ_STR(st.text, "H200 OK [Content-Length=3]\none\nD OK\n");
	get(c, url, &st);
	CHECK_EQ_STR(st.text, "H200 OK [Content-Length=3]\ntwo\nD OK\n");
	CHECK_EQ_INT(st.r.num_connects, 1);
	CHECK_EQ_INT(sc.conns, 2);
	whirl_httpclient_free(c);
	script_stop(&sc);
	teardown();
}

static int
make_certs(void)
{
	const char *root = getenv("WHIRL_ROOT");
	char cmd[1024];

	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/scripts/gen-test-certs %s",
	    root != NULL ? root : ".", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* curl's numbers, and none forgotten: only OK is 0. */
TEST(fetch_errors_have_curls_exit_codes)
{
	int e;

	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_OK), 0);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_UNSUPPORTED), 1);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_RESOLVE), 6);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_CONNECT), 7);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_PARTIAL), 18);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_TIMEOUT), 28);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_TLS), 35);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_ABORTED), 42);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_EMPTY_REPLY), 52);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_CERT), 60);
	CHECK_EQ_INT(whirl_fetch_error_code(WHIRL_FETCH_REWIND), 65);
	for (e = WHIRL_FETCH_UNSUPPORTED; e <= WHIRL_FETCH_ABORTED; e++)
		CHECK(whirl_fetch_error_code((enum whirl_fetch_error)e) != 0);
	CHECK_EQ_INT(whirl_fetch_error_code((enum whirl_fetch_error)999), 1);
}

int
main(void)
{
	char cmd[512];

	signal(SIGPIPE, SIG_IGN);
	if (make_certs() == -1) {
		printf("not ok 1 - gen-test-certs failed\n1..1\n");
		return 1;
	}
	RUN(fetch_errors_have_curls_exit_codes);
	RUN(url_join_rfc3986_examples);
	RUN(cookie_jar_reads_netscape_files);
	RUN(cookie_jar_takes_set_cookie);
	RUN(responses_whole_bytewise_and_split);
	RUN(keep_alive_connections_are_reused);
	RUN(many_in_flight_within_the_per_host_limit);
	RUN(request_bodies_from_memory_file_and_stream);
	RUN(redirects_change_methods_and_drop_credentials);
	RUN(cookies_go_back_to_the_server);
	RUN(connect_total_and_idle_timeouts);
	RUN(cancel_and_abort_from_callbacks);
	RUN(pause_and_resume_a_download);
	RUN(errors_before_any_answer);
	RUN(https_verifies_by_default);
	RUN(proxies_absolute_form_and_connect);
	RUN(a_dead_keep_alive_connection_is_retried_once);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", certdir);
	return unit_done();
}
