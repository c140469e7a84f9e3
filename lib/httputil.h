/* httputil.h - HTTP pieces shared by the server and the client: header
 * lists, percent-decoding, query and form arguments, dates, reason
 * phrases.  Pure functions and plain containers; no I/O.
 *
 * A whirl_headers is an ordered list of (name, value) pairs, as received
 * or as to be sent: names keep their case, lookups ignore it, a name may
 * repeat.  A whirl_args is the same shape for decoded query or form
 * arguments (names compared exactly).
 *
 * Ownership: both containers copy what is added and own it; strings they
 * return stay valid until the container is changed, cleared or freed.
 */
#ifndef WHIRL_HTTPUTIL_H
#define WHIRL_HTTPUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct whirl_headers;
struct whirl_args;

struct whirl_headers *whirl_headers_new(void);
void whirl_headers_free(struct whirl_headers *h);
/* Forget every field, keeping the memory for reuse. */
void whirl_headers_clear(struct whirl_headers *h);
/* Append a field.  -1 (whirl_error) if the name is empty or not an HTTP
 * token, or the value holds CR, LF, NUL or another control character
 * but TAB: such a field is never sent. */
int whirl_headers_add(struct whirl_headers *h, const char *name,
    const char *value);
int whirl_headers_addn(struct whirl_headers *h, const char *name,
    size_t nlen, const char *value, size_t vlen);
/* Replace every field of that name with one (add if absent). */
int whirl_headers_set(struct whirl_headers *h, const char *name,
    const char *value);
/* Remove every field of that name; returns how many. */
size_t whirl_headers_remove(struct whirl_headers *h, const char *name);
/* The first value of name, or NULL. */
const char *whirl_headers_get(const struct whirl_headers *h,
    const char *name);
/* Walk: for (i = 0; whirl_headers_at(h, i, &n, &v); i++). */
bool whirl_headers_at(const struct whirl_headers *h, size_t i,
    const char **name, const char **value);
/* The same walk with the lengths, for writing a head without strlen.
 * Any out-pointer may be NULL. */
bool whirl_headers_atn(const struct whirl_headers *h, size_t i,
    const char **name, size_t *nlen, const char **value, size_t *vlen);
size_t whirl_headers_count(const struct whirl_headers *h);
/* Total bytes of names and values, for limits. */
size_t whirl_headers_size(const struct whirl_headers *h);
/* True if a comma-separated field of that name lists `token` (ignoring
 * case and blanks): "Connection: keep-alive, Upgrade" has "upgrade". */
bool whirl_headers_has_token(const struct whirl_headers *h, const char *name,
    const char *token);

/* 0 if a field could be sent as it is: the name an HTTP token, the value
 * free of CR, LF, NUL and other control bytes but TAB; else -1
 * (whirl_error says which, as whirl_headers_add does). */
int whirl_http_check_field(const char *name, const char *value);

/* A "Name: value" header as typed on a command line (-H): the name is
 * copied into name (size bytes with its NUL); *value points into spec
 * past the colon and the blanks after it ("" when nothing follows).
 * -1 (whirl_error) without a colon, when the name is not a token or does
 * not fit, or when the value holds CR, LF or another control byte. */
int whirl_http_split_header(const char *spec, char *name, size_t size,
    const char **value);

/* True if len bytes of s are a non-empty RFC 9110 token (a field name,
 * a method): letters, digits and !#$%&'*+-.^_`|~. */
bool whirl_http_is_token(const char *s, size_t len);

/* Percent-decode len bytes of `in` into `out` (at least len + 1 bytes;
 * NUL-terminated); plus_as_space for forms.  Returns the decoded length,
 * or -1 on a malformed escape ("%zz", "%4").  Decoding may produce NUL
 * bytes: callers that need C strings must check. */
long whirl_percent_decode(const char *in, size_t len, char *out,
    bool plus_as_space);

struct whirl_args *whirl_args_new(void);
void whirl_args_free(struct whirl_args *a);
/* Forget every argument, keeping the memory for reuse. */
void whirl_args_clear(struct whirl_args *a);
/* Parse "a=1&b=2&a=3" (a query string without '?', or an
 * application/x-www-form-urlencoded body), decoding '+' and escapes,
 * appending to a.  As Python's parse_qsl(keep_blank_values=True): only
 * '&' separates, empty pairs are skipped, "c" alone is c = "".  Pairs
 * with bad escapes, or decoding to a NUL byte (which a C string would
 * cut short), are skipped; returns the number of pairs added. */
size_t whirl_args_parse(struct whirl_args *a, const char *s, size_t len);
/* Append one argument as is (no decoding).  0, or -1 if too large. */
int whirl_args_add(struct whirl_args *a, const char *name,
    const char *value);
const char *whirl_args_get(const struct whirl_args *a, const char *name);
bool whirl_args_at(const struct whirl_args *a, size_t i, const char **name,
    const char **value);
size_t whirl_args_count(const struct whirl_args *a);

/* RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into buf
 * (at least 30 bytes), with no locale and no lock; times before 1970 or
 * after 9999 are clamped to those years.  Returns buf. */
char *whirl_http_date(time_t t, char *buf);
/* Parse IMF-fixdate and the two obsolete forms (RFC 850, whose
 * two-digit year is read as RFC 9110 says, and asctime), exactly: no
 * extra blanks, a real day of the month.  -1 if not a date. */
int whirl_http_date_parse(const char *s, time_t *out);

/* Retrying, as curl's --retry sees it: true for the statuses that say
 * "try again later" (408, 429, 500, 502, 503, 504). */
bool whirl_http_status_transient(int code);
/* A Retry-After value (RFC 9110 10.2.3), delay-seconds or an HTTP date,
 * as milliseconds from `now`; 0 when NULL, malformed, over a year, or a
 * date already past. */
uint64_t whirl_http_retry_after_ms(const char *value, time_t now);

/* A Range header value against a representation of `size` bytes, as
 * Tornado serves it (one range only):
 *    1  satisfiable: send *len bytes from *start with 206;
 *    0  ignore the header and send the whole (not "bytes=", malformed,
 *       several ranges, or a suffix range of an empty representation);
 *   -1  not satisfiable: 416, whose Content-Range names only the size. */
int whirl_http_range_parse(const char *value, uint64_t size,
    uint64_t *start, uint64_t *len);
/* If-None-Match / If-Match: does the list (or "*") match etag, by weak
 * comparison (W/ ignored on both sides)?  etag includes its quotes. */
bool whirl_etag_match(const char *list, const char *etag);
/* Is the media type of a Content-Type value `type`, ignoring parameters
 * and case ("Application/JSON; charset=utf-8" is "application/json")? */
bool whirl_media_type_is(const char *content_type, const char *type);

/* The standard reason phrase ("Not Found"), or "Unknown". */
const char *whirl_http_reason(int status);

#endif
