/* webexec.c - programs as routes: exec: and cgi: (web.h), and the
 * process machinery ws-exec shares with them (web_internal.h).
 *
 * Invariants:
 *   - a prog is over once its shell was reaped and both its pipes to us
 *     reached their end, or once its group got SIGKILL and the shell was
 *     reaped: nothing of it is then worth waiting for;
 *   - a run (one request's program) lives from the route's callback
 *     until its prog is over; run->h is the handler until it is
 *     answered, NULL after, so it is answered exactly once;
 *   - nothing is sent before the program's first body byte or its clean
 *     end, so that a failure before output is still a 502 (a timeout a
 *     504); a CGI head's fields reach the handler only then;
 *   - stdout is read only while the client keeps up (the response's
 *     water mark): a program that floods blocks on its pipe, not in our
 *     memory.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "httpserver.h"
#include "httputil.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "log.h"
#include "process.h"
#include "web.h"
#include "web_internal.h"

#ifndef WHIRL_VERSION
#define WHIRL_VERSION "0"
#endif

#define KILL_GRACE_MS     2000          /* SIGTERM, then SIGKILL */
#define DEFAULT_TIMEOUT   60000
#define ERR_LINE_MAX      4096          /* longer stderr lines: pieces */
#define HEAD_MAX          (64 * 1024)   /* a CGI head, blank line too */
#define WATER_HIGH        (256 * 1024)  /* unsent output that pauses */
#define TEXT_TYPE         "text/plain; charset=utf-8"

extern char **environ;

/*
 * Programs.
 */

struct whirl__prog {
	struct whirl_loop *loop;
	struct whirl_process *p;
	struct whirl_timer *kill;       /* SIGKILL after the grace */
	const char *name;               /* the route, for log lines */
	whirl__prog_cb cb;
	void *arg;
	int status;
	bool reaped, out_eof, err_eof, killed, over;
};

static void
prog_check(struct whirl__prog *p)
{
	if (p->over || !p->reaped ||
	    !(p->killed || (p->out_eof && p->err_eof)))
		return;
	p->over = true;
	if (p->kill != NULL)
		whirl_timer_stop(p->kill);
	p->cb(p, p->status, p->arg);    /* may free p */
}

/* Signal the program's process group.  Once its shell was reaped the
 * rest of the group may live on, holding our pipes (we signal only
 * while one is open); while one member lives the group id cannot go to
 * another process, so kill(-pid) still reaches only ours. */
static void
kill_group(struct whirl__prog *p, int sig)
{
	if (!p->reaped)
		whirl_process_kill(p->p, sig);
	else
		kill(-whirl_process_pid(p->p), sig);
}

static void
prog_log(const struct whirl__prog *p, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	whirl_log_warning("%s: %.*s", p->name, (int)len, line);
}

static void prog_err_read(struct whirl__prog *p);

/* A line longer than ERR_LINE_MAX, logged a piece at a time. */
static void
prog_err_piece(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl__prog *p = arg;

	(void)s;
	if (len > 0)
		prog_log(p, data, len);
	if (err == NULL) {
		prog_err_read(p);
		return;
	}
	p->err_eof = true;
	prog_check(p);
}

static void
prog_err_line(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct whirl__prog *p = arg;

	if (err == whirl_err_too_long) {
		whirl_stream_read_bytes(s, ERR_LINE_MAX, false, prog_err_piece,
		    p);
		return;
	}
	prog_err_piece(s, data, len, err, arg);
}

static void
prog_err_read(struct whirl__prog *p)
{
	whirl_stream_read_until(whirl_process_stderr(p->p), "\n", 1,
	    ERR_LINE_MAX, prog_err_line, p);
}

static void
prog_reaped(struct whirl_process *proc, int status, void *arg)
{
	struct whirl__prog *p = arg;

	whirl_log_debug("%s: pid %d exited, status %d", p->name,
	    (int)whirl_process_pid(proc), status);
	p->reaped = true;
	p->status = status;
	prog_check(p);
}

static void
prog_kill_now(struct whirl_timer *t, void *arg)
{
	struct whirl__prog *p = arg;

	(void)t;
	kill_group(p, SIGKILL);
	p->killed = true;
	prog_check(p);
}

struct whirl__prog *
whirl__prog_new(struct whirl_loop *loop, const char *command,
    const char *name, char **args, char **env, whirl__prog_cb cb, void *arg)
{
	struct whirl_process_options po = {
		.args = (const char *const *)args,
		.env = (const char *const *)env,
		.stderr_mode = WHIRL_PROCESS_STDERR_PIPE,
		.stream_flags = WHIRL_STREAM_HALF_CLOSE
	};
	struct whirl__prog *p = whirl__xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->name = name;
	p->cb = cb;
	p->arg = arg;
	p->p = whirl_process_new(loop, command, &po, prog_reaped, p);
	if (p->p == NULL) {
		free(p);
		return NULL;
	}
	prog_err_read(p);
	return p;
}

struct whirl_stream *
whirl__prog_stream(const struct whirl__prog *p)
{
	return whirl_process_stream(p->p);
}

void
whirl__prog_out_eof(struct whirl__prog *p)
{
	p->out_eof = true;
	prog_check(p);
}

void
whirl__prog_stop(struct whirl__prog *p)
{
	if (p->over || p->killed ||
	    (p->kill != NULL && whirl_timer_armed(p->kill)))
		return;
	kill_group(p, SIGTERM);
	if (p->kill == NULL)
		p->kill = whirl_timer_new(p->loop, prog_kill_now, p);
	whirl_timer_start(p->kill, KILL_GRACE_MS, false);
}

void
whirl__prog_free(struct whirl__prog *p)
{
	if (p == NULL)
		return;
	if (!p->over && !p->killed)
		kill_group(p, SIGTERM);
	whirl_timer_free(p->kill);
	whirl_process_free(p->p);
	free(p);
}

/*
 * Arguments and environment.
 */

struct strv {
	char **v;
	size_t n, cap;
};

static void
strv_push(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap == 0 ? 32 : s->cap * 2;
		s->v = whirl__xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

static void
strv_addf(struct strv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
strv_addf(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	char *str;

	va_start(ap, fmt);
	if (vasprintf(&str, fmt, ap) == -1)
		abort();
	va_end(ap);
	strv_push(s, str);
}

char **
whirl__prog_args(const struct whirl_handler *h)
{
	struct strv s = { NULL, 0, 0 };
	size_t i, n = whirl_handler_ncaptures(h);
	const char *c;

	strv_push(&s, NULL);            /* an empty list is still a list */
	s.n = 0;
	for (i = 1; i <= n; i++) {
		c = whirl_handler_capture(h, i, NULL);
		strv_push(&s, whirl__xstrdup(c != NULL ? c : ""));
	}
	return s.v;
}

/* Header name to CGI name: HTTP_ + upper case, '-' as '_'.  Names with
 * anything but letters, digits and '-' are dropped (as Apache drops
 * them), so that "X_Foo" cannot pose as "X-Foo". */
static bool
cgi_name(const char *name, char *out, size_t size)
{
	size_t i, n = strlen(name);

	if (n + 6 > size)
		return false;
	memcpy(out, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-')
			c = '_';
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
		out[5 + i] = c;
	}
	out[5 + n] = '\0';
	return true;
}

/* The request's headers as HTTP_* (repeated fields joined with ", "),
 * none of them inherited from our own environment.  Proxy never
 * becomes HTTP_PROXY (httpoxy: a client must not pick the proxy of the
 * program's own requests); Content-Type and -Length have their own. */
static void
env_http(struct strv *e, const struct whirl_headers *rh)
{
	const char *n, *v;
	char name[256], *joined;
	size_t i, j, first, len;

	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "HTTP_", 5) == 0) {
			len = strcspn(environ[i], "=");
			strv_push(e, whirl__xmemdup(environ[i], len + 1));
			e->v[e->n - 1][len] = '\0';     /* "NAME": unset */
		}
	first = e->n;
	for (i = 0; whirl_headers_at(rh, i, &n, &v); i++) {
		if (strcasecmp(n, "Proxy") == 0 ||
		    strcasecmp(n, "Content-Type") == 0 ||
		    strcasecmp(n, "Content-Length") == 0 ||
		    !cgi_name(n, name, sizeof(name)))
			continue;
		len = strlen(name);
		for (j = first; j < e->n; j++)
			if (strncmp(e->v[j], name, len) == 0 &&
			    e->v[j][len] == '=')
				break;
		if (j == e->n) {
			strv_addf(e, "%s=%s", name, v);
			continue;
		}
		if (asprintf(&joined, "%s, %s", e->v[j], v) == -1)
			abort();
		free(e->v[j]);
		e->v[j] = joined;
	}
}

/* SERVER_NAME: Host without its port, or our own name. */
static void
env_server_name(struct strv *e, const char *host)
{
	char name[256];
	size_t n;

	if (host == NULL || *host == '\0') {
		if (gethostname(name, sizeof(name)) == -1)
			strcpy(name, "localhost");
		name[sizeof(name) - 1] = '\0';
		strv_addf(e, "SERVER_NAME=%s", name);
		return;
	}
	if (host[0] == '[')
		n = strcspn(host, "]") + (strchr(host, ']') != NULL);
	else
		n = strcspn(host, ":");
	strv_addf(e, "SERVER_NAME=%.*s", (int)n, host);
}

/* SCRIPT_NAME is the path before group 1, PATH_INFO group 1, both
 * decoded; without a group 1, the whole path and "". */
static void
env_script(struct strv *e, struct whirl_handler *h)
{
	const char *path = whirl_handler_path(h);
	long pos = whirl_handler_ncaptures(h) > 0 ?
	    whirl__handler_capture_pos(h, 1) : -1;
	const char *info = pos >= 0 ? whirl_handler_capture(h, 1, NULL) : "";
	size_t len = pos >= 0 ? (size_t)pos : strlen(path);
	char *dec = whirl__xmalloc(len + 1);

	/* A malformed escape: the path as sent, as Tornado keeps it. */
	if (whirl_percent_decode(path, len, dec, false) < 0) {
		memcpy(dec, path, len);
		dec[len] = '\0';
	}
	strv_addf(e, "SCRIPT_NAME=%s", dec);
	strv_addf(e, "PATH_INFO=%s", info);
	free(dec);
}

static void
env_cgi(struct strv *e, struct whirl_handler *h)
{
	struct whirl_request *req = whirl_handler_request(h);
	const char *ct = whirl_handler_header(h, "Content-Type");
	size_t blen;

	env_http(e, whirl_handler_headers(h));
	strv_addf(e, "GATEWAY_INTERFACE=CGI/1.1");
	strv_addf(e, "SERVER_SOFTWARE=whirl/%s", WHIRL_VERSION);
	strv_addf(e, "SERVER_PROTOCOL=%s", whirl_request_version(req));
	env_server_name(e, whirl_handler_header(h, "Host"));
	strv_addf(e, "SERVER_PORT=%d", whirl_request_local_port(req));
	env_script(e, h);
	whirl_handler_body(h, &blen);
	if (blen > 0 || whirl_handler_header(h, "Content-Length") != NULL ||
	    whirl_handler_header(h, "Transfer-Encoding") != NULL)
		strv_addf(e, "CONTENT_LENGTH=%zu", blen);
	else
		strv_addf(e, "CONTENT_LENGTH");
	if (ct != NULL)
		strv_addf(e, "CONTENT_TYPE=%s", ct);
	else
		strv_addf(e, "CONTENT_TYPE");
	strv_addf(e, whirl_request_is_tls(req) ? "HTTPS=on" : "HTTPS");
	strv_addf(e, "AUTH_TYPE");
	strv_addf(e, "REMOTE_USER");
}

char **
whirl__prog_env(struct whirl_handler *h, bool cgi)
{
	struct whirl_request *req = whirl_handler_request(h);
	struct strv e = { NULL, 0, 0 };
	const char *name, *v;
	size_t k, group;

	if (cgi)
		env_cgi(&e, h);
	strv_addf(&e, "REQUEST_METHOD=%s", whirl_handler_method(h));
	strv_addf(&e, "REQUEST_URI=%s", whirl_handler_uri(h));
	strv_addf(&e, "QUERY_STRING=%s", whirl_request_query(req));
	strv_addf(&e, "REMOTE_ADDR=%s", whirl_handler_remote_ip(h));
	strv_addf(&e, "REMOTE_PORT=%d", whirl_request_remote_port(req));
	for (k = 0; whirl__handler_group_name(h, k, &name, &group); k++) {
		v = whirl_handler_capture(h, group, NULL);
		strv_addf(&e, "CAPTURE_%s=%s", name, v != NULL ? v : "");
	}
	return e.v;
}

/*
 * CGI heads.
 */

size_t
whirl__cgi_head_end(const char *data, size_t len, size_t from)
{
	const char *nl;
	size_t i;

	for (i = from; i < len; i = (size_t)(nl - data) + 1) {
		nl = memchr(data + i, '\n', len - i);
		if (nl == NULL)
			break;
		i = (size_t)(nl - data);
		/* A blank line: the block's first, or after another LF,
		 * with or without its CR. */
		if (i == 0 || data[i - 1] == '\n' || (data[i - 1] == '\r' &&
		    (i == 1 || data[i - 2] == '\n')))
			return i + 1;
	}
	return 0;
}

static bool
server_field(const char *name, size_t len)
{
	static const char *const fields[] = {
		"Content-Length", "Transfer-Encoding", "Connection", "Date",
		"Server"
	};
	size_t i;

	for (i = 0; i < WHIRL__ARRAY_LEN(fields); i++)
		if (strlen(fields[i]) == len &&
		    strncasecmp(name, fields[i], len) == 0)
			return true;
	return false;
}

static int
parse_status(const char *v, size_t len, int *status)
{
	if (len < 3 || (len > 3 && v[3] != ' ') || v[0] < '2' || v[0] > '5' ||
	    v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9') {
		whirl__seterr(EINVAL, "bad Status '%.*s'", (int)len, v);
		return -1;
	}
	*status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	return 0;
}

int
whirl__cgi_head_parse(const char *block, size_t len, int *status,
    struct whirl_headers *out)
{
	const char *p = block, *end = block + len, *nl, *le, *colon, *v;
	bool location = false;

	*status = 0;
	whirl_headers_clear(out);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == p)
			break;                  /* the blank line */
		colon = memchr(p, ':', (size_t)(le - p));
		if (colon == NULL ||
		    !whirl_http_is_token(p, (size_t)(colon - p))) {
			whirl__seterr(EINVAL, "not a header line: '%.*s'",
			    (int)(le - p > 60 ? 60 : le - p), p);
			return -1;
		}
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		while (le > v && (le[-1] == ' ' || le[-1] == '\t'))
			le--;
		if (memchr(v, '\r', (size_t)(le - v)) != NULL ||
		    memchr(v, '\0', (size_t)(le - v)) != NULL) {
			whirl__seterr(EINVAL, "CR or NUL in the value of %.*s",
			    (int)(colon - p), p);
			return -1;
		}
		if (colon - p == 6 && strncasecmp(p, "Status", 6) == 0) {
			if (parse_status(v, (size_t)(le - v), status) == -1)
				return -1;
			continue;
		}
		if (colon - p == 8 && strncasecmp(p, "Location", 8) == 0)
			location = true;
		if (!server_field(p, (size_t)(colon - p)) &&
		    whirl_headers_addn(out, p, (size_t)(colon - p), v,
		    (size_t)(le - v)) == -1)
			return -1;
	}
	if (*status == 0 && location)
		*status = 302;
	return 0;
}

/*
 * exec: and cgi: routes.
 */

struct run;

struct whirl__exec {
	struct whirl_app *app;
	char *command;
	const char *pattern;
	char *ctype;                    /* without a CGI Content-Type too */
	bool cgi;
	uint64_t timeout_ms;
	struct run *runs;
	size_t nruns;
};

struct run {
	struct whirl__exec *x;
	struct run *prev, *next;
	struct whirl_handler *h;        /* NULL once answered */
	struct whirl__prog *p;
	struct whirl_timer *deadline;
	/* cgi: the head until its blank line, then its fields */
	char *head;
	size_t hlen, hcap, hscan;
	struct whirl_headers *fields;
	int hstatus;
	bool in_body;                   /* exec, or cgi past the head */
	bool started;                   /* the response's head is out */
	bool reading, paused;
};

struct whirl__exec *
whirl__exec_new(struct whirl_app *app, bool cgi, const char *command,
    const char *pattern, const struct whirl_route_opts *opts)
{
	struct whirl__exec *x = whirl__xcalloc(1, sizeof(*x));

	x->app = app;
	x->cgi = cgi;
	x->command = whirl__xstrdup(command);
	x->pattern = pattern;
	x->ctype = whirl__xstrdup(opts != NULL && opts->content_type != NULL ?
	    opts->content_type : TEXT_TYPE);
	x->timeout_ms = opts != NULL && opts->exec_timeout_ms > 0 ?
	    opts->exec_timeout_ms : DEFAULT_TIMEOUT;
	return x;
}

size_t
whirl__exec_running(const struct whirl__exec *x)
{
	return x->nruns;
}

static void
run_free(struct run *r)
{
	struct whirl__exec *x = r->x;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		x->runs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	x->nruns--;
	whirl__prog_free(r->p);
	whirl_timer_free(r->deadline);
	whirl_headers_free(r->fields);
	free(r->head);
	free(r);
	whirl__app_work_ended(x->app);
}

void
whirl__exec_free(struct whirl__exec *x)
{
	if (x == NULL)
		return;
	while (x->runs != NULL)
		run_free(x->runs);
	free(x->command);
	free(x->ctype);
	free(x);
}

static void run_read(struct run *r);

/* The handler is answered (or gone): stop caring for the client's pace,
 * and keep draining the program's output so that it is not stuck. */
static void
run_answered(struct run *r)
{
	r->h = NULL;
	r->paused = false;
	run_read(r);
}

/* The response's head: the CGI's status and fields, or exec's type. */
static void
run_start(struct run *r)
{
	struct whirl_handler *h = r->h;
	const char *n, *v;
	size_t i;

	r->started = true;
	whirl_handler_set_header(h, "Content-Type", r->x->ctype);
	if (r->fields != NULL) {
		if (r->hstatus != 0)
			whirl_handler_set_status(h, r->hstatus);
		for (i = 0; whirl_headers_at(r->fields, i, &n, &v); i++) {
			if (strcasecmp(n, "Content-Type") == 0)
				whirl_handler_set_header(h, n, v);
			else
				whirl_handler_add_header(h, n, v);
		}
	}
}

static void
run_body(struct run *r, const char *data, size_t len)
{
	if (len == 0)
		return;
	if (!r->started)
		run_start(r);
	whirl_handler_write(r->h, data, len);
	whirl_handler_flush(r->h);
}

/* An answer before the program is over (a bad head, the deadline): an
 * error page if nothing was sent yet, else a cut-short stream. */
static void
run_fail(struct run *r, int status)
{
	struct whirl_handler *h = r->h;

	if (h == NULL)
		return;
	run_answered(r);
	if (r->started)
		whirl_handler_abort(h);
	else
		whirl_handler_send_error(h, status);
}

/* Gather the CGI head; past its blank line the rest is body. */
static void
run_head(struct run *r, const char *data, size_t len)
{
	size_t take = len, end;

	if (r->hlen + take > HEAD_MAX)
		take = HEAD_MAX - r->hlen;
	if (r->hlen + take > r->hcap) {
		r->hcap = r->hcap == 0 ? 1024 : r->hcap;
		while (r->hcap < r->hlen + take)
			r->hcap *= 2;
		r->head = whirl__xrealloc(r->head, r->hcap);
	}
	memcpy(r->head + r->hlen, data, take);
	r->hlen += take;
	end = whirl__cgi_head_end(r->head, r->hlen, r->hscan);
	r->hscan = r->hlen;
	if (end == 0) {
		if (r->hlen == HEAD_MAX) {
			whirl_log_warning("%s: no end of the CGI head within "
			    "%d bytes", r->x->pattern, HEAD_MAX);
			run_fail(r, 502);
			whirl__prog_stop(r->p);
		}
		return;
	}
	r->fields = whirl_headers_new();
	if (whirl__cgi_head_parse(r->head, end, &r->hstatus, r->fields) == -1) {
		whirl_log_warning("%s: bad CGI head: %s", r->x->pattern,
		    whirl_error());
		run_fail(r, 502);
		whirl__prog_stop(r->p);
		return;
	}
	r->in_body = true;
	/* What came after the blank line: in the buffer, and in data. */
	run_body(r, r->head + end, r->hlen - end);
	if (r->h != NULL)
		run_body(r, data + take, len - take);
	free(r->head);
	r->head = NULL;
	r->hlen = r->hcap = 0;
}

static void
run_out(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct run *r = arg;

	(void)s;
	if (data == NULL) {
		r->reading = false;
		if (err != NULL && err != whirl_err_closed)
			whirl_log_debug("%s: stdout: %s", r->x->pattern, err);
		whirl__prog_out_eof(r->p);     /* may free r */
		return;
	}
	if (r->h == NULL)
		return;                 /* answered: drained and dropped */
	if (!r->in_body)
		run_head(r, data, len);
	else
		run_body(r, data, len);
}

static void
run_read(struct run *r)
{
	if (r->reading || r->paused || r->p->out_eof)
		return;
	r->reading = true;
	whirl_stream_read_until_close(whirl__prog_stream(r->p), run_out, r);
}

static void
run_water(struct whirl_request *req, bool above, void *arg)
{
	struct run *r = arg;

	(void)req;
	if (r->h == NULL)
		return;
	r->paused = above;
	if (above && r->reading) {
		whirl_stream_cancel_read(whirl__prog_stream(r->p));
		r->reading = false;
	} else if (!above) {
		run_read(r);
	}
}

/* The program is over: answer by its exit status. */
static void
run_over(struct whirl__prog *p, int status, void *arg)
{
	struct run *r = arg;
	struct whirl_handler *h = r->h;
	bool ok = status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;

	(void)p;
	if (h != NULL && !ok) {
		if (status != -1 && WIFSIGNALED(status))
			whirl_log_warning("%s: killed by signal %d",
			    r->x->pattern, WTERMSIG(status));
		else if (status != -1)
			whirl_log_warning("%s: exit status %d", r->x->pattern,
			    WEXITSTATUS(status));
		run_fail(r, 502);
	} else if (h != NULL && r->x->cgi && !r->in_body && r->hlen > 0) {
		whirl_log_warning("%s: the CGI head has no blank line",
		    r->x->pattern);
		run_fail(r, 502);
	} else if (h != NULL) {
		if (!r->started)
			run_start(r);
		r->h = NULL;
		whirl_handler_finish(h);
	}
	run_free(r);
}

static void
run_deadline(struct whirl_timer *t, void *arg)
{
	struct run *r = arg;

	(void)t;
	whirl_log_warning("%s: still running after %llu ms: stopped",
	    r->x->pattern, (unsigned long long)r->x->timeout_ms);
	run_fail(r, 504);
	whirl__prog_stop(r->p);
}

/* The client left: the program goes too. */
static void
run_gone(struct whirl_handler *h, void *arg)
{
	struct run *r = arg;

	whirl_log_debug("%s: the client left", r->x->pattern);
	run_answered(r);
	whirl_handler_finish(h);
	whirl__prog_stop(r->p);
}

void
whirl__exec_serve(struct whirl_handler *h, void *arg)
{
	struct whirl__exec *x = arg;
	struct whirl_request *req = whirl_handler_request(h);
	struct whirl_loop *loop = whirl_request_loop(req);
	struct run *r = whirl__xcalloc(1, sizeof(*r));
	char **args = whirl__prog_args(h), **env = whirl__prog_env(h, x->cgi);
	struct whirl_stream *s;
	const char *body;
	size_t len;

	r->x = x;
	r->h = h;
	r->in_body = !x->cgi;
	r->p = whirl__prog_new(loop, x->command, x->pattern, args, env,
	    run_over, r);
	whirl__strv_free(args);
	whirl__strv_free(env);
	if (r->p == NULL) {
		whirl_log_error("%s: %s", x->pattern, whirl_error());
		free(r);
		whirl_handler_send_error(h, 500);
		return;
	}
	r->next = x->runs;
	if (r->next != NULL)
		r->next->prev = r;
	x->runs = r;
	x->nruns++;
	s = whirl__prog_stream(r->p);
	body = whirl_handler_body(h, &len);
	if (len > 0)
		whirl_stream_write(s, body, len, NULL, NULL);
	whirl_stream_shutdown(s);       /* the body's end: EOF on stdin */
	r->deadline = whirl_timer_new(loop, run_deadline, r);
	whirl_timer_start(r->deadline, x->timeout_ms, false);
	whirl_handler_set_close_cb(h, run_gone, r);
	whirl_response_set_water(req, WATER_HIGH, run_water, r);
	run_read(r);
}
