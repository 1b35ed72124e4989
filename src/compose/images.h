/* The images of a compose project: which services need an image built or
 * pulled before `up`/`run` (build:, pull_policy, --build, --no-build,
 * --pull), and building one service's image with the builder (src/builder).
 * Pulling is the caller's (the registry client sits beside compose, not
 * below it). Built images are named as docker compose names them: the
 * service's image:, else PROJECT-SERVICE. */
#ifndef BERTH_COMPOSE_IMAGES_H
#define BERTH_COMPOSE_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "builder/build.h"
#include "compose/engine.h"

enum compose_build_mode { COMPOSE_BUILD_AUTO, COMPOSE_BUILD_ALWAYS, COMPOSE_BUILD_NEVER };

/* For each of services (array of names): "build", "pull" or nothing, as
 * {"svc": "build"|"pull"}. pull is --pull (always|missing|never|build) or
 * NULL (each service's pull_policy, default missing). A missing image
 * that may be neither built nor pulled is BERR_NOT_FOUND naming the
 * service. */
int compose_images_plan(struct compose_engine *e, json_t *services, enum compose_build_mode build, const char *pull,
			json_t **ret, struct berr **err);

struct compose_build_opts {
	bool no_cache;
	const char *const *build_args; /* "K=V" from the command line, over build.args */
	size_t nbuild_args;
	enum build_progress progress;
	FILE *out;
};

/* Build the image of one service from its build: section (context,
 * dockerfile or dockerfile_inline, args, target, labels, network, tags,
 * no_cache); ret_id gets the image ID. Options berth's builder does not
 * take are reported through e->ev.warn. A failure names the service and
 * the Dockerfile (the builder names the line). */
int compose_build_service(struct compose_engine *e, const char *service, const struct compose_build_opts *o,
			  char ret_id[72], struct berr **err);

/* pull_policy of a service ("missing" when unset; if_not_present is missing). */
const char *compose_pull_policy(json_t *svc);

#endif
