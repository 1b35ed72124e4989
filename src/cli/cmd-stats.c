#include "cli/ctr.h"
#include "runtime/lifecycle.h"
#include "runtime/stats.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct srow {
	char id[65];
	char *ref;   /* as given, or the full ID */
	char *name;
	char created[48]; /* RFC 3339, fixed width: sorts as a string */
	struct ctr_stats prev, cur;
	bool have_prev;
};

/* go-units: BytesSize ("%.4g", binary) and HumanSizeWithPrecision(x, 3) */
static void size_fmt(double v, bool binary, char *buf, size_t n)
{
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
	static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
	double base = binary ? 1024 : 1000;
	int i = 0;
	while (v >= base && i < 8) {
		v /= base;
		i++;
	}
	snprintf(buf, n, binary ? "%.4g%s" : "%.3g%s", v, binary ? bin[i] : dec[i]);
}

static json_t *row_json(struct srow *r, bool notrunc)
{
	const struct ctr_stats *c = &r->cur;
	double cpu = 0, mem = 0;
	if (c->running && r->have_prev && r->prev.running) {
		double dt = (double)(c->when.tv_sec - r->prev.when.tv_sec) * 1e9 +
			    (double)(c->when.tv_nsec - r->prev.when.tv_nsec);
		double dc = (double)c->cpu_ns - (double)r->prev.cpu_ns;
		if (dt > 0 && dc > 0)
			cpu = dc / dt * 100.0;
	}
	if (c->mem_limit)
		mem = (double)c->mem_usage / (double)c->mem_limit * 100.0;
	char cpub[32], memb[32], mu[32], ml[32], nr[32], nt[32], br[32], bw[32], pids[32];
	char musage[80], netio[80], blkio[80], idb[65];
	snprintf(cpub, sizeof(cpub), "%.2f%%", cpu);
	snprintf(memb, sizeof(memb), "%.2f%%", mem);
	size_fmt((double)c->mem_usage, true, mu, sizeof(mu));
	size_fmt((double)c->mem_limit, true, ml, sizeof(ml));
	size_fmt((double)c->net_rx, false, nr, sizeof(nr));
	size_fmt((double)c->net_tx, false, nt, sizeof(nt));
	size_fmt((double)c->blk_read, false, br, sizeof(br));
	size_fmt((double)c->blk_write, false, bw, sizeof(bw));
	snprintf(pids, sizeof(pids), "%llu", (unsigned long long)c->pids);
	snprintf(musage, sizeof(musage), "%s / %s", mu, ml);
	snprintf(netio, sizeof(netio), "%s / %s", nr, nt);
	snprintf(blkio, sizeof(blkio), "%s / %s", br, bw);
	snprintf(idb, sizeof(idb), "%.*s", notrunc ? 64 : 12, r->id);
	/* alphabetical, as Docker's --format json */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", blkio, "CPUPerc", cpub,
			 "Container", r->ref, "ID", idb, "MemPerc", memb, "MemUsage", musage, "Name", r->name,
			 "NetIO", netio, "PIDs", pids);
}

static int cmp_created(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	return -strcmp(x->created, y->created);
}

static void rows_free(struct srow *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].ref);
		free(rows[i].name);
	}
	free(rows);
}

static bool fill_row(struct ctr_store *s, struct srow *r, const char *id, const char *ref)
{
	_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
	if (!cfg)
		return false;
	memcpy(r->id, id, 65);
	r->ref = strdup(ref ? ref : id);
	r->name = strdup(jsonx_str(cfg, "Name") ? jsonx_str(cfg, "Name") : "");
	snprintf(r->created, sizeof(r->created), "%s", jsonx_str(cfg, "Created") ? jsonx_str(cfg, "Created") : "");
	return true;
}

/* Every container (running ones unless all), newest first. Keeps the
 * previous samples of rows that were there before. */
static struct srow *list_rows(struct ctr_store *s, bool all, struct srow *old, size_t nold, size_t *ret_n)
{
	_cleanup_json_ json_t *ids = ctr_list(s);
	struct srow *rows = calloc(json_array_size(ids) + 1, sizeof(*rows));
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		if (!all) {
			_cleanup_json_ json_t *st = ctr_state(s, id, NULL);
			if (!st || !ctr_is_running(st))
				continue;
		}
		if (!fill_row(s, &rows[n], id, NULL))
			continue;
		for (size_t k = 0; k < nold; k++) {
			if (!strcmp(old[k].id, id)) {
				rows[n].cur = old[k].cur;
				rows[n].have_prev = true;
			}
		}
		n++;
	}
	qsort(rows, n, sizeof(*rows), cmp_created);
	*ret_n = n;
	return rows;
}

static void sample(struct ctr_store *s, struct srow *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rows[i].prev = rows[i].cur;
		ctr_stats_read(s, rows[i].id, &rows[i].cur, NULL);
	}
}

static int render(struct srow *rows, size_t n, const char *format, bool notrunc)
{
	_cleanup_json_ json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, row_json(&rows[i], notrunc));
	_cleanup_json_ json_t *headers = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CONTAINER ID", "Name", "NAME", "CPUPerc", "CPU %",
		"MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs",
		"PIDS", "Container", "CONTAINER");
	return cli_print_rows(arr, format,
			      "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
			      headers, false);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

CMD(stats)
{
	static const struct option lo[] = {{"all", no_argument, 0, 'a'},       {"format", required_argument, 0, 'F'},
					   {"no-stream", no_argument, 0, 'S'}, {"no-trunc", no_argument, 0, 'T'},
					   {"help", no_argument, 0, 'h'},      {0}};
	bool all = false, stream = true, notrunc = false;
	const char *format = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "ah", lo, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'F': format = optarg; break;
		case 'S': stream = false; break;
		case 'T': notrunc = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	/* a bad template fails before any sampling */
	if (format && strcmp(format, "json") && strcmp(format, "table")) {
		struct tmpl *t = NULL;
		struct berr *e = NULL;
		if (tmpl_parse(format, &t, &e) < 0)
			return cli_fail(e);
		tmpl_free(t);
	}
	bool named = optind < argc;
	struct srow *rows = NULL;
	size_t n = 0;
	if (named) {
		rows = calloc((size_t)(argc - optind), sizeof(*rows));
		int rc = 0;
		for (int i = optind; i < argc; i++) {
			struct berr *e = NULL;
			char id[65];
			if (ctr_resolve(s, argv[i], id, &e) < 0 || !fill_row(s, &rows[n], id, argv[i])) {
				if (!e)
					berr_setc(&e, BERR_NOT_FOUND, "No such container: %s", argv[i]);
				rc = cli_fail(e);
				continue;
			}
			n++;
		}
		if (rc) {
			rows_free(rows, n);
			return rc;
		}
	} else {
		rows = list_rows(s, all, NULL, 0, &n);
	}
	/* CPU % needs two samples: the first line compares over 150 ms */
	sample(s, rows, n);
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= rows[i].cur.running;
	if (any) {
		nap_ms(150);
		sample(s, rows, n);
		for (size_t i = 0; i < n; i++)
			rows[i].have_prev = true;
	}
	int rc = 0;
	for (;;) {
		if (stream)
			printf("\033[2J\033[H");
		rc = render(rows, n, format, notrunc);
		fflush(stdout);
		if (!stream || rc)
			break;
		nap_ms(1000);
		if (!named) {
			size_t nn;
			struct srow *nr = list_rows(s, all, rows, n, &nn);
			rows_free(rows, n);
			rows = nr;
			n = nn;
		}
		sample(s, rows, n);
		for (size_t i = 0; i < n; i++)
			rows[i].have_prev = true;
	}
	rows_free(rows, n);
	return rc;
}
