/* jansson helpers. */
#ifndef BERTH_UTIL_JSONX_H
#define BERTH_UTIL_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"


/* Parse a buffer; the error names `what` and the line/column. */
json_t *jsonx_parse(const char *buf, size_t len, const char *what, struct berr **err);
/* Load dirfd/name (at most max bytes). */
json_t *jsonx_load_at(int dirfd, const char *name, size_t max, struct berr **err);
/* Compact serialization (caller frees); keys sorted when sorted != 0. */
char *jsonx_dumps(const json_t *j, int sorted);
/* String member or NULL. */
const char *jsonx_str(const json_t *obj, const char *key);

#endif
