/* Compose -> Kubernetes. One pass per service: a workload (Deployment,
 * StatefulSet, DaemonSet, or a Job for restart "no"/"on-failure"), a
 * Service so that every service resolves by name as under compose (a
 * headless one when it has no ports), PersistentVolumeClaims for named
 * volumes. Kompose's conventions are kept where they exist (the selector
 * label io.kompose.service, port names, 100Mi claims) so its users find
 * the same objects; what Kompose drops (depends_on, readiness) is mapped. */
#include "kube/convert-int.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const handled[] = {
	"image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
	"depends_on", "healthcheck", "deploy", "scale", "restart", "working_dir", "user", "cap_add", "cap_drop",
	"privileged", "read_only", "tty", "stdin_open", "hostname", "stop_grace_period", "labels", "extra_hosts",
	"networks", "pull_policy", "sysctls", "tmpfs", "shm_size", "mem_limit", "cpus", "profiles", "configs", "secrets", "links", "group_add", "container_name", "dns", "dns_search", "dns_opt",
};

static bool is_handled(const char *k)
{
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (!strcmp(handled[i], k))
			return true;
	return false;
}

/* the first port a dependent can wait on: the Service's port */
static json_int_t first_port(json_t *svc)
{
	json_t *cp = json_array_get(json_object_get(svc, "ports"), 0);
	if (cp) {
		const char *pub = jsonx_str(cp, "published");
		return pub && *pub ? strtoll(pub, NULL, 10) : json_integer_value(json_object_get(cp, "target"));
	}
	json_t *ex = json_array_get(json_object_get(svc, "expose"), 0);
	if (json_is_string(ex))
		return strtoll(json_string_value(ex), NULL, 10);
	if (json_is_integer(ex))
		return json_integer_value(ex);
	return 0;
}

static int one_service(struct conv *cv, const char *svc, json_t *s, struct berr **err)
{
	json_t *w = cv->warnings;
	_cleanup_free_ char *kname = kc_name("service", svc, w, err);
	if (!kname)
		return -1;
	const char *k;
	json_t *v;
	size_t i0;
	json_object_foreach(s, k, v) if (!is_handled(k) && strncmp(k, "x-", 2) && strcmp(k, "container_name"))
		kc_warnf(w, "service %s: %s: not mapped to Kubernetes", svc, k);
	/* links: every service is a Service of its own name already */
	json_array_foreach(json_object_get(s, "links"), i0, v) {
		const char *l = json_string_value(v), *c = l ? strchr(l, ':') : NULL;
		if (c && strcmp(c + 1, l) && strncmp(l, c + 1, (size_t)(c - l)))
			kc_warnf(w, "service %s: link alias %s: not mapped (use a network alias)", svc, c + 1);
	}
	/* kompose.* labels may also sit under deploy.labels; the service's win */
	_cleanup_json_ json_t *labels = json_deep_copy(json_object_get(s, "labels"));
	if (!labels)
		labels = json_object();
	json_t *dlabels = json_object_get(json_object_get(s, "deploy"), "labels");
	json_object_foreach(dlabels, k, v) if (!strncmp(k, "kompose.", 8) && !json_object_get(labels, k))
		json_object_set(labels, k, v);
	/* container_name names the container (pods are named by their controller) */
	_cleanup_free_ char *ctr_name = NULL;
	if (jsonx_str(s, "container_name")) {
		ctr_name = kc_name("container_name", jsonx_str(s, "container_name"), w, err);
		if (!ctr_name)
			return berr_wrap(err, "service %s", svc);
	}

	/* the container */
	json_t *ctr = json_pack("{s:s}", "name", ctr_name ? ctr_name : kname);
	const char *image = jsonx_str(s, "image");
	char imgbuf[512];
	if (!image && json_object_get(s, "build")) {
		if (cv->o->image_registry)
			snprintf(imgbuf, sizeof(imgbuf), "%s/%s-%s", cv->o->image_registry, cv->project_name, svc);
		else
			snprintf(imgbuf, sizeof(imgbuf), "%s-%s", cv->project_name, svc);
		image = imgbuf;
	}
	if (!image) {
		json_decref(ctr);
		return berr_setc(err, BERR_INVALID, "service %s: no image and no build", svc);
	}
	json_object_set_new(ctr, "image", json_string(image));
	/* compose entrypoint -> command, compose command -> args */
	if (json_is_array(json_object_get(s, "entrypoint")))
		json_object_set(ctr, "command", json_object_get(s, "entrypoint"));
	if (json_is_array(json_object_get(s, "command")))
		json_object_set(ctr, "args", json_object_get(s, "command"));
	_cleanup_json_ json_t *from_files = json_object();
	if (kc_env_files(cv, svc, kname, s, ctr, from_files, err) < 0) {
		json_decref(ctr);
		return -1;
	}
	json_t *env = json_object_get(s, "environment");
	if (json_object_size(env)) {
		/* sorted by name, as Kompose writes them */
		size_t n = json_object_size(env), i = 0;
		const char **keys = calloc(n, sizeof(*keys));
		json_object_foreach(env, k, v) keys[i++] = k;
		for (size_t a = 1; a < n; a++)
			for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
				const char *t = keys[b];
				keys[b] = keys[b - 1];
				keys[b - 1] = t;
			}
		json_t *ev = json_array();
		for (i = 0; i < n; i++) {
			json_t *val = json_object_get(env, keys[i]);
			if (json_object_get(from_files, keys[i]))
				continue;
			if (json_is_null(val)) {
				kc_warnf(w, "service %s: environment %s has no value: left out", svc, keys[i]);
				continue;
			}
			json_array_append_new(ev, json_pack("{s:s, s:s}", "name", keys[i], "value", json_string_value(val) ? json_string_value(val) : ""));
		}
		free(keys);
		if (json_array_size(ev))
			json_object_set_new(ctr, "env", ev);
		else
			json_decref(ev);
	}
	json_t *cports = json_array(), *sports = json_array(), *pnames = json_object();
	size_t i;
	bool published = false;
	json_array_foreach(json_object_get(s, "ports"), i, v) {
		const char *proto = jsonx_str(v, "protocol");
		bool udp = proto && !strcasecmp(proto, "udp");
		json_int_t target = json_integer_value(json_object_get(v, "target"));
		bool dup = false;
		size_t j;
		json_t *cp;
		json_array_foreach(cports, j, cp) dup |= json_integer_value(json_object_get(cp, "containerPort")) == target &&
							   !strcmp(jsonx_str(cp, "protocol"), udp ? "UDP" : "TCP");
		if (!dup)
			json_array_append_new(cports, json_pack("{s:I, s:s}", "containerPort", target, "protocol", udp ? "UDP" : "TCP"));
		const char *pub = jsonx_str(v, "published");
		published |= pub && *pub;
		json_t *sp = kc_service_port(v, pnames);
		if (sp)
			json_array_append_new(sports, sp);
		if (jsonx_str(v, "host_ip"))
			kc_warnf(w, "service %s: ports host_ip %s: not mapped (a Service listens on every node address)", svc, jsonx_str(v, "host_ip"));
	}
	json_array_foreach(json_object_get(s, "expose"), i, v) {
		json_int_t p = json_is_integer(v) ? json_integer_value(v) : json_string_value(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
		if (p <= 0)
			continue;
		json_t *cp = json_pack("{s:I, s:s}", "target", p, "protocol", "tcp");
		json_t *sp = kc_service_port(cp, pnames);
		json_decref(cp);
		if (sp)
			json_array_append_new(sports, sp);
	}
	json_decref(pnames);
	if (json_array_size(cports))
		json_object_set_new(ctr, "ports", cports);
	else
		json_decref(cports);
	if (jsonx_str(s, "working_dir"))
		json_object_set(ctr, "workingDir", json_object_get(s, "working_dir"));
	if (json_is_true(json_object_get(s, "tty")))
		json_object_set_new(ctr, "tty", json_true());
	if (json_is_true(json_object_get(s, "stdin_open")))
		json_object_set_new(ctr, "stdin", json_true());
	const char *pp = jsonx_str(s, "pull_policy");
	const char *ipp = jsonx_str(labels, "kompose.image-pull-policy");
	if (!ipp && pp)
		ipp = !strcmp(pp, "always") ? "Always" : !strcmp(pp, "never") ? "Never" : "IfNotPresent";
	if (ipp)
		json_object_set_new(ctr, "imagePullPolicy", json_string(ipp));
	/* securityContext */
	json_t *sc = json_object();
	if (json_is_true(json_object_get(s, "privileged")))
		json_object_set_new(sc, "privileged", json_true());
	if (json_is_true(json_object_get(s, "read_only")))
		json_object_set_new(sc, "readOnlyRootFilesystem", json_true());
	if (json_array_size(json_object_get(s, "cap_add")) || json_array_size(json_object_get(s, "cap_drop"))) {
		json_t *caps = json_object();
		if (json_array_size(json_object_get(s, "cap_add")))
			json_object_set(caps, "add", json_object_get(s, "cap_add"));
		if (json_array_size(json_object_get(s, "cap_drop")))
			json_object_set(caps, "drop", json_object_get(s, "cap_drop"));
		json_object_set_new(sc, "capabilities", caps);
	}
	const char *user = jsonx_str(s, "user");
	if (user) {
		char *end;
		long uid = strtol(user, &end, 10);
		if (end != user && (*end == 0 || *end == ':')) {
			json_object_set_new(sc, "runAsUser", json_integer(uid));
			if (*end == ':') {
				char *e2;
				long gid = strtol(end + 1, &e2, 10);
				if (e2 != end + 1 && !*e2)
					json_object_set_new(sc, "runAsGroup", json_integer(gid));
				else
					kc_warnf(w, "service %s: user group \"%s\" is not numeric: runAsGroup left out", svc, end + 1);
			}
		} else {
			kc_warnf(w, "service %s: user \"%s\" is not numeric: Kubernetes' runAsUser needs a UID", svc, user);
		}
	}
	if (json_object_size(sc))
		json_object_set_new(ctr, "securityContext", sc);
	else
		json_decref(sc);
	/* resources */
	json_t *res = json_object_get(json_object_get(s, "deploy"), "resources");
	json_t *rr = json_object();
	static const char *const rk[][2] = {{"limits", "limits"}, {"reservations", "requests"}};
	for (size_t r = 0; r < 2; r++) {
		json_t *src = json_object_get(res, rk[r][0]), *dst = json_object();
		json_t *q;
		if ((q = kc_cpu_quantity(json_object_get(src, "cpus"))))
			json_object_set_new(dst, "cpu", q);
		if ((q = kc_mem_quantity(json_object_get(src, "memory"))))
			json_object_set_new(dst, "memory", q);
		if (r == 0) {
			if (!json_object_get(dst, "memory") && (q = kc_mem_quantity(json_object_get(s, "mem_limit"))))
				json_object_set_new(dst, "memory", q);
			if (!json_object_get(dst, "cpu") && (q = kc_cpu_quantity(json_object_get(s, "cpus"))))
				json_object_set_new(dst, "cpu", q);
		}
		if (json_object_size(dst))
			json_object_set_new(rr, rk[r][1], dst);
		else
			json_decref(dst);
	}
	if (json_object_size(rr))
		json_object_set_new(ctr, "resources", rr);
	else
		json_decref(rr);
	/* probes: readiness and liveness from the healthcheck and labels */
	if (kc_probes(cv, svc, s, labels, ctr, err) < 0) {
		json_decref(ctr);
		json_decref(sports);
		return -1;
	}

	/* the pod */
	json_t *pod = json_pack("{s:[o]}", "containers", ctr);
	if (kc_volumes(cv, svc, kname, s, ctr, pod, err) < 0) {
		json_decref(pod);
		json_decref(sports);
		return -1;
	}
	if (jsonx_str(s, "hostname"))
		json_object_set(pod, "hostname", json_object_get(s, "hostname"));
	int64_t grace = kc_secs(jsonx_str(s, "stop_grace_period"));
	if (grace >= 0 && jsonx_str(s, "stop_grace_period"))
		json_object_set_new(pod, "terminationGracePeriodSeconds", json_integer(grace));
	json_t *eh = json_object_get(s, "extra_hosts");
	if (json_object_size(eh) || json_array_size(eh)) {
		/* normalized: {"host": ["ip", ...]} or ["host=ip"] */
		json_t *aliases = json_array();
		if (json_is_object(eh)) {
			json_object_foreach(eh, k, v) {
				json_t *ips = json_is_array(v) ? v : NULL;
				size_t j;
				json_t *ip;
				if (json_is_string(v))
					json_array_append_new(aliases, json_pack("{s:s, s:[s]}", "ip", json_string_value(v), "hostnames", k));
				else
					json_array_foreach(ips, j, ip) json_array_append_new(aliases, json_pack("{s:s, s:[s]}", "ip", json_string_value(ip), "hostnames", k));
			}
		} else {
			json_array_foreach(eh, i, v) {
				const char *e = json_string_value(v), *sep = e ? strpbrk(e, "=:") : NULL;
				if (!sep)
					continue;
				_cleanup_free_ char *host = strndup(e, (size_t)(sep - e));
				json_array_append_new(aliases, json_pack("{s:s, s:[s]}", "ip", sep + 1, "hostnames", host));
			}
		}
		json_object_set_new(pod, "hostAliases", aliases);
	}
	json_t *sysctls = json_object_get(s, "sysctls");
	if (json_object_size(sysctls)) {
		json_t *sl = json_array();
		json_object_foreach(sysctls, k, v) {
			char num[32];
			const char *val = json_string_value(v);
			if (!val && json_is_integer(v)) {
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
				val = num;
			}
			json_array_append_new(sl, json_pack("{s:s, s:s}", "name", k, "value", val ? val : ""));
		}
		json_object_set_new(pod, "securityContext", json_pack("{s:o}", "sysctls", sl));
	}
	/* dns, dns_search, dns_opt: added to the cluster's DNS settings
	 * (dnsPolicy stays ClusterFirst, so Services still resolve) */
	json_t *dc = json_object();
	static const char *const dk[][2] = {{"dns", "nameservers"}, {"dns_search", "searches"}};
	for (size_t d = 0; d < 2; d++) {
		json_t *dv = json_object_get(s, dk[d][0]);
		if (json_is_string(dv))
			json_object_set_new(dc, dk[d][1], json_pack("[O]", dv));
		else if (json_array_size(dv))
			json_object_set(dc, dk[d][1], dv);
	}
	if (json_array_size(json_object_get(dc, "nameservers")) > 2)
		kc_warnf(w, "service %s: dns: Kubernetes takes at most 3 nameservers with the cluster's own", svc);
	json_t *dopts = json_object_get(s, "dns_opt");
	if (json_array_size(dopts)) {
		json_t *ol = json_array();
		size_t j;
		json_t *o;
		json_array_foreach(dopts, j, o) {
			const char *os = json_string_value(o), *colon = os ? strchr(os, ':') : NULL;
			if (!os)
				continue;
			if (colon) {
				_cleanup_free_ char *n = strndup(os, (size_t)(colon - os));
				json_array_append_new(ol, json_pack("{s:s, s:s}", "name", n, "value", colon + 1));
			} else {
				json_array_append_new(ol, json_pack("{s:s}", "name", os));
			}
		}
		json_object_set_new(dc, "options", ol);
	}
	if (json_object_size(dc))
		json_object_set_new(pod, "dnsConfig", dc);
	else
		json_decref(dc);
	json_t *ga = json_object_get(s, "group_add");
	if (json_array_size(ga)) {
		json_t *groups = json_array();
		size_t j;
		json_t *g;
		json_array_foreach(ga, j, g) {
			const char *gs = json_string_value(g);
			char *end = NULL;
			long gid = json_is_integer(g) ? (long)json_integer_value(g) : gs ? strtol(gs, &end, 10) : -1;
			if (gid < 0 || (gs && (*end || end == gs)))
				kc_warnf(w, "service %s: group_add %s: not numeric, left out (supplementalGroups take GIDs)", svc, gs ? gs : "?");
			else
				json_array_append_new(groups, json_integer(gid));
		}
		json_t *psc = json_object_get(pod, "securityContext");
		if (!psc)
			json_object_set_new(pod, "securityContext", psc = json_object());
		json_object_set_new(psc, "supplementalGroups", groups);
	}
	if (kc_placement(cv, svc, kname, s, pod) < 0) {
		json_decref(pod);
		json_decref(sports);
		return -1;
	}
	/* depends_on: init containers that wait, as compose's start order */
	json_t *inits = json_array();
	json_t *all = json_object_get(cv->project, "services");
	json_object_foreach(json_object_get(s, "depends_on"), k, v) {
		const char *cond = jsonx_str(v, "condition");
		json_t *dep = json_object_get(all, k);
		if (!dep)
			continue;
		struct berr *e = NULL;
		_cleanup_json_ json_t *quiet = json_array(); /* its own warning is given once, above */
		_cleanup_free_ char *dn = kc_name("service", k, quiet, &e);
		berr_free(e);
		if (!dn)
			continue;
		if (cond && !strcmp(cond, "service_completed_successfully")) {
			/* the dependency runs once (restart "no" or on-failure:
			 * a Job): kubectl waits for its Complete condition, with a
			 * service account that may read Jobs and nothing else */
			const char *dr = jsonx_str(dep, "restart");
			if (!dr || !(!strcmp(dr, "no") || !strncmp(dr, "on-failure", 10))) {
				kc_warnf(w, "service %s: depends_on %s: service_completed_successfully, but %s keeps running (restart %s): waits for it to start instead", svc, k, k, dr ? dr : "no policy");
			} else {
				char cname[128], jobref[160];
				snprintf(cname, sizeof(cname), "wait-for-%s", dn);
				snprintf(jobref, sizeof(jobref), "job/%s", dn);
				json_array_append_new(inits, json_pack("{s:s, s:s, s:[s,s,s,s]}", "name", cname, "image",
									cv->o->kubectl_image, "command", "kubectl", "wait",
									"--for=condition=complete", "--timeout=-1s"));
				json_array_append_new(json_object_get(json_array_get(inits, json_array_size(inits) - 1), "command"),
						      json_string(jobref));
				kc_job_waiter(cv, pod);
				continue;
			}
		}
		/* a ClusterIP Service accepts connections only while a ready
		 * endpoint exists (readiness comes from the healthcheck), and a
		 * headless one resolves only to ready pods: both conditions
		 * wait on the same check */
		json_int_t port = first_port(dep);
		char script[512], cname[128];
		if (port > 0)
			snprintf(script, sizeof(script), "until nc -z -w 2 %s %lld; do echo waiting for %s; sleep 2; done", dn, (long long)port, dn);
		else
			/* busybox's nslookup walks the whole search list and exits 1
			 * when its last name (NAME.cluster.local) is unknown, even
			 * after NAME.NS.svc.cluster.local answered: an answer is a
			 * Name: line */
			snprintf(script, sizeof(script),
				 "until nslookup %s 2>/dev/null | grep -q '^Name:'; do echo waiting for %s; sleep 2; done", dn, dn);
		snprintf(cname, sizeof(cname), "wait-for-%s", dn);
		json_array_append_new(inits, json_pack("{s:s, s:s, s:[s,s,s]}", "name", cname, "image", cv->o->wait_image,
							"command", "sh", "-c", script));
	}
	if (json_array_size(inits))
		json_object_set_new(pod, "initContainers", inits);
	else
		json_decref(inits);
	if (kc_pod_labels(cv, svc, s, labels, ctr, pod, err) < 0) {
		json_decref(pod);
		json_decref(sports);
		return -1;
	}

	/* annotations: the service's labels that are not kompose.* */
	json_t *ann = json_object();
	json_object_foreach(labels, k, v) if (strncmp(k, "kompose.", 8) && json_is_string(v))
		json_object_set(ann, k, v);
	json_t *tmeta = json_pack("{s:{s:s}}", "labels", SEL_LABEL, kname);
	if (kc_network_policies(cv, svc, kname, s, json_object_get(tmeta, "labels"), err) < 0) {
		json_decref(tmeta);
		json_decref(pod);
		json_decref(ann);
		json_decref(sports);
		return -1;
	}
	if (json_object_size(ann))
		json_object_set(tmeta, "annotations", ann);
	json_t *tmpl = json_pack("{s:o, s:o}", "metadata", tmeta, "spec", pod);

	/* the workload */
	const char *restart = jsonx_str(s, "restart");
	enum kube_controller ctl = cv->o->controller;
	const char *lt = jsonx_str(labels, "kompose.controller.type");
	if (lt && kube_controller_parse(lt, &ctl, err) < 0) {
		json_decref(tmpl);
		json_decref(ann);
		json_decref(sports);
		return berr_wrap(err, "service %s: label kompose.controller.type", svc);
	}
	json_t *wl;
	int cj;
	json_t *wmeta = kc_meta(cv, kname, kname);
	json_object_foreach(dlabels, k, v) if (json_is_string(v) && strcmp(k, SEL_LABEL)) {
		if (kc_label_ok(k, json_string_value(v)))
			json_object_set(json_object_get(wmeta, "labels"), k, v);
		else
			kc_warnf(w, "service %s: deploy.labels %s: not a valid Kubernetes label, left out", svc, k);
	}
	if (json_object_size(ann))
		json_object_set(wmeta, "annotations", ann);
	json_decref(ann);
	if (ctl == KUBE_POD) {
		/* a bare Pod (kube generate's default, as podman's) */
		if (restart)
			json_object_set_new(pod, "restartPolicy",
					    json_string(!strcmp(restart, "no") ? "Never" : !strncmp(restart, "on-failure", 10) ? "OnFailure" : "Always"));
		json_object_update(json_object_get(wmeta, "labels"), json_object_get(json_object_get(tmpl, "metadata"), "labels"));
		wl = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata", wmeta, "spec", pod);
		json_decref(tmpl);
	} else if ((cj = kc_cronjob(cv, svc, labels, restart, wmeta, tmpl, &wl, err)) != 0) {
		json_decref(wmeta);
		json_decref(tmpl);
		if (cj < 0) {
			json_decref(sports);
			return -1;
		}
	} else if (restart && (!strcmp(restart, "no") || !strncmp(restart, "on-failure", 10))) {
		bool onf = restart[0] == 'o';
		json_object_set_new(pod, "restartPolicy", json_string(onf ? "OnFailure" : "Never"));
		json_int_t backoff = onf ? (restart[10] == ':' ? strtoll(restart + 11, NULL, 10) : 6) : 0;
		wl = json_pack("{s:s, s:s, s:o, s:{s:I, s:o}}", "apiVersion", "batch/v1", "kind", "Job", "metadata", wmeta,
			       "spec", "backoffLimit", backoff, "template", tmpl);
	} else {
		const char *kinds[] = {"Deployment", "StatefulSet", "DaemonSet"};
		wl = json_pack("{s:s, s:s, s:o, s:{s:{s:{s:s}}, s:o}}", "apiVersion", "apps/v1", "kind", kinds[ctl], "metadata",
			       wmeta, "spec", "selector", "matchLabels", SEL_LABEL, kname, "template", tmpl);
		json_t *spec = json_object_get(wl, "spec");
		json_object_set_new(pod, "restartPolicy", json_string("Always"));
		/* a claim is usually ReadWriteOnce: the old pod goes before the new one mounts it */
		if (ctl == KUBE_DEPLOYMENT && json_array_size(json_object_get(s, "volumes")))
			json_object_set_new(spec, "strategy", json_pack("{s:s}", "type", "Recreate"));
		if (ctl != KUBE_DAEMONSET) {
			json_int_t reps = 1;
			json_t *dr = json_object_get(json_object_get(s, "deploy"), "replicas");
			if (json_is_integer(dr))
				reps = json_integer_value(dr);
			else if (json_is_integer(json_object_get(s, "scale")))
				reps = json_integer_value(json_object_get(s, "scale"));
			if (cv->o->replicas >= 0)
				reps = cv->o->replicas;
			json_object_set_new(spec, "replicas", json_integer(reps));
		}
		if (ctl == KUBE_STATEFULSET) {
			json_object_set_new(spec, "serviceName", json_string(kname));
			kc_claim_templates(cv, svc, s, pod, spec);
		}
		if (restart && strcmp(restart, "always") && strcmp(restart, "unless-stopped"))
			kc_warnf(w, "service %s: restart %s: pods of a %s always restart", svc, restart, kinds[ctl]);
	}
	json_array_append_new(cv->workloads, wl);
	if (kc_hpa(cv, svc, kname, labels, wl, err) < 0) {
		json_decref(sports);
		return -1;
	}

	cv->statefulset = !strcmp(jsonx_str(wl, "kind"), "StatefulSet");
	if (kc_services(cv, svc, kname, s, sports, published, err) < 0)
		return -1;
	return 0;
}

int kube_convert(json_t *project, const struct kube_convert_opts *o, json_t **ret_objects, json_t *warnings,
		 struct berr **err)
{
	struct conv cv = {.o = o, .project = project, .warnings = warnings, .configmaps = json_array(),
			  .secrets = json_array(), .pvcs = json_array(), .services = json_array(), .workloads = json_array(),
			  .extras = json_array(), .pvc_names = json_object(), .cm_names = json_object(),
			  .secret_names = json_object(), .netpol_names = json_object(), .project_name = jsonx_str(project, "name")};
	if (!cv.project_name)
		cv.project_name = "project";
	cv.svc_names = json_object();
	int rc = 0;
	const char *k;
	json_t *v;
	/* the services' own names come before any alias */
	json_object_foreach(json_object_get(project, "services"), k, v) {
		_cleanup_json_ json_t *quiet = json_array();
		_cleanup_free_ char *n = kc_name("service", k, quiet, NULL);
		if (n)
			json_object_set_new(cv.svc_names, n, json_true());
	}
	json_object_foreach(json_object_get(project, "services"), k, v) {
		if ((rc = one_service(&cv, k, v, err)) < 0)
			break;
	}
	if (!json_object_size(json_object_get(project, "services")))
		kc_warnf(warnings, "no service selected (are the services behind a profile? --profile selects one)");
	if (rc == 0 && o->namespace_) {
		if (!kc_dns_label(o->namespace_)) {
			rc = berr_setc(err, BERR_INVALID, "--namespace \"%s\": not a valid namespace name (a DNS-1123 label)", o->namespace_);
		} else {
			json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", o->namespace_);
			json_array_insert_new(cv.configmaps, 0, ns);
		}
	}
	json_t *all = NULL;
	if (rc == 0) {
		all = json_array();
		json_array_extend(all, cv.configmaps);
		json_array_extend(all, cv.secrets);
		json_array_extend(all, cv.pvcs);
		json_array_extend(all, cv.services);
		json_array_extend(all, cv.workloads);
		json_array_extend(all, cv.extras);
		*ret_objects = all;
	}
	json_decref(cv.configmaps);
	json_decref(cv.secrets);
	json_decref(cv.pvcs);
	json_decref(cv.services);
	json_decref(cv.workloads);
	json_decref(cv.extras);
	json_decref(cv.pvc_names);
	json_decref(cv.cm_names);
	json_decref(cv.secret_names);
	json_decref(cv.netpol_names);
	json_decref(cv.svc_names);
	return rc;
}
