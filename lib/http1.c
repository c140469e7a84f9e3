/* http1.c - HTTP/1.x messages on a stream: llhttp fed in place from the
 * stream's buffer (whirl_stream_read_stream), framing written out.
 *
 * Invariants:
 *   - the parser pauses at each message's end, so finish and error run
 *     after llhttp_execute returned and may free the codec.  headers runs
 *     inside the parser and must not; body pieces point into the buffer,
 *     and a codec freed during one makes the parser pause at once.
 *   - between messages (after finish, before resume) the codec holds no
 *     header list and no scratch buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "error.h"
#include "http1.h"
#include "httputil.h"
#include "internal.h"
#include "iostream.h"

enum stop {
	STOP_NONE,
	STOP_DONE,        /* message complete: finish, then wait */
	STOP_FREED        /* the codec was freed inside a body callback */
};

struct whirl_http1 {
	struct whirl_stream *s;
	enum whirl_http1_role role;
	struct whirl_http1_limits lim;
	struct whirl_http1_delegate d;
	void *arg;
	llhttp_t parser;

	struct whirl_http1_msg msg;
	struct whirl_headers *headers;
	char *target, *reason;
	char *scratch;                  /* the field, then the value */
	size_t slen, scap, field_len;
	size_t start_len, header_bytes, nfields, hosts;
	uint64_t body_bytes;
	int err_status;
	const char *err_why;            /* our reason for it, or NULL */
	enum stop stop;
	bool in_message, reading, failed, no_body_expected, head_seen;

	bool out_chunked, out_no_body;
	void (*end_cb)(struct whirl_http1 *, const char *, void *);
	void *end_arg;

	int depth;
	bool freed;
};

static const struct whirl_http1_limits default_limits = {
	8 * 1024, 64 * 1024, 100, 16 * 1024 * 1024
};

static size_t on_data(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg);

static struct whirl_http1 *
codec(llhttp_t *p)
{
	return p->data;
}

/* Scratch: the pieces of a URL, field or value, which llhttp may hand
 * over in several calls when they straddle reads. */
static void
scratch_add(struct whirl_http1 *h, const char *at, size_t len)
{
	if (h->slen + len + 1 > h->scap) {
		h->scap = (h->slen + len + 1) * 2;
		if (h->scap < 256)
			h->scap = 256;
		h->scratch = whirl__xrealloc(h->scratch, h->scap);
	}
	memcpy(h->scratch + h->slen, at, len);
	h->slen += len;
	h->scratch[h->slen] = '\0';
}

/* What the scratch holds, as a new string, and the scratch emptied.  An
 * empty reason ("HTTP/1.1 200 \r\n") records nothing: the scratch may
 * not even exist yet, or still hold an older piece. */
static char *
scratch_take(struct whirl_http1 *h)
{
	char *s = whirl__xmalloc(h->slen + 1);

	if (h->slen > 0)
		memcpy(s, h->scratch, h->slen);
	s[h->slen] = '\0';
	h->slen = 0;
	return s;
}

static int
limit(struct whirl_http1 *h, int status)
{
	h->err_status = status;
	return -1;
}

/* llhttp callbacks: record only. */

static int
cb_message_begin(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);

	h->in_message = true;
	h->head_seen = false;
	h->slen = h->field_len = 0;
	h->start_len = h->header_bytes = h->nfields = h->hosts = 0;
	h->body_bytes = 0;
	if (h->headers == NULL)
		h->headers = whirl_headers_new();
	else
		whirl_headers_clear(h->headers);
	free(h->target);
	free(h->reason);
	h->target = h->reason = NULL;
	if (h->d.begin != NULL)
		h->d.begin(h, h->arg);
	return 0;
}

static int
cb_url(llhttp_t *p, const char *at, size_t len)
{
	struct whirl_http1 *h = codec(p);

	h->start_len += len;
	if (h->start_len > h->lim.max_start_line)
		return limit(h, 414);
	scratch_add(h, at, len);
	return 0;
}

static int
cb_url_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);

	h->target = scratch_take(h);
	return 0;
}

static int
cb_status(llhttp_t *p, const char *at, size_t len)
{
	struct whirl_http1 *h = codec(p);

	h->start_len += len;
	if (h->start_len > h->lim.max_start_line)
		return limit(h, 414);
	scratch_add(h, at, len);
	return 0;
}

static int
cb_status_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);

	h->reason = scratch_take(h);
	return 0;
}

static int
cb_header_piece(llhttp_t *p, const char *at, size_t len)
{
	struct whirl_http1 *h = codec(p);

	h->header_bytes += len;
	if (h->header_bytes > h->lim.max_header_bytes)
		return limit(h, 431);
	scratch_add(h, at, len);
	return 0;
}

static int
cb_field_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);

	if (++h->nfields > h->lim.max_header_fields)
		return limit(h, 431);
	h->field_len = h->slen;
	return 0;
}

static int
cb_value_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);
	size_t vlen = h->slen - h->field_len;
	const char *v = h->scratch + h->field_len;

	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (h->headers == NULL)
		h->headers = whirl_headers_new();
	if (whirl_headers_addn(h->headers, h->scratch, h->field_len, v,
	    vlen) == -1)
		return limit(h, 400);
	if (h->field_len == 4 && strncasecmp(h->scratch, "Host", 4) == 0)
		h->hosts++;
	h->slen = h->field_len = 0;
	return 0;
}

static void
fill_msg(struct whirl_http1 *h)
{
	llhttp_t *p = &h->parser;
	struct whirl_http1_msg *m = &h->msg;

	memset(m, 0, sizeof(*m));
	m->major = p->http_major;
	m->minor = p->http_minor;
	m->headers = h->headers;
	m->host_fields = h->hosts;
	m->keep_alive = llhttp_should_keep_alive(p);
	m->chunked = (p->flags & F_CHUNKED) != 0;
	m->content_length = (p->flags & F_CONTENT_LENGTH) ?
	    (int64_t)p->content_length : -1;
	m->upgrade = p->upgrade != 0;
	if (h->role == WHIRL_HTTP1_SERVER) {
		m->method = llhttp_method_name(llhttp_get_method(p));
		m->target = h->target != NULL ? h->target : "";
		m->expect_continue = m->major == 1 && m->minor >= 1 &&
		    whirl_headers_has_token(h->headers, "Expect",
		    "100-continue");
	} else {
		m->status = p->status_code;
		m->reason = h->reason != NULL ? h->reason : "";
	}
}

static int
cb_headers_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);
	int status;

	fill_msg(h);
	if (h->no_body_expected || (h->role == WHIRL_HTTP1_CLIENT &&
	    (p->status_code < 200 || p->status_code == 204 ||
	    p->status_code == 304))) {
		/* A HEAD response, 1xx, 204, 304 (RFC 9112 6.3): their
		 * Content-Length describes nothing. */
		h->no_body_expected = false;
		p->flags |= F_SKIPBODY;
	}
	/* An HTTP/0.9 line has no version to keep a connection honest. */
	if (h->role == WHIRL_HTTP1_SERVER && h->msg.major != 1)
		return limit(h, h->msg.major == 0 ? 400 : 505);
	/* llhttp also reads a status of one or two digits ("HTTP/1.1 4
	 * 02"): RFC 9112 wants three. */
	if (h->role == WHIRL_HTTP1_CLIENT && p->status_code < 100) {
		h->err_why = "Invalid status code";
		return limit(h, 400);
	}
	if (h->role == WHIRL_HTTP1_SERVER && h->msg.content_length >= 0 &&
	    (uint64_t)h->msg.content_length > h->lim.max_body)
		return limit(h, 413);
	h->head_seen = true;
	if (h->d.headers != NULL) {
		/* Pausing here would stall a bodiless message until more
		 * bytes came, so the delegate runs inside the parser (the
		 * header says it must not free the codec). */
		status = h->d.headers(h, &h->msg, h->arg);
		if (status >= 400)
			return limit(h, status);
	}
	return 0;
}

static int
cb_body(llhttp_t *p, const char *at, size_t len)
{
	struct whirl_http1 *h = codec(p);

	h->body_bytes += len;
	if (h->role == WHIRL_HTTP1_SERVER && h->body_bytes > h->lim.max_body)
		return limit(h, 413);
	if (h->d.body != NULL)
		h->d.body(h, at, len, h->arg);
	if (h->freed) {
		h->stop = STOP_FREED;
		return HPE_PAUSED;
	}
	return 0;
}

static int
cb_message_complete(llhttp_t *p)
{
	struct whirl_http1 *h = codec(p);

	h->stop = STOP_DONE;
	return HPE_PAUSED;
}

static llhttp_settings_t settings;

static void
init_settings(void)
{
	if (settings.on_message_begin != NULL)
		return;
	llhttp_settings_init(&settings);
	settings.on_message_begin = cb_message_begin;
	settings.on_url = cb_url;
	settings.on_url_complete = cb_url_complete;
	settings.on_status = cb_status;
	settings.on_status_complete = cb_status_complete;
	settings.on_header_field = cb_header_piece;
	settings.on_header_value = cb_header_piece;
	settings.on_header_field_complete = cb_field_complete;
	settings.on_header_value_complete = cb_value_complete;
	settings.on_headers_complete = cb_headers_complete;
	settings.on_body = cb_body;
	settings.on_message_complete = cb_message_complete;
}

/* Lifetime */

static void
destroy(struct whirl_http1 *h)
{
	whirl_headers_free(h->headers);
	free(h->target);
	free(h->reason);
	free(h->scratch);
	free(h);
}

static void
enter(struct whirl_http1 *h)
{
	h->depth++;
}

static bool
leave(struct whirl_http1 *h)
{
	if (--h->depth == 0 && h->freed) {
		destroy(h);
		return false;
	}
	return !h->freed;
}

struct whirl_http1 *
whirl_http1_new(struct whirl_stream *s, enum whirl_http1_role role,
    const struct whirl_http1_limits *limits,
    const struct whirl_http1_delegate *d, void *arg)
{
	struct whirl_http1 *h = whirl__xcalloc(1, sizeof(*h));

	init_settings();
	h->s = s;
	h->role = role;
	h->lim = limits != NULL ? *limits : default_limits;
	if (h->lim.max_start_line == 0)
		h->lim.max_start_line = default_limits.max_start_line;
	if (h->lim.max_header_bytes == 0)
		h->lim.max_header_bytes = default_limits.max_header_bytes;
	if (h->lim.max_header_fields == 0)
		h->lim.max_header_fields = default_limits.max_header_fields;
	if (h->lim.max_body == 0)
		h->lim.max_body = default_limits.max_body;
	h->d = *d;
	h->arg = arg;
	llhttp_init(&h->parser,
	    role == WHIRL_HTTP1_SERVER ? HTTP_REQUEST : HTTP_RESPONSE,
	    &settings);
	h->parser.data = h;
	h->reading = true;
	whirl_stream_read_stream(s, on_data, h);
	return h;
}

void
whirl_http1_free(struct whirl_http1 *h)
{
	if (h == NULL || h->freed)
		return;
	if (h->reading)
		whirl_stream_cancel_read(h->s);
	h->freed = true;
	if (h->depth == 0)
		destroy(h);
}

struct whirl_stream *
whirl_http1_stream(const struct whirl_http1 *h)
{
	return h->s;
}

struct whirl_headers *
whirl_http1_take_headers(struct whirl_http1 *h)
{
	struct whirl_headers *taken = h->headers;

	h->headers = NULL;
	h->msg.headers = NULL;
	return taken;
}

void
whirl_http1_pause(struct whirl_http1 *h)
{
	if (h->reading)
		whirl_stream_cancel_read(h->s);
	h->reading = false;
}

void
whirl_http1_resume(struct whirl_http1 *h)
{
	if (h->failed || h->reading)
		return;
	if (h->stop == STOP_DONE) {
		h->stop = STOP_NONE;
		llhttp_resume(&h->parser);
		/* Idle between messages: give the memory back. */
		whirl_headers_free(h->headers);
		h->headers = NULL;
		free(h->scratch);
		h->scratch = NULL;
		h->scap = h->slen = 0;
	}
	h->reading = true;
	whirl_stream_read_stream(h->s, on_data, h);
}

void
whirl_http1_expect_no_body(struct whirl_http1 *h)
{
	h->no_body_expected = true;
}

/* Reading */

static void
fail(struct whirl_http1 *h, int status, const char *why)
{
	h->failed = true;
	whirl_http1_pause(h);
	if (h->d.error != NULL)
		h->d.error(h, status, why, h->arg);
}

/* Feed llhttp from the buffer.  Returns the bytes used. */
static size_t
parse(struct whirl_http1 *h, const char *data, size_t len)
{
	size_t off = 0;
	llhttp_errno_t e;

	while (off < len) {
		h->stop = STOP_NONE;
		e = llhttp_execute(&h->parser, data + off, len - off);
		if (e == HPE_OK)
			return len;
		if (e == HPE_PAUSED_UPGRADE) {
			/* The handler answered an Upgrade request without
			 * taking the connection: go on with HTTP. */
			off = (size_t)(llhttp_get_error_pos(&h->parser) - data);
			llhttp_resume_after_upgrade(&h->parser);
			continue;
		}
		if (e != HPE_PAUSED) {
			fail(h, h->err_status != 0 ? h->err_status : 400,
			    h->err_why != NULL ? h->err_why :
			    llhttp_get_error_reason(&h->parser));
			return len;
		}
		off = (size_t)(llhttp_get_error_pos(&h->parser) - data);
		switch (h->stop) {
		case STOP_DONE:
			h->in_message = false;
			whirl_http1_pause(h);
			h->stop = STOP_DONE;
			if (h->d.finish != NULL)
				h->d.finish(h, h->arg);
			return off;
		default:
			return off;
		}
	}
	return off;
}

/* The stream ended.  A close-delimited response completes here. */
static void
stream_ended(struct whirl_http1 *h, const char *err)
{
	h->reading = false;
	if (!h->in_message) {
		if (err == NULL && h->d.eof != NULL)
			h->d.eof(h, h->arg);
		else if (err != NULL)
			fail(h, 0, err);
		return;
	}
	if (err == NULL && h->head_seen &&
	    llhttp_finish(&h->parser) == HPE_PAUSED &&
	    h->stop == STOP_DONE) {
		h->in_message = false;
		if (h->d.finish != NULL)
			h->d.finish(h, h->arg);
		return;
	}
	fail(h, 0, err != NULL ? err : "connection closed inside a message");
}

static size_t
on_data(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl_http1 *h = arg;
	size_t used = 0;

	(void)s;
	enter(h);
	if (data == NULL)
		stream_ended(h, err);
	else
		used = parse(h, data, len);
	leave(h);
	return used;
}

/* Writing */

struct head {
	char buf[2048];
	size_t len;
	struct whirl_stream *s;
};

static void
head_flush(struct head *hd)
{
	if (hd->len > 0)
		whirl_stream_write(hd->s, hd->buf, hd->len, NULL, NULL);
	hd->len = 0;
}

static void
head_add(struct head *hd, const char *p, size_t len)
{
	if (hd->len + len > sizeof(hd->buf)) {
		head_flush(hd);
		if (len > sizeof(hd->buf)) {
			whirl_stream_write(hd->s, p, len, NULL, NULL);
			return;
		}
	}
	memcpy(hd->buf + hd->len, p, len);
	hd->len += len;
}

static void
head_str(struct head *hd, const char *s)
{
	head_add(hd, s, strlen(s));
}

/* Decimal digits of v into buf (at least 21 bytes); returns their count.
 * (A status is always three digits.) */
static size_t
format_u64(char *buf, uint64_t v)
{
	char tmp[21];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* The fields, without any framing field of the caller's (ours rule). */
static void
head_fields(struct head *hd, const struct whirl_headers *headers)
{
	const char *n, *v;
	size_t i;

	for (i = 0; headers != NULL && whirl_headers_at(headers, i, &n, &v);
	    i++) {
		if (strcasecmp(n, "Content-Length") == 0 ||
		    strcasecmp(n, "Transfer-Encoding") == 0)
			continue;
		head_str(hd, n);
		head_add(hd, ": ", 2);
		head_str(hd, v);
		head_add(hd, "\r\n", 2);
	}
}

static void
head_framing(struct whirl_http1 *h, struct head *hd, int64_t content_length,
    bool chunk_ok)
{
	char num[48];

	h->out_chunked = false;
	if (content_length >= 0) {
		head_str(hd, "Content-Length: ");
		head_add(hd, num, format_u64(num, (uint64_t)content_length));
		head_add(hd, "\r\n", 2);
	} else if (chunk_ok) {
		h->out_chunked = true;
		head_str(hd, "Transfer-Encoding: chunked\r\n");
	}
	head_add(hd, "\r\n", 2);
}

/* The head into hd, not yet flushed. */
static int
response_head(struct whirl_http1 *h, struct head *hd, int status,
    const char *reason, const struct whirl_headers *headers,
    const char *extra, int64_t content_length, bool no_body)
{
	char line[64];
	bool bodiless = status < 200 || status == 204 || status == 304;
	bool peer11 = h->msg.major > 1 ||
	    (h->msg.major == 1 && h->msg.minor >= 1);

	if (whirl_stream_closed(h->s)) {
		whirl__seterr(EPIPE, "connection closed");
		return -1;
	}
	if (status < 100 || status > 999)
		status = 500;
	memcpy(line, "HTTP/1.1 ", 9);
	format_u64(line + 9, (uint64_t)status);
	line[12] = ' ';
	head_add(hd, line, 13);
	head_str(hd, reason != NULL ? reason : whirl_http_reason(status));
	head_add(hd, "\r\n", 2);
	head_fields(hd, headers);
	if (extra != NULL)
		head_str(hd, extra);
	h->out_no_body = no_body || bodiless;
	if (bodiless) {
		/* 1xx, 204 and 304 carry no framing at all. */
		head_add(hd, "\r\n", 2);
		h->out_chunked = false;
		return 0;
	}
	head_framing(h, hd, content_length, peer11);
	if (no_body)
		h->out_chunked = false;
	return 0;
}

int
whirl_http1_write_response_head(struct whirl_http1 *h, int status,
    const char *reason, const struct whirl_headers *headers,
    const char *extra, int64_t content_length, bool no_body)
{
	struct head hd = { .s = h->s };

	if (response_head(h, &hd, status, reason, headers, extra,
	    content_length, no_body) == -1)
		return -1;
	head_flush(&hd);
	return 0;
}

int
whirl_http1_write_response(struct whirl_http1 *h, int status,
    const char *reason, const struct whirl_headers *headers,
    const char *extra, const void *body, size_t len, bool no_body)
{
	struct head hd = { .s = h->s };

	if (response_head(h, &hd, status, reason, headers, extra,
	    (int64_t)len, no_body) == -1)
		return -1;
	/* Head and a small body leave in one write (one syscall). */
	if (!h->out_no_body && len > 0)
		head_add(&hd, body, len);
	head_flush(&hd);
	return 0;
}

int
whirl_http1_write_request_head(struct whirl_http1 *h, const char *method,
    const char *target, const struct whirl_headers *headers,
    const char *extra, int64_t content_length)
{
	struct head hd = { .s = h->s };

	if (whirl_stream_closed(h->s)) {
		whirl__seterr(EPIPE, "connection closed");
		return -1;
	}
	head_str(&hd, method);
	head_add(&hd, " ", 1);
	head_str(&hd, target);
	head_str(&hd, " HTTP/1.1\r\n");
	head_fields(&hd, headers);
	if (extra != NULL)
		head_str(&hd, extra);
	h->out_no_body = false;
	if (content_length <= 0 && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0)) {
		/* No body, so no framing (as curl sends them). */
		head_add(&hd, "\r\n", 2);
		head_flush(&hd);
		h->out_chunked = false;
		return 0;
	}
	head_framing(h, &hd, content_length, true);
	head_flush(&hd);
	return 0;
}

int
whirl_http1_write_body(struct whirl_http1 *h, const void *data, size_t len)
{
	char size[24];

	if (whirl_stream_closed(h->s)) {
		whirl__seterr(EPIPE, "connection closed");
		return -1;
	}
	if (h->out_no_body || len == 0)
		return 0;
	if (h->out_chunked) {
		whirl_stream_write(h->s, size, (size_t)snprintf(size,
		    sizeof(size), "%zx\r\n", len), NULL, NULL);
		whirl_stream_write(h->s, data, len, NULL, NULL);
		return whirl_stream_write(h->s, "\r\n", 2, NULL, NULL);
	}
	return whirl_stream_write(h->s, data, len, NULL, NULL);
}

static void
end_written(struct whirl_stream *s, const char *err, void *arg)
{
	struct whirl_http1 *h = arg;
	void (*cb)(struct whirl_http1 *, const char *, void *) = h->end_cb;

	(void)s;
	h->end_cb = NULL;
	if (cb != NULL)
		cb(h, err, h->end_arg);
}

int
whirl_http1_write_end(struct whirl_http1 *h,
    void (*cb)(struct whirl_http1 *h, const char *err, void *arg), void *arg)
{
	if (whirl_stream_closed(h->s)) {
		whirl__seterr(EPIPE, "connection closed");
		return -1;
	}
	if (h->out_chunked && !h->out_no_body)
		whirl_stream_write(h->s, "0\r\n\r\n", 5, NULL, NULL);
	h->out_chunked = false;
	h->end_cb = cb;
	h->end_arg = arg;
	return whirl_stream_write(h->s, NULL, 0, cb != NULL ? end_written :
	    NULL, h);
}

bool
whirl_http1_chunked_out(const struct whirl_http1 *h)
{
	return h->out_chunked;
}
