/* The objects `kube get`, `kube logs` and `kube exec` read, as the API
 * server would return them: the desired objects of `kube play`
 * ($ROOT/kube/<ns>/objects.json) with the supervisor's status
 * (status.json), the ReplicaSets it keeps there, and the pods of the pod
 * runtime (runtime/pod.h) as Pod objects (metadata and spec from the
 * pod's meta, status from pod_status). Implemented in kube-view.c. */
#ifndef BERTH_CLI_KUBE_VIEW_H
#define BERTH_CLI_KUBE_VIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "cli/kube-tables.h"
#include "runtime/container.h"

struct kview {
	struct cli *c;
	struct ctr_store *cs;
	json_t *docs; /* ns -> {"objects": objects.json, "status": status.json} */
	char host[256];
};

void kview_init(struct kview *v, struct cli *c, struct ctr_store *cs);
void kview_release(struct kview *v);
/* A namespace or pod name from the command line: a DNS label (namespaces)
 * or subdomain (other names); false otherwise. */
bool kview_name_ok(const char *s, bool label);
/* Every object of kind k in ns (NULL: every namespace), sorted by
 * namespace and name. Namespaces are cluster-scoped: ns is ignored. */
json_t *kview_list(struct kview *v, const struct kt_kind *k, const char *ns);
/* One object, NULL when there is none. */
json_t *kview_get(struct kview *v, const struct kt_kind *k, const char *ns, const char *name);
/* The namespaces this store knows (sorted): those with objects or pods,
 * and "default". */
json_t *kview_namespaces(struct kview *v);
/* The pods a workload or Service selects, best first for logs and exec as
 * kubectl picks (running and ready first, then more restarts, then
 * older): "deploy/web", "statefulset/db", "svc/web", "pod/x" or "x".
 * NULL with an error message in msg (kubectl's wording). */
json_t *kview_pods_for(struct kview *v, const char *ns, const char *ref, char *msg, size_t n);

#endif
