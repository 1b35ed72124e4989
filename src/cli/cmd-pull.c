#include "cli/cli.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

CMD(pull)
{
	enum { O_PLATFORM = 256, O_MAXDL, O_DCT };
	static const struct option lo[] = {{"all-tags", no_argument, 0, 'a'},
					   {"platform", required_argument, 0, O_PLATFORM},
					   {"quiet", no_argument, 0, 'q'},
					   {"max-concurrent-downloads", required_argument, 0, O_MAXDL},
					   {"disable-content-trust", optional_argument, 0, O_DCT},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *platform = getenv("DOCKER_DEFAULT_PLATFORM");
	bool quiet = false;
	int maxdl = 3;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aqh", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			fprintf(stderr, "berth: pull --all-tags is not supported yet: pull one tag at a time\n");
			return 1;
		case O_PLATFORM: platform = optarg; break;
		case 'q': quiet = true; break;
		case O_MAXDL: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 64)
				return cli_usage_error(c, "invalid --max-concurrent-downloads \"%s\" (1-64)", optarg);
			maxdl = (int)v;
			break;
		}
		case O_DCT: {
			int r = cli_content_trust_flag(optarg);
			if (r)
				return r;
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(c, "requires exactly 1 argument.");
	if (platform && !*platform)
		platform = NULL;
	return cli_pull(c, argv[optind], platform, maxdl, quiet, stdout);
}
