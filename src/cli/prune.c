/* Image pruning shared by `image prune` and `system prune`. */
#include "cli/cli.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/cleanup.h"

int cli_prune_images(struct image_store *s, bool all, json_t *out, uint64_t *freed, struct berr **err)
{
	if (image_store_gc_lock(s, true, err) < 0)
		return -1;
	_cleanup_close_ int lk = image_store_index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, err);
	if (!idx)
		return -1;
	_cleanup_json_ json_t *victims = json_array();
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(idx, "images"), id, rec) {
		_cleanup_json_ json_t *refs = image_store_refs_of(idx, id);
		if (image_store_image_in_use(s, id, NULL))
			continue;
		if (json_is_true(json_object_get(rec, "build_cache")) && json_array_size(refs) == 0)
			continue; /* the build cache's step images: build_cache_prune */
		if (all || json_array_size(refs) == 0)
			json_array_append_new(victims, json_string(id));
	}
	size_t i;
	json_t *v;
	json_array_foreach(victims, i, v) {
		_cleanup_json_ json_t *untagged = json_array();
		image_store_forget(idx, json_string_value(v), untagged);
		size_t k;
		json_t *u;
		json_array_foreach(untagged, k, u) {
			_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(u));
			json_array_append_new(out, json_sprintf("untagged: %s", fam));
		}
		json_array_append_new(out, json_sprintf("deleted: %s", json_string_value(v)));
	}
	if (image_store_index_write(s, idx, err) < 0 || image_store_gc(s, idx, freed, err) < 0)
		return -1;
	image_store_clean_tmp(s);
	return 0;
}
