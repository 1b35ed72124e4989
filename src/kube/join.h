/* `berth kube node join` (issue 15): a node's TLS bootstrap with a
 * bootstrap token, as the kubelet and kubeadm join do it.
 *
 *  1. Discovery: GET kube-public/cluster-info anonymously and without
 *     verifying the server (there is no CA yet). Its data.kubeconfig holds
 *     the cluster's CA; the controller-manager's bootstrapsigner adds
 *     data["jws-kubeconfig-ID"], a detached JWS (HS256, key: the token's
 *     secret, kid: its ID) over that kubeconfig. The signature proves the
 *     ConfigMap came from a server that knows the token; the CA must then
 *     hash (sha256 of its SubjectPublicKeyInfo) to --ca-cert-hash.
 *  2. With that CA and the token as bearer (the apiserver's
 *     --enable-bootstrap-token-auth: user system:bootstrap:ID, groups
 *     system:bootstrappers and the Secret's auth-extra-groups): refuse a
 *     name that a Ready Node has, then post a CertificateSigningRequest
 *     (signerName kubernetes.io/kube-apiserver-client-kubelet, CN
 *     system:node:NAME, O system:nodes, usages digital signature + client
 *     auth for an ECDSA key), which the controller-manager's csrapproving
 *     controller approves (the bootstrappers' RBAC permits nodeclient) and
 *     its csrsigning controller signs with the cluster CA.
 *  3. The certificate, checked against the CA and our key, goes into
 *     $ROOT/kube-node/NAME/kubeconfig (0600, credentials inline), the
 *     node's kubeconfig from then on: a join run again finds it and skips
 *     the bootstrap while its certificate is valid.
 * Nothing is written to the store before step 3; the discovery kubeconfigs
 * live in a private temporary directory of the run root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct kube_join_opts {
	const char *root, *runroot;
	const char *server;   /* https://HOST:PORT */
	const char *token;    /* ID.SECRET */
	const char *ca_hash;  /* sha256:HEX */
	const char *name;     /* the Node's name (valid) */
	int timeout_ms;       /* waiting for the signature and the certificate (0: 60 s) */
	void (*progress)(void *ud, const char *line);
	void *ud;
};

/* Bootstrap the node's credentials (or find them from an earlier join of
 * the same server); ret_kubeconfig gets the kubeconfig's path. Errors say
 * which step failed and why (an unreachable server, a token the cluster
 * does not know, a CA that is not the pinned one, a name in use). */
int kube_node_join(const struct kube_join_opts *o, char *ret_kubeconfig, size_t n, struct berr **err);

/* The node's kubeconfig path of a joined node ($ROOT/kube-node/NAME/kubeconfig). */
int kube_join_kubeconfig_path(const char *root, const char *name, char *buf, size_t n, struct berr **err);

/* ---- pure parts (tests/unit/test-kube-join.c) ---- */
/* A bootstrap token "[a-z0-9]{6}.[a-z0-9]{16}". BERR_INVALID otherwise. */
int kube_join_token_parse(const char *s, char id[7], char secret[17], struct berr **err);
/* "sha256:" and 64 hex digits (any case) -> lowercase hex. */
int kube_join_hash_parse(const char *s, char hex[65], struct berr **err);
/* Verify a detached JWS (RFC 7515 appendix F: "HEADER..SIGNATURE") of
 * content: HS256 with key secret, header kid = id. BERR_INVALID when it
 * does not verify. */
int kube_join_jws_verify(const char *content, const char *jws, const char *id, const char *secret,
			 struct berr **err);
/* The same signature made (for tests and the token's own check). malloc'd. */
char *kube_join_jws_sign(const char *content, const char *id, const char *secret);
/* A random token ID.SECRET from [a-z0-9] (RAND_bytes). */
int kube_join_token_new(char buf[24], struct berr **err);
