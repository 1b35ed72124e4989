/* berth kube generate: Kubernetes manifests for containers or compose
 * projects, as `podman kube generate` writes them for containers. This
 * file gathers each container's inspect object (with its networks), its
 * image's config and its volumes; src/kube/generate.c maps them. Output:
 * multi-document YAML (or a JSON List) on stdout or in -f FILE, which is
 * replaced atomically and left alone when anything fails. */
#include "cli/cli.h"
#include "cli/ctr.h"
#include "compose/engine.h"
#include "compose/internal.h"
#include "image/reference.h"
#include "kube/generate.h"
#include "net/network.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* podman's exit status for its errors; docker run's too */
#define GEN_FAIL 125

struct gen_set {
	struct kube_gen_ctr *v;
	char **refs, **projects;
	size_t n, cap;
	json_t *volumes;
};

static void gen_set_release(struct gen_set *g)
{
	for (size_t i = 0; i < g->n; i++) {
		json_decref(g->v[i].inspect);
		json_decref(g->v[i].image_config);
		free(g->refs[i]);
		free(g->projects[i]);
	}
	free(g->v);
	free(g->refs);
	free(g->projects);
	json_decref(g->volumes);
}

/* The image's config and a name for it (its first tag), when the image is
 * still in the store. */
static void image_facts(struct image_store *is, json_t *idx, const char *id, json_t **ret_cfg, char **ret_ref)
{
	*ret_cfg = NULL;
	*ret_ref = NULL;
	if (!is || !id || !*id)
		return;
	_cleanup_free_ char *raw = NULL;
	size_t len;
	struct berr *e = NULL;
	if (image_store_get_blob(is, id, &raw, &len, &e) == 0) {
		_cleanup_json_ json_t *cfg = jsonx_parse(raw, len, "image config", &e);
		if (cfg)
			*ret_cfg = json_incref(json_object_get(cfg, "config"));
	}
	berr_free(e);
	_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
	if (json_array_size(refs))
		*ret_ref = image_ref_familiarize(json_string_value(json_array_get(refs, 0)));
}

static int add_ctr(struct cli *c, struct ctr_store *cs, struct image_store *is, json_t *idx, struct gen_set *g,
		   const char *id, const char *project, struct berr **err)
{
	json_t *ins = ctr_inspect_json(cs, id, err);
	if (!ins)
		return -1;
	_cleanup_json_ json_t *cfg = ctr_config(cs, id, NULL);
	if (cfg) {
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/containers/%s", c->root, id);
		bool running = json_is_true(json_object_get(json_object_get(ins, "State"), "Running"));
		json_t *nets = net_ctr_settings(c->root, c->runroot, cfg, id, dir, running);
		if (nets)
			json_object_set_new(ins, "NetworkSettings", json_pack("{s:o}", "Networks", nets));
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->v = realloc(g->v, g->cap * sizeof(*g->v));
		g->refs = realloc(g->refs, g->cap * sizeof(*g->refs));
		g->projects = realloc(g->projects, g->cap * sizeof(*g->projects));
	}
	json_t *icfg;
	char *ref;
	image_facts(is, idx, jsonx_str(ins, "Image"), &icfg, &ref);
	g->refs[g->n] = ref;
	g->projects[g->n] = project ? strdup(project) : NULL;
	g->v[g->n] = (struct kube_gen_ctr){.inspect = ins, .image_config = icfg, .image_ref = ref,
					   .project = g->projects[g->n]};
	g->n++;
	/* the volumes' labels say which compose volume each one is */
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(ins, "Mounts"), i, m) {
		const char *name = jsonx_str(m, "Name");
		if (!name || strcmp(jsonx_str(m, "Type") ?: "", "volume") || json_object_get(g->volumes, name))
			continue;
		struct berr *ve = NULL;
		json_t *vi = volume_inspect(c->root, name, &ve);
		berr_free(ve);
		if (vi)
			json_object_set_new(g->volumes, name, vi);
	}
	return 0;
}

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

CMD(kube_generate)
{
	enum { O_TYPE = 256, O_REPLICAS, O_NS, O_FORMAT, O_WAITIMG };
	static const struct option lo[] = {
		{"filename", required_argument, 0, 'f'}, {"service", no_argument, 0, 's'},
		{"type", required_argument, 0, O_TYPE},  {"replicas", required_argument, 0, O_REPLICAS},
		{"namespace", required_argument, 0, O_NS}, {"format", required_argument, 0, O_FORMAT},
		{"wait-image", required_argument, 0, O_WAITIMG},
		{"help", no_argument, 0, 'h'},           {0}};
	struct kube_generate_opts ko = {.type = KUBE_GEN_POD, .replicas = -1, .wait_image = "busybox:1.36"};
	const char *out = NULL;
	bool json = false, type_given = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:sh", lo, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (!*optarg) {
				fprintf(stderr, "Error: -f: the file name is empty\n");
				return GEN_FAIL;
			}
			out = optarg;
			break;
		case 's': ko.services = true; break;
		case O_TYPE:
			if (kube_gen_type_parse(optarg, &ko.type, &e) < 0) {
				berr_wrap(&e, "--type");
				cli_fail(e);
				return GEN_FAIL;
			}
			type_given = true;
			break;
		case O_REPLICAS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 100000) {
				fprintf(stderr, "Error: --replicas %s: not a number of replicas\n", optarg);
				return GEN_FAIL;
			}
			ko.replicas = (int)v;
			break;
		}
		case O_NS: ko.namespace_ = optarg; break;
		case O_FORMAT:
			if (strcmp(optarg, "yaml") && strcmp(optarg, "json")) {
				fprintf(stderr, "Error: --format %s: use yaml or json\n", optarg);
				return GEN_FAIL;
			}
			json = !strcmp(optarg, "json");
			break;
		case O_WAITIMG: ko.wait_image = optarg; break;
		case 'h': return cli_help(c);
		default: cli_usage_error(c, "got an unknown flag."); return GEN_FAIL;
		}
	}
	if (ko.replicas >= 0 && ko.type != KUBE_GEN_DEPLOYMENT && ko.type != KUBE_GEN_STATEFULSET) {
		fprintf(stderr, "Error: --replicas is for --type deployment or statefulset%s\n",
			type_given ? "" : " (the default type is pod)");
		return GEN_FAIL;
	}
	if (optind >= argc) {
		cli_usage_error(c, "requires at least 1 argument (a container or a compose project).");
		return GEN_FAIL;
	}
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return GEN_FAIL;
	/* an image store that cannot be read only costs the image diff */
	struct image_store *is = cli_store(c);
	_cleanup_json_ json_t *idx = is ? image_store_index_read(is, &e) : NULL;
	berr_freep(&e);
	struct gen_set g = {.volumes = json_object()};
	json_t *objs = NULL, *warnings = json_array();
	int rc = GEN_FAIL;
	for (int i = optind; i < argc; i++) {
		char cid[65];
		if (ctr_resolve(cs, argv[i], cid, &e) == 0) {
			if (add_ctr(c, cs, is, idx, &g, cid, NULL, &e) < 0) {
				berr_wrap(&e, "container %s", argv[i]);
				cli_fail(e);
				goto done;
			}
			continue;
		}
		berr_freep(&e);
		struct compose_ctrs pc = {0};
		if (compose_list_containers(cs, argv[i], false, &pc, &e) < 0) {
			cli_fail(e);
			goto done;
		}
		if (!pc.n) {
			compose_ctrs_release(&pc);
			fprintf(stderr, "Error: no such container or compose project: %s\n", argv[i]);
			goto done;
		}
		for (size_t k = 0; k < pc.n; k++) {
			if (add_ctr(c, cs, is, idx, &g, pc.v[k].id, argv[i], &e) < 0) {
				berr_wrap(&e, "project %s: container %s", argv[i], pc.v[k].name);
				compose_ctrs_release(&pc);
				cli_fail(e);
				goto done;
			}
		}
		compose_ctrs_release(&pc);
	}
	if (kube_generate(g.v, g.n, g.volumes, &ko, &objs, warnings, &e) < 0) {
		for (size_t i = 0; i < json_array_size(warnings); i++)
			fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(warnings, i)));
		cli_fail(e);
		goto done;
	}
	for (size_t i = 0; i < json_array_size(warnings); i++)
		fprintf(stderr, "WARN %s\n", json_string_value(json_array_get(warnings, i)));
	struct sbuf b = SBUF_INIT;
	if (json) {
		json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", objs);
		render(list, true, &b);
		json_decref(list);
	} else {
		size_t i;
		json_t *ob;
		json_array_foreach(objs, i, ob) {
			if (i)
				sbuf_adds(&b, "---\n");
			render(ob, false, &b);
		}
	}
	int r;
	if (out && strcmp(out, "-")) {
		r = fs_write_atomic_at(AT_FDCWD, out, b.s ? b.s : "", b.len, 0644, false, &e);
		if (r < 0)
			berr_wrap(&e, "-f %s", out);
	} else {
		r = fs_write_full(1, b.s ? b.s : "", b.len);
		if (r < 0)
			berr_set(&e, errno, "writing the manifests to stdout");
	}
	sbuf_release(&b);
	if (r < 0) {
		cli_fail(e);
		goto done;
	}
	rc = 0;
done:
	json_decref(objs);
	json_decref(warnings);
	gen_set_release(&g);
	return rc;
}
