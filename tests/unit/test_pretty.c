/* test_pretty.c - indented and coloured JSON, coloured heads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "error.h"
#include "pretty.h"
#include "unit.h"

/* whirl_json_pretty's output as a string ("ERROR" when it refused). */
static char *
json(const char *in, size_t len, int flags)
{
	struct evbuffer *b = evbuffer_new();
	char *s;
	size_t n;

	evbuffer_add(b, "<", 1);
	if (whirl_json_pretty(b, in, len, flags) == -1) {
		/* Nothing may have been added. */
		s = strdup(evbuffer_get_length(b) == 1 ? "ERROR" : "ADDED");
		evbuffer_free(b);
		return s;
	}
	n = evbuffer_get_length(b) - 1;
	s = malloc(n + 1);
	evbuffer_drain(b, 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

#define PRETTY(in, flags, want)                                            \
	do {                                                               \
		char *got_ = json(in, sizeof(in) - 1, flags);              \
		CHECK_EQ_STR(got_, want);                                  \
		free(got_);                                                \
	} while (0)

TEST(json_layout)
{
	PRETTY("{}", 0, "{}\n");
	PRETTY(" [ ] ", 0, "[]\n");
	PRETTY("1", 0, "1\n");
	PRETTY("\"s\"", 0, "\"s\"\n");
	PRETTY("{\"a\":1,\"b\":[true,false,null],\"c\":{}}", 0,
	    "{\n"
	    "    \"a\": 1,\n"
	    "    \"b\": [\n"
	    "        true,\n"
	    "        false,\n"
	    "        null\n"
	    "    ],\n"
	    "    \"c\": {}\n"
	    "}\n");
	PRETTY("[[[1]]]", 0,
	    "[\n    [\n        [\n            1\n        ]\n    ]\n]\n");
	/* Tokens are copied as written: escapes, exponents, raw UTF-8. */
	PRETTY("\t{ \"k\\u00e9\\n\" :\r\n-0.5e+10 , \"\xc3\xa9\":\"\\\"/\"}\n",
	    0, "{\n    \"k\\u00e9\\n\": -0.5e+10,\n    \"\xc3\xa9\": "
	    "\"\\\"/\"\n}\n");
}

TEST(json_color)
{
	PRETTY("{\"a\":[\"s\",1,null]}", WHIRL_PRETTY_COLOR,
	    "{\n"
	    "    \033[34m\"a\"\033[0m: [\n"
	    "        \033[33m\"s\"\033[0m,\n"
	    "        \033[36m1\033[0m,\n"
	    "        \033[35mnull\033[0m\n"
	    "    ]\n"
	    "}\n");
}

TEST(json_refused)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\"}", "{\"a\":}", "{a:1}",
		"[1 2]", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul",
		"\"unterminated", "\"bad \\x escape\"", "\"\\u12g4\"",
		"\"raw\ttab\"", "{} {}", "[1]x", "'single'", "NaN",
		"[\"a\",]", "{\"a\":1,}", "\"\\",
	};
	size_t i;
	char *got, deep[2000];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = json(bad[i], strlen(bad[i]), 0);
		if (strcmp(got, "ERROR") != 0)
			printf("# accepted: %s\n", bad[i]);
		CHECK_EQ_STR(got, "ERROR");
		free(got);
	}
	got = json("[1,]", 4, 0);
	free(got);
	CHECK_EQ_STR(whirl_error(), "not JSON at byte 3");
	/* A NUL inside is not JSON either. */
	got = json("\"a\0b\"", 5, 0);
	CHECK_EQ_STR(got, "ERROR");
	free(got);
	/* 512 levels are fine, 513 are refused. */
	memset(deep, '[', 513);
	memset(deep + 513, ']', 513);
	got = json(deep + 1, 1024, 0);
	CHECK(strcmp(got, "ERROR") != 0);
	free(got);
	got = json(deep, 1026, 0);
	CHECK_EQ_STR(got, "ERROR");
	free(got);
}

static char *
head(const char *in, int flags)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	CHECK_EQ_INT(whirl_http_head_pretty(b, in, strlen(in), flags), 0);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

TEST(heads)
{
	char *s;

	s = head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 0);
	CHECK_EQ_STR(s, "HTTP/1.1 200 OK\nContent-Type: text/plain\n\n");
	free(s);
	s = head("HTTP/1.1 404 Not Found\r\nA: b: c\r\n\r\n",
	    WHIRL_PRETTY_COLOR);
	CHECK_EQ_STR(s, "\033[34mHTTP/1.1\033[0m \033[1m\033[31m404 Not Found"
	    "\033[0m\n\033[36mA\033[0m: b: c\n\n");
	free(s);
	s = head("HTTP/1.1 301 Moved\r\n\r\n", WHIRL_PRETTY_COLOR);
	CHECK_EQ_STR(s, "\033[34mHTTP/1.1\033[0m \033[1m\033[33m301 Moved"
	    "\033[0m\n\n");
	free(s);
	s = head("HTTP/1.1 \r\n", WHIRL_PRETTY_COLOR);
	CHECK_EQ_STR(s, "\033[34mHTTP/1.1\033[0m \033[1m\033[36m\033[0m\n");
	free(s);
}

int
main(void)
{
	RUN(json_layout);
	RUN(json_color);
	RUN(json_refused);
	RUN(heads);
	return unit_done();
}
