/* ioloop.h - the event loop: fd watches, timers, next-turn callbacks,
 * signals, run and stop.
 *
 * A whirl_loop wraps one libevent event_base and is driven by one thread.
 * Every whirl object (stream, server, process) belongs to one loop and
 * its callbacks run from whirl_loop_run() on that thread.
 *
 * Ownership: the caller owns what a _new function returns and frees it with
 * the matching _free.  Any object may be freed from inside its own
 * callback, and a loop may be stopped from inside any callback.  Freeing
 * the loop while objects still belong to it is a bug: free them first.
 *
 * Callbacks receive the object they were registered on and the caller's
 * arg, unchanged.
 */
#ifndef WHIRL_IOLOOP_H
#define WHIRL_IOLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct whirl_loop;
struct whirl_watch;
struct whirl_timer;
struct whirl_signal;

/* Readiness bits for fd watches. */
#define WHIRL_READ  0x1
#define WHIRL_WRITE 0x2

typedef void (*whirl_loop_cb)(struct whirl_loop *loop, void *arg);
typedef void (*whirl_watch_cb)(struct whirl_watch *w, int fd, int ready,
    void *arg);
typedef void (*whirl_timer_cb)(struct whirl_timer *t, void *arg);
typedef void (*whirl_signal_cb)(struct whirl_signal *s, int signo, void *arg);

/* Create a loop.  NULL with whirl_error() on failure. */
struct whirl_loop *whirl_loop_new(void);
/* Free a loop; pending next-turn callbacks are dropped, not called. */
void whirl_loop_free(struct whirl_loop *loop);

/* Run until whirl_loop_stop() or until nothing is left to wait for.
 * Returns 0, or -1 with whirl_error() if the backend failed. */
int whirl_loop_run(struct whirl_loop *loop);
/* Make whirl_loop_run() return after the callback now running (if any)
 * finishes.  Safe from any callback. */
void whirl_loop_stop(struct whirl_loop *loop);

/* Milliseconds on the monotonic clock (for deadlines, never dates). */
uint64_t whirl_loop_now_ms(struct whirl_loop *loop);

/* Call cb(loop, arg) on the next turn of the loop, after the events now
 * ready.  Callbacks added during a turn run in the order they were added.
 * Cannot fail (aborts on out of memory). */
void whirl_loop_add_callback(struct whirl_loop *loop, whirl_loop_cb cb,
    void *arg);

/* Watch fd for the readiness bits in `events` (WHIRL_READ | WHIRL_WRITE).
 * cb fires each time the fd is ready for one of them, with the ready bits.
 * The fd stays the caller's; freeing the watch does not close it. */
struct whirl_watch *whirl_watch_new(struct whirl_loop *loop, int fd,
    int events, whirl_watch_cb cb, void *arg);
/* Change the watched bits (0 pauses the watch). */
void whirl_watch_set(struct whirl_watch *w, int events);
void whirl_watch_free(struct whirl_watch *w);

/* A timer, created stopped.  whirl_timer_start arms it for ms
 * milliseconds from now, once or (repeat) every ms; starting an armed
 * timer re-arms it.  whirl_timer_stop disarms it; both are safe from its
 * own callback. */
struct whirl_timer *whirl_timer_new(struct whirl_loop *loop,
    whirl_timer_cb cb, void *arg);
void whirl_timer_start(struct whirl_timer *t, uint64_t ms, bool repeat);
void whirl_timer_stop(struct whirl_timer *t);
bool whirl_timer_armed(const struct whirl_timer *t);
void whirl_timer_free(struct whirl_timer *t);

/* Deliver signo to cb on the loop (not in signal context).  One loop per
 * process may watch signals.  NULL with whirl_error() on failure.
 * Freeing the last watch of a signal restores its previous disposition. */
struct whirl_signal *whirl_signal_new(struct whirl_loop *loop, int signo,
    whirl_signal_cb cb, void *arg);
void whirl_signal_free(struct whirl_signal *s);

#endif
