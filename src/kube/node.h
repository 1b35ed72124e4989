/* The node agent (`berth kube node`, issue 14): this machine as a node of
 * a real Kubernetes cluster, in the kubelet's place. The pods bound to the
 * node run in berth's pod runtime (runtime/pod.h), the same one kube play
 * drives; the API server is upstream's, reached through kube/client.h.
 *
 * Processes (no threads in the one that forks pods):
 *   main       registers the Node, then loops: applies the watched pods to
 *              the pod runtime (creation and removal in forked workers, at
 *              most NODE_WORKERS at once), posts each pod's status when it
 *              changed (PATCH .../pods/NAME/status), removes the API object
 *              of a pod it has stopped (graceful deletion)
 *   watcher    lists and watches the pods with spec.nodeName=NAME and
 *              sends each pod (or its deletion) to main as one JSON line
 *   heartbeat  renews the Lease kube-node-lease/NAME every 10 s and posts
 *              the Node's conditions every 60 s and when they change
 *   kubelet-api the kubelet's HTTPS API (kube/kubelet-api.h) on :10250
 * A child that dies is started again; when main ends (SIGTERM, SIGINT) the
 * children end with it, and the pods keep running: a node agent started
 * again adopts them (their runtime meta holds the API object and its uid).
 *
 * State:
 *   $ROOT/kube-node/NAME/pods/NS_POD/volumes/   the pods' volume dirs (podspec.h poddir)
 *   $ROOT/kube-node/NAME/node.json              {"name", "network", "podCIDR"}
 *   $RUNROOT/kube-node/NAME/lock                flock held by the running agent
 * The pods' network is a berth bridge network "kube-node-NAME" whose
 * subnet is the Node's podCIDR. Pod runtime meta: {"node": NAME, "uid",
 * "object": the Pod as the API last sent it, "posted": the status last
 * posted}. */
#pragma once
#include <stdbool.h>
#include "util/err.h"

struct ctr_store;
struct image_store;

#define NODE_WORKERS 8

struct kube_node_opts {
	const char *root, *runroot;
	struct ctr_store *cs;
	struct image_store *is;
	const char *kubeconfig;     /* NULL: $KUBECONFIG, ~/.kube/config */
	const char *context;
	const char *name;           /* NULL: the hostname, lowercased */
	const char *node_ip;        /* NULL: the address of the default route's interface, else 127.0.0.1 */
	const char *pod_cidr;       /* NULL: the Node's spec.podCIDR when set, else one of berth's pools */
	const char *service_cidr;   /* NULL: the API's ServiceCIDR "kubernetes" (unreadable: node-local Service addresses) */
	int kubelet_port;           /* 0: 10250; -1: no kubelet API */
	const char *tls_cert_file, *tls_key_file;  /* kubelet API serving cert (NULL: self-signed) */
	const char *client_ca_file; /* kubelet API clients (NULL: the kubeconfig's CA) */
	bool quiet;
};

/* Run until SIGTERM/SIGINT. Progress lines go to stderr. */
int kube_node_run(const struct kube_node_opts *o, struct berr **err);

/* Remove every pod node `name` runs on this store, its volume dirs, its
 * network and state (`kube node --cleanup`, `kube cluster down`). The
 * agent must not be running (BERR_CONFLICT). */
int kube_node_cleanup(const char *root, const char *runroot, struct ctr_store *cs, const char *name,
		      struct berr **err);

/* ---- pure helpers (tests/unit/test-kube-node.c) ---- */
/* A valid node name from a hostname: lowercased, [a-z0-9.-], at most 253. */
void kube_node_default_name(const char *hostname, char *buf, size_t n);
/* A Node name: a lowercase RFC 1123 subdomain. */
bool kube_node_name_valid(const char *s);
