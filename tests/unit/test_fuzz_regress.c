/* test_fuzz_regress.c - what the fuzz targets (tests/fuzz) found, each
 * kept as an exact test.  The inputs that found them stay in the targets'
 * corpora as regress-* files too.
 *
 *   - websocket: a compressed message ending in a BFINAL block made
 *     inflate_into spin forever (fuzz_ws, fuzz_server);
 *   - http1: an empty reason phrase ("HTTP/1.1 200 \r\n") copied from a
 *     NULL or stale scratch (whirl-fetch died of SIGSEGV), and a status
 *     of one digit was taken (fuzz_client);
 *   - httpclient: a dead kept-alive connection was retried once per
 *     fetch, not once per hop, so the second redirect failed (fuzz_client);
 *     cookies the Netscape file cannot hold (TAB, control bytes, a domain
 *     starting with a dot), "Domain=." taken for a domain that every host
 *     ending in a dot matches, and a Max-Age that overflowed (fuzz_url);
 *   - httputil: header values with control bytes other than CR, LF and
 *     NUL were sent, in responses llhttp refuses to read (fuzz_server);
 *   - static: the walk used without openat2 (valgrind) opened "a.txt/"
 *     and "a.txt/." as a.txt (fuzz_static);
 *   - urlglob: "[Y-e]" gave the signs between the cases, 2^64 values
 *     wrapped the count to 0, and a wide zero padding cut the number off
 *     (fuzz_urlglob).
 */
#define UNIT_TIMEOUT 20

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "whirl.h"
#include "netutil.h"
#include "static.c"             /* open_walk, the walk without openat2 */
#include "urlglob.h"
#include "unit.h"

static struct whirl_loop *loop;

/*
 * websocket: a message compressed whole, its last block with BFINAL set.
 */

static char ws_msg[64];
static int ws_code;

static void
ws_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	(void)ws;
	(void)binary;
	(void)arg;
	snprintf(ws_msg, sizeof(ws_msg), "%.*s", (int)len, data);
}

static void
ws_closed(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	(void)reason;
	(void)arg;
	ws_code = code;
	whirl_ws_free(ws);
}

TEST(websocket_reads_a_message_ending_in_a_final_block)
{
	static const struct whirl_ws_handler h = { .message = ws_message,
		.close = ws_closed };
	struct whirl_ws_opts o = { .deflate = { .enabled = true } };
	unsigned char z[64], out[128];
	z_stream d;
	size_t zlen, n = 0;
	int sv[2];

	/* Z_FINISH: one final block, as a sender may end a message. */
	memset(&d, 0, sizeof(d));
	CHECK(deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
	    Z_OK);
	d.next_in = (Bytef *)"hi";
	d.avail_in = 2;
	d.next_out = z;
	d.avail_out = sizeof(z);
	CHECK(deflate(&d, Z_FINISH) == Z_STREAM_END);
	zlen = sizeof(z) - d.avail_out;
	deflateEnd(&d);

	/* A masked text frame with RSV1 (key 0: the payload as is), then a
	 * close frame with 1000. */
	out[n++] = 0xc1;
	out[n++] = (unsigned char)(0x80 | zlen);
	memset(out + n, 0, 4);
	n += 4;
	memcpy(out + n, z, zlen);
	n += zlen;
	memcpy(out + n, "\x88\x82\0\0\0\0\x03\xe8", 8);
	n += 8;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(write(sv[1], out, n) == (ssize_t)n);
	shutdown(sv[1], SHUT_WR);
	ws_msg[0] = '\0';
	ws_code = 0;
	whirl_ws_new(whirl_stream_new(loop, sv[0], WHIRL_STREAM_SOCKET), false,
	    &o, &h, NULL);
	/* It answers the close, sees our EOF and is gone: the loop runs
	 * out (before the fix, inflate spun and it never did). */
	whirl_loop_run(loop);
	close(sv[1]);
	CHECK_EQ_STR(ws_msg, "hi");
	CHECK_EQ_INT(ws_code, 1000);
}

/*
 * http1: status lines.
 */

struct h1 {
	int status, errors, finishes;
	char reason[32], body[32], why[64];
};

static int
h1_headers(struct whirl_http1 *h, const struct whirl_http1_msg *m, void *arg)
{
	struct h1 *t = arg;

	(void)h;
	t->status = m->status;
	snprintf(t->reason, sizeof(t->reason), "%s", m->reason);
	return 0;
}

static void
h1_body(struct whirl_http1 *h, const char *data, size_t len, void *arg)
{
	struct h1 *t = arg;

	(void)h;
	snprintf(t->body + strlen(t->body), sizeof(t->body) - strlen(t->body),
	    "%.*s", (int)len, data);
}

static void
h1_finish(struct whirl_http1 *h, void *arg)
{
	struct h1 *t = arg;

	t->finishes++;
	if (t->status >= 100 && t->status < 200)
		whirl_http1_resume(h);
	else
		whirl_loop_stop(loop);
}

static void
h1_error(struct whirl_http1 *h, int status, const char *why, void *arg)
{
	struct h1 *t = arg;

	(void)h;
	(void)status;
	t->errors++;
	snprintf(t->why, sizeof(t->why), "%s", why);
	whirl_loop_stop(loop);
}

/* Feed a response to a client codec; fills t. */
static void
read_response(const char *text, struct h1 *t)
{
	static const struct whirl_http1_delegate d = { .headers = h1_headers,
		.body = h1_body, .finish = h1_finish, .error = h1_error };
	struct whirl_stream *s;
	struct whirl_http1 *h;
	int sv[2];

	memset(t, 0, sizeof(*t));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(write(sv[1], text, strlen(text)) == (ssize_t)strlen(text));
	s = whirl_stream_new(loop, sv[0], WHIRL_STREAM_SOCKET);
	h = whirl_http1_new(s, WHIRL_HTTP1_CLIENT, NULL, &d, t);
	whirl_loop_run(loop);
	whirl_http1_free(h);
	whirl_stream_free(s);
	close(sv[1]);
}

TEST(http1_client_takes_an_empty_reason_phrase)
{
	struct h1 t;

	read_response("HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", &t);
	CHECK_EQ_INT(t.errors, 0);
	CHECK_EQ_INT(t.status, 200);
	CHECK_EQ_STR(t.reason, "");
	CHECK_EQ_STR(t.body, "ok");
	/* After a reason, the scratch holds old bytes. */
	read_response("HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 204 \r\n\r\n", &t);
	CHECK_EQ_INT(t.finishes, 2);
	CHECK_EQ_INT(t.status, 204);
	CHECK_EQ_STR(t.reason, "");
}

TEST(http1_client_wants_three_status_digits)
{
	struct h1 t;

	read_response("HTTP/1.1 4 02No Content\r\nContent-Length: 0\r\n\r\n",
	    &t);
	CHECK_EQ_INT(t.errors, 1);
	CHECK_EQ_INT(t.finishes, 0);
	CHECK_EQ_STR(t.why, "Invalid status code");
}

/*
 * httpclient: redirects on connections the server closes after each
 * answer.
 */

struct hop_server {
	struct whirl_watch *w;
	int conns;
};

static void
hop_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	static const char answer[] = "HTTP/1.1 301 Moved Permanently\r\n"
	    "Location: /next\r\nContent-Length: 0\r\n\r\n";

	(void)data;
	(void)len;
	(void)arg;
	if (err != NULL) {
		whirl_stream_free(s);
		return;
	}
	/* Keep-alive by the book, then gone at once. */
	whirl_stream_write(s, answer, sizeof(answer) - 1, NULL, NULL);
	whirl_stream_linger_free(s, 5000);
}

static void
hop_accept(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct hop_server *hs = arg;
	struct whirl_stream *s;
	int c;

	(void)w;
	(void)ready;
	if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	hs->conns++;
	s = whirl_stream_new(loop, c, WHIRL_STREAM_SOCKET);
	whirl_stream_read_until(s, "\r\n\r\n", 4, 65536, hop_read, NULL);
}

static struct whirl_http_response hop_resp;

static void
hop_done(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	struct hop_server *hs = arg;

	(void)f;
	hop_resp = *r;
	whirl_watch_free(hs->w);
	hs->w = NULL;
	whirl_loop_stop(loop);
}

TEST(httpclient_retries_a_dead_connection_at_every_hop)
{
	char dir[] = "/tmp/whirl-regress-XXXXXX", path[64];
	struct whirl_httpclient *c;
	struct whirl_http_request req;
	struct hop_server hs = { NULL, 0 };
	int lfd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	lfd = whirl_listen_unix(path, 8);
	CHECK(lfd >= 0);
	hs.w = whirl_watch_new(loop, lfd, WHIRL_READ, hop_accept, &hs);
	c = whirl_httpclient_new(loop, NULL);
	whirl_http_request_init(&req, "http://hops.test/");
	req.unix_socket = path;
	req.proxy = "";
	req.max_redirects = 3;
	whirl_httpclient_fetch(c, &req, hop_done, &hs);
	whirl_loop_run(loop);
	/* The servers' lingering streams see the client's EOF and go. */
	whirl_httpclient_free(c);
	whirl_loop_run(loop);
	close(lfd);
	unlink(path);
	rmdir(dir);
	CHECK_EQ_INT(hop_resp.error, WHIRL_FETCH_TOO_MANY_REDIRECTS);
	CHECK_EQ_INT(hop_resp.num_redirects, 3);
	CHECK_EQ_INT(hs.conns, 4);
}

/*
 * httpclient: the cookie jar and its file.
 */

TEST(cookie_jar_refuses_what_its_file_cannot_hold)
{
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new();
	char *text;

	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://a.test/",
	    "sid=aath\t=/p"), -1);
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://a.test/",
	    "sid=x; Path=/a\tTRUE"), -1);
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://a.test/",
	    "s\x01id=x"), -1);
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://./", "a=b"), -1);
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://.a.test/", "a=b"), -1);
	CHECK_EQ_INT(whirl_cookie_jar_count(jar), 0);
	/* A Max-Age past the end of time: forever, no overflow. */
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://a.test/",
	    "a=b; Max-Age=9223372036854775807"), 0);
	text = whirl_cookie_jar_format(jar);
	CHECK(strstr(text, "a.test\tFALSE\t/\tFALSE\t9223372036854775807\t"
	    "a\tb\n") != NULL);
	free(text);
	/* "Domain=." is no domain: the cookie is the host's own, not one
	 * for every host that ends in a dot. */
	CHECK_EQ_INT(whirl_cookie_jar_set(jar, "http://www./",
	    "c=d; Domain=."), 0);
	CHECK(whirl_cookie_jar_header(jar, "http://other./") == NULL);
	text = whirl_cookie_jar_header(jar, "http://www./");
	CHECK_EQ_STR(text, "c=d");
	free(text);
	whirl_cookie_jar_free(jar);
}

/*
 * httputil: what a field value may hold.
 */

TEST(headers_refuse_control_characters_but_tab)
{
	struct whirl_headers *h = whirl_headers_new();

	CHECK_EQ_INT(whirl_headers_add(h, "Location", "/x\x0f!0a"), -1);
	CHECK_EQ_STR(whirl_error(), "control character in the value of "
	    "header Location");
	CHECK_EQ_INT(whirl_headers_add(h, "X", "a\x7f"), -1);
	CHECK_EQ_INT(whirl_headers_add(h, "X", "a\x1b[31m"), -1);
	CHECK_EQ_INT(whirl_headers_add(h, "X", "a\tb \xc3\xa9"), 0);
	CHECK_EQ_INT(whirl_headers_count(h), 1);
	whirl_headers_free(h);
}

/*
 * static: the walk without openat2.
 */

TEST(static_walk_reads_a_trailing_slash_as_openat2_does)
{
	char dir[] = "/tmp/whirl-regress-XXXXXX", path[64];
	int root, fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK(mkdir(path, 0755) == 0);
	root = open(dir, O_PATH | O_DIRECTORY);

	errno = 0;
	CHECK_EQ_INT(open_walk(root, "a.txt/"), -1);
	CHECK_EQ_INT(errno, ENOTDIR);
	CHECK_EQ_INT(open_walk(root, "a.txt/."), -1);
	CHECK_EQ_INT(errno, ENOTDIR);
	fd = open_walk(root, "sub/");
	CHECK(fd >= 0);
	close(fd);
	fd = open_walk(root, "./a.txt");
	CHECK(fd >= 0);
	close(fd);

	close(root);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	unlink(path);
	rmdir(dir);
}

/*
 * urlglob.
 */

TEST(urlglob_ranges_stay_what_they_say)
{
	struct whirl_urlglob *g;
	size_t col = 0;
	char *url;

	CHECK(whirl_urlglob_new("http://x/[Y-e]", &col) == NULL);
	CHECK_EQ_STR(whirl_error(), "bad range");
	CHECK(whirl_urlglob_new("[0-18446744073709551615][0-9]", NULL) ==
	    NULL);
	CHECK_EQ_STR(whirl_error(), "too many URLs");
	g = whirl_urlglob_new("x[00000000000000000000000000000000000001-2]",
	    NULL);
	CHECK(g != NULL);
	url = whirl_urlglob_next(g);
	CHECK_EQ_STR(url, "x00000000000000000000000000000000000001");
	free(url);
	url = whirl_urlglob_next(g);
	CHECK_EQ_STR(url, "x00000000000000000000000000000000000002");
	free(url);
	CHECK(whirl_urlglob_next(g) == NULL);
	whirl_urlglob_free(g);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	whirl_log_set_level(WHIRL_LOG_OFF);
	loop = whirl_loop_new();
	RUN(http1_client_wants_three_status_digits);
	RUN(httpclient_retries_a_dead_connection_at_every_hop);
	RUN(cookie_jar_refuses_what_its_file_cannot_hold);
	RUN(headers_refuse_control_characters_but_tab);
	RUN(static_walk_reads_a_trailing_slash_as_openat2_does);
	RUN(urlglob_ranges_stay_what_they_say);
	/* Last: before their fixes, one crashed and one spun. */
	RUN(http1_client_takes_an_empty_reason_phrase);
	RUN(websocket_reads_a_message_ending_in_a_final_block);
	whirl_loop_free(loop);
	return unit_done();
}
