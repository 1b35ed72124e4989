#include "net/nat.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run iptables -w ARGS; returns its exit status (127: could not run it).
 * stderr goes to errbuf (when given) or nowhere. */
static int ipt(char *const *args, char *errbuf, size_t errlen)
{
	char *argv[32];
	size_t n = 0;
	argv[n++] = "iptables";
	argv[n++] = "-w";
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int ep[2] = {-1, -1};
	if (errbuf && pipe2(ep, O_CLOEXEC) < 0)
		return 127;
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(errbuf ? ep[1] : null, 2);
		execvp("iptables", argv);
		_exit(127);
	}
	if (errbuf) {
		close(ep[1]);
		size_t got = 0;
		for (;;) {
			ssize_t r = read(ep[0], errbuf + got, errlen - 1 - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
			if (got >= errlen - 1)
				break;
		}
		errbuf[got] = 0;
		while (got && (errbuf[got - 1] == '\n'))
			errbuf[--got] = 0;
		close(ep[0]);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 127;
}

#define MAXARGS 24

/* rule: table, then the chain + match args, NULL-terminated */
static int ensure_rule(const char *table, const char *verb_add, char *const *rule, struct berr **err)
{
	char *a[MAXARGS];
	size_t n = 0;
	a[n++] = "-t";
	a[n++] = (char *)table;
	a[n++] = "-C";
	for (size_t i = 0; rule[i]; i++)
		a[n++] = rule[i];
	a[n] = NULL;
	if (ipt(a, NULL, 0) == 0)
		return 0;
	a[2] = (char *)verb_add;
	char eb[512] = "";
	if (!strcmp(verb_add, "-I")) {
		/* -I CHAIN 1 rest */
		char *b[MAXARGS];
		size_t m = 0;
		b[m++] = "-t";
		b[m++] = (char *)table;
		b[m++] = "-I";
		b[m++] = rule[0];
		b[m++] = "1";
		for (size_t i = 1; rule[i]; i++)
			b[m++] = rule[i];
		b[m] = NULL;
		if (ipt(b, eb, sizeof(eb)) != 0)
			return berr_set(err, 0, "iptables: %s", *eb ? eb : "failed (is iptables installed?)");
		return 0;
	}
	if (ipt(a, eb, sizeof(eb)) != 0)
		return berr_set(err, 0, "iptables: %s", *eb ? eb : "failed (is iptables installed?)");
	return 0;
}

static void delete_rule(const char *table, char *const *rule)
{
	char *a[MAXARGS];
	size_t n = 0;
	a[n++] = "-t";
	a[n++] = (char *)table;
	a[n++] = "-D";
	for (size_t i = 0; rule[i]; i++)
		a[n++] = rule[i];
	a[n] = NULL;
	/* a rule may be there twice after a crash between -C and -A */
	for (int i = 0; i < 4 && ipt(a, NULL, 0) == 0; i++)
		;
}

static int ensure_chain(const char *table, const char *chain, const char *parent, bool first, struct berr **err)
{
	char *n[] = {"-t", (char *)table, "-N", (char *)chain, NULL};
	ipt(n, NULL, 0); /* exists: fine */
	char *jump[] = {(char *)parent, "-j", (char *)chain, NULL};
	return ensure_rule(table, first ? "-I" : "-A", jump, err);
}

struct rules {
	char *nat[1][12];
	size_t nnat;
	char *filter[8][16];
	size_t nfilter;
};

static void build(struct rules *r, const char *br, const char *subnet, bool internal)
{
	memset(r, 0, sizeof(*r));
	char *B = (char *)br, *S = (char *)subnet;
	if (!internal) {
		char *m[] = {"BERTH-POSTROUTING", "-s", S, "!", "-o", B, "-j", "MASQUERADE", NULL};
		memcpy(r->nat[0], m, sizeof(m));
		r->nnat = 1;
	}
	size_t k = 0;
	char *f0[] = {"BERTH-FORWARD", "-i", B, "-o", B, "-j", "ACCEPT", NULL};
	memcpy(r->filter[k++], f0, sizeof(f0));
	char *f1[] = {"BERTH-FORWARD", "-i", B, "-o", "br-+", "-j", "DROP", NULL};
	memcpy(r->filter[k++], f1, sizeof(f1));
	char *f2[] = {"BERTH-FORWARD", "-i", B, "-o", "berth0", "-j", "DROP", NULL};
	if (strcmp(br, "berth0"))
		memcpy(r->filter[k++], f2, sizeof(f2));
	else {
		char *f2b[] = {"BERTH-FORWARD", "-i", B, "-o", "br-+", "-j", "DROP", NULL};
		(void)f2b;
	}
	if (internal) {
		char *f3[] = {"BERTH-FORWARD", "-i", B, "-j", "DROP", NULL};
		char *f4[] = {"BERTH-FORWARD", "-o", B, "-j", "DROP", NULL};
		memcpy(r->filter[k++], f3, sizeof(f3));
		memcpy(r->filter[k++], f4, sizeof(f4));
	} else {
		char *f3[] = {"BERTH-FORWARD", "-i", B, "-j", "ACCEPT", NULL};
		char *f4[] = {"BERTH-FORWARD", "-o", B, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
			      "-j", "ACCEPT", NULL};
		memcpy(r->filter[k++], f3, sizeof(f3));
		memcpy(r->filter[k++], f4, sizeof(f4));
	}
	r->nfilter = k;
}

int nat_network_add(const char *bridge, const char *subnet, bool internal, struct berr **err)
{
	if (!internal) {
		int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) < 0) {
				/* read-only /proc/sys: forwarding may already be on */
			}
			close(fd);
		}
	}
	if (ensure_chain("nat", "BERTH-POSTROUTING", "POSTROUTING", false, err) < 0 ||
	    ensure_chain("filter", "BERTH-FORWARD", "FORWARD", true, err) < 0)
		return -1;
	struct rules r;
	build(&r, bridge, subnet, internal);
	for (size_t i = 0; i < r.nnat; i++)
		if (ensure_rule("nat", "-A", r.nat[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < r.nfilter; i++)
		if (ensure_rule("filter", "-A", r.filter[i], err) < 0)
			goto fail;
	return 0;
fail:
	nat_network_remove(bridge, subnet, internal);
	return -1;
}

void nat_network_remove(const char *bridge, const char *subnet, bool internal)
{
	char *lo[] = {"BERTH-POSTROUTING", "-s", "127.0.0.0/8", "-o", (char *)bridge, "-j", "MASQUERADE", NULL};
	delete_rule("nat", lo);
	struct rules r;
	build(&r, bridge, subnet, internal);
	for (size_t i = 0; i < r.nnat; i++)
		delete_rule("nat", r.nat[i]);
	for (size_t i = 0; i < r.nfilter; i++)
		delete_rule("filter", r.filter[i]);
}

/* one binding: the DNAT rule (nat) and the FORWARD accept (filter) */
struct prule {
	char *dnat[20];
	char *fwd[20];
	char hport[8], cport[8], to[64], cipport[48];
};

static void build_port(struct prule *r, const char *bridge, const char *cip, const char *key, const char *hip,
		       const char *hport)
{
	memset(r, 0, sizeof(*r));
	static char tcp[] = "tcp", udp[] = "udp";
	const char *sl = strchr(key, '/');
	char *proto = sl && !strcmp(sl + 1, "udp") ? udp : tcp;
	snprintf(r->cport, sizeof(r->cport), "%.*s", sl ? (int)(sl - key) : (int)strlen(key), key);
	snprintf(r->hport, sizeof(r->hport), "%s", hport);
	snprintf(r->to, sizeof(r->to), "%s:%s", cip, r->cport);
	snprintf(r->cipport, sizeof(r->cipport), "%s", cip);
	size_t n = 0;
	r->dnat[n++] = "BERTH-DNAT";
	if (hip && *hip && strcmp(hip, "0.0.0.0")) {
		r->dnat[n++] = "-d";
		r->dnat[n++] = (char *)hip;
	}
	char *d[] = {"-p", proto, "-m", proto, "--dport", r->hport, "-j", "DNAT", "--to-destination", r->to, NULL};
	memcpy(r->dnat + n, d, sizeof(d));
	char *f[] = {"BERTH-FORWARD", "-d", r->cipport, "!", "-i", (char *)bridge, "-o", (char *)bridge, "-p", proto,
		     "-m", proto, "--dport", r->cport, "-j", "ACCEPT", NULL};
	memcpy(r->fwd, f, sizeof(f));
}

static void sysctl_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0) {
			/* read-only: nothing to do */
		}
		close(fd);
	}
}

int nat_ports_add(const char *bridge, const char *cip, json_t *ports, struct berr **err)
{
	if (!json_object_size(ports))
		return 0;
	char *mk[] = {"-t", "nat", "-N", "BERTH-DNAT", NULL};
	ipt(mk, NULL, 0); /* exists: fine */
	char *pre[] = {"PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "BERTH-DNAT", NULL};
	char *out[] = {"OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "BERTH-DNAT", NULL};
	if (ensure_rule("nat", "-A", pre, err) < 0 || ensure_rule("nat", "-A", out, err) < 0 ||
	    ensure_chain("nat", "BERTH-POSTROUTING", "POSTROUTING", false, err) < 0 ||
	    ensure_chain("filter", "BERTH-FORWARD", "FORWARD", true, err) < 0)
		return -1;
	char *lo[] = {"BERTH-POSTROUTING", "-s", "127.0.0.0/8", "-o", (char *)bridge, "-j", "MASQUERADE", NULL};
	if (ensure_rule("nat", "-A", lo, err) < 0)
		return -1;
	char p[128];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	sysctl_write(p, "1");
	sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
	const char *key;
	json_t *arr;
	json_object_foreach(ports, key, arr) {
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b) {
			struct prule r;
			build_port(&r, bridge, cip, key, json_string_value(json_object_get(b, "HostIp")),
				   json_string_value(json_object_get(b, "HostPort")) ?: "");
			if (ensure_rule("nat", "-A", r.dnat, err) < 0 || ensure_rule("filter", "-I", r.fwd, err) < 0) {
				nat_ports_remove(bridge, cip, ports);
				return -1;
			}
		}
	}
	return 0;
}

void nat_ports_remove(const char *bridge, const char *cip, json_t *ports)
{
	const char *key;
	json_t *arr;
	json_object_foreach(ports, key, arr) {
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b) {
			struct prule r;
			build_port(&r, bridge, cip, key, json_string_value(json_object_get(b, "HostIp")),
				   json_string_value(json_object_get(b, "HostPort")) ?: "");
			delete_rule("nat", r.dnat);
			delete_rule("filter", r.fwd);
		}
	}
}
