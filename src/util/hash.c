/* OpenSSL's SHA256_* functions, not EVP: the first EVP digest of a process
 * loads the provider machinery and the OpenSSL config (5 M instructions,
 * about 2 ms), which every `berth run` paid to check one small config
 * blob. The low-level functions run the same assembly (SHA extensions
 * included) with nothing to initialize. They are deprecated in OpenSSL 3
 * in favour of EVP, not removed. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "util/hash.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

int sha256_init(struct sha256 *h)
{
	SHA256_CTX *c = malloc(sizeof(*c));
	if (!c)
		return -1;
	if (SHA256_Init(c) != 1) {
		free(c);
		return -1;
	}
	h->ctx = c;
	return 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t n)
{
	if (n)
		SHA256_Update(h->ctx, data, n);
}

void sha256_final_hex(struct sha256 *h, char out[65])
{
	unsigned char md[32];
	static const char hx[] = "0123456789abcdef";
	SHA256_Final(md, h->ctx);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = 0;
	sha256_free(h);
}

void sha256_free(struct sha256 *h)
{
	free(h->ctx);
	h->ctx = NULL;
}

void sha256_digest_of(const void *data, size_t n, char out[72])
{
	struct sha256 h;
	memcpy(out, "sha256:", 7);
	if (sha256_init(&h) < 0) {
		out[7] = 0;
		return;
	}
	sha256_update(&h, data, n);
	sha256_final_hex(&h, out + 7);
}

bool hex64_is_valid(const char *h)
{
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return h[64] == 0;
}

bool digest_is_valid(const char *d)
{
	return d && strncmp(d, "sha256:", 7) == 0 && strlen(d) == 71 && hex64_is_valid(d + 7);
}
