/* http1.h - HTTP/1.x messages on a stream, parsed by llhttp, written
 * with Content-Length or chunked framing; both roles.
 *
 * A whirl_http1 reads messages (requests for a server, responses for a
 * client) from its stream and reports each through a delegate:
 *
 *     headers  ->  body*  ->  finish | error
 *
 * Exactly one of finish or error follows a headers call.  error also
 * reports a message that could not be parsed at all, and eof reports the
 * stream's end between messages.  After finish, reading pauses until
 * whirl_http1_resume(), so a server answers one request at a time and
 * pipelined requests wait, in order, in the stream's buffer.  After
 * error, the codec reads no more.
 *
 * Strictness is llhttp's default (no lenient flags): a request with both
 * Content-Length and Transfer-Encoding, two Content-Lengths, an invalid
 * length or chunk size, whitespace before a colon or a bad request line is
 * an error, never two requests.  The limits below turn into statuses:
 * 414 for the start line, 431 for the header block or field count, 413
 * for the body.
 *
 * Ownership: the codec borrows the stream (the caller closes and frees
 * it, after freeing the codec).  The message passed to headers, with its
 * whirl_headers, belongs to the codec and is valid until the next message
 * starts or the codec is freed; trailers of a chunked body are appended
 * to the same headers before finish.  The codec may be freed from inside
 * any of its callbacks.
 */
#ifndef WHIRL_HTTP1_H
#define WHIRL_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whirl_stream;
struct whirl_headers;
struct whirl_http1;

enum whirl_http1_role {
	WHIRL_HTTP1_SERVER,     /* reads requests, writes responses */
	WHIRL_HTTP1_CLIENT      /* writes requests, reads responses */
};

struct whirl_http1_limits {
	size_t max_start_line;     /* request line (414); default 8 KiB */
	size_t max_header_bytes;   /* names + values (431); default 64 KiB */
	size_t max_header_fields;  /* (431); default 100 */
	uint64_t max_body;         /* (413); default 16 MiB */
};

struct whirl_http1_msg {
	const char *method;        /* requests: "GET" */
	const char *target;        /* requests: "/a?b=1" as sent */
	int status;                /* responses */
	const char *reason;        /* responses */
	int major, minor;          /* HTTP version */
	struct whirl_headers *headers;
	size_t host_fields;        /* how many Host fields (a server wants 1) */
	int64_t content_length;    /* -1 when absent */
	bool chunked;
	bool keep_alive;           /* by version and Connection */
	bool expect_continue;      /* Expect: 100-continue */
	bool upgrade;              /* Connection: upgrade with Upgrade: */
};

struct whirl_http1_delegate {
	/* The first byte of a message arrived (for head deadlines).  Called
	 * from inside the parser: it must not free the codec. */
	void (*begin)(struct whirl_http1 *h, void *arg);
	/* The head arrived.  Return 0 to read the body, or (server) a
	 * status >= 400 to refuse it: error then follows with that status.
	 * Called from inside the parser: it must not free the codec. */
	int (*headers)(struct whirl_http1 *h, const struct whirl_http1_msg *m,
	    void *arg);
	/* A piece of the body (after dechunking). */
	void (*body)(struct whirl_http1 *h, const char *data, size_t len,
	    void *arg);
	/* The message is complete; reading pauses. */
	void (*finish)(struct whirl_http1 *h, void *arg);
	/* The message is bad (status: 400, 413, 414, 431; 0 when the stream
	 * failed or ended inside the message), or the stream failed. */
	void (*error)(struct whirl_http1 *h, int status, const char *why,
	    void *arg);
	/* The stream ended cleanly between messages. */
	void (*eof)(struct whirl_http1 *h, void *arg);
};

/* Start reading messages from s at once.  limits may be NULL (defaults);
 * the delegate is copied. */
struct whirl_http1 *whirl_http1_new(struct whirl_stream *s,
    enum whirl_http1_role role, const struct whirl_http1_limits *limits,
    const struct whirl_http1_delegate *d, void *arg);
void whirl_http1_free(struct whirl_http1 *h);
/* Read the next message (after finish). */
void whirl_http1_resume(struct whirl_http1 *h);
/* Stop reading (e.g. while a response to a refused message is written). */
void whirl_http1_pause(struct whirl_http1 *h);
/* Client: the response being read answers a HEAD (no body follows). */
void whirl_http1_expect_no_body(struct whirl_http1 *h);
struct whirl_stream *whirl_http1_stream(const struct whirl_http1 *h);
/* Take the current message's header list (the codec starts a new one
 * for the next message); the caller frees it with whirl_headers_free. */
struct whirl_headers *whirl_http1_take_headers(struct whirl_http1 *h);

/*
 * Writing.  A head is followed by body writes and one end.  With a
 * content_length >= 0 the body must be exactly that long; with -1 the
 * body is chunked (HTTP/1.1) or delimited by closing (HTTP/1.0 peer or
 * `close_delimited`).  `no_body` (HEAD, 204, 304) drops body writes.
 * `extra` (may be NULL) is raw header lines, each ending in CRLF, written
 * after the fields (the server's Date, Server, Connection).
 * Returns -1 if the stream is closed.
 */
int whirl_http1_write_response_head(struct whirl_http1 *h, int status,
    const char *reason, const struct whirl_headers *headers,
    const char *extra, int64_t content_length, bool no_body);
/* A whole response with a body of known length: head and body leave in
 * one write when they fit. */
int whirl_http1_write_response(struct whirl_http1 *h, int status,
    const char *reason, const struct whirl_headers *headers,
    const char *extra, const void *body, size_t len, bool no_body);
int whirl_http1_write_request_head(struct whirl_http1 *h, const char *method,
    const char *target, const struct whirl_headers *headers,
    const char *extra, int64_t content_length);
int whirl_http1_write_body(struct whirl_http1 *h, const void *data,
    size_t len);
/* End the body (the last chunk when chunked); cb (may be NULL) fires
 * when everything written so far has left. */
int whirl_http1_write_end(struct whirl_http1 *h,
    void (*cb)(struct whirl_http1 *h, const char *err, void *arg),
    void *arg);
/* The head written used chunked framing. */
bool whirl_http1_chunked_out(const struct whirl_http1 *h);

#endif
