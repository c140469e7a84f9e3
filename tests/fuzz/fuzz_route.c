/* fuzz_route.c - route strings, route matching and redirect templates
 * (web.h: whirl_route_parse, whirl_app_add_route, whirl_app_add,
 * whirl_app_find, whirl_redirect_expand).
 *
 * Input: one option byte, then lines.
 *   bit 0 clear: an app.  Lines up to the first empty one are routes
 *       ("[METHODS ]PATTERN=KIND[:ARG]", or "@METHODS PATTERN" for a
 *       handler route added with whirl_app_add); each later line is
 *       "METHOD PATH", looked up with whirl_app_find.  Bits 1-2 size the
 *       Allow buffer: 0, 8, 40 or 512 bytes.
 *   bit 0 set: a redirect template: the template, the path, then one
 *       capture per line; "{name}" placeholders name the captures "a",
 *       "b", ... in order.
 *
 * Properties checked: a route string either parses into a pattern, a
 * known kind and (for redirects) a URL without CR or LF, or fails with a
 * message naming it; the route index whirl_app_find returns exists and
 * its status is 200, else 404 or 405 with a NUL-terminated Allow list
 * that fits its buffer; a template without braces expands to itself,
 * and "{0}" to the path.
 */
#include <string.h>

#include "fuzz.h"
#include "whirl.h"

#define MAX_ROUTES 16
#define MAX_CAPS   8

static void
noop(struct whirl_handler *h, void *arg)
{
	(void)arg;
	whirl_handler_finish(h);
}

static void
check_spec(const char *route)
{
	struct whirl_route_spec spec;

	if (whirl_route_parse(route, &spec) == -1) {
		FUZZ_CHECK(strstr(whirl_error(), "route '") != NULL);
		FUZZ_CHECK(spec.pattern == NULL && spec.arg == NULL &&
		    spec.methods == NULL);
		return;
	}
	FUZZ_CHECK(spec.pattern != NULL && spec.pattern[0] != '\0');
	FUZZ_CHECK(spec.kind <= WHIRL_ROUTE_WS_BROADCAST);
	FUZZ_CHECK(whirl_route_kind_name(spec.kind) != NULL);
	if (spec.kind == WHIRL_ROUTE_REDIRECT) {
		FUZZ_CHECK(spec.arg != NULL && strpbrk(spec.arg, "\r\n") ==
		    NULL);
		FUZZ_CHECK(spec.status == 301 || spec.status == 302 ||
		    spec.status == 303 || spec.status == 307 ||
		    spec.status == 308);
	}
	if (spec.kind == WHIRL_ROUTE_STATUS)
		FUZZ_CHECK(spec.status >= 200 && spec.status <= 599);
	if (spec.methods != NULL)
		FUZZ_CHECK(strspn(spec.methods,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_,") ==
		    strlen(spec.methods));
	whirl_route_spec_reset(&spec);
	FUZZ_CHECK(spec.pattern == NULL);
}

static void
check_app(struct fuzz_in *in, size_t allow_size)
{
	struct whirl_app *app = whirl_app_new();
	char allow[512], *line, *sp;
	int n = 0, idx, status;

	/* Routes. */
	while (in->n > 0) {
		line = fuzz_strdup(fuzz_piece(in, '\n'));
		if (line[0] == '\0') {
			free(line);
			break;
		}
		if (n < MAX_ROUTES) {
			if (line[0] == '@' && (sp = strchr(line, ' ')) != NULL) {
				*sp = '\0';
				idx = whirl_app_add(app, line[1] ? line + 1 :
				    NULL, sp + 1, noop, NULL);
			} else {
				check_spec(line);
				idx = whirl_app_add_route(app, line, NULL);
			}
			FUZZ_CHECK(idx == -1 || idx == n);
			if (idx >= 0)
				n++;
		}
		free(line);
	}
	/* Lookups. */
	while (in->n > 0) {
		line = fuzz_strdup(fuzz_piece(in, '\n'));
		sp = strchr(line, ' ');
		if (sp != NULL) {
			*sp = '\0';
			memset(allow, 'x', sizeof(allow));
			idx = whirl_app_find(app, line, sp + 1, &status,
			    allow_size > 0 ? allow : NULL, allow_size);
			if (idx >= 0) {
				FUZZ_CHECK(idx < n && status == 200);
			} else {
				FUZZ_CHECK(status == 404 || status == 405);
				if (allow_size > 0)
					FUZZ_CHECK(memchr(allow, '\0',
					    allow_size) != NULL);
				if (allow_size > 0 && status == 404)
					FUZZ_CHECK(allow[0] == '\0');
			}
		}
		free(line);
	}
	whirl_app_free(app);
}

struct names {
	size_t n;
};

/* Captures are named "a", "b", ... */
static int
lookup(const char *name, size_t len, void *arg)
{
	struct names *nm = arg;

	if (len == 1 && name[0] >= 'a' && (size_t)(name[0] - 'a') < nm->n)
		return name[0] - 'a' + 1;
	return -1;
}

static void
check_expand(struct fuzz_in *in)
{
	char *tmpl = fuzz_strdup(fuzz_piece(in, '\n'));
	char *path = fuzz_strdup(fuzz_piece(in, '\n'));
	char *caps[MAX_CAPS], *out;
	struct names nm = { 0 };
	size_t i;

	while (in->n > 0 && nm.n < MAX_CAPS) {
		struct fuzz_in c = fuzz_piece(in, '\n');

		/* An empty line is a group that did not take part. */
		caps[nm.n++] = c.n > 0 ? fuzz_strdup(c) : NULL;
	}
	out = whirl_redirect_expand(tmpl, path, (const char *const *)caps,
	    nm.n, lookup, &nm);
	if (strpbrk(tmpl, "{}") == NULL)
		FUZZ_CHECK(out != NULL && strcmp(out, tmpl) == 0);
	if (strcmp(tmpl, "{0}") == 0)
		FUZZ_CHECK(out != NULL && strcmp(out, path) == 0);
	if (out == NULL)
		FUZZ_CHECK(strstr(whirl_error(), "placeholder") != NULL);
	free(out);
	for (i = 0; i < nm.n; i++)
		free(caps[i]);
	free(tmpl);
	free(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	whirl_log_set_level(WHIRL_LOG_OFF);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t allow_sizes[4] = { 0, 8, 40, 512 };
	struct fuzz_in in = { data, size };
	uint8_t o = fuzz_byte(&in);

	if (o & 1)
		check_expand(&in);
	else
		check_app(&in, allow_sizes[(o >> 1) & 3]);
	return 0;
}
