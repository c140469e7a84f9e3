/* test_websocket.c - the Autobahn-style conformance cases (framing,
 * pings, reserved bits and opcodes, fragmentation, UTF-8 at every split
 * point, close codes and reasons, limits, compression) against the server
 * role, over a socketpair, with a raw client written here. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "whirl.h"
#include "websocket.h"
#include "unit.h"

static struct whirl_loop *loop;
static int close_code;
static char close_reason[128];
static int messages;

/* The server under test echoes every message. */
static void
echo(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	(void)arg;
	messages++;
	whirl_ws_send(ws, binary, data, len);
}

static void
on_close(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	(void)arg;
	close_code = code;
	snprintf(close_reason, sizeof(close_reason), "%s", reason);
	whirl_ws_free(ws);
}

static const struct whirl_ws_handler handler = { .message = echo,
	.close = on_close };

/* What the raw client received. */
static unsigned char rx[4 << 20];
static size_t nrx;
static bool peer_eof;

static void
read_peer(struct whirl_watch *w, int fd, int ready, void *arg)
{
	ssize_t n;

	(void)ready;
	(void)arg;
	while ((n = recv(fd, rx + nrx, sizeof(rx) - nrx, MSG_DONTWAIT)) > 0)
		nrx += (size_t)n;
	if (n == 0) {
		peer_eof = true;
		whirl_watch_free(w);
		whirl_loop_stop(loop);
	}
}

/* A client frame, masked unless told otherwise. */
static size_t
frame(unsigned char *out, int b0, const void *data, size_t len, bool mask)
{
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
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
		memcpy(out + hl, key, 4);
		hl += 4;
	}
	for (i = 0; i < len; i++)
		out[hl + i] = ((const unsigned char *)data)[i] ^
		    (mask ? key[i & 3] : 0);
	return hl + len;
}

/* Run a session: the client's bytes, then wait until the server closes
 * (or a second passes after the last byte). */
static unsigned char txbuf[4 << 20];
static size_t ntx;

static void
add(int b0, const void *data, size_t len)
{
	ntx += frame(txbuf + ntx, b0, data, len, true);
}

static void
add_raw(int b0, const void *data, size_t len, bool mask)
{
	ntx += frame(txbuf + ntx, b0, data, len, mask);
}

static void
add_close(int code, const char *reason)
{
	unsigned char p[128] = { 0 };
	size_t n = 0;

	if (code >= 0) {
		p[0] = (unsigned char)(code >> 8);
		p[1] = (unsigned char)code;
		n = 2 + strlen(reason);
		memcpy(p + 2, reason, strlen(reason));
	}
	add(0x88, p, n);
}

static void
stop_loop(struct whirl_timer *t, void *arg)
{
	(void)t;
	whirl_loop_stop(arg);
}

static void
session(const struct whirl_ws_opts *opts)
{
	struct whirl_stream *s;
	struct whirl_timer *t;
	int sv[2];
	size_t off = 0;
	ssize_t n;

	loop = whirl_loop_new();
	nrx = 0;
	peer_eof = false;
	close_code = 0;
	close_reason[0] = '\0';
	messages = 0;
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_ws_new(s, false, opts, &handler, NULL);
	whirl_watch_new(loop, sv[1], WHIRL_READ, read_peer, NULL);
	t = whirl_timer_new(loop, stop_loop, loop);
	/* Feed in pieces so the server sees frames split across reads. */
	while (off < ntx) {
		n = write(sv[1], txbuf + off, ntx - off < 4096 ? ntx - off : 4096);
		if (n > 0)
			off += (size_t)n;
		whirl_timer_start(t, 1, false);
		whirl_loop_run(loop);
	}
	/* The client is done: the server must finish on its own. */
	shutdown(sv[1], SHUT_WR);
	if (!peer_eof) {
		whirl_timer_start(t, 2000, false);
		whirl_loop_run(loop);
	}
	whirl_timer_free(t);
	close(sv[1]);
	/* Whatever the server still holds finishes and frees itself. */
	whirl_loop_run(loop);
	whirl_loop_free(loop);
	ntx = 0;
}

/* The server's frames, as text: "T:payload" "B:<n>" "P:payload"
 * "C:code" for each. */
static char seen[1 << 16];

static const char *
server_frames(void)
{
	size_t off = 0, len = 0, hl, i;
	char *o = seen;

	seen[0] = '\0';
	while (off + 2 <= nrx) {
		unsigned char *p = rx + off;
		int op = p[0] & 0xf;
		uint64_t plen = p[1] & 0x7f;

		CHECK((p[1] & 0x80) == 0);         /* servers never mask */
		hl = 2;
		if (plen == 126)
			plen = (uint64_t)p[2] << 8 | p[3], hl = 4;
		else if (plen == 127)
			for (plen = 0, i = 0, hl = 10; i < 8; i++)
				plen = plen << 8 | p[2 + i];
		if (off + hl + plen > nrx)
			break;
		len = (size_t)plen;
		if (op == 1 && len < 20)
			o += sprintf(o, "%sT:%.*s", o == seen ? "" : " ", (int)len,
			    (char *)p + hl);
		else if (op == 1 || op == 2)
			o += sprintf(o, "%s%c%s:%zu", o == seen ? "" : " ",
			    op == 1 ? 'T' : 'B', (p[0] & 0x40) ? "z" : "", len);
		else if (op == 10)
			o += sprintf(o, "%sP:%.*s", o == seen ? "" : " ", (int)len,
			    (char *)p + hl);
		else if (op == 8)
			o += sprintf(o, "%sC:%d", o == seen ? "" : " ",
			    len >= 2 ? p[hl] << 8 | p[hl + 1] : 0);
		else if (op == 0)
			o += sprintf(o, "%s+%zu", o == seen ? "" : " ", len);
		off += hl + len;
	}
	return seen;
}

TEST(echo_text_and_binary_of_every_length_class)
{
	static char big[70000];
	unsigned char bin[3] = { 0, 1, 255 };

	memset(big, 'a', sizeof(big));
	add(0x81, "Hello, world", 12);
	add(0x81, "", 0);
	add(0x82, bin, 3);
	add(0x81, big, 125);
	add(0x81, big, 126);
	add(0x81, big, 65535);
	add(0x82, big, 65536);
	add_close(1000, "");
	session(NULL);
	CHECK_EQ_STR(server_frames(), "T:Hello, world T: B:3 T:125 T:126 "
	    "T:65535 B:65536 C:1000");
	CHECK_EQ_INT(close_code, 1000);
}

TEST(one_mib_message_and_many_small_ones)
{
	static char mib[1 << 20];
	int i;

	memset(mib, 'm', sizeof(mib));
	add(0x82, mib, sizeof(mib));
	for (i = 0; i < 500; i++)
		add(0x81, "x", 1);
	add_close(1000, "");
	session(NULL);
	CHECK_EQ_INT(messages, 501);
	CHECK(strncmp(server_frames(), "B:1048576 T:x T:x", 17) == 0);
}

TEST(fragments_with_a_ping_between_them)
{
	add(0x01, "frag", 4);
	add(0x89, "ping!", 5);
	add(0x00, "men", 3);
	add(0x80, "ted", 3);
	add_close(1000, "");
	session(NULL);
	CHECK_EQ_STR(server_frames(), "P:ping! T:fragmented C:1000");
}

static void
expect_close(int code)
{
	char want[16];

	session(NULL);
	snprintf(want, sizeof(want), "C:%d", code);
	CHECK(strstr(server_frames(), want) != NULL);
	if (strstr(seen, want) == NULL)
		printf("# got %s\n", seen);
	CHECK_EQ_INT(close_code, code);
}

TEST(protocol_errors_close_with_1002)
{
	unsigned char big[200] = { 0 };
	int op;

	add_raw(0x81, "unmasked", 8, false);
	expect_close(1002);
	add(0xC1, "rsv1", 4);                  /* no extension agreed */
	expect_close(1002);
	add(0xA1, "rsv2", 4);
	expect_close(1002);
	add(0x91, "rsv3", 4);
	expect_close(1002);
	for (op = 3; op <= 15; op++) {
		if (op >= 8 && op <= 10)
			continue;
		add(0x80 | op, "", 0);
		expect_close(1002);
	}
	add(0x89, big, 126);                   /* control frame too long */
	expect_close(1002);
	add(0x09, "p", 1);                     /* fragmented control */
	expect_close(1002);
	add(0x80, "x", 1);                     /* continuation, no start */
	expect_close(1002);
	add(0x01, "a", 1);
	add(0x81, "b", 1);                     /* new message inside one */
	expect_close(1002);
	add(0x88, "x", 1);                     /* 1-byte close payload */
	expect_close(1002);
}

TEST(close_codes_valid_echoed_invalid_refused)
{
	static const int ok[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009,
		1010, 1011, 3000, 3999, 4000, 4999 };
	static const int bad[] = { 0, 999, 1004, 1005, 1006, 1012, 1015,
		1016, 2000, 2999, 5000, 65535 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char want[16];

		add_close(ok[i], "reason");
		session(NULL);
		snprintf(want, sizeof(want), "C:%d", ok[i]);
		CHECK_EQ_STR(server_frames(), want);
		CHECK_EQ_INT(close_code, ok[i]);
		CHECK_EQ_STR(close_reason, "reason");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		add_close(bad[i], "");
		expect_close(1002);
	}
	add_close(-1, "");                     /* empty close: no status */
	session(NULL);
	CHECK_EQ_STR(server_frames(), "C:0");
	CHECK_EQ_INT(close_code, 1005);
	add_close(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
	expect_close(1007);
}

/* Autobahn 6.x: a text message split at every point, valid or not. */
TEST(utf8_checked_at_every_split_point)
{
	static const char valid[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"
	    "\xce\xb5 \xf0\x90\x80\x80";
	static const char invalid[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"
	    "\xce\xb5\xed\xa0\x80" "edited";
	size_t len = strlen(valid), cut;

	for (cut = 0; cut <= len; cut++) {
		add(0x01, valid, cut);
		add(0x80, valid + cut, len - cut);
		add_close(1000, "");
		session(NULL);
		CHECK_EQ_INT(close_code, 1000);
		CHECK_EQ_INT(messages, 1);
	}
	len = strlen(invalid);
	for (cut = 0; cut <= len; cut++) {
		add(0x01, invalid, cut);
		add(0x80, invalid + cut, len - cut);
		expect_close(1007);
		CHECK_EQ_INT(messages, 0);
	}
	/* A bad first fragment fails before the rest is sent. */
	add(0x01, "\xff", 1);
	session(NULL);
	CHECK_EQ_INT(close_code, 1007);
	/* Overlongs, surrogates, beyond U+10FFFF, truncated. */
	add(0x81, "\xc0\xaf", 2);
	expect_close(1007);
	add(0x81, "\xed\xbf\xbf", 3);
	expect_close(1007);
	add(0x81, "\xf4\x90\x80\x80", 4);
	expect_close(1007);
	add(0x81, "\xe2\x82", 2);
	expect_close(1007);
}

TEST(message_over_the_limit_is_1009)
{
	struct whirl_ws_opts o = { .max_message = 1000 };
	char buf[1001];

	memset(buf, 'x', sizeof(buf));
	add(0x81, buf, 1001);
	session(&o);
	CHECK_EQ_INT(close_code, 1009);
	add(0x01, buf, 600);
	add(0x80, buf, 600);
	session(&o);
	CHECK_EQ_INT(close_code, 1009);
	add(0x81, buf, 1000);
	add_close(1000, "");
	session(&o);
	CHECK_EQ_INT(messages, 1);
}

static size_t
deflate_raw(const void *in, size_t len, unsigned char *out, size_t cap,
    z_stream *z)
{
	size_t n;

	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	deflate(z, Z_SYNC_FLUSH);
	n = cap - z->avail_out;
	return n - 4;    /* strip 00 00 ff ff */
}

TEST(compressed_messages_with_context_takeover)
{
	struct whirl_ws_opts o = { .deflate = { .enabled = true } };
	static unsigned char out[1 << 16];
	static char text[4000];
	z_stream z = { 0 };
	size_t n;

	memset(text, 'c', sizeof(text));
	deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY);
	n = deflate_raw(text, sizeof(text), out, sizeof(out), &z);
	add(0xC1, out, n);
	n = deflate_raw(text, sizeof(text), out, sizeof(out), &z);
	add(0xC1, out, n);                     /* uses the first's window */
	add_close(1000, "");
	session(&o);
	deflateEnd(&z);
	/* The second decodes only with the first's window kept. */
	CHECK_EQ_INT(messages, 2);
	CHECK(strncmp(server_frames(), "Tz:", 3) == 0);
	CHECK(strstr(seen, " Tz:") != NULL);
	CHECK(strstr(seen, " C:1000") != NULL);
	CHECK_EQ_INT(close_code, 1000);
}

TEST(decompression_bomb_stops_at_the_limit)
{
	struct whirl_ws_opts o = { .max_message = 100000,
		.deflate = { .enabled = true } };
	static unsigned char out[1 << 16];
	static char zeros[1 << 20];
	z_stream z = { 0 };
	size_t n;

	deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
	n = deflate_raw(zeros, sizeof(zeros), out, sizeof(out), &z);
	deflateEnd(&z);
	CHECK(n < 5000);
	add(0xC2, out, n);
	session(&o);
	CHECK_EQ_INT(close_code, 1009);
	CHECK_EQ_INT(messages, 0);
}

TEST(dropped_connection_is_1006)
{
	add(0x01, "half a message", 14);
	session(NULL);
	CHECK_EQ_INT(close_code, 1006);
}

TEST(handshake_helpers)
{
	char accept[29], key[25], out[160];
	struct whirl_ws_deflate d;

	whirl_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
	CHECK_EQ_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");   /* RFC 6455 */
	whirl_ws_make_key(key);
	CHECK(whirl_ws_key_valid(key));
	CHECK(!whirl_ws_key_valid("short"));
	CHECK(!whirl_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"));
	CHECK(whirl_ws_deflate_accept("permessage-deflate; "
	    "client_max_window_bits", &d, out, sizeof(out)));
	CHECK_EQ_STR(out, "permessage-deflate");
	CHECK(whirl_ws_deflate_accept("x-webkit-deflate-frame, "
	    "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover; server_max_window_bits=10", &d, out,
	    sizeof(out)));
	CHECK_EQ_STR(out, "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover; server_max_window_bits=10");
	CHECK(!whirl_ws_deflate_accept("permessage-deflate; "
	    "server_max_window_bits=8", &d, out, sizeof(out)));
	CHECK(!whirl_ws_deflate_accept("permessage-deflate; bogus", &d, out,
	    sizeof(out)));
	CHECK(whirl_ws_deflate_accept("permessage-deflate; bogus, "
	    "permessage-deflate", &d, out, sizeof(out)));
	CHECK(whirl_ws_deflate_answer("permessage-deflate; "
	    "server_no_context_takeover", &d));
	CHECK(d.server_no_context_takeover);
	CHECK(!whirl_ws_deflate_answer("permessage-deflate; x=1", &d));
}

/* RFC 6455 7.4: which close codes a frame may carry. */
TEST(close_codes)
{
	long c, n = 0;

	for (c = -1; c <= 70000; c++)
		n += whirl_ws_close_code_valid(c);
	CHECK_EQ_INT(n, 4 + 5 + 2000);
	CHECK(whirl_ws_close_code_valid(1000));
	CHECK(whirl_ws_close_code_valid(1003));
	CHECK(!whirl_ws_close_code_valid(1004));
	CHECK(!whirl_ws_close_code_valid(1005));
	CHECK(!whirl_ws_close_code_valid(1006));
	CHECK(whirl_ws_close_code_valid(1007));
	CHECK(whirl_ws_close_code_valid(1011));
	CHECK(!whirl_ws_close_code_valid(1012));
	CHECK(!whirl_ws_close_code_valid(2999));
	CHECK(whirl_ws_close_code_valid(3000));
	CHECK(whirl_ws_close_code_valid(4999));
	CHECK(!whirl_ws_close_code_valid(5000));
	CHECK(!whirl_ws_close_code_valid(1000 + 65536L));
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(close_codes);
	RUN(echo_text_and_binary_of_every_length_class);
	RUN(one_mib_message_and_many_small_ones);
	RUN(fragments_with_a_ping_between_them);
	RUN(protocol_errors_close_with_1002);
	RUN(close_codes_valid_echoed_invalid_refused);
	RUN(utf8_checked_at_every_split_point);
	RUN(message_over_the_limit_is_1009);
	RUN(compressed_messages_with_context_takeover);
	RUN(decompression_bomb_stops_at_the_limit);
	RUN(dropped_connection_is_1006);
	RUN(handshake_helpers);
	return unit_done();
}
