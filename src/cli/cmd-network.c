/* berth network create | ls | inspect | rm | prune | connect | disconnect */
#include "cli/cli.h"
#include "cli/ctr.h"
#include "net/network.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CMD(network_create)
{
	enum { O_SUBNET = 1000, O_GATEWAY, O_INTERNAL, O_LABEL, O_DRIVER, O_IPV6 };
	static const struct option lo[] = {{"subnet", required_argument, 0, O_SUBNET},
					   {"gateway", required_argument, 0, O_GATEWAY},
					   {"internal", no_argument, 0, O_INTERNAL},
					   {"label", required_argument, 0, O_LABEL},
					   {"driver", required_argument, 0, 'd'},
					   {"ipv6", no_argument, 0, O_IPV6},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct net_create_opts o = {0};
	_cleanup_json_ json_t *labels = json_object();
	int subnets = 0, gws = 0, op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "d:h", lo, NULL)) != -1) {
		switch (op) {
		case O_SUBNET: o.subnet = optarg; subnets++; break;
		case O_GATEWAY: o.gateway = optarg; gws++; break;
		case O_INTERNAL: o.internal = true; break;
		case O_LABEL: {
			const char *eq = strchr(optarg, '=');
			char k[256];
			snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - optarg) : (int)strlen(optarg), optarg);
			json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
			break;
		}
		case 'd':
			if (strcmp(optarg, "bridge")) {
				fprintf(stderr, "Error: network driver \"%s\" is not supported (only bridge)\n", optarg);
				return 1;
			}
			break;
		case O_IPV6:
			fprintf(stderr, "Error: IPv6 networks are not supported yet\n");
			return 1;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(c, "requires exactly 1 argument.");
	if (subnets > 1 || gws > 1) {
		fprintf(stderr, "Error: only one --subnet and one --gateway are supported\n");
		return 1;
	}
	o.name = argv[optind];
	o.labels = labels;
	struct net n;
	struct berr *e = NULL;
	if (net_create(c->root, c->runroot, &o, &n, &e) < 0)
		return cli_fail(e);
	printf("%s\n", n.id);
	net_release(&n);
	return 0;
}

/* network ls --filter, as Docker's daemon reads it: values of one key are
 * alternatives, different keys must all match; name and id are regular
 * expressions found anywhere in the value. */
struct net_filter {
	json_t *by_key; /* key -> array of values */
};

static int net_filter_add(struct net_filter *f, const char *arg, struct berr **e)
{
	static const char *const keys[] = {"name", "id", "driver", "label", "type", "scope", "dangling"};
	const char *eq = strchr(arg, '=');
	if (!eq)
		return berr_setc(e, BERR_INVALID, "bad format of filter (expected name=value)");
	char key[32];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	const char *v = eq + 1;
	bool known = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		known |= !strcmp(key, keys[i]);
	if (!known)
		return berr_setc(e, BERR_INVALID, "Invalid filter '%s'", key);
	if (!strcmp(key, "type") && strcmp(v, "custom") && strcmp(v, "builtin"))
		return berr_setc(e, BERR_INVALID, "invalid filter: 'type'='%s'", v);
	if (!strcmp(key, "dangling"))
		return berr_setc(e, BERR_INVALID, "network ls --filter dangling is not supported yet");
	if (!strcmp(key, "name") || !strcmp(key, "id")) {
		regex_t re;
		if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
			return berr_setc(e, BERR_INVALID, "invalid filter '%s': not a regular expression", arg);
		regfree(&re);
	}
	json_t *vals = json_object_get(f->by_key, key);
	if (!vals) {
		vals = json_array();
		json_object_set_new(f->by_key, key, vals);
	}
	json_array_append_new(vals, json_string(v));
	return 0;
}

static bool net_filter_value(const char *key, const char *want, json_t *net)
{
	if (!strcmp(key, "name") || !strcmp(key, "id")) {
		regex_t re;
		if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
			return false;
		bool hit = regexec(&re, jsonx_str(net, !strcmp(key, "id") ? "Id" : "Name") ?: "", 0, NULL, 0) == 0;
		regfree(&re);
		return hit;
	}
	if (!strcmp(key, "driver"))
		return !strcmp(want, jsonx_str(net, "Driver") ?: "bridge");
	if (!strcmp(key, "scope"))
		return !strcmp(want, jsonx_str(net, "Scope") ?: "local");
	if (!strcmp(key, "label"))
		return cli_label_match(json_object_get(net, "Labels"), want);
	/* type: the default network is the one builtin network berth lists */
	bool builtin = !strcmp(jsonx_str(net, "Name") ?: "", "bridge");
	return !strcmp(want, builtin ? "builtin" : "custom");
}

static bool net_filter_match(const struct net_filter *f, json_t *net)
{
	const char *key;
	json_t *vals;
	json_object_foreach(f->by_key, key, vals) {
		bool any = false;
		size_t i;
		json_t *v;
		json_array_foreach(vals, i, v) any = any || net_filter_value(key, json_string_value(v), net);
		/* labels must all match; other keys any of their values */
		if (!strcmp(key, "label")) {
			json_array_foreach(vals, i, v) if (!net_filter_value(key, json_string_value(v), net)) any = false;
		}
		if (!any)
			return false;
	}
	return true;
}

CMD(network_ls)
{
	static const struct option lo[] = {{"quiet", no_argument, 0, 'q'}, {"format", required_argument, 0, 'F'},
					   {"filter", required_argument, 0, 'f'}, {"no-trunc", no_argument, 0, 'T'},
					   {"help", no_argument, 0, 'h'}, {0}};
	bool quiet = false, notrunc = false;
	const char *format = NULL;
	_cleanup_json_ json_t *filters = json_object();
	struct net_filter flt = {.by_key = filters};
	struct berr *e = NULL;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "qf:h", lo, NULL)) != -1) {
		switch (op) {
		case 'q': quiet = true; break;
		case 'F': format = optarg; break;
		case 'f':
			if (net_filter_add(&flt, optarg, &e) < 0)
				return cli_fail(e);
			break;
		case 'T': notrunc = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(c, "accepts no arguments.");
	_cleanup_json_ json_t *all = net_list(c->root);
	_cleanup_json_ json_t *rows = json_array();
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		if (!net_filter_match(&flt, j))
			continue;
		char id[65];
		snprintf(id, sizeof(id), notrunc ? "%s" : "%.12s", jsonx_str(j, "Id") ?: "");
		json_t *c0 = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "ID", id, "Name",
						      jsonx_str(j, "Name") ?: "", "Driver", "bridge", "Scope", "local",
						      "Subnet", jsonx_str(c0, "Subnet") ?: "", "Internal",
						      json_is_true(json_object_get(j, "Internal")), "CreatedAt",
						      jsonx_str(j, "Created") ?: ""));
	}
	if (quiet) {
		json_array_foreach(rows, i, j) printf("%s\n", jsonx_str(j, "ID"));
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "NETWORK ID", "Name", "NAME",
						   "Driver", "DRIVER", "Scope", "SCOPE", "Subnet", "SUBNET",
						   "CreatedAt", "CREATED AT");
	return cli_print_rows(rows, format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", headers, false);
}

CMD(network_inspect)
{
	static const struct option lo[] = {{"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	const char *format = NULL;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "f:h", lo, NULL)) != -1) {
		switch (op) {
		case 'f': format = optarg; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct berr *e = NULL;
	_cleanup_json_ json_t *out = json_array();
	int rc = 0;
	for (int k = optind; k < argc; k++) {
		struct net n;
		if (net_load(c->root, argv[k], &n, &e) < 0) {
			fprintf(stderr, "Error: %s\n", e->msg);
			berr_freep(&e);
			rc = 1;
			continue;
		}
		json_t *o = net_inspect(c->root, c->runroot, &n);
		net_release(&n);
		json_array_append_new(out, o);
	}
	int prc = cli_print_inspect(out, format);
	return rc ? rc : prc;
}

CMD(network_rm)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (op) {
		case 'f': force = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(c, "requires at least 1 argument.");
	int rc = 0;
	for (int k = optind; k < argc; k++) {
		struct berr *e = NULL;
		if (net_remove(c->root, c->runroot, argv[k], &e) < 0) {
			if (!(force && e->code == BERR_NOT_FOUND)) {
				fprintf(stderr, "Error: %s\n", e->msg);
				rc = 1;
			}
			berr_free(e);
			continue;
		}
		printf("%s\n", argv[k]);
	}
	return rc;
}

CMD(network_prune)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (op) {
		case 'f': force = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (!force) {
		printf("WARNING! This will remove all custom networks not used by at least one container.\n"
		       "Are you sure you want to continue? [y/N] ");
		fflush(stdout);
		char ans[16] = {0};
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y'))
			return 0;
	}
	_cleanup_json_ json_t *removed = json_array();
	struct berr *e = NULL;
	if (net_prune(c->root, c->runroot, removed, &e) < 0)
		return cli_fail(e);
	if (json_array_size(removed)) {
		printf("Deleted Networks:\n");
		size_t i;
		json_t *v;
		json_array_foreach(removed, i, v) printf("%s\n", json_string_value(v));
	}
	return 0;
}

/* The container and the network of a connect/disconnect. The container
 * comes first, as in Docker: a missing one is the error even for an
 * unknown network. The container's lock is held (fd returned); pid is its
 * pid 1 when it runs (0 otherwise). */
struct net_target {
	char id[65];
	json_t *cfg;
	char dir[4200];
	pid_t pid;
};

static int net_target_open(struct cli *c, struct ctr_store *s, const char *net, const char *ref,
			   struct net_target *t, struct berr **e)
{
	if (ctr_resolve(s, ref, t->id, e) < 0)
		return -1;
	struct net n;
	if (net_load(c->root, net, &n, e) < 0)
		return -1;
	net_release(&n);
	int lk = ctr_lock(s, t->id, e);
	if (lk < 0)
		return -1;
	t->cfg = ctr_config(s, t->id, e);
	_cleanup_json_ json_t *st = t->cfg ? ctr_state(s, t->id, e) : NULL;
	if (!st) {
		json_decref(t->cfg);
		t->cfg = NULL;
		close(lk);
		return -1;
	}
	const char *status = jsonx_str(st, "Status") ?: "";
	t->pid = 0;
	if (!strcmp(status, "running") || !strcmp(status, "paused") || !strcmp(status, "restarting"))
		t->pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	snprintf(t->dir, sizeof(t->dir), "%s/containers/%s", c->root, t->id);
	return lk;
}

CMD(network_connect)
{
	enum { O_ALIAS = 1000, O_IP, O_IP6, O_LINK };
	static const struct option lo[] = {{"alias", required_argument, 0, O_ALIAS},
					   {"ip", required_argument, 0, O_IP},
					   {"ip6", required_argument, 0, O_IP6},
					   {"link", required_argument, 0, O_LINK},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	_cleanup_json_ json_t *aliases = json_array();
	const char *ip = NULL;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (op) {
		case O_ALIAS: json_array_append_new(aliases, json_string(optarg)); break;
		case O_IP: ip = optarg; break;
		case O_IP6: fprintf(stderr, "Error: IPv6 networks are not supported yet\n"); return 1;
		case O_LINK: fprintf(stderr, "Error: --link is not supported (use a user-defined network and names)\n"); return 1;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(c, "requires exactly 2 arguments.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	struct berr *e = NULL;
	struct net_target t;
	int lk = net_target_open(c, s, argv[optind], argv[optind + 1], &t, &e);
	if (lk < 0)
		return cli_fail(e);
	int r = net_connect(c->root, c->runroot, t.cfg, t.id, t.dir, t.pid, argv[optind], aliases, ip, &e);
	json_decref(t.cfg);
	close(lk);
	return r < 0 ? cli_fail(e) : 0;
}

CMD(network_disconnect)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (op) {
		case 'f': force = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(c, "requires exactly 2 arguments.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	struct berr *e = NULL;
	struct net_target t;
	int lk = net_target_open(c, s, argv[optind], argv[optind + 1], &t, &e);
	if (lk < 0)
		return cli_fail(e);
	int r = net_disconnect(c->root, c->runroot, t.cfg, t.id, t.dir, argv[optind], force, &e);
	json_decref(t.cfg);
	close(lk);
	return r < 0 ? cli_fail(e) : 0;
}
