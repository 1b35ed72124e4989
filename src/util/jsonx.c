#include "util/jsonx.h"
#include "util/cleanup.h"
#include "util/fs.h"

json_t *jsonx_load_at(int dirfd, const char *name, size_t max, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(dirfd, name, max, &buf, &len, err) < 0)
		return NULL;
	return jsonx_parse(buf, len, name, err);
}

char *jsonx_dumps(const json_t *j, int sorted)
{
	return json_dumps(j, JSON_COMPACT | (sorted ? JSON_SORT_KEYS : 0));
}

const char *jsonx_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
