/* berth kube deploy: one command from a compose project to pods running on
 * a cluster. The project is loaded as `berth compose config` loads it and
 * converted as `berth kube convert` converts it; the images of its build:
 * services are built as `berth compose build` builds them and pushed to
 * --registry (as `kube convert --push`), where the cluster's nodes pull
 * them from; then the objects are applied as `berth kube apply --wait`
 * applies them (server-side, checked with dryRun=All first), and the
 * rollouts followed.
 *
 * Order, so that a failure costs little and changes nothing: flags, the
 * project and its conversion, the kubeconfig and a first answer from the
 * server (before minutes of building), the builds and pushes, then apply.
 * Every object gets the label app.kubernetes.io/part-of=PROJECT, which
 * --prune uses to remove what a service that left the file had made. */
#include "cli/cli.h"
#include "cli/kube-push.h"
#include "compose/project.h"
#include "kube/apply.h"
#include "kube/client.h"
#include "kube/convert.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_OF "app.kubernetes.io/part-of"

static void label_objects(json_t *objs, const char *project)
{
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		json_t *md = json_object_get(o, "metadata");
		if (!json_is_object(md)) {
			md = json_object();
			json_object_set_new(o, "metadata", md);
		}
		json_t *labels = json_object_get(md, "labels");
		if (!json_is_object(labels)) {
			labels = json_object();
			json_object_set_new(md, "labels", labels);
		}
		json_object_set_new(labels, PART_OF, json_string(project));
	}
}

int cmd_kube_deploy(struct cli *c, int argc, char **argv)
{
	enum { O_PROFILE = 0x100, O_ENVFILE, O_PROJDIR, O_REGISTRY, O_CONTROLLER, O_REPLICAS, O_VOLUMES, O_PVCSIZE,
	       O_WAIT, O_TIMEOUT, O_DRY, O_PRUNE, O_FORCE, O_WAITIMG, O_NOINTERP };
	static const struct option lo[] = {{"file", required_argument, 0, 'f'},
					   {"project-name", required_argument, 0, 'p'},
					   {"profile", required_argument, 0, O_PROFILE},
					   {"env-file", required_argument, 0, O_ENVFILE},
					   {"project-directory", required_argument, 0, O_PROJDIR},
					   {"registry", required_argument, 0, O_REGISTRY},
					   {"controller", required_argument, 0, O_CONTROLLER},
					   {"replicas", required_argument, 0, O_REPLICAS},
					   {"volumes", required_argument, 0, O_VOLUMES},
					   {"pvc-request-size", required_argument, 0, O_PVCSIZE},
					   {"wait-image", required_argument, 0, O_WAITIMG},
					   {"no-interpolate", no_argument, 0, O_NOINTERP},
					   {"wait", optional_argument, 0, O_WAIT},
					   {"timeout", required_argument, 0, O_TIMEOUT},
					   {"dry-run", optional_argument, 0, O_DRY},
					   {"prune", no_argument, 0, O_PRUNE},
					   {"force-conflicts", no_argument, 0, O_FORCE},
					   {"help", no_argument, 0, 'h'},
					   CLI_KUBE_CONN_LONGOPTS,
					   {0}};
	const char **files = calloc((size_t)argc + 1, sizeof(char *)), **profs = calloc((size_t)argc + 1, sizeof(char *)),
		   **envs = calloc((size_t)argc + 1, sizeof(char *));
	struct compose_opts co = {.files = files, .profiles = profs, .env_files = envs};
	struct kube_convert_opts cv = {.controller = KUBE_DEPLOYMENT, .replicas = -1, .pvc_size = "100Mi",
				       .wait_image = "busybox:1.36", .kubectl_image = "registry.k8s.io/kubectl:v1.36.0"};
	struct kube_client_opts ko = {0};
	struct cli_kube_apply ap = {.wait = true, .timeout_ms = 300000};
	const char *registry = NULL;
	struct compose_project *p = NULL;
	json_t *objs = NULL, *warnings = json_array();
	struct kube_client *kc = NULL;
	struct kube_items it = {0};
	struct berr *e = NULL;
	int rc = 1, o;
	char selector[512];
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:p:n:s:h", lo, NULL)) != -1) {
		int k = cli_kube_conn_opt(&ko, o, optarg);
		if (k < 0)
			goto done;
		if (k)
			continue;
		switch (o) {
		case 'f': files[co.nfiles++] = optarg; break;
		case 'p': co.project_name = optarg; break;
		case O_PROFILE: profs[co.nprofiles++] = optarg; break;
		case O_ENVFILE: envs[co.nenv_files++] = optarg; break;
		case O_PROJDIR: co.project_dir = optarg; break;
		case O_NOINTERP: co.no_interpolate = true; break;
		case O_REGISTRY:
			if (!*optarg) {
				fprintf(stderr, "error: --registry must not be empty\n");
				goto done;
			}
			registry = optarg;
			break;
		case O_CONTROLLER:
			if (kube_controller_parse(optarg, &cv.controller, &e) < 0) {
				fprintf(stderr, "error: --controller: %s\n", e->msg);
				goto done;
			}
			break;
		case O_REPLICAS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 100000) {
				fprintf(stderr, "error: invalid --replicas \"%s\": a number of replicas\n", optarg);
				goto done;
			}
			cv.replicas = (int)v;
			break;
		}
		case O_VOLUMES:
			if (kube_volumes_parse(optarg, &cv.volumes, &e) < 0) {
				fprintf(stderr, "error: --volumes: %s\n", e->msg);
				goto done;
			}
			break;
		case O_PVCSIZE:
			if (!kube_quantity_valid(optarg)) {
				fprintf(stderr, "error: invalid --pvc-request-size \"%s\": a quantity such as 100Mi or 1Gi\n",
					optarg);
				goto done;
			}
			cv.pvc_size = optarg;
			break;
		case O_WAITIMG: cv.wait_image = optarg; break;
		case O_WAIT: {
			const char *v = optarg;
			if (v && *v == '=')
				v++;
			if (v && str_parse_gobool(v, &ap.wait) < 0) {
				fprintf(stderr, "error: invalid --wait value \"%s\": true or false\n", v);
				goto done;
			}
			if (!v)
				ap.wait = true;
			break;
		}
		case O_TIMEOUT:
			if (cli_kube_duration("--timeout", optarg, &ap.timeout_ms) < 0)
				goto done;
			break;
		case O_DRY:
			if (!optarg || !strcmp(optarg, "server") || !strcmp(optarg, "true")) {
				ap.dry_run = true;
			} else if (strcmp(optarg, "none") && strcmp(optarg, "false")) {
				fprintf(stderr, "error: invalid --dry-run \"%s\": server or none\n", optarg);
				goto done;
			}
			break;
		case O_PRUNE: ap.prune = true; break;
		case O_FORCE: ap.force = true; break;
		case 'h': rc = cli_help(c); goto done;
		default: cli_usage_error(c, "see --help"); goto done;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "error: unexpected argument \"%s\": compose files go with -f\n", argv[optind]);
		goto done;
	}
	if (compose_load(&co, &p, &e) < 0) {
		fprintf(stderr, "error: %s\n", e->msg);
		goto done;
	}
	for (size_t i = 0; p->warnings && i < json_array_size(p->warnings); i++)
		fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(p->warnings, i)));
	/* every build: service's image goes through the registry the cluster pulls from */
	json_t *svcs = json_object_get(p->doc, "services");
	const char *sname;
	json_t *svc;
	int nbuild = 0;
	json_object_foreach(svcs, sname, svc) {
		if (!json_object_get(svc, "build"))
			continue;
		nbuild++;
		if (!registry && !jsonx_str(svc, "image")) {
			fprintf(stderr, "error: service \"%s\" is built here (build:), and the cluster's nodes pull its image "
					"from a registry: pass --registry HOST[/PREFIX] (e.g. 127.0.0.1:5000 for a local one)\n",
				sname);
			goto done;
		}
	}
	cv.image_registry = registry;
	cv.namespace_ = ko.namespace_;
	cv.project_dir = p->working_dir;
	cv.env = p->env;
	if (kube_convert(p->doc, &cv, &objs, warnings, &e) < 0) {
		fprintf(stderr, "error: %s\n", e->msg);
		goto done;
	}
	for (size_t i = 0; i < json_array_size(warnings); i++)
		fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(warnings, i)));
	label_objects(objs, p->name);
	if (kube_items_from_objects(objs, "compose project", &it, &e) < 0) {
		fprintf(stderr, "error: %s\n", e->msg);
		goto done;
	}
	/* the cluster answers before anything is built */
	if (cli_kube_open(&ko, &kc) < 0)
		goto done;
	char ver[64];
	if (kube_server_version(kc, ver, sizeof ver, &e) < 0) {
		fprintf(stderr, "error: %s\n", e->msg);
		goto done;
	}
	const char *ctx = kube_client_context(kc);
	fprintf(stderr, "Deploying project %s to %s%s%s%s (Kubernetes %s), namespace %s\n", p->name,
		kube_client_server(kc), *ctx ? " (context " : "", ctx, *ctx ? ")" : "", ver, kube_client_namespace(kc));
	if (nbuild && ap.dry_run) {
		fprintf(stderr, "--dry-run: the %d build: service%s %s not built or pushed\n", nbuild, nbuild == 1 ? "" : "s",
			nbuild == 1 ? "is" : "are");
	} else if (nbuild && kube_push_project(c, p, registry, objs) < 0) {
		goto done; /* printed, naming the service */
	}
	if (ap.prune) {
		snprintf(selector, sizeof selector, PART_OF "=%s", p->name);
		ap.selector = selector;
	}
	rc = cli_kube_apply_items(kc, &it, &ap, ko.namespace_ != NULL);
done:
	berr_free(e);
	kube_items_release(&it);
	kube_client_free(kc);
	json_decref(objs);
	json_decref(warnings);
	if (p)
		compose_project_free(p);
	free(files);
	free(profs);
	free(envs);
	return rc;
}
