/* pretty.h - output for people at a terminal: JSON indented and
 * coloured, HTTP heads coloured, as HTTPie prints them.
 *
 * Both functions read text that came from the network and append a
 * prettier copy of it to an evbuffer.  They never change what the text
 * says: JSON strings and numbers are copied as they were written, only
 * the white space between tokens changes; a head keeps its bytes, less
 * the carriage returns.  Colours are ANSI SGR sequences, added only with
 * WHIRL_PRETTY_COLOR (a tool asks for them when the output is a terminal
 * and NO_COLOR is not set).
 *
 * Ownership: the functions only add to the caller's evbuffer; they keep
 * nothing.
 */
#ifndef WHIRL_PRETTY_H
#define WHIRL_PRETTY_H

#include <stddef.h>

struct evbuffer;

#define WHIRL_PRETTY_COLOR 0x1  /* ANSI colours */

/* The JSON text s (RFC 8259: one value, white space around it) indented
 * by four spaces per level, one member or element per line, "key": value,
 * empty objects and arrays as {} and [], and a newline at the end.
 * Returns 0, or -1 with whirl_error() ("not JSON at byte 12") when s is
 * not JSON or nests deeper than 512 levels; out is then left as it was. */
int whirl_json_pretty(struct evbuffer *out, const char *s, size_t len,
    int flags);

/* An HTTP response head ("HTTP/1.1 200 OK\r\nName: value\r\n\r\n") with
 * its lines ended by "\n": with WHIRL_PRETTY_COLOR the version, the
 * status (green 2xx, yellow 3xx, red 4xx and 5xx) and each field name in
 * colour.  Returns 0, or -1 if the evbuffer refused the bytes. */
int whirl_http_head_pretty(struct evbuffer *out, const char *head,
    size_t len, int flags);

#endif
