/* urlglob.h - curl's URL globbing: one pattern, many URLs.
 *
 * A pattern is a URL with any number of globs in it, each of which takes
 * its values in turn:
 *
 *     {one,two,three}    a set; an element may be empty
 *     [1-100]            a numeric range; [001-100] keeps the first
 *                        number's width with leading zeros
 *     [a-z], [A-Z]       a letter range (one case)
 *     [1-100:10]         any range with a step
 *
 * The URLs come out as an odometer turns: the last glob fastest
 * ("{a,b}[1-2]" gives a1 a2 b1 b2).  A backslash before { } [ ] or ,
 * makes it literal, and brackets that hold an IPv6 address
 * ("http://[::1]:8080/") are left alone.  A file name template names the
 * current URL's values: "#1" is the first glob's, "#2" the second's (an
 * "#N" with no such glob stays as it is).
 *
 * Expansion is lazy: a pattern of a billion URLs costs the same memory as
 * one.
 *
 * Ownership: the glob copies the pattern.  Strings returned are the
 * caller's to free(3).
 */
#ifndef WHIRL_URLGLOB_H
#define WHIRL_URLGLOB_H

#include <stddef.h>
#include <stdint.h>

struct whirl_urlglob;

/* Parse pattern.  NULL with whirl_error() on a malformed glob, in curl's
 * words ("bad range", "unmatched brace", "nested brace", "empty string
 * within braces", "unmatched close brace/bracket", "too many URLs"); when
 * errpos is not NULL it receives the 1-based column the fault is at. */
struct whirl_urlglob *whirl_urlglob_new(const char *pattern, size_t *errpos);
void whirl_urlglob_free(struct whirl_urlglob *g);

/* How many URLs the pattern gives (1 for a pattern without globs). */
uint64_t whirl_urlglob_count(const struct whirl_urlglob *g);

/* The next URL, or NULL after the last; the first call gives the first
 * URL. */
char *whirl_urlglob_next(struct whirl_urlglob *g);

/* tmpl with each "#N" replaced by the value the Nth glob gave the URL
 * that whirl_urlglob_next returned last. */
char *whirl_urlglob_name(const struct whirl_urlglob *g, const char *tmpl);

#endif
