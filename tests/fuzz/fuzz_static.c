/* fuzz_static.c - static-path resolution (static.h): whatever a URL
 * decodes to, a file is opened only beneath the root.
 *
 * A temporary tree is made once: files, dotfiles, a FIFO, directories,
 * and symbolic links of every sort (inside, outside, absolute, to "..",
 * chained, looping).  Each input is a path relative to the root, as
 * static.c would get it from a decoded capture (it may hold NUL or any
 * byte).  The first byte's bit 0 is the dotfiles option.
 *
 * Properties checked:
 *   - a descriptor returned names the root or something beneath it (its
 *     /proc/self/fd link), never a dotfile or a dot directory without
 *     dotfiles, never for a path holding NUL or a ".." component;
 *   - a refusal is 403 or 404: no path a client can send earns a 500;
 *   - the fallback walk used where openat2(2) is missing (open_walk,
 *     reached by including static.c) agrees: anything it opens, openat2
 *     opens too (the same inode), and where openat2 opens and it does
 *     not, a symbolic link is the reason (the walk follows none).
 */
#include "static.c"              /* lib/, through -Ilib */

#include <limits.h>
#include <sys/stat.h>

#include "fuzz.h"

static char root[64], real_root[PATH_MAX];
static int rootfd = -1;

static void
put(const char *kind, const char *rel, const char *arg)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	switch (kind[0]) {
	case 'f':
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		FUZZ_CHECK(fd >= 0);
		FUZZ_CHECK(write(fd, arg, strlen(arg)) == (ssize_t)strlen(arg));
		close(fd);
		break;
	case 'd':
		FUZZ_CHECK(mkdir(path, 0755) == 0);
		break;
	case 'l':
		FUZZ_CHECK(symlink(arg, path) == 0);
		break;
	case 'p':
		FUZZ_CHECK(mkfifo(path, 0644) == 0);
		break;
	}
}

static void
teardown(void)
{
	close(rootfd);
	fuzz_rm_tree(root);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "/tmp/whirl-fuzz-static-XXXXXX");
	FUZZ_CHECK(mkdtemp(root) != NULL);
	FUZZ_CHECK(realpath(root, real_root) != NULL);
	put("f", "a.txt", "a\n");
	put("f", "index.html", "<p>\n");
	put("f", "sp ace", "s\n");
	put("f", ".hidden", "h\n");
	put("f", "..dots", "d\n");
	put("f", "trailing.", "t\n");
	put("p", "fifo", NULL);
	put("d", "sub", NULL);
	put("f", "sub/b.css", "b\n");
	put("d", "sub/deeper", NULL);
	put("f", "sub/deeper/c.js", "c\n");
	put("d", ".git", NULL);
	put("f", ".git/config", "x\n");
	put("d", "sub/.dot", NULL);
	put("f", "sub/.dot/f", "x\n");
	put("l", "in", "a.txt");
	put("l", "in-dir", "sub");
	put("l", "sub/up", "../a.txt");
	put("l", "sub/upup", "../..");
	put("l", "out-abs", "/etc/passwd");
	put("l", "out-rel", "../../etc/passwd");
	put("l", "root-abs", "/");
	put("l", "chain1", "chain2");
	put("l", "chain2", "in");
	put("l", "loop1", "loop2");
	put("l", "loop2", "loop1");
	put("l", "self", "self");
	put("l", "dangling", "nowhere");
	put("l", "proc", "/proc/self/cwd");
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(rootfd >= 0);
	atexit(teardown);
	return 0;
}

/* The path fd names, from /proc. */
static void
fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	FUZZ_CHECK(n > 0);
	buf[n] = '\0';
}

static bool
has_dot_component(const char *rel)
{
	const char *p = rel;

	for (;;) {
		if (p[0] == '.' && p[1] != '/' && p[1] != '\0')
			return true;
		if ((p = strchr(p, '/')) == NULL)
			return false;
		p++;
	}
}

static bool
has_dotdot_component(const char *rel, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i <= len; i++)
		if (i == len || rel[i] == '/') {
			if (i - start == 2 && rel[start] == '.' &&
			    rel[start + 1] == '.')
				return true;
			start = i + 1;
		}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	bool dotfiles = fuzz_byte(&in) & 1;
	char *rel = fuzz_strdup(in), path[PATH_MAX];
	size_t len = in.n, rl = strlen(real_root);
	struct stat a, b;
	int fd, wfd, status = 0, werr;

	whirl_static_content_type(rel);
	fd = whirl_static_open(rootfd, rel, len, dotfiles, &status);
	if (fd < 0) {
		FUZZ_CHECK(status == 403 || status == 404);
	} else {
		FUZZ_CHECK(memchr(rel, '\0', len) == NULL);
		FUZZ_CHECK(!has_dotdot_component(rel, len));
		fd_path(fd, path, sizeof(path));
		FUZZ_CHECK(strncmp(path, real_root, rl) == 0 &&
		    (path[rl] == '\0' || path[rl] == '/'));
		if (!dotfiles) {
			FUZZ_CHECK(!has_dot_component(rel));
			FUZZ_CHECK(!has_dot_component(path + rl +
			    (path[rl] == '/')));
		}
	}
	if (precheck(rel, len, dotfiles) == 0) {
		errno = 0;
		wfd = open_walk(rootfd, rel);
		werr = errno;
		if (wfd >= 0) {
			if (fd < 0)
				fprintf(stderr, "open_walk opens '%s', openat2 "
				    "does not (%d)\n", rel, status);
			FUZZ_CHECK(fd >= 0);
			FUZZ_CHECK(fstat(fd, &a) == 0 && fstat(wfd, &b) == 0);
			FUZZ_CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
			close(wfd);
		} else if (fd >= 0) {
			/* O_NOFOLLOW meets a link: ELOOP, or ENOTDIR
			 * where a directory was wanted. */
			FUZZ_CHECK(werr == ELOOP || werr == ENOTDIR);
		}
	}
	if (fd >= 0)
		close(fd);
	free(rel);
	return 0;
}
