/* berth system prune [-a] [-f] [--volumes]: stopped containers, unused
 * networks (after the crash-recovery sweep of what killed berth processes
 * left on the host), anonymous volumes no container uses (--volumes),
 * dangling images (-a: every image no container uses) and the build cache,
 * in Docker's order and output shape. */
#include "builder/build.h"
#include "cli/cli.h"
#include "cli/ctr.h"
#include "net/network.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void section(const char *title, json_t *lines)
{
	if (!json_array_size(lines))
		return;
	printf("%s:\n", title);
	size_t i;
	json_t *v;
	json_array_foreach(lines, i, v)
		printf("%s\n", json_string_value(v));
	printf("\n");
}

static uint64_t prune_containers(struct cli *c, json_t *out)
{
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 0;
	uint64_t freed = 0;
	_cleanup_json_ json_t *ids = ctr_list(s);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		_cleanup_json_ json_t *st = ctr_state(s, id, NULL);
		if (!st || ctr_is_running(st))
			continue;
		char sub[100];
		snprintf(sub, sizeof(sub), "%s/upper", id);
		unsigned long long n = 0;
		fs_tree_size_at(s->ctrsfd, sub, &n);
		if (ctr_rm(s, id, false, NULL) == 0) {
			json_array_append_new(out, json_string(id));
			freed += n;
		}
	}
	return freed;
}

static uint64_t prune_volumes(struct cli *c, json_t *out)
{
	uint64_t freed = 0;
	_cleanup_json_ json_t *names = volume_list(c->root);
	size_t i;
	json_t *j;
	json_array_foreach(names, i, j) {
		const char *name = json_string_value(j);
		_cleanup_json_ json_t *v = volume_inspect(c->root, name, NULL);
		if (!v || !json_object_get(json_object_get(v, "Labels"), VOLUME_ANON_LABEL))
			continue;
		unsigned long long n = 0;
		const char *mp = jsonx_str(v, "Mountpoint");
		if (mp)
			fs_tree_size_at(AT_FDCWD, mp, &n);
		struct berr *e = NULL;
		if (volume_remove(c->root, name, &e) < 0) {
			berr_free(e); /* in use */
			continue;
		}
		json_array_append_new(out, json_string(name));
		freed += n;
	}
	return freed;
}

CMD(system_prune)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},     {"force", no_argument, 0, 'f'},
					   {"volumes", no_argument, 0, 'V'}, {"filter", required_argument, 0, 'F'},
					   {"help", no_argument, 0, 'h'},    {0}};
	bool all = false, force = false, volumes = false;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "afh", lo, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'f': force = true; break;
		case 'V': volumes = true; break;
		case 'F':
			berr_setc(&e, BERR_INVALID, "--filter is not supported by berth system prune yet");
			return cli_fail(e);
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "accepts no arguments.");
	if (!force) {
		printf("WARNING! This will remove:\n"
		       "  - all stopped containers\n"
		       "  - all networks not used by at least one container\n");
		if (volumes)
			printf("  - all anonymous volumes not used by at least one container\n");
		printf(all ? "  - all images without at least one container associated to them\n  - all build cache\n"
			   : "  - all dangling images\n  - all dangling build cache\n");
		printf("\nAre you sure you want to continue? [y/N] ");
		fflush(stdout);
		char ans[16] = "";
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y'))
			return 0;
	}
	uint64_t total = 0;
	_cleanup_json_ json_t *ctrs = json_array(), *nets = json_array(), *vols = json_array(),
			      *imgs = json_array();
	total += prune_containers(c, ctrs);
	/* what killed berth processes left (endpoints, veths, rules, leases,
	 * bridges of networks or stores that are gone), then the networks */
	if (net_sweep(c->root, c->runroot, &e) < 0 || net_prune(c->root, c->runroot, nets, &e) < 0)
		return cli_fail(e);
	if (volumes)
		total += prune_volumes(c, vols);
	struct image_store *is = cli_store(c);
	if (!is)
		return 1;
	uint64_t freed = 0;
	if (cli_prune_images(is, all, imgs, &freed, &e) < 0)
		return cli_fail(e);
	total += freed;
	size_t ncache = 0;
	freed = 0;
	if (build_cache_prune(is, all, &ncache, &freed, &e) < 0)
		return cli_fail(e);
	total += freed;
	section("Deleted Containers", ctrs);
	section("Deleted Networks", nets);
	section("Deleted Volumes", vols);
	section("Deleted Images", imgs);
	if (ncache)
		printf("Deleted build cache objects: %zu\n\n", ncache);
	char hs[32];
	size_human((double)total, hs, sizeof(hs));
	printf("Total reclaimed space: %s\n", hs);
	return 0;
}
