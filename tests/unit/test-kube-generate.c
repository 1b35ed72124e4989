/* kube generate's pure part: hand-written inspect objects (the shape
 * `berth inspect` prints) and image configs -> the compose services, and
 * the objects kube_generate() keeps for each --type and -s. */
#include "kube/generate.h"
#include "unit.h"

#include <stdlib.h>

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	if (!j)
		printf("# bad test JSON: %s at %d\n", je.text, je.position);
	return j;
}

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

#define HAS(hay, needle, ...) CHECK(strstr((hay), (needle)) != NULL, __VA_ARGS__)
#define HASNT(hay, needle, ...) CHECK(strstr((hay), (needle)) == NULL, __VA_ARGS__)

/* a standalone container run from an image that has its own config */
static const char *const web_inspect =
	"{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Name\":\"/Web\","
	"\"Image\":\"sha256:aaaabbbb\","
	"\"Config\":{\"Hostname\":\"0123456789ab\",\"User\":\"1000:1000\",\"Env\":[\"PATH=/bin\",\"IMG=1\",\"FOO=bar\",\"IMG2=changed\"],"
	" \"Cmd\":[\"serve\",\"--port\",\"80\"],\"Entrypoint\":[\"/entry\"],\"Image\":\"sha256:aaaabbbb\",\"WorkingDir\":\"/srv\","
	" \"ExposedPorts\":{\"80/tcp\":{},\"7000/tcp\":{},\"53/udp\":{},\"9999/tcp\":{}},\"Tty\":true,\"OpenStdin\":false,"
	" \"Labels\":{\"app\":\"x\",\"from.image\":\"yes\",\"com.docker.compose.project\":\"zz\"},"
	" \"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"curl -f localhost\"],\"Interval\":1500000000,\"Timeout\":2000000000,\"Retries\":4},"
	" \"StopTimeout\":7},"
	"\"HostConfig\":{\"Binds\":[\"/srv/data:/bind:ro\",\"named:/data:rw,nocopy\"],\"Tmpfs\":{\"/run\":\"size=64m\"},"
	" \"CapAdd\":[\"cap_net_admin\"],\"CapDrop\":[],\"Privileged\":false,\"ReadonlyRootfs\":true,"
	" \"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]},"
	" \"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},\"Memory\":268435456,\"NanoCpus\":1500000000,"
	" \"ShmSize\":1000,\"Sysctls\":{\"net.core.somaxconn\":\"1024\"},\"ExtraHosts\":[\"db:10.0.0.5\"],"
	" \"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":100,\"Hard\":200},{\"Name\":\"nproc\",\"Soft\":50,\"Hard\":50}],"
	" \"NetworkMode\":\"mynet\",\"NetworkAliases\":[\"api\",\"Web\"],\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}}},"
	"\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/srv/data\",\"Destination\":\"/bind\",\"RW\":false},"
	" {\"Type\":\"volume\",\"Name\":\"named\",\"Destination\":\"/data\",\"RW\":true},"
	" {\"Type\":\"volume\",\"Name\":\"1111111111111111111111111111111111111111111111111111111111111111\",\"Destination\":\"/cache\",\"RW\":true},"
	" {\"Type\":\"volume\",\"Name\":\"2222222222222222222222222222222222222222222222222222222222222222\",\"Destination\":\"/var/lib/img\",\"RW\":true}],"
	"\"NetworkSettings\":{\"Networks\":{\"mynet\":{\"Aliases\":[\"api\",\"0123456789ab\",\"extra\"]}}}}";
static const char *const web_image =
	"{\"Env\":[\"PATH=/bin\",\"IMG=1\",\"IMG2=orig\"],\"Cmd\":[\"serve\",\"--port\",\"80\"],\"Entrypoint\":[\"/entry\"],"
	"\"WorkingDir\":\"/srv\",\"ExposedPorts\":{\"9999/tcp\":{}},\"Labels\":{\"from.image\":\"yes\"},"
	"\"Volumes\":{\"/var/lib/img\":{}}}";

static void standalone(void)
{
	struct berr *e = NULL;
	json_t *w = json_array(), *proj = NULL;
	struct kube_gen_ctr c = {.inspect = parse(web_inspect), .image_config = parse(web_image), .image_ref = "web:1.0"};
	CHECK(kube_generate_project(&c, 1, NULL, &proj, w, &e) == 0, "a standalone container");
	json_t *s = json_object_get(json_object_get(proj, "services"), "web");
	CHECK(s != NULL, "its service is its name, lower case");
	char *d = dump(s);
	printf("# %s\n", d);
	HAS(d, "\"image\":\"web:1.0\"", "run by image ID: the image's name");
	HASNT(d, "\"entrypoint\"", "entrypoint as the image's: not written");
	HASNT(d, "\"command\"", "command as the image's: not written");
	HAS(d, "\"environment\":{\"FOO\":\"bar\",\"IMG2\":\"changed\"}", "env minus the image's entries, changed ones kept");
	HAS(d, "\"labels\":{\"app\":\"x\"}", "labels minus the image's and com.docker.compose.*");
	HAS(d, "\"user\":\"1000:1000\"", "user (the image has none)");
	HASNT(d, "working_dir", "working_dir as the image's: not written");
	HASNT(d, "hostname", "the default hostname (short ID) is not written");
	HAS(d, "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8080\",\"target\":80}", "published port");
	HAS(d, "{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"udp\",\"target\":53}", "udp port on one address, no host port");
	HAS(d, "\"expose\":[\"7000\"]", "expose: exposed, not published, not the image's");
	HAS(d, "{\"read_only\":true,\"source\":\"/srv/data\",\"target\":\"/bind\",\"type\":\"bind\"}", "read-only bind");
	HAS(d, "{\"source\":\"named\",\"target\":\"/data\",\"type\":\"volume\",\"volume\":{\"nocopy\":true}}", "named volume, nocopy");
	HAS(d, "{\"target\":\"/cache\",\"type\":\"volume\"}", "anonymous volume");
	HASNT(d, "/var/lib/img", "the image's own VOLUME is left to the image");
	HAS(d, "\"tmpfs\":[\"/run:size=64m\"]", "tmpfs with its options");
	HAS(d, "\"cap_add\":[\"NET_ADMIN\"]", "capabilities upper case, no CAP_");
	HASNT(d, "cap_drop", "no empty cap_drop");
	HAS(d, "\"read_only\":true,\"restart\"", "read_only");
	HAS(d, "\"restart\":\"on-failure:3\"", "restart on-failure with its count");
	HAS(d, "\"healthcheck\":{\"interval\":\"1500ms\",\"retries\":4,\"test\":[\"CMD-SHELL\",\"curl -f localhost\"],\"timeout\":\"2s\"}",
	    "healthcheck with Go durations");
	HAS(d, "\"mem_limit\":\"256m\"", "memory in its largest whole unit");
	HAS(d, "\"cpus\":1.5", "cpus from NanoCpus");
	HAS(d, "\"shm_size\":1000", "a size with no whole unit stays bytes");
	HAS(d, "\"ulimits\":{\"nofile\":{\"hard\":200,\"soft\":100},\"nproc\":50}", "ulimits");
	HAS(d, "\"sysctls\":{\"net.core.somaxconn\":\"1024\"}", "sysctls");
	HAS(d, "\"extra_hosts\":[\"db:10.0.0.5\"]", "extra_hosts");
	HAS(d, "\"stop_grace_period\":\"7s\"", "stop_grace_period");
	HAS(d, "\"tty\":true", "tty");
	HASNT(d, "stdin_open", "no stdin_open when false");
	HAS(d, "\"networks\":{\"mynet\":{\"aliases\":[\"api\",\"extra\"]}}", "aliases minus its name and short ID");
	HASNT(d, "logging", "the default json-file logging is not written");
	HASNT(d, "depends_on", "no depends_on outside a project");
	free(d);
	d = dump(proj);
	HAS(d, "\"volumes\":{\"named\":{\"external\":true,\"name\":\"named\"}}", "a volume of no project is external");
	HAS(d, "\"networks\":{\"mynet\":{\"external\":true,\"name\":\"mynet\"}}", "so is a network");
	free(d);
	CHECK(json_array_size(w) == 1 && strstr(json_string_value(json_array_get(w, 0)), "container Web: written as service web"),
	      "the lower-cased name warns");
	json_decref(proj);

	/* an overridden entrypoint drops the image's command: both written */
	json_object_set_new(json_object_get(c.inspect, "Config"), "Entrypoint", json_pack("[s]", "/bin/sh"));
	json_object_set_new(json_object_get(c.inspect, "Config"), "Cmd", json_pack("[s,s]", "-c", "serve"));
	json_object_set_new(json_object_get(c.inspect, "Config"), "Hostname", json_string("box"));
	CHECK(kube_generate_project(&c, 1, NULL, &proj, NULL, &e) == 0, "entrypoint override");
	d = dump(json_object_get(json_object_get(proj, "services"), "web"));
	HAS(d, "\"command\":[\"-c\",\"serve\"]", "command");
	HAS(d, "\"entrypoint\":[\"/bin/sh\"]", "entrypoint");
	HAS(d, "\"hostname\":\"box\"", "a hostname that was asked for");
	free(d);
	json_decref(proj);
	/* --entrypoint "": the command alone, as Kubernetes' command */
	json_object_set_new(json_object_get(c.inspect, "Config"), "Entrypoint", json_null());
	CHECK(kube_generate_project(&c, 1, NULL, &proj, NULL, &e) == 0, "entrypoint reset");
	d = dump(json_object_get(json_object_get(proj, "services"), "web"));
	HAS(d, "\"entrypoint\":[\"-c\",\"serve\"]", "the command runs as the entrypoint");
	HASNT(d, "\"command\"", "and no command");
	free(d);
	json_decref(proj);
	/* no image config (the image was removed): everything is written */
	json_t *ic = c.image_config;
	c.image_config = NULL;
	CHECK(kube_generate_project(&c, 1, NULL, &proj, NULL, &e) == 0, "no image config");
	d = dump(json_object_get(json_object_get(proj, "services"), "web"));
	HAS(d, "\"working_dir\":\"/srv\"", "working_dir written without the image to compare");
	HAS(d, "/var/lib/img", "so is the image's volume");
	free(d);
	json_decref(proj);
	c.image_config = ic;
	json_decref(c.inspect);
	json_decref(c.image_config);
	json_decref(w);
}

/* a compose container: ID, name, number, service, the rest from the template */
static json_t *compose_ctr(const char *id, const char *svc, int num, const char *hash, const char *extra_labels,
			   const char *hc_extra)
{
	char buf[4096];
	snprintf(buf, sizeof(buf),
		 "{\"Id\":\"%s\",\"Name\":\"/gp-%s-%d\",\"Image\":\"sha256:ffff\","
		 "\"Config\":{\"Hostname\":\"%.12s\",\"Env\":[],\"Cmd\":[\"sleep\",\"300\"],\"Image\":\"busybox\","
		 " \"Labels\":{\"com.docker.compose.project\":\"gp\",\"com.docker.compose.service\":\"%s\","
		 " \"com.docker.compose.container-number\":\"%d\",\"com.docker.compose.config-hash\":\"%s\"%s}},"
		 "\"HostConfig\":{\"NetworkMode\":\"gp_default\",\"NetworkAliases\":[\"%s\"],"
		 " \"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0}%s},"
		 "\"Mounts\":[]}",
		 id, svc, num, id, svc, num, hash, extra_labels, svc, hc_extra);
	return parse(buf);
}

static void project(void)
{
	struct berr *e = NULL;
	json_t *w = json_array(), *proj = NULL;
	json_t *vols = parse("{\"gp_data\":{\"Name\":\"gp_data\",\"Labels\":{\"com.docker.compose.project\":\"gp\","
			     "\"com.docker.compose.volume\":\"data\"}}}");
	struct kube_gen_ctr c[] = {
		{.inspect = compose_ctr("2222222222222222222222222222222222222222222222222222222222222222", "db", 2, "h1", "", ""),
		 .project = "gp"},
		{.inspect = compose_ctr("1111111111111111111111111111111111111111111111111111111111111111", "db", 1, "h1", "", ""),
		 .project = "gp"},
		{.inspect = compose_ctr("3333333333333333333333333333333333333333333333333333333333333333", "web", 1, "h2",
					",\"com.docker.compose.depends_on\":\"db:service_healthy:false\"",
					",\"Binds\":[\"gp_data:/data:rw\",\"gp_vol:/o:ro\"],\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}"),
		 .project = "gp"},
	};
	json_object_set_new(json_object_get(c[0].inspect, "Config"), "Cmd", json_pack("[s,s]", "sleep", "9"));
	CHECK(kube_generate_project(c, 3, vols, &proj, w, &e) == 0, "a compose project");
	CHECK_STR(json_string_value(json_object_get(proj, "name")), "gp", "the project's name");
	json_t *svcs = json_object_get(proj, "services");
	CHECK(json_object_size(svcs) == 2, "two services (%zu)", json_object_size(svcs));
	char *d = dump(json_object_get(svcs, "db"));
	printf("# db %s\n", d);
	HAS(d, "\"scale\":2", "db: its two containers as scale 2");
	HAS(d, "\"command\":[\"sleep\",\"300\"]", "the lowest-numbered container is the model");
	HAS(d, "\"restart\":\"no\"", "restart no kept in the project");
	HASNT(d, "networks", "default network with no alias: no networks key");
	HASNT(d, "labels", "no compose labels");
	free(d);
	d = dump(json_object_get(svcs, "web"));
	printf("# web %s\n", d);
	HAS(d, "\"depends_on\":{\"db\":{\"condition\":\"service_healthy\",\"required\":true}}", "depends_on from the label");
	HAS(d, "{\"source\":\"data\",\"target\":\"/data\",\"type\":\"volume\",\"volume\":{}}", "the project volume by its compose name");
	HAS(d, "{\"read_only\":true,\"source\":\"vol\",\"target\":\"/o\",\"type\":\"volume\",\"volume\":{}}",
	    "a PROJECT_ prefix without labels is the project's too");
	free(d);
	d = dump(proj);
	HAS(d, "\"volumes\":{\"data\":{\"name\":\"gp_data\"}", "top-level volume with its real name");
	HAS(d, "\"networks\":{\"default\":{\"name\":\"gp_default\"}}", "the default network");
	free(d);
	CHECK(json_array_size(w) == 0, "no warnings (%zu)", json_array_size(w));
	json_decref(proj);

	/* containers of one service from different configurations warn */
	json_object_set_new(json_object_get(json_object_get(c[0].inspect, "Config"), "Labels"), "com.docker.compose.config-hash",
			    json_string("h9"));
	CHECK(kube_generate_project(c, 3, vols, &proj, w, &e) == 0, "replicas of two configurations");
	CHECK(json_array_size(w) == 1 && strstr(json_string_value(json_array_get(w, 0)), "written from gp-db-1's"),
	      "warns which container is written");
	json_decref(proj);
	json_array_clear(w);

	/* kube_generate per type */
	struct kube_generate_opts o = {.type = KUBE_GEN_POD, .replicas = -1};
	json_t *objs = NULL;
	CHECK(kube_generate(c, 3, vols, &o, &objs, w, &e) == 0, "--type pod");
	d = dump(objs);
	HASNT(d, "\"kind\":\"Service\"", "no Service without -s");
	HAS(d, "\"kind\":\"PersistentVolumeClaim\"", "the claims are written");
	HAS(d, "\"kind\":\"Pod\"", "Pods");
	HAS(d, "\"restartPolicy\":\"Never\"", "restart no -> Never");
	HAS(d, "wait-for-db", "depends_on -> init container");
	free(d);
	int scale_warn = 0;
	for (size_t i = 0; i < json_array_size(w); i++)
		scale_warn += strstr(json_string_value(json_array_get(w, i)), "service db: 2 containers, written as one Pod") != NULL;
	CHECK(scale_warn == 1, "replicas as one Pod warn");
	json_decref(objs);
	json_array_clear(w);
	o = (struct kube_generate_opts){.type = KUBE_GEN_DEPLOYMENT, .services = true, .replicas = -1, .namespace_ = "ns"};
	CHECK(kube_generate(c, 3, vols, &o, &objs, w, &e) == 0, "--type deployment -s");
	d = dump(objs);
	HAS(d, "\"kind\":\"Service\"", "-s: Services");
	HAS(d, "\"kind\":\"Deployment\"", "Deployments");
	HASNT(d, "\"kind\":\"Job\"", "restart no is the default, not a Job");
	HAS(d, "\"replicas\":2", "db: 2 replicas");
	HAS(d, "\"namespace\":\"ns\"", "namespace");
	free(d);
	json_decref(objs);
	o = (struct kube_generate_opts){.type = KUBE_GEN_JOB, .replicas = -1};
	CHECK(kube_generate(c, 3, vols, &o, &objs, w, &e) == 0, "--type job");
	size_t jobs = 0;
	for (size_t i = 0; i < json_array_size(objs); i++)
		jobs += !strcmp(json_string_value(json_object_get(json_array_get(objs, i), "kind")), "Job");
	CHECK(jobs == 2, "every service a Job (%zu)", jobs);
	json_decref(objs);
	/* on-failure with a Deployment warns */
	json_object_set_new(json_object_get(c[2].inspect, "HostConfig"), "RestartPolicy",
			    json_pack("{s:s, s:i}", "Name", "on-failure", "MaximumRetryCount", 0));
	json_array_clear(w);
	o = (struct kube_generate_opts){.type = KUBE_GEN_STATEFULSET, .replicas = 5};
	CHECK(kube_generate(c, 3, vols, &o, &objs, w, &e) == 0, "--type statefulset --replicas 5");
	d = dump(objs);
	HAS(d, "\"kind\":\"StatefulSet\"", "StatefulSets");
	HAS(d, "\"replicas\":5", "--replicas wins");
	free(d);
	int onf_warn = 0;
	for (size_t i = 0; i < json_array_size(w); i++) {
		printf("# %s\n", json_string_value(json_array_get(w, i)));
		onf_warn += strstr(json_string_value(json_array_get(w, i)),
				   "service web: restart on-failure: the pods of a StatefulSet always restart") != NULL;
	}
	CHECK(onf_warn == 1, "on-failure warns");
	json_decref(objs);

	/* the same container twice counts once */
	struct kube_gen_ctr twice[] = {c[2], c[2]};
	CHECK(kube_generate_project(twice, 2, vols, &proj, NULL, &e) == 0, "a container given twice");
	CHECK(!json_object_get(json_object_get(json_object_get(proj, "services"), "web"), "scale"), "is one replica");
	json_decref(proj);
	/* two services of one name: error */
	struct kube_gen_ctr clash[] = {c[2], {.inspect = parse(web_inspect)}};
	json_object_set_new(clash[1].inspect, "Name", json_string("/web"));
	CHECK(kube_generate_project(clash, 2, vols, &proj, NULL, &e) < 0 && e &&
		      strstr(e->msg, "two services would be named web (project gp and container web)"),
	      "a project's service and a container of one name: error (%s)", e ? e->msg : "none");
	berr_freep(&e);
	json_decref(clash[1].inspect);
	struct kube_gen_ctr bad = {.inspect = parse("{\"Name\":\"/x\"}")};
	CHECK(kube_generate_project(&bad, 1, NULL, &proj, NULL, &e) < 0 && e, "inspect data without Id: error");
	berr_freep(&e);
	json_decref(bad.inspect);

	for (size_t i = 0; i < 3; i++)
		json_decref(c[i].inspect);
	json_decref(vols);
	json_decref(w);
}

int main(void)
{
	enum kube_gen_type t;
	struct berr *e = NULL;
	CHECK(kube_gen_type_parse("Deployment", &t, &e) == 0 && t == KUBE_GEN_DEPLOYMENT, "--type Deployment");
	CHECK(kube_gen_type_parse("job", &t, &e) == 0 && t == KUBE_GEN_JOB, "--type job");
	CHECK(kube_gen_type_parse("replicaset", &t, &e) < 0 && e && strstr(e->msg, "\"replicaset\""), "--type replicaset refused");
	berr_freep(&e);
	standalone();
	project();
	UNIT_END();
}
