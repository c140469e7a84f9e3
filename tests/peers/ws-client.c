/* ws-client.c - whirl's client role (whirl_ws_connect) as an interop
 * peer.  interop.bats compiles it against libwhirl.a in its setup_file;
 * it is not part of the Makefile build.
 *
 *     ws-client URL
 *
 * Against an echo server that answers "?ext" with the
 * Sec-WebSocket-Extensions it sent and "close-me" with a close (4001 "as
 * asked"): asks for the extensions, exchanges text, binary, fragmented,
 * 1 MiB and compressed messages and closes with 4000 "bye"; then a second
 * connection asks the server to close.  One line per step, as wspeer.py
 * prints them.  Exit 0 when every step ran and matched, 1 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whirl.h"

#define BOUND_MS   20000
#define BIG        (1u << 20)

static struct whirl_loop *loop;
static const char *url;
static int step, phase, status = 1;
static bool all_ok = true;
static char *big, *text;
static size_t text_len;
static unsigned char bytes[256];

static void connect_to(void);

/* Send what step `step` sends, then move on. */
static void
send_step(struct whirl_ws *ws)
{
	switch (step++) {
	case 0:
		whirl_ws_send(ws, false, "?ext", 4);
		break;
	case 1:
		whirl_ws_send(ws, false, "Hello, world", 12);
		break;
	case 2:
		whirl_ws_send(ws, true, bytes, sizeof(bytes));
		break;
	case 3:
		whirl_ws_send_fragment(ws, false, true, false, "frag", 4);
		whirl_ws_send_fragment(ws, false, false, false, "men", 3);
		whirl_ws_send_fragment(ws, false, false, true, "ted", 3);
		break;
	case 4:
		whirl_ws_send(ws, true, big, BIG);
		break;
	case 5:
		whirl_ws_send(ws, false, text, text_len);
		break;
	default:
		whirl_ws_close(ws, 4000, "bye");
		break;
	}
}

static const char *
verdict(bool same)
{
	if (!same)
		all_ok = false;
	return same ? "ok" : "WRONG";
}

/* The answer to the step just sent. */
static void
on_message(struct whirl_ws *ws, bool binary, const char *data, size_t len,
    void *arg)
{
	(void)arg;
	switch (step) {
	case 1:
		printf("extensions: %.*s\n", (int)len, data);
		break;
	case 2:
		printf("text: %.*s\n", (int)len, data);
		break;
	case 3:
		printf("binary: %s\n", verdict(binary && len == sizeof(bytes) &&
		    memcmp(data, bytes, len) == 0));
		break;
	case 4:
		printf("fragmented: %.*s\n", (int)len, data);
		break;
	case 5:
		printf("1 MiB: %s\n", verdict(binary && len == BIG &&
		    memcmp(data, big, len) == 0));
		break;
	case 6:
		printf("compressed: %s\n", verdict(!binary && len == text_len &&
		    memcmp(data, text, len) == 0));
		break;
	default:
		printf("unexpected: %.*s\n", (int)len, data);
		all_ok = false;
		return;
	}
	fflush(stdout);
	send_step(ws);
}

static void
on_close(struct whirl_ws *ws, int code, const char *reason, void *arg)
{
	(void)arg;
	printf("closed %d %s\n", code, reason);
	fflush(stdout);
	whirl_ws_free(ws);
	if (phase++ == 0) {
		if (code != 4000)
			all_ok = false;
		connect_to();
		return;
	}
	status = all_ok && step == 7 && code == 4001 ? 0 : 1;
	whirl_loop_stop(loop);
}

static const struct whirl_ws_handler handler = {
	.message = on_message, .close = on_close
};

static void
on_connect(struct whirl_ws_connecting *c, struct whirl_ws *ws, int st,
    const char *protocol, const char *err, void *arg)
{
	(void)c;
	(void)protocol;
	(void)arg;
	if (ws == NULL) {
		printf("connect: %s (status %d)\n", err, st);
		whirl_loop_stop(loop);
		return;
	}
	if (phase == 0)
		send_step(ws);
	else
		whirl_ws_send(ws, false, "close-me", 8);
}

static void
connect_to(void)
{
	struct whirl_ws_connect_opts o = { .deflate = true,
		.timeout_ms = BOUND_MS };

	if (whirl_ws_connect(loop, url, &o, &handler, NULL, on_connect,
	    NULL) == NULL) {
		printf("connect: %s\n", whirl_error());
		whirl_loop_stop(loop);
	}
}

static void
on_timeout(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	printf("timed out at step %d\n", step);
	exit(1);
}

int
main(int argc, char **argv)
{
	static const char word[] = "compress me ";
	struct whirl_timer *guard;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: ws-client URL\n");
		return 2;
	}
	url = argv[1];
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)i;
	big = malloc(BIG);
	text_len = 10000 * (sizeof(word) - 1);
	text = malloc(text_len);
	if (big == NULL || text == NULL)
		return 1;
	srandom(42);
	for (i = 0; i < BIG; i++)
		big[i] = (char)random();
	for (i = 0; i < 10000; i++)
		memcpy(text + i * (sizeof(word) - 1), word, sizeof(word) - 1);
	loop = whirl_loop_new();
	guard = whirl_timer_new(loop, on_timeout, NULL);
	whirl_timer_start(guard, BOUND_MS, false);
	connect_to();
	whirl_loop_run(loop);
	whirl_timer_free(guard);
	/* The last close frames and FINs. */
	whirl_loop_run(loop);
	whirl_loop_free(loop);
	free(big);
	free(text);
	return status;
}
