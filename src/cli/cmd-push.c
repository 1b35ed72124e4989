#include "cli/cli.h"
#include "image/reference.h"
#include "registry/registry.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

CMD(push)
{
	enum { O_DCT = 256 };
	static const struct option lo[] = {{"all-tags", no_argument, 0, 'a'},
					   {"quiet", no_argument, 0, 'q'},
					   {"disable-content-trust", optional_argument, 0, O_DCT},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	bool quiet = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aqh", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			fprintf(stderr, "berth: push --all-tags is not supported yet: push one tag at a time\n");
			return 1;
		case 'q': quiet = true; break;
		case O_DCT: {
			int r = cli_content_trust_flag(optarg);
			if (r)
				return r;
			break;
		}
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(c, "requires exactly 1 argument.");
	const char *name = argv[optind];
	struct berr *e = NULL;
	struct image_ref r;
	if (image_ref_parse(name, true, &r, &e) < 0)
		return cli_fail(e);
	_cleanup_free_ char *repo = image_ref_repo(&r);
	_cleanup_free_ char *fam = image_ref_familiar_repo(&r);
	_cleanup_free_ char *tag = r.tag ? strdup(r.tag) : NULL;
	_cleanup_free_ char *full = image_ref_string(&r);
	image_ref_release(&r);
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	if (!quiet)
		printf("The push refers to repository [%s]\n", repo);
	fflush(stdout);
	_cleanup_free_ struct cli_progress *v = cli_progress_new(stdout, true, quiet);
	struct reg_opts ro = {0};
	if (v)
		cli_progress_opts(v, &ro);
	char digest[72];
	uint64_t size = 0;
	if (reg_push(s, name, &ro, digest, &size, &e) < 0)
		return cli_fail(e);
	if (quiet)
		printf("%s\n", full);
	else
		printf("%s: digest: %s size: %llu\n", tag ? tag : "latest", digest, (unsigned long long)size);
	return 0;
}
