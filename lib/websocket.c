/* websocket.c - RFC 6455 framing and RFC 7692 compression on a stream.
 *
 * Invariants:
 *   - frames are parsed in place from the stream's buffer (read_stream):
 *     a frame is handled only once it is buffered whole, and its payload
 *     is unmasked where it lies, so a message in one frame reaches the
 *     handler without a copy.  Only fragmented or compressed messages are
 *     assembled in ws->msg, which is freed after each message;
 *   - while a frame is handled, ws->frame points at its payload and the
 *     ws->frame_room bytes before it (its header and mask, consumed) are
 *     ours to overwrite: a server sending that same payload back writes
 *     its header there and the frame leaves in one write, uncopied;
 *   - the handler's close fires exactly once (notify_close); after it the
 *     WebSocket only waits for its stream to finish writing and close;
 *   - every call out is bracketed by enter()/leave(): a WebSocket freed in
 *     a callback is destroyed by the outermost leave().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "error.h"
#include "http1.h"
#include "httpserver.h"
#include "httputil.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "netutil.h"
#include "tcpserver.h"
#include "websocket.h"

#define OP_CONT   0x0
#define OP_TEXT   0x1
#define OP_BINARY 0x2
#define OP_CLOSE  0x8
#define OP_PING   0x9
#define OP_PONG   0xA

#define DEFAULT_MAX_MESSAGE (16u * 1024 * 1024)
#define DEFAULT_HIGH_WATER  (1024u * 1024)
#define DEFAULT_CLOSE_MS    5000
#define COPY_MAX            (64u * 1024)   /* copied to go out with its header */

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const unsigned char deflate_tail[4] = { 0x00, 0x00, 0xff, 0xff };

struct whirl_ws {
	struct whirl_stream *s;
	bool client;
	struct whirl_ws_opts o;
	struct whirl_ws_handler h;
	void *arg;

	bool in_message, msg_binary, msg_compressed;
	const char *frame;              /* the payload being handled */
	size_t frame_room;              /* header bytes before it */
	char *msg;
	size_t mlen, mcap;
	struct whirl_utf8 utf8;

	z_stream *inflater, *deflater;
	bool sending_fragmented;

	struct whirl_timer *timer;      /* close deadline, or pings; made
					   when first needed (idle: none) */
	bool ping_outstanding;
	bool close_sent, close_received, notified, reading_done;
	bool paused;                    /* whirl_ws_pause */
	int depth;
	bool freed;
};

static size_t on_frames(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg);

/*
 * UTF-8
 */

bool
whirl_utf8_feed(struct whirl_utf8 *u, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	unsigned char b;

	while (p < end) {
		if (u->need == 0) {
			/* ASCII runs are the common case: 8 bytes a step. */
			while (end - p >= 8) {
				uint64_t w;

				memcpy(&w, p, 8);
				if (w & 0x8080808080808080u)
					break;
				p += 8;
			}
			while (p < end && *p < 0x80)
				p++;
			if (p == end)
				break;
			b = *p++;
			u->lo = 0x80;
			u->hi = 0xBF;
			if (b >= 0xC2 && b <= 0xDF)
				u->need = 1;
			else if (b == 0xE0)
				u->need = 2, u->lo = 0xA0;
			else if (b == 0xED)
				u->need = 2, u->hi = 0x9F;   /* no surrogates */
			else if (b >= 0xE1 && b <= 0xEF)
				u->need = 2;
			else if (b == 0xF0)
				u->need = 3, u->lo = 0x90;   /* no overlongs */
			else if (b >= 0xF1 && b <= 0xF3)
				u->need = 3;
			else if (b == 0xF4)
				u->need = 3, u->hi = 0x8F;   /* <= U+10FFFF */
			else
				return false;
			continue;
		}
		b = *p++;
		if (b < u->lo || b > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xBF;
	}
	return true;
}

bool
whirl_utf8_complete(const struct whirl_utf8 *u)
{
	return u->need == 0;
}

/*
 * Handshake pieces
 */

void
whirl_ws_accept_key(const char *key, char out[29])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha1(), NULL);
	EVP_DigestUpdate(c, key, strlen(key));
	EVP_DigestUpdate(c, ws_guid, sizeof(ws_guid) - 1);
	EVP_DigestFinal_ex(c, digest, &dlen);
	EVP_MD_CTX_free(c);
	EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}

void
whirl_ws_make_key(char out[25])
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();    /* no randomness: nothing safe to do */
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}

bool
whirl_ws_key_valid(const char *key)
{
	unsigned char raw[20];
	size_t len = strlen(key);

	/* 16 bytes encode to 24 characters ending in "==". */
	if (len != 24 || key[22] != '=' || key[23] != '=')
		return false;
	return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

/* One extension parameter "name[=value]"; value may be quoted. */
static bool
next_param(const char **pp, char *name, size_t nsize, char *value,
    size_t vsize, bool *has_value)
{
	const char *p = *pp;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == ',')
		return false;
	while (*p != '\0' && *p != '=' && *p != ';' && *p != ',' &&
	    *p != ' ' && *p != '\t')
		if (n + 1 < nsize)
			name[n++] = *p++;
		else
			p++;
	name[n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*has_value = false;
	value[0] = '\0';
	if (*p == '=') {
		bool quoted;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		quoted = *p == '"';
		if (quoted)
			p++;
		n = 0;
		while (*p != '\0' && (quoted ? *p != '"' : (*p != ';' &&
		    *p != ',' && *p != ' ' && *p != '\t')))
			if (n + 1 < vsize)
				value[n++] = *p++;
			else
				p++;
		value[n] = '\0';
		if (quoted && *p == '"')
			p++;
		*has_value = true;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';')
		p++;
	*pp = p;
	return true;
}

static int
window_bits(const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 8 || n > 15)
		return -1;
	return (int)n;
}

/* Parse one offer's parameters (after "permessage-deflate").  A server
 * reads a client's offer (server == true); a client reads the answer. */
static bool
parse_deflate_params(const char **pp, struct whirl_ws_deflate *d,
    bool client_bits_offered_bare)
{
	char name[64], value[32];
	bool has;
	int seen = 0, bits;

	memset(d, 0, sizeof(*d));
	d->enabled = true;
	while (next_param(pp, name, sizeof(name), value, sizeof(value), &has)) {
		if (strcmp(name, "server_no_context_takeover") == 0 && !has &&
		    !(seen & 1)) {
			d->server_no_context_takeover = true;
			seen |= 1;
		} else if (strcmp(name, "client_no_context_takeover") == 0 &&
		    !has && !(seen & 2)) {
			d->client_no_context_takeover = true;
			seen |= 2;
		} else if (strcmp(name, "server_max_window_bits") == 0 && has &&
		    !(seen & 4) && (bits = window_bits(value)) > 0) {
			d->server_max_window_bits = bits;
			seen |= 4;
		} else if (strcmp(name, "client_max_window_bits") == 0 &&
		    !(seen & 8)) {
			if (has && (bits = window_bits(value)) < 0)
				return false;
			d->client_max_window_bits = has ? bits :
			    (client_bits_offered_bare ? 15 : 0);
			seen |= 8;
		} else {
			return false;
		}
	}
	return true;
}

/* Skip to the next comma-separated extension. */
static const char *
next_extension(const char *p)
{
	bool quoted = false;

	for (; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			return p + 1;
	}
	return p;
}

bool
whirl_ws_deflate_accept(const char *offer, struct whirl_ws_deflate *d,
    char *out, size_t size)
{
	const char *p = offer;
	char name[64], value[8];
	bool has;

	memset(d, 0, sizeof(*d));
	while (p != NULL && *p != '\0') {
		const char *here = p;

		if (next_param(&here, name, sizeof(name), value, sizeof(value),
		    &has) && strcmp(name, "permessage-deflate") == 0 && !has &&
		    parse_deflate_params(&here, d, true) &&
		    (*here == '\0' || *here == ',') &&
		    /* zlib cannot make an 8-bit raw window (RFC 7692 8.1) */
		    d->server_max_window_bits != 8) {
			snprintf(out, size, "permessage-deflate%s%s",
			    d->server_no_context_takeover ?
			    "; server_no_context_takeover" : "",
			    d->client_no_context_takeover ?
			    "; client_no_context_takeover" : "");
			if (d->server_max_window_bits > 0) {
				size_t n = strlen(out);

				snprintf(out + n, size - n,
				    "; server_max_window_bits=%d",
				    d->server_max_window_bits);
			}
			if (d->client_max_window_bits > 0 &&
			    d->client_max_window_bits < 15) {
				size_t n = strlen(out);

				snprintf(out + n, size - n,
				    "; client_max_window_bits=%d",
				    d->client_max_window_bits);
			}
			return true;
		}
		p = next_extension(p);
	}
	memset(d, 0, sizeof(*d));
	return false;
}

const char *
whirl_ws_deflate_offer(void)
{
	return "permessage-deflate; client_max_window_bits";
}

bool
whirl_ws_deflate_answer(const char *answer, struct whirl_ws_deflate *d)
{
	const char *p = answer;
	char name[64], value[8];
	bool has;

	memset(d, 0, sizeof(*d));
	if (!next_param(&p, name, sizeof(name), value, sizeof(value), &has) ||
	    strcmp(name, "permessage-deflate") != 0 || has)
		return false;
	if (!parse_deflate_params(&p, d, false) || *p != '\0')
		return false;
	/* We cannot decode with a larger window than we can keep: 8 is
	 * fine for inflating (zlib reads it as 9 only when deflating). */
	return true;
}

/*
 * Lifetime
 */

static void
enter(struct whirl_ws *ws)
{
	ws->depth++;
}

static void
free_zlib(struct whirl_ws *ws)
{
	if (ws->inflater != NULL) {
		inflateEnd(ws->inflater);
		free(ws->inflater);
		ws->inflater = NULL;
	}
	if (ws->deflater != NULL) {
		deflateEnd(ws->deflater);
		free(ws->deflater);
		ws->deflater = NULL;
	}
}

static void
destroy(struct whirl_ws *ws)
{
	whirl_timer_free(ws->timer);
	/* A close frame may still be queued: let it leave. */
	whirl_stream_set_close_cb(ws->s, NULL, NULL);
	whirl_stream_linger_free(ws->s, ws->o.close_timeout_ms);
	free_zlib(ws);
	free(ws->msg);
	free(ws);
}

static bool
leave(struct whirl_ws *ws)
{
	if (--ws->depth == 0 && ws->freed) {
		destroy(ws);
		return false;
	}
	return !ws->freed;
}

void
whirl_ws_free(struct whirl_ws *ws)
{
	if (ws == NULL || ws->freed)
		return;
	ws->freed = true;
	if (ws->depth == 0)
		destroy(ws);
}

static void
notify_close(struct whirl_ws *ws, int code, const char *reason)
{
	if (ws->notified)
		return;
	ws->notified = true;
	free(ws->msg);
	ws->msg = NULL;
	ws->mlen = ws->mcap = 0;
	if (ws->h.close != NULL)
		ws->h.close(ws, code, reason, ws->arg);
}

/*
 * Sending
 */

/* dst = src masked with the 4-byte key (which dst must not overlap;
 * dst may be src): 32 bytes a step, which compilers turn into vector
 * instructions, then 8, then 1. */
static void
mask_copy(unsigned char *dst, const unsigned char *src, size_t len,
    const unsigned char *key)
{
	uint32_t k4;
	uint64_t k8, w, v[4];
	size_t i = 0;

	memcpy(&k4, key, 4);
	k8 = (uint64_t)k4 << 32 | k4;
	for (; i + 32 <= len; i += 32) {
		memcpy(v, src + i, 32);
		v[0] ^= k8;
		v[1] ^= k8;
		v[2] ^= k8;
		v[3] ^= k8;
		memcpy(dst + i, v, 32);
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= k8;
		memcpy(dst + i, &w, 8);
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ key[i & 3];
}

/* The frame header for a payload of len bytes; its length (2, 4, 10). */
static size_t
frame_header(unsigned char *buf, int op, bool fin, bool rsv1, size_t len)
{
	int i;

	buf[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	if (len < 126) {
		buf[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		buf[1] = 126;
		buf[2] = (unsigned char)(len >> 8);
		buf[3] = (unsigned char)len;
		return 4;
	}
	buf[1] = 127;
	for (i = 0; i < 8; i++)
		buf[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

/* Queue one frame, masked by a client, as one write: with the stream's
 * send-at-once path a header written alone would leave as a segment of
 * its own.  A server sending back the payload of the frame being handled
 * (an echo) writes the header into that frame's own header room, so
 * nothing is copied; otherwise only a server's payload above COPY_MAX
 * goes in a second write rather than being copied. */
static int
send_frame(struct whirl_ws *ws, int op, bool fin, bool rsv1, const void *data,
    size_t len)
{
	unsigned char small[14 + 4096], *buf = small, *key;
	size_t hl;
	int r;

	if (whirl_stream_closed(ws->s)) {
		whirl__seterr(EPIPE, "websocket closed");
		return -1;
	}
	if (!ws->client && data == ws->frame && len > 0) {
		hl = frame_header(small, op, fin, rsv1, len);
		if (hl <= ws->frame_room) {
			buf = (unsigned char *)(uintptr_t)ws->frame - hl;
			memcpy(buf, small, hl);
			return whirl_stream_write(ws->s, buf, hl + len, NULL,
			    NULL);
		}
	}
	if (14 + len > sizeof(small) && (ws->client || len <= COPY_MAX))
		buf = whirl__xmalloc(14 + len);
	hl = frame_header(buf, op, fin, rsv1, len);
	if (ws->client) {
		buf[1] |= 0x80;
		key = buf + hl;
		if (RAND_bytes(key, 4) != 1)
			abort();
		hl += 4;
		mask_copy(buf + hl, data, len, key);
	} else if (len > COPY_MAX) {
		whirl_stream_write(ws->s, buf, hl, NULL, NULL);
		return whirl_stream_write(ws->s, data, len, NULL, NULL);
	} else if (len > 0) {
		memcpy(buf + hl, data, len);
	}
	r = whirl_stream_write(ws->s, buf, hl + len, NULL, NULL);
	if (buf != small)
		free(buf);
	return r;
}

static bool
sends_compressed(const struct whirl_ws *ws)
{
	return ws->o.deflate.enabled;
}

/* Our side's compression context: the server's parameters when we are
 * the server, the client's when we are the client. */
static z_stream *
deflater(struct whirl_ws *ws)
{
	int bits = ws->client ? ws->o.deflate.client_max_window_bits :
	    ws->o.deflate.server_max_window_bits;

	if (ws->deflater != NULL)
		return ws->deflater;
	if (bits == 0)
		bits = 15;
	if (bits < 9)
		bits = 9;
	ws->deflater = whirl__xcalloc(1, sizeof(*ws->deflater));
	if (deflateInit2(ws->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
	    -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	return ws->deflater;
}

static bool
no_takeover_out(const struct whirl_ws *ws)
{
	return ws->client ? ws->o.deflate.client_no_context_takeover :
	    ws->o.deflate.server_no_context_takeover;
}

static bool
no_takeover_in(const struct whirl_ws *ws)
{
	return ws->client ? ws->o.deflate.server_no_context_takeover :
	    ws->o.deflate.client_no_context_takeover;
}

static int
send_compressed(struct whirl_ws *ws, int op, const void *data, size_t len)
{
	z_stream *z = deflater(ws);
	size_t cap = deflateBound(z, (uLong)len) + 16, out;
	unsigned char *buf = whirl__xmalloc(cap);
	int r;

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	z->next_out = buf;
	z->avail_out = (uInt)cap;
	while (deflate(z, Z_SYNC_FLUSH) == Z_OK && z->avail_out == 0) {
		size_t done = cap - z->avail_out;

		cap *= 2;
		buf = whirl__xrealloc(buf, cap);
		z->next_out = buf + done;
		z->avail_out = (uInt)(cap - done);
	}
	out = cap - z->avail_out;
	/* RFC 7692 7.2.1: drop the empty block's 00 00 ff ff. */
	if (out >= 4 && memcmp(buf + out - 4, deflate_tail, 4) == 0)
		out -= 4;
	if (no_takeover_out(ws))
		deflateReset(z);
	r = send_frame(ws, op, true, true, buf, out);
	free(buf);
	return r;
}

int
whirl_ws_send(struct whirl_ws *ws, bool binary, const void *data, size_t len)
{
	int op = binary ? OP_BINARY : OP_TEXT;

	if (ws->close_sent || ws->notified || ws->sending_fragmented) {
		whirl__seterr(EPIPE, "websocket closing");
		return -1;
	}
	if (sends_compressed(ws) && len >= 16)
		return send_compressed(ws, op, data, len);
	return send_frame(ws, op, true, false, data, len);
}

int
whirl_ws_send_fragment(struct whirl_ws *ws, bool binary, bool first,
    bool fin, const void *data, size_t len)
{
	if (ws->close_sent || ws->notified || first == ws->sending_fragmented) {
		whirl__seterr(EINVAL, "websocket fragment out of order");
		return -1;
	}
	ws->sending_fragmented = !fin;
	return send_frame(ws, first ? (binary ? OP_BINARY : OP_TEXT) : OP_CONT,
	    fin, false, data, len);
}

int
whirl_ws_ping(struct whirl_ws *ws, const void *data, size_t len)
{
	if (len > 125 || ws->close_sent) {
		whirl__seterr(EINVAL, "ping payload over 125 bytes or closing");
		return -1;
	}
	return send_frame(ws, OP_PING, true, false, data, len);
}

int
whirl_ws_pong(struct whirl_ws *ws, const void *data, size_t len)
{
	if (len > 125 || ws->close_sent) {
		whirl__seterr(EINVAL, "pong payload over 125 bytes or closing");
		return -1;
	}
	return send_frame(ws, OP_PONG, true, false, data, len);
}

static int
send_close(struct whirl_ws *ws, int code, const char *reason)
{
	unsigned char payload[125];
	size_t n = 0, rl;

	if (ws->close_sent)
		return 0;
	ws->close_sent = true;
	if (code > 0) {
		payload[0] = (unsigned char)(code >> 8);
		payload[1] = (unsigned char)code;
		n = 2;
		rl = reason != NULL ? strlen(reason) : 0;
		if (rl > sizeof(payload) - 2)
			rl = sizeof(payload) - 2;
		memcpy(payload + 2, reason, rl);
		n += rl;
	}
	return send_frame(ws, OP_CLOSE, true, false, payload, n);
}

static void on_timer(struct whirl_timer *t, void *arg);

static void
timer_start(struct whirl_ws *ws, uint64_t ms)
{
	if (ws->timer == NULL)
		ws->timer = whirl_timer_new(whirl_stream_loop(ws->s), on_timer,
		    ws);
	whirl_timer_start(ws->timer, ms, false);
}

static void
timer_stop(struct whirl_ws *ws)
{
	if (ws->timer != NULL)
		whirl_timer_stop(ws->timer);
}

static void
on_timer(struct whirl_timer *t, void *arg)
{
	struct whirl_ws *ws = arg;

	(void)t;
	enter(ws);
	if (ws->notified || ws->close_sent || ws->ping_outstanding) {
		/* The peer never answered our close, or our ping (the
		 * lingering after the end has its own timer: finish_tcp). */
		notify_close(ws, WHIRL_WS_ABNORMAL, "");
		if (!ws->freed)
			whirl_stream_close(ws->s);
	} else if (ws->o.ping_interval_ms > 0) {
		ws->ping_outstanding = true;
		send_frame(ws, OP_PING, true, false, NULL, 0);
		timer_start(ws, ws->o.ping_timeout_ms > 0 ?
		    ws->o.ping_timeout_ms : ws->o.ping_interval_ms);
	}
	leave(ws);
}

void
whirl_ws_pause(struct whirl_ws *ws, bool pause)
{
	if (ws->paused == pause)
		return;
	ws->paused = pause;
	if (ws->reading_done || ws->notified)
		return;
	if (pause)
		whirl_stream_cancel_read(ws->s);
	else
		whirl_stream_read_stream(ws->s, on_frames, ws);
}

int
whirl_ws_close(struct whirl_ws *ws, int code, const char *reason)
{
	if (ws->close_sent || ws->notified)
		return 0;
	whirl_ws_pause(ws, false);      /* the answer must be read */
	send_close(ws, code, reason);
	timer_start(ws, ws->o.close_timeout_ms);
	return 0;
}

size_t
whirl_ws_pending(const struct whirl_ws *ws)
{
	return whirl_stream_write_pending(ws->s);
}

struct whirl_stream *
whirl_ws_stream(const struct whirl_ws *ws)
{
	return ws->s;
}

/*
 * Receiving
 */

/* The WebSocket is over: send our FIN after what is queued, read (and
 * drop) until the peer's, which closes the stream; it closes anyway once
 * the close timeout has passed. */
static void
finish_tcp(struct whirl_ws *ws)
{
	ws->reading_done = true;
	timer_stop(ws);
	whirl_stream_linger(ws->s, ws->o.close_timeout_ms, 0);
}

/* Fail the connection: our close frame with the code, the handler told,
 * then the TCP connection closed once the frame left. */
static void
fail(struct whirl_ws *ws, int code, const char *why)
{
	ws->reading_done = true;
	whirl_stream_cancel_read(ws->s);
	send_close(ws, code, "");
	notify_close(ws, code, why);
	if (!ws->freed)
		finish_tcp(ws);
}

static bool
msg_append(struct whirl_ws *ws, const char *data, size_t len)
{
	if (ws->mlen + len > ws->o.max_message) {
		fail(ws, WHIRL_WS_TOO_BIG, "message too big");
		return false;
	}
	if (len == 0)
		return true;
	if (ws->mlen + len > ws->mcap) {
		ws->mcap = (ws->mlen + len) * 2;
		if (ws->mcap > ws->o.max_message)
			ws->mcap = ws->o.max_message;
		ws->msg = whirl__xrealloc(ws->msg, ws->mcap ? ws->mcap : 1);
	}
	memcpy(ws->msg + ws->mlen, data, len);
	ws->mlen += len;
	return true;
}

static z_stream *
inflater(struct whirl_ws *ws)
{
	int bits = ws->client ? ws->o.deflate.server_max_window_bits :
	    ws->o.deflate.client_max_window_bits;

	if (ws->inflater != NULL)
		return ws->inflater;
	ws->inflater = whirl__xcalloc(1, sizeof(*ws->inflater));
	/* Inflating with the largest window reads any smaller one. */
	(void)bits;
	if (inflateInit2(ws->inflater, -15) != Z_OK)
		abort();
	return ws->inflater;
}

/* Inflate compressed payload into the message, never past the limit (a
 * decompression bomb stops there), checking text as it appears. */
static bool
inflate_into(struct whirl_ws *ws, const void *data, size_t len)
{
	z_stream *z = inflater(ws);
	char buf[16384];
	int r;

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	do {
		size_t made;

		z->next_out = (Bytef *)buf;
		z->avail_out = sizeof(buf);
		r = inflate(z, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
			fail(ws, WHIRL_WS_INVALID_DATA, "bad compressed data");
			return false;
		}
		made = sizeof(buf) - z->avail_out;
		if (!ws->msg_binary && !whirl_utf8_feed(&ws->utf8, buf, made)) {
			fail(ws, WHIRL_WS_INVALID_DATA, "invalid UTF-8");
			return false;
		}
		if (!msg_append(ws, buf, made))
			return false;
		if (r == Z_BUF_ERROR)
			break;
		/* A block with BFINAL set ends zlib's stream (RFC 7692 lets a
		 * sender end a message so): what follows, the tail included,
		 * starts a new one.  Left at its end, inflate would answer
		 * Z_STREAM_END forever without reading on. */
		if (r == Z_STREAM_END)
			inflateReset(z);
	} while (z->avail_in > 0 || z->avail_out == 0);
	return true;
}

static void
deliver(struct whirl_ws *ws, bool binary, const char *data, size_t len)
{
	if (ws->h.message != NULL)
		ws->h.message(ws, binary, data, len, ws->arg);
}

static void
message_done(struct whirl_ws *ws)
{
	if (!ws->msg_binary && !whirl_utf8_complete(&ws->utf8)) {
		fail(ws, WHIRL_WS_INVALID_DATA, "invalid UTF-8");
		return;
	}
	ws->in_message = false;
	deliver(ws, ws->msg_binary, ws->msg != NULL ? ws->msg : "", ws->mlen);
	if (ws->freed)
		return;
	free(ws->msg);
	ws->msg = NULL;
	ws->mlen = ws->mcap = 0;
	if (ws->msg_compressed && no_takeover_in(ws) && ws->inflater != NULL)
		inflateReset(ws->inflater);
}

static void
data_frame(struct whirl_ws *ws, int op, bool fin, bool rsv1, char *p,
    size_t len)
{
	if (op != OP_CONT) {
		ws->in_message = true;
		ws->msg_binary = op == OP_BINARY;
		ws->msg_compressed = rsv1;
		memset(&ws->utf8, 0, sizeof(ws->utf8));
		/* One plain frame: straight from the buffer, no copy. */
		if (fin && !rsv1) {
			if (!ws->msg_binary &&
			    (!whirl_utf8_feed(&ws->utf8, p, len) ||
			    !whirl_utf8_complete(&ws->utf8))) {
				fail(ws, WHIRL_WS_INVALID_DATA, "invalid UTF-8");
				return;
			}
			ws->in_message = false;
			deliver(ws, ws->msg_binary, p, len);
			return;
		}
	}
	if (ws->msg_compressed) {
		if (!inflate_into(ws, p, len))
			return;
		if (fin && !inflate_into(ws, deflate_tail, 4))
			return;
	} else {
		if (!ws->msg_binary && !whirl_utf8_feed(&ws->utf8, p, len)) {
			fail(ws, WHIRL_WS_INVALID_DATA, "invalid UTF-8");
			return;
		}
		if (!msg_append(ws, p, len))
			return;
	}
	if (fin)
		message_done(ws);
}

bool
whirl_ws_close_code_valid(long code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
}

static void
close_frame(struct whirl_ws *ws, const unsigned char *p, size_t len)
{
	struct whirl_utf8 u = { 0 };
	char reason[124];
	int code = WHIRL_WS_NO_STATUS;

	if (len == 1) {
		fail(ws, WHIRL_WS_PROTOCOL_ERROR, "close payload of 1 byte");
		return;
	}
	if (len >= 2) {
		code = p[0] << 8 | p[1];
		if (!whirl_ws_close_code_valid(code)) {
			fail(ws, WHIRL_WS_PROTOCOL_ERROR, "invalid close code");
			return;
		}
		if (!whirl_utf8_feed(&u, p + 2, len - 2) ||
		    !whirl_utf8_complete(&u)) {
			fail(ws, WHIRL_WS_INVALID_DATA, "invalid UTF-8 reason");
			return;
		}
	}
	memcpy(reason, len > 2 ? (const char *)p + 2 : "", len > 2 ? len - 2 : 0);
	reason[len > 2 ? len - 2 : 0] = '\0';
	ws->close_received = true;
	ws->reading_done = true;
	whirl_stream_cancel_read(ws->s);
	/* Answer with the same code (RFC 6455 5.5.1). */
	send_close(ws, code == WHIRL_WS_NO_STATUS ? 0 : code, "");
	timer_stop(ws);
	notify_close(ws, code, reason);
	if (!ws->freed)
		finish_tcp(ws);
}

static void
control_frame(struct whirl_ws *ws, int op, char *p, size_t len)
{
	switch (op) {
	case OP_PING:
		if (!ws->close_sent)
			send_frame(ws, OP_PONG, true, false, p, len);
		if (ws->h.ping != NULL)
			ws->h.ping(ws, p, len, ws->arg);
		break;
	case OP_PONG:
		if (ws->ping_outstanding) {
			ws->ping_outstanding = false;
			if (ws->o.ping_interval_ms > 0)
				timer_start(ws, ws->o.ping_interval_ms);
		}
		if (ws->h.pong != NULL)
			ws->h.pong(ws, p, len, ws->arg);
		break;
	case OP_CLOSE:
		close_frame(ws, (const unsigned char *)p, len);
		break;
	}
}

/* Check a frame header before its payload arrives: a bad or oversized
 * frame fails without waiting for (or buffering) its payload. */
static bool
header_ok(struct whirl_ws *ws, int op, bool fin, int rsv, bool masked,
    uint64_t plen)
{
	if (masked == ws->client) {
		fail(ws, WHIRL_WS_PROTOCOL_ERROR,
		    ws->client ? "masked frame from server" :
		    "unmasked frame from client");
		return false;
	}
	if ((rsv & 0x3) != 0 || ((rsv & 0x4) && (!ws->o.deflate.enabled ||
	    (op != OP_TEXT && op != OP_BINARY)))) {
		fail(ws, WHIRL_WS_PROTOCOL_ERROR, "reserved bits set");
		return false;
	}
	if (op >= 8) {
		if (op > OP_PONG || !fin || plen > 125) {
			fail(ws, WHIRL_WS_PROTOCOL_ERROR, "bad control frame");
			return false;
		}
		return true;
	}
	if (op > OP_BINARY) {
		fail(ws, WHIRL_WS_PROTOCOL_ERROR, "reserved opcode");
		return false;
	}
	if ((op == OP_CONT) != ws->in_message) {
		fail(ws, WHIRL_WS_PROTOCOL_ERROR, op == OP_CONT ?
		    "continuation without a message" :
		    "new message inside a fragmented one");
		return false;
	}
	if (plen > ws->o.max_message ||
	    (op == OP_CONT && !ws->msg_compressed &&
	    ws->mlen + plen > ws->o.max_message)) {
		fail(ws, WHIRL_WS_TOO_BIG, "message too big");
		return false;
	}
	return true;
}

/* Parse and handle every whole frame in the buffer; returns bytes used. */
static size_t
parse_frames(struct whirl_ws *ws, char *data, size_t len)
{
	size_t off = 0;

	while (!ws->freed && !ws->reading_done && !ws->paused) {
		unsigned char *p = (unsigned char *)data + off;
		size_t avail = len - off, hl = 2, i;
		uint64_t plen;
		bool fin, masked;
		int op, rsv;

		if (avail < 2)
			break;
		fin = p[0] & 0x80;
		rsv = (p[0] >> 4) & 0x7;
		op = p[0] & 0x0f;
		masked = p[1] & 0x80;
		plen = p[1] & 0x7f;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | p[2 + i];
			hl = 10;
			if (plen >> 63) {
				fail(ws, WHIRL_WS_PROTOCOL_ERROR, "bad length");
				break;
			}
		}
		if (!header_ok(ws, op, fin, rsv, masked, plen))
			break;
		if (masked)
			hl += 4;
		if (avail < hl + plen)
			break;
		if (masked)
			mask_copy(p + hl, p + hl, (size_t)plen, p + hl - 4);
		off += hl + (size_t)plen;
		ws->frame = (char *)p + hl;
		ws->frame_room = hl;
		if (op >= 8)
			control_frame(ws, op, (char *)p + hl, (size_t)plen);
		else
			data_frame(ws, op, fin, rsv & 0x4, (char *)p + hl,
			    (size_t)plen);
		ws->frame = NULL;
	}
	return off;
}

static size_t
on_frames(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl_ws *ws = arg;
	size_t used = 0;

	(void)s;
	enter(ws);
	if (data == NULL) {
		/* EOF or an error before any close frame. */
		ws->reading_done = true;
		notify_close(ws, WHIRL_WS_ABNORMAL, err != NULL ? err : "");
		if (!ws->freed)
			whirl_stream_close(ws->s);
	} else {
		/* Our own buffer: unmasking in place is allowed. */
		used = parse_frames(ws, (char *)(uintptr_t)data, len);
	}
	leave(ws);
	return used;
}

static void
on_stream_close(struct whirl_stream *s, const char *err, void *arg)
{
	struct whirl_ws *ws = arg;

	(void)s;
	enter(ws);
	timer_stop(ws);
	notify_close(ws, WHIRL_WS_ABNORMAL, err != NULL ? err : "");
	leave(ws);
}

static void
on_water(struct whirl_stream *s, bool above, void *arg)
{
	struct whirl_ws *ws = arg;

	(void)s;
	if (ws->h.water != NULL) {
		enter(ws);
		ws->h.water(ws, above, ws->arg);
		leave(ws);
	}
}

struct whirl_ws *
whirl_ws_new(struct whirl_stream *s, bool client,
    const struct whirl_ws_opts *opts, const struct whirl_ws_handler *h,
    void *arg)
{
	struct whirl_ws *ws = whirl__xcalloc(1, sizeof(*ws));

	ws->s = s;
	ws->client = client;
	if (opts != NULL)
		ws->o = *opts;
	if (ws->o.max_message == 0)
		ws->o.max_message = DEFAULT_MAX_MESSAGE;
	if (ws->o.high_water == 0)
		ws->o.high_water = DEFAULT_HIGH_WATER;
	if (ws->o.close_timeout_ms == 0)
		ws->o.close_timeout_ms = DEFAULT_CLOSE_MS;
	ws->h = *h;
	ws->arg = arg;
	/* Each message is written whole: no Nagle delay (as Tornado).  A
	 * stream from httpserver or httpclient has it already; one handed
	 * over by the caller may not. */
	whirl_fd_nodelay(whirl_stream_fd(s));
	if (ws->o.ping_interval_ms > 0)
		timer_start(ws, ws->o.ping_interval_ms);
	whirl_stream_set_close_cb(s, on_stream_close, ws);
	whirl_stream_set_water(s, ws->o.high_water, on_water, ws);
	whirl_stream_read_stream(s, on_frames, ws);
	return ws;
}

/*
 * The server handshake
 */

static void
refuse(struct whirl_request *req, int status, const char *text,
    bool version_hint)
{
	struct whirl_headers *h = whirl_headers_new();
	char page[256];
	size_t n;

	if (text != NULL) {
		whirl_headers_add(h, "Content-Type", "text/plain; charset=utf-8");
		n = strlen(text);
		memcpy(page, text, n);
	} else {
		whirl_headers_add(h, "Content-Type", "text/html; charset=UTF-8");
		n = whirl_http_error_page(status, page, sizeof(page));
	}
	if (version_hint)
		whirl_headers_add(h, "Sec-WebSocket-Version", "13");
	whirl_response_send(req, status, h, page, n);
	whirl_headers_free(h);
}

/* Tornado's check_origin: the Origin's host must be the request's Host,
 * unless it is on the allow-list. */
static bool
origin_ok(const struct whirl_request *req, const struct whirl_ws_accept_opts *o)
{
	const struct whirl_headers *h = whirl_request_headers(req);
	const char *origin = whirl_headers_get(h, "Origin");
	const char *host = whirl_headers_get(h, "Host"), *oh;
	size_t i;

	if (origin == NULL || o->any_origin)
		return true;
	for (i = 0; o->origins != NULL && o->origins[i] != NULL; i++)
		if (strcasecmp(o->origins[i], origin) == 0)
			return true;
	oh = strstr(origin, "://");
	oh = oh != NULL ? oh + 3 : origin;
	return host != NULL && strcasecmp(oh, host) == 0;
}

static const char *
pick_subprotocol(const char *offered, const char *const *ours)
{
	size_t i, n;
	const char *p;

	for (i = 0; offered != NULL && ours != NULL && ours[i] != NULL; i++) {
		n = strlen(ours[i]);
		for (p = offered; (p = strstr(p, ours[i])) != NULL; p += n) {
			bool start = p == offered || p[-1] == ',' || p[-1] == ' ';
			bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';

			if (start && end)
				return ours[i];
		}
	}
	return NULL;
}

struct whirl_ws *
whirl_ws_accept(struct whirl_request *req, const struct whirl_ws_accept_opts *o,
    const struct whirl_ws_handler *handler, void *arg)
{
	const struct whirl_headers *h = whirl_request_headers(req);
	const char *key = whirl_headers_get(h, "Sec-WebSocket-Key");
	const char *version = whirl_headers_get(h, "Sec-WebSocket-Version");
	const char *ext = whirl_headers_get(h, "Sec-WebSocket-Extensions");
	const char *proto;
	struct whirl_ws_opts wo = o->ws;
	struct whirl_stream *s;
	char accept[29], extline[160], head[512];
	int n;

	if (strcmp(whirl_request_method(req), "GET") != 0 ||
	    !whirl_headers_has_token(h, "Upgrade", "websocket")) {
		refuse(req, 400, "Can \"Upgrade\" only to \"WebSocket\".", false);
		return NULL;
	}
	if (!whirl_headers_has_token(h, "Connection", "upgrade")) {
		refuse(req, 400, "\"Connection\" must be \"Upgrade\".", false);
		return NULL;
	}
	if (version == NULL || strcmp(version, "13") != 0) {
		refuse(req, 426, NULL, true);
		return NULL;
	}
	if (key == NULL || !whirl_ws_key_valid(key)) {
		refuse(req, 400, "Missing/Invalid WebSocket headers", false);
		return NULL;
	}
	if (!origin_ok(req, o)) {
		refuse(req, 403, "Cross origin websockets not allowed", false);
		return NULL;
	}
	extline[0] = '\0';
	memset(&wo.deflate, 0, sizeof(wo.deflate));
	if (o->deflate && ext != NULL)
		whirl_ws_deflate_accept(ext, &wo.deflate, extline,
		    sizeof(extline));
	proto = pick_subprotocol(whirl_headers_get(h, "Sec-WebSocket-Protocol"),
	    o->subprotocols);
	whirl_ws_accept_key(key, accept);
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s%s%s%s"
	    "\r\n", accept,
	    proto != NULL ? "Sec-WebSocket-Protocol: " : "",
	    proto != NULL ? proto : "", proto != NULL ? "\r\n" : "",
	    extline[0] ? "Sec-WebSocket-Extensions: " : "", extline,
	    extline[0] ? "\r\n" : "");
	s = whirl_request_detach(req);
	if (s == NULL)
		return NULL;
	whirl_stream_write(s, head, (size_t)n, NULL, NULL);
	return whirl_ws_new(s, false, &wo, handler, arg);
}

/*
 * The client handshake
 */

struct whirl_ws_connecting {
	struct whirl_loop *loop;
	struct whirl_ws_connect_opts o;
	struct whirl_ws_handler h;
	void *harg;
	whirl_ws_connect_cb cb;
	void *arg;
	char host[256], target[2048], key[25];
	char *headers_extra;           /* copied "Name: value\r\n" lines */
	char *subprotocols, *origin;
	int port;
	bool tls;
	struct whirl_connect *connect;
	struct whirl_stream *s;
	struct whirl_http1 *h1;
	struct whirl_timer *timer;
	int status;
	char *accept, *extensions, *protocol;
};

bool
whirl_ws_parse_url(const char *url, bool *tls, char *host, size_t hsize,
    int *port, char *target, size_t tsize)
{
	const char *p, *h, *hend, *path;
	char *end;
	long n;
	size_t hl;

	/* A space or a control character would end the request line or
	 * start a field of its own (CR LF): a URL holds them encoded. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	if (strncasecmp(url, "ws://", 5) == 0) {
		*tls = false;
		p = url + 5;
	} else if (strncasecmp(url, "wss://", 6) == 0) {
		*tls = true;
		p = url + 6;
	} else {
		return false;
	}
	path = p + strcspn(p, "/?#");
	h = p;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(path - h));
		if (hend == NULL)
			return false;
		h++;
		p = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(path - h));
		if (hend == NULL)
			hend = path;
		p = hend;
	}
	hl = (size_t)(hend - h);
	if (hl == 0 || hl >= hsize)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = *tls ? 443 : 80;
	if (*p == ':') {
		n = strtol(p + 1, &end, 10);
		if (end == p + 1 || end != path || n < 1 || n > 65535)
			return false;
		*port = (int)n;
	} else if (p != path) {
		return false;
	}
	if (*path == '\0' || *path == '#')
		snprintf(target, tsize, "/");
	else if (*path == '?')
		snprintf(target, tsize, "/%.*s", (int)strcspn(path, "#"), path);
	else
		snprintf(target, tsize, "%.*s", (int)strcspn(path, "#"), path);
	return true;
}

static void
connecting_free(struct whirl_ws_connecting *c)
{
	if (c->connect != NULL)
		whirl_connect_cancel(c->connect);
	whirl_http1_free(c->h1);
	whirl_stream_free(c->s);
	whirl_timer_free(c->timer);
	free(c->headers_extra);
	free(c->subprotocols);
	free(c->origin);
	free(c->accept);
	free(c->extensions);
	free(c->protocol);
	free(c);
}

void
whirl_ws_connect_cancel(struct whirl_ws_connecting *c)
{
	if (c != NULL)
		connecting_free(c);
}

/* The end of connecting, either way; c is freed. */
static void
connect_done(struct whirl_ws_connecting *c, struct whirl_ws *ws,
    const char *err)
{
	char proto[128];

	snprintf(proto, sizeof(proto), "%s", c->protocol ? c->protocol : "");
	c->cb(c, ws, c->status, ws != NULL && c->protocol != NULL ? proto :
	    NULL, err, c->arg);
	connecting_free(c);
}

static void
connect_timeout(struct whirl_timer *t, void *arg)
{
	(void)t;
	connect_done(arg, NULL, "WebSocket handshake timed out");
}

static int
h1_head(struct whirl_http1 *h, const struct whirl_http1_msg *m, void *arg)
{
	struct whirl_ws_connecting *c = arg;
	const char *v;

	(void)h;
	c->status = m->status;
	if ((v = whirl_headers_get(m->headers, "Sec-WebSocket-Accept")) != NULL)
		c->accept = whirl__xstrdup(v);
	if ((v = whirl_headers_get(m->headers,
	    "Sec-WebSocket-Extensions")) != NULL)
		c->extensions = whirl__xstrdup(v);
	if ((v = whirl_headers_get(m->headers,
	    "Sec-WebSocket-Protocol")) != NULL)
		c->protocol = whirl__xstrdup(v);
	return 0;
}

/* The response is complete: a 101 with our accept key opens the
 * WebSocket on the same stream (bytes after the head stay buffered). */
static void
h1_done(struct whirl_http1 *h, void *arg)
{
	struct whirl_ws_connecting *c = arg;
	struct whirl_ws_opts wo = c->o.ws;
	struct whirl_stream *s = c->s;
	char want[29];

	(void)h;
	if (c->status != 101) {
		char err[64];

		snprintf(err, sizeof(err), "server answered HTTP %d",
		    c->status);
		connect_done(c, NULL, err);
		return;
	}
	whirl_ws_accept_key(c->key, want);
	if (c->accept == NULL || strcmp(c->accept, want) != 0) {
		connect_done(c, NULL, "bad Sec-WebSocket-Accept");
		return;
	}
	memset(&wo.deflate, 0, sizeof(wo.deflate));
	if (c->extensions != NULL && (!c->o.deflate ||
	    !whirl_ws_deflate_answer(c->extensions, &wo.deflate))) {
		connect_done(c, NULL, "server chose an extension not offered");
		return;
	}
	whirl_http1_free(c->h1);
	c->h1 = NULL;
	c->s = NULL;
	connect_done(c, whirl_ws_new(s, true, &wo, &c->h, c->harg), NULL);
}

static void
h1_fail(struct whirl_http1 *h, int status, const char *why, void *arg)
{
	(void)h;
	(void)status;
	connect_done(arg, NULL, why != NULL ? why : "bad handshake response");
}

static void
h1_eof(struct whirl_http1 *h, void *arg)
{
	(void)h;
	connect_done(arg, NULL, "connection closed during the handshake");
}

static const struct whirl_http1_delegate client_delegate = {
	.headers = h1_head, .finish = h1_done, .error = h1_fail,
	.eof = h1_eof,
};

static void
send_handshake(struct whirl_ws_connecting *c)
{
	struct whirl_headers *h = whirl_headers_new();
	char host[300];

	if ((c->tls && c->port == 443) || (!c->tls && c->port == 80))
		snprintf(host, sizeof(host), strchr(c->host, ':') ? "[%s]" :
		    "%s", c->host);
	else
		snprintf(host, sizeof(host), strchr(c->host, ':') ? "[%s]:%d" :
		    "%s:%d", c->host, c->port);
	whirl_headers_add(h, "Host", host);
	whirl_headers_add(h, "Upgrade", "websocket");
	whirl_headers_add(h, "Connection", "Upgrade");
	whirl_headers_add(h, "Sec-WebSocket-Key", c->key);
	whirl_headers_add(h, "Sec-WebSocket-Version", "13");
	if (c->o.deflate)
		whirl_headers_add(h, "Sec-WebSocket-Extensions",
		    whirl_ws_deflate_offer());
	if (c->subprotocols != NULL)
		whirl_headers_add(h, "Sec-WebSocket-Protocol", c->subprotocols);
	if (c->origin != NULL)
		whirl_headers_add(h, "Origin", c->origin);
	c->h1 = whirl_http1_new(c->s, WHIRL_HTTP1_CLIENT, NULL,
	    &client_delegate, c);
	whirl_http1_write_request_head(c->h1, "GET", c->target, h,
	    c->headers_extra, -1);
	whirl_headers_free(h);
}

static void
tls_ready(struct whirl_stream *s, const char *err, void *arg)
{
	struct whirl_ws_connecting *c = arg;

	(void)s;
	if (err != NULL) {
		char msg[300];

		/* The stream closes itself after this callback. */
		snprintf(msg, sizeof(msg), "tls: %s", err);
		c->s = NULL;
		whirl_stream_set_close_cb(s, NULL, NULL);
		connect_done(c, NULL, msg);
		whirl_stream_free(s);
		return;
	}
	send_handshake(c);
}

static void
connected(struct whirl_connect *cn, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct whirl_ws_connecting *c = arg;

	(void)cn;
	(void)errnum;
	c->connect = NULL;
	if (s == NULL) {
		connect_done(c, NULL, err);
		return;
	}
	c->s = s;
	if (c->tls) {
		if (whirl_stream_start_tls(s, c->o.tls, c->host, 0, tls_ready,
		    c) == -1)
			connect_done(c, NULL, whirl_error());
		return;
	}
	send_handshake(c);
}

struct whirl_ws_connecting *
whirl_ws_connect(struct whirl_loop *loop, const char *url,
    const struct whirl_ws_connect_opts *o, const struct whirl_ws_handler *h,
    void *harg, whirl_ws_connect_cb cb, void *arg)
{
	struct whirl_ws_connecting *c = whirl__xcalloc(1, sizeof(*c));
	struct whirl_connect_opts co = { 0 };
	size_t i, len = 0;

	if (!whirl_ws_parse_url(url, &c->tls, c->host, sizeof(c->host),
	    &c->port, c->target, sizeof(c->target))) {
		whirl__seterr(EINVAL, "not a ws:// or wss:// URL: %s", url);
		free(c);
		return NULL;
	}
	if (c->tls && (o == NULL || o->tls == NULL)) {
		whirl__seterr(EINVAL, "wss:// needs a TLS context");
		free(c);
		return NULL;
	}
	c->loop = loop;
	if (o != NULL)
		c->o = *o;
	c->h = *h;
	c->harg = harg;
	c->cb = cb;
	c->arg = arg;
	for (i = 0; c->o.headers != NULL && c->o.headers[i] != NULL; i++) {
		size_t n = strlen(c->o.headers[i]);

		c->headers_extra = whirl__xrealloc(c->headers_extra,
		    len + n + 3);
		memcpy(c->headers_extra + len, c->o.headers[i], n);
		memcpy(c->headers_extra + len + n, "\r\n", 3);
		len += n + 2;
	}
	c->o.headers = NULL;
	if (c->o.subprotocols != NULL)
		c->subprotocols = whirl__xstrdup(c->o.subprotocols);
	if (c->o.origin != NULL)
		c->origin = whirl__xstrdup(c->o.origin);
	whirl_ws_make_key(c->key);
	c->timer = whirl_timer_new(loop, connect_timeout, c);
	if (c->o.timeout_ms > 0)
		whirl_timer_start(c->timer, c->o.timeout_ms, false);
	co.timeout_ms = c->o.timeout_ms;
	c->connect = whirl_tcp_connect_host(loop, c->host, c->port, 0, &co,
	    connected, c);
	return c;
}
