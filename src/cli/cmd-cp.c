#include "cli/ctr.h"
#include "runtime/copy.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

/* Docker's splitCpArg: "CONTAINER:PATH", unless the argument is an
 * absolute path or starts with '.' (./file:with:colons). */
static void split_arg(char *arg, const char **ctr, const char **path)
{
	*ctr = NULL;
	*path = arg;
	if (arg[0] == '/' || arg[0] == '.')
		return;
	char *colon = strchr(arg, ':');
	if (!colon || colon == arg)
		return;
	*colon = 0;
	*ctr = arg;
	*path = colon + 1;
}

CMD(cp)
{
	static const struct option lo[] = {{"archive", no_argument, 0, 'a'}, {"follow-link", no_argument, 0, 'L'},
					   {"quiet", no_argument, 0, 'q'},   {"help", no_argument, 0, 'h'},
					   {0}};
	struct cp_opts co = {.in_fd = 0, .out_fd = 1};
	bool quiet = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aLqh", lo, NULL)) != -1) {
		switch (o) {
		case 'a': co.archive = true; break;
		case 'L': co.follow = true; break;
		case 'q': quiet = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(c, "requires exactly 2 arguments.");
	struct berr *e = NULL;
	const char *srcarg = argv[optind], *dstarg = argv[optind + 1];
	if (!*srcarg || !*dstarg) {
		berr_setc(&e, BERR_INVALID, "%s can not be empty", *srcarg ? "destination" : "source");
		return cli_fail(e);
	}
	char *src = strdup(srcarg), *dst = strdup(dstarg);
	const char *sctr, *spath, *dctr, *dpath;
	split_arg(src, &sctr, &spath);
	split_arg(dst, &dctr, &dpath);
	int rc = 1;
	if (sctr && dctr) {
		berr_setc(&e, BERR_INVALID, "copying between containers is not supported");
		goto fail;
	}
	if (!sctr && !dctr) {
		berr_setc(&e, BERR_INVALID, "must specify at least one container source");
		goto fail;
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		goto out;
	char id[65];
	co.ref = sctr ? sctr : dctr;
	if (ctr_resolve(s, co.ref, id, &e) < 0)
		goto fail;
	struct ctr_fs *f = NULL;
	if (ctr_fs_open(s, id, &f, &e) < 0)
		goto fail;
	uint64_t bytes = 0;
	int r = sctr ? cp_from_container(f, spath, dpath, &co, &bytes, &e) : cp_to_container(f, spath, dpath, &co, &bytes, &e);
	ctr_fs_close(f);
	if (r < 0)
		goto fail;
	/* Docker: progress only on a terminal, never for a tar stream */
	if (!quiet && isatty(2) && strcmp(spath, "-") && strcmp(dpath, "-")) {
		char size[32];
		size_human((double)bytes, size, sizeof(size));
		fprintf(stderr, "Successfully copied %s to %s\n", size, dstarg);
	}
	rc = 0;
	goto out;
fail:
	rc = cli_fail(e);
out:
	free(src);
	free(dst);
	return rc;
}
