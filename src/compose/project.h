/* Compose project loading: the contract between the loader (files -> one
 * normalized project) and the engine (project -> containers, networks,
 * volumes). The project is a jansson value shaped exactly like the output of
 * `docker compose config --format json`: every short syntax turned into the
 * long one, paths absolute, variables interpolated, defaults filled in:
 *
 *   { "name": "proj",
 *     "services": { "web": {
 *         "image": "...", "build": {"context": "/abs", "dockerfile": "Dockerfile", "args": {..}},
 *         "command": [..] | null, "entrypoint": [..] | null,
 *         "environment": {"K": "v" | null},
 *         "ports": [{"mode":"ingress","target":80,"published":"8080","protocol":"tcp","host_ip":"..."}],
 *         "volumes": [{"type":"bind|volume|tmpfs","source":"..","target":"..","read_only":bool,
 *                      "bind":{"create_host_path":true}, "volume":{..}, "tmpfs":{"size":..}}],
 *         "networks": {"default": null | {"aliases":[..],"ipv4_address":".."}},
 *         "depends_on": {"db": {"condition":"service_started","required":true,"restart":false}},
 *         "healthcheck": {"test":[..],"interval":"30s",...}, "deploy": {...}, "scale": N, ... } },
 *     "networks": {"default": {"name": "proj_default", ...}},
 *     "volumes":  {"data": {"name": "proj_data", ...}},
 *     "secrets": {..}, "configs": {..} }
 *
 * Services disabled by profiles are left out of "services". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "util/err.h"

struct compose_opts {
	const char **files;      /* -f, in order; "-" is stdin; none: discovery (+ override file) */
	size_t nfiles;
	const char *project_name;  /* -p, or NULL (COMPOSE_PROJECT_NAME, then the directory name) */
	const char *project_dir;   /* --project-directory, or NULL (directory of the first file) */
	const char **env_files;    /* --env-file, repeatable; none: PROJECT_DIR/.env if present */
	size_t nenv_files;
	const char **profiles;     /* --profile, plus COMPOSE_PROFILES */
	size_t nprofiles;
	bool no_interpolate;
	bool no_normalize;         /* keep paths/short syntax as written (config --no-normalize) */
	bool no_path_resolution;   /* relative paths stay relative (config --no-path-resolution) */
	bool no_consistency;       /* no check of references between services, networks, volumes,
				    * secrets and configs (config --no-consistency) */
};

struct compose_project {
	json_t *doc;          /* the normalized project, as above */
	char *name;           /* project name */
	char *working_dir;    /* absolute project directory */
	char **config_files;  /* absolute paths of the files loaded */
	size_t nconfig_files;
	json_t *env;          /* the resolved environment used for interpolation (object) */
	json_t *warnings;     /* array of strings for the CLI to print (unset variables, obsolete keys) */
};

/* Discover, parse, interpolate, merge (extends/include/overrides), validate
 * against the compose schema and normalize. Errors name the file, line and
 * path ("compose.yaml:12: services.web.ports[0]: invalid port \"x\""). */
int compose_load(const struct compose_opts *o, struct compose_project **out, struct berr **err);
void compose_project_free(struct compose_project *p);
