/* kube cluster's parts: cluster.c (up, down, status), cluster-sup.c (the
 * supervisor process). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "util/err.h"

enum kc_comp {
	KC_ETCD,
	KC_APISERVER,
	KC_CM,
	KC_SCHED,
	KC_NODE,
	KC_PROV, /* the storage provisioner (kube/provisioner.h) */
	KC_NCOMP,
};

/* Component names as the logs and status show them. */
extern const char *const kc_comp_names[KC_NCOMP];

/* What the supervisor runs: argv per component (NULL argv: not run, e.g.
 * the node agent in a berth without it), with its log file, and the port
 * it listens on (the apiserver's starts the last phase). */
struct kc_proc {
	char **argv;      /* argv[0] is the program's path */
	const char *log;  /* absolute path, appended to */
	int port;         /* the port it listens on when up (0: none to wait for) */
};

struct kc_sup {
	const char *name;             /* the cluster's */
	const char *rundir;           /* $RUNROOT/kube-clusters/NAME (absolute) */
	const char *sup_log;          /* the supervisor's own log */
	struct kc_proc procs[KC_NCOMP];
	int grace_ms;                 /* SIGTERM to SIGKILL */
};

/* Fork the supervisor (setsid, double fork) unless one runs. Returns its
 * pid once it holds its lock and wrote its pid file. */
int kc_sup_start(const struct kc_sup *s, pid_t *ret_pid, struct berr **err);
/* The running supervisor's pid, or 0. */
pid_t kc_sup_pid(const char *rundir);
/* SIGTERM the supervisor and wait until it is gone (it stops its
 * components first; fast: SIGUSR1, their grace period is 300 ms, for a
 * cluster about to be removed); SIGKILL after timeout_ms. Then kills what is left of
 * the components of state.json (a supervisor killed with -9 leaves them to
 * their PDEATHSIG): the processes of their process groups whose command
 * line holds match (the cluster's directory). */
void kc_sup_stop(const char *rundir, const char *match, bool fast, int timeout_ms);

/* A TCP port of 127.0.0.1/0.0.0.0/:: in LISTEN state (/proc/net/tcp{,6}):
 * tells that a server listens without connecting to it (which would leave
 * a TLS handshake error in its log). */
bool kc_port_listening(int port);
/* How many of ports[0..n) (n <= 64) listen, in one read of those files. */
int kc_ports_listening(const int *ports, int n);
