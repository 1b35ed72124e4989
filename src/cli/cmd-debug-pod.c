/* Hidden test driver of the pod runtime (runtime/pod.h), not in the help:
 *   berth debug pod create FILE.json|-     {"spec": resolved pod spec, "meta": {...}}
 *   berth debug pod sync NS NAME           one step towards running
 *   berth debug pod status NS NAME         the PodStatus JSON
 *   berth debug pod rm NS NAME [--grace N]
 *   berth debug pod ls [NS]                [{"namespace", "name", "meta"}]
 *   berth debug pod id NS NAME [CTR]       the berth container of a pod's container
 * The kube layer (kube play) is the real user of the same calls. */
#include "cli/cli.h"
#include "cli/ctr.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define DEBUG_POD_USAGE                                                                                \
	"Usage: berth debug pod create FILE.json|-\n"                                                  \
	"       berth debug pod sync NS NAME\n"                                                        \
	"       berth debug pod status NS NAME\n"                                                      \
	"       berth debug pod rm NS NAME [--grace N]\n"                                              \
	"       berth debug pod ls [NS]\n"                                                             \
	"       berth debug pod id NS NAME [CONTAINER]\n"

#define POD_FILE_MAX (4u << 20)

static int read_pod_file(const char *path, char **ret, size_t *ret_len, struct berr **err)
{
	if (strcmp(path, "-"))
		return fs_read_file_at(AT_FDCWD, path, POD_FILE_MAX, ret, ret_len, err);
	struct sbuf b = SBUF_INIT;
	char tmp[65536];
	ssize_t n;
	while ((n = fs_read_full(0, tmp, sizeof(tmp))) > 0) {
		if (b.len + (size_t)n > POD_FILE_MAX) {
			sbuf_release(&b);
			return berr_set(err, 0, "standard input is larger than %u bytes", POD_FILE_MAX);
		}
		sbuf_add(&b, tmp, (size_t)n);
	}
	if (n < 0) {
		sbuf_release(&b);
		return berr_set(err, errno, "reading standard input");
	}
	*ret_len = b.len;
	*ret = sbuf_detach(&b);
	return 0;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	if (s)
		printf("%s\n", s);
	free(s);
}

CMD(debug_pod)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(DEBUG_POD_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	const char *sub = argv[1];
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct berr *e = NULL;
	if (!strcmp(sub, "create") && argc == 3) {
		struct image_store *is = cli_store(c);
		if (!is)
			return 1;
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		if (read_pod_file(argv[2], &buf, &len, &e) < 0)
			return cli_fail(e);
		_cleanup_json_ json_t *pod = jsonx_parse(buf, len, !strcmp(argv[2], "-") ? "standard input" : argv[2], &e);
		if (!pod || pod_create(cs, is, pod, &e) < 0)
			return cli_fail(e);
		return 0;
	}
	if (!strcmp(sub, "sync") && argc == 4) {
		struct image_store *is = cli_store(c);
		if (!is)
			return 1;
		if (pod_sync(cs, is, argv[2], argv[3], &e) < 0)
			return cli_fail(e);
		return 0;
	}
	if (!strcmp(sub, "status") && argc == 4) {
		_cleanup_json_ json_t *st = pod_status(cs, argv[2], argv[3]);
		if (!st) {
			fprintf(stderr, "Error: pod %s/%s not found\n", argv[2], argv[3]);
			return 1;
		}
		print_json(st);
		return 0;
	}
	if (!strcmp(sub, "rm") && (argc == 4 || argc == 6)) {
		int grace = -1;
		if (argc == 6) {
			char *end;
			long g = strtol(argv[5], &end, 10);
			if (strcmp(argv[4], "--grace") || *end || end == argv[5] || g < 0 || g > 86400) {
				fprintf(stderr, "berth: invalid --grace \"%s\" (seconds, 0..86400)\n%s", argv[5], DEBUG_POD_USAGE);
				return 1;
			}
			grace = (int)g;
		}
		if (pod_remove(cs, argv[2], argv[3], grace, &e) < 0)
			return cli_fail(e);
		return 0;
	}
	if (!strcmp(sub, "ls") && argc <= 3) {
		_cleanup_json_ json_t *l = pod_list(cs, argc == 3 ? argv[2] : NULL);
		print_json(l);
		return 0;
	}
	if (!strcmp(sub, "id") && (argc == 4 || argc == 5)) {
		char id[65];
		if (pod_container_id(cs, argv[2], argv[3], argc == 5 ? argv[4] : NULL, id, &e) < 0)
			return cli_fail(e);
		printf("%s\n", id);
		return 0;
	}
	fprintf(stderr, "berth: bad debug pod command\n%s", DEBUG_POD_USAGE);
	return 1;
}
