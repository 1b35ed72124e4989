/* The pod runtime (runtime/pod.h): a resolved pod spec -> a sandbox and its
 * init and app containers, made through the container API
 * (runtime/lifecycle.h) as `berth run` makes containers.
 *
 * Why the steps are ordered as they are: app containers copy the sandbox's
 * /etc/hosts and resolv.conf when they are created (lifecycle.c), and the
 * pod IP is known only once the sandbox runs; so the sandbox starts, its
 * files are rewritten in the kubelet's shapes, and only then are the other
 * containers made. Every container made is recorded in pod.json at once,
 * and a container found by its name (a crash between create and record)
 * is adopted when it carries this pod's uid, else removed, so any step
 * may be repeated. */
#include "runtime/pod.h"
#include "util/quantity.h"
#include "net/network.h"
#include "net/ports.h"
#include "runtime/caps.h"
#include "runtime/lifecycle.h"
#include "runtime/logs.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include "runtime/probe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POD_JSON_MAX (4 << 20)
#define POD_DEFAULT_GRACE 30
/* the kubelet's minimum grace after a preStop hook used up the period */
#define POD_PRESTOP_MIN_GRACE 2
#define CPU_PERIOD 100000
/* the stop of a pod's containers once its sandbox died */
#define SANDBOX_LOST_GRACE 2

/* ---- pure helpers ---- */

int64_t pod_cpu_shares(int64_t milli)
{
	if (milli <= 0)
		return 2;
	int64_t s = milli > INT64_MAX / 1024 ? 262144 : milli * 1024 / 1000;
	return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

int64_t pod_cpu_quota(int64_t milli, int64_t period)
{
	if (milli <= 0)
		return 0;
	int64_t q = milli > INT64_MAX / period ? INT64_MAX / 1000 : milli * period / 1000;
	return q < 1000 ? 1000 : q;
}

void pod_command_apply(json_t *req, const json_t *command, const json_t *args)
{
	bool has_cmd = json_is_array(command) && json_array_size(command);
	bool has_args = json_is_array(args) && json_array_size(args);
	if (has_cmd) {
		json_object_set_new(req, "Entrypoint", json_deep_copy(command));
		json_object_set_new(req, "Cmd", has_args ? json_deep_copy(args) : json_array());
	} else if (has_args) {
		json_object_set_new(req, "Cmd", json_deep_copy(args));
	}
}

bool pod_ctr_is_sidecar(const json_t *c)
{
	const char *rp = jsonx_str(c, "restartPolicy");
	return rp && !strcmp(rp, "Always");
}

char *pod_hosts_file(const char *ip, const char *hostname, const char *subdomain, const char *ns,
		     const json_t *host_aliases)
{
	struct sbuf b = SBUF_INIT;
	sbuf_adds(&b, "# Kubernetes-managed hosts file.\n"
		      "127.0.0.1\tlocalhost\n"
		      "::1\tlocalhost ip6-localhost ip6-loopback\n"
		      "fe00::0\tip6-localnet\n"
		      "fe00::0\tip6-mcastprefix\n"
		      "fe00::1\tip6-allnodes\n"
		      "fe00::2\tip6-allrouters\n");
	if (ip && *ip) {
		if (subdomain && *subdomain)
			sbuf_addf(&b, "%s\t%s.%s.%s.svc.cluster.local\t%s\n", ip, hostname, subdomain, ns, hostname);
		else
			sbuf_addf(&b, "%s\t%s\n", ip, hostname);
	}
	if (json_array_size(host_aliases)) {
		sbuf_adds(&b, "\n# Entries added by HostAliases.\n");
		size_t i, j;
		json_t *a, *h;
		json_array_foreach(host_aliases, i, a) {
			sbuf_adds(&b, jsonx_str(a, "ip") ?: "");
			json_array_foreach(json_object_get(a, "hostnames"), j, h) {
				sbuf_addc(&b, '\t');
				sbuf_adds(&b, json_string_value(h) ?: "");
			}
			sbuf_addc(&b, '\n');
		}
	}
	return sbuf_detach(&b);
}

char *pod_resolv_file(const json_t *dns, const char *ns, const char *gateway)
{
	struct sbuf b = SBUF_INIT;
	size_t i;
	json_t *v;
	if (json_is_object(dns)) {
		json_t *servers = json_object_get(dns, "nameservers");
		if (json_array_size(servers))
			json_array_foreach(servers, i, v) sbuf_addf(&b, "nameserver %s\n", json_string_value(v) ?: "");
		else if (gateway && *gateway)
			sbuf_addf(&b, "nameserver %s\n", gateway);
		json_t *search = json_object_get(dns, "searches");
		if (json_array_size(search)) {
			sbuf_adds(&b, "search");
			json_array_foreach(search, i, v) sbuf_addf(&b, " %s", json_string_value(v) ?: "");
			sbuf_addc(&b, '\n');
		}
		json_t *opts = json_object_get(dns, "options");
		if (json_array_size(opts)) {
			sbuf_adds(&b, "options");
			json_array_foreach(opts, i, v) {
				const char *val = jsonx_str(v, "value");
				sbuf_addf(&b, " %s", jsonx_str(v, "name") ?: "");
				if (val)
					sbuf_addf(&b, ":%s", val);
			}
			sbuf_addc(&b, '\n');
		}
	} else {
		if (gateway && *gateway)
			sbuf_addf(&b, "nameserver %s\n", gateway);
		sbuf_addf(&b, "search %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n", ns);
	}
	return sbuf_detach(&b);
}

/* ---- validation of the resolved spec ---- */

__attribute__((format(printf, 3, 4))) static int bad(struct berr **err, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berr_setc(err, BERR_INVALID, "%s: %s", path, msg);
}

/* A DNS label (RFC 1123; dots too when subdomain), as Kubernetes names are. */
static bool dns_name_valid(const char *s, size_t max, bool subdomain)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if ((c == '-' || (subdomain && c == '.')) && i > 0 && i < n - 1)
			continue;
		return false;
	}
	return true;
}

static int v_type(json_t *o, const char *key, const char *path, int type, bool required, struct berr **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required)
			return bad(err, path, "%s is required", key);
		return 0;
	}
	static const char *const names[] = {[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
					    [JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
					    [JSON_TRUE] = "a boolean"};
	bool ok = type == JSON_TRUE ? json_is_boolean(v) : (int)json_typeof(v) == type;
	if (!ok)
		return bad(err, path, "%s must be %s", key, names[type]);
	return 1;
}

static int v_strings(json_t *o, const char *key, const char *path, struct berr **err)
{
	int r = v_type(o, key, path, JSON_ARRAY, false, err);
	if (r <= 0)
		return r;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, key), i, v)
		if (!json_is_string(v))
			return bad(err, path, "%s[%zu] must be a string", key, i);
	return 0;
}

static int v_int_range(json_t *o, const char *key, const char *path, json_int_t lo, json_int_t hi,
		       struct berr **err)
{
	int r = v_type(o, key, path, JSON_INTEGER, false, err);
	if (r <= 0)
		return r;
	json_int_t v = json_integer_value(json_object_get(o, key));
	if (v < lo || v > hi)
		return bad(err, path, "%s: %" JSON_INTEGER_FORMAT " is out of range (%" JSON_INTEGER_FORMAT
				      "..%" JSON_INTEGER_FORMAT ")", key, v, lo, hi);
	return 0;
}

/* A quantity as YAML gives it: a string, or a bare number. */
static int quantity_of(json_t *v, int scale, int64_t *ret)
{
	char buf[64];
	const char *s = json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = buf;
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.9g", json_real_value(v));
		s = buf;
	}
	return quantity_parse(s, scale, ret);
}

static int v_resources(json_t *res, const char *path, struct berr **err)
{
	static const char *const kinds[] = {"limits", "requests"};
	for (size_t k = 0; k < 2; k++) {
		json_t *l = json_object_get(res, kinds[k]);
		if (!l || json_is_null(l))
			continue;
		if (!json_is_object(l))
			return bad(err, path, "resources.%s must be an object", kinds[k]);
		const char *key;
		json_t *v;
		json_object_foreach(l, key, v) {
			int64_t q;
			if (!json_is_string(v) && !json_is_number(v))
				return bad(err, path, "resources.%s.%s must be a quantity", kinds[k], key);
			if (quantity_of(v, !strcmp(key, "cpu") ? 3 : 0, &q) < 0)
				return bad(err, path, "resources.%s.%s: invalid quantity \"%s\"", kinds[k], key,
					   json_string_value(v) ?: "(number)");
		}
	}
	return 0;
}

static int v_security(json_t *sc, const char *path, struct berr **err)
{
	char p[300];
	snprintf(p, sizeof(p), "%s.securityContext", path);
	if (v_int_range(sc, "runAsUser", p, 0, 2147483647, err) < 0 ||
	    v_int_range(sc, "runAsGroup", p, 0, 2147483647, err) < 0 ||
	    v_int_range(sc, "fsGroup", p, 0, 2147483647, err) < 0)
		return -1;
	static const char *const bools[] = {"runAsNonRoot", "readOnlyRootFilesystem", "privileged",
					    "allowPrivilegeEscalation"};
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		if (v_type(sc, bools[i], p, JSON_TRUE, false, err) < 0)
			return -1;
	if (v_type(sc, "supplementalGroups", p, JSON_ARRAY, false, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc, "supplementalGroups"), i, v)
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return bad(err, p, "supplementalGroups[%zu] must be a group ID", i);
	json_t *caps = json_object_get(sc, "capabilities");
	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return bad(err, p, "capabilities must be an object");
	static const char *const lists[] = {"add", "drop"};
	for (size_t k = 0; k < 2; k++) {
		char cp[340];
		snprintf(cp, sizeof(cp), "%s.capabilities", p);
		if (v_strings(caps, lists[k], cp, err) < 0)
			return -1;
		json_array_foreach(json_object_get(caps, lists[k]), i, v) {
			uint64_t m;
			if (caps_parse(json_string_value(v), &m, err) < 0)
				return berr_wrap(err, "%s.%s[%zu]", cp, lists[k], i);
		}
	}
	return 0;
}

static int v_container(json_t *c, const char *path, bool init, struct image_store *is, json_t *idx,
		       struct berr **err)
{
	if (!json_is_object(c))
		return bad(err, path, "must be an object");
	/* a container's own restartPolicy: only a sidecar's, "Always" */
	if (v_type(c, "restartPolicy", path, JSON_STRING, false, err) < 0)
		return -1;
	const char *crp = jsonx_str(c, "restartPolicy");
	if (crp && !init)
		return bad(err, path, "restartPolicy \"%s\": may be set only on init containers", crp);
	if (crp && strcmp(crp, "Always"))
		return bad(err, path, "restartPolicy \"%s\" is not supported (only \"Always\", a sidecar)", crp);
	if (v_type(c, "name", path, JSON_STRING, true, err) < 0 || v_type(c, "image", path, JSON_STRING, true, err) < 0)
		return -1;
	const char *name = jsonx_str(c, "name");
	if (!dns_name_valid(name, 63, false))
		return bad(err, path, "name \"%s\" must be a DNS label (lower-case letters, digits and '-', at most 63)",
			   name);
	if (!*jsonx_str(c, "image"))
		return bad(err, path, "image must not be empty");
	if (idx) {
		_cleanup_free_ char *id = NULL;
		if (image_store_resolve(idx, jsonx_str(c, "image"), &id, NULL, err) < 0)
			return berr_wrap(err, "%s.image", path);
	}
	if (v_strings(c, "command", path, err) < 0 || v_strings(c, "args", path, err) < 0 ||
	    v_strings(c, "envPodIP", path, err) < 0 || v_type(c, "workingDir", path, JSON_STRING, false, err) < 0 ||
	    v_type(c, "tty", path, JSON_TRUE, false, err) < 0 || v_type(c, "stdin", path, JSON_TRUE, false, err) < 0 ||
	    v_type(c, "stdinOnce", path, JSON_TRUE, false, err) < 0 ||
	    v_type(c, "terminationMessagePath", path, JSON_STRING, false, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	char p[300];
	if (v_type(c, "env", path, JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(c, "env"), i, v) {
		snprintf(p, sizeof(p), "%s.env[%zu]", path, i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "name", p, JSON_STRING, true, err) < 0 || v_type(v, "value", p, JSON_STRING, false, err) < 0)
			return -1;
		const char *n = jsonx_str(v, "name");
		if (!*n || strchr(n, '='))
			return bad(err, p, "invalid variable name \"%s\"", n);
	}
	if (v_type(c, "ports", path, JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(c, "ports"), i, v) {
		snprintf(p, sizeof(p), "%s.ports[%zu]", path, i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "containerPort", p, JSON_INTEGER, true, err) < 0 ||
		    v_int_range(v, "containerPort", p, 1, 65535, err) < 0 ||
		    v_type(v, "protocol", p, JSON_STRING, false, err) < 0 || v_type(v, "name", p, JSON_STRING, false, err) < 0)
			return -1;
	}
	if (v_type(c, "resources", path, JSON_OBJECT, false, err) < 0 ||
	    v_resources(json_object_get(c, "resources"), path, err) < 0)
		return -1;
	if (v_type(c, "securityContext", path, JSON_OBJECT, false, err) < 0 ||
	    v_security(json_object_get(c, "securityContext"), path, err) < 0)
		return -1;
	if (v_type(c, "mounts", path, JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(c, "mounts"), i, v) {
		snprintf(p, sizeof(p), "%s.mounts[%zu]", path, i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "source", p, JSON_STRING, true, err) < 0 || v_type(v, "target", p, JSON_STRING, true, err) < 0 ||
		    v_type(v, "readOnly", p, JSON_TRUE, false, err) < 0)
			return -1;
		const char *src = jsonx_str(v, "source"), *dst = jsonx_str(v, "target");
		if (src[0] != '/' && !volume_name_valid(src))
			return bad(err, p, "source \"%s\" must be an absolute path or a volume name", src);
		if (dst[0] != '/')
			return bad(err, p, "target \"%s\" must be an absolute path", dst);
		if (strchr(src, ':') || strchr(dst, ':') || strchr(src, ',') || strchr(dst, ','))
			return bad(err, p, "paths with ':' or ',' are not supported");
	}
	if (v_type(c, "tmpfs", path, JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(c, "tmpfs"), i, v) {
		snprintf(p, sizeof(p), "%s.tmpfs[%zu]", path, i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "target", p, JSON_STRING, true, err) < 0 ||
		    v_int_range(v, "sizeBytes", p, 0, INT64_MAX, err) < 0)
			return -1;
		if (jsonx_str(v, "target")[0] != '/')
			return bad(err, p, "target must be an absolute path");
	}
	static const char *const objs[] = {"livenessProbe", "readinessProbe", "startupProbe", "lifecycle"};
	for (size_t k = 0; k < ARRAY_SIZE(objs); k++) {
		if (v_type(c, objs[k], path, JSON_OBJECT, false, err) < 0)
			return -1;
		json_t *o = json_object_get(c, objs[k]);
		if (k < 3 && json_is_object(o) && probe_check(o, objs[k], false, err) < 0)
			return berr_wrap(err, "%s", path);
	}
	json_t *lc = json_object_get(c, "lifecycle");
	static const char *const hooks[] = {"postStart", "preStop"};
	for (size_t k = 0; k < 2; k++) {
		char hp[64];
		snprintf(hp, sizeof(hp), "lifecycle.%s", hooks[k]);
		if (v_type(lc, hooks[k], path, JSON_OBJECT, false, err) < 0)
			return -1;
		json_t *hk = json_object_get(lc, hooks[k]);
		if (json_is_object(hk) && probe_check(hk, hp, true, err) < 0)
			return berr_wrap(err, "%s", path);
	}
	return 0;
}

static int validate_spec(json_t *spec, struct image_store *is, struct berr **err)
{
	if (!json_is_object(spec))
		return berr_setc(err, BERR_INVALID, "spec: must be an object");
	if (v_type(spec, "namespace", "spec", JSON_STRING, true, err) < 0 ||
	    v_type(spec, "name", "spec", JSON_STRING, true, err) < 0 ||
	    v_type(spec, "uid", "spec", JSON_STRING, false, err) < 0 ||
	    v_type(spec, "hostname", "spec", JSON_STRING, false, err) < 0 ||
	    v_type(spec, "subdomain", "spec", JSON_STRING, false, err) < 0 ||
	    v_type(spec, "network", "spec", JSON_STRING, true, err) < 0 ||
	    v_type(spec, "restartPolicy", "spec", JSON_STRING, false, err) < 0 ||
	    v_int_range(spec, "terminationGracePeriodSeconds", "spec", 0, 86400 * 365, err) < 0 ||
	    v_type(spec, "labels", "spec", JSON_OBJECT, false, err) < 0 ||
	    v_type(spec, "dns", "spec", JSON_OBJECT, false, err) < 0)
		return -1;
	const char *ns = jsonx_str(spec, "namespace"), *name = jsonx_str(spec, "name");
	if (!dns_name_valid(ns, 63, false))
		return bad(err, "spec.namespace", "\"%s\" must be a DNS label", ns);
	if (!dns_name_valid(name, 253, true))
		return bad(err, "spec.name", "\"%s\" must be a DNS subdomain (lower-case letters, digits, '-' and '.')",
			   name);
	const char *hn = jsonx_str(spec, "hostname");
	if (hn && *hn && !dns_name_valid(hn, 63, false))
		return bad(err, "spec.hostname", "\"%s\" must be a DNS label", hn);
	const char *sd = jsonx_str(spec, "subdomain");
	if (sd && *sd && !dns_name_valid(sd, 63, false))
		return bad(err, "spec.subdomain", "\"%s\" must be a DNS label", sd);
	const char *netname = jsonx_str(spec, "network");
	if (!net_mode_is_network(netname) || !strcmp(netname, "default"))
		return bad(err, "spec.network", "\"%s\" must name a berth bridge network", netname);
	const char *rp = jsonx_str(spec, "restartPolicy");
	if (rp && strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never"))
		return bad(err, "spec.restartPolicy", "\"%s\" is not one of Always, OnFailure, Never", rp);
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(spec, "labels"), k, v)
		if (!json_is_string(v))
			return bad(err, "spec.labels", "%s must be a string", k);
	json_t *dns = json_object_get(spec, "dns");
	if (dns && !json_is_null(dns)) {
		if (v_strings(dns, "nameservers", "spec.dns", err) < 0 || v_strings(dns, "searches", "spec.dns", err) < 0 ||
		    v_type(dns, "options", "spec.dns", JSON_ARRAY, false, err) < 0)
			return -1;
		size_t i;
		json_array_foreach(json_object_get(dns, "options"), i, v) {
			if (!json_is_object(v) || !jsonx_str(v, "name") ||
			    (json_object_get(v, "value") && !json_is_null(json_object_get(v, "value")) && !jsonx_str(v, "value")))
				return bad(err, "spec.dns", "options[%zu] must be {\"name\": string, \"value\": string}", i);
		}
	}
	size_t i;
	char p[128];
	if (v_type(spec, "hostAliases", "spec", JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(spec, "hostAliases"), i, v) {
		snprintf(p, sizeof(p), "spec.hostAliases[%zu]", i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "ip", p, JSON_STRING, true, err) < 0 || v_strings(v, "hostnames", p, err) < 0)
			return -1;
		struct ipam_addr a;
		if (ipam_addr_parse(jsonx_str(v, "ip"), &a, NULL) < 0)
			return bad(err, p, "ip \"%s\" is not an IPv4 address", jsonx_str(v, "ip"));
	}
	if (v_type(spec, "hostPorts", "spec", JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(spec, "hostPorts"), i, v) {
		snprintf(p, sizeof(p), "spec.hostPorts[%zu]", i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "containerPort", p, JSON_INTEGER, true, err) < 0 ||
		    v_int_range(v, "containerPort", p, 1, 65535, err) < 0 || v_int_range(v, "hostPort", p, 0, 65535, err) < 0 ||
		    v_type(v, "hostIP", p, JSON_STRING, false, err) < 0 || v_type(v, "protocol", p, JSON_STRING, false, err) < 0)
			return -1;
		const char *proto = jsonx_str(v, "protocol");
		if (proto && strcmp(proto, "TCP") && strcmp(proto, "UDP"))
			return bad(err, p, "protocol \"%s\" is not supported (TCP and UDP are)", proto);
	}
	if (v_type(spec, "sysctls", "spec", JSON_ARRAY, false, err) < 0)
		return -1;
	json_array_foreach(json_object_get(spec, "sysctls"), i, v) {
		snprintf(p, sizeof(p), "spec.sysctls[%zu]", i);
		if (!json_is_object(v))
			return bad(err, p, "must be an object");
		if (v_type(v, "name", p, JSON_STRING, true, err) < 0 || v_type(v, "value", p, JSON_STRING, true, err) < 0)
			return -1;
		const char *sn = jsonx_str(v, "name");
		if (!*sn || strchr(sn, '/') || strstr(sn, ".."))
			return bad(err, p, "invalid sysctl name \"%s\"", sn);
	}
	if (v_type(spec, "initContainers", "spec", JSON_ARRAY, false, err) < 0 ||
	    v_type(spec, "containers", "spec", JSON_ARRAY, true, err) < 0)
		return -1;
	if (!json_array_size(json_object_get(spec, "containers")))
		return bad(err, "spec.containers", "at least one container is required");
	_cleanup_json_ json_t *idx = is ? image_store_index_read(is, err) : NULL;
	if (is && !idx)
		return -1;
	_cleanup_json_ json_t *names = json_object();
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, v) {
			snprintf(p, sizeof(p), "spec.%s[%zu]", lists[l], i);
			if (v_container(v, p, l == 0, is, idx, err) < 0)
				return -1;
			const char *cn = jsonx_str(v, "name");
			if (json_object_get(names, cn))
				return bad(err, p, "duplicate container name \"%s\"", cn);
			json_object_set_new(names, cn, json_true());
		}
	}
	return 0;
}

/* ---- the pod's directory ---- */

static bool key_of(const char *ns, const char *name, char *buf, size_t n)
{
	if (!ns || !name || !dns_name_valid(ns, 63, false) || !dns_name_valid(name, 253, true))
		return false;
	snprintf(buf, n, "%s_%s", ns, name);
	return true;
}

static int pods_dirfd(struct ctr_store *cs, bool create, struct berr **err)
{
	if (create && mkdirat(cs->rootfd, "pods", 0700) < 0 && errno != EEXIST)
		return berr_set(err, errno, "creating %s/pods", cs->root);
	int fd = openat(cs->rootfd, "pods", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return berr_set(err, errno, "opening %s/pods", cs->root);
	if (fd < 0)
		return berr_setc(err, BERR_NOT_FOUND, "no pods");
	return fd;
}

/* What a locked pod holds while one call works on it. */
struct podh {
	struct ctr_store *cs;
	struct image_store *is;
	char key[330];
	int pfd, dfd, lk;
	json_t *pod, *spec;
	const char *ns, *name, *uid;
};

static void podh_release(struct podh *h)
{
	if (h->lk >= 0)
		close(h->lk);
	if (h->dfd >= 0)
		close(h->dfd);
	if (h->pfd >= 0)
		close(h->pfd);
	json_decref(h->pod);
	h->lk = h->dfd = h->pfd = -1;
	h->pod = NULL;
}

/* Open and lock the pod. 1: another process holds the lock (nb only). The
 * directory may be renamed away (pod_remove) while we wait for the lock:
 * then the one we hold is not the pod's any more, and we look again. */
static int podh_open(struct ctr_store *cs, const char *ns, const char *name, bool nb, struct podh *h,
		     struct berr **err)
{
	*h = (struct podh){.cs = cs, .pfd = -1, .dfd = -1, .lk = -1};
	if (!key_of(ns, name, h->key, sizeof(h->key)))
		return berr_setc(err, BERR_INVALID, "invalid pod name %s/%s", ns ?: "", name ?: "");
	struct berr *e = NULL;
	h->pfd = pods_dirfd(cs, false, &e);
	if (h->pfd < 0) {
		if (e->code == BERR_NOT_FOUND) {
			berr_free(e);
			return berr_setc(err, BERR_NOT_FOUND, "pod %s/%s not found", ns, name);
		}
		*err = e;
		return -1;
	}
	for (int tries = 0; tries < 5; tries++) {
		h->dfd = openat(h->pfd, h->key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (h->dfd < 0)
			break;
		h->lk = openat(h->dfd, "lock", O_RDWR | O_CLOEXEC);
		if (h->lk < 0) {
			close(h->dfd);
			h->dfd = -1;
			continue;
		}
		while (flock(h->lk, LOCK_EX | (nb ? LOCK_NB : 0)) < 0) {
			if (errno == EINTR)
				continue;
			int en = errno;
			podh_release(h);
			if (en == EWOULDBLOCK)
				return 1;
			return berr_set(err, en, "locking pod %s/%s", ns, name);
		}
		struct stat a, b;
		if (fstat(h->dfd, &a) == 0 && fstatat(h->pfd, h->key, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			h->pod = jsonx_load_at(h->dfd, "pod.json", POD_JSON_MAX, err);
			if (!h->pod) {
				podh_release(h);
				return berr_wrap(err, "pod %s/%s", ns, name);
			}
			h->spec = json_object_get(h->pod, "spec");
			h->ns = jsonx_str(h->spec, "namespace");
			h->name = jsonx_str(h->spec, "name");
			h->uid = jsonx_str(h->spec, "uid") ?: "";
			if (!json_is_object(h->spec) || !h->ns || !h->name) {
				podh_release(h);
				return berr_set(err, 0, "pod %s/%s: pod.json has no spec", ns, name);
			}
			return 0;
		}
		close(h->lk);
		close(h->dfd);
		h->lk = h->dfd = -1;
	}
	podh_release(h);
	return berr_setc(err, BERR_NOT_FOUND, "pod %s/%s not found", ns, name);
}

static int podh_save(struct podh *h, struct berr **err)
{
	_cleanup_free_ char *s = json_dumps(h->pod, JSON_COMPACT);
	if (!s)
		return berr_set(err, ENOMEM, "serializing pod.json");
	if (fs_write_atomic_at(h->dfd, "pod.json", s, strlen(s), 0600, false, err) < 0)
		return berr_wrap(err, "pod %s/%s", h->ns, h->name);
	return 0;
}

static json_t *obj_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, key, v);
	}
	return v;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec = 0; /* Kubernetes' times have whole seconds */
	time_rfc3339(&ts, buf, n);
}

/* Seconds since the epoch of an RFC 3339 time, 0 when absent/malformed. */
static time_t epoch_of(const char *s)
{
	struct timespec ts;
	if (!s || !*s || time_parse_rfc3339(s, &ts) < 0 || ts.tv_sec <= 0)
		return 0;
	return ts.tv_sec;
}

/* An RFC 3339 time in Kubernetes' form (whole seconds, Z); null when absent. */
static json_t *k8s_time(const char *s)
{
	struct timespec ts;
	if (!s || !*s || time_parse_rfc3339(s, &ts) < 0 || ts.tv_sec <= 0)
		return json_null();
	struct tm tm;
	char buf[40];
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* Stale work dirs of pod_create / pod_remove whose process is gone. */
static void sweep_stale(int pfd)
{
	_cleanup_close_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return;
	fd = -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		int pid = 0;
		if (!strncmp(n, ".tmp-", 5))
			pid = atoi(n + 5);
		else if (!strncmp(n, ".rm-", 4))
			pid = atoi(n + 4);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			fs_rm_rf_at(dirfd(d), n);
	}
	closedir(d);
}

int pod_create(struct ctr_store *cs, struct image_store *is, json_t *pod, struct berr **err)
{
	if (!json_is_object(pod))
		return berr_setc(err, BERR_INVALID, "pod: must be an object with \"spec\" and \"meta\"");
	json_t *spec = json_object_get(pod, "spec");
	json_t *meta = json_object_get(pod, "meta");
	if (meta && !json_is_null(meta) && !json_is_object(meta))
		return berr_setc(err, BERR_INVALID, "meta: must be an object");
	if (validate_spec(spec, is, err) < 0)
		return -1;
	const char *ns = jsonx_str(spec, "namespace"), *name = jsonx_str(spec, "name");
	char key[330];
	key_of(ns, name, key, sizeof(key));
	_cleanup_close_ int pfd = pods_dirfd(cs, true, err);
	if (pfd < 0)
		return -1;
	sweep_stale(pfd);
	if (faccessat(pfd, key, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return berr_setc(err, BERR_CONFLICT, "pod %s/%s already exists", ns, name);
	_cleanup_json_ json_t *rec = json_object();
	json_t *sp = json_deep_copy(spec);
	if (!jsonx_str(sp, "uid") || !*jsonx_str(sp, "uid")) {
		/* a random (version 4) UUID, as the API server gives */
		char r[65];
		ctr_new_id(r);
		char uuid[40];
		snprintf(uuid, sizeof(uuid), "%.8s-%.4s-4%.3s-%c%.3s-%.12s", r, r + 8, r + 12, "89ab"[r[15] % 4], r + 16,
			 r + 19);
		json_object_set_new(sp, "uid", json_string(uuid));
	}
	char now[48];
	now_rfc3339(now, sizeof(now));
	json_object_set_new(rec, "spec", sp);
	json_object_set_new(rec, "meta", json_is_object(meta) ? json_deep_copy(meta) : json_object());
	json_object_set_new(rec, "sandbox", json_null());
	json_object_set_new(rec, "containers", json_object());
	json_object_set_new(rec, "init", json_object());
	json_object_set_new(rec, "created", json_string(now));
	json_object_set_new(rec, "ip", json_null());
	/* a complete directory appears by rename, or nothing does */
	_cleanup_free_ char *tmp = fs_tmp_name(".tmp-");
	if (mkdirat(pfd, tmp, 0700) < 0)
		return berr_set(err, errno, "creating %s/pods/%s", cs->root, tmp);
	_cleanup_close_ int dfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int lk = dfd >= 0 ? openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
	_cleanup_free_ char *s = json_dumps(rec, JSON_COMPACT);
	if (lk < 0 || !s || fs_write_atomic_at(dfd, "pod.json", s, strlen(s), 0600, true, err) < 0) {
		if (lk < 0 || !s)
			berr_set(err, errno, "writing %s/pods/%s", cs->root, tmp);
		if (lk >= 0)
			close(lk);
		fs_rm_rf_at(pfd, tmp);
		return berr_wrap(err, "pod %s/%s", ns, name);
	}
	close(lk);
	if (renameat2(pfd, tmp, pfd, key, RENAME_NOREPLACE) < 0) {
		int e = errno;
		fs_rm_rf_at(pfd, tmp);
		if (e == EEXIST || e == ENOTEMPTY)
			return berr_setc(err, BERR_CONFLICT, "pod %s/%s already exists", ns, name);
		return berr_set(err, e, "pod %s/%s: recording it", ns, name);
	}
	return 0;
}

int pod_update_meta(struct ctr_store *cs, const char *ns, const char *name, json_t *meta, struct berr **err)
{
	if (!json_is_object(meta))
		return berr_setc(err, BERR_INVALID, "meta: must be an object");
	struct podh h;
	if (podh_open(cs, ns, name, false, &h, err) < 0)
		return -1;
	json_object_set_new(h.pod, "meta", json_deep_copy(meta));
	int r = podh_save(&h, err);
	podh_release(&h);
	return r;
}

/* ---- container requests ---- */

static void ctr_name(const char *ctr, const char *pod, const char *ns, char *buf, size_t n)
{
	snprintf(buf, n, "k8s_%s_%s_%s", ctr, pod, ns);
}

static json_t *pod_labels(struct podh *h, const char *ctr)
{
	json_t *l = json_is_object(json_object_get(h->spec, "labels")) ? json_deep_copy(json_object_get(h->spec, "labels"))
									: json_object();
	json_object_set_new(l, POD_LABEL_NAME, json_string(h->name));
	json_object_set_new(l, POD_LABEL_NAMESPACE, json_string(h->ns));
	json_object_set_new(l, POD_LABEL_UID, json_string(h->uid));
	json_object_set_new(l, POD_LABEL_CONTAINER, json_string(ctr));
	json_object_set_new(l, POD_LABEL_POD, json_string(h->key));
	return l;
}

static const char *restart_policy(struct podh *h)
{
	return jsonx_str(h->spec, "restartPolicy") ?: "Always";
}

static int grace_of(struct podh *h)
{
	json_t *g = json_object_get(h->spec, "terminationGracePeriodSeconds");
	return json_is_integer(g) ? (int)json_integer_value(g) : POD_DEFAULT_GRACE;
}

/* The pod's hostname: spec.hostname, else the pod name cut to a DNS label,
 * as the kubelet does. */
static void pod_hostname(struct podh *h, char *buf, size_t n)
{
	const char *hn = jsonx_str(h->spec, "hostname");
	snprintf(buf, n, "%s", hn && *hn ? hn : h->name);
	if (strlen(buf) > 63)
		buf[63] = 0;
	for (size_t l = strlen(buf); l && (buf[l - 1] == '-' || buf[l - 1] == '.'); l--)
		buf[l - 1] = 0;
}

/* Network sysctls go to the sandbox (whose network namespace the pod
 * shares); the IPC ones to every container (each has its own). */
static bool sysctl_is_net(const char *name) { return !strncmp(name, "net.", 4) || !strncmp(name, "net/", 4); }

static json_t *sysctls_of(struct podh *h, bool net)
{
	json_t *o = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(h->spec, "sysctls"), i, v) {
		const char *n = jsonx_str(v, "name");
		if (n && sysctl_is_net(n) == net)
			json_object_set_new(o, n, json_string(jsonx_str(v, "value") ?: ""));
	}
	return o;
}

static json_t *sandbox_request(struct podh *h)
{
	json_t *first = json_array_get(json_object_get(h->spec, "containers"), 0);
	char hn[64];
	pod_hostname(h, hn, sizeof(hn));
	json_t *pb = json_object(), *exposed = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(h->spec, "hostPorts"), i, v) {
		json_int_t hp = json_integer_value(json_object_get(v, "hostPort"));
		if (hp <= 0)
			continue;
		char key[32];
		const char *proto = jsonx_str(v, "protocol") ?: "TCP";
		snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT "/%s", json_integer_value(json_object_get(v, "containerPort")),
			 !strcmp(proto, "UDP") ? "udp" : "tcp");
		json_t *list = json_object_get(pb, key);
		if (!list)
			json_object_set_new(pb, key, list = json_array());
		char hps[24];
		snprintf(hps, sizeof(hps), "%" JSON_INTEGER_FORMAT, hp);
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", jsonx_str(v, "hostIP") ?: "", "HostPort", hps));
		json_object_set_new(exposed, key, json_object());
	}
	json_t *hc = json_pack("{s:s, s:o, s:{s:s, s:i}, s:o}", "NetworkMode", jsonx_str(h->spec, "network"),
			       "PortBindings", pb, "RestartPolicy", "Name", "no", "MaximumRetryCount", 0, "Sysctls",
			       sysctls_of(h, true));
	/* the pause runs nothing: a small share of the CPU, as the kubelet's sandbox */
	json_object_set_new(hc, "CpuShares", json_integer(2));
	/* the pause leaves on TERM, whatever stop signal the image names (nginx's is QUIT) */
	return json_pack("{s:s, s:[s], s:[], s:s, s:o, s:b, s:o, s:o, s:i, s:s}", "Image", jsonx_str(first, "image"),
			 "Entrypoint", "/pause", "Cmd", "Hostname", hn, "Labels", pod_labels(h, "POD"), "PodInfra", 1,
			 "ExposedPorts", exposed, "HostConfig", hc, "StopTimeout", 2, "StopSignal", "SIGTERM");
}

/* The image's configured user, "" when none. */
static int image_user(struct image_store *is, const char *image, char **ret, struct berr **err)
{
	_cleanup_json_ json_t *idx = image_store_index_read(is, err);
	if (!idx)
		return -1;
	_cleanup_free_ char *id = NULL;
	if (image_store_resolve(idx, image, &id, NULL, err) < 0)
		return -1;
	_cleanup_free_ char *raw = NULL;
	size_t len;
	if (image_store_get_blob(is, id, &raw, &len, err) < 0)
		return -1;
	_cleanup_json_ json_t *cfg = jsonx_parse(raw, len, "image config", err);
	if (!cfg)
		return -1;
	*ret = strdup(jsonx_str(json_object_get(cfg, "config"), "User") ?: "");
	return 0;
}

/* Why a container could not be made, as the kubelet names it. */
struct make_err {
	const char *reason;
};

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int security_request(struct podh *h, json_t *c, json_t *req, json_t *hc, struct make_err *me,
			    struct berr **err)
{
	json_t *sc = json_object_get(c, "securityContext");
	const char *cname = jsonx_str(c, "name");
	json_t *ju = json_object_get(sc, "runAsUser"), *jg = json_object_get(sc, "runAsGroup");
	_cleanup_free_ char *iuser = NULL;
	bool need_image_user = !json_is_integer(ju) && (json_is_integer(jg) || json_is_true(json_object_get(sc, "runAsNonRoot")));
	if (need_image_user && image_user(h->is, jsonx_str(c, "image"), &iuser, err) < 0) {
		me->reason = "CreateContainerConfigError";
		return -1;
	}
	const char *iu = iuser ?: "";
	size_t iulen = strcspn(iu, ":");
	if (json_is_integer(ju) && json_is_integer(jg))
		json_object_set_new(req, "User", json_sprintf("%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT,
							      json_integer_value(ju), json_integer_value(jg)));
	else if (json_is_integer(ju))
		json_object_set_new(req, "User", json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(ju)));
	else if (json_is_integer(jg))
		json_object_set_new(req, "User", json_sprintf("%.*s:%" JSON_INTEGER_FORMAT, (int)(iulen ? iulen : 1),
							      iulen ? iu : "0", json_integer_value(jg)));
	if (json_is_true(json_object_get(sc, "runAsNonRoot"))) {
		/* the kubelet's checks and words (verifyRunAsNonRoot) */
		me->reason = "CreateContainerConfigError";
		char pod[400];
		snprintf(pod, sizeof(pod), "\"%s_%s(%s)\"", h->name, h->ns, h->uid);
		if (json_is_integer(ju) && json_integer_value(ju) == 0)
			return berr_setc(err, BERR_INVALID, "container's runAsUser breaks non-root policy (pod: %s, container: %s)",
					 pod, cname);
		if (!json_is_integer(ju)) {
			if (iulen && !all_digits(iu, iulen))
				return berr_setc(err, BERR_INVALID,
						 "container has runAsNonRoot and image has non-numeric user (%.*s), cannot verify user is non-root (pod: %s, container: %s)",
						 (int)iulen, iu, pod, cname);
			if (!iulen || strtoll(iu, NULL, 10) == 0)
				return berr_setc(err, BERR_INVALID,
						 "container has runAsNonRoot and image will run as root (pod: %s, container: %s)", pod,
						 cname);
		}
		me->reason = NULL;
	}
	json_t *groups = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc, "supplementalGroups"), i, v)
		json_array_append_new(groups, json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
	if (json_is_integer(json_object_get(sc, "fsGroup")))
		json_array_append_new(groups, json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(sc, "fsGroup"))));
	json_object_set_new(hc, "GroupAdd", groups);
	bool priv = json_is_true(json_object_get(sc, "privileged"));
	json_object_set_new(hc, "Privileged", json_boolean(priv));
	json_object_set_new(hc, "ReadonlyRootfs", json_boolean(json_is_true(json_object_get(sc, "readOnlyRootFilesystem"))));
	json_t *caps = json_object_get(sc, "capabilities");
	json_object_set_new(hc, "CapAdd", json_is_array(json_object_get(caps, "add")) ? json_deep_copy(json_object_get(caps, "add")) : json_array());
	json_object_set_new(hc, "CapDrop", json_is_array(json_object_get(caps, "drop")) ? json_deep_copy(json_object_get(caps, "drop")) : json_array());
	json_t *secopt = json_array();
	if (json_is_false(json_object_get(sc, "allowPrivilegeEscalation")) && !priv)
		json_array_append_new(secopt, json_string("no-new-privileges"));
	json_object_set_new(hc, "SecurityOpt", secopt);
	return 0;
}

static void resources_request(json_t *c, json_t *hc)
{
	json_t *res = json_object_get(c, "resources");
	json_t *lim = json_object_get(res, "limits"), *reqs = json_object_get(res, "requests");
	int64_t mem = 0, lcpu = 0, rcpu = 0;
	json_t *v;
	if ((v = json_object_get(lim, "memory")) && quantity_of(v, 0, &mem) == 0 && mem > 0) {
		json_object_set_new(hc, "Memory", json_integer(mem));
		json_object_set_new(hc, "MemorySwap", json_integer(mem)); /* no swap, as the kubelet */
	}
	bool has_lcpu = (v = json_object_get(lim, "cpu")) && quantity_of(v, 3, &lcpu) == 0 && lcpu > 0;
	bool has_rcpu = (v = json_object_get(reqs, "cpu")) && quantity_of(v, 3, &rcpu) == 0;
	/* the kubelet: no request but a limit -> the request is the limit */
	json_object_set_new(hc, "CpuShares", json_integer(pod_cpu_shares(has_rcpu ? rcpu : has_lcpu ? lcpu : 0)));
	if (has_lcpu) {
		json_object_set_new(hc, "CpuQuota", json_integer(pod_cpu_quota(lcpu, CPU_PERIOD)));
		json_object_set_new(hc, "CpuPeriod", json_integer(CPU_PERIOD));
		json_object_set_new(hc, "NanoCpus", json_integer(lcpu * 1000000));
	}
}

static int mounts_request(json_t *c, json_t *hc, struct make_err *me, struct berr **err)
{
	json_t *binds = json_array(), *mounts = json_array(), *tmpfs = json_object();
	json_object_set_new(hc, "Binds", binds);
	json_object_set_new(hc, "Mounts", mounts);
	json_object_set_new(hc, "Tmpfs", tmpfs);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c, "mounts"), i, m) {
		const char *src = jsonx_str(m, "source"), *dst = jsonx_str(m, "target");
		bool ro = json_is_true(json_object_get(m, "readOnly"));
		if (src[0] != '/') {
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b, s:{s:b}}", "Type", "volume", "Source", src,
								"Target", dst, "ReadOnly", ro, "VolumeOptions", "NoCopy", 1));
			continue;
		}
		struct stat st;
		if (stat(src, &st) < 0) {
			me->reason = "CreateContainerConfigError";
			return berr_set(err, errno, "mount %s: source %s", dst, src);
		}
		json_array_append_new(binds, json_sprintf("%s:%s:%s", src, dst, ro ? "ro" : "rw"));
	}
	json_array_foreach(json_object_get(c, "tmpfs"), i, m) {
		json_int_t sz = json_integer_value(json_object_get(m, "sizeBytes"));
		/* as the kubelet's Memory emptyDir: exec allowed */
		json_object_set_new(tmpfs, jsonx_str(m, "target"),
				    sz > 0 ? json_sprintf("rw,exec,size=%" JSON_INTEGER_FORMAT, sz) : json_string("rw,exec"));
	}
	return 0;
}

/* The create request of an init or app container. */
static int container_request(struct podh *h, json_t *c, bool init, const char *sandbox, const char *ip,
			     json_t **ret, struct make_err *me, struct berr **err)
{
	_cleanup_json_ json_t *req = json_object();
	json_t *hc = json_object();
	json_object_set_new(req, "HostConfig", hc);
	json_object_set_new(req, "Image", json_string(jsonx_str(c, "image")));
	pod_command_apply(req, json_object_get(c, "command"), json_object_get(c, "args"));
	json_t *env = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c, "env"), i, v)
		json_array_append_new(env, json_sprintf("%s=%s", jsonx_str(v, "name"), jsonx_str(v, "value") ?: ""));
	json_array_foreach(json_object_get(c, "envPodIP"), i, v)
		json_array_append_new(env, json_sprintf("%s=%s", json_string_value(v), ip ?: ""));
	json_object_set_new(req, "Env", env);
	const char *wd = jsonx_str(c, "workingDir");
	if (wd && *wd)
		json_object_set_new(req, "WorkingDir", json_string(wd));
	json_object_set_new(req, "Tty", json_boolean(json_is_true(json_object_get(c, "tty"))));
	json_object_set_new(req, "OpenStdin", json_boolean(json_is_true(json_object_get(c, "stdin"))));
	json_object_set_new(req, "StdinOnce", json_boolean(json_is_true(json_object_get(c, "stdinOnce"))));
	json_object_set_new(req, "Labels", pod_labels(h, jsonx_str(c, "name")));
	json_object_set_new(req, "StopTimeout", json_integer(grace_of(h)));
	json_t *exposed = json_object();
	json_array_foreach(json_object_get(c, "ports"), i, v) {
		const char *proto = jsonx_str(v, "protocol") ?: "TCP";
		char key[32];
		snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT "/%s", json_integer_value(json_object_get(v, "containerPort")),
			 !strcmp(proto, "UDP") ? "udp" : !strcmp(proto, "SCTP") ? "sctp" : "tcp");
		json_object_set_new(exposed, key, json_object());
	}
	json_object_set_new(req, "ExposedPorts", exposed);
	json_object_set_new(hc, "NetworkMode", json_sprintf("container:%s", sandbox));
	const char *rp = restart_policy(h);
	/* a sidecar restarts whenever it exits, whatever the pod's policy, and
	 * has its probes and hooks as an app container has */
	bool sidecar = init && pod_ctr_is_sidecar(c);
	const char *mon = sidecar ? "always"
			  : !strcmp(rp, "Never") ? "no"
			  : init || !strcmp(rp, "OnFailure") ? "on-failure"
							     : "always";
	json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", mon, "MaximumRetryCount", 0));
	json_object_set_new(hc, "Sysctls", sysctls_of(h, false));
	resources_request(c, hc);
	if (security_request(h, c, req, hc, me, err) < 0 || mounts_request(c, hc, me, err) < 0)
		return -1;
	/* for the monitor (runtime/probe.h) */
	json_object_set_new(req, "KubeBackoff", json_true());
	if (ip)
		json_object_set_new(req, "KubePodIP", json_string(ip));
	if (!init || sidecar) {
		json_t *probes = json_object();
		static const char *const pk[][2] = {{"livenessProbe", "liveness"}, {"readinessProbe", "readiness"},
						    {"startupProbe", "startup"}};
		for (size_t k = 0; k < ARRAY_SIZE(pk); k++)
			if (json_is_object(json_object_get(c, pk[k][0])))
				json_object_set(probes, pk[k][1], json_object_get(c, pk[k][0]));
		if (json_object_size(probes))
			json_object_set_new(req, "KubeProbes", probes);
		else
			json_decref(probes);
		json_t *ps = json_object_get(json_object_get(c, "lifecycle"), "postStart");
		if (json_is_object(ps))
			json_object_set_new(req, "KubeLifecycle", json_pack("{s:O}", "postStart", ps));
	}
	const char *tmp = jsonx_str(c, "terminationMessagePath");
	if (tmp)
		json_object_set_new(req, "KubeTerminationMessagePath", json_string(tmp));
	*ret = steal_pointer(&req);
	return 0;
}

/* ---- making, finding and removing containers ---- */

static void ctr_destroy(struct ctr_store *cs, const char *id)
{
	_cleanup_json_ json_t *cfg = ctr_config(cs, id, NULL);
	struct berr *e = NULL;
	if (ctr_rm(cs, id, true, &e) == 0 && cfg)
		volume_remove_anonymous(cs->root, cfg);
	berr_free(e);
}

/* A container named name that a crash left unrecorded: adopted (its id in
 * ret) when it is this pod's and, for a pod container, in the current
 * sandbox; otherwise removed. */
static bool adopt_by_name(struct podh *h, const char *name, const char *sandbox, char ret[65])
{
	char id[65];
	if (ctr_resolve(h->cs, name, id, NULL) < 0)
		return false;
	_cleanup_json_ json_t *cfg = ctr_config(h->cs, id, NULL);
	json_t *c = json_object_get(cfg, "Config");
	const char *uid = jsonx_str(json_object_get(c, "Labels"), POD_LABEL_UID);
	const char *nm = jsonx_str(json_object_get(cfg, "HostConfig"), "NetworkMode");
	bool mine = uid && !strcmp(uid, h->uid);
	if (mine && sandbox)
		mine = nm && !strncmp(nm, "container:", 10) && !strcmp(nm + 10, sandbox);
	if (mine) {
		memcpy(ret, id, 65);
		return true;
	}
	ctr_destroy(h->cs, id);
	return false;
}

static int make_container(struct podh *h, json_t *req, const char *cname, const char *sandbox, char ret_id[65],
			  struct berr **err)
{
	char name[400];
	ctr_name(cname, h->name, h->ns, name, sizeof(name));
	if (adopt_by_name(h, name, sandbox, ret_id))
		return 0;
	return ctr_create_from(h->cs, h->is, req, name, ret_id, err);
}

/* Stop the ids (at most grace seconds, then SIGKILL), in parallel. */
static void stop_ids(struct ctr_store *cs, json_t *ids, int grace)
{
	size_t n = json_array_size(ids);
	if (!n)
		return;
	char (*v)[65] = calloc(n, 65);
	size_t i;
	json_t *x;
	json_array_foreach(ids, i, x) snprintf(v[i], 65, "%s", json_string_value(x));
	_cleanup_json_ json_t *errs = json_array();
	ctr_stop_many(cs, v, n, grace, errs);
	free(v);
}

static void ids_of(json_t *map, json_t *out)
{
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v)
		if (json_is_string(v))
			json_array_append(out, v);
}

static bool run_prestops(struct podh *h, int grace, long only);

/* The sidecars stopped one at a time, the last first, as the kubelet
 * stops them after the app containers; with hooks each one's preStop
 * first. All within grace seconds (at least POD_PRESTOP_MIN_GRACE each
 * after a hook). */
static void sidecars_down(struct podh *h, int grace, bool hooks)
{
	json_t *inits = json_object_get(h->spec, "initContainers");
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = json_array_size(inits); i-- > 0;) {
		json_t *c = json_array_get(inits, i);
		const char *id = jsonx_str(json_object_get(h->pod, "init"), jsonx_str(c, "name"));
		if (!pod_ctr_is_sidecar(c) || !id)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int left = grace - (int)(now.tv_sec - t0.tv_sec);
		bool ran = hooks && left > 0 && run_prestops(h, left, (long)i);
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = grace - (int)(now.tv_sec - t0.tv_sec);
		if (ran && left < POD_PRESTOP_MIN_GRACE)
			left = POD_PRESTOP_MIN_GRACE;
		_cleanup_json_ json_t *ids = json_pack("[s]", id);
		stop_ids(h->cs, ids, left < 0 ? 0 : left);
	}
}

/* The pod's containers (init and app, not the sandbox) stopped, the
 * sidecars last (with hooks their preStop hooks first) and, unless keep,
 * removed; their restart counts carried over when they had run. */
static void pod_containers_down(struct podh *h, int grace, bool keep, bool hooks)
{
	/* the app and regular init containers, then the sidecars */
	_cleanup_json_ json_t *ids = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(h->spec, "initContainers"), i, c) {
		json_t *id = json_object_get(json_object_get(h->pod, "init"), jsonx_str(c, "name"));
		if (json_is_string(id) && !pod_ctr_is_sidecar(c))
			json_array_append(ids, id);
	}
	ids_of(json_object_get(h->pod, "containers"), ids);
	stop_ids(h->cs, ids, grace);
	sidecars_down(h, grace, hooks);
	if (keep)
		return;
	json_t *restarts = obj_member(h->pod, "restarts");
	static const char *const maps[] = {"containers", "init"};
	for (size_t m = 0; m < 2; m++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(h->pod, maps[m]), k, v) {
			_cleanup_json_ json_t *st = ctr_state(h->cs, json_string_value(v), NULL);
			if (st && jsonx_str(st, "StartedAt"))
				json_object_set_new(restarts, k,
						    json_integer(json_integer_value(json_object_get(restarts, k)) +
								 json_integer_value(json_object_get(st, "RestartCount")) + 1));
			ctr_destroy(h->cs, json_string_value(v));
		}
		json_object_set_new(h->pod, maps[m], json_object());
	}
	json_object_del(h->pod, "retry");
}

/* Rewrite a file of the sandbox in place: it is bind-mounted in it. */
static int put_ctr_file(struct ctr_store *cs, const char *id, const char *name, const char *data, struct berr **err)
{
	_cleanup_close_ int dfd = ctr_dirfd(cs, id);
	_cleanup_close_ int fd = dfd < 0 ? -1 : openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_full(fd, data, strlen(data)) < 0)
		return berr_set(err, errno, "writing the sandbox's %s", name);
	return 0;
}

static int sandbox_up(struct podh *h, struct berr **err)
{
	const char *netname = jsonx_str(h->spec, "network");
	struct net n;
	if (net_load(h->cs->root, netname, &n, err) < 0)
		return berr_wrap(err, "pod %s/%s", h->ns, h->name);
	char gateway[IPAM_STRLEN];
	snprintf(gateway, sizeof(gateway), "%s", n.gateway);
	bool dflt = n.is_default;
	net_release(&n);
	if (dflt)
		return berr_setc(err, BERR_INVALID, "pod %s/%s: network %s: pods need a user network (with DNS)", h->ns,
				 h->name, netname);
	_cleanup_json_ json_t *req = sandbox_request(h);
	json_t *pb = json_object_get(json_object_get(req, "HostConfig"), "PortBindings");
	char name[400], id[65];
	ctr_name("POD", h->name, h->ns, name, sizeof(name));
	bool adopted = adopt_by_name(h, name, NULL, id);
	if (adopted) {
		_cleanup_json_ json_t *st = ctr_state(h->cs, id, NULL);
		if (!st || !ctr_is_running(st)) {
			ctr_destroy(h->cs, id);
			adopted = false;
		}
	}
	if (!adopted) {
		if (json_object_size(pb) && ports_check_free(pb, err) < 0)
			return berr_wrap(err, "pod %s/%s: hostPort", h->ns, h->name);
		if (ctr_create_from(h->cs, h->is, req, name, id, err) < 0)
			return berr_wrap(err, "pod %s/%s: creating the sandbox", h->ns, h->name);
		json_object_set_new(h->pod, "sandbox", json_string(id));
		json_object_set_new(h->pod, "ip", json_null());
		if (podh_save(h, err) < 0) {
			ctr_destroy(h->cs, id);
			return -1;
		}
		int code;
		if (ctr_start(h->cs, id, NULL, NULL, &code, err) < 0) {
			ctr_destroy(h->cs, id);
			json_object_set_new(h->pod, "sandbox", json_null());
			podh_save(h, NULL);
			return berr_wrap(err, "pod %s/%s: starting the sandbox", h->ns, h->name);
		}
	} else {
		json_object_set_new(h->pod, "sandbox", json_string(id));
	}
	/* the pod IP, then the files every container of the pod copies */
	_cleanup_json_ json_t *cfg = ctr_config(h->cs, id, err);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/containers/%s", h->cs->root, id);
	_cleanup_json_ json_t *nets = cfg ? net_ctr_settings(h->cs->root, h->cs->runroot, cfg, id, dir, true) : NULL;
	const char *ip = NULL;
	const char *k;
	json_t *v;
	json_object_foreach(nets, k, v) {
		ip = jsonx_str(v, "IPAddress");
		if (ip && *ip)
			break;
	}
	if (!ip || !*ip) {
		ctr_destroy(h->cs, id);
		json_object_set_new(h->pod, "sandbox", json_null());
		podh_save(h, NULL);
		return berr_set(err, 0, "pod %s/%s: the sandbox has no address on network %s", h->ns, h->name, netname);
	}
	char hn[64];
	pod_hostname(h, hn, sizeof(hn));
	_cleanup_free_ char *hosts = pod_hosts_file(ip, hn, jsonx_str(h->spec, "subdomain"), h->ns,
						    json_object_get(h->spec, "hostAliases"));
	_cleanup_free_ char *resolv = pod_resolv_file(json_object_get(h->spec, "dns"), h->ns, gateway);
	if (put_ctr_file(h->cs, id, "hosts", hosts, err) < 0 || put_ctr_file(h->cs, id, "resolv.conf", resolv, err) < 0) {
		ctr_destroy(h->cs, id);
		json_object_set_new(h->pod, "sandbox", json_null());
		podh_save(h, NULL);
		return berr_wrap(err, "pod %s/%s", h->ns, h->name);
	}
	json_object_set_new(h->pod, "ip", json_string(ip));
	json_object_set_new(h->pod, "hostIP", json_string(gateway));
	json_object_set_new(h->pod, "sandboxes",
			    json_integer(json_integer_value(json_object_get(h->pod, "sandboxes")) + 1));
	return podh_save(h, err);
}

static void set_error(struct podh *h, const char *cname, const char *reason, const char *msg)
{
	json_t *errs = obj_member(h->pod, "errors");
	if (reason)
		json_object_set_new(errs, cname, json_pack("{s:s, s:s}", "reason", reason, "message", msg));
	else
		json_object_del(errs, cname);
}

/* Make and start container c (init or app). -1 with the reason recorded
 * for pod_status when it cannot be made. */
static int container_up(struct podh *h, json_t *c, bool init, struct berr **err)
{
	const char *cname = jsonx_str(c, "name");
	const char *sandbox = jsonx_str(h->pod, "sandbox");
	const char *ip = jsonx_str(h->pod, "ip");
	struct make_err me = {0};
	_cleanup_json_ json_t *req = NULL;
	char id[65];
	/* an image that left the store: the kubelet's words with pull policy Never */
	{
		_cleanup_json_ json_t *idx = image_store_index_read(h->is, err);
		_cleanup_free_ char *iid = NULL;
		if (!idx)
			return -1;
		struct berr *e = NULL;
		if (image_store_resolve(idx, jsonx_str(c, "image"), &iid, NULL, &e) < 0) {
			berr_free(e);
			berr_setc(err, BERR_NOT_FOUND, "Container image \"%s\" is not present with pull policy of Never",
				  jsonx_str(c, "image"));
			set_error(h, cname, "ErrImageNeverPull", (*err)->msg);
			podh_save(h, NULL);
			return berr_wrap(err, "pod %s/%s: container %s", h->ns, h->name, cname);
		}
	}
	if (container_request(h, c, init, sandbox, ip, &req, &me, err) < 0 ||
	    make_container(h, req, cname, sandbox, id, err) < 0) {
		set_error(h, cname, me.reason ?: "CreateContainerError", (*err)->msg);
		podh_save(h, NULL);
		return berr_wrap(err, "pod %s/%s: container %s", h->ns, h->name, cname);
	}
	set_error(h, cname, NULL, NULL);
	json_object_set_new(obj_member(h->pod, init ? "init" : "containers"), cname, json_string(id));
	if (podh_save(h, err) < 0)
		return -1;
	int code;
	struct berr *e = NULL;
	if (ctr_start(h->cs, id, NULL, NULL, &code, &e) < 0) {
		/* it exited at once (command not found...): its state says so,
		 * and the next sync restarts it per policy with the back-off */
		berr_free(e);
	}
	return 0;
}

/* Whether restartPolicy restarts a container that exited with code. */
static bool policy_restarts(struct podh *h, int code)
{
	const char *rp = restart_policy(h);
	return !strcmp(rp, "Always") || (!strcmp(rp, "OnFailure") && code != 0);
}

static bool init_policy_restarts(struct podh *h, int code) { return code != 0 && strcmp(restart_policy(h), "Never"); }

/* Kubernetes' back-off: at once, then 10 s doubling to 300 s. */
static long backoff_delay(long count)
{
	if (count <= 0)
		return 0;
	long d = 10;
	for (long i = 1; i < count && d < 300; i++)
		d *= 2;
	return d > 300 ? 300 : d;
}

/* A container whose monitor has given up (its start failed, or it was
 * killed with berth kill/stop) and that the policy restarts: started
 * again once its back-off is over. Returns 1 while it waits. */
static int restart_exited(struct podh *h, const char *cname, const char *id, json_t *st)
{
	json_t *retry = obj_member(obj_member(h->pod, "retry"), cname);
	time_t now = time(NULL);
	time_t fin = epoch_of(jsonx_str(st, "FinishedAt"));
	time_t start = epoch_of(jsonx_str(st, "StartedAt"));
	long count = (long)json_integer_value(json_object_get(retry, "count"));
	if (start && fin && fin - start >= 600)
		count = 0; /* ran 10 minutes: the back-off starts over */
	time_t at = (time_t)json_integer_value(json_object_get(retry, "at"));
	if (!at) {
		at = (fin ? fin : now) + backoff_delay(count);
		json_object_set_new(retry, "at", json_integer(at));
		json_object_set_new(retry, "count", json_integer(count));
		json_object_set_new(retry, "delay", json_integer(backoff_delay(count)));
		podh_save(h, NULL);
	}
	if (now < at)
		return 1;
	json_t *restarts = obj_member(h->pod, "restarts");
	json_object_set_new(restarts, cname,
			    json_integer(json_integer_value(json_object_get(restarts, cname)) +
					 json_integer_value(json_object_get(st, "RestartCount")) + 1));
	json_object_set_new(retry, "count", json_integer(count + 1));
	json_object_set_new(retry, "at", json_integer(0));
	podh_save(h, NULL);
	int code;
	struct berr *e = NULL;
	ctr_start(h->cs, id, NULL, NULL, &code, &e);
	berr_free(e);
	return 0;
}

static bool st_is(json_t *st, const char *status)
{
	const char *s = jsonx_str(st, "Status");
	return s && !strcmp(s, status);
}

/* The pod ended: its sandbox goes (the address back to the network). */
static void pod_end(struct podh *h, const char *phase)
{
	json_object_set_new(h->pod, "terminal", json_string(phase));
	/* the app containers ended: the sidecars stop, last first */
	sidecars_down(h, grace_of(h), true);
	const char *sid = jsonx_str(h->pod, "sandbox");
	if (sid) {
		_cleanup_json_ json_t *ids = json_pack("[s]", sid);
		stop_ids(h->cs, ids, 2);
	}
	podh_save(h, NULL);
}

/* Whether a container after init container idx was made: then a sidecar
 * at idx no longer holds the pod back. */
static bool later_made(struct podh *h, size_t idx)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(h->spec, "initContainers"), i, c)
		if (i > idx && jsonx_str(json_object_get(h->pod, "init"), jsonx_str(c, "name")))
			return true;
	return json_object_size(json_object_get(h->pod, "containers")) > 0;
}

/* One step of sidecar c (init container idx): made, started, restarted
 * once its monitor gave up. 1 while it holds the containers after it back
 * (not running yet, or its startupProbe has not passed, before any of
 * them was made), 0 when they may go on, -1 on an error that holds. */
static int sidecar_step(struct podh *h, json_t *c, size_t idx, struct berr **err)
{
	const char *cname = jsonx_str(c, "name");
	bool passed = later_made(h, idx);
	const char *id = jsonx_str(json_object_get(h->pod, "init"), cname);
	_cleanup_json_ json_t *st = id ? ctr_state(h->cs, id, NULL) : NULL;
	if (!st) {
		if (id)
			json_object_del(json_object_get(h->pod, "init"), cname);
		struct berr *e = NULL;
		if (container_up(h, c, true, &e) < 0) {
			if (!passed) {
				*err = e;
				return -1;
			}
			berr_free(e);
		}
		return passed ? 0 : 1;
	}
	if (st_is(st, "created")) {
		int code;
		struct berr *e = NULL;
		ctr_start(h->cs, id, NULL, NULL, &code, &e);
		berr_free(e);
		return passed ? 0 : 1;
	}
	if (ctr_is_running(st)) {
		if (passed || !st_is(st, "running"))
			return passed ? 0 : 1;
		json_t *kube = json_object_get(st, "Kube");
		bool has_sp = json_is_object(json_object_get(c, "startupProbe"));
		bool started = json_is_object(kube) ? json_is_true(json_object_get(kube, "Started")) : !has_sp;
		return started ? 0 : 1;
	}
	/* exited and its monitor gave up (berth kill/stop, a failed start) */
	restart_exited(h, cname, id, st);
	return passed ? 0 : 1;
}

static int pod_step(struct podh *h, struct berr **err)
{
	if (jsonx_str(h->pod, "terminal"))
		return 0;
	const char *sid = jsonx_str(h->pod, "sandbox");
	_cleanup_json_ json_t *sst = sid ? ctr_state(h->cs, sid, NULL) : NULL;
	if (!sst || !ctr_is_running(sst)) {
		/* the containers lost their network with the sandbox: a short
		 * stop, so that a sync stays a quick step */
		int g = grace_of(h) < SANDBOX_LOST_GRACE ? grace_of(h) : SANDBOX_LOST_GRACE;
		bool ctrs = json_object_size(json_object_get(h->pod, "containers")) ||
			    json_object_size(json_object_get(h->pod, "init"));
		bool had = sid || ctrs;
		if (ctrs && !strcmp(restart_policy(h), "Never")) {
			/* the kubelet makes no new sandbox for a pod that never
			 * restarts: its containers are killed, the pod ends */
			pod_containers_down(h, g, true, false);
			if (sid)
				ctr_destroy(h->cs, sid);
			json_object_set_new(h->pod, "sandbox", json_null());
			pod_end(h, "Failed");
			return 0;
		}
		if (had) {
			pod_containers_down(h, g, false, false);
			if (sid)
				ctr_destroy(h->cs, sid);
			json_object_set_new(h->pod, "sandbox", json_null());
			json_object_set_new(h->pod, "ip", json_null());
			if (podh_save(h, err) < 0)
				return -1;
		}
		if (sandbox_up(h, err) < 0)
			return -1;
	}
	/* init containers, one at a time, in order; a sidecar (restartPolicy
	 * Always) holds the next ones back only until it runs (and its
	 * startupProbe passed), then keeps running beside them */
	json_t *inits = json_object_get(h->spec, "initContainers");
	size_t i;
	json_t *c;
	json_array_foreach(inits, i, c) {
		const char *cname = jsonx_str(c, "name");
		if (pod_ctr_is_sidecar(c)) {
			int r = sidecar_step(h, c, i, err);
			if (r != 0)
				return r < 0 ? -1 : 0;
			continue;
		}
		const char *id = jsonx_str(json_object_get(h->pod, "init"), cname);
		if (!id)
			return container_up(h, c, true, err);
		_cleanup_json_ json_t *st = ctr_state(h->cs, id, NULL);
		if (!st) {
			json_object_del(json_object_get(h->pod, "init"), cname);
			return container_up(h, c, true, err);
		}
		if (ctr_is_running(st))
			return 0;
		if (st_is(st, "created")) {
			int code;
			struct berr *e = NULL;
			ctr_start(h->cs, id, NULL, NULL, &code, &e);
			berr_free(e);
			return 0;
		}
		int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		if (code == 0)
			continue;
		if (!init_policy_restarts(h, code)) {
			pod_end(h, "Failed");
			return 0;
		}
		restart_exited(h, cname, id, st);
		return 0;
	}
	/* app containers, all at once */
	int r = 0;
	bool any_restarts = false, all_done = true, any_failed = false;
	json_array_foreach(json_object_get(h->spec, "containers"), i, c) {
		const char *cname = jsonx_str(c, "name");
		const char *id = jsonx_str(json_object_get(h->pod, "containers"), cname);
		_cleanup_json_ json_t *st = id ? ctr_state(h->cs, id, NULL) : NULL;
		if (!st) {
			if (id)
				json_object_del(json_object_get(h->pod, "containers"), cname);
			struct berr *e = NULL;
			if (container_up(h, c, false, &e) < 0) {
				if (r == 0) {
					*err = e;
					r = -1;
				} else {
					berr_free(e);
				}
			}
			all_done = false;
			continue;
		}
		if (ctr_is_running(st)) {
			all_done = false;
			continue;
		}
		if (st_is(st, "created")) {
			int code;
			struct berr *e = NULL;
			ctr_start(h->cs, id, NULL, NULL, &code, &e);
			berr_free(e);
			all_done = false;
			continue;
		}
		int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		if (policy_restarts(h, code)) {
			restart_exited(h, cname, id, st);
			any_restarts = true;
			all_done = false;
			continue;
		}
		any_failed |= code != 0;
	}
	if (r == 0 && all_done && !any_restarts)
		pod_end(h, any_failed ? "Failed" : "Succeeded");
	return r;
}

int pod_sync(struct ctr_store *cs, struct image_store *is, const char *ns, const char *name, struct berr **err)
{
	struct podh h;
	int r = podh_open(cs, ns, name, true, &h, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	h.is = is;
	r = pod_step(&h, err);
	podh_release(&h);
	return r;
}

/* ---- status ---- */

static json_t *load_pod(struct ctr_store *cs, const char *ns, const char *name, int *ret_dfd)
{
	char key[330];
	if (!key_of(ns, name, key, sizeof(key)))
		return NULL;
	_cleanup_close_ int pfd = openat(cs->rootfd, "pods", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return NULL;
	int dfd = openat(pfd, key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	json_t *pod = jsonx_load_at(dfd, "pod.json", POD_JSON_MAX, NULL);
	if (!pod || !json_is_object(json_object_get(pod, "spec"))) {
		json_decref(pod);
		close(dfd);
		return NULL;
	}
	if (ret_dfd)
		*ret_dfd = dfd;
	else
		close(dfd);
	return pod;
}

struct cstat {
	bool running, terminated, waiting, has_last, ready, started;
	int exit_code, last_code;
};

static const char *term_reason(json_t *st, int code)
{
	if (json_is_true(json_object_get(st, "OOMKilled")))
		return "OOMKilled";
	const char *e = jsonx_str(st, "Error");
	if (e && *e && !jsonx_str(st, "StartedAt"))
		return "StartError";
	return code == 0 ? "Completed" : "Error";
}

static json_t *terminated_of(json_t *st, int code, bool with_start)
{
	json_t *t = json_pack("{s:i, s:s}", "exitCode", code, "reason", term_reason(st, code));
	const char *e = jsonx_str(st, "Error");
	if (e && *e)
		json_object_set_new(t, "message", json_string(e));
	if (with_start)
		json_object_set_new(t, "startedAt", k8s_time(jsonx_str(st, "StartedAt")));
	json_object_set_new(t, "finishedAt", k8s_time(jsonx_str(st, "FinishedAt")));
	json_object_set_new(t, "containerID", json_sprintf("berth://%s", jsonx_str(st, "Id") ?: ""));
	return t;
}

struct tail_ud {
	struct sbuf *buf;
};

static int tail_line(void *ud, int stream, const struct timespec *ts, const char *text, size_t n)
{
	sbuf_add(((struct tail_ud *)ud)->buf, text, n);
	return 0;
}

/* The kubelet's termination message: the file at terminationMessagePath
 * (at most 4096 bytes), or with FallbackToLogsOnError, when that is empty
 * and the container failed, the end of its log (80 lines, 2048 bytes). */
static void termination_message(struct ctr_store *cs, const json_t *c, const char *id, int code, json_t *t)
{
	const char *file = jsonx_str(c, "terminationMessageFile");
	if (!file)
		return;
	char *msg = NULL;
	size_t len = 0;
	struct berr *e = NULL;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		msg = malloc(4097);
		ssize_t r = fs_read_full(fd, msg, 4096);
		len = r > 0 ? (size_t)r : 0;
		msg[len] = 0;
		close(fd);
	}
	const char *pol = jsonx_str(c, "terminationMessagePolicy");
	if (!len && code != 0 && pol && !strcmp(pol, "FallbackToLogsOnError")) {
		struct sbuf buf = SBUF_INIT;
		struct tail_ud ud = {&buf};
		struct logs_opts o = {.tail = 80, .out = -1, .err = -1, .line = tail_line, .ud = &ud};
		if (logs_print(cs, id, &o, &e) == 0 && buf.len) {
			const char *b = sbuf_str(&buf);
			size_t bl = buf.len, off = bl > 2048 ? bl - 2048 : 0;
			free(msg);
			msg = strndup(b + off, bl - off);
			len = bl - off;
		}
		berr_free(e);
		sbuf_release(&buf);
	}
	if (msg && len)
		json_object_set_new(t, "message", json_stringn(msg, len));
	free(msg);
}

/* One ContainerStatus. */
static json_t *container_status(struct ctr_store *cs, json_t *pod, json_t *c, bool init, const char *wait_reason,
				bool terminal, struct cstat *out)
{
	const char *cname = jsonx_str(c, "name");
	const char *id = jsonx_str(json_object_get(pod, init ? "init" : "containers"), cname);
	json_t *spec = json_object_get(pod, "spec");
	const char *rp = jsonx_str(spec, "restartPolicy") ?: "Always";
	bool sidecar = init && pod_ctr_is_sidecar(c);
	json_t *s = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I}", "name", cname, "image", jsonx_str(c, "image"), "imageID", "",
			      "ready", 0, "started", 0, "restartCount",
			      json_integer_value(json_object_get(json_object_get(pod, "restarts"), cname)));
	json_object_set_new(s, "lastState", json_object());
	*out = (struct cstat){0};
	_cleanup_json_ json_t *st = id ? ctr_state(cs, id, NULL) : NULL;
	_cleanup_json_ json_t *cfg = st ? ctr_config(cs, id, NULL) : NULL;
	json_t *err = json_object_get(json_object_get(pod, "errors"), cname);
	json_t *mw = json_object_get(json_object_get(json_object_get(pod, "meta"), "containerWaiting"), cname);
	if (!st) {
		json_t *w = json_is_object(mw) ? json_deep_copy(mw)
			    : json_is_object(err) ? json_deep_copy(err)
						  : json_pack("{s:s}", "reason", wait_reason);
		json_object_set_new(s, "state", json_pack("{s:o}", "waiting", w));
		out->waiting = true;
		return s;
	}
	json_object_set_new(s, "containerID", json_sprintf("berth://%s", id));
	json_object_set_new(s, "imageID", json_string(jsonx_str(cfg, "Image") ?: ""));
	json_object_set_new(s, "restartCount", json_integer(json_integer_value(json_object_get(s, "restartCount")) +
							    json_integer_value(json_object_get(st, "RestartCount"))));
	json_object_set_new(st, "Id", json_string(id));
	int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	bool ran_before = jsonx_str(st, "FinishedAt") && json_integer_value(json_object_get(s, "restartCount")) > 0;
	json_t *kube = json_object_get(st, "Kube");
	if (ctr_is_running(st) && !st_is(st, "restarting")) {
		bool has_rp = json_is_object(json_object_get(c, "readinessProbe"));
		bool has_sp = json_is_object(json_object_get(c, "startupProbe"));
		bool started = json_is_object(kube) ? json_is_true(json_object_get(kube, "Started")) : !has_sp;
		bool ready = json_is_object(kube) ? json_is_true(json_object_get(kube, "Ready")) : (!has_rp && started);
		json_object_set_new(s, "state", json_pack("{s:{s:o}}", "running", "startedAt", k8s_time(jsonx_str(st, "StartedAt"))));
		json_object_set_new(s, "ready", json_boolean(ready && (!init || sidecar)));
		json_object_set_new(s, "started", json_boolean(started));
		out->running = true;
		out->ready = ready;
		out->started = started;
		if (ran_before) {
			/* the previous run, as far as state.json still tells it */
			json_t *t = json_pack("{s:I, s:o}", "exitCode", json_integer_value(json_object_get(st, "ExitCode")),
					      "finishedAt", k8s_time(jsonx_str(st, "FinishedAt")));
			json_object_set_new(t, "reason", json_string(json_is_true(json_object_get(st, "OOMKilled")) ? "OOMKilled"
									   : code == 0 ? "Completed" : "Error"));
			json_object_set_new(json_object_get(s, "lastState"), "terminated", t);
			out->has_last = true;
		}
		return s;
	}
	if (st_is(st, "created")) {
		json_object_set_new(s, "state", json_pack("{s:{s:s}}", "waiting", "reason", init ? "PodInitializing" : wait_reason));
		out->waiting = true;
		return s;
	}
	/* restarting (the monitor's back-off) or exited */
	bool will_restart = st_is(st, "restarting") ||
			    (!terminal && (sidecar ? true
					   : init ? code != 0 && strcmp(rp, "Never")
						: (!strcmp(rp, "Always") || (!strcmp(rp, "OnFailure") && code != 0))));
	if (will_restart) {
		/* the delay: the monitor's back-off (state.json Kube.BackOff), or ours */
		json_t *retry = json_object_get(json_object_get(pod, "retry"), cname);
		json_t *bo = json_object_get(json_object_get(st, "Kube"), "BackOff");
		long delay = json_is_integer(json_object_get(bo, "Seconds")) ? (long)json_integer_value(json_object_get(bo, "Seconds"))
									 : (long)json_integer_value(json_object_get(retry, "delay"));
		char msg[600];
		snprintf(msg, sizeof(msg), "back-off %lds restarting failed container=%s pod=%s_%s(%s)", delay ? delay : 10L,
			 cname, jsonx_str(spec, "name"), jsonx_str(spec, "namespace"), jsonx_str(spec, "uid") ?: "");
		json_object_set_new(s, "state", json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff", "message", msg));
		json_t *lt = terminated_of(st, code, true);
		termination_message(cs, c, id, code, lt);
		json_object_set_new(json_object_get(s, "lastState"), "terminated", lt);
		out->waiting = true;
		out->has_last = true;
		out->last_code = code;
		return s;
	}
	json_t *tt = terminated_of(st, code, true);
	termination_message(cs, c, id, code, tt);
	json_object_set_new(s, "state", json_pack("{s:o}", "terminated", tt));
	/* an init container that completed is ready, as the kubelet reports it */
	if (init && !sidecar && code == 0)
		json_object_set_new(s, "ready", json_true());
	out->terminated = true;
	out->exit_code = code;
	return s;
}

/* conditions.json keeps when each condition last changed. */
static json_t *condition(json_t *times, bool *dirty, const char *type, bool status, const char *reason,
			 const char *message, const char *fallback_time)
{
	json_t *t = json_object_get(times, type);
	const char *want = status ? "True" : "False";
	if (!json_is_object(t) || strcmp(jsonx_str(t, "status") ?: "", want)) {
		char now[48];
		now_rfc3339(now, sizeof(now));
		/* first seen: PodScheduled dates from the pod's creation */
		t = json_pack("{s:s, s:s}", "status", want, "time", !json_is_object(t) && fallback_time ? fallback_time : now);
		json_object_set_new(times, type, t);
		*dirty = true;
	}
	json_t *c = json_pack("{s:s, s:s, s:O, s:n}", "type", type, "status", want, "lastTransitionTime",
			      json_object_get(t, "time"), "lastProbeTime");
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

static const char *qos_class(json_t *spec)
{
	bool any = false, guaranteed = true;
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			json_t *res = json_object_get(c, "resources");
			json_t *lim = json_object_get(res, "limits"), *req = json_object_get(res, "requests");
			static const char *const rs[] = {"cpu", "memory"};
			for (size_t k = 0; k < 2; k++) {
				json_t *lv = json_object_get(lim, rs[k]), *rv = json_object_get(req, rs[k]);
				int64_t a = 0, b = 0;
				if (lv || rv)
					any = true;
				if (!lv) {
					guaranteed = false;
					continue;
				}
				if (rv && (quantity_of(lv, 3, &a) < 0 || quantity_of(rv, 3, &b) < 0 || a != b))
					guaranteed = false;
			}
		}
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

json_t *pod_status(struct ctr_store *cs, const char *ns, const char *name)
{
	int dfd = -1;
	_cleanup_json_ json_t *pod = load_pod(cs, ns, name, &dfd);
	if (!pod)
		return NULL;
	_cleanup_close_ int dirfd_ = dfd;
	json_t *spec = json_object_get(pod, "spec");
	const char *rp = jsonx_str(spec, "restartPolicy") ?: "Always";
	const char *terminal = jsonx_str(pod, "terminal");
	const char *sid = jsonx_str(pod, "sandbox");
	json_t *status = json_object();
	/* init containers */
	json_t *ics = json_array();
	size_t pending_init = 0, failed_init = 0;
	struct sbuf incomplete = SBUF_INIT;
	size_t i;
	json_t *c;
	bool inits_done = true;
	/* app containers made: the pod was initialized (a sidecar that
	 * restarts later does not undo it) */
	bool apps_made = json_object_size(json_object_get(pod, "containers")) > 0;
	bool sidecar_running = false;
	size_t running = 0, waiting = 0, stopped = 0, succeeded = 0, nready = 0, n = 0;
	struct sbuf unready = SBUF_INIT;
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		struct cstat cst;
		json_t *s = container_status(cs, pod, c, true, "PodInitializing", terminal != NULL, &cst);
		json_array_append_new(ics, s);
		if (pod_ctr_is_sidecar(c)) {
			/* a sidecar: initialized once it runs (and started), ready
			 * as an app container */
			bool up = cst.running && cst.started;
			sidecar_running |= cst.running;
			if (!up && !apps_made) {
				pending_init++;
				inits_done = false;
				sbuf_addf(&incomplete, "%s%s", incomplete.len ? " " : "", jsonx_str(c, "name"));
			}
			n++;
			if (cst.running && cst.ready)
				nready++;
			else
				sbuf_addf(&unready, "%s%s", unready.len ? " " : "", jsonx_str(c, "name"));
			continue;
		}
		if (cst.running) {
			pending_init++;
		} else if (cst.terminated) {
			if (cst.exit_code != 0)
				failed_init++;
		} else if (cst.has_last) {
			if (cst.last_code != 0)
				failed_init++;
		} else {
			pending_init++;
		}
		if (!(cst.terminated && cst.exit_code == 0)) {
			inits_done = false;
			sbuf_addf(&incomplete, "%s%s", incomplete.len ? " " : "", jsonx_str(c, "name"));
		}
	}
	/* app containers */
	json_t *acs = json_array();
	bool any_started = false;
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		struct cstat cst;
		/* the kubelet's default waiting state: PodInitializing in a pod
		 * with init containers (until the container runs), else
		 * ContainerCreating */
		const char *wr = json_array_size(json_object_get(spec, "initContainers")) ? "PodInitializing" : "ContainerCreating";
		json_t *s = container_status(cs, pod, c, false, wr, terminal != NULL, &cst);
		json_array_append_new(acs, s);
		n++;
		if (cst.running) {
			running++;
			any_started = true;
		} else if (cst.terminated) {
			stopped++;
			any_started = true;
			if (cst.exit_code == 0)
				succeeded++;
		} else if (cst.has_last) {
			stopped++;
			any_started = true;
		} else {
			waiting++;
		}
		if (cst.running && cst.ready)
			nready++;
		else
			sbuf_addf(&unready, "%s%s", unready.len ? " " : "", jsonx_str(c, "name"));
	}
	/* the kubelet's getPhase */
	const char *phase;
	if (failed_init > 0 && !strcmp(rp, "Never"))
		phase = "Failed";
	else if ((pending_init > 0 && !any_started) || waiting > 0)
		phase = terminal ? (!strcmp(terminal, "Failed") ? "Failed" : "Succeeded") : "Pending";
	else if (running > 0)
		phase = "Running";
	else if (stopped > 0) {
		if (terminal)
			phase = stopped == succeeded ? "Succeeded" : "Failed";
		else if (!strcmp(rp, "Always"))
			phase = "Running";
		else if (stopped == succeeded)
			phase = "Succeeded";
		else if (!strcmp(rp, "Never"))
			phase = "Failed";
		else
			phase = "Running";
	} else
		phase = "Pending";
	if (terminal && !strcmp(phase, "Pending"))
		phase = terminal;
	/* the app containers ended but a sidecar still runs: the pod's next
	 * step stops the sidecars and ends the pod; until then it runs (and
	 * its drivers keep stepping it) */
	if (!terminal && sidecar_running && (phase[0] == 'S' || phase[0] == 'F')) /* Succeeded, Failed */
		phase = "Running";
	/* conditions */
	_cleanup_json_ json_t *times = jsonx_load_at(dfd, "conditions.json", 1 << 16, NULL);
	if (!json_is_object(times)) {
		json_decref(times);
		times = json_object();
	}
	bool dirty = false;
	const char *created = jsonx_str(pod, "created");
	bool ended = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	bool cready = nready == n && !ended;
	char msg[1200];
	json_t *conds = json_array();
	json_array_append_new(conds, condition(times, &dirty, "PodScheduled", true, NULL, NULL, created));
	snprintf(msg, sizeof(msg), "containers with incomplete status: [%s]", sbuf_str(&incomplete));
	json_array_append_new(conds, condition(times, &dirty, "Initialized", inits_done, inits_done ? NULL : "ContainersNotInitialized",
					       inits_done ? NULL : msg, NULL));
	snprintf(msg, sizeof(msg), "containers with unready status: [%s]", sbuf_str(&unready));
	const char *nr_reason = ended ? "PodCompleted" : "ContainersNotReady";
	json_array_append_new(conds, condition(times, &dirty, "ContainersReady", cready, cready ? NULL : nr_reason,
					       cready || ended ? NULL : msg, NULL));
	json_array_append_new(conds, condition(times, &dirty, "Ready", cready, cready ? NULL : nr_reason,
					       cready || ended ? NULL : msg, NULL));
	sbuf_release(&incomplete);
	sbuf_release(&unready);
	if (dirty) {
		_cleanup_free_ char *ts = json_dumps(times, JSON_COMPACT);
		if (ts)
			fs_write_atomic_at(dfd, "conditions.json", ts, strlen(ts), 0600, false, NULL);
	}
	json_object_set_new(status, "phase", json_string(phase));
	json_object_set_new(status, "conditions", conds);
	const char *ip = jsonx_str(pod, "ip");
	const char *hip = jsonx_str(pod, "hostIP");
	if (hip) {
		json_object_set_new(status, "hostIP", json_string(hip));
		json_object_set_new(status, "hostIPs", json_pack("[{s:s}]", "ip", hip));
	}
	if (ip) {
		json_object_set_new(status, "podIP", json_string(ip));
		json_object_set_new(status, "podIPs", json_pack("[{s:s}]", "ip", ip));
	}
	json_object_set_new(status, "startTime", k8s_time(created));
	json_object_set_new(status, "qosClass", json_string(qos_class(spec)));
	if (json_array_size(ics))
		json_object_set_new(status, "initContainerStatuses", ics);
	else
		json_decref(ics);
	json_object_set_new(status, "containerStatuses", acs);
	json_t *b = json_pack("{s:s?, s:O, s:O}", "sandbox", sid, "containers",
			      json_is_object(json_object_get(pod, "containers")) ? json_object_get(pod, "containers") : json_object(),
			      "initContainers",
			      json_is_object(json_object_get(pod, "init")) ? json_object_get(pod, "init") : json_object());
	json_object_set_new(status, "berth", b);
	return status;
}

/* ---- remove ---- */

/* Unmount everything mounted below dir (deepest first). */
static void unmount_below(const char *dir)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	size_t dl = strlen(dir);
	char **list = NULL;
	size_t n = 0;
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		/* field 5 is the mount point, with octal escapes */
		char *p = line;
		for (int k = 0; k < 4 && p; k++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p)
			continue;
		char mp[4096];
		size_t o = 0;
		for (; *p && *p != ' ' && o < sizeof(mp) - 1; p++) {
			if (*p == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] && p[3]) {
				mp[o++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 3;
			} else {
				mp[o++] = *p;
			}
		}
		mp[o] = 0;
		if (!strncmp(mp, dir, dl) && mp[dl] == '/') {
			list = realloc(list, (n + 1) * sizeof(*list));
			list[n++] = strdup(mp);
		}
	}
	for (size_t i = n; i-- > 0;) {
		umount2(list[i], MNT_DETACH);
		free(list[i]);
	}
	free(list);
}

/* preStop hooks, one child process per container, all within grace
 * seconds. Returns whether any ran. */
static bool run_prestops(struct podh *h, int grace, long only)
{
	if (grace <= 0)
		return false;
	pid_t kids[256];
	size_t nk = 0;
	const char *ip = jsonx_str(h->pod, "ip");
	size_t i;
	json_t *c;
	/* only < 0: the app containers; else init container only (a sidecar) */
	json_array_foreach(json_object_get(h->spec, only < 0 ? "containers" : "initContainers"), i, c) {
		if (only >= 0 && i != (size_t)only)
			continue;
		json_t *ps = json_object_get(json_object_get(c, "lifecycle"), "preStop");
		const char *id = jsonx_str(json_object_get(h->pod, only < 0 ? "containers" : "init"), jsonx_str(c, "name"));
		if (!json_is_object(ps) || !id || nk == ARRAY_SIZE(kids))
			continue;
		_cleanup_json_ json_t *st = ctr_state(h->cs, id, NULL);
		if (!st || !st_is(st, "running"))
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(h->lk); /* the lock stays with the parent alone */
			struct berr *e = NULL;
			int r = probe_handler_run(ps, ip, h->cs, id, grace, &e);
			_exit(r < 0 ? 1 : 0);
		}
		if (pid > 0)
			kids[nk++] = pid;
	}
	if (!nk)
		return false;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t left = nk;
	while (left) {
		for (size_t k = 0; k < nk; k++)
			if (kids[k] > 0 && waitpid(kids[k], NULL, WNOHANG) == kids[k]) {
				kids[k] = 0;
				left--;
			}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!left || now.tv_sec - t0.tv_sec >= grace)
			break;
		struct timespec d = {0, 20 * 1000000L};
		nanosleep(&d, NULL);
	}
	for (size_t k = 0; k < nk; k++)
		if (kids[k] > 0) {
			kill(kids[k], SIGKILL);
			waitpid(kids[k], NULL, 0);
		}
	return true;
}

int pod_remove(struct ctr_store *cs, const char *ns, const char *name, int grace, struct berr **err)
{
	struct podh h;
	if (podh_open(cs, ns, name, false, &h, err) < 0)
		return -1;
	if (grace < 0)
		grace = grace_of(&h);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool hooks = run_prestops(&h, grace, -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int left = grace - (int)(t1.tv_sec - t0.tv_sec);
	if (hooks && left < POD_PRESTOP_MIN_GRACE)
		left = POD_PRESTOP_MIN_GRACE;
	if (left < 0)
		left = 0;
	pod_containers_down(&h, left, true, true);
	/* every container, recorded or found by name (a crash between a
	 * create and its record) */
	_cleanup_json_ json_t *ids = json_array();
	ids_of(json_object_get(h.pod, "init"), ids);
	ids_of(json_object_get(h.pod, "containers"), ids);
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(h.spec, lists[l]), i, c) {
			char cn[400], id[65];
			ctr_name(jsonx_str(c, "name"), h.name, h.ns, cn, sizeof(cn));
			if (ctr_resolve(cs, cn, id, NULL) == 0)
				json_array_append_new(ids, json_string(id));
		}
	}
	const char *sid = jsonx_str(h.pod, "sandbox");
	char sn[400], sfound[65];
	ctr_name("POD", h.name, h.ns, sn, sizeof(sn));
	bool sfound_ok = ctr_resolve(cs, sn, sfound, NULL) == 0;
	size_t i;
	json_t *v;
	int failed = 0;
	struct berr *first = NULL;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		_cleanup_json_ json_t *cfg = ctr_config(cs, id, NULL);
		struct berr *e = NULL;
		if (ctr_rm(cs, id, true, &e) < 0 && e->code != BERR_NOT_FOUND) {
			failed++;
			if (!first)
				first = e;
			else
				berr_free(e);
			continue;
		}
		berr_free(e);
		if (cfg)
			volume_remove_anonymous(cs->root, cfg);
	}
	const char *sids[2] = {sid, sfound_ok ? sfound : NULL};
	for (size_t k = 0; k < 2; k++) {
		if (!sids[k] || (k == 1 && sid && !strcmp(sid, sfound)))
			continue;
		_cleanup_json_ json_t *one = json_pack("[s]", sids[k]);
		stop_ids(cs, one, 2);
		struct berr *e = NULL;
		if (ctr_rm(cs, sids[k], true, &e) < 0 && e->code != BERR_NOT_FOUND) {
			failed++;
			if (!first)
				first = e;
			else
				berr_free(e);
			continue;
		}
		berr_free(e);
	}
	if (failed) {
		/* keep the record of what is left, for the next try */
		*err = first;
		podh_release(&h);
		return berr_wrap(err, "removing pod %s/%s", ns, name);
	}
	char dir[4400];
	snprintf(dir, sizeof(dir), "%s/pods/%s", cs->root, h.key);
	unmount_below(dir);
	_cleanup_free_ char *gone = fs_tmp_name(".rm-");
	if (renameat(h.pfd, h.key, h.pfd, gone) < 0) {
		int e = errno;
		podh_release(&h);
		return berr_set(err, e, "removing pod %s/%s", ns, name);
	}
	int r = fs_rm_rf_at(h.pfd, gone);
	podh_release(&h);
	if (r < 0)
		return berr_set(err, -r, "removing %s/pods/%s", cs->root, gone);
	return 0;
}

/* ---- list, lookup ---- */

static int cmp_pods(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int r = strcmp(jsonx_str(x, "namespace"), jsonx_str(y, "namespace"));
	return r ? r : strcmp(jsonx_str(x, "name"), jsonx_str(y, "name"));
}

json_t *pod_list(struct ctr_store *cs, const char *ns)
{
	json_t *out = json_array();
	int pfd = openat(cs->rootfd, "pods", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = pfd >= 0 ? fdopendir(pfd) : NULL;
	if (!d) {
		if (pfd >= 0)
			close(pfd);
		return out;
	}
	size_t n = 0, cap = 0;
	json_t **v = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_close_ int dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_json_ json_t *pod = dfd >= 0 ? jsonx_load_at(dfd, "pod.json", POD_JSON_MAX, NULL) : NULL;
		json_t *spec = json_object_get(pod, "spec");
		const char *pns = jsonx_str(spec, "namespace"), *pname = jsonx_str(spec, "name");
		if (!pns || !pname || (ns && strcmp(ns, pns)))
			continue;
		if (n == cap)
			v = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
		v[n++] = json_pack("{s:s, s:s, s:O}", "namespace", pns, "name", pname, "meta",
				   json_is_object(json_object_get(pod, "meta")) ? json_object_get(pod, "meta") : json_null());
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	return out;
}

/* node NULL: the pods without meta "node"; else those of that node. */
static json_t *pod_list_filter(struct ctr_store *cs, const char *ns, const char *node)
{
	json_t *all = pod_list(cs, ns), *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(all, i, e) {
		const char *n = jsonx_str(json_object_get(e, "meta"), "node");
		if (node ? (n && !strcmp(n, node)) : !n)
			json_array_append(out, e);
	}
	json_decref(all);
	return out;
}

json_t *pod_list_local(struct ctr_store *cs, const char *ns)
{
	return pod_list_filter(cs, ns, NULL);
}

json_t *pod_list_node(struct ctr_store *cs, const char *node)
{
	return pod_list_filter(cs, NULL, node);
}

int pod_container_id(struct ctr_store *cs, const char *ns, const char *pod, const char *ctr, char ret_id[65],
		     struct berr **err)
{
	_cleanup_json_ json_t *p = load_pod(cs, ns, pod, NULL);
	if (!p)
		return berr_setc(err, BERR_NOT_FOUND, "pods \"%s\" not found", pod ?: "");
	json_t *spec = json_object_get(p, "spec");
	if (!ctr)
		ctr = jsonx_str(json_array_get(json_object_get(spec, "containers"), 0), "name");
	const char *id = jsonx_str(json_object_get(p, "containers"), ctr ?: "");
	if (!id)
		id = jsonx_str(json_object_get(p, "init"), ctr ?: "");
	if (id) {
		snprintf(ret_id, 65, "%s", id);
		return 0;
	}
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			if (!strcmp(jsonx_str(c, "name") ?: "", ctr ?: ""))
				return berr_setc(err, BERR_CONFLICT, "container %s in pod %s has not been created yet", ctr, pod);
	}
	return berr_setc(err, BERR_NOT_FOUND, "container %s is not valid for pod %s", ctr ?: "", pod);
}
