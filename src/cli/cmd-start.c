#include "cli/ctr.h"
#include "runtime/lifecycle.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

CMD(start)
{
	static const struct option lo[] = {{"attach", no_argument, 0, 'a'}, {"interactive", no_argument, 0, 'i'},
					   {"help", no_argument, 0, 'h'}, {0}};
	bool attach = false, interactive = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aih", lo, NULL)) != -1) {
		switch (o) {
		case 'a': attach = true; break;
		case 'i': interactive = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	if (attach && argc - optind > 1) {
		fprintf(stderr, "Error: you cannot start and attach multiple containers at once\n");
		return 1;
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		char id[65];
		struct berr *e = NULL;
		if (ctr_resolve(s, argv[i], id, &e) < 0) {
			rc = cli_fail(e);
			continue;
		}
		struct monitor_attach a = {.attach = attach, .in = interactive ? 0 : -1, .out = 1, .err = 2};
		int sfd = -1, code = 0;
		if (ctr_start(s, id, &a, attach ? &sfd : NULL, &code, &e) < 0) {
			fprintf(stderr, "Error: failed to start container %s: %s\n", argv[i], e->msg);
			berr_free(e);
			rc = 1;
			continue;
		}
		if (attach) {
			if (sfd < 0)
				return 0;
			int ec = ctr_wait_status(sfd);
			close(sfd);
			return ec < 0 ? 1 : ec;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}
