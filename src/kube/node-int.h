/* Private to the node agent (node.c, node-pod.c, node-info.c). */
#pragma once
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "kube/client.h"
#include "kube/node.h"
#include "util/err.h"

struct node {
	const struct kube_node_opts *o;
	char name[254];
	char ip[64];
	char network[300];     /* the pods' berth network */
	char gateway[64];      /* its gateway (the pods' DNS server) */
	char subnet[64];       /* = the Node's podCIDR */
	char svc_range[64];    /* the cluster's Service range ("": unknown, node-local addresses) */
	char poddir[PATH_MAX]; /* $ROOT/kube-node/NAME/pods */
	char dir[PATH_MAX];    /* $ROOT/kube-node/NAME */
	struct kube_client *kc;
	json_t *desired;       /* uid -> Pod, as the watch last sent it */
	bool synced;           /* the first list arrived: desired is complete */
	json_t *work;          /* "PID" -> {"uid", "op": "create"|"sync"|"remove"} */
	json_t *busy;          /* uid -> "PID" (a worker runs for the pod) */
	json_t *posted;        /* uid -> the status last posted (text) */
	json_t *retry;         /* uid -> {"at": ms, "delay": ms, "waiting": {reason, message}} */
	json_t *deleted;       /* uid -> true: the API object's DELETE was sent */
	int res_rd, res_wr;    /* workers' results, one JSON line each */
	long long svc_at;      /* the last Services sync (ms) */
	bool svc_failing;
	char *svc_text;        /* what it applied */
	bool pods_changed;     /* a pass posted a changed status: sync the Services now */
};

/* node-info.c: what the Node reports about this machine */
void node_ip_default(char *buf, size_t n);
json_t *node_status_json(const struct node *nd, bool ready);
void node_now(char *buf, size_t n, bool micro);
long long node_ms(void);

/* node-kapi.c: the kubelet API child's body (does not return) */
void node_kubelet_api_main(struct node *nd) __attribute__((noreturn));

/* node-svc.c: the API's Services with the node's pods as endpoints on
 * the pods' network (at most once a second unless force) */
void node_services_sync(struct node *nd, bool force);

/* node-pod.c */
/* One reconcile pass over desired and running pods: start workers, post
 * statuses, delete finished API objects. ret_busy: something is in progress
 * (poll again soon). */
void node_pods_pass(struct node *nd, bool *ret_busy);
/* A worker ended (its result line was read, or it exited). */
void node_worker_done(struct node *nd, pid_t pid, int status);
void node_result_line(struct node *nd, const char *line);

/* node-routes.c: the routes child's body (host-gw routes to the other
 * Ready nodes' podCIDRs; does not return; ends when *stop is set) */
void node_routes_main(struct node *nd, volatile int *stop) __attribute__((noreturn));
