/* berth compose top [SERVICE...]: `berth top` of each running container,
 * under its name, as docker compose prints it. */
#include "cli/compose.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"

#include <stdio.h>

COMPOSE_CMD(top)
{
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, 1, false, &sel) < 0)
		return 1;
	struct compose_ctrs cs;
	if (compose_cli_ctrs(cc, sel, false, &cs) < 0)
		return 1;
	int rc = 0;
	bool first = true;
	for (size_t i = 0; i < cs.n; i++) {
		if (!ctr_is_running(cs.v[i].state))
			continue;
		printf("%s%s\n", first ? "" : "\n", cs.v[i].name);
		first = false;
		fflush(stdout);
		char *av[] = {"top", cs.v[i].name, NULL};
		cc->c->cmd = "top";
		if (cmd_top(cc->c, 2, av))
			rc = 1;
		fflush(stdout);
	}
	compose_ctrs_release(&cs);
	return rc;
}
