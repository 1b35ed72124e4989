/* berth kube cluster up|down|status|kubeconfig: a local Kubernetes cluster
 * on upstream binaries with this machine as its node (kube/cluster.h). */
#include "cli/cli.h"
#include "kube/cluster.h"
#include "kube/cluster-join.h"
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

/* "1d2h" style from seconds, as kubeadm token list shows a TTL */
static void ttl_text(long long s, char *buf, size_t n)
{
	if (s <= 0)
		snprintf(buf, n, "<expired>");
	else if (s >= 86400)
		snprintf(buf, n, "%lldd", s / 86400);
	else if (s >= 3600)
		snprintf(buf, n, "%lldh", s / 3600);
	else if (s >= 60)
		snprintf(buf, n, "%lldm", s / 60);
	else
		snprintf(buf, n, "%llds", s);
}

struct token_flags {
	long long ttl_s;
	bool ttl_set, print_join;
	const char *description;
};

/* berth kube cluster token create|list|delete, as kubeadm token's */
static int token_cmd(struct cli *c, struct kube_cluster_opts *o, int argc, char **argv, int i,
		     const struct token_flags *tf)
{
	const char *op = i < argc ? argv[i] : NULL;
	struct berr *e = NULL;
	if (!op)
		return cli_usage_error(c, "token requires a subcommand: create, list or delete");
	if (strcmp(op, "create") && (tf->ttl_set || tf->print_join || tf->description))
		return cli_usage_error(c, "--ttl, --description and --print-join-command are options of token create");
	if (!strcmp(op, "create")) {
		if (i + 1 < argc)
			return cli_usage_error(c, "token create takes no argument (got \"%s\")", argv[i + 1]);
		char tok[24];
		char *join = NULL;
		if (kube_cluster_token_create(o, tf->ttl_set ? tf->ttl_s : 86400, tf->description, tok,
					      tf->print_join ? &join : NULL, &e) < 0)
			return cli_fail(e);
		printf("%s\n", tf->print_join ? join : tok);
		free(join);
		return 0;
	}
	if (!strcmp(op, "list")) {
		if (i + 1 < argc)
			return cli_usage_error(c, "token list takes no argument (got \"%s\")", argv[i + 1]);
		json_t *l = NULL;
		if (kube_cluster_token_list(o, &l, &e) < 0)
			return cli_fail(e);
		struct table t = {0};
		table_add(&t, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS");
		size_t k;
		json_t *x;
		json_array_foreach(l, k, x) {
			char ttl[32] = "<forever>", us[128] = "", line[1024];
			json_t *tv = json_object_get(x, "ttl");
			if (json_is_integer(tv))
				ttl_text((long long)json_integer_value(tv), ttl, sizeof(ttl));
			size_t j;
			json_t *u;
			json_array_foreach(json_object_get(x, "usages"), j, u) {
				size_t l2 = strlen(us);
				snprintf(us + l2, sizeof(us) - l2, "%s%s", l2 ? "," : "", json_string_value(u));
			}
			const char *exp = json_string_value(json_object_get(x, "expires"));
			const char *grp = json_string_value(json_object_get(x, "groups"));
			snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t%s\t%s", json_string_value(json_object_get(x, "token")),
				 ttl, exp ? exp : "<never>", *us ? us : "<none>",
				 json_string_value(json_object_get(x, "description")), grp && *grp ? grp : "<none>");
			table_add(&t, line);
		}
		table_print(&t, stdout);
		table_release(&t);
		json_decref(l);
		return 0;
	}
	if (!strcmp(op, "delete")) {
		if (i + 1 >= argc)
			return cli_usage_error(c, "token delete requires a token ID (or ID.SECRET)");
		for (int k = i + 1; k < argc; k++) {
			if (kube_cluster_token_delete(o, argv[k], &e) < 0)
				return cli_fail(e);
			printf("bootstrap token \"%.6s\" deleted\n", argv[k]);
		}
		return 0;
	}
	return cli_usage_error(c, "unknown token subcommand \"%s\": create, list or delete", op);
}

int cmd_kube_cluster(struct cli *c, int argc, char **argv)
{
	enum { O_K8S_BIN = 1000, O_WAIT, O_API_PORT, O_ADV, O_SANS, O_TTL, O_DESC, O_PRINT, O_GRACE };
	static const struct option lo[] = {{"name", required_argument, 0, 'n'},
					   {"k8s-bin", required_argument, 0, O_K8S_BIN},
					   {"wait", required_argument, 0, O_WAIT},
					   {"api-port", required_argument, 0, O_API_PORT},
					   {"advertise-address", required_argument, 0, O_ADV},
					   {"apiserver-cert-extra-sans", required_argument, 0, O_SANS},
					   {"ttl", required_argument, 0, O_TTL},
					   {"description", required_argument, 0, O_DESC},
					   {"print-join-command", no_argument, 0, O_PRINT},
					   {"node-monitor-grace-period", required_argument, 0, O_GRACE},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct kube_cluster_opts o = {.root = c->root, .runroot = c->runroot, .name = KUBE_CLUSTER_DEFAULT_NAME,
				      .progress = print_line};
	bool wait_set = false, bin_set = false, port_set = false;
	struct token_flags tf = {0};
	char *sans_buf = NULL;
	const char *sans[17] = {0};
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
		case O_ADV: o.advertise = optarg; port_set = true; break;
		case O_SANS: {
			free(sans_buf);
			sans_buf = strdup(optarg);
			int n = 0;
			for (char *sv = NULL, *p = strtok_r(sans_buf, ",", &sv); p; p = strtok_r(NULL, ",", &sv)) {
				if (n == 16) {
					free(sans_buf);
					return cli_usage_error(c, "--apiserver-cert-extra-sans: at most 16 entries");
				}
				sans[n++] = p;
			}
			sans[n] = NULL;
			o.extra_sans = sans;
			port_set = true;
			break;
		}
		case O_TTL: {
			int64_t ns = 0;
			if (time_parse_duration(optarg, true, &ns) < 0 || ns < 0)
				return cli_usage_error(c, "invalid --ttl \"%s\": a duration such as 24h (0: never expires)",
						       optarg);
			tf.ttl_s = ns / 1000000000;
			tf.ttl_set = true;
			break;
		}
		case O_GRACE: {
			int64_t ns = 0;
			/* the node agent renews its Lease every 10 s */
			if (time_parse_duration(optarg, true, &ns) < 0 || ns < 15000000000LL || ns > 3600000000000LL)
				return cli_usage_error(c, "invalid --node-monitor-grace-period \"%s\": a duration from 15s "
							  "(nodes renew their Lease every 10 s) to 1h",
						       optarg);
			o.node_grace_s = (int)(ns / 1000000000);
			port_set = true;
			break;
		}
		case O_DESC: tf.description = optarg; break;
		case O_PRINT: tf.print_join = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires a subcommand: up, down, status, kubeconfig or token");
	const char *sub = argv[optind];
	if (!strcmp(sub, "token")) {
		if (bin_set || wait_set || port_set)
			return cli_usage_error(c, "--k8s-bin, --wait, --api-port, --advertise-address, "
						  "--apiserver-cert-extra-sans and --node-monitor-grace-period are options of up only");
		return token_cmd(c, &o, argc, argv, optind + 1, &tf);
	}
	if (tf.ttl_set || tf.print_join || tf.description)
		return cli_usage_error(c, "--ttl, --description and --print-join-command are options of token create");
	if (optind + 1 < argc)
		return cli_usage_error(c, "%s takes no argument (got \"%s\")", sub, argv[optind + 1]);
	struct berr *e = NULL;
	if (kube_cluster_name_check(o.name, &e) < 0)
		return cli_fail(e);
	bool up = !strcmp(sub, "up");
	if (!up && (bin_set || wait_set || port_set))
		return cli_usage_error(c, "%s is an option of up only",
				       bin_set ? "--k8s-bin" : wait_set ? "--wait" : o.advertise ? "--advertise-address"
				       : o.extra_sans ? "--apiserver-cert-extra-sans"
				       : o.node_grace_s ? "--node-monitor-grace-period" : "--api-port");
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
	return cli_usage_error(c, "unknown subcommand \"%s\": up, down, status, kubeconfig or token", sub);
}
