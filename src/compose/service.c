/* A compose service (normalized, as `docker compose config --format json`
 * prints it) mapped onto Docker's create request, the shape
 * ctr_create_from() takes; plus names, replicas and the dependency graph. */
#include "compose/engine.h"
#include "util/timefmt.h"
#include "compose/internal.h"
#include "net/ports.h"
#include "runtime/cgroup.h"
#include "runtime/plan.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *compose_primary_network(json_t *svc)
{
	json_t *nets = json_object_get(svc, "networks");
	if (!json_object_size(nets))
		return "default";
	/* the highest priority first, then the name order docker compose uses */
	const char *first = NULL, *k;
	json_t *v;
	long best = -1;
	json_object_foreach(nets, k, v) {
		json_t *pv = json_object_get(v, "priority");
		long pr = json_is_integer(pv) ? (long)json_integer_value(pv) : 0;
		if (!first || pr > best || (pr == best && strcmp(k, first) < 0)) {
			first = k;
			best = pr;
		}
	}
	return first;
}

int compose_service_replicas(json_t *svc)
{
	json_t *s = json_object_get(svc, "scale");
	if (json_is_integer(s))
		return (int)json_integer_value(s);
	json_t *r = json_object_get(json_object_get(svc, "deploy"), "replicas");
	if (json_is_integer(r))
		return (int)json_integer_value(r);
	return 1;
}

char *compose_container_name(const struct compose_project *p, const char *service, json_t *svc, int number)
{
	const char *cn = jsonx_str(svc, "container_name");
	char *s = NULL;
	if (cn && *cn)
		s = strdup(cn);
	else if (asprintf(&s, "%s-%s-%d", p->name, service, number) < 0)
		s = NULL;
	return s;
}

char *compose_service_image(const struct compose_project *p, const char *service, json_t *svc)
{
	const char *img = jsonx_str(svc, "image");
	char *s = NULL;
	if (img && *img)
		return strdup(img);
	if (asprintf(&s, "%s-%s", p->name, service) < 0)
		return NULL;
	return s;
}

static void hash_strip(json_t *c)
{
	json_object_del(c, "build");
	json_object_del(c, "pull_policy");
	json_object_del(c, "scale");
	json_t *d = json_object_get(c, "deploy");
	if (json_is_object(d))
		json_object_set_new(d, "replicas", json_integer(1));
}

void compose_service_hash(json_t *svc, char out[65])
{
	json_t *c = json_deep_copy(svc);
	hash_strip(c);
	char *s = jsonx_dumps(c, 1);
	struct sha256 h;
	if (s && sha256_init(&h) == 0) {
		sha256_update(&h, s, strlen(s));
		sha256_final_hex(&h, out);
	} else {
		memset(out, '0', 64);
		out[64] = 0;
	}
	free(s);
	json_decref(c);
}

/* Go durations ("1m30s", "500ms") in nanoseconds; plain numbers are seconds. */
static int duration_ns(const char *what, json_t *v, int64_t *ret, struct berr **err)
{
	if (json_is_integer(v)) {
		*ret = (int64_t)json_integer_value(v) * 1000000000LL;
		return 0;
	}
	const char *p = json_string_value(v);
	if (!p || !*p)
		return berr_setc(err, BERR_INVALID, "%s: invalid duration", what);
	if (time_parse_duration(p, true, ret) < 0)
		return berr_setc(err, BERR_INVALID, "%s: invalid duration \"%s\"", what, p);
	return 0;
}

static int size_of(const char *what, json_t *v, int64_t *ret, struct berr **err)
{
	if (json_is_integer(v)) {
		*ret = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && cgroup_parse_size(json_string_value(v), ret, err) == 0)
		return 0;
	berr_freep(err);
	return berr_setc(err, BERR_INVALID, "%s: invalid size", what);
}

static const char *scalar(json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, n, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
	else
		return NULL;
	return buf;
}

static json_t *argv_of(json_t *v)
{
	if (json_is_array(v))
		return json_incref(v);
	if (json_is_string(v)) {
		/* the loader has split (and checked) it already */
		json_t *a = json_array();
		compose_split_words(json_string_value(v), a);
		return a;
	}
	return NULL;
}

/* KEY=VALUE lines of an env_file (the loader usually folds them into
 * environment already; keys present there win). */
static int read_env_file(const char *path, bool required, json_t *env, struct berr **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, 16 << 20, &data, &len, err) < 0) {
		if (!required) {
			berr_freep(err);
			return 0;
		}
		return berr_wrap(err, "env_file %s", path);
	}
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "export ", 7))
			line += 7;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		char *val = eq + 1;
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = 0;
			val++;
		}
		if (!json_object_get(env, line))
			json_object_set_new(env, line, json_string(val));
	}
	return 0;
}

static void warnf(json_t *w, const char *svc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(json_t *w, const char *svc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) >= 0) {
		json_array_append_new(w, json_sprintf("service \"%s\": %s", svc, m));
		free(m);
	}
	va_end(ap);
}

/* Keys of a service that berth maps; anything else gets a warning. */
static const char *const known_keys[] = {
	"image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
	"networks", "network_mode", "depends_on", "healthcheck", "restart", "deploy", "scale", "container_name",
	"hostname", "domainname", "user", "working_dir", "labels", "tmpfs", "read_only", "init", "stop_signal",
	"stop_grace_period", "cap_add", "cap_drop", "privileged", "ulimits", "sysctls", "extra_hosts", "dns", "shm_size", "tty",
	"stdin_open", "pull_policy", "profiles", "secrets", "configs", "logging", "security_opt", "group_add",
	"mem_limit", "cpus", "pids_limit", "extends", "platform", "x-", NULL,
};

static int map_volumes(const struct compose_project *p, const char *service, json_t *svc, json_t *req, json_t *hc,
		       json_t *warnings, struct berr **err)
{
	json_t *binds = json_object_get(hc, "Binds"), *tmpfs = json_object_get(hc, "Tmpfs");
	json_t *topvols = json_object_get(p->doc, "volumes");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(svc, "volumes"), i, v) {
		const char *type = jsonx_str(v, "type"), *src = jsonx_str(v, "source"), *dst = jsonx_str(v, "target");
		bool ro = json_is_true(json_object_get(v, "read_only"));
		if (!type)
			type = "volume";
		if (!dst || dst[0] != '/')
			return berr_setc(err, BERR_INVALID, "service \"%s\": volumes[%zu]: target must be an absolute path",
					 service, i);
		if (!strcmp(type, "bind")) {
			if (!src || src[0] != '/')
				return berr_setc(err, BERR_INVALID,
						 "service \"%s\": volumes[%zu]: bind source must be an absolute path", service, i);
			struct stat st;
			if (stat(src, &st) < 0) {
				json_t *b = json_object_get(v, "bind");
				json_t *chp = json_object_get(b, "create_host_path");
				if (chp && !json_is_true(chp))
					return berr_setc(err, BERR_INVALID,
							 "service \"%s\": bind source path does not exist: %s", service, src);
				if (fs_mkdir_p(src, 0755, err) < 0)
					return berr_wrap(err, "service \"%s\": creating bind source", service);
			}
			json_array_append_new(binds, json_sprintf("%s:%s:%s", src, dst, ro ? "ro" : "rw"));
		} else if (!strcmp(type, "volume")) {
			if (!src || !*src) {
				json_t *vols = json_object_get(req, "Volumes");
				if (!vols)
					json_object_set_new(req, "Volumes", vols = json_object());
				json_object_set_new(vols, dst, json_object());
				continue;
			}
			json_t *tv = json_object_get(topvols, src);
			if (!tv && !json_object_get(json_object_get(p->doc, "volumes"), src))
				return berr_setc(err, BERR_INVALID,
						 "service \"%s\" refers to undefined volume %s: invalid compose project", service, src);
			const char *real = jsonx_str(tv, "name");
			_cleanup_free_ char *dflt = NULL;
			if (!real) {
				if (asprintf(&dflt, "%s_%s", p->name, src) < 0)
					return berr_set(err, ENOMEM, "volume name");
				real = dflt;
			}
			bool nocopy = json_is_true(json_object_get(json_object_get(v, "volume"), "nocopy"));
			json_array_append_new(binds, json_sprintf("%s:%s:%s%s", real, dst, ro ? "ro" : "rw",
								  nocopy ? ",nocopy" : ""));
		} else if (!strcmp(type, "tmpfs")) {
			json_t *sz = json_object_get(json_object_get(v, "tmpfs"), "size");
			char b[64];
			const char *s = scalar(sz, b, sizeof(b));
			json_object_set_new(tmpfs, dst, s ? json_sprintf("size=%s", s) : json_string(""));
		} else {
			warnf(warnings, service, "volumes[%zu]: type %s is not supported by berth and is ignored", i, type);
		}
	}
	/* secrets and configs: file-based, mounted read-only */
	static const char *const kinds[] = {"secrets", "configs"};
	for (int k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(svc, kinds[k]), i, v) {
			const char *srcname = json_is_string(v) ? json_string_value(v) : jsonx_str(v, "source");
			const char *target = json_is_object(v) ? jsonx_str(v, "target") : NULL;
			json_t *def = json_object_get(json_object_get(p->doc, kinds[k]), srcname ? srcname : "");
			if (!srcname || !def)
				return berr_setc(err, BERR_INVALID, "service \"%s\" refers to undefined %.*s %s", service,
						 k ? 6 : 6, kinds[k], srcname ? srcname : "?");
			const char *file = jsonx_str(def, "file");
			if (!file) {
				warnf(warnings, service, "%s %s: only file-based %s are supported; ignored", kinds[k], srcname,
				      kinds[k]);
				continue;
			}
			char path[4096];
			if (target && target[0] == '/')
				snprintf(path, sizeof(path), "%s", target);
			else if (k == 0)
				snprintf(path, sizeof(path), "/run/secrets/%s", target ? target : srcname);
			else
				snprintf(path, sizeof(path), "/%s", target ? target : srcname);
			struct stat st;
			if (stat(file, &st) < 0)
				return berr_set(err, errno, "service \"%s\": %s %s: file %s", service, kinds[k], srcname, file);
			json_array_append_new(binds, json_sprintf("%s:%s:ro", file, path));
		}
	}
	return 0;
}

static int map_ports(const char *service, json_t *svc, json_t *req, json_t *hc, struct berr **err)
{
	json_t *expose = json_object();
	json_object_set_new(req, "ExposedPorts", expose);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(svc, "expose"), i, v) {
		char b[64], key[80];
		const char *s = scalar(v, b, sizeof(b));
		if (!s)
			continue;
		snprintf(key, sizeof(key), "%s%s", s, strchr(s, '/') ? "" : "/tcp");
		json_object_set_new(expose, key, json_object());
	}
	json_t *ports = json_object_get(svc, "ports");
	if (!json_array_size(ports))
		return 0;
	json_t *pb = json_object();
	json_object_set_new(hc, "PortBindings", pb);
	json_array_foreach(ports, i, v) {
		struct sbuf s = SBUF_INIT;
		if (json_is_string(v) || json_is_integer(v)) {
			char b[64];
			sbuf_adds(&s, scalar(v, b, sizeof(b)));
		} else {
			char b1[64], b2[64];
			const char *ip = jsonx_str(v, "host_ip"), *proto = jsonx_str(v, "protocol");
			const char *pub = scalar(json_object_get(v, "published"), b1, sizeof(b1));
			const char *tgt = scalar(json_object_get(v, "target"), b2, sizeof(b2));
			if (!tgt) {
				sbuf_release(&s);
				return berr_setc(err, BERR_INVALID, "service \"%s\": ports[%zu]: no target port", service, i);
			}
			if (ip && *ip)
				sbuf_addf(&s, "%s%s%s:", strchr(ip, ':') ? "[" : "", ip, strchr(ip, ':') ? "]" : "");
			if (pub && *pub)
				sbuf_addf(&s, "%s:", pub);
			else if (ip && *ip)
				sbuf_adds(&s, ":");
			sbuf_addf(&s, "%s/%s", tgt, proto ? proto : "tcp");
		}
		int r = ports_parse(sbuf_str(&s), pb, expose, err);
		if (r < 0) {
			berr_wrap(err, "service \"%s\": ports[%zu] \"%s\"", service, i, sbuf_str(&s));
			sbuf_release(&s);
			return -1;
		}
		sbuf_release(&s);
	}
	return 0;
}

static int map_network(const struct compose_project *p, const char *service, json_t *svc, json_t *hc,
		       json_t *warnings, struct berr **err)
{
	const char *mode = jsonx_str(svc, "network_mode");
	if (mode) {
		if (!strcmp(mode, "host") || !strcmp(mode, "none") || !strcmp(mode, "bridge") ||
		    !strncmp(mode, "container:", 10)) {
			json_object_set_new(hc, "NetworkMode", json_string(mode));
			return 0;
		}
		if (!strncmp(mode, "service:", 8)) {
			/* the first container of that service, as docker compose does */
			json_t *other = json_object_get(json_object_get(p->doc, "services"), mode + 8);
			if (!other)
				return berr_setc(err, BERR_INVALID, "service \"%s\": network_mode %s: no such service",
						 service, mode);
			const char *cn = jsonx_str(other, "container_name");
			json_object_set_new(hc, "NetworkMode", cn ? json_sprintf("container:%s", cn)
								  : json_sprintf("container:%s-%s-1", p->name, mode + 8));
			return 0;
		}
		return berr_setc(err, BERR_INVALID,
				 "service \"%s\": network_mode \"%s\" is not supported by berth (host, none, bridge, service:NAME and container:NAME are)",
				 service, mode);
	}
	json_t *nets = json_object_get(svc, "networks");
	const char *nk;
	json_t *nv;
	json_object_foreach(nets, nk, nv) {
		if (strcmp(nk, "default") && !json_object_get(json_object_get(p->doc, "networks"), nk))
			return berr_setc(err, BERR_INVALID, "service \"%s\" refers to undefined network %s: invalid compose project",
					 service, nk);
		if (jsonx_str(nv, "ipv6_address"))
			warnf(warnings, service, "networks.%s.ipv6_address is not supported by berth and is ignored", nk);
	}
	const char *first = compose_primary_network(svc);
	json_t *ncfg = json_object_get(nets, first);
	json_t *topnet = json_object_get(json_object_get(p->doc, "networks"), first);
	const char *real = jsonx_str(topnet, "name");
	char dflt[300];
	if (!real) {
		snprintf(dflt, sizeof(dflt), "%s_%s", p->name, first);
		real = dflt;
	}
	if (!topnet && strcmp(first, "default"))
		return berr_setc(err, BERR_INVALID, "service \"%s\" refers to undefined network %s: invalid compose project",
				 service, first);
	json_object_set_new(hc, "NetworkMode", json_string(real));
	json_t *al = json_array();
	json_array_append_new(al, json_string(service));
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(ncfg, "aliases"), i, a)
		if (json_is_string(a))
			json_array_append(al, a);
	json_object_set_new(hc, "NetworkAliases", al);
	const char *ip = jsonx_str(ncfg, "ipv4_address");
	if (ip)
		json_object_set_new(hc, "IPv4Address", json_string(ip));
	return 0;
}

/* extra_hosts: ["host:ip" | "host=ip"] or {"host": "ip" | ["ip", ...]} to
 * Docker's HostConfig.ExtraHosts ["host:ip"]. */
static int add_host(const char *service, const char *host, const char *ip, json_t *out, struct berr **err)
{
	while (*ip == ' ')
		ip++;
	if (!*host || !*ip || strchr(host, ' ') || strchr(host, '\t'))
		return berr_setc(err, BERR_INVALID, "service \"%s\": extra_hosts: invalid entry \"%s:%s\"", service, host, ip);
	json_array_append_new(out, json_sprintf("%s:%s", host, ip));
	return 0;
}

static int map_extra_hosts(const char *service, json_t *svc, json_t *hc, struct berr **err)
{
	json_t *eh = json_object_get(svc, "extra_hosts");
	if (!eh || json_is_null(eh))
		return 0;
	json_t *out = json_array();
	json_object_set_new(hc, "ExtraHosts", out);
	size_t i;
	json_t *v;
	json_array_foreach(eh, i, v) {
		const char *s = json_string_value(v);
		const char *sep = s ? strpbrk(s, "=:") : NULL;
		if (!sep)
			return berr_setc(err, BERR_INVALID, "service \"%s\": extra_hosts[%zu]: want HOST:IP or HOST=IP", service, i);
		_cleanup_free_ char *h = strndup(s, (size_t)(sep - s));
		if (add_host(service, h, sep + 1, out, err) < 0)
			return -1;
	}
	const char *k;
	json_object_foreach(eh, k, v) {
		if (json_is_string(v)) {
			if (add_host(service, k, json_string_value(v), out, err) < 0)
				return -1;
			continue;
		}
		json_t *a;
		json_array_foreach(v, i, a) if (json_is_string(a) && add_host(service, k, json_string_value(a), out, err) < 0) return -1;
	}
	return 0;
}

static int map_health(const char *service, json_t *svc, json_t *req, struct berr **err)
{
	json_t *h = json_object_get(svc, "healthcheck");
	if (!json_is_object(h))
		return 0;
	if (json_is_true(json_object_get(h, "disable"))) {
		json_object_set_new(req, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
		return 0;
	}
	json_t *o = json_object();
	json_object_set_new(req, "Healthcheck", o);
	json_t *t = json_object_get(h, "test");
	if (json_is_string(t))
		json_object_set_new(o, "Test", json_pack("[s,s]", "CMD-SHELL", json_string_value(t)));
	else if (json_is_array(t))
		json_object_set(o, "Test", t);
	static const char *const dk[][2] = {{"interval", "Interval"}, {"timeout", "Timeout"},
					    {"start_period", "StartPeriod"}, {"start_interval", "StartInterval"}};
	for (size_t i = 0; i < ARRAY_SIZE(dk); i++) {
		json_t *v = json_object_get(h, dk[i][0]);
		if (!v || json_is_null(v))
			continue;
		int64_t ns;
		char what[128];
		snprintf(what, sizeof(what), "service \"%s\": healthcheck.%s", service, dk[i][0]);
		if (duration_ns(what, v, &ns, err) < 0)
			return -1;
		json_object_set_new(o, dk[i][1], json_integer(ns));
	}
	json_t *r = json_object_get(h, "retries");
	if (json_is_integer(r))
		json_object_set(o, "Retries", r);
	return 0;
}

static int map_restart(const char *service, json_t *svc, json_t *hc, struct berr **err)
{
	const char *r = jsonx_str(svc, "restart");
	json_t *rp = json_object_get(json_object_get(svc, "deploy"), "restart_policy");
	if (r) {
		_cleanup_free_ char *pol = strdup(r);
		char *colon = strchr(pol, ':');
		int max = 0;
		if (colon) {
			*colon++ = 0;
			max = atoi(colon);
		}
		if (strcmp(pol, "no") && strcmp(pol, "always") && strcmp(pol, "on-failure") && strcmp(pol, "unless-stopped"))
			return berr_setc(err, BERR_INVALID, "service \"%s\": invalid restart policy \"%s\"", service, r);
		json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", pol, "MaximumRetryCount", max));
	} else if (json_is_object(rp)) {
		const char *cond = jsonx_str(rp, "condition");
		const char *name = !cond || !strcmp(cond, "any") ? "always" : !strcmp(cond, "on-failure") ? "on-failure" : "no";
		json_t *ma = json_object_get(rp, "max_attempts");
		json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount",
								    json_is_integer(ma) ? json_integer_value(ma) : 0));
	}
	return 0;
}

static int map_resources(const char *service, json_t *svc, json_t *hc, json_t *warnings, struct berr **err)
{
	json_t *res = json_object_get(json_object_get(svc, "deploy"), "resources");
	json_t *lim = json_object_get(res, "limits");
	json_t *cpus = json_object_get(lim, "cpus"), *mem = json_object_get(lim, "memory"), *pids = json_object_get(lim, "pids");
	if (!cpus)
		cpus = json_object_get(svc, "cpus");
	if (!mem)
		mem = json_object_get(svc, "mem_limit");
	if (!pids)
		pids = json_object_get(svc, "pids_limit");
	if (cpus && !json_is_null(cpus)) {
		char b[64];
		const char *s = scalar(cpus, b, sizeof(b));
		int64_t q;
		if (!s || cgroup_parse_cpus(s, 100000, &q, err) < 0)
			return berr_setc(err, BERR_INVALID, "service \"%s\": invalid cpus limit", service);
		json_object_set_new(hc, "CpuQuota", json_integer(q));
		json_object_set_new(hc, "CpuPeriod", json_integer(100000));
		json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(strtod(s, NULL) * 1e9)));
	}
	if (mem && !json_is_null(mem)) {
		int64_t n;
		char what[128];
		snprintf(what, sizeof(what), "service \"%s\": memory limit", service);
		if (size_of(what, mem, &n, err) < 0)
			return -1;
		json_object_set_new(hc, "Memory", json_integer(n));
	}
	if (json_is_integer(pids))
		json_object_set_new(hc, "PidsLimit", json_integer(json_integer_value(pids) <= 0 ? -1 : json_integer_value(pids)));
	if (json_object_size(json_object_get(res, "reservations")))
		warnf(warnings, service, "deploy.resources.reservations are not applied by berth (there is no scheduler)");
	return 0;
}

int compose_service_request(const struct compose_project *p, const char *service, int number, const char *hash,
			    json_t *warnings, json_t **ret_req, struct berr **err)
{
	json_t *svc = json_object_get(json_object_get(p->doc, "services"), service);
	if (!json_is_object(svc))
		return berr_setc(err, BERR_INVALID, "no such service: %s", service);
	_cleanup_json_ json_t *req = json_object();
	json_t *hc = json_object(), *labels = json_object(), *env = json_array();
	json_object_set_new(req, "HostConfig", hc);
	json_object_set_new(req, "Labels", labels);
	json_object_set_new(req, "Env", env);
	json_object_set_new(hc, "Binds", json_array());
	json_object_set_new(hc, "Tmpfs", json_object());

	const char *k;
	json_t *v;
	json_object_foreach(svc, k, v) {
		bool known = !strncmp(k, "x-", 2);
		for (size_t i = 0; known_keys[i] && !known; i++)
			known = !strcmp(k, known_keys[i]);
		if (!known)
			warnf(warnings, service, "%s is not supported by berth and is ignored", k);
	}

	_cleanup_free_ char *image = compose_service_image(p, service, svc);
	json_object_set_new(req, "Image", json_string(image));
	json_t *cmd = argv_of(json_object_get(svc, "command"));
	if (cmd)
		json_object_set_new(req, "Cmd", cmd);
	json_t *ep = argv_of(json_object_get(svc, "entrypoint"));
	if (ep)
		json_object_set_new(req, "Entrypoint", ep);

	/* environment: env_file entries first, environment wins */
	_cleanup_json_ json_t *envo = json_is_object(json_object_get(svc, "environment"))
					      ? json_deep_copy(json_object_get(svc, "environment"))
					      : json_object();
	size_t i;
	json_array_foreach(json_object_get(svc, "environment"), i, v) {
		/* list form, when the loader kept it */
		const char *s = json_string_value(v);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (eq) {
			_cleanup_free_ char *key = strndup(s, (size_t)(eq - s));
			json_object_set_new(envo, key, json_string(eq + 1));
		} else if (s) {
			json_object_set_new(envo, s, json_null());
		}
	}
	json_array_foreach(json_object_get(svc, "env_file"), i, v) {
		const char *path = json_is_string(v) ? json_string_value(v) : jsonx_str(v, "path");
		json_t *req_v = json_object_get(v, "required");
		if (path && read_env_file(path, !req_v || json_is_true(req_v), envo, err) < 0)
			return berr_wrap(err, "service \"%s\"", service);
	}
	json_object_foreach(envo, k, v) {
		char b[64];
		const char *s = scalar(v, b, sizeof(b));
		if (!s)
			s = getenv(k);
		if (s)
			json_array_append_new(env, json_sprintf("%s=%s", k, s));
	}

	json_t *l = json_object_get(svc, "labels");
	json_object_foreach(l, k, v) {
		char b[64];
		const char *s = scalar(v, b, sizeof(b));
		json_object_set_new(labels, k, json_string(s ? s : ""));
	}
	json_array_foreach(l, i, v) {
		const char *s = json_string_value(v);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (s) {
			_cleanup_free_ char *key = eq ? strndup(s, (size_t)(eq - s)) : strdup(s);
			json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
		}
	}
	char num[16];
	snprintf(num, sizeof(num), "%d", number);
	json_object_set_new(labels, CL_PROJECT, json_string(p->name));
	json_object_set_new(labels, CL_SERVICE, json_string(service));
	json_object_set_new(labels, CL_NUMBER, json_string(num));
	json_object_set_new(labels, CL_ONEOFF, json_string("False"));
	json_object_set_new(labels, CL_HASH, json_string(hash));
	json_object_set_new(labels, CL_WORKDIR, json_string(p->working_dir ? p->working_dir : ""));
	struct sbuf files = SBUF_INIT;
	for (size_t f = 0; f < p->nconfig_files; f++)
		sbuf_addf(&files, "%s%s", f ? "," : "", p->config_files[f]);
	json_object_set_new(labels, CL_FILES, json_string(sbuf_str(&files)));
	sbuf_release(&files);
	json_object_set_new(labels, CL_VERSION, json_string(COMPOSE_VERSION));
	struct sbuf deps = SBUF_INIT;
	json_object_foreach(json_object_get(svc, "depends_on"), k, v) {
		const char *cond = jsonx_str(v, "condition");
		sbuf_addf(&deps, "%s%s:%s:%s", deps.len ? "," : "", k, cond ? cond : "service_started",
			  json_is_true(json_object_get(v, "restart")) ? "true" : "false");
	}
	json_object_set_new(labels, CL_DEPENDS, json_string(sbuf_str(&deps)));
	sbuf_release(&deps);

	static const char *const strs[][2] = {{"hostname", "Hostname"}, {"domainname", "Domainname"}, {"user", "User"},
					      {"working_dir", "WorkingDir"}, {"stop_signal", "StopSignal"}};
	for (size_t s = 0; s < ARRAY_SIZE(strs); s++) {
		char b[64];
		const char *val = scalar(json_object_get(svc, strs[s][0]), b, sizeof(b));
		if (val)
			json_object_set_new(req, strs[s][1], json_string(val));
	}
	if (json_is_true(json_object_get(svc, "tty")))
		json_object_set_new(req, "Tty", json_true());
	if (json_is_true(json_object_get(svc, "stdin_open")))
		json_object_set_new(req, "OpenStdin", json_true());
	json_t *sgp = json_object_get(svc, "stop_grace_period");
	if (sgp && !json_is_null(sgp)) {
		int64_t ns;
		if (duration_ns("stop_grace_period", sgp, &ns, err) < 0)
			return berr_wrap(err, "service \"%s\"", service);
		json_object_set_new(req, "StopTimeout", json_integer((ns + 999999999) / 1000000000));
	}
	if (json_is_true(json_object_get(svc, "read_only")))
		json_object_set_new(hc, "ReadonlyRootfs", json_true());
	if (json_is_true(json_object_get(svc, "init")))
		json_object_set_new(hc, "Init", json_true());
	if (json_is_true(json_object_get(svc, "privileged")))
		json_object_set_new(hc, "Privileged", json_true());
	static const char *const lists[][2] = {{"cap_add", "CapAdd"}, {"cap_drop", "CapDrop"}, {"dns", "Dns"},
					       {"security_opt", "SecurityOpt"}, {"group_add", "GroupAdd"}};
	for (size_t s = 0; s < ARRAY_SIZE(lists); s++) {
		json_t *a = json_object_get(svc, lists[s][0]);
		if (json_is_string(a))
			json_object_set_new(hc, lists[s][1], json_pack("[O]", a));
		else if (json_is_array(a)) {
			json_t *c = json_array();
			json_array_foreach(a, i, v) {
				char b[64];
				const char *s2 = scalar(v, b, sizeof(b));
				if (s2)
					json_array_append_new(c, json_string(s2));
			}
			json_object_set_new(hc, lists[s][1], c);
		}
	}
	json_t *shm = json_object_get(svc, "shm_size");
	if (shm && !json_is_null(shm)) {
		int64_t n;
		if (size_of("shm_size", shm, &n, err) < 0)
			return berr_wrap(err, "service \"%s\"", service);
		json_object_set_new(hc, "ShmSize", json_integer(n));
	}
	json_t *tm = json_object_get(svc, "tmpfs");
	if (json_is_string(tm))
		tm = json_pack("[O]", tm);
	else
		json_incref(tm);
	json_array_foreach(tm, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		_cleanup_free_ char *t = strdup(s);
		char *colon = strchr(t, ':');
		if (colon)
			*colon++ = 0;
		json_object_set_new(json_object_get(hc, "Tmpfs"), t, json_string(colon ? colon : ""));
	}
	json_decref(tm);
	json_t *ul = json_object_get(svc, "ulimits");
	if (json_object_size(ul)) {
		json_t *arr = json_array();
		json_object_set_new(hc, "Ulimits", arr);
		json_object_foreach(ul, k, v) {
			char spec[256];
			if (json_is_integer(v))
				snprintf(spec, sizeof(spec), "%s=%lld", k, (long long)json_integer_value(v));
			else
				snprintf(spec, sizeof(spec), "%s=%lld:%lld", k,
					 (long long)json_integer_value(json_object_get(v, "soft")),
					 (long long)json_integer_value(json_object_get(v, "hard")));
			json_t *u;
			if (plan_parse_ulimit(spec, &u, err) < 0)
				return berr_wrap(err, "service \"%s\": ulimits", service);
			json_array_append_new(arr, u);
		}
	}
	json_t *sc = json_object_get(svc, "sysctls");
	if (json_object_size(sc) || json_array_size(sc)) {
		json_t *o = json_object();
		json_object_set_new(hc, "Sysctls", o);
		json_object_foreach(sc, k, v) {
			char b[64];
			const char *s = scalar(v, b, sizeof(b));
			json_object_set_new(o, k, json_string(s ? s : ""));
		}
		json_array_foreach(sc, i, v) {
			const char *s = json_string_value(v);
			const char *eq = s ? strchr(s, '=') : NULL;
			if (eq) {
				_cleanup_free_ char *key = strndup(s, (size_t)(eq - s));
				json_object_set_new(o, key, json_string(eq + 1));
			}
		}
	}
	json_t *lg = json_object_get(svc, "logging");
	if (json_is_object(lg)) {
		const char *drv = jsonx_str(lg, "driver");
		if (drv && strcmp(drv, "json-file") && strcmp(drv, "local"))
			warnf(warnings, service, "logging driver %s is not supported; berth keeps json-file logs", drv);
		json_t *opts = json_object();
		json_object_foreach(json_object_get(lg, "options"), k, v) {
			if (!strcmp(k, "max-size") || !strcmp(k, "max-file"))
				json_object_set(opts, k, v);
			else
				warnf(warnings, service, "logging option %s is ignored", k);
		}
		json_object_set_new(hc, "LogConfig", json_pack("{s:s, s:o}", "Type", "json-file", "Config", opts));
	}
	if (map_extra_hosts(service, svc, hc, err) < 0)
		return -1;
	if (map_restart(service, svc, hc, err) < 0 || map_resources(service, svc, hc, warnings, err) < 0 ||
	    map_health(service, svc, req, err) < 0 || map_network(p, service, svc, hc, warnings, err) < 0 ||
	    map_ports(service, svc, req, hc, err) < 0 || map_volumes(p, service, svc, req, hc, warnings, err) < 0)
		return -1;
	*ret_req = steal_pointer(&req);
	return 0;
}

/* ---- the dependency graph ---- */

int compose_select(json_t *services, char **names, size_t n, bool no_deps, json_t **ret, struct berr **err)
{
	_cleanup_json_ json_t *sel = json_object();
	_cleanup_json_ json_t *todo = json_array();
	if (n == 0) {
		const char *k;
		json_t *v;
		json_object_foreach(services, k, v) json_array_append_new(todo, json_string(k));
	}
	for (size_t i = 0; i < n; i++) {
		if (!json_object_get(services, names[i]))
			return berr_setc(err, BERR_INVALID, "no such service: %s", names[i]);
		json_array_append_new(todo, json_string(names[i]));
	}
	while (json_array_size(todo)) {
		_cleanup_free_ char *s = strdup(json_string_value(json_array_get(todo, json_array_size(todo) - 1)));
		json_array_remove(todo, json_array_size(todo) - 1);
		if (json_object_get(sel, s))
			continue;
		json_object_set_new(sel, s, json_true());
		if (no_deps)
			continue;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(json_object_get(services, s), "depends_on"), k, v) {
			json_t *req = json_object_get(v, "required");
			if (!json_object_get(services, k)) {
				if (req && !json_is_true(req))
					continue;
				return berr_setc(err, BERR_INVALID, "service \"%s\" depends on undefined service \"%s\"", s, k);
			}
			json_array_append_new(todo, json_string(k));
		}
	}
	json_t *out = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(sel, k, v) json_array_append_new(out, json_string(k));
	*ret = out;
	return 0;
}

int compose_graph_waves(json_t *services, json_t **ret_waves, struct berr **err)
{
	_cleanup_json_ json_t *done = json_object();
	json_t *waves = json_array();
	size_t total = json_object_size(services);
	while (json_object_size(done) < total) {
		json_t *wave = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(services, k, v) {
			if (json_object_get(done, k))
				continue;
			bool ready = true;
			const char *d;
			json_t *dv;
			json_object_foreach(json_object_get(v, "depends_on"), d, dv) {
				if (!json_object_get(services, d)) {
					json_t *req = json_object_get(dv, "required");
					if (req && !json_is_true(req))
						continue;
					json_decref(wave);
					json_decref(waves);
					return berr_setc(err, BERR_INVALID, "service \"%s\" depends on undefined service \"%s\"", k, d);
				}
				json_t *w = json_object_get(done, d);
				if (!w || json_integer_value(w) == (json_int_t)json_array_size(waves) + 1)
					ready = false;
			}
			if (ready)
				json_array_append_new(wave, json_string(k));
		}
		if (!json_array_size(wave)) {
			struct sbuf s = SBUF_INIT;
			json_object_foreach(services, k, v) if (!json_object_get(done, k)) sbuf_addf(&s, "%s%s", s.len ? ", " : "", k);
			berr_setc(err, BERR_INVALID, "dependency cycle detected between services: %s", sbuf_str(&s));
			sbuf_release(&s);
			json_decref(wave);
			json_decref(waves);
			return -1;
		}
		size_t i;
		json_array_foreach(wave, i, v) json_object_set_new(done, json_string_value(v),
								      json_integer((json_int_t)json_array_size(waves) + 1));
		json_array_append_new(waves, wave);
	}
	*ret_waves = waves;
	return 0;
}

json_t *compose_select_dependents(json_t *services, json_t *sel)
{
	_cleanup_json_ json_t *set = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(sel, i, v) json_object_set_new(set, json_string_value(v), json_true());
	/* to a fixed point: a dependent of a dependent is restarted too */
	for (bool grew = true; grew;) {
		grew = false;
		const char *k;
		json_t *svc;
		json_object_foreach(services, k, svc) {
			if (json_object_get(set, k))
				continue;
			const char *dep;
			json_t *d;
			json_object_foreach(json_object_get(svc, "depends_on"), dep, d) {
				if (json_object_get(set, dep) && json_is_true(json_object_get(d, "restart"))) {
					json_object_set_new(set, k, json_true());
					grew = true;
					break;
				}
			}
		}
	}
	json_t *out = json_array();
	const char *k;
	json_object_foreach(set, k, v) json_array_append_new(out, json_string(k));
	return out;
}
