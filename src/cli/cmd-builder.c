/* berth builder prune: reclaim the build cache. */
#include "builder/build.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>

CMD(builder_prune)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},
					   {"force", no_argument, 0, 'f'},
					   {"filter", required_argument, 0, 'F'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	bool all = false, force = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "afh", lo, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'f': force = true; break;
		case 'F':
			berr_setc(&e, BERR_INVALID, "--filter is not supported by berth builder prune yet");
			return cli_fail(e);
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!force) {
		printf("WARNING! This will remove all %sbuild cache. Are you sure you want to continue? [y/N] ",
		       all ? "" : "dangling ");
		fflush(stdout);
		char ans[16] = "";
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y'))
			return 0;
	}
	struct image_store *is = cli_store(c);
	if (!is)
		return 1;
	size_t n;
	uint64_t freed;
	if (build_cache_prune(is, all, &n, &freed, &e) < 0)
		return cli_fail(e);
	char sz[32];
	if (freed >= 1000000000)
		snprintf(sz, sizeof(sz), "%.3gGB", (double)freed / 1e9);
	else if (freed >= 1000000)
		snprintf(sz, sizeof(sz), "%.3gMB", (double)freed / 1e6);
	else if (freed >= 1000)
		snprintf(sz, sizeof(sz), "%.3gkB", (double)freed / 1e3);
	else
		snprintf(sz, sizeof(sz), "%lluB", (unsigned long long)freed);
	printf("Total:\t%s\n", sz);
	return 0;
}
