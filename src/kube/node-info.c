/* What the node agent reports about this machine: its address, capacity,
 * nodeInfo and conditions (the Node's status, as the kubelet posts it). */
#include "kube/node-int.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

long long node_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void node_now(char *buf, size_t n, bool micro)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (micro)
		snprintf(buf, n, "%s.%06ldZ", base, ts.tv_nsec / 1000);
	else
		snprintf(buf, n, "%sZ", base);
}

void kube_node_default_name(const char *hostname, char *buf, size_t n)
{
	size_t j = 0;
	for (const char *s = hostname; *s && j + 1 < n && j < 253; s++) {
		char ch = (char)tolower((unsigned char)*s);
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')
			buf[j++] = ch;
		else
			buf[j++] = '-';
	}
	while (j > 0 && (buf[j - 1] == '-' || buf[j - 1] == '.'))
		j--;
	size_t k = 0;
	while (k < j && (buf[k] == '-' || buf[k] == '.'))
		k++;
	memmove(buf, buf + k, j - k);
	j -= k;
	if (j == 0 && n > 4)
		j = (size_t)snprintf(buf, n, "node");
	buf[j] = 0;
}

/* The interface of the default route (/proc/net/route), else "". */
static void default_iface(char *buf, size_t n)
{
	buf[0] = 0;
	FILE *f = fopen("/proc/net/route", "re");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned long dst, mask;
		unsigned flags;
		if (sscanf(line, "%63s %lx %*x %x %*d %*d %*d %lx", ifn, &dst, &flags, &mask) == 4 && dst == 0 &&
		    mask == 0 && (flags & 1)) {
			snprintf(buf, n, "%s", ifn);
			break;
		}
	}
	fclose(f);
}

void node_ip_default(char *buf, size_t n)
{
	char ifn[64];
	default_iface(ifn, sizeof(ifn));
	struct ifaddrs *ifa = NULL, *i;
	snprintf(buf, n, "127.0.0.1");
	if (getifaddrs(&ifa) < 0)
		return;
	const char *any = NULL;
	char abuf[INET_ADDRSTRLEN];
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP))
			continue;
		/* berth's own bridges are not the host's address */
		if (!strncmp(i->ifa_name, "berth", 5) || !strncmp(i->ifa_name, "br-", 3) ||
		    !strncmp(i->ifa_name, "veth", 4))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, abuf, sizeof(abuf));
		if (*ifn && !strcmp(i->ifa_name, ifn)) {
			snprintf(buf, n, "%s", abuf);
			freeifaddrs(ifa);
			return;
		}
		if (!any) {
			snprintf(buf, n, "%s", abuf);
			any = buf;
		}
	}
	freeifaddrs(ifa);
}

static void read_line(const char *path, char *buf, size_t n)
{
	buf[0] = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)n, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void os_image(char *buf, size_t n)
{
	snprintf(buf, n, "Linux");
	FILE *f = fopen("/etc/os-release", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = 0;
		size_t l = strlen(v);
		if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
			v[l - 1] = 0;
			v++;
		}
		if (snprintf(buf, n, "%s", v) >= (int)n && n > 0)
			buf[n - 1] = 0;
		break;
	}
	fclose(f);
}

static long long mem_total_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	long long kb = 0;
	if (!f)
		return 0;
	char line[256];
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

json_t *node_status_json(const struct node *nd, bool ready)
{
	char now[40];
	node_now(now, sizeof(now), false);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = mem_total_kib();
	struct statvfs sv;
	long long disk = statvfs(nd->o->root, &sv) == 0 ? (long long)sv.f_blocks * (long long)sv.f_frsize / 1024 : 0;
	json_t *cap = json_pack("{s:s,s:s}", "pods", "110", "hugepages-2Mi", "0");
	json_object_set_new(cap, "cpu", json_sprintf("%ld", cpus > 0 ? cpus : 1));
	json_object_set_new(cap, "memory", json_sprintf("%lldKi", mem));
	json_object_set_new(cap, "ephemeral-storage", json_sprintf("%lldKi", disk));
	json_t *conds = json_array();
	static const struct {
		const char *type, *reason, *msg;
	} pressure[] = {
		{"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
	};
	for (size_t i = 0; i < sizeof(pressure) / sizeof(pressure[0]); i++)
		json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", pressure[i].type, "status",
						       "False", "reason", pressure[i].reason, "message", pressure[i].msg,
						       "lastHeartbeatTime", now, "lastTransitionTime", now));
	json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Ready", "status",
					       ready ? "True" : "False", "reason",
					       ready ? "KubeletReady" : "KubeletNotReady", "message",
					       ready ? "kubelet is posting ready status" : "berth node agent stopped",
					       "lastHeartbeatTime", now, "lastTransitionTime", now));
	struct utsname u;
	uname(&u);
	char mid[128], boot[128], osimg[256], uuid[128];
	read_line("/etc/machine-id", mid, sizeof(mid));
	read_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	read_line("/sys/class/dmi/id/product_uuid", uuid, sizeof(uuid));
	os_image(osimg, sizeof(osimg));
	char ver[128];
	snprintf(ver, sizeof(ver), "berth://%s", BERTH_VERSION);
	const char *arch = !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine;
	json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "machineID", mid, "systemUUID",
				 *uuid ? uuid : mid, "bootID", boot, "kernelVersion", u.release, "osImage", osimg,
				 "containerRuntimeVersion", ver, "kubeletVersion", "v" BERTH_VERSION "-berth",
				 "operatingSystem", "linux", "architecture", arch);
	json_t *addrs = json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address", nd->ip, "type", "Hostname",
				  "address", nd->name);
	int port = nd->o->kubelet_port > 0 ? nd->o->kubelet_port : 10250;
	return json_pack("{s:{s:O,s:o,s:o,s:o,s:{s:{s:i}},s:o}}", "status", "capacity", cap, "allocatable", cap,
			 "conditions", conds, "addresses", addrs, "daemonEndpoints", "kubeletEndpoint", "Port", port,
			 "nodeInfo", info);
}
