#include "cli/ctr.h"
#include "runtime/exec.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <getopt.h>
#include <pty.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

CMD(exec)
{
	static const struct option lo[] = {{"detach", no_argument, 0, 'd'},  {"interactive", no_argument, 0, 'i'},
					   {"tty", no_argument, 0, 't'},     {"env", required_argument, 0, 'e'},
					   {"user", required_argument, 0, 'u'}, {"workdir", required_argument, 0, 'w'},
					   {"privileged", no_argument, 0, 'P'}, {"env-file", required_argument, 0, 'E'},
					   {"help", no_argument, 0, 'h'},     {0}};
	bool detach = false, interactive = false, tty = false, privileged = false;
	const char *user = NULL, *wd = NULL;
	/* Docker's order: the --env-file files, then -e (which wins) */
	_cleanup_json_ json_t *envf = json_array(), *enve = json_array();
	struct berr *e = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "+dite:u:w:h", lo, NULL)) != -1) {
		switch (o) {
		case 'd': detach = true; break;
		case 'i': interactive = true; break;
		case 't': tty = true; break;
		case 'e':
			if (strchr(optarg, '='))
				json_array_append_new(enve, json_string(optarg));
			else if (getenv(optarg)) /* KEY alone: our value, as docker exec */
				json_array_append_new(enve, json_sprintf("%s=%s", optarg, getenv(optarg)));
			break;
		case 'u': user = optarg; break;
		case 'w': wd = optarg; break;
		case 'P': privileged = true; break;
		case 'E':
			if (cli_env_file(envf, optarg, &e) < 0)
				return cli_fail(e);
			break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(c, "requires at least 2 arguments.");
	json_array_extend(envf, enve);
	char **env = calloc(json_array_size(envf) + 1, sizeof(char *));
	for (size_t i = 0; i < json_array_size(envf); i++)
		env[i] = (char *)json_string_value(json_array_get(envf, i));
	struct ctr_store *s = cli_ctr_store(c);
	if (!s) {
		free(env);
		return 1;
	}
	char id[65];
	if (ctr_resolve(s, argv[optind], id, &e) < 0) {
		free(env);
		return cli_fail(e);
	}
	_cleanup_json_ json_t *st = ctr_state(s, id, &e);
	_cleanup_json_ json_t *cfg = ctr_config(s, id, &e);
	if (!st || !cfg) {
		free(env);
		return cli_fail(e);
	}
	const char *status = jsonx_str(st, "Status");
	if (status && !strcmp(status, "paused")) {
		fprintf(stderr, "Error: Container %.12s is paused, unpause the container before exec\n", id);
		free(env);
		return 1;
	}
	if (!status || strcmp(status, "running")) {
		fprintf(stderr, "Error: container %.12s is not running\n", id);
		free(env);
		return 1;
	}
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	struct cli_exec x = {.argv = argv + optind + 1, .env = env, .user = user, .workdir = wd,
			     .privileged = privileged, .interactive = interactive, .tty = tty, .detach = detach};
	char msg[1024];
	int code = cli_exec_run(c, id, pid, cfg, &x, msg, sizeof(msg), &e);
	free(env);
	if (code < 0)
		return cli_fail(e);
	if (*msg)
		fprintf(stderr, "berth: %s\n", msg);
	return code;
}

int cli_exec_run(struct cli *c, const char *id, pid_t pid, json_t *cfg, const struct cli_exec *x, char *start_msg,
		 size_t msgn, struct berr **err)
{
	struct plan_proc proc;
	bool interactive = x->interactive, tty = x->tty, detach = x->detach;
	if (msgn)
		*start_msg = 0;
	if (plan_exec_proc(cfg, c->root, x->argv, x->env, x->user, x->workdir, x->privileged, tty, &proc, err) < 0)
		return -1;
	int master = -1, slave = -1;
	int in = interactive ? 0 : -1, out = detach ? -1 : 1, errfd = detach ? -1 : 2;
	struct termios saved;
	bool raw = false;
	if (tty && !detach) {
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		ioctl(1, TIOCGWINSZ, &ws);
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			plan_proc_release(&proc);
			return berr_set(err, errno, "allocating a pty");
		}
		in = out = errfd = slave;
		if (interactive && isatty(0) && tcgetattr(0, &saved) == 0) {
			struct termios t = saved;
			cfmakeraw(&t);
			raw = tcsetattr(0, TCSANOW, &t) == 0;
		}
	}
	pid_t child;
	int efd = -1;
	if (exec_spawn(pid, id, &proc, in, out, errfd, &child, &efd, err) < 0) {
		plan_proc_release(&proc);
		if (raw)
			tcsetattr(0, TCSANOW, &saved);
		if (master >= 0)
			close(master);
		if (slave >= 0)
			close(slave);
		return -1;
	}
	plan_proc_release(&proc);
	if (slave >= 0)
		close(slave);
	if (detach) {
		close(efd);
		return 0;
	}
	/* relay the pty until the process exits */
	if (master >= 0) {
		for (;;) {
			struct pollfd pf[2] = {{.fd = master, .events = POLLIN}, {.fd = interactive ? 0 : -1, .events = POLLIN}};
			int r = poll(pf, 2, -1);
			if (r < 0 && errno == EINTR)
				continue;
			char buf[4096];
			if (pf[0].revents) {
				ssize_t n = read(master, buf, sizeof(buf));
				if (n <= 0)
					break;
				ssize_t w = write(1, buf, (size_t)n);
				(void)w;
			}
			if (pf[1].revents) {
				ssize_t n = read(0, buf, sizeof(buf));
				if (n <= 0)
					interactive = false;
				else if (write(master, buf, (size_t)n) < 0)
					break;
			}
		}
		close(master);
	}
	int wst;
	while (waitpid(child, &wst, 0) < 0 && errno == EINTR)
		;
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	char msg[1024];
	ssize_t n = read(efd, msg, sizeof(msg) - 1);
	close(efd);
	int code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	if (n > 0 && msgn) {
		msg[n] = 0;
		const char *sp = strchr(msg, ' ');
		snprintf(start_msg, msgn, "%s", sp ? sp + 1 : msg);
	}
	return code;
}
