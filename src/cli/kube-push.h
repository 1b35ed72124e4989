/* berth kube convert --push: build the compose project's build: services
 * as `berth compose build` builds them and push each to the name the
 * manifests give it (kube-push.c). */
#ifndef BERTH_CLI_KUBE_PUSH_H
#define BERTH_CLI_KUBE_PUSH_H

#include <jansson.h>

#include "cli/cli.h"
#include "compose/project.h"
#include "util/err.h"

/* The name kube convert writes for a service with build: (and so where
 * --push sends it), as a normalized full reference: its image: when it
 * has one, else REGISTRY/PROJECT-SERVICE:latest. registry is
 * --image-registry HOST[/PREFIX]; a HOST that is no registry host (no '.',
 * no ':' and not localhost, which Docker would read as a docker.io path)
 * is an error naming the flag. Caller frees *ret. */
int kube_push_target(const struct compose_project *p, const char *service, json_t *svc, const char *registry,
		     char **ret, struct berr **err);

/* Build every service of p with build: (in the project's order, each as
 * compose build builds it), then tag each image with its kube_push_target and push it
 * with the registry client (credentials from `berth login`). objects are
 * the converted manifests: a target they do not name is an error. Progress
 * goes to stderr (stdout carries the manifests). A failure prints the
 * error, naming the service, and returns -1: the caller then writes no
 * manifests. */
int kube_push_project(struct cli *c, struct compose_project *p, const char *registry, json_t *objects);

#endif
