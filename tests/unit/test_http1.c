/* test_http1.c - the HTTP/1 codec fed whole, byte by byte and in random
 * splits; the same transcript every time, and the right status for each
 * malformed message. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static struct whirl_loop *loop;

/* What the delegate saw, as text. */
static char log_buf[16384];
static size_t log_len;

static void
logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_len += (size_t)vsnprintf(log_buf + log_len,
	    sizeof(log_buf) - log_len, fmt, ap);
	va_end(ap);
}

static int
d_headers(struct whirl_http1 *h, const struct whirl_http1_msg *m, void *arg)
{
	const char *n, *v;
	size_t i;

	(void)h;
	(void)arg;
	if (m->method != NULL)
		logf_("H:%s %s %d.%d", m->method, m->target, m->major,
		    m->minor);
	else
		logf_("H:%d %s %d.%d", m->status, m->reason, m->major,
		    m->minor);
	logf_(" cl=%lld%s%s%s", (long long)m->content_length,
	    m->chunked ? " chunked" : "", m->keep_alive ? " ka" : "",
	    m->expect_continue ? " expect" : "");
	if (m->host_fields > 0)
		logf_(" hosts=%zu", m->host_fields);
	logf_(" [");
	for (i = 0; whirl_headers_at(m->headers, i, &n, &v); i++)
		logf_("%s%s=%s", i ? "|" : "", n, v);
	logf_("]");
	return 0;
}

static bool in_body;

/* Pieces of one body are joined: how the bytes came must not show. */
static void
d_body(struct whirl_http1 *h, const char *data, size_t len, void *arg)
{
	(void)h;
	(void)arg;
	logf_("%s%.*s", in_body ? "" : " B:", (int)len, data);
	in_body = true;
}

static void
d_finish(struct whirl_http1 *h, void *arg)
{
	const char *n, *v;
	struct whirl_headers *hd = whirl_http1_take_headers(h);
	size_t i, count = whirl_headers_count(hd);

	(void)arg;
	in_body = false;
	/* Trailers were appended to the head's fields. */
	logf_(" F%zu", count);
	for (i = 0; whirl_headers_at(hd, i, &n, &v); i++)
		if (strncmp(n, "X-T", 3) == 0)
			logf_(" T:%s=%s", n, v);
	logf_("\n");
	whirl_headers_free(hd);
	whirl_http1_resume(h);
}

static void
d_error(struct whirl_http1 *h, int status, const char *why, void *arg)
{
	(void)h;
	(void)why;
	(void)arg;
	in_body = false;
	logf_(" E%d\n", status);
	whirl_loop_stop(loop);
}

static void
d_eof(struct whirl_http1 *h, void *arg)
{
	(void)h;
	(void)arg;
	logf_("EOF\n");
	whirl_loop_stop(loop);
}

static const struct whirl_http1_delegate delegate = {
	.headers = d_headers, .body = d_body, .finish = d_finish,
	.error = d_error, .eof = d_eof,
};

/* Sends the input in pieces, one piece per loop turn. */
struct feed {
	int fd;
	const char *data;
	size_t len, off;
	int mode;          /* 0 whole, 1 byte by byte, 2 random */
	bool close_after;
};

static void
feed_tick(struct whirl_timer *t, void *arg)
{
	struct feed *f = arg;
	size_t n;

	if (f->off >= f->len) {
		whirl_timer_stop(t);
		if (f->close_after)
			shutdown(f->fd, SHUT_WR);
		return;
	}
	n = f->mode == 0 ? f->len - f->off : f->mode == 1 ? 1 :
	    1 + (size_t)(rand() % 17);
	if (n > f->len - f->off)
		n = f->len - f->off;
	CHECK_EQ_INT(write(f->fd, f->data + f->off, n), (long long)n);
	f->off += n;
}

static const char *
run_codec(enum whirl_http1_role role, const char *input, int mode,
    const struct whirl_http1_limits *lim, bool head_response)
{
	struct feed f = { .data = input, .len = strlen(input), .mode = mode,
	    .close_after = true };
	struct whirl_stream *s;
	struct whirl_http1 *h;
	struct whirl_timer *t;
	int sv[2];

	log_len = 0;
	log_buf[0] = '\0';
	loop = whirl_loop_new();
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	f.fd = sv[1];
	s = whirl_stream_new(loop, sv[0], 0);
	h = whirl_http1_new(s, role, lim, &delegate, NULL);
	if (head_response)
		whirl_http1_expect_no_body(h);
	t = whirl_timer_new(loop, feed_tick, &f);
	whirl_timer_start(t, 0, true);
	whirl_loop_run(loop);
	whirl_timer_free(t);
	whirl_http1_free(h);
	whirl_stream_free(s);
	close(sv[1]);
	whirl_loop_free(loop);
	return log_buf;
}

/* The transcript must not depend on how the bytes arrive. */
static void
check_all_splits(enum whirl_http1_role role, const char *input,
    const char *want)
{
	int mode, round;

	for (mode = 0; mode < 3; mode++)
		for (round = 0; round < (mode == 2 ? 5 : 1); round++) {
			const char *got = run_codec(role, input, mode, NULL,
			    false);

			if (strcmp(got, want) != 0) {
				printf("# mode %d round %d\n", mode, round);
				CHECK_EQ_STR(got, want);
			}
		}
}

TEST(get_with_headers)
{
	check_all_splits(WHIRL_HTTP1_SERVER,
	    "GET /a%20b?x=1 HTTP/1.1\r\nHost: example\r\n"
	    "X-Spaces:   padded   \r\nAccept: */*\r\n\r\n",
	    "H:GET /a%20b?x=1 1.1 cl=-1 ka hosts=1 [Host=example|"
	    "X-Spaces=padded|Accept=*/*] F3\nEOF\n");
}

/* Host fields by name, any case, however the name is split; not Hostname
 * or X-Host.  A server refuses a count other than 1 (RFC 9112 3.2). */
TEST(host_fields_counted)
{
	check_all_splits(WHIRL_HTTP1_SERVER,
	    "GET / HTTP/1.1\r\nhost: a\r\nHostname: b\r\nX-Host: c\r\n"
	    "HOST: d\r\n\r\n",
	    "H:GET / 1.1 cl=-1 ka hosts=2 [host=a|Hostname=b|X-Host=c|"
	    "HOST=d] F4\nEOF\n");
}

TEST(post_with_content_length_then_pipelined_get)
{
	check_all_splits(WHIRL_HTTP1_SERVER,
	    "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	    "GET /next HTTP/1.1\r\n\r\n",
	    "H:POST /p 1.1 cl=5 ka [Content-Length=5] B:hello F1\n"
	    "H:GET /next 1.1 cl=-1 ka [] F0\nEOF\n");
}

TEST(chunked_body_with_extensions_and_trailers)
{
	check_all_splits(WHIRL_HTTP1_SERVER,
	    "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;name=value\r\nabc\r\n5\r\ndefgh\r\n0\r\n"
	    "X-Trailer: yes\r\n\r\n",
	    "H:POST /c 1.1 cl=-1 chunked ka [Transfer-Encoding=chunked] "
	    "B:abcdefgh F2 T:X-Trailer=yes\nEOF\n");
}

TEST(http10_and_expect_continue)
{
	check_all_splits(WHIRL_HTTP1_SERVER,
	    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	    "PUT /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1"
	    "\r\n\r\nZ",
	    "H:GET / 1.0 cl=-1 ka [Connection=keep-alive] F1\n"
	    "H:PUT /u 1.1 cl=1 ka expect [Expect=100-continue|"
	    "Content-Length=1] B:Z F2\nEOF\n");
}

static void
check_error(const char *input, int status,
    const struct whirl_http1_limits *lim)
{
	char want[32];
	const char *got;
	int mode;

	snprintf(want, sizeof(want), " E%d\n", status);
	for (mode = 0; mode < 3; mode++) {
		got = run_codec(WHIRL_HTTP1_SERVER, input, mode, lim, false);
		if (strstr(got, want) == NULL || strstr(got, " F") != NULL) {
			printf("# mode %d input %.40s\n", mode, input);
			CHECK_EQ_STR(got, want);
		}
	}
}

TEST(smuggling_shapes_are_400_never_two_requests)
{
	check_error("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, NULL);
	check_error("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\nabcd", 400, NULL);
	check_error("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400,
	    NULL);
	check_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\n", 400, NULL);
	check_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, NULL);
	check_error("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, NULL);
	check_error("GARBAGE\r\n\r\n", 400, NULL);
	check_error("GET /\r\n\r\n", 400, NULL);          /* HTTP/0.9 */
	check_error("GET / HTTP/2.0\r\n\r\n", 505, NULL);
	check_error("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, NULL);
}

TEST(limits_become_414_431_413)
{
	struct whirl_http1_limits lim = { 64, 128, 4, 10 };
	char big[512];

	memset(big, 0, sizeof(big));
	strcpy(big, "GET /");
	memset(big + 5, 'a', 100);
	strcat(big, " HTTP/1.1\r\n\r\n");
	check_error(big, 414, &lim);
	check_error("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
	    "E: 5\r\n\r\n", 431, &lim);
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'v', 200);
	strcat(big, "\r\n\r\n");
	check_error(big, 431, &lim);
	check_error("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413,
	    &lim);
	check_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413, &lim);
}

TEST(eof_inside_a_request_is_an_error)
{
	const char *got = run_codec(WHIRL_HTTP1_SERVER,
	    "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 0, NULL,
	    false);

	CHECK(strstr(got, " E0\n") != NULL);
}

TEST(responses_by_length_chunks_and_close)
{
	check_all_splits(WHIRL_HTTP1_CLIENT,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	    "HTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	    "H:200 OK 1.1 cl=2 ka [Content-Length=2] B:hi F1\n"
	    "H:204 No Content 1.1 cl=-1 ka [] F0\n"
	    "H:404 Not Found 1.1 cl=0 ka [Content-Length=0] F1\nEOF\n");
}

TEST(response_delimited_by_close_finishes_at_eof)
{
	const char *got = run_codec(WHIRL_HTTP1_CLIENT,
	    "HTTP/1.0 200 OK\r\n\r\nuntil the end", 0, NULL, false);

	CHECK_EQ_STR(got,
	    "H:200 OK 1.0 cl=-1 [] B:until the end F0\nEOF\n");
}

TEST(head_response_has_no_body)
{
	const char *got = run_codec(WHIRL_HTTP1_CLIENT,
	    "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1, NULL, true);

	CHECK_EQ_STR(got, "H:200 OK 1.1 cl=99 ka [Content-Length=99] F1\n"
	    "EOF\n");
}

int
main(void)
{
	srand(42);
	RUN(get_with_headers);
	RUN(host_fields_counted);
	RUN(post_with_content_length_then_pipelined_get);
	RUN(chunked_body_with_extensions_and_trailers);
	RUN(http10_and_expect_continue);
	RUN(smuggling_shapes_are_400_never_two_requests);
	RUN(limits_become_414_431_413);
	RUN(eof_inside_a_request_is_an_error);
	RUN(responses_by_length_chunks_and_close);
	RUN(response_delimited_by_close_finishes_at_eof);
	RUN(head_response_has_no_body);
	return unit_done();
}
