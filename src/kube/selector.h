/* Kubernetes label selectors: a LabelSelector ({"matchLabels": {...},
 * "matchExpressions": [{key, operator In|NotIn|Exists|DoesNotExist,
 * values}]}) or a Service's plain map, against an object's labels. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

/* sel: a LabelSelector object. An empty selector matches everything
 * (callers that forbid empty selectors check that first). */
bool kube_selector_match(const json_t *sel, const json_t *labels);
/* A Service's selector: every key=value present. */
bool kube_map_match(const json_t *map, const json_t *labels);
/* "-l" strings as kubectl takes them: "a=b,c!=d,e in (x,y),!f,g". False
 * with *ret_err set for a malformed selector. */
bool kube_selector_string_match(const char *s, const json_t *labels, const char **ret_err);

/* Whether status.conditions (of a pod, a workload...) has TYPE with
 * status "True"; status is the object's "status". */
bool kube_condition_true(const json_t *status, const char *type);
