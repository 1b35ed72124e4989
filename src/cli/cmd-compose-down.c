/* berth compose down: stop and remove the project's containers and
 * networks (-v: its volumes, --rmi: its images). */
#include "cli/compose.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

COMPOSE_CMD(down)
{
	static const struct option opts[] = {
		{"volumes", no_argument, 0, 'v'}, {"remove-orphans", no_argument, 0, 'O'},
		{"rmi", required_argument, 0, 'R'}, {"timeout", required_argument, 0, 't'},
		{0},
	};
	struct compose_down_opts d = {.timeout = -1};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "vt:", opts, NULL)) != -1) {
		switch (o) {
		case 'v': d.volumes = true; break;
		case 'O': d.remove_orphans = true; break;
		case 'R':
			if (strcmp(optarg, "all") && strcmp(optarg, "local")) {
				fprintf(stderr, "Error: invalid --rmi option \"%s\" (all or local)\n", optarg);
				return 1;
			}
			d.rmi = optarg;
			break;
		case 't':
			if (compose_cli_int_flag("-t, --timeout", optarg, &d.timeout) < 0)
				return 1;
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	struct berr *e = NULL;
	int rc = compose_down(&cc->e, &d, &e) < 0 ? cli_fail(e) : 0;
	if (d.rmi) {
		/* all: every service image; local: only those without an image: (built) */
		const char *k;
		json_t *svc;
		json_object_foreach(json_object_get(cc->p->doc, "services"), k, svc) {
			if (!strcmp(d.rmi, "local") && json_object_get(svc, "image"))
				continue;
			_cleanup_free_ char *img = compose_service_image(cc->p, k, svc);
			char *av[] = {"rmi", img, NULL};
			const char *saved = cc->c->cmd;
			cc->c->cmd = "rmi";
			fflush(stdout);
			cmd_rmi(cc->c, 2, av);
			cc->c->cmd = saved;
		}
	}
	return rc;
}
