/* fuzz_urlglob.c - curl-style URL globbing (urlglob.h).
 *
 * Input: a pattern, then optionally '\n' and a file name template.
 *
 * Properties checked:
 *   - a refused pattern has a message and a column inside the pattern;
 *   - an accepted one gives whirl_urlglob_count() URLs exactly (checked
 *     up to 4096 of them), then NULL, and at least one;
 *   - a pattern without { } [ ] or \ gives itself, once;
 *   - a pattern of the form TEXT[LO-HI:STEP]TEXT (one numeric range,
 *     plain text around it) gives TEXT + the numbers LO, LO+STEP, ...
 *     up to HI, zero-padded to LO's width when LO starts with 0; "#1"
 *     names that number;
 *   - a letter range [X-Y] gives single letters, all of one case;
 *   - a template without '#' names itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "urlglob.h"

#define MAX_URLS 4096

/* Digits after the leading zeros. */
static size_t
significant(const char *p)
{
	p += strspn(p, "0");
	return strspn(p, "0123456789");
}

/* TEXT[LO-HI:STEP]TEXT with no other glob or escape?  Fills the parts. */
static bool
one_range(const char *pat, size_t *pre, uint64_t *lo, uint64_t *hi,
    uint64_t *step, int *width, const char **post)
{
	const char *open = strchr(pat, '['), *p;
	char *end;

	if (open == NULL || strpbrk(pat, "{}\\") != NULL ||
	    strchr(open + 1, '[') != NULL)
		return false;
	*pre = (size_t)(open - pat);
	p = open + 1;
	if (*p < '0' || *p > '9' || strchr(pat, ']') < open)
		return false;
	*width = p[0] == '0' ? (int)strspn(p, "0123456789") : 0;
	*lo = strtoull(p, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return false;
	*hi = strtoull(end + 1, &end, 10);
	*step = 1;
	if (*end == ':') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		*step = strtoull(end + 1, &end, 10);
	}
	if (*end != ']' || strchr(end + 1, ']') != NULL || *step == 0 ||
	    *lo > *hi || (*lo < *hi && *step > *hi - *lo) ||
	    (*lo == *hi && *step != 1))
		return false;
	/* Numbers past 2^64 - 1 wrap in strtoull: leave them out (leading
	 * zeros are fine). */
	if (significant(p) > 19 || significant(strchr(p, '-') + 1) > 19)
		return false;
	*post = end + 1;
	return true;
}

static void
check_range(struct whirl_urlglob *g, const char *pat)
{
	size_t pre, i;
	uint64_t lo, hi, step, v;
	int width;
	const char *post;
	char *num, *want, *url, *name;
	size_t wlen;

	if (!one_range(pat, &pre, &lo, &hi, &step, &width, &post))
		return;
	FUZZ_CHECK(whirl_urlglob_count(g) == (hi - lo) / step + 1);
	for (i = 0; i < 64; i++) {
		url = whirl_urlglob_next(g);
		if (i > 0 && (hi - lo) / step < i) {
			FUZZ_CHECK(url == NULL);
			break;
		}
		FUZZ_CHECK(url != NULL);
		v = lo + i * step;
		num = malloc((size_t)width + 32);
		FUZZ_CHECK(num != NULL);
		snprintf(num, (size_t)width + 32, "%0*" PRIu64, width, v);
		wlen = pre + strlen(num) + strlen(post) + 1;
		want = malloc(wlen);
		FUZZ_CHECK(want != NULL);
		snprintf(want, wlen, "%.*s%s%s", (int)pre, pat, num, post);
		if (strcmp(url, want) != 0)
			fprintf(stderr, "url %zu: '%s', want '%s'\n", i, url,
			    want);
		FUZZ_CHECK(strcmp(url, want) == 0);
		name = whirl_urlglob_name(g, "#1");
		FUZZ_CHECK(strcmp(name, num) == 0);
		free(name);
		free(num);
		free(want);
		free(url);
	}
}

static void
check_letters(struct whirl_urlglob *g, const char *pat)
{
	char *url;
	bool lower = false;
	uint64_t n = 0;

	if (strlen(pat) != 5 || pat[0] != '[' || pat[2] != '-' ||
	    pat[4] != ']' || !((pat[1] >= 'a' && pat[1] <= 'z') ||
	    (pat[1] >= 'A' && pat[1] <= 'Z')))
		return;
	while ((url = whirl_urlglob_next(g)) != NULL) {
		FUZZ_CHECK(strlen(url) == 1);
		if (n++ == 0)
			lower = url[0] >= 'a' && url[0] <= 'z';
		if (lower)
			FUZZ_CHECK(url[0] >= 'a' && url[0] <= 'z');
		else
			FUZZ_CHECK(url[0] >= 'A' && url[0] <= 'Z');
		free(url);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *pat = fuzz_strdup(fuzz_piece(&in, '\n'));
	char *tmpl = in.n > 0 ? fuzz_strdup(in) : NULL, *url, *name;
	struct whirl_urlglob *g;
	size_t col = 0;
	uint64_t count, n = 0;

	g = whirl_urlglob_new(pat, &col);
	if (g == NULL) {
		FUZZ_CHECK(whirl_error()[0] != '\0');
		FUZZ_CHECK(col <= strlen(pat) + 1);
		goto out;
	}
	count = whirl_urlglob_count(g);
	FUZZ_CHECK(count >= 1);
	if (strpbrk(pat, "{}[]\\") == NULL) {
		FUZZ_CHECK(count == 1);
		url = whirl_urlglob_next(g);
		FUZZ_CHECK(url != NULL && strcmp(url, pat) == 0);
		free(url);
		FUZZ_CHECK(whirl_urlglob_next(g) == NULL);
		goto out;
	}
	while (n < MAX_URLS && (url = whirl_urlglob_next(g)) != NULL) {
		n++;
		if (tmpl != NULL) {
			name = whirl_urlglob_name(g, tmpl);
			if (strchr(tmpl, '#') == NULL)
				FUZZ_CHECK(strcmp(name, tmpl) == 0);
			free(name);
		}
		free(url);
	}
	if (n < MAX_URLS) {
		FUZZ_CHECK(n == count);
		FUZZ_CHECK(whirl_urlglob_next(g) == NULL);
	} else {
		FUZZ_CHECK(count >= MAX_URLS);
	}
	whirl_urlglob_free(g);
	g = whirl_urlglob_new(pat, NULL);
	FUZZ_CHECK(g != NULL);
	check_range(g, pat);
	whirl_urlglob_free(g);
	g = whirl_urlglob_new(pat, NULL);
	check_letters(g, pat);
out:
	whirl_urlglob_free(g);
	free(pat);
	free(tmpl);
	return 0;
}
