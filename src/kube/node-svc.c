/* The cluster's Services on the node: every Service of the API, with the
 * node's own pods as endpoints, programmed by net/svc.c on the pods'
 * network (DNAT to ready pods, NodePort and LoadBalancer ports on the
 * host, NAME.NS.svc.cluster.local in the network's DNS). The addresses
 * pods see for a Service are net/svc.c's, from the node network's own
 * range: on one node that is all a pod needs; routing the API's
 * ClusterIPs (the cluster's range, across nodes) is issue 15's. */
#include "kube/node-int.h"
#include "kube/selector.h"
#include "kube/svcmap.h"
#include "net/svc.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_services_sync(struct node *nd, bool force)
{
	long long now = node_ms();
	if (!force && now - nd->svc_at < 1000)
		return;
	nd->svc_at = now;
	json_t *list = NULL;
	struct berr *e = NULL;
	if (kube_get(nd->kc, "/api/v1/services", &list, &e) < 0) {
		if (!nd->svc_failing)
			fprintf(stderr, "node %s: listing services: %s\n", nd->name, e ? e->msg : "error");
		nd->svc_failing = true;
		berr_free(e);
		return;
	}
	nd->svc_failing = false;
	/* the node's pods, with their state now */
	_cleanup_json_ json_t *rt = pod_list_node(nd->o->cs, nd->name);
	size_t n = json_array_size(rt), np = 0;
	struct kube_svc_pod *pods = calloc(n ? n : 1, sizeof(*pods));
	json_t **sts = calloc(n ? n : 1, sizeof(*sts));
	const char **pns = calloc(n ? n : 1, sizeof(*pns));
	size_t i;
	json_t *p;
	json_array_foreach(rt, i, p) {
		json_t *obj = json_object_get(json_object_get(p, "meta"), "object");
		const char *uid = jsonx_str(json_object_get(p, "meta"), "uid");
		json_t *want = uid ? json_object_get(nd->desired, uid) : NULL;
		if (!want || jsonx_str(json_object_get(want, "metadata"), "deletionTimestamp"))
			continue; /* going away: no longer an endpoint */
		json_t *st = pod_status(nd->o->cs, jsonx_str(p, "namespace"), jsonx_str(p, "name"));
		sts[np] = st;
		pods[np] = (struct kube_svc_pod){.name = jsonx_str(p, "name"),
						 .labels = json_object_get(json_object_get(obj, "metadata"), "labels"),
						 .spec = json_object_get(obj, "spec"),
						 .ip = jsonx_str(st, "podIP"),
						 .ready = kube_condition_true(st, "Ready")};
		pns[np++] = jsonx_str(p, "namespace");
	}
	json_t *svcs = json_array();
	json_t *s;
	json_array_foreach(json_object_get(list, "items"), i, s) {
		const char *ns = jsonx_str(json_object_get(s, "metadata"), "namespace");
		const char *type = jsonx_str(json_object_get(s, "spec"), "type");
		if (!ns || (type && !strcmp(type, "ExternalName")))
			continue;
		/* the endpoints of a Service are the pods of its namespace */
		struct kube_svc_pod *mine = calloc(np ? np : 1, sizeof(*mine));
		size_t nm = 0;
		for (size_t j = 0; j < np; j++)
			if (!strcmp(pns[j], ns))
				mine[nm++] = pods[j];
		json_array_append_new(svcs, kube_svc_entry(s, ns, mine, nm, false));
		free(mine);
	}
	_cleanup_free_ char *text = json_dumps(svcs, JSON_COMPACT | JSON_SORT_KEYS);
	if (text && nd->svc_text && !strcmp(text, nd->svc_text)) {
		json_decref(svcs);
		goto out;
	}
	if (net_svc_sync(nd->o->root, nd->o->runroot, nd->network, svcs, &e) < 0) {
		fprintf(stderr, "node %s: services: %s\n", nd->name, e ? e->msg : "error");
		berr_free(e);
	} else {
		free(nd->svc_text);
		nd->svc_text = text;
		text = NULL;
	}
	json_decref(svcs);
out:
	for (size_t j = 0; j < np; j++)
		json_decref(sts[j]);
	free(sts);
	free(pns);
	free(pods);
	json_decref(list);
}
