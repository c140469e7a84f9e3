/* error.c - the per-thread last-error message behind whirl_error(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "internal.h"

const char whirl_err_closed[] = "stream closed";
const char whirl_err_timeout[] = "timed out";
const char whirl_err_too_long[] = "delimiter not found within the limit";

static _Thread_local char last_error[512];
static _Thread_local int last_errno;

const char *
whirl_error(void)
{
	return last_error;
}

int
whirl_error_errno(void)
{
	return last_errno;
}

void
whirl__seterr(int errno_value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_errno = errno_value;
}

void
whirl__seterrno(const char *fmt, ...)
{
	int saved = errno;
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	used = strlen(last_error);
	snprintf(last_error + used, sizeof(last_error) - used, ": %s",
	    strerror(saved));
	last_errno = saved;
	errno = saved;
}
