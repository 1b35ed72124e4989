/* The namespace's controllers (reconcile.h). Each pass reads the desired
 * objects and the pods that exist, and moves the pods one step towards
 * what the objects ask for, as Kubernetes' controllers do: never blocking
 * on a pod, so a pass stays in milliseconds. The pods' own life
 * (restarts, probes) is their monitors'; this decides which pods exist. */
#include "kube/reconcile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/podspec.h"
#include "kube/selector.h"
#include "kube/svcmap.h"
#include "kube/store.h"
#include "net/network.h"
#include "net/svc.h"
#include "runtime/pod.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#define EVENTS_MAX 50

void kube_ns_network(const char *ns, char *buf, size_t n)
{
	snprintf(buf, n, "kube-%s", ns);
}

static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";

void kube_template_hash(const json_t *tmpl, char out[16])
{
	_cleanup_free_ char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	/* FNV-1a 32, then the decimal digits safe-encoded, as Kubernetes'
	 * ComputeHash + SafeEncodeString */
	uint32_t h = 2166136261u;
	for (const char *p = s ? s : ""; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	char dec[16];
	snprintf(dec, sizeof(dec), "%u", h);
	size_t i;
	for (i = 0; dec[i] && i < 15; i++)
		out[i] = alnum[(unsigned char)dec[i] % (sizeof(alnum) - 1)];
	out[i] = 0;
}

void kube_rand_suffix(char out[6])
{
	unsigned char b[5];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (int i = 0; i < 5; i++)
			b[i] = (unsigned char)rand();
	for (int i = 0; i < 5; i++)
		out[i] = alnum[b[i] % (sizeof(alnum) - 1)];
	out[5] = 0;
}

void kube_uuid(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
		 b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int kube_int_or_percent(const json_t *v, int n, bool round_up, int dflt)
{
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long p = strtol(s, &end, 10);
		if (end != s && !strcmp(end, "%"))
			return round_up ? (int)((p * n + 99) / 100) : (int)(p * n / 100);
		if (end != s && !*end)
			return (int)p;
	}
	return dflt;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec = 0;
	time_rfc3339(&ts, buf, n);
}

static void event(struct kube_rec *r, const char *obj, const char *reason, const char *msg)
{
	json_t *ev = json_object_get(r->status, "events");
	if (!json_is_array(ev)) {
		ev = json_array();
		json_object_set_new(r->status, "events", ev);
	}
	/* the same event again only bumps its count */
	size_t n = json_array_size(ev);
	json_t *last = n ? json_array_get(ev, n - 1) : NULL;
	char t[64];
	now_rfc3339(t, sizeof(t));
	if (last && !strcmp(jsonx_str(last, "object") ? jsonx_str(last, "object") : "", obj) &&
	    !strcmp(jsonx_str(last, "reason") ? jsonx_str(last, "reason") : "", reason) &&
	    !strcmp(jsonx_str(last, "message") ? jsonx_str(last, "message") : "", msg)) {
		json_object_set_new(last, "count", json_integer(json_integer_value(json_object_get(last, "count")) + 1));
		json_object_set_new(last, "lastTimestamp", json_string(t));
		return;
	}
	json_array_append_new(ev, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "object", obj, "reason", reason, "message", msg,
					    "firstTimestamp", t, "lastTimestamp", t, "count", 1));
	while (json_array_size(ev) > EVENTS_MAX)
		json_array_remove(ev, 0);
}

int kube_rec_network(struct kube_rec *r, struct berr **err)
{
	kube_ns_network(r->ns, r->network, sizeof(r->network));
	struct net n = {0};
	struct berr *le = NULL;
	if (net_load(r->root, r->network, &n, &le) < 0) {
		berr_free(le);
		json_t *labels = json_pack("{s:s}", "io.berth.kube.namespace", r->ns);
		struct net_create_opts o = {.name = r->network, .labels = labels};
		int cr = net_create(r->root, r->runroot, &o, &n, err);
		json_decref(labels);
		if (cr < 0) {
			/* made by a concurrent play */
			struct berr *e2 = NULL;
			if (net_load(r->root, r->network, &n, &e2) < 0) {
				berr_free(e2);
				return berr_wrap(err, "namespace %s: creating network %s", r->ns, r->network);
			}
			berr_free(*err);
			*err = NULL;
		}
	}
	snprintf(r->gateway, sizeof(r->gateway), "%s", n.gateway);
	net_release(&n);
	return 0;
}

/* ---- pods as they are ---- */

struct podinfo {
	const char *name;
	json_t *meta;    /* pod.json "meta" */
	json_t *status;  /* pod_status */
	const char *owner;
	const char *hash;
	bool terminating, ready, running, done, failed;
	long ordinal;
	char created[64];
};

struct world {
	struct podinfo *p;
	size_t n;
	json_t *list;
};

static bool is_terminating(struct kube_rec *r, const char *name)
{
	for (int i = 0; i < r->nterm; i++)
		if (!strcmp(r->term[i].name, name))
			return true;
	return false;
}

static void world_load(struct kube_rec *r, struct world *w)
{
	/* the pods of kube play: a node agent's pods (meta "node", kube/node.c)
	 * share the store but are the API server's, not this namespace's */
	w->list = pod_list_local(r->cs, r->ns);
	w->n = json_array_size(w->list);
	w->p = calloc(w->n ? w->n : 1, sizeof(*w->p));
	for (size_t i = 0; i < w->n; i++) {
		json_t *e = json_array_get(w->list, i);
		struct podinfo *p = &w->p[i];
		p->name = jsonx_str(e, "name");
		p->meta = json_object_get(e, "meta");
		p->owner = jsonx_str(p->meta, "owner");
		p->hash = jsonx_str(p->meta, "templateHash");
		p->status = pod_status(r->cs, r->ns, p->name);
		const char *phase = jsonx_str(p->status, "phase");
		p->terminating = is_terminating(r, p->name);
		p->ready = !p->terminating && kube_condition_true(p->status, "Ready");
		p->running = phase && !strcmp(phase, "Running");
		p->done = phase && !strcmp(phase, "Succeeded");
		p->failed = phase && !strcmp(phase, "Failed");
		json_t *o = json_object_get(p->meta, "ordinal");
		p->ordinal = json_is_integer(o) ? (long)json_integer_value(o) : -1;
		const char *c = jsonx_str(json_object_get(p->meta, "metadata"), "creationTimestamp");
		snprintf(p->created, sizeof(p->created), "%s", c ? c : "");
	}
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->n; i++)
		json_decref(w->p[i].status);
	free(w->p);
	json_decref(w->list);
	memset(w, 0, sizeof(*w));
}

/* ---- removal: a child per pod, so a grace period blocks nothing ---- */

void kube_rec_reap(struct kube_rec *r)
{
	for (int i = 0; i < r->nterm;) {
		int st;
		pid_t p = waitpid(r->term[i].pid, &st, WNOHANG);
		if (p == r->term[i].pid || (p < 0 && errno == ECHILD)) {
			r->term[i] = r->term[--r->nterm];
			r->busy = true;
			continue;
		}
		i++;
	}
}

static void pod_delete(struct kube_rec *r, const char *name, int grace)
{
	if (is_terminating(r, name) || r->nterm >= KUBE_MAX_TERMINATING)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct berr *e = NULL;
		if (pod_remove(r->cs, r->ns, name, grace, &e) < 0) {
			fprintf(stderr, "pod %s: %s\n", name, e ? e->msg : "removal failed");
			_exit(1);
		}
		kube_podspec_cleanup(r->root, r->ns, name);
		_exit(0);
	}
	if (pid < 0) {
		struct berr *e = NULL;
		pod_remove(r->cs, r->ns, name, grace, &e);
		berr_free(e);
		kube_podspec_cleanup(r->root, r->ns, name);
		return;
	}
	snprintf(r->term[r->nterm].name, sizeof(r->term[0].name), "%s", name);
	r->term[r->nterm++].pid = pid;
	r->busy = true;
}

/* ---- creation ---- */

/* Make and start a pod from a template. extra_meta: labels to add, and
 * fields of the pod spec (hostname, subdomain, extra volumes). */
static int pod_make_now(struct kube_rec *r, json_t *objects, const char *owner_key, const char *owner_uid,
			const char *name, const json_t *tmpl, const char *hash, json_t *add_labels, json_t *spec_patch,
			long ordinal)
{
	const json_t *tmd = json_object_get(tmpl, "metadata");
	json_t *labels = json_deep_copy(json_object_get(tmd, "labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_update(labels, add_labels);
	char uid[37], created[64];
	kube_uuid(uid);
	now_rfc3339(created, sizeof(created));
	json_t *md = json_pack("{s:s,s:s,s:s,s:o,s:s}", "name", name, "namespace", r->ns, "uid", uid, "labels", labels,
			       "creationTimestamp", created);
	if (json_object_get(tmd, "annotations"))
		json_object_set(md, "annotations", json_object_get(tmd, "annotations"));
	if (owner_key) {
		const char *slash = strchr(owner_key, '/');
		json_object_set_new(md, "ownerReferences",
				    json_pack("[{s:s,s:s,s:s,s:b,s:b}]", "kind", slash ? "" : owner_key, "name",
					      slash ? slash + 1 : owner_key, "uid", owner_uid ? owner_uid : "", "controller",
					      1, "blockOwnerDeletion", 1));
		if (slash) {
			json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
			_cleanup_free_ char *kind = strndup(owner_key, slash - owner_key);
			json_object_set_new(ref, "kind", json_string(kind));
			if (!strcmp(kind, "Deployment") && hash) {
				/* a Deployment's pods belong to its ReplicaSet, as in the API */
				json_object_set_new(ref, "kind", json_string("ReplicaSet"));
				json_object_set_new(ref, "apiVersion", json_string("apps/v1"));
				json_object_set_new(ref, "name", json_sprintf("%s-%s", slash + 1, hash));
			} else
				json_object_set_new(ref, "apiVersion",
						    json_string(!strcmp(kind, "Job") ? "batch/v1" : !strcmp(kind, "Pod") ? "v1" : "apps/v1"));
		}
	}
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	json_object_update(spec, spec_patch);
	json_t *pod = json_pack("{s:o,s:o}", "metadata", md, "spec", spec);
	struct kube_pod_ctx c = {.root = r->root, .runroot = r->runroot, .ns = r->ns, .objects = objects,
				 .network = r->network, .gateway = r->gateway,
				 .publish_all = r->publish_all ||
						json_is_true(json_object_get(json_object_get(r->doc, "publishAll"),
									     owner_key ? owner_key : ""))};
	json_t *rs = NULL;
	struct berr *e = NULL;
	int rc = kube_podspec_resolve(&c, pod, &rs, &e);
	char key[320];
	snprintf(key, sizeof(key), "Pod/%s", name);
	if (rc < 0) {
		event(r, owner_key ? owner_key : key, "FailedCreate", e ? e->msg : "error");
		berr_free(e);
		json_decref(pod);
		return -1;
	}
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(rs, "warnings"), i, w) event(r, key, "Warning", json_string_value(w));
	json_object_del(rs, "warnings");
	json_t *meta = json_pack("{s:O,s:s,s:s}", "metadata", md, "owner", owner_key ? owner_key : key, "templateHash",
				 hash ? hash : "");
	json_object_set(meta, "spec", json_object_get(pod, "spec"));
	if (ordinal >= 0)
		json_object_set_new(meta, "ordinal", json_integer(ordinal));
	json_t *rec = json_pack("{s:o,s:o}", "spec", rs, "meta", meta);
	rc = pod_create(r->cs, r->is, rec, &e);
	json_decref(rec);
	json_decref(pod);
	if (rc < 0) {
		event(r, owner_key ? owner_key : key, "FailedCreate", e ? e->msg : "error");
		berr_free(e);
		kube_podspec_cleanup(r->root, r->ns, name);
		return -1;
	}
	if (pod_sync(r->cs, r->is, r->ns, name, &e) < 0) {
		event(r, key, "FailedSync", e ? e->msg : "error");
		berr_free(e);
	}
	r->busy = true;
	return 0;
}

/* Queue a pod to make at the end of the pass: the pods of a pass are made
 * side by side in forked workers, so three replicas cost about one
 * container start, not three. */
static int pod_make(struct kube_rec *r, json_t *objects, const char *owner_key, const char *owner_uid,
		    const char *name, const json_t *tmpl, const char *hash, json_t *add_labels, json_t *spec_patch,
		    long ordinal)
{
	(void)objects;
	if (!r->queue)
		r->queue = json_array();
	json_t *q = json_pack("{s:s,s:s,s:s,s:O,s:s,s:I}", "owner", owner_key ? owner_key : "", "uid",
			      owner_uid ? owner_uid : "", "name", name, "tmpl", tmpl, "hash", hash ? hash : "", "ordinal",
			      (json_int_t)ordinal);
	if (add_labels)
		json_object_set(q, "labels", add_labels);
	if (spec_patch)
		json_object_set(q, "patch", spec_patch);
	json_array_append_new(r->queue, q);
	r->busy = true;
	return 0;
}

static void make_one(struct kube_rec *r, json_t *objects, json_t *q)
{
	const char *owner = jsonx_str(q, "owner"), *uid = jsonx_str(q, "uid");
	pod_make_now(r, objects, *owner ? owner : NULL, *uid ? uid : NULL, jsonx_str(q, "name"), json_object_get(q, "tmpl"),
		     jsonx_str(q, "hash"), json_object_get(q, "labels"), json_object_get(q, "patch"),
		     (long)json_integer_value(json_object_get(q, "ordinal")));
}

#define MAKE_PARALLEL 8

/* Make the queued pods; a worker's events come back on a pipe. */
static void make_queued(struct kube_rec *r, json_t *objects)
{
	size_t n = json_array_size(r->queue);
	if (n == 1)
		make_one(r, objects, json_array_get(r->queue, 0));
	for (size_t start = 0; n > 1 && start < n; start += MAKE_PARALLEL) {
		size_t end = start + MAKE_PARALLEL < n ? start + MAKE_PARALLEL : n;
		pid_t pids[MAKE_PARALLEL];
		int fds[MAKE_PARALLEL];
		for (size_t i = start; i < end; i++) {
			int p[2];
			pids[i - start] = -1;
			fds[i - start] = -1;
			if (pipe2(p, O_CLOEXEC) < 0) {
				make_one(r, objects, json_array_get(r->queue, i));
				continue;
			}
			fflush(NULL);
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				json_t *saved = r->status;
				r->status = json_object();
				make_one(r, objects, json_array_get(r->queue, i));
				char *ev = json_dumps(json_object_get(r->status, "events"), JSON_COMPACT);
				if (ev && fs_write_full(p[1], ev, strlen(ev)) < 0) {
				}
				(void)saved;
				_exit(0);
			}
			close(p[1]);
			if (pid < 0) {
				close(p[0]);
				make_one(r, objects, json_array_get(r->queue, i));
				continue;
			}
			pids[i - start] = pid;
			fds[i - start] = p[0];
		}
		for (size_t i = 0; i < end - start; i++) {
			if (pids[i] < 0)
				continue;
			struct sbuf b = {0};
			char buf[4096];
			ssize_t got;
			while ((got = read(fds[i], buf, sizeof(buf))) > 0)
				sbuf_add(&b, buf, (size_t)got);
			close(fds[i]);
			int st;
			waitpid(pids[i], &st, 0);
			json_t *evs = b.s ? json_loads(b.s, 0, NULL) : NULL;
			sbuf_release(&b);
			size_t j;
			json_t *ev;
			json_array_foreach(evs, j, ev)
				event(r, jsonx_str(ev, "object") ? jsonx_str(ev, "object") : "", jsonx_str(ev, "reason") ? jsonx_str(ev, "reason") : "",
				      jsonx_str(ev, "message") ? jsonx_str(ev, "message") : "");
			json_decref(evs);
		}
	}
	json_decref(r->queue);
	r->queue = NULL;
}

/* ---- controllers ---- */

static const char *obj_uid(json_t *doc, const char *key)
{
	/* objects get a stable uid the first time play records them */
	return jsonx_str(json_object_get(json_object_get(json_object_get(doc, "objects"), key), "metadata"), "uid");
}

static json_t *obj_status(struct kube_rec *r, const char *key)
{
	json_t *objs = json_object_get(r->status, "objects");
	if (!json_is_object(objs)) {
		objs = json_object();
		json_object_set_new(r->status, "objects", objs);
	}
	json_t *o = json_object_get(objs, key);
	if (!o) {
		o = json_object();
		json_object_set_new(objs, key, o);
	}
	return o;
}

/* Pods owned by key (not terminating unless all). */
static size_t owned(struct world *w, const char *key, struct podinfo **out, size_t max, bool with_terminating)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n && n < max; i++)
		if (w->p[i].owner && !strcmp(w->p[i].owner, key) && (with_terminating || !w->p[i].terminating))
			out[n++] = &w->p[i];
	return n;
}

static int replicas_of(const json_t *obj)
{
	json_t *v = json_object_get(json_object_get(obj, "spec"), "replicas");
	return json_is_integer(v) ? (int)json_integer_value(v) : 1;
}

/* The worst pods first: not ready, then the newest. */
static int victim_cmp(const void *a, const void *b)
{
	const struct podinfo *x = *(struct podinfo *const *)a, *y = *(struct podinfo *const *)b;
	if (x->ready != y->ready)
		return x->ready ? 1 : -1;
	return strcmp(y->created, x->created);
}

static void set_count(json_t *st, const char *k, int v)
{
	json_object_set_new(st, k, json_integer(v));
}

static void set_condition(json_t *st, const char *type, bool ok, const char *reason, const char *msg)
{
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	size_t i;
	json_t *c;
	const char *want = ok ? "True" : "False";
	json_array_foreach(conds, i, c) {
		if (strcmp(jsonx_str(c, "type") ? jsonx_str(c, "type") : "", type))
			continue;
		if (!strcmp(jsonx_str(c, "status") ? jsonx_str(c, "status") : "", want) &&
		    !strcmp(jsonx_str(c, "reason") ? jsonx_str(c, "reason") : "", reason))
			return;
		json_array_remove(conds, i);
		break;
	}
	char t[64];
	now_rfc3339(t, sizeof(t));
	json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status", want, "reason", reason,
					       "message", msg, "lastTransitionTime", t));
}

/* ReplicaSet-like scaling: pods of (key, hash) to `want`. */
static int scale_set(struct kube_rec *r, json_t *objects, const char *key, const char *uid, const char *prefix,
		     const json_t *tmpl, const char *hash, json_t *add_labels, struct podinfo **pods, size_t n, int want)
{
	int made = 0;
	for (int i = (int)n; i < want; i++) {
		char name[256], suf[6];
		kube_rand_suffix(suf);
		snprintf(name, sizeof(name), "%s-%s", prefix, suf);
		if (pod_make(r, objects, key, uid, name, tmpl, hash, add_labels, NULL, -1) == 0)
			made++;
		else
			break; /* the event says why; try again next pass */
	}
	if ((int)n > want) {
		qsort(pods, n, sizeof(*pods), victim_cmp);
		for (size_t i = 0; i < n - (size_t)want; i++)
			pod_delete(r, pods[i]->name, -1);
	}
	return made;
}

static void deployment(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	const char *uid = obj_uid(r->doc, key);
	int replicas = replicas_of(obj);
	char hash[16];
	kube_template_hash(tmpl, hash);
	char rsname[300];
	snprintf(rsname, sizeof(rsname), "%s-%s", name, hash);
	struct podinfo *all[1024], *newp[1024], *oldp[1024];
	size_t n = owned(w, key, all, 1024, false), nn = 0, no = 0;
	int new_ready = 0, old_ready = 0;
	for (size_t i = 0; i < n; i++) {
		if (all[i]->hash && !strcmp(all[i]->hash, hash)) {
			newp[nn++] = all[i];
			new_ready += all[i]->ready;
		} else {
			oldp[no++] = all[i];
			old_ready += all[i]->ready;
		}
	}
	json_t *add = json_pack("{s:s}", "pod-template-hash", hash);
	const json_t *strat = json_object_get(spec, "strategy");
	const char *stype = jsonx_str(strat, "type");
	/* revisions: each template hash the deployment had, numbered */
	json_t *st = obj_status(r, key);
	json_t *revs = json_object_get(st, "revisions");
	if (!json_is_object(revs)) {
		revs = json_object();
		json_object_set_new(st, "revisions", revs);
	}
	if (!json_object_get(revs, hash)) {
		json_int_t max = 0;
		const char *k;
		json_t *v;
		json_object_foreach(revs, k, v) if (json_integer_value(v) > max) max = json_integer_value(v);
		json_object_set_new(revs, hash, json_integer(max + 1));
	}
	if (stype && !strcmp(stype, "Recreate")) {
		if (no) {
			for (size_t i = 0; i < no; i++)
				pod_delete(r, oldp[i]->name, -1);
		} else {
			/* the old ones must be gone, not only terminating */
			struct podinfo *t[1024];
			size_t nt = owned(w, key, t, 1024, true);
			bool old_left = false;
			for (size_t i = 0; i < nt; i++)
				if (!t[i]->hash || strcmp(t[i]->hash, hash))
					old_left = true;
			if (!old_left)
				scale_set(r, objects, key, uid, rsname, tmpl, hash, add, newp, nn, replicas);
		}
	} else {
		const json_t *ru = json_object_get(strat, "rollingUpdate");
		int surge = kube_int_or_percent(json_object_get(ru, "maxSurge"), replicas, true, (replicas + 3) / 4);
		int unavail = kube_int_or_percent(json_object_get(ru, "maxUnavailable"), replicas, false, replicas / 4);
		if (surge == 0 && unavail == 0)
			unavail = 1;
		if (!no) {
			scale_set(r, objects, key, uid, rsname, tmpl, hash, add, newp, nn, replicas);
		} else {
			/* scale the new set up within the surge */
			int room = replicas + surge - (int)(nn + no);
			int want_new = (int)nn + (room > 0 ? room : 0);
			if (want_new > replicas)
				want_new = replicas;
			if (want_new > (int)nn)
				scale_set(r, objects, key, uid, rsname, tmpl, hash, add, newp, nn, want_new);
			/* and the old ones down while enough stay available */
			int min_avail = replicas - unavail;
			int can_go = new_ready + old_ready - min_avail;
			qsort(oldp, no, sizeof(*oldp), victim_cmp);
			for (size_t i = 0; i < no; i++) {
				if (!oldp[i]->ready) {
					pod_delete(r, oldp[i]->name, -1); /* an unready one costs no availability */
					continue;
				}
				/* never more old pods than the new set leaves room for */
				if (can_go <= 0)
					break;
				pod_delete(r, oldp[i]->name, -1);
				can_go--;
			}
		}
	}
	json_decref(add);
	/* status as the deployment controller reports it */
	json_t *s = json_object_get(st, "status");
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(st, "status", s);
	}
	set_count(s, "replicas", (int)n);
	set_count(s, "updatedReplicas", (int)nn);
	set_count(s, "readyReplicas", new_ready + old_ready);
	set_count(s, "availableReplicas", new_ready + old_ready);
	int un = replicas - new_ready - old_ready;
	set_count(s, "unavailableReplicas", un > 0 ? un : 0);
	json_object_set(s, "observedGeneration", json_object_get(json_object_get(obj, "metadata"), "generation"));
	bool avail = new_ready + old_ready >=
		     replicas - kube_int_or_percent(json_object_get(json_object_get(strat, "rollingUpdate"), "maxUnavailable"),
						    replicas, false, replicas / 4);
	set_condition(s, "Available", avail, avail ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
		      avail ? "Deployment has minimum availability." : "Deployment does not have minimum availability.");
	bool done = nn == (size_t)replicas && no == 0 && new_ready == replicas;
	char msg[400];
	snprintf(msg, sizeof(msg), done ? "ReplicaSet \"%s\" has successfully progressed." : "ReplicaSet \"%s\" is progressing.",
		 rsname);
	set_condition(s, "Progressing", true, done ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", msg);
	json_object_set_new(st, "complete", json_boolean(done));
	/* the ReplicaSets kubectl shows: every revision's, with its pods */
	json_t *rss = json_object_get(r->status, "replicasets");
	if (!json_is_object(rss)) {
		rss = json_object();
		json_object_set_new(r->status, "replicasets", rss);
	}
	const char *h;
	json_t *rev;
	json_object_foreach(revs, h, rev) {
		char rn[300];
		snprintf(rn, sizeof(rn), "%s-%s", name, h);
		int cnt = 0, rdy = 0;
		for (size_t i = 0; i < n; i++)
			if (all[i]->hash && !strcmp(all[i]->hash, h)) {
				cnt++;
				rdy += all[i]->ready;
			}
		int desired = !strcmp(h, hash) ? (replicas < (int)nn ? (int)nn : replicas) : cnt;
		if (!strcmp(h, hash))
			desired = replicas;
		json_t *labels = json_deep_copy(json_object_get(json_object_get(tmpl, "metadata"), "labels"));
		if (!json_is_object(labels)) {
			json_decref(labels);
			labels = json_object();
		}
		json_object_set_new(labels, "pod-template-hash", json_string(h));
		json_t *old = json_object_get(rss, rn);
		const char *ct = old ? jsonx_str(json_object_get(old, "metadata"), "creationTimestamp") : NULL;
		char t[64];
		now_rfc3339(t, sizeof(t));
		json_t *rsobj = json_pack(
			"{s:s,s:s,s:{s:s,s:s,s:s,s:o,s:{s:s},s:[{s:s,s:s,s:s,s:b}]},s:{s:i},s:{s:i,s:i,s:i}}", "apiVersion",
			"apps/v1", "kind", "ReplicaSet", "metadata", "name", rn, "namespace", r->ns, "creationTimestamp",
			ct ? ct : t, "labels", labels, "annotations", "deployment.kubernetes.io/revision",
			json_integer_value(rev) ? "" : "", "ownerReferences", "kind", "Deployment", "name", name, "uid",
			uid ? uid : "", "controller", 1, "spec", "replicas", desired, "status", "replicas", cnt, "readyReplicas",
			rdy, "availableReplicas", rdy);
		char rv[32];
		snprintf(rv, sizeof(rv), "%lld", (long long)json_integer_value(rev));
		json_object_set_new(json_object_get(json_object_get(rsobj, "metadata"), "annotations"),
				    "deployment.kubernetes.io/revision", json_string(rv));
		json_object_set_new(json_object_get(rsobj, "metadata"), "ownerKey", json_string(key));
		if (!old || !json_equal(old, rsobj))
			json_object_set_new(rss, rn, rsobj);
		else
			json_decref(rsobj);
	}
}

static void replicaset(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	struct podinfo *pods[1024];
	size_t n = owned(w, key, pods, 1024, false);
	int ready = 0;
	for (size_t i = 0; i < n; i++)
		ready += pods[i]->ready;
	char hash[16];
	kube_template_hash(tmpl, hash);
	int replicas = replicas_of(obj);
	scale_set(r, objects, key, obj_uid(r->doc, key), name, tmpl, hash, NULL, pods, n, replicas);
	json_t *st = obj_status(r, key);
	json_t *s = json_pack("{s:i,s:i,s:i,s:i}", "replicas", (int)n, "readyReplicas", ready, "availableReplicas", ready,
			      "fullyLabeledReplicas", (int)n);
	json_object_set_new(st, "status", s);
	json_object_set_new(st, "complete", json_boolean(ready == replicas && (int)n == replicas));
}

static void daemonset(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	struct podinfo *pods[64];
	size_t n = owned(w, key, pods, 64, false);
	char hash[16];
	kube_template_hash(tmpl, hash);
	json_t *add = json_pack("{s:s}", "controller-revision-hash", hash);
	const char *ut = jsonx_str(json_object_get(spec, "updateStrategy"), "type");
	bool ondelete = ut && !strcmp(ut, "OnDelete");
	struct podinfo *cur[64];
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ondelete && (!pods[i]->hash || strcmp(pods[i]->hash, hash)))
			pod_delete(r, pods[i]->name, -1);
		else
			cur[nc++] = pods[i];
	}
	/* one node: one pod, made once the old one is gone */
	struct podinfo *t[64];
	if (owned(w, key, t, 64, true) == nc)
		scale_set(r, objects, key, obj_uid(r->doc, key), name, tmpl, hash, add, cur, nc, 1);
	json_decref(add);
	int ready = 0;
	for (size_t i = 0; i < nc; i++)
		ready += cur[i]->ready;
	json_t *st = obj_status(r, key);
	json_object_set_new(st, "status", json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "desiredNumberScheduled", 1,
						    "currentNumberScheduled", (int)(nc ? 1 : 0), "numberReady", ready,
						    "updatedNumberScheduled", (int)nc, "numberAvailable", ready,
						    "numberMisscheduled", 0));
	json_object_set_new(st, "complete", json_boolean(ready == 1));
}

static void statefulset(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	const char *svc = jsonx_str(spec, "serviceName");
	int replicas = replicas_of(obj);
	char hash[16];
	kube_template_hash(tmpl, hash);
	char rev[300];
	snprintf(rev, sizeof(rev), "%s-%s", name, hash);
	bool parallel = jsonx_str(spec, "podManagementPolicy") && !strcmp(jsonx_str(spec, "podManagementPolicy"), "Parallel");
	struct podinfo *pods[1024], *by_ord[1024] = {0};
	size_t n = owned(w, key, pods, 1024, true);
	int ready = 0, current = 0;
	for (size_t i = 0; i < n; i++)
		if (pods[i]->ordinal >= 0 && pods[i]->ordinal < 1024)
			by_ord[pods[i]->ordinal] = pods[i];
	/* claims from volumeClaimTemplates, one per pod, kept after the pod */
	const json_t *vcts = json_object_get(spec, "volumeClaimTemplates");
	json_t *claims = json_object_get(r->status, "claims");
	if (!json_is_object(claims)) {
		claims = json_object();
		json_object_set_new(r->status, "claims", claims);
	}
	bool blocked = false;
	for (int i = 0; i < replicas && i < 1024; i++) {
		struct podinfo *p = by_ord[i];
		if (p && p->terminating) {
			blocked = !parallel;
			if (blocked)
				break;
			continue;
		}
		if (!p) {
			if (blocked)
				break;
			char pname[300];
			snprintf(pname, sizeof(pname), "%s-%d", name, i);
			json_t *patch = json_pack("{s:s}", "hostname", pname);
			if (svc)
				json_object_set_new(patch, "subdomain", json_string(svc));
			json_t *vols = json_deep_copy(json_object_get(json_object_get(tmpl, "spec"), "volumes"));
			if (!json_is_array(vols)) {
				json_decref(vols);
				vols = json_array();
			}
			size_t j;
			json_t *vct;
			json_array_foreach(vcts, j, vct) {
				const char *tn = jsonx_str(json_object_get(vct, "metadata"), "name");
				if (!tn)
					continue;
				char claim[400];
				snprintf(claim, sizeof(claim), "%s-%s-%d", tn, name, i);
				/* the claim as an object the pod's volume can name */
				json_t *pvc = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "v1", "kind",
							"PersistentVolumeClaim", "metadata", "name", claim, "namespace", r->ns,
							"spec", json_object_get(vct, "spec"));
				char ck[500];
				snprintf(ck, sizeof(ck), "PersistentVolumeClaim/%s", claim);
				json_object_set(objects, ck, pvc);
				if (!json_object_get(claims, claim))
					json_object_set(claims, claim, pvc);
				json_decref(pvc);
				json_array_append_new(vols, json_pack("{s:s,s:{s:s}}", "name", tn, "persistentVolumeClaim",
								      "claimName", claim));
			}
			json_object_set_new(patch, "volumes", vols);
			json_t *add = json_pack("{s:s,s:s}", "statefulset.kubernetes.io/pod-name", pname,
						"controller-revision-hash", rev);
			char idx[16];
			snprintf(idx, sizeof(idx), "%d", i);
			json_object_set_new(add, "apps.kubernetes.io/pod-index", json_string(idx));
			pod_make(r, objects, key, obj_uid(r->doc, key), pname, tmpl, hash, add, patch, i);
			json_decref(add);
			json_decref(patch);
			if (!parallel)
				blocked = true; /* one at a time, in order */
			continue;
		}
		if (p->ready)
			ready++;
		else if (!parallel)
			blocked = true;
		if (p->hash && !strcmp(p->hash, hash))
			current++;
	}
	/* scale down: the highest ordinal first, one at a time */
	for (int i = 1023; i >= replicas; i--) {
		struct podinfo *p = by_ord[i];
		if (!p || p->terminating)
			continue;
		if (!blocked || parallel)
			pod_delete(r, p->name, -1);
		if (!parallel)
			break;
	}
	/* rolling update: all there and ready, then the highest old one goes */
	int partition = 0;
	json_t *pv = json_object_get(json_object_get(json_object_get(spec, "updateStrategy"), "rollingUpdate"), "partition");
	if (json_is_integer(pv))
		partition = (int)json_integer_value(pv);
	const char *ut = jsonx_str(json_object_get(spec, "updateStrategy"), "type");
	if ((!ut || strcmp(ut, "OnDelete")) && ready == replicas) {
		for (int i = replicas - 1; i >= partition && i >= 0; i--) {
			struct podinfo *p = by_ord[i];
			if (p && !p->terminating && (!p->hash || strcmp(p->hash, hash))) {
				pod_delete(r, p->name, -1);
				break;
			}
		}
	}
	json_t *st = obj_status(r, key);
	json_object_set_new(st, "status", json_pack("{s:i,s:i,s:i,s:i,s:i,s:s,s:s}", "replicas", (int)n, "readyReplicas",
						    ready, "currentReplicas", current, "updatedReplicas", current,
						    "availableReplicas", ready, "currentRevision", rev, "updateRevision", rev));
	json_object_set_new(st, "complete", json_boolean(ready == replicas && current == replicas && (int)n == replicas));
}

static int64_t secs_since(const char *rfc)
{
	struct timespec t;
	if (!rfc || time_parse_rfc3339(rfc, &t) < 0)
		return 0;
	return (int64_t)time(NULL) - t.tv_sec;
}

static void job(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	json_t *cv = json_object_get(spec, "completions"), *pv = json_object_get(spec, "parallelism"),
	       *bv = json_object_get(spec, "backoffLimit"), *dv = json_object_get(spec, "activeDeadlineSeconds");
	int completions = json_is_integer(cv) ? (int)json_integer_value(cv) : 1;
	int parallelism = json_is_integer(pv) ? (int)json_integer_value(pv) : 1;
	int backoff = json_is_integer(bv) ? (int)json_integer_value(bv) : 6;
	json_t *st = obj_status(r, key);
	json_t *s = json_object_get(st, "status");
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(st, "status", s);
	}
	char t[64];
	now_rfc3339(t, sizeof(t));
	if (!jsonx_str(s, "startTime"))
		json_object_set_new(s, "startTime", json_string(t));
	struct podinfo *pods[1024];
	size_t n = owned(w, key, pods, 1024, false);
	int active = 0, succeeded = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (pods[i]->done)
			succeeded++;
		else if (pods[i]->failed)
			failed++;
		else
			active++;
		/* OnFailure: the container restarts inside its pod; each restart is a failure */
		size_t j;
		json_t *cs;
		json_array_foreach(json_object_get(pods[i]->status, "containerStatuses"), j, cs)
			failed += (int)json_integer_value(json_object_get(cs, "restartCount"));
	}
	bool finished = json_is_true(json_object_get(st, "finished"));
	const char *fail_reason = NULL;
	char fail_msg[200] = "";
	if (!finished && failed > backoff) {
		fail_reason = "BackoffLimitExceeded";
		snprintf(fail_msg, sizeof(fail_msg), "Job has reached the specified backoff limit");
	}
	if (!finished && json_is_integer(dv) && secs_since(jsonx_str(s, "startTime")) >= json_integer_value(dv)) {
		fail_reason = "DeadlineExceeded";
		snprintf(fail_msg, sizeof(fail_msg), "Job was active longer than specified deadline");
	}
	if (fail_reason) {
		for (size_t i = 0; i < n; i++)
			if (!pods[i]->done && !pods[i]->failed)
				pod_delete(r, pods[i]->name, 0);
		set_condition(s, "Failed", true, fail_reason, fail_msg);
		json_object_set_new(st, "finished", json_true());
		json_object_set_new(st, "failed", json_true());
		event(r, key, fail_reason, fail_msg);
		finished = true;
	}
	if (!finished && succeeded >= completions) {
		json_object_set_new(s, "completionTime", json_string(t));
		set_condition(s, "Complete", true, "", "");
		json_object_set_new(st, "finished", json_true());
		finished = true;
		/* the rest are not needed */
		for (size_t i = 0; i < n; i++)
			if (!pods[i]->done && !pods[i]->failed)
				pod_delete(r, pods[i]->name, -1);
	}
	if (!finished) {
		int want = completions - succeeded;
		if (want > parallelism)
			want = parallelism;
		char hash[16];
		kube_template_hash(tmpl, hash);
		const char *uid = obj_uid(r->doc, key);
		json_t *add = json_pack("{s:s,s:s,s:s,s:s}", "job-name", name, "batch.kubernetes.io/job-name", name,
					"controller-uid", uid ? uid : "", "batch.kubernetes.io/controller-uid", uid ? uid : "");
		for (int i = active; i < want; i++) {
			char pname[300], suf[6];
			kube_rand_suffix(suf);
			snprintf(pname, sizeof(pname), "%s-%s", name, suf);
			if (pod_make(r, objects, key, uid, pname, tmpl, hash, add, NULL, -1) < 0)
				break;
			active++;
		}
		json_decref(add);
	}
	set_count(s, "active", finished ? 0 : active);
	set_count(s, "succeeded", succeeded);
	set_count(s, "failed", failed);
	json_object_set_new(st, "complete", json_boolean(finished));
}

static void bare_pod(struct kube_rec *r, json_t *objects, const char *key, json_t *obj, struct world *w)
{
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	char hash[16];
	json_t *tmpl = json_pack("{s:O,s:O}", "metadata", json_object_get(obj, "metadata"), "spec",
				 json_object_get(obj, "spec"));
	json_object_del(json_object_get(tmpl, "metadata"), "uid");
	kube_template_hash(json_object_get(tmpl, "spec"), hash);
	struct podinfo *pods[4];
	size_t nall = owned(w, key, pods, 4, true);
	size_t n = owned(w, key, pods, 4, false);
	if (n && (!pods[0]->hash || strcmp(pods[0]->hash, hash)))
		pod_delete(r, pods[0]->name, -1); /* a changed pod is replaced */
	else if (!nall) {
		json_t *md = json_object_get(tmpl, "metadata");
		json_t *clean = json_pack("{s:O,s:O}", "labels",
					  json_object_get(md, "labels") ? json_object_get(md, "labels") : json_object(),
					  "annotations",
					  json_object_get(md, "annotations") ? json_object_get(md, "annotations") : json_object());
		json_t *t2 = json_pack("{s:o,s:O}", "metadata", clean, "spec", json_object_get(obj, "spec"));
		pod_make(r, objects, key, NULL, name, t2, hash, NULL, NULL, -1);
		json_decref(t2);
	}
	json_decref(tmpl);
}

/* ---- Services ---- */

static json_t *services(struct kube_rec *r, json_t *objects, struct world *w)
{
	json_t *out = json_array();
	struct kube_svc_pod *pods = calloc(w->n ? w->n : 1, sizeof(*pods));
	size_t np = 0;
	for (size_t k = 0; k < w->n; k++) {
		struct podinfo *pi = &w->p[k];
		if (pi->terminating || pi->done || pi->failed)
			continue;
		pods[np++] = (struct kube_svc_pod){.name = pi->name,
						   .labels = json_object_get(json_object_get(pi->meta, "metadata"), "labels"),
						   .spec = json_object_get(pi->meta, "spec"),
						   .ip = jsonx_str(pi->status, "podIP"),
						   .ready = pi->ready};
	}
	const char *key;
	json_t *obj;
	json_object_foreach(objects, key, obj) {
		if (strcmp(jsonx_str(obj, "kind") ? jsonx_str(obj, "kind") : "", "Service"))
			continue;
		/* net/svc.c keeps the addresses and node ports it gave stable */
		json_array_append_new(out, kube_svc_entry(obj, r->ns, pods, np, true));
	}
	free(pods);
	return out;
}

/* True when the network's rules and names match the pods as they are now. */
static bool services_sync(struct kube_rec *r, json_t *objects, struct world *w)
{
	json_t *svcs = services(r, objects, w);
	if (r->svc_applied && json_equal(r->svc_applied, svcs)) {
		json_decref(svcs);
		return true;
	}
	json_t *given = json_deep_copy(svcs);
	struct berr *e = NULL;
	if (net_svc_sync(r->root, r->runroot, r->network, svcs, &e) < 0) {
		event(r, "Service", "FailedSync", e ? e->msg : "error");
		berr_free(e);
		json_decref(svcs);
		json_decref(given);
		return false;
	}
	/* record the addresses and node ports the network gave */
	size_t i;
	json_t *s;
	json_array_foreach(svcs, i, s) {
		char key[320];
		snprintf(key, sizeof(key), "Service/%s", jsonx_str(s, "name"));
		json_t *st = obj_status(r, key);
		json_t *eps = json_array();
		size_t j;
		json_t *ep;
		json_array_foreach(json_object_get(s, "endpoints"), j, ep) json_array_append(eps, ep);
		json_object_set_new(st, "spec", json_pack("{s:O,s:O}", "clusterIP", json_object_get(s, "clusterIP"), "ports",
							  json_object_get(s, "ports")));
		json_object_set_new(st, "endpoints", eps);
		const char *type = jsonx_str(s, "type");
		if (type && !strcmp(type, "LoadBalancer"))
			json_object_set_new(st, "status", json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "hostname",
								    "localhost"));
	}
	json_decref(r->svc_applied);
	r->svc_applied = given; /* what we asked, before the allocations were filled in */
	given = NULL;
	json_decref(svcs);
	r->busy = true;
	return true;
}

/* ---- the pass ---- */

int kube_reconcile(struct kube_rec *r, struct berr **err)
{
	(void)err;
	r->busy = false;
	kube_rec_reap(r);
	if (!r->status)
		r->status = kube_store_status(r->root, r->ns);
	json_t *before = json_deep_copy(r->status);
	int nterm_before = r->nterm;
	/* a working copy: controllers add the claims they make */
	json_t *objects = json_deep_copy(json_object_get(r->doc, "objects"));
	const char *ck;
	json_t *claim;
	json_object_foreach(json_object_get(r->status, "claims"), ck, claim) {
		char k[500];
		snprintf(k, sizeof(k), "PersistentVolumeClaim/%s", ck);
		if (!json_object_get(objects, k))
			json_object_set(objects, k, claim);
	}
	struct world w = {0};
	world_load(r, &w);
	/* pods whose owner is gone */
	for (size_t i = 0; i < w.n; i++) {
		struct podinfo *p = &w.p[i];
		if (p->terminating)
			continue;
		if (!p->owner || !json_object_get(objects, p->owner))
			pod_delete(r, p->name, -1);
	}
	const char *key;
	json_t *obj;
	json_object_foreach(objects, key, obj) {
		const char *kind = jsonx_str(obj, "kind");
		if (!kind)
			continue;
		if (!strcmp(kind, "Deployment"))
			deployment(r, objects, key, obj, &w);
		else if (!strcmp(kind, "ReplicaSet"))
			replicaset(r, objects, key, obj, &w);
		else if (!strcmp(kind, "StatefulSet"))
			statefulset(r, objects, key, obj, &w);
		else if (!strcmp(kind, "DaemonSet"))
			daemonset(r, objects, key, obj, &w);
		else if (!strcmp(kind, "Job"))
			job(r, objects, key, obj, &w);
		else if (!strcmp(kind, "Pod"))
			bare_pod(r, objects, key, obj, &w);
	}
	size_t made = json_array_size(r->queue);
	make_queued(r, objects);
	/* status of objects that left */
	json_t *sobjs = json_object_get(r->status, "objects");
	void *tmp;
	json_object_foreach_safe(sobjs, tmp, key, obj) if (!json_object_get(objects, key)) json_object_del(sobjs, key);
	json_t *rss = json_object_get(r->status, "replicasets");
	json_object_foreach_safe(rss, tmp, key, obj) {
		const char *owner = jsonx_str(json_object_get(obj, "metadata"), "ownerKey");
		if (!owner || !json_object_get(objects, owner))
			json_object_del(rss, key);
	}
	/* every pod a step further (a no-op for running ones) */
	for (size_t i = 0; i < w.n; i++) {
		struct podinfo *p = &w.p[i];
		if (p->terminating || p->done || p->failed)
			continue;
		struct berr *e = NULL;
		if (pod_sync(r->cs, r->is, r->ns, p->name, &e) < 0) {
			char k[320];
			snprintf(k, sizeof(k), "Pod/%s", p->name);
			event(r, k, "FailedSync", e ? e->msg : "error");
			berr_free(e);
		}
		if (!p->ready)
			r->busy = true;
	}
	/* ConfigMap and Secret changes reach mounted volumes */
	json_int_t gen = json_integer_value(json_object_get(r->doc, "generation"));
	if (gen != r->refreshed_gen) {
		for (size_t i = 0; i < w.n; i++) {
			struct podinfo *p = &w.p[i];
			if (p->terminating)
				continue;
			json_t *pod = json_pack("{s:O,s:O}", "metadata", json_object_get(p->meta, "metadata"), "spec",
						json_object_get(p->meta, "spec"));
			struct kube_pod_ctx c = {.root = r->root, .runroot = r->runroot, .ns = r->ns, .objects = objects,
						 .network = r->network, .gateway = r->gateway};
			int changed = 0;
			struct berr *e = NULL;
			if (kube_podspec_refresh(&c, pod, &changed, &e) < 0) {
				char k[320];
				snprintf(k, sizeof(k), "Pod/%s", p->name);
				event(r, k, "FailedMount", e ? e->msg : "error");
				berr_free(e);
			}
			json_decref(pod);
		}
		r->refreshed_gen = gen;
	}
	/* pod status as of now for Services (IPs and readiness), read again
	 * only when this pass made or removed pods: a steady pass reads each
	 * pod's state once */
	if (made || r->nterm != nterm_before) {
		world_free(&w);
		world_load(r, &w);
	}
	/* play --wait waits for this too: a Service answers once it returns */
	json_object_set_new(r->status, "servicesInSync", json_boolean(services_sync(r, objects, &w)));
	/* a summary play --wait and get read */
	json_t *pods = json_object();
	for (size_t i = 0; i < w.n; i++) {
		json_t *pi = json_pack("{s:b,s:s}", "ready", w.p[i].ready, "owner", w.p[i].owner ? w.p[i].owner : "");
		if (w.p[i].terminating)
			json_object_set_new(pi, "terminating", json_true());
		json_object_set_new(pods, w.p[i].name, pi);
	}
	for (int i = 0; i < r->nterm; i++)
		if (!json_object_get(pods, r->term[i].name))
			json_object_set_new(pods, r->term[i].name, json_pack("{s:b,s:b}", "ready", 0, "terminating", 1));
	json_object_set_new(r->status, "pods", pods);
	json_object_set(r->status, "observedGeneration", json_object_get(r->doc, "generation"));
	world_free(&w);
	json_decref(objects);
	if (!json_equal(before, r->status)) {
		struct berr *e = NULL;
		if (kube_store_write_status(r->root, r->ns, r->status, &e) < 0)
			berr_free(e);
	}
	json_decref(before);
	return 0;
}

int kube_teardown(struct kube_rec *r, json_t *keep, bool volumes, struct berr **err)
{
	(void)err;
	if (!r->status)
		r->status = kube_store_status(r->root, r->ns);
	struct world w = {0};
	world_load(r, &w);
	for (size_t i = 0; i < w.n; i++)
		if (!keep || !w.p[i].owner || !json_object_get(keep, w.p[i].owner))
			pod_delete(r, w.p[i].name, -1);
	world_free(&w);
	while (r->nterm > 0) {
		int st;
		pid_t p = wait(&st);
		if (p < 0)
			break;
		for (int i = 0; i < r->nterm; i++)
			if (r->term[i].pid == p) {
				r->term[i] = r->term[--r->nterm];
				break;
			}
	}
	r->nterm = 0;
	if (!keep || !json_object_size(keep)) {
		net_svc_remove_all(r->root, r->runroot, r->network);
		struct berr *e = NULL;
		if (net_remove(r->root, r->runroot, r->network, &e) < 0 && e && e->code != BERR_NOT_FOUND) {
			berr_wrap(&e, "namespace %s", r->ns);
			if (err) {
				berr_free(*err);
				*err = e;
				e = NULL;
			}
		}
		berr_free(e);
	} else {
		/* the Services that stay: one sync with only them */
		json_t *doc = r->doc;
		json_t *fake = json_pack("{s:O}", "objects", keep);
		r->doc = fake;
		json_decref(r->svc_applied);
		r->svc_applied = NULL;
		struct world w2 = {0};
		world_load(r, &w2);
		services_sync(r, keep, &w2);
		world_free(&w2);
		r->doc = doc;
		json_decref(fake);
	}
	if (volumes) {
		/* claims of the removed objects: every kube volume of the namespace when nothing stays */
		json_t *names = volume_list(r->root);
		size_t i;
		json_t *v;
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "kube_%s_", r->ns);
		json_array_foreach(names, i, v) {
			const char *n = json_string_value(v);
			if (!n || strncmp(n, prefix, strlen(prefix)))
				continue;
			const char *claim = n + strlen(prefix);
			char k[500];
			snprintf(k, sizeof(k), "PersistentVolumeClaim/%s", claim);
			if (keep && json_object_get(keep, k))
				continue;
			struct berr *e = NULL;
			volume_remove(r->root, n, &e);
			berr_free(e);
		}
		json_decref(names);
	}
	return 0;
}

void kube_rec_release(struct kube_rec *r)
{
	json_decref(r->status);
	json_decref(r->svc_applied);
	r->status = r->svc_applied = NULL;
}
