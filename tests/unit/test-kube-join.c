/* kube/join (the pure parts) and kube/pki's bootstrap helpers: token and
 * pin parsing, the detached JWS of cluster-info checked against a
 * signature made by upstream's bootstrapsigner controller (the vector
 * below was read from a kube-controller-manager v1.36.3's cluster-info),
 * the CA pin against openssl's, and a CSR -> certificate round trip. */
#include "unit.h"
#include "kube/join.h"
#include "kube/pki.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

/* data.kubeconfig and data["jws-kubeconfig-nil2v0"] of that cluster-info;
 * the token was nil2v0.gyeyh4xwf7laqvv1 */
static const char vec_kubeconfig[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"  - name: \"\"\n"
	"    cluster:\n"
	"      certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJiVENDQVJLZ0F3SUJBZ0lRWUtRem83SERNUVZjUDVrZXl4MkhJREFLQmdncWhrak9QUVFEQWpBV01SUXcKRWdZRFZRUUREQXRpWlhKMGFDMXRlQzFqWVRBZUZ3MHlOakV5TURjeE56RTBOREZhRncwek5qRXlNRFF4T0RFMApOREZhTUJZeEZEQVNCZ05WQkFNTUMySmxjblJvTFcxNExXTmhNRmt3RXdZSEtvWkl6ajBDQVFZSUtvWkl6ajBECkFRY0RRZ0FFZU9tY1kzSnZjRS9qSTR1MzJqdml0djErRHB4ZGREbThySlM0dTk2TW55YXZ0bGJlVm1nRTJJZXEKNGUyWkFVYlp5U0M5NnQyakY5TGl4N2hmRTQyZGNLTkNNRUF3RHdZRFZSMFRBUUgvQkFVd0F3RUIvekFPQmdOVgpIUThCQWY4RUJBTUNBcVF3SFFZRFZSME9CQllFRkRvRUphU3d3cUpKL3o0RU1hZVFTNDV2aXlJY01Bb0dDQ3FHClNNNDlCQU1DQTBrQU1FWUNJUUNUOW1VQkd0bG1XelpqSXcvUXZyRXczQnEzb3dKZDBkOTJlR3BZSFYyRmVBSWgKQUo1TkMvbm95clpRbGQ2THRWSzdpUTN5emkyZkFkK0pKd3JWcEJLYWxERlQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
	"      server: https://192.0.2.2:26443\n"
	"contexts: null\n"
	"current-context: \"\"\n"
	"users: null\n"
	"preferences: {}\n";
static const char vec_jws[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6Im5pbDJ2MCJ9..AK9hxil8AzstamhYAAYd-PzgOpobqwed_r253kclQXk";
/* the CA of that kubeconfig, and `openssl x509 -pubkey -noout | openssl
 * pkey -pubin -outform der | sha256sum` of it */
static const char vec_ca[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBbTCCARKgAwIBAgIQYKQzo7HDMQVcP5keyx2HIDAKBggqhkjOPQQDAjAWMRQw\n"
	"EgYDVQQDDAtiZXJ0aC1teC1jYTAeFw0yNjEyMDcxNzE0NDFaFw0zNjEyMDQxODE0\n"
	"NDFaMBYxFDASBgNVBAMMC2JlcnRoLW14LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
	"AQcDQgAEeOmcY3JvcE/jI4u32jvitv1+DpxddDm8rJS4u96MnyavtlbeVmgE2Ieq\n"
	"4e2ZAUbZySC96t2jF9Lix7hfE42dcKNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNV\n"
	"HQ8BAf8EBAMCAqQwHQYDVR0OBBYEFDoEJaSwwqJJ/z4EMaeQS45viyIcMAoGCCqG\n"
	"SM49BAMCA0kAMEYCIQCT9mUBGtlmWzZjIw/QvrEw3Bq3owJd0d92eGpYHV2FeAIh\n"
	"AJ5NC/noyrZQld6LtVK7iQ3yzi2fAd+JJwrVpBKalDFT\n"
	"-----END CERTIFICATE-----\n";
static const char vec_ca_hash[] = "291781474044427715882a01cef6afbcc160891400861b320f07e1d36c693f2b";

static void tokens(void)
{
	char id[7], sec[17];
	struct berr *e = NULL;
	CHECK(kube_join_token_parse("abcdef.0123456789abcdef", id, sec, &e) == 0 && !strcmp(id, "abcdef") &&
		      !strcmp(sec, "0123456789abcdef"),
	      "a token parses into ID and secret");
	const char *bad[] = {"", "abcdef", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef-0123456789abcdef",
			     "abcde.0123456789abcdefg", "abcdef.0123456789abcdef0", NULL};
	for (int i = 0; bad[i]; i++) {
		int r = kube_join_token_parse(bad[i], id, sec, &e);
		CHECK(r < 0 && e && e->code == BERR_INVALID && strstr(e->msg, "--token"), "bad token \"%s\" refused", bad[i]);
		berr_freep(&e);
	}
	char t[24];
	CHECK(kube_join_token_new(t, &e) == 0 && kube_join_token_parse(t, id, sec, NULL) == 0, "a new token is valid (%s)",
	      t);
	char t2[24];
	kube_join_token_new(t2, NULL);
	CHECK(strcmp(t, t2), "two new tokens differ");
	char hex[65];
	CHECK(kube_join_hash_parse("sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789", hex, &e) == 0 &&
		      !strcmp(hex, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"),
	      "a pin parses (lowercased)");
	const char *badh[] = {"abcdef", "sha256:abc", "sha1:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
			      "sha256:gbcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", NULL};
	for (int i = 0; badh[i]; i++) {
		CHECK(kube_join_hash_parse(badh[i], hex, &e) < 0 && e && strstr(e->msg, "--ca-cert-hash"), "bad pin \"%s\" refused",
		      badh[i]);
		berr_freep(&e);
	}
}

static void jws(void)
{
	struct berr *e = NULL;
	int r = kube_join_jws_verify(vec_kubeconfig, vec_jws, "nil2v0", "gyeyh4xwf7laqvv1", &e);
	CHECK(r == 0, "the bootstrapsigner's signature verifies (%s)", e ? e->msg : "");
	berr_freep(&e);
	CHECK(kube_join_jws_verify(vec_kubeconfig, vec_jws, "nil2v0", "gyeyh4xwf7laqvv2", &e) < 0 && e &&
		      strstr(e->msg, "does not verify"),
	      "a wrong secret does not verify");
	berr_freep(&e);
	CHECK(kube_join_jws_verify(vec_kubeconfig, vec_jws, "nil2v1", "gyeyh4xwf7laqvv1", &e) < 0 && e && strstr(e->msg, "kid"),
	      "another token ID is refused by the header");
	berr_freep(&e);
	char *changed = strdup(vec_kubeconfig);
	changed[strlen(changed) - 2] ^= 1;
	CHECK(kube_join_jws_verify(changed, vec_jws, "nil2v0", "gyeyh4xwf7laqvv1", &e) < 0, "changed content does not verify");
	berr_freep(&e);
	free(changed);
	CHECK(kube_join_jws_verify(vec_kubeconfig, "eyJhbGciOiJIUzI1NiJ9.e30.x", "nil2v0", "s", &e) < 0 && e &&
		      strstr(e->msg, "detached"),
	      "an attached JWS is refused");
	berr_freep(&e);
	char *mine = kube_join_jws_sign(vec_kubeconfig, "nil2v0", "gyeyh4xwf7laqvv1");
	CHECK(mine && kube_join_jws_verify(vec_kubeconfig, mine, "nil2v0", "gyeyh4xwf7laqvv1", NULL) == 0,
	      "our own signature verifies");
	/* the signature is over header..payload: same header, same MAC as upstream's */
	CHECK(mine && !strcmp(mine, vec_jws), "and is byte for byte upstream's (%s)", mine ? mine : "");
	free(mine);
}

static void pin_and_csr(void)
{
	struct berr *e = NULL;
	char hex[65];
	CHECK(pki_spki_sha256(vec_ca, strlen(vec_ca), hex, &e) == 0 && !strcmp(hex, vec_ca_hash), "the CA pin is openssl's (%s)",
	      hex);
	berr_freep(&e);
	CHECK(pki_spki_sha256("nope", 4, hex, &e) < 0 && e && e->code == BERR_INVALID, "not a certificate: refused");
	berr_freep(&e);

	struct pki_ca *ca = NULL;
	char dir[] = "/tmp/berth-test-join.XXXXXX";
	if (!mkdtemp(dir) || pki_ca_new("test-ca", 10, &ca, &e) < 0) {
		CHECK(0, "a CA");
		return;
	}
	char caf[256], cak[256];
	snprintf(caf, sizeof(caf), "%s/ca.crt", dir);
	snprintf(cak, sizeof(cak), "%s/ca.key", dir);
	pki_ca_save(ca, caf, cak, NULL);
	const char *orgs[] = {"system:nodes", NULL};
	struct pki_spec s = {.cn = "system:node:n1", .orgs = orgs};
	char *csr = NULL, *key = NULL;
	CHECK(pki_csr_new(&s, &csr, &key, &e) == 0 && strstr(csr, "BEGIN CERTIFICATE REQUEST") && strstr(key, "PRIVATE KEY"),
	      "a CSR and its key");
	/* the request as the controller-manager's signer reads it */
	BIO *b = BIO_new_mem_buf(csr, -1);
	X509_REQ *rq = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	char cn[64] = "", o[64] = "";
	if (rq) {
		X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(rq), NID_commonName, cn, sizeof(cn));
		X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(rq), NID_organizationName, o, sizeof(o));
	}
	EVP_PKEY *pub = rq ? X509_REQ_get0_pubkey(rq) : NULL;
	CHECK(rq && X509_REQ_verify(rq, pub) == 1, "the CSR is self-signed by its key");
	CHECK_STR(cn, "system:node:n1", "its CN");
	CHECK_STR(o, "system:nodes", "its O");
	X509_REQ_free(rq);
	/* a certificate for another key does not pass as ours */
	char crt[256], crk[256];
	snprintf(crt, sizeof(crt), "%s/other.crt", dir);
	snprintf(crk, sizeof(crk), "%s/other.key", dir);
	struct pki_spec os = {.cn = "system:node:n1", .orgs = orgs, .usage = PKI_CLIENT, .days = 1};
	pki_issue(ca, &os, crt, crk, NULL);
	FILE *f = fopen(crt, "r");
	char other[8192] = "", capem[8192] = "";
	size_t n = f ? fread(other, 1, sizeof(other) - 1, f) : 0;
	other[n] = 0;
	if (f)
		fclose(f);
	f = fopen(caf, "r");
	n = f ? fread(capem, 1, sizeof(capem) - 1, f) : 0;
	capem[n] = 0;
	if (f)
		fclose(f);
	CHECK(pki_cert_check(capem, other, key, NULL, NULL, &e) < 0 && e && strstr(e->msg, "not for our key"),
	      "a certificate of another key is refused");
	berr_freep(&e);
	f = fopen(crk, "r");
	char okey[4096] = "";
	n = f ? fread(okey, 1, sizeof(okey) - 1, f) : 0;
	okey[n] = 0;
	if (f)
		fclose(f);
	long long left = 0;
	CHECK(pki_cert_check(capem, other, okey, "system:node:n1", &left, &e) == 0 && left > 80000 && left <= 86400,
	      "its own key passes, about a day left (%lld s)", left);
	berr_freep(&e);
	CHECK(pki_cert_check(capem, other, okey, "system:node:n2", NULL, &e) < 0 && e && strstr(e->msg, "CN"),
	      "another CN is refused");
	berr_freep(&e);
	CHECK(pki_cert_check(vec_ca, other, okey, NULL, NULL, &e) < 0, "another CA is refused");
	berr_freep(&e);
	free(csr);
	free(key);
	pki_ca_free(ca);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0, "removing %s", dir);
}

int main(void)
{
	tokens();
	jws();
	pin_and_csr();
	UNIT_END();
}
