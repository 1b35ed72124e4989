/* `berth kube cluster`: a single-machine Kubernetes cluster on upstream's
 * binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
 * with this machine as its node through berth's own node agent
 * (`berth kube node`), all host processes under one small supervisor.
 *
 * $ROOT/kube-clusters/NAME/
 *   cluster.json          name, node, addresses, ports, service range, binaries, versions, pids,
 *                         the kubeconfig files it was merged into
 *   pki/                  ca, etcd-server, apiserver-etcd-client, apiserver, apiserver-kubelet-client,
 *                         admin, controller-manager, scheduler, node (client), node-serving: .crt/.key;
 *                         sa.key/sa.pub (service-account tokens)
 *   etcd/                 etcd's data dir
 *   logs/COMPONENT.log    each component's stdout and stderr (supervisor.log: the supervisor's)
 *   admin.kubeconfig, controller-manager.kubeconfig, scheduler.kubeconfig, node.kubeconfig
 * $RUNROOT/kube-clusters/NAME/
 *   supervisor.lock       flock held for the supervisor's life; supervisor.pid its pid
 *   state.json            the components as the supervisor sees them: pid, start time, starts, exits
 *   op.lock               flock around up and down of this cluster
 *
 * The supervisor (cluster-sup.c) is forked from `up` (setsid, no exec),
 * starts etcd and the apiserver, then the controller-manager, scheduler
 * and node agent once the apiserver listens;
 * restarts a component that exits (back-off 0.5 s doubling to 30 s); on
 * SIGTERM stops them (node and control plane, then etcd: SIGTERM, SIGKILL
 * of the process group after a grace period of 5 s; 300 ms for the first
 * group on SIGUSR1, which down and a failed up send: the apiserver idles
 * ~1 s after its shutdown before it exits) and leaves. Components get
 * PR_SET_PDEATHSIG (SIGKILL), so a supervisor killed with -9 takes them
 * along; the next up or down removes what they forked. */
#pragma once
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

#define KUBE_CLUSTER_K8S_VERSION "v1.36.3"
#define KUBE_CLUSTER_BIN_CACHE "/var/cache/berth/k8s/" KUBE_CLUSTER_K8S_VERSION
#define KUBE_CLUSTER_DEFAULT_NAME "berth"

struct kube_cluster_opts {
	const char *root, *runroot;
	const char *name;        /* NULL: "berth" */
	const char *bin_dir;     /* --k8s-bin (NULL: $BERTH_K8S_BIN, else KUBE_CLUSTER_BIN_CACHE) */
	const char *self_exe;    /* berth itself, for the node agent (NULL: /proc/self/exe) */
	int wait_ms;             /* how long up waits for a Ready cluster (0: 2 min) */
	int api_port;            /* --api-port (0: 6443 when free, else a free one) */
	const char *advertise;   /* --advertise-address: an address of this host that other machines
				  * reach the apiserver at (NULL: the default route's source address) */
	const char *const *extra_sans; /* --apiserver-cert-extra-sans: more DNS names or IPs for the
					* apiserver's certificate (NULL-terminated; NULL: none) */
	int node_grace_s;        /* --node-monitor-grace-period: how long a node's Lease may go unrenewed
				  * before the controller-manager marks it NotReady (0: its default, 50 s) */
	const char *kubeconfig;  /* where up merges (NULL: $KUBECONFIG's first file, else ~/.kube/config) */
	/* set (by a signal handler) to give up: up stops and removes what it
	 * started as on any failure (may be NULL) */
	volatile sig_atomic_t *interrupted;
	/* up's progress lines (may be NULL) */
	void (*progress)(void *ud, const char *line);
	void *ud;
};

/* A cluster name is a DNS label: 1-63 of [a-z0-9-], starting and ending
 * with a letter or digit. BERR_INVALID naming it otherwise. */
int kube_cluster_name_check(const char *name, struct berr **err);
/* The directory of the binaries: opt, else $BERTH_K8S_BIN, else the cache
 * when it has them. Every binary is checked (exists, executable); the error
 * names the missing ones and says how to get them. */
int kube_cluster_bin_dir(const char *opt, char *buf, size_t n, struct berr **err);

/* Start the cluster and wait until it is Ready (etcd healthy, apiserver
 * /readyz, the controller-manager and scheduler healthy, the default
 * ServiceAccount made, the Node Ready), then merge the admin kubeconfig
 * (context berth-NAME, made current). A running cluster: *ret_running is
 * set, nothing starts, the kubeconfig is merged again. On failure nothing
 * it started keeps running, and a cluster it made is removed; the error
 * names the failing component and holds its log's last lines. */
int kube_cluster_up(const struct kube_cluster_opts *o, bool *ret_running, struct berr **err);
/* Stop everything, remove the node's pods and network (`berth kube node
 * --cleanup`), the kubeconfig entries and the cluster's directories.
 * BERR_NOT_FOUND when there is no such cluster. */
int kube_cluster_down(const struct kube_cluster_opts *o, struct berr **err);
/* {"name", "exists", "running", "healthy", "server", "node",
 *  "components": [{"name", "pid" (0: none), "healthy": bool, "status": "healthy" | why not}]} */
int kube_cluster_status(const struct kube_cluster_opts *o, json_t **ret, struct berr **err);
/* The admin kubeconfig's text. BERR_NOT_FOUND when there is no such cluster. */
int kube_cluster_kubeconfig(const struct kube_cluster_opts *o, char **ret, struct berr **err);

/* ---- kubeconfig merging (cluster-kcfg.c; pure parts unit tested) ---- */
/* The file up merges into: $KUBECONFIG's first entry, else ~/.kube/config. */
int kube_kubeconfig_target(char *buf, size_t n, struct berr **err);
/* Put the cluster, user and context named `name` of `add` (a kubeconfig
 * with one of each) into doc, replacing entries of that name and keeping
 * every other; current-context set to it. doc may be null/empty (a new
 * file). BERR_INVALID when doc is not a kubeconfig (naming the field). */
int kube_kubeconfig_merge(json_t *doc, const json_t *add, const char *name, struct berr **err);
/* Remove the cluster, user and context named `name` (and current-context
 * when it is that). Returns whether anything was removed. */
bool kube_kubeconfig_unmerge(json_t *doc, const char *name);
/* The same on a file (kubectl's FILE.lock taken around it); merging
 * creates the file (0600) and its directory. Unmerging a missing file is
 * no error. */
int kube_kubeconfig_merge_file(const char *path, const json_t *add, const char *name, struct berr **err);
int kube_kubeconfig_unmerge_file(const char *path, const char *name, struct berr **err);
/* Whether merging into path would work (it reads as a kubeconfig, its
 * directory is writable), before up starts anything. */
int kube_kubeconfig_check_file(const char *path, struct berr **err);
