/* fuzz_ws.c - WebSocket frames in both roles, with and without
 * permessage-deflate, and the incremental UTF-8 checker.
 *
 * Each input is a whirl_ws on one end of a socketpair; a peer (peer.h)
 * writes the frames to the other end, whole or in pieces, then its EOF,
 * and reads what the WebSocket answers.  The handler echoes messages, may
 * start a close, send fragments and pings, pause and resume, or free the
 * WebSocket from inside a callback.  The loop runs until nothing is left.
 *
 * Input: two option bytes, then the frames.
 *   byte 0  bit 0 client role (frames must come unmasked)
 *           bit 1 permessage-deflate; bits 2, 3 server_ and
 *           client_no_context_takeover; bits 4-5 our window bits: 15, 8,
 *           9, 12 (the server's when we are the server, else the client's)
 *           bit 6 max_message 64 bytes; bit 7 write in 7-byte pieces
 *   byte 1  bit 0 echo each message; bit 1 answer the first with a
 *           fragmented message; bit 2 close (1000) after the first; bit 3
 *           ping at the start; bit 4 pause at the first message and resume
 *           on the next turn; bit 5 free the WebSocket from inside the
 *           first message callback; bit 6 a ping every turn (timer 0)
 *
 * Properties checked: the close callback fires exactly once (unless the
 * WebSocket was freed first), with a code a peer may see; a text message
 * is valid UTF-8 (by a decoder of our own) and no message is longer than
 * max_message; nothing is left on the loop.  And the UTF-8 checker, fed
 * the frames' bytes whole and in three pieces, agrees with that decoder.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "peer.h"
#include "whirl.h"

static struct whirl_loop *loop;

struct conn {
	struct whirl_ws *ws;
	struct fuzz_peer peer;
	struct whirl_timer *timer;
	uint8_t act;
	size_t max_message;
	int messages, closes;
	bool freed;
};

/* The checker agrees with fuzz_utf8_ok, whole and in pieces; a prefix
 * that stops inside a character is not "complete", and the same bytes fed
 * again after a failure need not be accepted. */
static void
check_utf8(const uint8_t *p, size_t n)
{
	struct whirl_utf8 u = { 0, 0, 0 };
	bool whole, pieces = true;
	size_t a = n > 0 ? p[0] % (n + 1) : 0, b = n > 1 ? p[1] % (n + 1) : 0;

	if (a > b) {
		size_t t = a;

		a = b;
		b = t;
	}
	whole = whirl_utf8_feed(&u, p, n) && whirl_utf8_complete(&u);
	FUZZ_CHECK(whole == fuzz_utf8_ok(p, n));
	memset(&u, 0, sizeof(u));
	pieces = whirl_utf8_feed(&u, p, a) && whirl_utf8_feed(&u, p + a,
	    b - a) && whirl_utf8_feed(&u, p + b, n - b) &&
	    whirl_utf8_complete(&u);
	FUZZ_CHECK(pieces == whole);
}

static void
on_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	struct conn *c = arg;
	bool first = c->messages++ == 0;

	FUZZ_CHECK(len <= c->max_message);
	if (!binary)
		FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)data, len));
	if (c->act & 1)
		whirl_ws_send(ws, binary, data, len);
	if (!first)
		return;
	if (c->act & 2) {
		whirl_ws_send_fragment(ws, binary, true, false, data, len / 2);
		whirl_ws_ping(ws, "mid", 3);
		whirl_ws_send_fragment(ws, binary, false, true, data + len / 2,
		    len - len / 2);
	}
	if (c->act & 4)
		whirl_ws_close(ws, WHIRL_WS_NORMAL, "bye");
	if (c->act & 16)
		whirl_ws_pause(ws, true);
	if (c->act & 32) {
		whirl_ws_free(ws);
		c->freed = true;
		c->ws = NULL;
	}
}

static void
on_pong(struct whirl_ws *ws, const char *data, size_t len, void *arg)
{
	(void)ws;
	(void)data;
	(void)arg;
	FUZZ_CHECK(len <= 125);
}

static void
on_close(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	struct conn *c = arg;

	FUZZ_CHECK(c->closes++ == 0);
	FUZZ_CHECK(reason != NULL);
	/* What a peer may send (RFC 6455 7.4), or what we report
	 * ourselves: 1005 (no code), 1006 (dropped). */
	FUZZ_CHECK((code >= 1000 && code <= 1003) ||
	    (code >= 1005 && code <= 1011) || code == 1014 ||
	    (code >= 3000 && code <= 4999));
	whirl_ws_free(ws);
	c->ws = NULL;
	c->freed = true;
}

static void
on_ping(struct whirl_ws *ws, const char *data, size_t len, void *arg)
{
	(void)ws;
	(void)data;
	(void)arg;
	FUZZ_CHECK(len <= 125);
}

static void
on_water(struct whirl_ws *ws, bool above, void *arg)
{
	(void)arg;
	(void)above;
	whirl_ws_pending(ws);
}

static const struct whirl_ws_handler handler = {
	.message = on_message, .pong = on_pong, .close = on_close,
	.water = on_water, .ping = on_ping
};

/* Every turn while the WebSocket lives: resume a pause, maybe ping. */
static void
on_tick(struct whirl_timer *t, void *arg)
{
	struct conn *c = arg;

	if (c->ws != NULL) {
		whirl_ws_pause(c->ws, false);
		if (c->act & 64)
			whirl_ws_ping(c->ws, NULL, 0);
	}
	if (c->ws == NULL || c->peer.gone) {
		whirl_timer_free(t);
		c->timer = NULL;
		return;
	}
	whirl_timer_start(t, 0, false);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	loop = whirl_loop_new();
	FUZZ_CHECK(loop != NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int bits[4] = { 15, 8, 9, 12 };
	struct fuzz_in in = { data, size };
	uint8_t o = fuzz_byte(&in), act = fuzz_byte(&in);
	bool client = o & 1;
	struct whirl_ws_opts opts;
	struct whirl_stream *s;
	struct conn c;
	int sv[2];

	check_utf8(in.p, in.n);

	memset(&opts, 0, sizeof(opts));
	opts.deflate.enabled = (o & 2) != 0;
	opts.deflate.server_no_context_takeover = (o & 4) != 0;
	opts.deflate.client_no_context_takeover = (o & 8) != 0;
	if (client)
		opts.deflate.client_max_window_bits = bits[(o >> 4) & 3];
	else
		opts.deflate.server_max_window_bits = bits[(o >> 4) & 3];
	opts.max_message = (o & 64) ? 64 : 0;
	opts.high_water = 4096;

	memset(&c, 0, sizeof(c));
	c.act = act;
	c.max_message = (o & 64) ? 64 : 16u * 1024 * 1024;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv) == 0);
	s = whirl_stream_new(loop, sv[0], WHIRL_STREAM_SOCKET);
	FUZZ_CHECK(s != NULL);
	c.ws = whirl_ws_new(s, client, &opts, &handler, &c);
	if (act & 8)
		whirl_ws_ping(c.ws, "hi", 2);
	if (act & (16 | 64)) {
		c.timer = whirl_timer_new(loop, on_tick, &c);
		whirl_timer_start(c.timer, 0, false);
	}
	fuzz_peer_start(&c.peer, loop, sv[1], in.p, in.n,
	    (o & 128) ? 7 : SIZE_MAX);

	FUZZ_CHECK(whirl_loop_run(loop) == 0);
	FUZZ_CHECK(c.peer.gone);
	FUZZ_CHECK(c.freed);
	FUZZ_CHECK(c.timer == NULL);
	return 0;
}
