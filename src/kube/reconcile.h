/* The local controllers of `kube play` for one namespace: Deployments
 * (through ReplicaSets, with rolling updates), ReplicaSets, StatefulSets,
 * DaemonSets, Jobs, bare Pods and Services, run as level-triggered passes
 * over the desired objects (store.h) and the pods that exist
 * (runtime/pod.h). One pass never blocks on a pod: creation is one
 * pod_sync step, removal runs in a forked child (graceful stop). The
 * namespace's supervisor (supervisor.h) calls kube_reconcile in a loop;
 * `kube down` uses kube_teardown. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include "runtime/container.h"
#include "image/store.h"
#include "util/err.h"

#define KUBE_MAX_TERMINATING 256

struct kube_rec {
	const char *root, *runroot, *ns;
	struct ctr_store *cs;
	struct image_store *is;
	char network[160];
	char gateway[64];
	json_t *doc;     /* objects.json (borrowed; reload replaces it) */
	json_t *status;  /* status.json as last written (owned) */
	json_t *svc_applied; /* the Services last given to net_svc_sync (owned) */
	json_int_t refreshed_gen; /* generation whose ConfigMaps/Secrets the volumes hold */
	bool publish_all;
	/* pods being removed by a child: name -> pid */
	struct { char name[256]; pid_t pid; } term[KUBE_MAX_TERMINATING];
	int nterm;
	bool busy;       /* the last pass changed something or waits on a pod */
	json_t *queue;   /* pods to make in this pass (made in parallel at its end) */
};

/* The berth network of a namespace: "kube-<ns>". */
void kube_ns_network(const char *ns, char *buf, size_t n);
/* Make the namespace's network if it is missing; its gateway in r. */
int kube_rec_network(struct kube_rec *r, struct berr **err);
/* One pass. Writes status.json when it changed. */
int kube_reconcile(struct kube_rec *r, struct berr **err);
/* Reap finished removal children (call on SIGCHLD or each tick). */
void kube_rec_reap(struct kube_rec *r);
/* Remove, synchronously and in parallel, every pod of the namespace
 * whose owner is not in keep (NULL: all), then the Services not in keep
 * (NULL: all, and the network when nothing is kept). */
int kube_teardown(struct kube_rec *r, json_t *keep, bool volumes, struct berr **err);
void kube_rec_release(struct kube_rec *r);

/* Deployment pod-template-hash: as Kubernetes, a 32-bit hash of the
 * template written in the alphabet "bcdfghjklmnpqrstvwxz2456789". */
void kube_template_hash(const json_t *tmpl, char out[16]);
/* Kubernetes' 5-letter random name suffix. */
void kube_rand_suffix(char out[6]);
void kube_uuid(char out[37]);
/* "50%" of n (rounded up or down) or an integer. */
int kube_int_or_percent(const json_t *v, int n, bool round_up, int dflt);
