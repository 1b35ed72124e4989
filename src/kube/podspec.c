/* Kubernetes pod -> resolved pod spec (podspec.h): env, command/args,
 * probes, security contexts, DNS and volumes, as the kubelet prepares a
 * pod before its runtime sees it. */
#include "kube/podspec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/quantity.h"
#include "util/strbuf.h"

#define VOL_MAX_BYTES (16u << 20) /* all files of one volume */

void kube_claim_volume(const char *ns, const char *claim, char *buf, size_t n)
{
	snprintf(buf, n, "kube_%s_%s", ns, claim);
}

static json_t *obj_of(const struct kube_pod_ctx *c, const char *kind, const char *name)
{
	char key[320];
	snprintf(key, sizeof(key), "%s/%s", kind, name ? name : "");
	return json_object_get(c->objects, key);
}

static bool env_name_ok(const char *s)
{
	/* Kubernetes accepts any printable ASCII but '='; shells need more,
	 * but the API server is the judge: follow it. */
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '=' || *p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* base64 -> bytes (malloc'd, NUL-terminated); NULL when malformed. */
static char *b64_decode(const char *in, size_t *ret_len)
{
	size_t n = strlen(in);
	char *clean = malloc(n + 1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)in[i]))
			clean[m++] = in[i];
	clean[m] = 0;
	if (m % 4) {
		free(clean);
		return NULL;
	}
	unsigned char *out = malloc(m / 4 * 3 + 2);
	int r = m ? EVP_DecodeBlock(out, (unsigned char *)clean, (int)m) : 0;
	if (r < 0) {
		free(clean);
		free(out);
		return NULL;
	}
	size_t len = (size_t)r;
	if (m >= 1 && clean[m - 1] == '=')
		len--;
	if (m >= 2 && clean[m - 2] == '=')
		len--;
	free(clean);
	out[len] = 0;
	*ret_len = len;
	return (char *)out;
}

/* The value of key in a ConfigMap (data, binaryData) or Secret (data,
 * base64). NULL when missing; *bad for undecodable secret data. */
static char *source_value(const json_t *obj, bool secret, const char *key, size_t *ret_len, bool *bad)
{
	*bad = false;
	const json_t *data = json_object_get(obj, "data");
	const json_t *v = json_object_get(data, key);
	if (secret) {
		if (!json_is_string(v)) {
			/* stringData that the loader did not fold */
			v = json_object_get(json_object_get(obj, "stringData"), key);
			if (!json_is_string(v))
				return NULL;
			*ret_len = json_string_length(v);
			return strndup(json_string_value(v), *ret_len);
		}
		char *d = b64_decode(json_string_value(v), ret_len);
		if (!d)
			*bad = true;
		return d;
	}
	if (json_is_string(v)) {
		*ret_len = json_string_length(v);
		return strndup(json_string_value(v), *ret_len);
	}
	v = json_object_get(json_object_get(obj, "binaryData"), key);
	if (json_is_string(v)) {
		char *d = b64_decode(json_string_value(v), ret_len);
		if (!d)
			*bad = true;
		return d;
	}
	return NULL;
}

/* ---- $(VAR) expansion (Kubernetes' expansion package) ----
 * $(NAME) is replaced by NAME's value when NAME is defined, kept as is
 * otherwise; $$ is a literal $ (so $$(X) stays "$(X)"). */
static char *expand(const char *in, const json_t *vars)
{
	struct sbuf b = {0};
	for (const char *p = in; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			sbuf_addc(&b, '$');
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '(') {
			const char *e = strchr(p + 2, ')');
			if (e) {
				_cleanup_free_ char *name = strndup(p + 2, e - p - 2);
				const json_t *v = json_object_get(vars, name);
				if (json_is_string(v))
					sbuf_adds(&b, json_string_value(v));
				else
					sbuf_add(&b, p, e - p + 1);
				p = e + 1;
				continue;
			}
		}
		sbuf_addc(&b, *p++);
	}
	if (!b.s)
		return strdup("");
	return sbuf_detach(&b);
}

static const char *ctr_limit(const json_t *ctr, const char *which, const char *res)
{
	return jsonx_str(json_object_get(json_object_get(ctr, "resources"), which), res);
}

/* resourceFieldRef: limits.cpu etc. in units of divisor, rounded up; an
 * unset limit is the node's allocatable (this machine's), as the kubelet
 * does. */
static int resource_field(const json_t *ctr, const json_t *ref, char **ret, struct berr **err)
{
	const char *res = jsonx_str(ref, "resource");
	if (!res)
		return berr_setc(err, BERR_INVALID, "resourceFieldRef: resource is required");
	const char *dot = strchr(res, '.');
	if (!dot)
		return berr_setc(err, BERR_INVALID, "resourceFieldRef: unsupported resource \"%s\"", res);
	_cleanup_free_ char *which = strndup(res, dot - res);
	const char *what = dot + 1;
	if ((strcmp(which, "limits") && strcmp(which, "requests")) ||
	    (strcmp(what, "cpu") && strcmp(what, "memory") && strcmp(what, "ephemeral-storage")))
		return berr_setc(err, BERR_INVALID, "resourceFieldRef: unsupported resource \"%s\"", res);
	const char *q = ctr_limit(ctr, which, what);
	if (!q && !strcmp(which, "requests"))
		q = ctr_limit(ctr, "limits", what); /* requests default to limits */
	int64_t milli;
	char buf[64];
	if (!q) {
		if (!strcmp(what, "cpu"))
			snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
		else if (!strcmp(what, "memory"))
			snprintf(buf, sizeof(buf), "%lld",
				 (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE));
		else
			snprintf(buf, sizeof(buf), "0");
		q = buf;
	}
	if (quantity_parse(q, 3, &milli) < 0)
		return berr_setc(err, BERR_INVALID, "resources.%s.%s: invalid quantity \"%s\"", which, what, q);
	const char *div = jsonx_str(ref, "divisor");
	int64_t dmilli = 1000;
	if (div && (quantity_parse(div, 3, &dmilli) < 0 || dmilli < 0))
		return berr_setc(err, BERR_INVALID, "resourceFieldRef: invalid divisor \"%s\"", div);
	if (dmilli == 0)
		dmilli = 1000; /* the API server's default "0": the kubelet divides by 1 */
	int64_t v = (milli + dmilli - 1) / dmilli;
	if (asprintf(ret, "%lld", (long long)v) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	return 0;
}

/* fieldRef paths the downward API offers (env and volumes). "" for
 * status.podIP / status.hostIP (filled in by the runtime / here). */
static int field_value(const json_t *pod, const char *path, bool for_env, char **ret, bool *ret_podip,
		       struct berr **err)
{
	const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	*ret_podip = false;
	const char *v = NULL;
	char buf[256];
	if (!strcmp(path, "metadata.name"))
		v = jsonx_str(md, "name");
	else if (!strcmp(path, "metadata.namespace"))
		v = jsonx_str(md, "namespace");
	else if (!strcmp(path, "metadata.uid"))
		v = jsonx_str(md, "uid");
	else if (!strcmp(path, "spec.nodeName")) {
		if (gethostname(buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "localhost");
		v = buf;
	} else if (!strcmp(path, "spec.serviceAccountName"))
		v = jsonx_str(spec, "serviceAccountName") ? jsonx_str(spec, "serviceAccountName") : "default";
	else if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs")) {
		*ret_podip = true;
		v = "";
	} else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs")) {
		/* the node's address: the host side of the pod network */
		v = "";
		*ret_podip = false;
		*ret = strdup("");
		return 1; /* caller fills the host IP */
	} else if (!strncmp(path, "metadata.labels", 15) || !strncmp(path, "metadata.annotations", 20)) {
		bool lab = !strncmp(path, "metadata.labels", 15);
		const char *rest = path + (lab ? 15 : 20);
		const json_t *m = json_object_get(md, lab ? "labels" : "annotations");
		if (!*rest && !for_env) {
			/* the whole map, one key="value" a line, sorted */
			struct sbuf b = {0};
			const char **keys = NULL;
			size_t n = json_object_size(m), i = 0;
			keys = calloc(n + 1, sizeof(*keys));
			const char *k;
			json_t *x;
			json_object_foreach((json_t *)m, k, x) keys[i++] = k;
			for (size_t a = 0; a < n; a++)
				for (size_t c = a + 1; c < n; c++)
					if (strcmp(keys[a], keys[c]) > 0) {
						const char *t = keys[a];
						keys[a] = keys[c];
						keys[c] = t;
					}
			for (i = 0; i < n; i++) {
				sbuf_addf(&b, "%s=\"", keys[i]);
				for (const char *p = jsonx_str(m, keys[i]); p && *p; p++) {
					if (*p == '"' || *p == '\\')
						sbuf_addc(&b, '\\');
					if (*p == '\n')
						sbuf_adds(&b, "\\n");
					else
						sbuf_addc(&b, *p);
				}
				sbuf_adds(&b, i + 1 < n ? "\"\n" : "\"");
			}
			free(keys);
			*ret = b.s ? sbuf_detach(&b) : strdup("");
			return 0;
		}
		/* metadata.labels['key'] */
		size_t rl = strlen(rest);
		if (rl < 5 || strncmp(rest, "['", 2) || strcmp(rest + rl - 2, "']"))
			return berr_setc(err, BERR_INVALID, "fieldRef: unsupported fieldPath \"%s\"", path);
		_cleanup_free_ char *key = strndup(rest + 2, rl - 4);
		v = jsonx_str(m, key);
		if (!v)
			v = "";
	} else
		return berr_setc(err, BERR_INVALID,
				 "fieldRef: unsupported fieldPath \"%s\" (supported: metadata.name, metadata.namespace, "
				 "metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'], spec.nodeName, "
				 "spec.serviceAccountName, status.podIP, status.hostIP)",
				 path);
	*ret = strdup(v ? v : "");
	return 0;
}

/* The host's address on the pod network: the bridge's gateway. */
static const char *host_ip(const struct kube_pod_ctx *c)
{
	return c->gateway ? c->gateway : "";
}

/* ---- env ---- */
static int resolve_env(const struct kube_pod_ctx *c, const json_t *pod, const json_t *ctr, const char *cname,
		       json_t *out_env, json_t *out_podip, json_t *vars, json_t *warnings, struct berr **err)
{
	size_t i;
	json_t *ef;
	/* envFrom first, env overrides (the kubelet's order) */
	json_array_foreach(json_object_get(ctr, "envFrom"), i, ef) {
		const json_t *cm = json_object_get(ef, "configMapRef"), *sc = json_object_get(ef, "secretRef");
		const json_t *ref = cm ? cm : sc;
		if (!ref)
			continue;
		const char *name = jsonx_str(ref, "name");
		bool optional = json_is_true(json_object_get(ref, "optional"));
		const json_t *src = obj_of(c, cm ? "ConfigMap" : "Secret", name);
		if (!src) {
			if (optional)
				continue;
			return berr_setc(err, BERR_NOT_FOUND, "container %s: envFrom: %s \"%s\" not found", cname,
					 cm ? "configmap" : "secret", name ? name : "");
		}
		const char *prefix = jsonx_str(ef, "prefix");
		const json_t *data = json_object_get(src, "data");
		const char *k;
		json_t *v;
		json_t *keys = json_object();
		json_object_foreach((json_t *)data, k, v) json_object_set_new(keys, k, json_true());
		if (cm)
			json_object_foreach(json_object_get(src, "binaryData"), k, v) json_object_set_new(keys, k, json_true());
		json_object_foreach(keys, k, v) {
			_cleanup_free_ char *full = NULL;
			if (asprintf(&full, "%s%s", prefix ? prefix : "", k) < 0)
				break;
			if (!env_name_ok(full)) {
				if (warnings)
					json_array_append_new(warnings, json_sprintf("container %s: envFrom %s: key \"%s\" "
										     "is not a valid environment variable name; skipped",
										     cname, name, full));
				continue;
			}
			size_t len;
			bool bad;
			_cleanup_free_ char *val = source_value(src, !cm, k, &len, &bad);
			if (!val)
				continue;
			json_object_set_new(vars, full, json_string(val));
		}
		json_decref(keys);
	}
	json_t *e;
	json_array_foreach(json_object_get(ctr, "env"), i, e) {
		const char *name = jsonx_str(e, "name");
		if (!name)
			continue;
		const json_t *vf = json_object_get(e, "valueFrom");
		if (!vf) {
			const char *v = jsonx_str(e, "value");
			_cleanup_free_ char *x = expand(v ? v : "", vars);
			json_object_set_new(vars, name, json_string(x));
			json_object_del(out_podip, name);
			continue;
		}
		const json_t *r;
		if ((r = json_object_get(vf, "configMapKeyRef")) || (r = json_object_get(vf, "secretKeyRef"))) {
			bool cm = json_object_get(vf, "configMapKeyRef") != NULL;
			const char *oname = jsonx_str(r, "name"), *key = jsonx_str(r, "key");
			bool optional = json_is_true(json_object_get(r, "optional"));
			const json_t *src = obj_of(c, cm ? "ConfigMap" : "Secret", oname);
			size_t len;
			bool bad = false;
			_cleanup_free_ char *val = src && key ? source_value(src, !cm, key, &len, &bad) : NULL;
			if (bad)
				return berr_setc(err, BERR_INVALID, "container %s: env %s: secret \"%s\" key \"%s\" is not valid base64",
						 cname, name, oname, key);
			if (!val) {
				if (optional)
					continue;
				if (!src)
					return berr_setc(err, BERR_NOT_FOUND, "container %s: env %s: %s \"%s\" not found", cname,
							 name, cm ? "configmap" : "secret", oname ? oname : "");
				return berr_setc(err, BERR_NOT_FOUND, "container %s: env %s: %s \"%s\" has no key \"%s\"", cname,
						 name, cm ? "configmap" : "secret", oname, key ? key : "");
			}
			json_object_set_new(vars, name, json_string(val));
		} else if ((r = json_object_get(vf, "fieldRef"))) {
			const char *path = jsonx_str(r, "fieldPath");
			char *val = NULL;
			bool podip = false;
			int fr = field_value(pod, path ? path : "", true, &val, &podip, err);
			if (fr < 0)
				return berr_wrap(err, "container %s: env %s", cname, name);
			if (fr == 1) {
				free(val);
				val = strdup(host_ip(c));
			}
			json_object_set_new(vars, name, json_string(val));
			free(val);
			if (podip)
				json_object_set_new(out_podip, name, json_true());
			else
				json_object_del(out_podip, name);
		} else if ((r = json_object_get(vf, "resourceFieldRef"))) {
			const char *cn = jsonx_str(r, "containerName");
			const json_t *target = ctr;
			if (cn && strcmp(cn, cname)) {
				target = NULL;
				size_t j;
				json_t *o;
				json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), j, o)
					if (!strcmp(jsonx_str(o, "name") ? jsonx_str(o, "name") : "", cn))
						target = o;
				if (!target)
					return berr_setc(err, BERR_INVALID, "container %s: env %s: resourceFieldRef: no container \"%s\"",
							 cname, name, cn);
			}
			char *val = NULL;
			if (resource_field(target, r, &val, err) < 0)
				return berr_wrap(err, "container %s: env %s", cname, name);
			json_object_set_new(vars, name, json_string(val));
			free(val);
		} else
			return berr_setc(err, BERR_INVALID, "container %s: env %s: valueFrom has no source", cname, name);
	}
	const char *k;
	json_t *v;
	json_object_foreach(vars, k, v) {
		json_t *o = json_pack("{s:s,s:O}", "name", k, "value", v);
		json_array_append_new(out_env, o);
	}
	return 0;
}

/* ---- volumes ---- */

/* One file of a projected volume: relative path, content, mode. */
struct vfile {
	char *path;
	char *data;
	size_t len;
	int mode;
};
struct vfiles {
	struct vfile *v;
	size_t n, cap;
	size_t bytes;
	long long gid; /* the pod's fsGroup, -1 when it has none */
};

/* The pod's securityContext.fsGroup, -1 when unset. */
static long long pod_fsgroup(const json_t *pod)
{
	const json_t *g = json_object_get(json_object_get(json_object_get(pod, "spec"), "securityContext"), "fsGroup");
	return json_is_integer(g) && json_integer_value(g) >= 0 ? (long long)json_integer_value(g) : -1;
}

/* As the kubelet's SetVolumeOwnership for a volume it mounts read-only
 * (configMap, secret, downwardAPI, projected): group fsGroup, the group may
 * read every file and enter (setgid) every directory. */
static int fsgroup_own(int dirfd, const char *path, long long gid, bool dir)
{
	struct stat st;
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (fchownat(dirfd, path, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return 0;
	mode_t m = (st.st_mode & 07777) | 0440 | (dir ? (S_ISGID | 0110) : 0);
	return fchmodat(dirfd, path, m, 0) < 0 ? -errno : 0;
}

static void vfiles_free(struct vfiles *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].data);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
	f->gid = -1;
}

/* A volume item path: relative, no "..", no empty components. */
static bool item_path_ok(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 4096)
		return false;
	const char *s = p;
	while (*s) {
		const char *e = strchrnul(s, '/');
		size_t l = e - s;
		if (l == 0 || (l == 2 && !strncmp(s, "..", 2)) || (l == 1 && *s == '.'))
			return false;
		if (l >= 2 && s[0] == '.' && s[1] == '.')
			return false; /* "..data" and friends belong to the writer */
		s = *e ? e + 1 : e;
	}
	return true;
}

static int vfiles_add(struct vfiles *f, const char *path, char *data, size_t len, int mode, const char *vname,
		      struct berr **err)
{
	if (!item_path_ok(path)) {
		free(data);
		return berr_setc(err, BERR_INVALID, "volume %s: invalid path \"%s\" (must be relative, without '..')", vname,
				 path);
	}
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].path, path)) {
			free(data);
			return berr_setc(err, BERR_INVALID, "volume %s: duplicate path \"%s\"", vname, path);
		}
	f->bytes += len;
	if (f->bytes > VOL_MAX_BYTES) {
		free(data);
		return berr_setc(err, BERR_INVALID, "volume %s: more than %u bytes of files", vname, VOL_MAX_BYTES);
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->v = realloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n++] = (struct vfile){strdup(path), data, len, mode};
	return 0;
}

static int json_mode(const json_t *v, int dflt)
{
	return json_is_integer(v) ? (int)(json_integer_value(v) & 07777) : dflt;
}

/* The files of a configMap / secret source (items or every key). */
static int files_from_source(const struct kube_pod_ctx *c, const json_t *src_spec, bool secret, int dmode,
			     const char *vname, struct vfiles *f, bool *ret_missing, struct berr **err)
{
	const char *name = jsonx_str(src_spec, secret ? "secretName" : "name");
	if (secret && !name)
		name = jsonx_str(src_spec, "name"); /* projected secret sources use "name" */
	bool optional = json_is_true(json_object_get(src_spec, "optional"));
	const json_t *obj = obj_of(c, secret ? "Secret" : "ConfigMap", name);
	*ret_missing = false;
	if (!obj) {
		if (optional) {
			*ret_missing = true;
			return 0;
		}
		return berr_setc(err, BERR_NOT_FOUND, "volume %s: %s \"%s\" not found", vname, secret ? "secret" : "configmap",
				 name ? name : "");
	}
	const json_t *items = json_object_get(src_spec, "items");
	if (json_array_size(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			const char *key = jsonx_str(it, "key"), *path = jsonx_str(it, "path");
			size_t len;
			bool bad;
			char *d = key ? source_value(obj, secret, key, &len, &bad) : NULL;
			if (!d) {
				if (optional)
					continue;
				return berr_setc(err, BERR_NOT_FOUND, "volume %s: %s \"%s\" has no key \"%s\"", vname,
						 secret ? "secret" : "configmap", name, key ? key : "");
			}
			if (vfiles_add(f, path ? path : key, d, len, json_mode(json_object_get(it, "mode"), dmode), vname, err) < 0)
				return -1;
		}
		return 0;
	}
	const char *k;
	json_t *v;
	json_t *keys = json_object();
	json_object_foreach(json_object_get(obj, "data"), k, v) json_object_set_new(keys, k, json_true());
	json_object_foreach(json_object_get(obj, "binaryData"), k, v) json_object_set_new(keys, k, json_true());
	json_object_foreach(json_object_get(obj, "stringData"), k, v) json_object_set_new(keys, k, json_true());
	int r = 0;
	json_object_foreach(keys, k, v) {
		size_t len;
		bool bad;
		char *d = source_value(obj, secret, k, &len, &bad);
		if (!d) {
			r = berr_setc(err, BERR_INVALID, "volume %s: secret \"%s\" key \"%s\" is not valid base64", vname, name, k);
			break;
		}
		if ((r = vfiles_add(f, k, d, len, dmode, vname, err)) < 0)
			break;
	}
	json_decref(keys);
	return r;
}

static int files_from_downward(const struct kube_pod_ctx *c, const json_t *pod, const json_t *spec, int dmode,
			       const char *vname, struct vfiles *f, struct berr **err)
{
	(void)c;
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(spec, "items"), i, it) {
		const char *path = jsonx_str(it, "path");
		const json_t *fr = json_object_get(it, "fieldRef"), *rr = json_object_get(it, "resourceFieldRef");
		char *val = NULL;
		if (fr) {
			bool podip;
			const char *fp = jsonx_str(fr, "fieldPath");
			if (fp && (!strncmp(fp, "status.", 7) || !strncmp(fp, "spec.", 5)))
				return berr_setc(err, BERR_INVALID, "volume %s: item %s: fieldPath \"%s\" is not supported in a "
						 "downwardAPI volume (only metadata.* fields are)", vname, path ? path : "", fp);
			if (field_value(pod, fp ? fp : "", false, &val, &podip, err) < 0)
				return berr_wrap(err, "volume %s: item %s", vname, path ? path : "");
		} else if (rr) {
			const char *cn = jsonx_str(rr, "containerName");
			const json_t *target = NULL;
			size_t j;
			json_t *o;
			json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), j, o)
				if (!cn || !strcmp(jsonx_str(o, "name") ? jsonx_str(o, "name") : "", cn)) {
					target = o;
					break;
				}
			if (!target)
				return berr_setc(err, BERR_INVALID, "volume %s: item %s: resourceFieldRef: no container \"%s\"", vname,
						 path ? path : "", cn ? cn : "");
			if (resource_field(target, rr, &val, err) < 0)
				return berr_wrap(err, "volume %s: item %s", vname, path ? path : "");
		} else
			return berr_setc(err, BERR_INVALID, "volume %s: item %s: needs fieldRef or resourceFieldRef", vname,
					 path ? path : "");
		if (vfiles_add(f, path ? path : "", val, strlen(val), json_mode(json_object_get(it, "mode"), dmode), vname, err) < 0)
			return -1;
	}
	return 0;
}

/* The files a volume should hold now. 1 when the volume is not of the
 * projected kinds. */
static int volume_files(const struct kube_pod_ctx *c, const json_t *pod, const json_t *vol, struct vfiles *f,
			json_t *warnings, struct berr **err)
{
	const char *vname = jsonx_str(vol, "name");
	const json_t *s;
	bool missing;
	if ((s = json_object_get(vol, "configMap")))
		return files_from_source(c, s, false, json_mode(json_object_get(s, "defaultMode"), 0644), vname, f, &missing,
					 err);
	if ((s = json_object_get(vol, "secret")))
		return files_from_source(c, s, true, json_mode(json_object_get(s, "defaultMode"), 0644), vname, f, &missing,
					 err);
	if ((s = json_object_get(vol, "downwardAPI")))
		return files_from_downward(c, pod, s, json_mode(json_object_get(s, "defaultMode"), 0644), vname, f, err);
	if ((s = json_object_get(vol, "projected"))) {
		int dmode = json_mode(json_object_get(s, "defaultMode"), 0644);
		size_t i;
		json_t *src;
		json_array_foreach(json_object_get(s, "sources"), i, src) {
			const json_t *x;
			if ((x = json_object_get(src, "configMap"))) {
				if (files_from_source(c, x, false, dmode, vname, f, &missing, err) < 0)
					return -1;
			} else if ((x = json_object_get(src, "secret"))) {
				if (files_from_source(c, x, true, dmode, vname, f, &missing, err) < 0)
					return -1;
			} else if ((x = json_object_get(src, "downwardAPI"))) {
				if (files_from_downward(c, pod, x, dmode, vname, f, err) < 0)
					return -1;
			} else if ((x = json_object_get(src, "serviceAccountToken")) && c->sa_tokens) {
				/* the token the node agent asked the API for (TokenRequest) */
				const char *path = jsonx_str(x, "path");
				_cleanup_free_ char *key = NULL;
				if (!path || asprintf(&key, "%s/%s", vname, path) < 0)
					return berr_setc(err, BERR_INVALID, "volume %s: serviceAccountToken without a path", vname);
				const char *tok = jsonx_str(c->sa_tokens, key);
				if (!tok)
					return berr_setc(err, BERR_NOT_FOUND, "volume %s: no service account token for %s", vname,
							 path);
				if (vfiles_add(f, path, strdup(tok), strlen(tok), dmode, vname, err) < 0)
					return -1;
			} else if (x || json_object_get(src, "clusterTrustBundle")) {
				if (warnings)
					json_array_append_new(warnings, json_sprintf("volume %s: projected %s is not available "
										     "without an API server; left out", vname,
										     x ? "serviceAccountToken" : "clusterTrustBundle"));
			}
		}
		return 0;
	}
	return 1;
}

/* Make dirfd/path's parent directories (mode 0755). */
static int mkparents_at(int dirfd, const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdirat(dirfd, p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* Does the current ..data hold exactly these files? */
static bool vdir_same(int vfd, const struct vfiles *f)
{
	char target[256];
	ssize_t tl = readlinkat(vfd, "..data", target, sizeof(target) - 1);
	if (tl <= 0)
		return false;
	target[tl] = 0;
	int dfd = openat(vfd, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return false;
	bool same = true;
	for (size_t i = 0; i < f->n && same; i++) {
		char *buf = NULL;
		size_t len;
		struct berr *e = NULL;
		struct stat st;
		if (fstatat(dfd, f->v[i].path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    (int)(st.st_mode & 07777) != f->v[i].mode || (size_t)st.st_size != f->v[i].len ||
		    (f->gid >= 0 && (long long)st.st_gid != f->gid))
			same = false;
		else if (fs_read_file_at(dfd, f->v[i].path, VOL_MAX_BYTES, &buf, &len, &e) < 0)
			same = false;
		else
			same = len == f->v[i].len && !memcmp(buf, f->v[i].data, len);
		free(buf);
		berr_free(e);
	}
	/* and no file more: count regular files */
	if (same) {
		unsigned long long dummy;
		(void)dummy;
		size_t count = 0;
		/* walk with a small stack of dirs */
		char stack[64][512];
		int sp = 0;
		snprintf(stack[sp++], sizeof(stack[0]), ".");
		while (sp && same) {
			char dir[512];
			snprintf(dir, sizeof(dir), "%s", stack[--sp]);
			int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0) {
				same = false;
				break;
			}
			DIR *d = fdopendir(fd);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				if (de->d_type == DT_DIR) {
					if (sp < 64 && strlen(dir) + strlen(de->d_name) + 2 <= sizeof(stack[0]))
						snprintf(stack[sp++], sizeof(stack[0]), "%.255s/%.255s", dir, de->d_name);
				} else
					count++;
			}
			if (d)
				closedir(d);
		}
		same = same && count == f->n;
	}
	close(dfd);
	return same;
}

/* Write the files as a new ..TIMESTAMP dir and swap ..data to it. */
static int vdir_write(int vfd, const struct vfiles *f, const char *vname, struct berr **err)
{
	char ts[96], tmp[128];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec);
	if (mkdirat(vfd, ts, 0755) < 0)
		return berr_set(err, errno, "volume %s: creating %s", vname, ts);
	if (f->gid >= 0) {
		int r = fsgroup_own(vfd, ts, f->gid, true);
		if (r < 0)
			return berr_set(err, -r, "volume %s: fsGroup %lld on %s", vname, f->gid, ts);
	}
	int dfd = openat(vfd, ts, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return berr_set(err, errno, "volume %s: opening %s", vname, ts);
	for (size_t i = 0; i < f->n; i++) {
		int r = mkparents_at(dfd, f->v[i].path);
		if (r < 0) {
			close(dfd);
			return berr_set(err, -r, "volume %s: %s", vname, f->v[i].path);
		}
		/* the parents (made by the kubelet's writer and chowned by its walk) */
		_cleanup_free_ char *par = strdup(f->v[i].path);
		for (char *sl = strchr(par, '/'); f->gid >= 0 && sl; sl = strchr(sl + 1, '/')) {
			*sl = 0;
			r = fsgroup_own(dfd, par, f->gid, true);
			*sl = '/';
			if (r < 0) {
				close(dfd);
				return berr_set(err, -r, "volume %s: fsGroup %lld on %s", vname, f->gid, f->v[i].path);
			}
		}
		int fd = openat(dfd, f->v[i].path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || fs_write_full(fd, f->v[i].data, f->v[i].len) < 0 ||
		    (f->gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)f->gid) < 0) || fchmod(fd, f->v[i].mode) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			close(dfd);
			return berr_set(err, e, "volume %s: writing %s", vname, f->v[i].path);
		}
		close(fd);
	}
	close(dfd);
	/* the old target, to remove after the swap */
	char old[256] = "";
	ssize_t ol = readlinkat(vfd, "..data", old, sizeof(old) - 1);
	old[ol > 0 ? ol : 0] = 0;
	snprintf(tmp, sizeof(tmp), "..data_tmp");
	unlinkat(vfd, tmp, 0);
	if (symlinkat(ts, vfd, tmp) < 0 || renameat(vfd, tmp, vfd, "..data") < 0)
		return berr_set(err, errno, "volume %s: switching ..data", vname);
	/* top-level entries: KEY -> ..data/KEY */
	for (size_t i = 0; i < f->n; i++) {
		const char *slash = strchr(f->v[i].path, '/');
		char top[512];
		snprintf(top, sizeof(top), "%.*s", (int)(slash ? (size_t)(slash - f->v[i].path) : strlen(f->v[i].path)),
			 f->v[i].path);
		char want[600], have[600];
		snprintf(want, sizeof(want), "..data/%s", top);
		ssize_t hl = readlinkat(vfd, top, have, sizeof(have) - 1);
		if (hl > 0) {
			have[hl] = 0;
			if (!strcmp(have, want))
				continue;
		}
		unlinkat(vfd, top, 0);
		if (symlinkat(want, vfd, top) < 0 && errno != EEXIST)
			return berr_set(err, errno, "volume %s: linking %s", vname, top);
	}
	/* entries no longer there */
	DIR *d = fdopendir(dup(vfd));
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && de->d_name[1] == '.')
			continue;
		if (de->d_name[0] == '.' && !de->d_name[1])
			continue;
		bool keep = false;
		size_t nl = strlen(de->d_name);
		for (size_t i = 0; i < f->n && !keep; i++)
			keep = !strncmp(f->v[i].path, de->d_name, nl) && (!f->v[i].path[nl] || f->v[i].path[nl] == '/');
		if (!keep)
			unlinkat(vfd, de->d_name, 0);
	}
	if (d)
		closedir(d);
	if (*old && strcmp(old, ts))
		fs_rm_rf_at(vfd, old);
	return 0;
}

static int pod_vol_dir(const struct kube_pod_ctx *c, const char *pod, const char *vol, char **ret, struct berr **err)
{
	int r = c->poddir ? asprintf(ret, "%s/%s/volumes/%s", c->poddir, pod, vol)
			  : asprintf(ret, "%s/kube/%s/pods/%s/volumes/%s", c->root, c->ns, pod, vol);
	if (r < 0)
		return berr_set(err, ENOMEM, "out of memory");
	return 0;
}

/* Materialize one projected-kind volume (or refresh it). 1 when written. */
static int vol_sync(const struct kube_pod_ctx *c, const json_t *pod, const json_t *vol, const char *dir,
		    json_t *warnings, struct berr **err)
{
	struct vfiles f = {.gid = -1};
	int r = volume_files(c, pod, vol, &f, warnings, err);
	if (r != 0) {
		vfiles_free(&f);
		return r < 0 ? -1 : 0;
	}
	f.gid = pod_fsgroup(pod);
	for (size_t i = 0; f.gid >= 0 && i < f.n; i++)
		f.v[i].mode |= 0440;
	if (fs_mkdir_p(dir, 0755, err) < 0) {
		vfiles_free(&f);
		return -1;
	}
	int vfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0) {
		vfiles_free(&f);
		return berr_set(err, errno, "opening %s", dir);
	}
	r = 0;
	if (!vdir_same(vfd, &f))
		r = vdir_write(vfd, &f, jsonx_str(vol, "name"), err) < 0 ? -1 : 1;
	close(vfd);
	vfiles_free(&f);
	return r;
}

static const json_t *find_by_name(const json_t *arr, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) if (!strcmp(jsonx_str(o, "name") ? jsonx_str(o, "name") : "", name ? name : "")) return o;
	return NULL;
}

/* hostPath type checks and creation (the kubelet's hostPathType). */
static int host_path(const json_t *hp, const char *vname, struct berr **err)
{
	const char *path = jsonx_str(hp, "path"), *type = jsonx_str(hp, "type");
	if (!path || *path != '/')
		return berr_setc(err, BERR_INVALID, "volume %s: hostPath.path must be an absolute path", vname);
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (!type || !*type)
		return 0;
	if (!strcmp(type, "DirectoryOrCreate")) {
		if (!exists)
			return fs_mkdir_p(path, 0755, err);
		if (!S_ISDIR(st.st_mode))
			return berr_setc(err, BERR_INVALID, "volume %s: hostPath %s exists and is not a directory", vname, path);
		return 0;
	}
	if (!strcmp(type, "FileOrCreate")) {
		if (!exists) {
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return berr_set(err, errno, "volume %s: creating %s", vname, path);
			close(fd);
			return 0;
		}
		if (!S_ISREG(st.st_mode))
			return berr_setc(err, BERR_INVALID, "volume %s: hostPath %s exists and is not a file", vname, path);
		return 0;
	}
	static const struct { const char *t; mode_t m; const char *what; } kinds[] = {
		{"Directory", S_IFDIR, "a directory"}, {"File", S_IFREG, "a file"},
		{"Socket", S_IFSOCK, "a socket"},       {"CharDevice", S_IFCHR, "a character device"},
		{"BlockDevice", S_IFBLK, "a block device"},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (!strcmp(type, kinds[i].t)) {
			if (!exists || (st.st_mode & S_IFMT) != kinds[i].m)
				return berr_setc(err, BERR_INVALID, "volume %s: hostPath type check failed: %s is not %s", vname,
						 path, kinds[i].what);
			return 0;
		}
	return berr_setc(err, BERR_INVALID, "volume %s: unknown hostPath type \"%s\"", vname, type);
}

static bool subpath_ok(const char *p)
{
	return p && *p != '/' && (strcmp(p, "..") && strncmp(p, "../", 3) && !strstr(p, "/../") &&
				  !(strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")));
}

/* A pod's volumes as host paths or berth volumes: {"vol": {"source": PATH} | {"volume": NAME}}. */
static int pod_volumes(const struct kube_pod_ctx *c, const json_t *pod, json_t *out, json_t *warnings,
		       struct berr **err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	long long fsg = pod_fsgroup(pod);
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(spec, "volumes"), i, vol) {
		const char *vname = jsonx_str(vol, "name");
		if (!vname)
			return berr_setc(err, BERR_INVALID, "spec.volumes[%zu]: name is required", i);
		const json_t *s;
		_cleanup_free_ char *dir = NULL;
		if (pod_vol_dir(c, pname, vname, &dir, err) < 0)
			return -1;
		if ((s = json_object_get(vol, "emptyDir"))) {
			if (fs_mkdir_p(dir, 0777, err) < 0)
				return -1;
			chmod(dir, 0777); /* as the kubelet: any user of the pod may write */
			const char *medium = jsonx_str(s, "medium");
			if (medium && !strcmp(medium, "Memory")) {
				char opts[64] = "mode=1777";
				const char *lim = jsonx_str(s, "sizeLimit");
				int64_t bytes;
				if (lim && quantity_parse(lim, 0, &bytes) == 0 && bytes > 0)
					snprintf(opts, sizeof(opts), "mode=1777,size=%lld", (long long)bytes);
				struct stat a, b;
				_cleanup_free_ char *parent = strdup(dir);
				*strrchr(parent, '/') = 0;
				bool mounted = stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
				if (!mounted && mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
					return berr_set(err, errno, "volume %s: mounting a tmpfs on %s", vname, dir);
			} else if (medium && *medium)
				return berr_setc(err, BERR_INVALID, "volume %s: emptyDir.medium \"%s\" is not supported (\"\" or Memory)",
						 vname, medium);
			/* fsGroup: the kubelet's SetVolumeOwnership of a writable volume */
			struct stat ds;
			if (fsg >= 0 && (stat(dir, &ds) < 0 || chown(dir, (uid_t)-1, (gid_t)fsg) < 0 ||
					 chmod(dir, (ds.st_mode & 07777) | S_ISGID | 0770) < 0))
				return berr_set(err, errno, "volume %s: fsGroup %lld on %s", vname, fsg, dir);
			json_object_set_new(out, vname, json_pack("{s:s}", "source", dir));
		} else if ((s = json_object_get(vol, "hostPath"))) {
			if (host_path(s, vname, err) < 0)
				return -1;
			json_object_set_new(out, vname, json_pack("{s:s}", "source", jsonx_str(s, "path")));
		} else if ((s = json_object_get(vol, "persistentVolumeClaim"))) {
			const char *claim = jsonx_str(s, "claimName");
			const json_t *pvc = obj_of(c, "PersistentVolumeClaim", claim);
			if (!pvc)
				return berr_setc(err, BERR_NOT_FOUND, "volume %s: persistentvolumeclaim \"%s\" not found", vname,
						 claim ? claim : "");
			char vn[256], got[256];
			kube_claim_volume(c->ns, claim, vn, sizeof(vn));
			json_t *labels = json_pack("{s:s,s:s}", "io.berth.kube.namespace", c->ns, "io.berth.kube.claim", claim);
			const json_t *pspec = json_object_get(pvc, "spec");
			const char *sc = jsonx_str(pspec, "storageClassName");
			const char *size = jsonx_str(json_object_get(json_object_get(pspec, "resources"), "requests"), "storage");
			if (sc)
				json_object_set_new(labels, "io.berth.kube.storage-class", json_string(sc));
			if (size)
				json_object_set_new(labels, "io.berth.kube.size", json_string(size));
			int r = volume_create(c->root, vn, labels, NULL, got, err);
			json_decref(labels);
			if (r < 0)
				return berr_wrap(err, "volume %s: claim %s", vname, claim);
			json_t *m = json_pack("{s:s}", "volume", vn);
			if (json_is_true(json_object_get(s, "readOnly")))
				json_object_set_new(m, "readOnly", json_true());
			json_object_set_new(out, vname, m);
		} else {
			int r = vol_sync(c, pod, vol, dir, warnings, err);
			if (r < 0)
				return berr_wrap(err, "pod %s", pname);
			if (!json_object_get(vol, "configMap") && !json_object_get(vol, "secret") &&
			    !json_object_get(vol, "downwardAPI") && !json_object_get(vol, "projected")) {
				const char *k;
				json_t *v;
				const char *kind = "?";
				json_object_foreach((json_t *)vol, k, v) if (strcmp(k, "name")) kind = k;
				return berr_setc(err, BERR_INVALID,
						 "volume %s: type %s is not supported here (emptyDir, hostPath, configMap, secret, "
						 "downwardAPI, projected, persistentVolumeClaim are)",
						 vname, kind);
			}
			bool secret = json_object_get(vol, "secret") != NULL;
			json_object_set_new(out, vname, json_pack("{s:s,s:b}", "source", dir, "projected", 1));
			if (secret)
				chmod(dir, 0755);
			if (fsg >= 0) {
				int fr = fsgroup_own(AT_FDCWD, dir, fsg, true);
				if (fr < 0)
					return berr_set(err, -fr, "volume %s: fsGroup %lld on %s", vname, fsg, dir);
			}
		}
	}
	return 0;
}

static int container_mounts(const json_t *ctr, const char *cname, const json_t *vols, const char *root,
			    json_t *out, struct berr **err)
{
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(ctr, "volumeMounts"), i, vm) {
		const char *vname = jsonx_str(vm, "name"), *target = jsonx_str(vm, "mountPath");
		const char *sub = jsonx_str(vm, "subPath");
		if (!target || *target != '/')
			return berr_setc(err, BERR_INVALID, "container %s: volumeMounts[%zu]: mountPath must be absolute", cname,
					 i);
		const json_t *v = json_object_get(vols, vname ? vname : "");
		if (!v)
			return berr_setc(err, BERR_NOT_FOUND, "container %s: volumeMounts[%zu]: no volume named \"%s\"", cname,
					 i, vname ? vname : "");
		bool ro = json_is_true(json_object_get(vm, "readOnly")) || json_is_true(json_object_get(v, "readOnly"));
		if (json_is_true(json_object_get(v, "projected")))
			ro = true; /* configMap/secret/downwardAPI volumes are read-only mounts */
		if (sub && *sub && !subpath_ok(sub))
			return berr_setc(err, BERR_INVALID, "container %s: volumeMounts[%zu]: subPath \"%s\" must be a "
					 "relative path without '..'", cname, i, sub);
		json_t *m = json_object();
		if (sub && *sub) {
			_cleanup_free_ char *base = NULL;
			if (jsonx_str(v, "volume")) {
				if (asprintf(&base, "%s/volumes/%s/_data", root, jsonx_str(v, "volume")) < 0) {
					json_decref(m);
					return berr_set(err, ENOMEM, "out of memory");
				}
			} else
				base = strdup(jsonx_str(v, "source"));
			_cleanup_free_ char *src = NULL;
			if (asprintf(&src, "%s/%s", base, sub) < 0) {
				json_decref(m);
				return berr_set(err, ENOMEM, "out of memory");
			}
			/* the subPath is resolved inside the volume: no symlink may lead out */
			int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (bfd < 0) {
				json_decref(m);
				return berr_set(err, errno, "container %s: volume %s", cname, vname);
			}
			struct stat st;
			bool projected = json_is_true(json_object_get(v, "projected"));
			if (fstatat(bfd, sub, &st, 0) < 0) {
				if (projected) {
					close(bfd);
					json_decref(m);
					return berr_setc(err, BERR_NOT_FOUND, "container %s: volumeMounts[%zu]: subPath \"%s\" is "
							 "not in volume %s", cname, i, sub, vname);
				}
				/* the kubelet makes a missing subPath directory */
				/* with the volume's own mode, as the kubelet's SafeMakeDir */
				struct stat bs;
				mode_t bm = fstat(bfd, &bs) == 0 ? (bs.st_mode & 07777) : 0755;
				int mr = mkparents_at(bfd, sub) < 0 ? -1 : mkdirat(bfd, sub, bm);
				if ((mr < 0 && errno != EEXIST) || (mr == 0 && fchmodat(bfd, sub, bm, 0) < 0)) {
					int e = errno;
					close(bfd);
					json_decref(m);
					return berr_set(err, e, "container %s: volume %s: making subPath %s", cname, vname, sub);
				}
			}
			/* a symlink chain (configMap keys) must stay inside */
			char real[4096], realb[4096];
			if (!realpath(src, real) || !realpath(base, realb) ||
			    (strncmp(real, realb, strlen(realb)) || (real[strlen(realb)] && real[strlen(realb)] != '/'))) {
				close(bfd);
				json_decref(m);
				return berr_setc(err, BERR_INVALID, "container %s: volumeMounts[%zu]: subPath \"%s\" leaves volume %s",
						 cname, i, sub, vname);
			}
			close(bfd);
			json_object_set_new(m, "source", json_string(real));
		} else if (jsonx_str(v, "volume"))
			json_object_set_new(m, "source", json_string(jsonx_str(v, "volume"))); /* a volume name */
		else
			json_object_set_new(m, "source", json_string(jsonx_str(v, "source")));
		json_object_set_new(m, "target", json_string(target));
		json_object_set_new(m, "readOnly", json_boolean(ro));
		json_array_append_new(out, m);
	}
	return 0;
}

/* A probe or hook handler with its named port made a number. */
static int resolve_port(json_t *h, const json_t *ctr, const char *cname, const char *what, struct berr **err)
{
	json_t *x = json_object_get(h, "httpGet");
	if (!x)
		x = json_object_get(h, "tcpSocket");
	if (!x)
		x = json_object_get(h, "grpc");
	if (!x)
		return 0;
	json_t *p = json_object_get(x, "port");
	if (json_is_integer(p))
		return 0;
	if (json_is_string(p)) {
		const char *name = json_string_value(p);
		char *end;
		long n = strtol(name, &end, 10);
		if (*name && !*end && n > 0 && n < 65536) {
			json_object_set_new(x, "port", json_integer(n));
			return 0;
		}
		size_t i;
		json_t *cp;
		json_array_foreach(json_object_get(ctr, "ports"), i, cp) {
			if (!strcmp(jsonx_str(cp, "name") ? jsonx_str(cp, "name") : "", name)) {
				json_object_set(x, "port", json_object_get(cp, "containerPort"));
				return 0;
			}
		}
		return berr_setc(err, BERR_INVALID, "container %s: %s: port \"%s\" is not a port name of the container", cname,
				 what, name);
	}
	return berr_setc(err, BERR_INVALID, "container %s: %s: port is required", cname, what);
}

static void probe_defaults(json_t *p)
{
	static const struct { const char *k; int v; } d[] = {
		{"initialDelaySeconds", 0}, {"periodSeconds", 10}, {"timeoutSeconds", 1},
		{"successThreshold", 1},    {"failureThreshold", 3},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(*d); i++)
		if (!json_is_integer(json_object_get(p, d[i].k)))
			json_object_set_new(p, d[i].k, json_integer(d[i].v));
	json_t *h = json_object_get(p, "httpGet");
	if (h) {
		if (!jsonx_str(h, "path"))
			json_object_set_new(h, "path", json_string("/"));
		if (!jsonx_str(h, "scheme"))
			json_object_set_new(h, "scheme", json_string("HTTP"));
	}
}

static json_t *str_array_expand(const json_t *a, const json_t *vars)
{
	if (!json_is_array(a))
		return json_null();
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		_cleanup_free_ char *x = expand(json_is_string(v) ? json_string_value(v) : "", vars);
		json_array_append_new(out, json_string(x));
	}
	return out;
}

static int resolve_container(const struct kube_pod_ctx *c, const json_t *pod, const json_t *ctr, const json_t *vols,
			     json_t **ret, json_t *warnings, struct berr **err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *cname = jsonx_str(ctr, "name");
	if (!cname)
		return berr_setc(err, BERR_INVALID, "a container has no name");
	if (!jsonx_str(ctr, "image"))
		return berr_setc(err, BERR_INVALID, "container %s: image is required", cname);
	json_t *out = json_object();
	json_object_set_new(out, "name", json_string(cname));
	json_object_set_new(out, "image", json_string(jsonx_str(ctr, "image")));
	json_t *env = json_array(), *podip = json_object(), *vars = json_object();
	if (resolve_env(c, pod, ctr, cname, env, podip, vars, warnings, err) < 0) {
		json_decref(env);
		json_decref(podip);
		json_decref(vars);
		json_decref(out);
		return -1;
	}
	json_object_set_new(out, "env", env);
	json_t *pi = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(podip, k, v) json_array_append_new(pi, json_string(k));
	json_decref(podip);
	json_object_set_new(out, "envPodIP", pi);
	json_object_set_new(out, "command", str_array_expand(json_object_get(ctr, "command"), vars));
	json_object_set_new(out, "args", str_array_expand(json_object_get(ctr, "args"), vars));
	json_decref(vars);
	static const char *copy[] = {"workingDir", "tty", "stdin", "stdinOnce", "ports", "resources",
				     "terminationMessagePath", "imagePullPolicy", "restartPolicy"};
	for (size_t i = 0; i < sizeof(copy) / sizeof(*copy); i++)
		if (json_object_get(ctr, copy[i]))
			json_object_set(out, copy[i], json_object_get(ctr, copy[i]));
	/* security context: the container's over the pod's */
	json_t *sc = json_object();
	const json_t *psc = json_object_get(spec, "securityContext");
	static const char *podlevel[] = {"runAsUser", "runAsGroup", "runAsNonRoot"};
	for (size_t i = 0; i < 3; i++)
		if (json_object_get(psc, podlevel[i]))
			json_object_set(sc, podlevel[i], json_object_get(psc, podlevel[i]));
	if (json_object_get(psc, "supplementalGroups"))
		json_object_set(sc, "supplementalGroups", json_object_get(psc, "supplementalGroups"));
	if (json_object_get(psc, "fsGroup"))
		json_object_set(sc, "fsGroup", json_object_get(psc, "fsGroup"));
	json_object_update(sc, json_object_get(ctr, "securityContext"));
	if (json_object_size(sc))
		json_object_set(out, "securityContext", sc);
	json_decref(sc);
	json_t *mounts = json_array();
	json_object_set_new(out, "mounts", mounts);
	if (container_mounts(ctr, cname, vols, c->root, mounts, err) < 0) {
		json_decref(out);
		return -1;
	}
	/* the kubelet's termination message file: a host file (any user of
	 * the pod may write it) mounted at terminationMessagePath, read when
	 * the container ends */
	const char *tmp = jsonx_str(ctr, "terminationMessagePath");
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	if (tmp && *tmp == '/' && pname) {
		_cleanup_free_ char *tdir = NULL, *tfile = NULL;
		int r = c->poddir ? asprintf(&tdir, "%s/%s/termination", c->poddir, pname)
				  : asprintf(&tdir, "%s/kube/%s/pods/%s/termination", c->root, c->ns, pname);
		if (r < 0 || asprintf(&tfile, "%s/%s", tdir, cname) < 0) {
			json_decref(out);
			return berr_set(err, ENOMEM, "out of memory");
		}
		if (fs_mkdir_p(tdir, 0755, err) < 0) {
			json_decref(out);
			return berr_wrap(err, "container %s: terminationMessagePath", cname);
		}
		int fd = open(tfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
		if (fd < 0 || fchmod(fd, 0666) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			json_decref(out);
			return berr_set(err, e, "container %s: terminationMessagePath: %s", cname, tfile);
		}
		close(fd);
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "source", tfile, "target", tmp, "readOnly", 0));
		json_object_set_new(out, "terminationMessageFile", json_string(tfile));
		const char *pol = jsonx_str(ctr, "terminationMessagePolicy");
		if (pol)
			json_object_set_new(out, "terminationMessagePolicy", json_string(pol));
	}
	static const char *probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	for (size_t i = 0; i < 3; i++) {
		const json_t *p = json_object_get(ctr, probes[i]);
		if (!p)
			continue;
		json_t *q = json_deep_copy(p);
		probe_defaults(q);
		if (resolve_port(q, ctr, cname, probes[i], err) < 0) {
			json_decref(q);
			json_decref(out);
			return -1;
		}
		json_object_set_new(out, probes[i], q);
	}
	const json_t *lc = json_object_get(ctr, "lifecycle");
	if (lc) {
		json_t *l = json_deep_copy(lc);
		static const char *hooks[] = {"postStart", "preStop"};
		for (size_t i = 0; i < 2; i++) {
			json_t *h = json_object_get(l, hooks[i]);
			if (h && resolve_port(h, ctr, cname, hooks[i], err) < 0) {
				json_decref(l);
				json_decref(out);
				return -1;
			}
		}
		json_object_set_new(out, "lifecycle", l);
	}
	*ret = out;
	return 0;
}

static json_t *dns_of(const struct kube_pod_ctx *c, const json_t *spec)
{
	const char *policy = jsonx_str(spec, "dnsPolicy");
	const json_t *cfg = json_object_get(spec, "dnsConfig");
	json_t *dns = json_pack("{s:[],s:[],s:[]}", "nameservers", "searches", "options");
	json_t *ns = json_object_get(dns, "nameservers"), *se = json_object_get(dns, "searches"),
	       *op = json_object_get(dns, "options");
	if (!policy || !strcmp(policy, "ClusterFirst") || !strcmp(policy, "ClusterFirstWithHostNet")) {
		if (c->gateway)
			json_array_append_new(ns, json_string(c->gateway));
		json_array_append_new(se, json_sprintf("%s.svc.cluster.local", c->ns));
		json_array_append_new(se, json_string("svc.cluster.local"));
		json_array_append_new(se, json_string("cluster.local"));
		json_array_append_new(op, json_pack("{s:s,s:s}", "name", "ndots", "value", "5"));
	} else if (!strcmp(policy, "Default")) {
		/* the node's resolv.conf */
		FILE *f = fopen("/etc/resolv.conf", "re");
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			char a[256];
			if (sscanf(line, "nameserver %255s", a) == 1)
				json_array_append_new(ns, json_string(a));
			else if (!strncmp(line, "search ", 7)) {
				char *save, *t = strtok_r(line + 7, " \t\n", &save);
				for (; t; t = strtok_r(NULL, " \t\n", &save))
					json_array_append_new(se, json_string(t));
			}
		}
		if (f)
			fclose(f);
	}
	/* dnsConfig is merged on top (None: it is everything) */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "nameservers"), i, v) json_array_append(ns, v);
	json_array_foreach(json_object_get(cfg, "searches"), i, v) json_array_append(se, v);
	json_array_foreach(json_object_get(cfg, "options"), i, v) {
		const char *name = jsonx_str(v, "name");
		size_t j;
		json_t *o;
		json_array_foreach(op, j, o) if (name && !strcmp(jsonx_str(o, "name") ? jsonx_str(o, "name") : "", name)) {
			json_array_remove(op, j);
			break;
		}
		json_array_append(op, v);
	}
	return dns;
}

int kube_podspec_resolve(const struct kube_pod_ctx *c, json_t *pod, json_t **ret, struct berr **err)
{
	const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	const char *name = jsonx_str(md, "name");
	if (!name)
		return berr_setc(err, BERR_INVALID, "pod has no name");
	json_t *out = json_object();
	json_object_set_new(out, "namespace", json_string(c->ns));
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "uid", json_string(jsonx_str(md, "uid") ? jsonx_str(md, "uid") : ""));
	const char *hn = jsonx_str(spec, "hostname");
	/* without spec.hostname the runtime takes the pod's name cut to 63
	 * characters, as the kubelet does (a pod name may be 253 long) */
	json_object_set_new(out, "hostname", json_string(hn ? hn : ""));
	json_object_set_new(out, "subdomain", json_string(jsonx_str(spec, "subdomain") ? jsonx_str(spec, "subdomain") : ""));
	json_object_set_new(out, "network", json_string(c->network));
	json_object_set_new(out, "dns", dns_of(c, spec));
	if (json_object_get(spec, "hostAliases"))
		json_object_set(out, "hostAliases", json_object_get(spec, "hostAliases"));
	const char *rp = jsonx_str(spec, "restartPolicy");
	json_object_set_new(out, "restartPolicy", json_string(rp ? rp : "Always"));
	json_t *g = json_object_get(spec, "terminationGracePeriodSeconds");
	json_object_set_new(out, "terminationGracePeriodSeconds", json_integer(json_is_integer(g) ? json_integer_value(g) : 30));
	json_t *labels = json_object();
	json_object_set_new(labels, "io.kubernetes.pod.name", json_string(name));
	json_object_set_new(labels, "io.kubernetes.pod.namespace", json_string(c->ns));
	json_object_set_new(labels, "io.kubernetes.pod.uid", json_string(jsonx_str(md, "uid") ? jsonx_str(md, "uid") : ""));
	json_object_set_new(out, "labels", labels);
	json_t *sys = json_object_get(json_object_get(spec, "securityContext"), "sysctls");
	if (sys)
		json_object_set(out, "sysctls", sys);
	json_t *warnings = json_array();
	json_object_set_new(out, "warnings", warnings);
	json_t *vols = json_object();
	int r = pod_volumes(c, pod, vols, warnings, err);
	json_t *hostports = json_array();
	json_object_set_new(out, "hostPorts", hostports);
	static const char *lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2 && r == 0; l++) {
		json_t *arr = json_array();
		json_object_set_new(out, lists[l], arr);
		size_t i;
		json_t *ctr;
		json_array_foreach(json_object_get(spec, lists[l]), i, ctr) {
			json_t *rc = NULL;
			if ((r = resolve_container(c, pod, ctr, vols, &rc, warnings, err)) < 0)
				break;
			json_array_append_new(arr, rc);
			size_t j;
			json_t *p;
			json_array_foreach(json_object_get(ctr, "ports"), j, p) {
				json_t *hp = json_object_get(p, "hostPort"), *cp = json_object_get(p, "containerPort");
				if (!json_is_integer(cp))
					continue;
				if (!json_is_integer(hp) && !c->publish_all)
					continue;
				const char *proto = jsonx_str(p, "protocol");
				const char *hip = jsonx_str(p, "hostIP");
				json_array_append_new(hostports,
						      json_pack("{s:O,s:O,s:s,s:s}", "containerPort", cp, "hostPort",
								json_is_integer(hp) ? hp : cp, "hostIP", hip ? hip : "", "protocol",
								proto ? proto : "TCP"));
			}
		}
	}
	json_decref(vols);
	(void)find_by_name;
	if (r < 0) {
		json_decref(out);
		if (c->poddir)
			kube_podspec_cleanup_dir(c->poddir, name);
		else
			kube_podspec_cleanup(c->root, c->ns, name);
		return berr_wrap(err, "pod %s", name);
	}
	*ret = out;
	return 0;
}

int kube_podspec_refresh(const struct kube_pod_ctx *c, json_t *pod, int *ret_changed, struct berr **err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	*ret_changed = 0;
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(spec, "volumes"), i, vol) {
		if (!json_object_get(vol, "configMap") && !json_object_get(vol, "secret") &&
		    !json_object_get(vol, "downwardAPI") && !json_object_get(vol, "projected"))
			continue;
		_cleanup_free_ char *dir = NULL;
		if (pod_vol_dir(c, pname, jsonx_str(vol, "name"), &dir, err) < 0)
			return -1;
		int r = vol_sync(c, pod, vol, dir, NULL, err);
		if (r < 0)
			return -1;
		*ret_changed += r;
	}
	return 0;
}

void kube_podspec_cleanup(const char *root, const char *ns, const char *pod)
{
	_cleanup_free_ char *pdir = NULL;
	if (asprintf(&pdir, "%s/kube/%s/pods", root, ns) < 0)
		return;
	kube_podspec_cleanup_dir(pdir, pod);
}

void kube_podspec_cleanup_dir(const char *pdir, const char *pod)
{
	_cleanup_free_ char *vdir = NULL;
	if (asprintf(&vdir, "%s/%s/volumes", pdir, pod) < 0)
		return;
	DIR *d = opendir(vdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/%s", vdir, de->d_name) < 0)
			continue;
		/* Memory emptyDirs: a tmpfs mounted on the dir */
		while (umount2(p, MNT_DETACH) == 0)
			;
	}
	if (d)
		closedir(d);
	int fd = open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fs_rm_rf_at(fd, pod);
		close(fd);
	}
}
