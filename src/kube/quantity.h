/* Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G", "2e3"):
 * the suffixes and rounding of apimachinery's resource.Quantity. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* The value times 1000 (milli-units), rounded up as Kubernetes rounds
 * (a fraction of a milli-unit counts as one). False for a malformed
 * quantity or one that does not fit (beyond 2^63 / 1000). */
bool kube_quantity_milli(const char *s, int64_t *ret_milli);
/* Whole units, rounded up ("100m" -> 1, "128Mi" -> 134217728). */
bool kube_quantity_value(const char *s, int64_t *ret);
