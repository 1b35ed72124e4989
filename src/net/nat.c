#include "net/nat.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

/* Why batches: one iptables process per rule (with a -C before each -A)
 * cost ~6 ms a rule here, 120+ ms to set up a network and as much to take
 * it down. Every change is now one iptables-save (to learn what is there)
 * and one iptables-restore --noflush (atomic per table). Each rule berth
 * adds carries a comment naming its owner, so removal deletes exactly the
 * lines iptables-save printed for that owner, in iptables' own spelling. */

#define IPT_LOCK "/run/berth-iptables.lock"
#define IPT_OUT_MAX (64u << 20)

/* Run argv with `in` on stdin; stdout into *out (malloc'd, may be NULL),
 * stderr into errbuf. Returns the exit status (127: could not run). */
static int run_tool(char *const *argv, const char *in, char **out, char *errbuf, size_t errlen)
{
	int ip[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1};
	if (pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		for (int i = 0; i < 2; i++) {
			if (ip[i] >= 0)
				close(ip[i]);
			if (op[i] >= 0)
				close(op[i]);
			if (ep[i] >= 0)
				close(ep[i]);
		}
		return 127;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ip[0], 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(ip[0]);
	close(op[1]);
	close(ep[1]);
	if (pid < 0) {
		close(ip[1]);
		close(op[0]);
		close(ep[0]);
		return 127;
	}
	/* feed stdin while draining stdout and stderr (no pipe may fill up) */
	size_t inlen = in ? strlen(in) : 0, inoff = 0, olen = 0, ocap = 0, elen = 0;
	char *obuf = NULL;
	if (!inlen) {
		close(ip[1]);
		ip[1] = -1;
	}
	int ofd = op[0], efd = ep[0];
	while (ofd >= 0 || efd >= 0 || ip[1] >= 0) {
		struct pollfd p[3] = {{.fd = ip[1], .events = POLLOUT}, {.fd = ofd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ip[1] >= 0 && p[0].revents) {
			ssize_t w = write(ip[1], in + inoff, inlen - inoff);
			if (w > 0)
				inoff += (size_t)w;
			if (w < 0 || inoff == inlen) {
				close(ip[1]);
				ip[1] = -1;
			}
		}
		if (ofd >= 0 && p[1].revents) {
			if (ocap - olen < 65536) {
				size_t nc = ocap ? ocap * 2 : 131072;
				char *nb = olen + 65536 < IPT_OUT_MAX ? realloc(obuf, nc) : NULL;
				if (!nb) {
					close(ofd);
					ofd = -1;
					continue;
				}
				obuf = nb;
				ocap = nc;
			}
			ssize_t r = read(ofd, obuf + olen, ocap - olen - 1);
			if (r <= 0) {
				close(ofd);
				ofd = -1;
			} else {
				olen += (size_t)r;
			}
		}
		if (efd >= 0 && p[2].revents) {
			char tmp[1024];
			ssize_t r = read(efd, tmp, sizeof(tmp));
			if (r <= 0) {
				close(efd);
				efd = -1;
			} else if (errbuf && elen + 1 < errlen) {
				size_t k = (size_t)r < errlen - 1 - elen ? (size_t)r : errlen - 1 - elen;
				memcpy(errbuf + elen, tmp, k);
				elen += k;
			}
		}
	}
	if (errbuf && errlen) {
		errbuf[elen] = 0;
		while (elen && errbuf[elen - 1] == '\n')
			errbuf[--elen] = 0;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			free(obuf);
			return 127;
		}
	if (obuf)
		obuf[olen] = 0;
	if (out)
		*out = obuf;
	else
		free(obuf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 127;
}

/* The current rules (iptables-save). NULL with err on failure. */
static char *ipt_save(struct berr **err)
{
	char *argv[] = {"iptables-save", NULL};
	char eb[512] = "", *out = NULL;
	int st = run_tool(argv, NULL, &out, eb, sizeof(eb));
	if (st != 0 || !out) {
		free(out);
		berr_set(err, 0, "iptables-save: %s", *eb ? eb : "failed (is iptables installed?)");
		return NULL;
	}
	return out;
}

/* One restore batch: lines per table. */
struct batch {
	FILE *t[2];
	char *b[2];
	size_t n[2];
};
enum { T_NAT, T_FILTER };
static const char *const tname[] = {"nat", "filter"};

static int batch_open(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < 2; i++)
		if (!(b->t[i] = open_memstream(&b->b[i], &b->n[i])))
			return -1;
	return 0;
}

static void batch_free(struct batch *b)
{
	for (int i = 0; i < 2; i++) {
		if (b->t[i])
			fclose(b->t[i]);
		free(b->b[i]);
		b->t[i] = NULL;
		b->b[i] = NULL;
	}
}

/* Apply and free the batch (nothing to do: no process). */
static int batch_apply(struct batch *b, struct berr **err)
{
	for (int i = 0; i < 2; i++) {
		fclose(b->t[i]);
		b->t[i] = NULL;
	}
	if (!b->n[0] && !b->n[1]) {
		batch_free(b);
		return 0;
	}
	char *in = NULL;
	size_t inlen = 0;
	FILE *m = open_memstream(&in, &inlen);
	if (!m) {
		batch_free(b);
		return berr_set(err, ENOMEM, "iptables batch");
	}
	for (int i = 0; i < 2; i++)
		if (b->n[i])
			fprintf(m, "*%s\n%sCOMMIT\n", tname[i], b->b[i]);
	fclose(m);
	batch_free(b);
	char *argv[] = {"iptables-restore", "-w", "--noflush", NULL};
	char eb[1024] = "";
	int st = run_tool(argv, in, NULL, eb, sizeof(eb));
	free(in);
	if (st != 0)
		return berr_set(err, 0, "iptables-restore: %s", *eb ? eb : "failed (is iptables installed?)");
	return 0;
}

/* The section of table in an iptables-save text: [*ret_start, *ret_end). */
static bool section(const char *save, const char *table, const char **ret_start, const char **ret_end)
{
	char hdr[32];
	snprintf(hdr, sizeof(hdr), "\n*%s\n", table);
	const char *s = !strncmp(save, hdr + 1, strlen(hdr + 1)) ? save : strstr(save, hdr);
	if (!s)
		return false;
	s += (s == save) ? strlen(hdr + 1) : strlen(hdr);
	const char *e = strstr(s, "\nCOMMIT");
	*ret_start = s;
	*ret_end = e ? e + 1 : s + strlen(s);
	return true;
}

/* Whether table has a line starting with `prefix` (and containing `needle`). */
static bool has_line(const char *save, int t, const char *prefix, const char *needle)
{
	const char *s, *e;
	if (!section(save, tname[t], &s, &e))
		return false;
	size_t pl = strlen(prefix);
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		if (len >= pl && !memcmp(l, prefix, pl)) {
			if (!needle)
				return true;
			char line[2048];
			snprintf(line, sizeof(line), "%.*s", (int)len, l);
			if (strstr(line, needle))
				return true;
		}
		l += len + 1;
	}
	return false;
}

/* Add "-D ..." for every rule of table t whose comment is exactly owner. */
static void del_owned(struct batch *b, const char *save, int t, const char *owner)
{
	const char *s, *e;
	if (!section(save, tname[t], &s, &e))
		return;
	char tok[256];
	snprintf(tok, sizeof(tok), "--comment \"%s\"", owner);
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		if (len > 3 && !memcmp(l, "-A ", 3)) {
			char line[2048];
			snprintf(line, sizeof(line), "%.*s", (int)len, l);
			char *hit = strstr(line, tok);
			if (hit && (hit[strlen(tok)] == ' ' || !hit[strlen(tok)]))
				fprintf(b->t[t], "-D %s\n", line + 3);
		}
		l += len + 1;
	}
}

/* berth's chains and the jumps to them, where missing. */
static void ensure_base(struct batch *b, const char *save, bool dnat)
{
	if (!has_line(save, T_NAT, ":BERTH-POSTROUTING ", NULL))
		fputs(":BERTH-POSTROUTING - [0:0]\n", b->t[T_NAT]);
	if (!has_line(save, T_NAT, "-A POSTROUTING ", "-j BERTH-POSTROUTING"))
		fputs("-A POSTROUTING -j BERTH-POSTROUTING\n", b->t[T_NAT]);
	if (!has_line(save, T_FILTER, ":BERTH-FORWARD ", NULL))
		fputs(":BERTH-FORWARD - [0:0]\n", b->t[T_FILTER]);
	if (!has_line(save, T_FILTER, "-A FORWARD ", "-j BERTH-FORWARD"))
		fputs("-I FORWARD 1 -j BERTH-FORWARD\n", b->t[T_FILTER]);
	if (!dnat)
		return;
	if (!has_line(save, T_NAT, ":BERTH-DNAT ", NULL))
		fputs(":BERTH-DNAT - [0:0]\n", b->t[T_NAT]);
	if (!has_line(save, T_NAT, "-A PREROUTING ", "-j BERTH-DNAT"))
		fputs("-A PREROUTING -m addrtype --dst-type LOCAL -j BERTH-DNAT\n", b->t[T_NAT]);
	if (!has_line(save, T_NAT, "-A OUTPUT ", "-j BERTH-DNAT"))
		fputs("-A OUTPUT -m addrtype --dst-type LOCAL -j BERTH-DNAT\n", b->t[T_NAT]);
}

static void sysctl_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0) {
			/* read-only /proc/sys: forwarding may already be on */
		}
		close(fd);
	}
}

/* Serializes save + restore among berth processes of every store. */
static int ipt_lock(struct berr **err)
{
	int fd = open(IPT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set(err, errno, "opening %s", IPT_LOCK);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return berr_set(err, e, "locking %s", IPT_LOCK);
		}
	return fd;
}

/* Run fn(batch, save, arg) under the lock with a fresh save, then apply
 * (fn failing: nothing is applied). */
typedef int (*batch_fn)(struct batch *b, const char *save, const void *arg, struct berr **err);
static int change(batch_fn fn, const void *arg, struct berr **err)
{
	int lk = ipt_lock(err);
	if (lk < 0)
		return -1;
	int r = -1;
	char *save = ipt_save(err);
	struct batch b;
	if (save && batch_open(&b) == 0) {
		if (fn(&b, save, arg, err) == 0)
			r = batch_apply(&b, err);
		else
			batch_free(&b);
	} else if (save) {
		batch_free(&b);
		berr_set(err, ENOMEM, "iptables batch");
	}
	free(save);
	close(lk);
	return r;
}

/* ---- networks ---- */

struct netarg {
	const char *br, *subnet;
	bool internal, add;
};

static int net_lines(struct batch *b, const char *save, const void *arg, struct berr **err)
{
	(void)err;
	const struct netarg *a = arg;
	char own[64], lo[64];
	snprintf(own, sizeof(own), "berth:%s", a->br);
	snprintf(lo, sizeof(lo), "berth:%s:lo", a->br);
	del_owned(b, save, T_NAT, own);
	del_owned(b, save, T_FILTER, own);
	if (!a->add) {
		del_owned(b, save, T_NAT, lo);
		return 0;
	}
	ensure_base(b, save, false);
	const char *B = a->br;
	FILE *n = b->t[T_NAT], *f = b->t[T_FILTER];
	if (!a->internal)
		fprintf(n, "-A BERTH-POSTROUTING -s %s ! -o %s -m comment --comment \"%s\" -j MASQUERADE\n", a->subnet, B,
			own);
	fprintf(f, "-A BERTH-FORWARD -i %s -o %s -m comment --comment \"%s\" -j ACCEPT\n", B, B, own);
	fprintf(f, "-A BERTH-FORWARD -i %s -o br-+ -m comment --comment \"%s\" -j DROP\n", B, own);
	fprintf(f, "-A BERTH-FORWARD -i %s -o berth+ -m comment --comment \"%s\" -j DROP\n", B, own);
	if (a->internal) {
		fprintf(f, "-A BERTH-FORWARD -i %s -m comment --comment \"%s\" -j DROP\n", B, own);
		fprintf(f, "-A BERTH-FORWARD -o %s -m comment --comment \"%s\" -j DROP\n", B, own);
	} else {
		fprintf(f, "-A BERTH-FORWARD -i %s -m comment --comment \"%s\" -j ACCEPT\n", B, own);
		fprintf(f,
			"-A BERTH-FORWARD -o %s -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"%s\" -j ACCEPT\n",
			B, own);
	}
	return 0;
}

int nat_network_add(const char *bridge, const char *subnet, bool internal, struct berr **err)
{
	if (!internal)
		sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
	struct netarg a = {bridge, subnet, internal, true};
	return change(net_lines, &a, err);
}

void nat_network_remove(const char *bridge, const char *subnet, bool internal)
{
	struct netarg a = {bridge, subnet, internal, false};
	struct berr *e = NULL;
	change(net_lines, &a, &e);
	berr_free(e);
}

/* ---- published ports ---- */

struct portarg {
	const char *br, *cip;
	json_t *ports;
	bool add;
};

/* BERR_CONFLICT when a DNAT rule of another owner (own NULL: any) takes a
 * host port of ports (same protocol, same or wildcard address). */
static int dnat_conflicts(const char *save, const char *own, json_t *ports, struct berr **err)
{
	const char *s, *e;
	if (!section(save, "nat", &s, &e))
		return 0;
	char owntok[160] = "";
	if (own)
		snprintf(owntok, sizeof(owntok), "--comment \"%s\"", own);
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		char line[2048];
		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
		l += len + 1;
		if (strncmp(line, "-A BERTH-DNAT ", 14) || (own && strstr(line, owntok)))
			continue;
		const char *svc = strstr(line, ":svc\"");
		bool is_svc = svc && strstr(line, "--comment \"berth:") < svc;
		char dst[64] = "", proto[8] = "", dport[8] = "";
		char *save_tok = NULL, *prev = NULL;
		for (char *t = strtok_r(line, " ", &save_tok); t; prev = t, t = strtok_r(NULL, " ", &save_tok)) {
			if (!prev)
				continue;
			if (!strcmp(prev, "-d"))
				snprintf(dst, sizeof(dst), "%.*s", (int)strcspn(t, "/"), t);
			else if (!strcmp(prev, "-p"))
				snprintf(proto, sizeof(proto), "%s", t);
			else if (!strcmp(prev, "--dport"))
				snprintf(dport, sizeof(dport), "%s", t);
		}
		const char *key;
		json_t *arr;
		json_object_foreach(ports, key, arr) {
			const char *sl = strchr(key, '/');
			const char *p = sl && !strcmp(sl + 1, "udp") ? "udp" : "tcp";
			size_t i;
			json_t *bd;
			json_array_foreach(arr, i, bd) {
				const char *hip = json_string_value(json_object_get(bd, "HostIp")) ?: "";
				const char *hport = json_string_value(json_object_get(bd, "HostPort")) ?: "";
				bool any = !*hip || !strcmp(hip, "0.0.0.0");
				if (!*hport || strcmp(p, proto) || strcmp(hport, dport) || (!any && *dst && strcmp(dst, hip)))
					continue;
				return berr_setc(err, BERR_CONFLICT,
						 "Bind for %s:%s failed: port is already allocated (%s)",
						 any ? "0.0.0.0" : hip, hport,
						 is_svc ? "held by a berth Service" : "published by another berth container");
			}
		}
	}
	return 0;
}

int nat_ports_check(json_t *ports, struct berr **err)
{
	if (!json_object_size(ports))
		return 0;
	char *save = ipt_save(err);
	if (!save)
		return -1;
	int r = dnat_conflicts(save, NULL, ports, err);
	free(save);
	return r;
}

static int port_lines(struct batch *b, const char *save, const void *arg, struct berr **err)
{
	const struct portarg *a = arg;
	char own[128], lo[64];
	snprintf(own, sizeof(own), "berth:%s:%s", a->br, a->cip);
	snprintf(lo, sizeof(lo), "berth:%s:lo", a->br);
	if (a->add && dnat_conflicts(save, own, a->ports, err) < 0)
		return -1;
	del_owned(b, save, T_NAT, own);
	del_owned(b, save, T_FILTER, own);
	if (!a->add)
		return 0;
	ensure_base(b, save, true);
	/* host loopback clients: masquerade towards the bridge (route_localnet) */
	char lotok[128];
	snprintf(lotok, sizeof(lotok), "--comment \"%s\"", lo);
	if (!has_line(save, T_NAT, "-A BERTH-POSTROUTING ", lotok))
		fprintf(b->t[T_NAT], "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o %s -m comment --comment \"%s\" -j MASQUERADE\n",
			a->br, lo);
	const char *key;
	json_t *arr;
	json_object_foreach(a->ports, key, arr) {
		const char *sl = strchr(key, '/');
		const char *proto = sl && !strcmp(sl + 1, "udp") ? "udp" : "tcp";
		int cport = atoi(key);
		size_t i;
		json_t *bd;
		json_array_foreach(arr, i, bd) {
			const char *hip = json_string_value(json_object_get(bd, "HostIp"));
			const char *hport = json_string_value(json_object_get(bd, "HostPort")) ?: "";
			char dst[80] = "";
			if (hip && *hip && strcmp(hip, "0.0.0.0"))
				snprintf(dst, sizeof(dst), "-d %s ", hip);
			fprintf(b->t[T_NAT],
				"-A BERTH-DNAT %s-p %s -m %s --dport %s -m comment --comment \"%s\" -j DNAT --to-destination %s:%d\n",
				dst, proto, proto, hport, own, a->cip, cport);
			fprintf(b->t[T_FILTER],
				"-I BERTH-FORWARD 1 -d %s ! -i %s -o %s -p %s -m %s --dport %d -m comment --comment \"%s\" -j ACCEPT\n",
				a->cip, a->br, a->br, proto, proto, cport, own);
		}
	}
	return 0;
}

int nat_ports_add(const char *bridge, const char *cip, json_t *ports, struct berr **err)
{
	if (!json_object_size(ports))
		return 0;
	char p[128];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	sysctl_write(p, "1");
	sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
	struct portarg a = {bridge, cip, ports, true};
	return change(port_lines, &a, err);
}

void nat_ports_remove(const char *bridge, const char *cip, json_t *ports)
{
	if (!json_object_size(ports))
		return;
	struct portarg a = {bridge, cip, ports, false};
	struct berr *e = NULL;
	change(port_lines, &a, &e);
	berr_free(e);
}

/* ---- sweeping (crash recovery) ---- */

struct sweeparg {
	const char *br;
	const char *const *keep; /* container addresses whose port rules stay */
	size_t nkeep;
	bool all;                /* also the network's own rules and berth:BR:lo */
};

/* Whether the rule owner "berth:BR[:X]" (quotes stripped) is to go. */
static bool sweep_owner(const struct sweeparg *a, const char *owner)
{
	size_t bl = strlen(a->br);
	if (strncmp(owner, "berth:", 6) || strncmp(owner + 6, a->br, bl))
		return false;
	const char *rest = owner + 6 + bl;
	if (!*rest)
		return a->all;
	if (*rest != ':')
		return false; /* another bridge whose name starts like this one */
	rest++;
	if (!strcmp(rest, "lo"))
		return a->all || a->nkeep == 0;
	if (!strcmp(rest, "svc"))
		return a->all; /* Services (src/net/svc.h) outlive their endpoints' containers */
	if (!strcmp(rest, "hostgw"))
		return a->all; /* the routes to other hosts' pods (src/net/hostgw.h) are the network's */
	for (size_t i = 0; i < a->nkeep; i++)
		if (!strcmp(rest, a->keep[i]))
			return false;
	return true;
}

static void sweep_table(struct batch *b, const char *save, int t, const struct sweeparg *a)
{
	const char *s, *e;
	if (!section(save, tname[t], &s, &e))
		return;
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t len = nl ? (size_t)(nl - l) : (size_t)(e - l);
		if (len > 3 && len < 2048 && !memcmp(l, "-A ", 3)) {
			char line[2048], owner[256];
			snprintf(line, sizeof(line), "%.*s", (int)len, l);
			const char *c = strstr(line, "--comment \"berth:");
			if (c && sscanf(c + 11, "%255[^\"]", owner) == 1 && sweep_owner(a, owner))
				fprintf(b->t[t], "-D %s\n", line + 3);
		}
		l += len + 1;
	}
}

static int sweep_lines(struct batch *b, const char *save, const void *arg, struct berr **err)
{
	(void)err;
	sweep_table(b, save, T_NAT, arg);
	sweep_table(b, save, T_FILTER, arg);
	return 0;
}

void nat_bridge_purge(const char *bridge)
{
	struct sweeparg a = {.br = bridge, .all = true};
	struct berr *e = NULL;
	change(sweep_lines, &a, &e);
	berr_free(e);
}

int nat_ports_sweep(const char *bridge, const char *const *keep_cips, size_t nkeep, struct berr **err)
{
	struct sweeparg a = {.br = bridge, .keep = keep_cips, .nkeep = nkeep};
	return change(sweep_lines, &a, err);
}

/* ---- batches for other modules (src/net/svc.c) ---- */

bool nat_save_section(const char *save, const char *table, const char **ret_start, const char **ret_end)
{
	return section(save, table, ret_start, ret_end);
}

bool nat_save_has_line(const char *save, const char *table, const char *prefix, const char *needle)
{
	return has_line(save, !strcmp(table, "nat") ? T_NAT : T_FILTER, prefix, needle);
}

void nat_save_del_owned(const char *save, const char *table, const char *owner, FILE *out)
{
	struct batch b = {0};
	int t = !strcmp(table, "nat") ? T_NAT : T_FILTER;
	b.t[t] = out;
	del_owned(&b, save, t, owner);
}

char *nat_save_text(struct berr **err)
{
	return ipt_save(err);
}

struct genarg {
	nat_batch_fn fn;
	void *arg;
};

static int gen_lines(struct batch *b, const char *save, const void *arg, struct berr **err)
{
	const struct genarg *g = arg;
	return g->fn(save, b->t[T_NAT], b->t[T_FILTER], g->arg, err);
}

int nat_batch(nat_batch_fn fn, void *arg, struct berr **err)
{
	struct genarg g = {fn, arg};
	return change(gen_lines, &g, err);
}
