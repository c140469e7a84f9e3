/* test_iostream.c - reads, writes, back-pressure, closing, relays, pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static struct whirl_loop *loop;
static char got[8192];
static size_t ngot;
static const char *last_err;
static int calls;

static void
reset(void)
{
	loop = whirl_loop_new();
	ngot = 0;
	got[0] = '\0';
	last_err = NULL;
	calls = 0;
}

static void
finish(void)
{
	whirl_loop_free(loop);
	loop = NULL;
}

static void
append(const char *data, size_t len)
{
	if (len > 0 && ngot + len + 1 < sizeof(got)) {
		memcpy(got + ngot, data, len);
		ngot += len;
		got[ngot] = '\0';
	}
}

static void
pair(int sv[2])
{
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* A feeder writes a script of chunks to a raw fd, one per millisecond, so
 * that reads see them arrive separately; then optionally shuts down. */
struct feeder {
	int fd;
	const char **chunks;
	int next;
	bool shut;
	struct whirl_timer *t;
};

static void
feed_tick(struct whirl_timer *t, void *arg)
{
	struct feeder *f = arg;
	const char *c = f->chunks[f->next];

	if (c == NULL) {
		if (f->shut)
			shutdown(f->fd, SHUT_WR);
		whirl_timer_stop(t);
		return;
	}
	CHECK_EQ_INT(write(f->fd, c, strlen(c)), (long long)strlen(c));
	f->next++;
}

static struct feeder *
feeder_new(int fd, const char **chunks, bool shut)
{
	struct feeder *f = calloc(1, sizeof(*f));

	f->fd = fd;
	f->chunks = chunks;
	f->shut = shut;
	f->t = whirl_timer_new(loop, feed_tick, f);
	whirl_timer_start(f->t, 1, true);
	return f;
}

static void
feeder_free(struct feeder *f)
{
	whirl_timer_free(f->t);
	free(f);
}

/* Record each line and read the next; stop at EOF. */
static void
on_line(struct whirl_stream *s, const char *data, size_t len, const char *err,
    void *arg)
{
	(void)arg;
	calls++;
	append("[", 1);
	append(data, len);
	append("]", 1);
	if (err != NULL) {
		last_err = err;
		return;
	}
	whirl_stream_read_until(s, "\r\n", 2, 64, on_line, NULL);
}

TEST(read_until_across_chunk_boundaries)
{
	static const char *chunks[] = { "he", "llo\r", "\nwor", "ld\r\nte",
		"ll\r", "\n\r\n", "tail", NULL };
	struct feeder *f;
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	f = feeder_new(sv[1], chunks, true);
	whirl_stream_read_until(s, "\r\n", 2, 64, on_line, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "[hello\r\n][world\r\n][tell\r\n][\r\n][tail]");
	CHECK(last_err == whirl_err_closed);
	CHECK(whirl_stream_closed(s));
	whirl_stream_free(s);
	feeder_free(f);
	close(sv[1]);
	finish();
}

static void
on_too_long(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)arg;
	calls++;
	CHECK(data == NULL);
	CHECK_EQ_INT(len, 0);
	last_err = err;
	whirl_stream_close(s);
}

TEST(read_until_max_is_an_error_not_growth)
{
	struct whirl_stream *s;
	char big[100];
	int sv[2];

	reset();
	pair(sv);
	memset(big, 'x', sizeof(big));
	CHECK_EQ_INT(write(sv[1], big, sizeof(big)), (long long)sizeof(big));
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_read_until(s, "\n", 1, 16, on_too_long, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	CHECK(last_err == whirl_err_too_long);
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

TEST(read_until_delimiter_found_beyond_max_is_too_long)
{
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	CHECK_EQ_INT(write(sv[1], "0123456789\n", 11), 11);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_read_until(s, "\n", 1, 8, on_too_long, NULL);
	whirl_loop_run(loop);
	CHECK(last_err == whirl_err_too_long);
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

static void
on_bytes(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;

	calls++;
	append("[", 1);
	append(data, len);
	append("]", 1);
	if (err != NULL) {
		last_err = err;
		return;
	}
	whirl_stream_read_bytes(s, n, false, on_bytes, arg);
}

TEST(read_bytes_exact_then_remainder_at_eof)
{
	static const char *chunks[] = { "ab", "cdefg", "h", "ij", NULL };
	struct feeder *f;
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	f = feeder_new(sv[1], chunks, true);
	whirl_stream_read_bytes(s, 3, false, on_bytes, (void *)(uintptr_t)3);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "[abc][def][ghi][j]");
	CHECK(last_err == whirl_err_closed);
	whirl_stream_free(s);
	feeder_free(f);
	close(sv[1]);
	finish();
}

static void
on_partial(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)arg;
	append("[", 1);
	append(data, len);
	append("]", 1);
	if (err == NULL)
		whirl_stream_read_bytes(s, 100, true, on_partial, NULL);
}

TEST(read_bytes_partial_delivers_what_is_there)
{
	static const char *chunks[] = { "abc", "de", NULL };
	struct feeder *f;
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	f = feeder_new(sv[1], chunks, true);
	whirl_stream_read_bytes(s, 100, true, on_partial, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "[abc][de][]");
	whirl_stream_free(s);
	feeder_free(f);
	close(sv[1]);
	finish();
}

static void
on_chunk(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)s;
	(void)arg;
	calls++;
	if (len == 0) {
		append("<end>", 5);
		last_err = err;
		return;
	}
	CHECK(err == NULL);
	append(data, len);
}

TEST(read_until_close_streams_chunks_then_end)
{
	static const char *chunks[] = { "one ", "two ", "three", NULL };
	struct feeder *f;
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	f = feeder_new(sv[1], chunks, true);
	whirl_stream_read_until_close(s, on_chunk, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "one two three<end>");
	CHECK(last_err == NULL);
	CHECK(calls >= 4);
	whirl_stream_free(s);
	feeder_free(f);
	close(sv[1]);
	finish();
}

/* A parser that takes whole "N:" records and leaves a partial one.  At a
 * "P:" it pauses and starts the timer in arg (if any) to resume: started
 * there, not up front, so a slow loop (valgrind) cannot resume first. */
static size_t
take_records(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	size_t used = 0;

	calls++;
	if (data == NULL) {
		append("<eof>", 5);
		last_err = err;
		return 0;
	}
	while (used + 2 <= len && data[used + 1] == ':') {
		append(data + used, 1);
		used += 2;
		if (data[used - 2] == 'P') {
			/* pause: the rest waits for a restart */
			whirl_stream_cancel_read(s);
			if (arg != NULL)
				whirl_timer_start(arg, 30, false);
			break;
		}
	}
	return used;
}

static void
resume_stream(struct whirl_timer *t, void *arg)
{
	(void)t;
	append("|", 1);
	whirl_stream_read_stream(arg, take_records, NULL);
}

TEST(read_stream_keeps_the_unused_rest_and_pauses)
{
	static const char *chunks[] = { "a:b", ":c:P:d", ":e:", NULL };
	struct whirl_stream *s;
	struct whirl_timer *t;
	struct feeder *f;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	f = feeder_new(sv[1], chunks, true);
	t = whirl_timer_new(loop, resume_stream, s);
	whirl_stream_read_stream(s, take_records, t);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "abcP|de<eof>");
	CHECK(last_err == NULL);
	whirl_stream_free(s);
	whirl_timer_free(t);
	feeder_free(f);
	close(sv[1]);
	finish();
}

TEST(second_read_while_one_is_pending_is_refused)
{
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	CHECK_EQ_INT(whirl_stream_read_bytes(s, 1, false, on_bytes, NULL), 0);
	CHECK_EQ_INT(whirl_stream_read_until(s, "\n", 1, 0, on_line, NULL), -1);
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

static void
on_written(struct whirl_stream *s, const char *err, void *arg)
{
	(void)s;
	append(arg, strlen(arg));
	if (err != NULL)
		last_err = err;
}

static void
drain_fd(struct whirl_watch *w, int fd, int ready, void *arg)
{
	char buf[65536];
	size_t *total = arg;
	ssize_t n;

	(void)ready;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		*total += (size_t)n;
	if (n == 0)
		whirl_watch_free(w);
}

TEST(write_callbacks_fire_in_order_after_the_bytes_left)
{
	struct whirl_stream_stats st;
	struct whirl_stream *s;
	size_t total = 0;
	char *big = calloc(1, 4 << 20);
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_write(s, "a", 1, on_written, "1");
	whirl_stream_write(s, big, 4 << 20, on_written, "2");
	whirl_stream_write(s, "c", 1, NULL, NULL);
	whirl_stream_write(s, "d", 1, on_written, "3");
	CHECK_EQ_STR(got, "");   /* never from inside the call */
	/* What did not leave at once (into an empty socket buffer) waits. */
	whirl_stream_stats(s, &st);
	CHECK_EQ_INT(whirl_stream_write_pending(s) + st.bytes_written,
	    (4 << 20) + 3);
	CHECK(whirl_stream_write_pending(s) > 0);
	whirl_watch_new(loop, sv[1], WHIRL_READ, drain_fd, &total);
	whirl_stream_shutdown(s);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "123");
	CHECK_EQ_INT(total, (4 << 20) + 3);
	CHECK_EQ_INT(whirl_stream_write_pending(s), 0);
	whirl_stream_free(s);
	close(sv[1]);
	free(big);
	finish();
}

static int water_up, water_down;
static struct whirl_watch *drainer;

struct water_state {
	size_t total;
	int peer;
};

static void
on_water(struct whirl_stream *s, bool above, void *arg)
{
	struct water_state *ws = arg;

	(void)s;
	if (above) {
		water_up++;
		/* Now let the peer read. */
		drainer = whirl_watch_new(loop, ws->peer, WHIRL_READ,
		    drain_fd, &ws->total);
	} else {
		water_down++;
	}
}

TEST(back_pressure_fires_above_and_below)
{
	struct whirl_stream *s;
	struct water_state state = { 0, -1 };
	char *chunk = calloc(1, 65536);
	int sv[2], i;

	reset();
	water_up = water_down = 0;
	pair(sv);
	state.peer = sv[1];
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_set_water(s, 256 * 1024, on_water, &state);
	for (i = 0; i < 16; i++)
		whirl_stream_write(s, chunk, 65536, NULL, NULL);
	CHECK_EQ_INT(water_up, 1);
	whirl_stream_shutdown(s);
	whirl_loop_run(loop);
	CHECK_EQ_INT(water_up, 1);
	CHECK_EQ_INT(water_down, 1);
	CHECK_EQ_INT(state.total, 16 * 65536);
	whirl_stream_free(s);
	close(sv[1]);
	free(chunk);
	finish();
}

static void
free_in_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)data;
	(void)len;
	(void)err;
	(void)arg;
	calls++;
	whirl_stream_free(s);
}

TEST(free_inside_read_callback)
{
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	CHECK_EQ_INT(write(sv[1], "x\ny\n", 4), 4);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_write(s, "pending", 7, on_written, "W");
	whirl_stream_read_until(s, "\n", 1, 0, free_in_read, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	/* The write completed first (same turn) or was dropped silently. */
	CHECK(strcmp(got, "") == 0 || strcmp(got, "W") == 0);
	CHECK(fcntl(sv[0], F_GETFD) == -1 && errno == EBADF);
	close(sv[1]);
	finish();
}

static void
on_close(struct whirl_stream *s, const char *err, void *arg)
{
	(void)s;
	(void)arg;
	append("<closed>", 8);
	last_err = err;
}

static void
close_in_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)err;
	(void)arg;
	append(data, len);
	whirl_stream_write(s, "x", 1, on_written, "<write-failed>");
	/* The write cannot have left: close drops it and says so. */
	whirl_stream_close(s);
	append("<after>", 7);
}

TEST(close_inside_read_callback_tells_pending_writes_then_close_cb)
{
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	CHECK_EQ_INT(write(sv[1], "hi\n", 3), 3);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_set_close_cb(s, on_close, NULL);
	whirl_stream_read_until(s, "\n", 1, 0, close_in_read, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "hi\n<write-failed><closed><after>");
	CHECK(last_err == NULL);
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

TEST(peer_eof_closes_a_stream_and_fails_its_read)
{
	struct whirl_stream *s;
	int sv[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_set_close_cb(s, on_close, NULL);
	whirl_stream_read_until(s, "\n", 1, 0, on_line, NULL);
	close(sv[1]);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "[]<closed>");
	CHECK(whirl_stream_read_eof(s));
	CHECK(whirl_stream_closed(s));
	whirl_stream_free(s);
	finish();
}

/* whirl_stream_error: 0 for an EOF, the errno for a failure. */
TEST(stream_error_is_the_errno_it_failed_with)
{
	struct whirl_stream *s;
	int sv[2], p[2];

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	CHECK_EQ_INT(whirl_stream_error(s), 0);
	whirl_stream_read_until(s, "\n", 1, 0, on_line, NULL);
	close(sv[1]);
	whirl_loop_run(loop);
	CHECK(whirl_stream_closed(s));
	CHECK_EQ_INT(whirl_stream_error(s), 0);      /* a clean EOF */
	whirl_stream_free(s);

	CHECK_EQ_INT(pipe(p), 0);
	close(p[0]);
	s = whirl_stream_new(loop, p[1], 0);
	CHECK_EQ_INT(whirl_stream_write(s, "x", 1, NULL, NULL), 0);
	whirl_loop_run(loop);
	CHECK(whirl_stream_closed(s));
	CHECK_EQ_INT(whirl_stream_error(s), EPIPE);
	whirl_stream_free(s);
	finish();
}

static void
reply_after_eof(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	CHECK(err == whirl_err_closed);
	CHECK_EQ_INT(whirl_stream_write(s, "still here", 10, on_written,
	    "<sent>"), 0);
	whirl_stream_shutdown(s);
}

TEST(half_close_keeps_writing_after_peer_eof)
{
	struct whirl_stream *s;
	char buf[64];
	int sv[2];
	ssize_t n;

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_set_close_cb(s, on_close, NULL);
	shutdown(sv[1], SHUT_WR);
	whirl_stream_read_until_close(s, reply_after_eof, NULL);
	/* read_until_close ends with err NULL; use read_bytes to see EOF */
	whirl_stream_cancel_read(s);
	whirl_stream_read_bytes(s, 1, false, reply_after_eof, NULL);
	whirl_loop_run(loop);
	n = read(sv[1], buf, sizeof(buf));
	CHECK_EQ_INT(n, 10);
	CHECK_EQ_INT(read(sv[1], buf, sizeof(buf)), 0);
	/* Both directions done: the stream closed itself. */
	CHECK_EQ_STR(got, "<sent><closed>");
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

/*
 * Relays and pipes
 */

#define PATTERN(i) ((unsigned char)((i) % 251))

struct producer {
	uint64_t total, sent;
	struct whirl_watch *w;
	bool close_at_end;
};

static void
produce(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct producer *p = arg;
	unsigned char buf[65536];
	size_t i, n;
	ssize_t k;

	(void)ready;
	while (p->sent < p->total) {
		n = p->total - p->sent < sizeof(buf) ? p->total - p->sent
		    : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = PATTERN(p->sent + i);
		k = write(fd, buf, n);
		if (k <= 0)
			return;     /* EAGAIN: wait for the next turn */
		p->sent += (uint64_t)k;
	}
	whirl_watch_free(w);
	p->w = NULL;
	close(fd);
}

struct consumer {
	uint64_t got;
	bool bad, eof;
};

static void
consume(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct consumer *c = arg;
	unsigned char buf[65536];
	ssize_t n, i;

	(void)ready;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] != PATTERN(c->got + (uint64_t)i))
				c->bad = true;
		c->got += (uint64_t)n;
	}
	if (n == 0) {
		c->eof = true;
		whirl_watch_free(w);
		close(fd);
	}
}

static void
relay_done(struct whirl_relay *r, const char *err, void *arg)
{
	(void)r;
	(void)arg;
	calls++;
	last_err = err;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* src_fds[0] is read by the relay, src_fds[1] written by the producer;
 * dst_fds[1] written by the relay, dst_fds[0] read by the consumer. */
static void
run_relay(int src_fds[2], int dst_fds[2], uint64_t total, bool splice_ok,
    bool filter_on, struct consumer *c, struct whirl_stream_stats *st)
{
	struct producer p = { .total = total };
	struct whirl_stream *src, *dst;
	struct whirl_relay *r;

	nonblock(src_fds[1]);
	nonblock(dst_fds[0]);
	src = whirl_stream_new_pair(loop, src_fds[0], -1, 0);
	dst = whirl_stream_new_pair(loop, -1, dst_fds[1], 0);
	r = whirl_relay_new(src, dst, WHIRL_RELAY_EOF_CLOSE, relay_done, NULL);
	CHECK(r != NULL);
	whirl_relay_set_splice(r, splice_ok);
	(void)filter_on;
	p.w = whirl_watch_new(loop, src_fds[1], WHIRL_WRITE, produce, &p);
	whirl_watch_new(loop, dst_fds[0], WHIRL_READ, consume, c);
	whirl_loop_run(loop);
	CHECK_EQ_INT(whirl_relay_bytes(r), total);
	whirl_stream_stats(dst, st);
	whirl_relay_free(r);
	whirl_stream_free(src);
	whirl_stream_free(dst);
}

static uint64_t
big_size(void)
{
	return getenv("WHIRL_SMALL") ? 1 << 20 : 100ull << 20;
}

TEST(relay_100mib_socket_to_pipe_by_splice)
{
	struct whirl_stream_stats st;
	struct consumer c = { 0 };
	int sv[2], pp[2];

	reset();
	pair(sv);
	CHECK_EQ_INT(pipe2(pp, O_CLOEXEC), 0);
	run_relay(sv, pp, big_size(), true, false, &c, &st);
	CHECK_EQ_INT(c.got, big_size());
	CHECK(!c.bad);
	CHECK(c.eof);
	CHECK(last_err == NULL);
	CHECK_EQ_INT(calls, 1);
	CHECK_EQ_INT(st.bytes_written, big_size());
	CHECK(st.bytes_spliced > 0);
	finish();
}

TEST(relay_100mib_pipe_to_socket_without_splice)
{
	struct whirl_stream_stats st;
	struct consumer c = { 0 };
	int sv[2], pp[2], rev[2];

	reset();
	CHECK_EQ_INT(pipe2(pp, O_CLOEXEC), 0);
	pair(sv);
	/* consumer reads sv[0]... run_relay wants dst_fds[0] = read end */
	rev[0] = sv[1];
	rev[1] = sv[0];
	run_relay(pp, rev, big_size(), false, false, &c, &st);
	CHECK_EQ_INT(c.got, big_size());
	CHECK(!c.bad);
	CHECK_EQ_INT(st.bytes_spliced, 0);
	CHECK_EQ_INT(st.bytes_written, big_size());
	finish();
}

TEST(relay_socket_to_socket_by_splice)
{
	struct whirl_stream_stats st;
	struct consumer c = { 0 };
	int a[2], b[2];

	reset();
	pair(a);
	pair(b);
	run_relay(a, b, 8 << 20, true, false, &c, &st);
	CHECK_EQ_INT(c.got, 8 << 20);
	CHECK(!c.bad);
	CHECK_EQ_INT(st.bytes_spliced, 8 << 20);
	finish();
}

static void
upper(const char *in, size_t len, bool at_eof,
    void (*out)(void *, const void *, size_t), void *sink, void *arg)
{
	char buf[256];
	size_t i, n;

	(void)arg;
	if (at_eof) {
		out(sink, "!", 1);
		return;
	}
	while (len > 0) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = (char)(in[i] >= 'a' && in[i] <= 'z' ? in[i] - 32
			    : in[i]);
		out(sink, buf, n);
		in += n;
		len -= n;
	}
}

TEST(relay_filter_transforms_and_adds_at_eof)
{
	struct whirl_stream *src, *dst;
	struct whirl_relay *r;
	char buf[64];
	int a[2], b[2];
	ssize_t n;

	reset();
	pair(a);
	pair(b);
	CHECK_EQ_INT(write(a[1], "hello, world", 12), 12);
	shutdown(a[1], SHUT_WR);
	src = whirl_stream_new(loop, a[0], 0);
	dst = whirl_stream_new(loop, b[1], 0);
	r = whirl_relay_new(src, dst, WHIRL_RELAY_EOF_SHUTDOWN, relay_done,
	    NULL);
	whirl_relay_set_filter(r, upper, NULL);
	whirl_loop_run(loop);
	n = read(b[0], buf, sizeof(buf) - 1);
	CHECK_EQ_INT(n, 13);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(buf, "HELLO, WORLD!");
	CHECK_EQ_INT(read(b[0], buf, sizeof(buf)), 0);   /* shut down */
	CHECK_EQ_INT(calls, 1);
	whirl_relay_free(r);
	whirl_stream_free(src);
	whirl_stream_free(dst);
	close(a[1]);
	close(b[0]);
	finish();
}

/* EOF modes: NONE leaves dst writable, SHUTDOWN half-closes, CLOSE closes. */
static void
eof_mode_case(enum whirl_relay_eof mode, bool use_pipe)
{
	struct whirl_stream *src, *dst;
	struct whirl_relay *r;
	char buf[64];
	int a[2], b[2];

	reset();
	if (use_pipe) {
		CHECK_EQ_INT(pipe2(a, O_CLOEXEC), 0);
	} else {
		pair(a);
	}
	pair(b);
	CHECK_EQ_INT(write(a[1], "data", 4), 4);
	close(a[1]);
	src = whirl_stream_new_pair(loop, a[0], -1, 0);
	dst = whirl_stream_new(loop, b[1], 0);
	whirl_stream_set_close_cb(dst, on_close, NULL);
	r = whirl_relay_new(src, dst, mode, relay_done, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	CHECK(last_err == NULL);
	CHECK_EQ_INT(read(b[0], buf, sizeof(buf)), 4);
	CHECK(whirl_stream_read_eof(src));
	CHECK(!whirl_stream_closed(src));
	switch (mode) {
	case WHIRL_RELAY_EOF_NONE:
		CHECK(!whirl_stream_closed(dst));
		CHECK_EQ_INT(whirl_stream_write(dst, "more", 4, NULL, NULL), 0);
		whirl_loop_run(loop);
		CHECK_EQ_INT(read(b[0], buf, sizeof(buf)), 4);
		CHECK_EQ_STR(got, "");
		break;
	case WHIRL_RELAY_EOF_SHUTDOWN:
		CHECK(!whirl_stream_closed(dst));
		CHECK_EQ_INT(read(b[0], buf, sizeof(buf)), 0);
		CHECK_EQ_INT(write(b[0], "back", 4), 4);  /* still readable */
		CHECK_EQ_STR(got, "");
		break;
	case WHIRL_RELAY_EOF_CLOSE:
		CHECK(whirl_stream_closed(dst));
		CHECK_EQ_INT(read(b[0], buf, sizeof(buf)), 0);
		CHECK_EQ_STR(got, "<closed>");
		break;
	}
	whirl_relay_free(r);
	whirl_stream_free(src);
	whirl_stream_free(dst);
	close(b[0]);
	finish();
}

TEST(relay_eof_none_over_socketpair) { eof_mode_case(WHIRL_RELAY_EOF_NONE, false); }
TEST(relay_eof_shutdown_over_socketpair) { eof_mode_case(WHIRL_RELAY_EOF_SHUTDOWN, false); }
TEST(relay_eof_close_over_socketpair) { eof_mode_case(WHIRL_RELAY_EOF_CLOSE, false); }
TEST(relay_eof_none_from_pipe) { eof_mode_case(WHIRL_RELAY_EOF_NONE, true); }
TEST(relay_eof_shutdown_from_pipe) { eof_mode_case(WHIRL_RELAY_EOF_SHUTDOWN, true); }
TEST(relay_eof_close_from_pipe) { eof_mode_case(WHIRL_RELAY_EOF_CLOSE, true); }

TEST(relay_from_regular_file_and_to_dev_null)
{
	struct whirl_stream *src, *dst;
	struct whirl_relay *r;
	char path[] = "/tmp/whirl-iostream-XXXXXX";
	int fd = mkstemp(path), nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *data = malloc(3 << 20);

	reset();
	memset(data, 'f', 3 << 20);
	CHECK_EQ_INT(write(fd, data, 3 << 20), 3 << 20);
	lseek(fd, 0, SEEK_SET);
	unlink(path);
	src = whirl_stream_new_pair(loop, fd, -1, 0);
	dst = whirl_stream_new_pair(loop, -1, nul, 0);
	r = whirl_relay_new(src, dst, WHIRL_RELAY_EOF_CLOSE, relay_done, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	CHECK(last_err == NULL);
	CHECK_EQ_INT(whirl_relay_bytes(r), 3 << 20);
	whirl_relay_free(r);
	whirl_stream_free(src);
	whirl_stream_free(dst);
	free(data);
	finish();
}

static const char *lost_err;
static int lost_calls;

static void
relay_lost(struct whirl_relay *r, const char *err, void *arg)
{
	(void)r;
	(void)arg;
	lost_calls++;
	lost_err = err;
}

/* A relay writes into a child's pipes, and the child closed its stdin:
 * only the relay ends, with EPIPE; what the child still prints is read
 * to its end.  Through splice's kernel pipe and through the buffer. */
static void
relay_into_a_pair_whose_reader_left(bool splice)
{
	struct whirl_stream *src, *child;
	struct whirl_relay *r;
	int sv[2], in[2], out[2];

	reset();
	lost_calls = 0;
	lost_err = NULL;
	pair(sv);
	CHECK_EQ_INT(pipe2(in, O_CLOEXEC), 0);
	CHECK_EQ_INT(pipe2(out, O_CLOEXEC), 0);
	close(in[0]);
	src = whirl_stream_new(loop, sv[0], 0);
	child = whirl_stream_new_pair(loop, out[0], in[1],
	    WHIRL_STREAM_HALF_CLOSE);
	r = whirl_relay_new(src, child, WHIRL_RELAY_EOF_NONE, relay_lost,
	    NULL);
	whirl_relay_set_splice(r, splice);
	whirl_stream_read_until_close(child, on_chunk, NULL);
	CHECK_EQ_INT(write(sv[1], "input", 5), 5);
	CHECK_EQ_INT(write(out[1], "still printing", 14), 14);
	close(out[1]);
	whirl_loop_run(loop);
	CHECK_EQ_INT(lost_calls, 1);
	CHECK_EQ_STR(lost_err, strerror(EPIPE));
	CHECK_EQ_STR(got, "still printing<end>");
	CHECK(last_err == NULL);
	CHECK(whirl_stream_closed(child));
	CHECK_EQ_INT(whirl_stream_error(child), 0);
	CHECK(!whirl_stream_closed(src));
	whirl_relay_free(r);
	whirl_stream_free(src);
	whirl_stream_free(child);
	close(sv[1]);
	finish();
}

TEST(relay_into_a_closed_child_input_by_splice)
{
	relay_into_a_pair_whose_reader_left(true);
}

TEST(relay_into_a_closed_child_input_through_the_buffer)
{
	relay_into_a_pair_whose_reader_left(false);
}

static void
pipe_done(struct whirl_pipe *p, const char *err, void *arg)
{
	(void)p;
	(void)arg;
	calls++;
	last_err = err;
}

TEST(pipe_relays_both_ways_and_finishes_when_both_end)
{
	struct whirl_stream *a, *b;
	struct whirl_pipe *p;
	char buf[64];
	int x[2], y[2];

	reset();
	pair(x);
	pair(y);
	CHECK_EQ_INT(write(x[1], "to-y", 4), 4);
	CHECK_EQ_INT(write(y[1], "to-x", 4), 4);
	shutdown(x[1], SHUT_WR);
	shutdown(y[1], SHUT_WR);
	a = whirl_stream_new(loop, x[0], WHIRL_STREAM_HALF_CLOSE);
	b = whirl_stream_new(loop, y[0], WHIRL_STREAM_HALF_CLOSE);
	p = whirl_pipe_new(a, b, WHIRL_RELAY_EOF_SHUTDOWN,
	    WHIRL_RELAY_EOF_SHUTDOWN, pipe_done, NULL);
	CHECK(p != NULL);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	CHECK(last_err == NULL);
	CHECK_EQ_INT(read(y[1], buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "to-y", 4) == 0);
	CHECK_EQ_INT(read(x[1], buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "to-x", 4) == 0);
	whirl_pipe_free(p);
	whirl_stream_free(a);
	whirl_stream_free(b);
	close(x[1]);
	close(y[1]);
	finish();
}

static void
pipe_done_free_all(struct whirl_pipe *p, const char *err, void *arg)
{
	struct whirl_stream **ab = arg;

	calls++;
	last_err = err;
	whirl_pipe_free(p);
	whirl_stream_free(ab[0]);
	whirl_stream_free(ab[1]);
}

TEST(pipe_reports_a_reset_and_may_free_everything_inside)
{
	struct whirl_stream *ab[2];
	struct whirl_pipe *p;
	struct linger lg = { 1, 0 };
	int x[2], y[2];

	reset();
	pair(x);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, y), 0);
	ab[0] = whirl_stream_new(loop, x[0], 0);
	ab[1] = whirl_stream_new(loop, y[0], 0);
	p = whirl_pipe_new(ab[0], ab[1], WHIRL_RELAY_EOF_NONE,
	    WHIRL_RELAY_EOF_NONE, pipe_done_free_all, ab);
	CHECK(p != NULL);
	/* Closing x[1] with pending unread data makes writes to it fail. */
	setsockopt(x[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(x[1]);
	CHECK_EQ_INT(write(y[1], "abc", 3), 3);
	whirl_loop_run(loop);
	CHECK_EQ_INT(calls, 1);
	CHECK(last_err != NULL);
	close(y[1]);
	finish();
}

/*
 * Lingering close: our output and FIN leave, the peer's input is dropped,
 * and the stream closes at the peer's EOF, the deadline or the byte cap.
 */

/* The peer of a lingering stream, 20 ms in: it must find our output, then
 * our FIN; it sends more (dropped), then closes. */
static void
peer_reads_then_closes(struct whirl_timer *t, void *arg)
{
	int fd = *(int *)arg;
	char buf[64];

	(void)t;
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 3);
	CHECK(memcmp(buf, "bye", 3) == 0);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 0);	/* our FIN */
	CHECK_EQ_INT(write(fd, "more", 4), 4);
	close(fd);
}

/* A fresh loop and a stream on one end of a socketpair that records its
 * close in got. */
static struct whirl_stream *
closing_stream(int sv[2])
{
	struct whirl_stream *s;

	reset();
	pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_set_close_cb(s, on_close, NULL);
	return s;
}

TEST(linger_sends_output_and_fin_then_closes_at_the_peers_eof)
{
	struct whirl_stream *s;
	struct whirl_timer *t;
	uint64_t t0;
	int sv[2];

	s = closing_stream(sv);
	whirl_stream_read_until(s, "\n", 1, 0, on_line, NULL);
	CHECK_EQ_INT(write(sv[1], "unread input", 12), 12);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);	/* no FIN: EAGAIN, not a hang */
	whirl_stream_write(s, "bye", 3, NULL, NULL);
	t0 = whirl_loop_now_ms(loop);
	CHECK_EQ_INT(whirl_stream_linger(s, 10000, 0), 0);
	t = whirl_timer_new(loop, peer_reads_then_closes, &sv[1]);
	whirl_timer_start(t, 20, false);
	whirl_loop_run(loop);
	/* No read callback (cancelled), one clean close, long before 10 s. */
	CHECK_EQ_STR(got, "<closed>");
	CHECK(last_err == NULL);
	CHECK(whirl_loop_now_ms(loop) - t0 < 5000);
	whirl_timer_free(t);
	whirl_stream_free(s);
	finish();
}

TEST(linger_closes_at_its_deadline_when_the_peer_stays)
{
	struct whirl_stream *s;
	uint64_t t0;
	char buf[16];
	int sv[2];

	s = closing_stream(sv);
	whirl_stream_write(s, "bye", 3, NULL, NULL);
	t0 = whirl_loop_now_ms(loop);
	CHECK_EQ_INT(whirl_stream_linger(s, 50, 0), 0);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "<closed>");
	CHECK(whirl_loop_now_ms(loop) - t0 >= 50);
	CHECK(whirl_stream_closed(s));
	CHECK_EQ_INT(read(sv[1], buf, sizeof(buf)), 3);
	CHECK_EQ_INT(read(sv[1], buf, sizeof(buf)), 0);
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

TEST(linger_stops_listening_past_its_byte_cap)
{
	static char flood[8192];
	struct whirl_stream *s;
	uint64_t t0;
	int sv[2];

	s = closing_stream(sv);
	CHECK_EQ_INT(write(sv[1], flood, sizeof(flood)), (long long)sizeof(flood));
	t0 = whirl_loop_now_ms(loop);
	CHECK_EQ_INT(whirl_stream_linger(s, 10000, 1000), 0);
	whirl_loop_run(loop);
	CHECK_EQ_STR(got, "<closed>");
	CHECK(whirl_loop_now_ms(loop) - t0 < 5000);
	/* A closed stream cannot linger: its close callback has fired. */
	CHECK_EQ_INT(whirl_stream_linger(s, 10, 0), -1);
	CHECK_EQ_STR(got, "<closed>");
	whirl_stream_free(s);
	close(sv[1]);
	finish();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(read_until_across_chunk_boundaries);
	RUN(read_until_max_is_an_error_not_growth);
	RUN(read_until_delimiter_found_beyond_max_is_too_long);
	RUN(read_bytes_exact_then_remainder_at_eof);
	RUN(read_bytes_partial_delivers_what_is_there);
	RUN(read_until_close_streams_chunks_then_end);
	RUN(read_stream_keeps_the_unused_rest_and_pauses);
	RUN(second_read_while_one_is_pending_is_refused);
	RUN(write_callbacks_fire_in_order_after_the_bytes_left);
	RUN(back_pressure_fires_above_and_below);
	RUN(free_inside_read_callback);
	RUN(close_inside_read_callback_tells_pending_writes_then_close_cb);
	RUN(peer_eof_closes_a_stream_and_fails_its_read);
	RUN(stream_error_is_the_errno_it_failed_with);
	RUN(half_close_keeps_writing_after_peer_eof);
	RUN(relay_100mib_socket_to_pipe_by_splice);
	RUN(relay_100mib_pipe_to_socket_without_splice);
	RUN(relay_socket_to_socket_by_splice);
	RUN(relay_filter_transforms_and_adds_at_eof);
	RUN(relay_eof_none_over_socketpair);
	RUN(relay_eof_shutdown_over_socketpair);
	RUN(relay_eof_close_over_socketpair);
	RUN(relay_eof_none_from_pipe);
	RUN(relay_eof_shutdown_from_pipe);
	RUN(relay_eof_close_from_pipe);
	RUN(relay_from_regular_file_and_to_dev_null);
	RUN(relay_into_a_closed_child_input_by_splice);
	RUN(relay_into_a_closed_child_input_through_the_buffer);
	RUN(pipe_relays_both_ways_and_finishes_when_both_end);
	RUN(pipe_reports_a_reset_and_may_free_everything_inside);
	RUN(linger_sends_output_and_fin_then_closes_at_the_peers_eof);
	RUN(linger_closes_at_its_deadline_when_the_peer_stays);
	RUN(linger_stops_listening_past_its_byte_cap);
	return unit_done();
}
