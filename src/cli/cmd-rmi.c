#include "cli/cli.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <string.h>

static void print_untagged(json_t *refs)
{
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r) {
		_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(r));
		printf("Untagged: %s\n", fam);
	}
}

CMD(rmi)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'},
					   {"no-prune", no_argument, 0, 'N'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	bool force = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (o) {
		case 'f':
			force = true;
			break;
		case 'N':
			/* Docker's --no-prune keeps the untagged parent images
			 * (the legacy builder's intermediate images) that rmi would
			 * delete along; berth images have no parent chain, so there
			 * is nothing to keep: the result is Docker's */
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
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
	int rc = 0;
	bool changed = false;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *id = NULL, *ref = NULL;
		if (image_store_resolve(idx, argv[i], &id, &ref, &e) < 0) {
			rc = cli_fail(e);
			e = NULL;
			continue;
		}
		_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
		_cleanup_free_ char *ctr = NULL;
		bool used = image_store_image_in_use(s, id, &ctr);
		if (ref && json_array_size(refs) > 1) {
			/* by name, other names remain: just untag */
			json_object_del(json_object_get(idx, "refs"), ref);
			_cleanup_json_ json_t *one = json_pack("[s]", ref);
			print_untagged(one);
			changed = true;
			continue;
		}
		if (!ref && json_array_size(refs) > 1 && !force) {
			fprintf(stderr,
				"Error: conflict: unable to delete %.12s (must be forced) - image is referenced in multiple repositories\n",
				id + 7);
			rc = 1;
			continue;
		}
		if (used) {
			if (force && ref) {
				json_object_del(json_object_get(idx, "refs"), ref);
				_cleanup_json_ json_t *one = json_pack("[s]", ref);
				print_untagged(one);
				changed = true;
				continue;
			}
			fprintf(stderr,
				"Error: conflict: unable to delete %s (%s) - image is being used by container %.12s\n",
				argv[i], force ? "cannot be forced" : "must be forced", ctr);
			rc = 1;
			continue;
		}
		_cleanup_json_ json_t *untagged = json_array();
		json_t *rec = json_object_get(json_object_get(idx, "images"), id);
		if (json_is_true(json_object_get(rec, "build_cache"))) {
			/* also a build cache entry: untag it; `builder prune` reclaims it */
			size_t k;
			json_t *t;
			json_array_foreach(refs, k, t) {
				json_object_del(json_object_get(idx, "refs"), json_string_value(t));
				json_array_append(untagged, t);
			}
		} else {
			image_store_forget(idx, id, untagged);
		}
		print_untagged(untagged);
		printf("Deleted: %s\n", id);
		changed = true;
	}
	if (changed) {
		if (image_store_index_write(s, idx, &e) < 0 || image_store_gc(s, idx, NULL, &e) < 0)
			return cli_fail(e);
	}
	return rc;
}
