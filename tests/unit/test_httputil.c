/* test_httputil.c - header and argument lists, percent-decoding, dates,
 * ranges, entity tags, media types and reason phrases. */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "httputil.h"
#include "unit.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every field of h as "name: value\n", in order. */
static const char *
dump(const struct whirl_headers *h)
{
	static char buf[8192];
	const char *n, *v;
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; whirl_headers_at(h, i, &n, &v); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
		    "%s: %s\n", n, v);
	return buf;
}

static const char *
dump_args(const struct whirl_args *a)
{
	static char buf[8192];
	const char *n, *v;
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; whirl_args_at(a, i, &n, &v); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
		    "[%s=%s]", n, v);
	return buf;
}

TEST(headers_add_get)
{
	struct whirl_headers *h = whirl_headers_new();

	CHECK_EQ_INT(whirl_headers_count(h), 0);
	CHECK_EQ_STR(whirl_headers_get(h, "Host"), NULL);
	CHECK_EQ_INT(whirl_headers_add(h, "Host", "example.com"), 0);
	CHECK_EQ_INT(whirl_headers_add(h, "Set-Cookie", "a=1"), 0);
	CHECK_EQ_INT(whirl_headers_add(h, "set-cookie", "b=2"), 0);
	CHECK_EQ_INT(whirl_headers_add(h, "X-Empty", ""), 0);
	CHECK_EQ_INT(whirl_headers_count(h), 4);
	/* Names keep their case; lookups ignore it; the first value wins. */
	CHECK_EQ_STR(dump(h), "Host: example.com\nSet-Cookie: a=1\n"
	    "set-cookie: b=2\nX-Empty: \n");
	CHECK_EQ_STR(whirl_headers_get(h, "HOST"), "example.com");
	CHECK_EQ_STR(whirl_headers_get(h, "host"), "example.com");
	CHECK_EQ_STR(whirl_headers_get(h, "SET-COOKIE"), "a=1");
	CHECK_EQ_STR(whirl_headers_get(h, "x-empty"), "");
	CHECK_EQ_STR(whirl_headers_get(h, "Hos"), NULL);
	CHECK_EQ_STR(whirl_headers_get(h, "Hostt"), NULL);
	/* 4 + 11 + 10 + 3 + 10 + 3 + 7 + 0 */
	CHECK_EQ_INT(whirl_headers_size(h), 48);
	CHECK(!whirl_headers_at(h, 4, NULL, NULL));
	whirl_headers_free(h);
	whirl_headers_free(NULL);
}

TEST(headers_addn_atn)
{
	struct whirl_headers *h = whirl_headers_new();
	const char *n, *v;
	size_t nl, vl;

	/* addn takes exactly the lengths given, not up to a NUL. */
	CHECK_EQ_INT(whirl_headers_addn(h, "Content-Typexx", 12,
	    "text/htmlyy", 9), 0);
	CHECK(whirl_headers_atn(h, 0, &n, &nl, &v, &vl));
	CHECK_EQ_STR(n, "Content-Type");
	CHECK_EQ_INT(nl, 12);
	CHECK_EQ_STR(v, "text/html");
	CHECK_EQ_INT(vl, 9);
	CHECK(whirl_headers_atn(h, 0, NULL, NULL, NULL, &vl));
	CHECK_EQ_INT(vl, 9);
	CHECK(!whirl_headers_atn(h, 1, &n, &nl, &v, &vl));
	whirl_headers_free(h);
}

TEST(headers_set_remove)
{
	struct whirl_headers *h = whirl_headers_new();

	whirl_headers_add(h, "A", "1");
	whirl_headers_add(h, "B", "2");
	whirl_headers_add(h, "a", "3");
	whirl_headers_add(h, "C", "4");
	CHECK_EQ_INT(whirl_headers_set(h, "A", "five"), 0);
	CHECK_EQ_STR(dump(h), "B: 2\nC: 4\nA: five\n");
	CHECK_EQ_INT(whirl_headers_size(h), 1 + 1 + 1 + 1 + 1 + 4);
	CHECK_EQ_INT(whirl_headers_set(h, "D", "6"), 0);
	CHECK_EQ_STR(dump(h), "B: 2\nC: 4\nA: five\nD: 6\n");
	CHECK_EQ_INT(whirl_headers_remove(h, "b"), 1);
	CHECK_EQ_INT(whirl_headers_remove(h, "b"), 0);
	CHECK_EQ_STR(dump(h), "C: 4\nA: five\nD: 6\n");
	whirl_headers_add(h, "c", "7");
	CHECK_EQ_INT(whirl_headers_remove(h, "C"), 2);
	CHECK_EQ_STR(dump(h), "A: five\nD: 6\n");
	CHECK_EQ_INT(whirl_headers_size(h), 1 + 4 + 1 + 1);
	/* A refused value leaves the old one in place. */
	CHECK_EQ_INT(whirl_headers_set(h, "A", "x\r\ny"), -1);
	CHECK_EQ_STR(whirl_headers_get(h, "A"), "five");
	CHECK_EQ_INT(whirl_headers_remove(h, "A"), 1);
	CHECK_EQ_INT(whirl_headers_remove(h, "D"), 1);
	CHECK_EQ_INT(whirl_headers_count(h), 0);
	CHECK_EQ_INT(whirl_headers_size(h), 0);
	CHECK_EQ_STR(dump(h), "");
	whirl_headers_free(h);
}

TEST(headers_refused)
{
	static const struct {
		const char *name, *value;
		size_t vlen;
	} bad[] = {
		{ "", "v", 1 },
		{ "Bad Name", "v", 1 },
		{ "Bad:Name", "v", 1 },
		{ "Name\r", "v", 1 },
		{ "Na\nme", "v", 1 },
		{ "(x)", "v", 1 },
		{ "a\"b", "v", 1 },
		{ "é", "v", 1 },
		{ "a/b", "v", 1 },
		{ "X", "a\rb", 3 },
		{ "X", "a\nb", 3 },
		{ "X", "a\0b", 3 },
		{ "X", "\r\n", 2 },
	};
	struct whirl_headers *h = whirl_headers_new();
	size_t i;

	for (i = 0; i < LEN(bad); i++) {
		CHECK_EQ_INT(whirl_headers_addn(h, bad[i].name,
		    strlen(bad[i].name), bad[i].value, bad[i].vlen), -1);
		CHECK(whirl_error()[0] != '\0');
	}
	CHECK_EQ_INT(whirl_headers_add(h, "", "v"), -1);
	CHECK_EQ_STR(whirl_error(), "invalid header name \"\"");
	CHECK_EQ_INT(whirl_headers_add(h, "X", "a\nb"), -1);
	CHECK_EQ_STR(whirl_error(), "CR, LF or NUL in the value of header X");
	CHECK_EQ_INT(whirl_headers_set(h, "Bad Name", "v"), -1);
	CHECK_EQ_INT(whirl_headers_count(h), 0);
	/* Every tchar, and tab and obs-text in a value, are fine. */
	CHECK_EQ_INT(whirl_headers_add(h, "!#$%&'*+-.^_`|~09azAZ",
	    "a\tb \x80\xff"), 0);
	CHECK_EQ_INT(whirl_headers_count(h), 1);
	whirl_headers_free(h);
}

TEST(is_token)
{
	CHECK(whirl_http_is_token("GET", 3));
	CHECK(whirl_http_is_token("M-SEARCH", 8));
	CHECK(!whirl_http_is_token("", 0));
	CHECK(!whirl_http_is_token("G T", 3));
	CHECK(!whirl_http_is_token("GET\0", 4));
	CHECK(!whirl_http_is_token("{}", 2));
	CHECK(!whirl_http_is_token("a@b", 3));
	CHECK(!whirl_http_is_token("a=b", 3));
}

/* -H as typed: the name copied, the value past the colon and its
 * blanks; anything that could not be sent is refused here. */
TEST(split_header)
{
	char name[8];
	const char *v = NULL;

	CHECK(whirl_http_split_header("X-A:  b c ", name, sizeof(name),
	    &v) == 0);
	CHECK_EQ_STR(name, "X-A");
	CHECK_EQ_STR(v, "b c ");
	CHECK(whirl_http_split_header("X-A:", name, sizeof(name), &v) == 0);
	CHECK_EQ_STR(v, "");
	CHECK(whirl_http_split_header("X-A: a:b", name, sizeof(name),
	    &v) == 0);
	CHECK_EQ_STR(name, "X-A");
	CHECK_EQ_STR(v, "a:b");
	CHECK(whirl_http_split_header("NoColon", name, sizeof(name), &v) == -1);
	CHECK_EQ_STR(whirl_error(), "no ':' (Name: value)");
	CHECK(whirl_http_split_header(": v", name, sizeof(name), &v) == -1);
	CHECK_EQ_STR(whirl_error(), "invalid header name \"\"");
	CHECK(whirl_http_split_header("A B: v", name, sizeof(name), &v) == -1);
	CHECK_EQ_STR(whirl_error(), "invalid header name \"A B\"");
	CHECK(whirl_http_split_header("X: a\r\nEvil: 1", name, sizeof(name),
	    &v) == -1);
	CHECK_EQ_STR(whirl_error(), "CR, LF or NUL in the value of header X");
	CHECK(whirl_http_split_header("X: a\x01", name, sizeof(name),
	    &v) == -1);
	CHECK_EQ_STR(whirl_error(), "control character in the value of header X");
	CHECK(whirl_http_split_header("Eight-ch: v", name, sizeof(name),
	    &v) == -1);
	CHECK_EQ_STR(whirl_error(), "header name longer than 7 bytes");
	CHECK(whirl_http_split_header("Seven-c: v", name, sizeof(name),
	    &v) == 0);
	CHECK_EQ_STR(name, "Seven-c");
}

TEST(check_field)
{
	CHECK_EQ_INT(whirl_http_check_field("Origin", "http://a\tb"), 0);
	CHECK_EQ_INT(whirl_http_check_field("Origin", "x\r\nY: 1"), -1);
	CHECK_EQ_STR(whirl_error(), "CR, LF or NUL in the value of header Origin");
	CHECK_EQ_INT(whirl_http_check_field("Referer", "a\x7f"), -1);
	CHECK_EQ_STR(whirl_error(), "control character in the value of header Referer");
	CHECK_EQ_INT(whirl_http_check_field("Bad Name", "v"), -1);
	CHECK_EQ_STR(whirl_error(), "invalid header name \"Bad Name\"");
}

TEST(headers_clear_reuse)
{
	struct whirl_headers *h = whirl_headers_new();
	const char *first;
	char name[32], value[64];
	int i;

	/* Grow well past the storage inside the struct. */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "X-Field-%d", i);
		snprintf(value, sizeof(value), "value number %d", i);
		CHECK_EQ_INT(whirl_headers_add(h, name, value), 0);
	}
	CHECK_EQ_INT(whirl_headers_count(h), 300);
	CHECK_EQ_STR(whirl_headers_get(h, "x-field-0"), "value number 0");
	CHECK_EQ_STR(whirl_headers_get(h, "X-FIELD-299"),
	    "value number 299");
	/* Removing compacts; the survivors keep their values. */
	for (i = 0; i < 300; i += 2) {
		snprintf(name, sizeof(name), "x-field-%d", i);
		CHECK_EQ_INT(whirl_headers_remove(h, name), 1);
	}
	CHECK_EQ_INT(whirl_headers_count(h), 150);
	for (i = 1; i < 300; i += 2) {
		snprintf(name, sizeof(name), "X-Field-%d", i);
		snprintf(value, sizeof(value), "value number %d", i);
		CHECK_EQ_STR(whirl_headers_get(h, name), value);
	}
	first = whirl_headers_get(h, "X-Field-1");
	whirl_headers_clear(h);
	CHECK_EQ_INT(whirl_headers_count(h), 0);
	CHECK_EQ_INT(whirl_headers_size(h), 0);
	CHECK_EQ_STR(whirl_headers_get(h, "X-Field-1"), NULL);
	/* The memory is kept: the same field lands at the same place. */
	CHECK_EQ_INT(whirl_headers_add(h, "X-Field-1", "value number 1"), 0);
	CHECK(whirl_headers_get(h, "X-Field-1") == first);
	CHECK_EQ_STR(dump(h), "X-Field-1: value number 1\n");
	/* set in a loop never grows the list. */
	for (i = 0; i < 10000; i++)
		whirl_headers_set(h, "X-Field-1", "value number 1");
	CHECK_EQ_INT(whirl_headers_count(h), 1);
	CHECK(whirl_headers_get(h, "X-Field-1") == first);
	whirl_headers_free(h);
}

TEST(headers_has_token)
{
	struct whirl_headers *h = whirl_headers_new();

	whirl_headers_add(h, "Connection", "keep-alive, Upgrade");
	whirl_headers_add(h, "connection", " ,close ,\t");
	whirl_headers_add(h, "Accept-Encoding", "gzip;q=1.0, br");
	CHECK(whirl_headers_has_token(h, "Connection", "upgrade"));
	CHECK(whirl_headers_has_token(h, "CONNECTION", "Keep-Alive"));
	CHECK(whirl_headers_has_token(h, "Connection", "close"));
	CHECK(!whirl_headers_has_token(h, "Connection", "keep"));
	CHECK(!whirl_headers_has_token(h, "Connection", "upgrade2"));
	CHECK(!whirl_headers_has_token(h, "Connection", ""));
	CHECK(!whirl_headers_has_token(h, "Upgrade", "close"));
	CHECK(whirl_headers_has_token(h, "Accept-Encoding", "br"));
	/* Parameters are part of the element: has_token is for plain lists. */
	CHECK(!whirl_headers_has_token(h, "Accept-Encoding", "gzip"));
	whirl_headers_free(h);
}

TEST(percent_decode)
{
	static const struct {
		const char *in;
		bool plus;
		long want_len;
		const char *want;
	} cases[] = {
		{ "", false, 0, "" },
		{ "abc", false, 3, "abc" },
		{ "a%20b", false, 3, "a b" },
		{ "a+b", true, 3, "a b" },
		{ "a+b", false, 3, "a+b" },
		{ "%2B+", true, 2, "+ " },
		{ "%41%6a%6A", false, 3, "Ajj" },
		{ "%E2%82%AC", false, 3, "\xe2\x82\xac" },
		{ "%2F..%2f", false, 4, "/../" },
		{ "100%25", false, 4, "100%" },
		{ "%25zz", false, 3, "%zz" },
		{ "%", false, -1, NULL },
		{ "a%", false, -1, NULL },
		{ "%4", false, -1, NULL },
		{ "%zz", false, -1, NULL },
		{ "%4g", false, -1, NULL },
		{ "%g4", false, -1, NULL },
		{ "ok%2", true, -1, NULL },
		{ "% 20", false, -1, NULL },
	};
	char out[64];
	size_t i;
	long n;

	for (i = 0; i < LEN(cases); i++) {
		n = whirl_percent_decode(cases[i].in, strlen(cases[i].in),
		    out, cases[i].plus);
		CHECK_EQ_INT(n, cases[i].want_len);
		if (n >= 0) {
			CHECK_EQ_STR(out, cases[i].want);
			CHECK_EQ_INT(out[n], '\0');
		}
	}
	/* A NUL comes through, counted. */
	n = whirl_percent_decode("a%00b", 5, out, false);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(out, "a\0b", 4) == 0);
	/* Only len bytes are read. */
	CHECK_EQ_INT(whirl_percent_decode("ab%zz", 2, out, false), 2);
	CHECK_EQ_STR(out, "ab");
	CHECK_EQ_INT(whirl_percent_decode("%41%", 3, out, false), 1);
	CHECK_EQ_STR(out, "A");
}

TEST(args_parse)
{
	static const struct {
		const char *in;
		size_t added;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "a=1&b=&c&a=2", 4, "[a=1][b=][c=][a=2]" },
		{ "x=a+b%21", 1, "[x=a b!]" },
		{ "&&x=1&&", 1, "[x=1]" },
		{ "bad=%zz&ok=1", 1, "[ok=1]" },
		{ "%zz=1&ok=2", 1, "[ok=2]" },
		{ "nul=%00&%00=v&k=v", 1, "[k=v]" },
		{ "=v", 1, "[=v]" },
		{ "=", 1, "[=]" },
		{ "a=b=c", 1, "[a=b=c]" },
		{ "a;b=1", 1, "[a;b=1]" },
		{ "q=%E2%82%AC+%26", 1, "[q=\xe2\x82\xac &]" },
		{ "na+me=v%3Dw", 1, "[na me=v=w]" },
	};
	struct whirl_args *a = whirl_args_new();
	size_t i;

	for (i = 0; i < LEN(cases); i++) {
		whirl_args_clear(a);
		CHECK_EQ_INT(whirl_args_parse(a, cases[i].in,
		    strlen(cases[i].in)), cases[i].added);
		CHECK_EQ_INT(whirl_args_count(a), cases[i].added);
		CHECK_EQ_STR(dump_args(a), cases[i].want);
	}
	whirl_args_free(a);
	whirl_args_free(NULL);
}

TEST(args_get_append)
{
	struct whirl_args *a = whirl_args_new();
	char big[4000];
	size_t i;

	CHECK_EQ_INT(whirl_args_parse(a, "a=1&b=2&a=3", 11), 3);
	/* Only len bytes count. */
	CHECK_EQ_INT(whirl_args_parse(a, "c=4&d=5", 3), 1);
	CHECK_EQ_STR(whirl_args_get(a, "a"), "1");
	CHECK_EQ_STR(whirl_args_get(a, "c"), "4");
	CHECK_EQ_STR(whirl_args_get(a, "d"), NULL);
	/* Names are compared exactly. */
	CHECK_EQ_STR(whirl_args_get(a, "A"), NULL);
	CHECK_EQ_INT(whirl_args_add(a, "raw", "%41+"), 0);
	CHECK_EQ_STR(whirl_args_get(a, "raw"), "%41+");
	CHECK_EQ_STR(dump_args(a), "[a=1][b=2][a=3][c=4][raw=%41+]");
	/* Large bodies grow past the inline storage. */
	for (i = 0; i + 4 < sizeof(big); i += 4)
		memcpy(big + i, "x=y&", 4);
	big[i] = '\0';
	whirl_args_clear(a);
	CHECK_EQ_INT(whirl_args_parse(a, big, strlen(big)), i / 4);
	CHECK_EQ_STR(whirl_args_get(a, "x"), "y");
	whirl_args_free(a);
}

TEST(http_date_format)
{
	static const struct {
		time_t t;
		const char *want;
	} cases[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
		{ 1795867200, "Sat, 28 Nov 2026 12:00:00 GMT" },
		{ 2147483648, "Tue, 19 Jan 2038 03:14:08 GMT" },
		{ 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ 253402300800, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ -1, "Thu, 01 Jan 1970 00:00:00 GMT" },
	};
	char buf[30];
	size_t i;

	for (i = 0; i < LEN(cases); i++) {
		memset(buf, 'x', sizeof(buf));
		CHECK(whirl_http_date(cases[i].t, buf) == buf);
		CHECK_EQ_STR(buf, cases[i].want);
	}
}

/* Against the C library, in the C locale, across 1970-2100. */
TEST(http_date_vs_libc)
{
	char mine[30], libc[64];
	struct tm tm;
	time_t t;
	int bad = 0;

	setlocale(LC_TIME, "C");
	for (t = 0; t < 4102444800; t += 86400 * 7 + 3607) {
		whirl_http_date(t, mine);
		gmtime_r(&t, &tm);
		strftime(libc, sizeof(libc), "%a, %d %b %Y %H:%M:%S GMT",
		    &tm);
		if (strcmp(mine, libc) != 0 && bad++ < 3)
			CHECK_EQ_STR(mine, libc);
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(http_date_parse)
{
	static const struct {
		const char *in;
		time_t want;            /* -1: refused */
	} cases[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Sun Nov  6 08:49:37 1994", 784111777 },
		{ "Wed Nov 16 08:49:37 1994", 784111777 + 10 * 86400 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Tue, 29 Feb 2000 00:00:00 GMT", 951782400 },
		{ "Sat, 28 Nov 2026 12:00:00 GMT", 1795867200 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 },
		/* Two-digit years: at most 50 years ahead of now (2026+). */
		{ "Tuesday, 01-Jan-30 00:00:00 GMT", 1893456000 },
		{ "Friday, 01-Jan-99 00:00:00 GMT", 915148800 },
		/* A leap second is the next second. */
		{ "Sun, 06 Nov 1994 08:49:60 GMT", 784111800 },
		{ "", -1 },
		{ "garbage", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT ", -1 },
		{ " Sun, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37", -1 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 94 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 8:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:61 GMT", -1 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 31 Nov 1994 08:49:37 GMT", -1 },
		{ "Mon, 29 Feb 1900 00:00:00 GMT", -1 },
		{ "Mon, 29 Feb 1999 00:00:00 GMT", -1 },
		{ "Foo, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMTx", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GM", -1 },
		{ "Sun, 06 Xyz 1994 08:49:37 GMT", -1 },
		{ "Sun, 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-1994 08:49:37 GMT", -1 },
		{ "Sunday, 06 Nov 94 08:49:37 GMT", -1 },
		{ "Sun Nov  6 08:49:37 94", -1 },
		{ "Sun Nov  6 08:49:37 1994 GMT", -1 },
		{ "Sun Nov 6  08:49:37 1994", -1 },
		{ "Sun,", -1 },
		{ "1994-11-06T08:49:37Z", -1 },
		{ "784111777", -1 },
	};
	time_t t;
	size_t i;
	int r;

	for (i = 0; i < LEN(cases); i++) {
		t = 12345;
		r = whirl_http_date_parse(cases[i].in, &t);
		if (cases[i].want == -1) {
			if (r != -1)
				printf("# accepted \"%s\"\n", cases[i].in);
			CHECK_EQ_INT(r, -1);
			CHECK_EQ_INT(t, 12345);
		} else {
			if (r != 0)
				printf("# refused \"%s\"\n", cases[i].in);
			CHECK_EQ_INT(r, 0);
			CHECK_EQ_INT(t, cases[i].want);
		}
	}
	CHECK_EQ_INT(whirl_http_date_parse("nope", &t), -1);
	CHECK_EQ_STR(whirl_error(), "not an HTTP date: \"nope\"");
}

TEST(http_date_round_trip)
{
	char buf[30];
	time_t t, back;
	int bad = 0;

	for (t = 0; t < 253402300799; t += 86400 * 365 + 12345) {
		whirl_http_date(t, buf);
		if (whirl_http_date_parse(buf, &back) != 0 || back != t)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(retry_statuses_and_retry_after)
{
	static const int transient[] = { 408, 429, 500, 502, 503, 504 };
	time_t now = 784111777;         /* Sun, 06 Nov 1994 08:49:37 GMT */
	int code, n = 0;
	size_t i;

	for (code = 100; code < 600; code++)
		n += whirl_http_status_transient(code);
	CHECK_EQ_INT(n, 6);
	for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		CHECK(whirl_http_status_transient(transient[i]));
	CHECK_EQ_INT(whirl_http_retry_after_ms(NULL, now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("0", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("120", now), 120000);
	CHECK_EQ_INT(whirl_http_retry_after_ms("31536000", now),
	    31536000000LL);
	CHECK_EQ_INT(whirl_http_retry_after_ms("31536001", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms(" 5", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("+5", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("-1", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("5s", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms("99999999999999999999999", now),
	    0);
	CHECK_EQ_INT(whirl_http_retry_after_ms(
	    "Sun, 06 Nov 1994 08:50:07 GMT", now), 30000);
	CHECK_EQ_INT(whirl_http_retry_after_ms(
	    "Sunday, 06-Nov-94 08:49:40 GMT", now), 3000);
	CHECK_EQ_INT(whirl_http_retry_after_ms(
	    "Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
	CHECK_EQ_INT(whirl_http_retry_after_ms(
	    "Sun, 06 Nov 1994 08:00:00 GMT", now), 0);
}

TEST(reasons)
{
	static const struct {
		int status;
		const char *want;
	} cases[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 206, "Partial Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 304, "Not Modified" },
		{ 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" },
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 416, "Range Not Satisfiable" },
		{ 418, "I'm a Teapot" },
		{ 422, "Unprocessable Content" },
		{ 426, "Upgrade Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 451, "Unavailable For Legal Reasons" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
		{ 511, "Network Authentication Required" },
		{ 0, "Unknown" },
		{ -1, "Unknown" },
		{ 199, "Unknown" },
		{ 306, "Unknown" },
		{ 499, "Unknown" },
		{ 600, "Unknown" },
		{ 999, "Unknown" },
	};
	size_t i;

	for (i = 0; i < LEN(cases); i++)
		CHECK_EQ_STR(whirl_http_reason(cases[i].status),
		    cases[i].want);
}

TEST(range_parse)
{
	static const struct {
		const char *in;
		uint64_t size;
		int want;
		uint64_t start, len;
	} cases[] = {
		{ "bytes=0-499", 1000, 1, 0, 500 },
		{ "bytes=500-999", 1000, 1, 500, 500 },
		{ "bytes=500-", 1000, 1, 500, 500 },
		{ "bytes=-500", 1000, 1, 500, 500 },
		{ "bytes=-5000", 1000, 1, 0, 1000 },
		{ "bytes=0-0", 1000, 1, 0, 1 },
		{ "bytes=999-", 1000, 1, 999, 1 },
		{ "bytes=900-5000", 1000, 1, 900, 100 },
		{ "Bytes = 1-2 ", 1000, 1, 1, 2 },
		{ "bytes=0-18446744073709551615", 10, 1, 0, 10 },
		{ "bytes=1000-", 1000, -1, 0, 0 },
		{ "bytes=1000-2000", 1000, -1, 0, 0 },
		{ "bytes=-0", 1000, -1, 0, 0 },
		{ "bytes=0-", 0, -1, 0, 0 },
		{ "bytes=-5", 0, 0, 0, 0 },
		{ "bytes=5-1", 1000, 0, 0, 0 },
		{ "bytes=0-1,5-6", 1000, 0, 0, 0 },
		{ "bytes=-", 1000, 0, 0, 0 },
		{ "bytes=", 1000, 0, 0, 0 },
		{ "bytes=a-b", 1000, 0, 0, 0 },
		{ "bytes=1", 1000, 0, 0, 0 },
		{ "bytes=+1-2", 1000, 0, 0, 0 },
		{ "bytes=1-2x", 1000, 0, 0, 0 },
		{ "bytes 0-1", 1000, 0, 0, 0 },
		{ "items=0-1", 1000, 0, 0, 0 },
		{ "bytes=18446744073709551616-", 1000, 0, 0, 0 },
		{ "", 1000, 0, 0, 0 },
	};
	uint64_t start, len;
	size_t i;
	int r;

	for (i = 0; i < LEN(cases); i++) {
		start = len = 77;
		r = whirl_http_range_parse(cases[i].in, cases[i].size,
		    &start, &len);
		if (r != cases[i].want)
			printf("# \"%s\"\n", cases[i].in);
		CHECK_EQ_INT(r, cases[i].want);
		if (r == 1) {
			CHECK_EQ_INT(start, cases[i].start);
			CHECK_EQ_INT(len, cases[i].len);
		}
	}
}

TEST(etag_match)
{
	static const struct {
		const char *list, *etag;
		bool want;
	} cases[] = {
		{ "\"abc\"", "\"abc\"", true },
		{ "\"abc\"", "\"abd\"", false },
		{ "*", "\"abc\"", true },
		{ "W/\"abc\"", "\"abc\"", true },
		{ "\"abc\"", "W/\"abc\"", true },
		{ "\"x\", \"abc\"", "\"abc\"", true },
		{ "\"x\",W/\"abc\" ,\"y\"", "\"abc\"", true },
		{ "\"a,b\", \"c\"", "\"a,b\"", true },
		{ "\"a,b\", \"c\"", "\"c\"", true },
		{ "\"a,b\"", "\"a\"", false },
		{ "abc", "\"abc\"", false },
		{ "\"ABC\"", "\"abc\"", false },
		{ "", "\"abc\"", false },
		{ " , ", "\"abc\"", false },
		{ "\"abc", "\"abc\"", false },
	};
	size_t i;

	for (i = 0; i < LEN(cases); i++) {
		if (whirl_etag_match(cases[i].list, cases[i].etag) !=
		    cases[i].want)
			printf("# %s vs %s\n", cases[i].list, cases[i].etag);
		CHECK(whirl_etag_match(cases[i].list, cases[i].etag) ==
		    cases[i].want);
	}
}

TEST(media_type)
{
	const char *form = "application/x-www-form-urlencoded";

	CHECK(whirl_media_type_is(form, form));
	CHECK(whirl_media_type_is(
	    "Application/X-WWW-Form-URLEncoded; charset=utf-8", form));
	CHECK(whirl_media_type_is(" application/json ;x=y",
	    "application/json"));
	CHECK(!whirl_media_type_is("application/jsonx", "application/json"));
	CHECK(!whirl_media_type_is("application/jso", "application/json"));
	CHECK(!whirl_media_type_is("", "application/json"));
	CHECK(!whirl_media_type_is("multipart/form-data; boundary=x", form));
}

int
main(void)
{
	RUN(headers_add_get);
	RUN(headers_addn_atn);
	RUN(headers_set_remove);
	RUN(headers_refused);
	RUN(is_token);
	RUN(split_header);
	RUN(check_field);
	RUN(headers_clear_reuse);
	RUN(headers_has_token);
	RUN(percent_decode);
	RUN(args_parse);
	RUN(args_get_append);
	RUN(http_date_format);
	RUN(http_date_vs_libc);
	RUN(http_date_parse);
	RUN(http_date_round_trip);
	RUN(retry_statuses_and_retry_after);
	RUN(reasons);
	RUN(range_parse);
	RUN(etag_match);
	RUN(media_type);
	return unit_done();
}
