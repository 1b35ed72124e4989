/* The storage provisioner of `kube cluster` (see provisioner.c): the
 * default StorageClass "standard" and local PersistentVolumes on berth
 * volumes for its claims. */
#pragma once
#include <stdbool.h>
#include "util/err.h"

struct kube_provisioner_opts {
	const char *kubeconfig; /* credentials that may create StorageClasses and PersistentVolumes */
	const char *root;       /* the store whose volumes back the claims */
	bool once;              /* one pass, then return (tests) */
};

/* Loop (every 250 ms) until *stop. Errors only when the kubeconfig cannot
 * be read; the API's errors are printed once each, and retried. */
int kube_provisioner_run(const struct kube_provisioner_opts *o, volatile int *stop, struct berr **err);
