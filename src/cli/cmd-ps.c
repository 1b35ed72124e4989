#include "net/network.h"
#include "net/ports.h"
#include "cli/ctr.h"
#include "cli/imgrows.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct psrow {
	json_t *obj;
	struct timespec created;
	char id[65];
	char *image_id; /* for --size */
};

/* Docker's SIZE: the writable layer (the overlay's upper dir), and with
 * the image's layers (its size as `images` shows it) as "virtual". */
static void set_size(struct ctr_store *s, json_t *idx, const struct psrow *r)
{
	char sub[100], rw[32], virt[32], both[80];
	unsigned long long up = 0;
	snprintf(sub, sizeof(sub), "%s/upper", r->id);
	fs_tree_size_at(s->ctrsfd, sub, &up);
	json_t *rec = json_object_get(json_object_get(idx, "images"), r->image_id ? r->image_id : "");
	size_human((double)up, rw, sizeof(rw));
	size_human((double)up + (double)json_integer_value(json_object_get(rec, "size")), virt, sizeof(virt));
	snprintf(both, sizeof(both), "%s (virtual %s)", rw, virt);
	json_object_set_new(r->obj, "Size", json_string(both));
}

/* Docker asks for sizes when the --format template reads .Size: it runs
 * the template once on a context that records the fields used, so
 * {{json .}} counts too (the bare "json" format does not). The same here:
 * render it on a copy of a row whose Size is a marker. */
static bool format_uses_size(const char *format, json_t *row)
{
	static const char mark[] = "berth-ps-size-probe";
	if (!format || !*format || !strcmp(format, "json"))
		return false;
	struct tmpl *t = NULL;
	if (tmpl_parse(format, &t, NULL) < 0)
		return false; /* the real rendering reports it */
	_cleanup_json_ json_t *probe = json_copy(row);
	json_object_set_new(probe, "Size", json_string(mark));
	struct sbuf out = SBUF_INIT;
	bool used = tmpl_render(t, probe, &out, NULL) == 0 && strstr(sbuf_str(&out), mark);
	sbuf_release(&out);
	tmpl_free(t);
	return used;
}

/* newest first, to the nanosecond: containers created in the same second
 * keep their order */
static int cmp(const void *a, const void *b)
{
	const struct psrow *x = a, *y = b;
	if (x->created.tv_sec != y->created.tv_sec)
		return x->created.tv_sec < y->created.tv_sec ? 1 : -1;
	return x->created.tv_nsec < y->created.tv_nsec ? 1 : x->created.tv_nsec > y->created.tv_nsec ? -1 : 0;
}

static bool match_filter(json_t *filters, json_t *cfg, json_t *st, const char *id)
{
	size_t i;
	json_t *f;
	json_array_foreach(filters, i, f) {
		const char *s = json_string_value(f);
		const char *eq = strchr(s, '=');
		size_t kl = (size_t)(eq - s);
		const char *v = eq + 1;
		if (!strncmp(s, "status", kl)) {
			if (strcmp(jsonx_str(st, "Status"), v))
				return false;
		} else if (!strncmp(s, "name", kl)) {
			/* Docker: a regular expression, matched with and without
			 * the leading slash */
			const char *name = jsonx_str(cfg, "Name") ? jsonx_str(cfg, "Name") : "";
			char slashed[300];
			snprintf(slashed, sizeof(slashed), "/%s", name);
			regex_t re;
			bool m;
			if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) == 0) {
				m = !regexec(&re, name, 0, NULL, 0) || !regexec(&re, slashed, 0, NULL, 0);
				regfree(&re);
			} else {
				m = strstr(name, v) != NULL;
			}
			if (!m)
				return false;
		} else if (!strncmp(s, "id", kl)) {
			if (strncmp(id, v, strlen(v)))
				return false;
		} else if (!strncmp(s, "label", kl)) {
			json_t *labels = json_object_get(json_object_get(cfg, "Config"), "Labels");
			const char *leq = strchr(v, '=');
			if (leq) {
				_cleanup_free_ char *k = strndup(v, (size_t)(leq - v));
				const char *lv = jsonx_str(labels, k);
				if (!lv || strcmp(lv, leq + 1))
					return false;
			} else if (!json_object_get(labels, v)) {
				return false;
			}
		} else if (!strncmp(s, "exited", kl)) {
			if (strcmp(jsonx_str(st, "Status"), "exited") ||
			    json_integer_value(json_object_get(st, "ExitCode")) != atoi(v))
				return false;
		} else if (!strncmp(s, "ancestor", kl)) {
			const char *img = jsonx_str(json_object_get(cfg, "Config"), "Image");
			const char *iid = jsonx_str(cfg, "ImageID");
			if (!(img && !strcmp(img, v)) && !(iid && strstr(iid, v)))
				return false;
		} else if (!strncmp(s, "health", kl)) {
			const char *h = jsonx_str(json_object_get(st, "Health"), "Status");
			if (!h ? strcmp(v, "none") : strcmp(h, v))
				return false;
		}
	}
	return true;
}

CMD(ps)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},       {"quiet", no_argument, 0, 'q'},
					   {"no-trunc", no_argument, 0, 'T'},  {"format", required_argument, 0, 'F'},
					   {"filter", required_argument, 0, 'f'}, {"latest", no_argument, 0, 'l'},
					   {"last", required_argument, 0, 'n'}, {"size", optional_argument, 0, 's'},
					   {"help", no_argument, 0, 'h'},      {0}};
	bool all = false, quiet = false, notrunc = false, size = false, size_set = false;
	long last = -1;
	const char *format = NULL;
	_cleanup_json_ json_t *filters = json_array();
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aqf:ln:sh", lo, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'T': notrunc = true; break;
		case 'F': format = optarg; break;
		case 'l': last = 1; all = true; break;
		case 'n': last = atol(optarg); all = true; break;
		case 's': /* a Go bool flag: -s, --size, --size=false */
			if (optarg && str_parse_gobool(optarg, &size) < 0)
				return cli_usage_error(c, "invalid argument \"%s\" for \"-s, --size\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
						       optarg, optarg);
			if (!optarg)
				size = true;
			size_set = true;
			break;
		case 'f': {
			const char *eq = strchr(optarg, '=');
			static const char *const ok[] = {"status", "name", "id", "label", "exited", "ancestor", "health"};
			bool known = false;
			for (size_t i = 0; eq && i < sizeof(ok) / sizeof(ok[0]); i++)
				known |= strlen(ok[i]) == (size_t)(eq - optarg) && !strncmp(ok[i], optarg, (size_t)(eq - optarg));
			if (!known) {
				berr_setc(&e, BERR_INVALID, "invalid filter '%s'", optarg);
				return cli_fail(e);
			}
			if (!strncmp(optarg, "status=", 7)) {
				static const char *const st[] = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};
				bool good = false;
				for (size_t i = 0; i < 7; i++)
					good |= !strcmp(optarg + 7, st[i]);
				if (!good) {
					berr_setc(&e, BERR_INVALID, "invalid filter 'status=%s'", optarg + 7);
					return cli_fail(e);
				}
				all = true;
			}
			json_array_append_new(filters, json_string(optarg));
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *ids = ctr_list(s);
	struct psrow *rows = calloc(json_array_size(ids) + 1, sizeof(*rows));
	size_t n = 0, i;
	json_t *idv;
	json_array_foreach(ids, i, idv) {
		const char *id = json_string_value(idv);
		json_t *cfg = ctr_config(s, id, NULL);
		json_t *st = cfg ? ctr_state(s, id, NULL) : NULL;
		if (!cfg || !st) {
			json_decref(cfg);
			json_decref(st);
			continue;
		}
		const char *status = jsonx_str(st, "Status");
		bool running = status && (!strcmp(status, "running") || !strcmp(status, "paused") || !strcmp(status, "restarting"));
		if ((!all && !running) || !match_filter(filters, cfg, st, id)) {
			json_decref(cfg);
			json_decref(st);
			continue;
		}
		char idbuf[65], stat[128], created[64], cmd[4096];
		snprintf(idbuf, sizeof(idbuf), "%.*s", notrunc ? 64 : 12, id);
		ctr_status_text(st, stat, sizeof(stat));
		imgrows_since(jsonx_str(cfg, "Created"), created, sizeof(created));
		struct sbuf cb = SBUF_INIT;
		sbuf_adds(&cb, jsonx_str(cfg, "Path") ? jsonx_str(cfg, "Path") : "");
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(cfg, "Args"), k, a) {
			sbuf_addc(&cb, ' ');
			sbuf_adds(&cb, json_string_value(a));
		}
		if (!notrunc && cb.len > 20) {
			/* Docker: 19 characters and an ellipsis */
			cb.len = 19;
			cb.s[19] = 0;
			snprintf(cmd, sizeof(cmd), "\"%s…\"", cb.s);
		} else {
			snprintf(cmd, sizeof(cmd), "\"%s\"", sbuf_str(&cb));
		}
		sbuf_release(&cb);
		const char *img = jsonx_str(json_object_get(cfg, "Config"), "Image");
		char imgbuf[512];
		if (img && !strncmp(img, "sha256:", 7) && !notrunc)
			snprintf(imgbuf, sizeof(imgbuf), "%.12s", img + 7);
		else
			snprintf(imgbuf, sizeof(imgbuf), "%s", img ? img : "");
		char at[64];
		imgrows_go_time(jsonx_str(cfg, "Created"), at, sizeof(at));
		char portsbuf[1024] = "";
		if (running) {
			json_t *pp = net_ctr_ports(c->root, c->runroot, id);
			ports_format_ps(pp, portsbuf, sizeof(portsbuf));
			json_decref(pp);
		}
		json_t *labels = json_object_get(json_object_get(cfg, "Config"), "Labels");
		struct sbuf lb = SBUF_INIT;
		const char *lk;
		json_t *lv;
		json_object_foreach(labels, lk, lv) sbuf_addf(&lb, "%s%s=%s", lb.len ? "," : "", lk, json_string_value(lv));
		json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Command", cmd,
					"CreatedAt", at, "ID", idbuf, "Image", imgbuf, "Labels", sbuf_str(&lb), "LocalVolumes", "0",
					"Mounts", "", "Names", jsonx_str(cfg, "Name"), "Networks",
					jsonx_str(json_object_get(cfg, "HostConfig"), "NetworkMode") ? jsonx_str(json_object_get(cfg, "HostConfig"), "NetworkMode") : "",
					"Ports", portsbuf, "RunningFor", created, "Size", "0B", "State", status, "Status", stat,
					"CreatedSince", created);
		sbuf_release(&lb);
		struct timespec cts = {0};
		if (jsonx_str(cfg, "Created"))
			time_parse_rfc3339(jsonx_str(cfg, "Created"), &cts);
		rows[n] = (struct psrow){obj, cts, "", jsonx_str(cfg, "ImageID") ? strdup(jsonx_str(cfg, "ImageID")) : NULL};
		snprintf(rows[n++].id, sizeof(rows->id), "%s", id);
		json_decref(cfg);
		json_decref(st);
	}
	qsort(rows, n, sizeof(*rows), cmp);
	if (last >= 0 && (size_t)last < n) {
		for (size_t k = (size_t)last; k < n; k++) {
			json_decref(rows[k].obj);
			free(rows[k].image_id);
		}
		n = (size_t)last;
	}
	/* sizes only for the rows shown: walking upper dirs costs */
	if (!size && !size_set && !quiet && n && format_uses_size(format, rows[0].obj))
		size = true;
	_cleanup_json_ json_t *idx = NULL;
	if (size && !quiet && n) {
		struct image_store *is = cli_store(c);
		if (!is || !(idx = image_store_index_read(is, &e))) {
			for (size_t k = 0; k < n; k++) {
				json_decref(rows[k].obj);
				free(rows[k].image_id);
			}
			free(rows);
			return is ? cli_fail(e) : 1;
		}
	}
	_cleanup_json_ json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		if (idx)
			set_size(s, idx, &rows[k]);
		json_array_append_new(arr, rows[k].obj);
		free(rows[k].image_id);
	}
	free(rows);
	if (quiet) {
		json_t *r;
		json_array_foreach(arr, i, r) printf("%s\n", jsonx_str(r, "ID"));
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CONTAINER ID",
						   "Image", "IMAGE", "Command", "COMMAND", "RunningFor", "CREATED",
						   "Status", "STATUS", "Ports", "PORTS", "Names", "NAMES", "CreatedAt",
						   "CREATED AT", "State", "STATE", "Size", "SIZE");
	return cli_print_rows(arr, format,
			      size ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
				   : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
			      headers, false);
}
