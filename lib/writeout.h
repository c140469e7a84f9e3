/* writeout.h - curl's --write-out: a format whose %{variables} are
 * filled in from a finished fetch.
 *
 *     "%{http_code} %{size_download} %{time_total}\n"
 *     "%{json}"            every variable as one JSON object
 *     "%{header{Name}}"    a field of the response
 *
 * Text is copied as written, except \n \r \t \\ (the escapes curl knows)
 * and %% (a '%').  %{stderr} sends what follows to the second buffer and
 * %{stdout} back to the first; %{onerror} ends the output unless the
 * transfer failed.  The variables are curl 7.88's for HTTP, with curl's
 * formats: http_code has three digits, times six decimals, strings in
 * %{json} are JSON strings (null when empty) through lib/escape.
 *
 * Ownership: whirl_writeout only adds to the caller's evbuffers and
 * borrows the variables for the call.
 */
#ifndef WHIRL_WRITEOUT_H
#define WHIRL_WRITEOUT_H

#include <stddef.h>

struct evbuffer;
struct whirl_http_response;

/* What a format can name besides the response itself. */
struct whirl_writeout_vars {
	const struct whirl_http_response *r;   /* done's response */
	int exitcode;           /* the tool's exit status for it */
	const char *errormsg;   /* NULL: none */
	const char *filename;   /* filename_effective; NULL: none */
	const char *url;        /* the URL as asked for */
	size_t urlnum;          /* which URL argument, from 0 */
	const char *version;    /* whirl_version in %{json} */
};

/* Expand fmt: into out, and after %{stderr} into err.  Returns 0, or -1
 * with whirl_error() ("unknown --write-out variable: 'x'") when fmt names
 * a variable there is not; the rest is expanded all the same. */
int whirl_writeout(struct evbuffer *out, struct evbuffer *err,
    const char *fmt, const struct whirl_writeout_vars *v);

#endif
