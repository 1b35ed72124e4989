/* berth build / berth image build */
#include "builder/build.h"
#include "cli/cli.h"
#include "cli/ctr.h"
#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void on_interrupt(int sig)
{
	(void)sig;
	build_interrupted = 1;
}

CMD(build)
{
	enum { O_BUILD_ARG = 256, O_TARGET, O_NO_CACHE, O_LABEL, O_NETWORK, O_PROGRESS, O_IIDFILE, O_PLATFORM, O_PULL, O_RM,
	       O_FORCE_RM };
	static const struct option lo[] = {{"tag", required_argument, 0, 't'},
					   {"file", required_argument, 0, 'f'},
					   {"build-arg", required_argument, 0, O_BUILD_ARG},
					   {"target", required_argument, 0, O_TARGET},
					   {"no-cache", no_argument, 0, O_NO_CACHE},
					   {"label", required_argument, 0, O_LABEL},
					   {"network", required_argument, 0, O_NETWORK},
					   {"quiet", no_argument, 0, 'q'},
					   {"progress", required_argument, 0, O_PROGRESS},
					   {"iidfile", required_argument, 0, O_IIDFILE},
					   {"platform", required_argument, 0, O_PLATFORM},
					   {"pull", no_argument, 0, O_PULL},
					   {"rm", optional_argument, 0, O_RM},
					   {"force-rm", optional_argument, 0, O_FORCE_RM},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct build_opts bo = {.network = "default", .progress = BUILD_PROGRESS_PLAIN, .out = stderr};
	_cleanup_json_ json_t *tags = json_array();
	_cleanup_json_ json_t *labels = json_object();
	const char **bargs = calloc((size_t)argc + 1, sizeof(char *));
	const char **tagv = calloc((size_t)argc + 1, sizeof(char *));
	const char *progress = "auto", *iidfile = NULL;
	bool quiet = false;
	struct berr *e = NULL;
	int rc = 1;
	if (!bargs || !tagv)
		goto out;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "t:f:qh", lo, NULL)) != -1) {
		switch (o) {
		case 't': {
			struct image_ref r;
			if (image_ref_parse(optarg, true, &r, &e) < 0) {
				berr_wrap(&e, "invalid argument \"%s\" for \"-t, --tag\" flag", optarg);
				rc = cli_fail(e);
				goto out;
			}
			bool digest = r.digest != NULL;
			char *full = image_ref_string(&r);
			image_ref_release(&r);
			if (digest) {
				free(full);
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"-t, --tag\" flag: a tag cannot contain a digest", optarg);
				rc = cli_fail(e);
				goto out;
			}
			json_array_append_new(tags, json_string(full));
			free(full);
			break;
		}
		case 'f': bo.dockerfile = optarg; break;
		case O_BUILD_ARG: bargs[bo.nbuild_args++] = optarg; break;
		case O_TARGET: bo.target = optarg; break;
		case O_NO_CACHE: bo.no_cache = true; break;
		case O_LABEL: {
			const char *eq = strchr(optarg, '=');
			_cleanup_free_ char *k = eq ? strndup(optarg, (size_t)(eq - optarg)) : strdup(optarg);
			json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
			break;
		}
		case O_NETWORK:
			if (strcmp(optarg, "default") && strcmp(optarg, "none") && strcmp(optarg, "host") && strcmp(optarg, "bridge")) {
				berr_setc(&e, BERR_INVALID, "invalid --network \"%s\": want default, bridge, none or host", optarg);
				rc = cli_fail(e);
				goto out;
			}
			bo.network = !strcmp(optarg, "bridge") ? "default" : optarg;
			break;
		case 'q': quiet = true; break;
		case O_PROGRESS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "plain") && strcmp(optarg, "tty") && strcmp(optarg, "quiet")) {
				berr_setc(&e, BERR_INVALID, "invalid --progress \"%s\": want auto, plain, tty or quiet", optarg);
				rc = cli_fail(e);
				goto out;
			}
			progress = optarg;
			break;
		case O_IIDFILE: iidfile = optarg; break;
		case O_PLATFORM: {
			char want[64];
			snprintf(want, sizeof(want), "linux/%s", image_host_arch());
			if (strcmp(optarg, want) && strcmp(optarg, image_host_arch())) {
				berr_setc(&e, BERR_INVALID, "--platform \"%s\": only the local platform %s can be built", optarg, want);
				rc = cli_fail(e);
				goto out;
			}
			break;
		}
		case O_PULL:
			berr_setc(&e, BERR_INVALID, "--pull needs the registry client, which is not in this version of berth yet");
			rc = cli_fail(e);
			goto out;
		case O_RM:
		case O_FORCE_RM: {
			/* No-ops in Docker too: its builder (buildx/BuildKit) takes
			 * --rm and --force-rm as hidden bool flags and ignores them,
			 * and berth, like BuildKit, never leaves a RUN container
			 * behind, failed or not. Only the value is checked. */
			bool b;
			if (optarg && str_parse_gobool(optarg, &b) < 0) {
				rc = cli_usage_error(c, "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
						     optarg, o == O_RM ? "rm" : "force-rm", optarg);
				goto out;
			}
			break;
		}
		case 'h': rc = cli_help(c); goto out;
		default: rc = cli_usage_error(c, "got an unknown flag."); goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error(c, "requires exactly 1 argument.");
		goto out;
	}
	bo.context = argv[optind];
	bo.build_args = bargs;
	for (size_t i = 0; i < json_array_size(tags); i++)
		tagv[i] = json_string_value(json_array_get(tags, i));
	bo.tags = tagv;
	bo.ntags = json_array_size(tags);
	bo.labels = labels;
	if (quiet || !strcmp(progress, "quiet"))
		bo.progress = BUILD_PROGRESS_QUIET;
	else if (!strcmp(progress, "tty") || (!strcmp(progress, "auto") && isatty(2)))
		bo.progress = BUILD_PROGRESS_TTY;
	if (iidfile)
		unlink(iidfile);
	struct image_store *is = cli_store(c);
	struct ctr_store *cs = cli_ctr_store(c);
	if (!is || !cs)
		goto out;
	struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	char id[72];
	int r = build_run(is, cs, &bo, id, &e);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r < 0) {
		fprintf(stderr, "ERROR: %s\n", e ? e->msg : "build failed");
		berr_free(e);
		rc = 1;
		goto out;
	}
	if (iidfile && fs_write_atomic_at(AT_FDCWD, iidfile, id, strlen(id), 0644, false, &e) < 0) {
		rc = cli_fail(e);
		goto out;
	}
	if (quiet)
		printf("%s\n", id);
	rc = 0;
out:
	free(bargs);
	free(tagv);
	return rc;
}
