/* berth kube apply | delete | diff: manifests against a Kubernetes cluster
 * through its API server (kube/client.h, kube/apply.h), as kubectl's
 * server-side apply does them. Also the connection flags the other API
 * commands (rollout, deploy) share.
 *
 * apply checks before it changes anything: every kind is resolved through
 * discovery, then every object is applied once with dryRun=All (the
 * server's validation, admission, RBAC and field-ownership checks), and
 * only when all pass are they applied for real. An invalid object, a
 * conflict or a missing right thus leaves the cluster as it was. (Objects
 * in a namespace the same files create, and kinds a CustomResourceDefinition
 * of the same files defines, can only be checked when they are applied.)
 *
 * --prune: kubectl's --prune does not work with server-side apply ("--prune
 * is in alpha and doesn't currently work on objects created by server-side
 * apply"). berth prunes what it applied itself: objects that match -l (or
 * every one with --all), of the kinds the files hold plus kubectl's default
 * prune list (ConfigMap, Endpoints, Namespace, PersistentVolumeClaim,
 * PersistentVolume, Pod, ReplicationController, Secret, Service, Job,
 * CronJob, Ingress, DaemonSet, Deployment, ReplicaSet, StatefulSet) or
 * --prune-allowlist's, in the namespaces the files use, whose managedFields
 * say this field manager applied them (in place of kubectl's
 * last-applied-configuration annotation: a Deployment's ReplicaSets and
 * Pods carry the labels but were never applied, so they are left alone),
 * and that the files no longer hold. */
#include "cli/cli.h"
#include "compose/yaml.h"
#include "kube/apply.h"
#include "kube/client.h"
#include "kube/selector.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- shared: connection flags ---- */

static bool warnings_quiet;

static void print_warning(void *ud, const char *msg)
{
	(void)ud;
	if (!warnings_quiet)
		fprintf(stderr, "Warning: %s\n", msg);
}

int cli_kube_file_opt(const char **files, size_t *n, size_t cap, const char *arg)
{
	if (*n == cap) {
		fprintf(stderr, "error: at most %zu -f\n", cap);
		return -1;
	}
	files[(*n)++] = arg;
	return 0;
}

int cli_kube_conn_opt(struct kube_client_opts *o, int code, const char *arg)
{
	if (code == 'n')
		code = CLI_KOPT_NAMESPACE;
	else if (code == 's')
		code = CLI_KOPT_SERVER;
	switch (code) {
	case CLI_KOPT_KUBECONFIG: o->kubeconfig = arg; return 1;
	case CLI_KOPT_CONTEXT: o->context = arg; return 1;
	case CLI_KOPT_CLUSTER: o->cluster = arg; return 1;
	case CLI_KOPT_USER: o->user = arg; return 1;
	case CLI_KOPT_SERVER: o->server = arg; return 1;
	case CLI_KOPT_TOKEN: o->token = arg; return 1;
	case CLI_KOPT_NAMESPACE:
		if (!*arg) {
			fprintf(stderr, "error: --namespace must not be empty\n");
			return -1;
		}
		o->namespace_ = arg;
		return 1;
	case CLI_KOPT_INSECURE: {
		bool v = true;
		if (arg && str_parse_gobool(arg, &v) < 0) {
			fprintf(stderr, "error: invalid --insecure-skip-tls-verify value \"%s\"\n", arg);
			return -1;
		}
		o->insecure = v;
		return 1;
	}
	case CLI_KOPT_REQUEST_TIMEOUT: {
		int64_t ns = 0;
		if (time_parse_duration(arg, true, &ns) < 0 || ns < 0) {
			fprintf(stderr, "error: invalid --request-timeout \"%s\": a duration such as 30s or 1m\n", arg);
			return -1;
		}
		o->timeout_ms = (int)(ns / 1000000);
		return 1;
	}
	default: return 0;
	}
}

int cli_kube_open(const struct kube_client_opts *o, struct kube_client **ret)
{
	struct berr *e = NULL;
	if (kube_client_open(o, ret, &e) < 0) {
		fprintf(stderr, "error: %s\n", e->msg);
		berr_free(e);
		return -1;
	}
	kube_client_set_warning_handler(*ret, print_warning, NULL);
	return 0;
}

int cli_kube_duration(const char *flag, const char *arg, int64_t *ret_ms)
{
	int64_t ns = 0;
	if (time_parse_duration(arg, true, &ns) < 0 || ns < 0) {
		fprintf(stderr, "error: invalid %s \"%s\": a duration such as 90s, 5m or 0 (no limit)\n", flag, arg);
		return -1;
	}
	*ret_ms = ns / 1000000;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_line(void *ud, const char *line)
{
	(void)ud;
	printf("%s\n", line);
	fflush(stdout);
}

static void err_line(struct berr *e)
{
	fprintf(stderr, "error: %s\n", e && e->msg ? e->msg : "unknown error");
}

/* --dry-run[=server|none|client] */
static int parse_dry_run(const char *arg, bool *ret)
{
	if (!arg || !strcmp(arg, "server") || !strcmp(arg, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(arg, "none") || !strcmp(arg, "false")) {
		*ret = false;
		return 0;
	}
	if (!strcmp(arg, "client")) {
		fprintf(stderr, "error: --dry-run=client is not supported: berth applies on the server, use "
				"--dry-run=server\n");
		return -1;
	}
	fprintf(stderr, "error: invalid --dry-run \"%s\": server or none\n", arg);
	return -1;
}

static int parse_bool_flag(const char *flag, const char *arg, bool *ret)
{
	if (!arg) {
		*ret = true;
		return 0;
	}
	if (*arg == '=')
		arg++;
	if (str_parse_gobool(arg, ret) < 0) {
		fprintf(stderr, "error: invalid %s value \"%s\": true or false\n", flag, arg);
		return -1;
	}
	return 0;
}

static const char CONFLICT_HINT[] =
	"The fields above are managed by another field manager. Either:\n"
	"* re-run with --force-conflicts to take them over (berth becomes their manager), or\n"
	"* remove them from the manifest to leave them to their current manager, or\n"
	"* set them to the live value to co-own them (berth manages them once the other manager\n"
	"  lets go of them).\n"
	"See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts\n";

/* A Namespace object of the set named ns, before item i? */
static bool ns_made_before(struct kube_items *it, size_t i, const char *ns)
{
	for (size_t k = 0; k < i; k++) {
		const char *kind = json_string_value(json_object_get(it->v[k].obj, "kind"));
		const char *av = json_string_value(json_object_get(it->v[k].obj, "apiVersion"));
		if (kind && av && !strcmp(kind, "Namespace") && !strcmp(av, "v1") && it->v[k].name &&
		    !strcmp(it->v[k].name, ns))
			return true;
	}
	return false;
}

/* kubectl's default --prune-allowlist */
static const char *const prune_defaults[][2] = {
	{"v1", "ConfigMap"},
	{"v1", "Endpoints"},
	{"v1", "Namespace"},
	{"v1", "PersistentVolumeClaim"},
	{"v1", "PersistentVolume"},
	{"v1", "Pod"},
	{"v1", "ReplicationController"},
	{"v1", "Secret"},
	{"v1", "Service"},
	{"batch/v1", "Job"},
	{"batch/v1", "CronJob"},
	{"networking.k8s.io/v1", "Ingress"},
	{"apps/v1", "DaemonSet"},
	{"apps/v1", "Deployment"},
	{"apps/v1", "ReplicaSet"},
	{"apps/v1", "StatefulSet"},
};

static void add_resource(struct kube_resource **rs, size_t *n, const struct kube_resource *r)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*rs)[i].group, r->group) && !strcmp((*rs)[i].kind, r->kind))
			return;
	struct kube_resource *nr = realloc(*rs, (*n + 1) * sizeof(*nr));
	if (!nr)
		return;
	*rs = nr;
	(*rs)[(*n)++] = *r;
}

static int do_prune(struct kube_client *kc, const struct cli_kube_apply *f, struct kube_items *it, const char *defns)
{
	struct kube_resource *rs = NULL;
	size_t nr = 0;
	json_t *namespaces = json_array(), *seen_ns = json_object(), *keep = json_object();
	int rc = 0;
	for (size_t i = 0; i < it->n; i++) {
		struct kube_item *x = &it->v[i];
		if (!x->resolved)
			continue;
		if (!f->nallow)
			add_resource(&rs, &nr, &x->r);
		if (x->ns && !json_object_get(seen_ns, x->ns)) {
			json_object_set_new(seen_ns, x->ns, json_true());
			json_array_append_new(namespaces, json_string(x->ns));
		}
		_cleanup_free_ char *key = kube_item_key(&x->r, x->ns, x->name);
		json_object_set_new(keep, key, json_true());
	}
	if (!json_array_size(namespaces))
		json_array_append_new(namespaces, json_string(defns));
	for (size_t i = 0; i < (f->nallow ? f->nallow : ARRAY_SIZE(prune_defaults)); i++) {
		char av[256], kind[128];
		if (f->nallow) {
			/* group/version/Kind, core/v1/Kind for the core group */
			const char *s = f->allow[i], *last = strrchr(s, '/');
			if (!last || last == s) {
				fprintf(stderr, "error: --prune-allowlist \"%s\": not GROUP/VERSION/KIND (core/v1/ConfigMap)\n",
					s);
				rc = 1;
				goto out;
			}
			snprintf(av, sizeof av, "%.*s", (int)(last - s), s);
			snprintf(kind, sizeof kind, "%s", last + 1);
			if (!strncmp(av, "core/", 5))
				memmove(av, av + 5, strlen(av + 5) + 1);
		} else {
			snprintf(av, sizeof av, "%s", prune_defaults[i][0]);
			snprintf(kind, sizeof kind, "%s", prune_defaults[i][1]);
		}
		struct kube_resource r;
		struct berr *e = NULL;
		if (kube_discover(kc, av, kind, &r, &e) < 0) {
			if (f->nallow) {
				fprintf(stderr, "error: --prune-allowlist: %s\n", e->msg);
				berr_free(e);
				rc = 1;
				goto out;
			}
			berr_free(e); /* the server lacks it: nothing of it to prune */
			continue;
		}
		add_resource(&rs, &nr, &r);
	}
	json_t *victims = NULL;
	struct berr *e = NULL;
	/* the lists of kinds the user did not name (v1 Endpoints is deprecated) warn for nothing */
	warnings_quiet = true;
	int frc = kube_prune_find(kc, rs, nr, namespaces, f->all ? NULL : f->selector,
				  f->field_manager ? f->field_manager : "berth", keep, &victims, &e);
	warnings_quiet = false;
	if (frc < 0) {
		err_line(e);
		berr_free(e);
		rc = 1;
		goto out;
	}
	size_t i;
	json_t *v;
	json_array_foreach(victims, i, v) {
		const struct kube_resource *r = &rs[json_integer_value(json_object_get(v, "r"))];
		const char *ns = json_string_value(json_object_get(v, "ns"));
		const char *name = json_string_value(json_object_get(v, "name"));
		struct kube_delete_opts dopts = {.grace_seconds = -1, .dry_run = f->dry_run};
		if (kube_delete_object(kc, r, *ns ? ns : NULL, name, &dopts, NULL, &e) < 0) {
			if (e->code != BERR_NOT_FOUND) {
				err_line(e);
				rc = 1;
			}
			berr_freep(&e);
			continue;
		}
		_cleanup_free_ char *ref = kube_ref_name(r, name);
		printf("%s pruned%s\n", ref, f->dry_run ? " (server dry run)" : "");
	}
	json_decref(victims);
out:
	free(rs);
	json_decref(namespaces);
	json_decref(seen_ns);
	json_decref(keep);
	return rc;
}

int cli_kube_apply_items(struct kube_client *kc, struct kube_items *it, const struct cli_kube_apply *f, bool ns_forced)
{
	struct berr *e = NULL;
	int rc = 1;
	const char *ns = kube_client_namespace(kc);
	if (kube_items_resolve(kc, it, ns, ns_forced, &e) < 0) {
		err_line(e);
		berr_freep(&e);
		goto out;
	}
	struct kube_apply_opts ao = {.field_manager = f->field_manager, .force = f->force, .dry_run = true,
				     .validation = f->validation};
	if (!f->dry_run) {
		/* every object once with dryRun=All first: all pass, or nothing changes */
		int bad = 0;
		bool conflict = false;
		warnings_quiet = true;
		for (size_t i = 0; i < it->n; i++) {
			struct kube_item *x = &it->v[i];
			if (!x->resolved)
				continue;
			if (kube_apply_item(kc, x, &ao, NULL, &e) < 0) {
				if (!(e->code == BERR_NOT_FOUND && x->ns && ns_made_before(it, i, x->ns))) {
					err_line(e);
					bad++;
					conflict |= e->code == BERR_CONFLICT;
				}
				berr_freep(&e);
			}
		}
		warnings_quiet = false;
		if (bad) {
			if (conflict)
				fputs(CONFLICT_HINT, stderr);
			fprintf(stderr, "error: nothing was applied (%d object%s refused)\n", bad, bad == 1 ? "" : "s");
			goto out;
		}
	}
	ao.dry_run = f->dry_run;
	int64_t deadline = f->timeout_ms ? mono_ms() + f->timeout_ms : 0;
	int failed = 0;
	bool conflict = false;
	for (size_t i = 0; i < it->n; i++) {
		struct kube_item *x = &it->v[i];
		if (!x->resolved) {
			/* a kind the set's CRD defines: once the CRD is established */
			int64_t dl = mono_ms() + 60000;
			if (kube_crd_wait(kc, x->crd, dl, &e) < 0) {
				err_line(e);
				berr_freep(&e);
				failed++;
				continue;
			}
			while (kube_item_resolve(kc, x, ns, ns_forced, &e) < 0) {
				/* discovery lags behind Established by a moment */
				if (e->code != BERR_NOT_FOUND || mono_ms() > dl)
					break;
				berr_freep(&e);
				struct timespec ts = {0, 50000000};
				nanosleep(&ts, NULL);
			}
			if (e) {
				err_line(e);
				berr_freep(&e);
				failed++;
				continue;
			}
		}
		if (kube_apply_item(kc, x, &ao, NULL, &e) < 0) {
			err_line(e);
			conflict |= e->code == BERR_CONFLICT;
			berr_freep(&e);
			failed++;
			continue;
		}
		_cleanup_free_ char *ref = kube_ref_name(&x->r, x->name);
		printf("%s serverside-applied%s\n", ref, f->dry_run ? " (server dry run)" : "");
		fflush(stdout);
	}
	if (conflict)
		fputs(CONFLICT_HINT, stderr);
	if (failed)
		goto out;
	if (f->prune && do_prune(kc, f, it, ns) != 0)
		goto out;
	if (f->wait && !f->dry_run) {
		for (size_t i = 0; i < it->n; i++) {
			struct kube_item *x = &it->v[i];
			if (!x->resolved || !kube_rollout_supported(&x->r))
				continue;
			int64_t left = 0;
			if (deadline) {
				left = deadline - mono_ms();
				if (left <= 0)
					left = 1;
			}
			if (kube_rollout_wait(kc, &x->r, x->ns, x->name, left, true, print_line, NULL, NULL, &e) < 0) {
				_cleanup_free_ char *ref = kube_ref_name(&x->r, x->name);
				fprintf(stderr, "error: %s: %s\n", ref, e->msg);
				berr_freep(&e);
				goto out;
			}
		}
	}
	rc = 0;
out:
	return rc;
}


int cmd_kube_apply(struct cli *c, int argc, char **argv)
{
	enum {
		O_PRUNE = 0x100, O_ALL, O_WAIT, O_TIMEOUT, O_DRY, O_FORCE, O_SSA, O_FM, O_VALIDATE, O_ALLOW,
	};
	static const struct option lo[] = {{"filename", required_argument, 0, 'f'},
					   {"recursive", no_argument, 0, 'R'},
					   {"selector", required_argument, 0, 'l'},
					   {"prune", no_argument, 0, O_PRUNE},
					   {"all", no_argument, 0, O_ALL},
					   {"prune-allowlist", required_argument, 0, O_ALLOW},
					   {"wait", optional_argument, 0, O_WAIT},
					   {"timeout", required_argument, 0, O_TIMEOUT},
					   {"dry-run", optional_argument, 0, O_DRY},
					   {"force-conflicts", no_argument, 0, O_FORCE},
					   {"server-side", optional_argument, 0, O_SSA},
					   {"field-manager", required_argument, 0, O_FM},
					   {"validate", optional_argument, 0, O_VALIDATE},
					   {"help", no_argument, 0, 'h'},
					   CLI_KUBE_CONN_LONGOPTS,
					   {0}};
	struct kube_client_opts ko = {0};
	struct {
		const char *files[64];
		size_t nfiles;
		bool recursive, server_side;
		const char *allow[64];
		struct cli_kube_apply a;
	} f = {.server_side = true, .a = {.timeout_ms = 300000}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:Rl:n:s:h", lo, NULL)) != -1) {
		int k = cli_kube_conn_opt(&ko, o, optarg);
		if (k < 0)
			return 1;
		if (k)
			continue;
		switch (o) {
		case 'f':
			if (cli_kube_file_opt(f.files, &f.nfiles, ARRAY_SIZE(f.files), optarg) < 0)
				return 1;
			break;
		case 'R': f.recursive = true; break;
		case 'l': f.a.selector = optarg; break;
		case O_PRUNE: f.a.prune = true; break;
		case O_ALL: f.a.all = true; break;
		case O_ALLOW:
			if (f.a.nallow < ARRAY_SIZE(f.allow))
				f.allow[f.a.nallow++] = optarg;
			f.a.allow = f.allow;
			break;
		case O_WAIT:
			if (parse_bool_flag("--wait", optarg, &f.a.wait) < 0)
				return 1;
			break;
		case O_TIMEOUT:
			if (cli_kube_duration("--timeout", optarg, &f.a.timeout_ms) < 0)
				return 1;
			break;
		case O_DRY:
			if (parse_dry_run(optarg, &f.a.dry_run) < 0)
				return 1;
			break;
		case O_FORCE: f.a.force = true; break;
		case O_SSA:
			if (parse_bool_flag("--server-side", optarg, &f.server_side) < 0)
				return 1;
			if (!f.server_side) {
				fprintf(stderr, "error: --server-side=false: berth only applies server-side (client-side "
						"apply's last-applied annotation is kubectl's)\n");
				return 1;
			}
			break;
		case O_FM:
			if (!*optarg) {
				fprintf(stderr, "error: --field-manager must not be empty\n");
				return 1;
			}
			f.a.field_manager = optarg;
			break;
		case O_VALIDATE: {
			const char *v = optarg ? optarg : "strict";
			if (!strcmp(v, "strict") || !strcmp(v, "true"))
				f.a.validation = "Strict";
			else if (!strcmp(v, "warn"))
				f.a.validation = "Warn";
			else if (!strcmp(v, "ignore") || !strcmp(v, "false"))
				f.a.validation = "Ignore";
			else {
				fprintf(stderr, "error: invalid --validate \"%s\": strict, warn or ignore\n", v);
				return 1;
			}
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\": manifests go with -f\n", argv[optind]);
		return 1;
	}
	if (!f.nfiles) {
		fprintf(stderr, "error: must specify one of -f and -k\n");
		return 1;
	}
	if (f.a.prune && !f.a.selector && !f.a.all) {
		fprintf(stderr, "error: all resources selected for prune without explicitly passing --all. To prune all "
				"resources, pass the --all flag. If you did not mean to prune all resources, specify a "
				"label selector\n");
		return 1;
	}
	if ((f.a.selector || f.a.all || f.a.nallow) && !f.a.prune) {
		fprintf(stderr, "error: -l, --all and --prune-allowlist go with --prune\n");
		return 1;
	}
	if (f.a.selector) {
		const char *why = NULL;
		json_t *none = json_object();
		kube_selector_string_match(f.a.selector, none, &why);
		json_decref(none);
		if (why) {
			fprintf(stderr, "error: -l \"%s\": %s\n", f.a.selector, why);
			return 1;
		}
	}
	struct kube_items it;
	struct berr *e = NULL;
	if (kube_items_read(f.files, f.nfiles, f.recursive, &it, &e) < 0) {
		err_line(e);
		berr_free(e);
		return 1;
	}
	if (!it.n) {
		kube_items_release(&it);
		fprintf(stderr, "error: no objects passed to apply\n");
		return 1;
	}
	struct kube_client *kc = NULL;
	if (cli_kube_open(&ko, &kc) < 0) {
		kube_items_release(&it);
		return 1;
	}
	int rc = cli_kube_apply_items(kc, &it, &f.a, ko.namespace_ != NULL);
	kube_items_release(&it);
	kube_client_free(kc);
	return rc;
}

/* ---- delete ---- */

struct delete_target {
	struct kube_resource r;
	char *ns, *name, *uid;
	bool deleted;
};

static void target_add(struct delete_target **v, size_t *n, const struct kube_resource *r, const char *ns,
		       const char *name)
{
	struct delete_target *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return;
	*v = nv;
	struct delete_target *t = &(*v)[(*n)++];
	memset(t, 0, sizeof(*t));
	t->r = *r;
	t->ns = r->namespaced && ns ? strdup(ns) : NULL;
	t->name = strdup(name);
}

int cmd_kube_delete(struct cli *c, int argc, char **argv)
{
	enum { O_ALL = 0x100, O_IGNORE, O_WAIT, O_TIMEOUT, O_CASCADE, O_GRACE, O_NOW, O_FORCE, O_DRY };
	static const struct option lo[] = {{"filename", required_argument, 0, 'f'},
					   {"recursive", no_argument, 0, 'R'},
					   {"selector", required_argument, 0, 'l'},
					   {"all", no_argument, 0, O_ALL},
					   {"ignore-not-found", optional_argument, 0, O_IGNORE},
					   {"wait", optional_argument, 0, O_WAIT},
					   {"timeout", required_argument, 0, O_TIMEOUT},
					   {"cascade", optional_argument, 0, O_CASCADE},
					   {"grace-period", required_argument, 0, O_GRACE},
					   {"now", no_argument, 0, O_NOW},
					   {"force", no_argument, 0, O_FORCE},
					   {"dry-run", optional_argument, 0, O_DRY},
					   {"help", no_argument, 0, 'h'},
					   CLI_KUBE_CONN_LONGOPTS,
					   {0}};
	struct kube_client_opts ko = {0};
	const char *files[64];
	size_t nfiles = 0;
	bool recursive = false, all = false, ignore = false, wait = true, now = false, force = false, dry = false;
	const char *selector = NULL, *propagation = "Background";
	int64_t timeout_ms = 0, grace = -1;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:Rl:n:s:h", lo, NULL)) != -1) {
		int k = cli_kube_conn_opt(&ko, o, optarg);
		if (k < 0)
			return 1;
		if (k)
			continue;
		switch (o) {
		case 'f':
			if (cli_kube_file_opt(files, &nfiles, ARRAY_SIZE(files), optarg) < 0)
				return 1;
			break;
		case 'R': recursive = true; break;
		case 'l': selector = optarg; break;
		case O_ALL: all = true; break;
		case O_IGNORE:
			if (parse_bool_flag("--ignore-not-found", optarg, &ignore) < 0)
				return 1;
			break;
		case O_WAIT:
			if (parse_bool_flag("--wait", optarg, &wait) < 0)
				return 1;
			break;
		case O_TIMEOUT:
			if (cli_kube_duration("--timeout", optarg, &timeout_ms) < 0)
				return 1;
			break;
		case O_CASCADE: {
			const char *v = optarg ? optarg : "background";
			if (!strcmp(v, "background") || !strcmp(v, "true"))
				propagation = "Background";
			else if (!strcmp(v, "foreground"))
				propagation = "Foreground";
			else if (!strcmp(v, "orphan") || !strcmp(v, "false"))
				propagation = "Orphan";
			else {
				fprintf(stderr, "error: invalid --cascade \"%s\": background, foreground or orphan\n", v);
				return 1;
			}
			break;
		}
		case O_GRACE: {
			char *end;
			long long g = strtoll(optarg, &end, 10);
			if (!*optarg || *end || g < -1) {
				fprintf(stderr, "error: invalid --grace-period \"%s\": seconds (-1: the object's own)\n",
					optarg);
				return 1;
			}
			grace = g;
			break;
		}
		case O_NOW: now = true; break;
		case O_FORCE: force = true; break;
		case O_DRY:
			if (parse_dry_run(optarg, &dry) < 0)
				return 1;
			break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "see --help");
		}
	}
	if (now) {
		if (grace >= 0) {
			fprintf(stderr, "error: --now and --grace-period cannot be specified together\n");
			return 1;
		}
		grace = 1;
	}
	if (force) {
		if (grace < 0)
			grace = 0;
		if (grace == 0) {
			fprintf(stderr, "Warning: Immediate deletion does not wait for confirmation that the running "
					"resource has been terminated. The resource may continue to run on the cluster "
					"indefinitely.\n");
			wait = false;
		}
	}
	int nargs = argc - optind;
	if (nfiles && nargs) {
		fprintf(stderr, "error: there is no need to specify a resource type as a separate argument when "
				"passing arguments in resource/name form (e.g. 'berth kube delete -f x.yaml' or 'berth "
				"kube delete deploy/web')\n");
		return 1;
	}
	if (!nfiles && !nargs) {
		fprintf(stderr, "error: You must provide one or more resources by argument or filename.\n"
				"Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
				"   '<resource> <name>'\n   '<resource>'\n");
		return 1;
	}
	if (nfiles && (selector || all)) {
		fprintf(stderr, "error: -l and --all go with a resource type, not with -f\n");
		return 1;
	}
	struct kube_items it = {0};
	struct berr *e = NULL;
	if (nfiles && kube_items_read(files, nfiles, recursive, &it, &e) < 0) {
		err_line(e);
		berr_free(e);
		return 1;
	}
	struct kube_client *kc = NULL;
	if (cli_kube_open(&ko, &kc) < 0) {
		kube_items_release(&it);
		return 1;
	}
	const char *ns = kube_client_namespace(kc);
	struct delete_target *tv = NULL;
	size_t tn = 0;
	int rc = 1;
	if (nfiles) {
		if (kube_items_resolve(kc, &it, ns, ko.namespace_ != NULL, &e) < 0) {
			err_line(e);
			berr_freep(&e);
			goto out;
		}
		for (size_t i = 0; i < it.n; i++) {
			if (!it.v[i].resolved) {
				/* its CRD is not on the server: neither is the object */
				if (!ignore) {
					fprintf(stderr, "error: %s: %s %s: no matches for kind \"%s\" in version \"%s\"\n",
						it.v[i].where, json_string_value(json_object_get(it.v[i].obj, "kind")),
						it.v[i].name, json_string_value(json_object_get(it.v[i].obj, "kind")),
						json_string_value(json_object_get(it.v[i].obj, "apiVersion")));
					goto out;
				}
				continue;
			}
			target_add(&tv, &tn, &it.v[i].r, it.v[i].ns, it.v[i].name);
		}
	} else {
		/* TYPE NAME..., TYPE/NAME..., TYPE[,TYPE] -l SEL | --all */
		const char *first = argv[optind];
		bool slash_form = strchr(first, '/') != NULL;
		if (slash_form || nargs > 1) {
			if (selector || all) {
				fprintf(stderr, "error: name cannot be provided when a selector or --all is specified\n");
				goto out;
			}
			struct kube_resource r;
			for (int i = slash_form ? 0 : 1; i < nargs; i++) {
				const char *a = argv[optind + i], *name = a;
				char type[256];
				if (slash_form) {
					const char *s = strchr(a, '/');
					if (!s || s == a || !s[1]) {
						fprintf(stderr, "error: arguments in resource/name form must have a single "
								"resource and name (\"%s\")\n",
							a);
						goto out;
					}
					snprintf(type, sizeof type, "%.*s", (int)(s - a), a);
					name = s + 1;
				} else {
					snprintf(type, sizeof type, "%s", first);
					if (strchr(a, '/')) {
						fprintf(stderr, "error: there is no need to specify a resource type as a "
								"separate argument when passing arguments in resource/name "
								"form\n");
						goto out;
					}
				}
				if (kube_discover_name(kc, type, &r, &e) < 0) {
					err_line(e);
					berr_freep(&e);
					goto out;
				}
				target_add(&tv, &tn, &r, ns, name);
			}
		} else {
			if (!selector && !all) {
				fprintf(stderr, "error: resource(s) were provided, but no name was specified\n");
				goto out;
			}
			_cleanup_free_ char *types = strdup(first);
			_cleanup_free_ char *esel = selector ? kube_escape_segment(selector) : NULL;
			for (char *save = NULL, *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				struct kube_resource r;
				if (kube_discover_name(kc, t, &r, &e) < 0) {
					err_line(e);
					berr_freep(&e);
					goto out;
				}
				_cleanup_free_ char *base = kube_resource_path(&r, ns, NULL);
				_cleanup_free_ char *path = NULL;
				if (asprintf(&path, "%s%s%s", base, esel ? "?labelSelector=" : "", esel ? esel : "") < 0)
					goto out;
				json_t *list = NULL;
				if (kube_get(kc, path, &list, &e) < 0) {
					err_line(e);
					berr_freep(&e);
					goto out;
				}
				size_t i;
				json_t *x;
				json_array_foreach(json_object_get(list, "items"), i, x) {
					const char *name =
						json_string_value(json_object_get(json_object_get(x, "metadata"), "name"));
					if (name)
						target_add(&tv, &tn, &r, ns, name);
				}
				json_decref(list);
			}
			if (!tn) {
				fprintf(stderr, "No resources found\n");
				rc = 0;
				goto out;
			}
		}
	}
	struct kube_delete_opts dopts = {.propagation = propagation, .grace_seconds = grace, .dry_run = dry};
	int failed = 0;
	for (size_t i = 0; i < tn; i++) {
		struct delete_target *t = &tv[i];
		if (kube_delete_object(kc, &t->r, t->ns, t->name, &dopts, &t->uid, &e) < 0) {
			if (!(ignore && e->code == BERR_NOT_FOUND)) {
				err_line(e);
				failed++;
			}
			berr_freep(&e);
			continue;
		}
		t->deleted = true;
		_cleanup_free_ char *type = kube_ref_type(&t->r);
		if (t->ns)
			printf("%s \"%s\" deleted from %s namespace%s\n", type, t->name, t->ns, dry ? " (server dry run)" : "");
		else
			printf("%s \"%s\" deleted%s\n", type, t->name, dry ? " (server dry run)" : "");
		fflush(stdout);
	}
	if (wait && !dry) {
		int64_t deadline = timeout_ms ? mono_ms() + timeout_ms : 0;
		for (size_t i = 0; i < tn; i++) {
			if (!tv[i].deleted)
				continue;
			if (kube_wait_deleted(kc, &tv[i].r, tv[i].ns, tv[i].name, tv[i].uid, deadline, &e) < 0) {
				err_line(e);
				berr_freep(&e);
				failed++;
			}
		}
	}
	rc = failed ? 1 : 0;
out:
	for (size_t i = 0; i < tn; i++) {
		free(tv[i].ns);
		free(tv[i].name);
		free(tv[i].uid);
	}
	free(tv);
	kube_items_release(&it);
	kube_client_free(kc);
	return rc;
}

/* ---- diff ---- */

static int write_side(const char *dir, const struct kube_item *x, json_t *obj, struct berr **err)
{
	char name[700];
	snprintf(name, sizeof name, "%s%s%s.%s.%s.%s", x->r.group, *x->r.group ? "." : "", x->r.version, x->r.kind,
		 x->ns ? x->ns : "", x->name);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return berr_set(err, ENOMEM, "diff");
	if (!obj)
		return 0; /* diff -N: an absent file is an empty one */
	struct sbuf b = SBUF_INIT;
	compose_yaml_emit(obj, &b);
	int rc = fs_write_atomic_at(AT_FDCWD, path, sbuf_str(&b), b.len, 0600, false, err);
	sbuf_release(&b);
	return rc;
}

static int run_diff(const char *live, const char *merged, struct berr **err)
{
	/* KUBECTL_EXTERNAL_DIFF as kubectl reads it: a program and its flags */
	const char *ext = getenv("BERTH_EXTERNAL_DIFF");
	if (!ext || !*ext)
		ext = getenv("KUBECTL_EXTERNAL_DIFF");
	_cleanup_free_ char *cmd = strdup(ext && *ext ? ext : "diff -u -N");
	char *argv[32];
	int n = 0;
	for (char *save = NULL, *p = strtok_r(cmd, " \t", &save); p && n < 29; p = strtok_r(NULL, " \t", &save))
		argv[n++] = p;
	argv[n++] = (char *)live;
	argv[n++] = (char *)merged;
	argv[n] = NULL;
	fflush(stdout);
	pid_t pid;
	int e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (e)
		return berr_set(err, e, "running %s", argv[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		return WEXITSTATUS(st);
	if (WIFEXITED(st))
		return berr_set(err, 0, "%s exited with status %d", argv[0], WEXITSTATUS(st));
	return berr_set(err, 0, "%s was killed by signal %d", argv[0], WTERMSIG(st));
}

int cmd_kube_diff(struct cli *c, int argc, char **argv)
{
	enum { O_FORCE = 0x100, O_SSA, O_FM };
	static const struct option lo[] = {{"filename", required_argument, 0, 'f'},
					   {"recursive", no_argument, 0, 'R'},
					   {"force-conflicts", no_argument, 0, O_FORCE},
					   {"server-side", optional_argument, 0, O_SSA},
					   {"field-manager", required_argument, 0, O_FM},
					   {"help", no_argument, 0, 'h'},
					   CLI_KUBE_CONN_LONGOPTS,
					   {0}};
	struct kube_client_opts ko = {0};
	const char *files[64];
	size_t nfiles = 0;
	bool recursive = false, force = false, ssa = true;
	const char *fm = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:Rn:s:h", lo, NULL)) != -1) {
		int k = cli_kube_conn_opt(&ko, o, optarg);
		if (k < 0)
			return 2;
		if (k)
			continue;
		switch (o) {
		case 'f':
			if (cli_kube_file_opt(files, &nfiles, ARRAY_SIZE(files), optarg) < 0)
				return 2;
			break;
		case 'R': recursive = true; break;
		case O_FORCE: force = true; break;
		case O_SSA:
			if (parse_bool_flag("--server-side", optarg, &ssa) < 0)
				return 2;
			break;
		case O_FM: fm = optarg; break;
		case 'h': return cli_help(c);
		default: cli_usage_error(c, "see --help"); return 2;
		}
	}
	if (!nfiles || optind < argc) {
		fprintf(stderr, "error: %s\n", nfiles ? "unexpected argument: manifests go with -f" : "must specify -f");
		return 2;
	}
	struct kube_items it;
	struct berr *e = NULL;
	if (kube_items_read(files, nfiles, recursive, &it, &e) < 0) {
		err_line(e);
		berr_free(e);
		return 2;
	}
	struct kube_client *kc = NULL;
	if (cli_kube_open(&ko, &kc) < 0) {
		kube_items_release(&it);
		return 2;
	}
	int rc = 2;
	const char *tmp = getenv("TMPDIR");
	char live[512], merged[512];
	snprintf(live, sizeof live, "%s/LIVE-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	snprintf(merged, sizeof merged, "%s/MERGED-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	bool have_live = false, have_merged = false;
	if (kube_items_resolve(kc, &it, kube_client_namespace(kc), ko.namespace_ != NULL, &e) < 0) {
		err_line(e);
		berr_freep(&e);
		goto out;
	}
	if (!mkdtemp(live) || !(have_live = true) || !mkdtemp(merged)) {
		fprintf(stderr, "error: making a temporary directory in %s: %s\n", tmp && *tmp ? tmp : "/tmp",
			strerror(errno));
		goto out;
	}
	have_merged = true;
	struct kube_apply_opts ao = {.field_manager = fm, .force = force, .dry_run = true};
	for (size_t i = 0; i < it.n; i++) {
		struct kube_item *x = &it.v[i];
		if (!x->resolved) {
			fprintf(stderr, "Warning: %s: %s %s: its CustomResourceDefinition %s is not on the server yet: not "
					"compared\n",
				x->where, json_string_value(json_object_get(x->obj, "kind")), x->name, x->crd);
			continue;
		}
		_cleanup_free_ char *path = kube_resource_path(&x->r, x->ns, x->name);
		json_t *lv = NULL, *mv = NULL;
		if (kube_get(kc, path, &lv, &e) < 0) {
			if (e->code != BERR_NOT_FOUND) {
				_cleanup_free_ char *label = kube_ref_label(&x->r, x->ns, x->name);
				fprintf(stderr, "error: %s: %s\n", label, e->msg);
				berr_freep(&e);
				goto out;
			}
			berr_freep(&e);
		}
		if (kube_apply_item(kc, x, &ao, &mv, &e) < 0) {
			err_line(e);
			if (e->code == BERR_CONFLICT)
				fputs(CONFLICT_HINT, stderr);
			berr_freep(&e);
			json_decref(lv);
			goto out;
		}
		json_t *l = kube_diff_clean(lv), *m = kube_diff_clean(mv);
		json_decref(lv);
		json_decref(mv);
		if (!strcmp(x->r.kind, "Secret") && !*x->r.group)
			kube_diff_mask_secret(l, m);
		int w = write_side(live, x, l, &e);
		if (w == 0)
			w = write_side(merged, x, m, &e);
		json_decref(l);
		json_decref(m);
		if (w < 0) {
			err_line(e);
			berr_freep(&e);
			goto out;
		}
	}
	int d = run_diff(live, merged, &e);
	if (d < 0) {
		err_line(e);
		berr_freep(&e);
		goto out;
	}
	rc = d;
out:
	if (have_live)
		fs_rm_rf_at(AT_FDCWD, live);
	if (have_merged)
		fs_rm_rf_at(AT_FDCWD, merged);
	kube_items_release(&it);
	kube_client_free(kc);
	return rc;
}
