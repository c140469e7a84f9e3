/* log.c - Tornado's log line format, levels, colour, one write per line
 * (log.h).
 *
 * A line is built in a stack buffer (a heap one only for a message over
 * 4 KiB) and handed to write(2) whole.  The "yymmdd HH:MM:SS" text is
 * made once per second: localtime_r is the expensive part of a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"

struct dest {
	int fd;
	bool color;
};

static enum whirl_log_level threshold = WHIRL_LOG_INFO;
static struct dest general = { 2, false };
static struct dest access_dest = { WHIRL_LOG_SAME, false };
static int access_owned = -1;           /* an fd we opened and must close */
static char access_path[4096];          /* what whirl_log_open_access opened */
static bool color_decided;
static time_t (*clock_fn)(void);

static const char letters[] = "DIWE";
static const char colors[] = "4231";    /* curses colour numbers */

/* Colour only on a terminal that has it, and never against NO_COLOR
 * (no-color.org: set and not empty). */
static bool
want_color(int fd)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (no != NULL && *no != '\0')
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return fd >= 0 && isatty(fd) == 1;
}

static const struct dest *
general_dest(void)
{
	if (!color_decided) {
		general.color = want_color(general.fd);
		color_decided = true;
	}
	return &general;
}

static const struct dest *
access_log_dest(void)
{
	return access_dest.fd == WHIRL_LOG_SAME ? general_dest() :
	    &access_dest;
}

void
whirl_log_set_level(enum whirl_log_level level)
{
	threshold = level;
}

enum whirl_log_level
whirl_log_get_level(void)
{
	return threshold;
}

bool
whirl_log_enabled(enum whirl_log_level level)
{
	return level >= threshold && level < WHIRL_LOG_OFF;
}

bool
whirl_log_access_enabled(enum whirl_log_level level)
{
	return whirl_log_enabled(level) && access_dest.fd != -1;
}

void
whirl_log_set_fd(int fd)
{
	general.fd = fd;
	general.color = want_color(fd);
	color_decided = true;
}

static void
set_access(int fd, int owned)
{
	access_path[0] = '\0';
	if (access_owned != -1)
		close(access_owned);
	access_owned = owned;
	access_dest.fd = fd;
	access_dest.color = fd >= 0 && want_color(fd);
}

void
whirl_log_set_access_fd(int fd)
{
	set_access(fd, -1);
}

int
whirl_log_open_access(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd == -1) {
		whirl__seterrno("open %s", path);
		return -1;
	}
	set_access(fd, fd);
	snprintf(access_path, sizeof(access_path), "%s", path);
	return 0;
}

/* logrotate renamed the file: open the name again (nginx's USR1). */
int
whirl_log_reopen_access(void)
{
	char path[sizeof(access_path)];

	if (access_path[0] == '\0')
		return 0;
	memcpy(path, access_path, sizeof(path));
	return whirl_log_open_access(path);
}

void
whirl_log_set_clock(time_t (*now)(void))
{
	clock_fn = now;
}

/*
 * Formatting.
 */

/* "yymmdd HH:MM:SS" for t in local time, remembered for the second. */
static const char *
stamp(time_t t)
{
	static _Thread_local time_t cached_t = (time_t)-1;
	static _Thread_local char cached[32];
	static bool tz_read;
	struct tm tm;

	if (t == cached_t)
		return cached;
	if (!tz_read) {
		tzset();
		tz_read = true;
	}
	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(cached, sizeof(cached), "%02d%02d%02d %02d:%02d:%02d",
	    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	cached_t = t;
	return cached;
}

/* Bounded appends: pos counts every byte, only those that fit land. */
struct out {
	char *buf;
	size_t size, pos;
};

static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o->pos < o->size) {
		size_t room = o->size - o->pos;

		memcpy(o->buf + o->pos, s, n < room ? n : room);
	}
	o->pos += n;
}

static void
out_ch(struct out *o, char c)
{
	out_put(o, &c, 1);
}

static void
out_int(struct out *o, int v)
{
	char tmp[16];
	int n = snprintf(tmp, sizeof(tmp), "%d", v);

	out_put(o, tmp, (size_t)n);
}

/* The message, without trailing newlines, later lines indented, other
 * control characters as '?'. */
static void
out_msg(struct out *o, const char *msg)
{
	size_t len = strlen(msg), run = 0, i;
	unsigned char c;

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	for (i = 0; i < len; i++) {
		c = (unsigned char)msg[i];
		if (c >= 0x20 && c != 0x7f)
			continue;
		if (c == '\t')
			continue;
		out_put(o, msg + run, i - run);
		if (c == '\n')
			out_put(o, "\n    ", 5);
		else
			out_ch(o, '?');
		run = i + 1;
	}
	out_put(o, msg + run, len - run);
}

static size_t
build_line(char *buf, size_t size, enum whirl_log_level level,
    const char *module, size_t mlen, int line, time_t t, bool color,
    const char *msg)
{
	struct out o = { buf, size, 0 };

	if (level < WHIRL_LOG_DEBUG || level > WHIRL_LOG_ERROR)
		level = WHIRL_LOG_ERROR;
	if (color) {
		out_put(&o, "\033[3", 3);
		out_ch(&o, colors[level]);
		out_ch(&o, 'm');
	}
	out_ch(&o, '[');
	out_ch(&o, letters[level]);
	out_ch(&o, ' ');
	out_put(&o, stamp(t), 15);
	out_ch(&o, ' ');
	out_put(&o, module, mlen);
	out_ch(&o, ':');
	out_int(&o, line);
	out_ch(&o, ']');
	if (color)
		out_put(&o, "\033[0m", 4);
	out_ch(&o, ' ');
	out_msg(&o, msg);
	out_ch(&o, '\n');
	if (size > 0)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return o.pos;
}

size_t
whirl_log_format(char *buf, size_t size, enum whirl_log_level level,
    const char *module, int line, time_t t, bool color, const char *msg)
{
	return build_line(buf, size, level, module, strlen(module), line, t,
	    color, msg);
}

/*
 * Writing.
 */

/* All of it in one write when the kernel allows; a short write (a full
 * pipe) is finished rather than lost, an error drops the line. */
static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
emit(const struct dest *d, enum whirl_log_level level, const char *file,
    int line, const char *fmt, va_list ap)
{
	char msg_stack[2048], line_stack[4096], *msg = msg_stack;
	char *out = line_stack;
	const char *base, *dot;
	size_t need;
	time_t now;
	int saved = errno, n;
	va_list ap2;

	if (d->fd < 0)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(msg, sizeof(msg_stack), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg_stack)) {
		msg = whirl__xmalloc((size_t)n + 1);
		vsnprintf(msg, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	base = strrchr(file, '/');
	base = base != NULL ? base + 1 : file;
	dot = strrchr(base, '.');
	now = clock_fn != NULL ? clock_fn() : time(NULL);
	need = build_line(out, sizeof(line_stack), level, base,
	    dot != NULL ? (size_t)(dot - base) : strlen(base), line, now,
	    d->color, msg);
	if (need >= sizeof(line_stack)) {
		out = whirl__xmalloc(need + 1);
		build_line(out, need + 1, level, base, dot != NULL ?
		    (size_t)(dot - base) : strlen(base), line, now, d->color,
		    msg);
	}
	write_all(d->fd, out, need);
	if (msg != msg_stack)
		free(msg);
	if (out != line_stack)
		free(out);
	errno = saved;          /* logging never disturbs the caller's errno */
}

void
whirl_log_vat(enum whirl_log_level level, const char *file, int line,
    const char *fmt, va_list ap)
{
	if (whirl_log_enabled(level))
		emit(general_dest(), level, file, line, fmt, ap);
}

void
whirl_log_at(enum whirl_log_level level, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	whirl_log_vat(level, file, line, fmt, ap);
	va_end(ap);
}

void
whirl_log_access_at(enum whirl_log_level level, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (!whirl_log_access_enabled(level))
		return;
	va_start(ap, fmt);
	emit(access_log_dest(), level, file, line, fmt, ap);
	va_end(ap);
}

void
whirl_log_access_write(const char *line, size_t len)
{
	const struct dest *d = access_log_dest();
	int saved = errno;

	if (d->fd >= 0)
		write_all(d->fd, line, len);
	errno = saved;
}
