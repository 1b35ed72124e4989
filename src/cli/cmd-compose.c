/* berth compose: global flags into struct compose_opts, then a static
 * table of subcommands (cmd-compose-*.c). Also what the subcommands share:
 * loading the project, progress lines, the multiplexed log follower. */
#include "cli/compose.h"
#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "runtime/logs.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/fs.h"
#include "util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct compose_sub {
	const char *name;
	int (*fn)(struct compose_cli *cc, int argc, char **argv);
	const char *summary;
	bool needs_project;
	bool progress; /* writes progress lines (--progress applies) */
};

static const struct compose_sub subs[] = {
	{"up", cmd_compose_up, "Create and start containers", true, true},
	{"create", cmd_compose_create, "Creates containers for a service", true, true},
	{"down", cmd_compose_down, "Stop and remove containers, networks", true, true},
	{"ps", cmd_compose_ps, "List containers", true, false},
	{"start", cmd_compose_start, "Start services", true, true},
	{"stop", cmd_compose_stop, "Stop services", true, true},
	{"restart", cmd_compose_restart, "Restart service containers", true, true},
	{"kill", cmd_compose_kill, "Force stop service containers", true, true},
	{"rm", cmd_compose_rm, "Removes stopped service containers", true, true},
	{"pause", cmd_compose_pause, "Pause services", true, true},
	{"unpause", cmd_compose_unpause, "Unpause services", true, true},
	{"logs", cmd_compose_logs, "View output from containers", true, false},
	{"exec", cmd_compose_exec, "Execute a command in a running container", true, false},
	{"ls", cmd_compose_ls, "List running compose projects", false, false},
	{"version", cmd_compose_version, "Show the Docker Compose version information", false, false},
	{"config", cmd_compose_config, "Parse, resolve and render compose file in canonical format", false, false},
	{"build", cmd_compose_build, "Build or rebuild services", true, true},
	{"pull", cmd_compose_pull, "Pull service images", true, true},
	{"push", cmd_compose_push, "Push service images", true, true},
	{"run", cmd_compose_run, "Run a one-off command on a service", true, true},
	{"top", cmd_compose_top, "Display the running processes", true, false},
	{"port", cmd_compose_port, "Print the public port for a port binding", true, false},
	{"images", cmd_compose_images, "List images used by the created containers", true, false},
};

static void usage(FILE *out)
{
	fprintf(out, "\nUsage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications\n\n"
		     "Options:\n"
		     "      --ansi string                Control when to print ANSI control characters (\"never\"|\"always\"|\"auto\") (default \"auto\")\n"
		     "      --env-file stringArray       Specify an alternate environment file\n"
		     "  -f, --file stringArray           Compose configuration files\n"
		     "      --profile stringArray        Specify a profile to enable\n"
		     "      --progress string            Set type of progress output (auto, tty, plain, json, quiet)\n"
		     "      --project-directory string   Specify an alternate working directory\n"
		     "  -p, --project-name string        Project name\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		fprintf(out, "  %-10s %s\n", subs[i].name, subs[i].summary);
	fprintf(out, "\nRun 'berth compose COMMAND --help' for more information on a command.\n");
}

int cmd_compose(struct cli *c, int argc, char **argv)
{
	static const struct option gopts[] = {
		{"file", required_argument, 0, 'f'},          {"project-name", required_argument, 0, 'p'},
		{"project-directory", required_argument, 0, 'D'}, {"env-file", required_argument, 0, 'E'},
		{"profile", required_argument, 0, 'P'},       {"ansi", required_argument, 0, 'A'},
		{"progress", required_argument, 0, 'G'},      {"help", no_argument, 0, 'h'},
		{0},
	};
	struct compose_cli cc = {.c = c};
	const char **files = calloc((size_t)argc + 1, sizeof(char *)), **envs = calloc((size_t)argc + 1, sizeof(char *));
	const char **profs = calloc((size_t)argc + 16, sizeof(char *));
	cc.o.files = files;
	cc.o.env_files = envs;
	cc.o.profiles = profs;
	/* as docker compose: the flags, else COMPOSE_ANSI / COMPOSE_PROGRESS */
	const char *ansi = getenv("COMPOSE_ANSI"), *progress = getenv("COMPOSE_PROGRESS");
	int o, rc = 1;
	optind = 0;
	while ((o = getopt_long(argc, argv, "+f:p:h", gopts, NULL)) != -1) {
		switch (o) {
		case 'f': files[cc.o.nfiles++] = optarg; break;
		case 'p': cc.o.project_name = optarg; break;
		case 'D': cc.o.project_dir = optarg; break;
		case 'E': envs[cc.o.nenv_files++] = optarg; break;
		case 'P': profs[cc.o.nprofiles++] = optarg; break;
		case 'A': ansi = optarg; break;
		case 'G': progress = optarg; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: cli_usage_error(c, "got an unknown flag."); goto out;
		}
	}
	if (optind >= argc) {
		usage(stdout);
		rc = 0;
		goto out;
	}
	const struct compose_sub *sub = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (!strcmp(subs[i].name, argv[optind]))
			sub = &subs[i];
	if (!sub) {
		fprintf(stderr, "berth compose: unknown command \"%s\"\nSee 'berth compose --help'.\n", argv[optind]);
		goto out;
	}
	struct berr *e = NULL;
	const char *nc = getenv("NO_COLOR");
	if (compose_ui_resolve(ansi, progress, nc && *nc, isatty(2), isatty(1), &cc.ui, &e) < 0) {
		cli_fail(e);
		goto out;
	}
	/* docker compose's tty writer on a stderr that is no terminal */
	if (cc.ui.not_console && sub->progress)
		compose_cli_warn(&cc, "Terminal is not a POSIX console");
	static char cmdname[64];
	snprintf(cmdname, sizeof(cmdname), "compose %s", sub->name);
	c->cmd = cmdname;
	int sargc = argc - optind;
	char **sargv = argv + optind;
	bool passthrough = !strcmp(sub->name, "run") || !strcmp(sub->name, "exec");
	for (int i = 1; i < sargc; i++) {
		/* run/exec: what follows the service is the container's command */
		if (passthrough && (sargv[i][0] != '-' || !strcmp(sargv[i], "--")))
			break;
		if (!strcmp(sargv[i], "--help") || !strcmp(sargv[i], "-h")) {
			printf("\nUsage:  berth compose %s [OPTIONS] [SERVICE...]\n\n%s\n", sub->name, sub->summary);
			rc = 0;
			goto out;
		}
	}
	if (sub->needs_project && compose_cli_load(&cc) < 0)
		goto out;
	rc = sub->fn(&cc, sargc, sargv);
out:
	compose_cli_release(&cc);
	free(files);
	free(envs);
	free(profs);
	return rc;
}

int compose_cli_load(struct compose_cli *cc)
{
	struct berr *e = NULL;
	if (compose_load(&cc->o, &cc->p, &e) < 0) {
		cli_fail(e);
		return -1;
	}
	for (size_t i = 0; cc->p->warnings && i < json_array_size(cc->p->warnings); i++)
		compose_cli_warn(cc, json_string_value(json_array_get(cc->p->warnings, i)));
	cc->e.p = cc->p;
	cc->e.is = cli_store(cc->c);
	cc->e.cs = cli_ctr_store(cc->c);
	if (!cc->e.is || !cc->e.cs)
		return -1;
	cc->e.root = cc->c->root;
	cc->e.runroot = cc->c->runroot;
	cc->e.ev = (struct compose_events){.progress = compose_cli_progress, .warn = compose_cli_warn, .ud = cc};
	return 0;
}

void compose_cli_release(struct compose_cli *cc)
{
	if (cc->p)
		compose_project_free(cc->p);
	cc->p = NULL;
}

int compose_cli_int_flag(const char *flag, const char *v, int *ret)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < INT_MIN || x > INT_MAX) {
		fprintf(stderr, "Error: invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": %s\n", v,
			flag, v, errno || (*v && !*end) ? "value out of range" : "invalid syntax");
		return -1;
	}
	*ret = (int)x;
	return 0;
}

int compose_cli_bool_flag(const char *flag, const char *v, bool *ret)
{
	if (!v) {
		*ret = true;
		return 0;
	}
	if (compose_parse_bool(v, ret) < 0) {
		fprintf(stderr, "Error: invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\n",
			v, flag, v);
		return -1;
	}
	return 0;
}

int compose_cli_services(struct compose_cli *cc, int argc, char **argv, int from, bool with_deps, json_t **ret)
{
	*ret = NULL;
	if (from >= argc)
		return 0;
	struct berr *e = NULL;
	if (compose_select(json_object_get(cc->p->doc, "services"), argv + from, (size_t)(argc - from), !with_deps, ret,
			   &e) < 0) {
		cli_fail(e);
		return -1;
	}
	return 0;
}

void compose_cli_progress(void *ud, const char *kind, const char *name, const char *status)
{
	struct compose_cli *cc = ud;
	char line[600];
	int n;
	bool done = !strcmp(status, "Created") || !strcmp(status, "Started") || !strcmp(status, "Stopped") ||
		    !strcmp(status, "Removed") || !strcmp(status, "Running") || !strcmp(status, "Recreated") ||
		    !strcmp(status, "Healthy") || !strcmp(status, "Killed") || !strcmp(status, "Paused") ||
		    !strcmp(status, "Unpaused") || !strcmp(status, "Restarted") || !strcmp(status, "Built") ||
		    !strcmp(status, "Pulled") || !strcmp(status, "Pushed") || !strcmp(status, "Skipped");
	bool error = !strcmp(status, "Error");
	switch (cc->ui.progress) {
	case COMPOSE_UI_QUIET:
		return;
	case COMPOSE_UI_JSON: {
		/* docker compose's json progress: one object per event */
		char id[300];
		snprintf(id, sizeof(id), "%s %s", kind, name);
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "id", id, "text", status);
		char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		n = snprintf(line, sizeof(line), "%s\n", txt ? txt : "{}");
		free(txt);
		break;
	}
	case COMPOSE_UI_TTY:
		if (!done && !error)
			return; /* a terminal shows the outcome of each step */
		if (cc->ui.progress_color)
			n = snprintf(line, sizeof(line), " %s %s %s  %s\n", error ? "\033[31m✘\033[0m" : "\033[32m✔\033[0m", kind,
				     name, status);
		else
			n = snprintf(line, sizeof(line), " %s %s %s  %s\n", error ? "✘" : "✔", kind, name, status);
		break;
	default:
		n = snprintf(line, sizeof(line), " %s %s  %s\n", kind, name, status);
		break;
	}
	if (n > 0)
		fs_write_full(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void compose_cli_warn(void *ud, const char *msg)
{
	struct compose_cli *cc = ud;
	if (cc && cc->ui.progress == COMPOSE_UI_JSON) {
		/* docker compose logs in JSON with --progress json */
		struct timespec now;
		char ts[64];
		clock_gettime(CLOCK_REALTIME, &now);
		time_rfc3339(&now, ts, sizeof(ts));
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s}", "level", "warning", "msg", msg, "time", ts);
		char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		fprintf(stderr, "%s\n", txt ? txt : "{}");
		free(txt);
		return;
	}
	fprintf(stderr, "WARN[0000] %s\n", msg);
}

int compose_cli_ctrs(struct compose_cli *cc, json_t *services, bool oneoff, struct compose_ctrs *ret)
{
	struct berr *e = NULL;
	if (compose_select_ctrs(&cc->e, services, oneoff, ret, &e) < 0) {
		cli_fail(e);
		return -1;
	}
	return 0;
}

/* ---- the multiplexed log follower ---- */

struct follower {
	char id[65];
	char prefix[400];
	pid_t pid;
	int fd;
	struct sbuf part;
	bool done;
	bool shown;    /* its lines are printed (else only its exit counts) */
	bool required; /* stop_when_all_exit waits for it */
};

static volatile sig_atomic_t logs_stop;
static void on_stop(int sig)
{
	(void)sig;
	logs_stop++;
}

static bool in_list(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
	return false;
}

static int spawn_follower(struct compose_cli *cc, struct follower *f, const struct compose_logs_opts *o)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		struct logs_opts lo = {.follow = o->follow, .timestamps = o->timestamps, .tail = o->tail,
				       .since = o->since, .until = o->until, .out = p[1], .err = p[1]};
		struct berr *e = NULL;
		_exit(logs_print(cc->e.cs, f->id, &lo, &e) < 0 ? 1 : 0);
	}
	close(p[1]);
	f->pid = pid;
	f->fd = p[0];
	return 0;
}

static void emit(struct follower *f, const char *color, const struct compose_logs_opts *o, const char *line, size_t n)
{
	if (!f->shown)
		return;
	struct sbuf s = SBUF_INIT;
	if (!o->no_prefix) {
		if (color)
			sbuf_addf(&s, "\033[%sm%s\033[0m", color, f->prefix);
		else
			sbuf_adds(&s, f->prefix);
	}
	sbuf_add(&s, line, n);
	fs_write_full(1, s.s, s.len);
	sbuf_release(&s);
}

int compose_cli_logs(struct compose_cli *cc, const struct compose_logs_opts *o)
{
	static const char *const colors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};
	bool color = !o->no_color && cc->ui.color;
	struct follower *fs = NULL;
	size_t nf = 0;
	int width = 0, rc = 0;
	/* the containers to follow: those shown and those waited for */
	_cleanup_json_ json_t *want = NULL;
	if (o->services && o->required) {
		want = json_deep_copy(o->services);
		size_t i;
		json_t *v;
		json_array_foreach(o->required, i, v) if (!in_list(want, json_string_value(v))) json_array_append(want, v);
	}
	json_t *which = want ? want : o->required ? NULL : o->services;
	logs_stop = 0;
	struct sigaction sa = {.sa_handler = on_stop}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	struct timespec last = {0};
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (nf == 0 || (o->follow && (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 >= 500)) {
			last = now;
			struct compose_ctrs cs;
			struct berr *e = NULL;
			if (compose_select_ctrs(&cc->e, which, false, &cs, &e) == 0) {
				for (size_t i = 0; i < cs.n; i++) {
					if (o->index > 0 && cs.v[i].number != o->index)
						continue;
					bool shown = !o->services || in_list(o->services, cs.v[i].service);
					if (!o->follow && !shown)
						continue;
					bool have = false;
					for (size_t j = 0; j < nf; j++)
						have = have || !strcmp(fs[j].id, cs.v[i].id);
					if (have)
						continue;
					/* not started yet: its follower would end at once; take it up
					 * on a later scan, once it runs */
					const char *stt = jsonx_str(cs.v[i].state, "Status");
					if (o->follow && (!stt || !strcmp(stt, "created")))
						continue;
					fs = realloc(fs, (nf + 1) * sizeof(*fs));
					struct follower *f = &fs[nf];
					memset(f, 0, sizeof(*f));
					snprintf(f->id, sizeof(f->id), "%s", cs.v[i].id);
					f->shown = shown;
					f->required = !o->required || in_list(o->required, cs.v[i].service);
					const char *nm = cs.v[i].name;
					size_t pl = strlen(cc->p->name);
					if (!strncmp(nm, cc->p->name, pl) && nm[pl] == '-')
						nm += pl + 1;
					snprintf(f->prefix, sizeof(f->prefix), "%.200s", nm);
					if ((int)strlen(nm) > width)
						width = (int)strlen(nm);
					f->fd = -1;
					if (spawn_follower(cc, f, o) < 0)
						continue;
					if (o->follow)
						nf++;
					else {
						/* one container after the other */
						char tmp[400];
						snprintf(tmp, sizeof(tmp), "%-*.200s  | ", width > 200 ? 200 : width, f->prefix);
						snprintf(f->prefix, sizeof(f->prefix), "%.390s", tmp);
						struct sbuf part = SBUF_INIT;
						char buf[65536];
						ssize_t r;
						while ((r = read(f->fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
							if (r < 0)
								continue;
							sbuf_add(&part, buf, (size_t)r);
							char *nl;
							while ((nl = memchr(part.s, '\n', part.len))) {
								size_t ln = (size_t)(nl - part.s) + 1;
								emit(f, color ? colors[i % ARRAY_SIZE(colors)] : NULL, o, part.s, ln);
								memmove(part.s, part.s + ln, part.len - ln);
								part.len -= ln;
							}
						}
						if (part.len)
							emit(f, color ? colors[i % ARRAY_SIZE(colors)] : NULL, o, part.s, part.len);
						sbuf_release(&part);
						close(f->fd);
						waitpid(f->pid, NULL, 0);
					}
				}
				compose_ctrs_release(&cs);
			} else {
				berr_free(e);
			}
			for (size_t j = 0; j < nf; j++) {
				char tmp[400];
				const char *bar = strstr(fs[j].prefix, "  | ");
				size_t base = bar ? (size_t)(bar - fs[j].prefix) : strlen(fs[j].prefix);
				while (base && fs[j].prefix[base - 1] == ' ')
					base--;
				snprintf(tmp, sizeof(tmp), "%-*.*s  | ", width > 200 ? 200 : width, base > 200 ? 200 : (int)base, fs[j].prefix);
				snprintf(fs[j].prefix, sizeof(fs[j].prefix), "%.390s", tmp);
			}
			if (!o->follow)
				break;
		}
		if (logs_stop)
			break;
		struct pollfd pf[nf + 1];
		size_t nreq = 0, live_req = 0;
		for (size_t j = 0; j < nf; j++) {
			pf[j] = (struct pollfd){.fd = fs[j].done ? -1 : fs[j].fd, .events = POLLIN};
			nreq += fs[j].required;
			live_req += fs[j].required && !fs[j].done;
		}
		if (live_req == 0 && o->stop_when_all_exit && nreq > 0)
			break;
		int r = poll(pf, nf, 250);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t j = 0; j < nf && r > 0; j++) {
			if (!pf[j].revents)
				continue;
			char buf[65536];
			ssize_t got = read(fs[j].fd, buf, sizeof(buf));
			const char *col = color ? colors[j % ARRAY_SIZE(colors)] : NULL;
			if (got > 0) {
				sbuf_add(&fs[j].part, buf, (size_t)got);
				char *nl;
				while (fs[j].part.len && (nl = memchr(fs[j].part.s, '\n', fs[j].part.len))) {
					size_t ln = (size_t)(nl - fs[j].part.s) + 1;
					emit(&fs[j], col, o, fs[j].part.s, ln);
					memmove(fs[j].part.s, fs[j].part.s + ln, fs[j].part.len - ln);
					fs[j].part.len -= ln;
				}
				continue;
			}
			if (got < 0 && errno == EINTR)
				continue;
			if (fs[j].part.len)
				emit(&fs[j], col, o, fs[j].part.s, fs[j].part.len);
			fs[j].part.len = 0;
			fs[j].done = true;
			close(fs[j].fd);
			fs[j].fd = -1;
			waitpid(fs[j].pid, NULL, 0);
			/* the container stopped for good: say how, as docker compose
			 * does (for the containers followed without their output too) */
			_cleanup_json_ json_t *st = ctr_state(cc->e.cs, fs[j].id, NULL);
			int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
			if (o->stop_when_all_exit) {
				char line[256];
				const char *bar = strstr(fs[j].prefix, " ");
				int n = snprintf(line, sizeof(line), "%.*s exited with code %d\n",
						 bar ? (int)(bar - fs[j].prefix) : (int)strlen(fs[j].prefix), fs[j].prefix, code);
				fs_write_full(1, line, (size_t)n);
			}
			if (o->exit_code_from && o->ret_exit_code) {
				_cleanup_json_ json_t *cfg = ctr_config(cc->e.cs, fs[j].id, NULL);
				const char *svc = jsonx_str(json_object_get(json_object_get(cfg, "Config"), "Labels"), CL_SERVICE);
				if (svc && !strcmp(svc, o->exit_code_from))
					*o->ret_exit_code = code;
			}
			if (o->abort_on_exit) {
				if (o->ret_exit_code && !o->exit_code_from)
					*o->ret_exit_code = code;
				logs_stop = 1;
			}
		}
	}
	for (size_t j = 0; j < nf; j++) {
		if (!fs[j].done) {
			kill(fs[j].pid, SIGTERM);
			close(fs[j].fd);
			waitpid(fs[j].pid, NULL, 0);
		}
		sbuf_release(&fs[j].part);
	}
	free(fs);
	sigaction(SIGINT, &old, NULL);
	return rc;
}

COMPOSE_CMD(version)
{
	static const struct option opts[] = {
		{"short", no_argument, 0, 'S'}, {"format", required_argument, 0, 'f'}, {0},
	};
	bool short_ = false, json = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (o) {
		case 'S': short_ = true; break;
		case 'f':
			/* docker compose prints "pretty" for any other word */
			if (strcmp(optarg, "json") && strcmp(optarg, "pretty")) {
				fprintf(stderr, "Error: invalid --format \"%s\": want pretty or json\n", optarg);
				return 1;
			}
			json = !strcmp(optarg, "json");
			break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	if (optind < argc)
		return cli_usage_error(cc->c, "accepts no arguments.");
	if (short_)
		printf("%s\n", COMPOSE_VERSION);
	else if (json)
		printf("{\"version\":\"v%s\"}\n", COMPOSE_VERSION);
	else
		printf("berth compose version v%s (berth %s)\n", COMPOSE_VERSION, BERTH_VERSION);
	return 0;
}
