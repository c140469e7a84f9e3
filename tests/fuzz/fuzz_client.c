/* fuzz_client.c - the HTTP client (httpclient on http1 in the client
 * role) fed arbitrary responses.
 *
 * A unix socket in a temporary directory stands for the server: the
 * fetch is told to connect there (unix_socket) whatever its URL says, and
 * every connection it makes gets a peer (peer.h) that sends the fuzzer's
 * bytes as the response, then its EOF, while reading the request.  A
 * redirect, or a retry on a dead kept-alive connection, makes a new
 * connection that gets the same bytes again.  When the fetch is done (or
 * cancelled) the client is freed and the loop runs until nothing is left.
 *
 * Input: two option bytes, then the response bytes.
 *   byte 0  bits 0-1 max_redirects (0-3); bit 2 follow redirects;
 *           bit 3 decompress (gzip, deflate); bit 4 HEAD; bit 5 stream
 *           the body (a body callback); bit 6 POST a body; bit 7 the head
 *           callback stops the fetch at the first head
 *   byte 1  bits 0-3 write in pieces (peer.h); bit 4 a cookie jar;
 *           bit 5 max_body 100 bytes; bit 6 cancel the fetch from the
 *           first body callback; bit 7 pause at each body piece and
 *           resume on the next turn
 *
 * Properties checked: done fires exactly once unless the fetch was
 * cancelled; its error is one of the enum's; a collected body respects
 * max_body; a stopped fetch says WHIRL_FETCH_ABORTED; nothing is left on
 * the loop and every connection was closed.  With FUZZ_DUMP set in the
 * environment, the outcome is shown on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "peer.h"
#include "whirl.h"

#define MAX_PEERS 16

static struct whirl_loop *loop;
static int listen_fd = -1;
static char dir[64], path[96];

struct run {
	uint8_t o0, o1;
	const uint8_t *resp;
	size_t len;
	struct whirl_watch *accepting;
	struct fuzz_peer peers[MAX_PEERS];
	size_t npeers;
	struct whirl_fetch *f;
	struct whirl_timer *resume;
	int heads, dones, bodies;
	bool cancelled, stopped, over;
	size_t max_body;
};

static void
teardown(void)
{
	whirl_loop_free(loop);
	close(listen_fd);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un a;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	whirl_log_set_level(WHIRL_LOG_OFF);
	loop = whirl_loop_new();
	FUZZ_CHECK(loop != NULL);
	snprintf(dir, sizeof(dir), "/tmp/whirl-fuzz-client-XXXXXX");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	FUZZ_CHECK(listen_fd >= 0);
	FUZZ_CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	FUZZ_CHECK(listen(listen_fd, 16) == 0);
	atexit(teardown);
	return 0;
}

/* The fetch is over (done, or cancelled): no more connections. */
static void
over(struct run *r)
{
	r->over = true;
	whirl_watch_free(r->accepting);
	r->accepting = NULL;
	whirl_loop_stop(loop);
}

static void
on_accept(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct run *r = arg;
	int s;

	(void)w;
	(void)ready;
	s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s == -1)
		return;
	if (r->npeers == MAX_PEERS) {
		close(s);
		return;
	}
	fuzz_peer_start(&r->peers[r->npeers++], loop, s, r->resp, r->len,
	    fuzz_piece_size(r->o1 & 15));
}

static int
on_head(struct whirl_fetch *f, const struct whirl_http_response *resp,
    void *arg)
{
	struct run *r = arg;

	(void)f;
	r->heads++;
	FUZZ_CHECK(resp->headers != NULL && resp->reason != NULL);
	FUZZ_CHECK(resp->code >= 100 && resp->code <= 999);
	if (r->o0 & 128) {
		r->stopped = true;
		return -1;
	}
	return 0;
}

static void
on_resume(struct whirl_timer *t, void *arg)
{
	struct run *r = arg;

	whirl_timer_free(t);
	r->resume = NULL;
	if (!r->over)
		whirl_fetch_resume(r->f);
}

static int
on_body(struct whirl_fetch *f, const char *data, size_t len, void *arg)
{
	struct run *r = arg;

	(void)data;
	FUZZ_CHECK(len > 0);
	if (r->bodies++ == 0 && (r->o1 & 64)) {
		r->cancelled = true;
		whirl_fetch_cancel(f);
		over(r);
		return 0;
	}
	if ((r->o1 & 128) && r->resume == NULL) {
		whirl_fetch_pause(f);
		r->resume = whirl_timer_new(loop, on_resume, r);
		whirl_timer_start(r->resume, 0, false);
	}
	return 0;
}

static void
on_done(struct whirl_fetch *f, const struct whirl_http_response *resp,
    void *arg)
{
	struct run *r = arg;

	(void)f;
	FUZZ_CHECK(r->dones++ == 0);
	FUZZ_CHECK(resp->error >= WHIRL_FETCH_OK &&
	    resp->error <= WHIRL_FETCH_ABORTED);
	FUZZ_CHECK(resp->headers != NULL);
	if (resp->error == WHIRL_FETCH_OK) {
		FUZZ_CHECK(resp->code >= 100 && resp->code <= 999);
		if (!(r->o0 & 32))
			FUZZ_CHECK(resp->body_len <= r->max_body);
	} else {
		FUZZ_CHECK(resp->error_msg != NULL);
	}
	if (r->stopped)
		FUZZ_CHECK(resp->error == WHIRL_FETCH_ABORTED);
	if (getenv("FUZZ_DUMP") != NULL)
		fprintf(stderr, "done: %d %s error %d (%s), %zu body bytes, "
		    "%d redirects, %d connects\n", resp->code, resp->reason,
		    (int)resp->error, resp->error_msg ? resp->error_msg : "",
		    resp->body_len, resp->num_redirects, resp->num_connects);
	over(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct whirl_http_request req;
	struct whirl_httpclient *client;
	struct whirl_cookie_jar *jar = NULL;
	struct run r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.o0 = fuzz_byte(&in);
	r.o1 = fuzz_byte(&in);
	r.resp = in.p;
	r.len = in.n;
	r.max_body = (r.o1 & 32) ? 100 : 100 * 1024 * 1024;

	whirl_http_request_init(&req, "http://fuzz.test/p/q?x=1");
	req.unix_socket = path;
	req.proxy = "";
	req.follow_redirects = (r.o0 & 4) != 0;
	req.max_redirects = r.o0 & 3;
	req.decompress = (r.o0 & 8) != 0;
	req.connect_timeout_ms = 10000;
	req.request_timeout_ms = 10000;
	req.max_body = r.max_body;
	if (r.o0 & 16)
		req.method = "HEAD";
	if (r.o0 & 64) {
		req.body = "a=1&b=2";
		req.body_len = 7;
		req.has_body = true;
	}
	req.head_cb = on_head;
	if (r.o0 & 32)
		req.body_cb = on_body;
	if (r.o1 & 16) {
		jar = whirl_cookie_jar_new();
		req.cookies = jar;
	}

	client = whirl_httpclient_new(loop, NULL);
	r.accepting = whirl_watch_new(loop, listen_fd, WHIRL_READ, on_accept,
	    &r);
	FUZZ_CHECK(r.accepting != NULL);
	r.f = whirl_httpclient_fetch(client, &req, on_done, &r);
	FUZZ_CHECK(r.f != NULL);

	FUZZ_CHECK(whirl_loop_run(loop) == 0);
	FUZZ_CHECK(r.over);
	FUZZ_CHECK(r.dones == (r.cancelled ? 0 : 1));
	/* Idle pooled connections close with the client; the peers then
	 * see their EOF and the loop runs out. */
	whirl_httpclient_free(client);
	if (r.resume != NULL) {
		whirl_timer_free(r.resume);
		r.resume = NULL;
	}
	FUZZ_CHECK(whirl_loop_run(loop) == 0);
	for (i = 0; i < r.npeers; i++)
		FUZZ_CHECK(r.peers[i].gone);
	/* A connection made as the fetch ended was never accepted: drop
	 * it, or the next input would meet it. */
	while ((i = (size_t)accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) !=
	    (size_t)-1)
		close((int)i);
	whirl_cookie_jar_free(jar);
	return 0;
}
