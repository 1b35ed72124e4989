/* Kubernetes manifests -> normalized, validated objects (kube play's
 * input). Files, directories and stdin are read as YAML streams (several
 * documents, `List` kinds expanded); every object is checked as the API
 * server would check it on create, and defaulted as it would default it,
 * so the objects read as `kubectl get -o json` shows them (without the
 * server's metadata: uid, creationTimestamp, resourceVersion, status).
 *
 * Errors and warnings read "FILE:LINE: kind/name: field.path: message",
 * the line being that of the field (or of the nearest parent that has
 * one). Objects carry no position themselves: kube_manifest_where() gives
 * "FILE:LINE" of an object (the marks of the YAML reader stay with m).
 *
 * What berth applies. Every field of the supported kinds is known (the
 * tables in manifest-schema.c, checked against Kubernetes' OpenAPI in
 * test-kube-manifest); a field that is parsed but not applied on one
 * machine gives one warning naming the object and the field, an unknown
 * field gives `unknown field "spec.replica"` (kubectl's warn mode: it is
 * dropped), a field berth cannot honour at all (a volume type other than
 * emptyDir, hostPath, configMap, secret, persistentVolumeClaim,
 * downwardAPI and projected; grpc probes; sidecar init containers;
 * volumeDevices) is an error. The consumers (kube/podspec.c,
 * kube/reconcile.c, net/svc.c) apply the rest, notably: pod securityContext
 * runAsUser/runAsGroup/runAsNonRoot/fsGroup/sysctls/seccompProfile
 * RuntimeDefault, container securityContext, subPath, Deployment
 * minReadySeconds and strategy, StatefulSet ordinals, podManagementPolicy,
 * updateStrategy, volumeClaimTemplates, Job completions/parallelism/
 * backoffLimit/activeDeadlineSeconds/completionMode/suspend, Service
 * publishNotReadyAddresses, sessionAffinity, externalTrafficPolicy. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "util/err.h"

struct cmarks;

struct kube_manifests {
	json_t *objects;  /* array of objects, in file order (List items in place of their List) */
	json_t *warnings; /* array of strings, each given once */
	/* private */
	json_t *wheres;   /* object address ("%p") -> "FILE:LINE" */
	json_t *warned;   /* set of the warnings given */
	struct cmarks *marks;
};

/* Read paths in order: a file, a directory (its *.yaml, *.yml and *.json
 * directly inside, sorted by name) or "-" (stdin, at most once). Every
 * namespaced object gets metadata.namespace: its own, else
 * namespace_override (--namespace), else "default"; an object whose
 * namespace differs from namespace_override is an error, as in kubectl.
 * On error nothing is returned (and nothing was written anywhere). */
int kube_manifests_load(const char *const *paths, size_t npaths, const char *namespace_override,
			struct kube_manifests **ret, struct berr **err);
/* The same from a buffer (label names it in messages: "web.yaml", "<stdin>"). */
int kube_manifests_load_buffer(const char *buf, size_t len, const char *label, const char *namespace_override,
			       struct kube_manifests **ret, struct berr **err);
void kube_manifests_free(struct kube_manifests *m);

/* "web.yaml:12" of an object of m->objects (the pointer itself), or NULL. */
const char *kube_manifest_where(struct kube_manifests *m, const json_t *obj);

/* Checks between objects, against the manifests plus existing_objects
 * (what the store already holds: an array of objects or objects.json's
 * {"Kind/name": obj} map; may be NULL; objects of m win over them):
 * configMapKeyRef/secretKeyRef/envFrom/configMap/secret volumes and
 * projections name objects and keys that exist (unless optional), a claim
 * a pod uses exists, a Service's named targetPort is a port name of a
 * container of the pods it selects, two Services do not take one host
 * port (nodePort or LoadBalancer port, same protocol). May add warnings. */
int kube_manifests_check_refs(struct kube_manifests *m, json_t *existing_objects, struct berr **err);

/* ---- kinds ---- */
/* The supported kinds, NULL-terminated, in the order an error lists them. */
extern const char *const kube_kinds[];
/* The canonical kind ("Deployment") of what a user types: a kind in any
 * case, its plural, a short name (po, deploy, svc, cm, sts, ds, rs, pvc, ns,
 * cj, job, secret...), optionally with its group ("deployments.apps"). NULL
 * when unknown. */
const char *kube_kind_resolve(const char *word);
/* "deployments"; NULL for an unknown kind. */
const char *kube_kind_plural(const char *kind);
/* "apps" ("" for the core group), "apps/v1"; NULL for an unknown kind. */
const char *kube_kind_group(const char *kind);
const char *kube_kind_api_version(const char *kind);
/* false for Namespace (cluster-scoped) and unknown kinds */
bool kube_kind_namespaced(const char *kind);

/* For tests: the field tables as {"Type": {"field": "type"}} (types:
 * string int bool number quantity intstr time any, [T], {T}, or a type
 * name); NULL if a table names a type that does not exist. */
json_t *kube_manifest_schema(void);
