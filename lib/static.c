/* static.c - files and directories for web handlers (static.h).
 *
 * Every path is opened by the kernel from the root's descriptor with
 * RESOLVE_BENEATH: whatever the URL decodes to, the resolution cannot
 * climb out (not through "..", an absolute path or a symbolic link).  The
 * checks before it (NUL, "..", dotfiles) only choose the status.
 *
 * iostream has no file-to-socket path yet, so a file is read with pread
 * in pieces and written through the handler: small files at once, large
 * ones as the client drains them (whirl_handler_on_drain).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "escape.h"
#include "httpserver.h"
#include "httputil.h"
#include "internal.h"
#include "static.h"
#include "web.h"

#define PIECE        (64 * 1024)
#define SMALL        (256 * 1024)    /* read at once up to this size */
#define HIGH_WATER   (512 * 1024)    /* stop reading above this backlog */
#define LOW_WATER    (128 * 1024)

struct whirl_static {
	int rootfd;                     /* dir: */
	char *file;                     /* file: */
	struct whirl_static_opts o;
};

/* A large file on its way out. */
struct sending {
	struct whirl_handler *h;
	int fd;
	off_t off;
	uint64_t left;
};

static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "xml", "text/xml; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "wasm", "application/wasm" },
	{ "pdf", "application/pdf" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "wav", "audio/wav" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
};

const char *
whirl_static_content_type(const char *name)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < WHIRL__ARRAY_LEN(types); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/*
 * Objects.
 */

struct whirl_static *
whirl_static_new_dir(const char *root, const struct whirl_static_opts *opts)
{
	struct whirl_static *st;
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1) {
		whirl__seterrno("dir:%s", root);
		return NULL;
	}
	st = whirl__xcalloc(1, sizeof(*st));
	st->rootfd = fd;
	if (opts != NULL)
		st->o = *opts;
	return st;
}

struct whirl_static *
whirl_static_new_file(const char *path)
{
	struct whirl_static *st = whirl__xcalloc(1, sizeof(*st));

	st->rootfd = -1;
	st->file = whirl__xstrdup(path);
	return st;
}

void
whirl_static_free(struct whirl_static *st)
{
	if (st == NULL)
		return;
	if (st->rootfd != -1)
		close(st->rootfd);
	free(st->file);
	free(st);
}

/*
 * Resolution.
 */

/* The status a path earns before the kernel sees it: 0 to go on. */
static int
precheck(const char *rel, size_t len, bool dotfiles)
{
	const char *p = rel, *end = rel + len, *slash;
	size_t n;

	if (memchr(rel, '\0', len) != NULL)
		return 404;
	while (p < end) {
		slash = memchr(p, '/', (size_t)(end - p));
		n = slash != NULL ? (size_t)(slash - p) : (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 403;
		if (n > 1 && p[0] == '.' && !dotfiles)
			return 404;
		p += n + 1;
	}
	return 0;
}

/* Without openat2 (kernels before 5.6, valgrind): one component at a
 * time with O_NOFOLLOW, so that no symbolic link is followed at all. */
static int
open_walk(int rootfd, const char *rel)
{
	char *copy = whirl__xstrdup(rel), *comp, *save = NULL;
	int fd = -1, next;
	struct stat st;
	bool dir;

	if (*rel == '/') {
		errno = EXDEV;
		goto out;
	}
	fd = openat(rootfd, ".", O_RDONLY | O_CLOEXEC | O_DIRECTORY);
	for (comp = strtok_r(copy, "/", &save); comp != NULL && fd != -1;
	    comp = strtok_r(NULL, "/", &save)) {
		/* A name followed by a slash must be a directory, as
		 * openat2 reads "a.txt/" and "a.txt/." (strtok_r and the
		 * skipped "." would forget it). */
		dir = rel[(comp - copy) + strlen(comp)] == '/';
		if (strcmp(comp, ".") == 0)
			continue;
		next = openat(fd, comp, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
		    O_NOCTTY | O_NOFOLLOW | (dir ? O_DIRECTORY : 0));
		/* O_DIRECTORY on a link says ENOTDIR: a link refused is
		 * ELOOP (403), as openat2 and a last component say. */
		if (next == -1 && errno == ENOTDIR && dir &&
		    fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			errno = ELOOP;
		close(fd);
		fd = next;
	}
out:
	free(copy);
	return fd;
}

int
whirl_static_open(int rootfd, const char *rel, size_t len, bool dotfiles,
    int *status)
{
	struct open_how how;
	int fd;

	*status = precheck(rel, len, dotfiles);
	if (*status != 0)
		return -1;
	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: a FIFO under the root must not hang the loop. */
	how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, len > 0 ? rel : ".", &how,
	    sizeof(how));
	if (fd == -1 && errno == ENOSYS)
		fd = open_walk(rootfd, rel);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		*status = 404;
		break;
	case EXDEV:
	case ELOOP:
	case EACCES:
	case EPERM:
		*status = 403;
		break;
	default:
		*status = 500;
		break;
	}
	return -1;
}

/*
 * Answers.
 */

static void
redirect_slash(struct whirl_handler *h)
{
	struct whirl_request *req = whirl_handler_request(h);
	const char *path = whirl_handler_path(h);
	const char *query = whirl_request_query(req);
	char *url = whirl__xmalloc(strlen(path) + strlen(query) + 3);

	sprintf(url, "%s/%s%s", path, *query != '\0' ? "?" : "", query);
	whirl_handler_redirect(h, url, 301);
	free(url);
}

static void
pump(struct whirl_handler *h, void *arg)
{
	struct sending *s = arg;
	char buf[PIECE];
	ssize_t n;

	while (s->left > 0 && !whirl_handler_connection_closed(h) &&
	    whirl_handler_pending(h) < HIGH_WATER) {
		n = pread(s->fd, buf, s->left < PIECE ? s->left : PIECE,
		    s->off);
		if (n <= 0) {
			/* The file shrank or failed: the client sees a short
			 * body, which is all HTTP/1.1 allows once the head is
			 * out. */
			s->left = 0;
			break;
		}
		whirl_handler_write(h, buf, (size_t)n);
		whirl_handler_flush(h);
		s->off += n;
		s->left -= (uint64_t)n;
	}
	if (s->left > 0 && !whirl_handler_connection_closed(h)) {
		whirl_handler_on_drain(h, LOW_WATER, pump, s);
		return;
	}
	close(s->fd);
	free(s);
	whirl_handler_finish(h);
}

/* Send len bytes of fd from start; takes the fd. */
static void
send_body(struct whirl_handler *h, int fd, off_t start, uint64_t len)
{
	struct sending *s;
	char buf[PIECE];
	ssize_t n;

	if (strcmp(whirl_handler_method(h), "HEAD") == 0 || len > SMALL) {
		whirl_handler_start(h, (int64_t)len);
		if (strcmp(whirl_handler_method(h), "HEAD") == 0)
			len = 0;
		s = whirl__xcalloc(1, sizeof(*s));
		s->h = h;
		s->fd = fd;
		s->off = start;
		s->left = len;
		pump(h, s);
		return;
	}
	while (len > 0) {
		n = pread(fd, buf, len < PIECE ? len : PIECE, start);
		if (n <= 0)
			break;
		whirl_handler_write(h, buf, (size_t)n);
		start += n;
		len -= (uint64_t)n;
	}
	close(fd);
	whirl_handler_finish(h);
}

/* If-Range: does the validator still name this version? */
static bool
if_range_ok(const char *v, const char *etag, time_t mtime)
{
	time_t t;

	if (v == NULL)
		return true;
	if (v[0] == '"')
		return strcmp(v, etag) == 0;
	if (v[0] == 'W' && v[1] == '/')
		return false;
	return whirl_http_date_parse(v, &t) == 0 && t == mtime;
}

static bool
not_modified(struct whirl_handler *h, const char *etag, time_t mtime)
{
	const char *inm = whirl_handler_header(h, "If-None-Match");
	const char *ims = whirl_handler_header(h, "If-Modified-Since");
	time_t t;

	if (inm != NULL)
		return whirl_etag_match(inm, etag);
	return ims != NULL && whirl_http_date_parse(ims, &t) == 0 &&
	    mtime <= t;
}

static void
serve_file(struct whirl_handler *h, int fd, const struct stat *sb,
    const char *name)
{
	char etag[64], date[32], range[96];
	const char *rv;
	uint64_t start = 0, len = (uint64_t)sb->st_size;
	int rc;

	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)sb->st_mtim.tv_sec * 1000000000ull +
	    (unsigned long long)sb->st_mtim.tv_nsec,
	    (unsigned long long)sb->st_size);
	whirl_handler_set_header(h, "Content-Type",
	    whirl_static_content_type(name));
	whirl_handler_set_header(h, "ETag", etag);
	whirl_handler_set_header(h, "Last-Modified",
	    whirl_http_date(sb->st_mtim.tv_sec, date));
	whirl_handler_set_header(h, "Accept-Ranges", "bytes");
	if (not_modified(h, etag, sb->st_mtim.tv_sec)) {
		close(fd);
		whirl_handler_set_status(h, 304);
		whirl_handler_finish(h);
		return;
	}
	rv = whirl_handler_header(h, "Range");
	if (rv != NULL && if_range_ok(whirl_handler_header(h, "If-Range"),
	    etag, sb->st_mtim.tv_sec)) {
		rc = whirl_http_range_parse(rv, len, &start, &len);
		if (rc == -1) {
			close(fd);
			snprintf(range, sizeof(range), "bytes */%llu",
			    (unsigned long long)sb->st_size);
			whirl_handler_set_header(h, "Content-Range", range);
			whirl_handler_send_error(h, 416);
			return;
		}
		if (rc == 1) {
			snprintf(range, sizeof(range), "bytes %llu-%llu/%llu",
			    (unsigned long long)start,
			    (unsigned long long)(start + len - 1),
			    (unsigned long long)sb->st_size);
			whirl_handler_set_header(h, "Content-Range", range);
			whirl_handler_set_status(h, 206);
		} else {
			start = 0;
			len = (uint64_t)sb->st_size;
		}
	}
	send_body(h, fd, (off_t)start, len);
}

struct entry {
	char *name;
	bool dir;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

static void
write_escaped(struct whirl_handler *h, const char *s, bool url)
{
	char *e = url ? whirl_url_escape(s, strlen(s), 0) :
	    whirl_html_escape(s, strlen(s));

	whirl_handler_write(h, e, strlen(e));
	free(e);
}

/* The directory's entries, sorted, names escaped for both the link and
 * the text; takes the fd. */
static void
listing(struct whirl_handler *h, int fd, const char *shown, bool top,
    bool dotfiles)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct entry *e = NULL;
	size_t n = 0, i;
	struct stat sb;

	if (d == NULL) {
		close(fd);
		whirl_handler_send_error(h, 500);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (de->d_name[0] == '.' && !dotfiles))
			continue;
		e = whirl__xrealloc(e, (n + 1) * sizeof(*e));
		e[n].name = whirl__xstrdup(de->d_name);
		e[n].dir = fstatat(dirfd(d), de->d_name, &sb, 0) == 0 &&
		    S_ISDIR(sb.st_mode);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(e, n, sizeof(*e), entry_cmp);
	whirl_handler_set_header(h, "Content-Type", "text/html; charset=utf-8");
	whirl_handler_printf(h, "<!DOCTYPE html>\n<html>\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>Index of ");
	write_escaped(h, shown, false);
	whirl_handler_printf(h, "</title>\n</head>\n<body>\n<h1>Index of ");
	write_escaped(h, shown, false);
	whirl_handler_printf(h, "</h1>\n<ul>\n");
	if (!top)
		whirl_handler_printf(h, "<li><a href=\"../\">../</a></li>\n");
	for (i = 0; i < n; i++) {
		whirl_handler_printf(h, "<li><a href=\"");
		write_escaped(h, e[i].name, true);
		whirl_handler_printf(h, "%s\">", e[i].dir ? "/" : "");
		write_escaped(h, e[i].name, false);
		whirl_handler_printf(h, "%s</a></li>\n", e[i].dir ? "/" : "");
		free(e[i].name);
	}
	free(e);
	whirl_handler_printf(h, "</ul>\n</body>\n</html>\n");
	whirl_handler_finish(h);
}

/* A directory: its index.html, else a listing or 403. */
static void
serve_dir(struct whirl_handler *h, struct whirl_static *st, int fd,
    const char *rel, size_t len)
{
	char *index = whirl__xmalloc(len + sizeof("/index.html"));
	const char *path = whirl_handler_path(h);
	int ifd, status;
	struct stat sb;
	char *shown;
	size_t plen = strlen(path);

	if (plen == 0 || path[plen - 1] != '/') {
		close(fd);
		free(index);
		redirect_slash(h);
		return;
	}
	memcpy(index, rel, len);
	strcpy(index + len, len > 0 && rel[len - 1] != '/' ? "/index.html" :
	    "index.html");
	ifd = whirl_static_open(st->rootfd, index, strlen(index),
	    st->o.dotfiles, &status);
	free(index);
	if (ifd >= 0 && fstat(ifd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		close(fd);
		serve_file(h, ifd, &sb, "index.html");
		return;
	}
	if (ifd >= 0)
		close(ifd);
	if (!st->o.listing) {
		close(fd);
		whirl_handler_send_error(h, 403);
		return;
	}
	shown = whirl__xmalloc(plen + 1);
	if (whirl_percent_decode(path, plen, shown, false) < 0)
		strcpy(shown, path);
	listing(h, fd, shown, len == 0, st->o.dotfiles);
	free(shown);
}

void
whirl_static_serve(struct whirl_handler *h, void *arg)
{
	struct whirl_static *st = arg;
	const char *method = whirl_handler_method(h), *rel = "";
	size_t len = 0;
	int fd, status;
	struct stat sb;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		whirl_handler_set_header(h, "Allow", "GET, HEAD");
		whirl_handler_send_error(h, 405);
		return;
	}
	if (st->file != NULL) {
		fd = open(st->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
		    O_NOCTTY);
		status = fd == -1 && errno == EACCES ? 403 : 404;
	} else {
		rel = whirl_handler_capture(h, 1, &len);
		if (rel == NULL)
			rel = "";
		fd = whirl_static_open(st->rootfd, rel, len, st->o.dotfiles,
		    &status);
	}
	if (fd == -1) {
		whirl_handler_send_error(h, status);
		return;
	}
	if (fstat(fd, &sb) == -1) {
		close(fd);
		whirl_handler_send_error(h, 500);
		return;
	}
	if (S_ISDIR(sb.st_mode) && st->file == NULL) {
		serve_dir(h, st, fd, rel, len);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		whirl_handler_send_error(h, 403);
		return;
	}
	serve_file(h, fd, &sb, st->file != NULL ? st->file : rel);
}
