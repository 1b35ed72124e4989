#include "cli/cli.h"
#include "cli/imgrows.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct row {
	json_t *obj;
	time_t created;
	const char *repo, *tag;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	int r = strcmp(x->repo, y->repo);
	return r ? r : strcmp(x->tag, y->tag);
}

/* Split a full "repo:tag" ref key into familiar repo and tag. */
static void split_ref(const char *full, char **repo, char **tag)
{
	_cleanup_free_ char *fam = image_ref_familiarize(full);
	char *slash = strrchr(fam, '/');
	char *colon = strrchr(slash ? slash : fam, ':');
	if (colon) {
		*repo = strndup(fam, (size_t)(colon - fam));
		*tag = strdup(colon + 1);
	} else {
		*repo = strdup(fam);
		*tag = strdup("<none>");
	}
}

CMD(images)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},       {"quiet", no_argument, 0, 'q'},
					   {"digests", no_argument, 0, 'D'},   {"no-trunc", no_argument, 0, 'T'},
					   {"format", required_argument, 0, 'F'}, {"filter", required_argument, 0, 'f'},
					   {"help", no_argument, 0, 'h'},      {0}};
	bool quiet = false, digests = false, notrunc = false, all = false;
	const char *format = NULL;
	int dangling = -1; /* -1: no filter */
	const char *ref_filter = NULL;
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aqf:h", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			all = true; /* also the build cache's intermediate images */
			break;
		case 'q':
			quiet = true;
			break;
		case 'D':
			digests = true;
			break;
		case 'T':
			notrunc = true;
			break;
		case 'F':
			format = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "dangling=true"))
				dangling = 1;
			else if (!strcmp(optarg, "dangling=false"))
				dangling = 0;
			else if (!strncmp(optarg, "reference=", 10))
				ref_filter = optarg + 10;
			else {
				berr_setc(&e, BERR_INVALID, "invalid filter \"%s\" (supported: dangling=true|false, reference=REPO[:TAG])",
					  optarg);
				return cli_fail(e);
			}
			break;
		case 'h':
			return cli_help(c);
		default:
			return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(c, "requires at most 1 argument.");
	if (optind < argc)
		ref_filter = argv[optind];
	_cleanup_free_ char *want_repo = NULL, *want_tag = NULL;
	if (ref_filter) {
		struct image_ref r;
		if (image_ref_parse(ref_filter, false, &r, &e) < 0)
			return cli_fail(e);
		want_repo = image_ref_repo(&r);
		want_tag = r.tag ? strdup(r.tag) : NULL;
		image_ref_release(&r);
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return 1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
	if (!idx)
		return cli_fail(e);

	/* Group refs by image once: O(refs + images). */
	_cleanup_json_ json_t *byid = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(idx, "refs"), k, v) {
		json_t *arr = json_object_get(byid, json_string_value(v));
		if (!arr) {
			arr = json_array();
			json_object_set_new(byid, json_string_value(v), arr);
		}
		json_array_append_new(arr, json_string(k));
	}

	json_t *images = json_object_get(idx, "images");
	size_t cap = json_object_size(images) + json_object_size(json_object_get(idx, "refs")) + 1;
	struct row *rows = calloc(cap, sizeof(*rows));
	size_t nrows = 0;
	const char *id;
	json_t *rec;
	json_object_foreach(images, id, rec) {
		json_t *refs = json_object_get(byid, id);
		bool is_dangling = json_array_size(refs) == 0;
		if (is_dangling && !all && json_is_true(json_object_get(rec, "build_cache")))
			continue;
		if (dangling == 1 && !is_dangling)
			continue;
		if (dangling == 0 && is_dangling)
			continue;
		const char *created = jsonx_str(rec, "created");
		char idbuf[80], since[64], at[64], size[32];
		snprintf(idbuf, sizeof(idbuf), "%s", notrunc ? id : id + 7);
		if (!notrunc)
			idbuf[12] = 0;
		imgrows_since(created, since, sizeof(since));
		imgrows_go_time(created, at, sizeof(at));
		size_human((double)json_integer_value(json_object_get(rec, "size")), size, sizeof(size));
		size_t nr = is_dangling ? 1 : json_array_size(refs);
		for (size_t i = 0; i < nr; i++) {
			char *repo, *tag;
			const char *full = is_dangling ? NULL : json_string_value(json_array_get(refs, i));
			if (full) {
				if (want_repo) {
					size_t wl = strlen(want_repo);
					if (strncmp(full, want_repo, wl) || full[wl] != ':')
						continue;
					if (want_tag && strcmp(full + wl + 1, want_tag))
						continue;
				}
				split_ref(full, &repo, &tag);
			} else {
				if (want_repo)
					continue;
				repo = strdup("<none>");
				tag = strdup("<none>");
			}
			const char *digest = "<none>";
			size_t j;
			json_t *d;
			json_array_foreach(json_object_get(rec, "repo_digests"), j, d) {
				const char *ds = json_string_value(d);
				const char *at_ = strchr(ds, '@');
				if (full && at_ && !strncmp(full, ds, (size_t)(at_ - ds)))
					digest = at_ + 1;
			}
			json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
						"Containers", "N/A", "CreatedAt", at, "CreatedSince", since,
						"Digest", digest, "ID", idbuf, "Repository", repo, "SharedSize", "N/A",
						"Size", size, "Tag", tag, "UniqueSize", "N/A", "VirtualSize", size);
			rows[nrows++] = (struct row){obj, imgrows_time(created), json_string_value(json_object_get(obj, "Repository")),
						     json_string_value(json_object_get(obj, "Tag"))};
			free(repo);
			free(tag);
		}
	}
	qsort(rows, nrows, sizeof(*rows), row_cmp);
	_cleanup_json_ json_t *arr = json_array();
	for (size_t i = 0; i < nrows; i++)
		json_array_append_new(arr, rows[i].obj);
	free(rows);
	if (quiet) {
		size_t i;
		json_t *r;
		json_array_foreach(arr, i, r) printf("%s\n", jsonx_str(r, "ID"));
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY",
						   "Tag", "TAG", "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince",
						   "CREATED", "CreatedAt", "CREATED AT", "Size", "SIZE");
	const char *def = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
				  : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	return cli_print_rows(arr, format, def, headers, false);
}
