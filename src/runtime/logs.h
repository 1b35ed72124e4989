/* Container logs in Docker's json-file shape, one JSON object per line:
 * {"log":"text\n","stream":"stdout","time":"2026-11-22T13:04:03.123456789Z"} */
#ifndef BERTH_RUNTIME_LOGS_H
#define BERTH_RUNTIME_LOGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runtime/container.h"
#include "util/err.h"
#include "util/strbuf.h"

#define LOG_LINE_MAX 16384 /* longer lines are split, as Docker does */

struct logw {
	int fd;
	int dirfd;
	char name[100];
	int64_t max_size; /* rotate past this many bytes, 0 = never */
	int max_file;     /* files kept, including the current one */
	int64_t size;
	char *part[2];    /* partial line per stream */
	char *attrs;      /* ',"attrs":{...}' written in every entry, or NULL */
	size_t partlen[2];
};

int logw_open(struct ctr_store *s, const char *id, int64_t max_size, int max_file, struct logw *w,
	      struct berr **err);
/* The entries' "attrs" as Docker's json-file writes them: the labels and
 * env vars named by --log-opt labels=, labels-regex=, env=, env-regex=, and
 * tag= (with {{.Name}}, {{.ID}}, {{.FullID}}, {{.ImageName}}, {{.ImageID}}
 * filled in). cfg is the container's config.json; NULL when there are none. */
json_t *logs_attrs(json_t *cfg);
/* Check --log-opt values logs_attrs would not honour (a regex that does
 * not compile, a tag template naming anything but those fields), before
 * a container is made with them. log_config: HostConfig.LogConfig.Config. */
int logs_config_check(json_t *log_config, struct berr **err);
/* Every entry written from now on carries attrs (an object; NULL: none). */
void logw_set_attrs(struct logw *w, json_t *attrs);
/* --details: "k1=v1,k2=v2 " (keys sorted, URL query-escaped) as Docker
 * prints before each line; just " " without attrs. */
void logs_details_prefix(json_t *attrs, struct sbuf *out);
/* stream 0 = stdout, 1 = stderr. */
void logw_write(struct logw *w, int stream, const char *data, size_t n);
/* Write out partial lines (at exit). */
void logw_flush(struct logw *w);
void logw_close(struct logw *w);

struct logs_opts {
	bool follow;
	bool timestamps;
	long tail;      /* -1 = all */
	struct timespec since, until; /* zero = unset */
	int out, err;   /* where to write */
	bool details;   /* --details: each entry's attrs before its line */
	/* Instead of writing to out/err (timestamps and details then unused):
	 * each entry's stream (0 stdout, 1 stderr), time and text; nonzero
	 * stops, logs_print returning 0 (the kubelet API's writer). */
	int (*line)(void *ud, int stream, const struct timespec *ts, const char *text, size_t n);
	/* With follow: called before each wait for more (at most 500 ms
	 * apart); nonzero stops (a client that went away). */
	int (*idle)(void *ud);
	void *ud;
};

/* Print the log of container id (`berth logs`). With follow, keep going
 * (across restarts) until the container stops for good. */
int logs_print(struct ctr_store *s, const char *id, const struct logs_opts *o, struct berr **err);

#endif
