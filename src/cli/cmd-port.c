/* berth port CONTAINER [PRIVATE_PORT[/PROTO]] */
#include "cli/cli.h"
#include "cli/ctr.h"
#include "net/network.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <stdio.h>
#include <string.h>

CMD(port)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_help(c);
	if (argc < 2 || argc > 3)
		return cli_usage_error(c, "requires at least 1 and at most 2 arguments.");
	if (argv[1][0] == '-' && argv[1][1])
		return cli_usage_error(c, "got an unknown flag.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	struct berr *e = NULL;
	char id[65];
	if (ctr_resolve(s, argv[1], id, &e) < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *ports = net_ctr_ports(c->root, c->runroot, id);
	const char *key;
	json_t *arr;
	if (argc == 3) {
		char want[40];
		snprintf(want, sizeof(want), "%s%s", argv[2], strchr(argv[2], '/') ? "" : "/tcp");
		arr = json_object_get(ports, want);
		if (!json_array_size(arr)) {
			fprintf(stderr, "Error: No public port '%s' published for %s\n", want, argv[1]);
			return 1;
		}
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b)
			printf("%s:%s\n", jsonx_str(b, "HostIp") ?: "", jsonx_str(b, "HostPort") ?: "");
		return 0;
	}
	json_object_foreach(ports, key, arr) {
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b)
			printf("%s -> %s:%s\n", key, jsonx_str(b, "HostIp") ?: "", jsonx_str(b, "HostPort") ?: "");
	}
	return 0;
}
