/* pretty.c - indented, coloured JSON and coloured HTTP heads (pretty.h).
 *
 * The JSON printer is a recursive-descent validator that writes as it
 * goes, into a scratch evbuffer that is moved to the caller's only when
 * the whole text turned out to be JSON.  Tokens are copied byte for byte;
 * the printer decides only the white space and the colours.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "error.h"
#include "internal.h"
#include "pretty.h"

#define MAX_DEPTH 512
#define INDENT    4

/* HTTPie's palette in the 8 ANSI colours. */
#define C_KEY     "\033[34m"
#define C_STRING  "\033[33m"
#define C_NUMBER  "\033[36m"
#define C_LITERAL "\033[35m"
#define C_RESET   "\033[0m"

struct pp {
	const char *p, *end, *start;
	struct evbuffer *out;
	bool color;
	int depth;
};

static void
put(struct pp *x, const char *s, size_t n)
{
	evbuffer_add(x->out, s, n);
}

static void
put_str(struct pp *x, const char *s)
{
	put(x, s, strlen(s));
}

static void
newline(struct pp *x, int level)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)level * INDENT;

	put(x, "\n", 1);
	for (; n > 0; n -= n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1)
		put(x, spaces, n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1);
}

static void
skip_ws(struct pp *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' ||
	    *x->p == '\n' || *x->p == '\r'))
		x->p++;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Copy a token that starts at from and ends at x->p, in colour. */
static void
token(struct pp *x, const char *from, const char *color)
{
	if (x->color)
		put_str(x, color);
	put(x, from, (size_t)(x->p - from));
	if (x->color)
		put_str(x, C_RESET);
}

/* A string at x->p (its quote), copied as it is: JSON's escapes, no raw
 * control characters.  The bytes themselves need not be UTF-8: a
 * terminal shows what it can. */
static bool
string(struct pp *x, const char *color)
{
	const char *from = x->p;
	int i;

	for (x->p++; x->p < x->end; x->p++) {
		if (*x->p == '"') {
			x->p++;
			token(x, from, color);
			return true;
		}
		if ((unsigned char)*x->p < 0x20)
			return false;
		if (*x->p != '\\')
			continue;
		if (++x->p == x->end)
			return false;
		if (*x->p == 'u') {
			for (i = 0; i < 4; i++)
				if (++x->p == x->end || !is_hex(*x->p))
					return false;
		} else if (strchr("\"\\/bfnrt", *x->p) == NULL || *x->p == 0) {
			return false;
		}
	}
	return false;
}

static bool
digits(struct pp *x)
{
	const char *from = x->p;

	while (x->p < x->end && *x->p >= '0' && *x->p <= '9')
		x->p++;
	return x->p > from;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
number(struct pp *x)
{
	const char *from = x->p;

	if (*x->p == '-')
		x->p++;
	if (x->p < x->end && *x->p == '0')
		x->p++;
	else if (!digits(x))
		return false;
	if (x->p < x->end && *x->p == '.' && (x->p++, !digits(x)))
		return false;
	if (x->p < x->end && (*x->p == 'e' || *x->p == 'E')) {
		x->p++;
		if (x->p < x->end && (*x->p == '+' || *x->p == '-'))
			x->p++;
		if (!digits(x))
			return false;
	}
	token(x, from, C_NUMBER);
	return true;
}

static bool
literal(struct pp *x, const char *word)
{
	const char *from = x->p;
	size_t n = strlen(word);

	if ((size_t)(x->end - x->p) < n || memcmp(x->p, word, n) != 0)
		return false;
	x->p += n;
	token(x, from, C_LITERAL);
	return true;
}

static bool value(struct pp *x, int level);

/* An object or an array at x->p: its members or elements one per line. */
static bool
container(struct pp *x, int level)
{
	char close = *x->p == '{' ? '}' : ']';
	bool object = close == '}';
	int n = 0;

	if (++x->depth > MAX_DEPTH)
		return false;
	put(x, x->p++, 1);
	skip_ws(x);
	if (x->p < x->end && *x->p == close) {
		put(x, x->p++, 1);
		x->depth--;
		return true;
	}
	for (;; n++) {
		newline(x, level + 1);
		if (object) {
			if (x->p == x->end || *x->p != '"' ||
			    !string(x, C_KEY))
				return false;
			skip_ws(x);
			if (x->p == x->end || *x->p++ != ':')
				return false;
			put(x, ": ", 2);
			skip_ws(x);
		}
		if (!value(x, level + 1))
			return false;
		skip_ws(x);
		if (x->p == x->end)
			return false;
		if (*x->p == close)
			break;
		if (*x->p++ != ',')
			return false;
		put(x, ",", 1);
		skip_ws(x);
	}
	x->p++;
	newline(x, level);
	put(x, &close, 1);
	x->depth--;
	return true;
}

static bool
value(struct pp *x, int level)
{
	if (x->p == x->end)
		return false;
	switch (*x->p) {
	case '{':
	case '[':
		return container(x, level);
	case '"':
		return string(x, C_STRING);
	case 't':
		return literal(x, "true");
	case 'f':
		return literal(x, "false");
	case 'n':
		return literal(x, "null");
	default:
		return number(x);
	}
}

int
whirl_json_pretty(struct evbuffer *out, const char *s, size_t len, int flags)
{
	struct pp x = { s, s + len, s, evbuffer_new(), false, 0 };
	bool ok;

	if (x.out == NULL)
		abort();        /* out of memory, as whirl__xmalloc */
	x.color = flags & WHIRL_PRETTY_COLOR;
	skip_ws(&x);
	ok = value(&x, 0);
	if (ok) {
		skip_ws(&x);
		ok = x.p == x.end;
	}
	if (ok) {
		put(&x, "\n", 1);
		ok = evbuffer_add_buffer(out, x.out) == 0;
	} else {
		whirl__seterr(0, "not JSON at byte %zu",
		    (size_t)(x.p - x.start));
	}
	evbuffer_free(x.out);
	return ok ? 0 : -1;
}

/*
 * Heads.
 */

static const char *
status_color(char digit)
{
	switch (digit) {
	case '2':
		return "\033[32m";
	case '3':
		return "\033[33m";
	case '4':
	case '5':
		return "\033[31m";
	default:
		return "\033[36m";
	}
}

int
whirl_http_head_pretty(struct evbuffer *out, const char *head, size_t len,
    int flags)
{
	const char *p = head, *end = head + len, *eol, *colon, *sp;
	bool color = flags & WHIRL_PRETTY_COLOR, first = true;
	size_t n;
	int rc = 0;

	for (; p < end; p = eol + 1, first = false) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (!color || n == 0) {
			rc |= evbuffer_add(out, p, n);
		} else if (first && (sp = memchr(p, ' ', n)) != NULL) {
			/* HTTP/1.1 200 OK: the version, then the status. */
			rc |= evbuffer_add_printf(out, "\033[34m%.*s" C_RESET
			    " \033[1m%s%.*s" C_RESET, (int)(sp - p), p,
			    status_color(sp + 1 < p + n ? sp[1] : '0'),
			    (int)(p + n - sp - 1),
			    sp + 1) < 0;
		} else if ((colon = memchr(p, ':', n)) != NULL) {
			rc |= evbuffer_add_printf(out, "\033[36m%.*s" C_RESET
			    "%.*s", (int)(colon - p), p, (int)(p + n - colon),
			    colon) < 0;
		} else {
			rc |= evbuffer_add(out, p, n);
		}
		if (eol < end)
			rc |= evbuffer_add(out, "\n", 1);
	}
	return rc != 0 ? -1 : 0;
}
