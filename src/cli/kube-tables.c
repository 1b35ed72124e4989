/* kubectl's table shapes (kube-tables.h). The columns and the way each cell
 * is computed follow kubectl 1.36's printers (pkg/printers/internalversion):
 * the same headers, the same "<none>"/"<unset>" fillers, the pod STATUS
 * reasoning over init and app container states. */
#include "cli/kube-tables.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

const struct kt_kind kt_kinds[] = {
	/* the `all` group first, in kubectl's discovery order (core, apps, batch) */
	{"Pod", "pods", "po", "", "v1", true, true},
	{"Service", "services", "svc", "", "v1", true, true},
	{"DaemonSet", "daemonsets", "ds", "apps", "apps/v1", true, true},
	{"Deployment", "deployments", "deploy", "apps", "apps/v1", true, true},
	{"ReplicaSet", "replicasets", "rs", "apps", "apps/v1", true, true},
	{"StatefulSet", "statefulsets", "sts", "apps", "apps/v1", true, true},
	{"CronJob", "cronjobs", "cj", "batch", "batch/v1", true, true},
	{"Job", "jobs", "", "batch", "batch/v1", true, true},
	{"ConfigMap", "configmaps", "cm", "", "v1", true, false},
	{"Secret", "secrets", "", "", "v1", true, false},
	{"PersistentVolumeClaim", "persistentvolumeclaims", "pvc", "", "v1", true, false},
	{"Namespace", "namespaces", "ns", "", "v1", false, false},
};
const size_t kt_nkinds = sizeof(kt_kinds) / sizeof(kt_kinds[0]);

static bool name_is(const struct kt_kind *k, const char *n, size_t len)
{
	if ((strlen(k->plural) == len && !strncasecmp(k->plural, n, len)) ||
	    (strlen(k->kind) == len && !strncasecmp(k->kind, n, len)))
		return true;
	/* short names: space separated */
	for (const char *s = k->shorts; *s;) {
		size_t l = strcspn(s, " ");
		if (l == len && !strncasecmp(s, n, len))
			return true;
		s += l;
		while (*s == ' ')
			s++;
	}
	return false;
}

const struct kt_kind *kt_kind_find(const char *name)
{
	if (!name || !*name)
		return NULL;
	/* "deployments", "deployment.apps", "deploy.v1.apps" */
	const char *dot = strchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);
	const char *group = NULL;
	if (dot) {
		group = dot + 1;
		const char *d2 = strchr(group, '.');
		if (d2 && group[0] == 'v' && isdigit((unsigned char)group[1]))
			group = d2 + 1; /* skip the version */
		else if (!strncmp(group, "v1", 2) && !group[2])
			group = ""; /* "pods.v1": the core group */
	}
	for (size_t i = 0; i < kt_nkinds; i++) {
		const struct kt_kind *k = &kt_kinds[i];
		if (!name_is(k, name, len))
			continue;
		if (group && strcasecmp(group, k->group))
			continue;
		return k;
	}
	return NULL;
}

void kt_kind_prefix(const struct kt_kind *k, char *buf, size_t n)
{
	size_t i = 0;
	for (const char *p = k->kind; *p && i + 1 < n; p++)
		buf[i++] = (char)tolower((unsigned char)*p);
	buf[i] = 0;
	if (*k->group)
		snprintf(buf + i, n - i, ".%s", k->group);
}

/* ---- small JSON accessors ---- */

/* a.b.c inside o */
static const json_t *jget(const json_t *o, const char *path)
{
	char key[128];
	while (o && *path) {
		size_t l = strcspn(path, ".");
		if (l >= sizeof(key))
			return NULL;
		memcpy(key, path, l);
		key[l] = 0;
		o = json_object_get(o, key);
		path += l;
		if (*path == '.')
			path++;
	}
	return o;
}

static const char *jstr(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *jstr_or(const json_t *o, const char *path, const char *dflt)
{
	const char *s = jstr(o, path);
	return s && *s ? s : dflt;
}

static json_int_t jint(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return 0;
}

static bool jtrue(const json_t *o, const char *path)
{
	return json_is_true(jget(o, path));
}

static void cell(json_t *row, const char *s)
{
	json_array_append_new(row, json_string(s ? s : ""));
}

static void cellf(json_t *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cellf(json_t *row, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cell(row, buf);
}

static void cellsb(json_t *row, struct sbuf *b)
{
	cell(row, sbuf_str(b));
	sbuf_release(b);
}

/* ---- durations and ages ---- */

void kt_human_duration(int64_t s, char *buf, size_t n)
{
	if (s < -1) {
		snprintf(buf, n, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	if (s < 120) {
		snprintf(buf, n, "%llds", (long long)s);
		return;
	}
	int64_t m = s / 60;
	if (m < 10) {
		if (s % 60)
			snprintf(buf, n, "%lldm%llds", (long long)m, (long long)(s % 60));
		else
			snprintf(buf, n, "%lldm", (long long)m);
		return;
	}
	if (m < 180) {
		snprintf(buf, n, "%lldm", (long long)m);
		return;
	}
	int64_t h = s / 3600;
	if (h < 8) {
		if (m % 60)
			snprintf(buf, n, "%lldh%lldm", (long long)h, (long long)(m % 60));
		else
			snprintf(buf, n, "%lldh", (long long)h);
	} else if (h < 48) {
		snprintf(buf, n, "%lldh", (long long)h);
	} else if (h < 24 * 8) {
		if (h % 24)
			snprintf(buf, n, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24));
		else
			snprintf(buf, n, "%lldd", (long long)(h / 24));
	} else if (h < 24 * 365 * 2) {
		snprintf(buf, n, "%lldd", (long long)(h / 24));
	} else if (h < 24 * 365 * 8) {
		int64_t dy = (h / 24) % 365;
		if (dy)
			snprintf(buf, n, "%lldy%lldd", (long long)(h / 24 / 365), (long long)dy);
		else
			snprintf(buf, n, "%lldy", (long long)(h / 24 / 365));
	} else {
		snprintf(buf, n, "%lldy", (long long)(h / 24 / 365));
	}
}

static bool ts_parse(const char *ts, struct timespec *ret)
{
	return ts && *ts && time_parse_rfc3339(ts, ret) == 0;
}

void kt_age(const char *ts, time_t now, char *buf, size_t n)
{
	struct timespec t;
	if (!ts_parse(ts, &t)) {
		snprintf(buf, n, "<unknown>");
		return;
	}
	kt_human_duration((int64_t)(now - t.tv_sec), buf, n);
}

static void age_cell(json_t *row, const json_t *obj, time_t now)
{
	char b[32];
	kt_age(jstr(obj, "metadata.creationTimestamp"), now, b, sizeof(b));
	cell(row, b);
}

/* ---- labels and selectors ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of an object, sorted (caller frees the array). */
static const char **sorted_keys(const json_t *o, size_t *ret_n)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	*ret_n = n;
	return keys;
}

void kt_format_labels(const json_t *labels, struct sbuf *out)
{
	size_t n = 0;
	const char **keys = json_is_object(labels) ? sorted_keys(labels, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(labels, keys[i]));
		sbuf_addf(out, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
	}
	if (!n)
		sbuf_adds(out, "<none>");
	free(keys);
}

struct req {
	const char *key;
	char *text;
};

static int cmp_req(const void *a, const void *b)
{
	return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

void kt_format_selector(const json_t *sel, bool empty_none, struct sbuf *out)
{
	const json_t *ml = json_object_get(sel, "matchLabels"), *me = json_object_get(sel, "matchExpressions");
	size_t n = json_object_size(ml) + json_array_size(me), i = 0;
	struct req *r = calloc(n + 1, sizeof(*r));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v)
	{
		r[i].key = k;
		if (asprintf(&r[i].text, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "") < 0)
			r[i].text = NULL;
		i++;
	}
	size_t j;
	json_array_foreach(me, j, v)
	{
		const char *key = jstr(v, "key"), *op = jstr(v, "operator");
		if (!key || !op)
			continue;
		struct sbuf b = SBUF_INIT;
		if (!strcmp(op, "Exists")) {
			sbuf_adds(&b, key);
		} else if (!strcmp(op, "DoesNotExist")) {
			sbuf_addf(&b, "!%s", key);
		} else {
			/* values sorted, as a sets.String */
			const json_t *vals = json_object_get(v, "values");
			size_t nv = json_array_size(vals);
			const char **vs = calloc(nv + 1, sizeof(*vs));
			for (size_t x = 0; x < nv; x++)
				vs[x] = json_string_value(json_array_get(vals, x)) ? json_string_value(json_array_get(vals, x)) : "";
			qsort(vs, nv, sizeof(*vs), cmp_str);
			sbuf_addf(&b, "%s %s (", key, !strcmp(op, "NotIn") ? "notin" : "in");
			for (size_t x = 0; x < nv; x++)
				sbuf_addf(&b, "%s%s", x ? "," : "", vs[x]);
			sbuf_addc(&b, ')');
			free(vs);
		}
		r[i].key = key;
		r[i].text = sbuf_detach(&b);
		i++;
	}
	qsort(r, i, sizeof(*r), cmp_req);
	for (size_t x = 0; x < i; x++) {
		sbuf_addf(out, "%s%s", x ? "," : "", r[x].text ? r[x].text : "");
		free(r[x].text);
	}
	if (!i && empty_none)
		sbuf_adds(out, "<none>");
	free(r);
}

/* ---- the columns of each type ---- */

static void containers_cells(json_t *row, const json_t *podspec)
{
	struct sbuf names = SBUF_INIT, images = SBUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(podspec, "containers"), i, c)
	{
		sbuf_addf(&names, "%s%s", i ? "," : "", jstr_or(c, "name", ""));
		sbuf_addf(&images, "%s%s", i ? "," : "", jstr_or(c, "image", ""));
	}
	cellsb(row, &names);
	cellsb(row, &images);
}

static void selector_cell(json_t *row, const json_t *sel, bool empty_none)
{
	struct sbuf b = SBUF_INIT;
	kt_format_selector(sel, empty_none, &b);
	cellsb(row, &b);
}

static const json_t *cond(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = jstr(c, "type");
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static bool cond_true(const json_t *status, const char *type)
{
	const char *s = jstr(cond(status, type), "status");
	return s && !strcmp(s, "True");
}

static bool restartable_init(const json_t *spec, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
	{
		const char *n = jstr(c, "name"), *rp = jstr(c, "restartPolicy");
		if (n && name && !strcmp(n, name))
			return rp && !strcmp(rp, "Always");
	}
	return false;
}

static void later(struct timespec *last, const json_t *cs)
{
	struct timespec t;
	if (ts_parse(jstr(cs, "lastState.terminated.finishedAt"), &t) &&
	    (t.tv_sec > last->tv_sec || (t.tv_sec == last->tv_sec && t.tv_nsec > last->tv_nsec)))
		*last = t;
}

void kt_pod_summary(const json_t *pod, time_t now, char *status, size_t ns, char *ready, size_t nr, char *restarts,
		    size_t nrs)
{
	const json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
	const json_t *inits = json_object_get(spec, "initContainers");
	long nrestart = 0, ri_restarts = 0;
	int total = (int)json_array_size(json_object_get(spec, "containers")), nready = 0;
	struct timespec last = {0}, ri_last = {0};
	const char *phase = jstr_or(st, "phase", "");
	char reason[160];
	snprintf(reason, sizeof(reason), "%s", jstr_or(st, "reason", phase));
	const json_t *sched = cond(st, "PodScheduled");
	if (sched && jstr(sched, "reason") && !strcmp(jstr(sched, "reason"), "SchedulingGated"))
		snprintf(reason, sizeof(reason), "SchedulingGated");
	size_t i;
	json_t *c;
	json_array_foreach(inits, i, c) if (jstr(c, "restartPolicy") && !strcmp(jstr(c, "restartPolicy"), "Always")) total++;

	bool initializing = false;
	json_array_foreach(json_object_get(st, "initContainerStatuses"), i, c)
	{
		const char *name = jstr(c, "name");
		bool sidecar = restartable_init(spec, name);
		nrestart += (long)jint(c, "restartCount");
		later(&last, c);
		if (sidecar) {
			ri_restarts += (long)jint(c, "restartCount");
			later(&ri_last, c);
		}
		const json_t *term = jget(c, "state.terminated"), *wait = jget(c, "state.waiting");
		if (term && jint(term, "exitCode") == 0)
			continue;
		if (sidecar && jtrue(c, "started")) {
			if (jtrue(c, "ready"))
				nready++;
			continue;
		}
		if (term) {
			const char *r = jstr(term, "reason");
			if (r && *r)
				snprintf(reason, sizeof(reason), "Init:%s", r);
			else if (jint(term, "signal"))
				snprintf(reason, sizeof(reason), "Init:Signal:%lld", (long long)jint(term, "signal"));
			else
				snprintf(reason, sizeof(reason), "Init:ExitCode:%lld", (long long)jint(term, "exitCode"));
		} else if (wait && jstr(wait, "reason") && *jstr(wait, "reason") &&
			   strcmp(jstr(wait, "reason"), "PodInitializing")) {
			snprintf(reason, sizeof(reason), "Init:%s", jstr(wait, "reason"));
		} else {
			snprintf(reason, sizeof(reason), "Init:%zu/%zu", i, json_array_size(inits));
		}
		initializing = true;
		break;
	}
	if (!initializing || cond_true(st, "Initialized")) {
		nrestart = ri_restarts;
		last = ri_last;
		bool running = false;
		const json_t *css = json_object_get(st, "containerStatuses");
		for (size_t k = json_array_size(css); k-- > 0;) {
			c = json_array_get(css, k);
			nrestart += (long)jint(c, "restartCount");
			later(&last, c);
			const json_t *term = jget(c, "state.terminated"), *wait = jget(c, "state.waiting");
			const char *wr = jstr(wait, "reason"), *tr = jstr(term, "reason");
			if (wait && wr && *wr) {
				snprintf(reason, sizeof(reason), "%s", wr);
			} else if (term && tr && *tr) {
				snprintf(reason, sizeof(reason), "%s", tr);
			} else if (term) {
				if (jint(term, "signal"))
					snprintf(reason, sizeof(reason), "Signal:%lld", (long long)jint(term, "signal"));
				else
					snprintf(reason, sizeof(reason), "ExitCode:%lld", (long long)jint(term, "exitCode"));
			} else if (jtrue(c, "ready") && jget(c, "state.running")) {
				running = true;
				nready++;
			}
		}
		/* a pod whose last listed container completed while another runs */
		if (!strcmp(reason, "Completed") && running)
			snprintf(reason, sizeof(reason), "%s", cond_true(st, "Ready") ? "Running" : "NotReady");
	}
	const char *del = jstr(pod, "metadata.deletionTimestamp");
	if (del && *del && !strcmp(jstr_or(st, "reason", ""), "NodeLost"))
		snprintf(reason, sizeof(reason), "Unknown");
	else if (del && *del && strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
		snprintf(reason, sizeof(reason), "Terminating");

	snprintf(status, ns, "%s", reason);
	snprintf(ready, nr, "%d/%d", nready, total);
	if (nrestart && last.tv_sec) {
		char ago[32];
		kt_human_duration((int64_t)(now - last.tv_sec), ago, sizeof(ago));
		snprintf(restarts, nrs, "%ld (%s ago)", nrestart, ago);
	} else {
		snprintf(restarts, nrs, "%ld", nrestart);
	}
}

static void row_pod(json_t *row, const json_t *o, bool wide, time_t now)
{
	char status[160], ready[32], restarts[64];
	kt_pod_summary(o, now, status, sizeof(status), ready, sizeof(ready), restarts, sizeof(restarts));
	cell(row, ready);
	cell(row, status);
	cell(row, restarts);
	age_cell(row, o, now);
	if (!wide)
		return;
	const json_t *st = json_object_get(o, "status"), *spec = json_object_get(o, "spec");
	cell(row, jstr_or(json_array_get(json_object_get(st, "podIPs"), 0), "ip", jstr_or(st, "podIP", "<none>")));
	cell(row, jstr_or(spec, "nodeName", "<none>"));
	cell(row, jstr_or(st, "nominatedNodeName", "<none>"));
	const json_t *gates = json_object_get(spec, "readinessGates");
	if (!json_array_size(gates)) {
		cell(row, "<none>");
		return;
	}
	size_t i, t = 0;
	json_t *g;
	json_array_foreach(gates, i, g)
	{
		const char *ct = jstr(g, "conditionType");
		if (ct && cond_true(st, ct))
			t++;
	}
	cellf(row, "%zu/%zu", t, json_array_size(gates));
}

static void row_deployment(json_t *row, const json_t *o, bool wide, time_t now)
{
	cellf(row, "%lld/%lld", (long long)jint(o, "status.readyReplicas"), (long long)jint(o, "spec.replicas"));
	cellf(row, "%lld", (long long)jint(o, "status.updatedReplicas"));
	cellf(row, "%lld", (long long)jint(o, "status.availableReplicas"));
	age_cell(row, o, now);
	if (wide) {
		containers_cells(row, jget(o, "spec.template.spec"));
		selector_cell(row, jget(o, "spec.selector"), false);
	}
}

static void row_replicaset(json_t *row, const json_t *o, bool wide, time_t now)
{
	cellf(row, "%lld", (long long)jint(o, "spec.replicas"));
	cellf(row, "%lld", (long long)jint(o, "status.replicas"));
	cellf(row, "%lld", (long long)jint(o, "status.readyReplicas"));
	age_cell(row, o, now);
	if (wide) {
		containers_cells(row, jget(o, "spec.template.spec"));
		selector_cell(row, jget(o, "spec.selector"), true);
	}
}

static void row_statefulset(json_t *row, const json_t *o, bool wide, time_t now)
{
	cellf(row, "%lld/%lld", (long long)jint(o, "status.readyReplicas"), (long long)jint(o, "spec.replicas"));
	age_cell(row, o, now);
	if (wide)
		containers_cells(row, jget(o, "spec.template.spec"));
}

static void row_daemonset(json_t *row, const json_t *o, bool wide, time_t now)
{
	cellf(row, "%lld", (long long)jint(o, "status.desiredNumberScheduled"));
	cellf(row, "%lld", (long long)jint(o, "status.currentNumberScheduled"));
	cellf(row, "%lld", (long long)jint(o, "status.numberReady"));
	cellf(row, "%lld", (long long)jint(o, "status.updatedNumberScheduled"));
	cellf(row, "%lld", (long long)jint(o, "status.numberAvailable"));
	struct sbuf b = SBUF_INIT;
	kt_format_labels(jget(o, "spec.template.spec.nodeSelector"), &b);
	cellsb(row, &b);
	age_cell(row, o, now);
	if (wide) {
		containers_cells(row, jget(o, "spec.template.spec"));
		selector_cell(row, jget(o, "spec.selector"), true);
	}
}

static bool job_cond(const json_t *st, const char *type)
{
	/* the first condition of that type decides */
	return cond_true(st, type);
}

static void row_job(json_t *row, const json_t *o, bool wide, time_t now)
{
	const json_t *st = json_object_get(o, "status");
	const char *status = "Running";
	if (job_cond(st, "Complete"))
		status = "Complete";
	else if (job_cond(st, "Failed"))
		status = "Failed";
	else if (jstr(o, "metadata.deletionTimestamp"))
		status = "Terminating";
	else if (job_cond(st, "Suspended"))
		status = "Suspended";
	else if (job_cond(st, "FailureTarget"))
		status = "FailureTarget";
	cell(row, status);
	long long succ = (long long)jint(st, "succeeded");
	if (json_is_integer(jget(o, "spec.completions")))
		cellf(row, "%lld/%lld", succ, (long long)jint(o, "spec.completions"));
	else if (jint(o, "spec.parallelism") > 1)
		cellf(row, "%lld/1 of %lld", succ, (long long)jint(o, "spec.parallelism"));
	else
		cellf(row, "%lld/1", succ);
	struct timespec start, end;
	char d[32] = "";
	if (ts_parse(jstr(st, "startTime"), &start)) {
		if (ts_parse(jstr(st, "completionTime"), &end))
			kt_human_duration((int64_t)(end.tv_sec - start.tv_sec), d, sizeof(d));
		else
			kt_human_duration((int64_t)(now - start.tv_sec), d, sizeof(d));
	}
	cell(row, d);
	age_cell(row, o, now);
	if (wide) {
		containers_cells(row, jget(o, "spec.template.spec"));
		selector_cell(row, jget(o, "spec.selector"), true);
	}
}

static void row_cronjob(json_t *row, const json_t *o, bool wide, time_t now)
{
	cell(row, jstr_or(o, "spec.schedule", ""));
	cell(row, jstr_or(o, "spec.timeZone", "<none>"));
	/* the API server defaults suspend to false */
	cell(row, jtrue(o, "spec.suspend") ? "True" : "False");
	cellf(row, "%zu", json_array_size(jget(o, "status.active")));
	const char *last = jstr(o, "status.lastScheduleTime");
	char b[32];
	if (last && *last)
		kt_age(last, now, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "<none>");
	cell(row, b);
	age_cell(row, o, now);
	if (wide) {
		containers_cells(row, jget(o, "spec.jobTemplate.spec.template.spec"));
		selector_cell(row, jget(o, "spec.jobTemplate.spec.selector"), true);
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void row_service(json_t *row, const json_t *o, bool wide, time_t now)
{
	const json_t *spec = json_object_get(o, "spec");
	const char *type = jstr_or(spec, "type", "ClusterIP");
	cell(row, type);
	const json_t *ips = json_object_get(spec, "clusterIPs");
	cell(row, json_array_size(ips) ? json_string_value(json_array_get(ips, 0))
				       : jstr_or(spec, "clusterIP", "<none>"));
	/* EXTERNAL-IP */
	struct sbuf ext = SBUF_INIT;
	const json_t *eips = json_object_get(spec, "externalIPs");
	size_t i;
	json_t *v;
	if (!strcmp(type, "LoadBalancer")) {
		const json_t *ing = jget(o, "status.loadBalancer.ingress");
		size_t n = json_array_size(ing), k = 0;
		char **vals = calloc(n + 1, sizeof(*vals));
		json_array_foreach(ing, i, v)
		{
			const char *s = jstr(v, "ip");
			if (!s || !*s)
				s = jstr(v, "hostname");
			if (s && *s)
				vals[k++] = (char *)s;
		}
		qsort(vals, k, sizeof(*vals), cmp_cstr);
		struct sbuf lb = SBUF_INIT;
		for (size_t x = 0; x < k; x++)
			if (!x || strcmp(vals[x], vals[x - 1]))
				sbuf_addf(&lb, "%s%s", lb.len ? "," : "", vals[x]);
		free(vals);
		if (!wide && lb.len > 16) {
			lb.len = 13;
			lb.s[13] = 0;
			sbuf_adds(&lb, "...");
		}
		sbuf_adds(&ext, sbuf_str(&lb));
		json_array_foreach(eips, i, v) sbuf_addf(&ext, "%s%s", ext.len ? "," : "", json_string_value(v));
		if (!ext.len)
			sbuf_adds(&ext, "<pending>");
		sbuf_release(&lb);
	} else if (!strcmp(type, "ExternalName")) {
		sbuf_adds(&ext, jstr_or(spec, "externalName", ""));
	} else if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
		json_array_foreach(eips, i, v) sbuf_addf(&ext, "%s%s", i ? "," : "", json_string_value(v));
		if (!ext.len)
			sbuf_adds(&ext, "<none>");
	} else {
		sbuf_adds(&ext, "<unknown>");
	}
	cellsb(row, &ext);
	struct sbuf ports = SBUF_INIT;
	json_array_foreach(json_object_get(spec, "ports"), i, v)
	{
		sbuf_adds(&ports, i ? "," : "");
		if (jint(v, "nodePort") > 0)
			sbuf_addf(&ports, "%lld:%lld/%s", (long long)jint(v, "port"), (long long)jint(v, "nodePort"),
				  jstr_or(v, "protocol", "TCP"));
		else
			sbuf_addf(&ports, "%lld/%s", (long long)jint(v, "port"), jstr_or(v, "protocol", "TCP"));
	}
	if (!ports.len)
		sbuf_adds(&ports, "<none>");
	cellsb(row, &ports);
	age_cell(row, o, now);
	if (wide) {
		struct sbuf b = SBUF_INIT;
		kt_format_labels(json_object_get(spec, "selector"), &b);
		cellsb(row, &b);
	}
}

static void row_configmap(json_t *row, const json_t *o, bool wide, time_t now)
{
	(void)wide;
	cellf(row, "%zu", json_object_size(json_object_get(o, "data")) + json_object_size(json_object_get(o, "binaryData")));
	age_cell(row, o, now);
}

static void row_secret(json_t *row, const json_t *o, bool wide, time_t now)
{
	(void)wide;
	cell(row, jstr_or(o, "type", "Opaque"));
	/* stringData is merged into data by the API server */
	const json_t *data = json_object_get(o, "data"), *sd = json_object_get(o, "stringData");
	size_t n = json_object_size(data);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)sd, k, v) if (!json_object_get(data, k)) n++;
	cellf(row, "%zu", n);
	age_cell(row, o, now);
}

static void access_modes(const json_t *modes, struct sbuf *out)
{
	static const char *const order[][2] = {{"ReadWriteOnce", "RWO"},
					       {"ReadOnlyMany", "ROX"},
					       {"ReadWriteMany", "RWX"},
					       {"ReadWriteOncePod", "RWOP"}};
	for (size_t k = 0; k < 4; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(modes, i, v)
		{
			if (json_string_value(v) && !strcmp(json_string_value(v), order[k][0])) {
				sbuf_addf(out, "%s%s", out->len ? "," : "", order[k][1]);
				break;
			}
		}
	}
}

static void row_pvc(json_t *row, const json_t *o, bool wide, time_t now)
{
	const json_t *spec = json_object_get(o, "spec");
	cell(row, jstr(o, "metadata.deletionTimestamp") ? "Terminating" : jstr_or(o, "status.phase", ""));
	const char *vol = jstr_or(spec, "volumeName", "");
	cell(row, vol);
	struct sbuf modes = SBUF_INIT;
	if (*vol) {
		cell(row, jstr_or(o, "status.capacity.storage", ""));
		access_modes(jget(o, "status.accessModes"), &modes);
	} else {
		cell(row, "");
	}
	cellsb(row, &modes);
	const json_t *ann = jget(o, "metadata.annotations");
	const char *beta = json_string_value(json_object_get(ann, "volume.beta.kubernetes.io/storage-class"));
	cell(row, beta ? beta : jstr_or(spec, "storageClassName", ""));
	cell(row, jstr_or(spec, "volumeAttributesClassName", "<unset>"));
	age_cell(row, o, now);
	if (wide)
		cell(row, jstr_or(spec, "volumeMode", "<unset>"));
}

static void row_namespace(json_t *row, const json_t *o, bool wide, time_t now)
{
	(void)wide;
	cell(row, jstr_or(o, "status.phase", ""));
	age_cell(row, o, now);
}

struct shape {
	const char *kind;
	const char *cols, *wide_cols; /* after NAME, '|' separated */
	void (*row)(json_t *row, const json_t *o, bool wide, time_t now);
};

static const struct shape shapes[] = {
	{"Pod", "READY|STATUS|RESTARTS|AGE", "IP|NODE|NOMINATED NODE|READINESS GATES", row_pod},
	{"Deployment", "READY|UP-TO-DATE|AVAILABLE|AGE", "CONTAINERS|IMAGES|SELECTOR", row_deployment},
	{"ReplicaSet", "DESIRED|CURRENT|READY|AGE", "CONTAINERS|IMAGES|SELECTOR", row_replicaset},
	{"StatefulSet", "READY|AGE", "CONTAINERS|IMAGES", row_statefulset},
	{"DaemonSet", "DESIRED|CURRENT|READY|UP-TO-DATE|AVAILABLE|NODE SELECTOR|AGE", "CONTAINERS|IMAGES|SELECTOR",
	 row_daemonset},
	{"Job", "STATUS|COMPLETIONS|DURATION|AGE", "CONTAINERS|IMAGES|SELECTOR", row_job},
	{"CronJob", "SCHEDULE|TIMEZONE|SUSPEND|ACTIVE|LAST SCHEDULE|AGE", "CONTAINERS|IMAGES|SELECTOR", row_cronjob},
	{"Service", "TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE", "SELECTOR", row_service},
	{"ConfigMap", "DATA|AGE", "", row_configmap},
	{"Secret", "TYPE|DATA|AGE", "", row_secret},
	{"PersistentVolumeClaim", "STATUS|VOLUME|CAPACITY|ACCESS MODES|STORAGECLASS|VOLUMEATTRIBUTESCLASS|AGE",
	 "VOLUMEMODE", row_pvc},
	{"Namespace", "STATUS|AGE", "", row_namespace},
};

static const struct shape *shape_of(const struct kt_kind *k)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (!strcmp(shapes[i].kind, k->kind))
			return &shapes[i];
	return NULL;
}

static void split_cols(json_t *out, const char *cols)
{
	while (*cols) {
		size_t l = strcspn(cols, "|");
		json_array_append_new(out, json_stringn(cols, l));
		cols += l;
		if (*cols == '|')
			cols++;
	}
}

json_t *kt_headers(const struct kt_kind *k, bool wide)
{
	json_t *h = json_array();
	json_array_append_new(h, json_string("NAME"));
	const struct shape *s = shape_of(k);
	if (s) {
		split_cols(h, s->cols);
		if (wide)
			split_cols(h, s->wide_cols);
	}
	return h;
}

json_t *kt_row(const struct kt_kind *k, const json_t *obj, bool wide, time_t now)
{
	json_t *row = json_array();
	cell(row, jstr_or(obj, "metadata.name", ""));
	const struct shape *s = shape_of(k);
	if (s)
		s->row(row, obj, wide, now);
	return row;
}

/* ---- the tabwriter ---- */

static size_t runes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

void kt_print_table(const json_t *rows, FILE *out)
{
	size_t ncols = 0, i;
	json_t *r;
	json_array_foreach(rows, i, r) if (json_array_size(r) > ncols) ncols = json_array_size(r);
	if (!ncols)
		return;
	size_t *w = calloc(ncols, sizeof(*w));
	json_array_foreach(rows, i, r)
	{
		for (size_t c = 0; c + 1 < json_array_size(r); c++) {
			size_t l = runes(json_string_value(json_array_get(r, c))) + 3;
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t c = 0; c < ncols; c++)
		if (w[c] < 6)
			w[c] = 6;
	struct sbuf b = SBUF_INIT;
	json_array_foreach(rows, i, r)
	{
		size_t n = json_array_size(r);
		for (size_t c = 0; c < n; c++) {
			const char *s = json_string_value(json_array_get(r, c));
			sbuf_adds(&b, s);
			if (c + 1 < n)
				for (size_t p = runes(s); p < w[c]; p++)
					sbuf_addc(&b, ' ');
		}
		sbuf_addc(&b, '\n');
	}
	fwrite(sbuf_str(&b), 1, b.len, out);
	sbuf_release(&b);
	free(w);
}

/* ---- YAML as kubectl writes it (go-yaml v2 through sigs.k8s.io/yaml) ---- */

/* go-yaml's key order: runs of digits compare as numbers, non-letters
 * before letters. */
static int yaml_key_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	size_t i = 0;
	for (; a[i] && b[i]; i++) {
		if (a[i] == b[i])
			continue;
		bool al = isalpha((unsigned char)a[i]) || (unsigned char)a[i] >= 0x80,
		     bl = isalpha((unsigned char)b[i]) || (unsigned char)b[i] >= 0x80;
		if (al && bl)
			return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
		if (al || bl)
			return bl ? -1 : 1;
		if (isdigit((unsigned char)a[i]) || isdigit((unsigned char)b[i])) {
			/* a number that started earlier (e.g. "10" vs "9") */
			size_t s = i;
			while (s > 0 && isdigit((unsigned char)a[s - 1]))
				s--;
			size_t ea = i, eb = i;
			while (isdigit((unsigned char)a[ea]))
				ea++;
			while (isdigit((unsigned char)b[eb]))
				eb++;
			long long an = 0, bn = 0;
			for (size_t x = s; x < ea; x++)
				an = an * 10 + (a[x] - '0');
			for (size_t x = s; x < eb; x++)
				bn = bn * 10 + ((x < i ? a[x] : b[x]) - '0');
			if (an != bn)
				return an < bn ? -1 : 1;
			if (ea != eb)
				return ea < eb ? -1 : 1;
		}
		return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
	}
	return a[i] ? 1 : b[i] ? -1 : 0;
}

static size_t digits(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "0123456789");
	return n >= min && n <= max ? n : 0;
}

/* go-yaml reads "2006-1-2", "2006-1-2T15:4:5.9Z07:00" (t or a space for T,
 * the zone optional with a space) as timestamps: such strings are quoted. */
static bool yaml_timestamp(const char *s)
{
	size_t n;
	if (!(n = digits(s, 4, 4)) || s[n] != '-')
		return false;
	s += n + 1;
	if (!(n = digits(s, 1, 2)) || s[n] != '-')
		return false;
	s += n + 1;
	if (!(n = digits(s, 1, 2)))
		return false;
	s += n;
	if (!*s)
		return true;
	bool space = *s == ' ';
	if (*s != 'T' && *s != 't' && !space)
		return false;
	s++;
	for (int part = 0; part < 3; part++) {
		if (!(n = digits(s, 1, 2)))
			return false;
		s += n;
		if (part < 2) {
			if (*s != ':')
				return false;
			s++;
		}
	}
	if (*s == '.') {
		s++;
		if (!(n = digits(s, 1, 9)))
			return false;
		s += n;
	}
	if (!*s)
		return space;
	if (space)
		return false;
	if (*s == 'Z')
		return !s[1];
	if (*s != '+' && *s != '-')
		return false;
	s++;
	return digits(s, 2, 2) == 2 && s[2] == ':' && digits(s + 3, 2, 2) == 2 && !s[5];
}

/* Would a plain scalar s be read back as something other than a string? */
static bool yaml_resolves(const char *s)
{
	static const char *const words[] = {"", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n",
					    "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
					    "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF", "+.inf",
					    "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", "<<"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	if (!(isdigit((unsigned char)s[0]) || s[0] == '+' || s[0] == '-' || s[0] == '.'))
		return false;
	if (yaml_timestamp(s))
		return true;
	/* integers in Go's base-0 syntax (underscores allowed) */
	char t[128];
	size_t n = 0;
	for (const char *p = s; *p && n + 1 < sizeof(t); p++)
		if (*p != '_')
			t[n++] = *p;
	t[n] = 0;
	const char *p = t;
	if (*p == '+' || *p == '-')
		p++;
	if (*p) {
		const char *digits = "0123456789";
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			digits = "0123456789abcdefABCDEF", p += 2;
		else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
			digits = "01", p += 2;
		else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
			digits = "01234567", p += 2;
		if (*p && strspn(p, digits) == strlen(p))
			return true;
	}
	/* floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t d = strspn(p, "0123456789");
	if (d) {
		p += d;
		if (*p == '.')
			p += 1 + strspn(p + 1, "0123456789");
	} else if (*p == '.' && isdigit((unsigned char)p[1])) {
		p += 1 + strspn(p + 1, "0123456789");
	} else {
		return false;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		size_t e = strspn(p, "0123456789");
		if (!e)
			return false;
		p += e;
	}
	return !*p;
}

static bool yaml_printable(unsigned char c)
{
	return c == '\n' || (c >= 0x20 && c != 0x7f);
}

enum ystyle { Y_PLAIN, Y_SINGLE, Y_DOUBLE, Y_LITERAL };

static enum ystyle yaml_style(const char *s)
{
	size_t n = strlen(s);
	bool special = false, newline = strchr(s, '\n') != NULL, space_break = false;
	for (size_t i = 0; i < n; i++) {
		if (!yaml_printable((unsigned char)s[i]))
			special = true;
		if (s[i] == ' ' && s[i + 1] == '\n')
			space_break = true;
	}
	if (special)
		return Y_DOUBLE;
	if (newline) {
		/* a literal block cannot keep trailing spaces on a line nor say
		 * where an indented first line starts (without an indicator) */
		if (space_break || s[0] == ' ' || s[0] == '\n')
			return Y_DOUBLE;
		return Y_LITERAL;
	}
	if (yaml_resolves(s))
		return Y_DOUBLE;
	bool plain = true;
	if (s[0] == ' ' || s[n - 1] == ' ')
		plain = false;
	if (strchr("#,[]{}&*!|>'\"%@`", s[0]))
		plain = false;
	if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s[1] == ' ' || !s[1]))
		plain = false;
	if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3))
		plain = false;
	for (size_t i = 0; i < n && plain; i++) {
		if (s[i] == ':' && (s[i + 1] == ' ' || !s[i + 1]))
			plain = false;
		if (s[i] == '#' && i > 0 && s[i - 1] == ' ')
			plain = false;
	}
	return plain ? Y_PLAIN : Y_SINGLE;
}

static void yaml_indent(struct sbuf *out, int n)
{
	for (int i = 0; i < n; i++)
		sbuf_addc(out, ' ');
}

static void yaml_string(const char *s, int ind, bool key, struct sbuf *out)
{
	enum ystyle st = yaml_style(s);
	if (key && st == Y_LITERAL)
		st = Y_DOUBLE;
	switch (st) {
	case Y_PLAIN:
		sbuf_adds(out, s);
		break;
	case Y_SINGLE:
		sbuf_addc(out, '\'');
		for (; *s; s++) {
			if (*s == '\'')
				sbuf_addc(out, '\'');
			sbuf_addc(out, *s);
		}
		sbuf_addc(out, '\'');
		break;
	case Y_DOUBLE:
		sbuf_addc(out, '"');
		for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
			switch (*p) {
			case '"': sbuf_adds(out, "\\\""); break;
			case '\\': sbuf_adds(out, "\\\\"); break;
			case '\n': sbuf_adds(out, "\\n"); break;
			case '\t': sbuf_adds(out, "\\t"); break;
			case '\r': sbuf_adds(out, "\\r"); break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					sbuf_addf(out, "\\x%02X", *p);
				else
					sbuf_addc(out, (char)*p);
			}
		}
		sbuf_addc(out, '"');
		break;
	case Y_LITERAL: {
		size_t n = strlen(s), trail = 0;
		while (trail < n && s[n - 1 - trail] == '\n')
			trail++;
		sbuf_adds(out, trail == 0 ? "|-" : trail == 1 ? "|" : "|+");
		/* each line indented; empty lines stay empty */
		const char *p = s;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t l = nl ? (size_t)(nl - p) : strlen(p);
			sbuf_addc(out, '\n');
			if (l) {
				yaml_indent(out, ind);
				sbuf_add(out, p, l);
			}
			if (!nl)
				break;
			p = nl + 1;
		}
		/* the caller ends the last line; further final newlines came out
		 * as empty lines above */
		break;
	}
	}
}

static void yaml_scalar(const json_t *v, int ind, struct sbuf *out)
{
	if (json_is_string(v)) {
		yaml_string(json_string_value(v), ind, false, out);
	} else if (json_is_integer(v)) {
		sbuf_addf(out, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		char b[40];
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(b, sizeof(b), "%.*g", prec, json_real_value(v));
			if (strtod(b, NULL) == json_real_value(v))
				break;
		}
		sbuf_adds(out, b);
	} else if (json_is_true(v)) {
		sbuf_adds(out, "true");
	} else if (json_is_false(v)) {
		sbuf_adds(out, "false");
	} else {
		sbuf_adds(out, "null");
	}
}

static void yaml_node(const json_t *v, int ind, bool first_inline, struct sbuf *out);

static bool yaml_empty(const json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

/* After "key:" (or "- "): a nested collection on the next lines, else the scalar. */
static void yaml_value(const json_t *v, int ind, struct sbuf *out)
{
	if (yaml_empty(v)) {
		sbuf_adds(out, json_is_object(v) ? " {}\n" : " []\n");
	} else if (json_is_object(v)) {
		sbuf_addc(out, '\n');
		yaml_node(v, ind + 2, false, out);
	} else if (json_is_array(v)) {
		/* sequences stay at their key's indentation */
		sbuf_addc(out, '\n');
		yaml_node(v, ind, false, out);
	} else {
		sbuf_addc(out, ' ');
		yaml_scalar(v, ind + 2, out);
		sbuf_addc(out, '\n');
	}
}

static void yaml_node(const json_t *v, int ind, bool first_inline, struct sbuf *out)
{
	if (json_is_object(v)) {
		size_t n;
		const char **keys = sorted_keys(v, &n);
		qsort(keys, n, sizeof(*keys), yaml_key_cmp);
		for (size_t i = 0; i < n; i++) {
			if (!(first_inline && i == 0))
				yaml_indent(out, ind);
			yaml_string(keys[i], ind + 2, true, out);
			sbuf_addc(out, ':');
			yaml_value(json_object_get(v, keys[i]), ind, out);
		}
		free(keys);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			if (!(first_inline && i == 0))
				yaml_indent(out, ind);
			sbuf_adds(out, "-");
			if (yaml_empty(x)) {
				sbuf_adds(out, json_is_object(x) ? " {}\n" : " []\n");
			} else if (json_is_object(x) || json_is_array(x)) {
				sbuf_addc(out, ' ');
				yaml_node(x, ind + 2, true, out);
			} else {
				sbuf_addc(out, ' ');
				yaml_scalar(x, ind + 2, out);
				sbuf_addc(out, '\n');
			}
		}
	} else {
		yaml_indent(out, ind);
		yaml_scalar(v, ind + 2, out);
		sbuf_addc(out, '\n');
	}
}

void kt_yaml(const json_t *v, struct sbuf *out)
{
	if (yaml_empty(v)) {
		sbuf_adds(out, json_is_object(v) ? "{}\n" : "[]\n");
		return;
	}
	yaml_node(v, 0, false, out);
}
