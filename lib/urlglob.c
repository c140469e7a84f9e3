/* urlglob.c - curl's URL globbing (urlglob.h).
 *
 * The pattern becomes a list of pieces: literal text, sets and ranges.
 * Each non-literal piece counts its values and keeps the index of its
 * current one; whirl_urlglob_next turns the indexes as an odometer turns
 * and writes the URL from the pieces.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal.h"
#include "urlglob.h"

enum kind { K_TEXT, K_SET, K_NUM, K_ALPHA };

struct piece {
	enum kind kind;
	char *text;             /* K_TEXT */
	char **elems;           /* K_SET */
	uint64_t min, step;     /* K_NUM, K_ALPHA: value i is min + i*step */
	int width;              /* K_NUM: zero-padded to this many digits */
	uint64_t count;         /* values (1 for text) */
	uint64_t cur;           /* the current value's index */
};

struct whirl_urlglob {
	struct piece *p;
	size_t n;
	uint64_t count;
	bool started, done;
};

/* A growing string. */
struct buf {
	char *s;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = whirl__xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static char *
buf_take(struct buf *b)
{
	char *s = b->s != NULL ? b->s : whirl__xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

static struct piece *
add_piece(struct whirl_urlglob *g, enum kind kind)
{
	struct piece *pc;

	g->p = whirl__xrealloc(g->p, (g->n + 1) * sizeof(*g->p));
	pc = &g->p[g->n++];
	memset(pc, 0, sizeof(*pc));
	pc->kind = kind;
	pc->count = 1;
	return pc;
}

/* "[...]" that holds an IPv6 address (and "[]") is a literal, not a
 * range: only hex digits, colons and dots, at least two colons, and an
 * optional "%zone". */
static size_t
ipv6_literal(const char *s)
{
	const char *end = strchr(s, ']'), *p;
	int colons = 0;

	if (end == NULL)
		return 0;
	if (end == s + 1)
		return 2;
	for (p = s + 1; p < end && *p != '%'; p++) {
		if (*p == ':')
			colons++;
		else if (!isxdigit((unsigned char)*p) && *p != '.')
			return 0;
	}
	for (; p < end; p++)
		if (!isalnum((unsigned char)*p) && strchr("%._~-", *p) == NULL)
			return 0;
	return colons >= 2 ? (size_t)(end - s + 1) : 0;
}

/* The set after '{' at *sp; *sp ends after its '}'.  -1 with the error
 * column in *col. */
static int
parse_set(struct whirl_urlglob *g, const char *pattern, const char **sp,
    size_t *col)
{
	const char *s = *sp, *open = s - 1;
	struct piece *pc = add_piece(g, K_SET);
	struct buf b = { 0 };

	pc->count = 0;
	for (;; s++) {
		switch (*s) {
		case '\0':
			*col = (size_t)(open - pattern) + 1;
			whirl__seterr(0, "unmatched brace");
			goto fail;
		case '{':
		case '[':
			*col = (size_t)(s - pattern) + 1;
			whirl__seterr(0, "nested brace");
			goto fail;
		case ']':
			*col = (size_t)(s - pattern) + 1;
			whirl__seterr(0, "unexpected close bracket");
			goto fail;
		case '}':
			if (s == open + 1) {
				*col = (size_t)(s - pattern) + 1;
				whirl__seterr(0, "empty string within braces");
				goto fail;
			}
			/* FALLTHROUGH */
		case ',':
			pc->elems = whirl__xrealloc(pc->elems,
			    (pc->count + 1) * sizeof(*pc->elems));
			pc->elems[pc->count++] = buf_take(&b);
			if (*s == '}') {
				*sp = s + 1;
				return 0;
			}
			break;
		case '\\':
			if (s[1] != '\0')
				s++;
			/* FALLTHROUGH */
		default:
			buf_add(&b, s, 1);
			break;
		}
	}
fail:
	free(b.s);
	return -1;
}

/* A decimal number at *sp, into *v; false if none or too big. */
static bool
number(const char **sp, uint64_t *v, int *digits)
{
	const char *s = *sp;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	if (digits != NULL)
		*digits = (int)(end - s);
	*sp = end;
	return true;
}

/* A range after '[' at *sp: "a-z]", "1-10]", "001-100]", each with an
 * optional ":step".  Ends after the ']'. */
static int
parse_range(struct whirl_urlglob *g, const char *pattern, const char **sp,
    size_t *col)
{
	const char *s = *sp;
	struct piece *pc;
	uint64_t lo, hi, step = 1;
	int digits = 0;
	bool alpha = isalpha((unsigned char)*s);

	if (alpha) {
		/* Letters of one case: 'Y'-'e' would run through [ \ ] ^ _
		 * and `, which curl lets by. */
		lo = (unsigned char)*s++;
		if (*s != '-')
			goto bad;
		s++;
		if (!isalpha((unsigned char)*s) ||
		    !isupper((int)lo) != !isupper((unsigned char)*s))
			goto bad;
		hi = (unsigned char)*s++;
	} else if (isdigit((unsigned char)*s)) {
		if (!number(&s, &lo, &digits) || *s != '-')
			goto bad;
		s++;
		if (!number(&s, &hi, NULL))
			goto bad;
	} else {
		*col = (size_t)(s - pattern) + 1;
		whirl__seterr(0, "bad range specification");
		return -1;
	}
	if (*s == ':' && (s++, !number(&s, &step, NULL)))
		goto bad;
	if (*s != ']' || step == 0 || lo > hi || (lo == hi && step != 1) ||
	    (lo < hi && step > hi - lo))
		goto bad;
	if ((hi - lo) / step == UINT64_MAX) {
		*col = (size_t)(s - pattern) + 1;
		whirl__seterr(0, "too many URLs");
		return -1;
	}
	pc = add_piece(g, alpha ? K_ALPHA : K_NUM);
	pc->min = lo;
	pc->step = step;
	pc->count = (hi - lo) / step + 1;
	pc->width = !alpha && s > *sp && **sp == '0' ? digits : 0;
	*sp = s + 1;
	return 0;
bad:
	*col = (size_t)(s - pattern) + 1;
	whirl__seterr(0, "bad range");
	return -1;
}

static void
add_text(struct whirl_urlglob *g, struct buf *b)
{
	if (b->len > 0)
		add_piece(g, K_TEXT)->text = buf_take(b);
}

static int
parse(struct whirl_urlglob *g, const char *pattern, size_t *col)
{
	const char *s = pattern;
	struct buf b = { 0 };
	size_t skip;

	while (*s != '\0') {
		if (*s == '[' && (skip = ipv6_literal(s)) > 0) {
			buf_add(&b, s, skip);
			s += skip;
		} else if (*s == '{' || *s == '[') {
			add_text(g, &b);
			s++;
			if ((s[-1] == '{' ? parse_set(g, pattern, &s, col) :
			    parse_range(g, pattern, &s, col)) == -1)
				return -1;
		} else if (*s == '}' || *s == ']') {
			free(b.s);
			*col = (size_t)(s - pattern) + 1;
			whirl__seterr(0, "unmatched close brace/bracket");
			return -1;
		} else {
			if (*s == '\\' && s[1] != '\0' &&
			    strchr("{}[]", s[1]) != NULL)
				s++;
			buf_add(&b, s++, 1);
		}
	}
	add_text(g, &b);
	return 0;
}

struct whirl_urlglob *
whirl_urlglob_new(const char *pattern, size_t *errpos)
{
	struct whirl_urlglob *g = whirl__xcalloc(1, sizeof(*g));
	size_t i, col = 0;

	if (parse(g, pattern, &col) == -1)
		goto fail;
	g->count = 1;
	for (i = 0; i < g->n; i++) {
		if (g->p[i].count > UINT64_MAX / g->count) {
			whirl__seterr(0, "too many URLs");
			col = 0;
			goto fail;
		}
		g->count *= g->p[i].count;
	}
	return g;
fail:
	if (errpos != NULL)
		*errpos = col;
	whirl_urlglob_free(g);
	return NULL;
}

void
whirl_urlglob_free(struct whirl_urlglob *g)
{
	size_t i;
	uint64_t j;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		free(g->p[i].text);
		if (g->p[i].kind == K_SET)
			for (j = 0; j < g->p[i].count; j++)
				free(g->p[i].elems[j]);
		free(g->p[i].elems);
	}
	free(g->p);
	free(g);
}

uint64_t
whirl_urlglob_count(const struct whirl_urlglob *g)
{
	return g->count;
}

/* The current value of a piece. */
static void
value(const struct piece *pc, struct buf *b)
{
	char tmp[32];
	uint64_t v = pc->min + pc->cur * pc->step;
	int n;

	switch (pc->kind) {
	case K_TEXT:
		buf_add(b, pc->text, strlen(pc->text));
		break;
	case K_SET:
		buf_add(b, pc->elems[pc->cur], strlen(pc->elems[pc->cur]));
		break;
	case K_NUM:
		/* The width is the first number's, however long. */
		n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
		for (; n < pc->width; n++)
			buf_add(b, "0", 1);
		buf_add(b, tmp, strlen(tmp));
		break;
	case K_ALPHA:
		tmp[0] = (char)v;
		buf_add(b, tmp, 1);
		break;
	}
}

char *
whirl_urlglob_next(struct whirl_urlglob *g)
{
	struct buf b = { 0 };
	size_t i;

	if (g->done)
		return NULL;
	if (g->started) {
		/* The odometer: the last piece turns fastest. */
		for (i = g->n; i > 0; i--) {
			if (++g->p[i - 1].cur < g->p[i - 1].count)
				break;
			g->p[i - 1].cur = 0;
		}
		if (i == 0) {
			g->done = true;
			return NULL;
		}
	}
	g->started = true;
	for (i = 0; i < g->n; i++)
		value(&g->p[i], &b);
	return buf_take(&b);
}

char *
whirl_urlglob_name(const struct whirl_urlglob *g, const char *tmpl)
{
	struct buf b = { 0 };
	const char *s = tmpl, *digits;
	unsigned long want;
	size_t i, nth;
	char *end;

	buf_add(&b, "", 0);
	while (*s != '\0') {
		if (*s != '#' || !isdigit((unsigned char)s[1])) {
			buf_add(&b, s++, 1);
			continue;
		}
		digits = s + 1;
		errno = 0;
		want = strtoul(digits, &end, 10);
		for (i = 0, nth = 0; i < g->n && errno == 0 && want > 0; i++)
			if (g->p[i].kind != K_TEXT && ++nth == want)
				break;
		if (g->started && errno == 0 && want > 0 && i < g->n)
			value(&g->p[i], &b);
		else
			buf_add(&b, s, (size_t)(end - s));
		s = end;
	}
	return buf_take(&b);
}
