/* escape.h - HTML, URL and JSON escaping, as tornado.escape does it,
 * and base64.
 *
 * Each escape comes twice: an appender that adds the escaped form of len
 * bytes to a libevent evbuffer (the web layer writes pages and log lines
 * there with no copy in between), and a convenience form that returns a
 * new NUL-terminated string.  The input is bytes with a length, so it may
 * hold NULs; no escape emits one, so the strings returned are whole.
 *
 * Ownership: appenders only add to the caller's evbuffer.  The strings
 * returned are the caller's to free(3); they are never NULL (running out
 * of memory aborts, as everywhere in libwhirl).
 */
#ifndef WHIRL_ESCAPE_H
#define WHIRL_ESCAPE_H

#include <sys/types.h>

#include <stddef.h>

struct evbuffer;

/* HTML text and attribute values: & < > " ' become &amp; &lt; &gt; &quot;
 * &#39; (Tornado's xhtml_escape); every other byte is kept, except NUL,
 * which HTML forbids: it becomes &#65533; (U+FFFD), as a browser would
 * read it.  0, or -1 if the evbuffer refused the bytes. */
int whirl_html_escape_buf(struct evbuffer *out, const char *s, size_t len);
char *whirl_html_escape(const char *s, size_t len);

/* whirl_url_escape flags. */
#define WHIRL_URL_PLUS       0x1  /* ' ' becomes '+' (query and form values) */
#define WHIRL_URL_KEEP_SLASH 0x2  /* '/' is kept (a path) */

/* Percent-encode every byte except the RFC 3986 unreserved ones
 * (A-Z a-z 0-9 - . _ ~), with upper-case hex: "a b/c" is "a%20b%2Fc".
 * Tornado's url_escape(s, plus=True) is WHIRL_URL_PLUS, and its
 * url_escape(s, plus=False) is WHIRL_URL_KEEP_SLASH (Python's quote keeps
 * '/').  A UTF-8 character is encoded byte by byte ("é" is "%C3%A9").
 * 0, or -1 if the evbuffer refused the bytes. */
int whirl_url_escape_buf(struct evbuffer *out, const char *s, size_t len,
    int flags);
char *whirl_url_escape(const char *s, size_t len, int flags);

/* The body of a JSON string (no surrounding quotes), always valid UTF-8
 * and safe inside an HTML <script>:
 *   - " and \ are escaped; \b \f \n \r \t take their short forms; the
 *     other control characters (U+0000-U+001F) become \u00XX (lower-case
 *     hex);
 *   - "</" is written "<\/" (Tornado's json_encode rule), and U+2028 and
 *     U+2029 become \u2028 and \u2029 (JavaScript line terminators);
 *   - other UTF-8 is kept as is; each byte that does not begin a valid
 *     UTF-8 sequence (shortest form, no surrogates, at most U+10FFFF)
 *     becomes U+FFFD, the replacement character, as three raw bytes.
 * 0, or -1 if the evbuffer refused the bytes. */
int whirl_json_escape_buf(struct evbuffer *out, const char *s, size_t len);
char *whirl_json_escape(const char *s, size_t len);

/* Hex digits into bytes: "68 69", "6869" or "68:69" (blanks and colons
 * between digits are skipped) into out, which has room for strlen(s) / 2
 * bytes.  The byte count, or -1 for any other character or an odd number
 * of digits. */
ssize_t whirl_hex_decode(const char *s, void *out);

/* RFC 4648 base64, the standard alphabet, padded with '=', no line
 * breaks: "hi" is "aGk=".  0, or -1 if the evbuffer refused the bytes. */
int whirl_base64_encode_buf(struct evbuffer *out, const void *p, size_t len);
char *whirl_base64_encode(const void *p, size_t len);

#endif
