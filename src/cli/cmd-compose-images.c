/* berth compose images: the images of the project's containers, docker
 * compose's columns (CONTAINER REPOSITORY TAG IMAGE ID SIZE). */
#include "cli/compose.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* REPOSITORY and TAG of the name the container was created from; an ID
 * (or a name no longer tagged) shows as <none>. */
static void repo_tag(json_t *idx, const char *name, const char *id, char **repo, char **tag)
{
	struct image_ref r;
	struct berr *e = NULL;
	*repo = NULL;
	*tag = NULL;
	if (name && strncmp(name, "sha256:", 7) && image_ref_parse(name, true, &r, &e) == 0) {
		_cleanup_free_ char *full = image_ref_string(&r);
		image_ref_release(&r);
		const char *cur = jsonx_str(json_object_get(idx, "refs"), full ? full : "");
		if (cur && id && !strcmp(cur, id)) {
			_cleanup_free_ char *fam = image_ref_familiarize(full);
			char *slash = strrchr(fam, '/');
			char *colon = strrchr(slash ? slash : fam, ':');
			if (colon) {
				*repo = strndup(fam, (size_t)(colon - fam));
				*tag = strdup(colon + 1);
			}
		}
	}
	berr_free(e);
	if (!*repo)
		*repo = strdup("<none>");
	if (!*tag)
		*tag = strdup("<none>");
}

COMPOSE_CMD(images)
{
	static const struct option opts[] = {
		{"quiet", no_argument, 0, 'q'}, {"format", required_argument, 0, 'F'}, {0},
	};
	bool quiet = false;
	const char *format = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case 'F':
			if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
				fprintf(stderr, "Error: invalid --format \"%s\": want table or json\n", optarg);
				return 1;
			}
			format = optarg;
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	struct compose_ctrs cs;
	if (compose_cli_ctrs(cc, sel, true, &cs) < 0)
		return 1;
	struct berr *e = NULL;
	_cleanup_json_ json_t *idx = image_store_index_read(cc->e.is, &e);
	if (!idx) {
		compose_ctrs_release(&cs);
		return cli_fail(e);
	}
	_cleanup_json_ json_t *rows = json_array();
	_cleanup_json_ json_t *seen = json_object();
	for (size_t i = 0; i < cs.n; i++) {
		json_t *cfg = cs.v[i].config;
		const char *id = jsonx_str(cfg, "Image");
		const char *name = jsonx_str(json_object_get(cfg, "Config"), "Image");
		if (!id)
			continue;
		if (quiet) {
			/* -q: each image ID once */
			if (!json_object_get(seen, id)) {
				json_object_set_new(seen, id, json_true());
				printf("%s\n", !strncmp(id, "sha256:", 7) ? id + 7 : id);
			}
			continue;
		}
		_cleanup_free_ char *repo = NULL, *tag = NULL;
		repo_tag(idx, name, id, &repo, &tag);
		json_t *rec = json_object_get(json_object_get(idx, "images"), id);
		json_int_t bytes = json_integer_value(json_object_get(rec, "size"));
		char size[32], shortid[13];
		size_human((double)bytes, size, sizeof(size));
		snprintf(shortid, sizeof(shortid), "%.12s", !strncmp(id, "sha256:", 7) ? id + 7 : id);
		if (format && !strcmp(format, "json"))
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "ID", id, "ContainerName",
							      cs.v[i].name, "Repository", repo, "Tag", tag, "Platform",
							      "linux", "Size", bytes));
		else
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s}", "Container", cs.v[i].name,
							      "Repository", repo, "Tag", tag, "ID", shortid, "Size", size));
	}
	compose_ctrs_release(&cs);
	if (quiet)
		return 0;
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
		free(s);
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Container", "CONTAINER", "Repository",
						   "REPOSITORY", "Tag", "TAG", "ID", "IMAGE ID", "Size", "SIZE");
	return cli_print_rows(rows, NULL, "table {{.Container}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}", headers,
			      false);
}
