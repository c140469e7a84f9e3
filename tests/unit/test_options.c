/* test_options.c - seconds, sizes, numbers and @files from a command
 * line. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

TEST(seconds_round_up_to_milliseconds)
{
	uint64_t ms = 7;

	CHECK_EQ_INT(whirl_parse_seconds("2", 0, 60, &ms), 0);
	CHECK(ms == 2000);
	CHECK_EQ_INT(whirl_parse_seconds("0.5", 0, 60, &ms), 0);
	CHECK(ms == 500);
	CHECK_EQ_INT(whirl_parse_seconds("0.0001", 0, 60, &ms), 0);
	CHECK(ms == 1);
	CHECK_EQ_INT(whirl_parse_seconds("1.0004", 0, 60, &ms), 0);
	CHECK(ms == 1001);
	CHECK_EQ_INT(whirl_parse_seconds("0", 0, 60, &ms), 0);
	CHECK(ms == 0);
	ms = 7;
	CHECK_EQ_INT(whirl_parse_seconds("61", 0, 60, &ms), -1);
	CHECK_EQ_STR(whirl_error(), "'61' is not a number of seconds from "
	    "0 to 60");
	CHECK_EQ_INT(whirl_parse_seconds("-1", -5, 60, &ms), -1);
	CHECK_EQ_INT(whirl_parse_seconds("nan", 0, 60, &ms), -1);
	CHECK_EQ_INT(whirl_parse_seconds("inf", 0, 1e300, &ms), -1);
	CHECK_EQ_INT(whirl_parse_seconds("1s", 0, 60, &ms), -1);
	CHECK_EQ_INT(whirl_parse_seconds("", 0, 60, &ms), -1);
	CHECK(ms == 7);
}

TEST(sizes_take_binary_suffixes)
{
	uint64_t b = 7;

	CHECK_EQ_INT(whirl_parse_size("100", &b), 0);
	CHECK(b == 100);
	CHECK_EQ_INT(whirl_parse_size("8K", &b), 0);
	CHECK(b == 8192);
	CHECK_EQ_INT(whirl_parse_size("16MiB", &b), 0);
	CHECK(b == 16u << 20);
	CHECK_EQ_INT(whirl_parse_size("1gb", &b), -1);
	CHECK_EQ_INT(whirl_parse_size("2GB", &b), 0);
	CHECK(b == 2ull << 30);
	b = 7;
	CHECK_EQ_INT(whirl_parse_size("0", &b), -1);
	CHECK_EQ_STR(whirl_error(), "'0' is not a size (bytes, K, M or G)");
	CHECK_EQ_INT(whirl_parse_size("-1", &b), -1);
	CHECK_EQ_INT(whirl_parse_size("1X", &b), -1);
	CHECK_EQ_INT(whirl_parse_size("1KB2", &b), -1);
	CHECK_EQ_INT(whirl_parse_size("99999999999999999999G", &b), -1);
	CHECK_EQ_INT(whirl_parse_size("17179869184G", &b), -1);
	CHECK(b == 7);
}

TEST(numbers_within_their_range)
{
	long long v = 7;

	CHECK_EQ_INT(whirl_parse_long("65535", 0, 65535, &v), 0);
	CHECK(v == 65535);
	CHECK_EQ_INT(whirl_parse_long("-1", -1, -1, &v), 0);
	CHECK(v == -1);
	v = 7;
	CHECK_EQ_INT(whirl_parse_long("65536", 0, 65535, &v), -1);
	CHECK_EQ_STR(whirl_error(), "'65536' is not a number from 0 to 65535");
	CHECK_EQ_INT(whirl_parse_long("-1.0", -1, -1, &v), -1);
	CHECK_EQ_INT(whirl_parse_long("12a", 0, 100, &v), -1);
	CHECK_EQ_INT(whirl_parse_long("99999999999999999999", 0, 100, &v), -1);
	CHECK(v == 7);
}

TEST(option_files_whole_or_why_not)
{
	char path[] = "/tmp/test_options.XXXXXX", *b;
	int fd = mkstemp(path), saved, p[2];
	size_t len = 7;

	CHECK(fd >= 0);
	CHECK(write(fd, "a\0b\n", 4) == 4);
	close(fd);
	b = whirl_read_option_file(path, &len);
	CHECK(b != NULL && len == 4 && memcmp(b, "a\0b\n", 5) == 0);
	free(b);
	/* "-" is standard input. */
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "from stdin", 10) == 10);
	close(p[1]);
	saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	b = whirl_read_option_file("-", &len);
	CHECK(b != NULL && len == 10);
	CHECK_EQ_STR(b, "from stdin");
	free(b);
	CHECK(fcntl(0, F_GETFD) == 0);	/* still open */
	dup2(saved, 0);
	close(saved);
	len = 7;
	CHECK(whirl_read_option_file("/nonexistent/x", &len) == NULL);
	CHECK_EQ_STR(whirl_error(),
	    "Failed to open /nonexistent/x: No such file or directory");
	CHECK(whirl_read_option_file("/tmp", &len) == NULL);
	CHECK_EQ_STR(whirl_error(), "Failed to read /tmp: Is a directory");
	CHECK(len == 7);
	unlink(path);
}

int
main(void)
{
	RUN(seconds_round_up_to_milliseconds);
	RUN(sizes_take_binary_suffixes);
	RUN(numbers_within_their_range);
	RUN(option_files_whole_or_why_not);
	return unit_done();
}
