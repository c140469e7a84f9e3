/* httputil.c - header and argument lists, percent-decoding, HTTP dates,
 * ranges, entity tags and reason phrases (httputil.h).
 *
 * Both lists are one array of fields plus one arena of bytes holding
 * "name\0value\0" for each field in field order.  A list starts on
 * storage inside its own struct, so the usual request or response head
 * costs one allocation; clearing keeps whatever was grown.  Removal
 * compacts the arena at once, so set() in a loop never grows it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httputil.h"
#include "internal.h"

#define INLINE_FIELDS 16
#define INLINE_BYTES  512

struct field {
	uint32_t off;           /* name at buf + off, value after its NUL */
	uint32_t nlen, vlen;
};

struct list {
	struct field *f;
	size_t n, fcap;
	char *buf;
	size_t used, bcap;
	size_t size;            /* sum of nlen + vlen */
	struct field inl_f[INLINE_FIELDS];
	char inl_buf[INLINE_BYTES];
};

struct whirl_headers {
	struct list l;
};

struct whirl_args {
	struct list l;
};

/* A few freed header lists kept per thread for the next request; a
 * bounded cache, not per connection, so idle connections hold nothing. */
#define SPARE_HEADERS_MAX 64
static _Thread_local struct whirl_headers *spare_headers;
static _Thread_local int nspare_headers;

static void
list_init(struct list *l)
{
	l->f = l->inl_f;
	l->fcap = INLINE_FIELDS;
	l->buf = l->inl_buf;
	l->bcap = INLINE_BYTES;
	l->n = l->used = l->size = 0;
}

static void
list_release(struct list *l)
{
	if (l->f != l->inl_f)
		free(l->f);
	if (l->buf != l->inl_buf)
		free(l->buf);
}

static void
list_clear(struct list *l)
{
	l->n = l->used = l->size = 0;
}

/* Grow an array that may still be the inline one. */
static void *
grow(void *p, const void *inl, size_t used, size_t newsize)
{
	void *q;

	if (p != inl)
		return whirl__xrealloc(p, newsize);
	q = whirl__xmalloc(newsize);
	memcpy(q, p, used);
	return q;
}

/* Start a field of nlen + vlen bytes: room in both arrays, the field's
 * offset set; the caller fills the bytes and calls list_commit.  -1 if
 * the arena would pass what 32-bit offsets can address. */
static struct field *
list_reserve(struct list *l, size_t nlen, size_t vlen)
{
	size_t need = nlen + vlen + 2, cap;
	struct field *f;

	if (need > UINT32_MAX - l->used) {
		whirl__seterr(0, "header list too large");
		return NULL;
	}
	if (l->n == l->fcap) {
		l->f = grow(l->f, l->inl_f, l->n * sizeof(*l->f),
		    2 * l->fcap * sizeof(*l->f));
		l->fcap *= 2;
	}
	if (need > l->bcap - l->used) {
		for (cap = 2 * l->bcap; cap - l->used < need; cap *= 2)
			;
		l->buf = grow(l->buf, l->inl_buf, l->used, cap);
		l->bcap = cap;
	}
	f = &l->f[l->n];
	f->off = (uint32_t)l->used;
	f->nlen = (uint32_t)nlen;
	f->vlen = (uint32_t)vlen;
	return f;
}

static void
list_commit(struct list *l, struct field *f)
{
	l->buf[f->off + f->nlen] = '\0';
	l->buf[f->off + f->nlen + 1 + f->vlen] = '\0';
	l->used += f->nlen + f->vlen + 2;
	l->size += f->nlen + f->vlen;
	l->n++;
}

static void
list_add(struct list *l, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct field *f = list_reserve(l, nlen, vlen);

	if (f == NULL)
		return;
	memcpy(l->buf + f->off, name, nlen);
	memcpy(l->buf + f->off + nlen + 1, value, vlen);
	list_commit(l, f);
}

static const char *
fname(const struct list *l, const struct field *f)
{
	return l->buf + f->off;
}

static const char *
fvalue(const struct list *l, const struct field *f)
{
	return l->buf + f->off + f->nlen + 1;
}

static bool
same_name(const struct list *l, const struct field *f, const char *name,
    size_t nlen, bool nocase)
{
	if (f->nlen != nlen)
		return false;
	return nocase ? strncasecmp(fname(l, f), name, nlen) == 0 :
	    memcmp(fname(l, f), name, nlen) == 0;
}

static const struct field *
list_find(const struct list *l, const char *name, bool nocase)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < l->n; i++)
		if (same_name(l, &l->f[i], name, nlen, nocase))
			return &l->f[i];
	return NULL;
}

/* Drop every field of that name, sliding the survivors' bytes down so
 * the arena holds no holes. */
static size_t
list_remove(struct list *l, const char *name, bool nocase)
{
	size_t i, kept = 0, used = 0, nlen = strlen(name), bytes;
	struct field f;

	for (i = 0; i < l->n; i++) {
		f = l->f[i];
		if (same_name(l, &f, name, nlen, nocase)) {
			l->size -= f.nlen + f.vlen;
			continue;
		}
		bytes = f.nlen + f.vlen + 2;
		memmove(l->buf + used, l->buf + f.off, bytes);
		f.off = (uint32_t)used;
		l->f[kept++] = f;
		used += bytes;
	}
	i = l->n - kept;
	l->n = kept;
	l->used = used;
	return i;
}

static bool
list_at(const struct list *l, size_t i, const char **name,
    const char **value)
{
	if (i >= l->n)
		return false;
	if (name != NULL)
		*name = fname(l, &l->f[i]);
	if (value != NULL)
		*value = fvalue(l, &l->f[i]);
	return true;
}

/*
 * Headers.
 */

/* RFC 9110 tchar: the characters of a token (a field name, a method). */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-')
		return true;
	return c != '\0' && strchr("!#$%&'*+.^_`|~", c) != NULL;
}

bool
whirl_http_is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static int
check_field(const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t i;

	if (!whirl_http_is_token(name, nlen)) {
		whirl__seterr(0, "invalid header name \"%.*s\"",
		    (int)(nlen > 64 ? 64 : nlen), name);
		return -1;
	}
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '\r' || c == '\n' || c == '\0') {
			whirl__seterr(0, "CR, LF or NUL in the value of "
			    "header %.*s", (int)(nlen > 64 ? 64 : nlen), name);
			return -1;
		}
		/* RFC 9110 field-content: no other control byte but HTAB
		 * either (llhttp, ours and Node's, refuses to read one). */
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			whirl__seterr(0, "control character in the value of "
			    "header %.*s", (int)(nlen > 64 ? 64 : nlen), name);
			return -1;
		}
	}
	return 0;
}

struct whirl_headers *
whirl_headers_new(void)
{
	struct whirl_headers *h = spare_headers;

	/* A server makes and drops one list per request: reuse them. */
	if (h != NULL) {
		spare_headers = *(struct whirl_headers **)h;
		nspare_headers--;
	} else {
		h = whirl__xmalloc(sizeof(*h));
	}
	list_init(&h->l);
	return h;
}

void
whirl_headers_free(struct whirl_headers *h)
{
	if (h == NULL)
		return;
	list_release(&h->l);
	if (nspare_headers < SPARE_HEADERS_MAX) {
		*(struct whirl_headers **)h = spare_headers;
		spare_headers = h;
		nspare_headers++;
		return;
	}
	free(h);
}

void
whirl_headers_clear(struct whirl_headers *h)
{
	list_clear(&h->l);
}

int
whirl_headers_addn(struct whirl_headers *h, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	size_t n = h->l.n;

	if (check_field(name, nlen, value, vlen) == -1)
		return -1;
	list_add(&h->l, name, nlen, value, vlen);
	return h->l.n > n ? 0 : -1;
}

int
whirl_headers_add(struct whirl_headers *h, const char *name,
    const char *value)
{
	return whirl_headers_addn(h, name, strlen(name), value,
	    strlen(value));
}

int
whirl_headers_set(struct whirl_headers *h, const char *name,
    const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	/* Check before removing, so a refused value leaves the old one. */
	if (check_field(name, nlen, value, vlen) == -1)
		return -1;
	list_remove(&h->l, name, true);
	return whirl_headers_addn(h, name, nlen, value, vlen);
}

int
whirl_http_check_field(const char *name, const char *value)
{
	return check_field(name, strlen(name), value, strlen(value));
}

int
whirl_http_split_header(const char *spec, char *name, size_t size,
    const char **value)
{
	const char *colon = strchr(spec, ':'), *v;
	size_t n;

	if (colon == NULL) {
		whirl__seterr(0, "no ':' (Name: value)");
		return -1;
	}
	n = (size_t)(colon - spec);
	v = colon + 1 + strspn(colon + 1, " \t");
	if (check_field(spec, n, v, strlen(v)) == -1)
		return -1;
	if (n >= size) {
		whirl__seterr(0, "header name longer than %zu bytes", size - 1);
		return -1;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	*value = v;
	return 0;
}

size_t
whirl_headers_remove(struct whirl_headers *h, const char *name)
{
	return list_remove(&h->l, name, true);
}

const char *
whirl_headers_get(const struct whirl_headers *h, const char *name)
{
	const struct field *f = list_find(&h->l, name, true);

	return f != NULL ? fvalue(&h->l, f) : NULL;
}

bool
whirl_headers_at(const struct whirl_headers *h, size_t i, const char **name,
    const char **value)
{
	return list_at(&h->l, i, name, value);
}

bool
whirl_headers_atn(const struct whirl_headers *h, size_t i,
    const char **name, size_t *nlen, const char **value, size_t *vlen)
{
	if (!list_at(&h->l, i, name, value))
		return false;
	if (nlen != NULL)
		*nlen = h->l.f[i].nlen;
	if (vlen != NULL)
		*vlen = h->l.f[i].vlen;
	return true;
}

size_t
whirl_headers_count(const struct whirl_headers *h)
{
	return h->l.n;
}

size_t
whirl_headers_size(const struct whirl_headers *h)
{
	return h->l.size;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the comma-separated list s hold token (ignoring case)? */
static bool
list_has_token(const char *s, const char *token, size_t tlen)
{
	const char *end;
	size_t len;

	for (;;) {
		while (is_ows(*s) || *s == ',')
			s++;
		if (*s == '\0')
			return false;
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		while (len > 0 && is_ows(s[len - 1]))
			len--;
		if (len == tlen && strncasecmp(s, token, tlen) == 0)
			return true;
		if (end == NULL)
			return false;
		s = end + 1;
	}
}

bool
whirl_headers_has_token(const struct whirl_headers *h, const char *name,
    const char *token)
{
	size_t i, nlen = strlen(name), tlen = strlen(token);

	for (i = 0; i < h->l.n; i++)
		if (same_name(&h->l, &h->l.f[i], name, nlen, true) &&
		    list_has_token(fvalue(&h->l, &h->l.f[i]), token, tlen))
			return true;
	return false;
}

/*
 * Percent-decoding and arguments.
 */

long
whirl_percent_decode(const char *in, size_t len, char *out,
    bool plus_as_space)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (in[i] == '%') {
			if (len - i < 3 ||
			    (hi = whirl__hex_digit((unsigned char)in[i + 1])) < 0 ||
			    (lo = whirl__hex_digit((unsigned char)in[i + 2])) < 0) {
				out[o] = '\0';
				whirl__seterr(0, "malformed percent escape");
				return -1;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (in[i] == '+' && plus_as_space)
			out[o++] = ' ';
		else
			out[o++] = in[i];
	}
	out[o] = '\0';
	return (long)o;
}

struct whirl_args *
whirl_args_new(void)
{
	struct whirl_args *a = whirl__xmalloc(sizeof(*a));

	list_init(&a->l);
	return a;
}

void
whirl_args_free(struct whirl_args *a)
{
	if (a == NULL)
		return;
	list_release(&a->l);
	free(a);
}

void
whirl_args_clear(struct whirl_args *a)
{
	list_clear(&a->l);
}

/* Decode one "name=value" pair straight into the arena.  The decoded
 * strings are never longer than the encoded ones, so the room reserved
 * for the encoded lengths is enough; the field's lengths are corrected
 * before it is committed. */
static bool
args_add_pair(struct list *l, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq != NULL ? (size_t)(eq - s) : len;
	size_t vlen = eq != NULL ? len - nlen - 1 : 0;
	struct field *f;
	long dn, dv;
	char *p;

	if ((f = list_reserve(l, nlen, vlen)) == NULL)
		return false;
	p = l->buf + f->off;
	if ((dn = whirl_percent_decode(s, nlen, p, true)) < 0 ||
	    memchr(p, '\0', (size_t)dn) != NULL)
		return false;
	if ((dv = whirl_percent_decode(s + nlen + 1, vlen, p + dn + 1,
	    true)) < 0 || memchr(p + dn + 1, '\0', (size_t)dv) != NULL)
		return false;
	f->nlen = (uint32_t)dn;
	f->vlen = (uint32_t)dv;
	list_commit(l, f);
	return true;
}

size_t
whirl_args_parse(struct whirl_args *a, const char *s, size_t len)
{
	const char *end = s + len, *amp;
	size_t added = 0;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (amp == NULL)
			amp = end;
		if (amp > s && args_add_pair(&a->l, s, (size_t)(amp - s)))
			added++;
		s = amp + 1;
	}
	return added;
}

int
whirl_args_add(struct whirl_args *a, const char *name, const char *value)
{
	size_t n = a->l.n;

	list_add(&a->l, name, strlen(name), value, strlen(value));
	return a->l.n > n ? 0 : -1;
}

const char *
whirl_args_get(const struct whirl_args *a, const char *name)
{
	const struct field *f = list_find(&a->l, name, false);

	return f != NULL ? fvalue(&a->l, f) : NULL;
}

bool
whirl_args_at(const struct whirl_args *a, size_t i, const char **name,
    const char **value)
{
	return list_at(&a->l, i, name, value);
}

size_t
whirl_args_count(const struct whirl_args *a)
{
	return a->l.n;
}

/*
 * Dates.  Civil-calendar arithmetic on day numbers (days since
 * 1970-01-01), proleptic Gregorian, in 400-year eras: no locale, no
 * time-zone lock, exact for every year 0000-9999.
 */

static const char wdays[7][4] = {
	"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"   /* from 1970-01-01 */
};
static const char *const wdays_long[7] = {
	"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday",
	"Wednesday"
};
static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

#define SECS_PER_DAY 86400
#define MAX_DATE     253402300799LL    /* 9999-12-31 23:59:59 */

static void
civil_from_days(long long z, int *y, int *m, int *d)
{
	long long era, yoe, doy, mp;

	z += 719468;            /* count from 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static long long
days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy -
	    719468;
}

static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

char *
whirl_http_date(time_t t, char *buf)
{
	long long s = t < 0 ? 0 : t > MAX_DATE ? MAX_DATE : (long long)t;
	long long days = s / SECS_PER_DAY;
	int secs = (int)(s % SECS_PER_DAY), y, m, d;

	civil_from_days(days, &y, &m, &d);
	memcpy(buf, wdays[days % 7], 3);
	memcpy(buf + 3, ", ", 2);
	put2(buf + 5, d);
	buf[7] = ' ';
	memcpy(buf + 8, months[m - 1], 3);
	buf[11] = ' ';
	put2(buf + 12, y / 100);
	put2(buf + 14, y % 100);
	buf[16] = ' ';
	put2(buf + 17, secs / 3600);
	buf[19] = ':';
	put2(buf + 20, secs / 60 % 60);
	buf[22] = ':';
	put2(buf + 23, secs % 60);
	memcpy(buf + 25, " GMT", 5);
	return buf;
}

/* A small cursor over the date text; every reader fails on a mismatch. */
struct scan {
	const char *p;
	bool ok;
};

static void
expect(struct scan *sc, const char *lit)
{
	size_t n = strlen(lit);

	if (sc->ok && strncmp(sc->p, lit, n) == 0)
		sc->p += n;
	else
		sc->ok = false;
}

/* Exactly `width` digits, or 1-2 digits after a space when width is 0
 * (asctime's day: " 6" or "16"). */
static int
digits(struct scan *sc, int width)
{
	int v = 0, i;

	if (!sc->ok)
		return 0;
	if (width == 0) {
		if (*sc->p == ' ')
			sc->p++;
		width = sc->p[0] >= '0' && sc->p[0] <= '9' &&
		    sc->p[1] >= '0' && sc->p[1] <= '9' ? 2 : 1;
	}
	for (i = 0; i < width; i++) {
		if (sc->p[i] < '0' || sc->p[i] > '9') {
			sc->ok = false;
			return 0;
		}
		v = v * 10 + (sc->p[i] - '0');
	}
	sc->p += width;
	return v;
}

static int
month(struct scan *sc)
{
	int i;

	for (i = 0; sc->ok && i < 12; i++) {
		if (strncmp(sc->p, months[i], 3) == 0) {
			sc->p += 3;
			return i + 1;
		}
	}
	sc->ok = false;
	return 0;
}

/* A weekday name from the table; its value is not checked against the
 * date, as no sender gets it wrong on purpose and nothing depends on it. */
static void
weekday(struct scan *sc, bool long_form)
{
	size_t i, n;

	for (i = 0; sc->ok && i < 7; i++) {
		n = long_form ? strlen(wdays_long[i]) : 3;
		if (strncmp(sc->p, long_form ? wdays_long[i] : wdays[i],
		    n) == 0) {
			sc->p += n;
			return;
		}
	}
	sc->ok = false;
}

static void
clock_time(struct scan *sc, int *hh, int *mm, int *ss)
{
	*hh = digits(sc, 2);
	expect(sc, ":");
	*mm = digits(sc, 2);
	expect(sc, ":");
	*ss = digits(sc, 2);
}

/* RFC 9110: a two-digit year more than 50 years in the future is the
 * most recent past year with those digits. */
static int
full_year(int yy)
{
	int y, m, d, now;

	civil_from_days((long long)time(NULL) / SECS_PER_DAY, &y, &m, &d);
	now = y;
	y = now - now % 100 + yy;
	if (y > now + 50)
		y -= 100;
	return y;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
whirl_http_date_parse(const char *s, time_t *out)
{
	static const int mdays[12] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	struct scan sc = { s, true };
	int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;

	if (strlen(s) >= 4 && s[3] == ',') {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		weekday(&sc, false);
		expect(&sc, ", ");
		d = digits(&sc, 2);
		expect(&sc, " ");
		m = month(&sc);
		expect(&sc, " ");
		y = digits(&sc, 4);
		expect(&sc, " ");
		clock_time(&sc, &hh, &mm, &ss);
		expect(&sc, " GMT");
	} else if (strchr(s, ',') != NULL) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		weekday(&sc, true);
		expect(&sc, ", ");
		d = digits(&sc, 2);
		expect(&sc, "-");
		m = month(&sc);
		expect(&sc, "-");
		y = digits(&sc, 2);
		expect(&sc, " ");
		clock_time(&sc, &hh, &mm, &ss);
		expect(&sc, " GMT");
		y = full_year(y);
	} else {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		weekday(&sc, false);
		expect(&sc, " ");
		m = month(&sc);
		expect(&sc, " ");
		d = digits(&sc, 0);
		expect(&sc, " ");
		clock_time(&sc, &hh, &mm, &ss);
		expect(&sc, " ");
		y = digits(&sc, 4);
	}
	if (!sc.ok || *sc.p != '\0' || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !is_leap(y)) || hh > 23 || mm > 59 ||
	    ss > 60) {
		whirl__seterr(0, "not an HTTP date: \"%.40s\"", s);
		return -1;
	}
	/* A leap second (:60) counts as the next second, as POSIX time
	 * has no name for it. */
	*out = (time_t)(days_from_civil(y, m, d) * SECS_PER_DAY +
	    hh * 3600 + mm * 60 + ss);
	return 0;
}

bool
whirl_http_status_transient(int code)
{
	return code == 408 || code == 429 || code == 500 || code == 502 ||
	    code == 503 || code == 504;
}

uint64_t
whirl_http_retry_after_ms(const char *value, time_t now)
{
	unsigned long long secs;
	time_t when;
	char *end;

	if (value == NULL)
		return 0;
	if (whirl_http_date_parse(value, &when) == 0)
		return when > now ? (uint64_t)(when - now) * 1000 : 0;
	if (*value < '0' || *value > '9')
		return 0;
	errno = 0;
	secs = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || secs > 86400ULL * 365)
		return 0;
	return (uint64_t)secs * 1000;
}

/*
 * Ranges, entity tags, media types.
 */

/* Decimal digits into *v; false when none or on overflow. */
static bool
parse_u64(const char **sp, uint64_t *v)
{
	const char *s = *sp;

	*v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	return true;
}

int
whirl_http_range_parse(const char *value, uint64_t size, uint64_t *start,
    uint64_t *len)
{
	const char *s = value;
	uint64_t first = 0, last = UINT64_MAX;
	bool suffix, has_last;

	if (strncasecmp(s, "bytes", 5) != 0)
		return 0;
	s += 5;
	while (is_ows(*s))
		s++;
	if (*s++ != '=')
		return 0;
	while (is_ows(*s))
		s++;
	suffix = *s == '-';
	if (suffix)
		s++;
	else if (!parse_u64(&s, &first) || *s++ != '-')
		return 0;
	has_last = *s >= '0' && *s <= '9';
	if (has_last && !parse_u64(&s, &last))
		return 0;
	if (suffix && !has_last)
		return 0;               /* "bytes=-" */
	while (is_ows(*s))
		s++;
	if (*s != '\0')
		return 0;               /* more ranges, or junk: serve it all */
	if (suffix) {
		if (last == 0)
			return -1;
		if (size == 0)
			return 0;
		*len = last < size ? last : size;
		*start = size - *len;
		return 1;
	}
	if (first > last)
		return 0;
	if (first >= size)
		return -1;
	if (last >= size)
		last = size - 1;
	*start = first;
	*len = last - first + 1;
	return 1;
}

/* The opaque-tag of an entity-tag, without a weak prefix. */
static const char *
strip_weak(const char *tag, size_t *len)
{
	if (*len >= 2 && tag[0] == 'W' && tag[1] == '/') {
		*len -= 2;
		return tag + 2;
	}
	return tag;
}

bool
whirl_etag_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag), n;
	const char *e = strip_weak(etag, &elen), *end, *tag;

	for (const char *s = list;;) {
		while (is_ows(*s) || *s == ',')
			s++;
		if (*s == '\0')
			return false;
		end = s;
		if (end[0] == 'W' && end[1] == '/')
			end += 2;
		if (*end == '"') {      /* commas may hide inside quotes */
			end = strchr(end + 1, '"');
			end = end != NULL ? end + 1 : s + strlen(s);
		}
		end += strcspn(end, ",");
		n = (size_t)(end - s);
		while (n > 0 && is_ows(s[n - 1]))
			n--;
		tag = strip_weak(s, &n);
		if ((n == 1 && *tag == '*') ||
		    (n == elen && memcmp(tag, e, n) == 0))
			return true;
		s = end;
	}
}

bool
whirl_media_type_is(const char *content_type, const char *type)
{
	size_t n = strcspn(content_type, ";"), tlen = strlen(type);

	while (n > 0 && is_ows(content_type[n - 1]))
		n--;
	while (n > 0 && is_ows(*content_type)) {
		content_type++;
		n--;
	}
	return n == tlen && strncasecmp(content_type, type, n) == 0;
}

/*
 * Reason phrases: RFC 9110's, and the other codes in IANA's registry.
 */

const char *
whirl_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 102: return "Processing";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 207: return "Multi-Status";
	case 208: return "Already Reported";
	case 226: return "IM Used";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 305: return "Use Proxy";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 418: return "I'm a Teapot";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 423: return "Locked";
	case 424: return "Failed Dependency";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 506: return "Variant Also Negotiates";
	case 507: return "Insufficient Storage";
	case 508: return "Loop Detected";
	case 510: return "Not Extended";
	case 511: return "Network Authentication Required";
	default: return "Unknown";
	}
}
