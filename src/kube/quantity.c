/* Kubernetes quantities (quantity.h). Grammar (apimachinery):
 *   quantity ::= [+-]? digits [. digits] suffix
 *   suffix   ::= Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|""|k|M|G|T|P|E | (e|E)[+-]?digits */
#include "kube/quantity.h"

#include <ctype.h>
#include <string.h>

/* value = mant / 10^frac_digits, times base^exp; computed in milli-units
 * with 128-bit intermediates. */
bool kube_quantity_milli(const char *s, int64_t *ret_milli)
{
	if (!s || !*s)
		return false;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	__int128 mant = 0;
	int frac = 0, digits = 0;
	while (isdigit((unsigned char)*p)) {
		if (mant > ((__int128)1 << 100))
			return false;
		mant = mant * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (frac < 30) {
				mant = mant * 10 + (*p - '0');
				frac++;
			}
			p++;
			digits++;
		}
	}
	if (!digits)
		return false;
	/* multiplier as num/den */
	__int128 num = 1, den = 1;
	int dec_exp = 0;
	static const struct { const char *s; int bin; int dec; } suf[] = {
		{"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0}, {"Ei", 60, 0},
		{"n", 0, -9}, {"u", 0, -6}, {"m", 0, -3}, {"k", 0, 3}, {"M", 0, 6}, {"G", 0, 9},
		{"T", 0, 12}, {"P", 0, 15}, {"E", 0, 18},
	};
	if (*p == 'e' || *p == 'E') {
		if (p[1] == '\0' && *p == 'E') {
			dec_exp = 18;
			p++;
		} else {
			const char *q = p + 1;
			bool eneg = false;
			if (*q == '+' || *q == '-')
				eneg = *q++ == '-';
			if (!isdigit((unsigned char)*q))
				return false;
			int e = 0;
			while (isdigit((unsigned char)*q)) {
				e = e * 10 + (*q++ - '0');
				if (e > 40)
					return false;
			}
			if (*q)
				return false;
			dec_exp = eneg ? -e : e;
			p = q;
		}
	} else if (*p) {
		size_t i;
		for (i = 0; i < sizeof(suf) / sizeof(*suf); i++)
			if (!strcmp(p, suf[i].s))
				break;
		if (i == sizeof(suf) / sizeof(*suf))
			return false;
		if (suf[i].bin)
			num = (__int128)1 << suf[i].bin;
		dec_exp = suf[i].dec;
	}
	dec_exp += 3 - frac; /* milli-units, and the fraction's digits */
	while (dec_exp > 0) {
		num *= 10;
		dec_exp--;
		if (num > ((__int128)1 << 100))
			return false;
	}
	while (dec_exp < 0) {
		den *= 10;
		dec_exp++;
		if (den > ((__int128)1 << 100))
			return false;
	}
	if (mant && num > (((__int128)1 << 120) / mant))
		return false;
	__int128 v = mant * num;
	v = (v + den - 1) / den; /* round up */
	if (v > INT64_MAX)
		return false;
	*ret_milli = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

bool kube_quantity_value(const char *s, int64_t *ret)
{
	int64_t m;
	if (!kube_quantity_milli(s, &m))
		return false;
	*ret = m >= 0 ? (m + 999) / 1000 : -((-m) / 1000);
	return true;
}
