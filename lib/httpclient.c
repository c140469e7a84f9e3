/* httpclient.c - HTTP/1.1 requests on the loop: URLs, cookies, a pool of
 * keep-alive connections, redirects and decoding around the http1 codec.
 *
 * A fetch runs hop by hop (one hop per redirect): begin_hop parses the
 * URL and asks the pool for a connection; a new one is resolved,
 * connected, tunnelled and put under TLS (conn_open ... conn_ready);
 * send_request writes the head and pumps the body; the codec's delegate
 * (d_headers, d_body, d_finish, d_error, d_eof) reads the answer; at the
 * end the connection goes back to the pool or closes, and the fetch
 * either starts its next hop or completes.  Every way out of a fetch goes
 * through finish_fetch, so done fires once.
 *
 * Invariants:
 *   - a conn belongs to one pool; it is counted in pool->nconns from the
 *     moment it starts connecting until it is closed, and is either
 *     attached to one fetch (conn->f) or idle in pool->idle;
 *   - the user's head and body callbacks run only from the codec's body
 *     and finish callbacks (never from headers, where freeing the codec
 *     is forbidden), so they may cancel the fetch;
 *   - a fetch's callbacks never run from inside whirl_httpclient_fetch.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "error.h"
#include "form.h"
#include "http1.h"
#include "httpclient.h"
#include "httputil.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "netutil.h"
#include "tcpserver.h"
#include "tls.h"

#ifndef WHIRL_VERSION
#define WHIRL_VERSION "0"
#endif

#define DEFAULT_PER_HOST   8
#define DEFAULT_MAX_IDLE   64
#define DEFAULT_IDLE_MS    60000
#define DEFAULT_MAX_BODY   (100 * 1024 * 1024)
#define PUMP_CHUNK         (64 * 1024)
#define PUMP_HIGH          (256 * 1024)   /* queued body that pauses reading */
#define TUNNEL_MAX_HEAD    (64 * 1024)
#define INFLATE_CHUNK      (64 * 1024)

/*
 * Strings.
 */

struct str {
	char *p;
	size_t len, cap;
};

static void
str_add(struct str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		if (s->cap < 64)
			s->cap = 64;
		s->p = whirl__xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
str_adds(struct str *s, const char *p)
{
	str_add(s, p, strlen(p));
}

static void __attribute__((format(printf, 2, 3)))
str_addf(struct str *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf)) {
		str_add(s, buf, (size_t)n);
		return;
	}
	str_add(s, "", 0);
	s->cap = s->len + (size_t)n + 1;
	s->p = whirl__xrealloc(s->p, s->cap);
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

/* The string built so far, never NULL; the caller owns it. */
static char *
str_take(struct str *s)
{
	char *p = s->p != NULL ? s->p : whirl__xstrdup("");

	s->p = NULL;
	s->len = s->cap = 0;
	return p;
}

static char *
xstrndup(const char *p, size_t n)
{
	char *s = whirl__xmalloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * URLs: RFC 3986's five parts, then http(s) URLs in pieces.
 */

enum { P_SCHEME, P_AUTH, P_PATH, P_QUERY, P_FRAG, P_COUNT };

struct parts {
	const char *s[P_COUNT];
	size_t n[P_COUNT];
	bool has[P_COUNT];
};

/* Appendix B's regular expression, by hand; a scheme must be a scheme
 * (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). */
static void
split_uri(const char *u, struct parts *p)
{
	size_t i = 0, j;

	memset(p, 0, sizeof(*p));
	j = strcspn(u, ":/?#");
	if (u[j] == ':' && j > 0 && isalpha((unsigned char)u[0])) {
		for (i = 1; i < j; i++)
			if (!isalnum((unsigned char)u[i]) && u[i] != '+' &&
			    u[i] != '-' && u[i] != '.')
				break;
		if (i == j) {
			p->has[P_SCHEME] = true;
			p->s[P_SCHEME] = u;
			p->n[P_SCHEME] = j;
			u += j + 1;
		}
	}
	if (u[0] == '/' && u[1] == '/') {
		u += 2;
		p->has[P_AUTH] = true;
		p->s[P_AUTH] = u;
		p->n[P_AUTH] = strcspn(u, "/?#");
		u += p->n[P_AUTH];
	}
	p->s[P_PATH] = u;
	p->n[P_PATH] = strcspn(u, "?#");
	p->has[P_PATH] = true;
	u += p->n[P_PATH];
	if (*u == '?') {
		u++;
		p->has[P_QUERY] = true;
		p->s[P_QUERY] = u;
		p->n[P_QUERY] = strcspn(u, "#");
		u += p->n[P_QUERY];
	}
	if (*u == '#') {
		p->has[P_FRAG] = true;
		p->s[P_FRAG] = u + 1;
		p->n[P_FRAG] = strlen(u + 1);
	}
}

/* Drop the last segment of out and the slash before it. */
static void
pop_segment(struct str *out)
{
	while (out->len > 0 && out->p[out->len - 1] != '/')
		out->len--;
	if (out->len > 0)
		out->len--;
	if (out->p != NULL)
		out->p[out->len] = '\0';
}

/* RFC 3986 5.2.4, step by step, into out. */
static void
remove_dots(const char *src, size_t n, struct str *out)
{
	char *buf = xstrndup(src, n), *in = buf, *end = buf + n;
	size_t left, seg;

	while (in < end) {
		left = (size_t)(end - in);
		if (left >= 3 && memcmp(in, "../", 3) == 0) {
			in += 3;
		} else if (left >= 2 && memcmp(in, "./", 2) == 0) {
			in += 2;
		} else if (left >= 3 && memcmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (left == 2 && memcmp(in, "/.", 2) == 0) {
			*++in = '/';
		} else if (left >= 4 && memcmp(in, "/../", 4) == 0) {
			in += 3;
			pop_segment(out);
		} else if (left == 3 && memcmp(in, "/..", 3) == 0) {
			in += 2;
			*in = '/';
			pop_segment(out);
		} else if ((left == 1 && in[0] == '.') ||
		    (left == 2 && memcmp(in, "..", 2) == 0)) {
			break;
		} else {
			seg = in[0] == '/';
			seg += strcspn(in + seg, "/");
			str_add(out, in, seg);
			in += seg;
		}
	}
	free(buf);
}

char *
whirl_url_join(const char *base, const char *ref)
{
	struct parts b, r;
	struct str out = { 0 }, merged = { 0 }, path = { 0 };
	const char *slash;
	size_t i;

	split_uri(base, &b);
	if (!b.has[P_SCHEME] || !b.has[P_AUTH]) {
		whirl__seterr(EINVAL, "not an absolute URL: %s", base);
		return NULL;
	}
	split_uri(ref, &r);
	if (r.has[P_SCHEME]) {
		str_add(&out, r.s[P_SCHEME], r.n[P_SCHEME]);
		str_adds(&out, ":");
		if (r.has[P_AUTH]) {
			str_adds(&out, "//");
			str_add(&out, r.s[P_AUTH], r.n[P_AUTH]);
		}
		remove_dots(r.s[P_PATH], r.n[P_PATH], &path);
		b = r;
		goto query;
	}
	str_add(&out, b.s[P_SCHEME], b.n[P_SCHEME]);
	str_adds(&out, "://");
	if (r.has[P_AUTH]) {
		str_add(&out, r.s[P_AUTH], r.n[P_AUTH]);
		remove_dots(r.s[P_PATH], r.n[P_PATH], &path);
		b = r;
		goto query;
	}
	str_add(&out, b.s[P_AUTH], b.n[P_AUTH]);
	if (r.n[P_PATH] == 0) {
		str_add(&path, b.s[P_PATH], b.n[P_PATH]);
		if (r.has[P_QUERY])
			b = r;
		goto query;
	}
	if (r.s[P_PATH][0] == '/') {
		remove_dots(r.s[P_PATH], r.n[P_PATH], &path);
	} else {
		/* Merge (5.2.3): the base path up to its last slash. */
		if (b.n[P_PATH] == 0) {
			str_adds(&merged, "/");
		} else {
			slash = NULL;
			for (i = 0; i < b.n[P_PATH]; i++)
				if (b.s[P_PATH][i] == '/')
					slash = b.s[P_PATH] + i;
			if (slash != NULL)
				str_add(&merged, b.s[P_PATH],
				    (size_t)(slash - b.s[P_PATH]) + 1);
		}
		str_add(&merged, r.s[P_PATH], r.n[P_PATH]);
		remove_dots(merged.p, merged.len, &path);
		free(merged.p);
	}
	b = r;
query:
	/* Dot segments go within the path only, never into the host. */
	if (path.len > 0)
		str_add(&out, path.p, path.len);
	free(path.p);
	if (b.has[P_QUERY]) {
		str_adds(&out, "?");
		str_add(&out, b.s[P_QUERY], b.n[P_QUERY]);
	}
	return str_take(&out);
}

/* An http(s) URL in pieces.  Each string is owned. */
struct url {
	char *scheme;          /* "http" or "https" */
	char *user, *pass;     /* percent-decoded userinfo, or NULL */
	char *host;            /* without brackets */
	int port;
	bool tls, v6;
	char *target;          /* "/p?q" */
	char *hostport;        /* the Host field: "h", "h:8080", "[::1]:8080" */
	char *plain;           /* the URL without userinfo and fragment */
};

static void
url_reset(struct url *u)
{
	free(u->scheme);
	free(u->user);
	free(u->pass);
	free(u->host);
	free(u->target);
	free(u->hostport);
	free(u->plain);
	memset(u, 0, sizeof(*u));
}

static char *
decode_part(const char *p, size_t n)
{
	char *out = whirl__xmalloc(n + 1);

	if (whirl_percent_decode(p, n, out, false) == -1) {
		free(out);
		return NULL;
	}
	return out;
}

/* Parse an absolute http(s) URL.  Returns WHIRL_FETCH_OK, or
 * WHIRL_FETCH_BAD_URL / _UNSUPPORTED with whirl_error(). */
static enum whirl_fetch_error
url_parse(const char *s, struct url *u, bool proxy)
{
	struct parts p;
	const char *a, *at, *h, *hend, *rest;
	size_t i, alen;
	char *end;
	long port;
	struct str t = { 0 };

	memset(u, 0, sizeof(*u));
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			goto bad;
	split_uri(s, &p);
	if (!p.has[P_SCHEME] || !p.has[P_AUTH])
		goto bad;
	u->scheme = xstrndup(p.s[P_SCHEME], p.n[P_SCHEME]);
	for (i = 0; u->scheme[i] != '\0'; i++)
		u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);
	if (strcmp(u->scheme, "https") == 0 && !proxy)
		u->tls = true;
	else if (strcmp(u->scheme, "http") != 0) {
		whirl__seterr(EPROTONOSUPPORT, "Protocol \"%s\" not supported",
		    u->scheme);
		url_reset(u);
		return WHIRL_FETCH_UNSUPPORTED;
	}
	a = p.s[P_AUTH];
	alen = p.n[P_AUTH];
	at = NULL;
	for (i = 0; i < alen; i++)
		if (a[i] == '@')
			at = a + i;
	h = a;
	if (at != NULL) {
		const char *colon = memchr(a, ':', (size_t)(at - a));

		u->user = decode_part(a, (size_t)((colon ? colon : at) - a));
		if (colon != NULL)
			u->pass = decode_part(colon + 1,
			    (size_t)(at - colon - 1));
		if (u->user == NULL || (colon != NULL && u->pass == NULL))
			goto bad;
		h = at + 1;
	}
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(a + alen - h));
		if (hend == NULL)
			goto bad;
		u->host = xstrndup(h + 1, (size_t)(hend - h - 1));
		u->v6 = true;
		rest = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(a + alen - h));
		if (hend == NULL)
			hend = a + alen;
		u->host = xstrndup(h, (size_t)(hend - h));
		rest = hend;
	}
	if (u->host[0] == '\0')
		goto bad;
	for (i = 0; u->host[i] != '\0'; i++)
		if (strchr("/?#@[]", u->host[i]) != NULL && !u->v6)
			goto bad;
	u->port = u->tls ? 443 : proxy ? 1080 : 80;
	if (rest < a + alen) {
		if (*rest != ':')
			goto bad;
		if (rest + 1 < a + alen) {
			errno = 0;
			port = strtol(rest + 1, &end, 10);
			if (!isdigit((unsigned char)rest[1]) ||
			    end != a + alen || port < 1 || port > 65535)
				goto bad;
			u->port = (int)port;
		}
	}
	if (p.n[P_PATH] == 0)
		str_adds(&t, "/");
	else
		str_add(&t, p.s[P_PATH], p.n[P_PATH]);
	if (p.has[P_QUERY]) {
		str_adds(&t, "?");
		str_add(&t, p.s[P_QUERY], p.n[P_QUERY]);
	}
	u->target = str_take(&t);
	if (u->port == (u->tls ? 443 : 80) && !proxy)
		str_addf(&t, u->v6 ? "[%s]" : "%s", u->host);
	else
		str_addf(&t, u->v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
	u->hostport = str_take(&t);
	str_addf(&t, "%s://%s%s", u->scheme, u->hostport, u->target);
	u->plain = str_take(&t);
	return WHIRL_FETCH_OK;
bad:
	url_reset(u);
	whirl__seterr(EINVAL, "URL using bad/illegal format or missing URL");
	return WHIRL_FETCH_BAD_URL;
}

static bool
is_ip_literal(const char *host)
{
	struct whirl_addr a;

	return whirl_addr_parse_literal(host, 0, AF_UNSPEC, &a) == 0;
}

/*
 * Cookies.
 */

struct cookie {
	char *domain;          /* lower-case, without a leading dot */
	char *path;
	char *name, *value;
	bool subdomains;       /* Domain= given: sub-domains match too */
	bool secure, httponly;
	int64_t expires;       /* 0: a session cookie */
	uint64_t seq;          /* creation order, for sending */
};

struct whirl_cookie_jar {
	struct cookie *v;
	size_t n, cap;
	uint64_t seq;
};

struct whirl_cookie_jar *
whirl_cookie_jar_new(void)
{
	return whirl__xcalloc(1, sizeof(struct whirl_cookie_jar));
}

static void
cookie_reset(struct cookie *ck)
{
	free(ck->domain);
	free(ck->path);
	free(ck->name);
	free(ck->value);
}

void
whirl_cookie_jar_free(struct whirl_cookie_jar *jar)
{
	size_t i;

	if (jar == NULL)
		return;
	for (i = 0; i < jar->n; i++)
		cookie_reset(&jar->v[i]);
	free(jar->v);
	free(jar);
}

size_t
whirl_cookie_jar_count(const struct whirl_cookie_jar *jar)
{
	return jar->n;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Take ck (moved) into the jar, replacing a cookie with the same name,
 * domain and path; an expired ck only removes. */
static void
jar_put(struct whirl_cookie_jar *jar, struct cookie *ck, bool expired)
{
	uint64_t seq = jar->seq;
	size_t i;

	for (i = 0; i < jar->n; i++) {
		struct cookie *o = &jar->v[i];

		if (strcmp(o->name, ck->name) == 0 &&
		    strcmp(o->domain, ck->domain) == 0 &&
		    strcmp(o->path, ck->path) == 0) {
			/* A replacement keeps the old one's place (RFC 6265
			 * 5.3 step 11). */
			seq = o->seq;
			cookie_reset(o);
			jar->v[i] = jar->v[--jar->n];
			break;
		}
	}
	if (expired) {
		cookie_reset(ck);
		return;
	}
	ck->seq = seq;
	if (seq == jar->seq)
		jar->seq++;
	if (jar->n == jar->cap) {
		jar->cap = jar->cap ? jar->cap * 2 : 8;
		jar->v = whirl__xrealloc(jar->v, jar->cap * sizeof(*jar->v));
	}
	jar->v[jar->n++] = *ck;
}

/* One line of a Netscape file into ck; false if it is not a cookie. */
static bool
parse_netscape_line(char *line, struct cookie *ck)
{
	char *f[7], *p = line, *end;
	int i;

	memset(ck, 0, sizeof(*ck));
	if (strncmp(p, "#HttpOnly_", 10) == 0) {
		ck->httponly = true;
		p += 10;
	} else if (*p == '#') {
		return false;
	}
	for (i = 0; i < 7; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (p == NULL) {
			if (i < 6)
				return false;
			break;
		}
		*p++ = '\0';
	}
	if (f[0][0] == '.')
		f[0]++;
	if (f[0][0] == '\0' || f[5][0] == '\0' || f[2][0] != '/')
		return false;
	errno = 0;
	ck->expires = strtoll(f[4], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[4] || ck->expires < 0)
		return false;
	ck->domain = whirl__xstrdup(f[0]);
	lower(ck->domain);
	ck->subdomains = strcasecmp(f[1], "TRUE") == 0;
	ck->path = whirl__xstrdup(f[2]);
	ck->secure = strcasecmp(f[3], "TRUE") == 0;
	ck->name = whirl__xstrdup(f[5]);
	ck->value = whirl__xstrdup(f[6]);
	return true;
}

size_t
whirl_cookie_jar_parse(struct whirl_cookie_jar *jar, const char *text,
    size_t len)
{
	char *copy = xstrndup(text, len), *line, *next;
	struct cookie ck;
	size_t added = 0, l;
	time_t now = time(NULL);

	for (line = copy; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (!parse_netscape_line(line, &ck))
			continue;
		jar_put(jar, &ck, ck.expires != 0 && ck.expires < now);
		added++;
	}
	free(copy);
	return added;
}

int
whirl_cookie_jar_load(struct whirl_cookie_jar *jar, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct str text = { 0 };
	char buf[8192];
	size_t n;

	if (fp == NULL) {
		whirl__seterrno("cannot read cookies from %s", path);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		str_add(&text, buf, n);
	if (ferror(fp)) {
		whirl__seterrno("cannot read cookies from %s", path);
		if (fp != stdin)
			fclose(fp);
		free(text.p);
		return -1;
	}
	if (fp != stdin)
		fclose(fp);
	whirl_cookie_jar_parse(jar, text.p != NULL ? text.p : "", text.len);
	free(text.p);
	return 0;
}

char *
whirl_cookie_jar_format(const struct whirl_cookie_jar *jar)
{
	struct str s = { 0 };
	time_t now = time(NULL);
	size_t i;

	str_adds(&s, "# Netscape HTTP Cookie File\n"
	    "# This file was generated by whirl. Edit at your own risk.\n\n");
	for (i = 0; i < jar->n; i++) {
		const struct cookie *ck = &jar->v[i];

		if (ck->expires != 0 && ck->expires < now)
			continue;
		str_addf(&s, "%s%s%s\t%s\t%s\t%s\t%lld\t%s\t%s\n",
		    ck->httponly ? "#HttpOnly_" : "",
		    ck->subdomains ? "." : "", ck->domain,
		    ck->subdomains ? "TRUE" : "FALSE", ck->path,
		    ck->secure ? "TRUE" : "FALSE", (long long)ck->expires,
		    ck->name, ck->value);
	}
	return str_take(&s);
}

int
whirl_cookie_jar_save(const struct whirl_cookie_jar *jar, const char *path)
{
	char *text = whirl_cookie_jar_format(jar);
	FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	int ok;

	if (fp == NULL) {
		whirl__seterrno("cannot write cookies to %s", path);
		free(text);
		return -1;
	}
	ok = fputs(text, fp) != EOF;
	ok = (fp == stdout ? fflush(fp) : fclose(fp)) == 0 && ok;
	free(text);
	if (!ok) {
		whirl__seterrno("cannot write cookies to %s", path);
		return -1;
	}
	return 0;
}

/* "Jan" .. "Dec" (any case, any tail: "January") as 0..11, else -1. */
static int
month_index(const char *tok)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char m[4];
	int i;

	if (strlen(tok) < 3)
		return -1;
	for (i = 0; i < 3; i++)
		m[i] = (char)tolower((unsigned char)tok[i]);
	m[3] = '\0';
	for (i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, m, 3) == 0)
			return i;
	return -1;
}

/* RFC 6265 5.1.1's lenient cookie-date: tokens for the time, the day,
 * the month and the year, in any order.  -1 if one is missing. */
static int64_t
cookie_date(const char *s)
{
	int hh = -1, mi = 0, ss = 0, day = -1, mon = -1, year = -1, a, b, c;
	char tok[32];
	size_t n;
	struct tm tm;

	while (*s != '\0') {
		n = strcspn(s, "\t ,;-/");
		if (n == 0) {
			s++;
			continue;
		}
		snprintf(tok, sizeof(tok), "%.*s", (int)n, s);
		s += n;
		if (hh < 0 && sscanf(tok, "%2d:%2d:%2d", &a, &b, &c) == 3) {
			hh = a;
			mi = b;
			ss = c;
		} else if (day < 0 && isdigit((unsigned char)tok[0]) &&
		    strlen(tok) <= 2) {
			day = atoi(tok);
		} else if (mon < 0 && month_index(tok) >= 0) {
			mon = month_index(tok);
		} else if (year < 0 && isdigit((unsigned char)tok[0]) &&
		    strlen(tok) <= 4) {
			year = atoi(tok);
			if (year < 70)
				year += 2000;
			else if (year < 100)
				year += 1900;
		}
	}
	if (hh < 0 || day < 1 || day > 31 || mon < 0 || year < 1601 ||
	    hh > 23 || mi > 59 || ss > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	return (int64_t)timegm(&tm);
}

/* Does host domain-match domain (RFC 6265 5.1.3)? */
static bool
domain_match(const char *host, const char *domain)
{
	size_t hl = strlen(host), dl = strlen(domain);

	if (strcasecmp(host, domain) == 0)
		return true;
	return hl > dl && host[hl - dl - 1] == '.' &&
	    strcasecmp(host + hl - dl, domain) == 0 && !is_ip_literal(host);
}

/* The default path of a request target (5.1.4). */
static char *
default_path(const char *target)
{
	size_t n = strcspn(target, "?");
	const char *slash = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (target[i] == '/')
			slash = target + i;
	if (slash == NULL || slash == target)
		return whirl__xstrdup("/");
	return xstrndup(target, (size_t)(slash - target));
}

/* Bytes a Netscape cookie file cannot hold in a field: its TAB
 * separator, line ends, any control character. */
static bool
file_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static char *
trimmed(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return xstrndup(p, n);
}

int
whirl_cookie_jar_set(struct whirl_cookie_jar *jar, const char *urlstr,
    const char *sc)
{
	struct url u;
	struct cookie ck;
	const char *p, *eq, *semi;
	char *aname, *aval;
	int64_t expires = 0, t;
	bool has_max_age = false, expired = false;
	size_t n;

	if (url_parse(urlstr, &u, false) != WHIRL_FETCH_OK)
		return -1;
	memset(&ck, 0, sizeof(ck));
	/* A host that begins with a dot would read back as a domain. */
	if (u.host[0] == '.')
		goto refuse;
	n = strcspn(sc, ";");
	eq = memchr(sc, '=', n);
	if (eq == NULL)
		goto refuse;
	ck.name = trimmed(sc, (size_t)(eq - sc));
	ck.value = trimmed(eq + 1, n - (size_t)(eq - sc) - 1);
	if (ck.name[0] == '\0')
		goto refuse;
	for (p = sc + n; *p == ';'; p = semi) {
		p++;
		n = strcspn(p, ";");
		semi = p + n;
		eq = memchr(p, '=', n);
		aname = trimmed(p, eq != NULL ? (size_t)(eq - p) : n);
		aval = eq != NULL ? trimmed(eq + 1, (size_t)(semi - eq - 1)) :
		    whirl__xstrdup("");
		/* An empty domain, "." included, is ignored (RFC 6265
		 * 5.2.3): "" would match every host ending in a dot. */
		if (strcasecmp(aname, "domain") == 0 &&
		    aval[aval[0] == '.'] != '\0') {
			free(ck.domain);
			ck.domain = whirl__xstrdup(aval + (aval[0] == '.'));
			lower(ck.domain);
		} else if (strcasecmp(aname, "path") == 0 && aval[0] == '/') {
			free(ck.path);
			ck.path = whirl__xstrdup(aval);
		} else if (strcasecmp(aname, "max-age") == 0) {
			char *end;
			long long v = strtoll(aval, &end, 10);

			if (end != aval && *end == '\0') {
				has_max_age = true;
				expired = v <= 0;
				/* Past the end of time: forever. */
				expires = v <= 0 ? 0 : v > INT64_MAX -
				    (int64_t)time(NULL) ? INT64_MAX :
				    (int64_t)time(NULL) + v;
			}
		} else if (strcasecmp(aname, "expires") == 0 &&
		    !has_max_age && (t = cookie_date(aval)) != -1) {
			expired = t <= (int64_t)time(NULL);
			expires = t;
		} else if (strcasecmp(aname, "secure") == 0) {
			ck.secure = true;
		} else if (strcasecmp(aname, "httponly") == 0) {
			ck.httponly = true;
		}
		free(aname);
		free(aval);
	}
	if (ck.domain != NULL) {
		if (!domain_match(u.host, ck.domain))
			goto refuse;
		ck.subdomains = !is_ip_literal(u.host);
	} else {
		ck.domain = whirl__xstrdup(u.host);
		lower(ck.domain);
	}
	if (ck.path == NULL)
		ck.path = default_path(u.target);
	if (!file_safe(ck.name) || !file_safe(ck.value) ||
	    !file_safe(ck.path) || !file_safe(ck.domain))
		goto refuse;
	ck.expires = expires;
	url_reset(&u);
	jar_put(jar, &ck, expired);
	return 0;
refuse:
	cookie_reset(&ck);
	url_reset(&u);
	return -1;
}

static bool
path_match(const char *target, const char *path)
{
	size_t pl = strlen(path), tl = strcspn(target, "?");

	if (tl < pl || strncmp(target, path, pl) != 0)
		return false;
	return tl == pl || path[pl - 1] == '/' || target[pl] == '/';
}

static int
by_path_len(const void *a, const void *b)
{
	const struct cookie *x = *(const struct cookie *const *)a;
	const struct cookie *y = *(const struct cookie *const *)b;
	size_t xl = strlen(x->path), yl = strlen(y->path);

	if (xl != yl)
		return xl < yl ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

/* The Cookie field for a parsed URL, or NULL. */
static char *
jar_header(const struct whirl_cookie_jar *jar, const struct url *u)
{
	const struct cookie **m;
	struct str s = { 0 };
	size_t i, n = 0;
	time_t now = time(NULL);

	if (jar == NULL || jar->n == 0)
		return NULL;
	m = whirl__xcalloc(jar->n, sizeof(*m));
	for (i = 0; i < jar->n; i++) {
		const struct cookie *ck = &jar->v[i];

		if (ck->expires != 0 && ck->expires < now)
			continue;
		if (ck->secure && !u->tls)
			continue;
		if (ck->subdomains ? !domain_match(u->host, ck->domain) :
		    strcasecmp(u->host, ck->domain) != 0)
			continue;
		if (!path_match(u->target, ck->path))
			continue;
		m[n++] = ck;
	}
	qsort(m, n, sizeof(*m), by_path_len);
	for (i = 0; i < n; i++)
		str_addf(&s, "%s%s=%s", i ? "; " : "", m[i]->name,
		    m[i]->value);
	free(m);
	return n > 0 ? str_take(&s) : NULL;
}

char *
whirl_cookie_jar_header(const struct whirl_cookie_jar *jar,
    const char *urlstr)
{
	struct url u;
	char *h;

	if (url_parse(urlstr, &u, false) != WHIRL_FETCH_OK)
		return NULL;
	h = jar_header(jar, &u);
	url_reset(&u);
	return h;
}

/*
 * The client, its pools and their connections.
 */

struct pool;
struct conn;

struct whirl_httpclient {
	struct whirl_loop *loop;
	struct whirl_httpclient_opts o;
	char *user_agent;
	struct whirl_tls_ctx *tls;      /* the default, made on first https */
	struct pool *pools;
	struct whirl_fetch *fetches;    /* every live fetch */
	size_t nidle;
};

struct pool {
	struct whirl_httpclient *c;
	char *key;
	size_t nconns;                  /* open or opening */
	struct conn *idle;              /* most recently used first */
	struct whirl_fetch *wait_head, **wait_tail;
	struct pool *next;
};

struct conn {
	struct pool *pool;
	struct whirl_stream *s;
	struct whirl_http1 *h;
	struct whirl_fetch *f;          /* using it; NULL when idle */
	struct whirl_timer *idle_timer;
	struct conn *next;              /* in pool->idle */
	char remote_ip[WHIRL_ADDR_STRLEN], local_ip[WHIRL_ADDR_STRLEN];
	int remote_port, local_port;
	int requests;                   /* requests begun on it */
	unsigned ends_queued, ends_done;  /* request ends written, sent */
};

enum body_kind { BODY_NONE, BODY_MEM, BODY_FILE, BODY_STREAM, BODY_FORM };

enum phase {
	PH_START,       /* not yet in a pool */
	PH_WAIT,        /* in its pool's wait queue */
	PH_CONNECT,     /* resolving, connecting, tunnelling, TLS */
	PH_REQUEST,     /* request written, answer being read */
	PH_DONE
};

struct whirl_fetch {
	struct whirl_httpclient *c;
	struct whirl_fetch *prev, *next;        /* c->fetches */
	struct whirl_fetch *wnext;              /* pool wait queue */
	whirl_fetch_done_cb done;
	void *arg;
	enum phase phase;

	/* The request, owned. */
	struct whirl_http_request rq;
	char *method;
	struct whirl_headers *hdrs;
	char **omit;
	enum body_kind body;
	char *mem;
	size_t mem_len;
	char *body_file;
	bool stream_touched;                    /* body_stream was read */
	char *proxy_spec, *no_proxy;
	char **resolve;
	char *unix_socket;
	char *first_hostport, *first_scheme;    /* for cross-host redirects */
	char *auth_user, *auth_pass, *user_agent;

	/* The hop. */
	char *url;
	struct url u;
	struct url px;                          /* the proxy, if used */
	bool use_proxy, tunnel;
	struct pool *pool;
	struct conn *conn;
	struct whirl_resolve *res;
	struct whirl_connect *con;
	struct whirl_addr *addrs;
	size_t naddrs, ai;
	const char *conn_host;                  /* the name being connected */
	int conn_port;
	char remote_ip[WHIRL_ADDR_STRLEN], local_ip[WHIRL_ADDR_STRLEN];
	bool retried;                           /* on a fresh connection */

	/* Sending. */
	int body_fd;
	struct whirl_form_reader *form;         /* BODY_FORM, while sending */
	uint64_t body_left;                     /* of a file or sized stream */
	bool pumping, stream_reading;
	char *pump_buf;

	/* Receiving. */
	struct whirl_headers *rh;
	char *reason;
	int code, major, minor;
	bool keep_alive, got_bytes, head_pending, redirecting, too_many;
	bool bodiless;                          /* 204/304 with a length */
	bool tls_pending;                       /* tunnel up, TLS next turn */
	bool final, decoding, zdeflate, zdone, zraw_tried;
	int64_t resp_cl;                        /* Content-Length, or -1 */
	char *redirect_url;
	z_stream z;
	char *zout;
	char *coll;
	size_t coll_len, coll_cap;

	/* Timers and the result. */
	struct whirl_timer *total, *phase_timer, *kick;
	uint64_t last_rx;
	bool idle_watch;
	double t0;
	struct whirl_http_response r;
	char *errmsg;
	int depth;
	bool cancelled, starting;
};

static void begin_hop(struct whirl_fetch *f);
static void conn_open(struct whirl_fetch *f);
static void conn_close(struct conn *k);
static void send_request(struct whirl_fetch *f);
static void fail(struct whirl_fetch *f, enum whirl_fetch_error e,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pool_kick(struct pool *p);
static void stop_pump(struct whirl_fetch *f);

static const struct whirl_http1_limits client_limits = {
	8 * 1024, 256 * 1024, 500, UINT64_MAX
};

static double
elapsed(const struct whirl_fetch *f)
{
	double t = now_secs() - f->t0;

	return t > 0 ? t : 1e-6;
}

void
whirl_http_request_init(struct whirl_http_request *r, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->url = url;
	r->follow_redirects = true;
	r->max_redirects = 5;
	r->decompress = true;
	r->connect_timeout_ms = 20000;
	r->request_timeout_ms = 20000;
	r->family = AF_UNSPEC;
	r->body_stream_len = -1;
}

struct whirl_httpclient *
whirl_httpclient_new(struct whirl_loop *loop,
    const struct whirl_httpclient_opts *opts)
{
	struct whirl_httpclient *c = whirl__xcalloc(1, sizeof(*c));

	c->loop = loop;
	if (opts != NULL)
		c->o = *opts;
	if (c->o.max_per_host == 0)
		c->o.max_per_host = DEFAULT_PER_HOST;
	if (c->o.max_idle == 0)
		c->o.max_idle = DEFAULT_MAX_IDLE;
	if (c->o.idle_ms == 0)
		c->o.idle_ms = DEFAULT_IDLE_MS;
	c->user_agent = whirl__xstrdup(c->o.user_agent != NULL ?
	    c->o.user_agent : "whirl/" WHIRL_VERSION);
	c->o.user_agent = c->user_agent;
	return c;
}

size_t
whirl_httpclient_idle(const struct whirl_httpclient *c)
{
	return c->nidle;
}

/*
 * Pools.
 */

static struct pool *
pool_get(struct whirl_httpclient *c, const char *key)
{
	struct pool *p;

	for (p = c->pools; p != NULL; p = p->next)
		if (strcmp(p->key, key) == 0)
			return p;
	p = whirl__xcalloc(1, sizeof(*p));
	p->c = c;
	p->key = whirl__xstrdup(key);
	p->wait_tail = &p->wait_head;
	p->next = c->pools;
	c->pools = p;
	return p;
}

static void
pool_unwait(struct whirl_fetch *f)
{
	struct pool *p = f->pool;
	struct whirl_fetch **pp;

	for (pp = &p->wait_head; *pp != NULL; pp = &(*pp)->wnext)
		if (*pp == f) {
			*pp = f->wnext;
			if (*pp == NULL)
				p->wait_tail = pp;
			break;
		}
	f->wnext = NULL;
}

static void
idle_unlink(struct conn *k)
{
	struct conn **pp;

	for (pp = &k->pool->idle; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			k->next = NULL;
			k->pool->c->nidle--;
			whirl_timer_stop(k->idle_timer);
			return;
		}
}

/* Attach conn k to f and send f's request on it. */
static void
conn_attach(struct conn *k, struct whirl_fetch *f)
{
	k->f = f;
	f->conn = k;
	send_request(f);
}

/* Take an idle connection, open a new one, or queue. */
static void
pool_take(struct whirl_fetch *f, bool fresh)
{
	struct pool *p = f->pool;
	struct conn *k = fresh ? NULL : p->idle;

	if (k != NULL) {
		idle_unlink(k);
		if (f->rq.debug_cb != NULL) {
			char line[256];
			int n = snprintf(line, sizeof(line),
			    "Re-using existing connection with host %s",
			    f->use_proxy ? f->px.host : f->u.host);

			f->rq.debug_cb(f, WHIRL_FETCH_INFO, line, (size_t)n,
			    f->arg);
		}
		conn_attach(k, f);
		return;
	}
	if (p->nconns < p->c->o.max_per_host || fresh) {
		conn_open(f);
		return;
	}
	f->phase = PH_WAIT;
	*p->wait_tail = f;
	p->wait_tail = &f->wnext;
}

/* Something freed up in p: serve the queue. */
static void
pool_kick(struct pool *p)
{
	struct whirl_fetch *f;

	while ((f = p->wait_head) != NULL &&
	    (p->idle != NULL || p->nconns < p->c->o.max_per_host)) {
		pool_unwait(f);
		pool_take(f, false);
	}
}

static void
on_idle_timeout(struct whirl_timer *t, void *arg)
{
	struct conn *k = arg;

	(void)t;
	idle_unlink(k);
	conn_close(k);
}

/* f is done with k: back to the pool, or closed. */
static void
conn_release(struct conn *k, bool reusable)
{
	struct pool *p = k->pool;
	struct whirl_httpclient *c = p->c;

	if (k->f != NULL) {
		stop_pump(k->f);
		k->f->conn = NULL;
		k->f = NULL;
	}
	if (!reusable || c->nidle >= c->o.max_idle) {
		conn_close(k);
		return;
	}
	whirl_stream_set_water(k->s, 0, NULL, NULL);
	whirl_http1_resume(k->h);       /* hear the server closing it */
	if (p->wait_head != NULL) {
		struct whirl_fetch *f = p->wait_head;

		pool_unwait(f);
		conn_attach(k, f);
		return;
	}
	k->next = p->idle;
	p->idle = k;
	c->nidle++;
	if (k->idle_timer == NULL)
		k->idle_timer = whirl_timer_new(c->loop, on_idle_timeout, k);
	whirl_timer_start(k->idle_timer, c->o.idle_ms, false);
}

/* Close and free k, which is attached to no fetch and not idle. */
static void
conn_close(struct conn *k)
{
	struct pool *p = k->pool;

	whirl_http1_free(k->h);
	whirl_stream_free(k->s);
	whirl_timer_free(k->idle_timer);
	free(k);
	p->nconns--;
	pool_kick(p);
}

/*
 * Errors and the end of a fetch.
 */

static void
debug_info(struct whirl_fetch *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
debug_info(struct whirl_fetch *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (f->rq.debug_cb == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	f->depth++;
	f->rq.debug_cb(f, WHIRL_FETCH_INFO, line, (size_t)n, f->arg);
	f->depth--;
}

/* Drop whatever the hop holds: resolve, connect, its connection (closed
 * unless reusable), the body pump, the decoder. */
static void
hop_reset(struct whirl_fetch *f, bool reusable)
{
	whirl_timer_stop(f->kick);
	f->tls_pending = f->bodiless = false;
	if (f->res != NULL)
		whirl_resolve_cancel(f->res);
	if (f->con != NULL)
		whirl_connect_cancel(f->con);
	f->res = NULL;
	f->con = NULL;
	free(f->addrs);
	f->addrs = NULL;
	f->naddrs = f->ai = 0;
	if (f->phase == PH_WAIT)
		pool_unwait(f);
	stop_pump(f);
	if (f->conn != NULL)
		conn_release(f->conn, reusable);
	if (f->decoding)
		inflateEnd(&f->z);
	f->decoding = false;
	whirl_timer_stop(f->phase_timer);
	f->idle_watch = false;
}

static void
fetch_free(struct whirl_fetch *f)
{
	if (f->prev != NULL)
		f->prev->next = f->next;
	else if (f->c->fetches == f)
		f->c->fetches = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	whirl_timer_free(f->total);
	whirl_timer_free(f->phase_timer);
	whirl_timer_free(f->kick);
	free(f->method);
	whirl_headers_free(f->hdrs);
	whirl__strv_free(f->omit);
	free(f->mem);
	free(f->body_file);
	free(f->proxy_spec);
	free(f->no_proxy);
	whirl__strv_free(f->resolve);
	free(f->unix_socket);
	free(f->first_hostport);
	free(f->first_scheme);
	free(f->auth_user);
	free(f->auth_pass);
	free(f->user_agent);
	free(f->url);
	url_reset(&f->u);
	url_reset(&f->px);
	whirl_headers_free(f->rh);
	free(f->reason);
	free(f->redirect_url);
	free(f->zout);
	free(f->coll);
	free(f->pump_buf);
	free(f->errmsg);
	free(f);
}

/* Fill f->r from the fetch's state. */
static void
fill_response(struct whirl_fetch *f)
{
	struct whirl_http_response *r = &f->r;

	if (f->rh == NULL)
		f->rh = whirl_headers_new();
	r->code = f->code;
	r->reason = f->reason != NULL ? f->reason : "";
	r->major = f->major;
	r->minor = f->minor;
	r->headers = f->rh;
	r->url = f->url;
	r->method = f->method;
	r->body = f->coll;
	r->body_len = f->coll_len;
	r->redirecting = f->redirecting;
	r->redirect_url = f->redirect_url;
	r->remote_ip = f->remote_ip;
	r->local_ip = f->local_ip;
	r->time_total = elapsed(f);
}

static void on_kick(struct whirl_timer *t, void *arg);
static void end_bodiless(struct whirl_fetch *f);
static void start_tls(struct whirl_fetch *f);

/* The end: done once (later, if we are still inside fetch()). */
static void
finish_fetch(struct whirl_fetch *f)
{
	whirl_fetch_done_cb done = f->done;

	hop_reset(f, false);
	whirl_timer_stop(f->total);
	f->phase = PH_DONE;
	if (f->starting) {
		whirl_timer_start(f->kick, 0, false);
		return;
	}
	fill_response(f);
	f->r.error_msg = f->errmsg;
	f->depth++;
	done(f, &f->r, f->arg);
	fetch_free(f);
}

static void
on_kick(struct whirl_timer *t, void *arg)
{
	struct whirl_fetch *f = arg;

	(void)t;
	if (f->phase == PH_DONE)
		finish_fetch(f);
	else if (f->bodiless)
		end_bodiless(f);
	else if (f->tls_pending) {
		f->tls_pending = false;
		start_tls(f);
	}
}

static void
fail(struct whirl_fetch *f, enum whirl_fetch_error e, const char *fmt, ...)
{
	struct str s = { 0 };
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	str_adds(&s, buf);
	free(f->errmsg);
	f->errmsg = str_take(&s);
	f->r.error = e;
	finish_fetch(f);
}

/* After a user callback: was the fetch cancelled inside it? */
static bool
gone(struct whirl_fetch *f)
{
	if (!f->cancelled)
		return false;
	if (f->depth == 0) {
		hop_reset(f, false);
		fetch_free(f);
	}
	return true;
}

int
whirl_fetch_error_code(enum whirl_fetch_error e)
{
	static const int codes[] = {
		[WHIRL_FETCH_OK] = 0,
		[WHIRL_FETCH_UNSUPPORTED] = 1,
		[WHIRL_FETCH_BAD_URL] = 3,
		[WHIRL_FETCH_PROXY_RESOLVE] = 5,
		[WHIRL_FETCH_RESOLVE] = 6,
		[WHIRL_FETCH_CONNECT] = 7,
		[WHIRL_FETCH_WEIRD_REPLY] = 8,
		[WHIRL_FETCH_PARTIAL] = 18,
		[WHIRL_FETCH_READ] = 26,
		[WHIRL_FETCH_TIMEOUT] = 28,
		[WHIRL_FETCH_TLS] = 35,
		[WHIRL_FETCH_TOO_MANY_REDIRECTS] = 47,
		[WHIRL_FETCH_EMPTY_REPLY] = 52,
		[WHIRL_FETCH_SEND] = 55,
		[WHIRL_FETCH_RECV] = 56,
		[WHIRL_FETCH_CERT] = 60,
		[WHIRL_FETCH_DECODE] = 61,
		[WHIRL_FETCH_TOO_LARGE] = 63,
		[WHIRL_FETCH_REWIND] = 65,
		[WHIRL_FETCH_ABORTED] = 42,
	};

	return (size_t)e < WHIRL__ARRAY_LEN(codes) ? codes[e] : 1;
}

void
whirl_fetch_cancel(struct whirl_fetch *f)
{
	if (f == NULL || f->cancelled || f->phase == PH_DONE)
		return;
	f->cancelled = true;
	if (f->depth == 0)
		gone(f);
	else
		hop_reset(f, false);
}

void
whirl_fetch_pause(struct whirl_fetch *f)
{
	if (f->conn != NULL && f->conn->h != NULL)
		whirl_http1_pause(f->conn->h);
}

void
whirl_fetch_resume(struct whirl_fetch *f)
{
	if (f->conn != NULL && f->conn->h != NULL)
		whirl_http1_resume(f->conn->h);
}

static void
on_total_timeout(struct whirl_timer *t, void *arg)
{
	struct whirl_fetch *f = arg;

	(void)t;
	fail(f, WHIRL_FETCH_TIMEOUT,
	    "Operation timed out after %llu milliseconds with %llu bytes "
	    "received", (unsigned long long)(elapsed(f) * 1000),
	    (unsigned long long)f->r.size_download);
}

/* The phase timer: the connect deadline while connecting, then the idle
 * deadline, re-armed for what is left since the last byte. */
static void
on_phase_timeout(struct whirl_timer *t, void *arg)
{
	struct whirl_fetch *f = arg;
	uint64_t now, quiet;

	if (f->phase == PH_CONNECT || f->phase == PH_WAIT) {
		fail(f, WHIRL_FETCH_TIMEOUT,
		    "Connection timed out after %llu milliseconds",
		    (unsigned long long)(elapsed(f) * 1000));
		return;
	}
	now = whirl_loop_now_ms(f->c->loop);
	quiet = now - f->last_rx;
	if (quiet < f->rq.idle_timeout_ms) {
		whirl_timer_start(t, f->rq.idle_timeout_ms - quiet, false);
		return;
	}
	fail(f, WHIRL_FETCH_TIMEOUT,
	    "No data received for %llu milliseconds",
	    (unsigned long long)quiet);
}

static void
touch(struct whirl_fetch *f)
{
	if (f->idle_watch)
		f->last_rx = whirl_loop_now_ms(f->c->loop);
}

/*
 * Connecting: resolve (or a pin, a literal, a unix path), connect to each
 * address in turn, tunnel through the proxy, TLS.
 */

static void on_connect(struct whirl_connect *cn, struct whirl_stream *s,
    int errnum, const char *err, void *arg);
static void conn_ready(struct whirl_fetch *f);

static struct whirl_connect_opts no_opts;

static void
try_next_addr(struct whirl_fetch *f)
{
	const struct whirl_addr *a;
	char buf[WHIRL_ADDR_STRLEN];

	if (f->ai >= f->naddrs) {
		fail(f, WHIRL_FETCH_CONNECT, "Failed to connect to %s port %d "
		    "after %llu ms: %s", f->conn_host, f->conn_port,
		    (unsigned long long)(elapsed(f) * 1000),
		    f->errmsg != NULL ? f->errmsg : "Couldn't connect to server");
		return;
	}
	a = &f->addrs[f->ai];
	debug_info(f, "  Trying %s...", whirl_addr_format(
	    (const struct sockaddr *)&a->ss, a->len, buf, sizeof(buf)));
	f->con = whirl_tcp_connect(f->c->loop, (const struct sockaddr *)&a->ss,
	    a->len, &no_opts, on_connect, f);
}

static void
set_addrs(struct whirl_fetch *f, const struct whirl_addr *addrs, size_t n)
{
	free(f->addrs);
	f->addrs = whirl__xmalloc(n * sizeof(*addrs));
	memcpy(f->addrs, addrs, n * sizeof(*addrs));
	f->naddrs = n;
	f->ai = 0;
	f->r.time_namelookup = elapsed(f);
}

static void
on_resolved(struct whirl_resolve *r, const struct whirl_addr *addrs,
    size_t n, int errnum, const char *err, void *arg)
{
	struct whirl_fetch *f = arg;

	(void)r;
	(void)errnum;
	f->res = NULL;
	if (err != NULL) {
		if (f->use_proxy)
			fail(f, WHIRL_FETCH_PROXY_RESOLVE,
			    "Could not resolve proxy: %s", f->conn_host);
		else
			fail(f, WHIRL_FETCH_RESOLVE,
			    "Could not resolve host: %s", f->conn_host);
		return;
	}
	set_addrs(f, addrs, n);
	try_next_addr(f);
}

/* A --resolve pin "host:port:addr[,addr...]" for host and port. */
static bool
pinned(struct whirl_fetch *f, const char *host, int port)
{
	struct whirl_addr a[8];
	size_t i, n = 0, hl = strlen(host);
	const char *spec, *p, *q;
	char addr[WHIRL_ADDR_STRLEN];

	for (i = 0; f->resolve != NULL && f->resolve[i] != NULL; i++) {
		spec = f->resolve[i];
		p = spec[0] == '+' ? spec + 1 : spec;
		if (strncasecmp(p, host, hl) != 0 || p[hl] != ':' ||
		    atoi(p + hl + 1) != port)
			continue;
		p = strchr(p + hl + 1, ':');
		if (p == NULL)
			continue;
		for (p++; *p != '\0' && n < WHIRL__ARRAY_LEN(a); p = q) {
			q = p + strcspn(p, ",");
			snprintf(addr, sizeof(addr), "%.*s", (int)(q - p), p);
			if (whirl_addr_parse_literal(addr, port, f->rq.family,
			    &a[n]) == 0)
				n++;
			if (*q == ',')
				q++;
		}
		if (n > 0) {
			set_addrs(f, a, n);
			return true;
		}
	}
	return false;
}

static void
conn_open(struct whirl_fetch *f)
{
	struct conn *k = whirl__xcalloc(1, sizeof(*k));
	struct whirl_addr a;

	k->pool = f->pool;
	f->pool->nconns++;
	k->f = f;
	f->conn = k;
	f->phase = PH_CONNECT;
	free(f->errmsg);
	f->errmsg = NULL;
	if (f->rq.connect_timeout_ms > 0)
		whirl_timer_start(f->phase_timer, f->rq.connect_timeout_ms,
		    false);
	f->conn_host = f->use_proxy ? f->px.host : f->u.host;
	f->conn_port = f->use_proxy ? f->px.port : f->u.port;
	if (f->unix_socket != NULL) {
		f->conn_host = f->unix_socket;
		if (whirl_addr_unix(f->unix_socket, &a) == -1) {
			fail(f, WHIRL_FETCH_CONNECT, "Failed to connect to %s: "
			    "%s", f->unix_socket, whirl_error());
			return;
		}
		set_addrs(f, &a, 1);
	} else if (!pinned(f, f->conn_host, f->conn_port)) {
		if (whirl_addr_parse_literal(f->conn_host, f->conn_port,
		    f->rq.family, &a) == 0) {
			set_addrs(f, &a, 1);
		} else {
			f->res = whirl_resolve(f->c->loop, f->conn_host,
			    f->conn_port, f->rq.family, on_resolved, f);
			return;
		}
	}
	try_next_addr(f);
}

static void
note_addresses(struct conn *k)
{
	struct whirl_addr a;
	int fd = whirl_stream_fd(k->s);

	a.len = sizeof(a.ss);
	if (getpeername(fd, (struct sockaddr *)&a.ss, &a.len) == 0 &&
	    a.ss.ss_family != AF_UNIX) {
		whirl_addr_host((struct sockaddr *)&a.ss, a.len, k->remote_ip,
		    sizeof(k->remote_ip));
		k->remote_port = whirl_addr_port((struct sockaddr *)&a.ss);
	}
	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == 0 &&
	    a.ss.ss_family != AF_UNIX) {
		whirl_addr_host((struct sockaddr *)&a.ss, a.len, k->local_ip,
		    sizeof(k->local_ip));
		k->local_port = whirl_addr_port((struct sockaddr *)&a.ss);
	}
}

static const char *
classify_tls(const char *err, enum whirl_fetch_error *e)
{
	static const char prefix[] = "certificate verify failed: ";

	if (strncmp(err, prefix, sizeof(prefix) - 1) == 0) {
		*e = WHIRL_FETCH_CERT;
		return err + sizeof(prefix) - 1;
	}
	*e = WHIRL_FETCH_TLS;
	return err;
}

static void
on_tls(struct whirl_stream *s, const char *err, void *arg)
{
	struct whirl_fetch *f = arg;
	enum whirl_fetch_error e;
	const char *why;

	(void)s;
	if (err != NULL) {
		why = classify_tls(err, &e);
		if (strcmp(why, "hostname mismatch") == 0)
			fail(f, e, "SSL: no alternative certificate subject "
			    "name matches target host name '%s'", f->u.host);
		else if (e == WHIRL_FETCH_CERT)
			fail(f, e, "SSL certificate problem: %s", why);
		else
			fail(f, e, "TLS connect error: %s", why);
		return;
	}
	f->r.time_appconnect = elapsed(f);
	debug_info(f, "TLS connection established with %s", f->u.host);
	conn_ready(f);
}

static void
start_tls(struct whirl_fetch *f)
{
	struct whirl_tls_ctx *ctx = f->rq.tls;
	struct whirl_tls_client_opts o;

	if (ctx == NULL) {
		if (f->c->tls == NULL) {
			memset(&o, 0, sizeof(o));
			f->c->tls = whirl_tls_client_new(&o);
		}
		if ((ctx = f->c->tls) == NULL) {
			fail(f, WHIRL_FETCH_TLS, "%s", whirl_error());
			return;
		}
	}
	if (whirl_stream_start_tls(f->conn->s, ctx, f->u.host, 0, on_tls,
	    f) == -1)
		fail(f, WHIRL_FETCH_TLS, "%s", whirl_error());
}

static void
on_tunnel_head(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl_fetch *f = arg;
	int major, minor, code;
	char line[64];

	(void)s;
	if (err != NULL || len < 12) {
		fail(f, WHIRL_FETCH_RECV, "Proxy CONNECT aborted");
		return;
	}
	f->r.size_header += len;
	snprintf(line, sizeof(line), "%.*s", (int)(len < 63 ? len : 63), data);
	if (sscanf(line, "HTTP/%d.%d %3d", &major, &minor, &code) != 3) {
		fail(f, WHIRL_FETCH_RECV, "Proxy CONNECT aborted: not HTTP");
		return;
	}
	debug_info(f, "CONNECT tunnel: HTTP/%d.%d %d", major, minor, code);
	if (code < 200 || code > 299) {
		fail(f, WHIRL_FETCH_RECV, "CONNECT tunnel failed, response %d",
		    code);
		return;
	}
	/* The head is still in the stream's buffer until this callback
	 * returns, and start_tls refuses a stream holding input. */
	f->tls_pending = true;
	whirl_timer_start(f->kick, 0, false);
}

static char *
basic_auth(const char *user, const char *pass)
{
	struct str raw = { 0 };
	char *out;
	size_t n;

	str_addf(&raw, "%s:%s", user, pass != NULL ? pass : "");
	n = 4 * ((raw.len + 2) / 3);
	out = whirl__xmalloc(n + 7);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)raw.p,
	    (int)raw.len);
	free(raw.p);
	return out;
}

static void
start_tunnel(struct whirl_fetch *f)
{
	struct str s = { 0 };
	char hp[WHIRL_ADDR_STRLEN + 16], *auth;

	if (f->u.v6)
		snprintf(hp, sizeof(hp), "[%s]:%d", f->u.host, f->u.port);
	else
		snprintf(hp, sizeof(hp), "%s:%d", f->u.host, f->u.port);
	str_addf(&s, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hp, hp);
	if (f->px.user != NULL) {
		auth = basic_auth(f->px.user, f->px.pass);
		str_addf(&s, "Proxy-Authorization: %s\r\n", auth);
		free(auth);
	}
	str_adds(&s, "\r\n");
	if (f->rq.debug_cb != NULL)
		f->rq.debug_cb(f, WHIRL_FETCH_HEAD_OUT, s.p, s.len, f->arg);
	whirl_stream_write(f->conn->s, s.p, s.len, NULL, NULL);
	free(s.p);
	whirl_stream_read_until(f->conn->s, "\r\n\r\n", 4, TUNNEL_MAX_HEAD,
	    on_tunnel_head, f);
}

static void
on_connect(struct whirl_connect *cn, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	struct whirl_fetch *f = arg;
	struct conn *k = f->conn;

	(void)cn;
	f->con = NULL;
	if (s == NULL) {
		free(f->errmsg);
		f->errmsg = whirl__xstrdup(errnum != 0 ? strerror(errnum) :
		    err);
		f->ai++;
		try_next_addr(f);
		return;
	}
	free(f->errmsg);
	f->errmsg = NULL;
	k->s = s;
	/* A head, then the body: no 40 ms wait for the server's delayed
	 * ACK in between (curl sets TCP_NODELAY too). */
	whirl_fd_nodelay(whirl_stream_fd(s));
	note_addresses(k);
	f->r.time_connect = elapsed(f);
	f->r.num_connects++;
	if (f->unix_socket != NULL)
		debug_info(f, "Connected to %s (%s)", f->u.host,
		    f->unix_socket);
	else
		debug_info(f, "Connected to %s (%s) port %d", f->conn_host,
		    k->remote_ip, k->remote_port);
	if (f->tunnel)
		start_tunnel(f);
	else if (f->u.tls)
		start_tls(f);
	else
		conn_ready(f);
}

/*
 * Sending: the head, then the body from memory, a file or a stream, with
 * the connection's queued output kept under PUMP_HIGH.
 */

static void pump(struct whirl_fetch *f);

static bool
omitted(const struct whirl_fetch *f, const char *name)
{
	size_t i;

	for (i = 0; f->omit != NULL && f->omit[i] != NULL; i++)
		if (strcasecmp(f->omit[i], name) == 0)
			return true;
	return false;
}

/* A default field, unless the caller sends or omits its own. */
static void
add_default(struct whirl_headers *hl, const struct whirl_fetch *f,
    const char *name, const char *value)
{
	if (value != NULL && whirl_headers_get(f->hdrs, name) == NULL &&
	    !omitted(f, name))
		whirl_headers_add(hl, name, value);
}

/* Another scheme, host or port than the first request's. */
static bool
cross_host(const struct whirl_fetch *f)
{
	return !f->rq.trusted_redirects &&
	    (strcmp(f->u.scheme, f->first_scheme) != 0 ||
	    strcasecmp(f->u.hostport, f->first_hostport) != 0);
}

static struct whirl_headers *
request_fields(struct whirl_fetch *f)
{
	struct whirl_headers *hl = whirl_headers_new();
	bool cross = cross_host(f);
	const char *n, *v, *host = whirl_headers_get(f->hdrs, "Host");
	char *auth = NULL, *jar = NULL;
	struct str ck = { 0 };
	size_t i;

	whirl_headers_add(hl, "Host", host != NULL ? host : f->u.hostport);
	if (f->u.user != NULL)
		auth = basic_auth(f->u.user, f->u.pass);
	else if (f->auth_user != NULL && !cross)
		auth = basic_auth(f->auth_user, f->auth_pass);
	add_default(hl, f, "Authorization", auth);
	add_default(hl, f, "User-Agent", f->user_agent != NULL ?
	    f->user_agent : f->c->user_agent);
	add_default(hl, f, "Accept", "*/*");
	if (f->use_proxy && !f->tunnel && f->px.user != NULL) {
		free(auth);
		auth = basic_auth(f->px.user, f->px.pass);
		add_default(hl, f, "Proxy-Authorization", auth);
	}
	if (f->rq.decompress)
		add_default(hl, f, "Accept-Encoding", "gzip, deflate");
	if (f->body == BODY_FORM)
		add_default(hl, f, "Content-Type",
		    whirl_form_content_type(f->rq.form));
	jar = jar_header(f->rq.cookies, &f->u);
	for (i = 0; whirl_headers_at(f->hdrs, i, &n, &v); i++) {
		if (strcasecmp(n, "Host") == 0)
			continue;
		if (cross && (strcasecmp(n, "Authorization") == 0 ||
		    strcasecmp(n, "Cookie") == 0))
			continue;
		if (strcasecmp(n, "Cookie") == 0 && jar != NULL) {
			str_addf(&ck, "%s%s", ck.len ? "; " : "", v);
			continue;
		}
		whirl_headers_add(hl, n, v);
	}
	if (jar != NULL) {
		str_addf(&ck, "%s%s", ck.len ? "; " : "", jar);
		whirl_headers_add(hl, "Cookie", ck.p);
	}
	free(ck.p);
	free(jar);
	free(auth);
	return hl;
}

static void
debug_head(struct whirl_fetch *f, const char *target,
    const struct whirl_headers *hl, int64_t cl)
{
	struct str s = { 0 };
	const char *n, *v;
	size_t i;

	if (f->rq.debug_cb == NULL)
		return;
	str_addf(&s, "%s %s HTTP/1.1\r\n", f->method, target);
	for (i = 0; whirl_headers_at(hl, i, &n, &v); i++)
		if (strcasecmp(n, "Content-Length") != 0 &&
		    strcasecmp(n, "Transfer-Encoding") != 0)
			str_addf(&s, "%s: %s\r\n", n, v);
	if (cl > 0 || (cl == 0 && strcmp(f->method, "GET") != 0 &&
	    strcmp(f->method, "HEAD") != 0))
		str_addf(&s, "Content-Length: %lld\r\n", (long long)cl);
	else if (cl < 0)
		str_adds(&s, "Transfer-Encoding: chunked\r\n");
	str_adds(&s, "\r\n");
	f->rq.debug_cb(f, WHIRL_FETCH_HEAD_OUT, s.p, s.len, f->arg);
	free(s.p);
}

static void
on_sent(struct whirl_http1 *h, const char *err, void *arg)
{
	struct conn *k = arg;

	(void)h;
	(void)err;
	k->ends_done++;
}

static void
end_request(struct whirl_fetch *f)
{
	struct conn *k = f->conn;

	f->pumping = false;
	whirl_stream_set_water(k->s, 0, NULL, NULL);
	k->ends_queued++;
	whirl_http1_write_end(k->h, on_sent, k);
}

static void
stop_pump(struct whirl_fetch *f)
{
	if (f->body_fd >= 0)
		close(f->body_fd);
	f->body_fd = -1;
	whirl_form_reader_free(f->form);
	f->form = NULL;
	if (f->stream_reading)
		whirl_stream_cancel_read(f->rq.body_stream);
	f->stream_reading = false;
	if (f->pumping && f->conn != NULL && f->conn->s != NULL)
		whirl_stream_set_water(f->conn->s, 0, NULL, NULL);
	f->pumping = false;
}

static void
on_water(struct whirl_stream *s, bool above, void *arg)
{
	struct conn *k = arg;

	(void)s;
	if (!above && k->f != NULL && k->f->pumping && !k->f->stream_reading)
		pump(k->f);
}

static void
on_body_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl_fetch *f = arg;

	(void)s;
	f->stream_reading = false;
	if (len > 0) {
		if (f->rq.body_stream_len >= 0 && len > f->body_left) {
			fail(f, WHIRL_FETCH_READ, "the request body is longer "
			    "than its %lld bytes",
			    (long long)f->rq.body_stream_len);
			return;
		}
		f->body_left -= len;
		f->r.size_upload += len;
		if (whirl_http1_write_body(f->conn->h, data, len) == -1)
			return;         /* the reading side will say why */
	}
	if (err == whirl_err_closed) {
		if (f->rq.body_stream_len >= 0 && f->body_left > 0) {
			fail(f, WHIRL_FETCH_READ, "the request body ended %llu "
			    "bytes short", (unsigned long long)f->body_left);
			return;
		}
		end_request(f);
		return;
	}
	if (err != NULL) {
		fail(f, WHIRL_FETCH_READ, "reading the request body: %s", err);
		return;
	}
	pump(f);
}

/* Move body bytes while the connection's queue is short. */
static void
pump(struct whirl_fetch *f)
{
	struct conn *k = f->conn;
	size_t want;
	ssize_t n;

	if (f->body == BODY_STREAM) {
		if (whirl_stream_write_pending(k->s) >= PUMP_HIGH)
			return;
		f->stream_reading = true;
		whirl_stream_read_bytes(f->rq.body_stream, PUMP_CHUNK, true,
		    on_body_read, f);
		return;
	}
	while (whirl_stream_write_pending(k->s) < PUMP_HIGH) {
		if (f->body_left == 0) {
			stop_pump(f);
			end_request(f);
			return;
		}
		want = f->body_left < PUMP_CHUNK ? f->body_left : PUMP_CHUNK;
		if (f->form != NULL) {
			if ((n = whirl_form_reader_read(f->form, f->pump_buf,
			    want)) <= 0) {
				fail(f, WHIRL_FETCH_READ, "%s", n == 0 ?
				    "the form ended early" : whirl_error());
				return;
			}
		} else if ((n = read(f->body_fd, f->pump_buf, want)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			fail(f, WHIRL_FETCH_READ, "Failed to read %s: %s",
			    f->body_file, n == 0 ? "it got shorter" :
			    strerror(errno));
			return;
		}
		f->body_left -= (uint64_t)n;
		f->r.size_upload += (uint64_t)n;
		if (whirl_http1_write_body(k->h, f->pump_buf, (size_t)n) == -1)
			return;
	}
}

/* The body's length (-1: chunked), opening a file body; -2 on failure
 * (reported). */
static int64_t
body_length(struct whirl_fetch *f)
{
	struct stat st;

	switch (f->body) {
	case BODY_NONE:
		return 0;
	case BODY_MEM:
		return (int64_t)f->mem_len;
	case BODY_FILE:
		f->body_fd = open(f->body_file, O_RDONLY | O_CLOEXEC);
		if (f->body_fd == -1 || fstat(f->body_fd, &st) == -1 ||
		    !S_ISREG(st.st_mode)) {
			fail(f, WHIRL_FETCH_READ, "Failed to open/read local "
			    "data from file %s: %s", f->body_file,
			    f->body_fd == -1 ? strerror(errno) :
			    "not a regular file");
			return -2;
		}
		f->body_left = (uint64_t)st.st_size;
		return (int64_t)st.st_size;
	case BODY_FORM:
		/* A fresh reader for every send: a redirect that keeps the
		 * body reads the files again. */
		whirl_form_reader_free(f->form);
		if ((f->form = whirl_form_reader_new(f->rq.form)) == NULL) {
			fail(f, WHIRL_FETCH_READ, "%s", whirl_error());
			return -2;
		}
		f->body_left = whirl_form_reader_length(f->form);
		return (int64_t)f->body_left;
	case BODY_STREAM:
		if (f->stream_touched) {
			fail(f, WHIRL_FETCH_REWIND, "necessary data rewind "
			    "wasn't possible");
			return -2;
		}
		f->stream_touched = true;
		f->body_left = f->rq.body_stream_len >= 0 ?
		    (uint64_t)f->rq.body_stream_len : 0;
		return f->rq.body_stream_len;
	}
	return 0;
}

static void reset_response(struct whirl_fetch *f);
static void conn_failed(struct whirl_fetch *f, enum whirl_fetch_error e,
    const char *why);

static void
send_request(struct whirl_fetch *f)
{
	struct conn *k = f->conn;
	struct whirl_headers *hl;
	const char *target;
	int64_t cl;

	f->phase = PH_REQUEST;
	k->requests++;
	reset_response(f);
	whirl_timer_stop(f->phase_timer);
	if ((cl = body_length(f)) == -2)
		return;
	f->r.time_pretransfer = elapsed(f);
	/* Copies: the connection may close before done. */
	memcpy(f->remote_ip, k->remote_ip, sizeof(f->remote_ip));
	memcpy(f->local_ip, k->local_ip, sizeof(f->local_ip));
	f->r.remote_ip = f->remote_ip;
	f->r.remote_port = k->remote_port;
	f->r.local_ip = f->local_ip;
	f->r.local_port = k->local_port;
	hl = request_fields(f);
	target = f->use_proxy && !f->tunnel ? f->u.plain : f->u.target;
	if (strcmp(f->method, "HEAD") == 0)
		whirl_http1_expect_no_body(k->h);
	if (whirl_http1_write_request_head(k->h, f->method, target, hl, NULL,
	    cl) == -1) {
		whirl_headers_free(hl);
		conn_failed(f, WHIRL_FETCH_SEND, "Send failure: connection "
		    "closed");
		return;
	}
	debug_head(f, target, hl, cl);
	whirl_headers_free(hl);
	if (f->rq.idle_timeout_ms > 0) {
		f->idle_watch = true;
		f->last_rx = whirl_loop_now_ms(f->c->loop);
		whirl_timer_start(f->phase_timer, f->rq.idle_timeout_ms, false);
	}
	switch (f->body) {
	case BODY_MEM:
		if (f->mem_len > 0)
			whirl_http1_write_body(k->h, f->mem, f->mem_len);
		f->r.size_upload += f->mem_len;
		/* FALLTHROUGH */
	case BODY_NONE:
		end_request(f);
		break;
	case BODY_FILE:
	case BODY_FORM:
	case BODY_STREAM:
		if (f->body != BODY_STREAM && f->pump_buf == NULL)
			f->pump_buf = whirl__xmalloc(PUMP_CHUNK);
		f->pumping = true;
		whirl_stream_set_water(k->s, PUMP_HIGH, on_water, k);
		pump(f);
		break;
	}
}

static const struct whirl_http1_delegate client_delegate;

static void
conn_ready(struct whirl_fetch *f)
{
	f->conn->h = whirl_http1_new(f->conn->s, WHIRL_HTTP1_CLIENT,
	    &client_limits, &client_delegate, f->conn);
	send_request(f);
}

/* The connection died before the answer began: once, on a reused
 * connection, send again on a fresh one. */
static void
conn_failed(struct whirl_fetch *f, enum whirl_fetch_error e, const char *why)
{
	bool rewind = f->body != BODY_STREAM;

	if (f->conn != NULL && f->conn->requests > 1 && !f->got_bytes &&
	    !f->retried && rewind) {
		f->retried = true;
		debug_info(f, "Connection died, retrying a fresh connect");
		hop_reset(f, false);
		pool_take(f, true);
		return;
	}
	fail(f, e, "%s", why);
}

/*
 * Receiving: the codec's delegate, decoding, collecting.
 */

static void
reset_response(struct whirl_fetch *f)
{
	whirl_headers_free(f->rh);
	f->rh = NULL;
	free(f->reason);
	f->reason = NULL;
	free(f->redirect_url);
	f->redirect_url = NULL;
	f->code = f->major = f->minor = 0;
	f->got_bytes = f->head_pending = f->redirecting = false;
	f->too_many = f->final = f->bodiless = false;
	f->resp_cl = -1;
	if (f->decoding)
		inflateEnd(&f->z);
	f->decoding = f->zdone = f->zraw_tried = false;
}

/* Hand body bytes to the caller, or collect them. */
static bool
emit(struct whirl_fetch *f, const char *data, size_t len)
{
	int rc;

	if (f->rq.body_cb != NULL) {
		f->depth++;
		rc = f->rq.body_cb(f, data, len, f->arg);
		f->depth--;
		if (gone(f))
			return false;
		if (rc != 0) {
			fail(f, WHIRL_FETCH_ABORTED, "Failure writing output "
			    "to destination");
			return false;
		}
		return true;
	}
	if (f->coll_len + len > f->rq.max_body) {
		fail(f, WHIRL_FETCH_TOO_LARGE, "Exceeded the maximum allowed "
		    "file size (%llu) with %llu bytes",
		    (unsigned long long)f->rq.max_body,
		    (unsigned long long)(f->coll_len + len));
		return false;
	}
	if (f->coll_len + len + 1 > f->coll_cap) {
		f->coll_cap = (f->coll_len + len + 1) * 2;
		f->coll = whirl__xrealloc(f->coll, f->coll_cap);
	}
	memcpy(f->coll + f->coll_len, data, len);
	f->coll_len += len;
	f->coll[f->coll_len] = '\0';
	return true;
}

static void
decode_start(struct whirl_fetch *f)
{
	const char *ce = whirl_headers_get(f->rh, "Content-Encoding");
	char last[32];
	size_t n;

	if (ce == NULL)
		return;
	/* The last coding applied is the one to undo. */
	if (strrchr(ce, ',') != NULL)
		ce = strrchr(ce, ',') + 1;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	n = strcspn(ce, " \t;");
	snprintf(last, sizeof(last), "%.*s", (int)n, ce);
	if (strcasecmp(last, "gzip") != 0 && strcasecmp(last, "x-gzip") != 0 &&
	    strcasecmp(last, "deflate") != 0)
		return;
	memset(&f->z, 0, sizeof(f->z));
	if (inflateInit2(&f->z, 15 + 32) != Z_OK)
		return;
	f->zdeflate = strcasecmp(last, "deflate") == 0;
	f->decoding = true;
	if (f->zout == NULL)
		f->zout = whirl__xmalloc(INFLATE_CHUNK);
}

static bool
decode(struct whirl_fetch *f, const char *data, size_t len)
{
	int ret;
	size_t got;

	f->z.next_in = (unsigned char *)(uintptr_t)data;
	f->z.avail_in = (unsigned)len;
	do {
		if (f->zdone)
			return true;   /* trailing bytes after the end */
		f->z.next_out = (unsigned char *)f->zout;
		f->z.avail_out = INFLATE_CHUNK;
		ret = inflate(&f->z, Z_NO_FLUSH);
		if (ret == Z_DATA_ERROR && f->zdeflate && !f->zraw_tried &&
		    f->z.total_out == 0) {
			/* "deflate" sent raw, as some servers do. */
			f->zraw_tried = true;
			inflateReset2(&f->z, -15);
			f->z.next_in = (unsigned char *)(uintptr_t)data;
			f->z.avail_in = (unsigned)len;
			f->z.avail_out = 0;
			continue;
		}
		if (ret == Z_STREAM_END)
			f->zdone = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			fail(f, WHIRL_FETCH_DECODE, "Error while processing "
			    "content unencoding: %s", f->z.msg != NULL ?
			    f->z.msg : "bad data");
			return false;
		}
		got = INFLATE_CHUNK - f->z.avail_out;
		if (got > 0 && !emit(f, f->zout, got))
			return false;
	} while (f->z.avail_out == 0);
	return true;
}

/* Tell the caller about the head, from a place where it may cancel. */
static bool
deliver_head(struct whirl_fetch *f)
{
	int rc;

	f->head_pending = false;
	if (f->rq.head_cb == NULL)
		return true;
	fill_response(f);
	f->depth++;
	rc = f->rq.head_cb(f, &f->r, f->arg);
	f->depth--;
	if (gone(f))
		return false;
	if (rc != 0) {
		fail(f, WHIRL_FETCH_ABORTED, "aborted by the head callback");
		return false;
	}
	return true;
}

static bool
is_redirect(int code)
{
	return code == 301 || code == 302 || code == 303 || code == 307 ||
	    code == 308;
}

static void
d_begin(struct whirl_http1 *h, void *arg)
{
	struct conn *k = arg;

	(void)h;
	if (k->f != NULL)
		k->f->got_bytes = true;
}

static void
store_cookies(struct whirl_fetch *f)
{
	const char *n, *v;
	size_t i;

	if (f->rq.cookies == NULL)
		return;
	for (i = 0; whirl_headers_at(f->rh, i, &n, &v); i++)
		if (strcasecmp(n, "Set-Cookie") == 0)
			whirl_cookie_jar_set(f->rq.cookies, f->url, v);
}

static int
d_headers(struct whirl_http1 *h, const struct whirl_http1_msg *m, void *arg)
{
	struct conn *k = arg;
	struct whirl_fetch *f = k->f;
	const char *n, *v, *loc;
	size_t i;

	if (f == NULL)
		return 502;     /* an answer nobody asked for: drop the conn */
	touch(f);
	f->got_bytes = true;
	whirl_headers_free(f->rh);
	f->rh = whirl_http1_take_headers(h);
	if (f->rh == NULL)
		f->rh = whirl_headers_new();
	free(f->reason);
	f->reason = whirl__xstrdup(m->reason);
	f->code = m->status;
	f->major = m->major;
	f->minor = m->minor;
	f->keep_alive = m->keep_alive;
	f->resp_cl = m->content_length;
	f->head_pending = true;
	f->r.size_header += 13 + strlen(m->reason) + 2;
	for (i = 0; whirl_headers_at(f->rh, i, &n, &v); i++)
		f->r.size_header += strlen(n) + strlen(v) + 4;
	f->r.size_header += 2;
	f->r.time_starttransfer = elapsed(f);
	if (f->code < 200) {
		if (strcmp(f->method, "HEAD") == 0)
			whirl_http1_expect_no_body(h);
		return 0;
	}
	if ((f->code == 204 || f->code == 304) && m->content_length > 0 &&
	    strcmp(f->method, "HEAD") != 0) {
		/* These never have a body (RFC 9112 6.3), but the codec
		 * would wait for Content-Length bytes: end on the next turn
		 * and close the connection, whatever follows on it. */
		f->bodiless = true;
		whirl_timer_start(f->kick, 0, false);
	}
	store_cookies(f);
	loc = whirl_headers_get(f->rh, "Location");
	if (is_redirect(f->code) && loc != NULL)
		f->redirect_url = whirl_url_join(f->url, loc);
	if (f->redirect_url != NULL && f->rq.follow_redirects) {
		if (f->rq.max_redirects >= 0 &&
		    f->r.num_redirects >= f->rq.max_redirects)
			f->too_many = true;
		else
			f->redirecting = true;
	}
	f->final = !f->redirecting && !f->too_many;
	f->r.size_download = 0;         /* counts the last answer, as curl */
	if (f->final) {
		if (f->rq.decompress && strcmp(f->method, "HEAD") != 0 &&
		    f->code != 204 && f->code != 304)
			decode_start(f);
	}
	return 0;
}

static void
d_body(struct whirl_http1 *h, const char *data, size_t len, void *arg)
{
	struct conn *k = arg;
	struct whirl_fetch *f = k->f;

	(void)h;
	if (f == NULL || f->bodiless)
		return;
	touch(f);
	if (f->head_pending && !deliver_head(f))
		return;
	f->r.size_download += len;
	if (!f->final)
		return;         /* a redirect's body */
	if (f->decoding)
		decode(f, data, len);
	else
		emit(f, data, len);
}

static void
follow(struct whirl_fetch *f)
{
	bool to_get = (f->code == 303 && strcmp(f->method, "HEAD") != 0) ||
	    ((f->code == 301 || f->code == 302) &&
	    strcmp(f->method, "POST") == 0);

	if (to_get) {
		free(f->method);
		f->method = whirl__xstrdup("GET");
		f->body = BODY_NONE;
		whirl_headers_remove(f->hdrs, "Content-Type");
		whirl_headers_remove(f->hdrs, "Content-Length");
	}
	f->r.num_redirects++;
	f->r.time_redirect = elapsed(f);
	/* Each hop may find its reused connection dead: one fresh try
	 * each. */
	f->retried = false;
	debug_info(f, "Issue another request to this URL: '%s'",
	    f->redirect_url);
	free(f->url);
	f->url = f->redirect_url;
	f->redirect_url = NULL;
	begin_hop(f);
}

static void
d_finish(struct whirl_http1 *h, void *arg)
{
	struct conn *k = arg;
	struct whirl_fetch *f = k->f;
	bool reusable;

	if (f == NULL)
		return;
	if (f->head_pending && !deliver_head(f))
		return;
	if (f->code < 200) {
		/* 100 Continue, 103 Early Hints: the answer follows. */
		whirl_http1_resume(h);
		return;
	}
	reusable = f->keep_alive && !f->pumping &&
	    k->ends_done == k->ends_queued;
	conn_release(k, reusable);
	if (f->too_many) {
		fail(f, WHIRL_FETCH_TOO_MANY_REDIRECTS,
		    "Maximum (%d) redirects followed", f->rq.max_redirects);
		return;
	}
	if (f->redirecting) {
		follow(f);
		return;
	}
	f->r.error = WHIRL_FETCH_OK;
	finish_fetch(f);
}

/* The end of a 204 or 304 that announced a length. */
static void
end_bodiless(struct whirl_fetch *f)
{
	f->bodiless = false;
	whirl_timer_stop(f->kick);
	if (f->head_pending && !deliver_head(f))
		return;
	conn_release(f->conn, false);
	f->r.error = WHIRL_FETCH_OK;
	finish_fetch(f);
}

static void
d_error(struct whirl_http1 *h, int status, const char *why, void *arg)
{
	static const char closed_inside[] =
	    "connection closed inside a message";
	struct conn *k = arg;
	struct whirl_fetch *f = k->f;
	char msg[512];

	(void)h;
	if (f == NULL) {
		idle_unlink(k);
		conn_close(k);
		return;
	}
	if (f->bodiless) {
		end_bodiless(f);
		return;
	}
	if (status != 0 && f->code == 0 && strstr(why, "HTTP/") != NULL) {
		/* Not even a status line: curl calls it HTTP/0.9. */
		fail(f, WHIRL_FETCH_UNSUPPORTED, "Received HTTP/0.9 when not "
		    "allowed");
	} else if (status != 0) {
		fail(f, WHIRL_FETCH_WEIRD_REPLY, "Weird server reply: %s", why);
	} else if (!f->got_bytes) {
		snprintf(msg, sizeof(msg), "Recv failure: %s", why);
		conn_failed(f, WHIRL_FETCH_RECV, msg);
	} else if (f->code != 0 && strcmp(why, closed_inside) == 0) {
		if (f->resp_cl >= 0)
			fail(f, WHIRL_FETCH_PARTIAL, "transfer closed with "
			    "%llu bytes remaining to read",
			    (unsigned long long)((uint64_t)f->resp_cl -
			    f->r.size_download));
		else
			fail(f, WHIRL_FETCH_PARTIAL, "transfer closed with "
			    "outstanding read data remaining");
	} else {
		fail(f, WHIRL_FETCH_RECV, "Recv failure: %s", why);
	}
}

static void
d_eof(struct whirl_http1 *h, void *arg)
{
	struct conn *k = arg;
	struct whirl_fetch *f = k->f;

	(void)h;
	if (f == NULL) {
		idle_unlink(k);
		conn_close(k);
		return;
	}
	if (f->bodiless) {
		end_bodiless(f);
		return;
	}
	conn_failed(f, WHIRL_FETCH_EMPTY_REPLY, "Empty reply from server");
}

static const struct whirl_http1_delegate client_delegate = {
	d_begin, d_headers, d_body, d_finish, d_error, d_eof
};

/*
 * Hops: which proxy, which pool.
 */

/* Is host in a no_proxy list ("*", "example.com", ".example.com",
 * "127.0.0.1", comma or blank separated)? */
static bool
no_proxy_match(const char *list, const char *host)
{
	const char *p = list, *q;
	size_t n, hl = strlen(host);

	while (*p != '\0') {
		p += strspn(p, ", \t");
		q = p + strcspn(p, ", \t");
		n = (size_t)(q - p);
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		if (n == 1 && p[0] == '*')
			return true;
		if (n > 0 && ((n == hl && strncasecmp(p, host, n) == 0) ||
		    (hl > n && host[hl - n - 1] == '.' &&
		    strncasecmp(host + hl - n, p, n) == 0)))
			return true;
		p = q;
	}
	return false;
}

static const char *
env2(const char *a, const char *b)
{
	const char *v = getenv(a);

	return v != NULL && *v != '\0' ? v : b != NULL ? getenv(b) : NULL;
}

/* Decide f->use_proxy and parse the proxy.  false if it was reported. */
static bool
choose_proxy(struct whirl_fetch *f)
{
	const char *spec = f->proxy_spec, *np = f->no_proxy;
	struct str full = { 0 };
	enum whirl_fetch_error e;

	f->use_proxy = f->tunnel = false;
	url_reset(&f->px);
	if (f->unix_socket != NULL)
		return true;
	if (spec == NULL) {
		/* curl reads only the lower-case http_proxy (CGI's
		 * HTTP_PROXY is the client's to set). */
		spec = f->u.tls ? env2("https_proxy", "HTTPS_PROXY") :
		    getenv("http_proxy");
		if (spec == NULL || *spec == '\0')
			spec = env2("all_proxy", "ALL_PROXY");
	}
	if (spec == NULL || *spec == '\0')
		return true;
	if (np == NULL)
		np = env2("no_proxy", "NO_PROXY");
	if (np != NULL && no_proxy_match(np, f->u.host))
		return true;
	if (strstr(spec, "://") == NULL)
		str_adds(&full, "http://");
	str_adds(&full, spec);
	e = url_parse(full.p, &f->px, true);
	free(full.p);
	if (e != WHIRL_FETCH_OK) {
		fail(f, e, "Unsupported proxy '%s': %s", spec, whirl_error());
		return false;
	}
	f->use_proxy = true;
	f->tunnel = f->u.tls;
	return true;
}

static void
begin_hop(struct whirl_fetch *f)
{
	enum whirl_fetch_error e;
	struct str key = { 0 };
	size_t i;

	url_reset(&f->u);
	if ((e = url_parse(f->url, &f->u, false)) != WHIRL_FETCH_OK) {
		fail(f, e, "%s", whirl_error());
		return;
	}
	if (f->first_scheme == NULL) {
		f->first_scheme = whirl__xstrdup(f->u.scheme);
		f->first_hostport = whirl__xstrdup(f->u.hostport);
	}
	if (!choose_proxy(f))
		return;
	/* Plain http through a proxy shares the proxy's connections. */
	if (f->use_proxy && !f->tunnel)
		str_addf(&key, "proxy %s:%d", f->px.host, f->px.port);
	else
		str_addf(&key, "%s %s %d", f->u.scheme, f->u.host, f->u.port);
	if (f->tunnel)
		str_addf(&key, " via %s:%d", f->px.host, f->px.port);
	if (f->unix_socket != NULL)
		str_addf(&key, " unix %s", f->unix_socket);
	if (f->u.tls)
		str_addf(&key, " tls %p", (void *)f->rq.tls);
	if (f->rq.family != AF_UNSPEC)
		str_addf(&key, " family %d", f->rq.family);
	for (i = 0; f->resolve != NULL && f->resolve[i] != NULL; i++)
		str_addf(&key, " pin %s", f->resolve[i]);
	f->pool = pool_get(f->c, key.p);
	free(key.p);
	pool_take(f, false);
}

/*
 * Starting and freeing.
 */

static char **
copy_list(const char *const *v, size_t n)
{
	char **out;
	size_t i;

	if (v == NULL || n == 0)
		return NULL;
	out = whirl__xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = whirl__xstrdup(v[i]);
	return out;
}

static char *
copy_str(const char *s)
{
	return s != NULL ? whirl__xstrdup(s) : NULL;
}

struct whirl_fetch *
whirl_httpclient_fetch(struct whirl_httpclient *c,
    const struct whirl_http_request *req, whirl_fetch_done_cb done, void *arg)
{
	struct whirl_fetch *f = whirl__xcalloc(1, sizeof(*f));
	const char *n, *v;
	size_t i, sources;

	f->c = c;
	f->next = c->fetches;
	if (c->fetches != NULL)
		c->fetches->prev = f;
	c->fetches = f;
	f->done = done;
	f->arg = arg;
	f->t0 = now_secs();
	f->body_fd = -1;
	f->resp_cl = -1;
	f->rq = *req;
	if (f->rq.max_body == 0)
		f->rq.max_body = DEFAULT_MAX_BODY;
	f->total = whirl_timer_new(c->loop, on_total_timeout, f);
	f->phase_timer = whirl_timer_new(c->loop, on_phase_timeout, f);
	f->kick = whirl_timer_new(c->loop, on_kick, f);
	f->starting = true;

	f->hdrs = whirl_headers_new();
	for (i = 0; req->headers != NULL &&
	    whirl_headers_at(req->headers, i, &n, &v); i++)
		whirl_headers_add(f->hdrs, n, v);
	f->omit = copy_list(req->omit, req->nomit);
	f->resolve = copy_list(req->resolve, req->nresolve);
	f->proxy_spec = copy_str(req->proxy);
	f->no_proxy = copy_str(req->no_proxy);
	f->unix_socket = copy_str(req->unix_socket);
	f->body_file = copy_str(req->body_file);
	f->auth_user = copy_str(req->auth_username);
	f->auth_pass = copy_str(req->auth_password);
	f->user_agent = copy_str(req->user_agent);
	f->url = whirl__xstrdup(req->url != NULL ? req->url : "");
	sources = (req->has_body || req->body_len > 0) +
	    (req->body_file != NULL) + (req->body_stream != NULL) +
	    (req->form != NULL);
	if (req->has_body || req->body_len > 0) {
		f->body = BODY_MEM;
		f->mem_len = req->body_len;
		f->mem = whirl__xmalloc(req->body_len + 1);
		if (req->body_len > 0)
			memcpy(f->mem, req->body, req->body_len);
	} else if (req->body_file != NULL) {
		f->body = BODY_FILE;
	} else if (req->body_stream != NULL) {
		f->body = BODY_STREAM;
	} else if (req->form != NULL) {
		f->body = BODY_FORM;
	}
	f->method = whirl__xstrdup(req->method != NULL ? req->method :
	    f->body != BODY_NONE ? "POST" : "GET");
	/* What was copied above is never read from rq again. */
	f->rq.url = f->rq.method = f->rq.user_agent = NULL;
	f->rq.auth_username = f->rq.auth_password = NULL;
	f->rq.headers = NULL;
	f->rq.omit = f->rq.resolve = NULL;
	f->rq.body = NULL;
	f->rq.body_file = f->rq.proxy = f->rq.no_proxy = NULL;
	f->rq.unix_socket = NULL;
	if (req->request_timeout_ms > 0)
		whirl_timer_start(f->total, req->request_timeout_ms, false);
	if (sources > 1)
		fail(f, WHIRL_FETCH_BAD_URL, "more than one request body");
	else if (!whirl_http_is_token(f->method, strlen(f->method)))
		fail(f, WHIRL_FETCH_BAD_URL, "bad method '%s'", f->method);
	else
		begin_hop(f);
	f->starting = false;
	return f;
}

void
whirl_httpclient_free(struct whirl_httpclient *c)
{
	struct whirl_fetch *f;
	struct pool *p;
	struct conn *k;

	if (c == NULL)
		return;
	/* Queues first, so that no closing connection serves a waiter. */
	for (f = c->fetches; f != NULL; f = f->next)
		if (f->phase == PH_WAIT) {
			pool_unwait(f);
			f->phase = PH_START;
		}
	while ((f = c->fetches) != NULL) {
		hop_reset(f, false);
		fetch_free(f);
	}
	while ((p = c->pools) != NULL) {
		while ((k = p->idle) != NULL) {
			idle_unlink(k);
			conn_close(k);
		}
		c->pools = p->next;
		free(p->key);
		free(p);
	}
	whirl_tls_ctx_free(c->tls);
	free(c->user_agent);
	free(c);
}
