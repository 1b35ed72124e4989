/* kube convert's pure parts: quantities, --controller, and one small
 * project converted without I/O. */
#include "kube/convert.h"
#include "unit.h"

#include <stdlib.h>

int main(void)
{
	static const char *const good[] = {"100Mi", "1Gi", "500M", "2", "0.5", "250m", "1.5Gi"};
	static const char *const bad[] = {"", "Mi", "10XB", "1.Gi", "-1Gi", "1 Gi", "1gi"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(kube_quantity_valid(good[i]), "quantity %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!kube_quantity_valid(bad[i]), "not a quantity: \"%s\"", bad[i]);
	enum kube_controller k;
	struct berr *e = NULL;
	CHECK(kube_controller_parse("StatefulSet", &k, &e) == 0 && k == KUBE_STATEFULSET, "controller StatefulSet");
	CHECK(kube_controller_parse("job", &k, &e) < 0 && e && strstr(e->msg, "\"job\""), "controller job refused");
	berr_free(e);
	e = NULL;

	json_t *proj = json_loads("{\"name\":\"p\",\"services\":{"
				  "\"db\":{\"image\":\"pg\",\"healthcheck\":{\"test\":[\"CMD-SHELL\",\"pg_isready\"],\"interval\":\"2s\",\"retries\":5}},"
				  "\"web\":{\"build\":{\"context\":\"/x\"},\"ports\":[{\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\"}],"
				  "\"depends_on\":{\"db\":{\"condition\":\"service_healthy\"}},\"frobnicate\":1}}}",
				  0, NULL);
	struct kube_convert_opts o = {.replicas = -1, .pvc_size = "100Mi", .wait_image = "busybox:1.36"};
	json_t *objs = NULL, *w = json_array();
	CHECK(kube_convert(proj, &o, &objs, w, &e) == 0, "convert");
	CHECK(json_array_size(objs) == 4, "2 Services + 2 Deployments (%zu)", json_array_size(objs));
	char *dump = json_dumps(objs, JSON_COMPACT);
	CHECK(strstr(dump, "\"type\":\"LoadBalancer\"") != NULL, "published port -> LoadBalancer");
	CHECK(strstr(dump, "\"clusterIP\":\"None\"") != NULL, "port-less -> headless");
	CHECK(strstr(dump, "\"readinessProbe\":{\"exec\":{\"command\":[\"/bin/sh\",\"-c\",\"pg_isready\"]},\"periodSeconds\":2,\"failureThreshold\":5}") != NULL,
	      "CMD-SHELL healthcheck -> readiness probe");
	CHECK(strstr(dump, "\"image\":\"p-web\"") != NULL, "build: -> PROJECT-SERVICE image");
	CHECK(strstr(dump, "until nslookup db") != NULL, "depends_on a port-less service waits for its name");
	free(dump);
	CHECK(json_array_size(w) == 1 && strstr(json_string_value(json_array_get(w, 0)), "frobnicate"),
	      "an unknown key warns once");
	json_decref(objs);
	json_decref(w);
	json_decref(proj);
	UNIT_END();
}
