#include "cli/ctr.h"
#include "runtime/lifecycle.h"

#include <getopt.h>

CMD(wait)
{
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (o == 'h')
			return cli_help(c);
		return cli_usage_error(c, "got an unknown flag.");
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		char id[65];
		struct berr *e = NULL;
		int code;
		if (ctr_resolve(s, argv[i], id, &e) < 0 || ctr_wait_exit(s, id, &code, &e) < 0) {
			rc = cli_fail(e);
			continue;
		}
		printf("%d\n", code);
	}
	return rc;
}
