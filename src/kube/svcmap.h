/* A Service object and the pods that may back it -> the entry net/svc.h's
 * net_svc_sync takes (ports, endpoints with per-pod target ports, the
 * hostnames of a headless Service's StatefulSet pods). kube play's
 * reconciler and the node agent both feed net/svc.c through it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kube_svc_pod {
	const char *name;
	const json_t *labels;
	const json_t *spec;  /* PodSpec (named targetPorts, hostname, subdomain) */
	const char *ip;      /* NULL or "": no address yet (left out) */
	bool ready;
};

/* keep_cluster_ip: ask net/svc.c for the object's spec.clusterIP (kube
 * play, whose addresses are net/svc.c's own); false: only "None"
 * (headless) is kept, net/svc.c allocates the rest (the node agent: the
 * cluster's range is the API server's). */
json_t *kube_svc_entry(const json_t *svc, const char *ns, const struct kube_svc_pod *pods, size_t n,
		       bool keep_cluster_ip);

/* The node agent with the cluster's Service range: the API's clusterIP
 * and nodePorts as they are, and the endpoints from the Service's
 * EndpointSlices (slices: discovery.k8s.io/v1 objects of any Services;
 * those labelled kubernetes.io/service-name=NAME in ns are used): every
 * address with its target port per service port, matched by port name and
 * protocol, ready unless conditions.ready is false, and its hostname (a
 * headless Service's StatefulSet pods). */
json_t *kube_svc_entry_slices(const json_t *svc, const char *ns, const json_t *slices);
