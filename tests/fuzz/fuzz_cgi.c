/* fuzz_cgi.c - a CGI program's output head (webexec.c, through
 * web_internal.h: whirl__cgi_head_end and whirl__cgi_head_parse).
 *
 * Input: two option bytes (where the output is cut into three reads, as
 * a pipe may deliver it), then the program's output.  (fuzz_server runs
 * a real cgi: route as well, whose program echoes the request body.)
 *
 * Properties checked:
 *   - the end of the head is found where a plain reading of RFC 3875
 *     puts it (after the first empty line, LF or CRLF), and the same
 *     when the output arrives in pieces and each call goes on from where
 *     the last one stopped;
 *   - a head that parses gives a status of 0 or 200-599 (302 when it had
 *     Location and no Status), and fields that may be sent as they are:
 *     a token for a name, no CR, LF or NUL in a value, none of the
 *     fields the server frames itself (Content-Length,
 *     Transfer-Encoding, Connection, Date, Server), no Status;
 *   - parsing clears what the list held before.
 */
#include <strings.h>

#include "error.h"
#include "fuzz.h"
#include "httputil.h"
#include "web_internal.h"

/* The end of the head, read plainly: after the first line that is empty
 * or a lone CR, or 0. */
static size_t
head_end(const uint8_t *p, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && p[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return 0;
}

static bool
server_field(const char *n)
{
	return strcasecmp(n, "Content-Length") == 0 ||
	    strcasecmp(n, "Transfer-Encoding") == 0 ||
	    strcasecmp(n, "Connection") == 0 || strcasecmp(n, "Date") == 0 ||
	    strcasecmp(n, "Server") == 0 || strcasecmp(n, "Status") == 0;
}

/* Does "status" appear anywhere, in any case (then a Status line may
 * have set the code)? */
static bool
mentions_status(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 6 <= n; i++)
		if (strncasecmp(p + i, "status", 6) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t a = fuzz_byte(&in), b = fuzz_byte(&in);
	const char *out = (const char *)in.p;
	size_t n = in.n, want = head_end(in.p, n), end, from, nlen, vlen, i;
	size_t cuts[3];
	struct whirl_headers *h;
	const char *name, *value;
	bool location = false;
	int status = -1;

	end = whirl__cgi_head_end(out, n, 0);
	FUZZ_CHECK(end == want);

	/* In three reads: each call goes on from the last one's length. */
	a = n > 0 ? a % (n + 1) : 0;
	b = n > 0 ? b % (n + 1) : 0;
	cuts[0] = a < b ? a : b;
	cuts[1] = a < b ? b : a;
	cuts[2] = n;
	for (i = 0, from = 0, end = 0; i < 3 && end == 0; i++) {
		end = whirl__cgi_head_end(out, cuts[i], from);
		FUZZ_CHECK(end == head_end(in.p, cuts[i]));
		from = cuts[i];
	}

	if (want == 0)
		return 0;
	h = whirl_headers_new();
	whirl_headers_add(h, "X-Before", "stale");
	if (whirl__cgi_head_parse(out, want, &status, h) == 0) {
		FUZZ_CHECK(status == 0 || (status >= 200 && status <= 599));
		for (i = 0; whirl_headers_atn(h, i, &name, &nlen, &value,
		    &vlen); i++) {
			FUZZ_CHECK(whirl_http_is_token(name, nlen));
			FUZZ_CHECK(strlen(value) == vlen);
			FUZZ_CHECK(strpbrk(value, "\r\n") == NULL);
			FUZZ_CHECK(!server_field(name));
			FUZZ_CHECK(strcmp(name, "X-Before") != 0 ||
			    strcmp(value, "stale") != 0 ||
			    memmem(out, want, "stale", 5) != NULL);
			if (strcasecmp(name, "Location") == 0)
				location = true;
		}
		if (location && !mentions_status(out, want))
			FUZZ_CHECK(status == 302);
	} else {
		FUZZ_CHECK(whirl_error()[0] != '\0');
	}
	whirl_headers_free(h);
	return 0;
}
