/* The cluster's Services on the node, programmed by net/svc.c on the
 * pods' network: DNAT from each ClusterIP to its ready endpoints,
 * NodePort and LoadBalancer ports on the node's addresses,
 * NAME.NS.svc.cluster.local (and a headless Service's pods) in the
 * network's DNS, which is the pods' nameserver.
 *
 * With the cluster's Service range known (--service-cidr, or the API's
 * ServiceCIDR "kubernetes"), the addresses are the API's own ClusterIPs
 * and the endpoints come from the EndpointSlices, on any node (or the API
 * server itself for the "kubernetes" Service): as kube-proxy programs
 * them. Without it (a cluster that shows the node neither), the node's own
 * pods are the endpoints, at addresses of net/svc.c's own range. */
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

/* Program svcs (consumed) unless it is what the last sync applied. */
static void apply(struct node *nd, json_t *svcs)
{
	_cleanup_free_ char *text = json_dumps(svcs, JSON_COMPACT | JSON_SORT_KEYS);
	if (text && nd->svc_text && !strcmp(text, nd->svc_text)) {
		json_decref(svcs);
		return;
	}
	struct berr *e = NULL;
	struct net_svc_opts so = {.range = *nd->svc_range ? nd->svc_range : NULL, .remote_endpoints = *nd->svc_range};
	if (net_svc_sync_opts(nd->o->root, nd->o->runroot, nd->network, svcs, &so, &e) < 0) {
		fprintf(stderr, "node %s: services: %s\n", nd->name, e ? e->msg : "error");
		berr_free(e);
	} else {
		free(nd->svc_text);
		nd->svc_text = text;
		text = NULL;
	}
	json_decref(svcs);
}

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
	if (*nd->svc_range) {
		json_t *slices = NULL;
		if (kube_get(nd->kc, "/apis/discovery.k8s.io/v1/endpointslices", &slices, &e) < 0) {
			if (!nd->svc_failing)
				fprintf(stderr, "node %s: listing endpointslices: %s\n", nd->name, e ? e->msg : "error");
			nd->svc_failing = true;
			berr_free(e);
			json_decref(list);
			return;
		}
		nd->svc_failing = false;
		json_t *svcs = json_array();
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(list, "items"), i, s) {
			const char *ns = jsonx_str(json_object_get(s, "metadata"), "namespace");
			const char *type = jsonx_str(json_object_get(s, "spec"), "type");
			const char *cip = jsonx_str(json_object_get(s, "spec"), "clusterIP");
			if (!ns || (type && !strcmp(type, "ExternalName")) || !cip || !*cip)
				continue;
			json_array_append_new(svcs, kube_svc_entry_slices(s, ns, json_object_get(slices, "items")));
		}
		json_decref(slices);
		json_decref(list);
		apply(nd, svcs);
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
	apply(nd, svcs);
	for (size_t j = 0; j < np; j++)
		json_decref(sts[j]);
	free(sts);
	free(pns);
	free(pods);
	json_decref(list);
}
