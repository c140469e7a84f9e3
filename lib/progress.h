/* progress.h - progress bars for transfers on a terminal, as wget draws
 * them.
 *
 *   rand.bin            45%[=========>            ] 135.00K  1.20MB/s  eta 1s
 *   hello.txt          100%[======================>]  17.00K   850KB/s  in 0.1s
 *
 * A whirl_progress owns the last lines of a terminal (an fd, stderr for
 * the tools): one line per transfer, each redrawn in place by
 * whirl_progress_draw, which a tool calls from a repeating timer.  A bar
 * appears only once its transfer has lasted WHIRL_PROGRESS_DELAY seconds,
 * so quick transfers draw nothing.  When a shown transfer ends, its line
 * is drawn one last time (the average rate and the time it took) and
 * stays on the screen above the lines still moving.
 *
 * Times are seconds on a monotonic clock, given by the caller, so that
 * the drawing is a function of its inputs.  Writes to the fd that fail
 * (a full pipe, a closed terminal) are ignored: progress is decoration.
 *
 * Ownership: the meter owns its bars; a bar ended with whirl_progress_end
 * is freed by the meter at its next draw (the caller forgets it at once).
 * whirl_progress_free frees the bars left and leaves the screen as it is.
 */
#ifndef WHIRL_PROGRESS_H
#define WHIRL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WHIRL_PROGRESS_DELAY 0.5

struct whirl_progress;
struct whirl_progress_bar;

/* One line's figures, for whirl_progress_format. */
struct whirl_progress_state {
	const char *name;       /* shortened to fit */
	uint64_t bytes;         /* arrived so far */
	int64_t total;          /* -1: unknown */
	double rate;            /* bytes per second, < 0: unknown */
	double secs;            /* since the transfer began */
	bool done;
};

/* A meter on fd, columns wide and rows high (0: ask the terminal; 80 by
 * 24 if it will not say).  Cannot fail. */
struct whirl_progress *whirl_progress_new(int fd, int columns, int rows);
void whirl_progress_free(struct whirl_progress *p);

/* A bar for a transfer that begins at now; name is copied. */
struct whirl_progress_bar *whirl_progress_add(struct whirl_progress *p,
    const char *name, double now);
/* The transfer's size once known (-1: unknown, the default). */
void whirl_progress_set_total(struct whirl_progress_bar *b, int64_t total);
/* bytes have arrived so far. */
void whirl_progress_update(struct whirl_progress_bar *b, uint64_t bytes);
/* The transfer is over: the next draw shows its last line (if it was
 * shown at all) and frees the bar. */
void whirl_progress_end(struct whirl_progress_bar *b, double now);

/* Redraw the lines at now. */
void whirl_progress_draw(struct whirl_progress *p, double now);
/* Erase the lines (before other output to the terminal); the next draw
 * puts them back. */
void whirl_progress_clear(struct whirl_progress *p);

/* One line of at most width columns (at least 20) into buf, which
 * always ends with a NUL.  Returns the line's length. */
size_t whirl_progress_format(char *buf, size_t size, int width,
    const struct whirl_progress_state *st);

#endif
