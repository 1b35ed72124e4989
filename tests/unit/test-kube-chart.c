/* kube convert --chart's pure parts: image references split for
 * values.yaml, values keys, one small chart rendered without I/O, and the
 * target checks and atomic writing in a temp dir. */
#include "kube/chart.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA "sha256:6d9ac9237a84afe1516540f40a0fafdc86859b2141954b4d643af7066d598b74"

static void split_ok(const char *img, const char *repo, const char *tag, const char *digest)
{
	struct kube_image_ref r = {0};
	struct berr *e = NULL;
	int rc = kube_image_split(img, &r, &e);
	CHECK(rc == 0, "split %s%s%s", img, e ? ": " : "", e ? e->msg : "");
	CHECK_STR(r.repository, repo, "%s: repository", img);
	CHECK_STR(r.tag, tag, "%s: tag", img);
	CHECK_STR(r.digest, digest, "%s: digest", img);
	kube_image_ref_release(&r);
	berr_free(e);
}

static void split_bad(const char *img, const char *want)
{
	struct kube_image_ref r = {0};
	struct berr *e = NULL;
	int rc = kube_image_split(img, &r, &e);
	CHECK(rc < 0 && e && strstr(e->msg, want), "refused \"%s\": %s", img, e ? e->msg : "(accepted)");
	kube_image_ref_release(&r);
	berr_free(e);
}

static void key_is(const char *name, const char *want)
{
	char *k = kube_chart_value_key(name);
	CHECK_STR(k, want, "value key of \"%s\"", name);
	free(k);
}

static const char *file(json_t *files, const char *name)
{
	const char *s = json_string_value(json_object_get(files, name));
	return s ? s : "";
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* entries of dir whose name starts with prefix, . and .. aside */
static int count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && !strncmp(de->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	split_ok("nginx", "nginx", "latest", NULL);
	split_ok("nginx:1.25", "nginx", "1.25", NULL);
	split_ok("library/nginx:1.25-alpine", "library/nginx", "1.25-alpine", NULL);
	split_ok("registry.local:5000/team/app:1.2", "registry.local:5000/team/app", "1.2", NULL);
	split_ok("localhost:5000/redis", "localhost:5000/redis", "latest", NULL);
	split_ok("reg:5000", "reg", "5000", NULL);
	split_ok("busybox@" SHA, "busybox", NULL, SHA);
	split_ok("reg:5000/busybox:1.36@" SHA, "reg:5000/busybox", "1.36", SHA);
	split_ok("app:_x.Y-1", "app", "_x.Y-1", NULL);
	split_bad("", "empty");
	split_bad("app:", "invalid tag");
	split_bad("app:-x", "invalid tag");
	split_bad("app:a/b", "invalid repository");
	split_bad("app with space", "not an image reference");
	split_bad("app\"x", "not an image reference");
	split_bad("app\\x", "not an image reference");
	split_bad("busybox@sha256:abc", "invalid digest");
	split_bad("busybox@", "invalid digest");
	split_bad("busybox@SHA256:6d9ac9237a84afe1516540f40a0fafdc86859b2141954b4d643af7066d598b74", "invalid digest");
	split_bad("/app", "invalid repository");
	split_bad("app/", "invalid repository");
	split_bad("a//b", "invalid repository");
	split_bad(":1.0", "invalid repository");
	split_bad("reg:/app", "invalid repository");
	split_bad("reg:50x0/app", "invalid repository");
	char longtag[200];
	snprintf(longtag, sizeof(longtag), "app:%0129d", 0);
	split_bad(longtag, "invalid tag");

	key_is("web", "web");
	key_is("my-app", "myApp");
	key_is("a.b_c", "aBC");
	key_is("my-app-2", "myApp2");
	key_is("1st", "_1st");
	key_is("x-1", "x1");
	key_is("-web-", "web");
	key_is("--", "_");

	/* a Service and a Deployment of one name share a key; "a.b" would too
	 * and gets aB2; a second container a-b claims its pod's key; a name
	 * that is a reserved key gets a number */
	json_t *objs = json_loads(
		"[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a-b-cm\",\"namespace\":\"ns1\"},"
		"  \"data\":{\"t\":\"<p>{{ host }}</p>\"}},"
		" {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a-b\",\"namespace\":\"ns1\"},"
		"  \"spec\":{\"ports\":[{\"name\":\"80\",\"port\":80}]}},"
		" {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a-b\",\"namespace\":\"ns1\"},"
		"  \"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"a-b\",\"image\":\"nginx:1.25\","
		"   \"resources\":{\"limits\":{\"cpu\":\"500m\"}}}]}}}},"
		" {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a.b\",\"namespace\":\"ns1\"},"
		"  \"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"nginx:1.25\"}]}}}},"
		" {\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"x\",\"namespace\":\"ns1\"},"
		"  \"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a-b\",\"image\":\"reg:5000/side\"},"
		"   {\"name\":\"namespace\",\"image\":\"busybox@" SHA "\"}]}}}},"
		" {\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"tick\",\"namespace\":\"ns1\"},"
		"  \"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":"
		"   [{\"name\":\"tick\",\"image\":\"busybox:1.25\",\"command\":[\"echo\",\"{{.State}}\"]}]}}}}}}]",
		0, NULL);
	CHECK(objs != NULL, "test objects parse");
	struct kube_chart_opts o = {.name = "proj", .namespace_ = "ns1"};
	json_t *files = NULL;
	struct berr *e = NULL;
	CHECK(kube_chart_render(objs, &o, &files, &e) == 0, "render%s%s", e ? ": " : "", e ? e->msg : "");
	berr_free(e);
	e = NULL;
	const char *const names[] = {"Chart.yaml", "values.yaml", "values.schema.json", ".helmignore", "templates/NOTES.txt",
				     "templates/a-b-cm-configmap.yaml", "templates/a-b-service.yaml",
				     "templates/a-b-deployment.yaml", "templates/a.b-deployment.yaml",
				     "templates/x-daemonset.yaml", "templates/tick-cronjob.yaml"};
	CHECK(json_object_size(files) == ARRAY_SIZE(names), "%zu files (%zu)", ARRAY_SIZE(names), json_object_size(files));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		CHECK(json_object_get(files, names[i]) != NULL, "file %s", names[i]);
	const char *chart = file(files, "Chart.yaml"), *values = file(files, "values.yaml");
	CHECK(strstr(chart, "apiVersion: v2\nname: proj\n") && strstr(chart, "version: 0.1.0\n") &&
		      strstr(chart, "type: application\n") && strstr(chart, "appVersion: 0.1.0\n"),
	      "Chart.yaml (several tags: appVersion is the chart's version)");
	CHECK(strstr(values, "\nnamespace: ns1\n") != NULL, "values: namespace");
	CHECK(strstr(values, "# a-b: Service a-b, Deployment a-b\naB:\n  image:\n    repository: nginx\n    tag: \"1.25\"\n"
				 "  replicas: 2\n  ports:\n    - name: \"80\"\n      port: 80\n  resources:\n    limits:\n      cpu: 500m\n"),
	      "values: aB holds the Service's ports and the Deployment's image, replicas, resources");
	CHECK(strstr(values, "# a.b: Deployment a.b\naB2:\n  replicas: 1\n") != NULL, "values: a.b is aB2");
	CHECK(strstr(values, "# main: Deployment a.b\nmain:\n  image:\n") != NULL, "values: a container keyed by its name");
	CHECK(strstr(values, "# x-a-b: DaemonSet x\nxAB:\n  image:\n    repository: reg:5000/side\n    tag: latest\n") != NULL,
	      "values: a second container a-b is keyed by its pod and name");
	CHECK(strstr(values, "# namespace: DaemonSet x\nnamespace2:\n  image:\n    repository: busybox\n    digest: " SHA "\n") != NULL,
	      "values: a container named namespace is namespace2; digest without tag");
	const char *dep = file(files, "templates/a-b-deployment.yaml");
	CHECK(strstr(dep, "  namespace: {{ .Values.namespace | quote }}\n") != NULL, "template: namespace");
	CHECK(strstr(dep, "  replicas: {{ .Values.aB.replicas | int }}\n") != NULL, "template: replicas");
	CHECK(strstr(dep, "          image: \"{{ .Values.aB.image.repository }}:{{ .Values.aB.image.tag }}\"\n") != NULL,
	      "template: image in a quoted scalar");
	CHECK(strstr(dep, "          resources:\n            {{- toYaml .Values.aB.resources | nindent 12 }}\n") != NULL,
	      "template: present resources with toYaml | nindent");
	const char *ds = file(files, "templates/x-daemonset.yaml");
	CHECK(strstr(ds, "{{- with .Values.xAB.resources }}\n          resources:\n            {{- toYaml . | nindent 12 }}\n{{- end }}\n") != NULL,
	      "template: absent resources only when values give some");
	CHECK(strstr(ds, "image: \"{{ .Values.namespace2.image.repository }}{{ with .Values.namespace2.image.tag }}:{{ . }}{{ end }}@{{ .Values.namespace2.image.digest }}\"") != NULL,
	      "template: a digest reference");
	CHECK(strstr(file(files, "templates/a-b-service.yaml"), "  ports:\n    {{- toYaml .Values.aB.ports | nindent 4 }}\n") != NULL,
	      "template: Service ports");
	CHECK(strstr(file(files, "templates/a-b-cm-configmap.yaml"), "<p>{{ \"{{\" }} host }}</p>") != NULL,
	      "template: literal {{ is escaped");
	const char *cj = file(files, "templates/tick-cronjob.yaml");
	CHECK(strstr(cj, "{{ .Values.tick.image.repository }}") && strstr(cj, "- \"{{ \"{{\" }}.State}}\"\n"),
	      "template: a CronJob's containers; a literal {{ in a list item");
	const char *schema = file(files, "values.schema.json");
	CHECK(strstr(schema, "\"replicas\": {\n") && strstr(schema, "\"type\": \"integer\""), "schema: replicas are integers");
	json_decref(files);

	/* an image that cannot stand in the template names its object */
	json_t *bad = json_loads("[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
				 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\\\"y\"}]}}]",
				 0, NULL);
	files = NULL;
	CHECK(kube_chart_render(bad, &o, &files, &e) < 0 && e && strstr(e->msg, "Pod p: container c: image"),
	      "bad image: %s", e ? e->msg : "(accepted)");
	berr_free(e);
	e = NULL;
	json_decref(bad);
	struct kube_chart_opts badname = {.name = "a/b"};
	CHECK(kube_chart_render(objs, &badname, &files, &e) < 0 && e && strstr(e->msg, "chart name"), "chart name with /");
	berr_free(e);
	e = NULL;

	/* writing: a new dir, an empty dir, a non-empty dir, a path under a file */
	char base[] = "/tmp/test-kube-chart.XXXXXX";
	CHECK(mkdtemp(base) != NULL, "temp dir");
	char p1[320], p2[320], p3[320], p4[320], f[400];
	snprintf(p1, sizeof(p1), "%s/new", base);
	CHECK(kube_chart_write(p1, objs, &o, &e) == 0, "write into a new dir%s%s", e ? ": " : "", e ? e->msg : "");
	berr_free(e);
	e = NULL;
	snprintf(f, sizeof(f), "%s/templates/a-b-deployment.yaml", p1);
	CHECK(exists(f), "the chart is there");
	CHECK(kube_chart_write(p1, objs, &o, &e) < 0 && e && !strcmp(e->msg, "exists and is not empty"),
	      "a non-empty dir is refused: %s", e ? e->msg : "(accepted)");
	berr_free(e);
	e = NULL;
	snprintf(p2, sizeof(p2), "%s/empty/", base);
	mkdir(p2, 0755);
	CHECK(kube_chart_write(p2, objs, &o, &e) == 0, "write into an empty dir (trailing slash)");
	berr_free(e);
	e = NULL;
	snprintf(f, sizeof(f), "%s/Chart.yaml", p2);
	CHECK(exists(f), "the empty dir got the chart");
	snprintf(f, sizeof(f), "%s/file", base);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	snprintf(p3, sizeof(p3), "%s/file/chart", base);
	CHECK(kube_chart_check_target(p3, &e) < 0 && e && strstr(e->msg, "not a directory"), "under a file: %s",
	      e ? e->msg : "(accepted)");
	berr_free(e);
	e = NULL;
	CHECK(kube_chart_check_target(f, &e) < 0 && e && !strcmp(e->msg, "exists and is not a directory"), "onto a file");
	berr_free(e);
	e = NULL;
	snprintf(p4, sizeof(p4), "%s/missing/chart", base);
	CHECK(kube_chart_check_target(p4, &e) < 0 && e && strstr(e->msg, "parent directory"), "no parent: %s",
	      e ? e->msg : "(accepted)");
	berr_free(e);
	e = NULL;
	CHECK(kube_chart_check_target(".", &e) < 0, "\".\" is refused");
	berr_free(e);
	e = NULL;
	/* staged, then the target fills up before the rename: refused, tmp gone */
	snprintf(p4, sizeof(p4), "%s/late", base);
	char *tmp = NULL;
	files = NULL;
	CHECK(kube_chart_render(objs, &o, &files, &e) == 0 && kube_chart_stage(p4, files, &tmp, &e) == 0, "stage");
	mkdir(p4, 0755);
	snprintf(f, sizeof(f), "%s/late/x", base);
	fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	CHECK(kube_chart_commit(tmp, p4, &e) < 0 && e && !strcmp(e->msg, "exists and is not empty"), "commit onto a filled dir");
	berr_free(e);
	e = NULL;
	CHECK(tmp && !exists(tmp), "the staged dir is gone");
	free(tmp);
	json_decref(files);
	CHECK(count_prefix(base, ".") == 0, "no temp dir left in %s", base);
	fs_rm_rf_at(AT_FDCWD, base);
	json_decref(objs);
	UNIT_END();
}
