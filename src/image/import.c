/* berth import: a rootfs tar becomes a one-layer image. */
#include "image/image.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ssize_t fd_read(void *opaque, void *buf, size_t n)
{
	int fd = *(int *)opaque;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int image_import(struct image_store *s, int fd, const char *what, json_t *config_over,
		 const char *message, const char *tag, char ret_id[72], json_t *notes,
		 struct berr **err)
{
	if (image_store_gc_lock(s, false, err) < 0)
		return -1;
	struct layer_stage st;
	if (layer_stage_stream(s, fd_read, &fd, what, NULL, &st, err) < 0)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char created[48];
	time_rfc3339(&now, created, sizeof(created));
	_cleanup_free_ char *comment = NULL;
	if (message && *message)
		comment = strdup(message);
	else if (asprintf(&comment, "Imported from %s", what) < 0)
		comment = NULL;
	json_t *hist = json_pack("{s:s, s:s, s:s}", "created", created, "created_by", "berth import",
				 "comment", comment ? comment : "");
	_cleanup_json_ json_t *cfg = json_pack("{s:s, s:O, s:s, s:[o], s:s, s:{s:s, s:[s]}}",
					       "architecture", image_host_arch(),
					       "config", config_over ? config_over : json_object(),
					       "created", created, "history", hist, "os", "linux",
					       "rootfs", "type", "layers", "diff_ids", st.diff_id);
	if (!config_over)
		json_decref(json_object_get(cfg, "config")); /* drop the extra ref of the fresh {} */
	_cleanup_free_ char *cj = json_dumps(cfg, JSON_COMPACT);
	_cleanup_json_ json_t *tags = json_array();
	if (tag)
		json_array_append_new(tags, json_string(tag));
	struct layer_stage *lp = &st;
	struct image_new in = {.config = cj, .config_len = cj ? strlen(cj) : 0, .layers = &lp, .nlayers = 1,
			       .tags = tags};
	char ids[1][72];
	int r = cj ? image_commit(s, &in, 1, ids, notes, err) : berr_set(err, ENOMEM, "import");
	if (r == 0)
		memcpy(ret_id, ids[0], 72);
	layer_stage_release(s, &st);
	return r;
}
