/* Kubernetes manifests: reading (files, directories, stdin, several
 * documents, List kinds), kinds and API versions, metadata, and the checks
 * and defaults of every kind but the pod template's (manifest-pod.c). The
 * order is the API server's: decode (manifest-schema.c: types, unknown
 * fields), convert (old API versions), default, validate. */
#include "kube/manifest-int.h"
#include "kube/selector.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/quantity.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define KM_MAX_OBJECTS 20000   /* objects in one load */
#define KM_MAX_DIR_FILES 10000 /* manifests read from one directory */
#define KM_MAX_LIST_DEPTH 4    /* a List in a List ... */
#define KM_MAX_DATA (1u << 20) /* ConfigMap and Secret data, as the API server */

/* ---- kinds ---- */

enum name_rule { NR_SUBDOMAIN, NR_LABEL, NR_DNS1035 };

struct kkind {
	const char *kind, *group, *plural, *shorts; /* shorts: space-separated */
	bool namespaced;
	enum name_rule rule;
	size_t maxlen;     /* 0: the rule's own */
	const char *old;   /* removed apiVersions still run (space-separated) */
	const char *removed_in;
};

static const struct kkind kinds[] = {
	{"Namespace", "", "namespaces", "ns", false, NR_LABEL, 0, NULL, NULL},
	{"Pod", "", "pods", "po", true, NR_SUBDOMAIN, 0, NULL, NULL},
	{"Deployment", "apps", "deployments", "deploy", true, NR_SUBDOMAIN, 0,
	 "apps/v1beta1 apps/v1beta2 extensions/v1beta1", "1.16"},
	{"ReplicaSet", "apps", "replicasets", "rs", true, NR_SUBDOMAIN, 0, "apps/v1beta2 extensions/v1beta1", "1.16"},
	/* the pods' hostnames are NAME-N: a DNS label */
	{"StatefulSet", "apps", "statefulsets", "sts", true, NR_LABEL, 0, "apps/v1beta1 apps/v1beta2", "1.16"},
	{"DaemonSet", "apps", "daemonsets", "ds", true, NR_SUBDOMAIN, 0, "apps/v1beta2 extensions/v1beta1", "1.16"},
	/* the name is the value of the job-name label */
	{"Job", "batch", "jobs", "", true, NR_SUBDOMAIN, 63, NULL, NULL},
	/* its Jobs are NAME-<11 characters> */
	{"CronJob", "batch", "cronjobs", "cj", true, NR_SUBDOMAIN, 52, "batch/v1beta1", "1.25"},
	{"Service", "", "services", "svc", true, NR_DNS1035, 0, NULL, NULL},
	{"ConfigMap", "", "configmaps", "cm", true, NR_SUBDOMAIN, 0, NULL, NULL},
	{"Secret", "", "secrets", "", true, NR_SUBDOMAIN, 0, NULL, NULL},
	{"PersistentVolumeClaim", "", "persistentvolumeclaims", "pvc", true, NR_SUBDOMAIN, 0, NULL, NULL},
};

const char *const kube_kinds[] = {"Namespace", "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
				  "Job", "CronJob", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim",
				  "List", NULL};

static const struct kkind *kind_find(const char *kind)
{
	if (!kind)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].kind, kind))
			return &kinds[i];
	return NULL;
}

static bool word_in(const char *list, const char *w, bool icase)
{
	size_t n = strlen(w);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !(icase ? strncasecmp(p, w, n) : strncmp(p, w, n)))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

const char *kube_kind_resolve(const char *word)
{
	if (!word || !*word)
		return NULL;
	char w[96];
	snprintf(w, sizeof w, "%s", word);
	char *dot = strchr(w, '.');
	const char *group = NULL;
	if (dot) {
		*dot = 0;
		group = dot + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kkind *k = &kinds[i];
		if (group && strcasecmp(group, k->group))
			continue;
		size_t pl = strlen(k->plural);
		if (!strcasecmp(w, k->kind) || !strcasecmp(w, k->plural) ||
		    (strlen(w) + 1 == pl && !strncasecmp(w, k->plural, pl - 1)) || word_in(k->shorts, w, true))
			return k->kind;
	}
	return NULL;
}

const char *kube_kind_plural(const char *kind)
{
	const struct kkind *k = kind_find(kind);
	return k ? k->plural : NULL;
}

const char *kube_kind_group(const char *kind)
{
	const struct kkind *k = kind_find(kind);
	return k ? k->group : NULL;
}

const char *kube_kind_api_version(const char *kind)
{
	const struct kkind *k = kind_find(kind);
	if (!k)
		return NULL;
	if (!*k->group)
		return "v1";
	return !strcmp(k->group, "apps") ? "apps/v1" : "batch/v1";
}

bool kube_kind_namespaced(const char *kind)
{
	const struct kkind *k = kind_find(kind);
	return k && k->namespaced;
}

/* ---- messages ---- */

void kval(const json_t *v, char *buf, size_t n)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!s) {
		snprintf(buf, n, "null");
		return;
	}
	if (strlen(s) > 80)
		snprintf(buf, n, "%.77s...", s);
	else
		snprintf(buf, n, "%s", s);
	free(s);
}

const char *kpath(char *buf, const char *path, const char *key)
{
	if (!path || !*path)
		snprintf(buf, KM_PATH_MAX, "%s", key);
	else
		snprintf(buf, KM_PATH_MAX, "%s.%s", path, key);
	return buf;
}

const char *kpathi(char *buf, const char *path, size_t i)
{
	snprintf(buf, KM_PATH_MAX, "%s[%zu]", path ? path : "", i);
	return buf;
}

const char *kpathk(char *buf, const char *path, const char *key)
{
	snprintf(buf, KM_PATH_MAX, "%s[%s]", path ? path : "", key);
	return buf;
}

static void where_of(struct kctx *c, const json_t *node, const json_t *fallback, const char **file, int *line)
{
	*file = NULL;
	*line = 0;
	if (node && cmarks_get(c->m->marks, node, file, line, NULL) && *line)
		return;
	if (fallback && cmarks_get(c->m->marks, fallback, file, line, NULL) && *line)
		return;
	*file = c->file;
	*line = c->line;
}

static char *kmsg(struct kctx *c, const json_t *node, const json_t *fallback, const char *path, const char *fmt,
		  va_list ap)
{
	const char *file;
	int line;
	where_of(c, node, fallback, &file, &line);
	struct sbuf b = SBUF_INIT;
	if (file && line)
		sbuf_addf(&b, "%s:%d: ", file, line);
	else if (file)
		sbuf_addf(&b, "%s: ", file);
	if (*c->ident)
		sbuf_addf(&b, "%s: ", c->ident);
	if (path && *path)
		sbuf_addf(&b, "%s: ", path);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0) {
		sbuf_adds(&b, s);
		free(s);
	}
	return sbuf_detach(&b);
}

int kerr(struct kctx *c, const json_t *node, const json_t *fallback, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = kmsg(c, node, fallback, path, fmt, ap);
	va_end(ap);
	return berr_setc(c->err, BERR_INVALID, "%s", s);
}

static void warn_text(struct kube_manifests *m, char *s)
{
	if (!json_object_get(m->warned, s)) {
		json_object_set_new(m->warned, s, json_true());
		json_array_append_new(m->warnings, json_string(s));
	}
	free(s);
}

void kwarn(struct kctx *c, const json_t *node, const json_t *fallback, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = kmsg(c, node, fallback, path, fmt, ap);
	va_end(ap);
	warn_text(c->m, s);
}

/* ---- small helpers ---- */

json_t *km_obj(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

void km_default(json_t *obj, const char *key, json_t *v)
{
	json_t *cur = json_object_get(obj, key);
	/* "" is Go's zero value: unset, as for the API server's defaulters */
	if (!cur || (json_is_string(cur) && !*json_string_value(cur) && json_is_string(v)))
		json_object_set_new(obj, key, v);
	else
		json_decref(v);
}

const char *km_name(const json_t *obj)
{
	const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	return n ? n : "";
}

/* ---- name rules (apimachinery's validation messages) ---- */

static bool is_lalnum(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); }
static bool is_alnum(char ch) { return isalnum((unsigned char)ch) != 0; }

static const char *label_rule(const char *s, size_t n, bool first_alpha)
{
	if (!n || !(first_alpha ? (s[0] >= 'a' && s[0] <= 'z') : is_lalnum(s[0])) || !is_lalnum(s[n - 1]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!is_lalnum(s[i]) && s[i] != '-')
			goto bad;
	return NULL;
bad:
	return first_alpha ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
			     "alphabetic character, and end with an alphanumeric character"
			   : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
			     "must start and end with an alphanumeric character";
}

const char *km_dns1123_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	return label_rule(s, n, false);
}

const char *km_dns1035_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	return label_rule(s, n, true);
}

const char *km_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return "must be no more than 253 characters";
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (label_rule(p, l, false))
			return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
			       "'.', and must start and end with an alphanumeric character";
		if (!dot)
			return NULL;
		p = dot + 1;
	}
}

const char *km_iana_svc_name(const char *s)
{
	size_t n = strlen(s);
	if (n > 15)
		return "must be no more than 15 characters";
	bool letter = false;
	for (size_t i = 0; i < n; i++) {
		if (!is_lalnum(s[i]) && s[i] != '-')
			return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
		if (s[i] == '-' && s[i + 1] == '-')
			return "must not contain consecutive hyphens";
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
	}
	if (!letter)
		return "must contain at least one letter (a-z)";
	if (s[0] == '-' || s[n - 1] == '-')
		return "must not begin or end with a hyphen";
	return NULL;
}

static bool name_part_ok(const char *s, size_t n)
{
	if (!n || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static const char *qualified_name(const char *k)
{
	const char *slash = strchr(k, '/');
	const char *name = k;
	if (slash) {
		if (strchr(slash + 1, '/'))
			return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start "
			       "and end with an alphanumeric character";
		char prefix[260];
		size_t pl = (size_t)(slash - k);
		if (!pl)
			return "prefix part must be non-empty";
		if (pl >= sizeof prefix)
			return "prefix part must be no more than 253 characters";
		memcpy(prefix, k, pl);
		prefix[pl] = 0;
		if (km_dns1123_subdomain(prefix))
			return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
			       "characters, '-' or '.', and must start and end with an alphanumeric character";
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (!n)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!name_part_ok(name, n))
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
		       "an alphanumeric character";
	return NULL;
}

static const char *label_value(const char *v)
{
	size_t n = strlen(v);
	if (n > 63)
		return "must be no more than 63 characters";
	if (n && !name_part_ok(v, n))
		return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
		       "and must start and end with an alphanumeric character";
	return NULL;
}

int km_check_labels(struct kctx *c, json_t *map, const char *path, bool annotations)
{
	if (!json_is_object(map))
		return 0;
	const char *k;
	json_t *v;
	char vb[96];
	size_t total = 0;
	json_object_foreach(map, k, v)
	{
		_cleanup_free_ char *lk = strdup(k);
		if (!lk)
			return berr_set(c->err, ENOMEM, "labels");
		if (annotations)
			for (char *p = lk; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		const char *why = qualified_name(lk);
		if (why) {
			json_t *ks = json_string(k);
			kval(ks, vb, sizeof vb);
			json_decref(ks);
			return kerr(c, v, map, path, "Invalid value: %s: %s", vb, why);
		}
		const char *s = json_string_value(v);
		if (!annotations && s && (why = label_value(s))) {
			kval(v, vb, sizeof vb);
			return kerr(c, v, map, path, "Invalid value: %s: %s", vb, why);
		}
		total += strlen(k) + (s ? strlen(s) : 0);
	}
	if (annotations && total > 256 * 1024)
		return kerr(c, map, NULL, path, "Too long: must have at most 262144 bytes");
	return 0;
}

int km_check_selector(struct kctx *c, json_t *sel, const char *path)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX], vb[96];
	if (!json_is_object(sel))
		return 0;
	if (km_check_labels(c, json_object_get(sel, "matchLabels"), kpath(sub, path, "matchLabels"), false) < 0)
		return -1;
	json_t *exprs = json_object_get(sel, "matchExpressions");
	size_t i;
	json_t *e;
	json_array_foreach(exprs, i, e)
	{
		kpathi(sub2, kpath(sub, path, "matchExpressions"), i);
		const char *key = jsonx_str(e, "key"), *op = jsonx_str(e, "operator");
		json_t *vals = json_object_get(e, "values");
		const char *why = qualified_name(key);
		if (why) {
			kval(json_object_get(e, "key"), vb, sizeof vb);
			return kerr(c, json_object_get(e, "key"), e, kpath(sub, sub2, "key"), "Invalid value: %s: %s", vb,
				    why);
		}
		if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
			if (!json_array_size(vals))
				return kerr(c, vals, e, kpath(sub, sub2, "values"),
					    "Required value: must be specified when `operator` is 'In' or 'NotIn'");
		} else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
			if (json_array_size(vals))
				return kerr(c, vals, e, kpath(sub, sub2, "values"),
					    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
		} else {
			kval(json_object_get(e, "operator"), vb, sizeof vb);
			return kerr(c, json_object_get(e, "operator"), e, kpath(sub, sub2, "operator"),
				    "Invalid value: %s: not a valid selector operator (In, NotIn, Exists, DoesNotExist)", vb);
		}
		size_t j;
		json_t *x;
		json_array_foreach(vals, j, x)
		{
			if ((why = label_value(json_string_value(x)))) {
				kval(x, vb, sizeof vb);
				char sv[KM_PATH_MAX];
				return kerr(c, x, vals, kpathi(sub, kpath(sv, sub2, "values"), j), "Invalid value: %s: %s",
					    vb, why);
			}
		}
	}
	return 0;
}

const char *km_quantity_error(const char *s, int64_t *ret_milli)
{
	int64_t m = 0;
	if (s && *s == '-' && quantity_parse(s + 1, 3, &m) == 0)
		return "must be greater than or equal to 0"; /* well-formed, but the parser takes no sign */
	if (quantity_parse(s, 3, &m) < 0)
		return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
	if (ret_milli)
		*ret_milli = m;
	return NULL;
}

/* ---- selectors ---- */

/* "app=web,tier!=x" for messages */
static void selector_text(const json_t *sel, struct sbuf *b)
{
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v)
	{
		sbuf_addf(b, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ? json_string_value(v) : "");
		first = false;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
	{
		const char *op = jsonx_str(e, "operator");
		sbuf_addf(b, "%s%s%s", first ? "" : ",", !op || strcmp(op, "DoesNotExist") ? "" : "!",
			  jsonx_str(e, "key") ? jsonx_str(e, "key") : "");
		if (op && (!strcmp(op, "In") || !strcmp(op, "NotIn"))) {
			sbuf_adds(b, !strcmp(op, "In") ? " in (" : " notin (");
			size_t j;
			json_t *x;
			json_array_foreach(json_object_get(e, "values"), j, x)
				sbuf_addf(b, "%s%s", j ? "," : "", json_string_value(x) ? json_string_value(x) : "");
			sbuf_addc(b, ')');
		}
		first = false;
	}
}

static void labels_text(const json_t *labels, struct sbuf *b)
{
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)labels, k, v)
	{
		sbuf_addf(b, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ? json_string_value(v) : "");
		first = false;
	}
	if (first)
		sbuf_adds(b, "none");
}

/* ---- values ---- */

static int check_int_min(struct kctx *c, json_t *obj, const char *key, const char *path, json_int_t min)
{
	char sub[KM_PATH_MAX];
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) >= min)
		return 0;
	if (min == 0)
		return kerr(c, v, obj, kpath(sub, path, key), "Invalid value: %lld: must be greater than or equal to 0",
			    (long long)json_integer_value(v));
	return kerr(c, v, obj, kpath(sub, path, key), "Invalid value: %lld: must be greater than or equal to %lld",
		    (long long)json_integer_value(v), (long long)min);
}

/* A string field among fixed values; NULL/absent passes. */
static int check_enum(struct kctx *c, json_t *obj, const char *key, const char *path, const char *const *vals)
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

#define ENUM(...) ((const char *const[]){__VA_ARGS__, NULL})

/* maxSurge / maxUnavailable: an integer >= 0 or "N%" */
static int check_intstr_pct(struct kctx *c, json_t *obj, const char *key, const char *path, bool max100,
			    bool *ret_zero)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *v = json_object_get(obj, key);
	if (ret_zero)
		*ret_zero = false;
	if (!v)
		return 0;
	kpath(sub, path, key);
	kval(v, vb, sizeof vb);
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return kerr(c, v, obj, sub, "Invalid value: %s: must be greater than or equal to 0", vb);
		if (ret_zero)
			*ret_zero = json_integer_value(v) == 0;
		return 0;
	}
	const char *s = json_string_value(v);
	size_t n = strlen(s);
	bool ok = n >= 2 && s[n - 1] == '%';
	for (size_t i = 0; ok && i + 1 < n; i++)
		ok = isdigit((unsigned char)s[i]);
	if (!ok)
		return kerr(c, v, obj, sub,
			    "Invalid value: %s: a valid percent string must be a numeric string followed by an ending '%%' "
			    "(e.g. '1%%',  or '93%%')",
			    vb);
	long pct = strtol(s, NULL, 10);
	if (max100 && pct > 100)
		return kerr(c, v, obj, sub, "Invalid value: %s: must not be greater than 100%%", vb);
	if (ret_zero)
		*ret_zero = pct == 0;
	return 0;
}

/* ---- per kind ---- */

static json_t *at_path(json_t *v, const char *a, const char *b, const char *c3)
{
	return json_object_get(json_object_get(json_object_get(v, a), b), c3);
}

static int check_template_selector(struct kctx *c, json_t *spec, bool required)
{
	json_t *sel = json_object_get(spec, "selector");
	json_t *tmpl = json_object_get(spec, "template");
	json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
	if (!sel) {
		if (required)
			return kerr(c, NULL, spec, "spec.selector", "Required value");
		return 0;
	}
	if (km_check_selector(c, sel, "spec.selector") < 0)
		return -1;
	if (!json_object_size(json_object_get(sel, "matchLabels")) &&
	    !json_array_size(json_object_get(sel, "matchExpressions"))) {
		char lk[64];
		snprintf(lk, sizeof lk, "%s", c->kind);
		for (char *p = lk; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return kerr(c, sel, spec, "spec.selector", "Invalid value: {}: empty selector is invalid for %s", lk);
	}
	if (tmpl && !kube_selector_match(sel, labels)) {
		struct sbuf b = SBUF_INIT, l = SBUF_INIT;
		selector_text(sel, &b);
		labels_text(labels, &l);
		kerr(c, sel, spec, "spec.selector", "does not match template labels (selector %s; template labels %s)",
		     sbuf_str(&b), sbuf_str(&l));
		sbuf_release(&b);
		sbuf_release(&l);
		return -1;
	}
	return 0;
}

static int workload_common(struct kctx *c, json_t *spec, bool replicas)
{
	if (replicas) {
		km_default(spec, "replicas", json_integer(1));
		if (check_int_min(c, spec, "replicas", "spec", 0) < 0)
			return -1;
	}
	return check_int_min(c, spec, "minReadySeconds", "spec", 0);
}

static int restart_always(struct kctx *c, json_t *tmpl)
{
	json_t *ps = json_object_get(tmpl, "spec");
	return check_enum(c, ps, "restartPolicy", "spec.template.spec", ENUM("Always"));
}

/* Two pods cannot bind one host port on a node: the scheduler leaves the
 * other replicas Pending, as it would on a one-node cluster. */
static void hostport_replicas(struct kctx *c, json_t *spec)
{
	json_int_t n = json_integer_value(json_object_get(spec, "replicas"));
	if (n < 2)
		return;
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i, j;
		json_t *ctr, *p;
		json_array_foreach(at_path(spec, "template", "spec", lists[l]), i, ctr)
			json_array_foreach(json_object_get(ctr, "ports"), j, p)
		{
			json_t *hp = json_object_get(p, "hostPort");
			if (!json_integer_value(hp))
				continue;
			char path[KM_PATH_MAX];
			snprintf(path, sizeof path, "spec.template.spec.%s[%zu].ports[%zu].hostPort", lists[l], i, j);
			kwarn(c, hp, p, path,
			      "%lld can be bound by one pod only: on one node %lld of the %lld replicas stay Pending",
			      (long long)json_integer_value(hp), (long long)(n - 1), (long long)n);
		}
	}
}

static int do_deployment(struct kctx *c, json_t *spec)
{
	char vb[96];
	if (workload_common(c, spec, true) < 0)
		return -1;
	json_t *st = km_obj(spec, "strategy");
	km_default(st, "type", json_string("RollingUpdate"));
	if (check_enum(c, st, "type", "spec.strategy", ENUM("Recreate", "RollingUpdate")) < 0)
		return -1;
	if (!strcmp(jsonx_str(st, "type"), "RollingUpdate")) {
		json_t *ru = km_obj(st, "rollingUpdate");
		km_default(ru, "maxUnavailable", json_string("25%"));
		km_default(ru, "maxSurge", json_string("25%"));
		bool unav0, surge0;
		if (check_intstr_pct(c, ru, "maxUnavailable", "spec.strategy.rollingUpdate", true, &unav0) < 0 ||
		    check_intstr_pct(c, ru, "maxSurge", "spec.strategy.rollingUpdate", false, &surge0) < 0)
			return -1;
		if (unav0 && surge0) {
			kval(json_object_get(ru, "maxUnavailable"), vb, sizeof vb);
			return kerr(c, json_object_get(ru, "maxUnavailable"), ru, "spec.strategy.rollingUpdate.maxUnavailable",
				    "Invalid value: %s: may not be 0 when `maxSurge` is 0", vb);
		}
	} else if (json_object_get(st, "rollingUpdate")) {
		return kerr(c, json_object_get(st, "rollingUpdate"), st, "spec.strategy.rollingUpdate",
			    "Forbidden: may not be specified when strategy `type` is 'Recreate'");
	}
	km_default(spec, "revisionHistoryLimit", json_integer(10));
	km_default(spec, "progressDeadlineSeconds", json_integer(600));
	if (check_int_min(c, spec, "revisionHistoryLimit", "spec", 0) < 0 ||
	    check_int_min(c, spec, "progressDeadlineSeconds", "spec", 0) < 0)
		return -1;
	json_t *pd = json_object_get(spec, "progressDeadlineSeconds");
	json_t *mr = json_object_get(spec, "minReadySeconds");
	if (mr && json_integer_value(pd) <= json_integer_value(mr))
		return kerr(c, pd, spec, "spec.progressDeadlineSeconds",
			    "Invalid value: %lld: must be greater than minReadySeconds", (long long)json_integer_value(pd));
	if (km_pod_template(c, json_object_get(spec, "template"), "spec.template", NULL, false) < 0 ||
	    restart_always(c, json_object_get(spec, "template")) < 0)
		return -1;
	hostport_replicas(c, spec);
	return check_template_selector(c, spec, true);
}

static int do_replicaset(struct kctx *c, json_t *spec)
{
	if (workload_common(c, spec, true) < 0)
		return -1;
	json_t *tmpl = json_object_get(spec, "template");
	if (!tmpl)
		return kerr(c, NULL, spec, "spec.template", "Required value");
	if (km_pod_template(c, tmpl, "spec.template", NULL, false) < 0 || restart_always(c, tmpl) < 0)
		return -1;
	hostport_replicas(c, spec);
	return check_template_selector(c, spec, true);
}

/* The PersistentVolumeClaim spec, for claims and claim templates. */
static int pvc_spec(struct kctx *c, json_t *spec, json_t *parent, const char *path)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX], vb[96];
	if (!spec)
		return kerr(c, NULL, parent, path, "Required value");
	json_t *am = json_object_get(spec, "accessModes");
	if (!json_array_size(am))
		return kerr(c, am, spec, kpath(sub, path, "accessModes"),
			    "Required value: at least 1 access mode is required");
	size_t i;
	json_t *x;
	json_array_foreach(am, i, x)
	{
		const char *s = json_string_value(x);
		if (strcmp(s, "ReadWriteOnce") && strcmp(s, "ReadOnlyMany") && strcmp(s, "ReadWriteMany") &&
		    strcmp(s, "ReadWriteOncePod")) {
			kval(x, vb, sizeof vb);
			return kerr(c, x, am, kpathi(sub2, kpath(sub, path, "accessModes"), i),
				    "Unsupported value: %s: supported values: \"ReadOnlyMany\", \"ReadWriteMany\", "
				    "\"ReadWriteOnce\", \"ReadWriteOncePod\"",
				    vb);
		}
	}
	json_t *res = json_object_get(spec, "resources");
	json_t *storage = json_object_get(json_object_get(res, "requests"), "storage");
	snprintf(sub, sizeof sub, "%s.resources[storage]", path);
	if (!storage)
		return kerr(c, res, spec, sub, "Required value");
	int64_t milli = 0;
	const char *why = km_quantity_error(json_string_value(storage), &milli);
	kval(storage, vb, sizeof vb);
	if (why)
		return kerr(c, storage, res, sub, "Invalid value: %s: %s", vb, why);
	if (milli <= 0)
		return kerr(c, storage, res, sub, "Invalid value: %s: must be greater than zero", vb);
	km_default(spec, "volumeMode", json_string("Filesystem"));
	json_t *vm = json_object_get(spec, "volumeMode");
	if (!strcmp(json_string_value(vm), "Block"))
		return kerr(c, vm, spec, kpath(sub, path, "volumeMode"),
			    "Invalid value: \"Block\": raw block volumes are not supported by berth kube play");
	return check_enum(c, spec, "volumeMode", path, ENUM("Block", "Filesystem"));
}

static int do_statefulset(struct kctx *c, json_t *spec)
{
	char sub[KM_PATH_MAX], sub2[KM_PATH_MAX], vb[96];
	if (workload_common(c, spec, true) < 0)
		return -1;
	km_default(spec, "podManagementPolicy", json_string("OrderedReady"));
	if (check_enum(c, spec, "podManagementPolicy", "spec", ENUM("OrderedReady", "Parallel")) < 0)
		return -1;
	json_t *us = km_obj(spec, "updateStrategy");
	km_default(us, "type", json_string("RollingUpdate"));
	if (check_enum(c, us, "type", "spec.updateStrategy", ENUM("OnDelete", "RollingUpdate")) < 0)
		return -1;
	if (!strcmp(jsonx_str(us, "type"), "RollingUpdate")) {
		json_t *ru = km_obj(us, "rollingUpdate");
		km_default(ru, "partition", json_integer(0));
		if (check_int_min(c, ru, "partition", "spec.updateStrategy.rollingUpdate", 0) < 0 ||
		    check_intstr_pct(c, ru, "maxUnavailable", "spec.updateStrategy.rollingUpdate", true, NULL) < 0)
			return -1;
	} else if (json_object_get(us, "rollingUpdate")) {
		return kerr(c, json_object_get(us, "rollingUpdate"), us, "spec.updateStrategy.rollingUpdate",
			    "Forbidden: only allowed for updateStrategy 'RollingUpdate'");
	}
	km_default(spec, "revisionHistoryLimit", json_integer(10));
	if (check_int_min(c, spec, "revisionHistoryLimit", "spec", 0) < 0)
		return -1;
	json_t *rp = km_obj(spec, "persistentVolumeClaimRetentionPolicy");
	km_default(rp, "whenDeleted", json_string("Retain"));
	km_default(rp, "whenScaled", json_string("Retain"));
	if (check_enum(c, rp, "whenDeleted", "spec.persistentVolumeClaimRetentionPolicy", ENUM("Retain", "Delete")) < 0 ||
	    check_enum(c, rp, "whenScaled", "spec.persistentVolumeClaimRetentionPolicy", ENUM("Retain", "Delete")) < 0)
		return -1;
	if (!strcmp(jsonx_str(rp, "whenDeleted"), "Delete"))
		kwarn(c, json_object_get(rp, "whenDeleted"), rp, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
		      "not applied: claims are kept until `berth kube down --volumes`");
	if (check_int_min(c, json_object_get(spec, "ordinals"), "start", "spec.ordinals", 0) < 0)
		return -1;
	const char *svc = jsonx_str(spec, "serviceName");
	if (!svc || !*svc)
		kwarn(c, NULL, spec, "spec.serviceName",
		      "not set: the pods get no DNS names of their own (name a headless Service)");
	else if (km_dns1035_label(svc)) {
		kval(json_object_get(spec, "serviceName"), vb, sizeof vb);
		return kerr(c, json_object_get(spec, "serviceName"), spec, "spec.serviceName", "Invalid value: %s: %s",
			    vb, km_dns1035_label(svc));
	}
	/* claim templates: the volumes a mount may name besides the pod's */
	_cleanup_json_ json_t *claims = json_object();
	json_t *vct = json_object_get(spec, "volumeClaimTemplates");
	size_t i;
	json_t *t;
	json_array_foreach(vct, i, t)
	{
		kpathi(sub, "spec.volumeClaimTemplates", i);
		json_t *meta = json_object_get(t, "metadata");
		json_t *nm = json_object_get(meta, "name");
		const char *n = json_string_value(nm);
		if (!n || !*n)
			return kerr(c, nm, t, kpath(sub2, sub, "metadata.name"), "Required value");
		const char *why = km_dns1123_label(n);
		if (why) {
			kval(nm, vb, sizeof vb);
			return kerr(c, nm, t, kpath(sub2, sub, "metadata.name"), "Invalid value: %s: %s", vb, why);
		}
		if (json_object_get(claims, n)) {
			kval(nm, vb, sizeof vb);
			return kerr(c, nm, t, kpath(sub2, sub, "metadata.name"), "Duplicate value: %s", vb);
		}
		json_object_set_new(claims, n, json_true());
		if (km_check_labels(c, json_object_get(meta, "labels"), kpath(sub2, sub, "metadata.labels"), false) < 0)
			return -1;
		if (pvc_spec(c, json_object_get(t, "spec"), t, kpath(sub2, sub, "spec")) < 0)
			return -1;
		/* as the API server shows them: apiVersion and kind first */
		json_t *nt = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "PersistentVolumeClaim");
		json_object_update_missing(nt, t);
		cmarks_copy(c->m->marks, nt, t);
		json_array_set_new(vct, i, nt);
	}
	if (km_pod_template(c, json_object_get(spec, "template"), "spec.template", claims, false) < 0 ||
	    restart_always(c, json_object_get(spec, "template")) < 0)
		return -1;
	hostport_replicas(c, spec);
	return check_template_selector(c, spec, true);
}

static int do_daemonset(struct kctx *c, json_t *spec)
{
	if (workload_common(c, spec, false) < 0)
		return -1;
	json_t *us = km_obj(spec, "updateStrategy");
	km_default(us, "type", json_string("RollingUpdate"));
	if (check_enum(c, us, "type", "spec.updateStrategy", ENUM("OnDelete", "RollingUpdate")) < 0)
		return -1;
	if (!strcmp(jsonx_str(us, "type"), "RollingUpdate")) {
		json_t *ru = km_obj(us, "rollingUpdate");
		km_default(ru, "maxUnavailable", json_integer(1));
		km_default(ru, "maxSurge", json_integer(0));
		if (check_intstr_pct(c, ru, "maxUnavailable", "spec.updateStrategy.rollingUpdate", true, NULL) < 0 ||
		    check_intstr_pct(c, ru, "maxSurge", "spec.updateStrategy.rollingUpdate", true, NULL) < 0)
			return -1;
	} else if (json_object_get(us, "rollingUpdate")) {
		return kerr(c, json_object_get(us, "rollingUpdate"), us, "spec.updateStrategy.rollingUpdate",
			    "Forbidden: may not be specified when strategy `type` is 'OnDelete'");
	}
	km_default(spec, "revisionHistoryLimit", json_integer(10));
	if (check_int_min(c, spec, "revisionHistoryLimit", "spec", 0) < 0)
		return -1;
	if (km_pod_template(c, json_object_get(spec, "template"), "spec.template", NULL, false) < 0 ||
	    restart_always(c, json_object_get(spec, "template")) < 0)
		return -1;
	return check_template_selector(c, spec, true);
}

/* A Job's spec (kind Job, or a CronJob's jobTemplate.spec with path
 * "spec.jobTemplate.spec": the API server defaults only the pod template
 * there; the Jobs made from it get the rest). */
static int job_spec(struct kctx *c, json_t *spec, const char *path, bool defaults, const char *job_name)
{
	char sub[KM_PATH_MAX], tp[KM_PATH_MAX];
	json_t *tmpl = json_object_get(spec, "template");
	if (!tmpl)
		return kerr(c, NULL, spec, kpath(sub, path, "template"), "Required value");
	if (defaults) {
		if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism")) {
			json_object_set_new(spec, "completions", json_integer(1));
			json_object_set_new(spec, "parallelism", json_integer(1));
		}
		km_default(spec, "parallelism", json_integer(1));
		km_default(spec, "backoffLimit", json_integer(6));
		km_default(spec, "completionMode", json_string("NonIndexed"));
		km_default(spec, "suspend", json_false());
	}
	static const char *const ints[] = {"completions", "parallelism", "backoffLimit"};
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if (check_int_min(c, spec, ints[i], path, 0) < 0)
			return -1;
	if (check_int_min(c, spec, "activeDeadlineSeconds", path, 1) < 0)
		return -1;
	if (check_enum(c, spec, "completionMode", path, ENUM("NonIndexed", "Indexed")) < 0)
		return -1;
	const char *cm = jsonx_str(spec, "completionMode");
	if (cm && !strcmp(cm, "Indexed") && !json_object_get(spec, "completions"))
		return kerr(c, NULL, spec, kpath(sub, path, "completions"),
			    "Required value: when completion mode is Indexed");
	if (job_name) {
		/* what the API server puts on a Job's pods (besides the uid it
		 * gives the Job) */
		json_t *labels = km_obj(km_obj(tmpl, "metadata"), "labels");
		json_object_set_new(labels, "batch.kubernetes.io/job-name", json_string(job_name));
		json_object_set_new(labels, "job-name", json_string(job_name));
	}
	kpath(tp, path, "template");
	if (km_pod_template(c, tmpl, tp, NULL, true) < 0)
		return -1;
	json_t *ps = json_object_get(tmpl, "spec");
	if (check_enum(c, ps, "restartPolicy", kpath(sub, tp, "spec"), ENUM("OnFailure", "Never")) < 0)
		return -1;
	json_t *sel = json_object_get(spec, "selector");
	if (sel) {
		if (km_check_selector(c, sel, kpath(sub, path, "selector")) < 0)
			return -1;
		json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
		if (!kube_selector_match(sel, labels)) {
			struct sbuf b = SBUF_INIT, l = SBUF_INIT;
			selector_text(sel, &b);
			labels_text(labels, &l);
			kerr(c, sel, spec, sub, "does not match template labels (selector %s; template labels %s)",
			     sbuf_str(&b), sbuf_str(&l));
			sbuf_release(&b);
			sbuf_release(&l);
			return -1;
		}
	}
	return 0;
}

/* Cron: five fields (minute hour day-of-month month day-of-week) with
 * numbers, names, *, ?, ranges, lists and steps, or a @descriptor, as the
 * CronJob controller's parser reads them. NULL when valid. */
static const char *cron_field(const char *f, size_t n, int lo, int hi, const char *const *names, char *why,
			      size_t wn)
{
	char buf[128];
	if (n >= sizeof buf)
		return "field too long";
	memcpy(buf, f, n);
	buf[n] = 0;
	char *save = NULL;
	for (char *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(part, '/');
		if (slash) {
			*slash = 0;
			char *e;
			long step = strtol(slash + 1, &e, 10);
			if (!slash[1] || *e || step <= 0) {
				snprintf(why, wn, "failed to parse step \"%s\"", slash + 1);
				return why;
			}
		}
		if (!strcmp(part, "*") || !strcmp(part, "?"))
			continue;
		char *dash = strchr(part, '-');
		if (dash)
			*dash = 0;
		char *ends[2] = {part, dash ? dash + 1 : NULL};
		for (int k = 0; k < 2 && ends[k]; k++) {
			char *e;
			long v = strtol(ends[k], &e, 10);
			if (!*ends[k] || *e) {
				v = -1;
				for (int j = 0; names && names[j]; j++)
					if (!strcasecmp(names[j], ends[k]))
						v = lo + j;
				if (v < 0) {
					snprintf(why, wn, "failed to parse \"%s\"", ends[k]);
					return why;
				}
			}
			if (v < lo || v > hi) {
				snprintf(why, wn, "%ld out of range [%d, %d]", v, lo, hi);
				return why;
			}
		}
	}
	return NULL;
}

static const char *cron_check(const char *s, char *why, size_t wn)
{
	if (!strncmp(s, "TZ=", 3) || !strncmp(s, "CRON_TZ=", 8))
		return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
	if (s[0] == '@') {
		static const char *const d[] = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
						"@hourly"};
		for (size_t i = 0; i < ARRAY_SIZE(d); i++)
			if (!strcmp(s, d[i]))
				return NULL;
		if (!strncmp(s, "@every ", 7) && s[7])
			return NULL;
		snprintf(why, wn, "unrecognized descriptor: %s", s);
		return why;
	}
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
					     "jul", "aug", "sep", "oct", "nov", "dec", NULL};
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
	static const struct {
		int lo, hi;
		const char *const *names;
	} f[] = {{0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, months}, {0, 6, days}};
	const char *p = s, *start[8];
	size_t len[8], nf = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *b = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (nf < 8) {
			start[nf] = b;
			len[nf] = (size_t)(p - b);
		}
		nf++;
	}
	if (nf != 5) {
		snprintf(why, wn, "expected exactly 5 fields, found %zu: %s", nf, s);
		return why;
	}
	for (size_t i = 0; i < 5; i++) {
		const char *w = cron_field(start[i], len[i], f[i].lo, f[i].hi, f[i].names, why, wn);
		if (w)
			return w;
	}
	return NULL;
}

static int do_cronjob(struct kctx *c, json_t *spec)
{
	char why[160], vb[96];
	json_t *sch = json_object_get(spec, "schedule");
	const char *w = cron_check(json_string_value(sch), why, sizeof why);
	if (w) {
		kval(sch, vb, sizeof vb);
		return kerr(c, sch, spec, "spec.schedule", "Invalid value: %s: %s", vb, w);
	}
	km_default(spec, "concurrencyPolicy", json_string("Allow"));
	km_default(spec, "suspend", json_false());
	km_default(spec, "successfulJobsHistoryLimit", json_integer(3));
	km_default(spec, "failedJobsHistoryLimit", json_integer(1));
	if (check_enum(c, spec, "concurrencyPolicy", "spec", ENUM("Allow", "Forbid", "Replace")) < 0 ||
	    check_int_min(c, spec, "successfulJobsHistoryLimit", "spec", 0) < 0 ||
	    check_int_min(c, spec, "failedJobsHistoryLimit", "spec", 0) < 0 ||
	    check_int_min(c, spec, "startingDeadlineSeconds", "spec", 0) < 0)
		return -1;
	json_t *jt = json_object_get(spec, "jobTemplate");
	json_t *meta = json_object_get(jt, "metadata");
	if (km_check_labels(c, json_object_get(meta, "labels"), "spec.jobTemplate.metadata.labels", false) < 0 ||
	    km_check_labels(c, json_object_get(meta, "annotations"), "spec.jobTemplate.metadata.annotations", true) < 0)
		return -1;
	json_t *js = json_object_get(jt, "spec");
	if (!js)
		return kerr(c, NULL, jt, "spec.jobTemplate.spec.template", "Required value");
	return job_spec(c, js, "spec.jobTemplate.spec", false, NULL);
}

static int service_port(struct kctx *c, json_t *spec, json_t *p, size_t i, const char *type, json_t *names,
			json_t *seen)
{
	char path[KM_PATH_MAX], sub[KM_PATH_MAX], vb[96];
	kpathi(path, "spec.ports", i);
	json_t *port = json_object_get(p, "port");
	json_int_t pn = json_integer_value(port);
	if (pn < 1 || pn > 65535)
		return kerr(c, port, p, kpath(sub, path, "port"), "Invalid value: %lld: must be between 1 and 65535, inclusive",
			    (long long)pn);
	km_default(p, "protocol", json_string("TCP"));
	if (check_enum(c, p, "protocol", path, ENUM("SCTP", "TCP", "UDP")) < 0)
		return -1;
	json_t *nm = json_object_get(p, "name");
	const char *name = json_string_value(nm);
	if (json_array_size(json_object_get(spec, "ports")) > 1 && (!name || !*name))
		return kerr(c, NULL, p, kpath(sub, path, "name"), "Required value");
	if (name && *name) {
		const char *why = km_dns1123_label(name);
		kval(nm, vb, sizeof vb);
		if (why)
			return kerr(c, nm, p, kpath(sub, path, "name"), "Invalid value: %s: %s", vb, why);
		if (json_object_get(names, name))
			return kerr(c, nm, p, kpath(sub, path, "name"), "Duplicate value: %s", vb);
		json_object_set_new(names, name, json_true());
	}
	char key[64];
	snprintf(key, sizeof key, "%lld/%s", (long long)pn, jsonx_str(p, "protocol"));
	if (json_object_get(seen, key))
		return kerr(c, p, spec, path, "Duplicate value: {\"port\":%lld,\"protocol\":\"%s\"}", (long long)pn,
			    jsonx_str(p, "protocol"));
	json_object_set_new(seen, key, json_true());
	json_t *tp = json_object_get(p, "targetPort");
	if (!tp || (json_is_integer(tp) && !json_integer_value(tp)) || (json_is_string(tp) && !*json_string_value(tp)))
		json_object_set_new(p, "targetPort", json_integer(pn)); /* SetDefaults_Service */
	tp = json_object_get(p, "targetPort");
	kval(tp, vb, sizeof vb);
	if (json_is_integer(tp) && (json_integer_value(tp) < 1 || json_integer_value(tp) > 65535))
		return kerr(c, tp, p, kpath(sub, path, "targetPort"),
			    "Invalid value: %s: must be between 1 and 65535, inclusive", vb);
	if (json_is_string(tp)) {
		const char *why = km_iana_svc_name(json_string_value(tp));
		if (why)
			return kerr(c, tp, p, kpath(sub, path, "targetPort"), "Invalid value: %s: %s", vb, why);
	}
	json_t *np = json_object_get(p, "nodePort");
	if (np && json_integer_value(np) != 0) {
		if (strcmp(type, "NodePort") && strcmp(type, "LoadBalancer"))
			return kerr(c, np, p, kpath(sub, path, "nodePort"),
				    "Forbidden: may not be used when `type` is '%s'", type);
		json_int_t n = json_integer_value(np);
		if (n < 30000 || n > 32767)
			return kerr(c, np, p, kpath(sub, path, "nodePort"),
				    "Invalid value: %lld: provided port is not in the valid range. The range of valid "
				    "ports is 30000-32767",
				    (long long)n);
		snprintf(key, sizeof key, "node %lld/%s", (long long)n, jsonx_str(p, "protocol"));
		if (json_object_get(seen, key))
			return kerr(c, np, p, kpath(sub, path, "nodePort"), "Duplicate value: %lld", (long long)n);
		json_object_set_new(seen, key, json_true());
	} else if (np) {
		json_object_del(p, "nodePort");
	}
	return 0;
}

static int do_service(struct kctx *c, json_t *obj)
{
	char vb[96];
	json_t *spec = km_obj(obj, "spec");
	km_default(spec, "type", json_string("ClusterIP"));
	json_t *tv = json_object_get(spec, "type");
	if (!strcmp(json_string_value(tv), "ExternalName"))
		return kerr(c, tv, spec, "spec.type",
			    "Unsupported value: \"ExternalName\": ExternalName Services are not supported by berth kube "
			    "play");
	if (check_enum(c, spec, "type", "spec", ENUM("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")) < 0)
		return -1;
	const char *type = json_string_value(tv);
	json_t *cip = json_object_get(spec, "clusterIP");
	const char *ip = json_string_value(cip);
	bool headless = ip && !strcmp(ip, "None");
	if (headless && strcmp(type, "ClusterIP"))
		return kerr(c, cip, spec, "spec.clusterIPs[0]", "Invalid value: \"None\": may not be set to 'None' for %s services",
			    type);
	if (ip && *ip && !headless) {
		kwarn(c, cip, spec, "spec.clusterIP", "not applied: ClusterIPs come from the namespace network's service range");
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	} else if (headless) {
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
	} else {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	}
	json_t *ports = json_object_get(spec, "ports");
	if (!json_array_size(ports) && !headless)
		return kerr(c, ports, spec, "spec.ports", "Required value");
	_cleanup_json_ json_t *names = json_object(), *seen = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) if (service_port(c, spec, p, i, type, names, seen) < 0) return -1;
	if (km_check_labels(c, json_object_get(spec, "selector"), "spec.selector", false) < 0)
		return -1;
	km_default(spec, "sessionAffinity", json_string("None"));
	if (check_enum(c, spec, "sessionAffinity", "spec", ENUM("ClientIP", "None")) < 0)
		return -1;
	if (!strcmp(jsonx_str(spec, "sessionAffinity"), "ClientIP")) {
		json_t *ci = km_obj(km_obj(spec, "sessionAffinityConfig"), "clientIP");
		km_default(ci, "timeoutSeconds", json_integer(10800));
		json_t *to = json_object_get(ci, "timeoutSeconds");
		if (json_integer_value(to) < 1 || json_integer_value(to) > 86400)
			return kerr(c, to, ci, "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
				    "Invalid value: %lld: must be greater than 0 and less than 86400",
				    (long long)json_integer_value(to));
	} else if (json_object_get(spec, "sessionAffinityConfig")) {
		json_t *sc = json_object_get(spec, "sessionAffinityConfig");
		return kerr(c, sc, spec, "spec.sessionAffinityConfig",
			    "Forbidden: must not be set when `sessionAffinity` is None");
	}
	/* what the API server fills in on a single-stack IPv4 cluster */
	json_t *fams = json_object_get(spec, "ipFamilies");
	size_t j;
	json_t *f;
	json_array_foreach(fams, j, f) if (strcmp(json_string_value(f), "IPv4"))
	{
		char sub[KM_PATH_MAX];
		kval(f, vb, sizeof vb);
		return kerr(c, f, fams, kpathi(sub, "spec.ipFamilies", j), "Invalid value: %s: not configured on this cluster",
			    vb);
	}
	if (check_enum(c, spec, "ipFamilyPolicy", "spec", ENUM("SingleStack", "PreferDualStack", "RequireDualStack")) < 0)
		return -1;
	json_t *pol = json_object_get(spec, "ipFamilyPolicy");
	if (pol && !strcmp(json_string_value(pol), "RequireDualStack"))
		return kerr(c, pol, spec, "spec.ipFamilyPolicy",
			    "Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services");
	km_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	km_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
	km_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	if (check_enum(c, spec, "internalTrafficPolicy", "spec", ENUM("Cluster", "Local")) < 0)
		return -1;
	bool external = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
	if (external) {
		km_default(spec, "externalTrafficPolicy", json_string("Cluster"));
		if (check_enum(c, spec, "externalTrafficPolicy", "spec", ENUM("Cluster", "Local")) < 0)
			return -1;
	} else if (json_object_get(spec, "externalTrafficPolicy")) {
		return kerr(c, json_object_get(spec, "externalTrafficPolicy"), spec, "spec.externalTrafficPolicy",
			    "Invalid value: %s: may only be set for externally-accessible services",
			    (kval(json_object_get(spec, "externalTrafficPolicy"), vb, sizeof vb), vb));
	}
	if (!strcmp(type, "LoadBalancer"))
		km_default(spec, "allocateLoadBalancerNodePorts", json_true());
	return 0;
}

/* Go's base64.StdEncoding as the API server decodes []byte: padding
 * required, \r and \n skipped. -1 when valid, else the offending offset. */
static long base64_bad(const char *s)
{
	size_t n = 0, pad = 0;
	long i = 0;
	for (const char *p = s; *p; p++, i++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == '=') {
			pad++;
		} else if (pad || !(isalnum((unsigned char)*p) || *p == '+' || *p == '/')) {
			return i;
		}
		n++;
	}
	if (pad > 2 || n % 4)
		return i - (long)(n % 4 ? n % 4 : 4) < 0 ? 0 : i - (long)(n % 4 ? n % 4 : 4);
	return -1;
}

static int data_key(struct kctx *c, const char *k, json_t *v, json_t *map, const char *field)
{
	char sub[KM_PATH_MAX], vb[96];
	snprintf(sub, sizeof sub, "%s[%s]", field, k);
	json_t *ks = json_string(k);
	kval(ks, vb, sizeof vb);
	json_decref(ks);
	const char *why = NULL;
	size_t n = strlen(k);
	if (!n || n > 253)
		why = !n ? "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
			 : "must be no more than 253 characters";
	else if (!strcmp(k, "."))
		why = "must not be '.'";
	else if (!strcmp(k, ".."))
		why = "must not be '..'";
	else if (!strncmp(k, "..", 2))
		why = "must not start with '..'";
	for (size_t i = 0; !why && i < n; i++)
		if (!is_alnum(k[i]) && k[i] != '-' && k[i] != '_' && k[i] != '.')
			why = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
			      "or 'KEY_NAME',  or 'key-name')";
	if (why)
		return kerr(c, v, map, sub, "Invalid value: %s: %s", vb, why);
	return 0;
}

static int do_configmap(struct kctx *c, json_t *obj)
{
	json_t *data = json_object_get(obj, "data"), *bin = json_object_get(obj, "binaryData");
	size_t total = 0;
	const char *k;
	json_t *v;
	json_object_foreach(data, k, v)
	{
		if (data_key(c, k, v, data, "data") < 0)
			return -1;
		total += strlen(k) + json_string_length(v);
	}
	json_object_foreach(bin, k, v)
	{
		char sub[KM_PATH_MAX];
		if (data_key(c, k, v, bin, "binaryData") < 0)
			return -1;
		snprintf(sub, sizeof sub, "binaryData[%s]", k);
		if (json_object_get(data, k))
			return kerr(c, v, bin, sub, "Invalid value: \"%s\": duplicate of key present in data", k);
		long bad = base64_bad(json_string_value(v));
		if (bad >= 0)
			return kerr(c, v, bin, sub, "illegal base64 data at input byte %ld", bad);
		total += strlen(k) + json_string_length(v) * 3 / 4;
	}
	if (total > KM_MAX_DATA)
		return kerr(c, data ? data : bin, obj, NULL, "Too long: must have at most %u bytes", KM_MAX_DATA);
	return 0;
}

static int do_secret(struct kctx *c, json_t *obj)
{
	char sub[KM_PATH_MAX];
	json_t *data = json_object_get(obj, "data"), *sd = json_object_get(obj, "stringData");
	const char *k;
	json_t *v;
	json_object_foreach(data, k, v)
	{
		if (data_key(c, k, v, data, "data") < 0)
			return -1;
		long bad = base64_bad(json_string_value(v));
		if (bad >= 0)
			return kerr(c, v, data, (snprintf(sub, sizeof sub, "data[%s]", k), sub),
				    "illegal base64 data at input byte %ld", bad);
	}
	json_object_foreach(sd, k, v) if (data_key(c, k, v, sd, "stringData") < 0) return -1;
	if (sd) {
		/* the API server merges stringData into data (it wins) and
		 * never shows it */
		data = km_obj(obj, "data");
		json_object_foreach(sd, k, v)
		{
			const char *s = json_string_value(v);
			size_t n = strlen(s);
			_cleanup_free_ unsigned char *b = malloc((n + 2) / 3 * 4 + 1);
			if (!b)
				return berr_set(c->err, ENOMEM, "secret");
			EVP_EncodeBlock(b, (const unsigned char *)s, (int)n);
			json_object_set_new(data, k, json_string((char *)b));
		}
		json_object_del(obj, "stringData");
	}
	size_t total = 0;
	json_object_foreach(data, k, v) total += strlen(k) + json_string_length(v) * 3 / 4;
	if (total > KM_MAX_DATA)
		return kerr(c, data, obj, "data", "Too long: must have at most %u bytes", KM_MAX_DATA);
	km_default(obj, "type", json_string("Opaque"));
	json_t *tv = json_object_get(obj, "type");
	const char *type = json_string_value(tv);
	static const struct {
		const char *type;
		const char *keys[2]; /* both required, or (with any) one of them */
		bool any;
	} req[] = {
		{"kubernetes.io/tls", {"tls.crt", "tls.key"}, false},
		{"kubernetes.io/dockerconfigjson", {".dockerconfigjson", NULL}, false},
		{"kubernetes.io/dockercfg", {".dockercfg", NULL}, false},
		{"kubernetes.io/ssh-auth", {"ssh-privatekey", NULL}, false},
		{"kubernetes.io/basic-auth", {"username", "password"}, true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(req); i++) {
		if (strcmp(type, req[i].type))
			continue;
		bool have_any = false;
		for (int j = 0; j < 2 && req[i].keys[j]; j++) {
			bool have = json_object_get(data, req[i].keys[j]) != NULL;
			have_any |= have;
			if (!have && !req[i].any)
				return kerr(c, tv, obj, (snprintf(sub, sizeof sub, "data[%s]", req[i].keys[j]), sub),
					    "Required value");
		}
		if (req[i].any && !have_any)
			return kerr(c, tv, obj, "data[username]", "Required value: must have at least one of username "
				    "or password");
	}
	if (!strcmp(type, "kubernetes.io/service-account-token"))
		kwarn(c, tv, obj, "type", "not applied: there is no API server, so no service account token");
	return 0;
}

static int do_pvc(struct kctx *c, json_t *obj)
{
	return pvc_spec(c, json_object_get(obj, "spec"), obj, "spec");
}

static int do_namespace(struct kctx *c, json_t *obj)
{
	(void)c;
	json_t *spec = km_obj(obj, "spec");
	km_default(spec, "finalizers", json_pack("[s]", "kubernetes"));
	return 0;
}

static int do_pod(struct kctx *c, json_t *obj)
{
	return km_pod_spec(c, json_object_get(obj, "spec"), "spec", NULL, false);
}

/* ---- loading ---- */

struct lctx {
	struct kube_manifests *m;
	const char *ns_override;
	json_t *seen; /* "Kind/ns/name" -> "FILE:LINE" */
	bool stdin_used;
};

static const char *old_api(const struct kkind *k, const char *av)
{
	return k->old && word_in(k->old, av, false) ? k->removed_in : NULL;
}

static void supported_kinds(struct sbuf *b)
{
	for (size_t i = 0; kube_kinds[i]; i++)
		sbuf_addf(b, "%s%s", i ? ", " : "", kube_kinds[i]);
}

/* Old apps and extensions versions defaulted the selector (and the
 * object's labels) from the template's labels; apps/v1 requires them. */
static void convert_old(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *labels = json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
	if (!json_is_object(spec) || !json_is_object(labels) || !json_object_size(labels))
		return;
	if (!json_object_get(spec, "selector"))
		json_object_set_new(spec, "selector", json_pack("{s:O}", "matchLabels", labels));
	json_t *meta = json_object_get(obj, "metadata");
	if (json_is_object(meta) && !json_object_size(json_object_get(meta, "labels")))
		json_object_set_new(meta, "labels", json_deep_copy(labels));
}

static int check_meta(struct lctx *L, struct kctx *c, const struct kkind *k, json_t *obj)
{
	char vb[96];
	json_t *meta = km_obj(obj, "metadata");
	json_t *nm = json_object_get(meta, "name");
	const char *name = json_string_value(nm);
	if (!name || !*name) {
		json_t *gn = json_object_get(meta, "generateName");
		if (gn) {
			kval(gn, vb, sizeof vb);
			return kerr(c, gn, meta, "metadata.generateName",
				    "Invalid value: %s: generateName is not supported by kube play (objects are applied "
				    "by name: set metadata.name)",
				    vb);
		}
		return kerr(c, meta, obj, "metadata.name", "Required value: name or generateName is required");
	}
	const char *why = k->rule == NR_LABEL	   ? km_dns1123_label(name)
			  : k->rule == NR_DNS1035 ? km_dns1035_label(name)
						  : km_dns1123_subdomain(name);
	if (!why && k->maxlen && strlen(name) > k->maxlen) {
		kval(nm, vb, sizeof vb);
		return kerr(c, nm, meta, "metadata.name", "Invalid value: %s: must be no more than %zu characters", vb,
			    k->maxlen);
	}
	if (why) {
		kval(nm, vb, sizeof vb);
		return kerr(c, nm, meta, "metadata.name", "Invalid value: %s: %s", vb, why);
	}
	if (k->namespaced) {
		json_t *nsv = json_object_get(meta, "namespace");
		const char *ns = json_string_value(nsv);
		if (ns && !*ns)
			ns = NULL;
		if (ns && L->ns_override && strcmp(ns, L->ns_override))
			return kerr(c, nsv, meta, NULL,
				    "the namespace from the provided object \"%s\" does not match the namespace \"%s\". You "
				    "must pass '--namespace=%s' to perform this operation.",
				    ns, L->ns_override, ns);
		if (!ns)
			ns = L->ns_override ? L->ns_override : "default";
		why = km_dns1123_label(ns);
		if (why) {
			json_t *s = json_string(ns);
			kval(s, vb, sizeof vb);
			json_decref(s);
			return kerr(c, nsv, meta, "metadata.namespace", "Invalid value: %s: %s", vb, why);
		}
		json_object_set_new(meta, "namespace", json_string(ns));
		c->ns = json_string_value(json_object_get(meta, "namespace"));
	} else {
		json_object_del(meta, "namespace"); /* cluster-scoped: the API server clears it */
	}
	if (km_check_labels(c, json_object_get(meta, "labels"), "metadata.labels", false) < 0 ||
	    km_check_labels(c, json_object_get(meta, "annotations"), "metadata.annotations", true) < 0)
		return -1;
	return 0;
}

static int add_object(struct lctx *L, json_t *obj, const char *label, struct berr **err);

static int add_doc(struct lctx *L, json_t *doc, const char *label, int depth, struct berr **err)
{
	struct kube_manifests *m = L->m;
	if (json_is_null(doc))
		return 0;
	const char *file = NULL;
	int line = 0;
	cmarks_get(m->marks, doc, &file, &line, NULL);
	if (!json_is_object(doc))
		return berr_setc(err, BERR_INVALID,
				 "%s:%d: a manifest must be a mapping with apiVersion and kind, not %s", label, line,
				 json_is_array(doc) ? "a list" : "a scalar");
	if (!json_object_size(doc))
		return 0;
	json_t *kv = json_object_get(doc, "kind"), *av = json_object_get(doc, "apiVersion");
	const char *kind = json_string_value(kv), *apiv = json_string_value(av);
	if ((!kind || !*kind) || (!apiv || !*apiv))
		return berr_setc(err, BERR_INVALID, "%s:%d: error validating data: [%s%s%s]", label, line,
				 !apiv || !*apiv ? "apiVersion not set" : "",
				 (!apiv || !*apiv) && (!kind || !*kind) ? ", " : "", !kind || !*kind ? "kind not set" : "");
	size_t kl = strlen(kind);
	if (kl >= 4 && !strcmp(kind + kl - 4, "List")) {
		json_t *items = json_object_get(doc, "items");
		if (depth >= KM_MAX_LIST_DEPTH)
			return berr_setc(err, BERR_INVALID, "%s:%d: %s nested more than %d deep", label, line, kind,
					 KM_MAX_LIST_DEPTH);
		if (!json_is_array(items) && !json_is_null(items) && items)
			return berr_setc(err, BERR_INVALID, "%s:%d: %s: items must be a list", label, line, kind);
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			if (!json_is_object(it)) {
				int il = line;
				cmarks_get(m->marks, it, NULL, &il, NULL);
				return berr_setc(err, BERR_INVALID, "%s:%d: %s: items[%zu] must be a mapping", label,
						 il ? il : line, kind, i);
			}
			if (add_doc(L, it, label, depth + 1, err) < 0)
				return -1;
		}
		return 0;
	}
	return add_object(L, doc, label, err);
}

static int add_object(struct lctx *L, json_t *obj, const char *label, struct berr **err)
{
	struct kube_manifests *m = L->m;
	struct kctx c = {.m = m, .obj = obj, .file = label, .err = err};
	const char *file = NULL;
	cmarks_get(m->marks, obj, &file, &c.line, NULL);
	const char *kind = jsonx_str(obj, "kind"), *apiv = jsonx_str(obj, "apiVersion");
	const struct kkind *k = kind_find(kind);
	if (!k) {
		struct sbuf b = SBUF_INIT;
		supported_kinds(&b);
		berr_setc(err, BERR_INVALID, "%s:%d: unknown kind \"%s\" (apiVersion %s); supported: %s", label, c.line,
			  kind, apiv, sbuf_str(&b));
		sbuf_release(&b);
		return -1;
	}
	c.kind = k->kind;
	{
		size_t o = 0;
		for (const char *p = k->kind; *p && o + 1 < sizeof c.ident; p++)
			c.ident[o++] = (char)tolower((unsigned char)*p);
		c.ident[o] = 0;
		const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
		if (n && *n)
			snprintf(c.ident + o, sizeof c.ident - o, "/%.250s", n);
	}
	const char *want = kube_kind_api_version(k->kind);
	if (strcmp(apiv, want)) {
		const char *removed = old_api(k, apiv);
		if (!removed)
			return berr_setc(err, BERR_INVALID,
					 "%s:%d: %s: no matches for kind \"%s\" in version \"%s\" (%s is %s)", label,
					 c.line, c.ident, k->kind, apiv, k->kind, want);
		kwarn(&c, obj, NULL, NULL, "apiVersion %s was removed in Kubernetes %s; running it as %s", apiv, removed,
		      want);
		json_object_set_new(obj, "apiVersion", json_string(want));
		convert_old(obj);
	}
	if (km_schema_walk(&c, k->kind, obj) < 0)
		return -1;
	if (check_meta(L, &c, k, obj) < 0)
		return -1;
	int rc = 0;
	json_t *spec = json_object_get(obj, "spec");
	if (!strcmp(k->kind, "Deployment"))
		rc = do_deployment(&c, spec);
	else if (!strcmp(k->kind, "ReplicaSet"))
		rc = do_replicaset(&c, spec);
	else if (!strcmp(k->kind, "StatefulSet"))
		rc = do_statefulset(&c, spec);
	else if (!strcmp(k->kind, "DaemonSet"))
		rc = do_daemonset(&c, spec);
	else if (!strcmp(k->kind, "Job")) {
		/* a Job's labels default to its template's */
		json_t *meta = json_object_get(obj, "metadata");
		json_t *tl = json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
		if (json_object_size(tl) && !json_object_size(json_object_get(meta, "labels")))
			json_object_set_new(meta, "labels", json_deep_copy(tl));
		rc = job_spec(&c, spec, "spec", true, km_name(obj));
	} else if (!strcmp(k->kind, "CronJob"))
		rc = do_cronjob(&c, spec);
	else if (!strcmp(k->kind, "Service"))
		rc = do_service(&c, obj);
	else if (!strcmp(k->kind, "ConfigMap"))
		rc = do_configmap(&c, obj);
	else if (!strcmp(k->kind, "Secret"))
		rc = do_secret(&c, obj);
	else if (!strcmp(k->kind, "PersistentVolumeClaim"))
		rc = do_pvc(&c, obj);
	else if (!strcmp(k->kind, "Namespace"))
		rc = do_namespace(&c, obj);
	else if (!strcmp(k->kind, "Pod"))
		rc = do_pod(&c, obj);
	if (rc < 0)
		return -1;

	char where[600];
	snprintf(where, sizeof where, "%s:%d", file ? file : label, c.line);
	_cleanup_free_ char *key = NULL;
	if (asprintf(&key, "%s/%s/%s", k->kind, c.ns ? c.ns : "", km_name(obj)) < 0)
		return berr_set(err, ENOMEM, "manifests");
	const char *first = json_string_value(json_object_get(L->seen, key));
	if (first) {
		if (c.ns)
			return kerr(&c, obj, NULL, NULL, "defined twice in namespace \"%s\" (first at %s)", c.ns, first);
		return kerr(&c, obj, NULL, NULL, "defined twice (first at %s)", first);
	}
	if (json_array_size(m->objects) >= KM_MAX_OBJECTS)
		return berr_setc(err, BERR_INVALID, "%s: more than %u objects", where, KM_MAX_OBJECTS);
	json_object_set_new(L->seen, key, json_string(where));
	json_array_append(m->objects, obj);
	char addr[32];
	snprintf(addr, sizeof addr, "%p", (void *)obj);
	json_object_set_new(m->wheres, addr, json_string(where));
	return 0;
}

static int load_buffer(struct lctx *L, const char *buf, size_t len, const char *label, struct berr **err)
{
	_cleanup_json_ json_t *docs = NULL;
	if (compose_yaml_parse_docs(buf, len, label, L->m->marks, &docs, err) < 0)
		return -1;
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d) if (add_doc(L, d, label, 0, err) < 0) return -1;
	return 0;
}

static int read_stdin(char **ret, size_t *ret_len, struct berr **err)
{
	struct sbuf b = SBUF_INIT;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbuf_release(&b);
			return berr_set(err, errno, "reading stdin");
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > CY_MAX_BYTES) {
			sbuf_release(&b);
			return berr_setc(err, BERR_INVALID, "<stdin>: more than %u bytes", CY_MAX_BYTES);
		}
		sbuf_add(&b, chunk, (size_t)n);
	}
	*ret_len = b.len;
	*ret = sbuf_detach(&b);
	return 0;
}

static bool manifest_name(const char *n)
{
	size_t l = strlen(n);
	if (n[0] == '.')
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load_file(struct lctx *L, const char *path, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, CY_MAX_BYTES, &buf, &len, err) < 0)
		return berr_wrap(err, "reading %s", path);
	return load_buffer(L, buf, len, path, err);
}

static int load_dir(struct lctx *L, const char *path, struct berr **err)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return berr_set(err, errno, "reading directory %s", path);
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!manifest_name(de->d_name))
			continue;
		if (n >= KM_MAX_DIR_FILES) {
			rc = berr_setc(err, BERR_INVALID, "%s: more than %u manifest files", path, KM_MAX_DIR_FILES);
			goto out;
		}
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn) {
			rc = berr_set(err, ENOMEM, "reading %s", path);
			goto out;
		}
		names = nn;
		names[n++] = strdup(de->d_name);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *p = NULL;
		size_t pl = strlen(path);
		if (asprintf(&p, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/", names[i]) < 0) {
			rc = berr_set(err, ENOMEM, "reading %s", path);
			break;
		}
		struct stat st;
		/* subdirectories are not read (kubectl -f DIR without -R) */
		if (stat(p, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		rc = load_file(L, p, err);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int load_path(struct lctx *L, const char *path, struct berr **err)
{
	if (!strcmp(path, "-")) {
		if (L->stdin_used)
			return berr_setc(err, BERR_INVALID, "\"-\" (stdin) given more than once");
		L->stdin_used = true;
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		if (read_stdin(&buf, &len, err) < 0)
			return -1;
		return load_buffer(L, buf, len, "<stdin>", err);
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return berr_setc(err, BERR_NOT_FOUND, "the path \"%s\" does not exist", path);
		return berr_set(err, errno, "%s", path);
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(L, path, err);
	return load_file(L, path, err);
}

static struct kube_manifests *manifests_new(void)
{
	struct kube_manifests *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->objects = json_array();
	m->warnings = json_array();
	m->wheres = json_object();
	m->warned = json_object();
	m->marks = cmarks_new();
	if (!m->objects || !m->warnings || !m->wheres || !m->warned || !m->marks) {
		kube_manifests_free(m);
		return NULL;
	}
	return m;
}

void kube_manifests_free(struct kube_manifests *m)
{
	if (!m)
		return;
	json_decref(m->objects);
	json_decref(m->warnings);
	json_decref(m->wheres);
	json_decref(m->warned);
	cmarks_free(m->marks);
	free(m);
}

static int finish(struct lctx *L, struct kube_manifests *m, int rc, struct kube_manifests **ret, struct berr **err)
{
	json_decref(L->seen);
	if (rc < 0) {
		kube_manifests_free(m);
		return -1;
	}
	*ret = m;
	return 0;
}

int kube_manifests_load(const char *const *paths, size_t npaths, const char *namespace_override,
			struct kube_manifests **ret, struct berr **err)
{
	*ret = NULL;
	if (namespace_override && km_dns1123_label(namespace_override))
		return berr_setc(err, BERR_INVALID, "--namespace \"%s\": %s", namespace_override,
				 km_dns1123_label(namespace_override));
	struct kube_manifests *m = manifests_new();
	if (!m)
		return berr_set(err, ENOMEM, "manifests");
	struct lctx L = {.m = m, .ns_override = namespace_override, .seen = json_object()};
	int rc = 0;
	if (!npaths)
		rc = berr_setc(err, BERR_INVALID, "no manifest given (a file, a directory or -)");
	for (size_t i = 0; i < npaths && rc == 0; i++)
		rc = load_path(&L, paths[i], err);
	return finish(&L, m, rc, ret, err);
}

int kube_manifests_load_buffer(const char *buf, size_t len, const char *label, const char *namespace_override,
			       struct kube_manifests **ret, struct berr **err)
{
	*ret = NULL;
	if (namespace_override && km_dns1123_label(namespace_override))
		return berr_setc(err, BERR_INVALID, "--namespace \"%s\": %s", namespace_override,
				 km_dns1123_label(namespace_override));
	struct kube_manifests *m = manifests_new();
	if (!m)
		return berr_set(err, ENOMEM, "manifests");
	struct lctx L = {.m = m, .ns_override = namespace_override, .seen = json_object()};
	int rc = load_buffer(&L, buf, len, label, err);
	return finish(&L, m, rc, ret, err);
}

const char *kube_manifest_where(struct kube_manifests *m, const json_t *obj)
{
	if (!m)
		return NULL;
	/* the objects hold their address: m->objects keeps a reference */
	char addr[32];
	snprintf(addr, sizeof addr, "%p", (const void *)obj);
	return json_string_value(json_object_get(m->wheres, addr));
}
