/* fuzz.h - small helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * Each target is one file with LLVMFuzzerTestOneInput (and, when it needs
 * state that outlives one input, LLVMFuzzerInitialize).  Inputs are taken
 * apart with a cursor: a few leading bytes choose options, the rest is the
 * payload, so a seed file is an option byte or two and then the text it is
 * about.  A broken property is reported with FUZZ_CHECK, which prints the
 * condition and aborts: libFuzzer saves the input as a crash.
 *
 * fuzz_utf8_ok is an oracle written apart from the library's two UTF-8
 * checkers, so that a target can compare them with it.
 *
 * Ownership: nothing here allocates, except fuzz_strdup (the caller frees).
 */
#ifndef WHIRL_FUZZ_H
#define WHIRL_FUZZ_H

#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: property broken: %s\n",    \
			    __FILE__, __LINE__, #cond);                    \
			abort();                                           \
		}                                                          \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* One option byte (0 once the input is used up). */
static inline uint8_t
fuzz_byte(struct fuzz_in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

/* The next piece up to (not including) a separator byte, or the rest;
 * the separator is consumed. */
static inline struct fuzz_in
fuzz_piece(struct fuzz_in *in, uint8_t sep)
{
	const uint8_t *e = memchr(in->p, sep, in->n);
	struct fuzz_in piece = { in->p, e != NULL ? (size_t)(e - in->p) :
	    in->n };

	in->p += piece.n;
	in->n -= piece.n;
	if (e != NULL) {
		in->p++;
		in->n--;
	}
	return piece;
}

/* A piece as a C string (cut at its first NUL, as a C caller would pass
 * it); the caller frees it. */
static inline char *
fuzz_strdup(struct fuzz_in piece)
{
	char *s = malloc(piece.n + 1);

	if (s == NULL)
		abort();
	memcpy(s, piece.p, piece.n);
	s[piece.n] = '\0';
	return s;
}

/* Valid UTF-8: shortest forms, no surrogates, at most U+10FFFF. */
static inline bool
fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			need = 1, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			need = 2, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			need = 3, cp = c & 0x07;
		else
			return false;
		if (i + need >= n)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

static inline int
fuzz_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Remove a scratch tree made for a target (links not followed). */
static inline void
fuzz_rm_tree(const char *root)
{
	nftw(root, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
