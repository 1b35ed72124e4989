/* berth compose port [--protocol P] [--index N] SERVICE PRIVATE_PORT: the
 * host address a container port of the service is published on. */
#include "cli/compose.h"
#include "net/network.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

COMPOSE_CMD(port)
{
	static const struct option opts[] = {
		{"protocol", required_argument, 0, 'P'}, {"index", required_argument, 0, 'I'}, {0},
	};
	const char *proto = "tcp";
	int index = 1, o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'P': proto = optarg; break;
		case 'I':
			if (compose_cli_int_flag("--index", optarg, &index) < 0)
				return 1;
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(cc->c, "requires exactly 2 arguments.");
	const char *service = argv[optind], *port = argv[optind + 1];
	if (!json_object_get(json_object_get(cc->p->doc, "services"), service)) {
		fprintf(stderr, "Error: no such service: %s\n", service);
		return 1;
	}
	_cleanup_json_ json_t *one = json_pack("[s]", service);
	struct compose_ctrs cs;
	if (compose_cli_ctrs(cc, one, false, &cs) < 0)
		return 1;
	int rc = 1;
	char key[64];
	snprintf(key, sizeof(key), "%s/%s", port, proto);
	for (size_t i = 0; i < cs.n; i++) {
		if (cs.v[i].number != index)
			continue;
		_cleanup_json_ json_t *pp = net_ctr_ports(cc->c->root, cc->c->runroot, cs.v[i].id);
		json_t *b = json_array_get(json_object_get(pp, key), 0);
		if (b) {
			printf("%s:%s\n", jsonx_str(b, "HostIp") ? jsonx_str(b, "HostIp") : "",
			       jsonx_str(b, "HostPort") ? jsonx_str(b, "HostPort") : "");
			rc = 0;
		} else {
			fprintf(stderr, "Error: no port %s for container %s: %s\n", key, cs.v[i].name,
				"the port is not published");
		}
	}
	if (rc && cs.n == 0)
		fprintf(stderr, "Error: service \"%s\" is not running container #%d\n", service, index);
	compose_ctrs_release(&cs);
	return rc;
}
