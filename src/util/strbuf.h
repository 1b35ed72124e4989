/* Growable byte buffer, always NUL-terminated. */
#ifndef BERTH_UTIL_STRBUF_H
#define BERTH_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *s;
	size_t len, cap;
};
#define SBUF_INIT { NULL, 0, 0 }

void sbuf_grow(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_reset(struct sbuf *b);
/* Returns the string (never NULL) and leaves b empty; caller frees. */
char *sbuf_detach(struct sbuf *b);
void sbuf_release(struct sbuf *b);
/* Access the string, "" when empty. */
/* Go's strconv.ParseBool (1 t T TRUE true True / 0 f F FALSE false False),
 * which Docker's and docker compose's boolean flags use. -1 otherwise. */
int str_parse_gobool(const char *v, bool *ret);

static inline const char *sbuf_str(const struct sbuf *b) { return b->s ? b->s : ""; }

#endif
