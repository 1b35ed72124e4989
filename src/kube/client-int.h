/* Inside the API client: the kubeconfig resolved for one client
 * (kubeconfig.c), shared with client.c and the unit tests. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "kube/client.h"
#include "util/err.h"

/* What the chosen context, cluster and user say, with the command-line
 * overrides applied, file paths resolved against the kubeconfig that names
 * them and file contents read (certificates, keys, the CA). */
struct kube_config {
	char *files;           /* the kubeconfig files read, ':'-joined ("" in a pod) */
	char *context;         /* "" without one */
	char *cluster_name, *user_name;
	char *namespace_;
	char *server;          /* without a trailing '/' */
	char *ca_pem;          /* NULL: the system's CAs */
	size_t ca_len;
	bool insecure;
	bool no_compression;
	char *tls_server_name; /* NULL: the server's host */
	char *proxy_url;       /* NULL: $https_proxy & co, as libcurl reads them */
	char *cert_pem, *key_pem;
	size_t cert_len, key_len;
	char *token;           /* bearer token (token, --token, an oidc id-token) */
	char *token_file;      /* re-read every minute (tokenFile, a pod's token) */
	char *username, *password;
	json_t *exec;          /* the user's exec object, command resolved; NULL: none */
	char *imp_user, *imp_uid;
	json_t *imp_groups;    /* array of strings or NULL */
	json_t *imp_extra;     /* {"key": ["v"...]} or NULL */
	char *where;           /* "kubeconfig FILE: user \"u\"", for errors found later */
};

/* Resolve the kubeconfig for opts (see client.h for the rules). env_kubeconfig
 * and home stand for $KUBECONFIG and $HOME (tests pass their own; NULL:
 * none). Errors name the file and the entry. */
int kube_config_load(const struct kube_client_opts *o, const char *env_kubeconfig, const char *home,
		     struct kube_config *ret, struct berr **err);
void kube_config_release(struct kube_config *c);

/* Strict standard base64 (padding required, newlines and spaces skipped):
 * malloc'd bytes, NUL-terminated, or NULL when s is not base64. */
char *kube_base64_decode(const char *s, size_t *ret_len);

/* "Kind.group"-style helpers of the discovery cache, for tests: parse
 * "apps/v1" into group and version; -1 when malformed. */
int kube_split_api_version(const char *api_version, char *group, size_t gn, char *version, size_t vn);


/* The text kube_status_error gives for an answer, without the BERR code
 * (tests). malloc'd. */
char *kube_status_text(const struct kube_resp *r, const char *prefix, int *ret_code);
