/* Shared inside src/registry only. */
#ifndef BERTH_REGISTRY_INTERNAL_H
#define BERTH_REGISTRY_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/store.h"
#include "registry/registry.h"
#include "util/err.h"
#include "util/strbuf.h"

/* Limits on what a registry may send us that is kept in memory. */
#define REG_MAX_MANIFEST (4u << 20)
#define REG_MAX_CONFIG (16u << 20)
#define REG_MAX_ERRBODY (64u << 10)
#define REG_MAX_LAYERS 1000

/* ---- config.c ---- */
struct reg_host_cfg {
	char *ca_file, *cert_file, *key_file; /* NULL when absent */
	bool insecure;   /* listed in insecure-registries */
	bool loopback;   /* localhost / 127.0.0.0/8 / ::1: plain HTTP allowed */
};
/* TLS files and trust for "host[:port]". */
void reg_host_cfg_load(const char *host, struct reg_host_cfg *ret);
void reg_host_cfg_release(struct reg_host_cfg *h);
/* Mirrors for docker.io ("https://..." strings), may be empty; new ref. */
json_t *reg_mirrors(void);

/* ---- creds.c ---- */
/* Stored credentials for a registry domain ("docker.io", "host:port"). */
int reg_creds_get(const char *domain, char **ret_user, char **ret_pass);
int reg_creds_put(const char *domain, const char *user, const char *pass, struct berr **err);
int reg_creds_del(const char *domain, bool *ret_had, struct berr **err);
/* Path of config.json (caller frees). */

/* ---- http.c ---- */
struct reg_token {
	char *scope;
	char *header; /* "Authorization: Bearer ..." */
	time_t expires;
};

struct reg_client {
	char *domain;   /* as in the reference: "docker.io", "localhost:5000" */
	char *host;     /* where we connect: "registry-1.docker.io", "127.0.0.1:5000" */
	char *base;     /* "https://host" or "http://host", after the ping */
	struct reg_host_cfg tls;
	char *user, *pass;
	pthread_mutex_t mu;
	/* auth state, under mu */
	char *realm, *service; /* the Bearer challenge */
	bool basic;             /* the registry asked for Basic */
	struct reg_token *tokens;
	size_t ntokens;
	/* progress, serialized */
	pthread_mutex_t pmu;
	reg_progress_fn progress;
	void *progress_ctx;
};

struct reg_req {
	const char *method;     /* GET HEAD PUT POST PATCH DELETE */
	const char *path;       /* "/v2/..." or an absolute URL (Location) */
	const char *scope;      /* "repository:x:pull" ... (space separated) */
	const char *accept;     /* Accept header value or NULL */
	const char *content_type;
	const void *data;       /* request body in memory, or */
	int body_fd;            /* ... read from this fd (pread) when >= 0 */
	off_t body_off;
	uint64_t body_len;
	const char *extra_header; /* one more "Name: value" or NULL */
	size_t max_body;        /* keep up to this much of the reply (0: REG_MAX_ERRBODY) */
	bool no_auth_retry;
	/* reply */
	long status;
	struct sbuf body;
	char *location, *content_type_got, *docker_digest, *www_auth, *range;
	uint64_t content_length;
	bool truncated;
};

/* A client for the registry of domain (mirrors and docker.io mapping
 * applied), after a ping of /v2/ that picks https or http. */
int reg_client_new(const char *domain, struct reg_client **ret, struct berr **err);
void reg_client_free(struct reg_client *c);
void reg_req_release(struct reg_req *r);
/* Do one request; authenticates and retries once on a 401. Fails only on
 * transport errors: the caller looks at r->status. */
int reg_do(struct reg_client *c, struct reg_req *r, struct berr **err);
/* curl write callback keeping the reply in r->body (ud: struct reg_req). */
size_t reg_sink_cb(char *buf, size_t sz, size_t nm, void *ud);
/* "unauthorized: ..." from a registry error body, or "HTTP nnn"; caller frees. */
char *reg_error_text(const struct reg_req *r);
/* Report progress to the caller's callback (thread safe). */
void reg_report(struct reg_client *c, enum reg_event ev, const char *id, const char *text,
		uint64_t cur, uint64_t total);
/* Apply TLS/proxy-independent options common to all handles. */
void reg_curl_setup(struct reg_client *c, void *curl);
/* "https://host" + path, or path when it is an absolute URL; caller frees. */
char *reg_url(struct reg_client *c, const char *path);
/* The Authorization header to send for scope now (may be NULL); caller frees. */
char *reg_auth_header(struct reg_client *c, const char *scope);

/* A blob download as a pull-model stream. */
struct reg_blob;
int reg_blob_open(struct reg_client *c, const char *repo, const char *digest, uint64_t size,
		  const char *short_id, struct reg_blob **ret, struct berr **err);
/* layer_read_fn-compatible: bytes, 0 at end, -1 + errno. */
ssize_t reg_blob_read(void *blob, void *buf, size_t n);
/* The reason the last read failed (NULL if none). */
const char *reg_blob_error(struct reg_blob *b);
void reg_blob_close(struct reg_blob *b);

/* ---- pull.c ---- */
/* Record repo@digest on image id (one per repository, the newest). */
/* Run fn(ctx, i) for every i in [0, n) on up to nthreads threads (the
 * caller's own when none starts). The first failure stops handing out
 * jobs (running ones finish) and is returned in *err (parallel.c). */
int reg_run_parallel(size_t n, int nthreads, int (*fn)(void *ctx, size_t i, struct berr **err), void *ctx,
		     struct berr **err);

int reg_record_repo_digest(struct image_store *s, const char *id, const char *repo_digest,
			   struct berr **err);

/* ---- auth.c ---- */
struct reg_challenge {
	char *scheme; /* "Bearer", "Basic" */
	char *realm, *service, *scope;
};
/* Parse the first challenge of a WWW-Authenticate value. */
int reg_challenge_parse(const char *value, struct reg_challenge *ret);
void reg_challenge_release(struct reg_challenge *ch);
/* Handle a 401: learn the challenge and get a token for scope. */
int reg_auth_handle(struct reg_client *c, const char *www_auth, const char *scope, struct berr **err);

/* ---- manifest.c ---- */
struct reg_desc {
	char *media_type;
	char digest[72];
	uint64_t size;
};
struct reg_manifest {
	char *media_type;
	struct reg_desc config;
	struct reg_desc *layers;
	size_t nlayers;
};
/* The media types we ask for, as one Accept value. */
extern const char reg_manifest_accept[];
/* Is this an index / manifest list (by media type and content)? */
bool reg_is_index(const char *media_type, json_t *j);
/* Pick the manifest for platform ("os/arch[/variant]") from an index. */
int reg_index_select(json_t *index, const char *platform, struct reg_desc *ret, struct berr **err);
/* Parse an image manifest (schema2 / OCI). */
int reg_manifest_parse(json_t *j, const char *media_type, struct reg_manifest *ret, struct berr **err);
void reg_manifest_release(struct reg_manifest *m);
void reg_desc_release(struct reg_desc *d);
/* The host platform "linux/amd64" or "linux/arm64/v8" ... (static). */
const char *reg_host_platform(void);

#endif
