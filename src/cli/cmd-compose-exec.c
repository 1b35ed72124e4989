/* berth compose exec SERVICE CMD...: berth exec in the service's container
 * (--index N, default 1); a tty unless -T or stdin is not a terminal. */
#include "cli/compose.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

COMPOSE_CMD(exec)
{
	static const struct option opts[] = {
		{"detach", no_argument, 0, 'd'},   {"env", required_argument, 0, 'e'},
		{"user", required_argument, 0, 'u'}, {"workdir", required_argument, 0, 'w'},
		{"index", required_argument, 0, 'I'}, {"no-TTY", no_argument, 0, 'T'},
		{"privileged", no_argument, 0, 'P'}, {"interactive", optional_argument, 0, 'i'},
		{"tty", optional_argument, 0, 't'}, {0},
	};
	char **xargv = calloc((size_t)argc * 2 + 8, sizeof(char *));
	int xn = 0, o, index = 1;
	bool notty = !isatty(0), detach = false, interactive = true;
	xargv[xn++] = "exec";
	optind = 0;
	while ((o = getopt_long(argc, argv, "+de:u:w:Tit", opts, NULL)) != -1) {
		switch (o) {
		case 'd': detach = true; xargv[xn++] = "-d"; break;
		case 'e': xargv[xn++] = "-e"; xargv[xn++] = optarg; break;
		case 'u': xargv[xn++] = "-u"; xargv[xn++] = optarg; break;
		case 'w': xargv[xn++] = "-w"; xargv[xn++] = optarg; break;
		case 'I':
			if (compose_cli_int_flag("--index", optarg, &index) < 0) {
				free(xargv);
				return 1;
			}
			break;
		case 'T': notty = true; break;
		case 'P': xargv[xn++] = "--privileged"; break;
		case 'i':
			/* on by default: -i changes nothing, --interactive=false
			 * keeps stdin closed */
			if (compose_cli_bool_flag("-i, --interactive", optarg, &interactive) < 0) {
				free(xargv);
				return 1;
			}
			break;
		case 't': break; /* docker compose exec parses -t, --tty and never reads it: a no-op there too */
		default: free(xargv); return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	if (argc - optind < 2) {
		free(xargv);
		return cli_usage_error(cc->c, "requires at least 2 arguments.");
	}
	const char *service = argv[optind];
	if (!json_object_get(json_object_get(cc->p->doc, "services"), service)) {
		free(xargv);
		fprintf(stderr, "Error: no such service: %s\n", service);
		return 1;
	}
	if (!detach) {
		if (interactive)
			xargv[xn++] = "-i";
		if (!notty)
			xargv[xn++] = "-t";
	}
	struct compose_ctrs cs;
	_cleanup_json_ json_t *one = json_pack("[s]", service);
	if (compose_cli_ctrs(cc, one, false, &cs) < 0) {
		free(xargv);
		return 1;
	}
	_cleanup_free_ char *name = NULL;
	for (size_t i = 0; i < cs.n; i++)
		if (cs.v[i].number == index)
			name = strdup(cs.v[i].name);
	compose_ctrs_release(&cs);
	if (!name) {
		free(xargv);
		fprintf(stderr, "Error: service \"%s\" is not running container #%d\n", service, index);
		return 1;
	}
	xargv[xn++] = name;
	for (int i = optind + 1; i < argc; i++)
		xargv[xn++] = argv[i];
	cc->c->cmd = "exec";
	int rc = cmd_exec(cc->c, xn, xargv);
	free(xargv);
	return rc;
}
