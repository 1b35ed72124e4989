/* berth kube node: this machine as a node of a Kubernetes cluster (the
 * node agent, kube/node.h), in the foreground until SIGTERM or SIGINT;
 * --cleanup removes what a node left on this store. */
#include "cli/cli.h"
#include "kube/join.h"
#include "kube/node.h"
#include "net/ipam.h"
#include "runtime/container.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void join_line(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "join: %s\n", line);
}

int cmd_kube_node(struct cli *c, int argc, char **argv)
{
	/* berth kube node join ...: the same node, its credentials from a bootstrap token */
	bool join = argc > 1 && !strcmp(argv[1], "join");
	if (join) {
		argv++;
		argc--;
	}
	enum { O_SERVER = 400, O_TOKEN, O_HASH };
	const char *server = NULL, *token = NULL, *ca_hash = NULL;
	enum { O_KCFG = 256, O_CTX, O_IP, O_CIDR, O_SVC, O_PORT, O_CERT, O_KEY, O_CA, O_CLEANUP };
	static const struct option lo[] = {{"kubeconfig", required_argument, 0, O_KCFG},
					   {"context", required_argument, 0, O_CTX},
					   {"name", required_argument, 0, 'n'},
					   {"node-ip", required_argument, 0, O_IP},
					   {"pod-cidr", required_argument, 0, O_CIDR},
					   {"service-cidr", required_argument, 0, O_SVC},
					   {"kubelet-port", required_argument, 0, O_PORT},
					   {"tls-cert-file", required_argument, 0, O_CERT},
					   {"tls-private-key-file", required_argument, 0, O_KEY},
					   {"client-ca-file", required_argument, 0, O_CA},
					   {"cleanup", no_argument, 0, O_CLEANUP},
					   {"server", required_argument, 0, O_SERVER},
					   {"token", required_argument, 0, O_TOKEN},
					   {"ca-cert-hash", required_argument, 0, O_HASH},
					   {"quiet", no_argument, 0, 'q'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct kube_node_opts o = {.root = c->root, .runroot = c->runroot};
	bool cleanup = false;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "n:qh", lo, NULL)) != -1) {
		switch (opt) {
		case O_KCFG: o.kubeconfig = optarg; break;
		case O_CTX: o.context = optarg; break;
		case 'n': o.name = optarg; break;
		case O_IP: o.node_ip = optarg; break;
		case O_CIDR: o.pod_cidr = optarg; break;
		case O_SVC: {
			struct ipam_cidr sc;
			if (ipam_cidr_parse_network(optarg, &sc, NULL) < 0 || sc.addr.family != AF_INET || sc.prefix < 8 ||
			    sc.prefix > 29)
				return cli_usage_error(c, "invalid --service-cidr \"%s\": an IPv4 CIDR from /8 to /29",
						       optarg);
			o.service_cidr = optarg;
			break;
		}
		case O_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end || end == optarg || p < 0 || p > 65535)
				return cli_usage_error(c, "invalid --kubelet-port \"%s\": a port 1-65535, or 0 for no kubelet API", optarg);
			o.kubelet_port = p == 0 ? -1 : (int)p;
			break;
		}
		case O_CERT: o.tls_cert_file = optarg; break;
		case O_KEY: o.tls_key_file = optarg; break;
		case O_CA: o.client_ca_file = optarg; break;
		case O_CLEANUP: cleanup = true; break;
		case O_SERVER: server = optarg; break;
		case O_TOKEN: token = optarg; break;
		case O_HASH: ca_hash = optarg; break;
		case 'q': o.quiet = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "unknown flag");
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument \"%s\"", argv[optind]);
	if (!join && (server || token || ca_hash))
		return cli_usage_error(c, "--%s is an option of 'kube node join'",
				       server ? "server" : token ? "token" : "ca-cert-hash");
	if (join && cleanup)
		return cli_usage_error(c, "--cleanup is not an option of join (berth kube node --cleanup --name N)");
	if (join && o.kubeconfig && (server || token || ca_hash))
		return cli_usage_error(c, "join takes --kubeconfig or --server, --token and --ca-cert-hash, not both");
	if (join && !o.kubeconfig && (!server || !token || !ca_hash))
		return cli_usage_error(c, "join needs --server URL, --token ID.SECRET and --ca-cert-hash sha256:HEX "
					  "(what 'berth kube cluster token create --print-join-command' prints), or "
					  "--kubeconfig FILE");
	if ((o.tls_cert_file == NULL) != (o.tls_key_file == NULL))
		return cli_usage_error(c, "--tls-cert-file and --tls-private-key-file go together");
	if (!cli_store(c))
		return 1;
	struct berr *e = NULL;
	if (!c->ctrs && ctr_store_open(c->root, c->runroot, &c->ctrs, &e) < 0)
		return cli_fail(e);
	if (cleanup) {
		if (!o.name)
			return cli_usage_error(c, "--cleanup needs --name");
		if (kube_node_cleanup(c->root, c->runroot, c->ctrs, o.name, &e) < 0)
			return cli_fail(e);
		return 0;
	}
	o.cs = c->ctrs;
	o.is = c->store;
	char name[254], kcfg[4096];
	if (join && !o.kubeconfig) {
		if (!o.name) {
			char hn[256] = "";
			gethostname(hn, sizeof(hn) - 1);
			kube_node_default_name(hn, name, sizeof(name));
			o.name = name;
		}
		if (!kube_node_name_valid(o.name))
			return cli_usage_error(c, "invalid --name \"%s\": a lowercase RFC 1123 subdomain", o.name);
		struct kube_join_opts jo = {.root = c->root, .runroot = c->runroot, .server = server, .token = token,
					    .ca_hash = ca_hash, .name = o.name, .progress = o.quiet ? NULL : join_line};
		if (kube_node_join(&jo, kcfg, sizeof(kcfg), &e) < 0)
			return cli_fail(e);
		o.kubeconfig = kcfg;
	}
	if (kube_node_run(&o, &e) < 0)
		return cli_fail(e);
	return 0;
}
