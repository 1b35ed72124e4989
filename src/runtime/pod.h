/* The pod runtime: a Kubernetes pod as berth containers (issue 13; the
 * kube layer's `kube play` and the next issue's node agent drive it). It
 * knows nothing of YAML or of the API objects beyond the *resolved pod
 * spec* (docs/design.md, "kube play"): a JSON document in PodSpec shapes
 * with env values, volumes (host paths) and images already resolved.
 *
 * $ROOT/pods/<ns>_<name>/pod.json   {"spec", "meta" (opaque: the caller's), "sandbox": ID,
 *                                   "containers": {NAME: ID}, "init": {NAME: ID}, "created",
 *                                   "ip", "hostIP", "restarts": {NAME: n}, "retry": {NAME: {...}},
 *                                   "errors": {NAME: {"reason", "message"}}, "terminal"}
 *                                   (atomic replace, under the lock)
 * $ROOT/pods/<ns>_<name>/lock       flock: pod_sync, pod_remove, pod_update_meta
 * $ROOT/pods/<ns>_<name>/conditions.json  the conditions' last transition times
 * $ROOT/pods/<ns>_<name>/volumes/   pod-level volume dirs, if the caller puts them there
 *                                   (removed with the pod; mounts below are unmounted)
 *
 * The sandbox is a berth container `k8s_POD_<pod>_<ns>` made from the first
 * app container's image with config "PodInfra": true: its init does the
 * usual setup, then pauses as pid 1 (runtime/init.c) holding the network
 * namespace (spec.network; spec.hostPorts published on it), the hostname,
 * /etc/hosts (the kubelet's managed file: "IP hostname[.subdomain.NS.svc.
 * cluster.local] hostname", hostAliases) and resolv.conf (spec.dns, else
 * the network's DNS server with the cluster search path and ndots:5).
 * Init and app containers `k8s_<ctr>_<pod>_<ns>` join it with NetworkMode
 * "container:<sandbox>" (localhost between them; the same hostname, hosts
 * and resolv.conf). App containers restart as restartPolicy says (monitor
 * "always" / "on-failure" / "no") with "KubeBackoff": true; probes and
 * postStart go to the monitor as "KubeProbes", "KubeLifecycle" and
 * "KubePodIP" (runtime/probe.h); init containers of a pod that may restart
 * run with "on-failure". Every container carries the labels
 * io.kubernetes.pod.{name,namespace,uid}, io.kubernetes.container.name
 * ("POD" for the sandbox), io.berth.kube.pod = "<ns>_<name>" and
 * spec.labels.
 *
 * Beyond the design's spec fields: a mount whose "source" is a berth volume
 * name (not a path) mounts that volume (no copy-up, as a Kubernetes
 * volume); securityContext "supplementalGroups" / "fsGroup" become extra
 * groups; meta "containerWaiting": {NAME: {"reason", "message"}} is how the
 * caller shows ErrImagePull / ImagePullBackOff for a container that has no
 * berth container yet (pod_status reports it as that container's waiting
 * state).
 *
 * Every call is idempotent and safe to repeat after a crash at any point:
 * containers are found again by name and pod uid. */
#ifndef BERTH_RUNTIME_POD_H
#define BERTH_RUNTIME_POD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "image/store.h"
#include "runtime/container.h"
#include "util/err.h"

#define POD_LABEL_NAME "io.kubernetes.pod.name"
#define POD_LABEL_NAMESPACE "io.kubernetes.pod.namespace"
#define POD_LABEL_UID "io.kubernetes.pod.uid"
#define POD_LABEL_CONTAINER "io.kubernetes.container.name"
#define POD_LABEL_POD "io.berth.kube.pod"

/* Record a pod: pod = {"spec": resolved spec, "meta": {...}}. The spec is
 * checked (field types, names, absolute paths, quantities, every image in
 * the store): BERR_INVALID naming the field ("spec.containers[1].args[0]:
 * not a string"). Nothing starts. BERR_CONFLICT when the pod exists. On
 * failure nothing is left. */
int pod_create(struct ctr_store *cs, struct image_store *is, json_t *pod, struct berr **err);

/* One step towards running, without waiting for containers: the sandbox
 * made and started (made again if it died; then every container of the
 * pod is stopped, within at most 2 s, and made again, as the kubelet
 * does, or with restartPolicy Never the pod ends), the next init container started once the previous one exited
 * 0 (a failed one is retried per restartPolicy; Never: the pod failed),
 * then the app containers made and started; a sidecar (an init container
 * with restartPolicy Always) holds the ones after it only until it runs and
 * its startupProbe passed, and is restarted whenever it exits; once the app
 * containers ended the sidecars are stopped, the last first; containers whose monitor gave
 * up (a start that failed) restarted with Kubernetes' back-off. A pod that
 * ended (Succeeded/Failed) gives back its sandbox. Returns at once (0)
 * when another process holds the pod's lock. A container that cannot be
 * made (runAsNonRoot with root, an image gone) is recorded for pod_status
 * (CreateContainerConfigError / CreateContainerError) and returned as the
 * error; the other containers still start. BERR_NOT_FOUND: no such pod. */
int pod_sync(struct ctr_store *cs, struct image_store *is, const char *ns, const char *name, struct berr **err);

/* Kubernetes' PodStatus from the containers' state.json (and its "Kube"
 * field: Started, Ready): phase, conditions (PodScheduled, Initialized,
 * ContainersReady, Ready with lastTransitionTime), podIP(s), hostIP(s),
 * startTime, qosClass, initContainerStatuses and containerStatuses (name,
 * ready, started, restartCount, image, imageID, containerID "berth://ID",
 * state, lastState), plus "berth": {"sandbox": ID, "containers": {NAME: ID}}.
 * NULL when there is no such pod. */
json_t *pod_status(struct ctr_store *cs, const char *ns, const char *name);

/* Replace the pod's meta. BERR_NOT_FOUND: no such pod. */
int pod_update_meta(struct ctr_store *cs, const char *ns, const char *name, json_t *meta, struct berr **err);

/* Remove the pod: preStop hooks of the running app containers in parallel
 * within the grace period (grace < 0: the spec's
 * terminationGracePeriodSeconds), the stop signal, SIGKILL when the period
 * is over (at least 2 s after a preStop hook), the containers and the
 * sandbox removed (network detached: veth, lease, DNS, port rules), the
 * pod's directory removed (mounts below it unmounted). When a container
 * cannot be removed, the pod stays recorded with what is left and the
 * error is returned (call again). BERR_NOT_FOUND: no such pod. */
int pod_remove(struct ctr_store *cs, const char *ns, const char *name, int grace, struct berr **err);

/* [{"namespace", "name", "meta"}], sorted; ns NULL: every namespace. */
json_t *pod_list(struct ctr_store *cs, const char *ns);
/* The same without the pods a node agent runs (meta "node": a cluster's
 * pods, kube/node.c), i.e. kube play's. */
json_t *pod_list_local(struct ctr_store *cs, const char *ns);
/* Only the pods node agent `node` runs. */
json_t *pod_list_node(struct ctr_store *cs, const char *node);

/* The berth container of pod's container ctr (NULL: the first app
 * container), app or init. BERR_NOT_FOUND naming the pod or container;
 * BERR_CONFLICT when it has no berth container yet. */
int pod_container_id(struct ctr_store *cs, const char *ns, const char *pod, const char *ctr, char ret_id[65],
		     struct berr **err);

/* ---- pure helpers (exported for tests/unit/test-pod.c) ---- */

/* The kubelet's cpu.shares for a request of milli CPUs: milli*1024/1000,
 * at least 2 (also for 0: no request), at most 262144. */
int64_t pod_cpu_shares(int64_t milli);
/* The kubelet's CFS quota for a limit of milli CPUs over period (us):
 * 0 without a limit, at least 1000. */
int64_t pod_cpu_quota(int64_t milli, int64_t period);
/* Kubernetes' command/args over the image's ENTRYPOINT/CMD, as Docker
 * create-request keys set on req: command -> "Entrypoint" (and "Cmd": args
 * or []), only args -> "Cmd", neither -> nothing (the image's). An empty
 * array counts as unset, as in the kubelet. */
void pod_command_apply(json_t *req, const json_t *command, const json_t *args);
/* Whether container c (a resolved init container) is a sidecar: its own
 * restartPolicy is "Always" (the Kubernetes native sidecar). */
bool pod_ctr_is_sidecar(const json_t *c);
/* The kubelet's managed /etc/hosts for the pod (malloc'd). */
char *pod_hosts_file(const char *ip, const char *hostname, const char *subdomain, const char *ns,
		     const json_t *host_aliases);
/* resolv.conf: dns ({"nameservers", "searches", "options": [{name, value}]}) when
 * given (no nameservers: gateway's), else "nameserver GATEWAY", the search
 * path NS.svc.cluster.local svc.cluster.local cluster.local and ndots:5
 * (malloc'd). */
char *pod_resolv_file(const json_t *dns, const char *ns, const char *gateway);

#endif
