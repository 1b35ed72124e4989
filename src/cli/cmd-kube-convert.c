/* berth kube convert: a compose project (loaded exactly as `berth compose
 * config` loads it) as Kubernetes manifests: multi-document YAML or JSON on
 * stdout, one file (-o FILE) or one file per object (-o DIR/). Nothing is
 * written when the conversion fails. */
#include "cli/cli.h"
#include "cli/kube-push.h"
#include "compose/internal.h"
#include "compose/project.h"
#include "kube/chart.h"
#include "kube/convert.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void render(json_t *obj, bool json, struct sbuf *out)
{
	if (json) {
		char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		sbuf_adds(out, s ? s : "{}");
		sbuf_addc(out, '\n');
		free(s);
	} else {
		compose_yaml_emit(obj, out);
	}
}

static const char *lower_kind(const char *kind, char *buf, size_t n)
{
	size_t i = 0;
	for (; kind[i] && i + 1 < n; i++)
		buf[i] = (char)((kind[i] >= 'A' && kind[i] <= 'Z') ? kind[i] + 32 : kind[i]);
	buf[i] = 0;
	return buf;
}

/* -o DIR/: NAME-KIND.yaml per object, written to a temp dir and renamed
 * into place only when all are written */
static int write_dir(const char *dir, json_t *objs, bool json, struct berr **err)
{
	if (fs_mkdir_p(dir, 0755, err) < 0)
		return -1;
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		struct sbuf b = SBUF_INIT;
		render(o, json, &b);
		char kb[64], path[4200];
		snprintf(path, sizeof(path), "%s/%s-%s.%s", dir, jsonx_str(json_object_get(o, "metadata"), "name"),
			 lower_kind(jsonx_str(o, "kind"), kb, sizeof(kb)), json ? "json" : "yaml");
		int r = fs_write_atomic_at(AT_FDCWD, path, b.s ? b.s : "", b.len, 0644, false, err);
		sbuf_release(&b);
		if (r < 0)
			return -1;
	}
	return 0;
}

CMD(kube_convert)
{
	enum { O_PROFILE = 256, O_ENVFILE, O_FORMAT, O_NS, O_CONTROLLER, O_REPLICAS, O_VOLUMES, O_PVCSIZE, O_REGISTRY,
	       O_ANNOT, O_PROJDIR, O_WAITIMG, O_NETPOL, O_KUBECTLIMG, O_PUSH, O_CHART, O_NOINTERP, O_LATER };
	static const struct option lo[] = {
		{"file", required_argument, 0, 'f'},           {"project-name", required_argument, 0, 'p'},
		{"profile", required_argument, 0, O_PROFILE},  {"env-file", required_argument, 0, O_ENVFILE},
		{"project-directory", required_argument, 0, O_PROJDIR},
		{"out", required_argument, 0, 'o'},            {"format", required_argument, 0, O_FORMAT},
		{"namespace", required_argument, 0, O_NS},     {"controller", required_argument, 0, O_CONTROLLER},
		{"replicas", required_argument, 0, O_REPLICAS}, {"volumes", required_argument, 0, O_VOLUMES},
		{"pvc-request-size", required_argument, 0, O_PVCSIZE},
		{"image-registry", required_argument, 0, O_REGISTRY},
		{"with-annotations", optional_argument, 0, O_ANNOT},
		{"wait-image", required_argument, 0, O_WAITIMG},
		{"kubectl-image", required_argument, 0, O_KUBECTLIMG},
		{"no-interpolate", no_argument, 0, O_NOINTERP},
		{"chart", required_argument, 0, O_CHART},     {"push", no_argument, 0, O_PUSH},
		{"network-policies", no_argument, 0, O_NETPOL},
		{"help", no_argument, 0, 'h'},                 {0}};
	const char **files = calloc((size_t)argc + 1, sizeof(char *)), **profs = calloc((size_t)argc + 1, sizeof(char *)),
		   **envs = calloc((size_t)argc + 1, sizeof(char *));
	struct compose_opts co = {.files = files, .profiles = profs, .env_files = envs};
	struct kube_convert_opts ko = {.controller = KUBE_DEPLOYMENT, .replicas = -1, .pvc_size = "100Mi",
				       .wait_image = "busybox:1.36", .kubectl_image = "registry.k8s.io/kubectl:v1.36.0"};
	const char *out = NULL, *chart = NULL;
	char *chart_tmp = NULL; /* the staged chart, until it is renamed into place */
	bool json = false, push = false;
	struct berr *e = NULL;
	int rc = 1, o;
	struct compose_project *p = NULL;
	json_t *objs = NULL, *warnings = json_array();
	optind = 0;
	int li = -1;
	while ((o = getopt_long(argc, argv, "f:p:o:h", lo, &li)) != -1) {
		switch (o) {
		case 'f': files[co.nfiles++] = optarg; break;
		case 'p': co.project_name = optarg; break;
		case O_PROFILE: profs[co.nprofiles++] = optarg; break;
		case O_ENVFILE: envs[co.nenv_files++] = optarg; break;
		case O_PROJDIR: co.project_dir = optarg; break;
		case 'o': out = optarg; break;
		case O_FORMAT:
			if (strcmp(optarg, "yaml") && strcmp(optarg, "json")) {
				fprintf(stderr, "Error: --format %s: use yaml or json\n", optarg);
				goto done;
			}
			json = !strcmp(optarg, "json");
			break;
		case O_NS: ko.namespace_ = optarg; break;
		case O_CONTROLLER:
			if (kube_controller_parse(optarg, &ko.controller, &e) < 0) {
				berr_wrap(&e, "--controller");
				cli_fail(e);
				goto done;
			}
			break;
		case O_REPLICAS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 100000) {
				fprintf(stderr, "Error: --replicas %s: not a number of replicas\n", optarg);
				goto done;
			}
			ko.replicas = (int)v;
			break;
		}
		case O_VOLUMES:
			if (kube_volumes_parse(optarg, &ko.volumes, &e) < 0) {
				berr_wrap(&e, "--volumes");
				cli_fail(e);
				goto done;
			}
			break;
		case O_PVCSIZE:
			if (!kube_quantity_valid(optarg)) {
				fprintf(stderr, "Error: --pvc-request-size %s: not a Kubernetes quantity (e.g. 100Mi, 1Gi)\n", optarg);
				goto done;
			}
			ko.pvc_size = optarg;
			break;
		case O_REGISTRY: ko.image_registry = optarg; break;
		case O_PUSH: push = true; break;
		case O_ANNOT:
			/* berth writes no kompose.cmd/version annotations: false is what it does */
			if (optarg && strcmp(optarg, "false")) {
				fprintf(stderr, "Error: --with-annotations=%s: berth writes no tool annotations; only false is accepted\n", optarg);
				goto done;
			}
			break;
		case O_WAITIMG: ko.wait_image = optarg; break;
		case O_CHART: chart = optarg; break;
		case O_NETPOL: ko.network_policies = true; break;
		case O_KUBECTLIMG: ko.kubectl_image = optarg; break;
		case O_NOINTERP: co.no_interpolate = true; break;
		case O_LATER:
			fprintf(stderr, "Error: --%s is not available in this version of berth yet\n", li >= 0 ? lo[li].name : "?");
			goto done;
		case 'h': rc = cli_help(c); goto done;
		default: cli_usage_error(c, "got an unknown flag."); goto done;
		}
	}
	if (optind != argc) {
		cli_usage_error(c, "accepts no arguments.");
		goto done;
	}
	/* a chart dir that cannot be written is refused before anything is */
	if (chart && kube_chart_check_target(chart, &e) < 0) {
		berr_wrap(&e, "--chart %s", chart);
		cli_fail(e);
		goto done;
	}
	if (push && (!ko.image_registry || !*ko.image_registry)) {
		fprintf(stderr, "Error: --push needs --image-registry HOST[/PREFIX]: the registry the build: services are pushed to\n");
		goto done;
	}
	if (compose_load(&co, &p, &e) < 0) {
		cli_fail(e);
		goto done;
	}
	for (size_t i = 0; p->warnings && i < json_array_size(p->warnings); i++)
		fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(p->warnings, i)));
	ko.project_dir = p->working_dir;
	ko.env = p->env;
	if (kube_convert(p->doc, &ko, &objs, warnings, &e) < 0) {
		cli_fail(e);
		goto done;
	}
	for (size_t i = 0; i < json_array_size(warnings); i++)
		fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(warnings, i)));
	/* build and push before anything is written: a failure leaves -o alone */
	if (push && kube_push_project(c, p, ko.image_registry, objs) < 0)
		goto done;
	/* the chart is staged before -o is written and renamed into place after */
	if (chart) {
		struct kube_chart_opts cho = {.name = p->name, .namespace_ = ko.namespace_};
		json_t *cfiles = NULL;
		int r = kube_chart_render(objs, &cho, &cfiles, &e);
		if (r == 0)
			r = kube_chart_stage(chart, cfiles, &chart_tmp, &e);
		json_decref(cfiles);
		if (r < 0) {
			berr_wrap(&e, "--chart %s", chart);
			cli_fail(e);
			goto done;
		}
	}
	struct stat ost;
	/* -o DIR/ or an existing directory: a file per object */
	if (out && *out && (out[strlen(out) - 1] == '/' || (stat(out, &ost) == 0 && S_ISDIR(ost.st_mode)))) {
		if (write_dir(out, objs, json, &e) < 0) {
			berr_wrap(&e, "-o %s", out);
			cli_fail(e);
			goto done;
		}
	} else if (out || !chart) {
		struct sbuf b = SBUF_INIT;
		size_t i;
		json_t *ob;
		if (json) {
			json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", objs);
			render(list, true, &b);
			json_decref(list);
		} else {
			json_array_foreach(objs, i, ob) {
				if (i)
					sbuf_adds(&b, "---\n");
				render(ob, false, &b);
			}
		}
		int r = 0;
		if (out && strcmp(out, "-")) {
			/* its directory is made, as Kompose makes it */
			_cleanup_free_ char *dir = strdup(out);
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = 0;
				r = fs_mkdir_p(dir, 0755, &e);
			}
			if (r == 0)
				r = fs_write_atomic_at(AT_FDCWD, out, b.s ? b.s : "", b.len, 0644, false, &e);
			if (r < 0)
				berr_wrap(&e, "-o %s", out);
		}
		else
			r = fs_write_full(1, b.s ? b.s : "", b.len);
		sbuf_release(&b);
		if (r < 0) {
			if (e)
				cli_fail(e);
			goto done;
		}
	}
	if (chart) {
		int r = kube_chart_commit(chart_tmp, chart, &e);
		free(steal_pointer(&chart_tmp));
		if (r < 0) {
			berr_wrap(&e, "--chart %s", chart);
			cli_fail(e);
			goto done;
		}
	}
	rc = 0;
done:
	if (chart_tmp) {
		kube_chart_discard(chart_tmp);
		free(chart_tmp);
	}
	json_decref(objs);
	json_decref(warnings);
	if (p)
		compose_project_free(p);
	free(files);
	free(profs);
	free(envs);
	return rc;
}
