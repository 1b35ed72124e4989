/* kube/cluster: cluster names, the binaries' directory, kubeconfig merging
 * (other entries kept, ours replaced, current-context, removal of ours
 * only, a file round trip through the YAML writer with its lock and mode),
 * and the listening-port check. */
#include "unit.h"
#include "compose/yaml.h"
#include "kube/cluster-int.h"
#include "kube/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *kcfg(const char *name, const char *server)
{
	return json_pack("{s:s,s:s,s:[{s:s,s:{s:s,s:s}}],s:[{s:s,s:{s:s,s:s}}],s:[{s:s,s:{s:s,s:s}}],s:s}",
			 "apiVersion", "v1", "kind", "Config", "clusters", "name", name, "cluster", "server", server,
			 "certificate-authority-data", "Q0E=", "users", "name", name, "user", "client-certificate-data",
			 "Q0VSVA==", "client-key-data", "S0VZ", "contexts", "name", name, "context", "cluster", name,
			 "user", name, "current-context", name);
}

static const char *name_at(json_t *doc, const char *list, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(doc, list), i), "name"));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct berr *e = NULL;

	/* names */
	CHECK(kube_cluster_name_check("berth", &e) == 0, "berth is a name");
	CHECK(kube_cluster_name_check("a", &e) == 0 && kube_cluster_name_check("dev-2", &e) == 0, "a, dev-2");
	const char *bad[] = {"", "-a", "a-", "Dev", "a_b", "a.b",
			     "a234567890123456789012345678901234567890123456789012345678901234", NULL};
	for (int i = 0; bad[i]; i++) {
		CHECK(kube_cluster_name_check(bad[i], &e) < 0 && e && e->code == BERR_INVALID &&
			      strstr(e->msg, "DNS label"),
		      "\"%s\" is refused", bad[i]);
		berr_freep(&e);
	}

	/* binaries */
	char dir[] = "/tmp/berth-test-cluster.XXXXXX";
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	char buf[4096], p[4200];
	CHECK(kube_cluster_bin_dir(dir, buf, sizeof(buf), &e) < 0, "an empty --k8s-bin is refused");
	CHECK(e && strstr(e->msg, "--k8s-bin") &&
		      strstr(e->msg, "etcd, kube-apiserver, kube-controller-manager, kube-scheduler"),
	      "... naming every missing binary: %s", e ? e->msg : "");
	berr_freep(&e);
	const char *bins[] = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, bins[i]);
		FILE *f = fopen(p, "w");
		fputs("#!/bin/sh\n", f);
		fclose(f);
		chmod(p, i == 2 ? 0644 : 0755);
	}
	CHECK(kube_cluster_bin_dir(dir, buf, sizeof(buf), &e) < 0 && e &&
		      strstr(e->msg, "no kube-controller-manager there"),
	      "a binary that is not executable is named: %s", e ? e->msg : "");
	berr_freep(&e);
	snprintf(p, sizeof(p), "%s/kube-controller-manager", dir);
	chmod(p, 0755);
	CHECK(kube_cluster_bin_dir(dir, buf, sizeof(buf), &e) == 0 && !strcmp(buf, dir), "a full dir is taken");
	setenv("BERTH_K8S_BIN", dir, 1);
	CHECK(kube_cluster_bin_dir(NULL, buf, sizeof(buf), &e) == 0 && !strcmp(buf, dir), "BERTH_K8S_BIN is used");
	setenv("BERTH_K8S_BIN", "/nonexistent/k8s", 1);
	CHECK(kube_cluster_bin_dir(NULL, buf, sizeof(buf), &e) < 0 && e &&
		      strstr(e->msg, "BERTH_K8S_BIN /nonexistent/k8s"),
	      "a bad BERTH_K8S_BIN is named: %s", e ? e->msg : "");
	berr_freep(&e);
	unsetenv("BERTH_K8S_BIN");

	/* merge into nothing */
	json_t *ours = kcfg("berth-dev", "https://127.0.0.1:6443");
	json_t *doc = json_object();
	CHECK(kube_kubeconfig_merge(doc, ours, "berth-dev", &e) == 0, "merge into an empty kubeconfig");
	CHECK_STR(json_string_value(json_object_get(doc, "current-context")), "berth-dev", "... made current");
	CHECK_STR(json_string_value(json_object_get(doc, "kind")), "Config", "... kind Config");
	CHECK_STR(name_at(doc, "users", 0), "berth-dev", "... the user");
	json_decref(doc);

	/* merge beside other entries, then again with a new server */
	json_t *other = kcfg("prod", "https://prod:443");
	json_object_set_new(other, "preferences", json_pack("{s:b}", "colors", 1));
	CHECK(kube_kubeconfig_merge(other, ours, "berth-dev", &e) == 0, "merge beside another cluster");
	CHECK(json_array_size(json_object_get(other, "clusters")) == 2 &&
		      !strcmp(name_at(other, "clusters", 0), "prod") &&
		      !strcmp(name_at(other, "clusters", 1), "berth-dev"),
	      "... the other first, ours appended");
	json_t *ours2 = kcfg("berth-dev", "https://127.0.0.1:7443");
	CHECK(kube_kubeconfig_merge(other, ours2, "berth-dev", &e) == 0, "merge again");
	CHECK(json_array_size(json_object_get(other, "contexts")) == 2, "... replaced, not added");
	const char *srv = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(other, "clusters"), 1), "cluster"), "server"));
	CHECK_STR(srv, "https://127.0.0.1:7443", "... the new server");
	CHECK(json_is_true(json_object_get(json_object_get(other, "preferences"), "colors")), "... other fields kept");

	/* unmerge: ours go, the other stays; current-context emptied */
	CHECK(kube_kubeconfig_unmerge(other, "berth-dev"), "unmerge");
	CHECK(json_array_size(json_object_get(other, "clusters")) == 1 &&
		      !strcmp(name_at(other, "clusters", 0), "prod") &&
		      json_array_size(json_object_get(other, "users")) == 1 &&
		      json_array_size(json_object_get(other, "contexts")) == 1,
	      "... only ours removed");
	CHECK_STR(json_string_value(json_object_get(other, "current-context")), "", "... no current context");
	CHECK(!kube_kubeconfig_unmerge(other, "berth-dev"), "unmerge again: nothing to do");
	json_object_set_new(other, "current-context", json_string("prod"));
	CHECK(!kube_kubeconfig_unmerge(other, "berth-x"), "unmerge of another name leaves current-context");
	CHECK_STR(json_string_value(json_object_get(other, "current-context")), "prod", "... prod stays current");
	json_decref(other);

	/* not a kubeconfig */
	json_t *badd = json_pack("{s:s}", "clusters", "oops");
	CHECK(kube_kubeconfig_merge(badd, ours, "berth-dev", &e) < 0 && e && strstr(e->msg, "clusters is not a list"),
	      "clusters that is no list is refused: %s", e ? e->msg : "");
	berr_freep(&e);
	json_decref(badd);

	/* a file: created 0600 in a new directory, other entries kept, lock removed */
	snprintf(p, sizeof(p), "%s/home/.kube/config", dir);
	CHECK(kube_kubeconfig_merge_file(p, ours, "berth-dev", &e) == 0, "merge into a new file");
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "... mode 0600");
	char lock[4300];
	snprintf(lock, sizeof(lock), "%s.lock", p);
	CHECK(access(lock, F_OK) < 0, "... the lock is gone");
	FILE *f = fopen(p, "a");
	fputs("# a comment\n", f);
	fclose(f);
	json_t *prod = kcfg("prod", "https://prod:443");
	CHECK(kube_kubeconfig_merge_file(p, prod, "prod", &e) == 0, "merge a second one into the file");
	char *text = slurp(p);
	json_t *back = NULL;
	struct cmarks *m = cmarks_new();
	CHECK(text && compose_yaml_parse(text, strlen(text), p, m, &back, &e) == 0, "the file reads back as YAML");
	cmarks_free(m);
	CHECK(json_array_size(json_object_get(back, "clusters")) == 2, "... with both clusters");
	CHECK_STR(json_string_value(json_object_get(back, "current-context")), "prod", "... the last made current");
	json_decref(back);
	free(text);
	CHECK(kube_kubeconfig_unmerge_file(p, "berth-dev", &e) == 0, "unmerge from the file");
	text = slurp(p);
	CHECK(text && !strstr(text, "berth-dev") && strstr(text, "prod"), "... ours gone, prod kept");
	free(text);
	/* a lock held by someone else */
	f = fopen(lock, "w");
	fclose(f);
	CHECK(kube_kubeconfig_merge_file(p, ours, "berth-dev", &e) < 0 && e && strstr(e->msg, "is locked"),
	      "a held lock is reported: %s", e ? e->msg : "");
	berr_freep(&e);
	unlink(lock);
	snprintf(p, sizeof(p), "%s/nosuch/config", dir);
	CHECK(kube_kubeconfig_unmerge_file(p, "berth-dev", &e) == 0 && access(p, F_OK) < 0,
	      "unmerge of a missing file: no error, nothing made");
	/* not YAML */
	snprintf(p, sizeof(p), "%s/broken", dir);
	f = fopen(p, "w");
	fputs("clusters: [\n", f);
	fclose(f);
	CHECK(kube_kubeconfig_merge_file(p, ours, "berth-dev", &e) < 0 && e && strstr(e->msg, p),
	      "a broken file is refused naming it: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(kube_kubeconfig_check_file(p, &e) < 0 && e && strstr(e->msg, p), "... and by the check before up");
	berr_freep(&e);
	f = fopen(p, "w");
	fputs("users: 3\n", f);
	fclose(f);
	CHECK(kube_kubeconfig_check_file(p, &e) < 0 && e && strstr(e->msg, "users is not a list"),
	      "a kubeconfig whose users is no list: %s", e ? e->msg : "");
	berr_freep(&e);
	snprintf(p, sizeof(p), "%s/new/dir/config", dir);
	CHECK(kube_kubeconfig_check_file(p, &e) == 0 && access(p, F_OK) < 0, "a new file passes, nothing made");
	json_decref(prod);
	json_decref(ours);
	json_decref(ours2);

	/* KUBECONFIG's first file */
	setenv("KUBECONFIG", "/tmp/a:/tmp/b", 1);
	CHECK(kube_kubeconfig_target(buf, sizeof(buf), &e) == 0 && !strcmp(buf, "/tmp/a"), "KUBECONFIG's first file");
	unsetenv("KUBECONFIG");
	setenv("HOME", "/home/x", 1);
	CHECK(kube_kubeconfig_target(buf, sizeof(buf), &e) == 0 && !strcmp(buf, "/home/x/.kube/config"),
	      "else ~/.kube/config");

	/* a listening port, without connecting */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	int port = ntohs(a.sin_port);
	CHECK(!kc_port_listening(port), "a bound port is not listening yet");
	listen(fd, 1);
	CHECK(kc_port_listening(port), "a listening port is seen (%d)", port);
	int two[] = {port, 1};
	CHECK(kc_ports_listening(two, 2) == 1, "... one of two");
	close(fd);
	CHECK(!kc_port_listening(port), "... and gone once closed");

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_END();
}
