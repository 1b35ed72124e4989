/* Kubernetes Services on berth's networks (see svc.h): validation and
 * normalization of the Service list, ClusterIP and nodePort allocation,
 * the iptables rules (kube-proxy's iptables mode, flattened into berth's
 * chains so that the owner-comment scheme of nat.c removes and sweeps
 * them), host-port conflict checks, the service range on the bridge, the
 * DNS records and the sync that ties them together. */
#include "net/svc.h"
#include "net/dnsproc.h"
#include "net/nat.h"
#include "net/netlink.h"
#include "net/network-int.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static uint64_t fnv64(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* RFC 1123 label (DNS-1123: [a-z0-9]([-a-z0-9]*[a-z0-9])?); alpha_first:
 * DNS-1035 (a letter first), as Service names must be. */
static bool dns_label_ok(const char *s, size_t max, bool alpha_first)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[n - 1] == '-' || s[0] == '-')
		return false;
	if (alpha_first && !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int proto_index(const char *p)
{
	return !strcmp(p, "UDP") ? 1 : 0;
}

void svc_ports_set(struct svc_ports *p, int proto, unsigned port)
{
	if (port < 65536)
		p->bits[proto & 1][port / 8] |= (unsigned char)(1u << (port % 8));
}

bool svc_ports_get(const struct svc_ports *p, int proto, unsigned port)
{
	return port < 65536 && (p->bits[proto & 1][port / 8] >> (port % 8)) & 1;
}

/* ---- normalization ---- */

static int addr_cmp_str(const char *a, const char *b)
{
	struct in_addr x, y;
	if (inet_pton(AF_INET, a, &x) != 1 || inet_pton(AF_INET, b, &y) != 1)
		return strcmp(a, b);
	uint32_t u = ntohl(x.s_addr), v = ntohl(y.s_addr);
	return u < v ? -1 : u > v;
}

static int ep_cmp(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return addr_cmp_str(jsonx_str(*x, "ip") ?: "", jsonx_str(*y, "ip") ?: "");
}

static int svc_cmp(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	int c = strcmp(jsonx_str(*x, "namespace") ?: "", jsonx_str(*y, "namespace") ?: "");
	return c ? c : strcmp(jsonx_str(*x, "name") ?: "", jsonx_str(*y, "name") ?: "");
}

/* Sort the array arr in place with cmp. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = malloc(n * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* An integer member in [lo, hi] (absent: dflt). -1 when out of range or not an integer. */
static int int_member(json_t *o, const char *key, long long lo, long long hi, long long dflt, long long *ret)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*ret = dflt;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*ret = json_integer_value(v);
	return 0;
}

static int bool_member(json_t *o, const char *key, bool dflt, bool *ret)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*ret = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return -1;
	*ret = json_is_true(v);
	return 0;
}

static int norm_ports(json_t *s, const char *id, const char *type, json_t *out, struct berr **err)
{
	json_t *ports = json_object_get(s, "ports");
	if (ports && !json_is_array(ports) && !json_is_null(ports))
		return berr_setc(err, BERR_INVALID, "service %s: ports: not an array", id);
	if (json_array_size(ports) > NET_SVC_PORTS_MAX)
		return berr_setc(err, BERR_INVALID, "service %s: %zu ports (at most %d)", id, json_array_size(ports),
				 NET_SVC_PORTS_MAX);
	bool lb = !strcmp(type, "LoadBalancer"), np = lb || !strcmp(type, "NodePort");
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) {
		if (!json_is_object(p))
			return berr_setc(err, BERR_INVALID, "service %s: ports[%zu]: not an object", id, i);
		const char *name = str_or(p, "name", "");
		const char *proto = str_or(p, "protocol", "TCP");
		long long port, nodeport;
		bool lbport;
		if (*name && !dns_label_ok(name, 63, false))
			return berr_setc(err, BERR_INVALID,
					 "service %s: ports[%zu].name \"%s\": must be a lowercase DNS label", id, i, name);
		if (!strcmp(proto, "SCTP"))
			return berr_setc(err, BERR_INVALID, "service %s: ports[%zu].protocol SCTP is not supported", id, i);
		if (strcmp(proto, "TCP") && strcmp(proto, "UDP"))
			return berr_setc(err, BERR_INVALID,
					 "service %s: ports[%zu].protocol \"%s\": must be TCP or UDP", id, i, proto);
		if (!json_object_get(p, "port") || int_member(p, "port", 1, 65535, 0, &port) < 0)
			return berr_setc(err, BERR_INVALID, "service %s: ports[%zu].port: must be a number 1-65535", id, i);
		if (int_member(p, "nodePort", 0, 65535, 0, &nodeport) < 0 ||
		    (nodeport && (nodeport < NET_SVC_NODEPORT_MIN || nodeport > NET_SVC_NODEPORT_MAX)))
			return berr_setc(err, BERR_INVALID,
					 "service %s: ports[%zu].nodePort: must be in the range %d-%d", id, i,
					 NET_SVC_NODEPORT_MIN, NET_SVC_NODEPORT_MAX);
		if (!np)
			nodeport = 0; /* left over from an earlier type: the API server clears it too */
		if (bool_member(p, "lbPort", lb, &lbport) < 0)
			return berr_setc(err, BERR_INVALID, "service %s: ports[%zu].lbPort: not a boolean", id, i);
		size_t k;
		json_t *q;
		json_array_foreach(out, k, q) {
			if (*name && !strcmp(jsonx_str(q, "name"), name))
				return berr_setc(err, BERR_INVALID, "service %s: ports[%zu].name \"%s\": used twice", id, i,
						 name);
			if (json_integer_value(json_object_get(q, "port")) == port && !strcmp(jsonx_str(q, "protocol"), proto))
				return berr_setc(err, BERR_INVALID, "service %s: ports[%zu]: %lld/%s is listed twice", id, i,
						 port, proto);
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I, s:b}", "name", name, "protocol", proto, "port",
						     (json_int_t)port, "nodePort", (json_int_t)nodeport, "lbPort",
						     lb && lbport));
	}
	return 0;
}

static int norm_endpoints(json_t *s, const char *id, json_t *ports, const struct ipam_cidr *subnet, json_t *out,
			  struct berr **err)
{
	json_t *eps = json_object_get(s, "endpoints");
	if (eps && !json_is_array(eps) && !json_is_null(eps))
		return berr_setc(err, BERR_INVALID, "service %s: endpoints: not an array", id);
	if (json_array_size(eps) > NET_SVC_EPS_MAX)
		return berr_setc(err, BERR_INVALID, "service %s: %zu endpoints (at most %d)", id, json_array_size(eps),
				 NET_SVC_EPS_MAX);
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e) {
		if (!json_is_object(e))
			return berr_setc(err, BERR_INVALID, "service %s: endpoints[%zu]: not an object", id, i);
		const char *ip = jsonx_str(e, "ip");
		struct ipam_addr a;
		if (!ip || ipam_addr_parse(ip, &a, NULL) < 0 || a.family != AF_INET)
			return berr_setc(err, BERR_INVALID, "service %s: endpoints[%zu].ip \"%s\": not an IPv4 address", id,
					 i, ip ? ip : "");
		if (subnet && !ipam_cidr_contains(subnet, &a)) {
			char sb[IPAM_STRLEN];
			return berr_setc(err, BERR_INVALID,
					 "service %s: endpoints[%zu].ip %s is not on the network (subnet %s)", id, i, ip,
					 ipam_cidr_str(subnet, sb));
		}
		char ipc[IPAM_STRLEN];
		ipam_addr_str(&a, ipc);
		bool ready;
		if (bool_member(e, "ready", true, &ready) < 0)
			return berr_setc(err, BERR_INVALID, "service %s: endpoints[%zu].ready: not a boolean", id, i);
		json_t *h = json_object_get(e, "hostname");
		if (h && !json_is_null(h) && (!json_is_string(h) || !dns_label_ok(json_string_value(h), 63, false)))
			return berr_setc(err, BERR_INVALID,
					 "service %s: endpoints[%zu].hostname: must be a lowercase DNS label", id, i);
		json_t *tp = json_object_get(e, "ports"), *tports = json_array();
		if (tp && !json_is_null(tp) && (!json_is_array(tp) || json_array_size(tp) != json_array_size(ports))) {
			json_decref(tports);
			return berr_setc(err, BERR_INVALID,
					 "service %s: endpoints[%zu].ports: must be an array of %zu target ports (one per service port)",
					 id, i, json_array_size(ports));
		}
		for (size_t k = 0; k < json_array_size(ports); k++) {
			json_t *v = tp && !json_is_null(tp) ? json_array_get(tp, k) : NULL;
			json_int_t t = v ? (json_is_integer(v) ? json_integer_value(v) : -1)
					 : json_integer_value(json_object_get(json_array_get(ports, k), "port"));
			if (v && json_is_null(v))
				t = 0;
			if (t < 0 || t > 65535) {
				json_decref(tports);
				return berr_setc(err, BERR_INVALID,
						 "service %s: endpoints[%zu].ports[%zu]: must be a port number (0: not served)", id,
						 i, k);
			}
			json_array_append_new(tports, json_integer(t));
		}
		size_t k;
		json_t *o;
		json_array_foreach(out, k, o) {
			if (!strcmp(jsonx_str(o, "ip"), ipc)) {
				json_decref(tports);
				return berr_setc(err, BERR_INVALID, "service %s: endpoints[%zu].ip %s is listed twice", id, i,
						 ipc);
			}
		}
		json_array_append_new(out, json_pack("{s:s, s:b, s:O, s:o}", "ip", ipc, "ready", ready, "hostname",
						     h && json_is_string(h) ? h : json_null(), "ports", tports));
	}
	sort_array(out, ep_cmp);
	return 0;
}

int svc_normalize(json_t *services, const struct ipam_cidr *subnet, json_t **ret, struct berr **err)
{
	if (!json_is_array(services))
		return berr_setc(err, BERR_INVALID, "services: not a JSON array");
	if (json_array_size(services) > NET_SVC_MAX)
		return berr_setc(err, BERR_INVALID, "%zu services (at most %d per network)", json_array_size(services),
				 NET_SVC_MAX);
	_cleanup_json_ json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		if (!json_is_object(s))
			return berr_setc(err, BERR_INVALID, "services[%zu]: not an object", i);
		const char *name = str_or(s, "name", ""), *ns = str_or(s, "namespace", "default");
		if (!dns_label_ok(name, 63, true))
			return berr_setc(err, BERR_INVALID,
					 "services[%zu]: name \"%s\": a Service name must be a DNS-1035 label (lowercase letters, digits, '-', a letter first, at most 63)",
					 i, name);
		if (!dns_label_ok(ns, 63, false))
			return berr_setc(err, BERR_INVALID,
					 "service %s: namespace \"%s\": must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
					 name, ns);
		char id[160];
		snprintf(id, sizeof(id), "%s/%s", ns, name);
		const char *type = str_or(s, "type", "ClusterIP");
		if (!strcmp(type, "ExternalName"))
			return berr_setc(err, BERR_INVALID, "service %s: type ExternalName is not supported", id);
		if (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") && strcmp(type, "LoadBalancer"))
			return berr_setc(err, BERR_INVALID,
					 "service %s: type \"%s\": must be ClusterIP, NodePort or LoadBalancer", id, type);
		json_t *cipv = json_object_get(s, "clusterIP");
		if (cipv && !json_is_string(cipv) && !json_is_null(cipv))
			return berr_setc(err, BERR_INVALID, "service %s: clusterIP: not a string", id);
		const char *cip = json_is_string(cipv) ? json_string_value(cipv) : "";
		char cipc[IPAM_STRLEN] = "";
		if (!strcmp(cip, "None")) {
			if (strcmp(type, "ClusterIP"))
				return berr_setc(err, BERR_INVALID,
						 "service %s: clusterIP None (headless) may not be used when type is %s", id, type);
			snprintf(cipc, sizeof(cipc), "None");
		} else if (*cip) {
			struct ipam_addr a;
			if (ipam_addr_parse(cip, &a, NULL) < 0 || a.family != AF_INET)
				return berr_setc(err, BERR_INVALID,
						 "service %s: clusterIP \"%s\": must be an IPv4 address, \"None\" or empty", id,
						 cip);
			ipam_addr_str(&a, cipc);
		}
		const char *aff = str_or(s, "sessionAffinity", "None");
		if (strcmp(aff, "None") && strcmp(aff, "ClientIP"))
			return berr_setc(err, BERR_INVALID, "service %s: sessionAffinity \"%s\": must be None or ClientIP", id,
					 aff);
		long long timeout = NET_SVC_AFFINITY_DEFAULT;
		json_t *cfg = json_object_get(json_object_get(s, "sessionAffinityConfig"), "clientIP");
		if (cfg && int_member(cfg, "timeoutSeconds", 1, 86400, NET_SVC_AFFINITY_DEFAULT, &timeout) < 0)
			return berr_setc(err, BERR_INVALID,
					 "service %s: sessionAffinityConfig.clientIP.timeoutSeconds: must be 1-86400", id);
		bool pnr;
		if (bool_member(s, "publishNotReadyAddresses", false, &pnr) < 0)
			return berr_setc(err, BERR_INVALID, "service %s: publishNotReadyAddresses: not a boolean", id);
		size_t k;
		json_t *o;
		json_array_foreach(out, k, o)
			if (!strcmp(jsonx_str(o, "name"), name) && !strcmp(jsonx_str(o, "namespace"), ns))
				return berr_setc(err, BERR_INVALID, "service %s: listed twice", id);
		_cleanup_json_ json_t *ports = json_array(), *eps = json_array();
		if (norm_ports(s, id, type, ports, err) < 0)
			return -1;
		if (!json_array_size(ports) && strcmp(cipc, "None"))
			return berr_setc(err, BERR_INVALID, "service %s: ports: a Service needs at least one port", id);
		if (norm_endpoints(s, id, ports, subnet, eps, err) < 0)
			return -1;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:O, s:O}", "namespace", ns, "name",
						     name, "type", type, "clusterIP", cipc, "sessionAffinity", aff,
						     "affinityTimeout", (json_int_t)(strcmp(aff, "ClientIP") ? 0 : timeout),
						     "publishNotReady", pnr, "ports", ports, "endpoints", eps));
	}
	sort_array(out, svc_cmp);
	*ret = steal_pointer(&out);
	return 0;
}

/* ---- allocation ---- */

static bool headless(json_t *s)
{
	return !strcmp(jsonx_str(s, "clusterIP") ?: "", "None");
}

static bool needs_nodeport(json_t *s)
{
	const char *t = jsonx_str(s, "type") ?: "";
	return !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
}

static json_t *find_svc(json_t *list, const char *ns, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
		if (!strcmp(jsonx_str(s, "namespace") ?: "", ns) && !strcmp(jsonx_str(s, "name") ?: "", name))
			return s;
	return NULL;
}

/* The same port entry in the previous version of a service: by name, or
 * (unnamed) by port and protocol. */
static json_t *find_port(json_t *s, json_t *p)
{
	const char *name = jsonx_str(p, "name") ?: "";
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(s, "ports"), i, q) {
		const char *qn = jsonx_str(q, "name") ?: "";
		if (*name ? !strcmp(qn, name)
			  : !*qn && json_integer_value(json_object_get(q, "port")) == json_integer_value(json_object_get(p, "port")) &&
				    !strcmp(jsonx_str(q, "protocol") ?: "", jsonx_str(p, "protocol") ?: ""))
			return q;
	}
	return NULL;
}

static uint32_t addr_u32(const struct ipam_addr *a)
{
	return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

static void u32_str(uint32_t v, char out[IPAM_STRLEN])
{
	snprintf(out, IPAM_STRLEN, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

/* ClusterIPs: network + 2 .. broadcast - 1 (network + 1 kept back, as
 * Kubernetes keeps the first address of its range for the API server). */
static int range_bounds(const struct ipam_cidr *range, uint32_t *first, uint32_t *count, struct berr **err)
{
	if (range->addr.family != AF_INET || range->prefix > 29 || range->prefix < 16)
		return berr_set(err, 0, "internal error: bad service range");
	struct ipam_cidr net = ipam_cidr_network(range);
	uint32_t base = addr_u32(&net.addr), size = 1u << (32 - range->prefix);
	*first = base + 2;
	*count = size - 3;
	return 0;
}

int svc_check_given(json_t *norm, const struct ipam_cidr *range, struct berr **err)
{
	char rs[IPAM_STRLEN];
	ipam_cidr_str(range, rs);
	struct ipam_cidr net = ipam_cidr_network(range);
	uint32_t base = addr_u32(&net.addr), last = base + (uint32_t)((1ull << (32 - range->prefix)) - 1);
	size_t i, j;
	json_t *s;
	json_array_foreach(norm, i, s) {
		const char *cip = jsonx_str(s, "clusterIP") ?: "";
		const char *ns = jsonx_str(s, "namespace"), *name = jsonx_str(s, "name");
		if (!strcmp(cip, "None"))
			continue;
		struct ipam_addr a;
		if (!*cip || ipam_addr_parse(cip, &a, NULL) < 0 || a.family != AF_INET || !ipam_cidr_contains(range, &a) ||
		    addr_u32(&a) == base || addr_u32(&a) == last)
			return berr_setc(err, BERR_INVALID, "service %s/%s: clusterIP \"%s\" is not an address of the service range %s",
					 ns, name, cip, rs);
		for (j = 0; j < i; j++) {
			json_t *o = json_array_get(norm, j);
			if (!strcmp(jsonx_str(o, "clusterIP") ?: "", cip))
				return berr_setc(err, BERR_CONFLICT,
						 "service %s/%s: clusterIP %s is already allocated to service %s/%s", ns, name,
						 cip, jsonx_str(o, "namespace"), jsonx_str(o, "name"));
		}
	}
	return 0;
}

int svc_allocate(json_t *norm, const struct ipam_cidr *range, json_t *prev, const struct svc_ports *taken,
		 bool *ret_fresh, struct berr **err)
{
	uint32_t first = 0, count = 0;
	if (range_bounds(range, &first, &count, err) < 0)
		return -1;
	char rs[IPAM_STRLEN];
	ipam_cidr_str(range, rs);
	_cleanup_free_ json_t **owner = calloc(count, sizeof(*owner));
	if (!owner)
		return berr_set(err, ENOMEM, "allocating ClusterIPs");
	bool fresh = false;
	size_t i;
	json_t *s;
	/* requested addresses first, then the ones the services had, then new ones */
	for (int pass = 0; pass < 3; pass++) {
		json_array_foreach(norm, i, s) {
			const char *cip = jsonx_str(s, "clusterIP") ?: "";
			const char *ns = jsonx_str(s, "namespace"), *name = jsonx_str(s, "name");
			if (!strcmp(cip, "None") || (pass == 0) != (*cip != 0))
				continue;
			uint32_t idx = UINT32_MAX;
			if (pass == 0) {
				struct ipam_addr a;
				ipam_addr_parse(cip, &a, NULL);
				uint32_t v = addr_u32(&a);
				if (!ipam_cidr_contains(range, &a) || v < first || v - first >= count)
					return berr_setc(err, BERR_INVALID,
							 "service %s/%s: clusterIP %s is not in the service range %s of this network (its first two and its last address are reserved)",
							 ns, name, cip, rs);
				idx = v - first;
				if (owner[idx])
					return berr_setc(err, BERR_CONFLICT,
							 "service %s/%s: clusterIP %s is already allocated to service %s/%s", ns,
							 name, cip, jsonx_str(owner[idx], "namespace"), jsonx_str(owner[idx], "name"));
			} else if (pass == 1) {
				json_t *ps = prev ? find_svc(prev, ns, name) : NULL;
				struct ipam_addr a;
				const char *pc = jsonx_str(ps, "clusterIP");
				if (!pc || ipam_addr_parse(pc, &a, NULL) < 0 || a.family != AF_INET ||
				    !ipam_cidr_contains(range, &a) || addr_u32(&a) < first || addr_u32(&a) - first >= count ||
				    owner[addr_u32(&a) - first])
					continue;
				idx = addr_u32(&a) - first;
			} else {
				char key[160];
				snprintf(key, sizeof(key), "%s/%s", ns, name);
				uint32_t start = (uint32_t)(fnv64(key) % count);
				for (uint32_t k = 0; k < count && idx == UINT32_MAX; k++)
					if (!owner[(start + k) % count])
						idx = (start + k) % count;
				if (idx == UINT32_MAX)
					return berr_setc(err, BERR_CONFLICT, "service %s/%s: no free ClusterIP left in the service range %s",
							 ns, name, rs);
			}
			owner[idx] = s;
			char ipb[IPAM_STRLEN];
			u32_str(first + idx, ipb);
			json_object_set_new(s, "clusterIP", json_string(ipb));
		}
	}
	/* nodePorts: the requested ones and every LoadBalancer port are taken
	 * first, then the previous allocations, then fresh ones */
	struct svc_ports *mine = calloc(1, sizeof(*mine));
	if (!mine)
		return berr_set(err, ENOMEM, "allocating node ports");
	json_array_foreach(norm, i, s) {
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(s, "ports"), k, p) {
			int pr = proto_index(jsonx_str(p, "protocol"));
			json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
			if (needs_nodeport(s) && np)
				svc_ports_set(mine, pr, (unsigned)np);
			if (json_is_true(json_object_get(p, "lbPort")))
				svc_ports_set(mine, pr, (unsigned)json_integer_value(json_object_get(p, "port")));
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(norm, i, s) {
			if (!needs_nodeport(s))
				continue;
			const char *ns = jsonx_str(s, "namespace"), *name = jsonx_str(s, "name");
			json_t *ps = prev ? find_svc(prev, ns, name) : NULL;
			size_t k;
			json_t *p;
			json_array_foreach(json_object_get(s, "ports"), k, p) {
				if (json_integer_value(json_object_get(p, "nodePort")))
					continue;
				int pr = proto_index(jsonx_str(p, "protocol"));
				unsigned got = 0;
				if (pass == 0) {
					json_t *pp = ps && needs_nodeport(ps) ? find_port(ps, p) : NULL;
					unsigned v = (unsigned)json_integer_value(json_object_get(pp, "nodePort"));
					if (v >= NET_SVC_NODEPORT_MIN && v <= NET_SVC_NODEPORT_MAX && !svc_ports_get(mine, pr, v))
						got = v;
				} else if (!taken) {
					fresh = true;
					continue;
				} else {
					char key[200];
					snprintf(key, sizeof(key), "%s/%s/%s/%" JSON_INTEGER_FORMAT "/%s", ns, name,
						 jsonx_str(p, "name"), json_integer_value(json_object_get(p, "port")),
						 jsonx_str(p, "protocol"));
					unsigned span = NET_SVC_NODEPORT_MAX - NET_SVC_NODEPORT_MIN + 1;
					unsigned start = (unsigned)(fnv64(key) % span);
					for (unsigned t = 0; t < span && !got; t++) {
						unsigned v = NET_SVC_NODEPORT_MIN + (start + t) % span;
						if (!svc_ports_get(mine, pr, v) && !svc_ports_get(taken, pr, v))
							got = v;
					}
					if (!got) {
						free(mine);
						return berr_setc(err, BERR_CONFLICT,
								 "service %s/%s: no free node port left in the range %d-%d", ns, name,
								 NET_SVC_NODEPORT_MIN, NET_SVC_NODEPORT_MAX);
					}
				}
				if (!got)
					continue;
				svc_ports_set(mine, pr, got);
				json_object_set_new(p, "nodePort", json_integer(got));
			}
		}
	}
	free(mine);
	if (ret_fresh)
		*ret_fresh = fresh;
	return 0;
}

/* Calls fn for every host port of norm: nodePorts and LoadBalancer ports. */
typedef int (*hostport_fn)(json_t *s, json_t *p, const char *proto, unsigned port, void *arg, struct berr **err);
static int each_hostport(json_t *norm, hostport_fn fn, void *arg, struct berr **err)
{
	size_t i;
	json_t *s;
	json_array_foreach(norm, i, s) {
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(s, "ports"), k, p) {
			const char *proto = jsonx_str(p, "protocol");
			unsigned np = (unsigned)json_integer_value(json_object_get(p, "nodePort"));
			if (needs_nodeport(s) && np && fn(s, p, proto, np, arg, err) < 0)
				return -1;
			if (json_is_true(json_object_get(p, "lbPort")) &&
			    fn(s, p, proto, (unsigned)json_integer_value(json_object_get(p, "port")), arg, err) < 0)
				return -1;
		}
	}
	return 0;
}

struct dupseen {
	json_t *who[2][65536];
};

static int dup_one(json_t *s, json_t *p, const char *proto, unsigned port, void *arg, struct berr **err)
{
	(void)p;
	struct dupseen *d = arg;
	int pr = proto_index(proto);
	json_t *o = d->who[pr][port];
	if (!o) {
		d->who[pr][port] = s;
		return 0;
	}
	if (o == s)
		return berr_setc(err, BERR_CONFLICT,
				 "Bind for 0.0.0.0:%u failed: port is already allocated (service %s/%s wants %u/%s twice)", port,
				 jsonx_str(s, "namespace"), jsonx_str(s, "name"), port, proto);
	return berr_setc(err, BERR_CONFLICT,
			 "Bind for 0.0.0.0:%u failed: port is already allocated (service %s/%s and service %s/%s both want %u/%s)",
			 port, jsonx_str(o, "namespace"), jsonx_str(o, "name"), jsonx_str(s, "namespace"),
			 jsonx_str(s, "name"), port, proto);
}

int svc_hostports_dups(json_t *norm, struct berr **err)
{
	struct dupseen *d = calloc(1, sizeof(*d));
	if (!d)
		return berr_set(err, ENOMEM, "checking host ports");
	int r = each_hostport(norm, dup_one, d, err);
	free(d);
	return r;
}

/* ---- rules ---- */

static void lower(char *out, const char *in, size_t n)
{
	size_t i = 0;
	for (; in[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = 0;
}

/* The ready endpoints of service s serving its port k, in address order. */
static size_t ready_eps(json_t *s, size_t k, json_t **out, size_t max)
{
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(s, "endpoints"), i, e) {
		if (!json_is_true(json_object_get(e, "ready")))
			continue;
		if (json_integer_value(json_array_get(json_object_get(e, "ports"), k)) <= 0)
			continue;
		if (n < max)
			out[n++] = e;
	}
	return n;
}

/* ClientIP affinity: one recent list per (service port, endpoint), shared
 * by the ClusterIP and the host ports, as kube-proxy's per-endpoint chains. */
static void recent_name(const struct svc_net *sn, json_t *s, size_t k, json_t *e, char out[40])
{
	char key[512];
	snprintf(key, sizeof(key), "%s|%s/%s|%zu|%s:%" JSON_INTEGER_FORMAT, sn->bridge, jsonx_str(s, "namespace"),
		 jsonx_str(s, "name"), k, jsonx_str(e, "ip"), json_integer_value(json_array_get(json_object_get(e, "ports"), k)));
	snprintf(out, 40, "berth-%016" PRIx64, fnv64(key));
}

/* DNAT to one of eps: affinity first (a client seen lately goes where it
 * went), then 1/n, 1/(n-1) ... 1 as kube-proxy's probability chain. */
static void balance(const struct svc_net *sn, FILE *f, const char *chain, const char *match, const char *extra,
		    json_t *s, size_t k, json_t **eps, size_t n)
{
	bool aff = !strcmp(jsonx_str(s, "sessionAffinity") ?: "", "ClientIP");
	json_int_t timeout = json_integer_value(json_object_get(s, "affinityTimeout"));
	for (int pass = aff ? 0 : 1; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			char rn[40], stat[96] = "", rec[128] = "";
			recent_name(sn, s, k, eps[i], rn);
			/* --mask and --rsource spelled out: iptables-nft cannot delete
			 * a recent rule added without them by the text iptables-save
			 * prints for it (which has them) */
			if (pass == 0)
				snprintf(rec, sizeof(rec),
					 "-m recent --name %s --update --seconds %" JSON_INTEGER_FORMAT
					 " --reap --mask 255.255.255.255 --rsource ",
					 rn, timeout);
			else if (aff)
				snprintf(rec, sizeof(rec), "-m recent --name %s --set --mask 255.255.255.255 --rsource ", rn);
			if (pass == 1 && i + 1 < n)
				snprintf(stat, sizeof(stat), "-m statistic --mode random --probability %.10f ", 1.0 / (double)(n - i));
			fprintf(f, "-A %s %s %s%s-m comment --comment \"%s\" %s-j DNAT --to-destination %s:%" JSON_INTEGER_FORMAT "\n",
				chain, match, stat, rec, sn->owner, extra, jsonx_str(eps[i], "ip"),
				json_integer_value(json_array_get(json_object_get(eps[i], "ports"), k)));
		}
	}
}

/* "Connection refused" at once. TCP: a reset, not kube-proxy's ICMP port
 * unreachable, which a pod's kernel drops when it arrives while connect()
 * still holds the socket (LockDroppedIcmps: the refusal then waits for the
 * SYN's retransmission, a second later). */
static const char *reject_with(const char *proto)
{
	return !strcmp(proto, "tcp") ? "tcp-reset" : "icmp-port-unreachable";
}

void svc_rules(const struct svc_net *sn, json_t *norm, FILE *nat, FILE *filter)
{
	bool any = false;
	json_t **eps = malloc(NET_SVC_EPS_MAX * sizeof(*eps));
	if (!eps)
		return;
	const char *own = sn->owner;
	size_t i;
	json_t *s;
	json_array_foreach(norm, i, s) {
		if (headless(s))
			continue;
		const char *cip = jsonx_str(s, "clusterIP");
		char extra[200];
		snprintf(extra, sizeof(extra), "-m comment --comment \"service %s/%s\" ", jsonx_str(s, "namespace"),
			 jsonx_str(s, "name"));
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(s, "ports"), k, p) {
			char pr[8], match[160];
			lower(pr, jsonx_str(p, "protocol"), sizeof(pr));
			json_int_t port = json_integer_value(json_object_get(p, "port"));
			size_t n = ready_eps(s, k, eps, NET_SVC_EPS_MAX);
			any = true;
			snprintf(match, sizeof(match), "-d %s/32 -p %s -m %s --dport %" JSON_INTEGER_FORMAT, cip, pr, pr, port);
			if (n)
				balance(sn, nat, "BERTH-SERVICES", match, "", s, k, eps, n);
			else
				fprintf(filter, "-A BERTH-SERVICES %s -m comment --comment \"%s\" -j REJECT --reject-with %s\n", match,
					own, reject_with(pr));
			json_int_t hps[2];
			int nh = 0;
			if (needs_nodeport(s) && json_integer_value(json_object_get(p, "nodePort")))
				hps[nh++] = json_integer_value(json_object_get(p, "nodePort"));
			if (json_is_true(json_object_get(p, "lbPort")))
				hps[nh++] = port;
			for (int h = 0; h < nh; h++) {
				snprintf(match, sizeof(match), "-p %s -m %s --dport %" JSON_INTEGER_FORMAT, pr, pr, hps[h]);
				if (n) {
					balance(sn, nat, "BERTH-DNAT", match, extra, s, k, eps, n);
					fprintf(filter,
						"-I BERTH-FORWARD 1 ! -i %s -o %s -p %s -m conntrack --ctstate DNAT ! --ctorigdst %s --ctorigdstport %" JSON_INTEGER_FORMAT
						" -m comment --comment \"%s\" -j ACCEPT\n",
						sn->bridge, sn->bridge, pr, sn->range, hps[h], own);
				} else {
					/* holds the port (containers' publish checks see it) while nothing is ready */
					fprintf(nat, "-A BERTH-DNAT %s -m comment --comment \"%s\" %s-j RETURN\n", match, own, extra);
					fprintf(filter,
						"-A BERTH-SERVICES -p %s -m addrtype --dst-type LOCAL -m %s --dport %" JSON_INTEGER_FORMAT
						" -m comment --comment \"%s\" -j REJECT --reject-with %s\n",
						pr, pr, hps[h], own, reject_with(pr));
				}
			}
		}
	}
	free(eps);
	if (!any)
		return;
	/* hairpin: a pod reaching itself or a neighbour through a Service */
	fprintf(nat, "-A BERTH-POSTROUTING -s %s -o %s -m conntrack --ctstate DNAT -m comment --comment \"%s\" -j MASQUERADE\n",
		sn->subnet, sn->bridge, own);
	/* host ports on 127.0.0.1 (route_localnet) */
	fprintf(nat, "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o %s -m comment --comment \"%s\" -j MASQUERADE\n", sn->bridge,
		own);
}

/* ---- DNS records ---- */

static void put_names(FILE *m, const char *prefix, json_t *s)
{
	const char *ns = jsonx_str(s, "namespace"), *name = jsonx_str(s, "name");
	fprintf(m, "%s%s.%s.svc.%s %s%s.%s.svc %s%s.%s %s%s", prefix, name, ns, NET_SVC_ZONE, prefix, name, ns, prefix,
		name, ns, prefix, name);
}

char *svc_records(json_t *norm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	if (json_array_size(norm))
		fprintf(m, "# berth Services (src/net/svc.c)\n@zone %s\n", NET_SVC_ZONE);
	size_t i;
	json_t *s;
	json_array_foreach(norm, i, s) {
		if (!headless(s)) {
			put_names(m, "", s);
			fprintf(m, " %s\n", jsonx_str(s, "clusterIP"));
			continue;
		}
		bool all = json_is_true(json_object_get(s, "publishNotReady"));
		size_t k, on_line = 0;
		json_t *e;
		json_array_foreach(json_object_get(s, "endpoints"), k, e) {
			if (!all && !json_is_true(json_object_get(e, "ready")))
				continue;
			if (on_line == 200) { /* dnsd takes at most 256 addresses a line */
				fputc('\n', m);
				on_line = 0;
			}
			if (!on_line)
				put_names(m, "", s);
			fprintf(m, " %s", jsonx_str(e, "ip"));
			on_line++;
		}
		if (on_line)
			fputc('\n', m);
		json_array_foreach(json_object_get(s, "endpoints"), k, e) {
			const char *h = jsonx_str(e, "hostname");
			if (!h || (!all && !json_is_true(json_object_get(e, "ready"))))
				continue;
			char pre[80];
			snprintf(pre, sizeof(pre), "%s.", h);
			put_names(m, pre, s);
			fprintf(m, " %s\n", jsonx_str(e, "ip"));
		}
	}
	fclose(m);
	return buf;
}

/* ---- the host: sockets, iptables, the range ---- */

/* Ports of the host's sockets: TCP listeners and bound UDP sockets. */
static void sockets_fill(struct svc_ports *p)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"};
	for (int f = 0; f < 4; f++) {
		FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512];
		if (!fgets(line, sizeof(line), fp)) {
			fclose(fp);
			continue;
		}
		while (fgets(line, sizeof(line), fp)) {
			unsigned port, st;
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port, &st) != 2)
				continue;
			if (f < 2 && st != 0x0A)
				continue;
			svc_ports_set(p, f >= 2, port);
		}
		fclose(fp);
	}
}

/* The address a host socket holds port on ("127.0.0.1:80"), for messages. */
static void socket_addr(int proto, unsigned port, char *out, size_t n)
{
	snprintf(out, n, "port %u", port);
	for (int f = proto ? 2 : 0; f < (proto ? 4 : 2); f++) {
		static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"};
		FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512], hex[40];
		while (fgets(line, sizeof(line), fp)) {
			unsigned p, st;
			if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", hex, &p, &st) != 3 || p != port ||
			    (!proto && st != 0x0A))
				continue;
			unsigned char a[16];
			size_t words = strlen(hex) / 8;
			for (size_t w = 0; w < words && w < 4; w++) {
				unsigned v = 0;
				sscanf(hex + 8 * w, "%8x", &v);
				memcpy(a + 4 * w, &v, 4); /* the kernel prints each word of the address in host order */
			}
			char as[INET6_ADDRSTRLEN] = "?";
			inet_ntop(words == 1 ? AF_INET : AF_INET6, a, as, sizeof(as));
			snprintf(out, n, words == 1 ? "%s:%u" : "[%s]:%u", as, port);
			fclose(fp);
			return;
		}
		fclose(fp);
	}
}

/* One rule of the BERTH-DNAT chain: protocol index, port, owner comment
 * and the "service NS/NAME" comment (or ""). false for other lines. */
static bool dnat_line(const char *l, size_t len, int *ret_proto, unsigned *ret_port, char owner[128], char svc[160])
{
	char line[2048];
	if (len >= sizeof(line) || len < 14 || memcmp(l, "-A BERTH-DNAT ", 14))
		return false;
	memcpy(line, l, len);
	line[len] = 0;
	const char *p = strstr(line, " -p "), *d = strstr(line, " --dport ");
	const char *c = strstr(line, "--comment \"berth:");
	if (!p || !d)
		return false;
	*ret_proto = !strncmp(p + 4, "udp", 3) ? 1 : 0;
	*ret_port = (unsigned)strtoul(d + 9, NULL, 10);
	owner[0] = svc[0] = 0;
	if (c)
		sscanf(c + 11, "%127[^\"]", owner);
	const char *sv = strstr(line, "--comment \"service ");
	if (sv)
		sscanf(sv + 19, "%159[^\"]", svc);
	return true;
}

struct held {
	struct svc_ports others, ours;
};

/* Host ports held by BERTH-DNAT rules: other owners' (containers of any
 * store, other networks' Services) and our own. */
static void held_fill(const char *save, const char *own, struct held *h)
{
	const char *s, *e;
	if (!nat_save_section(save, "nat", &s, &e))
		return;
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		int pr;
		unsigned port;
		char owner[128], svc[160];
		if (dnat_line(l, len, &pr, &port, owner, svc))
			svc_ports_set(strcmp(owner, own) ? &h->others : &h->ours, pr, port);
		l += len + 1;
	}
}

/* Who holds a host port (other than own), for the message. */
static void holder(const char *save, const char *own, int proto, unsigned port, char *out, size_t n)
{
	snprintf(out, n, "held by another berth rule");
	const char *s, *e;
	if (!nat_save_section(save, "nat", &s, &e))
		return;
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		int pr;
		unsigned p;
		char owner[128], svc[160];
		l += len + 1;
		if (!dnat_line(l - len - 1, len, &pr, &p, owner, svc) || pr != proto || p != port || !strcmp(owner, own))
			continue;
		/* owner: berth:BRIDGE:svc or berth:BRIDGE:CONTAINER-IP */
		char br[32] = "", what[96] = "";
		sscanf(owner, "berth:%31[^:]:%95s", br, what);
		if (*svc)
			snprintf(out, n, "held by service %s on bridge %s", svc, br);
		else
			snprintf(out, n, "published by a berth container (%s on bridge %s)", what, br);
		return;
	}
}

struct checkarg {
	const char *save, *own;
	struct held *h;
	struct svc_ports *sock;
};

static int conflict_one(json_t *s, json_t *p, const char *proto, unsigned port, void *arg, struct berr **err)
{
	(void)p;
	struct checkarg *c = arg;
	int pr = proto_index(proto);
	char why[256];
	if (svc_ports_get(&c->h->others, pr, port))
		holder(c->save, c->own, pr, port, why, sizeof(why));
	else if (!svc_ports_get(&c->h->ours, pr, port) && svc_ports_get(c->sock, pr, port)) {
		char a[80];
		socket_addr(pr, port, a, sizeof(a));
		snprintf(why, sizeof(why), "a socket of the host is bound to %s", a);
	} else
		return 0;
	return berr_setc(err, BERR_CONFLICT, "Bind for 0.0.0.0:%u failed: port is already allocated (service %s/%s: %s)",
			 port, jsonx_str(s, "namespace"), jsonx_str(s, "name"), why);
}

/* BERR_CONFLICT for a host port of norm that something else holds. */
static int host_conflicts(json_t *norm, const char *save, const char *own, struct held *h, struct svc_ports *sock,
			  struct berr **err)
{
	struct checkarg c = {save, own, h, sock};
	return each_hostport(norm, conflict_one, &c, err);
}

static void sysctl_set(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0) {
			/* read-only /proc/sys: it may be set already */
		}
		close(fd);
	}
}

struct syncarg {
	json_t *norm, *prev;
	struct svc_net sn;
	const struct ipam_cidr *range;
	bool given; /* the ClusterIPs and nodePorts are the API's (checked already), not berth's to allocate */
};

/* berth's chains and their hooks, where missing (never removed, like nat.c's). */
static void ensure_chains(const char *save, FILE *nat, FILE *filter)
{
	static const struct {
		const char *table, *decl, *hook_prefix, *hook_needle, *hook;
	} c[] = {
		{"nat", ":BERTH-SERVICES ", "-A PREROUTING ", "-j BERTH-SERVICES", "-A PREROUTING -j BERTH-SERVICES"},
		{"nat", NULL, "-A OUTPUT ", "-j BERTH-SERVICES", "-A OUTPUT -j BERTH-SERVICES"},
		{"nat", ":BERTH-DNAT ", "-A PREROUTING ", "-j BERTH-DNAT",
		 "-A PREROUTING -m addrtype --dst-type LOCAL -j BERTH-DNAT"},
		{"nat", NULL, "-A OUTPUT ", "-j BERTH-DNAT", "-A OUTPUT -m addrtype --dst-type LOCAL -j BERTH-DNAT"},
		{"nat", ":BERTH-POSTROUTING ", "-A POSTROUTING ", "-j BERTH-POSTROUTING", "-A POSTROUTING -j BERTH-POSTROUTING"},
		{"filter", ":BERTH-FORWARD ", "-A FORWARD ", "-j BERTH-FORWARD", "-I FORWARD 1 -j BERTH-FORWARD"},
		{"filter", ":BERTH-SERVICES ", "-A INPUT ", "-j BERTH-SERVICES",
		 "-I INPUT 1 -m conntrack --ctstate NEW -j BERTH-SERVICES"},
		{"filter", NULL, "-A OUTPUT ", "-j BERTH-SERVICES", "-I OUTPUT 1 -m conntrack --ctstate NEW -j BERTH-SERVICES"},
		/* inside BERTH-FORWARD, so the rejects come before its same-network ACCEPT */
		{"filter", NULL, "-A BERTH-FORWARD ", "-j BERTH-SERVICES",
		 "-I BERTH-FORWARD 1 -m conntrack --ctstate NEW -j BERTH-SERVICES"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		FILE *f = !strcmp(c[i].table, "nat") ? nat : filter;
		if (c[i].decl && !nat_save_has_line(save, c[i].table, c[i].decl, NULL))
			fprintf(f, "%s- [0:0]\n", c[i].decl);
		if (!nat_save_has_line(save, c[i].table, c[i].hook_prefix, c[i].hook_needle))
			fprintf(f, "%s\n", c[i].hook);
	}
}

static int sync_lines(const char *save, FILE *nat, FILE *filter, void *arg, struct berr **err)
{
	struct syncarg *a = arg;
	struct held *h = calloc(1, sizeof(*h));
	struct svc_ports *sock = calloc(1, sizeof(*sock)), *taken = calloc(1, sizeof(*taken));
	int r = -1;
	if (!h || !sock || !taken) {
		berr_set(err, ENOMEM, "services");
		goto out;
	}
	held_fill(save, a->sn.owner, h);
	sockets_fill(sock);
	for (size_t i = 0; i < sizeof(taken->bits); i++)
		((unsigned char *)taken->bits)[i] = ((unsigned char *)h->others.bits)[i] | ((unsigned char *)sock->bits)[i];
	if (json_array_size(a->norm) &&
	    ((!a->given && svc_allocate(a->norm, a->range, a->prev, taken, NULL, err) < 0) ||
	     svc_hostports_dups(a->norm, err) < 0 ||
	     host_conflicts(a->norm, save, a->sn.owner, h, sock, err) < 0))
		goto out;
	nat_save_del_owned(save, "nat", a->sn.owner, nat);
	nat_save_del_owned(save, "filter", a->sn.owner, filter);
	if (json_array_size(a->norm)) {
		ensure_chains(save, nat, filter);
		svc_rules(&a->sn, a->norm, nat, filter);
	}
	r = 0;
out:
	free(h);
	free(sock);
	free(taken);
	return r;
}

/* The network's own route metric: tells its range's route from any other. */
static uint32_t range_metric(const struct net *n)
{
	return (uint32_t)(fnv64(n->id) % 0x7ffffffeu) + 1;
}

/* Whether the range's route (out of lo, with the network's metric) is there. */
static bool range_routed(const struct ipam_cidr *range, uint32_t metric)
{
	FILE *f = fopen("/proc/net/route", "re");
	if (!f)
		return false;
	char line[512];
	bool hit = false;
	struct ipam_cidr net = ipam_cidr_network(range);
	uint32_t want;
	memcpy(&want, net.addr.b, 4);
	while (!hit && fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned dst, mask, m;
		if (sscanf(line, "%63s %x %*x %*x %*s %*s %u %x", ifn, &dst, &m, &mask) != 4)
			continue;
		hit = !strcmp(ifn, "lo") && dst == want && m == metric && __builtin_popcount(mask) == range->prefix;
	}
	fclose(f);
	return hit;
}

/* The network's service range, chosen (and its route added) when it has
 * none or lost it: under the host lock, clear of every host route and the
 * store's networks, preferring the recorded one.
 *
 * Why a route out of lo with the gateway as preferred source, and not an
 * address on the bridge: a range on-link on the bridge makes the host
 * answer a pod's packet to a ClusterIP that is not DNAT'd (no ready
 * endpoint, unknown port) with an ICMP redirect "the ClusterIP is on your
 * link": the pod then ARPs for it and loses the Service for minutes, and
 * the redirects eat the rate-limit tokens of the REJECTs. Out of lo, the
 * host's own connections still get a route (and the gateway as source,
 * which the endpoints reach), the pods' non-DNAT'd packets are refused or
 * dropped here, and the route goes by itself with the bridge's address. */
static int ensure_range(const char *root, struct net *n, int dfd, const char *given, struct ipam_cidr *ret,
			struct berr **err)
{
	const char *rec = jsonx_str(n->json, "ServiceRange");
	uint32_t metric = range_metric(n);
	struct ipam_cidr r;
	if (given) {
		/* the cluster's: taken as it is (the API allocates in it) */
		if (ipam_cidr_parse_network(given, &r, NULL) < 0 || r.addr.family != AF_INET || r.prefix < 8 ||
		    r.prefix > 29)
			return berr_setc(err, BERR_INVALID, "service range %s: not an IPv4 CIDR from /8 to /29", given);
		char gs[IPAM_STRLEN];
		ipam_cidr_str(&r, gs);
		if (range_routed(&r, metric) && rec && !strcmp(rec, gs)) {
			*ret = r;
			return 0;
		}
	} else if (rec && ipam_cidr_parse_network(rec, &r, NULL) == 0 && range_routed(&r, metric)) {
		*ret = r;
		return 0;
	}
	_cleanup_close_ int hlk = net_host_lock(err);
	if (hlk < 0)
		return -1;
	_cleanup_json_ json_t *all = NULL;
	if (given)
		goto route;
	all = net_load_all(dfd);
	struct ipam_cidr used[513];
	size_t nused = net_used_subnets(all, n->name, NULL, used, 512);
	ipam_cidr_parse_network(n->subnet, &used[nused++], NULL);
	bool have = rec && ipam_cidr_parse_network(rec, &r, NULL) == 0 && r.addr.family == AF_INET && r.prefix == 24;
	/* the recorded range again, unless something took it meanwhile (a
	 * route of another interface after a reboot, another network) */
	if (have && !range_routed(&r, metric))
		for (size_t i = 0; i < nused && have; i++)
			if (used[i].prefix > 0 && ipam_cidr_overlap(&r, &used[i]))
				have = false;
	if (!have) {
		struct ipam_pool pool;
		if (net_pools_for(false, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &r, err) < 0)
			return berr_wrap(err, "choosing a service range for network %s", n->name);
	}
route:;
	struct ipam_cidr net = ipam_cidr_network(&r);
	struct ipam_addr gw;
	if (ipam_addr_parse(n->gateway, &gw, err) < 0)
		return -1;
	struct nl nl;
	if (nl_open(&nl, err) < 0)
		return -1;
	int rc = range_routed(&net, metric) ? 0 : nl_route_add(&nl, AF_INET, net.addr.b, net.prefix, "lo", gw.b, metric, err);
	nl_close(&nl);
	if (rc < 0)
		return berr_wrap(err, "routing the service range of network %s", n->name);
	char rs[IPAM_STRLEN];
	ipam_cidr_str(&net, rs);
	if (!rec || strcmp(rec, rs)) {
		json_object_set_new(n->json, "ServiceRange", json_string(rs));
		if (net_write_record(dfd, n->json, err) < 0)
			return -1;
	}
	(void)root;
	*ret = net;
	return 0;
}

/* Fill clusterIP / nodePort of the caller's objects from the normalized ones. */
static void fill_out(json_t *services, json_t *norm)
{
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		json_t *o = find_svc(norm, str_or(s, "namespace", "default"), str_or(s, "name", ""));
		if (!o)
			continue;
		json_object_set_new(s, "clusterIP", json_string(jsonx_str(o, "clusterIP") ?: ""));
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(s, "ports"), k, p) {
			json_t *q = json_array_get(json_object_get(o, "ports"), k);
			if (q && json_is_object(p))
				json_object_set(p, "nodePort", json_object_get(q, "nodePort"));
		}
	}
}

static int load_net(const char *root, const char *netname, struct net *n, struct ipam_cidr *subnet, struct berr **err)
{
	if (net_load(root, netname, n, err) < 0)
		return -1;
	if (n->is_default) {
		net_release(n);
		return berr_setc(err, BERR_INVALID,
				 "network %s: Services need a user-defined network (berth network create), not the default one",
				 netname);
	}
	if (ipam_cidr_parse_network(n->subnet, subnet, err) < 0) {
		net_release(n);
		return -1;
	}
	return 0;
}

static json_t *load_state(const char *runroot, const char *id)
{
	char d[4200];
	net_run_dir(runroot, id, d, sizeof(d));
	_cleanup_close_ int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	json_t *j = jsonx_load_at(dfd, NET_SVC_STATE, 64u << 20, NULL);
	if (j && !json_is_array(json_object_get(j, "services"))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

bool net_svc_active(const char *runroot, const char *net_id)
{
	char p[4300];
	snprintf(p, sizeof(p), "%s/networks/%s/%s", runroot, net_id, NET_SVC_RECORDS);
	return access(p, F_OK) == 0;
}

/* Records and state after the rules changed (run lock held). */
static int write_after(const char *runroot, struct net *n, json_t *norm, const struct ipam_cidr *range,
		       struct berr **err)
{
	char d[4200], rec[4300];
	net_run_dir(runroot, n->id, d, sizeof(d));
	snprintf(rec, sizeof(rec), "%s/records", d);
	_cleanup_close_ int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", d);
	int r = 0;
	if (json_array_size(norm)) {
		char rs[IPAM_STRLEN];
		ipam_cidr_str(range, rs);
		_cleanup_json_ json_t *st = json_pack("{s:s, s:s, s:s, s:O}", "bridge", n->bridge, "subnet", n->subnet,
						      "range", rs, "services", norm);
		_cleanup_free_ char *txt = jsonx_dumps(st, 1);
		_cleanup_free_ char *recs = svc_records(norm);
		if (!txt || !recs)
			r = berr_set(err, ENOMEM, "services");
		else if (fs_replace_at(dfd, NET_SVC_RECORDS, recs, strlen(recs), 0644, err) < 0 ||
			 fs_replace_at(dfd, NET_SVC_STATE, txt, strlen(txt), 0644, err) < 0)
			r = -1;
	} else {
		unlinkat(dfd, NET_SVC_RECORDS, 0);
		unlinkat(dfd, NET_SVC_STATE, 0);
	}
	if (r < 0)
		unlinkat(dfd, NET_SVC_STATE, 0); /* the next sync applies everything again */
	net_write_records(runroot, n->id);
	if (r == 0 && json_array_size(norm) && dnsproc_ensure(d, n->gateway, rec, err) < 0)
		r = -1;
	return r;
}

/* Host ports of norm against the host, on a fresh iptables-save (no lock:
 * sync checks again under it). */
static int check_hostports(struct net *n, json_t *norm, struct berr **err)
{
	if (svc_hostports_dups(norm, err) < 0)
		return -1;
	_cleanup_free_ char *save = nat_save_text(err);
	if (!save)
		return -1;
	struct held *h = calloc(1, sizeof(*h));
	struct svc_ports *sock = calloc(1, sizeof(*sock));
	int r = -1;
	if (!h || !sock) {
		berr_set(err, ENOMEM, "services");
	} else {
		char own[64];
		snprintf(own, sizeof(own), "berth:%s:svc", n->bridge);
		held_fill(save, own, h);
		sockets_fill(sock);
		r = host_conflicts(norm, save, own, h, sock, err);
	}
	free(h);
	free(sock);
	return r;
}

int net_svc_sync(const char *root, const char *runroot, const char *netname, json_t *services, struct berr **err)
{
	return net_svc_sync_opts(root, runroot, netname, services, NULL, err);
}

int net_svc_sync_opts(const char *root, const char *runroot, const char *netname, json_t *services,
		      const struct net_svc_opts *o, struct berr **err)
{
	const char *given = o && o->range && *o->range ? o->range : NULL;
	struct net n;
	struct ipam_cidr subnet;
	_cleanup_json_ json_t *norm = NULL, *state = NULL;
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
	if (dfd < 0)
		return -1;
	/* shared: no network create / rm / prune of this store meanwhile */
	_cleanup_close_ int glk = fs_lock_at(dfd, ".lock", LOCK_SH, err);
	if (glk < 0)
		return -1;
	if (load_net(root, netname, &n, &subnet, err) < 0)
		return -1;
	int r = -1, lk = -1;
	if (svc_normalize(services, o && o->remote_endpoints ? NULL : &subnet, &norm, err) < 0)
		goto out;
	lk = net_run_lock(runroot, n.id, err);
	if (lk < 0)
		goto out;
	state = load_state(runroot, n.id);
	json_t *prev = json_object_get(state, "services");
	bool same_net = state && !strcmp(jsonx_str(state, "bridge") ?: "", n.bridge) &&
			!strcmp(jsonx_str(state, "subnet") ?: "", n.subnet);
	struct ipam_cidr range = {0};
	if (!json_array_size(norm)) {
		if (!json_array_size(prev) && !net_svc_active(runroot, n.id)) {
			r = 0; /* nothing before, nothing now */
			goto out;
		}
	} else {
		/* the first sync: refuse taken host ports before choosing a range */
		const char *had = jsonx_str(n.json, "ServiceRange");
		struct ipam_cidr rr;
		if (!(had && ipam_cidr_parse_network(had, &rr, NULL) == 0 && range_routed(&rr, range_metric(&n))) &&
		    check_hostports(&n, norm, err) < 0)
			goto out;
		if (!net_bridge_exists(n.bridge)) {
			_cleanup_close_ int hlk = net_host_lock(err);
			if (hlk < 0)
				goto out;
			if (net_host_setup(root, &n, -1, -1, err) < 0) {
				net_host_teardown(&n);
				berr_wrap(err, "setting up network %s", n.name);
				goto out;
			}
		}
		if (ensure_range(root, &n, dfd, given, &range, err) < 0)
			goto out;
		char rs[IPAM_STRLEN];
		ipam_cidr_str(&range, rs);
		bool fresh = false;
		if ((given ? svc_check_given(norm, &range, err) : svc_allocate(norm, &range, prev, NULL, &fresh, err)) < 0 ||
		    svc_hostports_dups(norm, err) < 0)
			goto out;
		if (!fresh && same_net && !strcmp(jsonx_str(state, "range") ?: "", rs) && json_equal(prev, norm)) {
			/* unchanged: no iptables; the DNS server may have been killed */
			char d[4200], rec[4300];
			net_run_dir(runroot, n.id, d, sizeof(d));
			snprintf(rec, sizeof(rec), "%s/records", d);
			if (!dnsproc_alive(d) && dnsproc_ensure(d, n.gateway, rec, err) < 0)
				goto out;
			fill_out(services, norm);
			r = 0;
			goto out;
		}
		char p[128];
		snprintf(p, sizeof(p), "/proc/sys/net/ipv4/conf/%s/route_localnet", n.bridge);
		sysctl_set(p, "1");
		sysctl_set("/proc/sys/net/ipv4/ip_forward", "1");
	}
	{
		char own[64], rs[IPAM_STRLEN] = "";
		snprintf(own, sizeof(own), "berth:%s:svc", n.bridge);
		if (json_array_size(norm))
			ipam_cidr_str(&range, rs);
		struct syncarg a = {norm, same_net ? prev : NULL, {n.bridge, n.subnet, rs, own}, &range, given != NULL};
		if (nat_batch(sync_lines, &a, err) < 0)
			goto out;
	}
	if (write_after(runroot, &n, norm, &range, err) < 0)
		goto out;
	fill_out(services, norm);
	r = 0;
out:
	if (r < 0 && err && *err)
		berr_wrap(err, "services of network %s", n.name);
	if (lk >= 0)
		close(lk);
	net_release(&n);
	return r;
}

int net_svc_check(const char *root, const char *runroot, const char *netname, json_t *services, struct berr **err)
{
	struct net n;
	struct ipam_cidr subnet;
	if (load_net(root, netname, &n, &subnet, err) < 0)
		return -1;
	int r = -1;
	_cleanup_json_ json_t *norm = NULL, *state = load_state(runroot, n.id);
	if (svc_normalize(services, &subnet, &norm, err) < 0)
		goto out;
	struct ipam_cidr range;
	const char *rec = jsonx_str(n.json, "ServiceRange");
	if (json_array_size(norm) && rec && ipam_cidr_parse_network(rec, &range, NULL) == 0 &&
	    svc_allocate(norm, &range, json_object_get(state, "services"), NULL, NULL, err) < 0)
		goto out;
	if (check_hostports(&n, norm, err) < 0)
		goto out;
	r = 0;
out:
	if (r < 0 && err && *err)
		berr_wrap(err, "services of network %s", n.name);
	net_release(&n);
	return r;
}

void net_svc_remove_all(const char *root, const char *runroot, const char *netname)
{
	struct net n;
	struct berr *e = NULL;
	if (net_load(root, netname, &n, &e) < 0) {
		berr_free(e);
		return;
	}
	int lk = net_run_lock(runroot, n.id, &e);
	char own[64];
	snprintf(own, sizeof(own), "berth:%s:svc", n.bridge);
	_cleanup_json_ json_t *empty = json_array();
	struct ipam_cidr range = {0};
	struct syncarg a = {empty, NULL, {n.bridge, n.subnet, "", own}, &range};
	nat_batch(sync_lines, &a, &e); /* even without svc.json: what a killed sync left */
	berr_freep(&e);
	write_after(runroot, &n, empty, &range, &e);
	berr_free(e);
	if (lk >= 0)
		close(lk);
	net_release(&n);
}
