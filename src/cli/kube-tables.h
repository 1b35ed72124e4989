/* What `berth kube get` prints, in kubectl's shapes: the resource types it
 * knows (names, short names, groups), one table row per object (the
 * columns of kubectl 1.36's printers, -o wide included), kubectl's AGE
 * format, its tabwriter layout and its -o yaml style. Pure functions of
 * the objects given; cmd-kube-get.c gathers them. */
#ifndef BERTH_CLI_KUBE_TABLES_H
#define BERTH_CLI_KUBE_TABLES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util/strbuf.h"

struct kt_kind {
	const char *kind;        /* "Deployment" */
	const char *plural;      /* "deployments" */
	const char *shorts;      /* "deploy" (space separated, may be "") */
	const char *group;       /* "apps"; "" for the core group */
	const char *api_version; /* "apps/v1" */
	bool namespaced;
	bool in_all;             /* part of `kube get all` */
};

/* Every type, in the order `get all` prints its groups. */
extern const struct kt_kind kt_kinds[];
extern const size_t kt_nkinds;
/* A type by any of kubectl's names for it: plural, singular, short name,
 * Kind, each optionally with ".GROUP" (case-insensitive). NULL: unknown. */
const struct kt_kind *kt_kind_find(const char *name);
/* "deployment.apps", "pod": the prefix of `-o name` and of grouped tables. */
void kt_kind_prefix(const struct kt_kind *k, char *buf, size_t n);

/* Column headers / one row (arrays of strings) of an object of kind k.
 * now: the time AGE is measured against. */
json_t *kt_headers(const struct kt_kind *k, bool wide);
json_t *kt_row(const struct kt_kind *k, const json_t *obj, bool wide, time_t now);

/* The STATUS, READY and RESTARTS cells of a pod, as kubectl computes them
 * from its spec and status. */
void kt_pod_summary(const json_t *pod, time_t now, char *status, size_t ns, char *ready, size_t nr, char *restarts,
		    size_t nrs);

/* kubectl's duration.HumanDuration: 5s, 119s, 2m3s, 10m, 3h4m, 9h, 2d3h, 30d, 2y10d, 9y. */
void kt_human_duration(int64_t seconds, char *buf, size_t n);
/* AGE of an RFC 3339 timestamp at now; "<unknown>" without one. */
void kt_age(const char *ts, time_t now, char *buf, size_t n);
/* labels.FormatLabels: "a=b,c=d" with keys sorted, "<none>" when empty. */
void kt_format_labels(const json_t *labels, struct sbuf *out);
/* A LabelSelector as kubectl's SELECTOR column shows it ("app=web,tier in (a,b)");
 * empty_none: "<none>" for an empty one (FormatLabelSelector), else "". */
void kt_format_selector(const json_t *sel, bool empty_none, struct sbuf *out);

/* Print rows (arrays of strings) as kubectl's tabwriter does: columns
 * padded to the widest cell + 3, at least 6 wide, the last one unpadded. */
void kt_print_table(const json_t *rows, FILE *out);

/* YAML the way `kubectl get -o yaml` writes it: keys sorted, sequences at
 * their key's indentation, multi-line strings as literal blocks. */
void kt_yaml(const json_t *v, struct sbuf *out);

#endif
