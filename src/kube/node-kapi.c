/* The node agent's kubelet API child: kube/kubelet-api.h on the node's
 * port, with the node's serving certificate (or a self-signed one), the
 * cluster's CA for clients, and the node's API client for the
 * SubjectAccessReviews. */
#include "kube/kubelet-api.h"
#include "kube/node-int.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile int kapi_stop;

static void on_term(int sig)
{
	(void)sig;
	kapi_stop = 1;
}

void node_kubelet_api_main(struct node *nd)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	struct berr *e = NULL;
	struct kube_client *kc = NULL;
	struct kube_client_opts co = {.kubeconfig = nd->o->kubeconfig, .context = nd->o->context};
	if (kube_client_open(&co, &kc, &e) < 0) {
		fprintf(stderr, "node %s: kubelet API: %s\n", nd->name, e->msg);
		_exit(1);
	}
	char listen[96];
	snprintf(listen, sizeof(listen), "0.0.0.0:%d", nd->o->kubelet_port > 0 ? nd->o->kubelet_port : 10250);
	/* the clients' CA: given, else the cluster's CA of the kubeconfig */
	char cafile[4096] = "";
	const char *ca = nd->o->client_ca_file;
	if (!ca && kube_client_ca_pem(kc) &&
	    snprintf(cafile, sizeof(cafile), "%s/client-ca.crt", nd->dir) < (int)sizeof(cafile)) {
		FILE *f = fopen(cafile, "we");
		if (f) {
			fputs(kube_client_ca_pem(kc), f);
			fclose(f);
			ca = cafile;
		}
	}
	const char *addrs[] = {nd->ip, nd->name, "127.0.0.1", "localhost", NULL};
	struct kubelet_api_conf c = {.root = nd->o->root, .runroot = nd->o->runroot, .listen = listen,
				     .cert_file = nd->o->tls_cert_file, .key_file = nd->o->tls_key_file,
				     .client_ca_file = ca, .client = kc, .node_name = nd->name, .addresses = addrs};
	if (kubelet_api_serve(&c, &kapi_stop, &e) < 0) {
		fprintf(stderr, "node %s: kubelet API on %s: %s\n", nd->name, listen, e ? e->msg : "error");
		_exit(1);
	}
	_exit(0);
}
