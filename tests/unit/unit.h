/* Minimal unit-test harness: TAP-style "ok"/"not ok" lines that
 * tests/run.sh counts. */
#ifndef BERTH_UNIT_H
#define BERTH_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_fails;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (cond) {                                                 \
			printf("ok - ");                                    \
		} else {                                                    \
			printf("not ok - %s:%d: ", __FILE__, __LINE__);    \
			unit_fails++;                                       \
		}                                                           \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
	} while (0)

#define CHECK_STR(got, want, ...)                                           \
	do {                                                                \
		const char *g_ = (got), *w_ = (want);                       \
		int same_ = (g_ && w_) ? !strcmp(g_, w_) : g_ == w_;        \
		CHECK(same_, __VA_ARGS__);                                  \
		if (!same_)                                                 \
			printf("#   got:  %s\n#   want: %s\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

#define UNIT_END() return unit_fails ? 1 : 0

#endif
