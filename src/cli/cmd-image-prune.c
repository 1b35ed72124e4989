#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

CMD(image_prune)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},
					   {"force", no_argument, 0, 'f'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	bool all = false, force = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "afh", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			all = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!force) {
		printf("WARNING! This will remove all %s.\nAre you sure you want to continue? [y/N] ",
		       all ? "images without at least one container associated to them" : "dangling images");
		fflush(stdout);
		char ans[16] = {0};
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y')) {
			printf("\n");
			return 0;
		}
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *lines = json_array();
	uint64_t freed = 0;
	if (cli_prune_images(s, all, lines, &freed, &e) < 0)
		return cli_fail(e);
	if (json_array_size(lines)) {
		size_t i;
		json_t *v;
		printf("Deleted Images:\n");
		json_array_foreach(lines, i, v) printf("%s\n", json_string_value(v));
		printf("\n");
	}
	char hs[32];
	size_human((double)freed, hs, sizeof(hs));
	printf("Total reclaimed space: %s\n", hs);
	return 0;
}
