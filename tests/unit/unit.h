/* unit.h - a TAP harness for whirl's C unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(got, 3); CHECK_EQ_STR(s, "a"); }
 *   int main(void) { RUN(name); return unit_done(); }
 *
 * Each test prints one "ok N - name" or "not ok N - name" line, with the
 * failed checks as "# file:line: ..." comments before it; tests/run counts
 * them.  A test that hangs is cut off by alarm(UNIT_TIMEOUT) so a broken
 * loop fails the binary instead of the whole run.
 */
#ifndef WHIRL_UNIT_H
#define WHIRL_UNIT_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>

#ifndef UNIT_TIMEOUT
#define UNIT_TIMEOUT 60
#endif

static int unit_run, unit_failed, unit_check_failed;
static const char *unit_current;

static void
unit_alarm(int sig)
{
	(void)sig;
	/* async-signal-safe enough for a dying test binary */
	dprintf(1, "not ok %d - %s # timed out after %d s\n", unit_run,
	    unit_current, UNIT_TIMEOUT);
	_exit(1);
}

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                          \
	do {                                                               \
		unit_run++;                                                \
		unit_current = #name;                                      \
		unit_check_failed = 0;                                     \
		signal(SIGALRM, unit_alarm);                               \
		alarm(UNIT_TIMEOUT);                                       \
		test_##name();                                             \
		alarm(0);                                                  \
		if (unit_check_failed)                                     \
			unit_failed++;                                     \
		printf("%sok %d - %s\n", unit_check_failed ? "not " : "",  \
		    unit_run, #name);                                      \
		fflush(stdout);                                            \
	} while (0)

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,    \
			    __LINE__, #cond);                              \
			unit_check_failed = 1;                             \
		}                                                          \
	} while (0)

#define CHECK_EQ_INT(got, want)                                            \
	do {                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		if (g_ != w_) {                                            \
			printf("# %s:%d: %s == %lld, want %lld\n",         \
			    __FILE__, __LINE__, #got, g_, w_);             \
			unit_check_failed = 1;                             \
		}                                                          \
	} while (0)

#define CHECK_EQ_STR(got, want)                                            \
	do {                                                               \
		const char *g_ = (got), *w_ = (want);                      \
		if (g_ == NULL || w_ == NULL ? g_ != w_                    \
					     : strcmp(g_, w_) != 0) {      \
			printf("# %s:%d: %s == \"%s\", want \"%s\"\n",     \
			    __FILE__, __LINE__, #got, g_ ? g_ : "(null)",  \
			    w_ ? w_ : "(null)");                           \
			unit_check_failed = 1;                             \
		}                                                          \
	} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_run);
	return unit_failed ? 1 : 0;
}

#endif
