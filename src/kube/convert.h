/* Compose project -> Kubernetes manifests (`berth kube convert`). Input is
 * the normalized project of src/compose (compose/project.h); output is an
 * array of Kubernetes objects as jansson values, in apply order
 * (ConfigMaps, Secrets, PersistentVolumeClaims, Services, workloads, then
 * Ingresses, autoscalers and NetworkPolicies). The only I/O is reading the
 * files that become ConfigMaps and Secrets (env_file, configs, secrets,
 * bind-mounted files and directories). */
#pragma once
#include <stdbool.h>
#include <jansson.h>
#include "util/err.h"

/* KUBE_POD writes bare Pods (kube generate); --controller never selects it */
enum kube_controller { KUBE_DEPLOYMENT, KUBE_STATEFULSET, KUBE_DAEMONSET, KUBE_POD };
/* what bind mounts (and named volumes, for emptydir) become: --volumes or
 * the label kompose.volume.type. KUBE_VOL_AUTO (the default): a file or a
 * non-empty directory that exists becomes a ConfigMap, anything else a
 * PersistentVolumeClaim. */
enum kube_volumes { KUBE_VOL_AUTO, KUBE_VOL_PVC, KUBE_VOL_EMPTYDIR, KUBE_VOL_HOSTPATH, KUBE_VOL_CONFIGMAP };

struct kube_convert_opts {
	const char *namespace_;        /* metadata.namespace, or NULL */
	enum kube_controller controller; /* default for every service */
	int replicas;                  /* --replicas; < 0: the file's */
	const char *pvc_size;          /* default PVC request, "100Mi" */
	const char *image_registry;    /* HOST[/PREFIX] for build: services, or NULL */
	const char *wait_image;        /* image of depends_on init containers */
	const char *kubectl_image;     /* image that waits for a Job (service_completed_successfully) */
	enum kube_volumes volumes;     /* --volumes */
	const char *project_dir;       /* the project directory (names of env_file ConfigMaps) */
	json_t *env;                   /* the project's resolved environment (secrets from environment:), or NULL */
	bool network_policies;         /* --network-policies */
};

/* Parse --controller. */
int kube_controller_parse(const char *s, enum kube_controller *ret, struct berr **err);
/* Parse --volumes / kompose.volume.type: pvc (persistentVolumeClaim),
 * emptydir, hostpath, configmap; any case. */
int kube_volumes_parse(const char *s, enum kube_volumes *ret, struct berr **err);
/* A Kubernetes quantity such as 100Mi, 1Gi, 500M, 2 (for --pvc-request-size). */
bool kube_quantity_valid(const char *s);
/* Convert. Every compose key that is not mapped adds one warning string
 * ("service web: key: ...") to warnings; nothing is dropped silently.
 * Errors name the service (an invalid name, a bad label value). */
int kube_convert(json_t *project, const struct kube_convert_opts *o, json_t **ret_objects, json_t *warnings,
		 struct berr **err);
