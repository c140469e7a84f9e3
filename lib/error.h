/* error.h - the last error of a synchronous whirl call, and the static
 * error strings that asynchronous completions carry.
 *
 * Synchronous calls return 0 / -1 (or a pointer / NULL) and leave a
 * one-line reason that whirl_error() returns, in the shape a tool prints
 * after its name: "connect 127.0.0.1 port 9: Connection refused".  The
 * buffer is per thread and overwritten by the next failing call.
 *
 * Asynchronous completions receive `const char *err`: NULL for success,
 * else a message.  The common causes are the static strings below, so a
 * caller may compare by pointer (err == whirl_err_closed).
 */
#ifndef WHIRL_ERROR_H
#define WHIRL_ERROR_H

/* The stream was closed (by the peer's EOF or by whirl_stream_close). */
extern const char whirl_err_closed[];
/* A timer set by the operation (connect, idle) expired. */
extern const char whirl_err_timeout[];
/* read_until found no delimiter within its maximum. */
extern const char whirl_err_too_long[];

/* The reason of the last failing synchronous call in this thread; never
 * NULL ("" before any failure). */
const char *whirl_error(void);

/* The errno value of the last failing call, or 0 when the cause was not a
 * system call (bad argument, unknown host...).  whirl-socket exits with it. */
int whirl_error_errno(void);

#endif
