/* The registry client: pull, push, login and logout against any registry
 * speaking the Registry HTTP API v2 (the OCI distribution spec).
 *
 * Configuration, all optional:
 *   $BERTH_CONFIG_DIR (default /etc/berth)/registries.json
 *       {"insecure-registries": ["host:port", ...],
 *        "registry-mirrors": ["https://mirror.example", ...]}   (docker.io only)
 *   $BERTH_CONFIG_DIR/certs.d/HOST:PORT/{ca.crt,client.cert,client.key},
 *       then /etc/docker/certs.d/HOST:PORT/ (Docker's layout)
 *   credentials: $DOCKER_CONFIG/config.json or ~/.docker/config.json
 *       (Docker's "auths" with a base64 "auth"; written with mode 0600)
 *
 * Every byte from a registry is verified against its digest before it
 * becomes visible in the store. A failed pull leaves no image and no
 * partial layer; layers completed before the failure stay (verified) so a
 * rerun skips them. */
#ifndef BERTH_REGISTRY_REGISTRY_H
#define BERTH_REGISTRY_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "image/store.h"
#include "util/err.h"

enum reg_event {
	REG_EV_PULLING,     /* id = tag or digest being pulled, text = repository path */
	REG_EV_LAYER_QUEUED,  /* "Pulling fs layer" / "Preparing" */
	REG_EV_LAYER_EXISTS,  /* "Already exists" / "Layer already exists" */
	REG_EV_LAYER_BYTES,   /* cur/total bytes moved */
	REG_EV_LAYER_VERIFY,  /* "Verifying Checksum" */
	REG_EV_LAYER_FETCHED, /* "Download complete" */
	REG_EV_LAYER_DONE,    /* "Pull complete" / "Pushed" */
	REG_EV_LAYER_MOUNTED, /* "Mounted from REPO" (text = repo) */
	REG_EV_LAYER_FAILED,
};

struct reg_progress {
	enum reg_event ev;
	const char *id;   /* 12 hex digits of the blob digest */
	const char *text;
	uint64_t cur, total;
};

/* Called from worker threads, serialized by the client. */
typedef void (*reg_progress_fn)(void *ctx, const struct reg_progress *p);

struct reg_opts {
	const char *platform;  /* "os/arch[/variant]"; NULL: the host's */
	int max_downloads;     /* parallel layer downloads (0: 3) */
	int max_uploads;       /* parallel layer uploads (0: 5) */
	reg_progress_fn progress;
	void *progress_ctx;
};

struct reg_pull_result {
	char id[72];        /* image ID (config digest) */
	char digest[72];    /* manifest (or index) digest pulled */
	char *ref;          /* normalized full reference (tag or digest form) */
	bool up_to_date;    /* the ref already pointed at this image */
};

/* Pull name (as a user types it) into the store. */
int reg_pull(struct image_store *s, const char *name, const struct reg_opts *o,
	     struct reg_pull_result *ret, struct berr **err);
void reg_pull_result_release(struct reg_pull_result *r);

/* Push the local image `name` to its registry. ret_digest/ret_size get
 * the manifest's digest and length. */
int reg_push(struct image_store *s, const char *name, const struct reg_opts *o,
	     char ret_digest[72], uint64_t *ret_size, struct berr **err);

/* The key under which credentials for server are kept ("docker.io" and
 * friends map to Docker's "https://index.docker.io/v1/"); caller frees. */
char *reg_server_key(const char *server);

/* Check user/password against the registry (a real auth round trip) and
 * store them. */
int reg_login(const char *server, const char *user, const char *password, struct berr **err);
/* The file credentials are stored in (Docker's config.json:
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json); caller frees. */
char *reg_creds_path(void);
/* Credentials stored for server (user only; NULL if none); caller frees. */
char *reg_login_user(const char *server);
/* Forget the credentials; *ret_had says whether there were any. */
int reg_logout(const char *server, bool *ret_had, struct berr **err);

#endif
