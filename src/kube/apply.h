/* Server-side apply and its companions (kube apply, delete, diff, rollout
 * status, deploy) against a real API server, through kube/client.h.
 *
 * Manifests of ANY kind the server knows (CRDs' kinds included) are read
 * as YAML streams (List kinds expanded) without a schema of their own: the
 * server validates them (fieldValidation=Strict). Kinds and resources come
 * from discovery, never from a table. Only the CLI prints: progress goes
 * through callbacks. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kube/client.h"
#include "util/err.h"

struct kube_item {
	json_t *obj;             /* the object as read; metadata.namespace set once resolved */
	char *where;             /* "web.yaml:12" (the line of the object) */
	const char *name;        /* metadata.name (in obj) */
	struct kube_resource r;  /* valid when resolved */
	bool resolved;
	char *ns;                /* NULL: cluster-scoped (or not resolved yet) */
	char *crd;               /* unresolved: the CustomResourceDefinition of the set that defines the kind */
};
struct kube_items {
	struct kube_item *v;
	size_t n;
};

/* Read paths in order: FILE, DIR (its *.yaml, *.yml and *.json, sorted;
 * with recursive, its subdirectories too) or "-" (stdin, once). Every
 * object needs apiVersion, kind and metadata.name. Errors: "FILE:LINE: ...". */
int kube_items_read(const char *const *paths, size_t npaths, bool recursive, struct kube_items *ret,
		    struct berr **err);
/* The same from a buffer; label names it ("<stdin>", "web.yaml"). */
int kube_items_read_buffer(const char *buf, size_t len, const char *label, struct kube_items *ret,
			   struct berr **err);
/* Objects made in memory (kube convert's): each checked as a read one;
 * label names them in errors ("compose.yaml"). */
int kube_items_from_objects(json_t *objects, const char *label, struct kube_items *ret, struct berr **err);
void kube_items_release(struct kube_items *it);

/* Resolve every item through discovery. Namespaced objects get their own
 * namespace, else ns (the -n flag, or the context's); with ns_forced (-n
 * given) an object that names another namespace is an error, as in
 * kubectl. A kind that a CustomResourceDefinition of the same set defines
 * is left unresolved (item->crd set): kube_item_resolve once the CRD is
 * established. Every error is collected: "FILE:LINE: Kind name: ...",
 * one per line; nothing is sent to the server but discovery. */
int kube_items_resolve(struct kube_client *c, struct kube_items *it, const char *ns, bool ns_forced,
		       struct berr **err);
int kube_item_resolve(struct kube_client *c, struct kube_item *item, const char *ns, bool ns_forced,
		      struct berr **err);

/* kubectl's names: "deployment.apps/web", "configmap/cfg" (malloc'd). */
char *kube_ref_name(const struct kube_resource *r, const char *name);
/* "deployment.apps" / "configmap" */
char *kube_ref_type(const struct kube_resource *r);
/* For errors: "Deployment default/web", "Namespace apps" (malloc'd). */
char *kube_ref_label(const struct kube_resource *r, const char *ns, const char *name);

struct kube_apply_opts {
	const char *field_manager; /* NULL: "berth" */
	bool force;                /* take fields other managers own (force=true) */
	bool dry_run;              /* dryRun=All */
	const char *validation;    /* fieldValidation: NULL or "Strict", "Warn", "Ignore" */
};
/* PATCH application/apply-patch+yaml of a resolved item; *ret (may be
 * NULL) the object the server answers. Errors read "Deployment
 * default/web: spec.replicas: Invalid value: ..."; a conflict is
 * BERR_CONFLICT with the server's list of managers and fields. */
int kube_apply_item(struct kube_client *c, const struct kube_item *item, const struct kube_apply_opts *o,
		    json_t **ret, struct berr **err);

/* Wait until the CustomResourceDefinition name is Established (its kinds
 * served); deadline_ms on CLOCK_MONOTONIC (0: 60 s from now). */
int kube_crd_wait(struct kube_client *c, const char *name, int64_t deadline_ms, struct berr **err);

/* ---- rollout status ---- */
/* Deployment, DaemonSet, StatefulSet (kubectl's status viewers) and Job
 * (until Complete, as `kubectl wait --for=condition=complete`). */
bool kube_rollout_supported(const struct kube_resource *r);
/* The status line kubectl prints for obj (no newline; malloc'd) and
 * whether the rollout is done. -1 with err when it cannot finish: a
 * Deployment past its progress deadline, a strategy without a rollout
 * (OnDelete), a failed Job, or a kind without a status viewer. */
int kube_rollout_status(const struct kube_resource *r, json_t *obj, char **ret_msg, bool *ret_done,
			struct berr **err);
typedef void (*kube_line_fn)(void *ud, const char *line);
/* Follow the object (GET, then a watch on it) calling fn with each status
 * line that differs from the one before, until done. watch false: one
 * status only. timeout_ms 0: no limit; after it, "timed out waiting for
 * the condition" (BERR_GENERIC, errnum ETIMEDOUT). A Deployment's line
 * carries kubectl's warning about a pod that cannot start. stop, when set,
 * ends the wait early with an error. */
int kube_rollout_wait(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		      int64_t timeout_ms, bool watch, kube_line_fn fn, void *ud, volatile int *stop,
		      struct berr **err);

/* ---- delete ---- */
struct kube_delete_opts {
	const char *propagation; /* "Background" (NULL), "Foreground", "Orphan" */
	int64_t grace_seconds;   /* -1: the object's own */
	bool dry_run;
};
/* DELETE one object; *ret_uid (may be NULL) the uid of what was deleted,
 * for kube_wait_deleted. BERR_NOT_FOUND when it does not exist. */
int kube_delete_object(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		       const struct kube_delete_opts *o, char **ret_uid, struct berr **err);
/* Until the object (of uid, when given) is gone; deadline_ms monotonic, 0: none. */
int kube_wait_deleted(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		      const char *uid, int64_t deadline_ms, struct berr **err);

/* ---- prune ---- */
/* The objects to prune: of the resources given (an array of
 * kube_resource, n of them), in namespaces (a JSON array of names; for
 * cluster-scoped resources ignored), matching selector (NULL: all), that
 * field_manager applied (a managedFields entry of it with operation
 * Apply), not being deleted, and not in keep (a JSON object whose keys are
 * kube_item_key()s). *ret: array of {"r": index, "ns", "name"}. */
int kube_prune_find(struct kube_client *c, const struct kube_resource *rs, size_t n, json_t *namespaces,
		    const char *selector, const char *field_manager, json_t *keep, json_t **ret, struct berr **err);
/* "apps/Deployment/default/web" ("" for the core group, ns "" when cluster-scoped). */
char *kube_item_key(const struct kube_resource *r, const char *ns, const char *name);

/* ---- diff ---- */
/* A copy of obj as kube diff shows it: without managedFields and the
 * server's bookkeeping (resourceVersion, generation, creationTimestamp,
 * uid), keys sorted. */
json_t *kube_diff_clean(const json_t *obj);
/* Secrets: data and stringData values become "***", or "*** (before)" /
 * "*** (after)" where they differ, as kubectl diff masks them. Either
 * side may be NULL. */
void kube_diff_mask_secret(json_t *live, json_t *merged);

/* A LabelSelector object as a labelSelector string ("a=b,c in (x,y),!d"). */
char *kube_label_selector_string(const json_t *sel);
