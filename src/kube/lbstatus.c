/* LoadBalancer Services of a one-machine cluster: their ports are served
 * on the node's addresses (the node agent's net/svc.c host ports), so
 * status.loadBalancer.ingress names those addresses, as a cloud's
 * service controller would name its balancer (k3s' servicelb does the
 * same). Run by the cluster's provisioner component, with its admin
 * credentials: a node may not write Services' status. */
#include "kube/lbstatus.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [{"ip": InternalIP}] of the Ready nodes, sorted by address. */
static json_t *node_ingress(json_t *nodes)
{
	json_t *ips = json_array();
	size_t i, j;
	json_t *n, *x;
	json_array_foreach(json_object_get(nodes, "items"), i, n) {
		bool ready = false;
		json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), j, x)
			if (!strcmp(jsonx_str(x, "type") ? jsonx_str(x, "type") : "", "Ready") &&
			    !strcmp(jsonx_str(x, "status") ? jsonx_str(x, "status") : "", "True"))
				ready = true;
		if (!ready)
			continue;
		json_array_foreach(json_object_get(json_object_get(n, "status"), "addresses"), j, x)
			if (!strcmp(jsonx_str(x, "type") ? jsonx_str(x, "type") : "", "InternalIP") && jsonx_str(x, "address"))
				json_array_append_new(ips, json_pack("{s:s,s:s}", "ip", jsonx_str(x, "address"), "ipMode", "VIP"));
	}
	return ips;
}

void kube_lbstatus_pass(struct kube_client *kc, FILE *log)
{
	json_t *svcs = NULL, *nodes = NULL;
	struct berr *e = NULL;
	if (kube_get(kc, "/api/v1/services", &svcs, &e) < 0 || kube_get(kc, "/api/v1/nodes", &nodes, &e) < 0) {
		berr_free(e);
		json_decref(svcs);
		return;
	}
	_cleanup_json_ json_t *want = node_ingress(nodes);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(svcs, "items"), i, s) {
		json_t *md = json_object_get(s, "metadata");
		const char *type = jsonx_str(json_object_get(s, "spec"), "type");
		const char *ns = jsonx_str(md, "namespace"), *name = jsonx_str(md, "name");
		if (!type || strcmp(type, "LoadBalancer") || !ns || !name)
			continue;
		/* a class of someone else's balancer is not ours to fill */
		if (jsonx_str(json_object_get(s, "spec"), "loadBalancerClass"))
			continue;
		json_t *have = json_object_get(json_object_get(json_object_get(s, "status"), "loadBalancer"), "ingress");
		if (json_equal(have ? have : json_null(), want) || (!have && !json_array_size(want)))
			continue;
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/api/v1/namespaces/%s/services/%s/status", ns, name) < 0)
			continue;
		_cleanup_json_ json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "loadBalancer", "ingress", want);
		if (kube_patch(kc, path, "application/merge-patch+json", patch, NULL, &e) < 0) {
			fprintf(log, "provisioner: service %s/%s: status: %s\n", ns, name, e ? e->msg : "error");
			berr_freep(&e);
		}
	}
	json_decref(svcs);
	json_decref(nodes);
}
