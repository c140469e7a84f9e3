/* tls.h - OpenSSL contexts for TLS streams: servers with a certificate,
 * clients that verify.
 *
 * A whirl_tls_ctx wraps one SSL_CTX.  Client contexts verify the peer by
 * default (system CA store, or `cafile`), check the host name given to
 * whirl_stream_start_tls with SSL_set1_host, and send it as SNI; they are
 * insecure only when `insecure` is set.  Server contexts load a PEM
 * certificate chain and key, may ask for (or require) client certificates,
 * and may choose a context per SNI name.  TLS 1.2 is the minimum; the rest
 * is OpenSSL's secure default.  OpenSSL itself is initialised by the first
 * context made, so plain programs never pay for it.
 *
 * Ownership: the caller owns a context and frees it with
 * whirl_tls_ctx_free once no stream uses it (streams hold a reference, so
 * freeing early is safe: the SSL_CTX lives until its last stream closes).
 * Option strings are copied.
 */
#ifndef WHIRL_TLS_H
#define WHIRL_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct whirl_tls_ctx;

struct whirl_tls_server_opts {
	const char *cert_file;       /* PEM chain: leaf first (required) */
	const char *key_file;        /* PEM private key (required) */
	const char *client_ca_file;  /* verify client certificates with it */
	bool require_client_cert;    /* refuse clients without one */
	const char *alpn;            /* "h2,http/1.1" style list, or NULL */
};

struct whirl_tls_client_opts {
	const char *cafile;          /* NULL: the system store */
	const char *cert_file;       /* client certificate, or NULL */
	const char *key_file;
	bool insecure;               /* no verification at all */
	const char *alpn;            /* offered protocols, or NULL */
};

/* NULL with whirl_error() ("tls: cannot load key FILE: REASON") on
 * failure. */
struct whirl_tls_ctx *whirl_tls_server_new(
    const struct whirl_tls_server_opts *opts);
struct whirl_tls_ctx *whirl_tls_client_new(
    const struct whirl_tls_client_opts *opts);
void whirl_tls_ctx_free(struct whirl_tls_ctx *ctx);

/* Server: called during a handshake with the client's SNI name; return
 * the context to continue with (ctx itself, another server context, or
 * NULL to refuse the name with an alert). */
typedef struct whirl_tls_ctx *(*whirl_tls_sni_cb)(struct whirl_tls_ctx *ctx,
    const char *servername, void *arg);
void whirl_tls_set_sni_cb(struct whirl_tls_ctx *ctx, whirl_tls_sni_cb cb,
    void *arg);

/* True for a server context. */
bool whirl_tls_is_server(const struct whirl_tls_ctx *ctx);

#endif
