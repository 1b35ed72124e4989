/* berth error convention: every fallible library function takes a
 * `struct berr **err` last and returns a negative number on failure with
 * *err filled in. Callers may wrap the message with context. Only cli/
 * prints errors. */
#ifndef BERTH_UTIL_ERR_H
#define BERTH_UTIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

struct berr {
	int errnum;  /* errno of the root cause, 0 if none */
	int code;    /* berth error class, see BERR_* */
	char *msg;
};

enum {
	BERR_GENERIC = 0,
	BERR_NOT_FOUND = 1,   /* "No such image" etc: a lookup missed */
	BERR_CONFLICT = 2,    /* refused because of a dependent object */
	BERR_INVALID = 3,     /* bad user input */
};

/* Set *err (freeing any previous one) from a printf format; appends
 * ": strerror(errnum)" when errnum != 0. Always returns -1. */
int berr_set(struct berr **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same with an error class. */
int berr_setc(struct berr **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with context: "ctx: old". Returns -1. */
int berr_wrap(struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void berr_free(struct berr *e);
static inline void berr_freep(struct berr **e) { berr_free(*e); *e = NULL; }

#endif
