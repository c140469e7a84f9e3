/* escape.c - HTML, URL, JSON escaping and base64 (escape.h).
 *
 * Every escape writes through a sink: bytes gather in a small stack
 * buffer that is handed to the evbuffer when full (one evbuffer_add per
 * kilobyte, not per byte), or in a growing heap string for the
 * convenience forms.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "escape.h"
#include "internal.h"

struct sink {
	struct evbuffer *ev;    /* NULL: the bytes stay in p */
	char *p;
	size_t len, cap;
	bool failed;
	char stack[1024];
};

static void
sink_init_buf(struct sink *k, struct evbuffer *ev)
{
	k->ev = ev;
	k->p = k->stack;
	k->len = 0;
	k->cap = sizeof(k->stack);
	k->failed = false;
}

/* Most inputs need little escaping: start a little above their size. */
static void
sink_init_str(struct sink *k, size_t hint)
{
	k->ev = NULL;
	k->cap = hint + hint / 8 + 16;
	k->p = whirl__xmalloc(k->cap);
	k->len = 0;
	k->failed = false;
}

static void
sink_flush(struct sink *k)
{
	if (k->len > 0 && evbuffer_add(k->ev, k->p, k->len) == -1)
		k->failed = true;
	k->len = 0;
}

/* Make room for n more bytes.  For an evbuffer sink n is at most the
 * stack buffer's size (put sends longer runs directly). */
static void
sink_room(struct sink *k, size_t n)
{
	if (k->cap - k->len >= n)
		return;
	if (k->ev != NULL) {
		sink_flush(k);
		return;
	}
	while (k->cap - k->len < n)
		k->cap *= 2;
	k->p = whirl__xrealloc(k->p, k->cap);
}

static void
put(struct sink *k, const char *s, size_t n)
{
	/* A long run goes straight to the evbuffer, not through stack. */
	if (k->ev != NULL && n > k->cap) {
		sink_flush(k);
		if (evbuffer_add(k->ev, s, n) == -1)
			k->failed = true;
		return;
	}
	sink_room(k, n);
	memcpy(k->p + k->len, s, n);
	k->len += n;
}

static void
putch(struct sink *k, char c)
{
	sink_room(k, 1);
	k->p[k->len++] = c;
}

static int
sink_done_buf(struct sink *k)
{
	sink_flush(k);
	return k->failed ? -1 : 0;
}

static char *
sink_done_str(struct sink *k)
{
	putch(k, '\0');
	return k->p;
}

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/*
 * HTML.
 */

static const char *
html_entity(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\0': return "&#65533;";
	default: return NULL;
	}
}

static void
html(struct sink *k, const char *s, size_t len)
{
	size_t i, run = 0;
	const char *ent;

	for (i = 0; i < len; i++) {
		if ((ent = html_entity((unsigned char)s[i])) == NULL)
			continue;
		put(k, s + run, i - run);
		put(k, ent, strlen(ent));
		run = i + 1;
	}
	put(k, s + run, len - run);
}

int
whirl_html_escape_buf(struct evbuffer *out, const char *s, size_t len)
{
	struct sink k;

	sink_init_buf(&k, out);
	html(&k, s, len);
	return sink_done_buf(&k);
}

char *
whirl_html_escape(const char *s, size_t len)
{
	struct sink k;

	sink_init_str(&k, len);
	html(&k, s, len);
	return sink_done_str(&k);
}

/*
 * URL.
 */

static bool
unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static void
url(struct sink *k, const char *s, size_t len, int flags)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (unreserved(c) ||
		    (c == '/' && (flags & WHIRL_URL_KEEP_SLASH)))
			putch(k, (char)c);
		else if (c == ' ' && (flags & WHIRL_URL_PLUS))
			putch(k, '+');
		else {
			sink_room(k, 3);
			k->p[k->len++] = '%';
			k->p[k->len++] = hex_upper[c >> 4];
			k->p[k->len++] = hex_upper[c & 15];
		}
	}
}

int
whirl_url_escape_buf(struct evbuffer *out, const char *s, size_t len,
    int flags)
{
	struct sink k;

	sink_init_buf(&k, out);
	url(&k, s, len, flags);
	return sink_done_buf(&k);
}

char *
whirl_url_escape(const char *s, size_t len, int flags)
{
	struct sink k;

	sink_init_str(&k, len);
	url(&k, s, len, flags);
	return sink_done_str(&k);
}

/*
 * JSON.
 */

static bool
cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0:
 * shortest form only, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;               /* continuation, or overlong 2-byte */
	if (c < 0xE0)
		return n >= 2 && cont(s[1]) ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || !cont(s[1]) || !cont(s[2]) ||
		    (c == 0xE0 && s[1] < 0xA0) ||    /* overlong */
		    (c == 0xED && s[1] >= 0xA0))     /* surrogate */
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3]) ||
		    (c == 0xF0 && s[1] < 0x90) ||    /* overlong */
		    (c == 0xF4 && s[1] >= 0x90))     /* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

static void
json_control(struct sink *k, unsigned char c)
{
	static const char *const short_form[32] = {
		['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
		['\r'] = "\\r", ['\t'] = "\\t"
	};

	if (short_form[c] != NULL) {
		put(k, short_form[c], 2);
		return;
	}
	sink_room(k, 6);
	memcpy(k->p + k->len, "\\u00", 4);
	k->p[k->len + 4] = hex_lower[c >> 4];
	k->p[k->len + 5] = hex_lower[c & 15];
	k->len += 6;
}

static void
json(struct sink *k, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x20)
			json_control(k, s[i]);
		else if (s[i] == '"' || s[i] == '\\') {
			putch(k, '\\');
			putch(k, (char)s[i]);
		} else if (s[i] == '/' && i > 0 && s[i - 1] == '<')
			put(k, "\\/", 2);
		else if ((n = utf8_seq(s + i, len - i)) == 0)
			put(k, "\xEF\xBF\xBD", 3);
		else if (n == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
			put(k, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
			i += 3;
			continue;
		} else {
			put(k, str + i, n);
			i += n;
			continue;
		}
		i++;
	}
}

int
whirl_json_escape_buf(struct evbuffer *out, const char *s, size_t len)
{
	struct sink k;

	sink_init_buf(&k, out);
	json(&k, s, len);
	return sink_done_buf(&k);
}

char *
whirl_json_escape(const char *s, size_t len)
{
	struct sink k;

	sink_init_str(&k, len);
	json(&k, s, len);
	return sink_done_str(&k);
}

/*
 * base64.
 */

static void
base64(struct sink *k, const unsigned char *p, size_t len)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		q[0] = t[p[i] >> 2];
		q[1] = t[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = t[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = t[p[i + 2] & 63];
		put(k, q, 4);
	}
	if (i < len) {          /* one or two bytes left: pad to four */
		q[0] = t[p[i] >> 2];
		q[1] = t[(p[i] & 3) << 4 | (i + 1 < len ? p[i + 1] >> 4 : 0)];
		q[2] = i + 1 < len ? t[(p[i + 1] & 15) << 2] : '=';
		q[3] = '=';
		put(k, q, 4);
	}
}

int
whirl_base64_encode_buf(struct evbuffer *out, const void *p, size_t len)
{
	struct sink k;

	sink_init_buf(&k, out);
	base64(&k, p, len);
	return sink_done_buf(&k);
}

char *
whirl_base64_encode(const void *p, size_t len)
{
	struct sink k;

	sink_init_str(&k, len / 3 * 4 + 4);
	base64(&k, p, len);
	return sink_done_str(&k);
}

ssize_t
whirl_hex_decode(const char *s, void *out)
{
	unsigned char *o = out;
	ssize_t n = 0;
	int hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == ':')
			continue;
		if ((v = whirl__hex_digit((unsigned char)*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			o[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? n : -1;
}
