/* kube convert: what a service's pod mounts and the objects behind it.
 *   - named volumes: PersistentVolumeClaims (kompose.volume.size,
 *     storage-class-name, selector; --pvc-request-size), or emptyDir;
 *   - bind mounts (by --volumes or kompose.volume.type; the default picks):
 *     a file or a non-empty directory that exists becomes a ConfigMap (a
 *     file through subPath), anything else a claim, since a host path is
 *     not there on another node; hostpath and emptydir on request;
 *     sockets (docker.sock) are left out with a warning;
 *   - anonymous volumes and tmpfs: emptyDir (tmpfs in memory);
 *   - shm_size: a memory emptyDir at /dev/shm;
 *   - configs: ConfigMaps, each file mounted at its target;
 *   - secrets: Secrets, mounted where compose puts them (/run/secrets/NAME,
 *     or the target);
 *   - env_file: a ConfigMap per file, used through envFrom.
 * Volume names follow Kompose's (SVC-claimN, SVC-cmN, SVC-tmpfsN by index)
 * so that its users find the same objects. */
#include "kube/convert-int.h"
#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* the size limit of a ConfigMap's or Secret's data */
#define DATA_MAX (1024 * 1024)

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

/* put a file's content under key: data when text, binaryData otherwise */
static int put_file(json_t *cm, const char *key, const char *path, size_t *total, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, DATA_MAX, &buf, &len, err) < 0)
		return -1;
	*total += len;
	if (*total > DATA_MAX)
		return berr_setc(err, BERR_INVALID, "%s: more than the 1 MiB a ConfigMap holds", path);
	if (kc_is_text(buf, len)) {
		json_t *d = json_object_get(cm, "data");
		if (!d)
			json_object_set_new(cm, "data", d = json_object());
		json_object_set_new(d, key, json_stringn(buf, len));
	} else {
		json_t *d = json_object_get(cm, "binaryData");
		if (!d)
			json_object_set_new(cm, "binaryData", d = json_object());
		_cleanup_free_ char *b = kc_base64(buf, len);
		json_object_set_new(d, key, json_string(b ? b : ""));
	}
	return 0;
}

static json_t *new_cm(struct conv *cv, const char *name, const char *label)
{
	return json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", kc_meta(cv, name, label));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A ConfigMap of a bind-mounted file or directory, or NULL with *why set
 * (then the caller falls back to a claim). A directory gives its regular
 * files; subdirectories are not carried (a warning). */
static json_t *cm_of_path(struct conv *cv, const char *svc, const char *kname, const char *name, const char *path,
			  bool *is_file, char **why)
{
	struct stat st;
	*why = NULL;
	if (stat(path, &st) < 0) {
		if (asprintf(why, "%s: %s", path, strerror(errno)) < 0)
			*why = NULL;
		return NULL;
	}
	json_t *cm = new_cm(cv, name, kname);
	size_t total = 0;
	struct berr *e = NULL;
	if (S_ISREG(st.st_mode)) {
		*is_file = true;
		const char *key = base_name(path);
		if (!kc_data_key(key)) {
			if (asprintf(why, "%s: \"%s\" is not a valid ConfigMap key", path, key) < 0)
				*why = NULL;
			json_decref(cm);
			return NULL;
		}
		if (put_file(cm, key, path, &total, &e) < 0)
			goto fail;
		json_object_set_new(json_object_get(cm, "metadata"), "annotations", json_pack("{s:s}", "use-subpath", "true"));
		return cm;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (asprintf(why, "%s is neither a file nor a directory", path) < 0)
			*why = NULL;
		json_decref(cm);
		return NULL;
	}
	*is_file = false;
	DIR *d = opendir(path);
	if (!d) {
		if (asprintf(why, "%s: %s", path, strerror(errno)) < 0)
			*why = NULL;
		json_decref(cm);
		return NULL;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	size_t files = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *fp = NULL;
		if (asprintf(&fp, "%s/%s", path, names[i]) < 0)
			continue;
		struct stat fs;
		if (rc < 0 || stat(fp, &fs) < 0)
			continue;
		if (S_ISDIR(fs.st_mode)) {
			kc_warnf(cv->warnings, "service %s: bind mount %s: subdirectory %s is not carried into ConfigMap %s", svc,
				 path, names[i], name);
			continue;
		}
		if (!S_ISREG(fs.st_mode))
			continue;
		if (!kc_data_key(names[i])) {
			kc_warnf(cv->warnings, "service %s: bind mount %s: file \"%s\" is not a valid ConfigMap key: left out", svc,
				 path, names[i]);
			continue;
		}
		if (put_file(cm, names[i], fp, &total, &e) < 0)
			rc = -1;
		files++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc < 0)
		goto fail;
	if (!files) {
		if (asprintf(why, "%s holds no files", path) < 0)
			*why = NULL;
		json_decref(cm);
		return NULL;
	}
	return cm;
fail:
	*why = strdup(e ? e->msg : path);
	berr_free(e);
	json_decref(cm);
	return NULL;
}

static json_t *new_pvc(struct conv *cv, const char *name, const char *size, const char *sc, const char *selector,
		       bool ro)
{
	json_t *pvc = json_pack("{s:s, s:s, s:o, s:{s:[s], s:{s:{s:s}}}}", "apiVersion", "v1", "kind",
				"PersistentVolumeClaim", "metadata", kc_meta(cv, name, name), "spec", "accessModes",
				ro ? "ReadOnlyMany" : "ReadWriteOnce", "resources", "requests", "storage", size);
	json_t *spec = json_object_get(pvc, "spec");
	if (sc)
		json_object_set_new(spec, "storageClassName", json_string(sc));
	if (selector)
		json_object_set_new(spec, "selector", json_pack("{s:{s:s}}", "matchLabels", SEL_LABEL, selector));
	return pvc;
}

/* the kind of volume a bind mount (or, for emptydir, any volume) becomes */
static int vol_mode(struct conv *cv, const char *svc, json_t *labels, enum kube_volumes *ret, struct berr **err)
{
	*ret = cv->o->volumes;
	const char *vt = jsonx_str(labels, "kompose.volume.type");
	if (vt && kube_volumes_parse(vt, ret, err) < 0)
		return berr_wrap(err, "service %s: label kompose.volume.type", svc);
	return 0;
}

/* a name for a pod volume that is not taken yet */
static void uniq_name(json_t *vols, char *name, size_t n)
{
	size_t i, base = strlen(name);
	json_t *v;
	for (int k = 1;; k++) {
		bool taken = false;
		json_array_foreach(vols, i, v) taken |= !strcmp(jsonx_str(v, "name"), name);
		if (!taken)
			return;
		snprintf(name + base, n - base, "-%d", k);
	}
}

static int configs_and_secrets(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *mounts,
			       json_t *vols, struct berr **err)
{
	static const char *const kinds[] = {"configs", "secrets"};
	for (int sec = 0; sec < 2; sec++) {
		json_t *top = json_object_get(cv->project, kinds[sec]);
		size_t i;
		json_t *ref;
		json_array_foreach(json_object_get(s, kinds[sec]), i, ref) {
			const char *src = jsonx_str(ref, "source"), *target = jsonx_str(ref, "target");
			json_t *def = src ? json_object_get(top, src) : NULL;
			if (!def)
				continue;
			_cleanup_free_ char *obj = kc_name(sec ? "secret" : "config", src, cv->warnings, err);
			if (!obj)
				return berr_wrap(err, "service %s", svc);
			/* where compose puts it */
			_cleanup_free_ char *mpath = NULL;
			int r;
			if (target && target[0] == '/')
				r = asprintf(&mpath, "%s", target);
			else if (sec)
				r = asprintf(&mpath, "/run/secrets/%s", target ? target : src);
			else
				r = asprintf(&mpath, "/%s", target ? target : src);
			if (r < 0)
				return berr_setc(err, BERR_GENERIC, "out of memory");
			const char *file = base_name(mpath);
			if (jsonx_str(ref, "uid") || jsonx_str(ref, "gid"))
				kc_warnf(cv->warnings, "service %s: %s %s: uid/gid are not mapped (Kubernetes sets them through the pod's fsGroup)", svc,
					 kinds[sec], src);
			const char *key = sec ? obj : NULL;
			json_t *names = sec ? cv->secret_names : cv->cm_names;
			if (json_is_true(json_object_get(def, "external"))) {
				const char *ext = jsonx_str(def, "name");
				kc_warnf(cv->warnings, "service %s: %s %s is external: the %s \"%s\" must exist in the cluster", svc,
					 kinds[sec], src, sec ? "Secret" : "ConfigMap", ext ? ext : src);
				if (!key)
					key = src;
			} else if (!json_object_get(names, obj)) {
				/* the object, once per project */
				json_t *o = sec ? json_pack("{s:s, s:s, s:o, s:s}", "apiVersion", "v1", "kind", "Secret", "metadata",
							    kc_meta(cv, obj, obj), "type", "Opaque")
						: new_cm(cv, obj, kname);
				const char *fp = jsonx_str(def, "file"), *content = jsonx_str(def, "content"),
					   *envname = jsonx_str(def, "environment");
				const char *dkey = sec ? obj : fp ? base_name(fp) : file;
				if (!kc_data_key(dkey)) {
					json_decref(o);
					return berr_setc(err, BERR_INVALID, "service %s: %s %s: \"%s\" is not a valid data key", svc,
							 kinds[sec], src, dkey);
				}
				_cleanup_free_ char *buf = NULL;
				size_t len = 0;
				struct stat st;
				if (fp) {
					if (stat(fp, &st) == 0 && S_ISDIR(st.st_mode)) {
						json_decref(o);
						kc_warnf(cv->warnings, "service %s: %s %s: file %s is a directory: not mapped", svc, kinds[sec],
							 src, fp);
						continue;
					}
					if (fs_read_file_at(AT_FDCWD, fp, DATA_MAX, &buf, &len, err) < 0) {
						json_decref(o);
						return berr_wrap(err, "service %s: %s %s", svc, kinds[sec], src);
					}
				} else if (content) {
					buf = strdup(content);
					len = strlen(content);
				} else if (envname) {
					const char *val = jsonx_str(cv->o->env, envname);
					if (!val) {
						json_decref(o);
						kc_warnf(cv->warnings, "service %s: %s %s: variable %s is not set: not mapped", svc, kinds[sec],
							 src, envname);
						continue;
					}
					buf = strdup(val);
					len = strlen(val);
				} else {
					json_decref(o);
					kc_warnf(cv->warnings, "service %s: %s %s has no file, content or environment: not mapped", svc,
						 kinds[sec], src);
					continue;
				}
				if (sec) {
					_cleanup_free_ char *b = kc_base64(buf, len);
					json_object_set_new(o, "data", json_pack("{s:s}", dkey, b ? b : ""));
				} else if (kc_is_text(buf, len)) {
					json_object_set_new(o, "data", json_pack("{s:s%}", dkey, buf, len));
				} else {
					_cleanup_free_ char *b = kc_base64(buf, len);
					json_object_set_new(o, "binaryData", json_pack("{s:s}", dkey, b ? b : ""));
				}
				json_object_set_new(names, obj, json_string(dkey));
				json_array_append_new(sec ? cv->secrets : cv->configmaps, o);
				key = dkey;
			} else {
				key = json_string_value(json_object_get(names, obj));
			}
			char vname[160];
			snprintf(vname, sizeof(vname), "%s", obj);
			uniq_name(vols, vname, sizeof(vname));
			json_t *src_obj = sec ? json_pack("{s:s, s:[{s:s, s:s}]}", "secretName", obj, "items", "key", key, "path", file)
					      : json_pack("{s:s, s:[{s:s, s:s}]}", "name", obj, "items", "key", key, "path", file);
			json_t *mode = json_object_get(ref, "mode");
			if (json_is_integer(mode))
				json_object_set(src_obj, "defaultMode", mode);
			json_array_append_new(vols, json_pack("{s:s, s:o}", "name", vname, sec ? "secret" : "configMap", src_obj));
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "name", vname, "mountPath", mpath, "subPath",
								file, "readOnly", 1));
		}
	}
	return 0;
}

int kc_volumes(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *ctr, json_t *pod,
	       struct berr **err)
{
	json_t *mounts = json_array(), *vols = json_array();
	json_t *labels = json_object_get(s, "labels");
	const char *subpath = jsonx_str(labels, "kompose.volume.subpath");
	const char *selector = jsonx_str(labels, "kompose.volume.selector");
	enum kube_volumes mode;
	size_t i;
	json_t *v;
	if (vol_mode(cv, svc, labels, &mode, err) < 0)
		goto fail;
	if (configs_and_secrets(cv, svc, kname, s, mounts, vols, err) < 0)
		goto fail;
	json_array_foreach(json_object_get(s, "volumes"), i, v) {
		const char *type = jsonx_str(v, "type"), *src = jsonx_str(v, "source"), *dst = jsonx_str(v, "target");
		if (!type || !dst)
			continue;
		bool ro = json_is_true(json_object_get(v, "read_only"));
		char vname[160];
		json_t *vol = NULL, *m = json_pack("{s:s}", "mountPath", dst);
		if (!strcmp(type, "volume") && src && *src) {
			/* a volume shared by several services: its rename is
			 * told once, with its claim */
			_cleanup_json_ json_t *quiet = json_array();
			_cleanup_free_ char *n = kc_name("volume", src, quiet, err);
			if (!n) {
				json_decref(m);
				berr_wrap(err, "service %s", svc);
				goto fail;
			}
			snprintf(vname, sizeof(vname), "%s", n);
			if (mode == KUBE_VOL_EMPTYDIR) {
				vol = json_pack("{s:s, s:{}}", "name", vname, "emptyDir");
			} else {
				if (mode == KUBE_VOL_HOSTPATH || mode == KUBE_VOL_CONFIGMAP)
					kc_warnf(cv->warnings, "service %s: volume %s is a named volume: a claim, not a %s", svc, src,
						 mode == KUBE_VOL_HOSTPATH ? "hostPath" : "ConfigMap");
				vol = json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim", "claimName", vname);
				if (!json_object_get(cv->pvc_names, vname)) {
					json_object_set_new(cv->pvc_names, vname, json_true());
					json_array_extend(cv->warnings, quiet);
					json_t *vl = json_object_get(json_object_get(json_object_get(cv->project, "volumes"), src), "labels");
					const char *size = jsonx_str(vl, "kompose.volume.size");
					if (!size)
						size = jsonx_str(labels, "kompose.volume.size");
					const char *sc = jsonx_str(vl, "kompose.volume.storage-class-name");
					if (!sc)
						sc = jsonx_str(labels, "kompose.volume.storage-class-name");
					if (size && !kube_quantity_valid(size)) {
						json_decref(m);
						json_decref(vol);
						berr_setc(err, BERR_INVALID, "service %s: volume %s: kompose.volume.size \"%s\" is not a Kubernetes quantity", svc, src, size);
						goto fail;
					}
					json_array_append_new(cv->pvcs, new_pvc(cv, vname, size ? size : cv->o->pvc_size, sc, selector, ro));
				}
			}
		} else if (!strcmp(type, "tmpfs") || !strcmp(type, "volume")) {
			/* anonymous volumes live as long as the pod, as a
			 * container's anonymous volume lives with the container */
			snprintf(vname, sizeof(vname), "%s-%s%zu", kname, !strcmp(type, "tmpfs") ? "tmpfs" : "claim", i);
			vol = json_pack("{s:s, s:{}}", "name", vname, "emptyDir");
			if (!strcmp(type, "tmpfs"))
				json_object_set_new(json_object_get(vol, "emptyDir"), "medium", json_string("Memory"));
		} else if (!strcmp(type, "bind") && src) {
			size_t sl = strlen(src);
			if (sl > 5 && !strcmp(src + sl - 5, ".sock")) {
				kc_warnf(cv->warnings, "service %s: volume %s:%s is a host socket: not mapped (a pod cannot reach the node's sockets portably)", svc, src, dst);
				json_decref(m);
				continue;
			}
			if (mode == KUBE_VOL_HOSTPATH) {
				snprintf(vname, sizeof(vname), "%s-hostpath%zu", kname, i);
				vol = json_pack("{s:s, s:{s:s}}", "name", vname, "hostPath", "path", src);
				kc_warnf(cv->warnings, "service %s: volume %s:%s is written as hostPath, which only works where that path exists on the node", svc, src, dst);
			} else if (mode == KUBE_VOL_EMPTYDIR) {
				snprintf(vname, sizeof(vname), "%s-empty%zu", kname, i);
				vol = json_pack("{s:s, s:{}}", "name", vname, "emptyDir");
			} else {
				_cleanup_free_ char *why = NULL;
				bool is_file = false;
				snprintf(vname, sizeof(vname), "%s-cm%zu", kname, i);
				json_t *cm = NULL;
				if (mode == KUBE_VOL_PVC) {
					why = strdup("--volumes pvc");
				} else if (json_object_get(cv->cm_names, vname)) {
					why = strdup("name taken");
				} else {
					cm = cm_of_path(cv, svc, kname, vname, src, &is_file, &why);
				}
				if (cm) {
					json_object_set_new(cv->cm_names, vname, json_true());
					json_array_append_new(cv->configmaps, cm);
					vol = json_pack("{s:s, s:{s:s}}", "name", vname, "configMap", "name", vname);
					if (is_file) {
						const char *key = base_name(src), *file = base_name(dst);
						json_object_set_new(json_object_get(vol, "configMap"), "items",
								    json_pack("[{s:s, s:s}]", "key", key, "path", file));
						json_object_set_new(m, "subPath", json_string(file));
					}
					if (!ro)
						kc_warnf(cv->warnings, "service %s: volume %s:%s becomes ConfigMap %s, which the pod sees read-only", svc, src, dst, vname);
				} else if (mode == KUBE_VOL_CONFIGMAP) {
					kc_warnf(cv->warnings, "service %s: volume %s:%s cannot be a ConfigMap (%s): a claim instead", svc, src, dst, why ? why : "?");
				}
				if (!cm) {
					snprintf(vname, sizeof(vname), "%s-claim%zu", kname, i);
					vol = json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim", "claimName", vname);
					if (!json_object_get(cv->pvc_names, vname)) {
						json_object_set_new(cv->pvc_names, vname, json_true());
						const char *size = jsonx_str(labels, "kompose.volume.size");
						json_array_append_new(cv->pvcs, new_pvc(cv, vname, size && kube_quantity_valid(size) ? size : cv->o->pvc_size,
											  jsonx_str(labels, "kompose.volume.storage-class-name"), selector, ro));
					}
					if (mode != KUBE_VOL_CONFIGMAP)
						kc_warnf(cv->warnings, "service %s: volume %s:%s: the host path is not carried; claim %s starts empty", svc, src, dst, vname);
				}
			}
		} else {
			kc_warnf(cv->warnings, "service %s: volume of type %s at %s: not mapped", svc, type, dst);
			json_decref(m);
			continue;
		}
		json_array_append_new(vols, vol);
		json_object_set_new(m, "name", json_string(vname));
		if (ro)
			json_object_set_new(m, "readOnly", json_true());
		if (subpath && !json_object_get(m, "subPath"))
			json_object_set_new(m, "subPath", json_string(subpath));
		json_array_append_new(mounts, m);
	}
	/* service-level tmpfs: and shm_size */
	json_array_foreach(json_object_get(s, "tmpfs"), i, v) {
		if (!json_is_string(v))
			continue;
		char vname[160];
		snprintf(vname, sizeof(vname), "%s-tmpfs%zu", kname, i);
		uniq_name(vols, vname, sizeof(vname));
		_cleanup_free_ char *path = strdup(json_string_value(v));
		char *colon = strchr(path, ':');
		if (colon)
			*colon = 0;
		json_array_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", vname, "emptyDir", "medium", "Memory"));
		json_array_append_new(mounts, json_pack("{s:s, s:s}", "mountPath", path, "name", vname));
	}
	json_t *shm = json_object_get(s, "shm_size");
	if (shm) {
		json_t *q = kc_mem_quantity(shm);
		json_t *ed = json_pack("{s:s}", "medium", "Memory");
		if (q)
			json_object_set_new(ed, "sizeLimit", q);
		json_array_append_new(vols, json_pack("{s:s, s:o}", "name", "dshm", "emptyDir", ed));
		json_array_append_new(mounts, json_pack("{s:s, s:s}", "mountPath", "/dev/shm", "name", "dshm"));
	}
	if (json_array_size(mounts))
		json_object_set_new(ctr, "volumeMounts", mounts);
	else
		json_decref(mounts);
	if (json_array_size(vols))
		json_object_set_new(pod, "volumes", vols);
	else
		json_decref(vols);
	return 0;
fail:
	json_decref(mounts);
	json_decref(vols);
	return -1;
}

/* Kompose's name for an env_file's ConfigMap: the path as written (here:
 * relative to the project directory), '.' and '/' trimmed from both ends,
 * every other non-alphanumeric character '-'; lower-cased for Kubernetes. */
static void env_cm_name(const char *path, const char *pdir, const char *kname, char *out, size_t n)
{
	size_t dl = pdir ? strlen(pdir) : 0;
	const char *rel = path;
	if (dl && !strncmp(path, pdir, dl) && path[dl] == '/')
		rel = path + dl + 1;
	size_t a = 0, b = strlen(rel);
	while (a < b && (rel[a] == '.' || rel[a] == '/'))
		a++;
	while (b > a && (rel[b - 1] == '.' || rel[b - 1] == '/'))
		b--;
	struct sbuf sb = SBUF_INIT;
	if (a < b && !isalnum((unsigned char)rel[a]))
		sbuf_adds(&sb, kname);
	for (size_t i = a; i < b; i++)
		sbuf_addc(&sb, isalnum((unsigned char)rel[i]) ? (char)tolower((unsigned char)rel[i]) : '-');
	snprintf(out, n, "%.63s", sb.s ? sb.s : kname);
	sbuf_release(&sb);
	for (size_t l = strlen(out); l && out[l - 1] == '-'; l--)
		out[l - 1] = 0;
}

int kc_env_files(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *ctr, json_t *skip,
		 struct berr **err)
{
	json_t *from = json_array();
	json_t *env = json_object_get(s, "environment");
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(s, "env_file"), i, f) {
		const char *path = jsonx_str(f, "path");
		if (!path)
			continue;
		struct stat st;
		if (stat(path, &st) < 0)
			continue; /* required: false and absent (the loader checked the others) */
		_cleanup_json_ json_t *vals = json_object();
		if (compose_dotenv_load(path, NULL, NULL, vals, err) < 0) {
			json_decref(from);
			return berr_wrap(err, "service %s: env_file", svc);
		}
		char name[80];
		env_cm_name(path, cv->o->project_dir, kname, name, sizeof(name));
		if (!name[0]) {
			json_decref(from);
			return berr_setc(err, BERR_INVALID, "service %s: env_file %s: no valid ConfigMap name", svc, path);
		}
		json_t *data = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(vals, k, v) {
			if (!json_is_string(v))
				continue;
			if (!kc_data_key(k)) {
				kc_warnf(cv->warnings, "service %s: env_file %s: %s is not a valid ConfigMap key: set through env", svc, path, k);
				continue;
			}
			json_object_set(data, k, v);
			/* env wins over envFrom: only a value that differs stays in env */
			json_t *cur = json_object_get(env, k);
			if (json_is_string(cur) && !strcmp(json_string_value(cur), json_string_value(v)))
				json_object_set_new(skip, k, json_true());
		}
		/* a later file's value wins in compose; in Kubernetes a later
		 * envFrom source wins too, so the order is kept */
		if (!json_object_get(cv->cm_names, name)) {
			/* Kompose's label: SERVICE-NAME (a label value holds 63) */
			char label[160];
			snprintf(label, sizeof(label), "%s-%s", kname, name);
			if (strlen(label) > 63)
				snprintf(label, sizeof(label), "%s", kname);
			json_t *cm = new_cm(cv, name, label);
			json_object_set_new(cm, "data", data);
			json_object_set_new(cv->cm_names, name, json_true());
			json_array_append_new(cv->configmaps, cm);
		} else {
			json_decref(data);
		}
		json_array_append_new(from, json_pack("{s:{s:s}}", "configMapRef", "name", name));
	}
	if (json_array_size(from))
		json_object_set_new(ctr, "envFrom", from);
	else
		json_decref(from);
	return 0;
}

void kc_claim_templates(struct conv *cv, const char *svc, json_t *s, json_t *pod, json_t *spec)
{
	json_t *vols = json_object_get(pod, "volumes"), *tmpls = json_array();
	json_t *services = json_object_get(cv->project, "services");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s, "volumes"), i, v) {
		const char *src = jsonx_str(v, "source");
		if (!src || strcmp(jsonx_str(v, "type") ? jsonx_str(v, "type") : "", "volume"))
			continue;
		/* shared with another service: one claim for all, as compose shares it */
		bool shared = false;
		const char *k;
		json_t *o;
		json_object_foreach(services, k, o) {
			if (!strcmp(k, svc))
				continue;
			size_t j;
			json_t *ov;
			json_array_foreach(json_object_get(o, "volumes"), j, ov) shared |= jsonx_str(ov, "source") && !strcmp(jsonx_str(ov, "source"), src);
		}
		if (shared) {
			kc_warnf(cv->warnings, "service %s: volume %s is shared with another service: one claim for every pod", svc, src);
			continue;
		}
		_cleanup_json_ json_t *quiet = json_array();
		_cleanup_free_ char *n = kc_name("volume", src, quiet, NULL);
		if (!n)
			continue;
		for (size_t p = 0; p < json_array_size(cv->pvcs); p++) {
			json_t *pvc = json_array_get(cv->pvcs, p);
			if (strcmp(jsonx_str(json_object_get(pvc, "metadata"), "name"), n))
				continue;
			json_t *meta = json_deep_copy(json_object_get(pvc, "metadata"));
			json_object_del(meta, "namespace");
			json_array_append_new(tmpls, json_pack("{s:o, s:O}", "metadata", meta, "spec", json_object_get(pvc, "spec")));
			json_array_remove(cv->pvcs, p);
			break;
		}
		for (size_t p = 0; p < json_array_size(vols); p++)
			if (!strcmp(jsonx_str(json_array_get(vols, p), "name"), n) &&
			    json_object_get(json_array_get(vols, p), "persistentVolumeClaim")) {
				json_array_remove(vols, p);
				break;
			}
	}
	if (vols && !json_array_size(vols))
		json_object_del(pod, "volumes");
	if (json_array_size(tmpls))
		json_object_set_new(spec, "volumeClaimTemplates", tmpls);
	else
		json_decref(tmpls);
}
