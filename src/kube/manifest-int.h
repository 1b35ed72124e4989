/* Internals of kube/manifest: manifest.c (reading, kinds, per-kind checks
 * and defaults), manifest-schema.c (the field tables and the typed walk),
 * manifest-pod.c (pod templates), manifest-refs.c (checks between
 * objects, selectors). */
#pragma once
#include "kube/manifest.h"
#include "compose/yaml.h"

#include <stdint.h>

#define KM_PATH_MAX 512

/* One object being checked: every message names it. */
struct kctx {
	struct kube_manifests *m;
	json_t *obj;
	const char *kind;      /* canonical kind */
	const char *ns;        /* its namespace (NULL for Namespace) */
	char ident[320];       /* "deployment/web" */
	const char *file;      /* its file, for nodes without a mark */
	int line;              /* its line */
	struct berr **err;
};

/* "FILE:LINE: ident: path: message" into *c->err (line of node, else of
 * fallback, else of the object). path may be NULL or "". Returns -1. */
int kerr(struct kctx *c, const json_t *node, const json_t *fallback, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same as a warning (each text once). */
void kwarn(struct kctx *c, const json_t *node, const json_t *fallback, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A value in a message: "text" quoted, numbers, compact JSON (<= 80 chars). */
void kval(const json_t *v, char *buf, size_t n);
/* path + ".key" / path + "[i]" into buf (truncated at KM_PATH_MAX). */
const char *kpath(char *buf, const char *path, const char *key);
const char *kpathi(char *buf, const char *path, size_t i);
/* path + "[key]" (map entries: "data[key]", "resources.limits[cpu]") */
const char *kpathk(char *buf, const char *path, const char *key);

/* manifest-schema.c: check the types of obj against the table of its kind
 * (type name "Deployment"...): nulls and server-managed fields dropped,
 * unknown fields warned about and dropped, not-applied fields warned
 * about, unsupported ones refused, required ones present, numbers given
 * for quantities turned into strings. */
int km_schema_walk(struct kctx *c, const char *type, json_t *obj);

/* manifest.c: name and label rules (NULL when valid, else the API's message) */
const char *km_dns1123_subdomain(const char *s);
const char *km_dns1123_label(const char *s);
const char *km_dns1035_label(const char *s);
const char *km_iana_svc_name(const char *s);
/* labels (or annotations when annotations) of a metadata mapping */
int km_check_labels(struct kctx *c, json_t *map, const char *path, bool annotations);
int km_check_selector(struct kctx *c, json_t *sel, const char *path);
/* a quantity string, >= 0; NULL when valid */
const char *km_quantity_error(const char *s, int64_t *ret_milli);

/* manifest-pod.c: a PodTemplateSpec (path "spec.template") or a Pod's
 * spec (path "spec"); claim_templates: a StatefulSet's claim template
 * names (volumes a mount may name), or NULL. Defaults, then checks. */
int km_pod_spec(struct kctx *c, json_t *spec, const char *path, json_t *claim_templates, bool job);
int km_pod_template(struct kctx *c, json_t *tmpl, const char *path, json_t *claim_templates, bool job);

/* helpers */
json_t *km_obj(json_t *parent, const char *key);          /* the member, made an object if missing */
void km_default(json_t *obj, const char *key, json_t *v);  /* set when missing (steals v) */
const char *km_name(const json_t *obj);                    /* metadata.name or "" */
