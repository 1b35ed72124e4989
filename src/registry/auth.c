/* Registry authentication: WWW-Authenticate challenges, Basic, and Bearer
 * tokens fetched from the challenge's realm and cached per scope. */
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void reg_challenge_release(struct reg_challenge *ch)
{
	free(ch->scheme);
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	memset(ch, 0, sizeof(*ch));
}

/* Bearer realm="https://auth",service="reg",scope="repository:a:pull"
 * (RFC 7235 auth-params: token or quoted-string values). */
int reg_challenge_parse(const char *v, struct reg_challenge *ret)
{
	struct reg_challenge ch = {0};
	while (*v == ' ')
		v++;
	size_t n = strcspn(v, " ");
	if (!n)
		return -1;
	ch.scheme = strndup(v, n);
	v += n;
	while (*v) {
		while (*v == ' ' || *v == ',')
			v++;
		if (!*v)
			break;
		size_t kn = strcspn(v, "= ,");
		_cleanup_free_ char *key = strndup(v, kn);
		v += kn;
		while (*v == ' ')
			v++;
		if (*v != '=') {
			/* another challenge starts: we use the first one only */
			break;
		}
		v++;
		while (*v == ' ')
			v++;
		struct sbuf val = SBUF_INIT;
		if (*v == '"') {
			v++;
			while (*v && *v != '"') {
				if (*v == '\\' && v[1])
					v++;
				sbuf_addc(&val, *v++);
			}
			if (*v == '"')
				v++;
		} else {
			size_t vn = strcspn(v, ", ");
			sbuf_add(&val, v, vn);
			v += vn;
		}
		char **dst = NULL;
		if (!strcasecmp(key, "realm"))
			dst = &ch.realm;
		else if (!strcasecmp(key, "service"))
			dst = &ch.service;
		else if (!strcasecmp(key, "scope"))
			dst = &ch.scope;
		if (dst) {
			free(*dst);
			*dst = sbuf_detach(&val);
		}
		sbuf_release(&val);
	}
	*ret = ch;
	return 0;
}

static char *basic_header(const char *user, const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass);
	_cleanup_free_ char *plain = malloc(ul + pl + 2);
	_cleanup_free_ unsigned char *b64 = malloc(((ul + pl + 1) / 3 + 2) * 4 + 1);
	if (!plain || !b64)
		return NULL;
	memcpy(plain, user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, pass, pl);
	EVP_EncodeBlock(b64, (unsigned char *)plain, (int)(ul + pl + 1));
	explicit_bzero(plain, ul + pl + 1);
	char *h = NULL;
	if (asprintf(&h, "Authorization: Basic %s", (char *)b64) < 0)
		h = NULL;
	explicit_bzero(b64, strlen((char *)b64));
	return h;
}

char *reg_auth_header(struct reg_client *c, const char *scope)
{
	char *h = NULL;
	pthread_mutex_lock(&c->mu);
	if (c->basic) {
		if (c->user && c->pass)
			h = basic_header(c->user, c->pass);
	} else if (scope) {
		time_t now = time(NULL);
		for (size_t i = 0; i < c->ntokens; i++)
			if (!strcmp(c->tokens[i].scope, scope) && c->tokens[i].expires > now + 5) {
				h = strdup(c->tokens[i].header);
				break;
			}
	}
	pthread_mutex_unlock(&c->mu);
	return h;
}

static void add_scope_params(struct sbuf *u, CURL *h, const char *scopes)
{
	const char *p = scopes;
	while (p && *p) {
		size_t n = strcspn(p, " ");
		if (n) {
			char *e = curl_easy_escape(h, p, (int)n);
			sbuf_addf(u, "&scope=%s", e ? e : "");
			curl_free(e);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

/* Fetch a Bearer token for scopes from the realm. */
static int fetch_token(struct reg_client *c, const char *realm, const char *service,
		       const char *scopes, const char *key, struct berr **err)
{
	if (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7))
		return berr_setc(err, BERR_INVALID, "registry %s: token realm \"%s\" is not an http(s) URL",
				 c->host, realm);
	CURL *h = curl_easy_init();
	if (!h)
		return berr_set(err, ENOMEM, "curl");
	struct sbuf url = SBUF_INIT;
	sbuf_adds(&url, realm);
	sbuf_addc(&url, strchr(realm, '?') ? '&' : '?');
	if (service) {
		char *e = curl_easy_escape(h, service, 0);
		sbuf_addf(&url, "service=%s", e ? e : "");
		curl_free(e);
	}
	add_scope_params(&url, h, scopes);
	struct reg_req r = {.method = "GET", .path = url.s, .body_fd = -1, .max_body = 1u << 20};
	_cleanup_json_ json_t *j = NULL;
	struct curl_slist *hs = NULL;
	if (c->user && c->pass) {
		_cleanup_free_ char *b = basic_header(c->user, c->pass);
		hs = curl_slist_append(hs, b);
		if (b)
			explicit_bzero(b, strlen(b));
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	reg_curl_setup(c, h);
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reg_sink_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	CURLcode rc = curl_easy_perform(h);
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	int ret = -1;
	if (rc != CURLE_OK) {
		berr_set(err, 0, "registry %s: fetching a token from %s: %s", c->host, realm,
			 *ebuf ? ebuf : curl_easy_strerror(rc));
		goto out;
	}
	if (st == 401 || st == 403) {
		berr_setc(err, BERR_INVALID, "%s",
			  c->user ? "unauthorized: incorrect username or password"
				  : "unauthorized: authentication required");
		goto out;
	}
	if (st != 200) {
		r.status = st;
		_cleanup_free_ char *t = reg_error_text(&r);
		berr_set(err, 0, "registry %s: token server %s answered %s", c->host, realm, t ? t : "");
		goto out;
	}
	j = json_loadb(r.body.s ? r.body.s : "", r.body.len, 0, NULL);
	const char *tok = jsonx_str(j, "token");
	if (!tok || !*tok)
		tok = jsonx_str(j, "access_token");
	if (!tok || !*tok || strlen(tok) > 64 * 1024 || strpbrk(tok, "\r\n")) {
		berr_setc(err, BERR_INVALID, "registry %s: the token server's reply has no usable token",
			  c->host);
		goto out;
	}
	json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
	if (ttl < 60)
		ttl = 60;
	if (ttl > 24 * 3600) /* untrusted: no overflow of the expiry time */
		ttl = 24 * 3600;
	struct reg_token t = {.scope = strdup(key ? key : ""), .expires = time(NULL) + (time_t)ttl};
	if (asprintf(&t.header, "Authorization: Bearer %s", tok) < 0)
		t.header = NULL;
	pthread_mutex_lock(&c->mu);
	size_t i;
	for (i = 0; i < c->ntokens; i++)
		if (!strcmp(c->tokens[i].scope, t.scope))
			break;
	if (i < c->ntokens) {
		free(c->tokens[i].scope);
		free(c->tokens[i].header);
		c->tokens[i] = t;
	} else {
		struct reg_token *nt = realloc(c->tokens, (c->ntokens + 1) * sizeof(*nt));
		if (nt) {
			c->tokens = nt;
			c->tokens[c->ntokens++] = t;
		} else {
			free(t.scope);
			free(t.header);
		}
	}
	pthread_mutex_unlock(&c->mu);
	ret = 0;
out:
	if (r.body.s)
		explicit_bzero(r.body.s, r.body.len);
	sbuf_release(&r.body);
	sbuf_release(&url);
	return ret;
}

int reg_auth_handle(struct reg_client *c, const char *www_auth, const char *scope, struct berr **err)
{
	struct reg_challenge ch;
	if (reg_challenge_parse(www_auth, &ch) < 0)
		return berr_setc(err, BERR_INVALID, "registry %s: unreadable WWW-Authenticate challenge",
				 c->host);
	int r = 0;
	if (!strcasecmp(ch.scheme, "basic")) {
		pthread_mutex_lock(&c->mu);
		bool had = c->basic;
		c->basic = true;
		pthread_mutex_unlock(&c->mu);
		if (!c->user || had)
			r = berr_setc(err, BERR_INVALID, "%s",
				      c->user ? "unauthorized: incorrect username or password"
					      : "unauthorized: authentication required");
	} else if (!strcasecmp(ch.scheme, "bearer") && ch.realm) {
		/* our scope plus whatever else the registry asked for */
		struct sbuf scopes = SBUF_INIT;
		if (scope)
			sbuf_adds(&scopes, scope);
		if (ch.scope && (!scope || !strstr(scope, ch.scope))) {
			if (scopes.len)
				sbuf_addc(&scopes, ' ');
			sbuf_adds(&scopes, ch.scope);
		}
		r = fetch_token(c, ch.realm, ch.service, sbuf_str(&scopes), scope, err);
		sbuf_release(&scopes);
	} else {
		r = berr_setc(err, BERR_INVALID, "registry %s: unsupported authentication scheme \"%s\"",
			      c->host, ch.scheme);
	}
	reg_challenge_release(&ch);
	return r;
}

/* The registry domain a login server names ("docker.io" for Docker Hub). */
static char *login_domain(const char *server)
{
	_cleanup_free_ char *k = reg_server_key(server);
	if (!k)
		return NULL;
	if (!strncmp(k, "https://", 8))
		return strdup("docker.io");
	return steal_pointer(&k);
}

int reg_login(const char *server, const char *user, const char *password, struct berr **err)
{
	_cleanup_free_ char *domain = login_domain(server);
	if (!domain)
		return berr_set(err, ENOMEM, "login");
	struct reg_client *c = NULL;
	if (reg_client_new(domain, &c, err) < 0)
		return -1;
	free(c->user);
	free(c->pass);
	c->user = strdup(user);
	c->pass = strdup(password);
	int r = 0;
	if (c->realm) {
		_cleanup_free_ char *realm = strdup(c->realm);
		_cleanup_free_ char *service = c->service ? strdup(c->service) : NULL;
		r = fetch_token(c, realm, service, "", "", err);
	} else if (c->basic) {
		struct reg_req q = {.method = "GET", .path = "/v2/", .body_fd = -1, .no_auth_retry = true};
		r = reg_do(c, &q, err);
		if (r == 0 && q.status != 200) {
			_cleanup_free_ char *t = reg_error_text(&q);
			r = berr_setc(err, BERR_INVALID, "%s",
				      q.status == 401 ? "unauthorized: incorrect username or password" : t);
		}
		reg_req_release(&q);
	}
	reg_client_free(c);
	if (r < 0)
		return -1;
	return reg_creds_put(domain, user, password, err);
}

char *reg_login_user(const char *server)
{
	_cleanup_free_ char *domain = login_domain(server);
	char *u = NULL, *p = NULL;
	if (!domain || reg_creds_get(domain, &u, &p) < 0)
		return NULL;
	if (p)
		explicit_bzero(p, strlen(p));
	free(p);
	return u;
}

int reg_logout(const char *server, bool *ret_had, struct berr **err)
{
	_cleanup_free_ char *domain = login_domain(server);
	if (!domain)
		return berr_set(err, ENOMEM, "logout");
	return reg_creds_del(domain, ret_had, err);
}
