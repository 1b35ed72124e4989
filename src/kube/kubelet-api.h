/* The kubelet API (issue 14): what a kube-apiserver (and kubectl through
 * it) asks of a node on port 10250, served over HTTPS for the pods a berth
 * store runs for the node (runtime/pod.h; the node agent keeps them with
 * meta {"node": NAME, "uid", "object": the API's Pod}).
 *
 *   GET /healthz[/ping|/log|/syncloop]   "ok" (?verbose: the checks)
 *   GET /pods                            v1 PodList: meta.object with pod_status()
 *   GET /runningpods/                    the pods with a running sandbox, as the runtime sees them
 *   GET /containerLogs/NS/POD/CTR?follow=&tailLines=&timestamps=&previous=
 *       &sinceSeconds=&sinceTime=&limitBytes=&stream=   the log as text
 *   GET|POST /exec/NS/POD[/UID]/CTR?command=..&input=1&output=1&error=1&tty=1
 *   GET|POST /attach/NS/POD[/UID]/CTR?input=1&output=1&error=1&tty=1
 *   GET|POST /portForward/NS/POD[/UID]
 *       upgraded to SPDY/3.1 (kube/spdy.h) with X-Stream-Protocol-Version
 *       v5/v4/v3/v2.channel.k8s.io or channel.k8s.io (exec, attach) and
 *       portforward.k8s.io (streams "port" + "requestID", data and error)
 * Statuses and messages are the kubelet's (and for streams the CRI
 * streaming server's): 404 "pod \"x\" does not exist", 400 "container \"c\"
 * in pod \"p\" is waiting to start: ContainerCreating", the exit status on
 * the error stream as a metav1.Status (NonZeroExitCode, cause ExitCode).
 *
 * Authentication: TLS 1.2+, a client certificate the client CA signed
 * (user = CN, groups = O, plus system:authenticated), else 401
 * "Unauthorized". Authorization, with a client: a SubjectAccessReview per
 * request as the kubelet's webhook authorizer sends it (resource nodes,
 * subresource by path: /stats stats, /metrics metrics, /logs log,
 * /checkpoint checkpoint, /pods and /runningpods pods then proxy, /healthz
 * healthz then proxy, the rest proxy; verb from the method), cached 5 min
 * when allowed and 30 s when denied; 403 "Forbidden (user=..., verb=...,
 * resource=nodes, subresource(s)=[...])". */
#ifndef BERTH_KUBE_KUBELET_API_H
#define BERTH_KUBE_KUBELET_API_H

#include <stdbool.h>

#include "kube/client.h"
#include "util/err.h"

struct kubelet_api_conf {
	const char *root, *runroot;        /* the berth store whose pods it serves */
	const char *listen;                /* "0.0.0.0:10250" ("[::]:10250", ":10250": every address) */
	const char *cert_file, *key_file;  /* serving cert; NULL: a self-signed one made at start
					      for the node's name and addresses, kept under
					      $RUNROOT/kube-node/<name>/ */
	const char *client_ca_file;        /* clients must show a cert this CA signed */
	struct kube_client *client;        /* SubjectAccessReview (authorization.k8s.io/v1) of each
					      request, as the kubelet's webhook authorizer; NULL: any
					      client the CA verified is allowed */
	const char *node_name;
	const char *const *addresses;      /* IPs/names for the self-signed cert's SANs (NULL-terminated) */
	/* optional */
	bool all_pods;                     /* every pod of the store, not only meta "node" == node_name
					      (berth debug kubelet-api, for tests before a node exists) */
	void (*ready)(void *ud, const char *addr); /* called once listening ("127.0.0.1:41234") */
	void *ready_ud;
};

/* Blocks serving until *stop; the node runs it in a thread or a child.
 * Errors (before serving): the listen address, the certificate files, the
 * client CA. Sessions still open when *stop is set are ended (exec'd
 * processes are left to finish, as with a client that went away). */
int kubelet_api_serve(const struct kubelet_api_conf *c, volatile int *stop, struct berr **err);

#endif
