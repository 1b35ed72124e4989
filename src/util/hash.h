/* SHA-256 digests for content addressing. */
#ifndef BERTH_UTIL_HASH_H
#define BERTH_UTIL_HASH_H

#include <stdbool.h>
#include <stddef.h>

struct sha256 {
	void *ctx; /* SHA256_CTX */
};

int sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t n);
/* Writes 64 lowercase hex digits + NUL and frees the context. */
void sha256_final_hex(struct sha256 *h, char out[65]);
void sha256_free(struct sha256 *h);
/* One-shot "sha256:<hex>" of a buffer into out (72 bytes). */
void sha256_digest_of(const void *data, size_t n, char out[72]);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_is_valid(const char *d);
/* True for 64 lowercase hex digits. */
bool hex64_is_valid(const char *h);

#endif
