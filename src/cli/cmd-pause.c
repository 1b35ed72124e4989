#include "cli/ctr.h"
#include "runtime/pause.h"

#include <getopt.h>

static int pause_cmd(struct cli *c, int argc, char **argv, bool pause)
{
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct berr *e = NULL;
		char id[65];
		if (ctr_resolve(s, argv[i], id, &e) < 0 ||
		    (pause ? ctr_pause(s, id, &e) : ctr_unpause(s, id, &e)) < 0) {
			rc = cli_fail(e);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

CMD(pause)
{
	return pause_cmd(c, argc, argv, true);
}

CMD(unpause)
{
	return pause_cmd(c, argc, argv, false);
}
