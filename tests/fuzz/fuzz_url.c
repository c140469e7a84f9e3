/* fuzz_url.c - URL, query, form, cookie, date and escaping functions
 * (httputil.h, escape.h, httpclient.h's URL join and cookie jar).
 *
 * The first byte picks the function; the rest is its input, split at
 * '\n' where a function takes two strings (base and reference, URL and
 * Set-Cookie).  Besides ASan and UBSan, each mode checks a property that a
 * caller relies on:
 *   - escapes: the HTML escape leaves no markup character, the URL escape
 *     only unreserved bytes and %XX (and decodes back to the input), the
 *     JSON escape valid UTF-8 with no raw control character, "</" or
 *     U+2028; each evbuffer form equals the string form;
 *   - percent-decoding never grows, and a query built from escaped pairs
 *     parses back to the same pairs;
 *   - a date parsed formats and parses back to the same time;
 *   - a satisfiable range lies inside the representation;
 *   - a joined URL has no fragment;
 *   - a cookie jar written as a Netscape file reads back the same.
 */
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "escape.h"
#include "fuzz.h"
#include "httpclient.h"
#include "httputil.h"
#include "websocket.h"

enum {
	M_ESCAPE, M_DECODE, M_ARGS, M_DATE, M_RANGE, M_LISTS, M_JOIN,
	M_COOKIE, M_JAR, M_WSURL, M_HEADERS, M_COUNT
};

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static bool
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* The evbuffer form of an escape made the same bytes as the string. */
static void
same_as_buf(int (*fn)(struct evbuffer *, const char *, size_t),
    const char *s, size_t len, const char *want)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;

	FUZZ_CHECK(fn(b, s, len) == 0);
	n = evbuffer_get_length(b);
	FUZZ_CHECK(n == strlen(want));
	FUZZ_CHECK(n == 0 || memcmp(evbuffer_pullup(b, -1), want, n) == 0);
	evbuffer_free(b);
}

static int
url_plus_buf(struct evbuffer *b, const char *s, size_t len)
{
	return whirl_url_escape_buf(b, s, len, WHIRL_URL_PLUS);
}

static void
check_html(const char *s, size_t len)
{
	char *e = whirl_html_escape(s, len);
	const char *p;

	FUZZ_CHECK(strpbrk(e, "<>\"'") == NULL);
	for (p = strchr(e, '&'); p != NULL; p = strchr(p + 1, '&'))
		FUZZ_CHECK(strncmp(p, "&amp;", 5) == 0 ||
		    strncmp(p, "&lt;", 4) == 0 || strncmp(p, "&gt;", 4) == 0 ||
		    strncmp(p, "&quot;", 6) == 0 ||
		    strncmp(p, "&#39;", 5) == 0 ||
		    strncmp(p, "&#65533;", 8) == 0);
	same_as_buf(whirl_html_escape_buf, s, len, e);
	free(e);
}

static void
check_url(const char *s, size_t len, int flags)
{
	char *e = whirl_url_escape(s, len, flags), *d;
	size_t i, n = strlen(e);
	long dn;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e[i];

		if (c == '%') {
			FUZZ_CHECK(i + 2 < n);
			FUZZ_CHECK(is_hex((unsigned char)e[i + 1]) &&
			    is_hex((unsigned char)e[i + 2]));
			i += 2;
			continue;
		}
		FUZZ_CHECK(is_unreserved(c) ||
		    (c == '+' && (flags & WHIRL_URL_PLUS)) ||
		    (c == '/' && (flags & WHIRL_URL_KEEP_SLASH)));
	}
	d = malloc(n + 1);
	dn = whirl_percent_decode(e, n, d, (flags & WHIRL_URL_PLUS) != 0);
	FUZZ_CHECK(dn == (long)len && memcmp(d, s, len) == 0);
	if (flags == WHIRL_URL_PLUS)
		same_as_buf(url_plus_buf, s, len, e);
	free(d);
	free(e);
}

static void
check_json(const char *s, size_t len)
{
	char *e = whirl_json_escape(s, len);
	size_t i, n = strlen(e);

	FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)e, n));
	FUZZ_CHECK(strstr(e, "</") == NULL);
	FUZZ_CHECK(strstr(e, "\xE2\x80\xA8") == NULL &&
	    strstr(e, "\xE2\x80\xA9") == NULL);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK((unsigned char)e[i] >= 0x20);
		if (e[i] == '"')
			FUZZ_CHECK(i > 0 && e[i - 1] == '\\');
		if (e[i] != '\\')
			continue;
		FUZZ_CHECK(i + 1 < n && strchr("\"\\/bfnrtu", e[i + 1]));
		if (e[i + 1] == 'u')
			FUZZ_CHECK(i + 5 < n);
		i++;
	}
	same_as_buf(whirl_json_escape_buf, s, len, e);
	free(e);
}

static void
check_decode(const char *s, size_t len, bool plus)
{
	char *out = malloc(len + 1);
	long n = whirl_percent_decode(s, len, out, plus);

	FUZZ_CHECK(n >= -1 && n <= (long)len);
	if (n >= 0)
		FUZZ_CHECK(out[n] == '\0');
	free(out);
}

/* Parse the input as a query; then build a query from the pairs found,
 * escaped, and check it parses to the same pairs. */
static void
check_args(const char *s, size_t len)
{
	struct whirl_args *a = whirl_args_new(), *b = whirl_args_new();
	struct evbuffer *q = evbuffer_new();
	const char *n1, *v1, *n2, *v2;
	size_t i, added = whirl_args_parse(a, s, len);

	FUZZ_CHECK(added == whirl_args_count(a));
	for (i = 0; whirl_args_at(a, i, &n1, &v1); i++) {
		if (i > 0)
			evbuffer_add(q, "&", 1);
		whirl_url_escape_buf(q, n1, strlen(n1), WHIRL_URL_PLUS);
		evbuffer_add(q, "=", 1);
		whirl_url_escape_buf(q, v1, strlen(v1), WHIRL_URL_PLUS);
	}
	/* An empty name makes "=v", which parses as such: same pairs. */
	if (evbuffer_get_length(q) > 0)
		whirl_args_parse(b, (const char *)evbuffer_pullup(q, -1),
		    evbuffer_get_length(q));
	FUZZ_CHECK(whirl_args_count(b) == added);
	for (i = 0; whirl_args_at(a, i, &n1, &v1); i++) {
		FUZZ_CHECK(whirl_args_at(b, i, &n2, &v2));
		FUZZ_CHECK(strcmp(n1, n2) == 0 && strcmp(v1, v2) == 0);
	}
	if (added > 0) {
		whirl_args_at(a, 0, &n1, &v1);
		FUZZ_CHECK(whirl_args_get(a, n1) == v1);
	}
	whirl_args_clear(a);
	FUZZ_CHECK(whirl_args_count(a) == 0);
	evbuffer_free(q);
	whirl_args_free(a);
	whirl_args_free(b);
}

static void
check_date(const char *s, struct fuzz_in *in)
{
	time_t t, t2;
	char buf[32];
	int64_t raw = 0;
	size_t i;

	if (whirl_http_date_parse(s, &t) == 0 && t >= 0 &&
	    t < 253402300800LL) {
		whirl_http_date(t, buf);
		FUZZ_CHECK(whirl_http_date_parse(buf, &t2) == 0 && t2 == t);
	}
	/* Any time formats as a date that parses (clamped to 1970-9999). */
	for (i = 0; i < 8 && i < in->n; i++)
		raw = (int64_t)((uint64_t)raw << 8 | in->p[i]);
	whirl_http_date((time_t)raw, buf);
	FUZZ_CHECK(strlen(buf) == 29);
	FUZZ_CHECK(whirl_http_date_parse(buf, &t2) == 0);
	if (raw >= 0 && raw < 253402300800LL)
		FUZZ_CHECK(t2 == (time_t)raw);
}

static void
check_range(const char *s, struct fuzz_in *in)
{
	uint64_t size = 0, start = 0, len = 0;
	size_t i;
	int r;

	for (i = 0; i < 3 && i < in->n; i++)
		size = size << 8 | in->p[i];
	if (in->n > 3 && (in->p[3] & 1))
		size = UINT64_MAX - size;
	r = whirl_http_range_parse(s, size, &start, &len);
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r == 1)
		FUZZ_CHECK(len > 0 && start < size && len <= size - start);
}

/* [W/]"etagc*" with etagc any visible byte but '"' (RFC 9110). */
static bool
is_etag(const char *s)
{
	size_t n;

	if (s[0] == 'W' && s[1] == '/')
		s += 2;
	n = strlen(s);
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (s++, n -= 2; n > 0; s++, n--)
		if ((unsigned char)*s <= 0x20 || *s == '"' || *s == 0x7f)
			return false;
	return true;
}

/* Token lists, entity tags, media types: two strings. */
static void
check_lists(struct fuzz_in *in)
{
	char *a = fuzz_strdup(fuzz_piece(in, '\n'));
	char *b = fuzz_strdup(*in);
	struct whirl_headers *h = whirl_headers_new();

	whirl_etag_match(a, b);
	FUZZ_CHECK(whirl_etag_match("*", b));
	/* A well-formed tag matches itself, weakly too. */
	if (is_etag(b)) {
		FUZZ_CHECK(whirl_etag_match(b, b));
		FUZZ_CHECK(whirl_etag_match(b[0] == 'W' ? b + 2 : b, b));
	}
	whirl_media_type_is(a, b);
	if (whirl_headers_add(h, "Connection", a) == 0)
		whirl_headers_has_token(h, "connection", b);
	whirl_headers_free(h);
	free(a);
	free(b);
}

static void
check_join(struct fuzz_in *in)
{
	char *base = fuzz_strdup(fuzz_piece(in, '\n'));
	char *ref = fuzz_strdup(*in);
	char *j = whirl_url_join(base, ref), *j2;

	if (j != NULL) {
		FUZZ_CHECK(strchr(j, '#') == NULL);
		j2 = whirl_url_join(j, ref);
		free(j2);
		/* Without a scheme of its own, the reference keeps the
		 * base's scheme and authority: the result is absolute. */
		if (ref[strcspn(ref, ":/?#")] != ':') {
			j2 = whirl_url_join(j, "");
			FUZZ_CHECK(j2 != NULL);
			free(j2);
		}
	}
	free(j);
	free(base);
	free(ref);
}

/* Set-Cookie lines for a URL; then the jar's file must read back into
 * the same file. */
static void
check_cookies(struct fuzz_in *in)
{
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new(), *back;
	char *url = fuzz_strdup(fuzz_piece(in, '\n')), *line, *h, *f1, *f2;

	while (in->n > 0) {
		line = fuzz_strdup(fuzz_piece(in, '\n'));
		whirl_cookie_jar_set(jar, url, line);
		free(line);
	}
	h = whirl_cookie_jar_header(jar, url);
	if (h != NULL)
		FUZZ_CHECK(strpbrk(h, "\r\n") == NULL);
	free(h);
	f1 = whirl_cookie_jar_format(jar);
	back = whirl_cookie_jar_new();
	whirl_cookie_jar_parse(back, f1, strlen(f1));
	f2 = whirl_cookie_jar_format(back);
	if (strcmp(f1, f2) != 0)
		fprintf(stderr, "--- written\n%s--- read back\n%s", f1, f2);
	FUZZ_CHECK(strcmp(f1, f2) == 0);
	free(f1);
	free(f2);
	whirl_cookie_jar_free(back);
	whirl_cookie_jar_free(jar);
	free(url);
}

/* A Netscape file as read from disk, then asked for a URL. */
static void
check_jar(struct fuzz_in *in)
{
	struct whirl_cookie_jar *jar = whirl_cookie_jar_new();
	char *url = fuzz_strdup(fuzz_piece(in, '\n')), *h, *f;

	whirl_cookie_jar_parse(jar, (const char *)in->p, in->n);
	h = whirl_cookie_jar_header(jar, url);
	free(h);
	f = whirl_cookie_jar_format(jar);
	free(f);
	whirl_cookie_jar_free(jar);
	free(url);
}

static void
check_wsurl(const char *s)
{
	char host[256], target[1024], out[256];
	struct whirl_ws_deflate d;
	bool tls;
	int port;

	if (whirl_ws_parse_url(s, &tls, host, sizeof(host), &port, target,
	    sizeof(target)))
		FUZZ_CHECK(port > 0 && port < 65536 && target[0] == '/');
	memset(&d, 0, sizeof(d));
	if (whirl_ws_deflate_accept(s, &d, out, sizeof(out)))
		FUZZ_CHECK(d.enabled && strpbrk(out, "\r\n") == NULL);
	memset(&d, 0, sizeof(d));
	whirl_ws_deflate_answer(s, &d);
	whirl_ws_key_valid(s);
}

/* Header lists: every field added is a valid one, and lookups agree. */
static void
check_headers(struct fuzz_in *in)
{
	struct whirl_headers *h = whirl_headers_new();
	struct fuzz_in name, value;
	const char *n, *v;
	size_t nlen, vlen, i, count = 0;

	while (in->n > 0) {
		name = fuzz_piece(in, ':');
		value = fuzz_piece(in, '\n');
		if (whirl_headers_addn(h, (const char *)name.p, name.n,
		    (const char *)value.p, value.n) == 0)
			count++;
		if (name.n > 0 && name.p[0] == 'R') {
			char *s = fuzz_strdup(name);

			count -= whirl_headers_remove(h, s);
			free(s);
		}
	}
	FUZZ_CHECK(whirl_headers_count(h) == count);
	for (i = 0; whirl_headers_atn(h, i, &n, &nlen, &v, &vlen); i++) {
		FUZZ_CHECK(whirl_http_is_token(n, nlen));
		FUZZ_CHECK(strlen(v) == vlen && strpbrk(v, "\r\n") == NULL);
		FUZZ_CHECK(whirl_headers_get(h, n) != NULL);
	}
	whirl_headers_clear(h);
	FUZZ_CHECK(whirl_headers_count(h) == 0);
	whirl_headers_free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int mode = fuzz_byte(&in) % M_COUNT;
	const char *raw = (const char *)in.p;
	char *s;

	switch (mode) {
	case M_ESCAPE:
		check_html(raw, in.n);
		check_url(raw, in.n, 0);
		check_url(raw, in.n, WHIRL_URL_PLUS);
		check_url(raw, in.n, WHIRL_URL_KEEP_SLASH);
		check_json(raw, in.n);
		break;
	case M_DECODE:
		check_decode(raw, in.n, false);
		check_decode(raw, in.n, true);
		break;
	case M_ARGS:
		check_args(raw, in.n);
		break;
	case M_DATE:
		s = fuzz_strdup(fuzz_piece(&in, '\n'));
		check_date(s, &in);
		free(s);
		break;
	case M_RANGE:
		s = fuzz_strdup(fuzz_piece(&in, '\n'));
		check_range(s, &in);
		free(s);
		break;
	case M_LISTS:
		check_lists(&in);
		break;
	case M_JOIN:
		check_join(&in);
		break;
	case M_COOKIE:
		check_cookies(&in);
		break;
	case M_JAR:
		check_jar(&in);
		break;
	case M_WSURL:
		s = fuzz_strdup(in);
		check_wsurl(s);
		free(s);
		break;
	case M_HEADERS:
		check_headers(&in);
		break;
	}
	return 0;
}
