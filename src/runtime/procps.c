#include "runtime/procps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static ssize_t read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = fs_read_full(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return r;
}

static time_t boot_time(void)
{
	static time_t bt = -1;
	if (bt >= 0)
		return bt;
	char buf[8192];
	bt = 0;
	if (read_small("/proc/stat", buf, sizeof(buf)) > 0) {
		const char *p = strstr(buf, "\nbtime ");
		if (p)
			bt = (time_t)strtoll(p + 7, NULL, 10);
	}
	return bt;
}

static double uptime_s(void)
{
	char buf[128];
	if (read_small("/proc/uptime", buf, sizeof(buf)) <= 0)
		return 0;
	return strtod(buf, NULL);
}

/* procps' dev_to_tty for the usual devices */
static void tty_name(unsigned long tty_nr, char *buf, size_t n)
{
	unsigned maj = major((dev_t)tty_nr), min = minor((dev_t)tty_nr);
	if (tty_nr == 0)
		snprintf(buf, n, "?");
	else if (maj >= 136 && maj <= 143)
		snprintf(buf, n, "pts/%u", (maj - 136) * 256 + min);
	else if (maj == 4 && min < 64)
		snprintf(buf, n, "tty%u", min);
	else if (maj == 4)
		snprintf(buf, n, "ttyS%u", min - 64);
	else if (maj == 5 && min == 1)
		snprintf(buf, n, "console");
	else
		snprintf(buf, n, "?");
}

/* One process as ps -ef prints it; -1 when it is gone. */
static int ef_row(pid_t pid, time_t now, double up, json_t **ret)
{
	char path[64], stat[4096], status[8192];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, stat, sizeof(stat)) <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, status, sizeof(status)) <= 0)
		return -1;
	char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
	if (!lp || !rp || rp[1] != ' ')
		return -1;
	char comm[64];
	snprintf(comm, sizeof(comm), "%.*s", (int)(rp - lp - 1), lp + 1);
	/* fields from 3 (state) on */
	char *f[64] = {0};
	int nf = 0;
	char *save = NULL;
	for (char *t = strtok_r(rp + 2, " ", &save); t && nf < 64; t = strtok_r(NULL, " ", &save))
		f[nf++] = t;
	if (nf < 20)
		return -1;
	char state = f[0][0];
	long ppid = strtol(f[1], NULL, 10);
	unsigned long tty_nr = strtoul(f[4], NULL, 10);
	unsigned long long ticks = strtoull(f[11], NULL, 10) + strtoull(f[12], NULL, 10);
	unsigned long long start = strtoull(f[19], NULL, 10);
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	/* UID: the effective one, as a name where the host knows it */
	unsigned long euid = 0;
	const char *u = strstr(status, "\nUid:");
	if (u) {
		char *end;
		strtoul(u + 5, &end, 10);
		euid = strtoul(end, NULL, 10);
	}
	char user[64];
	struct passwd *pw = getpwuid((uid_t)euid);
	if (pw && strlen(pw->pw_name) <= 8)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else if (pw)
		snprintf(user, sizeof(user), "%.7s+", pw->pw_name);
	else
		snprintf(user, sizeof(user), "%lu", euid);
	/* C: integer %CPU over the process's life, at most 99 */
	unsigned long long life = 0;
	if (up > (double)start / (double)hz)
		life = (unsigned long long)(up - (double)start / (double)hz);
	unsigned long long c = life ? (ticks * 100ULL / (unsigned long long)hz) / life : 0;
	if (c > 99)
		c = 99;
	/* STIME: HH:MM today, MonDD this year, else the year */
	time_t st = boot_time() + (time_t)(start / (unsigned long long)hz);
	struct tm tp, tn;
	localtime_r(&st, &tp);
	localtime_r(&now, &tn);
	char stime[32];
	if (tp.tm_year != tn.tm_year)
		strftime(stime, sizeof(stime), "%Y", &tp);
	else if (tp.tm_yday != tn.tm_yday)
		strftime(stime, sizeof(stime), "%b%d", &tp);
	else
		strftime(stime, sizeof(stime), "%H:%M", &tp);
	char tty[32];
	tty_name(tty_nr, tty, sizeof(tty));
	unsigned long long secs = ticks / (unsigned long long)hz;
	char tm[48];
	if (secs >= 86400)
		snprintf(tm, sizeof(tm), "%llu-%02llu:%02llu:%02llu", secs / 86400, secs / 3600 % 24, secs / 60 % 60,
			 secs % 60);
	else
		snprintf(tm, sizeof(tm), "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
	/* CMD: the arguments, control characters as '?'; [comm] without */
	char cmdline[8192];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t cl = read_small(path, cmdline, sizeof(cmdline));
	struct sbuf cmd = SBUF_INIT;
	if (cl > 0) {
		while (cl > 0 && cmdline[cl - 1] == 0)
			cl--;
		for (ssize_t i = 0; i < cl; i++) {
			unsigned char ch = (unsigned char)cmdline[i];
			sbuf_addc(&cmd, ch == 0 ? ' ' : (ch < 32 || ch == 127) ? '?' : (char)ch);
		}
	}
	if (!cmd.len) {
		sbuf_addf(&cmd, "[%s]", comm);
		if (state == 'Z')
			sbuf_adds(&cmd, " <defunct>");
	}
	char pidb[24], ppidb[24], cb[8];
	snprintf(pidb, sizeof(pidb), "%d", (int)pid);
	snprintf(ppidb, sizeof(ppidb), "%ld", ppid);
	snprintf(cb, sizeof(cb), "%llu", c);
	*ret = json_pack("[s,s,s,s,s,s,s,s]", user, pidb, ppidb, cb, stime, tty, tm, sbuf_str(&cmd));
	sbuf_release(&cmd);
	return *ret ? 0 : -1;
}

int procps_ef(const pid_t *pids, size_t n, json_t **ret_titles, json_t **ret_rows, struct berr **err)
{
	pid_t *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return berr_set(err, ENOMEM, "listing processes");
	memcpy(v, pids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_pid);
	json_t *rows = json_array();
	time_t now = time(NULL);
	double up = uptime_s();
	for (size_t i = 0; i < n; i++) {
		json_t *row;
		if (i && v[i] == v[i - 1])
			continue;
		if (ef_row(v[i], now, up, &row) == 0)
			json_array_append_new(rows, row);
	}
	free(v);
	*ret_titles = json_pack("[s,s,s,s,s,s,s,s]", "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD");
	*ret_rows = rows;
	return 0;
}

/* ---- the host's ps ---- */

/* Run ps with argv; its stdout in *out, the first line of stderr in *errline. */
static int run_ps(char **argv, struct sbuf *out, char *errline, size_t elen, int *status)
{
	int op[2], ep[2];
	if (pipe2(op, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(op[0]);
		close(op[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(op[0]);
		close(op[1]);
		close(ep[0]);
		close(ep[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(null, 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp("ps", argv);
		dprintf(2, "exec: \"ps\": %s\n", errno == ENOENT ? "executable file not found in $PATH" : strerror(errno));
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	struct sbuf eb = SBUF_INIT;
	struct pollfd pf[2] = {{.fd = op[0], .events = POLLIN}, {.fd = ep[0], .events = POLLIN}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char buf[16384];
			ssize_t r = read(pf[i].fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			sbuf_add(i ? &eb : out, buf, (size_t)r);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	const char *e = sbuf_str(&eb);
	snprintf(errline, elen, "%.*s", (int)strcspn(e, "\n"), e);
	sbuf_release(&eb);
	return 0;
}

/* Go's strings.Fields for ASCII white space */
static json_t *fields(const char *line, size_t len)
{
	json_t *a = json_array();
	size_t i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		size_t s = i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		if (i > s)
			json_array_append_new(a, json_stringn(line + s, i - s));
	}
	return a;
}

static json_t *fit_row(json_t *f, size_t ntitles)
{
	json_t *row = json_array();
	size_t nf = json_array_size(f);
	for (size_t i = 0; i + 1 < ntitles && i < nf; i++)
		json_array_append(row, json_array_get(f, i));
	struct sbuf last = SBUF_INIT;
	for (size_t i = ntitles ? ntitles - 1 : 0; i < nf; i++) {
		if (last.len)
			sbuf_addc(&last, ' ');
		sbuf_adds(&last, json_string_value(json_array_get(f, i)));
	}
	json_array_append_new(row, json_string(sbuf_str(&last)));
	sbuf_release(&last);
	return row;
}

int procps_run(char *const *args, size_t nargs, const pid_t *pids, size_t n, json_t **ret_titles,
	       json_t **ret_rows, struct berr **err)
{
	/* Docker refuses to rename the PID column away: "-o pid=PID" style */
	for (size_t i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		if (!eq)
			continue;
		const char *v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		const char *k = args[i];
		if (!strncmp(v, "PID", 3) && (eq - k != 3 || strncmp(k, "pid", 3)))
			return berr_setc(err, BERR_INVALID, "specifying \"%.*s=%s\" is not allowed", (int)(eq - k), k, v);
	}
	char **argv = calloc(nargs + 3, sizeof(char *));
	argv[0] = "ps";
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	struct sbuf q = SBUF_INIT;
	sbuf_adds(&q, "-q");
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&q, "%s%d", i ? "," : "", (int)pids[i]);
	argv[nargs + 1] = n ? (char *)sbuf_str(&q) : NULL;
	struct sbuf out = SBUF_INIT;
	char eline[512] = "";
	int status = 0;
	int r = run_ps(argv, &out, eline, sizeof(eline), &status);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) && n) {
		/* some options (f) do not go with -q */
		argv[nargs + 1] = NULL;
		sbuf_reset(&out);
		r = run_ps(argv, &out, eline, sizeof(eline), &status);
	}
	int e = errno;
	free(argv);
	sbuf_release(&q);
	if (r < 0) {
		sbuf_release(&out);
		return berr_set(err, e, "ps");
	}
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		sbuf_release(&out);
		return berr_set(err, 0, "ps: %s", *eline ? eline : "exit status 1");
	}
	const char *s = sbuf_str(&out);
	size_t ll = strcspn(s, "\n");
	json_t *titles = fields(s, ll);
	ssize_t pidx = -1;
	for (size_t i = 0; i < json_array_size(titles); i++) {
		if (!strcmp(json_string_value(json_array_get(titles, i)), "PID")) {
			pidx = (ssize_t)i;
			break;
		}
	}
	if (pidx < 0) {
		json_decref(titles);
		sbuf_release(&out);
		return berr_set(err, 0, "Couldn't find PID field in ps output");
	}
	json_t *rows = json_array();
	bool prev = false;
	int rc = 0;
	for (const char *p = s[ll] ? s + ll + 1 : s + ll; *p;) {
		size_t len = strcspn(p, "\n");
		_cleanup_json_ json_t *f = fields(p, len);
		p += len + (p[len] ? 1 : 0);
		if (!json_array_size(f))
			continue;
		const char *pv = json_string_value(json_array_get(f, (size_t)pidx));
		if (!pv)
			continue;
		if (!strcmp(pv, "-")) {
			if (prev)
				json_array_append_new(rows, fit_row(f, json_array_size(titles)));
			continue;
		}
		char *end;
		long v = strtol(pv, &end, 10);
		if (*end) {
			rc = berr_set(err, 0, "Unexpected pid '%s'", pv);
			break;
		}
		prev = false;
		for (size_t i = 0; i < n && !prev; i++)
			prev = pids[i] == (pid_t)v;
		if (prev)
			json_array_append_new(rows, fit_row(f, json_array_size(titles)));
	}
	sbuf_release(&out);
	if (rc < 0) {
		json_decref(titles);
		json_decref(rows);
		return -1;
	}
	*ret_titles = titles;
	*ret_rows = rows;
	return 0;
}
