/* Credentials in Docker's config.json: {"auths": {"host:port": {"auth":
 * base64("user:password")}}}, docker.io under "https://index.docker.io/v1/".
 * Other keys of the file are kept as they are. */
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

char *reg_creds_path(void)
{
	char *p = NULL;
	const char *d = getenv("DOCKER_CONFIG");
	if (d && *d) {
		if (asprintf(&p, "%s/config.json", d) < 0)
			return NULL;
		return p;
	}
	const char *home = getenv("HOME");
	if (asprintf(&p, "%s/.docker/config.json", home && *home ? home : "/root") < 0)
		return NULL;
	return p;
}

static bool is_hub(const char *s)
{
	return !strcmp(s, "docker.io") || !strcmp(s, "index.docker.io") ||
	       !strcmp(s, "registry-1.docker.io") || !strcmp(s, DOCKER_HUB_KEY) ||
	       !strcmp(s, "https://index.docker.io") || !strcmp(s, "https://registry-1.docker.io");
}

char *reg_server_key(const char *server)
{
	if (!server || !*server || is_hub(server))
		return strdup(DOCKER_HUB_KEY);
	/* "https://host:port/anything" -> "host:port", as docker login does */
	const char *p = server;
	if (!strncmp(p, "https://", 8))
		p += 8;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	size_t n = strcspn(p, "/");
	char *k = strndup(p, n);
	if (k && is_hub(k)) {
		free(k);
		return strdup(DOCKER_HUB_KEY);
	}
	return k;
}

static json_t *load(struct berr **err)
{
	_cleanup_free_ char *path = reg_creds_path();
	if (!path) {
		berr_set(err, ENOMEM, "config path");
		return NULL;
	}
	struct berr *e = NULL;
	json_t *j = jsonx_load_at(AT_FDCWD, path, 4u << 20, &e);
	if (!j) {
		if (e && e->errnum == ENOENT) {
			berr_free(e);
			return json_object();
		}
		if (err) {
			*err = e;
			berr_wrap(err, "reading %s", path);
		} else {
			berr_free(e);
		}
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		berr_setc(err, BERR_INVALID, "%s: not a JSON object", path);
		return NULL;
	}
	return j;
}

/* The entry of auths that belongs to key (exact, or with a scheme/path). */
static json_t *find_entry(json_t *auths, const char *key, const char **ret_name)
{
	json_t *v = json_object_get(auths, key);
	if (v) {
		*ret_name = key;
		return v;
	}
	const char *name;
	json_object_foreach(auths, name, v) {
		_cleanup_free_ char *k = reg_server_key(name);
		if (k && !strcmp(k, key)) {
			*ret_name = name;
			return v;
		}
	}
	return NULL;
}

int reg_creds_get(const char *domain, char **ret_user, char **ret_pass)
{
	*ret_user = *ret_pass = NULL;
	_cleanup_json_ json_t *j = load(NULL);
	_cleanup_free_ char *key = reg_server_key(domain);
	const char *name;
	json_t *ent = key ? find_entry(json_object_get(j, "auths"), key, &name) : NULL;
	const char *a = jsonx_str(ent, "auth");
	if (!a || !*a)
		return -1;
	size_t n = strlen(a);
	if (n > 8192)
		return -1;
	unsigned char out[8192 + 4];
	const size_t outsz = sizeof(out);
	int len = EVP_DecodeBlock(out, (const unsigned char *)a, (int)n);
	if (len < 0) {
		explicit_bzero(out, outsz);
		return -1;
	}
	/* EVP_DecodeBlock counts '=' padding as zero bytes */
	while (len > 0 && n > 0 && a[n - 1] == '=') {
		len--;
		n--;
	}
	out[len] = 0;
	char *colon = memchr(out, ':', (size_t)len);
	if (colon) {
		*ret_user = strndup((char *)out, (size_t)(colon - (char *)out));
		*ret_pass = strndup(colon + 1, (size_t)len - (size_t)(colon + 1 - (char *)out));
	}
	/* all of it: n shrank by the padding above */
	explicit_bzero(out, outsz);
	if (!colon)
		return -1;
	return *ret_user && *ret_pass ? 0 : -1;
}

static int save(json_t *j, struct berr **err)
{
	_cleanup_free_ char *path = reg_creds_path();
	if (!path)
		return berr_set(err, ENOMEM, "config path");
	_cleanup_free_ char *dir = strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(1));
	if (!text)
		return berr_set(err, ENOMEM, "%s", path);
	size_t n = strlen(text);
	int r = fs_write_atomic_at(AT_FDCWD, path, text, n, 0600, true, err);
	explicit_bzero(text, n);
	if (r < 0)
		return berr_wrap(err, "writing %s", path);
	chmod(path, 0600);
	return 0;
}

int reg_creds_put(const char *domain, const char *user, const char *pass, struct berr **err)
{
	_cleanup_json_ json_t *j = load(err);
	if (!j)
		return -1;
	json_t *auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	_cleanup_free_ char *key = reg_server_key(domain);
	size_t ul = strlen(user), pl = strlen(pass);
	_cleanup_free_ char *plain = malloc(ul + pl + 2);
	_cleanup_free_ unsigned char *b64 = malloc(((ul + pl + 1) / 3 + 2) * 4 + 1);
	if (!key || !plain || !b64)
		return berr_set(err, ENOMEM, "storing credentials");
	memcpy(plain, user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, pass, pl);
	EVP_EncodeBlock(b64, (unsigned char *)plain, (int)(ul + pl + 1));
	explicit_bzero(plain, ul + pl + 1);
	const char *old;
	if (find_entry(auths, key, &old))
		json_object_del(auths, old);
	json_object_set_new(auths, key, json_pack("{s:s}", "auth", (char *)b64));
	return save(j, err);
}

int reg_creds_del(const char *domain, bool *ret_had, struct berr **err)
{
	*ret_had = false;
	_cleanup_json_ json_t *j = load(err);
	if (!j)
		return -1;
	json_t *auths = json_object_get(j, "auths");
	_cleanup_free_ char *key = reg_server_key(domain);
	const char *name;
	if (!key || !find_entry(auths, key, &name))
		return 0;
	json_object_del(auths, name);
	*ret_had = true;
	return save(j, err);
}
