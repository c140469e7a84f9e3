/* test_urlglob.c - curl's URL globbing: expansions, names, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "urlglob.h"
#include "unit.h"

/* Every URL of pattern, joined by spaces. */
static char *
expand(const char *pattern)
{
	struct whirl_urlglob *g = whirl_urlglob_new(pattern, NULL);
	char *all = NULL, *u;
	size_t len = 0, n;

	if (g == NULL)
		return strdup("ERROR");
	while ((u = whirl_urlglob_next(g)) != NULL) {
		n = strlen(u);
		all = realloc(all, len + n + 2);
		if (len > 0)
			all[len++] = ' ';
		memcpy(all + len, u, n + 1);
		len += n;
		free(u);
	}
	whirl_urlglob_free(g);
	return all;
}

#define EXPANDS(pattern, want)                                             \
	do {                                                               \
		char *got_ = expand(pattern);                              \
		CHECK_EQ_STR(got_, want);                                  \
		free(got_);                                                \
	} while (0)

TEST(plain)
{
	EXPANDS("http://h/a", "http://h/a");
	EXPANDS("", "");
	EXPANDS("http://h/[]", "http://h/[]");
	EXPANDS("http://[::1]:80/", "http://[::1]:80/");
	EXPANDS("http://[fe80::1%25eth0]/x", "http://[fe80::1%25eth0]/x");
	EXPANDS("http://h/\\{a\\}\\[b\\]", "http://h/{a}[b]");
	EXPANDS("a\\b", "a\\b");
}

TEST(sets)
{
	EXPANDS("h/{a,b,c}", "h/a h/b h/c");
	EXPANDS("h/{one,,three}x", "h/onex h/x h/threex");
	EXPANDS("{a}", "a");
	EXPANDS("{a\\,b,c\\}}", "a,b c}");
	EXPANDS("{a,b}/{c,d}", "a/c a/d b/c b/d");
}

TEST(ranges)
{
	EXPANDS("p[1-3]", "p1 p2 p3");
	EXPANDS("p[001-003]", "p001 p002 p003");
	EXPANDS("p[0009-10]", "p0009 p0010");
	EXPANDS("p[000000000000000000000000000000000000008-9]",
	    "p000000000000000000000000000000000000008 "
	    "p000000000000000000000000000000000000009");
	EXPANDS("p[18446744073709551614-18446744073709551615]",
	    "p18446744073709551614 p18446744073709551615");
	EXPANDS("p[01-1]", "p01");
	EXPANDS("p[9-11]", "p9 p10 p11");
	EXPANDS("p[1-10:4]", "p1 p5 p9");
	EXPANDS("p[0-2:1]", "p0 p1 p2");
	EXPANDS("p[a-c]", "pa pb pc");
	EXPANDS("p[A-C]", "pA pB pC");
	EXPANDS("p[a-e:2]", "pa pc pe");
	EXPANDS("[a-b]x[1-2]{y,z}", "ax1y ax1z ax2y ax2z bx1y bx1z bx2y bx2z");
}

TEST(count)
{
	struct whirl_urlglob *g = whirl_urlglob_new("[1-1000][a-z]{x,y}",
	    NULL);

	CHECK(g != NULL);
	CHECK_EQ_INT(whirl_urlglob_count(g), 1000 * 26 * 2);
	whirl_urlglob_free(g);
	g = whirl_urlglob_new("plain", NULL);
	CHECK_EQ_INT(whirl_urlglob_count(g), 1);
	whirl_urlglob_free(g);
	/* 10^18 URLs cost nothing until they are asked for. */
	g = whirl_urlglob_new("[1-1000000][1-1000000][1-1000000]", NULL);
	CHECK_EQ_INT(whirl_urlglob_count(g), 1000000000000000000LL);
	whirl_urlglob_free(g);
	g = whirl_urlglob_new("[1-4294967296][1-4294967296][1-4294967296]",
	    NULL);
	CHECK(g == NULL);
	CHECK_EQ_STR(whirl_error(), "too many URLs");
}

TEST(names)
{
	struct whirl_urlglob *g = whirl_urlglob_new("h/{a,b}/x[1-2]", NULL);
	char *u, *n;

	u = whirl_urlglob_next(g);
	n = whirl_urlglob_name(g, "f_#1_#2_#3_#0_#.txt");
	CHECK_EQ_STR(u, "h/a/x1");
	CHECK_EQ_STR(n, "f_a_1_#3_#0_#.txt");
	free(u);
	free(n);
	free(whirl_urlglob_next(g));
	u = whirl_urlglob_next(g);
	n = whirl_urlglob_name(g, "#2#1");
	CHECK_EQ_STR(u, "h/b/x1");
	CHECK_EQ_STR(n, "1b");
	free(u);
	free(n);
	free(whirl_urlglob_next(g));
	CHECK(whirl_urlglob_next(g) == NULL);
	CHECK(whirl_urlglob_next(g) == NULL);
	whirl_urlglob_free(g);
}

/* Errors name the column, 1-based. */
TEST(errors)
{
	static const struct {
		const char *pattern, *msg;
		size_t col;
	} cases[] = {
		{ "h/[5-1]", "bad range", 7 },
		{ "h/[a-9]", "bad range", 6 },
		{ "h/[1-3:0]", "bad range", 9 },
		{ "h/[1]", "bad range", 5 },
		{ "h/[1-]", "bad range", 6 },
		{ "h/[1-3:2x]", "bad range", 9 },
		{ "h/[A-c]", "bad range", 6 },
		{ "h/[Y-e]", "bad range", 6 },
		{ "h/[a-]", "bad range", 6 },
		{ "h/[ab]", "bad range", 5 },
		{ "h/[0-18446744073709551615]", "too many URLs", 26 },
		{ "h/[1-99999999999999999999]", "bad range", 6 },
		{ "h/[-3]", "bad range specification", 4 },
		{ "h/{a,b", "unmatched brace", 3 },
		{ "h/{a,{b}}", "nested brace", 6 },
		{ "h/{a]}", "unexpected close bracket", 5 },
		{ "h/{}", "empty string within braces", 4 },
		{ "h/x]", "unmatched close brace/bracket", 4 },
		{ "h/x}", "unmatched close brace/bracket", 4 },
		{ "http://[1:2]/", "bad range", 10 },
	};
	size_t i, col;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		col = 0;
		CHECK(whirl_urlglob_new(cases[i].pattern, &col) == NULL);
		CHECK_EQ_STR(whirl_error(), cases[i].msg);
		if (col != cases[i].col)
			printf("# %s\n", cases[i].pattern);
		CHECK_EQ_INT(col, cases[i].col);
	}
}

int
main(void)
{
	RUN(plain);
	RUN(sets);
	RUN(ranges);
	RUN(count);
	RUN(names);
	RUN(errors);
	return unit_done();
}
