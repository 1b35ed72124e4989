#include "cli/cli.h"
#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

CMD(import)
{
	static const struct option lo[] = {{"change", required_argument, 0, 'c'},
					   {"message", required_argument, 0, 'm'},
					   {"platform", required_argument, 0, 'P'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	_cleanup_json_ json_t *cfg = json_object();
	const char *message = NULL;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "c:m:h", lo, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (image_change_apply(cfg, optarg, &e) < 0)
				return cli_fail(e);
			break;
		case 'm':
			message = optarg;
			break;
		case 'P': {
			char want[64];
			snprintf(want, sizeof(want), "linux/%s", image_host_arch());
			if (strcmp(optarg, want) && strcmp(optarg, image_host_arch())) {
				berr_setc(&e, BERR_INVALID, "--platform \"%s\": only the local platform %s is supported",
					  optarg, want);
				return cli_fail(e);
			}
			break;
		}
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	int nargs = argc - optind;
	if (nargs < 1 || nargs > 2)
		return cli_usage_error(c, "requires at least 1 and at most 2 arguments.");
	const char *src = argv[optind];
	_cleanup_free_ char *tag = NULL;
	if (nargs == 2) {
		struct image_ref r;
		if (image_ref_parse(argv[optind + 1], true, &r, &e) < 0)
			return cli_fail(e);
		bool digest = r.digest != NULL;
		tag = image_ref_string(&r);
		image_ref_release(&r);
		if (digest) {
			berr_setc(&e, BERR_INVALID, "\"%s\": an import target cannot contain a digest", argv[optind + 1]);
			return cli_fail(e);
		}
	}
	if (strstr(src, "://")) {
		berr_setc(&e, BERR_INVALID, "importing from a URL (%s) is not supported yet: download it and import the file", src);
		return cli_fail(e);
	}
	_cleanup_close_ int fd = -1;
	if (!strcmp(src, "-")) {
		fd = dup(0);
	} else {
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			berr_set(&e, errno, "open %s", src);
			return cli_fail(e);
		}
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	char id[72];
	_cleanup_json_ json_t *notes = json_array();
	json_t *over = json_object_size(cfg) ? cfg : NULL;
	if (image_import(s, fd, src, over, message, tag, id, notes, &e) < 0)
		return cli_fail(e);
	size_t i;
	json_t *n;
	json_array_foreach(notes, i, n) fprintf(stderr, "%s\n", json_string_value(n));
	printf("%s\n", id);
	return 0;
}
