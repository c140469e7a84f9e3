/* websocket.h - RFC 6455 WebSockets, both roles, with permessage-deflate
 * (RFC 7692): our own framing on a whirl_stream.
 *
 * A whirl_ws is one open WebSocket.  It reads frames in place from its
 * stream's buffer, reassembles fragmented messages, checks text as UTF-8
 * as it arrives (so a bad fragment fails at once), answers pings, and runs
 * the close handshake.  The handler hears about each whole message, and
 * exactly once about the end (close), with the code and reason the peer
 * sent (1006 when the connection dropped without a close frame).
 *
 * Strictness: a server requires masked frames and a client refuses them;
 * reserved bits without an extension that defines them, reserved opcodes,
 * control frames over 125 bytes or fragmented, a continuation without a
 * start, a data frame inside a fragmented message, a 1-byte close payload
 * and invalid close codes close the connection with 1002; invalid UTF-8
 * (in text or in a close reason) with 1007; a message (after inflating)
 * above max_message with 1009.
 *
 * Memory: an idle connection holds no frame or message buffer; a deflate
 * context is kept only while context takeover is in force.
 *
 * Ownership: whirl_ws_new takes the stream: the WebSocket closes and frees
 * it.  The caller owns the whirl_ws and frees it with whirl_ws_free (safe
 * from inside its own callbacks; after the close callback it is the only
 * call left to make).  Message data is valid during the callback only.
 */
#ifndef WHIRL_WEBSOCKET_H
#define WHIRL_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whirl_stream;
struct whirl_ws;

#define WHIRL_WS_NORMAL          1000
#define WHIRL_WS_GOING_AWAY      1001
#define WHIRL_WS_PROTOCOL_ERROR  1002
#define WHIRL_WS_NO_STATUS       1005
#define WHIRL_WS_ABNORMAL        1006
#define WHIRL_WS_INVALID_DATA    1007
#define WHIRL_WS_POLICY          1008
#define WHIRL_WS_TOO_BIG         1009

/* permessage-deflate as negotiated in the handshake. */
struct whirl_ws_deflate {
	bool enabled;
	bool server_no_context_takeover;
	bool client_no_context_takeover;
	int server_max_window_bits;      /* 8..15 (0: 15) */
	int client_max_window_bits;      /* 8..15 (0: 15) */
};

struct whirl_ws_opts {
	size_t max_message;          /* default 16 MiB */
	size_t high_water;           /* queued output that fires water; 1 MiB */
	uint64_t close_timeout_ms;   /* for the peer's close; default 5 s */
	uint64_t ping_interval_ms;   /* 0: no pings of our own */
	uint64_t ping_timeout_ms;    /* no pong by then: close 1006 */
	struct whirl_ws_deflate deflate;
};

struct whirl_ws_handler {
	/* A whole message; binary false means valid UTF-8 text. */
	void (*message)(struct whirl_ws *ws, bool binary, const char *data,
	    size_t len, void *arg);
	/* A pong arrived (for a ping of ours, or unsolicited). */
	void (*pong)(struct whirl_ws *ws, const char *data, size_t len,
	    void *arg);
	/* The connection is over: code and reason from the peer's close
	 * frame (1005 if it had none), or 1006 if it just dropped, or the
	 * code we closed with after a protocol error.  Exactly once. */
	void (*close)(struct whirl_ws *ws, int code, const char *reason,
	    void *arg);
	/* Queued output crossed high_water (above) or drained to half. */
	void (*water)(struct whirl_ws *ws, bool above, void *arg);
	/* A ping arrived; it has been answered already. */
	void (*ping)(struct whirl_ws *ws, const char *data, size_t len,
	    void *arg);
};

/* Start a WebSocket on a stream whose handshake is done (any bytes after
 * the handshake are still in the stream's buffer).  opts may be NULL.
 * Takes the stream.  Never fails. */
struct whirl_ws *whirl_ws_new(struct whirl_stream *s, bool client,
    const struct whirl_ws_opts *opts, const struct whirl_ws_handler *h,
    void *arg);
void whirl_ws_free(struct whirl_ws *ws);

/* Send a whole message (copied; compressed when deflate is on and it
 * pays).  -1 once closing or closed. */
int whirl_ws_send(struct whirl_ws *ws, bool binary, const void *data,
    size_t len);
/* Send a message in fragments: first with fin false, then continuations;
 * the last with fin true.  Never compressed. */
int whirl_ws_send_fragment(struct whirl_ws *ws, bool binary, bool first,
    bool fin, const void *data, size_t len);
int whirl_ws_ping(struct whirl_ws *ws, const void *data, size_t len);
int whirl_ws_pong(struct whirl_ws *ws, const void *data, size_t len);
/* May a close frame carry this code (RFC 6455 7.4: 1000-1003, 1007-1011,
 * 3000-4999)?  A received one that may not is a protocol error (1002);
 * for a code to send, as a client shell takes it from its user. */
bool whirl_ws_close_code_valid(long code);
/* Start the close handshake (code 0: no status); the close callback fires
 * when the peer answered or close_timeout_ms passed. */
int whirl_ws_close(struct whirl_ws *ws, int code, const char *reason);
size_t whirl_ws_pending(const struct whirl_ws *ws);
/* Stop reading frames, so that TCP holds the peer back, until resumed
 * (for a consumer that is slow: an echo whose client does not read, a
 * program that does not take its input).  Nothing arrives meanwhile, not
 * even control frames; whirl_ws_close resumes, to read the answer. */
void whirl_ws_pause(struct whirl_ws *ws, bool pause);
struct whirl_stream *whirl_ws_stream(const struct whirl_ws *ws);

/*
 * The server handshake, from an HTTP request (httpserver.h).
 */
struct whirl_request;

struct whirl_ws_accept_opts {
	struct whirl_ws_opts ws;         /* deflate is filled in here */
	bool deflate;                    /* accept permessage-deflate */
	const char *const *subprotocols; /* ours, preferred first; NULL-ended */
	/* Origins allowed besides the request's own host ("https://a.b");
	 * NULL-ended.  Tornado's check_origin: no Origin header passes. */
	const char *const *origins;
	bool any_origin;
};

/* Answer the upgrade: 101 and a WebSocket on the request's connection,
 * or Tornado's answer when the request is not a valid handshake (400; 426
 * with Sec-WebSocket-Version: 13; 403 for a foreign Origin) and NULL.
 * Either way the request is finished. */
struct whirl_ws *whirl_ws_accept(struct whirl_request *req,
    const struct whirl_ws_accept_opts *o, const struct whirl_ws_handler *h,
    void *arg);

/*
 * The client handshake: connect to a ws:// or wss:// URL.
 */
struct whirl_loop;
struct whirl_tls_ctx;
struct whirl_ws_connecting;

struct whirl_ws_connect_opts {
	struct whirl_ws_opts ws;       /* deflate is filled in here */
	bool deflate;                  /* offer permessage-deflate */
	const char *const *headers;    /* extra "Name: value" lines */
	const char *subprotocols;      /* "chat, superchat", or NULL */
	const char *origin;            /* Origin header, or NULL */
	struct whirl_tls_ctx *tls;     /* client context for wss (required) */
	uint64_t timeout_ms;           /* connect + handshake; 0: none */
};

/* ws is the open WebSocket (the caller owns it), or NULL with err and,
 * when the server answered with something else than 101, its status.
 * protocol is the subprotocol the server chose, or NULL. */
typedef void (*whirl_ws_connect_cb)(struct whirl_ws_connecting *c,
    struct whirl_ws *ws, int status, const char *protocol, const char *err,
    void *arg);

/* Start connecting; cb fires once, on a later turn.  The handler (and
 * harg) are those of the WebSocket to be.  NULL (whirl_error) only for a
 * URL that is not ws:// or wss://, or wss:// without a TLS context. */
struct whirl_ws_connecting *whirl_ws_connect(struct whirl_loop *loop,
    const char *url, const struct whirl_ws_connect_opts *o,
    const struct whirl_ws_handler *h, void *harg, whirl_ws_connect_cb cb,
    void *arg);
/* Give up (not from inside cb): nothing more is called. */
void whirl_ws_connect_cancel(struct whirl_ws_connecting *c);

/* Split "ws://host:port/path?q" (wss://, [v6] hosts); false if malformed,
 * or if it holds a space or a control character (unencoded, they would
 * break the request line).  host and target are copied into the buffers. */
bool whirl_ws_parse_url(const char *url, bool *tls, char *host,
    size_t hsize, int *port, char *target, size_t tsize);

/* Handshake pieces (the web layer and the client use them). */

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 chars
 * plus NUL into out. */
void whirl_ws_accept_key(const char *key, char out[29]);
/* A fresh random Sec-WebSocket-Key (24 chars plus NUL). */
void whirl_ws_make_key(char out[25]);
/* A Sec-WebSocket-Key is 16 bytes in base64. */
bool whirl_ws_key_valid(const char *key);
/* Server: parse a client's Sec-WebSocket-Extensions offer; fills d with
 * what we accept (first acceptable permessage-deflate offer) and writes
 * the response header value into out.  False if nothing is accepted. */
bool whirl_ws_deflate_accept(const char *offer, struct whirl_ws_deflate *d,
    char *out, size_t size);
/* Client: the offer we send, and the server's answer checked against it
 * (false: a response we did not ask for; fail the handshake). */
const char *whirl_ws_deflate_offer(void);
bool whirl_ws_deflate_answer(const char *answer, struct whirl_ws_deflate *d);

/* Incremental UTF-8 validation (also for whirl-ws's stdin lines). */
struct whirl_utf8 {
	uint8_t need, lo, hi;
};
/* False at the first byte that cannot be UTF-8; state carries across
 * calls.  whirl_utf8_complete: no sequence left open. */
bool whirl_utf8_feed(struct whirl_utf8 *u, const void *data, size_t len);
bool whirl_utf8_complete(const struct whirl_utf8 *u);

#endif
