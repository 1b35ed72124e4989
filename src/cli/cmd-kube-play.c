/* berth kube play: Kubernetes manifests run on this machine as a one-node
 * cluster would run them. The command checks everything it can before it
 * changes anything (YAML, fields, references between objects, images,
 * host ports), records the desired objects per namespace (kube/store.h)
 * and hands them to the namespace's supervisor (kube/supervisor.h), which
 * makes the pods and keeps them. --wait follows until every pod is Ready.
 * Running it again with the same files changes nothing. */
#include "cli/cli.h"
#include "kube/manifest.h"
#include "kube/reconcile.h"
#include "kube/store.h"
#include "kube/supervisor.h"
#include "cli/ctr.h"
#include "cli/kube-common.h"
#include "image/reference.h"
#include "net/network.h"
#include "net/svc.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The pod template of a workload, or the Pod itself. */
static const json_t *pod_spec_of(const json_t *obj)
{
	const char *kind = jsonx_str(obj, "kind");
	const json_t *spec = json_object_get(obj, "spec");
	if (!kind || !spec)
		return NULL;
	if (!strcmp(kind, "Pod"))
		return spec;
	if (!strcmp(kind, "CronJob"))
		return NULL; /* not run here: its image is not needed */
	return json_object_get(json_object_get(spec, "template"), "spec");
}

static bool image_present(struct image_store *is, const char *image)
{
	struct berr *e = NULL;
	_cleanup_json_ json_t *idx = image_store_index_read(is, &e);
	_cleanup_free_ char *id = NULL;
	bool ok = idx && image_store_resolve(idx, image, &id, NULL, &e) == 0;
	berr_free(e);
	return ok;
}

/* --build: a directory named after the image (its last path component,
 * without the tag) beside the manifest, holding a Dockerfile or a
 * Containerfile, as podman kube play --build does. */
static int build_image(struct cli *c, const char *image, const char *manifest_dir, bool *ret_built)
{
	*ret_built = false;
	_cleanup_free_ char *base = strdup(image);
	char *slash = strrchr(base, '/');
	char *name = slash ? slash + 1 : base;
	char *colon = strchr(name, ':');
	if (colon)
		*colon = 0;
	char *at = strchr(name, '@');
	if (at)
		*at = 0;
	char dir[PATH_MAX], df[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/%s", manifest_dir, name);
	snprintf(df, sizeof(df), "%s/Dockerfile", dir);
	struct stat st;
	if (stat(df, &st) < 0) {
		snprintf(df, sizeof(df), "%s/Containerfile", dir);
		if (stat(df, &st) < 0)
			return 0;
	}
	char *argv[] = {"build", "-t", (char *)image, "-f", df, dir, NULL};
	const char *cmd = c->cmd;
	c->cmd = "build";
	optind = 0;
	int r = cmd_build(c, 6, argv);
	c->cmd = cmd;
	if (r != 0) {
		fprintf(stderr, "Error: --build: building %s from %s failed\n", image, dir);
		return -1;
	}
	*ret_built = true;
	return 0;
}

/* Every image the changed objects need, present before anything starts. */
static int ensure_images(struct cli *c, json_t *objs, bool build, json_t *dirs)
{
	struct image_store *is = cli_store(c);
	if (!is)
		return -1;
	json_t *seen = json_object();
	int rc = 0;
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		const json_t *ps = pod_spec_of(o);
		static const char *lists[] = {"initContainers", "containers"};
		for (int l = 0; l < 2 && ps && rc == 0; l++) {
			size_t j;
			json_t *ctr;
			json_array_foreach(json_object_get(ps, lists[l]), j, ctr) {
				const char *img = jsonx_str(ctr, "image");
				const char *pol = jsonx_str(ctr, "imagePullPolicy");
				if (!img || json_object_get(seen, img))
					continue;
				json_object_set_new(seen, img, json_true());
				bool have = image_present(is, img);
				if (build) {
					bool built = false;
					if (build_image(c, img, json_string_value(json_array_get(dirs, i)), &built) < 0) {
						rc = -1;
						break;
					}
					if (built)
						continue;
				}
				if (pol && !strcmp(pol, "Never")) {
					if (!have) {
						fprintf(stderr, "Error: %s: container %s: image %s is not present and its "
								"imagePullPolicy is Never (ErrImageNeverPull)\n",
							jsonx_str(o, "_key") ? jsonx_str(o, "_key") : "", jsonx_str(ctr, "name"), img);
						rc = -1;
						break;
					}
					continue;
				}
				if (have && (!pol || strcmp(pol, "Always")))
					continue;
				if (have) {
					/* Always: pull, but a local image (one built here, or an
					 * offline machine) still runs */
					if (cli_pull(c, img, NULL, 0, true, stderr) != 0)
						fprintf(stderr, "Warning: could not pull %s (imagePullPolicy Always); using the local image\n",
							img);
					continue;
				}
				fprintf(stderr, "Unable to find image '%s' locally\n", img);
				if (cli_pull(c, img, NULL, 0, false, stderr) != 0) {
					fprintf(stderr, "Error: %s: container %s: image %s is not present and could not be pulled "
							"(ErrImagePull)\n",
						jsonx_str(o, "_key") ? jsonx_str(o, "_key") : "", jsonx_str(ctr, "name"), img);
					rc = -1;
					break;
				}
			}
		}
		if (rc)
			break;
	}
	json_decref(seen);
	return rc;
}

/* A Service as net/svc.h takes it, for the host-port check. */
static json_t *svc_for_check(const json_t *obj, const char *ns)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *type = jsonx_str(spec, "type");
	json_t *ports = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_t *np = json_object_get(p, "nodePort");
		json_array_append_new(ports, json_pack("{s:s,s:s,s:O,s:I,s:b}", "name",
						       jsonx_str(p, "name") ? jsonx_str(p, "name") : "", "protocol",
						       jsonx_str(p, "protocol") ? jsonx_str(p, "protocol") : "TCP", "port",
						       json_object_get(p, "port"), "nodePort",
						       json_is_integer(np) ? json_integer_value(np) : 0, "lbPort",
						       type && !strcmp(type, "LoadBalancer")));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:[]}", "name", jsonx_str(json_object_get(obj, "metadata"), "name"),
			 "namespace", ns, "clusterIP", "", "type", type ? type : "ClusterIP", "sessionAffinity", "None",
			 "ports", ports, "endpoints");
}

/* The object as stored: what the file says, plus the uid and generation
 * the store keeps across plays. */
static bool same_object(const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	static const char *server[] = {"uid", "generation", "creationTimestamp"};
	for (int i = 0; i < 3; i++) {
		json_object_del(json_object_get(x, "metadata"), server[i]);
		json_object_del(json_object_get(y, "metadata"), server[i]);
	}
	bool eq = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

struct nsplan {
	char ns[254];
	json_t *doc;     /* objects.json after this play */
	bool changed;
	json_t *lines;   /* "deployment.apps/web created" */
	json_t *removed; /* keys removed (prune / replace) */
	bool made_net;   /* this play made the namespace's network (undone on failure) */
};

static int wait_ready(struct cli *c, struct nsplan *pl, size_t npl, int64_t timeout_ns);

int cmd_kube_play(struct cli *c, int argc, char **argv)
{
	enum { O_NS = 1000, O_REPLACE, O_WAIT, O_TIMEOUT, O_BUILD, O_PUBALL, O_PRUNE, O_QUIET };
	static const struct option lo[] = {{"file", required_argument, 0, 'f'},
					   {"namespace", required_argument, 0, 'n'},
					   {"replace", no_argument, 0, O_REPLACE},
					   {"wait", no_argument, 0, 'w'},
					   {"timeout", required_argument, 0, O_TIMEOUT},
					   {"build", no_argument, 0, O_BUILD},
					   {"publish-all", no_argument, 0, O_PUBALL},
					   {"prune", no_argument, 0, O_PRUNE},
					   {"quiet", no_argument, 0, 'q'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char **paths = calloc((size_t)argc + 1, sizeof(char *));
	size_t npaths = 0;
	const char *nsopt = NULL;
	bool replace = false, wait = false, build = false, puball = false, prune = false, quiet = false;
	int64_t timeout_ns = 300LL * 1000000000LL;
	int o, rc = 1;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:n:wqh", lo, NULL)) != -1) {
		switch (o) {
		case 'f': paths[npaths++] = optarg; break;
		case 'n': nsopt = optarg; break;
		case O_REPLACE: replace = true; break;
		case 'w': wait = true; break;
		case O_TIMEOUT: {
			struct berr *e = NULL;
			if (time_parse_duration(optarg, true, &timeout_ns) < 0 || timeout_ns <= 0) {
				berr_free(e);
				fprintf(stderr, "Error: invalid --timeout \"%s\": a duration such as 90s or 5m\n", optarg);
				free(paths);
				return 1;
			}
			break;
		}
		case O_BUILD: build = true; break;
		case O_PUBALL: puball = true; break;
		case O_PRUNE: prune = true; break;
		case 'q': quiet = true; break;
		case 'h': free(paths); return cli_help(c);
		default: free(paths); return cli_usage_error(c, "requires at least 1 argument");
		}
	}
	for (int i = optind; i < argc; i++)
		paths[npaths++] = argv[i];
	if (!npaths) {
		free(paths);
		return cli_usage_error(c, "requires at least 1 argument (a file, a directory or -)");
	}
	struct berr *e = NULL;
	struct kube_manifests *m = NULL;
	struct nsplan pl[64];
	size_t npl = 0;
	bool applied = false;
	memset(pl, 0, sizeof(pl));
	json_t *dirs = json_array(), *changed = json_array(), *existing_all = json_array();
	if (kube_manifests_load(paths, npaths, nsopt, &m, &e) < 0) {
		rc = cli_fail(e);
		goto out;
	}
	size_t i;
	json_t *obj, *w;
	json_array_foreach(m->warnings, i, w) fprintf(stderr, "Warning: %s\n", json_string_value(w));
	if (!json_array_size(m->objects)) {
		fprintf(stderr, "Error: no objects passed to apply\n");
		goto out;
	}
	/* the namespaces touched, each with what the store holds */
	json_array_foreach(m->objects, i, obj) {
		const char *kind = jsonx_str(obj, "kind");
		const json_t *md = json_object_get(obj, "metadata");
		const char *ns = !strcmp(kind, "Namespace") ? jsonx_str(md, "name") : jsonx_str(md, "namespace");
		if (!ns)
			ns = "default";
		size_t k;
		for (k = 0; k < npl; k++)
			if (!strcmp(pl[k].ns, ns))
				break;
		if (k == npl) {
			if (npl == 64) {
				fprintf(stderr, "Error: more than 64 namespaces in one play\n");
				goto out;
			}
			snprintf(pl[npl].ns, sizeof(pl[npl].ns), "%s", ns);
			pl[npl].doc = kube_store_objects(c->root, ns, &e);
			if (!pl[npl].doc) {
				rc = cli_fail(e);
				goto out;
			}
			pl[npl].lines = json_array();
			pl[npl].removed = json_array();
			const char *ek;
			json_t *eo;
			json_object_foreach(json_object_get(pl[npl].doc, "objects"), ek, eo) json_array_append(existing_all, eo);
			npl++;
		}
	}
	size_t nwarn = json_array_size(m->warnings);
	if (kube_manifests_check_refs(m, existing_all, &e) < 0) {
		rc = cli_fail(e);
		goto out;
	}
	for (i = nwarn; i < json_array_size(m->warnings); i++)
		fprintf(stderr, "Warning: %s\n", json_string_value(json_array_get(m->warnings, i)));
	/* the new desired state of each namespace */
	for (size_t k = 0; k < npl; k++) {
		json_t *objs = json_object_get(pl[k].doc, "objects"), *srcs = json_object_get(pl[k].doc, "sources");
		json_t *infile = json_object();
		json_array_foreach(m->objects, i, obj) {
			const char *kind = jsonx_str(obj, "kind");
			const json_t *md = json_object_get(obj, "metadata");
			const char *ns = !strcmp(kind, "Namespace") ? jsonx_str(md, "name") : jsonx_str(md, "namespace");
			if (strcmp(ns ? ns : "default", pl[k].ns))
				continue;
			char key[320];
			kube_obj_key(obj, key, sizeof(key));
			json_object_set_new(infile, key, json_true());
			const char *where = kube_manifest_where(m, obj);
			json_t *old = json_object_get(objs, key);
			char ref[400];
			kube_ref_string(kind, jsonx_str(md, "name"), ref, sizeof(ref));
			const char *verb;
			if (old && !replace && same_object(old, obj)) {
				verb = "unchanged";
			} else {
				json_t *no = json_deep_copy(obj);
				json_t *nmd = json_object_get(no, "metadata");
				char uid[37], t[64];
				json_int_t gen = 1;
				if (old && !replace) {
					const char *ou = jsonx_str(json_object_get(old, "metadata"), "uid");
					snprintf(uid, sizeof(uid), "%s", ou ? ou : "");
					gen = json_integer_value(json_object_get(json_object_get(old, "metadata"), "generation")) + 1;
					const char *ct = jsonx_str(json_object_get(old, "metadata"), "creationTimestamp");
					snprintf(t, sizeof(t), "%s", ct ? ct : "");
				} else {
					kube_uuid(uid);
					struct timespec ts;
					clock_gettime(CLOCK_REALTIME, &ts);
					ts.tv_nsec = 0;
					time_rfc3339(&ts, t, sizeof(t));
				}
				json_object_set_new(nmd, "uid", json_string(uid));
				json_object_set_new(nmd, "generation", json_integer(gen));
				json_object_set_new(nmd, "creationTimestamp", json_string(t));
				if (old && replace)
					json_array_append_new(pl[k].removed, json_string(key));
				verb = old && !replace ? "configured" : replace && old ? "replaced" : "created";
				json_object_set_new(objs, key, no);
				/* --publish-all belongs to the objects of this play, whichever
				 * supervisor already runs */
				json_t *pa = json_object_get(pl[k].doc, "publishAll");
				if (!json_is_object(pa)) {
					pa = json_object();
					json_object_set_new(pl[k].doc, "publishAll", pa);
				}
				if (puball)
					json_object_set_new(pa, key, json_true());
				else
					json_object_del(pa, key);
				json_object_set_new(no, "_key", json_string(key));
				json_array_append(changed, no);
				json_object_del(no, "_key");
				_cleanup_free_ char *dir = strdup(where ? where : ".");
				char *colon = strrchr(dir, ':');
				if (colon)
					*colon = 0;
				char *sl = strrchr(dir, '/');
				if (sl)
					*sl = 0;
				else
					snprintf(dir, strlen(dir) + 1, ".");
				json_array_append_new(dirs, json_string(dir));
				pl[k].changed = true;
			}
			if (where) {
				_cleanup_free_ char *file = strdup(where);
				char *colon = strrchr(file, ':');
				if (colon)
					*colon = 0;
				char abs[PATH_MAX];
				const char *f = strcmp(file, "<stdin>") && realpath(file, abs) ? abs : file;
				json_object_set_new(srcs, key, json_string(f));
			}
			if (!quiet)
				json_array_append_new(pl[k].lines, json_sprintf("%s %s", ref, verb));
		}
		/* --prune: what came from these files before and is gone from them */
		if (prune) {
			const char *key;
			json_t *src;
			void *tmp;
			json_object_foreach_safe(srcs, tmp, key, src) {
				if (json_object_get(infile, key))
					continue;
				bool from_here = false;
				for (size_t p = 0; p < npaths; p++) {
					char abs[PATH_MAX];
					const char *f = realpath(paths[p], abs) ? abs : paths[p];
					size_t fl = strlen(f);
					const char *s = json_string_value(src);
					if (s && (!strcmp(s, f) || (!strncmp(s, f, fl) && s[fl] == '/')))
						from_here = true;
				}
				if (!from_here)
					continue;
				json_t *gone = json_object_get(objs, key);
				if (gone && !quiet) {
					char ref[400];
					kube_ref_string(jsonx_str(gone, "kind"), jsonx_str(json_object_get(gone, "metadata"), "name"),
							ref, sizeof(ref));
					json_array_append_new(pl[k].lines, json_sprintf("%s pruned", ref));
				}
				json_object_del(objs, key);
				json_object_del(srcs, key);
				pl[k].changed = true;
			}
		}
		json_decref(infile);
	}
	/* CronJobs are recorded (get shows them) but no schedule runs here */
	json_array_foreach(changed, i, obj) {
		const char *kind = jsonx_str(obj, "kind");
		if (kind && !strcmp(kind, "CronJob"))
			fprintf(stderr,
				"Warning: cronjob.batch/%s: kube play does not run schedules; no Job is made from it "
				"(play its jobTemplate as a Job to run it once)\n",
				jsonx_str(json_object_get(obj, "metadata"), "name"));
	}
	/* images, before anything changes */
	if (ensure_images(c, changed, build, dirs) < 0)
		goto out;
	/* host ports of the Services, when this play adds or changes one: the
	 * namespace's whole list, as the sync will see it */
	for (size_t k = 0; k < npl; k++) {
		bool any = false;
		json_array_foreach(changed, i, obj) {
			const char *kind = jsonx_str(obj, "kind");
			const char *ns = jsonx_str(json_object_get(obj, "metadata"), "namespace");
			if (kind && !strcmp(kind, "Service") && ns && !strcmp(ns, pl[k].ns))
				any = true;
		}
		if (!any)
			continue;
		json_t *svcs = json_array();
		const char *key;
		json_object_foreach(json_object_get(pl[k].doc, "objects"), key, obj) {
			const char *kind = jsonx_str(obj, "kind");
			if (kind && !strcmp(kind, "Service"))
				json_array_append_new(svcs, svc_for_check(obj, pl[k].ns));
		}
		struct kube_rec r = {.root = c->root, .runroot = c->runroot, .ns = pl[k].ns};
		char net[300];
		kube_ns_network(pl[k].ns, net, sizeof(net));
		struct net have = {0};
		struct berr *le = NULL;
		if (net_load(c->root, net, &have, &le) < 0) {
			berr_free(le);
			if (kube_rec_network(&r, &e) < 0) {
				json_decref(svcs);
				rc = cli_fail(e);
				goto out;
			}
			pl[k].made_net = true;
		} else
			net_release(&have);
		if (net_svc_check(c->root, c->runroot, net, svcs, &e) < 0) {
			json_decref(svcs);
			rc = cli_fail(e);
			goto out;
		}
		json_decref(svcs);
	}
	/* record, then hand over to the supervisors */
	applied = true;
	for (size_t k = 0; k < npl; k++) {
		int lfd = kube_store_lock(c->root, pl[k].ns, &e);
		if (lfd < 0) {
			rc = cli_fail(e);
			goto out;
		}
		struct kube_rec r = {.root = c->root, .runroot = c->runroot, .ns = pl[k].ns};
		if (kube_rec_network(&r, &e) < 0) {
			close(lfd);
			rc = cli_fail(e);
			goto out;
		}
		if (json_array_size(pl[k].removed)) {
			/* --replace: the old pods go first, then the objects come back new */
			kube_supervisor_stop(c->runroot, pl[k].ns, 5000);
			struct ctr_store *cs = cli_ctr_store(c);
			struct image_store *is = cli_store(c);
			if (!cs || !is) {
				close(lfd);
				goto out;
			}
			json_t *keep = json_deep_copy(json_object_get(kube_store_objects(c->root, pl[k].ns, &e), "objects"));
			size_t j;
			json_t *rk;
			json_array_foreach(pl[k].removed, j, rk) json_object_del(keep, json_string_value(rk));
			struct kube_rec tr = {.root = c->root, .runroot = c->runroot, .ns = pl[k].ns, .cs = cs, .is = is};
			kube_rec_network(&tr, &e);
			tr.doc = pl[k].doc;
			kube_teardown(&tr, keep, false, &e);
			berr_free(e);
			e = NULL;
			kube_rec_release(&tr);
			json_decref(keep);
		}
		if (pl[k].changed) {
			json_object_set_new(pl[k].doc, "generation",
					    json_integer(json_integer_value(json_object_get(pl[k].doc, "generation")) + 1));
			if (kube_store_write_objects(c->root, pl[k].ns, pl[k].doc, &e) < 0) {
				close(lfd);
				rc = cli_fail(e);
				goto out;
			}
		}
		close(lfd);
		bool started;
		if (kube_supervisor_ensure(c->root, c->runroot, pl[k].ns, puball, &started, &e) < 0) {
			rc = cli_fail(e);
			goto out;
		}
		size_t j;
		json_t *l;
		json_array_foreach(pl[k].lines, j, l) printf("%s\n", json_string_value(l));
	}
	fflush(stdout);
	rc = 0;
	if (wait)
		rc = wait_ready(c, pl, npl, timeout_ns);
out:
	for (size_t k = 0; k < npl && !applied; k++) {
		if (!pl[k].made_net)
			continue;
		char net[300];
		kube_ns_network(pl[k].ns, net, sizeof(net));
		struct berr *re = NULL;
		net_remove(c->root, c->runroot, net, &re);
		berr_free(re);
	}
	for (size_t k = 0; k < npl; k++) {
		json_decref(pl[k].doc);
		json_decref(pl[k].lines);
		json_decref(pl[k].removed);
	}
	json_decref(dirs);
	json_decref(changed);
	json_decref(existing_all);
	kube_manifests_free(m);
	free(paths);
	return rc;
}

/* A reason that waiting will not cure. */
static const char *stuck_reason(const json_t *pst, const char **ret_msg, const char **ret_ctr)
{
	static const char *fatal[] = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
				      "CreateContainerConfigError", "CreateContainerError", "RunContainerError", NULL};
	static const char *lists[] = {"initContainerStatuses", "containerStatuses"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(pst, lists[l]), i, cs) {
			const json_t *wt = json_object_get(json_object_get(cs, "state"), "waiting");
			const char *reason = jsonx_str(wt, "reason");
			for (int f = 0; reason && fatal[f]; f++)
				if (!strcmp(reason, fatal[f])) {
					*ret_msg = jsonx_str(wt, "message");
					*ret_ctr = jsonx_str(cs, "name");
					return reason;
				}
		}
	}
	return NULL;
}

static int wait_ready(struct cli *c, struct nsplan *pl, size_t npl, int64_t timeout_ns)
{
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int round = 0;; round++) {
		bool all = true;
		json_t *why = json_array();
		for (size_t k = 0; k < npl; k++) {
			json_t *st = kube_store_status(c->root, pl[k].ns);
			json_int_t gen = json_integer_value(json_object_get(pl[k].doc, "generation"));
			if (json_integer_value(json_object_get(st, "observedGeneration")) < gen) {
				all = false;
				json_array_append_new(why, json_sprintf("namespace %s: not reconciled yet", pl[k].ns));
			} else if (!json_is_true(json_object_get(st, "servicesInSync"))) {
				all = false;
				json_array_append_new(why, json_sprintf("namespace %s: Services not set up yet", pl[k].ns));
			}
			const char *key;
			json_t *obj;
			json_object_foreach(json_object_get(pl[k].doc, "objects"), key, obj) {
				const char *kind = jsonx_str(obj, "kind");
				if (!kind)
					continue;
				json_t *os = json_object_get(json_object_get(st, "objects"), key);
				if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet") ||
				    !strcmp(kind, "ReplicaSet") || !strcmp(kind, "Job")) {
					if (!json_is_true(json_object_get(os, "complete"))) {
						all = false;
						json_array_append_new(why, json_sprintf("%s: not ready", key));
					}
					if (!strcmp(kind, "Job") && json_is_true(json_object_get(os, "failed"))) {
						fprintf(stderr, "Error: %s failed\n", key);
						json_decref(st);
						json_decref(why);
						return 1;
					}
				} else if (!strcmp(kind, "Pod")) {
					const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
					json_t *ps = json_object_get(json_object_get(st, "pods"), name);
					if (!json_is_true(json_object_get(ps, "ready"))) {
						all = false;
						json_array_append_new(why, json_sprintf("%s: not ready", key));
					}
				}
			}
			/* pods stuck for good make --wait fail at once */
			const char *pn;
			json_t *pi;
			json_object_foreach(json_object_get(st, "pods"), pn, pi) {
				json_t *pst = pod_status(cs, pl[k].ns, pn);
				const char *msg = NULL, *ctr = NULL;
				const char *reason = pst ? stuck_reason(pst, &msg, &ctr) : NULL;
				if (reason) {
					fprintf(stderr, "Error: pod %s: container %s: %s%s%s\n", pn, ctr ? ctr : "?", reason,
						msg ? ": " : "", msg ? msg : "");
					json_decref(pst);
					json_decref(st);
					json_decref(why);
					return 1;
				}
				json_decref(pst);
			}
			json_decref(st);
		}
		if (all) {
			json_decref(why);
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t el = (now.tv_sec - t0.tv_sec) * 1000000000LL + (now.tv_nsec - t0.tv_nsec);
		if (el >= timeout_ns) {
			fprintf(stderr, "Error: timed out waiting for the pods to be ready:\n");
			size_t i;
			json_t *w;
			json_array_foreach(why, i, w) fprintf(stderr, "  %s\n", json_string_value(w));
			json_decref(why);
			return 1;
		}
		json_decref(why);
		struct timespec ts = {0, round < 50 ? 10000000L : 50000000L};
		nanosleep(&ts, NULL);
	}
}
