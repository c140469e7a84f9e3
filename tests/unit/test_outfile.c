/* test_outfile.c - a file that appears whole or not at all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static char dir[] = "/tmp/test_outfile.XXXXXX";

static char *
at(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* The file's text ("" if absent, with *exists false). */
static const char *
slurp(const char *name, bool *exists)
{
	static char buf[256];
	int fd = open(at(name), O_RDONLY);
	ssize_t n = 0;

	*exists = fd != -1;
	if (fd != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* How many directory entries besides . and .. */
static int
entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

TEST(nothing_at_the_path_until_commit)
{
	struct whirl_outfile *f = whirl_outfile_open(at("a"), 0);
	struct stat st;
	bool exists;
	mode_t um = umask(022);

	umask(um);
	CHECK(f != NULL);
	CHECK_EQ_INT(whirl_outfile_write(f, "hello ", 6), 0);
	CHECK_EQ_INT(whirl_outfile_write(f, "world", 5), 0);
	slurp("a", &exists);
	CHECK(!exists);
	CHECK_EQ_INT(entries(), 1);         /* the temporary file */
	CHECK_EQ_INT(whirl_outfile_commit(f), 0);
	CHECK_EQ_STR(slurp("a", &exists), "hello world");
	CHECK(exists);
	CHECK_EQ_INT(entries(), 1);
	CHECK_EQ_INT(stat(at("a"), &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0666 & ~um);
}

TEST(commit_replaces_discard_keeps_the_old_file)
{
	struct whirl_outfile *f = whirl_outfile_open(at("a"), 0);
	bool exists;

	CHECK_EQ_INT(whirl_outfile_write(f, "half", 4), 0);
	whirl_outfile_discard(f);
	CHECK_EQ_STR(slurp("a", &exists), "hello world");
	CHECK_EQ_INT(entries(), 1);
	f = whirl_outfile_open(at("a"), 0);
	CHECK_EQ_INT(whirl_outfile_write(f, "new", 3), 0);
	CHECK_EQ_INT(whirl_outfile_commit(f), 0);
	CHECK_EQ_STR(slurp("a", &exists), "new");
	CHECK_EQ_INT(entries(), 1);
}

TEST(append_writes_in_place_and_keeps_a_partial_file)
{
	struct whirl_outfile *f = whirl_outfile_open(at("a"),
	    WHIRL_OUTFILE_APPEND);
	bool exists;

	CHECK_EQ_INT(whirl_outfile_write(f, "+more", 5), 0);
	CHECK_EQ_STR(slurp("a", &exists), "new+more");
	whirl_outfile_discard(f);
	CHECK_EQ_STR(slurp("a", &exists), "new+more");
	CHECK_EQ_INT(entries(), 1);
}

TEST(not_a_regular_file_is_written_in_place)
{
	struct whirl_outfile *f;

	CHECK_EQ_INT(mkfifo(at("fifo"), 0600), 0);
	/* /dev/null: exists, not regular; a temp beside it would fail. */
	f = whirl_outfile_open("/dev/null", 0);
	CHECK(f != NULL);
	CHECK_EQ_INT(whirl_outfile_write(f, "x", 1), 0);
	CHECK_EQ_INT(whirl_outfile_commit(f), 0);
	CHECK_EQ_INT(entries(), 2);
	unlink(at("fifo"));
}

TEST(unlink_all_removes_what_is_not_committed)
{
	struct whirl_outfile *f = whirl_outfile_open(at("b"), 0);
	struct whirl_outfile *g = whirl_outfile_open(at("c"), 0);
	struct whirl_outfile *h = whirl_outfile_open(at("d"), 0);

	CHECK_EQ_INT(entries(), 4);
	CHECK_EQ_INT(whirl_outfile_commit(g), 0);   /* out of the list */
	CHECK_EQ_INT(entries(), 4);
	whirl_outfile_unlink_all();
	CHECK_EQ_INT(entries(), 2);                 /* a and c */
	/* The handle is still the caller's; committing now fails cleanly. */
	CHECK_EQ_INT(whirl_outfile_commit(f), -1);
	CHECK(strstr(whirl_error(), "No such file or directory") != NULL);
	whirl_outfile_discard(h);
	CHECK_EQ_INT(entries(), 2);
	unlink(at("c"));
}

TEST(open_and_write_failures_say_why)
{
	struct whirl_outfile *f;
	char want[300];

	f = whirl_outfile_open(at("no/such/dir"), 0);
	CHECK(f == NULL);
	snprintf(want, sizeof(want), "%s: No such file or directory",
	    at("no/such/dir"));
	CHECK_EQ_STR(whirl_error(), want);
	f = whirl_outfile_open("/dev/full", 0);
	CHECK(f != NULL);
	CHECK_EQ_INT(whirl_outfile_write(f, "x", 1), -1);
	CHECK_EQ_STR(whirl_error(), "write: No space left on device");
	whirl_outfile_discard(f);
	CHECK_EQ_INT(entries(), 1);
}

TEST(wrap_leaves_the_descriptor_open)
{
	int p[2];
	char c = 0;
	struct whirl_outfile *f;

	CHECK_EQ_INT(pipe(p), 0);
	f = whirl_outfile_wrap(p[1]);
	CHECK_EQ_INT(whirl_outfile_write(f, "y", 1), 0);
	CHECK_EQ_INT(whirl_outfile_commit(f), 0);
	CHECK_EQ_INT(write(p[1], "z", 1), 1);       /* still open */
	CHECK_EQ_INT(read(p[0], &c, 1), 1);
	CHECK_EQ_INT(c, 'y');
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(nothing_at_the_path_until_commit);
	RUN(commit_replaces_discard_keeps_the_old_file);
	RUN(append_writes_in_place_and_keeps_a_partial_file);
	RUN(not_a_regular_file_is_written_in_place);
	RUN(unlink_all_removes_what_is_not_committed);
	RUN(open_and_write_failures_say_why);
	RUN(wrap_leaves_the_descriptor_open);
	unlink(at("a"));
	rmdir(dir);
	return unit_done();
}
