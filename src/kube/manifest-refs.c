/* Checks between objects: what a pod names (ConfigMaps, Secrets, their
 * keys, claims), what a Service names (named target ports), what two
 * Services both want (a host port), over the manifests and what the store
 * already holds. The kubelet would find most of these only when it starts
 * the pod (CreateContainerConfigError, a pod Pending on its claim); one
 * machine can tell before anything runs. */
#include "kube/manifest-int.h"
#include "kube/selector.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rctx {
	struct kube_manifests *m;
	json_t *index;     /* "ns/Kind/name" -> object (manifests over the store) */
	json_t *mine;      /* the same key -> true for the manifests' objects */
	json_t *hostports; /* "port/proto" -> {"ident", "where", "ns", "mine"} */
	char file[512];    /* the file of the object being checked */
	struct berr **err;
};

static const char *obj_ns(const json_t *o)
{
	const char *ns = json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
	return ns && *ns ? ns : "default";
}

static void index_add(struct rctx *r, json_t *o, bool mine)
{
	const char *kind = jsonx_str(o, "kind");
	const char *name = km_name(o);
	if (!kind || !*name)
		return;
	char key[600];
	snprintf(key, sizeof key, "%s/%s/%s", obj_ns(o), kind, name);
	if (!mine && json_object_get(r->mine, key))
		return;
	json_object_set(r->index, key, o);
	if (mine)
		json_object_set_new(r->mine, key, json_true());
}

static json_t *lookup(struct rctx *r, const char *ns, const char *kind, const char *name)
{
	char key[600];
	snprintf(key, sizeof key, "%s/%s/%s", ns, kind, name ? name : "");
	return json_object_get(r->index, key);
}

static void ctx_for(struct rctx *r, struct kctx *c, json_t *o, const char *where)
{
	memset(c, 0, sizeof(*c));
	c->m = r->m;
	c->obj = o;
	c->kind = jsonx_str(o, "kind");
	c->ns = obj_ns(o);
	c->err = r->err;
	size_t n = 0;
	for (const char *p = c->kind; p && *p && n + 1 < sizeof c->ident; p++)
		c->ident[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	snprintf(c->ident + n, sizeof c->ident - n, "/%.250s", km_name(o));
	/* where: "FILE:LINE" */
	snprintf(r->file, sizeof r->file, "%s", where ? where : "");
	char *colon = strrchr(r->file, ':');
	c->line = 0;
	if (colon) {
		c->line = atoi(colon + 1);
		*colon = 0;
	}
	c->file = *r->file ? r->file : NULL;
}

/* The pod spec and labels of an object that makes pods (NULL for others). */
static json_t *pod_spec_of(json_t *o, json_t **ret_labels)
{
	const char *kind = jsonx_str(o, "kind");
	json_t *spec = json_object_get(o, "spec");
	*ret_labels = NULL;
	if (!kind)
		return NULL;
	if (!strcmp(kind, "Pod")) {
		*ret_labels = json_object_get(json_object_get(o, "metadata"), "labels");
		return spec;
	}
	json_t *tmpl = NULL;
	if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") || !strcmp(kind, "StatefulSet") ||
	    !strcmp(kind, "DaemonSet") || !strcmp(kind, "Job"))
		tmpl = json_object_get(spec, "template");
	else if (!strcmp(kind, "CronJob"))
		tmpl = json_object_get(json_object_get(json_object_get(spec, "jobTemplate"), "spec"), "template");
	if (!tmpl)
		return NULL;
	*ret_labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
	return json_object_get(tmpl, "spec");
}

static bool has_key(json_t *obj, const char *field, const char *key)
{
	return key && json_object_get(json_object_get(obj, field), key) != NULL;
}

/* A Secret's keys: data (stringData is merged into it on load, but an
 * object from elsewhere may still have it) */
static bool secret_has(json_t *s, const char *key)
{
	return has_key(s, "data", key) || has_key(s, "stringData", key);
}

static int check_ref(struct rctx *r, struct kctx *c, const json_t *node, const json_t *parent, const char *what,
		     const char *kind, const char *name, const char *key, bool binary_too, bool optional)
{
	json_t *o = lookup(r, c->ns, kind, name);
	const char *lk = !strcmp(kind, "ConfigMap") ? "configmap" : "secret";
	if (!o) {
		if (optional)
			return 0;
		return kerr(c, node, parent, NULL, "%s: %s \"%s\" not found", what, lk, name);
	}
	if (!key)
		return 0;
	bool ok = !strcmp(kind, "ConfigMap") ? has_key(o, "data", key) || (binary_too && has_key(o, "binaryData", key))
					     : secret_has(o, key);
	if (!ok && !optional)
		return kerr(c, node, parent, NULL, "%s: %s \"%s\" has no key \"%s\"", what, lk, name, key);
	return 0;
}

static int check_items(struct rctx *r, struct kctx *c, json_t *src, const char *what, const char *kind,
		       const char *name, bool optional)
{
	json_t *items = json_object_get(src, "items");
	json_t *o = lookup(r, c->ns, kind, name);
	if (!o)
		return check_ref(r, c, src, NULL, what, kind, name, NULL, true, optional);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *key = jsonx_str(it, "key");
		if (check_ref(r, c, json_object_get(it, "key"), it, what, kind, name, key, true, optional) < 0)
			return -1;
	}
	return 0;
}

static int check_pod(struct rctx *r, struct kctx *c, json_t *ps)
{
	char what[400];
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *ctr;
		json_array_foreach(json_object_get(ps, lists[l]), i, ctr)
		{
			const char *cn = jsonx_str(ctr, "name");
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(ctr, "env"), j, e)
			{
				json_t *vf = json_object_get(e, "valueFrom");
				json_t *ref;
				const char *kind = NULL;
				if ((ref = json_object_get(vf, "configMapKeyRef")))
					kind = "ConfigMap";
				else if ((ref = json_object_get(vf, "secretKeyRef")))
					kind = "Secret";
				if (!kind)
					continue;
				snprintf(what, sizeof what, "%scontainer %s: env %s", l ? "" : "init ", cn,
					 jsonx_str(e, "name"));
				if (check_ref(r, c, ref, e, what, kind, jsonx_str(ref, "name"), jsonx_str(ref, "key"), false,
					      json_is_true(json_object_get(ref, "optional"))) < 0)
					return -1;
			}
			json_array_foreach(json_object_get(ctr, "envFrom"), j, e)
			{
				json_t *ref;
				const char *kind = "ConfigMap";
				if (!(ref = json_object_get(e, "configMapRef"))) {
					ref = json_object_get(e, "secretRef");
					kind = "Secret";
				}
				snprintf(what, sizeof what, "%scontainer %s: envFrom", l ? "" : "init ", cn);
				if (check_ref(r, c, ref, e, what, kind, jsonx_str(ref, "name"), NULL, false,
					      json_is_true(json_object_get(ref, "optional"))) < 0)
					return -1;
			}
		}
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(ps, "volumes"), i, v)
	{
		snprintf(what, sizeof what, "volume %s", jsonx_str(v, "name"));
		json_t *s;
		if ((s = json_object_get(v, "configMap"))) {
			if (check_items(r, c, s, what, "ConfigMap", jsonx_str(s, "name"),
					json_is_true(json_object_get(s, "optional"))) < 0)
				return -1;
		} else if ((s = json_object_get(v, "secret"))) {
			if (check_items(r, c, s, what, "Secret", jsonx_str(s, "secretName"),
					json_is_true(json_object_get(s, "optional"))) < 0)
				return -1;
		} else if ((s = json_object_get(v, "projected"))) {
			size_t j;
			json_t *src, *x;
			json_array_foreach(json_object_get(s, "sources"), j, src)
			{
				if ((x = json_object_get(src, "configMap")) &&
				    check_items(r, c, x, what, "ConfigMap", jsonx_str(x, "name"),
						json_is_true(json_object_get(x, "optional"))) < 0)
					return -1;
				if ((x = json_object_get(src, "secret")) &&
				    check_items(r, c, x, what, "Secret", jsonx_str(x, "name"),
						json_is_true(json_object_get(x, "optional"))) < 0)
					return -1;
			}
		} else if ((s = json_object_get(v, "persistentVolumeClaim"))) {
			const char *claim = jsonx_str(s, "claimName");
			if (!lookup(r, c->ns, "PersistentVolumeClaim", claim))
				return kerr(c, s, v, NULL,
					    "%s: persistentvolumeclaim \"%s\" not found (Kubernetes keeps the pod Pending "
					    "until it exists)",
					    what, claim);
		}
	}
	return 0;
}

/* Does any container of ps have a port of that name? */
static bool has_port_name(json_t *ps, const char *name)
{
	static const char *const lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i, j;
		json_t *ctr, *p;
		json_array_foreach(json_object_get(ps, lists[l]), i, ctr)
			json_array_foreach(json_object_get(ctr, "ports"), j, p)
		{
			const char *n = jsonx_str(p, "name");
			if (n && !strcmp(n, name))
				return true;
		}
	}
	return false;
}

static int check_service(struct rctx *r, struct kctx *c, json_t *svc)
{
	json_t *spec = json_object_get(svc, "spec");
	json_t *sel = json_object_get(spec, "selector");
	if (!json_object_size(sel))
		return 0;
	/* the pod templates of the namespace it selects */
	_cleanup_json_ json_t *pods = json_array();
	const char *k;
	json_t *o;
	size_t nslen = strlen(c->ns);
	json_object_foreach(r->index, k, o)
	{
		if (strncmp(k, c->ns, nslen) || k[nslen] != '/')
			continue;
		json_t *labels, *ps = pod_spec_of(o, &labels);
		if (ps && kube_map_match(sel, labels))
			json_array_append(pods, ps);
	}
	if (!json_array_size(pods)) {
		struct sbuf b = SBUF_INIT;
		json_t *v;
		json_object_foreach(sel, k, v) sbuf_addf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
		kwarn(c, sel, spec, "spec.selector", "selects no pod (%s): the Service has no endpoints", sbuf_str(&b));
		sbuf_release(&b);
		return 0;
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		json_t *tp = json_object_get(p, "targetPort");
		if (!json_is_string(tp))
			continue;
		bool found = false;
		size_t j;
		json_t *ps;
		json_array_foreach(pods, j, ps) if (has_port_name(ps, json_string_value(tp))) found = true;
		if (!found)
			return kerr(c, tp, p, NULL,
				    "port %lld: targetPort \"%s\" is not a port name of any container of the pods it selects",
				    (long long)json_integer_value(json_object_get(p, "port")), json_string_value(tp));
	}
	return 0;
}

/* nodePorts and LoadBalancer ports are host ports: one Service each */
static int host_ports(struct rctx *r, struct kctx *c, json_t *svc, const char *where, bool mine)
{
	json_t *spec = json_object_get(svc, "spec");
	const char *type = jsonx_str(spec, "type");
	if (!type || (strcmp(type, "NodePort") && strcmp(type, "LoadBalancer")))
		return 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		const char *proto = jsonx_str(p, "protocol") ? jsonx_str(p, "protocol") : "TCP";
		struct {
			json_int_t port;
			const char *what;
			json_t *node;
		} hp[2] = {{0, NULL, NULL}, {0, NULL, NULL}};
		if (!strcmp(type, "LoadBalancer"))
			hp[0].port = json_integer_value(json_object_get(p, "port")), hp[0].what = "LoadBalancer port",
			hp[0].node = json_object_get(p, "port");
		if (json_integer_value(json_object_get(p, "nodePort")))
			hp[1].port = json_integer_value(json_object_get(p, "nodePort")), hp[1].what = "nodePort",
			hp[1].node = json_object_get(p, "nodePort");
		for (int k = 0; k < 2; k++) {
			if (!hp[k].port)
				continue;
			char key[64];
			snprintf(key, sizeof key, "%lld/%s", (long long)hp[k].port, proto);
			json_t *prev = json_object_get(r->hostports, key);
			if (!prev) {
				json_object_set_new(r->hostports, key,
						    json_pack("{s:s, s:s, s:s, s:b}", "ident", c->ident, "where",
							      where ? where : "the store", "ns", c->ns, "mine", mine));
				continue;
			}
			if (!mine && !json_is_true(json_object_get(prev, "mine")))
				continue; /* both already in the store: not this play's doing */
			const char *pns = jsonx_str(prev, "ns");
			return kerr(c, hp[k].node, p, NULL,
				    "port %lld: host port %s (%s) is also taken by %s%s%s%s (%s): two Services cannot "
				    "publish one host port",
				    (long long)json_integer_value(json_object_get(p, "port")), key, hp[k].what,
				    jsonx_str(prev, "ident"), strcmp(pns, c->ns) ? " in namespace \"" : "",
				    strcmp(pns, c->ns) ? pns : "", strcmp(pns, c->ns) ? "\"" : "", jsonx_str(prev, "where"));
		}
	}
	return 0;
}

static int check_statefulset(struct rctx *r, struct kctx *c, json_t *sts)
{
	json_t *spec = json_object_get(sts, "spec");
	json_t *sn = json_object_get(spec, "serviceName");
	const char *name = json_string_value(sn);
	if (!name || !*name)
		return 0;
	json_t *svc = lookup(r, c->ns, "Service", name);
	if (!svc)
		kwarn(c, sn, spec, "spec.serviceName", "service \"%s\" not found: the pods get no DNS names of their own",
		      name);
	else if (strcmp(jsonx_str(json_object_get(svc, "spec"), "clusterIP") ? jsonx_str(json_object_get(svc, "spec"),
											    "clusterIP")
									       : "",
			"None"))
		kwarn(c, sn, spec, "spec.serviceName",
		      "service \"%s\" is not headless (clusterIP: None): the pods get no DNS names of their own", name);
	return 0;
}

int kube_manifests_check_refs(struct kube_manifests *m, json_t *existing_objects, struct berr **err)
{
	struct rctx r = {.m = m, .index = json_object(), .mine = json_object(), .hostports = json_object(), .err = err};
	int rc = -1;
	size_t i;
	json_t *o;
	json_array_foreach(m->objects, i, o) index_add(&r, o, true);
	/* the store's Services first hold their host ports */
	if (json_is_array(existing_objects)) {
		json_array_foreach(existing_objects, i, o) if (json_is_object(o)) index_add(&r, o, false);
	} else if (json_is_object(existing_objects)) {
		const char *k;
		json_object_foreach(existing_objects, k, o) if (json_is_object(o)) index_add(&r, o, false);
	}
	const char *k;
	json_object_foreach(r.index, k, o)
	{
		if (json_object_get(r.mine, k) || strcmp(jsonx_str(o, "kind") ? jsonx_str(o, "kind") : "", "Service"))
			continue;
		struct kctx c;
		ctx_for(&r, &c, o, NULL);
		if (host_ports(&r, &c, o, NULL, false) < 0)
			goto out;
	}
	json_array_foreach(m->objects, i, o)
	{
		struct kctx c;
		const char *where = kube_manifest_where(m, o);
		ctx_for(&r, &c, o, where);
		json_t *labels, *ps = pod_spec_of(o, &labels);
		if (ps && check_pod(&r, &c, ps) < 0)
			goto out;
		if (!strcmp(c.kind, "Service") && (check_service(&r, &c, o) < 0 || host_ports(&r, &c, o, where, true) < 0))
			goto out;
		if (!strcmp(c.kind, "StatefulSet") && check_statefulset(&r, &c, o) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(r.index);
	json_decref(r.mine);
	json_decref(r.hostports);
	return rc;
}
