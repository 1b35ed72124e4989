/* A container's launch plan: everything the container's init needs,
 * computed up front from config.json and the image store, so the child
 * after clone() only executes system calls in order. The same plan serves
 * `exec` and healthchecks (process part only). */
#ifndef BERTH_RUNTIME_PLAN_H
#define BERTH_RUNTIME_PLAN_H

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "util/err.h"

enum pmount_kind { PM_BIND, PM_TMPFS };

struct pmount {
	enum pmount_kind kind;
	char *source;      /* host path for binds */
	char *target;      /* path inside the container */
	char *data;        /* tmpfs: the file system's own options (size=, mode=...) */
	unsigned long flags; /* tmpfs: MS_* flags from the options (ro, noexec...) */
	bool ro;
	bool source_is_dir;
	char *copy_up;     /* volumes: the volume's dir ($ROOT/volumes/NAME) when an
			    * empty volume takes the image's content on first mount */
};

struct prlimit_op {
	int resource;
	struct rlimit lim;
};

struct plan_proc {
	char **argv;
	char **env;
	char *cwd;
	char *user;        /* "name[:group]" resolved inside the container */
	char **group_add;
	uint64_t caps;
	bool no_new_privs;
	struct sock_fprog seccomp; /* len 0: unconfined */
	bool tty;
};

struct plan {
	char *id;
	char *layers_dir;  /* $ROOT/layers */
	char *lowerdir;    /* "hex/diff:hex/diff", top first, relative to layers_dir */
	char *ctr_dir;     /* $ROOT/containers/<id> */
	bool readonly_root;
	bool privileged;
	char *hostname;
	bool new_net;      /* false for --network host and container:ID */
	char *net_container; /* --network container:ID: the ID whose netns to join, else NULL */
	bool new_uts;
	int64_t shm_size;
	struct pmount *mounts;
	size_t nmounts;
	struct prlimit_op rlimits[16];
	int nrlimits;
	char **sysctls;    /* "key=value" */
	bool init;         /* --init: a tiny reaper as pid 1 */
	bool pod_infra;    /* config "PodInfra": a pod's sandbox; pid 1 pauses instead of exec */
	struct plan_proc proc;
	char *cgroup_name;
};

/* Build the plan from a container's config.json. root is $ROOT; cache_dir
 * holds compiled seccomp programs. */
int plan_build(json_t *config, const char *root, struct plan **ret, struct berr **err);
/* The process part for `exec`: argv, env added to the container's, user,
 * cwd (NULL: the container's), privileged. */
int plan_exec_proc(json_t *config, const char *root, char **argv, char **env, const char *user,
		   const char *cwd, bool privileged, bool tty, struct plan_proc *ret, struct berr **err);
void plan_free(struct plan *p);
void plan_proc_release(struct plan_proc *p);

/* Split a --tmpfs option list ("rw,exec,size=64m,mode=1777") into mount
 * flags and the data string for tmpfs, as Docker does: nosuid, nodev and
 * noexec unless the list says otherwise, flag words (ro/rw, exec/noexec,
 * suid, dev, sync, atime, ...) become MS_* flags, tmpfs's own options go to
 * *ret_data (malloc'd). An unknown word is an error naming it. */
int plan_tmpfs_options(const char *opts, unsigned long *ret_flags, char **ret_data, struct berr **err);

/* Docker's "512m" sizes, ulimit "nofile=1024:2048" and so on. */
int plan_parse_ulimit(const char *s, json_t **ret, struct berr **err);

#endif
