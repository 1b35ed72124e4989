/* berth's registry configuration: insecure registries, docker.io mirrors
 * (registries.json, the keys Docker's daemon.json uses) and per-registry
 * TLS files in Docker's certs.d layout. */
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *config_dir(void)
{
	const char *d = getenv("BERTH_CONFIG_DIR");
	return d && *d ? d : "/etc/berth";
}

static json_t *config_json(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/registries.json", config_dir());
	struct berr *e = NULL;
	json_t *j = jsonx_load_at(AT_FDCWD, path, 1u << 20, &e);
	berr_free(e);
	return json_is_object(j) ? j : (json_decref(j), NULL);
}

json_t *reg_mirrors(void)
{
	_cleanup_json_ json_t *cfg = config_json();
	json_t *m = json_object_get(cfg, "registry-mirrors");
	return json_is_array(m) ? json_incref(m) : json_array();
}

static bool host_is_loopback(const char *host)
{
	char h[256];
	const char *end;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return false;
		snprintf(h, sizeof(h), "%.*s", (int)(end - host - 1), host + 1);
	} else {
		end = strrchr(host, ':');
		snprintf(h, sizeof(h), "%.*s", end ? (int)(end - host) : (int)strlen(host), host);
	}
	if (!strcmp(h, "localhost") || !strcmp(h, "::1"))
		return true;
	struct in_addr a;
	if (inet_pton(AF_INET, h, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return false;
}

static char *file_in(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

void reg_host_cfg_load(const char *host, struct reg_host_cfg *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->loopback = host_is_loopback(host);
	_cleanup_json_ json_t *cfg = config_json();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "insecure-registries"), i, v) {
		const char *s = json_string_value(v);
		if (s && (!strcmp(s, host) || (!strncmp(s, "http://", 7) && !strcmp(s + 7, host))))
			ret->insecure = true;
	}
	/* certs.d names directories after host:port; never let a name with a
	 * slash or ".." pick another directory. */
	if (strchr(host, '/') || strstr(host, ".."))
		return;
	const char *dirs[2] = {config_dir(), "/etc/docker"};
	for (size_t k = 0; k < 2; k++) {
		char d[4096];
		snprintf(d, sizeof(d), "%s/certs.d/%s", dirs[k], host);
		if (access(d, X_OK) != 0)
			continue;
		ret->ca_file = file_in(d, "ca.crt");
		ret->cert_file = file_in(d, "client.cert");
		ret->key_file = file_in(d, "client.key");
		break;
	}
}

void reg_host_cfg_release(struct reg_host_cfg *h)
{
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	memset(h, 0, sizeof(*h));
}
