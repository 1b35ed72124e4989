/* The fields of every kind kube play reads, and the typed walk over an
 * object. The tables are Kubernetes' (the API types of 1.36: test-kube-
 * manifest compares them with its OpenAPI document, field by field), each
 * field marked with what berth does with it:
 *
 *   name:TYPE      applied (the walk goes into it)
 *   name*:TYPE     applied and required
 *   name:~WHY      parsed, not applied: one warning (WHY names the reason)
 *   name:!WHY      refused: berth cannot honour it
 *   name:-         server-managed: dropped without a word (uid, status...)
 *
 * TYPE is string, int, bool, number, quantity, intstr, time, any, [T]
 * (a list), {T} (a map) or the name of another table. One line per type;
 * the lines are parsed once into tables (a few microseconds). */
#include "kube/manifest-int.h"
#include "util/cleanup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema_src[] = {
	/* objects */
	"Namespace apiVersion:string kind:string metadata:ObjectMeta spec:NamespaceSpec status:-",
	"NamespaceSpec finalizers:[string]",
	"Pod apiVersion:string kind:string metadata:ObjectMeta spec*:PodSpec status:-",
	"Deployment apiVersion:string kind:string metadata:ObjectMeta spec*:DeploymentSpec status:-",
	"ReplicaSet apiVersion:string kind:string metadata:ObjectMeta spec*:ReplicaSetSpec status:-",
	"StatefulSet apiVersion:string kind:string metadata:ObjectMeta spec*:StatefulSetSpec status:-",
	"DaemonSet apiVersion:string kind:string metadata:ObjectMeta spec*:DaemonSetSpec status:-",
	"Job apiVersion:string kind:string metadata:ObjectMeta spec*:JobSpec status:-",
	"CronJob apiVersion:string kind:string metadata:ObjectMeta spec*:CronJobSpec status:-",
	"Service apiVersion:string kind:string metadata:ObjectMeta spec:ServiceSpec status:-",
	"ConfigMap apiVersion:string binaryData:{string} data:{string} immutable:bool kind:string metadata:ObjectMeta",
	"Secret apiVersion:string data:{string} immutable:bool kind:string metadata:ObjectMeta stringData:{string} "
	"type:string",
	"PersistentVolumeClaim apiVersion:string kind:string metadata:ObjectMeta spec:PersistentVolumeClaimSpec "
	"status:-",
	"ObjectMeta annotations:{string} creationTimestamp:- deletionGracePeriodSeconds:- deletionTimestamp:- "
	"finalizers:~x generateName:string generation:- labels:{string} managedFields:- name:string "
	"namespace:string ownerReferences:~x resourceVersion:- selfLink:- uid:-",

	/* workloads */
	"DeploymentSpec minReadySeconds:int paused:~x progressDeadlineSeconds:int replicas:int "
	"revisionHistoryLimit:int selector*:LabelSelector strategy:DeploymentStrategy template*:PodTemplateSpec",
	"DeploymentStrategy rollingUpdate:RollingUpdateDeployment type:string",
	"RollingUpdateDeployment maxSurge:intstr maxUnavailable:intstr",
	"ReplicaSetSpec minReadySeconds:int replicas:int selector*:LabelSelector template:PodTemplateSpec",
	"StatefulSetSpec minReadySeconds:int ordinals:StatefulSetOrdinals "
	"persistentVolumeClaimRetentionPolicy:StatefulSetPersistentVolumeClaimRetentionPolicy "
	"podManagementPolicy:string replicas:int revisionHistoryLimit:int selector*:LabelSelector "
	"serviceName:string template*:PodTemplateSpec updateStrategy:StatefulSetUpdateStrategy "
	"volumeClaimTemplates:[PersistentVolumeClaim]",
	"StatefulSetUpdateStrategy rollingUpdate:RollingUpdateStatefulSetStrategy type:string",
	"RollingUpdateStatefulSetStrategy maxUnavailable:intstr partition:int",
	"StatefulSetPersistentVolumeClaimRetentionPolicy whenDeleted:string whenScaled:string",
	"StatefulSetOrdinals start:int",
	"DaemonSetSpec minReadySeconds:int revisionHistoryLimit:int selector*:LabelSelector template*:PodTemplateSpec "
	"updateStrategy:DaemonSetUpdateStrategy",
	"DaemonSetUpdateStrategy rollingUpdate:RollingUpdateDaemonSet type:string",
	"RollingUpdateDaemonSet maxSurge:intstr maxUnavailable:intstr",
	"JobSpec activeDeadlineSeconds:int backoffLimit:int backoffLimitPerIndex:~x completionMode:string "
	"completions:int managedBy:~x manualSelector:bool maxFailedIndexes:~x parallelism:int "
	"podFailurePolicy:~x podReplacementPolicy:~x selector:LabelSelector successPolicy:~x suspend:bool "
	"template*:PodTemplateSpec ttlSecondsAfterFinished:~x",
	"CronJobSpec concurrencyPolicy:string failedJobsHistoryLimit:int jobTemplate*:JobTemplateSpec "
	"schedule*:string startingDeadlineSeconds:int successfulJobsHistoryLimit:int suspend:bool timeZone:string",
	"JobTemplateSpec metadata:ObjectMeta spec:JobSpec",
	"LabelSelector matchExpressions:[LabelSelectorRequirement] matchLabels:{string}",
	"LabelSelectorRequirement key*:string operator*:string values:[string]",

	/* pods */
	"PodTemplateSpec metadata:ObjectMeta spec:PodSpec",
	"PodSpec activeDeadlineSeconds:~x affinity:~node automountServiceAccountToken:bool "
	"containers*:[Container] dnsConfig:PodDNSConfig dnsPolicy:string enableServiceLinks:bool "
	"ephemeralContainers:!create hostAliases:[HostAlias] hostIPC:~host hostNetwork:~host hostPID:~host "
	"hostUsers:~x hostname:string hostnameOverride:~x imagePullSecrets:~creds initContainers:[Container] "
	"nodeName:~node nodeSelector:~node os:~x overhead:~x preemptionPolicy:~node priority:~node "
	"priorityClassName:~node readinessGates:~x resourceClaims:~x resources:~x restartPolicy:string "
	"runtimeClassName:~x schedulerName:string schedulingGates:~node schedulingGroup:~node "
	"securityContext:PodSecurityContext serviceAccount:string serviceAccountName:string setHostnameAsFQDN:~x "
	"shareProcessNamespace:~x subdomain:string terminationGracePeriodSeconds:int tolerations:~node "
	"topologySpreadConstraints:~node volumes:[Volume]",
	"Container args:[string] command:[string] env:[EnvVar] envFrom:[EnvFromSource] image:string "
	"imagePullPolicy:string lifecycle:Lifecycle livenessProbe:Probe name*:string ports:[ContainerPort] "
	"readinessProbe:Probe resizePolicy:~x resources:ResourceRequirements restartPolicy:string "
	"restartPolicyRules:!rules securityContext:SecurityContext startupProbe:Probe stdin:bool stdinOnce:bool "
	"terminationMessagePath:string terminationMessagePolicy:string tty:bool volumeDevices:!block "
	"volumeMounts:[VolumeMount] workingDir:string",
	"ContainerPort containerPort*:int hostIP:string hostPort:int name:string protocol:string",
	"EnvVar name*:string value:string valueFrom:EnvVarSource",
	"EnvVarSource configMapKeyRef:ConfigMapKeySelector fieldRef:ObjectFieldSelector fileKeyRef:!x "
	"resourceFieldRef:ResourceFieldSelector secretKeyRef:SecretKeySelector",
	"ConfigMapKeySelector key*:string name:string optional:bool",
	"SecretKeySelector key*:string name:string optional:bool",
	"ObjectFieldSelector apiVersion:string fieldPath*:string",
	"ResourceFieldSelector containerName:string divisor:quantity resource*:string",
	"EnvFromSource configMapRef:ConfigMapEnvSource prefix:string secretRef:SecretEnvSource",
	"ConfigMapEnvSource name:string optional:bool",
	"SecretEnvSource name:string optional:bool",
	"ResourceRequirements claims:~x limits:{quantity} requests:{quantity}",
	"SecurityContext allowPrivilegeEscalation:bool appArmorProfile:~x capabilities:Capabilities privileged:bool "
	"procMount:~x readOnlyRootFilesystem:bool runAsGroup:int runAsNonRoot:bool runAsUser:int "
	"seLinuxOptions:~x seccompProfile:SeccompProfile windowsOptions:~x",
	"Capabilities add:[string] drop:[string]",
	"SeccompProfile localhostProfile:string type*:string",
	"PodSecurityContext appArmorProfile:~x fsGroup:int fsGroupChangePolicy:~x runAsGroup:int runAsNonRoot:bool "
	"runAsUser:int seLinuxChangePolicy:~x seLinuxOptions:~x seccompProfile:SeccompProfile "
	"supplementalGroups:~x supplementalGroupsPolicy:~x sysctls:[Sysctl] windowsOptions:~x",
	"Sysctl name*:string value*:string",
	"VolumeMount mountPath*:string mountPropagation:~x name*:string readOnly:bool recursiveReadOnly:~x "
	"subPath:string subPathExpr:~x",
	"Probe exec:ExecAction failureThreshold:int grpc:!grpc httpGet:HTTPGetAction initialDelaySeconds:int "
	"periodSeconds:int successThreshold:int tcpSocket:TCPSocketAction terminationGracePeriodSeconds:int "
	"timeoutSeconds:int",
	"ExecAction command:[string]",
	"HTTPGetAction host:string httpHeaders:[HTTPHeader] path:string port*:intstr scheme:string",
	"HTTPHeader name*:string value:string",
	"TCPSocketAction host:string port*:intstr",
	"Lifecycle postStart:LifecycleHandler preStop:LifecycleHandler stopSignal:~x",
	"LifecycleHandler exec:ExecAction httpGet:HTTPGetAction sleep:SleepAction tcpSocket:TCPSocketAction",
	"SleepAction seconds*:int",
	"HostAlias hostnames:[string] ip*:string",
	"PodDNSConfig nameservers:[string] options:[PodDNSConfigOption] searches:[string]",
	"PodDNSConfigOption name:string value:string",
	"LocalObjectReference name:string",

	/* volumes */
	"Volume awsElasticBlockStore:!vol azureDisk:!vol azureFile:!vol cephfs:!vol cinder:!vol "
	"configMap:ConfigMapVolumeSource csi:!vol downwardAPI:DownwardAPIVolumeSource emptyDir:EmptyDirVolumeSource "
	"ephemeral:!vol fc:!vol flexVolume:!vol flocker:!vol gcePersistentDisk:!vol gitRepo:!vol glusterfs:!vol "
	"hostPath:HostPathVolumeSource image:!vol iscsi:!vol name*:string nfs:!vol "
	"persistentVolumeClaim:PersistentVolumeClaimVolumeSource photonPersistentDisk:!vol portworxVolume:!vol "
	"projected:ProjectedVolumeSource quobyte:!vol rbd:!vol scaleIO:!vol secret:SecretVolumeSource "
	"storageos:!vol vsphereVolume:!vol",
	"EmptyDirVolumeSource medium:string sizeLimit:quantity",
	"HostPathVolumeSource path*:string type:string",
	"ConfigMapVolumeSource defaultMode:int items:[KeyToPath] name:string optional:bool",
	"KeyToPath key*:string mode:int path*:string",
	"SecretVolumeSource defaultMode:int items:[KeyToPath] optional:bool secretName:string",
	"PersistentVolumeClaimVolumeSource claimName*:string readOnly:bool",
	"DownwardAPIVolumeSource defaultMode:int items:[DownwardAPIVolumeFile]",
	"DownwardAPIVolumeFile fieldRef:ObjectFieldSelector mode:int path*:string "
	"resourceFieldRef:ResourceFieldSelector",
	"ProjectedVolumeSource defaultMode:int sources:[VolumeProjection]",
	"VolumeProjection clusterTrustBundle:!x configMap:ConfigMapProjection downwardAPI:DownwardAPIProjection "
	"podCertificate:!x secret:SecretProjection serviceAccountToken:~token",
	"ConfigMapProjection items:[KeyToPath] name:string optional:bool",
	"SecretProjection items:[KeyToPath] name:string optional:bool",
	"DownwardAPIProjection items:[DownwardAPIVolumeFile]",
	"PersistentVolumeClaimSpec accessModes:[string] dataSource:~x dataSourceRef:~x "
	"resources:VolumeResourceRequirements selector:~x storageClassName:string volumeAttributesClassName:~x "
	"volumeMode:string volumeName:~x",
	"VolumeResourceRequirements limits:{quantity} requests:{quantity}",

	/* services */
	"ServiceSpec allocateLoadBalancerNodePorts:bool clusterIP:string clusterIPs:[string] externalIPs:~x "
	"externalName:string externalTrafficPolicy:string healthCheckNodePort:~x internalTrafficPolicy:string "
	"ipFamilies:[string] ipFamilyPolicy:string loadBalancerClass:~x loadBalancerIP:~x "
	"loadBalancerSourceRanges:~x ports:[ServicePort] publishNotReadyAddresses:bool selector:{string} "
	"sessionAffinity:string sessionAffinityConfig:SessionAffinityConfig trafficDistribution:~x type:string",
	"ServicePort appProtocol:string name:string nodePort:int port*:int protocol:string targetPort:intstr",
	"SessionAffinityConfig clientIP:ClientIPConfig",
	"ClientIPConfig timeoutSeconds:int",
};

static const struct {
	const char *key, *text;
} reasons[] = {
	{"x", "not applied by berth kube play"},
	{"node", "not applied: berth runs every pod on one node"},
	{"host", "not applied: pods get namespaces of their own"},
	{"token", "not applied: there is no API server, so no service account token"},
	{"creds", "not applied: images are pulled with berth's own credentials (berth login)"},
	{"vol", "this volume type is not supported by berth kube play (emptyDir, hostPath, configMap, secret, "
		"persistentVolumeClaim, downwardAPI and projected are)"},
	{"grpc", "grpc probes are not supported by berth kube play (use exec, httpGet or tcpSocket)"},
	{"create", "Forbidden: cannot be set on create"},
	{"rules", "container restart rules are not supported by berth kube play"},
	{"block", "raw block devices are not supported by berth kube play"},
};

enum ft { FT_ANY, FT_STRING, FT_INT, FT_BOOL, FT_NUMBER, FT_QUANTITY, FT_INTSTR, FT_TIME, FT_OBJ };
enum fc { FC_ONE, FC_LIST, FC_MAP };

struct ktype;
struct kfield {
	const char *name;
	char mode;          /* 0 applied, '~' warn, '!' refuse, '-' drop */
	bool required;
	const char *reason; /* for '~' and '!' */
	enum fc coll;
	enum ft t;
	const char *tname;  /* for FT_OBJ */
	const struct ktype *obj;
	const char *spelled; /* the type as written, for kube_manifest_schema */
};

struct ktype {
	const char *name;
	struct kfield *f;
	size_t n;
};

static struct ktype *types;
static size_t ntypes;
static bool schema_ok;

static const struct ktype *find_type(const char *name)
{
	for (size_t i = 0; i < ntypes; i++)
		if (!strcmp(types[i].name, name))
			return &types[i];
	return NULL;
}

static enum ft scalar_type(const char *s, size_t n)
{
	static const struct {
		const char *s;
		enum ft t;
	} tab[] = {{"string", FT_STRING}, {"int", FT_INT},	   {"bool", FT_BOOL}, {"number", FT_NUMBER},
		   {"quantity", FT_QUANTITY}, {"intstr", FT_INTSTR}, {"time", FT_TIME}, {"any", FT_ANY}};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strlen(tab[i].s) == n && !strncmp(tab[i].s, s, n))
			return tab[i].t;
	return FT_OBJ;
}

static const char *reason_text(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (!strcmp(reasons[i].key, key))
			return reasons[i].text;
	return NULL;
}

/* Parse the tables once; they live as long as the process. */
static bool schema_init(void)
{
	static bool done;
	if (done)
		return schema_ok;
	done = true;
	ntypes = ARRAY_SIZE(schema_src);
	types = calloc(ntypes, sizeof(*types));
	if (!types)
		return false;
	for (size_t i = 0; i < ntypes; i++) {
		char *line = strdup(schema_src[i]);
		if (!line)
			return false;
		size_t nf = 0;
		for (char *p = line; *p; p++)
			nf += *p == ' ';
		types[i].f = calloc(nf, sizeof(struct kfield));
		char *save = NULL;
		types[i].name = strtok_r(line, " ", &save);
		for (char *tok; (tok = strtok_r(NULL, " ", &save));) {
			struct kfield *f = &types[i].f[types[i].n++];
			char *colon = strchr(tok, ':');
			if (!colon)
				return false;
			*colon = 0;
			char *t = colon + 1;
			size_t nl = strlen(tok);
			if (nl && tok[nl - 1] == '*') {
				tok[nl - 1] = 0;
				f->required = true;
			}
			f->name = tok;
			f->spelled = t;
			if (*t == '~' || *t == '!') {
				f->mode = *t;
				f->reason = reason_text(t + 1);
				f->t = FT_ANY;
				if (!f->reason)
					return false;
				continue;
			}
			if (*t == '-') {
				f->mode = '-';
				f->t = FT_ANY;
				continue;
			}
			size_t tl = strlen(t);
			if (t[0] == '[' && t[tl - 1] == ']') {
				f->coll = FC_LIST;
				t++, tl -= 2;
			} else if (t[0] == '{' && t[tl - 1] == '}') {
				f->coll = FC_MAP;
				t++, tl -= 2;
			}
			f->t = scalar_type(t, tl);
			if (f->t == FT_OBJ)
				f->tname = strndup(t, tl);
		}
	}
	for (size_t i = 0; i < ntypes; i++)
		for (size_t j = 0; j < types[i].n; j++) {
			struct kfield *f = &types[i].f[j];
			if (f->t == FT_OBJ && !(f->obj = find_type(f->tname)))
				return false;
		}
	schema_ok = true;
	return true;
}

json_t *kube_manifest_schema(void)
{
	if (!schema_init())
		return NULL;
	json_t *r = json_object();
	for (size_t i = 0; i < ntypes; i++) {
		json_t *t = json_object();
		for (size_t j = 0; j < types[i].n; j++)
			json_object_set_new(t, types[i].f[j].name, json_string(types[i].f[j].spelled));
		json_object_set_new(r, types[i].name, t);
	}
	return r;
}

/* ---- the walk ---- */

static const char *type_word(enum ft t)
{
	switch (t) {
	case FT_STRING: return "a string";
	case FT_INT: return "an integer";
	case FT_BOOL: return "a boolean (true or false)";
	case FT_NUMBER: return "a number";
	case FT_QUANTITY: return "a quantity (a string such as \"500m\" or \"128Mi\", or a number)";
	case FT_INTSTR: return "an integer or a string";
	case FT_TIME: return "a time (RFC 3339 string)";
	case FT_OBJ: return "a mapping";
	case FT_ANY: break;
	}
	return "a value";
}

static int walk_type(struct kctx *c, json_t *obj, const struct ktype *t, const char *path);

/* A quantity given as a number becomes its canonical string (1 -> "1",
 * 0.5 -> "500m"), as the API server stores it. */
static json_t *number_quantity(json_t *v)
{
	if (json_is_integer(v))
		return json_sprintf("%lld", (long long)json_integer_value(v));
	double d = json_real_value(v);
	double milli = d * 1000;
	if (fabs(milli) < 9e15) {
		/* no libm: round by hand */
		long long mm = (long long)(milli + (milli < 0 ? -0.5 : 0.5));
		if (fabs(milli - (double)mm) < 1e-6)
			return mm % 1000 ? json_sprintf("%lldm", mm) : json_sprintf("%lld", mm / 1000);
	}
	return json_sprintf("%.17g", d);
}

/* Check one value against a scalar or object type; *replace set when the
 * value is to be replaced (quantities, integral reals). */
static int walk_value(struct kctx *c, json_t *v, enum ft t, const struct ktype *ot, const char *path, json_t *parent,
		      json_t **replace)
{
	char vb[96];
	*replace = NULL;
	switch (t) {
	case FT_ANY: return 0;
	case FT_STRING:
		if (json_is_string(v))
			return 0;
		break;
	case FT_INT:
		if (json_is_integer(v))
			return 0;
		if (json_is_real(v) && fabs(json_real_value(v)) < 9e15 &&
		    (double)(long long)json_real_value(v) == json_real_value(v)) {
			*replace = json_integer((json_int_t)json_real_value(v));
			return 0;
		}
		break;
	case FT_BOOL:
		if (json_is_boolean(v))
			return 0;
		break;
	case FT_NUMBER:
		if (json_is_number(v))
			return 0;
		break;
	case FT_QUANTITY:
		if (json_is_number(v)) {
			*replace = number_quantity(v);
			v = *replace;
		}
		if (json_is_string(v)) {
			const char *why = km_quantity_error(json_string_value(v), NULL);
			if (why && strcmp(why, "must be greater than or equal to 0")) {
				kval(v, vb, sizeof vb);
				if (*replace) {
					json_decref(*replace);
					*replace = NULL;
				}
				return kerr(c, v, parent, path, "Invalid value: %s: %s", vb, why);
			}
			return 0;
		}
		break;
	case FT_INTSTR:
		if (json_is_integer(v) || json_is_string(v))
			return 0;
		break;
	case FT_TIME:
		if (json_is_string(v))
			return 0;
		break;
	case FT_OBJ:
		if (json_is_object(v))
			return walk_type(c, v, ot, path);
		break;
	}
	kval(v, vb, sizeof vb);
	return kerr(c, v, parent, path, "Invalid value: %s: must be %s", vb, type_word(t));
}

static int walk_field(struct kctx *c, json_t *v, const struct kfield *f, const char *path, json_t *parent)
{
	char sub[KM_PATH_MAX], vb[96];
	json_t *rep = NULL;
	if (f->coll == FC_ONE) {
		if (walk_value(c, v, f->t, f->obj, path, parent, &rep) < 0)
			return -1;
		if (rep)
			json_object_set_new(parent, f->name, rep);
		return 0;
	}
	if (f->coll == FC_LIST) {
		if (!json_is_array(v)) {
			kval(v, vb, sizeof vb);
			return kerr(c, v, parent, path, "Invalid value: %s: must be a list", vb);
		}
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			kpathi(sub, path, i);
			if (json_is_null(e))
				return kerr(c, v, parent, sub, "Invalid value: null: must be %s", type_word(f->t));
			if (walk_value(c, e, f->t, f->obj, sub, v, &rep) < 0)
				return -1;
			if (rep)
				json_array_set_new(v, i, rep);
		}
		return 0;
	}
	if (!json_is_object(v)) {
		kval(v, vb, sizeof vb);
		return kerr(c, v, parent, path, "Invalid value: %s: must be a mapping", vb);
	}
	const char *k;
	json_t *e;
	void *tmp;
	json_object_foreach_safe(v, tmp, k, e)
	{
		kpathk(sub, path, k);
		if (json_is_null(e) && f->t == FT_STRING) {
			/* labels: {a: } reads as the empty string in Kubernetes' YAML */
			json_object_set_new(v, k, json_string(""));
			continue;
		}
		if (walk_value(c, e, f->t, f->obj, sub, v, &rep) < 0)
			return -1;
		if (rep)
			json_object_set_new(v, k, rep);
	}
	return 0;
}

static int walk_type(struct kctx *c, json_t *obj, const struct ktype *t, const char *path)
{
	char sub[KM_PATH_MAX];
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, k, v)
	{
		const struct kfield *f = NULL;
		for (size_t i = 0; i < t->n; i++)
			if (!strcmp(t->f[i].name, k)) {
				f = &t->f[i];
				break;
			}
		kpath(sub, path, k);
		if (!f) {
			kwarn(c, v, obj, NULL, "unknown field \"%s\"", sub);
			json_object_del(obj, k);
			continue;
		}
		if (json_is_null(v) || f->mode == '-') {
			/* null is "not set", as in the API */
			json_object_del(obj, k);
			continue;
		}
		if (f->mode == '~') {
			kwarn(c, v, obj, sub, "%s", f->reason);
			continue;
		}
		if (f->mode == '!')
			return kerr(c, v, obj, sub, "%s", f->reason);
		if (walk_field(c, v, f, sub, obj) < 0)
			return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct kfield *f = &t->f[i];
		if (!f->required)
			continue;
		json_t *x = json_object_get(obj, f->name);
		if (!x || (json_is_string(x) && !*json_string_value(x)) ||
		    (json_is_array(x) && !json_array_size(x) && f->coll == FC_LIST))
			return kerr(c, x, obj, kpath(sub, path, f->name), "Required value");
	}
	return 0;
}

int km_schema_walk(struct kctx *c, const char *type, json_t *obj)
{
	if (!schema_init())
		return berr_setc(c->err, BERR_GENERIC, "kube manifests: internal field tables are inconsistent");
	const struct ktype *t = find_type(type);
	if (!t)
		return berr_setc(c->err, BERR_GENERIC, "kube manifests: no field table for %s", type);
	return walk_type(c, obj, t, "");
}
