#include "cli/ctr.h"
#include "runtime/rename.h"

#include <getopt.h>

CMD(rename)
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
	if (argc - optind != 2)
		return cli_usage_error(c, "requires exactly 2 arguments.");
	const char *oldref = argv[optind], *newname = argv[optind + 1];
	struct berr *e = NULL;
	if (!*oldref || !*newname) {
		berr_setc(&e, BERR_INVALID, "Neither old nor new names may be empty");
		return cli_fail(e);
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	char id[65];
	if (ctr_resolve(s, oldref, id, &e) < 0 || ctr_rename(s, id, newname, &e) < 0)
		return cli_fail(e);
	return 0;
}
