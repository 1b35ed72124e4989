/* kube convert: a service's volumes. Named volumes become
 * PersistentVolumeClaims, anonymous ones and tmpfs emptyDir, bind mounts
 * hostPath (with a warning), shm_size a memory emptyDir at /dev/shm. */
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

int kc_volumes(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *ctr, json_t *pod,
	       struct berr **err)
{
	json_t *mounts = json_array(), *vols = json_array();
	size_t i;
	json_t *v;
	int anon = 0;
	json_array_foreach(json_object_get(s, "volumes"), i, v) {
		const char *type = jsonx_str(v, "type"), *src = jsonx_str(v, "source"), *dst = jsonx_str(v, "target");
		if (!type || !dst)
			continue;
		char vname[128];
		json_t *vol = NULL;
		if (!strcmp(type, "volume") && src && *src) {
			/* a volume shared by several services: its rename is
			 * told once, with its claim */
			_cleanup_json_ json_t *quiet = json_array();
			_cleanup_free_ char *n = kc_name("volume", src, quiet, err);
			if (!n) {
				json_decref(mounts);
				json_decref(vols);
				return berr_wrap(err, "service %s", svc);
			}
			snprintf(vname, sizeof(vname), "%s", n);
			vol = json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim", "claimName", vname);
			if (!json_object_get(cv->pvc_names, vname)) {
				json_object_set_new(cv->pvc_names, vname, json_true());
				json_array_extend(cv->warnings, quiet);
				json_t *labels = json_object_get(json_object_get(json_object_get(cv->project, "volumes"), src), "labels");
				const char *size = jsonx_str(labels, "kompose.volume.size");
				const char *sc = jsonx_str(labels, "kompose.volume.storage-class-name");
				json_t *pvc = json_pack("{s:s, s:s, s:o, s:{s:[s], s:{s:{s:s}}}}", "apiVersion", "v1", "kind",
							"PersistentVolumeClaim", "metadata", kc_meta(cv, vname, vname), "spec",
							"accessModes", "ReadWriteOnce", "resources", "requests", "storage",
							size ? size : cv->o->pvc_size);
				if (sc)
					json_object_set_new(json_object_get(pvc, "spec"), "storageClassName", json_string(sc));
				json_array_append_new(cv->pvcs, pvc);
			}
		} else if (!strcmp(type, "volume") || !strcmp(type, "tmpfs")) {
			snprintf(vname, sizeof(vname), "%s-%s%d", kname, !strcmp(type, "tmpfs") ? "tmp" : "claim", anon++);
			vol = json_pack("{s:s, s:{}}", "name", vname, "emptyDir");
			if (!strcmp(type, "tmpfs"))
				json_object_set_new(json_object_get(vol, "emptyDir"), "medium", json_string("Memory"));
		} else if (!strcmp(type, "bind") && src) {
			snprintf(vname, sizeof(vname), "%s-hostpath%d", kname, anon++);
			vol = json_pack("{s:s, s:{s:s}}", "name", vname, "hostPath", "path", src);
			kc_warnf(cv->warnings, "service %s: volume %s:%s is a bind mount: written as hostPath, which only works where that path exists on the node", svc, src, dst);
		} else {
			kc_warnf(cv->warnings, "service %s: volume of type %s at %s: not mapped", svc, type, dst);
			continue;
		}
		json_array_append_new(vols, vol);
		json_t *m = json_pack("{s:s, s:s}", "mountPath", dst, "name", vname);
		if (json_is_true(json_object_get(v, "read_only")))
			json_object_set_new(m, "readOnly", json_true());
		json_array_append_new(mounts, m);
	}
	/* service-level tmpfs: and shm_size */
	json_array_foreach(json_object_get(s, "tmpfs"), i, v) {
		if (!json_is_string(v))
			continue;
		char vname[128];
		snprintf(vname, sizeof(vname), "%s-tmp%d", kname, anon++);
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
}

