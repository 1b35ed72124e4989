/* A Kubernetes API client (issue 14): kubeconfig, TLS, requests, watch and
 * API discovery. It knows nothing of containers; `kube apply`, the node
 * agent (kube/node.c) and `kube cluster` use it.
 *
 * kubeconfig in full, as kubectl reads it: $KUBECONFIG (several files
 * joined by ':', merged with kubectl's rules: the first file to set a map
 * key wins, current-context from the first file that has one) else
 * ~/.kube/config; clusters (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name, proxy-url), users
 * (client-certificate[-data], client-key[-data], token, tokenFile,
 * username/password, exec credential plugins of
 * client.authentication.k8s.io/v1 and v1beta1, with their cache until
 * expirationTimestamp), contexts (cluster, user, namespace). Relative file
 * paths are relative to the kubeconfig that names them.
 *
 * A client is safe to use from several threads at once. Connections (and
 * TLS sessions) are reused between calls. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct kube_client;

struct kube_client_opts {
	const char *kubeconfig;  /* --kubeconfig FILE (NULL: $KUBECONFIG, else ~/.kube/config) */
	const char *context;     /* --context (NULL: current-context) */
	const char *cluster;     /* --cluster, --user overrides (NULL: the context's) */
	const char *user;
	const char *server;      /* --server (NULL: the cluster's) */
	const char *token;       /* --token (NULL: the user's) */
	const char *namespace_;  /* -n (NULL: the context's, else "default") */
	bool insecure;           /* --insecure-skip-tls-verify */
	int timeout_ms;          /* per request, 0: 30 s (watches are not limited by it) */
	volatile int *stop;      /* when not NULL and set (by a signal handler): a request in flight
				  * ends within about a second and none starts, with an error
				  * "SERVER: stopped" (NULL: requests run to their end) */
};

/* Read the kubeconfig and set up credentials. Errors name the file and
 * the entry: "~/.kube/config: context \"x\" not found", "kubeconfig
 * /tmp/k: user \"u\": client-key-data: not base64". No request is made. */
int kube_client_open(const struct kube_client_opts *o, struct kube_client **ret, struct berr **err);
void kube_client_free(struct kube_client *c);
/* The namespace requests default to (-n, the context's, else "default"). */
const char *kube_client_namespace(const struct kube_client *c);
/* The server URL ("https://127.0.0.1:6443") and the context name ("" without). */
const char *kube_client_server(const struct kube_client *c);
const char *kube_client_context(const struct kube_client *c);
/* PEM of the cluster's CA (certificate-authority[-data]) or NULL. */
const char *kube_client_ca_pem(const struct kube_client *c);

struct kube_resp {
	long status;   /* HTTP status (0: no answer) */
	char *body;    /* the body, NUL-terminated (malloc'd; may be "") */
	size_t len;
	json_t *json;  /* the body parsed when it is JSON, else NULL */
};
void kube_resp_release(struct kube_resp *r);

/* One request. path is "/api/v1/namespaces/default/pods?limit=5" (query
 * included, already escaped); body may be NULL; content_type NULL means
 * application/json when there is a body. Returns 0 when an answer came,
 * whatever its status (see kube_status_error); -1 when none did, with an
 * error naming the server and the cause: "https://127.0.0.1:6443: connection
 * refused", "...: certificate verify failed (wrong CA?)", "...: exec plugin
 * 'aws' failed: ...". */
int kube_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
		 const char *body, size_t len, struct kube_resp *ret, struct berr **err);

/* The error of a non-2xx answer, from its metav1.Status: the server's
 * message, and for 422 each cause as "field: message"; prefix is the
 * object ("Deployment default/web"). Code: BERR_NOT_FOUND for 404,
 * BERR_CONFLICT for 409, BERR_INVALID for 400/422, else BERR_GENERIC;
 * 401 reads "Unauthorized (the credentials were refused)", 403 the RBAC
 * message. Returns -1. */
int kube_status_error(const struct kube_resp *r, const char *prefix, struct berr **err);

/* JSON conveniences: 2xx -> 0 and *ret the parsed body (ret may be NULL);
 * otherwise kube_status_error (prefix NULL: "METHOD PATH"). */
int kube_get(struct kube_client *c, const char *path, json_t **ret, struct berr **err);
int kube_post(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err);
int kube_put(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err);
/* content_type: application/merge-patch+json, application/strategic-merge-patch+json,
 * application/json-patch+json or application/apply-patch+yaml (JSON is YAML). */
int kube_patch(struct kube_client *c, const char *path, const char *content_type, json_t *body, json_t **ret,
	       struct berr **err);
/* body: DeleteOptions or NULL. */
int kube_delete(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err);

/* Watch: GET path (which must carry watch=1 or watch=true and, usually,
 * resourceVersion=RV) and call cb for each event with its type (ADDED,
 * MODIFIED, DELETED, BOOKMARK, ERROR) and object. Returns 0 when the
 * server ends the stream or cb returns 1; -1 on a transport error or a
 * non-2xx answer; cb returning -1 stops with -1 (cb sets err). The
 * caller lists again after an ERROR event with code 410 (Gone).
 * stop, when not NULL, is polled at least every 200 ms; nonzero ends the
 * watch with 0. */
typedef int (*kube_watch_cb)(void *ud, const char *type, json_t *object, struct berr **err);
int kube_watch(struct kube_client *c, const char *path, kube_watch_cb cb, void *ud, volatile int *stop,
	       struct berr **err);

/* ---- discovery ---- */
struct kube_resource {
	char group[128];     /* "" for the core group */
	char version[32];    /* "v1" */
	char kind[128];      /* "Deployment" */
	char resource[128];  /* "deployments" */
	bool namespaced;
};
/* apiVersion ("apps/v1", "v1") and kind -> the resource, from the
 * server's discovery documents (/api, /apis and each group-version's
 * resource list, fetched once per client and cached in it). BERR_NOT_FOUND:
 * `no matches for kind "Deploymnt" in version "apps/v1"` (kubectl's words). */
int kube_discover(struct kube_client *c, const char *api_version, const char *kind, struct kube_resource *ret,
		  struct berr **err);
/* What a user types (kubectl's names: "deploy", "pods", "deployments.apps",
 * "svc") -> the resource, from discovery (short names, singular names,
 * kinds). BERR_NOT_FOUND: `the server doesn't have a resource type "x"`. */
int kube_discover_name(struct kube_client *c, const char *word, struct kube_resource *ret, struct berr **err);
/* "/apis/apps/v1/namespaces/NS/deployments[/NAME]" ("/api/v1/..." for the core
 * group; no namespace part for cluster-scoped resources or ns NULL;
 * name NULL: the collection). Names are escaped. malloc'd. */
char *kube_resource_path(const struct kube_resource *r, const char *ns, const char *name);

/* The server's /version gitVersion ("v1.36.3"), fetched once. */
int kube_server_version(struct kube_client *c, char *buf, size_t n, struct berr **err);

/* ---- additions ---- */
/* fn gets the text of each Warning header the server sends (a deprecated
 * API version, an unknown field with fieldValidation=Warn), as kubectl
 * prints them ("Warning: ..."). Called from the requesting thread; set it
 * before the client is shared. */
void kube_client_set_warning_handler(struct kube_client *c, void (*fn)(void *ud, const char *msg), void *ud);
/* Forget the discovery cache (kube_discover refreshes it on a miss anyway;
 * this is for a caller that knows the server's types just changed). */
void kube_discovery_reset(struct kube_client *c);
/* Percent-encode s as one path segment or query value (RFC 3986's
 * unreserved characters kept): names, namespaces, label selectors. malloc'd. */
char *kube_escape_segment(const char *s);
