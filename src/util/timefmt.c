#include "util/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void time_rfc3339(const struct timespec *ts, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ts->tv_nsec)
		snprintf(buf, n, "%s.%09ldZ", base, ts->tv_nsec);
	else
		snprintf(buf, n, "%sZ", base);
}

int time_parse_rfc3339(const char *s, struct timespec *ret)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	long nsec = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			if (digits < 9) {
				nsec = nsec * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			nsec *= 10;
	}
	time_t t = timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '+' ? 1 : -1, hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		t -= sign * (hh * 3600 + mm * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	ret->tv_sec = t;
	ret->tv_nsec = nsec;
	return 0;
}

void time_human_duration(double seconds, char *buf, size_t n)
{
	long s = (long)seconds;
	long minutes = s / 60;
	long hours = (long)(seconds / 3600.0 + 0.5);
	if (seconds < 1)
		snprintf(buf, n, "Less than a second");
	else if (s == 1)
		snprintf(buf, n, "1 second");
	else if (s < 60)
		snprintf(buf, n, "%ld seconds", s);
	else if (minutes == 1)
		snprintf(buf, n, "About a minute");
	else if (minutes < 60)
		snprintf(buf, n, "%ld minutes", minutes);
	else if (hours == 1)
		snprintf(buf, n, "About an hour");
	else if (hours < 48)
		snprintf(buf, n, "%ld hours", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, n, "%ld days", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(buf, n, "%ld weeks", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, n, "%ld months", hours / 24 / 30);
	else
		snprintf(buf, n, "%ld years", (long)(seconds / 3600.0) / 24 / 365);
}

void size_human(double bytes, char *buf, size_t n)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	int i = 0;
	while (bytes >= 1000.0 && i < 6) {
		bytes /= 1000.0;
		i++;
	}
	snprintf(buf, n, "%.3g%s", bytes, units[i]);
}

int time_parse_duration(const char *s, bool bare_seconds, int64_t *ret_ns)
{
	double total = 0;
	const char *p = s;
	if (!p || !*p)
		return -1;
	while (*p) {
		char *end;
		double x = strtod(p, &end);
		if (end == p)
			return -1;
		bool first = p == s;
		p = end;
		double mul;
		if (!strncmp(p, "ns", 2)) mul = 1, p += 2;
		else if (!strncmp(p, "us", 2)) mul = 1e3, p += 2;
		else if (!strncmp(p, "ms", 2)) mul = 1e6, p += 2;
		else if (*p == 's') mul = 1e9, p++;
		else if (*p == 'm') mul = 60e9, p++;
		else if (*p == 'h') mul = 3600e9, p++;
		else if (!*p && bare_seconds && first) mul = 1e9;
		else return -1;
		total += x * mul;
	}
	if (total > 9.2e18 || total < -9.2e18)
		return -1;
	*ret_ns = (int64_t)total;
	return 0;
}
