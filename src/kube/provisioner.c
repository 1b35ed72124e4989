/* A storage provisioner for one-machine clusters (`kube cluster up`): the
 * default StorageClass "standard" (provisioner berth.io/local,
 * volumeBindingMode WaitForFirstConsumer) and, for each claim of that
 * class the scheduler has picked a node for, a PersistentVolume of type
 * local on that node's berth volume kube_NS_CLAIM, which the
 * PersistentVolume controller then binds. The node agent mounts the berth
 * volume itself (kube/podspec.c: a claim is the volume kube_NS_CLAIM,
 * made at the pod's first start). A Released volume of this provisioner
 * (its claim deleted, reclaim policy Delete) is deleted, with the berth
 * volume when no container uses it. What external-provisioner and
 * local-path-provisioner do, in one loop over the API. The same loop
 * fills LoadBalancer Services' status (kube/lbstatus.h). */
#include "kube/provisioner.h"
#include "kube/client.h"
#include "kube/lbstatus.h"
#include "kube/podspec.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROV_NAME "berth.io/local"
#define SC_NAME "standard"

static int ensure_class(struct kube_client *kc, struct berr **err)
{
	json_t *cur = NULL;
	struct berr *e = NULL;
	if (kube_get(kc, "/apis/storage.k8s.io/v1/storageclasses/" SC_NAME, &cur, &e) == 0) {
		json_decref(cur);
		return 0;
	}
	if (!e || e->code != BERR_NOT_FOUND) {
		*err = e;
		return -1;
	}
	berr_free(e);
	_cleanup_json_ json_t *sc = json_pack(
		"{s:s,s:s,s:{s:s,s:{s:s}},s:s,s:s,s:s}", "apiVersion", "storage.k8s.io/v1", "kind", "StorageClass",
		"metadata", "name", SC_NAME, "annotations", "storageclass.kubernetes.io/is-default-class", "true",
		"provisioner", PROV_NAME, "reclaimPolicy", "Delete", "volumeBindingMode", "WaitForFirstConsumer");
	e = NULL;
	if (kube_post(kc, "/apis/storage.k8s.io/v1/storageclasses", sc, NULL, &e) < 0 && e && e->code != BERR_CONFLICT) {
		*err = e;
		return -1;
	}
	berr_free(e);
	return 0;
}

static void provision(struct kube_client *kc, const char *root, json_t *pvc, FILE *log)
{
	json_t *md = json_object_get(pvc, "metadata"), *spec = json_object_get(pvc, "spec");
	json_t *ann = json_object_get(md, "annotations");
	const char *ns = jsonx_str(md, "namespace"), *name = jsonx_str(md, "name"), *uid = jsonx_str(md, "uid");
	const char *prov = jsonx_str(ann, "volume.kubernetes.io/storage-provisioner");
	if (!prov)
		prov = jsonx_str(ann, "volume.beta.kubernetes.io/storage-provisioner");
	const char *node = jsonx_str(ann, "volume.kubernetes.io/selected-node");
	const char *vol = jsonx_str(spec, "volumeName");
	if (!ns || !name || !uid || !prov || strcmp(prov, PROV_NAME) || !node || (vol && *vol))
		return;
	const char *size = jsonx_str(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
	_cleanup_json_ json_t *modes = json_incref(json_object_get(spec, "accessModes"));
	if (!json_is_array(modes)) {
		json_decref(modes);
		modes = json_pack("[s]", "ReadWriteOnce");
	}
	char bv[256], path[4096];
	kube_claim_volume(ns, name, bv, sizeof(bv));
	if (snprintf(path, sizeof(path), "%s/volumes/%s/_data", root, bv) >= (int)sizeof(path))
		return;
	_cleanup_json_ json_t *pv = json_pack(
		"{s:s,s:s,s:{s:s+,s:{s:s},s:{s:s,s:s}},s:{s:{s:s},s:O,s:s,s:s,s:{s:s,s:s,s:s},s:{s:s},"
		"s:{s:{s:[{s:[{s:s,s:s,s:[s]}]}]}}}}",
		"apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name", "pvc-", uid, "annotations",
		"pv.kubernetes.io/provisioned-by", PROV_NAME, "labels", "io.berth.kube.namespace", ns, "io.berth.kube.claim",
		name, "spec", "capacity", "storage", size ? size : "1Gi", "accessModes",
		modes, "persistentVolumeReclaimPolicy", "Delete",
		"storageClassName", SC_NAME, "claimRef", "namespace", ns, "name", name, "uid", uid, "local", "path", path,
		"nodeAffinity", "required", "nodeSelectorTerms", "matchExpressions", "key", "kubernetes.io/hostname",
		"operator", "In", "values", node);
	struct berr *e = NULL;
	if (kube_post(kc, "/api/v1/persistentvolumes", pv, NULL, &e) < 0) {
		if (e && e->code != BERR_CONFLICT)
			fprintf(log, "provisioner: claim %s/%s: %s\n", ns, name, e->msg);
		berr_free(e);
		return;
	}
	fprintf(log, "provisioner: claim %s/%s: volume pvc-%s on node %s (berth volume %s)\n", ns, name, uid, node, bv);
	fflush(log);
}

static void reclaim(struct kube_client *kc, const char *root, json_t *pv, FILE *log)
{
	json_t *md = json_object_get(pv, "metadata");
	const char *by = jsonx_str(json_object_get(md, "annotations"), "pv.kubernetes.io/provisioned-by");
	const char *phase = jsonx_str(json_object_get(pv, "status"), "phase");
	const char *name = jsonx_str(md, "name");
	if (!by || strcmp(by, PROV_NAME) || !phase || strcmp(phase, "Released") || !name)
		return;
	json_t *labels = json_object_get(md, "labels");
	const char *ns = jsonx_str(labels, "io.berth.kube.namespace"), *claim = jsonx_str(labels, "io.berth.kube.claim");
	if (ns && claim) {
		char bv[256];
		kube_claim_volume(ns, claim, bv, sizeof(bv));
		struct berr *e = NULL;
		if (volume_remove(root, bv, &e) < 0 && e && e->code != BERR_NOT_FOUND) {
			/* still mounted by a container going away: next time */
			berr_free(e);
			return;
		}
		berr_free(e);
	}
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/persistentvolumes/%s", name) < 0)
		return;
	struct berr *e = NULL;
	if (kube_delete(kc, path, NULL, NULL, &e) == 0)
		fprintf(log, "provisioner: volume %s deleted (its claim is gone)\n", name);
	berr_free(e);
	fflush(log);
}

int kube_provisioner_run(const struct kube_provisioner_opts *o, volatile int *stop, struct berr **err)
{
	struct kube_client *kc = NULL;
	struct kube_client_opts co = {.kubeconfig = o->kubeconfig};
	if (kube_client_open(&co, &kc, err) < 0)
		return -1;
	FILE *log = stderr;
	bool failing = false;
	int rc = 0;
	while (!*stop) {
		struct berr *e = NULL;
		if (ensure_class(kc, &e) == 0) {
			json_t *pvcs = NULL, *pvs = NULL;
			if (kube_get(kc, "/api/v1/persistentvolumeclaims", &pvcs, &e) == 0 &&
			    kube_get(kc, "/api/v1/persistentvolumes", &pvs, &e) == 0) {
				size_t i;
				json_t *x;
				json_array_foreach(json_object_get(pvcs, "items"), i, x) provision(kc, o->root, x, log);
				json_array_foreach(json_object_get(pvs, "items"), i, x) reclaim(kc, o->root, x, log);
				kube_lbstatus_pass(kc, log);
				if (failing)
					fprintf(log, "provisioner: the API answers again\n");
				failing = false;
			}
			json_decref(pvcs);
			json_decref(pvs);
		}
		if (e) {
			if (!failing)
				fprintf(log, "provisioner: %s\n", e->msg);
			failing = true;
			berr_free(e);
		}
		if (o->once)
			break;
		struct timespec ts = {0, 250 * 1000000L};
		nanosleep(&ts, NULL);
	}
	kube_client_free(kc);
	return rc;
}
