/* The certificates of `kube cluster` (libcrypto): a CA, keys, and
 * certificates it signs with the names and usages each component checks.
 *
 * Keys are ECDSA P-256 (Go's crypto/tls, etcd, the apiserver's
 * service-account token signer and libcurl all take them; one is made in
 * ~0.1 ms where RSA-2048 takes ~50 ms). Files are PEM: certificates 0644,
 * private keys 0600 (PKCS#8, "BEGIN PRIVATE KEY"), each written through a
 * temporary file and rename(2). Certificates are X.509 v3 with
 * basicConstraints, keyUsage, extendedKeyUsage, subject and authority key
 * identifiers and subjectAltName, as kubeadm's are; a random 128-bit serial
 * number; notBefore an hour back (clocks of the machines that check it may
 * lag). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct pki_ca;

/* A new self-signed CA (CN=cn), valid for days. */
int pki_ca_new(const char *cn, int days, struct pki_ca **ret, struct berr **err);
/* Read a CA written by pki_ca_save; errors name the file. */
int pki_ca_load(const char *cert_file, const char *key_file, struct pki_ca **ret, struct berr **err);
int pki_ca_save(const struct pki_ca *ca, const char *cert_file, const char *key_file, struct berr **err);
void pki_ca_free(struct pki_ca *ca);

enum {
	PKI_SERVER = 1, /* extendedKeyUsage serverAuth */
	PKI_CLIENT = 2, /* extendedKeyUsage clientAuth */
};

struct pki_spec {
	const char *cn;          /* subject CN */
	const char *const *orgs; /* subject O values, NULL-terminated (NULL: none) */
	const char *const *dns;  /* subjectAltName DNS names, NULL-terminated (NULL: none) */
	const char *const *ips;  /* subjectAltName IP addresses (IPv4 or IPv6 text), NULL-terminated */
	unsigned usage;          /* PKI_SERVER | PKI_CLIENT */
	int days;                /* validity */
};

/* A new key and a certificate for it signed by ca, written to cert_file
 * and key_file. An IP that does not parse is an error naming it. */
int pki_issue(const struct pki_ca *ca, const struct pki_spec *s, const char *cert_file, const char *key_file,
	      struct berr **err);
/* A bare key pair (the service-account token signer): the private key to
 * key_file (0600), its public key ("BEGIN PUBLIC KEY") to pub_file. */
int pki_keypair(const char *key_file, const char *pub_file, struct berr **err);

/* Check that cert_file was signed by the CA of ca_file, is valid now, and
 * serves usage (PKI_SERVER or PKI_CLIENT, 0: any); with name (a DNS name
 * or an IP address), that the certificate is for it. 0 when it is, -1
 * with the verifier's reason. */
int pki_verify(const char *ca_file, const char *cert_file, unsigned usage, const char *name, struct berr **err);
/* Seconds until cert_file expires (negative once it has), -1 on error
 * with *err set and *ret untouched. */
int pki_expires_in(const char *cert_file, long long *ret, struct berr **err);

/* ---- a node's TLS bootstrap (kube/join.h) ---- */
/* The sha256 of a PEM certificate's SubjectPublicKeyInfo (DER) as 64
 * lowercase hex digits: what kubeadm's --discovery-token-ca-cert-hash
 * "sha256:HEX" pins. BERR_INVALID when pem is no certificate. */
int pki_spki_sha256(const char *pem, size_t len, char hex[65], struct berr **err);
/* A new ECDSA P-256 key and a PKCS#10 request for it with s's subject
 * (CN, O) and SANs (s->usage and s->days are not part of a request), both
 * PEM, malloc'd. */
int pki_csr_new(const struct pki_spec *s, char **ret_csr_pem, char **ret_key_pem, struct berr **err);
/* Check a certificate issued for a request: cert_pem (PEM) holds the
 * public key of key_pem, was signed by the CA of ca_pem and is valid now;
 * with cn, that its subject CN is cn. *ret_expires_in: seconds it has left
 * (may be NULL). BERR_INVALID with the reason otherwise. */
int pki_cert_check(const char *ca_pem, const char *cert_pem, const char *key_pem, const char *cn,
		   long long *ret_expires_in, struct berr **err);
