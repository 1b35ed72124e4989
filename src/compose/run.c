/* One-off containers (`compose run`): the service's create request with
 * the command line's overrides, labelled as docker compose labels them
 * (oneoff=True, a slug), so `down` and `ps -a` find them again. */
#include "compose/engine.h"
#include "compose/internal.h"
#include "net/ports.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define CL_SLUG "com.docker.compose.slug"

/* Replace or add KEY=VALUE in an Env array. */
static void env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t k = eq ? (size_t)(eq - kv) : strlen(kv);
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s && !strncmp(s, kv, k) && (s[k] == '=' || !s[k])) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

/* -v SRC:DST[:MODE] | DST, with the compose file's rules: a path source
 * (/, ., ~) is a bind relative to the project directory, a name is the
 * project's volume (or a volume of that name). */
static int add_volume(const struct compose_project *p, json_t *req, json_t *hc, const char *spec, struct berr **err)
{
	_cleanup_free_ char *s = strdup(spec);
	if (!s)
		return berr_set(err, ENOMEM, "volume");
	char *parts[3] = {s, NULL, NULL};
	int n = 1;
	for (char *c = s; *c && n < 3; c++)
		if (*c == ':') {
			*c = 0;
			parts[n++] = c + 1;
		}
	if (n == 1) {
		if (s[0] != '/')
			return berr_setc(err, BERR_INVALID, "invalid volume \"%s\": the target must be an absolute path", spec);
		json_t *vols = json_object_get(req, "Volumes");
		if (!vols)
			json_object_set_new(req, "Volumes", vols = json_object());
		json_object_set_new(vols, s, json_object());
		return 0;
	}
	const char *src = parts[0], *dst = parts[1], *mode = parts[2] ? parts[2] : "rw";
	if (!*src || dst[0] != '/')
		return berr_setc(err, BERR_INVALID, "invalid volume \"%s\": want SOURCE:/TARGET[:MODE]", spec);
	if (strcmp(mode, "rw") && strcmp(mode, "ro") && strcmp(mode, "z") && strcmp(mode, "Z"))
		return berr_setc(err, BERR_INVALID, "invalid volume \"%s\": unknown mode %s", spec, mode);
	if (!strcmp(mode, "z") || !strcmp(mode, "Z"))
		mode = "rw";
	_cleanup_free_ char *real = NULL;
	if (src[0] == '/') {
		real = strdup(src);
	} else if (src[0] == '.') {
		if (asprintf(&real, "%s/%s", p->working_dir ? p->working_dir : ".", src) < 0)
			real = NULL;
	} else if (src[0] == '~') {
		const char *home = getenv("HOME");
		if (asprintf(&real, "%s%s", home ? home : "", src + 1) < 0)
			real = NULL;
	} else {
		json_t *def = json_object_get(json_object_get(p->doc, "volumes"), src);
		const char *nm = jsonx_str(def, "name");
		if (nm)
			real = strdup(nm);
		else if (def) {
			if (asprintf(&real, "%s_%s", p->name, src) < 0)
				real = NULL;
		} else
			real = strdup(src);
	}
	if (!real)
		return berr_set(err, ENOMEM, "volume");
	json_array_append_new(json_object_get(hc, "Binds"), json_sprintf("%s:%s:%s", real, dst, mode));
	return 0;
}

int compose_run_create(struct compose_engine *e, const struct compose_run_opts *o, char ret_id[65], char **ret_name,
		       struct berr **err)
{
	json_t *svc = json_object_get(json_object_get(e->p->doc, "services"), o->service);
	if (!svc)
		return berr_setc(err, BERR_INVALID, "no such service: %s", o->service);
	char hash[65];
	compose_service_hash(svc, hash);
	_cleanup_json_ json_t *warns = json_array();
	_cleanup_json_ json_t *req = NULL;
	if (compose_service_request(e->p, o->service, 1, hash, warns, &req, err) < 0)
		return -1;
	json_t *hc = json_object_get(req, "HostConfig");
	json_t *labels = json_object_get(req, "Labels");

	unsigned char rnd[6];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return berr_set(err, errno, "getrandom");
	char slug[13];
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(slug + 2 * i, 3, "%02x", rnd[i]);
	json_object_set_new(labels, CL_ONEOFF, json_string("True"));
	json_object_set_new(labels, CL_SLUG, json_string(slug));
	size_t i;
	json_t *v;
	json_array_foreach(o->labels, i, v) {
		const char *s = json_string_value(v);
		const char *eq = s ? strchr(s, '=') : NULL;
		_cleanup_free_ char *k = eq ? strndup(s, (size_t)(eq - s)) : strdup(s ? s : "");
		if (*k)
			json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
	}

	if (json_array_size(o->command))
		json_object_set(req, "Cmd", o->command);
	if (o->entrypoint) {
		json_t *ep = json_array();
		json_object_set_new(req, "Entrypoint", ep);
		if (compose_split_words(o->entrypoint, ep) < 0)
			return berr_setc(err, BERR_INVALID, "invalid --entrypoint \"%s\": unterminated quote", o->entrypoint);
		if (!json_array_size(o->command))
			json_object_set_new(req, "Cmd", json_array());
	}
	json_t *env = json_object_get(req, "Env");
	json_array_foreach(o->env, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s)
			continue;
		if (strchr(s, '=')) {
			env_set(env, s);
		} else if (getenv(s)) {
			_cleanup_free_ char *kv = NULL;
			if (asprintf(&kv, "%s=%s", s, getenv(s)) >= 0)
				env_set(env, kv);
		}
	}
	if (o->user)
		json_object_set_new(req, "User", json_string(o->user));
	if (o->workdir)
		json_object_set_new(req, "WorkingDir", json_string(o->workdir));
	json_object_set_new(req, "Tty", json_boolean(o->tty));
	json_object_set_new(req, "OpenStdin", json_boolean(o->interactive));
	json_object_set_new(req, "StdinOnce", json_boolean(o->interactive));
	json_object_set_new(req, "AttachStdin", json_boolean(o->interactive));
	json_object_set_new(req, "AttachStdout", json_true());
	json_object_set_new(req, "AttachStderr", json_true());
	/* one-off containers do not restart, and publish the service's ports
	 * only when asked to (they would clash with the service's own) */
	json_object_del(hc, "RestartPolicy");
	json_object_set_new(hc, "AutoRemove", json_boolean(o->rm));
	if (!o->service_ports)
		json_object_del(hc, "PortBindings");
	if (json_array_size(o->ports)) {
		json_t *pb = json_object_get(hc, "PortBindings");
		if (!pb)
			json_object_set_new(hc, "PortBindings", pb = json_object());
		json_t *expose = json_object_get(req, "ExposedPorts");
		json_array_foreach(o->ports, i, v) if (ports_parse(json_string_value(v), pb, expose, err) < 0) return berr_wrap(
			err, "invalid port \"%s\"", json_string_value(v));
	}
	if (!o->use_aliases)
		json_object_del(hc, "NetworkAliases");
	json_array_foreach(o->volumes, i, v) if (add_volume(e->p, req, hc, json_string_value(v), err) < 0) return -1;
	const char *mode = jsonx_str(hc, "NetworkMode");
	if (json_object_size(json_object_get(hc, "PortBindings")) && mode && !strcmp(mode, "host"))
		json_object_del(hc, "PortBindings");
	else if (ports_check_free(json_object_get(hc, "PortBindings"), err) < 0)
		return -1;

	_cleanup_free_ char *name = NULL;
	if (o->name)
		name = strdup(o->name);
	else if (asprintf(&name, "%s-%s-run-%s", e->p->name, o->service, slug) < 0)
		name = NULL;
	if (!name)
		return berr_set(err, ENOMEM, "name");
	_cleanup_json_ json_t *one = json_pack("[s]", o->service);
	if (compose_ensure_resources(e, one, err) < 0)
		return -1;
	{
		_cleanup_json_ json_t *idx = image_store_index_read(e->is, err);
		_cleanup_free_ char *img_id = NULL;
		if (!idx || image_store_resolve(idx, jsonx_str(req, "Image"), &img_id, NULL, err) < 0)
			return berr_wrap(err, "service \"%s\"", o->service);
		json_object_set_new(labels, CL_IMAGE, json_string(img_id));
	}
	if (compose_resolve_host_gateway(e, req, err) < 0)
		return berr_wrap(err, "service \"%s\"", o->service);
	char id[65];
	if (ctr_create_from(e->cs, e->is, req, name, id, err) < 0)
		return berr_wrap(err, "creating container %s", name);
	if (compose_connect_networks(e, o->service, id, o->use_aliases, err) < 0) {
		_cleanup_json_ json_t *cfg = ctr_config(e->cs, id, NULL);
		ctr_rm(e->cs, id, true, NULL);
		if (cfg)
			volume_remove_anonymous(e->root, cfg);
		return berr_wrap(err, "creating container %s", name);
	}
	if (e->ev.warn)
		json_array_foreach(warns, i, v) e->ev.warn(e->ev.ud, json_string_value(v));
	snprintf(ret_id, 65, "%s", id);
	*ret_name = steal_pointer(&name);
	return 0;
}
