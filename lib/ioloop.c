/* ioloop.c - the event loop over one libevent event_base.
 *
 * Invariants: every libevent event made here is freed by its owner's
 * _free; a callback may free its own object because libevent never touches
 * an event again after calling it (single-threaded base), and this file
 * touches nothing after calling out.  Next-turn callbacks run from a
 * zero-delay timer, so a callback that keeps adding callbacks cannot
 * starve fd events: each batch waits for one poll in between.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "error.h"
#include "internal.h"
#include "ioloop.h"

struct turn_cb {
	struct turn_cb *next;
	whirl_loop_cb cb;
	void *arg;
};

struct whirl_loop {
	struct event_base *base;
	struct event *turn_ev;           /* runs the queued callbacks */
	struct turn_cb *turn_head, **turn_tail;
	void *slot[WHIRL__SLOT_COUNT];
	void (*slot_free[WHIRL__SLOT_COUNT])(void *);
};

struct whirl_watch {
	struct whirl_loop *loop;
	struct event *ev;
	int fd, events;
	whirl_watch_cb cb;
	void *arg;
};

struct whirl_timer {
	struct whirl_loop *loop;
	struct event *ev;
	whirl_timer_cb cb;
	void *arg;
	bool repeat;
	bool zero_repeat;     /* libevent repeats no zero timeout: we do */
};

struct whirl_signal {
	struct event *ev;
	whirl_signal_cb cb;
	void *arg;
};

static void run_turn(evutil_socket_t fd, short what, void *arg);

struct whirl_loop *
whirl_loop_new(void)
{
	struct whirl_loop *loop = whirl__xcalloc(1, sizeof(*loop));

	loop->base = event_base_new();
	if (loop->base == NULL) {
		whirl__seterr(0, "event_base_new failed");
		free(loop);
		return NULL;
	}
	loop->turn_ev = evtimer_new(loop->base, run_turn, loop);
	loop->turn_tail = &loop->turn_head;
	return loop;
}

void
whirl_loop_free(struct whirl_loop *loop)
{
	struct turn_cb *t, *next;
	int i;

	if (loop == NULL)
		return;
	for (i = 0; i < WHIRL__SLOT_COUNT; i++)
		if (loop->slot_free[i] != NULL)
			loop->slot_free[i](loop->slot[i]);
	for (t = loop->turn_head; t != NULL; t = next) {
		next = t->next;
		free(t);
	}
	event_free(loop->turn_ev);
	event_base_free(loop->base);
	free(loop);
}

int
whirl_loop_run(struct whirl_loop *loop)
{
	if (event_base_loop(loop->base, 0) == -1) {
		whirl__seterr(0, "event loop failed");
		return -1;
	}
	return 0;
}

void
whirl_loop_stop(struct whirl_loop *loop)
{
	event_base_loopbreak(loop->base);
}

uint64_t
whirl_loop_now_ms(struct whirl_loop *loop)
{
	struct timespec ts;

	(void)loop;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct event_base *
whirl__loop_base(struct whirl_loop *loop)
{
	return loop->base;
}

void *
whirl__loop_slot(struct whirl_loop *loop, enum whirl__slot slot)
{
	return loop->slot[slot];
}

void
whirl__loop_set_slot(struct whirl_loop *loop, enum whirl__slot slot,
    void *state, void (*free_state)(void *))
{
	loop->slot[slot] = state;
	loop->slot_free[slot] = free_state;
}

/* Next-turn callbacks */

static void
arm_turn(struct whirl_loop *loop)
{
	static const struct timeval now = { 0, 0 };

	event_add(loop->turn_ev, &now);
}

void
whirl_loop_add_callback(struct whirl_loop *loop, whirl_loop_cb cb, void *arg)
{
	struct turn_cb *t = whirl__xmalloc(sizeof(*t));

	t->next = NULL;
	t->cb = cb;
	t->arg = arg;
	if (loop->turn_head == NULL)
		arm_turn(loop);
	*loop->turn_tail = t;
	loop->turn_tail = &t->next;
}

/* Runs the batch queued before this turn; callbacks it adds wait for the
 * next turn.  The batch is detached first so a callback may free the loop's
 * other objects (or stop it) without disturbing the walk. */
static void
run_turn(evutil_socket_t fd, short what, void *arg)
{
	struct whirl_loop *loop = arg;
	struct turn_cb *batch = loop->turn_head, *next;

	(void)fd;
	(void)what;
	loop->turn_head = NULL;
	loop->turn_tail = &loop->turn_head;
	for (; batch != NULL; batch = next) {
		next = batch->next;
		batch->cb(loop, batch->arg);
		free(batch);
	}
}

/* fd watches */

static void
watch_fired(evutil_socket_t fd, short what, void *arg)
{
	struct whirl_watch *w = arg;
	int ready = 0;

	if (what & EV_READ)
		ready |= WHIRL_READ;
	if (what & EV_WRITE)
		ready |= WHIRL_WRITE;
	w->cb(w, (int)fd, ready, w->arg);
}

static short
ev_bits(int events)
{
	return (short)(((events & WHIRL_READ) ? EV_READ : 0) |
	    ((events & WHIRL_WRITE) ? EV_WRITE : 0));
}

struct whirl_watch *
whirl_watch_new(struct whirl_loop *loop, int fd, int events,
    whirl_watch_cb cb, void *arg)
{
	struct whirl_watch *w = whirl__xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	w->ev = event_new(loop->base, fd, EV_PERSIST, watch_fired, w);
	whirl_watch_set(w, events);
	return w;
}

void
whirl_watch_set(struct whirl_watch *w, int events)
{
	if (events == w->events)
		return;
	event_del(w->ev);
	w->events = events;
	event_assign(w->ev, w->loop->base, w->fd, EV_PERSIST | ev_bits(events),
	    watch_fired, w);
	if (events != 0)
		event_add(w->ev, NULL);
}

void
whirl_watch_free(struct whirl_watch *w)
{
	if (w == NULL)
		return;
	event_free(w->ev);
	free(w);
}

/* Timers */

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct whirl_timer *t = arg;
	static const struct timeval zero = { 0, 0 };

	(void)fd;
	(void)what;
	/* Re-armed before the call, so that stop or free inside wins. */
	if (t->zero_repeat)
		event_add(t->ev, &zero);
	t->cb(t, t->arg);
}

struct whirl_timer *
whirl_timer_new(struct whirl_loop *loop, whirl_timer_cb cb, void *arg)
{
	struct whirl_timer *t = whirl__xcalloc(1, sizeof(*t));

	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	t->ev = evtimer_new(loop->base, timer_fired, t);
	return t;
}

void
whirl_timer_start(struct whirl_timer *t, uint64_t ms, bool repeat)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_del(t->ev);
	t->zero_repeat = repeat && ms == 0;
	if (repeat != t->repeat) {
		event_assign(t->ev, t->loop->base, -1, repeat ? EV_PERSIST : 0,
		    timer_fired, t);
		t->repeat = repeat;
	}
	event_add(t->ev, &tv);
}

void
whirl_timer_stop(struct whirl_timer *t)
{
	t->zero_repeat = false;
	event_del(t->ev);
}

bool
whirl_timer_armed(const struct whirl_timer *t)
{
	return event_pending(t->ev, EV_TIMEOUT, NULL) != 0;
}

void
whirl_timer_free(struct whirl_timer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev);
	free(t);
}

/* Signals */

static void
signal_fired(evutil_socket_t signo, short what, void *arg)
{
	struct whirl_signal *s = arg;

	(void)what;
	s->cb(s, (int)signo, s->arg);
}

struct whirl_signal *
whirl_signal_new(struct whirl_loop *loop, int signo, whirl_signal_cb cb,
    void *arg)
{
	struct whirl_signal *s = whirl__xcalloc(1, sizeof(*s));

	s->cb = cb;
	s->arg = arg;
	s->ev = evsignal_new(loop->base, signo, signal_fired, s);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1) {
		whirl__seterr(0, "cannot watch signal %d", signo);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
		return NULL;
	}
	return s;
}

void
whirl_signal_free(struct whirl_signal *s)
{
	if (s == NULL)
		return;
	event_free(s->ev);
	free(s);
}
