/* berth kube down: remove what kube play made from these files (or, with
 * --all, everything of a namespace): the namespace's supervisor stops,
 * the pods go (gracefully, all at once), then the Services' rules and DNS
 * names, and, when the namespace is left empty, its network and its
 * files. PersistentVolumeClaims' volumes stay unless --volumes. The
 * supervisor is started again for what stays. */
#include "cli/cli.h"
#include "cli/ctr.h"
#include "cli/kube-common.h"
#include "kube/manifest.h"
#include "kube/reconcile.h"
#include "kube/store.h"
#include "kube/supervisor.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "web" of "deployment.apps/web" */
static const char *slash_name(const char *ref)
{
	const char *s = strchr(ref, '/');
	return s ? s + 1 : ref;
}

static int down_ns(struct cli *c, const char *ns, json_t *keys /* NULL: all */, bool volumes, bool quiet)
{
	struct berr *e = NULL;
	struct ctr_store *cs = cli_ctr_store(c);
	struct image_store *is = cli_store(c);
	if (!cs || !is)
		return 1;
	int lfd = kube_store_lock(c->root, ns, &e);
	if (lfd < 0)
		return cli_fail(e);
	json_t *doc = kube_store_objects(c->root, ns, &e);
	if (!doc) {
		close(lfd);
		return cli_fail(e);
	}
	json_t *objs = json_object_get(doc, "objects"), *srcs = json_object_get(doc, "sources");
	json_t *lines = json_array();
	int rc = 0;
	if (keys) {
		size_t i;
		json_t *k;
		json_array_foreach(keys, i, k) {
			const char *key = json_string_value(k);
			json_t *o = json_object_get(objs, key);
			if (!o) {
				const char *slash = strchr(key, '/');
				_cleanup_free_ char *kind = strndup(key, slash - key);
				const char *plural = kube_kind_plural(kind);
				fprintf(stderr, "Error from server (NotFound): %s \"%s\" not found\n", plural ? plural : kind,
					slash + 1);
				rc = 1;
				continue;
			}
			char ref[400];
			kube_ref_string(jsonx_str(o, "kind"), jsonx_str(json_object_get(o, "metadata"), "name"), ref, sizeof(ref));
			json_array_append_new(lines, json_sprintf("%.*s \"%s\" deleted", (int)(slash_name(ref) - ref - 1), ref, slash_name(ref)));
			json_object_del(objs, key);
			json_object_del(srcs, key);
		}
	} else {
		const char *key;
		json_t *o;
		json_object_foreach(objs, key, o) {
			char ref[400];
			kube_ref_string(jsonx_str(o, "kind"), jsonx_str(json_object_get(o, "metadata"), "name"), ref, sizeof(ref));
			json_array_append_new(lines, json_sprintf("%.*s \"%s\" deleted", (int)(slash_name(ref) - ref - 1), ref, slash_name(ref)));
		}
		json_object_clear(objs);
		json_object_clear(srcs);
	}
	bool empty = json_object_size(objs) == 0;
	json_object_set_new(doc, "generation", json_integer(json_integer_value(json_object_get(doc, "generation")) + 1));
	kube_supervisor_stop(c->runroot, ns, 10000);
	if (kube_store_write_objects(c->root, ns, doc, &e) < 0) {
		close(lfd);
		json_decref(doc);
		json_decref(lines);
		return cli_fail(e);
	}
	struct kube_rec r = {.root = c->root, .runroot = c->runroot, .ns = ns, .cs = cs, .is = is, .doc = doc};
	kube_ns_network(ns, r.network, sizeof(r.network));
	if (kube_teardown(&r, empty ? NULL : objs, volumes, &e) < 0 || e) {
		fprintf(stderr, "Error: %s\n", e && e->msg ? e->msg : "teardown failed");
		berr_free(e);
		e = NULL;
		rc = 1;
	}
	kube_rec_release(&r);
	if (empty) {
		kube_store_remove(c->root, ns);
		kube_supervisor_forget(c->runroot, ns);
	}
	close(lfd);
	if (!empty) {
		bool started;
		if (kube_supervisor_ensure(c->root, c->runroot, ns, false, &started, &e) < 0)
			rc = cli_fail(e);
	}
	size_t i;
	json_t *l;
	if (!quiet)
		json_array_foreach(lines, i, l) printf("%s\n", json_string_value(l));
	json_decref(lines);
	json_decref(doc);
	return rc;
}

int cmd_kube_down(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {{"file", required_argument, 0, 'f'},
					   {"namespace", required_argument, 0, 'n'},
					   {"all", no_argument, 0, 'a'},
					   {"volumes", no_argument, 0, 'v'},
					   {"quiet", no_argument, 0, 'q'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char **paths = calloc((size_t)argc + 1, sizeof(char *));
	size_t npaths = 0;
	const char *nsopt = NULL;
	bool all = false, volumes = false, quiet = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:n:avqh", lo, NULL)) != -1) {
		switch (o) {
		case 'f': paths[npaths++] = optarg; break;
		case 'n': nsopt = optarg; break;
		case 'a': all = true; break;
		case 'v': volumes = true; break;
		case 'q': quiet = true; break;
		case 'h': free(paths); return cli_help(c);
		default: free(paths); return cli_usage_error(c, "see --help");
		}
	}
	for (int i = optind; i < argc; i++)
		paths[npaths++] = argv[i];
	int rc = 0;
	if (all) {
		if (npaths) {
			free(paths);
			return cli_usage_error(c, "--all takes no file");
		}
		if (!nsopt) {
			free(paths);
			return cli_usage_error(c, "--all needs --namespace NS");
		}
		rc = down_ns(c, nsopt, NULL, volumes, quiet);
		free(paths);
		return rc;
	}
	if (!npaths) {
		free(paths);
		return cli_usage_error(c, "requires a file, a directory or - (or --namespace NS --all)");
	}
	struct kube_manifests *m = NULL;
	struct berr *e = NULL;
	if (kube_manifests_load(paths, npaths, nsopt, &m, &e) < 0) {
		free(paths);
		return cli_fail(e);
	}
	free(paths);
	/* keys per namespace */
	json_t *byns = json_object();
	size_t i;
	json_t *obj;
	json_array_foreach(m->objects, i, obj) {
		const char *kind = jsonx_str(obj, "kind");
		const json_t *md = json_object_get(obj, "metadata");
		const char *ns = !strcmp(kind, "Namespace") ? jsonx_str(md, "name") : jsonx_str(md, "namespace");
		if (!ns)
			ns = "default";
		json_t *arr = json_object_get(byns, ns);
		if (!arr) {
			arr = json_array();
			json_object_set_new(byns, ns, arr);
		}
		char key[320];
		kube_obj_key(obj, key, sizeof(key));
		json_array_append_new(arr, json_string(key));
	}
	const char *ns;
	json_t *keys;
	json_object_foreach(byns, ns, keys) {
		/* a Namespace object takes its whole namespace with it */
		bool whole = false;
		size_t j;
		json_t *k;
		json_array_foreach(keys, j, k) if (!strncmp(json_string_value(k), "Namespace/", 10)) whole = true;
		if (down_ns(c, ns, whole ? NULL : keys, volumes, quiet))
			rc = 1;
	}
	json_decref(byns);
	kube_manifests_free(m);
	return rc;
}
