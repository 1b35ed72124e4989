/* Small UTF-8 helpers shared by the Dockerfile parser and the shell-word
 * processor. Upstream Docker works on decoded runes in a few places (what
 * counts as whitespace, how strings are quoted), so these follow Go's rules:
 * a strict decoder (no overlongs, no surrogates, nothing above U+10FFFF) and
 * Go's unicode.IsSpace set. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode one code point from s[0..n). Returns its byte length (>= 1); an
 * invalid sequence yields *cp = -1 and length 1. n must be >= 1. */
static inline size_t utf8_decode(const char *s, size_t n, int32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned c = u[0];
	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (n < len) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = (int32_t)v;
	return len;
}

/* Go's unicode.IsSpace. */
static inline bool utf8_is_space(int32_t c)
{
	switch (c) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return true;
	}
	return c >= 0x2000 && c <= 0x200a;
}

/* Length of the run of (Go) whitespace at the start of s[0..n). */
static inline size_t utf8_space_prefix(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		int32_t cp;
		size_t w = utf8_decode(s + i, n - i, &cp);
		if (!utf8_is_space(cp))
			break;
		i += w;
	}
	return i;
}

/* Length of s[0..n) without its trailing (Go) whitespace. */
static inline size_t utf8_trim_right_len(const char *s, size_t n)
{
	size_t end = 0, i = 0;
	while (i < n) {
		int32_t cp;
		size_t w = utf8_decode(s + i, n - i, &cp);
		i += w;
		if (!utf8_is_space(cp))
			end = i;
	}
	return end;
}
