/* httpserver.c - connections and requests on top of tcpserver and http1.
 *
 * Invariants:
 *   - a connection has at most one request in its handler's hands; the
 *     codec is paused from the request's finish until its response ends,
 *     so responses leave in request order;
 *   - a connection lives until its stream closes; a request lives until
 *     its response is finished, and forgets its connection (req->c NULL)
 *     if that closes first;
 *   - one timer per connection serves every deadline (idle, head, body,
 *     lingering close).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "error.h"
#include "http1.h"
#include "httpserver.h"
#include "httputil.h"
#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "log.h"
#include "netutil.h"
#include "tcpserver.h"

#ifndef WHIRL_VERSION
#define WHIRL_VERSION "0"
#endif

#define DEFAULT_IDLE_MS  15000
#define DEFAULT_HEAD_MS  10000
#define DEFAULT_BODY_MS  60000
#define LINGER_MS        2000
#define RESUME_PENDING   (64 * 1024)  /* output above which we wait */
#define WATCH_LIMIT      (64 * 1024)  /* input kept while a handler works */

struct conn;

struct whirl_request {
	struct conn *c;
	struct whirl_loop *loop;
	const char *method;
	char *target, *path, *query;
	char version[12];
	struct whirl_headers *headers;
	char *body;
	size_t blen, bcap;
	char peer_ip[WHIRL_ADDR_STRLEN];
	int peer_port, local_port;
	bool is_tls, keep_alive, head, http10, started, finished;
	int status;
	uint64_t start_ms, bytes;
	whirl_request_close_cb close_cb;
	void *close_arg;
	whirl_response_water_cb water_cb;
	void *water_arg;
};

struct conn {
	struct whirl_httpserver *srv;
	struct conn *prev, *next;
	struct whirl_stream *s;
	struct whirl_http1 *h;
	struct whirl_timer *timer;
	struct whirl_request *req;     /* head seen, response not finished */
	/* The peer as a compact address: formatted per request, not kept
	 * as text by every idle connection. */
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} peer;
	socklen_t peer_len;
	bool closing;                  /* no further request on it */
	uint64_t deadline_at;          /* 0: none */
	uint64_t timer_at;             /* when the timer fires; 0: unarmed */
	bool dispatched;               /* req is in the handler's hands */
};

struct whirl_httpserver {
	struct whirl_loop *loop;
	struct whirl_tcpserver *tcp;
	struct whirl_httpserver_opts opts;
	whirl_request_cb cb;
	void *arg;
	struct conn *conns;
	size_t nconns;
	char server_line[96];
	char plain_reply[512];          /* plain HTTP on the TLS port */
	size_t plain_reply_len;
	char date_line[48];
	time_t date_at;
	bool stopping;
	whirl_httpserver_drained_cb drained_cb;
	void *drained_arg;
	struct whirl_timer *drained_timer;  /* tells drained_cb next turn */
};

static void conn_free(struct conn *c);
static void drained_due(struct whirl_timer *t, void *arg);

/* Tornado's error page. */
size_t
whirl_http_error_page(int status, char *buf, size_t size)
{
	const char *r = whirl_http_reason(status);
	int n = snprintf(buf, size,
	    "<html><title>%d: %s</title><body>%d: %s</body></html>",
	    status, r, status, r);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* "Date: ...\r\n", formatted once a second. */
static const char *
date_line(struct whirl_httpserver *srv)
{
	time_t now = time(NULL);
	char d[32];

	if (now != srv->date_at) {
		srv->date_at = now;
		snprintf(srv->date_line, sizeof(srv->date_line),
		    "Date: %s\r\n", whirl_http_date(now, d));
	}
	return srv->date_line;
}

/* Requests */

static void
request_free(struct whirl_request *req)
{
	whirl_headers_free(req->headers);
	free(req->target);
	free(req->path);
	free(req->body);
	free(req);
}

/* Split the target into path and query; an absolute-form target
 * ("http://host/p?q") contributes only its path. */
static void
split_target(struct whirl_request *req)
{
	const char *t = req->target, *q, *p = t;

	if (*t != '/') {
		const char *scheme = strstr(t, "://");

		if (scheme != NULL) {
			p = strchr(scheme + 3, '/');
			if (p == NULL)
				p = "/";
		}
	}
	q = strchr(p, '?');
	if (q == NULL) {
		req->path = whirl__xstrdup(p);
		req->query = req->path + strlen(req->path);
		return;
	}
	req->path = whirl__xmalloc(strlen(p) + 2);
	memcpy(req->path, p, (size_t)(q - p));
	req->path[q - p] = '\0';
	req->query = req->path + (q - p) + 1;
	strcpy(req->query, q + 1);
}

static struct whirl_request *
request_new(struct conn *c, const struct whirl_http1_msg *m)
{
	struct whirl_request *req = whirl__xcalloc(1, sizeof(*req));

	req->c = c;
	req->loop = c->srv->loop;
	req->method = m->method;
	req->target = whirl__xstrdup(m->target);
	split_target(req);
	memcpy(req->version, "HTTP/1.1", 9);
	req->version[5] = (char)('0' + m->major % 10);
	req->version[7] = (char)('0' + m->minor % 10);
	req->http10 = m->major == 1 && m->minor == 0;
	req->keep_alive = m->keep_alive;
	req->head = strcmp(m->method, "HEAD") == 0;
	if (c->peer_len > 0) {
		whirl_addr_host(&c->peer.sa, c->peer_len, req->peer_ip,
		    sizeof(req->peer_ip));
		req->peer_port = whirl_addr_port(&c->peer.sa);
	} else {
		strcpy(req->peer_ip, "unix");
	}
	req->is_tls = whirl_stream_is_tls(c->s);
	return req;
}

static void
body_add(struct whirl_request *req, const char *data, size_t len)
{
	if (req->blen + len + 1 > req->bcap) {
		req->bcap = (req->blen + len + 1) * 2;
		req->body = whirl__xrealloc(req->body, req->bcap);
	}
	memcpy(req->body + req->blen, data, len);
	req->blen += len;
	req->body[req->blen] = '\0';
}

/* Deadlines */

/* Deadlines change three times per request (head, none, idle); moving a
 * libevent timer each time costs more than the request.  So the timer is
 * only moved earlier: it fires, compares the real deadline, and sleeps
 * again if that is later (or gone). */
static void
on_deadline(struct whirl_timer *t, void *arg)
{
	struct conn *c = arg;
	uint64_t now = whirl_loop_now_ms(c->srv->loop);

	c->timer_at = 0;
	if (c->deadline_at == 0)
		return;
	if (now < c->deadline_at) {
		c->timer_at = c->deadline_at;
		whirl_timer_start(t, c->deadline_at - now, false);
		return;
	}
	whirl_stream_close(c->s);   /* the close callback frees c */
}

static void
deadline(struct conn *c, uint64_t ms)
{
	uint64_t now = whirl_loop_now_ms(c->srv->loop);

	c->deadline_at = now + ms;
	if (c->timer_at == 0 || c->deadline_at < c->timer_at) {
		c->timer_at = c->deadline_at;
		whirl_timer_start(c->timer, ms, false);
	}
}

static void
no_deadline(struct conn *c)
{
	c->deadline_at = 0;
}

/* Closing */

/* The last response is queued: send FIN after it, then read what the
 * client still sends (so our close never resets the response away) until
 * its EOF or the linger deadline; the stream's close frees c. */
static void
linger_close(struct conn *c)
{
	c->closing = true;
	whirl_http1_free(c->h);
	c->h = NULL;
	no_deadline(c);
	whirl_stream_linger(c->s, LINGER_MS, 0);
}

static void
on_stream_close(struct whirl_stream *s, const char *err, void *arg)
{
	struct conn *c = arg;

	(void)s;
	(void)err;
	conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct whirl_httpserver *srv = c->srv;
	struct whirl_request *req = c->req;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (--srv->nconns == 0 && srv->drained_cb != NULL)
		whirl_timer_start(srv->drained_timer, 0, false);
	whirl_http1_free(c->h);
	whirl_timer_free(c->timer);
	whirl_stream_free(c->s);
	c->req = NULL;
	if (req != NULL && c->dispatched) {
		req->c = NULL;
		if (req->close_cb != NULL)
			req->close_cb(req, req->close_arg);
	} else if (req != NULL) {
		request_free(req);
	}
	free(c);
}

/* A bad request: the error page, then close. */
static void
send_error_and_close(struct conn *c, int status)
{
	char page[256], extra[256];
	size_t n = whirl_http_error_page(status, page, sizeof(page));
	struct whirl_httpserver *srv = c->srv;

	snprintf(extra, sizeof(extra),
	    "Content-Type: text/html; charset=UTF-8\r\n%s%sConnection: close\r\n",
	    date_line(srv), srv->server_line);
	if (whirl_http1_write_response_head(c->h, status, NULL, NULL, extra,
	    (int64_t)n, false) == 0)
		whirl_http1_write_body(c->h, page, n);
	linger_close(c);
}

/* The codec's delegate */

static void
h1_begin(struct whirl_http1 *h, void *arg)
{
	struct conn *c = arg;

	(void)h;
	deadline(c, c->srv->opts.head_ms);
}

static int
h1_headers(struct whirl_http1 *h, const struct whirl_http1_msg *m, void *arg)
{
	struct conn *c = arg;
	bool has_body = m->chunked || m->content_length > 0;

	/* RFC 9112 3.2, a server MUST: an HTTP/1.1 request needs exactly
	 * one Host, and two could be read differently by a proxy in front
	 * of us. */
	if (m->host_fields > 1 ||
	    (m->host_fields == 0 && m->major == 1 && m->minor >= 1))
		return 400;
	c->req = request_new(c, m);
	if (m->expect_continue && has_body)
		whirl_http1_write_response_head(h, 100, NULL, NULL, NULL, -1,
		    true);
	if (has_body)
		deadline(c, c->srv->opts.body_ms);
	else
		no_deadline(c);
	return 0;
}

static void
h1_body(struct whirl_http1 *h, const char *data, size_t len, void *arg)
{
	struct conn *c = arg;

	(void)h;
	body_add(c->req, data, len);
	deadline(c, c->srv->opts.body_ms);
}

/* While a handler holds the request nothing is parsed, but the socket is
 * still read (into the buffer, up to a bound) so that a client that goes
 * away is noticed: its EOF closes the connection and the handler's close
 * callback fires (Tornado's on_connection_close).  What a pipelining
 * client sent meanwhile stays buffered for the parser. */
static size_t
watch_gone(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)err;
	(void)arg;
	if (data == NULL)
		whirl_stream_close(s);
	else if (len > WATCH_LIMIT)
		whirl_stream_cancel_read(s);
	return 0;
}

/* The last element of a comma-separated list, trimmed, into out. */
static void
last_item(const char *list, char *out, size_t size)
{
	const char *p = strrchr(list, ',');
	size_t n;

	p = p != NULL ? p + 1 : list;
	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n >= size)
		n = 0;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Tornado's xheaders: the proxy in front says who the client is (the
 * last X-Forwarded-For hop, which the proxy itself added, or X-Real-Ip)
 * and whether it came over https.  Anything that is not an IP address
 * or a known scheme is ignored. */
static void
apply_xheaders(struct whirl_request *req)
{
	const char *v;
	char ip[WHIRL_ADDR_STRLEN], proto[8];
	unsigned char bin[sizeof(struct in6_addr)];

	ip[0] = '\0';
	if ((v = whirl_headers_get(req->headers, "X-Forwarded-For")) != NULL)
		last_item(v, ip, sizeof(ip));
	if ((v = whirl_headers_get(req->headers, "X-Real-Ip")) != NULL)
		last_item(v, ip, sizeof(ip));
	if (inet_pton(AF_INET, ip, bin) == 1 ||
	    inet_pton(AF_INET6, ip, bin) == 1)
		memcpy(req->peer_ip, ip, strlen(ip) + 1);
	if ((v = whirl_headers_get(req->headers, "X-Scheme")) == NULL)
		v = whirl_headers_get(req->headers, "X-Forwarded-Proto");
	if (v != NULL) {
		last_item(v, proto, sizeof(proto));
		if (strcasecmp(proto, "https") == 0)
			req->is_tls = true;
		else if (strcasecmp(proto, "http") == 0)
			req->is_tls = false;
	}
}

static void
h1_finish(struct whirl_http1 *h, void *arg)
{
	struct conn *c = arg;
	struct whirl_request *req = c->req;
	struct whirl_httpserver *srv = c->srv;

	no_deadline(c);
	req->headers = whirl_http1_take_headers(h);
	if (req->headers == NULL)
		req->headers = whirl_headers_new();
	if (srv->opts.xheaders)
		apply_xheaders(req);
	req->start_ms = whirl_loop_now_ms(srv->loop);
	c->dispatched = true;
	whirl_stream_read_stream(c->s, watch_gone, c);
	srv->cb(req, srv->arg);
}

static void
h1_error(struct whirl_http1 *h, int status, const char *why, void *arg)
{
	struct conn *c = arg;

	(void)h;
	(void)why;
	if (c->req != NULL && !c->dispatched) {
		request_free(c->req);
		c->req = NULL;
	}
	if (status >= 400 && !whirl_stream_closed(c->s))
		send_error_and_close(c, status);
	else
		whirl_stream_close(c->s);
}

static void
h1_eof(struct whirl_http1 *h, void *arg)
{
	struct conn *c = arg;

	(void)h;
	whirl_stream_close(c->s);
}

static const struct whirl_http1_delegate h1_delegate = {
	.begin = h1_begin,
	.headers = h1_headers,
	.body = h1_body,
	.finish = h1_finish,
	.error = h1_error,
	.eof = h1_eof,
};

/* Accepting */

static void
on_accept(struct whirl_tcpserver *tcp, struct whirl_stream *s,
    const struct sockaddr *peer, socklen_t len, void *arg)
{
	struct whirl_httpserver *srv = arg;
	struct conn *c = whirl__xcalloc(1, sizeof(*c));

	(void)tcp;
	/* A head and its body may leave in two sends (a body too big for
	 * the head's buffer, a file in pieces): with Nagle on, the second
	 * waits for the client's delayed ACK, 40 ms a response on a
	 * kept-alive connection.  As nginx's tcp_nodelay. */
	whirl_fd_nodelay(whirl_stream_fd(s));
	c->srv = srv;
	c->s = s;
	if (len <= sizeof(c->peer) && peer->sa_family != AF_UNIX) {
		memcpy(&c->peer, peer, len);
		c->peer_len = len;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->timer = whirl_timer_new(srv->loop, on_deadline, c);
	whirl_stream_set_close_cb(s, on_stream_close, c);
	if (srv->opts.tls != NULL) {
		whirl_stream_set_tls_plain_reply(s, srv->plain_reply,
		    srv->plain_reply_len);
		whirl_stream_start_tls(s, srv->opts.tls, NULL,
		    srv->opts.head_ms, NULL, NULL);
	}
	c->h = whirl_http1_new(s, WHIRL_HTTP1_SERVER, &srv->opts.limits,
	    &h1_delegate, c);
	deadline(c, srv->opts.idle_ms);
}

/* The answer to plain HTTP on the TLS port, built once: the handshake
 * has failed by then, so there is no codec and no request to speak of. */
static void
build_plain_reply(struct whirl_httpserver *srv)
{
	static const char page[] = "<html><title>400: Bad Request</title>"
	    "<body>400: Bad Request: plain HTTP was sent to an HTTPS port"
	    "</body></html>";
	int n;

	n = snprintf(srv->plain_reply, sizeof(srv->plain_reply),
	    "HTTP/1.1 400 Bad Request\r\n%s"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    srv->server_line, sizeof(page) - 1, page);
	srv->plain_reply_len = n < 0 ? 0 : (size_t)n < sizeof(srv->plain_reply) ?
	    (size_t)n : sizeof(srv->plain_reply) - 1;
}

/* Out of descriptors: tcpserver backs off and says so at most once a
 * second; the log is where an operator looks. */
static void
on_accept_error(struct whirl_tcpserver *tcp, int errnum, const char *msg,
    void *arg)
{
	(void)tcp;
	(void)errnum;
	(void)arg;
	whirl_log_warning("%s", msg);
}

struct whirl_httpserver *
whirl_httpserver_new(struct whirl_loop *loop,
    const struct whirl_httpserver_opts *opts, whirl_request_cb cb, void *arg)
{
	struct whirl_httpserver *srv = whirl__xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->drained_timer = whirl_timer_new(loop, drained_due, srv);
	if (opts != NULL)
		srv->opts = *opts;
	if (srv->opts.idle_ms == 0)
		srv->opts.idle_ms = DEFAULT_IDLE_MS;
	if (srv->opts.head_ms == 0)
		srv->opts.head_ms = DEFAULT_HEAD_MS;
	if (srv->opts.body_ms == 0)
		srv->opts.body_ms = DEFAULT_BODY_MS;
	snprintf(srv->server_line, sizeof(srv->server_line), "Server: %s\r\n",
	    srv->opts.server_header != NULL ? srv->opts.server_header :
	    "whirl/" WHIRL_VERSION);
	srv->opts.server_header = NULL;
	build_plain_reply(srv);
	srv->cb = cb;
	srv->arg = arg;
	srv->tcp = whirl_tcpserver_new(loop, 0, on_accept, srv);
	if (srv->tcp == NULL) {
		whirl_timer_free(srv->drained_timer);
		free(srv);
		return NULL;
	}
	whirl_tcpserver_set_error_cb(srv->tcp, on_accept_error, srv);
	return srv;
}

void
whirl_httpserver_free(struct whirl_httpserver *srv)
{
	if (srv == NULL)
		return;
	whirl_tcpserver_free(srv->tcp);
	while (srv->conns != NULL)
		conn_free(srv->conns);
	whirl_timer_free(srv->drained_timer);
	free(srv);
}

int
whirl_httpserver_listen(struct whirl_httpserver *srv, const char *host,
    int port, int family, int flags)
{
	return whirl_tcpserver_listen(srv->tcp, host, port, family,
	    WHIRL_BACKLOG, flags);
}

int
whirl_httpserver_add_fd(struct whirl_httpserver *srv, int fd)
{
	return whirl_tcpserver_add_fd(srv->tcp, fd);
}

int
whirl_httpserver_port(const struct whirl_httpserver *srv)
{
	struct whirl_addr a;

	if (whirl_tcpserver_local_addr(srv->tcp, 0, &a) == -1)
		return -1;
	return whirl_addr_port((struct sockaddr *)&a.ss);
}

void
whirl_httpserver_stop_accepting(struct whirl_httpserver *srv)
{
	struct conn *c, *next;

	srv->stopping = true;
	whirl_tcpserver_close_listeners(srv->tcp);
	/* Idle connections go now; busy ones after their response. */
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->req == NULL)
			whirl_stream_close(c->s);
		else
			c->closing = true;
	}
}

size_t
whirl_httpserver_connections(const struct whirl_httpserver *srv)
{
	return srv->nconns;
}

static void
drained_due(struct whirl_timer *t, void *arg)
{
	struct whirl_httpserver *srv = arg;

	(void)t;
	if (srv->nconns == 0)
		srv->drained_cb(srv, srv->drained_arg);
}

void
whirl_httpserver_set_drained_cb(struct whirl_httpserver *srv,
    whirl_httpserver_drained_cb cb, void *arg)
{
	srv->drained_cb = cb;
	srv->drained_arg = arg;
	if (cb == NULL)
		whirl_timer_stop(srv->drained_timer);
}

/* Request accessors */

const char *
whirl_request_method(const struct whirl_request *req)
{
	return req->method;
}

const char *
whirl_request_target(const struct whirl_request *req)
{
	return req->target;
}

const char *
whirl_request_path(const struct whirl_request *req)
{
	return req->path;
}

const char *
whirl_request_query(const struct whirl_request *req)
{
	return req->query;
}

const struct whirl_headers *
whirl_request_headers(const struct whirl_request *req)
{
	return req->headers;
}

const char *
whirl_request_body(const struct whirl_request *req, size_t *len)
{
	if (len != NULL)
		*len = req->blen;
	return req->body != NULL ? req->body : "";
}

const char *
whirl_request_remote_ip(const struct whirl_request *req)
{
	return req->peer_ip;
}

int
whirl_request_remote_port(const struct whirl_request *req)
{
	return req->peer_port;
}

const char *
whirl_request_version(const struct whirl_request *req)
{
	return req->version;
}

/* Asked for rarely (CGI's SERVER_PORT): found on demand, not per
 * connection. */
int
whirl_request_local_port(const struct whirl_request *req)
{
	struct whirl_addr local;

	if (req->local_port == 0 && req->c != NULL) {
		local.len = sizeof(local.ss);
		if (getsockname(whirl_stream_fd(req->c->s),
		    (struct sockaddr *)&local.ss, &local.len) == 0)
			((struct whirl_request *)req)->local_port =
			    whirl_addr_port((struct sockaddr *)&local.ss);
	}
	return req->local_port;
}

bool
whirl_request_is_tls(const struct whirl_request *req)
{
	return req->is_tls;
}

uint64_t
whirl_request_start_ms(const struct whirl_request *req)
{
	return req->start_ms;
}

struct whirl_loop *
whirl_request_loop(const struct whirl_request *req)
{
	return req->loop;
}

void
whirl_request_set_close_cb(struct whirl_request *req,
    whirl_request_close_cb cb, void *arg)
{
	req->close_cb = cb;
	req->close_arg = arg;
}

bool
whirl_request_connection_closed(const struct whirl_request *req)
{
	return req->c == NULL;
}

/* Responses */

/* a + b + c into buf (truncated to fit); snprintf costs more than the
 * rest of a hello-world response. */
static void
join3(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t n = 0, len, i;

	for (i = 0; i < 3; i++) {
		len = strlen(parts[i]);
		if (n + len >= size)
			len = size - n - 1;
		memcpy(buf + n, parts[i], len);
		n += len;
	}
	buf[n] = '\0';
}

/* Mark the response started and say what the server adds to its head
 * (Date, Server, Connection) in extra.  False when nothing is to be
 * written: the connection is gone. */
static bool
begin_response(struct whirl_request *req, int status, int64_t content_length,
    char *extra, size_t size)
{
	struct conn *c = req->c;
	struct whirl_httpserver *srv;
	bool keep;

	req->started = true;
	req->status = status;
	if (c == NULL)
		return false;
	srv = c->srv;
	keep = req->keep_alive && !c->closing && !srv->stopping &&
	    !(req->http10 && content_length < 0 && !req->head);
	if (!keep)
		c->closing = true;
	join3(extra, size, date_line(srv), srv->server_line,
	    !keep ? "Connection: close\r\n" :
	    req->http10 ? "Connection: keep-alive\r\n" : "");
	return true;
}

int
whirl_response_start(struct whirl_request *req, int status,
    const struct whirl_headers *headers, int64_t content_length)
{
	char extra[256];

	if (req->started || req->finished) {
		whirl__seterr(EINVAL, "response already started");
		return -1;
	}
	if (!begin_response(req, status, content_length, extra, sizeof(extra)))
		return 0;
	return whirl_http1_write_response_head(req->c->h, status, NULL,
	    headers, extra, content_length, req->head);
}

int
whirl_response_write(struct whirl_request *req, const void *data, size_t len)
{
	if (!req->started || req->finished) {
		whirl__seterr(EINVAL, "response not started");
		return -1;
	}
	req->bytes += len;
	if (req->c == NULL)
		return 0;
	return whirl_http1_write_body(req->c->h, data, len);
}

static void
resume_after_write(struct whirl_http1 *h, const char *err, void *arg)
{
	struct conn *c = arg;

	if (err == NULL && c->req == NULL && !c->closing)
		whirl_http1_resume(h);
}

/* The handler is done with req: free it and hand its connection, if it
 * is still there, back to the server (NULL if it is gone). */
static struct conn *
request_done(struct whirl_request *req)
{
	struct conn *c = req->c;

	req->finished = true;
	request_free(req);
	if (c == NULL)
		return NULL;
	c->req = NULL;
	c->dispatched = false;
	whirl_stream_cancel_read(c->s);          /* the watch_gone read */
	whirl_stream_set_water(c->s, 0, NULL, NULL);
	return c;
}

void
whirl_response_finish(struct whirl_request *req)
{
	struct conn *c;

	if (req->finished)
		return;
	if (!req->started)
		whirl_response_start(req, 200, NULL, 0);
	if ((c = request_done(req)) == NULL)
		return;
	if (c->closing) {
		whirl_http1_write_end(c->h, NULL, NULL);
		linger_close(c);
		return;
	}
	deadline(c, c->srv->opts.idle_ms);
	if (whirl_stream_write_pending(c->s) < RESUME_PENDING) {
		whirl_http1_write_end(c->h, NULL, NULL);
		whirl_http1_resume(c->h);
	} else {
		/* A client that pipelines but does not read waits. */
		whirl_http1_write_end(c->h, resume_after_write, c);
	}
}

void
whirl_response_abort(struct whirl_request *req)
{
	struct conn *c;

	if (req->finished)
		return;
	if ((c = request_done(req)) != NULL)
		linger_close(c);  /* what is queued goes, then FIN: no end */
}

void
whirl_response_send(struct whirl_request *req, int status,
    const struct whirl_headers *headers, const void *body, size_t len)
{
	char extra[256];

	if (!req->started && !req->finished &&
	    begin_response(req, status, (int64_t)len, extra, sizeof(extra))) {
		req->bytes += len;
		whirl_http1_write_response(req->c->h, status, NULL, headers,
		    extra, body, len, req->head);
	}
	whirl_response_finish(req);
}

bool
whirl_response_started(const struct whirl_request *req)
{
	return req->started;
}

int
whirl_response_status(const struct whirl_request *req)
{
	return req->status;
}

uint64_t
whirl_response_bytes(const struct whirl_request *req)
{
	return req->bytes;
}

size_t
whirl_response_pending(const struct whirl_request *req)
{
	return req->c != NULL ? whirl_stream_write_pending(req->c->s) : 0;
}

static void
response_water(struct whirl_stream *s, bool above, void *arg)
{
	struct conn *c = arg;
	struct whirl_request *req = c->req;

	(void)s;
	if (req != NULL && req->water_cb != NULL)
		req->water_cb(req, above, req->water_arg);
}

void
whirl_response_set_water(struct whirl_request *req, size_t high,
    whirl_response_water_cb cb, void *arg)
{
	req->water_cb = cb;
	req->water_arg = arg;
	if (req->c != NULL)
		whirl_stream_set_water(req->c->s, cb != NULL ? high : 0,
		    cb != NULL ? response_water : NULL, req->c);
}

struct whirl_stream *
whirl_request_detach(struct whirl_request *req)
{
	struct conn *c = req->c;
	struct whirl_stream *s;

	if (c == NULL || req->started)
		return NULL;
	s = c->s;
	whirl_stream_cancel_read(s);
	whirl_stream_set_close_cb(s, NULL, NULL);
	c->s = NULL;
	c->req = NULL;
	c->dispatched = false;
	request_free(req);
	conn_free(c);
	return s;
}
