/* test_wsclient.c - the client role's conformance cases (whirl_ws_connect
 * and the framing as a client), against a raw TCP server written here:
 * it runs in a thread with blocking sockets, plays one script per case
 * (its handshake answer, the frames it sends) and logs the frames the
 * client sent it.  Masking with fresh keys, fragmented messages with
 * control frames between the fragments, invalid UTF-8 (1007, as soon as
 * a fragment is bad), protocol errors from the server (1002), both close
 * handshakes and the close timeout, compression both ways with context
 * takeover, and handshakes refused: a 101 with a wrong accept key, another
 * status, an extension not offered. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "whirl.h"
#include "websocket.h"
#include "unit.h"

/*
 * The raw server (its own thread; blocking I/O, 10 s bounds).
 */

static char srv_log[8192];      /* client frames: "T:text B:3 C:1000 ..." */
static unsigned char keys[8][4];
static int nkeys;
static bool all_masked;
static char offer[256];         /* the client's Sec-WebSocket-Extensions */

static void
slog(const char *fmt, ...)
{
	size_t n = strlen(srv_log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(srv_log + n, sizeof(srv_log) - n, fmt, ap);
	va_end(ap);
}

static bool
read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = recv(fd, (char *)buf + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Read the request head; note the key and the extension offer. */
static bool
read_request(int fd, char *key)
{
	char head[4096], *k, *e;
	size_t n = 0;

	while (n < sizeof(head) - 1 && (n < 4 ||
	    memcmp(head + n - 4, "\r\n\r\n", 4) != 0)) {
		if (!read_n(fd, head + n, 1))
			return false;
		n++;
	}
	head[n] = '\0';
	k = strcasestr(head, "Sec-WebSocket-Key: ");
	if (k == NULL)
		return false;
	snprintf(key, 25, "%s", k + 19);
	offer[0] = '\0';
	e = strcasestr(head, "Sec-WebSocket-Extensions: ");
	if (e != NULL)
		snprintf(offer, sizeof(offer), "%.*s",
		    (int)strcspn(e + 26, "\r"), e + 26);
	return true;
}

/* Answer the handshake: 101 with the right accept key (or a wrong one),
 * and an extensions line if ext is not NULL. */
static bool
handshake(int fd, bool good_key, const char *ext)
{
	char key[32], accept[29], resp[512];
	int n;

	if (!read_request(fd, key))
		return false;
	whirl_ws_accept_key(good_key ? key : "dGhlIHNhbXBsZSBub25jZQ==",
	    accept);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n", accept,
	    ext != NULL ? "Sec-WebSocket-Extensions: " : "",
	    ext != NULL ? ext : "", ext != NULL ? "\r\n" : "");
	return send(fd, resp, (size_t)n, 0) == n;
}

/* A server frame: unmasked unless mask. */
static void
sframe(int fd, int b0, const void *data, size_t len, bool mask)
{
	unsigned char *out = malloc(len + 14);
	size_t hl = 2, i;

	out[0] = (unsigned char)b0;
	if (len < 126) {
		out[1] = (unsigned char)len;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		hl = 4;
	} else {
		out[1] = 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memset(out + hl, 0x11, 4);
		hl += 4;
	}
	for (i = 0; i < len; i++)
		out[hl + i] = ((const unsigned char *)data)[i] ^ (mask ? 0x11 : 0);
	send(fd, out, hl + len, MSG_NOSIGNAL);
	free(out);
}

static void
sclose(int fd, int code, const char *reason)
{
	unsigned char p[125];
	size_t n = strlen(reason);

	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	memcpy(p + 2, reason, n);
	sframe(fd, 0x88, p, n + 2, false);
}

static z_stream inz;            /* the client's compressed messages */
static bool inz_ready;

/* Read one client frame and log it ("T:text", "B:len", "P:ping",
 * "O:pong", "C:code", "Tz:text" when compressed); its opcode, or -1 at
 * EOF. */
static int
read_frame(int fd)
{
	unsigned char h[14], *p;
	uint64_t len;
	size_t hl = 2, i;
	int op;

	if (!read_n(fd, h, 2))
		return -1;
	op = h[0] & 0x0f;
	len = h[1] & 0x7f;
	if (len == 126) {
		hl = 4;
		read_n(fd, h + 2, 2);
		len = (uint64_t)h[2] << 8 | h[3];
	} else if (len == 127) {
		hl = 10;
		read_n(fd, h + 2, 8);
		for (len = 0, i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
	}
	if (!(h[1] & 0x80)) {
		all_masked = false;
		memset(h + hl, 0, 4);
	} else if (!read_n(fd, h + hl, 4)) {
		return -1;
	}
	if (nkeys < 8)
		memcpy(keys[nkeys++], h + hl, 4);
	p = malloc(len + 1);
	if (!read_n(fd, p, len)) {
		free(p);
		return -1;
	}
	for (i = 0; i < len; i++)
		p[i] ^= h[hl + (i & 3)];
	p[len] = '\0';
	if (op == 1 && (h[0] & 0x40)) {
		static char text[1 << 16];

		if (!inz_ready) {
			inflateInit2(&inz, -15);
			inz_ready = true;
		}
		inz.next_in = p;
		inz.avail_in = (uInt)len;
		inz.next_out = (Bytef *)text;
		inz.avail_out = sizeof(text) - 1;
		inflate(&inz, Z_SYNC_FLUSH);
		inz.next_in = (Bytef *)"\x00\x00\xff\xff";
		inz.avail_in = 4;
		inflate(&inz, Z_SYNC_FLUSH);
		text[sizeof(text) - 1 - inz.avail_out] = '\0';
		slog("%sTz:%s", *srv_log ? " " : "", text);
	} else if (op == 1 || op == 9 || op == 10) {
		slog("%s%c:%s", *srv_log ? " " : "", op == 1 ? 'T' : op == 9 ?
		    'P' : 'O', (char *)p);
	} else if (op == 2) {
		slog("%sB:%zu", *srv_log ? " " : "", (size_t)len);
	} else if (op == 8) {
		slog("%sC:%d%s%s", *srv_log ? " " : "", len >= 2 ?
		    p[0] << 8 | p[1] : 0, len > 2 ? "," : "",
		    len > 2 ? (char *)p + 2 : "");
	} else {
		slog("%s?%d", *srv_log ? " " : "", op);
	}
	free(p);
	return op;
}

/* Log the client's frames until its close frame (or EOF). */
static void
read_until_close(int fd)
{
	int op;

	while ((op = read_frame(fd)) != -1 && op != 8)
		;
}

/* Wait for the client's FIN. */
static void
wait_eof(int fd)
{
	char c;

	while (recv(fd, &c, 1, 0) > 0)
		;
}

typedef void (*script_fn)(int fd);

struct server {
	int lfd;
	script_fn script;
};

static void *
server_main(void *arg)
{
	struct server *sv = arg;
	struct timeval tv = { 10, 0 };
	int fd = accept(sv->lfd, NULL, NULL);

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		sv->script(fd);
		close(fd);
	}
	close(sv->lfd);
	return NULL;
}

/*
 * The client under test (the test's own thread and loop).
 */

static struct whirl_loop *loop;
static char cli_log[8192];      /* "M:text" "B:n" "pong:x" "close:code,r" */
static int connect_status;
static char connect_err[128];
static bool timed_out;

static void
clog_add(const char *fmt, ...)
{
	size_t n = strlen(cli_log);
	va_list ap;

	if (n > 0 && n < sizeof(cli_log) - 1)
		cli_log[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(cli_log + n, sizeof(cli_log) - n, fmt, ap);
	va_end(ap);
}

static void
on_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	(void)ws;
	(void)arg;
	if (binary || len > 64)
		clog_add("%c:%zu", binary ? 'B' : 'M', len);
	else
		clog_add("M:%.*s", (int)len, data);
}

static void
on_pong(struct whirl_ws *ws, const char *data, size_t len, void *arg)
{
	(void)ws;
	(void)arg;
	clog_add("pong:%.*s", (int)len, data);
}

static void
on_close(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	(void)arg;
	clog_add("close:%d%s%s", code, *reason ? "," : "", reason);
	whirl_ws_free(ws);
	whirl_loop_stop(loop);
}

static const struct whirl_ws_handler handler = {
	.message = on_message, .pong = on_pong, .close = on_close
};

typedef void (*open_fn)(struct whirl_ws *ws);

static void
on_connected(struct whirl_ws_connecting *c, struct whirl_ws *ws, int status,
    const char *protocol, const char *err, void *arg)
{
	open_fn first = (open_fn)(uintptr_t)arg;

	(void)c;
	(void)protocol;
	connect_status = status;
	if (ws == NULL) {
		snprintf(connect_err, sizeof(connect_err), "%s", err);
		whirl_loop_stop(loop);
		return;
	}
	if (first != NULL)
		first(ws);
}

static void
on_guard(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	timed_out = true;
	whirl_loop_stop(loop);
}

/* One case: the server's script against a client whose first move is
 * `first` (may be NULL); returns when the client's WebSocket closed (or
 * its connect failed) and the server's script ended. */
static void
run_case(script_fn script, open_fn first, const struct whirl_ws_connect_opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct server sv = { .script = script };
	struct whirl_ws_connect_opts co = { .timeout_ms = 10000 };
	struct whirl_timer *guard;
	pthread_t th;
	char url[64];

	srv_log[0] = cli_log[0] = connect_err[0] = offer[0] = '\0';
	nkeys = 0;
	all_masked = true;
	connect_status = 0;
	timed_out = false;
	if (inz_ready)
		inflateEnd(&inz);
	inz_ready = false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(sv.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(sv.lfd, 1) == 0);
	getsockname(sv.lfd, (struct sockaddr *)&sa, &salen);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/case",
	    ntohs(sa.sin_port));
	CHECK(pthread_create(&th, NULL, server_main, &sv) == 0);
	loop = whirl_loop_new();
	guard = whirl_timer_new(loop, on_guard, NULL);
	whirl_timer_start(guard, 10000, false);
	CHECK(whirl_ws_connect(loop, url, o != NULL ? o : &co, &handler, NULL,
	    on_connected, (void *)(uintptr_t)first) != NULL);
	whirl_loop_run(loop);
	CHECK(!timed_out);
	pthread_join(th, NULL);
	whirl_timer_free(guard);
	/* Our last frames and FIN (the server is gone by now). */
	whirl_loop_run(loop);
	whirl_loop_free(loop);
}

/*
 * The cases.
 */

/* Masking: every frame masked, a fresh key each. */
static void
s_masking(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	read_until_close(fd);
	sclose(fd, 1000, "");
	wait_eof(fd);
}

static void
c_masking(struct whirl_ws *ws)
{
	static char big[70000];

	memset(big, 'm', sizeof(big));
	whirl_ws_send(ws, false, "hello", 5);
	whirl_ws_send(ws, true, "\x00\x01\x02", 3);
	whirl_ws_send(ws, true, big, sizeof(big));
	whirl_ws_ping(ws, "pi", 2);
	whirl_ws_send_fragment(ws, false, true, false, "fr", 2);
	whirl_ws_send_fragment(ws, false, false, true, "ag", 2);
	whirl_ws_close(ws, 1000, "");
}

TEST(client_frames_are_masked_with_fresh_keys)
{
	int i, j, same = 0;

	run_case(s_masking, c_masking, NULL);
	/* The fragments are logged as they come: "fr" and a continuation. */
	CHECK_EQ_STR(srv_log, "T:hello B:3 B:70000 P:pi T:fr ?0 C:1000");
	CHECK(all_masked);
	CHECK_EQ_INT(nkeys, 7);
	for (i = 0; i < nkeys; i++)
		for (j = i + 1; j < nkeys; j++)
			same += memcmp(keys[i], keys[j], 4) == 0;
	CHECK_EQ_INT(same, 0);
	CHECK_EQ_STR(cli_log, "close:1000");
}

/* Fragments from the server with control frames between them. */
static void
s_fragments(int fd)
{
	static char big[70000];

	if (!handshake(fd, true, NULL))
		return;
	sframe(fd, 0x01, "Hel", 3, false);
	sframe(fd, 0x89, "p1", 2, false);
	sframe(fd, 0x00, "lo, ", 4, false);
	sframe(fd, 0x8A, "unasked", 7, false);
	sframe(fd, 0x80, "world", 5, false);
	memset(big, 'b', sizeof(big));
	sframe(fd, 0x82, big, sizeof(big), false);
	sframe(fd, 0x81, "", 0, false);
	sclose(fd, 1000, "bye");
	read_until_close(fd);
	wait_eof(fd);
}

TEST(server_fragments_with_pings_and_pongs_between_them)
{
	run_case(s_fragments, NULL, NULL);
	CHECK_EQ_STR(cli_log, "pong:unasked M:Hello, world B:70000 M: "
	    "close:1000,bye");
	/* The ping answered at once with its payload, the close echoed. */
	CHECK_EQ_STR(srv_log, "O:p1 C:1000");
	CHECK(all_masked);
}

/* Invalid UTF-8: the client closes with 1007 as soon as a fragment is
 * bad, without the rest of the message. */
static void
s_bad_utf8(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	sframe(fd, 0x01, "ok \xce", 4, false);
	sframe(fd, 0x00, "\xba then \xff", 8, false);
	read_until_close(fd);
	wait_eof(fd);
}

static void
s_bad_utf8_whole(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	sframe(fd, 0x81, "\xed\xa0\x80", 3, false);     /* a surrogate */
	read_until_close(fd);
	wait_eof(fd);
}

static void
s_bad_reason(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	sclose(fd, 1000, "\xff");
	read_until_close(fd);
	wait_eof(fd);
}

TEST(invalid_utf8_from_the_server_is_1007)
{
	run_case(s_bad_utf8, NULL, NULL);
	CHECK_EQ_STR(srv_log, "C:1007");
	CHECK(strncmp(cli_log, "close:1007", 10) == 0);
	run_case(s_bad_utf8_whole, NULL, NULL);
	CHECK_EQ_STR(srv_log, "C:1007");
	run_case(s_bad_reason, NULL, NULL);
	CHECK_EQ_STR(srv_log, "C:1007");
	CHECK(strncmp(cli_log, "close:1007", 10) == 0);
}

/* Protocol errors from the server: 1002. */
static int bad_b0;
static bool bad_mask;

static void
s_protocol_error(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	sframe(fd, bad_b0, "x", 1, bad_mask);
	read_until_close(fd);
	wait_eof(fd);
}

TEST(protocol_errors_from_the_server_are_1002)
{
	static const struct {
		int b0;
		bool mask;
	} bad[] = {
		{ 0x81, true },         /* a masked frame from a server */
		{ 0xC1, false },        /* RSV1 without an extension */
		{ 0x83, false },        /* a reserved opcode */
		{ 0x09, false },        /* a fragmented ping */
		{ 0x80, false },        /* a continuation with no message */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad_b0 = bad[i].b0;
		bad_mask = bad[i].mask;
		run_case(s_protocol_error, NULL, NULL);
		CHECK_EQ_STR(srv_log, "C:1002");
		CHECK(strncmp(cli_log, "close:1002", 10) == 0);
	}
}

/* The close handshake started by the client, and its timeout. */
static void
s_echo_close(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	read_until_close(fd);
	sclose(fd, 4000, "done too");
	wait_eof(fd);
}

static void
s_silent_close(int fd)
{
	if (!handshake(fd, true, NULL))
		return;
	read_until_close(fd);
	wait_eof(fd);          /* never answers: the client gives up */
}

static void
c_close(struct whirl_ws *ws)
{
	whirl_ws_close(ws, 4000, "done");
}

TEST(close_handshake_from_the_client_and_its_timeout)
{
	struct whirl_ws_connect_opts o = { .timeout_ms = 10000,
		.ws = { .close_timeout_ms = 200 } };

	run_case(s_echo_close, c_close, NULL);
	CHECK_EQ_STR(srv_log, "C:4000,done");
	CHECK_EQ_STR(cli_log, "close:4000,done too");
	run_case(s_silent_close, c_close, &o);
	CHECK_EQ_STR(srv_log, "C:4000,done");
	CHECK_EQ_STR(cli_log, "close:1006");
}

/* Compression both ways, the server's window kept across messages. */
static void
s_deflate(int fd)
{
	static const char text[] = "compress me, compress me, compress me";
	unsigned char out[512];
	z_stream z = { 0 };
	size_t n;
	int i;

	if (!handshake(fd, true, "permessage-deflate"))
		return;
	deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY);
	for (i = 0; i < 2; i++) {
		z.next_in = (Bytef *)(uintptr_t)text;
		z.avail_in = sizeof(text) - 1;
		z.next_out = out;
		z.avail_out = sizeof(out);
		deflate(&z, Z_SYNC_FLUSH);
		n = sizeof(out) - z.avail_out - 4;    /* no 00 00 ff ff */
		sframe(fd, 0xC1, out, n, false);
	}
	deflateEnd(&z);
	read_until_close(fd);
	sclose(fd, 1000, "");
	wait_eof(fd);
}

static void
c_deflate(struct whirl_ws *ws)
{
	whirl_ws_send(ws, false, "a message long enough to compress", 33);
	whirl_ws_send(ws, false, "a message long enough to compress", 33);
	whirl_ws_close(ws, 1000, "");
}

TEST(permessage_deflate_both_ways_with_context_takeover)
{
	struct whirl_ws_connect_opts o = { .deflate = true,
		.timeout_ms = 10000 };

	run_case(s_deflate, c_deflate, &o);
	CHECK_EQ_STR(offer, "permessage-deflate; client_max_window_bits");
	CHECK_EQ_STR(cli_log, "M:compress me, compress me, compress me "
	    "M:compress me, compress me, compress me close:1000");
	CHECK_EQ_STR(srv_log, "Tz:a message long enough to compress "
	    "Tz:a message long enough to compress C:1000");
}

/* Handshakes the client refuses. */
static void
s_wrong_accept(int fd)
{
	handshake(fd, false, NULL);
	wait_eof(fd);
}

static void
s_not_found(int fd)
{
	static const char r[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 9\r\n\r\nnot here\n";
	char key[32];

	if (read_request(fd, key))
		send(fd, r, sizeof(r) - 1, 0);
	wait_eof(fd);
}

static void
s_unasked_extension(int fd)
{
	handshake(fd, true, "permessage-deflate");
	wait_eof(fd);
}

TEST(handshakes_refused_by_the_client)
{
	run_case(s_wrong_accept, NULL, NULL);
	CHECK_EQ_INT(connect_status, 101);
	CHECK_EQ_STR(connect_err, "bad Sec-WebSocket-Accept");
	CHECK_EQ_STR(cli_log, "");
	run_case(s_not_found, NULL, NULL);
	CHECK_EQ_INT(connect_status, 404);
	CHECK_EQ_STR(connect_err, "server answered HTTP 404");
	run_case(s_unasked_extension, NULL, NULL);
	CHECK_EQ_STR(connect_err, "server chose an extension not offered");
	CHECK_EQ_STR(offer, "");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(client_frames_are_masked_with_fresh_keys);
	RUN(server_fragments_with_pings_and_pongs_between_them);
	RUN(invalid_utf8_from_the_server_is_1007);
	RUN(protocol_errors_from_the_server_are_1002);
	RUN(close_handshake_from_the_client_and_its_timeout);
	RUN(permessage_deflate_both_ways_with_context_takeover);
	RUN(handshakes_refused_by_the_client);
	if (inz_ready)
		inflateEnd(&inz);
	return unit_done();
}
