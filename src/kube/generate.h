/* Running containers -> Kubernetes manifests (`berth kube generate`, as
 * `podman kube generate`). Pure: the CLI gathers each container's inspect
 * object, its image's config and its volumes; this turns them into a
 * normalized compose project (the shape `berth compose config --format
 * json` prints) and hands that to kube_convert(), so generate and convert
 * map the same way. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "util/err.h"

/* One container and what it was made from. */
struct kube_gen_ctr {
	json_t *inspect;        /* `berth inspect`'s object (NetworkSettings.Networks optional) */
	json_t *image_config;   /* the image config's "config" (Env, Cmd, Entrypoint, ...), or NULL */
	const char *image_ref;  /* a name of the image, used when Config.Image is an ID; or NULL */
	const char *project;    /* compose project it was asked for by (its services become
				 * the project's), or NULL: the container stands alone */
};

enum kube_gen_type { KUBE_GEN_POD, KUBE_GEN_DEPLOYMENT, KUBE_GEN_STATEFULSET, KUBE_GEN_DAEMONSET, KUBE_GEN_JOB };

struct kube_generate_opts {
	enum kube_gen_type type;
	bool services;          /* -s: write the Services too */
	int replicas;           /* --replicas; < 0: the number of containers of the service */
	const char *namespace_; /* or NULL */
	const char *wait_image; /* image of the depends_on init containers */
};

/* Parse --type: pod, deployment, statefulset, daemonset or job. */
int kube_gen_type_parse(const char *s, enum kube_gen_type *ret, struct berr **err);

/* The compose project of the containers: one service per compose service
 * of a project (replicas: its containers, the lowest-numbered one is the
 * model), one per standalone container (named after it). Only what
 * differs from the image's config is kept. volumes maps volume names to
 * `volume inspect` objects (Labels), may be NULL. Warnings (a name
 * rewritten, replicas that differ) are appended to warnings. Errors: two
 * services of the same name. */
int kube_generate_project(const struct kube_gen_ctr *ctrs, size_t n, json_t *volumes, json_t **ret_project,
			  json_t *warnings, struct berr **err);

/* kube_generate_project() then kube_convert() with o's type, and the
 * Services left out unless o->services. ret_objects in apply order. */
int kube_generate(const struct kube_gen_ctr *ctrs, size_t n, json_t *volumes, const struct kube_generate_opts *o,
		  json_t **ret_objects, json_t *warnings, struct berr **err);
