/* process.h - child programs run by /bin/sh, with their pipes as streams
 * on the loop.
 *
 * whirl_process_new runs `/bin/sh -c COMMAND sh ARG...` in a process group
 * of its own (the child's pid is the group id), with its stdin and its
 * stdout on pipes that one whirl_stream reads and writes: what the caller
 * writes to the stream is the child's input, what the stream reads is the
 * child's output.  By default the child's stderr goes into the same pipe
 * as its stdout, in the order the child wrote them (whirl-socket -p); it
 * may instead get a read-only stream of its own, or inherit the caller's.
 *
 * The child starts with every signal at its default disposition (even
 * those the caller ignores, such as SIGPIPE), an empty signal mask, and no
 * fd but 0, 1 and 2: every fd above 2 is closed, whether or not it was
 * close-on-exec.  A command that does not exist is the shell's business:
 * it exits 127.
 *
 * The exit callback fires once, from the loop, when the child (the shell,
 * the group leader) has exited and been reaped.  It is independent of the
 * stream: the stream's EOF may come before or after it, or later still if
 * a background grandchild keeps the pipe open.  Exits are noticed through
 * a SIGCHLD watch on the loop (so the loop must be the one loop of the
 * program that watches signals) that lives while children do; each of
 * our children is reaped by its own pid, so children that other code
 * started are never waited for here.
 *
 * Ownership: the caller owns the process and frees it with
 * whirl_process_free, which is safe from inside any callback, the exit
 * callback included.  The process owns its streams: they are valid until
 * whirl_process_free, which frees them (the caller may close or shut them
 * down earlier, but never free them).  Freeing a process whose child still
 * runs does not kill it: the child is detached from the caller and still
 * reaped, without a callback, when it exits, so it never lingers as a
 * zombie.  Call whirl_process_kill first to end it.  Free every process
 * before freeing the loop.
 */
#ifndef WHIRL_PROCESS_H
#define WHIRL_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

struct whirl_loop;
struct whirl_stream;
struct whirl_process;

/* status: the raw wait status; test it with <sys/wait.h>'s WIFEXITED /
 * WEXITSTATUS and WIFSIGNALED / WTERMSIG.  It is -1 in the rare case that
 * other code reaped our child first (a waitpid(-1) elsewhere), when the
 * status is lost. */
typedef void (*whirl_process_exit_cb)(struct whirl_process *p, int status,
    void *arg);

/* Where the child's stderr goes. */
enum whirl_process_stderr {
	WHIRL_PROCESS_STDERR_MERGE,	/* into the stream, with stdout */
	WHIRL_PROCESS_STDERR_PIPE,	/* a second, read-only stream */
	WHIRL_PROCESS_STDERR_INHERIT	/* the caller's fd 2 */
};

/* Options; all-zero (or a NULL pointer) means the defaults. */
struct whirl_process_options {
	/* NULL-terminated; the child's $1, $2, ... */
	const char *const *args;
	/* NULL-terminated "NAME=value" entries added to the caller's
	 * environment, replacing a variable of the same name; a bare "NAME"
	 * removes that variable. */
	const char *const *env;
	/* The child's working directory (NULL: the caller's). */
	const char *cwd;
	enum whirl_process_stderr stderr_mode;
	/* Flags for the streams, such as WHIRL_STREAM_HALF_CLOSE (so the
	 * child's stdin stays writable after its stdout's EOF).
	 * WHIRL_STREAM_BORROW_FD is ignored: the streams own the pipes. */
	int stream_flags;
};

/* Start `/bin/sh -c command sh args...` as described above; cb (may be
 * NULL) gets its exit status.  The child has been started (its process
 * group exists) when this returns.  Returns NULL with whirl_error() when
 * a pipe, the SIGCHLD watch or the spawn itself fails (no /bin/sh, a cwd
 * that does not exist, no processes left); nothing is left running then. */
struct whirl_process *whirl_process_new(struct whirl_loop *loop,
    const char *command, const struct whirl_process_options *opts,
    whirl_process_exit_cb cb, void *arg);
/* Free the process and its streams (closing the child's pipes).  A child
 * still running is not signalled; it is reaped when it exits. */
void whirl_process_free(struct whirl_process *p);

/* The stream that writes the child's stdin and reads its stdout (and its
 * stderr with WHIRL_PROCESS_STDERR_MERGE).  Never NULL. */
struct whirl_stream *whirl_process_stream(const struct whirl_process *p);
/* The read-only stream of the child's stderr with
 * WHIRL_PROCESS_STDERR_PIPE; NULL otherwise. */
struct whirl_stream *whirl_process_stderr(const struct whirl_process *p);

/* Send sig to the child's whole process group (kill(-pid, sig)), so that
 * the programs the shell started get it too.  Returns 0, or -1 with
 * whirl_error() (errno ESRCH once the exit was reported: the group id may
 * then belong to someone else). */
int whirl_process_kill(struct whirl_process *p, int sig);

/* The child's pid, which is also its process group id. */
pid_t whirl_process_pid(const struct whirl_process *p);
/* True once the child has been reaped; whirl_process_status then gives
 * the status the exit callback got (-1 before). */
bool whirl_process_exited(const struct whirl_process *p);
int whirl_process_status(const struct whirl_process *p);

/* Open /dev/null onto any of fds 0-2 that arrived closed, so that no
 * socket or pipe of ours ever lands on "stdin".  Every tool calls it
 * first.  -1 if /dev/null cannot be opened there. */
int whirl_std_fds_open(void);

#endif
