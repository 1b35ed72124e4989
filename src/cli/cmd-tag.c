#include "cli/cli.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <string.h>

CMD(tag)
{
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (o == 'h')
			return cli_help(c);
		return cli_usage_error(c, "got an unknown flag.");
	}
	if (argc - optind != 2)
		return cli_usage_error(c, "requires exactly 2 arguments.");
	const char *src = argv[optind], *dst = argv[optind + 1];
	struct berr *e = NULL;
	struct image_ref r;
	if (image_ref_parse(dst, true, &r, &e) < 0)
		return cli_fail(e);
	bool digest = r.digest != NULL;
	_cleanup_free_ char *full = image_ref_string(&r);
	image_ref_release(&r);
	if (digest) {
		berr_setc(&e, BERR_INVALID, "refusing to create a tag with a digest reference: %s", dst);
		return cli_fail(e);
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	_cleanup_close_ int lk = image_store_index_lock(s, &e);
	if (lk < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	_cleanup_free_ char *id = NULL;
	if (!idx || image_store_resolve(idx, src, &id, NULL, &e) < 0)
		return cli_fail(e);
	if (image_store_set_ref(idx, full, id, NULL, &e) < 0 || image_store_index_write(s, idx, &e) < 0)
		return cli_fail(e);
	return 0;
}
