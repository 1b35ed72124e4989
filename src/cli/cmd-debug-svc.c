/* Hidden commands that drive src/net/svc.h for tests:
 *   berth debug svc-sync NETWORK FILE.json|-    net_svc_sync; prints the services
 *                                               with clusterIP / nodePort filled in
 *   berth debug svc-check NETWORK FILE.json|-   net_svc_check (changes nothing)
 *   berth debug svc-rm NETWORK                  net_svc_remove_all
 * Not in the main help list. */
#include "cli/cli.h"
#include "net/network.h"
#include "net/svc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define SVC_FILE_MAX (16u << 20)

static int load_services(const char *path, json_t **ret, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (!strcmp(path, "-")) {
		struct sbuf b = SBUF_INIT;
		char tmp[65536];
		ssize_t n;
		while ((n = fs_read_full(0, tmp, sizeof(tmp))) > 0) {
			if (b.len + (size_t)n > SVC_FILE_MAX) {
				sbuf_release(&b);
				return berr_setc(err, BERR_INVALID, "standard input is larger than %u bytes", SVC_FILE_MAX);
			}
			sbuf_add(&b, tmp, (size_t)n);
		}
		if (n < 0) {
			sbuf_release(&b);
			return berr_set(err, errno, "reading standard input");
		}
		len = b.len;
		buf = sbuf_detach(&b);
	} else if (fs_read_file_at(AT_FDCWD, path, SVC_FILE_MAX, &buf, &len, err) < 0) {
		return -1;
	}
	json_t *j = jsonx_parse(buf ? buf : "", len, !strcmp(path, "-") ? "standard input" : path, err);
	if (!j)
		return -1;
	*ret = j;
	return 0;
}

static int svc_cmd(struct cli *c, int argc, char **argv, bool check)
{
	if (argc != 3) {
		fprintf(stderr, "Usage: berth debug %s NETWORK FILE.json|-\n", check ? "svc-check" : "svc-sync");
		return 1;
	}
	struct berr *err = NULL;
	_cleanup_json_ json_t *svcs = NULL;
	if (load_services(argv[2], &svcs, &err) < 0)
		return cli_fail(err);
	if ((check ? net_svc_check : net_svc_sync)(c->root, c->runroot, argv[1], svcs, &err) < 0)
		return cli_fail(err);
	if (!check) {
		_cleanup_free_ char *s = json_dumps(svcs, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
	}
	return 0;
}

CMD(debug_svc_sync)
{
	return svc_cmd(c, argc, argv, false);
}

CMD(debug_svc_check)
{
	return svc_cmd(c, argc, argv, true);
}

CMD(debug_svc_rm)
{
	if (argc != 2) {
		fputs("Usage: berth debug svc-rm NETWORK\n", stderr);
		return 1;
	}
	struct net n;
	struct berr *err = NULL;
	if (net_load(c->root, argv[1], &n, &err) < 0)
		return cli_fail(err);
	net_release(&n);
	net_svc_remove_all(c->root, c->runroot, argv[1]);
	return 0;
}
