/* Internals shared by the kube convert modules: convert.c (the pod and
 * its workload), convert-vol.c (volumes, claims, ConfigMaps, Secrets),
 * convert-svc.c (Services, aliases, Ingress, NetworkPolicies), and
 * convert-util.c (names, quantities, durations, warnings). */
#pragma once
#include "kube/convert.h"
#include <stdint.h>

#define SEL_LABEL "io.kompose.service"

struct conv {
	const struct kube_convert_opts *o;
	json_t *project, *warnings;
	json_t *configmaps, *secrets, *pvcs, *services, *workloads, *extras;
	json_t *pvc_names, *cm_names, *secret_names, *netpol_names;
	bool statefulset;  /* the service being converted is a StatefulSet */
	bool job_waiter;   /* the ServiceAccount, Role and RoleBinding that read Jobs were written */
	json_t *svc_names; /* every Service name given out: services first, then aliases */
	const char *project_name;
};

bool kc_dns_label(const char *s);
/* append one warning */
void kc_warnf(json_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A compose name as a Kubernetes name: '_' and '.' become '-' (with a
 * warning into w); anything else that is not a DNS-1123 label is an error. */
char *kc_name(const char *what, const char *name, json_t *w, struct berr **err);
/* a compose duration in whole seconds (rounded up), -1 if absent or bad */
int64_t kc_secs(const char *d);
/* compose byte sizes ("512m", 1048576) and cpus (0.5) as quantities */
json_t *kc_mem_quantity(json_t *v);
json_t *kc_cpu_quantity(json_t *v);
/* base64 of n bytes (malloc'd) */
char *kc_base64(const void *buf, size_t n);
/* valid UTF-8 without NUL: fits a ConfigMap's data rather than binaryData */
bool kc_is_text(const char *buf, size_t n);
/* a ConfigMap/Secret data key: [-._a-zA-Z0-9]+ */
bool kc_data_key(const char *s);
void kc_set_ns(struct conv *cv, json_t *meta);
/* metadata {name, labels: {io.kompose.service: svc}, namespace} */
json_t *kc_meta(struct conv *cv, const char *name, const char *svc);

/* convert-vol.c: env_file -> ConfigMaps and the container's envFrom; the
 * keys whose value comes from them go into skip (not repeated in env) */
int kc_env_files(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *ctr, json_t *skip,
		 struct berr **err);
/* convert-vol.c: volumeMounts and volumes of the service's pod (volumes,
 * tmpfs, shm_size, configs, secrets) */
int kc_volumes(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *ctr, json_t *pod,
	       struct berr **err);
/* convert-svc.c: the Service port of a compose port (NULL if a port of
 * that name is already in names) */
json_t *kc_service_port(json_t *cp, json_t *names);
/* convert-svc.c: the service's Service (takes sports) and its aliases */
int kc_services(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *sports, bool published,
		struct berr **err);

/* convert-labels.c: liveness and readiness probes (healthcheck + labels) */
int kc_probes(struct conv *cv, const char *svc, json_t *s, json_t *labels, json_t *ctr, struct berr **err);
/* convert-labels.c: kompose.* labels on the pod and container */
int kc_pod_labels(struct conv *cv, const char *svc, json_t *s, json_t *labels, json_t *ctr, json_t *pod,
		  struct berr **err);
/* convert-labels.c: a CronJob (kompose.cronjob.*) into *ret: 1, none: 0,
 * error: -1; meta and tmpl are borrowed */
int kc_cronjob(struct conv *cv, const char *svc, json_t *labels, const char *restart, json_t *meta, json_t *tmpl,
	       json_t **ret, struct berr **err);
/* convert-labels.c: a HorizontalPodAutoscaler (kompose.hpa.*) into cv->extras */
int kc_hpa(struct conv *cv, const char *svc, const char *kname, json_t *labels, json_t *wl, struct berr **err);
/* convert-svc.c: --network-policies (labels into pod_labels, policies into cv->extras) */
int kc_network_policies(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *pod_labels,
			struct berr **err);
/* convert-labels.c: the pod runs as PROJECT-job-waiter, which may read Jobs
 * (the account, its Role and RoleBinding are written once) */
void kc_job_waiter(struct conv *cv, json_t *pod);
/* convert-labels.c: a valid label key and value */
bool kc_label_ok(const char *k, const char *v);
/* convert-labels.c: deploy.placement -> affinity, topologySpreadConstraints */
int kc_placement(struct conv *cv, const char *svc, const char *kname, json_t *s, json_t *pod);
/* convert-vol.c: a StatefulSet's claims of named volumes no other service
 * uses become volumeClaimTemplates (a claim per pod) */
void kc_claim_templates(struct conv *cv, const char *svc, json_t *s, json_t *pod, json_t *spec);
