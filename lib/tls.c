/* tls.c - OpenSSL contexts for TLS streams.
 *
 * A whirl_tls_ctx is a small wrapper around one SSL_CTX: its role, the
 * server's ALPN list and SNI callback.  The wrapper is stored in the
 * SSL_CTX's ex_data and freed by OpenSSL's ex_data free hook when the
 * SSL_CTX's last reference goes, so its lifetime is exactly the SSL_CTX's.
 * Every SSL made by whirl__tls_new_ssl holds a reference to its SSL_CTX
 * (SSL_new takes one, and another for the session context), so the
 * servername and ALPN callbacks, which OpenSSL calls with the wrapper as
 * their argument, can never see it freed: whirl_tls_ctx_free only drops
 * the caller's reference.  A context the SNI callback switches to is
 * referenced by the SSL from then on (SSL_set_SSL_CTX).
 *
 * OpenSSL is initialised by the first context made (OPENSSL_init_ssl is
 * idempotent and thread-safe); the ex_data index is made once with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "tls.h"

#define REASONLEN 256

struct whirl_tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	unsigned char *alpn;		/* server: wire-format list, or NULL */
	size_t alpn_len;
	whirl_tls_sni_cb sni_cb;
	void *sni_arg;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ctx_index = -1;		/* SSL_CTX ex_data slot: the wrapper */

/* OpenSSL calls this for every SSL_CTX freed, ours or not: ptr is NULL
 * for the others. */
static void
wrapper_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct whirl_tls_ctx *ctx = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ctx == NULL)
		return;
	free(ctx->alpn);
	free(ctx);
}

static void
init_openssl(void)
{
	if (OPENSSL_init_ssl(0, NULL) == 1)
		ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    wrapper_free);
}

/* The first error on OpenSSL's queue in words, then the queue cleared.  A
 * system error (a missing file) gives strerror and its errno in *errnum. */
static const char *
queue_reason(char *buf, size_t size, int *errnum)
{
	unsigned long e = ERR_get_error();
	const char *r;

	*errnum = 0;
	if (e == 0)
		snprintf(buf, size, "unknown error");
	else if (ERR_SYSTEM_ERROR(e)) {
		*errnum = ERR_GET_REASON(e);
		snprintf(buf, size, "%s", strerror(*errnum));
	} else if (ERR_GET_LIB(e) == ERR_LIB_OSSL_DECODER &&
	    ERR_GET_REASON(e) == ERR_R_UNSUPPORTED)
		/* OpenSSL 3's decoders found nothing they know in the file:
		 * "unsupported" alone would not say that. */
		snprintf(buf, size, "no private key found");
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, size, "%s", r);
	else
		snprintf(buf, size, "error %08lx", e);
	ERR_clear_error();
	return buf;
}

/* whirl__seterr with "tls: WHAT FILE: REASON" from the error queue. */
static void
file_error(const char *what, const char *file)
{
	char reason[REASONLEN];
	int errnum;

	queue_reason(reason, sizeof(reason), &errnum);
	whirl__seterr(errnum, "tls: cannot load %s %s: %s", what, file,
	    reason);
}

/* "h2,http/1.1" to ALPN's wire format: each name behind its length byte.
 * NULL (with whirl_error) for an empty name or one over 255 bytes. */
static unsigned char *
alpn_wire(const char *list, size_t *lenp)
{
	size_t n = strlen(list), i, start = 0;
	unsigned char *wire = whirl__xmalloc(n + 1);

	for (i = 0; i <= n; i++) {
		if (list[i] != ',' && list[i] != '\0')
			continue;
		if (i == start || i - start > 255) {
			free(wire);
			whirl__seterr(EINVAL, "tls: bad ALPN list \"%s\"",
			    list);
			return NULL;
		}
		wire[start] = (unsigned char)(i - start);
		memcpy(wire + start + 1, list + start, i - start);
		start = i + 1;
	}
	*lenp = n + 1;
	return wire;
}

/* Never prompt on the terminal for an encrypted key: a server or a
 * script has nobody to ask.  The key fails to load instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

/* A new SSL_CTX with the wrapper in its ex_data and the settings both
 * roles share.  Freeing the SSL_CTX frees the wrapper. */
static struct whirl_tls_ctx *
ctx_new(bool server)
{
	struct whirl_tls_ctx *ctx;
	SSL_CTX *ssl_ctx;
	char reason[REASONLEN];
	int errnum;

	pthread_once(&init_once, init_openssl);
	if (ctx_index < 0) {
		whirl__seterr(0, "tls: cannot initialise OpenSSL");
		return NULL;
	}
	ssl_ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method());
	if (ssl_ctx == NULL) {
		queue_reason(reason, sizeof(reason), &errnum);
		whirl__seterr(errnum, "tls: cannot make a context: %s", reason);
		return NULL;
	}
	ctx = whirl__xcalloc(1, sizeof(*ctx));
	ctx->ssl_ctx = ssl_ctx;
	ctx->server = server;
	if (SSL_CTX_set_ex_data(ssl_ctx, ctx_index, ctx) != 1) {
		free(ctx);
		SSL_CTX_free(ssl_ctx);
		whirl__seterr(0, "tls: cannot make a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
	/* A TCP close without close_notify reads as a clean EOF: the peer's
	 * protocol (HTTP lengths, WebSocket close) says whether it was. */
	SSL_CTX_set_options(ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Streams write from evbuffers that move, take partial writes, and
	 * free OpenSSL's 34 KiB of record buffers while idle. */
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ssl_ctx, no_passphrase);
	return ctx;
}

/* Certificate chain and matching key. */
static int
load_pair(SSL_CTX *ssl_ctx, const char *cert_file, const char *key_file)
{
	if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cert_file) != 1) {
		file_error("certificate", cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl_ctx, key_file,
	    SSL_FILETYPE_PEM) != 1) {
		/* OpenSSL compares the key with the certificate as it loads
		 * it; a mismatch is not a loading problem. */
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
		    ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH))
			goto mismatch;
		file_error("key", key_file);
		return -1;
	}
	if (SSL_CTX_check_private_key(ssl_ctx) != 1)
		goto mismatch;
	return 0;
mismatch:
	ERR_clear_error();
	whirl__seterr(0, "tls: key %s does not match certificate %s",
	    key_file, cert_file);
	return -1;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct whirl_tls_ctx *ctx = arg;
	unsigned char *sel;

	(void)ssl;
	/* SSL_select_next_proto walks the first list (ours) in order and
	 * takes the first name the client also offered. */
	if (SSL_select_next_proto(&sel, outlen, ctx->alpn,
	    (unsigned int)ctx->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;	/* go on without ALPN */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int
server_alpn(struct whirl_tls_ctx *ctx, const char *alpn)
{
	ctx->alpn = alpn_wire(alpn, &ctx->alpn_len);
	if (ctx->alpn == NULL)
		return -1;
	SSL_CTX_set_alpn_select_cb(ctx->ssl_ctx, alpn_select, ctx);
	return 0;
}

/* Ask for client certificates signed by a CA in file (and name it in the
 * CertificateRequest); refuse clients without one if `require`. */
static int
client_verify(SSL_CTX *ssl_ctx, const char *file, bool require)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ssl_ctx, file, NULL) != 1) {
		file_error("CA file", file);
		return -1;
	}
	names = SSL_load_client_CA_file(file);
	if (names == NULL) {
		file_error("CA file", file);
		return -1;
	}
	SSL_CTX_set_client_CA_list(ssl_ctx, names);
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER |
	    (require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return 0;
}

struct whirl_tls_ctx *
whirl_tls_server_new(const struct whirl_tls_server_opts *opts)
{
	static const unsigned char sid_ctx[] = "whirl";
	struct whirl_tls_ctx *ctx;

	if (opts->cert_file == NULL || opts->key_file == NULL) {
		whirl__seterr(EINVAL, "tls: a server needs a certificate and "
		    "a key");
		return NULL;
	}
	if (opts->require_client_cert && opts->client_ca_file == NULL) {
		whirl__seterr(EINVAL, "tls: requiring client certificates "
		    "needs a client CA file");
		return NULL;
	}
	if ((ctx = ctx_new(true)) == NULL)
		return NULL;
	/* Sessions resumed with a client certificate need an id context,
	 * the same in every server context so SNI switches keep it. */
	SSL_CTX_set_session_id_context(ctx->ssl_ctx, sid_ctx,
	    sizeof(sid_ctx) - 1);
	if (load_pair(ctx->ssl_ctx, opts->cert_file, opts->key_file) == -1)
		goto fail;
	if (opts->client_ca_file != NULL && client_verify(ctx->ssl_ctx,
	    opts->client_ca_file, opts->require_client_cert) == -1)
		goto fail;
	if (opts->alpn != NULL && server_alpn(ctx, opts->alpn) == -1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx->ssl_ctx);	/* frees ctx too */
	return NULL;
}

static int
client_ca(SSL_CTX *ssl_ctx, const char *cafile)
{
	char reason[REASONLEN];
	int errnum;

	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ssl_ctx, cafile, NULL) != 1) {
			file_error("CA file", cafile);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(ssl_ctx) != 1) {
		queue_reason(reason, sizeof(reason), &errnum);
		whirl__seterr(errnum, "tls: cannot load the system CA store: "
		    "%s", reason);
		return -1;
	}
	return 0;
}

static int
client_alpn(SSL_CTX *ssl_ctx, const char *alpn)
{
	unsigned char *wire;
	size_t len;
	int rc;

	if ((wire = alpn_wire(alpn, &len)) == NULL)
		return -1;
	rc = SSL_CTX_set_alpn_protos(ssl_ctx, wire, (unsigned int)len);
	free(wire);
	if (rc != 0) {		/* this one returns 0 on success */
		ERR_clear_error();
		whirl__seterr(EINVAL, "tls: bad ALPN list \"%s\"", alpn);
		return -1;
	}
	return 0;
}

struct whirl_tls_ctx *
whirl_tls_client_new(const struct whirl_tls_client_opts *opts)
{
	struct whirl_tls_ctx *ctx;

	if (opts->key_file != NULL && opts->cert_file == NULL) {
		whirl__seterr(EINVAL, "tls: a client key needs a certificate");
		return NULL;
	}
	if ((ctx = ctx_new(false)) == NULL)
		return NULL;
	if (opts->insecure)
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, NULL);
	else {
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
		if (client_ca(ctx->ssl_ctx, opts->cafile) == -1)
			goto fail;
	}
	/* A PEM file may hold both the certificate and its key. */
	if (opts->cert_file != NULL && load_pair(ctx->ssl_ctx,
	    opts->cert_file, opts->key_file != NULL ? opts->key_file :
	    opts->cert_file) == -1)
		goto fail;
	if (opts->alpn != NULL && client_alpn(ctx->ssl_ctx, opts->alpn) == -1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx->ssl_ctx);	/* frees ctx too */
	return NULL;
}

void
whirl_tls_ctx_free(struct whirl_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* Drops the caller's reference; the wrapper goes with the last. */
	SSL_CTX_free(ctx->ssl_ctx);
}

bool
whirl_tls_is_server(const struct whirl_tls_ctx *ctx)
{
	return ctx->server;
}

/* The SNI callback's choice becomes the SSL's context.  SSL_set_SSL_CTX
 * swaps the certificate (and with it ALPN and the CA store, which OpenSSL
 * reads from the current context) but not the verify mode fixed at
 * SSL_new, so that is copied too. */
static int
servername(SSL *ssl, int *alert, void *arg)
{
	struct whirl_tls_ctx *ctx = arg, *next;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (name == NULL || ctx->sni_cb == NULL)
		return SSL_TLSEXT_ERR_OK;	/* keep the default context */
	next = ctx->sni_cb(ctx, name, ctx->sni_arg);
	if (next == NULL || !next->server) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if (next != ctx) {
		SSL_set_SSL_CTX(ssl, next->ssl_ctx);
		SSL_set_verify(ssl, SSL_CTX_get_verify_mode(next->ssl_ctx),
		    SSL_CTX_get_verify_callback(next->ssl_ctx));
	}
	return SSL_TLSEXT_ERR_OK;
}

void
whirl_tls_set_sni_cb(struct whirl_tls_ctx *ctx, whirl_tls_sni_cb cb,
    void *arg)
{
	ctx->sni_cb = cb;
	ctx->sni_arg = arg;
	if (cb != NULL)
		SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx,
		    servername);
	else
		SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, NULL);
	SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
}

/* Clients: verify `hostname` and, for a DNS name, send it as SNI (RFC
 * 6066 allows no IP literals there).  An IP literal is checked against
 * the certificate's IP addresses, a name against its DNS names. */
static int
set_peer_name(SSL *ssl, const char *hostname)
{
	char name[256];
	size_t len = strlen(hostname);
	int ok;

	if (is_ip_literal(hostname))
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    hostname);
	else {
		/* "example.com." is example.com in DNS, not in certificates
		 * or SNI. */
		if (len > 0 && hostname[len - 1] == '.')
			len--;
		if (len == 0 || len >= sizeof(name)) {
			whirl__seterr(EINVAL, "tls: bad host name \"%s\"",
			    hostname);
			return -1;
		}
		memcpy(name, hostname, len);
		name[len] = '\0';
		ok = SSL_set_tlsext_host_name(ssl, name) == 1 &&
		    SSL_set1_host(ssl, name) == 1;
	}
	if (ok != 1) {
		ERR_clear_error();
		whirl__seterr(EINVAL, "tls: bad host name \"%s\"", hostname);
		return -1;
	}
	return 0;
}

struct ssl_st *
whirl__tls_new_ssl(struct whirl_tls_ctx *ctx, const char *hostname)
{
	char reason[REASONLEN];
	int errnum;
	SSL *ssl;

	if ((ssl = SSL_new(ctx->ssl_ctx)) == NULL) {
		queue_reason(reason, sizeof(reason), &errnum);
		whirl__seterr(errnum, "tls: cannot make a connection: %s",
		    reason);
		return NULL;
	}
	if (ctx->server) {
		SSL_set_accept_state(ssl);
		return ssl;
	}
	SSL_set_connect_state(ssl);
	if (hostname != NULL && set_peer_name(ssl, hostname) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* An error queued by a failed handshake or I/O call in one line.  A
 * failed verification says why in the SSL's verify result, not in the
 * queue (which only says "certificate verify failed"). */
static void
ssl_reason(struct ssl_st *ssl, char *buf, size_t size)
{
	unsigned long e = ERR_peek_error();
	long v;
	int errnum;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    (v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, size, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	queue_reason(buf, size, &errnum);
}

const char *
whirl__tls_reason(struct ssl_st *ssl, int ret, int ssl_error, char *buf,
    size_t size)
{
	int saved = errno;

	switch (ssl_error) {
	case SSL_ERROR_SSL:
		ssl_reason(ssl, buf, size);
		break;
	case SSL_ERROR_SYSCALL:
		/* ret 0 is an EOF, whatever errno was left from before. */
		if (ERR_peek_error() != 0)
			ssl_reason(ssl, buf, size);
		else if (ret != 0 && saved != 0)
			snprintf(buf, size, "%s", strerror(saved));
		else
			snprintf(buf, size, "unexpected eof while reading");
		break;
	case SSL_ERROR_ZERO_RETURN:
		/* Only an error before the handshake is done. */
		snprintf(buf, size, "unexpected eof while reading");
		break;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		snprintf(buf, size, "operation would block");
		break;
	default:
		snprintf(buf, size, "SSL error %d", ssl_error);
		break;
	}
	ERR_clear_error();
	errno = saved;
	return buf;
}
