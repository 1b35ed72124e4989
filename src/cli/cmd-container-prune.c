#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>

CMD(container_prune)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (o) {
		case 'f': force = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (!force) {
		printf("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
		fflush(stdout);
		char ans[16] = {0};
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y'))
			return 0;
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *ids = ctr_list(s);
	size_t i;
	json_t *v;
	bool any = false;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		_cleanup_json_ json_t *st = ctr_state(s, id, NULL);
		if (!st || ctr_is_running(st))
			continue;
		if (ctr_rm(s, id, false, NULL) == 0) {
			if (!any)
				printf("Deleted Containers:\n");
			any = true;
			printf("%s\n", id);
		}
	}
	if (any)
		printf("\n");
	printf("Total reclaimed space: 0B\n");
	return 0;
}
