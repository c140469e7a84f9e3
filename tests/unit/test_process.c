/* test_process.c - child programs on the loop: I/O through the stream,
 * stderr modes, args/env/cwd, exit statuses, group kill, reaping, fd and
 * signal hygiene, freeing from callbacks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "ioloop.h"
#include "iostream.h"
#include "process.h"
#include "unit.h"

struct buf {
	char *data;
	size_t len;
};

/* One child run to its end: everything it wrote, its status, and the
 * order in which EOF ('e', 'E' for the stderr stream) and exit ('x')
 * arrived. */
struct run {
	struct whirl_loop *loop;
	struct whirl_process *p;
	struct buf out, err;
	int eofs_wanted, eofs;
	bool exited;
	int status;
	char order[8];
	const char *read_err;
};

static void
buf_add(struct buf *b, const char *data, size_t len)
{
	b->data = realloc(b->data, b->len + len + 1);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static void
mark(struct run *r, char c)
{
	size_t n = strlen(r->order);

	if (n + 1 < sizeof(r->order))
		r->order[n] = c;
	if (r->exited && r->eofs == r->eofs_wanted)
		whirl_loop_stop(r->loop);
}

static void
on_read(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct run *r = arg;
	bool is_err = s == whirl_process_stderr(r->p);

	if (err != NULL) {
		r->read_err = err;
		whirl_loop_stop(r->loop);
		return;
	}
	if (len > 0) {
		buf_add(is_err ? &r->err : &r->out, data, len);
		return;
	}
	r->eofs++;
	mark(r, is_err ? 'E' : 'e');
}

static void
on_exit_cb(struct whirl_process *p, int status, void *arg)
{
	struct run *r = arg;

	(void)p;
	r->exited = true;
	r->status = status;
	mark(r, 'x');
}

static void
run_init(struct run *r, struct whirl_loop *loop)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->status = -2;
	r->eofs_wanted = 1;
}

static void
run_free(struct run *r)
{
	whirl_process_free(r->p);
	free(r->out.data);
	free(r->err.data);
}

/* Start cmd, send `input` and close its stdin, read until EOF and exit. */
static bool
run_cmd(struct run *r, struct whirl_loop *loop, const char *cmd,
    const struct whirl_process_options *opts, const char *input,
    size_t inlen)
{
	struct whirl_stream *s;

	run_init(r, loop);
	r->p = whirl_process_new(loop, cmd, opts, on_exit_cb, r);
	if (r->p == NULL) {
		printf("# whirl_process_new: %s\n", whirl_error());
		return false;
	}
	s = whirl_process_stream(r->p);
	if (whirl_process_stderr(r->p) != NULL) {
		r->eofs_wanted = 2;
		whirl_stream_read_until_close(whirl_process_stderr(r->p),
		    on_read, r);
	}
	whirl_stream_read_until_close(s, on_read, r);
	if (inlen > 0)
		whirl_stream_write(s, input, inlen, NULL, NULL);
	whirl_stream_shutdown(s);
	whirl_loop_run(loop);
	return r->read_err == NULL && r->exited && r->eofs == r->eofs_wanted;
}

/* No zombie and no child of ours: waitpid says ECHILD, and if the pid is
 * in /proc at all it is someone else's. */
static bool
gone(pid_t pid)
{
	char path[64];
	FILE *f;
	int st, ppid = 0;
	char state = 0;

	if (waitpid(pid, &st, WNOHANG) != -1 || errno != ECHILD)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	/* "pid (comm) S ppid ..."; our test children's comm has no ')'. */
	if (fscanf(f, "%*d (%*[^)]) %c %d", &state, &ppid) != 2)
		ppid = 0;
	fclose(f);
	return ppid != getpid();
}

/* main() makes this binary a subreaper, so the children our shells leave
 * behind come back to us; wait for n of them (they are dying: the stream's
 * EOF showed their fds closed).  Returns how many had signal sig. */
static int
reap_adopted(int n, int sig, pid_t *pids)
{
	int i, st, killed = 0;
	pid_t pid;

	for (i = 0; i < n; i++) {
		pid = waitpid(-1, &st, 0);
		if (pid <= 0)
			break;
		pids[i] = pid;
		if (WIFSIGNALED(st) && WTERMSIG(st) == sig)
			killed++;
	}
	return killed;
}

TEST(cat_round_trip)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;

	CHECK(run_cmd(&r, loop, "cat", NULL, "hello\nworld\n", 12));
	CHECK_EQ_STR(buf_str(&r.out), "hello\nworld\n");
	CHECK(WIFEXITED(r.status));
	CHECK_EQ_INT(WEXITSTATUS(r.status), 0);
	CHECK(whirl_process_exited(r.p));
	CHECK_EQ_INT(whirl_process_status(r.p), r.status);
	CHECK(gone(whirl_process_pid(r.p)));
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(tr_upper)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;

	CHECK(run_cmd(&r, loop, "tr a-z A-Z", NULL, "hello, world\n", 13));
	CHECK_EQ_STR(buf_str(&r.out), "HELLO, WORLD\n");
	CHECK_EQ_INT(r.status, 0);
	run_free(&r);
	whirl_loop_free(loop);
}

/* More than the pipes hold, both ways at once: the stream must read
 * while it writes. */
TEST(cat_big)
{
	struct whirl_loop *loop = whirl_loop_new();
	size_t n = 600000, i;
	char *in = malloc(n);
	struct run r;

	for (i = 0; i < n; i++)
		in[i] = 'a' + i % 26;
	CHECK(run_cmd(&r, loop, "cat", NULL, in, n));
	CHECK_EQ_INT(r.out.len, n);
	CHECK(r.out.len == n && memcmp(r.out.data, in, n) == 0);
	CHECK_EQ_INT(r.status, 0);
	run_free(&r);
	free(in);
	whirl_loop_free(loop);
}

TEST(stderr_merged)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;

	CHECK(run_cmd(&r, loop,
	    "echo out1; echo err1 >&2; echo out2; echo err2 >&2", NULL,
	    NULL, 0));
	CHECK_EQ_STR(buf_str(&r.out), "out1\nerr1\nout2\nerr2\n");
	CHECK(whirl_process_stderr(r.p) == NULL);
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(stderr_pipe)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process_options o = {
		.stderr_mode = WHIRL_PROCESS_STDERR_PIPE
	};
	struct run r;

	CHECK(run_cmd(&r, loop,
	    "echo out1; echo err1 >&2; echo out2; echo err2 >&2", &o, NULL,
	    0));
	CHECK_EQ_STR(buf_str(&r.out), "out1\nout2\n");
	CHECK_EQ_STR(buf_str(&r.err), "err1\nerr2\n");
	CHECK(whirl_process_stderr(r.p) != NULL);
	/* The stderr stream only reads. */
	CHECK_EQ_INT(whirl_stream_write(whirl_process_stderr(r.p), "x", 1,
	    NULL, NULL), -1);
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(stderr_inherit)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process_options o = {
		.stderr_mode = WHIRL_PROCESS_STDERR_INHERIT
	};
	struct run r;
	int fds[2], saved;
	char got[64] = "";
	ssize_t n;

	/* Our fd 2 becomes a pipe for the child to inherit. */
	CHECK(pipe(fds) == 0);
	saved = dup(2);
	dup2(fds[1], 2);
	close(fds[1]);
	CHECK(run_cmd(&r, loop, "echo out; echo err >&2", &o, NULL, 0));
	dup2(saved, 2);
	close(saved);
	/* The child has exited: the pipe has its bytes and then EOF. */
	n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_STR(got, "err\n");
	CHECK_EQ_STR(buf_str(&r.out), "out\n");
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(args_and_env)
{
	struct whirl_loop *loop = whirl_loop_new();
	const char *args[] = { "one", "two words", NULL };
	const char *env[] = { "WHIRL_T1=v1", "WHIRL_T2=new", "WHIRL_T3",
	    "WHIRL_T1=v1b", NULL };
	struct whirl_process_options o = { .args = args, .env = env };
	struct run r;

	setenv("WHIRL_T2", "old", 1);
	setenv("WHIRL_T3", "gone", 1);
	setenv("WHIRL_T4", "kept", 1);
	CHECK(run_cmd(&r, loop,
	    "printf '%s|' \"$0\" \"$#\" \"$1\" \"$2\" \"$WHIRL_T1\" "
	    "\"$WHIRL_T2\" \"${WHIRL_T3-unset}\" \"$WHIRL_T4\"", &o, NULL,
	    0));
	CHECK_EQ_STR(buf_str(&r.out), "sh|2|one|two words|v1b|new|unset|kept|");
	/* The caller's environment is untouched. */
	CHECK_EQ_STR(getenv("WHIRL_T2"), "old");
	CHECK_EQ_STR(getenv("WHIRL_T3"), "gone");
	CHECK(getenv("WHIRL_T1") == NULL);
	unsetenv("WHIRL_T2");
	unsetenv("WHIRL_T3");
	unsetenv("WHIRL_T4");
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(cwd)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process_options o = { .cwd = "/proc" };
	struct run r;

	CHECK(run_cmd(&r, loop, "pwd", &o, NULL, 0));
	CHECK_EQ_STR(buf_str(&r.out), "/proc\n");
	run_free(&r);
	whirl_loop_free(loop);
}

/* valgrind runs posix_spawn's vfork-style clone as a plain fork, so a
 * failure in the child (a bad cwd) cannot reach the parent there. */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

TEST(bad_cwd)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process_options o = { .cwd = "/nonexistent/whirl" };
	struct whirl_process *p;

	p = whirl_process_new(loop, "echo hi", &o, NULL, NULL);
	if (p != NULL && under_valgrind()) {
		printf("# bad_cwd: spawn errors are not seen under valgrind\n");
		CHECK_EQ_INT(whirl_loop_run(loop), 0);
		whirl_process_free(p);
		whirl_loop_free(loop);
		return;
	}
	CHECK(p == NULL);
	CHECK_EQ_STR(whirl_error(),
	    "spawn /bin/sh in /nonexistent/whirl: No such file or directory");
	CHECK_EQ_INT(whirl_error_errno(), ENOENT);
	whirl_process_free(p);
	/* Nothing was left to wait for: the SIGCHLD watch went too. */
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	whirl_loop_free(loop);
}

/* A failure in the parent: no fd left for the second pipe end. */
TEST(out_of_fds)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process *p;
	struct rlimit old, low;
	int fd;

	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	fd = dup(0);		/* the lowest free fd */
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd + 1;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	p = whirl_process_new(loop, "echo hi", NULL, NULL, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(p == NULL);
	CHECK_EQ_STR(whirl_error(), "pipe: Too many open files");
	CHECK_EQ_INT(whirl_error_errno(), EMFILE);
	whirl_process_free(p);
	/* The fd it did get was closed again. */
	CHECK_EQ_INT(fd, dup(0));
	close(fd);
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	whirl_loop_free(loop);
}

TEST(exit_statuses)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;

	CHECK(run_cmd(&r, loop, "exit 0", NULL, NULL, 0));
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	run_free(&r);

	CHECK(run_cmd(&r, loop, "exit 3", NULL, NULL, 0));
	CHECK(WIFEXITED(r.status));
	CHECK_EQ_INT(WEXITSTATUS(r.status), 3);
	/* Once reaped, the group is not ours to signal any more. */
	CHECK_EQ_INT(whirl_process_kill(r.p, SIGTERM), -1);
	CHECK_EQ_INT(whirl_error_errno(), ESRCH);
	run_free(&r);

	CHECK(run_cmd(&r, loop, "whirl-no-such-command-here", NULL, NULL,
	    0));
	CHECK(WIFEXITED(r.status));
	CHECK_EQ_INT(WEXITSTATUS(r.status), 127);
	run_free(&r);
	whirl_loop_free(loop);
}

TEST(killed_by_signal)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;

	CHECK(run_cmd(&r, loop, "kill -USR1 $$", NULL, NULL, 0));
	CHECK(WIFSIGNALED(r.status));
	CHECK_EQ_INT(WTERMSIG(r.status), SIGUSR1);
	run_free(&r);
	whirl_loop_free(loop);
}

/* The grandchildren's pids arrive as a line; then the whole group is
 * killed.  Both sleeps were forked before the line was written. */
struct group {
	struct run r;
	long grandchild[2];
};

static void
on_line(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct group *g = arg;
	char *end;

	if (err != NULL || len < 2) {
		g->r.read_err = err != NULL ? err : "short line";
		whirl_loop_stop(g->r.loop);
		return;
	}
	g->grandchild[0] = strtol(data, &end, 10);
	g->grandchild[1] = strtol(end, NULL, 10);
	CHECK_EQ_INT(whirl_process_kill(g->r.p, SIGTERM), 0);
	/* The rest is EOF: the sleeps held the pipe too. */
	whirl_stream_read_until_close(s, on_read, &g->r);
}

TEST(group_kill)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct group g;
	pid_t pids[2] = { 0, 0 };

	run_init(&g.r, loop);
	g.grandchild[0] = g.grandchild[1] = 0;
	g.r.p = whirl_process_new(loop,
	    "sleep 1000 & a=$!; sleep 1000 & echo $a $!; wait; echo survived",
	    NULL, on_exit_cb, &g.r);
	CHECK(g.r.p != NULL);
	whirl_stream_read_until(whirl_process_stream(g.r.p), "\n", 1, 64,
	    on_line, &g);
	whirl_loop_run(loop);
	CHECK(g.r.read_err == NULL);
	CHECK(WIFSIGNALED(g.r.status) && WTERMSIG(g.r.status) == SIGTERM);
	CHECK_EQ_STR(buf_str(&g.r.out), "");
	CHECK(gone(whirl_process_pid(g.r.p)));
	/* Both sleeps, orphaned and adopted, got the SIGTERM. */
	CHECK(g.grandchild[0] > 0 && g.grandchild[1] > 0);
	CHECK_EQ_INT(reap_adopted(2, SIGTERM, pids), 2);
	CHECK((pids[0] == g.grandchild[0] && pids[1] == g.grandchild[1]) ||
	    (pids[0] == g.grandchild[1] && pids[1] == g.grandchild[0]));
	run_free(&g.r);
	whirl_loop_free(loop);
}

/* A process freed while its child runs is reaped all the same, and then
 * the loop has nothing left to wait for. */
TEST(detached_reaped)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process *p;
	siginfo_t si;
	pid_t pid;

	p = whirl_process_new(loop, "cat", NULL, on_exit_cb, NULL);
	CHECK(p != NULL);
	pid = whirl_process_pid(p);
	/* Closing its pipes ends cat; its callback must not fire. */
	whirl_process_free(p);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	CHECK(gone(pid));
	whirl_loop_free(loop);
}

static void
free_in_exit(struct whirl_process *p, int status, void *arg)
{
	int *got = arg;

	*got = status;
	whirl_process_free(p);
}

TEST(free_from_exit_callback)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process *p;
	int got = -2;
	pid_t pid;

	p = whirl_process_new(loop, "echo unread; exit 5", NULL, free_in_exit,
	    &got);
	CHECK(p != NULL);
	pid = whirl_process_pid(p);
	/* Returns once the process and its stream are gone. */
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	CHECK(WIFEXITED(got));
	CHECK_EQ_INT(WEXITSTATUS(got), 5);
	CHECK(gone(pid));
	whirl_loop_free(loop);
}

/* Two exits reaped on one SIGCHLD; the first callback frees the other
 * process, whose callback then never fires. */
struct pair {
	struct whirl_process *p[2];
	int calls;
};

static void
free_other(struct whirl_process *p, int status, void *arg)
{
	struct pair *pr = arg;
	int i = p == pr->p[0] ? 0 : 1;

	(void)status;
	pr->calls++;
	whirl_process_free(pr->p[1 - i]);
	whirl_process_free(p);
	pr->p[0] = pr->p[1] = NULL;
}

TEST(free_other_pending)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct pair pr = { { NULL, NULL }, 0 };
	siginfo_t si;
	pid_t pids[2];
	int i;

	for (i = 0; i < 2; i++) {
		pr.p[i] = whirl_process_new(loop, "exit 1", NULL, free_other,
		    &pr);
		CHECK(pr.p[i] != NULL);
		pids[i] = whirl_process_pid(pr.p[i]);
	}
	/* Both have exited before the loop looks. */
	for (i = 0; i < 2; i++)
		CHECK(waitid(P_PID, pids[i], &si, WEXITED | WNOWAIT) == 0);
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	CHECK_EQ_INT(pr.calls, 1);
	CHECK(gone(pids[0]) && gone(pids[1]));
	whirl_loop_free(loop);
}

/* Many children at once: coalesced SIGCHLDs still reap each one with its
 * own status. */
TEST(many_children)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r[16];
	char cmd[32];
	int i, ok = 0;

	for (i = 0; i < 16; i++) {
		run_init(&r[i], loop);
		snprintf(cmd, sizeof(cmd), "exit %d", i);
		r[i].p = whirl_process_new(loop, cmd, NULL, on_exit_cb, &r[i]);
		CHECK(r[i].p != NULL);
	}
	/* Runs until every child is reaped and the watch released. */
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	for (i = 0; i < 16; i++) {
		if (r[i].exited && WIFEXITED(r[i].status) &&
		    WEXITSTATUS(r[i].status) == i)
			ok++;
		run_free(&r[i]);
	}
	CHECK_EQ_INT(ok, 16);
	whirl_loop_free(loop);
}

/* Every fd above 2 is closed in the child, close-on-exec or not. */
TEST(no_leaked_fds)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;
	int a, b, fds[2];

	a = open("/dev/null", O_RDONLY);
	b = dup2(a, 100);
	CHECK(a > 2 && b == 100 && pipe(fds) == 0);
	CHECK((fcntl(a, F_GETFD) & FD_CLOEXEC) == 0);
	/* ls runs in a child of sh ("; :" stops sh from exec'ing it), so it
	 * lists the shell's fds, not its own. */
	CHECK(run_cmd(&r, loop, "ls /proc/$$/fd; :", NULL, NULL, 0));
	CHECK_EQ_STR(buf_str(&r.out), "0\n1\n2\n");
	close(a);
	close(b);
	close(fds[0]);
	close(fds[1]);
	run_free(&r);
	whirl_loop_free(loop);
}

/* Ignored and blocked signals in the caller are default and unblocked in
 * the child. */
TEST(signals_reset)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGUSR1, SIG_IGN);
	/* SIGPIPE is ignored by main(), as the tools do. */
	CHECK(run_cmd(&r, loop,
	    "exec grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL, NULL, 0));
	CHECK_EQ_STR(buf_str(&r.out),
	    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	signal(SIGUSR1, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	run_free(&r);
	whirl_loop_free(loop);
}

/* The exit may come before EOF (a background child keeps the pipe) ... */
static void
write_go(struct whirl_process *p, int status, void *arg)
{
	on_exit_cb(p, status, arg);
	whirl_stream_write(whirl_process_stream(p), "go\n", 3, NULL, NULL);
	whirl_stream_shutdown(whirl_process_stream(p));
}

TEST(exit_before_eof)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct run r;
	pid_t pid = 0;

	run_init(&r, loop);
	/* An asynchronous list's stdin is /dev/null: pass the pipe as 3. */
	r.p = whirl_process_new(loop,
	    "exec 3<&0; (read x <&3; echo \"late $x\") & echo early; exit 4",
	    NULL, write_go, &r);
	CHECK(r.p != NULL);
	whirl_stream_read_until_close(whirl_process_stream(r.p), on_read, &r);
	whirl_loop_run(loop);
	CHECK_EQ_STR(r.order, "xe");
	CHECK_EQ_STR(buf_str(&r.out), "early\nlate go\n");
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 4);
	/* The background subshell, orphaned and adopted. */
	CHECK_EQ_INT(reap_adopted(1, 0, &pid), 0);
	CHECK(pid > 0 && pid != whirl_process_pid(r.p));
	run_free(&r);
	whirl_loop_free(loop);
}

/* ... or after it (the child closes its output, then waits for input). */
static void
on_read_then_go(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	on_read(s, data, len, err, arg);
	if (data == NULL && err == NULL) {
		whirl_stream_write(s, "go\n", 3, NULL, NULL);
		whirl_stream_shutdown(s);
	}
}

TEST(eof_before_exit)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_process_options o = {
		.stream_flags = WHIRL_STREAM_HALF_CLOSE
	};
	struct run r;

	run_init(&r, loop);
	r.p = whirl_process_new(loop,
	    "echo bye; exec >&- 2>&-; read x; [ \"$x\" = go ] && exit 7",
	    &o, on_exit_cb, &r);
	CHECK(r.p != NULL);
	whirl_stream_read_until_close(whirl_process_stream(r.p),
	    on_read_then_go, &r);
	whirl_loop_run(loop);
	CHECK_EQ_STR(r.order, "ex");
	CHECK_EQ_STR(buf_str(&r.out), "bye\n");
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 7);
	run_free(&r);
	whirl_loop_free(loop);
}

/* Every child and adopted grandchild was reaped: not one zombie left. */
TEST(no_children_left)
{
	int st;

	CHECK_EQ_INT(waitpid(-1, &st, WNOHANG), -1);
	CHECK_EQ_INT(errno, ECHILD);
}

int
main(void)
{
	/* As the tools do; the child must still get SIGPIPE's default. */
	signal(SIGPIPE, SIG_IGN);
	/* Orphans come back to us (see reap_adopted), not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	RUN(cat_round_trip);
	RUN(tr_upper);
	RUN(cat_big);
	RUN(stderr_merged);
	RUN(stderr_pipe);
	RUN(stderr_inherit);
	RUN(args_and_env);
	RUN(cwd);
	RUN(bad_cwd);
	RUN(out_of_fds);
	RUN(exit_statuses);
	RUN(killed_by_signal);
	RUN(group_kill);
	RUN(detached_reaped);
	RUN(free_from_exit_callback);
	RUN(free_other_pending);
	RUN(many_children);
	RUN(no_leaked_fds);
	RUN(signals_reset);
	RUN(exit_before_eof);
	RUN(eof_before_exit);
	RUN(no_children_left);
	return unit_done();
}
