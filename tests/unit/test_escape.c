/* test_escape.c - HTML, URL and JSON escaping, string and evbuffer forms. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "escape.h"
#include "unit.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Escapes with a length, since inputs may hold NULs. */
struct ecase {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *want;
};

#define IN(s) s, sizeof(s) - 1

static size_t
in_len(const struct ecase *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

/* The evbuffer's contents as a string, valid until the next call;
 * contents(NULL) frees the last one. */
static const char *
contents(struct evbuffer *b)
{
	static char *s;
	size_t n;

	free(s);
	s = NULL;
	if (b == NULL)
		return NULL;
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	return s;
}

TEST(html)
{
	static const struct ecase cases[] = {
		{ "", 0, "" },
		{ "plain text", 0, "plain text" },
		{ "<a href=\"x\">'Tom' & \"Jerry\"</a>", 0,
		    "&lt;a href=&quot;x&quot;&gt;&#39;Tom&#39; &amp; "
		    "&quot;Jerry&quot;&lt;/a&gt;" },
		{ "&amp;", 0, "&amp;amp;" },
		{ "<<>>", 0, "&lt;&lt;&gt;&gt;" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "bad \xff utf-8", 0, "bad \xff utf-8" },
		{ "tab\tnl\n/=", 0, "tab\tnl\n/=" },
		{ IN("a\0b"), "a&#65533;b" },
	};
	struct evbuffer *b = evbuffer_new();
	size_t i;
	char *s;

	for (i = 0; i < LEN(cases); i++) {
		s = whirl_html_escape(cases[i].in, in_len(&cases[i]));
		CHECK_EQ_STR(s, cases[i].want);
		free(s);
		evbuffer_drain(b, evbuffer_get_length(b));
		evbuffer_add(b, "pre:", 4);
		CHECK_EQ_INT(whirl_html_escape_buf(b, cases[i].in,
		    in_len(&cases[i])), 0);
		CHECK(strncmp(contents(b), "pre:", 4) == 0);
		CHECK_EQ_STR(contents(b) + 4, cases[i].want);
	}
	evbuffer_free(b);
}

TEST(url)
{
	static const struct {
		const char *in;
		int flags;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "AZaz09-._~", 0, "AZaz09-._~" },
		{ "a b", 0, "a%20b" },
		{ "a b", WHIRL_URL_PLUS, "a+b" },
		{ "a+b", WHIRL_URL_PLUS, "a%2Bb" },
		{ "/a b/c", 0, "%2Fa%20b%2Fc" },
		{ "/a b/c", WHIRL_URL_KEEP_SLASH, "/a%20b/c" },
		{ "/a b/c", WHIRL_URL_KEEP_SLASH | WHIRL_URL_PLUS, "/a+b/c" },
		{ "!*'();:@&=+$,/?#[]", 0,
		    "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D" },
		{ "%", 0, "%25" },
		{ "caf\xc3\xa9", 0, "caf%C3%A9" },
		{ "\x01\x7f\x80\xff", 0, "%01%7F%80%FF" },
		{ "..\\", WHIRL_URL_KEEP_SLASH, "..%5C" },
	};
	struct evbuffer *b = evbuffer_new();
	size_t i;
	char *s;

	for (i = 0; i < LEN(cases); i++) {
		s = whirl_url_escape(cases[i].in, strlen(cases[i].in),
		    cases[i].flags);
		CHECK_EQ_STR(s, cases[i].want);
		free(s);
		evbuffer_drain(b, evbuffer_get_length(b));
		CHECK_EQ_INT(whirl_url_escape_buf(b, cases[i].in,
		    strlen(cases[i].in), cases[i].flags), 0);
		CHECK_EQ_STR(contents(b), cases[i].want);
	}
	/* A NUL is just another byte. */
	s = whirl_url_escape("a\0b", 3, 0);
	CHECK_EQ_STR(s, "a%00b");
	free(s);
	evbuffer_free(b);
}

TEST(json)
{
	static const struct ecase cases[] = {
		{ "", 0, "" },
		{ "hello", 0, "hello" },
		{ "say \"hi\"", 0, "say \\\"hi\\\"" },
		{ "back\\slash", 0, "back\\\\slash" },
		{ "\b\f\n\r\t", 0, "\\b\\f\\n\\r\\t" },
		{ "\x01\x1f\x1b", 0, "\\u0001\\u001f\\u001b" },
		{ IN("nul\0x"), "nul\\u0000x" },
		{ "del\x7f", 0, "del\x7f" },
		{ "a/b", 0, "a/b" },
		{ "</script><!--", 0, "<\\/script><!--" },
		{ "<<//", 0, "<<\\//" },
		/* Valid UTF-8 of each length is kept. */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0,
		    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
		{ "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 0,
		    "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf" },
		{ "\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
		    0, "\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80"
		    "\xf4\x8f\xbf\xbf" },
		/* JavaScript's line terminators. */
		{ "a\xe2\x80\xa8" "b\xe2\x80\xa9", 0, "a\\u2028b\\u2029" },
		/* Invalid UTF-8: U+FFFD for each byte that starts nothing. */
		{ "\x80", 0, "\xef\xbf\xbd" },
		{ "a\xffz", 0, "a\xef\xbf\xbdz" },
		{ "\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc1\xbf", 0, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe0\x80\xaf", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x80\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd"
		    "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd"
		    "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf5\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "end\xe2\x82", 0, "end\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc3" "a", 0, "\xef\xbf\xbd" "a" },
		{ "\xe2\x82\"", 0, "\xef\xbf\xbd\xef\xbf\xbd\\\"" },
	};
	struct evbuffer *b = evbuffer_new();
	size_t i;
	char *s;

	for (i = 0; i < LEN(cases); i++) {
		s = whirl_json_escape(cases[i].in, in_len(&cases[i]));
		if (strcmp(s, cases[i].want) != 0)
			printf("# case %zu\n", i);
		CHECK_EQ_STR(s, cases[i].want);
		free(s);
		evbuffer_drain(b, evbuffer_get_length(b));
		CHECK_EQ_INT(whirl_json_escape_buf(b, cases[i].in,
		    in_len(&cases[i])), 0);
		CHECK_EQ_STR(contents(b), cases[i].want);
	}
	evbuffer_free(b);
}

/* Outputs longer than the sink's stack buffer, in both forms. */
/* RFC 4648's test vectors, binary bytes, and the evbuffer form. */
TEST(hex)
{
	static const struct {
		const char *in;
		long n;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "6869", 2, "hi" },
		{ "68 69", 2, "hi" },
		{ "68:69\t4A", 3, "hiJ" },
		{ "6 8", 1, "h" },             /* blanks skipped, even inside */
		{ "00ff", 2, "\x00\xff" },
		{ "686", -1, NULL },            /* odd */
		{ "6g", -1, NULL },
		{ "0x68", -1, NULL },
	};
	char out[8];
	size_t i;
	ssize_t n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = whirl_hex_decode(cases[i].in, out);
		CHECK_EQ_INT(n, cases[i].n);
		if (n >= 0)
			CHECK(memcmp(out, cases[i].want, (size_t)n) == 0);
	}
}

TEST(base64)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct evbuffer *b = evbuffer_new();
	size_t i;
	char *s;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = whirl_base64_encode(vec[i][0], strlen(vec[i][0]));
		CHECK_EQ_STR(s, vec[i][1]);
		free(s);
	}
	s = whirl_base64_encode("\0\xff\xfe\x80", 4);
	CHECK_EQ_STR(s, "AP/+gA==");
	free(s);
	CHECK_EQ_INT(whirl_base64_encode_buf(b, "foobar", 6), 0);
	CHECK_EQ_STR(contents(b), "Zm9vYmFy");
	evbuffer_free(b);
}

TEST(long_inputs)
{
	enum { N = 5000 };
	struct evbuffer *b = evbuffer_new();
	char *in = malloc(N), *want = malloc(6 * N + 1), *s;
	size_t i;

	memset(in, '<', N);
	for (i = 0; i < N; i++)
		memcpy(want + 4 * i, "&lt;", 4);
	want[4 * N] = '\0';
	s = whirl_html_escape(in, N);
	CHECK_EQ_STR(s, want);
	free(s);
	CHECK_EQ_INT(whirl_html_escape_buf(b, in, N), 0);
	CHECK_EQ_STR(contents(b), want);

	/* A long plain run, then one escape, then another run. */
	memset(in, 'a', N);
	in[N / 2] = '&';
	memset(want, 'a', N / 2);
	memcpy(want + N / 2, "&amp;", 5);
	memset(want + N / 2 + 5, 'a', N - N / 2 - 1);
	want[N + 4] = '\0';
	evbuffer_drain(b, evbuffer_get_length(b));
	CHECK_EQ_INT(whirl_html_escape_buf(b, in, N), 0);
	CHECK_EQ_STR(contents(b), want);

	for (i = 0; i < N; i++)
		in[i] = (char)(i % 2 ? ' ' : 'x');
	for (i = 0; i < N / 2; i++)
		memcpy(want + 4 * i, "x%20", 4);
	want[4 * (N / 2)] = '\0';
	s = whirl_url_escape(in, N, 0);
	CHECK_EQ_STR(s, want);
	evbuffer_drain(b, evbuffer_get_length(b));
	CHECK_EQ_INT(whirl_url_escape_buf(b, in, N, 0), 0);
	CHECK_EQ_STR(contents(b), s);
	free(s);

	memset(in, '\n', N);
	s = whirl_json_escape(in, N);
	CHECK_EQ_INT(strlen(s), 2 * N);
	CHECK(strncmp(s, "\\n\\n", 4) == 0);
	evbuffer_drain(b, evbuffer_get_length(b));
	CHECK_EQ_INT(whirl_json_escape_buf(b, in, N), 0);
	CHECK_EQ_STR(contents(b), s);
	free(s);

	free(in);
	free(want);
	evbuffer_free(b);
}

int
main(void)
{
	RUN(html);
	RUN(url);
	RUN(json);
	RUN(hex);
	RUN(base64);
	RUN(long_inputs);
	contents(NULL);
	return unit_done();
}
