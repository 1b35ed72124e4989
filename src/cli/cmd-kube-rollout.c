/* berth kube rollout status: follow a rollout on a cluster as `kubectl
 * rollout status` does (kube/apply.h's status viewers: Deployment,
 * DaemonSet, StatefulSet, and Job until it completes). A line is printed
 * when the status changes (kubectl prints one per watch event, repeats
 * included). */
#include "cli/cli.h"
#include "kube/apply.h"
#include "kube/client.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_line(void *ud, const char *line)
{
	(void)ud;
	printf("%s\n", line);
	fflush(stdout);
}

int cmd_kube_rollout(struct cli *c, int argc, char **argv)
{
	enum { O_WATCH = 0x100, O_TIMEOUT, O_REVISION };
	static const struct option lo[] = {{"watch", optional_argument, 0, O_WATCH},
					   {"timeout", required_argument, 0, O_TIMEOUT},
					   {"revision", required_argument, 0, O_REVISION},
					   {"help", no_argument, 0, 'h'},
					   CLI_KUBE_CONN_LONGOPTS,
					   {0}};
	struct kube_client_opts ko = {0};
	bool watch = true;
	int64_t timeout_ms = 0;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cli_help(c);
	if (strcmp(argv[1], "status")) {
		fprintf(stderr, "error: unknown command \"%s\" for \"berth kube rollout\": only status is available\n",
			argv[1]);
		return 1;
	}
	argc--;
	argv++;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "w::n:s:h", lo, NULL)) != -1) {
		int k = cli_kube_conn_opt(&ko, o, optarg);
		if (k < 0)
			return 1;
		if (k)
			continue;
		switch (o) {
		case 'w':
		case O_WATCH: {
			const char *v = optarg;
			if (v && *v == '=')
				v++;
			if (v && str_parse_gobool(v, &watch) < 0) {
				fprintf(stderr, "error: invalid --watch value \"%s\": true or false\n", v);
				return 1;
			}
			if (!v)
				watch = true;
			break;
		}
		case O_TIMEOUT:
			if (cli_kube_duration("--timeout", optarg, &timeout_ms) < 0)
				return 1;
			break;
		case O_REVISION: {
			char *end;
			long long rev = strtoll(optarg, &end, 10);
			if (!*optarg || *end || rev < 0) {
				fprintf(stderr, "error: invalid --revision \"%s\"\n", optarg);
				return 1;
			}
			if (rev > 0) {
				fprintf(stderr, "error: --revision is not supported by berth kube rollout status\n");
				return 1;
			}
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	char type[256] = "", name[256] = "";
	int nargs = argc - optind;
	if (nargs == 1 && strchr(argv[optind], '/')) {
		const char *s = strchr(argv[optind], '/');
		snprintf(type, sizeof type, "%.*s", (int)(s - argv[optind]), argv[optind]);
		snprintf(name, sizeof name, "%s", s + 1);
	} else if (nargs == 2 && !strchr(argv[optind], '/')) {
		snprintf(type, sizeof type, "%s", argv[optind]);
		snprintf(name, sizeof name, "%s", argv[optind + 1]);
	}
	if (!*type || !*name) {
		fprintf(stderr, "error: expected TYPE/NAME or TYPE NAME, e.g. deployment/web\n");
		return 1;
	}
	struct kube_client *kc = NULL;
	if (cli_kube_open(&ko, &kc) < 0)
		return 1;
	struct kube_resource r;
	struct berr *e = NULL;
	int rc = 1;
	if (kube_discover_name(kc, type, &r, &e) < 0)
		goto fail;
	if (!kube_rollout_supported(&r)) {
		fprintf(stderr, "error: no status viewer has been implemented for %s\n", r.kind);
		goto out;
	}
	if (kube_rollout_wait(kc, &r, kube_client_namespace(kc), name, timeout_ms, watch, print_line, NULL, NULL,
			      &e) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "error: %s\n", e->msg);
	berr_free(e);
out:
	kube_client_free(kc);
	return rc;
}
