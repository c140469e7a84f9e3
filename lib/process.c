/* process.c - child programs run by /bin/sh, with their pipes as streams.
 *
 * Children are started with posix_spawn: glibc runs it as a vfork-style
 * clone that shares the parent's memory until the exec, so spawning costs
 * the same whatever the caller's size (a server spawns many).  The child's
 * hygiene is all in the spawn attributes and file actions: its own process
 * group, every signal back to default, an empty mask, the pipes dup2'd onto
 * 0-2, and closefrom(3), which glibc does with close_range(2) or, on older
 * kernels, by walking /proc/self/fd.  Our own pipes are made close-on-exec
 * as well, so no other thread's spawn or exec can inherit them.
 *
 * Each loop that has children keeps a `struct children` in its
 * WHIRL__SLOT_PROCESS slot: the SIGCHLD watch, held while the list of
 * unreaped children is not empty (so an idle loop has nothing left to wait
 * for), and that list.  A process the caller freed before its child exited
 * stays in the list, detached, until the child is reaped.  Invariants: a
 * process is in the list exactly while its child is unreaped; `freed`
 * processes are only ever in a list.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "ioloop.h"
#include "iostream.h"
#include "process.h"

extern char **environ;

struct children {
	struct whirl_loop *loop;
	struct whirl_signal *sigchld;	/* NULL while the list is empty */
	struct whirl_process *list;	/* unreaped children */
};

struct whirl_process {
	struct children *children;	/* NULL once the loop is gone */
	struct whirl_process *next, **prevp;	/* prevp NULL: in no list */
	struct whirl_stream *stream;	/* stdin + stdout (+ stderr) */
	struct whirl_stream *err;	/* stderr with STDERR_PIPE */
	whirl_process_exit_cb cb;
	void *arg;
	pid_t pid;
	int status;			/* -1 until reaped */
	bool exited;			/* reaped */
	bool freed;			/* by the caller, before the reap */
};

static void
list_insert(struct whirl_process **head, struct whirl_process *p)
{
	p->next = *head;
	if (p->next != NULL)
		p->next->prevp = &p->next;
	p->prevp = head;
	*head = p;
}

static void
list_remove(struct whirl_process *p)
{
	if (p->prevp == NULL)
		return;
	*p->prevp = p->next;
	if (p->next != NULL)
		p->next->prevp = p->prevp;
	p->next = NULL;
	p->prevp = NULL;
}

/* Reap p if its child has exited.  Only our own pids are waited for, never
 * -1, so other code's children are left to it. */
static bool
reap(struct whirl_process *p)
{
	pid_t r;
	int status;

	do
		r = waitpid(p->pid, &status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return false;
	/* -1 (ECHILD): someone else reaped it; the status is lost. */
	p->status = r == p->pid ? status : -1;
	p->exited = true;
	return true;
}

static void
children_idle(struct children *c)
{
	/* Freeing the watch restores SIGCHLD's disposition and lets the loop
	 * finish when nothing else is pending. */
	if (c->list == NULL && c->sigchld != NULL) {
		whirl_signal_free(c->sigchld);
		c->sigchld = NULL;
	}
}

static void
on_sigchld(struct whirl_signal *s, int signo, void *arg)
{
	struct children *c = arg;
	struct whirl_process *p, *next, *done = NULL;

	(void)s;
	(void)signo;
	/* Signals coalesce: one SIGCHLD may stand for several exits. */
	for (p = c->list; p != NULL; p = next) {
		next = p->next;
		if (reap(p)) {
			list_remove(p);
			list_insert(&done, p);
		}
	}
	/* A callback may free any process, or start new ones, so take the
	 * reaped ones one at a time from the head of `done`; a process freed
	 * while waiting there unlinks itself. */
	while ((p = done) != NULL) {
		list_remove(p);
		if (p->freed)
			free(p);
		else if (p->cb != NULL)
			p->cb(p, p->status, p->arg);
	}
	children_idle(c);
}

static void
children_free(void *state)
{
	struct children *c = state;
	struct whirl_process *p;

	/* Only detached processes should be left (freeing a loop that still
	 * has objects is the caller's bug); reap what has exited. */
	while ((p = c->list) != NULL) {
		list_remove(p);
		p->children = NULL;
		if (p->freed) {
			reap(p);
			free(p);
		}
	}
	if (c->sigchld != NULL)
		whirl_signal_free(c->sigchld);
	free(c);
}

/* The loop's children, with the SIGCHLD watch in place: it must exist
 * before the fork, or an early exit could go unnoticed. */
static struct children *
children_get(struct whirl_loop *loop)
{
	struct children *c;

	c = whirl__loop_slot(loop, WHIRL__SLOT_PROCESS);
	if (c == NULL) {
		c = whirl__xcalloc(1, sizeof(*c));
		c->loop = loop;
		whirl__loop_set_slot(loop, WHIRL__SLOT_PROCESS, c,
		    children_free);
	}
	if (c->sigchld == NULL) {
		c->sigchld = whirl_signal_new(loop, SIGCHLD, on_sigchld, c);
		if (c->sigchld == NULL)
			return NULL;
	}
	return c;
}

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* The index of NAME in env (n entries), or n. */
static size_t
env_find(char **env, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			break;
	return i;
}

/* The caller's environment with opts->env applied; the strings are
 * borrowed, only the array is ours. */
static char **
make_env(const char *const *extra)
{
	size_t n = count((const char *const *)environ), i, j, len;
	char **env;
	const char *eq;

	env = whirl__xcalloc(n + count(extra) + 1, sizeof(*env));
	if (n > 0)
		memcpy(env, environ, n * sizeof(*env));
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		eq = strchr(extra[i], '=');
		len = eq != NULL ? (size_t)(eq - extra[i]) : strlen(extra[i]);
		j = env_find(env, n, extra[i], len);
		if (eq == NULL) {		/* "NAME": unset */
			if (j < n)
				env[j] = env[--n];
		} else {
			env[j] = (char *)extra[i];
			if (j == n)
				n++;
		}
		env[n] = NULL;
	}
	return env;
}

static char **
make_argv(const char *command, const char *const *args)
{
	size_t n = count(args);
	char **argv;

	argv = whirl__xcalloc(n + 5, sizeof(*argv));
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)command;
	argv[3] = "sh";		/* $0 */
	if (n > 0)
		memcpy(argv + 4, args, n * sizeof(*argv));
	return argv;
}

/* posix_spawn /bin/sh with in/out/err as its fds 0, 1, 2 (err -1: inherit
 * fd 2).  The pipes were made in that order, so no source fd can be a
 * lower target that an earlier dup2 has already replaced; glibc clears
 * close-on-exec when source and target are the same fd. */
static pid_t
spawn(const char *command, const struct whirl_process_options *opts,
    int in, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	char **argv, **envp;
	pid_t pid = -1;
	int e;

	/* All bits, not sigfillset: glibc's leaves out its two internal
	 * signals (32, 33), and its posix_spawn then starts the program with
	 * them ignored (SIG_IGN survives exec). */
	memset(&all, 0xff, sizeof(all));
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	if (err != -1)
		posix_spawn_file_actions_adddup2(&fa, err, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (opts->cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);

	argv = make_argv(command, opts->args);
	envp = make_env(opts->env);
	e = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	if (e != 0) {
		pid = -1;
		if (opts->cwd != NULL)
			whirl__seterr(e, "spawn /bin/sh in %s: %s", opts->cwd,
			    strerror(e));
		else
			whirl__seterr(e, "spawn /bin/sh: %s", strerror(e));
	}
	free(envp);
	free(argv);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return pid;
}

static void
close_pair(int fds[2])
{
	int saved = errno;

	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	fds[0] = fds[1] = -1;
	errno = saved;
}

static int
make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) == -1) {
		whirl__seterrno("pipe");
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

/* The pipes and the parent's streams on them; the child's ends are left
 * in in[0], out[1] and err[1]. */
static int
make_streams(struct whirl_process *p, struct whirl_loop *loop,
    const struct whirl_process_options *opts, int in[2], int out[2],
    int err[2])
{
	int flags = opts->stream_flags & ~WHIRL_STREAM_BORROW_FD;

	if (make_pipe(in) == -1 || make_pipe(out) == -1)
		return -1;
	if (opts->stderr_mode == WHIRL_PROCESS_STDERR_PIPE &&
	    make_pipe(err) == -1)
		return -1;
	p->stream = whirl_stream_new_pair(loop, out[0], in[1], flags);
	if (p->stream == NULL)
		return -1;
	out[0] = in[1] = -1;	/* the stream's now */
	if (err[0] != -1) {
		p->err = whirl_stream_new_pair(loop, err[0], -1, flags);
		if (p->err == NULL)
			return -1;
		err[0] = -1;
	}
	return 0;
}

struct whirl_process *
whirl_process_new(struct whirl_loop *loop, const char *command,
    const struct whirl_process_options *opts, whirl_process_exit_cb cb,
    void *arg)
{
	static const struct whirl_process_options defaults;
	struct whirl_process *p;
	struct children *c;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };

	if (opts == NULL)
		opts = &defaults;
	p = whirl__xcalloc(1, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	p->status = -1;
	if ((c = children_get(loop)) == NULL)
		goto fail;
	if (make_streams(p, loop, opts, in, out, err) == -1)
		goto fail;
	p->pid = spawn(command, opts, in[0], out[1],
	    opts->stderr_mode == WHIRL_PROCESS_STDERR_MERGE ? out[1] : err[1]);
	if (p->pid == -1)
		goto fail;
	close_pair(in);
	close_pair(out);
	close_pair(err);
	p->children = c;
	list_insert(&c->list, p);
	return p;

fail:
	close_pair(in);
	close_pair(out);
	close_pair(err);
	if (p->err != NULL)
		whirl_stream_free(p->err);
	if (p->stream != NULL)
		whirl_stream_free(p->stream);
	free(p);
	if (c != NULL)
		children_idle(c);
	return NULL;
}

void
whirl_process_free(struct whirl_process *p)
{
	if (p == NULL)
		return;
	if (p->err != NULL)
		whirl_stream_free(p->err);
	if (p->stream != NULL)
		whirl_stream_free(p->stream);
	p->err = p->stream = NULL;
	if (!p->exited && p->children != NULL) {
		/* Detach: the SIGCHLD handler frees it once reaped. */
		p->freed = true;
		p->cb = NULL;
		return;
	}
	list_remove(p);		/* reaped, maybe awaiting its callback */
	free(p);
}

struct whirl_stream *
whirl_process_stream(const struct whirl_process *p)
{
	return p->stream;
}

struct whirl_stream *
whirl_process_stderr(const struct whirl_process *p)
{
	return p->err;
}

int
whirl_process_kill(struct whirl_process *p, int sig)
{
	/* Once the leader is reaped its pid, and so the group id, may be
	 * reused by an unrelated program. */
	if (p->exited) {
		whirl__seterr(ESRCH, "kill process group %ld: already exited",
		    (long)p->pid);
		return -1;
	}
	if (kill(-p->pid, sig) == -1) {
		whirl__seterrno("kill process group %ld", (long)p->pid);
		return -1;
	}
	return 0;
}

pid_t
whirl_process_pid(const struct whirl_process *p)
{
	return p->pid;
}

bool
whirl_process_exited(const struct whirl_process *p)
{
	return p->exited;
}

int
whirl_process_status(const struct whirl_process *p)
{
	return p->status;
}

int
whirl_std_fds_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDWR) != fd)
			return -1;
	return 0;
}
