/* iostream.c - buffered streams on two plain libevent events and two
 * evbuffers (DESIGN.md: plain events measured faster and smaller than
 * bufferevents).
 *
 * Invariants:
 *   - every call out to user code is bracketed by enter()/leave(); a stream
 *     freed during a call out is only marked, and destroyed by the
 *     outermost leave().  After leave() returns false nothing may touch s.
 *   - a read or write callback never runs inside the call that queued it:
 *     work found ready is handed to the stream's own event with
 *     event_active(), which libevent runs after the current callback.
 *   - in/out are NULL whenever they are empty and no call out holds a
 *     pointer into them, so an idle stream holds no buffer.
 *   - a relay's kernel pipe holds bytes that are logically at the head of
 *     dst's output; dst flushes them before its own buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "error.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "tls.h"

#define READ_CHUNK   (64 * 1024)
#define RELAY_LIMIT  (256 * 1024)   /* dst backlog that pauses a relay */
#define SPLICE_CHUNK (256 * 1024)
#define TLS_RECORD   (16 * 1024)    /* bytes handed to one SSL_write */
#define PLAIN_LINGER_MS 2000        /* after the answer to plain HTTP */

enum tls_state { TLS_NONE, TLS_HANDSHAKE, TLS_ON };

enum read_kind { READ_NONE, READ_UNTIL, READ_BYTES, READ_CLOSE, READ_STREAM };

struct write_req {
	struct write_req *next;
	uint64_t end;                   /* done when written_total >= end */
	whirl_stream_write_cb cb;
	void *arg;
};

struct whirl_stream {
	struct whirl_loop *loop;
	struct event *rev, *wev;
	int rfd, wfd;
	int flags;
	int rfd_fl, wfd_fl;             /* fcntl flags to restore (borrowed) */
	bool r_always, w_always;        /* not pollable: always ready */
	bool w_sock;                    /* wfd is a socket: MSG_NOSIGNAL */

	struct evbuffer *in, *out;

	enum read_kind rkind;
	char *delim;
	size_t dlen, rmax, rn, scanned;
	bool partial;
	whirl_stream_read_cb rcb;
	whirl_stream_data_cb dcb;
	size_t offered;                 /* READ_STREAM: left unused last time */
	unsigned read_gen;              /* bumped by every read started */
	void *rarg;

	struct write_req *wq_head, **wq_tail;
	uint64_t queued_total, written_total;

	size_t water_high;
	bool water_above;
	whirl_stream_water_cb water_cb;
	void *water_arg;

	whirl_stream_close_cb close_cb;
	void *close_arg;

	struct whirl_relay *src_relay;  /* relay reading this stream */
	struct whirl_relay *dst_relay;  /* relay writing into this stream */

	SSL *ssl;
	enum tls_state tls;
	bool read_wants_write, write_wants_read;
	struct whirl_timer *hs_timer;
	whirl_stream_write_cb hs_cb;
	void *hs_arg;
	const char *plain_reply;        /* to plain HTTP on a TLS port */
	size_t plain_reply_len;
	char *errmsg;                   /* a failure without an errno text */
	int err;                        /* the errno it failed with, or 0 */

	struct whirl_timer *linger_timer;  /* whirl_stream_linger's deadline */
	uint64_t linger_left;           /* bytes it still drops; 0: no cap */
	bool linger_capped;

	struct whirl_stream_stats stats;
	int depth;
	bool closed, freed, read_eof, reading, drained;
	bool shut_wanted, shut_done, close_after_flush;
};

struct whirl_relay {
	struct whirl_stream *src, *dst;
	enum whirl_relay_eof on_eof;
	whirl_relay_cb done;
	void *arg;
	whirl_relay_filter filter;
	void *filter_arg;
	int pipefd[2];
	size_t pipe_bytes;
	uint64_t bytes;
	bool allow_splice, eof, finished, paused;
	int depth;
	bool freed;
};

static void on_read_event(evutil_socket_t fd, short what, void *arg);
static void tls_handshake(struct whirl_stream *s);
static void on_write_event(evutil_socket_t fd, short what, void *arg);
static void flush(struct whirl_stream *s);
static void stream_fail(struct whirl_stream *s, int err);
static bool handle_eof(struct whirl_stream *s);
static void relay_pump(struct whirl_relay *r);
static void relay_finish(struct whirl_relay *r, const char *err);
static bool relay_dst_drained(struct whirl_relay *r);

/* Lifetime */

static void
enter(struct whirl_stream *s)
{
	s->depth++;
}

static void
destroy(struct whirl_stream *s)
{
	struct write_req *w, *next;

	for (w = s->wq_head; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	event_free(s->rev);
	event_free(s->wev);
	whirl_timer_free(s->hs_timer);
	whirl_timer_free(s->linger_timer);
	SSL_free(s->ssl);
	free(s->errmsg);
	if (s->in != NULL)
		evbuffer_free(s->in);
	if (s->out != NULL)
		evbuffer_free(s->out);
	free(s->delim);
	free(s);
}

/* False when s is gone (or going): the caller must return at once. */
static bool
leave(struct whirl_stream *s)
{
	if (--s->depth == 0 && s->freed) {
		destroy(s);
		return false;
	}
	return !s->freed;
}

static void
release_idle_buffers(struct whirl_stream *s)
{
	if (s->depth > 0)
		return;
	if (s->in != NULL && evbuffer_get_length(s->in) == 0) {
		evbuffer_free(s->in);
		s->in = NULL;
	}
	if (s->out != NULL && evbuffer_get_length(s->out) == 0) {
		evbuffer_free(s->out);
		s->out = NULL;
	}
}

static struct evbuffer *
inbuf(struct whirl_stream *s)
{
	if (s->in == NULL)
		s->in = evbuffer_new();
	return s->in;
}

static struct evbuffer *
outbuf(struct whirl_stream *s)
{
	if (s->out == NULL)
		s->out = evbuffer_new();
	return s->out;
}

static size_t
in_len(const struct whirl_stream *s)
{
	return s->in != NULL ? evbuffer_get_length(s->in) : 0;
}

static size_t
out_len(const struct whirl_stream *s)
{
	size_t n = s->out != NULL ? evbuffer_get_length(s->out) : 0;

	if (s->dst_relay != NULL)
		n += s->dst_relay->pipe_bytes;
	return n;
}

/* epoll refuses regular files and devices such as /dev/null: those are
 * always ready, and are driven by zero-delay timeouts instead. */
static bool
pollable(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return true;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
		return false;
	if (S_ISCHR(st.st_mode) && !isatty(fd))
		return false;
	return true;
}

static int
prepare_fd(int fd, bool *always, int *saved_fl)
{
	*saved_fl = fcntl(fd, F_GETFL);
	if (*saved_fl == -1) {
		whirl__seterrno("fd %d", fd);
		return -1;
	}
	*always = !pollable(fd);
	return whirl__set_nonblock(fd);
}

struct whirl_stream *
whirl_stream_new_pair(struct whirl_loop *loop, int rfd, int wfd, int flags)
{
	struct event_base *base = whirl__loop_base(loop);
	struct whirl_stream *s = whirl__xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->rfd = rfd;
	s->wfd = wfd;
	s->flags = flags;
	s->wq_tail = &s->wq_head;
	if (flags & WHIRL_STREAM_SOCKET) {
		s->rfd_fl = s->wfd_fl = O_RDWR | O_NONBLOCK;
		s->w_sock = true;
	} else if ((rfd >= 0 && prepare_fd(rfd, &s->r_always, &s->rfd_fl) == -1) ||
	    (wfd >= 0 && prepare_fd(wfd, &s->w_always, &s->wfd_fl) == -1)) {
		free(s);
		return NULL;
	}
	if (wfd >= 0 && !(flags & WHIRL_STREAM_SOCKET)) {
		struct stat st;

		s->w_sock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	}
	/* An always-ready fd gets a pure timeout event (fd -1). */
	s->rev = s->r_always ? event_new(base, -1, EV_PERSIST, on_read_event, s)
	    : event_new(base, rfd, EV_READ | EV_PERSIST, on_read_event, s);
	s->wev = s->w_always ? event_new(base, -1, EV_PERSIST, on_write_event, s)
	    : event_new(base, wfd, EV_WRITE | EV_PERSIST, on_write_event, s);
	return s;
}

struct whirl_stream *
whirl_stream_new(struct whirl_loop *loop, int fd, int flags)
{
	return whirl_stream_new_pair(loop, fd, fd, flags);
}

static void
close_fds(struct whirl_stream *s)
{
	event_del(s->rev);
	event_del(s->wev);
	if (s->flags & WHIRL_STREAM_BORROW_FD) {
		/* Leave a shared tty or pipe as we found it. */
		if (s->rfd >= 0)
			fcntl(s->rfd, F_SETFL, s->rfd_fl);
		if (s->wfd >= 0 && s->wfd != s->rfd)
			fcntl(s->wfd, F_SETFL, s->wfd_fl);
	} else {
		if (s->rfd >= 0)
			close(s->rfd);
		if (s->wfd >= 0 && s->wfd != s->rfd)
			close(s->wfd);
	}
	s->rfd = s->wfd = -1;
}

void
whirl_stream_free(struct whirl_stream *s)
{
	if (s == NULL || s->freed)
		return;
	if (s->src_relay != NULL)
		s->src_relay->src = NULL;
	if (s->dst_relay != NULL)
		s->dst_relay->dst = NULL;
	s->src_relay = s->dst_relay = NULL;
	if (!s->closed) {
		s->closed = true;
		close_fds(s);
	}
	s->freed = true;
	if (s->depth == 0)
		destroy(s);
}

/* Event enabling */

static const struct timeval zero_tv = { 0, 0 };

static void
want_read(struct whirl_stream *s, bool on)
{
	static const struct timeval now = { 0, 0 };

	if (on == s->reading || s->closed || s->rfd < 0)
		return;
	s->reading = on;
	if (!on)
		event_del(s->rev);
	else
		event_add(s->rev, s->r_always ? &now : NULL);
}

static void
want_write(struct whirl_stream *s)
{
	static const struct timeval now = { 0, 0 };

	if (!s->closed && s->wfd >= 0)
		event_add(s->wev, s->w_always ? &now : NULL);
}

/* Run the stream's handler after the current callback. */
static void
kick_read(struct whirl_stream *s)
{
	event_active(s->rev, EV_TIMEOUT, 0);
}

static void
kick_write(struct whirl_stream *s)
{
	event_active(s->wev, EV_WRITE, 0);
}

/* Closing */

static const char *
errtext(const struct whirl_stream *s, int err)
{
	if (err == 0)
		return NULL;
	return s->errmsg != NULL ? s->errmsg : strerror(err);
}

/* Tell everyone the stream is closed: writes, the read, relays, then the
 * close callback.  Returns false if s was freed meanwhile. */
static bool
notify_closed(struct whirl_stream *s, int err)
{
	const char *why = err != 0 ? errtext(s, err) : whirl_err_closed;
	struct write_req *w;
	whirl_stream_read_cb rcb;
	enum read_kind kind;

	while ((w = s->wq_head) != NULL) {
		s->wq_head = w->next;
		if (s->wq_head == NULL)
			s->wq_tail = &s->wq_head;
		if (w->cb != NULL)
			w->cb(s, why, w->arg);
		free(w);
		if (s->freed)
			return false;
	}
	if (s->rkind != READ_NONE) {
		rcb = s->rcb;
		kind = s->rkind;
		s->rkind = READ_NONE;
		if (kind == READ_STREAM)
			s->dcb(s, NULL, 0, err == 0 && s->read_eof ? NULL : why,
			    s->rarg);
		else
			rcb(s, NULL, 0, kind == READ_CLOSE && err == 0 &&
			    s->read_eof ? NULL : why, s->rarg);
		if (s->freed)
			return false;
	}
	if (s->src_relay != NULL)
		relay_finish(s->src_relay, why);
	if (s->freed)
		return false;
	if (s->dst_relay != NULL)
		relay_finish(s->dst_relay, why);
	if (s->freed)
		return false;
	if (s->close_cb != NULL)
		s->close_cb(s, errtext(s, err), s->close_arg);
	return !s->freed;
}

static void
stream_close(struct whirl_stream *s, int err)
{
	if (s->closed)
		return;
	s->closed = true;
	s->reading = false;
	s->err = err;
	if (s->tls == TLS_ON && err == 0)
		SSL_shutdown(s->ssl);   /* best effort: one close_notify */
	if (s->hs_timer != NULL)
		whirl_timer_stop(s->hs_timer);
	if (s->linger_timer != NULL)
		whirl_timer_stop(s->linger_timer);
	close_fds(s);
	if (s->out != NULL)
		evbuffer_drain(s->out, evbuffer_get_length(s->out));
	enter(s);
	notify_closed(s, err);
	if (leave(s))
		release_idle_buffers(s);
}

static void
stream_fail(struct whirl_stream *s, int err)
{
	stream_close(s, err);
}

void
whirl_stream_close(struct whirl_stream *s)
{
	stream_close(s, 0);
}

/* Lingering close (whirl_stream_linger): what the peer still sends is
 * dropped, so that our close does not reset the last response away. */
static void
linger_drop(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)data;
	(void)arg;
	if (err != NULL || !s->linger_capped)
		return;
	if (len > s->linger_left)
		whirl_stream_close(s);   /* a flood: stop listening */
	else
		s->linger_left -= len;
}

static void
linger_expired(struct whirl_timer *t, void *arg)
{
	(void)t;
	whirl_stream_close(arg);
}

int
whirl_stream_linger(struct whirl_stream *s, uint64_t timeout_ms,
    uint64_t max_bytes)
{
	if (s->closed || s->freed)
		return -1;
	/* Relays let go: whatever arrives now is only dropped. */
	if (s->src_relay != NULL)
		s->src_relay->src = NULL, s->src_relay = NULL;
	if (s->dst_relay != NULL && s->dst_relay->pipe_bytes == 0)
		s->dst_relay->dst = NULL, s->dst_relay = NULL;
	s->water_cb = NULL;
	s->flags &= ~WHIRL_STREAM_HALF_CLOSE;
	s->linger_left = max_bytes;
	s->linger_capped = max_bytes > 0;
	if (s->linger_timer == NULL)
		s->linger_timer = whirl_timer_new(s->loop, linger_expired, s);
	whirl_timer_start(s->linger_timer, timeout_ms, false);
	s->rkind = READ_NONE;
	whirl_stream_read_until_close(s, linger_drop, NULL);
	whirl_stream_shutdown(s);
	return 0;
}

static void
free_when_closed(struct whirl_stream *s, const char *err, void *arg)
{
	(void)err;
	(void)arg;
	whirl_stream_free(s);
}

void
whirl_stream_linger_free(struct whirl_stream *s, uint64_t timeout_ms)
{
	whirl_stream_set_close_cb(s, free_when_closed, NULL);
	if (whirl_stream_linger(s, timeout_ms, 0) == -1)
		whirl_stream_free(s);
}

void
whirl_stream_set_close_cb(struct whirl_stream *s, whirl_stream_close_cb cb,
    void *arg)
{
	s->close_cb = cb;
	s->close_arg = arg;
}

/* Reading */

static int
start_read(struct whirl_stream *s, enum read_kind kind, whirl_stream_read_cb cb,
    void *arg)
{
	if (s->rkind != READ_NONE || s->src_relay != NULL) {
		whirl__seterr(EBUSY, "a read is already pending");
		return -1;
	}
	s->rkind = kind;
	s->rcb = cb;
	s->rarg = arg;
	s->scanned = 0;
	s->read_gen++;
	kick_read(s);
	return 0;
}

int
whirl_stream_read_until(struct whirl_stream *s, const char *delim, size_t dlen,
    size_t max, whirl_stream_read_cb cb, void *arg)
{
	if (dlen == 0) {
		whirl__seterr(EINVAL, "empty delimiter");
		return -1;
	}
	if (s->rkind != READ_NONE || s->src_relay != NULL)
		return start_read(s, READ_UNTIL, cb, arg);
	free(s->delim);
	s->delim = whirl__xmemdup(delim, dlen);
	s->dlen = dlen;
	s->rmax = max > 0 ? max : SIZE_MAX;
	return start_read(s, READ_UNTIL, cb, arg);
}

int
whirl_stream_read_bytes(struct whirl_stream *s, size_t n, bool partial,
    whirl_stream_read_cb cb, void *arg)
{
	if (n == 0) {
		whirl__seterr(EINVAL, "read_bytes of 0 bytes");
		return -1;
	}
	if (s->rkind == READ_NONE) {
		s->rn = n;
		s->partial = partial;
	}
	return start_read(s, READ_BYTES, cb, arg);
}

int
whirl_stream_read_until_close(struct whirl_stream *s, whirl_stream_read_cb cb,
    void *arg)
{
	return start_read(s, READ_CLOSE, cb, arg);
}

int
whirl_stream_read_stream(struct whirl_stream *s, whirl_stream_data_cb cb,
    void *arg)
{
	if (start_read(s, READ_STREAM, NULL, arg) == -1)
		return -1;
	s->dcb = cb;
	s->offered = 0;
	return 0;
}

/* READ_STREAM: offer the buffer if it holds anything not offered yet.
 * 1: the callback ran, 0: nothing new, -1: s is gone. */
static int
offer(struct whirl_stream *s)
{
	size_t len = in_len(s), used = 0;
	const char *data;
	unsigned gen;
	bool alive;

	if (len == 0 || len <= s->offered) {
		if (!s->read_eof && !s->closed)
			return 0;
		s->rkind = READ_NONE;
		enter(s);
		s->dcb(s, NULL, 0, s->read_eof ? NULL : whirl_err_closed,
		    s->rarg);
		return leave(s) ? 1 : -1;
	}
	data = (const char *)evbuffer_pullup(s->in, (ev_ssize_t)len);
	gen = s->read_gen;
	enter(s);
	used = s->dcb(s, data, len, NULL, s->rarg);
	alive = leave(s);
	if (!alive)
		return -1;
	if (used > len)
		used = len;
	if (s->in != NULL)
		evbuffer_drain(s->in, used);
	/* A read restarted inside the callback sees the rest afresh. */
	s->offered = gen == s->read_gen ? len - used : 0;
	return 1;
}

/* READ_STREAM with nothing buffered: read into a scratch buffer and offer
 * it from there; only what the callback leaves is copied into the stream's
 * buffer.  A request that arrives whole is parsed without any allocation.
 * 1: offered, 0: nothing now, -1: EOF or error handled (check s). */
static char scratch[64 * 1024];
static bool scratch_busy;

static int
read_and_offer(struct whirl_stream *s)
{
	ssize_t n = read(s->rfd, scratch, sizeof(scratch));
	size_t used;
	unsigned gen;
	bool alive;

	if (n == 0) {
		handle_eof(s);
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		stream_fail(s, errno);
		return -1;
	}
	s->stats.bytes_read += (uint64_t)n;
	s->drained = (size_t)n < sizeof(scratch);
	gen = s->read_gen;
	scratch_busy = true;
	enter(s);
	used = s->dcb(s, scratch, (size_t)n, NULL, s->rarg);
	alive = leave(s);
	if (used > (size_t)n)
		used = (size_t)n;
	if (alive && used < (size_t)n) {
		evbuffer_add(inbuf(s), scratch + used, (size_t)n - used);
		s->offered = gen == s->read_gen ? (size_t)n - used : 0;
	}
	scratch_busy = false;
	return alive ? 1 : -1;
}

/* The fd stays watched: a parser that pauses and resumes within one
 * turn (a server answering a request) costs no epoll_ctl.  If the fd turns
 * readable with no read pending, the handler stops watching it then. */
void
whirl_stream_cancel_read(struct whirl_stream *s)
{
	s->rkind = READ_NONE;
}

/* Hand `len` bytes at the head of the input (len may be 0) to the read
 * callback, then drop them.  Returns false if s is gone. */
static bool
deliver(struct whirl_stream *s, size_t len, const char *err, bool keep_op)
{
	whirl_stream_read_cb cb = s->rcb;
	const char *data = NULL;
	bool alive;

	if (!keep_op)
		s->rkind = READ_NONE;
	if (len > 0)
		data = (const char *)evbuffer_pullup(s->in, (ev_ssize_t)len);
	enter(s);
	cb(s, data, len, err, s->rarg);
	alive = leave(s);
	if (alive && len > 0 && s->in != NULL)
		evbuffer_drain(s->in, len);
	return alive;
}

/* Find the delimiter, resuming where the last scan stopped. */
static bool
find_delim(struct whirl_stream *s, size_t *end)
{
	struct evbuffer_ptr start, hit;
	size_t len = in_len(s);

	if (len < s->dlen)
		return false;
	evbuffer_ptr_set(s->in, &start, s->scanned, EVBUFFER_PTR_SET);
	hit = evbuffer_search(s->in, s->delim, s->dlen, &start);
	if (hit.pos == -1) {
		s->scanned = len - s->dlen + 1;
		return false;
	}
	*end = (size_t)hit.pos + s->dlen;
	return true;
}

/* Complete the pending read from buffered input if possible.  Returns
 * 1 if a callback ran, 0 if more input is needed, -1 if s is gone. */
static int
try_read(struct whirl_stream *s)
{
	size_t len = in_len(s), end;

	switch (s->rkind) {
	case READ_NONE:
		return 0;
	case READ_UNTIL:
		if (find_delim(s, &end))
			return deliver(s, end <= s->rmax ? end : 0,
			    end <= s->rmax ? NULL : whirl_err_too_long,
			    false) ? 1 : -1;
		if (len >= s->rmax)
			return deliver(s, 0, whirl_err_too_long, false) ? 1 : -1;
		break;
	case READ_BYTES:
		if (len >= s->rn || (s->partial && len > 0))
			return deliver(s, len < s->rn ? len : s->rn, NULL,
			    false) ? 1 : -1;
		break;
	case READ_CLOSE:
		if (len > 0)
			return deliver(s, len, NULL, true) ? 1 : -1;
		if (s->read_eof)
			return deliver(s, 0, NULL, false) ? 1 : -1;
		return 0;
	case READ_STREAM:
		return offer(s);
	}
	if (s->read_eof || s->closed)
		return deliver(s, len, whirl_err_closed, false) ? 1 : -1;
	return 0;
}

/* The peer's EOF: reads end; without HALF_CLOSE the stream closes once
 * its output is flushed.  Returns false if s is gone. */
static bool
handle_eof(struct whirl_stream *s)
{
	s->read_eof = true;
	want_read(s, false);
	while (s->rkind != READ_NONE)
		if (try_read(s) < 0)
			return false;
	if (s->closed)
		return true;
	if (s->shut_done || !(s->flags & WHIRL_STREAM_HALF_CLOSE)) {
		if (out_len(s) > 0 && !s->shut_done)
			s->close_after_flush = true;
		else
			stream_close(s, 0);
	}
	return !s->freed;
}

/* Record a TLS failure's reason for the callbacks; errno = EPROTO. */
static void
tls_failed(struct whirl_stream *s, int ret, int ssl_error)
{
	char buf[256];
	int sys = errno;
	/* A reset under TLS is still a reset: keep its errno. */
	bool system = ssl_error == SSL_ERROR_SYSCALL && ret != 0 &&
	    sys != 0 && ERR_peek_error() == 0;

	free(s->errmsg);
	s->errmsg = whirl__xstrdup(whirl__tls_reason(s->ssl, ret, ssl_error,
	    buf, sizeof(buf)));
	errno = system ? sys : EPROTO;
}

/* Decrypt into buf.  As evbuffer_read: >0 bytes, 0 EOF (close_notify, or
 * a TCP close that TLS allows), -1 with errno (EAGAIN: wait). */
static int
tls_read(struct whirl_stream *s, struct evbuffer *buf, int howmuch)
{
	struct evbuffer_iovec v;
	int n, err;

	s->read_wants_write = false;
	if (evbuffer_reserve_space(buf, howmuch, &v, 1) < 1)
		return -1;
	ERR_clear_error();
	n = SSL_read(s->ssl, v.iov_base,
	    v.iov_len < (size_t)howmuch ? (int)v.iov_len : howmuch);
	if (n > 0) {
		v.iov_len = (size_t)n;
		evbuffer_commit_space(buf, &v, 1);
		return n;
	}
	switch (err = SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->read_wants_write = true;
		want_write(s);
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EAGAIN)
			return 0;   /* EOF without close_notify, allowed */
		/* fall through */
	default:
		tls_failed(s, n, err);
		return -1;
	}
}

/* A plain read into reserved evbuffer space.  evbuffer_read asks the
 * kernel how much is waiting (ioctl FIONREAD) before every read: one
 * syscall per request that we do not need. */
static int
plain_read(struct whirl_stream *s, struct evbuffer *buf, int howmuch)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	int n, i;
	ssize_t got;

	n = evbuffer_reserve_space(buf, howmuch, v, 2);
	if (n < 1)
		return -1;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	got = readv(s->rfd, iov, n);
	if (got <= 0) {
		evbuffer_commit_space(buf, v, 0);
		return (int)got;
	}
	for (i = 0; i < n; i++) {
		size_t take = (size_t)got < v[i].iov_len ? (size_t)got :
		    v[i].iov_len;

		v[i].iov_len = take;
		got -= (ssize_t)take;
	}
	evbuffer_commit_space(buf, v, n);
	return (int)(v[0].iov_len + (n > 1 ? v[1].iov_len : 0));
}

/* One read from the transport into buf (plain or TLS). */
static int
transport_read(struct whirl_stream *s, struct evbuffer *buf, int howmuch)
{
	if (s->ssl != NULL)
		return tls_read(s, buf, howmuch);
	return plain_read(s, buf, howmuch);
}

/* Bytes already decrypted by OpenSSL: readable though epoll is silent. */
static bool
tls_pending(const struct whirl_stream *s)
{
	return s->ssl != NULL && s->tls == TLS_ON && SSL_has_pending(s->ssl);
}

/* Read once into the input buffer.  1: got bytes, 0: nothing now,
 * -1: EOF or error handled (check s). */
static int
fill(struct whirl_stream *s)
{
	int n = transport_read(s, inbuf(s), READ_CHUNK);

	if (n > 0) {
		s->stats.bytes_read += (uint64_t)n;
		/* A short read emptied the socket: another read now would
		 * only say EAGAIN. */
		s->drained = n < READ_CHUNK && s->ssl == NULL && !s->r_always;
		return 1;
	}
	if (n == 0) {
		handle_eof(s);
		return -1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	stream_fail(s, errno);
	return -1;
}

/* Satisfy reads from the buffer, reading the fd as needed, until no read
 * is pending or the fd has nothing more.  Returns false if s is gone. */
static bool
handle_read(struct whirl_stream *s, bool fd_ready)
{
	int r;

	for (;;) {
		r = try_read(s);
		if (r < 0)
			return false;
		if (r > 0)
			continue;
		if (s->rkind == READ_NONE || s->closed || s->read_eof)
			break;
		if ((!fd_ready || s->drained) && !tls_pending(s)) {
			want_read(s, true);
			return true;
		}
		if (s->rkind == READ_STREAM && in_len(s) == 0 && s->ssl == NULL &&
		    !s->r_always && !scratch_busy) {
			r = read_and_offer(s);
			if (r < 0)
				return !s->freed;
			if (r == 0) {
				want_read(s, true);
				return true;
			}
			continue;
		}
		r = fill(s);
		if (r < 0)
			return !s->freed;
		if (r == 0) {
			want_read(s, true);
			return true;
		}
	}
	if (s->src_relay != NULL) {
		/* A relay started inside the read callback reads next. */
		kick_read(s);
		return true;
	}
	if (s->rkind == READ_NONE)
		want_read(s, false);
	return true;
}

/* Writing */

static void
complete_writes(struct whirl_stream *s)
{
	struct write_req *w;

	while ((w = s->wq_head) != NULL && w->end <= s->written_total) {
		s->wq_head = w->next;
		if (s->wq_head == NULL)
			s->wq_tail = &s->wq_head;
		if (w->cb != NULL)
			w->cb(s, NULL, w->arg);
		free(w);
		if (s->freed)
			return;
	}
}

static void
check_water(struct whirl_stream *s)
{
	size_t pending = out_len(s);
	bool above;

	if (s->water_high == 0 || s->water_cb == NULL)
		return;
	if (!s->water_above && pending > s->water_high)
		above = true;
	else if (s->water_above && pending <= s->water_high / 2)
		above = false;
	else
		return;
	s->water_above = above;
	s->water_cb(s, above, s->water_arg);
}

static void
do_shutdown(struct whirl_stream *s)
{
	s->shut_done = true;
	if (s->ssl != NULL && s->tls == TLS_ON)
		SSL_shutdown(s->ssl);   /* close_notify before the FIN */
	if (shutdown(s->wfd, SHUT_WR) == -1 && errno == ENOTSOCK &&
	    s->wfd != s->rfd) {
		event_del(s->wev);
		if (!(s->flags & WHIRL_STREAM_BORROW_FD))
			close(s->wfd);
		else
			fcntl(s->wfd, F_SETFL, s->wfd_fl);
		s->wfd = -1;
	}
	if (s->read_eof)
		stream_close(s, 0);
}

/* Splice the relay's kernel pipe into our fd.  1: pipe empty,
 * 0: would block, -1: failed (errno). */
static int
flush_pipe(struct whirl_stream *s, struct whirl_relay *r)
{
	ssize_t n;

	while (r->pipe_bytes > 0) {
		n = splice(r->pipefd[0], NULL, s->wfd, NULL, r->pipe_bytes,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			r->pipe_bytes -= (size_t)n;
			s->written_total += (uint64_t)n;
			s->stats.bytes_written += (uint64_t)n;
			s->stats.bytes_spliced += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1 && errno == EINVAL) {
			/* This fd takes no splice: move the bytes to the
			 * buffer (they are older than anything in it). */
			struct evbuffer *tmp = evbuffer_new();

			while (r->pipe_bytes > 0 &&
			    (n = evbuffer_read(tmp, r->pipefd[0],
			    (int)r->pipe_bytes)) > 0)
				r->pipe_bytes -= (size_t)n;
			evbuffer_prepend_buffer(outbuf(s), tmp);
			evbuffer_free(tmp);
			r->allow_splice = false;
			return 1;
		}
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	return 1;
}

/* Encrypt and send up to one record from the output buffer.  As
 * evbuffer_write: bytes written, or -1 with errno (EAGAIN: wait). */
static int
tls_write(struct whirl_stream *s)
{
	size_t len = evbuffer_get_length(s->out);
	int n, err;

	if (len > TLS_RECORD)
		len = TLS_RECORD;
	s->write_wants_read = false;
	ERR_clear_error();
	n = SSL_write(s->ssl, evbuffer_pullup(s->out, (ev_ssize_t)len),
	    (int)len);
	if (n > 0) {
		evbuffer_drain(s->out, (size_t)n);
		return n;
	}
	switch (err = SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		s->write_wants_read = true;
		event_add(s->rev, NULL);
		errno = EAGAIN;
		return -1;
	default:
		tls_failed(s, n, err);
		return -1;
	}
}

/* Write the head of the output: sendmsg with MSG_NOSIGNAL on a socket,
 * so a peer that left gives EPIPE, not a SIGPIPE that kills the program
 * using the library; writev on anything else. */
static int
plain_write(struct whirl_stream *s)
{
	struct evbuffer_iovec v[32];
	struct iovec iov[32];
	struct msghdr mh = { 0 };
	int n, i;
	ssize_t done;

	n = evbuffer_peek(s->out, -1, NULL, v, 32);
	if (n > 32)
		n = 32;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if (s->w_sock) {
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		done = sendmsg(s->wfd, &mh, MSG_NOSIGNAL);
	} else {
		done = writev(s->wfd, iov, n);
	}
	if (done > 0)
		evbuffer_drain(s->out, (size_t)done);
	return (int)done;
}

static int
transport_write(struct whirl_stream *s)
{
	if (s->ssl != NULL)
		return tls_write(s);
	return plain_write(s);
}

/* A pair stream's reader is gone (EPIPE), yet its other end may still
 * have output for us: a child that exits without reading all its input.
 * With HALF_CLOSE only writing ends, as a shutdown would: queued output
 * is dropped, its callbacks and a relay writing into the stream are told,
 * and reading goes on.  False when the stream must fail whole (one fd,
 * no HALF_CLOSE). */
static bool
lose_write_side(struct whirl_stream *s)
{
	struct whirl_relay *r = s->dst_relay;
	struct write_req *w;

	if (!(s->flags & WHIRL_STREAM_HALF_CLOSE) || s->wfd == s->rfd ||
	    s->rfd < 0)
		return false;
	if (r != NULL) {
		/* Its bytes have nowhere to go; the relay's kernel pipe is
		 * closed with it. */
		s->dst_relay = NULL;
		r->dst = NULL;
		r->pipe_bytes = 0;
	}
	event_del(s->wev);
	if (!(s->flags & WHIRL_STREAM_BORROW_FD))
		close(s->wfd);
	else
		fcntl(s->wfd, F_SETFL, s->wfd_fl);
	s->wfd = -1;
	s->shut_wanted = s->shut_done = true;
	if (s->out != NULL)
		evbuffer_drain(s->out, evbuffer_get_length(s->out));
	while ((w = s->wq_head) != NULL) {
		s->wq_head = w->next;
		if (s->wq_head == NULL)
			s->wq_tail = &s->wq_head;
		if (w->cb != NULL)
			w->cb(s, errtext(s, EPIPE), w->arg);
		free(w);
		if (s->freed)
			return true;
	}
	if (r != NULL) {
		relay_finish(r, errtext(s, EPIPE));
		if (s->freed)
			return true;
	}
	if (s->read_eof)
		stream_close(s, 0);
	return true;
}

/* Write what is queued.  Returns with s possibly gone (callers check
 * s->freed under enter/leave). */
static void
flush(struct whirl_stream *s)
{
	struct whirl_relay *r = s->dst_relay;
	int n;

	if (s->closed || s->wfd < 0)
		return;
	if (r != NULL && r->pipe_bytes > 0) {
		n = flush_pipe(s, r);
		if (n < 0 && errno == EPIPE && lose_write_side(s))
			return;
		if (n < 0) {
			stream_fail(s, errno);
			return;
		}
		if (n == 0)
			goto blocked;
	}
	while (s->out != NULL && evbuffer_get_length(s->out) > 0) {
		n = transport_write(s);
		if (n > 0) {
			s->written_total += (uint64_t)n;
			s->stats.bytes_written += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			goto blocked;
		if (n == -1 && errno == EPIPE && lose_write_side(s))
			return;
		stream_fail(s, n == 0 ? EPIPE : errno);
		return;
	}
	if (!s->read_wants_write)
		event_del(s->wev);
	complete_writes(s);
	if (s->freed || s->closed)
		return;
	check_water(s);
	if (s->freed || s->closed)
		return;
	if (r != NULL && !relay_dst_drained(r))
		return;
	if (out_len(s) > 0)
		return;
	if (s->close_after_flush) {
		stream_close(s, 0);
		return;
	}
	if (s->shut_wanted && !s->shut_done)
		do_shutdown(s);
	return;
blocked:
	want_write(s);
	complete_writes(s);
	if (!s->freed && !s->closed)
		check_water(s);
	if (!s->freed && !s->closed && r != NULL)
		relay_dst_drained(r);
}

int
whirl_stream_write(struct whirl_stream *s, const void *data, size_t len,
    whirl_stream_write_cb cb, void *arg)
{
	struct write_req *w;

	if (s->closed || s->shut_wanted || s->wfd < 0) {
		whirl__seterr(EPIPE, "stream closed for writing");
		return -1;
	}
	if (len > 0 && out_len(s) == 0 && s->w_sock && s->ssl == NULL) {
		/* Nothing queued: send now, from the caller's memory.  A
		 * response then costs one syscall and no buffer at all. */
		ssize_t n = send(s->wfd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			s->queued_total += (uint64_t)n;
			s->written_total += (uint64_t)n;
			s->stats.bytes_written += (uint64_t)n;
			data = (const char *)data + n;
			len -= (size_t)n;
		}
		/* An error is met again by flush, which fails the stream. */
	}
	if (len > 0)
		evbuffer_add(outbuf(s), data, len);
	s->queued_total += len;
	if (cb != NULL) {
		w = whirl__xmalloc(sizeof(*w));
		w->next = NULL;
		w->end = s->queued_total;
		w->cb = cb;
		w->arg = arg;
		*s->wq_tail = w;
		s->wq_tail = &w->next;
	}
	if (len > 0 || cb != NULL)
		kick_write(s);
	if (s->water_cb != NULL) {
		enter(s);
		check_water(s);
		leave(s);
	}
	return 0;
}

size_t
whirl_stream_write_pending(const struct whirl_stream *s)
{
	return out_len(s);
}

void
whirl_stream_set_water(struct whirl_stream *s, size_t high,
    whirl_stream_water_cb cb, void *arg)
{
	s->water_high = high;
	s->water_cb = cb;
	s->water_arg = arg;
	s->water_above = false;
}

int
whirl_stream_shutdown(struct whirl_stream *s)
{
	if (s->closed || s->wfd < 0) {
		whirl__seterr(EPIPE, "stream closed for writing");
		return -1;
	}
	s->shut_wanted = true;
	kick_write(s);
	return 0;
}

/* libevent's event_add does not register the fd of an event that sits in
 * the active queue (a kick), so an add made while kicked is lost once the
 * kick runs.  Every handler ends by re-adding what should be watched;
 * adding an event already registered changes nothing. */
static void
resync(struct whirl_stream *s)
{
	if (s->freed || s->closed)
		return;
	if ((s->reading || s->write_wants_read) && !s->r_always &&
	    s->tls != TLS_HANDSHAKE)
		event_add(s->rev, NULL);
	if ((out_len(s) > 0 || s->read_wants_write) && !s->w_always &&
	    s->wfd >= 0 && s->tls != TLS_HANDSHAKE)
		event_add(s->wev, NULL);
}

/* The read event: the fd is readable (EV_READ), an always-ready fd's
 * timeout ticked, or kick_read() deferred work to here (EV_TIMEOUT). */
static void
on_read_event(evutil_socket_t fd, short what, void *arg)
{
	struct whirl_stream *s = arg;
	bool fd_ready = (what & EV_READ) || s->r_always || s->reading;

	(void)fd;
	if (what & EV_READ)
		s->drained = false;
	enter(s);
	if (s->tls == TLS_HANDSHAKE) {
		tls_handshake(s);
		goto out;
	}
	if (s->write_wants_read) {
		flush(s);
		if (s->freed)
			goto out;
	}
	if (s->src_relay != NULL)
		relay_pump(s->src_relay);
	else
		handle_read(s, fd_ready);
	/* libevent repeats no zero timeout: re-arm an always-ready fd. */
	if (!s->freed && s->r_always && s->reading && !s->closed)
		event_add(s->rev, &zero_tv);
out:
	resync(s);
	if (leave(s))
		release_idle_buffers(s);
}

static void
on_write_event(evutil_socket_t fd, short what, void *arg)
{
	struct whirl_stream *s = arg;

	(void)fd;
	(void)what;
	enter(s);
	if (s->tls == TLS_HANDSHAKE) {
		tls_handshake(s);
	} else if (s->read_wants_write) {
		if (s->src_relay != NULL)
			relay_pump(s->src_relay);
		else
			handle_read(s, true);
		if (!s->freed)
			flush(s);
	} else {
		flush(s);
	}
	resync(s);
	if (leave(s))
		release_idle_buffers(s);
}

/*
 * TLS
 */

/* The handshake ended: tell its callback, then let queued reads and
 * writes run.  On failure the stream closes with the reason. */
static void
tls_handshake_done(struct whirl_stream *s, int err)
{
	whirl_stream_write_cb cb = s->hs_cb;

	s->hs_cb = NULL;
	if (s->hs_timer != NULL)
		whirl_timer_stop(s->hs_timer);
	event_del(s->rev);
	event_del(s->wev);
	s->reading = false;
	if (err == 0) {
		s->tls = TLS_ON;
		if (cb != NULL)
			cb(s, NULL, s->hs_arg);
		if (s->freed || s->closed)
			return;
		kick_read(s);
		kick_write(s);
		return;
	}
	s->tls = TLS_NONE;
	if (cb != NULL)
		cb(s, errtext(s, err), s->hs_arg);
	if (!s->freed)
		stream_fail(s, err);
}

/* OpenSSL read "GET /" where a record header belongs.  Say so in plain
 * text, as nginx does, instead of a bare reset.  The answer goes out on a
 * duplicate of the socket that lingers (whirl_stream_linger_free): when
 * the owner closes this stream for the failed handshake, the socket
 * stays open, and what the client still sends is read and dropped until
 * it closes, not answered with a RST that could destroy the answer. */
static void
answer_plain_http(struct whirl_stream *s)
{
	struct whirl_stream *answer;
	int fd;

	free(s->errmsg);
	s->errmsg = whirl__xstrdup("plain HTTP request on a TLS port");
	fd = fcntl(s->rfd, F_DUPFD_CLOEXEC, 0);
	if (fd != -1) {
		answer = whirl_stream_new(s->loop, fd, WHIRL_STREAM_SOCKET);
		whirl_stream_write(answer, s->plain_reply, s->plain_reply_len,
		    NULL, NULL);
		whirl_stream_linger_free(answer, PLAIN_LINGER_MS);
	}
	errno = EPROTO;
}

static void
tls_handshake(struct whirl_stream *s)
{
	int n, err;

	ERR_clear_error();
	n = SSL_do_handshake(s->ssl);
	if (n == 1) {
		tls_handshake_done(s, 0);
		return;
	}
	switch (err = SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		event_del(s->wev);
		event_add(s->rev, NULL);
		return;
	case SSL_ERROR_WANT_WRITE:
		event_add(s->wev, NULL);
		return;
	default:
		if (s->plain_reply != NULL && SSL_is_server(s->ssl) &&
		    ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST) {
			ERR_clear_error();
			answer_plain_http(s);
		} else {
			tls_failed(s, n, err);
		}
		tls_handshake_done(s, EPROTO);
	}
}

static void
tls_handshake_timeout(struct whirl_timer *t, void *arg)
{
	struct whirl_stream *s = arg;

	(void)t;
	free(s->errmsg);
	s->errmsg = whirl__xstrdup("TLS handshake timed out");
	enter(s);
	tls_handshake_done(s, ETIMEDOUT);
	leave(s);
}

int
whirl_stream_start_tls(struct whirl_stream *s, struct whirl_tls_ctx *ctx,
    const char *hostname, uint64_t timeout_ms, whirl_stream_write_cb done,
    void *arg)
{
	if (s->closed || s->rfd < 0 || s->rfd != s->wfd || s->ssl != NULL ||
	    s->src_relay != NULL || s->dst_relay != NULL || in_len(s) > 0 ||
	    s->r_always) {
		whirl__seterr(EINVAL, "tls: stream cannot start TLS now");
		return -1;
	}
	s->ssl = whirl__tls_new_ssl(ctx, hostname);
	if (s->ssl == NULL)
		return -1;
	if (SSL_set_fd(s->ssl, s->rfd) != 1) {
		SSL_free(s->ssl);
		s->ssl = NULL;
		whirl__seterr(EINVAL, "tls: SSL_set_fd failed");
		return -1;
	}
	s->tls = TLS_HANDSHAKE;
	s->hs_cb = done;
	s->hs_arg = arg;
	if (timeout_ms > 0) {
		if (s->hs_timer == NULL)
			s->hs_timer = whirl_timer_new(s->loop,
			    tls_handshake_timeout, s);
		whirl_timer_start(s->hs_timer, timeout_ms, false);
	}
	kick_write(s);
	return 0;
}

void
whirl_stream_set_tls_plain_reply(struct whirl_stream *s, const char *reply,
    size_t len)
{
	s->plain_reply = reply;
	s->plain_reply_len = len;
}

bool
whirl_stream_is_tls(const struct whirl_stream *s)
{
	return s->ssl != NULL;
}

const char *
whirl_stream_tls_alpn(const struct whirl_stream *s, char *buf, size_t size)
{
	const unsigned char *p;
	unsigned int len;

	if (s->ssl == NULL || size == 0)
		return NULL;
	SSL_get0_alpn_selected(s->ssl, &p, &len);
	if (len == 0)
		return NULL;
	if (len >= size)
		len = (unsigned int)size - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

/* Queries */

bool
whirl_stream_closed(const struct whirl_stream *s)
{
	return s->closed;
}

int
whirl_stream_error(const struct whirl_stream *s)
{
	return s->err;
}

bool
whirl_stream_read_eof(const struct whirl_stream *s)
{
	return s->read_eof;
}

int
whirl_stream_fd(const struct whirl_stream *s)
{
	return s->rfd >= 0 ? s->rfd : s->wfd;
}

struct whirl_loop *
whirl_stream_loop(const struct whirl_stream *s)
{
	return s->loop;
}

void
whirl_stream_stats(const struct whirl_stream *s,
    struct whirl_stream_stats *out)
{
	*out = s->stats;
}

/*
 * Relays
 */

static void
relay_enter(struct whirl_relay *r)
{
	r->depth++;
}

static void
relay_destroy(struct whirl_relay *r)
{
	if (r->pipefd[0] >= 0) {
		close(r->pipefd[0]);
		close(r->pipefd[1]);
	}
	free(r);
}

static bool
relay_leave(struct whirl_relay *r)
{
	if (--r->depth == 0 && r->freed) {
		relay_destroy(r);
		return false;
	}
	return !r->freed;
}

static void
relay_detach(struct whirl_relay *r)
{
	if (r->src != NULL) {
		r->src->src_relay = NULL;
		want_read(r->src, false);
	}
	if (r->dst != NULL && r->dst->dst_relay == r) {
		/* Bytes still in the kernel pipe would be lost with it. */
		if (r->pipe_bytes == 0)
			r->dst->dst_relay = NULL;
	}
}

static void
relay_finish(struct whirl_relay *r, const char *err)
{
	if (r->finished)
		return;
	r->finished = true;
	relay_detach(r);
	if (r->done == NULL)
		return;
	relay_enter(r);
	r->done(r, err, r->arg);
	relay_leave(r);
}

struct whirl_relay *
whirl_relay_new(struct whirl_stream *src, struct whirl_stream *dst,
    enum whirl_relay_eof on_eof, whirl_relay_cb done, void *arg)
{
	struct whirl_relay *r;

	if (src->rkind != READ_NONE || src->src_relay != NULL ||
	    dst->dst_relay != NULL || src->rfd < 0 || dst->wfd < 0) {
		whirl__seterr(EBUSY, "stream busy or closed");
		return NULL;
	}
	r = whirl__xcalloc(1, sizeof(*r));
	r->src = src;
	r->dst = dst;
	r->on_eof = on_eof;
	r->done = done;
	r->arg = arg;
	r->allow_splice = true;
	r->pipefd[0] = r->pipefd[1] = -1;
	src->src_relay = r;
	dst->dst_relay = r;
	kick_read(src);
	return r;
}

void
whirl_relay_set_filter(struct whirl_relay *r, whirl_relay_filter fn, void *arg)
{
	r->filter = fn;
	r->filter_arg = arg;
}

void
whirl_relay_set_splice(struct whirl_relay *r, bool allow)
{
	r->allow_splice = allow;
}

uint64_t
whirl_relay_bytes(const struct whirl_relay *r)
{
	return r->bytes;
}

void
whirl_relay_free(struct whirl_relay *r)
{
	if (r == NULL || r->freed)
		return;
	relay_detach(r);
	if (r->dst != NULL && r->dst->dst_relay == r && r->pipe_bytes > 0) {
		/* Keep the pipe's bytes: hand them to dst's buffer. */
		struct evbuffer *tmp = evbuffer_new();
		int n;

		while (r->pipe_bytes > 0 && (n = evbuffer_read(tmp,
		    r->pipefd[0], (int)r->pipe_bytes)) > 0)
			r->pipe_bytes -= (size_t)n;
		evbuffer_prepend_buffer(outbuf(r->dst), tmp);
		evbuffer_free(tmp);
		r->dst->dst_relay = NULL;
	}
	r->freed = true;
	if (r->depth == 0)
		relay_destroy(r);
}

static void
filter_sink(void *sink, const void *data, size_t len)
{
	evbuffer_add(sink, data, len);
}

/* Move what src has buffered (left by earlier reads) to dst. */
static void
relay_take_buffered(struct whirl_relay *r)
{
	struct whirl_stream *src = r->src;
	size_t len = in_len(src);

	if (len == 0)
		return;
	r->bytes += len;
	if (r->filter != NULL) {
		r->filter((const char *)evbuffer_pullup(src->in, -1), len,
		    false, filter_sink, outbuf(r->dst), r->filter_arg);
		evbuffer_drain(src->in, len);
	} else {
		evbuffer_add_buffer(outbuf(r->dst), src->in);
	}
}

/* Read src once, into dst.  1: moved bytes, 0: nothing now, -1: EOF seen
 * (r->eof) or an error (src failed). */
static int
relay_read_once(struct whirl_relay *r)
{
	struct whirl_stream *src = r->src, *dst = r->dst;
	ssize_t n;

	if (src->ssl != NULL || dst->ssl != NULL)
		r->allow_splice = false;
	if (r->allow_splice && r->filter == NULL && out_len(dst) == 0) {
		if (r->pipefd[0] < 0 && pipe2(r->pipefd, O_CLOEXEC | O_NONBLOCK)
		    == -1)
			r->allow_splice = false;
		if (r->allow_splice) {
			n = splice(src->rfd, NULL, r->pipefd[1], NULL,
			    SPLICE_CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				r->pipe_bytes += (size_t)n;
				goto moved;
			}
			if (n == 0)
				goto eof;
			if (errno == EAGAIN)
				return 0;
			if (errno != EINVAL && errno != ENOSYS)
				goto fail;
			r->allow_splice = false;
		}
	}
	if (r->filter != NULL) {
		n = transport_read(src, inbuf(src), READ_CHUNK);
		if (n > 0) {
			src->stats.bytes_read += (uint64_t)n;
			relay_take_buffered(r);
			return 1;
		}
	} else {
		n = transport_read(src, outbuf(dst), READ_CHUNK);
		if (n > 0)
			goto moved;
	}
	if (n == 0)
		goto eof;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
fail:
	stream_fail(src, errno);
	return -1;
moved:
	src->stats.bytes_read += (uint64_t)n;
	r->bytes += (uint64_t)n;
	return 1;
eof:
	r->eof = true;
	src->read_eof = true;
	if (r->filter != NULL) {
		r->filter("", 0, true, filter_sink, outbuf(dst), r->filter_arg);
	}
	return -1;
}

/* dst has written some: resume a paused relay, or finish one whose
 * source has ended.  Returns false if r is finished or gone. */
static bool
relay_dst_drained(struct whirl_relay *r)
{
	struct whirl_stream *dst = r->dst;

	if (r->finished) {
		if (r->pipe_bytes == 0)
			dst->dst_relay = NULL;
		return true;
	}
	if (r->eof) {
		if (out_len(dst) > 0)
			return true;
		relay_enter(r);
		dst->dst_relay = NULL;
		switch (r->on_eof) {
		case WHIRL_RELAY_EOF_NONE:
			break;
		case WHIRL_RELAY_EOF_SHUTDOWN:
			whirl_stream_shutdown(dst);
			break;
		case WHIRL_RELAY_EOF_CLOSE:
			whirl_stream_close(dst);
			break;
		}
		if (!r->freed)
			relay_finish(r, NULL);
		relay_leave(r);
		return false;
	}
	if (r->paused && out_len(dst) <= RELAY_LIMIT / 2 && r->src != NULL) {
		r->paused = false;
		want_read(r->src, true);
		kick_read(r->src);
	}
	return true;
}

/* src is readable: move bytes until it runs dry, dst backs up, or EOF. */
static void
relay_pump(struct whirl_relay *r)
{
	struct whirl_stream *src = r->src, *dst = r->dst;
	int rounds, n = 0;

	if (r->finished || dst == NULL)
		return;
	relay_enter(r);
	relay_take_buffered(r);
	for (rounds = 0; rounds < 16; rounds++) {
		if (out_len(dst) >= RELAY_LIMIT) {
			r->paused = true;
			want_read(src, false);
			break;
		}
		n = relay_read_once(r);
		if (n <= 0)
			break;
		if (r->pipe_bytes > 0 || out_len(dst) > 0) {
			/* Write now: keeps the pipe and buffer small. */
			enter(dst);
			flush(dst);
			if (!leave(dst) || r->freed || r->finished)
				goto out;
		}
	}
	if (r->freed || r->finished || src->closed)
		goto out;
	if (!r->paused && !r->eof)
		want_read(src, true);
	if (!r->paused && !r->eof && tls_pending(src))
		kick_read(src);
	if (r->eof) {
		want_read(src, false);
		enter(dst);
		kick_write(dst);
		leave(dst);
	} else if (out_len(dst) > 0) {
		kick_write(dst);
	}
out:
	relay_leave(r);
}

/*
 * Pipes: two relays
 */

struct whirl_pipe {
	struct whirl_relay *ab, *ba;
	bool ab_done, ba_done, finished;
	whirl_pipe_cb done;
	void *arg;
	int depth;
	bool freed;
};

static void
pipe_half_done(struct whirl_pipe *p, bool *half, const char *err)
{
	*half = true;
	if (p->finished || (err == NULL && !(p->ab_done && p->ba_done)))
		return;
	p->finished = true;
	if (p->done == NULL)
		return;
	p->depth++;
	p->done(p, err, p->arg);
	if (--p->depth == 0 && p->freed)
		free(p);
}

static void
pipe_ab_done(struct whirl_relay *r, const char *err, void *arg)
{
	struct whirl_pipe *p = arg;

	(void)r;
	pipe_half_done(p, &p->ab_done, err);
}

static void
pipe_ba_done(struct whirl_relay *r, const char *err, void *arg)
{
	struct whirl_pipe *p = arg;

	(void)r;
	pipe_half_done(p, &p->ba_done, err);
}

struct whirl_pipe *
whirl_pipe_new(struct whirl_stream *a, struct whirl_stream *b,
    enum whirl_relay_eof a_eof, enum whirl_relay_eof b_eof, whirl_pipe_cb done,
    void *arg)
{
	struct whirl_pipe *p = whirl__xcalloc(1, sizeof(*p));

	p->done = done;
	p->arg = arg;
	p->ab = whirl_relay_new(a, b, a_eof, pipe_ab_done, p);
	if (p->ab == NULL)
		goto fail;
	p->ba = whirl_relay_new(b, a, b_eof, pipe_ba_done, p);
	if (p->ba == NULL)
		goto fail;
	return p;
fail:
	whirl_relay_free(p->ab);
	free(p);
	return NULL;
}

void
whirl_pipe_free(struct whirl_pipe *p)
{
	if (p == NULL || p->freed)
		return;
	p->freed = true;
	p->done = NULL;
	whirl_relay_free(p->ab);
	whirl_relay_free(p->ba);
	if (p->depth == 0)
		free(p);
}

/* Filters */

void
whirl_filter_lf_to_crlf(const char *in, size_t len, bool at_eof,
    void (*out)(void *, const void *, size_t), void *sink, void *arg)
{
	const char *end = in + len, *nl;

	(void)at_eof;
	(void)arg;
	while ((nl = memchr(in, '\n', (size_t)(end - in))) != NULL) {
		out(sink, in, (size_t)(nl - in));
		out(sink, "\r\n", 2);
		in = nl + 1;
	}
	if (in < end)
		out(sink, in, (size_t)(end - in));
}

void
whirl_filter_drop_cr(const char *in, size_t len, bool at_eof,
    void (*out)(void *, const void *, size_t), void *sink, void *arg)
{
	const char *end = in + len, *cr;

	(void)at_eof;
	(void)arg;
	while ((cr = memchr(in, '\r', (size_t)(end - in))) != NULL) {
		out(sink, in, (size_t)(cr - in));
		in = cr + 1;
	}
	if (in < end)
		out(sink, in, (size_t)(end - in));
}
