/* berth kube node: this machine as a node of a Kubernetes cluster (the
 * node agent, kube/node.h), in the foreground until SIGTERM or SIGINT;
 * --cleanup removes what a node left on this store. */
#include "cli/cli.h"
#include "kube/node.h"
#include "runtime/container.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_kube_node(struct cli *c, int argc, char **argv)
{
	enum { O_KCFG = 256, O_CTX, O_IP, O_CIDR, O_PORT, O_CERT, O_KEY, O_CA, O_CLEANUP };
	static const struct option lo[] = {{"kubeconfig", required_argument, 0, O_KCFG},
					   {"context", required_argument, 0, O_CTX},
					   {"name", required_argument, 0, 'n'},
					   {"node-ip", required_argument, 0, O_IP},
					   {"pod-cidr", required_argument, 0, O_CIDR},
					   {"kubelet-port", required_argument, 0, O_PORT},
					   {"tls-cert-file", required_argument, 0, O_CERT},
					   {"tls-private-key-file", required_argument, 0, O_KEY},
					   {"client-ca-file", required_argument, 0, O_CA},
					   {"cleanup", no_argument, 0, O_CLEANUP},
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
		case 'q': o.quiet = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "unknown flag");
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument \"%s\"", argv[optind]);
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
	if (kube_node_run(&o, &e) < 0)
		return cli_fail(e);
	return 0;
}
