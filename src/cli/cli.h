/* The command line: one file per command, a table in main.c. Only this
 * layer prints and picks exit codes. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image/store.h"
#include "util/err.h"
#include "util/strbuf.h"

struct cli {
	const char *root;
	const char *runroot;
	struct image_store *store;
	struct ctr_store *ctrs;
	const char *cmd; /* "images", "image inspect" ... for messages */
};

struct cli_command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *summary;
	const char *usage; /* full --help text after the "Usage:" line */
};

/* Open the image store (once); prints the error and returns NULL on failure. */
struct image_store *cli_store(struct cli *c);
/* Print "Error: <msg>" and return the exit code for it (1). Frees e. */
int cli_fail(struct berr *e);
/* Print a usage error the way Docker does and return 1. */
int cli_usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A flag berth accepts for Docker's sake but that changes nothing here:
 * one line on stderr, "berth CMD: FLAG has no effect in berth: WHY". */
void cli_flag_noop(struct cli *c, const char *flag, const char *why);
/* Print the --help text of the current command. */
int cli_help(struct cli *c);
const struct cli_command *cli_find(const char *name);

/* ---- output formatting (format.c) ---- */

/* A parsed --format template: a subset of Go templates ({{.Field}},
 * {{json .}}, {{json .Field}}, {{upper .X}}, {{lower .X}}), with an
 * optional "table " prefix. */
struct tmpl;
int tmpl_parse(const char *src, struct tmpl **ret, struct berr **err);
int tmpl_render(const struct tmpl *t, json_t *obj, struct sbuf *out, struct berr **err);
/* Column headers for a table template (fields mapped through `headers`, an
 * object Field -> "HEADER"), tab separated. */
void tmpl_header(const struct tmpl *t, json_t *headers, struct sbuf *out);
bool tmpl_is_table(const struct tmpl *t);
void tmpl_free(struct tmpl *t);

/* Docker's tabwriter layout: cells separated by '\t', padded to the widest
 * cell + 3, at least 10 wide, last column unpadded. */
struct table {
	char **lines;
	size_t n, cap;
};
void table_add(struct table *t, const char *line);
void table_print(struct table *t, FILE *out);
void table_release(struct table *t);

/* Shared by list commands: render rows (json objects) with an optional
 * --format value; default_tmpl is the "table ..." used without one. */
int cli_print_rows(json_t *rows, const char *format, const char *default_tmpl, json_t *headers,
		   bool quiet_field_only);

/* inspect output: every object through --format, or all of them as an
 * indented JSON array when format is NULL. */
int cli_print_inspect(json_t *objs, const char *format);

/* A --filter label=KEY or label=KEY=VALUE against a Labels object
 * (filters.c). */
bool cli_label_match(json_t *labels, const char *want);

/* Remove unused images (dangling ones, or with all every image no container
 * uses; never the build cache's own): "untagged: REF"/"deleted: ID" lines
 * appended to out, bytes freed in *freed (prune.c). */
int cli_prune_images(struct image_store *s, bool all, json_t *out, uint64_t *freed, struct berr **err);

/* ---- registry (pullimg.c) ---- */
struct cli_progress;
struct reg_opts;
/* Progress lines for pull/push on out (bars on a terminal); free() it. */
struct cli_progress *cli_progress_new(FILE *out, bool push, bool quiet);
void cli_progress_opts(struct cli_progress *v, struct reg_opts *o);
/* Pull name with progress on out; prints errors; returns the exit code. */
int cli_pull(struct cli *c, const char *name, const char *platform, int max_dl, bool quiet, FILE *out);
/* run/create: pull image per --pull policy (always|missing|never, NULL:
 * missing). 0 to go on, -1 after printing an error. */
int cli_pull_for_run(struct cli *c, const char *image, const char *policy, const char *platform);
/* --disable-content-trust[=BOOL] of pull and push: 0 to go on, else the
 * exit code (a bad bool, or =false: Notary verification berth lacks). */
int cli_content_trust_flag(const char *v);

/* ---- Kubernetes API commands (kube apply, delete, diff, rollout, deploy;
 * cmd-kube-apply.c): kubectl's connection flags ---- */
struct kube_client_opts;
struct kube_client;
enum {
	CLI_KOPT_KUBECONFIG = 0x4000, CLI_KOPT_CONTEXT, CLI_KOPT_CLUSTER, CLI_KOPT_USER, CLI_KOPT_SERVER,
	CLI_KOPT_TOKEN, CLI_KOPT_NAMESPACE, CLI_KOPT_INSECURE, CLI_KOPT_REQUEST_TIMEOUT,
};
/* struct option entries (getopt_long); -n and -s are the command's short options */
#define CLI_KUBE_CONN_LONGOPTS                                                                                  \
	{"kubeconfig", required_argument, 0, CLI_KOPT_KUBECONFIG},                                                 \
	{"context", required_argument, 0, CLI_KOPT_CONTEXT}, {"cluster", required_argument, 0, CLI_KOPT_CLUSTER},  \
	{"user", required_argument, 0, CLI_KOPT_USER}, {"server", required_argument, 0, CLI_KOPT_SERVER},         \
	{"token", required_argument, 0, CLI_KOPT_TOKEN}, {"namespace", required_argument, 0, CLI_KOPT_NAMESPACE},  \
	{"insecure-skip-tls-verify", optional_argument, 0, CLI_KOPT_INSECURE},                                     \
	{"request-timeout", required_argument, 0, CLI_KOPT_REQUEST_TIMEOUT}
/* 1: code was a connection flag (stored in o; also the short -n and -s), 0: not one,
 * -1: a bad value (printed) */
int cli_kube_conn_opt(struct kube_client_opts *o, int code, const char *arg);
/* -f FILE into files[cap]; -1 after printing "at most N -f" */
int cli_kube_file_opt(const char **files, size_t *n, size_t cap, const char *arg);
/* kube_client_open with the error printed ("error: ..."), Warning headers printed to stderr */
int cli_kube_open(const struct kube_client_opts *o, struct kube_client **ret);
/* a --timeout's duration (Go syntax, or bare seconds) in ms; -1 after printing the error */
int cli_kube_duration(const char *flag, const char *arg, int64_t *ret_ms);
struct kube_items;
struct cli_kube_apply {
	bool prune, all, wait, dry_run, force;
	const char *selector, *field_manager, *validation;
	const char *const *allow; /* --prune-allowlist */
	size_t nallow;
	int64_t timeout_ms;       /* --wait's */
};
/* kube apply's steps on items (read, not resolved): resolve, check all with
 * dryRun=All, apply, prune, wait; prints its lines and errors. The exit code. */
int cli_kube_apply_items(struct kube_client *kc, struct kube_items *it, const struct cli_kube_apply *f, bool ns_forced);

#define CMD(name) int cmd_##name(struct cli *c, int argc, char **argv)
CMD(version);
CMD(pull);
CMD(push);
CMD(login);
CMD(logout);
CMD(port);
CMD(import);
CMD(load);
CMD(save);
CMD(images);
CMD(tag);
CMD(rmi);
CMD(image_inspect);
CMD(image_prune);
CMD(system_df);
CMD(system_prune);
CMD(run);
CMD(create);
CMD(start);
CMD(stop);
CMD(restart);
CMD(kill);
CMD(rm);
CMD(ps);
CMD(logs);
CMD(wait);
CMD(exec);
CMD(container_prune);
CMD(pause);
CMD(unpause);
CMD(top);
CMD(stats);
CMD(rename);
CMD(cp);
CMD(attach);
CMD(network_create);
CMD(network_ls);
CMD(network_inspect);
CMD(network_rm);
CMD(network_prune);
CMD(network_connect);
CMD(network_disconnect);
CMD(volume_create);
CMD(volume_ls);
CMD(volume_inspect);
CMD(volume_rm);
CMD(volume_prune);
CMD(debug);
CMD(debug_svc_sync);
CMD(debug_svc_check);
CMD(debug_svc_rm);
CMD(debug_pod);
CMD(debug_kubelet_api);
CMD(compose);
CMD(kube_convert);
CMD(kube_generate);
CMD(kube_get);
CMD(kube_ps);
CMD(kube_logs);
CMD(kube_exec);
CMD(kube_play);
CMD(kube_down);
CMD(kube_scale);
CMD(kube_apply);
CMD(kube_delete);
CMD(kube_diff);
CMD(kube_rollout);
CMD(kube_deploy);
CMD(kube_cluster);
CMD(kube_node);
CMD(kube_provisioner);
CMD(build);
CMD(builder_prune);

#endif
