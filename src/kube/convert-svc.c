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

int kc_services(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *sports, bool published,
		struct berr **err)
{
	json_t *w = cv->warnings;
	json_t *labels = json_object_get(s, "labels");
	const char *k;
	json_t *v;
	/* the Service: every service gets one, so it resolves by name */
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
		/* published ports reach the outside, as Docker's compose bridge maps them */
		json_object_set_new(sspec, "type", json_string(published ? "LoadBalancer" : "ClusterIP"));
	}
	json_array_append_new(cv->services, json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Service", "metadata",
						      kc_meta(cv, kname, kname), "spec", sspec));
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
