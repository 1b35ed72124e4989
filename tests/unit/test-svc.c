/* Services (src/net/svc.h): validation and normalization, ClusterIP and
 * nodePort allocation, host-port duplicates, the iptables rule text, the
 * DNS records, and the DNS server's local zone (cluster.local: unknown
 * names NXDOMAIN, ancestors NOERROR without answers). */
#include "net/dns.h"
#include "net/dnsd.h"
#include "net/svc.h"
#include "unit.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/jsonx.h"

static char emsg[1024];

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j) {
		printf("# bad test JSON: %s: %s\n", je.text, text);
		exit(2);
	}
	return j;
}

static struct ipam_cidr C(const char *s)
{
	struct ipam_cidr c;
	if (ipam_cidr_parse(s, &c, NULL) < 0) {
		printf("# bad CIDR %s\n", s);
		exit(2);
	}
	return c;
}

/* normalize; NULL with emsg set on error */
static json_t *norm(const char *text, const char *subnet)
{
	json_t *in = J(text), *out = NULL;
	struct berr *e = NULL;
	struct ipam_cidr sn = subnet ? C(subnet) : (struct ipam_cidr){0};
	emsg[0] = 0;
	if (svc_normalize(in, subnet ? &sn : NULL, &out, &e) < 0) {
		snprintf(emsg, sizeof(emsg), "%s", e->msg);
		berr_free(e);
		out = NULL;
	}
	json_decref(in);
	return out;
}

static void bad(const char *text, const char *want, const char *what)
{
	json_t *n = norm(text, "10.84.3.0/24");
	CHECK(!n && strstr(emsg, want), "rejected: %s (%s)", what, emsg);
	if (n)
		json_decref(n);
}

static void test_normalize(void)
{
	json_t *n = norm("[{\"name\":\"web\",\"ports\":[{\"port\":80}],"
			 "\"endpoints\":[{\"ip\":\"10.84.3.9\"},{\"ip\":\"10.84.3.10\",\"ready\":false,\"ports\":[8080]}]},"
			 "{\"name\":\"api\",\"namespace\":\"b\",\"type\":\"NodePort\",\"ports\":[{\"port\":1,\"protocol\":\"UDP\"}]}]",
			 "10.84.3.0/24");
	CHECK(n != NULL, "a valid list normalizes (%s)", emsg);
	if (!n)
		return;
	_cleanup_free_ char *txt = jsonx_dumps(n, 1);
	CHECK_STR(txt,
		  "[{\"affinityTimeout\":0,\"clusterIP\":\"\",\"endpoints\":[],\"name\":\"api\",\"namespace\":\"b\","
		  "\"ports\":[{\"lbPort\":false,\"name\":\"\",\"nodePort\":0,\"port\":1,\"protocol\":\"UDP\"}],"
		  "\"publishNotReady\":false,\"sessionAffinity\":\"None\",\"type\":\"NodePort\"},"
		  "{\"affinityTimeout\":0,\"clusterIP\":\"\",\"endpoints\":[{\"hostname\":null,\"ip\":\"10.84.3.9\",\"ports\":[80],\"ready\":true},"
		  "{\"hostname\":null,\"ip\":\"10.84.3.10\",\"ports\":[8080],\"ready\":false}],\"name\":\"web\",\"namespace\":\"default\","
		  "\"ports\":[{\"lbPort\":false,\"name\":\"\",\"nodePort\":0,\"port\":80,\"protocol\":\"TCP\"}],"
		  "\"publishNotReady\":false,\"sessionAffinity\":\"None\",\"type\":\"ClusterIP\"}]",
		  "defaults filled, sorted by namespace/name, endpoints by address (numerically)");
	json_decref(n);

	n = norm("[{\"name\":\"lb\",\"type\":\"LoadBalancer\",\"sessionAffinity\":\"ClientIP\","
		 "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}},\"ports\":[{\"port\":80},{\"name\":\"b\",\"port\":81,\"lbPort\":false}]}]",
		 NULL);
	CHECK(n && json_is_true(json_object_get(json_array_get(json_object_get(json_array_get(n, 0), "ports"), 0), "lbPort")) &&
		      json_is_false(json_object_get(json_array_get(json_object_get(json_array_get(n, 0), "ports"), 1), "lbPort")) &&
		      json_integer_value(json_object_get(json_array_get(n, 0), "affinityTimeout")) == 60,
	      "LoadBalancer: lbPort defaults to true, can be turned off; affinity timeout kept");
	json_decref(n);
	n = norm("[{\"name\":\"c\",\"ports\":[{\"port\":80,\"nodePort\":30001}]}]", NULL);
	CHECK(n && json_integer_value(json_object_get(json_array_get(json_object_get(json_array_get(n, 0), "ports"), 0), "nodePort")) == 0,
	      "a nodePort left over on a ClusterIP Service is dropped");
	json_decref(n);
	n = norm("[{\"name\":\"h\",\"clusterIP\":\"None\",\"ports\":[]}]", NULL);
	CHECK(n != NULL, "a headless Service may have no port (%s)", emsg);
	json_decref(n);

	bad("{}", "not a JSON array", "not an array");
	bad("[{\"name\":\"Web\",\"ports\":[{\"port\":80}]}]", "DNS-1035", "upper-case name");
	bad("[{\"name\":\"1web\",\"ports\":[{\"port\":80}]}]", "DNS-1035", "name starting with a digit");
	bad("[{\"name\":\"w\",\"namespace\":\"a_b\",\"ports\":[{\"port\":80}]}]", "namespace \"a_b\"", "bad namespace");
	bad("[{\"name\":\"w\",\"type\":\"ExternalName\",\"ports\":[{\"port\":80}]}]", "ExternalName is not supported", "ExternalName");
	bad("[{\"name\":\"w\",\"type\":\"Foo\",\"ports\":[{\"port\":80}]}]", "type \"Foo\"", "unknown type");
	bad("[{\"name\":\"w\",\"ports\":[]}]", "at least one port", "no port");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":0}]}]", "ports[0].port", "port 0");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":\"80\"}]}]", "ports[0].port", "port as a string");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80,\"protocol\":\"SCTP\"}]}]", "SCTP is not supported", "SCTP");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80,\"protocol\":\"tcp\"}]}]", "must be TCP or UDP", "lowercase protocol");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80},{\"port\":80}]}]", "80/TCP is listed twice", "same port twice");
	bad("[{\"name\":\"w\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"a\",\"port\":81}]}]", "\"a\": used twice",
	    "same port name twice");
	bad("[{\"name\":\"w\",\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":8080}]}]", "range 30000-32767",
	    "nodePort out of range");
	bad("[{\"name\":\"w\",\"type\":\"NodePort\",\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}]", "headless",
	    "headless NodePort");
	bad("[{\"name\":\"w\",\"clusterIP\":\"10.84.300.1\",\"ports\":[{\"port\":80}]}]", "clusterIP \"10.84.300.1\"",
	    "bad clusterIP");
	bad("[{\"name\":\"w\",\"sessionAffinity\":\"Cookie\",\"ports\":[{\"port\":80}]}]", "sessionAffinity", "bad affinity");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}]},{\"name\":\"w\",\"ports\":[{\"port\":81}]}]", "default/w: listed twice",
	    "same Service twice");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.9.9.9\"}]}]",
	    "10.9.9.9 is not on the network (subnet 10.84.3.0/24)", "endpoint off the network");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"fd00::1\"}]}]", "not an IPv4 address",
	    "IPv6 endpoint");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.84.3.2\",\"ports\":[1,2]}]}]",
	    "array of 1 target ports", "target ports not aligned");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.84.3.2\"},{\"ip\":\"10.84.3.2\"}]}]",
	    "10.84.3.2 is listed twice", "same endpoint twice");
	bad("[{\"name\":\"w\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.84.3.2\",\"hostname\":\"A_B\"}]}]",
	    "hostname", "bad hostname");
	/* limits */
	char *big = malloc(1 << 20);
	size_t o = (size_t)sprintf(big, "[");
	for (int i = 0; i < NET_SVC_MAX + 1; i++)
		o += (size_t)sprintf(big + o, "%s{\"name\":\"s%d\",\"ports\":[{\"port\":80}]}", i ? "," : "", i);
	sprintf(big + o, "]");
	bad(big, "at most 1024", "too many Services");
	free(big);
}

/* allocate; returns norm (caller frees) or NULL with emsg */
static json_t *alloc(const char *text, const char *range, json_t *prev, const struct svc_ports *taken, bool *fresh)
{
	json_t *n = norm(text, NULL);
	if (!n)
		return NULL;
	struct ipam_cidr r = C(range);
	struct berr *e = NULL;
	emsg[0] = 0;
	if (svc_allocate(n, &r, prev, taken, fresh, &e) < 0) {
		snprintf(emsg, sizeof(emsg), "%s", e->msg);
		berr_free(e);
		json_decref(n);
		return NULL;
	}
	return n;
}

static const char *cip_of(json_t *n, size_t i)
{
	return jsonx_str(json_array_get(n, i), "clusterIP");
}

static json_int_t np_of(json_t *n, size_t i, size_t k)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(json_array_get(n, i), "ports"), k), "nodePort"));
}

static void test_allocate(void)
{
	const char *two = "[{\"name\":\"a\",\"ports\":[{\"port\":80}]},{\"name\":\"b\",\"ports\":[{\"port\":80}]}]";
	json_t *n1 = alloc(two, "10.84.9.0/24", NULL, NULL, NULL);
	json_t *n2 = alloc(two, "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(n1 && n2, "allocation (%s)", emsg);
	if (!n1 || !n2)
		return;
	CHECK(!strncmp(cip_of(n1, 0), "10.84.9.", 8) && strcmp(cip_of(n1, 0), cip_of(n1, 1)),
	      "ClusterIPs from the range, distinct (%s, %s)", cip_of(n1, 0), cip_of(n1, 1));
	CHECK(strcmp(cip_of(n1, 0), "10.84.9.0") && strcmp(cip_of(n1, 0), "10.84.9.1") && strcmp(cip_of(n1, 0), "10.84.9.255"),
	      "never the network, the bridge's or the broadcast address");
	CHECK_STR(cip_of(n2, 0), cip_of(n1, 0), "deterministic without a previous state (hash of NS/NAME)");
	/* a previous allocation is kept even when another service now hashes there */
	json_t *prev = J("[{\"namespace\":\"default\",\"name\":\"a\",\"clusterIP\":\"10.84.9.77\",\"type\":\"ClusterIP\",\"ports\":[]}]");
	json_t *n3 = alloc(two, "10.84.9.0/24", prev, NULL, NULL);
	CHECK(n3 && !strcmp(cip_of(n3, 0), "10.84.9.77"), "the previous ClusterIP stays (%s)", n3 ? cip_of(n3, 0) : emsg);
	json_decref(n3);
	/* a previous one outside the (new) range is not reused */
	json_decref(prev);
	prev = J("[{\"namespace\":\"default\",\"name\":\"a\",\"clusterIP\":\"10.84.8.77\",\"type\":\"ClusterIP\",\"ports\":[]}]");
	n3 = alloc(two, "10.84.9.0/24", prev, NULL, NULL);
	CHECK(n3 && !strcmp(cip_of(n3, 0), cip_of(n1, 0)), "a previous address outside the range is allocated again");
	json_decref(n3);
	json_decref(prev);
	/* explicit */
	n3 = alloc("[{\"name\":\"a\",\"clusterIP\":\"10.84.9.5\",\"ports\":[{\"port\":80}]}]", "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(n3 && !strcmp(cip_of(n3, 0), "10.84.9.5"), "a requested ClusterIP is used");
	json_decref(n3);
	n3 = alloc("[{\"name\":\"a\",\"clusterIP\":\"10.84.8.5\",\"ports\":[{\"port\":80}]}]", "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(!n3 && strstr(emsg, "clusterIP 10.84.8.5 is not in the service range 10.84.9.0/24"), "out of range: %s", emsg);
	n3 = alloc("[{\"name\":\"a\",\"clusterIP\":\"10.84.9.1\",\"ports\":[{\"port\":80}]}]", "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(!n3 && strstr(emsg, "not in the service range"), "the bridge's address is refused: %s", emsg);
	n3 = alloc("[{\"name\":\"a\",\"clusterIP\":\"10.84.9.5\",\"ports\":[{\"port\":80}]},{\"name\":\"b\",\"clusterIP\":\"10.84.9.5\",\"ports\":[{\"port\":80}]}]",
		   "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(!n3 && strstr(emsg, "service default/b: clusterIP 10.84.9.5 is already allocated to service default/a"),
	      "two requests for one address: %s", emsg);
	n3 = alloc("[{\"name\":\"h\",\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}]", "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(n3 && !strcmp(cip_of(n3, 0), "None"), "headless stays None");
	json_decref(n3);
	/* exhaustion: a /29 has 8 - 3 = 5 ClusterIPs */
	char buf[2048];
	size_t o = (size_t)sprintf(buf, "[");
	for (int i = 0; i < 6; i++)
		o += (size_t)sprintf(buf + o, "%s{\"name\":\"s%d\",\"ports\":[{\"port\":80}]}", i ? "," : "", i);
	sprintf(buf + o, "]");
	n3 = alloc(buf, "10.84.9.0/29", NULL, NULL, NULL);
	CHECK(!n3 && strstr(emsg, "no free ClusterIP left in the service range 10.84.9.0/29"), "exhaustion: %s", emsg);
	o = (size_t)sprintf(buf, "[");
	for (int i = 0; i < 5; i++)
		o += (size_t)sprintf(buf + o, "%s{\"name\":\"s%d\",\"ports\":[{\"port\":80}]}", i ? "," : "", i);
	sprintf(buf + o, "]");
	n3 = alloc(buf, "10.84.9.0/29", NULL, NULL, NULL);
	CHECK(n3 != NULL, "5 fit in a /29 (%s)", emsg);
	json_decref(n3);

	/* nodePorts */
	const char *np = "[{\"name\":\"n\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81,\"nodePort\":30005}]}]";
	bool fresh = false;
	n3 = alloc(np, "10.84.9.0/24", NULL, NULL, &fresh);
	CHECK(n3 && fresh && np_of(n3, 0, 0) == 0 && np_of(n3, 0, 1) == 30005,
	      "without the host's ports: fresh nodePorts are left to do, requested ones kept");
	json_decref(n3);
	struct svc_ports *taken = calloc(1, sizeof(*taken));
	n3 = alloc(np, "10.84.9.0/24", NULL, taken, &fresh);
	json_int_t got = n3 ? np_of(n3, 0, 0) : 0;
	CHECK(n3 && !fresh && got >= 30000 && got <= 32767 && got != 30005, "a fresh nodePort (%lld)", (long long)got);
	json_decref(n3);
	svc_ports_set(taken, 0, (unsigned)got);
	n3 = alloc(np, "10.84.9.0/24", NULL, taken, &fresh);
	CHECK(n3 && np_of(n3, 0, 0) != got && np_of(n3, 0, 0) >= 30000, "a taken host port is skipped (%lld)",
	      n3 ? (long long)np_of(n3, 0, 0) : 0LL);
	json_decref(n3);
	prev = J("[{\"namespace\":\"default\",\"name\":\"n\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":8080,\"nodePort\":31111}]}]");
	n3 = alloc(np, "10.84.9.0/24", prev, NULL, &fresh);
	CHECK(n3 && !fresh && np_of(n3, 0, 0) == 31111, "the previous nodePort of the same (named) port stays");
	json_decref(n3);
	json_decref(prev);
	free(taken);
	json_decref(n1);
	json_decref(n2);

	/* host ports wanted twice */
	json_t *d = alloc("[{\"name\":\"a\",\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80,\"nodePort\":30080}]},"
			  "{\"name\":\"b\",\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80,\"nodePort\":30081}]}]",
			  "10.84.9.0/24", NULL, NULL, NULL);
	struct berr *e = NULL;
	CHECK(d && svc_hostports_dups(d, &e) < 0 && e && e->code == BERR_CONFLICT &&
		      strstr(e->msg, "Bind for 0.0.0.0:80 failed: port is already allocated (service default/a and service default/b both want 80/TCP)"),
	      "two LoadBalancers on one port: %s", e ? e->msg : "no error");
	berr_freep(&e);
	json_decref(d);
	d = alloc("[{\"name\":\"a\",\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80,\"protocol\":\"UDP\"}]},"
		  "{\"name\":\"b\",\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}]}]",
		  "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(d && svc_hostports_dups(d, &e) == 0, "80/udp and 80/tcp do not collide");
	berr_freep(&e);
	json_decref(d);
	d = alloc("[{\"name\":\"a\",\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]},"
		  "{\"name\":\"b\",\"type\":\"LoadBalancer\",\"ports\":[{\"port\":30080}]}]",
		  "10.84.9.0/24", NULL, NULL, NULL);
	CHECK(d && svc_hostports_dups(d, &e) < 0 && strstr(e->msg, "0.0.0.0:30080"), "a nodePort against a LoadBalancer port: %s",
	      e ? e->msg : "no error");
	berr_freep(&e);
	json_decref(d);
}

static char *rules(json_t *n, char **ret_filter)
{
	char *nb = NULL, *fb = NULL;
	size_t nl = 0, fl = 0;
	FILE *nf = open_memstream(&nb, &nl), *ff = open_memstream(&fb, &fl);
	struct svc_net sn = {"br-x", "10.84.3.0/24", "10.84.9.0/24", "berth:br-x:svc"};
	svc_rules(&sn, n, nf, ff);
	fclose(nf);
	fclose(ff);
	*ret_filter = fb;
	return nb;
}

static void test_rules(void)
{
	json_t *n = alloc("[{\"name\":\"web\",\"clusterIP\":\"10.84.9.10\",\"ports\":[{\"port\":80}],"
			  "\"endpoints\":[{\"ip\":\"10.84.3.4\",\"ports\":[8080]},{\"ip\":\"10.84.3.2\",\"ports\":[8080]},"
			  "{\"ip\":\"10.84.3.3\",\"ports\":[8080]},{\"ip\":\"10.84.3.5\",\"ready\":false,\"ports\":[8080]}]}]",
			  "10.84.9.0/24", NULL, NULL, NULL);
	char *f = NULL, *t = n ? rules(n, &f) : NULL;
	CHECK_STR(t,
		  "-A BERTH-SERVICES -d 10.84.9.10/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.3333333333 -m comment --comment \"berth:br-x:svc\" -j DNAT --to-destination 10.84.3.2:8080\n"
		  "-A BERTH-SERVICES -d 10.84.9.10/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.5000000000 -m comment --comment \"berth:br-x:svc\" -j DNAT --to-destination 10.84.3.3:8080\n"
		  "-A BERTH-SERVICES -d 10.84.9.10/32 -p tcp -m tcp --dport 80 -m comment --comment \"berth:br-x:svc\" -j DNAT --to-destination 10.84.3.4:8080\n"
		  "-A BERTH-POSTROUTING -s 10.84.3.0/24 -o br-x -m conntrack --ctstate DNAT -m comment --comment \"berth:br-x:svc\" -j MASQUERADE\n"
		  "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o br-x -m comment --comment \"berth:br-x:svc\" -j MASQUERADE\n",
		  "ClusterIP: 1/3, 1/2, rest over the ready endpoints (not the unready one), hairpin and loopback masquerade");
	CHECK_STR(f, "", "no filter rule while endpoints are ready");
	free(t);
	free(f);
	json_decref(n);

	n = alloc("[{\"name\":\"lb\",\"clusterIP\":\"10.84.9.11\",\"type\":\"LoadBalancer\",\"sessionAffinity\":\"ClientIP\","
		  "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}},"
		  "\"ports\":[{\"port\":80,\"nodePort\":30080}],"
		  "\"endpoints\":[{\"ip\":\"10.84.3.2\",\"ports\":[80]},{\"ip\":\"10.84.3.3\",\"ports\":[80]}]}]",
		  "10.84.9.0/24", NULL, NULL, NULL);
	t = n ? rules(n, &f) : NULL;
	/* the affinity lists: one per (port, endpoint), shared by every entry point */
	int upd = 0, set = 0, dnat_host = 0;
	for (char *l = t; l && *l; l = strchr(l, '\n') + 1) {
		upd += !!strstr(l, "--update --seconds 60 --reap") && strstr(l, "--update") < strchr(l, '\n');
		set += strstr(l, "--set ") && strstr(l, "--set ") < strchr(l, '\n');
	}
	for (char *l = t; l && *l; l = strchr(l, '\n') + 1)
		dnat_host += !strncmp(l, "-A BERTH-DNAT -p tcp -m tcp --dport ", 36);
	CHECK(upd == 6 && set == 6, "ClientIP: an --update and a --set rule per endpoint and entry point (%d, %d)", upd, set);
	CHECK(dnat_host == 8, "the nodePort and the LoadBalancer port balance as the ClusterIP (%d BERTH-DNAT rules)", dnat_host);
	CHECK(t && strstr(t, "-A BERTH-DNAT -p tcp -m tcp --dport 30080 -m recent --name berth-") &&
		      strstr(t, "-m comment --comment \"berth:br-x:svc\" -m comment --comment \"service default/lb\" -j DNAT --to-destination 10.84.3.2:80"),
	      "host-port rules name their Service");
	CHECK(f && strstr(f, "-I BERTH-FORWARD 1 ! -i br-x -o br-x -p tcp -m conntrack --ctstate DNAT ! --ctorigdst 10.84.9.0/24 --ctorigdstport 80 -m comment --comment \"berth:br-x:svc\" -j ACCEPT\n") &&
		      strstr(f, "--ctorigdstport 30080 "),
	      "host ports are let through from outside the bridge");
	/* the same list names for the ClusterIP and the host ports */
	char n1[64] = "", n2[64] = "";
	const char *a = t ? strstr(t, "-d 10.84.9.11/32 -p tcp -m tcp --dport 80 -m recent --name ") : NULL;
	const char *b = t ? strstr(t, "--dport 30080 -m recent --name ") : NULL;
	if (a && b) {
		sscanf(strstr(a, "--name ") + 7, "%63s", n1);
		sscanf(strstr(b, "--name ") + 7, "%63s", n2);
	}
	CHECK(*n1 && !strcmp(n1, n2), "affinity is shared by the ClusterIP and the nodePort (%s %s)", n1, n2);
	free(t);
	free(f);
	json_decref(n);

	n = alloc("[{\"name\":\"np\",\"clusterIP\":\"10.84.9.12\",\"type\":\"NodePort\",\"ports\":[{\"port\":53,\"protocol\":\"UDP\",\"nodePort\":30053}],"
		  "\"endpoints\":[{\"ip\":\"10.84.3.2\",\"ready\":false}]}]",
		  "10.84.9.0/24", NULL, NULL, NULL);
	t = n ? rules(n, &f) : NULL;
	CHECK_STR(f,
		  "-A BERTH-SERVICES -d 10.84.9.12/32 -p udp -m udp --dport 53 -m comment --comment \"berth:br-x:svc\" -j REJECT --reject-with icmp-port-unreachable\n"
		  "-A BERTH-SERVICES -p udp -m addrtype --dst-type LOCAL -m udp --dport 30053 -m comment --comment \"berth:br-x:svc\" -j REJECT --reject-with icmp-port-unreachable\n",
		  "no ready endpoint: REJECT on the ClusterIP and the host port");
	CHECK(t && strstr(t, "-A BERTH-DNAT -p udp -m udp --dport 30053 -m comment --comment \"berth:br-x:svc\" -m comment --comment \"service default/np\" -j RETURN\n"),
	      "the host port stays held by a RETURN rule");
	free(t);
	free(f);
	json_decref(n);

	n = alloc("[{\"name\":\"t\",\"clusterIP\":\"10.84.9.13\",\"ports\":[{\"port\":80}]}]", "10.84.9.0/24", NULL, NULL, NULL);
	t = n ? rules(n, &f) : NULL;
	CHECK_STR(f,
		  "-A BERTH-SERVICES -d 10.84.9.13/32 -p tcp -m tcp --dport 80 -m comment --comment \"berth:br-x:svc\" -j REJECT --reject-with tcp-reset\n",
		  "TCP without endpoints: a reset (an ICMP error can reach the pod while connect() holds the socket)");
	free(t);
	free(f);
	json_decref(n);

	n = alloc("[{\"name\":\"h\",\"clusterIP\":\"None\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.84.3.2\"}]}]", "10.84.9.0/24",
		  NULL, NULL, NULL);
	t = n ? rules(n, &f) : NULL;
	CHECK(t && f && !*t && !*f, "headless: no rules at all");
	free(t);
	free(f);
	json_decref(n);
}

static void test_records(void)
{
	json_t *n = alloc("[{\"name\":\"web\",\"namespace\":\"shop\",\"clusterIP\":\"10.84.9.10\",\"ports\":[{\"port\":80}]},"
			  "{\"name\":\"db\",\"namespace\":\"shop\",\"clusterIP\":\"None\",\"ports\":[{\"port\":5432}],"
			  "\"endpoints\":[{\"ip\":\"10.84.3.3\",\"hostname\":\"db-1\"},{\"ip\":\"10.84.3.2\",\"hostname\":\"db-0\"},"
			  "{\"ip\":\"10.84.3.4\",\"hostname\":\"db-2\",\"ready\":false}]}]",
			  "10.84.9.0/24", NULL, NULL, NULL);
	_cleanup_free_ char *r = n ? svc_records(n) : NULL;
	CHECK_STR(r,
		  "# berth Services (src/net/svc.c)\n@zone cluster.local\n"
		  "db.shop.svc.cluster.local db.shop.svc db.shop db 10.84.3.2 10.84.3.3\n"
		  "db-0.db.shop.svc.cluster.local db-0.db.shop.svc db-0.db.shop db-0.db 10.84.3.2\n"
		  "db-1.db.shop.svc.cluster.local db-1.db.shop.svc db-1.db.shop db-1.db 10.84.3.3\n"
		  "web.shop.svc.cluster.local web.shop.svc web.shop web 10.84.9.10\n",
		  "records: four forms, headless -> ready endpoints, their hostnames");
	json_decref(n);
	json_t *empty = json_array();
	_cleanup_free_ char *r0 = svc_records(empty);
	CHECK_STR(r0, "", "no Service: no records (not even the zone)");
	json_decref(empty);
}

/* ---- the DNS server's local zone ---- */

static int ask(struct dnsd *d, int fd, const char *name, uint16_t type, int *rcode, int *nans, bool *aa)
{
	static uint16_t id = 100;
	uint8_t q[512], r[2048];
	struct dns_builder b;
	struct dns_header h = {.id = ++id, .flags = DNS_F_RD};
	dns_builder_init(&b, q, sizeof(q));
	if (dns_put_header(&b, &h) < 0 || dns_put_question(&b, name, type, DNS_C_IN) < 0)
		return -1;
	send(fd, q, b.len, 0);
	int pfd[2], n = dnsd_fds(d, pfd, 2);
	for (int k = 0; k < 40; k++) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (n == 1 && poll(&p, 1, 50) > 0)
			dnsd_dispatch(d, 0, NULL);
		ssize_t got = recv(fd, r, sizeof(r), MSG_DONTWAIT);
		if (got > 0) {
			struct dns_header rh;
			if (dns_get_header(r, (size_t)got, &rh) < 0 || rh.id != id)
				continue;
			*rcode = DNS_RCODE(rh.flags);
			*nans = rh.ancount;
			*aa = rh.flags & DNS_F_AA;
			return 0;
		}
	}
	return -1;
}

static void test_zone(void)
{
	char dir[] = "/tmp/test-svc.XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/records", dir);
	FILE *f = fopen(path, "w");
	fputs("c1 10.84.3.2\n# berth Services\n  @zone cluster.local\n"
	      "web.shop.svc.cluster.local web.shop.svc web.shop web 10.84.9.10\n@zone  bad..zone\n",
	      f);
	fclose(f);
	struct dnsd *d = NULL;
	struct berr *e = NULL;
	int rc = dnsd_new("127.0.0.1", 0, path, NULL, &d, &e);
	CHECK(rc == 0, "dnsd with a zone (%s)", e ? e->msg : "ok");
	if (rc < 0) {
		berr_free(e);
		return;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dnsd_port(d))};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int rcode = -1, nans = -1;
	bool aa = false;
	CHECK(ask(d, fd, "web.shop.svc.cluster.local", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == 0 && nans == 1,
	      "a Service name answers (rcode %d, %d answers)", rcode, nans);
	CHECK(ask(d, fd, "WEB.shop", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == 0 && nans == 1, "short form, any case");
	CHECK(ask(d, fd, "google.com.shop.svc.cluster.local", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == DNS_R_NXDOMAIN &&
		      aa,
	      "an unknown name under cluster.local: NXDOMAIN, authoritative (rcode %d)", rcode);
	CHECK(ask(d, fd, "nosuch.cluster.local.", DNS_T_AAAA, &rcode, &nans, &aa) == 0 && rcode == DNS_R_NXDOMAIN,
	      "AAAA of an unknown name: NXDOMAIN too");
	CHECK(ask(d, fd, "shop.svc.cluster.local", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == 0 && nans == 0,
	      "an ancestor of a name (empty non-terminal): NOERROR, no answer (rcode %d)", rcode);
	CHECK(ask(d, fd, "cluster.local", DNS_T_SOA, &rcode, &nans, &aa) == 0 && rcode == 0 && nans == 0,
	      "the zone itself: NOERROR");
	CHECK(ask(d, fd, "notcluster.local", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == DNS_R_SERVFAIL,
	      "a name that only ends like the zone is forwarded (no upstream here: SERVFAIL, rcode %d)", rcode);
	CHECK(ask(d, fd, "example.com", DNS_T_A, &rcode, &nans, &aa) == 0 && rcode == DNS_R_SERVFAIL,
	      "other names are forwarded");
	struct dnsd_stats st;
	dnsd_get_stats(d, &st);
	CHECK(st.bad_lines == 1, "a bad zone name is a bad line (%u)", st.bad_lines);
	close(fd);
	dnsd_free(d);
	unlink(path);
	rmdir(dir);
}


/* a given range (the cluster's): addresses checked, never chosen */
static void test_given(void)
{
	struct ipam_cidr r = C("10.97.0.0/16");
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[{\"name\":\"a\",\"clusterIP\":\"10.97.0.1\",\"ports\":[{\"port\":443}]},"
		 "{\"name\":\"h\",\"clusterIP\":\"None\",\"ports\":[]}]", NULL},
		{"[{\"name\":\"a\",\"ports\":[{\"port\":80}]}]", "clusterIP \"\" is not an address of the service range 10.97.0.0/16"},
		{"[{\"name\":\"a\",\"clusterIP\":\"10.98.0.5\",\"ports\":[{\"port\":80}]}]", "\"10.98.0.5\" is not an address"},
		{"[{\"name\":\"a\",\"clusterIP\":\"10.97.255.255\",\"ports\":[{\"port\":80}]}]", "\"10.97.255.255\" is not"},
		{"[{\"name\":\"a\",\"clusterIP\":\"10.97.0.0\",\"ports\":[{\"port\":80}]}]", "\"10.97.0.0\" is not"},
		{"[{\"name\":\"a\",\"clusterIP\":\"10.97.3.3\",\"ports\":[{\"port\":80}]},"
		 "{\"name\":\"b\",\"clusterIP\":\"10.97.3.3\",\"ports\":[{\"port\":80}]}]",
		 "service default/b: clusterIP 10.97.3.3 is already allocated to service default/a"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *n = norm(cases[i].text, NULL);
		struct berr *e = NULL;
		int rc = n ? svc_check_given(n, &r, &e) : -1;
		if (!cases[i].want)
			CHECK(rc == 0 && !strcmp(cip_of(n, 0), "10.97.0.1"), "given case %zu accepted as it is (%s)", i,
			      e ? e->msg : "");
		else
			CHECK(rc < 0 && e && strstr(e->msg, cases[i].want), "given case %zu refused: want \"%s\", got \"%s\"", i,
			      cases[i].want, e ? e->msg : "(accepted)");
		berr_free(e);
		json_decref(n);
	}
}

int main(void)
{
	test_normalize();
	test_allocate();
	test_given();
	test_rules();
	test_records();
	test_zone();
	UNIT_END();
}
