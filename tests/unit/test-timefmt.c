#include "util/timefmt.h"
#include "unit.h"

static void dur(double s, const char *want)
{
	char b[64];
	time_human_duration(s, b, sizeof(b));
	CHECK_STR(b, want, "duration %g", s);
}

static void size(double n, const char *want)
{
	char b[64];
	size_human(n, b, sizeof(b));
	CHECK_STR(b, want, "size %g", n);
}

int main(void)
{
	dur(0.5, "Less than a second");
	dur(1, "1 second");
	dur(45, "45 seconds");
	dur(61, "About a minute");
	dur(59 * 60, "59 minutes");
	dur(3600, "About an hour");
	dur(3 * 3600, "3 hours");
	dur(47 * 3600, "47 hours");
	dur(3 * 86400, "3 days");
	dur(20 * 86400, "2 weeks");
	dur(90 * 86400, "3 months");
	dur(800 * 86400, "2 years");
	size(0, "0B");
	size(999, "999B");
	size(1000, "1kB");
	size(4261000, "4.26MB");
	size(885000, "885kB");
	size(1.2e9, "1.2GB");

	struct timespec ts;
	CHECK(time_parse_rfc3339("2024-01-02T03:04:05.123456789Z", &ts) == 0 && ts.tv_sec == 1704164645 &&
		      ts.tv_nsec == 123456789,
	      "parse rfc3339 with nanoseconds");
	CHECK(time_parse_rfc3339("2024-01-02T05:04:05+02:00", &ts) == 0 && ts.tv_sec == 1704164645,
	      "parse rfc3339 with offset");
	CHECK(time_parse_rfc3339("2024-01-02 03:04:05", &ts) < 0, "reject non-rfc3339");
	char b[64];
	ts.tv_sec = 1704164645;
	ts.tv_nsec = 5;
	time_rfc3339(&ts, b, sizeof(b));
	CHECK_STR(b, "2024-01-02T03:04:05.000000005Z", "format rfc3339");
	int64_t ns = 0;
	CHECK(time_parse_duration("1m30s", false, &ns) == 0 && ns == 90000000000LL, "duration 1m30s");
	CHECK(time_parse_duration("500ms", false, &ns) == 0 && ns == 500000000LL, "duration 500ms");
	CHECK(time_parse_duration("1h2m3s4ms5us6ns", false, &ns) == 0 && ns == 3723004005006LL, "duration all units");
	CHECK(time_parse_duration("1.5s", false, &ns) == 0 && ns == 1500000000LL, "duration with a fraction");
	CHECK(time_parse_duration("30", false, &ns) < 0, "bare number refused without bare_seconds");
	CHECK(time_parse_duration("30", true, &ns) == 0 && ns == 30000000000LL, "bare number as seconds");
	CHECK(time_parse_duration("1m30", true, &ns) < 0, "number without unit after a unit");
	CHECK(time_parse_duration("", true, &ns) < 0 && time_parse_duration("5x", false, &ns) < 0 &&
		      time_parse_duration("s", false, &ns) < 0 && time_parse_duration("1e300h", false, &ns) < 0,
	      "malformed durations");
	UNIT_END();
}
