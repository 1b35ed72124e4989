/* kube/pki: a CA, certificates with SANs and usages checked by libcrypto's
 * verifier, PEM files with their modes, the service-account key pair, and
 * bad input. */
#include "unit.h"
#include "kube/pki.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static char dir[] = "/tmp/berth-test-pki.XXXXXX";

static const char *p(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static X509 *load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static char *subject(X509 *x)
{
	static char b[512];
	X509_NAME_oneline(X509_get_subject_name(x), b, sizeof(b));
	return b;
}

static bool has_text(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	struct berr *e = NULL;
	struct pki_ca *ca = NULL;
	CHECK(pki_ca_new("berth-ca", 3650, &ca, &e) == 0, "a new CA");
	CHECK(pki_ca_save(ca, p("ca.crt"), p("ca.key"), &e) == 0, "CA saved");
	CHECK(mode_of(p("ca.key")) == 0600, "CA key is 0600");
	CHECK(mode_of(p("ca.crt")) == 0644, "CA cert is 0644");
	CHECK(has_text(p("ca.key"), "-----BEGIN PRIVATE KEY-----"), "key is PKCS#8 PEM");
	X509 *cax = load(p("ca.crt"));
	CHECK(cax && X509_check_ca(cax) >= 1, "the CA certificate is a CA");
	CHECK(cax && X509_check_issued(cax, cax) == X509_V_OK, "... self-signed");
	CHECK_STR(cax ? subject(cax) : NULL, "/CN=berth-ca", "... CN");
	X509_free(cax);

	/* a serving certificate with SANs */
	const char *dns[] = {"localhost", "kubernetes", "kubernetes.default.svc.cluster.local", NULL};
	const char *ips[] = {"127.0.0.1", "10.112.0.1", "::1", NULL};
	struct pki_spec srv = {.cn = "kube-apiserver", .dns = dns, .ips = ips, .usage = PKI_SERVER, .days = 365};
	CHECK(pki_issue(ca, &srv, p("apiserver.crt"), p("apiserver.key"), &e) == 0, "issue a serving cert");
	CHECK(mode_of(p("apiserver.key")) == 0600, "its key is 0600");
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_SERVER, "kubernetes.default.svc.cluster.local", &e) == 0,
	      "verifies for a DNS SAN");
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_SERVER, "10.112.0.1", &e) == 0, "... an IP SAN");
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_SERVER, "::1", &e) == 0, "... an IPv6 SAN");
	berr_freep(&e);
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_SERVER, "example.com", &e) < 0, "not for another name");
	CHECK(e && strstr(e->msg, "mismatch"), "... hostname mismatch: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_SERVER, "10.112.0.2", &e) < 0, "not for another IP");
	berr_freep(&e);
	CHECK(pki_verify(p("ca.crt"), p("apiserver.crt"), PKI_CLIENT, NULL, &e) < 0,
	      "a serving cert is no client cert");
	berr_freep(&e);

	/* a client certificate with organizations (Kubernetes groups) */
	const char *orgs[] = {"system:nodes", NULL};
	struct pki_spec cl = {.cn = "system:node:host1", .orgs = orgs, .usage = PKI_CLIENT, .days = 365};
	CHECK(pki_issue(ca, &cl, p("node.crt"), p("node.key"), &e) == 0, "issue a client cert");
	CHECK(pki_verify(p("ca.crt"), p("node.crt"), PKI_CLIENT, NULL, &e) == 0, "verifies as a client");
	CHECK(pki_verify(p("ca.crt"), p("node.crt"), PKI_SERVER, NULL, &e) < 0, "... not as a server");
	berr_freep(&e);
	X509 *nx = load(p("node.crt"));
	CHECK_STR(nx ? subject(nx) : NULL, "/O=system:nodes/CN=system:node:host1", "subject O then CN");
	CHECK(nx && X509_check_ca(nx) == 0, "a leaf is no CA");
	CHECK(nx && (X509_get_key_usage(nx) & KU_DIGITAL_SIGNATURE), "keyUsage digitalSignature");
	uint32_t xku = nx ? X509_get_extended_key_usage(nx) : 0;
	CHECK((xku & XKU_SSL_CLIENT) && !(xku & XKU_SSL_SERVER), "extendedKeyUsage clientAuth only");
	CHECK(nx && X509_get0_authority_key_id(nx) != NULL, "authorityKeyIdentifier");
	const ASN1_INTEGER *sn = nx ? X509_get0_serialNumber(nx) : NULL;
	CHECK(sn && sn->length == 16, "a 128-bit serial number");
	X509_free(nx);

	/* two groups, both usages */
	const char *two[] = {"system:masters", "kubeadm:cluster-admins", NULL};
	struct pki_spec both = {.cn = "kubernetes-admin", .orgs = two, .usage = PKI_CLIENT | PKI_SERVER, .days = 1};
	CHECK(pki_issue(ca, &both, p("both.crt"), p("both.key"), &e) == 0, "both usages");
	CHECK(pki_verify(p("ca.crt"), p("both.crt"), PKI_CLIENT, NULL, &e) == 0 &&
		      pki_verify(p("ca.crt"), p("both.crt"), PKI_SERVER, NULL, &e) == 0,
	      "... verifies as client and server");
	long long left = 0;
	CHECK(pki_expires_in(p("both.crt"), &left, &e) == 0 && left > 86000 && left <= 86400,
	      "expires in a day (%lld s)", left);

	/* another CA does not verify it */
	struct pki_ca *other = NULL;
	CHECK(pki_ca_new("other", 10, &other, &e) == 0 && pki_ca_save(other, p("o.crt"), p("o.key"), &e) == 0,
	      "a second CA");
	CHECK(pki_verify(p("o.crt"), p("node.crt"), 0, NULL, &e) < 0, "a cert of another CA does not verify");
	CHECK(e && strstr(e->msg, "issuer"), "... unable to get local issuer: %s", e ? e->msg : "");
	berr_freep(&e);

	/* load back */
	struct pki_ca *again = NULL;
	CHECK(pki_ca_load(p("ca.crt"), p("ca.key"), &again, &e) == 0, "CA loaded back");
	struct pki_spec x2 = {.cn = "x", .usage = PKI_CLIENT, .days = 1};
	CHECK(again && pki_issue(again, &x2, p("x.crt"), p("x.key"), &e) == 0 &&
		      pki_verify(p("ca.crt"), p("x.crt"), PKI_CLIENT, NULL, &e) == 0,
	      "the loaded CA signs certs the saved one verifies");
	pki_ca_free(again);
	again = NULL;
	CHECK(pki_ca_load(p("ca.crt"), p("o.key"), &again, &e) < 0, "a CA with another key is refused");
	CHECK(e && strstr(e->msg, "does not hold the key"), "... %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(pki_ca_load(p("nosuch.crt"), p("ca.key"), &again, &e) < 0 && e && strstr(e->msg, "nosuch.crt"),
	      "a missing file is named: %s", e ? e->msg : "");
	berr_freep(&e);

	/* bad SAN */
	const char *bad[] = {"10.0.0.300", NULL};
	struct pki_spec bs = {.cn = "bad", .ips = bad, .usage = PKI_SERVER, .days = 1};
	CHECK(pki_issue(ca, &bs, p("bad.crt"), p("bad.key"), &e) < 0, "a bad IP is refused");
	CHECK(e && strstr(e->msg, "10.0.0.300"), "... named: %s", e ? e->msg : "");
	CHECK(access(p("bad.key"), F_OK) < 0 && access(p("bad.crt"), F_OK) < 0, "... and nothing is written");
	berr_freep(&e);

	/* the service-account key pair */
	CHECK(pki_keypair(p("sa.key"), p("sa.pub"), &e) == 0, "a key pair");
	CHECK(mode_of(p("sa.key")) == 0600 && mode_of(p("sa.pub")) == 0644, "... modes 0600 and 0644");
	CHECK(has_text(p("sa.pub"), "-----BEGIN PUBLIC KEY-----"), "... public key PEM");
	FILE *f = fopen(p("sa.pub"), "r");
	EVP_PKEY *pub = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	CHECK(pub && EVP_PKEY_is_a(pub, "EC") && EVP_PKEY_get_bits(pub) == 256, "... ECDSA P-256");
	EVP_PKEY_free(pub);

	pki_ca_free(ca);
	pki_ca_free(other);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_END();
}
