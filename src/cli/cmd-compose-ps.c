/* berth compose ps: the project's containers, docker compose v2's columns
 * (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS), filtered as docker
 * compose's (--status, --filter status=, --orphans=false); and compose ls,
 * the projects found on containers (--filter name=). */
#include "cli/compose.h"
#include "cli/ctr.h"
#include "net/network.h"
#include "net/ports.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *state_name(json_t *st)
{
	const char *s = jsonx_str(st, "Status");
	return s ? s : "created";
}

COMPOSE_CMD(ps)
{
	static const struct option opts[] = {
		{"all", no_argument, 0, 'a'},         {"quiet", no_argument, 0, 'q'},
		{"services", no_argument, 0, 'S'},    {"status", required_argument, 0, 's'},
		{"format", required_argument, 0, 'F'}, {"no-trunc", no_argument, 0, 'N'},
		{"orphans", optional_argument, 0, 'O'}, {"filter", required_argument, 0, 'f'},
		{0},
	};
	bool all = false, quiet = false, services = false, notrunc = false, orphans = true;
	const char *format = NULL;
	_cleanup_json_ json_t *statuses = json_array();
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'S': services = true; break;
		case 's':
			if (!compose_ps_status_valid(optarg)) {
				fprintf(stderr, "Error: invalid filter 'status=%s'\n", optarg);
				return 1;
			}
			json_array_append_new(statuses, json_string(optarg));
			break;
		case 'F': format = optarg; break;
		case 'N': notrunc = true; break;
		case 'O':
			if (compose_cli_bool_flag("--orphans", optarg, &orphans) < 0)
				return 1;
			break;
		case 'f':
			if (compose_ps_filter(optarg, statuses, &e) < 0)
				return cli_fail(e);
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	/* --orphans=false: only the services of the file (named ones are) */
	if (!sel && !orphans) {
		sel = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(cc->p->doc, "services"), k, v) json_array_append_new(sel, json_string(k));
	}
	struct compose_ctrs cs;
	if (compose_cli_ctrs(cc, sel, true, &cs) < 0)
		return 1;
	/* --services: the services of the containers listed, as docker compose */
	_cleanup_json_ json_t *svc_names = json_array();
	_cleanup_json_ json_t *rows = json_array();
	for (size_t i = 0; i < cs.n; i++) {
		struct compose_ctr *c = &cs.v[i];
		const char *st = state_name(c->state);
		bool running = ctr_is_running(c->state);
		if (json_array_size(statuses)) {
			bool match = false;
			size_t j;
			json_t *s;
			json_array_foreach(statuses, j, s) match = match || !strcmp(json_string_value(s), st);
			if (!match)
				continue;
		} else if (!all && !running) {
			continue;
		}
		if (quiet) {
			printf("%s\n", c->id);
			continue;
		}
		if (services) {
			bool seen = false;
			size_t j;
			json_t *s;
			json_array_foreach(svc_names, j, s) seen = seen || !strcmp(json_string_value(s), c->service);
			if (!seen)
				json_array_append_new(svc_names, json_string(c->service));
			continue;
		}
		json_t *cfg = c->config;
		struct sbuf cb = SBUF_INIT;
		sbuf_adds(&cb, jsonx_str(cfg, "Path") ? jsonx_str(cfg, "Path") : "");
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(cfg, "Args"), k, a) sbuf_addf(&cb, " %s", json_string_value(a));
		char cmd[1024];
		if (!notrunc && cb.len > 20 && (!format || strcmp(format, "json"))) {
			cb.s[19] = 0;
			snprintf(cmd, sizeof(cmd), "\"%s…\"", cb.s);
		} else {
			snprintf(cmd, sizeof(cmd), "\"%s\"", sbuf_str(&cb));
		}
		sbuf_release(&cb);
		char status[256];
		ctr_status_text(c->state, status, sizeof(status));
		struct timespec created = {0}, now;
		time_parse_rfc3339(jsonx_str(cfg, "Created") ? jsonx_str(cfg, "Created") : "", &created);
		clock_gettime(CLOCK_REALTIME, &now);
		char ago[96], hd[64];
		time_human_duration(difftime(now.tv_sec, created.tv_sec), hd, sizeof(hd));
		snprintf(ago, sizeof(ago), "%s ago", hd);
		char ports[1024] = "";
		json_t *hcfg = json_object_get(cfg, "HostConfig");
		/* only containers that publish ports have port rules to read */
		if (running && (json_object_size(json_object_get(hcfg, "PortBindings")) ||
				json_is_true(json_object_get(hcfg, "PublishAllPorts")))) {
			json_t *pp = net_ctr_ports(cc->c->root, cc->c->runroot, c->id);
			ports_format_ps(pp, ports, sizeof(ports));
			json_decref(pp);
		}
		const char *img = jsonx_str(json_object_get(cfg, "Config"), "Image");
		const char *health = jsonx_str(json_object_get(c->state, "Health"), "Status");
		int code = (int)json_integer_value(json_object_get(c->state, "ExitCode"));
		char shortid[13];
		snprintf(shortid, sizeof(shortid), "%.12s", c->id);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
						      "ID", notrunc ? c->id : shortid, "Name", c->name, "Image", img ? img : "",
						      "Command", cmd, "Project", cc->p->name, "Service", c->service,
						      "Created", ago, "State", st, "Status", status, "Health", health ? health : "",
						      "Ports", ports, "ExitCode", code, "Publishers", ""));
	}
	compose_ctrs_release(&cs);
	if (quiet)
		return 0;
	if (services) {
		size_t j;
		json_t *s;
		json_array_foreach(svc_names, j, s) printf("%s\n", json_string_value(s));
		return 0;
	}
	if (format && !strcmp(format, "json")) {
		/* docker compose prints one JSON object per line */
		size_t i;
		json_t *r;
		json_array_foreach(rows, i, r) {
			char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			free(s);
		}
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", "NAME", "Image",
						   "IMAGE", "Command", "COMMAND", "Service", "SERVICE", "Created", "CREATED",
						   "Status", "STATUS", "Ports", "PORTS", "ID", "CONTAINER ID", "State", "STATE");
	return cli_print_rows(rows, format,
			      "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}",
			      headers, false);
}

COMPOSE_CMD(ls)
{
	static const struct option opts[] = {
		{"all", no_argument, 0, 'a'}, {"quiet", no_argument, 0, 'q'}, {"format", required_argument, 0, 'F'},
		{"filter", required_argument, 0, 'f'}, {0},
	};
	bool all = false, quiet = false;
	const char *format = NULL;
	_cleanup_json_ json_t *names = json_array();
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'F': format = optarg; break;
		case 'f':
			if (compose_ls_filter_add(names, optarg, &e) < 0)
				return cli_fail(e);
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	struct ctr_store *s = cli_ctr_store(cc->c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *projs = compose_list_projects(s);
	_cleanup_json_ json_t *rows = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(projs, k, v) {
		json_int_t run = json_integer_value(json_object_get(v, "running")), tot = json_integer_value(json_object_get(v, "total"));
		if ((!all && run == 0) || !compose_ls_filter_match(names, k))
			continue;
		if (quiet) {
			printf("%s\n", k);
			continue;
		}
		char st[96];
		if (run == tot)
			snprintf(st, sizeof(st), "running(%lld)", (long long)run);
		else if (run == 0)
			snprintf(st, sizeof(st), "exited(%lld)", (long long)tot);
		else
			snprintf(st, sizeof(st), "running(%lld), exited(%lld)", (long long)run, (long long)(tot - run));
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "Name", k, "Status", st, "ConfigFiles",
						      jsonx_str(v, "files")));
	}
	if (quiet)
		return 0;
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s}", "Name", "NAME", "Status", "STATUS", "ConfigFiles",
						   "CONFIG FILES");
	return cli_print_rows(rows, format, "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}", headers, false);
}
