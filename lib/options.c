/* options.c - typed values from a command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "options.h"

int
whirl_parse_seconds(const char *s, double min_s, double max_s, uint64_t *ms)
{
	char *end;
	double v;

	uint64_t whole;

	errno = 0;
	v = strtod(s, &end);
	/* v != v: NaN; the range check also stops the infinities. */
	if (errno != 0 || end == s || *end != '\0' || v != v ||
	    v < min_s || v > max_s || v < 0) {
		whirl__seterr(EINVAL, "'%s' is not a number of seconds from "
		    "%g to %g", s, min_s, max_s);
		return -1;
	}
	v *= 1000;
	whole = (uint64_t)v;
	*ms = (double)whole < v ? whole + 1 : whole;
	return 0;
}

int
whirl_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == 0 && end != s && *s != '-') {
		switch (*end) {
		case 'k': case 'K': mult = 1024; end++; break;
		case 'm': case 'M': mult = 1024 * 1024; end++; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
		}
		if (mult > 1 && (strcmp(end, "iB") == 0 ||
		    strcmp(end, "B") == 0))
			end += strlen(end);
		if (*end == '\0' && v > 0 && v <= UINT64_MAX / mult) {
			*bytes = v * mult;
			return 0;
		}
	}
	whirl__seterr(EINVAL, "'%s' is not a size (bytes, K, M or G)", s);
	return -1;
}

int
whirl_parse_long(const char *s, long long min, long long max,
    long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		whirl__seterr(EINVAL, "'%s' is not a number from %lld to %lld",
		    s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* All of fd, NUL-terminated; NULL (errno set) if a read fails. */
static char *
read_all_fd(int fd, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	for (;;) {
		if (n + 65536 > cap) {
			cap = (n + 65536) * 2;
			buf = whirl__xrealloc(buf, cap);
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (got == -1) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

char *
whirl_read_option_file(const char *path, size_t *len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char *buf;

	if (fd == -1) {
		whirl__seterrno("Failed to open %s", path);
		return NULL;
	}
	buf = read_all_fd(fd, len);
	if (buf == NULL)
		whirl__seterrno("Failed to read %s", path);
	if (!is_stdin)
		close(fd);
	return buf;
}
