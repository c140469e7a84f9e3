/* options.h - typed values from a command line: seconds, sizes, numbers,
 * and the contents of "@file" arguments.
 *
 * Every tool takes "--timeout 0.5", "--max-body-size 16M" or "-p 8080";
 * these turn the text into a number or say why not, and leave the message
 * a user sees (which option, which range) to the tool.  Each returns 0, or
 * -1 with whirl_error() set and *out untouched.
 *
 * Ownership: only whirl_read_option_file allocates; the caller frees.
 */
#ifndef WHIRL_OPTIONS_H
#define WHIRL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* Seconds, fractions allowed ("2", "0.5"), finite and within
 * [min_s, max_s], into milliseconds rounded up: a positive value never
 * becomes 0. */
int whirl_parse_seconds(const char *s, double min_s, double max_s,
    uint64_t *ms);
/* A byte count with an optional K, M or G (binary; "KiB" and "KB" too),
 * more than 0. */
int whirl_parse_size(const char *s, uint64_t *bytes);
/* A whole decimal number within [min, max]. */
int whirl_parse_long(const char *s, long long min, long long max,
    long long *out);

/* The whole contents of the file at path, or of standard input for "-"
 * (curl's "@file" and "@-"), NUL-terminated; *len is the length without
 * the NUL.  NULL with whirl_error() ("Failed to open PATH: No such file
 * or directory", "Failed to read PATH: Is a directory") and *len untouched. */
char *whirl_read_option_file(const char *path, size_t *len);

#endif
