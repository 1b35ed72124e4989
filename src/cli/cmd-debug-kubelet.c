/* Hidden test driver of the kubelet API (kube/kubelet-api.h), not in the
 * help: serve a store's pods as a node agent would, before one exists.
 *   berth debug kubelet-api --listen ADDR --node NAME --client-ca-file F
 *         [--tls-cert-file F --tls-private-key-file F] [--address A]...
 *         [--kubeconfig F] [--all-pods]
 * Prints "listening on HOST:PORT" once it serves (":0" picks a port) and
 * runs until SIGTERM or SIGINT. --kubeconfig: authorize each request with
 * a SubjectAccessReview on that cluster. --all-pods: every pod of the
 * store, not only those whose meta "node" is NAME (kube play's). */
#include "cli/cli.h"
#include "kube/client.h"
#include "kube/kubelet-api.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int stop_serving;

static void on_signal(int sig)
{
	(void)sig;
	stop_serving = 1;
}

static void ready(void *ud, const char *addr)
{
	(void)ud;
	printf("listening on %s\n", addr);
	fflush(stdout);
}

CMD(debug_kubelet_api)
{
	static const struct option lo[] = {{"listen", required_argument, 0, 'l'},
					   {"node", required_argument, 0, 'n'},
					   {"client-ca-file", required_argument, 0, 'C'},
					   {"tls-cert-file", required_argument, 0, 'c'},
					   {"tls-private-key-file", required_argument, 0, 'k'},
					   {"address", required_argument, 0, 'a'},
					   {"kubeconfig", required_argument, 0, 'K'},
					   {"all-pods", no_argument, 0, 'A'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct kubelet_api_conf conf = {.root = c->root, .runroot = c->runroot, .listen = "0.0.0.0:10250",
					.ready = ready};
	const char *kubeconfig = NULL;
	const char *addrs[33] = {0};
	int naddrs = 0, o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'l': conf.listen = optarg; break;
		case 'n': conf.node_name = optarg; break;
		case 'C': conf.client_ca_file = optarg; break;
		case 'c': conf.cert_file = optarg; break;
		case 'k': conf.key_file = optarg; break;
		case 'a':
			if (naddrs >= 32)
				return cli_usage_error(c, "at most 32 --address flags.");
			addrs[naddrs++] = optarg;
			break;
		case 'K': kubeconfig = optarg; break;
		case 'A': conf.all_pods = true; break;
		case 'h':
			fprintf(stderr, "Usage: berth debug kubelet-api --listen ADDR --node NAME --client-ca-file F "
					"[--tls-cert-file F --tls-private-key-file F] [--address A]... [--kubeconfig F] "
					"[--all-pods]\n");
			return 0;
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!conf.node_name)
		return cli_usage_error(c, "--node is required.");
	conf.addresses = addrs;
	struct berr *e = NULL;
	struct kube_client *kc = NULL;
	if (kubeconfig) {
		struct kube_client_opts ko = {.kubeconfig = kubeconfig};
		if (kube_client_open(&ko, &kc, &e) < 0)
			return cli_fail(e);
		conf.client = kc;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int rc = kubelet_api_serve(&conf, &stop_serving, &e);
	kube_client_free(kc);
	if (rc < 0)
		return cli_fail(e);
	return 0;
}
