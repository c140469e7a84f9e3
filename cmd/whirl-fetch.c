/* whirl-fetch - an HTTP(S) fetcher for shells and scripts, with curl's
 * letters, meanings and exit statuses.
 *
 *     whirl-fetch [options] URL...
 *
 * Each URL argument is a curl glob (lib/urlglob) that gives one or more
 * transfers; each transfer is one whirl_http_request on a single
 * whirl_httpclient, so keep-alive connections carry from one to the
 * next.  Transfers run one after another, or with -Z up to
 * --parallel-max at once on the one loop.  A transfer that fails in a way
 * --retry covers is started again after curl's backoff.
 *
 * The body goes raw to stdout (or to -o FILE, written to a temporary name
 * and renamed when complete, so that a file is complete or absent; with
 * -C the file is appended to instead).  On a terminal, JSON is indented
 * and heads coloured (lib/pretty), and a file being written gets a
 * progress bar on stderr (lib/progress).  -w prints a summary after each
 * transfer.  The exit status is curl's: see EXIT STATUS in
 * whirl-fetch(1).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "whirl.h"
#include "form.h"
#include "httpclient.h"
#include "pretty.h"
#include "progress.h"
#include "urlglob.h"
#include "writeout.h"

#define EXIT_UNSUPPORTED 1
#define EXIT_USAGE      2
#define EXIT_URL        3
#define EXIT_HTTP       22
#define EXIT_WRITE      23
#define EXIT_READ       26
#define EXIT_RANGE      33
#define EXIT_CERT_LOCAL 58
#define EXIT_CACERT     77

#define PARALLEL_MAX    300             /* curl's ceiling for -Z */
#define RETRY_SLEEP_MAX (10 * 60 * 1000)  /* curl's backoff stops here */
#define JSON_MAX        (8 << 20)       /* indented only up to this size */
#define METER_MS        200             /* progress redraws */
#define PRETTY_FMT      0x100           /* with WHIRL_PRETTY_COLOR: indent */

struct output {                 /* -o FILE, -O, or stdout */
	const char *path;       /* NULL: stdout */
	bool remote_name;       /* -O */
};

enum pretty { PRETTY_AUTO, PRETTY_ALL, PRETTY_COLORS, PRETTY_FORMAT,
	PRETTY_NONE };

struct opts {
	const char *method;
	struct whirl_headers *headers;
	char **omit;
	size_t nomit;
	char *data;             /* -d, --data-*, --json, joined */
	size_t data_len;
	bool has_data, json, get, head, include, verbose, silent, show_error;
	bool fail, fail_with_body, fail_early, location, trusted, compressed;
	bool raw, insecure, print_body, tornado_headers, globoff, parallel;
	bool remote_name_all, no_progress, retry_all, retry_connrefused;
	bool resume, resume_auto;
	const char *user, *user_agent, *cacert, *cert, *key, *proxy, *noproxy;
	const char *proxy_host, *proxy_port, *unix_socket, *range;
	const char *dump_header, *write_out, *cookie, *cookie_jar;
	char **resolve;
	size_t nresolve;
	int family, max_redirs;
	enum pretty pretty;
	uint64_t connect_ms, max_ms, resume_from;
	uint64_t retry_delay_ms, retry_max_ms;
	long retry;
	size_t parallel_max;
	struct whirl_form *form;
	struct output *outs;
	size_t nouts;
	const char **uploads;   /* -T, one per URL like -o */
	size_t nuploads;
	char **urls;
	size_t nurls;
};

/* One transfer: a URL of a glob, with its output, through every retry.
 * The fields after `attempt` belong to the current try. */
struct xfer {
	struct xfer *prev, *next;       /* running */
	size_t urlnum;                  /* the URL argument it came from */
	char *url;                      /* scheme added, -G's data added */
	struct output out;
	char *out_path;                 /* -o's name after #N, owned */
	const char *upload;             /* -T FILE */
	char *user;                     /* -u's name, split off */
	long retries_left;
	uint64_t retry_sleep_ms, retry_start_ms, retry_after_ms;
	struct whirl_timer *retry_timer;

	int attempt;
	struct whirl_fetch *f;          /* NULL between tries */
	struct whirl_stream *upload_stream;  /* -T - */
	struct whirl_headers *hdrs;     /* when this try adds a Range */
	int fd;                         /* body destination, -1 until opened */
	char *final_path;
	struct whirl_outfile *of;       /* NULL until the first byte */
	uint64_t resume_from, got;
	bool raw_chunked, failed_http, write_failed, not_modified;
	bool discard;                   /* this answer's body is not kept */
	bool will_retry;                /* ... because it will be tried again */
	int exit;                       /* decided (and reported) already */
	struct whirl_progress_bar *bar;
	struct evbuffer *json;          /* a JSON body held to indent it */
};

static struct opts o;
static struct whirl_loop *loop;
static struct whirl_httpclient *client;
static struct whirl_tls_ctx *tls;
static struct whirl_cookie_jar *jar;
static struct whirl_headers *prepared;
static FILE *dump;
static int final_exit;
static char *write_out_fmt;
static int pretty_flags;                /* WHIRL_PRETTY_COLOR, PRETTY_FMT */
static bool stdout_file;                /* a regular file: a bar for it */
static struct whirl_progress *meter;
static struct whirl_timer *meter_timer;

/* The transfers: those running, and where the next one comes from. */
static struct xfer *running;
/* Heads and -w text, written whole even to a non-blocking stdout. */
static struct whirl_outfile *std_out, *std_err;
static size_t nrunning;
static bool stopping, filling;
static size_t next_arg;
static struct whirl_urlglob *next_glob;

/*
 * Messages and usage.
 */

static void
usage_to(FILE *f, bool full)
{
	const char *me = program_invocation_short_name;

	fprintf(f, "Usage: %s [options] URL ...\n", me);
	if (!full) {
		fprintf(f, "Try '%s --help' for more.\n", me);
		return;
	}
	fputs("Options (curl's letters and meanings):\n"
	    "  -A, --user-agent NAME       send User-Agent: NAME\n"
	    "  -b, --cookie DATA|FILE      send cookies (name=value) or read "
	    "a cookie file\n"
	    "  -C, --continue-at OFFSET|-  resume at OFFSET (-: the file's "
	    "size)\n"
	    "  -c, --cookie-jar FILE       write cookies to FILE at the end\n"
	    "      --cacert FILE           verify servers with the CAs in "
	    "FILE\n"
	    "      --cert FILE             client certificate (PEM)\n"
	    "      --compressed            ask for gzip/deflate and decode "
	    "it\n"
	    "      --connect-timeout SECS  give up connecting after SECS\n"
	    "  -d, --data DATA             POST DATA (@file, @-: read it, "
	    "CR/LF removed)\n"
	    "      --data-binary DATA      POST DATA as is (@file, @-)\n"
	    "      --data-raw DATA         POST DATA, no @ meaning\n"
	    "      --data-urlencode DATA   POST DATA percent-encoded "
	    "(name=, @file)\n"
	    "  -D, --dump-header FILE      write response heads to FILE\n"
	    "  -e, --referer URL           send Referer: URL\n"
	    "  -F, --form NAME=VALUE       multipart POST (@file, <file, "
	    ";type=, ;filename=)\n"
	    "      --form-string NAME=VALUE  ... VALUE taken literally\n"
	    "  -f, --fail                  exit 22 on HTTP errors, no body\n"
	    "      --fail-early            stop at the first failing URL\n"
	    "      --fail-with-body        exit 22 on HTTP errors, with the "
	    "body\n"
	    "  -G, --get                   put the data in the query, GET\n"
	    "  -g, --globoff               no {} and [] globbing in URLs\n"
	    "  -H, --header 'NAME: VALUE'  add a field ('NAME:' removes, "
	    "'NAME;' empty)\n"
	    "  -h, --help                  print this help and exit\n"
	    "  -I, --head                  HEAD: print the response head only\n"
	    "  -i, --include               print response heads before the "
	    "body\n"
	    "      --json DATA             POST JSON (@file, @-)\n"
	    "  -k, --insecure              do not verify TLS servers\n"
	    "      --key FILE              the client certificate's key\n"
	    "  -L, --location              follow redirects\n"
	    "      --location-trusted      ... sending credentials to other "
	    "hosts\n"
	    "  -m, --max-time SECS         give up after SECS in all\n"
	    "      --max-redirs N          follow at most N redirects (50)\n"
	    "      --no-progress-meter     no progress bar\n"
	    "      --noproxy LIST          hosts that bypass the proxy\n"
	    "  -o, --output FILE           write the body to FILE (#1: a "
	    "glob's value)\n"
	    "  -O, --remote-name           ... to the URL's file name\n"
	    "      --remote-name-all       -O for every URL without -o\n"
	    "      --parallel-max N        at most N transfers at once (50)\n"
	    "      --pretty all|colors|format|none  JSON and heads on a "
	    "terminal\n"
	    "  -r, --range RANGE           ask for bytes RANGE (0-499, "
	    "500-, -500)\n"
	    "      --raw                   no decoding of the body\n"
	    "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT\n"
	    "      --retry N               retry transient failures N times\n"
	    "      --retry-all-errors      ... any failure\n"
	    "      --retry-connrefused     ... refused connections too\n"
	    "      --retry-delay SECS      wait SECS between tries (default: "
	    "1, doubling)\n"
	    "      --retry-max-time SECS   no new try after SECS\n"
	    "  -S, --show-error            show errors even with -s\n"
	    "  -s, --silent                no error messages, no progress\n"
	    "  -T, --upload-file FILE      PUT FILE (-: stdin)\n"
	    "  -u, --user USER:PASS        basic authentication\n"
	    "      --unix-socket PATH      connect to a unix socket\n"
	    "  -v, --verbose               heads and connection on stderr\n"
	    "  -V, --version               print the version and exit\n"
	    "  -w, --write-out FORMAT      print FORMAT after each transfer\n"
	    "  -X, --request METHOD        use METHOD\n"
	    "  -x, --proxy [http://]HOST[:PORT]  use an HTTP proxy\n"
	    "  -Z, --parallel              fetch the URLs at the same time\n"
	    "  -4, --ipv4 / -6, --ipv6     resolve to one family only\n"
	    "Tornado's flags: --print_headers, --print_body=BOOL, "
	    "--follow_redirects=BOOL,\n"
	    "  --validate_cert=BOOL, --proxy_host=HOST, --proxy_port=PORT\n",
	    f);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage_to(stderr, false);
	exit(EXIT_USAGE);
}

/* The value of field `name` from option opt: refused here, as -H's, if
 * it could not be sent (a CR or LF would start a field of its own). */
static const char *
field_value(const char *opt, const char *name, const char *v)
{
	if (whirl_http_check_field(name, v) == -1)
		usage_error("bad %s '%s': %s", opt, v, whirl_error());
	return v;
}

/* Before a line on stderr: the progress bars make room. */
static void
stderr_begin(void)
{
	if (meter != NULL)
		whirl_progress_clear(meter);
}

/* "whirl-fetch: (7) Failed to connect ...", unless -s without -S. */
static void
report(int code, const char *msg)
{
	if (o.silent && !o.show_error)
		return;
	stderr_begin();
	fprintf(stderr, "%s: (%d) %s\n", program_invocation_short_name, code,
	    msg);
}

/* A warning, which -s silences (as curl's). */
static void __attribute__((format(printf, 1, 2)))
warning(const char *fmt, ...)
{
	va_list ap;

	if (o.silent)
		return;
	stderr_begin();
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

/*
 * Reading option arguments.
 */

/* The contents of "@file" ("@-": stdin), or NULL with a warning (curl
 * goes on with nothing). */
static char *
read_at(const char *name, size_t *len)
{
	char *buf = whirl_read_option_file(name, len);

	if (buf == NULL)
		warnx("%s", whirl_error());
	return buf;
}

static void
data_add(const char *p, size_t n, const char *sep)
{
	size_t sl = o.has_data && sep != NULL ? strlen(sep) : 0;

	if ((o.data = realloc(o.data, o.data_len + sl + n + 1)) == NULL)
		err(1, NULL);
	memcpy(o.data + o.data_len, sep, sl);
	memcpy(o.data + o.data_len + sl, p, n);
	o.data_len += sl + n;
	o.data[o.data_len] = '\0';
	o.has_data = true;
}

enum data_kind { D_ASCII, D_BINARY, D_RAW, D_URLENCODE, D_JSON };

static void
add_data(enum data_kind kind, const char *arg)
{
	char *buf = NULL, *enc, *name = NULL;
	const char *content = arg, *at, *eq;
	size_t len = strlen(arg), i, j;

	if (kind == D_URLENCODE) {
		/* "content", "=content", "name=content", "@file",
		 * "name@file" */
		eq = strchr(arg, '=');
		at = strchr(arg, '@');
		if (eq != NULL && (at == NULL || eq < at)) {
			name = strndup(arg, (size_t)(eq - arg));
			content = eq + 1;
			len = strlen(content);
		} else if (at != NULL) {
			name = strndup(arg, (size_t)(at - arg));
			if ((buf = read_at(at + 1, &len)) == NULL)
				len = 0;
			content = buf != NULL ? buf : "";
		}
		/* As curl does it: a space is '+'. */
		enc = whirl_url_escape(content, len, WHIRL_URL_PLUS);
		if (name != NULL && *name != '\0') {
			data_add(name, strlen(name), "&");
			data_add("=", 1, "");
			data_add(enc, strlen(enc), "");
		} else {
			data_add(enc, strlen(enc), "&");
		}
		free(enc);
		free(name);
		free(buf);
		return;
	}
	if (kind != D_RAW && arg[0] == '@') {
		if ((buf = read_at(arg + 1, &len)) == NULL)
			len = 0;
		content = buf != NULL ? buf : "";
		if (kind == D_ASCII && buf != NULL) {
			/* curl's -d @file drops carriage returns and
			 * newlines. */
			for (i = j = 0; i < len; i++)
				if (buf[i] != '\r' && buf[i] != '\n')
					buf[j++] = buf[i];
			len = j;
		}
	}
	data_add(content, len, kind == D_JSON ? "" : "&");
	free(buf);
}

static void
add_omit(const char *name)
{
	if ((o.omit = realloc(o.omit, (o.nomit + 1) * sizeof(*o.omit))) ==
	    NULL)
		err(1, NULL);
	o.omit[o.nomit++] = strdup(name);
}

/* -H "Name: value", "Name:" (do not send), "Name;" (send empty), or
 * "@file" (one per line). */
static void
add_header(const char *spec)
{
	const char *colon = strchr(spec, ':'), *semi = strchr(spec, ';');
	char name[256], *text, *line, *next;
	const char *v;
	size_t len;

	if (spec[0] == '@') {
		if ((text = read_at(spec + 1, &len)) == NULL)
			return;
		for (line = text; line != NULL && *line != '\0'; line = next) {
			next = strchr(line, '\n');
			if (next != NULL)
				*next++ = '\0';
			len = strlen(line);
			if (len > 0 && line[len - 1] == '\r')
				line[len - 1] = '\0';
			if (*line != '\0')
				add_header(line);
		}
		free(text);
		return;
	}
	if (colon == NULL && semi != NULL && semi[1] == '\0') {
		/* curl's "Name;": send it with an empty value */
		len = (size_t)(semi - spec);
		if (len >= sizeof(name))
			usage_error("bad -H '%s': name too long", spec);
		memcpy(name, spec, len);
		name[len] = '\0';
		whirl_headers_remove(o.headers, name);
		if (whirl_headers_add(o.headers, name, "") == -1)
			usage_error("bad -H '%s': %s", spec, whirl_error());
		return;
	}
	if (whirl_http_split_header(spec, name, sizeof(name), &v) == -1)
		usage_error("bad -H '%s': %s", spec, whirl_error());
	if (*v == '\0') {      /* "Name:" removes a header we would send */
		whirl_headers_remove(o.headers, name);
		add_omit(name);
	} else if (whirl_headers_add(o.headers, name, v) == -1) {
		usage_error("bad -H '%s': %s", spec, whirl_error());
	}
}

/* -F name=value, name=@file, name=<file, each with ;type= and
 * ;filename=; --form-string name=value as it is. */
static void
add_form(const char *arg, bool literal)
{
	if (o.form == NULL)
		o.form = whirl_form_new();
	if (whirl_form_add_spec(o.form, arg, literal) == 0)
		return;
	if (whirl_error_errno() == EINVAL)
		usage_error("bad -F '%s' (name=value)", arg);
	errx(EXIT_READ, "%s", whirl_error());
}

static uint64_t
parse_secs(const char *opt, const char *s)
{
	uint64_t ms;

	if (whirl_parse_seconds(s, 0, 86400.0 * 365, &ms) == -1)
		usage_error("bad %s '%s' (seconds)", opt, s);
	return ms;
}

/* A whole number in [min, max] for option opt. */
static long long
parse_num(const char *opt, const char *s, long long min, long long max)
{
	long long n;

	if (whirl_parse_long(s, min, max, &n) == -1)
		usage_error("bad %s '%s'", opt, s);
	return n;
}

/* Tornado's booleans: anything but "false", "0" and "f" is true. */
static bool
parse_bool(const char *s)
{
	return s == NULL || (strcasecmp(s, "false") != 0 &&
	    strcmp(s, "0") != 0 && strcasecmp(s, "f") != 0);
}

static void
add_output(const char *path, bool remote)
{
	if ((o.outs = realloc(o.outs, (o.nouts + 1) * sizeof(*o.outs))) ==
	    NULL)
		err(1, NULL);
	o.outs[o.nouts].path = path;
	o.outs[o.nouts].remote_name = remote;
	o.nouts++;
}

enum {
	OPT_CACERT = 256, OPT_CERT, OPT_COMPRESSED, OPT_CONNECT_TIMEOUT,
	OPT_DATA_BINARY, OPT_DATA_RAW, OPT_DATA_URLENCODE, OPT_FAIL_EARLY,
	OPT_FAIL_WITH_BODY, OPT_FORM_STRING, OPT_JSON, OPT_KEY,
	OPT_LOCATION_TRUSTED, OPT_MAX_REDIRS, OPT_NOPROXY, OPT_NO_PROGRESS,
	OPT_PARALLEL_MAX, OPT_PRETTY, OPT_RAW, OPT_REMOTE_NAME_ALL,
	OPT_RESOLVE, OPT_RETRY, OPT_RETRY_ALL, OPT_RETRY_CONNREFUSED,
	OPT_RETRY_DELAY, OPT_RETRY_MAX_TIME, OPT_UNIX_SOCKET, OPT_NOOP,
	OPT_T_PRINT_HEADERS, OPT_T_PRINT_BODY, OPT_T_FOLLOW, OPT_T_VALIDATE,
	OPT_T_PROXY_HOST, OPT_T_PROXY_PORT
};

static const struct option longopts[] = {
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "compressed", no_argument, NULL, OPT_COMPRESSED },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "continue-at", required_argument, NULL, 'C' },
	{ "cookie", required_argument, NULL, 'b' },
	{ "cookie-jar", required_argument, NULL, 'c' },
	{ "data", required_argument, NULL, 'd' },
	{ "data-ascii", required_argument, NULL, 'd' },
	{ "data-binary", required_argument, NULL, OPT_DATA_BINARY },
	{ "data-raw", required_argument, NULL, OPT_DATA_RAW },
	{ "data-urlencode", required_argument, NULL, OPT_DATA_URLENCODE },
	{ "dump-header", required_argument, NULL, 'D' },
	{ "fail", no_argument, NULL, 'f' },
	{ "fail-early", no_argument, NULL, OPT_FAIL_EARLY },
	{ "fail-with-body", no_argument, NULL, OPT_FAIL_WITH_BODY },
	{ "form", required_argument, NULL, 'F' },
	{ "form-string", required_argument, NULL, OPT_FORM_STRING },
	{ "get", no_argument, NULL, 'G' },
	{ "globoff", no_argument, NULL, 'g' },
	{ "head", no_argument, NULL, 'I' },
	{ "header", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, 'h' },
	{ "include", no_argument, NULL, 'i' },
	{ "insecure", no_argument, NULL, 'k' },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "location", no_argument, NULL, 'L' },
	{ "location-trusted", no_argument, NULL, OPT_LOCATION_TRUSTED },
	{ "max-redirs", required_argument, NULL, OPT_MAX_REDIRS },
	{ "max-time", required_argument, NULL, 'm' },
	{ "no-progress-meter", no_argument, NULL, OPT_NO_PROGRESS },
	{ "noproxy", required_argument, NULL, OPT_NOPROXY },
	{ "output", required_argument, NULL, 'o' },
	{ "parallel", no_argument, NULL, 'Z' },
	{ "parallel-immediate", no_argument, NULL, OPT_NOOP },
	{ "parallel-max", required_argument, NULL, OPT_PARALLEL_MAX },
	{ "pretty", required_argument, NULL, OPT_PRETTY },
	{ "progress-bar", no_argument, NULL, OPT_NOOP },
	{ "proxy", required_argument, NULL, 'x' },
	{ "range", required_argument, NULL, 'r' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "referer", required_argument, NULL, 'e' },
	{ "remote-name", no_argument, NULL, 'O' },
	{ "remote-name-all", no_argument, NULL, OPT_REMOTE_NAME_ALL },
	{ "request", required_argument, NULL, 'X' },
	{ "resolve", required_argument, NULL, OPT_RESOLVE },
	{ "retry", required_argument, NULL, OPT_RETRY },
	{ "retry-all-errors", no_argument, NULL, OPT_RETRY_ALL },
	{ "retry-connrefused", no_argument, NULL, OPT_RETRY_CONNREFUSED },
	{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
	{ "retry-max-time", required_argument, NULL, OPT_RETRY_MAX_TIME },
	{ "show-error", no_argument, NULL, 'S' },
	{ "silent", no_argument, NULL, 's' },
	{ "unix-socket", required_argument, NULL, OPT_UNIX_SOCKET },
	{ "upload-file", required_argument, NULL, 'T' },
	{ "user", required_argument, NULL, 'u' },
	{ "user-agent", required_argument, NULL, 'A' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "write-out", required_argument, NULL, 'w' },
	/* Tornado's command line (python -m tornado.httpclient). */
	{ "print_headers", optional_argument, NULL, OPT_T_PRINT_HEADERS },
	{ "print-headers", optional_argument, NULL, OPT_T_PRINT_HEADERS },
	{ "print_body", optional_argument, NULL, OPT_T_PRINT_BODY },
	{ "print-body", optional_argument, NULL, OPT_T_PRINT_BODY },
	{ "follow_redirects", optional_argument, NULL, OPT_T_FOLLOW },
	{ "follow-redirects", optional_argument, NULL, OPT_T_FOLLOW },
	{ "validate_cert", optional_argument, NULL, OPT_T_VALIDATE },
	{ "validate-cert", optional_argument, NULL, OPT_T_VALIDATE },
	{ "proxy_host", required_argument, NULL, OPT_T_PROXY_HOST },
	{ "proxy-host", required_argument, NULL, OPT_T_PROXY_HOST },
	{ "proxy_port", required_argument, NULL, OPT_T_PROXY_PORT },
	{ "proxy-port", required_argument, NULL, OPT_T_PROXY_PORT },
	{ NULL, 0, NULL, 0 }
};

/* Every URL's glob parses, before any transfer begins: curl's message,
 * the URL and a caret under the fault, and status 3. */
static void
check_globs(void)
{
	struct whirl_urlglob *g;
	size_t i, col;

	for (i = 0; i < o.nurls && !o.globoff; i++) {
		if ((g = whirl_urlglob_new(o.urls[i], &col)) != NULL) {
			whirl_urlglob_free(g);
			continue;
		}
		if (!o.silent || o.show_error)
			fprintf(stderr, "%s: (%d) %s in URL position %zu:\n"
			    "%s\n%*s^\n", program_invocation_short_name,
			    EXIT_URL, whirl_error(), col, o.urls[i],
			    (int)(col > 0 ? col - 1 : 0), "");
		exit(EXIT_URL);
	}
}

/* Options that cannot go together, and the defaults they imply. */
static void
check_opts(void)
{
	int bodies = o.has_data + (o.form != NULL) + (o.nuploads > 0);

	if (o.nurls == 0)
		usage_error("no URL specified");
	if ((o.head && (bodies > 0 && !(o.has_data && o.get))) ||
	    bodies > 1 || (o.form != NULL && o.get))
		usage_error("You can only select one HTTP request method! "
		    "(-d, -F, -T, -G and -I)");
	if (o.fail && o.fail_with_body)
		usage_error("You must select either --fail or "
		    "--fail-with-body, not both.");
	if (o.key != NULL && o.cert == NULL)
		usage_error("--key needs --cert");
	if (o.range != NULL && (o.range[0] == '\0' ||
	    strspn(o.range, "0123456789-,") != strlen(o.range)))
		usage_error("bad --range '%s' (bytes: 0-499, 500-, -500)",
		    o.range);
	if (o.proxy_host != NULL && o.proxy == NULL) {
		static char spec[512];

		snprintf(spec, sizeof(spec), "http://%s:%s", o.proxy_host,
		    o.proxy_port != NULL ? o.proxy_port : "80");
		o.proxy = spec;
	}
	if (!o.parallel)
		o.parallel_max = 1;
	check_globs();
}

static void
parse_opts(int argc, char **argv)
{
	int c;

	o.headers = whirl_headers_new();
	o.family = AF_UNSPEC;
	o.max_redirs = 50;
	o.connect_ms = 300000;
	o.print_body = true;
	o.parallel_max = 50;
	while ((c = getopt_long(argc, argv,
	    "#46A:b:C:c:D:d:e:F:fGgH:hIikLm:Oo:r:ST:sVu:vw:X:x:Z", longopts,
	    NULL)) != -1) {
		switch (c) {
		case '#':
			break;          /* curl's bar: ours is wget's */
		case '4':
			o.family = AF_INET;
			break;
		case '6':
			o.family = AF_INET6;
			break;
		case 'A':
			if (*optarg == '\0')
				add_omit("User-Agent");
			else
				o.user_agent = field_value("-A", "User-Agent", optarg);
			break;
		case 'b':
			o.cookie = strchr(optarg, '=') != NULL ?
			    field_value("-b", "Cookie", optarg) : optarg;
			break;
		case 'C':
			o.resume = true;
			o.resume_auto = strcmp(optarg, "-") == 0;
			o.resume_from = o.resume_auto ? 0 : (uint64_t)
			    parse_num("-C", optarg, 0, INT64_MAX);
			break;
		case 'c':
			o.cookie_jar = optarg;
			break;
		case 'D':
			o.dump_header = optarg;
			break;
		case 'd':
			add_data(D_ASCII, optarg);
			break;
		case 'e':
			whirl_headers_set(o.headers, "Referer",
			    field_value("-e", "Referer", optarg));
			break;
		case 'F':
			add_form(optarg, false);
			break;
		case 'f':
			o.fail = true;
			break;
		case 'G':
			o.get = true;
			break;
		case 'g':
			o.globoff = true;
			break;
		case 'H':
			add_header(optarg);
			break;
		case 'h':
			usage_to(stdout, true);
			exit(0);
		case 'I':
			o.head = true;
			break;
		case 'i':
			o.include = true;
			break;
		case 'k':
			o.insecure = true;
			break;
		case 'L':
			o.location = true;
			break;
		case 'm':
			o.max_ms = parse_secs("-m", optarg);
			break;
		case 'O':
			add_output(NULL, true);
			break;
		case 'o':
			add_output(optarg, false);
			break;
		case 'r':
			o.range = optarg;
			break;
		case 'S':
			o.show_error = true;
			break;
		case 's':
			o.silent = true;
			break;
		case 'T':
			if ((o.uploads = realloc(o.uploads, (o.nuploads + 1) *
			    sizeof(*o.uploads))) == NULL)
				err(1, NULL);
			o.uploads[o.nuploads++] = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'V':
			printf("whirl-fetch %s\n", WHIRL_VERSION);
			exit(0);
		case 'v':
			o.verbose = true;
			break;
		case 'w':
			o.write_out = optarg;
			break;
		case 'X':
			o.method = optarg;
			break;
		case 'x':
			o.proxy = optarg;
			break;
		case 'Z':
			o.parallel = true;
			break;
		case OPT_CACERT:
			o.cacert = optarg;
			break;
		case OPT_CERT:
			o.cert = optarg;
			break;
		case OPT_COMPRESSED:
			o.compressed = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			o.connect_ms = parse_secs("--connect-timeout", optarg);
			break;
		case OPT_DATA_BINARY:
			add_data(D_BINARY, optarg);
			break;
		case OPT_DATA_RAW:
			add_data(D_RAW, optarg);
			break;
		case OPT_DATA_URLENCODE:
			add_data(D_URLENCODE, optarg);
			break;
		case OPT_FAIL_EARLY:
			o.fail_early = true;
			break;
		case OPT_FAIL_WITH_BODY:
			o.fail_with_body = true;
			break;
		case OPT_FORM_STRING:
			add_form(optarg, true);
			break;
		case OPT_JSON:
			add_data(D_JSON, optarg);
			o.json = true;
			break;
		case OPT_KEY:
			o.key = optarg;
			break;
		case OPT_LOCATION_TRUSTED:
			o.location = o.trusted = true;
			break;
		case OPT_MAX_REDIRS:
			o.max_redirs = (int)parse_num("--max-redirs", optarg,
			    -1, INT32_MAX);
			break;
		case OPT_NO_PROGRESS:
			o.no_progress = true;
			break;
		case OPT_NOPROXY:
			o.noproxy = optarg;
			break;
		case OPT_PARALLEL_MAX:
			o.parallel_max = (size_t)parse_num("--parallel-max",
			    optarg, 1, INT32_MAX);
			if (o.parallel_max > PARALLEL_MAX)
				o.parallel_max = PARALLEL_MAX;
			break;
		case OPT_PRETTY:
			if (strcmp(optarg, "all") == 0)
				o.pretty = PRETTY_ALL;
			else if (strcmp(optarg, "colors") == 0)
				o.pretty = PRETTY_COLORS;
			else if (strcmp(optarg, "format") == 0)
				o.pretty = PRETTY_FORMAT;
			else if (strcmp(optarg, "none") == 0)
				o.pretty = PRETTY_NONE;
			else
				usage_error("bad --pretty '%s' (all, colors, "
				    "format, none)", optarg);
			break;
		case OPT_RAW:
			o.raw = true;
			break;
		case OPT_REMOTE_NAME_ALL:
			o.remote_name_all = true;
			break;
		case OPT_RESOLVE:
			if ((o.resolve = realloc(o.resolve, (o.nresolve + 1) *
			    sizeof(*o.resolve))) == NULL)
				err(1, NULL);
			if (strchr(optarg, ':') == NULL)
				usage_error("bad --resolve '%s' "
				    "(host:port:address)", optarg);
			o.resolve[o.nresolve++] = optarg;
			break;
		case OPT_RETRY:
			o.retry = (long)parse_num("--retry", optarg, 0,
			    INT32_MAX);
			break;
		case OPT_RETRY_ALL:
			o.retry_all = true;
			break;
		case OPT_RETRY_CONNREFUSED:
			o.retry_connrefused = true;
			break;
		case OPT_RETRY_DELAY:
			o.retry_delay_ms = parse_secs("--retry-delay", optarg);
			break;
		case OPT_RETRY_MAX_TIME:
			o.retry_max_ms = parse_secs("--retry-max-time", optarg);
			break;
		case OPT_UNIX_SOCKET:
			o.unix_socket = optarg;
			break;
		case OPT_NOOP:
			break;
		case OPT_T_PRINT_HEADERS:
			o.tornado_headers = parse_bool(optarg);
			break;
		case OPT_T_PRINT_BODY:
			o.print_body = parse_bool(optarg);
			break;
		case OPT_T_FOLLOW:
			o.location = parse_bool(optarg);
			break;
		case OPT_T_VALIDATE:
			o.insecure = !parse_bool(optarg);
			break;
		case OPT_T_PROXY_HOST:
			o.proxy_host = optarg;
			break;
		case OPT_T_PROXY_PORT:
			o.proxy_port = optarg;
			break;
		default:
			usage_to(stderr, false);
			exit(EXIT_USAGE);
		}
	}
	o.urls = argv + optind;
	o.nurls = (size_t)(argc - optind);
	check_opts();
}

/*
 * Output: the body raw to stdout, or to a file that is complete or absent.
 */

/* -O: the last segment of the URL's path. */
static char *
remote_name(const char *url)
{
	const char *p = strstr(url, "://"), *end, *slash;

	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");
	end = p + strcspn(p, "?#");
	for (slash = p; p < end; p++)
		if (*p == '/')
			slash = p + 1;
	return strndup(slash, (size_t)(end - slash));
}

static bool
to_stdout(const struct xfer *x)
{
	return (x->out_path == NULL && !x->out.remote_name) ||
	    (x->out_path != NULL && strcmp(x->out_path, "-") == 0);
}

/* Open the transfer's destination; -1 (reported) on failure.  A file
 * appears whole or not at all (lib/outfile), except with -C. */
static int
out_open(struct xfer *x)
{
	if (x->of != NULL)
		return 0;
	if (to_stdout(x)) {
		x->of = whirl_outfile_wrap(1);
		return 0;
	}
	free(x->final_path);
	x->final_path = x->out.remote_name ? remote_name(x->url) :
	    strdup(x->out_path);
	if (x->final_path[0] == '\0') {
		x->exit = EXIT_WRITE;
		report(EXIT_WRITE, "Remote file name has no length!");
		return -1;
	}
	x->of = whirl_outfile_open(x->final_path,
	    o.resume ? WHIRL_OUTFILE_APPEND : 0);
	if (x->of == NULL) {
		char msg[4200];

		x->exit = EXIT_WRITE;
		snprintf(msg, sizeof(msg), "Failed to open the file %s: %s",
		    x->final_path, strerror(errno));
		report(EXIT_WRITE, msg);
		return -1;
	}
	return 0;
}

static int
out_write(struct xfer *x, const char *p, size_t n)
{
	if (x->write_failed || out_open(x) == -1)
		return -1;
	if (whirl_outfile_write(x->of, p, n) == -1) {
		x->write_failed = true;
		return -1;
	}
	return 0;
}

/* The try is over: keep the file (ok) or remove it. */
static void
out_finish(struct xfer *x, bool ok)
{
	/* An empty body makes an empty file, except for a 304 (the copy
	 * there is still good, curl leaves it too) and a discarded one. */
	if (ok && x->of == NULL && !to_stdout(x) && !x->not_modified &&
	    !x->discard)
		ok = out_open(x) == 0;
	if (x->of == NULL)
		return;
	if (ok && whirl_outfile_commit(x->of) == -1)
		x->write_failed = true;
	else if (!ok)
		whirl_outfile_discard(x->of);
	x->of = NULL;
}

static void
on_fatal_signal(int sig)
{
	whirl_outfile_unlink_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Transfer callbacks.
 */

static char *
format_head(const struct whirl_http_response *r, const char *prefix,
    bool tornado)
{
	const char *n, *v;
	char *text;
	size_t i, len;
	FILE *m = open_memstream(&text, &len);

	if (m == NULL)
		err(1, NULL);
	if (!tornado)
		fprintf(m, "%sHTTP/%d.%d %d%s%s\r\n", prefix, r->major,
		    r->minor, r->code, *r->reason ? " " : "", r->reason);
	for (i = 0; whirl_headers_at(r->headers, i, &n, &v); i++)
		fprintf(m, tornado ? "%s%s: %s\n" : "%s%s: %s\r\n", prefix, n,
		    v);
	fputs(tornado ? "\n" : *prefix ? "< \r\n" : "\r\n", m);
	fclose(m);
	return text;
}

/* A head for the body's destination: raw, or coloured on a terminal. */
static int
out_head(struct xfer *x, const char *text)
{
	struct evbuffer *b;
	int rc;

	if (!(pretty_flags & WHIRL_PRETTY_COLOR) || !to_stdout(x))
		return out_write(x, text, strlen(text));
	if ((b = evbuffer_new()) == NULL)
		err(1, NULL);
	whirl_http_head_pretty(b, text, strlen(text), pretty_flags);
	rc = out_write(x, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
	return rc;
}

static uint64_t
elapsed_ms(uint64_t since)
{
	return whirl_loop_now_ms(loop) - since;
}

/* A final answer with a status --retry covers: its body is not kept,
 * since the transfer will be tried again (curl writes it, then throws
 * it away where it can). */
static void
check_retry_status(struct xfer *x, const struct whirl_http_response *r)
{
	x->will_retry = false;
	if (x->retries_left <= 0 || !whirl_http_status_transient(r->code) ||
	    (o.retry_max_ms > 0 && elapsed_ms(x->retry_start_ms) >=
	    o.retry_max_ms))
		return;
	x->retry_after_ms = whirl_http_retry_after_ms(
	    whirl_headers_get(r->headers, "Retry-After"), time(NULL));
	if (o.retry_max_ms > 0 && x->retry_after_ms > 0 &&
	    elapsed_ms(x->retry_start_ms) + x->retry_after_ms >
	    o.retry_max_ms) {
		warning("The Retry-After: time would make this command line "
		    "exceed the maximum allowed time for retries.");
		return;
	}
	x->will_retry = x->discard = true;
}

/* -C: does the answer continue the file?  0 to go on (maybe with the
 * body discarded), -1 to stop with 33. */
static int
check_resume(struct xfer *x, const struct whirl_http_response *r)
{
	const char *cr = whirl_headers_get(r->headers, "Content-Range");
	const char *cl = whirl_headers_get(r->headers, "Content-Length");
	unsigned long long start;

	if (x->resume_from == 0 || strcmp(r->method, "GET") != 0 ||
	    ((o.fail || o.fail_with_body) && r->code >= 400))
		return 0;
	if (r->code == 416) {
		/* Nothing left to send: the file is whole. */
		x->discard = true;
		return 0;
	}
	if (r->code == 206 && cr != NULL &&
	    sscanf(cr, "bytes %llu-", &start) == 1 && start == x->resume_from)
		return 0;
	if (cl != NULL && strtoull(cl, NULL, 10) == x->resume_from) {
		x->discard = true;      /* already all there */
		return 0;
	}
	x->exit = EXIT_RANGE;
	report(EXIT_RANGE, "HTTP server doesn't seem to support byte "
	    "ranges. Cannot resume.");
	return -1;
}

/* The final head: what happens to the body. */
static int
final_head(struct xfer *x, const struct whirl_http_response *r)
{
	const char *ct = whirl_headers_get(r->headers, "Content-Type");
	const char *cl = whirl_headers_get(r->headers, "Content-Length");
	const char *te = whirl_headers_get(r->headers, "Transfer-Encoding");
	const char *plus;

	x->not_modified = r->code == 304;
	x->raw_chunked = o.raw && te != NULL &&
	    strcasestr(te, "chunked") != NULL;
	check_retry_status(x, r);
	if (!x->will_retry && check_resume(x, r) == -1)
		return -1;
	if (x->bar != NULL && cl != NULL &&
	    whirl_headers_get(r->headers, "Content-Encoding") == NULL)
		whirl_progress_set_total(x->bar, (int64_t)strtoull(cl, NULL,
		    10));
	/* application/json and any +json, to be indented on a terminal. */
	plus = ct != NULL ? strstr(ct, "+json") : NULL;
	if ((pretty_flags & PRETTY_FMT) && to_stdout(x) && !x->discard &&
	    !o.head && !o.raw && ct != NULL && (whirl_media_type_is(ct,
	    "application/json") || (plus != NULL && (plus[5] == '\0' ||
	    plus[5] == ';' || plus[5] == ' '))) &&
	    (x->json = evbuffer_new()) == NULL)
		err(1, NULL);
	return 0;
}

static int
on_head(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	struct xfer *x = arg;
	char *text;
	bool final = r->code >= 200 && !r->redirecting;

	(void)f;
	if (o.verbose) {
		text = format_head(r, "< ", false);
		stderr_begin();
		fputs(text, stderr);
		free(text);
	}
	if (dump != NULL || (o.dump_header != NULL &&
	    strcmp(o.dump_header, "-") == 0)) {
		text = format_head(r, "", false);
		if (dump != NULL)
			fputs(text, dump);
		else
			whirl_outfile_write(std_out, text, strlen(text));
		free(text);
	}
	if (final && final_head(x, r) == -1)
		return -1;
	if ((o.include || o.head || o.tornado_headers) && !x->will_retry) {
		text = format_head(r, "", o.tornado_headers && !o.include &&
		    !o.head);
		if ((!o.tornado_headers || final) && out_head(x, text) == -1) {
			free(text);
			return -1;
		}
		free(text);
	}
	if (final && r->code >= 400 && (o.fail || o.fail_with_body)) {
		x->failed_http = true;
		if (o.fail)
			return -1;
	}
	return 0;
}

/* The held JSON body, written as it came (not JSON after all, or too
 * big to hold). */
static int
json_flush_raw(struct xfer *x)
{
	struct evbuffer *b = x->json;
	int rc;

	x->json = NULL;
	rc = out_write(x, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
	return rc;
}

static int
on_body(struct whirl_fetch *f, const char *data, size_t len, void *arg)
{
	struct xfer *x = arg;
	char size[24];

	(void)f;
	x->got += len;
	if (x->bar != NULL)
		whirl_progress_update(x->bar, x->got);
	if (!o.print_body || o.head || x->discard)
		return 0;
	if (x->json != NULL) {
		evbuffer_add(x->json, data, len);
		if (evbuffer_get_length(x->json) <= JSON_MAX)
			return 0;
		return json_flush_raw(x);
	}
	if (x->raw_chunked) {
		/* --raw: the chunked framing back, one chunk per piece. */
		snprintf(size, sizeof(size), "%zx\r\n", len);
		if (out_write(x, size, strlen(size)) == -1 ||
		    out_write(x, data, len) == -1 ||
		    out_write(x, "\r\n", 2) == -1)
			return -1;
		return 0;
	}
	return out_write(x, data, len);
}

/* The end of a held JSON body: indented if it is JSON. */
static void
json_finish(struct xfer *x)
{
	struct evbuffer *b;

	if (x->json == NULL)
		return;
	if ((b = evbuffer_new()) == NULL)
		err(1, NULL);
	if (whirl_json_pretty(b, (const char *)evbuffer_pullup(x->json, -1),
	    evbuffer_get_length(x->json), pretty_flags) == 0) {
		evbuffer_free(x->json);
		x->json = b;
	} else {
		evbuffer_free(b);
	}
	json_flush_raw(x);
}

static void
on_debug(struct whirl_fetch *f, enum whirl_fetch_debug kind,
    const char *text, size_t len, void *arg)
{
	const char *p = text, *end = text + len, *nl;

	(void)f;
	(void)arg;
	stderr_begin();
	if (kind == WHIRL_FETCH_INFO) {
		fprintf(stderr, "* %.*s\n", (int)len, text);
		return;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end - 1;
		fprintf(stderr, "> %.*s", (int)(nl + 1 - p), p);
	}
}

/* -w's output for a transfer: stdout's part, then stderr's. */
static void
write_out(const struct whirl_http_response *r, const struct xfer *x,
    int code, const char *msg)
{
	struct whirl_writeout_vars v = { r, code, msg, x->final_path, x->url,
		x->urlnum, WHIRL_VERSION };
	struct evbuffer *out = evbuffer_new(), *errs = evbuffer_new();

	if (out == NULL || errs == NULL)
		err(1, NULL);
	if (whirl_writeout(out, errs, write_out_fmt, &v) == -1) {
		stderr_begin();
		warnx("%s", whirl_error());
	}
	whirl_outfile_write(std_out, evbuffer_pullup(out, -1),
	    evbuffer_get_length(out));
	if (evbuffer_get_length(errs) > 0) {
		stderr_begin();
		whirl_outfile_write(std_err, evbuffer_pullup(errs, -1),
		    evbuffer_get_length(errs));
	}
	evbuffer_free(out);
	evbuffer_free(errs);
}

/*
 * Transfers: started as slots free up, each through its retries.
 */

static void fill(void);
static void start_attempt(struct xfer *x);

/* The next transfer of the URL arguments' globs, or NULL. */
static struct xfer *
next_xfer(void)
{
	struct xfer *x;
	char *url = NULL;
	size_t i;

	while (next_arg < o.nurls) {
		if (o.globoff) {
			url = strdup(o.urls[next_arg]);
			break;
		}
		if (next_glob == NULL &&
		    (next_glob = whirl_urlglob_new(o.urls[next_arg],
		    NULL)) == NULL)
			errx(EXIT_URL, "%s", whirl_error());  /* checked */
		if ((url = whirl_urlglob_next(next_glob)) != NULL)
			break;
		whirl_urlglob_free(next_glob);
		next_glob = NULL;
		next_arg++;
	}
	if (url == NULL)
		return NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		err(1, NULL);
	i = x->urlnum = next_arg;
	if (o.globoff)
		next_arg++;
	x->url = url;
	if (i < o.nouts)
		x->out = o.outs[i];
	else if (o.remote_name_all)
		x->out.remote_name = true;
	if (x->out.path != NULL)
		x->out_path = next_glob != NULL ?
		    whirl_urlglob_name(next_glob, x->out.path) :
		    strdup(x->out.path);
	x->upload = i < o.nuploads ? o.uploads[i] : NULL;
	x->retries_left = o.retry;
	x->retry_sleep_ms = o.retry_delay_ms > 0 ? o.retry_delay_ms : 1000;
	return x;
}

static void
xfer_free(struct xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		running = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	nrunning--;
	whirl_timer_free(x->retry_timer);
	free(x->url);
	free(x->out_path);
	free(x->user);
	free(x->final_path);
	free(x);
}

/* What is left of a try: the bar, the held JSON, the upload's stream. */
static void
attempt_end(struct xfer *x)
{
	if (x->bar != NULL)
		whirl_progress_end(x->bar, whirl_loop_now_ms(loop) / 1e3);
	x->bar = NULL;
	if (x->json != NULL)
		evbuffer_free(x->json);
	x->json = NULL;
	whirl_stream_free(x->upload_stream);
	x->upload_stream = NULL;
	whirl_headers_free(x->hdrs);
	x->hdrs = NULL;
	x->f = NULL;
}

/* Stop everything still running (--fail-early): no done, no -w. */
static void
cancel_all(void)
{
	stopping = true;
	while (running != NULL) {
		if (running->f != NULL)
			whirl_fetch_cancel(running->f);
		out_finish(running, false);
		attempt_end(running);
		xfer_free(running);
	}
}

/* The transfer is over with status code. */
static void
xfer_done(struct xfer *x, int code)
{
	/* With -Z the last failure to complete decides; one after another,
	 * the last transfer does. */
	if (!o.parallel || code != 0)
		final_exit = code;
	xfer_free(x);
	if (code != 0 && o.fail_early)
		cancel_all();
	fill();
}

static void
on_retry_timer(struct whirl_timer *t, void *arg)
{
	(void)t;
	start_attempt(arg);
}

/* curl's --retry: which failures are tried again, and when. */
static bool
retry(struct xfer *x, const struct whirl_http_response *r, int code)
{
	static const char *const why[] = { "timeout", "connection refused",
		"HTTP error", "retrying all errors" };
	enum whirl_fetch_error e = r->error;
	uint64_t sleep_ms = x->retry_sleep_ms;
	int kind = -1;
	char secs[32];

	if (x->retries_left <= 0 || stopping || (o.retry_max_ms > 0 &&
	    elapsed_ms(x->retry_start_ms) >= o.retry_max_ms))
		return false;
	if (e == WHIRL_FETCH_TIMEOUT || e == WHIRL_FETCH_RESOLVE ||
	    e == WHIRL_FETCH_PROXY_RESOLVE)
		kind = 0;
	else if (o.retry_connrefused && e == WHIRL_FETCH_CONNECT &&
	    r->error_msg != NULL && strstr(r->error_msg,
	    strerror(ECONNREFUSED)) != NULL)
		kind = 1;
	else if (x->will_retry)
		kind = 2;
	else if (code != 0 && o.retry_all)
		kind = 3;
	/* stdin cannot be sent twice */
	if (kind == -1 || (x->upload != NULL && strcmp(x->upload, "-") == 0))
		return false;
	if (kind == 2 && x->retry_after_ms > 0)
		sleep_ms = x->retry_after_ms;
	snprintf(secs, sizeof(secs), "%g", sleep_ms / 1000.0);
	warning("Problem: %s. Will retry in %s second%s. %ld retr%s left.",
	    why[kind], secs, sleep_ms == 1000 ? "" : "s", x->retries_left,
	    x->retries_left == 1 ? "y" : "ies");
	x->retries_left--;
	if (o.retry_delay_ms == 0 && (x->retry_sleep_ms *= 2) >
	    RETRY_SLEEP_MAX)
		x->retry_sleep_ms = RETRY_SLEEP_MAX;
	if (x->retry_timer == NULL)
		x->retry_timer = whirl_timer_new(loop, on_retry_timer, x);
	whirl_timer_start(x->retry_timer, sleep_ms, false);
	return true;
}

static void
on_done(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	struct xfer *x = arg;
	const char *msg = r->error_msg;
	char buf[600];
	int code = whirl_fetch_error_code(r->error);
	bool http_fail = x->failed_http && (r->error == WHIRL_FETCH_OK ||
	    r->error == WHIRL_FETCH_ABORTED);

	(void)f;
	if (x->exit != 0) {
		code = x->exit;         /* already reported (-O, -o, -C) */
		msg = NULL;
	} else if (x->write_failed ||
	    (r->error == WHIRL_FETCH_ABORTED && !http_fail)) {
		code = EXIT_WRITE;
		msg = "Failure writing output to destination";
	} else if (http_fail) {
		code = EXIT_HTTP;
		snprintf(buf, sizeof(buf), "The requested URL returned error: "
		    "%d", r->code);
		msg = buf;
	}
	if (code == 0 && x->raw_chunked)
		on_body(NULL, "", 0, x);
	/* A held JSON body: indented when whole, else what came, as is. */
	if (code == 0 || (http_fail && o.fail_with_body))
		json_finish(x);
	else if (x->json != NULL)
		json_flush_raw(x);
	out_finish(x, (code == 0 && !x->will_retry) ||
	    (http_fail && o.fail_with_body));
	if (x->write_failed && code != EXIT_WRITE) {
		code = EXIT_WRITE;
		msg = "Failure writing output to destination";
	}
	if (code != 0 && msg != NULL)
		report(code, msg);
	attempt_end(x);
	if (code != EXIT_WRITE && retry(x, r, code))
		return;
	if (write_out_fmt != NULL)
		write_out(r, x, code, msg);
	xfer_done(x, code);
}

/* The try's request, as the options and the transfer say. */
static void
request(struct xfer *x, struct whirl_http_request *rq)
{
	const char *colon;

	whirl_http_request_init(rq, x->url);
	rq->method = o.method != NULL ? o.method : o.head ? "HEAD" :
	    x->upload != NULL ? "PUT" : (o.has_data && !o.get) ||
	    o.form != NULL ? "POST" : "GET";
	rq->headers = x->hdrs != NULL ? x->hdrs : prepared;
	rq->user_agent = o.user_agent;
	rq->omit = (const char *const *)o.omit;
	rq->nomit = o.nomit;
	if (o.has_data && !o.get) {
		rq->body = o.data;
		rq->body_len = o.data_len;
		rq->has_body = true;
	}
	rq->form = o.form;
	if (x->upload_stream != NULL)
		rq->body_stream = x->upload_stream;
	else if (x->upload != NULL)
		rq->body_file = x->upload;
	if (o.user != NULL && x->user == NULL) {
		colon = strchr(o.user, ':');
		x->user = colon != NULL ? strndup(o.user,
		    (size_t)(colon - o.user)) : strdup(o.user);
	}
	if (o.user != NULL) {
		colon = strchr(o.user, ':');
		rq->auth_username = x->user;
		rq->auth_password = colon != NULL ? colon + 1 : "";
	}
	rq->follow_redirects = o.location;
	rq->max_redirects = o.max_redirs;
	rq->trusted_redirects = o.trusted;
	rq->decompress = o.compressed && !o.raw;
	rq->connect_timeout_ms = o.connect_ms;
	rq->request_timeout_ms = o.max_ms;
	rq->max_body = UINT64_MAX;
	rq->tls = tls;
	rq->proxy = o.proxy;
	rq->no_proxy = o.noproxy;
	rq->resolve = (const char *const *)o.resolve;
	rq->nresolve = o.nresolve;
	rq->unix_socket = o.unix_socket;
	rq->family = o.family;
	rq->cookies = jar;
	rq->head_cb = on_head;
	rq->body_cb = on_body;
	rq->debug_cb = o.verbose ? on_debug : NULL;
}

/* -C and -r: this try asks for part of the body. */
static void
ask_range(struct xfer *x)
{
	const char *n, *v;
	char range[64];
	struct stat st;
	size_t i;

	x->resume_from = o.range != NULL ? 0 : o.resume_from;
	if (o.resume_auto && o.range == NULL && !to_stdout(x)) {
		free(x->final_path);
		x->final_path = x->out.remote_name ? remote_name(x->url) :
		    strdup(x->out_path);
		x->resume_from = stat(x->final_path, &st) == 0 &&
		    S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	}
	if (o.range != NULL)
		snprintf(range, sizeof(range), "bytes=%.50s", o.range);
	else if (x->resume_from > 0)
		snprintf(range, sizeof(range), "bytes=%llu-",
		    (unsigned long long)x->resume_from);
	else
		return;
	x->hdrs = whirl_headers_new();
	for (i = 0; whirl_headers_at(prepared, i, &n, &v); i++)
		if (strcasecmp(n, "Range") != 0)
			whirl_headers_add(x->hdrs, n, v);
	whirl_headers_add(x->hdrs, "Range", range);
}

/* The name on a transfer's progress bar. */
static char *
bar_name(const struct xfer *x)
{
	const char *slash;
	char *name;

	if (x->out_path != NULL) {
		slash = strrchr(x->out_path, '/');
		return strdup(slash != NULL ? slash + 1 : x->out_path);
	}
	name = remote_name(x->url);
	if (*name == '\0') {
		free(name);
		name = strdup(x->url);
	}
	return name;
}

static void
start_attempt(struct xfer *x)
{
	struct whirl_http_request rq;
	char *name, msg[300];

	x->attempt++;
	x->raw_chunked = x->failed_http = x->write_failed = false;
	x->not_modified = x->discard = x->will_retry = false;
	x->exit = 0;
	x->got = 0;
	x->retry_after_ms = 0;
	if (x->attempt == 1)
		x->retry_start_ms = whirl_loop_now_ms(loop);
	if (strncasecmp(x->url, "ws://", 5) == 0 ||
	    strncasecmp(x->url, "wss://", 6) == 0) {
		snprintf(msg, sizeof(msg), "WebSocket URL: use whirl-ws "
		    "%.200s", x->url);
		report(EXIT_UNSUPPORTED, msg);
		xfer_done(x, EXIT_UNSUPPORTED);
		return;
	}
	if (x->upload != NULL && strcmp(x->upload, "-") == 0 &&
	    (x->upload_stream = whirl_stream_new_pair(loop, 0, -1,
	    WHIRL_STREAM_BORROW_FD)) == NULL) {
		report(EXIT_READ, whirl_error());
		xfer_done(x, EXIT_READ);
		return;
	}
	if (o.resume || o.range != NULL)
		ask_range(x);
	/* A bar for a body that goes to a file, never to a pipe. */
	if (meter != NULL && (!to_stdout(x) || stdout_file)) {
		name = bar_name(x);
		x->bar = whirl_progress_add(meter, name,
		    whirl_loop_now_ms(loop) / 1e3);
		free(name);
	}
	request(x, &rq);
	x->f = whirl_httpclient_fetch(client, &rq, on_done, x);
}

/* The URL as curl takes it: http:// when there is no scheme, -G's data
 * in the query, -T's file name after a trailing '/'. */
static void
fix_url(struct xfer *x)
{
	const char *slash, *u = x->url;
	char *url;

	if (asprintf(&url, "%s%s", strstr(u, "://") != NULL ? "" : "http://",
	    u) == -1)
		err(1, NULL);
	free(x->url);
	x->url = url;
	if (o.get && o.has_data) {
		if (asprintf(&url, "%s%c%s", x->url, strchr(x->url, '?') !=
		    NULL ? '&' : '?', o.data) == -1)
			err(1, NULL);
		free(x->url);
		x->url = url;
	}
	if (x->upload != NULL && strcmp(x->upload, "-") != 0 &&
	    x->url[strlen(x->url) - 1] == '/') {
		slash = strrchr(x->upload, '/');
		if (asprintf(&url, "%s%s", x->url, slash != NULL ? slash + 1 :
		    x->upload) == -1)
			err(1, NULL);
		free(x->url);
		x->url = url;
	}
}

/* Start transfers while there is room for them; stop the loop when all
 * are done. */
static void
fill(void)
{
	struct xfer *x;

	if (filling)
		return;
	filling = true;
	while (!stopping && nrunning < o.parallel_max &&
	    (x = next_xfer()) != NULL) {
		x->next = running;
		if (running != NULL)
			running->prev = x;
		running = x;
		nrunning++;
		fix_url(x);
		start_attempt(x);
	}
	filling = false;
	if (nrunning == 0)
		whirl_loop_stop(loop);
}

/*
 * The progress bars: on a terminal's stderr, for bodies not going to it.
 */

static void
on_meter(struct whirl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	whirl_progress_draw(meter, whirl_loop_now_ms(loop) / 1e3);
}

static void
meter_start(void)
{
	if (o.silent || o.no_progress || o.verbose || !isatty(2) ||
	    (o.nouts == 0 && !o.remote_name_all && !stdout_file))
		return;
	meter = whirl_progress_new(2, 0, 0);
	meter_timer = whirl_timer_new(loop, on_meter, NULL);
	whirl_timer_start(meter_timer, METER_MS, true);
}

/*
 * Setting up and cleaning up.
 */

/* The fields every request carries: -H, and those -d, --json and -u
 * imply unless -H says otherwise. */
static void
prepare(void)
{
	const char *n, *v;
	struct stat st;
	size_t i;

	prepared = whirl_headers_new();
	for (i = 0; whirl_headers_at(o.headers, i, &n, &v); i++)
		whirl_headers_add(prepared, n, v);
	if (o.has_data && !o.get) {
		if (whirl_headers_get(prepared, "Content-Type") == NULL)
			whirl_headers_add(prepared, "Content-Type", o.json ?
			    "application/json" :
			    "application/x-www-form-urlencoded");
		if (o.json && whirl_headers_get(prepared, "Accept") == NULL)
			whirl_headers_add(prepared, "Accept",
			    "application/json");
	}
	if (o.cookie != NULL && strchr(o.cookie, '=') != NULL &&
	    whirl_headers_get(prepared, "Cookie") == NULL)
		whirl_headers_add(prepared, "Cookie", o.cookie);
	stdout_file = fstat(1, &st) == 0 && S_ISREG(st.st_mode);
	switch (o.pretty) {
	case PRETTY_AUTO:
		if (isatty(1))
			pretty_flags = PRETTY_FMT | (getenv("NO_COLOR") ==
			    NULL || *getenv("NO_COLOR") == '\0' ?
			    WHIRL_PRETTY_COLOR : 0);
		break;
	case PRETTY_ALL:
		pretty_flags = PRETTY_FMT | WHIRL_PRETTY_COLOR;
		break;
	case PRETTY_COLORS:
		pretty_flags = WHIRL_PRETTY_COLOR;
		break;
	case PRETTY_FORMAT:
		pretty_flags = PRETTY_FMT;
		break;
	case PRETTY_NONE:
		break;
	}
}

/* Contexts, jars, files: everything that can fail before any I/O. */
static void
setup(void)
{
	struct whirl_tls_client_opts t = { 0 };
	size_t len;

	std_out = whirl_outfile_wrap(1);
	std_err = whirl_outfile_wrap(2);
	if (o.cacert != NULL || o.cert != NULL || o.insecure) {
		t.cafile = o.cacert;
		t.cert_file = o.cert;
		t.key_file = o.key != NULL ? o.key : o.cert;
		t.insecure = o.insecure;
		if ((tls = whirl_tls_client_new(&t)) == NULL) {
			int code = o.cacert != NULL &&
			    strstr(whirl_error(), o.cacert) != NULL ?
			    EXIT_CACERT : EXIT_CERT_LOCAL;

			report(code, whirl_error());
			exit(code);
		}
	}
	if (o.cookie_jar != NULL ||
	    (o.cookie != NULL && strchr(o.cookie, '=') == NULL)) {
		jar = whirl_cookie_jar_new();
		/* curl: a cookie file that is not there is no error. */
		if (o.cookie != NULL && strchr(o.cookie, '=') == NULL)
			(void)whirl_cookie_jar_load(jar, o.cookie);
	}
	if (o.dump_header != NULL && strcmp(o.dump_header, "-") != 0 &&
	    (dump = fopen(o.dump_header, "w")) == NULL) {
		char msg[4200];

		snprintf(msg, sizeof(msg), "Failed to open %s: %s",
		    o.dump_header, strerror(errno));
		report(EXIT_WRITE, msg);
		exit(EXIT_WRITE);
	}
	if (o.write_out != NULL) {
		if (o.write_out[0] == '@') {
			write_out_fmt = read_at(o.write_out + 1, &len);
			if (write_out_fmt == NULL)
				write_out_fmt = strdup("");
		} else {
			write_out_fmt = strdup(o.write_out);
		}
	}
}

static void
cleanup(void)
{
	size_t i;

	whirl_outfile_commit(std_out);
	whirl_outfile_commit(std_err);
	whirl_timer_free(meter_timer);
	whirl_progress_free(meter);
	whirl_httpclient_free(client);
	whirl_loop_free(loop);
	whirl_tls_ctx_free(tls);
	whirl_cookie_jar_free(jar);
	whirl_headers_free(prepared);
	whirl_headers_free(o.headers);
	whirl_form_free(o.form);
	whirl_urlglob_free(next_glob);
	for (i = 0; i < o.nomit; i++)
		free(o.omit[i]);
	free(o.omit);
	free(o.outs);
	free(o.uploads);
	free(o.resolve);
	free(o.data);
	free(write_out_fmt);
}

int
main(int argc, char **argv)
{
	struct whirl_httpclient_opts co = { 0 };

	if (whirl_std_fds_open() == -1)
		_exit(1);
	parse_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	prepare();
	setup();
	if ((loop = whirl_loop_new()) == NULL)
		errx(1, "%s", whirl_error());
	co.user_agent = "whirl-fetch/" WHIRL_VERSION;
	/* -Z: as many connections to a host as transfers may run. */
	co.max_per_host = o.parallel_max > 8 ? o.parallel_max : 8;
	co.max_idle = co.max_per_host > 64 ? co.max_per_host : 64;
	client = whirl_httpclient_new(loop, &co);
	meter_start();
	fill();
	if (nrunning > 0 && whirl_loop_run(loop) == -1)
		errx(1, "%s", whirl_error());
	if (meter != NULL)
		whirl_progress_draw(meter, whirl_loop_now_ms(loop) / 1e3);
	if (o.cookie_jar != NULL && whirl_cookie_jar_save(jar,
	    o.cookie_jar) == -1)
		warnx("%s", whirl_error());
	if (dump != NULL && fclose(dump) == EOF && final_exit == 0)
		final_exit = EXIT_WRITE;
	cleanup();
	return final_exit;
}
