#include "cli/ctr.h"
#include "runtime/attach.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum { O_DETACHKEYS = 1000 };

CMD(start)
{
	static const struct option lo[] = {{"attach", no_argument, 0, 'a'}, {"interactive", no_argument, 0, 'i'},
					   {"detach-keys", required_argument, 0, O_DETACHKEYS},
					   {"help", no_argument, 0, 'h'}, {0}};
	bool attach = false, interactive = false;
	const char *keys = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "aih", lo, NULL)) != -1) {
		switch (o) {
		case 'a': attach = true; break;
		case 'i': interactive = true; break;
		case O_DETACHKEYS: keys = optarg; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "requires at least 1 argument.");
	if ((attach || interactive) && argc - optind > 1) {
		fprintf(stderr, "Error: you cannot start and attach multiple containers at once\n");
		return 1;
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	if (keys) {
		unsigned char kb[ATT_MAX_KEYS];
		size_t nk;
		struct berr *e = NULL;
		if (att_parse_keys(keys, kb, &nk, &e) < 0)
			return cli_fail(e);
	}
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		char id[65];
		struct berr *e = NULL;
		if (ctr_resolve(s, argv[i], id, &e) < 0) {
			rc = cli_fail(e);
			continue;
		}
		/* as docker start: -i attaches stdin, and the output with it */
		bool att = attach || interactive;
		struct monitor_attach a = {.attach = att, .in = interactive ? 0 : -1, .out = 1, .err = 2, .detach_keys = keys};
		struct termios saved;
		bool raw = false;
		if (att && interactive && isatty(0)) {
			_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
			if (json_is_true(json_object_get(json_object_get(cfg, "Config"), "Tty")) && tcgetattr(0, &saved) == 0) {
				struct termios t = saved;
				cfmakeraw(&t);
				raw = tcsetattr(0, TCSANOW, &t) == 0;
			}
		}
		int sfd = -1, code = 0;
		int r = ctr_start(s, id, &a, att ? &sfd : NULL, &code, &e);
		if (r < 0) {
			if (raw)
				tcsetattr(0, TCSANOW, &saved);
			fprintf(stderr, "Error: failed to start container %s: %s\n", argv[i], e->msg);
			berr_free(e);
			rc = 1;
			continue;
		}
		if (att && r == 1) {
			/* already running: docker start -a attaches to it */
			if (raw)
				tcsetattr(0, TCSANOW, &saved);
			struct cli_attach_opts ao = {.no_stdin = !interactive, .sig_proxy = true, .detach_keys = keys,
						     .quiet_detach = true};
			return cli_attach(s, id, &ao);
		}
		if (att) {
			int ec = sfd < 0 ? 0 : ctr_wait_status(sfd);
			if (sfd >= 0)
				close(sfd);
			if (raw)
				tcsetattr(0, TCSANOW, &saved);
			if (ec == CTR_DETACHED)
				return 0; /* the detach keys: it runs on */
			return ec < 0 ? 1 : ec;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}
