/* test_form.c - multipart/form-data bodies: layout, reading in pieces,
 * files read late, failures, curl's -F specs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "form.h"
#include "unit.h"

/* The whole body, read step bytes at a time; NULL on a read error. */
static char *
read_all(const struct whirl_form *f, size_t step, size_t *len)
{
	struct whirl_form_reader *r = whirl_form_reader_new(f);
	char *body;
	size_t n = 0;
	ssize_t got;

	if (r == NULL)
		return NULL;
	body = malloc(whirl_form_reader_length(r) + step + 1);
	while ((got = whirl_form_reader_read(r, body + n, step)) > 0)
		n += (size_t)got;
	CHECK_EQ_INT(n, whirl_form_reader_length(r));
	whirl_form_reader_free(r);
	if (got == -1) {
		free(body);
		return NULL;
	}
	body[n] = '\0';
	*len = n;
	return body;
}

TEST(layout)
{
	struct whirl_form *f = whirl_form_new();
	char path[] = "/tmp/test_form.XXXXXX", want[2048], *b;
	const char *ct = whirl_form_content_type(f), *bnd;
	size_t len, step, wlen;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "file\0data\n", 10) == 10);
	close(fd);
	CHECK(strncmp(ct, "multipart/form-data; boundary=----------------"
	    "--------", 54) == 0);
	CHECK_EQ_INT(strlen(ct), 30 + 40);
	bnd = ct + 30;
	whirl_form_add(f, "name", "value", 5, NULL, NULL);
	whirl_form_add(f, "q\"u\r\no", "", 0, NULL, "text/x-mine");
	whirl_form_add_file(f, "up", path, NULL, NULL);
	whirl_form_add_file(f, "txt", path, "a \"b\".TXT", NULL);
	whirl_form_add_file(f, "val", path, "", NULL);
	whirl_form_add(f, "mem", "xy", 2, "m.png", NULL);
	CHECK_EQ_INT(whirl_form_count(f), 6);
	wlen = (size_t)snprintf(want, sizeof(want),
	    "--%s\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n"
	    "value\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"q%%22u%%0D%%0Ao\""
	    "\r\nContent-Type: text/x-mine\r\n\r\n\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"up\"; "
	    "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	    "file@data\n\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"txt\"; "
	    "filename=\"a %%22b%%22.TXT\"\r\nContent-Type: text/plain\r\n\r\n"
	    "file@data\n\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"val\"\r\n\r\n"
	    "file@data\n\r\n"
	    "--%s\r\nContent-Disposition: form-data; name=\"mem\"; "
	    "filename=\"m.png\"\r\nContent-Type: image/png\r\n\r\nxy\r\n"
	    "--%s--\r\n", bnd, bnd, bnd, path + 5, bnd, bnd, bnd, bnd);
	for (len = 0; len < wlen; len++)
		if (want[len] == '@')
			want[len] = '\0';
	/* Whole, byte by byte, and across segment edges. */
	for (step = 1; step < 70; step += 7) {
		b = read_all(f, step, &len);
		CHECK(b != NULL);
		CHECK_EQ_INT(len, wlen);
		CHECK(b != NULL && memcmp(b, want, wlen) == 0);
		free(b);
	}
	b = read_all(f, 100000, &len);
	CHECK(b != NULL && len == wlen && memcmp(b, want, wlen) == 0);
	free(b);
	unlink(path);
	whirl_form_free(f);
}

TEST(empty)
{
	struct whirl_form *f = whirl_form_new();
	char want[100], *b;
	size_t len;

	snprintf(want, sizeof(want), "--%s--\r\n",
	    whirl_form_content_type(f) + 30);
	b = read_all(f, 10, &len);
	CHECK_EQ_STR(b, want);
	free(b);
	whirl_form_free(f);
}

TEST(failures)
{
	struct whirl_form *f = whirl_form_new();
	struct whirl_form_reader *r;
	char path[] = "/tmp/test_form.XXXXXX", buf[4096];
	int fd = mkstemp(path);
	ssize_t n;

	CHECK(write(fd, "0123456789", 10) == 10);
	whirl_form_add_file(f, "gone", "/nonexistent/file", NULL, NULL);
	CHECK(whirl_form_reader_new(f) == NULL);
	CHECK_EQ_STR(whirl_error(), "Failed to open/read local data from "
	    "file /nonexistent/file: No such file or directory");
	whirl_form_free(f);
	f = whirl_form_new();
	whirl_form_add_file(f, "dir", "/tmp", NULL, NULL);
	CHECK(whirl_form_reader_new(f) == NULL);
	CHECK_EQ_STR(whirl_error(), "Failed to open/read local data from "
	    "file /tmp: Is a directory");
	whirl_form_free(f);
	/* A file that shrinks between the start and its turn. */
	f = whirl_form_new();
	whirl_form_add_file(f, "f", path, NULL, NULL);
	r = whirl_form_reader_new(f);
	CHECK(ftruncate(fd, 4) == 0);
	n = whirl_form_reader_read(r, buf, sizeof(buf));
	CHECK(n == -1);
	CHECK(strstr(whirl_error(), "got shorter") != NULL);
	whirl_form_reader_free(r);
	/* One that grows is read to its old length. */
	CHECK(ftruncate(fd, 0) == 0);
	r = whirl_form_reader_new(f);
	CHECK(pwrite(fd, "abc", 3, 0) == 3);
	n = whirl_form_reader_read(r, buf, sizeof(buf));
	CHECK_EQ_INT(n, whirl_form_reader_length(r));
	CHECK(n > 0 && memmem(buf, (size_t)n, "abc", 3) == NULL);
	whirl_form_reader_free(r);
	close(fd);
	unlink(path);
	whirl_form_free(f);
}

/* Standard input becomes a pipe holding text (NULL: a closed fd 0);
 * returns the old one, for stdin_restore. */
static int
stdin_from(const char *text)
{
	int saved = dup(0), p[2];

	if (text == NULL) {
		close(0);
		return saved;
	}
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], text, strlen(text)) == (ssize_t)strlen(text));
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	return saved;
}

static void
stdin_restore(int saved)
{
	dup2(saved, 0);
	close(saved);
}

/* Both forms' bodies, the same but for their boundaries. */
static void
check_same_body(const struct whirl_form *a, const struct whirl_form *b)
{
	const char *ba = whirl_form_content_type(a) + 30;
	const char *bb = whirl_form_content_type(b) + 30;
	size_t la, lb, blen = strlen(ba);
	char *x = read_all(a, 4096, &la), *y = read_all(b, 4096, &lb), *p;

	CHECK(x != NULL && y != NULL);
	CHECK_EQ_INT(la, lb);
	for (p = x; x != NULL && (p = memmem(p, la - (size_t)(p - x), ba,
	    blen)) != NULL; p += blen)
		memcpy(p, bb, blen);
	CHECK(x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0);
	free(x);
	free(y);
}

TEST(curl_specs)
{
	struct whirl_form *f = whirl_form_new(), *want = whirl_form_new();
	char path[] = "/tmp/test_form.XXXXXX", spec[256];
	int fd = mkstemp(path), saved;

	CHECK(write(fd, "contents\n", 9) == 9);
	close(fd);
	CHECK_EQ_INT(whirl_form_add_spec(f, "name=value", false), 0);
	whirl_form_add(want, "name", "value", 5, NULL, NULL);
	CHECK_EQ_INT(whirl_form_add_spec(f,
	    "q=\"a;b\\\"c\" ignored;type=text/x-q", false), 0);
	whirl_form_add(want, "q", "a;b\"c", 5, NULL, "text/x-q");
	snprintf(spec, sizeof(spec), "up=@%s;filename=up.txt;type=text/x-up",
	    path);
	CHECK_EQ_INT(whirl_form_add_spec(f, spec, false), 0);
	whirl_form_add_file(want, "up", path, "up.txt", "text/x-up");
	snprintf(spec, sizeof(spec), "up2=@%s", path);
	CHECK_EQ_INT(whirl_form_add_spec(f, spec, false), 0);
	whirl_form_add_file(want, "up2", path, NULL, NULL);
	snprintf(spec, sizeof(spec), "val=<%s", path);
	CHECK_EQ_INT(whirl_form_add_spec(f, spec, false), 0);
	whirl_form_add_file(want, "val", path, "", NULL);
	CHECK_EQ_INT(whirl_form_add_spec(f, "k=v;FILENAME=f.png;x=y", false),
	    0);
	whirl_form_add(want, "k", "v", 1, "f.png", NULL);
	CHECK_EQ_INT(whirl_form_add_spec(f, "lit=@not;type=a", true), 0);
	whirl_form_add(want, "lit", "@not;type=a", 11, NULL, NULL);
	/* "-": standard input, read at once. */
	saved = stdin_from("piped");
	CHECK_EQ_INT(whirl_form_add_spec(f, "in=@-", false), 0);
	stdin_restore(saved);
	whirl_form_add(want, "in", "piped", 5, "-", NULL);
	saved = stdin_from("more");
	CHECK_EQ_INT(whirl_form_add_spec(f, "in2=<-", false), 0);
	stdin_restore(saved);
	whirl_form_add(want, "in2", "more", 4, NULL, NULL);
	CHECK_EQ_INT(whirl_form_count(f), whirl_form_count(want));
	check_same_body(f, want);
	/* Failures add nothing. */
	CHECK_EQ_INT(whirl_form_add_spec(f, "novalue", false), -1);
	CHECK_EQ_INT(whirl_error_errno(), EINVAL);
	CHECK_EQ_STR(whirl_error(), "'novalue' is not name=value");
	saved = stdin_from(NULL);
	CHECK_EQ_INT(whirl_form_add_spec(f, "in=@-", false), -1);
	stdin_restore(saved);
	CHECK_EQ_STR(whirl_error(), "Failed to read -: Bad file descriptor");
	CHECK_EQ_INT(whirl_form_count(f), whirl_form_count(want));
	unlink(path);
	whirl_form_free(f);
	whirl_form_free(want);
}

int
main(void)
{
	RUN(layout);
	RUN(empty);
	RUN(failures);
	RUN(curl_specs);
	return unit_done();
}
