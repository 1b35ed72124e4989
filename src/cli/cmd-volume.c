/* berth volume create | ls | inspect | rm | prune */
#include "cli/cli.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void add_kv(json_t *obj, const char *s)
{
	const char *eq = strchr(s, '=');
	char k[256];
	snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - s) : (int)strlen(s), s);
	json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
}

CMD(volume_create)
{
	enum { O_LABEL = 1000 };
	static const struct option lo[] = {{"label", required_argument, 0, O_LABEL}, {"opt", required_argument, 0, 'o'},
					   {"driver", required_argument, 0, 'd'}, {"name", required_argument, 0, 'n'},
					   {"help", no_argument, 0, 'h'}, {0}};
	_cleanup_json_ json_t *labels = json_object();
	const char *name = NULL;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "d:o:h", lo, NULL)) != -1) {
		switch (op) {
		case O_LABEL: add_kv(labels, optarg); break;
		case 'o':
			/* Docker's local driver mounts what type=, device= and o=
			 * say (nfs, tmpfs, a block device) and size= needs a quota;
			 * berth's volumes are plain directories, so a volume made
			 * without them would silently be another thing */
			fprintf(stderr, "Error: --opt %s: berth's local volumes are plain directories; driver options (type, device, o, size) are not supported\n",
				optarg);
			return 1;
		case 'n': name = optarg; break;
		case 'd':
			if (strcmp(optarg, "local")) {
				fprintf(stderr, "Error: volume driver \"%s\" is not supported (only local)\n", optarg);
				return 1;
			}
			break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(c, "requires at most 1 argument.");
	if (argc - optind == 1) {
		if (name && strcmp(name, argv[optind])) {
			fprintf(stderr, "Error: conflicting options: either specify --name or provide positional arg, not both\n");
			return 1;
		}
		name = argv[optind];
	}
	char got[256];
	struct berr *e = NULL;
	if (volume_create(c->root, name, labels, NULL, got, &e) < 0)
		return cli_fail(e);
	printf("%s\n", got);
	return 0;
}

CMD(volume_ls)
{
	static const struct option lo[] = {{"quiet", no_argument, 0, 'q'}, {"format", required_argument, 0, 'F'},
					   {"filter", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool quiet = false;
	const char *format = NULL;
	int dangling = -1;
	_cleanup_json_ json_t *flabels = json_array(), *fnames = json_array();
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "qf:h", lo, NULL)) != -1) {
		switch (op) {
		case 'q': quiet = true; break;
		case 'F': format = optarg; break;
		case 'f':
			if (!strncmp(optarg, "dangling=", 9)) {
				const char *v = optarg + 9;
				dangling = !strcmp(v, "true") || !strcmp(v, "1");
				if (!dangling && strcmp(v, "false") && strcmp(v, "0")) {
					fprintf(stderr, "Error: invalid filter 'dangling=%s'\n", v);
					return 1;
				}
			} else if (!strncmp(optarg, "label=", 6)) {
				json_array_append_new(flabels, json_string(optarg + 6));
			} else if (!strncmp(optarg, "name=", 5)) {
				json_array_append_new(fnames, json_string(optarg + 5));
			} else if (!strcmp(optarg, "driver=local")) {
			} else {
				fprintf(stderr, "Error: invalid filter '%s'\n", optarg);
				return 1;
			}
			break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(c, "accepts no arguments.");
	_cleanup_json_ json_t *all = volume_list(c->root);
	_cleanup_json_ json_t *rows = json_array();
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		const char *name = json_string_value(j);
		_cleanup_json_ json_t *v = volume_inspect(c->root, name, NULL);
		if (!v)
			continue;
		if (dangling >= 0) {
			_cleanup_json_ json_t *u = volume_users(c->root, name);
			if ((json_array_size(u) == 0) != (bool)dangling)
				continue;
		}
		bool keep = true;
		size_t k;
		json_t *f;
		json_array_foreach(flabels, k, f) if (!cli_label_match(json_object_get(v, "Labels"), json_string_value(f))) keep = false;
		if (json_array_size(fnames)) {
			bool any = false;
			json_array_foreach(fnames, k, f) if (strstr(name, json_string_value(f))) any = true;
			keep = keep && any;
		}
		if (!keep)
			continue;
		struct sbuf lb = SBUF_INIT;
		const char *lk;
		json_t *lv;
		json_object_foreach(json_object_get(v, "Labels"), lk, lv)
			sbuf_addf(&lb, "%s%s=%s", lb.len ? "," : "", lk, json_string_value(lv) ?: "");
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "Name", name, "Driver", "local",
						      "Scope", "local", "Mountpoint", jsonx_str(v, "Mountpoint"),
						      "CreatedAt", jsonx_str(v, "CreatedAt"), "Labels", sbuf_str(&lb),
						      "Options", json_object_get(v, "Options")));
		sbuf_release(&lb);
	}
	if (quiet) {
		json_array_foreach(rows, i, j) printf("%s\n", jsonx_str(j, "Name"));
		return 0;
	}
	_cleanup_json_ json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Name", "VOLUME NAME", "Driver",
						   "DRIVER", "Scope", "SCOPE", "Mountpoint", "MOUNTPOINT", "Labels",
						   "LABELS", "CreatedAt", "CREATED AT");
	return cli_print_rows(rows, format, "table {{.Driver}}\t{{.Name}}", headers, false);
}

CMD(volume_inspect)
{
	static const struct option lo[] = {{"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	const char *format = NULL;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "f:h", lo, NULL)) != -1) {
		switch (op) {
		case 'f': format = optarg; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(c, "requires at least 1 argument.");
	struct berr *e = NULL;
	_cleanup_json_ json_t *out = json_array();
	int rc = 0;
	for (int k = optind; k < argc; k++) {
		json_t *o = volume_inspect(c->root, argv[k], &e);
		if (!o) {
			fprintf(stderr, "Error: %s\n", e->msg);
			berr_freep(&e);
			rc = 1;
			continue;
		}
		json_array_append_new(out, o);
	}
	int prc = cli_print_inspect(out, format);
	return rc ? rc : prc;
}

CMD(volume_rm)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false;
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "fh", lo, NULL)) != -1) {
		switch (op) {
		case 'f': force = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(c, "requires at least 1 argument.");
	int rc = 0;
	for (int k = optind; k < argc; k++) {
		struct berr *e = NULL;
		if (volume_remove(c->root, argv[k], &e) < 0) {
			if (!(force && e->code == BERR_NOT_FOUND)) {
				fprintf(stderr, "Error: %s\n", e->msg);
				rc = 1;
			}
			berr_free(e);
			continue;
		}
		printf("%s\n", argv[k]);
	}
	return rc;
}

CMD(volume_prune)
{
	static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"all", no_argument, 0, 'a'},
					   {"filter", required_argument, 0, 'F'}, {"help", no_argument, 0, 'h'}, {0}};
	bool force = false, all = false;
	_cleanup_json_ json_t *flabels = json_array();
	int op;
	optind = 0;
	while ((op = getopt_long(argc, argv, "fah", lo, NULL)) != -1) {
		switch (op) {
		case 'f': force = true; break;
		case 'a': all = true; break;
		case 'F':
			if (!strncmp(optarg, "label=", 6)) {
				json_array_append_new(flabels, json_string(optarg + 6));
			} else if (!strcmp(optarg, "all=true") || !strcmp(optarg, "all=1")) {
				all = true;
			} else {
				fprintf(stderr, "Error: invalid filter '%s'\n", optarg);
				return 1;
			}
			break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (!force) {
		printf(all ? "WARNING! This will remove all local volumes not used by at least one container.\n"
			   : "WARNING! This will remove anonymous local volumes not used by at least one container.\n");
		printf("Are you sure you want to continue? [y/N] ");
		fflush(stdout);
		char ans[16] = {0};
		if (!fgets(ans, sizeof(ans), stdin) || (ans[0] != 'y' && ans[0] != 'Y'))
			return 0;
	}
	_cleanup_json_ json_t *names = volume_list(c->root);
	bool header = false;
	size_t i;
	json_t *j;
	json_array_foreach(names, i, j) {
		const char *name = json_string_value(j);
		_cleanup_json_ json_t *v = volume_inspect(c->root, name, NULL);
		if (!v)
			continue;
		json_t *labels = json_object_get(v, "Labels");
		if (!all && !json_object_get(labels, VOLUME_ANON_LABEL))
			continue;
		bool keep = false;
		size_t k;
		json_t *f;
		json_array_foreach(flabels, k, f) if (!cli_label_match(labels, json_string_value(f))) keep = true;
		if (keep)
			continue;
		struct berr *e = NULL;
		if (volume_remove(c->root, name, &e) < 0) {
			berr_free(e); /* in use: not prunable */
			continue;
		}
		if (!header)
			printf("Deleted Volumes:\n");
		header = true;
		printf("%s\n", name);
	}
	printf("\nTotal reclaimed space: 0B\n");
	return 0;
}
