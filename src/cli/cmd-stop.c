/* stop and restart: the stop signal (the container's, or -s/--signal), then
 * SIGKILL after -t seconds, for all named containers at once. */
#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int stop_or_restart(struct cli *c, int argc, char **argv, bool restart)
{
	static const struct option lo[] = {{"time", required_argument, 0, 't'}, {"timeout", required_argument, 0, 't'},
					   {"signal", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0}};
	int timeout = -1, sig = 0;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "t:s:h", lo, NULL)) != -1) {
		switch (o) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg) {
				fprintf(stderr, "invalid argument \"%s\" for \"-t, --time\" flag\n", optarg);
				return 1;
			}
			timeout = v < 0 ? -1 : (int)v;
			break;
		}
		case 's': {
			struct berr *e = NULL;
			if (signal_parse(optarg, &sig, &e) < 0)
				return cli_fail(e);
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	int n = argc - optind, rc = 0;
	char (*ids)[65] = calloc((size_t)n, sizeof(*ids));
	const char **names = calloc((size_t)n, sizeof(*names));
	int k = 0;
	for (int i = optind; i < argc; i++) {
		struct berr *e = NULL;
		if (ctr_resolve(s, argv[i], ids[k], &e) < 0) {
			rc = cli_fail(e);
			continue;
		}
		names[k++] = argv[i];
	}
	_cleanup_json_ json_t *errs = json_array();
	ctr_stop_many_sig(s, ids, (size_t)k, timeout, sig, errs);
	size_t ei;
	json_t *ev;
	json_array_foreach(errs, ei, ev) {
		fprintf(stderr, "Error: %s\n", json_string_value(ev));
		rc = 1;
	}
	for (int i = 0; i < k; i++) {
		if (restart) {
			struct berr *e = NULL;
			int code;
			if (ctr_start(s, ids[i], NULL, NULL, &code, &e) < 0) {
				fprintf(stderr, "Error: failed to restart %s: %s\n", names[i], e->msg);
				berr_free(e);
				rc = 1;
				continue;
			}
		}
		printf("%s\n", names[i]);
	}
	free(ids);
	free(names);
	return rc;
}

CMD(stop) { return stop_or_restart(c, argc, argv, false); }
CMD(restart) { return stop_or_restart(c, argc, argv, true); }
