/* The compose engine: converge a loaded project (project.h) onto berth's
 * containers, networks and volumes. There is no compose database: every
 * object carries docker compose's labels and is found again by them, so
 * `berth ps`, `network ls` and `volume ls` show compose's objects too.
 *
 *   containers  PROJECT-SERVICE-N (or container_name), labels
 *               com.docker.compose.{project,service,container-number,oneoff,
 *               config-hash,project.working_dir,project.config_files,
 *               version,depends_on,image}
 *   networks    PROJECT_NAME (or networks.X.name), labels .project, .network
 *   volumes     PROJECT_NAME (or volumes.X.name), labels .project, .volume
 *
 * Library code: progress and warnings go through the callbacks, never to
 * stdout/stderr directly. */
#ifndef BERTH_COMPOSE_ENGINE_H
#define BERTH_COMPOSE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compose/project.h"
#include "image/store.h"
#include "runtime/container.h"
#include "util/err.h"

#define CL_PROJECT "com.docker.compose.project"
#define CL_SERVICE "com.docker.compose.service"
#define CL_NUMBER "com.docker.compose.container-number"
#define CL_ONEOFF "com.docker.compose.oneoff"
#define CL_HASH "com.docker.compose.config-hash"
#define CL_WORKDIR "com.docker.compose.project.working_dir"
#define CL_FILES "com.docker.compose.project.config_files"
#define CL_VERSION "com.docker.compose.version"
#define CL_DEPENDS "com.docker.compose.depends_on"
#define CL_IMAGE "com.docker.compose.image"
#define CL_NETWORK "com.docker.compose.network"
#define CL_VOLUME "com.docker.compose.volume"
#define COMPOSE_VERSION "2.24.0"

struct compose_events {
	/* kind "Container" | "Network" | "Volume"; status "Creating", "Created",
	 * "Started", "Error"... called from worker processes too (one call is
	 * one line: write it with a single write). */
	void (*progress)(void *ud, const char *kind, const char *name, const char *status);
	void (*warn)(void *ud, const char *msg);
	void *ud;
};

struct compose_engine {
	struct compose_project *p;
	struct ctr_store *cs;
	struct image_store *is;
	const char *root, *runroot;
	struct compose_events ev;
};

/* One container of the project as found by its labels. */
struct compose_ctr {
	char id[65];
	char *name;    /* without the leading '/' */
	char *service;
	int number;
	bool oneoff;
	json_t *config; /* config.json */
	json_t *state;  /* state.json (corrected) */
};
struct compose_ctrs {
	struct compose_ctr *v;
	size_t n;
};
/* The containers labelled with project `name` (oneoff ones only with
 * oneoff), sorted by service then number. */
int compose_list_containers(struct ctr_store *cs, const char *project, bool oneoff, struct compose_ctrs *ret,
			    struct berr **err);
void compose_ctrs_release(struct compose_ctrs *c);
/* Project names found on containers: {"name": {"running": n, "total": n,
 * "files": "..."}}. */
json_t *compose_list_projects(struct ctr_store *cs);

/* ---- the service model ---- */

/* The service hash: sha256 of the canonical JSON of the service without
 * build, pull_policy, scale and deploy.replicas (scaling never recreates). */
void compose_service_hash(json_t *service, char out[65]);
/* The most replicas of one service berth creates (each is a container,
 * a monitor process, an address). */
#define COMPOSE_MAX_REPLICAS 10000
/* Replicas wanted: scale, else deploy.replicas, else 1. */
int compose_service_replicas(json_t *service);
/* Names. The caller frees. */
char *compose_container_name(const struct compose_project *p, const char *service, json_t *svc, int number);
/* Build Docker's create request for one replica (labels included). The
 * warnings about options berth parses but does not apply are appended to
 * warnings (strings). */
int compose_service_request(const struct compose_project *p, const char *service, int number, const char *hash,
			    json_t *warnings, json_t **ret_req, struct berr **err);

/* Order services by depends_on: an array of arrays (waves) of service
 * names; a cycle is BERR_INVALID naming the services in it; a dependency
 * on an unknown service is an error unless required: false. */
int compose_graph_waves(json_t *services, json_t **ret_waves, struct berr **err);
/* The selected services plus, transitively, their dependencies (unless
 * no_deps). Unknown names: BERR_INVALID "no such service: NAME". Returns a
 * sorted array of names. */
int compose_select(json_t *services, char **names, size_t n, bool no_deps, json_t **ret, struct berr **err);

/* The selected services plus, transitively, the services that depend on
 * them with restart: true (what `compose restart` restarts with them), as
 * an array of names. */
json_t *compose_select_dependents(json_t *services, json_t *sel);

/* ---- operations ---- */

struct compose_up_opts {
	json_t *services;   /* names to bring up (compose_select result) */
	json_t *scale;      /* {"svc": N} overrides */
	bool force_recreate, no_recreate, remove_orphans, no_start, always_recreate_deps;
	bool wait;          /* wait for running/healthy */
	int wait_timeout;   /* seconds, 0 = none */
	int timeout;        /* stop timeout for recreation, -1 = the container's */
};
int compose_up(struct compose_engine *e, const struct compose_up_opts *o, struct berr **err);

/* Containers of services no longer in the project: stopped and removed
 * with remove, else named in docker compose's warning (what up does, for
 * run without dependencies to bring up). */
int compose_orphans(struct compose_engine *e, bool remove, int timeout, struct berr **err);

struct compose_down_opts {
	bool volumes, remove_orphans;
	const char *rmi;   /* NULL, "all", "local" */
	int timeout;
};
int compose_down(struct compose_engine *e, const struct compose_down_opts *o, struct berr **err);

/* Containers of the given services (all when services is NULL). */
int compose_select_ctrs(struct compose_engine *e, json_t *services, bool oneoff, struct compose_ctrs *ret,
			struct berr **err);

/* The network a service's containers join first (eth0, published ports):
 * the highest priority, then the first name; "default" without networks. */
const char *compose_primary_network(json_t *svc);
/* Join a created container of service to the service's other networks
 * (after the primary one of its create request), with the service name
 * and the network's aliases when aliases is set. */
int compose_connect_networks(struct compose_engine *e, const char *service, const char *id, bool aliases,
			     struct berr **err);
/* extra_hosts HOST:host-gateway in a create request: the gateway of its
 * network (the host's side of the bridge). */
int compose_resolve_host_gateway(struct compose_engine *e, json_t *req, struct berr **err);
/* Create what the services need before their containers: networks and
 * named volumes (external ones must exist). */
int compose_ensure_resources(struct compose_engine *e, json_t *services, struct berr **err);

/* Wait until the depends_on conditions of service hold for the
 * dependencies that exist (service_started, service_healthy,
 * service_completed_successfully); timeout in seconds (0: none). */
int compose_wait_deps(struct compose_engine *e, const char *service, int timeout, struct berr **err);

/* ---- one-off containers (compose run) ---- */
struct compose_run_opts {
	const char *service;
	json_t *command;        /* array; NULL or empty: the service's */
	const char *entrypoint; /* NULL: the service's; else split into words */
	json_t *env;            /* array of "K=V" or "K" (from the environment) */
	json_t *labels;         /* array of "K=V" */
	const char *user, *workdir, *name;
	json_t *volumes;        /* array of "SRC:DST[:MODE]" or "DST" */
	json_t *ports;          /* array of -p specs */
	bool service_ports, use_aliases, rm, tty, interactive;
};
/* Create the one-off container PROJECT-SERVICE-run-<12 hex> (or name),
 * labelled oneoff=True, on the service's networks (aliases only with
 * use_aliases), its published ports only with service_ports, no restart
 * policy. Networks and volumes are created as needed. ret_name: caller
 * frees. */
int compose_run_create(struct compose_engine *e, const struct compose_run_opts *o, char ret_id[65], char **ret_name,
		       struct berr **err);

/* The image a service runs (image:, or PROJECT-SERVICE for build:). */
char *compose_service_image(const struct compose_project *p, const char *service, json_t *svc);

#endif
