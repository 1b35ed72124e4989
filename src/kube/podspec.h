/* A Kubernetes pod (metadata + spec, as the API holds it) -> the resolved
 * pod spec the pod runtime runs (runtime/pod.h): env values resolved
 * (envFrom, valueFrom, $(VAR) expansion), command/args expanded, named
 * probe ports made numbers, the pod's security context folded into each
 * container, resolv.conf by dnsPolicy, and every volume made a host path:
 *
 * $ROOT/kube/<ns>/pods/<pod>/volumes/<vol>/   emptyDir (a tmpfs mounted there for
 *                                             medium Memory), configMap, secret,
 *                                             downwardAPI, projected
 *
 * configMap, secret, downwardAPI and projected volumes use the kubelet's
 * atomic-writer layout: the files in `..YYYY_MM_DD_HH_MM_SS.N/`, a
 * symlink `..data` to it, and one symlink per top-level entry to
 * `..data/ENTRY`; an update writes a new timestamped directory and swaps
 * `..data` with one rename, so a reader sees all old or all new files.
 * PersistentVolumeClaims are berth volumes `kube_<ns>_<claim>`. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "util/err.h"

struct kube_pod_ctx {
	const char *root, *runroot;
	const char *ns;
	json_t *objects;      /* the namespace's objects {"Kind/name": obj} (ConfigMaps, Secrets, PVCs) */
	const char *network;  /* berth network of the namespace */
	const char *gateway;  /* its DNS server's address (ClusterFirst) */
	bool publish_all;     /* --publish-all: containerPorts published on the same host port */
	const char *poddir;   /* where the pods' volume dirs go (NULL: $ROOT/kube/<ns>/pods) */
	/* projected serviceAccountToken sources: {"VOLUME/PATH": "TOKEN"} (the node
	 * agent asks the API's TokenRequest for them); NULL: left out, with a warning */
	json_t *sa_tokens;
};

/* pod = {"metadata": {name, namespace, uid, labels, annotations}, "spec": PodSpec}.
 * *ret is the resolved spec; volumes are materialized. Errors name the
 * container and field (missing ConfigMap key, bad subPath...). */
int kube_podspec_resolve(const struct kube_pod_ctx *c, json_t *pod, json_t **ret, struct berr **err);
/* Rewrite the configMap/secret/downwardAPI/projected volumes of a running
 * pod whose sources changed (atomic swap); *ret_changed counts them. */
int kube_podspec_refresh(const struct kube_pod_ctx *c, json_t *pod, int *ret_changed, struct berr **err);
/* Remove the pod's volume dirs (unmounting Memory emptyDirs). */
void kube_podspec_cleanup(const char *root, const char *ns, const char *pod);
/* The same for a ctx whose poddir is set. */
void kube_podspec_cleanup_dir(const char *poddir, const char *pod);
/* The berth volume name of a claim: "kube_<ns>_<claim>". */
void kube_claim_volume(const char *ns, const char *claim, char *buf, size_t n);
