/* httpclient.h - HTTP/1.1 requests from the loop: Tornado's
 * AsyncHTTPClient in C.
 *
 * A whirl_httpclient fetches URLs (http:// and https://) on its loop, as
 * many at once as the caller starts.  Each whirl_fetch is one request and
 * everything it leads to: the connection (resolved, connected, tunnelled
 * through a proxy, TLS), the request head and body, the response, and the
 * redirects it follows.  It ends with exactly one call of its done
 * callback, on a later turn of the loop (never from inside
 * whirl_httpclient_fetch), unless it was cancelled first:
 *
 *     debug* -> head+ -> body* -> done
 *
 * head fires for every response head (1xx, each redirect followed, the
 * final one); body fires with the final response's body as it arrives,
 * decoded when asked (gzip, deflate), so a download is never held whole in
 * memory.  Without a body callback the body is collected and handed to
 * done (up to max_body).
 *
 * Connections are pooled per scheme, host and port (and proxy, unix
 * socket and TLS context): a response that leaves its connection
 * reusable (keep-alive, read to its end, request sent whole) puts it
 * back, and the next request for the same place takes it.  At most
 * max_per_host connections go to one place at a time; other requests
 * wait, in order.  An idle connection that the server closes is dropped
 * quietly, and a request that finds its reused connection dead before any
 * byte of the answer came is sent again once on a fresh one.
 *
 * https verifies the server by default (system CAs, the host name); a
 * request may bring its own TLS context (cafile, insecure, client
 * certificate: tls.h).
 *
 * Redirects (when followed): 301, 302 and 303 turn a POST into a GET
 * without a body (303: anything but HEAD); 307 and 308 keep the method
 * and body.  A redirect to another scheme, host or port drops the
 * caller's Authorization and Cookie fields (cookies from the jar follow
 * the jar's own rules).  More than max_redirects is an error.
 *
 * Errors are reported as an enum whose values each stand for one of
 * curl's exit statuses (named in the comments), so a tool can answer as
 * curl does.
 *
 * Ownership: the client owns its pool and its fetches.  The request is
 * copied by whirl_httpclient_fetch (headers, strings and a memory body),
 * except body_stream, form, tls and cookies, which are borrowed until
 * done fires.  A response and everything it points to are valid only during
 * the callback that receives it.  whirl_fetch_cancel may be called from
 * inside the fetch's head and body callbacks (not debug); done is the
 * fetch's last call and the fetch is freed after it returns.  A done
 * callback may start new fetches (a freed connection is already back in
 * the pool), but must not free the client.
 */
#ifndef WHIRL_HTTPCLIENT_H
#define WHIRL_HTTPCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whirl_loop;
struct whirl_headers;
struct whirl_stream;
struct whirl_tls_ctx;
struct whirl_httpclient;
struct whirl_fetch;
struct whirl_cookie_jar;
struct whirl_form;

/* Why a fetch failed; curl's exit status for the same failure in the
 * comment. */
enum whirl_fetch_error {
	WHIRL_FETCH_OK,                 /* 0: a response arrived whole */
	WHIRL_FETCH_UNSUPPORTED,        /* 1: not http:// or https:// */
	WHIRL_FETCH_BAD_URL,            /* 3 */
	WHIRL_FETCH_PROXY_RESOLVE,      /* 5: the proxy's name is unknown */
	WHIRL_FETCH_RESOLVE,            /* 6: the host's name is unknown */
	WHIRL_FETCH_CONNECT,            /* 7: refused, unreachable */
	WHIRL_FETCH_WEIRD_REPLY,        /* 8: not an HTTP/1.x response */
	WHIRL_FETCH_PARTIAL,            /* 18: the body was cut short */
	WHIRL_FETCH_READ,               /* 26: the request body's source failed */
	WHIRL_FETCH_TIMEOUT,            /* 28: connect, total or idle */
	WHIRL_FETCH_TLS,                /* 35: the TLS handshake failed */
	WHIRL_FETCH_TOO_MANY_REDIRECTS, /* 47 */
	WHIRL_FETCH_EMPTY_REPLY,        /* 52: closed before any byte came */
	WHIRL_FETCH_SEND,               /* 55: the request could not be sent */
	WHIRL_FETCH_RECV,               /* 56: reset, proxy tunnel refused */
	WHIRL_FETCH_CERT,               /* 60: the server's certificate */
	WHIRL_FETCH_DECODE,             /* 61: bad gzip or deflate data */
	WHIRL_FETCH_TOO_LARGE,          /* 63: a collected body over max_body */
	WHIRL_FETCH_REWIND,             /* 65: a streamed body cannot be resent */
	WHIRL_FETCH_ABORTED             /* 42: a callback said stop */
};
/* curl's exit status for e (the number beside each above); 1 for a value
 * not in the list. */
int whirl_fetch_error_code(enum whirl_fetch_error e);

/* What a debug callback is told: a line about the connection ("Trying
 * 127.0.0.1:8080...", without "* " or newline), or the request head as
 * written (several CRLF-ended lines, the empty one included). */
enum whirl_fetch_debug {
	WHIRL_FETCH_INFO,
	WHIRL_FETCH_HEAD_OUT
};

/* A response, as far as it has arrived.  Times are seconds since the
 * fetch started, 0 for a phase not reached (curl's -w times). */
struct whirl_http_response {
	int code;                     /* 0 when no head arrived */
	const char *reason;           /* "" when none */
	int major, minor;             /* HTTP version of the response */
	const struct whirl_headers *headers;  /* never NULL */
	const char *url;              /* the URL this response answers */
	const char *method;           /* the method that was sent for it */
	const char *body;             /* collected body (done, no body_cb) */
	size_t body_len;
	uint64_t size_download;       /* body bytes received, before decoding */
	uint64_t size_header;         /* head bytes received, all responses */
	uint64_t size_upload;         /* request body bytes sent */
	int num_redirects;
	int num_connects;             /* new connections made */
	bool redirecting;             /* head: this one will be followed */
	const char *redirect_url;     /* its Location, resolved, or NULL */
	const char *remote_ip;        /* "" before connecting */
	int remote_port;
	const char *local_ip;
	int local_port;
	double time_namelookup, time_connect, time_appconnect,
	    time_pretransfer, time_starttransfer, time_redirect, time_total;
	enum whirl_fetch_error error; /* done: WHIRL_FETCH_OK or why not */
	const char *error_msg;        /* done: NULL, or a one-line reason */
};

/* Each response head.  Return 0 to go on, -1 to stop (done then reports
 * WHIRL_FETCH_ABORTED). */
typedef int (*whirl_fetch_head_cb)(struct whirl_fetch *f,
    const struct whirl_http_response *r, void *arg);
/* A piece of the final response's body (decoded when asked).  Return 0 to
 * go on, -1 to stop. */
typedef int (*whirl_fetch_body_cb)(struct whirl_fetch *f, const char *data,
    size_t len, void *arg);
typedef void (*whirl_fetch_debug_cb)(struct whirl_fetch *f,
    enum whirl_fetch_debug kind, const char *text, size_t len, void *arg);
/* The end, exactly once: r->error says whether a response arrived whole.
 * An HTTP status of 400 or more is a response, not an error. */
typedef void (*whirl_fetch_done_cb)(struct whirl_fetch *f,
    const struct whirl_http_response *r, void *arg);

/* A request, as Tornado's HTTPRequest: fill it after
 * whirl_http_request_init, which sets Tornado's defaults (follow up to 5
 * redirects, decompress, 20 s to connect, 20 s in all). */
struct whirl_http_request {
	const char *url;              /* http:// or https:// (required) */
	const char *method;           /* NULL: GET, or POST with a body */
	const struct whirl_headers *headers;  /* sent after the defaults */
	const char *user_agent;       /* NULL: the client's */
	const char *auth_username;    /* Basic authentication (or the URL's */
	const char *auth_password;    /* user:password), first host only */
	/* Fields not to send at all (curl's -H 'Name:'): "User-Agent". */
	const char *const *omit;
	size_t nomit;

	/* At most one body source. */
	const void *body;             /* copied; body_len may be 0 */
	size_t body_len;
	bool has_body;                /* send body/body_len (even empty) */
	const char *body_file;        /* a regular file, read as it is sent */
	struct whirl_stream *body_stream;  /* read to EOF; borrowed */
	int64_t body_stream_len;      /* its length, -1: chunked */
	const struct whirl_form *form;  /* multipart/form-data (form.h),
					 with its Content-Type; borrowed */

	bool follow_redirects;
	int max_redirects;            /* -1: no limit */
	bool trusted_redirects;       /* keep Authorization/Cookie across hosts */
	bool decompress;              /* Accept-Encoding: gzip, deflate */
	uint64_t connect_timeout_ms;  /* resolve + connect + tunnel + TLS */
	uint64_t request_timeout_ms;  /* the whole fetch */
	uint64_t idle_timeout_ms;     /* no byte from the server for so long */
	uint64_t max_body;            /* collected body limit; 0: 100 MiB */

	struct whirl_tls_ctx *tls;    /* NULL: the client's (verifying) one */
	const char *proxy;            /* "http://[user:pass@]host[:port]";
					 NULL: http_proxy, https_proxy,
					 no_proxy from the environment;
					 "": none */
	const char *no_proxy;         /* "host,.domain,*" (NULL: $no_proxy) */
	const char *const *resolve;   /* "host:port:address" pins */
	size_t nresolve;
	const char *unix_socket;      /* connect here instead (any URL) */
	int family;                   /* AF_UNSPEC, AF_INET, AF_INET6 */
	struct whirl_cookie_jar *cookies;  /* sent and filled; borrowed */

	whirl_fetch_head_cb head_cb;
	whirl_fetch_body_cb body_cb;
	whirl_fetch_debug_cb debug_cb;
};

struct whirl_httpclient_opts {
	size_t max_per_host;          /* connections to one place; default 8 */
	size_t max_idle;              /* idle connections kept; default 64 */
	uint64_t idle_ms;             /* an idle connection lives; 60 s */
	const char *user_agent;       /* default "whirl/VERSION" */
};

/* Tornado's defaults into r, with url. */
void whirl_http_request_init(struct whirl_http_request *r, const char *url);

/* A client on loop; opts may be NULL.  Cannot fail. */
struct whirl_httpclient *whirl_httpclient_new(struct whirl_loop *loop,
    const struct whirl_httpclient_opts *opts);
/* Cancel every fetch (their done callbacks do not fire), close every
 * connection and free the client.  Not from inside a fetch's callback. */
void whirl_httpclient_free(struct whirl_httpclient *c);

/* Start a fetch; done fires once, on a later turn, with arg.  Never
 * returns NULL: a bad URL or request arrives through done. */
struct whirl_fetch *whirl_httpclient_fetch(struct whirl_httpclient *c,
    const struct whirl_http_request *req, whirl_fetch_done_cb done,
    void *arg);
/* Forget a fetch: its connection closes and nothing more is called.
 * From inside its own done callback it does nothing. */
void whirl_fetch_cancel(struct whirl_fetch *f);
/* Stop reading the response (back-pressure) and go on.  Bytes already
 * read may still arrive through body before the pause takes hold. */
void whirl_fetch_pause(struct whirl_fetch *f);
void whirl_fetch_resume(struct whirl_fetch *f);
/* Idle connections in the pool (for tests). */
size_t whirl_httpclient_idle(const struct whirl_httpclient *c);

/*
 * URLs.
 */

/* Resolve ref against the absolute URL base (RFC 3986 section 5.2, dot
 * segments removed, the fragment dropped).  Returns a new string (the
 * caller's to free(3)), or NULL with whirl_error() when base is not an
 * absolute URL. */
char *whirl_url_join(const char *base, const char *ref);

/*
 * Cookies (RFC 6265's storage model, as curl keeps them), read from and
 * written to Netscape cookie files:
 *
 *     domain  TAB  subdomains  TAB  path  TAB  secure  TAB  expiry  TAB
 *     name  TAB  value
 *
 * with "#HttpOnly_" before the domain of an HttpOnly cookie.  Session
 * cookies have expiry 0.  The jar copies what it stores.
 */
struct whirl_cookie_jar *whirl_cookie_jar_new(void);
void whirl_cookie_jar_free(struct whirl_cookie_jar *jar);
/* Add the cookies of a Netscape file's text; malformed lines and
 * comments are skipped.  Returns the number of cookies added. */
size_t whirl_cookie_jar_parse(struct whirl_cookie_jar *jar, const char *text,
    size_t len);
/* Read a Netscape file.  0, or -1 with whirl_error(). */
int whirl_cookie_jar_load(struct whirl_cookie_jar *jar, const char *path);
/* The jar as a Netscape file, expired cookies left out (the caller
 * frees it). */
char *whirl_cookie_jar_format(const struct whirl_cookie_jar *jar);
/* Write whirl_cookie_jar_format to path ("-": stdout).  0, or -1 with
 * whirl_error(). */
int whirl_cookie_jar_save(const struct whirl_cookie_jar *jar,
    const char *path);
/* Store a Set-Cookie value received in answer to url.  0 if stored (or
 * removed, by an expiry in the past), -1 if refused (malformed, or a
 * Domain the URL's host is not in). */
int whirl_cookie_jar_set(struct whirl_cookie_jar *jar, const char *url,
    const char *set_cookie);
/* The Cookie field for a request to url ("a=1; b=2"; longest paths
 * first), or NULL when no cookie matches.  The caller frees it. */
char *whirl_cookie_jar_header(const struct whirl_cookie_jar *jar,
    const char *url);
size_t whirl_cookie_jar_count(const struct whirl_cookie_jar *jar);

#endif
