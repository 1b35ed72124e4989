/* kube/client: kubeconfig reading and merging (kubectl's rules), the
 * errors that name the file and the entry, request paths, and the text of
 * metav1.Status errors; kube/apply's manifest reading, kubectl's rollout
 * status lines and diff's cleaning. No server: the requests are tested by
 * tests/integration/t0752-kube-apply.sh against a real kube-apiserver. */
#include "kube/apply.h"
#include "kube/client-int.h"
#include "unit.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void put(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	if (!f) {
		CHECK(0, "writing %s", p);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static const char CA[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
/* base64 of CA */
static char ca_b64[256];

static void b64(const char *s, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)s[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

/* load with --kubeconfig FILE (or $KUBECONFIG when env) */
static int load(struct kube_client_opts *o, const char *env, struct kube_config *c, char **ret_err)
{
	struct berr *e = NULL;
	*ret_err = NULL;
	char envbuf[1024] = "";
	if (env) {
		/* names relative to dir */
		char *list = strdup(env);
		for (char *save = NULL, *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			size_t l = strlen(envbuf);
			snprintf(envbuf + l, sizeof envbuf - l, "%s%s/%s", l ? ":" : "", dir, p);
		}
		free(list);
	}
	int rc = kube_config_load(o, env ? envbuf : NULL, dir, c, &e);
	if (rc < 0) {
		*ret_err = strdup(e && e->msg ? e->msg : "(no message)");
		/* the directory changes per run: messages are compared without it */
		char *p;
		while ((p = strstr(*ret_err, dir)))
			memmove(p, p + strlen(dir) + 1, strlen(p + strlen(dir) + 1) + 1);
	}
	berr_free(e);
	return rc;
}

static char fpath[512];
static const char *F(const char *name)
{
	snprintf(fpath, sizeof fpath, "%s/%s", dir, name);
	return fpath;
}

static void bad(const char *what, const char *file_text, struct kube_client_opts *o, const char *want)
{
	put("bad.yaml", file_text);
	struct kube_client_opts def = {0};
	if (!o)
		o = &def;
	o->kubeconfig = F("bad.yaml");
	struct kube_config c;
	char *err = NULL;
	if (load(o, NULL, &c, &err) == 0)
		kube_config_release(&c);
	CHECK_STR(err, want, "%s", what);
	free(err);
}

static void test_base64(void)
{
	size_t n = 0;
	char *s = kube_base64_decode("aGVsbG8=", &n);
	CHECK_STR(s, "hello", "base64 with padding");
	CHECK(n == 5, "base64 length");
	free(s);
	s = kube_base64_decode("aGVs\nbG8h", &n);
	CHECK_STR(s, "hello!", "base64 across lines");
	free(s);
	CHECK(kube_base64_decode("aGVsbG8", &n) == NULL, "base64 without its padding is refused");
	CHECK(kube_base64_decode("aGV*bG8=", &n) == NULL, "base64 with a stray character is refused");
	CHECK(kube_base64_decode("aGVsbG8=aGVs", &n) == NULL, "base64 with data after the padding is refused");
}

static void test_paths(void)
{
	char g[128], v[32];
	CHECK(kube_split_api_version("apps/v1", g, sizeof g, v, sizeof v) == 0 && !strcmp(g, "apps") &&
		      !strcmp(v, "v1"),
	      "apps/v1 splits");
	CHECK(kube_split_api_version("v1", g, sizeof g, v, sizeof v) == 0 && !*g && !strcmp(v, "v1"), "v1 is core");
	CHECK(kube_split_api_version("a/b/c", g, sizeof g, v, sizeof v) < 0, "a/b/c is refused");
	CHECK(kube_split_api_version("/v1", g, sizeof g, v, sizeof v) < 0, "/v1 is refused");
	CHECK(kube_split_api_version("apps/", g, sizeof g, v, sizeof v) < 0, "apps/ is refused");

	struct kube_resource dep = {.group = "apps", .version = "v1", .kind = "Deployment", .resource = "deployments",
				    .namespaced = true};
	struct kube_resource ns = {.group = "", .version = "v1", .kind = "Namespace", .resource = "namespaces"};
	struct kube_resource cm = {.group = "", .version = "v1", .kind = "ConfigMap", .resource = "configmaps",
				   .namespaced = true};
	char *p = kube_resource_path(&dep, "default", "web");
	CHECK_STR(p, "/apis/apps/v1/namespaces/default/deployments/web", "a namespaced object's path");
	free(p);
	p = kube_resource_path(&dep, "default", NULL);
	CHECK_STR(p, "/apis/apps/v1/namespaces/default/deployments", "a collection's path");
	free(p);
	p = kube_resource_path(&dep, NULL, NULL);
	CHECK_STR(p, "/apis/apps/v1/deployments", "every namespace's collection");
	free(p);
	p = kube_resource_path(&ns, "default", "kube-system");
	CHECK_STR(p, "/api/v1/namespaces/kube-system", "a cluster-scoped object ignores the namespace");
	free(p);
	p = kube_resource_path(&cm, "a b", "x/y?z");
	CHECK_STR(p, "/api/v1/namespaces/a%20b/configmaps/x%2Fy%3Fz", "names are escaped");
	free(p);
}

static const char MAIN[] = "apiVersion: v1\n"
			   "kind: Config\n"
			   "current-context: one\n"
			   "clusters:\n"
			   "- name: c1\n"
			   "  cluster:\n"
			   "    server: https://127.0.0.1:6443/\n"
			   "    certificate-authority: certs/ca.crt\n"
			   "- name: c2\n"
			   "  cluster:\n"
			   "    server: kube.example:443\n"
			   "    insecure-skip-tls-verify: true\n"
			   "    tls-server-name: kubernetes\n"
			   "    proxy-url: socks5://127.0.0.1:1080\n"
			   "users:\n"
			   "- name: u1\n"
			   "  user:\n"
			   "    token: t1\n"
			   "    as: jane\n"
			   "    as-groups: [devs, ops]\n"
			   "- name: broken\n"
			   "  user:\n"
			   "    client-key-data: '!!'\n"
			   "contexts:\n"
			   "- name: one\n"
			   "  context: {cluster: c1, user: u1, namespace: apps}\n"
			   "- name: two\n"
			   "  context: {cluster: c2, user: u1}\n"
			   "- name: nouser\n"
			   "  context: {cluster: c1, user: ghost}\n"
			   "- name: broken\n"
			   "  context: {cluster: c1, user: broken}\n";

static void test_kubeconfig(void)
{
	put("k/certs/ca.crt", CA);
	put("k/config", MAIN);
	struct kube_client_opts o = {.kubeconfig = F("k/config")};
	struct kube_config c;
	char *err = NULL;
	CHECK(load(&o, NULL, &c, &err) == 0, "a kubeconfig loads%s%s", err ? ": " : "", err ? err : "");
	if (!err) {
		CHECK_STR(c.context, "one", "current-context");
		CHECK_STR(c.server, "https://127.0.0.1:6443", "server (trailing / dropped)");
		CHECK_STR(c.namespace_, "apps", "the context's namespace");
		CHECK_STR(c.ca_pem, CA, "certificate-authority relative to the kubeconfig's directory");
		CHECK_STR(c.token, "t1", "token");
		CHECK_STR(c.imp_user, "jane", "as: impersonation");
		CHECK(json_array_size(c.imp_groups) == 2, "as-groups");
		CHECK(!c.insecure, "verify by default");
		kube_config_release(&c);
	}
	free(err);

	o.context = "two";
	o.namespace_ = "ns9";
	CHECK(load(&o, NULL, &c, &err) == 0, "--context two loads");
	if (!err) {
		CHECK_STR(c.server, "https://kube.example:443", "a server without a scheme is https");
		CHECK(c.insecure, "insecure-skip-tls-verify");
		CHECK_STR(c.tls_server_name, "kubernetes", "tls-server-name");
		CHECK_STR(c.proxy_url, "socks5://127.0.0.1:1080", "proxy-url");
		CHECK_STR(c.namespace_, "ns9", "-n over the context's namespace");
		kube_config_release(&c);
	}
	free(err);
	o.context = "two";
	o.namespace_ = NULL;
	if (load(&o, NULL, &c, &err) == 0) {
		CHECK_STR(c.namespace_, "default", "no namespace anywhere: default");
		kube_config_release(&c);
	}
	free(err);

	struct kube_client_opts ov = {.kubeconfig = F("k/config"), .server = "https://10.0.0.1:6443",
				      .token = "flag-token", .insecure = true};
	if (load(&ov, NULL, &c, &err) == 0) {
		CHECK_STR(c.server, "https://10.0.0.1:6443", "--server over the cluster's");
		CHECK_STR(c.token, "flag-token", "--token over the user's");
		CHECK(c.insecure, "--insecure-skip-tls-verify");
		kube_config_release(&c);
	}
	free(err);

	o = (struct kube_client_opts){.kubeconfig = F("k/config"), .context = "nope"};
	load(&o, NULL, &c, &err);
	CHECK_STR(err, "kubeconfig k/config: context \"nope\" not found", "an unknown --context");
	free(err);
	o.context = "nouser";
	load(&o, NULL, &c, &err);
	CHECK_STR(err, "kubeconfig k/config: context \"nouser\": user \"ghost\" not found", "a context's missing user");
	free(err);
	o.context = "broken";
	load(&o, NULL, &c, &err);
	CHECK_STR(err, "kubeconfig k/config: user \"broken\": client-key-data: not base64", "bad base64 named");
	free(err);
	o.context = "one";
	o.user = "broken";
	load(&o, NULL, &c, &err);
	CHECK_STR(err, "kubeconfig k/config: user \"broken\": client-key-data: not base64", "--user picks the user");
	free(err);
	o = (struct kube_client_opts){.kubeconfig = F("k/missing")};
	load(&o, NULL, &c, &err);
	CHECK_STR(err, "kubeconfig k/missing: No such file or directory", "a missing --kubeconfig");
	free(err);
}

static void test_merge(void)
{
	b64(CA, ca_b64);
	char a[2048], b[2048];
	/* a: current-context none; a's cluster "shared" wins over b's */
	snprintf(a, sizeof a,
		 "clusters:\n"
		 "- name: shared\n"
		 "  cluster: {server: 'https://a:1', certificate-authority-data: %s}\n"
		 "users:\n"
		 "- name: ua\n"
		 "  user: {client-certificate: ../pki/a.crt, client-key: ../pki/a.key}\n",
		 ca_b64);
	snprintf(b, sizeof b,
		 "current-context: cb\n"
		 "clusters:\n"
		 "- name: shared\n"
		 "  cluster: {server: 'https://b:2'}\n"
		 "contexts:\n"
		 "- name: cb\n"
		 "  context: {cluster: shared, user: ua}\n");
	put("m/a/config", a);
	put("m/b/config", b);
	put("m/pki/a.crt", "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n");
	put("m/pki/a.key", "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n");
	put("m/empty", "");
	struct kube_client_opts o = {0};
	struct kube_config c;
	char *err = NULL;
	CHECK(load(&o, "m/a/config:m/gone:m/empty:m/b/config", &c, &err) == 0, "$KUBECONFIG merges%s%s",
	      err ? ": " : "", err ? err : "");
	if (!err) {
		CHECK_STR(c.context, "cb", "current-context from the first file that has one");
		CHECK_STR(c.server, "https://a:1", "the first file to name a cluster wins");
		CHECK_STR(c.ca_pem, CA, "certificate-authority-data decoded");
		CHECK(c.cert_pem && strstr(c.cert_pem, "\nA\n"), "client-certificate relative to its own file");
		CHECK(c.key_pem && strstr(c.key_pem, "\nK\n"), "client-key relative to its own file");
		kube_config_release(&c);
	}
	free(err);
	load(&o, "m/gone:m/gone2", &c, &err);
	CHECK_STR(err,
		  "no kubeconfig (none of the files of $KUBECONFIG exists): no current-context: pass --context or set "
		  "current-context",
		  "none of $KUBECONFIG's files");
	free(err);
	/* $HOME/.kube/config without $KUBECONFIG */
	put(".kube/config", "current-context: h\ncontexts:\n- name: h\n  context: {cluster: hc}\nclusters:\n"
			    "- name: hc\n  cluster: {server: 'http://127.0.0.1:8080'}\n");
	if (load(&o, NULL, &c, &err) == 0) {
		CHECK_STR(c.server, "http://127.0.0.1:8080", "~/.kube/config without $KUBECONFIG");
		kube_config_release(&c);
	} else {
		CHECK(0, "~/.kube/config loads: %s", err);
	}
	free(err);
}

static void test_bad(void)
{
	bad("a list that is not one", "clusters: {a: 1}\n", NULL, "kubeconfig bad.yaml: clusters: not a list");
	bad("an entry without a name", "users:\n- user: {token: x}\n", NULL, "kubeconfig bad.yaml: users[0]: no name");
	bad("YAML errors keep their line", "clusters:\n- name: a\n  cluster: {server: [}\n", NULL,
	    "kubeconfig: bad.yaml:3: yaml: did not find expected node content while parsing a flow node");
	bad("a context naming a missing cluster",
	    "current-context: x\ncontexts:\n- name: x\n  context: {cluster: nope, user: u}\n", NULL,
	    "kubeconfig bad.yaml: context \"x\": cluster \"nope\" not found");
	bad("no server",
	    "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {}\n",
	    NULL, "kubeconfig bad.yaml: cluster \"c\": no server");
	bad("insecure and a CA", "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
				 "  cluster: {server: 'https://h', insecure-skip-tls-verify: true, "
				 "certificate-authority-data: LS0tLS1CRUdJTiBYLS0tLS0K}\n",
	    NULL, "kubeconfig bad.yaml: cluster \"c\": insecure-skip-tls-verify with a certificate-authority: one or the other");
	bad("a boolean that is a string",
	    "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
	    "  cluster: {server: 'https://h', insecure-skip-tls-verify: 'yes'}\n",
	    NULL, "kubeconfig bad.yaml: cluster \"c\": insecure-skip-tls-verify: not a boolean (true or false)");
	bad("a missing CA file",
	    "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
	    "  cluster: {server: 'https://h', certificate-authority: nope.crt}\n",
	    NULL, "kubeconfig bad.yaml: cluster \"c\": certificate-authority: opening nope.crt: No such file or directory");
	const char *ctx = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n"
			  "- name: c\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user:\n";
	char buf[2048];
	snprintf(buf, sizeof buf, "%s    client-certificate-data: %s\n", ctx, ca_b64);
	bad("a certificate without a key", buf, NULL,
	    "kubeconfig bad.yaml: user \"u\": a client certificate without client-key or client-key-data");
	snprintf(buf, sizeof buf, "%s    client-key-data: aGVsbG8=\n", ctx);
	bad("a key that is not PEM", buf, NULL, "kubeconfig bad.yaml: user \"u\": client-key-data: not PEM (no -----BEGIN line)");
	snprintf(buf, sizeof buf, "%s    token: t\n    username: a\n", ctx);
	bad("token and basic auth", buf, NULL,
	    "kubeconfig bad.yaml: user \"u\": more than one authentication method (token and username/password): "
	    "only one is allowed");
	snprintf(buf, sizeof buf, "%s    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}\n", ctx);
	bad("exec v1 without interactiveMode", buf, NULL,
	    "kubeconfig bad.yaml: user \"u\": exec: interactiveMode must be given with client.authentication.k8s.io/v1 "
	    "(Never, IfAvailable or Always)");
	snprintf(buf, sizeof buf, "%s    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: aws}\n", ctx);
	bad("exec with an old apiVersion", buf, NULL,
	    "kubeconfig bad.yaml: user \"u\": exec: apiVersion \"client.authentication.k8s.io/v1alpha1\": not "
	    "client.authentication.k8s.io/v1 or v1beta1");
	snprintf(buf, sizeof buf, "%s    exec: {apiVersion: client.authentication.k8s.io/v1beta1}\n", ctx);
	bad("exec without a command", buf, NULL, "kubeconfig bad.yaml: user \"u\": exec: command is required");
	snprintf(buf, sizeof buf, "%s    auth-provider: {name: gcp}\n", ctx);
	bad("a removed auth-provider", buf, NULL,
	    "kubeconfig bad.yaml: user \"u\": auth-provider \"gcp\" is not supported (kubectl dropped it as well): use "
	    "an exec credential plugin");

	/* exec: a command with a slash is relative to the kubeconfig; a bare one is looked up in $PATH */
	snprintf(buf, sizeof buf,
		 "%s    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: bin/plugin\n"
		 "      args: [get-token]\n      env: [{name: A, value: b}]\n      provideClusterInfo: true\n",
		 ctx);
	put("x/config", buf);
	struct kube_client_opts o = {.kubeconfig = F("x/config")};
	struct kube_config c;
	char *err = NULL;
	if (load(&o, NULL, &c, &err) == 0) {
		char want[600];
		snprintf(want, sizeof want, "%s/x/bin/plugin", dir);
		CHECK_STR(json_string_value(json_object_get(c.exec, "command")), want, "an exec command with a / is relative");
		CHECK_STR(json_string_value(json_object_get(c.exec, "interactiveMode")), "IfAvailable",
			  "v1beta1's interactiveMode defaults to IfAvailable");
		CHECK_STR(json_string_value(json_object_get(json_object_get(c.exec, "_cluster"), "server")), "https://h",
			  "provideClusterInfo passes the cluster");
		kube_config_release(&c);
	} else {
		CHECK(0, "an exec user loads: %s", err);
	}
	free(err);
}

static char *status(long code, const char *body)
{
	struct kube_resp r = {.status = code, .body = (char *)body, .len = strlen(body)};
	r.json = json_loads(body, 0, NULL);
	char *t = kube_status_text(&r, "Deployment default/web", NULL);
	json_decref(r.json);
	return t;
}

static void test_status(void)
{
	char *t = status(422, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
			      "\"Deployment.apps \\\"web\\\" is invalid: spec.replicas: Invalid value: -1: must be greater "
			      "than or equal to 0\",\"reason\":\"Invalid\",\"details\":{\"name\":\"web\",\"group\":\"apps\","
			      "\"kind\":\"Deployment\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid "
			      "value: -1: must be greater than or equal to 0\",\"field\":\"spec.replicas\"}]},\"code\":422}");
	CHECK_STR(t, "Deployment default/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
		  "422: each cause as field: message");
	free(t);
	t = status(422, "{\"kind\":\"Status\",\"message\":\"x\",\"details\":{\"causes\":[{\"field\":\"a\",\"message\":"
			"\"Required value\"},{\"field\":\"b\",\"message\":\"Invalid value: 1\"}]}}");
	CHECK_STR(t, "Deployment default/web: a: Required value; b: Invalid value: 1", "several causes");
	free(t);
	t = status(404, "{\"kind\":\"Status\",\"message\":\"deployments.apps \\\"web\\\" not found\",\"reason\":"
			"\"NotFound\",\"code\":404}");
	CHECK_STR(t, "Deployment default/web: deployments.apps \"web\" not found", "404: the server's message");
	free(t);
	t = status(401, "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"code\":401}");
	CHECK_STR(t, "Deployment default/web: Unauthorized (the credentials were refused)", "401");
	free(t);
	t = status(403, "{\"kind\":\"Status\",\"message\":\"deployments.apps \\\"web\\\" is forbidden: User \\\"bob\\\" "
			"cannot patch resource \\\"deployments\\\" in API group \\\"apps\\\" in the namespace "
			"\\\"default\\\"\",\"reason\":\"Forbidden\",\"code\":403}");
	CHECK_STR(t,
		  "Deployment default/web: deployments.apps \"web\" is forbidden: User \"bob\" cannot patch resource "
		  "\"deployments\" in API group \"apps\" in the namespace \"default\"",
		  "403: the RBAC message");
	free(t);
	t = status(503, "upstream connect error\nor disconnect\n");
	CHECK_STR(t, "Deployment default/web: 503 Service Unavailable: upstream connect error or disconnect",
		  "a body that is not a Status");
	free(t);
	struct kube_resp r = {.status = 409, .body = (char *)"", .len = 0};
	int code = -1;
	t = kube_status_text(&r, NULL, &code);
	CHECK_STR(t, "409 Conflict", "no body, no prefix");
	CHECK(code == BERR_CONFLICT, "409 is BERR_CONFLICT");
	free(t);
	r.status = 404;
	free(kube_status_text(&r, NULL, &code));
	CHECK(code == BERR_NOT_FOUND, "404 is BERR_NOT_FOUND");
	r.status = 422;
	free(kube_status_text(&r, NULL, &code));
	CHECK(code == BERR_INVALID, "422 is BERR_INVALID");
}


static void items_bad(const char *what, const char *yaml, const char *want)
{
	struct kube_items it = {0};
	struct berr *e = NULL;
	if (kube_items_read_buffer(yaml, strlen(yaml), "m.yaml", &it, &e) == 0)
		CHECK(0, "%s: refused", what);
	else
		CHECK_STR(e->msg, want, "%s", what);
	berr_free(e);
	kube_items_release(&it);
}

static void test_items(void)
{
	const char *y = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n"
			"apiVersion: v1\nkind: List\nitems:\n"
			"- apiVersion: example.com/v1\n  kind: Widget\n  metadata: {name: w, namespace: x}\n"
			"- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n";
	struct kube_items it = {0};
	struct berr *e = NULL;
	CHECK(kube_items_read_buffer(y, strlen(y), "m.yaml", &it, &e) == 0, "documents and a List read");
	CHECK(it.n == 3, "three objects (the List's items in its place, empty documents skipped): %zu", it.n);
	if (it.n == 3) {
		CHECK_STR(it.v[0].name, "a", "first object");
		CHECK_STR(it.v[0].where, "m.yaml:1", "its line");
		CHECK_STR(it.v[1].name, "w", "a List item of any kind");
		CHECK_STR(it.v[1].where, "m.yaml:9", "a List item's line");
		CHECK_STR(it.v[2].where, "m.yaml:12", "the second List item's line");
	}
	kube_items_release(&it);
	berr_free(e);
	items_bad("no apiVersion", "kind: ConfigMap\nmetadata: {name: a}\n", "m.yaml:1: apiVersion not set");
	items_bad("no kind", "apiVersion: v1\nmetadata: {name: a}\n", "m.yaml:1: kind not set");
	items_bad("no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
		  "m.yaml:1: ConfigMap: metadata.name is required");
	items_bad("generateName", "apiVersion: v1\nkind: Pod\nmetadata: {generateName: p-}\n",
		  "m.yaml:1: Pod: metadata.generateName cannot be applied: apply needs metadata.name");
	items_bad("a scalar document", "a: 1\n---\nhello\n",
		  "m.yaml:1: apiVersion not set");
	items_bad("a List item that is no object", "apiVersion: v1\nkind: List\nitems: [3]\n",
		  "m.yaml:3: not an object (a mapping with apiVersion, kind and metadata)");
	items_bad("YAML errors", "apiVersion: v1\nkind: [\n", "m.yaml:3: yaml: did not find expected node content while parsing a flow node");
}

static json_t *J(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	if (!j)
		printf("# bad test JSON: %s\n", je.text);
	return j;
}

static void rollout(const char *what, struct kube_resource *r, const char *obj, const char *want, bool want_done)
{
	json_t *o = J(obj);
	char *msg = NULL;
	bool done = false;
	struct berr *e = NULL;
	if (kube_rollout_status(r, o, &msg, &done, &e) < 0) {
		CHECK_STR(e->msg, want, "%s (error)", what);
		CHECK(!want_done, "%s: an error is not done", what);
	} else {
		CHECK_STR(msg, want, "%s", what);
		CHECK(done == want_done, "%s: done=%d", what, done);
	}
	free(msg);
	berr_free(e);
	json_decref(o);
}

static void test_rollout(void)
{
	struct kube_resource dep = {.group = "apps", .version = "v1", .kind = "Deployment", .resource = "deployments",
				    .namespaced = true};
	struct kube_resource ds = {.group = "apps", .version = "v1", .kind = "DaemonSet", .resource = "daemonsets",
				   .namespaced = true};
	struct kube_resource sts = {.group = "apps", .version = "v1", .kind = "StatefulSet",
				    .resource = "statefulsets", .namespaced = true};
	struct kube_resource job = {.group = "batch", .version = "v1", .kind = "Job", .resource = "jobs",
				    .namespaced = true};
	struct kube_resource cm = {.version = "v1", .kind = "ConfigMap", .resource = "configmaps", .namespaced = true};
	rollout("deployment: generation not observed", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"status\":{\"observedGeneration\":1}}",
		"Waiting for deployment spec update to be observed...", false);
	rollout("deployment: updating", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,"
		"\"updatedReplicas\":1,\"replicas\":3}}",
		"Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...", false);
	rollout("deployment: old replicas", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,"
		"\"updatedReplicas\":3,\"replicas\":4}}",
		"Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...", false);
	rollout("deployment: availability", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,"
		"\"updatedReplicas\":3,\"replicas\":3,\"availableReplicas\":2}}",
		"Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available...", false);
	rollout("deployment: done", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,"
		"\"updatedReplicas\":3,\"replicas\":3,\"availableReplicas\":3}}",
		"deployment \"web\" successfully rolled out", true);
	rollout("deployment: progress deadline", &dep,
		"{\"metadata\":{\"name\":\"web\",\"generation\":1},\"status\":{\"observedGeneration\":1,\"conditions\":[{\"type\":"
		"\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]}}",
		"deployment \"web\" exceeded its progress deadline", false);
	rollout("daemon set: updating", &ds,
		"{\"metadata\":{\"name\":\"a\",\"generation\":1},\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}},"
		"\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":2,\"updatedNumberScheduled\":1}}",
		"Waiting for daemon set \"a\" rollout to finish: 1 out of 2 new pods have been updated...", false);
	rollout("daemon set: available", &ds,
		"{\"metadata\":{\"name\":\"a\",\"generation\":1},\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":2,"
		"\"updatedNumberScheduled\":2,\"numberAvailable\":1}}",
		"Waiting for daemon set \"a\" rollout to finish: 1 of 2 updated pods are available...", false);
	rollout("daemon set: done", &ds,
		"{\"metadata\":{\"name\":\"a\",\"generation\":1},\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":2,"
		"\"updatedNumberScheduled\":2,\"numberAvailable\":2}}",
		"daemon set \"a\" successfully rolled out", true);
	rollout("daemon set: OnDelete", &ds,
		"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}}}",
		"rollout status is only available for RollingUpdate strategy type", false);
	rollout("statefulset: not observed", &sts, "{\"metadata\":{\"name\":\"db\",\"generation\":1},\"status\":{}}",
		"Waiting for statefulset spec update to be observed...", false);
	rollout("statefulset: ready", &sts,
		"{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":1,"
		"\"readyReplicas\":1}}",
		"Waiting for 2 pods to be ready...", false);
	rollout("statefulset: partitioned", &sts,
		"{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":3,\"updateStrategy\":{\"type\":"
		"\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}}},\"status\":{\"observedGeneration\":1,"
		"\"readyReplicas\":3,\"updatedReplicas\":1}}",
		"Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", false);
	rollout("statefulset: partition 0 done", &sts,
		"{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":3,\"updateStrategy\":{\"type\":"
		"\"RollingUpdate\",\"rollingUpdate\":{\"partition\":0}}},\"status\":{\"observedGeneration\":1,"
		"\"readyReplicas\":3,\"updatedReplicas\":3}}",
		"partitioned roll out complete: 3 new pods have been updated...", true);
	rollout("statefulset: revisions", &sts,
		"{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,"
		"\"readyReplicas\":2,\"updatedReplicas\":1,\"updateRevision\":\"db-2\",\"currentRevision\":\"db-1\"}}",
		"waiting for statefulset rolling update to complete 1 pods at revision db-2...", false);
	rollout("statefulset: complete", &sts,
		"{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,"
		"\"readyReplicas\":2,\"currentReplicas\":2,\"updateRevision\":\"db-1\",\"currentRevision\":\"db-1\"}}",
		"statefulset rolling update complete 2 pods at revision db-1...", true);
	rollout("job: running", &job, "{\"metadata\":{\"name\":\"pi\"},\"spec\":{\"completions\":3},\"status\":{\"succeeded\":1}}",
		"Waiting for job \"pi\" to complete: 1 of 3 completions succeeded...", false);
	rollout("job: complete", &job,
		"{\"metadata\":{\"name\":\"pi\"},\"status\":{\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\",\"status\":"
		"\"True\"}]}}",
		"job \"pi\" completed (1 succeeded)", true);
	rollout("job: failed", &job,
		"{\"metadata\":{\"name\":\"pi\"},\"status\":{\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\",\"reason\":"
		"\"BackoffLimitExceeded\",\"message\":\"Job has reached the specified backoff limit\"}]}}",
		"job \"pi\" failed: BackoffLimitExceeded: Job has reached the specified backoff limit", false);
	rollout("no viewer", &cm, "{\"metadata\":{\"name\":\"x\"}}", "no status viewer has been implemented for ConfigMap",
		false);
	CHECK(!kube_rollout_supported(&cm) && kube_rollout_supported(&dep) && kube_rollout_supported(&job),
	      "kube_rollout_supported");
}

static void test_names(void)
{
	struct kube_resource dep = {.group = "apps", .version = "v1", .kind = "Deployment", .resource = "deployments",
				    .namespaced = true};
	struct kube_resource ns = {.version = "v1", .kind = "Namespace", .resource = "namespaces"};
	char *s = kube_ref_name(&dep, "web");
	CHECK_STR(s, "deployment.apps/web", "kubectl's name of a Deployment");
	free(s);
	s = kube_ref_name(&ns, "apps");
	CHECK_STR(s, "namespace/apps", "a core kind has no group");
	free(s);
	s = kube_ref_label(&dep, "default", "web");
	CHECK_STR(s, "Deployment default/web", "an error's label");
	free(s);
	s = kube_ref_label(&ns, "default", "apps");
	CHECK_STR(s, "Namespace apps", "a cluster-scoped label has no namespace");
	free(s);
	s = kube_item_key(&ns, "x", "apps");
	CHECK_STR(s, "/Namespace//apps", "a cluster-scoped key");
	free(s);
	json_t *sel = J("{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"},\"matchExpressions\":[{\"key\":\"env\","
			"\"operator\":\"In\",\"values\":[\"a\",\"b\"]},{\"key\":\"x\",\"operator\":\"Exists\"},{\"key\":\"y\","
			"\"operator\":\"DoesNotExist\"},{\"key\":\"z\",\"operator\":\"NotIn\",\"values\":[\"c\"]}]}");
	s = kube_label_selector_string(sel);
	CHECK_STR(s, "app=web,tier=fe,env in (a,b),x,!y,z notin (c)", "a LabelSelector as a labelSelector string");
	free(s);
	json_decref(sel);
}

static void test_diff(void)
{
	json_t *o = J("{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",\"resourceVersion\":\"5\",\"generation\":2,"
		      "\"creationTimestamp\":\"t\",\"managedFields\":[{}],\"labels\":{\"z\":\"1\",\"a\":\"2\"}},"
		      "\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"data\":{\"b\":\"1\",\"a\":\"2\"}}");
	json_t *c = kube_diff_clean(o);
	char *s = json_dumps(c, JSON_COMPACT);
	CHECK_STR(s,
		  "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"2\",\"b\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":"
		  "{\"a\":\"2\",\"z\":\"1\"},\"name\":\"a\"}}",
		  "the server's bookkeeping goes, keys are sorted");
	free(s);
	json_decref(c);
	json_decref(o);
	json_t *l = J("{\"data\":{\"same\":\"eA==\",\"changed\":\"eQ==\",\"gone\":\"eg==\"}}");
	json_t *m = J("{\"data\":{\"same\":\"eA==\",\"changed\":\"dw==\",\"new\":\"dg==\"}}");
	kube_diff_mask_secret(l, m);
	s = json_dumps(l, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s, "{\"data\":{\"changed\":\"*** (before)\",\"gone\":\"***\",\"same\":\"***\"}}", "live Secret masked");
	free(s);
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s, "{\"data\":{\"changed\":\"*** (after)\",\"new\":\"***\",\"same\":\"***\"}}", "merged Secret masked");
	free(s);
	json_decref(l);
	json_decref(m);
	m = J("{\"stringData\":{\"k\":\"v\"}}");
	kube_diff_mask_secret(NULL, m);
	s = json_dumps(m, JSON_COMPACT);
	CHECK_STR(s, "{\"stringData\":{\"k\":\"***\"}}", "a new Secret masked");
	free(s);
	json_decref(m);
}

int main(void)
{
	unsetenv("KUBERNETES_SERVICE_HOST");
	snprintf(dir, sizeof dir, "/tmp/test-kube-client.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_base64();
	test_paths();
	test_kubeconfig();
	test_merge();
	test_bad();
	test_status();
	test_items();
	test_rollout();
	test_names();
	test_diff();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_END();
}
