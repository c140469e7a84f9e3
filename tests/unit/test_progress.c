/* test_progress.c - wget-style lines, and the screen a meter draws. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "unit.h"

static const char *
line(int width, const char *name, uint64_t bytes, int64_t total,
    double rate, double secs, bool done)
{
	static char buf[512];
	struct whirl_progress_state st = { name, bytes, total, rate, secs,
		done };

	whirl_progress_format(buf, sizeof(buf), width, &st);
	return buf;
}

TEST(lines)
{
	CHECK_EQ_STR(line(79, "rand.bin", 138240, 307200, 1.2 * 1048576, 0.2,
	    false), "rand.bin            45%[=========>              ]"
	    " 135.00K  1.20MB/s  eta 0s");
	CHECK_EQ_STR(line(79, "hello.txt", 17408, 17408, 870400, 0.1, true),
	    "hello.txt          100%[=======================>]  17.00K"
	    "   850KB/s  in 0.1s");
	CHECK_EQ_STR(line(79, "x", 0, 1000, -1, 0, false),
	    "x                    0%[                        ]       0"
	    "  --.-KB/s");
	CHECK_EQ_STR(line(79, "f", 500, 10000, 50, 10, false),
	    "f                    5%[>                       ]     500"
	    "   50.0B/s  eta 3m 10s");
	/* Unknown size: "<=>" moves with time. */
	CHECK_EQ_STR(line(79, "stream", 2048, -1, 1024, 0, false),
	    "stream                 [<=>                     ]   2.00K"
	    "  1.00KB/s");
	CHECK_EQ_STR(line(79, "stream", 2048, -1, 1024, 1, false),
	    "stream                 [        <=>             ]   2.00K"
	    "  1.00KB/s");
	CHECK_EQ_STR(line(79, "stream", 3 << 20, -1, 2 << 20, 75, true),
	    "stream             100%[=======================>]   3.00M"
	    "  2.00MB/s  in 1m 15s");
	/* A long name is cut; a narrow terminal loses the bar. */
	CHECK_EQ_STR(line(79, "a-very-long-file-name.tar.gz", 1, 2, 1, 1,
	    false), "a-very-long-fil...  50%[===========>            ]"
	    "       1   1.00B/s  eta 1s");
	CHECK_EQ_STR(line(40, "name", 5ULL << 30, 10LL << 30, 1e9, 5, false),
	    "name       50%   5.00G   954MB/s  eta 5s");
	CHECK_EQ_STR(line(79, "big", 3ULL << 40, 6LL << 40, 0, 3600, false),
	    "big                 50%[===========>            ]   3.00T"
	    "  --.-KB/s");
	CHECK_EQ_STR(line(79, "slow", 1, 100, 0.01, 3600, false),
	    "slow                 1%[                        ]       1"
	    "   0.01B/s  eta 2h 45m");
	CHECK(strlen(line(20, "name", 5, 10, 1, 1, false)) <= 20);
	CHECK(strlen(line(200, "n", 5, 10, 1, 1, true)) <= 200);
	CHECK(strlen(line(200, "n", 5, 10, 1, 1, true)) > 150);
}

/* What the meter wrote to the pipe since the last call. */
static char *
drain(int fd)
{
	static char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

TEST(screen)
{
	int fds[2];
	struct whirl_progress *p;
	struct whirl_progress_bar *a, *b, *quick;

	CHECK(pipe2(fds, O_NONBLOCK) == 0);
	p = whirl_progress_new(fds[1], 60, 10);
	a = whirl_progress_add(p, "a", 0);
	quick = whirl_progress_add(p, "quick", 0);
	whirl_progress_set_total(a, 100);
	/* Nothing before a moment has passed; a quick one never shows. */
	whirl_progress_draw(p, 0.1);
	CHECK_EQ_STR(drain(fds[0]), "");
	whirl_progress_update(quick, 10);
	whirl_progress_end(quick, 0.2);
	whirl_progress_update(a, 50);
	whirl_progress_draw(p, 1.0);
	CHECK_EQ_STR(drain(fds[0]),
	    "a              50%[===>     ]      50   50.0B/s  eta 1s"
	    "\033[K\n\033[J");
	b = whirl_progress_add(p, "b", 1.0);
	whirl_progress_draw(p, 1.6);
	/* a is stalled, b has not a byte. */
	CHECK_EQ_STR(drain(fds[0]), "\r\033[1A"
	    "a              50%[===>     ]      50  --.-KB/s"
	    "\033[K\n"
	    "b                 [    <=>  ]       0  --.-KB/s"
	    "\033[K\n\033[J");
	/* An ended bar is written once above the live ones. */
	whirl_progress_update(a, 100);
	whirl_progress_end(a, 2.0);
	whirl_progress_draw(p, 2.0);
	CHECK_EQ_STR(drain(fds[0]), "\r\033[2A"
	    "a             100%[========>]     100   50.0B/s  in 2.0s"
	    "\033[K\n"
	    "b                 [    <=>  ]       0  --.-KB/s"
	    "\033[K\n\033[J");
	/* Then only the live one. */
	whirl_progress_update(b, 2048);
	whirl_progress_draw(p, 3.0);
	CHECK_EQ_STR(drain(fds[0]), "\r\033[1A"
	    "b                 [    <=>  ]   2.00K  1.43KB/s"
	    "\033[K\n\033[J");
	whirl_progress_clear(p);
	CHECK_EQ_STR(drain(fds[0]), "\r\033[1A\033[J");
	whirl_progress_clear(p);
	CHECK_EQ_STR(drain(fds[0]), "");
	whirl_progress_free(p);
	(void)b;
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	RUN(lines);
	RUN(screen);
	return unit_done();
}
