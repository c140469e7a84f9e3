/* util.c - allocation that aborts on failure, and fd flags (internal.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void
out_of_memory(size_t size)
{
	fprintf(stderr, "whirl: out of memory (%zu bytes)\n", size);
	abort();
}

void *
whirl__xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
whirl__xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
whirl__xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *
whirl__xstrdup(const char *s)
{
	return whirl__xmemdup(s, strlen(s) + 1);
}

void *
whirl__xmemdup(const void *src, size_t size)
{
	void *p = whirl__xmalloc(size);

	memcpy(p, src, size);
	return p;
}

void
whirl__strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
whirl__hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
whirl__set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || (!(fl & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
		whirl__seterrno("fcntl(O_NONBLOCK)");
		return -1;
	}
	return 0;
}

int
whirl__set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1 || (!(fl & FD_CLOEXEC) &&
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)) {
		whirl__seterrno("fcntl(FD_CLOEXEC)");
		return -1;
	}
	return 0;
}
