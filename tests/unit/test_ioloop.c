/* test_ioloop.c - callbacks, timers, watches, signals and stop. */
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static char order[64];
static size_t norder;

static void
note(char c)
{
	if (norder + 1 < sizeof(order))
		order[norder++] = c;
	order[norder] = '\0';
}

static void
reset(void)
{
	norder = 0;
	order[0] = '\0';
}

static void
cb_note(struct whirl_loop *loop, void *arg)
{
	(void)loop;
	note(*(const char *)arg);
}

static void
cb_add_more(struct whirl_loop *loop, void *arg)
{
	(void)arg;
	note('x');
	/* Added during a turn: runs on the next turn, after 'b' and 'c'. */
	whirl_loop_add_callback(loop, cb_note, "y");
}

TEST(callbacks_run_in_order_and_nested_ones_wait)
{
	struct whirl_loop *loop = whirl_loop_new();

	reset();
	whirl_loop_add_callback(loop, cb_note, "a");
	whirl_loop_add_callback(loop, cb_add_more, NULL);
	whirl_loop_add_callback(loop, cb_note, "b");
	whirl_loop_add_callback(loop, cb_note, "c");
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	CHECK_EQ_STR(order, "axbcy");
	whirl_loop_free(loop);
}

static void
timer_note(struct whirl_timer *t, void *arg)
{
	(void)t;
	note(*(const char *)arg);
}

TEST(timers_fire_in_deadline_order)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_timer *t30 = whirl_timer_new(loop, timer_note, "3");
	struct whirl_timer *t10 = whirl_timer_new(loop, timer_note, "1");
	struct whirl_timer *t20 = whirl_timer_new(loop, timer_note, "2");

	reset();
	whirl_timer_start(t30, 30, false);
	whirl_timer_start(t10, 10, false);
	whirl_timer_start(t20, 20, false);
	CHECK(whirl_timer_armed(t10));
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "123");
	CHECK(!whirl_timer_armed(t10));
	whirl_timer_free(t10);
	whirl_timer_free(t20);
	whirl_timer_free(t30);
	whirl_loop_free(loop);
}

TEST(stopped_timer_never_fires)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_timer *a = whirl_timer_new(loop, timer_note, "a");
	struct whirl_timer *b = whirl_timer_new(loop, timer_note, "b");

	reset();
	whirl_timer_start(a, 5, false);
	whirl_timer_start(b, 1, false);
	whirl_timer_stop(a);
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "b");
	whirl_timer_free(a);
	whirl_timer_free(b);
	whirl_loop_free(loop);
}

static int ticks;

static void
tick_then_stop_at_3(struct whirl_timer *t, void *arg)
{
	(void)arg;
	if (++ticks == 3)
		whirl_timer_stop(t);   /* from inside its own callback */
}

TEST(repeating_timer_repeats_until_stopped)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_timer *t = whirl_timer_new(loop, tick_then_stop_at_3, NULL);

	ticks = 0;
	whirl_timer_start(t, 1, true);
	whirl_loop_run(loop);      /* returns: nothing left once stopped */
	CHECK_EQ_INT(ticks, 3);
	whirl_timer_free(t);
	whirl_loop_free(loop);
}

static void
free_self(struct whirl_timer *t, void *arg)
{
	(void)arg;
	note('f');
	whirl_timer_free(t);
}

TEST(timer_freed_inside_its_callback)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_timer *once = whirl_timer_new(loop, free_self, NULL);
	struct whirl_timer *rep = whirl_timer_new(loop, free_self, NULL);

	reset();
	whirl_timer_start(once, 1, false);
	whirl_timer_start(rep, 2, true);
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "ff");
	whirl_loop_free(loop);
}

static void
stop_loop(struct whirl_timer *t, void *arg)
{
	(void)t;
	note('s');
	whirl_loop_stop(arg);
}

TEST(stop_from_a_callback_leaves_the_rest_pending)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_timer *stop = whirl_timer_new(loop, stop_loop, loop);
	struct whirl_timer *later = whirl_timer_new(loop, timer_note, "L");

	reset();
	whirl_timer_start(stop, 1, false);
	whirl_timer_start(later, 60000, false);
	CHECK_EQ_INT(whirl_loop_run(loop), 0);
	CHECK_EQ_STR(order, "s");
	CHECK(whirl_timer_armed(later));
	whirl_timer_free(stop);
	whirl_timer_free(later);
	whirl_loop_free(loop);
}

static void
watch_read(struct whirl_watch *w, int fd, int ready, void *arg)
{
	char c;

	(void)arg;
	CHECK(ready & WHIRL_READ);
	CHECK_EQ_INT(read(fd, &c, 1), 1);
	note(c);
	if (c == 'z')
		whirl_watch_free(w);
}

TEST(fd_watch_reads_until_freed_inside_callback)
{
	struct whirl_loop *loop = whirl_loop_new();
	int sv[2];

	reset();
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ_INT(write(sv[1], "abz", 3), 3);
	whirl_watch_new(loop, sv[0], WHIRL_READ, watch_read, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "abz");
	close(sv[0]);
	close(sv[1]);
	whirl_loop_free(loop);
}

static void
watch_write(struct whirl_watch *w, int fd, int ready, void *arg)
{
	(void)fd;
	(void)arg;
	CHECK_EQ_INT(ready, WHIRL_WRITE);
	note('w');
	whirl_watch_set(w, 0);      /* paused: the loop has nothing left */
}

TEST(fd_watch_write_and_pause)
{
	struct whirl_loop *loop = whirl_loop_new();
	struct whirl_watch *w;
	int sv[2];

	reset();
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	w = whirl_watch_new(loop, sv[0], WHIRL_WRITE, watch_write, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "w");
	whirl_watch_free(w);
	close(sv[0]);
	close(sv[1]);
	whirl_loop_free(loop);
}

static void
on_signal(struct whirl_signal *s, int signo, void *arg)
{
	(void)arg;
	CHECK_EQ_INT(signo, SIGUSR1);
	note('S');
	whirl_signal_free(s);
}

static void
raise_usr1(struct whirl_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	raise(SIGUSR1);
}

TEST(signal_delivered_on_the_loop)
{
	struct whirl_loop *loop = whirl_loop_new();

	reset();
	CHECK(whirl_signal_new(loop, SIGUSR1, on_signal, NULL) != NULL);
	whirl_loop_add_callback(loop, raise_usr1, NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(order, "S");
	whirl_loop_free(loop);
}

TEST(monotonic_clock_moves_forward)
{
	struct whirl_loop *loop = whirl_loop_new();
	uint64_t a = whirl_loop_now_ms(loop);

	usleep(2000);
	CHECK(whirl_loop_now_ms(loop) >= a + 1);
	whirl_loop_free(loop);
}

int
main(void)
{
	RUN(callbacks_run_in_order_and_nested_ones_wait);
	RUN(timers_fire_in_deadline_order);
	RUN(stopped_timer_never_fires);
	RUN(repeating_timer_repeats_until_stopped);
	RUN(timer_freed_inside_its_callback);
	RUN(stop_from_a_callback_leaves_the_rest_pending);
	RUN(fd_watch_reads_until_freed_inside_callback);
	RUN(fd_watch_write_and_pause);
	RUN(signal_delivered_on_the_loop);
	RUN(monotonic_clock_moves_forward);
	return unit_done();
}
