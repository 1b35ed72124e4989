/* The kubelet API's parts (kube/kubelet-api.h): the server and its
 * connections (kubelet-api.c), TLS and the self-signed certificate
 * (kubelet-api-tls.c), container logs (kubelet-api-logs.c), the SPDY
 * sessions of exec, attach and port-forward (kubelet-api-stream.c), and
 * the pure helpers the unit test drives (kubelet-api-util.c). */
#ifndef BERTH_KUBE_KUBELET_API_INT_H
#define BERTH_KUBE_KUBELET_API_INT_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kube/kubelet-api.h"
#include "runtime/container.h"
#include "util/err.h"
#include "util/strbuf.h"

#define KAPI_MAX_CONNS 512
#define KAPI_HEADER_MAX (1u << 20) /* the kubelet's MaxHeaderBytes */
#define KAPI_IDLE_MS 90000         /* keep-alive idle timeout, as the kubelet's */
#define KAPI_IO_MS 60000           /* a write that makes no progress for this long fails */

struct kapi_authz;

struct kapi {
	struct kubelet_api_conf conf; /* strings owned below */
	char *root, *runroot, *node_name;
	SSL_CTX *ctx;
	struct ctr_store *cs;
	volatile int *stop;
	volatile int quit;          /* tells connection threads to end */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int nconns;
	struct kapi_authz *authz;
	time_t started; /* process_start_time_seconds of /metrics */
};

struct kconn {
	struct kapi *api;
	int fd;
	SSL *ssl;
	bool authed;
	char user[256];
	json_t *groups;     /* the certificate's O's, then system:authenticated */
	struct sbuf rbuf;   /* read, not yet used */
	size_t roff;
	bool closed;        /* the peer went away (or an I/O error) */
};

struct kreq_hdr {
	char *name, *value;
};

struct kreq {
	char method[16];
	char *target;       /* as sent */
	char *path;         /* decoded */
	char *query;        /* raw, after '?' ("" when none) */
	int minor;          /* HTTP/1.minor */
	struct kreq_hdr *hdr;
	size_t nhdr;
	bool keep_alive;
	long long content_length; /* -1: none */
	bool chunked;
};

/* ---- kubelet-api-util.c: pure helpers ---- */

/* Parse a request head (up to and including the blank line) of n bytes.
 * BERR_INVALID on a malformed one. */
int kreq_parse(const char *head, size_t n, struct kreq *ret, struct berr **err);
void kreq_release(struct kreq *r);
/* The header's value (the first), names case-insensitive; NULL when absent. */
const char *kreq_header(const struct kreq *r, const char *name);
/* Every value of the header, comma-separated lists split and trimmed, as
 * Kubernetes' protocol negotiation reads X-Stream-Protocol-Version. */
json_t *kreq_header_list(const struct kreq *r, const char *name);
/* %XX (and '+' as space when form) decoded; -1 on a bad escape. */
int kapi_unescape(const char *s, size_t n, bool form, char **ret);
/* The values of a query parameter, in order (an array of strings, maybe empty). */
json_t *kapi_query_values(const char *query, const char *name);
/* Path segments after the first: "/exec/ns/pod/ctr" -> ["ns","pod","ctr"]. */
json_t *kapi_path_segments(const char *path);

/* The kubelet's authorization attributes (pkg/kubelet/server/auth.go):
 * verb from the method ("" for others), subresources in the order tried. */
const char *kapi_verb(const char *method);
/* Fills subs (at most 2) and returns how many. */
int kapi_subresources(const char *path, const char *subs[2]);

/* PodLogOptions from a /containerLogs query, as the kubelet decodes and
 * validates it. */
struct klog_opts {
	bool follow, previous, timestamps;
	bool has_tail, has_limit, has_since_seconds, has_since_time;
	long long tail, limit, since_seconds;
	struct timespec since_time;
	int stream; /* 0 All (or unset), 1 Stdout, 2 Stderr */
	bool has_stream;
};
/* 0, or -1 with *status 400 (`{"message": "Unable to decode query."}`)
 * or 422 (`{"message": "Invalid request."}`) and the body in msg. */
int klog_opts_parse(const char *query, struct klog_opts *ret, int *status, char *msg, size_t msgn);

/* metav1.Status JSON as the CRI streaming server writes it on the error
 * stream: with internal, an InternalError "Internal error occurred:
 * <internal>"; else code 0 (or < 0) Success; else Failure with reason
 * NonZeroExitCode and cause ExitCode "N" (cmd: the command as Go prints a
 * []string, "[sh -c exit 3]"). */
char *kapi_status_json(int code, const char *cmd, const char *internal);
/* Parse the JSON terminal sizes of a resize stream ({"Width":W,"Height":H}
 * one after another); the complete ones are taken out of buf, the last
 * size found goes to *w, *h. Returns how many were found (-1 on garbage,
 * which the caller drops). */
int kapi_resize_take(struct sbuf *buf, unsigned *w, unsigned *h);
/* Go's time.RFC3339Nano with nine digits, UTC ("2026-01-02T15:04:05.000000001Z"). */
void kapi_time_fixed(const struct timespec *ts, char *buf, size_t n);
/* HTTP reason phrase. */
const char *kapi_reason(int status);
/* Go's fmt %#v of an http.Header, for the upgrade error message. */
void kapi_go_header_repr(const struct kreq *r, struct sbuf *out);

/* ---- kubelet-api-tls.c ---- */

/* The server's TLS context (the certificate files or a self-signed one,
 * the client CA). */
int kapi_tls_ctx(struct kapi *a, struct berr **err);
/* The certificate's user: CN, and the O's. false when there is none or it
 * does not verify against the client CA. */
bool kapi_tls_peer(SSL *ssl, char *user, size_t n, json_t *groups);

/* ---- kubelet-api.c ---- */

/* Wait until fd is ready for events (or the server quits): 1 ready, 0
 * timed out, -1 quitting or an error. */
int kconn_wait(struct kconn *c, short events, int ms);
/* Write it all (TLS); -1 when the peer is gone or makes no progress. */
int kconn_write(struct kconn *c, const void *buf, size_t n);
/* Read what is there now without blocking: >0 bytes, 0 nothing yet, -1
 * closed or an error (c->closed). */
ssize_t kconn_read_nb(struct kconn *c, void *buf, size_t n);
/* A whole response with a body. extra: more header lines ("Name: v\r\n"). */
int kconn_respond(struct kconn *c, const struct kreq *r, int status, const char *ctype, const char *extra,
		  const char *body, size_t len);
/* Text bodies as Go's http.Error (newline added) and go-restful's WriteErrorString (none). */
int kconn_http_error(struct kconn *c, const struct kreq *r, int status, const char *msg, const char *extra);
int kconn_text(struct kconn *c, const struct kreq *r, int status, const char *msg);
/* The node's pod (its pod_list entry's meta) or NULL. */
json_t *kapi_pod_meta(struct kapi *a, const char *ns, const char *name);
/* The container names of the pod's spec (app, init, ephemeral). */
bool kapi_pod_has_container(struct kapi *a, const char *ns, const char *name, json_t *meta, const char *ctr);

/* ---- kubelet-api-logs.c ---- */
void kapi_container_logs(struct kconn *c, const struct kreq *r, const char *ns, const char *pod, const char *ctr);

/* ---- kubelet-api-stream.c ---- */
enum { KX_EXEC, KX_ATTACH };
/* The connection is the session's afterwards (closed when it returns). */
void kapi_exec(struct kconn *c, const struct kreq *r, int kind, const char *ns, const char *pod, const char *uid,
	       const char *ctr);
void kapi_port_forward(struct kconn *c, const struct kreq *r, const char *ns, const char *pod, const char *uid);

#endif
