#include "cli/cli.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

CMD(image_prune)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},
					   {"force", no_argument, 0, 'f'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	bool all = false, force = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "afh", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			all = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!force) {
		printf("WARNING! This will remove all %s.\nAre you sure you want to continue? [y/N] ",
		       all ? "images without at least one container associated to them" : "dangling images");
		fflush(stdout);
		char ans[16] = {0};
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y')) {
			printf("\n");
			return 0;
		}
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	if (image_store_gc_lock(s, true, &e) < 0)
		return cli_fail(e);
	_cleanup_close_ int lk = image_store_index_lock(s, &e);
	if (lk < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	if (!idx)
		return cli_fail(e);
	_cleanup_json_ json_t *victims = json_array();
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(idx, "images"), id, rec) {
		_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
		if (image_store_image_in_use(s, id, NULL))
			continue;
		/* the build cache's own images go with `builder prune` */
		if (json_is_true(json_object_get(rec, "build_cache")) && json_array_size(refs) == 0)
			continue;
		if (all || json_array_size(refs) == 0)
			json_array_append_new(victims, json_string(id));
	}
	_cleanup_json_ json_t *lines = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(victims, i, v) {
		_cleanup_json_ json_t *untagged = json_array();
		image_store_forget(idx, json_string_value(v), untagged);
		size_t k;
		json_t *u;
		json_array_foreach(untagged, k, u) {
			_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(u));
			json_array_append_new(lines, json_sprintf("untagged: %s", fam));
		}
		json_array_append_new(lines, json_sprintf("deleted: %s", json_string_value(v)));
	}
	uint64_t freed = 0;
	if (image_store_index_write(s, idx, &e) < 0 || image_store_gc(s, idx, &freed, &e) < 0)
		return cli_fail(e);
	image_store_clean_tmp(s);
	if (json_array_size(lines)) {
		printf("Deleted Images:\n");
		json_array_foreach(lines, i, v) printf("%s\n", json_string_value(v));
		printf("\n");
	}
	char hs[32];
	size_human((double)freed, hs, sizeof(hs));
	printf("Total reclaimed space: %s\n", hs);
	return 0;
}
