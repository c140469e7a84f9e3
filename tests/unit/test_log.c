/* test_log.c - Tornado's line format, colour on a terminal and NO_COLOR,
 * the threshold, the two destinations, one write per line. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "unit.h"

/* 2026-11-28 12:00:00 UTC; the tests run with TZ=UTC. */
#define T0 ((time_t)1795867200)

static time_t
fixed_clock(void)
{
	return T0;
}

/* Everything readable on fd now (the writes are done before we read). */
static const char *
drain(int fd)
{
	static char buf[65536];
	size_t used = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (used < sizeof(buf) - 1 && poll(&p, 1, 0) == 1) {
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	return buf;
}

/* Exactly want from fd, waiting up to 10 s for it to arrive. */
static void
expect_fd(int fd, const char *want)
{
	static char buf[4096];
	size_t used = 0, len = strlen(want);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (used < len && poll(&p, 1, 10000) == 1) {
		n = read(fd, buf + used, len - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	CHECK_EQ_STR(buf, want);
}

TEST(format)
{
	static const struct {
		enum whirl_log_level level;
		const char *module;
		int line;
		bool color;
		const char *msg, *want;
	} cases[] = {
		{ WHIRL_LOG_INFO, "web", 2239, false,
		    "200 GET / (127.0.0.1) 0.45ms",
		    "[I 261128 12:00:00 web:2239] 200 GET / (127.0.0.1) "
		    "0.45ms\n" },
		{ WHIRL_LOG_DEBUG, "httpserver", 7, false, "x",
		    "[D 261128 12:00:00 httpserver:7] x\n" },
		{ WHIRL_LOG_WARNING, "web", 1, false, "404 GET /nope",
		    "[W 261128 12:00:00 web:1] 404 GET /nope\n" },
		{ WHIRL_LOG_ERROR, "whirl-serve", 42, false, "",
		    "[E 261128 12:00:00 whirl-serve:42] \n" },
		{ WHIRL_LOG_DEBUG, "m", 1, true, "blue",
		    "\033[34m[D 261128 12:00:00 m:1]\033[0m blue\n" },
		{ WHIRL_LOG_INFO, "m", 1, true, "green",
		    "\033[32m[I 261128 12:00:00 m:1]\033[0m green\n" },
		{ WHIRL_LOG_WARNING, "m", 1, true, "yellow",
		    "\033[33m[W 261128 12:00:00 m:1]\033[0m yellow\n" },
		{ WHIRL_LOG_ERROR, "m", 1, true, "red",
		    "\033[31m[E 261128 12:00:00 m:1]\033[0m red\n" },
		/* Later lines indented; trailing newlines dropped. */
		{ WHIRL_LOG_ERROR, "m", 1, false, "one\ntwo\n\n",
		    "[E 261128 12:00:00 m:1] one\n    two\n" },
		{ WHIRL_LOG_INFO, "m", 1, false, "a\n\nb\r\n",
		    "[I 261128 12:00:00 m:1] a\n    \n    b\n" },
		/* Forged entries and terminal codes are defused. */
		{ WHIRL_LOG_INFO, "m", 1, false,
		    "GET /x\n[E 261128 12:00:00 web:1] forged",
		    "[I 261128 12:00:00 m:1] GET /x\n    [E 261128 12:00:00 "
		    "web:1] forged\n" },
		{ WHIRL_LOG_INFO, "m", 1, false, "a\033[31mb\rc\x7f\td\x01",
		    "[I 261128 12:00:00 m:1] a?[31mb?c?\td?\n" },
		{ WHIRL_LOG_INFO, "m", 1, false, "caf\xc3\xa9",
		    "[I 261128 12:00:00 m:1] caf\xc3\xa9\n" },
	};
	char buf[512];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = whirl_log_format(buf, sizeof(buf), cases[i].level,
		    cases[i].module, cases[i].line, T0, cases[i].color,
		    cases[i].msg);
		CHECK_EQ_STR(buf, cases[i].want);
		CHECK_EQ_INT(n, strlen(cases[i].want));
	}
	/* Other times of day and years. */
	whirl_log_format(buf, sizeof(buf), WHIRL_LOG_INFO, "m", 1,
	    T0 - 12 * 3600 - 1, false, "x");
	CHECK_EQ_STR(buf, "[I 261127 23:59:59 m:1] x\n");
	whirl_log_format(buf, sizeof(buf), WHIRL_LOG_INFO, "m", 1,
	    946684800 + 3723, false, "x");
	CHECK_EQ_STR(buf, "[I 000101 01:02:03 m:1] x\n");
}

TEST(format_truncates)
{
	char buf[16];
	size_t n;

	memset(buf, 'x', sizeof(buf));
	n = whirl_log_format(buf, sizeof(buf), WHIRL_LOG_INFO, "web", 2239,
	    T0, false, "hello");
	CHECK_EQ_INT(n, strlen("[I 261128 12:00:00 web:2239] hello\n"));
	CHECK_EQ_STR(buf, "[I 261128 12:00");
	n = whirl_log_format(NULL, 0, WHIRL_LOG_INFO, "web", 2239, T0,
	    true, "hello");
	CHECK_EQ_INT(n, 5 + strlen("[I 261128 12:00:00 web:2239]") + 4 +
	    strlen(" hello\n"));
}

TEST(write_to_fd)
{
	int p[2], line, calls = 0;

	CHECK_EQ_INT(pipe(p), 0);
	whirl_log_set_fd(p[1]);
	whirl_log_set_clock(fixed_clock);
	line = __LINE__ + 1;
	whirl_log_info("hello %d %s", 5, "world");
	whirl_log_warning("w");
	whirl_log_error("e\nf");
	whirl_log_debug("not shown %d", ++calls);
	{
		char want[512];

		snprintf(want, sizeof(want),
		    "[I 261128 12:00:00 test_log:%d] hello 5 world\n"
		    "[W 261128 12:00:00 test_log:%d] w\n"
		    "[E 261128 12:00:00 test_log:%d] e\n    f\n",
		    line, line + 1, line + 2);
		CHECK_EQ_STR(drain(p[0]), want);
	}
	/* Below the threshold the arguments are not even evaluated. */
	CHECK_EQ_INT(calls, 0);
	CHECK_EQ_INT(whirl_log_get_level(), WHIRL_LOG_INFO);
	CHECK(!whirl_log_enabled(WHIRL_LOG_DEBUG));
	CHECK(whirl_log_enabled(WHIRL_LOG_INFO));

	whirl_log_set_level(WHIRL_LOG_DEBUG);
	line = __LINE__ + 1;
	whirl_log_debug("shown %d", ++calls);
	CHECK_EQ_INT(calls, 1);
	{
		char want[128];

		snprintf(want, sizeof(want),
		    "[D 261128 12:00:00 test_log:%d] shown 1\n", line);
		CHECK_EQ_STR(drain(p[0]), want);
	}
	whirl_log_set_level(WHIRL_LOG_ERROR);
	whirl_log_warning("no");
	whirl_log_at(WHIRL_LOG_INFO, "x.c", 1, "no");
	line = __LINE__ + 1;
	whirl_log_error("yes");
	{
		char want[128];

		snprintf(want, sizeof(want),
		    "[E 261128 12:00:00 test_log:%d] yes\n", line);
		CHECK_EQ_STR(drain(p[0]), want);
	}
	whirl_log_set_level(WHIRL_LOG_OFF);
	whirl_log_error("no");
	CHECK(!whirl_log_enabled(WHIRL_LOG_ERROR));
	CHECK_EQ_STR(drain(p[0]), "");
	whirl_log_set_level(WHIRL_LOG_INFO);

	/* The module is the file's name without directory or extension. */
	whirl_log_at(WHIRL_LOG_INFO, "lib/web.c", 2239, "a%s", "b");
	whirl_log_at(WHIRL_LOG_INFO, "cmd/whirl-serve.c", 3, "c");
	whirl_log_at(WHIRL_LOG_INFO, "plain", 4, "d");
	whirl_log_at(WHIRL_LOG_INFO, "/a.b/c.d.c", 5, "e");
	CHECK_EQ_STR(drain(p[0]),
	    "[I 261128 12:00:00 web:2239] ab\n"
	    "[I 261128 12:00:00 whirl-serve:3] c\n"
	    "[I 261128 12:00:00 plain:4] d\n"
	    "[I 261128 12:00:00 c.d:5] e\n");

	/* errno survives logging. */
	errno = EPIPE;
	whirl_log_info("x");
	CHECK_EQ_INT(errno, EPIPE);
	drain(p[0]);

	whirl_log_set_fd(2);
	whirl_log_set_clock(NULL);
	close(p[0]);
	close(p[1]);
}

/* A line far longer than the stack buffers still goes out whole, in
 * one write. */
TEST(long_line)
{
	enum { N = 20000 };
	char *msg = malloc(N + 1), *want = malloc(N + 64), *got;
	int p[2];
	size_t used = 0;
	ssize_t n;

	CHECK_EQ_INT(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 1 << 16);
	memset(msg, 'z', N);
	msg[N] = '\0';
	snprintf(want, N + 64, "[W 261128 12:00:00 big:9] %s\n", msg);
	whirl_log_set_fd(p[1]);
	whirl_log_set_clock(fixed_clock);
	whirl_log_at(WHIRL_LOG_WARNING, "big.c", 9, "%s", msg);
	got = malloc(N + 64);
	while (used < strlen(want) &&
	    (n = read(p[0], got + used, N + 63 - used)) > 0)
		used += (size_t)n;
	got[used] = '\0';
	CHECK_EQ_INT(used, strlen(want));
	CHECK_EQ_STR(got, want);
	whirl_log_set_fd(2);
	whirl_log_set_clock(NULL);
	close(p[0]);
	close(p[1]);
	free(msg);
	free(want);
	free(got);
}

TEST(access_log)
{
	char path[] = "/tmp/whirl-log-XXXXXX", want[256];
	int gen[2], acc[2], fd, line;

	CHECK_EQ_INT(pipe(gen), 0);
	CHECK_EQ_INT(pipe(acc), 0);
	whirl_log_set_fd(gen[1]);
	whirl_log_set_clock(fixed_clock);

	/* By default the access log is the general log. */
	line = __LINE__ + 1;
	whirl_log_access(WHIRL_LOG_INFO, "200 GET / (%s) %.2fms",
	    "127.0.0.1", 0.45);
	snprintf(want, sizeof(want), "[I 261128 12:00:00 test_log:%d] "
	    "200 GET / (127.0.0.1) 0.45ms\n", line);
	CHECK_EQ_STR(drain(gen[0]), want);
	whirl_log_access_write("raw line\n", 9);
	CHECK_EQ_STR(drain(gen[0]), "raw line\n");

	/* Its own fd. */
	whirl_log_set_access_fd(acc[1]);
	whirl_log_access_at(WHIRL_LOG_ERROR, "lib/web.c", 10, "500 GET /");
	whirl_log_access_write("{\"status\":200}\n", 15);
	line = __LINE__ + 1;
	whirl_log_info("general");
	CHECK_EQ_STR(drain(acc[0]), "[E 261128 12:00:00 web:10] 500 GET /\n"
	    "{\"status\":200}\n");
	snprintf(want, sizeof(want),
	    "[I 261128 12:00:00 test_log:%d] general\n", line);
	CHECK_EQ_STR(drain(gen[0]), want);

	/* Off (-q): nothing, not even raw lines. */
	whirl_log_set_access_fd(-1);
	CHECK(!whirl_log_access_enabled(WHIRL_LOG_ERROR));
	whirl_log_access(WHIRL_LOG_ERROR, "nothing");
	whirl_log_access_write("nothing\n", 8);
	CHECK_EQ_STR(drain(acc[0]), "");
	CHECK_EQ_STR(drain(gen[0]), "");

	/* A file, appended to. */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "old\n", 4), 4);
	close(fd);
	CHECK_EQ_INT(whirl_log_open_access(path), 0);
	whirl_log_access_at(WHIRL_LOG_WARNING, "web.c", 7, "404 GET /x");
	CHECK_EQ_INT(whirl_log_open_access("/nonexistent/dir/log"), -1);
	CHECK_EQ_STR(whirl_error(),
	    "open /nonexistent/dir/log: No such file or directory");
	/* ...and the file is still the access log after the failure. */
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 8, "200 GET /");
	whirl_log_set_access_fd(WHIRL_LOG_SAME);
	fd = open(path, O_RDONLY);
	CHECK_EQ_STR(drain(fd), "old\n"
	    "[W 261128 12:00:00 web:7] 404 GET /x\n"
	    "[I 261128 12:00:00 web:8] 200 GET /\n");
	close(fd);
	unlink(path);

	whirl_log_set_fd(2);
	whirl_log_set_clock(NULL);
	close(gen[0]);
	close(gen[1]);
	close(acc[0]);
	close(acc[1]);
}

/* logrotate moves the file away; reopening starts a new one under the
 * old name, and a failed reopen keeps writing to the moved one. */
TEST(access_log_reopened)
{
	char path[] = "/tmp/whirl-log-XXXXXX", moved[64];
	int fd;

	whirl_log_set_clock(fixed_clock);
	CHECK_EQ_INT(whirl_log_reopen_access(), 0);     /* no path: no-op */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	snprintf(moved, sizeof(moved), "%s.1", path);
	CHECK_EQ_INT(whirl_log_open_access(path), 0);
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 1, "before");
	CHECK_EQ_INT(rename(path, moved), 0);
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 2, "moved");
	CHECK_EQ_INT(whirl_log_reopen_access(), 0);
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 3, "after");

	fd = open(moved, O_RDONLY);
	CHECK_EQ_STR(drain(fd), "[I 261128 12:00:00 web:1] before\n"
	    "[I 261128 12:00:00 web:2] moved\n");
	close(fd);
	fd = open(path, O_RDONLY);
	CHECK_EQ_STR(drain(fd), "[I 261128 12:00:00 web:3] after\n");
	close(fd);

	/* An fd given later forgets the path. */
	whirl_log_set_access_fd(WHIRL_LOG_SAME);
	unlink(path);
	CHECK_EQ_INT(whirl_log_reopen_access(), 0);
	CHECK_EQ_INT(access(path, F_OK), -1);
	unlink(moved);
	whirl_log_set_clock(NULL);
}

/* A pseudo-terminal in raw mode, so that what the log writes is what
 * the master reads. */
static int
open_pty(int *slave)
{
	struct termios t;
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	CHECK(master >= 0);
	CHECK_EQ_INT(grantpt(master), 0);
	CHECK_EQ_INT(unlockpt(master), 0);
	*slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	CHECK(*slave >= 0);
	CHECK_EQ_INT(tcgetattr(*slave, &t), 0);
	cfmakeraw(&t);
	CHECK_EQ_INT(tcsetattr(*slave, TCSANOW, &t), 0);
	return master;
}

TEST(color_on_tty)
{
	int master, slave, p[2];

	master = open_pty(&slave);
	CHECK_EQ_INT(pipe(p), 0);
	whirl_log_set_clock(fixed_clock);
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);

	whirl_log_set_fd(slave);
	whirl_log_at(WHIRL_LOG_WARNING, "web.c", 1, "tty");
	expect_fd(master,
	    "\033[33m[W 261128 12:00:00 web:1]\033[0m tty\n");

	/* NO_COLOR set to anything non-empty turns it off... */
	setenv("NO_COLOR", "1", 1);
	whirl_log_set_fd(slave);
	whirl_log_at(WHIRL_LOG_WARNING, "web.c", 2, "plain");
	expect_fd(master, "[W 261128 12:00:00 web:2] plain\n");

	/* ...an empty NO_COLOR does not (no-color.org). */
	setenv("NO_COLOR", "", 1);
	whirl_log_set_fd(slave);
	whirl_log_at(WHIRL_LOG_ERROR, "web.c", 3, "red");
	expect_fd(master, "\033[31m[E 261128 12:00:00 web:3]\033[0m red\n");

	/* A dumb terminal gets none. */
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	whirl_log_set_fd(slave);
	whirl_log_at(WHIRL_LOG_INFO, "web.c", 4, "dumb");
	expect_fd(master, "[I 261128 12:00:00 web:4] dumb\n");
	setenv("TERM", "xterm", 1);

	/* The access log decides for its own fd: a pipe is never coloured,
	 * the terminal is. */
	whirl_log_set_fd(slave);
	whirl_log_set_access_fd(p[1]);
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 5, "pipe");
	CHECK_EQ_STR(drain(p[0]), "[I 261128 12:00:00 web:5] pipe\n");
	whirl_log_set_access_fd(slave);
	whirl_log_access_at(WHIRL_LOG_INFO, "web.c", 6, "tty");
	expect_fd(master, "\033[32m[I 261128 12:00:00 web:6]\033[0m tty\n");

	whirl_log_set_access_fd(WHIRL_LOG_SAME);
	whirl_log_set_fd(2);
	whirl_log_set_clock(NULL);
	close(slave);
	close(master);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	RUN(format);
	RUN(format_truncates);
	RUN(write_to_fd);
	RUN(long_line);
	RUN(access_log);
	RUN(access_log_reopened);
	RUN(color_on_tty);
	return unit_done();
}
