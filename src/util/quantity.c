/* Kubernetes resource quantities (quantity.h): apimachinery's grammar,
 *   quantity ::= [+]digits[.digits] (Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|""|k|M|G|T|P|E | e[+-]digits)
 * computed with 128-bit intermediates. One parser for the pod runtime
 * (resources -> cgroups) and the kube layer (downward API, emptyDir sizes,
 * manifest checks). */
#include "util/quantity.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int quantity_parse(const char *s, int scale, int64_t *ret)
{
	if (!s || !*s)
		return -1;
	const char *p = s;
	if (*p == '+')
		p++;
	__int128 mant = 0;
	int frac = 0, sig = 0;
	bool digits = false, dot = false;
	for (; *p; p++) {
		if (*p == '.' && !dot) {
			dot = true;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			break;
		digits = true;
		if (mant == 0 && *p == '0') {
			if (dot)
				frac++;
			continue;
		}
		if (++sig > 18)
			return -1; /* more precision than an int64 holds */
		mant = mant * 10 + (*p - '0');
		if (dot)
			frac++;
	}
	if (!digits)
		return -1;
	int exp10 = -frac;
	__int128 mult = 1;
	static const struct { const char *suf; int e10; int e2; } sufs[] = {
		{"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
		{"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},
		{"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
	};
	if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
					 ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		char *end;
		long e = strtol(p + 1, &end, 10);
		if (*end || e > 100 || e < -100)
			return -1;
		exp10 += (int)e;
	} else if (*p) {
		bool found = false;
		for (size_t i = 0; i < sizeof(sufs) / sizeof(*sufs) && !found; i++) {
			if (strcmp(p, sufs[i].suf))
				continue;
			exp10 += sufs[i].e10;
			mult = (__int128)1 << sufs[i].e2;
			found = true;
		}
		if (!found)
			return -1;
	}
	__int128 v = mant * mult;
	int e = exp10 + scale;
	for (; e > 0; e--) {
		v *= 10;
		if (v > INT64_MAX)
			return -1;
	}
	if (e < 0) {
		if (e < -36) {
			v = v ? 1 : 0;
		} else {
			__int128 d = 1;
			for (; e < 0; e++)
				d *= 10;
			v = (v + d - 1) / d; /* rounded up, as apimachinery */
		}
	}
	if (v > INT64_MAX)
		return -1;
	*ret = (int64_t)v;
	return 0;
}
