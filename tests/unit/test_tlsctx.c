/* test_tlsctx.c - TLS contexts without a loop: loading certificates and
 * keys, the errors for bad files and options, the SSL set up for a host
 * name or an IP literal, and handshakes between a client SSL and a server
 * SSL joined by a BIO pair in memory, for each verification outcome,
 * client certificates, ALPN and SNI, with the exact reasons
 * whirl__tls_reason gives on both sides. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "internal.h"
#include "tls.h"
#include "unit.h"

static char certdir[] = "/tmp/whirl-tlsctx-XXXXXX";

/* DIR/name, in one of a few rotating buffers. */
static const char *
cert(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", certdir, name);
	return p;
}

/* tests/run gives WHIRL_ROOT; otherwise the tree this file was built from
 * (__FILE__ is relative to where make ran, or absolute). */
static void
script_path(char *buf, size_t size)
{
	const char *root = getenv("WHIRL_ROOT");
	const char *self = "tests/unit/test_tlsctx.c";
	size_t len = strlen(__FILE__), slen = strlen(self);

	if (root != NULL)
		snprintf(buf, size, "%s/scripts/gen-test-certs", root);
	else if (len >= slen && strcmp(__FILE__ + len - slen, self) == 0)
		snprintf(buf, size, "%.*sscripts/gen-test-certs",
		    (int)(len - slen), __FILE__);
	else
		snprintf(buf, size, "scripts/gen-test-certs");
}

static int
gen_certs(void)
{
	char script[1024];
	int status;
	pid_t pid;

	if (mkdtemp(certdir) == NULL)
		return -1;
	script_path(script, sizeof(script));
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", script, certdir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
rm_certs(void)
{
	DIR *d = opendir(certdir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlink(cert(e->d_name));
	closedir(d);
	rmdir(certdir);
}

/*
 * Contexts
 */

static struct whirl_tls_ctx *
server_ctx(const char *name)
{
	struct whirl_tls_server_opts o = { 0 };
	char pem[64], key[64];

	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	o.cert_file = cert(pem);
	o.key_file = cert(key);
	return whirl_tls_server_new(&o);
}

/* A client trusting cafile (a name in certdir). */
static struct whirl_tls_ctx *
client_ctx(const char *cafile)
{
	struct whirl_tls_client_opts o = { 0 };

	o.cafile = cert(cafile);
	return whirl_tls_client_new(&o);
}

TEST(load_contexts)
{
	struct whirl_tls_server_opts so = { 0 };
	struct whirl_tls_client_opts co = { 0 };
	struct whirl_tls_ctx *ctx;

	ctx = server_ctx("server");
	CHECK(ctx != NULL);
	CHECK(ctx != NULL && whirl_tls_is_server(ctx));
	whirl_tls_ctx_free(ctx);

	so.cert_file = cert("server.pem");
	so.key_file = cert("server.key");
	so.client_ca_file = cert("ca.pem");
	so.require_client_cert = true;
	so.alpn = "h2,http/1.1";
	ctx = whirl_tls_server_new(&so);
	CHECK(ctx != NULL);
	whirl_tls_ctx_free(ctx);

	ctx = whirl_tls_client_new(&co);	/* the system store */
	CHECK(ctx != NULL);
	CHECK(ctx != NULL && !whirl_tls_is_server(ctx));
	whirl_tls_ctx_free(ctx);

	co.cafile = cert("ca.pem");
	co.cert_file = cert("client.pem");
	co.key_file = cert("client.key");
	co.alpn = "http/1.1";
	ctx = whirl_tls_client_new(&co);
	CHECK(ctx != NULL);
	whirl_tls_ctx_free(ctx);

	co = (struct whirl_tls_client_opts){ .insecure = true };
	ctx = whirl_tls_client_new(&co);
	CHECK(ctx != NULL);
	whirl_tls_ctx_free(ctx);
	whirl_tls_ctx_free(NULL);
}

/* NULL from a server context with these files, and whirl_error(). */
static const char *
server_error(const char *pem, const char *key, int *errnum)
{
	struct whirl_tls_server_opts o = { 0 };
	struct whirl_tls_ctx *ctx;

	o.cert_file = cert(pem);
	o.key_file = cert(key);
	ctx = whirl_tls_server_new(&o);
	CHECK(ctx == NULL);
	whirl_tls_ctx_free(ctx);
	*errnum = whirl_error_errno();
	return whirl_error();
}

TEST(file_errors)
{
	struct whirl_tls_client_opts co = { 0 };
	struct whirl_tls_server_opts so = { 0 };
	char want[512];
	int errnum;

	snprintf(want, sizeof(want), "tls: cannot load certificate %s: "
	    "No such file or directory", cert("nope.pem"));
	CHECK_EQ_STR(server_error("nope.pem", "server.key", &errnum), want);
	CHECK_EQ_INT(errnum, ENOENT);

	snprintf(want, sizeof(want), "tls: cannot load key %s: "
	    "No such file or directory", cert("nope.key"));
	CHECK_EQ_STR(server_error("server.pem", "nope.key", &errnum), want);
	CHECK_EQ_INT(errnum, ENOENT);

	snprintf(want, sizeof(want), "tls: key %s does not match "
	    "certificate %s", cert("client.key"), cert("server.pem"));
	CHECK_EQ_STR(server_error("server.pem", "client.key", &errnum), want);
	CHECK_EQ_INT(errnum, 0);

	snprintf(want, sizeof(want), "tls: cannot load certificate %s: "
	    "no start line", cert("server.key"));
	CHECK_EQ_STR(server_error("server.key", "server.key", &errnum), want);
	CHECK_EQ_INT(errnum, 0);

	snprintf(want, sizeof(want), "tls: cannot load key %s: "
	    "no private key found", cert("ca.pem"));
	CHECK_EQ_STR(server_error("server.pem", "ca.pem", &errnum), want);

	co.cafile = cert("nope.pem");
	CHECK(whirl_tls_client_new(&co) == NULL);
	snprintf(want, sizeof(want), "tls: cannot load CA file %s: "
	    "No such file or directory", cert("nope.pem"));
	CHECK_EQ_STR(whirl_error(), want);
	CHECK_EQ_INT(whirl_error_errno(), ENOENT);

	co.cafile = cert("ca.pem");
	co.cert_file = cert("client.pem");
	co.key_file = cert("server.key");
	CHECK(whirl_tls_client_new(&co) == NULL);
	snprintf(want, sizeof(want), "tls: key %s does not match "
	    "certificate %s", cert("server.key"), cert("client.pem"));
	CHECK_EQ_STR(whirl_error(), want);

	so.cert_file = cert("server.pem");
	so.key_file = cert("server.key");
	so.client_ca_file = cert("nope.pem");
	CHECK(whirl_tls_server_new(&so) == NULL);
	snprintf(want, sizeof(want), "tls: cannot load CA file %s: "
	    "No such file or directory", cert("nope.pem"));
	CHECK_EQ_STR(whirl_error(), want);
	/* Nothing left behind for the next caller. */
	CHECK_EQ_INT(ERR_peek_error(), 0);
}

TEST(option_errors)
{
	struct whirl_tls_client_opts co = { .insecure = true };
	struct whirl_tls_server_opts so = { 0 };
	char long_name[300];

	so.cert_file = cert("server.pem");
	CHECK(whirl_tls_server_new(&so) == NULL);
	CHECK_EQ_STR(whirl_error(),
	    "tls: a server needs a certificate and a key");
	CHECK_EQ_INT(whirl_error_errno(), EINVAL);

	so.key_file = cert("server.key");
	so.require_client_cert = true;
	CHECK(whirl_tls_server_new(&so) == NULL);
	CHECK_EQ_STR(whirl_error(),
	    "tls: requiring client certificates needs a client CA file");

	so.require_client_cert = false;
	so.alpn = "h2,,http/1.1";
	CHECK(whirl_tls_server_new(&so) == NULL);
	CHECK_EQ_STR(whirl_error(), "tls: bad ALPN list \"h2,,http/1.1\"");

	co.alpn = "";
	CHECK(whirl_tls_client_new(&co) == NULL);
	CHECK_EQ_STR(whirl_error(), "tls: bad ALPN list \"\"");
	co.alpn = "h2,";
	CHECK(whirl_tls_client_new(&co) == NULL);
	CHECK_EQ_STR(whirl_error(), "tls: bad ALPN list \"h2,\"");
	memset(long_name, 'x', 256);
	long_name[256] = '\0';
	co.alpn = long_name;
	CHECK(whirl_tls_client_new(&co) == NULL);
	CHECK(strncmp(whirl_error(), "tls: bad ALPN list \"xxx", 23) == 0);

	co.alpn = NULL;
	co.key_file = cert("client.key");
	CHECK(whirl_tls_client_new(&co) == NULL);
	CHECK_EQ_STR(whirl_error(), "tls: a client key needs a certificate");
}

/*
 * SSLs
 */

/* The IP address a client SSL will verify, as OpenSSL prints it. */
static void
check_ip(SSL *ssl, const char *want)
{
	char *ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl));

	CHECK_EQ_STR(ip, want);
	OPENSSL_free(ip);
}

TEST(new_ssl)
{
	struct whirl_tls_ctx *c = client_ctx("ca.pem"), *s;
	SSL *ssl;

	ssl = whirl__tls_new_ssl(c, "localhost");
	CHECK_EQ_INT(SSL_is_server(ssl), 0);
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "localhost");
	CHECK_EQ_STR(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0),
	    "localhost");
	check_ip(ssl, NULL);
	SSL_free(ssl);

	/* DNS's root dot is in neither SNI nor certificates. */
	ssl = whirl__tls_new_ssl(c, "www.example.com.");
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "www.example.com");
	CHECK_EQ_STR(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0),
	    "www.example.com");
	SSL_free(ssl);

	/* RFC 6066: no IP literal as SNI; verified by IP address. */
	ssl = whirl__tls_new_ssl(c, "127.0.0.1");
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), NULL);
	CHECK_EQ_STR(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0),
	    NULL);
	check_ip(ssl, "127.0.0.1");
	SSL_free(ssl);

	ssl = whirl__tls_new_ssl(c, "::1");
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), NULL);
	check_ip(ssl, "0:0:0:0:0:0:0:1");
	SSL_free(ssl);

	ssl = whirl__tls_new_ssl(c, NULL);
	CHECK(ssl != NULL);
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), NULL);
	SSL_free(ssl);

	CHECK(whirl__tls_new_ssl(c, ".") == NULL);
	CHECK_EQ_STR(whirl_error(), "tls: bad host name \".\"");

	s = server_ctx("server");
	ssl = whirl__tls_new_ssl(s, "ignored.example");
	CHECK_EQ_INT(SSL_is_server(ssl), 1);
	CHECK_EQ_STR(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), NULL);
	SSL_free(ssl);
	whirl_tls_ctx_free(s);
	whirl_tls_ctx_free(c);
}

/*
 * Handshakes in memory: each side's SSL writes into its half of a BIO
 * pair and reads what the other wrote.  Stepping both sides in turn a
 * fixed number of times is enough for any handshake, its alerts and a
 * little data; a side stops at its first failure, keeping the reason.
 */

struct side {
	SSL *ssl;
	bool done;		/* handshake complete */
	bool failed;
	char reason[256];
	unsigned long left;	/* on the error queue after the reason */
	char got[64];		/* application data read */
	size_t got_len;
};

struct pair {
	struct side c, s;
};

static void
step(struct side *p)
{
	char buf[64];
	int n, e;

	if (p->failed)
		return;
	ERR_clear_error();
	if (!p->done) {
		if ((n = SSL_do_handshake(p->ssl)) == 1) {
			p->done = true;
			return;
		}
	} else if ((n = SSL_read(p->ssl, buf, sizeof(buf))) > 0) {
		if (p->got_len + (size_t)n < sizeof(p->got)) {
			memcpy(p->got + p->got_len, buf, (size_t)n);
			p->got_len += (size_t)n;
		}
		return;
	}
	e = SSL_get_error(p->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return;
	p->failed = true;
	whirl__tls_reason(p->ssl, n, e, p->reason, sizeof(p->reason));
	p->left = ERR_peek_error();
}

static void
pump(struct pair *p)
{
	int i;

	for (i = 0; i < 12; i++) {
		step(&p->c);
		step(&p->s);
	}
}

/* Client and server SSLs from the contexts, joined; not started.  The
 * contexts are freed at once: the SSLs keep what they need. */
static void
pair_open(struct pair *p, struct whirl_tls_ctx *cctx, const char *host,
    struct whirl_tls_ctx *sctx)
{
	BIO *cb, *sb;

	memset(p, 0, sizeof(*p));
	p->c.ssl = whirl__tls_new_ssl(cctx, host);
	p->s.ssl = whirl__tls_new_ssl(sctx, NULL);
	whirl_tls_ctx_free(cctx);
	whirl_tls_ctx_free(sctx);
	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(p->c.ssl, cb, cb);
	SSL_set_bio(p->s.ssl, sb, sb);
}

static void
pair_close(struct pair *p)
{
	SSL_free(p->c.ssl);
	SSL_free(p->s.ssl);
}

static void
handshake(struct pair *p, struct whirl_tls_ctx *cctx, const char *host,
    struct whirl_tls_ctx *sctx)
{
	pair_open(p, cctx, host, sctx);
	pump(p);
}

/* Both sides finished the handshake and data flows both ways. */
static bool
established(struct pair *p)
{
	if (!p->c.done || !p->s.done || p->c.failed || p->s.failed) {
		printf("# client %s, server %s\n", p->c.failed ? p->c.reason :
		    p->c.done ? "done" : "unfinished", p->s.failed ?
		    p->s.reason : p->s.done ? "done" : "unfinished");
		return false;
	}
	SSL_write(p->c.ssl, "ping", 4);
	SSL_write(p->s.ssl, "pong", 4);
	pump(p);
	return p->s.got_len == 4 && memcmp(p->s.got, "ping", 4) == 0 &&
	    p->c.got_len == 4 && memcmp(p->c.got, "pong", 4) == 0 &&
	    !p->c.failed && !p->s.failed;
}

TEST(handshake_ok)
{
	static const char *hosts[] = { "localhost", "127.0.0.1", "::1" };
	struct pair p;
	size_t i;

	for (i = 0; i < WHIRL__ARRAY_LEN(hosts); i++) {
		handshake(&p, client_ctx("ca.pem"), hosts[i],
		    server_ctx("server"));
		CHECK(established(&p));
		CHECK_EQ_INT(SSL_get_verify_result(p.c.ssl), X509_V_OK);
		CHECK_EQ_STR(SSL_get_version(p.c.ssl), "TLSv1.3");
		pair_close(&p);
	}
	CHECK_EQ_INT(ERR_peek_error(), 0);
}

TEST(handshake_tls12)
{
	struct pair p;

	pair_open(&p, client_ctx("ca.pem"), "localhost", server_ctx("server"));
	SSL_set_max_proto_version(p.c.ssl, TLS1_2_VERSION);
	pump(&p);
	CHECK(established(&p));
	CHECK_EQ_STR(SSL_get_version(p.s.ssl), "TLSv1.2");
	pair_close(&p);
}

/* TLS 1.2 is the minimum, even for a client that would go lower. */
TEST(tls11_refused)
{
	struct pair p;

	pair_open(&p, client_ctx("ca.pem"), "localhost", server_ctx("server"));
	SSL_set_security_level(p.c.ssl, 0);
	SSL_set_min_proto_version(p.c.ssl, TLS1_VERSION);
	SSL_set_max_proto_version(p.c.ssl, TLS1_1_VERSION);
	pump(&p);
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "unsupported protocol");
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, "tlsv1 alert protocol version");
	pair_close(&p);
}

/* A failed client-side verification, and the server's view of it. */
static void
check_failure(struct whirl_tls_ctx *cctx, const char *host,
    struct whirl_tls_ctx *sctx, const char *creason, const char *sreason)
{
	struct pair p;

	handshake(&p, cctx, host, sctx);
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, creason);
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, sreason);
	CHECK_EQ_INT(p.c.left, 0);
	CHECK_EQ_INT(p.s.left, 0);
	pair_close(&p);
}

TEST(wrong_ca)
{
	check_failure(client_ctx("ca.pem"), "localhost",
	    server_ctx("wrongca-server"),
	    "certificate verify failed: unable to get local issuer certificate",
	    "tlsv1 alert unknown ca");
	check_failure(client_ctx("wrongca.pem"), "localhost",
	    server_ctx("server"),
	    "certificate verify failed: unable to get local issuer certificate",
	    "tlsv1 alert unknown ca");
}

TEST(wrong_host)
{
	check_failure(client_ctx("ca.pem"), "localhost",
	    server_ctx("otherhost"),
	    "certificate verify failed: hostname mismatch",
	    "sslv3 alert bad certificate");
	check_failure(client_ctx("ca.pem"), "127.0.0.1",
	    server_ctx("otherhost"),
	    "certificate verify failed: IP address mismatch",
	    "sslv3 alert bad certificate");
	/* A name is not an address: "localhost" is no IP SAN's match. */
	check_failure(client_ctx("ca.pem"), "other.example",
	    server_ctx("server"),
	    "certificate verify failed: hostname mismatch",
	    "sslv3 alert bad certificate");
}

TEST(expired)
{
	check_failure(client_ctx("ca.pem"), "localhost", server_ctx("expired"),
	    "certificate verify failed: certificate has expired",
	    "sslv3 alert certificate expired");
}

TEST(insecure)
{
	static const char *servers[] = { "wrongca-server", "otherhost",
		"expired" };
	struct whirl_tls_client_opts o = { .insecure = true };
	struct pair p;
	size_t i;

	for (i = 0; i < WHIRL__ARRAY_LEN(servers); i++) {
		handshake(&p, whirl_tls_client_new(&o), "localhost",
		    server_ctx(servers[i]));
		CHECK(established(&p));
		pair_close(&p);
	}
}

static struct whirl_tls_ctx *
server_ctx_client_ca(bool require)
{
	struct whirl_tls_server_opts o = { 0 };

	o.cert_file = cert("server.pem");
	o.key_file = cert("server.key");
	o.client_ca_file = cert("ca.pem");
	o.require_client_cert = require;
	return whirl_tls_server_new(&o);
}

/* A client trusting the CA, with a certificate (NULL key: in pem too). */
static struct whirl_tls_ctx *
client_ctx_files(const char *pem, const char *key)
{
	struct whirl_tls_client_opts o = { 0 };

	o.cafile = cert("ca.pem");
	o.cert_file = cert(pem);
	o.key_file = key != NULL ? cert(key) : NULL;
	return whirl_tls_client_new(&o);
}

static struct whirl_tls_ctx *
client_ctx_cert(void)
{
	return client_ctx_files("client.pem", "client.key");
}

/* The CN of the client certificate the server saw, or "" for none. */
static const char *
peer_cn(SSL *ssl, char *buf, size_t size)
{
	X509 *x = SSL_get0_peer_certificate(ssl);

	buf[0] = '\0';
	if (x != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, buf, (int)size);
	return buf;
}

/* Writes certdir/out as a then b; 0 or -1. */
static int
concat(const char *out, const char *a, const char *b)
{
	const char *in[2] = { a, b };
	char buf[4096];
	FILE *f, *g;
	size_t n;
	int i, rc = 0;

	if ((g = fopen(cert(out), "w")) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		if ((f = fopen(cert(in[i]), "r")) == NULL) {
			rc = -1;
			continue;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, g);
		fclose(f);
	}
	return fclose(g) == 0 ? rc : -1;
}

TEST(client_cert)
{
	struct pair p;
	char cn[64];

	handshake(&p, client_ctx_cert(), "localhost",
	    server_ctx_client_ca(true));
	CHECK(established(&p));
	CHECK_EQ_STR(peer_cn(p.s.ssl, cn, sizeof(cn)), "whirl test client");
	CHECK_EQ_INT(SSL_get_verify_result(p.s.ssl), X509_V_OK);
	pair_close(&p);

	/* Certificate and key in one file. */
	CHECK(concat("client-both.pem", "client.pem", "client.key") == 0);
	handshake(&p, client_ctx_files("client-both.pem", NULL), "localhost",
	    server_ctx_client_ca(true));
	CHECK(established(&p));
	CHECK_EQ_STR(peer_cn(p.s.ssl, cn, sizeof(cn)), "whirl test client");
	pair_close(&p);

	/* Asked for, not required: a client without one gets in. */
	handshake(&p, client_ctx("ca.pem"), "localhost",
	    server_ctx_client_ca(false));
	CHECK(established(&p));
	CHECK_EQ_STR(peer_cn(p.s.ssl, cn, sizeof(cn)), "");
	pair_close(&p);

	/* TLS 1.3: the client finishes first and hears the alert after. */
	handshake(&p, client_ctx("ca.pem"), "localhost",
	    server_ctx_client_ca(true));
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "peer did not return a certificate");
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, "tlsv13 alert certificate required");
	pair_close(&p);

	/* A certificate from another CA is refused by the server. */
	handshake(&p, client_ctx_files("wrongca-server.pem",
	    "wrongca-server.key"), "localhost", server_ctx_client_ca(true));
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "certificate verify failed: "
	    "unable to get local issuer certificate");
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, "tlsv1 alert unknown ca");
	pair_close(&p);
}

TEST(client_cert_tls12)
{
	struct pair p;

	pair_open(&p, client_ctx("ca.pem"), "localhost",
	    server_ctx_client_ca(true));
	SSL_set_max_proto_version(p.c.ssl, TLS1_2_VERSION);
	pump(&p);
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "peer did not return a certificate");
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, "sslv3 alert handshake failure");
	pair_close(&p);
}

/*
 * Odd peers: one real SSL, the other half of the pair written by hand.
 */

static SSL *
raw_open(struct whirl_tls_ctx *ctx, const char *host, BIO **raw)
{
	SSL *ssl = whirl__tls_new_ssl(ctx, host);
	BIO *b;

	whirl_tls_ctx_free(ctx);
	BIO_new_bio_pair(&b, 0, raw, 0);
	SSL_set_bio(ssl, b, b);
	return ssl;
}

/* The reason ssl's handshake fails with after the peer wrote `text`
 * (NULL: closed its end without a word). */
static void
check_raw(struct whirl_tls_ctx *ctx, const char *host, const char *text,
    const char *want)
{
	struct side p = { 0 };
	BIO *raw;

	p.ssl = raw_open(ctx, host, &raw);
	step(&p);	/* a client's ClientHello goes out */
	if (text != NULL)
		BIO_write(raw, text, (int)strlen(text));
	else
		BIO_shutdown_wr(raw);
	step(&p);
	CHECK(p.failed);
	CHECK_EQ_STR(p.reason, want);
	CHECK_EQ_INT(p.left, 0);
	SSL_free(p.ssl);
	BIO_free(raw);
}

TEST(plaintext_peer)
{
	check_raw(client_ctx("ca.pem"), "localhost",
	    "HTTP/1.1 400 Bad Request\r\n\r\n", "wrong version number");
	check_raw(server_ctx("server"), NULL,
	    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "http request");
	check_raw(server_ctx("server"), NULL, "hello\n",
	    "wrong version number");
}

TEST(eof_in_handshake)
{
	check_raw(client_ctx("ca.pem"), "localhost", NULL,
	    "unexpected eof while reading");
	check_raw(server_ctx("server"), NULL, NULL,
	    "unexpected eof while reading");
}

/* A peer that drops the connection without close_notify after the
 * handshake: a clean EOF (SSL_OP_IGNORE_UNEXPECTED_EOF), not an error. */
TEST(eof_without_close_notify)
{
	struct pair p;
	char buf[16];
	int n;

	handshake(&p, client_ctx("ca.pem"), "localhost", server_ctx("server"));
	CHECK(established(&p));
	BIO_shutdown_wr(SSL_get_wbio(p.s.ssl));
	ERR_clear_error();
	n = SSL_read(p.c.ssl, buf, sizeof(buf));
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(SSL_get_error(p.c.ssl, n), SSL_ERROR_ZERO_RETURN);
	pair_close(&p);
}

/* What every SSL gets from its context, in both roles. */
TEST(settings)
{
	struct whirl_tls_ctx *ctx[2] = { client_ctx("ca.pem"),
		server_ctx("server") };
	long modes = SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS;
	SSL *ssl;
	int i;

	for (i = 0; i < 2; i++) {
		ssl = whirl__tls_new_ssl(ctx[i], "localhost");
		CHECK_EQ_INT(SSL_get_min_proto_version(ssl), TLS1_2_VERSION);
		CHECK(SSL_get_options(ssl) & SSL_OP_IGNORE_UNEXPECTED_EOF);
		CHECK_EQ_INT(SSL_get_mode(ssl) & modes, modes);
		CHECK_EQ_INT(SSL_get_verify_mode(ssl),
		    i == 0 ? SSL_VERIFY_PEER : SSL_VERIFY_NONE);
		SSL_free(ssl);
		whirl_tls_ctx_free(ctx[i]);
	}
}

/*
 * ALPN
 */

/* The protocol both sides agreed on, or "" for none. */
static void
check_alpn(const char *server_list, const char *client_list, const char *want)
{
	struct whirl_tls_server_opts so = { 0 };
	struct whirl_tls_client_opts co = { 0 };
	const unsigned char *proto;
	unsigned int len;
	struct pair p;
	char got[64];

	so.cert_file = cert("server.pem");
	so.key_file = cert("server.key");
	so.alpn = server_list;
	co.cafile = cert("ca.pem");
	co.alpn = client_list;
	handshake(&p, whirl_tls_client_new(&co), "localhost",
	    whirl_tls_server_new(&so));
	CHECK(established(&p));
	SSL_get0_alpn_selected(p.c.ssl, &proto, &len);
	snprintf(got, sizeof(got), "%.*s", (int)len, (const char *)proto);
	CHECK_EQ_STR(got, want);
	SSL_get0_alpn_selected(p.s.ssl, &proto, &len);
	snprintf(got, sizeof(got), "%.*s", (int)len, (const char *)proto);
	CHECK_EQ_STR(got, want);
	pair_close(&p);
}

TEST(alpn)
{
	/* The server's preference wins. */
	check_alpn("h2,http/1.1", "http/1.1,h2", "h2");
	check_alpn("http/1.1,h2", "h2,http/1.1", "http/1.1");
	check_alpn("h2,http/1.1", "http/1.1", "http/1.1");
	check_alpn("h2,http/1.1", "x-unknown/1", "");	/* no overlap: none */
	check_alpn("h2,http/1.1", NULL, "");
	check_alpn(NULL, "h2,http/1.1", "");
}

/*
 * SNI
 */

struct sni {
	struct whirl_tls_ctx *localhost;	/* for "localhost" */
	int calls;
	char seen[64];
};

/* "localhost" -> sni->localhost, "refused.example" -> refused, anything
 * else -> the default context. */
static struct whirl_tls_ctx *
pick(struct whirl_tls_ctx *ctx, const char *name, void *arg)
{
	struct sni *sni = arg;

	sni->calls++;
	snprintf(sni->seen, sizeof(sni->seen), "%s", name);
	if (strcmp(name, "localhost") == 0)
		return sni->localhost;
	if (strcmp(name, "refused.example") == 0)
		return NULL;
	return ctx;
}

/* A handshake with an SNI-switching server whose default certificate is
 * otherhost's. */
static void
sni_handshake(struct pair *p, struct sni *sni, struct whirl_tls_ctx *cctx,
    const char *host)
{
	struct whirl_tls_ctx *sctx = server_ctx("otherhost");

	whirl_tls_set_sni_cb(sctx, pick, sni);
	sni->calls = 0;
	sni->seen[0] = '\0';
	handshake(p, cctx, host, sctx);
}

TEST(sni)
{
	struct whirl_tls_client_opts insecure = { .insecure = true };
	struct sni sni = { .localhost = server_ctx("server") };
	struct pair p;

	sni_handshake(&p, &sni, client_ctx("ca.pem"), "localhost");
	CHECK(established(&p));
	CHECK_EQ_INT(sni.calls, 1);
	CHECK_EQ_STR(sni.seen, "localhost");
	pair_close(&p);

	sni_handshake(&p, &sni, client_ctx("ca.pem"), "other.example");
	CHECK(established(&p));
	CHECK_EQ_STR(sni.seen, "other.example");
	pair_close(&p);

	/* No SNI for an address: the default context, not called. */
	sni_handshake(&p, &sni, client_ctx("ca.pem"), "127.0.0.1");
	CHECK_EQ_INT(sni.calls, 0);
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason,
	    "certificate verify failed: IP address mismatch");
	pair_close(&p);

	sni_handshake(&p, &sni, whirl_tls_client_new(&insecure),
	    "refused.example");
	CHECK_EQ_INT(sni.calls, 1);
	CHECK(p.c.failed);
	CHECK_EQ_STR(p.c.reason, "tlsv1 unrecognized name");
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "callback failed");
	pair_close(&p);
	whirl_tls_ctx_free(sni.localhost);

	/* The chosen context's client verification applies. */
	sni.localhost = server_ctx_client_ca(true);
	sni_handshake(&p, &sni, client_ctx("ca.pem"), "localhost");
	CHECK(p.s.failed);
	CHECK_EQ_STR(p.s.reason, "peer did not return a certificate");
	pair_close(&p);
	sni_handshake(&p, &sni, client_ctx_cert(), "localhost");
	CHECK(established(&p));
	pair_close(&p);
	whirl_tls_ctx_free(sni.localhost);
}

/* Reasons for calls that did not fail at the TLS level. */
TEST(reason_other)
{
	char buf[64];

	errno = ECONNRESET;
	CHECK_EQ_STR(whirl__tls_reason(NULL, -1, SSL_ERROR_SYSCALL, buf,
	    sizeof(buf)), "Connection reset by peer");
	CHECK_EQ_INT(errno, ECONNRESET);
	/* ret 0: an EOF, whatever errno says. */
	CHECK_EQ_STR(whirl__tls_reason(NULL, 0, SSL_ERROR_SYSCALL, buf,
	    sizeof(buf)), "unexpected eof while reading");
	errno = 0;
	CHECK_EQ_STR(whirl__tls_reason(NULL, -1, SSL_ERROR_SYSCALL, buf,
	    sizeof(buf)), "unexpected eof while reading");
	CHECK_EQ_STR(whirl__tls_reason(NULL, 0, SSL_ERROR_ZERO_RETURN, buf,
	    sizeof(buf)), "unexpected eof while reading");
}

int
main(void)
{
	if (gen_certs() == -1) {
		printf("Bail out! scripts/gen-test-certs failed\n");
		rm_certs();
		return 1;
	}
	RUN(load_contexts);
	RUN(file_errors);
	RUN(option_errors);
	RUN(new_ssl);
	RUN(handshake_ok);
	RUN(handshake_tls12);
	RUN(tls11_refused);
	RUN(wrong_ca);
	RUN(wrong_host);
	RUN(expired);
	RUN(insecure);
	RUN(client_cert);
	RUN(client_cert_tls12);
	RUN(plaintext_peer);
	RUN(eof_in_handshake);
	RUN(eof_without_close_notify);
	RUN(settings);
	RUN(alpn);
	RUN(sni);
	RUN(reason_other);
	rm_certs();
	return unit_done();
}
