/* kube convert: probes, and the kompose.* labels that shape the pod and
 * its workload (image-pull-secret, serviceaccount-name, security-context
 * fsgroup, ephemeral-storage, controller.port.expose, init.containers.*,
 * cronjob.*, hpa.*, service.healthcheck.*). A label with a value that
 * cannot be right is an error naming the service and the label: Kompose
 * falls back to a default with a warning, which hides a typo. */
#include "kube/convert-int.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HC "kompose.service.healthcheck."

/* a label holding a non-negative integer; 1 if present, 0 if absent */
static int label_int(json_t *labels, const char *svc, const char *key, long lo, long hi, long *ret, struct berr **err)
{
	json_t *v = json_object_get(labels, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	long x = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || x < lo || x > hi)
		return berr_setc(err, BERR_INVALID, "service %s: label %s \"%s\": not a number from %ld to %ld", svc, key,
				 s ? s : "?", lo, hi);
	*ret = x;
	return 1;
}

static int label_secs(json_t *labels, const char *svc, const char *key, int64_t *ret, struct berr **err)
{
	const char *s = jsonx_str(labels, key);
	if (!s)
		return 0;
	int64_t v = kc_secs(s);
	if (v < 0)
		return berr_setc(err, BERR_INVALID, "service %s: label %s \"%s\": not a duration (such as 10s or 1m30s)", svc, key, s);
	*ret = v;
	return 1;
}

/* compose's test: ["CMD", args...] or ["CMD-SHELL", "cmd"] */
static json_t *exec_of_test(json_t *test)
{
	const char *kind = json_string_value(json_array_get(test, 0));
	json_t *cmd = json_array();
	if (kind && !strcmp(kind, "CMD")) {
		for (size_t i = 1; i < json_array_size(test); i++)
			json_array_append(cmd, json_array_get(test, i));
	} else if (kind && !strcmp(kind, "CMD-SHELL") && json_is_string(json_array_get(test, 1))) {
		json_array_append_new(cmd, json_string("/bin/sh"));
		json_array_append_new(cmd, json_string("-c"));
		json_array_append(cmd, json_array_get(test, 1));
	} else {
		json_decref(cmd);
		return NULL;
	}
	return json_pack("{s:o}", "command", cmd);
}

/* One probe: the handler and timing from the healthcheck, then the
 * labels kompose.service.healthcheck.{liveness,readiness}.* over them. */
static int one_probe(struct conv *cv, const char *svc, json_t *hc, json_t *labels, bool liveness, json_t **ret,
		     struct berr **err)
{
	const char *which = liveness ? "liveness" : "readiness";
	char key[128];
	*ret = NULL;
	json_t *p = json_object();
	/* timing */
	int64_t v;
	static const struct { const char *compose, *k8s; } t[] = {
		{"interval", "periodSeconds"}, {"timeout", "timeoutSeconds"}, {"start_period", "initialDelaySeconds"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = kc_secs(jsonx_str(hc, t[i].compose));
		/* readiness is not delayed: a starting container is just not ready yet */
		if (!liveness && !strcmp(t[i].compose, "start_period"))
			v = -1;
		snprintf(key, sizeof(key), HC "%s.%s", which, t[i].compose);
		int r = label_secs(labels, svc, key, &v, err);
		if (r < 0)
			goto fail;
		if (v > 0)
			json_object_set_new(p, t[i].k8s, json_integer(v));
	}
	long retries = -1;
	if (json_is_integer(json_object_get(hc, "retries")))
		retries = (long)json_integer_value(json_object_get(hc, "retries"));
	snprintf(key, sizeof(key), HC "%s.retries", which);
	if (label_int(labels, svc, key, 1, 1000000, &retries, err) < 0)
		goto fail;
	if (retries > 0)
		json_object_set_new(p, "failureThreshold", json_integer(retries));
	/* the handler */
	json_t *test = json_object_get(hc, "test");
	const char *kind = json_string_value(json_array_get(test, 0));
	snprintf(key, sizeof(key), HC "%s.test", which);
	const char *ltest = jsonx_str(labels, key);
	long port = 0;
	snprintf(key, sizeof(key), HC "%s.http_get_path", which);
	const char *hpath = jsonx_str(labels, key);
	snprintf(key, sizeof(key), HC "%s.http_get_port", which);
	int hp = label_int(labels, svc, key, 1, 65535, &port, err);
	if (hp < 0)
		goto fail;
	snprintf(key, sizeof(key), HC "%s.tcp_port", which);
	long tport = 0;
	int tp = label_int(labels, svc, key, 1, 65535, &tport, err);
	if (tp < 0)
		goto fail;
	if (hpath || hp) {
		if (!hpath || !hp) {
			berr_setc(err, BERR_INVALID, "service %s: labels " HC "%s.http_get_path and http_get_port go together", svc, which);
			goto fail;
		}
		json_object_set_new(p, "httpGet", json_pack("{s:s, s:I}", "path", hpath, "port", (json_int_t)port));
	} else if (tp) {
		json_object_set_new(p, "tcpSocket", json_pack("{s:I}", "port", (json_int_t)tport));
	} else if (ltest) {
		/* a test string, as compose's: run by the shell */
		json_object_set_new(p, "exec", json_pack("{s:[s,s,s]}", "command", "/bin/sh", "-c", ltest));
	} else if (json_is_array(test) && json_array_size(test)) {
		json_t *ex = exec_of_test(test);
		if (!ex) {
			if (kind && strcmp(kind, "NONE") && liveness)
				kc_warnf(cv->warnings, "service %s: healthcheck.test %s: not mapped", svc, kind);
			json_decref(p);
			return 0;
		}
		json_object_set_new(p, "exec", ex);
	} else {
		/* timing labels alone make no probe (they were checked above) */
		json_decref(p);
		return 0;
	}
	/* the handler first, then the timing, as people write probes */
	json_t *q = json_object();
	static const char *const order[] = {"exec", "httpGet", "tcpSocket", "initialDelaySeconds", "periodSeconds",
					    "timeoutSeconds", "failureThreshold"};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (json_object_get(p, order[i]))
			json_object_set(q, order[i], json_object_get(p, order[i]));
	json_decref(p);
	*ret = q;
	return 0;
fail:
	json_decref(p);
	return -1;
}

int kc_probes(struct conv *cv, const char *svc, json_t *s, json_t *labels, json_t *ctr, struct berr **err)
{
	json_t *hc = json_object_get(s, "healthcheck");
	bool off = json_is_true(json_object_get(hc, "disable"));
	_cleanup_json_ json_t *none = json_object();
	json_t *lp = NULL, *rp = NULL;
	if (one_probe(cv, svc, off ? none : hc, labels, true, &lp, err) < 0)
		return -1;
	const char *rdis = jsonx_str(labels, HC "readiness.disable");
	if (!(rdis && (!strcasecmp(rdis, "true") || !strcmp(rdis, "1")))) {
		if (one_probe(cv, svc, off ? none : hc, labels, false, &rp, err) < 0) {
			json_decref(lp);
			return -1;
		}
	}
	if (lp)
		json_object_set_new(ctr, "livenessProbe", lp);
	if (rp)
		json_object_set_new(ctr, "readinessProbe", rp);
	return 0;
}

/* a JSON array of strings, or a string run by the shell */
static json_t *command_of(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '[') {
		json_error_t je;
		json_t *a = json_loads(s, 0, &je);
		bool ok = json_is_array(a) && json_array_size(a);
		size_t i;
		json_t *x;
		json_array_foreach(a, i, x) ok &= json_is_string(x);
		if (ok)
			return a;
		json_decref(a);
		return NULL;
	}
	return json_pack("[s,s,s]", "sh", "-c", s);
}

int kc_pod_labels(struct conv *cv, const char *svc, json_t *s, json_t *labels, json_t *ctr, json_t *pod,
		  struct berr **err)
{
	const char *v;
	if ((v = jsonx_str(labels, "kompose.image-pull-secret")))
		json_object_set_new(pod, "imagePullSecrets", json_pack("[{s:s}]", "name", v));
	if ((v = jsonx_str(labels, "kompose.serviceaccount-name")))
		json_object_set_new(pod, "serviceAccountName", json_string(v));
	long fsg;
	int r = label_int(labels, svc, "kompose.security-context.fsgroup", 0, 2147483647L, &fsg, err);
	if (r < 0)
		return -1;
	if (r) {
		json_t *psc = json_object_get(pod, "securityContext");
		if (!psc)
			json_object_set_new(pod, "securityContext", psc = json_object());
		json_object_set_new(psc, "fsGroup", json_integer(fsg));
	}
	static const char *const es[][2] = {{"kompose.ephemeral-storage.request", "requests"},
					     {"kompose.ephemeral-storage.limit", "limits"}};
	for (int i = 0; i < 2; i++) {
		if (!(v = jsonx_str(labels, es[i][0])))
			continue;
		if (!kube_quantity_valid(v))
			return berr_setc(err, BERR_INVALID, "service %s: label %s \"%s\": not a Kubernetes quantity", svc, es[i][0], v);
		json_t *res = json_object_get(ctr, "resources");
		if (!res)
			json_object_set_new(ctr, "resources", res = json_object());
		json_t *side = json_object_get(res, es[i][1]);
		if (!side)
			json_object_set_new(res, es[i][1], side = json_object());
		json_object_set_new(side, "ephemeral-storage", json_string(v));
	}
	/* kompose.controller.port.expose: the published ports as hostPorts */
	if ((v = jsonx_str(labels, "kompose.controller.port.expose")) && (!strcasecmp(v, "true") || !strcmp(v, "1"))) {
		size_t i, j;
		json_t *cp, *p;
		json_array_foreach(json_object_get(ctr, "ports"), i, cp) {
			json_array_foreach(json_object_get(s, "ports"), j, p) {
				const char *pub = jsonx_str(p, "published");
				if (pub && *pub &&
				    json_integer_value(json_object_get(p, "target")) == json_integer_value(json_object_get(cp, "containerPort"))) {
					json_object_set_new(cp, "hostPort", json_integer(strtoll(pub, NULL, 10)));
					break;
				}
			}
		}
	}
	/* kompose.init.containers.*: one more init container */
	const char *iname = jsonx_str(labels, "kompose.init.containers.name"),
		   *iimg = jsonx_str(labels, "kompose.init.containers.image"),
		   *icmd = jsonx_str(labels, "kompose.init.containers.command");
	if (iname || iimg || icmd) {
		if (!iname || !iimg)
			return berr_setc(err, BERR_INVALID, "service %s: labels kompose.init.containers.name and .image are both needed", svc);
		if (!kc_dns_label(iname))
			return berr_setc(err, BERR_INVALID, "service %s: label kompose.init.containers.name \"%s\": not a valid container name", svc, iname);
		json_t *ic = json_pack("{s:s, s:s}", "name", iname, "image", iimg);
		if (icmd) {
			json_t *c = command_of(icmd);
			if (!c) {
				json_decref(ic);
				return berr_setc(err, BERR_INVALID, "service %s: label kompose.init.containers.command: a JSON array of strings or a shell command, not %s", svc, icmd);
			}
			json_object_set_new(ic, "command", c);
		}
		json_t *inits = json_object_get(pod, "initContainers");
		if (!inits)
			json_object_set_new(pod, "initContainers", inits = json_array());
		json_array_append_new(inits, ic);
	}
	return 0;
}

int kc_cronjob(struct conv *cv, const char *svc, json_t *labels, const char *restart, json_t *meta, json_t *tmpl,
	       json_t **ret, struct berr **err)
{
	(void)cv;
	*ret = NULL;
	const char *sched = jsonx_str(labels, "kompose.cronjob.schedule");
	const char *pol = jsonx_str(labels, "kompose.cronjob.concurrency_policy");
	if (!sched) {
		if (pol || json_object_get(labels, "kompose.cronjob.backoff_limit"))
			return berr_setc(err, BERR_INVALID, "service %s: kompose.cronjob.* labels need kompose.cronjob.schedule", svc);
		return 0;
	}
	/* five fields (or a macro such as @hourly) */
	int fields = 0;
	for (const char *p = sched; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		fields++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (!(fields == 5 || (sched[0] == '@' && fields == 1)))
		return berr_setc(err, BERR_INVALID, "service %s: label kompose.cronjob.schedule \"%s\": not a cron schedule (five fields, such as \"*/5 * * * *\")", svc, sched);
	if (pol && strcmp(pol, "Allow") && strcmp(pol, "Forbid") && strcmp(pol, "Replace"))
		return berr_setc(err, BERR_INVALID, "service %s: label kompose.cronjob.concurrency_policy \"%s\": use Allow, Forbid or Replace", svc, pol);
	long bl = -1;
	if (label_int(labels, svc, "kompose.cronjob.backoff_limit", 0, 1000000, &bl, err) < 0)
		return -1;
	json_t *pod = json_object_get(tmpl, "spec");
	json_object_set_new(pod, "restartPolicy", json_string(restart && !strcmp(restart, "no") ? "Never" : "OnFailure"));
	json_t *job = json_pack("{s:O}", "template", tmpl);
	if (bl >= 0)
		json_object_set_new(job, "backoffLimit", json_integer(bl));
	json_t *spec = json_pack("{s:s, s:{s:o}}", "schedule", sched, "jobTemplate", "spec", job);
	if (pol)
		json_object_set_new(spec, "concurrencyPolicy", json_string(pol));
	*ret = json_pack("{s:s, s:s, s:O, s:o}", "apiVersion", "batch/v1", "kind", "CronJob", "metadata", meta, "spec", spec);
	return 1;
}

int kc_hpa(struct conv *cv, const char *svc, const char *kname, json_t *labels, json_t *wl, struct berr **err)
{
	static const char *const keys[] = {"kompose.hpa.cpu", "kompose.hpa.memory", "kompose.hpa.replicas.min",
					   "kompose.hpa.replicas.max"};
	bool any = false;
	for (size_t i = 0; i < 4; i++)
		any |= json_object_get(labels, keys[i]) != NULL;
	if (!any)
		return 0;
	const char *kind = jsonx_str(wl, "kind");
	if (strcmp(kind, "Deployment") && strcmp(kind, "StatefulSet"))
		return berr_setc(err, BERR_INVALID, "service %s: kompose.hpa.* labels: a %s cannot be autoscaled", svc, kind);
	/* Kompose's defaults: 1 to 3 replicas, 50% CPU, 70% memory */
	long cpu = 50, mem = 70, min = 1, max = 3;
	if (label_int(labels, svc, keys[0], 1, 100, &cpu, err) < 0 || label_int(labels, svc, keys[1], 1, 100, &mem, err) < 0 ||
	    label_int(labels, svc, keys[2], 1, 100000, &min, err) < 0 || label_int(labels, svc, keys[3], 1, 100000, &max, err) < 0)
		return -1;
	if (max < min)
		return berr_setc(err, BERR_INVALID, "service %s: label kompose.hpa.replicas.max %ld is below kompose.hpa.replicas.min %ld", svc, max, min);
	json_t *ctr = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(wl, "spec"), "template"), "spec"), "containers"), 0);
	json_t *req = json_object_get(json_object_get(ctr, "resources"), "requests");
	if (!json_object_get(req, "cpu") || !json_object_get(req, "memory"))
		kc_warnf(cv->warnings, "service %s: kompose.hpa.*: utilization targets need resource requests (deploy.resources.reservations) to take effect", svc);
	json_t *metrics = json_pack("[{s:s, s:{s:s, s:{s:s, s:I}}}, {s:s, s:{s:s, s:{s:s, s:I}}}]", "type", "Resource",
				    "resource", "name", "cpu", "target", "type", "Utilization", "averageUtilization",
				    (json_int_t)cpu, "type", "Resource", "resource", "name", "memory", "target", "type",
				    "Utilization", "averageUtilization", (json_int_t)mem);
	json_t *meta = json_pack("{s:s}", "name", kname);
	kc_set_ns(cv, meta);
	json_array_append_new(cv->extras,
			      json_pack("{s:s, s:s, s:o, s:{s:{s:s, s:s, s:s}, s:I, s:I, s:o}}", "apiVersion", "autoscaling/v2",
					"kind", "HorizontalPodAutoscaler", "metadata", meta, "spec", "scaleTargetRef", "apiVersion",
					"apps/v1", "kind", kind, "name", kname, "minReplicas", (json_int_t)min, "maxReplicas",
					(json_int_t)max, "metrics", metrics));
	return 0;
}

void kc_job_waiter(struct conv *cv, json_t *pod)
{
	char name[128];
	snprintf(name, sizeof(name), "%.50s-job-waiter", cv->project_name);
	for (char *p = name; *p; p++)
		if (*p == '_' || *p == '.')
			*p = '-';
	if (!json_object_get(pod, "serviceAccountName"))
		json_object_set_new(pod, "serviceAccountName", json_string(name));
	if (cv->job_waiter)
		return;
	cv->job_waiter = true;
	json_t *m1 = json_pack("{s:s}", "name", name), *m2 = json_pack("{s:s}", "name", name),
	       *m3 = json_pack("{s:s}", "name", name);
	kc_set_ns(cv, m1);
	kc_set_ns(cv, m2);
	kc_set_ns(cv, m3);
	json_t *subject = json_pack("{s:s, s:s}", "kind", "ServiceAccount", "name", name);
	if (cv->o->namespace_)
		json_object_set_new(subject, "namespace", json_string(cv->o->namespace_));
	json_array_append_new(cv->secrets, json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", m1));
	json_array_append_new(cv->secrets, json_pack("{s:s, s:s, s:o, s:[{s:[s], s:[s], s:[s,s,s]}]}", "apiVersion",
						    "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", m2, "rules",
						    "apiGroups", "batch", "resources", "jobs", "verbs", "get", "list", "watch"));
	json_array_append_new(cv->secrets, json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:[o]}", "apiVersion",
						    "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata", m3, "roleRef",
						    "apiGroup", "rbac.authorization.k8s.io", "kind", "Role", "name", name, "subjects",
						    subject));
}

/* a label: [prefix/]name (name: 63 alphanumerics, '-', '_', '.'), value alike */
bool kc_label_ok(const char *k, const char *v)
{
	const char *slash = strrchr(k, '/');
	const char *name = slash ? slash + 1 : k;
	if (slash && (slash == k || slash - k > 253))
		return false;
	size_t n = strlen(name), vn = strlen(v);
	if (!n || n > 63 || vn > 63 || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	if (vn && (!isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[vn - 1])))
		return false;
	for (size_t i = 0; i < vn; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
			return false;
	return true;
}

/* deploy.placement: constraints -> required node affinity (node.hostname,
 * node.platform.os / engine.labels.operatingsystem, node.labels.K; == and
 * !=), preferences spread -> topology spread constraints, as Kompose maps
 * them. What has no Kubernetes meaning (node.role, node.id) warns. */
int kc_placement(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *pod)
{
	json_t *pl = json_object_get(json_object_get(s, "deploy"), "placement");
	if (!pl)
		return 0;
	json_t *exprs = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(pl, "constraints"), i, c) {
		const char *cs = json_string_value(c);
		if (!cs)
			continue;
		const char *op = strstr(cs, "==");
		bool eq = op != NULL;
		if (!op)
			op = strstr(cs, "!=");
		if (!op) {
			kc_warnf(cv->warnings, "service %s: deploy.placement.constraints \"%s\": not a constraint (use == or !=)", svc, cs);
			continue;
		}
		_cleanup_free_ char *key = strndup(cs, (size_t)(op - cs));
		_cleanup_free_ char *val = strdup(op + 2);
		for (char *e = key + strlen(key); e > key && isspace((unsigned char)e[-1]); e--)
			e[-1] = 0;
		char *vs = val;
		while (isspace((unsigned char)*vs))
			vs++;
		for (char *e = vs + strlen(vs); e > vs && isspace((unsigned char)e[-1]); e--)
			e[-1] = 0;
		char *ks = key;
		while (isspace((unsigned char)*ks))
			ks++;
		const char *k8s = NULL;
		if (!strcmp(ks, "node.hostname"))
			k8s = "kubernetes.io/hostname";
		else if (!strcmp(ks, "engine.labels.operatingsystem") || !strcmp(ks, "node.platform.os"))
			k8s = "kubernetes.io/os";
		else if (!strcmp(ks, "node.platform.arch"))
			k8s = "kubernetes.io/arch";
		else if (!strncmp(ks, "node.labels.", 12) && ks[12])
			k8s = ks + 12;
		if (!k8s) {
			kc_warnf(cv->warnings, "service %s: deploy.placement.constraints \"%s\": %s has no Kubernetes node label", svc, cs, ks);
			continue;
		}
		json_array_append_new(exprs, json_pack("{s:s, s:s, s:[s]}", "key", k8s, "operator", eq ? "In" : "NotIn", "values", vs));
	}
	if (json_array_size(exprs))
		json_object_set_new(pod, "affinity", json_pack("{s:{s:{s:[{s:o}]}}}", "nodeAffinity",
								  "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms",
								  "matchExpressions", exprs));
	else
		json_decref(exprs);
	/* spread preferences, the first weighing most */
	json_t *spreads = json_array();
	json_t *prefs = json_object_get(pl, "preferences");
	size_t n = 0;
	json_array_foreach(prefs, i, c) n += strncmp(jsonx_str(c, "spread") ? jsonx_str(c, "spread") : "", "node.labels.", 12) == 0;
	json_int_t skew = (json_int_t)n;
	json_array_foreach(prefs, i, c) {
		const char *sp = jsonx_str(c, "spread");
		if (!sp)
			continue;
		if (strncmp(sp, "node.labels.", 12) || !sp[12]) {
			kc_warnf(cv->warnings, "service %s: deploy.placement.preferences spread %s: only node.labels.* spread", svc, sp);
			continue;
		}
		json_array_append_new(spreads, json_pack("{s:I, s:s, s:s, s:{s:{s:s}}}", "maxSkew", skew--, "topologyKey", sp + 12,
							 "whenUnsatisfiable", "ScheduleAnyway", "labelSelector", "matchLabels",
							 SEL_LABEL, kname));
	}
	if (json_array_size(spreads))
		json_object_set_new(pod, "topologySpreadConstraints", spreads);
	else
		json_decref(spreads);
	if (json_object_get(pl, "max_replicas_per_node"))
		kc_warnf(cv->warnings, "service %s: deploy.placement.max_replicas_per_node: not mapped", svc);
	return 0;
}
