#include "util/hash.h"

#include <openssl/evp.h>
#include <string.h>

int sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -1;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	h->ctx = c;
	return 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t n)
{
	if (n)
		EVP_DigestUpdate(h->ctx, data, n);
}

void sha256_final_hex(struct sha256 *h, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	static const char hx[] = "0123456789abcdef";
	EVP_DigestFinal_ex(h->ctx, md, &len);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = 0;
	sha256_free(h);
}

void sha256_free(struct sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
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
