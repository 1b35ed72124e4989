#include "cli/cli.h"

#include <archive.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <string.h>

CMD(version)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_help(c);
	if (argc > 1)
		return cli_usage_error(c, "accepts no arguments.");
	printf("berth version %s\n", BERTH_VERSION);
	printf(" Mode:        daemonless\n");
	printf(" Root:        %s\n", c->root);
	printf(" Libraries:   %s, jansson %s, %s\n", archive_version_string(), JANSSON_VERSION,
	       OPENSSL_VERSION_TEXT);
	return 0;
}
