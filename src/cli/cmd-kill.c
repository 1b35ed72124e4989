#include "cli/ctr.h"
#include "runtime/lifecycle.h"

#include <getopt.h>
#include <signal.h>

CMD(kill)
{
	static const struct option lo[] = {{"signal", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0}};
	int sig = SIGKILL;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "s:h", lo, NULL)) != -1) {
		switch (o) {
		case 's':
			if (signal_parse(optarg, &sig, &e) < 0)
				return cli_fail(e);
			break;
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
		char id[65];
		if (ctr_resolve(s, argv[i], id, &e) < 0 || ctr_kill(s, id, sig, &e) < 0) {
			rc = cli_fail(e);
			e = NULL;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}
