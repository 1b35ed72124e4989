#include "cli/cli.h"
#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

CMD(load)
{
	static const struct option lo[] = {{"input", required_argument, 0, 'i'},
					   {"quiet", no_argument, 0, 'q'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *input = NULL;
	bool quiet = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "i:qh", lo, NULL)) != -1) {
		switch (o) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	_cleanup_close_ int fd = -1;
	const char *what = input;
	if (!input || !strcmp(input, "-")) {
		if (isatty(0)) {
			berr_setc(&e, BERR_INVALID, "requested load from stdin, but stdin is a terminal: use -i FILE or redirect");
			return cli_fail(e);
		}
		fd = dup(0);
		what = "stdin";
	} else {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			berr_set(&e, errno, "open %s", input);
			return cli_fail(e);
		}
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *loaded = NULL;
	_cleanup_json_ json_t *notes = json_array();
	if (image_load(s, fd, what, &loaded, notes, &e) < 0)
		return cli_fail(e);
	if (quiet)
		return 0;
	size_t i;
	json_t *n;
	json_array_foreach(notes, i, n) printf("%s\n", json_string_value(n));
	json_array_foreach(loaded, i, n) {
		const char *ref = jsonx_str(n, "ref");
		if (ref) {
			_cleanup_free_ char *fam = image_ref_familiarize(ref);
			printf("Loaded image: %s\n", fam);
		} else {
			printf("Loaded image ID: %s\n", jsonx_str(n, "id"));
		}
	}
	return 0;
}
