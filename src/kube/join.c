/* A node's TLS bootstrap with a bootstrap token (join.h). */
#include "kube/join.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "compose/yaml.h"
#include "kube/client-int.h"
#include "kube/client.h"
#include "kube/pki.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#define JWS_WAIT_MS 10000   /* for the bootstrapsigner to sign cluster-info for a new token */
#define RENEW_MARGIN 3600   /* seconds: a certificate closer to its end is bootstrapped again */
#define CSR_SIGNER "kubernetes.io/kube-apiserver-client-kubelet"

/* ---- pure parts ---- */

static bool tok_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int kube_join_token_parse(const char *s, char id[7], char secret[17], struct berr **err)
{
	if (!s || strlen(s) != 23 || s[6] != '.' || !tok_chars(s, 6) || !tok_chars(s + 7, 16))
		return berr_setc(err, BERR_INVALID,
				 "invalid --token \"%s\": a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16} "
				 "(berth kube cluster token create makes one)",
				 s ? s : "");
	memcpy(id, s, 6);
	id[6] = 0;
	memcpy(secret, s + 7, 16);
	secret[16] = 0;
	return 0;
}

int kube_join_hash_parse(const char *s, char hex[65], struct berr **err)
{
	bool ok = s && !strncmp(s, "sha256:", 7) && strlen(s + 7) == 64;
	for (size_t i = 0; ok && i < 64; i++)
		ok = isxdigit((unsigned char)s[7 + i]);
	if (!ok)
		return berr_setc(err, BERR_INVALID,
				 "invalid --ca-cert-hash \"%s\": sha256: and the 64 hex digits of the sha256 of the CA's "
				 "SubjectPublicKeyInfo",
				 s ? s : "");
	for (size_t i = 0; i < 64; i++)
		hex[i] = (char)tolower((unsigned char)s[7 + i]);
	hex[64] = 0;
	return 0;
}

/* base64url without padding (RFC 7515 section 2). malloc'd. */
static char *b64url(const unsigned char *d, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		return NULL;
	int l = EVP_EncodeBlock((unsigned char *)s, d, (int)n);
	while (l > 0 && s[l - 1] == '=')
		l--;
	s[l] = 0;
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	return s;
}

/* base64url (padding optional) -> bytes, malloc'd, NUL-terminated; NULL when malformed. */
static unsigned char *b64url_dec(const char *s, size_t n, size_t *ret_len)
{
	if (n > 65536)
		return NULL;
	char *t = malloc(n + 4);
	if (!t)
		return NULL;
	size_t l = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '=')
			break;
		else if (!isalnum((unsigned char)c)) {
			free(t);
			return NULL;
		}
		t[l++] = c;
	}
	if (l % 4 == 1) {
		free(t);
		return NULL;
	}
	while (l % 4)
		t[l++] = '=';
	t[l] = 0;
	size_t dl = 0;
	unsigned char *d = (unsigned char *)kube_base64_decode(t, &dl);
	free(t);
	if (d && ret_len)
		*ret_len = dl;
	return d;
}

static int hs256(const char *key, const char *data, size_t n, unsigned char out[32])
{
	size_t ol = 0;
	unsigned char *r = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, strlen(key), (const unsigned char *)data,
				     n, out, 32, &ol);
	return r && ol == 32 ? 0 : -1;
}

char *kube_join_jws_sign(const char *content, const char *id, const char *secret)
{
	_cleanup_json_ json_t *h = json_pack("{s:s,s:s}", "alg", "HS256", "kid", id);
	_cleanup_free_ char *hs = json_dumps(h, JSON_COMPACT);
	_cleanup_free_ char *h64 = hs ? b64url((const unsigned char *)hs, strlen(hs)) : NULL;
	_cleanup_free_ char *p64 = b64url((const unsigned char *)content, strlen(content));
	if (!h64 || !p64)
		return NULL;
	_cleanup_free_ char *input = NULL;
	if (asprintf(&input, "%s.%s", h64, p64) < 0)
		return NULL;
	unsigned char mac[32];
	if (hs256(secret, input, strlen(input), mac) < 0)
		return NULL;
	_cleanup_free_ char *s64 = b64url(mac, sizeof(mac));
	char *out = NULL;
	if (!s64 || asprintf(&out, "%s..%s", h64, s64) < 0)
		return NULL;
	return out;
}

int kube_join_jws_verify(const char *content, const char *jws, const char *id, const char *secret,
			 struct berr **err)
{
	const char *dd = jws ? strstr(jws, "..") : NULL;
	if (!dd || dd == jws || !dd[2] || strchr(dd + 2, '.'))
		return berr_setc(err, BERR_INVALID, "the signature is not a detached JWS (HEADER..SIGNATURE)");
	size_t hl = 0;
	_cleanup_free_ unsigned char *hdr = b64url_dec(jws, (size_t)(dd - jws), &hl);
	json_t *h = hdr ? json_loadb((const char *)hdr, hl, 0, NULL) : NULL;
	const char *alg = jsonx_str(h, "alg"), *kid = jsonx_str(h, "kid");
	if (!h || !alg || strcmp(alg, "HS256") || !kid || strcmp(kid, id)) {
		int r = berr_setc(err, BERR_INVALID, "the signature's header is not HS256 for token ID %s (alg %s, kid %s)",
				  id, alg ? alg : "-", kid ? kid : "-");
		json_decref(h);
		return r;
	}
	json_decref(h);
	size_t sl = 0;
	_cleanup_free_ unsigned char *sig = b64url_dec(dd + 2, strlen(dd + 2), &sl);
	_cleanup_free_ char *p64 = b64url((const unsigned char *)content, strlen(content));
	struct sbuf in = SBUF_INIT;
	sbuf_add(&in, jws, (size_t)(dd - jws));
	sbuf_addc(&in, '.');
	sbuf_adds(&in, p64 ? p64 : "");
	unsigned char mac[32];
	bool ok = sig && sl == 32 && p64 && hs256(secret, in.s, in.len, mac) == 0 && CRYPTO_memcmp(mac, sig, 32) == 0;
	sbuf_release(&in);
	if (!ok)
		return berr_setc(err, BERR_INVALID, "the signature does not verify with the token's secret");
	return 0;
}

int kube_join_token_new(char buf[24], struct berr **err)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[64];
	size_t k = 0;
	for (int i = 0; i < 23;) {
		if (k == 0 || k >= sizeof(r)) {
			if (RAND_bytes(r, sizeof(r)) != 1)
				return berr_set(err, 0, "no random bytes for a token");
			k = 0;
		}
		unsigned char c = r[k++];
		if (c >= 252) /* 252 = 7 * 36: no bias */
			continue;
		if (i == 6)
			buf[i++] = '.';
		buf[i++] = al[c % 36];
	}
	buf[23] = 0;
	return 0;
}

/* ---- the bootstrap ---- */

static void progress(const struct kube_join_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct kube_join_opts *o, const char *fmt, ...)
{
	if (!o->progress)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->ud, line);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

int kube_join_kubeconfig_path(const char *root, const char *name, char *buf, size_t n, struct berr **err)
{
	if (snprintf(buf, n, "%s/kube-node/%s/kubeconfig", root, name) >= (int)n)
		return berr_setc(err, BERR_INVALID, "the store's path is too long: %s", root);
	return 0;
}

/* A kubeconfig of one cluster, user and context "join" as YAML text. */
static char *kubeconfig_text(const char *server, const char *ca_pem, bool insecure, const char *token,
			     const char *cert_pem, const char *key_pem)
{
	json_t *cl = json_pack("{s:s}", "server", server);
	if (ca_pem) {
		_cleanup_free_ char *d = b64(ca_pem);
		json_object_set_new(cl, "certificate-authority-data", json_string(d ? d : ""));
	}
	if (insecure)
		json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
	json_t *user = json_object();
	if (token)
		json_object_set_new(user, "token", json_string(token));
	if (cert_pem && key_pem) {
		_cleanup_free_ char *c = b64(cert_pem), *k = b64(key_pem);
		json_object_set_new(user, "client-certificate-data", json_string(c ? c : ""));
		json_object_set_new(user, "client-key-data", json_string(k ? k : ""));
	}
	json_t *doc = json_pack("{s:s,s:s,s:[{s:s,s:o}],s:[{s:s,s:o}],s:[{s:s,s:{s:s,s:s}}],s:s,s:{}}", "apiVersion",
				"v1", "kind", "Config", "clusters", "name", "join", "cluster", cl, "users", "name", "join",
				"user", user, "contexts", "name", "join", "context", "cluster", "join", "user", "join",
				"current-context", "join", "preferences");
	struct sbuf b = SBUF_INIT;
	compose_yaml_emit(doc, &b);
	json_decref(doc);
	return sbuf_detach(&b);
}

struct tmpdir {
	char path[PATH_MAX];
	int n;
};

static int tmp_open(struct tmpdir *t, const char *runroot, struct berr **err)
{
	char base[PATH_MAX];
	if (snprintf(base, sizeof(base), "%s/kube-node", runroot) >= (int)sizeof(base) ||
	    snprintf(t->path, sizeof(t->path), "%s/.join-XXXXXX", base) >= (int)sizeof(t->path))
		return berr_setc(err, BERR_INVALID, "the run root's path is too long: %s", runroot);
	if (fs_mkdir_p(base, 0700, err) < 0)
		return -1;
	if (!mkdtemp(t->path))
		return berr_set(err, errno, "making %s", t->path);
	return 0;
}

/* Write text as the next kubeconfig of t; its path into buf. */
static int tmp_kubeconfig(struct tmpdir *t, const char *text, char *buf, size_t n, struct berr **err)
{
	_cleanup_close_ int dfd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", t->path);
	char name[32];
	snprintf(name, sizeof(name), "kubeconfig-%d", t->n++);
	if (fs_write_atomic_at(dfd, name, text, strlen(text), 0600, false, err) < 0)
		return -1;
	if (snprintf(buf, n, "%s/%s", t->path, name) >= (int)n)
		return berr_setc(err, BERR_INVALID, "%s: the path is too long", t->path);
	return 0;
}

static void tmp_close(struct tmpdir *t)
{
	if (!*t->path)
		return;
	char *slash = strrchr(t->path, '/');
	*slash = 0;
	int dfd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fs_rm_rf_at(dfd, slash + 1);
		close(dfd);
		/* $RUNROOT/kube-node itself when that was all (a running node's lock keeps it) */
		rmdir(t->path);
	}
	*t->path = 0;
}

static int client_for(struct tmpdir *t, const char *text, struct kube_client **ret, struct berr **err)
{
	char path[PATH_MAX];
	if (tmp_kubeconfig(t, text, path, sizeof(path), err) < 0)
		return -1;
	struct kube_client_opts co = {.kubeconfig = path, .timeout_ms = 10000};
	return kube_client_open(&co, ret, err);
}

/* The first cluster of a kubeconfig document: its CA (PEM, malloc'd) and server. */
static int kubeconfig_cluster(json_t *doc, char **ret_ca, const char **ret_server, struct berr **err)
{
	json_t *cl = json_object_get(json_array_get(json_object_get(doc, "clusters"), 0), "cluster");
	const char *cad = jsonx_str(cl, "certificate-authority-data");
	if (!cad)
		return berr_setc(err, BERR_INVALID, "no clusters[0].cluster.certificate-authority-data");
	size_t n = 0;
	char *ca = kube_base64_decode(cad, &n);
	if (!ca)
		return berr_setc(err, BERR_INVALID, "certificate-authority-data: not base64");
	*ret_ca = ca;
	if (ret_server)
		*ret_server = jsonx_str(cl, "server");
	return 0;
}

/* An earlier join's kubeconfig for this server, still good: 1; none: 0. */
static int existing(const struct kube_join_opts *o, const char *path, struct berr **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, err) < 0)
		return -1;
	struct cmarks *m = cmarks_new();
	json_t *doc = NULL;
	int r = compose_yaml_parse(buf, len, path, m, &doc, err);
	cmarks_free(m);
	if (r < 0)
		return -1;
	_cleanup_free_ char *ca = NULL;
	const char *server = NULL;
	json_t *user = json_object_get(json_array_get(json_object_get(doc, "users"), 0), "user");
	size_t cl = 0, kl = 0;
	_cleanup_free_ char *cert = kube_base64_decode(jsonx_str(user, "client-certificate-data") ?: "", &cl);
	_cleanup_free_ char *key = kube_base64_decode(jsonx_str(user, "client-key-data") ?: "", &kl);
	if (kubeconfig_cluster(doc, &ca, &server, err) < 0 || !cert || !key) {
		if (!err || !*err)
			berr_setc(err, BERR_INVALID, "no client certificate");
		json_decref(doc);
		return berr_wrap(err, "%s", path);
	}
	if (!server || strcmp(server, o->server)) {
		r = berr_setc(err, BERR_CONFLICT,
			      "node %s of this store joined %s already (%s): remove it first (berth kube node --cleanup "
			      "--name %s)",
			      o->name, server ? server : "?", path, o->name);
		json_decref(doc);
		return r;
	}
	json_decref(doc);
	char cn[300];
	snprintf(cn, sizeof(cn), "system:node:%s", o->name);
	long long left = 0;
	struct berr *e = NULL;
	if (pki_cert_check(ca, cert, key, cn, &left, &e) < 0 || left < RENEW_MARGIN) {
		progress(o, "the credentials of the earlier join are no longer good (%s): joining again",
			 e ? e->msg : "the certificate expires");
		berr_free(e);
		return 0;
	}
	progress(o, "joined before: using %s (its certificate has %lld days left)", path, left / 86400);
	return 1;
}

/* Step 1: cluster-info, its signature and the CA pin. ret_ca: the CA (PEM). */
static int discover(const struct kube_join_opts *o, struct tmpdir *t, const char *id, const char *secret,
		    const char *hash, char **ret_ca, struct berr **err)
{
	_cleanup_free_ char *text = kubeconfig_text(o->server, NULL, true, NULL, NULL, NULL);
	struct kube_client *c = NULL;
	if (client_for(t, text, &c, err) < 0)
		return -1;
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	long long deadline = mono_ms() + (timeout < JWS_WAIT_MS ? timeout : JWS_WAIT_MS);
	char key[64];
	snprintf(key, sizeof(key), "jws-kubeconfig-%s", id);
	int r = -1;
	json_t *cm = NULL;
	for (;;) {
		struct kube_resp resp = {0};
		if (kube_request(c, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", NULL, NULL, 0, &resp,
				 err) < 0) {
			berr_wrap(err, "discovery: reading cluster-info");
			goto out;
		}
		if (resp.status != 200) {
			kube_status_error(&resp, "discovery: kube-public/cluster-info", err);
			if (resp.status == 401 || resp.status == 403)
				berr_wrap(err, "anonymous reading is refused (the cluster must let system:anonymous get "
					       "it, as kube cluster up and kubeadm init do)");
			kube_resp_release(&resp);
			goto out;
		}
		json_decref(cm);
		cm = json_incref(resp.json);
		kube_resp_release(&resp);
		if (jsonx_str(json_object_get(cm, "data"), key) || mono_ms() >= deadline)
			break;
		sleep_ms(250);
	}
	json_t *data = json_object_get(cm, "data");
	const char *kcfg = jsonx_str(data, "kubeconfig"), *jws = jsonx_str(data, key);
	if (!kcfg) {
		berr_setc(err, BERR_INVALID, "discovery: kube-public/cluster-info has no data.kubeconfig");
		goto out;
	}
	if (!jws) {
		berr_setc(err, BERR_INVALID,
			  "discovery: the cluster does not know token ID \"%s\" (cluster-info carries no signature for it "
			  "after %d s): the token is wrong or has expired; make one with 'berth kube cluster token "
			  "create --print-join-command'",
			  id, (timeout < JWS_WAIT_MS ? timeout : JWS_WAIT_MS) / 1000);
		goto out;
	}
	if (kube_join_jws_verify(kcfg, jws, id, secret, err) < 0) {
		berr_wrap(err, "discovery: cluster-info's signature for token ID %s (a wrong token secret?)", id);
		goto out;
	}
	struct cmarks *m = cmarks_new();
	json_t *doc = NULL;
	int pr = compose_yaml_parse(kcfg, strlen(kcfg), "cluster-info", m, &doc, err);
	cmarks_free(m);
	if (pr < 0) {
		berr_wrap(err, "discovery: cluster-info's kubeconfig");
		goto out;
	}
	char *ca = NULL;
	pr = kubeconfig_cluster(doc, &ca, NULL, err);
	json_decref(doc);
	if (pr < 0) {
		berr_wrap(err, "discovery: cluster-info's kubeconfig");
		goto out;
	}
	char got[65];
	if (pki_spki_sha256(ca, strlen(ca), got, err) < 0) {
		free(ca);
		berr_wrap(err, "discovery: cluster-info's CA");
		goto out;
	}
	if (strcmp(got, hash)) {
		free(ca);
		berr_setc(err, BERR_INVALID,
			  "discovery: the cluster's CA has public key hash sha256:%s, not the --ca-cert-hash sha256:%s: "
			  "refusing to trust it",
			  got, hash);
		goto out;
	}
	progress(o, "discovery: cluster-info signed for token ID %s, CA sha256:%.16s... as pinned", id, got);
	*ret_ca = ca;
	r = 0;
out:
	json_decref(cm);
	kube_client_free(c);
	return r;
}

static int token_refused(struct kube_resp *resp, const char *what, struct berr **err)
{
	kube_status_error(resp, what, err);
	if (resp->status == 401)
		berr_wrap(err, "the bootstrap token was refused (it is wrong or has expired)");
	return -1;
}

/* Step 2: a Ready Node of our name is someone else. */
static int name_free(const struct kube_join_opts *o, struct kube_client *c, struct berr **err)
{
	_cleanup_free_ char *esc = kube_escape_segment(o->name);
	_cleanup_free_ char *path = NULL;
	if (!esc || asprintf(&path, "/api/v1/nodes/%s", esc) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	struct kube_resp resp = {0};
	if (kube_request(c, "GET", path, NULL, NULL, 0, &resp, err) < 0)
		return -1;
	int r = 0;
	if (resp.status == 401) {
		r = token_refused(&resp, "reading the Node", err);
	} else if (resp.status == 200) {
		size_t i;
		json_t *cond;
		json_array_foreach(json_object_get(json_object_get(resp.json, "status"), "conditions"), i, cond) {
			if (!strcmp(jsonx_str(cond, "type") ?: "", "Ready") && !strcmp(jsonx_str(cond, "status") ?: "", "True"))
				r = berr_setc(err, BERR_CONFLICT,
					      "a Node named \"%s\" is Ready in the cluster already: give this one another "
					      "--name (or delete that Node)",
					      o->name);
		}
	}
	/* 404: free; 403: the cluster does not let bootstrappers read Nodes (not a check we can make) */
	kube_resp_release(&resp);
	return r;
}

/* Step 2: the CSR, posted and waited for. ret_cert: the certificate (PEM). */
static int request_cert(const struct kube_join_opts *o, struct kube_client *c, const char *csr_pem,
			char **ret_cert, struct berr **err)
{
	_cleanup_free_ char *req = b64(csr_pem);
	_cleanup_json_ json_t *obj = json_pack(
		"{s:s,s:s,s:{s:s},s:{s:s,s:s,s:[s,s]}}", "apiVersion", "certificates.k8s.io/v1", "kind",
		"CertificateSigningRequest", "metadata", "generateName", "node-csr-", "spec", "request", req ? req : "",
		"signerName", CSR_SIGNER, "usages", "digital signature", "client auth");
	_cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT);
	struct kube_resp resp = {0};
	if (kube_request(c, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL, body, strlen(body),
			 &resp, err) < 0)
		return berr_wrap(err, "posting the CertificateSigningRequest");
	if (resp.status != 201) {
		int r = token_refused(&resp, "posting the CertificateSigningRequest", err);
		kube_resp_release(&resp);
		return r;
	}
	char name[256];
	snprintf(name, sizeof(name), "%s", jsonx_str(json_object_get(resp.json, "metadata"), "name") ?: "");
	kube_resp_release(&resp);
	progress(o, "CertificateSigningRequest %s posted (CN system:node:%s, O system:nodes)", name, o->name);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s", name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	long long t0 = mono_ms(), deadline = t0 + timeout;
	bool approved = false;
	for (;;) {
		json_t *csr = NULL;
		if (kube_get(c, path, &csr, err) < 0)
			return berr_wrap(err, "reading CertificateSigningRequest %s", name);
		json_t *st = json_object_get(csr, "status");
		size_t i;
		json_t *cond;
		json_array_foreach(json_object_get(st, "conditions"), i, cond) {
			const char *type = jsonx_str(cond, "type") ?: "";
			if (!strcmp(type, "Denied") || !strcmp(type, "Failed")) {
				int r = berr_setc(err, BERR_GENERIC, "CertificateSigningRequest %s: %s: %s%s%s", name, type,
						  jsonx_str(cond, "reason") ?: "", jsonx_str(cond, "message") ? ": " : "",
						  jsonx_str(cond, "message") ?: "");
				json_decref(csr);
				return r;
			}
			approved |= !strcmp(type, "Approved");
		}
		const char *cert = jsonx_str(st, "certificate");
		if (cert && *cert) {
			size_t n = 0;
			char *pem = kube_base64_decode(cert, &n);
			json_decref(csr);
			if (!pem)
				return berr_setc(err, BERR_INVALID, "CertificateSigningRequest %s: status.certificate is not base64",
						 name);
			progress(o, "CertificateSigningRequest %s approved and signed (%lld ms)", name, mono_ms() - t0);
			*ret_cert = pem;
			return 0;
		}
		json_decref(csr);
		if (mono_ms() >= deadline)
			return berr_setc(err, BERR_GENERIC,
					 "CertificateSigningRequest %s was %s within %d s (the controller-manager approves "
					 "nodeclient requests of bootstrappers and signs with --cluster-signing-cert-file; "
					 "'kubectl certificate approve %s' by hand)",
					 name, approved ? "approved but not signed" : "not approved", timeout / 1000, name);
		sleep_ms(100);
	}
}

int kube_node_join(const struct kube_join_opts *o, char *ret_kubeconfig, size_t n, struct berr **err)
{
	char id[7], secret[17], hash[65];
	if (kube_join_token_parse(o->token, id, secret, err) < 0 || kube_join_hash_parse(o->ca_hash, hash, err) < 0)
		return -1;
	if (!o->server || strncmp(o->server, "https://", 8) || !o->server[8] || o->server[8] == '/')
		return berr_setc(err, BERR_INVALID, "invalid --server \"%s\": the API server's https://HOST:PORT",
				 o->server ? o->server : "");
	char path[PATH_MAX];
	if (kube_join_kubeconfig_path(o->root, o->name, path, sizeof(path), err) < 0)
		return -1;
	int ex = existing(o, path, err);
	if (ex < 0)
		return -1;
	if (ex > 0) {
		snprintf(ret_kubeconfig, n, "%s", path);
		return 0;
	}
	struct tmpdir t = {0};
	if (tmp_open(&t, o->runroot, err) < 0)
		return -1;
	int r = -1;
	char *ca = NULL, *csr = NULL, *key = NULL, *cert = NULL, *text = NULL, *btext = NULL;
	struct kube_client *c = NULL;
	int dfd = -1;
	if (discover(o, &t, id, secret, hash, &ca, err) < 0)
		goto out;
	btext = kubeconfig_text(o->server, ca, false, o->token, NULL, NULL);
	if (client_for(&t, btext, &c, err) < 0 || name_free(o, c, err) < 0)
		goto out;
	char cn[300];
	snprintf(cn, sizeof(cn), "system:node:%s", o->name);
	const char *orgs[] = {"system:nodes", NULL};
	struct pki_spec s = {.cn = cn, .orgs = orgs};
	if (pki_csr_new(&s, &csr, &key, err) < 0 || request_cert(o, c, csr, &cert, err) < 0)
		goto out;
	if (pki_cert_check(ca, cert, key, cn, NULL, err) < 0) {
		berr_wrap(err, "the certificate the cluster issued");
		goto out;
	}
	/* the node's dir: made here, gone again if the write fails */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	struct stat st;
	bool made = stat(dir, &st) < 0;
	if (fs_mkdir_p(dir, 0700, err) < 0)
		goto out;
	text = kubeconfig_text(o->server, ca, false, NULL, cert, key);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fs_write_atomic_at(dfd, "kubeconfig", text, strlen(text), 0600, true, err) < 0) {
		if (dfd < 0)
			berr_set(err, errno, "opening %s", dir);
		berr_wrap(err, "writing the node's kubeconfig");
		if (made)
			rmdir(dir);
		goto out;
	}
	progress(o, "credentials of system:node:%s in %s", o->name, path);
	snprintf(ret_kubeconfig, n, "%s", path);
	r = 0;
out:
	if (dfd >= 0)
		close(dfd);
	kube_client_free(c);
	tmp_close(&t);
	free(btext);
	free(ca);
	free(csr);
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	free(cert);
	if (text)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	return r;
}
