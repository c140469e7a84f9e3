/* whirl-ws - a WebSocket shell: readline when a person types, lines in and
 * lines out when a script pipes.
 *
 *     whirl-ws [options] URL
 *     whirl-ws [options] -l [HOST:]PORT
 *
 * One WebSocket (whirl_ws_connect, or with -l whirl_ws_accept behind an
 * httpserver that takes one client) and one of two front ends: readline's
 * callback interface on a watch of fd 0 when stdin and stdout are both
 * ttys; otherwise stdin read line by line into messages and each message's
 * payload written to stdout, nothing else.
 *
 * The exit status is a contract for scripts (whirl-ws(1), EXIT STATUS):
 * the first event that decides it wins (decide()); everything after is
 * only the polite end, our close frame and a bounded wait for the peer's.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#include <event2/buffer.h>

#include "whirl.h"

/* Exit statuses (the man page's table). */
#define ST_OK       0       /* ended as asked */
#define ST_FAIL     1       /* other failure */
#define ST_USAGE    2
#define ST_CONNECT  3       /* connect, DNS or TLS */
#define ST_REFUSED  4       /* handshake refused */
#define ST_CLOSED   5       /* 1006, or a close code other than 1000/1/5 */
#define ST_TIMEOUT  6       /* --until, -1 or --wait expired */
#define ST_ENDED    7       /* closed before --until or -1 was met */
#define ST_SIGINT   130

#define MAX_LINE        (16u * 1024 * 1024)   /* a stdin line, a message */
#define HISTORY_MAX     1000
#define HEX_SHOWN       256     /* bytes of a binary message shown as hex */
#define MAX_PINGS       16      /* /ping timings remembered */
#define JSON_DEPTH      64

struct opts {
	char *url;                      /* normalised, malloc'd */
	char *listen_host;              /* malloc'd */
	int listen_port;
	bool listen, print_port;
	const char **headers;           /* -H, then --auth's */
	size_t nheaders;
	char *auth_header;
	const char **protocols;         /* -s, NULL-ended */
	size_t nprotocols;
	char *protocol_list;            /* "a, b" for the client */
	const char *origin;
	bool insecure;
	const char *cacert, *cert, *key;
	const char **execute;           /* -x */
	size_t nexecute;
	int64_t wait_ms;                /* -1: no bound */
	uint64_t connect_ms, ping_ms;
	bool once, binary, base64, show_ping_pong, timestamps, json;
	bool compress, no_color, no_history;
	const char *until;
	regex_t until_re;
	int close_code;
	const char *close_reason;
};

/* A growing byte buffer for building output lines. */
struct buf {
	char *p;
	size_t len, cap;
};

struct ping {
	char data[125];
	size_t len;
	struct timespec sent;
};

static struct opts o;
static struct whirl_loop *loop;
static struct whirl_ws *ws;
static struct whirl_ws_connecting *connecting;
static struct whirl_httpserver *srv;
static struct whirl_tls_ctx *tls;
static struct whirl_stream *in;         /* pipe mode's stdin */
static struct whirl_watch *tty;         /* interactive mode's stdin */
static struct whirl_timer *wait_timer;
static struct whirl_signal *sigs[5];
static bool interactive, colour, rl_on;
static bool rl_accepted;                /* inside readline's line handler */
static char *hist_path;

static int status = -1;                 /* decided exit status */
static int killed_by;                   /* SIGTERM, SIGHUP: re-raised */
static bool closing;                    /* our close frame went out */
static int sent_code;                   /* with this code */
static bool cond_met;                   /* --until matched, or -1 */
static bool muted;                      /* print no more messages */
static bool in_paused, input_over;
static uintmax_t lineno;
static enum { WAIT_NONE, WAIT_COND, WAIT_CLOSE } waiting;
static struct ping pings[MAX_PINGS];
static size_t npings;

static void decide(int st);
static void start_close(int code, const char *reason);
static void input_done(void);
static void read_line(void);
static void rl_stop(void);

/*
 * Small helpers.
 */

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n != 0 ? n : 1)) == NULL)
		err(ST_FAIL, NULL);
	return p;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		err(ST_FAIL, NULL);
	return d;
}

static void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_add(b, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n :
	    sizeof(tmp) - 1);
}

static void
buf_base64(struct buf *b, const char *p, size_t len)
{
	char *e = whirl_base64_encode(p, len);

	buf_str(b, e);
	free(e);
}

static bool
is_utf8(const char *p, size_t len)
{
	struct whirl_utf8 u = { 0 };

	return whirl_utf8_feed(&u, p, len) && whirl_utf8_complete(&u);
}

static double
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

/* --timestamps: "12:34:56.789 " in local time. */
static void
timestamp(struct buf *b)
{
	struct timespec now;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(s, sizeof(s), "%H:%M:%S", &tm);
	buf_fmt(b, "%s.%03ld ", s, now.tv_nsec / 1000000);
}

/* A reason or ping payload, quoted for a status line. */
static void
quoted(struct buf *b, const char *s, size_t len)
{
	size_t i;

	buf_str(b, "\"");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_fmt(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_fmt(b, "\\x%02x", c);
		else
			buf_add(b, &s[i], 1);
	}
	buf_str(b, "\"");
}

/*
 * Output.  Pipe mode writes payloads to fd 1 with write(2), blocking, so a
 * slow reader holds the socket back; interactive mode prints above the
 * prompt, leaving the half-typed line as it was.
 */

static const char *
c_(const char *code)
{
	return colour ? code : "";
}

#define C_RECV  "\033[34m"
#define C_PROMPT "\033[1;32m"
#define C_INFO  "\033[32m"
#define C_ERROR "\033[31m"
#define C_OFF   "\033[0m"

/* Clear the prompt and the half-typed line, print, draw them again.  In
 * the line handler readline has already moved to a fresh line and will
 * draw the prompt itself. */
static void
tty_print(FILE *f, const char *s, size_t len)
{
	bool redraw = rl_on && !rl_accepted;

	if (redraw)
		rl_clear_visible_line();
	fflush(stdout);
	fwrite(s, 1, len, f);
	fflush(f);
	if (redraw) {
		rl_on_new_line();
		rl_redisplay();
	}
}

/* A status line: on the terminal above the prompt in interactive mode;
 * errors (is_err) on stderr as "whirl-ws: ..." otherwise; other status
 * lines only in interactive mode. */
static void __attribute__((format(printf, 2, 3)))
say(bool is_err, const char *fmt, ...)
{
	struct buf b = { 0 };
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (interactive) {
		buf_fmt(&b, "%s%s%s\n", c_(is_err ? C_ERROR : C_INFO), tmp,
		    c_(C_OFF));
		tty_print(is_err ? stderr : stdout, b.p, b.len);
	} else if (is_err) {
		fprintf(stderr, "%s: %s\n", program_invocation_short_name, tmp);
	}
	free(b.p);
}

/* stdout is gone or broken: the first event, so it decides. */
static void
stdout_failed(int e)
{
	/* `| head -1` is a reader that had enough: not a failure. */
	if (e != EPIPE && status < 0)
		say(true, "stdout: %s", strerror(e));
	decide(e == EPIPE ? ST_OK : ST_FAIL);
	muted = true;
	start_close(WHIRL_WS_NORMAL, "");
}

static bool
write_out(struct iovec *iov, int n)
{
	struct pollfd p = { .fd = 1, .events = POLLOUT };
	ssize_t w;

	while (n > 0) {
		w = writev(1, iov, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			poll(&p, 1, -1);
			continue;
		}
		if (w == -1) {
			stdout_failed(errno);
			return false;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return true;
}

/* Pipe mode: the payload and "\n"; binary in base64 with --base64. */
static void
emit_message(bool binary, const char *data, size_t len)
{
	struct buf pre = { 0 }, b64 = { 0 };
	struct iovec iov[3];

	if (o.timestamps)
		timestamp(&pre);
	if (binary && o.base64) {
		buf_base64(&b64, data, len);
		data = b64.p != NULL ? b64.p : "";
		len = b64.len;
	}
	iov[0].iov_base = pre.p;
	iov[0].iov_len = pre.len;
	iov[1].iov_base = (char *)data;
	iov[1].iov_len = len;
	iov[2].iov_base = "\n";
	iov[2].iov_len = 1;
	write_out(iov, 3);
	free(pre.p);
	free(b64.p);
}

/* --json in interactive mode: an object or array indented by pretty.h;
 * anything else (a scalar, not JSON) is shown as sent. */
static bool
json_pretty(const char *data, size_t len, struct buf *out)
{
	struct evbuffer *eb;
	size_t skip = 0, n;
	bool ok;

	while (skip < len && strchr(" \t\r\n", data[skip]) != NULL)
		skip++;
	if (skip == len || (data[skip] != '{' && data[skip] != '['))
		return false;
	if ((eb = evbuffer_new()) == NULL)
		return false;
	ok = whirl_json_pretty(eb, data, len, 0) == 0;
	if (ok) {
		n = evbuffer_get_length(eb);
		/* tty_text ends the line itself. */
		buf_add(out, evbuffer_pullup(eb, -1), n > 0 ? n - 1 : 0);
	}
	evbuffer_free(eb);
	return ok;
}

/* Text for the terminal: control characters as ^X (so the network cannot
 * drive the terminal), lines after the first indented under the first. */
static void
tty_text(struct buf *b, const char *s, size_t len)
{
	size_t i;
	char c[2];

	for (i = 0; i < len; i++) {
		unsigned char u = (unsigned char)s[i];

		if (u == '\n') {
			buf_str(b, "\n  ");
		} else if (u == 0x7f || (u < 0x20 && u != '\t')) {
			c[0] = '^';
			c[1] = u == 0x7f ? '?' : (char)(u + '@');
			buf_add(b, c, 2);
		} else if (u == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] < 0xa0) {
			/* C1 controls (U+0080..U+009F) */
			buf_fmt(b, "\\u%04x", (unsigned char)s[++i]);
		} else {
			buf_add(b, &s[i], 1);
		}
	}
}

static void
tty_binary(struct buf *b, const char *s, size_t len)
{
	size_t i;

	if (o.base64) {
		buf_fmt(b, "(binary, %zu bytes) ", len);
		buf_base64(b, s, len);
		return;
	}
	buf_fmt(b, "(binary, %zu bytes)", len);
	for (i = 0; i < len && i < HEX_SHOWN; i++)
		buf_fmt(b, " %02x", (unsigned char)s[i]);
	if (len > HEX_SHOWN)
		buf_str(b, " ...");
}

static void
show_message(bool binary, const char *data, size_t len)
{
	struct buf b = { 0 }, pretty = { 0 };

	if (o.timestamps)
		timestamp(&b);
	buf_fmt(&b, "%s<%s ", c_(C_RECV), c_(C_OFF));
	if (binary)
		tty_binary(&b, data, len);
	else if (o.json && json_pretty(data, len, &pretty))
		tty_text(&b, pretty.p, pretty.len);
	else
		tty_text(&b, data, len);
	buf_str(&b, "\n");
	tty_print(stdout, b.p, b.len);
	free(b.p);
	free(pretty.p);
}

/*
 * Ending.  decide() records the exit status of the first deciding event;
 * start_close() sends our close frame and waits, at most --wait, for the
 * peer's.
 */

static void
decide(int st)
{
	if (status < 0)
		status = st;
}

static bool
cond_pending(void)
{
	return (o.once || o.until != NULL) && !cond_met;
}

static void
arm_wait(int kind)
{
	waiting = kind;
	if (o.wait_ms >= 0)
		whirl_timer_start(wait_timer, (uint64_t)o.wait_ms, false);
}

static const char *
wait_text(void)
{
	static char s[32];

	snprintf(s, sizeof(s), "%g s", (double)o.wait_ms / 1000);
	return s;
}

static void
on_wait(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	if (waiting == WAIT_COND) {
		if (o.until != NULL)
			say(true, "no message matched --until within %s",
			    wait_text());
		else
			say(true, "no message within %s (-1)", wait_text());
		decide(ST_TIMEOUT);
		muted = true;
		start_close(WHIRL_WS_NORMAL, "");
		return;
	}
	if (status < 0)
		say(true, "no close from the %s within %s",
		    o.listen ? "client" : "server", wait_text());
	decide(ST_TIMEOUT);
	whirl_loop_stop(loop);
}

static void
start_close(int code, const char *reason)
{
	if (ws == NULL) {
		/* Not connected (yet): a person's /quit is an end as asked;
		 * the other callers decided already. */
		decide(ST_OK);
		whirl_loop_stop(loop);
		return;
	}
	if (closing)
		return;
	closing = true;
	sent_code = code;
	input_over = true;
	if (in != NULL)
		whirl_stream_cancel_read(in);
	whirl_ws_close(ws, code, reason);
	arm_wait(WAIT_CLOSE);
}

/* Nothing more to send (stdin's EOF, the last -x): wait for what the
 * options ask for, or close now. */
static void
input_done(void)
{
	input_over = true;
	if (cond_pending())
		arm_wait(WAIT_COND);
	else
		start_close(o.close_code, o.close_reason);
}

static bool
close_normal(int code)
{
	return code == WHIRL_WS_NORMAL || code == WHIRL_WS_GOING_AWAY ||
	    code == WHIRL_WS_NO_STATUS;
}

static void
on_close(struct whirl_ws *w, int code, const char *reason, void *arg)
{
	struct buf b = { 0 };
	/* A peer that closed on its own at the moment we did answers with
	 * its code, not ours: only ours (or a normal one) is an answer. */
	bool acked = closing && code == sent_code;

	(void)arg;
	quoted(&b, reason, strlen(reason));
	if (interactive)
		say(false, "Disconnected (code: %d, reason: %s)", code, b.p);
	if (!acked && !close_normal(code)) {
		if (status < 0 && !interactive)
			say(true, "close %d %s", code, b.p);
		decide(ST_CLOSED);
	} else if (cond_pending()) {
		if (status < 0)
			say(true, "closed before %s (close %d %s)",
			    o.until != NULL ? "--until matched" :
			    "the first message (-1)", code, b.p);
		decide(ST_ENDED);
	} else {
		decide(ST_OK);
	}
	free(b.p);
	whirl_ws_free(w);
	ws = NULL;
	whirl_loop_stop(loop);
}

/*
 * The WebSocket's handler.
 */

static void
check_condition(const char *data, size_t len)
{
	regmatch_t m[1];
	char *copy;
	int r;

	if (!cond_pending())
		return;
	if (o.until != NULL) {
		/* A NUL-terminated copy: REG_STARTEND matches across NULs,
		 * but some regexec()s (ASan's wrapper) still look for the
		 * end. */
		copy = xrealloc(NULL, len + 1);
		memcpy(copy, data, len);
		copy[len] = '\0';
		m[0].rm_so = 0;
		m[0].rm_eo = (regoff_t)len;
		r = regexec(&o.until_re, copy, 1, m, REG_STARTEND);
		free(copy);
		if (r != 0)
			return;
	}
	cond_met = true;
	muted = true;
	start_close(o.close_code, o.close_reason);
}

static void
on_message(struct whirl_ws *w, bool binary, const char *data, size_t len,
    void *arg)
{
	(void)w;
	(void)arg;
	if (muted)
		return;
	if (interactive)
		show_message(binary, data, len);
	else
		emit_message(binary, data, len);
	if (!muted)
		check_condition(data, len);
}

static void
on_pong(struct whirl_ws *w, const char *data, size_t len, void *arg)
{
	struct buf b = { 0 };
	size_t i;

	(void)w;
	(void)arg;
	quoted(&b, data, len);
	for (i = 0; i < npings; i++)
		if (pings[i].len == len && memcmp(pings[i].data, data, len) == 0)
			break;
	if (i < npings) {
		say(false, "< pong %s (%.3f ms)", b.p, ms_since(&pings[i].sent));
		memmove(&pings[i], &pings[i + 1],
		    (npings - i - 1) * sizeof(pings[0]));
		npings--;
	} else if (o.show_ping_pong) {
		if (interactive)
			say(false, "< pong %s", b.p);
		else
			fprintf(stderr, "%s: pong %s\n",
			    program_invocation_short_name, b.p);
	}
	free(b.p);
}

/* -P: pings too (the library has answered them). */
static void
on_ping(struct whirl_ws *w, const char *data, size_t len, void *arg)
{
	struct buf b = { 0 };

	(void)w;
	(void)arg;
	if (!o.show_ping_pong)
		return;
	quoted(&b, data, len);
	if (interactive)
		say(false, "< ping %s", b.p);
	else
		fprintf(stderr, "%s: ping %s\n", program_invocation_short_name,
		    b.p);
	free(b.p);
}

/* Output piling up behind a slow peer: stop reading stdin until it
 * drains. */
static void
on_water(struct whirl_ws *w, bool above, void *arg)
{
	(void)w;
	(void)arg;
	in_paused = above;
	if (!above)
		read_line();
}

static const struct whirl_ws_handler handler = {
	.message = on_message, .pong = on_pong, .close = on_close,
	.water = on_water, .ping = on_ping,
};

/*
 * Sending.
 */

/* Interactive mode: lines typed before the connection is open wait in
 * order, as pipe mode's lines wait in the pipe. */
struct early {
	bool binary;
	size_t len;
	char *data;
};

static struct early *early;
static size_t nearly;

static bool
send_message(bool binary, const char *data, size_t len)
{
	if (!binary && !is_utf8(data, len)) {
		say(true, "not sent: not UTF-8 (use -b or /binary)");
		return false;
	}
	if (ws == NULL && !closing && status < 0) {
		early = xrealloc(early, (nearly + 1) * sizeof(*early));
		early[nearly].binary = binary;
		early[nearly].len = len;
		early[nearly].data = xrealloc(NULL, len);
		memcpy(early[nearly++].data, data, len);
		return true;
	}
	if (ws == NULL || closing) {
		say(true, "not sent: the connection is closing");
		return false;
	}
	whirl_ws_send(ws, binary, data, len);
	return true;
}

static void
send_early(void)
{
	size_t i;

	for (i = 0; i < nearly; i++) {
		if (ws != NULL)
			whirl_ws_send(ws, early[i].binary, early[i].data,
			    early[i].len);
		free(early[i].data);
	}
	free(early);
	early = NULL;
	nearly = 0;
}

/* Pipe mode: one stdin line, without its LF (and a CR before it). */
static void
on_line(struct whirl_stream *s, const char *data, size_t len, const char *err,
    void *arg)
{
	bool eof = err == whirl_err_closed;

	(void)s;
	(void)arg;
	if (ws == NULL)
		return;
	if (err != NULL && !eof) {
		if (err == whirl_err_too_long)
			say(true, "line %ju is longer than %u bytes",
			    lineno + 1, MAX_LINE);
		else
			say(true, "stdin: %s", err);
		decide(ST_FAIL);
		start_close(WHIRL_WS_NORMAL, "");
		return;
	}
	if (len > 0) {
		lineno++;
		if (data[len - 1] == '\n' && --len > 0 && data[len - 1] == '\r')
			len--;
		if (!o.binary && !is_utf8(data, len)) {
			say(true, "line %ju is not UTF-8 (use -b)", lineno);
			decide(ST_FAIL);
			start_close(WHIRL_WS_NORMAL, "");
			return;
		}
		whirl_ws_send(ws, o.binary, data, len);
	}
	if (eof)
		input_done();
	else
		read_line();
}

static void
read_line(void)
{
	if (in != NULL && !in_paused && !input_over && ws != NULL)
		whirl_stream_read_until(in, "\n", 1, MAX_LINE + 2, on_line,
		    NULL);
}

/*
 * Interactive mode: readline on the loop, history, slash commands.
 */

static void
cmd_ping(const char *arg)
{
	size_t len = strlen(arg);

	if (len > sizeof(pings[0].data)) {
		say(true, "ping data is limited to 125 bytes");
		return;
	}
	if (ws == NULL || closing || whirl_ws_ping(ws, arg, len) == -1) {
		say(true, "not sent: %s", ws == NULL && !closing ?
		    "not connected yet" : "the connection is closing");
		return;
	}
	if (npings == MAX_PINGS)
		memmove(&pings[0], &pings[1], --npings * sizeof(pings[0]));
	memcpy(pings[npings].data, arg, len);
	pings[npings].len = len;
	clock_gettime(CLOCK_MONOTONIC, &pings[npings].sent);
	npings++;
}

static void
cmd_pong(const char *arg)
{
	if (strlen(arg) > 125)
		say(true, "pong data is limited to 125 bytes");
	else if (ws == NULL || closing ||
	    whirl_ws_pong(ws, arg, strlen(arg)) == -1)
		say(true, "not sent: %s", ws == NULL && !closing ?
		    "not connected yet" : "the connection is closing");
}

static void
cmd_close(const char *arg)
{
	char *end;
	long code = o.close_code;

	if (*arg != '\0') {
		code = strtol(arg, &end, 10);
		if (end == arg || (*end != '\0' && *end != ' ') ||
		    !whirl_ws_close_code_valid(code)) {
			say(true, "usage: /close [CODE [REASON]] (CODE 1000, "
			    "3000-4999, ...)");
			return;
		}
		arg = end + strspn(end, " ");
		if (strlen(arg) > 123 || !is_utf8(arg, strlen(arg))) {
			say(true, "the reason is UTF-8, at most 123 bytes");
			return;
		}
	} else {
		arg = o.close_reason;
	}
	rl_stop();
	start_close((int)code, arg);
}

static void
cmd_binary(const char *arg)
{
	char *bytes = xrealloc(NULL, strlen(arg) / 2 + 1);
	ssize_t n = whirl_hex_decode(arg, bytes);

	if (n < 0)
		say(true, "usage: /binary HEX (e.g. /binary 68 69)");
	else
		send_message(true, bytes, (size_t)n);
	free(bytes);
}

static void
cmd_send(const char *arg)
{
	struct buf b = { 0 };
	char chunk[65536], *path;
	ssize_t n = 0;
	bool text;
	int fd;

	if (*arg != '@' || arg[1] == '\0') {
		say(true, "usage: /send @FILE");
		return;
	}
	path = tilde_expand(arg + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		say(true, "%s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while (b.len <= MAX_LINE && (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (n == -1 || b.len > MAX_LINE) {
		say(true, "%s: %s", path, n == -1 ? strerror(errno) :
		    "larger than 16 MiB");
	} else {
		text = !o.binary && is_utf8(b.p != NULL ? b.p : "", b.len);
		if (send_message(!text, b.p != NULL ? b.p : "", b.len))
			say(false, "sent %s: %zu bytes as %s", path, b.len,
			    text ? "text" : "binary");
	}
	free(path);
	free(b.p);
}

static void
cmd_quit(const char *arg)
{
	(void)arg;
	rl_stop();
	start_close(o.close_code, o.close_reason);
}

static void cmd_help(const char *arg);

static const struct command {
	const char *name;
	void (*fn)(const char *arg);
	const char *help;
} commands[] = {
	{ "/binary", cmd_binary, "/binary HEX              send bytes as a "
	    "binary message" },
	{ "/close", cmd_close, "/close [CODE [REASON]]   close the "
	    "connection" },
	{ "/help", cmd_help, "/help                    this list" },
	{ "/ping", cmd_ping, "/ping [DATA]             send a ping; its pong "
	    "shows the round trip" },
	{ "/pong", cmd_pong, "/pong [DATA]             send a pong" },
	{ "/quit", cmd_quit, "/quit                    close and exit (as "
	    "Ctrl-D)" },
	{ "/send", cmd_send, "/send @FILE              send a file as one "
	    "message (text if UTF-8)" },
};

static void
cmd_help(const char *arg)
{
	struct buf b = { 0 };
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		buf_fmt(&b, "%s\n", commands[i].help);
	buf_str(&b, "//TEXT                   send /TEXT\n"
	    "Ctrl-D                   close and exit; Ctrl-C exits at once");
	say(false, "%s", b.p);
	free(b.p);
}

static void
run_line(const char *line)
{
	size_t n, i;

	if (line[0] != '/' || line[1] == '/') {
		send_message(o.binary, line + (line[0] == '/'),
		    strlen(line + (line[0] == '/')));
		return;
	}
	n = strcspn(line, " ");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].name) == n &&
		    strncmp(commands[i].name, line, n) == 0) {
			commands[i].fn(line + n + strspn(line + n, " "));
			return;
		}
	say(true, "unknown command %.*s (/help lists them; //TEXT sends "
	    "/TEXT)", (int)n, line);
}

static void
history_add(const char *line)
{
	HIST_ENTRY *last = history_length > 0 ?
	    history_get(history_base + history_length - 1) : NULL;

	if (*line == '\0' || (last != NULL && strcmp(last->line, line) == 0))
		return;
	add_history(line);
	if (hist_path != NULL)
		append_history(1, hist_path);
}

static void
on_rl_line(char *line)
{
	if (line == NULL) {
		/* Ctrl-D: the interactive stdin's EOF; readline has moved to
		 * a new line. */
		rl_accepted = true;
		rl_stop();
		rl_accepted = false;
		start_close(o.close_code, o.close_reason);
		return;
	}
	history_add(line);
	rl_accepted = true;
	run_line(line);
	rl_accepted = false;
	free(line);
}

static char *
command_names(const char *text, int state)
{
	static size_t i, len;

	if (state == 0) {
		i = 0;
		len = strlen(text);
	}
	while (i < sizeof(commands) / sizeof(commands[0]))
		if (strncmp(commands[i++].name, text, len) == 0)
			return xstrdup(commands[i - 1].name);
	return NULL;
}

/* Tab completes the commands, and file names after "/send @". */
static char **
complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1;
	if (start == 0 && text[0] == '/')
		return rl_completion_matches(text, command_names);
	if (strncmp(rl_line_buffer, "/send @", 7) == 0 && start >= 7) {
		rl_attempted_completion_over = 0;
		return NULL;
	}
	return NULL;
}

static void
on_tty(struct whirl_watch *w, int fd, int ready, void *arg)
{
	(void)w;
	(void)fd;
	(void)ready;
	(void)arg;
	rl_callback_read_char();
}

static void
history_open(void)
{
	const char *home = getenv("HOME");
	int fd;

	using_history();
	stifle_history(HISTORY_MAX);
	if (o.no_history || home == NULL || *home == '\0')
		return;
	if (asprintf(&hist_path, "%s/.whirl_ws_history", home) == -1)
		err(ST_FAIL, NULL);
	/* append_history needs the file; history may hold secrets. */
	if ((fd = open(hist_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1) {
		free(hist_path);
		hist_path = NULL;
		return;
	}
	close(fd);
	read_history(hist_path);
}

static void
rl_start(void)
{
	/* \001 and \002 tell readline the colour takes no room. */
	const char *prompt = colour ? "\001" C_PROMPT "\002>\001" C_OFF
	    "\002 " : "> ";

	rl_readline_name = "whirl-ws";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_callback_handler_install(prompt, on_rl_line);
	rl_on = true;
	tty = whirl_watch_new(loop, 0, WHIRL_READ, on_tty, NULL);
	if (tty == NULL)
		errx(ST_FAIL, "stdin: %s", whirl_error());
}

/* The prompt goes: Ctrl-D, /quit, /close, or the end.  Unless readline
 * has just finished a line, the prompt and what was typed are wiped. */
static void
rl_stop(void)
{
	if (!rl_on)
		return;
	if (!rl_accepted)
		rl_clear_visible_line();
	rl_on = false;
	rl_callback_handler_remove();
	whirl_watch_free(tty);
	tty = NULL;
}

/*
 * The connection is open: start the front end.
 */

static void
opened(const char *what)
{
	size_t i;

	whirl_timer_stop(wait_timer);
	if (interactive) {
		say(false, "%s (press CTRL+C to quit, /help for commands)",
		    what);
		send_early();
		return;
	}
	if (o.nexecute > 0) {
		for (i = 0; i < o.nexecute; i++)
			whirl_ws_send(ws, o.binary, o.execute[i],
			    strlen(o.execute[i]));
		input_done();
		return;
	}
	in = whirl_stream_new_pair(loop, 0, -1, WHIRL_STREAM_BORROW_FD);
	if (in == NULL) {
		say(true, "stdin: %s", whirl_error());
		decide(ST_FAIL);
		start_close(WHIRL_WS_NORMAL, "");
		return;
	}
	read_line();
}

static void
on_connected(struct whirl_ws_connecting *c, struct whirl_ws *w, int st,
    const char *protocol, const char *error, void *arg)
{
	char what[256];

	(void)c;
	(void)arg;
	connecting = NULL;
	if (w == NULL) {
		if (st > 0 && strncmp(error, "HTTP/", 5) == 0)
			say(true, "%s", error);
		else if (st > 0 && st != 101)
			say(true, "HTTP/1.1 %d %s", st, whirl_http_reason(st));
		else
			say(true, "%s", error);
		decide(st > 0 ? ST_REFUSED : ST_CONNECT);
		whirl_loop_stop(loop);
		return;
	}
	ws = w;
	snprintf(what, sizeof(what), "Connected to %s%s%s%s", o.url,
	    protocol != NULL ? " (subprotocol " : "",
	    protocol != NULL ? protocol : "", protocol != NULL ? ")" : "");
	opened(what);
}

static struct whirl_ws_opts
ws_opts(void)
{
	struct whirl_ws_opts wo = { 0 };

	wo.max_message = MAX_LINE;
	wo.ping_interval_ms = o.ping_ms;
	/* Our own --wait timer answers first; this only bounds the
	 * lingering after we let go. */
	wo.close_timeout_ms = o.wait_ms >= 0 ? (uint64_t)o.wait_ms + 1000 :
	    UINT64_C(30) * 24 * 3600 * 1000;
	return wo;
}

static void
client_start(void)
{
	struct whirl_ws_connect_opts co = { 0 };
	bool secure = strncmp(o.url, "wss://", 6) == 0;
	struct whirl_tls_client_opts to = { 0 };

	if (secure) {
		to.cafile = o.cacert;
		to.cert_file = o.cert;
		to.key_file = o.key;
		to.insecure = o.insecure;
		if ((tls = whirl_tls_client_new(&to)) == NULL) {
			say(true, "%s", whirl_error());
			decide(ST_CONNECT);
			return;
		}
	}
	co.ws = ws_opts();
	co.deflate = o.compress;
	co.headers = o.headers;
	co.subprotocols = o.protocol_list;
	co.origin = o.origin;
	co.tls = tls;
	co.timeout_ms = o.connect_ms;
	connecting = whirl_ws_connect(loop, o.url, &co, &handler, NULL,
	    on_connected, NULL);
	if (connecting == NULL) {
		say(true, "%s", whirl_error());
		decide(ST_USAGE);
		return;
	}
	whirl_loop_run(loop);
}

/* The one client is in: later ones are refused at once rather than left
 * in the listen queue.  On the next turn, not inside the server's own
 * callback. */
static void
close_server(struct whirl_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	whirl_httpserver_free(srv);
	srv = NULL;
}

/* -l: the first valid upgrade becomes the session; requests that came on
 * other connections meanwhile are turned away. */
static void
on_request(struct whirl_request *req, void *arg)
{
	struct whirl_ws_accept_opts ao = { 0 };
	char what[256];

	(void)arg;
	if (ws != NULL || status >= 0) {
		whirl_response_send(req, 503, NULL, "busy\n", 5);
		return;
	}
	snprintf(what, sizeof(what), "Client connected from %s port %d",
	    whirl_request_remote_ip(req), whirl_request_remote_port(req));
	ao.ws = ws_opts();
	ao.deflate = o.compress;
	ao.subprotocols = o.protocols;
	ao.any_origin = true;
	if ((ws = whirl_ws_accept(req, &ao, &handler, NULL)) == NULL)
		return;
	whirl_loop_add_callback(loop, close_server, NULL);
	opened(what);
}

static void
listen_start(void)
{
	struct whirl_httpserver_opts ho = { 0 };
	struct whirl_tls_server_opts to = { 0 };
	int port;

	if (o.cert != NULL) {
		to.cert_file = o.cert;
		to.key_file = o.key != NULL ? o.key : o.cert;
		if ((tls = whirl_tls_server_new(&to)) == NULL) {
			say(true, "%s", whirl_error());
			decide(ST_FAIL);
			return;
		}
		ho.tls = tls;
	}
	if ((srv = whirl_httpserver_new(loop, &ho, on_request, NULL)) == NULL ||
	    whirl_httpserver_listen(srv, o.listen_host, o.listen_port,
	    AF_UNSPEC, 0) == -1) {
		say(true, "%s", whirl_error());
		decide(ST_FAIL);
		return;
	}
	port = whirl_httpserver_port(srv);
	if (o.print_port) {
		char line[16];

		snprintf(line, sizeof(line), "%d\n", port);
		tty_print(stderr, line, strlen(line));
	}
	if (interactive)
		say(false, "Listening on %s://%s%s%s:%d/ (one client)",
		    tls != NULL ? "wss" : "ws",
		    strchr(o.listen_host, ':') != NULL ? "[" : "",
		    o.listen_host,
		    strchr(o.listen_host, ':') != NULL ? "]" : "", port);
	else
		fprintf(stderr, "%s: listening on %s://%s%s%s:%d/\n",
		    program_invocation_short_name, tls != NULL ? "wss" : "ws",
		    strchr(o.listen_host, ':') != NULL ? "[" : "",
		    o.listen_host,
		    strchr(o.listen_host, ':') != NULL ? "]" : "", port);
	fflush(stderr);
	whirl_loop_run(loop);
}

/*
 * Signals.
 */

static void on_signal(struct whirl_signal *s, int signo, void *arg);

/* Ctrl-Z: give the terminal back as we found it and stop as the default
 * action would; once continued (fg), the shell has set the terminal its
 * own way, so take it again and draw the line anew. */
static void
suspend(struct whirl_signal **s)
{
	if (rl_on)
		rl_deprep_terminal();
	whirl_signal_free(*s);
	raise(SIGTSTP);
	*s = whirl_signal_new(loop, SIGTSTP, on_signal, NULL);
	if (rl_on) {
		rl_prep_terminal(1);
		rl_forced_update_display();
	}
}

static void
on_signal(struct whirl_signal *s, int signo, void *arg)
{
	(void)s;
	(void)arg;
	if (signo == SIGWINCH) {
		if (rl_on)
			rl_resize_terminal();
		return;
	}
	if (signo == SIGTSTP) {
		suspend(&sigs[4]);
		return;
	}
	if (signo == SIGINT)
		decide(ST_SIGINT);
	else
		killed_by = signo;
	muted = true;
	rl_stop();
	/* The close frame leaves while we clean up; no waiting for the
	 * answer. */
	if (ws != NULL && !closing) {
		closing = true;
		whirl_ws_close(ws, signo == SIGINT ? WHIRL_WS_NORMAL :
		    WHIRL_WS_GOING_AWAY, "");
	}
	whirl_loop_stop(loop);
}

/*
 * Options.
 */

static void
usage_to(FILE *f, bool full)
{
	const char *me = program_invocation_short_name;

	fprintf(f, "Usage: %s [-1bkP] [-H 'Name: value'] [-o origin] "
	    "[-s protocol] [-w seconds]\n"
	    "       %*s [-x message] [options] url\n"
	    "       %s [-1bP] [options] -l [host:]port\n", me, (int)strlen(me),
	    "", me);
	if (!full) {
		fprintf(f, "Try '%s --help' for more.\n", me);
		return;
	}
	fputs("Interactive (readline) when stdin and stdout are terminals; "
	    "otherwise\neach stdin line is a message and each message a "
	    "stdout line.\nOptions:\n"
	    "  -1, --once                 exit after the first message\n"
	    "      --auth USER:PASS       basic authentication\n"
	    "  -b, --binary               send lines as binary messages\n"
	    "      --base64               print binary messages in base64\n"
	    "      --cacert FILE          verify the server with this CA\n"
	    "      --cert FILE            client certificate (-l: the "
	    "server's)\n"
	    "  -c, --connect URL          the server (ws:// when no scheme)\n"
	    "      --close-code CODE      our close code (1000)\n"
	    "      --close-reason TEXT    our close reason\n"
	    "      --compress             offer permessage-deflate\n"
	    "      --connect-timeout SECS give up connecting after SECS "
	    "(30)\n"
	    "  -H, --header 'NAME: VALUE' add a handshake header\n"
	    "  -h, --help                 print this help and exit\n"
	    "      --json                 pretty-print JSON (interactive)\n"
	    "  -k, --insecure             do not verify the server (also -n)\n"
	    "      --key FILE             the key of --cert\n"
	    "  -l, --listen [HOST:]PORT   accept one client instead\n"
	    "      --no-color             no colours\n"
	    "      --no-history           neither read nor write "
	    "~/.whirl_ws_history\n"
	    "  -o, --origin ORIGIN        the Origin header\n"
	    "  -P, --show-ping-pong       show pongs received\n"
	    "      --ping-interval SECS   ping the peer every SECS\n"
	    "      --print-port           with -l: the port alone on stderr "
	    "first\n"
	    "  -s, --subprotocol NAME     ask for (-l: accept) a subprotocol\n"
	    "      --timestamps           prefix messages with the time\n"
	    "      --until REGEX          exit when a message matches (ERE)\n"
	    "      --version              print the version and exit\n"
	    "  -w, --wait SECS            bound on each wait for the peer "
	    "(2; -1: none)\n"
	    "  -x, --execute MESSAGE      send MESSAGE (repeatable); stdin "
	    "is not read\n"
	    "Exit: 0 ok, 1 failure, 2 usage, 3 connect/TLS, 4 handshake "
	    "refused,\n5 abnormal close, 6 timeout, 7 closed before "
	    "--until/-1, 130 SIGINT.\n", f);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage_to(stderr, false);
	exit(ST_USAGE);
}

enum {
	OPT_AUTH = 256, OPT_BASE64, OPT_CACERT, OPT_CERT, OPT_CLOSE_CODE,
	OPT_CLOSE_REASON, OPT_COMPRESS, OPT_CONNECT_TIMEOUT, OPT_JSON,
	OPT_KEY, OPT_NO_COLOR, OPT_NO_HISTORY, OPT_PING_INTERVAL,
	OPT_PRINT_PORT, OPT_TIMESTAMPS, OPT_UNTIL, OPT_VERSION
};

static const struct option longopts[] = {
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "base64", no_argument, NULL, OPT_BASE64 },
	{ "binary", no_argument, NULL, 'b' },
	{ "ca", required_argument, NULL, OPT_CACERT },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "close-code", required_argument, NULL, OPT_CLOSE_CODE },
	{ "close-reason", required_argument, NULL, OPT_CLOSE_REASON },
	{ "compress", no_argument, NULL, OPT_COMPRESS },
	{ "connect", required_argument, NULL, 'c' },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "execute", required_argument, NULL, 'x' },
	{ "header", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, 'h' },
	{ "insecure", no_argument, NULL, 'k' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "listen", required_argument, NULL, 'l' },
	{ "no-check", no_argument, NULL, 'n' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "no-history", no_argument, NULL, OPT_NO_HISTORY },
	{ "once", no_argument, NULL, '1' },
	{ "origin", required_argument, NULL, 'o' },
	{ "ping-interval", required_argument, NULL, OPT_PING_INTERVAL },
	{ "print-port", no_argument, NULL, OPT_PRINT_PORT },
	{ "show-ping-pong", no_argument, NULL, 'P' },
	{ "subprotocol", required_argument, NULL, 's' },
	{ "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "wait", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 }
};

/* Seconds, fractions allowed, into milliseconds; -1 when minus_one is
 * allowed and given. */
static int64_t
parse_secs(const char *opt, const char *s, bool minus_one)
{
	uint64_t ms;
	long long none;

	if (minus_one && whirl_parse_long(s, -1, -1, &none) == 0)
		return -1;
	if (whirl_parse_seconds(s, 0, 86400 * 365, &ms) == -1 || ms == 0)
		usage_error("bad %s '%s' (seconds, more than 0%s)", opt, s,
		    minus_one ? ", or -1" : "");
	return (int64_t)ms;
}

static void
push(const char ***list, size_t *n, const char *s)
{
	*list = xrealloc(*list, (*n + 2) * sizeof(**list));
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
}

/* "[HOST:]PORT", HOST maybe "[::1]". */
static void
parse_listen(const char *s)
{
	const char *colon = strrchr(s, ':'), *p = colon ? colon + 1 : s;
	char *end, *host;
	long v;

	errno = 0;
	v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || v < 0 || v > 65535 || errno != 0)
		usage_error("bad -l '%s' ([HOST:]PORT, PORT 0 to 65535)", s);
	o.listen = true;
	o.listen_port = (int)v;
	if (colon == NULL)
		return;
	host = xrealloc(NULL, (size_t)(colon - s) + 1);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '[' && colon - s >= 2 && host[colon - s - 1] == ']') {
		memmove(host, host + 1, (size_t)(colon - s) - 2);
		host[colon - s - 2] = '\0';
	}
	if (host[0] == '\0')
		usage_error("bad -l '%s' ([HOST:]PORT)", s);
	free(o.listen_host);
	o.listen_host = host;
}

/* ws:// when there is no scheme; http(s):// read as ws(s)://. */
static void
set_url(const char *s)
{
	bool secure;
	char host[256], target[2048];
	int port;

	free(o.url);
	if (strncasecmp(s, "http://", 7) == 0)
		asprintf(&o.url, "ws://%s", s + 7);
	else if (strncasecmp(s, "https://", 8) == 0)
		asprintf(&o.url, "wss://%s", s + 8);
	else if (strstr(s, "://") == NULL)
		asprintf(&o.url, "ws://%s", s);
	else
		o.url = xstrdup(s);
	if (o.url == NULL)
		err(ST_FAIL, NULL);
	if (!whirl_ws_parse_url(o.url, &secure, host, sizeof(host), &port,
	    target, sizeof(target)))
		usage_error("bad URL '%s' (ws://HOST[:PORT]/PATH or wss://...)",
		    s);
}

static void
set_auth(const char *s)
{
	struct buf b = { 0 };

	if (strchr(s, ':') == NULL)
		usage_error("bad --auth '%s' (USER:PASS)", s);
	buf_str(&b, "Authorization: Basic ");
	buf_base64(&b, s, strlen(s));
	free(o.auth_header);
	o.auth_header = b.p;
}

static void
set_header(const char *s)
{
	char name[256];
	const char *v;

	if (whirl_http_split_header(s, name, sizeof(name), &v) == -1)
		usage_error("bad -H '%s': %s", s, whirl_error());
	push(&o.headers, &o.nheaders, s);
}

static void
set_protocol(const char *s)
{
	size_t n = o.protocol_list != NULL ? strlen(o.protocol_list) : 0;

	if (!whirl_http_is_token(s, strlen(s)))
		usage_error("bad -s '%s' (a token)", s);
	push(&o.protocols, &o.nprotocols, s);
	o.protocol_list = xrealloc(o.protocol_list, n + strlen(s) + 3);
	sprintf(o.protocol_list + n, "%s%s", n > 0 ? ", " : "", s);
}

/* Refused here, as -H's, if it could not be sent (a CR or LF would start
 * a field of its own). */
static void
set_origin(const char *s)
{
	if (whirl_http_check_field("Origin", s) == -1)
		usage_error("bad -o '%s': %s", s, whirl_error());
	o.origin = s;
}

static void
set_close_code(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' ||
	    !whirl_ws_close_code_valid(v))
		usage_error("bad --close-code '%s' (1000-1003, 1007-1011, "
		    "3000-4999)", s);
	o.close_code = (int)v;
}

static void
set_until(const char *s)
{
	char msg[256];
	int r;

	if (o.until != NULL)
		regfree(&o.until_re);
	if ((r = regcomp(&o.until_re, s, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(r, &o.until_re, msg, sizeof(msg));
		usage_error("bad --until '%s': %s", s, msg);
	}
	o.until = s;
}

static void
parse_opt(int c)
{
	switch (c) {
	case '1': o.once = true; break;
	case 'b': o.binary = true; break;
	case 'c': set_url(optarg); break;
	case 'H': set_header(optarg); break;
	case 'h': usage_to(stdout, true); exit(ST_OK);
	case 'k': case 'n': o.insecure = true; break;
	case 'l': parse_listen(optarg); break;
	case 'o': set_origin(optarg); break;
	case 'P': o.show_ping_pong = true; break;
	case 's': set_protocol(optarg); break;
	case 'w': o.wait_ms = parse_secs("-w", optarg, true); break;
	case 'x': push(&o.execute, &o.nexecute, optarg); break;
	case OPT_AUTH: set_auth(optarg); break;
	case OPT_BASE64: o.base64 = true; break;
	case OPT_CACERT: o.cacert = optarg; break;
	case OPT_CERT: o.cert = optarg; break;
	case OPT_CLOSE_CODE: set_close_code(optarg); break;
	case OPT_CLOSE_REASON:
		if (strlen(optarg) > 123 || !is_utf8(optarg, strlen(optarg)))
			usage_error("bad --close-reason (UTF-8, at most 123 "
			    "bytes)");
		o.close_reason = optarg;
		break;
	case OPT_COMPRESS: o.compress = true; break;
	case OPT_CONNECT_TIMEOUT:
		o.connect_ms = (uint64_t)parse_secs("--connect-timeout",
		    optarg, false);
		break;
	case OPT_JSON: o.json = true; break;
	case OPT_KEY: o.key = optarg; break;
	case OPT_NO_COLOR: o.no_color = true; break;
	case OPT_NO_HISTORY: o.no_history = true; break;
	case OPT_PING_INTERVAL:
		o.ping_ms = (uint64_t)parse_secs("--ping-interval", optarg,
		    false);
		break;
	case OPT_PRINT_PORT: o.print_port = true; break;
	case OPT_TIMESTAMPS: o.timestamps = true; break;
	case OPT_UNTIL: set_until(optarg); break;
	case OPT_VERSION:
		printf("whirl-ws %s\n", WHIRL_VERSION);
		exit(ST_OK);
	default:
		usage_to(stderr, false);
		exit(ST_USAGE);
	}
}

static void
parse_opts(int argc, char **argv)
{
	int c;

	o.wait_ms = 2000;
	o.connect_ms = 30000;
	o.close_code = WHIRL_WS_NORMAL;
	o.close_reason = "";
	o.listen_host = xstrdup("127.0.0.1");
	while ((c = getopt_long(argc, argv, "1bc:H:hkl:no:Ps:w:x:", longopts,
	    NULL)) != -1)
		parse_opt(c);
	if (optind < argc) {
		if (o.url != NULL || argc - optind > 1)
			usage_error("one URL only");
		set_url(argv[optind]);
	}
	if (o.listen && o.url != NULL)
		usage_error("cannot use -l with a URL");
	if (!o.listen && o.url == NULL)
		usage_error("no URL (or -l PORT)");
	if (o.listen && (o.nheaders > 0 || o.origin != NULL ||
	    o.auth_header != NULL || o.cacert != NULL || o.insecure))
		usage_error("-H, -o, --auth, --cacert and -k are for a client, "
		    "not -l");
	if (o.print_port && !o.listen)
		usage_error("--print-port goes with -l");
	if (o.key != NULL && o.cert == NULL)
		usage_error("--key goes with --cert");
	if (o.listen && o.key == NULL && o.cert != NULL)
		usage_error("-l with --cert needs --key");
	if (o.auth_header != NULL)
		push(&o.headers, &o.nheaders, o.auth_header);
}

/*
 * Main.
 */

/* A closed fd 0-2 gets /dev/null, so that no socket lands on it. */

static void
setup(void)
{
	/* The last two only for readline; sigs[4] is SIGTSTP's. */
	static const int signos[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH,
	    SIGTSTP };
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	size_t i;

	interactive = o.nexecute == 0 && isatty(0) && isatty(1);
	colour = interactive && !o.no_color && (nc == NULL || *nc == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if (interactive)
		history_open();
	signal(SIGPIPE, SIG_IGN);
	if ((loop = whirl_loop_new()) == NULL)
		errx(ST_FAIL, "%s", whirl_error());
	wait_timer = whirl_timer_new(loop, on_wait, NULL);
	for (i = 0; i < sizeof(signos) / sizeof(signos[0]); i++)
		if ((i < 3 || interactive) &&
		    (sigs[i] = whirl_signal_new(loop, signos[i], on_signal,
		    NULL)) == NULL)
			errx(ST_FAIL, "%s", whirl_error());
}

/* Everything goes, in order, so that valgrind finds nothing; the loop's
 * last turns let our close frame leave. */
static void
cleanup(void)
{
	size_t i;

	rl_stop();
	if (hist_path != NULL)
		history_truncate_file(hist_path, HISTORY_MAX);
	clear_history();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		whirl_signal_free(sigs[i]);
	whirl_ws_connect_cancel(connecting);
	whirl_ws_free(ws);
	whirl_stream_free(in);
	whirl_timer_free(wait_timer);
	whirl_httpserver_free(srv);
	srv = NULL;             /* close_server() may still be due */
	send_early();
	whirl_loop_run(loop);
	whirl_tls_ctx_free(tls);
	whirl_loop_free(loop);
	free(hist_path);
	free(o.url);
	free(o.headers);
	free(o.auth_header);
	free(o.protocols);
	free(o.protocol_list);
	free(o.execute);
	if (o.until != NULL)
		regfree(&o.until_re);
	free(o.listen_host);
}

int
main(int argc, char **argv)
{
	if (whirl_std_fds_open() == -1)
		_exit(ST_FAIL);
	parse_opts(argc, argv);
	setup();
	if (interactive)
		rl_start();
	if (o.listen)
		listen_start();
	else
		client_start();
	cleanup();
	if (killed_by != 0) {
		signal(killed_by, SIG_DFL);
		raise(killed_by);
	}
	return status >= 0 ? status : ST_FAIL;
}
