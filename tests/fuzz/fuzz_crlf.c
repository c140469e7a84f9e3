/* fuzz_crlf.c - whirl-socket's -c conversion: the relay filters
 * whirl_filter_lf_to_crlf and whirl_filter_drop_cr (iostream.h), on a
 * real relay between two socketpairs.
 *
 * A peer writes the input into the relay's source, whole or in pieces,
 * then its EOF; the relay filters it into the destination, whose far end
 * collects what arrives; the relay shuts the destination down at the end.
 *
 * Input: one option byte, then the bytes.
 *   bit 0     drop_cr (else lf_to_crlf)
 *   bits 4-7  pieces (peer.h)
 *
 * Properties checked: what arrives is the input with every LF made CR LF
 * (or every CR removed), whatever the pieces; the relay ends once, with
 * no error; nothing is left on the loop.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "peer.h"
#include "whirl.h"

static struct whirl_loop *loop;

struct run {
	struct whirl_stream *src, *dst;
	struct fuzz_peer writer, reader;
	char *got;
	size_t len, cap;
	int dones;
};

static void
collect(struct fuzz_peer *pr, const char *data, size_t len)
{
	struct run *r = pr->arg;

	if (r->len + len > r->cap) {
		r->cap = (r->len + len) * 2;
		r->got = realloc(r->got, r->cap);
		FUZZ_CHECK(r->got != NULL);
	}
	memcpy(r->got + r->len, data, len);
	r->len += len;
}

static void
relay_done(struct whirl_relay *rl, const char *err, void *arg)
{
	struct run *r = arg;

	FUZZ_CHECK(r->dones++ == 0);
	if (err != NULL)
		fprintf(stderr, "relay: %s\n", err);
	FUZZ_CHECK(err == NULL);
	whirl_relay_bytes(rl);
	whirl_relay_free(rl);
	whirl_stream_free(r->src);
	r->src = NULL;
	/* The destination was shut down: close it once it drained. */
	whirl_stream_linger_free(r->dst, 10000);
	r->dst = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	loop = whirl_loop_new();
	FUZZ_CHECK(loop != NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t o = fuzz_byte(&in);
	bool drop = o & 1;
	struct whirl_relay *rl;
	struct run r;
	int a[2], b[2];
	size_t i, j;

	memset(&r, 0, sizeof(r));
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, a) == 0);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, b) == 0);
	r.src = whirl_stream_new(loop, a[0], WHIRL_STREAM_SOCKET);
	r.dst = whirl_stream_new(loop, b[0], WHIRL_STREAM_SOCKET);
	FUZZ_CHECK(r.src != NULL && r.dst != NULL);
	rl = whirl_relay_new(r.src, r.dst, WHIRL_RELAY_EOF_SHUTDOWN,
	    relay_done, &r);
	FUZZ_CHECK(rl != NULL);
	whirl_relay_set_filter(rl, drop ? whirl_filter_drop_cr :
	    whirl_filter_lf_to_crlf, NULL);
	r.reader.on_data = collect;
	r.reader.arg = &r;
	r.reader.keep_open = true;
	fuzz_peer_start(&r.reader, loop, b[1], NULL, 0, SIZE_MAX);
	fuzz_peer_start(&r.writer, loop, a[1], in.p, in.n,
	    fuzz_piece_size(o >> 4));

	FUZZ_CHECK(whirl_loop_run(loop) == 0);
	FUZZ_CHECK(r.dones == 1);
	FUZZ_CHECK(r.reader.gone && r.writer.gone);
	/* The transformation, done here the plain way. */
	for (i = 0, j = 0; i < in.n; i++) {
		if (drop && in.p[i] == '\r')
			continue;
		if (!drop && in.p[i] == '\n') {
			FUZZ_CHECK(j < r.len && r.got[j] == '\r');
			j++;
		}
		FUZZ_CHECK(j < r.len && r.got[j] == (char)in.p[i]);
		j++;
	}
	FUZZ_CHECK(j == r.len);
	free(r.got);
	return 0;
}
