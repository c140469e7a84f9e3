/* peer.h - the far end of a connection under test, for the fuzz targets.
 *
 * A fuzz_peer owns one connected socket (a socketpair's end, or a unix
 * socket accepted or connected): it writes the fuzzer's bytes to it,
 * whole or in pieces on successive turns of the loop, then shuts its
 * write side down (unless keep_open is set: the caller shuts down when it
 * sees fit); meanwhile it reads whatever the code under test sends and
 * hands it to on_data.  When the other side closes (EOF or an error),
 * the peer closes its socket, frees its watch and calls on_gone once.
 * So the code under test sees exactly the fuzzer's bytes, then a clean
 * EOF, and must finish on its own: nothing here waits on a timer.
 *
 * Ownership: the caller owns the struct (it must outlive the loop run);
 * the bytes to write are borrowed until written.  Header-only (static
 * inline), shared by the targets that need a peer.
 */
#ifndef WHIRL_FUZZ_PEER_H
#define WHIRL_FUZZ_PEER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "ioloop.h"

struct fuzz_peer {
	int fd;
	struct whirl_loop *loop;
	struct whirl_watch *w;
	const uint8_t *p;
	size_t n, piece;
	bool gone;
	bool keep_open;         /* no shutdown after the last byte */
	void (*on_data)(struct fuzz_peer *pr, const char *data, size_t len);
	void (*on_gone)(struct fuzz_peer *pr);
	void *arg;
};

/* Piece sizes from four option bits: 0-7 whole, else 1, 6, 11 ... 41. */
static inline size_t
fuzz_piece_size(unsigned bits)
{
	return bits < 8 ? SIZE_MAX : (size_t)(bits - 7) * 5 - 4;
}

static inline void
fuzz_peer_gone(struct fuzz_peer *pr)
{
	if (pr->gone)
		return;
	pr->gone = true;
	whirl_watch_free(pr->w);
	pr->w = NULL;
	close(pr->fd);
	pr->fd = -1;
	if (pr->on_gone != NULL)
		pr->on_gone(pr);
}

static inline void
fuzz_peer_read(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct fuzz_peer *pr = arg;
	char buf[65536];
	ssize_t n;

	(void)w;
	(void)ready;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		if (pr->on_data != NULL)
			pr->on_data(pr, buf, (size_t)n);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	fuzz_peer_gone(pr);
}

static inline void
fuzz_peer_write(struct whirl_loop *loop, void *arg)
{
	struct fuzz_peer *pr = arg;
	size_t len = pr->piece < pr->n ? pr->piece : pr->n;
	ssize_t n;

	if (pr->gone)
		return;
	if (len > 0) {
		n = write(pr->fd, pr->p, len);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			pr->n = 0;      /* the other side left first */
		} else if (n > 0) {
			pr->p += n;
			pr->n -= (size_t)n;
		}
	}
	if (pr->n > 0)
		whirl_loop_add_callback(loop, fuzz_peer_write, pr);
	else if (!pr->keep_open)
		shutdown(pr->fd, SHUT_WR);
}

/* Start on fd (non-blocking, connected): the first piece is written
 * now. */
static inline void
fuzz_peer_start(struct fuzz_peer *pr, struct whirl_loop *loop, int fd,
    const uint8_t *p, size_t n, size_t piece)
{
	pr->fd = fd;
	pr->loop = loop;
	pr->p = p;
	pr->n = n;
	pr->piece = piece;
	pr->gone = false;
	pr->w = whirl_watch_new(loop, fd, WHIRL_READ, fuzz_peer_read, pr);
	FUZZ_CHECK(pr->w != NULL);
	fuzz_peer_write(loop, pr);
}

#endif
