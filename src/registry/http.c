/* HTTP to a registry through libcurl: the ping that picks https or http,
 * requests with authentication retried once on a 401, and blob downloads
 * as pull-model streams (a curl multi handle per blob, pumped from the
 * reader) so decoding and extraction run in the thread that reads. */
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/jsonx.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void reg_report(struct reg_client *c, enum reg_event ev, const char *id, const char *text,
		uint64_t cur, uint64_t total)
{
	if (!c->progress)
		return;
	struct reg_progress p = {.ev = ev, .id = id, .text = text, .cur = cur, .total = total};
	pthread_mutex_lock(&c->pmu);
	c->progress(c->progress_ctx, &p);
	pthread_mutex_unlock(&c->pmu);
}

char *reg_url(struct reg_client *c, const char *path)
{
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		return strdup(path);
	char *u = NULL;
	if (asprintf(&u, "%s%s", c->base, path) < 0)
		return NULL;
	return u;
}

void reg_curl_setup(struct reg_client *c, void *curl)
{
	CURL *h = curl;
	curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer fails instead of hanging forever */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->tls.ca_file) {
		/* the registry's CA on top of the system ones */
		curl_easy_setopt(h, CURLOPT_CAINFO, c->tls.ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
	if (c->tls.cert_file && c->tls.key_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls.cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls.key_file);
	}
	if (c->tls.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

void reg_req_release(struct reg_req *r)
{
	sbuf_release(&r->body);
	free(r->location);
	free(r->content_type_got);
	free(r->docker_digest);
	free(r->www_auth);
	free(r->range);
	r->location = r->content_type_got = r->docker_digest = r->www_auth = r->range = NULL;
}

static void set_field(char **dst, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && *v == ' ') {
		v++;
		n--;
	}
	free(*dst);
	*dst = strndup(v, n);
}

static bool header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return false;
	*val = line + k + 1;
	*vlen = n - k - 1;
	return true;
}

static size_t req_header_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct reg_req *r = ud;
	size_t n = sz * nm;
	const char *v;
	size_t vl;
	if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a redirect or 100): forget the last one */
		reg_req_release(r);
		r->content_length = 0;
		r->truncated = false;
	} else if (header_is(buf, n, "Location", &v, &vl)) {
		set_field(&r->location, v, vl);
	} else if (header_is(buf, n, "Content-Type", &v, &vl)) {
		set_field(&r->content_type_got, v, vl);
	} else if (header_is(buf, n, "Docker-Content-Digest", &v, &vl)) {
		set_field(&r->docker_digest, v, vl);
	} else if (header_is(buf, n, "WWW-Authenticate", &v, &vl)) {
		if (!r->www_auth)
			set_field(&r->www_auth, v, vl);
	} else if (header_is(buf, n, "Range", &v, &vl)) {
		set_field(&r->range, v, vl);
	} else if (header_is(buf, n, "Content-Length", &v, &vl)) {
		r->content_length = strtoull(v, NULL, 10);
	}
	return n;
}

size_t reg_sink_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct reg_req *r = ud;
	size_t n = sz * nm;
	size_t max = r->max_body ? r->max_body : REG_MAX_ERRBODY;
	if (r->body.len + n > max) {
		r->truncated = true;
		return 0; /* stop: the reply is larger than anything we accept */
	}
	sbuf_add(&r->body, buf, n);
	return n;
}

struct upload {
	const struct reg_req *r;
	uint64_t off;
};

static size_t req_read_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct upload *u = ud;
	size_t n = sz * nm;
	uint64_t left = u->r->body_len - u->off;
	if (n > left)
		n = (size_t)left;
	if (!n)
		return 0;
	if (u->r->body_fd >= 0) {
		ssize_t got = pread(u->r->body_fd, buf, n, u->r->body_off + (off_t)u->off);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	} else {
		memcpy(buf, (const char *)u->r->data + u->off, n);
	}
	u->off += n;
	return n;
}

static int transport_fail(struct reg_client *c, const struct reg_req *r, CURLcode rc,
			  const char *ebuf, struct berr **err)
{
	const char *what = *ebuf ? ebuf : curl_easy_strerror(rc);
	if (r->truncated)
		return berr_setc(err, BERR_INVALID, "%s %s: the registry's reply is larger than %zu bytes",
				 r->method, r->path, r->max_body ? r->max_body : (size_t)REG_MAX_ERRBODY);
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_OPERATION_TIMEDOUT)
		return berr_set(err, 0, "cannot reach registry %s: %s", c->host, what);
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return berr_set(err, 0,
				"registry %s: TLS certificate not trusted (%s); put its CA in certs.d/%s/ca.crt",
				c->host, what, c->host);
	return berr_set(err, 0, "%s %s: %s", r->method, r->path, what);
}

/* One attempt; 0 with r->status set, or -1 on a transport error. */
static int do_once(struct reg_client *c, struct reg_req *r, const char *base_override,
		   CURLcode *ret_rc, struct berr **err)
{
	CURL *h = curl_easy_init();
	if (!h)
		return berr_set(err, ENOMEM, "curl");
	_cleanup_free_ char *url = NULL;
	if (base_override) {
		if (asprintf(&url, "%s%s", base_override, r->path) < 0)
			url = NULL;
	} else {
		url = reg_url(c, r->path);
	}
	struct curl_slist *hs = NULL;
	char line[512];
	if (r->accept) {
		size_t n = strlen(r->accept) + 16;
		_cleanup_free_ char *a = malloc(n);
		snprintf(a, n, "Accept: %s", r->accept);
		hs = curl_slist_append(hs, a);
	}
	if (r->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", r->content_type);
		hs = curl_slist_append(hs, line);
	}
	if (r->extra_header)
		hs = curl_slist_append(hs, r->extra_header);
	_cleanup_free_ char *auth = reg_auth_header(c, r->scope);
	if (auth)
		hs = curl_slist_append(hs, auth);
	hs = curl_slist_append(hs, "Expect:");
	char ebuf[CURL_ERROR_SIZE] = "";
	reg_curl_setup(c, h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, req_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reg_sink_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	struct upload up = {.r = r};
	bool has_body = r->data || r->body_fd >= 0;
	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "POST") && !has_body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else if (has_body || !strcmp(r->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, req_read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? r->body_len : 0));
		if (strcmp(r->method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	reg_req_release(r);
	r->status = 0;
	CURLcode rc = curl_easy_perform(h);
	*ret_rc = rc;
	int ret = 0;
	if (rc != CURLE_OK)
		ret = transport_fail(c, r, rc, ebuf, err);
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	return ret;
}

int reg_do(struct reg_client *c, struct reg_req *r, struct berr **err)
{
	for (int attempt = 0;; attempt++) {
		CURLcode rc;
		if (do_once(c, r, NULL, &rc, err) < 0)
			return -1;
		if (r->status == 401 && attempt == 0 && !r->no_auth_retry && r->www_auth) {
			_cleanup_free_ char *wa = strdup(r->www_auth);
			if (reg_auth_handle(c, wa, r->scope, err) < 0)
				return -1;
			continue;
		}
		return 0;
	}
}

char *reg_error_text(const struct reg_req *r)
{
	char *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	if (r->body.len)
		j = json_loadb(r->body.s, r->body.len, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = jsonx_str(e0, "code"), *msg = jsonx_str(e0, "message");
	if (code || msg) {
		_cleanup_free_ char *lc = code ? strdup(code) : NULL;
		for (char *p = lc; p && *p; p++)
			*p = *p == '_' ? ' ' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (asprintf(&out, "%s%s%s", lc ? lc : "", lc && msg ? ": " : "", msg ? msg : "") < 0)
			out = NULL;
		return out;
	}
	if (r->status == 401) {
		return strdup("unauthorized: authentication required");
	}
	if (asprintf(&out, "HTTP %ld", r->status) < 0)
		out = NULL;
	return out;
}

/* ---- the client ---- */

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	free(c->domain);
	free(c->host);
	free(c->base);
	reg_host_cfg_release(&c->tls);
	if (c->pass)
		explicit_bzero(c->pass, strlen(c->pass));
	free(c->user);
	free(c->pass);
	free(c->realm);
	free(c->service);
	for (size_t i = 0; i < c->ntokens; i++) {
		free(c->tokens[i].scope);
		if (c->tokens[i].header)
			explicit_bzero(c->tokens[i].header, strlen(c->tokens[i].header));
		free(c->tokens[i].header);
	}
	free(c->tokens);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->pmu);
	free(c);
}

/* GET /v2/ on base: 0 when it answered like a registry. */
static int ping(struct reg_client *c, const char *base, CURLcode *rc, struct berr **err)
{
	struct reg_req r = {.method = "GET", .path = "/v2/", .body_fd = -1, .no_auth_retry = true};
	int ret = do_once(c, &r, base, rc, err);
	if (ret == 0) {
		if (r.status == 401 && r.www_auth) {
			struct reg_challenge ch;
			if (reg_challenge_parse(r.www_auth, &ch) == 0) {
				pthread_mutex_lock(&c->mu);
				if (!strcasecmp(ch.scheme, "basic")) {
					c->basic = true;
				} else if (!strcasecmp(ch.scheme, "bearer") && ch.realm) {
					free(c->realm);
					free(c->service);
					c->realm = steal_pointer(&ch.realm);
					c->service = steal_pointer(&ch.service);
				}
				pthread_mutex_unlock(&c->mu);
				reg_challenge_release(&ch);
			}
		} else if (r.status != 200 && r.status != 401) {
			ret = berr_set(err, 0, "%s/v2/ answered HTTP %ld: not a registry (API v2)", base,
				       r.status);
			*rc = CURLE_OK;
		}
	}
	reg_req_release(&r);
	return ret;
}

/* Transport errors after which a registry that may speak plain HTTP is
 * tried again over http: it answered the TLS hello with something else. */
static bool tls_mismatch(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_SEND_ERROR;
}

static int connect_host(struct reg_client *c, const char *host, const char *base_given,
			struct berr **err)
{
	free(c->host);
	c->host = strdup(host);
	reg_host_cfg_release(&c->tls);
	reg_host_cfg_load(host, &c->tls);
	CURLcode rc = CURLE_OK;
	char base[600];
	if (base_given)
		snprintf(base, sizeof(base), "%s", base_given);
	else
		snprintf(base, sizeof(base), "https://%s", host);
	int r = ping(c, base, &rc, err);
	if (r < 0 && !base_given && (c->tls.loopback || c->tls.insecure) && tls_mismatch(rc)) {
		struct berr *e2 = NULL;
		snprintf(base, sizeof(base), "http://%s", host);
		if (ping(c, base, &rc, &e2) == 0) {
			berr_freep(err);
			r = 0;
		} else {
			berr_free(e2);
		}
	}
	if (r < 0)
		return -1;
	free(c->base);
	c->base = strdup(base);
	return 0;
}

int reg_client_new(const char *domain, struct reg_client **ret, struct berr **err)
{
	if (curl_lazy_load(err) < 0)
		return -1;
	struct reg_client *c = calloc(1, sizeof(*c));
	if (!c)
		return berr_set(err, ENOMEM, "registry client");
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->pmu, NULL);
	c->domain = strdup(domain);
	reg_creds_get(domain, &c->user, &c->pass);
	int r = -1;
	if (!strcmp(domain, "docker.io")) {
		_cleanup_json_ json_t *mirrors = reg_mirrors();
		size_t i;
		json_t *m;
		json_array_foreach(mirrors, i, m) {
			const char *u = json_string_value(m);
			if (!u || (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)))
				continue;
			const char *h = strchr(u, '/') + 2;
			_cleanup_free_ char *host = strndup(h, strcspn(h, "/"));
			_cleanup_free_ char *base = strndup(u, (size_t)(h - u) + strlen(host));
			struct berr *e = NULL;
			if (connect_host(c, host, base, &e) == 0) {
				r = 0;
				break;
			}
			berr_free(e);
		}
		if (r < 0)
			r = connect_host(c, "registry-1.docker.io", NULL, err);
	} else {
		r = connect_host(c, domain, NULL, err);
	}
	if (r < 0) {
		reg_client_free(c);
		return -1;
	}
	*ret = c;
	return 0;
}

/* ---- blob streams ---- */

#define BLOB_BUF_MAX (4u << 20)
#define BLOB_RETRIES 3

struct reg_blob {
	struct reg_client *c;
	CURLM *m;
	CURL *h;
	struct curl_slist *hs;
	char *url, *scope, *what;
	const char *short_id;
	char *buf;
	size_t off, len, cap;
	bool done, started, auth_retried, need_auth, paused;
	bool resumed; /* this transfer asked for the rest (Range) */
	int retries;
	long status;
	uint64_t got, size;
	struct sbuf errbody;
	char *www_auth;
	char *error;
	char ebuf[CURL_ERROR_SIZE];
	struct timespec last_report;
};

static void blob_fail(struct reg_blob *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t blob_header_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct reg_blob *b = ud;
	size_t n = sz * nm;
	const char *v;
	size_t vl;
	if (header_is(buf, n, "WWW-Authenticate", &v, &vl))
		set_field(&b->www_auth, v, vl);
	return n;
}

static size_t blob_write_cb(char *data, size_t sz, size_t nm, void *ud)
{
	struct reg_blob *b = ud;
	size_t n = sz * nm;
	long st = 0;
	curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &st);
	b->status = st;
	if (b->resumed && st == 200) {
		/* the server ignored the Range: the bytes so far are in the pipeline already */
		blob_fail(b, "%s: the registry cannot resume the download (no Range support)", b->what);
		return 0;
	}
	if (st != 200 && !(st == 206 && b->resumed)) {
		if (st == 401 && !b->auth_retried && b->got == 0) {
			b->need_auth = true;
			return 0;
		}
		if (b->errbody.len + n <= REG_MAX_ERRBODY)
			sbuf_add(&b->errbody, data, n);
		return n;
	}
	/* the manifest's size is exact: a layer listed as 0 bytes gets none,
	 * not an unbounded download */
	if (b->got + n > b->size) {
		free(b->error);
		if (asprintf(&b->error, "%s: the registry sent more than the %llu bytes the manifest lists",
			     b->what, (unsigned long long)b->size) < 0)
			b->error = NULL;
		return 0;
	}
	/* the reader is behind: hold the transfer (curl keeps the data) */
	if (b->len >= BLOB_BUF_MAX) {
		b->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : (512u << 10);
		while (nc < b->len + n)
			nc *= 2;
		char *nb = realloc(b->buf, nc);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = nc;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->got += n;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - b->last_report.tv_sec) * 1000 + (now.tv_nsec - b->last_report.tv_nsec) / 1000000 >=
	    100) {
		b->last_report = now;
		reg_report(b->c, REG_EV_LAYER_BYTES, b->short_id, NULL, b->got, b->size);
	}
	return n;
}

static int blob_start(struct reg_blob *b, struct berr **err)
{
	if (b->h) {
		curl_multi_remove_handle(b->m, b->h);
		curl_easy_cleanup(b->h);
		curl_slist_free_all(b->hs);
		b->hs = NULL;
	}
	b->h = curl_easy_init();
	if (!b->h)
		return berr_set(err, ENOMEM, "curl");
	_cleanup_free_ char *auth = reg_auth_header(b->c, b->scope);
	if (auth)
		b->hs = curl_slist_append(b->hs, auth);
	b->resumed = b->got > 0;
	if (b->resumed) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)b->got);
		b->hs = curl_slist_append(b->hs, range);
	}
	reg_curl_setup(b->c, b->h);
	curl_easy_setopt(b->h, CURLOPT_URL, b->url);
	curl_easy_setopt(b->h, CURLOPT_HTTPHEADER, b->hs);
	curl_easy_setopt(b->h, CURLOPT_ERRORBUFFER, b->ebuf);
	curl_easy_setopt(b->h, CURLOPT_HEADERFUNCTION, blob_header_cb);
	curl_easy_setopt(b->h, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(b->h, CURLOPT_WRITEFUNCTION, blob_write_cb);
	curl_easy_setopt(b->h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(b->h, CURLOPT_BUFFERSIZE, 512L << 10);
	b->ebuf[0] = 0;
	b->need_auth = false;
	b->done = false;
	b->paused = false;
	sbuf_reset(&b->errbody);
	curl_multi_add_handle(b->m, b->h);
	return 0;
}

int reg_blob_open(struct reg_client *c, const char *repo, const char *digest, uint64_t size,
		  const char *short_id, struct reg_blob **ret, struct berr **err)
{
	struct reg_blob *b = calloc(1, sizeof(*b));
	if (!b)
		return berr_set(err, ENOMEM, "blob");
	b->c = c;
	b->size = size;
	b->short_id = short_id;
	b->m = curl_multi_init();
	char path[1024];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repo, digest);
	b->url = reg_url(c, path);
	if (asprintf(&b->scope, "repository:%s:pull", repo) < 0)
		b->scope = NULL;
	if (asprintf(&b->what, "blob %s", digest) < 0)
		b->what = NULL;
	if (!b->m || !b->url || !b->scope || !b->what || blob_start(b, err) < 0) {
		reg_blob_close(b);
		return berr_set(err, ENOMEM, "blob");
	}
	*ret = b;
	return 0;
}

static void blob_fail(struct reg_blob *b, const char *fmt, ...)
{
	if (b->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&b->error, fmt, ap) < 0)
		b->error = NULL;
	va_end(ap);
}

/* The transfer ended: decide whether it was good. 0 ok, -1 failed, 1 restarted. */
static int blob_finished(struct reg_blob *b, CURLcode rc)
{
	b->done = true;
	if (b->need_auth) {
		b->auth_retried = true;
		struct berr *e = NULL;
		if (reg_auth_handle(b->c, b->www_auth ? b->www_auth : "", b->scope, &e) < 0) {
			blob_fail(b, "%s: %s", b->what, e->msg);
			berr_free(e);
			return -1;
		}
		return blob_start(b, &e) < 0 ? (berr_free(e), -1) : 1;
	}
	if (b->error)
		return -1;
	if (rc != CURLE_OK && rc != CURLE_COULDNT_CONNECT && b->got > 0 && b->retries < BLOB_RETRIES) {
		/* cut mid-blob: ask for the rest; every byte still goes through
		 * the same digest, so a wrong resume cannot go unnoticed */
		b->retries++;
		struct berr *e = NULL;
		if (blob_start(b, &e) == 0)
			return 1;
		berr_free(e);
	}
	if (rc != CURLE_OK) {
		if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT)
			blob_fail(b, "%s: cannot reach registry %s: %s", b->what, b->c->host,
				  *b->ebuf ? b->ebuf : curl_easy_strerror(rc));
		else
			blob_fail(b, "%s: connection failed after %llu of %llu bytes (%d resumes): %s",
				  b->what, (unsigned long long)b->got, (unsigned long long)b->size,
				  b->retries, *b->ebuf ? b->ebuf : curl_easy_strerror(rc));
		return -1;
	}
	long st = 0;
	curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &st);
	if (st != 200 && !(st == 206 && b->resumed)) {
		struct reg_req r = {.status = st, .body = b->errbody};
		_cleanup_free_ char *t = reg_error_text(&r);
		blob_fail(b, "%s: %s", b->what, t ? t : "error");
		return -1;
	}
	if (b->got != b->size) {
		blob_fail(b, "%s: the registry sent %llu bytes, the manifest lists %llu", b->what,
			  (unsigned long long)b->got, (unsigned long long)b->size);
		return -1;
	}
	reg_report(b->c, REG_EV_LAYER_BYTES, b->short_id, NULL, b->got, b->size);
	return 0;
}

ssize_t reg_blob_read(void *opaque, void *out, size_t n)
{
	struct reg_blob *b = opaque;
	for (;;) {
		if (b->off < b->len) {
			size_t k = b->len - b->off;
			if (k > n)
				k = n;
			memcpy(out, b->buf + b->off, k);
			b->off += k;
			if (b->off == b->len)
				b->off = b->len = 0;
			return (ssize_t)k;
		}
		if (b->error) {
			errno = EIO;
			return -1;
		}
		if (b->done)
			return 0;
		if (b->paused) {
			b->paused = false;
			curl_easy_pause(b->h, CURLPAUSE_CONT);
			continue;
		}
		int running = 0;
		CURLMcode mc = curl_multi_perform(b->m, &running);
		if (mc != CURLM_OK) {
			blob_fail(b, "%s: %s", b->what, curl_multi_strerror(mc));
			continue;
		}
		if (!running) {
			int q;
			CURLMsg *msg;
			CURLcode rc = CURLE_OK;
			while ((msg = curl_multi_info_read(b->m, &q)))
				if (msg->msg == CURLMSG_DONE)
					rc = msg->data.result;
			int r = blob_finished(b, rc);
			if (r < 0 && !b->error)
				blob_fail(b, "%s: download failed", b->what);
			continue;
		}
		if (b->len == 0)
			curl_multi_poll(b->m, NULL, 0, 1000, NULL);
	}
}

const char *reg_blob_error(struct reg_blob *b)
{
	return b->error;
}

void reg_blob_close(struct reg_blob *b)
{
	if (!b)
		return;
	if (b->h) {
		curl_multi_remove_handle(b->m, b->h);
		curl_easy_cleanup(b->h);
	}
	curl_slist_free_all(b->hs);
	if (b->m)
		curl_multi_cleanup(b->m);
	free(b->url);
	free(b->scope);
	free(b->what);
	free(b->buf);
	free(b->www_auth);
	free(b->error);
	sbuf_release(&b->errbody);
	free(b);
}
