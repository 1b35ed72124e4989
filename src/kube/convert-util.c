/* kube convert: names, quantities, durations, warnings. */
#include "kube/convert-int.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kube_controller_parse(const char *s, enum kube_controller *ret, struct berr **err)
{
	if (!strcasecmp(s, "deployment"))
		*ret = KUBE_DEPLOYMENT;
	else if (!strcasecmp(s, "statefulset"))
		*ret = KUBE_STATEFULSET;
	else if (!strcasecmp(s, "daemonset"))
		*ret = KUBE_DAEMONSET;
	else
		return berr_setc(err, BERR_INVALID, "unknown controller \"%s\": use deployment, statefulset or daemonset", s);
	return 0;
}

bool kube_quantity_valid(const char *s)
{
	static const char *const suf[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "m"};
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	for (size_t i = 0; i < sizeof(suf) / sizeof(suf[0]); i++)
		if (!strcmp(p, suf[i]))
			return true;
	return false;
}

bool kc_dns_label(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

void kc_warnf(json_t *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0)
		json_array_append_new(w, json_string(s));
	va_end(ap);
	free(s);
}

char *kc_name(const char *what, const char *name, json_t *w, struct berr **err)
{
	char *n = strdup(name);
	bool changed = false;
	for (char *p = n; *p; p++)
		if (*p == '_' || *p == '.') {
			*p = '-';
			changed = true;
		} else if (*p >= 'A' && *p <= 'Z') {
			*p = (char)(*p - 'A' + 'a');
			changed = true;
		}
	if (!kc_dns_label(n)) {
		berr_setc(err, BERR_INVALID,
			  "%s \"%s\": not a valid Kubernetes name (a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)",
			  what, name);
		free(n);
		return NULL;
	}
	if (changed)
		kc_warnf(w, "%s \"%s\" is written \"%s\" (Kubernetes names are lower case, with no '_' or '.')", what, name, n);
	return n;
}

int64_t kc_secs(const char *d)
{
	int64_t ns = 0;
	if (!d || time_parse_duration(d, false, &ns) < 0)
		return -1;
	return (ns + 999999999) / 1000000000;
}

/* compose byte sizes ("512m", "1g", 1048576) as a quantity */
json_t *kc_mem_quantity(json_t *v)
{
	if (json_is_integer(v))
		return json_sprintf("%lld", (long long)json_integer_value(v));
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	char *end;
	double x = strtod(s, &end);
	if (end == s)
		return NULL;
	static const struct { const char *u; const char *q; } u[] = {
		{"", ""}, {"b", ""}, {"k", "Ki"}, {"kb", "Ki"}, {"m", "Mi"}, {"mb", "Mi"}, {"g", "Gi"}, {"gb", "Gi"}, {"t", "Ti"}, {"tb", "Ti"}};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (!strcasecmp(end, u[i].u))
			return x == (long long)x ? json_sprintf("%lld%s", (long long)x, u[i].q) : json_sprintf("%g%s", x, u[i].q);
	return NULL;
}

json_t *kc_cpu_quantity(json_t *v)
{
	double c = json_is_number(v) ? json_number_value(v) : json_string_value(v) ? strtod(json_string_value(v), NULL) : 0;
	if (c <= 0)
		return NULL;
	long mc = (long)(c * 1000 + 0.5);
	return mc % 1000 ? json_sprintf("%ldm", mc) : json_sprintf("%ld", mc / 1000);
}

void kc_set_ns(struct conv *cv, json_t *meta)
{
	if (cv->o->namespace_)
		json_object_set_new(meta, "namespace", json_string(cv->o->namespace_));
}

json_t *kc_meta(struct conv *cv, const char *name, const char *svc)
{
	json_t *m = json_pack("{s:s, s:{s:s}}", "name", name, "labels", SEL_LABEL, svc);
	kc_set_ns(cv, m);
	return m;
}


char *kc_base64(const void *buf, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = buf;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return out;
}

bool kc_is_text(const char *buf, size_t n)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (!c)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		int more = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
		if (more < 0 || (c & 0xfe) == 0xc0 || end - p <= more)
			return false;
		for (int k = 1; k <= more; k++)
			if ((p[k] & 0xc0) != 0x80)
				return false;
		p += more + 1;
	}
	return true;
}

bool kc_data_key(const char *s)
{
	if (!*s || strlen(s) > 253 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

int kube_volumes_parse(const char *s, enum kube_volumes *ret, struct berr **err)
{
	if (!strcasecmp(s, "pvc") || !strcasecmp(s, "persistentVolumeClaim"))
		*ret = KUBE_VOL_PVC;
	else if (!strcasecmp(s, "emptydir"))
		*ret = KUBE_VOL_EMPTYDIR;
	else if (!strcasecmp(s, "hostpath"))
		*ret = KUBE_VOL_HOSTPATH;
	else if (!strcasecmp(s, "configmap"))
		*ret = KUBE_VOL_CONFIGMAP;
	else
		return berr_setc(err, BERR_INVALID, "unknown volume type \"%s\": use pvc, emptydir, hostpath or configmap", s);
	return 0;
}
