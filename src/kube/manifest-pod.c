/* Pod specs and pod templates: the API server's defaults (pkg/apis/core/v1
 * defaults) and checks (pkg/apis/core/validation), for what berth's pod
 * runtime runs. */
#include "kube/manifest-int.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENUM(...) ((const char *const[]){__VA_ARGS__, NULL})

static int enum_check(struct kctx *c, json_t *obj, const char *key, const char *path, const char *const *vals)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	struct sbuf b = SBUF_INIT;
	for (size_t i = 0; vals[i]; i++) {
		if (!strcmp(vals[i], s)) {
			sbuf_release(&b);
			return 0;
		}
		sbuf_addf(&b, "%s\"%s\"", i ? ", " : "", vals[i]);
	}
	kval(v, vb, sizeof vb);
	kerr(c, v, obj, kpath(sub, path, key), "Unsupported value: %s: supported values: %s", vb, sbuf_str(&b));
	sbuf_release(&b);
	return -1;
}

static int nonneg(struct kctx *c, json_t *obj, const char *key, const char *path)
{
	char sub[KM_PATH_MAX];
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v) && json_integer_value(v) < 0)
		return kerr(c, v, obj, kpath(sub, path, key), "Invalid value: %lld: must be greater than or equal to 0",
			    (long long)json_integer_value(v));
	return 0;
}

static bool valid_ip(const char *s)
{
	unsigned char b[16];
	return s && (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1);
}

static int name_check(struct kctx *c, json_t *v, json_t *parent, const char *path, const char *(*rule)(const char *))
{
	char vb[96];
	const char *s = json_string_value(v);
	if (!s || !*s)
		return kerr(c, v, parent, path, "Required value");
	const char *why = rule(s);
	if (why) {
		kval(v, vb, sizeof vb);
		return kerr(c, v, parent, path, "Invalid value: %s: %s", vb, why);
	}
	return 0;
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 2 && !strncmp(p, "..", 2))
			return true;
		p = e ? e + 1 : p + l;
	}
	return false;
}

/* a relative path without ".." (volume items, subPath) */
static int rel_path(struct kctx *c, json_t *v, json_t *parent, const char *path, bool allow_empty)
{
	char vb[96];
	const char *s = json_string_value(v);
	if (!s || (!*s && !allow_empty))
		return kerr(c, v, parent, path, "Required value");
	kval(v, vb, sizeof vb);
	if (s[0] == '/')
		return kerr(c, v, parent, path, "Invalid value: %s: must be a relative path", vb);
	if (has_dotdot(s))
		return kerr(c, v, parent, path, "Invalid value: %s: must not contain '..'", vb);
	return 0;
}

static int file_mode(struct kctx *c, json_t *obj, const char *key, const char *path)
{
	char sub[KM_PATH_MAX];
	json_t *v = json_object_get(obj, key);
	if (v && (json_integer_value(v) < 0 || json_integer_value(v) > 0777))
		return kerr(c, v, obj, kpath(sub, path, key),
			    "Invalid value: %lld: must be a number between 0 and 0777 (octal), both inclusive",
			    (long long)json_integer_value(v));
	return 0;
}

static int config_key(struct kctx *c, json_t *v, json_t *parent, const char *path)
{
	char vb[96];
	const char *s = json_string_value(v);
	if (!s || !*s)
		return kerr(c, v, parent, path, "Required value");
	bool ok = strlen(s) <= 253 && strcmp(s, ".") && strcmp(s, "..") && strncmp(s, "..", 2);
	for (const char *p = s; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
	if (!ok) {
		kval(v, vb, sizeof vb);
		return kerr(c, v, parent, path,
			    "Invalid value: %s: a valid config key must consist of alphanumeric characters, '-', '_' or "
			    "'.'",
			    vb);
	}
	return 0;
}

static int key_items(struct kctx *c, json_t *src, const char *path)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX];
	json_t *items = json_object_get(src, "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		kpathi(sub, kpath(sub2, path, "items"), i);
		if (config_key(c, json_object_get(it, "key"), it, kpath(sub2, sub, "key")) < 0 ||
		    rel_path(c, json_object_get(it, "path"), it, kpath(sub2, sub, "path"), false) < 0 ||
		    file_mode(c, it, "mode", sub) < 0)
			return -1;
	}
	return 0;
}

static bool field_path_ok(const char *fp, bool env)
{
	static const char *const common[] = {"metadata.name", "metadata.namespace", "metadata.uid", NULL};
	static const char *const envonly[] = {"spec.nodeName", "spec.serviceAccountName", "status.hostIP",
					      "status.hostIPs", "status.podIP", "status.podIPs", NULL};
	for (size_t i = 0; common[i]; i++)
		if (!strcmp(fp, common[i]))
			return true;
	if (env)
		for (size_t i = 0; envonly[i]; i++)
			if (!strcmp(fp, envonly[i]))
				return true;
	if (!env && (!strcmp(fp, "metadata.labels") || !strcmp(fp, "metadata.annotations")))
		return true;
	/* metadata.labels['KEY'], metadata.annotations['KEY'] */
	const char *rest = !strncmp(fp, "metadata.labels['", 17)	  ? fp + 17
			   : !strncmp(fp, "metadata.annotations['", 22) ? fp + 22
									  : NULL;
	size_t n = rest ? strlen(rest) : 0;
	return rest && n > 2 && !strcmp(rest + n - 2, "']");
}

static int field_ref(struct kctx *c, json_t *fr, const char *path, bool env)
{
	char sub[KM_PATH_MAX], vb[96];
	km_default(fr, "apiVersion", json_string("v1"));
	json_t *fp = json_object_get(fr, "fieldPath");
	if (!field_path_ok(json_string_value(fp), env)) {
		kval(fp, vb, sizeof vb);
		return kerr(c, fp, fr, kpath(sub, path, "fieldPath"),
			    env ? "Unsupported value: %s: supported values: \"metadata.name\", \"metadata.namespace\", "
				  "\"metadata.uid\", \"metadata.labels['KEY']\", \"metadata.annotations['KEY']\", "
				  "\"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", "
				  "\"status.podIP\", \"status.podIPs\""
				: "Unsupported value: %s: supported values: \"metadata.annotations\", \"metadata.labels\", "
				  "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", "
				  "\"metadata.labels['KEY']\", \"metadata.annotations['KEY']\"",
			    vb);
	}
	return enum_check(c, fr, "apiVersion", path, ENUM("v1"));
}

static int resource_ref(struct kctx *c, json_t *rf, const char *path, json_t *names, bool need_container)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *cn = json_object_get(rf, "containerName");
	if (need_container && (!cn || !*json_string_value(cn)))
		return kerr(c, cn, rf, kpath(sub, path, "containerName"), "Required value");
	if (cn && *json_string_value(cn) && names && !json_object_get(names, json_string_value(cn))) {
		kval(cn, vb, sizeof vb);
		return kerr(c, cn, rf, kpath(sub, path, "containerName"), "Invalid value: %s: must be a container name",
			    vb);
	}
	if (enum_check(c, rf, "resource", path,
		       ENUM("limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu",
			    "requests.memory", "requests.ephemeral-storage")) < 0)
		return -1;
	json_t *d = json_object_get(rf, "divisor");
	if (d) {
		int64_t m = 0;
		const char *why = km_quantity_error(json_string_value(d), &m);
		if (!why && m <= 0)
			why = "must be greater than zero";
		if (why) {
			kval(d, vb, sizeof vb);
			return kerr(c, d, rf, kpath(sub, path, "divisor"), "Invalid value: %s: %s", vb, why);
		}
	}
	return 0;
}

/* ---- volumes ---- */

static const char *const vol_types[] = {"configMap", "secret", "emptyDir", "hostPath", "persistentVolumeClaim",
					"downwardAPI", "projected"};

static int projected(struct kctx *c, json_t *pr, const char *path, json_t *names)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX];
	km_default(pr, "defaultMode", json_integer(0644));
	if (file_mode(c, pr, "defaultMode", path) < 0)
		return -1;
	json_t *srcs = json_object_get(pr, "sources");
	size_t i;
	json_t *s;
	json_array_foreach(srcs, i, s)
	{
		kpathi(sub, kpath(sub2, path, "sources"), i);
		size_t n = json_object_size(s);
		if (n == 0)
			return kerr(c, s, srcs, sub, "Required value: must specify exactly one volume projection");
		if (n > 1)
			return kerr(c, s, srcs, sub, "Forbidden: may not specify more than 1 volume type");
		json_t *x;
		if ((x = json_object_get(s, "configMap")) || (x = json_object_get(s, "secret"))) {
			const char *what = json_object_get(s, "configMap") ? "configMap" : "secret";
			kpath(sub2, sub, what);
			char sub3[KM_PATH_MAX];
			if (name_check(c, json_object_get(x, "name"), x, kpath(sub3, sub2, "name"), km_dns1123_subdomain) < 0 ||
			    key_items(c, x, sub2) < 0)
				return -1;
		} else if ((x = json_object_get(s, "downwardAPI"))) {
			kpath(sub2, sub, "downwardAPI");
			json_t *items = json_object_get(x, "items");
			size_t j;
			json_t *it;
			json_array_foreach(items, j, it)
			{
				char ip[KM_PATH_MAX], f[KM_PATH_MAX];
				kpathi(ip, kpath(f, sub2, "items"), j);
				if (rel_path(c, json_object_get(it, "path"), it, kpath(f, ip, "path"), false) < 0 ||
				    file_mode(c, it, "mode", ip) < 0)
					return -1;
				json_t *fr = json_object_get(it, "fieldRef"), *rf = json_object_get(it, "resourceFieldRef");
				if (!!fr == !!rf)
					return kerr(c, it, items, ip,
						    fr ? "Invalid value: \"\": fieldRef and resourceFieldRef can not be "
							 "specified simultaneously"
						       : "Required value: one of fieldRef and resourceFieldRef is required");
				if (fr && field_ref(c, fr, kpath(f, ip, "fieldRef"), false) < 0)
					return -1;
				if (rf && resource_ref(c, rf, kpath(f, ip, "resourceFieldRef"), names, true) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int volume(struct kctx *c, json_t *v, const char *path, json_t *names)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX], vb[96];
	size_t nsrc = 0;
	const char *which = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(vol_types); i++)
		if (json_object_get(v, vol_types[i])) {
			nsrc++;
			which = vol_types[i];
		}
	if (nsrc > 1)
		return kerr(c, v, NULL, path, "Forbidden: may not specify more than 1 volume type");
	if (!nsrc) {
		/* the API server's default */
		json_object_set_new(v, "emptyDir", json_object());
		which = "emptyDir";
	}
	json_t *s = json_object_get(v, which);
	kpath(sub, path, which);
	if (!strcmp(which, "configMap") || !strcmp(which, "secret")) {
		bool cm = !strcmp(which, "configMap");
		if (name_check(c, json_object_get(s, cm ? "name" : "secretName"), s,
			       kpath(sub2, sub, cm ? "name" : "secretName"), km_dns1123_subdomain) < 0)
			return -1;
		km_default(s, "defaultMode", json_integer(0644));
		if (file_mode(c, s, "defaultMode", sub) < 0 || key_items(c, s, sub) < 0)
			return -1;
	} else if (!strcmp(which, "emptyDir")) {
		json_t *md = json_object_get(s, "medium");
		const char *m = json_string_value(md);
		if (m && *m && strcmp(m, "Memory")) {
			kval(md, vb, sizeof vb);
			if (!strncmp(m, "HugePages", 9))
				return kerr(c, md, s, kpath(sub2, sub, "medium"),
					    "Invalid value: %s: huge page volumes are not supported by berth kube play", vb);
			return kerr(c, md, s, kpath(sub2, sub, "medium"),
				    "Unsupported value: %s: supported values: \"\", \"Memory\"", vb);
		}
		json_t *sl = json_object_get(s, "sizeLimit");
		const char *why = sl ? km_quantity_error(json_string_value(sl), NULL) : NULL;
		if (why) {
			kval(sl, vb, sizeof vb);
			return kerr(c, sl, s, kpath(sub2, sub, "sizeLimit"), "Invalid value: %s: %s", vb, why);
		}
	} else if (!strcmp(which, "hostPath")) {
		json_t *p = json_object_get(s, "path");
		kval(p, vb, sizeof vb);
		if (json_string_value(p)[0] != '/')
			return kerr(c, p, s, kpath(sub2, sub, "path"), "Invalid value: %s: must be an absolute path", vb);
		if (has_dotdot(json_string_value(p)))
			return kerr(c, p, s, kpath(sub2, sub, "path"), "Invalid value: %s: must not contain '..'", vb);
		if (enum_check(c, s, "type", sub,
			       ENUM("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
				    "BlockDevice")) < 0)
			return -1;
		km_default(s, "type", json_string(""));
	} else if (!strcmp(which, "persistentVolumeClaim")) {
		if (name_check(c, json_object_get(s, "claimName"), s, kpath(sub2, sub, "claimName"),
			       km_dns1123_subdomain) < 0)
			return -1;
	} else if (!strcmp(which, "downwardAPI")) {
		km_default(s, "defaultMode", json_integer(0644));
		if (file_mode(c, s, "defaultMode", sub) < 0)
			return -1;
		json_t *items = json_object_get(s, "items");
		size_t j;
		json_t *it;
		json_array_foreach(items, j, it)
		{
			char ip[KM_PATH_MAX], fp[KM_PATH_MAX];
			kpathi(ip, kpath(fp, sub, "items"), j);
			if (rel_path(c, json_object_get(it, "path"), it, kpath(fp, ip, "path"), false) < 0 ||
			    file_mode(c, it, "mode", ip) < 0)
				return -1;
			json_t *fr = json_object_get(it, "fieldRef"), *rf = json_object_get(it, "resourceFieldRef");
			if (!!fr == !!rf)
				return kerr(c, it, items, ip,
					    fr ? "Invalid value: \"\": fieldRef and resourceFieldRef can not be specified "
						 "simultaneously"
					       : "Required value: one of fieldRef and resourceFieldRef is required");
			if (fr && field_ref(c, fr, kpath(fp, ip, "fieldRef"), false) < 0)
				return -1;
			if (rf && resource_ref(c, rf, kpath(fp, ip, "resourceFieldRef"), names, true) < 0)
				return -1;
		}
	} else if (!strcmp(which, "projected")) {
		if (projected(c, s, sub, names) < 0)
			return -1;
	}
	return 0;
}

/* ---- containers ---- */

static int handler_port(struct kctx *c, json_t *h, const char *path, json_t *ports)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *p = json_object_get(h, "port");
	kpath(sub, path, "port");
	kval(p, vb, sizeof vb);
	if (json_is_integer(p)) {
		if (json_integer_value(p) < 1 || json_integer_value(p) > 65535)
			return kerr(c, p, h, sub, "Invalid value: %s: must be between 1 and 65535, inclusive", vb);
		return 0;
	}
	const char *why = km_iana_svc_name(json_string_value(p));
	if (why)
		return kerr(c, p, h, sub, "Invalid value: %s: %s", vb, why);
	/* the kubelet looks the name up in the container's ports */
	size_t i;
	json_t *cp;
	json_array_foreach(ports, i, cp)
	{
		const char *n = jsonx_str(cp, "name");
		if (n && !strcmp(n, json_string_value(p)))
			return 0;
	}
	return kerr(c, p, h, sub, "Invalid value: %s: not a port name of this container", vb);
}

static int http_get(struct kctx *c, json_t *h, const char *path, json_t *ports)
{
	char sub[KM_PATH_MAX];
	km_default(h, "path", json_string("/"));
	if (!*jsonx_str(h, "path"))
		json_object_set_new(h, "path", json_string("/"));
	km_default(h, "scheme", json_string("HTTP"));
	if (enum_check(c, h, "scheme", path, ENUM("HTTP", "HTTPS")) < 0)
		return -1;
	json_t *hs = json_object_get(h, "httpHeaders");
	size_t i;
	json_t *x;
	json_array_foreach(hs, i, x)
	{
		const char *n = jsonx_str(x, "name");
		bool ok = n && *n;
		for (const char *p = n; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p);
		if (!ok) {
			char vb[96], hp[KM_PATH_MAX];
			kval(json_object_get(x, "name"), vb, sizeof vb);
			kpathi(hp, kpath(sub, path, "httpHeaders"), i);
			return kerr(c, json_object_get(x, "name"), x, kpath(sub, hp, "name"),
				    "Invalid value: %s: a valid HTTP header must consist of alphanumeric characters or '-'",
				    vb);
		}
		km_default(x, "value", json_string(""));
	}
	return handler_port(c, h, path, ports);
}

static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "sleep"};

/* one handler of a probe (sleep: false) or a lifecycle hook */
static int handler(struct kctx *c, json_t *h, const char *path, json_t *ports, bool hook)
{
	char sub[KM_PATH_MAX];
	size_t n = 0;
	const char *which = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (json_object_get(h, handlers[i]) && (hook || strcmp(handlers[i], "sleep"))) {
			n++;
			which = handlers[i];
		}
	if (!n)
		return kerr(c, h, NULL, path, "Required value: must specify a handler type");
	if (n > 1)
		return kerr(c, h, NULL, path, "Forbidden: may not specify more than 1 handler type");
	json_t *x = json_object_get(h, which);
	kpath(sub, path, which);
	if (!strcmp(which, "exec")) {
		if (!json_array_size(json_object_get(x, "command"))) {
			char s2[KM_PATH_MAX];
			return kerr(c, json_object_get(x, "command"), x, kpath(s2, sub, "command"), "Required value");
		}
	} else if (!strcmp(which, "httpGet")) {
		return http_get(c, x, sub, ports);
	} else if (!strcmp(which, "tcpSocket")) {
		if (hook)
			kwarn(c, x, h, sub, "not applied: tcpSocket is not a lifecycle handler (Kubernetes ignores it too)");
		return handler_port(c, x, sub, ports);
	} else if (!strcmp(which, "sleep")) {
		return nonneg(c, x, "seconds", sub);
	}
	return 0;
}

static void zero_default(json_t *p, const char *key, json_int_t v)
{
	json_t *x = json_object_get(p, key);
	if (!x || (json_is_integer(x) && json_integer_value(x) == 0))
		json_object_set_new(p, key, json_integer(v));
}

static int probe(struct kctx *c, json_t *p, const char *path, json_t *ports, const char *which)
{
	char sub[KM_PATH_MAX];
	static const char *const ints[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
					   "successThreshold", "failureThreshold"};
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if (nonneg(c, p, ints[i], path) < 0)
			return -1;
	if (handler(c, p, path, ports, false) < 0)
		return -1;
	zero_default(p, "timeoutSeconds", 1);
	zero_default(p, "periodSeconds", 10);
	zero_default(p, "successThreshold", 1);
	zero_default(p, "failureThreshold", 3);
	json_t *st = json_object_get(p, "successThreshold");
	if (strcmp(which, "readinessProbe") && json_integer_value(st) != 1)
		return kerr(c, st, p, kpath(sub, path, "successThreshold"), "Invalid value: %lld: must be 1",
			    (long long)json_integer_value(st));
	json_t *tg = json_object_get(p, "terminationGracePeriodSeconds");
	if (tg) {
		if (!strcmp(which, "readinessProbe"))
			return kerr(c, tg, p, kpath(sub, path, "terminationGracePeriodSeconds"),
				    "Invalid value: %lld: must not be set for readinessProbes",
				    (long long)json_integer_value(tg));
		if (json_integer_value(tg) < 1)
			return kerr(c, tg, p, kpath(sub, path, "terminationGracePeriodSeconds"),
				    "Invalid value: %lld: must be greater than 0", (long long)json_integer_value(tg));
	}
	return 0;
}

static bool env_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 32 || *p > 126 || *p == '=')
			return false;
	return true;
}

static int env_var(struct kctx *c, json_t *e, const char *path, json_t *names)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *nm = json_object_get(e, "name");
	if (!env_name_ok(json_string_value(nm))) {
		kval(nm, vb, sizeof vb);
		return kerr(c, nm, e, kpath(sub, path, "name"),
			    "Invalid value: %s: a valid environment variable name must consist only of printable ASCII "
			    "characters other than '='",
			    vb);
	}
	json_t *vf = json_object_get(e, "valueFrom");
	if (!vf)
		return 0;
	const char *val = jsonx_str(e, "value");
	kpath(sub, path, "valueFrom");
	if (val && *val)
		return kerr(c, vf, e, sub, "Invalid value: \"\": may not be specified when `value` is not empty");
	size_t n = json_object_size(vf);
	if (!n)
		return kerr(c, vf, e, sub,
			    "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
			    "`secretKeyRef`");
	if (n > 1)
		return kerr(c, vf, e, sub, "Invalid value: \"\": may not have more than one field specified at a time");
	char s2[KM_PATH_MAX], s3[KM_PATH_MAX];
	json_t *x;
	if ((x = json_object_get(vf, "fieldRef")))
		return field_ref(c, x, kpath(s2, sub, "fieldRef"), true);
	if ((x = json_object_get(vf, "resourceFieldRef")))
		return resource_ref(c, x, kpath(s2, sub, "resourceFieldRef"), names, false);
	const char *what = json_object_get(vf, "configMapKeyRef") ? "configMapKeyRef" : "secretKeyRef";
	x = json_object_get(vf, what);
	kpath(s2, sub, what);
	if (name_check(c, json_object_get(x, "name"), x, kpath(s3, s2, "name"), km_dns1123_subdomain) < 0)
		return -1;
	return config_key(c, json_object_get(x, "key"), x, kpath(s3, s2, "key"));
}

static bool std_resource(const char *k)
{
	return !strcmp(k, "cpu") || !strcmp(k, "memory") || !strcmp(k, "ephemeral-storage") ||
	       !strncmp(k, "hugepages-", 10);
}

static int resources(struct kctx *c, json_t *ctr, const char *path)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX], vb[96];
	json_t *r = km_obj(ctr, "resources");
	kpath(sub, path, "resources");
	json_t *lim = json_object_get(r, "limits"), *req = json_object_get(r, "requests");
	static const char *const which[] = {"limits", "requests"};
	json_t *maps[] = {lim, req};
	for (int w = 0; w < 2; w++) {
		const char *k;
		json_t *v;
		json_object_foreach(maps[w], k, v)
		{
			char s3[KM_PATH_MAX];
			kpathk(s2, kpath(s3, sub, which[w]), k);
			const char *why = km_quantity_error(json_string_value(v), NULL);
			if (why) {
				kval(v, vb, sizeof vb);
				return kerr(c, v, maps[w], s2, "Invalid value: %s: %s", vb, why);
			}
			if (!std_resource(k))
				kwarn(c, v, maps[w], s2, "not applied: berth has no %s to give", k);
			else if (!strncmp(k, "hugepages-", 10) || !strcmp(k, "ephemeral-storage"))
				kwarn(c, v, maps[w], s2, "not applied by berth kube play");
		}
	}
	/* requests default to the limits (SetDefaults_Pod), then may not
	 * exceed them */
	if (json_object_size(lim)) {
		req = km_obj(r, "requests");
		const char *k;
		json_t *v;
		json_object_foreach(lim, k, v) km_default(req, k, json_incref(v));
		json_object_foreach(req, k, v)
		{
			json_t *l = json_object_get(lim, k);
			int64_t lm = 0, rm = 0;
			if (!l)
				continue;
			km_quantity_error(json_string_value(l), &lm);
			km_quantity_error(json_string_value(v), &rm);
			if (rm > lm) {
				kpath(s2, sub, "requests");
				kval(v, vb, sizeof vb);
				return kerr(c, v, req, s2, "Invalid value: %s: must be less than or equal to %s limit of %s",
					    vb, k, json_string_value(l));
			}
		}
	}
	return 0;
}

static int seccomp(struct kctx *c, json_t *sc, const char *path)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX];
	json_t *sp = json_object_get(sc, "seccompProfile");
	if (!sp)
		return 0;
	kpath(sub, path, "seccompProfile");
	if (enum_check(c, sp, "type", sub, ENUM("Localhost", "RuntimeDefault", "Unconfined")) < 0)
		return -1;
	const char *t = jsonx_str(sp, "type");
	if (!strcmp(t, "Localhost") && !jsonx_str(sp, "localhostProfile"))
		return kerr(c, sp, sc, kpath(s2, sub, "localhostProfile"),
			    "Required value: must be set when seccomp type is Localhost");
	if (strcmp(t, "RuntimeDefault"))
		kwarn(c, sp, sc, sub, "not applied: berth runs containers with its default seccomp profile");
	return 0;
}

static int security_context(struct kctx *c, json_t *ctr, const char *path)
{
	char sub[KM_PATH_MAX];
	json_t *sc = json_object_get(ctr, "securityContext");
	if (!sc)
		return 0;
	kpath(sub, path, "securityContext");
	if (nonneg(c, sc, "runAsUser", sub) < 0 || nonneg(c, sc, "runAsGroup", sub) < 0 || seccomp(c, sc, sub) < 0)
		return -1;
	json_t *pe = json_object_get(sc, "allowPrivilegeEscalation");
	if (json_is_true(json_object_get(sc, "privileged")) && json_is_false(pe))
		return kerr(c, pe, sc, sub, "Invalid value: \"\": cannot set `allowPrivilegeEscalation` to false and "
			    "`privileged` to true");
	return 0;
}

struct podctx {
	json_t *vols;    /* name -> true: what a mount may name */
	json_t *names;   /* container names */
	json_t *hostports;
	json_t *portnames; /* name -> path of the first */
};

static int container(struct kctx *c, struct podctx *pc, json_t *ctr, const char *path, bool init)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX], s3[KM_PATH_MAX], vb[96];
	/* image */
	json_t *im = json_object_get(ctr, "image");
	const char *image = json_string_value(im);
	if (!image || !*image)
		return kerr(c, im, ctr, kpath(sub, path, "image"), "Required value");
	size_t il = strlen(image);
	kval(im, vb, sizeof vb);
	if (isspace((unsigned char)image[0]) || isspace((unsigned char)image[il - 1]))
		return kerr(c, im, ctr, kpath(sub, path, "image"),
			    "Invalid value: %s: must not have leading or trailing whitespace", vb);
	struct image_ref ref;
	struct berr *e = NULL;
	if (image_ref_parse(image, true, &ref, &e) < 0) {
		kerr(c, im, ctr, kpath(sub, path, "image"), "Invalid value: %s: %s", vb, e ? e->msg : "invalid reference");
		berr_free(e);
		return -1;
	}
	km_default(ctr, "imagePullPolicy", json_string(ref.tag && !strcmp(ref.tag, "latest") ? "Always" : "IfNotPresent"));
	image_ref_release(&ref);
	if (enum_check(c, ctr, "imagePullPolicy", path, ENUM("Always", "IfNotPresent", "Never")) < 0)
		return -1;
	km_default(ctr, "terminationMessagePath", json_string("/dev/termination-log"));
	km_default(ctr, "terminationMessagePolicy", json_string("File"));
	if (enum_check(c, ctr, "terminationMessagePolicy", path, ENUM("File", "FallbackToLogsOnError")) < 0)
		return -1;
	/* restartPolicy on a container: a sidecar (init) or restart rules */
	json_t *rp = json_object_get(ctr, "restartPolicy");
	if (rp) {
		if (!init)
			return kerr(c, rp, ctr, kpath(sub, path, "restartPolicy"),
				    "Forbidden: may not be set for non-init containers");
		if (enum_check(c, ctr, "restartPolicy", path, ENUM("Always")) < 0)
			return -1;
	}
	/* a sidecar (an init container with restartPolicy Always) may have
	 * probes and hooks as an app container */
	bool sidecar = init && rp;
	if (resources(c, ctr, path) < 0 || security_context(c, ctr, path) < 0)
		return -1;
	/* ports */
	json_t *ports = json_object_get(ctr, "ports");
	_cleanup_json_ json_t *mine = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		kpathi(sub, kpath(s2, path, "ports"), i);
		json_t *cp = json_object_get(p, "containerPort");
		json_int_t n = json_integer_value(cp);
		if (n < 1 || n > 65535)
			return kerr(c, cp, p, kpath(s2, sub, "containerPort"),
				    "Invalid value: %lld: must be between 1 and 65535, inclusive", (long long)n);
		km_default(p, "protocol", json_string("TCP"));
		if (enum_check(c, p, "protocol", sub, ENUM("SCTP", "TCP", "UDP")) < 0)
			return -1;
		json_t *hp = json_object_get(p, "hostPort");
		json_int_t h = json_integer_value(hp);
		if (hp && (h < 0 || h > 65535))
			return kerr(c, hp, p, kpath(s2, sub, "hostPort"),
				    "Invalid value: %lld: must be between 1 and 65535, inclusive", (long long)h);
		if (hp && h == 0)
			json_object_del(p, "hostPort");
		json_t *hip = json_object_get(p, "hostIP");
		if (hip && *json_string_value(hip) && !valid_ip(json_string_value(hip))) {
			kval(hip, vb, sizeof vb);
			return kerr(c, hip, p, kpath(s2, sub, "hostIP"), "Invalid value: %s: must be a valid IP address", vb);
		}
		if (h > 0) {
			char key[96];
			snprintf(key, sizeof key, "%lld/%s/%s", (long long)h, jsonx_str(p, "protocol"),
				 hip ? json_string_value(hip) : "");
			if (json_object_get(pc->hostports, key))
				return kerr(c, hp, p, kpath(s2, sub, "hostPort"), "Duplicate value: \"%lld/%s\"",
					    (long long)h, jsonx_str(p, "protocol"));
			json_object_set_new(pc->hostports, key, json_true());
		}
		json_t *nm = json_object_get(p, "name");
		const char *name = json_string_value(nm);
		if (name && *name) {
			const char *why = km_iana_svc_name(name);
			kval(nm, vb, sizeof vb);
			if (why)
				return kerr(c, nm, p, kpath(s2, sub, "name"), "Invalid value: %s: %s", vb, why);
			if (json_object_get(mine, name))
				return kerr(c, nm, p, kpath(s2, sub, "name"), "Duplicate value: %s", vb);
			json_object_set_new(mine, name, json_true());
			const char *first = jsonx_str(pc->portnames, name);
			if (first)
				kwarn(c, nm, p, sub,
				      "duplicate port name \"%s\" with %s, services and probes that select ports by name "
				      "will use %s",
				      name, first, first);
			else
				json_object_set_new(pc->portnames, name, json_string(sub));
		}
	}
	/* env, envFrom */
	json_t *env = json_object_get(ctr, "env");
	json_array_foreach(env, i, p) if (env_var(c, p, kpathi(sub, kpath(s2, path, "env"), i), pc->names) < 0) return -1;
	json_t *ef = json_object_get(ctr, "envFrom");
	json_array_foreach(ef, i, p)
	{
		kpathi(sub, kpath(s2, path, "envFrom"), i);
		size_t n = !!json_object_get(p, "configMapRef") + !!json_object_get(p, "secretRef");
		if (n != 1)
			return kerr(c, p, ef, sub,
				    n ? "Invalid value: \"\": may not have more than one field specified at a time"
				      : "Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`");
		const char *what = json_object_get(p, "configMapRef") ? "configMapRef" : "secretRef";
		json_t *r = json_object_get(p, what);
		kpath(s2, sub, what);
		if (name_check(c, json_object_get(r, "name"), r, kpath(s3, s2, "name"), km_dns1123_subdomain) < 0)
			return -1;
		json_t *pre = json_object_get(p, "prefix");
		if (pre && *json_string_value(pre) && !env_name_ok(json_string_value(pre))) {
			kval(pre, vb, sizeof vb);
			return kerr(c, pre, p, kpath(s2, sub, "prefix"),
				    "Invalid value: %s: a valid environment variable name must consist only of printable "
				    "ASCII characters other than '='",
				    vb);
		}
	}
	/* mounts */
	json_t *vm = json_object_get(ctr, "volumeMounts");
	_cleanup_json_ json_t *paths = json_object();
	json_array_foreach(vm, i, p)
	{
		kpathi(sub, kpath(s2, path, "volumeMounts"), i);
		json_t *nm = json_object_get(p, "name");
		if (!json_object_get(pc->vols, json_string_value(nm))) {
			kval(nm, vb, sizeof vb);
			return kerr(c, nm, p, kpath(s2, sub, "name"), "Not found: %s", vb);
		}
		json_t *mp = json_object_get(p, "mountPath");
		const char *m = json_string_value(mp);
		kval(mp, vb, sizeof vb);
		if (m[0] != '/')
			return kerr(c, mp, p, kpath(s2, sub, "mountPath"), "Invalid value: %s: must be an absolute path", vb);
		if (json_object_get(paths, m))
			return kerr(c, mp, p, kpath(s2, sub, "mountPath"), "Invalid value: %s: must be unique", vb);
		json_object_set_new(paths, m, json_true());
		json_t *sp = json_object_get(p, "subPath");
		if (sp && *json_string_value(sp) && rel_path(c, sp, p, kpath(s2, sub, "subPath"), true) < 0)
			return -1;
	}
	/* probes and hooks */
	static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	for (size_t k = 0; k < ARRAY_SIZE(probes); k++) {
		json_t *pr = json_object_get(ctr, probes[k]);
		if (!pr)
			continue;
		kpath(sub, path, probes[k]);
		if (init && !sidecar)
			return kerr(c, pr, ctr, sub, "Forbidden: may not be set for init containers without restartPolicy=Always");
		if (probe(c, pr, sub, ports, probes[k]) < 0)
			return -1;
	}
	json_t *lc = json_object_get(ctr, "lifecycle");
	if (lc) {
		kpath(sub, path, "lifecycle");
		if (init && !sidecar)
			return kerr(c, lc, ctr, sub, "Forbidden: may not be set for init containers without restartPolicy=Always");
		static const char *const hooks[] = {"postStart", "preStop"};
		for (size_t k = 0; k < ARRAY_SIZE(hooks); k++) {
			json_t *h = json_object_get(lc, hooks[k]);
			if (h && handler(c, h, kpath(s2, sub, hooks[k]), ports, true) < 0)
				return -1;
		}
	}
	return 0;
}

static const char *sysctl_namespaced(const char *n)
{
	static const char *const prefixes[] = {"kernel.shm", "kernel.msg", "fs.mqueue.", "net."};
	if (!strcmp(n, "kernel.sem"))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(n, prefixes[i], strlen(prefixes[i])))
			return NULL;
	return "not a namespaced sysctl: a pod may only set kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.*";
}

static int pod_security(struct kctx *c, json_t *spec, const char *path)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX], vb[96];
	json_t *sc = km_obj(spec, "securityContext");
	kpath(sub, path, "securityContext");
	if (nonneg(c, sc, "runAsUser", sub) < 0 || nonneg(c, sc, "runAsGroup", sub) < 0 ||
	    nonneg(c, sc, "fsGroup", sub) < 0 || seccomp(c, sc, sub) < 0)
		return -1;
	json_t *sys = json_object_get(sc, "sysctls");
	_cleanup_json_ json_t *seen = json_object();
	size_t i;
	json_t *s;
	json_array_foreach(sys, i, s)
	{
		char sl[KM_PATH_MAX];
		kpathi(s2, kpath(sl, sub, "sysctls"), i);
		json_t *nm = json_object_get(s, "name");
		const char *n = json_string_value(nm);
		kval(nm, vb, sizeof vb);
		bool ok = strlen(n) <= 253;
		for (const char *p = n; ok && *p; p++)
			ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-/", *p);
		char np[KM_PATH_MAX];
		kpath(np, s2, "name");
		if (!ok)
			return kerr(c, nm, s, np, "Invalid value: %s: must have at most 253 characters and match regex "
				    "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$", vb);
		const char *why = sysctl_namespaced(n);
		if (why)
			return kerr(c, nm, s, np, "Invalid value: %s: %s", vb, why);
		if (json_object_get(seen, n))
			return kerr(c, nm, s, np, "Duplicate value: %s", vb);
		json_object_set_new(seen, n, json_true());
	}
	return 0;
}

static int dns(struct kctx *c, json_t *spec, const char *path)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX], vb[96];
	if (enum_check(c, spec, "dnsPolicy", path, ENUM("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")) < 0)
		return -1;
	json_t *dc = json_object_get(spec, "dnsConfig");
	kpath(sub, path, "dnsConfig");
	if (!strcmp(jsonx_str(spec, "dnsPolicy"), "None")) {
		if (!dc)
			return kerr(c, json_object_get(spec, "dnsPolicy"), spec, sub,
				    "Required value: must provide `dnsConfig` when `dnsPolicy` is None");
		if (!json_array_size(json_object_get(dc, "nameservers")))
			return kerr(c, dc, spec, kpath(s2, sub, "nameservers"),
				    "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None");
	}
	if (!dc)
		return 0;
	json_t *ns = json_object_get(dc, "nameservers");
	if (json_array_size(ns) > 3)
		return kerr(c, ns, dc, kpath(s2, sub, "nameservers"), "Invalid value: %zu: must not have more than 3 nameservers",
			    json_array_size(ns));
	size_t i;
	json_t *x;
	json_array_foreach(ns, i, x) if (!valid_ip(json_string_value(x)))
	{
		char s3[KM_PATH_MAX];
		kval(x, vb, sizeof vb);
		return kerr(c, x, ns, kpathi(s3, kpath(s2, sub, "nameservers"), i), "Invalid value: %s: must be a valid IP address",
			    vb);
	}
	json_t *se = json_object_get(dc, "searches");
	if (json_array_size(se) > 32)
		return kerr(c, se, dc, kpath(s2, sub, "searches"), "Invalid value: %zu: must not have more than 32 search paths",
			    json_array_size(se));
	json_array_foreach(se, i, x)
	{
		char d[256];
		snprintf(d, sizeof d, "%s", json_string_value(x));
		size_t n = strlen(d);
		if (n && d[n - 1] == '.')
			d[n - 1] = 0;
		const char *why = km_dns1123_subdomain(d);
		if (why) {
			char s3[KM_PATH_MAX];
			kval(x, vb, sizeof vb);
			return kerr(c, x, se, kpathi(s3, kpath(s2, sub, "searches"), i), "Invalid value: %s: %s", vb, why);
		}
	}
	json_t *op = json_object_get(dc, "options");
	json_array_foreach(op, i, x) if (!jsonx_str(x, "name") || !*jsonx_str(x, "name"))
	{
		char s3[KM_PATH_MAX];
		char s4[KM_PATH_MAX];
		return kerr(c, x, op, kpath(s3, kpathi(s2, kpath(s4, sub, "options"), i), "name"), "Required value");
	}
	return 0;
}

int km_pod_spec(struct kctx *c, json_t *spec, const char *path, json_t *claim_templates, bool job)
{
	char sub[KM_PATH_MAX], s2[KM_PATH_MAX], vb[96];
	(void)job;
	if (!json_is_object(spec))
		return kerr(c, spec, NULL, kpath(sub, path, "containers"), "Required value");
	json_t *ctrs = json_object_get(spec, "containers");
	if (!json_array_size(ctrs))
		return kerr(c, ctrs, spec, kpath(sub, path, "containers"), "Required value");
	/* defaults */
	km_default(spec, "restartPolicy", json_string("Always"));
	km_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	km_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	km_default(spec, "schedulerName", json_string("default-scheduler"));
	km_default(spec, "enableServiceLinks", json_true());
	if (enum_check(c, spec, "restartPolicy", path, ENUM("Always", "OnFailure", "Never")) < 0 ||
	    nonneg(c, spec, "terminationGracePeriodSeconds", path) < 0 || dns(c, spec, path) < 0 ||
	    pod_security(c, spec, path) < 0)
		return -1;
	json_t *sn = json_object_get(spec, "schedulerName");
	if (strcmp(json_string_value(sn), "default-scheduler"))
		kwarn(c, sn, spec, kpath(sub, path, "schedulerName"), "not applied: berth runs every pod on one node");
	static const char *const sa[] = {"serviceAccountName", "serviceAccount"};
	for (size_t k = 0; k < ARRAY_SIZE(sa); k++) {
		json_t *v = json_object_get(spec, sa[k]);
		if (!v || !*json_string_value(v))
			continue; /* "" is unset */
		if (name_check(c, v, spec, kpath(sub, path, sa[k]), km_dns1123_subdomain) < 0)
			return -1;
		if (strcmp(json_string_value(v), "default"))
			kwarn(c, v, spec, sub, "not applied: there is no API server, so no service account token");
	}
	static const char *const hn[] = {"hostname", "subdomain"};
	for (size_t k = 0; k < ARRAY_SIZE(hn); k++) {
		json_t *v = json_object_get(spec, hn[k]);
		if (v && *json_string_value(v) && name_check(c, v, spec, kpath(sub, path, hn[k]), km_dns1123_label) < 0)
			return -1;
	}
	json_t *ha = json_object_get(spec, "hostAliases");
	size_t i;
	json_t *x;
	json_array_foreach(ha, i, x)
	{
		kpathi(sub, kpath(s2, path, "hostAliases"), i);
		json_t *ip = json_object_get(x, "ip");
		if (!valid_ip(json_string_value(ip))) {
			kval(ip, vb, sizeof vb);
			return kerr(c, ip, x, kpath(s2, sub, "ip"), "Invalid value: %s: must be a valid IP address", vb);
		}
		json_t *hs = json_object_get(x, "hostnames");
		size_t j;
		json_t *h;
		json_array_foreach(hs, j, h)
		{
			char s3[KM_PATH_MAX];
			if (name_check(c, h, hs, kpathi(s3, kpath(s2, sub, "hostnames"), j), km_dns1123_subdomain) < 0)
				return -1;
		}
	}

	struct podctx pc = {.vols = json_object(), .names = json_object(), .hostports = json_object(),
			    .portnames = json_object()};
	int rc = -1;
	/* volumes */
	json_t *vols = json_object_get(spec, "volumes");
	json_array_foreach(vols, i, x)
	{
		kpathi(sub, kpath(s2, path, "volumes"), i);
		json_t *nm = json_object_get(x, "name");
		if (name_check(c, nm, x, kpath(s2, sub, "name"), km_dns1123_label) < 0)
			goto out;
		if (json_object_get(pc.vols, json_string_value(nm))) {
			kval(nm, vb, sizeof vb);
			kerr(c, nm, x, kpath(s2, sub, "name"), "Duplicate value: %s", vb);
			goto out;
		}
		json_object_set_new(pc.vols, json_string_value(nm), json_true());
	}
	json_object_update_missing(pc.vols, claim_templates);
	/* container names first: resourceFieldRef may name any of them */
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *cs = json_object_get(spec, lists[l]);
		json_array_foreach(cs, i, x)
		{
			kpathi(sub, kpath(s2, path, lists[l]), i);
			json_t *nm = json_object_get(x, "name");
			if (name_check(c, nm, x, kpath(s2, sub, "name"), km_dns1123_label) < 0)
				goto out;
			if (json_object_get(pc.names, json_string_value(nm))) {
				kval(nm, vb, sizeof vb);
				kerr(c, nm, x, kpath(s2, sub, "name"), "Duplicate value: %s", vb);
				goto out;
			}
			json_object_set_new(pc.names, json_string_value(nm), json_true());
		}
	}
	json_array_foreach(vols, i, x) if (volume(c, x, kpathi(sub, kpath(s2, path, "volumes"), i), pc.names) < 0) goto out;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *cs = json_object_get(spec, lists[l]);
		json_array_foreach(cs, i, x)
		{
			kpathi(sub, kpath(s2, path, lists[l]), i);
			if (container(c, &pc, x, sub, l == 0) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	json_decref(pc.vols);
	json_decref(pc.names);
	json_decref(pc.hostports);
	json_decref(pc.portnames);
	return rc;
}

int km_pod_template(struct kctx *c, json_t *tmpl, const char *path, json_t *claim_templates, bool job)
{
	char sub[KM_PATH_MAX];
	if (!json_is_object(tmpl))
		return kerr(c, tmpl, NULL, path, "Required value");
	json_t *meta = json_object_get(tmpl, "metadata");
	if (km_check_labels(c, json_object_get(meta, "labels"), kpath(sub, path, "metadata.labels"), false) < 0 ||
	    km_check_labels(c, json_object_get(meta, "annotations"), kpath(sub, path, "metadata.annotations"), true) < 0)
		return -1;
	json_t *spec = json_object_get(tmpl, "spec");
	if (!spec)
		return kerr(c, NULL, tmpl, kpath(sub, path, "spec.containers"), "Required value");
	return km_pod_spec(c, spec, kpath(sub, path, "spec"), claim_templates, job);
}
