/* host-gw routes and rules of a network's remote peers (hostgw.h). */
#include "net/hostgw.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipam.h"
#include "net/nat.h"
#include "net/netlink.h"
#include "util/strbuf.h"

/* The bridge's own metric: FNV-1a of its name, never 0. */
static uint32_t bridge_metric(const char *bridge)
{
	uint32_t h = 2166136261u;
	for (const char *p = bridge; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	return (h % 0x7ffffffeu) + 1;
}

struct want {
	struct ipam_cidr cidr;
	unsigned char gw[4];
	bool ok;
};

struct rulearg {
	const char *bridge, *local;
	const struct want *w;
	size_t n;
};

static int rule_lines(const char *save, FILE *nat, FILE *filter, void *arg, struct berr **err)
{
	(void)err;
	const struct rulearg *a = arg;
	char own[64];
	snprintf(own, sizeof(own), "berth:%s:hostgw", a->bridge);
	nat_save_del_owned(save, "nat", own, nat);
	nat_save_del_owned(save, "filter", own, filter);
	bool base_nat = nat_save_has_line(save, "nat", ":BERTH-POSTROUTING ", NULL);
	bool base_filter = nat_save_has_line(save, "filter", ":BERTH-FORWARD ", NULL);
	for (size_t i = 0; i < a->n; i++) {
		if (!a->w[i].ok)
			continue;
		char c[IPAM_STRLEN];
		ipam_cidr_str(&a->w[i].cidr, c);
		/* (the chains are the network's: there when it is) */
		if (base_nat)
			fprintf(nat, "-I BERTH-POSTROUTING 1 -s %s -d %s -m comment --comment \"%s\" -j RETURN\n", a->local, c,
				own);
		if (base_filter)
			fprintf(filter, "-I BERTH-FORWARD 1 -s %s -o %s -m comment --comment \"%s\" -j ACCEPT\n", c,
				a->bridge, own);
	}
	return 0;
}

int net_hostgw_sync(const char *bridge, const char *local, const struct net_hostgw_peer *peers, size_t n, bool rules,
		    struct berr **err)
{
	struct ipam_cidr lc;
	if (ipam_cidr_parse_network(local, &lc, err) < 0)
		return berr_wrap(err, "network subnet");
	if (n > NET_HOSTGW_MAX)
		return berr_setc(err, BERR_INVALID, "%zu peers (at most %d)", n, NET_HOSTGW_MAX);
	uint32_t metric = bridge_metric(bridge);
	struct nl nl;
	if (nl_open(&nl, err) < 0)
		return -1;
	struct want *w = calloc(n ? n : 1, sizeof(*w));
	struct sbuf bad = SBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct berr *e = NULL;
		struct in_addr ip;
		if (ipam_cidr_parse_network(peers[i].cidr, &w[i].cidr, &e) < 0 || w[i].cidr.addr.family != AF_INET ||
		    inet_pton(AF_INET, peers[i].ip, &ip) != 1) {
			sbuf_addf(&bad, "%s%s: podCIDR %s, address %s: not IPv4", bad.len ? "; " : "", peers[i].name,
				  peers[i].cidr, peers[i].ip);
			berr_free(e);
			continue;
		}
		if (ipam_cidr_overlap(&w[i].cidr, &lc)) {
			sbuf_addf(&bad, "%s%s: podCIDR %s overlaps this node's %s", bad.len ? "; " : "", peers[i].name,
				  peers[i].cidr, local);
			continue;
		}
		bool is_local = false, has_gw = false;
		unsigned char gw[4];
		if (nl_route_get(&nl, AF_INET, &ip, &is_local, &has_gw, gw, &e) < 0 || is_local) {
			sbuf_addf(&bad, "%s%s: address %s: %s", bad.len ? "; " : "", peers[i].name, peers[i].ip,
				  e ? e->msg : "an address of this host");
			berr_free(e);
			continue;
		}
		memcpy(w[i].gw, has_gw ? gw : (unsigned char *)&ip, 4);
		if (nl_route_replace_via(&nl, AF_INET, w[i].cidr.addr.b, w[i].cidr.prefix, w[i].gw, NET_HOSTGW_PROTO, metric,
					 &e) < 0) {
			sbuf_addf(&bad, "%s%s: %s", bad.len ? "; " : "", peers[i].name, e ? e->msg : "error");
			berr_free(e);
			continue;
		}
		w[i].ok = true;
	}
	/* ours that no peer wants any more */
	struct nl_route *have = NULL;
	size_t nh = 0;
	struct berr *le = NULL;
	if (nl_route_list(&nl, AF_INET, NET_HOSTGW_PROTO, metric, &have, &nh, &le) == 0) {
		for (size_t j = 0; j < nh; j++) {
			bool keep = false;
			for (size_t i = 0; i < n && !keep; i++)
				keep = w[i].ok && w[i].cidr.prefix == have[j].prefixlen && !memcmp(w[i].cidr.addr.b, have[j].dst, 4);
			struct berr *e = NULL;
			if (!keep && nl_route_del(&nl, AF_INET, have[j].dst, have[j].prefixlen, NET_HOSTGW_PROTO, metric, &e) < 0)
				sbuf_addf(&bad, "%s%s", bad.len ? "; " : "", e ? e->msg : "removing a route");
			berr_free(e);
		}
	} else {
		sbuf_addf(&bad, "%s%s", bad.len ? "; " : "", le ? le->msg : "listing routes");
		berr_free(le);
	}
	free(have);
	nl_close(&nl);
	int r = 0;
	if (rules) {
		struct rulearg a = {bridge, local, w, n};
		struct berr *e = NULL;
		if (nat_batch(rule_lines, &a, &e) < 0)
			sbuf_addf(&bad, "%s%s", bad.len ? "; " : "", e ? e->msg : "iptables");
		berr_free(e);
	}
	if (bad.len)
		r = berr_set(err, 0, "%s", bad.s);
	sbuf_release(&bad);
	free(w);
	return r;
}

void net_hostgw_remove(const char *bridge)
{
	struct berr *e = NULL;
	net_hostgw_sync(bridge, "0.0.0.0/32", NULL, 0, true, &e);
	berr_free(e);
}
