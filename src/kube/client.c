/* The Kubernetes API client (kube/client.h): credentials, requests over
 * libcurl, metav1.Status errors, watch streams and API discovery.
 *
 * Connections. Each request takes an easy handle from a small pool under
 * the client's mutex and gives it back after; a handle keeps its
 * connection (HTTP/2 or a keep-alive HTTP/1.1 one) open, so a command's
 * requests after the first skip the TCP and TLS handshakes. The handles
 * share one TLS session cache and DNS cache (a CURLSH with locks), so a
 * second handle, made while another thread holds the first, resumes the
 * TLS session instead of a full handshake. Connections themselves are not
 * shared between handles: libcurl does not support sharing them between
 * threads.
 *
 * Watches run on their own handle in a multi handle polled every 100 ms,
 * so the stop flag is seen quickly even when the stream is idle (an easy
 * handle's progress callback only runs about once a second then). */
#include "kube/client-int.h"
#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POOL_MAX 8
#define KUBE_MAX_BODY (256u << 20)  /* one answer (a big list) */
#define KUBE_MAX_EVENT (64u << 20)  /* one watch event */
#define EXEC_MAX_OUT (1u << 20)
#define EXEC_MAX_ERR (16u << 10)
#define TOKEN_FILE_REREAD 60        /* seconds, as client-go re-reads a tokenFile */

struct kube_client {
	struct kube_config cfg;
	int timeout_ms;
	volatile int *stop;           /* kube_client_opts.stop */
	char *url_base;               /* the server, with tls-server-name as its host when set */
	char *no_proxy;               /* $no_proxy plus loopback names, as Go's ProxyFromEnvironment */
	struct curl_slist *connect_to; /* tls-server-name:port -> the server's host:port */

	pthread_mutex_t pool_mu;
	CURL *idle[POOL_MAX];
	int nidle;
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

	/* credentials that change: a tokenFile's token, an exec plugin's */
	pthread_mutex_t cred_mu;
	char *file_token;
	time_t file_token_at;
	bool exec_have;
	char *exec_token, *exec_cert, *exec_key;
	time_t exec_expiry; /* 0: until the client goes */

	void (*warn)(void *, const char *);
	void *warn_ud;

	pthread_mutex_t disc_mu;
	json_t *disc;       /* [{"name": group, "versions": [{"version", "resources": [...]}]}], NULL: not loaded */
	bool disc_legacy;   /* resources fetched per group-version */
	char version[64];
};

/* ---- small helpers ---- */

char *kube_escape_segment(const char *s)
{
	struct sbuf b = SBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			sbuf_addc(&b, (char)*p);
		else
			sbuf_addf(&b, "%%%02X", *p);
	}
	return sbuf_detach(&b);
}

int kube_split_api_version(const char *api_version, char *group, size_t gn, char *version, size_t vn)
{
	if (!api_version || !*api_version)
		return -1;
	const char *slash = strchr(api_version, '/');
	if (!slash) {
		if ((size_t)snprintf(group, gn, "%s", "") >= gn ||
		    (size_t)snprintf(version, vn, "%s", api_version) >= vn)
			return -1;
		return 0;
	}
	if (slash == api_version || !slash[1] || strchr(slash + 1, '/'))
		return -1;
	if ((size_t)snprintf(group, gn, "%.*s", (int)(slash - api_version), api_version) >= gn ||
	    (size_t)snprintf(version, vn, "%s", slash + 1) >= vn)
		return -1;
	return 0;
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
	(void)h;
	(void)a;
	struct kube_client *c = ud;
	pthread_mutex_lock(&c->share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
	(void)h;
	struct kube_client *c = ud;
	pthread_mutex_unlock(&c->share_mu[d]);
}

/* https://name:port/prefix with name in place of the server's host, and the
 * CONNECT_TO entry that still sends the connection to the server */
static int setup_server_name(struct kube_client *c, struct berr **err)
{
	const char *srv = c->cfg.server;
	if (!c->cfg.tls_server_name) {
		c->url_base = strdup(srv);
		return 0;
	}
	const char *hp = strstr(srv, "://") + 3;
	const char *rest = hp + strcspn(hp, "/");
	_cleanup_free_ char *hostport = strndup(hp, (size_t)(rest - hp));
	char *host = hostport, *port = NULL;
	if (*host == '[') {
		char *e = strchr(host, ']');
		if (!e)
			return berr_setc(err, BERR_INVALID, "%s: server \"%s\": bad IPv6 address", c->cfg.where, srv);
		*e = 0;
		host++;
		if (e[1] == ':')
			port = e + 2;
	} else if ((port = strrchr(host, ':'))) {
		*port++ = 0;
	}
	const char *dport = !strncmp(srv, "https", 5) ? "443" : "80";
	if (!port || !*port)
		port = (char *)dport;
	char line[600];
	snprintf(line, sizeof line, "%s:%s:%s%s%s:%s", c->cfg.tls_server_name, port, strchr(host, ':') ? "[" : "",
		 host, strchr(host, ':') ? "]" : "", port);
	c->connect_to = curl_slist_append(NULL, line);
	if (asprintf(&c->url_base, "%.*s://%s:%s%s", (int)(strstr(srv, "://") - srv), srv, c->cfg.tls_server_name,
		     port, rest) < 0)
		return berr_set(err, ENOMEM, "server URL");
	return 0;
}

int kube_client_open(const struct kube_client_opts *o, struct kube_client **ret, struct berr **err)
{
	*ret = NULL;
	struct kube_config cfg;
	if (kube_config_load(o, getenv("KUBECONFIG"), getenv("HOME"), &cfg, err) < 0)
		return -1;
	if (curl_lazy_load(err) < 0) {
		kube_config_release(&cfg);
		return -1;
	}
	struct kube_client *c = calloc(1, sizeof(*c));
	if (!c) {
		kube_config_release(&cfg);
		return berr_set(err, ENOMEM, "kube client");
	}
	c->cfg = cfg;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	c->stop = o->stop;
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->cred_mu, NULL);
	pthread_mutex_init(&c->disc_mu, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_mu[i], NULL);
	c->share = curl_share_init();
	if (c->share) {
		curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
		curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	}
	if (setup_server_name(c, err) < 0) {
		kube_client_free(c);
		return -1;
	}
	/* $https_proxy & co apply (libcurl reads them), but never to loopback
	 * servers: Go's ProxyFromEnvironment, which kubectl uses, skips those */
	const char *np = getenv("no_proxy");
	if (!np || !*np)
		np = getenv("NO_PROXY");
	if (np && !strcmp(np, "*"))
		c->no_proxy = strdup("*");
	else if (asprintf(&c->no_proxy, "%s%slocalhost,127.0.0.1,::1", np && *np ? np : "", np && *np ? "," : "") < 0)
		c->no_proxy = NULL;
	*ret = c;
	return 0;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	curl_slist_free_all(c->connect_to);
	free(c->url_base);
	free(c->no_proxy);
	free(c->file_token);
	free(c->exec_token);
	free(c->exec_cert);
	free(c->exec_key);
	json_decref(c->disc);
	kube_config_release(&c->cfg);
	pthread_mutex_destroy(&c->pool_mu);
	pthread_mutex_destroy(&c->cred_mu);
	pthread_mutex_destroy(&c->disc_mu);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_mu[i]);
	free(c);
}

const char *kube_client_namespace(const struct kube_client *c) { return c->cfg.namespace_; }
const char *kube_client_server(const struct kube_client *c) { return c->cfg.server; }
const char *kube_client_context(const struct kube_client *c) { return c->cfg.context ? c->cfg.context : ""; }
const char *kube_client_ca_pem(const struct kube_client *c) { return c->cfg.ca_pem; }

void kube_client_set_warning_handler(struct kube_client *c, void (*fn)(void *ud, const char *msg), void *ud)
{
	c->warn = fn;
	c->warn_ud = ud;
}

void kube_resp_release(struct kube_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* ---- the pool ---- */

static CURL *pool_get(struct kube_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->pool_mu);
	return h ? h : curl_easy_init();
}

static void pool_put(struct kube_client *c, CURL *h)
{
	/* options go back to their defaults; the connection and caches stay */
	curl_easy_reset(h);
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle < POOL_MAX) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- credentials ---- */

static int read_token_file(struct kube_client *c, struct berr **err)
{
	time_t now = time(NULL);
	if (c->file_token && now - c->file_token_at < TOKEN_FILE_REREAD)
		return 0;
	char *t = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, c->cfg.token_file, 1u << 20, &t, &len, err) < 0)
		return berr_wrap(err, "%s: tokenFile", c->cfg.where);
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = 0;
	free(c->file_token);
	c->file_token = t;
	c->file_token_at = now;
	return 0;
}

static void tail_trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* Run the exec plugin and keep what it gives (cred_mu held). */
static int exec_run(struct kube_client *c, struct berr **err)
{
	json_t *x = c->cfg.exec;
	const char *cmd = json_string_value(json_object_get(x, "command"));
	const char *api = json_string_value(json_object_get(x, "apiVersion"));
	const char *mode = json_string_value(json_object_get(x, "interactiveMode"));
	const char *srv = c->cfg.server;
	bool interactive = mode && strcmp(mode, "Never") && isatty(0);

	json_t *spec = json_pack("{s:b}", "interactive", interactive);
	if (json_object_get(x, "_cluster"))
		json_object_set(spec, "cluster", json_object_get(x, "_cluster"));
	json_t *info = json_pack("{s:s,s:s,s:o}", "kind", "ExecCredential", "apiVersion", api, "spec", spec);
	_cleanup_free_ char *info_s = json_dumps(info, JSON_COMPACT);
	json_decref(info);

	/* the environment: ours, the plugin's env entries over it, and the ExecCredential */
	json_t *env = json_object_get(x, "env");
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **envp = calloc(nenv + json_array_size(env) + 2, sizeof(char *));
	char **owned = calloc(json_array_size(env) + 2, sizeof(char *));
	size_t ne = 0, no = 0;
	for (size_t i = 0; i < nenv; i++) {
		bool over = !strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21);
		size_t k;
		json_t *it;
		json_array_foreach(env, k, it) {
			const char *n = json_string_value(json_object_get(it, "name"));
			size_t nl = strlen(n);
			if (!strncmp(environ[i], n, nl) && environ[i][nl] == '=')
				over = true;
		}
		if (!over)
			envp[ne++] = environ[i];
	}
	size_t k;
	json_t *it;
	json_array_foreach(env, k, it) {
		char *s = NULL;
		if (asprintf(&s, "%s=%s", json_string_value(json_object_get(it, "name")),
			     json_string_value(json_object_get(it, "value"))) >= 0)
			envp[ne++] = owned[no++] = s;
	}
	char *s = NULL;
	if (asprintf(&s, "KUBERNETES_EXEC_INFO=%s", info_s) >= 0)
		envp[ne++] = owned[no++] = s;
	json_t *args = json_object_get(x, "args");
	char **argv = calloc(json_array_size(args) + 2, sizeof(char *));
	argv[0] = (char *)cmd;
	json_array_foreach(args, k, it) argv[k + 1] = (char *)json_string_value(it);

	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	int rc = -1;
	pid_t pid = -1;
	struct sbuf ob = SBUF_INIT, eb = SBUF_INIT;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		berr_set(err, errno, "%s: exec plugin '%s': pipe", srv, cmd);
		goto out;
	}
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (!interactive) {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	}
	int e = posix_spawnp(&pid, cmd, &fa, NULL, argv, envp);
	if (e) {
		const char *hint = json_string_value(json_object_get(x, "installHint"));
		if (e == ENOENT)
			berr_setc(err, BERR_NOT_FOUND, "%s: exec plugin '%s' failed: executable not found%s%s%s", srv,
				  cmd, strchr(cmd, '/') ? "" : " in $PATH", hint ? "\n" : "", hint ? hint : "");
		else
			berr_set(err, e, "%s: exec plugin '%s' failed", srv, cmd);
		pid = -1;
		goto out;
	}
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	struct pollfd pf[2] = {{.fd = out[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
	int open_fds = 2;
	while (open_fds) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[8192];
			ssize_t n = read(pf[i].fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			struct sbuf *b = i == 0 ? &ob : &eb;
			size_t max = i == 0 ? EXEC_MAX_OUT : EXEC_MAX_ERR;
			if (b->len + (size_t)n <= max)
				sbuf_add(b, buf, (size_t)n);
		}
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	char *emsg = eb.s ? eb.s : (char *)"";
	tail_trim(emsg);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char how[64];
		if (WIFEXITED(st))
			snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
		else
			snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
		berr_set(err, 0, "%s: exec plugin '%s' failed (%s)%s%s", srv, cmd, how, *emsg ? ": " : "", emsg);
		goto out;
	}
	json_error_t je;
	json_t *cred = json_loadb(sbuf_str(&ob), ob.len, 0, &je);
	if (!cred) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: its output is not JSON (%s)", srv, cmd, je.text);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(cred, "kind"));
	const char *gv = json_string_value(json_object_get(cred, "apiVersion"));
	json_t *status = json_object_get(cred, "status");
	const char *tok = json_string_value(json_object_get(status, "token"));
	const char *cert = json_string_value(json_object_get(status, "clientCertificateData"));
	const char *key = json_string_value(json_object_get(status, "clientKeyData"));
	const char *exp = json_string_value(json_object_get(status, "expirationTimestamp"));
	if (!kind || strcmp(kind, "ExecCredential")) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: it printed no ExecCredential", srv, cmd);
	} else if (!gv || strcmp(gv, api)) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: it answered %s, the kubeconfig asks for %s", srv, cmd,
			 gv ? gv : "no apiVersion", api);
	} else if (!json_is_object(status)) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: its ExecCredential has no status", srv, cmd);
	} else if ((cert && *cert) != (key && *key)) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: clientCertificateData and clientKeyData go together",
			 srv, cmd);
	} else if (!(tok && *tok) && !(cert && *cert)) {
		berr_set(err, 0, "%s: exec plugin '%s' failed: its ExecCredential holds no token and no certificate",
			 srv, cmd);
	} else {
		struct timespec ts = {0};
		if (exp && *exp && time_parse_rfc3339(exp, &ts) < 0) {
			berr_set(err, 0, "%s: exec plugin '%s' failed: expirationTimestamp \"%s\" is not RFC 3339", srv,
				 cmd, exp);
		} else {
			free(c->exec_token);
			free(c->exec_cert);
			free(c->exec_key);
			c->exec_token = tok && *tok ? strdup(tok) : NULL;
			c->exec_cert = cert && *cert ? strdup(cert) : NULL;
			c->exec_key = key && *key ? strdup(key) : NULL;
			c->exec_expiry = exp && *exp ? ts.tv_sec : 0;
			c->exec_have = true;
			rc = 0;
		}
	}
	json_decref(cred);
out:
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	sbuf_release(&ob);
	sbuf_release(&eb);
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	free(owned);
	free(envp);
	free(argv);
	return rc;
}

/* Set the credentials of one request on h (blobs and headers copied). */
static int set_creds(struct kube_client *c, CURL *h, struct curl_slist **hdrs, bool *used_exec, struct berr **err)
{
	int rc = -1;
	*used_exec = false;
	pthread_mutex_lock(&c->cred_mu);
	const char *token = c->cfg.token;
	const char *cert = c->cfg.cert_pem, *key = c->cfg.key_pem;
	if (c->cfg.exec) {
		/* refresh a little before the expiry, as client-go does not: it
		 * would send a token about to lapse */
		if (!c->exec_have || (c->exec_expiry && time(NULL) + 10 >= c->exec_expiry))
			if (exec_run(c, err) < 0)
				goto out;
		*used_exec = true;
		if (c->exec_token)
			token = c->exec_token;
		if (c->exec_cert) {
			cert = c->exec_cert;
			key = c->exec_key;
		}
	}
	if (!token && c->cfg.token_file) {
		if (read_token_file(c, err) < 0)
			goto out;
		token = c->file_token;
	}
	if (token) {
		_cleanup_free_ char *line = NULL;
		if (asprintf(&line, "Authorization: Bearer %s", token) >= 0)
			*hdrs = curl_slist_append(*hdrs, line);
	} else if (c->cfg.username || c->cfg.password) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg.username ? c->cfg.username : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg.password ? c->cfg.password : "");
	}
	if (cert && key) {
		struct curl_blob cb = {.data = (void *)cert, .len = strlen(cert), .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {.data = (void *)key, .len = strlen(key), .flags = CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
	}
	rc = 0;
out:
	pthread_mutex_unlock(&c->cred_mu);
	return rc;
}

/* After a 401 with exec credentials: run the plugin again next time. */
static void exec_forget(struct kube_client *c)
{
	pthread_mutex_lock(&c->cred_mu);
	c->exec_have = false;
	pthread_mutex_unlock(&c->cred_mu);
}

/* ---- one transfer ---- */

struct xfer {
	struct kube_client *c;
	CURL *h;
	struct sbuf body;
	bool too_big;
	/* a watch */
	kube_watch_cb cb;
	void *ud;
	struct berr **err;
	int cb_rc;   /* 1: stop asked, -1: cb failed */
	long status; /* a watch's answer, once known */
};

static size_t header_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;
	if (x->c->warn && n > 8 && !strncasecmp(buf, "Warning:", 8)) {
		/* Warning: 299 - "text" */
		const char *p = buf + 8;
		const char *end = buf + n;
		while (p < end && *p == ' ')
			p++;
		while (p < end && isdigit((unsigned char)*p))
			p++;
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == '-')
			p++;
		while (p < end && *p == ' ')
			p++;
		struct sbuf m = SBUF_INIT;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				sbuf_addc(&m, *p);
			}
		} else {
			sbuf_add(&m, p, (size_t)(end - p));
			tail_trim(m.s ? m.s : (char *)"");
		}
		if (m.len)
			x->c->warn(x->c->warn_ud, m.s);
		sbuf_release(&m);
	}
	return n;
}

static size_t body_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;
	if (x->body.len + n > KUBE_MAX_BODY) {
		x->too_big = true;
		return 0;
	}
	sbuf_add(&x->body, buf, n);
	return n;
}

static void common_opts(struct kube_client *c, CURL *h, struct xfer *x, char *ebuf)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (c->share)
		curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	if (!c->cfg.no_compression)
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (c->cfg.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->cfg.ca_pem) {
		/* only the cluster's CA, not the system's as well */
		struct curl_blob b = {.data = c->cfg.ca_pem, .len = c->cfg.ca_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->cfg.proxy_url)
		curl_easy_setopt(h, CURLOPT_PROXY, c->cfg.proxy_url);
	else if (c->no_proxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, c->no_proxy);
}

static void add_impersonation(struct kube_client *c, struct curl_slist **hdrs)
{
	char line[1024];
	if (c->cfg.imp_user) {
		snprintf(line, sizeof line, "Impersonate-User: %s", c->cfg.imp_user);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	if (c->cfg.imp_uid) {
		snprintf(line, sizeof line, "Impersonate-Uid: %s", c->cfg.imp_uid);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	size_t i;
	json_t *g;
	json_array_foreach(c->cfg.imp_groups, i, g) {
		snprintf(line, sizeof line, "Impersonate-Group: %s", json_string_value(g));
		*hdrs = curl_slist_append(*hdrs, line);
	}
	const char *k;
	json_t *vs;
	json_object_foreach(c->cfg.imp_extra, k, vs) {
		_cleanup_free_ char *ek = kube_escape_segment(k);
		json_array_foreach(vs, i, g) {
			snprintf(line, sizeof line, "Impersonate-Extra-%s: %s", ek, json_string_value(g));
			*hdrs = curl_slist_append(*hdrs, line);
		}
	}
}

static int transport_error(struct kube_client *c, CURL *h, CURLcode rc, const char *ebuf, struct xfer *x,
			   int timeout_ms, struct berr **err)
{
	const char *srv = c->cfg.server;
	const char *what = ebuf && *ebuf ? ebuf : curl_easy_strerror(rc);
	long oserr = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (x && x->too_big)
		return berr_setc(err, BERR_INVALID, "%s: the answer is larger than %u MiB", srv, KUBE_MAX_BODY >> 20);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED)
			return berr_set(err, 0, "%s: connection refused", srv);
		if (oserr)
			return berr_set(err, 0, "%s: cannot connect: %s", srv, strerror((int)oserr));
		return berr_set(err, 0, "%s: cannot connect: %s", srv, what);
	case CURLE_COULDNT_RESOLVE_HOST:
		return berr_set(err, 0, "%s: cannot resolve the host name (%s)", srv, what);
	case CURLE_COULDNT_RESOLVE_PROXY:
		return berr_set(err, 0, "%s: cannot resolve the proxy %s (%s)", srv,
				c->cfg.proxy_url ? c->cfg.proxy_url : "", what);
	case CURLE_OPERATION_TIMEDOUT:
		return berr_set(err, ETIMEDOUT, "%s: no answer within %d ms", srv, timeout_ms);
	case CURLE_ABORTED_BY_CALLBACK:
		if (c->stop && *c->stop)
			return berr_setc(err, BERR_GENERIC, "%s: stopped", srv);
		return berr_set(err, 0, "%s: %s", srv, what);
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(what, "subject name") || strstr(what, "does not match"))
			return berr_set(err, 0,
					"%s: certificate verify failed (the server's certificate is not for this host; "
					"tls-server-name?): %s",
					srv, what);
		return berr_set(err, 0, "%s: certificate verify failed (wrong CA?): %s", srv, what);
	case CURLE_SSL_CERTPROBLEM:
		return berr_set(err, 0, "%s: the client certificate or key is unusable (%s): %s", srv, c->cfg.where,
				what);
	case CURLE_SSL_CONNECT_ERROR:
		if (strstr(what, "wrong version number") || strstr(what, "packet length too long"))
			return berr_set(err, 0, "%s: TLS handshake failed (not a TLS server? try http://): %s", srv,
					what);
		return berr_set(err, 0, "%s: TLS handshake failed: %s", srv, what);
	default:
		return berr_set(err, 0, "%s: %s", srv, what);
	}
}

static void parse_body(struct kube_resp *r)
{
	const char *p = r->body;
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	if (*p == '{' || *p == '[')
		r->json = json_loadb(r->body, r->len, 0, NULL);
}

/* libcurl calls it at least once a second, connecting or waiting too */
static int stop_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const struct kube_client *c = ud;
	return *c->stop ? 1 : 0;
}

static int request(struct kube_client *c, const char *method, const char *path, const char *accept,
		   const char *content_type, const char *body, size_t len, struct kube_resp *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!path || path[0] != '/')
		return berr_setc(err, BERR_INVALID, "request path \"%s\" does not start with /", path ? path : "");
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s%s", c->url_base, path) < 0)
		return berr_set(err, ENOMEM, "request");
	for (int attempt = 0;; attempt++) {
		CURL *h = pool_get(c);
		if (!h)
			return berr_set(err, ENOMEM, "%s: curl_easy_init", c->cfg.server);
		struct xfer x = {.c = c, .h = h};
		char ebuf[CURL_ERROR_SIZE] = "";
		struct curl_slist *hdrs = NULL;
		common_opts(c, h, &x, ebuf);
		bool used_exec = false;
		if (set_creds(c, h, &hdrs, &used_exec, err) < 0) {
			curl_slist_free_all(hdrs);
			pool_put(c, h);
			return -1;
		}
		add_impersonation(c, &hdrs);
		char line[512];
		snprintf(line, sizeof line, "Accept: %s", accept ? accept : "application/json");
		hdrs = curl_slist_append(hdrs, line);
		if (body) {
			snprintf(line, sizeof line, "Content-Type: %s", content_type ? content_type : "application/json");
			hdrs = curl_slist_append(hdrs, line);
		}
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
		if (!strcmp(method, "GET")) {
			curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		} else if (!strcmp(method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
			if (body) {
				curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
				curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			} else if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
				curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
				curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
			}
		}
		if (c->stop) {
			if (*c->stop) {
				curl_slist_free_all(hdrs);
				pool_put(c, h);
				return berr_setc(err, BERR_GENERIC, "%s: stopped", c->cfg.server);
			}
			curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stop_xferinfo);
			curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
			curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		}
		CURLcode rc = curl_easy_perform(h);
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hdrs);
		if (rc != CURLE_OK) {
			transport_error(c, h, rc, ebuf, &x, c->timeout_ms, err);
			sbuf_release(&x.body);
			pool_put(c, h);
			return -1;
		}
		pool_put(c, h);
		if (status == 401 && used_exec && attempt == 0) {
			/* the plugin's credential may have been revoked early: ask again once */
			exec_forget(c);
			sbuf_release(&x.body);
			continue;
		}
		ret->status = status;
		ret->len = x.body.len;
		ret->body = sbuf_detach(&x.body);
		parse_body(ret);
		return 0;
	}
}

int kube_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
		 const char *body, size_t len, struct kube_resp *ret, struct berr **err)
{
	return request(c, method, path, NULL, content_type, body, len, ret, err);
}

/* ---- metav1.Status ---- */

static const char *reason_text(long st)
{
	switch (st) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "error";
	}
}

char *kube_status_text(const struct kube_resp *r, const char *prefix, int *ret_code)
{
	struct sbuf b = SBUF_INIT;
	if (prefix && *prefix)
		sbuf_addf(&b, "%s: ", prefix);
	int code = BERR_GENERIC;
	if (r->status == 404)
		code = BERR_NOT_FOUND;
	else if (r->status == 409)
		code = BERR_CONFLICT;
	else if (r->status == 400 || r->status == 422)
		code = BERR_INVALID;
	if (ret_code)
		*ret_code = code;
	json_t *j = r->json;
	const char *kind = json_string_value(json_object_get(j, "kind"));
	bool is_status = kind && !strcmp(kind, "Status");
	const char *msg = is_status ? json_string_value(json_object_get(j, "message")) : NULL;
	json_t *causes = is_status ? json_object_get(json_object_get(j, "details"), "causes") : NULL;
	if (r->status == 0) {
		sbuf_adds(&b, "no answer");
	} else if (r->status == 401) {
		sbuf_adds(&b, "Unauthorized (the credentials were refused)");
	} else if (r->status == 422 && json_array_size(causes)) {
		/* each cause as "field: message" (the server's message repeats them
		 * behind `Kind "name" is invalid: `) */
		size_t i;
		json_t *cs;
		json_array_foreach(causes, i, cs) {
			const char *f = json_string_value(json_object_get(cs, "field"));
			const char *m = json_string_value(json_object_get(cs, "message"));
			if (i)
				sbuf_adds(&b, "; ");
			if (f && *f)
				sbuf_addf(&b, "%s: ", f);
			sbuf_adds(&b, m ? m : json_string_value(json_object_get(cs, "reason")) ?: "invalid");
		}
	} else if (msg && *msg) {
		sbuf_adds(&b, msg);
	} else {
		/* not a Status: the status line and the start of the body */
		sbuf_addf(&b, "%ld %s", r->status, reason_text(r->status));
		if (r->body && *r->body) {
			_cleanup_free_ char *t = strndup(r->body, 300);
			tail_trim(t);
			for (char *p = t; *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
			if (*t)
				sbuf_addf(&b, ": %s", t);
		}
	}
	return sbuf_detach(&b);
}

int kube_status_error(const struct kube_resp *r, const char *prefix, struct berr **err)
{
	int code = 0;
	_cleanup_free_ char *t = kube_status_text(r, prefix, &code);
	return berr_setc(err, code, "%s", t);
}

/* ---- JSON conveniences ---- */

static int json_call(struct kube_client *c, const char *method, const char *path, const char *ctype, json_t *body,
		     json_t **ret, struct berr **err)
{
	if (ret)
		*ret = NULL;
	_cleanup_free_ char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body && !s)
		return berr_set(err, ENOMEM, "%s %s: serializing the body", method, path);
	struct kube_resp r;
	if (request(c, method, path, NULL, ctype, s, s ? strlen(s) : 0, &r, err) < 0)
		return -1;
	if (r.status < 200 || r.status > 299) {
		char pfx[600];
		snprintf(pfx, sizeof pfx, "%s %s", method, path);
		kube_status_error(&r, pfx, err);
		kube_resp_release(&r);
		return -1;
	}
	if (ret) {
		if (!r.json && r.len) {
			berr_set(err, 0, "%s %s: the answer is not JSON", method, path);
			kube_resp_release(&r);
			return -1;
		}
		*ret = r.json ? r.json : json_object();
		r.json = NULL;
	}
	kube_resp_release(&r);
	return 0;
}

int kube_get(struct kube_client *c, const char *path, json_t **ret, struct berr **err)
{
	return json_call(c, "GET", path, NULL, NULL, ret, err);
}

int kube_post(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err)
{
	return json_call(c, "POST", path, NULL, body, ret, err);
}

int kube_put(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err)
{
	return json_call(c, "PUT", path, NULL, body, ret, err);
}

int kube_patch(struct kube_client *c, const char *path, const char *content_type, json_t *body, json_t **ret,
	       struct berr **err)
{
	return json_call(c, "PATCH", path, content_type ? content_type : "application/merge-patch+json", body, ret,
			 err);
}

int kube_delete(struct kube_client *c, const char *path, json_t *body, json_t **ret, struct berr **err)
{
	return json_call(c, "DELETE", path, NULL, body, ret, err);
}

/* ---- watch ---- */

static int watch_line(struct xfer *x, const char *line, size_t n)
{
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
		n--;
	if (!n)
		return 0;
	json_error_t je;
	json_t *ev = json_loadb(line, n, 0, &je);
	if (!ev) {
		berr_set(x->err, 0, "%s: a watch event is not JSON (%s)", x->c->cfg.server, je.text);
		return -1;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (!type || !obj) {
		json_decref(ev);
		berr_set(x->err, 0, "%s: a watch event without type or object", x->c->cfg.server);
		return -1;
	}
	int rc = x->cb(x->ud, type, obj, x->err);
	json_decref(ev);
	return rc;
}

static size_t watch_cb(char *buf, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;
	if (!x->status)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status > 299)
		return body_cb(buf, sz, nm, ud); /* the error's Status */
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		int rc;
		if (x->body.len) {
			sbuf_add(&x->body, buf + start, i - start);
			rc = watch_line(x, x->body.s, x->body.len);
			sbuf_reset(&x->body);
		} else {
			rc = watch_line(x, buf + start, i - start);
		}
		start = i + 1;
		if (rc) {
			x->cb_rc = rc;
			return 0;
		}
	}
	if (start < n) {
		if (x->body.len + (n - start) > KUBE_MAX_EVENT) {
			x->too_big = true;
			return 0;
		}
		sbuf_add(&x->body, buf + start, n - start);
	}
	return n;
}

int kube_watch(struct kube_client *c, const char *path, kube_watch_cb cb, void *ud, volatile int *stop,
	       struct berr **err)
{
	if (!strstr(path, "watch=1") && !strstr(path, "watch=true"))
		return berr_setc(err, BERR_INVALID, "watch %s: the path has no watch=true", path);
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s%s", c->url_base, path) < 0)
		return berr_set(err, ENOMEM, "watch");
	for (int attempt = 0;; attempt++) {
		CURL *h = curl_easy_init();
		CURLM *m = curl_multi_init();
		if (!h || !m) {
			if (h)
				curl_easy_cleanup(h);
			if (m)
				curl_multi_cleanup(m);
			return berr_set(err, ENOMEM, "%s: curl", c->cfg.server);
		}
		struct xfer x = {.c = c, .h = h, .cb = cb, .ud = ud, .err = err};
		char ebuf[CURL_ERROR_SIZE] = "";
		struct curl_slist *hdrs = NULL;
		common_opts(c, h, &x, ebuf);
		bool used_exec = false;
		if (set_creds(c, h, &hdrs, &used_exec, err) < 0) {
			curl_slist_free_all(hdrs);
			curl_easy_cleanup(h);
			curl_multi_cleanup(m);
			return -1;
		}
		add_impersonation(c, &hdrs);
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
		curl_multi_add_handle(m, h);
		int running = 1;
		CURLcode res = CURLE_OK;
		bool stopped = false;
		while (running) {
			if (stop && *stop) {
				stopped = true;
				break;
			}
			CURLMcode mc = curl_multi_perform(m, &running);
			if (mc == CURLM_OK && running)
				mc = curl_multi_poll(m, NULL, 0, 100, NULL);
			if (mc != CURLM_OK) {
				berr_set(err, 0, "%s: watch: %s", c->cfg.server, curl_multi_strerror(mc));
				res = CURLE_FAILED_INIT;
				break;
			}
		}
		if (!stopped && res == CURLE_OK) {
			int left;
			CURLMsg *msg;
			while ((msg = curl_multi_info_read(m, &left)))
				if (msg->msg == CURLMSG_DONE)
					res = msg->data.result;
		}
		long status = x.status;
		if (!status)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		int rc;
		if (stopped) {
			rc = 0;
		} else if (x.cb_rc) {
			rc = x.cb_rc > 0 ? 0 : -1;
		} else if (res == CURLE_FAILED_INIT) {
			rc = -1; /* err set above */
		} else if (res != CURLE_OK && !(status >= 300 && res == CURLE_WRITE_ERROR)) {
			rc = transport_error(c, h, res, ebuf, &x, c->timeout_ms, err);
		} else if (status < 200 || status > 299) {
			if (status == 401 && used_exec && attempt == 0) {
				exec_forget(c);
				curl_multi_remove_handle(m, h);
				curl_easy_cleanup(h);
				curl_multi_cleanup(m);
				curl_slist_free_all(hdrs);
				sbuf_release(&x.body);
				continue;
			}
			struct kube_resp r = {.status = status, .len = x.body.len};
			r.body = sbuf_detach(&x.body);
			parse_body(&r);
			char pfx[600];
			snprintf(pfx, sizeof pfx, "watch %s", path);
			rc = kube_status_error(&r, pfx, err);
			kube_resp_release(&r);
		} else {
			rc = 0; /* the server ended the stream */
		}
		curl_multi_remove_handle(m, h);
		curl_easy_cleanup(h);
		curl_multi_cleanup(m);
		curl_slist_free_all(hdrs);
		sbuf_release(&x.body);
		return rc;
	}
}

/* ---- discovery ---- */

#define ACCEPT_DISCOVERY                                                                                       \
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"                                    \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

static json_t *res_entry(const char *resource, const char *kind, const char *singular, bool namespaced,
			 json_t *short_names)
{
	json_t *e = json_pack("{s:s,s:s,s:s,s:b}", "resource", resource, "kind", kind, "singular",
			      singular && *singular ? singular : "", "namespaced", namespaced);
	if (!e)
		return NULL;
	if (!*json_string_value(json_object_get(e, "singular"))) {
		/* older servers leave singularName empty: the lowercase kind */
		char low[128];
		snprintf(low, sizeof low, "%s", kind);
		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(e, "singular", json_string(low));
	}
	json_object_set_new(e, "short", json_is_array(short_names) ? json_deep_copy(short_names) : json_array());
	return e;
}

/* APIGroupDiscoveryList items -> our groups */
static void add_aggregated(json_t *groups, json_t *list)
{
	size_t i, k, l;
	json_t *item, *ver, *res;
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *gname = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
		json_t *g = json_pack("{s:s,s:[]}", "name", gname ? gname : "", "versions");
		json_array_foreach(json_object_get(item, "versions"), k, ver) {
			const char *v = json_string_value(json_object_get(ver, "version"));
			if (!v)
				continue;
			json_t *rs = json_array();
			json_array_foreach(json_object_get(ver, "resources"), l, res) {
				const char *r = json_string_value(json_object_get(res, "resource"));
				const char *kind =
					json_string_value(json_object_get(json_object_get(res, "responseKind"), "kind"));
				const char *scope = json_string_value(json_object_get(res, "scope"));
				if (!r || !kind || !*kind)
					continue;
				json_t *e = res_entry(r, kind, json_string_value(json_object_get(res, "singularResource")),
						      scope && !strcmp(scope, "Namespaced"),
						      json_object_get(res, "shortNames"));
				if (e)
					json_array_append_new(rs, e);
			}
			json_array_append_new(json_object_get(g, "versions"),
					      json_pack("{s:s,s:o}", "version", v, "resources", rs));
		}
		json_array_append_new(groups, g);
	}
}

static int disc_get(struct kube_client *c, const char *path, json_t **ret, struct berr **err)
{
	*ret = NULL;
	struct kube_resp r;
	if (request(c, "GET", path, ACCEPT_DISCOVERY, NULL, NULL, 0, &r, err) < 0)
		return berr_wrap(err, "API discovery");
	if (r.status < 200 || r.status > 299 || !r.json) {
		char pfx[600];
		snprintf(pfx, sizeof pfx, "API discovery: GET %s%s", c->cfg.server, path);
		if (r.status >= 200 && r.status <= 299)
			berr_set(err, 0, "%s: the answer is not JSON", pfx);
		else
			kube_status_error(&r, pfx, err);
		kube_resp_release(&r);
		return -1;
	}
	*ret = r.json;
	r.json = NULL;
	kube_resp_release(&r);
	return 0;
}

/* disc_mu held */
static int disc_load(struct kube_client *c, struct berr **err)
{
	json_t *api = NULL, *apis = NULL;
	if (disc_get(c, "/api", &api, err) < 0)
		return -1;
	if (disc_get(c, "/apis", &apis, err) < 0) {
		json_decref(api);
		return -1;
	}
	json_t *groups = json_array();
	const char *k1 = json_string_value(json_object_get(api, "kind"));
	const char *k2 = json_string_value(json_object_get(apis, "kind"));
	bool agg = k1 && k2 && !strcmp(k1, "APIGroupDiscoveryList") && !strcmp(k2, "APIGroupDiscoveryList");
	if (agg) {
		add_aggregated(groups, api);
		add_aggregated(groups, apis);
		/* the core group's item may carry no name */
		json_t *g0 = json_array_get(groups, 0);
		if (g0 && json_array_size(json_object_get(api, "items")))
			json_object_set_new(g0, "name", json_string(""));
	} else {
		/* APIVersions and APIGroupList: resources come per group-version, when asked */
		json_t *core = json_pack("{s:s,s:[]}", "name", "", "versions");
		size_t i, k;
		json_t *v, *g;
		json_array_foreach(json_object_get(api, "versions"), i, v) if (json_is_string(v))
			json_array_append_new(json_object_get(core, "versions"),
					      json_pack("{s:s}", "version", json_string_value(v)));
		json_array_append_new(groups, core);
		json_array_foreach(json_object_get(apis, "groups"), i, g) {
			const char *name = json_string_value(json_object_get(g, "name"));
			const char *pref =
				json_string_value(json_object_get(json_object_get(g, "preferredVersion"), "version"));
			if (!name)
				continue;
			json_t *ng = json_pack("{s:s,s:[]}", "name", name, "versions");
			json_t *vs = json_object_get(ng, "versions");
			if (pref)
				json_array_append_new(vs, json_pack("{s:s}", "version", pref));
			json_array_foreach(json_object_get(g, "versions"), k, v) {
				const char *vn = json_string_value(json_object_get(v, "version"));
				if (vn && (!pref || strcmp(vn, pref)))
					json_array_append_new(vs, json_pack("{s:s}", "version", vn));
			}
			json_array_append_new(groups, ng);
		}
	}
	json_decref(api);
	json_decref(apis);
	json_decref(c->disc);
	c->disc = groups;
	c->disc_legacy = !agg;
	return 0;
}

/* The resources of one group-version (fetched when not known yet). */
static json_t *disc_resources(struct kube_client *c, const char *group, json_t *ver, struct berr **err)
{
	json_t *rs = json_object_get(ver, "resources");
	if (rs)
		return rs;
	const char *v = json_string_value(json_object_get(ver, "version"));
	char path[400];
	if (*group)
		snprintf(path, sizeof path, "/apis/%s/%s", group, v);
	else
		snprintf(path, sizeof path, "/api/%s", v);
	json_t *list = NULL;
	if (disc_get(c, path, &list, err) < 0)
		return NULL;
	rs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!name || !kind || strchr(name, '/'))
			continue; /* subresources */
		json_t *e = res_entry(name, kind, json_string_value(json_object_get(r, "singularName")),
				      json_is_true(json_object_get(r, "namespaced")), json_object_get(r, "shortNames"));
		if (e)
			json_array_append_new(rs, e);
	}
	json_decref(list);
	json_object_set_new(ver, "resources", rs);
	return rs;
}

static void fill(struct kube_resource *ret, const char *group, const char *version, json_t *e)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->group, sizeof ret->group, "%s", group);
	snprintf(ret->version, sizeof ret->version, "%s", version);
	snprintf(ret->kind, sizeof ret->kind, "%s", json_string_value(json_object_get(e, "kind")));
	snprintf(ret->resource, sizeof ret->resource, "%s", json_string_value(json_object_get(e, "resource")));
	ret->namespaced = json_is_true(json_object_get(e, "namespaced"));
}

/* 1 found, 0 not, -1 error (disc_mu held) */
static int find_kind(struct kube_client *c, const char *group, const char *version, const char *kind,
		     struct kube_resource *ret, struct berr **err)
{
	size_t i, k, l;
	json_t *g, *v, *e;
	json_array_foreach(c->disc, i, g) {
		if (strcmp(json_string_value(json_object_get(g, "name")), group))
			continue;
		json_array_foreach(json_object_get(g, "versions"), k, v) {
			if (strcmp(json_string_value(json_object_get(v, "version")), version))
				continue;
			json_t *rs = disc_resources(c, group, v, err);
			if (!rs)
				return -1;
			json_array_foreach(rs, l, e) {
				if (!strcmp(json_string_value(json_object_get(e, "kind")), kind)) {
					fill(ret, group, version, e);
					return 1;
				}
			}
		}
	}
	return 0;
}

int kube_discover(struct kube_client *c, const char *api_version, const char *kind, struct kube_resource *ret,
		  struct berr **err)
{
	char group[128], version[32];
	if (kube_split_api_version(api_version, group, sizeof group, version, sizeof version) < 0)
		return berr_setc(err, BERR_INVALID, "apiVersion \"%s\": not GROUP/VERSION or VERSION",
				 api_version ? api_version : "");
	if (!kind || !*kind)
		return berr_setc(err, BERR_INVALID, "no kind (apiVersion \"%s\")", api_version);
	pthread_mutex_lock(&c->disc_mu);
	bool fresh = false;
	int rc = 0;
	if (!c->disc) {
		rc = disc_load(c, err);
		fresh = true;
	}
	if (rc == 0)
		rc = find_kind(c, group, version, kind, ret, err);
	if (rc == 0 && !fresh) {
		/* a kind just added (a CRD): the cache may be older than it */
		rc = disc_load(c, err);
		if (rc == 0)
			rc = find_kind(c, group, version, kind, ret, err);
	}
	pthread_mutex_unlock(&c->disc_mu);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return berr_setc(err, BERR_NOT_FOUND, "no matches for kind \"%s\" in version \"%s\"", kind, api_version);
	return 0;
}

static bool name_matches(json_t *e, const char *word)
{
	if (!strcasecmp(json_string_value(json_object_get(e, "resource")), word) ||
	    !strcasecmp(json_string_value(json_object_get(e, "singular")), word) ||
	    !strcasecmp(json_string_value(json_object_get(e, "kind")), word))
		return true;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(e, "short"), i, s) if (!strcasecmp(json_string_value(s), word)) return true;
	return false;
}

/* word: "deploy", "deployments.apps", "deployments.v1.apps" (disc_mu held) */
static int find_name(struct kube_client *c, const char *word, struct kube_resource *ret, struct berr **err)
{
	char res[256];
	const char *want_group = NULL, *want_version = NULL;
	char gbuf[256], vbuf[64];
	snprintf(res, sizeof res, "%s", word);
	char *dot = strchr(res, '.');
	/* every reading of the word, the most specific first */
	for (int pass = 0; pass < 3; pass++) {
		want_group = want_version = NULL;
		if (pass == 0) {
			if (!dot || !strchr(dot + 1, '.'))
				continue;
			/* resource.version.group */
			const char *v = dot + 1, *g = strchr(v, '.') + 1;
			snprintf(vbuf, sizeof vbuf, "%.*s", (int)(g - 1 - v), v);
			snprintf(gbuf, sizeof gbuf, "%s", g);
			want_version = vbuf;
			want_group = gbuf;
		} else if (pass == 1) {
			if (!dot)
				continue;
			snprintf(gbuf, sizeof gbuf, "%s", dot + 1);
			want_group = gbuf;
		}
		char rname[256];
		snprintf(rname, sizeof rname, "%.*s", (pass < 2 && dot) ? (int)(dot - res) : (int)strlen(res), res);
		size_t i, k, l;
		json_t *g, *v, *e;
		json_array_foreach(c->disc, i, g) {
			const char *gname = json_string_value(json_object_get(g, "name"));
			if (want_group && strcasecmp(gname, want_group))
				continue;
			json_array_foreach(json_object_get(g, "versions"), k, v) {
				const char *vname = json_string_value(json_object_get(v, "version"));
				if (want_version && strcmp(vname, want_version))
					continue;
				json_t *rs = disc_resources(c, gname, v, err);
				if (!rs)
					return -1;
				json_array_foreach(rs, l, e) {
					if (name_matches(e, rname)) {
						fill(ret, gname, vname, e);
						return 1;
					}
				}
			}
		}
	}
	return 0;
}

int kube_discover_name(struct kube_client *c, const char *word, struct kube_resource *ret, struct berr **err)
{
	if (!word || !*word)
		return berr_setc(err, BERR_INVALID, "no resource type given");
	pthread_mutex_lock(&c->disc_mu);
	bool fresh = false;
	int rc = 0;
	if (!c->disc) {
		rc = disc_load(c, err);
		fresh = true;
	}
	if (rc == 0)
		rc = find_name(c, word, ret, err);
	if (rc == 0 && !fresh) {
		rc = disc_load(c, err);
		if (rc == 0)
			rc = find_name(c, word, ret, err);
	}
	pthread_mutex_unlock(&c->disc_mu);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return berr_setc(err, BERR_NOT_FOUND, "the server doesn't have a resource type \"%s\"", word);
	return 0;
}

void kube_discovery_reset(struct kube_client *c)
{
	pthread_mutex_lock(&c->disc_mu);
	json_decref(c->disc);
	c->disc = NULL;
	pthread_mutex_unlock(&c->disc_mu);
}

char *kube_resource_path(const struct kube_resource *r, const char *ns, const char *name)
{
	struct sbuf b = SBUF_INIT;
	if (*r->group)
		sbuf_addf(&b, "/apis/%s/%s", r->group, r->version);
	else
		sbuf_addf(&b, "/api/%s", r->version);
	if (r->namespaced && ns && *ns) {
		_cleanup_free_ char *e = kube_escape_segment(ns);
		sbuf_addf(&b, "/namespaces/%s", e);
	}
	sbuf_addf(&b, "/%s", r->resource);
	if (name) {
		_cleanup_free_ char *e = kube_escape_segment(name);
		sbuf_addf(&b, "/%s", e);
	}
	return sbuf_detach(&b);
}

int kube_server_version(struct kube_client *c, char *buf, size_t n, struct berr **err)
{
	pthread_mutex_lock(&c->disc_mu);
	bool have = c->version[0] != 0;
	pthread_mutex_unlock(&c->disc_mu);
	if (!have) {
		json_t *v = NULL;
		if (kube_get(c, "/version", &v, err) < 0)
			return -1;
		const char *gv = json_string_value(json_object_get(v, "gitVersion"));
		if (!gv) {
			json_decref(v);
			return berr_set(err, 0, "%s: /version has no gitVersion", c->cfg.server);
		}
		pthread_mutex_lock(&c->disc_mu);
		snprintf(c->version, sizeof c->version, "%s", gv);
		pthread_mutex_unlock(&c->disc_mu);
		json_decref(v);
	}
	pthread_mutex_lock(&c->disc_mu);
	snprintf(buf, n, "%s", c->version);
	pthread_mutex_unlock(&c->disc_mu);
	return 0;
}
