/* berth compose config: print the normalized project (YAML, or JSON with
 * --format json), or parts of it (--services, --volumes, --profiles,
 * --images, --hash), or only check it (-q). */
#include "cli/compose.h"
#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void print_warnings(const struct compose_project *p)
{
	size_t i;
	json_t *w;
	json_array_foreach(p->warnings, i, w) fprintf(stderr, "WARN[0000] %s\n", json_string_value(w));
}

/* The printed model can be loaded again: a literal '$' is written "$$",
 * as docker compose does. */
static void escape_dollars(json_t *v)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) escape_dollars(x);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) escape_dollars(x);
	} else if (json_is_string(v) && strchr(json_string_value(v), '$')) {
		struct sbuf b = SBUF_INIT;
		for (const char *p = json_string_value(v); *p; p++) {
			if (*p == '$')
				sbuf_addc(&b, '$');
			sbuf_addc(&b, *p);
		}
		json_string_set(v, sbuf_str(&b));
		sbuf_release(&b);
	}
}

int cmd_compose_config(struct compose_cli *cc, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, 0, 'F'},   {"services", no_argument, 0, 'S'},
		{"volumes", no_argument, 0, 'V'},        {"profiles", no_argument, 0, 'P'},
		{"images", no_argument, 0, 'I'},         {"hash", required_argument, 0, 'H'},
		{"quiet", no_argument, 0, 'q'},          {"no-interpolate", no_argument, 0, 'n'},
		{"no-normalize", no_argument, 0, 'N'},   {"output", required_argument, 0, 'o'},
		{"resolve-image-digests", no_argument, 0, 'R'}, {"no-path-resolution", no_argument, 0, 'X'},
		{"no-consistency", no_argument, 0, 'C'}, {"help", no_argument, 0, 'h'},
		{0},
	};
	const char *format = "yaml", *hash = NULL, *output = NULL;
	bool services = false, volumes = false, profiles = false, images = false, quiet = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "qo:h", opts, NULL)) != -1) {
		switch (o) {
		case 'F': format = optarg; break;
		case 'S': services = true; break;
		case 'V': volumes = true; break;
		case 'P': profiles = true; break;
		case 'I': images = true; break;
		case 'H': hash = optarg; break;
		case 'q': quiet = true; break;
		case 'n': cc->o.no_interpolate = true; break;
		case 'N': cc->o.no_normalize = true; break;
		case 'o': output = optarg; break;
		case 'R':
			fprintf(stderr, "Error: --resolve-image-digests needs a registry; not available in this version of berth\n");
			return 1;
		case 'X': cc->o.no_path_resolution = true; break;
		case 'C': cc->o.no_consistency = true; break;
		case 'h':
			printf("\nUsage:  berth compose config [OPTIONS] [SERVICE...]\n\n"
			       "Parse, resolve and render compose file in canonical format\n\n"
			       "Options:\n"
			       "      --format string    Format the output. Values: [yaml | json] (default \"yaml\")\n"
			       "      --hash string      Print the service config hash, one per line (SERVICE,... or \"*\")\n"
			       "      --images           Print the image names, one per line\n"
			       "      --no-consistency   Don't check model consistency - warning: may produce invalid Compose output\n"
			       "      --no-interpolate   Don't interpolate environment variables\n"
			       "      --no-normalize     Don't normalize compose model\n"
			       "      --no-path-resolution  Don't resolve file paths\n"
			       "  -o, --output string    Save to file (default to stdout)\n"
			       "      --profiles         Print the profile names, one per line\n"
			       "  -q, --quiet            Only validate the configuration, don't print anything\n"
			       "      --services         Print the service names, one per line\n"
			       "      --volumes          Print the volume names, one per line\n");
			return 0;
		default:
			return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	if (strcmp(format, "yaml") && strcmp(format, "json")) {
		fprintf(stderr, "Error: unsupported format \"%s\" (yaml or json)\n", format);
		return 1;
	}
	/* --profiles lists every profile, so nothing may be filtered out */
	const char *all[] = {"*"};
	struct compose_opts lo = cc->o;
	if (profiles) {
		lo.profiles = all;
		lo.nprofiles = 1;
	}
	struct berr *e = NULL;
	struct compose_project *p = NULL;
	if (compose_load(&lo, &p, &e) < 0)
		return cli_fail(e);
	print_warnings(p);
	int rc = 0;
	json_t *svcs = json_object_get(p->doc, "services");
	/* SERVICE... restricts the output to those services */
	for (int i = optind + 1; i < argc; i++)
		if (!json_object_get(svcs, argv[i])) {
			fprintf(stderr, "Error: no such service: %s\n", argv[i]);
			compose_project_free(p);
			return 1;
		}
	if (optind + 1 < argc) {
		json_t *keep = json_object();
		for (int i = optind + 1; i < argc; i++)
			json_object_set(keep, argv[i], json_object_get(svcs, argv[i]));
		json_object_set_new(p->doc, "services", keep);
		svcs = keep;
	}
	struct sbuf out = SBUF_INIT;
	const char *name;
	json_t *s;
	if (quiet) {
	} else if (services) {
		json_object_foreach(svcs, name, s) sbuf_addf(&out, "%s\n", name);
	} else if (volumes) {
		json_object_foreach(json_object_get(p->doc, "volumes"), name, s) sbuf_addf(&out, "%s\n", name);
	} else if (profiles) {
		_cleanup_json_ json_t *seen = json_object();
		json_object_foreach(svcs, name, s)
		{
			size_t i;
			json_t *pr;
			json_array_foreach(json_object_get(s, "profiles"), i, pr) if (json_is_string(pr) &&
										  !json_object_get(seen, json_string_value(pr)))
			{
				json_object_set_new(seen, json_string_value(pr), json_true());
				sbuf_addf(&out, "%s\n", json_string_value(pr));
			}
		}
	} else if (images) {
		json_object_foreach(svcs, name, s)
		{
			const char *img = json_string_value(json_object_get(s, "image"));
			if (img)
				sbuf_addf(&out, "%s\n", img);
			else
				sbuf_addf(&out, "%s-%s\n", p->name, name);
		}
	} else if (hash) {
		bool every = !strcmp(hash, "*");
		_cleanup_free_ char *list = strdup(hash);
		char *save = NULL;
		for (char *t = every ? NULL : strtok_r(list, ",", &save); every || t; t = strtok_r(NULL, ",", &save)) {
			if (every) {
				json_object_foreach(svcs, name, s)
				{
					char h[65];
					compose_service_hash(s, h);
					sbuf_addf(&out, "%s %s\n", name, h);
				}
				break;
			}
			json_t *sv = json_object_get(svcs, t);
			if (!sv) {
				fprintf(stderr, "Error: no such service: %s\n", t);
				rc = 1;
				break;
			}
			char h[65];
			compose_service_hash(sv, h);
			sbuf_addf(&out, "%s %s\n", t, h);
		}
	} else if (!strcmp(format, "json")) {
		if (!cc->o.no_interpolate)
			escape_dollars(p->doc);
		char *j = json_dumps(p->doc, JSON_INDENT(2) | JSON_ENCODE_ANY);
		sbuf_adds(&out, j ? j : "");
		sbuf_addc(&out, '\n');
		free(j);
	} else {
		if (!cc->o.no_interpolate)
			escape_dollars(p->doc);
		compose_yaml_emit(p->doc, &out);
	}
	if (rc == 0 && !quiet) {
		if (output) {
			struct berr *we = NULL;
			if (fs_write_atomic_at(AT_FDCWD, output, out.s ? out.s : "", out.len, 0644, false, &we) < 0)
				rc = cli_fail(we);
		} else {
			fwrite(sbuf_str(&out), 1, out.len, stdout);
		}
	}
	sbuf_release(&out);
	compose_project_free(p);
	return rc;
}
