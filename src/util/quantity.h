/* Kubernetes resource quantities ("500m", "1.5", "128Mi", "1e3", "2G"). */
#ifndef BERTH_UTIL_QUANTITY_H
#define BERTH_UTIL_QUANTITY_H

#include <stdint.h>

/* The quantity times 10^scale (scale 3: milli-units, 0: whole units),
 * rounded up as apimachinery rounds. -1 when malformed, negative or too
 * large; *ret is untouched then. */
int quantity_parse(const char *s, int scale, int64_t *ret);

#endif
