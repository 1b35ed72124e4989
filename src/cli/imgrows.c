#include "cli/imgrows.h"
#include "util/timefmt.h"

#include <stdio.h>
#include <string.h>

time_t imgrows_time(const char *s)
{
	struct timespec ts;
	if (!s || time_parse_rfc3339(s, &ts) < 0)
		return 0;
	return ts.tv_sec;
}

void imgrows_since(const char *s, char *buf, size_t n)
{
	struct timespec ts, now;
	if (!s || time_parse_rfc3339(s, &ts) < 0 || ts.tv_sec <= 0) {
		snprintf(buf, n, "N/A");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	double d = (double)(now.tv_sec - ts.tv_sec) + (double)(now.tv_nsec - ts.tv_nsec) / 1e9;
	char h[64];
	time_human_duration(d < 0 ? 0 : d, h, sizeof(h));
	snprintf(buf, n, "%s ago", h);
}

void imgrows_go_time(const char *s, char *buf, size_t n)
{
	struct timespec ts;
	if (!s || time_parse_rfc3339(s, &ts) < 0) {
		snprintf(buf, n, "N/A");
		return;
	}
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
}
