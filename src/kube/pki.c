/* Certificates for kube cluster (pki.h), with libcrypto. */
#include "kube/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "util/cleanup.h"
#include "util/fs.h"

struct pki_ca {
	X509 *cert;
	EVP_PKEY *key;
};

/* The last libcrypto error as text ("" when there is none). */
static const char *ossl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	unsigned long last = e;
	while (e) {
		last = e;
		e = ERR_get_error();
	}
	if (!last) {
		snprintf(buf, n, "libcrypto failed");
		return buf;
	}
	ERR_error_string_n(last, buf, n);
	return buf;
}

static int ossl_fail(struct berr **err, const char *what)
{
	char b[256];
	return berr_set(err, 0, "%s: %s", what, ossl_reason(b, sizeof(b)));
}

static EVP_PKEY *key_new(struct berr **err)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k)
		ossl_fail(err, "making an ECDSA P-256 key");
	return k;
}

/* Write a memory BIO's content to path atomically. */
static int write_bio(BIO *b, const char *path, mode_t mode, struct berr **err)
{
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	if (len < 0)
		return berr_set(err, 0, "writing %s: no data", path);
	_cleanup_free_ char *dir = strdup(path);
	char *slash = strrchr(dir, '/');
	const char *base = path;
	int dfd;
	if (slash) {
		*slash = 0;
		base = slash + 1;
		dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return berr_set(err, errno, "writing %s", path);
	int r = fs_write_atomic_at(dfd, base, data, (size_t)len, mode, false, err);
	close(dfd);
	if (r < 0)
		return berr_wrap(err, "writing %s", path);
	return 0;
}

static int write_key(EVP_PKEY *k, const char *path, struct berr **err)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return ossl_fail(err, path);
	}
	int r = write_bio(b, path, 0600, err);
	BIO_free(b);
	return r;
}

static int write_cert(X509 *x, const char *path, struct berr **err)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !PEM_write_bio_X509(b, x)) {
		BIO_free(b);
		return ossl_fail(err, path);
	}
	int r = write_bio(b, path, 0644, err);
	BIO_free(b);
	return r;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int r = X509_add_ext(x, ex, -1) ? 0 : -1;
	X509_EXTENSION_free(ex);
	return r;
}

static int set_serial(X509 *x)
{
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	rnd[0] &= 0x7f; /* positive */
	rnd[0] |= 0x40; /* and a full 16 bytes long */
	BIGNUM *bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (!bn)
		return -1;
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (!ai)
		return -1;
	int r = X509_set_serialNumber(x, ai) ? 0 : -1;
	ASN1_INTEGER_free(ai);
	return r;
}

/* The SANs as a GENERAL_NAMES extension; -1 with *bad_ip set for an IP
 * that does not parse. */
static int add_sans(X509 *x, const char *const *dns, const char *const *ips, const char **bad_ip)
{
	if ((!dns || !dns[0]) && (!ips || !ips[0]))
		return 0;
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return -1;
	for (size_t i = 0; dns && dns[i]; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (!g || !s || !ASN1_STRING_set(s, dns[i], (int)strlen(dns[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			GENERAL_NAMES_free(gens);
			return -1;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	for (size_t i = 0; ips && ips[i]; i++) {
		ASN1_OCTET_STRING *o = a2i_IPADDRESS(ips[i]);
		if (!o) {
			*bad_ip = ips[i];
			GENERAL_NAMES_free(gens);
			return -1;
		}
		GENERAL_NAME *g = GENERAL_NAME_new();
		if (!g) {
			ASN1_OCTET_STRING_free(o);
			GENERAL_NAMES_free(gens);
			return -1;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		sk_GENERAL_NAME_push(gens, g);
	}
	int r = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
	GENERAL_NAMES_free(gens);
	return r;
}

/* A certificate for key, signed by (issuer, issuer_key) or self-signed
 * when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *const *orgs, const char *const *dns,
		       const char *const *ips, unsigned usage, bool ca, int days, X509 *issuer, EVP_PKEY *issuer_key,
		       struct berr **err)
{
	X509 *x = X509_new();
	if (!x) {
		ossl_fail(err, "making a certificate");
		return NULL;
	}
	X509_NAME *name = X509_get_subject_name(x);
	const char *bad_ip = NULL;
	bool ok = X509_set_version(x, 2) && set_serial(x) == 0 && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
		  X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) && X509_set_pubkey(x, key);
	for (size_t i = 0; ok && orgs && orgs[i]; i++)
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)orgs[i], -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (ok && ca) {
		ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
		     add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign") == 0;
	} else if (ok) {
		char eku[64] = "";
		if (usage & PKI_SERVER)
			strcat(eku, "serverAuth");
		if (usage & PKI_CLIENT)
			strcat(eku, *eku ? ",clientAuth" : "clientAuth");
		ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
		     add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") == 0 &&
		     (!*eku || add_ext(x, issuer, NID_ext_key_usage, eku) == 0);
	}
	ok = ok && add_ext(x, issuer, NID_subject_key_identifier, "hash") == 0;
	if (ok && issuer)
		ok = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") == 0;
	if (ok && add_sans(x, dns, ips, &bad_ip) < 0) {
		ok = false;
		if (bad_ip) {
			X509_free(x);
			berr_setc(err, BERR_INVALID, "certificate %s: %s is not an IP address", cn, bad_ip);
			return NULL;
		}
	}
	ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		char what[300];
		snprintf(what, sizeof(what), "making the certificate %s", cn);
		ossl_fail(err, what);
		return NULL;
	}
	return x;
}

int pki_ca_new(const char *cn, int days, struct pki_ca **ret, struct berr **err)
{
	EVP_PKEY *k = key_new(err);
	if (!k)
		return -1;
	X509 *x = make_cert(k, cn, NULL, NULL, NULL, 0, true, days, NULL, NULL, err);
	if (!x) {
		EVP_PKEY_free(k);
		return -1;
	}
	struct pki_ca *ca = calloc(1, sizeof(*ca));
	ca->cert = x;
	ca->key = k;
	*ret = ca;
	return 0;
}

static X509 *read_cert(const char *path, struct berr **err)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b) {
		berr_set(err, errno, "reading %s", path);
		return NULL;
	}
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!x)
		ossl_fail(err, path);
	return x;
}

int pki_ca_load(const char *cert_file, const char *key_file, struct pki_ca **ret, struct berr **err)
{
	X509 *x = read_cert(cert_file, err);
	if (!x)
		return -1;
	BIO *b = BIO_new_file(key_file, "r");
	if (!b) {
		X509_free(x);
		return berr_set(err, errno, "reading %s", key_file);
	}
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k) {
		X509_free(x);
		return ossl_fail(err, key_file);
	}
	if (X509_check_private_key(x, k) != 1) {
		X509_free(x);
		EVP_PKEY_free(k);
		ERR_clear_error();
		return berr_setc(err, BERR_INVALID, "%s does not hold the key of %s", key_file, cert_file);
	}
	struct pki_ca *ca = calloc(1, sizeof(*ca));
	ca->cert = x;
	ca->key = k;
	*ret = ca;
	return 0;
}

int pki_ca_save(const struct pki_ca *ca, const char *cert_file, const char *key_file, struct berr **err)
{
	if (write_key(ca->key, key_file, err) < 0 || write_cert(ca->cert, cert_file, err) < 0)
		return -1;
	return 0;
}

void pki_ca_free(struct pki_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

int pki_issue(const struct pki_ca *ca, const struct pki_spec *s, const char *cert_file, const char *key_file,
	      struct berr **err)
{
	EVP_PKEY *k = key_new(err);
	if (!k)
		return -1;
	X509 *x = make_cert(k, s->cn, s->orgs, s->dns, s->ips, s->usage, false, s->days, ca->cert, ca->key, err);
	if (!x) {
		EVP_PKEY_free(k);
		return -1;
	}
	int r = write_key(k, key_file, err) < 0 || write_cert(x, cert_file, err) < 0 ? -1 : 0;
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

int pki_keypair(const char *key_file, const char *pub_file, struct berr **err)
{
	EVP_PKEY *k = key_new(err);
	if (!k)
		return -1;
	int r = write_key(k, key_file, err);
	if (r == 0) {
		BIO *b = BIO_new(BIO_s_mem());
		if (!b || !PEM_write_bio_PUBKEY(b, k))
			r = ossl_fail(err, pub_file);
		else
			r = write_bio(b, pub_file, 0644, err);
		BIO_free(b);
	}
	EVP_PKEY_free(k);
	return r;
}

int pki_verify(const char *ca_file, const char *cert_file, unsigned usage, const char *name, struct berr **err)
{
	X509 *ca = read_cert(ca_file, err);
	if (!ca)
		return -1;
	X509 *x = read_cert(cert_file, err);
	if (!x) {
		X509_free(ca);
		return -1;
	}
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = -1;
	if (!st || !ctx || !X509_STORE_add_cert(st, ca) || !X509_STORE_CTX_init(ctx, st, x, NULL)) {
		ossl_fail(err, cert_file);
		goto out;
	}
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	if (usage == PKI_SERVER)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	else if (usage == PKI_CLIENT)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (name) {
		unsigned char tmp[16];
		bool is_ip = inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(vp, name);
		else
			X509_VERIFY_PARAM_set1_host(vp, name, 0);
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		berr_setc(err, BERR_INVALID, "%s: %s", cert_file, X509_verify_cert_error_string(e));
		ERR_clear_error();
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	X509_free(ca);
	return r;
}

int pki_expires_in(const char *cert_file, long long *ret, struct berr **err)
{
	X509 *x = read_cert(cert_file, err);
	if (!x)
		return -1;
	int days = 0, secs = 0;
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
		X509_free(x);
		return ossl_fail(err, cert_file);
	}
	X509_free(x);
	*ret = (long long)days * 86400 + secs;
	return 0;
}

/* ---- a node's TLS bootstrap ---- */

static X509 *cert_from_pem(const char *pem, size_t len, struct berr **err)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!x) {
		ERR_clear_error();
		berr_setc(err, BERR_INVALID, "not a PEM certificate");
	}
	return x;
}

int pki_spki_sha256(const char *pem, size_t len, char hex[65], struct berr **err)
{
	X509 *x = cert_from_pem(pem, len, err);
	if (!x)
		return -1;
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	if (n <= 0)
		return ossl_fail(err, "encoding the certificate's public key");
	unsigned char md[32];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != 32)
		return ossl_fail(err, "sha256");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* PEM text of what fn writes into a memory BIO, malloc'd. */
static char *bio_text(BIO *b)
{
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	if (len < 0)
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s)
		return NULL;
	memcpy(s, data, (size_t)len);
	s[len] = 0;
	return s;
}

int pki_csr_new(const struct pki_spec *s, char **ret_csr_pem, char **ret_key_pem, struct berr **err)
{
	EVP_PKEY *k = key_new(err);
	if (!k)
		return -1;
	X509_REQ *rq = X509_REQ_new();
	BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
	int r = -1;
	const char *bad_ip = NULL;
	if (!rq || !kb || !rb) {
		ossl_fail(err, "making a certificate request");
		goto out;
	}
	X509_NAME *name = X509_REQ_get_subject_name(rq);
	bool ok = X509_REQ_set_version(rq, 0) && X509_REQ_set_pubkey(rq, k);
	for (size_t i = 0; ok && s->orgs && s->orgs[i]; i++)
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)s->orgs[i], -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0);
	if (ok && ((s->dns && s->dns[0]) || (s->ips && s->ips[0]))) {
		/* the SANs as a requested extension: a scratch certificate builds them */
		X509 *tmp = X509_new();
		ok = tmp && add_sans(tmp, s->dns, s->ips, &bad_ip) == 0;
		if (ok) {
			STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
			X509_EXTENSION *ex = X509_get_ext(tmp, X509_get_ext_by_NID(tmp, NID_subject_alt_name, -1));
			ok = exts && ex && sk_X509_EXTENSION_push(exts, ex) && X509_REQ_add_extensions(rq, exts);
			sk_X509_EXTENSION_free(exts); /* ex belongs to tmp */
		}
		X509_free(tmp);
		if (!ok && bad_ip) {
			berr_setc(err, BERR_INVALID, "certificate request %s: %s is not an IP address", s->cn, bad_ip);
			goto out;
		}
	}
	ok = ok && X509_REQ_sign(rq, k, EVP_sha256()) > 0;
	ok = ok && PEM_write_bio_X509_REQ(rb, rq) && PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL);
	if (!ok) {
		ossl_fail(err, "making a certificate request");
		goto out;
	}
	char *csr = bio_text(rb), *key = bio_text(kb);
	if (!csr || !key) {
		free(csr);
		free(key);
		berr_set(err, ENOMEM, "certificate request");
		goto out;
	}
	*ret_csr_pem = csr;
	*ret_key_pem = key;
	r = 0;
out:
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(rq);
	EVP_PKEY_free(k);
	return r;
}

int pki_cert_check(const char *ca_pem, const char *cert_pem, const char *key_pem, const char *cn,
		   long long *ret_expires_in, struct berr **err)
{
	X509 *ca = cert_from_pem(ca_pem, strlen(ca_pem), err);
	if (!ca)
		return berr_wrap(err, "the cluster's CA");
	X509 *x = cert_from_pem(cert_pem, strlen(cert_pem), err);
	if (!x) {
		X509_free(ca);
		return berr_wrap(err, "the issued certificate");
	}
	int r = -1;
	EVP_PKEY *k = NULL;
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	BIO *kb = BIO_new_mem_buf(key_pem, (int)strlen(key_pem));
	if (kb)
		k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	BIO_free(kb);
	if (!k) {
		ERR_clear_error();
		berr_setc(err, BERR_INVALID, "the private key is not PEM");
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		berr_setc(err, BERR_INVALID, "the issued certificate is not for our key");
		goto out;
	}
	if (!st || !ctx || !X509_STORE_add_cert(st, ca) || !X509_STORE_CTX_init(ctx, st, x, NULL)) {
		ossl_fail(err, "checking the issued certificate");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		ERR_clear_error();
		berr_setc(err, BERR_INVALID, "the issued certificate: %s", X509_verify_cert_error_string(e));
		goto out;
	}
	if (cn) {
		char got[256] = "";
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, got, sizeof(got));
		if (strcmp(got, cn)) {
			berr_setc(err, BERR_INVALID, "the issued certificate is for CN \"%s\", not \"%s\"", got, cn);
			goto out;
		}
	}
	if (ret_expires_in) {
		int days = 0, secs = 0;
		if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
			ossl_fail(err, "the issued certificate's notAfter");
			goto out;
		}
		*ret_expires_in = (long long)days * 86400 + secs;
	}
	r = 0;
out:
	EVP_PKEY_free(k);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	X509_free(ca);
	return r;
}
