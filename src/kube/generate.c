/* kube generate: containers -> a normalized compose project -> kube_convert().
 *
 * Going through the compose model keeps one mapping table (convert's) for
 * both commands, so `kube generate` of a project started from a compose
 * file writes what `kube convert` of the file writes; what the runtime
 * keeps no trace of (see "Round trip" below) is the difference.
 *
 * What is read back from a container, against its image's config (only
 * what differs is kept, as podman does): entrypoint and command (Docker's
 * semantics: an overridden entrypoint drops the image's command, so the
 * container's Cmd is written with it), environment minus the image's
 * entries, labels minus the image's and com.docker.compose.*, user,
 * working_dir, exposed ports, healthcheck, stop signal; the rest
 * (published ports, binds, named and anonymous volumes, tmpfs, caps,
 * privileged, read_only, tty, stdin_open, hostname unless it is the
 * default short ID, restart, sysctls, shm_size, extra_hosts, memory, cpus,
 * pids, ulimits, dns, security_opt, group_add, logging, network mode,
 * network aliases) comes from HostConfig as given. Keys Kubernetes cannot
 * express are still written so that kube_convert() warns about each of
 * them: nothing is dropped silently. Compose containers give back their
 * service (com.docker.compose.service), depends_on (from
 * com.docker.compose.depends_on) and replicas (the number of containers);
 * the project's volume and network names lose their PROJECT_ prefix again.
 *
 * Differences from podman 4.3.1's `podman generate kube` (compared on the
 * same busybox container; 4.3 spells it `generate kube`, `kube generate`
 * is the same command, and it has no --type or --replicas yet):
 *  - podman names the Pod NAME-pod with the label app: NAME-pod; berth
 *    names it after the service (the container's name) with convert's
 *    io.kompose.service label, so a generated Pod, Deployment and Service
 *    select each other the same way convert's do.
 *  - several containers: podman puts them in one Pod; berth writes one
 *    per container (or compose service), because berth's containers do
 *    not share a network namespace and localhost between them would not
 *    work in a shared Pod.
 *  - command: podman writes an image-less-entrypoint container's Cmd as
 *    command:; berth writes it as args: (compose command -> args), which
 *    runs the same and keeps an image entrypoint if the image has one.
 *  - labels: podman drops them; berth writes them as annotations, as
 *    convert does. podman's automountServiceAccountToken: false and
 *    enableServiceLinks: false are not written (Kubernetes' defaults).
 *  - bind mounts: podman writes hostPath (type Directory); berth writes
 *    what kube convert makes of a bind mount, with its warning.
 *  - -s: podman writes a NodePort Service with random nodePorts; berth
 *    writes convert's Services (LoadBalancer for published ports,
 *    ClusterIP for the others, headless without ports, one more per
 *    network alias).
 *  - named volumes: podman writes only the claim reference; berth writes
 *    the PersistentVolumeClaim too, so the output applies as it is.
 *  - tmpfs: podman writes hostPath "tmpfs" volumes (and adds /tmp,
 *    /var/tmp, /run it mounts itself); berth writes emptyDir medium Memory
 *    for the tmpfs the container was given.
 *  - capabilities: podman writes the difference from its own default set
 *    (which lacks NET_RAW, AUDIT_WRITE) with CAP_ prefixes; berth's
 *    default set is Docker's, which is Kubernetes' too, so it writes
 *    cap_add/cap_drop as given, without the prefix.
 *  - podman adds HOSTNAME to env, annotations io.podman.annotations.* and
 *    io.kubernetes.cri-o.TTY/NAME, creationTimestamp and a comment header;
 *    berth writes none of them (the output is the same on every run) and
 *    maps healthcheck (probes), sysctls, extra_hosts (hostAliases),
 *    shm_size, which podman 4.3 leaves out.
 *  - restart: podman 4.3 writes no restartPolicy; berth writes a Pod's
 *    from the container's policy (no -> Never, on-failure -> OnFailure,
 *    always/unless-stopped -> Always). For --type deployment, statefulset
 *    and daemonset, "no" (every container's default) is left out, and
 *    on-failure is left out with a warning: their pods always restart.
 *    --type job turns every service into a Job.
 *  - errors: the same exit code (125); berth's message is "no such
 *    container or compose project: X" since it also takes projects.
 *    podman refuses an existing -f file; berth replaces it atomically,
 *    as kube convert -o does.
 *
 * Round trip (compose file -> up -> kube generate vs kube convert of the
 * file): the runtime keeps no trace of some compose details, so they come
 * back differently: restart "no" is every container's default and reads
 * as absent (convert makes a Job of restart: "no"); tmpfs given in
 * volumes: comes back as service tmpfs:, and anonymous volumes and tmpfs
 * come after the binds and named volumes (emptyDir names count in that
 * order); sizes come back in the largest whole unit (1024m -> 1g);
 * environment entries without a value were never set; expose entries the
 * image exposes already, and healthchecks equal to the image's, are left
 * out; labels equal to the image's too. */
#include "kube/generate.h"
#include "kube/convert.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CL_PREFIX "com.docker.compose."

int kube_gen_type_parse(const char *s, enum kube_gen_type *ret, struct berr **err)
{
	static const struct { const char *n; enum kube_gen_type t; } types[] = {
		{"pod", KUBE_GEN_POD},           {"deployment", KUBE_GEN_DEPLOYMENT}, {"statefulset", KUBE_GEN_STATEFULSET},
		{"daemonset", KUBE_GEN_DAEMONSET}, {"job", KUBE_GEN_JOB},
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcasecmp(s, types[i].n)) {
			*ret = types[i].t;
			return 0;
		}
	return berr_setc(err, BERR_INVALID, "unknown type \"%s\": use pod, deployment, statefulset, daemonset or job", s);
}

static void warnf(json_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(json_t *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (w && vasprintf(&s, fmt, ap) >= 0)
		json_array_append_new(w, json_string(s));
	va_end(ap);
	free(s);
}

static bool all_hex(const char *s, size_t min)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n >= min;
}

/* a Go duration from nanoseconds, in the largest unit that is whole */
static json_t *dur_json(json_t *ns_v)
{
	if (!json_is_integer(ns_v) || json_integer_value(ns_v) <= 0)
		return NULL;
	long long ns = (long long)json_integer_value(ns_v);
	static const struct { long long div; const char *u; } u[] = {
		{3600000000000LL, "h"}, {60000000000LL, "m"}, {1000000000LL, "s"}, {1000000LL, "ms"}, {1000LL, "us"}, {1, "ns"}};
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		if (ns % u[i].div == 0)
			return json_sprintf("%lld%s", ns / u[i].div, u[i].u);
	return NULL;
}

/* compose's byte size from bytes: "64m", "1g", or the plain number */
static json_t *bytes_json(json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return NULL;
	long long b = (long long)json_integer_value(v);
	static const struct { long long div; const char *u; } u[] = {{1LL << 30, "g"}, {1LL << 20, "m"}, {1LL << 10, "k"}};
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		if (b % u[i].div == 0)
			return json_sprintf("%lld%s", b / u[i].div, u[i].u);
	return json_integer(b);
}

/* A non-empty string array copied, or NULL. */
static json_t *str_list(json_t *a)
{
	if (!json_array_size(a))
		return NULL;
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v)) json_array_append(out, v);
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* capability names as Kubernetes writes them: NET_ADMIN, not cap_net_admin */
static json_t *caps_list(json_t *a)
{
	json_t *out = str_list(a);
	size_t i;
	json_t *v;
	json_array_foreach(out, i, v) {
		const char *s = json_string_value(v);
		if (!strncasecmp(s, "CAP_", 4))
			s += 4;
		_cleanup_free_ char *u = strdup(s);
		for (char *p = u; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_array_set_new(out, i, json_string(u));
	}
	return out;
}

static bool in_str_array(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return true;
	return false;
}

static bool is_empty(json_t *v)
{
	return !v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)) ||
	       (json_is_object(v) && !json_object_size(v));
}

/* two values the same, null and empty counting as absent */
static bool same(json_t *a, json_t *b)
{
	if (is_empty(a) || is_empty(b))
		return is_empty(a) == is_empty(b);
	return json_equal(a, b);
}

/* The image of the container: Config.Image, unless that is the image ID
 * (run by ID), then a name of the image. */
static const char *image_of(const struct kube_gen_ctr *c, const char *svc, json_t *w)
{
	const char *img = jsonx_str(json_object_get(c->inspect, "Config"), "Image");
	const char *id = jsonx_str(c->inspect, "Image");
	if (!img || !*img)
		img = id;
	if (!img)
		return NULL;
	const char *hex = !strncmp(img, "sha256:", 7) ? img + 7 : img;
	const char *idhex = id && !strncmp(id, "sha256:", 7) ? id + 7 : id;
	bool is_id = all_hex(hex, 6) && idhex && !strncmp(idhex, hex, strlen(hex));
	if (!is_id)
		return img;
	if (c->image_ref)
		return c->image_ref;
	warnf(w, "service %s: image %s is an image ID with no name: Kubernetes nodes pull images by name", svc, img);
	return img;
}

static const char *env_key(const char *kv, char *buf, size_t n)
{
	const char *eq = strchr(kv, '=');
	if (!eq || (size_t)(eq - kv) >= n)
		return NULL;
	memcpy(buf, kv, (size_t)(eq - kv));
	buf[eq - kv] = 0;
	return buf;
}

static void map_command(json_t *svc, json_t *cfg, json_t *img)
{
	json_t *ep = json_object_get(cfg, "Entrypoint"), *cmd = json_object_get(cfg, "Cmd");
	if (!same(ep, json_object_get(img, "Entrypoint"))) {
		if (json_array_size(ep)) {
			json_object_set_new(svc, "entrypoint", str_list(ep));
			if (json_array_size(cmd))
				json_object_set_new(svc, "command", str_list(cmd));
		} else if (json_array_size(cmd)) {
			/* the image's entrypoint was reset (--entrypoint ""): the
			 * command runs alone, which Kubernetes says with command: */
			json_object_set_new(svc, "entrypoint", str_list(cmd));
		}
	} else if (!same(cmd, json_object_get(img, "Cmd")) && json_array_size(cmd)) {
		json_object_set_new(svc, "command", str_list(cmd));
	}
}

static void map_env(json_t *svc, json_t *cfg, json_t *img)
{
	json_t *env = json_object(), *ienv = json_object_get(img, "Env");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "Env"), i, v) {
		const char *kv = json_string_value(v);
		char key[1024];
		if (!kv || in_str_array(ienv, kv) || !env_key(kv, key, sizeof(key)))
			continue;
		json_object_set_new(env, key, json_string(strchr(kv, '=') + 1));
	}
	if (json_object_size(env))
		json_object_set_new(svc, "environment", env);
	else
		json_decref(env);
}

/* "80/tcp" -> 80, "tcp" */
static int port_key(const char *k, long *port, char proto[8])
{
	char *end;
	*port = strtol(k, &end, 10);
	if (end == k || *port <= 0 || *port > 65535)
		return -1;
	snprintf(proto, 8, "%s", *end == '/' ? end + 1 : "tcp");
	return 0;
}

static void map_ports(json_t *svc, json_t *cfg, json_t *hc, json_t *img)
{
	json_t *ports = json_array(), *expose = json_array();
	json_t *pb = json_object_get(hc, "PortBindings");
	const char *k;
	json_t *v;
	json_object_foreach(pb, k, v) {
		long port;
		char proto[8];
		if (port_key(k, &port, proto) < 0)
			continue;
		size_t i;
		json_t *b;
		json_t *binds = json_array_size(v) ? json_incref(v) : json_pack("[{}]");
		json_array_foreach(binds, i, b) {
			json_t *p = json_pack("{s:s, s:i}", "mode", "ingress", "target", (int)port);
			const char *hp = jsonx_str(b, "HostPort"), *hip = jsonx_str(b, "HostIp");
			if (hip && *hip && strcmp(hip, "0.0.0.0") && strcmp(hip, "::"))
				json_object_set_new(p, "host_ip", json_string(hip));
			if (hp && *hp)
				json_object_set_new(p, "published", json_string(hp));
			json_object_set_new(p, "protocol", json_string(proto));
			json_array_append_new(ports, p);
		}
		json_decref(binds);
	}
	json_t *iexp = json_object_get(img, "ExposedPorts");
	json_object_foreach(json_object_get(cfg, "ExposedPorts"), k, v) {
		long port;
		char proto[8];
		if (json_object_get(pb, k) || json_object_get(iexp, k) || port_key(k, &port, proto) < 0)
			continue;
		if (!strcmp(proto, "tcp"))
			json_array_append_new(expose, json_sprintf("%ld", port));
		else
			json_array_append_new(expose, json_sprintf("%ld/%s", port, proto));
	}
	if (json_array_size(ports))
		json_object_set_new(svc, "ports", ports);
	else
		json_decref(ports);
	if (json_array_size(expose))
		json_object_set_new(svc, "expose", expose);
	else
		json_decref(expose);
}

/* The compose name of a volume or network of the project: its name
 * without "PROJECT_" (what compose put there), else the name itself. */
static const char *project_key(const char *project, const char *real)
{
	size_t n = project ? strlen(project) : 0;
	if (n && !strncmp(real, project, n) && real[n] == '_' && real[n + 1])
		return real + n + 1;
	return NULL;
}

static bool mode_ro(const char *mode)
{
	if (!mode)
		return false;
	_cleanup_free_ char *m = strdup(mode);
	char *save = NULL;
	for (char *t = strtok_r(m, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, "ro"))
			return true;
	return false;
}

static void add_named(json_t *vols, json_t *topvols, const char *project, json_t *volumes, const char *name,
		      const char *dst, bool ro, bool nocopy)
{
	json_t *labels = json_object_get(json_object_get(volumes, name), "Labels");
	const char *key = NULL;
	if (project && !strcmp(jsonx_str(labels, CL_PREFIX "project") ?: "", project))
		key = jsonx_str(labels, CL_PREFIX "volume");
	if (!key)
		key = project_key(project, name);
	json_t *ent = json_pack("{s:s, s:s, s:s}", "type", "volume", "source", key ? key : name, "target", dst);
	if (ro)
		json_object_set_new(ent, "read_only", json_true());
	json_object_set_new(ent, "volume", nocopy ? json_pack("{s:b}", "nocopy", 1) : json_object());
	json_array_append_new(vols, ent);
	if (!json_object_get(topvols, key ? key : name))
		json_object_set_new(topvols, key ? key : name,
				    key ? json_pack("{s:s}", "name", name) : json_pack("{s:s, s:b}", "name", name, "external", 1));
}

static bool anonymous(json_t *volumes, const char *name)
{
	json_t *vi = json_object_get(volumes, name);
	if (vi)
		return json_object_get(json_object_get(vi, "Labels"), "com.docker.volume.anonymous") != NULL;
	return all_hex(name, 64) && strlen(name) == 64;
}

static void map_volumes(json_t *svc, json_t *ins, json_t *img, const char *project, json_t *volumes, json_t *topvols)
{
	json_t *hc = json_object_get(ins, "HostConfig"), *vols = json_array(), *done = json_object();
	size_t i;
	json_t *v;
	/* binds and named volumes in the order they were given */
	json_array_foreach(json_object_get(hc, "Binds"), i, v) {
		if (!json_is_string(v))
			continue;
		_cleanup_free_ char *b = strdup(json_string_value(v));
		char *dst = strchr(b, ':');
		if (!dst)
			continue;
		*dst++ = 0;
		char *mode = strchr(dst, ':');
		if (mode)
			*mode++ = 0;
		if (!*b || !*dst || json_object_get(done, dst))
			continue;
		json_object_set_new(done, dst, json_true());
		if (b[0] == '/') {
			json_t *ent = json_pack("{s:s, s:s, s:s}", "type", "bind", "source", b, "target", dst);
			if (mode_ro(mode))
				json_object_set_new(ent, "read_only", json_true());
			json_array_append_new(vols, ent);
		} else {
			add_named(vols, topvols, project, volumes, b, dst, mode_ro(mode), mode && strstr(mode, "nocopy"));
		}
	}
	/* --mount volumes, anonymous ones (not those the image declares) */
	json_t *ivols = json_object_get(img, "Volumes");
	json_array_foreach(json_object_get(ins, "Mounts"), i, v) {
		const char *type = jsonx_str(v, "Type"), *name = jsonx_str(v, "Name"), *dst = jsonx_str(v, "Destination");
		if (!type || strcmp(type, "volume") || !name || !dst || json_object_get(done, dst))
			continue;
		json_object_set_new(done, dst, json_true());
		bool ro = json_is_false(json_object_get(v, "RW"));
		if (!anonymous(volumes, name)) {
			add_named(vols, topvols, project, volumes, name, dst, ro, false);
		} else if (!json_object_get(ivols, dst)) {
			json_t *ent = json_pack("{s:s, s:s}", "type", "volume", "target", dst);
			if (ro)
				json_object_set_new(ent, "read_only", json_true());
			json_array_append_new(vols, ent);
		}
	}
	json_decref(done);
	if (json_array_size(vols))
		json_object_set_new(svc, "volumes", vols);
	else
		json_decref(vols);
	json_t *tmpfs = json_array();
	const char *k;
	json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
		const char *opts = json_string_value(v);
		json_array_append_new(tmpfs, opts && *opts ? json_sprintf("%s:%s", k, opts) : json_string(k));
	}
	if (json_array_size(tmpfs))
		json_object_set_new(svc, "tmpfs", tmpfs);
	else
		json_decref(tmpfs);
}

static void map_health(json_t *svc, json_t *cfg, json_t *img)
{
	json_t *h = json_object_get(cfg, "Healthcheck");
	if (!json_is_object(h) || same(h, json_object_get(img, "Healthcheck")))
		return;
	json_t *test = json_object_get(h, "Test");
	if (json_array_size(test) && !strcmp(json_string_value(json_array_get(test, 0)) ?: "", "NONE")) {
		json_object_set_new(svc, "healthcheck", json_pack("{s:b}", "disable", 1));
		return;
	}
	json_t *o = json_object();
	if (json_array_size(test))
		json_object_set(o, "test", test);
	static const char *const dk[][2] = {{"Interval", "interval"}, {"Timeout", "timeout"},
					    {"StartPeriod", "start_period"}, {"StartInterval", "start_interval"}};
	for (size_t i = 0; i < ARRAY_SIZE(dk); i++) {
		json_t *d = dur_json(json_object_get(h, dk[i][0]));
		if (d)
			json_object_set_new(o, dk[i][1], d);
	}
	if (json_is_integer(json_object_get(h, "Retries")) && json_integer_value(json_object_get(h, "Retries")) > 0)
		json_object_set(o, "retries", json_object_get(h, "Retries"));
	json_object_set_new(svc, "healthcheck", o);
}

static void map_restart(json_t *svc, json_t *hc)
{
	json_t *rp = json_object_get(hc, "RestartPolicy");
	const char *name = jsonx_str(rp, "Name");
	if (!name || !*name)
		return;
	json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
	if (!strcmp(name, "on-failure") && max > 0)
		json_object_set_new(svc, "restart", json_sprintf("on-failure:%lld", (long long)max));
	else
		json_object_set_new(svc, "restart", json_string(name));
}

static void map_resources(json_t *svc, json_t *hc)
{
	json_t *q;
	if ((q = bytes_json(json_object_get(hc, "Memory"))))
		json_object_set_new(svc, "mem_limit", q);
	json_int_t nano = json_integer_value(json_object_get(hc, "NanoCpus"));
	json_int_t quota = json_integer_value(json_object_get(hc, "CpuQuota")),
		   period = json_integer_value(json_object_get(hc, "CpuPeriod"));
	if (nano > 0)
		json_object_set_new(svc, "cpus", json_real((double)nano / 1e9));
	else if (quota > 0)
		json_object_set_new(svc, "cpus", json_real((double)quota / (double)(period > 0 ? period : 100000)));
	if ((q = bytes_json(json_object_get(hc, "MemoryReservation"))))
		json_object_set_new(svc, "deploy", json_pack("{s:{s:{s:o}}}", "resources", "reservations", "memory", q));
	json_int_t pids = json_integer_value(json_object_get(hc, "PidsLimit"));
	if (pids > 0)
		json_object_set_new(svc, "pids_limit", json_integer(pids));
	if ((q = bytes_json(json_object_get(hc, "ShmSize"))))
		json_object_set_new(svc, "shm_size", q);
	json_t *ul = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
		const char *n = jsonx_str(v, "Name");
		if (!n)
			continue;
		json_t *soft = json_object_get(v, "Soft"), *hard = json_object_get(v, "Hard");
		json_object_set_new(ul, n, json_equal(soft, hard) ? json_incref(soft)
								  : json_pack("{s:O, s:O}", "soft", soft, "hard", hard));
	}
	if (json_object_size(ul))
		json_object_set_new(svc, "ulimits", ul);
	else
		json_decref(ul);
}

/* The names a container answers to on a network without being asked:
 * its service, its name, its short ID, its hostname. */
static bool own_alias(const char *a, const char *svc, const char *cname, const char *id, const char *host)
{
	return !strcmp(a, svc) || (cname && !strcmp(a, cname)) || (host && !strcmp(a, host)) ||
	       (id && strlen(a) == 12 && !strncmp(id, a, 12));
}

static void map_networks(json_t *svc, json_t *ins, const char *name, const char *cname, const char *project,
			 json_t *topnets)
{
	json_t *hc = json_object_get(ins, "HostConfig"), *cfg = json_object_get(ins, "Config");
	const char *mode = jsonx_str(hc, "NetworkMode");
	const char *id = jsonx_str(ins, "Id"), *host = jsonx_str(cfg, "Hostname");
	const char *csvc = jsonx_str(json_object_get(cfg, "Labels"), CL_PREFIX "service");
	if (mode && (!strcmp(mode, "host") || !strcmp(mode, "none") || !strncmp(mode, "container:", 10))) {
		json_object_set_new(svc, "network_mode", json_string(mode));
		return;
	}
	/* the networks it is on: the runtime's view, else its configured one */
	_cleanup_json_ json_t *nets = json_object();
	json_t *ns = json_object_get(json_object_get(ins, "NetworkSettings"), "Networks");
	const char *k;
	json_t *v;
	json_object_foreach(ns, k, v) json_object_set_new(nets, k, json_deep_copy(json_object_get(v, "Aliases")));
	if (mode && strcmp(mode, "default") && !json_object_get(nets, mode))
		json_object_set_new(nets, mode, json_array());
	if (mode && json_array_size(json_object_get(hc, "NetworkAliases"))) {
		json_t *al = json_object_get(nets, !strcmp(mode, "default") ? "bridge" : mode);
		if (!al)
			json_object_set_new(nets, !strcmp(mode, "default") ? "bridge" : mode, al = json_array());
		size_t i;
		json_array_foreach(json_object_get(hc, "NetworkAliases"), i, v) if (json_is_string(v) &&
										     !in_str_array(al, json_string_value(v)))
			json_array_append(al, v);
	}
	json_t *out = json_object();
	json_object_foreach(nets, k, v) {
		const char *key = project_key(project, k);
		bool dflt = !key && (!strcmp(k, "bridge") || !strcmp(k, "default"));
		json_t *aliases = json_array();
		size_t i;
		json_t *a;
		json_array_foreach(v, i, a) {
			const char *s = json_string_value(a);
			if (s && !own_alias(s, name, cname, id, host) && !(csvc && !strcmp(s, csvc)) && !in_str_array(aliases, s))
				json_array_append(aliases, a);
		}
		if (dflt && !json_array_size(aliases)) {
			json_decref(aliases);
			continue;
		}
		if (key && !strcmp(key, "default") && !json_array_size(aliases)) {
			/* every service is on default unless told otherwise */
			json_decref(aliases);
			if (!json_object_get(topnets, key))
				json_object_set_new(topnets, key, json_pack("{s:s}", "name", k));
			continue;
		}
		json_t *ent = json_object();
		if (json_array_size(aliases))
			json_object_set_new(ent, "aliases", aliases);
		else
			json_decref(aliases);
		json_object_set_new(out, key ? key : k, ent);
		if (!dflt && !json_object_get(topnets, key ? key : k))
			json_object_set_new(topnets, key ? key : k,
					    key ? json_pack("{s:s}", "name", k) : json_pack("{s:s, s:b}", "name", k, "external", 1));
	}
	if (json_object_size(out))
		json_object_set_new(svc, "networks", out);
	else
		json_decref(out);
}

/* com.docker.compose.depends_on: "db:service_healthy:false,cache:service_started:true" */
static void map_depends(json_t *svc, json_t *labels)
{
	const char *d = jsonx_str(labels, CL_PREFIX "depends_on");
	if (!d || !*d)
		return;
	json_t *deps = json_object();
	_cleanup_free_ char *s = strdup(d);
	char *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *cond = strchr(t, ':');
		char *restart = NULL;
		if (cond) {
			*cond++ = 0;
			restart = strchr(cond, ':');
			if (restart)
				*restart++ = 0;
		}
		if (!*t)
			continue;
		json_t *e = json_pack("{s:s, s:b}", "condition", cond && *cond ? cond : "service_started", "required", 1);
		if (restart && !strcmp(restart, "true"))
			json_object_set_new(e, "restart", json_true());
		json_object_set_new(deps, t, e);
	}
	if (json_object_size(deps))
		json_object_set_new(svc, "depends_on", deps);
	else
		json_decref(deps);
}

static void set_str(json_t *svc, const char *key, json_t *cfg, const char *ckey, json_t *img)
{
	const char *v = jsonx_str(cfg, ckey);
	if (v && *v && !same(json_object_get(cfg, ckey), json_object_get(img, ckey)))
		json_object_set_new(svc, key, json_string(v));
}

static void set_true(json_t *svc, const char *key, json_t *o, const char *okey)
{
	if (json_is_true(json_object_get(o, okey)))
		json_object_set_new(svc, key, json_true());
}

static void set_list(json_t *svc, const char *key, json_t *list)
{
	if (list)
		json_object_set_new(svc, key, list);
}

/* The compose service of one container. */
static json_t *service_of(const struct kube_gen_ctr *c, const char *name, json_t *volumes, json_t *topvols,
			  json_t *topnets, json_t *w)
{
	json_t *ins = c->inspect;
	json_t *cfg = json_object_get(ins, "Config"), *hc = json_object_get(ins, "HostConfig");
	_cleanup_json_ json_t *noimg = json_object();
	json_t *img = json_is_object(c->image_config) ? c->image_config : noimg;
	const char *cname = jsonx_str(ins, "Name");
	if (cname && *cname == '/')
		cname++;
	json_t *svc = json_object();
	const char *image = image_of(c, name, w);
	if (image)
		json_object_set_new(svc, "image", json_string(image));
	map_command(svc, cfg, img);
	map_env(svc, cfg, img);
	map_ports(svc, cfg, hc, img);
	map_volumes(svc, ins, img, c->project, volumes, topvols);

	json_t *labels = json_object(), *il = json_object_get(img, "Labels");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "Labels"), k, v) {
		if (!strncmp(k, CL_PREFIX, strlen(CL_PREFIX)) || json_equal(v, json_object_get(il, k)))
			continue;
		json_object_set(labels, k, v);
	}
	if (json_object_size(labels))
		json_object_set_new(svc, "labels", labels);
	else
		json_decref(labels);

	set_str(svc, "user", cfg, "User", img);
	set_str(svc, "working_dir", cfg, "WorkingDir", img);
	set_list(svc, "cap_add", caps_list(json_object_get(hc, "CapAdd")));
	set_list(svc, "cap_drop", caps_list(json_object_get(hc, "CapDrop")));
	set_true(svc, "privileged", hc, "Privileged");
	set_true(svc, "read_only", hc, "ReadonlyRootfs");
	set_true(svc, "tty", cfg, "Tty");
	set_true(svc, "stdin_open", cfg, "OpenStdin");
	set_true(svc, "init", hc, "Init");
	/* the hostname Docker gives is the short ID: not asked for */
	const char *host = jsonx_str(cfg, "Hostname"), *id = jsonx_str(ins, "Id");
	if (host && *host && !(id && strlen(host) == 12 && !strncmp(id, host, 12)))
		json_object_set_new(svc, "hostname", json_string(host));
	set_str(svc, "domainname", cfg, "Domainname", img);
	map_restart(svc, hc);
	map_health(svc, cfg, img);
	if (json_object_size(json_object_get(hc, "Sysctls")))
		json_object_set(svc, "sysctls", json_object_get(hc, "Sysctls"));
	set_list(svc, "extra_hosts", str_list(json_object_get(hc, "ExtraHosts")));
	map_resources(svc, hc);
	set_list(svc, "dns", str_list(json_object_get(hc, "Dns")));
	set_list(svc, "dns_search", str_list(json_object_get(hc, "DnsSearch")));
	set_list(svc, "security_opt", str_list(json_object_get(hc, "SecurityOpt")));
	set_list(svc, "group_add", str_list(json_object_get(hc, "GroupAdd")));
	set_str(svc, "stop_signal", cfg, "StopSignal", img);
	if (json_is_integer(json_object_get(cfg, "StopTimeout")) && json_integer_value(json_object_get(cfg, "StopTimeout")) >= 0)
		json_object_set_new(svc, "stop_grace_period",
				    json_sprintf("%llds", (long long)json_integer_value(json_object_get(cfg, "StopTimeout"))));
	json_t *lc = json_object_get(hc, "LogConfig");
	const char *ld = jsonx_str(lc, "Type");
	if ((ld && strcmp(ld, "json-file")) || json_object_size(json_object_get(lc, "Config"))) {
		json_t *lg = json_pack("{s:s}", "driver", ld ? ld : "json-file");
		if (json_object_size(json_object_get(lc, "Config")))
			json_object_set(lg, "options", json_object_get(lc, "Config"));
		json_object_set_new(svc, "logging", lg);
	}
	map_networks(svc, ins, name, cname, c->project, topnets);
	if (c->project)
		map_depends(svc, json_object_get(cfg, "Labels"));
	return svc;
}

/* a container name as a service name: Kubernetes names are lower case */
static char *service_name(const char *n, json_t *w)
{
	char *s = strdup(n);
	bool changed = false;
	for (char *p = s; *p; p++)
		if (isupper((unsigned char)*p)) {
			*p = (char)tolower((unsigned char)*p);
			changed = true;
		}
	if (changed)
		warnf(w, "container %s: written as service %s (Kubernetes names are lower case)", n, s);
	return s;
}

struct group {
	char *name;
	size_t model; /* index of the lowest-numbered container */
	int n;
	long number;
	const char *project; /* NULL for a standalone container */
	const char *hash;
	const char *cname; /* the model's container name */
	bool hashes_differ;
};

int kube_generate_project(const struct kube_gen_ctr *ctrs, size_t n, json_t *volumes, json_t **ret_project,
			  json_t *warnings, struct berr **err)
{
	struct group *g = calloc(n ? n : 1, sizeof(*g));
	size_t ng = 0;
	int rc = -1;
	_cleanup_json_ json_t *seen = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *ins = ctrs[i].inspect;
		const char *id = jsonx_str(ins, "Id"), *cname = jsonx_str(ins, "Name");
		if (!json_is_object(ins) || !id || !cname) {
			berr_setc(err, BERR_INVALID, "container inspect data without Id or Name");
			goto out;
		}
		if (json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		if (*cname == '/')
			cname++;
		json_t *labels = json_object_get(json_object_get(ins, "Config"), "Labels");
		const char *csvc = ctrs[i].project ? jsonx_str(labels, CL_PREFIX "service") : NULL;
		_cleanup_free_ char *name = service_name(csvc ? csvc : cname, warnings);
		const char *num = jsonx_str(labels, CL_PREFIX "container-number");
		long number = num ? strtol(num, NULL, 10) : 0;
		const char *hash = jsonx_str(labels, CL_PREFIX "config-hash");
		size_t j = 0;
		while (j < ng && strcmp(g[j].name, name))
			j++;
		if (j < ng) {
			if (!csvc || !g[j].project || strcmp(g[j].project, ctrs[i].project)) {
				berr_setc(err, BERR_INVALID, "two services would be named %s (%s %s and %s %s): generate them separately",
					  name, g[j].project ? "project" : "container", g[j].project ? g[j].project : g[j].name,
					  csvc ? "project" : "container", csvc ? ctrs[i].project : cname);
				goto out;
			}
			g[j].n++;
			if (hash && g[j].hash && strcmp(hash, g[j].hash))
				g[j].hashes_differ = true;
			if (number < g[j].number) {
				g[j].number = number;
				g[j].model = i;
				g[j].hash = hash;
				g[j].cname = cname;
			}
			continue;
		}
		g[ng++] = (struct group){.name = steal_pointer(&name), .model = i, .n = 1, .number = number,
					 .project = csvc ? ctrs[i].project : NULL, .hash = hash, .cname = cname};
	}
	const char *pname = NULL;
	for (size_t j = 0; j < ng; j++) {
		const char *p = g[j].project ? g[j].project : g[j].name;
		if (!pname)
			pname = p;
		else if (strcmp(pname, p))
			pname = "berth"; /* containers of several projects */
	}
	json_t *services = json_object(), *topvols = json_object(), *topnets = json_object();
	json_t *proj = json_pack("{s:s, s:o, s:o, s:o}", "name", pname ? pname : "berth", "services", services, "volumes",
				 topvols, "networks", topnets);
	for (size_t j = 0; j < ng; j++) {
		struct kube_gen_ctr c = ctrs[g[j].model];
		c.project = g[j].project;
		json_t *svc = service_of(&c, g[j].name, volumes, topvols, topnets, warnings);
		if (g[j].n > 1)
			json_object_set_new(svc, "scale", json_integer(g[j].n));
		if (g[j].hashes_differ)
			warnf(warnings, "service %s: its %d containers were created from different configurations: written from %s's",
			      g[j].name, g[j].n, g[j].cname);
		json_object_set_new(services, g[j].name, svc);
	}
	if (!json_object_size(topvols))
		json_object_del(proj, "volumes");
	if (!json_object_size(topnets))
		json_object_del(proj, "networks");
	*ret_project = proj;
	rc = 0;
out:
	for (size_t j = 0; j < ng; j++)
		free(g[j].name);
	free(g);
	return rc;
}

int kube_generate(const struct kube_gen_ctr *ctrs, size_t n, json_t *volumes, const struct kube_generate_opts *o,
		  json_t **ret_objects, json_t *warnings, struct berr **err)
{
	_cleanup_json_ json_t *proj = NULL;
	if (kube_generate_project(ctrs, n, volumes, &proj, warnings, err) < 0)
		return -1;
	static const enum kube_controller ctl[] = {
		[KUBE_GEN_POD] = KUBE_POD, [KUBE_GEN_DEPLOYMENT] = KUBE_DEPLOYMENT,
		[KUBE_GEN_STATEFULSET] = KUBE_STATEFULSET, [KUBE_GEN_DAEMONSET] = KUBE_DAEMONSET,
		[KUBE_GEN_JOB] = KUBE_DEPLOYMENT, /* every service a Job, through its restart */
	};
	static const char *const kinds[] = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job"};
	const char *k;
	json_t *s;
	json_object_foreach(json_object_get(proj, "services"), k, s) {
		const char *r = jsonx_str(s, "restart");
		bool onf = r && !strncmp(r, "on-failure", 10);
		json_int_t scale = json_integer_value(json_object_get(s, "scale"));
		switch (o->type) {
		case KUBE_GEN_POD:
			if (scale > 1)
				warnf(warnings, "service %s: %lld containers, written as one Pod (--type deployment keeps the replicas)",
				      k, (long long)scale);
			break;
		case KUBE_GEN_JOB:
			if (!onf)
				json_object_set_new(s, "restart", json_string("no"));
			break;
		default:
			/* "no" is every container's default, not a wish for a Job */
			if (r && !strcmp(r, "no"))
				json_object_del(s, "restart");
			else if (onf) {
				warnf(warnings, "service %s: restart %s: the pods of a %s always restart", k, r, kinds[o->type]);
				json_object_del(s, "restart");
			}
			break;
		}
	}
	struct kube_convert_opts ko = {.namespace_ = o->namespace_, .controller = ctl[o->type], .replicas = o->replicas,
				       .pvc_size = "100Mi", .wait_image = o->wait_image ? o->wait_image : "busybox:1.36"};
	json_t *objs = NULL;
	if (kube_convert(proj, &ko, &objs, warnings, err) < 0)
		return -1;
	if (!o->services) {
		for (size_t i = json_array_size(objs); i-- > 0;)
			if (!strcmp(jsonx_str(json_array_get(objs, i), "kind") ?: "", "Service"))
				json_array_remove(objs, i);
	}
	*ret_objects = objs;
	return 0;
}
