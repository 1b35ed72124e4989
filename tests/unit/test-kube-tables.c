/* kubectl's shapes for `berth kube get` (src/cli/kube-tables.c): AGE,
 * kind names, table layout, pod STATUS, row cells, -o yaml style. */
#include "cli/kube-tables.h"
#include "unit.h"

#include <stdlib.h>

static void dur(int64_t s, const char *want)
{
	char b[32];
	kt_human_duration(s, b, sizeof(b));
	CHECK_STR(b, want, "HumanDuration %llds", (long long)s);
}

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		printf("# bad test JSON at %d: %s\n", e.position, e.text);
	return j;
}

static char *row_text(const char *kind, const char *obj, bool wide, time_t now)
{
	const struct kt_kind *k = kt_kind_find(kind);
	json_t *o = J(obj), *r = kt_row(k, o, wide, now);
	struct sbuf b = SBUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(r, i, c) sbuf_addf(&b, "%s%s", i ? "|" : "", json_string_value(c));
	json_decref(o);
	json_decref(r);
	return sbuf_detach(&b);
}

static void row(const char *kind, const char *obj, bool wide, const char *want)
{
	/* 2026-01-01T00:10:00Z */
	char *got = row_text(kind, obj, wide, 1767226200);
	CHECK_STR(got, want, "%s row%s", kind, wide ? " (wide)" : "");
	free(got);
}

static void yaml(const char *in, const char *want)
{
	json_t *j = J(in);
	struct sbuf b = SBUF_INIT;
	kt_yaml(j, &b);
	CHECK_STR(sbuf_str(&b), want, "yaml of %s", in);
	sbuf_release(&b);
	json_decref(j);
}

static void status(const char *pod, const char *want_status, const char *want_ready, const char *want_restarts)
{
	json_t *p = J(pod);
	char s[64], r[32], rs[64];
	kt_pod_summary(p, 1767226200, s, sizeof(s), r, sizeof(r), rs, sizeof(rs));
	CHECK_STR(s, want_status, "pod status %s", want_status);
	CHECK_STR(r, want_ready, "pod ready %s", want_ready);
	CHECK_STR(rs, want_restarts, "pod restarts %s", want_restarts);
	json_decref(p);
}

int main(void)
{
	dur(0, "0s");
	dur(-1, "0s");
	dur(-5, "<invalid>");
	dur(5, "5s");
	dur(119, "119s");
	dur(120, "2m");
	dur(123, "2m3s");
	dur(9 * 60 + 59, "9m59s");
	dur(10 * 60 + 30, "10m");
	dur(179 * 60, "179m");
	dur(3 * 3600 + 4 * 60, "3h4m");
	dur(5 * 3600, "5h");
	dur(8 * 3600 + 59 * 60, "8h");
	dur(47 * 3600, "47h");
	dur(2 * 86400 + 3 * 3600, "2d3h");
	dur(7 * 86400, "7d");
	dur(30 * 86400 + 5 * 3600, "30d");
	dur(2 * 365 * 86400 + 10 * 86400, "2y10d");
	dur(9LL * 365 * 86400, "9y");

	char b[64];
	kt_age(NULL, 100, b, sizeof(b));
	CHECK_STR(b, "<unknown>", "age without timestamp");
	kt_age("2026-01-01T00:00:00Z", 1767226200, b, sizeof(b));
	CHECK_STR(b, "10m", "age of a 10 minute old object");

	/* kind names */
	const char *names[][2] = {{"po", "Pod"}, {"pods", "Pod"}, {"Pod", "Pod"}, {"pod", "Pod"},
				  {"deploy", "Deployment"}, {"deployments.apps", "Deployment"},
				  {"deployment.v1.apps", "Deployment"}, {"rs", "ReplicaSet"}, {"sts", "StatefulSet"},
				  {"ds", "DaemonSet"}, {"jobs", "Job"}, {"job.batch", "Job"}, {"cj", "CronJob"},
				  {"svc", "Service"}, {"cm", "ConfigMap"}, {"secrets", "Secret"},
				  {"pvc", "PersistentVolumeClaim"}, {"ns", "Namespace"}, {"SVC", "Service"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct kt_kind *k = kt_kind_find(names[i][0]);
		CHECK_STR(k ? k->kind : NULL, names[i][1], "kind %s", names[i][0]);
	}
	CHECK(!kt_kind_find("foo"), "unknown kind");
	CHECK(!kt_kind_find("deployments.batch"), "kind with the wrong group");
	CHECK(!kt_kind_find(""), "empty kind");
	kt_kind_prefix(kt_kind_find("deploy"), b, sizeof(b));
	CHECK_STR(b, "deployment.apps", "prefix of a deployment");
	kt_kind_prefix(kt_kind_find("svc"), b, sizeof(b));
	CHECK_STR(b, "service", "prefix of a service");

	/* tabwriter: padding 3, minimum width 6, last column unpadded */
	{
		json_t *rows = J("[[\"NAME\",\"READY\",\"AGE\"],[\"a\",\"1/1\",\"5s\"],[\"web-5d8f7c9b4-x2k9q\",\"0/1\",\"2m3s\"]]");
		char *txt = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&txt, &len);
		kt_print_table(rows, f);
		fclose(f);
		CHECK_STR(txt,
			  "NAME                  READY   AGE\n"
			  "a                     1/1     5s\n"
			  "web-5d8f7c9b4-x2k9q   0/1     2m3s\n",
			  "table layout");
		free(txt);
		json_decref(rows);
	}

	/* pod STATUS as kubectl works it out */
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"2026-01-01T00:00:00Z\"}}}]}}",
	       "Running", "1/1", "0");
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":\"Pending\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}},"
	       "{\"name\":\"b\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
	       "ContainerCreating", "0/2", "0");
	status("{\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	       "\"initContainerStatuses\":[{\"name\":\"i\",\"ready\":false,\"restartCount\":0,\"state\":{\"running\":{}}}],"
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}",
	       "Init:0/1", "0/1", "0");
	status("{\"spec\":{\"initContainers\":[{\"name\":\"i\"},{\"name\":\"j\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	       "\"initContainerStatuses\":[{\"name\":\"i\",\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},"
	       "{\"name\":\"j\",\"restartCount\":2,\"state\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}}]}}",
	       "Init:Error", "0/1", "2");
	status("{\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	       "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"}],"
	       "\"initContainerStatuses\":[{\"name\":\"i\",\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}],"
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}",
	       "PodInitializing", "0/1", "0");
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
	       "\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\",\"finishedAt\":\"2026-01-01T00:09:00Z\"}}}]}}",
	       "CrashLoopBackOff", "0/1", "3 (60s ago)");
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Succeeded\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
	       "Completed", "0/1", "0");
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Failed\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":2}}}]}}",
	       "ExitCode:2", "0/1", "0");
	status("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:09:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
	       "Terminating", "1/1", "0");
	/* a sidecar (restartable init container) counts in READY */
	status("{\"spec\":{\"initContainers\":[{\"name\":\"s\",\"restartPolicy\":\"Always\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\","
	       "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\"}],"
	       "\"initContainerStatuses\":[{\"name\":\"s\",\"ready\":true,\"started\":true,\"restartCount\":0,\"state\":{\"running\":{}}}],"
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
	       "Running", "2/2", "0");
	status("{\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	       "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\"}}}]}}",
	       "ErrImagePull", "0/1", "0");

	/* rows */
	row("pods",
	    "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-01-01T00:09:55Z\"},\"spec\":{\"nodeName\":\"host\",\"containers\":[{\"name\":\"a\"}]},"
	    "\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.84.0.5\"}],\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
	    true, "web|1/1|Running|0|5s|10.84.0.5|host|<none>|<none>");
	row("deploy",
	    "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"replicas\":3,"
	    "\"selector\":{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]}]},"
	    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.14.2\"},{\"name\":\"s\",\"image\":\"busybox\"}]}}},"
	    "\"status\":{\"replicas\":3,\"readyReplicas\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}",
	    true, "web|2/3|3|2|10m|nginx,s|nginx:1.14.2,busybox|app=web,tier in (a,b)");
	row("rs", "{\"metadata\":{\"name\":\"web-5d8f7c9b4\"},\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3,\"readyReplicas\":1}}", false,
	    "web-5d8f7c9b4|3|3|1|<unknown>");
	row("sts", "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"replicas\":2},\"status\":{\"readyReplicas\":1}}", false, "db|1/2|<unknown>");
	row("ds", "{\"metadata\":{\"name\":\"agent\"},\"spec\":{},\"status\":{\"desiredNumberScheduled\":1,\"currentNumberScheduled\":1,\"numberReady\":1,"
	    "\"updatedNumberScheduled\":1,\"numberAvailable\":1}}", false, "agent|1|1|1|1|1|<none>|<unknown>");
	row("jobs",
	    "{\"metadata\":{\"name\":\"pi\"},\"spec\":{\"completions\":3},\"status\":{\"succeeded\":3,\"startTime\":\"2026-01-01T00:00:00Z\","
	    "\"completionTime\":\"2026-01-01T00:00:47Z\",\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}",
	    false, "pi|Complete|3/3|47s|<unknown>");
	row("jobs", "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"parallelism\":2},\"status\":{}}", false, "p|Running|0/1 of 2||<unknown>");
	row("cj", "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"schedule\":\"*/5 * * * *\"},\"status\":{}}", false,
	    "c|*/5 * * * *|<none>|False|0|<none>|<unknown>");
	row("svc",
	    "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.85.0.10\",\"clusterIPs\":[\"10.85.0.10\"],"
	    "\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80,\"nodePort\":31234,\"protocol\":\"TCP\"}]},"
	    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"hostname\":\"localhost\"}]}}}",
	    true, "web|LoadBalancer|10.85.0.10|localhost|80:31234/TCP|<unknown>|app=web");
	row("svc", "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}}", false,
	    "db|ClusterIP|None|<none>|5432/TCP|<unknown>");
	row("svc", "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.85.0.11\",\"ports\":[]}}", false,
	    "lb|LoadBalancer|10.85.0.11|<pending>|<none>|<unknown>");
	row("cm", "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}", false, "c|3|<unknown>");
	row("secret", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"MQ==\"},\"stringData\":{\"a\":\"x\",\"b\":\"y\"}}", false,
	    "s|Opaque|2|<unknown>");
	row("pvc",
	    "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"volumeName\":\"kube_default_data\",\"storageClassName\":\"local\","
	    "\"accessModes\":[\"ReadWriteOnce\"]},\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"1Gi\"},"
	    "\"accessModes\":[\"ReadWriteMany\",\"ReadWriteOnce\"]}}",
	    true, "data|Bound|kube_default_data|1Gi|RWO,RWX|local|<unset>|<unknown>|<unset>");
	row("pvc", "{\"metadata\":{\"name\":\"p\"},\"spec\":{},\"status\":{\"phase\":\"Pending\"}}", false, "p|Pending|||||<unset>|<unknown>");
	row("ns", "{\"metadata\":{\"name\":\"default\"},\"status\":{\"phase\":\"Active\"}}", false, "default|Active|<unknown>");

	json_t *h = kt_headers(kt_kind_find("pvc"), false);
	CHECK(json_array_size(h) == 8 && !strcmp(json_string_value(json_array_get(h, 6)), "VOLUMEATTRIBUTESCLASS"),
	      "pvc headers as kubectl 1.36");
	json_decref(h);
	h = kt_headers(kt_kind_find("jobs"), false);
	CHECK(json_array_size(h) == 5 && !strcmp(json_string_value(json_array_get(h, 1)), "STATUS"), "job headers with STATUS");
	json_decref(h);

	/* labels */
	struct sbuf lb = SBUF_INIT;
	json_t *l = J("{\"b\":\"2\",\"a\":\"1\"}");
	kt_format_labels(l, &lb);
	CHECK_STR(sbuf_str(&lb), "a=1,b=2", "labels sorted");
	sbuf_reset(&lb);
	json_decref(l);
	kt_format_labels(NULL, &lb);
	CHECK_STR(sbuf_str(&lb), "<none>", "no labels");
	sbuf_release(&lb);

	/* yaml */
	yaml("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
	     "\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}],\"args\":[\"a\",\"b\"]}]}}",
	     "apiVersion: v1\n"
	     "kind: Pod\n"
	     "metadata:\n"
	     "  labels:\n"
	     "    app: web\n"
	     "  name: web\n"
	     "spec:\n"
	     "  containers:\n"
	     "  - args:\n"
	     "    - a\n"
	     "    - b\n"
	     "    image: nginx\n"
	     "    name: \"n\"\n"
	     "    ports:\n"
	     "    - containerPort: 80\n");
	yaml("{\"a\":\"\",\"b\":\"80\",\"c\":\"true\",\"d\":\"a: b\",\"e\":\"*x\",\"f\":\"it's\",\"g\":\"1.5e3\",\"h\":\"0x1F\",\"i\":\"web-1\","
	     "\"j\":\"tab\\there\",\"k\":null,\"l\":{},\"m\":[],\"n\":2.5,\"o\":\"yes\",\"p\":\"x #y\",\"q\":\"1.2.3\"}",
	     "a: \"\"\nb: \"80\"\nc: \"true\"\nd: 'a: b'\ne: '*x'\nf: it's\ng: \"1.5e3\"\nh: \"0x1F\"\ni: web-1\n"
	     "j: \"tab\\there\"\nk: null\nl: {}\nm: []\n\"n\": 2.5\no: \"yes\"\np: 'x #y'\nq: 1.2.3\n");
	yaml("{\"data\":{\"nginx.conf\":\"server {\\n  listen 80;\\n}\\n\",\"one\":\"a\\nb\",\"two\":\"a\\n\\n\"}}",
	     "data:\n"
	     "  nginx.conf: |\n"
	     "    server {\n"
	     "      listen 80;\n"
	     "    }\n"
	     "  one: |-\n"
	     "    a\n"
	     "    b\n"
	     "  two: |+\n"
	     "    a\n"
	     "\n");
	yaml("[[\"a\",\"b\"],{\"x\":1}]", "- - a\n  - b\n- x: 1\n");
	/* timestamps are quoted, as kubectl's creationTimestamp: "..." */
	yaml("{\"a\":\"2026-01-01T00:00:00Z\",\"b\":\"2026-1-2\",\"c\":\"2026-01-01T00:00:00\",\"d\":\"2026-01-01 10:00:00\","
	     "\"e\":\"2026-12-07T11:43:58.123+01:00\",\"f\":\"2026-01-01x\"}",
	     "a: \"2026-01-01T00:00:00Z\"\nb: \"2026-1-2\"\nc: 2026-01-01T00:00:00\nd: \"2026-01-01 10:00:00\"\n"
	     "e: \"2026-12-07T11:43:58.123+01:00\"\nf: 2026-01-01x\n");
	yaml("{\"item10\":1,\"item9\":2,\"a_b\":3,\"aB\":4}", "a_b: 3\naB: 4\nitem9: 2\nitem10: 1\n");
	UNIT_END();
}
