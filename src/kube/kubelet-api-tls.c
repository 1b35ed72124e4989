/* The kubelet API's TLS (kube/kubelet-api-int.h): the serving certificate
 * (the files given, else one made here as the kubelet makes its own), the
 * client CA, and who a client's certificate says it is. */
#include "kube/kubelet-api-int.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* err with OpenSSL's reason for the latest failure after the message. */
__attribute__((format(printf, 2, 3))) static int ssl_fail(struct berr **err, const char *fmt, ...)
{
	char why[256] = "";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*why)
		return berr_setc(err, BERR_INVALID, "%s: %s", msg, why);
	return berr_setc(err, BERR_INVALID, "%s", msg);
}

/* Every client cert gets through the handshake: the kubelet requests one
 * (tls.RequestClientCert) and its authenticator decides, answering 401
 * for a missing or unverified one. OpenSSL keeps the first error for
 * SSL_get_verify_result. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	/* HTTP/1.1 only: the streams are HTTP/1.1 upgrades */
	for (unsigned i = 0; i + 1 <= inlen && i + 1 + in[i] <= inlen; i += 1 + in[i]) {
		if (in[i] == 8 && !memcmp(in + i + 1, "http/1.1", 8)) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* The SAN list of the self-signed certificate, OpenSSL's config form. */
static void sans_of(const struct kapi *a, struct sbuf *out)
{
	sbuf_addf(out, "DNS:%s", a->node_name);
	for (const char *const *p = a->conf.addresses; p && *p; p++) {
		unsigned char tmp[16];
		if (!**p || !strcmp(*p, a->node_name))
			continue;
		if (inet_pton(AF_INET, *p, tmp) == 1 || inet_pton(AF_INET6, *p, tmp) == 1)
			sbuf_addf(out, ",IP:%s", *p);
		else
			sbuf_addf(out, ",DNS:%s", *p);
	}
}

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!e)
		return false;
	bool ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static int pem_of(int (*wr)(BIO *, void *), void *obj, struct sbuf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !wr(b, obj)) {
		BIO_free(b);
		return -1;
	}
	char *p;
	long n = BIO_get_mem_data(b, &p);
	sbuf_add(out, p, (size_t)n);
	BIO_free(b);
	return 0;
}

static int wr_cert(BIO *b, void *x) { return PEM_write_bio_X509(b, x); }
static int wr_key(BIO *b, void *k) { return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL); }

/* A self-signed ECDSA P-256 certificate for the node, a year long, kept
 * in dir and made again when it is about to expire or the names moved. */
static int self_signed(struct kapi *a, const char *dir, struct berr **err)
{
	struct sbuf sans = SBUF_INIT;
	sans_of(a, &sans);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		sbuf_release(&sans);
		return berr_set(err, errno, "kubelet API: %s", dir);
	}
	/* the one made before, if it still fits */
	char *had = NULL;
	size_t hadn;
	if (fs_read_file_at(dfd, "kubelet.sans", 65536, &had, &hadn, NULL) == 0 && !strcmp(had, sbuf_str(&sans))) {
		_cleanup_free_ char *crt = NULL, *key = NULL;
		if (asprintf(&crt, "%s/kubelet.crt", dir) < 0 || asprintf(&key, "%s/kubelet.key", dir) < 0)
			abort();
		FILE *f = fopen(crt, "re");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		time_t soon = time(NULL) + 86400;
		bool fresh = x && X509_cmp_time(X509_get0_notAfter(x), &soon) > 0;
		X509_free(x);
		ERR_clear_error();
		if (fresh && SSL_CTX_use_certificate_chain_file(a->ctx, crt) == 1 &&
		    SSL_CTX_use_PrivateKey_file(a->ctx, key, SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(a->ctx) == 1) {
			free(had);
			sbuf_release(&sans);
			return 0;
		}
		ERR_clear_error();
	}
	free(had);
	int rc = -1;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	struct sbuf crt = SBUF_INIT, key = SBUF_INIT;
	char cn[300];
	snprintf(cn, sizeof(cn), "%s@%lld", a->node_name, (long long)time(NULL));
	if (!pk || !x || !bn || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
					0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, pk) ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
	    !add_ext(x, NID_ext_key_usage, "serverAuth") || !add_ext(x, NID_subject_alt_name, sbuf_str(&sans)) ||
	    !add_ext(x, NID_subject_key_identifier, "hash") || !X509_sign(x, pk, EVP_sha256())) {
		ssl_fail(err, "kubelet API: making a self-signed certificate for %s", a->node_name);
		goto out;
	}
	if (pem_of(wr_cert, x, &crt) < 0 || pem_of(wr_key, pk, &key) < 0) {
		ssl_fail(err, "kubelet API: writing the certificate of %s", a->node_name);
		goto out;
	}
	if (fs_write_atomic_at(dfd, "kubelet.key", key.s, key.len, 0600, false, err) < 0 ||
	    fs_write_atomic_at(dfd, "kubelet.crt", crt.s, crt.len, 0644, false, err) < 0 ||
	    fs_write_atomic_at(dfd, "kubelet.sans", sans.s, sans.len, 0644, false, err) < 0) {
		berr_wrap(err, "kubelet API: %s", dir);
		goto out;
	}
	if (SSL_CTX_use_certificate(a->ctx, x) != 1 || SSL_CTX_use_PrivateKey(a->ctx, pk) != 1) {
		ssl_fail(err, "kubelet API: using the self-signed certificate of %s", a->node_name);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	BN_free(bn);
	sbuf_release(&crt);
	sbuf_release(&key);
	sbuf_release(&sans);
	return rc;
}

int kapi_tls_ctx(struct kapi *a, struct berr **err)
{
	const struct kubelet_api_conf *c = &a->conf;
	if (!c->client_ca_file || !*c->client_ca_file)
		return berr_setc(err, BERR_INVALID,
				 "kubelet API: a client CA file is needed (client certificates are how clients authenticate)");
	if (!c->cert_file != !c->key_file)
		return berr_setc(err, BERR_INVALID, "kubelet API: --tls-cert-file and --tls-private-key-file go together");
	a->ctx = SSL_CTX_new(TLS_server_method());
	if (!a->ctx)
		return ssl_fail(err, "kubelet API: a TLS context");
	SSL_CTX_set_min_proto_version(a->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(a->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(a->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	static const unsigned char sid[] = "berth-kubelet";
	SSL_CTX_set_session_id_context(a->ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_alpn_select_cb(a->ctx, alpn_select, NULL);
	if (c->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(a->ctx, c->cert_file) != 1)
			return ssl_fail(err, "kubelet API: --tls-cert-file %s", c->cert_file);
		if (SSL_CTX_use_PrivateKey_file(a->ctx, c->key_file, SSL_FILETYPE_PEM) != 1) {
			if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
				ERR_clear_error();
				return berr_setc(err, BERR_INVALID,
						 "kubelet API: --tls-private-key-file %s does not match the certificate %s",
						 c->key_file, c->cert_file);
			}
			return ssl_fail(err, "kubelet API: --tls-private-key-file %s", c->key_file);
		}
		if (SSL_CTX_check_private_key(a->ctx) != 1)
			return ssl_fail(err, "kubelet API: --tls-private-key-file %s does not match the certificate",
					c->key_file);
	} else {
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/kube-node/%s", a->runroot, a->node_name);
		if (fs_mkdir_p(dir, 0700, err) < 0)
			return berr_wrap(err, "kubelet API");
		if (self_signed(a, dir, err) < 0)
			return -1;
	}
	struct stat st;
	if (stat(c->client_ca_file, &st) < 0)
		return berr_setc(err, BERR_INVALID, "kubelet API: --client-ca-file %s: %s", c->client_ca_file, strerror(errno));
	if (SSL_CTX_load_verify_locations(a->ctx, c->client_ca_file, NULL) != 1)
		return ssl_fail(err, "kubelet API: --client-ca-file %s", c->client_ca_file);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->client_ca_file);
	if (!names)
		return ssl_fail(err, "kubelet API: --client-ca-file %s: no certificate in it", c->client_ca_file);
	SSL_CTX_set_client_CA_list(a->ctx, names);
	SSL_CTX_set_verify(a->ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any);
	/* verify for TLS client use (extendedKeyUsage clientAuth when present) */
	X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(a->ctx), X509_PURPOSE_SSL_CLIENT);
	return 0;
}

static void utf8_of(const X509_NAME_ENTRY *e, char *buf, size_t n)
{
	unsigned char *u = NULL;
	int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
	if (len < 0) {
		*buf = 0;
		return;
	}
	snprintf(buf, n, "%.*s", len, (const char *)u);
	OPENSSL_free(u);
}

bool kapi_tls_peer(SSL *ssl, char *user, size_t n, json_t *groups)
{
	*user = 0;
	X509 *x = SSL_get0_peer_certificate(ssl);
	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	const X509_NAME *nm = X509_get_subject_name(x);
	for (int i = 0; i < X509_NAME_entry_count(nm); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		char v[512];
		if (nid == NID_commonName) {
			utf8_of(e, user, n); /* the last CN, as Go's pkix.Name */
		} else if (nid == NID_organizationName) {
			utf8_of(e, v, sizeof(v));
			json_array_append_new(groups, json_string(v));
		}
	}
	/* Kubernetes' x509 authenticator: no CN, no user */
	return *user != 0;
}
