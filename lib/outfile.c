/* outfile.c - a downloaded file that appears whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "outfile.h"

struct whirl_outfile {
	int fd;
	bool own_fd;                    /* false for whirl_outfile_wrap */
	char *path;                     /* where it goes */
	char *tmp;                      /* where it is written; NULL: in place */
	struct whirl_outfile *volatile next;    /* in `pending` */
};

/* The files with a temporary name.  A signal handler walks this list
 * while the main program may be stopped anywhere in a change to it, so
 * every change is one pointer store that leaves the list whole: push at
 * the head, unlink before free. */
static struct whirl_outfile *volatile pending;

static void
pending_add(struct whirl_outfile *f)
{
	f->next = pending;
	pending = f;
}

static void
pending_remove(struct whirl_outfile *f)
{
	struct whirl_outfile *volatile *p;

	for (p = &pending; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			return;
		}
}

void
whirl_outfile_unlink_all(void)
{
	struct whirl_outfile *f;

	for (f = pending; f != NULL; f = f->next)
		unlink(f->tmp);
}

static struct whirl_outfile *
outfile_new(int fd, bool own_fd, const char *path, char *tmp)
{
	struct whirl_outfile *f = whirl__xcalloc(1, sizeof(*f));

	f->fd = fd;
	f->own_fd = own_fd;
	f->path = path != NULL ? whirl__xstrdup(path) : NULL;
	f->tmp = tmp;
	if (tmp != NULL)
		pending_add(f);
	return f;
}

/* A temporary file beside path, with the mode a new file would get. */
static int
open_temp(const char *path, char **tmp)
{
	mode_t um;
	int fd;

	if (asprintf(tmp, "%s.whirl-XXXXXX", path) == -1)
		abort();
	if ((fd = mkostemp(*tmp, O_CLOEXEC)) == -1) {
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	um = umask(0);
	umask(um);
	(void)fchmod(fd, 0666 & ~um);
	return fd;
}

struct whirl_outfile *
whirl_outfile_open(const char *path, int flags)
{
	struct stat st;
	char *tmp = NULL;
	int fd;

	if (flags & WHIRL_OUTFILE_APPEND)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0666);
	else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		fd = open(path, O_WRONLY | O_CLOEXEC);
	else
		fd = open_temp(path, &tmp);
	if (fd == -1) {
		whirl__seterrno("%s", path);
		return NULL;
	}
	return outfile_new(fd, true, path, tmp);
}

struct whirl_outfile *
whirl_outfile_wrap(int fd)
{
	return outfile_new(fd, false, NULL, NULL);
}

int
whirl_outfile_write(struct whirl_outfile *f, const void *p, size_t n)
{
	struct pollfd pfd = { f->fd, POLLOUT, 0 };
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(f->fd, c, n);
		if (w > 0) {
			c += w;
			n -= (size_t)w;
		} else if (w == -1 && errno == EAGAIN) {
			/* Someone made our stdout non-blocking: wait. */
			(void)poll(&pfd, 1, -1);
		} else if (w == -1 && errno != EINTR) {
			whirl__seterrno("write");
			return -1;
		}
	}
	return 0;
}

static void
outfile_free(struct whirl_outfile *f)
{
	if (f->tmp != NULL) {
		pending_remove(f);
		free(f->tmp);
	}
	free(f->path);
	free(f);
}

int
whirl_outfile_commit(struct whirl_outfile *f)
{
	int rc = 0;

	if (f->own_fd && close(f->fd) == -1) {
		whirl__seterrno("close");
		rc = -1;
	}
	if (f->tmp != NULL && rc == 0 && rename(f->tmp, f->path) == -1) {
		whirl__seterrno("rename to %s", f->path);
		rc = -1;
	}
	if (f->tmp != NULL && rc == -1)
		unlink(f->tmp);
	outfile_free(f);
	return rc;
}

void
whirl_outfile_discard(struct whirl_outfile *f)
{
	if (f->own_fd)
		close(f->fd);
	if (f->tmp != NULL)
		unlink(f->tmp);
	outfile_free(f);
}
