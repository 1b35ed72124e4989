#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/cleanup.h"

#include <getopt.h>

CMD(rm)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"volumes", no_argument, 0, 'v'},
					   {"link", no_argument, 0, 'l'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false, vols = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "fvlh", lo, NULL)) != -1) {
		switch (o) {
		case 'f': force = true; break;
		case 'v': vols = true; break;
		case 'l':
			/* docker rm --link removes only a legacy link (run --link),
			 * never the container: berth has no such links, so removing
			 * the containers instead would be wrong */
			fprintf(stderr, "Error: --link: berth has no legacy container links (docker run --link) to remove; use networks\n");
			return 1;
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
		struct berr *e = NULL;
		if (ctr_resolve(s, argv[i], id, &e) < 0) {
			/* docker rm -f of a missing container is not an error */
			if (force && e->code == BERR_NOT_FOUND) {
				berr_free(e);
				continue;
			}
			rc = cli_fail(e);
			continue;
		}
		_cleanup_json_ json_t *cfg = vols ? ctr_config(s, id, NULL) : NULL;
		if (ctr_rm(s, id, force, &e) < 0) {
			rc = cli_fail(e);
			continue;
		}
		if (cfg)
			volume_remove_anonymous(c->root, cfg); /* -v: anonymous ones only, like Docker */
		printf("%s\n", argv[i]);
	}
	return rc;
}
