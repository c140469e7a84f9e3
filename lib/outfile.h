/* outfile.h - a downloaded file that appears whole or not at all.
 *
 * whirl_outfile_open writes into "PATH.whirl-XXXXXX" beside PATH (the
 * same directory, so that the final rename(2) is atomic), created with
 * 0666 & ~umask like any new file.  whirl_outfile_commit closes it and
 * renames it over PATH; whirl_outfile_discard removes it.  A reader of
 * PATH sees the old file or the new one, never half of it, and a failed
 * transfer leaves nothing behind.
 *
 * Three cases write in place instead: a PATH that exists and is not a
 * regular file (a fifo, /dev/null, a terminal: there is nothing to
 * rename), WHIRL_OUTFILE_APPEND (curl's -C: the file grows where it
 * is, and a partial one stays, to be resumed), and whirl_outfile_wrap's
 * descriptor (stdout).
 *
 * whirl_outfile_unlink_all removes every temporary file not yet
 * committed or discarded.  It calls nothing but unlink(2), so a handler
 * of SIGINT or SIGTERM may call it before the process dies.
 *
 * Ownership: the caller owns a whirl_outfile until commit or discard,
 * which free it (even when they fail).
 */
#ifndef WHIRL_OUTFILE_H
#define WHIRL_OUTFILE_H

#include <stddef.h>

struct whirl_outfile;

enum {
	WHIRL_OUTFILE_APPEND = 1 << 0   /* in place, O_APPEND; kept on error */
};

/* NULL (whirl_error, errno kept: "PATH: Permission denied") if the
 * file cannot be created. */
struct whirl_outfile *whirl_outfile_open(const char *path, int flags);
/* Writes to fd, which commit and discard leave open (stdout). */
struct whirl_outfile *whirl_outfile_wrap(int fd);
/* All n bytes, or -1 (whirl_error; errno ENOSPC, EPIPE...). */
int whirl_outfile_write(struct whirl_outfile *f, const void *p, size_t n);
/* Close, then rename into place.  -1 (whirl_error) if the close or the
 * rename failed: then the temporary file is removed, as by discard. */
int whirl_outfile_commit(struct whirl_outfile *f);
/* Close and remove the temporary file (an in-place file stays). */
void whirl_outfile_discard(struct whirl_outfile *f);
/* Async-signal-safe: unlink every temporary file still open. */
void whirl_outfile_unlink_all(void);

#endif
