/* test_tls.c - TLS streams: handshakes, data, failures, odd peers. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "whirl.h"
#include "unit.h"

static char certdir[] = "/tmp/whirl-tls-XXXXXX";
static struct whirl_loop *loop;

static const char *
cert(const char *name)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];

	snprintf(p, 256, "%s/%s", certdir, name);
	return p;
}

static int
make_certs(void)
{
	const char *root = getenv("WHIRL_ROOT");
	char cmd[1024];

	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/scripts/gen-test-certs %s",
	    root != NULL ? root : ".", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
remove_certs(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", certdir);
}

static struct whirl_tls_ctx *
server_ctx(const char *name, bool require_client)
{
	char crt[64], key[64];
	struct whirl_tls_server_opts o = { 0 };

	snprintf(crt, sizeof(crt), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	o.cert_file = cert(crt);
	o.key_file = cert(key);
	if (require_client) {
		o.client_ca_file = cert("ca.pem");
		o.require_client_cert = true;
	}
	return whirl_tls_server_new(&o);
}

static struct whirl_tls_ctx *
client_ctx(const char *cafile, bool with_cert)
{
	struct whirl_tls_client_opts o = { 0 };

	o.cafile = cafile != NULL ? cert(cafile) : NULL;
	if (with_cert) {
		o.cert_file = cert("client.pem");
		o.key_file = cert("client.key");
	}
	return whirl_tls_client_new(&o);
}

/* Connected TCP sockets on loopback (the listener is closed again). */
static void
tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ_INT(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ_INT(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&a, &len);
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(sv[0], (struct sockaddr *)&a, sizeof(a)), 0);
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
}

static void
unix_pair(int sv[2])
{
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* One side of a test: its stream, what its handshake said, what it read. */
struct side {
	struct whirl_stream *s;
	bool hs_done;
	char hs_err[256];
	char *got;
	size_t ngot;
	bool eof;
	char end_err[256];
	uint64_t check_pos;
	bool bad;
	bool pattern;
	int free_on_fail;
};

#define PATTERN(i) ((char)((i) * 7 % 253))

static void
on_handshake(struct whirl_stream *s, const char *err, void *arg)
{
	struct side *d = arg;

	d->hs_done = true;
	snprintf(d->hs_err, sizeof(d->hs_err), "%s", err ? err : "");
	if (err != NULL && d->free_on_fail) {
		whirl_stream_free(s);
		d->s = NULL;
	}
}

static void
on_data(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	struct side *d = arg;
	size_t i;

	(void)s;
	if (len == 0) {
		d->eof = true;
		snprintf(d->end_err, sizeof(d->end_err), "%s",
		    err ? err : "");
		return;
	}
	if (d->pattern) {
		for (i = 0; i < len; i++)
			if (data[i] != PATTERN(d->check_pos + i))
				d->bad = true;
		d->check_pos += len;
		return;
	}
	d->got = realloc(d->got, d->ngot + len + 1);
	memcpy(d->got + d->ngot, data, len);
	d->ngot += len;
	d->got[d->ngot] = '\0';
}

static void
side_start(struct side *d, int fd, struct whirl_tls_ctx *ctx,
    const char *host, int flags)
{
	d->s = whirl_stream_new(loop, fd, flags);
	CHECK_EQ_INT(whirl_stream_start_tls(d->s, ctx, host, 5000,
	    on_handshake, d), 0);
	whirl_stream_read_until_close(d->s, on_data, d);
}

static void
side_end(struct side *d)
{
	whirl_stream_free(d->s);
	free(d->got);
}

static void
exchange(void (*mkpair)(int sv[2]))
{
	struct whirl_tls_ctx *sc, *cc;
	struct side srv = { 0 }, cli = { 0 };
	int sv[2];

	loop = whirl_loop_new();
	mkpair(sv);
	sc = server_ctx("server", false);
	cc = client_ctx("ca.pem", false);
	CHECK(sc != NULL && cc != NULL);
	side_start(&srv, sv[1], sc, NULL, WHIRL_STREAM_HALF_CLOSE);
	side_start(&cli, sv[0], cc, "127.0.0.1", WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_write(cli.s, "ping from client", 16, NULL, NULL);
	whirl_stream_shutdown(cli.s);
	whirl_stream_write(srv.s, "pong from server", 16, NULL, NULL);
	whirl_stream_shutdown(srv.s);
	whirl_loop_run(loop);
	CHECK(cli.hs_done && srv.hs_done);
	CHECK_EQ_STR(cli.hs_err, "");
	CHECK_EQ_STR(srv.hs_err, "");
	CHECK_EQ_STR(srv.got, "ping from client");
	CHECK_EQ_STR(cli.got, "pong from server");
	CHECK(cli.eof && srv.eof);
	CHECK_EQ_STR(cli.end_err, "");
	CHECK(whirl_stream_is_tls(cli.s));
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

TEST(handshake_and_data_both_ways_over_socketpair)
{
	exchange(unix_pair);
}

TEST(handshake_and_data_both_ways_over_loopback_tcp)
{
	exchange(tcp_pair);
}

TEST(ten_mib_each_way_checked)
{
	struct whirl_tls_ctx *sc = server_ctx("server", false);
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side srv = { .pattern = true }, cli = { .pattern = true };
	size_t total = 10 << 20, i;
	char *buf = malloc(total);
	int sv[2];

	loop = whirl_loop_new();
	for (i = 0; i < total; i++)
		buf[i] = PATTERN(i);
	tcp_pair(sv);
	side_start(&srv, sv[1], sc, NULL, WHIRL_STREAM_HALF_CLOSE);
	side_start(&cli, sv[0], cc, "localhost", WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_write(cli.s, buf, total, NULL, NULL);
	whirl_stream_shutdown(cli.s);
	whirl_stream_write(srv.s, buf, total, NULL, NULL);
	whirl_stream_shutdown(srv.s);
	whirl_loop_run(loop);
	CHECK_EQ_INT(srv.check_pos, total);
	CHECK_EQ_INT(cli.check_pos, total);
	CHECK(!srv.bad && !cli.bad);
	CHECK(srv.eof && cli.eof);
	free(buf);
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

/* A client that must fail: returns the client's handshake error. */
static void
failing_handshake(const char *srv_cert, bool require_client,
    const char *cafile, const char *host, const char *want_client,
    bool server_must_fail)
{
	struct whirl_tls_ctx *sc = server_ctx(srv_cert, require_client);
	struct whirl_tls_ctx *cc = client_ctx(cafile, false);
	struct side srv = { 0 }, cli = { .free_on_fail = 1 };
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	side_start(&srv, sv[1], sc, NULL, 0);
	side_start(&cli, sv[0], cc, host, 0);
	whirl_loop_run(loop);
	if (want_client != NULL) {
		CHECK(cli.hs_done);
		CHECK_EQ_STR(cli.hs_err, want_client);
	}
	if (server_must_fail)
		CHECK(srv.hs_done && srv.hs_err[0] != '\0');
	if (srv.hs_err[0] != '\0')
		printf("# server said: %s\n", srv.hs_err);
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

TEST(wrong_ca_is_refused_with_openssl_reason)
{
	failing_handshake("wrongca-server", false, "ca.pem", "127.0.0.1",
	    "certificate verify failed: unable to get local issuer certificate",
	    true);
}

TEST(wrong_hostname_is_refused)
{
	failing_handshake("otherhost", false, "ca.pem", "localhost",
	    "certificate verify failed: hostname mismatch", true);
}

TEST(expired_certificate_is_refused)
{
	failing_handshake("expired", false, "ca.pem", "localhost",
	    "certificate verify failed: certificate has expired", true);
}

TEST(missing_client_certificate_is_refused_by_the_server)
{
	struct whirl_tls_ctx *sc = server_ctx("server", true);
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side srv = { 0 }, cli = { 0 };
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	side_start(&srv, sv[1], sc, NULL, 0);
	side_start(&cli, sv[0], cc, "127.0.0.1", 0);
	whirl_loop_run(loop);
	CHECK(srv.hs_done);
	CHECK_EQ_STR(srv.hs_err, "peer did not return a certificate");
	/* TLS 1.3: the client finishes first and learns it at its read. */
	CHECK_EQ_STR(cli.hs_err, "");
	CHECK_EQ_STR(cli.end_err, "tlsv13 alert certificate required");
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

TEST(client_certificate_accepted_when_required)
{
	struct whirl_tls_ctx *sc = server_ctx("server", true);
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", true);
	struct side srv = { 0 }, cli = { 0 };
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	side_start(&srv, sv[1], sc, NULL, WHIRL_STREAM_HALF_CLOSE);
	side_start(&cli, sv[0], cc, "127.0.0.1", WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_write(cli.s, "hi", 2, NULL, NULL);
	whirl_stream_shutdown(cli.s);
	whirl_stream_shutdown(srv.s);
	whirl_loop_run(loop);
	CHECK_EQ_STR(srv.hs_err, "");
	CHECK_EQ_STR(cli.hs_err, "");
	CHECK_EQ_STR(srv.got, "hi");
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

static bool bye_written;	/* by server_done_drop_tcp */

static void
server_done_drop_tcp(struct whirl_stream *s, const char *err, void *arg)
{
	(void)arg;
	CHECK(err == NULL);
	/* Data, then a TCP close with no close_notify (free never sends
	 * one; the fd is borrowed, so we close it ourselves). */
	whirl_stream_write(s, "bye", 3, NULL, NULL);
	bye_written = true;
}

/* Polls until the handshake is done (a slow loop, valgrind, may take
 * longer than the first tick) and "bye" has left. */
static void
drop_after_write(struct whirl_timer *t, void *arg)
{
	struct whirl_stream **s = arg;
	int fd = whirl_stream_fd(*s);

	if (!bye_written || whirl_stream_write_pending(*s) > 0) {
		whirl_timer_start(t, 1, false);
		return;
	}
	whirl_stream_free(*s);
	*s = NULL;
	close(fd);
}

TEST(peer_closing_without_close_notify_is_a_clean_eof)
{
	struct whirl_tls_ctx *sc = server_ctx("server", false);
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side cli = { 0 };
	struct whirl_stream *srv;
	struct whirl_timer *t;
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	srv = whirl_stream_new(loop, sv[1], WHIRL_STREAM_BORROW_FD);
	bye_written = false;
	whirl_stream_start_tls(srv, sc, NULL, 5000, server_done_drop_tcp, NULL);
	side_start(&cli, sv[0], cc, "127.0.0.1", 0);
	t = whirl_timer_new(loop, drop_after_write, &srv);
	whirl_timer_start(t, 20, false);
	whirl_loop_run(loop);
	CHECK_EQ_STR(cli.hs_err, "");
	CHECK_EQ_STR(cli.got, "bye");
	CHECK(cli.eof);
	CHECK_EQ_STR(cli.end_err, "");
	whirl_timer_free(t);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

TEST(plaintext_server_gives_a_clean_error_not_a_hang)
{
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side cli = { .free_on_fail = 1 };
	const char *resp = "HTTP/1.0 400 Bad Request\r\n\r\n";
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	CHECK(write(sv[1], resp, strlen(resp)) > 0);
	side_start(&cli, sv[0], cc, "127.0.0.1", 0);
	whirl_loop_run(loop);
	CHECK(cli.hs_done);
	CHECK_EQ_STR(cli.hs_err, "wrong version number");
	close(sv[1]);
	side_end(&cli);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

TEST(plaintext_client_on_a_tls_server_is_refused)
{
	struct whirl_tls_ctx *sc = server_ctx("server", false);
	struct side srv = { .free_on_fail = 1 };
	const char *req = "GET / HTTP/1.0\r\n\r\n";
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	CHECK(write(sv[0], req, strlen(req)) > 0);
	side_start(&srv, sv[1], sc, NULL, 0);
	whirl_loop_run(loop);
	CHECK(srv.hs_done);
	CHECK_EQ_STR(srv.hs_err, "http request");
	close(sv[0]);
	side_end(&srv);
	whirl_tls_ctx_free(sc);
	whirl_loop_free(loop);
}

TEST(silent_peer_times_out_and_is_freed_inside_the_callback)
{
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side cli = { .free_on_fail = 1 };
	int sv[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	cli.s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_start_tls(cli.s, cc, "127.0.0.1", 50, on_handshake, &cli);
	whirl_stream_write(cli.s, "queued", 6, NULL, NULL);
	whirl_loop_run(loop);
	CHECK(cli.hs_done);
	CHECK_EQ_STR(cli.hs_err, "TLS handshake timed out");
	CHECK(cli.s == NULL);
	close(sv[1]);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

static void
close_in_close_cb(struct whirl_stream *s, const char *err, void *arg)
{
	int *n = arg;

	(void)err;
	(*n)++;
	whirl_stream_free(s);
}

TEST(close_during_the_handshake_from_a_callback)
{
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct whirl_stream *s;
	struct side cli = { 0 };
	int sv[2], closes = 0;

	loop = whirl_loop_new();
	tcp_pair(sv);
	s = whirl_stream_new(loop, sv[0], 0);
	whirl_stream_set_close_cb(s, close_in_close_cb, &closes);
	whirl_stream_start_tls(s, cc, "127.0.0.1", 0, on_handshake, &cli);
	/* The peer goes away mid-handshake. */
	close(sv[1]);
	whirl_loop_run(loop);
	CHECK(cli.hs_done);
	CHECK_EQ_STR(cli.hs_err, "unexpected eof while reading");
	CHECK_EQ_INT(closes, 1);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

static void
relay_done(struct whirl_relay *r, const char *err, void *arg)
{
	(void)r;
	*(const char **)arg = err ? err : "ok";
}

struct producer {
	const char *buf;
	size_t total, off;
};

static void
produce(struct whirl_watch *w, int fd, int ready, void *arg)
{
	struct producer *p = arg;
	ssize_t n;

	(void)ready;
	while (p->off < p->total &&
	    (n = write(fd, p->buf + p->off, p->total - p->off)) > 0)
		p->off += (size_t)n;
	if (p->off == p->total) {
		whirl_watch_free(w);
		close(fd);
	}
}

TEST(relay_from_plain_pipe_into_tls)
{
	struct whirl_tls_ctx *sc = server_ctx("server", false);
	struct whirl_tls_ctx *cc = client_ctx("ca.pem", false);
	struct side srv = { .pattern = true }, cli = { 0 };
	struct whirl_stream *src;
	struct whirl_relay *r;
	const char *done = NULL;
	size_t total = 4 << 20, i;
	char *buf = malloc(total);
	struct producer prod = { buf, total, 0 };
	int sv[2], pp[2];

	loop = whirl_loop_new();
	tcp_pair(sv);
	CHECK_EQ_INT(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);
	for (i = 0; i < total; i++)
		buf[i] = PATTERN(i);
	whirl_watch_new(loop, pp[1], WHIRL_WRITE, produce, &prod);
	side_start(&srv, sv[1], sc, NULL, 0);
	side_start(&cli, sv[0], cc, "127.0.0.1", WHIRL_STREAM_HALF_CLOSE);
	whirl_stream_cancel_read(cli.s);
	src = whirl_stream_new_pair(loop, pp[0], -1, 0);
	r = whirl_relay_new(src, cli.s, WHIRL_RELAY_EOF_SHUTDOWN, relay_done,
	    &done);
	CHECK(r != NULL);
	whirl_loop_run(loop);
	CHECK_EQ_STR(done, "ok");
	CHECK_EQ_INT(srv.check_pos, total);
	CHECK(!srv.bad);
	CHECK(srv.eof);
	whirl_relay_free(r);
	whirl_stream_free(src);
	free(buf);
	side_end(&srv);
	side_end(&cli);
	whirl_tls_ctx_free(sc);
	whirl_tls_ctx_free(cc);
	whirl_loop_free(loop);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (make_certs() == -1) {
		printf("not ok 1 - gen-test-certs failed\n1..1\n");
		return 1;
	}
	RUN(handshake_and_data_both_ways_over_socketpair);
	RUN(handshake_and_data_both_ways_over_loopback_tcp);
	RUN(ten_mib_each_way_checked);
	RUN(wrong_ca_is_refused_with_openssl_reason);
	RUN(wrong_hostname_is_refused);
	RUN(expired_certificate_is_refused);
	RUN(missing_client_certificate_is_refused_by_the_server);
	RUN(client_certificate_accepted_when_required);
	RUN(peer_closing_without_close_notify_is_a_clean_eof);
	RUN(plaintext_server_gives_a_clean_error_not_a_hang);
	RUN(plaintext_client_on_a_tls_server_is_refused);
	RUN(silent_peer_times_out_and_is_freed_inside_the_callback);
	RUN(close_during_the_handshake_from_a_callback);
	RUN(relay_from_plain_pipe_into_tls);
	remove_certs();
	return unit_done();
}
