#include "cli/ctr.h"
#include "cli/imgrows.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

struct ctr_store *cli_ctr_store(struct cli *c)
{
	if (c->ctrs)
		return c->ctrs;
	struct berr *e = NULL;
	if (ctr_store_open(c->root, c->runroot, &c->ctrs, &e) < 0) {
		cli_fail(e);
		return NULL;
	}
	return c->ctrs;
}

static void ago(const char *rfc, char *buf, size_t n)
{
	struct timespec ts, now;
	if (!rfc || time_parse_rfc3339(rfc, &ts) < 0) {
		snprintf(buf, n, "?");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	double d = (double)(now.tv_sec - ts.tv_sec) + (double)(now.tv_nsec - ts.tv_nsec) / 1e9;
	time_human_duration(d < 0 ? 0 : d, buf, n);
}

void ctr_status_text(json_t *st, char *buf, size_t n)
{
	const char *s = jsonx_str(st, "Status");
	char d[64];
	if (!s || !strcmp(s, "created")) {
		snprintf(buf, n, "Created");
	} else if (!strcmp(s, "running") || !strcmp(s, "paused")) {
		ago(jsonx_str(st, "StartedAt"), d, sizeof(d));
		const char *h = jsonx_str(json_object_get(st, "Health"), "Status");
		char hs[40] = "";
		if (h && !strcmp(h, "starting"))
			snprintf(hs, sizeof(hs), " (health: starting)");
		else if (h)
			snprintf(hs, sizeof(hs), " (%s)", h);
		snprintf(buf, n, "Up %s%s%s", d, !strcmp(s, "paused") ? " (Paused)" : "", hs);
	} else if (!strcmp(s, "restarting")) {
		ago(jsonx_str(st, "FinishedAt"), d, sizeof(d));
		snprintf(buf, n, "Restarting (%d) %s ago", (int)json_integer_value(json_object_get(st, "ExitCode")), d);
	} else if (!strcmp(s, "exited")) {
		ago(jsonx_str(st, "FinishedAt"), d, sizeof(d));
		snprintf(buf, n, "Exited (%d) %s ago", (int)json_integer_value(json_object_get(st, "ExitCode")), d);
	} else {
		snprintf(buf, n, "%s", s);
	}
}

json_t *ctr_inspect_json(struct ctr_store *s, const char *id, struct berr **err)
{
	_cleanup_json_ json_t *cfg = ctr_config(s, id, err);
	if (!cfg)
		return NULL;
	_cleanup_json_ json_t *st = ctr_state(s, id, err);
	if (!st)
		return NULL;
	const char *status = jsonx_str(st, "Status") ? jsonx_str(st, "Status") : "created";
	json_t *state = json_pack(
		"{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", status, "Running",
		!strcmp(status, "running") || !strcmp(status, "paused"), "Paused", !strcmp(status, "paused"),
		"Restarting", !strcmp(status, "restarting"), "OOMKilled", json_is_true(json_object_get(st, "OOMKilled")),
		"Dead", !strcmp(status, "dead"), "Pid", (int)json_integer_value(json_object_get(st, "Pid")), "ExitCode",
		(int)json_integer_value(json_object_get(st, "ExitCode")), "Error",
		jsonx_str(st, "Error") ? jsonx_str(st, "Error") : "", "StartedAt",
		jsonx_str(st, "StartedAt") ? jsonx_str(st, "StartedAt") : "0001-01-01T00:00:00Z", "FinishedAt",
		jsonx_str(st, "FinishedAt") ? jsonx_str(st, "FinishedAt") : "0001-01-01T00:00:00Z");
	if (json_object_get(st, "Health"))
		json_object_set(state, "Health", json_object_get(st, "Health"));
	/* a pod's container: Kubernetes' started/ready and probe results (runtime/probe.h) */
	if (json_is_object(json_object_get(st, "Kube")))
		json_object_set(state, "Kube", json_object_get(st, "Kube"));
	/* a pod's container: Kubernetes' started/ready and probe results (runtime/probe.h) */
	if (json_is_object(json_object_get(st, "Kube")))
		json_object_set(state, "Kube", json_object_get(st, "Kube"));
	char logpath[4300];
	snprintf(logpath, sizeof(logpath), "%s/containers/%s/%s-json.log", s->root, id, id);
	char hosts[4300], hostname[4300], resolv[4300];
	snprintf(hosts, sizeof(hosts), "%s/containers/%s/hosts", s->root, id);
	snprintf(hostname, sizeof(hostname), "%s/containers/%s/hostname", s->root, id);
	snprintf(resolv, sizeof(resolv), "%s/containers/%s/resolv.conf", s->root, id);
	json_t *mounts = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(json_object_get(cfg, "HostConfig"), "Binds"), i, b) {
		_cleanup_free_ char *x = strdup(json_string_value(b));
		if (x[0] != '/')
			continue; /* a named volume: in MountPoints */
		char *dst = strchr(x, ':');
		if (!dst)
			continue;
		*dst++ = 0;
		char *mode = strchr(dst, ':');
		if (mode)
			*mode++ = 0;
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", x,
							"Destination", dst, "Mode", mode ? mode : "", "RW",
							!(mode && strstr(mode, "ro")), "Propagation", "rprivate"));
	}
	json_array_foreach(json_object_get(cfg, "MountPoints"), i, b) {
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume", "Name",
							jsonx_str(b, "Name") ?: "", "Source", jsonx_str(b, "Source") ?: "",
							"Destination", jsonx_str(b, "Destination") ?: "", "Driver", "local",
							"Mode", jsonx_str(b, "Mode") ?: "", "RW",
							json_is_true(json_object_get(b, "RW")), "Propagation", ""));
	}
	char name[300];
	snprintf(name, sizeof(name), "/%s", jsonx_str(cfg, "Name") ? jsonx_str(cfg, "Name") : "");
	return json_pack("{s:s, s:s, s:O, s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:O, s:o, s:O, s:{s:s}}",
			 "Id", id, "Created", jsonx_str(cfg, "Created") ? jsonx_str(cfg, "Created") : "", "Path",
			 json_object_get(cfg, "Path"), "Args", json_object_get(cfg, "Args"), "State", state, "Image",
			 jsonx_str(cfg, "ImageID") ? jsonx_str(cfg, "ImageID") : "", "ResolvConfPath", resolv,
			 "HostnamePath", hostname, "HostsPath", hosts, "LogPath", logpath, "Name", name, "RestartCount",
			 (int)json_integer_value(json_object_get(st, "RestartCount")), "Driver", "overlay", "HostConfig",
			 json_object_get(cfg, "HostConfig"), "Mounts", mounts, "Config", json_object_get(cfg, "Config"),
			 "NetworkSettings", "SandboxKey", "");
}

int cli_env_file(json_t *env, const char *path, struct berr **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, 16 << 20, &data, &len, err) < 0)
		return berr_wrap(err, "--env-file");
	int lineno = 0;
	char *next = data;
	while (next && *next) {
		char *line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		const char *eq = strchr(p, '=');
		if (eq == p)
			return berr_setc(err, BERR_INVALID, "%s:%d: invalid variable name in \"%s\"", path, lineno, line);
		if (strchr(p, ' ') && (!eq || strchr(p, ' ') < eq))
			return berr_setc(err, BERR_INVALID, "%s:%d: variable \"%s\" contains whitespaces", path, lineno, p);
		if (eq) {
			json_array_append_new(env, json_string(p));
		} else {
			const char *v = getenv(p);
			if (v)
				json_array_append_new(env, json_sprintf("%s=%s", p, v));
		}
	}
	return 0;
}
