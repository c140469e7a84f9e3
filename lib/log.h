/* log.h - log lines in Tornado's format, with levels and colour.
 *
 * A line is Tornado's LogFormatter line:
 *
 *     [I 261128 12:00:00 web:2239] 200 GET / (127.0.0.1) 0.45ms
 *
 * the level's letter (D, I, W, E), the local date (yymmdd) and time, the
 * module (the source file's name without directory or extension) and the
 * line number of the call, then the message.  A message spanning several
 * lines has its later lines indented by four spaces (as Tornado does), so
 * every line that starts with '[' starts an entry; trailing newlines are
 * dropped, and other control characters except tab are shown as '?', so
 * text from the network can neither forge an entry nor drive the
 * terminal.
 *
 * Two destinations: the general log (stderr by default) and the access
 * log, which the web layer writes one line per request to (by default the
 * general log's destination; a file with --access-log; off with -q).  On
 * a terminal, and unless NO_COLOR is set to something or TERM is "dumb",
 * the bracketed prefix is coloured: D blue, I green, W yellow, E red.
 * Each line goes out in one write(2), so processes sharing a file or a
 * terminal never interleave within a line.  Lines below the threshold
 * (whirl_log_set_level) cost one comparison: the macros test the level
 * before their arguments are evaluated.
 *
 * Ownership: the log borrows fds given to it; an access log opened by
 * whirl_log_open_access is the log's own and is closed when replaced.
 * State is process-wide and meant for the loop's thread.
 */
#ifndef WHIRL_LOG_H
#define WHIRL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum whirl_log_level {
	WHIRL_LOG_DEBUG,
	WHIRL_LOG_INFO,
	WHIRL_LOG_WARNING,
	WHIRL_LOG_ERROR,
	WHIRL_LOG_OFF           /* as a threshold: no line at all */
};

/*
 * Writing.  The macros record the calling file and line:
 *     whirl_log_info("listening on %s", url);
 *     whirl_log_access(WHIRL_LOG_WARNING, "%d %s %s", 404, "GET", path);
 */
#define whirl_log_debug(...)   whirl__log(WHIRL_LOG_DEBUG, __VA_ARGS__)
#define whirl_log_info(...)    whirl__log(WHIRL_LOG_INFO, __VA_ARGS__)
#define whirl_log_warning(...) whirl__log(WHIRL_LOG_WARNING, __VA_ARGS__)
#define whirl_log_error(...)   whirl__log(WHIRL_LOG_ERROR, __VA_ARGS__)
#define whirl_log_access(level, ...)                                      \
	do {                                                              \
		if (whirl_log_access_enabled(level))                      \
			whirl_log_access_at((level), __FILE__, __LINE__,  \
			    __VA_ARGS__);                                 \
	} while (0)

#define whirl__log(level, ...)                                            \
	do {                                                              \
		if (whirl_log_enabled(level))                             \
			whirl_log_at((level), __FILE__, __LINE__,         \
			    __VA_ARGS__);                                 \
	} while (0)

/* One line to the general log, as the macros write it; file is a path
 * ("lib/web.c" shows as "web").  The level is checked again here. */
void whirl_log_at(enum whirl_log_level level, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void whirl_log_vat(enum whirl_log_level level, const char *file, int line,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* The same to the access log. */
void whirl_log_access_at(enum whirl_log_level level, const char *file,
    int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A line already formatted in another shape (--log-format combined or
 * json) to the access log, as is, in one write; len counts its '\n'. */
void whirl_log_access_write(const char *line, size_t len);

/* Would a line of this level be written (to the general log; to the
 * access log)? */
bool whirl_log_enabled(enum whirl_log_level level);
bool whirl_log_access_enabled(enum whirl_log_level level);

/*
 * Configuration.
 */

/* Lines below level are dropped; the default is WHIRL_LOG_INFO. */
void whirl_log_set_level(enum whirl_log_level level);
enum whirl_log_level whirl_log_get_level(void);
/* The general log's fd (default 2), borrowed.  Colour is decided here
 * from the fd and the environment, so call it again after changing
 * NO_COLOR. */
void whirl_log_set_fd(int fd);
/* The access log's fd, borrowed: -1 turns the access log off, and
 * WHIRL_LOG_SAME (the default) follows the general log. */
#define WHIRL_LOG_SAME (-2)
void whirl_log_set_access_fd(int fd);
/* Open path for appending (created 0644 if absent) as the access log.
 * 0, or -1 with whirl_error() ("open /x/log: Permission denied"), leaving
 * the access log as it was. */
int whirl_log_open_access(const char *path);
/* Open the access log's path again (after logrotate moved the file);
 * 0 when no path was opened.  On failure the old file stays in use. */
int whirl_log_reopen_access(void);

/*
 * Formatting, for tests and other sinks.
 */

/* Tornado's line for msg (with its '\n'), as the log would write it at
 * time t (local time), coloured or not, into buf as snprintf does:
 * returns the length of the whole line; at most size - 1 bytes and a NUL
 * are written. */
size_t whirl_log_format(char *buf, size_t size, enum whirl_log_level level,
    const char *module, int line, time_t t, bool color, const char *msg);
/* The clock the log reads (time(2) by default; NULL restores it). */
void whirl_log_set_clock(time_t (*now)(void));

#endif
