/* test_prefork.c - the supervisor: workers started with their index, a
 * dead one replaced, HUP passed on, one TERM a clean stop (0), two a cut
 * short one (1).
 *
 * whirl_prefork blocks and takes signals, so each test runs it in a child
 * (the supervisor) whose workers report on a pipe: "start I PID", "hup I",
 * "term I".  The test reads those lines with a deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static int report[2];                   /* workers -> test */
static int prepared[2], forked_n[2];    /* counts, per index */

static void
say(const char *fmt, int a, int b, int c, int d)
{
	char line[64];
	int n = snprintf(line, sizeof(line), fmt, a, b, c, d);

	if (write(report[1], line, (size_t)n) != n)
		_exit(3);
}

static int
prepare(int index, void *arg)
{
	(void)arg;
	prepared[index]++;
	return 0;
}

static void
forked(int index, void *arg)
{
	(void)arg;
	forked_n[index]++;
}

/* A worker: report, then wait for HUP (report it) or TERM (exit 0). */
static int
run(int index, void *arg)
{
	sigset_t set;
	int signo;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* What the supervisor had counted when it forked this one. */
	say("start %d %d %d %d\n", index, (int)getpid(), prepared[index],
	    forked_n[index]);
	for (;;) {
		if (sigwait(&set, &signo) != 0)
			return 2;
		if (signo == SIGHUP) {
			say("hup %d\n", index, 0, 0, 0);
			continue;
		}
		say("term %d\n", index, 0, 0, 0);
		/* The second TERM (if any) comes to a worker that is gone. */
		return 0;
	}
}

static const struct whirl_prefork_ops ops = { prepare, run, forked };

/* Fork the supervisor; it exits with whirl_prefork's result. */
static pid_t
start_supervisor(int n)
{
	pid_t pid;

	CHECK_EQ_INT(pipe(report), 0);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		close(report[0]);
		_exit(whirl_prefork(n, &ops, NULL) & 0xff);
	}
	close(report[1]);
	return pid;
}

/* The next line from the workers (10 s at most), without its newline. */
static const char *
next_line(void)
{
	static char buf[4096];
	static size_t have;
	static char line[128];
	struct pollfd p = { report[0], POLLIN, 0 };
	char *nl;
	ssize_t n;

	while ((nl = memchr(buf, '\n', have)) == NULL) {
		if (poll(&p, 1, 10000) != 1)
			return "(timeout)";
		n = read(report[0], buf + have, sizeof(buf) - have);
		if (n <= 0)
			return "(eof)";
		have += (size_t)n;
	}
	*nl = '\0';
	snprintf(line, sizeof(line), "%.100s", buf);
	have -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, have);
	return line;
}

/* Two "start I PID 1 0" lines (prepared once, no fork before), in
 * either order: the pids by index. */
static void
read_starts(pid_t pids[2])
{
	int i, index, pid, p, f;

	pids[0] = pids[1] = 0;
	for (i = 0; i < 2; i++) {
		if (sscanf(next_line(), "start %d %d %d %d", &index, &pid, &p,
		    &f) == 4 && index >= 0 && index < 2 && p == 1 && f == 0)
			pids[index] = pid;
	}
	CHECK(pids[0] > 0 && pids[1] > 0 && pids[0] != pids[1]);
}

static int
wait_status(pid_t pid)
{
	int status;

	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(workers_replaced_signals_passed_on_one_term_stops_cleanly)
{
	pid_t sup = start_supervisor(2), pids[2], again;
	char want[64];
	const char *l;
	int index, pid, p, f;

	read_starts(pids);

	/* A worker killed is replaced with the same index, prepared anew
	 * after the first start's forked. */
	kill(pids[1], SIGKILL);
	l = next_line();
	CHECK_EQ_INT(sscanf(l, "start %d %d %d %d", &index, &pid, &p, &f), 4);
	CHECK_EQ_INT(index, 1);
	CHECK_EQ_INT(p, 2);
	CHECK_EQ_INT(f, 1);
	again = pid;
	CHECK(again != pids[1] && again > 0);

	/* HUP reaches both. */
	kill(sup, SIGHUP);
	l = next_line();
	snprintf(want, sizeof(want), "%s", l);
	l = next_line();
	CHECK((strcmp(want, "hup 0") == 0 && strcmp(l, "hup 1") == 0) ||
	    (strcmp(want, "hup 1") == 0 && strcmp(l, "hup 0") == 0));

	/* One TERM: both stop, exit 0, nothing replaced. */
	kill(sup, SIGTERM);
	l = next_line();
	CHECK(strncmp(l, "term ", 5) == 0);
	l = next_line();
	CHECK(strncmp(l, "term ", 5) == 0);
	CHECK_EQ_INT(wait_status(sup), 0);
	CHECK_EQ_STR(next_line(), "(eof)");         /* no one else started */
	CHECK_EQ_INT(kill(pids[0], 0), -1);
	CHECK_EQ_INT(kill(again, 0), -1);
	close(report[0]);
}

TEST(a_worker_failing_after_the_stop_makes_the_status_1)
{
	pid_t sup = start_supervisor(2), pids[2];

	read_starts(pids);
	/* The stop has begun when the supervisor passes TERM on; a worker
	 * that dies by a signal then counts as a failure. */
	kill(pids[0], SIGSTOP);
	kill(sup, SIGTERM);
	CHECK_EQ_STR(next_line(), "term 1");
	kill(pids[0], SIGKILL);
	CHECK_EQ_INT(wait_status(sup), 1);
	close(report[0]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(workers_replaced_signals_passed_on_one_term_stops_cleanly);
	RUN(a_worker_failing_after_the_stop_makes_the_status_1);
	return unit_done();
}
