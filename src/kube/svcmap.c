/* Service object + pods -> net/svc.h's entry (see svcmap.h). */
#include "kube/svcmap.h"
#include "kube/selector.h"
#include "util/jsonx.h"

#include <string.h>

static json_t *find_ctr_port(const json_t *podspec, const char *pname)
{
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(json_object_get(podspec, "containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), j, p)
			if (!strcmp(jsonx_str(p, "name") ? jsonx_str(p, "name") : "", pname))
				return json_object_get(p, "containerPort");
	return NULL;
}

json_t *kube_svc_entry(const json_t *svc, const char *ns, const struct kube_svc_pod *pods, size_t n,
		       bool keep_cluster_ip)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *name = jsonx_str(json_object_get(svc, "metadata"), "name");
	const char *type = jsonx_str(spec, "type");
	const char *cip = jsonx_str(spec, "clusterIP");
	if (!keep_cluster_ip && !(cip && !strcmp(cip, "None")))
		cip = "";
	json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name ? name : "", "namespace", ns, "clusterIP",
			      cip && *cip ? cip : "", "type", type ? type : "ClusterIP", "sessionAffinity",
			      jsonx_str(spec, "sessionAffinity") ? jsonx_str(spec, "sessionAffinity") : "None");
	json_t *aff = json_object_get(spec, "sessionAffinityConfig");
	if (json_is_object(aff))
		json_object_set(s, "sessionAffinityConfig", aff);
	json_t *ports = json_array(), *eps = json_array();
	json_object_set_new(s, "ports", ports);
	json_object_set_new(s, "endpoints", eps);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_t *np = json_object_get(p, "nodePort");
		bool hostport = type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
		json_array_append_new(ports, json_pack("{s:s,s:s,s:O,s:I,s:b}", "name",
						       jsonx_str(p, "name") ? jsonx_str(p, "name") : "", "protocol",
						       jsonx_str(p, "protocol") ? jsonx_str(p, "protocol") : "TCP", "port",
						       json_object_get(p, "port"), "nodePort",
						       hostport && json_is_integer(np) ? json_integer_value(np) : 0, "lbPort",
						       type && !strcmp(type, "LoadBalancer")));
	}
	const json_t *sel = json_object_get(spec, "selector");
	bool not_ready_too = json_is_true(json_object_get(spec, "publishNotReadyAddresses"));
	for (size_t k = 0; json_object_size(sel) && k < n; k++) {
		const struct kube_svc_pod *pi = &pods[k];
		if (!kube_map_match(sel, pi->labels) || !pi->ip || !*pi->ip)
			continue;
		json_t *tp = json_array();
		json_array_foreach(json_object_get(spec, "ports"), i, p) {
			json_t *t = json_object_get(p, "targetPort");
			json_t *num = NULL;
			if (json_is_integer(t))
				num = t;
			else if (json_is_string(t))
				num = find_ctr_port(pi->spec, json_string_value(t));
			else
				num = json_object_get(p, "port");
			json_array_append_new(tp, json_integer(json_is_integer(num) ? json_integer_value(num) : 0));
		}
		json_t *ep = json_pack("{s:s,s:b,s:o}", "ip", pi->ip, "ready", pi->ready || not_ready_too, "ports", tp);
		const char *sub = jsonx_str(pi->spec, "subdomain"), *host = jsonx_str(pi->spec, "hostname");
		if (sub && host && name && !strcmp(sub, name))
			json_object_set_new(ep, "hostname", json_string(host));
		json_object_set_new(ep, "pod", json_string(pi->name));
		json_array_append_new(eps, ep);
	}
	return s;
}

/* The target of service port sp among an EndpointSlice's ports: the one
 * of the same name and protocol (0: the slice does not serve it). */
static json_int_t slice_target(const json_t *slice_ports, const json_t *sp)
{
	const char *name = jsonx_str(sp, "name") ? jsonx_str(sp, "name") : "";
	const char *proto = jsonx_str(sp, "protocol") ? jsonx_str(sp, "protocol") : "TCP";
	size_t i;
	json_t *p;
	json_array_foreach(slice_ports, i, p) {
		const char *pn = jsonx_str(p, "name") ? jsonx_str(p, "name") : "";
		const char *pp = jsonx_str(p, "protocol") ? jsonx_str(p, "protocol") : "TCP";
		json_t *port = json_object_get(p, "port");
		if (!strcmp(pn, name) && !strcmp(pp, proto) && json_is_integer(port))
			return json_integer_value(port);
	}
	return 0;
}

json_t *kube_svc_entry_slices(const json_t *svc, const char *ns, const json_t *slices)
{
	json_t *s = kube_svc_entry(svc, ns, NULL, 0, true);
	const char *name = jsonx_str(json_object_get(svc, "metadata"), "name");
	json_t *eps = json_object_get(s, "endpoints");
	json_t *sports = json_object_get(json_object_get(svc, "spec"), "ports");
	size_t i, j, k;
	json_t *sl, *ep;
	json_array_foreach(slices, i, sl) {
		const json_t *md = json_object_get(sl, "metadata");
		const char *owner = jsonx_str(json_object_get(md, "labels"), "kubernetes.io/service-name");
		const char *at = jsonx_str(sl, "addressType");
		if (!owner || !name || strcmp(owner, name) || strcmp(jsonx_str(md, "namespace") ?: "", ns) ||
		    (at && strcmp(at, "IPv4")))
			continue;
		const json_t *ports = json_object_get(sl, "ports");
		json_array_foreach(json_object_get(sl, "endpoints"), j, ep) {
			const char *ip = json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
			if (!ip || !*ip)
				continue;
			/* conditions.ready unset means ready (discovery.k8s.io/v1) */
			json_t *rd = json_object_get(json_object_get(ep, "conditions"), "ready");
			bool ready = !json_is_false(rd);
			/* one address may be in several slices (one per port set) */
			json_t *have = NULL, *e;
			json_array_foreach(eps, k, e)
				if (!strcmp(jsonx_str(e, "ip") ?: "", ip))
					have = e;
			json_t *tp = have ? json_object_get(have, "ports") : json_array();
			json_t *sp;
			json_array_foreach(sports, k, sp) {
				json_int_t t = slice_target(ports, sp);
				if (!have)
					json_array_append_new(tp, json_integer(t));
				else if (t && !json_integer_value(json_array_get(tp, k)))
					json_array_set_new(tp, k, json_integer(t));
			}
			if (have) {
				if (ready)
					json_object_set_new(have, "ready", json_true());
				continue;
			}
			json_t *ne = json_pack("{s:s,s:b,s:o}", "ip", ip, "ready", ready, "ports", tp);
			const char *host = jsonx_str(ep, "hostname");
			if (host && *host)
				json_object_set_new(ne, "hostname", json_string(host));
			const char *pod = jsonx_str(json_object_get(ep, "targetRef"), "name");
			if (pod)
				json_object_set_new(ne, "pod", json_string(pod));
			json_array_append_new(eps, ne);
		}
	}
	return s;
}
