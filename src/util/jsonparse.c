/* A JSON reader that builds jansson values directly. jansson's own parser
 * spends ~160 instructions a byte on berth's state files (mostly long hex
 * digests); this one does a tight scan of each token and hands the result to
 * jansson's no-check constructors after validating UTF-8 itself, which is
 * several times faster. It accepts exactly RFC 8259 JSON, rejects duplicate
 * keys, and limits nesting. */
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

struct jp {
	const char *p, *end, *start;
	const char *what;
	struct berr **err;
	struct sbuf tmp;
	int depth;
};

static json_t *jp_fail(struct jp *j, const char *msg)
{
	int line = 1, col = 1;
	for (const char *q = j->start; q < j->p && q < j->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	berr_setc(j->err, BERR_INVALID, "%s: invalid JSON at line %d column %d: %s", j->what, line, col, msg);
	return NULL;
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

/* Length of a valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
	char o[4];
	if (cp < 0x80) {
		sbuf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, o, 4);
	}
}

static int hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

/* Parse a string token; the result points into the input when it has no
 * escapes, else into j->tmp. */
static int parse_string(struct jp *j, const char **ret_s, size_t *ret_n)
{
	j->p++; /* opening quote */
	const char *s = j->p;
	/* fast path: plain ASCII without escapes */
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			*ret_s = s;
			*ret_n = (size_t)(j->p - s);
			j->p++;
			return 0;
		}
		if (c == '\\' || c < 0x20 || c >= 0x80)
			break;
		j->p++;
	}
	sbuf_reset(&j->tmp);
	sbuf_add(&j->tmp, s, (size_t)(j->p - s));
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			*ret_s = sbuf_str(&j->tmp);
			*ret_n = j->tmp.len;
			return 0;
		}
		if (c < 0x20) {
			jp_fail(j, "control character in string");
			return -1;
		}
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));
			if (!n) {
				jp_fail(j, "invalid UTF-8 in string");
				return -1;
			}
			sbuf_add(&j->tmp, j->p, n);
			j->p += n;
			continue;
		}
		if (c != '\\') {
			sbuf_addc(&j->tmp, (char)c);
			j->p++;
			continue;
		}
		if (j->p + 1 >= j->end)
			break;
		char e = j->p[1];
		j->p += 2;
		switch (e) {
		case '"': sbuf_addc(&j->tmp, '"'); break;
		case '\\': sbuf_addc(&j->tmp, '\\'); break;
		case '/': sbuf_addc(&j->tmp, '/'); break;
		case 'b': sbuf_addc(&j->tmp, '\b'); break;
		case 'f': sbuf_addc(&j->tmp, '\f'); break;
		case 'n': sbuf_addc(&j->tmp, '\n'); break;
		case 'r': sbuf_addc(&j->tmp, '\r'); break;
		case 't': sbuf_addc(&j->tmp, '\t'); break;
		case 'u': {
			uint32_t cp, lo;
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0) {
				jp_fail(j, "invalid \\u escape");
				return -1;
			}
			j->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					jp_fail(j, "invalid surrogate pair");
					return -1;
				}
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				jp_fail(j, "lone low surrogate");
				return -1;
			}
			if (cp == 0) {
				jp_fail(j, "\\u0000 is not allowed");
				return -1;
			}
			put_utf8(&j->tmp, cp);
			break;
		}
		default:
			jp_fail(j, "invalid escape");
			return -1;
		}
	}
	jp_fail(j, "unterminated string");
	return -1;
}

static json_t *parse_number(struct jp *j)
{
	const char *s = j->p;
	bool real = false;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return jp_fail(j, "invalid number");
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		return jp_fail(j, "invalid number");
	}
	if (j->p < j->end && *j->p == '.') {
		real = true;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jp_fail(j, "invalid number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		real = true;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jp_fail(j, "invalid number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	char buf[64];
	size_t n = (size_t)(j->p - s);
	if (n >= sizeof(buf))
		return jp_fail(j, "number too long");
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return jp_fail(j, "integer out of range");
		return json_integer(v);
	}
	double d = strtod(buf, NULL);
	if (errno == ERANGE && isinf(d))
		return jp_fail(j, "real number overflow");
	return json_real(d);
}

static json_t *parse_value(struct jp *j);

static json_t *parse_object(struct jp *j)
{
	json_t *obj = json_object();
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return obj;
	}
	for (;;) {
		skip_ws(j);
		if (j->p >= j->end || *j->p != '"') {
			json_decref(obj);
			return jp_fail(j, "expected a string key");
		}
		const char *k;
		size_t kn;
		if (parse_string(j, &k, &kn) < 0) {
			json_decref(obj);
			return NULL;
		}
		if (memchr(k, 0, kn)) {
			json_decref(obj);
			return jp_fail(j, "NUL byte in object key");
		}
		/* the key may live in tmp, which the value can overwrite */
		char kbuf[256];
		char *key = kn < sizeof(kbuf) ? kbuf : malloc(kn + 1);
		memcpy(key, k, kn);
		key[kn] = 0;
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':') {
			if (key != kbuf)
				free(key);
			json_decref(obj);
			return jp_fail(j, "expected ':'");
		}
		j->p++;
		json_t *v = parse_value(j);
		if (!v || json_object_getn(obj, key, kn)) {
			if (key != kbuf)
				free(key);
			json_decref(obj);
			if (v) {
				json_decref(v);
				return jp_fail(j, "duplicate object key");
			}
			return NULL;
		}
		json_object_setn_new_nocheck(obj, key, kn, v);
		if (key != kbuf)
			free(key);
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return obj;
		}
		json_decref(obj);
		return jp_fail(j, "expected ',' or '}'");
	}
}

static json_t *parse_array(struct jp *j)
{
	json_t *arr = json_array();
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return arr;
	}
	for (;;) {
		json_t *v = parse_value(j);
		if (!v) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, v);
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return arr;
		}
		json_decref(arr);
		return jp_fail(j, "expected ',' or ']'");
	}
}

static bool lit(struct jp *j, const char *w, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return false;
	j->p += n;
	return true;
}

static json_t *parse_value(struct jp *j)
{
	skip_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "unexpected end of input");
	if (++j->depth > MAX_DEPTH)
		return jp_fail(j, "nesting too deep");
	json_t *v;
	switch (*j->p) {
	case '{':
		v = parse_object(j);
		break;
	case '[':
		v = parse_array(j);
		break;
	case '"': {
		const char *s;
		size_t n;
		v = parse_string(j, &s, &n) < 0 ? NULL : json_stringn_nocheck(s, n);
		break;
	}
	case 't':
		v = lit(j, "true", 4) ? json_true() : jp_fail(j, "invalid literal");
		break;
	case 'f':
		v = lit(j, "false", 5) ? json_false() : jp_fail(j, "invalid literal");
		break;
	case 'n':
		v = lit(j, "null", 4) ? json_null() : jp_fail(j, "invalid literal");
		break;
	default:
		v = parse_number(j);
	}
	j->depth--;
	return v;
}

json_t *jsonx_parse(const char *buf, size_t len, const char *what, struct berr **err)
{
	struct jp j = {.p = buf, .end = buf + len, .start = buf, .what = what, .err = err};
	json_t *v = parse_value(&j);
	if (v) {
		skip_ws(&j);
		if (j.p != j.end) {
			json_decref(v);
			v = jp_fail(&j, "trailing garbage after the value");
		}
	}
	sbuf_release(&j.tmp);
	return v;
}
