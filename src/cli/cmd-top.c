#include "cli/ctr.h"
#include "runtime/cgroup.h"
#include "runtime/procps.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Docker's top output: a tabwriter with minimum width 20 and padding 3. */
static void print_top(json_t *titles, json_t *rows)
{
	size_t nc = json_array_size(titles);
	size_t *w = calloc(nc ? nc : 1, sizeof(*w));
	json_t *all = json_array();
	json_array_append(all, titles);
	size_t i, k;
	json_t *row, *cell;
	json_array_extend(all, rows);
	json_array_foreach(all, i, row) {
		json_array_foreach(row, k, cell) {
			size_t l = strlen(json_string_value(cell));
			if (k + 1 < json_array_size(row) && k < nc && l + 3 > w[k])
				w[k] = l + 3;
		}
	}
	json_array_foreach(all, i, row) {
		json_array_foreach(row, k, cell) {
			const char *v = json_string_value(cell);
			if (k + 1 < json_array_size(row))
				printf("%-*s", (int)(k < nc && w[k] > 20 ? w[k] : 20), v);
			else
				printf("%s", v);
		}
		printf("\n");
	}
	json_decref(all);
	free(w);
}

CMD(top)
{
	/* everything after the container goes to ps, flags included */
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_help(c);
	if (argc < 2)
		return cli_usage_error(c, "requires at least 1 argument.");
	if (argv[1][0] == '-' && argv[1][1])
		return cli_usage_error(c, "got an unknown flag.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	struct berr *e = NULL;
	char id[65];
	if (ctr_resolve(s, argv[1], id, &e) < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *st = ctr_state(s, id, &e);
	if (!st)
		return cli_fail(e);
	const char *status = jsonx_str(st, "Status");
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	unsigned long long ps = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
	if (status && !strcmp(status, "restarting")) {
		berr_setc(&e, BERR_CONFLICT, "Container %s is restarting, wait until the container is running", id);
		return cli_fail(e);
	}
	struct cgroup *cg = NULL;
	if (!status || (strcmp(status, "running") && strcmp(status, "paused")) || !proc_alive(pid, ps) ||
	    cgroup_open(id, &cg, NULL) < 0) {
		berr_setc(&e, BERR_CONFLICT, "container %s is not running", id);
		return cli_fail(e);
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(cg, &pids, &n, &e);
	cgroup_free(cg);
	if (r < 0)
		return cli_fail(e);
	json_t *titles = NULL, *rows = NULL;
	/* the default, -ef, is read from /proc; other options need the host's ps */
	bool native = argc == 2 || (argc == 3 && !strcmp(argv[2], "-ef"));
	if (native)
		r = procps_ef(pids, n, &titles, &rows, &e);
	else
		r = procps_run(argv + 2, (size_t)(argc - 2), pids, n, &titles, &rows, &e);
	free(pids);
	if (r < 0)
		return cli_fail(e);
	print_top(titles, rows);
	json_decref(titles);
	json_decref(rows);
	return 0;
}
