/* The node agent's routes child (issue 15): host-gw pod networking. It
 * lists and watches the cluster's Nodes and keeps, on this host, a route
 * to every other Ready node's podCIDR through that node's InternalIP, with
 * no masquerade between the pods (net/hostgw.h). A node that goes
 * (deleted, NotReady, its podCIDR gone) loses its route. The watch ends
 * every ROUTES_RESYNC_S seconds and the list starts again: whatever
 * removed a route or a rule meanwhile is repaired then. */
#include "kube/node-int.h"
#include "net/hostgw.h"
#include "net/network.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUTES_RESYNC_S 30

struct routes {
	struct node *nd;
	char bridge[16];
	json_t *nodes;      /* name -> Node */
	char *applied;      /* the peers last programmed (text), NULL: none yet */
	char *failed;       /* the last error said, to say it once */
	char rv[64];
	bool gone;
	long long rules_at; /* the last rewrite of the rules (ms) */
};

static void rsay(const struct routes *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rsay(const struct routes *r, const char *fmt, ...)
{
	if (r->nd->o->quiet)
		return;
	char ts[40];
	node_now(ts, sizeof(ts), false);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s node %s: routes: ", ts, r->nd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *internal_ip(json_t *node)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "addresses"), i, a)
		if (!strcmp(jsonx_str(a, "type") ?: "", "InternalIP") && jsonx_str(a, "address") &&
		    !strchr(jsonx_str(a, "address"), ':'))
			return jsonx_str(a, "address");
	return NULL;
}

static bool ready(json_t *node)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c)
		if (!strcmp(jsonx_str(c, "type") ?: "", "Ready"))
			return !strcmp(jsonx_str(c, "status") ?: "", "True");
	return false;
}

/* Program the peers the Nodes give now (when they changed, and the rules
 * now and then). */
static void sync_routes(struct routes *r, bool force)
{
	size_t n = json_object_size(r->nodes), np = 0;
	struct net_hostgw_peer *p = calloc(n ? n : 1, sizeof(*p));
	struct sbuf text = SBUF_INIT;
	/* (json objects iterate in sorted order only by chance: sort the text by name) */
	const char **names = calloc(n ? n : 1, sizeof(*names));
	const char *key;
	json_t *v;
	size_t k = 0;
	json_object_foreach(r->nodes, key, v) names[k++] = key;
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < k; i++) {
		json_t *node = json_object_get(r->nodes, names[i]);
		const char *cidr = jsonx_str(json_object_get(node, "spec"), "podCIDR");
		const char *ip = internal_ip(node);
		if (!strcmp(names[i], r->nd->name) || !cidr || !*cidr || !ip || !ready(node))
			continue;
		p[np++] = (struct net_hostgw_peer){.name = names[i], .cidr = cidr, .ip = ip};
		sbuf_addf(&text, "%s %s %s\n", names[i], cidr, ip);
	}
	long long now = node_ms();
	bool changed = !r->applied || strcmp(r->applied, sbuf_str(&text));
	bool rules = changed || force || now - r->rules_at >= ROUTES_RESYNC_S * 1000;
	struct berr *e = NULL;
	if (net_hostgw_sync(r->bridge, r->nd->subnet, p, np, rules, &e) < 0) {
		if (!r->failed || strcmp(r->failed, e->msg))
			rsay(r, "%s", e->msg);
		free(r->failed);
		r->failed = strdup(e->msg);
		berr_free(e);
	} else if (r->failed) {
		free(r->failed);
		r->failed = NULL;
	}
	if (rules)
		r->rules_at = now;
	if (changed) {
		/* what came and went, one line each ("NAME CIDR IP") */
		const char *old = r->applied ? r->applied : "", *cur = sbuf_str(&text);
		for (int pass = 0; pass < 2; pass++) {
			const char *from = pass ? old : cur, *other = pass ? cur : old;
			for (const char *l = from; *l;) {
				const char *nl = strchr(l, '\n');
				size_t len = nl ? (size_t)(nl - l) : strlen(l);
				char line[600];
				snprintf(line, sizeof(line), "%.*s\n", (int)len, l);
				const char *hit = strstr(other, line);
				if (!(hit && (hit == other || hit[-1] == '\n'))) {
					char nm[256], c[64], ip[64];
					bool parsed = sscanf(line, "%255s %63s %63s", nm, c, ip) == 3;
					if (parsed && pass)
						rsay(r, "%s (node %s) no longer routed", c, nm);
					else if (parsed)
						rsay(r, "%s via %s (node %s)", c, ip, nm);
				}
				l += len + (nl ? 1 : 0);
			}
		}
		free(r->applied);
		r->applied = sbuf_detach(&text);
	}
	sbuf_release(&text);
	free(names);
	free(p);
}

static int watch_cb(void *ud, const char *type, json_t *obj, struct berr **err)
{
	struct routes *r = ud;
	if (!strcmp(type, "ERROR")) {
		if (json_integer_value(json_object_get(obj, "code")) == 410) {
			r->gone = true;
			return 1;
		}
		berr_setc(err, BERR_GENERIC, "watch error: %s", jsonx_str(obj, "message") ?: "?");
		return -1;
	}
	json_t *meta = json_object_get(obj, "metadata");
	const char *rv = jsonx_str(meta, "resourceVersion");
	if (rv)
		snprintf(r->rv, sizeof(r->rv), "%s", rv);
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	const char *name = jsonx_str(meta, "name");
	if (!name)
		return 0;
	if (!strcmp(type, "DELETED"))
		json_object_del(r->nodes, name);
	else
		json_object_set(r->nodes, name, obj);
	sync_routes(r, false);
	return 0;
}

void node_routes_main(struct node *nd, volatile int *stop)
{
	struct routes r = {.nd = nd, .nodes = json_object()};
	struct berr *e = NULL;
	struct net n = {0};
	if (net_load(nd->o->root, nd->network, &n, &e) < 0) {
		rsay(&r, "%s", e->msg);
		_exit(1);
	}
	snprintf(r.bridge, sizeof(r.bridge), "%s", n.bridge);
	net_release(&n);
	if (kube_client_open(&(struct kube_client_opts){.kubeconfig = nd->o->kubeconfig, .context = nd->o->context,
							.stop = stop},
			     &nd->kc, &e) < 0) {
		rsay(&r, "%s", e->msg);
		_exit(1);
	}
	bool failing = false;
	while (!*stop) {
		json_t *list = NULL;
		if (kube_get(nd->kc, "/api/v1/nodes", &list, &e) < 0) {
			if (!failing)
				rsay(&r, "listing nodes: %s", e ? e->msg : "error");
			failing = true;
			berr_freep(&e);
			sleep(1);
			continue;
		}
		if (failing)
			rsay(&r, "listing nodes works again");
		failing = false;
		json_object_clear(r.nodes);
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(list, "items"), i, it) {
			const char *name = jsonx_str(json_object_get(it, "metadata"), "name");
			if (name)
				json_object_set(r.nodes, name, it);
		}
		snprintf(r.rv, sizeof(r.rv), "%s", jsonx_str(json_object_get(list, "metadata"), "resourceVersion") ?: "0");
		json_decref(list);
		sync_routes(&r, false);
		r.gone = false;
		char path[160];
		snprintf(path, sizeof(path), "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
			 r.rv, ROUTES_RESYNC_S);
		if (kube_watch(nd->kc, path, watch_cb, &r, stop, &e) < 0) {
			rsay(&r, "watching nodes: %s", e ? e->msg : "error");
			berr_freep(&e);
			sleep(1);
		}
	}
	json_decref(r.nodes);
	free(r.applied);
	free(r.failed);
	_exit(0);
}
