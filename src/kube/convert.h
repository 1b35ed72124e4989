/* Compose project -> Kubernetes manifests (`berth kube convert`). Input is
 * the normalized project of src/compose (compose/project.h); output is an
 * array of Kubernetes objects as jansson values, in apply order
 * (PersistentVolumeClaims, Services, then workloads). Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <jansson.h>
#include "util/err.h"

/* KUBE_POD writes bare Pods (kube generate); --controller never selects it */
enum kube_controller { KUBE_DEPLOYMENT, KUBE_STATEFULSET, KUBE_DAEMONSET, KUBE_POD };

struct kube_convert_opts {
	const char *namespace_;        /* metadata.namespace, or NULL */
	enum kube_controller controller; /* default for every service */
	int replicas;                  /* --replicas; < 0: the file's */
	const char *pvc_size;          /* default PVC request, "100Mi" */
	const char *image_registry;    /* HOST[/PREFIX] for build: services, or NULL */
	const char *wait_image;        /* image of depends_on init containers */
};

/* Parse --controller. */
int kube_controller_parse(const char *s, enum kube_controller *ret, struct berr **err);
/* A Kubernetes quantity such as 100Mi, 1Gi, 500M, 2 (for --pvc-request-size). */
bool kube_quantity_valid(const char *s);
/* Convert. Every compose key that is not mapped adds one warning string
 * ("service web: key: ...") to warnings; nothing is dropped silently.
 * Errors name the service (an invalid name, a bad label value). */
int kube_convert(json_t *project, const struct kube_convert_opts *o, json_t **ret_objects, json_t *warnings,
		 struct berr **err);
