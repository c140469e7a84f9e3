/* static.h - files and directories served to web handlers, as Tornado's
 * StaticFileHandler serves them, with no way out of the root.
 *
 * A whirl_static serves either one file or a directory tree.  For a tree,
 * the route's group 1 is the path under the root (percent-decoded, as
 * Tornado passes it); an empty path means the root's index.html.  Paths
 * are opened with openat2(2) from a descriptor of the root, with
 * RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS: "..", absolute paths and
 * symbolic links that lead outside are refused by the kernel (403), and a
 * path holding a NUL byte cannot name a file (404).  Names starting with
 * '.' are not served (404) unless dotfiles is set.
 *
 * Responses: Content-Type from the name's extension (text types with
 * "; charset=utf-8"), ETag (from the inode, size and modification time)
 * and Last-Modified, 304 for a matching If-None-Match (or, without one,
 * an If-Modified-Since not older than the file), Accept-Ranges and one
 * byte range (206; 416 when it cannot be satisfied; If-Range honoured).
 * A directory asked for without its trailing slash is redirected (301);
 * with it, its index.html is served, else a listing (if enabled, names
 * escaped) or 403.  Only GET and HEAD are answered (405 otherwise).
 * Large files are read in pieces as the client takes them.
 *
 * Ownership: whirl_static_new_* return an object the caller frees with
 * whirl_static_free after the last handler using it finished; it holds an
 * open descriptor of the root.
 */
#ifndef WHIRL_STATIC_H
#define WHIRL_STATIC_H

#include <stdbool.h>
#include <stddef.h>

struct whirl_handler;
struct whirl_static;

struct whirl_static_opts {
	bool dotfiles;          /* serve names starting with '.' */
	bool listing;           /* list directories without index.html */
};

/* A directory tree; the root must exist.  NULL with whirl_error()
 * ("dir:./public: No such file or directory"). */
struct whirl_static *whirl_static_new_dir(const char *root,
    const struct whirl_static_opts *opts);
/* One file, opened at each request (it may come and go). */
struct whirl_static *whirl_static_new_file(const char *path);
void whirl_static_free(struct whirl_static *st);

/* A whirl_handler_cb: arg is the whirl_static. */
void whirl_static_serve(struct whirl_handler *h, void *arg);

/* Resolve rel (len bytes, as decoded from the URL) under rootfd and open
 * it read-only.  Returns the fd, or -1 with *status: 403 for a way out
 * of the root (a ".." component, an absolute path, a symbolic link
 * leading outside), 404 for no such file, a NUL byte or a name starting
 * with '.' (without dotfiles), 500 for anything else. */
int whirl_static_open(int rootfd, const char *rel, size_t len,
    bool dotfiles, int *status);

/* The Content-Type for a file name ("a.html": "text/html; charset=utf-8",
 * unknown: "application/octet-stream"). */
const char *whirl_static_content_type(const char *name);

#endif
