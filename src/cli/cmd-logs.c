#include "cli/ctr.h"
#include "runtime/logs.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --since/--until: RFC 3339, Unix seconds, or a relative "10m". */
static int parse_time(const char *flag, const char *s, struct timespec *ret, struct berr **err)
{
	if (time_parse_rfc3339(s, ret) == 0)
		return 0;
	char *end;
	double v = strtod(s, &end);
	if (end != s && !*end) {
		ret->tv_sec = (time_t)v;
		ret->tv_nsec = (long)((v - (double)(time_t)v) * 1e9);
		return 0;
	}
	if (end != s) {
		double mul = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
		if (mul > 0) {
			clock_gettime(CLOCK_REALTIME, ret);
			ret->tv_sec -= (time_t)(v * mul);
			return 0;
		}
	}
	return berr_setc(err, BERR_INVALID, "invalid value for \"%s\": \"%s\" is not a timestamp or a duration", flag, s);
}

CMD(logs)
{
	static const struct option lo[] = {{"follow", no_argument, 0, 'f'}, {"tail", required_argument, 0, 'n'},
					   {"timestamps", no_argument, 0, 't'}, {"since", required_argument, 0, 'S'},
					   {"until", required_argument, 0, 'U'}, {"details", no_argument, 0, 'D'},
					   {"help", no_argument, 0, 'h'}, {0}};
	struct logs_opts lo2 = {.tail = -1, .out = 1, .err = 2};
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "fn:th", lo, NULL)) != -1) {
		switch (o) {
		case 'f': lo2.follow = true; break;
		case 't': lo2.timestamps = true; break;
		case 'n':
			if (!strcmp(optarg, "all")) {
				lo2.tail = -1;
			} else {
				char *end;
				long v = strtol(optarg, &end, 10);
				if (*end || !*optarg) {
					berr_setc(&e, BERR_INVALID, "invalid value for \"--tail\": \"%s\"", optarg);
					return cli_fail(e);
				}
				lo2.tail = v < 0 ? -1 : v;
			}
			break;
		case 'S':
			if (parse_time("since", optarg, &lo2.since, &e) < 0)
				return cli_fail(e);
			break;
		case 'U':
			if (parse_time("until", optarg, &lo2.until, &e) < 0)
				return cli_fail(e);
			break;
		case 'D': lo2.details = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(c, "requires exactly 1 argument.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	char id[65];
	if (ctr_resolve(s, argv[optind], id, &e) < 0 || logs_print(s, id, &lo2, &e) < 0)
		return cli_fail(e);
	return 0;
}
