/* berth run / berth create: Docker's flags into a create request, then
 * (run) start it, attached or detached. */
#include "cli/cli.h"
#include "util/timefmt.h"
#include "net/network.h"
#include "net/ports.h"
#include <sys/socket.h>
#include "cli/ctr.h"
#include "runtime/attach.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/lifecycle.h"
#include "runtime/logs.h"
#include "runtime/plan.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

enum {
	O_RM = 1000, O_NAME, O_ENVFILE, O_ENTRYPOINT, O_RESTART, O_STOPSIG, O_STOPTIMEOUT, O_NETWORK,
	O_HCMD, O_HINT, O_HTIMEOUT, O_HRETRIES, O_HSTART, O_HSTARTINT, O_NOHC, O_CAPADD, O_CAPDROP,
	O_PRIV, O_SECOPT, O_RO, O_TMPFS, O_ULIMIT, O_SYSCTL, O_SHM, O_INIT, O_MEMSWAP, O_CPUS, O_PIDS,
	O_CPUSET, O_LOGOPT, O_LOGDRIVER, O_GROUPADD, O_EXPOSE, O_PULL, O_PLATFORM, O_DOMAIN, O_SIGPROXY,
	O_PUBLISH_ALL, O_MOUNT, O_NETALIAS, O_IP, O_DNS, O_DETACHKEYS, O_HELP, O_ADDHOST,
};

static const struct option run_opts[] = {
	{"detach", no_argument, 0, 'd'},
	{"rm", no_argument, 0, O_RM},
	{"name", required_argument, 0, O_NAME},
	{"env", required_argument, 0, 'e'},
	{"env-file", required_argument, 0, O_ENVFILE},
	{"workdir", required_argument, 0, 'w'},
	{"user", required_argument, 0, 'u'},
	{"entrypoint", required_argument, 0, O_ENTRYPOINT},
	{"hostname", required_argument, 0, 'h'},
	{"domainname", required_argument, 0, O_DOMAIN},
	{"label", required_argument, 0, 'l'},
	{"interactive", no_argument, 0, 'i'},
	{"tty", no_argument, 0, 't'},
	{"restart", required_argument, 0, O_RESTART},
	{"stop-signal", required_argument, 0, O_STOPSIG},
	{"stop-timeout", required_argument, 0, O_STOPTIMEOUT},
	{"network", required_argument, 0, O_NETWORK},
	{"net", required_argument, 0, O_NETWORK},
	{"network-alias", required_argument, 0, O_NETALIAS},
	{"net-alias", required_argument, 0, O_NETALIAS},
	{"ip", required_argument, 0, O_IP},
	{"dns", required_argument, 0, O_DNS},
	{"add-host", required_argument, 0, O_ADDHOST},
	{"health-cmd", required_argument, 0, O_HCMD},
	{"health-interval", required_argument, 0, O_HINT},
	{"health-timeout", required_argument, 0, O_HTIMEOUT},
	{"health-retries", required_argument, 0, O_HRETRIES},
	{"health-start-period", required_argument, 0, O_HSTART},
	{"health-start-interval", required_argument, 0, O_HSTARTINT},
	{"no-healthcheck", no_argument, 0, O_NOHC},
	{"cap-add", required_argument, 0, O_CAPADD},
	{"cap-drop", required_argument, 0, O_CAPDROP},
	{"privileged", no_argument, 0, O_PRIV},
	{"security-opt", required_argument, 0, O_SECOPT},
	{"read-only", no_argument, 0, O_RO},
	{"tmpfs", required_argument, 0, O_TMPFS},
	{"volume", required_argument, 0, 'v'},
	{"mount", required_argument, 0, O_MOUNT},
	{"ulimit", required_argument, 0, O_ULIMIT},
	{"sysctl", required_argument, 0, O_SYSCTL},
	{"shm-size", required_argument, 0, O_SHM},
	{"init", no_argument, 0, O_INIT},
	{"memory", required_argument, 0, 'm'},
	{"memory-swap", required_argument, 0, O_MEMSWAP},
	{"cpus", required_argument, 0, O_CPUS},
	{"cpu-shares", required_argument, 0, 'c'},
	{"pids-limit", required_argument, 0, O_PIDS},
	{"cpuset-cpus", required_argument, 0, O_CPUSET},
	{"log-opt", required_argument, 0, O_LOGOPT},
	{"log-driver", required_argument, 0, O_LOGDRIVER},
	{"group-add", required_argument, 0, O_GROUPADD},
	{"expose", required_argument, 0, O_EXPOSE},
	{"publish", required_argument, 0, 'p'},
	{"publish-all", no_argument, 0, 'P'},
	{"pull", required_argument, 0, O_PULL},
	{"platform", required_argument, 0, O_PLATFORM},
	{"sig-proxy", optional_argument, 0, O_SIGPROXY},
	{"attach", required_argument, 0, 'a'},
	{"detach-keys", required_argument, 0, O_DETACHKEYS},
	{"help", no_argument, 0, O_HELP},
	{0},
};

struct runflags {
	bool detach, rm, interactive, tty, sig_proxy;
	unsigned attach; /* -a: 1 stdin, 2 stdout, 4 stderr; 0: Docker's default */
	const char *name;
	const char *detach_keys;
	const char *pull, *platform; /* --pull, --platform */
};

static int duration_ns(const char *flag, const char *v, json_int_t *ret, struct berr **err)
{
	int64_t ns;
	if (!*v)
		return berr_setc(err, BERR_INVALID, "invalid argument \"%s\" for \"%s\" flag: empty duration", v, flag);
	if (time_parse_duration(v, false, &ns) < 0)
		return berr_setc(err, BERR_INVALID,
				 "invalid argument \"%s\" for \"%s\" flag: time: invalid duration \"%s\"", v, flag, v);
	*ret = (json_int_t)ns;
	return 0;
}

static int add_env(json_t *env, const char *kv)
{
	if (strchr(kv, '=')) {
		json_array_append_new(env, json_string(kv));
	} else {
		const char *v = getenv(kv);
		if (v)
			json_array_append_new(env, json_sprintf("%s=%s", kv, v));
	}
	return 0;
}

static int parse_bind(json_t *binds, json_t *req, const char *spec, struct berr **err)
{
	_cleanup_free_ char *s = strdup(spec);
	char *parts[4] = {0};
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
		parts[n++] = t;
	if (n == 1 && parts[0][0] == '/') {
		/* anonymous volume: Docker records it in Config.Volumes */
		json_t *vols = json_object_get(req, "Volumes");
		if (!vols)
			json_object_set_new(req, "Volumes", vols = json_object());
		json_object_set_new(vols, parts[0], json_object());
		return 0;
	}
	if (n >= 2 && n <= 3 && parts[0][0] != '/' && parts[0][0] != '.') {
		if (!volume_name_valid(parts[0]))
			return berr_setc(err, BERR_INVALID,
					 "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
					 parts[0], parts[0]);
		if (parts[1][0] != '/')
			return berr_setc(err, BERR_INVALID, "invalid volume specification: '%s': mount path must be absolute", spec);
		const char *vmode = n == 3 ? parts[2] : "z";
		if (n == 3) {
			_cleanup_free_ char *vm = strdup(vmode);
			char *vs = NULL;
			for (char *t = strtok_r(vm, ",", &vs); t; t = strtok_r(NULL, ",", &vs))
				if (strcmp(t, "ro") && strcmp(t, "rw") && strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "nocopy"))
					return berr_setc(err, BERR_INVALID, "invalid mode: %s", vmode);
		}
		json_array_append_new(binds, json_sprintf("%s:%s:%s", parts[0], parts[1], vmode));
		return 0;
	}
	if (n < 2 || n > 3)
		return berr_setc(err, BERR_INVALID, "invalid volume specification: '%s'", spec);
	if (parts[1][0] != '/')
		return berr_setc(err, BERR_INVALID, "invalid volume specification: '%s': mount path must be absolute", spec);
	char src[4096];
	if (!realpath(parts[0], src))
		return berr_setc(err, BERR_INVALID, "invalid mount config for type \"bind\": bind source path does not exist: %s",
				 parts[0]);
	const char *mode = n == 3 ? parts[2] : "rw";
	_cleanup_free_ char *m = strdup(mode);
	save = NULL;
	for (char *t = strtok_r(m, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "ro") && strcmp(t, "rw") && strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "rprivate") &&
		    strcmp(t, "private") && strcmp(t, "rslave") && strcmp(t, "slave") && strcmp(t, "shared") &&
		    strcmp(t, "rshared") && strcmp(t, "nocopy"))
			return berr_setc(err, BERR_INVALID, "invalid mode: %s", mode);
	}
	json_array_append_new(binds, json_sprintf("%s:%s:%s", src, parts[1], mode));
	return 0;
}

static int parse_mount(json_t *binds, json_t *tmpfs, json_t *hc, const char *spec, struct berr **err)
{
	_cleanup_free_ char *s = strdup(spec);
	const char *type = "volume", *src = NULL, *dst = NULL, *tsize = NULL, *tmode = NULL;
	bool ro = false, nocopy = false;
	char *save = NULL;
	for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		char *val = eq ? eq + 1 : NULL;
		if (eq)
			*eq = 0;
		if (!strcmp(kv, "type") && val)
			type = val;
		else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && val)
			src = val;
		else if ((!strcmp(kv, "destination") || !strcmp(kv, "dst") || !strcmp(kv, "target")) && val)
			dst = val;
		else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
			ro = !val || !strcmp(val, "true") || !strcmp(val, "1");
		else if (!strcmp(kv, "tmpfs-size") && val)
			tsize = val;
		else if (!strcmp(kv, "tmpfs-mode") && val)
			tmode = val;
		else if (!strcmp(kv, "volume-nocopy"))
			nocopy = !val || !strcmp(val, "true") || !strcmp(val, "1");
		else if (!strcmp(kv, "bind-propagation") || !strcmp(kv, "consistency") || !strcmp(kv, "volume-driver"))
			;
		else
			return berr_setc(err, BERR_INVALID, "invalid field '%s' must be a key=value pair in --mount %s", kv, spec);
	}
	if (!dst)
		return berr_setc(err, BERR_INVALID, "--mount %s: target is required", spec);
	if (dst[0] != '/')
		return berr_setc(err, BERR_INVALID, "--mount %s: target must be an absolute path", spec);
	if (!strcmp(type, "bind")) {
		if (!src)
			return berr_setc(err, BERR_INVALID, "--mount %s: source is required", spec);
		char real[4096];
		if (!realpath(src, real))
			return berr_setc(err, BERR_INVALID, "invalid mount config for type \"bind\": bind source path does not exist: %s",
					 src);
		json_array_append_new(binds, json_sprintf("%s:%s:%s", real, dst, ro ? "ro" : "rw"));
		return 0;
	}
	if (!strcmp(type, "tmpfs")) {
		struct sbuf o = SBUF_INIT;
		if (tsize)
			sbuf_addf(&o, "size=%s", tsize);
		if (tmode)
			sbuf_addf(&o, "%smode=%s", o.len ? "," : "", tmode);
		json_object_set_new(tmpfs, dst, json_string(sbuf_str(&o)));
		sbuf_release(&o);
		return 0;
	}
	if (!strcmp(type, "volume")) {
		if (src && *src && !volume_name_valid(src))
			return berr_setc(err, BERR_INVALID,
					 "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
					 src, src);
		json_t *mounts = json_object_get(hc, "Mounts");
		if (!mounts)
			json_object_set_new(hc, "Mounts", mounts = json_array());
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b, s:{s:b}}", "Type", "volume", "Source",
							src ? src : "", "Target", dst, "ReadOnly", ro, "VolumeOptions",
							"NoCopy", nocopy));
		return 0;
	}
	return berr_setc(err, BERR_INVALID, "--mount type=%s is not supported yet (bind, volume and tmpfs are)", type);
}

/* Parse run/create flags into a create request. Returns the index of the
 * image argument, or -1 after printing an error. */
static int parse(struct cli *c, int argc, char **argv, bool is_run, json_t *req, struct runflags *f)
{
	json_t *env = json_array(), *labels = json_object(), *hc = json_object(), *binds = json_array();
	json_t *tmpfs = json_object(), *capadd = json_array(), *capdrop = json_array(), *secopt = json_array();
	json_t *ulimits = json_array(), *sysctls = json_object(), *logopts = json_object(), *groups = json_array();
	json_t *health = json_object(), *expose = json_object();
	json_object_set_new(req, "Env", env);
	json_object_set_new(req, "Labels", labels);
	json_object_set_new(req, "HostConfig", hc);
	json_object_set_new(hc, "Binds", binds);
	json_object_set_new(hc, "Tmpfs", tmpfs);
	json_object_set_new(hc, "CapAdd", capadd);
	json_object_set_new(hc, "CapDrop", capdrop);
	json_object_set_new(hc, "SecurityOpt", secopt);
	json_object_set_new(hc, "Ulimits", ulimits);
	json_object_set_new(hc, "Sysctls", sysctls);
	json_object_set_new(hc, "GroupAdd", groups);
	json_object_set_new(hc, "LogConfig", json_pack("{s:s, s:o}", "Type", "json-file", "Config", logopts));
	f->sig_proxy = true;
	struct berr *e = NULL;
	/* Docker reads the --env-file files first, then the -e flags win */
	_cleanup_json_ json_t *envf = json_array();
	bool nohc = false;
	int64_t cpu_period = 100000;
	int o;
	optind = 0;
	/* "+": options end at the image name; the rest is the command */
	while ((o = getopt_long(argc, argv, "+de:w:u:h:l:itv:m:c:p:Pa:", run_opts, NULL)) != -1) {
		int64_t n = 0;
		json_int_t d = 0;
		switch (o) {
		case 'd': f->detach = true; break;
		case O_RM: f->rm = true; break;
		case O_NAME: f->name = optarg; break;
		case 'e': add_env(env, optarg); break;
		case O_ENVFILE:
			if (cli_env_file(envf, optarg, &e) < 0)
				goto fail;
			break;
		case 'w':
			if (optarg[0] != '/') {
				berr_setc(&e, BERR_INVALID, "the working directory '%s' is invalid, it needs to be an absolute path", optarg);
				goto fail;
			}
			json_object_set_new(req, "WorkingDir", json_string(optarg));
			break;
		case 'u': json_object_set_new(req, "User", json_string(optarg)); break;
		case O_ENTRYPOINT:
			json_object_set_new(req, "Entrypoint", *optarg ? json_pack("[s]", optarg) : json_array());
			break;
		case 'h': json_object_set_new(req, "Hostname", json_string(optarg)); break;
		case O_DOMAIN: json_object_set_new(req, "Domainname", json_string(optarg)); break;
		case 'l': {
			const char *eq = strchr(optarg, '=');
			_cleanup_free_ char *k = eq ? strndup(optarg, (size_t)(eq - optarg)) : strdup(optarg);
			json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
			break;
		}
		case 'i': f->interactive = true; json_object_set_new(req, "OpenStdin", json_true()); break;
		case 't': f->tty = true; json_object_set_new(req, "Tty", json_true()); break;
		case O_RESTART: {
			_cleanup_free_ char *pol = strdup(optarg);
			char *colon = strchr(pol, ':');
			int max = 0;
			if (colon) {
				*colon = 0;
				char *end;
				long v = strtol(colon + 1, &end, 10);
				if (*end || v < 0 || strcmp(pol, "on-failure")) {
					berr_setc(&e, BERR_INVALID, "invalid restart policy format: %s", optarg);
					goto fail;
				}
				max = (int)v;
			}
			if (strcmp(pol, "no") && strcmp(pol, "always") && strcmp(pol, "on-failure") && strcmp(pol, "unless-stopped")) {
				berr_setc(&e, BERR_INVALID, "invalid restart policy: %s (use no, always, on-failure[:N] or unless-stopped)", optarg);
				goto fail;
			}
			json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", pol, "MaximumRetryCount", max));
			break;
		}
		case O_STOPSIG: {
			int sig;
			if (signal_parse(optarg, &sig, &e) < 0)
				goto fail;
			json_object_set_new(req, "StopSignal", json_string(optarg));
			break;
		}
		case O_STOPTIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--stop-timeout\" flag", optarg);
				goto fail;
			}
			json_object_set_new(req, "StopTimeout", json_integer(v));
			break;
		}
		case O_NETWORK:
			json_object_set_new(hc, "NetworkMode", json_string(optarg));
			break;
		case O_NETALIAS: {
			json_t *al = json_object_get(hc, "NetworkAliases");
			if (!al)
				json_object_set_new(hc, "NetworkAliases", al = json_array());
			json_array_append_new(al, json_string(optarg));
			break;
		}
		case O_IP: {
			struct ipam_addr ia;
			if (ipam_addr_parse(optarg, &ia, &e) < 0 || ia.family != AF_INET) {
				berr_freep(&e);
				berr_setc(&e, BERR_INVALID, "invalid IPv4 address: %s", optarg);
				goto fail;
			}
			json_object_set_new(hc, "IPv4Address", json_string(optarg));
			break;
		}
		case O_ADDHOST: {
			/* HOST:IP or HOST=IP; IP may be host-gateway (resolved below) */
			const char *sep = strpbrk(optarg, "=:");
			struct ipam_addr ia;
			if (!sep || sep == optarg ||
			    (strcmp(sep + 1, "host-gateway") && ipam_addr_parse(sep + 1, &ia, &e) < 0)) {
				berr_freep(&e);
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--add-host\" flag: want HOST:IP", optarg);
				goto fail;
			}
			json_t *eh = json_object_get(hc, "ExtraHosts");
			if (!eh)
				json_object_set_new(hc, "ExtraHosts", eh = json_array());
			json_array_append_new(eh, json_sprintf("%.*s:%s", (int)(sep - optarg), optarg, sep + 1));
			break;
		}
		case O_DNS: {
			struct ipam_addr ia;
			if (ipam_addr_parse(optarg, &ia, &e) < 0) {
				berr_freep(&e);
				berr_setc(&e, BERR_INVALID, "%s is not an ip address", optarg);
				goto fail;
			}
			json_t *dl = json_object_get(hc, "Dns");
			if (!dl)
				json_object_set_new(hc, "Dns", dl = json_array());
			json_array_append_new(dl, json_string(optarg));
			break;
		}
		case O_HCMD: json_object_set_new(health, "Test", json_pack("[s, s]", "CMD-SHELL", optarg)); break;
		case O_HINT: case O_HTIMEOUT: case O_HSTART: case O_HSTARTINT: {
			const char *flag = o == O_HINT ? "--health-interval" : o == O_HTIMEOUT ? "--health-timeout"
					   : o == O_HSTART ? "--health-start-period" : "--health-start-interval";
			if (duration_ns(flag, optarg, &d, &e) < 0)
				goto fail;
			json_object_set_new(health, o == O_HINT ? "Interval" : o == O_HTIMEOUT ? "Timeout"
						    : o == O_HSTART ? "StartPeriod" : "StartInterval", json_integer(d));
			break;
		}
		case O_HRETRIES: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--health-retries\" flag", optarg);
				goto fail;
			}
			json_object_set_new(health, "Retries", json_integer(v));
			break;
		}
		case O_NOHC: nohc = true; break;
		case O_CAPADD: case O_CAPDROP: {
			uint64_t m;
			if (caps_parse(optarg, &m, &e) < 0)
				goto fail;
			json_array_append_new(o == O_CAPADD ? capadd : capdrop, json_string(optarg));
			break;
		}
		case O_PRIV: json_object_set_new(hc, "Privileged", json_true()); break;
		case O_SECOPT: json_array_append_new(secopt, json_string(optarg)); break;
		case O_RO: json_object_set_new(hc, "ReadonlyRootfs", json_true()); break;
		case O_TMPFS: {
			_cleanup_free_ char *t = strdup(optarg);
			char *colon = strchr(t, ':');
			if (colon)
				*colon++ = 0;
			if (t[0] != '/') {
				berr_setc(&e, BERR_INVALID, "invalid mount config for type \"tmpfs\": mount path must be absolute: %s", t);
				goto fail;
			}
			json_object_set_new(tmpfs, t, json_string(colon ? colon : ""));
			break;
		}
		case 'v':
			if (parse_bind(binds, req, optarg, &e) < 0)
				goto fail;
			break;
		case O_MOUNT:
			if (parse_mount(binds, tmpfs, hc, optarg, &e) < 0)
				goto fail;
			break;
		case O_ULIMIT: {
			json_t *u;
			if (plan_parse_ulimit(optarg, &u, &e) < 0)
				goto fail;
			json_array_append_new(ulimits, u);
			break;
		}
		case O_SYSCTL: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--sysctl\" flag: sysctl '%s' is not allowed", optarg, optarg);
				goto fail;
			}
			_cleanup_free_ char *k = strndup(optarg, (size_t)(eq - optarg));
			bool ns_ok = !strncmp(k, "net.", 4) || !strncmp(k, "fs.mqueue.", 10) || !strcmp(k, "kernel.msgmax") ||
				     !strcmp(k, "kernel.msgmnb") || !strcmp(k, "kernel.msgmni") || !strcmp(k, "kernel.sem") ||
				     !strcmp(k, "kernel.shmall") || !strcmp(k, "kernel.shmmax") || !strcmp(k, "kernel.shmmni") ||
				     !strcmp(k, "kernel.shm_rmid_forced") || !strcmp(k, "kernel.domainname");
			if (!ns_ok) {
				berr_setc(&e, BERR_INVALID, "sysctl '%s' is not allowed (not namespaced)", k);
				goto fail;
			}
			json_object_set_new(sysctls, k, json_string(eq + 1));
			break;
		}
		case O_SHM:
			if (cgroup_parse_size(optarg, &n, &e) < 0 || n <= 0) {
				if (!e)
					berr_setc(&e, BERR_INVALID, "invalid --shm-size %s", optarg);
				goto fail;
			}
			json_object_set_new(hc, "ShmSize", json_integer(n));
			break;
		case O_INIT: json_object_set_new(hc, "Init", json_true()); break;
		case 'm':
			if (cgroup_parse_size(optarg, &n, &e) < 0)
				goto fail;
			if (n < 6 * 1024 * 1024) {
				berr_setc(&e, BERR_INVALID, "Minimum memory limit allowed is 6MB (got %s)", optarg);
				goto fail;
			}
			json_object_set_new(hc, "Memory", json_integer(n));
			break;
		case O_MEMSWAP:
			if (!strcmp(optarg, "-1"))
				n = -1;
			else if (cgroup_parse_size(optarg, &n, &e) < 0)
				goto fail;
			json_object_set_new(hc, "MemorySwap", json_integer(n));
			break;
		case O_CPUS: {
			int64_t q;
			if (cgroup_parse_cpus(optarg, cpu_period, &q, &e) < 0)
				goto fail;
			json_object_set_new(hc, "CpuQuota", json_integer(q));
			json_object_set_new(hc, "CpuPeriod", json_integer(cpu_period));
			json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(strtod(optarg, NULL) * 1e9)));
			break;
		}
		case 'c': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"-c, --cpu-shares\" flag", optarg);
				goto fail;
			}
			json_object_set_new(hc, "CpuShares", json_integer(v));
			break;
		}
		case O_PIDS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--pids-limit\" flag", optarg);
				goto fail;
			}
			json_object_set_new(hc, "PidsLimit", json_integer(v <= 0 ? -1 : v));
			break;
		}
		case O_CPUSET: json_object_set_new(hc, "CpusetCpus", json_string(optarg)); break;
		case O_LOGOPT: {
			const char *eq = strchr(optarg, '=');
			if (!eq) {
				berr_setc(&e, BERR_INVALID, "invalid key value pair format in log options: %s", optarg);
				goto fail;
			}
			_cleanup_free_ char *k = strndup(optarg, (size_t)(eq - optarg));
			if (strcmp(k, "max-size") && strcmp(k, "max-file") && strcmp(k, "compress") && strcmp(k, "labels") &&
			    strcmp(k, "labels-regex") && strcmp(k, "env") && strcmp(k, "env-regex") && strcmp(k, "tag")) {
				berr_setc(&e, BERR_INVALID, "unknown log opt '%s' for json-file log driver", k);
				goto fail;
			}
			if (!strcmp(k, "max-size") && cgroup_parse_size(eq + 1, &n, &e) < 0)
				goto fail;
			if (!strcmp(k, "compress")) {
				bool z;
				if (str_parse_gobool(eq + 1, &z) < 0) {
					berr_setc(&e, BERR_INVALID, "invalid value for log opt compress: \"%s\" (want true or false)", eq + 1);
					goto fail;
				}
				/* the logs read back the same, only the disk use differs */
				if (z)
					cli_flag_noop(c, "--log-opt compress=true", "rotated log files are kept uncompressed");
			}
			json_object_set_new(logopts, k, json_string(eq + 1));
			break;
		}
		case O_LOGDRIVER:
			if (strcmp(optarg, "json-file") && strcmp(optarg, "local")) {
				berr_setc(&e, BERR_INVALID, "--log-driver %s: only json-file is supported", optarg);
				goto fail;
			}
			/* local differs from json-file only on disk: logs reads both
			 * the same (local's default rotation is not applied) */
			if (!strcmp(optarg, "local"))
				cli_flag_noop(c, "--log-driver local", "the log is kept in the json-file format, without local's default rotation");
			break;
		case O_GROUPADD: json_array_append_new(groups, json_string(optarg)); break;
		case O_EXPOSE: {
			_cleanup_free_ char *p = strdup(optarg);
			char *slash = strchr(p, '/');
			const char *proto = slash ? slash + 1 : "tcp";
			if (slash)
				*slash = 0;
			char *end;
			long port = strtol(p, &end, 10);
			if (*end || port < 1 || port > 65535) {
				berr_setc(&e, BERR_INVALID, "invalid range format for --expose: %s", optarg);
				goto fail;
			}
			char key[40];
			snprintf(key, sizeof(key), "%ld/%s", port, proto);
			json_object_set_new(expose, key, json_object());
			break;
		}
		case 'p': {
			json_t *pb = json_object_get(hc, "PortBindings");
			if (!pb)
				json_object_set_new(hc, "PortBindings", pb = json_object());
			if (ports_parse(optarg, pb, expose, &e) < 0)
				goto fail;
			break;
		}
		case 'P': json_object_set_new(hc, "PublishAllPorts", json_true()); break;
		case O_PULL:
			if (strcmp(optarg, "never") && strcmp(optarg, "missing") && strcmp(optarg, "always")) {
				berr_setc(&e, BERR_INVALID, "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", optarg);
				goto fail;
			}
			f->pull = optarg;
			break;
		case O_PLATFORM:
			f->platform = optarg;
			break;
		case O_SIGPROXY: /* a Go bool flag: --sig-proxy, --sig-proxy=false */
			if (optarg && str_parse_gobool(optarg, &f->sig_proxy) < 0) {
				berr_setc(&e, BERR_INVALID, "invalid argument \"%s\" for \"--sig-proxy\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
					  optarg, optarg);
				goto fail;
			}
			if (!optarg)
				f->sig_proxy = true;
			break;
		case 'a': {
			static const char *const streams[] = {"stdin", "stdout", "stderr"};
			unsigned bit = 0;
			for (unsigned i = 0; i < 3; i++)
				if (!strcasecmp(optarg, streams[i]))
					bit = 1u << i;
			if (!bit) {
				berr_setc(&e, BERR_INVALID,
					  "invalid argument \"%s\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", optarg);
				goto fail;
			}
			f->attach |= bit;
			break;
		}
		case O_DETACHKEYS: {
			unsigned char keys[ATT_MAX_KEYS];
			size_t nk;
			if (att_parse_keys(optarg, keys, &nk, &e) < 0)
				goto fail;
			f->detach_keys = optarg;
			break;
		}
		case O_HELP:
			cli_help(c);
			return -2;
		default:
			cli_usage_error(c, "got an unknown flag.");
			return -1;
		}
	}
	if (logs_config_check(logopts, &e) < 0)
		goto fail;
	json_array_extend(envf, env);
	json_array_clear(env);
	json_array_extend(env, envf);
	if (nohc)
		json_object_set_new(req, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
	else if (json_object_size(health))
		json_object_set(req, "Healthcheck", health);
	json_decref(health);
	if (json_object_size(expose))
		json_object_set(req, "ExposedPorts", expose);
	json_decref(expose);
	if (optind >= argc) {
		cli_usage_error(c, "requires at least 1 argument.");
		return -1;
	}
	if (f->rm && json_object_get(hc, "RestartPolicy") &&
	    strcmp(jsonx_str(json_object_get(hc, "RestartPolicy"), "Name"), "no")) {
		berr_setc(&e, BERR_INVALID, "conflicting options: cannot specify both --restart and --rm");
		goto fail;
	}
	/* with the host's network and UTS namespaces these would change the
	 * host's settings (runc refuses them the same way) */
	if (!jsonx_str(hc, "NetworkMode")) /* Docker's default: the bridge network */
		json_object_set_new(hc, "NetworkMode", json_string("default"));
	const char *netmode = jsonx_str(hc, "NetworkMode");
	if (net_mode_is_network(netmode)) {
		struct net nw;
		if (net_load(c->root, !strcmp(netmode, "default") ? NET_DEFAULT_NAME : netmode, &nw, &e) < 0)
			goto fail;
		bool dflt = nw.is_default;
		/* --add-host NAME:host-gateway: the network's gateway, the host's side */
		size_t hi;
		json_t *hv;
		json_array_foreach(json_object_get(hc, "ExtraHosts"), hi, hv) {
			const char *s = json_string_value(hv);
			const char *colon = strchr(s, ':');
			if (!strcmp(colon + 1, "host-gateway"))
				json_array_set_new(json_object_get(hc, "ExtraHosts"), hi,
						   json_sprintf("%.*s:%s", (int)(colon - s), s, nw.gateway));
		}
		net_release(&nw);
		if (dflt && json_object_get(hc, "NetworkAliases")) {
			berr_setc(&e, BERR_INVALID, "network-scoped alias is supported only for containers in user defined networks");
			goto fail;
		}
	} else if (json_object_get(hc, "NetworkAliases") || json_object_get(hc, "IPv4Address")) {
		berr_setc(&e, BERR_INVALID, "--network-alias and --ip need a bridge network (--network)");
		goto fail;
	} else if (json_object_get(hc, "ExtraHosts")) {
		size_t hi;
		json_t *hv;
		json_array_foreach(json_object_get(hc, "ExtraHosts"), hi, hv) {
			if (strstr(json_string_value(hv), ":host-gateway")) {
				berr_setc(&e, BERR_INVALID, "--add-host %s: host-gateway needs a bridge network", json_string_value(hv));
				goto fail;
			}
		}
	}
	/* published ports: a bridge network, host ports free now */
	if (json_object_get(hc, "PortBindings") || json_is_true(json_object_get(hc, "PublishAllPorts"))) {
		if (netmode && !strcmp(netmode, "host")) {
			fprintf(stderr, "WARNING: Published ports are discarded when using host network mode\n");
			json_object_del(hc, "PortBindings");
			json_object_del(hc, "PublishAllPorts");
		} else if (!net_mode_is_network(netmode)) {
			berr_setc(&e, BERR_INVALID,
				  "port publishing needs a bridge network: add --network bridge or a network name");
			goto fail;
		} else if (ports_check_free(json_object_get(hc, "PortBindings"), &e) < 0) {
			goto fail;
		}
	}
	if (netmode && !strcmp(netmode, "host")) {
		const char *k;
		json_t *v;
		json_object_foreach(sysctls, k, v) {
			if (!strncmp(k, "net.", 4) || !strcmp(k, "kernel.domainname") || !strcmp(k, "kernel.hostname")) {
				berr_setc(&e, BERR_INVALID, "sysctl \"%s\" not allowed in host network namespace", k);
				goto fail;
			}
		}
		/* the host's UTS namespace: Docker's Hostname (and $HOSTNAME) is the host's */
		char hn[256] = "";
		if (!jsonx_str(req, "Hostname") && gethostname(hn, sizeof(hn) - 1) == 0 && *hn)
			json_object_set_new(req, "Hostname", json_string(hn));
	}
	if (netmode && !strncmp(netmode, "container:", 10)) {
		/* share a container's network namespace; /etc/hosts, resolv.conf
		 * and the hostname are that container's (start copies them) */
		if (jsonx_str(req, "Hostname")) {
			berr_setc(&e, BERR_INVALID, "conflicting options: hostname and the network mode");
			goto fail;
		}
		struct ctr_store *cs = cli_ctr_store(c);
		char nid[65];
		if (!cs) {
			berr_setc(&e, 0, "--network %s: cannot open the container store", netmode);
			goto fail;
		}
		if (ctr_resolve(cs, netmode + 10, nid, &e) < 0)
			goto fail;
	}
	if (f->attach && f->detach) {
		berr_setc(&e, BERR_INVALID, "Conflicting options: -a and -d");
		goto fail;
	}
	/* What the client attaches to, as Docker records it: -a's streams,
	 * else stdout and stderr (and stdin with -i) unless detached. */
	json_object_set_new(req, "AttachStdin", json_boolean(f->attach ? (f->attach & 1) : (!f->detach && f->interactive)));
	json_object_set_new(req, "AttachStdout", json_boolean(f->attach ? (f->attach & 2) : !f->detach));
	json_object_set_new(req, "AttachStderr", json_boolean(f->attach ? (f->attach & 4) : !f->detach));
	json_object_set_new(hc, "AutoRemove", json_boolean(f->rm));
	json_object_set_new(req, "Image", json_string(argv[optind]));
	if (optind + 1 < argc) {
		json_t *cmd = json_array();
		for (int i = optind + 1; i < argc; i++)
			json_array_append_new(cmd, json_string(argv[i]));
		json_object_set_new(req, "Cmd", cmd);
	}
	(void)is_run;
	return optind;
fail:
	fprintf(stderr, "berth: %s\nSee 'berth %s --help'.\n", e ? e->msg : "invalid arguments", c->cmd);
	berr_free(e);
	return -1;
}

static volatile sig_atomic_t pending_sig;
static int sigpipe_w = -1;

static void on_signal(int sig)
{
	pending_sig = sig;
	if (sigpipe_w >= 0) {
		char b = (char)sig;
		ssize_t w = write(sigpipe_w, &b, 1);
		(void)w;
	}
}

/* Attached: wait for "exited CODE" while forwarding our signals. */
static int attach_wait(struct ctr_store *s, const char *id, int status_fd, bool proxy)
{
	int sp[2];
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
		return ctr_wait_status(status_fd);
	sigpipe_w = sp[1];
	if (proxy) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigemptyset(&sa.sa_mask);
		int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	_cleanup_json_ json_t *st = ctr_state(s, id, NULL);
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	for (;;) {
		struct pollfd pf[2] = {{.fd = status_fd, .events = POLLIN}, {.fd = sp[0], .events = POLLIN}};
		int r = poll(pf, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (pf[1].revents) {
			char b;
			while (read(sp[0], &b, 1) == 1)
				if (pid > 0)
					kill(pid, (unsigned char)b);
		}
		if (pf[0].revents)
			return ctr_wait_status(status_fd);
	}
}

static int run_or_create(struct cli *c, int argc, char **argv, bool is_run)
{
	_cleanup_json_ json_t *req = json_object();
	struct runflags f = {0};
	int idx = parse(c, argc, argv, is_run, req, &f);
	if (idx == -2)
		return 0;
	if (idx < 0)
		return 125;
	struct image_store *is = cli_store(c);
	struct ctr_store *cs = cli_ctr_store(c);
	if (!is || !cs)
		return 125;
	struct berr *e = NULL;
	char id[65];
	if (cli_pull_for_run(c, json_string_value(json_object_get(req, "Image")), f.pull, f.platform) < 0)
		return 125;
	if (ctr_create_from(cs, is, req, f.name, id, &e) < 0) {
		fprintf(stderr, "berth: %s\n", e->msg);
		berr_free(e);
		return 125;
	}
	if (!is_run) {
		printf("%s\n", id);
		return 0;
	}
	/* streams left out by -a still go to the log, not to this terminal */
	_cleanup_close_ int devnull = f.attach ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
	struct monitor_attach a = {.attach = !f.detach,
				   .in = f.interactive && (!f.attach || (f.attach & 1)) ? 0 : -1,
				   .out = !f.attach || (f.attach & 2) ? 1 : devnull,
				   .err = !f.attach || (f.attach & 4) ? 2 : devnull,
				   .detach_keys = f.detach_keys};
	struct termios saved;
	bool raw = false;
	if (!f.detach && f.tty && f.interactive && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}
	int sfd = -1, code = 125;
	int r = ctr_start(cs, id, &a, f.detach ? NULL : &sfd, &code, &e);
	if (r < 0) {
		if (raw)
			tcsetattr(0, TCSANOW, &saved);
		fprintf(stderr, "berth: %s\n", e->msg);
		berr_free(e);
		/* a container that never ran: --rm still removes it */
		if (f.rm) {
			_cleanup_json_ json_t *rmcfg = ctr_config(cs, id, NULL);
			if (ctr_rm(cs, id, true, NULL) == 0 && rmcfg)
				volume_remove_anonymous(c->root, rmcfg);
		}
		return code ? code : 125;
	}
	if (f.detach) {
		printf("%s\n", id);
		return 0;
	}
	code = attach_wait(cs, id, sfd, f.sig_proxy && !f.tty);
	close(sfd);
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (code == CTR_DETACHED)
		return 0; /* the detach keys (-it): the container runs on, as with docker run */
	if (code < 0) {
		/* the monitor died: report what the state says */
		int ec = 125;
		if (ctr_wait_exit(cs, id, &ec, NULL) == 0)
			return ec;
		return 125;
	}
	return code;
}

CMD(run) { return run_or_create(c, argc, argv, true); }
CMD(create) { return run_or_create(c, argc, argv, false); }
