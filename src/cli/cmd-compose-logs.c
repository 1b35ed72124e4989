/* berth compose logs: every selected container's log with a
 * "service-N  | " prefix; -f follows across restarts and new replicas;
 * --index N only replica N of one service; --since/--until a window. */
#include "cli/compose.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

COMPOSE_CMD(logs)
{
	static const struct option opts[] = {
		{"follow", no_argument, 0, 'f'},      {"tail", required_argument, 0, 'n'},
		{"timestamps", no_argument, 0, 't'},  {"no-color", no_argument, 0, 'C'},
		{"no-log-prefix", no_argument, 0, 'P'}, {"since", required_argument, 0, 'S'},
		{"until", required_argument, 0, 'U'}, {"index", required_argument, 0, 'I'},
		{0},
	};
	struct compose_logs_opts lo = {.tail = -1};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "fn:t", opts, NULL)) != -1) {
		switch (o) {
		case 'f': lo.follow = true; break;
		case 'n':
			if (strcmp(optarg, "all")) {
				char *end;
				lo.tail = strtol(optarg, &end, 10);
				if (*end) {
					fprintf(stderr, "Error: invalid --tail value \"%s\"\n", optarg);
					return 1;
				}
			}
			break;
		case 't': lo.timestamps = true; break;
		case 'C': lo.no_color = true; break;
		case 'P': lo.no_prefix = true; break;
		case 'S':
		case 'U':
			if (compose_parse_time(optarg, o == 'S' ? &lo.since : &lo.until) < 0) {
				fprintf(stderr, "Error: invalid value for \"%s\": \"%s\" is not a timestamp or a duration\n",
					o == 'S' ? "since" : "until", optarg);
				return 1;
			}
			break;
		case 'I':
			if (compose_cli_int_flag("--index", optarg, &lo.index) < 0)
				return 1;
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	/* docker compose: --index picks a replica of one service */
	if (lo.index > 0 && argc - optind != 1) {
		fprintf(stderr, "Error: --index requires one service to be selected\n");
		return 1;
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	if (lo.index > 0) {
		struct compose_ctrs cs;
		if (compose_cli_ctrs(cc, sel, false, &cs) < 0)
			return 1;
		bool found = false;
		for (size_t i = 0; i < cs.n; i++)
			found = found || cs.v[i].number == lo.index;
		compose_ctrs_release(&cs);
		if (!found) {
			fprintf(stderr, "Error: service \"%s\" is not running container #%d\n", argv[optind], lo.index);
			return 1;
		}
	}
	lo.services = sel;
	lo.stop_when_all_exit = false;
	return compose_cli_logs(cc, &lo);
}
