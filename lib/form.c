/* form.c - multipart/form-data bodies (form.h).
 *
 * A reader lays the body out as segments, each a run of bytes in memory
 * (a part's head, a field's value, the CRLFs, the closing boundary) or
 * a file of a size measured when the reader began; reading walks the
 * segments in order and opens each file only when its turn comes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "form.h"
#include "internal.h"
#include "options.h"

struct part {
	char *name, *filename, *type;   /* filename, type may be NULL */
	char *mem;                      /* a part from memory, */
	size_t len;
	char *path;                     /* or from a file */
};

struct whirl_form {
	struct part *parts;
	size_t n;
	char boundary[41];
	char content_type[80];
};

struct seg {
	const char *mem;        /* NULL: a file */
	uint64_t len;
	const char *path;
};

struct whirl_form_reader {
	struct seg *segs;
	size_t n, i;
	uint64_t off;           /* within segs[i] */
	uint64_t length;
	char **heads;           /* the parts' heads, owned */
	size_t nheads;
	char *closing;
	int fd;                 /* the file of segs[i], when open */
};

struct whirl_form *
whirl_form_new(void)
{
	struct whirl_form *f = whirl__xcalloc(1, sizeof(*f));
	unsigned char rnd[8];
	size_t i;

	/* Any bytes will do if the kernel has none: the boundary need only
	 * be unlikely in the data. */
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ (uintptr_t)f >> i);
	memset(f->boundary, '-', 24);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(f->boundary + 24 + 2 * i, 3, "%02x", rnd[i]);
	snprintf(f->content_type, sizeof(f->content_type),
	    "multipart/form-data; boundary=%s", f->boundary);
	return f;
}

void
whirl_form_free(struct whirl_form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->parts[i].name);
		free(f->parts[i].filename);
		free(f->parts[i].type);
		free(f->parts[i].mem);
		free(f->parts[i].path);
	}
	free(f->parts);
	free(f);
}

/* The type curl would guess from a file name's extension. */
static const char *
guess_type(const char *filename)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "gif", "image/gif" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "png", "image/png" },
		{ "svg", "image/svg+xml" }, { "txt", "text/plain" },
		{ "htm", "text/html" }, { "html", "text/html" },
		{ "pdf", "application/pdf" }, { "xml", "application/xml" },
		{ "json", "application/json" },
	};
	const char *dot = strrchr(filename, '.');
	size_t i;

	for (i = 0; dot != NULL && i < WHIRL__ARRAY_LEN(types); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static struct part *
new_part(struct whirl_form *f, const char *name, const char *filename,
    const char *type)
{
	struct part *p;

	f->parts = whirl__xrealloc(f->parts, (f->n + 1) * sizeof(*f->parts));
	p = &f->parts[f->n++];
	memset(p, 0, sizeof(*p));
	p->name = whirl__xstrdup(name);
	p->filename = filename != NULL && *filename != '\0' ?
	    whirl__xstrdup(filename) : NULL;
	if (type != NULL)
		p->type = whirl__xstrdup(type);
	else if (p->filename != NULL)
		p->type = whirl__xstrdup(guess_type(p->filename));
	return p;
}

void
whirl_form_add(struct whirl_form *f, const char *name, const char *value,
    size_t len, const char *filename, const char *type)
{
	struct part *p = new_part(f, name, filename, type);

	p->mem = whirl__xmemdup(value, len + 1);
	p->mem[len] = '\0';
	p->len = len;
}

void
whirl_form_add_file(struct whirl_form *f, const char *name,
    const char *path, const char *filename, const char *type)
{
	const char *slash = strrchr(path, '/');
	struct part *p = new_part(f, name, filename != NULL ? filename :
	    slash != NULL ? slash + 1 : path, type);

	p->path = whirl__xstrdup(path);
}

const char *
whirl_form_content_type(const struct whirl_form *f)
{
	return f->content_type;
}

size_t
whirl_form_count(const struct whirl_form *f)
{
	return f->n;
}

/*
 * curl's -F syntax.
 */

/* A value: up to ';', or a "quoted string" with \" and \\ escapes (and
 * whatever follows its closing quote up to ';' ignored).  *sp moves past
 * it; the caller frees the copy. */
static char *
spec_word(const char **sp)
{
	const char *s = *sp;
	char *out = whirl__xmalloc(strlen(s) + 1), *w = out;

	if (*s == '"') {
		for (s++; *s != '\0' && *s != '"'; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*w++ = *s;
		}
		if (*s == '"')
			s++;
		s += strcspn(s, ";");
	} else {
		while (*s != '\0' && *s != ';')
			*w++ = *s++;
	}
	*w = '\0';
	*sp = s;
	return out;
}

/* If p starts with key: *field becomes a copy of what follows it. */
static void
spec_param(const char *p, const char *key, char **field)
{
	size_t n = strlen(key);

	if (strncasecmp(p, key, n) == 0) {
		free(*field);
		*field = whirl__xstrdup(p + n);
	}
}

/* The part, once the spec is parsed: kind '=' a text value, '@' a file
 * part, '<' a field read from a file; "-" is standard input, read now. */
static int
spec_add(struct whirl_form *f, const char *name, char kind,
    const char *value, const char *filename, const char *type)
{
	char *data;
	size_t len;

	if (kind == '=') {
		whirl_form_add(f, name, value, strlen(value), filename, type);
	} else if (strcmp(value, "-") == 0) {
		if ((data = whirl_read_option_file("-", &len)) == NULL)
			return -1;
		whirl_form_add(f, name, data, len, kind == '@' ?
		    (filename != NULL ? filename : "-") : NULL, type);
		free(data);
	} else {
		whirl_form_add_file(f, name, value, kind == '@' ? filename : "",
		    type);
	}
	return 0;
}

int
whirl_form_add_spec(struct whirl_form *f, const char *spec, bool literal)
{
	const char *eq = strchr(spec, '='), *s;
	char *name, *value, *type = NULL, *filename = NULL, *p;
	char kind = '=';
	int rc;

	if (eq == NULL) {
		whirl__seterr(EINVAL, "'%s' is not name=value", spec);
		return -1;
	}
	name = whirl__xmemdup(spec, (size_t)(eq - spec) + 1);
	name[eq - spec] = '\0';
	s = eq + 1;
	if (literal) {
		whirl_form_add(f, name, s, strlen(s), NULL, NULL);
		free(name);
		return 0;
	}
	if (*s == '@' || *s == '<')
		kind = *s++;
	value = spec_word(&s);
	while (*s == ';') {
		s++;
		p = spec_word(&s);
		spec_param(p, "type=", &type);
		spec_param(p, "filename=", &filename);
		free(p);	/* headers=, encoder=: not supported */
	}
	rc = spec_add(f, name, kind, value, filename, type);
	free(name);
	free(value);
	free(type);
	free(filename);
	return rc;
}

/*
 * Reading.
 */

/* A quoted parameter's text: '"', CR and LF percent-encoded. */
static void
add_quoted(FILE *m, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputs("%22", m);
		else if (*s == '\r')
			fputs("%0D", m);
		else if (*s == '\n')
			fputs("%0A", m);
		else
			fputc(*s, m);
	}
}

static char *
part_head(const struct whirl_form *f, const struct part *p, bool first)
{
	char *text;
	size_t len;
	FILE *m = open_memstream(&text, &len);

	if (m == NULL)
		abort();        /* out of memory, as whirl__xmalloc */
	fprintf(m, "%s--%s\r\nContent-Disposition: form-data; name=\"",
	    first ? "" : "\r\n", f->boundary);
	add_quoted(m, p->name);
	if (p->filename != NULL) {
		fputs("\"; filename=\"", m);
		add_quoted(m, p->filename);
	}
	fputs("\"\r\n", m);
	if (p->type != NULL)
		fprintf(m, "Content-Type: %s\r\n", p->type);
	fputs("\r\n", m);
	fclose(m);
	return text;
}

static void
add_seg(struct whirl_form_reader *r, const char *mem, uint64_t len,
    const char *path)
{
	r->segs = whirl__xrealloc(r->segs, (r->n + 1) * sizeof(*r->segs));
	r->segs[r->n++] = (struct seg){ mem, len, path };
	r->length += len;
}

struct whirl_form_reader *
whirl_form_reader_new(const struct whirl_form *f)
{
	struct whirl_form_reader *r = whirl__xcalloc(1, sizeof(*r));
	const struct part *p;
	struct stat st;
	size_t i;
	int bad = 0;

	r->fd = -1;
	r->heads = whirl__xcalloc(f->n + 1, sizeof(*r->heads));
	for (i = 0; i < f->n; i++) {
		p = &f->parts[i];
		r->heads[r->nheads] = part_head(f, p, i == 0);
		add_seg(r, r->heads[r->nheads], strlen(r->heads[r->nheads]),
		    NULL);
		r->nheads++;
		if (p->path == NULL) {
			add_seg(r, p->mem, p->len, NULL);
			continue;
		}
		if (stat(p->path, &st) == -1)
			bad = errno;
		else if (!S_ISREG(st.st_mode))
			bad = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		if (bad != 0) {
			errno = bad;
			whirl__seterrno("Failed to open/read local data from "
			    "file %s", p->path);
			whirl_form_reader_free(r);
			return NULL;
		}
		add_seg(r, NULL, (uint64_t)st.st_size, p->path);
	}
	if (asprintf(&r->closing, "%s--%s--\r\n", f->n > 0 ? "\r\n" : "",
	    f->boundary) == -1)
		abort();
	add_seg(r, r->closing, strlen(r->closing), NULL);
	return r;
}

uint64_t
whirl_form_reader_length(const struct whirl_form_reader *r)
{
	return r->length;
}

/* Read from the file of segment s at offset r->off. */
static ssize_t
read_file(struct whirl_form_reader *r, const struct seg *s, char *buf,
    size_t len)
{
	ssize_t n;

	if (r->fd == -1 && (r->fd = open(s->path, O_RDONLY | O_CLOEXEC)) ==
	    -1) {
		whirl__seterrno("Failed to open/read local data from file %s",
		    s->path);
		return -1;
	}
	do
		n = read(r->fd, buf, len);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		whirl__seterrno("Failed to read %s", s->path);
		return -1;
	}
	if (n == 0) {
		whirl__seterr(0, "Failed to read %s: it got shorter", s->path);
		return -1;
	}
	return n;
}

ssize_t
whirl_form_reader_read(struct whirl_form_reader *r, char *buf, size_t len)
{
	const struct seg *s;
	size_t got = 0, want;
	ssize_t n;

	while (got < len && r->i < r->n) {
		s = &r->segs[r->i];
		want = len - got;
		if (want > s->len - r->off)
			want = (size_t)(s->len - r->off);
		if (s->mem != NULL || want == 0) {
			if (want > 0)
				memcpy(buf + got, s->mem + r->off, want);
			n = (ssize_t)want;
		} else if ((n = read_file(r, s, buf + got, want)) == -1) {
			return -1;
		}
		got += (size_t)n;
		r->off += (uint64_t)n;
		if (r->off == s->len) {
			if (r->fd != -1)
				close(r->fd);
			r->fd = -1;
			r->i++;
			r->off = 0;
		}
	}
	return (ssize_t)got;
}

void
whirl_form_reader_free(struct whirl_form_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->fd != -1)
		close(r->fd);
	for (i = 0; i < r->nheads; i++)
		free(r->heads[i]);
	free(r->heads);
	free(r->segs);
	free(r->closing);
	free(r);
}
