/* Helpers shared by the image commands (images, inspect, prune, df). */
#ifndef BERTH_CLI_IMGROWS_H
#define BERTH_CLI_IMGROWS_H

#include <jansson.h>
#include <time.h>

/* Seconds since the epoch of an RFC 3339 time, 0 when absent or bad. */
time_t imgrows_time(const char *rfc3339);
/* "2 days ago" */
void imgrows_since(const char *rfc3339, char *buf, size_t n);
/* Go's time.String() form Docker prints: "2024-01-02 03:04:05 +0000 UTC". */
void imgrows_go_time(const char *rfc3339, char *buf, size_t n);

#endif
