/* progress.c - wget's progress bars, one line per transfer (progress.h).
 *
 * The meter remembers how many live lines it drew; a redraw moves the
 * cursor up over them, writes the lines of bars that ended (once, for
 * good), then the live ones, each cleared to the end of the line, and
 * clears whatever is below.  Every line is kept narrower than the
 * terminal, so that none wraps and the count of lines stays true.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "progress.h"

#define SAMPLES  16             /* the rate is measured over these */
#define WINDOW   3.0            /* seconds of samples at most */
#define STATS    30             /* columns after the bar */

struct sample {
	double t;
	uint64_t bytes;
};

struct whirl_progress_bar {
	struct whirl_progress *p;
	struct whirl_progress_bar *next;
	char *name;
	uint64_t bytes;
	int64_t total;
	double start, end;
	bool ended, shown;
	struct sample s[SAMPLES];
	size_t ns, si;          /* samples held, the next slot */
};

struct whirl_progress {
	int fd, columns, rows;
	int drawn;              /* live lines on the screen */
	struct whirl_progress_bar *bars, **tail;
};

struct whirl_progress *
whirl_progress_new(int fd, int columns, int rows)
{
	struct whirl_progress *p = whirl__xcalloc(1, sizeof(*p));
	struct winsize ws;

	if ((columns <= 0 || rows <= 0) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
		if (columns <= 0)
			columns = ws.ws_col;
		if (rows <= 0)
			rows = ws.ws_row;
	}
	p->fd = fd;
	p->columns = columns > 0 ? columns : 80;
	p->rows = rows > 0 ? rows : 24;
	p->tail = &p->bars;
	return p;
}

static void
bar_free(struct whirl_progress_bar *b)
{
	free(b->name);
	free(b);
}

void
whirl_progress_free(struct whirl_progress *p)
{
	struct whirl_progress_bar *b, *next;

	if (p == NULL)
		return;
	for (b = p->bars; b != NULL; b = next) {
		next = b->next;
		bar_free(b);
	}
	free(p);
}

struct whirl_progress_bar *
whirl_progress_add(struct whirl_progress *p, const char *name, double now)
{
	struct whirl_progress_bar *b = whirl__xcalloc(1, sizeof(*b));

	b->p = p;
	b->name = whirl__xstrdup(name);
	b->total = -1;
	b->start = now;
	*p->tail = b;
	p->tail = &b->next;
	return b;
}

void
whirl_progress_set_total(struct whirl_progress_bar *b, int64_t total)
{
	b->total = total;
}

void
whirl_progress_update(struct whirl_progress_bar *b, uint64_t bytes)
{
	b->bytes = bytes;
}

void
whirl_progress_end(struct whirl_progress_bar *b, double now)
{
	b->ended = true;
	b->end = now;
}

/*
 * One line.
 */

/* 17, 12.34K, 123.45M: wget's sizes, in powers of 1024. */
static void
human_size(char *buf, size_t size, uint64_t n)
{
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f%c", v, units[u]);
}

/* 850KB/s, 1.20MB/s, 10.2MB/s; "--.-KB/s" when not known or
 * stalled. */
static void
human_rate(char *buf, size_t size, double rate)
{
	static const char *const units[] = { "B/s", "KB/s", "MB/s", "GB/s",
		"TB/s" };
	int u = 0;

	if (!(rate > 0)) {
		snprintf(buf, size, "--.-KB/s");
		return;
	}
	while (rate >= 1000 && u < 4) {
		rate /= 1024;
		u++;
	}
	snprintf(buf, size, rate < 10 ? "%.2f%s" : rate < 100 ? "%.1f%s" :
	    "%.0f%s", rate, units[u]);
}

/* 0.3s, 5s, 1m 5s, 2h 3m, 4d 5h. */
static void
human_time(char *buf, size_t size, double secs, bool fraction)
{
	unsigned long long s;

	if (fraction && secs < 10) {
		snprintf(buf, size, "%.1fs", secs);
		return;
	}
	s = (unsigned long long)(secs + 0.5);
	if (s < 60)
		snprintf(buf, size, "%llus", s);
	else if (s < 3600)
		snprintf(buf, size, "%llum %llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lluh %llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%llud %lluh", s / 86400, s % 86400 / 3600);
}

/* The bar's inside, width wide. */
static void
fill_bar(char *out, int width, const struct whirl_progress_state *st)
{
	int n, pos, span;

	memset(out, ' ', (size_t)width);
	if (st->total > 0 || st->done) {
		n = st->done || st->total <= 0 ? width :
		    (int)((double)st->bytes / (double)st->total * width);
		if (n > width)
			n = width;
		if (n > 0) {
			memset(out, '=', (size_t)n - 1);
			out[n - 1] = '>';
		}
		return;
	}
	/* Unknown size: wget's "<=>" running back and forth. */
	if (width < 3)
		return;
	span = width - 3;
	pos = span > 0 ? (int)(st->secs * 8) % (2 * span) : 0;
	if (pos > span)
		pos = 2 * span - pos;
	memcpy(out + pos, "<=>", 3);
}

size_t
whirl_progress_format(char *buf, size_t size, int width,
    const struct whirl_progress_state *st)
{
	char name[64], pct[8], sz[24], rate[24], when[32], bar[256];
	int namew, barw, len;
	size_t nlen = strlen(st->name);

	if (width < 20)
		width = 20;
	namew = width >= 80 ? 20 : width / 4;
	barw = width - namew - 4 - 2 - STATS;
	if (barw > (int)sizeof(bar))
		barw = sizeof(bar);
	/* A long name keeps its head and says it was cut. */
	if ((int)nlen >= namew)
		snprintf(name, sizeof(name), "%.*s...", namew > 4 ?
		    namew - 4 : 0, st->name);
	else
		snprintf(name, sizeof(name), "%s", st->name);
	if (st->total > 0)
		snprintf(pct, sizeof(pct), "%3d%%", (int)(st->bytes >=
		    (uint64_t)st->total ? 100 : st->bytes * 100 /
		    (uint64_t)st->total));
	else
		snprintf(pct, sizeof(pct), st->done ? "100%%" : "    ");
	human_size(sz, sizeof(sz), st->bytes);
	human_rate(rate, sizeof(rate), st->rate);
	if (st->done) {
		memcpy(when, "in ", 3);
		human_time(when + 3, sizeof(when) - 3, st->secs, true);
	} else if (st->total > 0 && st->rate > 0 &&
	    (uint64_t)st->total > st->bytes) {
		memcpy(when, "eta ", 4);
		human_time(when + 4, sizeof(when) - 4, (double)((uint64_t)
		    st->total - st->bytes) / st->rate, false);
	} else {
		when[0] = '\0';
	}
	if (barw >= 3) {
		fill_bar(bar, barw, st);
		len = snprintf(buf, size, "%-*s%s[%.*s] %7s %9s  %-10s",
		    namew, name, pct, barw, bar, sz, rate, when);
	} else {
		len = snprintf(buf, size, "%-*s%s %7s %9s  %-10s", namew,
		    name, pct, sz, rate, when);
	}
	if (len < 0)
		len = 0;
	if ((size_t)len >= size)
		len = size > 0 ? (int)size - 1 : 0;
	if (len > width)
		len = width;
	/* The padding that kept the columns still is not needed at the
	 * end: the line is cleared after it. */
	while (len > 0 && buf[len - 1] == ' ')
		len--;
	if (size > 0)
		buf[len] = '\0';
	return (size_t)len;
}

/*
 * The screen.
 */

/* The rate over the last few seconds of samples. */
static double
bar_rate(struct whirl_progress_bar *b, double now)
{
	struct sample *old = NULL;
	size_t i, k;

	if (b->ended)
		return b->end > b->start ? (double)b->bytes /
		    (b->end - b->start) : -1;
	b->s[b->si] = (struct sample){ now, b->bytes };
	b->si = (b->si + 1) % SAMPLES;
	if (b->ns < SAMPLES)
		b->ns++;
	/* The oldest sample still inside the window. */
	for (i = 0; i < b->ns; i++) {
		k = (b->si + SAMPLES - b->ns + i) % SAMPLES;
		if (now - b->s[k].t <= WINDOW) {
			old = &b->s[k];
			break;
		}
	}
	if (old == NULL || now - old->t < 0.2)
		return now - b->start >= 0.2 ? (double)b->bytes /
		    (now - b->start) : -1;
	return (double)(b->bytes - old->bytes) / (now - old->t);
}

struct out {
	char *s;
	size_t len, cap;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->s = whirl__xrealloc(o->s, o->cap);
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
}

static void
out_line(struct whirl_progress *p, struct out *o,
    struct whirl_progress_bar *b, double now)
{
	struct whirl_progress_state st;
	char line[512];
	size_t n;

	st.name = b->name;
	st.bytes = b->bytes;
	st.total = b->total;
	st.rate = bar_rate(b, now);
	st.secs = (b->ended ? b->end : now) - b->start;
	st.done = b->ended;
	n = whirl_progress_format(line, sizeof(line), p->columns - 1, &st);
	out_add(o, line, n);
	out_add(o, "\033[K\n", 4);
}

/* Write it all; a terminal that will not take it loses it. */
static void
out_flush(struct whirl_progress *p, struct out *o)
{
	const char *s = o->s;
	size_t n = o->len;
	ssize_t w;

	while (n > 0) {
		w = write(p->fd, s, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		s += w;
		n -= (size_t)w;
	}
	free(o->s);
}

static void
cursor_up(struct whirl_progress *p, struct out *o)
{
	char esc[32];

	if (p->drawn > 0)
		out_add(o, esc, (size_t)snprintf(esc, sizeof(esc), "\r\033[%dA",
		    p->drawn));
}

void
whirl_progress_draw(struct whirl_progress *p, double now)
{
	struct whirl_progress_bar *b, **bp;
	struct out o = { 0 };
	int lines = 0;

	cursor_up(p, &o);
	/* Bars that ended: a last line for those that were seen, then
	 * gone. */
	for (bp = &p->bars; (b = *bp) != NULL;) {
		if (!b->ended) {
			bp = &b->next;
			continue;
		}
		if (b->shown || b->end - b->start >= WHIRL_PROGRESS_DELAY)
			out_line(p, &o, b, now);
		*bp = b->next;
		bar_free(b);
	}
	p->tail = bp;
	for (b = p->bars; b != NULL && lines < p->rows - 1; b = b->next) {
		if (!b->shown && now - b->start < WHIRL_PROGRESS_DELAY)
			continue;
		b->shown = true;
		out_line(p, &o, b, now);
		lines++;
	}
	out_add(&o, "\033[J", 3);
	p->drawn = lines;
	if (o.len == 3 && lines == 0) {
		free(o.s);      /* nothing was and nothing is */
		return;
	}
	out_flush(p, &o);
}

void
whirl_progress_clear(struct whirl_progress *p)
{
	struct out o = { 0 };

	if (p->drawn == 0)
		return;
	cursor_up(p, &o);
	out_add(&o, "\033[J", 3);
	p->drawn = 0;
	out_flush(p, &o);
}
