/* berth kube scale: a new replica count for a Deployment, ReplicaSet or
 * StatefulSet that kube play runs, as `kubectl scale`. The stored object
 * changes; the namespace's supervisor makes or removes the pods (a
 * StatefulSet from its highest ordinal down). A later play of the file
 * sets the file's count again, as kubectl apply does. */
#include "cli/cli.h"
#include "cli/kube-common.h"
#include "kube/manifest.h"
#include "kube/store.h"
#include "kube/supervisor.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_kube_scale(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {{"replicas", required_argument, 0, 'r'},
					   {"namespace", required_argument, 0, 'n'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *ns = "default";
	long replicas = -1;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (o) {
		case 'r': {
			char *end;
			replicas = strtol(optarg, &end, 10);
			if (!*optarg || *end || replicas < 0 || replicas > 1000) {
				fprintf(stderr, "error: invalid --replicas \"%s\": a number from 0 to 1000\n", optarg);
				return 1;
			}
			break;
		}
		case 'n': ns = optarg; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	if (replicas < 0) {
		fprintf(stderr, "error: required flag(s) \"replicas\" not set\n");
		return 1;
	}
	char kindword[256] = "", name[256] = "";
	if (optind < argc && strchr(argv[optind], '/')) {
		const char *s = strchr(argv[optind], '/');
		snprintf(kindword, sizeof(kindword), "%.*s", (int)(s - argv[optind]), argv[optind]);
		snprintf(name, sizeof(name), "%s", s + 1);
		optind++;
	} else if (optind + 1 < argc) {
		snprintf(kindword, sizeof(kindword), "%s", argv[optind]);
		snprintf(name, sizeof(name), "%s", argv[optind + 1]);
		optind += 2;
	}
	if (!*kindword || !*name || optind != argc) {
		fprintf(stderr, "error: expected TYPE/NAME or TYPE NAME, e.g. deployment/web\n");
		return 1;
	}
	const char *kind = kube_kind_resolve(kindword);
	if (!kind) {
		fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", kindword);
		return 1;
	}
	if (strcmp(kind, "Deployment") && strcmp(kind, "ReplicaSet") && strcmp(kind, "StatefulSet")) {
		fprintf(stderr, "error: %s \"%s\" cannot be scaled (deployments, replicasets and statefulsets can)\n",
			kube_kind_plural(kind), name);
		return 1;
	}
	struct berr *e = NULL;
	int lfd = kube_store_lock(c->root, ns, &e);
	if (lfd < 0)
		return cli_fail(e);
	json_t *doc = kube_store_objects(c->root, ns, &e);
	if (!doc) {
		close(lfd);
		return cli_fail(e);
	}
	char key[320];
	snprintf(key, sizeof(key), "%s/%s", kind, name);
	json_t *obj = json_object_get(json_object_get(doc, "objects"), key);
	int rc = 0;
	if (!obj) {
		fprintf(stderr, "Error from server (NotFound): %s.%s \"%s\" not found\n", kube_kind_plural(kind),
			kube_kind_group(kind), name);
		rc = 1;
	} else {
		json_t *spec = json_object_get(obj, "spec");
		json_t *md = json_object_get(obj, "metadata");
		if (json_integer_value(json_object_get(spec, "replicas")) != replicas) {
			json_object_set_new(spec, "replicas", json_integer(replicas));
			json_object_set_new(md, "generation",
					    json_integer(json_integer_value(json_object_get(md, "generation")) + 1));
			json_object_set_new(doc, "generation",
					    json_integer(json_integer_value(json_object_get(doc, "generation")) + 1));
			if (kube_store_write_objects(c->root, ns, doc, &e) < 0)
				rc = cli_fail(e);
		}
	}
	close(lfd);
	if (!rc) {
		bool started;
		if (kube_supervisor_ensure(c->root, c->runroot, ns, false, &started, &e) < 0)
			rc = cli_fail(e);
		char ref[400];
		kube_ref_string(kind, name, ref, sizeof(ref));
		if (!rc)
			printf("%s scaled\n", ref);
	}
	json_decref(doc);
	return rc;
}
