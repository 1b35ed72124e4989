/* Other machines joining a `kube cluster` as berth nodes (issue 15): the
 * cluster's side of kube/join.h, as kubeadm init sets it up.
 *
 * At every up (kc_join_prepare, server-side apply, idempotent):
 *   kube-public/cluster-info            ConfigMap: data.kubeconfig = the CA and the server
 *                                       (the controller-manager's bootstrapsigner signs it
 *                                       per token: data["jws-kubeconfig-ID"])
 *   kube-public Role+RoleBinding        berth:bootstrap-signer-clusterinfo: system:anonymous
 *                                       may get that ConfigMap
 *   ClusterRoleBindings to the group    berth:kubelet-bootstrap (system:node-bootstrapper:
 *   KC_JOIN_GROUP                       post and read CSRs), berth:node-autoapprove-bootstrap
 *                                       (...:certificatesigningrequests:nodeclient, which the
 *                                       csrapproving controller checks), berth:get-nodes (a
 *                                       ClusterRole: get nodes, so join can refuse a name in use)
 *   berth:node-autoapprove-certificate-rotation  ...:selfnodeclient for system:nodes
 *   berth:node-routes                   ClusterRole+Binding: system:nodes get, list and watch
 *                                       Nodes (each node's host-gw routes, node-routes.c)
 * Tokens: Secrets kube-system/bootstrap-token-ID of type bootstrap.kubernetes.io/token
 * (usage-bootstrap-authentication and -signing, auth-extra-groups KC_JOIN_GROUP,
 * expiration), which the apiserver's --enable-bootstrap-token-auth accepts and
 * the tokencleaner controller removes once expired. */
#pragma once
#include <jansson.h>
#include "kube/cluster.h"
#include "util/err.h"

/* kubeadm's group for its default node tokens: tokens kubeadm makes work too */
#define KC_JOIN_GROUP "system:bootstrappers:kubeadm:default-node-token"

/* The objects above, as the admin of admin_kubeconfig; server is what
 * joining nodes reach ("https://IP:PORT"), ca_file the cluster's CA. */
int kc_join_prepare(const char *admin_kubeconfig, const char *server, const char *ca_file, struct berr **err);

/* A new bootstrap token of the cluster (ttl_s 0: it never expires):
 * ret_token gets ID.SECRET, ret_join (may be NULL) the command another
 * machine runs: "berth kube node join --server https://IP:PORT --token
 * ID.SECRET --ca-cert-hash sha256:HEX". */
int kube_cluster_token_create(const struct kube_cluster_opts *o, long long ttl_s, const char *description,
			      char ret_token[24], char **ret_join, struct berr **err);
/* The cluster's bootstrap tokens: [{"token", "expires" (RFC 3339 or null),
 * "ttl" (seconds left, null: forever), "usages": [...], "description", "groups"}]. */
int kube_cluster_token_list(const struct kube_cluster_opts *o, json_t **ret, struct berr **err);
/* Delete a token by ID or ID.SECRET. BERR_NOT_FOUND when there is none. */
int kube_cluster_token_delete(const struct kube_cluster_opts *o, const char *token, struct berr **err);
