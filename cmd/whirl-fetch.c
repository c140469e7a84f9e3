/* whirl-fetch - an HTTP(S) fetcher for shells and scripts, with curl's
 * letters, meanings and exit statuses.
 *
 *     whirl-fetch [options] URL...
 *
 * Options become one whirl_http_request per URL; the URLs are fetched in
 * turn on one whirl_httpclient, so keep-alive connections carry from one
 * to the next.  The body goes raw to stdout (or -o FILE, written to a
 * temporary name and renamed when complete, so that a file is complete or
 * absent); -w prints a summary after each transfer.  The exit status is
 * curl's for the last transfer (or the first failing one with
 * --fail-early): see the EXIT STATUS table in whirl-fetch(1).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
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

#include "whirl.h"
#include "httpclient.h"

#define EXIT_USAGE      2
#define EXIT_URL        3
#define EXIT_HTTP       22
#define EXIT_WRITE      23
#define EXIT_CERT_LOCAL 58
#define EXIT_CACERT     77

struct output {                 /* -o FILE, -O, or stdout */
	const char *path;       /* NULL: stdout */
	bool remote_name;       /* -O */
};

struct opts {
	const char *method;
	struct whirl_headers *headers;
	char **omit;
	size_t nomit;
	char *data;             /* -d, --data-*, --json, joined */
	size_t data_len;
	bool has_data, json, get, head, include, verbose, silent, show_error;
	bool fail, fail_with_body, fail_early, location, trusted, compressed;
	bool raw, insecure, print_body, tornado_headers;
	const char *user, *user_agent, *cacert, *cert, *key, *proxy, *noproxy;
	const char *proxy_host, *proxy_port, *unix_socket;
	const char *dump_header, *write_out, *cookie, *cookie_jar;
	char **resolve;
	size_t nresolve;
	int family, max_redirs;
	uint64_t connect_ms, max_ms;
	struct output *outs;
	size_t nouts;
	char **urls;
	size_t nurls;
};

/* One transfer's state. */
struct xfer {
	size_t i;
	char *url;
	struct output out;
	int fd;                 /* body destination, -1 until opened */
	char *final_path, *tmp_path;
	char *user;                     /* -u's name, split off */
	bool raw_chunked, failed_http, write_failed, not_modified;
	int write_errno;
	int exit;
};

static struct opts o;
static struct whirl_loop *loop;
static struct whirl_httpclient *client;
static struct whirl_tls_ctx *tls;
static struct whirl_cookie_jar *jar;
static struct xfer x;
static FILE *dump;
static int final_exit;
static char *write_out_fmt;
static volatile sig_atomic_t have_tmp;
static char tmp_for_signal[4096];

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
	    "  -f, --fail                  exit 22 on HTTP errors, no body\n"
	    "      --fail-early            stop at the first failing URL\n"
	    "      --fail-with-body        exit 22 on HTTP errors, with the "
	    "body\n"
	    "  -G, --get                   put the data in the query, GET\n"
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
	    "      --noproxy LIST          hosts that bypass the proxy\n"
	    "  -o, --output FILE           write the body to FILE\n"
	    "  -O, --remote-name           ... to the URL's file name\n"
	    "      --raw                   no decoding of the body\n"
	    "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT\n"
	    "  -S, --show-error            show errors even with -s\n"
	    "  -s, --silent                no error messages\n"
	    "  -u, --user USER:PASS        basic authentication\n"
	    "      --unix-socket PATH      connect to a unix socket\n"
	    "  -v, --verbose               heads and connection on stderr\n"
	    "  -V, --version               print the version and exit\n"
	    "  -w, --write-out FORMAT      print FORMAT after each transfer\n"
	    "  -X, --request METHOD        use METHOD\n"
	    "  -x, --proxy [http://]HOST[:PORT]  use an HTTP proxy\n"
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

/* "whirl-fetch: (7) Failed to connect ...", unless -s without -S. */
static void
report(int code, const char *msg)
{
	if (o.silent && !o.show_error)
		return;
	fprintf(stderr, "%s: (%d) %s\n", program_invocation_short_name, code,
	    msg);
}

/*
 * Reading option arguments.
 */

static char *
read_all_fd(int fd, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	for (;;) {
		if (n + 65536 > cap) {
			cap = (n + 65536) * 2;
			if ((buf = realloc(buf, cap)) == NULL)
				err(1, NULL);
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (got == -1) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The contents of "@file" ("@-": stdin), or NULL with a warning (curl
 * goes on with nothing). */
static char *
read_at(const char *name, size_t *len)
{
	int fd = strcmp(name, "-") == 0 ? 0 : open(name, O_RDONLY | O_CLOEXEC);
	char *buf;

	if (fd == -1) {
		warnx("Failed to open %s", name);
		return NULL;
	}
	buf = read_all_fd(fd, len);
	if (fd != 0)
		close(fd);
	if (buf == NULL)
		warn("Failed to read %s", name);
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
	char *name, *text, *line, *next;
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
		name = strndup(spec, (size_t)(semi - spec));
		whirl_headers_remove(o.headers, name);
		if (whirl_headers_add(o.headers, name, "") == -1)
			usage_error("bad -H '%s': %s", spec, whirl_error());
		free(name);
		return;
	}
	if (colon == NULL)
		usage_error("bad -H '%s' (Name: value)", spec);
	name = strndup(spec, (size_t)(colon - spec));
	v = colon + 1;
	v += strspn(v, " \t");
	if (*v == '\0') {
		whirl_headers_remove(o.headers, name);
		add_omit(name);
	} else if (whirl_headers_add(o.headers, name, v) == -1) {
		usage_error("bad -H '%s': %s", spec, whirl_error());
	}
	free(name);
}

static uint64_t
parse_secs(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < 0 || v > 86400.0 * 365)
		usage_error("bad %s '%s' (seconds)", opt, s);
	return v > 0 && v < 0.001 ? 1 : (uint64_t)(v * 1000 + 0.5);
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
	OPT_FAIL_WITH_BODY, OPT_JSON, OPT_KEY, OPT_LOCATION_TRUSTED,
	OPT_MAX_REDIRS, OPT_NOPROXY, OPT_RAW, OPT_RESOLVE, OPT_UNIX_SOCKET,
	OPT_NOOP, OPT_T_PRINT_HEADERS, OPT_T_PRINT_BODY, OPT_T_FOLLOW,
	OPT_T_VALIDATE, OPT_T_PROXY_HOST, OPT_T_PROXY_PORT
};

static const struct option longopts[] = {
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "compressed", no_argument, NULL, OPT_COMPRESSED },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
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
	{ "get", no_argument, NULL, 'G' },
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
	{ "no-progress-meter", no_argument, NULL, OPT_NOOP },
	{ "noproxy", required_argument, NULL, OPT_NOPROXY },
	{ "output", required_argument, NULL, 'o' },
	{ "progress-bar", no_argument, NULL, OPT_NOOP },
	{ "proxy", required_argument, NULL, 'x' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "referer", required_argument, NULL, 'e' },
	{ "remote-name", no_argument, NULL, 'O' },
	{ "request", required_argument, NULL, 'X' },
	{ "resolve", required_argument, NULL, OPT_RESOLVE },
	{ "show-error", no_argument, NULL, 'S' },
	{ "silent", no_argument, NULL, 's' },
	{ "unix-socket", required_argument, NULL, OPT_UNIX_SOCKET },
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

static void
parse_opts(int argc, char **argv)
{
	char *end;
	long n;
	int c;

	o.headers = whirl_headers_new();
	o.family = AF_UNSPEC;
	o.max_redirs = 50;
	o.connect_ms = 300000;
	o.print_body = true;
	while ((c = getopt_long(argc, argv,
	    "#46A:b:c:D:d:e:fGH:hIikLm:Oo:SsVu:vw:X:x:", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case '#':
			break;          /* curl's progress bar: none here */
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
				o.user_agent = optarg;
			break;
		case 'b':
			o.cookie = optarg;
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
			whirl_headers_set(o.headers, "Referer", optarg);
			break;
		case 'f':
			o.fail = true;
			break;
		case 'G':
			o.get = true;
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
		case 'S':
			o.show_error = true;
			break;
		case 's':
			o.silent = true;
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
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < -1 || n > INT32_MAX)
				usage_error("bad --max-redirs '%s'", optarg);
			o.max_redirs = (int)n;
			break;
		case OPT_NOPROXY:
			o.noproxy = optarg;
			break;
		case OPT_RAW:
			o.raw = true;
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
	if (o.nurls == 0)
		usage_error("no URL specified");
	if (o.head && o.has_data && !o.get)
		usage_error("You can only select one HTTP request method! "
		    "(-I with data)");
	if (o.fail && o.fail_with_body)
		usage_error("You must select either --fail or "
		    "--fail-with-body, not both.");
	if (o.key != NULL && o.cert == NULL)
		usage_error("--key needs --cert");
	if (o.proxy_host != NULL && o.proxy == NULL) {
		static char spec[512];

		snprintf(spec, sizeof(spec), "http://%s:%s", o.proxy_host,
		    o.proxy_port != NULL ? o.proxy_port : "80");
		o.proxy = spec;
	}
}

/*
 * Output: the body raw to stdout, or to a file that is complete or absent.
 */

static int
write_all(int fd, const char *p, size_t n)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w == -1 && errno == EAGAIN) {
			/* Someone made our stdout non-blocking: wait. */
			poll(&pfd, 1, -1);
		} else if (w == -1 && errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

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

/* Open the transfer's destination; -1 (reported) on failure. */
static int
out_open(void)
{
	struct stat st;
	char *tmp;
	mode_t um;
	int fd;

	if (x.fd >= 0)
		return 0;
	if (x.out.path == NULL && !x.out.remote_name) {
		x.fd = 1;
		return 0;
	}
	if (x.out.remote_name) {
		x.final_path = remote_name(x.url);
		if (x.final_path[0] == '\0') {
			x.exit = EXIT_WRITE;
			report(EXIT_WRITE, "Remote file name has no length!");
			return -1;
		}
	} else {
		x.final_path = strdup(x.out.path);
	}
	if (strcmp(x.final_path, "-") == 0) {
		x.fd = 1;
		return 0;
	}
	if (stat(x.final_path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a fifo: there is nothing to rename. */
		fd = open(x.final_path, O_WRONLY | O_CLOEXEC);
	} else {
		if (asprintf(&tmp, "%s.whirl-XXXXXX", x.final_path) == -1)
			err(1, NULL);
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd != -1) {
			um = umask(0);
			umask(um);
			fchmod(fd, 0666 & ~um);
			x.tmp_path = tmp;
			snprintf(tmp_for_signal, sizeof(tmp_for_signal), "%s",
			    tmp);
			have_tmp = 1;
		} else {
			free(tmp);
		}
	}
	if (fd == -1) {
		char msg[4200];

		x.exit = EXIT_WRITE;
		snprintf(msg, sizeof(msg), "Failed to open the file %s: %s",
		    x.final_path, strerror(errno));
		report(EXIT_WRITE, msg);
		return -1;
	}
	x.fd = fd;
	return 0;
}

static int
out_write(const char *p, size_t n)
{
	if (x.write_failed || out_open() == -1)
		return -1;
	if (write_all(x.fd, p, n) == -1) {
		x.write_failed = true;
		x.write_errno = errno;
		return -1;
	}
	return 0;
}

/* The transfer is over: keep the file (ok) or remove it. */
static void
out_finish(bool ok)
{
	/* An empty body makes an empty file, except for a 304: the copy
	 * there is still good (curl leaves it too). */
	if (ok && x.fd < 0 && (x.out.path != NULL || x.out.remote_name) &&
	    !x.not_modified)
		ok = out_open() == 0;
	if (x.fd > 2 && close(x.fd) == -1 && ok) {
		x.write_failed = true;
		x.write_errno = errno;
		ok = false;
	}
	x.fd = -1;
	if (x.tmp_path != NULL) {
		if (ok && rename(x.tmp_path, x.final_path) == -1) {
			x.write_failed = true;
			x.write_errno = errno;
			ok = false;
		}
		if (!ok)
			unlink(x.tmp_path);
		have_tmp = 0;
	}
	free(x.tmp_path);
	x.tmp_path = NULL;
}

static void
on_fatal_signal(int sig)
{
	if (have_tmp)
		unlink(tmp_for_signal);
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

static int
on_head(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	const char *te;
	char *text;
	bool final = r->code >= 200 && !r->redirecting;

	(void)f;
	(void)arg;
	if (o.verbose) {
		text = format_head(r, "< ", false);
		fputs(text, stderr);
		free(text);
	}
	if (dump != NULL || (o.dump_header != NULL &&
	    strcmp(o.dump_header, "-") == 0)) {
		text = format_head(r, "", false);
		if (dump != NULL)
			fputs(text, dump);
		else
			write_all(1, text, strlen(text));
		free(text);
	}
	if (o.include || o.head || o.tornado_headers) {
		text = format_head(r, "", o.tornado_headers && !o.include &&
		    !o.head);
		if (!o.tornado_headers || final)
			if (out_write(text, strlen(text)) == -1) {
				free(text);
				return -1;
			}
		free(text);
	}
	if (final && r->code >= 400 && (o.fail || o.fail_with_body)) {
		x.failed_http = true;
		if (o.fail)
			return -1;
	}
	if (final) {
		x.not_modified = r->code == 304;
		te = whirl_headers_get(r->headers, "Transfer-Encoding");
		x.raw_chunked = o.raw && te != NULL &&
		    strcasestr(te, "chunked") != NULL;
	}
	return 0;
}

static int
on_body(struct whirl_fetch *f, const char *data, size_t len, void *arg)
{
	char size[24];

	(void)f;
	(void)arg;
	if (!o.print_body || o.head)
		return 0;
	if (x.raw_chunked) {
		/* --raw: the chunked framing back, one chunk per piece. */
		snprintf(size, sizeof(size), "%zx\r\n", len);
		if (out_write(size, strlen(size)) == -1 ||
		    out_write(data, len) == -1 || out_write("\r\n", 2) == -1)
			return -1;
		return 0;
	}
	return out_write(data, len);
}

static void
on_debug(struct whirl_fetch *f, enum whirl_fetch_debug kind,
    const char *text, size_t len, void *arg)
{
	const char *p = text, *end = text + len, *nl;

	(void)f;
	(void)arg;
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

static int
exit_status(enum whirl_fetch_error e)
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

	return (size_t)e < sizeof(codes) / sizeof(codes[0]) ? codes[e] : 1;
}

/*
 * -w: curl's write-out variables.
 */

struct wctx {
	const struct whirl_http_response *r;
	int code;
	const char *msg;
};

static void
json_str(FILE *m, const char *s)
{
	char *e;

	if (s == NULL) {
		fputs("null", m);
		return;
	}
	e = whirl_json_escape(s, strlen(s));
	fprintf(m, "\"%s\"", e);
	free(e);
}

static const char *
scheme_of(const char *url)
{
	return strncasecmp(url, "https:", 6) == 0 ? "HTTPS" : "HTTP";
}

/* Print variable `name` into m; false if there is no such variable. */
static bool
write_var(FILE *m, const char *name, const struct wctx *w)
{
	const struct whirl_http_response *r = w->r;
	const char *ct = whirl_headers_get(r->headers, "Content-Type");
	double speed = r->time_total > 0 ?
	    (double)r->size_download / r->time_total : 0;
	char hn[256];

	if (strcmp(name, "content_type") == 0)
		fputs(ct != NULL ? ct : "", m);
	else if (strcmp(name, "errormsg") == 0)
		fputs(w->msg != NULL ? w->msg : "", m);
	else if (strcmp(name, "exitcode") == 0)
		fprintf(m, "%d", w->code);
	else if (strcmp(name, "filename_effective") == 0)
		fputs(x.final_path != NULL ? x.final_path : "", m);
	else if (strcmp(name, "http_code") == 0 ||
	    strcmp(name, "response_code") == 0)
		fprintf(m, "%03d", r->code);
	else if (strcmp(name, "http_version") == 0)
		r->code != 0 ? fprintf(m, r->minor ? "%d.%d" : "%d", r->major,
		    r->minor) : fputs("0", m);
	else if (strcmp(name, "local_ip") == 0)
		fputs(r->local_ip != NULL ? r->local_ip : "", m);
	else if (strcmp(name, "local_port") == 0)
		fprintf(m, "%d", r->local_port);
	else if (strcmp(name, "method") == 0)
		fputs(r->method, m);
	else if (strcmp(name, "num_connects") == 0)
		fprintf(m, "%d", r->num_connects);
	else if (strcmp(name, "num_redirects") == 0)
		fprintf(m, "%d", r->num_redirects);
	else if (strcmp(name, "redirect_url") == 0)
		fputs(r->redirect_url != NULL && !r->redirecting ?
		    r->redirect_url : "", m);
	else if (strcmp(name, "remote_ip") == 0)
		fputs(r->remote_ip != NULL ? r->remote_ip : "", m);
	else if (strcmp(name, "remote_port") == 0)
		fprintf(m, "%d", r->remote_port);
	else if (strcmp(name, "scheme") == 0)
		fputs(scheme_of(r->url), m);
	else if (strcmp(name, "size_download") == 0)
		fprintf(m, "%llu", (unsigned long long)r->size_download);
	else if (strcmp(name, "size_header") == 0)
		fprintf(m, "%llu", (unsigned long long)r->size_header);
	else if (strcmp(name, "size_upload") == 0)
		fprintf(m, "%llu", (unsigned long long)r->size_upload);
	else if (strcmp(name, "speed_download") == 0)
		fprintf(m, "%.0f", speed);
	else if (strcmp(name, "time_appconnect") == 0)
		fprintf(m, "%.6f", r->time_appconnect);
	else if (strcmp(name, "time_connect") == 0)
		fprintf(m, "%.6f", r->time_connect);
	else if (strcmp(name, "time_namelookup") == 0)
		fprintf(m, "%.6f", r->time_namelookup);
	else if (strcmp(name, "time_pretransfer") == 0)
		fprintf(m, "%.6f", r->time_pretransfer);
	else if (strcmp(name, "time_redirect") == 0)
		fprintf(m, "%.6f", r->time_redirect);
	else if (strcmp(name, "time_starttransfer") == 0)
		fprintf(m, "%.6f", r->time_starttransfer);
	else if (strcmp(name, "time_total") == 0)
		fprintf(m, "%.6f", r->time_total);
	else if (strcmp(name, "url") == 0)
		fputs(x.url, m);
	else if (strcmp(name, "url_effective") == 0)
		fputs(r->url, m);
	else if (strcmp(name, "urlnum") == 0)
		fprintf(m, "%zu", x.i);
	else if (sscanf(name, "header{%255[^}]}", hn) == 1)
		fputs(whirl_headers_get(r->headers, hn) != NULL ?
		    whirl_headers_get(r->headers, hn) : "", m);
	else
		return false;
	return true;
}

/* curl's %{json}: every variable, names in order, strings quoted (null
 * when empty), numbers bare. */
static void
write_json(FILE *m, const struct wctx *w)
{
	static const struct {
		const char *name;
		bool str;
	} vars[] = {
		{ "content_type", true }, { "errormsg", true },
		{ "exitcode", false }, { "filename_effective", true },
		{ "http_code", false }, { "http_version", true },
		{ "local_ip", true }, { "local_port", false },
		{ "method", true }, { "num_connects", false },
		{ "num_redirects", false }, { "redirect_url", true },
		{ "remote_ip", true }, { "remote_port", false },
		{ "response_code", false }, { "scheme", true },
		{ "size_download", false }, { "size_header", false },
		{ "size_upload", false }, { "speed_download", false },
		{ "time_appconnect", false }, { "time_connect", false },
		{ "time_namelookup", false }, { "time_pretransfer", false },
		{ "time_redirect", false }, { "time_starttransfer", false },
		{ "time_total", false }, { "url", true },
		{ "url_effective", true }, { "urlnum", false }
	};
	char *v;
	size_t i, len;
	FILE *t;

	fputc('{', m);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		fprintf(m, "%s\"%s\":", i ? "," : "", vars[i].name);
		if (strcmp(vars[i].name, "http_code") == 0 ||
		    strcmp(vars[i].name, "response_code") == 0) {
			fprintf(m, "%d", w->r->code);
		} else if (!vars[i].str) {
			write_var(m, vars[i].name, w);
		} else {
			if ((t = open_memstream(&v, &len)) == NULL)
				err(1, NULL);
			write_var(t, vars[i].name, w);
			fclose(t);
			json_str(m, *v != '\0' ? v : NULL);
			free(v);
		}
	}
	fprintf(m, ",\"whirl_version\":\"%s\"}", WHIRL_VERSION);
}

static void
write_out(const struct whirl_http_response *r, int code, const char *msg)
{
	struct wctx w = { r, code, msg };
	const char *p = write_out_fmt, *end;
	char name[300], *text;
	size_t len;
	FILE *m = open_memstream(&text, &len);
	int fd = 1;

	if (m == NULL)
		err(1, NULL);
	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			if (*p == 'n' || *p == 'r' || *p == 't' || *p == '\\')
				fputc(*p == 'n' ? '\n' : *p == 'r' ? '\r' :
				    *p == 't' ? '\t' : '\\', m);
			else
				fprintf(m, "\\%c", *p);
			continue;
		}
		if (*p != '%' || p[1] != '{') {
			if (*p == '%' && p[1] == '%')
				p++;
			fputc(*p, m);
			continue;
		}
		end = strstr(p, "}");
		if (end != NULL && strncmp(p + 2, "header{", 7) == 0)
			end = strstr(end + 1, "}");
		if (end == NULL) {
			fputs(p, m);
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
		p = end;
		if (strcmp(name, "json") == 0) {
			write_json(m, &w);
		} else if (strcmp(name, "stderr") == 0 ||
		    strcmp(name, "stdout") == 0) {
			fclose(m);
			write_all(fd, text, len);
			free(text);
			fd = name[3] == 'e' ? 2 : 1;
			if ((m = open_memstream(&text, &len)) == NULL)
				err(1, NULL);
		} else if (strcmp(name, "onerror") == 0) {
			if (code == 0)
				break;
		} else if (!write_var(m, name, &w)) {
			warnx("unknown --write-out variable: '%s'", name);
		}
	}
	fclose(m);
	write_all(fd, text, len);
	free(text);
}

/*
 * Transfers, one after another.
 */

static struct whirl_headers *prepared;

static void start_transfer(size_t i);

static void
on_done(struct whirl_fetch *f, const struct whirl_http_response *r,
    void *arg)
{
	const char *msg = r->error_msg;
	char buf[600];
	int code = exit_status(r->error);
	bool http_fail = x.failed_http && (r->error == WHIRL_FETCH_OK ||
	    r->error == WHIRL_FETCH_ABORTED);

	(void)f;
	(void)arg;
	if (x.exit != 0) {
		code = x.exit;          /* already reported (-O, -o) */
		msg = NULL;
	} else if (x.write_failed ||
	    (r->error == WHIRL_FETCH_ABORTED && !http_fail)) {
		code = EXIT_WRITE;
		msg = "Failure writing output to destination";
	} else if (http_fail) {
		code = EXIT_HTTP;
		snprintf(buf, sizeof(buf), "The requested URL returned error: "
		    "%d", r->code);
		msg = buf;
	}
	if (code == 0 && x.raw_chunked)
		on_body(NULL, "", 0, NULL);
	out_finish(code == 0 || (http_fail && o.fail_with_body));
	if (x.write_failed && code != EXIT_WRITE) {
		code = EXIT_WRITE;
		msg = "Failure writing output to destination";
	}
	if (code != 0 && msg != NULL)
		report(code, msg);
	if (write_out_fmt != NULL)
		write_out(r, code, msg);
	final_exit = code;
	free(x.url);
	free(x.final_path);
	free(x.user);
	if ((code != 0 && o.fail_early) || x.i + 1 >= o.nurls)
		whirl_loop_stop(loop);
	else
		start_transfer(x.i + 1);
}

static void
start_transfer(size_t i)
{
	struct whirl_http_request rq;
	const char *u = o.urls[i];
	char *url;

	memset(&x, 0, sizeof(x));
	x.i = i;
	x.fd = -1;
	if (i < o.nouts)
		x.out = o.outs[i];
	if (asprintf(&url, "%s%s", strstr(u, "://") != NULL ? "" : "http://",
	    u) == -1)
		err(1, NULL);
	if (o.get && o.has_data) {
		x.url = url;
		if (asprintf(&url, "%s%c%s", x.url,
		    strchr(x.url, '?') != NULL ? '&' : '?', o.data) == -1)
			err(1, NULL);
		free(x.url);
	}
	x.url = url;
	whirl_http_request_init(&rq, url);
	rq.method = o.method != NULL ? o.method : o.head ? "HEAD" :
	    o.has_data && !o.get ? "POST" : "GET";
	rq.headers = prepared;
	rq.user_agent = o.user_agent;
	rq.omit = (const char *const *)o.omit;
	rq.nomit = o.nomit;
	if (o.has_data && !o.get) {
		rq.body = o.data;
		rq.body_len = o.data_len;
		rq.has_body = true;
	}
	if (o.user != NULL) {
		const char *colon = strchr(o.user, ':');

		x.user = colon != NULL ? strndup(o.user,
		    (size_t)(colon - o.user)) : strdup(o.user);
		rq.auth_username = x.user;
		rq.auth_password = colon != NULL ? colon + 1 : "";
	}
	rq.follow_redirects = o.location;
	rq.max_redirects = o.max_redirs;
	rq.trusted_redirects = o.trusted;
	rq.decompress = o.compressed && !o.raw;
	rq.connect_timeout_ms = o.connect_ms;
	rq.request_timeout_ms = o.max_ms;
	rq.max_body = UINT64_MAX;
	rq.tls = tls;
	rq.proxy = o.proxy;
	rq.no_proxy = o.noproxy;
	rq.resolve = (const char *const *)o.resolve;
	rq.nresolve = o.nresolve;
	rq.unix_socket = o.unix_socket;
	rq.family = o.family;
	rq.cookies = jar;
	rq.head_cb = on_head;
	rq.body_cb = on_body;
	rq.debug_cb = o.verbose ? on_debug : NULL;
	whirl_httpclient_fetch(client, &rq, on_done, NULL);
}

/* The fields every request carries: -H, and those -d, --json and -u
 * imply unless -H says otherwise. */
static void
prepare(void)
{
	const char *n, *v;
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
}

/* Contexts, jars, files: everything that can fail before any I/O. */
static void
setup(void)
{
	struct whirl_tls_client_opts t = { 0 };
	size_t len;

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

/* A closed fd 0-2 gets /dev/null, so that no socket lands on it. */

static void
cleanup(void)
{
	size_t i;

	whirl_httpclient_free(client);
	whirl_loop_free(loop);
	whirl_tls_ctx_free(tls);
	whirl_cookie_jar_free(jar);
	whirl_headers_free(prepared);
	whirl_headers_free(o.headers);
	for (i = 0; i < o.nomit; i++)
		free(o.omit[i]);
	free(o.omit);
	free(o.outs);
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
	client = whirl_httpclient_new(loop, &co);
	start_transfer(0);
	if (whirl_loop_run(loop) == -1)
		errx(1, "%s", whirl_error());
	if (o.cookie_jar != NULL && whirl_cookie_jar_save(jar,
	    o.cookie_jar) == -1)
		warnx("%s", whirl_error());
	if (dump != NULL && fclose(dump) == EOF && final_exit == 0)
		final_exit = EXIT_WRITE;
	cleanup();
	return final_exit;
}
