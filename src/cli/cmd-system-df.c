#include "cli/cli.h"
#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/fs.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <fcntl.h>
#include <getopt.h>
#include <string.h>

CMD(system_df)
{
	static const struct option lo[] = {{"format", required_argument, 0, 'F'},
					   {"verbose", no_argument, 0, 'v'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *format = NULL;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (o) {
		case 'F':
			format = optarg;
			break;
		case 'v':
			berr_setc(&e, BERR_INVALID, "--verbose is not supported yet");
			return cli_fail(e);
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	if (!idx)
		return cli_fail(e);
	/* Shared layers count once, like Docker's SIZE column. */
	_cleanup_json_ json_t *seen = json_object();
	_cleanup_json_ json_t *active_layers = json_object();
	uint64_t total = 0, active_size = 0;
	size_t nimages = 0, nactive = 0;
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(idx, "images"), id, rec) {
		nimages++;
		bool used = image_store_image_in_use(s, id, NULL);
		nactive += used;
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(rec, "layers"), i, l) {
			const char *d = json_string_value(l);
			if (!d)
				continue;
			uint64_t sz = 0;
			if (!json_object_get(seen, d)) {
				_cleanup_json_ json_t *m = image_store_layer_meta(s, d);
				sz = (uint64_t)json_integer_value(json_object_get(m, "size"));
				json_object_set_new(seen, d, json_integer((json_int_t)sz));
				total += sz;
			}
			if (used && !json_object_get(active_layers, d)) {
				json_object_set_new(active_layers, d, json_true());
				active_size += (uint64_t)json_integer_value(json_object_get(seen, d));
			}
		}
	}
	/* containers: their writable layers */
	size_t nctr = 0, nrun = 0;
	uint64_t csize = 0, crecl = 0;
	struct ctr_store *cs = cli_ctr_store(c);
	if (cs) {
		_cleanup_json_ json_t *ids = ctr_list(cs);
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v) {
			const char *cid = json_string_value(v);
			_cleanup_json_ json_t *st = ctr_state(cs, cid, NULL);
			if (!st)
				continue;
			nctr++;
			bool running = ctr_is_running(st);
			nrun += running;
			char sub[100];
			snprintf(sub, sizeof(sub), "%s/upper", cid);
			unsigned long long n = 0;
			fs_tree_size_at(cs->ctrsfd, sub, &n);
			csize += n;
			if (!running)
				crecl += n;
		}
	}
	char cs_size[32], cs_recl[32], cs_reclaim[64];
	size_human((double)csize, cs_size, sizeof(cs_size));
	size_human((double)crecl, cs_recl, sizeof(cs_recl));
	snprintf(cs_reclaim, sizeof(cs_reclaim), "%s (%d%%)", cs_recl, csize ? (int)(crecl * 100 / csize) : 0);
	/* volumes: in use by a container (any state) or not */
	size_t nvol = 0, nvol_used = 0;
	unsigned long long vsize = 0, vrecl = 0;
	{
		_cleanup_json_ json_t *names = volume_list(c->root);
		size_t i;
		json_t *j;
		json_array_foreach(names, i, j) {
			const char *name = json_string_value(j);
			_cleanup_json_ json_t *v = volume_inspect(c->root, name, NULL);
			const char *mp = jsonx_str(v, "Mountpoint");
			if (!v)
				continue;
			nvol++;
			unsigned long long n = 0;
			if (mp)
				fs_tree_size_at(AT_FDCWD, mp, &n);
			vsize += n;
			_cleanup_json_ json_t *users = volume_users(c->root, name);
			if (json_array_size(users))
				nvol_used++;
			else
				vrecl += n;
		}
	}
	char v_size[32], v_recl[32], v_reclaim[64];
	size_human((double)vsize, v_size, sizeof(v_size));
	size_human((double)vrecl, v_recl, sizeof(v_recl));
	snprintf(v_reclaim, sizeof(v_reclaim), "%s (%d%%)", v_recl, vsize ? (int)(vrecl * 100 / vsize) : 0);
	char size[32], recl[32], reclaim[64];
	size_human((double)total, size, sizeof(size));
	size_human((double)(total - active_size), recl, sizeof(recl));
	snprintf(reclaim, sizeof(reclaim), "%s (%d%%)", recl,
		 total ? (int)((total - active_size) * 100 / total) : 0);
	_cleanup_json_ json_t *rows = json_pack(
		"[{s:s, s:i, s:i, s:s, s:s}, {s:s, s:i, s:i, s:s, s:s}, {s:s, s:i, s:i, s:s, s:s}, {s:s, s:i, s:i, s:s, s:s}]",
		"Type", "Images", "TotalCount", (int)nimages, "Active", (int)nactive, "Size", size, "Reclaimable", reclaim,
		"Type", "Containers", "TotalCount", (int)nctr, "Active", (int)nrun, "Size", cs_size, "Reclaimable",
		nctr ? cs_reclaim : "0B",
		"Type", "Local Volumes", "TotalCount", (int)nvol, "Active", (int)nvol_used, "Size", v_size, "Reclaimable",
		nvol ? v_reclaim : "0B",
		"Type", "Build Cache", "TotalCount", 0, "Active", 0, "Size", "0B", "Reclaimable", "0B");
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL",
						   "Active", "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
	return cli_print_rows(rows, format,
			      "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", headers,
			      false);
}
