/* The pod runtime's pure parts (runtime/pod.h): Kubernetes quantities,
 * the kubelet's cpu shares and quota, command/args over the image's
 * ENTRYPOINT/CMD, the managed /etc/hosts and resolv.conf, and the checks
 * pod_create makes of a resolved spec (errors name the field; nothing is
 * written). */
#include "runtime/pod.h"
#include "util/quantity.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void qty(const char *s, int scale, int64_t want)
{
	int64_t v = -7;
	int r = quantity_parse(s, scale, &v);
	CHECK(r == 0 && v == want, "quantity \"%s\" x10^%d = %lld (want %lld)", s, scale, (long long)v, (long long)want);
}

static void qty_bad(const char *s)
{
	int64_t v = -7;
	CHECK(quantity_parse(s, 3, &v) < 0 && v == -7, "quantity \"%s\" is refused", s);
}

static char *cmd_of(const char *command, const char *args)
{
	_cleanup_json_ json_t *req = json_object();
	_cleanup_json_ json_t *c = command ? json_loads(command, 0, NULL) : NULL;
	_cleanup_json_ json_t *a = args ? json_loads(args, 0, NULL) : NULL;
	pod_command_apply(req, c, a);
	return json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
}

static void cmd(const char *command, const char *args, const char *want, const char *what)
{
	char *got = cmd_of(command, args);
	CHECK_STR(got, want, "command/args: %s", what);
	free(got);
}

static struct ctr_store *cs;

/* pod_create of spec (a JSON text): the error message, NULL on success. */
static char *create_err(const char *spec)
{
	json_error_t je;
	_cleanup_json_ json_t *s = json_loads(spec, 0, &je);
	if (!s) {
		printf("# bad test JSON: %s\n", je.text);
		return strdup("bad test JSON");
	}
	_cleanup_json_ json_t *pod = json_pack("{s:O, s:{}}", "spec", s, "meta");
	struct berr *e = NULL;
	if (pod_create(cs, NULL, pod, &e) == 0)
		return NULL;
	char *m = strdup(e->msg);
	berr_free(e);
	return m;
}

static void refused(const char *spec, const char *want, const char *what)
{
	char *m = create_err(spec);
	CHECK(m && strstr(m, want), "pod_create refuses %s", what);
	if (!m || !strstr(m, want))
		printf("#   got:  %s\n#   want: ...%s...\n", m ? m : "(success)", want);
	free(m);
}

#define C0 "{\"name\":\"a\",\"image\":\"bb\"}"
#define SPEC(extra, ctrs) "{\"namespace\":\"default\",\"name\":\"p\",\"network\":\"n\"" extra ",\"containers\":[" ctrs "]}"

int main(void)
{
	qty("1", 3, 1000);
	qty("500m", 3, 500);
	qty("0.5", 3, 500);
	qty("1.5", 3, 1500);
	qty("100m", 0, 1);          /* whole units round up */
	qty("0.0001", 3, 1);        /* a fraction of a milli-unit counts as one */
	qty("128Mi", 0, 134217728);
	qty("1Gi", 0, 1073741824);
	qty("1G", 0, 1000000000);
	qty("2k", 0, 2000);
	qty("1e3", 0, 1000);
	qty("1E3", 0, 1000);
	qty("1E", 0, 1000000000000000000LL);
	qty("2.5Ki", 0, 2560);
	qty("+3", 0, 3);
	qty("250000u", 3, 250);
	qty("0", 3, 0);
	qty_bad("");
	qty_bad("abc");
	qty_bad("-1");
	qty_bad("1Xi");
	qty_bad("1 Mi");
	qty_bad("100Ei"); /* beyond int64 */
	qty_bad("1.2.3");

	CHECK(pod_cpu_shares(0) == 2, "no request: 2 shares, as the kubelet");
	CHECK(pod_cpu_shares(1) == 2, "1m: at least 2 shares");
	CHECK(pod_cpu_shares(100) == 102, "100m: 102 shares");
	CHECK(pod_cpu_shares(250) == 256, "250m: 256 shares");
	CHECK(pod_cpu_shares(1000) == 1024, "1 CPU: 1024 shares");
	CHECK(pod_cpu_shares(1000000) == 262144, "at most 262144 shares");
	CHECK(pod_cpu_quota(0, 100000) == 0, "no limit: no quota");
	CHECK(pod_cpu_quota(500, 100000) == 50000, "500m: quota 50000 of 100000");
	CHECK(pod_cpu_quota(2000, 100000) == 200000, "2 CPUs: quota 200000");
	CHECK(pod_cpu_quota(5, 100000) == 1000, "5m: the minimum quota 1000");

	cmd(NULL, NULL, "{}", "neither: the image's ENTRYPOINT and CMD");
	cmd("[\"/bin/sh\",\"-c\"]", NULL, "{\"Cmd\":[],\"Entrypoint\":[\"/bin/sh\",\"-c\"]}",
	    "command only replaces ENTRYPOINT and drops CMD");
	cmd("[\"echo\"]", "[\"a\",\"b\"]", "{\"Cmd\":[\"a\",\"b\"],\"Entrypoint\":[\"echo\"]}", "command and args");
	cmd(NULL, "[\"x\"]", "{\"Cmd\":[\"x\"]}", "args only keep the image's ENTRYPOINT");
	cmd("[]", "[]", "{}", "empty arrays count as unset");
	cmd("[]", "[\"x\"]", "{\"Cmd\":[\"x\"]}", "an empty command with args");

	_cleanup_json_ json_t *aliases = json_loads("[{\"ip\":\"10.1.2.3\",\"hostnames\":[\"foo\",\"bar\"]}]", 0, NULL);
	char *h = pod_hosts_file("10.84.0.5", "web-0", "nginx", "default", aliases);
	CHECK(strstr(h, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n") == h, "hosts: the kubelet's header");
	CHECK(strstr(h, "\n10.84.0.5\tweb-0.nginx.default.svc.cluster.local\tweb-0\n") != NULL,
	      "hosts: FQDN and hostname with a subdomain");
	CHECK(strstr(h, "\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n") != NULL, "hosts: hostAliases");
	free(h);
	h = pod_hosts_file("10.84.0.6", "solo", "", "ns1", NULL);
	CHECK(strstr(h, "\n10.84.0.6\tsolo\n") != NULL && !strstr(h, "HostAliases"), "hosts: no subdomain, no aliases");
	free(h);

	char *r = pod_resolv_file(NULL, "shop", "10.84.0.1");
	CHECK_STR(r, "nameserver 10.84.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
		  "resolv.conf: ClusterFirst by default");
	free(r);
	_cleanup_json_ json_t *dns = json_loads(
		"{\"nameservers\":[\"1.1.1.1\"],\"searches\":[\"a.b\",\"c\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}",
		0, NULL);
	r = pod_resolv_file(dns, "shop", "10.84.0.1");
	CHECK_STR(r, "nameserver 1.1.1.1\nsearch a.b c\noptions ndots:2 edns0\n", "resolv.conf: spec.dns");
	free(r);
	_cleanup_json_ json_t *dns2 = json_loads("{\"searches\":[\"x\"]}", 0, NULL);
	r = pod_resolv_file(dns2, "shop", "10.84.0.1");
	CHECK_STR(r, "nameserver 10.84.0.1\nsearch x\n", "resolv.conf: no nameservers -> the network's DNS server");
	free(r);

	char tmpl[] = "/tmp/test-pod-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char root[300], run[300];
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	struct berr *e = NULL;
	if (!dir || ctr_store_open(root, run, &cs, &e) < 0) {
		CHECK(0, "opening a container store: %s", e ? e->msg : "mkdtemp");
		UNIT_END();
	}
	refused("[]", "spec: must be an object", "a spec that is no object");
	refused("{\"namespace\":\"default\",\"name\":\"p\",\"containers\":[" C0 "]}", "spec: network is required", "no network");
	refused(SPEC("", ""), "spec.containers: at least one container", "no containers");
	refused(SPEC(",\"restartPolicy\":\"Sometimes\"", C0), "spec.restartPolicy: \"Sometimes\" is not one of",
		"a bad restartPolicy");
	refused("{\"namespace\":\"Def\",\"name\":\"p\",\"network\":\"n\",\"containers\":[" C0 "]}",
		"spec.namespace: \"Def\" must be a DNS label", "an upper-case namespace");
	refused("{\"namespace\":\"default\",\"name\":\"../x\",\"network\":\"n\",\"containers\":[" C0 "]}",
		"spec.name: \"../x\" must be a DNS subdomain", "a name that would leave the pods dir");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"args\":[1]}"), "spec.containers[0]: args[0] must be a string",
		"a number in args");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"command\":\"sh\"}"), "spec.containers[0]: command must be an array",
		"a string command");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"env\":[{\"name\":\"X\",\"value\":3}]}"),
		"spec.containers[0].env[0]: value must be a string", "a number as env value");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}"),
		"resources.limits.cpu: invalid quantity \"lots\"", "a bad quantity");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"securityContext\":{\"runAsUser\":\"root\"}}"),
		"securityContext: runAsUser must be an integer", "a string runAsUser");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"securityContext\":{\"capabilities\":{\"add\":[\"FLY\"]}}}"),
		"unknown capability: \"FLY\"", "an unknown capability");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"mounts\":[{\"source\":\"rel/x\",\"target\":\"/x\"}]}"),
		"source \"rel/x\" must be an absolute path or a volume name", "a relative mount source");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"mounts\":[{\"source\":\"/x\",\"target\":\"y\"}]}"),
		"target \"y\" must be an absolute path", "a relative mount target");
	refused(SPEC("", C0 "," C0), "duplicate container name \"a\"", "two containers of one name");
	refused(SPEC(",\"hostPorts\":[{\"containerPort\":80,\"hostPort\":70000}]", C0),
		"spec.hostPorts[0]: hostPort: 70000 is out of range", "a host port out of range");
	refused(SPEC("", "{\"name\":\"A_b\",\"image\":\"bb\"}"), "name \"A_b\" must be a DNS label", "a bad container name");
	refused(SPEC("", "{\"name\":\"a\",\"image\":\"bb\",\"restartPolicy\":\"Always\"}"),
		"spec.containers[0]: restartPolicy \"Always\": may be set only on init containers",
		"restartPolicy on an app container");
	refused(SPEC(",\"initContainers\":[{\"name\":\"s\",\"image\":\"bb\",\"restartPolicy\":\"Never\"}]", C0),
		"spec.initContainers[0]: restartPolicy \"Never\" is not supported (only \"Always\", a sidecar)",
		"an init container's restartPolicy Never");
	refused(SPEC(",\"initContainers\":[{\"name\":\"s\",\"image\":\"bb\",\"restartPolicy\":1}]", C0),
		"spec.initContainers[0]: restartPolicy must be a string", "a number as restartPolicy");
	_cleanup_json_ json_t *sc = json_loads("{\"name\":\"s\",\"restartPolicy\":\"Always\"}", 0, NULL);
	_cleanup_json_ json_t *plain = json_loads("{\"name\":\"i\"}", 0, NULL);
	CHECK(pod_ctr_is_sidecar(sc), "an init container with restartPolicy Always is a sidecar");
	CHECK(!pod_ctr_is_sidecar(plain), "one without restartPolicy is not");
	struct stat st;
	char pods[320];
	snprintf(pods, sizeof(pods), "%s/pods", root);
	CHECK(stat(pods, &st) < 0, "nothing written by the refused specs");
	char *ok = create_err(SPEC("", C0));
	CHECK(ok == NULL, "a minimal spec is accepted (%s)", ok ? ok : "ok");
	free(ok);
	refused(SPEC("", C0), "pod default/p already exists", "a second pod of one name");
	/* a sidecar pod not synced yet: Pending, not initialized, the sidecar
	 * among the init containers and counted in readiness */
	ok = create_err("{\"namespace\":\"default\",\"name\":\"sc\",\"network\":\"n\",\"restartPolicy\":\"Never\","
			"\"initContainers\":[{\"name\":\"side\",\"image\":\"bb\",\"restartPolicy\":\"Always\","
			"\"readinessProbe\":{\"exec\":{\"command\":[\"true\"]}}},{\"name\":\"i\",\"image\":\"bb\"}],"
			"\"containers\":[" C0 "]}");
	CHECK(ok == NULL, "a pod with a sidecar is accepted (%s)", ok ? ok : "ok");
	free(ok);
	_cleanup_json_ json_t *sst = pod_status(cs, "default", "sc");
	CHECK(sst && !strcmp(jsonx_str(sst, "phase"), "Pending"), "a sidecar pod not synced yet is Pending");
	json_t *ics = json_object_get(sst, "initContainerStatuses");
	CHECK(json_array_size(ics) == 2 && !strcmp(jsonx_str(json_array_get(ics, 0), "name"), "side"),
	      "the sidecar's status is the first initContainerStatus");
	const char *icond = NULL, *rmsg = NULL;
	size_t ci;
	json_t *cv;
	json_array_foreach(json_object_get(sst, "conditions"), ci, cv) {
		if (!strcmp(jsonx_str(cv, "type"), "Initialized"))
			icond = jsonx_str(cv, "message");
		if (!strcmp(jsonx_str(cv, "type"), "ContainersReady"))
			rmsg = jsonx_str(cv, "message");
	}
	CHECK_STR(icond, "containers with incomplete status: [side i]", "Initialized waits on the sidecar and the init container");
	CHECK_STR(rmsg, "containers with unready status: [side a]", "the sidecar counts in ContainersReady");
	CHECK(pod_remove(cs, "default", "sc", 0, &e) == 0, "pod_remove of the sidecar pod");
	berr_freep(&e);
	_cleanup_json_ json_t *l = pod_list(cs, NULL);
	CHECK(json_array_size(l) == 1 && !strcmp(jsonx_str(json_array_get(l, 0), "name"), "p"), "pod_list has it");
	_cleanup_json_ json_t *stat_ = pod_status(cs, "default", "p");
	CHECK(stat_ && !strcmp(jsonx_str(stat_, "phase"), "Pending"), "a pod not synced yet is Pending");
	const char *w = jsonx_str(json_object_get(json_object_get(json_array_get(json_object_get(stat_, "containerStatuses"), 0), "state"), "waiting"), "reason");
	CHECK_STR(w, "ContainerCreating", "its container waits in ContainerCreating");
	CHECK(pod_status(cs, "default", "nope") == NULL, "no status for a pod that is not there");
	CHECK(pod_remove(cs, "default", "p", 0, &e) == 0, "pod_remove of a pod that never ran");
	berr_freep(&e);
	CHECK(pod_remove(cs, "default", "p", 0, &e) < 0 && e && e->code == BERR_NOT_FOUND, "removing it again: not found");
	berr_freep(&e);
	ctr_store_free(cs);
	char cmdl[400];
	snprintf(cmdl, sizeof(cmdl), "rm -rf '%s'", dir);
	if (system(cmdl) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_END();
}
