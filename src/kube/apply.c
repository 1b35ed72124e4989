/* Server-side apply, delete, prune, rollout status and diff's object
 * cleaning (kube/apply.h). */
#include "kube/apply.h"
#include "compose/yaml.h"
#include "kube/selector.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* "a.b.c" inside nested objects */
static json_t *jget(json_t *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *save = NULL, *p = strtok_r(buf, ".", &save); p && o; p = strtok_r(NULL, ".", &save))
		o = json_object_get(o, p);
	return o;
}

static long long jint(json_t *o, const char *path, long long def)
{
	json_t *v = jget(o, path);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

static const char *jstr(json_t *o, const char *path)
{
	return json_string_value(jget(o, path));
}

/* ---- reading ---- */

static void items_add(struct kube_items *it, json_t *obj, const char *where)
{
	struct kube_item *nv = realloc(it->v, (it->n + 1) * sizeof(*nv));
	if (!nv)
		return;
	it->v = nv;
	struct kube_item *x = &it->v[it->n++];
	memset(x, 0, sizeof(*x));
	x->obj = json_incref(obj);
	x->where = strdup(where);
	x->name = jstr(obj, "metadata.name");
}

static int check_obj(json_t *obj, const char *where, struct berr **err)
{
	if (!json_is_object(obj))
		return berr_setc(err, BERR_INVALID, "%s: not an object (a mapping with apiVersion, kind and metadata)",
				 where);
	json_t *av = json_object_get(obj, "apiVersion"), *k = json_object_get(obj, "kind");
	if (!json_is_string(av) || !*json_string_value(av))
		return berr_setc(err, BERR_INVALID, "%s: apiVersion not set", where);
	if (!json_is_string(k) || !*json_string_value(k))
		return berr_setc(err, BERR_INVALID, "%s: kind not set", where);
	json_t *md = json_object_get(obj, "metadata");
	if (md && !json_is_object(md))
		return berr_setc(err, BERR_INVALID, "%s: %s: metadata: not a mapping", where, json_string_value(k));
	const char *name = jstr(obj, "metadata.name");
	if (!name || !*name) {
		if (jstr(obj, "metadata.generateName"))
			return berr_setc(err, BERR_INVALID,
					 "%s: %s: metadata.generateName cannot be applied: apply needs metadata.name",
					 where, json_string_value(k));
		return berr_setc(err, BERR_INVALID, "%s: %s: metadata.name is required", where, json_string_value(k));
	}
	json_t *ns = jget(obj, "metadata.namespace");
	if (ns && !json_is_null(ns) && !json_is_string(ns))
		return berr_setc(err, BERR_INVALID, "%s: %s %s: metadata.namespace: not a string", where,
				 json_string_value(k), name);
	return 0;
}

static char *where_of(struct cmarks *m, json_t *node, const char *label)
{
	_cleanup_free_ char *w = cmarks_where(m, node, label);
	size_t n = w ? strlen(w) : 0;
	while (n && (w[n - 1] == ' ' || w[n - 1] == ':'))
		w[--n] = 0;
	return strdup(n ? w : label);
}

int kube_items_read_buffer(const char *buf, size_t len, const char *label, struct kube_items *ret,
			   struct berr **err)
{
	struct cmarks *m = cmarks_new();
	json_t *docs = NULL;
	int rc = -1;
	if (!m) {
		berr_set(err, ENOMEM, "%s", label);
		goto out;
	}
	if (compose_yaml_parse_docs(buf, len, label, m, &docs, err) < 0)
		goto out;
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d) {
		if (json_is_null(d))
			continue;
		_cleanup_free_ char *w = where_of(m, d, label);
		const char *kind = json_string_value(json_object_get(d, "kind"));
		json_t *items = json_object_get(d, "items");
		size_t kl = kind ? strlen(kind) : 0;
		if (kind && kl >= 4 && !strcmp(kind + kl - 4, "List") && json_is_array(items) &&
		    !json_object_get(d, "spec")) {
			/* a List (or a FooList): its items in its place */
			size_t k;
			json_t *o;
			json_array_foreach(items, k, o) {
				_cleanup_free_ char *wi = where_of(m, o, label);
				if (check_obj(o, wi, err) < 0)
					goto out;
				items_add(ret, o, wi);
			}
			continue;
		}
		if (check_obj(d, w, err) < 0)
			goto out;
		items_add(ret, d, w);
	}
	rc = 0;
out:
	json_decref(docs);
	cmarks_free(m);
	return rc;
}

static int read_fd(int fd, const char *label, struct kube_items *ret, struct berr **err)
{
	struct sbuf b = SBUF_INIT;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbuf_release(&b);
			return berr_set(err, errno, "reading %s", label);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > CY_MAX_BYTES) {
			sbuf_release(&b);
			return berr_setc(err, BERR_INVALID, "%s: more than %u bytes", label, CY_MAX_BYTES);
		}
		sbuf_add(&b, chunk, (size_t)n);
	}
	int rc = kube_items_read_buffer(sbuf_str(&b), b.len, label, ret, err);
	sbuf_release(&b);
	return rc;
}

static bool manifest_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int read_path(const char *path, bool recursive, bool top, struct kube_items *ret, struct berr **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_set(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (!top && !manifest_name(path))
			return 0;
		if (!S_ISREG(st.st_mode)) {
			/* a pipe or a device named on the command line: <(...), /dev/stdin */
			_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return berr_set(err, errno, "%s", path);
			return read_fd(fd, path, ret, err);
		}
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		if (fs_read_file_at(AT_FDCWD, path, CY_MAX_BYTES, &buf, &len, err) < 0)
			return -1;
		return kube_items_read_buffer(buf, len, path, ret, err);
	}
	if (!top && !recursive)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return berr_set(err, errno, "%s", path);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]) < 0)
			rc = berr_set(err, ENOMEM, "%s", path);
		else
			rc = read_path(p, recursive, false, ret, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int kube_items_read(const char *const *paths, size_t npaths, bool recursive, struct kube_items *ret,
		    struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	bool stdin_read = false;
	for (size_t i = 0; i < npaths; i++) {
		int rc;
		if (!strcmp(paths[i], "-")) {
			if (stdin_read) {
				kube_items_release(ret);
				return berr_setc(err, BERR_INVALID, "-f -: stdin can be read only once");
			}
			stdin_read = true;
			rc = read_fd(0, "<stdin>", ret, err);
		} else {
			rc = read_path(paths[i], recursive, true, ret, err);
		}
		if (rc < 0) {
			kube_items_release(ret);
			return -1;
		}
	}
	return 0;
}

int kube_items_from_objects(json_t *objects, const char *label, struct kube_items *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	size_t i;
	json_t *o;
	json_array_foreach(objects, i, o) {
		if (check_obj(o, label, err) < 0) {
			kube_items_release(ret);
			return -1;
		}
		items_add(ret, o, label);
	}
	return 0;
}

void kube_items_release(struct kube_items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		json_decref(it->v[i].obj);
		free(it->v[i].where);
		free(it->v[i].ns);
		free(it->v[i].crd);
	}
	free(it->v);
	memset(it, 0, sizeof(*it));
}

/* ---- names ---- */

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

char *kube_ref_type(const struct kube_resource *r)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", r->kind, *r->group ? "." : "", r->group) < 0)
		return NULL;
	lower(s);
	return s;
}

char *kube_ref_name(const struct kube_resource *r, const char *name)
{
	_cleanup_free_ char *t = kube_ref_type(r);
	char *s = NULL;
	if (asprintf(&s, "%s/%s", t, name) < 0)
		return NULL;
	return s;
}

char *kube_ref_label(const struct kube_resource *r, const char *ns, const char *name)
{
	char *s = NULL;
	if (asprintf(&s, "%s %s%s%s", r->kind, r->namespaced && ns ? ns : "", r->namespaced && ns ? "/" : "", name) < 0)
		return NULL;
	return s;
}

char *kube_item_key(const struct kube_resource *r, const char *ns, const char *name)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s/%s/%s", r->group, r->kind, r->namespaced && ns ? ns : "", name) < 0)
		return NULL;
	return s;
}

/* ---- resolving ---- */

/* The CRD of the set that serves group/version kind, or NULL. */
static const char *crd_for(struct kube_items *it, const char *api_version, const char *kind)
{
	char group[128] = "", version[64] = "";
	const char *slash = strchr(api_version, '/');
	if (!slash)
		return NULL; /* the core group has no CRDs */
	snprintf(group, sizeof group, "%.*s", (int)(slash - api_version), api_version);
	snprintf(version, sizeof version, "%s", slash + 1);
	for (size_t i = 0; i < it->n; i++) {
		json_t *o = it->v[i].obj;
		const char *k = jstr(o, "kind"), *av = jstr(o, "apiVersion");
		if (!k || strcmp(k, "CustomResourceDefinition") || !av || strncmp(av, "apiextensions.k8s.io/", 21))
			continue;
		const char *g = jstr(o, "spec.group"), *kk = jstr(o, "spec.names.kind");
		if (!g || !kk || strcmp(g, group) || strcmp(kk, kind))
			continue;
		size_t k2;
		json_t *v;
		json_array_foreach(jget(o, "spec.versions"), k2, v) {
			const char *vn = jstr(v, "name");
			if (vn && !strcmp(vn, version))
				return it->v[i].name;
		}
	}
	return NULL;
}

int kube_item_resolve(struct kube_client *c, struct kube_item *x, const char *ns, bool ns_forced,
		      struct berr **err)
{
	const char *av = jstr(x->obj, "apiVersion"), *kind = jstr(x->obj, "kind");
	if (kube_discover(c, av, kind, &x->r, err) < 0) {
		/* a kind the server lacks is the object's error; a server that does not answer is not */
		if ((*err)->code == BERR_NOT_FOUND || (*err)->code == BERR_INVALID)
			berr_wrap(err, "%s: %s %s", x->where, kind, x->name);
		return -1;
	}
	free(x->ns);
	x->ns = NULL;
	json_t *md = json_object_get(x->obj, "metadata");
	if (x->r.namespaced) {
		const char *own = jstr(x->obj, "metadata.namespace");
		if (own && !*own)
			own = NULL;
		if (own && ns_forced && strcmp(own, ns))
			return berr_setc(err, BERR_INVALID,
					 "%s: %s %s: the namespace from the provided object \"%s\" does not match the "
					 "namespace \"%s\". You must pass '--namespace=%s' to perform this operation.",
					 x->where, kind, x->name, own, ns, own);
		x->ns = strdup(own ? own : ns);
		json_object_set_new(md, "namespace", json_string(x->ns));
	} else {
		json_object_del(md, "namespace");
	}
	x->resolved = true;
	return 0;
}

int kube_items_resolve(struct kube_client *c, struct kube_items *it, const char *ns, bool ns_forced,
		       struct berr **err)
{
	struct sbuf all = SBUF_INIT;
	int nerr = 0, code = BERR_GENERIC;
	for (size_t i = 0; i < it->n; i++) {
		struct kube_item *x = &it->v[i];
		struct berr *e = NULL;
		if (kube_item_resolve(c, x, ns, ns_forced, &e) == 0)
			continue;
		const char *crd = e->code == BERR_NOT_FOUND
					  ? crd_for(it, jstr(x->obj, "apiVersion"), jstr(x->obj, "kind"))
					  : NULL;
		if (crd) {
			/* the set defines the kind: resolved once its CRD is in */
			x->crd = strdup(crd);
			berr_free(e);
			continue;
		}
		if (e->code == BERR_NOT_FOUND && strstr(e->msg, "no matches for kind"))
			sbuf_addf(&all, "%s%s (ensure CRDs are installed first)", nerr ? "\n" : "", e->msg);
		else
			sbuf_addf(&all, "%s%s", nerr ? "\n" : "", e->msg);
		code = e->code;
		nerr++;
		berr_free(e);
		if (!strstr(sbuf_str(&all), "no matches") && code == BERR_GENERIC)
			break; /* the server itself failed: no use asking again for every object */
	}
	if (!nerr) {
		sbuf_release(&all);
		return 0;
	}
	berr_setc(err, code, "%s", sbuf_str(&all));
	sbuf_release(&all);
	return -1;
}

/* ---- apply ---- */

static int apply_error(const struct kube_resp *r, const char *label, struct berr **err)
{
	const char *msg = jstr(r->json, "message");
	static const char typed[] = "failed to create typed patch object (";
	if (msg && !strncmp(msg, typed, sizeof typed - 1)) {
		/* "failed to create typed patch object (default/x; /v1, Kind=ConfigMap): .dat: field not
		 * declared in schema": the field and the reason are what matter */
		const char *p = strstr(msg, "): ");
		if (p)
			return berr_setc(err, BERR_INVALID, "%s: %s", label, p + 3);
	}
	return kube_status_error(r, label, err);
}

int kube_apply_item(struct kube_client *c, const struct kube_item *x, const struct kube_apply_opts *o,
		    json_t **ret, struct berr **err)
{
	if (ret)
		*ret = NULL;
	if (!x->resolved)
		return berr_setc(err, BERR_INVALID, "%s: %s %s: not resolved", x->where, jstr(x->obj, "kind"), x->name);
	_cleanup_free_ char *base = kube_resource_path(&x->r, x->ns, x->name);
	_cleanup_free_ char *fm = kube_escape_segment(o && o->field_manager ? o->field_manager : "berth");
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s?fieldManager=%s&fieldValidation=%s%s%s", base, fm,
		     o && o->validation ? o->validation : "Strict", o && o->force ? "&force=true" : "",
		     o && o->dry_run ? "&dryRun=All" : "") < 0)
		return berr_set(err, ENOMEM, "apply");
	_cleanup_free_ char *body = json_dumps(x->obj, JSON_COMPACT);
	_cleanup_free_ char *label = kube_ref_label(&x->r, x->ns, x->name);
	struct kube_resp r;
	if (kube_request(c, "PATCH", path, "application/apply-patch+yaml", body, strlen(body), &r, err) < 0)
		return berr_wrap(err, "%s", label);
	int rc = 0;
	if (r.status < 200 || r.status > 299) {
		rc = apply_error(&r, label, err);
	} else if (ret) {
		*ret = r.json ? json_incref(r.json) : json_object();
	}
	kube_resp_release(&r);
	return rc;
}

int kube_crd_wait(struct kube_client *c, const char *name, int64_t deadline_ms, struct berr **err)
{
	if (!deadline_ms)
		deadline_ms = now_ms() + 60000;
	_cleanup_free_ char *en = kube_escape_segment(name);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s", en) < 0)
		return berr_set(err, ENOMEM, "crd");
	int64_t delay = 20;
	for (;;) {
		json_t *o = NULL;
		if (kube_get(c, path, &o, err) < 0)
			return berr_wrap(err, "waiting for CustomResourceDefinition %s", name);
		size_t i;
		json_t *cd;
		bool est = false;
		const char *why = NULL;
		json_array_foreach(jget(o, "status.conditions"), i, cd) {
			const char *t = jstr(cd, "type"), *s = jstr(cd, "status");
			if (t && s && !strcmp(t, "Established") && !strcmp(s, "True"))
				est = true;
			if (t && s && !strcmp(t, "NamesAccepted") && !strcmp(s, "False"))
				why = jstr(cd, "message");
		}
		if (why) {
			berr_setc(err, BERR_INVALID, "CustomResourceDefinition %s: names not accepted: %s", name, why);
			json_decref(o);
			return -1;
		}
		json_decref(o);
		if (est)
			return 0;
		if (now_ms() >= deadline_ms)
			return berr_set(err, ETIMEDOUT, "CustomResourceDefinition %s is not Established", name);
		sleep_ms(delay);
		if (delay < 250)
			delay = delay * 3 / 2;
	}
}

/* ---- rollout status ---- */

/* (noinline, bounded: gcc 12 with the sanitizers sees a zero-size region
 * in the inlined strcmp and fails -Werror=stringop-overread) */
static __attribute__((noinline)) bool is(const struct kube_resource *r, const char *group, const char *kind)
{
	return strncmp(r->group, group, sizeof(r->group)) == 0 && strncmp(r->kind, kind, sizeof(r->kind)) == 0;
}

bool kube_rollout_supported(const struct kube_resource *r)
{
	return is(r, "apps", "Deployment") || is(r, "extensions", "Deployment") || is(r, "apps", "DaemonSet") ||
	       is(r, "extensions", "DaemonSet") || is(r, "apps", "StatefulSet") || is(r, "batch", "Job");
}

static json_t *condition(json_t *obj, const char *type)
{
	size_t i;
	json_t *cd;
	json_array_foreach(jget(obj, "status.conditions"), i, cd) {
		const char *t = jstr(cd, "type");
		if (t && !strcmp(t, type))
			return cd;
	}
	return NULL;
}

static bool cond_true(json_t *obj, const char *type)
{
	json_t *cd = condition(obj, type);
	const char *s = jstr(cd, "status");
	return s && !strcmp(s, "True");
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int kube_rollout_status(const struct kube_resource *r, json_t *obj, char **ret_msg, bool *ret_done,
			struct berr **err)
{
	*ret_msg = NULL;
	*ret_done = false;
	const char *name = jstr(obj, "metadata.name");
	if (!name)
		name = "";
	long long gen = jint(obj, "metadata.generation", 0), og = jint(obj, "status.observedGeneration", 0);
	if (!strcmp(r->kind, "Deployment") && kube_rollout_supported(r)) {
		if (gen > og) {
			*ret_msg = fmt("Waiting for deployment spec update to be observed...");
			return 0;
		}
		json_t *pc = condition(obj, "Progressing");
		const char *reason = jstr(pc, "reason");
		if (reason && !strcmp(reason, "ProgressDeadlineExceeded"))
			return berr_set(err, 0, "deployment \"%s\" exceeded its progress deadline", name);
		json_t *rep = jget(obj, "spec.replicas");
		long long updated = jint(obj, "status.updatedReplicas", 0), total = jint(obj, "status.replicas", 0),
			  avail = jint(obj, "status.availableReplicas", 0);
		if (json_is_integer(rep) && updated < json_integer_value(rep))
			*ret_msg = fmt("Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas "
				       "have been updated...",
				       name, updated, (long long)json_integer_value(rep));
		else if (total > updated)
			*ret_msg = fmt("Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending "
				       "termination...",
				       name, total - updated);
		else if (avail < updated)
			*ret_msg = fmt("Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas "
				       "are available...",
				       name, avail, updated);
		else {
			*ret_msg = fmt("deployment \"%s\" successfully rolled out", name);
			*ret_done = true;
		}
		return 0;
	}
	if (!strcmp(r->kind, "DaemonSet") && kube_rollout_supported(r)) {
		const char *st = jstr(obj, "spec.updateStrategy.type");
		if (st && strcmp(st, "RollingUpdate"))
			return berr_set(err, 0, "rollout status is only available for RollingUpdate strategy type");
		if (gen > og) {
			*ret_msg = fmt("Waiting for daemon set spec update to be observed...");
			return 0;
		}
		long long desired = jint(obj, "status.desiredNumberScheduled", 0),
			  updated = jint(obj, "status.updatedNumberScheduled", 0),
			  avail = jint(obj, "status.numberAvailable", 0);
		if (updated < desired)
			*ret_msg = fmt("Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have "
				       "been updated...",
				       name, updated, desired);
		else if (avail < desired)
			*ret_msg = fmt("Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are "
				       "available...",
				       name, avail, desired);
		else {
			*ret_msg = fmt("daemon set \"%s\" successfully rolled out", name);
			*ret_done = true;
		}
		return 0;
	}
	if (is(r, "apps", "StatefulSet")) {
		const char *st = jstr(obj, "spec.updateStrategy.type");
		if (st && strcmp(st, "RollingUpdate"))
			return berr_set(err, 0, "rollout status is only available for RollingUpdate strategy type");
		if (og == 0 || gen > og) {
			*ret_msg = fmt("Waiting for statefulset spec update to be observed...");
			return 0;
		}
		json_t *rep = jget(obj, "spec.replicas");
		long long ready = jint(obj, "status.readyReplicas", 0), updated = jint(obj, "status.updatedReplicas", 0);
		if (json_is_integer(rep) && ready < json_integer_value(rep)) {
			*ret_msg = fmt("Waiting for %lld pods to be ready...", (long long)json_integer_value(rep) - ready);
			return 0;
		}
		json_t *ru = jget(obj, "spec.updateStrategy.rollingUpdate");
		if (json_is_object(ru)) {
			json_t *part = json_object_get(ru, "partition");
			if (json_is_integer(rep) && json_is_integer(part)) {
				long long want = json_integer_value(rep) - json_integer_value(part);
				if (updated < want) {
					*ret_msg = fmt("Waiting for partitioned roll out to finish: %lld out of %lld new "
						       "pods have been updated...",
						       updated, want);
					return 0;
				}
			}
			*ret_msg = fmt("partitioned roll out complete: %lld new pods have been updated...", updated);
			*ret_done = true;
			return 0;
		}
		const char *ur = jstr(obj, "status.updateRevision"), *cr = jstr(obj, "status.currentRevision");
		if (!ur)
			ur = "";
		if (!cr)
			cr = "";
		if (strcmp(ur, cr)) {
			*ret_msg = fmt("waiting for statefulset rolling update to complete %lld pods at revision %s...",
				       updated, ur);
			return 0;
		}
		*ret_msg = fmt("statefulset rolling update complete %lld pods at revision %s...",
			       jint(obj, "status.currentReplicas", 0), cr);
		*ret_done = true;
		return 0;
	}
	if (is(r, "batch", "Job")) {
		json_t *f = condition(obj, "Failed");
		if (cond_true(obj, "Failed")) {
			const char *reason = jstr(f, "reason"), *m = jstr(f, "message");
			return berr_set(err, 0, "job \"%s\" failed%s%s%s%s", name, reason ? ": " : "", reason ? reason : "",
					m ? ": " : "", m ? m : "");
		}
		long long succeeded = jint(obj, "status.succeeded", 0), active = jint(obj, "status.active", 0);
		if (cond_true(obj, "Complete")) {
			*ret_msg = fmt("job \"%s\" completed (%lld succeeded)", name, succeeded);
			*ret_done = true;
			return 0;
		}
		if (json_is_true(jget(obj, "spec.suspend"))) {
			*ret_msg = fmt("Waiting for job \"%s\": it is suspended (spec.suspend)...", name);
			return 0;
		}
		json_t *comp = jget(obj, "spec.completions");
		if (json_is_integer(comp))
			*ret_msg = fmt("Waiting for job \"%s\" to complete: %lld of %lld completions succeeded...", name,
				       succeeded, (long long)json_integer_value(comp));
		else
			*ret_msg = fmt("Waiting for job \"%s\" to complete: %lld succeeded, %lld active...", name,
				       succeeded, active);
		return 0;
	}
	return berr_setc(err, BERR_INVALID, "no status viewer has been implemented for %s", r->kind);
}

/* ---- following a rollout ---- */

struct rwait {
	struct kube_client *c;
	const struct kube_resource *r;
	const char *ns, *name;
	kube_line_fn fn;
	void *ud;
	char *last;
	bool done, gone, relist;
	char rv[64];
	int64_t pods_at;
	char *warning; /* a pod's trouble, kubectl's appendWarning */
};

/* kubectl's appendWarning: an unschedulable pod or a container that cannot start */
static void pod_warning(struct rwait *w, json_t *obj)
{
	int64_t now = now_ms();
	if (w->pods_at && now - w->pods_at < 2000)
		return;
	w->pods_at = now;
	free(w->warning);
	w->warning = NULL;
	_cleanup_free_ char *sel = kube_label_selector_string(jget(obj, "spec.selector"));
	if (!sel || !*sel)
		return;
	_cleanup_free_ char *esel = kube_escape_segment(sel);
	_cleanup_free_ char *ens = kube_escape_segment(w->ns);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/namespaces/%s/pods?labelSelector=%s", ens, esel) < 0)
		return;
	json_t *list = NULL;
	struct berr *e = NULL;
	if (kube_get(w->c, path, &list, &e) < 0) {
		berr_free(e);
		return;
	}
	size_t i, k;
	json_t *p, *cd, *cs;
	json_array_foreach(json_object_get(list, "items"), i, p) {
		json_array_foreach(jget(p, "status.conditions"), k, cd) {
			const char *t = jstr(cd, "type"), *s = jstr(cd, "status"), *rs = jstr(cd, "reason");
			if (t && s && rs && !strcmp(t, "PodScheduled") && !strcmp(s, "False") && !strcmp(rs, "Unschedulable")) {
				w->warning = fmt("Warning: %s", jstr(cd, "message") ? jstr(cd, "message") : "");
				goto out;
			}
		}
		json_array_foreach(jget(p, "status.containerStatuses"), k, cs) {
			const char *rs = jstr(cs, "state.waiting.reason");
			if (rs && (!strcmp(rs, "ImagePullBackOff") || !strcmp(rs, "ErrImagePull") ||
				   !strcmp(rs, "CrashLoopBackOff") || !strcmp(rs, "CreateContainerConfigError") ||
				   !strcmp(rs, "CreateContainerError"))) {
				const char *m = jstr(cs, "state.waiting.message");
				w->warning = fmt("Warning: %s - %s", rs, m ? m : "");
				goto out;
			}
		}
	}
out:
	json_decref(list);
}

static int rw_status(struct rwait *w, json_t *obj, struct berr **err)
{
	const char *rv = jstr(obj, "metadata.resourceVersion");
	if (rv)
		snprintf(w->rv, sizeof w->rv, "%s", rv);
	_cleanup_free_ char *msg = NULL;
	bool done = false;
	if (kube_rollout_status(w->r, obj, &msg, &done, err) < 0)
		return -1;
	if (!done && !strcmp(w->r->kind, "Deployment")) {
		pod_warning(w, obj);
		if (w->warning) {
			char *m2 = fmt("%s (%s)", msg, w->warning);
			free(msg);
			msg = m2;
		}
	}
	if (msg && (!w->last || strcmp(msg, w->last))) {
		w->fn(w->ud, msg);
		free(w->last);
		w->last = strdup(msg);
	}
	w->done = done;
	return 0;
}

static int rw_event(void *ud, const char *type, json_t *obj, struct berr **err)
{
	struct rwait *w = ud;
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		if (rw_status(w, obj, err) < 0)
			return -1;
		return w->done ? 1 : 0;
	}
	if (!strcmp(type, "DELETED")) {
		w->gone = true;
		return 1;
	}
	if (!strcmp(type, "BOOKMARK")) {
		const char *rv = jstr(obj, "metadata.resourceVersion");
		if (rv)
			snprintf(w->rv, sizeof w->rv, "%s", rv);
		return 0;
	}
	if (!strcmp(type, "ERROR")) {
		/* 410 Gone: the version is too old; list again */
		w->relist = true;
		return 1;
	}
	return 0;
}

int kube_rollout_wait(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		      int64_t timeout_ms, bool watch, kube_line_fn fn, void *ud, volatile int *stop,
		      struct berr **err)
{
	if (!kube_rollout_supported(r))
		return berr_setc(err, BERR_INVALID, "no status viewer has been implemented for %s", r->kind);
	struct rwait w = {.c = c, .r = r, .ns = ns, .name = name, .fn = fn, .ud = ud};
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	_cleanup_free_ char *opath = kube_resource_path(r, ns, name);
	_cleanup_free_ char *cpath = kube_resource_path(r, ns, NULL);
	_cleanup_free_ char *fsel = NULL;
	{
		_cleanup_free_ char *en = kube_escape_segment(name);
		if (asprintf(&fsel, "metadata.name%%3D%s", en) < 0)
			return berr_set(err, ENOMEM, "rollout");
	}
	int rc = -1;
	for (;;) {
		json_t *obj = NULL;
		if (kube_get(c, opath, &obj, err) < 0)
			goto out;
		int st = rw_status(&w, obj, err);
		json_decref(obj);
		if (st < 0)
			goto out;
		if (w.done || !watch) {
			rc = 0;
			goto out;
		}
		int64_t left = deadline ? deadline - now_ms() : 10000;
		if (left <= 0) {
			berr_set(err, 0, "timed out waiting for the condition");
			(*err)->errnum = ETIMEDOUT;
			goto out;
		}
		if (stop && *stop) {
			berr_set(err, EINTR, "interrupted");
			goto out;
		}
		/* a watch of at most 10 s, then a fresh GET: pod warnings and the
		 * deadline are looked at again, and a 410 Gone starts over */
		long secs = (long)((left + 999) / 1000);
		if (secs > 10)
			secs = 10;
		_cleanup_free_ char *wpath = NULL;
		if (asprintf(&wpath, "%s?fieldSelector=%s&watch=true&allowWatchBookmarks=true&resourceVersion=%s"
				     "&timeoutSeconds=%ld",
			     cpath, fsel, w.rv, secs) < 0) {
			berr_set(err, ENOMEM, "rollout");
			goto out;
		}
		w.relist = false;
		if (kube_watch(c, wpath, rw_event, &w, stop, err) < 0)
			goto out;
		if (w.done) {
			rc = 0;
			goto out;
		}
		if (w.gone) {
			_cleanup_free_ char *t = kube_ref_type(r);
			berr_setc(err, BERR_NOT_FOUND, "%s \"%s\" was deleted while waiting for its rollout", t, name);
			goto out;
		}
	}
out:
	free(w.last);
	free(w.warning);
	return rc;
}

/* ---- delete ---- */

int kube_delete_object(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		       const struct kube_delete_opts *o, char **ret_uid, struct berr **err)
{
	if (ret_uid)
		*ret_uid = NULL;
	/* the options go in the body: with one, the server ignores the query's */
	_cleanup_free_ char *path = kube_resource_path(r, ns, name);
	json_t *body = json_pack("{s:s,s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1", "propagationPolicy",
				 o && o->propagation ? o->propagation : "Background");
	if (o && o->grace_seconds >= 0)
		json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace_seconds));
	if (o && o->dry_run)
		json_object_set_new(body, "dryRun", json_pack("[s]", "All"));
	_cleanup_free_ char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	_cleanup_free_ char *label = kube_ref_label(r, ns, name);
	struct kube_resp resp;
	if (kube_request(c, "DELETE", path, NULL, s, strlen(s), &resp, err) < 0)
		return berr_wrap(err, "%s", label);
	int rc = 0;
	if (resp.status < 200 || resp.status > 299) {
		rc = kube_status_error(&resp, label, err);
	} else if (ret_uid) {
		const char *uid = jstr(resp.json, "metadata.uid");
		if (!uid)
			uid = jstr(resp.json, "details.uid");
		*ret_uid = uid ? strdup(uid) : NULL;
	}
	kube_resp_release(&resp);
	return rc;
}

int kube_wait_deleted(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
		      const char *uid, int64_t deadline_ms, struct berr **err)
{
	_cleanup_free_ char *path = kube_resource_path(r, ns, name);
	int64_t delay = 20;
	for (;;) {
		json_t *o = NULL;
		struct berr *e = NULL;
		if (kube_get(c, path, &o, &e) < 0) {
			if (e->code == BERR_NOT_FOUND) {
				berr_free(e);
				return 0;
			}
			*err = e;
			return -1;
		}
		const char *u = jstr(o, "metadata.uid");
		bool other = uid && u && strcmp(u, uid);
		json_decref(o);
		if (other)
			return 0; /* gone, and made again since */
		if (deadline_ms && now_ms() >= deadline_ms) {
			_cleanup_free_ char *t = kube_ref_name(r, name);
			berr_set(err, 0, "timed out waiting for the condition on %s", t);
			(*err)->errnum = ETIMEDOUT;
			return -1;
		}
		sleep_ms(delay);
		if (delay < 500)
			delay = delay * 3 / 2;
	}
}

/* ---- prune ---- */

static bool applied_by(json_t *obj, const char *fm)
{
	size_t i;
	json_t *mf;
	json_array_foreach(jget(obj, "metadata.managedFields"), i, mf) {
		const char *m = jstr(mf, "manager"), *op = jstr(mf, "operation");
		if (m && op && !strcmp(m, fm) && !strcmp(op, "Apply"))
			return true;
	}
	return false;
}

int kube_prune_find(struct kube_client *c, const struct kube_resource *rs, size_t n, json_t *namespaces,
		    const char *selector, const char *field_manager, json_t *keep, json_t **ret, struct berr **err)
{
	*ret = NULL;
	json_t *out = json_array();
	_cleanup_free_ char *esel = selector && *selector ? kube_escape_segment(selector) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct kube_resource *r = &rs[i];
		size_t nn = r->namespaced ? json_array_size(namespaces) : 1;
		for (size_t k = 0; k < nn; k++) {
			const char *ns = r->namespaced ? json_string_value(json_array_get(namespaces, k)) : NULL;
			_cleanup_free_ char *base = kube_resource_path(r, ns, NULL);
			_cleanup_free_ char *path = NULL;
			if (asprintf(&path, "%s%s%s", base, esel ? "?labelSelector=" : "", esel ? esel : "") < 0)
				goto fail;
			json_t *list = NULL;
			if (kube_get(c, path, &list, err) < 0) {
				berr_wrap(err, "prune: listing %s", r->resource);
				goto fail;
			}
			size_t j;
			json_t *o;
			json_array_foreach(json_object_get(list, "items"), j, o) {
				const char *name = jstr(o, "metadata.name");
				const char *ons = jstr(o, "metadata.namespace");
				if (!name || jget(o, "metadata.deletionTimestamp") || !applied_by(o, field_manager))
					continue;
				_cleanup_free_ char *key = kube_item_key(r, ons, name);
				if (json_object_get(keep, key))
					continue;
				json_array_append_new(out, json_pack("{s:I,s:s,s:s}", "r", (json_int_t)i, "ns",
								     ons ? ons : "", "name", name));
			}
			json_decref(list);
		}
	}
	*ret = out;
	return 0;
fail:
	json_decref(out);
	return -1;
}

/* ---- diff ---- */

static int cmp_keys(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static json_t *sorted_copy(const json_t *v)
{
	if (json_is_object(v)) {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(char *));
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		qsort(keys, n, sizeof(char *), cmp_keys);
		json_t *o = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(o, keys[i], sorted_copy(json_object_get(v, keys[i])));
		free(keys);
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) json_array_append_new(a, sorted_copy(x));
		return a;
	}
	return json_deep_copy(v);
}

json_t *kube_diff_clean(const json_t *obj)
{
	if (!obj)
		return NULL;
	json_t *c = sorted_copy(obj);
	json_t *md = json_object_get(c, "metadata");
	static const char *const noise[] = {"managedFields", "resourceVersion", "generation", "creationTimestamp",
					    "uid"};
	for (size_t i = 0; i < ARRAY_SIZE(noise); i++)
		json_object_del(md, noise[i]);
	return c;
}

static void mask_map(json_t *l, json_t *m)
{
	const char *k;
	json_t *v;
	json_t *keys = json_object();
	json_object_foreach(l, k, v) json_object_set(keys, k, json_true());
	json_object_foreach(m, k, v) json_object_set(keys, k, json_true());
	json_object_foreach(keys, k, v) {
		json_t *lv = json_object_get(l, k), *mv = json_object_get(m, k);
		if (lv && mv && json_equal(lv, mv)) {
			json_object_set_new(l, k, json_string("***"));
			json_object_set_new(m, k, json_string("***"));
		} else {
			if (lv)
				json_object_set_new(l, k, json_string(mv ? "*** (before)" : "***"));
			if (mv)
				json_object_set_new(m, k, json_string(lv ? "*** (after)" : "***"));
		}
	}
	json_decref(keys);
}

void kube_diff_mask_secret(json_t *live, json_t *merged)
{
	static const char *const fields[] = {"data", "stringData"};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		json_t *l = json_object_get(live, fields[i]), *m = json_object_get(merged, fields[i]);
		mask_map(json_is_object(l) ? l : NULL, json_is_object(m) ? m : NULL);
	}
}

/* ---- selectors ---- */

char *kube_label_selector_string(const json_t *sel)
{
	struct sbuf b = SBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
		sbuf_addf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v) ? json_string_value(v) : "");
	}
	size_t i, j;
	json_t *e, *x;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		if (!key || !op)
			continue;
		if (b.len)
			sbuf_addc(&b, ',');
		if (!strcmp(op, "Exists")) {
			sbuf_adds(&b, key);
		} else if (!strcmp(op, "DoesNotExist")) {
			sbuf_addf(&b, "!%s", key);
		} else {
			sbuf_addf(&b, "%s %s (", key, !strcmp(op, "In") ? "in" : "notin");
			json_array_foreach(json_object_get(e, "values"), j, x)
				sbuf_addf(&b, "%s%s", j ? "," : "", json_string_value(x) ? json_string_value(x) : "");
			sbuf_addc(&b, ')');
		}
	}
	return sbuf_detach(&b);
}
