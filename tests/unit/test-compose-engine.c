/* The compose engine's pure parts: dependency order and cycles, service
 * selection, the config hash, and the service -> create request mapping. */
#include "compose/engine.h"
#include "util/jsonx.h"
#include "unit.h"

#include <stdlib.h>

static json_t *J(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, 0, &je);
	if (!v)
		fprintf(stderr, "bad json in test: %s\n", je.text);
	return v;
}

static void test_graph(void)
{
	json_t *svcs = J("{\"web\":{\"depends_on\":{\"db\":{\"condition\":\"service_healthy\"},\"cache\":{}}},"
			 "\"db\":{},\"cache\":{\"depends_on\":{\"db\":{}}},\"solo\":{}}");
	json_t *w = NULL;
	struct berr *e = NULL;
	CHECK(compose_graph_waves(svcs, &w, &e) == 0, "graph of 4 services orders");
	char *s = jsonx_dumps(w, 0);
	CHECK_STR(s, "[[\"db\",\"solo\"],[\"cache\"],[\"web\"]]", "waves: db and solo, then cache, then web");
	free(s);
	json_decref(w);
	json_object_set_new(json_object_get(svcs, "db"), "depends_on", J("{\"web\":{}}"));
	CHECK(compose_graph_waves(svcs, &w, &e) < 0 && e && strstr(e->msg, "cycle") && strstr(e->msg, "web") &&
		      !strstr(e->msg, "solo"),
	      "a cycle is an error naming its services: %s", e ? e->msg : "");
	berr_freep(&e);
	json_decref(svcs);

	svcs = J("{\"a\":{\"depends_on\":{\"gone\":{\"required\":false}}},\"b\":{\"depends_on\":{\"nope\":{}}}}");
	CHECK(compose_graph_waves(svcs, &w, &e) < 0 && strstr(e->msg, "undefined service \"nope\""),
	      "an unknown required dependency is an error");
	berr_freep(&e);
	json_object_del(svcs, "b");
	CHECK(compose_graph_waves(svcs, &w, &e) == 0, "required: false tolerates a missing service");
	json_decref(w);
	json_decref(svcs);
}

static void test_select(void)
{
	json_t *svcs = J("{\"web\":{\"depends_on\":{\"db\":{}}},\"db\":{},\"other\":{}}");
	json_t *r = NULL;
	struct berr *e = NULL;
	char *names[] = {"web"};
	CHECK(compose_select(svcs, names, 1, false, &r, &e) == 0 && json_array_size(r) == 2, "web pulls in db");
	json_decref(r);
	CHECK(compose_select(svcs, names, 1, true, &r, &e) == 0 && json_array_size(r) == 1, "--no-deps: web alone");
	json_decref(r);
	char *bad[] = {"nosuch"};
	CHECK(compose_select(svcs, bad, 1, false, &r, &e) < 0 && strstr(e->msg, "no such service: nosuch"),
	      "unknown service on the command line");
	berr_freep(&e);
	json_decref(svcs);
}

static void test_hash(void)
{
	json_t *a = J("{\"image\":\"x\",\"environment\":{\"A\":\"1\"},\"deploy\":{\"replicas\":3}}");
	json_t *b = J("{\"deploy\":{\"replicas\":1},\"environment\":{\"A\":\"1\"},\"image\":\"x\",\"scale\":5}");
	json_t *c = J("{\"image\":\"x\",\"environment\":{\"A\":\"2\"}}");
	char ha[65], hb[65], hc[65];
	compose_service_hash(a, ha);
	compose_service_hash(b, hb);
	compose_service_hash(c, hc);
	CHECK_STR(ha, hb, "scale and replicas do not change the hash (nor key order)");
	CHECK(strcmp(ha, hc) != 0, "an environment change does");
	CHECK(compose_service_replicas(a) == 3 && compose_service_replicas(b) == 5 && compose_service_replicas(c) == 1,
	      "replicas: scale, deploy.replicas, 1");
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_request(void)
{
	struct compose_project p = {.name = "proj", .working_dir = "/srv/proj"};
	char *files[] = {"/srv/proj/compose.yaml"};
	p.config_files = files;
	p.nconfig_files = 1;
	p.doc = J("{\"name\":\"proj\",\"services\":{\"web\":{\"image\":\"busybox\",\"command\":[\"sleep\",\"1\"],"
		  "\"environment\":{\"A\":\"1\",\"N\":5},"
		  "\"ports\":[{\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\",\"mode\":\"ingress\"}],"
		  "\"volumes\":[{\"type\":\"volume\",\"source\":\"data\",\"target\":\"/data\"},{\"type\":\"tmpfs\",\"target\":\"/t\"}],"
		  "\"networks\":{\"back\":{\"aliases\":[\"api\"]}},\"restart\":\"on-failure:3\",\"stop_grace_period\":\"3s\","
		  "\"healthcheck\":{\"test\":[\"CMD\",\"true\"],\"interval\":\"1m30s\",\"retries\":2},"
		  "\"depends_on\":{\"db\":{\"condition\":\"service_healthy\",\"required\":true,\"restart\":true}},"
		  "\"frobnicate\":1}},"
		  "\"networks\":{\"back\":{\"name\":\"proj_back\"}},\"volumes\":{\"data\":{\"name\":\"proj_data\"}}}");
	json_t *warns = json_array(), *req = NULL;
	struct berr *e = NULL;
	int r = compose_service_request(&p, "web", 2, "abc", warns, &req, &e);
	CHECK(r == 0, "request built %s", e ? e->msg : "");
	if (r == 0) {
		json_t *l = json_object_get(req, "Labels"), *hc = json_object_get(req, "HostConfig");
		CHECK_STR(jsonx_str(l, CL_PROJECT), "proj", "project label");
		CHECK_STR(jsonx_str(l, CL_NUMBER), "2", "container-number label");
		CHECK_STR(jsonx_str(l, CL_ONEOFF), "False", "oneoff label");
		CHECK_STR(jsonx_str(l, CL_FILES), "/srv/proj/compose.yaml", "config_files label");
		CHECK_STR(jsonx_str(l, CL_DEPENDS), "db:service_healthy:true", "depends_on label");
		CHECK_STR(jsonx_str(hc, "NetworkMode"), "proj_back", "network by its real name");
		char *al = jsonx_dumps(json_object_get(hc, "NetworkAliases"), 0);
		CHECK_STR(al, "[\"web\",\"api\"]", "service name and aliases resolve");
		free(al);
		CHECK_STR(json_string_value(json_array_get(json_object_get(hc, "Binds"), 0)), "proj_data:/data:rw",
			  "named volume by its real name");
		CHECK(json_object_get(json_object_get(hc, "Tmpfs"), "/t") != NULL, "tmpfs mount");
		CHECK_STR(jsonx_str(json_array_get(json_object_get(json_object_get(hc, "PortBindings"), "80/tcp"), 0), "HostPort"),
			  "8080", "published port");
		CHECK_STR(jsonx_str(json_object_get(hc, "RestartPolicy"), "Name"), "on-failure", "restart policy");
		CHECK(json_integer_value(json_object_get(req, "StopTimeout")) == 3, "stop_grace_period in seconds");
		CHECK(json_integer_value(json_object_get(json_object_get(req, "Healthcheck"), "Interval")) == 90000000000LL,
		      "healthcheck interval in ns");
		char *env = jsonx_dumps(json_object_get(req, "Env"), 0);
		CHECK_STR(env, "[\"A=1\",\"N=5\"]", "environment");
		free(env);
		CHECK(json_array_size(warns) == 1 && strstr(json_string_value(json_array_get(warns, 0)), "frobnicate"),
		      "one warning for an option berth does not apply");
		char *n = compose_container_name(&p, "web", json_object_get(json_object_get(p.doc, "services"), "web"), 2);
		CHECK_STR(n, "proj-web-2", "container name PROJECT-SERVICE-N");
		free(n);
	}
	json_decref(req);
	json_decref(warns);
	json_object_set_new(json_object_get(json_object_get(p.doc, "services"), "web"), "volumes",
			    J("[{\"type\":\"volume\",\"source\":\"undeclared\",\"target\":\"/x\"}]"));
	warns = json_array();
	CHECK(compose_service_request(&p, "web", 1, "abc", warns, &req, &e) < 0 && strstr(e->msg, "undefined volume"),
	      "an undeclared named volume is an error");
	berr_freep(&e);
	json_decref(warns);
	json_decref(p.doc);
}

/* several networks: the primary by priority then name, no warning (the
 * others are joined after create); extra_hosts in both forms; bad input */
static void test_networks_hosts(void)
{
	struct compose_project p = {.name = "proj", .working_dir = "/srv/proj"};
	p.doc = J("{\"name\":\"proj\",\"services\":{\"web\":{\"image\":\"busybox\","
		  "\"networks\":{\"zeta\":{\"priority\":5},\"alpha\":null,\"beta\":{\"aliases\":[\"b\"]}},"
		  "\"extra_hosts\":[\"a:10.0.0.1\",\"b=10.0.0.2\"]}},"
		  "\"networks\":{\"zeta\":{},\"alpha\":{},\"beta\":{}}}");
	json_t *svc = json_object_get(json_object_get(p.doc, "services"), "web");
	CHECK_STR(compose_primary_network(svc), "zeta", "the highest priority network is the primary one");
	json_object_set_new(json_object_get(json_object_get(svc, "networks"), "zeta"), "priority", json_integer(0));
	CHECK_STR(compose_primary_network(svc), "alpha", "equal priorities: the first name");
	json_t *warns = json_array(), *req = NULL;
	struct berr *e = NULL;
	int r = compose_service_request(&p, "web", 1, "abc", warns, &req, &e);
	CHECK(r == 0 && json_array_size(warns) == 0, "several networks: no warning %s", e ? e->msg : "");
	char *eh = jsonx_dumps(json_object_get(json_object_get(req, "HostConfig"), "ExtraHosts"), 0);
	CHECK_STR(eh, "[\"a:10.0.0.1\",\"b:10.0.0.2\"]", "extra_hosts as HOST:IP");
	free(eh);
	json_decref(req);
	req = NULL;
	json_object_set_new(json_object_get(svc, "networks"), "nowhere", json_null());
	CHECK(compose_service_request(&p, "web", 1, "abc", warns, &req, &e) < 0 && strstr(e->msg, "undefined network nowhere"),
	      "an undefined second network is an error");
	berr_freep(&e);
	json_object_del(json_object_get(svc, "networks"), "nowhere");
	json_object_set_new(svc, "extra_hosts", J("[\"nohost\"]"));
	CHECK(compose_service_request(&p, "web", 1, "abc", warns, &req, &e) < 0 && strstr(e->msg, "extra_hosts[0]"),
	      "an extra_hosts entry without an IP is an error");
	berr_freep(&e);
	json_decref(warns);
	json_decref(p.doc);
}

int main(void)
{
	test_networks_hosts();
	test_graph();
	test_select();
	test_hash();
	test_request();
	UNIT_END();
}
