/* berth kube cluster up|down|status|kubeconfig: a local Kubernetes cluster
 * on upstream binaries with this machine as its node (kube/cluster.h). */
#include "cli/cli.h"
#include "kube/cluster.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_line(void *ud, const char *line)
{
	(void)ud;
	printf("%s\n", line);
	fflush(stdout);
}

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int status_cmd(struct kube_cluster_opts *o)
{
	json_t *st = NULL;
	struct berr *e = NULL;
	if (kube_cluster_status(o, &st, &e) < 0)
		return cli_fail(e);
	printf("cluster %s%s%s\n", json_string_value(json_object_get(st, "name")),
	       json_object_get(st, "server") ? " at " : "", json_string_value(json_object_get(st, "server")) ?: "");
	struct table t = {0};
	table_add(&t, "COMPONENT\tPID\tSTATUS");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "components"), i, c) {
		char line[1024], pid[32] = "-";
		json_int_t p = json_integer_value(json_object_get(c, "pid"));
		if (p > 0)
			snprintf(pid, sizeof(pid), "%lld", (long long)p);
		snprintf(line, sizeof(line), "%s\t%s\t%s", json_string_value(json_object_get(c, "name")), pid,
			 json_string_value(json_object_get(c, "status")));
		table_add(&t, line);
	}
	table_print(&t, stdout);
	table_release(&t);
	bool healthy = json_is_true(json_object_get(st, "healthy"));
	json_decref(st);
	return healthy ? 0 : 1;
}

int cmd_kube_cluster(struct cli *c, int argc, char **argv)
{
	enum { O_K8S_BIN = 1000, O_WAIT, O_API_PORT };
	static const struct option lo[] = {{"name", required_argument, 0, 'n'},
					   {"k8s-bin", required_argument, 0, O_K8S_BIN},
					   {"wait", required_argument, 0, O_WAIT},
					   {"api-port", required_argument, 0, O_API_PORT},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct kube_cluster_opts o = {.root = c->root, .runroot = c->runroot, .name = KUBE_CLUSTER_DEFAULT_NAME,
				      .progress = print_line};
	bool wait_set = false, bin_set = false, port_set = false;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': o.name = optarg; break;
		case O_K8S_BIN: o.bin_dir = optarg; bin_set = true; break;
		case O_WAIT: {
			int64_t ns = 0;
			if (time_parse_duration(optarg, true, &ns) < 0 || ns <= 0)
				return cli_usage_error(c, "invalid --wait \"%s\": a duration such as 90s or 2m",
						       optarg);
			o.wait_ms = ns / 1000000 > 0 ? (int)(ns / 1000000 > 86400000 ? 86400000 : ns / 1000000) : 1;
			wait_set = true;
			break;
		}
		case O_API_PORT: {
			char *end = NULL;
			long p = strtol(optarg, &end, 10);
			if (!*optarg || *end || p < 1 || p > 65535)
				return cli_usage_error(c, "invalid --api-port \"%s\": a port 1-65535", optarg);
			o.api_port = (int)p;
			port_set = true;
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires a subcommand: up, down, status or kubeconfig");
	const char *sub = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error(c, "%s takes no argument (got \"%s\")", sub, argv[optind + 1]);
	struct berr *e = NULL;
	if (kube_cluster_name_check(o.name, &e) < 0)
		return cli_fail(e);
	bool up = !strcmp(sub, "up");
	if (!up && (bin_set || wait_set || port_set))
		return cli_usage_error(c, "%s is an option of up only",
				       bin_set ? "--k8s-bin" : wait_set ? "--wait" : "--api-port");
	if (up) {
		/* ^C while up waits: everything it started is stopped and removed */
		struct sigaction sa = {.sa_handler = on_interrupt};
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		o.interrupted = &interrupted;
		bool running = false;
		if (kube_cluster_up(&o, &running, &e) < 0)
			return cli_fail(e);
		if (running)
			printf("Cluster \"%s\" is running already\n", o.name);
		return 0;
	}
	if (!strcmp(sub, "down")) {
		if (kube_cluster_down(&o, &e) < 0)
			return cli_fail(e);
		printf("Cluster \"%s\" removed\n", o.name);
		return 0;
	}
	if (!strcmp(sub, "status"))
		return status_cmd(&o);
	if (!strcmp(sub, "kubeconfig")) {
		char *s = NULL;
		if (kube_cluster_kubeconfig(&o, &s, &e) < 0)
			return cli_fail(e);
		fputs(s, stdout);
		free(s);
		return 0;
	}
	return cli_usage_error(c, "unknown subcommand \"%s\": up, down, status or kubeconfig", sub);
}
