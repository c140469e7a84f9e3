/* internal.h - helpers shared by libwhirl's modules; never installed,
 * never included by cmd/.
 *
 * Allocation failure aborts (the h2o and Redis policy): every allocation
 * driven by the network is capped before it is made, so running out of
 * memory is a bug or a dying machine, not an error path to thread through
 * every layer.
 */
#ifndef WHIRL_INTERNAL_H
#define WHIRL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct whirl_loop;

void *whirl__xmalloc(size_t size);
void *whirl__xcalloc(size_t n, size_t size);
void *whirl__xrealloc(void *p, size_t size);
char *whirl__xstrdup(const char *s);
void *whirl__xmemdup(const void *p, size_t size);
/* Free a NULL-terminated array of strings and the array (NULL is fine). */
void whirl__strv_free(char **v);
/* A hexadecimal digit's value (either case), or -1. */
int whirl__hex_digit(int c);

/* Set whirl_error()'s message (printf format); errno_value is what
 * whirl_error_errno() will return (0 when not a system call's failure). */
void whirl__seterr(int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As whirl__seterr with errno, appending ": strerror(errno)". Keeps errno. */
void whirl__seterrno(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The libevent base under a loop, for lib modules only. */
struct event_base *whirl__loop_base(struct whirl_loop *loop);

/* One slot per loop for a module's state, freed with the loop: the process
 * module keeps its SIGCHLD watch and child list there. */
enum whirl__slot { WHIRL__SLOT_PROCESS, WHIRL__SLOT_COUNT };
void *whirl__loop_slot(struct whirl_loop *loop, enum whirl__slot slot);
void whirl__loop_set_slot(struct whirl_loop *loop, enum whirl__slot slot,
    void *state, void (*free_state)(void *));

/* Set FD_CLOEXEC and O_NONBLOCK; -1 with whirl_error() on failure. */
int whirl__set_nonblock(int fd);
int whirl__set_cloexec(int fd);

/* TLS (tls.c) for iostream.c: a new SSL for one stream, with the host
 * name to verify and send as SNI (clients; may be NULL).  NULL with
 * whirl_error() on failure. */
struct ssl_st;
struct whirl_tls_ctx;
struct ssl_st *whirl__tls_new_ssl(struct whirl_tls_ctx *ctx,
    const char *hostname);
/* The reason of a failed SSL call, in OpenSSL's words
 * ("certificate verify failed: unable to get local issuer certificate",
 * "hostname mismatch"), written to buf; also clears the error queue. */
const char *whirl__tls_reason(struct ssl_st *ssl, int ret, int ssl_error,
    char *buf, size_t size);

/* Whether a lookup's helper thread was joined before its answer was
 * delivered (netutil.c; for tests, from inside the callback). */
struct whirl_resolve;
bool whirl__resolve_joined(const struct whirl_resolve *r);

#define WHIRL__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
