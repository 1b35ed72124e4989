/* berth compose logs: every selected container's log with a
 * "service-N  | " prefix; -f follows across restarts and new replicas. */
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
		case 'S': lo.since = optarg; break;
		case 'U': case 'I': break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	lo.services = sel;
	lo.stop_when_all_exit = false;
	return compose_cli_logs(cc, &lo);
}
