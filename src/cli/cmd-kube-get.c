/* berth kube get: what `kube play` made, in kubectl's shapes (the tables of
 * kube-tables.c, -o wide|yaml|json|name, -l, -A, --show-labels,
 * --no-headers, kubectl's messages and exit codes); berth kube ps: one line
 * per pod with its berth containers. Both only read: the objects come from
 * kube-view.c. */
#include "cli/ctr.h"
#include "cli/kube-tables.h"
#include "cli/kube-view.h"
#include "kube/selector.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- kube get ---- */

static const char *obj_name(const json_t *o)
{
	return jsonx_str(json_object_get(o, "metadata"), "name");
}

static const char *obj_ns(const json_t *o)
{
	return jsonx_str(json_object_get(o, "metadata"), "namespace");
}

static void resource_ref(const struct kt_kind *k, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", k->plural, *k->group ? "." : "", k->group);
}


struct group {
	const struct kt_kind *k;
	json_t *objs;
};

enum out_fmt { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME };

static void add_obj(struct group *g, size_t *ng, const struct kt_kind *k, json_t *o)
{
	if (!*ng || g[*ng - 1].k != k) {
		g[*ng].k = k;
		g[*ng].objs = json_array();
		(*ng)++;
	}
	json_array_append_new(g[*ng - 1].objs, o);
}

static int add_kind(const struct kt_kind **kinds, size_t *nk, size_t max, const struct kt_kind *k)
{
	for (size_t i = 0; i < *nk; i++)
		if (kinds[i] == k)
			return 0;
	if (*nk >= max)
		return -1;
	kinds[(*nk)++] = k;
	return 0;
}

/* "pods,svc" -> kinds (all expanded); -1 after printing the error */
static int parse_types(const char *arg, const struct kt_kind **kinds, size_t *nk, size_t max)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcasecmp(t, "all")) {
			for (size_t i = 0; i < kt_nkinds; i++)
				if (kt_kinds[i].in_all)
					add_kind(kinds, nk, max, &kt_kinds[i]);
			continue;
		}
		const struct kt_kind *k = kt_kind_find(t);
		if (!k) {
			fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", t);
			return -1;
		}
		add_kind(kinds, nk, max, k);
	}
	if (!*nk) {
		fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", arg);
		return -1;
	}
	return 0;
}

static bool selected(const char *selector, const json_t *o)
{
	const char *err;
	return !selector ||
	       kube_selector_string_match(selector, json_object_get(json_object_get(o, "metadata"), "labels"), &err);
}

static void print_groups(struct group *g, size_t ng, enum out_fmt fmt, bool with_kind, bool all_ns, bool no_headers,
			 bool show_labels, time_t now, bool *printed)
{
	for (size_t gi = 0; gi < ng; gi++) {
		size_t n = json_array_size(g[gi].objs);
		if (!n)
			continue;
		const struct kt_kind *k = g[gi].k;
		char pfx[64];
		kt_kind_prefix(k, pfx, sizeof(pfx));
		if (fmt == OUT_NAME) {
			size_t i;
			json_t *o;
			json_array_foreach(g[gi].objs, i, o) printf("%s/%s\n", pfx, obj_name(o) ? obj_name(o) : "");
			*printed = true;
			continue;
		}
		bool wide = fmt == OUT_WIDE, nscol = all_ns && k->namespaced;
		json_t *rows = json_array();
		if (!no_headers) {
			json_t *h = json_array();
			if (nscol)
				json_array_append_new(h, json_string("NAMESPACE"));
			json_t *hh = kt_headers(k, wide);
			json_array_extend(h, hh);
			json_decref(hh);
			if (show_labels)
				json_array_append_new(h, json_string("LABELS"));
			json_array_append_new(rows, h);
		}
		size_t i;
		json_t *o;
		json_array_foreach(g[gi].objs, i, o)
		{
			json_t *cells = kt_row(k, o, wide, now), *row = json_array();
			if (nscol)
				json_array_append_new(row, json_string(obj_ns(o) ? obj_ns(o) : ""));
			if (with_kind) {
				char nm[512];
				snprintf(nm, sizeof(nm), "%s/%s", pfx, json_string_value(json_array_get(cells, 0)));
				json_array_set_new(cells, 0, json_string(nm));
			}
			json_array_extend(row, cells);
			json_decref(cells);
			if (show_labels) {
				struct sbuf b = SBUF_INIT;
				kt_format_labels(json_object_get(json_object_get(o, "metadata"), "labels"), &b);
				json_array_append_new(row, json_string(sbuf_str(&b)));
				sbuf_release(&b);
			}
			json_array_append_new(rows, row);
		}
		/* a blank line between the tables of several types */
		if (*printed && !no_headers)
			putchar('\n');
		fflush(stdout);
		kt_print_table(rows, stdout);
		json_decref(rows);
		*printed = true;
	}
}

CMD(kube_get)
{
	static const struct option lo[] = {{"namespace", required_argument, 0, 'n'},
					   {"all-namespaces", no_argument, 0, 'A'},
					   {"output", required_argument, 0, 'o'},
					   {"selector", required_argument, 0, 'l'},
					   {"show-labels", no_argument, 0, 'L'},
					   {"no-headers", no_argument, 0, 'H'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *ns = "default", *selector = NULL;
	bool all_ns = false, show_labels = false, no_headers = false;
	enum out_fmt fmt = OUT_TABLE;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:Ao:l:h", lo, NULL)) != -1) {
		switch (o) {
		case 'n': ns = optarg; break;
		case 'A': all_ns = true; break;
		case 'o':
			if (!strcmp(optarg, "wide"))
				fmt = OUT_WIDE;
			else if (!strcmp(optarg, "json"))
				fmt = OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				fmt = OUT_YAML;
			else if (!strcmp(optarg, "name"))
				fmt = OUT_NAME;
			else {
				fprintf(stderr, "error: unable to match a printer suitable for the output format \"%s\", "
						"allowed formats are: json,name,wide,yaml\n", optarg);
				return 1;
			}
			break;
		case 'l': selector = optarg; break;
		case 'L': show_labels = true; break;
		case 'H': no_headers = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (!kview_name_ok(ns, true)) {
		fprintf(stderr, "error: invalid namespace \"%s\" (-n): a lowercase RFC 1123 label must consist of lower "
				"case alphanumeric characters or '-', and must start and end with an alphanumeric character\n",
			ns);
		return 1;
	}
	if (selector) {
		const char *serr = NULL;
		_cleanup_json_ json_t *none = json_object();
		kube_selector_string_match(selector, none, &serr);
		if (serr || !*selector) {
			fprintf(stderr, "error: %s: \"%s\" (-l)\n", serr ? serr : "empty selector", selector);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "You must specify the type of resource to get. Use \"berth kube get --help\" for the "
				"supported resource types.\n\nerror: Required resource not specified.\n"
				"See 'berth kube get --help' for help and examples\n");
		return 1;
	}

	/* what to get: TYPE[,TYPE] [NAME...] or TYPE/NAME... */
	struct req {
		const struct kt_kind *k;
		const char *name;
	};
	size_t nargs = (size_t)(argc - optind), nreq = 0;
	bool slashed = strchr(argv[optind], '/') != NULL;
	const struct kt_kind *kinds[32];
	size_t nk = 0;
	_cleanup_free_ struct req *reqs = calloc((nargs + 1) * 32, sizeof(*reqs));
	if (slashed) {
		for (size_t i = 0; i < nargs; i++) {
			const char *a = argv[optind + i], *sl = strchr(a, '/');
			if (!sl) {
				fprintf(stderr, "error: there is no need to specify a resource type as a separate argument when "
						"passing arguments in resource/name form (e.g. 'berth kube get resource/<resource_name>' "
						"instead of 'berth kube get resource resource/<resource_name>'\n");
				return 1;
			}
			_cleanup_free_ char *type = strndup(a, (size_t)(sl - a));
			const struct kt_kind *k = kt_kind_find(type);
			if (!k) {
				fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", type);
				return 1;
			}
			if (!sl[1]) {
				fprintf(stderr, "error: arguments in resource/name form must have a single resource and name\n");
				return 1;
			}
			add_kind(kinds, &nk, 32, k);
			reqs[nreq++] = (struct req){k, sl + 1};
		}
	} else {
		if (parse_types(argv[optind], kinds, &nk, 32) < 0)
			return 1;
		if (nargs == 1) {
			for (size_t i = 0; i < nk; i++)
				reqs[nreq++] = (struct req){kinds[i], NULL};
		} else {
			for (size_t i = 0; i < nk; i++)
				for (size_t j = 1; j < nargs; j++) {
					if (strchr(argv[optind + j], '/')) {
						fprintf(stderr, "error: there is no need to specify a resource type as a separate "
								"argument when passing arguments in resource/name form (e.g. 'berth kube "
								"get resource/<resource_name>' instead of 'berth kube get resource "
								"resource/<resource_name>'\n");
						return 1;
					}
					reqs[nreq++] = (struct req){kinds[i], argv[optind + j]};
				}
		}
	}
	bool named = reqs[0].name != NULL;
	if (named && selector) {
		fprintf(stderr, "error: name cannot be provided when a selector is specified\n");
		return 1;
	}
	if (named && all_ns) {
		fprintf(stderr, "error: a resource cannot be retrieved by name across all namespaces\n");
		return 1;
	}
	for (size_t i = 0; i < nreq; i++) {
		if (reqs[i].name && !kview_name_ok(reqs[i].name, false)) {
			fprintf(stderr, "error: invalid resource name \"%s\": a lowercase RFC 1123 subdomain must consist of "
					"lower case alphanumeric characters, '-' or '.', and must start and end with an "
					"alphanumeric character\n", reqs[i].name);
			return 1;
		}
	}

	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct kview v;
	kview_init(&v, c, cs);
	time_t now = time(NULL);
	struct group *groups = calloc(nreq + 1, sizeof(*groups));
	size_t ng = 0;
	json_t *errs = json_array();
	for (size_t i = 0; i < nreq; i++) {
		const struct kt_kind *k = reqs[i].k;
		if (reqs[i].name) {
			json_t *obj = kview_get(&v, k, k->namespaced ? ns : NULL, reqs[i].name);
			if (obj) {
				add_obj(groups, &ng, k, obj);
			} else {
				char rr[96];
				resource_ref(k, rr, sizeof(rr));
				json_array_append_new(errs, json_sprintf("Error from server (NotFound): %s \"%s\" not found", rr,
									 reqs[i].name));
				/* keep the group order (and its blank line) for what follows */
				if (!ng || groups[ng - 1].k != k) {
					groups[ng].k = k;
					groups[ng++].objs = json_array();
				}
			}
			continue;
		}
		json_t *all = kview_list(&v, k, all_ns || !k->namespaced ? NULL : ns);
		if (!ng || groups[ng - 1].k != k) {
			groups[ng].k = k;
			groups[ng++].objs = json_array();
		}
		size_t j;
		json_t *obj;
		json_array_foreach(all, j, obj) if (selected(selector, obj)) json_array_append(groups[ng - 1].objs, obj);
		json_decref(all);
	}

	bool printed = false;
	if (fmt == OUT_JSON || fmt == OUT_YAML) {
		json_t *doc;
		bool single = nreq == 1 && reqs[0].name;
		if (single) {
			doc = ng && json_array_size(groups[0].objs) ? json_incref(json_array_get(groups[0].objs, 0)) : NULL;
		} else {
			json_t *items = json_array();
			for (size_t gi = 0; gi < ng; gi++)
				json_array_extend(items, groups[gi].objs);
			doc = json_pack("{s:s,s:o,s:s,s:{s:s}}", "apiVersion", "v1", "items", items, "kind", "List", "metadata",
					"resourceVersion", "");
		}
		if (doc) {
			if (fmt == OUT_JSON) {
				_cleanup_free_ char *s = json_dumps(doc, JSON_INDENT(4) | JSON_SORT_KEYS);
				printf("%s\n", s ? s : "");
			} else {
				struct sbuf b = SBUF_INIT;
				kt_yaml(doc, &b);
				fputs(sbuf_str(&b), stdout);
				sbuf_release(&b);
			}
			json_decref(doc);
			printed = true;
		}
	} else {
		print_groups(groups, ng, fmt, nk > 1, all_ns, no_headers, show_labels, now, &printed);
	}
	fflush(stdout);
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) fprintf(stderr, "%s\n", json_string_value(e));
	if (!printed && !json_array_size(errs)) {
		bool namespaced = false;
		for (size_t k = 0; k < nk; k++)
			namespaced = namespaced || kinds[k]->namespaced;
		if (all_ns || !namespaced)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", ns);
	}
	int rc = json_array_size(errs) ? 1 : 0;
	json_decref(errs);
	for (size_t gi = 0; gi < ng; gi++)
		json_decref(groups[gi].objs);
	free(groups);
	kview_release(&v);
	return rc;
}

/* ---- kube ps ---- */

static void ctr_cell(const json_t *cs, const char *prefix, struct sbuf *out)
{
	const char *name = jsonx_str(cs, "name"), *cid = jsonx_str(cs, "containerID");
	const json_t *state = json_object_get(cs, "state");
	if (cid && !strncmp(cid, "berth://", 8))
		cid += 8;
	char st[160];
	const json_t *w = json_object_get(state, "waiting"), *t = json_object_get(state, "terminated");
	if (json_object_get(state, "running"))
		snprintf(st, sizeof(st), "%s", json_is_true(json_object_get(cs, "ready")) ? "ready" : "running");
	else if (t)
		snprintf(st, sizeof(st), "exited %lld", (long long)json_integer_value(json_object_get(t, "exitCode")));
	else if (w)
		snprintf(st, sizeof(st), "%s", jsonx_str(w, "reason") ? jsonx_str(w, "reason") : "waiting");
	else
		snprintf(st, sizeof(st), "unknown");
	sbuf_addf(out, "%s%s%s=%.12s(%s)", out->len ? ", " : "", prefix, name ? name : "?", cid && *cid ? cid : "-", st);
}

CMD(kube_ps)
{
	static const struct option lo[] = {{"namespace", required_argument, 0, 'n'},
					   {"all-namespaces", no_argument, 0, 'A'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *ns = "default";
	bool all_ns = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:Ah", lo, NULL)) != -1) {
		switch (o) {
		case 'n': ns = optarg; break;
		case 'A': all_ns = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!kview_name_ok(ns, true)) {
		fprintf(stderr, "error: invalid namespace \"%s\" (-n): a lowercase RFC 1123 label must consist of lower "
				"case alphanumeric characters or '-', and must start and end with an alphanumeric character\n",
			ns);
		return 1;
	}
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct kview v;
	kview_init(&v, c, cs);
	time_t now = time(NULL);
	_cleanup_json_ json_t *pods = kview_list(&v, kt_kind_find("pods"), all_ns ? NULL : ns);
	/* owners as the supervisor records them in each pod's meta */
	_cleanup_json_ json_t *plist = pod_list_local(cs, all_ns ? NULL : ns), *owners = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(plist, i, p)
	{
		const char *ow = jsonx_str(json_object_get(p, "meta"), "owner");
		char key[600];
		snprintf(key, sizeof(key), "%s/%s", jsonx_str(p, "namespace") ? jsonx_str(p, "namespace") : "",
			 jsonx_str(p, "name") ? jsonx_str(p, "name") : "");
		if (ow)
			json_object_set_new(owners, key, json_string(ow));
	}
	json_t *rows = json_array();
	json_t *h = json_array();
	if (all_ns)
		json_array_append_new(h, json_string("NAMESPACE"));
	static const char *const cols[] = {"POD", "OWNER", "READY", "STATUS", "RESTARTS", "IP", "AGE", "CONTAINERS"};
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		json_array_append_new(h, json_string(cols[k]));
	json_array_append_new(rows, h);
	json_array_foreach(pods, i, p)
	{
		json_t *row = json_array(), *md = json_object_get(p, "metadata"), *st = json_object_get(p, "status");
		if (all_ns)
			json_array_append_new(row, json_string(obj_ns(p) ? obj_ns(p) : ""));
		json_array_append_new(row, json_string(obj_name(p) ? obj_name(p) : ""));
		/* the workload that made it ("deployment/web"), from the pod's meta */
		char owner[320] = "<none>";
		char key[600];
		snprintf(key, sizeof(key), "%s/%s", obj_ns(p) ? obj_ns(p) : "", obj_name(p) ? obj_name(p) : "");
		const char *okey = jsonx_str(owners, key);
		if (okey && strchr(okey, '/') && strncmp(okey, "Pod/", 4)) {
			size_t l = strcspn(okey, "/"), x = 0;
			for (; x < l && x < sizeof(owner) - 1; x++)
				owner[x] = (char)tolower((unsigned char)okey[x]);
			snprintf(owner + x, sizeof(owner) - x, "%s", okey + l);
		}
		json_array_append_new(row, json_string(owner));
		char status[160], ready[32], restarts[64], age[32];
		kt_pod_summary(p, now, status, sizeof(status), ready, sizeof(ready), restarts, sizeof(restarts));
		json_array_append_new(row, json_string(ready));
		json_array_append_new(row, json_string(status));
		json_array_append_new(row, json_string(restarts));
		const char *ip = jsonx_str(st, "podIP");
		json_array_append_new(row, json_string(ip && *ip ? ip : "<none>"));
		kt_age(jsonx_str(md, "creationTimestamp"), now, age, sizeof(age));
		json_array_append_new(row, json_string(age));
		struct sbuf ctrs = SBUF_INIT;
		size_t j;
		json_t *c2;
		json_array_foreach(json_object_get(st, "initContainerStatuses"), j, c2) ctr_cell(c2, "init:", &ctrs);
		json_array_foreach(json_object_get(st, "containerStatuses"), j, c2) ctr_cell(c2, "", &ctrs);
		json_array_append_new(row, json_string(ctrs.len ? sbuf_str(&ctrs) : "<none>"));
		sbuf_release(&ctrs);
		json_array_append_new(rows, row);
	}
	kt_print_table(rows, stdout);
	json_decref(rows);
	kview_release(&v);
	return 0;
}
