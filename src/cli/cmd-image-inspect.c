#include "cli/cli.h"
#include "cli/ctr.h"
#include "image/reference.h"
#include "net/network.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Docker's NetworkSettings and HostConfig.NetworkMode/PortBindings of a
 * container inspect object. */
static void ctr_net_fill(struct cli *c, struct ctr_store *cs, const char *id, json_t *obj)
{
	_cleanup_json_ json_t *cfg = ctr_config(cs, id, NULL);
	if (!cfg)
		return;
	json_t *state = json_object_get(obj, "State");
	bool running = json_is_true(json_object_get(state, "Running"));
	int pid = (int)json_integer_value(json_object_get(state, "Pid"));
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/containers/%s", c->root, id);
	json_t *nets = net_ctr_settings(c->root, c->runroot, cfg, id, dir, running);
	/* Ports: the actual bindings, exposed-only ports as null (while running) */
	json_t *ports = json_object();
	if (running) {
		json_t *exposed = json_object_get(json_object_get(cfg, "Config"), "ExposedPorts");
		const char *k;
		json_t *v;
		json_object_foreach(exposed, k, v)
			json_object_set_new(ports, k, json_null());
		_cleanup_json_ json_t *actual = net_ctr_ports(c->root, c->runroot, id);
		json_object_update(ports, actual);
	}
	char sandbox[64] = "";
	if (running && pid > 0)
		snprintf(sandbox, sizeof(sandbox), "/proc/%d/ns/net", pid);
	/* Docker repeats the first network's address at the top level */
	json_t *first = NULL;
	const char *nk;
	json_t *nv;
	json_object_foreach(nets, nk, nv) {
		if (!first)
			first = nv;
	}
	json_t *ns = json_pack("{s:s, s:s, s:b, s:o, s:s, s:n, s:n, s:n, s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:o}",
			       "Bridge", "", "SandboxID", running ? id : "", "HairpinMode", 0, "Ports", ports, "SandboxKey",
			       sandbox, "LinkLocalIPv6Address", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
			       "EndpointID", first ? (jsonx_str(first, "EndpointID") ?: "") : "", "LinkLocalIPv6PrefixLen", 0,
			       "Gateway", first ? (jsonx_str(first, "Gateway") ?: "") : "", "IPAddress",
			       first ? (jsonx_str(first, "IPAddress") ?: "") : "", "IPPrefixLen",
			       first ? (int)json_integer_value(json_object_get(first, "IPPrefixLen")) : 0, "MacAddress",
			       first ? (jsonx_str(first, "MacAddress") ?: "") : "", "GlobalIPv6Address", "", "Networks",
			       nets);
	json_object_set_new(obj, "NetworkSettings", ns);
	json_t *hc = json_object_get(obj, "HostConfig");
	if (json_is_object(hc)) {
		if (!json_object_get(hc, "PortBindings"))
			json_object_set_new(hc, "PortBindings", json_object());
		if (!jsonx_str(hc, "NetworkMode"))
			json_object_set_new(hc, "NetworkMode", json_string("default"));
	}
}

/* Docker's container-config shape, filled from the image config. */
static json_t *docker_config(json_t *cfg)
{
	json_t *out = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s, s:n, s:n, s:n}",
				"Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout", 0,
				"AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd", "Image", "",
				"Volumes", "WorkingDir", "", "Entrypoint", "OnBuild", "Labels");
	const char *k;
	json_t *v;
	json_object_foreach(cfg, k, v) json_object_set(out, k, v);
	return out;
}

static json_t *inspect_one(struct image_store *s, json_t *idx, const char *id, struct berr **err)
{
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	_cleanup_free_ char *raw = NULL;
	size_t len;
	if (image_store_get_blob(s, id, &raw, &len, err) < 0)
		return NULL;
	_cleanup_json_ json_t *cfg = jsonx_parse(raw, len, "image config", err);
	if (!cfg)
		return NULL;
	json_t *tags = json_array();
	_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r) {
		_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(r));
		json_array_append_new(tags, json_string(fam));
	}
	json_t *digests = json_array();
	json_array_foreach(json_object_get(rec, "repo_digests"), i, r) {
		_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(r));
		json_array_append_new(digests, json_string(fam));
	}
	const char *comment = jsonx_str(cfg, "comment");
	json_t *hist = json_object_get(cfg, "history");
	if (!comment && json_array_size(hist))
		comment = jsonx_str(json_array_get(hist, json_array_size(hist) - 1), "comment");
	struct sbuf lower = SBUF_INIT;
	json_t *layers = json_object_get(rec, "layers");
	for (size_t j = json_array_size(layers); j-- > 0;) {
		const char *d = json_string_value(json_array_get(layers, j));
		if (lower.len)
			sbuf_addc(&lower, ':');
		sbuf_addf(&lower, "%s/layers/%s/diff", s->root, d + 7);
	}
	const char *tagged = jsonx_str(rec, "tagged");
	json_t *out = json_pack(
		"{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:{s:{s:s}, s:s}, s:{s:s, s:O}, s:{s:s}}",
		"Id", id, "RepoTags", tags, "RepoDigests", digests, "Parent", "", "Comment", comment ? comment : "",
		"Created", jsonx_str(cfg, "created") ? jsonx_str(cfg, "created") : "",
		"DockerVersion", jsonx_str(cfg, "docker_version") ? jsonx_str(cfg, "docker_version") : "",
		"Author", jsonx_str(cfg, "author") ? jsonx_str(cfg, "author") : "",
		"Config", docker_config(json_object_get(cfg, "config")),
		"Architecture", jsonx_str(cfg, "architecture") ? jsonx_str(cfg, "architecture") : "",
		"Os", jsonx_str(cfg, "os") ? jsonx_str(cfg, "os") : "",
		"Size", json_integer_value(json_object_get(rec, "size")),
		"GraphDriver", "Data", "LowerDir", sbuf_str(&lower), "Name", "overlay",
		"RootFS", "Type", "layers", "Layers", layers,
		"Metadata", "LastTagTime", tagged ? tagged : "0001-01-01T00:00:00Z");
	sbuf_release(&lower);
	if (jsonx_str(cfg, "variant"))
		json_object_set(out, "Variant", json_object_get(cfg, "variant"));
	return out;
}

CMD(image_inspect)
{
	static const struct option lo[] = {{"format", required_argument, 0, 'f'},
					   {"type", required_argument, 0, 'T'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *format = NULL;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:h", lo, NULL)) != -1) {
		switch (o) {
		case 'f':
			format = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "image")) {
				berr_setc(&e, BERR_INVALID, "--type \"%s\": only \"image\" is known in this version", optarg);
				return cli_fail(e);
			}
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct tmpl *t = NULL;
	if (format && tmpl_parse(format, &t, &e) < 0)
		return cli_fail(e);
	struct image_store *s = cli_store(c);
	if (!s) {
		tmpl_free(t);
		return 1;
	}
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	if (!idx) {
		tmpl_free(t);
		return cli_fail(e);
	}
	_cleanup_json_ json_t *out = json_array();
	int rc = 0;
	/* `inspect` looks for a container first, then an image, like Docker */
	bool containers = !strcmp(c->cmd, "inspect") || !strcmp(c->cmd, "container inspect");
	bool images = strcmp(c->cmd, "container inspect") != 0;
	struct ctr_store *cs = containers ? cli_ctr_store(c) : NULL;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *id = NULL;
		json_t *obj = NULL;
		char cid[65];
		struct berr *ce = NULL;
		if (cs && ctr_resolve(cs, argv[i], cid, &ce) == 0) {
			obj = ctr_inspect_json(cs, cid, &ce);
			if (obj)
				ctr_net_fill(c, cs, cid, obj);
		} else if (!images) {
			fprintf(stderr, "Error: No such container: %s\n", argv[i]);
			berr_free(ce);
			rc = 1;
			continue;
		}
		berr_free(ce);
		if (!obj && (image_store_resolve(idx, argv[i], &id, NULL, &e) < 0 || !(obj = inspect_one(s, idx, id, &e)))) {
			if (containers && e && e->code == BERR_NOT_FOUND) {
				fprintf(stderr, "Error: No such object: %s\n", argv[i]);
				berr_freep(&e);
				rc = 1;
				continue;
			}
			if (e && e->code == BERR_NOT_FOUND) {
				fprintf(stderr, "Error: No such image: %s\n", argv[i]);
				berr_freep(&e);
				rc = 1;
			} else {
				rc = cli_fail(e);
				e = NULL;
			}
			continue;
		}
		if (t) {
			struct sbuf line = SBUF_INIT;
			if (tmpl_render(t, obj, &line, &e) < 0) {
				json_decref(obj);
				sbuf_release(&line);
				tmpl_free(t);
				return cli_fail(e);
			}
			printf("%s\n", sbuf_str(&line));
			sbuf_release(&line);
			json_decref(obj);
		} else {
			json_array_append_new(out, obj);
		}
	}
	if (!t) {
		char *js = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", js);
		free(js);
	}
	tmpl_free(t);
	return rc;
}
