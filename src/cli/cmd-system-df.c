#include "cli/cli.h"
#include "cli/ctr.h"
#include "image/store.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/fs.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>

/* One row of the table. Docker's `{{json .}}` shows every field as a string,
 * keys in alphabetical order; RECLAIMABLE carries a percentage when the
 * size is not 0 (not for the build cache). */
static json_t *df_row(const char *type, size_t count, size_t active, uint64_t size, uint64_t reclaim, bool pct)
{
	char n[32], a[32], sz[32], rc[32], rct[64];
	snprintf(n, sizeof(n), "%zu", count);
	snprintf(a, sizeof(a), "%zu", active);
	size_human((double)size, sz, sizeof(sz));
	size_human((double)reclaim, rc, sizeof(rc));
	if (pct && size)
		snprintf(rct, sizeof(rct), "%s (%d%%)", rc, (int)(reclaim * 100 / size));
	else
		snprintf(rct, sizeof(rct), "%s", rc);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Active", a, "Reclaimable", rct, "Size", sz, "TotalCount", n,
			 "Type", type);
}

/* An image the IMAGES row counts: not one of the build cache's step images
 * (untagged and marked build_cache), which the BUILD CACHE row counts. */
static bool df_is_image(json_t *idx, const char *id, json_t *rec)
{
	if (!json_is_true(json_object_get(rec, "build_cache")))
		return true;
	_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
	return json_array_size(refs) > 0;
}

/* Layer size once per layer (shared layers count once, like Docker's SIZE). */
static uint64_t df_layer_size(struct image_store *s, json_t *sizes, const char *diff_id)
{
	json_t *v = json_object_get(sizes, diff_id);
	if (v)
		return (uint64_t)json_integer_value(v);
	_cleanup_json_ json_t *m = image_store_layer_meta(s, diff_id);
	uint64_t sz = (uint64_t)json_integer_value(json_object_get(m, "size"));
	json_object_set_new(sizes, diff_id, json_integer((json_int_t)sz));
	return sz;
}

/* The IMAGES and BUILD CACHE rows. The cache's size is what its layers add
 * to the images' layers; its entries are the files of builder/cache. */
static void df_images(struct image_store *s, json_t *idx, json_t *rows)
{
	_cleanup_json_ json_t *sizes = json_object(), *img_layers = json_object(), *active_layers = json_object(),
			      *cache_layers = json_object();
	uint64_t total = 0, active = 0, cache = 0;
	size_t nimages = 0, nactive = 0;
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(idx, "images"), id, rec) {
		bool image = df_is_image(idx, id, rec);
		bool used = image && image_store_image_in_use(s, id, NULL);
		nimages += image;
		nactive += used;
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(rec, "layers"), i, l) {
			const char *d = json_string_value(l);
			if (!d)
				continue;
			json_t *seen = image ? img_layers : cache_layers;
			if (!json_object_get(seen, d))
				json_object_set_new(seen, d, json_true());
			if (used && !json_object_get(active_layers, d)) {
				json_object_set_new(active_layers, d, json_true());
				active += df_layer_size(s, sizes, d);
			}
		}
	}
	const char *d;
	json_t *v;
	json_object_foreach(img_layers, d, v) total += df_layer_size(s, sizes, d);
	json_object_foreach(cache_layers, d, v) {
		if (!json_object_get(img_layers, d))
			cache += df_layer_size(s, sizes, d);
	}
	size_t nentries = 0;
	char cdir[4200];
	snprintf(cdir, sizeof(cdir), "%s/builder/cache", s->root);
	DIR *dir = opendir(cdir);
	struct dirent *de;
	while (dir && (de = readdir(dir)))
		nentries += de->d_name[0] != '.';
	if (dir)
		closedir(dir);
	json_array_append_new(rows, df_row("Images", nimages, nactive, total, total - active, true));
	json_array_append_new(rows, df_row("Build Cache", nentries, 0, cache, cache, false));
}

/* CONTAINERS: their writable layers; a running one's is not reclaimable. */
static json_t *df_containers(struct cli *c)
{
	size_t nctr = 0, nrun = 0;
	uint64_t size = 0, reclaim = 0;
	struct ctr_store *cs = cli_ctr_store(c);
	_cleanup_json_ json_t *ids = cs ? ctr_list(cs) : NULL;
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
		size += n;
		if (!running)
			reclaim += n;
	}
	return df_row("Containers", nctr, nrun, size, reclaim, true);
}

/* LOCAL VOLUMES: in use by a container (any state) or not. */
static json_t *df_volumes(struct cli *c)
{
	size_t nvol = 0, nused = 0;
	uint64_t size = 0, reclaim = 0;
	_cleanup_json_ json_t *names = volume_list(c->root);
	size_t i;
	json_t *j;
	json_array_foreach(names, i, j) {
		const char *name = json_string_value(j);
		_cleanup_json_ json_t *v = volume_inspect(c->root, name, NULL);
		if (!v)
			continue;
		nvol++;
		const char *mp = jsonx_str(v, "Mountpoint");
		unsigned long long n = 0;
		if (mp)
			fs_tree_size_at(AT_FDCWD, mp, &n);
		size += n;
		_cleanup_json_ json_t *users = volume_users(c->root, name);
		if (json_array_size(users))
			nused++;
		else
			reclaim += n;
	}
	return df_row("Local Volumes", nvol, nused, size, reclaim, true);
}

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
	_cleanup_json_ json_t *rows = json_array();
	df_images(s, idx, rows);
	/* Docker's order: images, containers, volumes, build cache */
	json_array_insert_new(rows, 1, df_containers(c));
	json_array_insert_new(rows, 2, df_volumes(c));
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL",
						   "Active", "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
	return cli_print_rows(rows, format,
			      "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", headers,
			      false);
}
