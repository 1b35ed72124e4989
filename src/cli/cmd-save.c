#include "cli/cli.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CMD(save)
{
	static const struct option lo[] = {{"output", required_argument, 0, 'o'},
					   {"format", required_argument, 0, 'F'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *output = NULL;
	enum image_save_format fmt = SAVE_DOCKER_ARCHIVE;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (o) {
		case 'o':
			output = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "docker-archive") || !strcmp(optarg, "docker"))
				fmt = SAVE_DOCKER_ARCHIVE;
			else if (!strcmp(optarg, "oci-archive") || !strcmp(optarg, "oci"))
				fmt = SAVE_OCI_ARCHIVE;
			else {
				berr_setc(&e, BERR_INVALID, "--format \"%s\": use docker-archive or oci-archive", optarg);
				return cli_fail(e);
			}
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	int n = argc - optind;
	if (n < 1)
		return cli_usage_error(c, "requires at least 1 argument.");
	if (!output && isatty(1)) {
		berr_setc(&e, BERR_INVALID, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
		return cli_fail(e);
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	/* Hold off garbage collection while we read blobs. */
	if (image_store_gc_lock(s, false, &e) < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	if (!idx)
		return cli_fail(e);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	const char **ids = calloc((size_t)n, sizeof(*ids));
	const char **tags = calloc((size_t)n, sizeof(*tags));
	int rc = 1;
	for (int i = 0; i < n; i++) {
		char *id = NULL, *ref = NULL;
		if (image_store_resolve(idx, argv[optind + i], &id, &ref, &e) < 0) {
			cli_fail(e);
			goto out;
		}
		ids[i] = id;
		tags[i] = ref;
	}
	if (output) {
		_cleanup_free_ char *dcopy = strdup(output);
		_cleanup_free_ char *bcopy = strdup(output);
		const char *dir = dirname(dcopy);
		_cleanup_free_ char *prefix = NULL;
		if (asprintf(&prefix, "%s/.%s.tmp-", dir, basename(bcopy)) < 0)
			goto out;
		tmp = fs_tmp_name(prefix);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			berr_set(&e, errno, "failed to save image: open %s", output);
			cli_fail(e);
			goto out;
		}
	} else {
		fd = dup(1);
	}
	if (image_save(s, idx, ids, tags, (size_t)n, fmt, fd, &e) < 0) {
		if (tmp)
			unlink(tmp);
		cli_fail(e);
		goto out;
	}
	if (tmp && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
		berr_set(&e, errno, "writing %s", output);
		unlink(tmp);
		cli_fail(e);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < n; i++) {
		free((char *)ids[i]);
		free((char *)tags[i]);
	}
	free(ids);
	free(tags);
	return rc;
}
