/* kube play's pure parts: template hashes and name suffixes in
 * Kubernetes' alphabet, maxSurge/maxUnavailable, quantities, label
 * selectors, and the pod spec resolution (env, $(VAR), ConfigMap keys,
 * the atomic-writer volume layout and its update, subPath checks) in a
 * temp store. */
#include "kube/podspec.h"
#include "kube/reconcile.h"
#include "kube/selector.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/quantity.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static bool in_alphabet(const char *s)
{
	for (; *s; s++)
		if (!strchr("bcdfghjklmnpqrstvwxz2456789", *s))
			return false;
	return true;
}

static void hashes(void)
{
	json_t *a = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"x\",\"image\":\"i\"}]}}", 0, NULL);
	json_t *b = json_loads("{\"spec\":{\"containers\":[{\"image\":\"i\",\"name\":\"x\"}]},\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 0, NULL);
	json_t *c = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"x\",\"image\":\"j\"}]}}", 0, NULL);
	char ha[16], hb[16], hc[16];
	kube_template_hash(a, ha);
	kube_template_hash(b, hb);
	kube_template_hash(c, hc);
	CHECK_STR(ha, hb, "the hash does not depend on key order");
	CHECK(strcmp(ha, hc), "another template, another hash");
	CHECK(strlen(ha) >= 6 && strlen(ha) <= 10 && in_alphabet(ha), "hash %s in Kubernetes' alphabet", ha);
	char suf[6];
	kube_rand_suffix(suf);
	CHECK(strlen(suf) == 5 && in_alphabet(suf), "suffix %s", suf);
	char u[37];
	kube_uuid(u);
	CHECK(strlen(u) == 36 && u[14] == '4' && u[8] == '-', "uuid %s", u);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void percents(void)
{
	json_t *p25 = json_string("25%"), *two = json_integer(2), *s3 = json_string("3"), *bad = json_string("x%");
	CHECK(kube_int_or_percent(p25, 3, true, -1) == 1, "25%% of 3 rounded up (maxSurge) is 1");
	CHECK(kube_int_or_percent(p25, 3, false, -1) == 0, "25%% of 3 rounded down (maxUnavailable) is 0");
	CHECK(kube_int_or_percent(p25, 10, true, -1) == 3, "25%% of 10 up is 3");
	CHECK(kube_int_or_percent(two, 10, true, -1) == 2, "an integer");
	CHECK(kube_int_or_percent(s3, 10, true, -1) == 3, "a number as a string");
	CHECK(kube_int_or_percent(bad, 10, true, -7) == -7, "a bad value gives the default");
	CHECK(kube_int_or_percent(NULL, 10, true, 5) == 5, "absent gives the default");
	json_decref(p25);
	json_decref(two);
	json_decref(s3);
	json_decref(bad);
}

static void quantities(void)
{
	static const struct { const char *q; long long milli; } ok[] = {
		{"500m", 500}, {"1", 1000}, {"1.5", 1500}, {"0.1", 100}, {"128Mi", 134217728000LL},
		{"1G", 1000000000000LL}, {"2k", 2000000}, {"1e3", 1000000}, {"1P", 1000000000000000000LL},
		{"100n", 1},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		int64_t m = 0;
		bool r = quantity_parse(ok[i].q, 3, &m) == 0;
		CHECK(r && m == ok[i].milli, "quantity %s = %lld milli (got %lld)", ok[i].q, ok[i].milli, (long long)m);
	}
	static const char *bad[] = {"", "-1", "1E", "abc", "1Mx", "1.2.3", "Mi", "1e", "99999999999999999999Ei"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int64_t m;
		CHECK(quantity_parse(bad[i], 3, &m) < 0, "quantity \"%s\" refused", bad[i]);
	}
	int64_t v;
	CHECK(quantity_parse("100m", 0, &v) == 0 && v == 1, "100m rounds up to 1");
}

static void selectors(void)
{
	json_t *labels = json_pack("{s:s,s:s}", "app", "web", "tier", "front");
	const char *e;
	CHECK(kube_selector_string_match("app=web", labels, &e), "a=b");
	CHECK(!kube_selector_string_match("app=db", labels, &e) && !e, "a=c does not match");
	CHECK(kube_selector_string_match("app==web,tier!=back", labels, &e), "== and !=");
	CHECK(kube_selector_string_match("tier in (front, mid)", labels, &e), "in (...)");
	CHECK(!kube_selector_string_match("tier notin (front)", labels, &e), "notin");
	CHECK(kube_selector_string_match("app,!gone", labels, &e), "exists and !");
	CHECK(!kube_selector_string_match("tier in front", labels, &e) && e, "a malformed set is an error");
	json_t *sel = json_loads("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"front\"]},{\"key\":\"x\",\"operator\":\"DoesNotExist\"}]}", 0, NULL);
	CHECK(kube_selector_match(sel, labels), "a LabelSelector");
	json_object_set_new(labels, "x", json_string("1"));
	CHECK(!kube_selector_match(sel, labels), "DoesNotExist");
	json_decref(sel);
	json_decref(labels);
}

static json_t *objects(const char *mode)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"ConfigMap/cfg\": {\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"},\"data\":{\"greeting\":\"hi\",\"mode\":\"%s\"}},"
		 " \"Secret/s\": {\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"pw\":\"czNjcmV0\"}}}",
		 mode);
	return json_loads(buf, 0, NULL);
}

static void podspecs(void)
{
	char tmpl[] = "/tmp/test-kube-play.XXXXXX";
	char *root = mkdtemp(tmpl);
	CHECK(root != NULL, "temp dir");
	json_t *objs = objects("one");
	struct kube_pod_ctx c = {.root = root, .runroot = root, .ns = "default", .objects = objs, .network = "kube-default",
				 .gateway = "10.84.0.1"};
	json_t *pod = json_loads(
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u1\",\"labels\":{\"app\":\"web\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"x\",\"image\":\"busybox\",\"command\":[\"echo\",\"$(GREETING)-$(NAME)-$$(NAME)\"],"
		"\"env\":[{\"name\":\"GREETING\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"greeting\"}}},"
		"{\"name\":\"NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
		"{\"name\":\"BOTH\",\"value\":\"$(GREETING) $(NAME) $(UNSET)\"},"
		"{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"pw\"}}},"
		"{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}],"
		"\"ports\":[{\"name\":\"http\",\"containerPort\":8080}],"
		"\"readinessProbe\":{\"httpGet\":{\"port\":\"http\"}},"
		"\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/cfg\"},{\"name\":\"cfg\",\"mountPath\":\"/etc/mode\",\"subPath\":\"mode\"}]}],"
		"\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":420}}]}}",
		0, NULL);
	CHECK(pod != NULL, "pod JSON");
	json_t *rs = NULL;
	struct berr *e = NULL;
	int r = kube_podspec_resolve(&c, pod, &rs, &e);
	CHECK(r == 0, "resolve%s%s", e ? ": " : "", e ? e->msg : "");
	json_t *ctr = json_array_get(json_object_get(rs, "containers"), 0);
	json_t *env = json_object_get(ctr, "env");
	const char *both = NULL, *pw = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		if (!strcmp(jsonx_str(v, "name"), "BOTH"))
			both = jsonx_str(v, "value");
		if (!strcmp(jsonx_str(v, "name"), "PW"))
			pw = jsonx_str(v, "value");
	}
	CHECK_STR(both, "hi p $(UNSET)", "$(VAR) of earlier variables, an unknown one kept");
	CHECK_STR(pw, "s3cret", "a secretKeyRef decoded");
	CHECK_STR(jsonx_str(rs, "hostname"), "", "no spec.hostname: left to the runtime (the name cut to 63)");
	CHECK_STR(json_string_value(json_array_get(json_object_get(ctr, "command"), 1)), "hi-p-$(NAME)", "command expanded, $$ escapes");
	CHECK_STR(json_string_value(json_array_get(json_object_get(ctr, "envPodIP"), 0)), "IP", "status.podIP left to the runtime");
	CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(ctr, "readinessProbe"), "httpGet"), "port")) == 8080,
	      "a named probe port made a number");
	CHECK(json_integer_value(json_object_get(json_object_get(ctr, "readinessProbe"), "periodSeconds")) == 10, "probe defaults");
	CHECK_STR(json_string_value(json_array_get(json_object_get(json_object_get(rs, "dns"), "searches"), 0)), "default.svc.cluster.local",
		  "ClusterFirst search path");
	char path[4096], target[256];
	snprintf(path, sizeof(path), "%s/kube/default/pods/p/volumes/cfg/greeting", root);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	CHECK_STR(target, "..data/greeting", "a key is a link through ..data");
	snprintf(path, sizeof(path), "%s/kube/default/pods/p/volumes/cfg", root);
	int dfd = open(path, O_RDONLY | O_DIRECTORY);
	char *got = NULL;
	size_t len;
	fs_read_file_at(dfd, "mode", 100, &got, &len, &e);
	CHECK_STR(got, "one", "the file's content");
	free(got);
	char data1[256];
	n = readlinkat(dfd, "..data", data1, sizeof(data1) - 1);
	data1[n > 0 ? n : 0] = 0;
	/* an unchanged refresh writes nothing; a change swaps ..data */
	int changed = -1;
	kube_podspec_refresh(&c, pod, &changed, &e);
	CHECK(changed == 0, "an unchanged ConfigMap writes nothing");
	json_decref(objs);
	objs = objects("two");
	c.objects = objs;
	kube_podspec_refresh(&c, pod, &changed, &e);
	CHECK(changed == 1, "a changed ConfigMap is written again");
	fs_read_file_at(dfd, "mode", 100, &got, &len, &e);
	CHECK_STR(got, "two", "the new content through the same path");
	free(got);
	char data2[256];
	n = readlinkat(dfd, "..data", data2, sizeof(data2) - 1);
	data2[n > 0 ? n : 0] = 0;
	CHECK(strcmp(data1, data2) && !strncmp(data2, "..20", 4), "..data points at a new timestamped dir (%s)", data2);
	struct stat st;
	CHECK(fstatat(dfd, data1, &st, AT_SYMLINK_NOFOLLOW) < 0, "the old dir is gone");
	close(dfd);
	json_decref(rs);
	/* bad input */
	json_t *bad = json_deep_copy(pod);
	json_t *bc = json_array_get(json_object_get(json_object_get(bad, "spec"), "containers"), 0);
	json_object_set_new(json_array_get(json_object_get(bc, "env"), 0), "valueFrom",
			    json_pack("{s:{s:s,s:s}}", "configMapKeyRef", "name", "cfg", "key", "nope"));
	r = kube_podspec_resolve(&c, bad, &rs, &e);
	CHECK(r < 0 && e && strstr(e->msg, "has no key \"nope\""), "a missing key: %s", e ? e->msg : "");
	json_decref(bad);
	bad = json_deep_copy(pod);
	bc = json_array_get(json_object_get(json_object_get(bad, "spec"), "containers"), 0);
	json_object_set_new(json_array_get(json_object_get(bc, "volumeMounts"), 1), "subPath", json_string("../../etc"));
	r = kube_podspec_resolve(&c, bad, &rs, &e);
	CHECK(r < 0 && e && strstr(e->msg, "subPath"), "a subPath with .. : %s", e ? e->msg : "");
	json_decref(bad);
	berr_free(e);
	json_decref(pod);
	json_decref(objs);
	kube_podspec_cleanup(root, "default", "p");
	int rfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	fs_rm_rf_at(rfd, root + 5);
	close(rfd);
}

/* The kubelet's fsGroup ownership of a pod's volumes, a resourceFieldRef's
 * default divisor "0" (divide by 1) and a missing subPath made with the
 * volume's mode. */
static void podspec_fsgroup(void)
{
	char tmpl[] = "/tmp/test-kube-play.XXXXXX";
	char *root = mkdtemp(tmpl);
	CHECK(root != NULL, "temp dir");
	json_t *objs = objects("one");
	struct kube_pod_ctx c = {.root = root, .runroot = root, .ns = "default", .objects = objs, .network = "kube-default",
				 .gateway = "10.84.0.1"};
	json_t *pod = json_loads(
		"{\"metadata\":{\"name\":\"g\",\"namespace\":\"default\",\"uid\":\"u2\"},"
		"\"spec\":{\"securityContext\":{\"fsGroup\":1234,\"runAsUser\":1000},"
		"\"containers\":[{\"name\":\"x\",\"image\":\"busybox\",\"resources\":{\"limits\":{\"cpu\":\"1250m\"}},"
		"\"env\":[{\"name\":\"CPU\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\",\"divisor\":\"0\"}}}],"
		"\"volumeMounts\":[{\"name\":\"s\",\"mountPath\":\"/etc/s\"},{\"name\":\"e\",\"mountPath\":\"/e\",\"subPath\":\"sub\"}]}],"
		"\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":256}},"
		"{\"name\":\"e\",\"emptyDir\":{}}]}}",
		0, NULL);
	CHECK(pod != NULL, "pod JSON");
	json_t *rs = NULL;
	struct berr *e = NULL;
	int r = kube_podspec_resolve(&c, pod, &rs, &e);
	CHECK(r == 0, "resolve with fsGroup%s%s", e ? ": " : "", e ? e->msg : "");
	json_t *env = json_object_get(json_array_get(json_object_get(rs, "containers"), 0), "env");
	CHECK_STR(jsonx_str(json_array_get(env, 0), "value"), "2", "limits.cpu 1250m with the divisor \"0\": 2 (rounded up)");
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/kube/default/pods/g/volumes/s/pw", root);
	CHECK(stat(path, &st) == 0, "the secret's file");
	CHECK((st.st_mode & 07777) == 0440, "defaultMode 0400 with fsGroup: 0440 (%o)", st.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/kube/default/pods/g/volumes/e", root);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 02777, "the emptyDir with fsGroup: 2777 (%o)", st.st_mode & 07777);
	if (getuid() == 0) {
		CHECK(st.st_gid == 1234, "the emptyDir's group is the fsGroup (%u)", (unsigned)st.st_gid);
		snprintf(path, sizeof(path), "%s/kube/default/pods/g/volumes/s/pw", root);
		CHECK(stat(path, &st) == 0 && st.st_gid == 1234, "the secret's file's group is the fsGroup (%u)", (unsigned)st.st_gid);
		snprintf(path, sizeof(path), "%s/kube/default/pods/g/volumes/e/sub", root);
		CHECK(stat(path, &st) == 0 && st.st_gid == 1234 && (st.st_mode & 07777) == 02777,
		      "the subPath made with the volume's mode and group (%o, %u)", st.st_mode & 07777, (unsigned)st.st_gid);
	}
	/* an unchanged refresh writes nothing: the group and mode count */
	int changed = -1;
	kube_podspec_refresh(&c, pod, &changed, &e);
	CHECK(changed == 0, "an unchanged secret with fsGroup writes nothing");
	json_decref(rs);
	berr_free(e);
	json_decref(pod);
	json_decref(objs);
	kube_podspec_cleanup(root, "default", "g");
	int rfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	fs_rm_rf_at(rfd, root + 5);
	close(rfd);
}

int main(void)
{
	hashes();
	percents();
	quantities();
	selectors();
	podspecs();
	podspec_fsgroup();
	UNIT_END();
}
