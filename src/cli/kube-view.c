/* The objects the kube commands read (kube-view.h): the desired objects
 * with the supervisor's status, its ReplicaSets, the pod runtime's pods as
 * Pod objects, claims bound to their berth volumes, namespaces. */
#include "cli/kube-view.h"
#include "kube/podspec.h"
#include "kube/selector.h"
#include "kube/store.h"
#include "runtime/pod.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void kview_init(struct kview *v, struct cli *c, struct ctr_store *cs)
{
	memset(v, 0, sizeof(*v));
	v->c = c;
	v->cs = cs;
	v->docs = json_object();
	if (gethostname(v->host, sizeof(v->host) - 1) < 0 || !*v->host)
		snprintf(v->host, sizeof(v->host), "localhost");
}

void kview_release(struct kview *v)
{
	json_decref(v->docs);
	v->docs = NULL;
}

bool kview_name_ok(const char *s, bool label)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > (label ? 63 : 253))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && ch != '-' && (label || ch != '.'))
			return false;
		if (!alnum && (i == 0 || i == n - 1))
			return false;
	}
	return true;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* objects.json and status.json of ns, read once per command */
static json_t *docs(struct kview *v, const char *ns)
{
	json_t *d = json_object_get(v->docs, ns);
	if (d)
		return d;
	struct berr *e = NULL;
	json_t *objs = kube_store_objects(v->c->root, ns, &e);
	if (!objs) {
		fprintf(stderr, "error: %s\n", e ? e->msg : "reading the store");
		berr_free(e);
		objs = json_pack("{s:{},s:i}", "objects", "generation", 0);
	}
	d = json_pack("{s:o,s:o}", "objects", objs, "status", kube_store_status(v->c->root, ns));
	json_object_set_new(v->docs, ns, d);
	return d;
}

static json_t *desired(struct kview *v, const char *ns)
{
	return json_object_get(json_object_get(docs(v, ns), "objects"), "objects");
}

static json_t *supervised(struct kview *v, const char *ns)
{
	return json_object_get(docs(v, ns), "status");
}

static const char *obj_name(const json_t *o)
{
	return jsonx_str(json_object_get(o, "metadata"), "name");
}

static const char *obj_ns(const json_t *o)
{
	return jsonx_str(json_object_get(o, "metadata"), "namespace");
}

static int cmp_obj(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = obj_ns(x), *ny = obj_ns(y);
	int c = strcmp(nx ? nx : "", ny ? ny : "");
	if (c)
		return c;
	const char *ax = obj_name(x), *ay = obj_name(y);
	return strcmp(ax ? ax : "", ay ? ay : "");
}

static void sort_objects(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_obj);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static json_t *obj_metadata(json_t *o)
{
	json_t *md = json_object_get(o, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	return md;
}

static json_t *obj_member(json_t *o, const char *key)
{
	json_t *m = json_object_get(o, key);
	if (!json_is_object(m)) {
		m = json_object();
		json_object_set_new(o, key, m);
	}
	return m;
}

/* ownerReferences as the API has them: apiVersion filled in, and a
 * Deployment's pods owned by their ReplicaSet (NAME-HASH). */
static void owner_refs(json_t *md, const json_t *meta)
{
	json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
	const char *kind = jsonx_str(ref, "kind"), *hash = jsonx_str(meta, "templateHash");
	if (!kind)
		return;
	if (!strcmp(kind, "Deployment") && hash && *hash) {
		char rs[320];
		snprintf(rs, sizeof(rs), "%s-%s", jsonx_str(ref, "name") ? jsonx_str(ref, "name") : "", hash);
		json_object_set_new(ref, "kind", json_string("ReplicaSet"));
		json_object_set_new(ref, "name", json_string(rs));
		kind = "ReplicaSet";
	}
	const struct kt_kind *k = kt_kind_find(kind);
	if (k && !jsonx_str(ref, "apiVersion"))
		json_object_set_new(ref, "apiVersion", json_string(k->api_version));
}

/* A Pod object from a pod of the runtime: the meta the reconciler keeps
 * (metadata and the template's spec) and pod_status. */
static json_t *pod_object(struct kview *v, const char *ns, const json_t *entry)
{
	const char *name = jsonx_str(entry, "name");
	if (!name)
		return NULL;
	json_t *status = pod_status(v->cs, ns, name);
	if (!status)
		return NULL; /* gone since pod_list */
	json_object_del(status, "berth");
	const json_t *meta = json_object_get(entry, "meta");
	json_t *md = json_deep_copy(json_object_get(meta, "metadata"));
	if (!json_is_object(md)) {
		json_decref(md);
		md = json_object();
	}
	json_object_set_new(md, "name", json_string(name));
	json_object_set_new(md, "namespace", json_string(ns));
	json_t *spec = json_deep_copy(json_object_get(meta, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	if (!json_is_array(json_object_get(spec, "containers"))) {
		/* no template known: the containers the status lists */
		json_t *cs = json_array();
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(status, "containerStatuses"), i, c)
			json_array_append_new(cs, json_pack("{s:s?,s:s?}", "name", jsonx_str(c, "name"), "image",
							    jsonx_str(c, "image")));
		json_object_set_new(spec, "containers", cs);
	}
	json_object_set_new(spec, "nodeName", json_string(v->host));
	owner_refs(md, meta);
	/* the supervisor is removing it (graceful stop in progress) */
	const json_t *sp = json_object_get(json_object_get(supervised(v, ns), "pods"), name);
	if (json_is_true(json_object_get(sp, "terminating")) && !jsonx_str(md, "deletionTimestamp")) {
		char t[64];
		now_rfc3339(t, sizeof(t));
		json_object_set_new(md, "deletionTimestamp", json_string(t));
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md, "spec", spec,
			 "status", status);
}

static void list_pods(struct kview *v, const char *ns, json_t *out)
{
	_cleanup_json_ json_t *pods = pod_list_local(v->cs, ns);
	size_t i;
	json_t *e;
	json_array_foreach(pods, i, e)
	{
		json_t *p = pod_object(v, jsonx_str(e, "namespace") ? jsonx_str(e, "namespace") : ns, e);
		if (p)
			json_array_append_new(out, p);
	}
}

/* A claim is bound once its berth volume exists. */
static void pvc_status(struct kview *v, const char *ns, json_t *o)
{
	if (json_is_object(json_object_get(o, "status")) && jsonx_str(json_object_get(o, "status"), "phase"))
		return;
	char vol[320];
	kube_claim_volume(ns, obj_name(o), vol, sizeof(vol));
	struct berr *e = NULL;
	_cleanup_json_ json_t *vi = volume_inspect(v->c->root, vol, &e);
	berr_free(e);
	json_t *st = obj_member(o, "status"), *spec = obj_member(o, "spec");
	if (!vi) {
		json_object_set_new(st, "phase", json_string("Pending"));
		return;
	}
	json_object_set_new(st, "phase", json_string("Bound"));
	json_object_set_new(spec, "volumeName", json_string(vol));
	const char *size = jsonx_str(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
	if (size)
		json_object_set_new(st, "capacity", json_pack("{s:s}", "storage", size));
	if (json_is_array(json_object_get(spec, "accessModes")))
		json_object_set(st, "accessModes", json_object_get(spec, "accessModes"));
}

/* The desired object with what the supervisor reports: its status, and
 * for Services the allocations (clusterIP, nodePorts). */
static json_t *full_object(struct kview *v, const struct kt_kind *k, const char *ns, const json_t *obj,
			   const json_t *st)
{
	json_t *o = json_deep_copy(obj);
	json_t *md = obj_metadata(o);
	if (k->namespaced && !jsonx_str(md, "namespace"))
		json_object_set_new(md, "namespace", json_string(ns));
	if (!jsonx_str(o, "apiVersion"))
		json_object_set_new(o, "apiVersion", json_string(k->api_version));
	if (!jsonx_str(o, "kind"))
		json_object_set_new(o, "kind", json_string(k->kind));
	if (json_is_object(json_object_get(st, "status")))
		json_object_set(o, "status", json_object_get(st, "status"));
	const json_t *sspec = json_object_get(st, "spec");
	if (json_is_object(sspec)) {
		/* what was allocated: the clusterIP, and per port (index-aligned)
		 * its nodePort; the ports themselves stay as desired */
		json_t *spec = obj_member(o, "spec");
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)sspec, key, val)
		{
			if (json_is_null(val))
				continue;
			if (strcmp(key, "ports")) {
				json_object_set(spec, key, val);
				continue;
			}
			json_t *ports = json_object_get(spec, "ports");
			size_t i;
			json_t *p;
			json_array_foreach(ports, i, p)
			{
				json_t *np = json_object_get(json_array_get(val, i), "nodePort");
				if (json_is_integer(np) && json_integer_value(np) > 0)
					json_object_set(p, "nodePort", np);
			}
		}
	}
	if (!strcmp(k->kind, "Service")) {
		json_t *spec = obj_member(o, "spec");
		const char *ip = jsonx_str(spec, "clusterIP");
		if (ip && *ip && !json_array_size(json_object_get(spec, "clusterIPs")))
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
	}
	if (!strcmp(k->kind, "PersistentVolumeClaim"))
		pvc_status(v, ns, o);
	if (k->namespaced && strcmp(k->kind, "ConfigMap") && strcmp(k->kind, "Secret"))
		obj_member(o, "status");
	return o;
}

/* A ReplicaSet the supervisor keeps for a Deployment, with the selector and
 * template kubectl -o wide shows (from the Deployment and the set's pods). */
static json_t *rs_object(struct kview *v, const char *ns, const json_t *rs)
{
	json_t *o = json_deep_copy(rs);
	json_t *md = obj_metadata(o);
	const char *owner = jsonx_str(md, "ownerKey");
	const json_t *dep = owner ? json_object_get(desired(v, ns), owner) : NULL;
	json_t *spec = obj_member(o, "spec");
	const char *hash = jsonx_str(json_object_get(md, "labels"), "pod-template-hash");
	const json_t *dsel = json_object_get(json_object_get(dep, "spec"), "selector");
	if (json_is_object(dsel) && !json_object_get(spec, "selector")) {
		json_t *sel = json_deep_copy(dsel);
		if (hash)
			json_object_set_new(obj_member(sel, "matchLabels"), "pod-template-hash", json_string(hash));
		json_object_set_new(spec, "selector", sel);
	}
	if (!json_object_get(spec, "template")) {
		/* the template of that revision: any of its pods has it */
		const json_t *pspec = NULL;
		_cleanup_json_ json_t *pods = pod_list_local(v->cs, ns);
		size_t i;
		json_t *e;
		json_array_foreach(pods, i, e)
		{
			const json_t *meta = json_object_get(e, "meta");
			const char *h = jsonx_str(meta, "templateHash"), *ow = jsonx_str(meta, "owner");
			if (hash && h && !strcmp(h, hash) && (!ow || !owner || !strcmp(ow, owner))) {
				pspec = json_object_get(meta, "spec");
				break;
			}
		}
		if (!pspec)
			pspec = json_object_get(json_object_get(json_object_get(dep, "spec"), "template"), "spec");
		json_object_set_new(spec, "template",
				    json_pack("{s:{s:O?},s:O?}", "metadata", "labels", json_object_get(md, "labels"),
					      "spec", pspec));
	}
	json_object_del(md, "ownerKey");
	if (!jsonx_str(md, "namespace"))
		json_object_set_new(md, "namespace", json_string(ns));
	return o;
}

static void list_ns_kind(struct kview *v, const struct kt_kind *k, const char *ns, json_t *out)
{
	if (!strcmp(k->kind, "Pod")) {
		list_pods(v, ns, out);
		return;
	}
	const json_t *objs = desired(v, ns), *st = json_object_get(supervised(v, ns), "objects");
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "%s/", k->kind);
	size_t pl = strlen(prefix);
	const char *key;
	json_t *obj;
	json_object_foreach((json_t *)objs, key, obj) if (!strncmp(key, prefix, pl))
		json_array_append_new(out, full_object(v, k, ns, obj, json_object_get(st, key)));
	if (!strcmp(k->kind, "ReplicaSet")) {
		json_object_foreach(json_object_get(supervised(v, ns), "replicasets"), key, obj)
			json_array_append_new(out, rs_object(v, ns, obj));
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

json_t *kview_namespaces(struct kview *v)
{
	json_t *set = json_object();
	json_object_set_new(set, "default", json_true());
	_cleanup_json_ json_t *dirs = kube_store_namespaces(v->c->root);
	size_t i;
	json_t *e;
	json_array_foreach(dirs, i, e) if (kview_name_ok(json_string_value(e), true))
		json_object_set_new(set, json_string_value(e), json_true());
	_cleanup_json_ json_t *pods = pod_list_local(v->cs, NULL);
	json_array_foreach(pods, i, e)
	{
		const char *ns = jsonx_str(e, "namespace");
		if (ns && kview_name_ok(ns, true))
			json_object_set_new(set, ns, json_true());
	}
	json_t *out = json_array();
	const char *k;
	json_t *x;
	json_object_foreach(set, k, x) json_array_append_new(out, json_string(k));
	json_decref(set);
	size_t n = json_array_size(out);
	json_t **arr = malloc((n ? n : 1) * sizeof(*arr));
	for (i = 0; i < n; i++)
		arr[i] = json_incref(json_array_get(out, i));
	qsort(arr, n, sizeof(*arr), cmp_cstr);
	json_array_clear(out);
	for (i = 0; i < n; i++)
		json_array_append_new(out, arr[i]);
	free(arr);
	return out;
}

/* Namespaces have no record of their own unless a Namespace object was
 * played: then it gives the labels and the creation time; else the
 * store directory's birth. */
static json_t *ns_object(struct kview *v, const char *name)
{
	json_t *o = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
			      "metadata", "name", name, "labels", "kubernetes.io/metadata.name", name, "spec",
			      "finalizers", "kubernetes", "status", "phase", "Active");
	char key[320];
	snprintf(key, sizeof(key), "Namespace/%s", name);
	const json_t *played = json_object_get(desired(v, name), key);
	if (!played)
		played = json_object_get(desired(v, "default"), key);
	json_t *md = json_object_get(o, "metadata");
	const json_t *pmd = json_object_get(played, "metadata");
	if (json_is_object(json_object_get(pmd, "labels")))
		json_object_update(json_object_get(md, "labels"), json_object_get(pmd, "labels"));
	if (json_is_object(json_object_get(pmd, "annotations")))
		json_object_set(md, "annotations", json_object_get(pmd, "annotations"));
	const char *ct = jsonx_str(pmd, "creationTimestamp");
	if (ct) {
		json_object_set_new(md, "creationTimestamp", json_string(ct));
	} else {
		_cleanup_free_ char *path = NULL;
		struct statx sx;
		if (asprintf(&path, "%s/kube/%s", v->c->root, name) >= 0 &&
		    statx(AT_FDCWD, path, 0, STATX_BTIME | STATX_MTIME, &sx) == 0) {
			time_t t = (sx.stx_mask & STATX_BTIME) ? (time_t)sx.stx_btime.tv_sec : (time_t)sx.stx_mtime.tv_sec;
			struct tm tm;
			char b[64];
			gmtime_r(&t, &tm);
			strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
			json_object_set_new(md, "creationTimestamp", json_string(b));
		}
	}
	return o;
}

json_t *kview_list(struct kview *v, const struct kt_kind *k, const char *ns)
{
	json_t *out = json_array();
	if (!strcmp(k->kind, "Namespace")) {
		_cleanup_json_ json_t *nss = kview_namespaces(v);
		size_t i;
		json_t *e;
		json_array_foreach(nss, i, e) json_array_append_new(out, ns_object(v, json_string_value(e)));
		return out;
	}
	if (ns) {
		list_ns_kind(v, k, ns, out);
	} else {
		_cleanup_json_ json_t *nss = kview_namespaces(v);
		size_t i;
		json_t *e;
		json_array_foreach(nss, i, e) list_ns_kind(v, k, json_string_value(e), out);
	}
	sort_objects(out);
	return out;
}

json_t *kview_get(struct kview *v, const struct kt_kind *k, const char *ns, const char *name)
{
	if (!strcmp(k->kind, "Pod")) {
		_cleanup_json_ json_t *pods = pod_list_local(v->cs, ns);
		size_t i;
		json_t *e;
		json_array_foreach(pods, i, e)
		{
			const char *n = jsonx_str(e, "name");
			if (n && !strcmp(n, name))
				return pod_object(v, ns, e);
		}
		return NULL;
	}
	_cleanup_json_ json_t *all = kview_list(v, k, ns);
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		const char *n = obj_name(o);
		if (n && !strcmp(n, name))
			return json_incref(o);
	}
	return NULL;
}

/* ---- pods for logs and exec ---- */

static const json_t *cond_of(const json_t *pod, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
	{
		const char *t = jsonx_str(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static int phase_rank(const json_t *pod)
{
	const char *p = jsonx_str(json_object_get(pod, "status"), "phase");
	if (p && !strcmp(p, "Pending"))
		return 2;
	if (p && !strcmp(p, "Unknown"))
		return 1;
	return 0;
}

static long max_restarts(const json_t *pod)
{
	long m = 0;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i, c)
	{
		long r = (long)json_integer_value(json_object_get(c, "restartCount"));
		if (r > m)
			m = r;
	}
	return m;
}

static int64_t ts_of(const char *s)
{
	struct timespec t;
	if (!s || time_parse_rfc3339(s, &t) < 0)
		return INT64_MAX; /* no time sorts last */
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* kubectl's podutils.ByLogging */
static int cmp_logging(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int px = phase_rank(x), py = phase_rank(y);
	if (px != py)
		return px - py;
	const json_t *rx = cond_of(x, "Ready"), *ry = cond_of(y, "Ready");
	bool ready_x = rx && !strcmp(jsonx_str(rx, "status") ? jsonx_str(rx, "status") : "", "True");
	bool ready_y = ry && !strcmp(jsonx_str(ry, "status") ? jsonx_str(ry, "status") : "", "True");
	if (ready_x != ready_y)
		return ready_x ? -1 : 1;
	if (ready_x) {
		int64_t tx = ts_of(jsonx_str(rx, "lastTransitionTime")), ty = ts_of(jsonx_str(ry, "lastTransitionTime"));
		if (tx != ty)
			return tx < ty ? -1 : 1;
	}
	long mx = max_restarts(x), my = max_restarts(y);
	if (mx != my)
		return mx > my ? -1 : 1;
	int64_t cx = ts_of(jsonx_str(json_object_get(x, "metadata"), "creationTimestamp")),
		cy = ts_of(jsonx_str(json_object_get(y, "metadata"), "creationTimestamp"));
	if (cx != cy)
		return cx < cy ? -1 : 1;
	return strcmp(obj_name(x) ? obj_name(x) : "", obj_name(y) ? obj_name(y) : "");
}

static void resource_ref(const struct kt_kind *k, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", k->plural, *k->group ? "." : "", k->group);
}

json_t *kview_pods_for(struct kview *v, const char *ns, const char *ref, char *msg, size_t n)
{
	const char *slash = strchr(ref, '/');
	const struct kt_kind *k = kt_kind_find("pods");
	_cleanup_free_ char *type = slash ? strndup(ref, (size_t)(slash - ref)) : NULL;
	const char *name = slash ? slash + 1 : ref;
	if (type) {
		k = kt_kind_find(type);
		if (!k) {
			snprintf(msg, n, "error: the server doesn't have a resource type \"%s\"", type);
			return NULL;
		}
	}
	if (!kview_name_ok(name, false)) {
		snprintf(msg, n, "error: invalid resource name \"%s\": a lowercase RFC 1123 subdomain must consist of "
			 "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
			 "character", name);
		return NULL;
	}
	char rr[96];
	resource_ref(k, rr, sizeof(rr));
	json_t *obj = kview_get(v, k, ns, name);
	if (!obj) {
		snprintf(msg, n, "Error from server (NotFound): %s \"%s\" not found", rr, name);
		return NULL;
	}
	if (!strcmp(k->kind, "Pod"))
		return json_pack("[o]", obj);
	const json_t *spec = json_object_get(obj, "spec");
	bool svc = !strcmp(k->kind, "Service");
	if (!svc && strcmp(k->kind, "Deployment") && strcmp(k->kind, "ReplicaSet") && strcmp(k->kind, "StatefulSet") &&
	    strcmp(k->kind, "DaemonSet") && strcmp(k->kind, "Job")) {
		char pfx[64];
		kt_kind_prefix(k, pfx, sizeof(pfx));
		snprintf(msg, n, "error: cannot attach to %s/%s: it has no pods (use a pod, or a deployment, "
			 "replicaset, statefulset, daemonset, job or service)", pfx, name);
		json_decref(obj);
		return NULL;
	}
	const json_t *sel = json_object_get(spec, "selector");
	_cleanup_json_ json_t *jobsel = NULL;
	if (!strcmp(k->kind, "Job") && !json_is_object(sel)) {
		/* the API server gives a Job a selector on the labels it puts on its pods */
		jobsel = json_pack("{s:{s:s}}", "matchLabels", "job-name", name);
		sel = jobsel;
	}
	json_t *pods = kview_list(v, kt_kind_find("pods"), ns), *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		const json_t *labels = json_object_get(json_object_get(p, "metadata"), "labels");
		bool match = svc ? json_object_size(sel) && kube_map_match(sel, labels)
				 : json_is_object(sel) && kube_selector_match(sel, labels);
		if (match)
			json_array_append(out, p);
	}
	json_decref(pods);
	json_decref(obj);
	size_t cnt = json_array_size(out);
	json_t **arr = malloc((cnt ? cnt : 1) * sizeof(*arr));
	for (i = 0; i < cnt; i++)
		arr[i] = json_incref(json_array_get(out, i));
	qsort(arr, cnt, sizeof(*arr), cmp_logging);
	json_array_clear(out);
	for (i = 0; i < cnt; i++)
		json_array_append_new(out, arr[i]);
	free(arr);
	if (!cnt) {
		char pfx[64];
		kt_kind_prefix(k, pfx, sizeof(pfx));
		snprintf(msg, n, "error: %s/%s has no pods", pfx, name);
		json_decref(out);
		return NULL;
	}
	return out;
}
