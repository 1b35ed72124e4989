/* The cluster's side of joining (cluster-join.h). */
#include "kube/cluster-join.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "compose/yaml.h"
#include "kube/client-int.h"
#include "kube/client.h"
#include "kube/join.h"
#include "kube/pki.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

/* Server-side apply of obj (force: these objects are the cluster's own). */
static int apply(struct kube_client *c, const char *base, const char *name, json_t *obj, struct berr **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT);
	if (!body || asprintf(&path, "%s/%s?fieldManager=berth&force=true", base, name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	struct kube_resp r = {0};
	if (kube_request(c, "PATCH", path, "application/apply-patch+yaml", body, strlen(body), &r, err) < 0)
		return -1;
	int rc = 0;
	if (r.status < 200 || r.status > 299) {
		char what[300];
		snprintf(what, sizeof(what), "applying %s %s", jsonx_str(obj, "kind") ?: "?", name);
		rc = kube_status_error(&r, what, err);
	}
	kube_resp_release(&r);
	return rc;
}

static json_t *binding(const char *kind, const char *name, const char *ns, const char *role_kind, const char *role,
		       const char *subj_kind, const char *subj)
{
	json_t *meta = json_pack("{s:s}", "name", name);
	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	return json_pack("{s:s,s:s,s:o,s:{s:s,s:s,s:s},s:[{s:s,s:s}]}", "apiVersion", "rbac.authorization.k8s.io/v1",
			 "kind", kind, "metadata", meta, "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind",
			 role_kind, "name", role, "subjects", "kind", subj_kind, "name", subj);
}

static char *file_b64(const char *path, struct berr **err)
{
	char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, err) < 0)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)buf, (int)len);
	free(buf);
	return out;
}

static int admin_client(const char *admin_kubeconfig, struct kube_client **ret, struct berr **err)
{
	struct kube_client_opts co = {.kubeconfig = admin_kubeconfig, .timeout_ms = 10000};
	return kube_client_open(&co, ret, err);
}

int kc_join_prepare(const char *admin_kubeconfig, const char *server, const char *ca_file, struct berr **err)
{
	_cleanup_free_ char *ca = file_b64(ca_file, err);
	if (!ca)
		return -1;
	struct kube_client *c = NULL;
	if (admin_client(admin_kubeconfig, &c, err) < 0)
		return -1;
	/* cluster-info's kubeconfig as kubeadm writes it: one unnamed cluster, no users */
	json_t *kc = json_pack("{s:s,s:s,s:[{s:s,s:{s:s,s:s}}],s:n,s:s,s:n,s:{}}", "apiVersion", "v1", "kind",
			       "Config", "clusters", "name", "", "cluster", "certificate-authority-data", ca, "server",
			       server, "contexts", "current-context", "", "users", "preferences");
	struct sbuf y = SBUF_INIT;
	compose_yaml_emit(kc, &y);
	json_decref(kc);
	const char *CR = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
	const char *CRB = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
	const char *ROLES = "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/roles";
	const char *RBS = "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings";
	struct {
		const char *base, *name;
		json_t *obj;
	} objs[] = {
		{"/api/v1/namespaces/kube-public/configmaps", "cluster-info",
		 json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
			   "cluster-info", "namespace", "kube-public", "data", "kubeconfig", y.s)},
		{ROLES, "berth:bootstrap-signer-clusterinfo",
		 json_pack("{s:s,s:s,s:{s:s,s:s},s:[{s:[s],s:[s],s:[s],s:[s]}]}", "apiVersion",
			   "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", "name",
			   "berth:bootstrap-signer-clusterinfo", "namespace", "kube-public", "rules", "apiGroups", "",
			   "resources", "configmaps", "resourceNames", "cluster-info", "verbs", "get")},
		{RBS, "berth:bootstrap-signer-clusterinfo",
		 binding("RoleBinding", "berth:bootstrap-signer-clusterinfo", "kube-public", "Role",
			 "berth:bootstrap-signer-clusterinfo", "User", "system:anonymous")},
		{CRB, "berth:kubelet-bootstrap",
		 binding("ClusterRoleBinding", "berth:kubelet-bootstrap", NULL, "ClusterRole", "system:node-bootstrapper",
			 "Group", KC_JOIN_GROUP)},
		{CRB, "berth:node-autoapprove-bootstrap",
		 binding("ClusterRoleBinding", "berth:node-autoapprove-bootstrap", NULL, "ClusterRole",
			 "system:certificates.k8s.io:certificatesigningrequests:nodeclient", "Group", KC_JOIN_GROUP)},
		{CRB, "berth:node-autoapprove-certificate-rotation",
		 binding("ClusterRoleBinding", "berth:node-autoapprove-certificate-rotation", NULL, "ClusterRole",
			 "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "Group", "system:nodes")},
		{CR, "berth:get-nodes",
		 json_pack("{s:s,s:s,s:{s:s},s:[{s:[s],s:[s],s:[s]}]}", "apiVersion", "rbac.authorization.k8s.io/v1",
			   "kind", "ClusterRole", "metadata", "name", "berth:get-nodes", "rules", "apiGroups", "",
			   "resources", "nodes", "verbs", "get")},
		{CRB, "berth:get-nodes",
		 binding("ClusterRoleBinding", "berth:get-nodes", NULL, "ClusterRole", "berth:get-nodes", "Group",
			 KC_JOIN_GROUP)},
		/* host-gw routes: each node lists and watches the others (their
		 * podCIDRs, addresses and readiness), which the Node authorizer
		 * leaves to RBAC since AuthorizeNodeWithSelectors */
		{CR, "berth:node-routes",
		 json_pack("{s:s,s:s,s:{s:s},s:[{s:[s],s:[s],s:[s,s,s]}]}", "apiVersion", "rbac.authorization.k8s.io/v1",
			   "kind", "ClusterRole", "metadata", "name", "berth:node-routes", "rules", "apiGroups", "",
			   "resources", "nodes", "verbs", "get", "list", "watch")},
		{CRB, "berth:node-routes",
		 binding("ClusterRoleBinding", "berth:node-routes", NULL, "ClusterRole", "berth:node-routes", "Group",
			 "system:nodes")},
	};
	sbuf_release(&y);
	int r = 0;
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		if (r == 0 && apply(c, objs[i].base, objs[i].name, objs[i].obj, err) < 0)
			r = -1;
		json_decref(objs[i].obj);
	}
	kube_client_free(c);
	return r;
}

/* ---- tokens ---- */

/* $ROOT/kube-clusters/NAME: its admin kubeconfig, CA and cluster.json. */
struct cl {
	char dir[PATH_MAX];
	char admin[PATH_MAX + 32], ca[PATH_MAX + 32];
	json_t *doc;
};

static int cl_open(const struct kube_cluster_opts *o, struct cl *k, struct kube_client **ret, struct berr **err)
{
	memset(k, 0, sizeof(*k));
	const char *name = o->name && *o->name ? o->name : KUBE_CLUSTER_DEFAULT_NAME;
	if (kube_cluster_name_check(name, err) < 0)
		return -1;
	char root[PATH_MAX];
	if (!realpath(o->root, root))
		return berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\" (no store %s)", name, o->root);
	if (snprintf(k->dir, sizeof(k->dir), "%s/kube-clusters/%s", root, name) >= (int)sizeof(k->dir))
		return berr_setc(err, BERR_INVALID, "--root: the path is too long");
	_cleanup_close_ int dfd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (dfd < 0 || fstatat(dfd, "cluster.json", &st, 0) < 0)
		return berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\" (see 'berth kube cluster up --name %s')", name,
				 name);
	if (!(k->doc = jsonx_load_at(dfd, "cluster.json", 1 << 20, err)))
		return -1;
	snprintf(k->admin, sizeof(k->admin), "%s/admin.kubeconfig", k->dir);
	snprintf(k->ca, sizeof(k->ca), "%s/pki/ca.crt", k->dir);
	if (admin_client(k->admin, ret, err) < 0) {
		json_decref(k->doc);
		k->doc = NULL;
		return berr_wrap(err, "cluster %s", name);
	}
	return 0;
}

static void cl_close(struct cl *k, struct kube_client *c)
{
	json_decref(k->doc);
	kube_client_free(c);
}

int kube_cluster_token_create(const struct kube_cluster_opts *o, long long ttl_s, const char *description,
			      char ret_token[24], char **ret_join, struct berr **err)
{
	struct cl k;
	struct kube_client *c = NULL;
	if (cl_open(o, &k, &c, err) < 0)
		return -1;
	int r = -1;
	char tok[24];
	json_t *sec = NULL;
	if (kube_join_token_new(tok, err) < 0)
		goto out;
	char id[7], secret[17];
	memcpy(id, tok, 6);
	id[6] = 0;
	memcpy(secret, tok + 7, 16);
	secret[16] = 0;
	json_t *sd = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "token-id", id, "token-secret", secret,
			       "usage-bootstrap-authentication", "true", "usage-bootstrap-signing", "true",
			       "auth-extra-groups", KC_JOIN_GROUP, "description",
			       description && *description ? description : "made by berth kube cluster token create");
	if (ttl_s > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)ttl_s;
		ts.tv_nsec = 0;
		char exp[64];
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(sd, "expiration", json_string(exp));
	}
	char name[64];
	snprintf(name, sizeof(name), "bootstrap-token-%s", id);
	sec = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:o}", "apiVersion", "v1", "kind", "Secret",
					       "metadata", "name", name, "namespace", "kube-system", "type",
					       "bootstrap.kubernetes.io/token", "stringData", sd);
	if (kube_post(c, "/api/v1/namespaces/kube-system/secrets", sec, NULL, err) < 0) {
		berr_wrap(err, "making the bootstrap token");
		goto out;
	}
	if (ret_join) {
		char *pem = NULL;
		size_t len = 0;
		char hex[65];
		const char *ip = jsonx_str(k.doc, "nodeIP");
		int port = (int)json_integer_value(json_object_get(json_object_get(k.doc, "ports"), "apiserver"));
		if (fs_read_file_at(AT_FDCWD, k.ca, 1 << 20, &pem, &len, err) < 0)
			goto out;
		int hr = pki_spki_sha256(pem, len, hex, err);
		free(pem);
		if (hr < 0) {
			berr_wrap(err, "%s", k.ca);
			goto out;
		}
		bool v6 = ip && strchr(ip, ':');
		if (asprintf(ret_join, "berth kube node join --server https://%s%s%s:%d --token %s --ca-cert-hash sha256:%s",
			     v6 ? "[" : "", ip ? ip : "127.0.0.1", v6 ? "]" : "", port, tok, hex) < 0) {
			berr_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	memcpy(ret_token, tok, 24);
	r = 0;
out:
	json_decref(sec);
	cl_close(&k, c);
	return r;
}

static char *data_str(json_t *data, const char *key)
{
	const char *v = jsonx_str(data, key);
	size_t n = 0;
	return v ? kube_base64_decode(v, &n) : NULL;
}

int kube_cluster_token_list(const struct kube_cluster_opts *o, json_t **ret, struct berr **err)
{
	struct cl k;
	struct kube_client *c = NULL;
	if (cl_open(o, &k, &c, err) < 0)
		return -1;
	json_t *list = NULL;
	int r = kube_get(c, "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken",
			 &list, err);
	if (r < 0) {
		cl_close(&k, c);
		return berr_wrap(err, "listing the bootstrap tokens");
	}
	json_t *out = json_array();
	size_t i;
	json_t *s;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_array_foreach(json_object_get(list, "items"), i, s) {
		json_t *data = json_object_get(s, "data");
		_cleanup_free_ char *id = data_str(data, "token-id"), *sec = data_str(data, "token-secret");
		_cleanup_free_ char *exp = data_str(data, "expiration"), *desc = data_str(data, "description");
		_cleanup_free_ char *groups = data_str(data, "auth-extra-groups");
		if (!id || !sec)
			continue;
		json_t *usages = json_array();
		const char *key;
		json_t *v;
		json_object_foreach(data, key, v) {
			if (!strncmp(key, "usage-bootstrap-", 16)) {
				_cleanup_free_ char *t = data_str(data, key);
				if (t && !strcmp(t, "true"))
					json_array_append_new(usages, json_string(key + 16));
			}
		}
		char tok[64];
		snprintf(tok, sizeof(tok), "%s.%s", id, sec);
		json_t *e = json_pack("{s:s,s:o,s:s,s:s}", "token", tok, "usages", usages, "description", desc ? desc : "",
				      "groups", groups ? groups : "");
		struct timespec ts;
		if (exp && time_parse_rfc3339(exp, &ts) == 0) {
			json_object_set_new(e, "expires", json_string(exp));
			/* whole seconds of what is left, as kubeadm's (a token made this
			 * second has 23h59m59.x of its 24h left: "23h") */
			json_object_set_new(e, "ttl", json_integer((json_int_t)(ts.tv_sec - now.tv_sec -
										(now.tv_nsec > ts.tv_nsec))));
		} else {
			json_object_set_new(e, "expires", json_null());
			json_object_set_new(e, "ttl", json_null());
		}
		json_array_append_new(out, e);
	}
	json_decref(list);
	cl_close(&k, c);
	*ret = out;
	return 0;
}

int kube_cluster_token_delete(const struct kube_cluster_opts *o, const char *token, struct berr **err)
{
	char id[7], secret[17];
	if (token && strlen(token) == 6) {
		char full[24];
		snprintf(full, sizeof(full), "%s.0000000000000000", token);
		if (kube_join_token_parse(full, id, secret, err) < 0)
			return berr_setc(err, BERR_INVALID, "invalid token ID \"%s\": [a-z0-9]{6}", token);
	} else if (kube_join_token_parse(token, id, secret, err) < 0) {
		return -1;
	}
	struct cl k;
	struct kube_client *c = NULL;
	if (cl_open(o, &k, &c, err) < 0)
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/namespaces/kube-system/secrets/bootstrap-token-%s", id);
	int r = kube_delete(c, path, NULL, NULL, err);
	if (r < 0 && err && *err && (*err)->code == BERR_NOT_FOUND)
		berr_setc(err, BERR_NOT_FOUND, "no bootstrap token with ID \"%s\"", id);
	else if (r < 0)
		berr_wrap(err, "deleting bootstrap token %s", id);
	cl_close(&k, c);
	return r;
}
