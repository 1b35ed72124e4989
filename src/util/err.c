#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int berr_vset(struct berr **err, int errnum, int code, const char *fmt, va_list ap)
{
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	if (m && errnum) {
		char *m2 = NULL;
		if (asprintf(&m2, "%s: %s", m, strerror(errnum)) >= 0) {
			free(m);
			m = m2;
		}
	}
	if (!err) {
		free(m);
		return -1;
	}
	berr_free(*err);
	struct berr *e = calloc(1, sizeof(*e));
	if (!e) {
		free(m);
		*err = NULL;
		return -1;
	}
	e->errnum = errnum;
	e->code = code;
	e->msg = m ? m : strdup("out of memory");
	*err = e;
	return -1;
}

int berr_set(struct berr **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berr_vset(err, errnum, BERR_GENERIC, fmt, ap);
	va_end(ap);
	return -1;
}

int berr_setc(struct berr **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berr_vset(err, 0, code, fmt, ap);
	va_end(ap);
	return -1;
}

int berr_wrap(struct berr **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	char *ctx = NULL, *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx && asprintf(&m, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0) {
		free((*err)->msg);
		(*err)->msg = m;
	}
	free(ctx);
	return -1;
}

void berr_free(struct berr *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}
