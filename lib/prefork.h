/* prefork.h - many worker processes, one supervisor: Tornado's
 * fork_processes, kept alive.
 *
 * whirl_prefork forks n workers; each runs ops->run(index, arg) and exits
 * with what it returns.  The calling process becomes their supervisor and stays
 * in whirl_prefork until every worker is gone:
 *
 *   - a worker that dies is replaced by a new one with the same index
 *     (one second later if it lived less than a second, so a worker that
 *     fails at start does not spin);
 *   - SIGHUP and SIGUSR1 are passed on to every worker;
 *   - SIGTERM or SIGINT is passed on to every worker and nothing is
 *     replaced any more; a second one is passed on too.
 *
 * The usual server shape is: bind the listening sockets (one per worker
 * with SO_REUSEPORT, so that the kernel spreads connections), load
 * everything that can fail, then whirl_prefork; each worker creates its own
 * loop (never one made before the fork) and serves the sockets of its
 * index, and the supervisor closes its copies (ops->forked) and opens new
 * ones for a replacement (ops->prepare).  A worker dies with the supervisor (PR_SET_PDEATHSIG), so a
 * killed supervisor does not leave a port served by orphans, and runs in
 * a process group of its own, so a ^C on the terminal reaches the
 * supervisor alone (which passes it on once).
 *
 * Ownership: nothing is allocated; what the caller built before the call
 * is copied into each worker by fork and stays the caller's in the
 * supervisor.
 */
#ifndef WHIRL_PREFORK_H
#define WHIRL_PREFORK_H

/* What the supervisor calls; index is 0..n-1 and arg is passed back. */
struct whirl_prefork_ops {
	/* In the supervisor, before each fork (NULL: nothing to do):
	 * open what worker index needs (its listening sockets).  -1 skips
	 * this start; it is tried again a second later. */
	int (*prepare)(int index, void *arg);
	/* In the worker: its whole life; the return value is its exit
	 * status.  It starts with the caller's signal mask, and with SIGHUP
	 * and SIGUSR1 ignored until it handles them itself. */
	int (*run)(int index, void *arg);
	/* In the supervisor, after each fork, whether it worked or not
	 * (NULL: nothing): close the supervisor's copies of what prepare
	 * opened, so that a dead worker's sockets die with it. */
	void (*forked)(int index, void *arg);
};

/* Run n (>= 1) workers until they are stopped by a signal.  Returns, in
 * the supervisor, 0 when a single SIGTERM or SIGINT stopped them and each
 * exited 0, else 1; -1 with whirl_error() when the first worker cannot be
 * started.  Never returns in a worker. */
int whirl_prefork(int n, const struct whirl_prefork_ops *ops, void *arg);

#endif
