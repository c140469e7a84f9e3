/* iostream.h - buffered non-blocking streams over sockets, pipes and ttys.
 *
 * A whirl_stream reads from one fd and writes to one fd (the same fd for a
 * socket; two for stdin/stdout or a child's pipes), on its loop, with a
 * libevent input and output evbuffer.  It is Tornado's IOStream in C:
 *
 *   - at most one read is pending at a time: read_until, read_bytes or
 *     read_until_close.  Its callback fires from the loop, never from
 *     inside the call that started it;
 *   - writes are queued in order; each may carry a completion callback that
 *     fires once its bytes have all been handed to the kernel;
 *   - the close callback fires exactly once, when the stream closes for any
 *     reason (peer EOF, an I/O error, whirl_stream_close), after any
 *     pending read and write callbacks were told (err == whirl_err_closed or
 *     the system's reason);
 *   - a relay (whirl_relay_new) moves everything one stream reads into
 *     another, with back-pressure, through splice(2) when both fds allow.
 *
 * Peer EOF: by default a stream closes when its peer's EOF has been read
 * and the data before it delivered.  With WHIRL_STREAM_HALF_CLOSE the EOF
 * only ends reading (pending reads get whirl_err_closed) and the stream
 * stays open for writing until whirl_stream_shutdown or _close.  The other
 * way round, on a pair stream with HALF_CLOSE (a child's pipes), a write
 * that finds the reader gone (EPIPE) ends only writing: queued output is
 * dropped, its write callbacks and a relay writing into the stream get the
 * error, and reading goes on, for a child that exits without reading all
 * its input may still have output on its way.
 *
 * Memory: the evbuffers are allocated when there is something to hold and
 * released when they empty, so an idle stream holds no buffer.  Input is
 * read only while a read (or a relay) is pending, so a peer's EOF is
 * noticed by the next read; output above the high-water mark fires the
 * water callback so a producer can pause.
 *
 * Regular files and character devices other than ttys (/dev/null) cannot
 * be polled; a stream on them treats them as always ready.
 *
 * Ownership: the caller owns the stream and frees it with whirl_stream_free,
 * which is safe from inside any of the stream's own callbacks.  The stream
 * owns its fds (closes them) unless made with WHIRL_STREAM_BORROW_FD.  Data
 * passed to a read callback is valid only during the callback.
 * whirl_stream_write copies the data.
 */
#ifndef WHIRL_IOSTREAM_H
#define WHIRL_IOSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whirl_loop;
struct whirl_stream;
struct whirl_relay;

/* Do not close the fds when the stream closes or is freed. */
#define WHIRL_STREAM_BORROW_FD  0x1
/* Peer EOF ends reading only; the stream stays open for writing. */
#define WHIRL_STREAM_HALF_CLOSE 0x2
/* The fd is a socket already non-blocking (as accept4 and connect give
 * them): skips the checks, three syscalls per connection. */
#define WHIRL_STREAM_SOCKET     0x4

/* data/len: the bytes read (valid during the call); err: NULL on success,
 * else whirl_err_closed, whirl_err_too_long or the system's reason. */
typedef void (*whirl_stream_read_cb)(struct whirl_stream *s,
    const char *data, size_t len, const char *err, void *arg);
/* err: NULL when the write's bytes were all handed to the kernel. */
typedef void (*whirl_stream_write_cb)(struct whirl_stream *s,
    const char *err, void *arg);
typedef void (*whirl_stream_close_cb)(struct whirl_stream *s,
    const char *err, void *arg);
/* above: true when queued output passed the high-water mark, false when it
 * has drained to half of it again. */
typedef void (*whirl_stream_water_cb)(struct whirl_stream *s, bool above,
    void *arg);

/* A stream on one fd that is read and written (a socket, a tty).  The fd
 * is made non-blocking.  NULL with whirl_error() on failure. */
struct whirl_stream *whirl_stream_new(struct whirl_loop *loop, int fd,
    int flags);
/* A stream that reads rfd and writes wfd (either may be -1 for a stream
 * that only writes or only reads).  Used for stdin/stdout and for a
 * child's pipes.  rfd and wfd may be the same fd. */
struct whirl_stream *whirl_stream_new_pair(struct whirl_loop *loop, int rfd,
    int wfd, int flags);
/* Close (without callbacks) and free.  Safe from inside a callback. */
void whirl_stream_free(struct whirl_stream *s);

/* Read until `delim` (dlen bytes) has been read; data includes it.  If
 * `max` bytes (0: no limit) are buffered without it, the callback gets
 * whirl_err_too_long and no data.  At EOF first, the callback gets the
 * bytes that remained and whirl_err_closed.
 * Returns 0, or -1 if a read is already pending. */
int whirl_stream_read_until(struct whirl_stream *s, const char *delim,
    size_t dlen, size_t max, whirl_stream_read_cb cb, void *arg);
/* Read exactly n bytes (n > 0), or with `partial` as soon as 1..n bytes
 * are there.  At EOF first: the bytes that remained and whirl_err_closed. */
int whirl_stream_read_bytes(struct whirl_stream *s, size_t n, bool partial,
    whirl_stream_read_cb cb, void *arg);
/* Deliver every chunk as it arrives (len > 0, err NULL), then once
 * (NULL, 0, NULL) at EOF, or (NULL, 0, err) on an error. */
int whirl_stream_read_until_close(struct whirl_stream *s,
    whirl_stream_read_cb cb, void *arg);
/* Offer everything buffered to cb, which returns how many bytes it used;
 * the rest stays at the head of the input and is offered again, with
 * more, when more arrives.  The read stays pending until cancelled (the
 * way a parser pauses) or until the end: cb(NULL, 0, NULL) at EOF, or
 * (NULL, 0, err) on an error.  For parsers fed straight from the buffer,
 * without a copy: the HTTP layer feeds llhttp this way. */
typedef size_t (*whirl_stream_data_cb)(struct whirl_stream *s,
    const char *data, size_t len, const char *err, void *arg);
int whirl_stream_read_stream(struct whirl_stream *s, whirl_stream_data_cb cb,
    void *arg);
/* Forget the pending read (its callback will not fire); buffered input
 * is kept for the next read. */
void whirl_stream_cancel_read(struct whirl_stream *s);

/* Queue len bytes (copied) for writing; cb (may be NULL) fires when they
 * and everything queued before them were handed to the kernel, or with an
 * error when the stream closed first.  Returns -1 if the stream is closed
 * or its write side was shut down. */
int whirl_stream_write(struct whirl_stream *s, const void *data, size_t len,
    whirl_stream_write_cb cb, void *arg);
/* Bytes queued and not yet written. */
size_t whirl_stream_write_pending(const struct whirl_stream *s);
/* Call cb(above) when queued output crosses `high` bytes (and again when it
 * has drained to high / 2).  high = 0 turns it off. */
void whirl_stream_set_water(struct whirl_stream *s, size_t high,
    whirl_stream_water_cb cb, void *arg);

/* After queued output is written, shut down the write side:
 * shutdown(SHUT_WR) on a socket, close(wfd) on a pipe pair.  Reading goes
 * on.  Returns -1 if already closed. */
int whirl_stream_shutdown(struct whirl_stream *s);
/* Close now: queued output is dropped, pending write and read callbacks
 * get whirl_err_closed, running relays finish, then the close callback
 * fires (err NULL) -- all before whirl_stream_close returns. */
void whirl_stream_close(struct whirl_stream *s);
/* Lingering close, so that closing does not reset the last bytes away (a
 * TCP close with unread input sends RST, and the peer may drop what it
 * had not read yet): queued output is written, the write side shut down,
 * and what the peer still sends is read and dropped until its EOF, an
 * error, timeout_ms, or more than max_bytes (0: no cap); then the stream
 * closes and the close callback fires (err NULL, or the error).  A
 * pending read is cancelled without a callback; relays reading from s
 * let go of it.  -1 if s is already closed (its close callback has
 * fired), else 0. */
int whirl_stream_linger(struct whirl_stream *s, uint64_t timeout_ms,
    uint64_t max_bytes);
/* whirl_stream_linger, then the stream frees itself (no callbacks); the
 * caller must not touch it again.  For a protocol that ends with a last
 * frame (a WebSocket close, an HTTP error page) whose owner is going
 * away. */
void whirl_stream_linger_free(struct whirl_stream *s, uint64_t timeout_ms);
/* Set the close callback (replacing any before); err is NULL for a clean
 * close (EOF or whirl_stream_close) and the reason for an error. */
void whirl_stream_set_close_cb(struct whirl_stream *s,
    whirl_stream_close_cb cb, void *arg);

bool whirl_stream_closed(const struct whirl_stream *s);
/* Why a closed stream failed, as an errno: 0 while open, or after a
 * close by its owner or the peer's clean EOF; EPROTO for a TLS failure
 * (whose text is OpenSSL's reason), ETIMEDOUT for a handshake deadline,
 * else the system call's errno (EPIPE, ECONNRESET, ENOSPC...). */
int whirl_stream_error(const struct whirl_stream *s);
/* True once the peer's EOF has been read. */
bool whirl_stream_read_eof(const struct whirl_stream *s);
/* The fd read (or written, if the stream only writes); -1 once closed. */
int whirl_stream_fd(const struct whirl_stream *s);
struct whirl_loop *whirl_stream_loop(const struct whirl_stream *s);

/*
 * TLS on a connected socket stream (see tls.h for contexts).  The role
 * comes from ctx.  A client verifies `hostname` (a DNS name or an IP
 * literal) and sends it as SNI.  The handshake runs on the loop; reads
 * and writes queued meanwhile wait for it; `done` fires once: err NULL
 * when established, else OpenSSL's reason ("certificate verify failed:
 * unable to get local issuer certificate"), after which the stream closes
 * with the same reason.  If the owner closes or frees the stream during
 * the handshake, `done` does not fire (the close callback does).  timeout_ms 0 means no handshake deadline.
 * Returns -1 (whirl_error) if the stream is not a socket stream, already
 * uses TLS, has a relay, or holds unread input.  After it, the stream API
 * is unchanged; relays still work but never splice.
 */
struct whirl_tls_ctx;
int whirl_stream_start_tls(struct whirl_stream *s, struct whirl_tls_ctx *ctx,
    const char *hostname, uint64_t timeout_ms, whirl_stream_write_cb done,
    void *arg);
/*
 * What a server stream sends, in plain text, to a peer that sends plain
 * HTTP where a TLS ClientHello belongs, before the handshake fails and
 * the stream closes as on any failure (nginx's "400 ... plain HTTP
 * request was sent to HTTPS port").  Without it such a peer sees the
 * connection close.  The reply leaves on a duplicate of the socket that
 * lingers for up to 2 s (whirl_stream_linger_free), so what the peer
 * still sends is dropped, not answered with a reset.  `reply` is not
 * copied: it must outlive the stream.
 */
void whirl_stream_set_tls_plain_reply(struct whirl_stream *s,
    const char *reply, size_t len);
bool whirl_stream_is_tls(const struct whirl_stream *s);
/* The ALPN protocol agreed, copied into buf; NULL if none. */
const char *whirl_stream_tls_alpn(const struct whirl_stream *s, char *buf,
    size_t size);

/* Counters, for tests and -v output. */
struct whirl_stream_stats {
	uint64_t bytes_read;     /* into this stream, by any means */
	uint64_t bytes_written;  /* out of this stream, by any means */
	uint64_t bytes_spliced;  /* of bytes_written, moved by splice(2) */
};
void whirl_stream_stats(const struct whirl_stream *s,
    struct whirl_stream_stats *out);

/*
 * Relays: everything read from src is written to dst, until src's EOF.
 *
 * While a relay runs it owns src's reading (no read may be pending) and
 * shares dst's writing (whirl_stream_write on dst still works, in order).
 * src is read only while dst's queued output is below its relay limit
 * (256 KiB), so a slow reader holds the writer back, not memory.  When both
 * fds are plain (no TLS, not a tty) the bytes move through splice(2) via
 * a kernel pipe and never enter user space.  A splice into a socket whose
 * peer left raises SIGPIPE (splice has no MSG_NOSIGNAL): a program that
 * relays into sockets ignores SIGPIPE, as every whirl tool does, or turns
 * splicing off (whirl_relay_set_splice).
 *
 * On src's EOF, once everything has been written, the relay does its
 * `on_eof` action to dst and then fires done(err = NULL).  The EOF does
 * not close src (whatever its flags): done decides.  If either stream
 * closes or fails first, done fires with the reason.  The relay does not
 * own the streams; whirl_relay_free stops it (safe from any callback).
 */
enum whirl_relay_eof {
	WHIRL_RELAY_EOF_NONE,     /* leave dst as it is */
	WHIRL_RELAY_EOF_SHUTDOWN, /* whirl_stream_shutdown(dst) */
	WHIRL_RELAY_EOF_CLOSE     /* whirl_stream_close(dst) */
};

typedef void (*whirl_relay_cb)(struct whirl_relay *r, const char *err,
    void *arg);
/* Transform bytes on their way (e.g. LF -> CRLF): fn appends to `out`
 * what it makes of `in`; at_eof is true on the last call.  A filter turns
 * splicing off for the relay. */
typedef void (*whirl_relay_filter)(const char *in, size_t len, bool at_eof,
    void (*out)(void *sink, const void *data, size_t len), void *sink,
    void *arg);

struct whirl_relay *whirl_relay_new(struct whirl_stream *src,
    struct whirl_stream *dst, enum whirl_relay_eof on_eof, whirl_relay_cb done,
    void *arg);
void whirl_relay_set_filter(struct whirl_relay *r, whirl_relay_filter fn,
    void *arg);
/* Two filters (socket's -c): every LF becomes CR LF; every CR is
 * deleted, not only those before LF.  arg is unused. */
void whirl_filter_lf_to_crlf(const char *in, size_t len, bool at_eof,
    void (*out)(void *sink, const void *data, size_t len), void *sink,
    void *arg);
void whirl_filter_drop_cr(const char *in, size_t len, bool at_eof,
    void (*out)(void *sink, const void *data, size_t len), void *sink,
    void *arg);
/* Allow or forbid splice(2) (allowed by default). */
void whirl_relay_set_splice(struct whirl_relay *r, bool allow);
/* Bytes moved so far. */
uint64_t whirl_relay_bytes(const struct whirl_relay *r);
void whirl_relay_free(struct whirl_relay *r);

/*
 * A pipe: two relays, a -> b and b -> a, with a done callback that fires
 * once, when both directions have finished (err NULL) or when either
 * stream closed or failed (err says why).  a_eof is applied to b when a
 * reaches EOF, b_eof to a when b does.
 */
struct whirl_pipe;
typedef void (*whirl_pipe_cb)(struct whirl_pipe *p, const char *err,
    void *arg);
struct whirl_pipe *whirl_pipe_new(struct whirl_stream *a,
    struct whirl_stream *b, enum whirl_relay_eof a_eof,
    enum whirl_relay_eof b_eof, whirl_pipe_cb done, void *arg);
void whirl_pipe_free(struct whirl_pipe *p);

#endif
