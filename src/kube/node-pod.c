/* The node agent's pods: the API's pods bound to the node made real in
 * the pod runtime (runtime/pod.h), their status posted back, graceful
 * deletion. What the kubelet's pod workers and status manager do, in one
 * pass over the pods (node_pods_pass) that the main loop repeats.
 *
 * A pod is made in a forked worker: the main process first reads what the
 * pod refers to from the API (ConfigMaps, Secrets, the projected service
 * account token through TokenRequest, imagePullSecrets), then the worker
 * pulls the images the pull policy asks for, resolves the spec
 * (kube/podspec.h), records and starts the pod. Removal also runs in a
 * worker; the API object of a pod under graceful deletion is deleted
 * (grace 0, with the pod's uid as precondition) once its containers are
 * gone, as the kubelet's status manager does. */
#include "image/reference.h"
#include "image/store.h"
#include "kube/node-int.h"
#include "kube/podspec.h"
#include "registry/registry.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MIN_MS 10000
#define RETRY_MAX_MS 300000

static const char *md_str(const json_t *pod, const char *k)
{
	return jsonx_str(json_object_get(pod, "metadata"), k);
}

/* ---- what a pod refers to ---- */

static void add_ref(json_t *refs, const char *kind, const char *name, bool optional)
{
	if (!name || !*name)
		return;
	char key[400];
	snprintf(key, sizeof(key), "%s/%s", kind, name);
	json_t *cur = json_object_get(refs, key);
	/* required wins over optional */
	if (!cur || (json_is_true(cur) && !optional))
		json_object_set_new(refs, key, json_boolean(optional));
}

static void container_refs(json_t *refs, const json_t *ctr)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ctr, "env"), i, e) {
		json_t *vf = json_object_get(e, "valueFrom"), *r;
		if ((r = json_object_get(vf, "configMapKeyRef")))
			add_ref(refs, "ConfigMap", jsonx_str(r, "name"), json_is_true(json_object_get(r, "optional")));
		if ((r = json_object_get(vf, "secretKeyRef")))
			add_ref(refs, "Secret", jsonx_str(r, "name"), json_is_true(json_object_get(r, "optional")));
	}
	json_array_foreach(json_object_get(ctr, "envFrom"), i, e) {
		json_t *r;
		if ((r = json_object_get(e, "configMapRef")))
			add_ref(refs, "ConfigMap", jsonx_str(r, "name"), json_is_true(json_object_get(r, "optional")));
		if ((r = json_object_get(e, "secretRef")))
			add_ref(refs, "Secret", jsonx_str(r, "name"), json_is_true(json_object_get(r, "optional")));
	}
}

/* {"Kind/name": optional} of everything the pod reads. */
static json_t *pod_refs(const json_t *pod)
{
	json_t *refs = json_object(), *spec = json_object_get(pod, "spec");
	size_t i, j;
	json_t *x, *src;
	json_array_foreach(json_object_get(spec, "containers"), i, x) container_refs(refs, x);
	json_array_foreach(json_object_get(spec, "initContainers"), i, x) container_refs(refs, x);
	json_array_foreach(json_object_get(spec, "volumes"), i, x) {
		json_t *s;
		if ((s = json_object_get(x, "configMap")))
			add_ref(refs, "ConfigMap", jsonx_str(s, "name"), json_is_true(json_object_get(s, "optional")));
		if ((s = json_object_get(x, "secret")))
			add_ref(refs, "Secret", jsonx_str(s, "secretName"), json_is_true(json_object_get(s, "optional")));
		if ((s = json_object_get(x, "persistentVolumeClaim")))
			add_ref(refs, "PersistentVolumeClaim", jsonx_str(s, "claimName"), false);
		json_array_foreach(json_object_get(json_object_get(x, "projected"), "sources"), j, src) {
			if ((s = json_object_get(src, "configMap")))
				add_ref(refs, "ConfigMap", jsonx_str(s, "name"), json_is_true(json_object_get(s, "optional")));
			if ((s = json_object_get(src, "secret")))
				add_ref(refs, "Secret", jsonx_str(s, "name"), json_is_true(json_object_get(s, "optional")));
		}
	}
	json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, x)
		add_ref(refs, "Secret", jsonx_str(x, "name"), true);
	return refs;
}

static const char *plural_of(const char *kind)
{
	return !strcmp(kind, "ConfigMap") ? "configmaps" : !strcmp(kind, "Secret") ? "secrets" : "persistentvolumeclaims";
}

/* Read the pod's ConfigMaps, Secrets and claims: objects {"Kind/name": obj}.
 * A missing required one is CreateContainerConfigError's message. */
static int fetch_refs(struct node *nd, const json_t *pod, json_t *objects, struct berr **err)
{
	const char *ns = md_str(pod, "namespace");
	_cleanup_json_ json_t *refs = pod_refs(pod);
	const char *key;
	json_t *opt;
	json_object_foreach(refs, key, opt) {
		const char *slash = strchr(key, '/');
		_cleanup_free_ char *kind = strndup(key, (size_t)(slash - key));
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/api/v1/namespaces/%s/%s/%s", ns, plural_of(kind), slash + 1) < 0)
			return berr_set(err, ENOMEM, "out of memory");
		json_t *obj = NULL;
		struct berr *e = NULL;
		if (kube_get(nd->kc, path, &obj, &e) < 0) {
			if (e && e->code == BERR_NOT_FOUND && json_is_true(opt)) {
				berr_free(e);
				continue;
			}
			if (e && e->code == BERR_NOT_FOUND) {
				berr_free(e);
				return berr_setc(err, BERR_NOT_FOUND, "%s \"%s\" not found",
						 !strcmp(kind, "ConfigMap") ? "configmap" : !strcmp(kind, "Secret") ? "secret"
														 : "persistentvolumeclaim",
						 slash + 1);
			}
			*err = e;
			return -1;
		}
		json_object_set_new(objects, key, obj);
	}
	return 0;
}

/* TokenRequest for each projected serviceAccountToken source:
 * {"VOLUME/PATH": token}. */
static int fetch_tokens(struct node *nd, const json_t *pod, json_t *tokens, struct berr **err)
{
	const char *ns = md_str(pod, "namespace"), *pname = md_str(pod, "name"), *uid = md_str(pod, "uid");
	json_t *spec = json_object_get(pod, "spec");
	const char *sa = jsonx_str(spec, "serviceAccountName");
	size_t i, j;
	json_t *v, *src;
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), j, src) {
			json_t *t = json_object_get(src, "serviceAccountToken");
			if (!t)
				continue;
			const char *aud = jsonx_str(t, "audience"), *tpath = jsonx_str(t, "path");
			json_t *exp = json_object_get(t, "expirationSeconds");
			json_t *req = json_pack("{s:s,s:s,s:{s:I,s:{s:s,s:s,s:s,s:s}}}", "apiVersion", "authentication.k8s.io/v1",
						"kind", "TokenRequest", "spec", "expirationSeconds",
						(json_int_t)(json_is_integer(exp) ? json_integer_value(exp) : 3607),
						"boundObjectRef", "kind", "Pod", "apiVersion", "v1", "name", pname, "uid",
						uid ? uid : "");
			if (aud && *aud)
				json_object_set_new(json_object_get(req, "spec"), "audiences", json_pack("[s]", aud));
			_cleanup_free_ char *path = NULL;
			if (asprintf(&path, "/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa ? sa : "default") < 0) {
				json_decref(req);
				return berr_set(err, ENOMEM, "out of memory");
			}
			json_t *out = NULL;
			int r = kube_post(nd->kc, path, req, &out, err);
			json_decref(req);
			if (r < 0)
				return berr_wrap(err, "service account token for %s", sa ? sa : "default");
			const char *tok = jsonx_str(json_object_get(out, "status"), "token");
			char key[600];
			snprintf(key, sizeof(key), "%s/%s", jsonx_str(v, "name"), tpath ? tpath : "token");
			if (tok)
				json_object_set_new(tokens, key, json_string(tok));
			json_decref(out);
		}
	}
	return 0;
}

/* One Service's variables, as the kubelet's envvars.FromServices: NAME_
 * SERVICE_HOST/PORT, NAME_SERVICE_PORT_PORTNAME, NAME_PORT and
 * NAME_PORT_P_PROTO(_PROTO/_PORT/_ADDR) for each port. */
static void service_env(const json_t *svc, json_t *env)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *ip = jsonx_str(spec, "clusterIP"), *sname = md_str(svc, "name");
	if (!ip || !*ip || !strcmp(ip, "None") || !sname)
		return;
	char n[300];
	snprintf(n, sizeof(n), "%s", sname);
	for (char *p = n; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	size_t i;
	json_t *port;
	json_array_foreach(json_object_get(spec, "ports"), i, port) {
		json_int_t pn = json_integer_value(json_object_get(port, "port"));
		const char *proto = jsonx_str(port, "protocol") ? jsonx_str(port, "protocol") : "TCP";
		char lproto[16], ps[16], url[128];
		snprintf(lproto, sizeof(lproto), "%s", proto);
		for (char *p = lproto; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		snprintf(ps, sizeof(ps), "%lld", (long long)pn);
		snprintf(url, sizeof(url), "%s://%s:%s", lproto, ip, ps);
		if (i == 0) {
			json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_SERVICE_HOST", n), "value", ip));
			json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_SERVICE_PORT", n), "value", ps));
			json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_PORT", n), "value", url));
		}
		const char *pname = jsonx_str(port, "name");
		if (pname && *pname) {
			char up[128];
			snprintf(up, sizeof(up), "%s", pname);
			for (char *p = up; *p; p++)
				*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
			json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_SERVICE_PORT_%s", n, up), "value", ps));
		}
		char pre[400];
		snprintf(pre, sizeof(pre), "%s_PORT_%s_%s", n, ps, proto);
		json_array_append_new(env, json_pack("{s:s,s:s}", "name", pre, "value", url));
		json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_PROTO", pre), "value", lproto));
		json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_PORT", pre), "value", ps));
		json_array_append_new(env, json_pack("{s:o,s:s}", "name", json_sprintf("%s_ADDR", pre), "value", ip));
	}
}

/* The kubelet's service environment, before each container's own env: the
 * "kubernetes" Service's (KUBERNETES_SERVICE_HOST...) and, unless
 * spec.enableServiceLinks is false, every Service's of the pod's namespace. */
static void add_service_env(struct node *nd, json_t *pod)
{
	const char *ns = md_str(pod, "namespace");
	json_t *env0 = json_array();
	json_t *svc = NULL, *list = NULL;
	struct berr *e = NULL;
	bool links = !json_is_false(json_object_get(json_object_get(pod, "spec"), "enableServiceLinks"));
	_cleanup_free_ char *path = NULL;
	if (links && ns && strcmp(ns, "default") && asprintf(&path, "/api/v1/namespaces/%s/services", ns) >= 0) {
		if (kube_get(nd->kc, path, &list, &e) < 0)
			berr_freep(&e);
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(list, "items"), i, x) service_env(x, env0);
	}
	if (links && ns && !strcmp(ns, "default")) {
		if (kube_get(nd->kc, "/api/v1/namespaces/default/services", &list, &e) < 0)
			berr_freep(&e);
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(list, "items"), i, x) if (strcmp(md_str(x, "name") ? md_str(x, "name") : "", "kubernetes"))
			service_env(x, env0);
	}
	if (kube_get(nd->kc, "/api/v1/namespaces/default/services/kubernetes", &svc, &e) < 0)
		berr_free(e);
	else
		service_env(svc, env0);
	json_decref(svc);
	json_decref(list);
	const char *lists[] = {"containers", "initContainers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
			json_t *env = json_deep_copy(env0);
			json_array_extend(env, json_object_get(c, "env"));
			json_object_set_new(c, "env", env);
		}
	}
	json_decref(env0);
}

/* ---- workers ---- */

static void result(struct node *nd, json_t *r)
{
	_cleanup_free_ char *s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	if (s) {
		fs_write_full(nd->res_wr, s, strlen(s));
		fs_write_full(nd->res_wr, "\n", 1);
	}
}

static bool image_present(struct image_store *is, const char *img)
{
	struct berr *e = NULL;
	_cleanup_json_ json_t *idx = image_store_index_read(is, &e);
	_cleanup_free_ char *id = NULL;
	bool ok = idx && image_store_resolve(idx, img, &id, NULL, &e) == 0;
	berr_free(e);
	return ok;
}

/* Pull what the pod's pull policies ask for. On failure *ret_ctr names the container. */
static int pull_images(struct node *nd, const json_t *pod, json_t *events, const char **ret_ctr,
		       const char **ret_reason, struct berr **err)
{
	const char *lists[] = {"initContainers", "containers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
			const char *img = jsonx_str(c, "image"), *pol = jsonx_str(c, "imagePullPolicy");
			*ret_ctr = jsonx_str(c, "name");
			if (!img)
				continue;
			bool have = image_present(nd->o->is, img);
			if (pol && !strcmp(pol, "Never")) {
				if (!have) {
					*ret_reason = "ErrImageNeverPull";
					return berr_setc(err, BERR_NOT_FOUND,
							 "Container image \"%s\" is not present with pull policy of Never", img);
				}
				continue;
			}
			if (have && !(pol && !strcmp(pol, "Always"))) {
				json_array_append_new(events, json_pack("{s:s,s:s,s:s}", "ctr", *ret_ctr, "reason", "Pulled",
									"message", ""));
				json_object_set_new(json_array_get(events, json_array_size(events) - 1), "message",
						    json_sprintf("Container image \"%s\" already present on machine", img));
				continue;
			}
			json_array_append_new(events, json_pack("{s:s,s:s,s:s}", "ctr", *ret_ctr, "reason", "Pulling",
								"message", ""));
			json_object_set_new(json_array_get(events, json_array_size(events) - 1), "message",
					    json_sprintf("Pulling image \"%s\"", img));
			long long t0 = node_ms();
			struct reg_pull_result pr = {0};
			struct berr *e = NULL;
			if (reg_pull(nd->o->is, img, NULL, &pr, &e) < 0) {
				if (have) { /* Always, and the registry failed: the local image */
					berr_free(e);
					continue;
				}
				*ret_reason = "ErrImagePull";
				berr_setc(err, BERR_GENERIC, "Failed to pull image \"%s\": %s", img, e ? e->msg : "error");
				berr_free(e);
				return -1;
			}
			reg_pull_result_release(&pr);
			json_t *ev = json_pack("{s:s,s:s}", "ctr", *ret_ctr, "reason", "Pulled");
			json_object_set_new(ev, "message", json_sprintf("Successfully pulled image \"%s\" in %lldms", img,
									node_ms() - t0));
			json_array_append_new(events, ev);
		}
	}
	return 0;
}

/* The Docker config.json of the pod's kubernetes.io/dockerconfigjson
 * pull secrets (for the registry client, through $DOCKER_CONFIG). */
static void pull_secrets_env(struct node *nd, const json_t *pod, const json_t *objects)
{
	json_t *auths = json_object();
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "imagePullSecrets"), i, x) {
		char key[400];
		snprintf(key, sizeof(key), "Secret/%s", jsonx_str(x, "name") ? jsonx_str(x, "name") : "");
		json_t *sec = json_object_get(objects, key);
		const char *b64 = jsonx_str(json_object_get(sec, "data"), ".dockerconfigjson");
		if (!b64)
			b64 = jsonx_str(json_object_get(sec, "data"), ".dockercfg");
		if (!b64)
			continue;
		size_t n = strlen(b64);
		unsigned char *raw = malloc(n + 1);
		int len = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
		/* EVP_DecodeBlock counts the padding as bytes */
		for (size_t k = n; len > 0 && k > 0 && b64[k - 1] == '='; k--)
			len--;
		if (len > 0) {
			json_t *cfg = json_loadb((const char *)raw, (size_t)len, 0, NULL);
			json_t *a = json_object_get(cfg, "auths");
			json_object_update(auths, a ? a : cfg);
			json_decref(cfg);
		}
		free(raw);
	}
	if (json_object_size(auths)) {
		char dir[PATH_MAX];
		if (snprintf(dir, sizeof(dir), "%s/pull-%d", nd->dir, (int)getpid()) < (int)sizeof(dir) &&
		    (mkdir(dir, 0700) == 0 || errno == EEXIST)) {
			_cleanup_json_ json_t *cfg = json_pack("{s:O}", "auths", auths);
			_cleanup_free_ char *s = json_dumps(cfg, 0);
			_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			struct berr *e = NULL;
			if (dfd >= 0 && s && fs_write_atomic_at(dfd, "config.json", s, strlen(s), 0600, false, &e) == 0)
				setenv("DOCKER_CONFIG", dir, 1);
			berr_free(e);
		}
	}
	json_decref(auths);
}

static void pull_secrets_cleanup(struct node *nd)
{
	char name[64];
	snprintf(name, sizeof(name), "pull-%d", (int)getpid());
	int dfd = open(nd->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fs_rm_rf_at(dfd, name);
		close(dfd);
	}
}

static void pod_dir_of(const struct node *nd, const char *ns, char *buf, size_t n)
{
	if (snprintf(buf, n, "%s/%s", nd->poddir, ns) >= (int)n)
		buf[0] = 0; /* node_setup bounds poddir; a namespace is at most 63 */
}

/* In the worker: make the pod. */
static void create_worker(struct node *nd, json_t *pod, json_t *objects, json_t *tokens)
{
	const char *uid = md_str(pod, "uid"), *ns = md_str(pod, "namespace"), *name = md_str(pod, "name");
	struct berr *e = NULL;
	const char *ctr = NULL, *reason = NULL;
	json_t *events = json_array();
	pull_secrets_env(nd, pod, objects);
	int pr = pull_images(nd, pod, events, &ctr, &reason, &e);
	pull_secrets_cleanup(nd);
	if (pr < 0) {
		result(nd, json_pack("{s:s,s:s,s:s,s:s,s:o}", "uid", uid, "reason", reason ? reason : "ErrImagePull",
				     "container", ctr ? ctr : "", "message", e ? e->msg : "pull failed", "events", events));
		_exit(1);
	}
	char pdir[PATH_MAX];
	pod_dir_of(nd, ns, pdir, sizeof(pdir));
	struct berr *me = NULL;
	fs_mkdir_p(pdir, 0700, &me);
	berr_free(me);
	struct kube_pod_ctx c = {.root = nd->o->root, .runroot = nd->o->runroot, .ns = ns, .objects = objects,
				 .network = nd->network, .gateway = nd->gateway, .poddir = pdir, .sa_tokens = tokens};
	json_t *rs = NULL;
	if (kube_podspec_resolve(&c, pod, &rs, &e) < 0) {
		result(nd, json_pack("{s:s,s:s,s:s}", "uid", uid, "reason", "CreateContainerConfigError", "message",
				     e ? e->msg : "error"));
		_exit(1);
	}
	json_object_del(rs, "warnings");
	json_t *obj = json_deep_copy(pod);
	json_object_del(obj, "status");
	json_t *meta = json_pack("{s:s,s:s,s:o}", "node", nd->name, "uid", uid, "object", obj);
	/* kube play's views read these */
	json_object_set(meta, "metadata", json_object_get(obj, "metadata"));
	json_object_set(meta, "spec", json_object_get(obj, "spec"));
	json_t *rec = json_pack("{s:o,s:o}", "spec", rs, "meta", meta);
	int r = pod_create(nd->o->cs, nd->o->is, rec, &e);
	json_decref(rec);
	if (r < 0) {
		result(nd, json_pack("{s:s,s:s,s:s}", "uid", uid, "reason", "CreateContainerError", "message",
				     e ? e->msg : "error"));
		kube_podspec_cleanup_dir(pdir, name);
		_exit(1);
	}
	if (pod_sync(nd->o->cs, nd->o->is, ns, name, &e) < 0) {
		/* recorded for pod_status; the main loop syncs again */
		berr_freep(&e);
	}
	result(nd, json_pack("{s:s,s:b,s:o}", "uid", uid, "ok", 1, "events", events));
	_exit(0);
}

static void remove_worker(struct node *nd, const char *uid, const char *ns, const char *name, int grace)
{
	struct berr *e = NULL;
	if (pod_remove(nd->o->cs, ns, name, grace, &e) < 0 && (!e || e->code != BERR_NOT_FOUND)) {
		result(nd, json_pack("{s:s,s:s,s:s}", "uid", uid, "reason", "KillPodFailed", "message",
				     e ? e->msg : "error"));
		_exit(1);
	}
	char pdir[PATH_MAX];
	pod_dir_of(nd, ns, pdir, sizeof(pdir));
	kube_podspec_cleanup_dir(pdir, name);
	result(nd, json_pack("{s:s,s:b,s:b}", "uid", uid, "ok", 1, "removed", 1));
	_exit(0);
}

static pid_t start_worker(struct node *nd, const char *uid, const char *op)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0) {
		if (pid > 0) {
			char k[24];
			snprintf(k, sizeof(k), "%d", (int)pid);
			json_object_set_new(nd->work, k, json_pack("{s:s,s:s,s:I}", "uid", uid, "op", op, "t0",
								  (json_int_t)node_ms()));
			json_object_set_new(nd->busy, uid, json_string(k));
		}
		return pid;
	}
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	return 0;
}

/* ---- status ---- */

static const json_t *cond_of(const json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *t = jsonx_str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

/* spec.readinessGates, as the kubelet's GeneratePodReadyCondition: a pod
 * whose containers are ready is Ready only when every gate's condition
 * (set in the API by someone else) is True. */
static void readiness_gates(const json_t *pod, json_t *s)
{
	const json_t *gates = json_object_get(json_object_get(pod, "spec"), "readinessGates");
	json_t *ready = (json_t *)cond_of(json_object_get(s, "conditions"), "Ready");
	if (!json_array_size(gates) || !ready || strcmp(jsonx_str(ready, "status") ? jsonx_str(ready, "status") : "", "True"))
		return;
	const json_t *have = json_object_get(json_object_get(pod, "status"), "conditions");
	struct sbuf msg = SBUF_INIT;
	size_t i;
	json_t *g;
	json_array_foreach(gates, i, g) {
		const char *t = jsonx_str(g, "conditionType");
		if (!t)
			continue;
		const json_t *c = cond_of(have, t);
		const char *st = c ? jsonx_str(c, "status") : NULL;
		if (!c)
			sbuf_addf(&msg, "%scorresponding condition of pod readiness gate \"%s\" does not exist.",
				  msg.len ? ", " : "", t);
		else if (!st || strcmp(st, "True"))
			sbuf_addf(&msg, "%sthe status of pod readiness gate \"%s\" is not \"True\", but %s", msg.len ? ", " : "",
				  t, st ? st : "");
	}
	if (msg.len) {
		json_object_set_new(ready, "status", json_string("False"));
		json_object_set_new(ready, "reason", json_string("ReadinessGatesNotReady"));
		json_object_set_new(ready, "message", json_string(sbuf_str(&msg)));
	}
	sbuf_release(&msg);
	/* the transition time stays what the API has while the status does not change */
	const json_t *old = cond_of(have, "Ready");
	if (old && jsonx_str(old, "lastTransitionTime") && jsonx_str(old, "status") &&
	    !strcmp(jsonx_str(old, "status"), jsonx_str(ready, "status"))) {
		json_object_set(ready, "lastTransitionTime", json_object_get(old, "lastTransitionTime"));
	} else if (msg.len || old) {
		char now[40];
		node_now(now, sizeof(now), false);
		json_object_set_new(ready, "lastTransitionTime", json_string(now));
	}
}

static json_t *api_status(struct node *nd, const json_t *pod, json_t *st)
{
	json_t *s = json_deep_copy(st);
	json_object_del(s, "berth");
	json_object_set_new(s, "hostIP", json_string(nd->ip));
	json_object_set_new(s, "hostIPs", json_pack("[{s:s}]", "ip", nd->ip));
	readiness_gates(pod, s);
	return s;
}

/* Post the pod's status when it changed; true when it was posted. */
static bool post_status(struct node *nd, const json_t *pod, json_t *status)
{
	const char *uid = md_str(pod, "uid"), *ns = md_str(pod, "namespace"), *name = md_str(pod, "name");
	_cleanup_free_ char *text = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
	const char *last = jsonx_str(nd->posted, uid);
	if (text && last && !strcmp(text, last))
		return false;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s/status", ns, name) < 0)
		return false;
	/* a strategic merge patch, as the kubelet's: conditions merge by type,
	 * so those others own (readiness gates, DisruptionTarget) stay; a
	 * condition's reason and message that are gone are removed */
	_cleanup_json_ json_t *patch = json_pack("{s:{s:s},s:o}", "metadata", "uid", uid, "status", json_deep_copy(status));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(patch, "status"), "conditions"), i, c) {
		static const char *opt[] = {"reason", "message"};
		for (size_t k = 0; k < 2; k++)
			if (!json_object_get(c, opt[k]))
				json_object_set_new(c, opt[k], json_null());
	}
	struct berr *e = NULL;
	if (kube_patch(nd->kc, path, "application/strategic-merge-patch+json", patch, NULL, &e) < 0) {
		if (!e || e->code != BERR_NOT_FOUND)
			fprintf(stderr, "node %s: pod %s/%s: posting status: %s\n", nd->name, ns, name, e ? e->msg : "error");
		berr_free(e);
		return false;
	}
	if (text)
		json_object_set_new(nd->posted, uid, json_string(text));
	return true;
}

/* A pod the node cannot run yet: Pending with its containers waiting. */
static json_t *waiting_status(const json_t *pod, const char *reason, const char *message, const char *only_ctr)
{
	json_t *cs = json_array(), *ics = json_array();
	const char *lists[] = {"initContainers", "containers"};
	/* the kubelet's default: PodInitializing in a pod with init containers */
	bool inits = json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers")) > 0;
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
			const char *cn = jsonx_str(c, "name");
			bool this = !only_ctr || (cn && !strcmp(cn, only_ctr));
			json_t *w = json_pack("{s:s}", "reason", this ? reason : (inits ? "PodInitializing" : "ContainerCreating"));
			if (this && message)
				json_object_set_new(w, "message", json_string(message));
			json_array_append_new(l == 0 ? ics : cs,
					      json_pack("{s:s,s:s,s:s,s:b,s:b,s:i,s:{s:o}}", "name", cn ? cn : "", "image",
							jsonx_str(c, "image") ? jsonx_str(c, "image") : "", "imageID", "",
							"ready", 0, "started", 0, "restartCount", 0, "state", "waiting", w));
		}
	}
	const json_t *old = json_object_get(pod, "status");
	json_t *conds = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(old, "conditions"), i, c) {
		const char *t = jsonx_str(c, "type");
		if (t && !strcmp(t, "PodScheduled"))
			json_array_append(conds, c);
	}
	char now[40];
	node_now(now, sizeof(now), false);
	const char *ready_reason = "ContainersNotReady";
	json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s}", "type", "Initialized", "status",
					       json_array_size(ics) ? "False" : "True", "lastTransitionTime", now, "reason",
					       json_array_size(ics) ? "ContainersNotInitialized" : ""));
	json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s}", "type", "Ready", "status", "False",
					       "lastTransitionTime", now, "reason", ready_reason));
	json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s}", "type", "ContainersReady", "status", "False",
					       "lastTransitionTime", now, "reason", ready_reason));
	json_t *s = json_pack("{s:s,s:o,s:o}", "phase", "Pending", "conditions", conds, "containerStatuses", cs);
	if (json_array_size(ics))
		json_object_set_new(s, "initContainerStatuses", ics);
	else
		json_decref(ics);
	const char *qos = jsonx_str(old, "qosClass");
	if (qos)
		json_object_set_new(s, "qosClass", json_string(qos));
	/* drop empty reasons */
	json_array_foreach(conds, i, c) {
		const char *r = jsonx_str(c, "reason");
		if (r && !*r)
			json_object_del(c, "reason");
	}
	return s;
}

/* ---- events (kubectl describe pod), as the kubelet reports them ---- */

static void pod_event(struct node *nd, const json_t *pod, const char *ctr, const char *type, const char *reason,
		      const char *message)
{
	const char *ns = md_str(pod, "namespace"), *name = md_str(pod, "name"), *uid = md_str(pod, "uid");
	if (!ns || !name)
		return;
	char now[48], ev[400], fp[300] = "";
	node_now(now, sizeof(now), false);
	unsigned long long rnd = ((unsigned long long)node_ms() << 20) ^ ((unsigned long long)getpid() << 8) ^
				 (unsigned long long)(uintptr_t)message;
	snprintf(ev, sizeof(ev), "%.240s.%016llx", name, rnd);
	if (ctr && *ctr) {
		bool init = false;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), "initContainers"), i, c)
			if (!strcmp(jsonx_str(c, "name") ? jsonx_str(c, "name") : "", ctr))
				init = true;
		snprintf(fp, sizeof(fp), "spec.%s{%.250s}", init ? "initContainers" : "containers", ctr);
	}
	json_t *io = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", ns, "name", name, "uid",
			       uid ? uid : "", "apiVersion", "v1");
	if (*fp)
		json_object_set_new(io, "fieldPath", json_string(fp));
	_cleanup_json_ json_t *e = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:i,s:s,s:s,s:s}",
					      "apiVersion", "v1", "kind", "Event", "metadata", "name", ev, "namespace", ns,
					      "involvedObject", io, "reason", reason, "message", message, "source",
					      "component", "kubelet", "host", nd->name, "firstTimestamp", now,
					      "lastTimestamp", now, "count", 1, "type", type, "reportingComponent",
					      "kubelet", "reportingInstance", nd->name);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/namespaces/%s/events", ns) < 0)
		return;
	struct berr *er = NULL;
	if (kube_post(nd->kc, path, e, NULL, &er) < 0)
		berr_free(er); /* events are best effort, as the kubelet's */
}

static void worker_events(struct node *nd, const json_t *pod, const json_t *events)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) pod_event(nd, pod, jsonx_str(ev, "ctr"), "Normal", jsonx_str(ev, "reason"),
						     jsonx_str(ev, "message"));
}

/* ---- the pass ---- */

static void api_delete_pod(struct node *nd, const json_t *pod)
{
	const char *uid = md_str(pod, "uid"), *ns = md_str(pod, "namespace"), *name = md_str(pod, "name");
	if (json_object_get(nd->deleted, uid))
		return;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s", ns, name) < 0)
		return;
	_cleanup_json_ json_t *opts = json_pack("{s:s,s:s,s:i,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
						"gracePeriodSeconds", 0, "preconditions", "uid", uid);
	struct berr *e = NULL;
	if (kube_delete(nd->kc, path, opts, NULL, &e) < 0 && e && e->code != BERR_NOT_FOUND && e->code != BERR_CONFLICT) {
		fprintf(stderr, "node %s: pod %s/%s: deleting: %s\n", nd->name, ns, name, e->msg);
		berr_free(e);
		return;
	}
	berr_free(e);
	json_object_set_new(nd->deleted, uid, json_true());
}

static bool terminal(const json_t *st)
{
	const char *ph = jsonx_str(st, "phase");
	return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

/* Still moving towards steady: worth syncing and looking at soon. */
static bool unsettled(const json_t *st)
{
	const char *ph = jsonx_str(st, "phase");
	if (!ph || !strcmp(ph, "Pending"))
		return true;
	if (terminal(st))
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
		if (!json_is_true(json_object_get(c, "ready")))
			return true;
	}
	return false;
}

static void start_create(struct node *nd, json_t *pod)
{
	const char *uid = md_str(pod, "uid");
	_cleanup_json_ json_t *objects = json_object(), *tokens = json_object();
	json_t *p = json_deep_copy(pod);
	struct berr *e = NULL;
	int r = fetch_refs(nd, p, objects, &e);
	if (r == 0)
		r = fetch_tokens(nd, p, tokens, &e);
	if (r < 0) {
		/* Right after the pod is bound, the API server's node authorizer
		 * may not know yet that this node may read the pod's ConfigMaps
		 * and Secrets (its graph follows the pods asynchronously): try
		 * again soon, and show the error once it lasts. */
		json_t *rty = json_object_get(nd->retry, uid);
		long long delay = rty ? json_integer_value(json_object_get(rty, "delay")) * 2 : 50;
		if (delay > 10000)
			delay = 10000;
		if (delay >= 800) {
			json_t *ws = waiting_status(pod, "CreateContainerConfigError", e ? e->msg : "error", NULL);
			post_status(nd, pod, ws);
			json_decref(ws);
		}
		berr_free(e);
		json_object_set_new(nd->retry, uid, json_pack("{s:I,s:I}", "at", (json_int_t)(node_ms() + delay), "delay",
								 (json_int_t)delay));
		json_decref(p);
		return;
	}
	add_service_env(nd, p);
	pid_t pid = start_worker(nd, uid, "create");
	if (pid == 0)
		create_worker(nd, p, objects, tokens);
	json_decref(p);
	if (!json_object_get(nd->posted, uid)) {
		/* the kubelet's default waiting state of every container */
		bool inits = json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers")) > 0;
		json_t *ws = waiting_status(pod, inits ? "PodInitializing" : "ContainerCreating", NULL, NULL);
		post_status(nd, pod, ws);
		json_decref(ws);
	}
}

/* ---- volumes kept current ---- */

/* How often a running pod's configMap, secret, downwardAPI and projected
 * volumes are made again from the API's objects (the kubelet: its pod sync,
 * about a minute plus its cache's TTL; e2e.test waits up to minutes). */
#define NODE_VOLUME_REFRESH_MS 5000

/* When each pod's volumes were last refreshed: {uid: ms}. */
static json_t *vol_refreshed;

/* The tokens in a pod's projected serviceAccountToken files as they are
 * ({"VOLUME/PATH": token}): a refresh keeps them (their TokenRequest is the
 * pod's creation's) instead of dropping them. */
static void current_tokens(const char *pdir, const json_t *pod, json_t *tokens)
{
	size_t i, j;
	json_t *v, *src;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v) {
		json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), j, src) {
			json_t *t = json_object_get(src, "serviceAccountToken");
			if (!t)
				continue;
			const char *tpath = jsonx_str(t, "path") ? jsonx_str(t, "path") : "token";
			_cleanup_free_ char *file = NULL;
			if (asprintf(&file, "%s/%s/volumes/%s/%s", pdir, md_str(pod, "name"), jsonx_str(v, "name"), tpath) < 0)
				continue;
			char *tok = NULL;
			size_t len;
			struct berr *e = NULL;
			if (fs_read_file_at(AT_FDCWD, file, 1 << 16, &tok, &len, &e) == 0) {
				char key[600];
				snprintf(key, sizeof(key), "%s/%s", jsonx_str(v, "name"), tpath);
				json_object_set_new(tokens, key, json_stringn(tok, len));
			}
			free(tok);
			berr_free(e);
		}
	}
}

static bool has_synced_volumes(const json_t *pod)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v)
		if (json_object_get(v, "configMap") || json_object_get(v, "secret") || json_object_get(v, "downwardAPI") ||
		    json_object_get(v, "projected"))
			return true;
	return false;
}

/* A running pod's volumes made again from the API's current ConfigMaps and
 * Secrets and the pod's current labels and annotations (atomically, through
 * ..data, as at its creation). A ConfigMap or Secret that cannot be read
 * leaves the volume as it is, as the kubelet does. */
static void refresh_volumes(struct node *nd, const json_t *pod, long long now)
{
	const char *uid = md_str(pod, "uid"), *ns = md_str(pod, "namespace");
	if (!uid || !ns || !has_synced_volumes(pod))
		return;
	if (!vol_refreshed)
		vol_refreshed = json_object();
	json_t *last = json_object_get(vol_refreshed, uid);
	if (last && now - json_integer_value(last) < NODE_VOLUME_REFRESH_MS)
		return;
	json_object_set_new(vol_refreshed, uid, json_integer(now));
	_cleanup_json_ json_t *objects = json_object(), *tokens = json_object();
	struct berr *e = NULL;
	if (fetch_refs(nd, pod, objects, &e) < 0) {
		berr_free(e);
		return;
	}
	char pdir[PATH_MAX];
	pod_dir_of(nd, ns, pdir, sizeof(pdir));
	current_tokens(pdir, pod, tokens);
	struct kube_pod_ctx c = {.root = nd->o->root, .runroot = nd->o->runroot, .ns = ns, .objects = objects,
				 .network = nd->network, .gateway = nd->gateway, .poddir = pdir, .sa_tokens = tokens};
	int changed = 0;
	_cleanup_json_ json_t *p = json_deep_copy(pod);
	if (kube_podspec_refresh(&c, p, &changed, &e) < 0) {
		fprintf(stderr, "node %s: pod %s/%s: refreshing its volumes: %s\n", nd->name, ns, md_str(pod, "name"),
			e ? e->msg : "error");
		berr_free(e);
	}
}

/* The status last posted for uid ended the pod (the watch may not have
 * brought it back yet). */
static bool posted_terminal(const struct node *nd, const char *uid)
{
	const char *text = jsonx_str(nd->posted, uid);
	if (!text)
		return false;
	_cleanup_json_ json_t *st = json_loads(text, 0, NULL);
	return st && terminal(st);
}

/* spec.activeDeadlineSeconds counted from status.startTime is over. */
static bool deadline_passed(const json_t *pod, const json_t *st)
{
	json_t *d = json_object_get(json_object_get(pod, "spec"), "activeDeadlineSeconds");
	const char *start = jsonx_str(st, "startTime");
	if (!json_is_integer(d) || !start)
		return false;
	struct tm tm = {0};
	const char *end = strptime(start, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	return (long long)time(NULL) - (long long)timegm(&tm) >= json_integer_value(d);
}

/* The kubelet's status for a pod past its deadline: Failed with reason
 * DeadlineExceeded, nothing ready, and the containers that still run
 * terminated as the kubelet reports containers it no longer sees (their
 * exit codes are not known once the pod is removed below). */
static void deadline_status(json_t *st)
{
	json_object_set_new(st, "phase", json_string("Failed"));
	json_object_set_new(st, "reason", json_string("DeadlineExceeded"));
	json_object_set_new(st, "message", json_string("Pod was active on the node longer than the specified deadline"));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		const char *t = jsonx_str(c, "type");
		if (t && (!strcmp(t, "Ready") || !strcmp(t, "ContainersReady"))) {
			json_object_set_new(c, "status", json_string("False"));
			json_object_set_new(c, "reason", json_string("PodFailed"));
		}
	}
	static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(st, lists[k]), i, c) {
			json_object_set_new(c, "ready", json_false());
			json_t *state = json_object_get(c, "state");
			if (!json_object_get(state, "running") && !json_object_get(state, "waiting"))
				continue;
			json_object_set_new(c, "started", json_false());
			json_object_set_new(c, "state",
					    json_pack("{s:{s:i,s:s,s:s}}", "terminated", "exitCode", 137, "reason",
						      "ContainerStatusUnknown", "message",
						      "The container could not be located when the pod was terminated"));
		}
	}
}

void node_pods_pass(struct node *nd, bool *ret_busy)
{
	bool busy = false;
	long long now = node_ms();
	_cleanup_json_ json_t *rt = pod_list_node(nd->o->cs, nd->name);
	json_t *by_uid = json_object(), *by_name = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(rt, i, e) {
		const char *uid = jsonx_str(json_object_get(e, "meta"), "uid");
		char k[600];
		snprintf(k, sizeof(k), "%s/%s", jsonx_str(e, "namespace"), jsonx_str(e, "name"));
		if (uid)
			json_object_set(by_uid, uid, e);
		json_object_set(by_name, k, e);
	}
	const char *uid;
	json_t *pod;
	json_object_foreach(nd->desired, uid, pod) {
		const char *ns = md_str(pod, "namespace"), *name = md_str(pod, "name");
		if (json_object_get(nd->busy, uid)) {
			busy = true;
			continue;
		}
		json_t *have = json_object_get(by_uid, uid);
		if (md_str(pod, "deletionTimestamp")) {
			if (have) {
				size_t ci;
				json_t *cc;
				json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), ci, cc) {
					char m[320];
					snprintf(m, sizeof(m), "Stopping container %.250s",
						 jsonx_str(cc, "name") ? jsonx_str(cc, "name") : "");
					pod_event(nd, pod, jsonx_str(cc, "name"), "Normal", "Killing", m);
				}
				json_t *g = json_object_get(json_object_get(pod, "metadata"), "deletionGracePeriodSeconds");
				int grace = json_is_integer(g) ? (int)json_integer_value(g) : -1;
				pid_t pid = start_worker(nd, uid, "remove");
				if (pid == 0)
					remove_worker(nd, uid, ns, name, grace);
				busy = true;
			} else
				api_delete_pod(nd, pod);
			continue;
		}
		if (!have) {
			if (terminal(json_object_get(pod, "status")) || posted_terminal(nd, uid))
				continue; /* it ran and ended: nothing more to do */
			char k[600];
			snprintf(k, sizeof(k), "%s/%s", ns, name);
			if (json_object_get(by_name, k)) {
				busy = true; /* an older pod of that name is still going */
				continue;
			}
			json_t *rty = json_object_get(nd->retry, uid);
			if (rty && json_integer_value(json_object_get(rty, "at")) > now) {
				if (json_integer_value(json_object_get(rty, "at")) - now < 1000)
					busy = true; /* soon: keep the short poll */
				continue;
			}
			busy = true;
			if (json_object_size(nd->work) >= NODE_WORKERS)
				continue; /* the next pass, once a worker is done */
			start_create(nd, pod);
			continue;
		}
		struct berr *se = NULL;
		json_t *st0 = pod_status(nd->o->cs, ns, name);
		if (st0 && unsettled(st0)) {
			if (pod_sync(nd->o->cs, nd->o->is, ns, name, &se) < 0)
				berr_freep(&se);
			json_decref(st0);
			st0 = pod_status(nd->o->cs, ns, name);
		}
		if (!st0)
			continue;
		if (unsettled(st0))
			busy = true;
		if (!terminal(st0) && deadline_passed(pod, st0)) {
			/* the kubelet's activeDeadlineSeconds: the pod fails, its
			 * containers are stopped (the pod's grace period) */
			json_t *st = api_status(nd, pod, st0);
			deadline_status(st);
			pod_event(nd, pod, NULL, "Normal", "DeadlineExceeded",
				  "Pod was active on the node longer than the specified deadline");
			post_status(nd, pod, st);
			json_decref(st);
			json_decref(st0);
			pid_t pid = start_worker(nd, uid, "remove");
			if (pid == 0)
				remove_worker(nd, uid, ns, name, -1);
			busy = true;
			continue;
		}
		json_t *st = api_status(nd, pod, st0);
		if (post_status(nd, pod, st))
			nd->pods_changed = true; /* the Services' endpoints may have too */
		if (!terminal(st0))
			refresh_volumes(nd, pod, now);
		json_decref(st);
		json_decref(st0);
	}
	/* pods the API no longer has */
	json_array_foreach(rt, i, e) {
		const char *u = jsonx_str(json_object_get(e, "meta"), "uid");
		if (!u || json_object_get(nd->desired, u) || json_object_get(nd->busy, u))
			continue;
		pid_t pid = start_worker(nd, u, "remove");
		if (pid == 0)
			remove_worker(nd, u, jsonx_str(e, "namespace"), jsonx_str(e, "name"), -1);
		busy = true;
	}
	/* forget what belongs to pods gone from both */
	if (!vol_refreshed)
		vol_refreshed = json_object();
	json_t *maps[] = {nd->posted, nd->retry, nd->deleted, vol_refreshed};
	for (size_t m = 0; m < 4; m++) {
		void *tmp;
		const char *k;
		json_t *v;
		json_object_foreach_safe(maps[m], tmp, k, v) {
			if (!json_object_get(nd->desired, k) && !json_object_get(by_uid, k))
				json_object_del(maps[m], k);
		}
	}
	json_decref(by_uid);
	json_decref(by_name);
	*ret_busy = busy;
}

void node_result_line(struct node *nd, const char *line)
{
	_cleanup_json_ json_t *r = json_loads(line, 0, NULL);
	const char *uid = jsonx_str(r, "uid");
	if (!uid)
		return;
	json_t *pod = json_object_get(nd->desired, uid);
	if (pod)
		worker_events(nd, pod, json_object_get(r, "events"));
	if (json_is_true(json_object_get(r, "ok"))) {
		json_object_del(nd->retry, uid);
		if (pod && !json_is_true(json_object_get(r, "removed"))) {
			/* the containers the pod runtime made: the first init container
			 * or every app container */
			json_t *spec = json_object_get(pod, "spec");
			json_t *list = json_array_size(json_object_get(spec, "initContainers"))
					       ? json_object_get(spec, "initContainers")
					       : json_object_get(spec, "containers");
			size_t i;
			json_t *c;
			json_array_foreach(list, i, c) {
				const char *cn = jsonx_str(c, "name");
				char m[320];
				snprintf(m, sizeof(m), "Created container: %.250s", cn ? cn : "");
				pod_event(nd, pod, cn, "Normal", "Created", m);
				snprintf(m, sizeof(m), "Started container %.250s", cn ? cn : "");
				pod_event(nd, pod, cn, "Normal", "Started", m);
				if (list == json_object_get(spec, "initContainers"))
					break;
			}
		}
		if (json_is_true(json_object_get(r, "removed")) && pod && md_str(pod, "deletionTimestamp"))
			api_delete_pod(nd, pod);
		return;
	}
	const char *reason = jsonx_str(r, "reason"), *msg = jsonx_str(r, "message"), *ctr = jsonx_str(r, "container");
	if (!pod)
		return;
	fprintf(stderr, "node %s: pod %s/%s: %s: %s\n", nd->name, md_str(pod, "namespace"), md_str(pod, "name"),
		reason ? reason : "error", msg ? msg : "");
	json_t *rty = json_object_get(nd->retry, uid);
	long long delay = rty ? json_integer_value(json_object_get(rty, "delay")) * 2 : RETRY_MIN_MS;
	if (delay < RETRY_MIN_MS)
		delay = RETRY_MIN_MS;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	json_object_set_new(nd->retry, uid, json_pack("{s:I,s:I}", "at", (json_int_t)(node_ms() + delay), "delay",
						     (json_int_t)delay));
	json_t *ws = waiting_status(pod, reason ? reason : "CreateContainerError", msg, ctr && *ctr ? ctr : NULL);
	post_status(nd, pod, ws);
	json_decref(ws);
	char m[1200];
	snprintf(m, sizeof(m), "%s%.1100s", reason && strstr(reason, "Pull") ? "" : "Error: ", msg ? msg : "");
	pod_event(nd, pod, ctr, "Warning", "Failed", m);
}

void node_worker_done(struct node *nd, pid_t pid, int status)
{
	char k[24];
	snprintf(k, sizeof(k), "%d", (int)pid);
	json_t *w = json_object_get(nd->work, k);
	if (!w)
		return;
	const char *uid = jsonx_str(w, "uid"), *op = jsonx_str(w, "op");
	json_t *pod = uid ? json_object_get(nd->desired, uid) : NULL;
	if (pod && !nd->o->quiet && WIFEXITED(status) && WEXITSTATUS(status) == 0 && op && strcmp(op, "sync"))
		fprintf(stderr, "node %s: pod %s/%s: %s in %lld ms\n", nd->name, md_str(pod, "namespace"),
			md_str(pod, "name"), !strcmp(op, "create") ? "started" : "stopped",
			node_ms() - (long long)json_integer_value(json_object_get(w, "t0")));
	if (uid)
		json_object_del(nd->busy, uid);
	json_object_del(nd->work, k);
}
