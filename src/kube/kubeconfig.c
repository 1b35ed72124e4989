/* kubeconfig as kubectl reads it (client-go's clientcmd): the files of
 * --kubeconfig, else of $KUBECONFIG (':'-separated, missing ones skipped),
 * else ~/.kube/config, merged entry by entry (the first file to name a
 * cluster, user or context wins; current-context is the first file's that
 * has one), then the context picked (--context, else current-context), its
 * cluster and user (--cluster/--user override them), and the flags over
 * that (--server, --token, -n, --insecure-skip-tls-verify). Only the entries
 * in use are checked, as kubectl does, so a broken entry elsewhere in a
 * shared file does not stop a command. Without any kubeconfig, a process in
 * a pod uses its service account (client-go's in-cluster config). */
#include "kube/client-int.h"
#include "compose/yaml.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KC_MAX_FILE (1u << 20) /* a certificate, key or token file */

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kube_base64_decode(const char *s, size_t *ret_len)
{
	size_t n = strlen(s);
	char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0, quad = 0, pad = 0;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t')
			continue;
		if (ch == '=') {
			pad++;
			quad++;
			continue;
		}
		const char *k = strchr(b64tab, ch);
		if (!k || !ch || pad) /* data after padding */
			goto bad;
		acc = (acc << 6) | (unsigned)(k - b64tab);
		bits += 6;
		quad++;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (quad % 4 || pad > 2)
		goto bad;
	out[o] = 0;
	if (ret_len)
		*ret_len = o;
	return out;
bad:
	free(out);
	return NULL;
}

static char *base64_encode(const char *s, size_t n)
{
	struct sbuf b = SBUF_INIT;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		sbuf_addc(&b, b64tab[(v >> 18) & 63]);
		sbuf_addc(&b, b64tab[(v >> 12) & 63]);
		sbuf_addc(&b, i + 1 < n ? b64tab[(v >> 6) & 63] : '=');
		sbuf_addc(&b, i + 2 < n ? b64tab[v & 63] : '=');
	}
	return sbuf_detach(&b);
}

/* ---- reading and merging ---- */

struct kc_files {
	json_t *clusters, *users, *contexts; /* name -> {"v": entry, "file": path} */
	char *current;                       /* current-context */
	char *current_file;
	struct sbuf label;                   /* the files read, ':'-joined */
	int nread;
};

static int add_entries(struct kc_files *f, json_t *top, const char *file, const char *list, const char *field,
		       json_t *into, struct berr **err)
{
	json_t *arr = json_object_get(top, list);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return berr_setc(err, BERR_INVALID, "kubeconfig %s: %s: not a list", file, list);
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		if (!json_is_object(it))
			return berr_setc(err, BERR_INVALID, "kubeconfig %s: %s[%zu]: not a mapping", file, list, i);
		json_t *name = json_object_get(it, "name");
		if (!json_is_string(name) || !*json_string_value(name))
			return berr_setc(err, BERR_INVALID, "kubeconfig %s: %s[%zu]: no name", file, list, i);
		json_t *v = json_object_get(it, field);
		if (v && !json_is_null(v) && !json_is_object(v))
			return berr_setc(err, BERR_INVALID, "kubeconfig %s: %s[%zu] (\"%s\"): %s: not a mapping", file,
					 list, i, json_string_value(name), field);
		if (json_object_get(into, json_string_value(name)))
			continue; /* the first file (and entry) to name it wins */
		json_object_set_new(into, json_string_value(name),
				    json_pack("{s:O,s:s}", "v", json_is_object(v) ? v : json_object(), "file", file));
	}
	(void)f;
	return 0;
}

static int read_one(struct kc_files *f, const char *file, bool must_exist, struct berr **err)
{
	struct stat st;
	if (stat(file, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return berr_set(err, errno, "kubeconfig %s", file);
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, file, CY_MAX_BYTES, &buf, &len, err) < 0)
		return berr_wrap(err, "kubeconfig");
	struct cmarks *m = cmarks_new();
	json_t *top = NULL;
	int rc = compose_yaml_parse(buf, len, file, m, &top, err);
	cmarks_free(m);
	if (rc < 0)
		return berr_wrap(err, "kubeconfig");
	if (f->nread++)
		sbuf_addc(&f->label, ':');
	sbuf_adds(&f->label, file);
	if (!top)
		return 0; /* an empty file is an empty config */
	if (!json_is_object(top)) {
		json_decref(top);
		return berr_setc(err, BERR_INVALID, "kubeconfig %s: not a mapping (a Config object)", file);
	}
	rc = -1;
	json_t *cur = json_object_get(top, "current-context");
	if (cur && !json_is_null(cur) && !json_is_string(cur)) {
		berr_setc(err, BERR_INVALID, "kubeconfig %s: current-context: not a string", file);
		goto out;
	}
	if (add_entries(f, top, file, "clusters", "cluster", f->clusters, err) < 0 ||
	    add_entries(f, top, file, "users", "user", f->users, err) < 0 ||
	    add_entries(f, top, file, "contexts", "context", f->contexts, err) < 0)
		goto out;
	if (!f->current && json_is_string(cur) && *json_string_value(cur)) {
		f->current = strdup(json_string_value(cur));
		f->current_file = strdup(file);
	}
	rc = 0;
out:
	json_decref(top);
	return rc;
}

static void kc_files_release(struct kc_files *f)
{
	json_decref(f->clusters);
	json_decref(f->users);
	json_decref(f->contexts);
	free(f->current);
	free(f->current_file);
	sbuf_release(&f->label);
}

/* ---- one entry's fields ---- */

struct entry {
	json_t *v;
	const char *file;
	char what[512]; /* "kubeconfig FILE: user \"u\"" */
};

static int get_str(struct entry *e, const char *key, const char **ret, struct berr **err)
{
	*ret = NULL;
	json_t *v = json_object_get(e->v, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return berr_setc(err, BERR_INVALID, "%s: %s: not a string", e->what, key);
	if (*json_string_value(v))
		*ret = json_string_value(v);
	return 0;
}

static int get_bool(struct entry *e, const char *key, bool *ret, struct berr **err)
{
	json_t *v = json_object_get(e->v, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return berr_setc(err, BERR_INVALID, "%s: %s: not a boolean (true or false)", e->what, key);
	*ret = json_is_true(v);
	return 0;
}

static char *resolve_path(const char *file, const char *p)
{
	if (p[0] == '/' || !file || !*file)
		return strdup(p);
	const char *slash = strrchr(file, '/');
	if (!slash)
		return strdup(p);
	char *r = NULL;
	if (asprintf(&r, "%.*s/%s", (int)(slash - file), file, p) < 0)
		return NULL;
	return r;
}

static bool is_pem(const char *s) { return strstr(s, "-----BEGIN ") != NULL; }

/* field (a file path) or field-data (base64): the PEM they hold, or NULL */
static int get_pem(struct entry *e, const char *file_key, const char *data_key, char **ret, size_t *ret_len,
		   struct berr **err)
{
	*ret = NULL;
	*ret_len = 0;
	const char *path, *data;
	if (get_str(e, file_key, &path, err) < 0 || get_str(e, data_key, &data, err) < 0)
		return -1;
	if (path && data)
		return berr_setc(err, BERR_INVALID, "%s: %s and %s are both given (one is enough)", e->what, data_key,
				 file_key);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (data) {
		buf = kube_base64_decode(data, &len);
		if (!buf)
			return berr_setc(err, BERR_INVALID, "%s: %s: not base64", e->what, data_key);
		if (!is_pem(buf))
			return berr_setc(err, BERR_INVALID, "%s: %s: not PEM (no -----BEGIN line)", e->what, data_key);
	} else if (path) {
		_cleanup_free_ char *full = resolve_path(e->file, path);
		if (fs_read_file_at(AT_FDCWD, full, KC_MAX_FILE, &buf, &len, err) < 0)
			return berr_wrap(err, "%s: %s", e->what, file_key);
		if (!is_pem(buf))
			return berr_setc(err, BERR_INVALID, "%s: %s: %s is not PEM (no -----BEGIN line)", e->what,
					 file_key, full);
	} else {
		return 0;
	}
	*ret = steal_pointer(&buf);
	*ret_len = len;
	return 0;
}

static int dupstr(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	return 0;
}

static int load_cluster(struct kube_config *c, struct entry *e, struct berr **err)
{
	const char *server, *tsn, *proxy;
	if (get_str(e, "server", &server, err) < 0 || get_str(e, "tls-server-name", &tsn, err) < 0 ||
	    get_str(e, "proxy-url", &proxy, err) < 0 || get_bool(e, "insecure-skip-tls-verify", &c->insecure, err) < 0 ||
	    get_bool(e, "disable-compression", &c->no_compression, err) < 0)
		return -1;
	if (get_pem(e, "certificate-authority", "certificate-authority-data", &c->ca_pem, &c->ca_len, err) < 0)
		return -1;
	if (c->insecure && c->ca_pem)
		return berr_setc(err, BERR_INVALID,
				 "%s: insecure-skip-tls-verify with a certificate-authority: one or the other", e->what);
	if (proxy && strncmp(proxy, "http://", 7) && strncmp(proxy, "https://", 8) && strncmp(proxy, "socks5://", 9))
		return berr_setc(err, BERR_INVALID, "%s: proxy-url: \"%s\": only http, https and socks5 proxies work",
				 e->what, proxy);
	dupstr(&c->server, server);
	dupstr(&c->tls_server_name, tsn);
	dupstr(&c->proxy_url, proxy);
	return 0;
}

static int check_strings(json_t *arr, struct entry *e, const char *key, struct berr **err)
{
	size_t i;
	json_t *s;
	if (!json_is_array(arr))
		return berr_setc(err, BERR_INVALID, "%s: %s: not a list", e->what, key);
	json_array_foreach(arr, i, s) if (!json_is_string(s)) return berr_setc(err, BERR_INVALID,
									     "%s: %s[%zu]: not a string", e->what,
									     key, i);
	return 0;
}

static int load_exec(struct kube_config *c, struct entry *e, json_t *x, struct berr **err)
{
	if (!json_is_object(x))
		return berr_setc(err, BERR_INVALID, "%s: exec: not a mapping", e->what);
	struct entry xe = {.v = x, .file = e->file};
	snprintf(xe.what, sizeof xe.what, "%.400s: exec", e->what);
	const char *cmd, *api, *mode;
	if (get_str(&xe, "command", &cmd, err) < 0 || get_str(&xe, "apiVersion", &api, err) < 0 ||
	    get_str(&xe, "interactiveMode", &mode, err) < 0)
		return -1;
	if (!cmd)
		return berr_setc(err, BERR_INVALID, "%s: command is required", xe.what);
	if (!api)
		return berr_setc(err, BERR_INVALID, "%s: apiVersion is required (client.authentication.k8s.io/v1)",
				 xe.what);
	if (strcmp(api, "client.authentication.k8s.io/v1") && strcmp(api, "client.authentication.k8s.io/v1beta1"))
		return berr_setc(err, BERR_INVALID,
				 "%s: apiVersion \"%s\": not client.authentication.k8s.io/v1 or v1beta1", xe.what, api);
	if (!mode && !strcmp(api, "client.authentication.k8s.io/v1"))
		return berr_setc(err, BERR_INVALID,
				 "%s: interactiveMode must be given with client.authentication.k8s.io/v1 "
				 "(Never, IfAvailable or Always)",
				 xe.what);
	if (mode && strcmp(mode, "Never") && strcmp(mode, "IfAvailable") && strcmp(mode, "Always"))
		return berr_setc(err, BERR_INVALID, "%s: interactiveMode \"%s\": not Never, IfAvailable or Always",
				 xe.what, mode);
	json_t *args = json_object_get(x, "args");
	if (args && !json_is_null(args) && check_strings(args, &xe, "args", err) < 0)
		return -1;
	json_t *env = json_object_get(x, "env");
	if (env && !json_is_null(env)) {
		if (!json_is_array(env))
			return berr_setc(err, BERR_INVALID, "%s: env: not a list", xe.what);
		size_t i;
		json_t *it;
		json_array_foreach(env, i, it) {
			if (!json_is_string(json_object_get(it, "name")) || !json_is_string(json_object_get(it, "value")))
				return berr_setc(err, BERR_INVALID, "%s: env[%zu]: needs a name and a value (strings)",
						 xe.what, i);
		}
	}
	bool pci = false;
	if (get_bool(&xe, "provideClusterInfo", &pci, err) < 0)
		return -1;
	json_t *copy = json_deep_copy(x);
	/* a command with a '/' is relative to the kubeconfig, a bare name is looked up in $PATH */
	if (strchr(cmd, '/') && cmd[0] != '/') {
		_cleanup_free_ char *full = resolve_path(e->file, cmd);
		json_object_set_new(copy, "command", json_string(full));
	}
	if (!mode)
		json_object_set_new(copy, "interactiveMode", json_string("IfAvailable"));
	json_decref(c->exec);
	c->exec = copy;
	return 0;
}

/* The cluster as an exec plugin sees it (ExecCredential spec.cluster). */
static void exec_cluster_info(struct kube_config *c, json_t *cluster_entry)
{
	if (!c->exec || !json_is_true(json_object_get(c->exec, "provideClusterInfo")))
		return;
	json_t *ci = json_object();
	json_object_set_new(ci, "server", json_string(c->server ? c->server : ""));
	if (c->tls_server_name)
		json_object_set_new(ci, "tls-server-name", json_string(c->tls_server_name));
	if (c->insecure)
		json_object_set_new(ci, "insecure-skip-tls-verify", json_true());
	if (c->ca_pem) {
		_cleanup_free_ char *b = base64_encode(c->ca_pem, c->ca_len);
		json_object_set_new(ci, "certificate-authority-data", json_string(b));
	}
	if (c->proxy_url)
		json_object_set_new(ci, "proxy-url", json_string(c->proxy_url));
	if (c->no_compression)
		json_object_set_new(ci, "disable-compression", json_true());
	/* the cluster's extension for exec plugins is passed on as spec.cluster.config */
	json_t *ext = json_object_get(cluster_entry, "extensions");
	size_t i;
	json_t *it;
	if (json_is_array(ext))
		json_array_foreach(ext, i, it) {
			const char *n = json_string_value(json_object_get(it, "name"));
			if (n && !strcmp(n, "client.authentication.k8s.io/exec") && json_object_get(it, "extension"))
				json_object_set(ci, "config", json_object_get(it, "extension"));
		}
	json_object_set_new(c->exec, "_cluster", ci);
}

static int load_user(struct kube_config *c, struct entry *e, struct berr **err)
{
	if (get_pem(e, "client-certificate", "client-certificate-data", &c->cert_pem, &c->cert_len, err) < 0 ||
	    get_pem(e, "client-key", "client-key-data", &c->key_pem, &c->key_len, err) < 0)
		return -1;
	if (c->cert_pem && !c->key_pem)
		return berr_setc(err, BERR_INVALID, "%s: a client certificate without client-key or client-key-data",
				 e->what);
	if (c->key_pem && !c->cert_pem)
		return berr_setc(err, BERR_INVALID,
				 "%s: a client key without client-certificate or client-certificate-data", e->what);
	const char *token, *tfile, *user, *pass, *as, *asuid;
	if (get_str(e, "token", &token, err) < 0 || get_str(e, "tokenFile", &tfile, err) < 0 ||
	    get_str(e, "username", &user, err) < 0 || get_str(e, "password", &pass, err) < 0 ||
	    get_str(e, "as", &as, err) < 0 || get_str(e, "as-uid", &asuid, err) < 0)
		return -1;
	dupstr(&c->token, token);
	if (tfile && !token) /* client-go: a token wins over tokenFile */
		c->token_file = resolve_path(e->file, tfile);
	dupstr(&c->username, user);
	dupstr(&c->password, pass);
	if ((user || pass) && (token || tfile))
		return berr_setc(err, BERR_INVALID,
				 "%s: more than one authentication method (token and username/password): only one is "
				 "allowed",
				 e->what);
	json_t *x = json_object_get(e->v, "exec");
	if (x && !json_is_null(x)) {
		if (user || pass)
			return berr_setc(err, BERR_INVALID, "%s: exec and username/password: only one is allowed",
					 e->what);
		if (load_exec(c, e, x, err) < 0)
			return -1;
	}
	json_t *ap = json_object_get(e->v, "auth-provider");
	if (ap && !json_is_null(ap)) {
		const char *n = json_string_value(json_object_get(ap, "name"));
		const char *idt = json_string_value(json_object_get(json_object_get(ap, "config"), "id-token"));
		if (n && !strcmp(n, "oidc") && idt && *idt) {
			if (!c->token)
				c->token = strdup(idt); /* no refresh: the id-token as it is */
		} else {
			return berr_setc(err, BERR_INVALID,
					 "%s: auth-provider \"%s\" is not supported (kubectl dropped it as well): use an "
					 "exec credential plugin",
					 e->what, n ? n : "");
		}
	}
	dupstr(&c->imp_user, as);
	dupstr(&c->imp_uid, asuid);
	json_t *g = json_object_get(e->v, "as-groups");
	if (g && !json_is_null(g)) {
		if (check_strings(g, e, "as-groups", err) < 0)
			return -1;
		c->imp_groups = json_incref(g);
	}
	json_t *ex = json_object_get(e->v, "as-user-extra");
	if (ex && !json_is_null(ex)) {
		const char *k;
		json_t *v;
		if (!json_is_object(ex))
			return berr_setc(err, BERR_INVALID, "%s: as-user-extra: not a mapping", e->what);
		json_object_foreach(ex, k, v) {
			char key[200];
			snprintf(key, sizeof key, "as-user-extra.%s", k);
			if (check_strings(v, e, key, err) < 0)
				return -1;
		}
		c->imp_extra = json_incref(ex);
	}
	return 0;
}

/* ---- in a pod ---- */

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static int load_in_cluster(struct kube_config *c, struct berr **err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!port || !*port)
		port = "443";
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0)
		return berr_set(err, ENOMEM, "in-cluster config");
	c->token_file = strdup(SA_DIR "/token");
	if (fs_read_file_at(AT_FDCWD, SA_DIR "/ca.crt", KC_MAX_FILE, &c->ca_pem, &c->ca_len, err) < 0)
		return berr_wrap(err, "in-cluster config (no kubeconfig, in a pod)");
	char *ns = NULL;
	struct berr *e = NULL;
	if (fs_read_file_at(AT_FDCWD, SA_DIR "/namespace", 256, &ns, NULL, &e) == 0) {
		ns[strcspn(ns, "\r\n")] = 0;
		if (*ns)
			c->namespace_ = ns;
		else
			free(ns);
	}
	berr_free(e);
	c->where = strdup("in-cluster config (the pod's service account)");
	c->files = strdup("");
	c->context = strdup("");
	return 0;
}

/* ---- all of it ---- */

int kube_config_load(const struct kube_client_opts *o, const char *env_kubeconfig, const char *home,
		     struct kube_config *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	struct kc_files f = {.clusters = json_object(), .users = json_object(), .contexts = json_object()};
	struct kube_config c = {0};
	char cwhere[600] = "";
	int rc = -1;
	if (o->kubeconfig) {
		if (read_one(&f, o->kubeconfig, true, err) < 0)
			goto out;
	} else if (env_kubeconfig && *env_kubeconfig) {
		_cleanup_free_ char *list = strdup(env_kubeconfig);
		json_t *seen = json_object();
		for (char *save = NULL, *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			if (!*p || json_object_get(seen, p))
				continue;
			json_object_set_new(seen, p, json_true());
			if (read_one(&f, p, false, err) < 0) {
				json_decref(seen);
				goto out;
			}
		}
		json_decref(seen);
	} else if (home && *home) {
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/.kube/config", home) < 0 || read_one(&f, p, false, err) < 0)
			goto out;
	}
	const char *label = f.nread ? sbuf_str(&f.label) : NULL;
	const char *kh = getenv("KUBERNETES_SERVICE_HOST");
	if (!f.nread && !o->kubeconfig && !o->server && kh && *kh && access(SA_DIR "/token", R_OK) == 0) {
		if (load_in_cluster(&c, err) < 0)
			goto out;
		goto overrides;
	}
	char nofile[300];
	if (!label) {
		snprintf(nofile, sizeof nofile, "no kubeconfig (%s)",
			 env_kubeconfig && *env_kubeconfig ? "none of the files of $KUBECONFIG exists"
							   : "$KUBECONFIG is not set and ~/.kube/config does not exist");
	} else {
		snprintf(nofile, sizeof nofile, "kubeconfig %s", label);
	}
	c.files = strdup(label ? label : "");
	const char *ctxname = o->context ? o->context : f.current;
	json_t *ctx = NULL;
	if (ctxname && *ctxname) {
		json_t *ce = json_object_get(f.contexts, ctxname);
		if (!ce) {
			berr_setc(err, BERR_NOT_FOUND, "%s: context \"%s\" not found%s", nofile, ctxname,
				  o->context ? "" : " (the current-context)");
			goto out;
		}
		ctx = json_object_get(ce, "v");
		struct entry e = {.v = ctx, .file = json_string_value(json_object_get(ce, "file"))};
		snprintf(e.what, sizeof e.what, "kubeconfig %s: context \"%s\"", e.file, ctxname);
		const char *cl, *us, *ns;
		if (get_str(&e, "cluster", &cl, err) < 0 || get_str(&e, "user", &us, err) < 0 ||
		    get_str(&e, "namespace", &ns, err) < 0)
			goto out;
		c.cluster_name = cl ? strdup(cl) : NULL;
		c.user_name = us ? strdup(us) : NULL;
		c.namespace_ = ns ? strdup(ns) : NULL;
	}
	c.context = strdup(ctxname ? ctxname : "");
	if (o->cluster)
		dupstr(&c.cluster_name, o->cluster);
	if (o->user)
		dupstr(&c.user_name, o->user);
	json_t *cluster_entry = NULL;
	if (c.cluster_name) {
		json_t *ce = json_object_get(f.clusters, c.cluster_name);
		if (!ce) {
			if (ctxname && *ctxname && !o->cluster)
				berr_setc(err, BERR_NOT_FOUND, "%s: context \"%s\": cluster \"%s\" not found", nofile,
					  ctxname, c.cluster_name);
			else
				berr_setc(err, BERR_NOT_FOUND, "%s: cluster \"%s\" not found", nofile, c.cluster_name);
			goto out;
		}
		struct entry e = {.v = json_object_get(ce, "v"), .file = json_string_value(json_object_get(ce, "file"))};
		cluster_entry = e.v;
		snprintf(e.what, sizeof e.what, "kubeconfig %s: cluster \"%s\"", e.file, c.cluster_name);
		snprintf(cwhere, sizeof cwhere, "%s", e.what);
		if (load_cluster(&c, &e, err) < 0)
			goto out;
		if (!c.server && !o->server) {
			berr_setc(err, BERR_INVALID, "%s: no server", e.what);
			goto out;
		}
	}
	if (c.user_name) {
		json_t *ue = json_object_get(f.users, c.user_name);
		if (!ue) {
			if (ctxname && *ctxname && !o->user)
				berr_setc(err, BERR_NOT_FOUND, "%s: context \"%s\": user \"%s\" not found", nofile, ctxname,
					  c.user_name);
			else
				berr_setc(err, BERR_NOT_FOUND, "%s: user \"%s\" not found", nofile, c.user_name);
			goto out;
		}
		struct entry e = {.v = json_object_get(ue, "v"), .file = json_string_value(json_object_get(ue, "file"))};
		snprintf(e.what, sizeof e.what, "kubeconfig %s: user \"%s\"", e.file, c.user_name);
		if (load_user(&c, &e, err) < 0)
			goto out;
		c.where = strdup(e.what);
	}
	if (!c.where) {
		char w[400];
		snprintf(w, sizeof w, "%s", nofile);
		c.where = strdup(w);
	}
	if (!c.server && !o->server) {
		if (!ctxname || !*ctxname)
			berr_setc(err, BERR_INVALID, "%s: no current-context: pass --context or set current-context",
				  nofile);
		else
			berr_setc(err, BERR_INVALID, "%s: context \"%s\" names no cluster", nofile, ctxname);
		goto out;
	}
	exec_cluster_info(&c, cluster_entry);
overrides:
	if (o->server)
		dupstr(&c.server, o->server);
	if (o->insecure)
		c.insecure = true;
	if (o->token) {
		/* --token is the credential: no other method of the user */
		dupstr(&c.token, o->token);
		free(c.token_file);
		c.token_file = NULL;
		free(c.username);
		free(c.password);
		c.username = c.password = NULL;
		json_decref(c.exec);
		c.exec = NULL;
	}
	if (o->namespace_ && *o->namespace_)
		dupstr(&c.namespace_, o->namespace_);
	if (!c.namespace_)
		c.namespace_ = strdup("default");
	/* a server without a scheme is https, as kubectl takes it */
	const char *swhere = o->server ? "--server" : *cwhere ? cwhere : c.where;
	if (strncmp(c.server, "https://", 8) && strncmp(c.server, "http://", 7)) {
		if (strstr(c.server, "://")) {
			berr_setc(err, BERR_INVALID, "%s: server \"%s\": not an http or https URL", swhere, c.server);
			goto out;
		}
		char *s = NULL;
		if (asprintf(&s, "https://%s", c.server) < 0)
			goto out;
		free(c.server);
		c.server = s;
	}
	const char *host = strstr(c.server, "://") + 3;
	if (!*host || *host == '/' || *host == ':') {
		berr_setc(err, BERR_INVALID, "%s: server \"%s\": no host", swhere, c.server);
		goto out;
	}
	size_t sl = strlen(c.server);
	while (sl > 0 && c.server[sl - 1] == '/')
		c.server[--sl] = 0;
	*ret = c;
	memset(&c, 0, sizeof c);
	rc = 0;
out:
	kube_config_release(&c);
	kc_files_release(&f);
	return rc;
}

void kube_config_release(struct kube_config *c)
{
	free(c->files);
	free(c->context);
	free(c->cluster_name);
	free(c->user_name);
	free(c->namespace_);
	free(c->server);
	free(c->ca_pem);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->cert_pem);
	free(c->key_pem);
	free(c->token);
	free(c->token_file);
	free(c->username);
	free(c->password);
	json_decref(c->exec);
	free(c->imp_user);
	free(c->imp_uid);
	json_decref(c->imp_groups);
	json_decref(c->imp_extra);
	free(c->where);
	memset(c, 0, sizeof(*c));
}
