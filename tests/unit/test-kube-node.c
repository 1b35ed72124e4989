/* The node agent's pure parts: node names from hostnames, their check,
 * and the Service entries (kube/svcmap.h) the node and kube play give
 * net/svc.c: named target ports per pod, readiness, headless hostnames,
 * the node's own ClusterIP allocation. */
#include "kube/node.h"
#include "kube/svcmap.h"
#include "util/jsonx.h"
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void names(void)
{
	char b[254];
	kube_node_default_name("VM-Host_1", b, sizeof(b));
	CHECK_STR(b, "vm-host-1", "a hostname lowercased, '_' made '-'");
	kube_node_default_name("-x.", b, sizeof(b));
	CHECK_STR(b, "x", "leading and trailing '-' and '.' go");
	kube_node_default_name("___", b, sizeof(b));
	CHECK_STR(b, "node", "nothing left: \"node\"");
	CHECK(kube_node_name_valid("node-1.example"), "a DNS subdomain is a node name");
	CHECK(!kube_node_name_valid("Node"), "uppercase is not");
	CHECK(!kube_node_name_valid("-a"), "a leading '-' is not");
	CHECK(!kube_node_name_valid(""), "empty is not");
	CHECK(!kube_node_name_valid("a/b"), "'/' is not");
}

static void services(void)
{
	json_t *svc = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"type\":\"LoadBalancer\","
				 "\"clusterIP\":\"10.96.4.5\",\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\","
				 "\"port\":80,\"targetPort\":\"http\",\"nodePort\":31080},{\"port\":81,\"targetPort\":8081}]}}",
				 0, NULL);
	json_t *l1 = json_loads("{\"app\":\"web\"}", 0, NULL), *l2 = json_loads("{\"app\":\"db\"}", 0, NULL);
	json_t *s1 = json_loads("{\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]}", 0,
				NULL);
	struct kube_svc_pod pods[] = {
		{.name = "web-1", .labels = l1, .spec = s1, .ip = "10.84.0.2", .ready = true},
		{.name = "web-2", .labels = l1, .spec = s1, .ip = "10.84.0.3", .ready = false},
		{.name = "web-3", .labels = l1, .spec = s1, .ip = NULL, .ready = false},
		{.name = "db-1", .labels = l2, .spec = s1, .ip = "10.84.0.9", .ready = true},
	};
	json_t *e = kube_svc_entry(svc, "default", pods, 4, false);
	CHECK_STR(jsonx_str(e, "clusterIP"), "", "the node lets net/svc.c allocate the address");
	CHECK(json_array_size(json_object_get(e, "endpoints")) == 2, "two endpoints: the pods with an address that match");
	json_t *ep = json_array_get(json_object_get(e, "endpoints"), 0);
	CHECK(json_integer_value(json_array_get(json_object_get(ep, "ports"), 0)) == 8080, "a named targetPort is the pod's port");
	CHECK(json_integer_value(json_array_get(json_object_get(ep, "ports"), 1)) == 8081, "a numeric one stays");
	CHECK(!json_is_true(json_object_get(json_array_get(json_object_get(e, "endpoints"), 1), "ready")),
	      "a pod not Ready is a not-ready endpoint");
	json_t *p0 = json_array_get(json_object_get(e, "ports"), 0);
	CHECK(json_integer_value(json_object_get(p0, "nodePort")) == 31080 && json_is_true(json_object_get(p0, "lbPort")),
	      "a LoadBalancer keeps its nodePort and its port on the host");
	json_decref(e);
	e = kube_svc_entry(svc, "default", pods, 4, true);
	CHECK_STR(jsonx_str(e, "clusterIP"), "10.96.4.5", "kube play keeps the address asked for");
	json_decref(e);
	json_object_set_new(json_object_get(svc, "spec"), "clusterIP", json_string("None"));
	e = kube_svc_entry(svc, "default", pods, 4, false);
	CHECK_STR(jsonx_str(e, "clusterIP"), "None", "headless stays headless on the node");
	json_decref(e);
	json_decref(svc);
	json_decref(l1);
	json_decref(l2);
	json_decref(s1);
}


/* the node with the cluster's range: the API's address and the
 * EndpointSlices' endpoints (other nodes' pods, the apiserver) */
static void slices(void)
{
	json_t *svc = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"type\":\"NodePort\","
				 "\"clusterIP\":\"10.97.4.5\",\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\","
				 "\"port\":80,\"targetPort\":\"http\",\"nodePort\":31080},{\"name\":\"dns\",\"protocol\":\"UDP\","
				 "\"port\":53,\"targetPort\":5353}]}}",
				 0, NULL);
	json_t *sl = json_loads(
		"[{\"metadata\":{\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},"
		"{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}],"
		"\"endpoints\":[{\"addresses\":[\"10.244.1.2\"],\"conditions\":{\"ready\":true},\"targetRef\":{\"name\":\"web-a\"}},"
		"{\"addresses\":[\"10.244.2.2\"],\"hostname\":\"web-1\"},"
		"{\"addresses\":[\"10.244.2.3\"],\"conditions\":{\"ready\":false}}]},"
		"{\"metadata\":{\"namespace\":\"other\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":9},{\"name\":\"dns\",\"port\":9,\"protocol\":\"UDP\"}],"
		"\"endpoints\":[{\"addresses\":[\"10.244.9.9\"]}]},"
		"{\"metadata\":{\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
		"\"addressType\":\"IPv6\",\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":[{\"addresses\":[\"fd00::1\"]}]}]",
		0, NULL);
	json_t *e = kube_svc_entry_slices(svc, "default", sl);
	CHECK_STR(jsonx_str(e, "clusterIP"), "10.97.4.5", "the API's ClusterIP is kept");
	json_t *eps = json_object_get(e, "endpoints");
	CHECK(json_array_size(eps) == 3, "three endpoints: this namespace's IPv4 slice only (%zu)", json_array_size(eps));
	json_t *e0 = json_array_get(eps, 0), *e1 = json_array_get(eps, 1), *e2 = json_array_get(eps, 2);
	CHECK_STR(jsonx_str(e0, "ip"), "10.244.1.2", "an endpoint of another node's podCIDR");
	CHECK(json_integer_value(json_array_get(json_object_get(e0, "ports"), 0)) == 8080 &&
	      json_integer_value(json_array_get(json_object_get(e0, "ports"), 1)) == 5353,
	      "target ports by port name and protocol");
	CHECK_STR(jsonx_str(e0, "pod"), "web-a", "targetRef's name");
	CHECK(json_is_true(json_object_get(e1, "ready")), "conditions.ready unset: ready");
	CHECK_STR(jsonx_str(e1, "hostname"), "web-1", "hostname kept");
	CHECK(!json_is_true(json_object_get(e2, "ready")), "conditions.ready false: not ready");
	CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(e, "ports"), 0), "nodePort")) == 31080,
	      "the API's nodePort is kept");
	json_decref(e);
	json_decref(sl);
	json_decref(svc);
}

int main(void)
{
	names();
	services();
	slices();
	UNIT_END();
}
