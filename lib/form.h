/* form.h - multipart/form-data request bodies (RFC 7578), as curl's -F
 * writes them.
 *
 * A whirl_form is a list of parts, each a named text field or a file.
 * Files are read only when the body is read, a piece at a time, so a
 * form can carry files larger than memory.  The HTTP client sends a form
 * given in whirl_http_request.form; anyone else can read the body
 * through a whirl_form_reader, as many times as needed (a redirect that
 * keeps the body reads it again).
 *
 * Each part is written as
 *
 *     --BOUNDARY
 *     Content-Disposition: form-data; name="NAME"; filename="FILE"
 *     Content-Type: TYPE
 *
 *     DATA
 *
 * with CRLF line ends, and the body ends with --BOUNDARY--.  In names and
 * file names '"', CR and LF are written %22, %0D and %0A, as browsers
 * (and curl) do.  A file part without a type gets one from its file
 * name's extension (text/plain for .txt...), or
 * application/octet-stream; a text field gets none unless given.
 *
 * Ownership: the form copies every string it is given.  A reader borrows
 * its form: the form must outlive it.
 */
#ifndef WHIRL_FORM_H
#define WHIRL_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct whirl_form;
struct whirl_form_reader;

/* An empty form with a fresh random boundary.  Cannot fail. */
struct whirl_form *whirl_form_new(void);
void whirl_form_free(struct whirl_form *f);

/* A part of len bytes from memory: a text field, or with a filename a
 * file's contents already read (type NULL: none for a field, guessed
 * for a file). */
void whirl_form_add(struct whirl_form *f, const char *name,
    const char *value, size_t len, const char *filename, const char *type);
/* A file part read from path when the body is read.  filename NULL: the
 * last segment of path; "": no filename (curl's name=<file, whose
 * contents are a field's value).  type NULL: guessed from the file name
 * (none for a part with no filename). */
void whirl_form_add_file(struct whirl_form *f, const char *name,
    const char *path, const char *filename, const char *type);
/* A part as curl's -F writes it: "name=value", "name=@file" (a file
 * part), "name=<file" (a field whose value is the file's contents), each
 * with ";type=TYPE" and ";filename=NAME" after it; a value may be a
 * "quoted string" with \" and \\ escapes; "@-" and "<-" read standard
 * input now.  With literal (--form-string), everything after the first
 * '=' is the value.  -1 with whirl_error() for a spec without '='
 * (EINVAL) or standard input that cannot be read. */
int whirl_form_add_spec(struct whirl_form *f, const char *spec,
    bool literal);

/* "multipart/form-data; boundary=...", for the Content-Type field. */
const char *whirl_form_content_type(const struct whirl_form *f);
size_t whirl_form_count(const struct whirl_form *f);

/* Begin reading the body: every file is looked at now, for the length.
 * NULL with whirl_error() ("Failed to open/read local data from file
 * PATH: No such file or directory") if one cannot be read. */
struct whirl_form_reader *whirl_form_reader_new(const struct whirl_form *f);
/* The body's length in bytes. */
uint64_t whirl_form_reader_length(const struct whirl_form_reader *r);
/* Up to len bytes of the body into buf: the number read, 0 at the end,
 * or -1 with whirl_error() (a file vanished or changed size). */
ssize_t whirl_form_reader_read(struct whirl_form_reader *r, char *buf,
    size_t len);
void whirl_form_reader_free(struct whirl_form_reader *r);

#endif
