/* Time and size formatting the way Docker's CLI prints them. */
#ifndef BERTH_UTIL_TIMEFMT_H
#define BERTH_UTIL_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 3339 UTC with nanoseconds, e.g. 2026-11-22T13:04:03.123456789Z. */
void time_rfc3339(const struct timespec *ts, char *buf, size_t n);
/* Parse RFC 3339 (any fraction, Z or +hh:mm offset); -1 when malformed. */
int time_parse_rfc3339(const char *s, struct timespec *ret);
/* "5 minutes", "About an hour", "3 weeks" ... (Docker's HumanDuration). */
void time_human_duration(double seconds, char *buf, size_t n);
/* A Go duration ("1m30s", "500ms", "2h") in nanoseconds: runs of a number
 * and a unit (ns, us, ms, s, m, h). With bare_seconds a plain number means
 * seconds (compose files). Returns -1 when malformed. */
int time_parse_duration(const char *s, bool bare_seconds, int64_t *ret_ns);
/* Decimal units with 3 significant digits: "4.26MB", "885kB" (HumanSize). */
void size_human(double bytes, char *buf, size_t n);

#endif
