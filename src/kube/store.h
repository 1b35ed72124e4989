/* What `kube play` keeps per namespace (the desired objects) and what the
 * namespace's supervisor reports back (their status). Pods themselves are
 * the pod runtime's (runtime/pod.h).
 *
 * $ROOT/kube/<ns>/objects.json  {"generation": N, "objects": {"Kind/name": OBJ},
 *                               "sources": {"Kind/name": "FILE:LINE"}}   desired; play writes it
 * $ROOT/kube/<ns>/status.json   {"objects": {"Kind/name": {...}}, "replicasets": {NAME: RS},
 *                               "pods": {NAME: {"reason", "message"}}, "events": [...],
 *                               "observedGeneration": N}                 the supervisor writes it
 * $ROOT/kube/<ns>/lock          flock: play, down and the supervisor's writes
 * $RUNROOT/kube/<ns>/supervisor.pid, supervisor.log
 *
 * Both files are replaced atomically; readers never lock. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "util/err.h"

/* An object's key in objects.json: "Deployment/web". buf >= 320. */
void kube_obj_key(const json_t *obj, char *buf, size_t n);

/* mkdir $ROOT/kube/<ns> and flock its lock (LOCK_EX); the fd to close. */
int kube_store_lock(const char *root, const char *ns, struct berr **err);
/* The namespace's desired state; an empty one ({"generation": 0,
 * "objects": {}}) when there is none. NULL only with *err (unreadable). */
json_t *kube_store_objects(const char *root, const char *ns, struct berr **err);
int kube_store_write_objects(const char *root, const char *ns, json_t *doc, struct berr **err);
/* The supervisor's status document ({} when none). */
json_t *kube_store_status(const char *root, const char *ns);
int kube_store_write_status(const char *root, const char *ns, json_t *doc, struct berr **err);
/* Namespaces that have objects or pods in this store (sorted array of names). */
json_t *kube_store_namespaces(const char *root);
/* Remove $ROOT/kube/<ns> (after down removed everything). */
void kube_store_remove(const char *root, const char *ns);
