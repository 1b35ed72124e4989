/* kube convert: Services. Every service gets one, so it resolves by name
 * as under compose (headless when it has no ports); network aliases are
 * more Services selecting the same pods. */
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

/* The Service port of a compose port: Kompose's name (the published port,
 * or the target; "-udp" for UDP), port = published or target. */
json_t *kc_service_port(json_t *cp, json_t *names)
{
	json_int_t target = json_integer_value(json_object_get(cp, "target"));
	const char *pub = jsonx_str(cp, "published");
	json_int_t port = pub && *pub ? strtoll(pub, NULL, 10) : target;
	const char *proto = jsonx_str(cp, "protocol");
	bool udp = proto && !strcasecmp(proto, "udp");
	char name[32];
	snprintf(name, sizeof(name), "%lld%s", (long long)port, udp ? "-udp" : "");
	if (json_object_get(names, name))
		return NULL;
	json_object_set_new(names, name, json_true());
	return json_pack("{s:s, s:I, s:s, s:I}", "name", name, "port", port, "protocol", udp ? "UDP" : "TCP", "targetPort",
			 target);
}

/* kompose.service.expose: "true" or HOST[/PATH], comma-separated, with
 * .tls-secret and .ingress-class-name: an Ingress to the Service's first
 * port */
static int kc_ingress(struct conv *cv, const char *svc, const char *kname, json_t *labels, json_t *sspec,
		      struct berr **err)
{
	const char *ex = jsonx_str(labels, "kompose.service.expose");
	const char *tls = jsonx_str(labels, "kompose.service.expose.tls-secret");
	const char *cls = jsonx_str(labels, "kompose.service.expose.ingress-class-name");
	if (!ex) {
		if (tls || cls)
			return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.expose.%s needs kompose.service.expose", svc,
					 tls ? "tls-secret" : "ingress-class-name");
		return 0;
	}
	json_t *port = json_object_get(json_array_get(json_object_get(sspec, "ports"), 0), "port");
	if (!port)
		return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.expose: the service has no port to expose", svc);
	json_t *rules = json_array(), *hosts = json_array();
	_cleanup_free_ char *list = strdup(ex);
	char *save = NULL;
	for (char *h = strtok_r(list, ", ", &save); h; h = strtok_r(NULL, ", ", &save)) {
		char *slash = strchr(h, '/');
		_cleanup_free_ char *path = strdup(slash ? slash : "/");
		if (slash)
			*slash = 0;
		json_t *rule = json_pack("{s:{s:[{s:s, s:s, s:{s:{s:s, s:{s:O}}}}]}}", "http", "paths", "path", path, "pathType",
					 "Prefix", "backend", "service", "name", kname, "port", "number", port);
		if (strcasecmp(h, "true")) {
			if (!*h || strlen(h) > 253 || strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789-.*") != strlen(h)) {
				json_decref(rule);
				json_decref(rules);
				json_decref(hosts);
				return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.expose: \"%s\" is not a host name", svc, h);
			}
			json_object_set_new(rule, "host", json_string(h));
			json_array_append_new(hosts, json_string(h));
		}
		json_array_append_new(rules, rule);
	}
	json_t *spec = json_pack("{s:o}", "rules", rules);
	if (cls)
		json_object_set_new(spec, "ingressClassName", json_string(cls));
	if (tls) {
		json_t *t = json_object();
		if (json_array_size(hosts))
			json_object_set(t, "hosts", hosts);
		if (strcasecmp(tls, "true"))
			json_object_set_new(t, "secretName", json_string(tls));
		json_object_set_new(spec, "tls", json_pack("[o]", t));
	}
	json_decref(hosts);
	json_array_append_new(cv->extras, json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "networking.k8s.io/v1", "kind",
						    "Ingress", "metadata", kc_meta(cv, kname, kname), "spec", spec));
	return 0;
}

int kc_services(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *sports, bool published,
		struct berr **err)
{
	json_t *w = cv->warnings;
	json_t *labels = json_object_get(s, "labels");
	const char *k;
	json_t *v;
	/* the Service: every service gets one, so it resolves by name (a
	 * Service name is a DNS-1035 label: it starts with a letter) */
	if (!(kname[0] >= 'a' && kname[0] <= 'z')) {
		kc_warnf(w, "service %s: no Service: a Service name must start with a letter, and \"%s\" does not", svc, kname);
		json_decref(sports);
		return 0;
	}
	const char *stype = jsonx_str(labels, "kompose.service.type");
	json_t *sspec = json_pack("{s:{s:s}}", "selector", SEL_LABEL, kname);
	if (json_array_size(sports))
		json_object_set_new(sspec, "ports", sports);
	else
		json_decref(sports);
	if (stype && strcasecmp(stype, "nodeport") && strcasecmp(stype, "loadbalancer") && strcasecmp(stype, "clusterip") &&
	    strcasecmp(stype, "headless")) {
		json_decref(sspec);
		return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.type \"%s\": use clusterip, nodeport, loadbalancer or headless", svc, stype);
	}
	if (!json_object_get(sspec, "ports") || (stype && !strcasecmp(stype, "headless"))) {
		json_object_set_new(sspec, "clusterIP", json_string("None"));
	} else if (stype) {
		const char *t = !strcasecmp(stype, "nodeport") ? "NodePort" : !strcasecmp(stype, "loadbalancer") ? "LoadBalancer"
			      : "ClusterIP";
		json_object_set_new(sspec, "type", json_string(t));
	} else {
		/* published ports reach the outside, as Docker's compose bridge
		 * maps them; behind an Ingress (kompose.service.expose) the
		 * Ingress is the way in */
		bool lb = published && !jsonx_str(labels, "kompose.service.expose");
		json_object_set_new(sspec, "type", json_string(lb ? "LoadBalancer" : "ClusterIP"));
	}
	const char *type = jsonx_str(sspec, "type");
	bool external = type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
	const char *np = jsonx_str(labels, "kompose.service.nodeport.port");
	if (np) {
		char *end;
		long n = strtol(np, &end, 10);
		const char *why = !type || strcmp(type, "NodePort") ? "needs kompose.service.type nodeport"
				  : json_array_size(json_object_get(sspec, "ports")) != 1 ? "needs exactly one port"
				  : (*end || !*np || n < 1 || n > 65535) ? "is not a port number" : NULL;
		if (why) {
			json_decref(sspec);
			return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.nodeport.port \"%s\" %s", svc, np, why);
		}
		json_object_set_new(json_array_get(json_object_get(sspec, "ports"), 0), "nodePort", json_integer(n));
	}
	const char *etp = jsonx_str(labels, "kompose.service.external-traffic-policy");
	if (etp) {
		if (strcasecmp(etp, "local") && strcasecmp(etp, "cluster")) {
			json_decref(sspec);
			return berr_setc(err, BERR_INVALID, "service %s: label kompose.service.external-traffic-policy \"%s\": use local or cluster", svc, etp);
		}
		if (external)
			json_object_set_new(sspec, "externalTrafficPolicy", json_string(!strcasecmp(etp, "local") ? "Local" : "Cluster"));
		else
			kc_warnf(w, "service %s: label kompose.service.external-traffic-policy: only a NodePort or LoadBalancer Service has one", svc);
	}
	if (type && !strcmp(type, "LoadBalancer") && jsonx_str(labels, "kompose.service.expose")) {
		kc_warnf(w, "service %s: label kompose.service.expose: the LoadBalancer Service is the way in; no Ingress written", svc);
	} else if (kc_ingress(cv, svc, kname, labels, sspec, err) < 0) {
		json_decref(sspec);
		return -1;
	}
	/* a StatefulSet's Service is headless: it gives each pod its DNS name;
	 * published ports get a Service of their own to reach the outside */
	if (cv->statefulset && !json_object_get(sspec, "clusterIP")) {
		const char *t = jsonx_str(sspec, "type");
		if (t && strcmp(t, "ClusterIP")) {
			char ename[160];
			snprintf(ename, sizeof(ename), "%s-published", kname);
			json_array_append_new(cv->services, json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Service",
								      "metadata", kc_meta(cv, ename, kname), "spec", sspec));
			json_t *copy = json_deep_copy(sspec);
			json_decref(sspec);
			sspec = copy;
		}
		json_object_del(sspec, "type");
		json_object_del(sspec, "externalTrafficPolicy");
		size_t j;
		json_t *pp;
		json_array_foreach(json_object_get(sspec, "ports"), j, pp) json_object_del(pp, "nodePort");
		json_object_set_new(sspec, "clusterIP", json_string("None"));
	}
	/* the service's labels (not kompose.*) as annotations, as Kompose */
	json_t *smeta = kc_meta(cv, kname, kname), *ann = json_object();
	json_object_foreach(labels, k, v) if (strncmp(k, "kompose.", 8) && json_is_string(v))
		json_object_set(ann, k, v);
	if (json_object_size(ann))
		json_object_set_new(smeta, "annotations", ann);
	else
		json_decref(ann);
	json_array_append_new(cv->services, json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Service", "metadata",
						      smeta, "spec", sspec));
	/* network aliases: more names for the same pods */
	json_object_foreach(json_object_get(s, "networks"), k, v) {
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(v, "aliases"), j, a) {
			struct berr *e = NULL;
			_cleanup_free_ char *an = kc_name("network alias", json_string_value(a), w, &e);
			if (!an) {
				kc_warnf(w, "service %s: alias %s: %s", svc, json_string_value(a), e->msg);
				berr_free(e);
				continue;
			}
			if (!strcmp(an, kname))
				continue;
			if (json_object_get(cv->svc_names, an)) {
				/* compose resolves an alias shared by several services to all
				 * of them; one Service selects one service's pods */
				kc_warnf(w, "service %s: network alias %s: the name is already a Service; not mapped", svc, an);
				continue;
			}
			json_object_set_new(cv->svc_names, an, json_true());
			json_t *as = json_deep_copy(json_array_get(cv->services, json_array_size(cv->services) - 1));
			json_object_set_new(json_object_get(as, "metadata"), "name", json_string(an));
			json_array_append_new(cv->services, as);
		}
	}
	return 0;
}

/* --network-policies: compose's isolation. A pod carries the label
 * io.kompose.network/NETWORK: "true" for every network of its service; a
 * NetworkPolicy per network lets in traffic only from pods of the same
 * network (Kompose's), and, beyond Kompose, one per service with published
 * ports lets those ports in from anywhere, as compose publishes them on
 * the host: without it, the network's policy would shut them. */
int kc_network_policies(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *pod_labels,
			struct berr **err)
{
	if (!cv->o->network_policies)
		return 0;
	json_t *nets = json_object_get(s, "networks");
	const char *k;
	json_t *v;
	json_object_foreach(nets, k, v) {
		json_t *def = json_object_get(json_object_get(cv->project, "networks"), k);
		const char *full = jsonx_str(def, "name");
		_cleanup_json_ json_t *quiet = json_array();
		_cleanup_free_ char *n = kc_name("network", full ? full : k, quiet, err);
		if (!n)
			return berr_wrap(err, "service %s", svc);
		char key[320];
		snprintf(key, sizeof(key), "io.kompose.network/%s", n);
		json_object_set_new(pod_labels, key, json_string("true"));
		char pname[160];
		snprintf(pname, sizeof(pname), "%s", n);
		if (json_object_get(cv->netpol_names, pname))
			continue;
		json_object_set_new(cv->netpol_names, pname, json_true());
		json_t *meta = json_pack("{s:s}", "name", pname);
		kc_set_ns(cv, meta);
		json_array_append_new(cv->extras, json_pack("{s:s, s:s, s:o, s:{s:{s:{s:s}}, s:[{s:[{s:{s:{s:s}}}]}]}}", "apiVersion",
							    "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata", meta, "spec",
							    "podSelector", "matchLabels", key, "true", "ingress", "from",
							    "podSelector", "matchLabels", key, "true"));
	}
	json_t *ports = json_array();
	size_t i;
	json_array_foreach(json_object_get(s, "ports"), i, v) {
		const char *pub = jsonx_str(v, "published"), *proto = jsonx_str(v, "protocol");
		if (pub && *pub)
			json_array_append_new(ports, json_pack("{s:I, s:s}", "port", json_integer_value(json_object_get(v, "target")),
							       "protocol", proto && !strcasecmp(proto, "udp") ? "UDP" : "TCP"));
	}
	if (!json_array_size(ports)) {
		json_decref(ports);
		return 0;
	}
	char pname[160];
	snprintf(pname, sizeof(pname), "%s-published", kname);
	json_t *meta = json_pack("{s:s}", "name", pname);
	kc_set_ns(cv, meta);
	json_array_append_new(cv->extras, json_pack("{s:s, s:s, s:o, s:{s:{s:{s:s}}, s:[{s:o}]}}", "apiVersion",
						    "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata", meta, "spec",
						    "podSelector", "matchLabels", SEL_LABEL, kname, "ingress", "ports", ports));
	return 0;
}
