/* prefork.c - fork workers, replace the dead, pass signals on.
 *
 * The supervisor has no loop: it blocks the signals it cares about and
 * takes them one at a time with sigtimedwait, which also sleeps until a
 * delayed replacement is due.  Workers start with the caller's signal mask
 * and dispositions restored.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "log.h"
#include "prefork.h"

#define RESPAWN_DELAY_MS 1000   /* for a worker that lived less than this */

struct worker {
	pid_t pid;              /* 0: not running */
	uint64_t started_ms;
	uint64_t due_ms;        /* when to start it again (0: now) */
};

struct prefork {
	struct worker *w;
	int n;
	const struct whirl_prefork_ops *ops;
	void *arg;
	sigset_t old_mask, caught;
	int stops;              /* SIGTERM/SIGINT seen */
	bool failed;            /* a worker exited non-zero after the stop */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static pid_t
start(struct prefork *pf, int i)
{
	pid_t parent = getpid(), pid;

	if (pf->ops->prepare != NULL && pf->ops->prepare(i, pf->arg) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		/* Out of the terminal's process group: a ^C reaches the
		 * supervisor alone, which passes it on once. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)        /* the supervisor is gone */
			_exit(1);
		/* A reload or a reopen sent before the worker is ready
		 * must not kill it. */
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		sigprocmask(SIG_SETMASK, &pf->old_mask, NULL);
		exit(pf->ops->run(i, pf->arg));
	}
	if (pid == -1)
		whirl__seterrno("fork");
	if (pf->ops->forked != NULL)
		pf->ops->forked(i, pf->arg);
	if (pid == -1)
		return -1;
	pf->w[i].pid = pid;
	pf->w[i].started_ms = now_ms();
	pf->w[i].due_ms = 0;
	return pid;
}

static void
pass_on(struct prefork *pf, int signo)
{
	int i;

	for (i = 0; i < pf->n; i++)
		if (pf->w[i].pid > 0)
			kill(pf->w[i].pid, signo);
}

static int
index_of(const struct prefork *pf, pid_t pid)
{
	int i;

	for (i = 0; i < pf->n; i++)
		if (pf->w[i].pid == pid)
			return i;
	return -1;
}

/* Reap every worker that has exited; schedule replacements. */
static void
reap(struct prefork *pf)
{
	struct worker *w;
	pid_t pid;
	int status, i;
	uint64_t now = now_ms();

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((i = index_of(pf, pid)) == -1)
			continue;
		w = &pf->w[i];
		w->pid = 0;
		if (pf->stops > 0) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				pf->failed = true;
			continue;
		}
		if (WIFSIGNALED(status))
			whirl_log_warning("worker %d (pid %d) killed by signal "
			    "%d; starting another", i, (int)pid,
			    WTERMSIG(status));
		else
			whirl_log_warning("worker %d (pid %d) exited with "
			    "status %d; starting another", i, (int)pid,
			    WEXITSTATUS(status));
		w->due_ms = now - w->started_ms < RESPAWN_DELAY_MS ?
		    now + RESPAWN_DELAY_MS : now;
	}
}

/* Start the replacements that are due; returns ms until the next one
 * (-1: none waiting). */
static int64_t
respawn(struct prefork *pf)
{
	uint64_t now = now_ms();
	int64_t wait = -1, left;
	int i;

	if (pf->stops > 0)
		return -1;
	for (i = 0; i < pf->n; i++) {
		if (pf->w[i].pid != 0)
			continue;
		if (pf->w[i].due_ms <= now) {
			if (start(pf, i) == -1)
				whirl_log_error("worker %d: %s", i,
				    whirl_error());
			else
				continue;
			pf->w[i].due_ms = now + RESPAWN_DELAY_MS;
		}
		left = (int64_t)(pf->w[i].due_ms - now);
		if (wait == -1 || left < wait)
			wait = left;
	}
	return wait;
}

static bool
any_running(const struct prefork *pf)
{
	int i;

	for (i = 0; i < pf->n; i++)
		if (pf->w[i].pid != 0)
			return true;
	return false;
}

static int
wait_signal(struct prefork *pf, int64_t wait_ms)
{
	struct timespec ts;

	if (wait_ms < 0)
		return sigwaitinfo(&pf->caught, NULL);
	ts.tv_sec = wait_ms / 1000;
	ts.tv_nsec = (wait_ms % 1000) * 1000000;
	return sigtimedwait(&pf->caught, NULL, &ts);
}

static void
supervise(struct prefork *pf)
{
	int64_t wait = -1;
	int signo;

	while (pf->stops == 0 || any_running(pf)) {
		signo = wait_signal(pf, wait);
		switch (signo) {
		case SIGCHLD:
			reap(pf);
			break;
		case SIGTERM:
		case SIGINT:
			pf->stops++;
			pass_on(pf, signo);
			break;
		case SIGHUP:
		case SIGUSR1:
			pass_on(pf, signo);
			break;
		}
		wait = respawn(pf);
	}
}

int
whirl_prefork(int n, const struct whirl_prefork_ops *ops, void *arg)
{
	struct prefork pf = { .n = n, .ops = ops, .arg = arg };
	int i;

	pf.w = whirl__xcalloc((size_t)n, sizeof(*pf.w));
	sigemptyset(&pf.caught);
	sigaddset(&pf.caught, SIGCHLD);
	sigaddset(&pf.caught, SIGTERM);
	sigaddset(&pf.caught, SIGINT);
	sigaddset(&pf.caught, SIGHUP);
	sigaddset(&pf.caught, SIGUSR1);
	sigprocmask(SIG_BLOCK, &pf.caught, &pf.old_mask);
	for (i = 0; i < n; i++) {
		if (start(&pf, i) == -1) {
			if (i == 0) {
				sigprocmask(SIG_SETMASK, &pf.old_mask, NULL);
				free(pf.w);
				return -1;
			}
			whirl_log_error("worker %d: %s", i, whirl_error());
			pf.w[i].due_ms = now_ms() + RESPAWN_DELAY_MS;
		}
	}
	supervise(&pf);
	sigprocmask(SIG_SETMASK, &pf.old_mask, NULL);
	free(pf.w);
	return pf.stops == 1 && !pf.failed ? 0 : 1;
}
